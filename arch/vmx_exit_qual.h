/* SPDX-License-Identifier: MIT */
/*
 * VM-exit information layouts: exit-reason flag bits, exit qualifications
 * (SDM Vol. 3C 28.2.1), VM-entry/exit interruption and IDT-vectoring
 * information (25.8.3, 28.2.2, 28.2.4), VM-exit instruction information
 * (28.2.5), guest interruptibility, activity and pending-debug state
 * (25.4.2) and entry-failure qualifications (27.8). Names follow KVM where
 * it has them. Written by the model, read by L0 and the L1 shim.
 */
#ifndef NESTVM_ARCH_VMX_EXIT_QUAL_H
#define NESTVM_ARCH_VMX_EXIT_QUAL_H

#include <stdbool.h>
#include <stdint.h>

#include "arch/ept.h"

/* ---- Exit reason flag bits (SDM 28.2.1, "Basic VM-Exit Information") ----
 *
 * The basic reason (bits 15:0) and its mask are in arch/vmx_exit_info.h;
 * <asm/vmx.h> defines bit 27 (VMX_EXIT_REASONS_SGX_ENCLAVE_MODE) and bit 31
 * (VMX_EXIT_REASONS_FAILED_VMENTRY). Bits 28 and 29:
 */
#ifndef VMX_EXIT_REASON_PENDING_MTF
#define VMX_EXIT_REASON_PENDING_MTF (1u << 28) /* a pending MTF VM exit */
#endif
#ifndef VMX_EXIT_REASON_FROM_VMX_ROOT
#define VMX_EXIT_REASON_FROM_VMX_ROOT (1u << 29) /* SMM monitor only */
#endif

/* ---- Debug exceptions (SDM 28.2.1, Table 28-1) ----------------------------
 *
 *  bits  meaning (as the DR6 bits a #DB would have set)
 *  3:0   B3-B0: breakpoint conditions met
 *  11    BLD: a bus lock was asserted
 *  13    BD: debug-register access detected
 *  14    BS: single instruction
 *  16    RTM: inside an RTM region
 *
 * Unlike DR6 every flag is active high and the reserved bits are 0.
 */
#define DEBUG_QUAL_B(n) (1ull << (n))
#define DEBUG_QUAL_B_MASK 0x0full
#define DEBUG_QUAL_BLD (1ull << 11)
#define DEBUG_QUAL_BD (1ull << 13)
#define DEBUG_QUAL_BS (1ull << 14)
#define DEBUG_QUAL_RTM (1ull << 16)

/* ---- Task switch (SDM 28.2.1, Table 28-2) ---------------------------------
 *
 *  bits   meaning
 *  15:0   selector of the new task's TSS
 *  29:16  reserved
 *  31:30  source: 0 CALL, 1 IRET, 2 JMP, 3 task gate in the IDT
 */
#define TASK_SWITCH_SEL_MASK 0xffffull
#define TASK_SWITCH_SOURCE_SHIFT 30
#define TASK_SWITCH_CALL 0
#define TASK_SWITCH_IRET 1
#define TASK_SWITCH_JMP 2
#define TASK_SWITCH_GATE 3

static inline unsigned int vmx_qual_ts_get_source(uint64_t qual)
{
	return (unsigned int)(qual >> TASK_SWITCH_SOURCE_SHIFT) & 3u;
}

/* ---- Control-register accesses (SDM 28.2.1, Table 28-3) -------------------
 *
 *  bits   meaning
 *  3:0    control register number (0 for CLTS and LMSW)
 *  5:4    access type: 0 MOV to CR, 1 MOV from CR, 2 CLTS, 3 LMSW
 *  6      LMSW operand type: 0 register, 1 memory
 *  7      reserved
 *  11:8   GPR of a MOV CR (encoding of enum x86_gpr); 0 otherwise
 *  15:12  reserved
 *  31:16  LMSW source data; 0 otherwise
 *  63:32  reserved
 *
 * KVM masks bits 2:0 for the number; the SDM field is four bits wide.
 */
