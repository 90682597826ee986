/* SPDX-License-Identifier: MIT */
/*
 * Segmentation: selectors, code/data and system descriptors, the VMX
 * access-rights format, 64-bit IDT gates, the 64-bit TSS and the LGDT/LIDT
 * operand, with conversions to and from struct kvm_segment.
 * SDM Vol. 3A 3.4-3.5, 6.14.1, 8.7 (64-bit TSS), 10.1.1; 25.4.1 Table 25-2.
 * Shared by the model, the monitor and freestanding guests.
 */
#ifndef NESTVM_ARCH_X86_SEG_H
#define NESTVM_ARCH_X86_SEG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * struct kvm_segment: base, limit (byte granular, i.e. already scaled by G,
 * as in the VMCS), selector, type, present, dpl, db, s, l, g, avl,
 * unusable. <asm/kvm.h> pulls in <linux/types.h>, which works with
 * -ffreestanding as long as the kernel uapi headers are on the include
 * path (they are, for host and guest builds alike).
 */
#include <asm/kvm.h>

/* ---- Segment registers ----------------------------------------------------
 *
 * The order is the 3-bit segment-register encoding of instructions and of
 * the VMX instruction-information field (SDM 28.2.5); TR and LDTR follow.
 * Names as KVM's enum kvm_reg_seg.
 */
enum x86_sreg {
	VCPU_SREG_ES = 0,
	VCPU_SREG_CS = 1,
	VCPU_SREG_SS = 2,
	VCPU_SREG_DS = 3,
	VCPU_SREG_FS = 4,
	VCPU_SREG_GS = 5,
	VCPU_SREG_TR = 6,
	VCPU_SREG_LDTR = 7,
};

#define X86_NR_SREGS 8

/* ---- Selectors (SDM 3.4.2) ------------------------------------------------
 *
 *  15        3  2   1  0
 * +-----------+----+-----+
 * |   index   | TI | RPL |   TI: 0 = GDT, 1 = LDT
 * +-----------+----+-----+
 */
#define SEL_RPL_MASK 0x0003u
#define SEL_TI (1u << 2)
#define SEL_INDEX_SHIFT 3
#define SEL_INDEX(s) ((unsigned int)(s) >> SEL_INDEX_SHIFT)
#define SEL_MAKE(index, ti, rpl)                                         \
	((uint16_t)(((index) << SEL_INDEX_SHIFT) | ((ti) ? SEL_TI : 0) | \
		    ((rpl)&SEL_RPL_MASK)))

/* A null selector is index 0 in the GDT, whatever its RPL (SDM 3.4.2). */
static inline bool x86_sel_is_null(uint16_t sel)
{
	return (sel & ~SEL_RPL_MASK) == 0;
}

/* ---- Descriptors (SDM 3.4.5, 3.5, Figure 3-8) -----------------------------
 *
 * An 8-byte code, data or (legacy) system descriptor, as a little-endian
 * uint64_t:
 *
 *  bits   field
 *  15:0   limit 15:0
 *  39:16  base 23:0
 *  43:40  type (see SEG_TYPE_*)
 *  44     S: 1 = code or data, 0 = system
 *  46:45  DPL
 *  47     P: present
 *  51:48  limit 19:16
 *  52     AVL: available to software
 *  53     L: 64-bit code segment (code only; must be 0 when D/B is 1)
 *  54     D/B: default operand size / big / expand-down upper bound
 *  55     G: limit in 4-KByte units
 *  63:56  base 31:24
 *
 * In IA-32e mode the LDT and TSS descriptors (and call, interrupt and trap
 * gates) are 16 bytes (SDM 8.2.3, Figure 8-4): the low 8 bytes as above,
 * then
 *
 *  95:64   base 63:32
 *  100:96  reserved, must be 0 (so that the upper half reads as a
 *          type-0 "descriptor" if it is ever loaded by mistake)
 *  127:101 reserved
 */
#define DESC_LIMIT_LOW_MASK 0x000000000000ffffull
#define DESC_BASE_LOW_SHIFT 16
#define DESC_TYPE_SHIFT 40
#define DESC_TYPE_MASK (0xfull << DESC_TYPE_SHIFT)
#define DESC_S (1ull << 44)
#define DESC_DPL_SHIFT 45
#define DESC_DPL_MASK (3ull << DESC_DPL_SHIFT)
#define DESC_P (1ull << 47)
#define DESC_LIMIT_HIGH_SHIFT 48
#define DESC_AVL (1ull << 52)
#define DESC_L (1ull << 53)
#define DESC_DB (1ull << 54)
#define DESC_G (1ull << 55)
#define DESC_BASE_HIGH_SHIFT 56

