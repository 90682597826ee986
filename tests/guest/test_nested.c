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
 * tests/vmx/vmx_fields.elf is a bare-metal VMX program (VMXON, VMCLEAR,
 * VMPTRLD and a VMWRITE/VMREAD round trip of every field it finds): as L1
 * under L0 it prints the same lines as on the bare model.
 */
static void test_nested__vmx_fields_program_prints_native_lines(void **state)
{
	static const char *const args[] = { "build/tests/vmx/vmx_fields.elf",
					    NULL };
	struct cmd_result nested = { 0 }, native = { 0 };

	(void)state;
	run_nestvm(true, args, &native);
	assert_int_equal(native.exit_code, 0);
	run_nestvm(false, args, &nested);
	expect_run(&nested, native.out, 0);
	assert_true(table_value(nested.err, "l1_exit VMWRITE (25)") > 0);
	cmd_result_free(&nested);
	cmd_result_free(&native);
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
			test_nested__vmx_fields_program_prints_native_lines),
		cmocka_unit_test(
			test_nested__non_vmx_l1_hello_runs_under_l0_as_native),
		cmocka_unit_test(
			test_nested__triple_l2_reported_by_l1_shim_exits_126),
		cmocka_unit_test(
			test_nested__max_insns_stops_nested_run_with_124),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
