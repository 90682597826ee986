/* SPDX-License-Identifier: MIT */
/*
 * paging.c - the page walks of every paging mode the model offers: 32-bit
 * paging with 4-MiB pages and PSE-36 (SDM Vol. 3A 4.3), PAE paging with its
 * PDPTE registers (4.4) and 4-level paging with 2-MiB and 1-GiB pages
 * (4.5); the access rights of 4.6, the #PF error codes of 4.7 and the
 * accessed/dirty flags of 4.8. 5-level paging is not offered (CR4.LA57 is
 * reserved). Model side.
 */
#include "arch/vmcs.h"
#include "vtx/paging.h"

/* Reserved in PAE and 4-level entries: bits 51:MAXPHYADDR (the model's
 * MAXPHYADDR is 46), and bit 63 unless EFER.NXE. */
#define PHYS_RSVD_MASK (~VTX_PHYS_MASK & ~PTE_NX)
/* 32-bit paging, a 4-MiB PDE with PSE-36: bits 20:13 are physical-address
 * bits 39:32 (the model's limit is 40 bits there, SDM 4.3 Table 4-4), bit
 * 21 is reserved. */
#define PDE32_4M_RSVD (1u << 21)
#define PDE32_4M_HIGH_MASK 0x1fe000u

__attribute__((noreturn)) static void page_fault(struct vtx_cpu *c, uint64_t la,
						 uint32_t ec)
{
	/* CR2 is written when the #PF is delivered, not when a VM exit
	 * intercepts it (SDM Vol. 3C 28.1). */
	c->pend_cr2 = la;
	vtx_raise(c, PF_VECTOR, ec, true);
}

bool vtx_paging_access_ok(const struct vtx_cpu *c, unsigned rights, int acc,
			  bool user, bool implicit)
{
	if (user) {
		if (!(rights & XL_U))
			return false;
		if (acc == ACC_WRITE && !(rights & XL_W))
			return false;
	} else if (rights & XL_U) {
		if (acc == ACC_EXEC && (c->cr4 & X86_CR4_SMEP))
			return false;
		/* SMAP: explicit accesses may use RFLAGS.AC to override it,
		 * implicit ones (descriptor tables, TSS, event frames) never
		 * (SDM Vol. 3A 4.6). */
		if (acc != ACC_EXEC && (c->cr4 & X86_CR4_SMAP) &&
		    (implicit || !(c->rflags & X86_EFLAGS_AC)))
			return false;
	}
	if (!user && acc == ACC_WRITE && !(rights & XL_W) &&
	    (c->cr0 & X86_CR0_WP))
		return false;
	/* XL_NX is only ever set in PAE and 4-level entries, where bit 63 is
	 * reserved unless EFER.NXE. */
	if (acc == ACC_EXEC && (rights & XL_NX) && (c->efer & EFER_NX))
		return false;
	return true;
}

/* One paging-structure entry a walk used. */
struct walk_ent {
	uint64_t gpa; /* guest-physical address (physical without EPT) */
	uint8_t *host; /* NULL: outside the arena, read as all ones */
	unsigned size; /* 4 (32-bit paging) or 8 bytes */
};

/* Reads a paging-structure entry: a read of guest-physical memory, which
 * EPT with A/D flags treats as a write (SDM Vol. 3C 29.3.5). */
static uint64_t walk_read(struct vtx_cpu *c, struct walk_ent *we, uint64_t la)
{
	uint64_t pa = we->gpa, v = 0;

	c->stats.walk_steps++;
	cost_charge(c, c->cost.walk_step);
	if (ept_active(c))
		pa = vtx_ept_translate(c, pa,
				       ept_ad_active(c) ? ACC_WRITE : ACC_READ,
				       la, true, false);
	if (pa + we->size > c->ram_size) {
		we->host = NULL;
		return we->size == 8 ? ~0ull : 0xffffffffull;
	}
	we->host = c->ram + pa;
	memcpy(&v, we->host, we->size);
	return v;
}

/* Sets A (and D) in an entry: a write to guest memory like any other, so
 * decoded code on that page goes stale. The entry is re-read: only bits
 * this walk found clear are written. */
static void walk_set_bits(struct vtx_cpu *c, struct walk_ent *we, uint64_t bits,
			  uint64_t la)
{
	uint64_t v = 0, pa;

	if (!we->host)
		return;
	memcpy(&v, we->host, we->size);
	if ((v & bits) == bits)
		return;
	/* Under EPT, A/D updates are writes to guest-physical memory
	 * (SDM Vol. 3C 30.3.3.2). */
	pa = we->gpa;
	if (ept_active(c))
		pa = vtx_ept_translate(c, pa, ACC_WRITE, la, true, false);
	v |= bits;
	memcpy(we->host, &v, we->size);
	if (c->m->code_page[pa >> PAGE_SHIFT])
		vtx_code_write(c->m, pa, we->size);
}

/* The #PF error code bits of SDM 4.7 known before the walk: W/R, U/S and,
 * for a fetch, I/D when SMEP is on or (PAE or 4-level paging) NXE. */
static uint32_t pf_error_code(const struct vtx_cpu *c, int acc, bool user)
{
	uint32_t ec = (acc == ACC_WRITE ? PFERR_WRITE_MASK : 0) |
		      (user ? PFERR_USER_MASK : 0);

	if (acc == ACC_EXEC &&
	    ((c->cr4 & X86_CR4_SMEP) ||
	     ((c->cr4 & X86_CR4_PAE) && (c->efer & EFER_NX))))
		ec |= PFERR_FETCH_MASK;
	return ec;
}

