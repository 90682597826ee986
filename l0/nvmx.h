/* SPDX-License-Identifier: MIT */
/*
 * nvmx.h - L1's VMX, virtualized: the VMX operation state L1 believes it
 * has (VMXON, the current vmcs12 and its cached copy, launch states), the
 * emulation of every VMX instruction L1 executes (they all exit to L0, SDM
 * Vol. 3C 26.1.2) with the SDM's VMfail cases (31.2, 31.3), the nested VM
 * entry that runs L2 on vmcs02 (l0/nested.c), and the two-step decision on
 * each L2 exit: does L0 want it, does L1 want it (reflect). Monitor side.
 */
#ifndef NESTVM_L0_NVMX_H
#define NESTVM_L0_NVMX_H

#include "l0/evmcs.h"
#include "l0/vm.h"
#include "mmu/ept.h"
#include "mmu/vpid02.h"
#include "vmcs-merge/caps.h"
#include "vmcs-merge/merge.h"

struct vmcs12;

/* L1's current-VMCS pointer when it has none (SDM 25.11.1). */
#define NVMX_NO_VMPTR (~0ull)

struct nvmx {
	struct nested_vmx_caps caps; /* what L1 reads in the VMX MSRs */
	unsigned int maxphyaddr; /* L1's physical-address width */
	uint64_t feature_control; /* L1's IA32_FEATURE_CONTROL */
	bool vmxon; /* L1 is in VMX operation */
	gpa_t vmxon_ptr;
	gpa_t vmptr; /* L1's current-VMCS pointer, or NVMX_NO_VMPTR */
	struct vmcs12 *vmcs12; /* the cached copy of the current vmcs12 */
	/* Scratch for L1's shadow VMCS (vmcs12's link pointer) while an L2
	 * VMREAD/VMWRITE uses it: loaded and stored back each time. */
	struct vmcs12 *shadow12;
	bool guest_mode; /* L2 is the current guest, vmcs02 the VMCS */
	bool vmcs02_launched;
	bool run_pending; /* L2 entered, the entry's outcome not seen yet */
	bool run_launch; /* ... by a VMLAUNCH (launch state to set) */
	struct vmcs02_config cfg02; /* of the last nested entry */
	/* VMCS02_DIRTY_* parts of vmcs02 that no longer match vmcs12 and
	 * cfg02: set by L1's VMWRITE (the field's sync class), VMPTRLD and
	 * VMCLEAR (everything), and by an entry that did not complete;
	 * cleared when a nested entry has written them. */
	unsigned int vmcs02_dirty;
	struct ept02 ept02;
	/* ept02.resets at the last nested entry: a reset since then may
	 * reuse the root, so its EP4TA is flushed (nested_events.c). */
	uint64_t ept02_resets_seen;
	struct vpid02_map vpid02; /* vmcs12 VPIDs -> vpid02s */
	struct vmcs12_check last_check; /* of the last nested entry */
	/*
	 * VMCS shadowing for L1 (--vmcs-access shadow, shadow-all). While
	 * shadow_active, vmcs01 has "VMCS shadowing" set and its link
	 * pointer names the shadow VMCS, which holds the current value of
	 * every field shadow marks writable (L1 writes them there without
	 * an exit); vmcs12 holds the current value of every other field.
	 * Active exactly while L1 has a current vmcs12, as in KVM: with no
	 * current VMCS every VMREAD/VMWRITE exits and gets L0's VMfail.
	 * shadow_stale: L0 wrote vmcs12 (VMPTRLD, a reflected exit, an
	 * entry failure), so the shadow VMCS is refreshed before L1 runs.
	 */
	struct vmcs_shadow_set shadow;
	bool shadow_active;
	bool shadow_stale;
	/* --vmcs-access pv: the eVMCS L1 may keep instead (l0/evmcs.h);
	 * while evmcs.current, vmptr is the eVMCS's address. */
	struct nvmx_evmcs evmcs;
};

