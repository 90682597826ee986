/* SPDX-License-Identifier: MIT */
/*
 * test_shadow_mmu - whole-stack runs under `nestvm run --mmu shadow`: the
 * guests print what they print under --mmu ept (hello, cpuid_loop,
 * pagetouch, the guests/tests programs, ptwrite, and l1-shim running cpuid_loop as
 * L2), with exact counts of the shadow MMU's hidden faults, true faults
 * and emulated page-table writes for guests whose touched pages are known.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/lib/run_cmd.h"

#ifndef NESTVM_DEFAULT_PATH
#define NESTVM_DEFAULT_PATH "build/nestvm"
#endif
#define TIMEOUT_S 300
#define ARGS_MAX 16

static void run(const char *mmu, const char *image, const char *module,
		const char *append, struct cmd_result *res)
{
	const char *argv[ARGS_MAX] = { NESTVM_DEFAULT_PATH, "run", "--mmu", mmu,
				       image };
	size_t n = 5;

	if (module) {
		argv[n++] = "--module";
		argv[n++] = module;
	}
	if (append) {
		argv[n++] = "--append";
		argv[n++] = append;
	}
	argv[n] = NULL;
	if (run_cmd((char *const *)argv, TIMEOUT_S, res))
		fail_msg("cannot run %s: build it and run from the top of the "
			 "tree",
			 NESTVM_DEFAULT_PATH);
}

/* The value of "nestvm: nested: NAME N" on stderr. */
static uint64_t stat(const struct cmd_result *res, const char *name)
{
	char key[96];
	const char *p;

	snprintf(key, sizeof(key), "nestvm: nested: %s ", name);
	p = strstr(res->err, key);
	if (!p)
		fail_msg("no '%s' line in:\n%s", key, res->err);
	return strtoull(p + strlen(key), NULL, 10);
}

/* Runs image under both MMUs; stdout and the exit status must match. */
static void expect_same(const char *image, const char *module,
			const char *append, int status,
			struct cmd_result *shadow)
{
	struct cmd_result ept = { 0 };

	run("ept", image, module, append, &ept);
	run("shadow", image, module, append, shadow);
	if (strcmp(ept.out, shadow->out) || shadow->exit_code != status)
		print_message("[ ept ]\n%s[ shadow ]\n%s[ stderr ]\n%s\n",
			      ept.out, shadow->out, shadow->err);
	assert_int_equal(ept.exit_code, status);
	assert_int_equal(shadow->exit_code, status);
	assert_string_equal(shadow->out, ept.out);
	assert_non_null(strstr(shadow->err, "nestvm: nested: mmu shadow\n"));
	cmd_result_free(&ept);
}

static void test_shadow_mmu__hello_same_output_6_hidden_faults(void **state)
{
	struct cmd_result res = { 0 };

	(void)state;
	expect_same("build/guests/hello.elf", NULL, NULL, 0, &res);
	/* Code, data, stack, boot info, and the pages the runtime reads:
	 * each first touched once, none written to a page table. */
	assert_int_equal(stat(&res, "shadow_hidden_faults"), 6);
	assert_int_equal(stat(&res, "shadow_true_faults"), 0);
	assert_int_equal(stat(&res, "shadow_pt_writes"), 0);
	assert_int_equal(stat(&res, "shadow_cr3_switches"), 0);
	assert_int_equal(stat(&res, "l1_exit EXCEPTION_NMI (0)"), 6);
	cmd_result_free(&res);
}

static void test_shadow_mmu__pagetouch_one_hidden_fault_per_page(void **state)
{
	struct cmd_result a = { 0 }, b = { 0 };

	(void)state;
	expect_same("build/guests/pagetouch.elf", NULL, "pages=100", 0, &a);
	expect_same("build/guests/pagetouch.elf", NULL, "pages=300", 0, &b);
	/* Each page is first written (D set, writable at once): one fault
	 * per page, whatever else the run touches being the same. */
	assert_int_equal(stat(&b, "shadow_hidden_faults") -
				 stat(&a, "shadow_hidden_faults"),
			 200);
	assert_int_equal(stat(&a, "shadow_hidden_faults"), 107);
	assert_int_equal(stat(&a, "shadow_true_faults"), 0);
	cmd_result_free(&a);
	cmd_result_free(&b);
}

static void test_shadow_mmu__cpuid_loop_same_output(void **state)
{
	struct cmd_result res = { 0 };

	(void)state;
	expect_same("build/guests/cpuid_loop.elf", NULL, NULL, 0, &res);
	assert_int_equal(stat(&res, "shadow_hidden_faults"), 6);
	assert_int_equal(stat(&res, "l1_exit CPUID (10)"), 100000);
	cmd_result_free(&res);
}

