/* SPDX-License-Identifier: MIT */
/*
 * x86-64 register state: RFLAGS groups, CR4/CR3 bits newer than the uapi
 * header, EFER, CR8/TPR, DR6/DR7, XCR0, the RESET state, GPR numbering and
 * the exception vectors with their error-code and double-fault rules.
 * SDM Vol. 3A 2.3-2.6, 6.13-6.15, 10.1.1, Vol. 1 13.3 and the debug-register
 * section of Vol. 3B. Shared by the model, the monitor and freestanding guests.
 */
#ifndef NESTVM_ARCH_X86_REGS_H
#define NESTVM_ARCH_X86_REGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * X86_EFLAGS_*, X86_CR0_*, X86_CR3_*, X86_CR4_* and X86_CR8_TPR come from
 * here; the vector numbers *_VECTOR and struct kvm_regs from <asm/kvm.h>.
 */
#include <asm/processor-flags.h>
#include <asm/kvm.h>

/* ---- RFLAGS (SDM 2.3, 3.4.3) ------------------------------------------ */

/* The six status flags that arithmetic instructions write. */
#define X86_EFLAGS_ARITH_MASK                                            \
	(X86_EFLAGS_CF | X86_EFLAGS_PF | X86_EFLAGS_AF | X86_EFLAGS_ZF | \
	 X86_EFLAGS_SF | X86_EFLAGS_OF)

/* Bit 1 always reads as 1 (VM entry checks it, SDM 27.3.1.4). */
#define X86_EFLAGS_RESERVED_ONES X86_EFLAGS_FIXED

/*
 * Every RFLAGS bit that exists and that some instruction can set: bits 0,
 * 2, 4, 6-14 and 16-21. All other bits are reserved: bit 1 is fixed to 1,
 * bits 3, 5, 15 and 22-63 to 0. So a value is a legal RFLAGS exactly when
 * (v & ~X86_EFLAGS_LIVE_MASK) == X86_EFLAGS_RESERVED_ONES.
 */
#define X86_EFLAGS_LIVE_MASK 0x00000000003f7fd5ull

/* ---- CR0 (SDM Vol. 3A 2.5) ------------------------------------------------ */

/*
 * The CR0 bits that exist. MOV to CR0 raises #GP(0) for a 1 in bits 63:32;
 * the other reserved bits (6-15, 17, 19-28) are ignored: written as 1
 * they read back as 0, as on Intel processors (KVM's kvm_set_cr0() does
 * the same for its guests).
 */
#define X86_CR0_DEFINED                                                   \
	(X86_CR0_PE | X86_CR0_MP | X86_CR0_EM | X86_CR0_TS | X86_CR0_ET | \
	 X86_CR0_NE | X86_CR0_WP | X86_CR0_AM | X86_CR0_NW | X86_CR0_CD | \
	 X86_CR0_PG)

/* ---- CR3 / CR4 bits newer than the uapi header (SDM 2.5) --------------- */

#ifndef X86_CR3_LAM_U57
#define X86_CR3_LAM_U57_BIT 61 /* LAM for user pointers, 57-bit masking */
#define X86_CR3_LAM_U57 (1ull << X86_CR3_LAM_U57_BIT)
#endif
#ifndef X86_CR3_LAM_U48
#define X86_CR3_LAM_U48_BIT 62 /* LAM for user pointers, 48-bit masking */
#define X86_CR3_LAM_U48 (1ull << X86_CR3_LAM_U48_BIT)
#endif

#ifndef X86_CR4_PKS
#define X86_CR4_PKS_BIT 24 /* protection keys for supervisor pages */
#define X86_CR4_PKS (1ull << X86_CR4_PKS_BIT)
#endif
#ifndef X86_CR4_LASS
#define X86_CR4_LASS_BIT 27 /* linear-address space separation */
#define X86_CR4_LASS (1ull << X86_CR4_LASS_BIT)
#endif
#ifndef X86_CR4_LAM_SUP
#define X86_CR4_LAM_SUP_BIT 28 /* LAM for supervisor pointers */
#define X86_CR4_LAM_SUP (1ull << X86_CR4_LAM_SUP_BIT)
#endif
#ifndef X86_CR4_FRED
#define X86_CR4_FRED_BIT 32 /* flexible return and event delivery */
#define X86_CR4_FRED (1ull << X86_CR4_FRED_BIT)
#endif

/* ---- EFER, MSR 0xc0000080 (SDM 2.2.1; AMD APM 3.1.7) ------------------- */

