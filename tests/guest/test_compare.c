/* SPDX-License-Identifier: MIT */
/*
 * test_compare - `nestvm compare` end to end: the table's numbers are
 * those of separate `nestvm run --json` runs, exactly; the JSON, Markdown
 * and SVG outputs; --emit-jobs lines run by sh and --merge give the same
 * table; a failing run and bad flags are reported clearly. Host side;
 * runs build/nestvm (build/asan/nestvm in the sanitizer variant).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tests/lib/json_read.h"
#include "tests/lib/run_cmd.h"

#ifndef NESTVM_DEFAULT_PATH
#define NESTVM_DEFAULT_PATH "build/nestvm"
#endif
#define TIMEOUT_S 300
#define ARGS_MAX 40
#define COUNT "50"
#define COUNT_N 50ull

static char tmpdir[256];

static int make_tmpdir(void **state)
{
	const char *tmp = getenv("TMPDIR");

	(void)state;
	snprintf(tmpdir, sizeof(tmpdir), "%s/nestvm-compare-XXXXXX",
		 tmp && *tmp ? tmp : P_tmpdir);
	return mkdtemp(tmpdir) ? 0 : -1;
}

static int remove_tmpdir(void **state)
{
	char *argv[] = { "/bin/rm", "-rf", tmpdir, NULL };
	struct cmd_result res;

	(void)state;
	if (run_cmd(argv, TIMEOUT_S, &res))
		return -1;
	cmd_result_free(&res);
	return 0;
}

/* A path under the test's temporary directory (static buffers, 4). */
static const char *tmp_path(const char *name)
{
	static char bufs[4][512];
	static int next;
	char *b = bufs[next++ % 4];

	snprintf(b, sizeof(bufs[0]), "%s/%s", tmpdir, name);
	return b;
}

