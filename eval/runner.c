/* SPDX-License-Identifier: MIT */
/*
 * runner.c - the process pool of eval/runner.h: posix_spawn with the log
 * file as stdout and stderr, waitpid() for whichever child ends first,
 * the next job started in its slot. Children never share a file but
 * their own log. Host side.
 */
#include "eval/runner.h"

#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static double now_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Starts job: its pid, or -errno. */
static pid_t start_job(struct runner_job *job)
{
	posix_spawn_file_actions_t fa;
	pid_t pid;
	int ret;

	ret = posix_spawn_file_actions_init(&fa);
	if (ret)
		return -ret;
	ret = posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY,
					       0);
	if (!ret)
		ret = posix_spawn_file_actions_addopen(
			&fa, 1, job->log_path, O_WRONLY | O_CREAT | O_TRUNC,
			0644);
	if (!ret)
		ret = posix_spawn_file_actions_adddup2(&fa, 1, 2);
	if (!ret)
		ret = posix_spawn(&pid, job->argv[0], &fa, NULL, job->argv,
				  environ);
	posix_spawn_file_actions_destroy(&fa);
	return ret ? -ret : pid;
}

size_t runner_run(struct runner_job *jobs, size_t nr, unsigned int parallel,
		  runner_done_fn done, void *opaque)
{
	pid_t *pids = calloc(nr ? nr : 1, sizeof(*pids));
	double *started = calloc(nr ? nr : 1, sizeof(*started));
	size_t next = 0, finished = 0, failed = 0;
	unsigned int running = 0;

	if (!pids || !started) {
		for (size_t i = 0; i < nr; i++) {
			jobs[i].status = -ENOMEM;
			if (done)
				done(opaque, &jobs[i], i + 1, nr);
		}
		free(pids);
		free(started);
		return nr;
	}
	while (finished < nr) {
		int wstatus;
		pid_t pid;
		size_t i;

		while (next < nr && running < parallel) {
			struct runner_job *job = &jobs[next];

			started[next] = now_seconds();
			pids[next] = start_job(job);
			if (pids[next] < 0) {
				job->status = pids[next];
				job->seconds = 0;
				failed++;
				finished++;
				if (done)
					done(opaque, job, finished, nr);
			} else {
				running++;
			}
			next++;
		}
		if (!running)
			continue;
		pid = waitpid(-1, &wstatus, 0);
		if (pid < 0) {
			if (errno == EINTR)
				continue;
			break; /* no child left: cannot happen while running */
		}
		for (i = 0; i < next && pids[i] != pid; i++)
			;
		if (i == next)
			continue; /* not one of ours */
		pids[i] = 0;
		running--;
		finished++;
		jobs[i].seconds = now_seconds() - started[i];
		jobs[i].status = WIFEXITED(wstatus) ? WEXITSTATUS(wstatus)
						    : 128 + WTERMSIG(wstatus);
		if (jobs[i].status)
			failed++;
		if (done)
			done(opaque, &jobs[i], finished, nr);
	}
	free(pids);
	free(started);
	return failed;
}
