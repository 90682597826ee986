/* SPDX-License-Identifier: MIT */
/*
 * test_bt - whole-stack runs under `nestvm run --vmm bt`, L0's software
 * VMM (docs/design/bt.md): hello and the nanobenchmarks print what they
 * print natively (RESULT names and iteration counts; cycle values differ)
 * and exit 0, with the exact callouts per iteration each benchmark's code
 * implies; and the one-line refusals of what the software VMM cannot run.
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
#define NANO "build/guests/bench/nano.elf"
#define TIMEOUT_S 300
#define ARGS_MAX 16

/* nestvm run IMAGE [--append APPEND] natively or under --vmm bt (with
 * the p4-prescott profile, the one with A&A's software-VMM charges). */
static void run(bool bt, const char *image, const char *append,
		struct cmd_result *res)
{
	const char *argv[ARGS_MAX] = { NESTVM_DEFAULT_PATH, "run" };
	size_t n = 2;

	if (bt) {
		argv[n++] = "--vmm";
		argv[n++] = "bt";
		argv[n++] = "--profile";
		argv[n++] = "p4-prescott";
	} else {
		argv[n++] = "--native";
	}
	argv[n++] = image;
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

/* The value of "nestvm: bt: NAME N" on stderr. */
static uint64_t stat(const struct cmd_result *res, const char *name)
{
	char key[96];
	const char *p;

	snprintf(key, sizeof(key), "nestvm: bt: %s ", name);
	p = strstr(res->err, key);
	if (!p)
		fail_msg("no '%s' line in:\n%s", key, res->err);
	return strtoull(p + strlen(key), NULL, 10);
}

/* out with the value of every "RESULT name value cycles" line replaced
 * by "*": the clocks differ, the names and counts must not. */
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
		if (sp) {
			at += (size_t)snprintf(buf + at, len - at,
					       "%.*s * cycles\n",
					       (int)(sp - out), out);
		} else {
			at += (size_t)snprintf(buf + at, len - at, "%.*s",
					       (int)l, out);
		}
		out += l;
	}
	buf[at < len ? at : len - 1] = 0;
}

/* Runs image natively and under --vmm bt: same output (cycles masked),
 * exit 0 both. */
static void expect_same(const char *image, const char *append,
			struct cmd_result *bt)
{
	struct cmd_result native = { 0 };
	static char a[8192], b[8192];

	run(false, image, append, &native);
	run(true, image, append, bt);
	mask_cycles(native.out, a, sizeof(a));
	mask_cycles(bt->out, b, sizeof(b));
	if (strcmp(a, b) || bt->exit_code)
		print_message("[ native ]\n%s[ bt ]\n%s[ stderr ]\n%s\n",
			      native.out, bt->out, bt->err);
	assert_int_equal(native.exit_code, 0);
	assert_int_equal(bt->exit_code, 0);
	assert_string_equal(b, a);
	assert_non_null(strstr(a, "RESULT "));
	cmd_result_free(&native);
}

static void test_bt__hello_same_output_as_native(void **state)
{
	struct cmd_result res = { 0 };

	(void)state;
	expect_same("build/guests/hello.elf", NULL, &res);
	assert_true(stat(&res, "blocks") > 0);
	assert_true(stat(&res, "insns_translated") >= stat(&res, "blocks"));
	assert_int_equal(stat(&res, "callout UNIMPL"), 0);
	assert_int_equal(stat(&res, "flushes"), 0);
	cmd_result_free(&res);
}

/* A callout count of bench at 200 iterations minus at 100, over 100:
 * translation and setup are the same in both and drop out. */
struct per_iter {
	const char *stat;
	uint64_t per_iter;
};

