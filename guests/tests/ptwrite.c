/* SPDX-License-Identifier: MIT */
/*
 * ptwrite: a guest that edits its own page tables, as a kernel does: one
 * linear page is mapped to frame A, then frame B, unmapped and mapped
 * again, with INVLPG after each change and a MOV to CR3 at the end; it
 * prints a checksum of what the page shows after each step and checks a
 * store made through each mapping in the frame's own identity mapping
 * (SDM Vol. 3A 4.5 4-level paging, 4.10.4 invalidation). The lines are
 * the same at any level and under any MMU of L0. Guest side.
 */
#include "arch/x86_paging.h"
#include "guests/rt/rt.h"

#define PTW_WORDS 512
#define PTW_ROUNDS 6

/* The sum of the page's words, each weighted by its index. */
static uint64_t checksum(uint64_t va)
{
	const volatile uint64_t *w = (const volatile uint64_t *)(uintptr_t)va;
	uint64_t sum = 0;

	for (uint64_t i = 0; i < PTW_WORDS; i++)
		sum += w[i] * (i + 1);
	return sum;
}

static void fill(uint64_t pa, uint64_t seed)
{
	volatile uint64_t *w = (volatile uint64_t *)(uintptr_t)pa;

	for (uint64_t i = 0; i < PTW_WORDS; i++)
		w[i] = seed ^ (i << 8);
}

int main(const struct nestvm_bootinfo *bi)
{
	/* A 2 MiB-aligned window above the image: the page remapped, and
	 * the two frames behind it. */
	uint64_t va = (bi->free_start + MiB(2) - 1) & ~(MiB(2) - 1);
	uint64_t frame[2] = { va + PAGE_SIZE, va + 2 * PAGE_SIZE };
	volatile uint64_t *pte, *page = (volatile uint64_t *)(uintptr_t)va;
	uint64_t orig, bad = 0;

	if (va + MiB(2) > bi->mem_size) {
		printf("ptwrite: no free 2 MiB window\n");
		return 1;
	}
	pte = rt_pte_4k(va);
	if (!pte) {
		printf("ptwrite: no 4 KiB entry for %#llx\n",
		       (unsigned long long)va);
		return 1;
	}
	orig = *pte;
	fill(frame[0], 0x1111000000000000ull);
	fill(frame[1], 0x2222000000000000ull);
	printf("ptwrite: frames %#llx %#llx\n",
	       (unsigned long long)checksum(frame[0]),
	       (unsigned long long)checksum(frame[1]));
	for (unsigned int r = 0; r < PTW_ROUNDS; r++) {
		uint64_t f = frame[r & 1], want = checksum(f), got;

		*pte = f | PTE_P | PTE_RW;
		invlpg(page);
		got = checksum(va);
		/* A store through the new mapping lands in frame f. */
		page[r] = 0x5a00 + r;
		if (*(volatile uint64_t *)(uintptr_t)(f + r * 8) != 0x5a00 + r)
			bad++;
		printf("ptwrite: round %u frame %u sum %#llx %s\n", r, r & 1,
		       (unsigned long long)got, got == want ? "ok" : "BAD");
		bad += got != want;
		*pte = 0;
		invlpg(page);
	}
	*pte = orig;
	write_cr3(read_cr3());
	printf("ptwrite: restored, sum %#llx, %llu bad\n",
	       (unsigned long long)checksum(va), (unsigned long long)bad);
	rt_result("ptwrite_bad", bad, "count");
	return bad ? 1 : 0;
}
