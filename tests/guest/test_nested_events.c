/* SPDX-License-Identifier: MIT */
/*
 * Whole-stack tests of what L0 offers L1 for events and L2's modes
 * (l0/nested_events.c, vmcs-merge/caps.c): build/nestvm runs a VMX test
 * program (tests/vmx/) as L1, and L0's accounting lines must show the
 * nested round trips the program's checks made. Host side; run from the
 * top of the tree.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/lib/run_cmd.h"

#ifndef NESTVM_DEFAULT_PATH
#define NESTVM_DEFAULT_PATH "build/nestvm"
#endif
#define TIMEOUT_S 300

static void run_nested(const char *elf, struct cmd_result *res)
{
	const char *argv[] = { NESTVM_DEFAULT_PATH, "run", elf, NULL };

	if (run_cmd((char *const *)argv, TIMEOUT_S, res))
		fail_msg("cannot run %s: build it and run from the top of the "
			 "tree",
			 NESTVM_DEFAULT_PATH);
	assert_int_equal(res->exit_code, 0);
}

/* The number after "nestvm: nested: <key> " on stderr. */
static unsigned long long nested_value(const char *err, const char *key)
{
	char want[128];
	const char *at;

	snprintf(want, sizeof(want), "nestvm: nested: %s ", key);
	at = strstr(err, want);
	if (!at)
		fail_msg("no line '%s' in:\n%s", want, err);
	return strtoull(at + strlen(want), NULL, 10);
}

/*
 * vmx_real as L1: its real-mode unrestricted L2 enters twice (the CPUID
 * and the OUT it checks, each reflected once); three entry failures L0
 * finds in vmcs12's guest state (real mode without unrestricted guest, PG
 * without PE, SS.DPL 3 in real mode) and one VMfail 7 (unrestricted guest
 * without EPT); its ept12 maps L2's one page, filled once in ept02.
 */
static void
test_nested_events__vmx_real_l2_runs_real_mode_under_l0(void **state)
{
	struct cmd_result res = { 0 };

	(void)state;
	run_nested("build/tests/vmx/vmx_real.elf", &res);
	assert_non_null(strstr(res.out, "# vmx_real: 9 checks, 0 failed\n"));
	assert_null(strstr(res.out, "skip"));
	assert_int_equal(nested_value(res.err, "nested_entries"), 2);
	assert_int_equal(nested_value(res.err, "nested_entry_failures"), 3);
	assert_int_equal(nested_value(res.err, "nested_vmfails"), 1);
	assert_int_equal(nested_value(res.err, "ept02_fills"), 1);
	assert_int_equal(nested_value(res.err, "reflected CPUID (10) count"),
			 1);
	assert_int_equal(
		nested_value(res.err, "reflected IO_INSTRUCTION (30) count"),
		1);
	/* Two nested entries, each all of vmcs02 under --prep full. */
	assert_int_equal(nested_value(res.err, "vmcs02_writes"), 2 * 101);
	cmd_result_free(&res);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(
			test_nested_events__vmx_real_l2_runs_real_mode_under_l0),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