static void expect_per_iter(const char *bench, const struct per_iter *want,
			    size_t n)
{
	struct cmd_result a = { 0 }, b = { 0 };
	char app[64];

	snprintf(app, sizeof(app), "bench=%s iters=100", bench);
	expect_same(NANO, app, &a);
	snprintf(app, sizeof(app), "bench=%s iters=200", bench);
	expect_same(NANO, app, &b);
	/* Everything translated at 100 iterations was all there was. */
	assert_int_equal(stat(&b, "insns_translated"),
			 stat(&a, "insns_translated"));
	for (size_t i = 0; i < n; i++) {
		uint64_t d = stat(&b, want[i].stat) - stat(&a, want[i].stat);

		if (d != 100 * want[i].per_iter)
			print_message("%s: %s went up by %" PRIu64 "\n", bench,
				      want[i].stat, d);
		assert_int_equal(d, 100 * want[i].per_iter);
	}
	cmd_result_free(&a);
	cmd_result_free(&b);
}

/* call rel32 is a PUSH + chained JMP in the TC; nano_empty's RET finds
 * its target in the return table (A&A's inline lookup): no callout. */
static void test_bt__nano_callret_no_callout_per_iteration(void **state)
{
	static const struct per_iter w[] = {
		{ "callouts", 0 },
		{ "callout RET", 0 },
		{ "guest_exceptions", 0 },
		{ "cycles_traps", 0 },
	};

	(void)state;
	expect_per_iter("callret", w, sizeof(w) / sizeof(w[0]));
}

/* mov cr8, rax: checked and written in the TC, no callout. */
static void test_bt__nano_cr8wr_no_callout_per_iteration(void **state)
{
	static const struct per_iter w[] = {
		{ "callouts", 0 },
		{ "callout MOV_CR", 0 },
	};

	(void)state;
	expect_per_iter("cr8wr", w, sizeof(w) / sizeof(w[0]));
}

/* in al, dx: one I/O callout to L0's UART. */
static void test_bt__nano_in_one_io_callout_per_iteration(void **state)
{
	static const struct per_iter w[] = {
		{ "callouts", 1 },
		{ "callout IO", 1 },
	};

	(void)state;
	expect_per_iter("in", w, sizeof(w) / sizeof(w[0]));
}

/* #DE delivered by L0 through the guest's IDT; the stub's indirect jump
 * to the C handler and IRETQ call out; the handler's and nano_div0's
 * RETs hit the return table. */
static void test_bt__nano_divzero_exception_iret_and_jmp(void **state)
{
	static const struct per_iter w[] = {
		{ "guest_exceptions", 1 },
		{ "callouts", 2 },
		{ "callout INT", 1 },
		{ "callout RET", 0 },
		{ "callout JMP_IND", 1 },
		/* the #DE exit: one trap at A&A's 2,030 */
		{ "cycles_traps", 2030 },
	};

	(void)state;
	expect_per_iter("divzero", w, sizeof(w) / sizeof(w[0]));
}

/* INVLPG, the true #PF the shadow gives back for delivery, the handler
 * reading CR2 (MOV_CR), its indirect entry and IRETQ; its RET hits the
 * return table. */
static void test_bt__nano_pgfault_true_fault_delivered(void **state)
{
	static const struct per_iter w[] = {
		{ "guest_exceptions", 1 },
		{ "callouts", 4 },
		{ "callout INVLPG", 1 },
		{ "callout MOV_CR", 1 },
		{ "callout INT", 1 },
		{ "callout RET", 0 },
		{ "callout JMP_IND", 1 },
		/* four #PF exits: the true fault, the loop's store to the
		 * PTE (emulated by the shadow), two hidden fills */
		{ "cycles_traps", 4 * 2030 },
	};

	(void)state;
	expect_per_iter("pgfault", w, sizeof(w) / sizeof(w[0]));
}

/* The PTE store runs in the TC; INVLPG is the one callout. */
static void test_bt__nano_ptemod_one_invlpg_callout(void **state)
{
	static const struct per_iter w[] = {
		{ "callouts", 1 },
		{ "callout INVLPG", 1 },
		/* the page is never touched, so its PTE's page is no
		 * shadowed table: the store runs without a trap */
		{ "cycles_traps", 0 },
	};

	(void)state;
	expect_per_iter("ptemod", w, sizeof(w) / sizeof(w[0]));
}

