/* SPDX-License-Identifier: MIT */
/*
 * bt_vm.h - --vmm bt on L0's side: a single-level guest run by the
 * software VMM (l0/bt/) in vmcs01 as the container, on the shadow MMU's
 * roots with the translation cache in PML4 slot 511 (docs/design/bt.md).
 * SDM Vol. 3C 25.6.3 (exception bitmap), 26.1.2 (VMCALL exits). Monitor
 * side.
 */
#ifndef NESTVM_L0_BT_VM_H
#define NESTVM_L0_BT_VM_H

#include <stddef.h>

#include "l0/bt/bt.h"
#include "l0/profile.h"
#include "l0/vm.h"

/* The translation cache under --vmm bt: 1 MiB, the vCPU page included
 * (one page table maps it). */
#define L0_BT_TC_SIZE (256u * 4096u)

struct l0_bt_vm {
	struct l0_vm *vm;
	struct bt bt;
	bool ready; /* bt was set up (l0_bt_vm_destroy() frees it) */
};

/*
 * Makes vmcs01 of vm (after l0_vm_set_mmu() with L0_MMU_SHADOW) the
 * software VMM's container, with the charges of profile prof. 0, or
 * -errno with one line in err: the profile has no bt_* keys, no room in
 * the L0 area.
 */
int l0_bt_vm_init(struct l0_bt_vm *b, struct l0_vm *vm,
		  const struct l0_profile *prof, char *err, size_t errlen);
void l0_bt_vm_destroy(struct l0_bt_vm *b);

/* Runs the guest from vmcs01's GUEST_RIP until it stops; vm->stop says
 * why, as after l0_vm_run(). */
void l0_bt_vm_run(struct l0_bt_vm *b);

#endif
