/* SPDX-License-Identifier: MIT */
/*
 * run_cmd - run a program as a child process and capture what it printed and
 * how it ended; used by the whole-stack tests that drive build/nestvm.
 * Host side, tests only.
 */
#ifndef NESTVM_TESTS_RUN_CMD_H
#define NESTVM_TESTS_RUN_CMD_H

#include <stddef.h>

struct cmd_result {
	int exit_code; /* the exit status, or 128 + signal if killed */
	int signaled; /* non-zero if it died of a signal */
	char *out; /* NUL-terminated standard output (malloc'd) */
	char *err; /* NUL-terminated standard error (malloc'd) */
	size_t out_len, err_len;
};

/* Runs argv[0] (a path) with argv, no standard input, and waits at most
 * timeout_s seconds (then kills it: signaled, exit_code 128 + SIGKILL).
 * Returns 0, or -errno if it could not be started. */
int run_cmd(char *const argv[], int timeout_s, struct cmd_result *res);
void cmd_result_free(struct cmd_result *res);

#endif
