/* SPDX-License-Identifier: MIT */
/*
 * test_eval - `nestvm eval` end to end: the --quick evaluation writes a
 * report.md with every section and table complete, each number of which
 * is in results.json as the metric of a successful run (or a published
 * figure, or a ratio of runs); the SVGs; a flag nestvm run refuses marks
 * its cells; --emit-jobs run by sh and --merge give the same report; bad
 * flags and files are one line each. Host side; runs build/nestvm
 * (build/asan/nestvm in the sanitizer variant).
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
#define ARGS_MAX 24
#define CELLS_MAX 16
#define CELL_MAX 400

static char tmpdir[256];

static int make_tmpdir(void **state)
{
	const char *tmp = getenv("TMPDIR");

	(void)state;
	snprintf(tmpdir, sizeof(tmpdir), "%s/nestvm-eval-XXXXXX",
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

static const char *tmp_path(const char *name)
{
	static char bufs[4][512];
	static int next;
	char *b = bufs[next++ % 4];

	snprintf(b, sizeof(bufs[0]), "%s/%s", tmpdir, name);
	return b;
}

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

/* Splits a Markdown table line "| a | b\|c |" into its cells. */
static size_t md_cells(const char *line, char cells[][CELL_MAX])
{
	size_t n = 0, len = 0;

	assert_true(line[0] == '|');
	for (const char *p = line + 1; *p && *p != '\n'; p++) {
		if (*p == '\\' && p[1] == '|') {
			cells[n][len++] = *++p;
			continue;
		}
		if (*p != '|') {
			assert_true(len < CELL_MAX - 1);
			cells[n][len++] = *p;
			continue;
		}
		cells[n][len] = '\0';
		/* Trim the blank on each side. */
		if (len && cells[n][len - 1] == ' ')
			cells[n][len - 1] = '\0';
		if (cells[n][0] == ' ')
			memmove(cells[n], cells[n] + 1, strlen(cells[n]));
		assert_true(++n < CELLS_MAX);
		len = 0;
	}
	return n;
}

static bool is_number(const char *s)
{
	if (*s == '~' || *s == '-')
		s++;
	return *s >= '0' && *s <= '9';
}

/* The element of the runs array whose id is id, or NULL. */
static const char *find_run(const char *doc, const char *id)
{
	const char *runs = js_find(doc, "runs");
	size_t n = js_count(doc, "runs");

	for (size_t i = 0; i < n; i++) {
		char path[64];

		snprintf(path, sizeof(path), "runs.%zu.id", i);
		if (js_string_is(doc, path, id))
			return js_elem(runs, i);
	}
	return NULL;
}

/* The string member key of the JSON object at obj, into buf ("" if none). */
static void member_string(const char *obj, const char *key, char *buf,
			  size_t len)
{
	char pat[80];
	const char *p;
	size_t n = 0;

	snprintf(pat, sizeof(pat), "\"%s\": \"", key);
	buf[0] = '\0';
	p = strstr(obj, pat);
	/* Only the object's own member: a cell is a flat object. */
	if (!p || p > strchr(obj, '}'))
		return;
	for (p += strlen(pat); *p && *p != '"' && n + 1 < len; p++) {
		if (*p == '\\')
			p++;
		buf[n++] = *p;
	}
	buf[n] = '\0';
}

/*
 * Checks table id of report.md against results.json: the same cells,
 * none empty or failed, and each number traced to a successful run's
 * metric, a ratio of successful runs, or a published figure. Returns the
 * number of rows.
 */
