/* SPDX-License-Identifier: MIT */
/*
 * Guest-side page-table helpers: find the 4 KiB entry that maps an address
 * under the current CR3 (splitting a 2 MiB leaf into a page table when one
 * is in the way) and make a range user-accessible (SDM Vol. 3A 4.5 4-level
 * paging, 4.6 access rights). Guest side; the boot contract's tables are
 * identity-mapped, so a table's physical address is its pointer.
 */
#include "arch/x86_paging.h"
#include "guests/rt/rt.h"

/* Enough for the few 2 MiB regions a benchmark splits. */
#define RT_PT_POOL 8
#define RT_PAGE 4096ull

static uint64_t rt_pt_pool[RT_PT_POOL][512] __attribute__((aligned(4096)));
static unsigned int rt_pt_used;

static uint64_t *rt_table(uint64_t entry)
{
	return (uint64_t *)(uintptr_t)(entry & PTE_ADDR_MASK);
}

/*
 * A 2 MiB leaf becomes a page table of 512 4 KiB leaves with the same
 * frame, rights and caching (PAT moves from bit 12 to bit 7, SDM Table
 * 4-19 vs 4-20); the directory entry keeps P, R/W and U/S, which still
 * allow everything the leaf allowed.
 */
static uint64_t *rt_split_2m(uint64_t *pde)
{
	uint64_t flags = *pde & (PTE_P | PTE_RW | PTE_US | PTE_PWT | PTE_PCD |
				 PTE_A | PTE_D | PTE_G | PTE_NX);
	uint64_t base = *pde & PTE_ADDR_MASK_2M;
	uint64_t *pt;

	if (rt_pt_used == RT_PT_POOL)
		return NULL;
	pt = rt_pt_pool[rt_pt_used++];
	if (*pde & PTE_PAT_LARGE)
		flags |= PTE_PAT;
	for (uint64_t i = 0; i < 512; i++)
		pt[i] = (base + i * RT_PAGE) | flags;
	*pde = (uint64_t)(uintptr_t)pt | (*pde & (PTE_P | PTE_RW | PTE_US));
	/* The old 2 MiB translation may be cached: drop every one. */
	write_cr3(read_cr3());
	return pt;
}

/* Walks to the 4 KiB leaf entry for @va (NULL if there is none), setting
 * U/S on the entries above it when @set_user. */
static uint64_t *rt_walk(uint64_t va, bool set_user)
{
	uint64_t *table = rt_table(read_cr3());
	static const unsigned int shifts[3] = { 39, 30, 21 };

	for (int level = 0; level < 3; level++) {
		uint64_t *e = &table[(va >> shifts[level]) & 511];

		if (!(*e & PTE_P))
			return NULL;
		if (set_user)
			*e |= PTE_US;
		if (*e & PTE_PS) {
			if (level != 2)
				return NULL; /* a 1 GiB leaf */
			table = rt_split_2m(e);
			if (!table)
				return NULL;
		} else {
			table = rt_table(*e);
		}
	}
	return &table[(va >> 12) & 511];
}

uint64_t *rt_pte_4k(uint64_t va)
{
	return rt_walk(va, false);
}

int rt_paging_set_user(uint64_t start, uint64_t end)
{
	for (uint64_t va = start & ~(RT_PAGE - 1); va < end; va += RT_PAGE) {
		uint64_t *pte = rt_walk(va, true);

		if (!pte || !(*pte & PTE_P))
			return -1;
		*pte |= PTE_US;
	}
	write_cr3(read_cr3());
	return 0;
}
