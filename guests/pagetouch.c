/* SPDX-License-Identifier: MIT */
/*
 * pagetouch: touches N distinct 4 KiB pages (command line "pages=N",
 * default 512) in a 2 MiB-aligned buffer above the image, writing a
 * pattern and reading it back; with "swap" it then asks l1-shim to swap
 * the L1 pages behind buffer pages 0 and 1 in its EPT (a VMCALL, guests/
 * rt/hypercall.h), checks that each now shows the other's pattern, swaps
 * them back and checks every page again. The exact results are the same
 * at any level; only the swap needs l1-shim. Guest side.
 */
#include "guests/rt/hypercall.h"
#include "guests/rt/rt.h"

#define PAGETOUCH_DEFAULT 512ull
#define PAGETOUCH_WORDS 8 /* words written per page, 512 bytes apart */

/* The pattern word @w of page @p: distinct per page and word. */
static uint64_t pattern(uint64_t p, unsigned int w)
{
	return 0x5a17000000000000ull ^ (p << 16) ^ w;
}

static volatile uint64_t *word(uint64_t buf, uint64_t p, unsigned int w)
{
	return (volatile uint64_t *)(uintptr_t)(buf + p * PAGE_SIZE +
						w * (PAGE_SIZE /
						     PAGETOUCH_WORDS));
}

/* Pages whose words differ from the pattern of page want(p). */
static uint64_t check(uint64_t buf, uint64_t n, bool swapped)
{
	uint64_t bad = 0;

	for (uint64_t p = 0; p < n; p++) {
		uint64_t want = p;

		if (swapped && p < 2)
			want = p ^ 1;
		for (unsigned int w = 0; w < PAGETOUCH_WORDS; w++) {
			if (*word(buf, p, w) != pattern(want, w)) {
				bad++;
				break;
			}
		}
	}
	return bad;
}

/* "pages=N" (1 .. what fits) and "swap", space-separated. */
static int parse(const char *s, uint64_t *n, bool *swap)
{
	while (s && *s) {
		while (*s == ' ')
			s++;
		if (!strncmp(s, "pages=", 6)) {
			uint64_t v = 0;
			size_t i = 6;

			for (; s[i] >= '0' && s[i] <= '9'; i++) {
				v = v * 10 + (uint64_t)(s[i] - '0');
				if (v >> 32)
					return -1;
			}
			if (i == 6 || !v || (s[i] && s[i] != ' '))
				return -1;
			*n = v;
			s += i;
		} else if (!strncmp(s, "swap", 4) && (!s[4] || s[4] == ' ')) {
			*swap = true;
			s += 4;
		} else if (*s) {
			return -1;
		}
	}
	return 0;
}

int main(const struct nestvm_bootinfo *bi)
{
	const char *cmdline = (const char *)(uintptr_t)bi->cmdline;
	uint64_t n = PAGETOUCH_DEFAULT, buf, bad;
	bool swap = false;

	if (parse(cmdline, &n, &swap)) {
		printf("pagetouch: bad command line \"%s\" (pages=N, swap)\n",
		       cmdline);
		return 1;
	}
	buf = (bi->free_start + MiB(2) - 1) & ~(MiB(2) - 1);
	if (buf > bi->mem_size || n > (bi->mem_size - buf) / PAGE_SIZE ||
	    (swap && n < 2)) {
		printf("pagetouch: %llu pages do not fit in RAM (or fewer "
		       "than 2 to swap)\n",
		       (unsigned long long)n);
		return 1;
	}
	for (uint64_t p = 0; p < n; p++)
		for (unsigned int w = 0; w < PAGETOUCH_WORDS; w++)
			*word(buf, p, w) = pattern(p, w);
	bad = check(buf, n, false);
	printf("pagetouch: %llu pages written, %llu differ\n",
	       (unsigned long long)n, (unsigned long long)bad);
	rt_result("pagetouch_pages", n, "count");
	rt_result("pagetouch_bad", bad, "count");
	if (!swap)
		return bad ? 1 : 0;

	if (l1_hypercall(L1_HC_SWAP_PAGES, buf, buf + PAGE_SIZE) != L1_HC_OK) {
		printf("pagetouch: the swap hypercall failed\n");
		return 1;
	}
	bad = check(buf, n, true);
	printf("pagetouch: pages 0 and 1 swapped, %llu pages differ\n",
	       (unsigned long long)bad);
	rt_result("pagetouch_bad_swapped", bad, "count");
	if (l1_hypercall(L1_HC_SWAP_PAGES, buf, buf + PAGE_SIZE) != L1_HC_OK) {
		printf("pagetouch: the swap hypercall failed\n");
		return 1;
	}
	bad = check(buf, n, false) + bad;
	printf("pagetouch: swapped back, %llu pages differ in all\n",
	       (unsigned long long)bad);
	rt_result("pagetouch_bad_total", bad, "count");
	return bad ? 1 : 0;
}
