/* SPDX-License-Identifier: MIT */
/*
 * Whole-stack tests of the evaluation's workloads (guests/bench/nano.elf,
 * docs/evaluation-workloads.md): every benchmark at the native, single
 * (l1-shim on the bare model) and nested (l1-shim under L0) levels prints
 * the same RESULT names and iteration counts, exits 0, and causes exactly
 * the exits it is meant to, read from --json. Host side.
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
#include <unistd.h>

#include "tests/lib/json_read.h"
#include "tests/lib/run_cmd.h"

#ifndef NESTVM_DEFAULT_PATH
#define NESTVM_DEFAULT_PATH "build/nestvm"
#endif
#define L1_SHIM "build/l1-shim.elf"
#define NANO "build/guests/bench/nano.elf"
#define TIMEOUT_S 120
#define ARGS_MAX 16
#define MAX_REASONS 4

enum level { NATIVE, SINGLE, NESTED };
static const char *const level_names[] = { "native", "single", "nested" };

/* One exit reason a benchmark causes and how many per iteration. */
struct exits {
	const char *reason; /* as the JSON names it */
	unsigned long long per_iter;
};

struct workload {
	const char *bench;
	unsigned long long iters;
	const char *shim_opts; /* l1-shim's options before "--" */
	struct exits exits[MAX_REASONS]; /* besides the console's I/O */
	/* Exits of the benchmark's setup, in all (not per iteration), of
	 * reasons its iterations do not cause. */
	struct exits setup[1];
	/* Nested only: exits L0 handles for L2 itself, in all (not per
	 * iteration). vmcs02 has no MSR bitmap (vmcs-merge/merge.c), so
	 * every MSR access of L2 exits to L0, which performs the ones
	 * vmcs12's bitmap does not claim. */
	struct exits l0_only[2];
};

/*
 * What each benchmark makes exit under l1-shim, per iteration. I/O comes
 * on top: the console writes every byte of output as one LSR read and one
 * THR write, and the run ends with one OUT to the debug-exit port.
 */
static const struct workload workloads[] = {
	/* rt_user_init(): RDMSR EFER, WRMSR STAR, LSTAR, SFMASK, EFER. */
	{ .bench = "syscall",
	  .iters = 20,
	  .shim_opts = "",
	  .l0_only = { { "MSR_READ", 1 }, { "MSR_WRITE", 4 } } },
	{ .bench = "in",
	  .iters = 20,
	  .shim_opts = "",
	  .exits = { { "IO_INSTRUCTION", 1 } } },
	{ .bench = "cr8wr",
	  .iters = 20,
	  .shim_opts = "",
	  .exits = { { "CR_ACCESS", 1 } } },
	{ .bench = "callret", .iters = 20, .shim_opts = "" },
	{ .bench = "pgfault", .iters = 20, .shim_opts = "" },
	{ .bench = "divzero", .iters = 20, .shim_opts = "" },
	{ .bench = "ptemod", .iters = 20, .shim_opts = "" },
	{ .bench = "forkwait", .iters = 4, .shim_opts = "" },
	{ .bench = "pio",
	  .iters = 20,
	  .shim_opts = "",
	  .exits = { { "IO_INSTRUCTION", 1 } } },
	{ .bench = "rdmsr",
	  .iters = 20,
	  .shim_opts = "",
	  .exits = { { "MSR_READ", 1 } } },
	{ .bench = "cr",
	  .iters = 20,
	  .shim_opts = "",
	  .exits = { { "CR_ACCESS", 1 } } },
	{ .bench = "exception",
	  .iters = 20,
	  .shim_opts = "exc=ud",
	  .exits = { { "EXCEPTION_NMI", 1 } } },
	{ .bench = "divzero",
	  .iters = 20,
	  .shim_opts = "exc=de",
	  .exits = { { "EXCEPTION_NMI", 1 } } },
	{ .bench = "eptviol",
	  .iters = 20,
	  .shim_opts = "ept-lazy",
	  .exits = { { "EPT_VIOLATION", 1 } } },
	{ .bench = "mix",
	  .iters = 20,
	  .shim_opts = "",
	  .exits = { { "CPUID", 1 },
		     { "IO_INSTRUCTION", 1 },
		     { "MSR_READ", 1 } } },
	/* Under l1-shim only the CPUID that looks for the x2APIC exits: L2
	 * owns the APIC and its timer interrupt reaches it directly (no
	 * external-interrupt exiting). Nested, L0
	 * performs L2's APIC MSR accesses on the machine's APIC: RDMSR
	 * IA32_APIC_BASE, WRMSR of it, SVR, TDCR and the timer LVT, then
	 * per iteration the initial count and the EOI. */
	{ .bench = "extint",
	  .iters = 20,
	  .shim_opts = "",
	  .setup = { { "CPUID", 1 } },
	  .l0_only = { { "MSR_READ", 1 }, { "MSR_WRITE", 4 + 2 * 20 } } },
};