static size_t check_table(const char *md, const char *doc, const char *id,
			  size_t *numbers)
{
	char want[128], path[160], cells[CELLS_MAX][CELL_MAX];
	const char *p, *tables = js_find(doc, "tables"), *t = NULL;
	size_t nt = js_count(doc, "tables"), ti = 0, rows = 0;

	snprintf(want, sizeof(want), "(`%s`)\n", id);
	p = strstr(md, want);
	if (!p)
		fail_msg("report.md has no table %s", id);
	for (ti = 0; ti < nt; ti++) {
		snprintf(path, sizeof(path), "tables.%zu.id", ti);
		if (js_string_is(doc, path, id)) {
			t = js_elem(tables, ti);
			break;
		}
	}
	assert_non_null(t);
	p = strchr(p, '\n') + 1;
	assert_true(*p == '\n');
	p++;
	/* Header and separator lines, then the rows. */
	p = strchr(strchr(p, '\n') + 1, '\n') + 1;
	while (*p == '|') {
		size_t n = md_cells(p, cells);

		snprintf(path, sizeof(path), "tables.%zu.rows.%zu", ti, rows);
		assert_int_equal(js_count(doc, path), n);
		for (size_t c = 0; c < n; c++) {
			char cp[200], text[CELL_MAX], run[256], run2[256];
			char metric[64], key[64];
			const char *cell, *r;
			double v;

			snprintf(cp, sizeof(cp), "%s.%zu", path, c);
			cell = js_find(doc, cp);
			assert_non_null(cell);
			member_string(cell, "text", text, sizeof(text));
			assert_string_equal(text, cells[c]);
			if (!cells[c][0] || strstr(cells[c], "failed"))
				fail_msg("%s row %zu col %zu: '%s'", id, rows,
					 c, cells[c]);
			if (!is_number(cells[c]) || c == 0)
				continue;
			(*numbers)++;
			snprintf(cp, sizeof(cp), "%s.%zu.value", path, c);
			v = js_number_at(doc, cp);
			member_string(cell, "run", run, sizeof(run));
			member_string(cell, "run2", run2, sizeof(run2));
			member_string(cell, "metric", metric, sizeof(metric));
			member_string(cell, "key", key, sizeof(key));
			if (key[0]) {
				char rp[200];

				snprintf(cp, sizeof(cp), "%s.%zu.reference",
					 path, c);
				snprintf(rp, sizeof(rp),
					 "references.%llu.values.%s",
					 js_u64(doc, cp), key);
				assert_true(js_number_at(doc, rp) == v);
				continue;
			}
			if (!run[0])
				fail_msg("%s: number '%s' without a run", id,
					 cells[c]);
			r = find_run(doc, run);
			assert_non_null(r);
			assert_non_null(strstr(r, "\"status\": \"ok\""));
			if (run2[0]) {
				r = find_run(doc, run2);
				assert_non_null(r);
				assert_non_null(
					strstr(r, "\"status\": \"ok\""));
			}
			if (metric[0]) {
				char mp[128], *end;
				const char *m;

				snprintf(mp, sizeof(mp), "\"%s\": ", metric);
				m = strstr(r, mp);
				assert_non_null(m);
				assert_true(strtod(m + strlen(mp), &end) == v);
			} else if (!run2[0] && !strstr(cells[c], ".")) {
				fail_msg("%s: '%s' is neither a metric nor a "
					 "ratio",
					 id, cells[c]);
			}
		}
		rows++;
		p = strchr(p, '\n') + 1;
	}
	return rows;
}

static const char *const sections[] = {
	"## Adams & Agesen's nanobenchmarks",
	"## Turtles' cpuid breakdown per strategy",
	"## Exit multiplication per exit type",
	"## L1 exits per L2 exit per strategy",
	"## Cost and L1's VMREAD/VMWRITE count per exit",
	"## Cost and the pages L2 touches",
	"## MMU modes",
	"## Binary translation break-even",
};

static const struct {
	const char *id;
	size_t rows;
} tables_expected[] = {
	{ "aa-p4-prescott", 8 },
	{ "aa-published-p4-prescott", 28 },
	{ "aa-skylake-sp", 8 },
	{ "cpuid-breakdown", 9 },
	{ "cpuid-published", 8 },
	{ "mult", 6 },
	{ "mult-published", 24 },
	{ "l1exits", 6 },
	{ "l1exits-cycles", 6 },
	{ "vmcs", 6 },
	{ "pages", 2 },
	{ "mmu", 3 },
	{ "bt", 6 },
};

