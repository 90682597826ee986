/* SPDX-License-Identifier: MIT */
/*
 * Whole-stack tests of --trace, --trace-json and --trace-limit: the text
 * trace of l1-shim's cpuid loop under L0 lists every exit, reflection and
 * nested entry in order, as many as the --json report counts, with the
 * exact sequence of one L2 CPUID round trip under trap and shadow; the
 * JSON trace parses, has the L0/L1/L2 tracks and ordered slices that do
 * not overlap; the limit truncates at exactly N events and the JSON stays
 * valid; a native run says what it traces; bad paths fail before the run.
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
#include <unistd.h>

#include "tests/lib/json_read.h"
#include "tests/lib/run_cmd.h"

#ifndef NESTVM_DEFAULT_PATH
#define NESTVM_DEFAULT_PATH "build/nestvm"
#endif
#define L1_SHIM "build/l1-shim.elf"
#define CPUID_LOOP "build/guests/cpuid_loop.elf"
#define TIMEOUT_S 300
#define ARGS_MAX 24
#define PATH_LEN 512

struct tmp_files {
	char dir[PATH_LEN - 32];
	char text[PATH_LEN], json[PATH_LEN], report[PATH_LEN];
};

static void tmp_make(struct tmp_files *t)
{
	const char *tmp = getenv("TMPDIR");

	snprintf(t->dir, sizeof(t->dir), "%s/nestvm-trace-XXXXXX",
		 tmp && *tmp ? tmp : P_tmpdir);
	if (!mkdtemp(t->dir))
		fail_msg("cannot create %s", t->dir);
	snprintf(t->text, sizeof(t->text), "%s/trace.txt", t->dir);
	snprintf(t->json, sizeof(t->json), "%s/trace.json", t->dir);
	snprintf(t->report, sizeof(t->report), "%s/report.json", t->dir);
}

static void tmp_remove(struct tmp_files *t)
{
	unlink(t->text);
	unlink(t->json);
	unlink(t->report);
	assert_int_equal(rmdir(t->dir), 0);
}

/* Runs "nestvm run <args...>"; args ends with NULL. */
static void run_nestvm(const char *const args[], struct cmd_result *res)
{
	const char *argv[ARGS_MAX] = { NESTVM_DEFAULT_PATH, "run" };
	size_t n = 2;

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

/* l1-shim running the cpuid loop for `count` CPUIDs, traced into t. */
static void run_cpuid_loop(const char *count, const char *access,
			   const char *limit, struct tmp_files *t,
			   struct cmd_result *res)
{
	char append[64];
	const char *args[ARGS_MAX] = {
		L1_SHIM,    "--module",
		CPUID_LOOP, "--append",
		append,	    "--vmcs-access",
		access,	    "--trace",
		t->text,    "--trace-json",
		t->json,    "--json",
		t->report,  limit ? "--trace-limit" : NULL,
		limit,	    NULL,
	};

	snprintf(append, sizeof(append), "-- %s", count);
	run_nestvm(args, res);
	if (res->exit_code)
		print_message("[ stderr ]\n%s\n", res->err);
	assert_false(res->signaled);
	assert_int_equal(res->exit_code, 0);
}

static unsigned long long count_substr(const char *text, const char *s)
{
	unsigned long long n = 0;

	for (const char *p = text; (p = strstr(p, s)); p++)
		n++;
	return n;
}

/* Lines of text whose event is `event` ("kvm_exit"). */
static unsigned long long count_event(const char *text, const char *event)
{
	char needle[64];

	snprintf(needle, sizeof(needle), ": %s: ", event);
	return count_substr(text, needle);
}

/* Lines that are events (not '#' comments). */
static unsigned long long count_event_lines(const char *text)
{
	unsigned long long n = 0;

	for (const char *p = text; *p;) {
		const char *eol = strchr(p, '\n');

		assert_non_null(eol);
		n += *p != '#';
		p = eol + 1;
	}
	return n;
}

/*
 * One event line reduced to what the sequence tests compare: the level,
 * the event and its subject (the exit reason, or the VMCS field), e.g.
 * "L2 kvm_exit CPUID", "L1 nvmx_vmread GUEST_RIP", "L1 kvm_nested_vmenter".
 */
static void line_signature(const char *line, char *out, size_t len)
{
	char level[8], event[40], subject[48] = "", buf[512];
	size_t ll = strcspn(line, "\n");
	const char *ev, *f;

	/* Searches stay within the line. */
	assert_true(ll < sizeof(buf));
	memcpy(buf, line, ll);
	buf[ll] = '\0';
	line = buf;
	if (*line == '#') {
		snprintf(out, len, "#");
		return;
	}
	assert_int_equal(sscanf(line, " %7[^-]-", level), 1);
	ev = strstr(line, ": ");
	assert_non_null(ev);
	assert_int_equal(sscanf(ev + 2, "%39[^:]", event), 1);
	if ((f = strstr(line, " reason ")))
		sscanf(f + 8, "%47s", subject);
	else if ((f = strstr(line, "reason: ")))
		sscanf(f + 8, "%47s", subject);
	else if ((f = strstr(line, " field ")))
		sscanf(f + 7, "%47s", subject);
	snprintf(out, len, "%s %s%s%s", level, event, *subject ? " " : "",
		 subject);
}

/* The modeled cycles of an event line (the column after "[000]"). */
static unsigned long long line_cycles(const char *line)
{
	const char *p = strstr(line, "] ");

	assert_non_null(p);
	return strtoull(p + 2, NULL, 10);
}

/*
 * The L2 CPUID round trip that starts at the `nth` (0-based) L2 CPUID
 * exit: the signatures of its lines up to the nested entry that ends it.
 */
static size_t round_trip(const char *text, unsigned int nth, char sig[][96],
			 size_t max)
{
	const char *p = text;
	unsigned int seen = 0;
	size_t n = 0;

	/* The line of the nth L2 CPUID exit. */
	for (;; p = strchr(p, '\n') + 1) {
		assert_true(*p);
		line_signature(p, sig[0], sizeof(sig[0]));
		if (!strcmp(sig[0], "L2 kvm_exit CPUID") && seen++ == nth)
			break;
	}
	for (; *p && n < max; p = strchr(p, '\n') + 1) {
		line_signature(p, sig[n], sizeof(sig[n]));
		if (strstr(sig[n++], "kvm_nested_vmenter"))
			break;
	}
	return n;
}

static void expect_sequence(const char *text, const char *const *want,
			    size_t nwant)
{
	char sig[40][96];
	size_t n;

	/* The second L2 CPUID: the first one's L1 is warming up nothing,
	 * but the second is the loop's steady state. */
	n = round_trip(text, 1, sig, 40);
	for (size_t i = 0; i < n; i++)
		print_message("  %s\n", sig[i]);
	assert_int_equal(n, nwant);
	for (size_t i = 0; i < n; i++)
		assert_string_equal(sig[i], want[i]);
}

/* ---- the text trace ------------------------------------------------------------ */

static void
test_trace__cpuid_loop_lists_every_exit_as_the_report_counts(void **state)
{
	struct tmp_files t;
	struct cmd_result res = { 0 };
	char *text, *rep;
	unsigned long long prev = 0;

	(void)state;
	tmp_make(&t);
	run_cpuid_loop("10", "trap", NULL, &t, &res);
	text = read_file(t.text);
	rep = read_file(t.report);
	assert_true(js_valid(rep));
	/* Every exit L0 took, from L1 and from L2 ... */
	assert_int_equal(count_event(text, "kvm_exit"),
			 js_u64(rep, "levels.L1.exits") +
				 js_u64(rep, "levels.L2.exits"));
	/* ... every L2 exit again as a nested exit, the reflected ones
	 * once more as injected into L1 ... */
	assert_int_equal(count_event(text, "kvm_nested_vmexit"),
			 js_u64(rep, "levels.L2.exits"));
	assert_int_equal(count_event(text, "kvm_nested_vmexit_inject"),
			 js_u64(rep, "levels.L2.exits_reflected"));
	/* ... every nested entry, and L1's trapped VMREADs and VMWRITEs. */
	assert_int_equal(
		count_event(text, "kvm_nested_vmenter"),
		js_u64(rep, "levels.L1.nested_entries") +
			js_u64(rep, "levels.L1.nested_entry_failures"));
	assert_int_equal(count_event(text, "nvmx_vmread"),
			 js_u64(rep, "levels.L1.vmreads_trapped"));
	assert_int_equal(count_event(text, "nvmx_vmwrite"),
			 js_u64(rep, "levels.L1.vmwrites_trapped"));
	/* The cpuid loop's 10 CPUIDs, each exited, injected and resumed. */
	assert_int_equal(js_u64(rep, "reflected.CPUID.count"), 10);
	assert_int_equal(count_substr(text, ": kvm_exit: vcpu 0 reason CPUID "),
			 10 + js_u64(rep, "levels.L1.exits_by_reason.CPUID"));
	/* Nothing else is an event, nothing was dropped, and the report
	 * says how many there were. */
	assert_int_equal(count_event_lines(text), js_u64(rep, "trace.events"));
	assert_int_equal(js_u64(rep, "trace.dropped"), 0);
	assert_int_equal(js_u64(rep, "trace.limit"), 100000);
	/* In the order they happened, on the modeled clock. */
	for (const char *p = text; *p; p = strchr(p, '\n') + 1) {
		unsigned long long c;

		if (*p == '#')
			continue;
		c = line_cycles(p);
		assert_true(c >= prev);
		prev = c;
	}
	assert_true(prev > 0 && prev <= js_u64(rep, "cycles"));
	free(text);
	free(rep);
	cmd_result_free(&res);
	tmp_remove(&t);
}

/* l1-shim's CPUID handler under trap: 8 L1 exits (5 VMREADs, its own
 * CPUID, 1 VMWRITE, VMRESUME), docs/design/nested.md. */
static void test_trace__trap_cpuid_round_trip_is_eight_l1_exits(void **state)
{
	static const char *const want[] = {
		"L2 kvm_exit CPUID",
		"L2 kvm_nested_vmexit CPUID",
		"L1 kvm_nested_vmexit_inject CPUID",
		"L1 kvm_exit VMREAD",
		"L1 nvmx_vmread VM_EXIT_REASON",
		"L1 kvm_exit VMREAD",
		"L1 nvmx_vmread EXIT_QUALIFICATION",
		"L1 kvm_exit CPUID",
		"L1 kvm_exit VMREAD",
		"L1 nvmx_vmread VM_EXIT_INSTRUCTION_LEN",
		"L1 kvm_exit VMREAD",
		"L1 nvmx_vmread GUEST_RIP",
		"L1 kvm_exit VMWRITE",
		"L1 nvmx_vmwrite GUEST_RIP",
		"L1 kvm_exit VMREAD",
		"L1 nvmx_vmread GUEST_INTERRUPTIBILITY_INFO",
		"L1 kvm_exit VMRESUME",
		"L1 kvm_nested_vmenter",
	};
	struct tmp_files t;
	struct cmd_result res = { 0 };
	char *text;

	(void)state;
	tmp_make(&t);
	run_cpuid_loop("3", "trap", NULL, &t, &res);
	text = read_file(t.text);
	expect_sequence(text, want, sizeof(want) / sizeof(want[0]));
	free(text);
	cmd_result_free(&res);
	tmp_remove(&t);
}

/* Under shadow the six VMREAD/VMWRITEs never exit: 2 L1 exits. */
static void test_trace__shadow_cpuid_round_trip_is_two_l1_exits(void **state)
{
	static const char *const want[] = {
		"L2 kvm_exit CPUID",
		"L2 kvm_nested_vmexit CPUID",
		"L1 kvm_nested_vmexit_inject CPUID",
		"L1 kvm_exit CPUID",
		"L1 kvm_exit VMRESUME",
		"L1 kvm_nested_vmenter",
	};
	struct tmp_files t;
	struct cmd_result res = { 0 };
	char *text;

	(void)state;
	tmp_make(&t);
	run_cpuid_loop("3", "shadow", NULL, &t, &res);
	text = read_file(t.text);
	expect_sequence(text, want, sizeof(want) / sizeof(want[0]));
	assert_int_equal(count_event(text, "nvmx_vmread"), 0);
	free(text);
	cmd_result_free(&res);
	tmp_remove(&t);
}

/* The fields of each line are those of Linux's tracepoints. */
static void test_trace__lines_have_kvm_tracepoint_fields(void **state)
{
	struct tmp_files t;
	struct cmd_result res = { 0 };
	char *text;

	(void)state;
	tmp_make(&t);
	run_cpuid_loop("2", "trap", NULL, &t, &res);
	text = read_file(t.text);
	assert_non_null(strstr(text, "# tracer: nop\n"));
	assert_non_null(strstr(text, "clock 2900 MHz"));
	assert_non_null(strstr(
		text, ": kvm_exit: vcpu 0 reason CPUID rip 0x100064 info1 "
		      "0x0000000000000000 info2 0x0000000000000000 intr_info "
		      "0x00000000 error_code 0x00000000\n"));
	assert_non_null(strstr(text, ": kvm_nested_vmexit_inject: reason: "
				     "CPUID ext_inf1: 0x0000000000000000 "
				     "ext_inf2: 0x0000000000000000 ext_int: "
				     "0x00000000 ext_int_err: 0x00000000\n"));
	assert_non_null(strstr(text, ": kvm_nested_vmenter: rip: 0x"));
	assert_non_null(strstr(text, " nested_rip: 0x0000000000100066 "
				     "int_ctl: 0x00000000 event_inj: "
				     "0x00000000 nested_ept=y nested_eptp: "
				     "0x"));
	free(text);
	cmd_result_free(&res);
	tmp_remove(&t);
}

/* ---- the JSON trace ------------------------------------------------------------ */

struct track_state {
	unsigned long long end; /* cycles where its last slice ended */
	double ts_end; /* ... in the JSON's microseconds */
	unsigned long long slices;
};

static void test_trace__json_has_three_tracks_and_ordered_slices(void **state)
{
	struct tmp_files t;
	struct cmd_result res = { 0 };
	struct track_state tracks[4][4] = { 0 };
	bool named[3] = { false };
	const char *events, *e;
	char *doc, *rep;

	(void)state;
	tmp_make(&t);
	run_cpuid_loop("10", "trap", NULL, &t, &res);
	doc = read_file(t.json);
	rep = read_file(t.report);
	assert_true(js_valid(doc));
	assert_true(js_string_is(doc, "displayTimeUnit", "ns"));
	assert_int_equal(js_u64(doc, "otherData.freq_mhz"), 2900);
	events = js_find(doc, "traceEvents");
	assert_non_null(events);
	for (size_t i = 0; (e = js_elem(events, i)); i++) {
		unsigned long long pid = js_u64(e, "pid"),
				   tid = js_u64(e, "tid");
		unsigned long long start, cycles;
		struct track_state *tr;
		double ts, dur;

		assert_true(pid < 4 && tid < 4);
		if (js_string_is(e, "ph", "M")) {
			if (js_string_is(e, "name", "thread_name") && tid < 3)
				named[tid] = js_string_is(e, "args.name",
							  tid == 0   ? "L0"
							  : tid == 1 ? "L1"
								     : "L2");
			continue;
		}
		assert_true(js_string_is(e, "ph", "X"));
		tr = &tracks[pid][tid];
		start = js_u64(e, "args.start_cycles");
		cycles = js_u64(e, "args.cycles");
		ts = js_number_at(e, "ts");
		dur = js_number_at(e, "dur");
		assert_true(cycles > 0 && dur > 0);
		/* Ordered by ts, and no overlap within a track. */
		assert_true(start >= tr->end);
		assert_true(ts >= tr->ts_end - 1e-9);
		/* 2900 MHz: microseconds = cycles / 2900, to the ns. */
		assert_true(ts * 2900.0 > (double)start - 3.0 &&
			    ts * 2900.0 < (double)start + 3.0);
		tr->end = start + cycles;
		tr->ts_end = ts + dur;
		tr->slices++;
	}
	assert_true(named[0] && named[1] && named[2]);
	/* One slice per stay: every run of L1 and of L2 ended in an exit. */
	assert_int_equal(tracks[1][1].slices, js_u64(rep, "levels.L1.exits"));
	assert_int_equal(tracks[2][2].slices, js_u64(rep, "levels.L2.exits"));
	/* L0 handled each exit (its stay follows each run), and L1's
	 * handling of each reflected exit is one slice of its own track. */
	assert_true(tracks[0][0].slices >= tracks[1][1].slices);
	assert_int_equal(tracks[1][3].slices,
			 js_u64(rep, "levels.L2.exits_reflected"));
	free(doc);
	free(rep);
	cmd_result_free(&res);
	tmp_remove(&t);
}

/* ---- the limit ----------------------------------------------------------------- */

static void test_trace__limit_truncates_at_exactly_n_events(void **state)
{
	struct tmp_files t;
	struct cmd_result res = { 0 }, all = { 0 };
	char *text, *doc, *rep, *rep_all;

	(void)state;
	tmp_make(&t);
	run_cpuid_loop("10", "trap", "0", &t, &all);
	rep_all = read_file(t.report);
	assert_int_equal(js_u64(rep_all, "trace.limit"), 0);
	assert_true(js_u64(rep_all, "trace.events") > 200);
	run_cpuid_loop("10", "trap", "100", &t, &res);
	text = read_file(t.text);
	doc = read_file(t.json);
	rep = read_file(t.report);
	assert_int_equal(count_event_lines(text), 100);
	assert_non_null(strstr(text, "# truncated: --trace-limit 100 events "
				     "reached at cycle "));
	assert_true(js_valid(doc));
	assert_int_equal(js_u64(doc, "otherData.events"), 100);
	assert_true(js_find(doc, "otherData.truncated") &&
		    !strncmp(js_find(doc, "otherData.truncated"), "true", 4));
	/* What was not recorded is counted, in the run report too. */
	assert_int_equal(js_u64(rep, "trace.events"), 100);
	assert_int_equal(js_u64(rep, "trace.dropped"),
			 js_u64(rep_all, "trace.events") - 100);
	assert_non_null(strstr(res.err, "nestvm: trace: events 100 dropped "));
	/* The run itself is the same. */
	assert_int_equal(js_u64(rep, "cycles"), js_u64(rep_all, "cycles"));
	free(text);
	free(doc);
	free(rep);
	free(rep_all);
	cmd_result_free(&res);
	cmd_result_free(&all);
	tmp_remove(&t);
}

/* A traced run's guest results and modeled cycles are an untraced one's:
 * the trace reads the VMCS without being charged. */
static void test_trace__tracing_does_not_change_the_run(void **state)
{
	const char *plain[] = { L1_SHIM,    "--module", CPUID_LOOP,
				"--append", "-- 50",	NULL };
	struct tmp_files t;
	struct cmd_result a = { 0 }, b = { 0 };

	(void)state;
	tmp_make(&t);
	run_nestvm(plain, &a);
	run_cpuid_loop("50", "trap", NULL, &t, &b);
	assert_string_equal(a.out, b.out);
	assert_non_null(strstr(a.out, "RESULT cpuid_cycles_per_iter 23609 "));
	cmd_result_free(&a);
	cmd_result_free(&b);
	tmp_remove(&t);
}

/* ---- native runs and bad paths ------------------------------------------------- */

static void test_trace__native_run_says_what_it_traces(void **state)
{
	struct tmp_files t;
	struct cmd_result res = { 0 };
	const char *args[] = { "--native", "build/guests/hello.elf", "--trace",
			       NULL,	   "--trace-json",	     NULL,
			       NULL };
	const char *events, *e;
	char *text, *doc;
	size_t slices = 0;

	(void)state;
	tmp_make(&t);
	args[3] = t.text;
	args[5] = t.json;
	run_nestvm(args, &res);
	assert_int_equal(res.exit_code, 0);
	text = read_file(t.text);
	doc = read_file(t.json);
	assert_int_equal(count_event_lines(text), 0);
	assert_non_null(strstr(text, "# native run: the image ran on the "
				     "machine as L0 for "));
	assert_true(js_valid(doc));
	events = js_find(doc, "traceEvents");
	for (size_t i = 0; (e = js_elem(events, i)); i++) {
		if (!js_string_is(e, "ph", "X"))
			continue;
		assert_true(js_string_is(e, "name", "native run"));
		assert_int_equal(js_u64(e, "pid"), 0);
		slices++;
	}
	assert_int_equal(slices, 1);
	free(text);
	free(doc);
	cmd_result_free(&res);
	tmp_remove(&t);
}

/* One error line, status 125, the guest never ran, no file left. */
static void expect_bad(const char *flag, const char *path, const char *msg)
{
	const char *args[] = { L1_SHIM, "--module", CPUID_LOOP, "--append",
			       "-- 1",	flag,	    path,	NULL };
	struct cmd_result res = { 0 };

	run_nestvm(args, &res);
	assert_int_equal(res.exit_code, 125);
	assert_string_equal(res.out, "");
	if (strcmp(res.err, msg))
		print_message("got: %s", res.err);
	assert_string_equal(res.err, msg);
	cmd_result_free(&res);
}

static void test_trace__bad_paths_fail_before_the_run(void **state)
{
	struct tmp_files t;
	char msg[PATH_LEN * 2];

	(void)state;
	tmp_make(&t);
	expect_bad("--trace", "/nonexistent-dir/t.txt",
		   "nestvm: --trace: cannot create '/nonexistent-dir/t.txt': "
		   "No such file or directory\n");
	expect_bad("--trace-json", "/nonexistent-dir/t.json",
		   "nestvm: --trace-json: cannot create "
		   "'/nonexistent-dir/t.json': No such file or directory\n");
	snprintf(msg, sizeof(msg), "nestvm: --trace: '%s' is a directory\n",
		 t.dir);
	expect_bad("--trace", t.dir, msg);
	expect_bad("--trace", "", "nestvm: --trace: empty file name\n");
	expect_bad("--trace-limit", "x",
		   "nestvm: --trace-limit: bad count 'x' (events: a decimal "
		   "integer, 0 for no limit)\n");
	tmp_remove(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(
			test_trace__cpuid_loop_lists_every_exit_as_the_report_counts),
		cmocka_unit_test(
			test_trace__trap_cpuid_round_trip_is_eight_l1_exits),
		cmocka_unit_test(
			test_trace__shadow_cpuid_round_trip_is_two_l1_exits),
		cmocka_unit_test(test_trace__lines_have_kvm_tracepoint_fields),
		cmocka_unit_test(
			test_trace__json_has_three_tracks_and_ordered_slices),
		cmocka_unit_test(
			test_trace__limit_truncates_at_exactly_n_events),
		cmocka_unit_test(test_trace__tracing_does_not_change_the_run),
		cmocka_unit_test(test_trace__native_run_says_what_it_traces),
		cmocka_unit_test(test_trace__bad_paths_fail_before_the_run),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
