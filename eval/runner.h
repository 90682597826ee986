/* SPDX-License-Identifier: MIT */
/*
 * runner.h - run a list of independent commands as child processes, at
 * most N at a time, each with its standard output and error in a log
 * file; the caller hears of each one as it finishes. `nestvm compare`
 * runs its jobs (one `nestvm run` each) through it. Host side.
 */
#ifndef NESTVM_EVAL_RUNNER_H
#define NESTVM_EVAL_RUNNER_H

#include <stddef.h>

struct runner_job {
	char *const *argv; /* argv[0] is a path; NULL-terminated */
	const char *log_path; /* its stdout and stderr, created/truncated */
	/* Set by runner_run(): */
	int status; /* exit status, 128 + signal, or -errno: not started */
	double seconds; /* wall-clock time */
};

/* Called in the parent as each job ends; done counts the ended ones. */
typedef void (*runner_done_fn)(void *opaque, const struct runner_job *job,
			       size_t done, size_t total);

/*
 * Runs every job, at most parallel (>= 1) at a time, standard input
 * /dev/null, and waits for all of them, whatever their status. Returns
 * the number of jobs whose status is not 0.
 */
size_t runner_run(struct runner_job *jobs, size_t nr, unsigned int parallel,
		  runner_done_fn done, void *opaque);

#endif