/* Bits of the upper 8 bytes of a 16-byte system descriptor. */
#define DESC_HI_BASE_MASK 0x00000000ffffffffull
#define DESC_HI_TYPE_MASK (0x1full << 8) /* bits 104:100, must be 0 */

/* Type field bits (SDM 3.4.5.1, Table 3-1). */
#define SEG_TYPE_ACCESSED 0x1u
#define SEG_TYPE_WRITABLE 0x2u /* data */
#define SEG_TYPE_READABLE 0x2u /* code */
#define SEG_TYPE_EXPAND_DOWN 0x4u /* data */
#define SEG_TYPE_CONFORMING 0x4u /* code */
#define SEG_TYPE_CODE 0x8u

/* Code and data types (S = 1). */
#define SEG_TYPE_DATA_RO 0x0u
#define SEG_TYPE_DATA_RO_ACCESSED 0x1u
#define SEG_TYPE_DATA_RW 0x2u
#define SEG_TYPE_DATA_RW_ACCESSED 0x3u
#define SEG_TYPE_DATA_RO_EXPDOWN 0x4u
#define SEG_TYPE_DATA_RO_EXPDOWN_ACCESSED 0x5u
#define SEG_TYPE_DATA_RW_EXPDOWN 0x6u
#define SEG_TYPE_DATA_RW_EXPDOWN_ACCESSED 0x7u
#define SEG_TYPE_CODE_XO 0x8u
#define SEG_TYPE_CODE_XO_ACCESSED 0x9u
#define SEG_TYPE_CODE_XR 0xau
#define SEG_TYPE_CODE_XR_ACCESSED 0xbu
#define SEG_TYPE_CODE_XO_CONFORMING 0xcu
#define SEG_TYPE_CODE_XO_CONFORMING_ACCESSED 0xdu
#define SEG_TYPE_CODE_XR_CONFORMING 0xeu
#define SEG_TYPE_CODE_XR_CONFORMING_ACCESSED 0xfu

/*
 * System types (S = 0), SDM 3.5, Table 3-2. In IA-32e mode only LDT, the
 * 64-bit TSS and the 64-bit gates exist; every other value is invalid.
 * The 32-bit names are for protected mode (multiboot guests).
 */
#define SEG_TYPE_TSS16_AVAIL 1u
#define SEG_TYPE_LDT 2u
#define SEG_TYPE_TSS16_BUSY 3u
#define SEG_TYPE_CALL_GATE16 4u
#define SEG_TYPE_TASK_GATE 5u
#define SEG_TYPE_INT_GATE16 6u
#define SEG_TYPE_TRAP_GATE16 7u
#define SEG_TYPE_TSS32_AVAIL 9u
#define SEG_TYPE_TSS32_BUSY 11u
#define SEG_TYPE_CALL_GATE32 12u
#define SEG_TYPE_INT_GATE32 14u
#define SEG_TYPE_TRAP_GATE32 15u
#define SEG_TYPE_TSS64_AVAIL 9u
#define SEG_TYPE_TSS64_BUSY 11u
#define SEG_TYPE_CALL_GATE64 12u
#define SEG_TYPE_INT_GATE64 14u
#define SEG_TYPE_TRAP_GATE64 15u
/* LTR sets it, a task switch clears and sets it (SDM 8.2.2). */
#define SEG_TYPE_TSS_BUSY_BIT 0x2u

/* The limit of a 64-bit TSS without an I/O permission bitmap. */
#define X86_TSS64_LIMIT 0x67u

static inline uint64_t x86_desc_get_base(uint64_t desc)
{
	return ((desc >> DESC_BASE_LOW_SHIFT) & 0xffffffull) |
	       (((desc >> DESC_BASE_HIGH_SHIFT) & 0xffull) << 24);
}

/* The 20-bit limit field as stored, not scaled by G. */
static inline uint32_t x86_desc_get_raw_limit(uint64_t desc)
{
	return (uint32_t)((desc & DESC_LIMIT_LOW_MASK) |
			  (((desc >> DESC_LIMIT_HIGH_SHIFT) & 0xfull) << 16));
}

