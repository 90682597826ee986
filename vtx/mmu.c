/* SPDX-License-Identifier: MIT */
/*
 * mmu.c - linear-to-physical translation: the 4-level page walk with
 * accessed/dirty bits, NX, WP, SMEP and SMAP (SDM Vol. 3A 4.5, 4.6), the
 * soft TLB that caches host pointers per access kind, page-crossing
 * accesses, and the guard that keeps every access inside the arena.
 * Model side.
 *
 * Physical addresses outside the arena behave as on a platform with nothing
 * decoded there: reads return all ones and writes are dropped. Such pages
 * are never cached in the TLB.
 */
#include "arch/vmcs.h"
#include "vtx/cpu.h"

/* MAXPHYADDR the model reports (CPUID.80000008H:EAX[7:0]). */
#define VTX_MAXPHYADDR 46
#define PHYS_RSVD_MASK (~((1ull << VTX_MAXPHYADDR) - 1) & ~PTE_NX)

static uint8_t unbacked_page[PAGE_SIZE] __attribute__((aligned(4096)));

/* Physical addresses that are not memory: the xAPIC page (SDM Vol. 3A
 * 11.4.1) is the local APIC's registers, whatever RAM lies beneath. The
 * host address returned is never cached in the TLB, so every access to
 * the page comes back here. NULL: pa is memory. */
static inline uint8_t *phys_hook(struct vtx_cpu *c, uint64_t pa, int acc)
{
	return vtx_lapic_mmio_hook(c, pa, acc);
}

void vtx_tlb_flush(struct vtx_cpu *c)
{
	c->fetch_gen++;
	for (int k = 0; k < TLB_KINDS; k++)
		for (unsigned e = 0; e < VTX_TLB_SIZE; e++)
			c->tlb[k][e].tag = VTX_TLB_EMPTY;
}

void vtx_tlb_flush_page(struct vtx_cpu *c, uint64_t la)
{
	unsigned e = (la >> PAGE_SHIFT) & (VTX_TLB_SIZE - 1);

	c->fetch_gen++;
	/* Both privilege tags of the page share one slot per kind. A 2 MiB or
	 * 1 GiB translation is cached per 4 KiB page, so INVLPG of any address
	 * in a large page must drop all of it: flush everything then. */
	for (int k = 0; k < TLB_KINDS; k++) {
		uint64_t t = c->tlb[k][e].tag & PAGE_MASK;
		if (t == (la & PAGE_MASK))
			c->tlb[k][e].tag = VTX_TLB_EMPTY;
	}
}

void vtx_code_write(struct vtx_machine *m, uint64_t pa, uint64_t len)
{
	uint64_t first = pa >> PAGE_SHIFT, last = (pa + len - 1) >> PAGE_SHIFT;
	for (uint64_t p = first; p <= last && p < (m->ram_size >> PAGE_SHIFT);
	     p++) {
		if (!m->code_page[p])
			continue;
		m->code_page[p] = 0;
		if (m->cpu) {
			/* The executing block may be stale: leave it after this
			 * instruction and flush before decoding anything. */
			m->cpu->flush_pending = true;
			m->cpu->async = 1;
			m->cpu->fetch_gen++;
			m->cpu->stats.code_flushes++;
		}
	}
}

static uint64_t *pte_ptr(struct vtx_cpu *c, uint64_t pa)
{
	static uint64_t ones;
	if (pa + 8 > c->ram_size) {
		ones = ~0ull;
		return &ones;
	}
	return (uint64_t *)(c->ram + pa);
}

__attribute__((noreturn)) static void page_fault(struct vtx_cpu *c, uint64_t la,
						 uint32_t ec)
{
	/* CR2 is written when the #PF is delivered, not when a VM exit
	 * intercepts it (SDM Vol. 3C 28.1). */
	c->pend_cr2 = la;
	vtx_raise(c, PF_VECTOR, ec, true);
}

/* Update an A/D bit in a paging-structure entry: a write to guest memory
 * like any other, so decoded code on that page goes stale. */
