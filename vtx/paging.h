/* SPDX-License-Identifier: MIT */
/*
 * paging.h - the model's internal interface between the page walks
 * (vtx/paging.c: 32-bit, PAE and 4-level paging, SDM Vol. 3A 4.3-4.5), the
 * architectural TLB and its invalidations (vtx/tlb.c: SDM Vol. 3A 4.10,
 * Vol. 3C 29.4) and the access paths (vtx/mmu.c). Model side only.
 */
#ifndef NESTVM_VTX_PAGING_H
#define NESTVM_VTX_PAGING_H

#include <stdbool.h>
#include <stdint.h>

#include "arch/ept.h"
#include "vtx/cpu.h"

/* MAXPHYADDR the model reports (CPUID.80000008H:EAX[7:0]). */
#define VTX_MAXPHYADDR 46
#define VTX_PHYS_MASK ((1ull << VTX_MAXPHYADDR) - 1)

/* PAE paging's PDPTE reserved bits (SDM Vol. 3A 4.4.1, Table 4-8): 2:1,
 * 8:5 and 63:MAXPHYADDR. */
#define PDPTE_RSVD_MASK (0x1e6ull | ~VTX_PHYS_MASK)

/* What a walk found: the physical address of the byte (guest-physical
 * under EPT), the rights (XL_*) and the page size. */
struct vtx_walk {
	uint64_t pa;
	uint8_t rights;
	uint8_t shift;
};

/* ---- vtx/paging.c --------------------------------------------------------- */

/* Walks the paging structures of the current mode for `la`, checks the
 * access and sets the accessed/dirty flags; raises #PF with the error code
 * of SDM 4.7 (or exits on EPT). `user`: a CPL-3 access that is not an
 * implicit supervisor access; `implicit`: descriptor tables, TSS, event
 * frames (SMAP ignores RFLAGS.AC for them). */
void vtx_paging_walk(struct vtx_cpu *c, uint64_t la, int acc, bool user,
		     bool implicit, struct vtx_walk *w);
/* The checks of SDM 4.6 for a translation with `rights` under the current
 * CR0.WP, CR4.SMEP/SMAP, EFER.NXE and RFLAGS.AC. */
bool vtx_paging_access_ok(const struct vtx_cpu *c, unsigned rights, int acc,
			  bool user, bool implicit);
/* Loads the four PDPTEs from the PDPT `cr3` points to (through EPT in VMX
 * non-root). Returns 0, or -1 (and changes nothing) if a present PDPTE has
 * a reserved bit set: the caller's #GP(0) or VM-entry failure. */
int vtx_paging_load_pdptes(struct vtx_cpu *c, uint64_t cr3);

/* PAE paging is in use with these control values (SDM Vol. 3A 4.1.1). */
static inline bool paging_is_pae(uint64_t cr0, uint64_t cr4, uint64_t efer)
{
	return (cr0 & X86_CR0_PG) && (cr4 & X86_CR4_PAE) && !(efer & EFER_LMA);
}

/* ---- vtx/ept.c ------------------------------------------------------------ */

/* vtx_ept_translate() that also returns the final translation's rights as
 * XL_ER | XL_EW | XL_EX, with XL_D when a write needs no walk to set an
 * EPT dirty flag. */
uint64_t vtx_ept_walk(struct vtx_cpu *c, uint64_t gpa, int acc, uint64_t gla,
		      bool has_gla, bool final, unsigned *rights);
/* EPT accessed and dirty flags are on (EPTP bit 6, SDM Vol. 3C 29.3.5). */
static inline bool ept_ad_active(const struct vtx_cpu *c)
{
	return ept_active(c) && (c->vmx.eptp & VMX_EPTP_AD_ENABLE_BIT);
}

/* ---- vtx/tlb.c ------------------------------------------------------------ */

/* The tags of the current context: VPID (0 in root operation or without
 * "enable VPID"), PCID (0 unless CR4.PCIDE), EP4TA | 1 under EPT. */
struct vtx_tlb_ctx {
	uint16_t vpid, pcid;
	uint64_t ept;
};
void vtx_tlb_get_ctx(const struct vtx_cpu *c, struct vtx_tlb_ctx *ctx);
struct vtx_atlb_entry *vtx_atlb_find(struct vtx_cpu *c, uint64_t la,
				     const struct vtx_tlb_ctx *ctx);
void vtx_atlb_fill(struct vtx_cpu *c, uint64_t la,
		   const struct vtx_tlb_ctx *ctx, uint64_t frame,
		   unsigned rights, unsigned shift);
/* One entry goes: a fault through it (SDM 4.10.4.1: a #PF or an EPT
 * violation invalidates what it used), or a write that must set D. */
void vtx_atlb_drop(struct vtx_cpu *c, struct vtx_atlb_entry *e);

/* An invalidation: removes every entry that matches all the criteria its
 * flags name. */
#define TLBI_VPID 0x01 /* tagged with .vpid */
#define TLBI_NOT_VPID0 0x02 /* tagged with any VPID but 0 */
#define TLBI_PCID 0x04 /* tagged with .pcid */
#define TLBI_ADDR 0x08 /* mapping the linear address .la */
#define TLBI_EPT 0x10 /* combined mappings of .ept (EP4TA | 1) */
#define TLBI_COMBINED 0x20 /* combined mappings of any EP4TA */
#define TLBI_KEEP_GLOBAL 0x40 /* global translations stay */
struct vtx_tlbi {
	unsigned flags;
	uint16_t vpid, pcid;
	uint64_t la, ept;
};
void vtx_tlb_invalidate(struct vtx_cpu *c, const struct vtx_tlbi *inv);

/* The SDM's invalidating operations, each as its section says. */
void vtx_tlb_on_mov_cr3(struct vtx_cpu *c, bool noflush);
void vtx_tlb_on_cr_change(struct vtx_cpu *c, uint64_t old_cr0,
			  uint64_t old_cr4);
void vtx_tlb_on_invlpg(struct vtx_cpu *c, uint64_t la);
/* INVPCID with a valid type and descriptor (the caller checked them). */
void vtx_tlb_on_invpcid(struct vtx_cpu *c, uint64_t type, uint16_t pcid,
			uint64_t la);
/* VM entry or VM exit: without an effective VPID they flush VPID 0's
 * mappings (SDM Vol. 3C 29.4.3.3); the soft TLB always goes. */
void vtx_tlb_on_vmx_transition(struct vtx_cpu *c, bool vpid_in_use);

#endif
