/* SPDX-License-Identifier: MIT */
/*
 * vmcs.h - VMCS field encodings and VMX control bits, generated from the
 * X-macro tables arch/vmcs_fields.def and arch/vmx_ctrls.def, and the
 * helpers that decode a field encoding (SDM Vol. 3C 25.11.2, Appendix B;
 * controls 25.6-25.8, Appendix A.3-A.5). Shared by the model, the monitor,
 * l1-shim and guests: freestanding-safe. The name and lookup tables
 * declared at the end live in arch/vmx_tables.c and exist on the host only.
 *
 * Safe to include together with the kernel's uapi <asm/vmx.h>, in either
 * order: that header defines exit reasons, not fields or control bits.
 */
#ifndef NESTVM_ARCH_VMCS_H
#define NESTVM_ARCH_VMCS_H

#include "arch/types.h"

/*
 * Structure of a VMCS field encoding (SDM 25.11.2, Table 25-21):
 *
 *   bit  0      access type: 0 full, 1 high (upper 32 bits of a 64-bit
 *               field; only 64-bit fields have a high encoding)
 *   bits 9:1    index
 *   bits 11:10  type: 0 control, 1 VM-exit information (read-only),
 *               2 guest state, 3 host state
 *   bit  12     reserved, 0
 *   bits 14:13  width: 0 16-bit, 1 64-bit, 2 32-bit, 3 natural width
 *   bits 31:15  reserved, 0
 *
 * The width and type codes are plain macros so that they can select
 * sections of vmcs_fields.def in #if (VMCS_FIELDS_WIDTH, VMCS_FIELDS_TYPE).
 */
#define VMCS_WIDTH_16 0
#define VMCS_WIDTH_64 1
#define VMCS_WIDTH_32 2
#define VMCS_WIDTH_NATURAL 3

#define VMCS_TYPE_CONTROL 0
#define VMCS_TYPE_EXIT_INFO 1
#define VMCS_TYPE_GUEST 2
#define VMCS_TYPE_HOST 3

#define VMCS_ENC_HIGH 0x1u
#define VMCS_ENC_INDEX_SHIFT 1
#define VMCS_ENC_INDEX_MASK 0x3feu
#define VMCS_ENC_TYPE_SHIFT 10
#define VMCS_ENC_WIDTH_SHIFT 13
#define VMCS_ENC_RESERVED_MASK 0xffff9000u /* bits 31:15 and 12 */

/* Integer constant expressions, for _Static_assert and table sizes. */
#define VMCS_ENC_WIDTH_CODE(enc) (((enc) >> VMCS_ENC_WIDTH_SHIFT) & 3u)
#define VMCS_ENC_TYPE_CODE(enc) (((enc) >> VMCS_ENC_TYPE_SHIFT) & 3u)
/* Bytes of the whole field (natural width is 8 on x86-64). */
#define VMCS_ENC_FIELD_BYTES(enc)                         \
	(VMCS_ENC_WIDTH_CODE(enc) == VMCS_WIDTH_16   ? 2u \
	 : VMCS_ENC_WIDTH_CODE(enc) == VMCS_WIDTH_32 ? 4u \
						     : 8u)

/* ---- field encodings ----------------------------------------------------- */

/*
 * One enumerator per field, NAME = encoding, then NAME_HIGH = encoding | 1
 * for the 64-bit fields only (the B.2 sections of the table).
 */
enum vmcs_field_encoding {
#define VMCS_FIELD(name, enc, member, sync, shadow) name = (enc),
#include "arch/vmcs_fields.def"
#undef VMCS_FIELD

#define VMCS_FIELDS_WIDTH VMCS_WIDTH_64
#define VMCS_FIELD(name, enc, member, sync, shadow) name##_HIGH = (enc) | 1,
#include "arch/vmcs_fields.def"
#undef VMCS_FIELD
#undef VMCS_FIELDS_WIDTH
};

/*
 * Position of each field in the table (and in vmcs_field_table[]); used to
 * index per-field bitmaps such as dirty or shadow sets.
 */
