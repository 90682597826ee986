/* SPDX-License-Identifier: MIT */
/*
 * ept.c - ept01 and ept02 (mmu/ept.h): building ept01 over L1's RAM, and
 * composing ept12 (walked in software in L1's memory) with ept01 into 4 KiB
 * ept02 leaves on ept02 violations, telling hidden faults from true ones
 * (SDM Vol. 3C 30.3.2 entry format, 30.3.3.1 misconfigurations, 30.3.3.2
 * violations). Monitor side; table pages come from the L0 area.
 */
#include "mmu/ept.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arch/ept.h"
#include "arch/x86_paging.h"
#include "mmu/l0_area.h"
#include "mmu/l1mem.h"
#include "vtx/vtx.h"

/* A non-leaf entry: every right, so the leaf alone decides (30.3.2). */
#define EPT_TABLE_ENTRY(hpa) ((hpa) | EPT_RWX)

static uint64_t *table_ptr(struct l0_area *area, hpa_t hpa)
{
	return vtx_hpa_ptr(area->m, hpa, PAGE_SIZE);
}

/* ---- ept01 ------------------------------------------------------------------ */

/* The table under entry *slot, allocated on first use. */
static int ept01_next_table(struct l0_area *area, uint64_t *slot,
			    uint64_t **next)
{
	hpa_t hpa;
	int ret;

	if (!(*slot & EPT_RWX)) {
		ret = l0_area_alloc_page(area, &hpa);
		if (ret)
			return ret;
		*slot = EPT_TABLE_ENTRY(hpa);
	}
	*next = table_ptr(area, *slot & EPT_ADDR_MASK);
	return *next ? 0 : -ENOMEM;
}

int ept01_build(struct l0_area *area, uint64_t mem_size, uint64_t *eptp)
{
	const uint64_t leaf = EPT_RWX | EPT_MT(EPT_MT_WB);
	uint64_t *pml4, *pdpt, *pd, *pt;
	hpa_t root;
	int ret;

	if (!mem_size || mem_size % PAGE_SIZE)
		return -EINVAL;
	ret = l0_area_alloc_page(area, &root);
	if (ret)
		return ret;
	pml4 = table_ptr(area, root);
	for (uint64_t gpa = 0; gpa < mem_size;) {
		ret = ept01_next_table(area, &pml4[PML4_INDEX(gpa)], &pdpt);
		if (!ret)
			ret = ept01_next_table(area, &pdpt[PDPT_INDEX(gpa)],
					       &pd);
		if (ret)
			return ret;
		if (!(gpa & (PAGE_SIZE_2M - 1)) &&
		    mem_size - gpa >= PAGE_SIZE_2M) {
			pd[PD_INDEX(gpa)] = gpa | leaf | EPT_LARGE;
			gpa += PAGE_SIZE_2M;
			continue;
		}
		/* The tail that does not fill a 2 MiB page. */
		ret = ept01_next_table(area, &pd[PD_INDEX(gpa)], &pt);
		if (ret)
			return ret;
		pt[PT_INDEX(gpa)] = gpa | leaf;
		gpa += PAGE_SIZE_4K;
	}
	*eptp = vmx_build_eptp(root, 4, false);
	return 0;
}

int ept01_set_writable(struct l0_area *area, uint64_t eptp01, gpa_t gpa,
		       bool writable)
{
	hpa_t table = eptp01 & VMX_EPTP_ADDR_MASK;
	uint64_t *t, *slot = NULL;
	int level;

	for (level = 4; level >= 1; level--) {
		t = table_ptr(area, table);
		if (!t)
			return -ENOENT;
		slot = &t[PT_LEVEL_INDEX(gpa, level)];
		if (!(*slot & EPT_RWX))
			return -ENOENT;
		if (level == 1)
			break;
		if (level == 2 && (*slot & EPT_LARGE)) {
			/* Split: the same rights and type, 4 KiB at a time. */
			uint64_t attrs = *slot & ~(EPT_ADDR_MASK | EPT_LARGE);
			hpa_t base = *slot & EPT_ADDR_MASK, pt;
			uint64_t *p;
			int ret = l0_area_alloc_page(area, &pt);

			if (ret)
				return ret;
			p = table_ptr(area, pt);
			if (!p)
				return -ENOMEM;
			for (unsigned int i = 0; i < PT_ENTRIES; i++)
				p[i] = (base + (uint64_t)i * PAGE_SIZE_4K) |
				       attrs;
			*slot = EPT_TABLE_ENTRY(pt);
		}
		table = *slot & EPT_ADDR_MASK;
	}
	if (writable)
		*slot |= EPT_WRITE;
	else
		*slot &= ~EPT_WRITE;
	return 0;
}