#define CONTROL_REG_ACCESS_NUM 0xfull
#define CONTROL_REG_ACCESS_TYPE 0x30ull
#define CONTROL_REG_ACCESS_TYPE_SHIFT 4
#define CONTROL_REG_ACCESS_LMSW_MEM (1ull << 6)
#define CONTROL_REG_ACCESS_REG 0xf00ull
#define CONTROL_REG_ACCESS_REG_SHIFT 8
#define LMSW_SOURCE_DATA_SHIFT 16
#define LMSW_SOURCE_DATA (0xffffull << LMSW_SOURCE_DATA_SHIFT)

#define CR_ACCESS_TYPE_MOV_TO_CR 0
#define CR_ACCESS_TYPE_MOV_FROM_CR 1
#define CR_ACCESS_TYPE_CLTS 2
#define CR_ACCESS_TYPE_LMSW 3

static inline unsigned int vmx_qual_cr_get_num(uint64_t qual)
{
	return (unsigned int)(qual & CONTROL_REG_ACCESS_NUM);
}

static inline unsigned int vmx_qual_cr_get_type(uint64_t qual)
{
	return (unsigned int)((qual & CONTROL_REG_ACCESS_TYPE) >>
			      CONTROL_REG_ACCESS_TYPE_SHIFT);
}

static inline unsigned int vmx_qual_cr_get_gpr(uint64_t qual)
{
	return (unsigned int)((qual & CONTROL_REG_ACCESS_REG) >>
			      CONTROL_REG_ACCESS_REG_SHIFT);
}

static inline uint16_t vmx_qual_cr_get_lmsw_data(uint64_t qual)
{
	return (uint16_t)((qual & LMSW_SOURCE_DATA) >> LMSW_SOURCE_DATA_SHIFT);
}

/* A MOV to/from CR qualification (type 0 or 1). */
static inline uint64_t vmx_build_cr_qual(unsigned int cr, unsigned int type,
					 unsigned int gpr)
{
	return (uint64_t)(cr & 0xfu) |
	       ((uint64_t)(type & 3u) << CONTROL_REG_ACCESS_TYPE_SHIFT) |
	       ((uint64_t)(gpr & 0xfu) << CONTROL_REG_ACCESS_REG_SHIFT);
}

/* An LMSW qualification; @mem says the operand was in memory. */
static inline uint64_t vmx_build_lmsw_qual(uint16_t data, bool mem)
{
	return ((uint64_t)CR_ACCESS_TYPE_LMSW
		<< CONTROL_REG_ACCESS_TYPE_SHIFT) |
	       (mem ? CONTROL_REG_ACCESS_LMSW_MEM : 0) |
	       ((uint64_t)data << LMSW_SOURCE_DATA_SHIFT);
}

/* ---- MOV DR (SDM 28.2.1, Table 28-4) --------------------------------------
 *
 *  bits   meaning
 *  2:0    debug register number
 *  3      reserved
 *  4      direction: 0 MOV to DR, 1 MOV from DR
 *  7:5    reserved
 *  11:8   GPR
 *  63:12  reserved
 */
#define DEBUG_REG_ACCESS_NUM 0x7ull
#define DEBUG_REG_ACCESS_TYPE 0x10ull
#define TYPE_MOV_TO_DR (0ull << 4)
#define TYPE_MOV_FROM_DR (1ull << 4)
#define DEBUG_REG_ACCESS_REG(eq) ((unsigned int)(((eq) >> 8) & 0xf))

static inline uint64_t vmx_build_dr_qual(unsigned int dr, bool from_dr,
					 unsigned int gpr)
{
	return (uint64_t)(dr & 7u) | (from_dr ? TYPE_MOV_FROM_DR : 0) |
	       ((uint64_t)(gpr & 0xfu) << 8);
}

/* ---- I/O instructions (SDM 28.2.1, Table 28-5) ----------------------------
 *
 *  bits   meaning
 *  2:0    size of access - 1 (0: 1 byte, 1: 2 bytes, 3: 4 bytes)
 *  3      direction: 0 OUT, 1 IN
 *  4      string instruction (INS/OUTS)
 *  5      REP prefixed
 *  6      operand encoding: 0 DX, 1 immediate
 *  15:7   reserved
 *  31:16  port number
 *  63:32  reserved
 */
