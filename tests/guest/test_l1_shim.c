/* SPDX-License-Identifier: MIT */
/*
 * Whole-stack l1-shim tests: build/nestvm runs build/l1-shim.elf on the
 * model's VT-x with a guest image as L2. L2 must print exactly what it
 * prints natively (tests/guest/expected/) and exit with the same status;
 * l1-shim's exit and VMCS-access counts must be the ones docs/l1-shim.md
 * gives; bad options and images end in l1-shim's own statuses. Host side;
 * run from the top of the tree.
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

#include "tests/lib/guest_run.h"
#include "tests/lib/run_cmd.h"

#ifndef NESTVM_DEFAULT_PATH
#define NESTVM_DEFAULT_PATH "build/nestvm"
#endif
#define L1_SHIM "build/l1-shim.elf"
#define EXPECTED_DIR "tests/guest/expected/"
#define ARGS_MAX 16

/* Runs "nestvm run --native <args...>"; args ends with NULL. */
static void run_nestvm(const char *const args[], struct cmd_result *res)
{
	const char *argv[ARGS_MAX] = { NESTVM_DEFAULT_PATH, "run", "--native" };
	size_t n = 3;

	for (size_t i = 0; args[i]; i++) {
		assert_true(n < ARGS_MAX - 1);
		argv[n++] = args[i];
	}
	argv[n] = NULL;
	guest_run_argv(argv, res);
}

/* Runs l1-shim with @l2 as its first module and @append as its command
 * line (NULL: none). */
static void run_l1_shim(const char *l2, const char *append,
			struct cmd_result *res)
{
	const char *args[] = { L1_SHIM, "--module",
			       l2,	append ? "--append" : NULL,
			       append,	NULL };

	run_nestvm(args, res);
}

/*
 * The RESULT lines of the I/O exits an L2 that printed @bytes bytes on
 * the console costs (docs/l1-shim.md): the runtime's LCR write (8N1) at
 * start, one LSR read and one THR write per byte, 5 VMREADs and 1
 * VMWRITE each, and the final write to the debug-exit port, 2 VMREADs.
 */
static void io_stats(char *buf, size_t size, size_t bytes)
{
	uint64_t exits = 1 + 2 * bytes + 1;

	snprintf(buf, size,
		 "RESULT l1_exits_io_instruction %llu count\n"
		 "RESULT l1_vmreads_io_instruction %llu count\n"
		 "RESULT l1_vmwrites_io_instruction %llu count\n",
		 (unsigned long long)exits,
		 (unsigned long long)(5 * (exits - 1) + 2),
		 (unsigned long long)(exits - 1));
}

static int setup_result(void **state)
{
	*state = calloc(1, sizeof(struct cmd_result));
	return *state ? 0 : -1;
}

static int teardown_result(void **state)
{
	cmd_result_free(*state);
	free(*state);
	return 0;
}

/* ---- L2 runs as it runs natively ------------------------------------------- */

static void test_l1_shim__hello_l2_prints_native_output_exits_0(void **state)
{
	struct cmd_result *res = *state;
	char *want = guest_run_read_expected("hello");

	run_l1_shim("build/guests/hello.elf", "-- hello world", res);
	guest_run_expect(res, want, 0);
	free(want);
}

static void test_l1_shim__alu_l2_passes_every_check(void **state)
{
	struct cmd_result *res = *state;
	char *want = guest_run_read_expected("alu");

	run_l1_shim("build/guests/tests/alu.elf", NULL, res);
	guest_run_expect(res, want, 0);
	free(want);
}

static void test_l1_shim__format_l2_prints_native_output(void **state)
{
	struct cmd_result *res = *state;
	char *want = guest_run_read_expected("format");

	run_l1_shim("build/guests/tests/format.elf", NULL, res);
	guest_run_expect(res, want, 0);
	free(want);
}

static void test_l1_shim__exceptions_l2_handles_its_own_faults(void **state)
{
	struct cmd_result *res = *state;
	char *want = guest_run_read_expected("exceptions");

	run_l1_shim("build/guests/tests/exceptions.elf", NULL, res);
	guest_run_expect(res, want, 0);
	free(want);
}

