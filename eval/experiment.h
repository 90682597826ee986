/* SPDX-License-Identifier: MIT */
/*
 * experiment.h - the evaluation as data: eval/experiments.txt defines the
 * workloads (guest image, unit exit reason, RESULT key, l1-shim options,
 * quick and full counts, command line) and the experiments (which
 * workloads at which levels, strategies, MMU modes, BT modes and cost
 * profiles, and which report section they feed); this module reads the
 * file and expands it into the list of distinct runs, each one `nestvm
 * run` process. Format: docs/evaluation.md. Host side.
 */
#ifndef NESTVM_EVAL_EXPERIMENT_H
#define NESTVM_EVAL_EXPERIMENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define EXP_NAME_MAX 64
#define EXP_PATH_MAX 1024
#define EXP_ARGS_MAX 512
#define EXP_LIST_MAX 16

/*
 * EVAL_LEVEL(id, name): how a workload runs. hw and hw-ept are L0
 * running the workload itself (single-level VT-x, A&A's "hardware VMM"),
 * with shadow paging or with EPT; single is l1-shim on the bare model
 * (Turtles' single level); nested is the workload as L2 under l1-shim
 * under L0.
 */
#define EVAL_LEVELS(X)      \
	X(NATIVE, "native") \
	X(SW, "sw")         \
	X(HW, "hw")         \
	X(HW_EPT, "hw-ept") \
	X(SINGLE, "single") \
	X(NESTED, "nested")

enum eval_level {
#define X(id, name) EVAL_LEVEL_##id,
	EVAL_LEVELS(X)
#undef X
		EVAL_NR_LEVELS
};

const char *eval_level_name(enum eval_level level);

struct eval_workload {
	char name[EXP_NAME_MAX];
	char image[EXP_PATH_MAX]; /* relative to the source tree */
	char unit[EXP_NAME_MAX]; /* exit reason, or "" for none */
	char result[EXP_NAME_MAX]; /* RESULT key, or "" */
	char shim[EXP_ARGS_MAX]; /* l1-shim's options, or "" */
	uint64_t quick, full; /* the two sizes' {n} */
	char args[EXP_ARGS_MAX]; /* the workload's command line, with {n} */
};

struct exp_list {
	size_t n;
	char v[EXP_LIST_MAX][EXP_NAME_MAX];
};

struct eval_experiment {
	char name[EXP_NAME_MAX];
	char section[EXP_NAME_MAX]; /* the report section it feeds */
	struct exp_list workloads, levels, strategies, preps, mmus, bts;
	struct exp_list profiles;
	/* Sweeps: {n} values per size; empty = the workload's own. */
	size_t nr_quick, nr_full;
	uint64_t quick[EXP_LIST_MAX], full[EXP_LIST_MAX];
};

struct eval_data {
	size_t nr_workloads, nr_experiments;
	struct eval_workload *workloads;
	struct eval_experiment *experiments;
};

/* One configuration: the key a run is found by. "" where unused. */
struct eval_config {
	size_t workload; /* index in eval_data.workloads */
	enum eval_level level;
	char strategy[EXP_NAME_MAX], prep[EXP_NAME_MAX], mmu[EXP_NAME_MAX];
	char bt[EXP_NAME_MAX];
	char profile[EXP_NAME_MAX];
	uint64_t count;
};

/*
 * Reads an experiments file into d (freed with eval_data_free()). 0, or
 * -errno / -EINVAL with "file:line: what" in err.
 */
int eval_data_load(const char *path, struct eval_data *d, char *err,
		   size_t errlen);
void eval_data_free(struct eval_data *d);

/* The workload or experiment section named name, or -1. */
int eval_find_workload(const struct eval_data *d, const char *name);

/*
 * Calls fn once per configuration experiment e expands to at the given
 * size (full or quick), in a fixed order. Stops at and returns fn's
 * first non-zero return.
 */
int eval_expand(const struct eval_data *d, const struct eval_experiment *e,
		bool full, int (*fn)(void *opaque, const struct eval_config *),
		void *opaque);

/* Whether two configurations are the same run. */
bool eval_config_equal(const struct eval_config *a,
		       const struct eval_config *b);

/* The run's name: "in_nested_trap_full_ept_off_p4-prescott_100". */
void eval_config_name(const struct eval_data *d, const struct eval_config *c,
		      char *buf, size_t len);

#endif