/* The byte-granular limit: with G set, limit * 4096 + 4095 (SDM 3.4.5). */
static inline uint32_t x86_desc_get_limit(uint64_t desc)
{
	uint32_t raw = x86_desc_get_raw_limit(desc);

	return (desc & DESC_G) ? (raw << 12) | 0xfffu : raw;
}

static inline unsigned int x86_desc_get_type(uint64_t desc)
{
	return (unsigned int)((desc & DESC_TYPE_MASK) >> DESC_TYPE_SHIFT);
}

static inline unsigned int x86_desc_get_dpl(uint64_t desc)
{
	return (unsigned int)((desc & DESC_DPL_MASK) >> DESC_DPL_SHIFT);
}

/*
 * Fills @seg from the 8-byte code/data or legacy system descriptor @desc
 * loaded with selector @sel. The segment is usable: VMX "unusable" is a
 * property of how the register was loaded (a null selector, SDM 25.4.1),
 * not of a descriptor, so the caller marks null loads itself.
 */
static inline void x86_seg_decode_desc(struct kvm_segment *seg, uint64_t desc,
				       uint16_t sel)
{
	seg->base = x86_desc_get_base(desc);
	seg->limit = x86_desc_get_limit(desc);
	seg->selector = sel;
	seg->type = (uint8_t)x86_desc_get_type(desc);
	seg->s = !!(desc & DESC_S);
	seg->dpl = (uint8_t)x86_desc_get_dpl(desc);
	seg->present = !!(desc & DESC_P);
	seg->avl = !!(desc & DESC_AVL);
	seg->l = !!(desc & DESC_L);
	seg->db = !!(desc & DESC_DB);
	seg->g = !!(desc & DESC_G);
	seg->unusable = 0;
	seg->padding = 0;
}

/*
 * Fills @seg from a 16-byte IA-32e system descriptor (LDT or TSS): @lo is
 * bytes 0-7, @hi bytes 8-15.
 */
static inline void x86_seg_decode_sys_desc(struct kvm_segment *seg, uint64_t lo,
					   uint64_t hi, uint16_t sel)
{
	x86_seg_decode_desc(seg, lo, sel);
	seg->base |= (hi & DESC_HI_BASE_MASK) << 32;
}

/*
 * The 8-byte descriptor for @seg (base bits 63:32 are dropped; see
 * x86_seg_encode_sys_desc()). With G set the limit is stored in 4-KByte
 * units, so limit bits 11:0 are lost; a limit built from a descriptor
 * always has them all set.
 */
static inline uint64_t x86_seg_encode_desc(const struct kvm_segment *seg)
{
	uint32_t raw = seg->g ? seg->limit >> 12 : seg->limit;
	uint64_t base = seg->base;
	uint64_t desc;

	desc = (uint64_t)(raw & 0xffffu) |
	       ((base & 0xffffffull) << DESC_BASE_LOW_SHIFT) |
	       ((uint64_t)(seg->type & 0xfu) << DESC_TYPE_SHIFT) |
	       ((uint64_t)(seg->dpl & 3u) << DESC_DPL_SHIFT) |
	       ((uint64_t)((raw >> 16) & 0xfu) << DESC_LIMIT_HIGH_SHIFT) |
	       (((base >> 24) & 0xffull) << DESC_BASE_HIGH_SHIFT);
	if (seg->s)
		desc |= DESC_S;
	if (seg->present)
		desc |= DESC_P;
	if (seg->avl)
		desc |= DESC_AVL;
	if (seg->l)
		desc |= DESC_L;
	if (seg->db)
		desc |= DESC_DB;
	if (seg->g)
		desc |= DESC_G;
	return desc;
}

/* The 16-byte system descriptor for @seg: returns bytes 0-7, sets *@hi. */
static inline uint64_t x86_seg_encode_sys_desc(const struct kvm_segment *seg,
					       uint64_t *hi)
{
	*hi = (seg->base >> 32) & DESC_HI_BASE_MASK;
	return x86_seg_encode_desc(seg);
}

/* ---- VMX access rights (SDM 25.4.1, Table 25-2) ---------------------------
 *
 * The guest-state "access rights" fields hold descriptor bits 55:40 in
 * their bits 15:0, plus an "unusable" flag:
 *
 *  bits   field
 *  3:0    segment type
 *  4      S: descriptor type (0 = system, 1 = code or data)
 *  6:5    DPL
 *  7      P: present
 *  11:8   reserved (0)
 *  12     AVL
 *  13     L: 64-bit mode active (CS only)
 *  14     D/B
 *  15     G
 *  16     segment unusable (0 = usable, 1 = unusable)
 *  31:17  reserved (0)
 */