static void test_eval__quick_report_complete_and_traceable(void **state)
{
	const char *args[] = { "eval", "--quick", "--out", tmp_path("q"),
			       "-j",   "2",	  NULL };
	struct cmd_result res;
	char *md, *doc, line[64];
	size_t numbers = 0, runs;

	(void)state;
	run_nestvm(args, &res);
	assert_int_equal(res.exit_code, 0);
	md = read_file(tmp_path("q/report.md"));
	doc = read_file(tmp_path("q/results.json"));
	assert_true(js_valid(doc));
	for (size_t i = 0; i < sizeof(sections) / sizeof(sections[0]); i++)
		if (!strstr(md, sections[i]))
			fail_msg("report.md lacks '%s'", sections[i]);
	for (size_t i = 0;
	     i < sizeof(tables_expected) / sizeof(tables_expected[0]); i++)
		assert_int_equal(
			check_table(md, doc, tables_expected[i].id, &numbers),
			tables_expected[i].rows);
	assert_true(numbers > 200);
	/* The model is exact: one L2 CPUID under trap is 8 L1 exits (5
	 * VMREADs, 1 VMWRITE, l1-shim's own CPUID, VMRESUME), 2 under
	 * shadowing. */
	assert_non_null(strstr(md, "| L1 exits per L2 exit | 8 | 2 | 2 |"));
	/* L2 and L1's handler translated (--vmcs-access bt --bt adaptive on
	 * p4-prescott) against BT off, with the break-even L0 computed:
	 * 73,600 cycles to translate a block against the measured round
	 * trip less a callout, + 1. */
	assert_non_null(strstr(md, "| in | 57,280 | 54,793 | 0.96 |"));
	assert_non_null(strstr(md, "| cpuid-loop | 56,537 | 54,143 | 0.96 |"));
	assert_non_null(strstr(md, "| in: break-even (exits per 10,000 L2 "
				   "instructions) | - | 2 | - |"));
	/* Features nestvm run refuses today are marked, never filled. */
	assert_non_null(strstr(md, "| needs "));
	/* One progress line per run that ran. */
	runs = js_count(doc, "runs");
	snprintf(line, sizeof(line), "[%zu/", (size_t)1);
	assert_non_null(strstr(res.err, line));
	{
		size_t ok = 0, lines = 0, stopped = 0;

		for (size_t i = 0; i < runs; i++) {
			char path[64];

			snprintf(path, sizeof(path), "runs.%zu.status", i);
			ok += js_string_is(doc, path, "ok");
		}
		for (const char *p = res.err; (p = strstr(p, "\n[")); p++)
			lines++;
		lines += res.err[0] == '[';
		/* A software-VMM run L0 stopped ran too: its line gives
		 * L0's reason, its cell the same. */
		for (const char *p = res.err;
		     (p = strstr(p, ": L0: --vmm bt: ")); p++)
			stopped++;
		assert_int_equal(lines, ok + stopped);
		snprintf(line, sizeof(line), "[%zu/%zu] ", ok + stopped,
			 ok + stopped);
		assert_non_null(strstr(res.err, line));
	}
	/* The summary table on the terminal. */
	assert_non_null(strstr(res.out, "Cycles per iteration (guest RDTSC), "
					"profile p4-prescott"));
	free(md);
	free(doc);
	cmd_result_free(&res);
}

static void test_eval__svgs_are_svg_documents(void **state)
{
	static const char *const plots[] = { "cpuid-breakdown", "mult", "pages",
					     "vmcs" };

	(void)state;
	if (system("command -v gnuplot >/dev/null 2>&1")) {
		skip();
		return;
	}
	for (size_t i = 0; i < sizeof(plots) / sizeof(plots[0]); i++) {
		char name[64];
		char *svg, *gp;

		snprintf(name, sizeof(name), "q/%s.svg", plots[i]);
		svg = read_file(tmp_path(name));
		assert_non_null(strstr(svg, "<svg"));
		assert_non_null(strstr(svg, "</svg>"));
		free(svg);
		snprintf(name, sizeof(name), "q/%s.gp", plots[i]);
		gp = read_file(tmp_path(name));
		assert_non_null(strstr(gp, "set terminal svg"));
		free(gp);
	}
	{
		char *md = read_file(tmp_path("q/report.md"));

		assert_non_null(strstr(md, "![mult](mult.svg)"));
		free(md);
	}
}

