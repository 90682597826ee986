/* SPDX-License-Identifier: MIT */
/*
 * cpu-diff - the differential CPU tester's command line: runs N random
 * user-mode instruction cases on the host CPU and in the model and prints
 * one block per mismatch, then exactly "cpu-diff: N cases, M mismatches".
 * Semantics compared: SDM Vol. 2 instruction pages. Host side, tests only.
 *
 *   cpu-diff [--cases N] [--seed S] [--case K] [--only FORM] [--verbose]
 *            [--list]
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/cpu/cpu_diff.h"

static const char usage[] =
	"usage: cpu-diff [--cases N] [--seed S] [--case K] [--only FORM] "
	"[--verbose] [--list]";

static int bad_usage(const char *what, const char *arg)
{
	fprintf(stderr, "cpu-diff: %s%s%s (%s)\n", what, arg ? ": " : "",
		arg ? arg : "", usage);
	return 2;
}

/* A decimal or 0x number that uses the whole string. */
static bool parse_u64(const char *s, uint64_t *v)
{
	char *end;

	if (!s || !*s || *s == '-')
		return false;
	errno = 0;
	*v = strtoull(s, &end, 0);
	return !errno && !*end;
}

static void print_forms(void)
{
	for (size_t i = 0; cpu_diff_form_name(i); i++)
		printf("%s\n", cpu_diff_form_name(i));
}

int main(int argc, char **argv)
{
	struct cpu_diff_opts o = { .seed = 1, .cases = 100000, .out = stdout };
	struct cpu_diff_totals t;
	int err;

	for (int k = 1; k < argc; k++) {
		const char *a = argv[k], *v = k + 1 < argc ? argv[k + 1] : NULL;

		if (!strcmp(a, "--verbose")) {
			o.verbose = true;
		} else if (!strcmp(a, "--list")) {
			print_forms();
			return 0;
		} else if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
			printf("%s\n", usage);
			return 0;
		} else if (!strcmp(a, "--cases")) {
			if (!parse_u64(v, &o.cases))
				return bad_usage("--cases needs a number", v);
			k++;
		} else if (!strcmp(a, "--seed")) {
			if (!parse_u64(v, &o.seed))
				return bad_usage("--seed needs a number", v);
			k++;
		} else if (!strcmp(a, "--case")) {
			if (!parse_u64(v, &o.first))
				return bad_usage("--case needs a number", v);
			o.cases = 1;
			k++;
		} else if (!strcmp(a, "--only")) {
			if (!v)
				return bad_usage("--only needs a form name",
						 NULL);
			o.only = v;
			k++;
		} else {
			return bad_usage("unknown argument", a);
		}
	}

	err = cpu_diff_run(&o, &t);
	if (err == -EINVAL)
		return bad_usage("no such form (--list shows them)", o.only);
	if (err) {
		fprintf(stderr, "cpu-diff: cannot set up: %s\n",
			strerror(-err));
		return 1;
	}
	if (t.faults) {
		printf("cpu-diff: %" PRIu64 " cases faulted alike:", t.faults);
		for (int v = 0; v < 32; v++)
			if (t.fault_vectors[v])
				printf(" vector %d x%" PRIu64, v,
				       t.fault_vectors[v]);
		printf("\n");
	}
	printf("cpu-diff: %" PRIu64 " cases, %" PRIu64 " mismatches\n", t.cases,
	       t.mismatches);
	return t.mismatches ? 1 : 0;
}
