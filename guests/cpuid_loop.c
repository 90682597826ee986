/* SPDX-License-Identifier: MIT */
/*
 * cpuid_loop: Turtles' exit-multiplication microbenchmark. Runs CPUID leaf
 * 0 N times (N is the first word of the command line, default 100000),
 * timed with RDTSC, and reports the count and the cycles per iteration.
 * CPUID exits unconditionally under VMX (SDM Vol. 3C 26.1.2), so each
 * iteration is one L2 exit. Guest side; runs at any level.
 */
#include "guests/rt/rt.h"

#define CPUID_LOOP_DEFAULT 100000ull

/* Parses the first word of @s, a decimal number in [1, 2^32), into *@n:
 * 1 when it did, 0 for an empty command line, -1 for anything else. */
static int cpuid_loop_parse(const char *s, uint64_t *n)
{
	uint64_t v = 0;
	size_t i = 0;

	while (*s == ' ')
		s++;
	if (!*s)
		return 0;
	for (; s[i] >= '0' && s[i] <= '9'; i++) {
		v = v * 10 + (uint64_t)(s[i] - '0');
		if (v >> 32)
			return -1;
	}
	if (!i || (s[i] && s[i] != ' ') || !v)
		return -1;
	*n = v;
	return 1;
}

int main(const struct nestvm_bootinfo *bi)
{
	const char *cmdline = (const char *)(uintptr_t)bi->cmdline;
	uint64_t n = CPUID_LOOP_DEFAULT, start, cycles;

	if (cmdline && cpuid_loop_parse(cmdline, &n) < 0) {
		printf("cpuid_loop: bad iteration count \"%s\" (a number from 1 "
		       "to 4294967295)\n",
		       cmdline);
		return 1;
	}
	start = rdtsc();
	for (uint64_t i = 0; i < n; i++)
		cpuid(0, 0);
	cycles = rdtsc() - start;
	rt_result("cpuid_iterations", n, "count");
	rt_result("cpuid_cycles_per_iter", cycles / n, "cycles");
	return 0;
}