#define IO_QUAL_SIZE_MASK 0x7ull
#define IO_QUAL_IN (1ull << 3)
#define IO_QUAL_STRING (1ull << 4)
#define IO_QUAL_REP (1ull << 5)
#define IO_QUAL_IMM (1ull << 6)
#define IO_QUAL_PORT_SHIFT 16
#define IO_QUAL_PORT_MASK (0xffffull << IO_QUAL_PORT_SHIFT)

/* Access size in bytes: 1, 2 or 4. */
static inline unsigned int vmx_qual_io_get_size(uint64_t qual)
{
	return (unsigned int)(qual & IO_QUAL_SIZE_MASK) + 1;
}

static inline uint16_t vmx_qual_io_get_port(uint64_t qual)
{
	return (uint16_t)((qual & IO_QUAL_PORT_MASK) >> IO_QUAL_PORT_SHIFT);
}

/* @flags is any of IO_QUAL_IN, _STRING, _REP, _IMM; @size 1, 2 or 4. */
static inline uint64_t vmx_build_io_qual(uint16_t port, unsigned int size,
					 uint64_t flags)
{
	return (uint64_t)((size - 1) & 7u) |
	       (flags &
		(IO_QUAL_IN | IO_QUAL_STRING | IO_QUAL_REP | IO_QUAL_IMM)) |
	       ((uint64_t)port << IO_QUAL_PORT_SHIFT);
}

/* ---- APIC access (SDM 28.2.1, Table 28-6) ---------------------------------
 *
 *  bits   meaning
 *  11:0   offset in the APIC page (linear accesses)
 *  15:12  access type: 0 linear read, 1 linear write, 2 linear fetch,
 *         3 linear access during event delivery, 10 guest-physical access
 *         during event delivery, 15 guest-physical fetch or execution
 *  16     asynchronous to instruction execution
 */
#define APIC_ACCESS_OFFSET 0xfffull
#define APIC_ACCESS_TYPE 0xf000ull
#define TYPE_LINEAR_APIC_INST_READ (0ull << 12)
#define TYPE_LINEAR_APIC_INST_WRITE (1ull << 12)
#define TYPE_LINEAR_APIC_INST_FETCH (2ull << 12)
#define TYPE_LINEAR_APIC_EVENT (3ull << 12)
#define TYPE_PHYSICAL_APIC_EVENT (10ull << 12)
#define TYPE_PHYSICAL_APIC_INST (15ull << 12)
#define APIC_ACCESS_ASYNC (1ull << 16)

/* ---- EPT violations (SDM 28.2.1, Table 28-7) ------------------------------
 *
 *  bit  meaning
 *  0    the access was a data read
 *  1    the access was a data write
 *  2    the access was an instruction fetch
 *  3    the GPA was readable: AND of bit 0 of every EPT entry walked
 *  4    the GPA was writable (AND of bit 1)
 *  5    the GPA was executable (AND of bit 2; supervisor-mode
 *       executable with mode-based execute control)
 *  6    the GPA was user-mode executable (AND of bit 10), with
 *       mode-based execute control; otherwise undefined
 *  7    the guest linear-address field is valid
 *  8    with bit 7: 1 = the access was to the GPA the linear address
 *       translates to; 0 = to a guest paging-structure entry
 *  9    advanced info (bits 7 and 8 set): the linear address is
 *       user-mode (U/S of the guest translation)
 *  10   advanced info: the guest translation is writable (R/W)
 *  11   advanced info: the guest translation is execute-disable
 *  12   NMI unblocking due to IRET
 *  13   the access was a shadow-stack access
 *  14   supervisor shadow-stack control: the EPT leaf had bit 60 set
 *  15   the access was to verify guest paging (HLAT)
 *  16   the access was asynchronous to instruction execution (PT)
 *  63:17 reserved
 *
 * An access can be both a read and a write (bits 0 and 1) for a locked or
 * read-modify-write instruction; a walk of guest paging structures that
 * sets A/D bits reports a write.
 */
