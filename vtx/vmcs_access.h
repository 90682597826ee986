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