static void test_eval__emitted_jobs_merge_to_same_report(void **state)
{
	const char *emit[] = { "eval",	      "--quick",
			       "--out",	      tmp_path("m"),
			       "--emit-jobs", tmp_path("jobs.txt"),
			       NULL };
	const char *merge[] = { "eval",	       "--quick", "--out",
				tmp_path("m"), "--merge", tmp_path("m"),
				NULL };
	char *sh[] = { "/bin/sh", NULL, NULL };
	struct cmd_result res;
	char *a, *b, *jobs;
	size_t lines = 0;

	(void)state;
	run_nestvm(emit, &res);
	assert_int_equal(res.exit_code, 0);
	cmd_result_free(&res);
	jobs = read_file(tmp_path("jobs.txt"));
	for (const char *p = jobs; (p = strchr(p, '\n')); p++)
		lines++;
	assert_true(lines > 50);
	/* Runs refused for a missing feature are not in the job list: the
	 * software VMM runs on p4-prescott, not on skylake-sp (no bt_*
	 * charges). */
	assert_non_null(strstr(jobs, "--vmm bt --profile p4-prescott "));
	assert_null(strstr(jobs, "--vmm bt --profile skylake-sp "));
	free(jobs);
	sh[1] = (char *)tmp_path("jobs.txt");
	assert_int_equal(run_cmd(sh, TIMEOUT_S, &res), 0);
	assert_int_equal(res.exit_code, 0);
	cmd_result_free(&res);
	run_nestvm(merge, &res);
	assert_int_equal(res.exit_code, 0);
	a = read_file(tmp_path("q/report.md"));
	b = read_file(tmp_path("m/report.md"));
	assert_string_equal(a, b);
	free(a);
	free(b);
	cmd_result_free(&res);
}

static void test_eval__merge_missing_runs_fails(void **state)
{
	const char *args[] = { "eval",	      "--quick", "--out",
			       tmp_path("x"), "--merge", tmp_path("none"),
			       NULL };
	struct cmd_result res;

	(void)state;
	run_nestvm(args, &res);
	assert_int_equal(res.exit_code, 125);
	assert_non_null(strstr(res.err, ".json in the --merge sources"));
	cmd_result_free(&res);
}

/* An experiments file of one line after the workload. */
static const char *write_experiments(const char *name, const char *exp)
{
	const char *path = tmp_path(name);
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fprintf(f,
		"workload in build/guests/bench/nano.elf IO_INSTRUCTION in "
		"- 10 10 bench=in iters={n}\n%s\n",
		exp);
	assert_int_equal(fclose(f), 0);
	return path;
}

static void test_eval__refused_flag_marks_cells(void **state)
{
	const char *exp = write_experiments(
		"mmu.txt", "experiment m mmu workloads=in levels=nested "
			   "mmu=ept,no-such-mode");
	const char *args[] = { "eval", "--quick", "--experiments",
			       exp,    "--out",	  tmp_path("r"),
			       NULL };
	struct cmd_result res;
	char *md;

	(void)state;
	run_nestvm(args, &res);
	assert_int_equal(res.exit_code, 0);
	md = read_file(tmp_path("r/report.md"));
	assert_non_null(strstr(md, "| in | 22,"));
	assert_non_null(strstr(md, " | needs --mmu no-such-mode |"));
	free(md);
	md = read_file(tmp_path("r/results.json"));
	assert_non_null(strstr(md, "\"refusal\": \"nestvm: "));
	free(md);
	cmd_result_free(&res);
}

/*
 * The software VMM's column (levels=sw: nestvm run --vmm bt): a figure
 * on p4-prescott, the profile with the bt_* charges; "needs bt_* charges"
 * on one without; and a benchmark the software VMM stops in (nano's
 * RDMSR of an MSR it does not virtualize) shows L0's one-line reason, not
 * a number and not a failure.
 */