#define EPT_VIOLATION_ACC_READ (1ull << 0)
#define EPT_VIOLATION_ACC_WRITE (1ull << 1)
#define EPT_VIOLATION_ACC_INSTR (1ull << 2)
#define EPT_VIOLATION_ACC_MASK 0x7ull
#define EPT_VIOLATION_PROT_SHIFT 3
#define EPT_VIOLATION_PROT_READ (1ull << 3)
#define EPT_VIOLATION_PROT_WRITE (1ull << 4)
#define EPT_VIOLATION_PROT_EXEC (1ull << 5)
#define EPT_VIOLATION_PROT_USER_EXEC (1ull << 6)
#define EPT_VIOLATION_PROT_MASK 0x78ull
#define EPT_VIOLATION_GVA_IS_VALID (1ull << 7)
#define EPT_VIOLATION_GVA_TRANSLATED (1ull << 8)
#define EPT_VIOLATION_GVA_USER (1ull << 9)
#define EPT_VIOLATION_GVA_WRITABLE (1ull << 10)
#define EPT_VIOLATION_GVA_NX (1ull << 11)
#define EPT_VIOLATION_NMI_UNBLOCKING (1ull << 12)
#define EPT_VIOLATION_SHADOW_STACK (1ull << 13)
#define EPT_VIOLATION_SUPERVISOR_SHADOW_STACK (1ull << 14)
#define EPT_VIOLATION_GUEST_PAGING_VERIFY (1ull << 15)
#define EPT_VIOLATION_ASYNC (1ull << 16)
/* Older KVM names for bits 5:3. */
#define EPT_VIOLATION_RWX_SHIFT EPT_VIOLATION_PROT_SHIFT
#define EPT_VIOLATION_RWX_MASK (7ull << EPT_VIOLATION_PROT_SHIFT)

/*
 * Bits 6:0 of an EPT-violation qualification from the kind of access and
 * the rights the walk found. @access uses the EPT entry bits EPT_READ,
 * EPT_WRITE and EPT_EXEC (the layout of bits 2:0 is the same); @prot is
 * the AND of the entries walked, in EPT entry bits, where EPT_EXEC_USER
 * (entry bit 10) lands in qualification bit 6. Passing the entry values
 * directly keeps the shift in one place.
 */
static inline uint64_t vmx_build_ept_violation_qual(uint64_t access,
						    uint64_t prot)
{
	uint64_t q = access & EPT_VIOLATION_ACC_MASK;

	q |= (prot & 0x7ull) << EPT_VIOLATION_PROT_SHIFT;
	if (prot & EPT_EXEC_USER)
		q |= EPT_VIOLATION_PROT_USER_EXEC;
	return q;
}

/* ---- Other exit qualifications (SDM 28.2.1) ---------------------------------
 *
 *  exit                                  qualification
 *  #PF exception (exception bitmap)      the faulting linear address
 *  #DB exception, MOV-SS-blocked #DB     as "Debug exceptions" above
 *  INVLPG                                the linear-address operand
 *  INVEPT, INVPCID, INVVPID, LGDT, LIDT,
 *  LLDT, LTR, SGDT, SIDT, SLDT, STR,
 *  VMCLEAR, VMPTRLD, VMPTRST, VMREAD,
 *  VMWRITE, VMXON, XRSTORS, XSAVES      the displacement of the memory
 *                                        operand, sign-extended to the
 *                                        address size; 0 for register
 *                                        operands
 *  SIPI                                  bits 7:0 the SIPI vector
 *  I/O SMI                               as "I/O instructions" above
 *  entry failure (invalid guest state)   ENTRY_FAIL_* below
 *  EPT misconfiguration                  undefined; the GPA is in
 *                                        GUEST_PHYSICAL_ADDRESS
 *  everything else                       0 / undefined
 */

/* ---- VM-entry failure qualifications (SDM 27.8) -------------------------- */

#define ENTRY_FAIL_DEFAULT 0 /* any check not listed below */
#define ENTRY_FAIL_PDPTE 2 /* loading PDPTEs failed */
#define ENTRY_FAIL_NMI 3 /* NMI injection while blocked by STI */
#define ENTRY_FAIL_VMCS_LINK_PTR 4 /* invalid VMCS link pointer */

