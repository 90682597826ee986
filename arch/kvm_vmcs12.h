/* SPDX-License-Identifier: MIT */
/*
 * kvm_vmcs12.h - KVM's vmcs12 image as a nested-state snapshot carries it
 * (uapi <asm/kvm.h> struct kvm_vmx_nested_state_data): the header words,
 * the revision KVM gives its vmcs12, and compile-time checks on the field
 * offsets listed in arch/kvm_vmcs12.def (Linux 6.1,
 * arch/x86/kvm/vmx/vmcs12.h). SDM Vol. 3C 25.2 for the first 8 bytes.
 * Shared; freestanding-safe.
 */
#ifndef NESTVM_ARCH_KVM_VMCS12_H
#define NESTVM_ARCH_KVM_VMCS12_H

#include "arch/vmcs.h"

/* KVM's vmcs12 revision (what its IA32_VMX_BASIC reports to L1). */
#define KVM_VMCS12_REVISION 0x11e57ed0u
/* One image in the snapshot: KVM_STATE_NESTED_VMX_VMCS_SIZE. */
#define KVM_VMCS12_IMAGE_SIZE 0x1000u
/* The bytes KVM's struct vmcs12 uses; the rest of the image is zero. */
#define KVM_VMCS12_USED_SIZE 998u

/*
 * The header (struct vmcs_hdr, then abort and launch_state): bits 30:0
 * of the first word are the revision, bit 31 the shadow-VMCS indicator
 * (SDM 25.2); bytes 12..39 are KVM's padding, zero.
 */
#define KVM_VMCS12_OFF_REVISION 0u
#define KVM_VMCS12_OFF_ABORT 4u
#define KVM_VMCS12_OFF_LAUNCH_STATE 8u
#define KVM_VMCS12_SHADOW_VMCS (1u << 31)

/* Every field lies inside KVM's struct, after the header. */
#define KVM_VMCS12_FIELD(name, off)                                         \
	_Static_assert((off) >= 40 && (off) + VMCS_ENC_FIELD_BYTES(name) <= \
					      KVM_VMCS12_USED_SIZE,         \
		       "KVM offset of " #name " out of range");
#include "arch/kvm_vmcs12.def"
#undef KVM_VMCS12_FIELD

#endif
