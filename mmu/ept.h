/* SPDX-License-Identifier: MIT */
/*
 * ept.h - L0's extended page tables: ept01 (L1-physical to host-physical,
 * the identity on L1's RAM and nothing else) and ept02 (L2-physical to
 * host-physical: ept12, which L1 keeps in its own memory, composed with
 * ept01), built lazily one 4 KiB page per ept02 violation. SDM Vol. 3C
 * 30.3.2 (EPT entries), 30.3.3 (violations and misconfigurations), 25.6.11
 * (the EPT pointer). Monitor side; the tables live in the L0 area.
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

/* ---- ept02 ----------------------------------------------------------------
 *
 * ept02 shadows one ept12 (named by L1's EPTP). Its tables come from a pool
 * of L0-area pages that is reused when ept02 is dropped, so ept02 memory
 * grows with the pages L2 touches, never with the size of ept12.
 */
struct ept02 {
	struct l0_area *area;
	const struct l1_mem *l1;
	uint64_t eptp12; /* the ept12 shadowed (its EPTP), 0 for none */
	hpa_t root; /* the ept02 PML4, 0 until the first fill */
	hpa_t *pool; /* every table page ever taken from the area */
	size_t pool_used, pool_len, pool_cap;
	uint64_t fills; /* ept02 leaves written (hidden faults resolved) */
	uint64_t resets;
};

/* How an ept02 violation is resolved. */
enum ept02_result {
	EPT02_FILLED, /* hidden fault: ept12 allows it; ept02 now maps it */
	EPT02_VIOLATION, /* true fault: ept12 forbids it, reflect to L1 */
	EPT02_MISCONFIG, /* ept12 is misconfigured there: reflect to L1 */
	EPT02_OUTSIDE_L1_RAM, /* ept12 maps it outside L1's RAM (no ept01) */
	EPT02_NO_MEMORY, /* the L0 area is used up */
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

#endif