/* ---- Interruption information (SDM 25.8.3, 28.2.2, 28.2.4) -----------------
 *
 * VM-entry interruption information, VM-exit interruption information and
 * IDT-vectoring information share this layout:
 *
 *  bits   meaning
 *  7:0    vector
 *  10:8   type: 0 external interrupt, 1 reserved, 2 NMI, 3 hardware
 *         exception, 4 software interrupt (INT n), 5 privileged software
 *         exception (INT1), 6 software exception (INT3, INTO), 7 other
 *         event (MTF on entry)
 *  11     deliver / has an error code
 *  12     exit info: NMI unblocking due to IRET (undefined in IDT-vectoring
 *         information); entry info: reserved
 *  30:13  reserved (must be 0 on entry)
 *  31     valid
 */
#define INTR_INFO_VECTOR_MASK 0xffu
#define INTR_INFO_INTR_TYPE_SHIFT 8
#define INTR_INFO_INTR_TYPE_MASK 0x700u
#define INTR_INFO_DELIVER_CODE_MASK 0x800u
#define INTR_INFO_UNBLOCK_NMI 0x1000u
#define INTR_INFO_VALID_MASK 0x80000000u
#define INTR_INFO_RESVD_BITS_MASK 0x7ffff000u

#define VECTORING_INFO_VECTOR_MASK INTR_INFO_VECTOR_MASK
#define VECTORING_INFO_TYPE_MASK INTR_INFO_INTR_TYPE_MASK
#define VECTORING_INFO_DELIVER_CODE_MASK INTR_INFO_DELIVER_CODE_MASK
#define VECTORING_INFO_VALID_MASK INTR_INFO_VALID_MASK

#define INTR_TYPE_EXT_INTR (0u << 8)
#define INTR_TYPE_RESERVED (1u << 8)
#define INTR_TYPE_NMI_INTR (2u << 8)
#define INTR_TYPE_HARD_EXCEPTION (3u << 8)
#define INTR_TYPE_SOFT_INTR (4u << 8)
#define INTR_TYPE_PRIV_SW_EXCEPTION (5u << 8)
#define INTR_TYPE_SOFT_EXCEPTION (6u << 8)
#define INTR_TYPE_OTHER_EVENT (7u << 8)

/* A valid interruption-information value; @type is an INTR_TYPE_*. */
static inline uint32_t vmx_build_intr_info(unsigned int vector, uint32_t type,
					   bool error_code)
{
	return INTR_INFO_VALID_MASK | (type & INTR_INFO_INTR_TYPE_MASK) |
	       (error_code ? INTR_INFO_DELIVER_CODE_MASK : 0) |
	       (vector & INTR_INFO_VECTOR_MASK);
}

static inline bool vmx_intr_info_is_valid(uint32_t info)
{
	return (info & INTR_INFO_VALID_MASK) != 0;
}

static inline unsigned int vmx_intr_info_get_vector(uint32_t info)
{
	return info & INTR_INFO_VECTOR_MASK;
}

/* The type as an INTR_TYPE_* value (still shifted). */
static inline uint32_t vmx_intr_info_get_type(uint32_t info)
{
	return info & INTR_INFO_INTR_TYPE_MASK;
}

static inline bool vmx_intr_info_has_error_code(uint32_t info)
{
	return (info & INTR_INFO_DELIVER_CODE_MASK) != 0;
}

/*
 * Software interrupts and software/privileged-software exceptions need the
 * VM-entry instruction length to compute the return address pushed on
 * delivery (SDM 27.6.1.1), and record one in the VM-exit instruction
 * length field when they cause an exit.
 */
static inline bool vmx_intr_type_is_soft(uint32_t type)
{
	return type == INTR_TYPE_SOFT_INTR ||
	       type == INTR_TYPE_PRIV_SW_EXCEPTION ||
	       type == INTR_TYPE_SOFT_EXCEPTION;
}

/* ---- Guest non-register state (SDM 25.4.2, Tables 25-3 and 25-4) ---------
 *
 * Interruptibility state:
 *  bit  meaning
 *  0    blocking by STI
 *  1    blocking by MOV SS (or POP SS)
 *  2    blocking by SMI
 *  3    blocking by NMI (virtual-NMI blocking with "virtual NMIs")
 *  4    enclave interruption
 *  31:5 reserved
 */
#define GUEST_INTR_STATE_STI 0x00000001u
#define GUEST_INTR_STATE_MOV_SS 0x00000002u
#define GUEST_INTR_STATE_SMI 0x00000004u
#define GUEST_INTR_STATE_NMI 0x00000008u
#define GUEST_INTR_STATE_ENCLAVE_INTR 0x00000010u
#define GUEST_INTR_STATE_RESERVED_MASK 0xffffffe0u

