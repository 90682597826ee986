/* SPDX-License-Identifier: MIT */
/*
 * bt_l1.h - --vmcs-access bt: L1's VM-exit handler run by L0's binary
 * translator (l0/bt/) from vmcs12's host state, in a container VMCS of
 * L0's own on a shadow MMU instance over L1's page tables, its VMREAD,
 * VMWRITE and CPUID callouts done on vmcs12 and its VMRESUME the nested
 * entry; anything else falls back to vmcs01 (docs/design/bt.md). SDM Vol.
 * 3C 28.5 (host state), 31.3 (VMREAD, VMWRITE, VMRESUME). Monitor side.
 */
#ifndef NESTVM_L0_BT_L1_H
#define NESTVM_L0_BT_L1_H

#include <stdbool.h>
#include <stddef.h>

#include "l0/bt/bt.h"
#include "l0/profile.h"
#include "l0/vm.h"
#include "mmu/l1mem.h"
#include "mmu/shadow.h"

/* L1's translation cache: 1 MiB, the vCPU page included. */
#define L0_BT_L1_TC_SIZE (256u * 4096u)

/* The VMX instruction a callout left the translator for. */
enum l0_bt_l1_pending {
	L0_BT_L1_NONE,
	L0_BT_L1_VMLAUNCH,
	L0_BT_L1_VMRESUME,
};

struct l0_bt_l1 {
	struct l0_vm *vm;
	struct bt bt;
	struct shadow_mmu shadow; /* over L1's own page tables */
	hpa_t container; /* the container VMCS (L0 area) */
	struct l1_paging pg; /* L1's paging while it runs translated */
	uint64_t native_insns; /* vm->stats.insns_l1 at the last run */
	bool ready, shadow_ready, ran;
	enum l0_bt_l1_pending pending;
	uint64_t pending_next; /* the instruction after it */
	enum l0_bt_fallback cause; /* why the last BT_OP_LEAVE */
	/* --bt: L2's shadow, which L0's writes to L1's RAM reach too. */
	struct shadow_mmu *also;
};

/*
 * Sets up --vmcs-access bt on vm (after l0_vm_set_mmu() with ept and
 * l0_vm_set_ept_coherence()): the container VMCS with vmcs01's controls
 * and host state, EPT and VPID off, every exception exiting; the TC in
 * the L0 area mapped at PML4 slot 511 of every root of the L1 shadow;
 * vm->bt_l1_run hooked. 0, or -errno with one line in err: the profile
 * has no bt_* charges, --mmu shadow or --ept-coherence wp, no room.
 */
int l0_bt_l1_init(struct l0_bt_l1 *b, struct l0_vm *vm,
		  const struct l0_profile *prof, char *err, size_t errlen);
void l0_bt_l1_destroy(struct l0_bt_l1 *b);

/* ---- shared with L2's translation (l0/bt_l2.c) ---------------------------- */

/* A translation cache of size bytes in the L0 area, contiguous, and the
 * PML4E that maps it at BT_TC_GVA. 0 or -ENOMEM. */
int l0_bt_tc_alloc(struct l0_vm *vm, uint32_t size, hpa_t *tc, uint64_t *pml4e);

/* A container VMCS in the L0 area with vmcs01's controls and host state,
 * EPT/VPID/shadowing off, every exception exiting; vmcs01 current after.
 * 0, -ENOMEM or -EIO. */
int l0_bt_container_init(struct l0_vm *vm, hpa_t *vmcs);

/* Copies the fields of type from VMCS from to VMCS to, leaving to current;
 * a field the processor does not have is skipped. 0 or -EIO. */
int l0_bt_copy_fields(struct l0_vm *vm, hpa_t from, hpa_t to,
		      enum vmcs_field_type type);

/*
 * The guest state of VMCS from (current) into the container, on the
 * shadow root root, with the software VMM's conventions (l0/bt/callout.c):
 * IF, EFER.SCE and CR8 virtual in bt's vCPU page, the container's IF and
 * SCE clear. 0 with the container current, or -1 with from current.
 */
int l0_bt_container_enter(struct l0_vm *vm, struct bt *bt, hpa_t from,
			  hpa_t container, hpa_t root);

/* The container's state back into VMCS to at rip, as if the guest had
 * run there (what translated code changes: RSP, RFLAGS with the virtual
 * IF; the GPRs are the vCPU's already); to current after. */
void l0_bt_container_leave(struct l0_vm *vm, struct bt *bt, hpa_t to,
			   uint64_t rip);

/* What the software VMM charged bt so far: translation, callouts, traps. */
uint64_t l0_bt_charges(const struct bt *bt);

/* A port access of translated code on L0's bus, as an I/O exit's. */
int l0_bt_pio(struct l0_vm *vm, struct vtx_pio *pio);

#endif
