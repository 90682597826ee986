// SPDX-License-Identifier: MIT
/*
 * paths.c - the file-system helpers of the evaluation runners
 * (eval/paths.h). Host side.
 */
#include "eval/paths.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "l0/errmsg.h"

bool eval_file_exists(const char *path)
{
	struct stat st;

	return !stat(path, &st);
}

int eval_find_tree(char exe[PATH_MAX], char tree[PATH_MAX], const char *marker)
{
	char dir[PATH_MAX], probe[2 * PATH_MAX];
	ssize_t n;
	char *slash;

	tree[0] = '\0';
	n = readlink("/proc/self/exe", exe, PATH_MAX - 1);
	if (n <= 0) {
		exe[0] = '\0';
		return -ENOENT;
	}
	exe[n] = '\0';
	snprintf(dir, sizeof(dir), "%s", exe);
	slash = strrchr(dir, '/');
	if (slash)
		*slash = '\0';
	for (int up = 1; up <= 2; up++) {
		const char *rel = up == 1 ? ".." : "../..";

		snprintf(probe, sizeof(probe), "%s/%s/%s", dir, rel, marker);
		if (!eval_file_exists(probe))
			continue;
		snprintf(probe, sizeof(probe), "%s/%s", dir, rel);
		if (realpath(probe, tree))
			return 0;
	}
	tree[0] = '\0';
	return 0;
}

int eval_absolute(const char *tree, const char *path, bool tree_rel, char *out,
		  char *err, size_t errlen)
{
	char buf[2 * PATH_MAX], cwd[PATH_MAX];

	if (path[0] == '/') {
		snprintf(buf, sizeof(buf), "%s", path);
	} else if (tree_rel) {
		if (!tree[0])
			return errmsg(-ENOENT, err, errlen,
				      "cannot find the source tree for '%s' "
				      "(nestvm is not in its build/)",
				      path);
		snprintf(buf, sizeof(buf), "%s/%s", tree, path);
	} else {
		if (!getcwd(cwd, sizeof(cwd)))
			return errmsg(-errno, err, errlen, "getcwd: %s",
				      strerror(errno));
		snprintf(buf, sizeof(buf), "%s/%s", cwd, path);
	}
	if (strlen(buf) >= PATH_MAX)
		return errmsg(-ENAMETOOLONG, err, errlen, "path too long: %s",
			      path);
	strcpy(out, buf);
	return 0;
}

int eval_mkdir_p(const char *path)
{
	char buf[PATH_MAX];

	snprintf(buf, sizeof(buf), "%s", path);
	for (char *p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, 0755) && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(buf, 0755) && errno != EEXIST)
		return -errno;
	return 0;
}
