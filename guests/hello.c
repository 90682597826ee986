/* SPDX-License-Identifier: MIT */
/*
 * hello: the smallest useful guest. Prints a greeting, the memory size and
 * command line from the boot information, a few formatted numbers and two
 * RESULT lines, then exits 0. Guest side; runs at any level.
 */
#include "guests/rt/rt.h"

int main(const struct nestvm_bootinfo *bi)
{
	const char *cmdline = (const char *)(uintptr_t)bi->cmdline;
	uint64_t mib = bi->mem_size >> 20;

	if (!cmdline)
		cmdline = "";
	printf("Hello from nestvm!\n");
	printf("memory: %llu MiB\n", (unsigned long long)mib);
	printf("cmdline: \"%s\"\n", cmdline);
	printf("modules: %u\n", bi->nr_modules);
	printf("negative: %d %lld\n", -42, -9223372036854775807ll - 1);
	printf("hex: %x %#X %#llx\n", 0xbeefu, 0xcafeu, 0xfedcba9876543210ull);
	printf("padded: [%6d] [%-6d] [%06d] [%+d] [%.4u]\n", 42, 42, -42, 42,
	       7u);
	printf("64-bit: %llu %lld\n", 18446744073709551615ull,
	       9223372036854775807ll);
	printf("strings: [%s] [%8s] [%-8s] [%.3s] %c%c %%\n", "ab", "right",
	       "left", "truncate", 'o', 'k');
	rt_result("hello_mem_mib", mib, "MiB");
	rt_result("hello_cmdline_len", strlen(cmdline), "bytes");
	return 0;
}