static char json_dir[256];

static int setup_dir(void **state)
{
	const char *tmp = getenv("TMPDIR");

	(void)state;
	snprintf(json_dir, sizeof(json_dir), "%s/nestvm-workloads-XXXXXX",
		 tmp && *tmp ? tmp : P_tmpdir);
	return mkdtemp(json_dir) ? 0 : -1;
}

static int remove_dir(void **state)
{
	(void)state;
	return rmdir(json_dir);
}

/* Runs nano.elf at @lvl with @guest as its command line and @shim_opts as
 * l1-shim's options; the JSON report in *@json (malloc'd). */
static void run_level(enum level lvl, const char *shim_opts, const char *guest,
		      struct cmd_result *res, char **json)
{
	const char *argv[ARGS_MAX] = { NESTVM_DEFAULT_PATH, "run" };
	char cmdline[256], path[320];
	size_t n = 2;

	snprintf(cmdline, sizeof(cmdline), "%s -- %s", shim_opts, guest);
	snprintf(path, sizeof(path), "%s/report.json", json_dir);
	if (lvl != NESTED)
		argv[n++] = "--native";
	if (lvl == NATIVE) {
		argv[n++] = NANO;
		argv[n++] = "--append";
		argv[n++] = guest;
	} else {
		argv[n++] = L1_SHIM;
		argv[n++] = "--module";
		argv[n++] = NANO;
		argv[n++] = "--append";
		argv[n++] = cmdline;
	}
	argv[n++] = "--json";
	argv[n++] = path;
	argv[n] = NULL;
	if (run_cmd((char *const *)argv, TIMEOUT_S, res))
		fail_msg("cannot run %s: build it and run from the top of the "
			 "tree",
			 NESTVM_DEFAULT_PATH);
	*json = read_file(path);
	assert_true(js_valid(*json));
	unlink(path);
}

/* The exits by reason of the level that ran the benchmark. */
static const char *exits_path(enum level lvl)
{
	return lvl == SINGLE ? "levels.L1.exits_by_reason"
			     : "levels.L2.exits_by_reason";
}

static unsigned long long reason_count(const char *json, enum level lvl,
				       const char *reason)
{
	char path[128];

	snprintf(path, sizeof(path), "%s.%s", exits_path(lvl), reason);
	return js_find(json, path) ? js_u64(json, path) : 0;
}

/* Checks the output: exactly the two RESULT lines, named for @w. */
static void check_results(const struct workload *w, const char *out,
			  enum level lvl)
{
	char want_iters[128], name[64], unit[16];
	unsigned long long cycles;
	int used = 0;

	snprintf(want_iters, sizeof(want_iters), "RESULT %s.iters %llu count\n",
		 w->bench, w->iters);
	if (sscanf(out, "RESULT %63s %llu %15s\n%n", name, &cycles, unit,
		   &used) != 3 ||
	    strcmp(name, w->bench) || strcmp(unit, "cycles") || !used)
		fail_msg("%s at %s: first line of \"%s\" is not RESULT %s N "
			 "cycles",
			 w->bench, level_names[lvl], out, w->bench);
	assert_string_equal(out + used, want_iters);
	assert_true(cycles > 0);
}

