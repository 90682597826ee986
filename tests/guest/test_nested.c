/* SPDX-License-Identifier: MIT */
/*
 * Whole-stack nested tests: build/nestvm runs l1-shim as L1 under L0 and a
 * guest as L2, which prints and exits as in the native l1-shim run; the
 * cpuid loop's exit multiplication is exactly what l1-shim's own per-exit
 * counts say; a guest that is no hypervisor runs under L0 as natively.
 * Host side; run from the top of the tree.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/lib/run_cmd.h"

#ifndef NESTVM_DEFAULT_PATH
#define NESTVM_DEFAULT_PATH "build/nestvm"
#endif
#define L1_SHIM "build/l1-shim.elf"
#define EXPECTED_DIR "tests/guest/expected/"
#define TIMEOUT_S 300
#define ARGS_MAX 16
#define CPUID_N 1000ull

static char *read_expected(const char *name)
{
	char path[256];
	FILE *f;
	char *buf;
	long size = -1;

	snprintf(path, sizeof(path), EXPECTED_DIR "%s.out", name);
	f = fopen(path, "rb");
	if (!f)
		fail_msg("cannot read %s", path);
	if (fseek(f, 0, SEEK_END) || (size = ftell(f)) < 0 ||
	    fseek(f, 0, SEEK_SET))
		fail_msg("cannot size %s", path);
	buf = calloc(1, (size_t)size + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)size, f), (size_t)size);
	fclose(f);
	return buf;
}

/* Runs "nestvm run [--native] <args...>"; args ends with NULL. */
static void run_nestvm(bool native, const char *const args[],
		       struct cmd_result *res)
{
	const char *argv[ARGS_MAX] = { NESTVM_DEFAULT_PATH, "run" };
	size_t n = 2;

	if (native)
		argv[n++] = "--native";
	for (size_t i = 0; args[i]; i++) {
		assert_true(n < ARGS_MAX - 1);
		argv[n++] = args[i];
	}
	argv[n] = NULL;
	if (run_cmd((char *const *)argv, TIMEOUT_S, res))
		fail_msg("cannot run %s: build it and run from the top of the "
			 "tree",
			 NESTVM_DEFAULT_PATH);
}

/* l1-shim with l2 as its module and append (NULL: none) as its command
 * line, nested or native. */
static void run_l1_shim(bool native, const char *l2, const char *append,
			struct cmd_result *res)
{
	const char *args[] = { L1_SHIM, "--module",
			       l2,	append ? "--append" : NULL,
			       append,	NULL };

	run_nestvm(native, args, res);
}

static void expect_run(const struct cmd_result *res, const char *want,
		       int status)
{
	if (strcmp(res->out, want) || res->exit_code != status)
		print_message("[ want stdout ]\n%s[ got stdout ]\n%s[ stderr "
			      "]\n%s\n[ status %d ]\n",
			      want, res->out, res->err, res->exit_code);
	assert_string_equal(res->out, want);
	assert_false(res->signaled);
	assert_int_equal(res->exit_code, status);
}

/*
 * L2 under l1-shim under L0 prints the expected output and exits with
 * status, and both are those of the native l1-shim run (l1-shim on the
 * bare model) of the same command line.
 */
static void expect_as_native(const char *l2, const char *append,
			     const char *expected, int status)
{
	struct cmd_result nested = { 0 }, native = { 0 };
	char *want = read_expected(expected);

	run_l1_shim(true, l2, append, &native);
	expect_run(&native, want, status);
	run_l1_shim(false, l2, append, &nested);
	expect_run(&nested, native.out, native.exit_code);
	/* The run's accounting closes every nested run, on stderr. */
	assert_non_null(strstr(nested.err, "nestvm: nested: world_switches "));
	cmd_result_free(&nested);
	cmd_result_free(&native);
	free(want);
}

/* A number the nested table printed: the value after "nestvm: nested:
 * <key> " (key includes any reason name), or fails. */
static unsigned long long table_value(const char *err, const char *key)
{
	char pat[160];
	const char *at;
	unsigned long long v;

	snprintf(pat, sizeof(pat), "nestvm: nested: %s ", key);
	at = strstr(err, pat);
	if (!at)
		fail_msg("no \"%s\" in stderr:\n%s", pat, err);
	assert_int_equal(sscanf(at + strlen(pat), "%llu", &v), 1);
	return v;
}

/* A number in a line of the nested table: the value after " <field> " in
 * the line that starts "nestvm: nested: <line> ", or fails. */