#define EFER_SCE (1ull << 0) /* SYSCALL/SYSRET enable */
#define EFER_LME (1ull << 8) /* long mode enable */
#define EFER_LMA (1ull << 10) /* long mode active (read-only to WRMSR) */
#define EFER_NX (1ull << 11) /* no-execute enable (SDM: NXE) */
#define EFER_SVME (1ull << 12) /* AMD: SVM enable */
#define EFER_LMSLE (1ull << 13) /* AMD: long mode segment limit enable */
#define EFER_FFXSR (1ull << 14) /* AMD: fast FXSAVE/FXRSTOR */
#define EFER_TCE (1ull << 15) /* AMD: translation cache extension */
#define EFER_AUTOIBRS (1ull << 21) /* AMD: automatic IBRS */

/* ---- CR8 and the local APIC TPR (SDM 2.5, "CR8"; APIC chapter) -------- */

/* CR8[3:0] is TPR[7:4]; TPR[3:0] reads as 0 through CR8. */
static inline uint32_t x86_cr8_to_tpr(uint64_t cr8)
{
	return (uint32_t)(cr8 & X86_CR8_TPR) << 4;
}

static inline uint64_t x86_tpr_to_cr8(uint32_t tpr)
{
	return (tpr >> 4) & X86_CR8_TPR;
}

/* ---- DR6 (SDM Vol. 3B, "Debug Status Register (DR6)") -----------------
 *
 *  bit  name  meaning
 *  0-3  B0-B3 breakpoint condition n was met
 *  11   BLD   0 = a bus lock was detected (active low; 1 when unsupported)
 *  13   BD    the next instruction accesses a debug register (DR7.GD)
 *  14   BS    single step (RFLAGS.TF)
 *  15   BT    task switch to a TSS with the T flag
 *  16   RTM   0 = #DB/#BP inside an RTM region (active low)
 *  rest       reserved: bits 4-10, 12 and 17-31 read as 1, 32-63 as 0
 */
#define DR6_B0 (1ull << 0)
#define DR6_B1 (1ull << 1)
#define DR6_B2 (1ull << 2)
#define DR6_B3 (1ull << 3)
#define DR6_B(n) (1ull << (n))
#define DR6_TRAP_BITS 0x0full
#define DR6_BLD (1ull << 11)
#define DR6_BD (1ull << 13)
#define DR6_BS (1ull << 14)
#define DR6_BT (1ull << 15)
#define DR6_RTM (1ull << 16)
/* Bits that always read as 1 on a CPU with RTM but without bus-lock #DB. */
#define DR6_FIXED_1 0xfffe0ff0ull
/* Bits a debug exception can change. */
#define DR6_VOLATILE 0x0001e80full
/* Active-low bits set and nothing reported: the value after RESET. */
#define DR6_ACTIVE_LOW 0xffff0ff0ull

/* ---- DR7 (SDM Vol. 3B, "Debug Control Register (DR7)") ----------------
 *
 *  bits   name      meaning
 *  2n     Ln        local enable of breakpoint n (n = 0..3)
 *  2n+1   Gn        global enable of breakpoint n
 *  8, 9   LE, GE    exact breakpoints (ignored by modern CPUs)
 *  10               reserved, reads as 1
 *  11     RTM       advanced debugging of RTM regions
 *  13     GD        #DB on any MOV DR (general detect)
 *  16+4n  R/Wn      0 exec, 1 write, 2 I/O (CR4.DE), 3 read/write
 *  18+4n  LENn      0 one byte, 1 two, 2 eight, 3 four
 *  12, 14, 15       reserved 0; bits 63:32 must be 0 (MOV to DR7 #GP)
 */
#define DR7_L(n) (1ull << (2 * (n)))
#define DR7_G(n) (1ull << (2 * (n) + 1))
#define DR7_BP_EN_MASK 0xffull
#define DR7_LE (1ull << 8)
#define DR7_GE (1ull << 9)
#define DR7_FIXED_1 0x400ull
#define DR7_RTM (1ull << 11)
#define DR7_GD (1ull << 13)
#define DR7_RW_SHIFT(n) (16 + 4 * (n))
#define DR7_LEN_SHIFT(n) (18 + 4 * (n))
#define DR7_RW(dr7, n) (((dr7) >> DR7_RW_SHIFT(n)) & 3)
#define DR7_LEN(dr7, n) (((dr7) >> DR7_LEN_SHIFT(n)) & 3)
#define DR7_RW_EXEC 0
#define DR7_RW_WRITE 1
#define DR7_RW_IO 2
#define DR7_RW_RW 3
/* Bits software can write; the rest are fixed (bit 10 to 1, others 0). */
#define DR7_VOLATILE 0xffff2bffull

