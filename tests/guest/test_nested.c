/* SPDX-License-Identifier: MIT */
/*
 * Whole-stack nested tests: build/nestvm runs l1-shim as L1 under L0 and a
 * guest as L2, which prints and exits as in the native l1-shim run; the
 * cpuid loop's exit multiplication is exactly what l1-shim's own per-exit
 * counts say; a guest that is no hypervisor runs under L0 as natively;
 * the end-of-run report (the per-level table and --json, read back with a
 * strict JSON reader of its own) holds the same numbers, to the cycle.
 * Host side; run from the top of the tree.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <ctype.h>
#include <dirent.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tests/lib/json_read.h"
#include "tests/lib/guest_run.h"
#include "tests/lib/run_cmd.h"

#ifndef NESTVM_DEFAULT_PATH
#define NESTVM_DEFAULT_PATH "build/nestvm"
#endif
#define L1_SHIM "build/l1-shim.elf"
#define EXPECTED_DIR "tests/guest/expected/"
#define ARGS_MAX 24
#define CPUID_N 1000ull

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
	guest_run_argv(argv, res);
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

/*
 * L2 under l1-shim under L0 prints the expected output and exits with
 * status, and both are those of the native l1-shim run (l1-shim on the
 * bare model) of the same command line.
 */
static void expect_as_native(const char *l2, const char *append,
			     const char *expected, int status)
{
	struct cmd_result nested = { 0 }, native = { 0 };
	char *want = guest_run_read_expected(expected);

	run_l1_shim(true, l2, append, &native);
	guest_run_expect(&native, want, status);
	run_l1_shim(false, l2, append, &nested);
	guest_run_expect(&nested, native.out, native.exit_code);
	/* The run's accounting closes every nested run, on stderr. */
	assert_non_null(strstr(nested.err, "nestvm: nested: world_switches "));
	cmd_result_free(&nested);
	cmd_result_free(&native);
	free(want);
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
	guest_run_expect(&nested, native.out, 0);
	assert_int_equal(guest_run_table(nested.err,
					 "reflected EXCEPTION_NMI (0) "
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
	assert_int_equal(guest_run_result(res.out, "cpuid_iterations"),
			 CPUID_N);
	n = guest_run_result(res.out, "l1_exits_cpuid");
	vmreads = guest_run_result(res.out, "l1_vmreads_cpuid");
	vmwrites = guest_run_result(res.out, "l1_vmwrites_cpuid");
	assert_int_equal(n, CPUID_N);
	assert_int_equal(vmreads % n, 0);
	assert_int_equal(vmwrites % n, 0);
	per_exit = 1 + 1 + vmreads / n + vmwrites / n;

	assert_int_equal(guest_run_table(res.err, "l2_exit CPUID (10)"),
			 CPUID_N);
	snprintf(key, sizeof(key), "%s count", reflected);
	assert_int_equal(guest_run_table(res.err, key), CPUID_N);
	snprintf(key, sizeof(key), "%s count %llu l1_exits", reflected,
		 CPUID_N);
	assert_int_equal(guest_run_table(res.err, key), CPUID_N * per_exit);
	/* The handler's CPUIDs, and the one l1-shim runs at setup. */
	assert_int_equal(guest_run_table(res.err, "l1_exit CPUID (10)"),
			 CPUID_N + 1);
	snprintf(key, sizeof(key), "%s count %llu l1_exits %llu world_switches",
		 reflected, CPUID_N, CPUID_N * per_exit);
	assert_int_equal(guest_run_table(res.err, key),
			 CPUID_N * (2 * per_exit + 2));
	snprintf(key, sizeof(key),
		 "%s count %llu l1_exits %llu world_switches %llu vmreads",
		 reflected, CPUID_N, CPUID_N * per_exit,
		 CPUID_N * (2 * per_exit + 2));
	assert_int_equal(guest_run_table(res.err, key), vmreads);
	snprintf(key, sizeof(key),
		 "%s count %llu l1_exits %llu world_switches %llu vmreads "
		 "%llu vmwrites",
		 reflected, CPUID_N, CPUID_N * per_exit,
		 CPUID_N * (2 * per_exit + 2), vmreads);
	assert_int_equal(guest_run_table(res.err, key), vmwrites);
	/* L2's RAM touched, one ept02 fill per page; nothing ept12 forbids. */
	assert_true(guest_run_table(res.err, "ept02_fills") > 0);
	assert_int_equal(guest_run_table(res.err, "ept_violations_reflected"),
			 0);
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
		assert_int_equal(guest_run_table(dirty.err, "nested_entries"),
				 guest_run_table(full.err, "nested_entries"));
		assert_int_equal(guest_run_table(dirty.err, "l1_vmwrites"),
				 guest_run_table(full.err, "l1_vmwrites"));
		assert_true(guest_run_table(dirty.err, "vmcs02_writes") <
			    guest_run_table(full.err, "vmcs02_writes"));
		cmd_result_free(&full);
		cmd_result_free(&dirty);
	}
}

/*
 * vmcs02 writes per L2 CPUID round trip. full: every field the merge
 * writes, 101 = 21 controls (VIRTUAL_PROCESSOR_ID among them: l1-shim
 * enables VPID, so L2 runs on its vpid02) + 21 hot (vmcs12's HOT fields L0
 * merges, EFER and PAT) + 37 rare guest fields + 22 host fields. dirty:
 * l1-shim's CPUID handler writes only GUEST_RIP (its one VMWRITE per
 * exit), a HOT field, so no group is dirty and only the 21 hot fields are
 * written.
 */
#define VMCS02_WRITES_FULL 101ull
#define VMCS02_WRITES_HOT 21ull

static void test_nested__prep_dirty_writes_21_not_101_per_cpuid(void **state)
{
	struct cmd_result full = { 0 }, dirty = { 0 };
	const char *line = "reflected CPUID (10)";

	(void)state;
	run_l1_shim_prep("full", "build/guests/cpuid_loop.elf", "stats -- 1000",
			 &full);
	run_l1_shim_prep("dirty", "build/guests/cpuid_loop.elf",
			 "stats -- 1000", &dirty);
	assert_int_equal(guest_run_result(full.out, "l1_vmwrites_cpuid"),
			 CPUID_N);
	assert_int_equal(guest_run_nested(full.err, line, "count"), CPUID_N);
	assert_int_equal(guest_run_nested(dirty.err, line, "count"), CPUID_N);
	assert_int_equal(guest_run_nested(full.err, line, "vmcs02_writes"),
			 CPUID_N * VMCS02_WRITES_FULL);
	assert_int_equal(guest_run_nested(dirty.err, line, "vmcs02_writes"),
			 CPUID_N * VMCS02_WRITES_HOT);
	/* Everything else a round trip costs is the same. */
	assert_int_equal(guest_run_nested(dirty.err, line, "l1_exits"),
			 guest_run_nested(full.err, line, "l1_exits"));
	assert_int_equal(guest_run_nested(dirty.err, line, "world_switches"),
			 guest_run_nested(full.err, line, "world_switches"));
	cmd_result_free(&full);
	cmd_result_free(&dirty);
}

/* ---- L1's VMCS access: trap, shadow, shadow-all --------------------------------- */

/* l1-shim with l2 under L0, with --vmcs-access mode. */
static void run_l1_shim_access(const char *mode, const char *l2,
			       const char *append, struct cmd_result *res)
{
	const char *args[] = {
		"--vmcs-access", mode, L1_SHIM,
		"--module",	 l2,   append ? "--append" : NULL,
		append,		 NULL
	};

	run_nestvm(false, args, res);
}

/*
 * One L2 CPUID under l1-shim, per strategy. l1-shim's CPUID handler
 * (docs/l1-shim.md) reads VM_EXIT_REASON, EXIT_QUALIFICATION and
 * VM_EXIT_INSTRUCTION_LEN (SH_RO in arch/vmcs_fields.def), GUEST_RIP and
 * GUEST_INTERRUPTIBILITY_INFO (SH_RW), and writes GUEST_RIP (SH_RW). With
 * trap each of the six exits: 8 L1 exits with the handler's CPUID and the
 * VMRESUME. With shadow all six are in the hot set and none exits: 2 L1
 * exits; shadow-all shadows a superset: 2 as well. World switches: two per
 * L1 exit, plus the L2 exit and the entry to L2.
 *
 * L0's syncs per round trip: at the VMRESUME it reads back every field L1
 * may write in the shadow VMCS, at the reflection it writes every field L1
 * may read there. shadow: the 15 SH_RW fields L0 offers (the 17 of the
 * table less GUEST_INTR_STATUS and TPR_THRESHOLD, whose features are not
 * offered), and those 15 + the 9 SH_RO fields. shadow-all: every one of
 * the 121 fields L0 offers (the VMX-preemption timer value among them),
 * both ways (IA32_VMX_MISC[29] is offered, so
 * the exit-information fields are writable too).
 */
static const struct access_case {
	const char *mode;
	unsigned long long l1_exits, world_switches;
	unsigned long long vmreads, vmwrites; /* trapped */
	unsigned long long shadow_vmreads, shadow_vmwrites;
	unsigned long long sync_vmreads, sync_vmwrites;
} access_cases[] = {
	{ "trap", 8, 18, 5, 1, 0, 0, 0, 0 },
	{ "shadow", 2, 6, 0, 0, 5, 1, 15, 24 },
	{ "shadow-all", 2, 6, 0, 0, 5, 1, 121, 121 },
};

static void test_nested__vmcs_access_exact_l1_exits_per_l2_cpuid(void **state)
{
	const char *line = "reflected CPUID (10)";

	(void)state;
	for (size_t k = 0; k < sizeof(access_cases) / sizeof(access_cases[0]);
	     k++) {
		const struct access_case *c = &access_cases[k];
		struct cmd_result res = { 0 };
		char want[64];

		run_l1_shim_access(c->mode, "build/guests/cpuid_loop.elf",
				   "stats -- 1000", &res);
		assert_int_equal(res.exit_code, 0);
		snprintf(want, sizeof(want), "nestvm: nested: vmcs_access %s\n",
			 c->mode);
		assert_non_null(strstr(res.err, want));
		/* l1-shim counts the accesses it makes, trapped or not. */
		assert_int_equal(guest_run_result(res.out, "l1_vmreads_cpuid"),
				 CPUID_N * 5);
		assert_int_equal(guest_run_result(res.out, "l1_vmwrites_cpuid"),
				 CPUID_N);
		assert_int_equal(guest_run_nested(res.err, line, "count"),
				 CPUID_N);
		assert_int_equal(guest_run_nested(res.err, line, "l1_exits"),
				 CPUID_N * c->l1_exits);
		assert_int_equal(
			guest_run_nested(res.err, line, "world_switches"),
			CPUID_N * c->world_switches);
		assert_int_equal(guest_run_nested(res.err, line, "vmreads"),
				 CPUID_N * c->vmreads);
		assert_int_equal(guest_run_nested(res.err, line, "vmwrites"),
				 CPUID_N * c->vmwrites);
		assert_int_equal(
			guest_run_nested(res.err, line, "shadow_vmreads"),
			CPUID_N * c->shadow_vmreads);
		assert_int_equal(
			guest_run_nested(res.err, line, "shadow_vmwrites"),
			CPUID_N * c->shadow_vmwrites);
		assert_int_equal(
			guest_run_nested(res.err, line, "sync_vmreads"),
			CPUID_N * c->sync_vmreads);
		assert_int_equal(
			guest_run_nested(res.err, line, "sync_vmwrites"),
			CPUID_N * c->sync_vmwrites);
		/* The handler's CPUIDs, and the one l1-shim runs at setup. */
		assert_int_equal(guest_run_table(res.err, "l1_exit CPUID (10)"),
				 CPUID_N + 1);
		assert_int_equal(guest_run_table(res.err, "l2_exit CPUID (10)"),
				 CPUID_N);
		cmd_result_free(&res);
	}
}

/*
 * Every workload gives L1 and L2 the same guest-visible results under
 * every strategy: the same output (RESULT lines in modeled cycles aside),
 * exit status, nested entries, L2 exits and L2 instructions. L1 retires
 * exactly one more instruction per shadowed VMREAD/VMWRITE (it completes
 * in L1 instead of being emulated by L0 after an exit), and every access
 * is either trapped or shadowed.
 */
static void expect_same_under_every_access(const char *const args[])
{
	static const char *const modes[] = { "trap", "shadow", "shadow-all" };
	struct cmd_result res[3] = { { 0 } };
	char *out[3];

	for (size_t m = 0; m < 3; m++) {
		const char *argv[ARGS_MAX] = { "--vmcs-access", modes[m] };
		size_t n = 2;

		for (size_t i = 0; args[i]; i++) {
			assert_true(n < ARGS_MAX - 1);
			argv[n++] = args[i];
		}
		argv[n] = NULL;
		run_nestvm(false, argv, &res[m]);
		out[m] = without_cycle_lines(res[m].out);
	}
	for (size_t m = 1; m < 3; m++) {
		assert_string_equal(out[m], out[0]);
		assert_int_equal(res[m].exit_code, res[0].exit_code);
		assert_int_equal(guest_run_table(res[m].err, "nested_entries"),
				 guest_run_table(res[0].err, "nested_entries"));
		assert_int_equal(
			guest_run_table(res[m].err, "nested_entry_failures"),
			guest_run_table(res[0].err, "nested_entry_failures"));
		assert_int_equal(guest_run_table(res[m].err, "insns_l2"),
				 guest_run_table(res[0].err, "insns_l2"));
		assert_int_equal(
			guest_run_table(res[m].err, "vm_exits") -
				guest_run_table(res[m].err, "l1_vmreads") -
				guest_run_table(res[m].err, "l1_vmwrites"),
			guest_run_table(res[0].err, "vm_exits") -
				guest_run_table(res[0].err, "l1_vmreads") -
				guest_run_table(res[0].err, "l1_vmwrites"));
		assert_int_equal(guest_run_table(res[m].err, "l1_vmreads") +
					 guest_run_table(res[m].err,
							 "l1_shadow_vmreads"),
				 guest_run_table(res[0].err, "l1_vmreads"));
		assert_int_equal(guest_run_table(res[m].err, "l1_vmwrites") +
					 guest_run_table(res[m].err,
							 "l1_shadow_vmwrites"),
				 guest_run_table(res[0].err, "l1_vmwrites"));
		assert_int_equal(guest_run_table(res[m].err, "insns_l1"),
				 guest_run_table(res[0].err, "insns_l1") +
					 guest_run_table(res[m].err,
							 "l1_shadow_vmreads") +
					 guest_run_table(res[m].err,
							 "l1_shadow_vmwrites"));
	}
	/* trap shadows nothing and syncs nothing. */
	assert_int_equal(guest_run_table(res[0].err, "l1_shadow_vmreads"), 0);
	assert_int_equal(guest_run_table(res[0].err, "shadow_sync_vmwrites"),
			 0);
	for (size_t m = 0; m < 3; m++) {
		free(out[m]);
		cmd_result_free(&res[m]);
	}
}

static void test_nested__vmcs_access_every_guest_same_results(void **state)
{
	static const struct {
		const char *elf, *append;
	} guests[] = {
		{ "build/guests/hello.elf", "-- hello world" },
		{ "build/guests/tests/alu.elf", NULL },
		{ "build/guests/tests/format.elf", NULL },
		{ "build/guests/tests/exceptions.elf",
		  "exc=de,ud,bp,pf,gp stats --" },
		{ "build/guests/tests/exitcode.elf", "-- 42" },
		{ "build/guests/cpuid_loop.elf", "stats -- 1000" },
	};

	(void)state;
	for (size_t k = 0; k < sizeof(guests) / sizeof(guests[0]); k++) {
		const char *args[] = {
			L1_SHIM,	  "--module",
			guests[k].elf,	  guests[k].append ? "--append" : NULL,
			guests[k].append, NULL
		};

		expect_same_under_every_access(args);
	}
}

/* Third-party-style L1s (tests/vmx, docs/vmx-tests.md): field round
 * trips, VMfail cases, entry checks and exits read the same whether
 * their VMREAD/VMWRITE exit or not. */
static void test_nested__vmcs_access_vmx_programs_same_results(void **state)
{
	static const char *const progs[] = {
		"build/tests/vmx/vmx_fields.elf",
		"build/tests/vmx/vmx_insn.elf",
		"build/tests/vmx/vmx_entry.elf",
		"build/tests/vmx/vmx_exits.elf",
	};

	(void)state;
	for (size_t k = 0; k < sizeof(progs) / sizeof(progs[0]); k++) {
		const char *args[] = { progs[k], NULL };

		expect_same_under_every_access(args);
	}
}

/* bt charges the profile's software-VMM costs: a profile without them
 * (the default, nehalem) is refused with one line, nothing run
 * (tests/guest/test_vmcs_access_bt.c runs it on p4-prescott). */
static void
test_nested__vmcs_access_bt_without_charges_one_error_line_125(void **state)
{
	const char *args[] = { "--vmcs-access", "bt", L1_SHIM, NULL };
	struct cmd_result res = { 0 };

	(void)state;
	run_nestvm(false, args, &res);
	assert_int_equal(res.exit_code, 125);
	assert_string_equal(res.out, "");
	assert_non_null(strstr(res.err, "nestvm: --vmcs-access bt: profile "
					"nehalem gives no software-VMM "
					"charges\n"));
	assert_ptr_equal(strchr(res.err, '\n'), res.err + strlen(res.err) - 1);
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
	entries = guest_run_table(res.err, "vm_entries");
	exits = guest_run_table(res.err, "vm_exits");
	assert_int_equal(guest_run_table(res.err, "world_switches"),
			 entries + exits);
	assert_int_equal(entries, exits);
	assert_int_equal(guest_run_table(res.err, "nested_vmfails"), 0);
	assert_int_equal(guest_run_table(res.err, "nested_entry_failures"), 0);
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
	guest_run_expect(&nested, want, 0);
	assert_true(guest_run_table(nested.err, exit_key) > 0);
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
	char *want = guest_run_read_expected("hello");

	(void)state;
	run_nestvm(true, args, &native);
	guest_run_expect(&native, want, 0);
	run_nestvm(false, args, &nested);
	guest_run_expect(&nested, want, 0);
	assert_int_equal(guest_run_table(nested.err, "nested_entries"), 0);
	assert_int_equal(guest_run_table(nested.err, "insns_l2"), 0);
	assert_true(guest_run_table(nested.err, "l1_exit IO_INSTRUCTION (30)") >
		    0);
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
	guest_run_expect(&nested, native.out, 126);
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
	assert_int_equal(guest_run_table(res.err, "insns_l1") +
				 guest_run_table(res.err, "insns_l2"),
			 50000);
	cmd_result_free(&res);
}

/* ---- the report: table and --json ---------------------------------------------- */

static void test_js__reader_rejects_what_rfc_8259_forbids(void **state)
{
	static const char *const bad[] = {
		"",	     "{",     "{\"a\":}",   "{\"a\":1,}",
		"[1 2]",     "{a:1}", "01",	    "1.",
		"\"\\x\"",   "tru",   "{\"a\":1}x", "\"a\nb\"",
		"{\"a\" 1}", "[1,]",  "-",	    "1e",
	};
	static const char *const good[] = {
		"{}",
		"[]",
		"0",
		"-1.5e+3",
		"{\"a\":[1,{\"b\":\"x\\\"\\u00e9\"}],\"c\":true,\"d\":null}",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (js_valid(bad[i]))
			fail_msg("accepted '%s'", bad[i]);
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		if (!js_valid(good[i]))
			fail_msg("refused '%s'", good[i]);
	assert_int_equal(js_u64("{\"a\":{\"b\":[2],\"c\":7}}", "a.c"), 7);
	assert_null(js_find("{\"a\":{\"b\":1}}", "a.x"));
}

/* A private directory for report files (removed by rm_dir()). */
static void make_dir(char *dir, size_t len)
{
	const char *tmp = getenv("TMPDIR");

	snprintf(dir, len, "%s/nestvm-report-XXXXXX",
		 tmp && *tmp ? tmp : P_tmpdir);
	if (!mkdtemp(dir))
		fail_msg("cannot create %s", dir);
}

/* How many entries dir has, "." and ".." aside. */
static int dir_entries(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;

	assert_non_null(d);
	while ((e = readdir(d)))
		n += strcmp(e->d_name, ".") && strcmp(e->d_name, "..");
	closedir(d);
	return n;
}

static void rm_dir(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char path[512];

	assert_non_null(d);
	while ((e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		unlink(path);
	}
	closedir(d);
	rmdir(dir);
}

/* Runs nestvm with args and --json FILE, and returns the report
 * (malloc'd), which must be well-formed JSON. */
static char *run_with_json(bool native, const char *const args[],
			   const char *file, struct cmd_result *res)
{
	const char *argv[ARGS_MAX];
	size_t n = 0;
	char *doc;

	for (; args[n]; n++) {
		assert_true(n < ARGS_MAX - 3);
		argv[n] = args[n];
	}
	argv[n++] = "--json";
	argv[n++] = file;
	argv[n] = NULL;
	run_nestvm(native, argv, res);
	doc = read_file(file);
	if (!js_valid(doc))
		fail_msg("--json wrote no valid JSON:\n%s", doc);
	return doc;
}

/* The Nehalem profile (profiles/nehalem.profile, the default): a VM exit
 * costs 952 cycles and a VM entry none (the round trip is charged at the
 * exit), an instruction 1. */
#define NEHALEM_VM_EXIT 952ull
#define NEHALEM_VM_ENTRY 0ull

/*
 * One L2 CPUID under l1-shim, in the JSON report: 8 L1 exits (5 VMREADs,
 * 1 VMWRITE, its handler's CPUID, the VMRESUME; see the test above) and
 * 18 world switches; 9 of those are VM exits, the rest entries. Its
 * 23,604 modeled cycles split as Turtles' Figure 10 does: 8,568 in world
 * switches (9 x 952), 162 in L1 (its 162 instructions at CPI 1; each of
 * its VMX instructions exits), and 14,874 in L0's VMX operations (the
 * reflection, the 101 vmcs02 VMWRITEs of --prep full at 44 each, the
 * emulation of
 * L1's VMX instructions), L0's C handlers at 0. The guest, timing the
 * loop with RDTSC, sees the same clock: between cycles and cycles plus
 * L2's own time, per iteration.
 */
#define CPUID_ROUND_TRIP_CYCLES 23604ull
#define CPUID_ROUND_TRIP_L0 14874ull
#define CPUID_ROUND_TRIP_L1 162ull

static void test_report__json_cpuid_reflected_exact_breakdown_sums(void **state)
{
	static const char *const args[] = {
		L1_SHIM,    "--module",	     "build/guests/cpuid_loop.elf",
		"--append", "stats -- 1000", NULL
	};
	struct cmd_result res = { 0 };
	unsigned long long cycles, sw, l0, l0h, l1, l2, per_iter;
	char dir[256], file[300], *doc;

	(void)state;
	make_dir(dir, sizeof(dir));
	snprintf(file, sizeof(file), "%s/report.json", dir);
	doc = run_with_json(false, args, file, &res);
	assert_int_equal(res.exit_code, 0);
	assert_true(js_string_is(doc, "mode", "nested"));
	assert_true(js_string_is(doc, "profile", "nehalem"));
	assert_int_equal(js_u64(doc, "exit_status"), 0);

	assert_int_equal(js_u64(doc, "reflected.CPUID.reason"), 10);
	assert_int_equal(js_u64(doc, "reflected.CPUID.count"), CPUID_N);
	assert_int_equal(js_u64(doc, "reflected.CPUID.l1_exits"), CPUID_N * 8);
	assert_int_equal(js_u64(doc, "reflected.CPUID.world_switches"),
			 CPUID_N * 18);
	assert_int_equal(js_u64(doc, "reflected.CPUID.vmreads"), CPUID_N * 5);
	assert_int_equal(js_u64(doc, "reflected.CPUID.vmwrites"), CPUID_N);
	cycles = js_u64(doc, "reflected.CPUID.cycles");
	assert_int_equal(cycles, CPUID_N * CPUID_ROUND_TRIP_CYCLES);

	sw = js_u64(doc, "reflected.CPUID.breakdown.switches");
	l0 = js_u64(doc, "reflected.CPUID.breakdown.l0");
	l0h = js_u64(doc, "reflected.CPUID.breakdown.l0_handlers");
	l1 = js_u64(doc, "reflected.CPUID.breakdown.l1");
	assert_int_equal(sw + l0 + l0h + l1, cycles);
	assert_int_equal(
		sw, CPUID_N * (9 * NEHALEM_VM_EXIT + 9 * NEHALEM_VM_ENTRY));
	assert_int_equal(l0, CPUID_N * CPUID_ROUND_TRIP_L0);
	assert_int_equal(l0h, 0);
	assert_int_equal(l1, CPUID_N * CPUID_ROUND_TRIP_L1);
	assert_int_equal(l1, js_u64(doc, "reflected.CPUID.l1_insns"));

	/* The guest's own clock brackets the round trip. */
	l2 = js_u64(doc, "reflected.CPUID.l2_cycles");
	per_iter = guest_run_result(res.out, "cpuid_cycles_per_iter");
	assert_true(per_iter >= cycles / CPUID_N);
	assert_true(per_iter <= (cycles + l2) / CPUID_N);

	/* The stderr table says the same. */
	assert_int_equal(
		guest_run_nested(res.err, "reflected CPUID (10)", "cycles"),
		cycles);
	assert_int_equal(
		guest_run_nested(res.err, "reflected CPUID (10)", "l1_exits"),
		js_u64(doc, "reflected.CPUID.l1_exits"));
	assert_non_null(strstr(
		res.err, "nestvm:   CPUID (10)                 1000      "
			 "8.00     18.00     5.00     1.00    23604.0     "
			 "  8568.0    14874.0      162.0"));
	free(doc);
	cmd_result_free(&res);
	rm_dir(dir);
}

/*
 * --vmcs-access shadow in the JSON report: the strategy, and L1's
 * VMREAD/VMWRITE split into trapped and shadowed (per run and per CPUID
 * round trip: all 5 and 1 shadowed), L0's sync accesses (15 and 24 per
 * round trip, see access_cases), and the breakdown still adding up, with
 * L1's 168 instructions per round trip (162 + its 6 shadowed accesses).
 */
static void test_report__json_shadow_splits_trapped_shadowed_sync(void **state)
{
	static const char *const args[] = { "--vmcs-access",
					    "shadow",
					    L1_SHIM,
					    "--module",
					    "build/guests/cpuid_loop.elf",
					    "--append",
					    "stats -- 1000",
					    NULL };
	struct cmd_result res = { 0 };
	unsigned long long cycles;
	char dir[256], file[300], *doc;

	(void)state;
	make_dir(dir, sizeof(dir));
	snprintf(file, sizeof(file), "%s/report.json", dir);
	doc = run_with_json(false, args, file, &res);
	assert_int_equal(res.exit_code, 0);
	assert_true(js_string_is(doc, "vmcs_access", "shadow"));
	assert_int_equal(js_u64(doc, "levels.L1.vmreads_trapped"),
			 guest_run_table(res.err, "l1_vmreads"));
	assert_int_equal(js_u64(doc, "levels.L1.vmreads_shadowed"),
			 guest_run_table(res.err, "l1_shadow_vmreads"));
	assert_int_equal(js_u64(doc, "levels.L1.vmwrites_shadowed"),
			 guest_run_table(res.err, "l1_shadow_vmwrites"));
	assert_int_equal(js_u64(doc, "levels.L1.vmreads"),
			 js_u64(doc, "levels.L1.vmreads_trapped") +
				 js_u64(doc, "levels.L1.vmreads_shadowed"));
	assert_int_equal(js_u64(doc, "levels.L0.shadow_sync_vmreads"),
			 guest_run_table(res.err, "shadow_sync_vmreads"));
	assert_int_equal(js_u64(doc, "levels.L0.shadow_sync_vmwrites"),
			 guest_run_table(res.err, "shadow_sync_vmwrites"));

	assert_int_equal(js_u64(doc, "reflected.CPUID.l1_exits"), CPUID_N * 2);
	assert_int_equal(js_u64(doc, "reflected.CPUID.vmreads"), CPUID_N * 5);
	assert_int_equal(js_u64(doc, "reflected.CPUID.vmreads_trapped"), 0);
	assert_int_equal(js_u64(doc, "reflected.CPUID.vmreads_shadowed"),
			 CPUID_N * 5);
	assert_int_equal(js_u64(doc, "reflected.CPUID.vmwrites_shadowed"),
			 CPUID_N);
	assert_int_equal(js_u64(doc, "reflected.CPUID.shadow_sync_vmreads"),
			 CPUID_N * 15);
	assert_int_equal(js_u64(doc, "reflected.CPUID.shadow_sync_vmwrites"),
			 CPUID_N * 24);
	cycles = js_u64(doc, "reflected.CPUID.cycles");
	assert_int_equal(js_u64(doc, "reflected.CPUID.breakdown.switches") +
				 js_u64(doc, "reflected.CPUID.breakdown.l0") +
				 js_u64(doc, "reflected.CPUID.breakdown.l1"),
			 cycles);
	assert_int_equal(js_u64(doc, "reflected.CPUID.breakdown.switches"),
			 CPUID_N * 3 * NEHALEM_VM_EXIT);
	assert_int_equal(js_u64(doc, "reflected.CPUID.l1_insns"),
			 CPUID_N * 168);
	free(doc);
	cmd_result_free(&res);
	rm_dir(dir);
}

/* --prep dirty changes one part of the round trip: L0's, by the 79
 * vmcs02 VMWRITEs it no longer does (100 - 21), at nehalem's 44 cycles
 * each; switches and L1 are the same. */
#define NEHALEM_VMWRITE 44ull

static void test_report__json_prep_dirty_saves_l0_vmwrite_cycles(void **state)
{
	static const char *const args[] = { "--prep",
					    "dirty",
					    L1_SHIM,
					    "--module",
					    "build/guests/cpuid_loop.elf",
					    "--append",
					    "stats -- 1000",
					    NULL };
	struct cmd_result res = { 0 };
	char dir[256], file[300], *doc;
	unsigned long long saved =
		(VMCS02_WRITES_FULL - VMCS02_WRITES_HOT) * NEHALEM_VMWRITE;

	(void)state;
	make_dir(dir, sizeof(dir));
	snprintf(file, sizeof(file), "%s/dirty.json", dir);
	doc = run_with_json(false, args, file, &res);
	assert_int_equal(res.exit_code, 0);
	assert_int_equal(js_u64(doc, "reflected.CPUID.vmcs02_writes"),
			 CPUID_N * VMCS02_WRITES_HOT);
	assert_int_equal(js_u64(doc, "reflected.CPUID.breakdown.l0"),
			 CPUID_N * (CPUID_ROUND_TRIP_L0 - saved));
	assert_int_equal(js_u64(doc, "reflected.CPUID.breakdown.switches"),
			 CPUID_N * 9 * NEHALEM_VM_EXIT);
	assert_int_equal(js_u64(doc, "reflected.CPUID.breakdown.l1"),
			 CPUID_N * CPUID_ROUND_TRIP_L1);
	assert_int_equal(js_u64(doc, "reflected.CPUID.cycles"),
			 CPUID_N * (CPUID_ROUND_TRIP_CYCLES - saved));
	free(doc);
	cmd_result_free(&res);
	rm_dir(dir);
}

/* The levels partition the run: L0's VMX operations, L1 and L2 running,
 * and world switches add up to every modeled cycle; L1's and L2's
 * instructions to every instruction; exits match the table's lines. */
static void test_report__json_levels_add_up_to_run_totals(void **state)
{
	static const char *const args[] = {
		L1_SHIM,    "--module",	     "build/guests/cpuid_loop.elf",
		"--append", "stats -- 1000", NULL
	};
	struct cmd_result res = { 0 };
	char dir[256], file[300], *doc;

	(void)state;
	make_dir(dir, sizeof(dir));
	snprintf(file, sizeof(file), "%s/report.json", dir);
	doc = run_with_json(false, args, file, &res);
	assert_int_equal(res.exit_code, 0);
	assert_int_equal(js_u64(doc, "levels.L0.cycles") +
				 js_u64(doc, "levels.L1.cycles") +
				 js_u64(doc, "levels.L2.cycles") +
				 js_u64(doc, "switches.cycles"),
			 js_u64(doc, "cycles"));
	assert_int_equal(js_u64(doc, "levels.L0.cycles_handlers"), 0);
	assert_int_equal(js_u64(doc, "levels.L1.insns") +
				 js_u64(doc, "levels.L2.insns"),
			 js_u64(doc, "insns"));
	assert_int_equal(js_u64(doc, "levels.L1.insns"),
			 guest_run_table(res.err, "insns_l1"));
	assert_int_equal(js_u64(doc, "levels.L2.exits_by_reason.CPUID"),
			 CPUID_N);
	assert_int_equal(js_u64(doc, "levels.L1.exits_by_reason.CPUID"),
			 CPUID_N + 1);
	assert_int_equal(js_u64(doc, "levels.L1.vmreads_trapped"),
			 guest_run_table(res.err, "l1_vmreads"));
	assert_int_equal(js_u64(doc, "levels.L1.vmwrites_trapped"),
			 guest_run_table(res.err, "l1_vmwrites"));
	assert_int_equal(js_u64(doc, "levels.L2.ept02_fills"),
			 guest_run_table(res.err, "ept02_fills"));
	assert_int_equal(js_u64(doc, "levels.L2.ept_violations_reflected"), 0);
	assert_int_equal(js_u64(doc, "levels.L2.exits_reflected") +
				 js_u64(doc, "levels.L2.exits_handled_by_l0"),
			 js_u64(doc, "levels.L2.exits"));
	assert_int_equal(js_u64(doc, "levels.L0.exits_handled"),
			 js_u64(doc, "levels.L1.exits") +
				 js_u64(doc, "levels.L2.exits"));
	assert_int_equal(js_u64(doc, "switches.world_switches"),
			 guest_run_table(res.err, "world_switches"));
	assert_int_equal(js_u64(doc, "levels.L0.vmcs02_writes"),
			 guest_run_table(res.err, "vmcs02_writes"));
	/* The CPUID exits and the OUTs that print and end the run. */
	assert_int_equal(js_count(doc, "reflected"), 2);
	free(doc);
	cmd_result_free(&res);
	rm_dir(dir);
}

/* A native run's report: the image is L0 on the machine, all of the run's
 * instructions and cycles are its own, and nothing is reflected. */
static void test_report__json_native_run_has_level_l0_only(void **state)
{
	static const char *const args[] = { "build/guests/hello.elf",
					    "--append", "hello world", NULL };
	struct cmd_result res = { 0 };
	char dir[256], file[300], *doc;

	(void)state;
	make_dir(dir, sizeof(dir));
	snprintf(file, sizeof(file), "%s/native.json", dir);
	doc = run_with_json(true, args, file, &res);
	assert_int_equal(res.exit_code, 0);
	assert_true(js_string_is(doc, "mode", "native"));
	assert_int_equal(js_u64(doc, "exit_status"), 0);
	assert_true(js_u64(doc, "insns") > 0);
	assert_int_equal(js_u64(doc, "levels.L0.insns"), js_u64(doc, "insns"));
	assert_int_equal(js_u64(doc, "levels.L0.cycles"),
			 js_u64(doc, "cycles"));
	assert_int_equal(js_count(doc, "levels"), 1);
	assert_null(js_find(doc, "switches"));
	assert_int_equal(js_count(doc, "reflected"), 0);
	/* No table for a native run. */
	assert_null(strstr(res.err, "per level"));
	free(doc);
	cmd_result_free(&res);
	rm_dir(dir);
}

/* l1-shim on the bare model is L0; its guest's exits are L1's. */
static void test_report__json_native_l1_shim_guest_is_level_l1(void **state)
{
	static const char *const args[] = {
		L1_SHIM,    "--module",	     "build/guests/cpuid_loop.elf",
		"--append", "stats -- 1000", NULL
	};
	struct cmd_result res = { 0 };
	char dir[256], file[300], *doc;

	(void)state;
	make_dir(dir, sizeof(dir));
	snprintf(file, sizeof(file), "%s/native.json", dir);
	doc = run_with_json(true, args, file, &res);
	assert_int_equal(res.exit_code, 0);
	assert_int_equal(js_u64(doc, "levels.L1.exits_by_reason.CPUID"),
			 CPUID_N);
	assert_int_equal(
		js_u64(doc, "levels.L0.vmreads"),
		guest_run_result(res.out, "l1_vmreads_cpuid") +
			guest_run_result(res.out, "l1_vmreads_io_instruction"));
	assert_int_equal(js_u64(doc, "levels.L0.cycles") +
				 js_u64(doc, "levels.L1.cycles") +
				 js_u64(doc, "switches.cycles"),
			 js_u64(doc, "cycles"));
	assert_null(js_find(doc, "levels.L0.insns"));
	assert_int_equal(js_count(doc, "reflected"), 0);
	free(doc);
	cmd_result_free(&res);
	rm_dir(dir);
}

/* --json replaces FILE whole and leaves nothing else behind; a run that
 * ends on --max-insns still reports, with its status. */
static void test_report__json_replaces_file_status_124_recorded(void **state)
{
	static const char *const args[] = {
		L1_SHIM,       "--module", "build/guests/cpuid_loop.elf",
		"--max-insns", "50000",	   NULL
	};
	struct cmd_result res = { 0 };
	char dir[256], file[300], *doc;
	FILE *f;

	(void)state;
	make_dir(dir, sizeof(dir));
	snprintf(file, sizeof(file), "%s/report.json", dir);
	f = fopen(file, "w");
	assert_non_null(f);
	fputs("old contents, not JSON\n", f);
	fclose(f);
	doc = run_with_json(false, args, file, &res);
	assert_int_equal(res.exit_code, 124);
	assert_int_equal(js_u64(doc, "exit_status"), 124);
	assert_int_equal(js_u64(doc, "insns"), 50000);
	assert_int_equal(dir_entries(dir), 1);
	free(doc);
	cmd_result_free(&res);
	rm_dir(dir);
}

/* A --json path that cannot be created is one line and status 125
 * before the guest runs (nothing on stdout), and no file is left. */
static void test_report__json_bad_path_one_error_before_run(void **state)
{
	struct cmd_result res = { 0 };
	char dir[256], file[300], want[700];
	const char *args[] = { "build/guests/hello.elf", "--json", file, NULL };

	(void)state;
	make_dir(dir, sizeof(dir));
	snprintf(file, sizeof(file), "%s/no-such-dir/report.json", dir);
	run_nestvm(false, args, &res);
	snprintf(want, sizeof(want),
		 "nestvm: --json: cannot create '%s': No such file or "
		 "directory\n",
		 file);
	assert_string_equal(res.err, want);
	assert_string_equal(res.out, "");
	assert_int_equal(res.exit_code, 125);
	cmd_result_free(&res);

	/* A directory is no file to write. */
	snprintf(file, sizeof(file), "%s", dir);
	run_nestvm(true, args, &res);
	snprintf(want, sizeof(want), "nestvm: --json: '%s' is a directory\n",
		 dir);
	assert_string_equal(res.err, want);
	assert_string_equal(res.out, "");
	assert_int_equal(res.exit_code, 125);
	assert_int_equal(dir_entries(dir), 0);
	cmd_result_free(&res);
	rm_dir(dir);
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
			test_nested__prep_dirty_writes_21_not_101_per_cpuid),
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
		cmocka_unit_test(
			test_nested__vmcs_access_exact_l1_exits_per_l2_cpuid),
		cmocka_unit_test(
			test_nested__vmcs_access_every_guest_same_results),
		cmocka_unit_test(
			test_nested__vmcs_access_vmx_programs_same_results),
		cmocka_unit_test(
			test_nested__vmcs_access_bt_without_charges_one_error_line_125),
		cmocka_unit_test(test_js__reader_rejects_what_rfc_8259_forbids),
		cmocka_unit_test(
			test_report__json_cpuid_reflected_exact_breakdown_sums),
		cmocka_unit_test(
			test_report__json_prep_dirty_saves_l0_vmwrite_cycles),
		cmocka_unit_test(
			test_report__json_shadow_splits_trapped_shadowed_sync),
		cmocka_unit_test(test_report__json_levels_add_up_to_run_totals),
		cmocka_unit_test(
			test_report__json_native_run_has_level_l0_only),
		cmocka_unit_test(
			test_report__json_native_l1_shim_guest_is_level_l1),
		cmocka_unit_test(
			test_report__json_replaces_file_status_124_recorded),
		cmocka_unit_test(
			test_report__json_bad_path_one_error_before_run),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
