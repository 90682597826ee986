/* SPDX-License-Identifier: MIT */
/*
 * caps.h - the VMX L0 offers L1: the capability MSRs L1 reads (SDM Vol. 3D
 * Appendix A) and the VMCS fields its VMREAD/VMWRITE reach. They are the
 * processor's (the model's) capabilities ANDed with what L0 emulates, as
 * KVM's nested_vmx_setup_ctls_msrs() does, so L1 never sees a control L0
 * could not merge into vmcs02. Monitor side.
 */
#ifndef NESTVM_VMCS_MERGE_CAPS_H
#define NESTVM_VMCS_MERGE_CAPS_H

#include "arch/types.h"

struct vtx_cpu;

/*
 * The revision identifier of a vmcs12 (IA32_VMX_BASIC bits 30:0 as L1
 * reads them): "NV12". It differs from the model's own so that an L1 that
 * does not read IA32_VMX_BASIC fails at once.
 */
#define VMCS12_REVISION 0x4e563132u
/* Bit 31 of a VMCS region's revision word: a shadow VMCS (SDM 25.10). */
#define VMCS12_SHADOW_INDICATOR 0x80000000u

/* IA32_VMX_BASIC .. IA32_VMX_EXIT_CTLS2, indexed from MSR_IA32_VMX_FIRST. */
#define NESTED_VMX_NR_CAPS 20u

struct nested_vmx_caps {
	uint64_t msr[NESTED_VMX_NR_CAPS];
	bool present[NESTED_VMX_NR_CAPS]; /* the MSR exists for L1 */
};

/*
 * Reads the processor's capability MSRs from cpu and derives what L0
 * offers. 0, or -EINVAL if the processor lacks a control L0 itself needs
 * for the nested run (EPT, TRUE controls, 4-level EPT with WB).
 */
int nested_vmx_caps_init(struct nested_vmx_caps *caps,
			 const struct vtx_cpu *cpu);

/* The value L1 reads from capability MSR msr: 0, or -ENOENT if msr is not
 * one L0 offers (RDMSR of it is #GP(0), as on a processor without it). */
int nested_vmx_caps_read(const struct nested_vmx_caps *caps, uint32_t msr,
			 uint64_t *val);

/* True if control word val is allowed by capability MSR msr (allowed-0
 * settings in bits 31:0 must be 1, allowed-1 in bits 63:32 may be). */
bool nested_vmx_ctl_ok(const struct nested_vmx_caps *caps, uint32_t msr,
		       uint32_t val);

/* IA32_VMX_EPT_VPID_CAP as L1 reads it (0 if not offered). */
uint64_t nested_vmx_ept_vpid_cap(const struct nested_vmx_caps *caps);

/* True for a field encoding L1 may VMREAD/VMWRITE: a field of a feature
 * L0 offers (SDM 25.11.2; everything else is VMfailValid(12)). */
bool nested_vmcs_field_supported(uint32_t enc);

#endif
