/* SPDX-License-Identifier: MIT */
/*
 * ept.h - L0's extended page tables: ept01 (L1-physical to host-physical,
 * the identity on L1's RAM and nothing else) and ept02 (L2-physical to
 * host-physical: ept12, which L1 keeps in its own memory, composed with
 * ept01), built lazily one 4 KiB page per ept02 violation. SDM Vol. 3C
 * 30.3.2 (EPT entries), 30.3.3 (violations and misconfigurations), 25.6.11
 * (the EPT pointer). Coherence with ept12: dropped on L1's INVEPT, or
 * ept12's pages write-protected through ept01 (mmu/ept02_wp.c). Monitor
 * side; the tables live in the L0 area.
 */
#ifndef NESTVM_MMU_EPT_H
#define NESTVM_MMU_EPT_H

#include "arch/types.h"

struct l0_area;
struct l1_mem;

/*
 * Builds ept01 in the L0 area: L1-physical [0, mem_size) to the same
 * host-physical range, read/write/execute, write-back; 2 MiB leaves where
 * a whole 2 MiB of RAM is there, 4 KiB leaves for the tail. Nothing else
 * is mapped, so L1 can never reach the L0 area. 0 with *eptp (4 levels,
 * WB), or -ENOMEM when the area is too small, -EINVAL for a mem_size that
 * is not a page multiple.
 */
int ept01_build(struct l0_area *area, uint64_t mem_size, uint64_t *eptp);

/*
 * Gives or takes write access to the 4 KiB L1 page at gpa in ept01 (the
 * `wp` coherence of ept02). A 2 MiB leaf holding it is split into 512
 * 4 KiB leaves first (a page of the L0 area); splits stay. The caller
 * invalidates the processor's EPT-derived translations (INVEPT). 0,
 * -ENOENT when ept01 does not map gpa, -ENOMEM when the area is full.
 */
int ept01_set_writable(struct l0_area *area, uint64_t eptp01, gpa_t gpa,
		       bool writable);

/* ---- ept02 ----------------------------------------------------------------
 *
 * ept02 shadows one ept12 (named by L1's EPTP). Its tables come from a pool
 * of L0-area pages that is reused when ept02 is dropped, so ept02 memory
 * grows with the pages L2 touches, never with the size of ept12.
 *
 * How ept02 follows L1's changes to ept12 (--ept-coherence,
 * docs/design/nested.md):
 *   invept  every ept02 leaf is dropped when L1 executes INVEPT, which the
 *           SDM requires of L1 after it changes ept12 (30.4.3.1);
 *   wp      every ept12 page an ept02 leaf was derived from is read-only
 *           in ept01; L1's first write to one drops exactly the leaves
 *           derived from it and makes it writable again until a walk reads
 *           it again (KVM's unsync). INVEPT then has nothing to drop.
 */
enum ept_coherence {
	EPT_COHERENCE_INVEPT,
	EPT_COHERENCE_WP,
};

/* "invept" or "wp". */
const char *ept_coherence_name(enum ept_coherence c);

/* What keeping ept02 coherent did (the run report). */
struct ept02_stats {
	uint64_t table_pages; /* L0-area pages ept02 ever held (its memory) */
	uint64_t present; /* ept02 leaves present (at the end of a run) */
	uint64_t wp_protects; /* ept12 pages made read-only in ept01 */
	uint64_t wp_faults; /* writes to one of them (unprotected) */
	uint64_t dropped_wp; /* ept02 leaves dropped by those writes */
	uint64_t dropped_invept; /* ept02 leaves dropped by L1's INVEPT */
	uint64_t invepts; /* L1's INVEPTs that completed */
};

/* An ept12 table page an ept02 walk read (wp coherence), with the reverse
 * map of the ept02 leaves derived from entries on it. */
struct ept12_page {
	gpa_t gpa; /* its L1-physical address */
	bool protected; /* read-only in ept01 */
	gpa_t *leaves; /* L2-physical pages of those ept02 leaves */
	size_t nr_leaves, cap_leaves;
};

struct ept02 {
	struct l0_area *area;
	const struct l1_mem *l1;
	uint64_t eptp12; /* the ept12 shadowed (its EPTP), 0 for none */
	hpa_t root; /* the ept02 PML4, 0 until the first fill */
	hpa_t *pool; /* every table page ever taken from the area */
	size_t pool_used, pool_len, pool_cap;
	uint64_t fills; /* ept02 leaves written (hidden faults resolved) */
	uint64_t resets;
	uint64_t present; /* ept02 leaves present now */
	enum ept_coherence coherence;
	struct vtx_cpu *cpu; /* for INVEPT after L0 changes a table */
	uint64_t eptp01; /* ept01, whose leaves wp write-protects */
	struct ept12_page *pages; /* wp: the ept12 pages walked */
	size_t nr_pages, cap_pages;
	struct ept02_stats *stats; /* own_stats unless pointed elsewhere */
	struct ept02_stats own_stats;
};