static unsigned long long line_value(const char *err, const char *line,
				     const char *field)
{
	char pat[160], fpat[64];
	const char *at, *end, *f;
	unsigned long long v;

	snprintf(pat, sizeof(pat), "nestvm: nested: %s ", line);
	snprintf(fpat, sizeof(fpat), " %s ", field);
	at = strstr(err, pat);
	if (!at)
		fail_msg("no \"%s\" in stderr:\n%s", pat, err);
	end = strchr(at, '\n');
	f = strstr(at, fpat);
	if (!f || (end && f > end))
		fail_msg("no \"%s\" in the line \"%s\"", field, pat);
	assert_int_equal(sscanf(f + strlen(fpat), "%llu", &v), 1);
	return v;
}

/* A RESULT line's value, or fails. */
static unsigned long long result_value(const char *out, const char *name)
{
	char pat[128];
	const char *at;
	unsigned long long v;

	snprintf(pat, sizeof(pat), "RESULT %s ", name);
	at = strstr(out, pat);
	if (!at)
		fail_msg("no \"%s\" in stdout:\n%s", pat, out);
	assert_int_equal(sscanf(at + strlen(pat), "%llu", &v), 1);
	return v;
}

/* ---- L2 under l1-shim under L0 prints what it prints natively ------------- */

static void test_nested__hello_l2_prints_native_output_exits_0(void **state)
{
	(void)state;
	expect_as_native("build/guests/hello.elf", "-- hello world", "hello",
			 0);
}

static void test_nested__alu_l2_passes_every_check(void **state)
{
	(void)state;
	expect_as_native("build/guests/tests/alu.elf", NULL, "alu", 0);
}

static void test_nested__format_l2_prints_native_output(void **state)
{
	(void)state;
	expect_as_native("build/guests/tests/format.elf", NULL, "format", 0);
}

static void test_nested__exceptions_l2_handles_its_own_faults(void **state)
{
	(void)state;
	expect_as_native("build/guests/tests/exceptions.elf", NULL,
			 "exceptions", 0);
}

static void test_nested__exitcode_l2_status_42_becomes_nestvm_42(void **state)
{
	(void)state;
	expect_as_native("build/guests/tests/exitcode.elf", "-- 42", "exitcode",
			 42);
}

/* l1-shim intercepts five exceptions and injects them back: exception
 * exits and event injection through the whole stack, with l1-shim's
 * counts the same at both levels. */
static void test_nested__exc_reflected_exceptions_match_native_run(void **state)
{
	struct cmd_result nested = { 0 }, native = { 0 };
	const char *append = "exc=de,ud,bp,pf,gp stats --";

	(void)state;
	run_l1_shim(true, "build/guests/tests/exceptions.elf", append, &native);
	run_l1_shim(false, "build/guests/tests/exceptions.elf", append,
		    &nested);
	assert_int_equal(native.exit_code, 0);
	expect_run(&nested, native.out, 0);
	assert_int_equal(table_value(nested.err, "reflected EXCEPTION_NMI (0) "
						 "count"),
			 6);
	cmd_result_free(&nested);
	cmd_result_free(&native);
}

/* ---- exit multiplication, exactly ----------------------------------------------- */

/*
 * Turtles' cpuid loop, N = 1000 iterations: exactly N CPUID exits of L2,
 * all reflected. Each costs L1 exits of its own: l1-shim's VMREADs and
 * VMWRITEs for a CPUID exit (its RESULT lines, divided by N), the CPUID
 * its handler runs to get the processor's answer (every CPUID exits in
 * VMX non-root operation, SDM Vol. 3C 26.1.2), and the VMRESUME back to
 * L2. Each of those is two world switches, plus the L2 exit and the entry
 * to L2 that bracket them.
 */
