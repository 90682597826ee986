/* SPDX-License-Identifier: MIT */
/*
 * kvm_vmcs12.c - conversion between our struct vmcs12 and KVM's vmcs12
 * image (Linux 6.1 arch/x86/kvm/vmx/vmcs12.h, the layout of a nested-state
 * snapshot), driven by arch/kvm_vmcs12.def: width from the encoding,
 * our offset from arch/vmcs12.h, KVM's from the table. Monitor side.
 */
#include "vmcs-merge/kvm_vmcs12.h"

#include <string.h>

#include "vmcs-merge/caps.h"
#include "vmcs-merge/vmcs12.h"

struct kvm_field {
	uint16_t id; /* enum vmcs_field_id */
	uint16_t kvm_off;
	uint32_t enc;
};

static const struct kvm_field kvm_fields[] = {
#define KVM_VMCS12_FIELD(name, off) { VMCS_ID_##name, off, name },
#include "arch/kvm_vmcs12.def"
#undef KVM_VMCS12_FIELD
};

#define NR_KVM_FIELDS (sizeof(kvm_fields) / sizeof(kvm_fields[0]))

int kvm_vmcs12_field_offset(uint32_t enc)
{
	for (size_t i = 0; i < NR_KVM_FIELDS; i++)
		if (kvm_fields[i].enc == enc)
			return kvm_fields[i].kvm_off;
	return -1;
}

static uint32_t get32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

static void put32(uint8_t *p, uint32_t v)
{
	memcpy(p, &v, sizeof(v));
}

uint32_t kvm_vmcs12_revision(const uint8_t *img)
{
	return get32(img + KVM_VMCS12_OFF_REVISION);
}

uint32_t kvm_vmcs12_launch_state(const uint8_t *img)
{
	return get32(img + KVM_VMCS12_OFF_LAUNCH_STATE);
}

/* Whether the field at our offset off, width bytes, is all zero. */
static bool field_zero(const struct vmcs12 *v, unsigned int off,
		       unsigned int width)
{
	uint64_t val = 0;

	memcpy(&val, (const uint8_t *)v + off, width);
	return val == 0;
}

unsigned int kvm_vmcs12_export(uint8_t *img, const struct vmcs12 *v,
			       uint32_t *dropped)
{
	unsigned int lost = 0;

	memset(img, 0, KVM_VMCS12_IMAGE_SIZE);
	put32(img + KVM_VMCS12_OFF_REVISION,
	      KVM_VMCS12_REVISION | (v->revision_id & KVM_VMCS12_SHADOW_VMCS));
	put32(img + KVM_VMCS12_OFF_ABORT, v->abort);
	put32(img + KVM_VMCS12_OFF_LAUNCH_STATE, v->launch_state);
	for (size_t i = 0; i < NR_KVM_FIELDS; i++) {
		const struct vmcs12_field_loc *loc =
			&vmcs12_field_locs[kvm_fields[i].id];

		memcpy(img + kvm_fields[i].kvm_off,
		       (const uint8_t *)v + loc->offset, loc->width);
	}
	/* Fields KVM has no place for: counted, never silently lost. */
	for (unsigned int k = 0; k < VMCS_NR_FIELDS; k++) {
		uint32_t enc = vmcs_field_table[k].encoding;

		if (kvm_vmcs12_field_offset(enc) >= 0 ||
		    field_zero(v, vmcs12_field_locs[k].offset,
			       vmcs12_field_locs[k].width))
			continue;
		if (!lost && dropped)
			*dropped = enc;
		lost++;
	}
	return lost;
}

void kvm_vmcs12_import(struct vmcs12 *v, const uint8_t *img)
{
	memset(v, 0, sizeof(*v));
	v->revision_id = VMCS12_REVISION |
			 (kvm_vmcs12_revision(img) & KVM_VMCS12_SHADOW_VMCS);
	v->abort = get32(img + KVM_VMCS12_OFF_ABORT);
	v->launch_state = kvm_vmcs12_launch_state(img);
	for (size_t i = 0; i < NR_KVM_FIELDS; i++) {
		const struct vmcs12_field_loc *loc =
			&vmcs12_field_locs[kvm_fields[i].id];

		memcpy((uint8_t *)v + loc->offset, img + kvm_fields[i].kvm_off,
		       loc->width);
	}
}
