/* SPDX-License-Identifier: MIT */
/*
 * shadow.h - L0's shadow MMU for L1 (--mmu shadow): L1 runs without EPT
 * on page tables L0 builds from L1's 4-level tables, kept coherent by
 * write-protecting L1's page-table pages (Adams & Agesen 2006). SDM Vol.
 * 3A 4.5 (4-level paging), 4.6 (access rights), 4.7 (#PF error codes),
 * 4.8 (accessed and dirty flags). Monitor side; the shadow tables live in
 * the L0 area, L1's tables in L1's RAM (mmu/l1mem.h).
 */
#ifndef NESTVM_MMU_SHADOW_H
#define NESTVM_MMU_SHADOW_H

#include "arch/types.h"

struct l0_area;
struct l1_mem;
struct vtx_machine;

/* The shadow roots kept, keyed by L1's CR3 (KVM keeps a few too). */
#define SHADOW_ROOTS 4

/* What the shadow MMU did (the run report, docs/design/shadow-mmu.md). */
struct shadow_stats {
	uint64_t hidden_faults; /* #PF exits L0 resolved by a shadow fill */
	uint64_t true_faults; /* #PFs injected into L1 */
	uint64_t pt_writes; /* L1 stores to its page tables L0 emulated */
	uint64_t pt_write_unimpl; /* ... that L0 could not emulate (stop) */
	uint64_t pages_allocated; /* shadow table pages put into use */
	uint64_t pages_zapped; /* ... given back when their root went */
	uint64_t leaves_zapped; /* shadow leaves cleared */
	uint64_t wp_pages; /* L1 pages that became write-protected tables */
	uint64_t cr3_switches; /* L1 CR3 loads L0 handled */
	uint64_t root_hits; /* ... that found their root in the cache */
	uint64_t invlpgs; /* L1 INVLPGs */
	uint64_t resets; /* every root dropped (a paging-mode change) */
};

/* One shadow root: the shadow PML4 of L1's address space with CR3 cr3. */
struct shadow_root {
	uint64_t cr3; /* L1's CR3, address bits */
	hpa_t pml4; /* 0: the slot is free */
	uint64_t used; /* for the least-recently-used eviction */
	hpa_t *tables; /* every table page of this root, PML4 first */
	size_t nr_tables, cap_tables;
};

/*
 * A shadow leaf L0 wrote: the L1 entries it was derived from (their
 * L1-physical addresses, PML4E first) are what a write to L1's tables
 * must find to zap it. Invariant: gpa + 4 KiB lies in L1's RAM.
 */
struct shadow_leaf {
	gva_t gva; /* the 4 KiB page of L1-linear space */
	gpa_t gpa; /* the L1-physical page it maps */
	gpa_t entries[4];
	uint8_t nr_entries;
	uint8_t root; /* index into roots[] */
	bool writable; /* RW in the shadow */
};

/* An L1 page that holds an entry some shadow leaf was derived from: it
 * is read-only in every shadow leaf that maps it. */
struct shadow_gpt {
	gpa_t gpa; /* the page */
	uint32_t refs; /* leaves derived from entries on it */
};

/* L1's paging controls the shadow is built for (L1's own view). */
struct shadow_paging {
	uint64_t cr0, cr4, efer;
};

struct shadow_mmu {
	struct l0_area *area;
	const struct l1_mem *l1;
	struct vtx_machine *m;
	struct shadow_paging pg;
	uint64_t cr3; /* L1's CR3 as L1 believes it */
	int cur; /* root in use, index into roots[] */
	uint64_t clock;
	struct shadow_root roots[SHADOW_ROOTS];
	struct shadow_leaf *leaves;
	size_t nr_leaves, cap_leaves;
	struct shadow_gpt *gpts;
	size_t nr_gpts, cap_gpts;
	hpa_t *free_pages; /* table pages of dropped roots, for reuse */
	size_t nr_free, cap_free;
	struct shadow_stats stats;
	/* PML4 slot 511 of every root when nonzero (shadow_set_top()). */
	uint64_t top_pml4e;
	gva_t *ro_pages; /* L1 pages kept read-only (shadow_protect_gva()) */
	size_t nr_ro, cap_ro;
	/*
	 * Optional: the guest's physical addresses are not L1's (L2 under
	 * L0's translator, l0/bt_l2.c): gpa_xlate() gives the L1-physical
	 * address of guest-physical gpa for a read, or a write when write.
	 * 0, or -EFAULT: the shadow does not map it (SHADOW_PF_OUTSIDE_RAM,
	 * the hardware path decides). Entries and leaves are recorded by
	 * L1-physical address. NULL (the default): guest-physical is
	 * L1-physical.
	 */
	int (*gpa_xlate)(void *opaque, gpa_t gpa, bool write, gpa_t *l1_gpa);
	void *gpa_xlate_opaque;
};

/*
 * Sets s up for L1 with paging controls pg and CR3 cr3, and builds the
 * (empty) root for it. 0 with *root the shadow PML4 to load as the real
 * CR3, -ENOMEM when the L0 area is full.
 */
int shadow_init(struct shadow_mmu *s, struct l0_area *area,
		const struct l1_mem *l1, const struct shadow_paging *pg,
		uint64_t cr3, hpa_t *root);
void shadow_destroy(struct shadow_mmu *s);

/*
 * True when L0's shadow covers L1's paging mode pg: 4-level paging in
 * IA-32e mode with CR0.WP set, without PCIDs, protection keys or 5-level
 * paging. Otherwise *why names what is not covered.
 */