static void pte_set_bits(struct vtx_cpu *c, uint64_t gpa, uint64_t pa,
			 uint64_t *e, uint64_t bits, uint64_t la)
{
	if ((*e & bits) == bits || pa + 8 > c->ram_size)
		return;
	/* Under EPT, A/D updates are writes to guest-physical memory
	 * (SDM Vol. 3C 30.3.3.2). */
	if (ept_active(c))
		vtx_ept_translate(c, gpa, ACC_WRITE, la, true, false);
	*e |= bits;
	if (c->m->code_page[pa >> PAGE_SHIFT])
		vtx_code_write(c->m, pa, 8);
}

/* The 4-level walk (SDM Vol. 3A 4.5.4). Returns the physical address of
 * `la`; raises #PF with the error code of SDM 4.7. */
static uint64_t walk_4level(struct vtx_cpu *c, uint64_t la, int acc, bool user,
			    bool implicit)
{
	bool nxe = c->efer & EFER_NX;
	uint64_t rsvd = PHYS_RSVD_MASK | (nxe ? 0 : PTE_NX);
	uint64_t table =
		c->cr3 & PTE_ADDR_MASK & ((1ull << VTX_MAXPHYADDR) - 1);
	uint64_t ent_gpa[4], ent_pa[4];
	uint64_t *ent[4];
	uint32_t ec = (acc == ACC_WRITE ? PFERR_WRITE_MASK : 0) |
		      (user ? PFERR_USER_MASK : 0) |
		      (acc == ACC_EXEC && (nxe || (c->cr4 & X86_CR4_SMEP))
			       ? PFERR_FETCH_MASK
			       : 0);
	bool rw = true, us = true, nx = false;
	int level, n = 0;
	uint64_t pa = 0;

	c->stats.tlb_misses++;
	cost_charge(c, c->cost.tlb_miss);
	for (level = 4; level >= 1; level--) {
		unsigned shift = 12 + 9 * (level - 1);
		uint64_t gpa_e = table + ((la >> shift) & 511) * 8;

		c->stats.walk_steps++;
		cost_charge(c, c->cost.walk_step);
		uint64_t pa_e = ept_active(c)
					? vtx_ept_translate(c, gpa_e, ACC_READ,
							    la, true, false)
					: gpa_e;
		uint64_t *e = pte_ptr(c, pa_e);
		uint64_t v = *e;

		ent_gpa[n] = gpa_e;
		ent_pa[n] = pa_e;
		ent[n++] = e;
		if (!(v & PTE_P))
			page_fault(c, la, ec);
		/* Reserved bits: above MAXPHYADDR, NX without EFER.NXE, PS in
		 * a PML4E; in a large-page entry, bits 20:13 / 29:13. */
		if ((v & rsvd) || (level == 4 && (v & PTE_PS)))
			page_fault(c, la,
				   ec | PFERR_PRESENT_MASK | PFERR_RSVD_MASK);
		rw &= !!(v & PTE_RW);
		us &= !!(v & PTE_US);
		nx |= !!(v & PTE_NX);
		if (level <= 3 && level >= 2 && (v & PTE_PS)) {
			uint64_t sz = 1ull << shift;
			uint64_t large_rsvd = (sz - 1) & ~0x1fffull;
			if (v & large_rsvd)
				page_fault(c, la,
					   ec | PFERR_PRESENT_MASK |
						   PFERR_RSVD_MASK);
			pa = (v & PTE_ADDR_MASK & ~(sz - 1)) | (la & (sz - 1));
			break;
		}
		if (level == 1)
			pa = (v & PTE_ADDR_MASK) | (la & (PAGE_SIZE - 1));
		table = v & PTE_ADDR_MASK;
	}
	pa &= (1ull << VTX_MAXPHYADDR) - 1;

	/* SDM Vol. 3A 4.6: access rights. */
	bool fault = false;
	if (user) {
		if (!us || (acc == ACC_WRITE && !rw))
			fault = true;
	} else {
		if (acc == ACC_WRITE && !rw && (c->cr0 & X86_CR0_WP))
			fault = true;
		if (us && acc == ACC_EXEC && (c->cr4 & X86_CR4_SMEP))
			fault = true;
		/* SMAP: explicit accesses may use RFLAGS.AC to override it,
		 * implicit ones (descriptor tables, TSS, event frames) never
		 * (SDM Vol. 3A 4.6). */
		if (us && acc != ACC_EXEC && (c->cr4 & X86_CR4_SMAP) &&
		    (implicit || !(c->rflags & X86_EFLAGS_AC)))
			fault = true;
	}
	if (acc == ACC_EXEC && nx && nxe)
		fault = true;
	if (fault)
		page_fault(c, la, ec | PFERR_PRESENT_MASK);

	/* SDM Vol. 3A 4.8: accessed flags on every entry used, dirty on the
	 * leaf for a write. */
	for (int k = 0; k < n; k++)
		pte_set_bits(
			c, ent_gpa[k], ent_pa[k], ent[k],
			PTE_A | (k == n - 1 && acc == ACC_WRITE ? PTE_D : 0),
			la);
	return pa;
}

