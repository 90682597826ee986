/* SPDX-License-Identifier: MIT */
/*
 * ept.c - the EPT that maps L2-physical [0, l2mem) onto L2's RAM in L1
 * memory: 4 levels, write-back, 2 MiB leaves where the processor supports
 * them and the RAM fills the whole 2 MiB, 4 KiB leaves elsewhere, nothing
 * mapped past the end of RAM (SDM Vol. 3C 30.3.2, Tables 30-1 .. 30-6;
 * the EPTP, 25.6.11; capabilities, Appendix A.10). With ept-lazy, the last
 * 2 MiB chunk starts empty and EPT violations fill it a page at a time.
 * Also swaps two 4 KiB pages in it for L2's hypercall. In nested terms
 * this is ept12. l1-shim side (L1).
 */
#include "arch/ept.h"
#include "arch/x86_msr.h"
#include "arch/x86_paging.h"
#include "guests/rt/rt.h"
#include "l1-shim/shim.h"

/* Non-leaf entries grant everything; the leaves decide. */
#define L1_EPT_TABLE (EPT_READ | EPT_WRITE | EPT_EXEC)
#define L1_EPT_LEAF (EPT_READ | EPT_WRITE | EPT_EXEC | EPT_MT(EPT_MT_WB))

static uint64_t *l1_ept_table(uint64_t pa)
{
	return (uint64_t *)(uintptr_t)pa;
}

static int l1_ept_no_memory(void)
{
	printf(L1_PFX "L1 memory ran out while building the EPT for L2; "
		      "give nestvm a larger --mem\n");
	return L1_EXIT_SETUP;
}

/* Maps the 2 MiB chunk at L2-physical @gpa with 4 KiB pages, up to the end
 * of RAM; returns the page table's address or 0. */
static uint64_t l1_ept_map_4k(const struct l2_vm *vm, uint64_t gpa)
{
	uint64_t pt = l1_alloc_page();

	if (!pt)
		return 0;
	for (unsigned int i = 0; i < PT_ENTRIES; i++) {
		uint64_t at = gpa + (uint64_t)i * PAGE_SIZE;

		if (at >= vm->mem_size)
			break;
		l1_ept_table(pt)[i] = (vm->base + at) | L1_EPT_LEAF;
	}
	return pt;
}

int ept_build(struct l2_vm *vm)
{
	uint64_t cap = vm->ept_vpid_cap;
	bool large = cap & VMX_EPT_2MB_PAGE_BIT;
	uint64_t nr_gib = (vm->mem_size + GiB(1) - 1) / GiB(1);
	uint64_t pml4, pdpt, eptp;

	if (!(cap & VMX_EPT_PAGE_WALK_4_BIT) ||
	    !(cap & (VMX_EPTP_WB_BIT | VMX_EPTP_UC_BIT))) {
		printf(L1_PFX "the processor's EPT lacks 4-level walks or a "
			      "usable EPTP memory type (IA32_VMX_EPT_VPID_CAP "
			      "%#llx)\n",
		       (unsigned long long)cap);
		return L1_EXIT_FATAL;
	}
	pml4 = l1_alloc_page();
	pdpt = l1_alloc_page();
	if (!pml4 || !pdpt)
		return l1_ept_no_memory();
	/* BOOT_MEM_MAX is 64 GiB: one PML4 entry covers 512 GiB. */
	l1_ept_table(pml4)[0] = pdpt | L1_EPT_TABLE;

	for (uint64_t g = 0; g < nr_gib; g++) {
		uint64_t pd = l1_alloc_page();

		if (!pd)
			return l1_ept_no_memory();
		l1_ept_table(pdpt)[g] = pd | L1_EPT_TABLE;
		for (unsigned int i = 0; i < PT_ENTRIES; i++) {
			uint64_t gpa = GiB(g) + (uint64_t)i * MiB(2);
			uint64_t pt;

			if (gpa >= vm->mem_size)
				break;
			if (vm->opt && vm->opt->ept_lazy &&
			    gpa + MiB(2) >= vm->mem_size) {
				/* The last chunk: an empty page table that
				 * ept_fill_lazy() fills. */
				pt = l1_alloc_page();
				if (!pt)
					return l1_ept_no_memory();
				l1_ept_table(pd)[i] = pt | L1_EPT_TABLE;
				vm->lazy_pt = pt;
				vm->lazy_start = gpa;
				continue;
			}
			/* vm->base is 2 MiB aligned (main.c), so a 2 MiB
			 * guest chunk is a 2 MiB host chunk. */
			if (large && vm->mem_size - gpa >= MiB(2)) {
				l1_ept_table(pd)[i] = (vm->base + gpa) |
						      L1_EPT_LEAF | EPT_LARGE;
				continue;
			}
			pt = l1_ept_map_4k(vm, gpa);
			if (!pt)
				return l1_ept_no_memory();
			l1_ept_table(pd)[i] = pt | L1_EPT_TABLE;
		}
	}

	/* EPTP (SDM 25.6.11): the walk's memory type, 4 levels, A/D flags
	 * when the processor has them (KVM turns them on too), the root. */
	eptp = pml4 |
	       ((cap & VMX_EPTP_WB_BIT) ? VMX_EPTP_MT_WB : VMX_EPTP_MT_UC) |
	       VMX_EPTP_PWL_4;
	if (cap & VMX_EPT_AD_BIT)
		eptp |= VMX_EPTP_AD_ENABLE_BIT;
	vm->eptp = eptp;
	return 0;
}