/* ---- XCR0 (SDM 13.3; Vol. 1 13.1) -------------------------------------- */

#define XCR_XFEATURE_ENABLED_MASK 0 /* ECX value for XGETBV/XSETBV */

#define XFEATURE_MASK_FP (1ull << 0)
#define XFEATURE_MASK_SSE (1ull << 1)
#define XFEATURE_MASK_YMM (1ull << 2)
#define XFEATURE_MASK_BNDREGS (1ull << 3)
#define XFEATURE_MASK_BNDCSR (1ull << 4)
#define XFEATURE_MASK_OPMASK (1ull << 5)
#define XFEATURE_MASK_ZMM_Hi256 (1ull << 6)
#define XFEATURE_MASK_Hi16_ZMM (1ull << 7)
#define XFEATURE_MASK_PT (1ull << 8) /* IA32_XSS */
#define XFEATURE_MASK_PKRU (1ull << 9)
#define XFEATURE_MASK_PASID (1ull << 10) /* IA32_XSS */
#define XFEATURE_MASK_CET_USER (1ull << 11) /* IA32_XSS */
#define XFEATURE_MASK_CET_KERNEL (1ull << 12) /* IA32_XSS */
#define XFEATURE_MASK_LBR (1ull << 15) /* IA32_XSS */
#define XFEATURE_MASK_XTILE_CFG (1ull << 17)
#define XFEATURE_MASK_XTILE_DATA (1ull << 18)

#define XFEATURE_MASK_FPSSE (XFEATURE_MASK_FP | XFEATURE_MASK_SSE)
#define XFEATURE_MASK_AVX512                              \
	(XFEATURE_MASK_OPMASK | XFEATURE_MASK_ZMM_Hi256 | \
	 XFEATURE_MASK_Hi16_ZMM)
#define XFEATURE_MASK_MPX (XFEATURE_MASK_BNDREGS | XFEATURE_MASK_BNDCSR)
#define XFEATURE_MASK_XTILE (XFEATURE_MASK_XTILE_CFG | XFEATURE_MASK_XTILE_DATA)
/* Components managed through IA32_XSS; they may never be set in XCR0. */
#define XFEATURE_MASK_SUPERVISOR                                           \
	(XFEATURE_MASK_PT | XFEATURE_MASK_PASID | XFEATURE_MASK_CET_USER | \
	 XFEATURE_MASK_CET_KERNEL | XFEATURE_MASK_LBR)

/*
 * The value-consistency rules XSETBV enforces with #GP(0), SDM Vol. 1
 * 13.3 and the XSETBV instruction page, for a CPU that supports the
 * components in @supported: x87 always on, AVX needs SSE, the two MPX
 * components and the three AVX-512 components go together (AVX-512 also
 * needs AVX), and the two AMX components go together.
 */
static inline bool x86_xcr0_is_valid(uint64_t xcr0, uint64_t supported)
{
	uint64_t avx512 = xcr0 & XFEATURE_MASK_AVX512;
	uint64_t mpx = xcr0 & XFEATURE_MASK_MPX;
	uint64_t tile = xcr0 & XFEATURE_MASK_XTILE;

	if (xcr0 & ~supported)
		return false;
	if (xcr0 & XFEATURE_MASK_SUPERVISOR)
		return false;
	if (!(xcr0 & XFEATURE_MASK_FP))
		return false;
	if ((xcr0 & XFEATURE_MASK_YMM) && !(xcr0 & XFEATURE_MASK_SSE))
		return false;
	if (mpx != 0 && mpx != XFEATURE_MASK_MPX)
		return false;
	if (avx512 != 0 &&
	    (avx512 != XFEATURE_MASK_AVX512 || !(xcr0 & XFEATURE_MASK_YMM)))
		return false;
	if (tile != 0 && tile != XFEATURE_MASK_XTILE)
		return false;
	return true;
}

/* ---- State after RESET (SDM 10.1.1, Table 10-1) -------------------------
 *
 * RDX after RESET holds the processor signature (CPUID.01H:EAX: stepping,
 * model, family); that is whatever signature the model reports in CPUID,
 * so it is not a constant here. Segment registers other than CS
 * have selector 0, base 0, limit 0xffff and access rights "present,
 * read/write data, accessed" (X86_RESET_SEG_AR in VMX format, see
 * arch/x86_seg.h); CS has X86_RESET_CS_AR.
 */
