/* SPDX-License-Identifier: MIT */
/*
 * Whole-stack tests of ept02 under l1-shim under L0, in both vmcs02
 * preparations (--prep full, dirty) and both coherence modes
 * (--ept-coherence invept, wp): hello, cpuid_loop and pagetouch print the
 * same as L2 in all four; hidden faults are the pages L2 touches, ept02's
 * memory grows with them and not with ept12; an ept12 change made while
 * L2 runs (pagetouch's swap) costs INVEPT drops or write-protection faults
 * but never output. Host side; run from the top of the tree.
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
#define PAGETOUCH "build/guests/pagetouch.elf"
#define CPUID_LOOP "build/guests/cpuid_loop.elf"
#define TIMEOUT_S 300
#define ARGS_MAX 24
#define CPUID_N 1000ull
#define PAGES_PER_PT 512ull /* 4 KiB leaves under one ept02 page table */

static const struct mode {
	const char *prep, *coherence;
} modes[] = {
	{ "full", "invept" },
	{ "full", "wp" },
	{ "dirty", "invept" },
	{ "dirty", "wp" },
};
#define NR_MODES (sizeof(modes) / sizeof(modes[0]))

static bool is_wp(const struct mode *m)
{
	return !strcmp(m->coherence, "wp");
}

/*
 * nestvm run [--native] [--prep P --ept-coherence C] [--mem M] l1-shim
 * --module l2 --append append. mode NULL: the native l1-shim run.
 */
static void run_mode(const struct mode *m, const char *mem, const char *l2,
		     const char *append, struct cmd_result *res)
{
	const char *argv[ARGS_MAX] = { NESTVM_DEFAULT_PATH, "run" };
	size_t n = 2;

	if (!m) {
		argv[n++] = "--native";
	} else {
		argv[n++] = "--prep";
		argv[n++] = m->prep;
		argv[n++] = "--ept-coherence";
		argv[n++] = m->coherence;
	}
	if (mem) {
		argv[n++] = "--mem";
		argv[n++] = mem;
	}
	argv[n++] = L1_SHIM;
	argv[n++] = "--module";
	argv[n++] = l2;
	argv[n++] = "--append";
	argv[n++] = append;
	argv[n] = NULL;
	guest_run_argv(argv, res);
}

/* stdout without the lines that hold modeled cycles (the RDTSC-timed
 * RESULT lines, which differ with the preparation's cost). */
static char *without_cycle_lines(const char *out)
{
	char *copy = calloc(1, strlen(out) + 1), *w = copy;

	assert_non_null(copy);
	for (const char *line = out; *line;) {
		const char *nl = strchr(line, '\n');
		size_t len = nl ? (size_t)(nl - line) + 1 : strlen(line);
		char buf[256];

		snprintf(buf, sizeof(buf), "%.*s", (int)len, line);
		if (!strstr(buf, "cycles")) {
			memcpy(w, line, len);
			w += len;
		}
		line += len;
	}
	return copy;
}

/* ---- identical L2 output in all four modes ---------------------------------- */

static void expect_same_output(const char *l2, const char *append, int status)
{
	struct cmd_result native = { 0 };
	char *want;

	run_mode(NULL, NULL, l2, append, &native);
	assert_int_equal(native.exit_code, status);
	want = without_cycle_lines(native.out);
	for (size_t k = 0; k < NR_MODES; k++) {
		struct cmd_result res = { 0 };
		char *got;

		run_mode(&modes[k], NULL, l2, append, &res);
		got = without_cycle_lines(res.out);
		if (strcmp(got, want) || res.exit_code != status)
			print_message("[ %s/%s ]\n%s[ stderr ]\n%s\n",
				      modes[k].prep, modes[k].coherence,
				      res.out, res.err);
		assert_string_equal(got, want);
		assert_int_equal(res.exit_code, status);
		free(got);
		cmd_result_free(&res);
	}
	free(want);
	cmd_result_free(&native);
}

static void test_nested_mmu__hello_same_output_in_all_four_modes(void **state)
{
	(void)state;
	expect_same_output("build/guests/hello.elf", "-- hello world", 0);
}