#define VMX_AR_TYPE_MASK 0x0fu
#define VMX_AR_TYPE_ACCESSES_MASK 0x1u
#define VMX_AR_TYPE_CODE_MASK 0x8u
#define VMX_AR_S_MASK (1u << 4)
#define VMX_AR_DPL_SHIFT 5
#define VMX_AR_DPL_MASK (3u << VMX_AR_DPL_SHIFT)
#define VMX_AR_DPL(ar) (((ar) >> VMX_AR_DPL_SHIFT) & 3u)
#define VMX_AR_P_MASK (1u << 7)
#define VMX_AR_AVL_MASK (1u << 12)
#define VMX_AR_L_MASK (1u << 13)
#define VMX_AR_DB_MASK (1u << 14)
#define VMX_AR_G_MASK (1u << 15)
#define VMX_AR_UNUSABLE_MASK (1u << 16)
#define VMX_AR_RESERVED_MASK 0xfffe0f00u
#define VMX_AR_RESERVD_MASK VMX_AR_RESERVED_MASK /* KVM's spelling */

/* The AR bytes of a descriptor: its bits 55:40 minus the limit nibble. */
static inline uint32_t x86_desc_to_vmx_ar(uint64_t desc)
{
	return (uint32_t)(desc >> DESC_TYPE_SHIFT) & 0xf0ffu;
}

/*
 * Access rights of @seg. All attribute bits are kept even when the segment
 * is unusable: the SDM leaves them undefined in that case, and keeping
 * them makes the conversion lossless.
 */
static inline uint32_t x86_seg_to_vmx_ar(const struct kvm_segment *seg)
{
	uint32_t ar = (seg->type & VMX_AR_TYPE_MASK) |
		      ((uint32_t)(seg->dpl & 3u) << VMX_AR_DPL_SHIFT);

	if (seg->s)
		ar |= VMX_AR_S_MASK;
	if (seg->present)
		ar |= VMX_AR_P_MASK;
	if (seg->avl)
		ar |= VMX_AR_AVL_MASK;
	if (seg->l)
		ar |= VMX_AR_L_MASK;
	if (seg->db)
		ar |= VMX_AR_DB_MASK;
	if (seg->g)
		ar |= VMX_AR_G_MASK;
	if (seg->unusable)
		ar |= VMX_AR_UNUSABLE_MASK;
	return ar;
}

/* Sets the attribute members of @seg from @ar; base, limit, selector stay. */
static inline void x86_seg_from_vmx_ar(struct kvm_segment *seg, uint32_t ar)
{
	seg->type = (uint8_t)(ar & VMX_AR_TYPE_MASK);
	seg->s = !!(ar & VMX_AR_S_MASK);
	seg->dpl = (uint8_t)VMX_AR_DPL(ar);
	seg->present = !!(ar & VMX_AR_P_MASK);
	seg->avl = !!(ar & VMX_AR_AVL_MASK);
	seg->l = !!(ar & VMX_AR_L_MASK);
	seg->db = !!(ar & VMX_AR_DB_MASK);
	seg->g = !!(ar & VMX_AR_G_MASK);
	seg->unusable = !!(ar & VMX_AR_UNUSABLE_MASK);
	seg->padding = 0;
}

/*
 * The state of segment register @sreg after RESET or INIT (SDM 10.1.1,
 * Table 10-1): CS = f000 base ffff0000; the others selector 0, base 0;
 * all limits ffff; data registers "present, read/write, accessed", LDTR
 * an LDT and TR a busy 32-bit TSS so that VM entry's guest-state checks
 * accept the state.
 */
static inline void x86_seg_set_reset(struct kvm_segment *seg,
				     enum x86_sreg sreg)
{
	uint32_t ar = 0x93u;

