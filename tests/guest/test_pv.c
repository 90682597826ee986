/* SPDX-License-Identifier: MIT */
/*
 * Whole-stack tests of --vmcs-access pv: l1-shim as an enlightened L1
 * (its eVMCS instead of VMREAD/VMWRITE) under L0. One L2 CPUID costs
 * exactly the L1 exits each strategy allows, with its world switches,
 * modeled cycles and eVMCS bytes; every guest prints and exits the same
 * under trap, shadow, shadow-all and pv; an L1 that does not use the
 * eVMCS is trapped as under trap. Host side; run from the top of the tree.
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
/* The enlightened build: it uses the eVMCS only where L0 offers it. */
#define L1_SHIM "build/l1-shim-pv.elf"
#define CPUID_LOOP "build/guests/cpuid_loop.elf"
#define ARGS_MAX 16
#define CPUID_N 1000ull

/* "nestvm run --vmcs-access mode l1-shim --module l2 [--append a]". */
static void run_access(const char *mode, const char *l2, const char *append,
		       struct cmd_result *res)
{
	const char *argv[ARGS_MAX] = { NESTVM_DEFAULT_PATH,
				       "run",
				       "--vmcs-access",
				       mode,
				       L1_SHIM,
				       "--module",
				       l2,
				       append ? "--append" : NULL,
				       append,
				       NULL };

	guest_run_argv(argv, res);
}

/*
 * One L2 CPUID under each strategy (profile nehalem, --prep full).
 * l1-shim's handler makes 5 reads and 1 write of its VMCS, runs CPUID
 * itself (an L1 exit: CPUID exits unconditionally, SDM 26.1.2) and
 * resumes L2. trap: 2 + 5 + 1 = 8 L1 exits; shadow-all and pv: 2 (the
 * handler's CPUID and the VMRESUME). Under pv L0 reads 16 bytes of the
 * eVMCS per entry (revision, clean bits, GUEST_RIP: every group clean)
 * and writes 360 back per exit (guest state and exit information).
 */
static const struct pv_case {
	const char *mode;
	unsigned long long l1_exits, world_switches, cycles, l1_insns;
} pv_cases[] = {
	/* vmcs02 carries vpid02 (one more VMWRITE per entry, 44 cycles on
	 * nehalem); shadow-all also syncs the preemption-timer field L0
	 * now offers (one VMREAD and one VMWRITE more, 96), and the VMREAD
	 * and VMWRITE bitmap addresses, offered with VMCS shadowing (192). */
	{ "trap", 8, 18, 23565 + 44, 167 },
	{ "shadow-all", 2, 6, 25841 + 44 + 96 + 192, 173 },
	{ "pv", 2, 6, 14349 + 44, 311 },
};

static void test_pv__one_l2_cpuid_exact_l1_exits_per_strategy(void **state)
{
	const char *line = "reflected CPUID (10)";

	(void)state;
	for (size_t k = 0; k < sizeof(pv_cases) / sizeof(pv_cases[0]); k++) {
		const struct pv_case *c = &pv_cases[k];
		bool pv = !strcmp(c->mode, "pv");
		struct cmd_result res = { 0 };
		unsigned long long reads, writes;

		run_access(c->mode, CPUID_LOOP, "stats -- 1000", &res);
		assert_int_equal(res.exit_code, 0);
		reads = guest_run_result(res.out, pv ? "l1_evmcs_reads_cpuid"
						     : "l1_vmreads_cpuid");
		writes = guest_run_result(res.out, pv ? "l1_evmcs_writes_cpuid"
						      : "l1_vmwrites_cpuid");
		/* The same logical accesses, whatever carries them. */
		assert_int_equal(reads, CPUID_N * 5);
		assert_int_equal(writes, CPUID_N);
		assert_int_equal(guest_run_nested(res.err, line, "count"),
				 CPUID_N);
		assert_int_equal(guest_run_nested(res.err, line, "l1_exits"),
				 CPUID_N * c->l1_exits);
		if (!strcmp(c->mode, "trap"))
			assert_int_equal(
				guest_run_nested(res.err, line, "l1_exits"),
				2 * CPUID_N + reads + writes);
		assert_int_equal(
			guest_run_nested(res.err, line, "world_switches"),
			CPUID_N * c->world_switches);
		assert_int_equal(guest_run_nested(res.err, line, "cycles"),
				 CPUID_N * c->cycles);
		assert_int_equal(guest_run_nested(res.err, line, "l1_insns"),
				 CPUID_N * c->l1_insns);
		/* Trapped VMREADs: all of them under trap, none else. */
		assert_int_equal(guest_run_nested(res.err, line, "vmreads"),
				 strcmp(c->mode, "trap") ? 0 : reads);
		if (pv) {
			assert_int_equal(
				guest_run_nested(res.err,
						 "reflected_evmcs CPUID "
						 "(10)",
						 "read_bytes"),
				CPUID_N * 16);
			assert_int_equal(
				guest_run_nested(res.err,
						 "reflected_evmcs CPUID "
						 "(10)",
						 "write_bytes"),
				CPUID_N * 360);
			/* Every nested entry was enlightened. */
			assert_int_equal(
				guest_run_nested(res.err, "evmcs_entries",
						 NULL),
				guest_run_nested(res.err, "nested_entries",
						 NULL));
		} else {
			assert_null(strstr(res.err, "evmcs_entries"));
		}
		cmd_result_free(&res);
	}
}