/* How an ept02 violation is resolved. */
enum ept02_result {
	EPT02_FILLED, /* hidden fault: ept12 allows it; ept02 now maps it */
	EPT02_VIOLATION, /* true fault: ept12 forbids it, reflect to L1 */
	EPT02_MISCONFIG, /* ept12 is misconfigured there: reflect to L1 */
	EPT02_OUTSIDE_L1_RAM, /* ept12 maps it outside L1's RAM (no ept01) */
	EPT02_NO_MEMORY, /* the L0 area is used up */
	EPT02_WP_SELF, /* wp: L2 writes an ept12 page that maps itself */
};

/* What the ept12 walk found, for the qualification of a reflected exit. */
struct ept02_walk {
	uint64_t prot; /* AND of the EPT_RWX bits of every ept12 entry walked */
	gpa_t l1_gpa; /* the L1-physical address, when the walk reached it */
	int level; /* where the walk stopped: 4 (PML4E) .. 1 (PTE) */
};

void ept02_init(struct ept02 *e, struct l0_area *area, const struct l1_mem *l1);
void ept02_destroy(struct ept02 *e);

/* Drops every ept02 entry (INVEPT from L1, or another ept12); the table
 * pages go back to the pool. */
void ept02_reset(struct ept02 *e);

/*
 * Chooses the coherence mode before L2 first runs. wp needs the vCPU (to
 * invalidate translations after L0 edits ept01 or ept02) and ept01.
 */
void ept02_set_coherence(struct ept02 *e, enum ept_coherence c,
			 struct vtx_cpu *cpu, uint64_t eptp01);

/*
 * L1 executed INVEPT (its checks passed): under invept every ept02 leaf
 * goes (counted in stats->dropped_invept); under wp ept02 is already
 * coherent and nothing is dropped.
 */
void ept02_invept(struct ept02 *e);

/*
 * An ept01 violation of L1 at L1-physical gpa (wp): if it is a write to
 * an ept12 page L0 protected, the ept02 leaves derived from the page are
 * dropped, the page is writable again and true is returned (L1 resumes
 * and redoes the write). false: not L0's protection, the caller decides.
 * *err is a negative errno when ept01 could not be changed.
 */
bool ept02_wp_l1_write(struct ept02 *e, gpa_t gpa, int *err);

/*
 * Makes ept02 shadow the ept12 of eptp12 (dropping it first if it
 * shadowed another) and returns in *eptp02 the EPT pointer to run L2 with.
 * 0, or -ENOMEM when not even the root table fits in the L0 area.
 */
int ept02_use(struct ept02 *e, uint64_t eptp12, uint64_t *eptp02);

/*
 * Resolves an EPT violation of L2 at L2-physical gpa for an access
 * (EPT_READ, EPT_WRITE or EPT_EXEC, as in bits 2:0 of the qualification).
 * Walks ept12 in L1's memory (SDM 30.3.2, 30.3.3.1: entries outside L1's
 * RAM read as all ones, a misconfiguration); when ept12 allows the access,
 * writes the 4 KiB ept02 leaf for the page with ept12's rights and memory
 * type. *walk says what ept12 gave.
 */
enum ept02_result ept02_handle_violation(struct ept02 *e, gpa_t gpa,
					 uint64_t access,
					 struct ept02_walk *walk);

/* The host-physical address ept02 maps L2-physical gpa to, or ~0 if no
 * ept02 leaf maps it (for tests and dumps). */
hpa_t ept02_lookup(const struct ept02 *e, gpa_t gpa);

/* ---- wp coherence (mmu/ept02_wp.c), for mmu/ept.c ---------------------- */

/* The tracked ept12 page at L1-physical page gpa, or NULL. */
struct ept12_page *ept02_wp_find(struct ept02 *e, gpa_t gpa);

/*
 * Before the leaf for L2 page gpa02 (an access to L1 page target, walked
 * through the ept12 pages walked[0..n)) is written: a write to a protected
 * ept12 page unprotects it first; every walked page is then protected. 0,
 * or an EPT02_* result to return.
 */
int ept02_wp_before_fill(struct ept02 *e, const gpa_t *walked, int n,
			 gpa_t target, uint64_t access);

/* After the leaf is written: its page goes into the reverse map of every
 * walked page. 0, or -ENOMEM. */
int ept02_wp_after_fill(struct ept02 *e, const gpa_t *walked, int n,
			gpa_t gpa02);

/* Drops every tracked page, making each writable in ept01 again. */
void ept02_wp_forget_all(struct ept02 *e);

/* The ept02 PTE slot of L2 page gpa02, or NULL when no table holds it. */
uint64_t *ept02_pte(struct ept02 *e, gpa_t gpa02);

/* Clears the ept02 leaf of L2 page gpa02: true when one was present. */
bool ept02_zap(struct ept02 *e, gpa_t gpa02);

/* Invalidates what the processor derived from ept02 (after a zap). */
void ept02_flush(struct ept02 *e);

#endif
