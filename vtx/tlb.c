/* SPDX-License-Identifier: MIT */
/*
 * tlb.c - the architectural TLB: translations cached with the tags the SDM
 * gives them (VPID, PCID, EP4TA; Vol. 3A 4.10.2, Vol. 3C 29.4.1-29.4.2),
 * kept until one of the invalidating operations of Vol. 3A 4.10.4 and
 * Vol. 3C 29.4.3.1 removes them, and the soft TLB of host pointers in
 * front of it, which every invalidation and every context change empties.
 * Model side.
 *
 * Simple and bounded: VTX_ATLB_SIZE slots, direct-mapped on a hash of
 * (page, VPID, EP4TA); a fill evicts the slot's occupant, which the SDM
 * allows at any time. The PCID is compared, not hashed, so that a global
 * translation is found from any PCID. Guest-physical mappings and the
 * paging-structure caches are not kept (a processor may cache nothing).
 */
#include "vtx/paging.h"

/* A new generation for the soft TLB: every entry of the old ones is
 * retired at once. */
static void soft_tlb_new_gen(struct vtx_cpu *c)
{
	/* Above every generation handed out, not just the current one: a
	 * context may have returned to an older one. */
	uint64_t gen = ++c->soft_gen_last;

	c->fetch_gen++;
	if (gen > VTX_TLB_GEN_MAX) {
		/* The generation wraps: tags of old generations could match
		 * again, so retire them for real, and no context may take
		 * an old one back. */
		for (int k = 0; k < TLB_KINDS; k++)
			for (unsigned e = 0; e < VTX_TLB_SIZE; e++)
				c->tlb[k][e].tag = VTX_TLB_EMPTY;
		for (unsigned i = 0; i < VTX_SOFT_CTXS; i++)
			c->soft_ctx[i].gen = 0;
		c->soft_floor = 0;
		gen = c->soft_gen_last = 1;
	}
	c->tlb_gen_tag = gen << VTX_TLB_GEN_SHIFT;
}

/* Anything but a VM transition that empties the soft TLB (an
 * invalidation, a control-register change) may have removed any
 * context's translations: no context takes its generation back. */
void vtx_soft_tlb_flush(struct vtx_cpu *c)
{
	soft_tlb_new_gen(c);
	c->soft_floor = (c->tlb_gen_tag >> VTX_TLB_GEN_SHIFT) - 1;
}

void vtx_tlb_flush(struct vtx_cpu *c)
{
	for (unsigned i = 0; i < VTX_ATLB_SIZE; i++)
		c->atlb[i].vpn = VTX_ATLB_EMPTY;
	c->atlb_used = 0;
	c->stats.tlb_flushes++;
	vtx_soft_tlb_flush(c);
}

void vtx_tlb_get_ctx(const struct vtx_cpu *c, struct vtx_tlb_ctx *ctx)
{
	ctx->vpid = 0;
	if (c->vmx.non_root && (c->vmx.proc2 & SECONDARY_EXEC_ENABLE_VPID))
		ctx->vpid = c->vmx.vpid;
	ctx->pcid = (c->cr4 & X86_CR4_PCIDE) ? (uint16_t)(c->cr3 & 0xfff) : 0;
	ctx->ept = ept_active(c) ? (c->vmx.eptp & VMX_EPTP_ADDR_MASK) | 1 : 0;
}

static unsigned atlb_index(uint64_t vpn, uint16_t vpid, uint64_t ept)
{
	uint64_t h = vpn ^ ((uint64_t)vpid * 0x9e3779b1ull) ^
		     ((ept >> 12) * 0x85ebca6bull);

	return (unsigned)((h ^ (h >> VTX_ATLB_BITS)) & (VTX_ATLB_SIZE - 1));
}