/* ---- ept02 ------------------------------------------------------------------ */

void ept02_init(struct ept02 *e, struct l0_area *area, const struct l1_mem *l1)
{
	memset(e, 0, sizeof(*e));
	e->area = area;
	e->l1 = l1;
	e->stats = &e->own_stats;
}

const char *ept_coherence_name(enum ept_coherence c)
{
	return c == EPT_COHERENCE_WP ? "wp" : "invept";
}

void ept02_set_coherence(struct ept02 *e, enum ept_coherence c,
			 struct vtx_cpu *cpu, uint64_t eptp01)
{
	e->coherence = c;
	e->cpu = cpu;
	e->eptp01 = eptp01;
}

void ept02_destroy(struct ept02 *e)
{
	/* ept01 may be gone with the machine: only host memory is freed. */
	for (size_t i = 0; i < e->nr_pages; i++)
		free(e->pages[i].leaves);
	e->nr_pages = 0;
	free(e->pages);
	e->pages = NULL;
	e->cap_pages = 0;
	free(e->pool);
	e->pool = NULL;
	e->pool_used = e->pool_len = e->pool_cap = 0;
	e->root = 0;
}

/* A zeroed table page: from the pool first, then from the L0 area. */
static int ept02_alloc_table(struct ept02 *e, hpa_t *hpa)
{
	hpa_t *grown;
	int ret;

	if (e->pool_used < e->pool_len) {
		*hpa = e->pool[e->pool_used++];
		memset(table_ptr(e->area, *hpa), 0, PAGE_SIZE);
		return 0;
	}
	if (e->pool_len == e->pool_cap) {
		size_t cap = e->pool_cap ? 2 * e->pool_cap : 64;

		grown = realloc(e->pool, cap * sizeof(*grown));
		if (!grown)
			return -ENOMEM;
		e->pool = grown;
		e->pool_cap = cap;
	}
	ret = l0_area_alloc_page(e->area, hpa);
	if (ret)
		return ret;
	e->pool[e->pool_len++] = *hpa;
	e->pool_used++;
	e->stats->table_pages = e->pool_len;
	return 0;
}

void ept02_reset(struct ept02 *e)
{
	/* The pages are zeroed again when they are handed out. */
	e->pool_used = 0;
	e->root = 0;
	e->present = 0;
	e->stats->present = 0;
	e->resets++;
	/* No leaf is derived from any ept12 page now. */
	ept02_wp_forget_all(e);
}

void ept02_invept(struct ept02 *e)
{
	e->stats->invepts++;
	if (e->coherence == EPT_COHERENCE_WP)
		return;
	e->stats->dropped_invept += e->present;
	ept02_reset(e);
}

uint64_t *ept02_pte(struct ept02 *e, gpa_t gpa02)
{
	hpa_t table = e->root;

	if (!table)
		return NULL;
	for (int level = 4; level > 1; level--) {
		uint64_t *t = table_ptr(e->area, table);
		uint64_t entry;

		if (!t)
			return NULL;
		entry = t[PT_LEVEL_INDEX(gpa02, level)];
		if (!(entry & EPT_RWX))
			return NULL;
		table = entry & EPT_ADDR_MASK;
	}
	{
		uint64_t *t = table_ptr(e->area, table);

		return t ? &t[PT_INDEX(gpa02)] : NULL;
	}
}