/* The setup (SGDT and STR run as they are, the SYSCALL MSRs, a CR3
 * reload, IRETQ to user code) then per iteration: SYSCALL's #UD from user
 * code (a trap) and the SYSRETQ callout; user code runs directly, its
 * two RDTSCs exit to read the virtual TSC. */
static void test_bt__nano_syscall_one_trap_and_one_sysret(void **state)
{
	static const struct per_iter w[] = {
		{ "syscalls", 1 },	   { "callouts", 1 },
		{ "callout INT", 1 },	   { "cycles_traps", 2030 },
		{ "guest_exceptions", 0 }, { "user_rdtsc", 0 },
	};

	(void)state;
	expect_per_iter("syscall", w, sizeof(w) / sizeof(w[0]));
}

/* --json carries the same counts under levels.L1.bt. */
static void test_bt__json_report_has_bt_counts(void **state)
{
	const char *path = NESTVM_DEFAULT_PATH "-test_bt.json";
	const char *argv[] = { NESTVM_DEFAULT_PATH,
			       "run",
			       "--vmm",
			       "bt",
			       "--profile",
			       "p4-prescott",
			       "--json",
			       path,
			       NANO,
			       "--append",
			       "bench=callret iters=100",
			       NULL };
	struct cmd_result res = { 0 };
	char buf[65536], want[64];
	size_t n;
	FILE *f;

	(void)state;
	assert_int_equal(run_cmd((char *const *)argv, TIMEOUT_S, &res), 0);
	assert_int_equal(res.exit_code, 0);
	f = fopen(path, "r");
	assert_non_null(f);
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	remove(path);
	buf[n] = 0;
	assert_non_null(strstr(buf, "\"bt\": {"));
	snprintf(want, sizeof(want), "\"insns_translated\": %" PRIu64 ",",
		 stat(&res, "insns_translated"));
	assert_non_null(strstr(buf, want));
	snprintf(want, sizeof(want), "\"RET\": %" PRIu64 ",",
		 stat(&res, "callout RET"));
	assert_non_null(strstr(buf, want));
	cmd_result_free(&res);
}

/* One line on stderr naming the conflict, status 125, nothing run. */
static void expect_refused(const char *const *extra, const char *words)
{
	const char *argv[ARGS_MAX] = { NESTVM_DEFAULT_PATH, "run" };
	struct cmd_result res = { 0 };
	size_t n = 2;

	for (; *extra; extra++)
		argv[n++] = *extra;
	argv[n++] = "build/guests/hello.elf";
	argv[n] = NULL;
	assert_int_equal(run_cmd((char *const *)argv, TIMEOUT_S, &res), 0);
	if (!strstr(res.err, words))
		print_message("stderr: %s\n", res.err);
	assert_int_equal(res.exit_code, 125);
	assert_string_equal(res.out, "");
	assert_non_null(strstr(res.err, words));
	assert_int_equal(strchr(res.err, '\n') - res.err + 1,
			 (long)strlen(res.err));
	cmd_result_free(&res);
}

static void test_bt__native_mmu_ept_and_profile_refused(void **state)
{
	static const char *const native[] = { "--vmm", "bt", "--native", NULL };
	static const char *const ept[] = { "--vmm", "bt", "--mmu", "ept",
					   NULL };
	static const char *const noprof[] = { "--vmm", "bt", NULL };
	static const char *const bad[] = { "--vmm", "sw", NULL };

	(void)state;
	expect_refused(native, "--vmm bt: the software VMM is a monitor");
	expect_refused(ept, "--vmm bt --mmu ept");
	expect_refused(noprof, "gives no software-VMM charges");
	expect_refused(bad, "--vmm: bad VMM 'sw' (hw or bt)");
}