static void test_shadow_mmu__guest_tests_same_output(void **state)
{
	static const struct {
		const char *image;
		int status;
	} g[] = {
		{ "build/guests/tests/alu.elf", 0 },
		{ "build/guests/tests/format.elf", 0 },
		{ "build/guests/tests/exitcode.elf", 254 },
		{ "build/guests/tests/triple.elf", 126 },
	};

	(void)state;
	for (size_t k = 0; k < sizeof(g) / sizeof(g[0]); k++) {
		struct cmd_result res = { 0 };

		expect_same(g[k].image, NULL, NULL, g[k].status, &res);
		cmd_result_free(&res);
	}
}

static void test_shadow_mmu__exceptions_true_faults_and_pt_writes(void **state)
{
	struct cmd_result res = { 0 };

	(void)state;
	expect_same("build/guests/tests/exceptions.elf", NULL, NULL, 0, &res);
	/* Two #PFs are L1's (page 0, the read-only store); the read-only
	 * store's PTE is cleared and restored by two MOV stores. */
	assert_int_equal(stat(&res, "shadow_true_faults"), 2);
	assert_int_equal(stat(&res, "shadow_pt_writes"), 2);
	assert_int_equal(stat(&res, "shadow_invlpgs"), 2);
	assert_int_equal(stat(&res, "shadow_pt_write_unimpl"), 0);
	cmd_result_free(&res);
}

static void test_shadow_mmu__ptwrite_remaps_coherently(void **state)
{
	struct cmd_result res = { 0 };

	(void)state;
	expect_same("build/guests/tests/ptwrite.elf", NULL, NULL, 0, &res);
	assert_non_null(strstr(res.out, "ptwrite: restored, sum 0, 0 bad\n"));
	/* Six rounds of map + unmap, the 2 MiB split's directory entry and
	 * the restore: 14 emulated stores; each INVLPG zaps the leaf the
	 * store before it had already zapped, or nothing. */
	assert_int_equal(stat(&res, "shadow_pt_writes"), 14);
	assert_int_equal(stat(&res, "shadow_invlpgs"), 12);
	assert_int_equal(stat(&res, "shadow_cr3_switches"), 2);
	assert_int_equal(stat(&res, "shadow_true_faults"), 0);
	cmd_result_free(&res);
}

static void test_shadow_mmu__l1_shim_cpuid_loop_as_l2(void **state)
{
	struct cmd_result ept = { 0 }, sh = { 0 };
	const char *iters = "RESULT cpuid_iterations 100000 count\n";

	(void)state;
	run("ept", "build/l1-shim.elf", "build/guests/cpuid_loop.elf", NULL,
	    &ept);
	run("shadow", "build/l1-shim.elf", "build/guests/cpuid_loop.elf", NULL,
	    &sh);
	if (sh.exit_code)
		print_message("%s%s\n", sh.out, sh.err);
	assert_int_equal(sh.exit_code, 0);
	assert_non_null(strstr(ept.out, iters));
	assert_non_null(strstr(sh.out, iters));
	/* L2 runs on ept02 either way; only L1's paging differs. */
	assert_int_equal(stat(&sh, "nested_entries"),
			 stat(&ept, "nested_entries"));
	assert_int_equal(stat(&sh, "l2_exit CPUID (10)"), 100000);
	assert_int_equal(stat(&sh, "shadow_true_faults"), 0);
	cmd_result_free(&ept);
	cmd_result_free(&sh);
}

static void test_shadow_mmu__ept_coherence_wp_is_refused(void **state)
{
	const char *argv[] = { NESTVM_DEFAULT_PATH,
			       "run",
			       "--mmu",
			       "shadow",
			       "--ept-coherence",
			       "wp",
			       "build/guests/hello.elf",
			       NULL };
	struct cmd_result res = { 0 };

	(void)state;
	assert_int_equal(run_cmd((char *const *)argv, TIMEOUT_S, &res), 0);
	assert_int_not_equal(res.exit_code, 0);
	assert_non_null(strstr(res.err, "--ept-coherence wp"));
	cmd_result_free(&res);
}

static void test_shadow_mmu__bad_mode_is_refused(void **state)
{
	struct cmd_result res = { 0 };

	(void)state;
	run("nested", "build/guests/hello.elf", NULL, NULL, &res);
	assert_int_not_equal(res.exit_code, 0);
	assert_non_null(
		strstr(res.err, "--mmu: bad mode 'nested' (ept or shadow)"));
	cmd_result_free(&res);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(
			test_shadow_mmu__hello_same_output_6_hidden_faults),
		cmocka_unit_test(
			test_shadow_mmu__pagetouch_one_hidden_fault_per_page),
		cmocka_unit_test(test_shadow_mmu__cpuid_loop_same_output),
		cmocka_unit_test(test_shadow_mmu__guest_tests_same_output),
		cmocka_unit_test(
			test_shadow_mmu__exceptions_true_faults_and_pt_writes),
		cmocka_unit_test(test_shadow_mmu__ptwrite_remaps_coherently),
		cmocka_unit_test(test_shadow_mmu__l1_shim_cpuid_loop_as_l2),
		cmocka_unit_test(test_shadow_mmu__ept_coherence_wp_is_refused),
		cmocka_unit_test(test_shadow_mmu__bad_mode_is_refused),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
