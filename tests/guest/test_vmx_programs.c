/* SPDX-License-Identifier: MIT */
/*
 * Whole-stack tests of the VMX test programs (tests/vmx/, docs/vmx-tests.md):
 * build/nestvm runs each one on the model's VT-x; it must exit 0 and print
 * exactly tests/vmx/expected/<program>.out, whose check lines must all be
 * "ok". Each also runs as L1 under L0 (nested, no --native) and must print
 * the same lines: every control L0 offers works for L1 as on the bare
 * model. The comparison with Bochs is `ninja vmx-oracle`, outside `ninja
 * test`. Host side; run from the top of the tree.
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

#include "tests/lib/run_cmd.h"

#ifndef NESTVM_DEFAULT_PATH
#define NESTVM_DEFAULT_PATH "build/nestvm"
#endif
#define PROGRAM_DIR "build/tests/vmx/"
#define EXPECTED_DIR "tests/vmx/expected/"
#define TIMEOUT_S 300

static char *read_expected(const char *name)
{
	char path[256];
	FILE *f;
	char *buf;
	long size = -1;

	snprintf(path, sizeof(path), EXPECTED_DIR "%s.out", name);
	f = fopen(path, "rb");
	if (!f)
		fail_msg("cannot read %s", path);
	if (fseek(f, 0, SEEK_END) || (size = ftell(f)) < 0 ||
	    fseek(f, 0, SEEK_SET))
		fail_msg("cannot size %s", path);
	buf = calloc(1, (size_t)size + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)size, f), (size_t)size);
	fclose(f);
	return buf;
}

/* Prints the first line where @got and @want part, for the log. */
static void report_first_difference(const char *got, const char *want)
{
	unsigned int line = 1;
	const char *g = got, *w = want;

	while (*g && *g == *w) {
		if (*g == '\n') {
			line++;
			got = g + 1;
			want = w + 1;
		}
		g++;
		w++;
	}
	print_error(
		"first difference on line %u:\n  got:  %.*s\n  want: %.*s\n",
		line, (int)strcspn(got, "\n"), got, (int)strcspn(want, "\n"),
		want);
}

static void run_program_at(const char *name, bool native)
{
	char elf[128];
	const char *argv[] = { NESTVM_DEFAULT_PATH, "run", "--native", elf,
			       NULL };
	struct cmd_result res;
	char *want;

	snprintf(elf, sizeof(elf), PROGRAM_DIR "%s.elf", name);
	/* Nested: the program is L1, L0 virtualizes VMX for it. */
	if (!native) {
		argv[2] = elf;
		argv[3] = NULL;
	}
	if (run_cmd((char *const *)argv, TIMEOUT_S, &res))
		fail_msg("cannot run %s: build it and run from the top of the "
			 "tree",
			 NESTVM_DEFAULT_PATH);
	want = read_expected(name);
	if (strcmp(res.out, want))
		report_first_difference(res.out, want);
	assert_string_equal(res.out, want);
	assert_int_equal(res.exit_code, 0);
	/* Natively nothing else is said; nested, L0's accounting lines. */
	if (native)
		assert_string_equal(res.err, "");
	else
		assert_non_null(strstr(res.err, "nestvm: per level"));
	free(want);
	cmd_result_free(&res);
}

static void run_program(const char *name)
{
	run_program_at(name, true);
}

