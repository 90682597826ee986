/* SPDX-License-Identifier: MIT */
/*
 * vmcs12.h - vmcs12 storage and access by encoding: L0's cached copy of
 * the VMCS L1 keeps for L2 (struct vmcs12, arch/vmcs12.h), read and
 * written by field encoding for L1's VMREAD/VMWRITE (SDM Vol. 3C 25.11.2,
 * 31.3 "VMREAD", "VMWRITE"), and moved between the cache and the region in
 * L1's memory on VMPTRLD and VMCLEAR, as KVM does (25.11.3: software must
 * not touch a VMCS region it made current). Monitor side.
 */
#ifndef NESTVM_VMCS_MERGE_VMCS12_H
#define NESTVM_VMCS_MERGE_VMCS12_H

#include "arch/vmcs12.h"

struct l1_mem;

/* Launch states (SDM 25.1), as kept in struct vmcs12.launch_state. */
#define VMCS12_LAUNCH_CLEAR 0u
#define VMCS12_LAUNCH_LAUNCHED 1u

/*
 * Field enc of v, zero-extended: 0 with *val, or -ENOENT when enc names
 * no field L0 offers L1 (nested_vmcs_field_supported()).
 */
int vmcs12_read_field(const struct vmcs12 *v, uint32_t enc, uint64_t *val);

/* Writes val, truncated to the field's width; 0 or -ENOENT as above. */
int vmcs12_write_field(struct vmcs12 *v, uint32_t enc, uint64_t val);

/* The 32-bit revision word of the region at L1-physical gpa; memory that
 * is not L1 RAM reads as all ones (no VMCS revision has bit 31 clear
 * there). */
uint32_t vmcs12_read_revision(const struct l1_mem *mem, gpa_t gpa);

/*
 * Copies the region at gpa into the cache (VMPTRLD) / the cache back into
 * the region (VMCLEAR, VMPTRLD of another VMCS, VMXOFF). 0, or -EFAULT
 * when the region is not wholly in L1's RAM (nothing is copied).
 */
int vmcs12_load(struct vmcs12 *cache, const struct l1_mem *mem, gpa_t gpa);
int vmcs12_store(const struct vmcs12 *cache, const struct l1_mem *mem,
		 gpa_t gpa);

/* Sets the launch state of the region at gpa to clear (VMCLEAR of a
 * vmcs12 that is not current). 0, or -EFAULT outside L1's RAM. */
int vmcs12_clear_launch_state(const struct l1_mem *mem, gpa_t gpa);

#endif
