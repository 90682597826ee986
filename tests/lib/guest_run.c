/* SPDX-License-Identifier: MIT */
/*
 * guest_run.c - the whole-stack tests' shared helpers (tests/lib/
 * guest_run.h): running nestvm, expected outputs, numbers from report
 * and RESULT lines. Host side, tests only.
 */
#include "tests/lib/guest_run.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EXPECTED_DIR "tests/guest/expected/"

void guest_run_argv(const char *const argv[], struct cmd_result *res)
{
	if (run_cmd((char *const *)argv, GUEST_RUN_TIMEOUT_S, res))
		fail_msg("cannot run %s: build it and run from the top of the "
			 "tree",
			 argv[0]);
	if (res->signaled)
		fail_msg("%s died of a signal (status %d); stderr:\n%s",
			 argv[0], res->exit_code, res->err);
}

void guest_run(struct cmd_result *res, const char *prog, ...)
{
	const char *argv[GUEST_RUN_ARGS_MAX];
	size_t n = 0;
	const char *w;
	va_list ap;

	argv[n++] = prog;
	va_start(ap, prog);
	while ((w = va_arg(ap, const char *))) {
		assert_true(n < GUEST_RUN_ARGS_MAX - 1);
		argv[n++] = w;
	}
	va_end(ap);
	argv[n] = NULL;
	guest_run_argv(argv, res);
}

char *guest_run_read_expected(const char *name)
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

void guest_run_expect(const struct cmd_result *res, const char *want,
		      int status)
{
	if (strcmp(res->out, want) || res->exit_code != status)
		print_message("[ want stdout ]\n%s[ got stdout ]\n%s[ stderr "
			      "]\n%s\n[ status %d ]\n",
			      want, res->out, res->err, res->exit_code);
	assert_string_equal(res->out, want);
	assert_false(res->signaled);
	assert_int_equal(res->exit_code, status);
}

unsigned long long guest_run_value(const char *text, const char *prefix)
{
	const char *at = strstr(text, prefix);
	unsigned long long v;

	if (!at)
		fail_msg("no \"%s\" in:\n%s", prefix, text);
	if (sscanf(at + strlen(prefix), "%llu", &v) != 1)
		fail_msg("no number after \"%s\"", prefix);
	return v;
}

unsigned long long guest_run_nested(const char *err, const char *line,
				    const char *field)
{
	char pat[192], fpat[80];
	const char *at, *end, *f;
	unsigned long long v;

	snprintf(pat, sizeof(pat), "nestvm: nested: %s ", line);
	if (!field)
		return guest_run_value(err, pat);
	at = strstr(err, pat);
	if (!at)
		fail_msg("no \"%s\" in stderr:\n%s", pat, err);
	snprintf(fpat, sizeof(fpat), " %s ", field);
	end = strchr(at, '\n');
	f = strstr(at, fpat);
	if (!f || (end && f > end))
		fail_msg("no \"%s\" in the line \"%s\"", field, pat);
	if (sscanf(f + strlen(fpat), "%llu", &v) != 1)
		fail_msg("no number after \"%s\" in \"%s\"", field, pat);
	return v;
}

unsigned long long guest_run_table(const char *err, const char *key)
{
	return guest_run_nested(err, key, NULL);
}

unsigned long long guest_run_result(const char *out, const char *name)
{
	char pat[128];

	snprintf(pat, sizeof(pat), "RESULT %s ", name);
	return guest_run_value(out, pat);
}

bool guest_run_has_result(const char *out, const char *name)
{
	char pat[128];

	snprintf(pat, sizeof(pat), "RESULT %s ", name);
	return strstr(out, pat) != NULL;
}