bool ept02_zap(struct ept02 *e, gpa_t gpa02)
{
	uint64_t *pte = ept02_pte(e, gpa02);

	if (!pte || !(*pte & EPT_RWX))
		return false;
	*pte = 0;
	e->stats->present = --e->present;
	return true;
}

void ept02_flush(struct ept02 *e)
{
	if (e->cpu && e->root)
		vtx_invept(e->cpu, VMX_EPT_EXTENT_CONTEXT,
			   vmx_build_eptp(e->root, 4, false));
}

int ept02_use(struct ept02 *e, uint64_t eptp12, uint64_t *eptp02)
{
	int ret;

	if (e->eptp12 != eptp12) {
		if (e->root)
			ept02_reset(e);
		e->eptp12 = eptp12;
	}
	if (!e->root) {
		ret = ept02_alloc_table(e, &e->root);
		if (ret)
			return ret;
	}
	*eptp02 = vmx_build_eptp(e->root, 4, false);
	return 0;
}

/*
 * SDM 30.3.3.1: an ept12 entry is misconfigured when it is writable but
 * not readable, has a physical-address bit above L1's MAXPHYADDR set,
 * sets a reserved bit of a non-leaf entry (7:3; bit 7 in a PML4E), or is a
 * leaf with memory type 2, 3 or 7 or with reserved address bits in a large
 * page. Execute-only entries are allowed: L0 offers them to L1.
 */
static bool ept12_misconfigured(const struct l1_mem *l1, uint64_t e, int level,
				bool leaf)
{
	uint64_t rsvd = x86_pte_rsvd_addr_bits(l1->maxphyaddr);
	unsigned int mt = ept_entry_get_mt(e);

	if ((e & EPT_WRITE) && !(e & EPT_READ))
		return true;
	if (e & rsvd)
		return true;
	if (!leaf)
		return (e & 0xf8ull) != 0;
	if (!ept_mt_is_valid(mt))
		return true;
	if (level == 3 && (e & (PAGE_SIZE_1G - 1) & ~(PAGE_SIZE_4K - 1)))
		return true;
	if (level == 2 && (e & (PAGE_SIZE_2M - 1) & ~(PAGE_SIZE_4K - 1)))
		return true;
	return false;
}

/*
 * The isolation invariant (docs/security.md): an ept02 leaf maps a page of
 * L1's RAM, never L0's. ept02_handle_violation() only passes what
 * l1mem_gpa_to_hpa() returned, so this cannot fire unless that rule is
 * broken; builds with -DNESTVM_DEBUG_ISOLATION (the sanitizer build and
 * the fuzzers) check it at every leaf written and abort with the address.
 */
static void ept02_assert_isolated(const struct ept02 *e, gpa_t gpa, hpa_t hpa)
{
#ifdef NESTVM_DEBUG_ISOLATION
	if (hpa < e->l1->size && PAGE_SIZE <= e->l1->size - hpa)
		return;
	fprintf(stderr,
		"isolation broken: ept02 leaf for L2 0x%llx maps 0x%llx, "
		"outside L1's RAM [0, 0x%llx)\n",
		(unsigned long long)gpa, (unsigned long long)hpa,
		(unsigned long long)e->l1->size);
	abort();
#else
	(void)e;
	(void)gpa;
	(void)hpa;
#endif
}

/* Writes the ept02 leaf for the 4 KiB page at gpa. */
static int ept02_fill(struct ept02 *e, gpa_t gpa, hpa_t hpa, uint64_t attrs)
{
	hpa_t table = e->root;
	uint64_t *t;
	int ret;

	for (int level = 4; level > 1; level--) {
		uint64_t *slot;

		t = table_ptr(e->area, table);
		if (!t)
			return -ENOMEM;
		slot = &t[PT_LEVEL_INDEX(gpa, level)];
		if (!(*slot & EPT_RWX)) {
			hpa_t next;

			ret = ept02_alloc_table(e, &next);
			if (ret)
				return ret;
			/* The allocation may have reused a pool page, never
			 * this one: slot is still valid. */
			*slot = EPT_TABLE_ENTRY(next);
		}
		table = *slot & EPT_ADDR_MASK;
	}
	t = table_ptr(e->area, table);
	if (!t)
		return -ENOMEM;
	if (!(t[PT_INDEX(gpa)] & EPT_RWX))
		e->stats->present = ++e->present;
	ept02_assert_isolated(e, gpa, hpa & EPT_ADDR_MASK);
	t[PT_INDEX(gpa)] = (hpa & EPT_ADDR_MASK) | attrs;
	e->fills++;
	return 0;
}

