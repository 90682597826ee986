/* SPDX-License-Identifier: MIT */
/*
 * vpid02.h - the VPIDs L2 runs with (vpid02): one per distinct VPID L1
 * puts in a vmcs12, and one for a vmcs12 without VPID, never vmcs01's
 * (L1 runs without VPID: its translations are tagged 0). L1's INVVPID on
 * a vmcs12 VPID becomes INVVPID on the matching vpid02 (SDM Vol. 3C
 * 29.4.3, 31.3 "INVVPID"). Monitor side; reaches the processor only
 * through vtx_invvpid().
 */
#ifndef NESTVM_MMU_VPID02_H
#define NESTVM_MMU_VPID02_H

#include "arch/types.h"

struct vtx_cpu;

/* vpid02 of an L2 whose vmcs12 has no VPID (or VPID disabled). */
#define VPID02_NO_VPID12 1
/* The first vpid02 handed to a vmcs12 VPID; then one per distinct VPID. */
#define VPID02_FIRST 2
/* How many vmcs12 VPIDs are tracked at once; the next one flushes every
 * vpid02 and starts again (KVM allocates from a bitmap; a small table is
 * enough for the few VPIDs an L1 uses). */
#define VPID02_MAX 64

struct vpid02_map {
	struct vtx_cpu *cpu; /* NULL: no processor to flush (unit tests) */
	uint16_t vpid12[VPID02_MAX]; /* slot k: vpid02 VPID02_FIRST + k */
	unsigned int used;
	uint64_t recycles; /* times the table was full and started again */
};

void vpid02_init(struct vpid02_map *m, struct vtx_cpu *cpu);

/* The vpid02 for vmcs12's VPID (0: vmcs12 runs L2 without one),
 * allocating one for a VPID not seen before. Never 0. */
uint16_t vpid02_get(struct vpid02_map *m, uint16_t vpid12);

/* The vpid02 already given to vpid12, or 0 if none (nothing of it can be
 * cached then). */
uint16_t vpid02_find(const struct vpid02_map *m, uint16_t vpid12);

/*
 * L1's INVVPID of type (VMX_VPID_EXTENT_*), after its operand checks,
 * done on the vpid02s: individual address and the two single-context
 * types on vpid12's vpid02 (nothing if it has none), all-context on every
 * vpid02 at once: type 2 on the processor spares only VPID 0, which is
 * L1's, as L1's own all-context INVVPID spares L1. 0 or the
 * vtx_invvpid() error.
 */
int vpid02_invvpid(struct vpid02_map *m, uint64_t type, uint16_t vpid12,
		   uint64_t gla);

#endif