void vtx_paging_walk(struct vtx_cpu *c, uint64_t la, int acc, bool user,
		     bool implicit, struct vtx_walk *w)
{
	bool lma = c->efer & EFER_LMA, pae = c->cr4 & X86_CR4_PAE;
	uint64_t rsvd = PHYS_RSVD_MASK | ((c->efer & EFER_NX) ? 0 : PTE_NX);
	uint32_t ec = pf_error_code(c, acc, user);
	uint32_t ec_rsvd = ec | PFERR_PRESENT_MASK | PFERR_RSVD_MASK;
	struct walk_ent ent[4];
	unsigned rights = XL_W | XL_U, esz = 8, ibits = 9;
	uint64_t table, v = 0;
	int level, n = 0;

	c->stats.tlb_misses++;
	cost_charge(c, c->cost.tlb_miss);
	if (lma) {
		/* 4-level paging (SDM 4.5.4). */
		level = 4;
		table = c->cr3 & PTE_ADDR_MASK & VTX_PHYS_MASK;
	} else if (pae) {
		/* PAE paging (SDM 4.4.2): the PDPTE comes from its register,
		 * loaded with CR3; it has no rights and no accessed flag. */
		uint64_t pdpte = c->pdpte[(la >> 30) & 3];

		if (!(pdpte & PTE_P))
			page_fault(c, la, ec);
		level = 2;
		table = pdpte & PTE_ADDR_MASK & VTX_PHYS_MASK;
	} else {
		/* 32-bit paging (SDM 4.3): 4-byte entries, 10-bit indices. */
		level = 2;
		esz = 4;
		ibits = 10;
		table = c->cr3 & 0xfffff000ull;
	}
	w->shift = PAGE_SHIFT;
	for (;; level--) {
		unsigned shift = PAGE_SHIFT + ibits * (unsigned)(level - 1);
		struct walk_ent *we = &ent[n++];
		bool large;

		we->size = esz;
		we->gpa = table + ((la >> shift) & ((1u << ibits) - 1)) * esz;
		v = walk_read(c, we, la);
		if (!(v & PTE_P))
			page_fault(c, la, ec);
		/* Reserved bits (SDM 4.4.2, 4.5.4): above MAXPHYADDR, bit 63
		 * without EFER.NXE, PS in a PML4E. 32-bit paging has none
		 * but bit 21 of a 4-MiB PDE (below). */
		if (esz == 8 && ((v & rsvd) || (level == 4 && (v & PTE_PS))))
			page_fault(c, la, ec_rsvd);
		if (!(v & PTE_RW))
			rights &= ~XL_W;
		if (!(v & PTE_US))
			rights &= ~XL_U;
		if (esz == 8 && (v & PTE_NX))
			rights |= XL_NX;
		/* PS makes a leaf of a PDPTE (1 GiB) or PDE (2 MiB) in
		 * 4-level paging, of a PAE PDE (2 MiB), and of a 32-bit PDE
		 * (4 MiB) when CR4.PSE is on; otherwise it is ignored. */
		large = (v & PTE_PS) &&
			(lma ? (level == 2 || level == 3)
			     : (level == 2 && (pae || (c->cr4 & X86_CR4_PSE))));
		if (large && esz == 4) {
			if (v & PDE32_4M_RSVD)
				page_fault(c, la, ec_rsvd);
			w->pa = (v & 0xffc00000ull) |
				((v & PDE32_4M_HIGH_MASK) << 19) |
				(la & 0x3fffffull);
			w->shift = 22;
			break;
		}
		if (large) {
			uint64_t sz = 1ull << shift;

			/* bits 20:13 (2 MiB) or 29:13 (1 GiB) are reserved */
			if (v & (sz - 1) & ~0x1fffull)
				page_fault(c, la, ec_rsvd);
			w->pa = (v & PTE_ADDR_MASK & ~(sz - 1)) |
				(la & (sz - 1));
			w->shift = (uint8_t)shift;
			break;
		}
		if (level == 1) {
			w->pa = (v &
				 (esz == 8 ? PTE_ADDR_MASK : 0xfffff000ull)) |
				(la & (PAGE_SIZE - 1));
			break;
		}
		table = v & (esz == 8 ? PTE_ADDR_MASK : 0xfffff000ull);
	}
	w->pa &= VTX_PHYS_MASK;
	if ((v & PTE_G) && (c->cr4 & X86_CR4_PGE))
		rights |= XL_G;

	/* SDM Vol. 3A 4.6: access rights. */
	if (!vtx_paging_access_ok(c, rights, acc, user, implicit))
		page_fault(c, la, ec | PFERR_PRESENT_MASK);

	/* SDM Vol. 3A 4.8: accessed flags on every entry used, dirty on the
	 * leaf for a write. */
	for (int k = 0; k < n; k++)
		walk_set_bits(
			c, &ent[k],
			PTE_A | (k == n - 1 && acc == ACC_WRITE ? PTE_D : 0),
			la);
	if (acc == ACC_WRITE || (v & PTE_D))
		rights |= XL_D;
	w->rights = (uint8_t)rights;
}

int vtx_paging_load_pdptes(struct vtx_cpu *c, uint64_t cr3)
{
	uint64_t p[4];

	for (int k = 0; k < 4; k++) {
		uint64_t pa = (cr3 & 0xffffffe0ull) + 8 * (uint64_t)k;

		/* A guest-physical read under EPT (SDM Vol. 3C 29.3.2); no
		 * linear address is involved. */
		if (ept_active(c))
			pa = vtx_ept_translate(c, pa, ACC_READ, 0, false,
					       false);
		p[k] = ~0ull;
		vtx_hpa_read(c->m, pa, &p[k], 8);
		if ((p[k] & PTE_P) && (p[k] & PDPTE_RSVD_MASK))
			return -1;
	}
	memcpy(c->pdpte, p, sizeof(p));
	return 0;
}