enum ept02_result ept02_handle_violation(struct ept02 *e, gpa_t gpa,
					 uint64_t access,
					 struct ept02_walk *walk)
{
	gpa_t table = e->eptp12 & VMX_EPTP_ADDR_MASK;
	bool wp = e->coherence == EPT_COHERENCE_WP;
	gpa_t walked[4];
	uint64_t entry = 0, attrs;
	int level, nr_walked = 0, ret;
	hpa_t hpa;

	memset(walk, 0, sizeof(*walk));
	walk->prot = EPT_RWX;
	for (level = 4; level >= 1; level--) {
		bool leaf;

		walk->level = level;
		walked[nr_walked++] = table & PAGE_MASK;
		entry = l1mem_read_u64_or_ones(
			e->l1, table + PT_LEVEL_INDEX(gpa, level) * 8ull);
		/* Not present comes before any misconfiguration (30.3.3). */
		if (!(entry & EPT_RWX)) {
			walk->prot = 0;
			return EPT02_VIOLATION;
		}
		leaf = level == 1 ||
		       ((level == 2 || level == 3) && (entry & EPT_LARGE));
		if (ept12_misconfigured(e->l1, entry, level, leaf))
			return EPT02_MISCONFIG;
		walk->prot &= entry & EPT_RWX;
		if (leaf)
			break;
		table = entry & EPT_ADDR_MASK;
	}

	{
		uint64_t size = 1ull << PT_LEVEL_SHIFT(level);

		walk->l1_gpa = (entry & EPT_ADDR_MASK & ~(size - 1)) |
			       (gpa & (size - 1));
	}
	if ((access & EPT_RWX & walk->prot) != (access & EPT_RWX))
		return EPT02_VIOLATION;
	/* ept01: the identity on L1's RAM, nothing else. */
	if (l1mem_gpa_to_hpa(e->l1, walk->l1_gpa & PAGE_MASK, PAGE_SIZE, &hpa))
		return EPT02_OUTSIDE_L1_RAM;
	if (!e->root)
		return EPT02_NO_MEMORY;
	attrs = walk->prot | (entry & (EPT_MT_MASK | EPT_IPAT));
	if (wp) {
		struct ept12_page *target;

		ret = ept02_wp_before_fill(e, walked, nr_walked,
					   walk->l1_gpa & PAGE_MASK, access);
		if (ret)
			return (enum ept02_result)ret;
		/* L2 may read an ept12 page but not write it behind L0. */
		target = ept02_wp_find(e, walk->l1_gpa & PAGE_MASK);
		if (target && target->protected)
			attrs &= ~EPT_WRITE;
	}
	if (ept02_fill(e, gpa & PAGE_MASK, hpa, attrs))
		return EPT02_NO_MEMORY;
	if (wp && ept02_wp_after_fill(e, walked, nr_walked, gpa & PAGE_MASK))
		return EPT02_NO_MEMORY;
	return EPT02_FILLED;
}

hpa_t ept02_lookup(const struct ept02 *e, gpa_t gpa)
{
	hpa_t table = e->root;

	if (!table)
		return ~0ull;
	for (int level = 4; level >= 1; level--) {
		const uint64_t *t = vtx_hpa_ptr(e->area->m, table, PAGE_SIZE);
		uint64_t entry;

		if (!t)
			return ~0ull;
		entry = t[PT_LEVEL_INDEX(gpa, level)];
		if (!(entry & EPT_RWX))
			return ~0ull;
		if (level == 1)
			return (entry & EPT_ADDR_MASK) |
			       (gpa & (PAGE_SIZE - 1));
		table = entry & EPT_ADDR_MASK;
	}
	return ~0ull;
}