bool shadow_paging_supported(const struct shadow_paging *pg, const char **why);

/*
 * L1 loaded CR3 (or a VM exit loaded vmcs12's host CR3): switches to its
 * root, from the cache or new (evicting the least recently used). 0 with
 * *root, or -ENOMEM.
 */
int shadow_set_cr3(struct shadow_mmu *s, uint64_t cr3, hpa_t *root);

/*
 * L1's paging controls changed: if a bit the shadow depends on changed,
 * every root goes and the current one is rebuilt empty. 0 with *root, or
 * -ENOMEM.
 */
int shadow_set_paging(struct shadow_mmu *s, const struct shadow_paging *pg,
		      hpa_t *root);

/*
 * The monitor's own mapping in PML4 slot 511 (the software VMM's
 * translation cache, docs/design/bt.md): pml4e goes into every root now
 * and into each new one, and a fault of L1's there is SHADOW_PF_RESERVED,
 * never filled.
 */
void shadow_set_top(struct shadow_mmu *s, uint64_t pml4e);

/*
 * Keeps the shadow leaves for the L1 page at gva read-only (wp) or lets
 * them be writable again (!wp): the coherence of translations made from
 * the page. A writable leaf there now is zapped. 0, or -ENOMEM.
 */
int shadow_protect_gva(struct shadow_mmu *s, gva_t gva, bool wp);

/* Every root goes (counted in resets) and the current one is rebuilt
 * empty: L1 ran where the shadow did not see its writes. 0 with *root,
 * or -ENOMEM. */
int shadow_reset(struct shadow_mmu *s, hpa_t *root);

/*
 * Keeps every leaf that maps the L1 page at gpa read-only (pin) or
 * drops that hold (unpin), as for one of L1's own page tables: a write
 * to it is SHADOW_PF_PT_WRITE. Pins count. 0, or -ENOMEM.
 */
int shadow_pin_gpa(struct shadow_mmu *s, gpa_t gpa);
void shadow_unpin_gpa(struct shadow_mmu *s, gpa_t gpa);

/* L1's INVLPG of gva: the current root's leaf for it goes. */
void shadow_invlpg(struct shadow_mmu *s, gva_t gva);

/* How a #PF of L1 under the shadow is resolved. */
enum shadow_pf_result {
	SHADOW_PF_FILLED, /* hidden fault: the shadow now maps it */
	SHADOW_PF_TRUE, /* L1's tables forbid it: inject *error, CR2 */
	SHADOW_PF_PT_WRITE, /* a write L1 may do to one of its page tables:
			       L0 emulates the instruction */
	SHADOW_PF_OUTSIDE_RAM, /* L1's tables map it outside L1's RAM */
	SHADOW_PF_NO_MEMORY, /* the L0 area is used up */
	SHADOW_PF_RESERVED, /* in the monitor's slot (shadow_set_top()) */
};

/*
 * A #PF exit of L1 at linear gva with the processor's error code ec
 * (PFERR_* bits), with rflags_ac L1's RFLAGS.AC: walks L1's tables,
 * setting their A (and, for a write, D) flags as the processor would,
 * and fills the shadow leaf; or says the fault is L1's (*error: the
 * error code L1 gets). *gpa: the L1-physical address reached, when any.
 */
enum shadow_pf_result shadow_handle_pf(struct shadow_mmu *s, gva_t gva,
				       uint32_t ec, bool rflags_ac,
				       uint32_t *error, gpa_t *gpa);

/*
 * L0 or an emulated L1 instruction wrote L1-physical [gpa, gpa + len):
 * every shadow leaf derived from an L1 entry there is zapped. Returns how
 * many were. Hooked to every write l1mem makes (struct l1_mem on_write).
 */
size_t shadow_l1_written(struct shadow_mmu *s, gpa_t gpa, uint64_t len);

/* True when the L1 page holding gpa is a write-protected page table. */
bool shadow_is_pt_page(const struct shadow_mmu *s, gpa_t gpa);

/* The shadow PTE mapping gva in the current root, 0 if none (tests). */
uint64_t shadow_lookup(struct shadow_mmu *s, gva_t gva);

/* ---- the instructions L0 emulates on a page table (mmu/shadow_emul.c) -- */

/* A MOV store: MOV r/m, r (88, 89) or MOV r/m, imm (C6 /0, C7 /0). */
struct shadow_store {
	uint8_t len; /* instruction length */
	uint8_t size; /* bytes stored: 1, 2, 4 or 8 */
	bool has_imm; /* the value is imm, else register src */
	uint64_t imm; /* sign-extended to size */
	int src; /* enum x86_gpr; with src_high8 one of AH..BH */
	bool src_high8;
	/* The memory operand: base + index * scale + disp (+ RIP of the
	 * next instruction when rip_rel), in segment seg (only FS/GS have
	 * a base in 64-bit mode). base/index -1 when absent. */
	int base, index;
	uint8_t scale;
	int64_t disp;
	bool rip_rel;
	int seg; /* enum x86_sreg: VCPU_SREG_* */
	bool addr32; /* 0x67: the address is truncated to 32 bits */
};

/*
 * Decodes a 64-bit-mode instruction from bytes[0..n) as a MOV store to
 * memory. 0, or -EOPNOTSUPP for any other instruction (or a register
 * destination), -EINVAL when n is too short.
 */
int shadow_decode_store(const uint8_t *bytes, size_t n,
			struct shadow_store *out);

#endif