/* What @w should cause at a virtualized level: its reasons, its setup's,
 * and the console's I/O added to IO_INSTRUCTION (the runtime's 8N1 LCR
 * write, an LSR read and a THR write per byte, the debug-exit write).
 * Returns how many reasons. */
static size_t expected_exits(const struct workload *w, size_t out_len,
			     struct exits want[MAX_REASONS + 2])
{
	size_t n = 0;
	bool io = false;

	for (size_t i = 0; i < MAX_REASONS && w->exits[i].reason; i++) {
		want[n].reason = w->exits[i].reason;
		want[n].per_iter = w->exits[i].per_iter * w->iters;
		if (!strcmp(want[n].reason, "IO_INSTRUCTION")) {
			want[n].per_iter +=
				1 + 2 * (unsigned long long)out_len + 1;
			io = true;
		}
		n++;
	}
	if (w->setup[0].reason) {
		want[n].reason = w->setup[0].reason;
		want[n++].per_iter = w->setup[0].per_iter;
	}
	if (!io) {
		want[n].reason = "IO_INSTRUCTION";
		want[n++].per_iter = 1 + 2 * (unsigned long long)out_len + 1;
	}
	return n;
}

/*
 * Exact exits per reason and no other reason. At the nested level every
 * one of them is reflected to L1, and the only exits L0 keeps are its
 * ept02 fills (hidden faults: L2's first touches of its memory), which
 * come on top of the EPT violations it reflects.
 */
static void check_exits(const struct workload *w, const char *json,
			size_t out_len, enum level lvl)
{
	struct exits want[MAX_REASONS + 2];
	size_t n = expected_exits(w, out_len, want);
	unsigned long long fills = 0, want_ept = 0, reflected = 0, by_l0 = 0;
	size_t nr_l0 = 0;
	char path[128];

	for (size_t i = 0; i < n; i++) {
		bool ept = !strcmp(want[i].reason, "EPT_VIOLATION");

		reflected += want[i].per_iter;
		if (ept)
			want_ept = want[i].per_iter;
		if (lvl == NESTED) {
			snprintf(path, sizeof(path), "reflected.%s.count",
				 want[i].reason);
			assert_int_equal(js_u64(json, path), want[i].per_iter);
			if (ept)
				continue;
		}
		assert_int_equal(reason_count(json, lvl, want[i].reason),
				 want[i].per_iter);
	}
	if (lvl == SINGLE) {
		assert_int_equal(js_count(json, exits_path(lvl)), n);
		assert_int_equal(js_u64(json, "levels.L1.exits"), reflected);
		return;
	}
	for (; nr_l0 < 2 && w->l0_only[nr_l0].reason; nr_l0++) {
		const struct exits *x = &w->l0_only[nr_l0];

		assert_int_equal(reason_count(json, lvl, x->reason),
				 x->per_iter);
		by_l0 += x->per_iter;
	}
	fills = js_u64(json, "levels.L2.ept02_fills");
	assert_int_equal(js_u64(json, "levels.L2.ept_violations_reflected"),
			 want_ept);
	assert_int_equal(reason_count(json, lvl, "EPT_VIOLATION"),
			 fills + want_ept);
	assert_int_equal(js_count(json, exits_path(lvl)),
			 n + nr_l0 + (!want_ept && fills ? 1 : 0));
	assert_int_equal(js_count(json, "reflected"), n);
	assert_int_equal(js_u64(json, "levels.L2.exits_reflected"), reflected);
	assert_int_equal(js_u64(json, "levels.L2.exits_handled_by_l0"),
			 fills + by_l0);
}