static void test_eval__software_vmm_column_on_p4_prescott(void **state)
{
	const char *path = tmp_path("sw.txt");
	FILE *f = fopen(path, "w");
	const char *args[] = { "eval", "--quick", "--experiments",
			       path,   "--out",	  tmp_path("sw"),
			       NULL };
	struct cmd_result res;
	char *md, *doc;

	(void)state;
	assert_non_null(f);
	fputs("workload callret build/guests/bench/nano.elf - callret - 10 10 "
	      "bench=callret iters={n}\n"
	      "workload rdmsr build/guests/bench/nano.elf MSR_READ rdmsr - "
	      "10 10 bench=rdmsr iters={n}\n"
	      "experiment a aa workloads=callret,rdmsr levels=native,sw "
	      "profiles=p4-prescott,skylake-sp\n",
	      f);
	assert_int_equal(fclose(f), 0);
	run_nestvm(args, &res);
	assert_int_equal(res.exit_code, 0);
	assert_non_null(strstr(res.err, "rdmsr sw p4-prescott n=10: L0: --vmm "
					"bt: unimplemented under BT at 0x"));
	md = read_file(tmp_path("sw/report.md"));
	/* 10 iterations: the RET is looked up in the TC's return table
	 * (no callout); the first iteration pays the loop's translation. */
	assert_non_null(strstr(md, "| callret | 5 | 4,458 | not in the "));
	assert_non_null(strstr(md, "| callret | guest_cycles | sw vs AA.sw | "
				   "4,458 | 51 | 87.41 |"));
	assert_non_null(strstr(md, "| rdmsr | 5 | stops: unimplemented under "
				   "BT at 0x"));
	assert_non_null(strstr(md, "RDMSR/WRMSR of an MSR the software VMM "
				   "does not virtualize | not in the "));
	assert_non_null(strstr(md, "| callret | 5 | needs bt_* charges |"));
	assert_non_null(strstr(md, "| rdmsr | 5 | needs bt_* charges |"));
	assert_non_null(strstr(md, "0 failed"));
	free(md);
	doc = read_file(tmp_path("sw/results.json"));
	assert_true(js_valid(doc));
	assert_non_null(strstr(doc, "\"refusal\": \"nestvm: L0: --vmm bt: "));
	assert_non_null(strstr(doc, "\"refusal\": \"nestvm: --vmm bt: "
				    "profile 'skylake-sp' gives no "));
	free(doc);
	cmd_result_free(&res);
}

static void expect_bad(const char *const args[], const char *want)
{
	struct cmd_result res;

	run_nestvm(args, &res);
	assert_int_equal(res.exit_code, 125);
	if (!strstr(res.err, want))
		fail_msg("wanted '%s' in: %s", want, res.err);
	assert_int_equal(strchr(res.err, '\n') - res.err + 1,
			 (long)strlen(res.err));
	cmd_result_free(&res);
}

static void test_eval__bad_flags_one_line_each(void **state)
{
	const char *unknown[] = { "eval", "--bogus", NULL };
	const char *both[] = { "eval", "--quick", "--full", NULL };
	const char *jobs[] = { "eval", "-j", "0", NULL };
	const char *noval[] = { "eval", "--out", NULL };
	const char *emerge[] = { "eval",    "--emit-jobs", "x",
				 "--merge", "y",	   NULL };
	const char *nofile[] = { "eval", "--experiments", tmp_path("nope"),
				 NULL };
	const char *badsec[] = {
		"eval", "--experiments",
		write_experiments("sec.txt", "experiment e nosuch "
					     "workloads=in levels=native"),
		NULL
	};
	const char *badlvl[] = { "eval", "--experiments",
				 write_experiments("lvl.txt",
						   "experiment e aa "
						   "workloads=in levels=moon"),
				 NULL };

	(void)state;
	expect_bad(unknown, "unknown argument '--bogus'");
	expect_bad(both, "--quick and --full exclude each other");
	expect_bad(jobs, "-j: bad number '0'");
	expect_bad(noval, "--out needs an argument");
	expect_bad(emerge, "--emit-jobs and --merge exclude each other");
	expect_bad(nofile, "cannot read");
	expect_bad(badsec, "unknown section 'nosuch'");
	expect_bad(badlvl, "lvl.txt:2: unknown level 'moon'");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(
			test_eval__quick_report_complete_and_traceable),
		cmocka_unit_test(test_eval__svgs_are_svg_documents),
		cmocka_unit_test(test_eval__emitted_jobs_merge_to_same_report),
		cmocka_unit_test(test_eval__merge_missing_runs_fails),
		cmocka_unit_test(test_eval__refused_flag_marks_cells),
		cmocka_unit_test(test_eval__software_vmm_column_on_p4_prescott),
		cmocka_unit_test(test_eval__bad_flags_one_line_each),
	};

	return cmocka_run_group_tests(tests, make_tmpdir, remove_tmpdir);
}