static void
test_nested__cpuid_loop_costs_exactly_l1_shim_handler_exits(void **state)
{
	struct cmd_result res = { 0 };
	unsigned long long n, vmreads, vmwrites, per_exit;
	const char *reflected = "reflected CPUID (10)";
	char key[96];

	(void)state;
	run_l1_shim(false, "build/guests/cpuid_loop.elf", "stats -- 1000",
		    &res);
	assert_int_equal(res.exit_code, 0);
	assert_int_equal(result_value(res.out, "cpuid_iterations"), CPUID_N);
	n = result_value(res.out, "l1_exits_cpuid");
	vmreads = result_value(res.out, "l1_vmreads_cpuid");
	vmwrites = result_value(res.out, "l1_vmwrites_cpuid");
	assert_int_equal(n, CPUID_N);
	assert_int_equal(vmreads % n, 0);
	assert_int_equal(vmwrites % n, 0);
	per_exit = 1 + 1 + vmreads / n + vmwrites / n;

	assert_int_equal(table_value(res.err, "l2_exit CPUID (10)"), CPUID_N);
	snprintf(key, sizeof(key), "%s count", reflected);
	assert_int_equal(table_value(res.err, key), CPUID_N);
	snprintf(key, sizeof(key), "%s count %llu l1_exits", reflected,
		 CPUID_N);
	assert_int_equal(table_value(res.err, key), CPUID_N * per_exit);
	/* The handler's CPUIDs, and the one l1-shim runs at setup. */
	assert_int_equal(table_value(res.err, "l1_exit CPUID (10)"),
			 CPUID_N + 1);
	snprintf(key, sizeof(key), "%s count %llu l1_exits %llu world_switches",
		 reflected, CPUID_N, CPUID_N * per_exit);
	assert_int_equal(table_value(res.err, key),
			 CPUID_N * (2 * per_exit + 2));
	snprintf(key, sizeof(key),
		 "%s count %llu l1_exits %llu world_switches %llu vmreads",
		 reflected, CPUID_N, CPUID_N * per_exit,
		 CPUID_N * (2 * per_exit + 2));
	assert_int_equal(table_value(res.err, key), vmreads);
	snprintf(key, sizeof(key),
		 "%s count %llu l1_exits %llu world_switches %llu vmreads "
		 "%llu vmwrites",
		 reflected, CPUID_N, CPUID_N * per_exit,
		 CPUID_N * (2 * per_exit + 2), vmreads);
	assert_int_equal(table_value(res.err, key), vmwrites);
	/* L2's RAM touched, one ept02 fill per page; nothing ept12 forbids. */
	assert_true(table_value(res.err, "ept02_fills") > 0);
	assert_int_equal(table_value(res.err, "ept_violations_reflected"), 0);
	cmd_result_free(&res);
}

/* ---- vmcs02 preparation: full and dirty ----------------------------------------- */

/* l1-shim with l2 under L0, with --prep mode. */
static void run_l1_shim_prep(const char *mode, const char *l2,
			     const char *append, struct cmd_result *res)
{
	const char *args[] = { "--prep",   mode, L1_SHIM,
			       "--module", l2,	 append ? "--append" : NULL,
			       append,	   NULL };

	run_nestvm(false, args, res);
}

/* out without its RESULT lines in modeled cycles (malloc'd): a guest
 * that times itself with RDTSC measures modeled cycles, and fewer vmcs02
 * writes cost fewer of them; that is the one thing dirty changes. */
static char *without_cycle_lines(const char *out)
{
	char *res = calloc(1, strlen(out) + 1), *o = res;

	assert_non_null(res);
	while (*out) {
		size_t len = strcspn(out, "\n");
		bool cycles = len >= 7 && !strncmp(out + len - 7, " cycles", 7);

		if (!cycles) {
			memcpy(o, out, len);
			o += len;
			if (out[len] == '\n')
				*o++ = '\n';
		}
		out += len + (out[len] == '\n');
	}
	return res;
}

/* Every guest under l1-shim prints the same (timings aside) and exits
 * the same with either preparation, after the same number of nested
 * entries and with strictly fewer vmcs02 writes. */
static void test_nested__prep_dirty_output_identical_to_full(void **state)
{
	static const struct {
		const char *elf, *append;
	} guests[] = {
		{ "build/guests/hello.elf", NULL },
		{ "build/guests/tests/alu.elf", NULL },
		{ "build/guests/tests/format.elf", NULL },
		{ "build/guests/tests/exceptions.elf",
		  "exc=de,ud,bp,pf,gp stats --" },
		{ "build/guests/tests/exitcode.elf", NULL },
		{ "build/guests/cpuid_loop.elf", "stats -- 1000" },
	};

	(void)state;
	for (size_t k = 0; k < sizeof(guests) / sizeof(guests[0]); k++) {
		struct cmd_result full = { 0 }, dirty = { 0 };

		run_l1_shim_prep("full", guests[k].elf, guests[k].append,
				 &full);
		run_l1_shim_prep("dirty", guests[k].elf, guests[k].append,
				 &dirty);
		{
			char *a = without_cycle_lines(full.out);
			char *b = without_cycle_lines(dirty.out);

			assert_string_equal(b, a);
			assert_int_equal(dirty.exit_code, full.exit_code);
			free(a);
			free(b);
		}
		assert_int_equal(table_value(dirty.err, "nested_entries"),
				 table_value(full.err, "nested_entries"));
		assert_int_equal(table_value(dirty.err, "l1_vmwrites"),
				 table_value(full.err, "l1_vmwrites"));
		assert_true(table_value(dirty.err, "vmcs02_writes") <
			    table_value(full.err, "vmcs02_writes"));
		cmd_result_free(&full);
		cmd_result_free(&dirty);
	}
}

