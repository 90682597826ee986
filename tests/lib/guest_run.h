/* SPDX-License-Identifier: MIT */
/*
 * guest_run - what the whole-stack tests share: run nestvm with a word
 * list and capture it, read an expected output, and pick numbers out of
 * the run's report lines ("nestvm: nested: ...") and the guests' RESULT
 * lines, failing the current cmocka test with the text when one is
 * missing. Host side, tests only.
 */
#ifndef NESTVM_TESTS_GUEST_RUN_H
#define NESTVM_TESTS_GUEST_RUN_H

#include <stdbool.h>

#include "tests/lib/run_cmd.h"

/* Seconds a whole-stack run may take before it is killed. */
#define GUEST_RUN_TIMEOUT_S 300

/* Most words a run's command line may have. */
#define GUEST_RUN_ARGS_MAX 40

/* Runs argv (argv[0] the program, NULL-terminated) and fails the test if
 * it cannot start or dies of a signal. */
void guest_run_argv(const char *const argv[], struct cmd_result *res);

/* Runs prog with the words that follow, up to a NULL: a word may be NULL
 * only as the end, so optional pairs go through guest_run_argv(). */
void guest_run(struct cmd_result *res, const char *prog, ...);

/* tests/guest/expected/NAME.out (malloc'd), or fails the test. */
char *guest_run_read_expected(const char *name);

/* Fails the test, printing both outputs and stderr, unless the run
 * printed exactly want on stdout and exited with status. */
void guest_run_expect(const struct cmd_result *res, const char *want,
		      int status);

/* The number right after the first "prefix" in text, or fails. */
unsigned long long guest_run_value(const char *text, const char *prefix);

/*
 * The number in the report line that starts "nestvm: nested: LINE ":
 * right after it when field is NULL, else after " FIELD " in that line.
 * Fails when the line or the field is missing.
 */
unsigned long long guest_run_nested(const char *err, const char *line,
				    const char *field);

/* The number right after "nestvm: nested: KEY " (KEY may hold a reason
 * name: "exits CPUID"), or fails. */
unsigned long long guest_run_table(const char *err, const char *key);

/* The value of the guest's "RESULT NAME " line, or fails. */
unsigned long long guest_run_result(const char *out, const char *name);

/* True when text has a "RESULT NAME " line. */
bool guest_run_has_result(const char *out, const char *name);

#endif