static void
test_nested_mmu__cpuid_loop_same_output_in_all_four_modes(void **state)
{
	(void)state;
	expect_same_output(CPUID_LOOP, "-- 1000", 0);
}

static void
test_nested_mmu__pagetouch_swap_same_output_in_all_four_modes(void **state)
{
	(void)state;
	expect_same_output(PAGETOUCH, "-- pages=512 swap", 0);
}

/* ---- one L2 CPUID ------------------------------------------------------------ */

/*
 * With trapped VMREAD/VMWRITE one L2 CPUID costs L1 exits for each VMREAD
 * and VMWRITE of l1-shim's CPUID handler, for the CPUID it runs itself
 * (CPUID always exits in VMX non-root operation, SDM 26.1.2) and for its
 * VMRESUME. The handler's numbers come from l1-shim's own per-reason
 * counts, the CPUIDs from L0's (less the one of l1-shim's setup); world
 * switches are two per L1 exit plus the L2 exit and the entry to L2.
 * Neither the preparation nor the coherence mode changes any of it.
 */
static void
test_nested_mmu__cpuid_l1_exits_derived_from_handler_every_mode(void **state)
{
	const char *line = "reflected CPUID (10)";

	(void)state;
	for (size_t k = 0; k < NR_MODES; k++) {
		struct cmd_result res = { 0 };
		unsigned long long n, reads, writes, own_cpuids, per;

		run_mode(&modes[k], NULL, CPUID_LOOP, "stats -- 1000", &res);
		assert_int_equal(res.exit_code, 0);
		n = guest_run_result(res.out, "l1_exits_cpuid");
		assert_int_equal(n, CPUID_N);
		assert_int_equal(
			guest_run_result(res.out, "l1_vmreads_cpuid") % n, 0);
		assert_int_equal(
			guest_run_result(res.out, "l1_vmwrites_cpuid") % n, 0);
		reads = guest_run_result(res.out, "l1_vmreads_cpuid") / n;
		writes = guest_run_result(res.out, "l1_vmwrites_cpuid") / n;
		own_cpuids =
			(guest_run_table(res.err, "l1_exit CPUID (10)") - 1) /
			n;
		per = reads + writes + own_cpuids + 1;
		assert_int_equal(guest_run_nested(res.err, line, "count"), n);
		assert_int_equal(guest_run_nested(res.err, line, "l1_exits"),
				 n * per);
		assert_int_equal(
			guest_run_nested(res.err, line, "world_switches"),
			n * (2 * per + 2));
		assert_int_equal(guest_run_nested(res.err, line, "vmreads"),
				 n * reads);
		assert_int_equal(guest_run_nested(res.err, line, "vmwrites"),
				 n * writes);
		cmd_result_free(&res);
	}
}

/* ---- hidden faults and ept02's memory ---------------------------------------- */

struct ept02_counts {
	unsigned long long fills, table_pages, present, protects, faults;
	unsigned long long dropped_wp, dropped_invept, invepts;
};

static void read_counts(const char *err, struct ept02_counts *c)
{
	c->fills = guest_run_table(err, "ept02_fills");
	c->table_pages = guest_run_table(err, "ept02_table_pages");
	c->present = guest_run_table(err, "ept02_present");
	c->protects = guest_run_table(err, "ept12_pages_protected");
	c->faults = guest_run_table(err, "ept12_wp_faults");
	c->dropped_wp = guest_run_table(err, "ept02_dropped_wp");
	c->dropped_invept = guest_run_table(err, "ept02_dropped_invept");
	c->invepts = guest_run_table(err, "l1_invepts");
}

static void run_pages(const struct mode *m, const char *mem, const char *l2mem,
		      unsigned long long pages, bool swap,
		      struct ept02_counts *c, struct cmd_result *res)
{
	char append[96];

	snprintf(append, sizeof(append), "%s%s -- pages=%llu%s",
		 l2mem ? "l2mem=" : "", l2mem ? l2mem : "", pages,
		 swap ? " swap" : "");
	run_mode(m, mem, PAGETOUCH, append, res);
	assert_int_equal(res->exit_code, 0);
	assert_int_equal(guest_run_result(res->out, "pagetouch_pages"), pages);
	read_counts(res->err, c);
}

