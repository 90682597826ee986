/* SPDX-License-Identifier: MIT */
/*
 * The nanobenchmark guest's shared parts: each benchmark runs @iters
 * iterations of one operation and returns the RDTSC cycles they took;
 * nano.c holds Adams & Agesen's benchmarks and the entry point, micro.c
 * Turtles' one-exit-type experiments and the exit-heavy mix. Guest side.
 */
#ifndef NESTVM_GUESTS_BENCH_BENCH_H
#define NESTVM_GUESTS_BENCH_BENCH_H

#include "guests/rt/rt.h"

/* The status a benchmark that cannot run on this machine exits with. */
#define BENCH_EXIT_UNSUPPORTED 3

/* What a benchmark needs besides its iteration count. */
struct bench_env {
	uint64_t arena; /* a 2 MiB-aligned, 2 MiB region of free RAM */
	uint64_t mem_size; /* the end of RAM */
};

/* 0 and *@cycles set, or a status to exit with (after a message). */
typedef int (*bench_fn)(const struct bench_env *env, uint64_t iters,
			uint64_t *cycles);

struct bench {
	const char *name; /* the RESULT name */
	bench_fn run;
	uint64_t max_iters; /* 0: up to 2^32 - 1 */
};

/* micro.c */
extern const struct bench bench_micro[];
extern const size_t bench_micro_count;

/* The port the I/O benchmarks use: the UART's scratch register (OUT) and
 * line status register (IN), which every level answers the same way. */
#define BENCH_PORT_SCR (RT_UART_BASE + 7)
#define BENCH_PORT_LSR (RT_UART_BASE + RT_UART_LSR)

#endif
