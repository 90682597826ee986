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
static inline __attribute__((always_inline)) uint8_t *
vtx_vmcs_region(const struct vtx_cpu *c, uint64_t hpa)
{
	if (c->ram_size < VMCS12_SIZE || hpa > c->ram_size - VMCS12_SIZE)
		return NULL;
	return c->ram + hpa;
}

/*
 * The fields the model has, by encoding slot (arch/vmcs12.h; filled in by
 * vtx_vmcs_slots_init(), vtx/vmx_caps.c): where the field is in struct
 * vmcs12 and the width of a full (width[0]) and a high (width[1]) access,
 * 0 where VMREAD/VMWRITE fail as unsupported. One load answers both
 * "does the model have it" and "where is it".
 */
struct vtx_vmcs_slot {
	uint16_t offset;
	uint8_t width[2];
};

extern struct vtx_vmcs_slot vtx_vmcs_slots[VMCS12_NR_SLOTS];
extern bool vtx_vmcs_slots_ready;
void vtx_vmcs_slots_init(void);

/*
 * Where a field VMREAD/VMWRITE accept is in the VMCS region, and its width
 * in *width (a _HIGH access: the upper 4 bytes of its 64-bit field); -1
 * for an encoding the model lacks (the fields of features it does not
 * offer are in struct vmcs12 too, and fail as unsupported, SDM 31.3).
 */
static inline __attribute__((always_inline)) int
vtx_vmcs_model_offset(uint32_t enc, unsigned int *width)
{
	const struct vtx_vmcs_slot *s;

	if (enc & VMCS_ENC_RESERVED_MASK)
		return -1;
	if (!vtx_vmcs_slots_ready)
		vtx_vmcs_slots_init();
	s = &vtx_vmcs_slots[VMCS12_ENC_SLOT(enc)];
	*width = s->width[enc & 1];
	if (!*width)
		return -1;
	return s->offset + (int)(enc & 1) * 4;
}

/*
 * vmcs12_field_offset() of a constant encoding, folded by the compiler:
 * VM entry and exit name each of their hundred fields by its constant, so
 * a field is then one load or store at a fixed offset. Any other
 * encoding takes the table.
 */
static inline __attribute__((always_inline)) int
vtx_vmcs_const_offset(uint32_t enc, unsigned int *width)
{
	switch (enc) {
#define VMCS_FIELD(name, e, member, sync, shadow)    \
	case e:                                      \
		*width = VMCS12_MEMBER_SIZE(member); \
		return offsetof(struct vmcs12, member);
#include "arch/vmcs_fields.def"
#undef VMCS_FIELD
	default:
		return vmcs12_field_offset(enc, width);
	}
}

#define VTX_VMCS_OFFSET(enc, width)                                        \
	(__builtin_constant_p(enc) ? vtx_vmcs_const_offset((enc), (width)) \
				   : vmcs12_field_offset((enc), (width)))

/* A field's value (a _HIGH encoding: the upper half), 0 for an unknown
 * encoding or a region outside the arena. */
static inline __attribute__((always_inline)) uint64_t
vtx_vmcs_get(const struct vtx_cpu *c, uint64_t hpa, uint32_t enc)
{
	unsigned int width = 0;
	int off = VTX_VMCS_OFFSET(enc, &width);
	uint8_t *p = vtx_vmcs_region(c, hpa);

	if (off < 0 || !p)
		return 0;
	return host_load(p + off, width);
}

/* Stores the low bytes of val that fit the field; ignores an unknown
 * encoding or a region outside the arena. */
static inline __attribute__((always_inline)) void
vtx_vmcs_set(struct vtx_cpu *c, uint64_t hpa, uint32_t enc, uint64_t val)
{
	unsigned int width = 0;
	int off = VTX_VMCS_OFFSET(enc, &width);
	uint8_t *p = vtx_vmcs_region(c, hpa);

	if (off < 0 || !p)
		return;
	host_store(p + off, width, val);
}

#endif
