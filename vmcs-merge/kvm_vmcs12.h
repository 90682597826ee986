/* SPDX-License-Identifier: MIT */
/*
 * kvm_vmcs12.h - our vmcs12 (arch/vmcs12.h) to and from KVM's vmcs12
 * image, the layout a nested-state snapshot carries (uapi <asm/kvm.h>
 * struct kvm_vmx_nested_state_data), field by field through the offsets
 * in arch/kvm_vmcs12.def. SDM Vol. 3C 25.2 for the header words.
 * Monitor side.
 */
#ifndef NESTVM_VMCS_MERGE_KVM_VMCS12_H
#define NESTVM_VMCS_MERGE_KVM_VMCS12_H

#include "arch/kvm_vmcs12.h"
#include "arch/vmcs12.h"

/* KVM's offset of field enc (a whole field, never a _HIGH access), or -1
 * when KVM's vmcs12 has no place for it. */
int kvm_vmcs12_field_offset(uint32_t enc);

/*
 * Writes v into img (KVM_VMCS12_IMAGE_SIZE bytes) in KVM's layout:
 * KVM's revision with v's shadow-VMCS indicator, abort, launch state,
 * every field KVM has, zero elsewhere. Returns how many fields of v are
 * not zero and have no place in KVM's layout (they are left out); if
 * dropped is not NULL, the first of them is stored there (encoding).
 */
unsigned int kvm_vmcs12_export(uint8_t *img, const struct vmcs12 *v,
			       uint32_t *dropped);

/*
 * The reverse: v from img, our revision (VMCS12_REVISION) with img's
 * shadow-VMCS indicator, fields KVM lacks zero. The caller has checked
 * img's revision (kvm_vmcs12_revision()).
 */
void kvm_vmcs12_import(struct vmcs12 *v, const uint8_t *img);

/* The header words of an image. */
uint32_t kvm_vmcs12_revision(const uint8_t *img);
uint32_t kvm_vmcs12_launch_state(const uint8_t *img);

#endif