enum vmcs_field_id {
#define VMCS_FIELD(name, enc, member, sync, shadow) VMCS_ID_##name,
#include "arch/vmcs_fields.def"
#undef VMCS_FIELD
	VMCS_NR_FIELDS
};

/* The classes of vmcs_fields.def; see the comment at its top. */
enum vmcs_sync_class {
	VMCS_SYNC_CTRL_EARLY,
	VMCS_SYNC_CTRL_RARE,
	VMCS_SYNC_HOT,
	VMCS_SYNC_RARE,
	VMCS_SYNC_HOST,
	VMCS_SYNC_EXIT_INFO,
	VMCS_SYNC_UNSUPPORTED,
	VMCS_NR_SYNC_CLASSES
};

enum vmcs_shadow_class {
	VMCS_SHADOW_SH_NONE,
	VMCS_SHADOW_SH_RO,
	VMCS_SHADOW_SH_RW,
	VMCS_NR_SHADOW_CLASSES
};

enum vmcs_field_type {
	VMCS_FIELD_TYPE_CONTROL = VMCS_TYPE_CONTROL,
	VMCS_FIELD_TYPE_EXIT_INFO = VMCS_TYPE_EXIT_INFO,
	VMCS_FIELD_TYPE_GUEST = VMCS_TYPE_GUEST,
	VMCS_FIELD_TYPE_HOST = VMCS_TYPE_HOST,
};

/*
 * Width in bytes of the access an encoding names: 2, 4 or 8 (natural width
 * is 8 on x86-64), and 4 for the high half of a 64-bit field.
 */
static inline unsigned int vmcs_field_width(uint32_t enc)
{
	if (enc & VMCS_ENC_HIGH)
		return 4;
	return VMCS_ENC_FIELD_BYTES(enc);
}

static inline enum vmcs_field_type vmcs_field_type(uint32_t enc)
{
	return (enum vmcs_field_type)VMCS_ENC_TYPE_CODE(enc);
}

/* True for the high-half encoding of a 64-bit field (access type 1). */
static inline bool vmcs_field_is_high(uint32_t enc)
{
	return enc & VMCS_ENC_HIGH;
}

/* The index, bits 9:1 (what IA32_VMX_VMCS_ENUM bounds, SDM A.9). */
static inline unsigned int vmcs_field_index(uint32_t enc)
{
	return (enc & VMCS_ENC_INDEX_MASK) >> VMCS_ENC_INDEX_SHIFT;
}

/* ---- control bits ----------------------------------------------------------- */

enum vmx_ctrl_group {
	VMX_CTRL_GROUP_PIN,
	VMX_CTRL_GROUP_PROC,
	VMX_CTRL_GROUP_PROC2,
	VMX_CTRL_GROUP_PROC3,
	VMX_CTRL_GROUP_EXIT,
	VMX_CTRL_GROUP_EXIT2,
	VMX_CTRL_GROUP_ENTRY,
	VMX_NR_CTRL_GROUPS
};

#define VMX_CTRL_CONST_PIN(name) PIN_BASED_##name
#define VMX_CTRL_CONST_PROC(name) CPU_BASED_##name
#define VMX_CTRL_CONST_PROC2(name) SECONDARY_EXEC_##name
#define VMX_CTRL_CONST_PROC3(name) TERTIARY_EXEC_##name
#define VMX_CTRL_CONST_EXIT(name) VM_EXIT_##name
#define VMX_CTRL_CONST_EXIT2(name) SECONDARY_VM_EXIT_##name
#define VMX_CTRL_CONST_ENTRY(name) VM_ENTRY_##name

/* The tertiary and secondary VM-exit controls are 64-bit fields. */
#define VMX_CTRL_MASK_PIN(bit) (1u << (bit))
#define VMX_CTRL_MASK_PROC(bit) (1u << (bit))
#define VMX_CTRL_MASK_PROC2(bit) (1u << (bit))
#define VMX_CTRL_MASK_PROC3(bit) (1ull << (bit))
#define VMX_CTRL_MASK_EXIT(bit) (1u << (bit))
#define VMX_CTRL_MASK_EXIT2(bit) (1ull << (bit))
#define VMX_CTRL_MASK_ENTRY(bit) (1u << (bit))