/* Sets up L1's VMX, off (vm->nvmx). 0, or -errno with a message in err. */
int nvmx_init(struct l0_vm *vm, char *err, size_t errlen);
void nvmx_destroy(struct l0_vm *vm);

/* The VMX MSRs as L1 sees them (l0_msr_read/write): 0, -ENOENT for an
 * MSR that is not one of them, -EINVAL where L1 gets #GP(0). */
int nvmx_get_msr(const struct nvmx *n, uint32_t msr, uint64_t *val);
int nvmx_set_msr(struct nvmx *n, uint32_t msr, uint64_t val);

/* L1's VMX instructions (L1 exit handlers, l0/vm.c's table). */
enum l0_exit_action nvmx_handle_vmxon(struct l0_vm *vm);
enum l0_exit_action nvmx_handle_vmxoff(struct l0_vm *vm);
enum l0_exit_action nvmx_handle_vmclear(struct l0_vm *vm);
enum l0_exit_action nvmx_handle_vmptrld(struct l0_vm *vm);
enum l0_exit_action nvmx_handle_vmptrst(struct l0_vm *vm);
enum l0_exit_action nvmx_handle_vmread(struct l0_vm *vm);
enum l0_exit_action nvmx_handle_vmwrite(struct l0_vm *vm);
enum l0_exit_action nvmx_handle_vmlaunch(struct l0_vm *vm);
enum l0_exit_action nvmx_handle_vmresume(struct l0_vm *vm);
enum l0_exit_action nvmx_handle_invept(struct l0_vm *vm);
enum l0_exit_action nvmx_handle_invvpid(struct l0_vm *vm);
enum l0_exit_action nvmx_handle_vmcall(struct l0_vm *vm);

/* VMfail helpers (SDM 31.2): RFLAGS of L1 and, for VMfailValid, the
 * VM-instruction error in the current vmcs12; all skip the instruction. */
enum l0_exit_action nvmx_succeed(struct l0_vm *vm);
enum l0_exit_action nvmx_fail_invalid(struct l0_vm *vm);
enum l0_exit_action nvmx_fail_valid(struct l0_vm *vm, unsigned int error);

/*
 * The outcome of an L1 VMX instruction without touching any VMCS's
 * RFLAGS (--vmcs-access bt, l0/bt_l1.c, where L1's RFLAGS are the
 * container's): error 0 is VMsucceed (returns 0), -1 VMfailInvalid (CF),
 * > 0 VMfailValid with that VM-instruction error recorded in vmcs12 as
 * nvmx_fail_valid() records it (ZF; CF without a current VMCS).
 */
uint64_t nvmx_vmx_outcome(struct l0_vm *vm, int error);

/*
 * L1's VMREAD/VMWRITE of encoding enc on vmcs12, once L1 may execute it
 * (in VMX operation, CPL 0) and the operand is known (SDM 31.3): 0, -1
 * for VMfailInvalid (no current VMCS), or the VM-instruction error of a
 * VMfailValid; nvmx_vmx_outcome() turns it into flags. Shared by the
 * exit handlers and --vmcs-access bt's callouts.
 */
int nvmx_vmread_enc(struct l0_vm *vm, uint64_t enc, uint64_t *val);
int nvmx_vmwrite_enc(struct l0_vm *vm, uint64_t enc, uint64_t val);

/*
 * The shadow VMCS and vmcs12, kept in step (no-ops while shadowing is not
 * active): shadow VMCS -> vmcs12 before L0 reads vmcs12 for L1 (a nested
 * entry; VMCLEAR, VMPTRLD of another VMCS and VMXOFF release it through
 * nvmx.c itself), and vmcs12 -> shadow VMCS before L1 runs after L0 wrote
 * vmcs12 (l0/vm.c's run loop). vmcs01 is current before and after. A
 * failed VMX operation is L0's bug, recorded as l0_vmwrite() records it.
 */
void nvmx_sync_shadow_to_vmcs12(struct l0_vm *vm);
void nvmx_sync_vmcs12_to_shadow(struct l0_vm *vm);