/* The ept12 PTE for L2 page @gpa, splitting a 2 MiB leaf on the way into
 * 512 4 KiB leaves of the same rights; NULL if unmapped or no memory. */
static uint64_t *l1_ept_pte(const struct l2_vm *vm, uint64_t gpa)
{
	uint64_t table = vm->eptp & VMX_EPTP_ADDR_MASK;

	for (int level = 4; level > 1; level--) {
		uint64_t *slot =
			&l1_ept_table(table)[PT_LEVEL_INDEX(gpa, level)];

		if (!(*slot & EPT_RWX))
			return NULL;
		if (level == 2 && (*slot & EPT_LARGE)) {
			uint64_t base = *slot & EPT_ADDR_MASK;
			uint64_t attrs = *slot & ~(EPT_ADDR_MASK | EPT_LARGE);
			uint64_t pt = l1_alloc_page();

			if (!pt)
				return NULL;
			for (unsigned int i = 0; i < PT_ENTRIES; i++)
				l1_ept_table(pt)[i] =
					(base + (uint64_t)i * PAGE_SIZE) |
					attrs;
			/* The new table is complete before it is linked. */
			*slot = pt | L1_EPT_TABLE;
		}
		table = *slot & EPT_ADDR_MASK;
	}
	return &l1_ept_table(table)[PT_INDEX(gpa)];
}

int ept_swap_pages(struct l2_vm *vm, uint64_t a, uint64_t b)
{
	uint64_t *pa, *pb, t;

	if ((a | b) & (PAGE_SIZE - 1) || a >= vm->mem_size ||
	    b >= vm->mem_size || a == b)
		return -1;
	pa = l1_ept_pte(vm, a);
	pb = l1_ept_pte(vm, b);
	if (!pa || !pb)
		return -1;
	t = *pa;
	*pa = (*pa & ~EPT_ADDR_MASK) | (*pb & EPT_ADDR_MASK);
	*pb = (*pb & ~EPT_ADDR_MASK) | (t & EPT_ADDR_MASK);
	return 0;
}

bool ept_fill_lazy(struct l2_vm *vm, uint64_t gpa)
{
	uint64_t *pte;

	if (!vm->lazy_pt || gpa < vm->lazy_start || gpa >= vm->mem_size)
		return false;
	pte = &l1_ept_table(vm->lazy_pt)[(gpa - vm->lazy_start) / PAGE_SIZE];
	if (*pte)
		return false;
	/* Nothing is cached from a not-present EPT entry (SDM 29.4.2):
	 * filling it needs no INVEPT. */
	*pte = (vm->base + (gpa & ~(uint64_t)(PAGE_SIZE - 1))) | L1_EPT_LEAF;
	return true;
}
