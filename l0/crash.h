/* SPDX-License-Identifier: MIT */
/*
 * crash.h - crash reporting for nestvm itself: on a fatal signal, print the
 * signal, a host backtrace (libunwind) and the registered vCPU's
 * architectural state, then die of the same signal. Monitor side.
 */
#ifndef NESTVM_L0_CRASH_H
#define NESTVM_L0_CRASH_H

struct vtx_cpu;

/* Installs the handler for SIGSEGV, SIGBUS, SIGILL, SIGFPE and SIGABRT, on
 * an alternate stack so that a stack overflow is reported too. 0 or
 * -errno. */
int crash_install(void);

/* The vCPU whose state a report shows (NULL: none). */
void crash_set_cpu(const struct vtx_cpu *cpu);

/* Dereferences an invalid pointer: for testing the report. */
void crash_on_purpose(void);

#endif