struct vtx_atlb_entry *vtx_atlb_find(struct vtx_cpu *c, uint64_t la,
				     const struct vtx_tlb_ctx *ctx)
{
	uint64_t vpn = la >> PAGE_SHIFT;
	struct vtx_atlb_entry *e =
		&c->atlb[atlb_index(vpn, ctx->vpid, ctx->ept)];

	/* A global translation serves every PCID (SDM Vol. 3A 4.10.2.4),
	 * but only its own VPID and EP4TA (Vol. 3C 29.4.2). */
	if (e->vpn == vpn && e->vpid == ctx->vpid && e->ept == ctx->ept &&
	    (e->pcid == ctx->pcid || (e->rights & XL_G)) &&
	    (e->vpid || e->epoch == c->atlb_vpid0_epoch))
		return e;
	return NULL;
}

void vtx_atlb_fill(struct vtx_cpu *c, uint64_t la,
		   const struct vtx_tlb_ctx *ctx, uint64_t frame,
		   unsigned rights, unsigned shift)
{
	uint64_t vpn = la >> PAGE_SHIFT;
	struct vtx_atlb_entry *e =
		&c->atlb[atlb_index(vpn, ctx->vpid, ctx->ept)];

	if (e->vpn == VTX_ATLB_EMPTY)
		c->atlb_used++;
	else
		/* An eviction: a soft-TLB entry of any generation so far
		 * may name the translation that goes. The current context
		 * keeps its entries, as it always has; once it is left, no
		 * generation up to here is taken back. */
		c->soft_floor = c->tlb_gen_tag >> VTX_TLB_GEN_SHIFT;
	e->vpn = vpn;
	e->vpid = ctx->vpid;
	e->pcid = ctx->pcid;
	e->ept = ctx->ept;
	e->frame = frame;
	e->rights = (uint8_t)rights;
	e->shift = (uint8_t)shift;
	e->epoch = ctx->vpid ? 0 : c->atlb_vpid0_epoch;
}

void vtx_atlb_drop(struct vtx_cpu *c, struct vtx_atlb_entry *e)
{
	e->vpn = VTX_ATLB_EMPTY;
	vtx_soft_tlb_flush(c);
}

static bool tlbi_match(const struct vtx_atlb_entry *e,
		       const struct vtx_tlbi *inv)
{
	unsigned f = inv->flags;

	if ((f & TLBI_VPID) && e->vpid != inv->vpid)
		return false;
	if ((f & TLBI_NOT_VPID0) && !e->vpid)
		return false;
	if ((f & TLBI_PCID) && e->pcid != inv->pcid)
		return false;
	if ((f & TLBI_EPT) && e->ept != inv->ept)
		return false;
	if ((f & TLBI_COMBINED) && !e->ept)
		return false;
	if ((f & TLBI_KEEP_GLOBAL) && (e->rights & XL_G))
		return false;
	/* A large page is cached per 4-KiB piece: every piece of the page
	 * that holds .la goes. */
	if ((f & TLBI_ADDR) &&
	    (e->vpn << PAGE_SHIFT) >> e->shift != inv->la >> e->shift)
		return false;
	return true;
}

void vtx_tlb_invalidate(struct vtx_cpu *c, const struct vtx_tlbi *inv)
{
	unsigned left = 0;

	c->stats.tlb_flushes++;
	vtx_soft_tlb_flush(c);
	if (!c->atlb_used)
		return;
	for (unsigned i = 0; i < VTX_ATLB_SIZE; i++) {
		struct vtx_atlb_entry *e = &c->atlb[i];

		if (e->vpn == VTX_ATLB_EMPTY)
			continue;
		if (tlbi_match(e, inv))
			e->vpn = VTX_ATLB_EMPTY;
		else
			left++;
	}
	c->atlb_used = left;
}

/*
 * MOV to CR3 (SDM Vol. 3A 4.10.4.1): the new PCID's non-global
 * translations go, in the current VPID; with CR4.PCIDE, bit 63 of the
 * source keeps them. The soft TLB goes either way: its tags hold neither
 * PCID nor CR3.
 */