static void test_l1_shim__exitcode_l2_status_42_becomes_nestvm_42(void **state)
{
	struct cmd_result *res = *state;
	char *want = guest_run_read_expected("exitcode");

	run_l1_shim("build/guests/tests/exitcode.elf", "-- 42", res);
	guest_run_expect(res, want, 42);
	free(want);
}

static void test_l1_shim__triple_l2_exits_126_naming_native_rip(void **state)
{
	static const char *const native[] = { "--mem", "16M",
					      "build/guests/tests/triple.elf",
					      NULL };
	struct cmd_result *res = *state;
	struct cmd_result nat = { 0 };
	char *want = guest_run_read_expected("triple");
	char line[128], *at;
	unsigned long long rip;

	/* nestvm names the RIP of the native triple fault on stderr. */
	run_nestvm(native, &nat);
	at = strstr(nat.err, "at RIP 0x");
	assert_non_null(at);
	assert_int_equal(sscanf(at, "at RIP 0x%llx", &rip), 1);
	cmd_result_free(&nat);

	snprintf(line, sizeof(line),
		 "l1-shim: L2 triple-faulted at RIP %#llx\n", rip);
	want = realloc(want, strlen(want) + strlen(line) + 1);
	assert_non_null(want);
	strcat(want, line);
	run_l1_shim("build/guests/tests/triple.elf", NULL, res);
	guest_run_expect(res, want, 126);
	free(want);
}

static void test_l1_shim__l2mem_32m_reaches_l2_bootinfo(void **state)
{
	struct cmd_result *res = *state;

	run_l1_shim("build/guests/hello.elf", "l2mem=32M", res);
	assert_int_equal(res->exit_code, 0);
	assert_non_null(strstr(res->out, "memory: 32 MiB\n"));
	assert_non_null(strstr(res->out, "cmdline: \"\"\n"));
}

static void test_l1_shim__second_module_handed_on_to_l2(void **state)
{
	static const char *const args[] = { L1_SHIM,
					    "--module",
					    "build/guests/hello.elf",
					    "--module",
					    "build/guests/tests/alu.elf",
					    NULL };
	struct cmd_result *res = *state;

	run_nestvm(args, res);
	assert_int_equal(res->exit_code, 0);
	assert_non_null(strstr(res->out, "modules: 1\n"));
}

/* ---- counts ------------------------------------------------------------------ */

static void
test_l1_shim__cpuid_loop_1000_costs_5_reads_1_write_each(void **state)
{
	struct cmd_result *res = *state;
	char want[1024], io[256];
	unsigned long long cycles;
	const char *second;
	size_t l2_bytes;
	int n;

	run_l1_shim("build/guests/cpuid_loop.elf", "stats -- 1000", res);
	assert_int_equal(res->exit_code, 0);
	second = strstr(res->out, "RESULT cpuid_cycles_per_iter ");
	assert_non_null(second);
	assert_int_equal(
		sscanf(second, "RESULT cpuid_cycles_per_iter %llu", &cycles),
		1);
	n = snprintf(want, sizeof(want),
		     "RESULT cpuid_iterations 1000 count\n"
		     "RESULT cpuid_cycles_per_iter %llu cycles\n",
		     cycles);
	l2_bytes = (size_t)n;
	io_stats(io, sizeof(io), l2_bytes);
	snprintf(want + n, sizeof(want) - (size_t)n,
		 "RESULT l1_exits_cpuid 1000 count\n"
		 "RESULT l1_vmreads_cpuid 5000 count\n"
		 "RESULT l1_vmwrites_cpuid 1000 count\n"
		 "%s",
		 io);
	guest_run_expect(res, want, 0);
}

static void test_l1_shim__exc_reflects_six_exceptions_with_counts(void **state)
{
	struct cmd_result *res = *state;
	char *l2 = guest_run_read_expected("exceptions");
	char io[256], *want;

	/* #DE and #UD: 4 VMREADs, 1 VMWRITE; #BP, #GP and two #PFs: 5 and
	 * 2 (error code or instruction length). */
	io_stats(io, sizeof(io), strlen(l2));
	want = malloc(strlen(l2) + 512);
	assert_non_null(want);
	sprintf(want,
		"%sRESULT l1_exits_exception_nmi 6 count\n"
		"RESULT l1_vmreads_exception_nmi 28 count\n"
		"RESULT l1_vmwrites_exception_nmi 10 count\n%s",
		l2, io);
	run_l1_shim("build/guests/tests/exceptions.elf",
		    "exc=de,ud,bp,pf,gp stats --", res);
	guest_run_expect(res, want, 0);
	free(want);
	free(l2);
}