/* nano with --max-insns under --vmm bt (and its VT-x run for the line). */
static void run_budget(bool bt, const char *budget, struct cmd_result *res)
{
	const char *argv[ARGS_MAX] = { NESTVM_DEFAULT_PATH, "run" };
	size_t n = 2;

	if (bt) {
		argv[n++] = "--vmm";
		argv[n++] = "bt";
	}
	argv[n++] = "--profile";
	argv[n++] = "p4-prescott";
	argv[n++] = "--max-insns";
	argv[n++] = budget;
	argv[n++] = NANO;
	argv[n++] = "--append";
	argv[n++] = "bench=syscall iters=100";
	argv[n] = NULL;
	assert_int_equal(run_cmd((char *const *)argv, TIMEOUT_S, res), 0);
}

/* The budget counts what the container retires (guest user code and the
 * TC): it stops with status 124 and the hardware path's line; a budget
 * the run does not reach changes nothing. */
static void test_bt__max_insns_stops_with_status_124(void **state)
{
	struct cmd_result hw = { 0 }, bt = { 0 }, big = { 0 };

	(void)state;
	run_budget(false, "1000", &hw);
	run_budget(true, "1000", &bt);
	assert_int_equal(hw.exit_code, 124);
	assert_int_equal(bt.exit_code, 124);
	assert_non_null(strstr(hw.err, "nestvm: the instruction limit (1000) "
				       "ran out at L1 RIP 0x"));
	assert_non_null(strstr(bt.err, "nestvm: the instruction limit (1000) "
				       "ran out at L1 RIP 0x"));
	assert_non_null(strstr(bt.err, "nestvm:   total                  "
				       "            1000 "));
	run_budget(true, "100000000", &big);
	assert_int_equal(big.exit_code, 0);
	assert_non_null(strstr(big.out, "RESULT syscall.iters 100 count"));
	cmd_result_free(&hw);
	cmd_result_free(&bt);
	cmd_result_free(&big);
}

/* A hypervisor as the guest (l1-shim) is refused at its first
 * instruction the software VMM does not virtualize: the RDMSR of a VMX
 * capability MSR, before any VMX instruction. */
static void test_bt__hypervisor_guest_stops_unimplemented(void **state)
{
	const char *argv[] = { NESTVM_DEFAULT_PATH,
			       "run",
			       "--vmm",
			       "bt",
			       "--profile",
			       "p4-prescott",
			       "build/l1-shim.elf",
			       "--module",
			       "build/guests/cpuid_loop.elf",
			       NULL };
	struct cmd_result res = { 0 };

	(void)state;
	assert_int_equal(run_cmd((char *const *)argv, TIMEOUT_S, &res), 0);
	if (!strstr(res.err, "unimplemented under BT at"))
		print_message("stderr: %s\n", res.err);
	assert_non_null(strstr(res.err, "RDMSR/WRMSR of an MSR the software "
					"VMM does not virtualize"));
	assert_int_equal(res.exit_code, 125);
	assert_int_equal(stat(&res, "callout MSR"), 1);
	assert_int_equal(stat(&res, "callout VMX"), 0);
	cmd_result_free(&res);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bt__hello_same_output_as_native),
		cmocka_unit_test(
			test_bt__nano_callret_no_callout_per_iteration),
		cmocka_unit_test(test_bt__nano_cr8wr_no_callout_per_iteration),
		cmocka_unit_test(test_bt__nano_in_one_io_callout_per_iteration),
		cmocka_unit_test(test_bt__nano_divzero_exception_iret_and_jmp),
		cmocka_unit_test(test_bt__nano_pgfault_true_fault_delivered),
		cmocka_unit_test(test_bt__nano_ptemod_one_invlpg_callout),
		cmocka_unit_test(test_bt__nano_syscall_one_trap_and_one_sysret),
		cmocka_unit_test(test_bt__json_report_has_bt_counts),
		cmocka_unit_test(test_bt__native_mmu_ept_and_profile_refused),
		cmocka_unit_test(test_bt__max_insns_stops_with_status_124),
		cmocka_unit_test(test_bt__hypervisor_guest_stops_unimplemented),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