/* L1's current VMCS, vmcs12 or eVMCS, is no longer current: a vmcs12 is
 * written back to L1's memory first (l0/evmcs.c replaces it). */
void nvmx_release_current(struct l0_vm *vm);

/*
 * A restored snapshot (l0/nstate.c): makes the region at ptr L1's current
 * VMCS, its contents already in the cache, as a VMPTRLD would (VMCS
 * shadowing on under --vmcs-access shadow). vmcs01 is current.
 */
void nvmx_set_current_vmcs12(struct l0_vm *vm, gpa_t ptr);

/* ---- L2 (l0/nested.c) ------------------------------------------------------- */

/* An exit of L2, with what deciding about it needs from L2's registers. */
struct nested_l2_exit {
	struct nested_exit_info info;
	uint32_t msr; /* MSR_READ/MSR_WRITE: ECX */
	uint64_t cr_value; /* CR_ACCESS, MOV to CR: the source register */
	uint64_t vmcs_enc; /* VMREAD/VMWRITE: the encoding register */
};

/*
 * L1's VMLAUNCH or VMRESUME, once L1 may execute it (in VMX operation, at
 * CPL 0): the launch-state and vmcs12 checks, then vmcs02 is prepared and
 * made current so that the run loop enters L2.
 */
enum l0_exit_action nested_vmx_run(struct l0_vm *vm, bool launch);

/*
 * A restored snapshot in guest mode (l0/nstate.c): vmcs02 from the
 * cached vmcs12, which passed the nested entry checks, and made current
 * so that the run loop enters L2, as KVM's KVM_SET_NESTED_STATE enters
 * non-root mode without a VMLAUNCH (no VM-entry MSR loads: they happened
 * before the snapshot). 0, -ENOMEM (no room for ept02) or -EIO.
 */
int nested_vmx_enter_restored(struct l0_vm *vm);

/* A VM entry of vmcs02 that failed with VMfail (error): what L0's checks
 * let through reaches L1 as the same VMfailValid. */
enum l0_exit_action nested_vmx_entry_vmfail(struct l0_vm *vm, int error);

/* An exit of L2 (vmcs02 current): L0's own interest first (ept02 fills),
 * then L1's (reflect), else L0 handles it for L2. */
enum l0_exit_action nested_handle_l2_exit(struct l0_vm *vm);

/* L2's VMREAD (write false) or VMWRITE of enc: does it exit to L1, by
 * vmcs12's "VMCS shadowing" and VMREAD/VMWRITE bitmap (SDM 26.1.3)? */
bool nested_l1_wants_vmcs_access(const struct vmcs12 *v,
				 const struct l1_mem *mem, bool write,
				 uint64_t enc);

/*
 * L2's VMREAD/VMWRITE of enc that L1's bitmaps let through: done on L1's
 * shadow VMCS, the region at vmcs12's link pointer (SDM 25.10, 31.3);
 * VMfailValid goes to vmcs12, the VMCS current for L2.
 */
enum l0_exit_action nvmx_handle_l2_vmread(struct l0_vm *vm, uint64_t enc);
enum l0_exit_action nvmx_handle_l2_vmwrite(struct l0_vm *vm, uint64_t enc);

/*
 * Whether L1 asked for this exit of L2, by vmcs12's controls, bitmaps
 * (read from L1's memory; outside it they read as all ones) and CR masks
 * (SDM 26.1-26.2 applied to vmcs12). An exit reason this function does not
 * know goes to L1.
 */
bool nested_l1_wants_exit(const struct vmcs12 *v, const struct l1_mem *mem,
			  const struct nested_l2_exit *x);

/* Reflects an exit of L2 to L1 (SDM 28): vmcs02 -> vmcs12, vmcs12's host
 * state into vmcs01, vmcs01 current; the run loop resumes L1. */
enum l0_exit_action nested_reflect_vmexit(struct l0_vm *vm,
					  const struct nested_exit_info *e);

#endif
