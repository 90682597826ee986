/* SPDX-License-Identifier: MIT */
/*
 * shadow_vm.h - --mmu shadow on L0's side: vmcs01 without EPT, with #PF in
 * the exception bitmap, CR3-load/store and INVLPG exiting and L1's paging
 * bits in the CR0/CR4 guest/host masks, and the L1 exit handlers that keep
 * the shadow MMU (mmu/shadow.h) coherent. SDM Vol. 3C 25.6.3 (exception
 * bitmap), 25.6.6 (CR masks), 26.1.3 (exiting instructions), 28.2.1
 * (exit qualifications). Monitor side.
 */
#ifndef NESTVM_L0_SHADOW_VM_H
#define NESTVM_L0_SHADOW_VM_H

#include "l0/vm.h"

/* "ept" or "shadow". */
const char *l0_mmu_mode_name(enum l0_mmu_mode mode);

/*
 * Chooses how L0 virtualizes L1's memory, after l0_vm_init() (which sets
 * up ept01) and l0_vm_set_ept_coherence(), before the run. shadow turns
 * EPT off in vmcs01 and builds the first shadow root. 0, or -errno with a
 * message in err: L1's paging mode is not covered (mmu/shadow.h), ept02's
 * wp coherence (which needs ept01 under L1) was asked for, no memory.
 */
int l0_vm_set_mmu(struct l0_vm *vm, enum l0_mmu_mode mode, char *err,
		  size_t errlen);
void l0_vm_destroy_mmu(struct l0_vm *vm);

/* L1's CR3 as L1 believes it (vmcs01's GUEST_CR3 is a shadow root under
 * --mmu shadow). vmcs01 must be current. */
uint64_t l0_l1_cr3(struct l0_vm *vm);

/* L1 exits under --mmu shadow (l0/vm.c's table calls them): an exception
 * (only #PF is intercepted), INVLPG, a CR3 access; qual as in the exit. */
enum l0_exit_action l0_shadow_handle_exception(struct l0_vm *vm, uint64_t qual);
enum l0_exit_action l0_shadow_handle_invlpg(struct l0_vm *vm, uint64_t qual);
enum l0_exit_action l0_shadow_handle_cr3(struct l0_vm *vm, uint64_t qual);

/*
 * L1's CR0, CR4 or EFER changed in vmcs01 (an emulated MOV to CR or
 * WRMSR): the shadow follows. false when the new mode is not covered:
 * the run is stopped (l0_stop_vm()).
 */
bool l0_shadow_paging_changed(struct l0_vm *vm);

/* vmcs12's host state was just loaded into vmcs01 (a reflected exit or
 * an entry failure): GUEST_CR3 holds L1's new CR3, which becomes virtual
 * and is replaced by its shadow root. false: stopped, as above. */
bool l0_shadow_after_host_state(struct l0_vm *vm);

#endif