/* As L1 under L0. */
#define UNDER_L0(prog)                                               \
	static void test_vmx_programs__##prog##_under_l0_same_lines( \
		void **state)                                        \
	{                                                            \
		(void)state;                                         \
		run_program_at(#prog, false);                        \
	}
UNDER_L0(vmx_fields)
UNDER_L0(vmx_insn)
UNDER_L0(vmx_entry)
UNDER_L0(vmx_exits)
UNDER_L0(vmx_shadow)
UNDER_L0(vmx_real)
UNDER_L0(vmx_events)
UNDER_L0(vmx_mtf)

static void test_vmx_programs__vmx_fields_prints_expected_lines(void **state)
{
	(void)state;
	run_program("vmx_fields");
}

static void test_vmx_programs__vmx_insn_prints_expected_lines(void **state)
{
	(void)state;
	run_program("vmx_insn");
}

static void test_vmx_programs__vmx_entry_prints_expected_lines(void **state)
{
	(void)state;
	run_program("vmx_entry");
}

static void test_vmx_programs__vmx_exits_prints_expected_lines(void **state)
{
	(void)state;
	run_program("vmx_exits");
}

static void test_vmx_programs__vmx_shadow_prints_expected_lines(void **state)
{
	(void)state;
	run_program("vmx_shadow");
}

static void test_vmx_programs__vmx_real_prints_expected_lines(void **state)
{
	(void)state;
	run_program("vmx_real");
}

static void test_vmx_programs__vmx_events_prints_expected_lines(void **state)
{
	(void)state;
	run_program("vmx_events");
}

static void test_vmx_programs__vmx_mtf_prints_expected_lines(void **state)
{
	(void)state;
	run_program("vmx_mtf");
}

/* The expected outputs are the SDM's answers: every check line is "ok",
 * and each file ends with its own "0 failed" summary. */
static void test_vmx_programs__expected_outputs_have_no_failures(void **state)
{
	static const char *const names[] = { "vmx_fields", "vmx_insn",
					     "vmx_entry",  "vmx_exits",
					     "vmx_shadow", "vmx_real",
					     "vmx_events", "vmx_mtf" };

	(void)state;
	for (size_t k = 0; k < sizeof(names) / sizeof(names[0]); k++) {
		char *want = read_expected(names[k]);
		char tail[64];
		unsigned int checks = 0;

		for (char *line = want; *line;) {
			size_t len = strcspn(line, "\n");

			if (!strncmp(line, "ok   ", 5))
				checks++;
			else if (strncmp(line, "# ", 2))
				fail_msg("%s: not an ok line: %.*s", names[k],
					 (int)len, line);
			line += len + (line[len] == '\n');
		}
		assert_true(checks > 0);
		snprintf(tail, sizeof(tail), "# %s: %u checks, 0 failed\n",
			 names[k], checks);
		assert_true(strlen(want) >= strlen(tail));
		assert_string_equal(want + strlen(want) - strlen(tail), tail);
		free(want);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(
			test_vmx_programs__vmx_fields_prints_expected_lines),
		cmocka_unit_test(
			test_vmx_programs__vmx_insn_prints_expected_lines),
		cmocka_unit_test(
			test_vmx_programs__vmx_entry_prints_expected_lines),
		cmocka_unit_test(
			test_vmx_programs__vmx_exits_prints_expected_lines),
		cmocka_unit_test(
			test_vmx_programs__vmx_shadow_prints_expected_lines),
		cmocka_unit_test(
			test_vmx_programs__vmx_real_prints_expected_lines),
		cmocka_unit_test(
			test_vmx_programs__vmx_events_prints_expected_lines),
		cmocka_unit_test(
			test_vmx_programs__vmx_mtf_prints_expected_lines),
		cmocka_unit_test(
			test_vmx_programs__expected_outputs_have_no_failures),
		cmocka_unit_test(
			test_vmx_programs__vmx_fields_under_l0_same_lines),
		cmocka_unit_test(
			test_vmx_programs__vmx_insn_under_l0_same_lines),
		cmocka_unit_test(
			test_vmx_programs__vmx_entry_under_l0_same_lines),
		cmocka_unit_test(
			test_vmx_programs__vmx_exits_under_l0_same_lines),
		cmocka_unit_test(
			test_vmx_programs__vmx_shadow_under_l0_same_lines),
		cmocka_unit_test(
			test_vmx_programs__vmx_real_under_l0_same_lines),
		cmocka_unit_test(
			test_vmx_programs__vmx_events_under_l0_same_lines),
		cmocka_unit_test(
			test_vmx_programs__vmx_mtf_under_l0_same_lines),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
