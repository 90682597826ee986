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
/* extint under an L0 that does not virtualize the local APIC for L1. */
#define BENCH_EXIT_NEEDS_VAPIC 4

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

/* extint (micro.c): the local APIC timer's vector, whose interrupts
 * nano.c's handler passes to bench_timer_interrupt(); and the WRMSR whose
 * #GP the handler skips, setting bench_wrmsr_faulted, so that extint can
 * tell an APIC it may not program from one it may. */
#define BENCH_TIMER_VECTOR 0x40
void bench_timer_interrupt(void);
extern const char bench_wrmsr_insn[];
extern volatile bool bench_wrmsr_faulted;

/* The port the I/O benchmarks use: the UART's scratch register (OUT) and
 * line status register (IN), which every level answers the same way. */
#define BENCH_PORT_SCR (RT_UART_BASE + 7)
#define BENCH_PORT_LSR (RT_UART_BASE + RT_UART_LSR)

#endif