/*
 * Masks, e.g. CPU_BASED_HLT_EXITING = 1u << 7. Bit 31 of a 32-bit group and
 * the 64-bit groups need enumerators outside the range of int, which GCC
 * and Clang accept (and C23 standardises); the values are unsigned.
 */
enum vmx_ctrl_mask {
#define VMX_CTRL(group, name, bit) \
	VMX_CTRL_CONST_##group(name) = VMX_CTRL_MASK_##group(bit),
#include "arch/vmx_ctrls.def"
#undef VMX_CTRL
};

/*
 * Default1 bits of the 32-bit groups (SDM A.3.1, A.3.2, A.4.1, A.5): they
 * read as 1 in the allowed-0 half of the non-TRUE capability MSRs, and must
 * be 1 unless IA32_VMX_BASIC[55] and the matching IA32_VMX_TRUE_*_CTLS MSR
 * allow 0. The secondary and tertiary processor-based and the secondary
 * VM-exit controls have none.
 */
#define VMX_PIN_BASED_DEFAULT1 0x00000016u /* bits 1, 2, 4 */
#define VMX_CPU_BASED_DEFAULT1 0x0401e172u /* bits 1, 4-6, 8, 13-16, 26 */
#define VMX_EXIT_DEFAULT1 0x00036dffu /* bits 0-8, 10, 11, 13, 14, 16, 17 */
#define VMX_ENTRY_DEFAULT1 0x000011ffu /* bits 0-8, 12 */

/* The VMCS field holding a group of controls. */
static inline uint32_t vmx_ctrl_group_field(enum vmx_ctrl_group group)
{
	switch (group) {
	case VMX_CTRL_GROUP_PIN:
		return PIN_BASED_VM_EXEC_CONTROL;
	case VMX_CTRL_GROUP_PROC:
		return CPU_BASED_VM_EXEC_CONTROL;
	case VMX_CTRL_GROUP_PROC2:
		return SECONDARY_VM_EXEC_CONTROL;
	case VMX_CTRL_GROUP_PROC3:
		return TERTIARY_VM_EXEC_CONTROL;
	case VMX_CTRL_GROUP_EXIT:
		return VM_EXIT_CONTROLS;
	case VMX_CTRL_GROUP_EXIT2:
		return SECONDARY_VM_EXIT_CONTROLS;
	case VMX_CTRL_GROUP_ENTRY:
		return VM_ENTRY_CONTROLS;
	case VMX_NR_CTRL_GROUPS:
		break;
	}
	return 0;
}

/* Number of control bits in a group: the width of its field, 32 or 64. */
static inline unsigned int vmx_ctrl_group_bits(enum vmx_ctrl_group group)
{
	if (group >= VMX_NR_CTRL_GROUPS)
		return 0;
	return 8 * VMCS_ENC_FIELD_BYTES(vmx_ctrl_group_field(group));
}

/* ---- host-only tables (arch/vmx_tables.c) -------------------------------- */

struct vmcs_field_desc {
	const char *name; /* "GUEST_RIP" */
	uint32_t encoding;
	uint8_t sync; /* enum vmcs_sync_class */
	uint8_t shadow; /* enum vmcs_shadow_class */
};

/* Indexed by enum vmcs_field_id; sorted by ascending encoding. */
extern const struct vmcs_field_desc vmcs_field_table[VMCS_NR_FIELDS];

/*
 * The field an encoding names: its enum vmcs_field_id, or -1 for a reserved
 * or unknown encoding. A _HIGH encoding maps to its 64-bit field; enc | 1
 * of any other width is unknown (SDM 25.11.2: only 64-bit fields have a
 * high access type).
 */
int vmcs_field_lookup(uint32_t enc);

/* "GUEST_RIP", "IO_BITMAP_A_HIGH", or NULL for an unknown encoding. */
const char *vmcs_field_name(uint32_t enc);

/*
 * The constant name of a control bit ("CPU_BASED_HLT_EXITING"), or NULL
 * for a reserved bit or a bad group or bit number.
 */
const char *vmx_ctrl_name(enum vmx_ctrl_group group, unsigned int bit);

#endif