void vtx_tlb_on_mov_cr3(struct vtx_cpu *c, bool noflush)
{
	struct vtx_tlb_ctx ctx;
	struct vtx_tlbi inv;

	if (noflush) {
		vtx_soft_tlb_flush(c);
		return;
	}
	vtx_tlb_get_ctx(c, &ctx);
	inv = (struct vtx_tlbi){
		.flags = TLBI_VPID | TLBI_PCID | TLBI_KEEP_GLOBAL,
		.vpid = ctx.vpid,
		.pcid = ctx.pcid,
	};
	vtx_tlb_invalidate(c, &inv);
}

/*
 * MOV to CR0 or CR4, after the new values are in place (SDM Vol. 3A
 * 4.10.4.1): clearing CR0.PG, changing CR4.PGE or clearing CR4.PCIDE
 * drops everything of the current VPID, globals included; changing
 * CR4.PAE or setting CR4.SMEP drops the current PCID's translations. The
 * model also drops everything on CR0.PG set, CR0.WP and CR4.PSE changes
 * (a processor may invalidate more than required). Rights other changes
 * affect (CR0.WP, SMEP, SMAP) are checked on every use of an entry, but
 * the soft TLB caches their outcome and goes whenever one changes.
 */
void vtx_tlb_on_cr_change(struct vtx_cpu *c, uint64_t old_cr0, uint64_t old_cr4)
{
	uint64_t d0 = old_cr0 ^ c->cr0, d4 = old_cr4 ^ c->cr4;
	struct vtx_tlb_ctx ctx;
	struct vtx_tlbi inv = { 0 };

	if (!(d0 & (X86_CR0_PG | X86_CR0_WP | X86_CR0_PE)) &&
	    !(d4 & (X86_CR4_PGE | X86_CR4_PCIDE | X86_CR4_PAE | X86_CR4_PSE |
		    X86_CR4_SMEP | X86_CR4_SMAP)))
		return;
	vtx_tlb_get_ctx(c, &ctx);
	inv.vpid = ctx.vpid;
	if ((d0 & (X86_CR0_PG | X86_CR0_WP)) ||
	    (d4 & (X86_CR4_PGE | X86_CR4_PSE)) ||
	    ((d4 & X86_CR4_PCIDE) && !(c->cr4 & X86_CR4_PCIDE))) {
		inv.flags = TLBI_VPID;
	} else if ((d4 & X86_CR4_PAE) ||
		   ((d4 & X86_CR4_SMEP) && (c->cr4 & X86_CR4_SMEP))) {
		inv.flags = TLBI_VPID | TLBI_PCID | TLBI_KEEP_GLOBAL;
		inv.pcid = ctx.pcid;
	} else {
		vtx_soft_tlb_flush(c);
		return;
	}
	vtx_tlb_invalidate(c, &inv);
}

/* INVLPG (SDM Vol. 3A 4.10.4.1, Vol. 3C 29.4.3.1): the page's
 * translations in the current VPID, global or not, for every PCID and
 * (combined mappings) every EP4TA. */
void vtx_tlb_on_invlpg(struct vtx_cpu *c, uint64_t la)
{
	struct vtx_tlb_ctx ctx;
	struct vtx_tlbi inv;

	vtx_tlb_get_ctx(c, &ctx);
	inv = (struct vtx_tlbi){
		.flags = TLBI_VPID | TLBI_ADDR,
		.vpid = ctx.vpid,
		.la = la,
	};
	vtx_tlb_invalidate(c, &inv);
}

/* INVPCID (SDM Vol. 2B "INVPCID"), in the current VPID: type 0 one page
 * of one PCID, 1 one PCID, both without global translations; 2 all with
 * globals; 3 all but globals. */
