/* SPDX-License-Identifier: MIT */
/*
 * run_cmd - spawn a child with pipes for stdout and stderr, read both until
 * EOF with poll(), enforce a time limit. Tests only.
 */
#include "tests/lib/run_cmd.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static int buf_append(char **buf, size_t *len, size_t *cap, const char *d,
		      size_t n)
{
	if (*len + n + 1 > *cap) {
		size_t ncap = (*cap ? *cap * 2 : 4096);
		while (ncap < *len + n + 1)
			ncap *= 2;
		char *nb = realloc(*buf, ncap);
		if (!nb)
			return -ENOMEM;
		*buf = nb;
		*cap = ncap;
	}
	memcpy(*buf + *len, d, n);
	*len += n;
	(*buf)[*len] = '\0';
	return 0;
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

int run_cmd(char *const argv[], int timeout_s, struct cmd_result *res)
{
	int outp[2] = { -1, -1 }, errp[2] = { -1, -1 };
	posix_spawn_file_actions_t fa;
	size_t ocap = 0, ecap = 0;
	pid_t pid;
	int ret;

	memset(res, 0, sizeof(*res));
	if (pipe2(outp, O_CLOEXEC) || pipe2(errp, O_CLOEXEC)) {
		ret = -errno;
		goto fail_pipes;
	}
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, outp[1], 1);
	posix_spawn_file_actions_adddup2(&fa, errp[1], 2);
	ret = posix_spawn(&pid, argv[0], &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	close(outp[1]);
	close(errp[1]);
	if (ret) {
		ret = -ret;
		close(outp[0]);
		close(errp[0]);
		return ret;
	}

	double deadline = now_s() + timeout_s;
	struct pollfd pfd[2] = { { .fd = outp[0], .events = POLLIN },
				 { .fd = errp[0], .events = POLLIN } };
	int open_fds = 2, killed = 0;
	while (open_fds) {
		int left_ms = (int)((deadline - now_s()) * 1000);
		if (left_ms <= 0) {
			if (!killed)
				kill(pid, SIGKILL);
			killed = 1;
			left_ms = 1000;
		}
		if (poll(pfd, 2, left_ms) < 0 && errno != EINTR)
			break;
		for (int i = 0; i < 2; i++) {
			char chunk[4096];
			if (pfd[i].fd < 0 ||
			    !(pfd[i].revents & (POLLIN | POLLHUP)))
				continue;
			ssize_t n = read(pfd[i].fd, chunk, sizeof(chunk));
			if (n > 0) {
				if (i == 0)
					buf_append(&res->out, &res->out_len,
						   &ocap, chunk, (size_t)n);
				else
					buf_append(&res->err, &res->err_len,
						   &ecap, chunk, (size_t)n);
			} else if (n == 0 || errno != EINTR) {
				close(pfd[i].fd);
				pfd[i].fd = -1;
				open_fds--;
			}
		}
	}
	int status = 0;
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (WIFSIGNALED(status)) {
		res->signaled = 1;
		res->exit_code = 128 + WTERMSIG(status);
	} else {
		res->exit_code = WEXITSTATUS(status);
	}
	if (!res->out)
		res->out = calloc(1, 1);
	if (!res->err)
		res->err = calloc(1, 1);
	return 0;

fail_pipes:
	for (int i = 0; i < 2; i++) {
		if (outp[i] >= 0)
			close(outp[i]);
		if (errp[i] >= 0)
			close(errp[i]);
	}
	return ret;
}

void cmd_result_free(struct cmd_result *res)
{
	free(res->out);
	free(res->err);
	res->out = res->err = NULL;
}