/*
 * Hidden faults are one per distinct L2 page touched: the guest's N pages
 * plus what its runtime touches (code, stack, boot information), which is
 * the same for every N (measured as fills(1) - 1). Nothing is dropped
 * (l1-shim's one INVEPT comes before L2 runs), so every leaf is present
 * at the end. Under wp the walks read l1-shim's PML4, PDPT and page
 * directory (2 MiB leaves): 3 pages protected, never written.
 */
static void
test_nested_mmu__hidden_faults_are_pages_touched_plus_runtime(void **state)
{
	static const unsigned long long sizes[] = { 64, 512, 1024 };

	(void)state;
	for (size_t k = 0; k < NR_MODES; k++) {
		struct cmd_result one = { 0 };
		struct ept02_counts c1;
		unsigned long long runtime;

		run_pages(&modes[k], NULL, NULL, 1, false, &c1, &one);
		runtime = c1.fills - 1;
		for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
			struct cmd_result res = { 0 };
			struct ept02_counts c;

			run_pages(&modes[k], NULL, NULL, sizes[s], false, &c,
				  &res);
			assert_int_equal(c.fills, sizes[s] + runtime);
			assert_int_equal(
				guest_run_table(res.err,
						"l2_exit EPT_VIOLATION "
						"(48)"),
				c.fills);
			assert_int_equal(c.present, c.fills);
			assert_int_equal(c.dropped_wp + c.dropped_invept, 0);
			assert_int_equal(c.invepts, 1);
			assert_int_equal(c.protects, is_wp(&modes[k]) ? 3 : 0);
			assert_int_equal(c.faults, 0);
			cmd_result_free(&res);
		}
		cmd_result_free(&one);
	}
}

/*
 * ept02's table pages are its PML4, PDPT and page directory, one page
 * table for the runtime's 2 MiB and one per 2 MiB of pagetouch's buffer
 * (2 MiB aligned): pages(N) = pages(1) + ceil(N / 512) - 1. Sixteen times
 * as much L2 RAM (so a 16 times larger ept12 in l1-shim) changes nothing.
 */
static void test_nested_mmu__ept02_grows_with_pages_not_ept12(void **state)
{
	static const unsigned long long sizes[] = { 64, 512, 1024, 2048 };

	(void)state;
	for (size_t k = 0; k < 2; k++) {
		struct cmd_result one = { 0 }, big = { 0 };
		struct ept02_counts c1, cb;

		run_pages(&modes[k], NULL, NULL, 1, false, &c1, &one);
		for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
			struct cmd_result res = { 0 };
			struct ept02_counts c;
			unsigned long long pts =
				(sizes[s] + PAGES_PER_PT - 1) / PAGES_PER_PT;

			run_pages(&modes[k], NULL, NULL, sizes[s], false, &c,
				  &res);
			assert_int_equal(c.table_pages,
					 c1.table_pages + pts - 1);
			cmd_result_free(&res);
		}
		run_pages(&modes[k], "512M", "256M", 1, false, &cb, &big);
		assert_int_equal(cb.table_pages, c1.table_pages);
		assert_int_equal(cb.fills, c1.fills);
		cmd_result_free(&one);
		cmd_result_free(&big);
	}
}

/*
 * pagetouch's two swaps change l1-shim's ept12 while L2 runs, each followed
 * by INVEPT (3 with the setup's). Every ept02 leaf ever filled is present
 * at the end or was dropped. invept: each INVEPT drops all of ept02. wp:
 * no INVEPT drops anything; the first swap splits a 2 MiB leaf, writing
 * the page directory (one fault: every leaf was derived from it), the
 * second writes two entries of the new page table (one fault: the first
 * write unprotects it), dropping exactly the 512 leaves of that table.
 * Protected: PML4, PDPT, directory, then the new table, the directory
 * again and the table again: 6. Each fault is an EPT-violation exit of
 * L1. L2 prints the same in all modes and sees every page right.
 */
