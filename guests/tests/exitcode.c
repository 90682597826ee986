/* SPDX-License-Identifier: MIT */
/*
 * exitcode: exits with the number given on the command line ("--append 42"
 * exits 42), to test how exit codes travel from the debug-exit port to the
 * monitor's exit status. The last word of the command line is parsed, so a
 * loader that puts the image name first does not matter. Guest side.
 */
#include "guests/rt/rt.h"

/* Parses a decimal number of at most 10 digits; returns -1 if word is not
 * one. */
static int64_t exitcode_parse(const char *word, size_t len)
{
	int64_t v = 0;

	if (!len || len > 10)
		return -1;
	for (size_t i = 0; i < len; i++) {
		if (word[i] < '0' || word[i] > '9')
			return -1;
		v = v * 10 + (word[i] - '0');
	}
	return v;
}

int main(const struct nestvm_bootinfo *bi)
{
	const char *cmdline = (const char *)(uintptr_t)bi->cmdline;
	size_t end, start;
	int64_t code;

	if (!cmdline)
		cmdline = "";
	end = strlen(cmdline);
	while (end && cmdline[end - 1] == ' ')
		end--;
	start = end;
	while (start && cmdline[start - 1] != ' ')
		start--;
	code = exitcode_parse(cmdline + start, end - start);
	if (code < 0 || code > 0xffffffffll) {
		printf("exitcode: no exit code on the command line \"%s\"\n",
		       cmdline);
		return 0xfe;
	}
	printf("exitcode: exiting with %lld\n", (long long)code);
	exit((int)(uint32_t)code);
}