/* Activity state. */
#define GUEST_ACTIVITY_ACTIVE 0
#define GUEST_ACTIVITY_HLT 1
#define GUEST_ACTIVITY_SHUTDOWN 2
#define GUEST_ACTIVITY_WAIT_SIPI 3

/*
 * Pending debug exceptions:
 *  bit  meaning
 *  3:0  B3-B0 (data or I/O breakpoint conditions met)
 *  11   BLD: bus lock detected
 *  12   enabled breakpoint: some enabled breakpoint condition was met
 *  14   BS: single-step trap pending
 *  16   RTM: inside an RTM region
 */
#define PENDING_DBG_B_MASK 0x0full
#define PENDING_DBG_BLD (1ull << 11)
#define PENDING_DBG_ENABLED_BP (1ull << 12)
#define PENDING_DBG_BS (1ull << 14)
#define PENDING_DBG_RTM (1ull << 16)
#define PENDING_DBG_RESERVED_MASK \
	0xfffffffffffea7f0ull /* 63:17, 15, 13, 10:4 */

/* ---- VM-exit instruction information (SDM 28.2.5) ---------------------------
 *
 * One field, several layouts. For the memory-operand forms:
 *
 *  bits   INVEPT/INVPCID/  LGDT..SIDT  LLDT..STR   VMREAD/    VMCLEAR,
 *         INVVPID          (desc tbl)  (LDTR/TR)   VMWRITE    VMPTRLD,
 *                                                             VMPTRST,
 *                                                             VMXON,
 *                                                             XSAVES..
 *  1:0    scaling (0: x1, 1: x2, 2: x4, 3: x8) in every column
 *  6:3    -                -           reg1        reg1       -
 *  9:7    address size (0: 16-bit, 1: 32-bit, 2: 64-bit) in every column
 *  10     -                -           mem/reg     mem/reg    -
 *  11     -                operand     -           -          -
 *                          size 16/32
 *  17:15  segment register (enum x86_sreg order) in every column
 *  21:18  index register;  22: index invalid
 *  26:23  base register;   27: base invalid
 *  29:28  -                identity    identity    -          -
 *  31:28  reg2             -           -           reg2       -
 *
 * mem/reg is 1 when the operand is the register reg1 (then bits 1:0, 9:7,
 * 17:15 and 27:18 are undefined). Identity for descriptor tables: 0 SGDT,
 * 1 SIDT, 2 LGDT, 3 LIDT; for LDTR/TR: 0 SLDT, 1 STR, 2 LLDT, 3 LTR.
 *
 * INS/OUTS (with IA32_VMX_BASIC bit 54): only address size (9:7) and, for
 * OUTS, the segment register (17:15) are defined.
 *
 * RDRAND, RDSEED, TPAUSE, UMWAIT: bits 6:3 destination register, bits
 * 12:11 operand size (0: 16-bit, 1: 32-bit, 2: 64-bit).
 */
#define VMX_INSN_INFO_SCALING_MASK 0x3u
#define VMX_INSN_INFO_REG1_SHIFT 3
#define VMX_INSN_INFO_ADDR_SIZE_SHIFT 7
#define VMX_INSN_INFO_IS_REG (1u << 10)
#define VMX_INSN_INFO_OPSIZE_32 (1u << 11) /* descriptor-table form */
#define VMX_INSN_INFO_RDRAND_OPSIZE_SHIFT 11
#define VMX_INSN_INFO_SEG_SHIFT 15
#define VMX_INSN_INFO_INDEX_SHIFT 18
#define VMX_INSN_INFO_INDEX_INVALID (1u << 22)
#define VMX_INSN_INFO_BASE_SHIFT 23
#define VMX_INSN_INFO_BASE_INVALID (1u << 27)
#define VMX_INSN_INFO_IDENTITY_SHIFT 28
#define VMX_INSN_INFO_REG2_SHIFT 28

#define VMX_INSN_INFO_ADDR_SIZE_16 0
#define VMX_INSN_INFO_ADDR_SIZE_32 1
#define VMX_INSN_INFO_ADDR_SIZE_64 2