/* Runs build/nestvm with args (NULL-terminated). */
static void run_nestvm(const char *const args[], struct cmd_result *res)
{
	const char *argv[ARGS_MAX] = { NESTVM_DEFAULT_PATH };
	size_t n = 1;

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

/* `nestvm compare` of cpuid-loop with COUNT iterations into out, plus
 * extra flags (NULL-terminated, may be empty). */
static void run_compare(const char *out, const char *const extra[],
			struct cmd_result *res)
{
	const char *args[ARGS_MAX] = {
		"compare", "--workload", "cpuid-loop", "--count",
		COUNT,	   "--out",	 out,
	};
	size_t n = 7;

	for (size_t i = 0; extra[i]; i++)
		args[n++] = extra[i];
	args[n] = NULL;
	run_nestvm(args, res);
}

static void expect_ok(const struct cmd_result *res)
{
	if (res->exit_code)
		print_message("[ stdout ]\n%s[ stderr ]\n%s", res->out,
			      res->err);
	assert_false(res->signaled);
	assert_int_equal(res->exit_code, 0);
}

/* The cells of the table row whose title is title, blank-separated. */
static size_t row_cells(const char *table, const char *title, char cells[][32],
			size_t max)
{
	const char *p = strstr(table, title), *end;
	size_t n = 0;

	if (!p)
		fail_msg("no row '%s' in:\n%s", title, table);
	p += strlen(title);
	end = strchr(p, '\n');
	while (p < end && n < max) {
		size_t len;

		while (*p == ' ')
			p++;
		len = strcspn(p, " \n");
		if (!len)
			break;
		assert_true(len < 32);
		memcpy(cells[n], p, len);
		cells[n++][len] = '\0';
		p += len;
	}
	return n;
}

/* A separate `nestvm run` of cpuid-loop under l1-shim; its report. */
static char *run_separately(const char *strategy, const char *json)
{
	const char *nested[] = { "run",	     "--vmcs-access",
				 strategy,   "--prep",
				 "full",     "--serial",
				 "none",     "--json",
				 json,	     "build/l1-shim.elf",
				 "--module", "build/guests/cpuid_loop.elf",
				 "--append", "-- " COUNT,
				 NULL };
	struct cmd_result res;
	char *doc;

	run_nestvm(nested, &res);
	expect_ok(&res);
	cmd_result_free(&res);
	doc = read_file(json);
	assert_true(js_valid(doc));
	return doc;
}

/*
 * trap, shadow and shadow-all: every total in compare.json and every
 * per-exit cell of the table is what a separate run reports; trap costs
 * 8 L1 exits per L2 CPUID and shadow 2.
 */
static void test_compare__three_strategies_match_separate_runs(void **state)
{
	static const char *const strategies[] = { "trap", "shadow",
						  "shadow-all" };
	static const char *const totals[] = {
		"count",
		"l1_exits",
		"world_switches",
		"vmreads_trapped",
		"vmreads_shadowed",
		"vmwrites_trapped",
		"vmwrites_shadowed",
		"vmcs02_writes",
		"cycles",
		"l2_cycles",
	};
	const char *extra[] = { "--strategies", "trap,shadow,shadow-all", "-j",
				"2", NULL };
	char l1[16][32], cyc[16][32], name[64], path[128];
	struct cmd_result res;
	char *cmp;

	(void)state;
	run_compare(tmp_path("three"), extra, &res);
	expect_ok(&res);
	cmp = read_file(tmp_path("three/compare.json"));
	assert_true(js_valid(cmp));
	/* single level, three strategies, three published columns */
	assert_int_equal(js_count(cmp, "configurations"), 7);
	assert_true(js_string_is(cmp, "configurations.0.kind", "single"));
	assert_true(js_string_is(cmp, "configurations.4.name", "Turtles"));
	assert_true(js_string_is(cmp, "configurations.4.kind", "reference"));
	assert_int_equal(js_u64(cmp, "configurations.0.values.l2_exits"),
			 COUNT_N);

	assert_int_equal(row_cells(res.out, "L1 exits per L2 exit", l1, 16), 7);
	assert_string_equal(l1[0], "-");
	assert_string_equal(l1[1], "8.00");
	assert_string_equal(l1[2], "2.00");
	assert_string_equal(l1[3], "2.00");
	assert_string_equal(l1[4], "13");
	assert_int_equal(row_cells(res.out, "cycles per L2 exit", cyc, 16), 7);

	for (size_t s = 0; s < 3; s++) {
		char *doc = run_separately(strategies[s],
					   tmp_path("separate.json"));
		unsigned long long count, cycles, l2;
		char want[32];

		snprintf(name, sizeof(name), "configurations.%zu.name", s + 1);
		assert_true(js_string_is(cmp, name, strategies[s]));
		for (size_t t = 0; t < sizeof(totals) / sizeof(totals[0]);
		     t++) {
			char sep[96];

			snprintf(path, sizeof(path),
				 "configurations.%zu.totals.%s", s + 1,
				 totals[t]);
			snprintf(sep, sizeof(sep), "reflected.CPUID.%s",
				 totals[t]);
			assert_int_equal(js_u64(cmp, path), js_u64(doc, sep));
		}
		count = js_u64(doc, "reflected.CPUID.count");
		cycles = js_u64(doc, "reflected.CPUID.cycles");
		l2 = js_u64(doc, "reflected.CPUID.l2_cycles");
		assert_int_equal(count, COUNT_N);
		snprintf(want, sizeof(want), "%.1f",
			 (double)(cycles + l2) / (double)count);
		assert_string_equal(cyc[s + 1], want);
		free(doc);
	}
	free(cmp);
	cmd_result_free(&res);
}

/* compare.md holds the same rows; compare.svg is an SVG document when
 * gnuplot is installed (skipped otherwise). */
static void test_compare__markdown_and_svg_written(void **state)
{
	const char *extra[] = { "--strategies", "trap,shadow", NULL };
	struct cmd_result res;
	char *md, *svg;

	(void)state;
	run_compare(tmp_path("plot"), extra, &res);
	expect_ok(&res);
	md = read_file(tmp_path("plot/compare.md"));
	assert_non_null(strstr(md, "| L1 exits per L2 exit | - | 8.00 | 2.00 "
				   "| 13 | 2 | - |"));
	free(md);
	if (access("/usr/bin/gnuplot", X_OK)) {
		assert_non_null(strstr(res.err, "gnuplot is not installed"));
		cmd_result_free(&res);
		skip();
	}
	svg = read_file(tmp_path("plot/compare.svg"));
	assert_non_null(strstr(svg, "<svg"));
	assert_non_null(strstr(svg, "</svg>"));
	free(svg);
	cmd_result_free(&res);
}

/*
 * --emit-jobs writes one shell command a line; run by sh, they leave the
 * reports that --merge turns into the very table a direct run prints.
 */
static void test_compare__emitted_jobs_merge_to_same_table(void **state)
{
	const char *direct[] = { "--strategies", "trap,shadow", NULL };
	const char *emit[] = { "--strategies", "trap,shadow", "--emit-jobs",
			       tmp_path("jobs.txt"), NULL };
	const char *merge[] = { "--strategies", "trap,shadow", "--merge",
				tmp_path("emitted"), NULL };
	struct cmd_result want, res;
	char *jobs, *line, *save = NULL;
	size_t lines = 0;

	(void)state;
	run_compare(tmp_path("direct"), direct, &want);
	expect_ok(&want);
	run_compare(tmp_path("emitted"), emit, &res);
	expect_ok(&res);
	assert_string_equal(res.out, "");
	cmd_result_free(&res);
	jobs = read_file(tmp_path("jobs.txt"));
	for (line = strtok_r(jobs, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		char *argv[] = { "/bin/sh", "-c", line, NULL };

		assert_int_equal(run_cmd(argv, TIMEOUT_S, &res), 0);
		expect_ok(&res);
		cmd_result_free(&res);
		lines++;
	}
	assert_int_equal(lines, 3); /* single level, trap, shadow */
	free(jobs);
	run_compare(tmp_path("emitted"), merge, &res);
	expect_ok(&res);
	assert_string_equal(res.out, want.out);
	cmd_result_free(&res);
	cmd_result_free(&want);
}

/* --merge without a run's report names the missing run and fails. */
static void test_compare__merge_missing_report_fails(void **state)
{
	const char *merge[] = { "--strategies", "trap", "--merge",
				tmp_path("nothing"), NULL };
	struct cmd_result res;

	(void)state;
	run_compare(tmp_path("nothing"), merge, &res);
	assert_int_equal(res.exit_code, 125);
	assert_non_null(strstr(res.err, "nestvm: compare: trap: no "
					"cpuid-loop_trap_full_nehalem.json "
					"in the --merge sources\n"));
	cmd_result_free(&res);
}

/*
 * A strategy nestvm run refuses (bt on nehalem, which gives no
 * software-VMM charges) fails its run: its command line and the run's
 * own error are shown, the other runs finish and are tabled, and compare
 * exits 1.
 */
static void test_compare__failing_run_reported_others_finish(void **state)
{
	const char *extra[] = { "--strategies", "trap,bt", NULL };
	struct cmd_result res;
	char l1[16][32];

	(void)state;
	run_compare(tmp_path("bt"), extra, &res);
	assert_false(res.signaled);
	assert_int_equal(res.exit_code, 1);
	assert_non_null(strstr(res.err, "bt: FAILED with exit status 125: "));
	assert_non_null(strstr(res.err, " run --vmcs-access bt --prep full "
					"--profile nehalem --serial file:"));
	assert_non_null(strstr(res.err, "| nestvm: --vmcs-access bt: profile "
					"nehalem gives no software-VMM "
					"charges"));
	assert_non_null(strstr(res.err, "nestvm: compare: 1 of 3 runs "
					"failed\n"));
	assert_int_equal(row_cells(res.out, "L1 exits per L2 exit", l1, 16), 6);
	assert_string_equal(l1[1], "8.00");
	assert_string_equal(l1[2], "failed");
	cmd_result_free(&res);
}

/* One bad flag: status 125, exactly one line on stderr, nothing run. */
static void expect_bad(const char *const args[], const char *want)
{
	struct cmd_result res;
	const char *nl;

	run_nestvm(args, &res);
	if (!strstr(res.err, want))
		print_message("[ want ]\n%s\n[ got ]\n%s", want, res.err);
	assert_int_equal(res.exit_code, 125);
	assert_non_null(strstr(res.err, want));
	nl = strchr(res.err, '\n');
	assert_non_null(nl);
	assert_string_equal(nl + 1, "");
	assert_string_equal(res.out, "");
	cmd_result_free(&res);
}

static void test_compare__bad_flags_one_line_each(void **state)
{
	const char *unknown_workload[] = { "compare", "--workload", "nope",
					   NULL };
	const char *unknown_strategy[] = { "compare",	 "--workload",
					   "cpuid-loop", "--strategies",
					   "trap,magic", NULL };
	const char *zero_jobs[] = { "compare", "--workload", "cpuid-loop",
				    "-j",      "0",	     NULL };
	const char *no_workload[] = { "compare", NULL };
	const char *bad_prep[] = { "compare", "--workload=cpuid-loop",
				   "--prep=lazy", NULL };
	const char *count_for_hello[] = { "compare", "--workload", "hello",
					  "--count", "5",	   NULL };

	(void)state;
	expect_bad(unknown_workload,
		   "nestvm: --workload: unknown workload 'nope' (");
	expect_bad(unknown_strategy,
		   "nestvm: --strategies: unknown strategy 'magic' (trap, "
		   "shadow, shadow-all, pv, bt)\n");
	expect_bad(zero_jobs, "nestvm: -j: bad number '0' (1 to 1024)\n");
	expect_bad(no_workload, "nestvm: compare: no --workload given");
	expect_bad(bad_prep, "nestvm: --prep: bad mode 'lazy' (full, dirty)\n");
	expect_bad(count_for_hello,
		   "nestvm: --count: workload 'hello' takes no count\n");
}

/*
 * bt on the profile with software-VMM charges: no L1 exit and 2 world
 * switches per L2 CPUID, and the L1 row holds the translated handler's
 * charged cycles, so that the breakdown still adds up to the total.
 */
static void test_compare__bt_on_p4_prescott_no_l1_exit(void **state)
{
	const char *extra[] = { "--strategies", "trap,bt", "--profiles",
				"p4-prescott", NULL };
	struct cmd_result res;
	char c[16][32];
	double sum = 0;

	(void)state;
	run_compare(tmp_path("bt-p4"), extra, &res);
	expect_ok(&res);
	assert_int_equal(row_cells(res.out, "L1 exits per L2 exit", c, 16), 3);
	assert_string_equal(c[1], "8.00");
	assert_string_equal(c[2], "0.00");
	assert_int_equal(
		row_cells(res.out, "world switches per L2 exit", c, 16), 3);
	assert_string_equal(c[2], "2.00");
	assert_int_equal(row_cells(res.out, "  L1 ", c, 16), 3);
	assert_true(strtod(c[2], NULL) > strtod(c[1], NULL));
	{
		static const char *const parts[] = { "  mode switches", "  L0 ",
						     "  L1 ", "  L2 " };

		for (size_t i = 0; i < 4; i++) {
			assert_int_equal(row_cells(res.out, parts[i], c, 16),
					 3);
			sum += strtod(c[2], NULL);
		}
	}
	assert_int_equal(row_cells(res.out, "cycles per L2 exit", c, 16), 3);
	assert_true(sum > strtod(c[2], NULL) - 0.5 &&
		    sum < strtod(c[2], NULL) + 0.5);
	cmd_result_free(&res);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(
			test_compare__three_strategies_match_separate_runs),
		cmocka_unit_test(test_compare__markdown_and_svg_written),
		cmocka_unit_test(
			test_compare__emitted_jobs_merge_to_same_table),
		cmocka_unit_test(test_compare__merge_missing_report_fails),
		cmocka_unit_test(
			test_compare__failing_run_reported_others_finish),
		cmocka_unit_test(test_compare__bad_flags_one_line_each),
		cmocka_unit_test(test_compare__bt_on_p4_prescott_no_l1_exit),
	};

	return cmocka_run_group_tests(tests, make_tmpdir, remove_tmpdir);
}
