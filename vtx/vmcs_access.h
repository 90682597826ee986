/* SPDX-License-Identifier: MIT */
/*
 * vmcs_access.h - the VMCS by encoding, inline: a VMCS region in the arena
 * holds struct vmcs12 (arch/vmcs12.h), and a field is one table load and
 * one move away. VM entry and exit read and write a hundred fields each,
 * so these are the model's hottest VMX paths. Model side.
 */
#ifndef NESTVM_VTX_VMCS_ACCESS_H
#define NESTVM_VTX_VMCS_ACCESS_H

#include "arch/vmcs12.h"
#include "vtx/cpu.h"

/* The VMCS region at hpa, or NULL if it is not wholly in the arena. */
static inline uint8_t *vtx_vmcs_region(const struct vtx_cpu *c, uint64_t hpa)
{
	if (c->ram_size < VMCS12_SIZE || hpa > c->ram_size - VMCS12_SIZE)
		return NULL;
	return c->ram + hpa;
}

/* Which fields the model has, by encoding slot (vtx/vmx_caps.c): bit 0
 * the field, bit 1 its high half; filled in by vtx_vmcs_slots_init(). */
extern uint8_t vtx_vmcs_slots[VMCS12_NR_SLOTS];
extern bool vtx_vmcs_slots_ready;
void vtx_vmcs_slots_init(void);

/*
 * Where a field VMREAD/VMWRITE accept is in the VMCS region, and its width
 * in *width: vmcs12_field_offset() of a field the model has (the fields of
 * features it lacks are in struct vmcs12 too, and fail as unsupported,
 * SDM 31.3); -1 for any other encoding. vtx_vmcs_field_supported() inline.
 */
static inline int vtx_vmcs_model_offset(uint32_t enc, unsigned int *width)
{
	if (enc & VMCS_ENC_RESERVED_MASK)
		return -1;
	if (!vtx_vmcs_slots_ready)
		vtx_vmcs_slots_init();
	if (!((vtx_vmcs_slots[VMCS12_ENC_SLOT(enc)] >> (enc & 1)) & 1))
		return -1;
	return vmcs12_field_offset(enc, width);
}

/* A field's value (a _HIGH encoding: the upper half), 0 for an unknown
 * encoding or a region outside the arena. */
static inline uint64_t vtx_vmcs_get(const struct vtx_cpu *c, uint64_t hpa,
				    uint32_t enc)
{
	unsigned int width = 0;
	int off = vmcs12_field_offset(enc, &width);
	uint8_t *p = vtx_vmcs_region(c, hpa);

	if (off < 0 || !p)
		return 0;
	return host_load(p + off, width);
}

/* Stores the low bytes of val that fit the field; ignores an unknown
 * encoding or a region outside the arena. */
static inline void vtx_vmcs_set(struct vtx_cpu *c, uint64_t hpa, uint32_t enc,
				uint64_t val)
{
	unsigned int width = 0;
	int off = vmcs12_field_offset(enc, &width);
	uint8_t *p = vtx_vmcs_region(c, hpa);

	if (off < 0 || !p)
		return;
	host_store(p + off, width, val);
}

#endif