	seg->base = 0;
	seg->limit = 0xffffu;
	seg->selector = 0;
	switch (sreg) {
	case VCPU_SREG_CS:
		seg->selector = 0xf000u;
		seg->base = 0xffff0000ull;
		ar = 0x9bu;
		break;
	case VCPU_SREG_TR:
		ar = VMX_AR_P_MASK | SEG_TYPE_TSS32_BUSY;
		break;
	case VCPU_SREG_LDTR:
		ar = VMX_AR_P_MASK | SEG_TYPE_LDT;
		break;
	case VCPU_SREG_ES:
	case VCPU_SREG_SS:
	case VCPU_SREG_DS:
	case VCPU_SREG_FS:
	case VCPU_SREG_GS:
		break;
	}
	x86_seg_from_vmx_ar(seg, ar);
}

/* ---- 64-bit IDT gates (SDM 6.14.1, Figure 6-8) ----------------------------
 *
 *  bytes  field
 *  1:0    offset 15:0
 *  3:2    code-segment selector
 *  4      bits 2:0 IST index (0 = no stack switch), bits 7:3 zero
 *  5      bits 3:0 type (14 interrupt gate, 15 trap gate), bit 4 zero,
 *         bits 6:5 DPL, bit 7 P
 *  7:6    offset 31:16
 *  11:8   offset 63:32
 *  15:12  reserved
 */
struct x86_idt_gate64 {
	uint16_t offset_low;
	uint16_t selector;
	uint8_t ist;
	uint8_t type_attr;
	uint16_t offset_mid;
	uint32_t offset_high;
	uint32_t reserved;
};

_Static_assert(sizeof(struct x86_idt_gate64) == 16, "64-bit IDT gate size");

#define IDT_GATE_IST_MASK 0x07u
#define IDT_GATE_TYPE_MASK 0x0fu
#define IDT_GATE_DPL_SHIFT 5
#define IDT_GATE_P 0x80u

/* Writes a present gate to @handler through @sel with IST @ist (0-7). */
static inline void x86_idt_build_gate64(struct x86_idt_gate64 *gate,
					uint64_t handler, uint16_t sel,
					unsigned int ist, unsigned int type,
					unsigned int dpl)
{
	gate->offset_low = (uint16_t)handler;
	gate->selector = sel;
	gate->ist = (uint8_t)(ist & IDT_GATE_IST_MASK);
	gate->type_attr =
		(uint8_t)(IDT_GATE_P | ((dpl & 3u) << IDT_GATE_DPL_SHIFT) |
			  (type & IDT_GATE_TYPE_MASK));
	gate->offset_mid = (uint16_t)(handler >> 16);
	gate->offset_high = (uint32_t)(handler >> 32);
	gate->reserved = 0;
}

static inline uint64_t x86_idt_gate64_get_offset(const struct x86_idt_gate64 *g)
{
	return (uint64_t)g->offset_low | ((uint64_t)g->offset_mid << 16) |
	       ((uint64_t)g->offset_high << 32);
}

/* ---- 64-bit TSS (SDM 8.7, Figure 8-11) ------------------------------------
 *
 *  offset  field
 *  0x00    reserved
 *  0x04    RSP0, 0x0c RSP1, 0x14 RSP2
 *  0x1c    reserved (ist[0] below, so that ist[n] is ISTn)
 *  0x24    IST1 .. 0x54 IST7
 *  0x5c    reserved
 *  0x66    I/O map base address
 *  0x68    end (limit 0x67 when there is no I/O bitmap)
 */
struct x86_tss64 {
	uint32_t reserved0;
	uint64_t rsp[3];
	uint64_t ist[8]; /* ist[0] is reserved */
	uint64_t reserved2;
	uint16_t reserved3;
	uint16_t iomap_base;
} __attribute__((packed));

_Static_assert(sizeof(struct x86_tss64) == 104, "64-bit TSS size");
_Static_assert(offsetof(struct x86_tss64, rsp) == 0x04, "TSS RSP0 offset");
_Static_assert(offsetof(struct x86_tss64, ist) + 8 == 0x24, "TSS IST1");
_Static_assert(offsetof(struct x86_tss64, iomap_base) == 0x66, "TSS iomap");

/* ---- LGDT/LIDT/SGDT/SIDT memory operand (SDM 3.5.1, Figure 3-11) --------
 *
 * In 64-bit mode a 2-byte limit followed by an 8-byte base; outside 64-bit
 * mode only base bits 31:0 are used (23:0 with a 16-bit operand size).
 */
struct x86_desc_ptr {
	uint16_t limit;
	uint64_t base;
} __attribute__((packed));

_Static_assert(sizeof(struct x86_desc_ptr) == 10, "descriptor-table pointer");

#endif /* NESTVM_ARCH_X86_SEG_H */