static void test_workload(const struct workload *w)
{
	for (enum level lvl = NATIVE; lvl <= NESTED; lvl++) {
		struct cmd_result res;
		char *json;
		char guest[128];

		snprintf(guest, sizeof(guest), "bench=%s iters=%llu", w->bench,
			 w->iters);
		run_level(lvl, w->shim_opts, guest, &res, &json);
		if (res.exit_code != 0)
			fail_msg("%s at %s: status %d, stdout \"%s\", stderr "
				 "\"%s\"",
				 w->bench, level_names[lvl], res.exit_code,
				 res.out, res.err);
		check_results(w, res.out, lvl);
		assert_true(js_string_is(json, "mode",
					 lvl == NESTED ? "nested" : "native"));
		if (lvl == NATIVE)
			assert_null(js_find(json, "levels.L1"));
		else
			check_exits(w, json, res.out_len, lvl);
		free(json);
		cmd_result_free(&res);
	}
}

#define WORKLOAD_TEST(idx, name)                                         \
	static void test_##name##__every_level_same_results_exact_exits( \
		void **state)                                            \
	{                                                                \
		(void)state;                                             \
		test_workload(&workloads[idx]);                          \
	}

WORKLOAD_TEST(0, syscall)
WORKLOAD_TEST(1, in)
WORKLOAD_TEST(2, cr8wr)
WORKLOAD_TEST(3, callret)
WORKLOAD_TEST(4, pgfault)
WORKLOAD_TEST(5, divzero)
WORKLOAD_TEST(6, ptemod)
WORKLOAD_TEST(7, forkwait)
WORKLOAD_TEST(8, pio)
WORKLOAD_TEST(9, rdmsr)
WORKLOAD_TEST(10, cr)
WORKLOAD_TEST(11, exception)
WORKLOAD_TEST(12, divzero_intercepted)
WORKLOAD_TEST(13, eptviol)
WORKLOAD_TEST(14, mix)
WORKLOAD_TEST(15, extint)

/* A bad command line is refused with the usage line and status 1. */
static void test_nano__bad_command_line_prints_usage(void **state)
{
	static const char *const bad[] = {
		"bench=nosuch",
		"bench=in iters=0",
		"bench=in iters=4294967296",
		"bench=in extra",
		"iters=5",
		"bench=eptviol iters=513",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct cmd_result res;
		char *json;

		run_level(NATIVE, "", bad[i], &res, &json);
		assert_int_equal(res.exit_code, 1);
		assert_non_null(strstr(res.out, "nano: "));
		assert_null(strstr(res.out, "RESULT"));
		free(json);
		cmd_result_free(&res);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(
			test_syscall__every_level_same_results_exact_exits),
		cmocka_unit_test(test_in__every_level_same_results_exact_exits),
		cmocka_unit_test(
			test_cr8wr__every_level_same_results_exact_exits),
		cmocka_unit_test(
			test_callret__every_level_same_results_exact_exits),
		cmocka_unit_test(
			test_pgfault__every_level_same_results_exact_exits),
		cmocka_unit_test(
			test_divzero__every_level_same_results_exact_exits),
		cmocka_unit_test(
			test_ptemod__every_level_same_results_exact_exits),
		cmocka_unit_test(
			test_forkwait__every_level_same_results_exact_exits),
		cmocka_unit_test(
			test_pio__every_level_same_results_exact_exits),
		cmocka_unit_test(
			test_rdmsr__every_level_same_results_exact_exits),
		cmocka_unit_test(test_cr__every_level_same_results_exact_exits),
		cmocka_unit_test(
			test_exception__every_level_same_results_exact_exits),
		cmocka_unit_test(
			test_divzero_intercepted__every_level_same_results_exact_exits),
		cmocka_unit_test(
			test_eptviol__every_level_same_results_exact_exits),
		cmocka_unit_test(
			test_mix__every_level_same_results_exact_exits),
		cmocka_unit_test(
			test_extint__every_level_same_results_exact_exits),
		cmocka_unit_test(test_nano__bad_command_line_prints_usage),
	};

	return cmocka_run_group_tests(tests, setup_dir, remove_dir);
}