#define VMX_INSN_INFO_SGDT 0
#define VMX_INSN_INFO_SIDT 1
#define VMX_INSN_INFO_LGDT 2
#define VMX_INSN_INFO_LIDT 3
#define VMX_INSN_INFO_SLDT 0
#define VMX_INSN_INFO_STR 1
#define VMX_INSN_INFO_LLDT 2
#define VMX_INSN_INFO_LTR 3

/* The scale factor itself: 1, 2, 4 or 8. */
static inline unsigned int vmx_insn_info_get_scale(uint32_t info)
{
	return 1u << (info & VMX_INSN_INFO_SCALING_MASK);
}

static inline unsigned int vmx_insn_info_get_reg1(uint32_t info)
{
	return (info >> VMX_INSN_INFO_REG1_SHIFT) & 0xfu;
}

/* VMX_INSN_INFO_ADDR_SIZE_16/32/64. */
static inline unsigned int vmx_insn_info_get_addr_size(uint32_t info)
{
	return (info >> VMX_INSN_INFO_ADDR_SIZE_SHIFT) & 0x7u;
}

static inline bool vmx_insn_info_is_reg(uint32_t info)
{
	return (info & VMX_INSN_INFO_IS_REG) != 0;
}

/* Segment register, in enum x86_sreg order (0 ES .. 5 GS). */
static inline unsigned int vmx_insn_info_get_seg(uint32_t info)
{
	return (info >> VMX_INSN_INFO_SEG_SHIFT) & 0x7u;
}

static inline unsigned int vmx_insn_info_get_index(uint32_t info)
{
	return (info >> VMX_INSN_INFO_INDEX_SHIFT) & 0xfu;
}

static inline bool vmx_insn_info_has_index(uint32_t info)
{
	return !(info & VMX_INSN_INFO_INDEX_INVALID);
}

static inline unsigned int vmx_insn_info_get_base(uint32_t info)
{
	return (info >> VMX_INSN_INFO_BASE_SHIFT) & 0xfu;
}

static inline bool vmx_insn_info_has_base(uint32_t info)
{
	return !(info & VMX_INSN_INFO_BASE_INVALID);
}

static inline unsigned int vmx_insn_info_get_reg2(uint32_t info)
{
	return (info >> VMX_INSN_INFO_REG2_SHIFT) & 0xfu;
}

/* Instruction identity of the descriptor-table and LDTR/TR forms. */
static inline unsigned int vmx_insn_info_get_identity(uint32_t info)
{
	return (info >> VMX_INSN_INFO_IDENTITY_SHIFT) & 0x3u;
}

/* Operand size of RDRAND/RDSEED/TPAUSE/UMWAIT: 0 16, 1 32, 2 64-bit. */
static inline unsigned int vmx_insn_info_get_rdrand_opsize(uint32_t info)
{
	return (info >> VMX_INSN_INFO_RDRAND_OPSIZE_SHIFT) & 0x3u;
}

/*
 * A memory-operand instruction-information value: @scale_log2 0-3,
 * @addr_size a VMX_INSN_INFO_ADDR_SIZE_*, @seg an enum x86_sreg, @index and
 * @base register numbers or -1 when absent. Callers OR in reg1, reg2 or
 * the identity of their form.
 */
static inline uint32_t vmx_build_insn_info_mem(unsigned int scale_log2,
					       unsigned int addr_size,
					       unsigned int seg, int index,
					       int base)
{
	uint32_t info = (scale_log2 & VMX_INSN_INFO_SCALING_MASK) |
			((addr_size & 7u) << VMX_INSN_INFO_ADDR_SIZE_SHIFT) |
			((seg & 7u) << VMX_INSN_INFO_SEG_SHIFT);

	if (index < 0)
		info |= VMX_INSN_INFO_INDEX_INVALID;
	else
		info |= ((uint32_t)index & 0xfu) << VMX_INSN_INFO_INDEX_SHIFT;
	if (base < 0)
		info |= VMX_INSN_INFO_BASE_INVALID;
	else
		info |= ((uint32_t)base & 0xfu) << VMX_INSN_INFO_BASE_SHIFT;
	return info;
}

#endif /* NESTVM_ARCH_VMX_EXIT_QUAL_H */