static void test_nested_mmu__swap_costs_differ_output_same(void **state)
{
	const unsigned long long n = 1024;
	struct ept02_counts c[NR_MODES];
	struct cmd_result res[NR_MODES];

	(void)state;
	memset(res, 0, sizeof(res));
	for (size_t k = 0; k < NR_MODES; k++) {
		run_pages(&modes[k], NULL, NULL, n, true, &c[k], &res[k]);
		assert_int_equal(
			guest_run_result(res[k].out, "pagetouch_bad_total"), 0);
		assert_string_equal(res[k].out, res[0].out);
		assert_int_equal(
			guest_run_table(res[k].err, "l2_exit VMCALL (18)"), 2);
		assert_int_equal(c[k].invepts, 3);
		assert_int_equal(
			guest_run_table(res[k].err, "l1_exit INVEPT (50)"), 3);
		assert_int_equal(c[k].fills, c[k].present + c[k].dropped_wp +
						     c[k].dropped_invept);
		assert_int_equal(c[k].present, c[0].present);
		if (is_wp(&modes[k])) {
			assert_int_equal(c[k].dropped_invept, 0);
			assert_int_equal(c[k].faults, 2);
			assert_int_equal(c[k].protects, 6);
			assert_int_equal(
				guest_run_table(res[k].err,
						"l1_exit EPT_VIOLATION "
						"(48)"),
				2);
			/* The second swap's 512, and at least the buffer at
			 * the first. */
			assert_true(c[k].dropped_wp >= PAGES_PER_PT + n);
		} else {
			assert_int_equal(c[k].dropped_wp, 0);
			assert_int_equal(c[k].faults + c[k].protects, 0);
			assert_null(
				strstr(res[k].err, "l1_exit EPT_VIOLATION"));
			/* Both swaps drop at least the whole buffer. */
			assert_true(c[k].dropped_invept >= 2 * n);
		}
	}
	/* The same guest path in every mode: the preparation changes no
	 * count, and wp saves exactly the hidden faults it did not drop. */
	for (size_t k = 2; k < NR_MODES; k++)
		assert_memory_equal(&c[k], &c[k - 2], sizeof(c[k]));
	assert_int_equal(c[0].fills - c[1].fills,
			 c[0].dropped_invept - c[1].dropped_wp);
	assert_true(c[1].dropped_wp < c[0].dropped_invept);
	for (size_t k = 0; k < NR_MODES; k++)
		cmd_result_free(&res[k]);
}

static void test_nested_mmu__bad_coherence_one_error_line_125(void **state)
{
	const char *argv[] = { NESTVM_DEFAULT_PATH,
			       "run",
			       "--ept-coherence",
			       "shadow",
			       L1_SHIM,
			       NULL };
	struct cmd_result res = { 0 };

	(void)state;
	assert_int_equal(run_cmd((char *const *)argv, TIMEOUT_S, &res), 0);
	assert_int_equal(res.exit_code, 125);
	assert_string_equal(res.out, "");
	assert_non_null(strstr(res.err, "--ept-coherence: bad mode 'shadow' "
					"(invept or wp)"));
	assert_null(strchr(strchr(res.err, '\n') + 1, '\n'));
	cmd_result_free(&res);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(
			test_nested_mmu__hello_same_output_in_all_four_modes),
		cmocka_unit_test(
			test_nested_mmu__cpuid_loop_same_output_in_all_four_modes),
		cmocka_unit_test(
			test_nested_mmu__pagetouch_swap_same_output_in_all_four_modes),
		cmocka_unit_test(
			test_nested_mmu__cpuid_l1_exits_derived_from_handler_every_mode),
		cmocka_unit_test(
			test_nested_mmu__hidden_faults_are_pages_touched_plus_runtime),
		cmocka_unit_test(
			test_nested_mmu__ept02_grows_with_pages_not_ept12),
		cmocka_unit_test(
			test_nested_mmu__swap_costs_differ_output_same),
		cmocka_unit_test(
			test_nested_mmu__bad_coherence_one_error_line_125),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
