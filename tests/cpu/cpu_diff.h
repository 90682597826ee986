/* SPDX-License-Identifier: MIT */
/*
 * cpu_diff.h - the differential CPU tester as a library: runs random
 * user-mode instruction cases on the host CPU and in the model and reports
 * every case whose registers, RIP, SDM-defined flags, sandbox memory or
 * fault differ. Used by build/cpu-diff and by its fixed-seed test. Host
 * side, tests only.
 */
#ifndef NESTVM_TESTS_CPU_CPU_DIFF_H
#define NESTVM_TESTS_CPU_CPU_DIFF_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

struct cpu_diff_opts {
	uint64_t seed;
	uint64_t first; /* number of the first case */
	uint64_t cases; /* how many */
	const char *only; /* a form name (see cpu_diff_form_name()), or NULL */
	bool verbose; /* one line per case */
	FILE *out; /* mismatch reports and verbose lines */
};

struct cpu_diff_totals {
	uint64_t cases;
	uint64_t mismatches; /* including cases the model found invalid */
	uint64_t faults; /* cases that faulted the same way on both sides */
	uint64_t fault_vectors[32]; /* of those, by vector */
};

/* Runs cases [first, first + cases) of the seed. 0, -EINVAL for an
 * unknown form, or -errno if the host region or the machine could not
 * be set up. */
int cpu_diff_run(const struct cpu_diff_opts *o, struct cpu_diff_totals *t);

/* The i-th form's name, or NULL past the end. */
const char *cpu_diff_form_name(size_t i);

#endif