/*
 * vmcs02 writes per L2 CPUID round trip. full: every field the merge
 * writes, 100 = 20 controls + 21 hot (vmcs12's HOT fields L0 merges, EFER
 * and PAT) + 37 rare guest fields + 22 host fields. dirty: l1-shim's CPUID
 * handler writes only GUEST_RIP (its one VMWRITE per exit), a HOT field,
 * so no group is dirty and only the 21 hot fields are written.
 */
#define VMCS02_WRITES_FULL 100ull
#define VMCS02_WRITES_HOT 21ull

static void test_nested__prep_dirty_writes_21_not_100_per_cpuid(void **state)
{
	struct cmd_result full = { 0 }, dirty = { 0 };
	const char *line = "reflected CPUID (10)";

	(void)state;
	run_l1_shim_prep("full", "build/guests/cpuid_loop.elf", "stats -- 1000",
			 &full);
	run_l1_shim_prep("dirty", "build/guests/cpuid_loop.elf",
			 "stats -- 1000", &dirty);
	assert_int_equal(result_value(full.out, "l1_vmwrites_cpuid"), CPUID_N);
	assert_int_equal(line_value(full.err, line, "count"), CPUID_N);
	assert_int_equal(line_value(dirty.err, line, "count"), CPUID_N);
	assert_int_equal(line_value(full.err, line, "vmcs02_writes"),
			 CPUID_N * VMCS02_WRITES_FULL);
	assert_int_equal(line_value(dirty.err, line, "vmcs02_writes"),
			 CPUID_N * VMCS02_WRITES_HOT);
	/* Everything else a round trip costs is the same. */
	assert_int_equal(line_value(dirty.err, line, "l1_exits"),
			 line_value(full.err, line, "l1_exits"));
	assert_int_equal(line_value(dirty.err, line, "world_switches"),
			 line_value(full.err, line, "world_switches"));
	cmd_result_free(&full);
	cmd_result_free(&dirty);
}

/* Every world switch is an entry or an exit, and every exit was an L1 or
 * an L2 exit. */
static void test_nested__world_switches_are_entries_plus_exits(void **state)
{
	struct cmd_result res = { 0 };
	unsigned long long entries, exits;

	(void)state;
	run_l1_shim(false, "build/guests/hello.elf", NULL, &res);
	assert_int_equal(res.exit_code, 0);
	entries = table_value(res.err, "vm_entries");
	exits = table_value(res.err, "vm_exits");
	assert_int_equal(table_value(res.err, "world_switches"),
			 entries + exits);
	assert_int_equal(entries, exits);
	assert_int_equal(table_value(res.err, "nested_vmfails"), 0);
	assert_int_equal(table_value(res.err, "nested_entry_failures"), 0);
	cmd_result_free(&res);
}

/* ---- a third-party-style L1 ------------------------------------------------------ */

/*
 * tests/vmx/<name>.elf is a bare-metal VMX program (docs/vmx-tests.md):
 * as L1 under L0 it prints exactly tests/vmx/expected/<name>.out, what it
 * prints on the bare model and under Bochs' VT-x, and exits 0. Every VMX
 * instruction it runs is one L1 exit L0 emulates.
 */
static void expect_vmx_program_as_l1(const char *name, const char *exit_key)
{
	char elf[128], path[128];
	const char *args[] = { elf, NULL };
	struct cmd_result nested = { 0 };
	char *want;
	FILE *f;
	long size;

	snprintf(elf, sizeof(elf), "build/tests/vmx/%s.elf", name);
	snprintf(path, sizeof(path), "tests/vmx/expected/%s.out", name);
	f = fopen(path, "rb");
	if (!f)
		fail_msg("cannot read %s", path);
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	size = ftell(f);
	assert_true(size > 0);
	rewind(f);
	want = calloc(1, (size_t)size + 1);
	assert_non_null(want);
	assert_int_equal(fread(want, 1, (size_t)size, f), (size_t)size);
	fclose(f);

	run_nestvm(false, args, &nested);
	expect_run(&nested, want, 0);
	assert_true(table_value(nested.err, exit_key) > 0);
	cmd_result_free(&nested);
	free(want);
}

static void test_nested__vmx_fields_program_as_l1_prints_expected(void **state)
{
	(void)state;
	expect_vmx_program_as_l1("vmx_fields", "l1_exit VMWRITE (25)");
}

