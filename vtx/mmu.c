/* SPDX-License-Identifier: MIT */
/*
 * mmu.c - linear-to-physical translation as instructions see it: the
 * architectural TLB first (vtx/tlb.c), the page walk of the current mode
 * on a miss (vtx/paging.c) and EPT after it (vtx/ept.c); the soft TLB of
 * host pointers per access kind that the fast paths in vtx/cpu.h use;
 * page-crossing accesses; and the physical-access step that keeps every
 * access inside the arena (SDM Vol. 3A 4.10). Model side.
 *
 * Physical addresses outside the arena behave as on a platform with nothing
 * decoded there: reads return all ones and writes are dropped. Such pages
 * are never cached in the soft TLB.
 */
#include "arch/vmcs.h"
#include "vtx/paging.h"

static uint8_t unbacked_page[PAGE_SIZE] __attribute__((aligned(4096)));

/* Physical addresses that are not memory: the xAPIC page (SDM Vol. 3A
 * 11.4.1) is the local APIC's registers, whatever RAM lies beneath. The
 * host address returned is never cached in the soft TLB, so every access
 * to the page comes back here. NULL: pa is memory. */
static inline uint8_t *phys_hook(struct vtx_cpu *c, uint64_t pa, int acc)
{
	return vtx_lapic_mmio_hook(c, pa, acc);
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

static bool is_canonical(uint64_t la)
{
	return (uint64_t)((int64_t)(la << 16) >> 16) == la;
}

/* The rights a cached translation must have for this access beyond those
 * of SDM 4.6: EPT's for the final access, and D already set for a write
 * (else the write walks to set it, SDM 4.8 and Vol. 3C 29.3.5). */
static unsigned atlb_needs(int acc)
{
	switch (acc) {
	case ACC_WRITE:
		return XL_EW | XL_D;
	case ACC_EXEC:
		return XL_EX;
	default:
		return XL_ER;
	}
}

/*
 * Linear to (host-)physical: the architectural TLB, else a walk and a
 * fill. An entry that does not allow the access is dropped and the walk
 * decides (SDM Vol. 3A 4.10.4.1: a fault invalidates the translations it
 * used; walking again is what a processor may always do). Raises #PF or
 * exits on EPT.
 */
static uint64_t translate(struct vtx_cpu *c, uint64_t la, int acc, bool user,
			  bool implicit)
{
	struct vtx_atlb_entry *e;
	struct vtx_tlb_ctx ctx;
	struct vtx_walk w;
	unsigned rights = XL_ER | XL_EW | XL_EX | XL_D;
	uint64_t pa;

	if (c->mode == VTX_MODE_LONG64 && !is_canonical(la)) {
		/* SDM Vol. 3A 6.15: #SS for stack references, else #GP(0);
		 * the callers that use SS report it themselves. */
		raise_gp(c, 0);
	}
	if (!(c->cr0 & X86_CR0_PG)) {
		/* Guest-physical mappings are not cached: EPT walks each. */
		if (ept_active(c))
			return vtx_ept_translate(c, la, acc, la, true, true);
		return la;
	}
	vtx_tlb_get_ctx(c, &ctx);
	e = vtx_atlb_find(c, la, &ctx);
	if (e) {
		unsigned need = atlb_needs(acc);

		if ((e->rights & need) == need &&
		    vtx_paging_access_ok(c, e->rights, acc, user, implicit)) {
			c->stats.atlb_hits++;
			return e->frame | (la & (PAGE_SIZE - 1));
		}
		vtx_atlb_drop(c, e);
	}
	vtx_paging_walk(c, la, acc, user, implicit, &w);
	pa = w.pa;
	if (ept_active(c))
		pa = vtx_ept_walk(c, pa, acc, la, true, true, &rights);
	/* Dirty only if both the leaf and (with EPT A/D) the EPT leaf are. */
	rights = (rights & ~XL_D) | (w.rights & ~XL_D) | (rights & w.rights);
	vtx_atlb_fill(c, la, &ctx, pa & PAGE_MASK, rights, w.shift);
	return pa;
}

/*
 * The physical-access step: the host address of physical (host-physical
 * under EPT) address `pa`, after translation and before anything touches
 * RAM; a write marks decoded code there stale. Returns NULL when nothing
 * backs the address: the caller uses unbacked_page.
 */
static uint8_t *phys_access(struct vtx_cpu *c, uint64_t pa, int acc)
{
	uint64_t page = pa & PAGE_MASK;

	if (page >= c->ram_size)
		return NULL;
	if (acc == ACC_WRITE && c->m->code_page[page >> PAGE_SHIFT])
		vtx_code_write(c->m, page, PAGE_SIZE);
	return c->ram + pa;
}

static uint8_t *unbacked(uint64_t pa)
{
	/* Nothing decoded there: reads see all ones, writes vanish. */
	memset(unbacked_page, 0xff, sizeof(unbacked_page));
	return unbacked_page + (pa & (PAGE_SIZE - 1));
}

uint8_t *vtx_translate_slow(struct vtx_cpu *c, uint64_t la, int acc)
{
	bool user = c->cpl == 3;
	uint64_t pa;
	uint8_t *host;

	/* A fetch walk charges cycles and may fill or evict an execute TLB
	 * entry: chained blocks must look up again (vtx/run.c). */
	if (acc == ACC_EXEC)
		c->fetch_gen++;
	pa = translate(c, la, acc, user, false);
	host = phys_hook(c, pa, acc);
	if (unlikely(host != NULL))
		return host;
	host = phys_access(c, pa, acc);
	if (!host)
		return unbacked(pa);
	/* SMAP depends on RFLAGS.AC, which the tag does not hold: never cache
	 * a supervisor translation of a user page while SMAP is on. */
	if (!(c->cr4 & X86_CR4_SMAP) || user || !(c->cr0 & X86_CR0_PG)) {
		int kind = acc == ACC_WRITE  ? TLB_WRITE
			   : acc == ACC_EXEC ? TLB_EXEC
					     : TLB_READ;
		struct vtx_tlb_entry *te =
			&c->tlb[kind][(la >> PAGE_SHIFT) & (VTX_TLB_SIZE - 1)];
		te->tag = tlb_tag(c, la);
		te->host = host - (pa & (PAGE_SIZE - 1));
	}
	return host;
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
 * whatever the CPL, and never cached in the soft TLB under the current
 * tag. */
static uint8_t *translate_sys(struct vtx_cpu *c, uint64_t la, int acc)
{
	uint64_t pa = translate(c, la, acc, false, true);
	uint8_t *host = phys_hook(c, pa, acc);

	if (unlikely(host != NULL))
		return host;
	host = phys_access(c, pa, acc);

	return host ? host : unbacked(pa);
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
