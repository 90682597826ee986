/* SPDX-License-Identifier: MIT */
/*
 * vmcs12.h - the in-memory layout of a vmcs12 (the VMCS L1 manages for L2),
 * generated from arch/vmcs_fields.def, and the generator of its offset
 * table (the table itself is in arch/vmx_tables.c). The first 8 bytes are
 * architectural (revision identifier and VMX-abort indicator, SDM 25.2);
 * the rest is this implementation's own format, which L1 must only reach
 * through VMREAD/VMWRITE. Monitor side; freestanding-safe.
 */
#ifndef NESTVM_ARCH_VMCS12_H
#define NESTVM_ARCH_VMCS12_H

#include "arch/vmcs.h"

#define VMCS12_SIZE 4096u /* one VMCS region, SDM A.1: at most 4 KiB */

/*
 * One member per field, named as in the table, with the C type of its
 * section: the table is expanded once per width (16, 64, 32, natural), so
 * the type comes from where a field is listed and the width from its
 * encoding; the _Static_asserts below check that the two agree.
 */
struct vmcs12 {
	uint32_t revision_id; /* bits 30:0; bit 31 = shadow-VMCS indicator */
	uint32_t abort; /* VMX-abort indicator */
	uint32_t launch_state; /* 0 clear, 1 launched (SDM 25.1) */
	uint32_t padding;

#define VMCS_FIELD(name, enc, member, sync, shadow) uint16_t member;
#define VMCS_FIELDS_WIDTH VMCS_WIDTH_16
#include "arch/vmcs_fields.def"
#undef VMCS_FIELDS_WIDTH
#undef VMCS_FIELD

#define VMCS_FIELD(name, enc, member, sync, shadow) uint64_t member;
#define VMCS_FIELDS_WIDTH VMCS_WIDTH_64
#include "arch/vmcs_fields.def"
#undef VMCS_FIELDS_WIDTH
#undef VMCS_FIELD

#define VMCS_FIELD(name, enc, member, sync, shadow) uint32_t member;
#define VMCS_FIELDS_WIDTH VMCS_WIDTH_32
#include "arch/vmcs_fields.def"
#undef VMCS_FIELDS_WIDTH
#undef VMCS_FIELD

#define VMCS_FIELD(name, enc, member, sync, shadow) uint64_t member;
#define VMCS_FIELDS_WIDTH VMCS_WIDTH_NATURAL
#include "arch/vmcs_fields.def"
#undef VMCS_FIELDS_WIDTH
#undef VMCS_FIELD
};

#define VMCS12_MEMBER_SIZE(member) sizeof(((struct vmcs12 *)0)->member)

#define VMCS_FIELD(name, enc, member, sync, shadow)       \
	_Static_assert(VMCS12_MEMBER_SIZE(member) ==      \
			       VMCS_ENC_FIELD_BYTES(enc), \
		       "vmcs12." #member " does not match its encoding");
#include "arch/vmcs_fields.def"
#undef VMCS_FIELD

_Static_assert(sizeof(struct vmcs12) <= VMCS12_SIZE,
	       "struct vmcs12 must fit in one 4 KiB VMCS region");

/* Where a field lives in struct vmcs12. */
struct vmcs12_field_loc {
	uint16_t offset; /* bytes from the start of struct vmcs12 */
	uint16_t width; /* bytes: 2, 4 or 8 */
};

/*
 * Offset table generator: defined as VMCS_FIELD, it turns each line of
 * vmcs_fields.def into the initializer of its vmcs12_field_loc, indexed by
 * enum vmcs_field_id.
 */
#define VMCS12_FIELD_LOC(name, enc, member, sync, shadow)               \
	[VMCS_ID_##name] = { .offset = offsetof(struct vmcs12, member), \
			     .width = VMCS12_MEMBER_SIZE(member) },

/* Host only (arch/vmx_tables.c): indexed by enum vmcs_field_id. */
extern const struct vmcs12_field_loc vmcs12_field_locs[VMCS_NR_FIELDS];

/*
 * The same locations indexed by encoding (arch/vmx_tables.c): with the
 * reserved bits (31:15, 12) and the access type (bit 0) set aside, an
 * encoding has 13 bits -- index 9:1, type 11:10, width 14:13 (SDM
 * 25.11.2) -- so a direct table replaces a search. The model and L0 look
 * fields up hundreds of times per nested round trip. Width 0: no field.
 */
#define VMCS12_ENC_SLOT(enc) \
	((((enc) >> 1) & 0x7ffu) | ((((enc) >> 13) & 3u) << 11))
#define VMCS12_NR_SLOTS (1u << 13)
extern const struct vmcs12_field_loc vmcs12_slot_locs[VMCS12_NR_SLOTS];

/*
 * Offset in struct vmcs12 of the bytes an encoding names, and their width
 * in *width: the whole field, or for a _HIGH encoding the upper 4 bytes of
 * the 64-bit field (x86 is little-endian). -1 for an unknown encoding; a
 * high access exists for 64-bit fields only (SDM 25.11.2).
 */
static inline int vmcs12_field_offset(uint32_t enc, unsigned int *width)
{
	const struct vmcs12_field_loc *loc;

	if (enc & VMCS_ENC_RESERVED_MASK)
		return -1;
	loc = &vmcs12_slot_locs[VMCS12_ENC_SLOT(enc)];
	if (!loc->width)
		return -1;
	if (enc & VMCS_ENC_HIGH) {
		if (VMCS_ENC_WIDTH_CODE(enc) != VMCS_WIDTH_64)
			return -1;
		*width = 4;
		return loc->offset + 4;
	}
	*width = loc->width;
	return loc->offset;
}

#endif
