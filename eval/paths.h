/* SPDX-License-Identifier: MIT */
/*
 * paths.h - the file-system helpers the evaluation runners share
 * (`nestvm compare`, `nestvm eval`): finding the source tree the running
 * nestvm was built in, making paths absolute against it or the working
 * directory, creating output directories. Host side.
 */
#ifndef NESTVM_EVAL_PATHS_H
#define NESTVM_EVAL_PATHS_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>

bool eval_file_exists(const char *path);

/*
 * exe: this executable (/proc/self/exe); tree: the source tree it was
 * built in -- the parent (build/nestvm) or grandparent (build/asan/nestvm)
 * of its directory that holds `marker` (a tree-relative file such as
 * "eval/workloads.txt") -- or "" when there is none. 0, or -ENOENT when
 * the executable cannot be found (exe is then "").
 */
int eval_find_tree(char exe[PATH_MAX], char tree[PATH_MAX], const char *marker);

/* path made absolute in out (PATH_MAX bytes): against tree when tree_rel,
 * else against the working directory. 0, or -errno with one line in err. */
int eval_absolute(const char *tree, const char *path, bool tree_rel, char *out,
		  char *err, size_t errlen);

/* mkdir -p; 0 or -errno. */
int eval_mkdir_p(const char *path);

#endif
