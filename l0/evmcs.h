/* SPDX-License-Identifier: MIT */
/*
 * evmcs.h - the `pv` VMCS-access strategy, L0's side: L0 offers L1 the
 * enlightened VMCS of Hyper-V's TLFS (CPUID leaves 0x40000000-0x4000000A,
 * the VP assist page MSR, arch/evmcs.h), reads the eVMCS from L1's memory
 * at each enlightened VMLAUNCH/VMRESUME, honouring its clean-field bits,
 * and writes L2's state and the exit information back into it on a
 * reflected exit. SDM Vol. 3C 27 and 28 as applied to the copy. Monitor
 * side; docs/design/nested.md "pv".
 */
#ifndef NESTVM_L0_EVMCS_H
#define NESTVM_L0_EVMCS_H

#include "l0/vm.h"

/* L1's enlightenment state (struct nvmx member evmcs). */
struct nvmx_evmcs {
	bool offered; /* --vmcs-access pv: the CPUID leaves and the MSR */
	uint64_t assist_msr; /* HV_X64_MSR_VP_ASSIST_PAGE as L1 set it */
	bool current; /* nvmx->vmptr names an eVMCS, not a vmcs12 region */
};

/* What an enlightened VMLAUNCH/VMRESUME found (evmcs_prepare_entry()). */
enum evmcs_entry {
	EVMCS_ENTRY_NONE, /* no enlightened entry: the ordinary VMX path */
	EVMCS_ENTRY_READY, /* the eVMCS is current and copied into vmcs12 */
	EVMCS_ENTRY_FAIL_INVALID, /* bad eVMCS pointer or version */
};

/*
 * CPUID leaf for L1 under pv: true with r[0..3] = EAX..EDX for the
 * hypervisor leaves 0x40000000-0x4000000A, false for any other leaf (or
 * when pv is off).
 */
bool evmcs_cpuid(const struct l0_vm *vm, uint32_t leaf, uint32_t r[4]);

/* HV_X64_MSR_VP_ASSIST_PAGE: 0, -ENOENT for another MSR (or pv off),
 * -EINVAL where L1 gets #GP(0) (reserved bits, beyond MAXPHYADDR). */
int evmcs_get_msr(const struct l0_vm *vm, uint32_t msr, uint64_t *val);
int evmcs_set_msr(struct l0_vm *vm, uint32_t msr, uint64_t val);

/*
 * At L1's VMLAUNCH/VMRESUME (vmcs01 current): if the VP assist page asks
 * for an enlightened entry, makes its eVMCS current (a new one replaces
 * the current VMCS, launch state clear) and copies it into the cached
 * vmcs12: every field on a new eVMCS or a VMLAUNCH, otherwise the fields
 * without a clean bit and those of the groups whose bit is clear. Each
 * byte is read from L1's memory once; a changed field marks its vmcs02
 * part dirty. Then every clean bit is set, as Hyper-V does.
 */
enum evmcs_entry evmcs_prepare_entry(struct l0_vm *vm, bool launch);

/*
 * After a reflected exit or an entry failure wrote vmcs12 (or a VMfail
 * its error): the guest-state and exit-information fields, and the two
 * control fields a VM exit changes, back into the eVMCS (no-op when no
 * eVMCS is current). evmcs_store_field(): one field.
 */
void evmcs_store_exit(struct l0_vm *vm);
void evmcs_store_field(struct l0_vm *vm, uint32_t enc);

#endif