/* out without its lines in modeled cycles and l1-shim's own VMCS-access
 * counts (named after what carries them); malloc'd. */
static char *comparable(const char *out)
{
	char *res = calloc(1, strlen(out) + 1), *o = res;

	assert_non_null(res);
	while (*out) {
		size_t len = strcspn(out, "\n");
		bool skip =
			(len >= 7 && !strncmp(out + len - 7, " cycles", 7)) ||
			(!strncmp(out, "RESULT l1_", 10) &&
			 strncmp(out, "RESULT l1_exits_", 16));

		if (!skip) {
			memcpy(o, out, len);
			o += len;
			if (out[len] == '\n')
				*o++ = '\n';
		}
		out += len + (out[len] == '\n');
	}
	return res;
}

/* Every guest: the same output, status, nested entries, L2 instructions
 * and L2 exits under all four strategies. */
static void test_pv__every_guest_same_results_under_every_strategy(void **state)
{
	static const char *const modes[] = { "trap", "shadow", "shadow-all",
					     "pv" };
	static const struct {
		const char *elf, *append;
	} guests[] = {
		{ "build/guests/hello.elf", "-- hello world" },
		{ "build/guests/tests/alu.elf", NULL },
		{ "build/guests/tests/format.elf", NULL },
		{ "build/guests/tests/exceptions.elf",
		  "exc=de,ud,bp,pf,gp stats --" },
		{ "build/guests/tests/exitcode.elf", "-- 42" },
		{ CPUID_LOOP, "stats -- 1000" },
	};

	(void)state;
	for (size_t g = 0; g < sizeof(guests) / sizeof(guests[0]); g++) {
		struct cmd_result res[4] = { { 0 } };
		char *out[4];

		for (size_t m = 0; m < 4; m++) {
			run_access(modes[m], guests[g].elf, guests[g].append,
				   &res[m]);
			out[m] = comparable(res[m].out);
		}
		for (size_t m = 1; m < 4; m++) {
			assert_string_equal(out[m], out[0]);
			assert_int_equal(res[m].exit_code, res[0].exit_code);
			assert_int_equal(
				guest_run_nested(res[m].err, "nested_entries",
						 NULL),
				guest_run_nested(res[0].err, "nested_entries",
						 NULL));
			assert_int_equal(
				guest_run_nested(res[m].err, "insns_l2", NULL),
				guest_run_nested(res[0].err, "insns_l2", NULL));
		}
		for (size_t m = 0; m < 4; m++) {
			free(out[m]);
			cmd_result_free(&res[m]);
		}
	}
}

/* An L1 that does not use the eVMCS (no-evmcs) is trapped under pv,
 * exactly as under trap, and no entry is enlightened. */
static void test_pv__l1_without_evmcs_is_trapped(void **state)
{
	struct cmd_result res = { 0 };

	(void)state;
	run_access("pv", CPUID_LOOP, "no-evmcs stats -- 1000", &res);
	assert_int_equal(res.exit_code, 0);
	assert_int_equal(guest_run_result(res.out, "l1_vmreads_cpuid"),
			 CPUID_N * 5);
	assert_int_equal(
		guest_run_nested(res.err, "reflected CPUID (10)", "l1_exits"),
		CPUID_N * 8);
	assert_int_equal(guest_run_nested(res.err, "evmcs_entries", NULL), 0);
	assert_int_equal(guest_run_nested(res.err, "evmcs_read_bytes", NULL),
			 0);
	cmd_result_free(&res);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(
			test_pv__one_l2_cpuid_exact_l1_exits_per_strategy),
		cmocka_unit_test(
			test_pv__every_guest_same_results_under_every_strategy),
		cmocka_unit_test(test_pv__l1_without_evmcs_is_trapped),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