static bool is_canonical(uint64_t la)
{
	return (uint64_t)((int64_t)(la << 16) >> 16) == la;
}

uint8_t *vtx_translate_slow(struct vtx_cpu *c, uint64_t la, int acc)
{
	bool user = c->cpl == 3;
	uint64_t pa;

	/* A fetch walk charges cycles and may fill or evict an execute TLB
	 * entry: chained blocks must look up again (vtx/run.c). */
	if (acc == ACC_EXEC)
		c->fetch_gen++;
	if (c->mode == VTX_MODE_LONG64 && !is_canonical(la)) {
		/* SDM Vol. 3A 6.15: #SS for stack references, else #GP(0);
		 * the callers that use SS report it themselves. */
		raise_gp(c, 0);
	}
	if (!(c->cr0 & X86_CR0_PG)) {
		pa = la;
	} else if (c->efer & EFER_LMA) {
		pa = walk_4level(c, la, acc, user, false);
	} else {
		/* 32-bit and PAE paging come with the full CPU model. */
		vtx_note_unimplemented(c, c->rip, NULL, 0,
				       "paging mode (32-bit/PAE)");
		raise_ud(c);
	}

	if (ept_active(c))
		pa = vtx_ept_translate(c, pa, acc, la, true, true);

	uint8_t *mmio = phys_hook(c, pa, acc);
	if (unlikely(mmio != NULL))
		return mmio;
	uint64_t page = pa & PAGE_MASK;
	if (page >= c->ram_size) {
		/* Nothing decoded there: reads see all ones, writes vanish. */
		memset(unbacked_page, 0xff, sizeof(unbacked_page));
		return unbacked_page + (pa & (PAGE_SIZE - 1));
	}
	int kind = acc == ACC_WRITE  ? TLB_WRITE
		   : acc == ACC_EXEC ? TLB_EXEC
				     : TLB_READ;
	if (kind == TLB_WRITE && c->m->code_page[page >> PAGE_SHIFT])
		vtx_code_write(c->m, page, PAGE_SIZE);
	/* SMAP depends on RFLAGS.AC, which the tag does not hold: never cache
	 * a supervisor translation of a user page while SMAP is on. */
	if (!(c->cr4 & X86_CR4_SMAP) || user || !(c->cr0 & X86_CR0_PG)) {
		struct vtx_tlb_entry *e =
			&c->tlb[kind][(la >> PAGE_SHIFT) & (VTX_TLB_SIZE - 1)];
		e->tag = tlb_tag(c, la);
		e->host = c->ram + page;
	}
	return c->ram + pa;
}

void vtx_read_slow(struct vtx_cpu *c, uint64_t la, void *dst, unsigned n)
{
	uint8_t *d = dst;
	while (n) {
		unsigned in_page = PAGE_SIZE - (la & (PAGE_SIZE - 1));
		unsigned chunk = n < in_page ? n : in_page;
		uint8_t *p = tlb_hit(c, la, TLB_READ);
		if (!p)
			p = vtx_translate_slow(c, la, ACC_READ);
		memcpy(d, p, chunk);
		d += chunk;
		la += chunk;
		n -= chunk;
	}
}

