/* SPDX-License-Identifier: MIT */
/*
 * l0_area.h - the L0 area: host-physical memory after L1's RAM that only L0
 * uses (VMXON region, vmcs01, vmcs02, bitmaps, ept01 and ept02 tables),
 * handed out one zeroed 4 KiB page at a time by a bump allocator. ept01
 * never maps it, so nothing L1 or L2 does can reach it (SDM Vol. 3C 30.3:
 * a guest reaches only what its EPT maps). Monitor side.
 */
#ifndef NESTVM_MMU_L0_AREA_H
#define NESTVM_MMU_L0_AREA_H

#include "arch/types.h"

struct vtx_machine;

/* The default size of the area nestvm reserves after L1's RAM. */
#define L0_AREA_SIZE MiB(32)

/* Invariant: base <= next <= end, all page-aligned; [next, end) is free. */
struct l0_area {
	struct vtx_machine *m;
	hpa_t base, end;
	hpa_t next;
};

/*
 * Covers [base, base + size) of the machine's arena. 0, or -EINVAL when
 * the range is not page-aligned or does not lie inside the arena.
 */
int l0_area_init(struct l0_area *a, struct vtx_machine *m, hpa_t base,
		 uint64_t size);

/* One zeroed page: 0 with *hpa set, or -ENOMEM when the area is used up. */
int l0_area_alloc_page(struct l0_area *a, hpa_t *hpa);

/* Bytes handed out so far, and the size of the whole area. */
uint64_t l0_area_used(const struct l0_area *a);
uint64_t l0_area_size(const struct l0_area *a);

/* True if [hpa, hpa + len) lies inside the area. */
bool l0_area_contains(const struct l0_area *a, hpa_t hpa, uint64_t len);

#endif