static void test_nested__vmx_insn_program_as_l1_prints_expected(void **state)
{
	(void)state;
	expect_vmx_program_as_l1("vmx_insn", "l1_exit VMCLEAR (19)");
}

static void test_nested__vmx_entry_program_as_l1_prints_expected(void **state)
{
	(void)state;
	expect_vmx_program_as_l1("vmx_entry", "nested_entry_failures");
}

static void test_nested__vmx_exits_program_as_l1_prints_expected(void **state)
{
	(void)state;
	expect_vmx_program_as_l1("vmx_exits", "nested_entries");
}

/* ---- single-level virtualization under L0 ----------------------------------------- */

/* A guest that is no hypervisor is L1 under L0 and prints what it prints
 * natively; every port access is one L1 exit, nothing reaches L2. */
static void test_nested__non_vmx_l1_hello_runs_under_l0_as_native(void **state)
{
	static const char *const args[] = { "build/guests/hello.elf",
					    "--mem",
					    "16M",
					    "--append",
					    "hello world",
					    NULL };
	struct cmd_result nested = { 0 }, native = { 0 };
	char *want = read_expected("hello");

	(void)state;
	run_nestvm(true, args, &native);
	expect_run(&native, want, 0);
	run_nestvm(false, args, &nested);
	expect_run(&nested, want, 0);
	assert_int_equal(table_value(nested.err, "nested_entries"), 0);
	assert_int_equal(table_value(nested.err, "insns_l2"), 0);
	assert_true(table_value(nested.err, "l1_exit IO_INSTRUCTION (30)") > 0);
	cmd_result_free(&nested);
	cmd_result_free(&native);
	free(want);
}

/* A triple fault of L2 goes to l1-shim, which says so and exits 126, as
 * in the native l1-shim run. */
static void test_nested__triple_l2_reported_by_l1_shim_exits_126(void **state)
{
	struct cmd_result nested = { 0 }, native = { 0 };

	(void)state;
	run_l1_shim(true, "build/guests/tests/triple.elf", NULL, &native);
	run_l1_shim(false, "build/guests/tests/triple.elf", NULL, &nested);
	assert_int_equal(native.exit_code, 126);
	expect_run(&nested, native.out, 126);
	assert_non_null(strstr(nested.out, "l1-shim: L2 triple-faulted"));
	cmd_result_free(&nested);
	cmd_result_free(&native);
}

/* --max-insns bounds all levels together. */
static void test_nested__max_insns_stops_nested_run_with_124(void **state)
{
	static const char *const args[] = {
		L1_SHIM,       "--module", "build/guests/cpuid_loop.elf",
		"--max-insns", "50000",	   NULL
	};
	struct cmd_result res = { 0 };

	(void)state;
	run_nestvm(false, args, &res);
	assert_int_equal(res.exit_code, 124);
	assert_non_null(strstr(res.err, "the instruction limit (50000) ran "
					"out at "));
	assert_int_equal(table_value(res.err, "insns_l1") +
				 table_value(res.err, "insns_l2"),
			 50000);
	cmd_result_free(&res);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(
			test_nested__hello_l2_prints_native_output_exits_0),
		cmocka_unit_test(test_nested__alu_l2_passes_every_check),
		cmocka_unit_test(test_nested__format_l2_prints_native_output),
		cmocka_unit_test(
			test_nested__exceptions_l2_handles_its_own_faults),
		cmocka_unit_test(
			test_nested__exitcode_l2_status_42_becomes_nestvm_42),
		cmocka_unit_test(
			test_nested__exc_reflected_exceptions_match_native_run),
		cmocka_unit_test(
			test_nested__cpuid_loop_costs_exactly_l1_shim_handler_exits),
		cmocka_unit_test(
			test_nested__world_switches_are_entries_plus_exits),
		cmocka_unit_test(
			test_nested__vmx_fields_program_as_l1_prints_expected),
		cmocka_unit_test(
			test_nested__prep_dirty_output_identical_to_full),
		cmocka_unit_test(
			test_nested__prep_dirty_writes_21_not_100_per_cpuid),
		cmocka_unit_test(
			test_nested__vmx_insn_program_as_l1_prints_expected),
		cmocka_unit_test(
			test_nested__vmx_entry_program_as_l1_prints_expected),
		cmocka_unit_test(
			test_nested__vmx_exits_program_as_l1_prints_expected),
		cmocka_unit_test(
			test_nested__non_vmx_l1_hello_runs_under_l0_as_native),
		cmocka_unit_test(
			test_nested__triple_l2_reported_by_l1_shim_exits_126),
		cmocka_unit_test(
			test_nested__max_insns_stops_nested_run_with_124),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