void vtx_write_slow(struct vtx_cpu *c, uint64_t la, const void *src, unsigned n)
{
	/* Translate both pages before writing either, so that a fault on the
	 * second page leaves memory untouched (SDM Vol. 3A 6.5). */
	unsigned in_page = PAGE_SIZE - (la & (PAGE_SIZE - 1));
	unsigned first = n < in_page ? n : in_page;
	uint8_t *p1 = tlb_hit(c, la, TLB_WRITE);
	uint8_t *p2 = NULL;
	if (!p1)
		p1 = vtx_translate_slow(c, la, ACC_WRITE);
	if (first < n) {
		p2 = tlb_hit(c, la + first, TLB_WRITE);
		if (!p2)
			p2 = vtx_translate_slow(c, la + first, ACC_WRITE);
		/* p1 may point into the shared unbacked page; translate again
		 * so it is still the right page. */
		p1 = tlb_hit(c, la, TLB_WRITE);
		if (!p1)
			p1 = vtx_translate_slow(c, la, ACC_WRITE);
	}
	memcpy(p1, src, first);
	if (p2)
		memcpy(p2, (const uint8_t *)src + first, n - first);
}

/* Implicit supervisor accesses (descriptor tables, the TSS, the stack of an
 * event delivered to ring 0; SDM Vol. 3A 4.6): translated as CPL 0
 * whatever the CPL, and never cached in the TLB under the current tag. */
static uint8_t *translate_sys(struct vtx_cpu *c, uint64_t la, int acc)
{
	uint64_t pa;

	if (c->mode == VTX_MODE_LONG64 && !is_canonical(la))
		raise_gp(c, 0);
	if (!(c->cr0 & X86_CR0_PG)) {
		pa = la;
	} else if (c->efer & EFER_LMA) {
		pa = walk_4level(c, la, acc, false, true);
	} else {
		vtx_note_unimplemented(c, c->rip, NULL, 0,
				       "paging mode (32-bit/PAE)");
		raise_ud(c);
	}
	if (ept_active(c))
		pa = vtx_ept_translate(c, pa, acc, la, true, true);
	uint8_t *mmio = phys_hook(c, pa, acc);
	if (unlikely(mmio != NULL))
		return mmio;
	if (pa + 1 > c->ram_size) {
		memset(unbacked_page, 0xff, sizeof(unbacked_page));
		return unbacked_page + (pa & (PAGE_SIZE - 1));
	}
	if (acc == ACC_WRITE && c->m->code_page[pa >> PAGE_SHIFT])
		vtx_code_write(c->m, pa & PAGE_MASK, PAGE_SIZE);
	return c->ram + pa;
}

void vtx_read_sys(struct vtx_cpu *c, uint64_t la, void *dst, unsigned n)
{
	uint8_t *d = dst;
	while (n) {
		unsigned in_page = PAGE_SIZE - (la & (PAGE_SIZE - 1));
		unsigned chunk = n < in_page ? n : in_page;
		memcpy(d, translate_sys(c, la, ACC_READ), chunk);
		d += chunk;
		la += chunk;
		n -= chunk;
	}
}

void vtx_write_sys(struct vtx_cpu *c, uint64_t la, const void *src, unsigned n)
{
	/* Translate every page first: a fault leaves memory untouched. */
	unsigned in_page = PAGE_SIZE - (la & (PAGE_SIZE - 1));
	unsigned first = n < in_page ? n : in_page;
	if (first < n)
		(void)translate_sys(c, la + first, ACC_WRITE);
	uint8_t *p1 = translate_sys(c, la, ACC_WRITE);
	memcpy(p1, src, first);
	if (first < n)
		memcpy(translate_sys(c, la + first, ACC_WRITE),
		       (const uint8_t *)src + first, n - first);
}