#define X86_RESET_CR0 0x60000010ull /* CD | NW | ET */
#define X86_RESET_RFLAGS 0x2ull
#define X86_RESET_RIP 0xfff0ull
#define X86_RESET_CS_SELECTOR 0xf000u
#define X86_RESET_CS_BASE 0xffff0000ull
#define X86_RESET_SEG_LIMIT 0xffffu
#define X86_RESET_SEG_AR 0x93u /* P, S, type 3: data RW accessed */
#define X86_RESET_CS_AR 0x9bu /* P, S, type 11: code XR accessed */
#define X86_RESET_LDTR_AR 0x82u /* P, type 2: LDT */
#define X86_RESET_TR_AR 0x8bu /* P, type 11: busy TSS */
#define X86_RESET_DTR_LIMIT 0xffffu /* GDTR and IDTR, base 0 */
#define X86_RESET_DR6 DR6_ACTIVE_LOW
#define X86_RESET_DR7 DR7_FIXED_1
#define X86_RESET_EFER 0ull
#define X86_RESET_XCR0 XFEATURE_MASK_FP
#define X86_RESET_PAT 0x0007040600070406ull /* WB WT UC- UC, twice */
#define X86_RESET_MXCSR 0x1f80u
#define X86_RESET_FCW 0x037fu

/* ---- General-purpose register numbers -----------------------------------
 *
 * The encoding used by ModRM/REX and by every VMX exit qualification and
 * instruction-information field that names a register (SDM 28.2.1,
 * 28.2.5): 0 RAX, 1 RCX, 2 RDX, 3 RBX, 4 RSP, 5 RBP, 6 RSI, 7 RDI, 8-15
 * R8-R15. Names as KVM's enum kvm_reg.
 */
enum x86_gpr {
	VCPU_REGS_RAX = 0,
	VCPU_REGS_RCX = 1,
	VCPU_REGS_RDX = 2,
	VCPU_REGS_RBX = 3,
	VCPU_REGS_RSP = 4,
	VCPU_REGS_RBP = 5,
	VCPU_REGS_RSI = 6,
	VCPU_REGS_RDI = 7,
	VCPU_REGS_R8 = 8,
	VCPU_REGS_R9 = 9,
	VCPU_REGS_R10 = 10,
	VCPU_REGS_R11 = 11,
	VCPU_REGS_R12 = 12,
	VCPU_REGS_R13 = 13,
	VCPU_REGS_R14 = 14,
	VCPU_REGS_R15 = 15,
};

#define X86_NR_GPRS 16

/*
 * The member of @regs that holds GPR number @n (enum x86_gpr). struct
 * kvm_regs is not in encoding order (it starts rax, rbx, rcx, rdx), hence
 * the switch. Returns NULL for n >= 16. The members are __u64 (unsigned
 * long long), a different type from uint64_t (unsigned long), so callers
 * that want uint64_t use x86_regs_read_gpr()/x86_regs_write_gpr().
 */
static inline __u64 *x86_regs_lookup_gpr(struct kvm_regs *regs, unsigned int n)
{
	switch (n) {
	case VCPU_REGS_RAX:
		return &regs->rax;
	case VCPU_REGS_RCX:
		return &regs->rcx;
	case VCPU_REGS_RDX:
		return &regs->rdx;
	case VCPU_REGS_RBX:
		return &regs->rbx;
	case VCPU_REGS_RSP:
		return &regs->rsp;
	case VCPU_REGS_RBP:
		return &regs->rbp;
	case VCPU_REGS_RSI:
		return &regs->rsi;
	case VCPU_REGS_RDI:
		return &regs->rdi;
	case VCPU_REGS_R8:
		return &regs->r8;
	case VCPU_REGS_R9:
		return &regs->r9;
	case VCPU_REGS_R10:
		return &regs->r10;
	case VCPU_REGS_R11:
		return &regs->r11;
	case VCPU_REGS_R12:
		return &regs->r12;
	case VCPU_REGS_R13:
		return &regs->r13;
	case VCPU_REGS_R14:
		return &regs->r14;
	case VCPU_REGS_R15:
		return &regs->r15;
	default:
		return NULL;
	}
}

/* GPR @n of @regs; 0 for n >= 16 (no such register). */
static inline uint64_t x86_regs_read_gpr(struct kvm_regs *regs, unsigned int n)
{
	__u64 *p = x86_regs_lookup_gpr(regs, n);

	return p ? *p : 0;
}

/* Sets GPR @n of @regs; ignored for n >= 16. */
static inline void x86_regs_write_gpr(struct kvm_regs *regs, unsigned int n,
				      uint64_t val)
{
	__u64 *p = x86_regs_lookup_gpr(regs, n);

	if (p)
		*p = val;
}