void vtx_tlb_on_invpcid(struct vtx_cpu *c, uint64_t type, uint16_t pcid,
			uint64_t la)
{
	static const unsigned flags[4] = {
		TLBI_PCID | TLBI_ADDR | TLBI_KEEP_GLOBAL,
		TLBI_PCID | TLBI_KEEP_GLOBAL,
		0,
		TLBI_KEEP_GLOBAL,
	};
	struct vtx_tlb_ctx ctx;
	struct vtx_tlbi inv;

	vtx_tlb_get_ctx(c, &ctx);
	inv = (struct vtx_tlbi){
		.flags = TLBI_VPID | flags[type & 3],
		.vpid = ctx.vpid,
		.pcid = pcid,
		.la = la,
	};
	vtx_tlb_invalidate(c, &inv);
}

/* A VM entry or exit without VPID drops VPID 0's translations: they all
 * carry the epoch, so moving it drops them in O(1) (a nested round trip
 * has a dozen transitions; scanning the table for each would cost more
 * than the rest of the transition). */
/*
 * The soft TLB after a VM transition with VPIDs: the new context's own
 * generation when it had one and every translation its entries name is
 * still in the architectural TLB -- no invalidation, no eviction and no
 * wrap since that generation began (soft_floor) -- so that a hit there
 * is exactly what the slow path would have found; otherwise a new one.
 * Counts and cycles are those of emptying it every time; only host time
 * (and atlb_hits, the slow path's own counter) moves.
 */
static void soft_tlb_switch(struct vtx_cpu *c)
{
	struct vtx_tlb_ctx ctx;
	struct vtx_soft_ctx k, *slot = NULL;

	/* Without paging nothing is in the architectural TLB (guest-
	 * physical mappings are not cached, EPT walks each access): such a
	 * context's soft entries must not outlive it. */
	if (!(c->cr0 & X86_CR0_PG)) {
		soft_tlb_new_gen(c);
		return;
	}
	vtx_tlb_get_ctx(c, &ctx);
	k = (struct vtx_soft_ctx){
		.cr0 = c->cr0,
		.cr3 = c->cr3,
		.cr4 = c->cr4,
		.efer = c->efer,
		.ept = c->vmx.non_root ? c->vmx.eptp : 0,
		.vpid_proc2 = (uint64_t)ctx.vpid << 32 |
			      (c->vmx.non_root ? c->vmx.proc2 : 0) |
			      (uint64_t)c->vmx.non_root << 63,
	};
	for (unsigned i = 0; i < VTX_SOFT_CTXS; i++) {
		struct vtx_soft_ctx *s = &c->soft_ctx[i];

		if (s->cr0 == k.cr0 && s->cr3 == k.cr3 && s->cr4 == k.cr4 &&
		    s->efer == k.efer && s->ept == k.ept &&
		    s->vpid_proc2 == k.vpid_proc2) {
			slot = s;
			break;
		}
	}
	if (slot && slot->gen > c->soft_floor) {
		c->fetch_gen++;
		c->tlb_gen_tag = slot->gen << VTX_TLB_GEN_SHIFT;
		return;
	}
	soft_tlb_new_gen(c);
	if (!slot) {
		slot = &c->soft_ctx[c->soft_ctx_next];
		c->soft_ctx_next = (c->soft_ctx_next + 1) % VTX_SOFT_CTXS;
	}
	*slot = k;
	slot->gen = c->tlb_gen_tag >> VTX_TLB_GEN_SHIFT;
}

void vtx_tlb_on_vmx_transition(struct vtx_cpu *c, bool vpid_in_use)
{
	static const struct vtx_tlbi vpid0 = { .flags = TLBI_VPID, .vpid = 0 };

	if (!vpid_in_use) {
		/* When the epoch wraps, an old entry could match again:
		 * then drop them for real. */
		if (++c->atlb_vpid0_epoch == 0) {
			vtx_tlb_invalidate(c, &vpid0);
			return;
		}
		c->stats.tlb_flushes++;
		vtx_soft_tlb_flush(c);
		return;
	}
	soft_tlb_switch(c);
}
