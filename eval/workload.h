/* SPDX-License-Identifier: MIT */
/*
 * workload.h - the data `nestvm compare` runs from: workload definitions
 * (eval/workloads.txt: name, L2 image, unit exit reason, the guest's
 * RESULT key, default count, command line) and published reference
 * columns (eval/reference.txt). Formats: docs/evaluation.md. Host side;
 * a bad file is a one-line error naming file:line, never a crash.
 */
#ifndef NESTVM_EVAL_WORKLOAD_H
#define NESTVM_EVAL_WORKLOAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "eval/table.h"

#define WORKLOAD_NAME_MAX 64
#define WORKLOAD_PATH_MAX 4096
#define WORKLOAD_ARGS_MAX 2048

struct workload {
	char name[WORKLOAD_NAME_MAX];
	char image[WORKLOAD_PATH_MAX]; /* relative to the source tree */
	char unit[WORKLOAD_NAME_MAX]; /* exit reason, as the report names it */
	char result[WORKLOAD_NAME_MAX]; /* RESULT key, "" for none */
	uint64_t count; /* default {n}; 0 when args has no {n} */
	char args[WORKLOAD_ARGS_MAX]; /* L2's command line, with {n} */
};

/*
 * Finds the workload called name in the workloads file path. 0; -ENOENT
 * when there is none (err lists the names there are); -errno or -EINVAL
 * for an unreadable or malformed file (err names file:line).
 */
int workload_find(const char *path, const char *name, struct workload *out,
		  char *err, size_t errlen);

/*
 * The L2 command line of w with {n} replaced by count (w->count when 0)
 * into buf. 0, or -E2BIG when it does not fit.
 */
int workload_expand_args(const struct workload *w, uint64_t count, char *buf,
			 size_t len);

/*
 * Appends to *cols (realloc'd, *nr updated) one TABLE_REFERENCE column for
 * each line of the reference file path that names workload and profile.
 * 0, or -errno / -EINVAL with file:line in err.
 */
int reference_load(const char *path, const char *workload, const char *profile,
		   struct table_column **cols, size_t *nr, char *err,
		   size_t errlen);

#endif