/* ---- Exception vectors (SDM 6.3.1, Table 6-1) ---------------------------
 *
 * <asm/kvm.h> defines DE DB BP OF BR UD NM DF TS NP SS GP PF MF AC MC XM
 * VE; the rest are added here under the same naming.
 */
#ifndef NMI_VECTOR
#define NMI_VECTOR 2
#endif
#ifndef XM_VECTOR
#define XM_VECTOR 19
#endif
#ifndef VE_VECTOR
#define VE_VECTOR 20
#endif
#ifndef CP_VECTOR
#define CP_VECTOR 21
#endif

/* Vectors 0-31 are reserved for exceptions; 32-255 are free for software. */
#define X86_NR_EXCEPTION_VECTORS 32

/*
 * Exceptions that push an error code (SDM 6.13 and Table 6-1): #DF, #TS,
 * #NP, #SS, #GP, #PF, #AC and #CP. VM entry uses the same list when it
 * checks the "deliver error code" bit of an injected hardware exception
 * in protected mode (SDM 27.2.1.3).
 */
#define X86_EXCEPTION_ERROR_CODE_MASK                                \
	((1u << DF_VECTOR) | (1u << TS_VECTOR) | (1u << NP_VECTOR) | \
	 (1u << SS_VECTOR) | (1u << GP_VECTOR) | (1u << PF_VECTOR) | \
	 (1u << AC_VECTOR) | (1u << CP_VECTOR))

static inline bool x86_exception_has_error_code(unsigned int vector)
{
	return vector < X86_NR_EXCEPTION_VECTORS &&
	       ((X86_EXCEPTION_ERROR_CODE_MASK >> vector) & 1);
}

/*
 * Exception classes for the double-fault rules (SDM 6.15, "Interrupt 8",
 * Tables 6-4 and 6-5). #DF itself is its own class so that a fault while
 * delivering it can be recognised as a triple fault.
 */
enum x86_exception_class {
	X86_EXCPT_BENIGN = 0,
	X86_EXCPT_CONTRIBUTORY,
	X86_EXCPT_PAGE_FAULT,
	X86_EXCPT_DOUBLE_FAULT,
};

/* Contributory: #DE, #TS, #NP, #SS, #GP, #CP. Page faults: #PF, #VE. */
static inline enum x86_exception_class
x86_exception_get_class(unsigned int vector)
{
	switch (vector) {
	case DE_VECTOR:
	case TS_VECTOR:
	case NP_VECTOR:
	case SS_VECTOR:
	case GP_VECTOR:
	case CP_VECTOR:
		return X86_EXCPT_CONTRIBUTORY;
	case PF_VECTOR:
	case VE_VECTOR:
		return X86_EXCPT_PAGE_FAULT;
	case DF_VECTOR:
		return X86_EXCPT_DOUBLE_FAULT;
	default:
		return X86_EXCPT_BENIGN;
	}
}

/* What happens when @second is raised while delivering @first. */
enum x86_exception_outcome {
	X86_EXCPT_SERIAL = 0, /* deliver @second; @first is lost or redone */
	X86_EXCPT_RAISE_DF, /* deliver #DF with error code 0 */
	X86_EXCPT_TRIPLE_FAULT, /* shutdown (a VM exit in VMX non-root) */
};

/*
 * SDM Table 6-5: contributory after contributory and contributory or page
 * fault after a page fault give #DF; a contributory or page fault while
 * delivering #DF shuts the processor down (SDM 6.15, "Interrupt 8"). Any
 * other pair is handled serially.
 */
static inline enum x86_exception_outcome
x86_exception_combine(unsigned int first, unsigned int second)
{
	enum x86_exception_class c1 = x86_exception_get_class(first);
	enum x86_exception_class c2 = x86_exception_get_class(second);
	bool c2_faulty =
		c2 == X86_EXCPT_CONTRIBUTORY || c2 == X86_EXCPT_PAGE_FAULT;

	switch (c1) {
	case X86_EXCPT_DOUBLE_FAULT:
		return c2_faulty ? X86_EXCPT_TRIPLE_FAULT : X86_EXCPT_SERIAL;
	case X86_EXCPT_CONTRIBUTORY:
		return c2 == X86_EXCPT_CONTRIBUTORY ? X86_EXCPT_RAISE_DF
						    : X86_EXCPT_SERIAL;
	case X86_EXCPT_PAGE_FAULT:
		return c2_faulty ? X86_EXCPT_RAISE_DF : X86_EXCPT_SERIAL;
	case X86_EXCPT_BENIGN:
		return X86_EXCPT_SERIAL;
	}
	return X86_EXCPT_SERIAL;
}

#endif /* NESTVM_ARCH_X86_REGS_H */