/* #UD, then #GP delivering it (no IDT), then #GP again, so #DF, then #GP
 * delivering #DF: with #GP in the exception bitmap every one of them is an
 * exception exit, and the last one exits instead of a triple fault (SDM
 * Vol. 3C 26.2): 4 exception exits, no TRIPLE_FAULT exit. Bochs' VT-x
 * gives the same. */
static void
test_l1_shim__exc_gp_while_delivering_df_exits_not_triple(void **state)
{
	struct cmd_result *res = *state;

	run_l1_shim("build/guests/tests/triple.elf", "exc=ud,gp,df stats", res);
	assert_non_null(
		strstr(res->out, "RESULT l1_exits_exception_nmi 4 count\n"));
	assert_null(strstr(res->out, "l1_exits_triple_fault"));
}

/* ---- l1-shim's own failures ------------------------------------------------ */

static void test_l1_shim__unknown_option_exits_125(void **state)
{
	struct cmd_result *res = *state;

	run_l1_shim("build/guests/hello.elf", "bogus", res);
	assert_int_equal(res->exit_code, 125);
	assert_non_null(strstr(res->out, "l1-shim: unknown option 'bogus'"));
}

static void test_l1_shim__bad_l2mem_exits_125(void **state)
{
	struct cmd_result *res = *state;

	run_l1_shim("build/guests/hello.elf", "l2mem=1M", res);
	assert_int_equal(res->exit_code, 125);
	assert_non_null(strstr(res->out, "l1-shim: l2mem: bad size '1M'"));
}

static void test_l1_shim__l2mem_larger_than_l1_exits_125(void **state)
{
	struct cmd_result *res = *state;

	run_l1_shim("build/guests/hello.elf", "l2mem=64M", res);
	assert_int_equal(res->exit_code, 125);
	assert_non_null(strstr(res->out, "does not fit"));
	assert_null(strstr(res->out, "Hello"));
}

static void test_l1_shim__no_module_exits_125(void **state)
{
	static const char *const args[] = { L1_SHIM, NULL };
	struct cmd_result *res = *state;

	run_nestvm(args, res);
	assert_int_equal(res->exit_code, 125);
	assert_non_null(strstr(res->out, "l1-shim: no L2 image"));
}

static void test_l1_shim__bad_exc_name_exits_125(void **state)
{
	struct cmd_result *res = *state;

	run_l1_shim("build/guests/hello.elf", "exc=ud,db", res);
	assert_int_equal(res->exit_code, 125);
	assert_non_null(strstr(res->out, "l1-shim: exc: bad exception list"));
}

int main(void)
{
#define T(t) cmocka_unit_test_setup_teardown(t, setup_result, teardown_result)
	const struct CMUnitTest tests[] = {
		T(test_l1_shim__hello_l2_prints_native_output_exits_0),
		T(test_l1_shim__alu_l2_passes_every_check),
		T(test_l1_shim__format_l2_prints_native_output),
		T(test_l1_shim__exceptions_l2_handles_its_own_faults),
		T(test_l1_shim__exitcode_l2_status_42_becomes_nestvm_42),
		T(test_l1_shim__triple_l2_exits_126_naming_native_rip),
		T(test_l1_shim__exc_gp_while_delivering_df_exits_not_triple),
		T(test_l1_shim__l2mem_32m_reaches_l2_bootinfo),
		T(test_l1_shim__second_module_handed_on_to_l2),
		T(test_l1_shim__cpuid_loop_1000_costs_5_reads_1_write_each),
		T(test_l1_shim__exc_reflects_six_exceptions_with_counts),
		T(test_l1_shim__unknown_option_exits_125),
		T(test_l1_shim__bad_l2mem_exits_125),
		T(test_l1_shim__l2mem_larger_than_l1_exits_125),
		T(test_l1_shim__no_module_exits_125),
		T(test_l1_shim__bad_exc_name_exits_125),
	};
#undef T
	return cmocka_run_group_tests(tests, NULL, NULL);
}
