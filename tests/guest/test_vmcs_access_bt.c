/* SPDX-License-Identifier: MIT */
/*
 * test_vmcs_access_bt - whole-stack runs of L2 guests under l1-shim with
 * --vmcs-access bt (l0/bt_l1.c, docs/design/bt.md): L1's exit handler runs
 * under L0's binary translator. Same output as --vmcs-access trap; no L1
 * exit and two world switches (L2's exit and re-entry) per reflected exit
 * in the steady state; l1-shim's own VMREAD/VMWRITE count per exit as
 * callouts; exact fallback counts; the one-line refusals. And --bt
 * adaptive|always (l0/bt_l2.c): the same output as --bt off, no world
 * switch per L2 exit while L2's region runs translated, exact fallbacks.
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
#define CPUID_LOOP "build/guests/cpuid_loop.elf"
#define TIMEOUT_S 300
#define ARGS_MAX 24

/* nestvm run --profile p4-prescott --vmcs-access ACCESS [extra...]
 * l1-shim --module L2 [--append APPEND]. */
static void run(const char *access, const char *const *extra, const char *l2,
		const char *append, struct cmd_result *res)
{
	const char *argv[ARGS_MAX] = { NESTVM_DEFAULT_PATH, "run",
				       "--profile",	    "p4-prescott",
				       "--vmcs-access",	    access };
	size_t n = 6;

	for (; extra && *extra; extra++)
		argv[n++] = *extra;
	argv[n++] = L1_SHIM;
	argv[n++] = "--module";
	argv[n++] = l2;
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

/* The number after key (a whole "nestvm: ... NAME " prefix) on stderr. */
static unsigned long long stat(const struct cmd_result *res, const char *key)
{
	const char *p = strstr(res->err, key);

	if (!p)
		fail_msg("no '%s' in:\n%s", key, res->err);
	return strtoull(p + strlen(key), NULL, 10);
}

static unsigned long long bt_stat(const struct cmd_result *res,
				  const char *name)
{
	char key[96];

	snprintf(key, sizeof(key), "nestvm: bt_l1: %s ", name);
	return stat(res, key);
}

/* out without the values of "RESULT name value cycles" lines: the clocks
 * differ between strategies, names and counts must not. */
static void mask_cycles(const char *out, char *buf, size_t len)
{
	size_t at = 0;

	while (*out && at + 2 < len) {
		const char *eol = strchr(out, '\n');
		size_t l = eol ? (size_t)(eol - out + 1) : strlen(out);
		const char *sp = NULL;

		if (!strncmp(out, "RESULT ", 7) && l > 8 &&
		    !strncmp(out + l - 8, " cycles\n", 8))
			sp = memchr(out + 7, ' ', l - 7);
		if (sp)
			at += (size_t)snprintf(buf + at, len - at,
					       "%.*s * cycles\n",
					       (int)(sp - out), out);
		else
			at += (size_t)snprintf(buf + at, len - at, "%.*s",
					       (int)l, out);
		out += l;
	}
	buf[at < len ? at : len - 1] = 0;
}

/* The run under trap and under bt: the same output (cycles masked) and
 * exit status 0 both; bt's result stays in *bt. */
static void expect_same_as_trap(const char *l2, const char *append,
				struct cmd_result *bt)
{
	struct cmd_result trap = { 0 };
	static char a[16384], b[16384];

	run("trap", NULL, l2, append, &trap);
	run("bt", NULL, l2, append, bt);
	mask_cycles(trap.out, a, sizeof(a));
	mask_cycles(bt->out, b, sizeof(b));
	if (strcmp(a, b) || bt->exit_code)
		print_message("[ trap ]\n%s[ bt ]\n%s[ stderr ]\n%s\n",
			      trap.out, bt->out, bt->err);
	assert_int_equal(trap.exit_code, 0);
	assert_int_equal(bt->exit_code, 0);
	assert_string_equal(b, a);
	assert_non_null(strstr(a, "RESULT "));
	cmd_result_free(&trap);
}

static void expect_no_fallback(const struct cmd_result *res)
{
	static const char *const causes[] = {
		"vmx",	"vmfail", "entry_failure", "fault",
		"insn", "unimpl", "exit",	   "state",
	};

	for (size_t k = 0; k < sizeof(causes) / sizeof(causes[0]); k++) {
		char name[64];

		snprintf(name, sizeof(name), "fallback %s", causes[k]);
		assert_int_equal(bt_stat(res, name), 0);
	}
}

/*
 * 1,000 L2 CPUIDs: each is reflected with no L1 exit and 2 world switches
 * (L2's exit and its re-entry by L1's translated VMRESUME); l1-shim's
 * handler reads 5 fields and writes 1 (docs/design/nested.md), here as
 * callouts, and runs its own CPUID as one. L1 ran on the hardware only
 * before the first reflection: one coherence reset. The last translated
 * run ends the machine (L1's OUT to the debug-exit port).
 */
static void test_vmcs_access_bt__cpuid_loop_no_l1_exit_per_cpuid(void **state)
{
	struct cmd_result res = { 0 };

	(void)state;
	expect_same_as_trap(CPUID_LOOP, "stats -- 1000", &res);
	assert_int_equal(stat(&res, "nestvm: nested: reflected CPUID (10) "
				    "count "),
			 1000);
	assert_non_null(strstr(res.err, "nestvm: nested: reflected CPUID (10) "
					"count 1000 l1_exits 0 "
					"world_switches 2000 vmreads 0 "
					"vmwrites 0 l1_insns 0 "));
	assert_non_null(strstr(res.err, "nestvm: nested: reflected_bt CPUID "
					"(10) vmreads 5000 vmwrites 1000 "));
	assert_int_equal(bt_stat(&res, "cpuids"), 1000);
	assert_int_equal(bt_stat(&res, "runs"), bt_stat(&res, "entries") + 1);
	assert_int_equal(bt_stat(&res, "coherence_resets"), 1);
	assert_int_equal(bt_stat(&res, "callout UNIMPL"), 0);
	expect_no_fallback(&res);
	/* L1's own exits are its setup only: none is a CPUID but the one
	 * that checks for VMX. */
	assert_int_equal(stat(&res, "nestvm: nested: l1_exit CPUID (10) "), 1);
	cmd_result_free(&res);
}

static void test_vmcs_access_bt__hello_same_output_as_trap(void **state)
{
	struct cmd_result res = { 0 };

	(void)state;
	expect_same_as_trap("build/guests/hello.elf", NULL, &res);
	assert_true(bt_stat(&res, "runs") > 0);
	assert_int_equal(bt_stat(&res, "runs"), bt_stat(&res, "entries") + 1);
	expect_no_fallback(&res);
	cmd_result_free(&res);
}

/* A count at 200 iterations of bench minus at 100 (setup and the first
 * translations drop out). */
static unsigned long long per_100(const struct cmd_result *r100,
				  const struct cmd_result *r200,
				  const char *key, bool bt)
{
	return bt ? bt_stat(r200, key) - bt_stat(r100, key)
		  : stat(r200, key) - stat(r100, key);
}

static void run_bench(const char *shim, const char *bench, unsigned int iters,
		      struct cmd_result *res)
{
	char append[128];

	snprintf(append, sizeof(append), "%s-- bench=%s iters=%u", shim, bench,
		 iters);
	expect_same_as_trap(NANO, append, res);
}

/*
 * The nanobenchmark `in` (an L2 IN of a port l1-shim answers itself): per
 * iteration one reflected exit, no L1 exit, 2 world switches, and
 * l1-shim's handler as callouts: 7 VMX (5 VMREAD, 1 VMWRITE, VMRESUME),
 * 1 indirect CALL (the handler table), 1 indirect JMP; its 3 RETs hit
 * the TC's return table (no callout); every
 * direct branch chained (no EXIT callout); nothing falls back and L1
 * never runs on the hardware.
 */
static void test_vmcs_access_bt__in_loop_no_l1_exit_per_iteration(void **state)
{
	struct cmd_result r100 = { 0 }, r200 = { 0 };
	const char *refl = "nestvm: nested: reflected IO_INSTRUCTION (30) "
			   "count ";

	(void)state;
	run_bench("", "in", 100, &r100);
	run_bench("", "in", 200, &r200);
	assert_int_equal(per_100(&r100, &r200, refl, false), 100);
	assert_int_equal(
		per_100(&r100, &r200, "nestvm: nested: world_switches ", false),
		200);
	assert_int_equal(per_100(&r100, &r200, "vmreads", true), 500);
	assert_int_equal(per_100(&r100, &r200, "vmwrites", true), 100);
	assert_int_equal(per_100(&r100, &r200, "callout VMX", true), 700);
	assert_int_equal(per_100(&r100, &r200, "callout RET", true), 0);
	assert_int_equal(per_100(&r100, &r200, "callout CALL_IND", true), 100);
	assert_int_equal(per_100(&r100, &r200, "callout JMP_IND", true), 100);
	assert_int_equal(per_100(&r100, &r200, "callout EXIT", true), 0);
	assert_int_equal(per_100(&r100, &r200, "callouts", true), 900);
	assert_int_equal(per_100(&r100, &r200, "runs", true), 100);
	assert_int_equal(per_100(&r100, &r200, "entries", true), 100);
	assert_int_equal(stat(&r200, "nestvm: nested: insns_l1 "),
			 stat(&r100, "nestvm: nested: insns_l1 "));
	expect_no_fallback(&r200);
	cmd_result_free(&r100);
	cmd_result_free(&r200);
}

/*
 * l1-shim's shadow MMU (mmu=shadow) under the pgfault benchmark: per
 * iteration 3 translated runs (the true #PF, the PTE store, the INVLPG);
 * the true fault's handler loads L2's CR2 (MOV to CR2: insn fallback),
 * the INVLPG's handler flushes with INVVPID (vmx fallback), each then
 * finishing on the hardware, so the next translated run starts with a
 * coherence reset; one run per iteration ends in VMRESUME translated.
 * Output as under trap.
 */
static void test_vmcs_access_bt__shadow_pgfault_falls_back_exactly(void **state)
{
	struct cmd_result r100 = { 0 }, r200 = { 0 };

	(void)state;
	run_bench("mmu=shadow ", "pgfault", 100, &r100);
	run_bench("mmu=shadow ", "pgfault", 200, &r200);
	assert_int_equal(per_100(&r100, &r200, "runs", true), 300);
	assert_int_equal(per_100(&r100, &r200, "entries", true), 100);
	assert_int_equal(per_100(&r100, &r200, "fallback insn", true), 100);
	assert_int_equal(per_100(&r100, &r200, "fallback vmx", true), 100);
	assert_int_equal(per_100(&r100, &r200, "fallback unimpl", true), 0);
	assert_int_equal(per_100(&r100, &r200, "fallback fault", true), 0);
	assert_int_equal(per_100(&r100, &r200, "coherence_resets", true), 200);
	cmd_result_free(&r100);
	cmd_result_free(&r200);
}

/* --json: levels.L1.bt_l1 and each reflected reason's l1_bt term, with
 * cycles = switches + L0 + L1 + L1 translated exactly. */
static void test_vmcs_access_bt__json_counts_and_breakdown(void **state)
{
	char json[] = "build/test_vmcs_access_bt.XXXXXX";
	const char *extra[] = { "--json", json, NULL };
	struct cmd_result res = { 0 };
	const char *r = "reflected.CPUID";
	char *doc;
	char path[128];
	int fd;

	(void)state;
	/* A name of its own: the sanitizer build runs this test too. */
	fd = mkstemp(json);
	assert_true(fd >= 0);
	close(fd);
	run("bt", extra, CPUID_LOOP, "-- 100", &res);
	assert_int_equal(res.exit_code, 0);
	doc = read_file(json);
	assert_non_null(doc);
	assert_true(js_valid(doc));
	assert_int_equal(js_u64(doc, "levels.L1.bt_l1.fallbacks.vmx"), 0);
	assert_int_equal(js_u64(doc, "levels.L1.bt_l1.coherence_resets"), 1);
	assert_int_equal(js_u64(doc, "levels.L1.bt_l1.runs"),
			 js_u64(doc, "levels.L1.bt_l1.entries") + 1);
	snprintf(path, sizeof(path), "%s.count", r);
	assert_int_equal(js_u64(doc, path), 100);
	snprintf(path, sizeof(path), "%s.l1_exits", r);
	assert_int_equal(js_u64(doc, path), 0);
	snprintf(path, sizeof(path), "%s.world_switches", r);
	assert_int_equal(js_u64(doc, path), 200);
	snprintf(path, sizeof(path), "%s.vmreads_bt", r);
	assert_int_equal(js_u64(doc, path), 500);
	snprintf(path, sizeof(path), "%s.vmwrites_bt", r);
	assert_int_equal(js_u64(doc, path), 100);
	{
		unsigned long long c, sw, l0, l1, bt;

		snprintf(path, sizeof(path), "%s.cycles", r);
		c = js_u64(doc, path);
		snprintf(path, sizeof(path), "%s.breakdown.switches", r);
		sw = js_u64(doc, path);
		snprintf(path, sizeof(path), "%s.breakdown.l0", r);
		l0 = js_u64(doc, path);
		snprintf(path, sizeof(path), "%s.breakdown.l1", r);
		l1 = js_u64(doc, path);
		snprintf(path, sizeof(path), "%s.breakdown.l1_bt", r);
		bt = js_u64(doc, path);
		assert_int_equal(l1, 0);
		assert_true(bt > 0);
		assert_int_equal(c, sw + l0 + l1 + bt);
	}
	free(doc);
	unlink(json);
	cmd_result_free(&res);
}

/* What --vmcs-access bt cannot run with: one line, status 125. */
static void expect_refused(const char *const *extra, const char *want)
{
	struct cmd_result res = { 0 };

	run("bt", extra, CPUID_LOOP, NULL, &res);
	if (!strstr(res.err, want))
		print_message("[ want ]\n%s\n[ got ]\n%s", want, res.err);
	assert_int_equal(res.exit_code, 125);
	assert_string_equal(res.out, "");
	assert_non_null(strstr(res.err, want));
	assert_ptr_equal(strchr(res.err, '\n'), res.err + strlen(res.err) - 1);
	cmd_result_free(&res);
}

static void test_vmcs_access_bt__refusals_one_line_125(void **state)
{
	const char *shadow[] = { "--mmu", "shadow", NULL };
	const char *wp[] = { "--ept-coherence", "wp", NULL };

	(void)state;
	expect_refused(shadow, "nestvm: --vmcs-access bt: needs --mmu ept");
	expect_refused(wp, "nestvm: --vmcs-access bt: --ept-coherence wp ");
}

/* ---- --bt off|adaptive|always: L2's hot regions translated ---------------- */

static unsigned long long l2_stat(const struct cmd_result *res,
				  const char *name)
{
	char key[96];

	snprintf(key, sizeof(key), "nestvm: bt_l2: %s ", name);
	return stat(res, key);
}

/* The nanobenchmark bench with iters iterations under --vmcs-access bt
 * and --bt mode; exit status 0. */
static void run_bt(const char *mode, const char *l2, const char *append,
		   struct cmd_result *res)
{
	const char *extra[] = { "--bt", mode, NULL };

	run("bt", extra, l2, append, res);
	if (res->exit_code)
		print_message("[ stderr ]\n%s\n", res->err);
	assert_int_equal(res->exit_code, 0);
}

/* off, adaptive and always print the same (cycle values masked). */
static void expect_same_under_modes(const char *l2, const char *append,
				    struct cmd_result res[3])
{
	static const char *const modes[] = { "off", "adaptive", "always" };
	static char a[16384], b[16384];

	for (int k = 0; k < 3; k++)
		run_bt(modes[k], l2, append, &res[k]);
	mask_cycles(res[0].out, a, sizeof(a));
	assert_non_null(strstr(a, "RESULT "));
	for (int k = 1; k < 3; k++) {
		mask_cycles(res[k].out, b, sizeof(b));
		assert_string_equal(b, a);
	}
}

static void free3(struct cmd_result res[3])
{
	for (int k = 0; k < 3; k++)
		cmd_result_free(&res[k]);
}

/*
 * The `in` loop: the same output under off, adaptive and always; both
 * switch the loop's region to translation (one summary line each); in
 * the steady state every iteration is one L2 exit reflected with no
 * world switch at all (L2's IN and L1's VMRESUME both translated), one
 * translated run of each level, and L2 never runs on VT-x.
 */
static void test_bt_l2__in_loop_no_world_switch_per_iteration(void **state)
{
	struct cmd_result r100[3], r200[3];
	const char *ws = "nestvm: nested: world_switches ";
	const char *ins = "nestvm: nested: insns_l2 ";

	(void)state;
	memset(r100, 0, sizeof(r100));
	memset(r200, 0, sizeof(r200));
	expect_same_under_modes(NANO, "-- bench=in iters=100", r100);
	expect_same_under_modes(NANO, "-- bench=in iters=200", r200);
	for (int k = 1; k < 3; k++) {
		assert_non_null(strstr(r200[k].err, "nestvm: bt: region 0x"));
		assert_non_null(strstr(r200[k].err, " to translation after "));
		assert_non_null(strstr(r200[k].err,
				       " per 1,000 L2 instructions in this "
				       "window); break-even "));
		assert_int_equal(stat(&r200[k], ws), stat(&r100[k], ws));
		assert_int_equal(stat(&r200[k], ins), stat(&r100[k], ins));
		assert_int_equal(l2_stat(&r200[k], "reflected") -
					 l2_stat(&r100[k], "reflected"),
				 100);
		assert_int_equal(l2_stat(&r200[k], "runs") -
					 l2_stat(&r100[k], "runs"),
				 100);
		assert_int_equal(l2_stat(&r200[k], "callout IO") -
					 l2_stat(&r100[k], "callout IO"),
				 100);
		assert_int_equal(bt_stat(&r200[k], "runs") -
					 bt_stat(&r100[k], "runs"),
				 100);
		assert_int_equal(l2_stat(&r200[k], "coherence_resets"),
				 l2_stat(&r100[k], "coherence_resets"));
		assert_int_equal(l2_stat(&r200[k], "to_hardware"), 0);
	}
	/* off: 2 world switches per iteration (L2's exit and entry). */
	assert_int_equal(stat(&r200[0], ws) - stat(&r100[0], ws), 200);
	assert_null(strstr(r200[0].err, "nestvm: bt_l2: "));
	free3(r100);
	free3(r200);
}

/* 1,000 CPUIDs under always: the first reflected from VT-x, the other
 * 999 from the translation with no switch; L2's own clock says each is
 * cheaper than under off. */
static void test_bt_l2__cpuid_loop_always_one_world_switch(void **state)
{
	struct cmd_result res[3];

	(void)state;
	memset(res, 0, sizeof(res));
	expect_same_under_modes(CPUID_LOOP, "stats -- 1000", res);
	assert_non_null(strstr(res[2].err, "nestvm: nested: reflected CPUID "
					   "(10) count 1000 l1_exits 0 "
					   "world_switches 1 "));
	assert_non_null(strstr(res[0].err, "nestvm: nested: reflected CPUID "
					   "(10) count 1000 l1_exits 0 "
					   "world_switches 2000 "));
	{
		const char *k = "RESULT cpuid_cycles_per_iter ";
		const char *a = strstr(res[2].out, k),
			   *o = strstr(res[0].out, k);

		assert_non_null(a);
		assert_non_null(o);
		assert_true(strtoull(a + strlen(k), NULL, 10) <
			    strtoull(o + strlen(k), NULL, 10));
	}
	free3(res);
}

/*
 * The architectural state a run leaves, as `nestvm nested-state` prints
 * the --nested-state-out snapshot: L1's VMX state and the whole vmcs12,
 * i.e. L2's guest state saved at its last exit and the exit information
 * L1 read (malloc'd text). access/extra as for run().
 */
static char *final_state(const char *access, const char *const *extra,
			 const char *l2, const char *append)
{
	char path[] = "build/tests/bt-state-XXXXXX";
	const char *args[12];
	const char *dump[] = { NESTVM_DEFAULT_PATH, "nested-state", path,
			       NULL };
	struct cmd_result res = { 0 };
	size_t n = 0;
	char *text;
	int fd = mkstemp(path);

	assert_true(fd >= 0);
	close(fd);
	for (; extra && *extra; extra++)
		args[n++] = *extra;
	args[n++] = "--nested-state-out";
	args[n++] = path;
	args[n] = NULL;
	run(access, args, l2, append, &res);
	if (res.exit_code)
		print_message("[ stderr ]\n%s\n", res.err);
	assert_int_equal(res.exit_code, 0);
	cmd_result_free(&res);
	if (run_cmd((char *const *)dump, TIMEOUT_S, &res))
		fail_msg("cannot run %s", NESTVM_DEFAULT_PATH);
	unlink(path);
	assert_int_equal(res.exit_code, 0);
	text = strdup(res.out);
	assert_non_null(text);
	cmd_result_free(&res);
	return text;
}

/* Fails naming the first line where got differs from want. */
static void expect_same_state(const char *what, const char *want,
			      const char *got)
{
	const char *a = want, *b = got;

	while (*a && *a == *b) {
		a++;
		b++;
	}
	if (!*a && !*b)
		return;
	while (a > want && a[-1] != '\n')
		a--, b--;
	fail_msg("%s: the final state differs at\n  want: %.*s\n  got:  %.*s",
		 what, (int)strcspn(a, "\n"), a, (int)strcspn(b, "\n"), b);
}

/*
 * The guest-visible state is the same on every path: L2's workloads
 * leave exactly the same L1 VMX state and vmcs12 (L2's registers and
 * segments at its last exit, every exit-information field L1 read) under
 * --vmcs-access trap, shadow, shadow-all and bt, and under bt with --bt
 * off, adaptive and always. (pv is left out: its L1 keeps an enlightened
 * VMCS, which the nested-state snapshot does not hold.)
 */
static void test_bt_l2__same_final_state_on_every_path(void **state)
{
	static const struct {
		const char *l2, *append;
	} w[] = {
		{ NANO, "-- bench=in iters=50" },
		{ NANO, "-- bench=cr8wr iters=50" },
		{ NANO, "-- bench=callret iters=50" },
		{ NANO, "-- bench=divzero iters=50" },
		{ CPUID_LOOP, "-- 50" },
	};
	static const struct {
		const char *access, *bt;
	} paths[] = {
		{ "shadow", NULL },   { "shadow-all", NULL }, { "bt", "off" },
		{ "bt", "adaptive" }, { "bt", "always" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(w) / sizeof(w[0]); i++) {
		char *want = final_state("trap", NULL, w[i].l2, w[i].append);

		assert_non_null(strstr(want, "vmcs12.GUEST_RIP "));
		for (size_t k = 0; k < sizeof(paths) / sizeof(paths[0]); k++) {
			const char *extra[] = { "--bt", paths[k].bt, NULL };
			char what[160];
			char *got = final_state(paths[k].access,
						paths[k].bt ? extra : NULL,
						w[i].l2, w[i].append);

			snprintf(what, sizeof(what),
				 "%s %s, --vmcs-access %s%s%s", w[i].l2,
				 w[i].append, paths[k].access,
				 paths[k].bt ? " --bt " : "",
				 paths[k].bt ? paths[k].bt : "");
			expect_same_state(what, want, got);
			free(got);
		}
		free(want);
	}
}

/* The number after " field " in the stderr line that starts with line. */
static unsigned long long line_field(const struct cmd_result *res,
				     const char *line, const char *field)
{
	const char *at = strstr(res->err, line), *end, *f;
	char fpat[64];

	if (!at)
		fail_msg("no '%s' in:\n%s", line, res->err);
	snprintf(fpat, sizeof(fpat), " %s ", field);
	end = strchr(at, '\n');
	f = strstr(at, fpat);
	if (!f || (end && f > end))
		fail_msg("no '%s' in the line '%s'", field, line);
	return strtoull(f + strlen(fpat), NULL, 10);
}

/*
 * --prep dirty with L2 and L1's handler translated: L0 moves L1's TSC
 * offset at every round trip (the handler's charged cycles), which
 * dirties only the controls' class (TSC_OFFSET is written with them), so
 * each VMRESUME rewrites the hot fields and the controls -- 42 vmcs02
 * writes per reflected `in` exit against full's 101 -- and the guest
 * prints the same.
 */
static void test_bt_l2__prep_dirty_rewrites_hot_and_controls_only(void **state)
{
	static const char *const preps[] = { "full", "dirty" };
	static const unsigned long long want[] = { 10100, 4200 };
	static char a[16384], b[16384];
	const char *w = "nestvm: nested: reflected IO_INSTRUCTION (30) ";
	struct cmd_result r[2][2];

	(void)state;
	for (int p = 0; p < 2; p++) {
		for (int k = 0; k < 2; k++) {
			const char *extra[] = { "--bt", "always", "--prep",
						preps[p], NULL };

			memset(&r[p][k], 0, sizeof(r[p][k]));
			run("bt", extra, NANO,
			    k ? "-- bench=in iters=200"
			      : "-- bench=in iters=100",
			    &r[p][k]);
			assert_int_equal(r[p][k].exit_code, 0);
		}
		assert_int_equal(
			line_field(&r[p][1], w, "vmcs02_writes") -
				line_field(&r[p][0], w, "vmcs02_writes"),
			want[p]);
	}
	mask_cycles(r[0][1].out, a, sizeof(a));
	mask_cycles(r[1][1].out, b, sizeof(b));
	assert_string_equal(b, a);
	for (int p = 0; p < 2; p++)
		for (int k = 0; k < 2; k++)
			cmd_result_free(&r[p][k]);
}

/*
 * cr8wr: L2's MOV to CR8 is not translated for L2 (vmcs12's CR8 controls
 * decide it on VT-x): every iteration falls back at it (insn), the CR8
 * exit is a hardware exit (1 world switch), L1's VMRESUME re-enters the
 * translation; the MOV never retired on VT-x, so nothing is dropped.
 */
static void test_bt_l2__cr8wr_falls_back_once_per_iteration(void **state)
{
	struct cmd_result r100 = { 0 }, r200 = { 0 };
	const char *ws = "nestvm: nested: world_switches ";

	(void)state;
	run_bt("always", NANO, "-- bench=cr8wr iters=100", &r100);
	run_bt("always", NANO, "-- bench=cr8wr iters=200", &r200);
	assert_int_equal(l2_stat(&r200, "fallback insn") -
				 l2_stat(&r100, "fallback insn"),
			 100);
	assert_int_equal(stat(&r200, ws) - stat(&r100, ws), 200);
	assert_int_equal(l2_stat(&r200, "coherence_resets"),
			 l2_stat(&r100, "coherence_resets"));
	assert_int_equal(l2_stat(&r200, "runs") - l2_stat(&r100, "runs"), 100);
	cmd_result_free(&r100);
	cmd_result_free(&r200);
}

static void test_bt_l2__without_vmcs_access_bt_one_line_125(void **state)
{
	const char *argv[] = { NESTVM_DEFAULT_PATH,
			       "run",
			       "--profile",
			       "p4-prescott",
			       "--bt",
			       "adaptive",
			       L1_SHIM,
			       NULL };
	struct cmd_result res = { 0 };

	(void)state;
	if (run_cmd((char *const *)argv, TIMEOUT_S, &res))
		fail_msg("cannot run %s", NESTVM_DEFAULT_PATH);
	assert_int_equal(res.exit_code, 125);
	assert_string_equal(res.err,
			    "nestvm: --bt adaptive: translates L2 under L0 and "
			    "needs --vmcs-access bt (L1's handler translated "
			    "too)\n");
	cmd_result_free(&res);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(
			test_vmcs_access_bt__cpuid_loop_no_l1_exit_per_cpuid),
		cmocka_unit_test(
			test_vmcs_access_bt__hello_same_output_as_trap),
		cmocka_unit_test(
			test_vmcs_access_bt__in_loop_no_l1_exit_per_iteration),
		cmocka_unit_test(
			test_vmcs_access_bt__shadow_pgfault_falls_back_exactly),
		cmocka_unit_test(
			test_vmcs_access_bt__json_counts_and_breakdown),
		cmocka_unit_test(test_vmcs_access_bt__refusals_one_line_125),
		cmocka_unit_test(
			test_bt_l2__in_loop_no_world_switch_per_iteration),
		cmocka_unit_test(
			test_bt_l2__cpuid_loop_always_one_world_switch),
		cmocka_unit_test(
			test_bt_l2__cr8wr_falls_back_once_per_iteration),
		cmocka_unit_test(
			test_bt_l2__prep_dirty_rewrites_hot_and_controls_only),
		cmocka_unit_test(test_bt_l2__same_final_state_on_every_path),
		cmocka_unit_test(
			test_bt_l2__without_vmcs_access_bt_one_line_125),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
