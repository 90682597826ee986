/* SPDX-License-Identifier: MIT */
/*
 * lib.h - the framework of the bare-metal VMX test programs: check lines,
 * VMX instructions that report VMsucceed/VMfail or the fault they raised,
 * a known-good VMCS for a tiny 64-bit guest whose code lives in the
 * program itself, running it and reading its VM exit, an identity EPT, and
 * a guest IDT. SDM Vol. 3C ch. 25-31. Guest side (runs as a hypervisor on
 * nestvm or Bochs); freestanding. docs/vmx-tests.md.
 */
#ifndef NESTVM_TESTS_VMX_LIB_H
#define NESTVM_TESTS_VMX_LIB_H

#include "arch/types.h"

/* ---- check lines ----------------------------------------------------------
 *
 * Every check prints exactly one line, the only lines the oracle compares:
 *
 *	ok   <program>.<case>: <what was observed>
 *	FAIL <program>.<case>: <what was observed> (want <expected>)
 *	skip <program>.<case>: needs <capability>
 *
 * Anything else a program prints starts with "# ".
 */

/* Starts a program: names it for its check lines, installs the host IDT
 * that catches faults of the instructions under test. */
void vmxt_begin(const char *program);
/* Prints "# <program>: N checks, M failed" and returns the exit status
 * (0 when nothing failed). */
int vmxt_end(void);

/* One check line: ok when @ok, else FAIL with " (want <want>)". */
void vmxt_check_str(const char *name, bool ok, const char *got,
		    const char *want);
/* ok when @got equals @want; the observed text is "0x<got>". */
void vmxt_check_u64(const char *name, uint64_t got, uint64_t want);
/* A case the processor cannot run: "skip <case>: needs <what>". */
void vmxt_skip(const char *name, const char *what);
/* Stops the program after an error of the framework itself. */
void vmxt_die(const char *fmt, ...)
	__attribute__((noreturn, format(printf, 1, 2)));

/* ---- outcomes of VMX instructions and VM entries ------------------------ */

enum vmxt_kind {
	VMXT_SUCCEED, /* VMsucceed */
	VMXT_FAIL_INVALID, /* VMfailInvalid: CF = 1 */
	VMXT_FAIL_VALID, /* VMfailValid: ZF = 1, error in the VMCS */
	VMXT_EXIT, /* a VM entry that ended in a VM exit */
	VMXT_FAULT, /* the instruction raised an exception */
};

struct vmxt_outcome {
	enum vmxt_kind kind;
	uint32_t error; /* VMXT_FAIL_VALID: VM-instruction error */
	uint32_t reason; /* VMXT_EXIT: exit reason, bit 31 included */
	uint64_t qual; /* VMXT_EXIT: exit qualification */
	uint32_t vector; /* VMXT_FAULT */
	uint32_t
		fault_error; /* VMXT_FAULT: error code, if the vector has one */
};

#define VMXT_OK ((struct vmxt_outcome){ .kind = VMXT_SUCCEED })
#define VMXT_INVALID ((struct vmxt_outcome){ .kind = VMXT_FAIL_INVALID })
#define VMXT_VALID(n) \
	((struct vmxt_outcome){ .kind = VMXT_FAIL_VALID, .error = (n) })
#define VMXT_EXITED(r, q) \
	((struct vmxt_outcome){ .kind = VMXT_EXIT, .reason = (r), .qual = (q) })
#define VMXT_FAULTED(v, ec)     \
	((struct vmxt_outcome){ \
		.kind = VMXT_FAULT, .vector = (v), .fault_error = (ec) })

/* "VMsucceed", "VMfailInvalid", "VMfailValid(7)", "exit 0x80000021 qual
 * 0x0", "#GP(0x0)", "#UD". */
void vmxt_outcome_format(const struct vmxt_outcome *o, char *buf, size_t n);
void vmxt_check_outcome(const char *name, const struct vmxt_outcome *got,
			const struct vmxt_outcome *want);

/* ---- VMX instructions that may fault ---------------------------------------
 *
 * Each runs the instruction once with the host IDT armed: a fault becomes
 * VMXT_FAULT instead of a crash. VMREAD stores the value read in *val
 * (untouched on failure).
 */
struct vmxt_outcome vmxt_try_vmxon(uint64_t pa);
struct vmxt_outcome vmxt_try_vmxoff(void);
struct vmxt_outcome vmxt_try_vmclear(uint64_t pa);
struct vmxt_outcome vmxt_try_vmptrld(uint64_t pa);
struct vmxt_outcome vmxt_try_vmptrst(uint64_t *pa);
/* VMPTRLD/VMPTRST whose memory operand is at the linear address @la. */
struct vmxt_outcome vmxt_try_vmptrld_at(uint64_t la);
struct vmxt_outcome vmxt_try_vmptrst_at(uint64_t la);
struct vmxt_outcome vmxt_try_vmread(uint64_t enc, uint64_t *val);
struct vmxt_outcome vmxt_try_vmwrite(uint64_t enc, uint64_t val);
/* The memory forms: VMREAD into *dst, VMWRITE from *src. */
struct vmxt_outcome vmxt_try_vmread_mem(uint64_t enc, uint64_t *dst);
struct vmxt_outcome vmxt_try_vmwrite_mem(uint64_t enc, const uint64_t *src);
struct vmxt_outcome vmxt_try_invept(uint64_t type, uint64_t eptp);
struct vmxt_outcome vmxt_try_invvpid(uint64_t type, uint64_t vpid,
				     uint64_t gla);
struct vmxt_outcome vmxt_try_vmcall(void);
/* VMLAUNCH (@resume false) or VMRESUME of the current VMCS, with HOST_RSP
 * and HOST_RIP set so that a VM exit returns here: VMXT_EXIT with the exit
 * reason and qualification, a VMfail, or a fault. */
struct vmxt_outcome vmxt_try_enter(bool resume);
/* MOV SS then VMLAUNCH: entry while blocked by MOV SS (SDM 31.3). */
struct vmxt_outcome vmxt_try_vmlaunch_after_mov_ss(void);

/* ---- capabilities (SDM Appendix A) ------------------------------------- */

struct vmxt_caps {
	uint64_t basic, misc, ept_vpid;
	uint64_t cr0_fixed0, cr0_fixed1, cr4_fixed0, cr4_fixed1;
	/* The TRUE_* controls: bits that must be 1, bits that may be 1. */
	uint32_t pin_must1, pin_may1, proc_must1, proc_may1;
	uint32_t proc2_may1, exit_must1, exit_may1, entry_must1, entry_may1;
	unsigned int maxphyaddr; /* CPUID.80000008H:EAX[7:0] */
};

extern struct vmxt_caps vmxt_caps;

/* The first physical address beyond MAXPHYADDR: invalid everywhere. */
uint64_t vmxt_bad_pa(void);

/* True when every bit of @bits may be 1 in the group whose may-1 mask is
 * @may1; prints a skip line for @name otherwise. */
bool vmxt_need(const char *name, uint32_t may1, uint32_t bits,
	       const char *what);

/* ---- VMX operation and the VMCS ------------------------------------------ */

#define VMXT_PAGE 4096

/* Page-aligned regions in the program's BSS; identity-mapped, so their
 * addresses are their physical addresses. */
extern uint8_t vmxt_vmxon_region[VMXT_PAGE];
extern uint8_t vmxt_vmcs_region[VMXT_PAGE];
extern uint8_t vmxt_vmcs2_region[VMXT_PAGE];
extern uint8_t vmxt_io_bitmap_a[VMXT_PAGE];
extern uint8_t vmxt_io_bitmap_b[VMXT_PAGE];
extern uint8_t vmxt_msr_bitmap[VMXT_PAGE];
extern uint8_t vmxt_scratch[4][VMXT_PAGE];

static inline uint64_t vmxt_pa(const volatile void *p)
{
	return (uint64_t)(uintptr_t)p;
}

/* The revision identifier of IA32_VMX_BASIC, written into a region. */
void vmxt_region_init(void *region);

/* Reads the capabilities, enables VMX (IA32_FEATURE_CONTROL, the CR0/CR4
 * fixed bits) and prepares the VMXON region; VMXON itself is left to the
 * caller (vmxt_vmx_on() does all of it). */
void vmxt_vmx_prepare(void);
void vmxt_vmx_on(void);

/* VMCLEAR and VMPTRLD of vmxt_vmcs_region, then the baseline. */
void vmxt_vmcs_load(void);

/*
 * Writes the known-good VMCS: controls (the TRUE must-1 bits, MSR bitmaps
 * of all zeros, secondary controls active and zero, every exception
 * intercepted, IA-32e guest, EFER switched), the host state of the program
 * as it runs with HOST_RIP at the exit stub, and a guest that is a copy of
 * the host (same GDT, page tables, CR0/CR3/CR4, EFER) with its own stack
 * and IDT, starting at vmxt_guest_vmcall. Every case starts from it.
 */
void vmxt_vmcs_baseline(void);

/* VMWRITE/VMREAD that must succeed (the framework dies otherwise). */
void vmxt_wr(uint32_t field, uint64_t val);
uint64_t vmxt_rd(uint32_t field);
void vmxt_set_bits(uint32_t field, uint64_t bits);
void vmxt_clear_bits(uint32_t field, uint64_t bits);

/* Points the guest at @rip with a fresh stack and RFLAGS 0x2. */
void vmxt_guest_at(const void *rip);

/* VMLAUNCH or VMRESUME, whichever the launch state of the current VMCS
 * needs (tracked here: launched after any VM exit that is not an entry
 * failure, clear after VMCLEAR). */
struct vmxt_outcome vmxt_run(void);
/* Forget the launch state: the next vmxt_run() uses VMLAUNCH. */
void vmxt_mark_clear(void);

/* ---- reading a VM exit --------------------------------------------------- */

/* Which parts of an exit a check compares. */
enum {
	VMXT_X_RIP = 1 << 0, /* GUEST_RIP, as an offset from a base */
	VMXT_X_LEN = 1 << 1, /* VM_EXIT_INSTRUCTION_LEN */
	VMXT_X_QUAL = 1 << 2, /* EXIT_QUALIFICATION */
	VMXT_X_INFO = 1 << 3, /* VMX_INSTRUCTION_INFO, masked */
	VMXT_X_INTR = 1 << 4, /* VM_EXIT_INTR_INFO (+ error code) */
	VMXT_X_GPA = 1 << 5, /* GUEST_PHYSICAL_ADDRESS */
	VMXT_X_GLA = 1 << 6, /* GUEST_LINEAR_ADDRESS */
	VMXT_X_VECT = 1 << 7, /* IDT_VECTORING_INFO_FIELD (+ error code) */
};

struct vmxt_exit {
	uint32_t reason;
	int64_t rip; /* GUEST_RIP - base */
	uint32_t len;
	uint64_t qual;
	uint32_t info;
	uint32_t intr_info, intr_error;
	uint32_t vect_info, vect_error;
	uint64_t gpa, gla;
};

/* Runs the guest and compares the parts @what of its VM exit with @want;
 * the instruction information is compared under @info_mask (its defined
 * bits, SDM 28.2.5). One check line. */
void vmxt_expect_exit(const char *name, const void *base, unsigned int what,
		      uint32_t info_mask, const struct vmxt_exit *want);

/*
 * The instruction-information bits the SDM defines (SDM 28.2.5, Tables
 * 28-9 to 28-14), per layout; the index and base fields are dropped
 * besides when their invalid bits say so.
 */
#define VMXT_INFO_PTR 0x0fff8783u /* VMCLEAR, VMPTRLD, VMPTRST, VMXON */
#define VMXT_INFO_MEM 0xffff8783u /* VMREAD/VMWRITE, memory operand */
#define VMXT_INFO_REG 0xf0000478u /* VMREAD/VMWRITE, register operand */
#define VMXT_INFO_INV 0xffff8383u /* INVEPT, INVVPID */
#define VMXT_INFO_DT_MEM 0x3fff8783u /* LGDT..SIDT, LLDT..STR memory */
#define VMXT_INFO_DT_REG 0x30000478u /* LLDT..STR register operand */

/* ---- guest code -------------------------------------------------------------
 *
 * VMXT_GUEST(name, setup, insn, tail) defines guest code in the program:
 *
 *	name:      setup
 *	name_insn: insn		the instruction under test
 *	name_end:  tail		what runs when it did not exit
 *	name_done: VMCALL
 *
 * so an exit at the instruction has GUEST_RIP = name_insn and length
 * name_end - name_insn, and a guest whose instruction did not exit ends in
 * a VMCALL exit at name_done.
 */
#define VMXT_GUEST(name, setup, insn, tail)                            \
	__asm__(".pushsection .text.vmxt_guest, \"ax\"\n"              \
		".p2align 4\n"                                         \
		".globl " #name "\n" #name ":\n\t" setup "\n"          \
		".globl " #name "_insn\n" #name "_insn:\n\t" insn "\n" \
		".globl " #name "_end\n" #name "_end:\n\t" tail "\n"   \
		".globl " #name "_done\n" #name "_done:\n\t"           \
		"vmcall\n\t"                                           \
		"ud2\n"                                                \
		".popsection");                                        \
	extern const char name[], name##_insn[], name##_end[], name##_done[]

/* A guest that only executes VMCALL (exit reason 18 at its first byte). */
extern const char vmxt_guest_vmcall[];

/* What the guest's exception handlers saw (vector ~0 when none ran); each
 * handler ends in a VMCALL. */
struct vmxt_guest_exc {
	uint64_t vector;
	uint64_t error_code; /* ~0 for a vector without one */
	uint64_t rip; /* the return address in the frame */
};
extern volatile struct vmxt_guest_exc vmxt_guest_exc;

/* The guest IDT: vectors 0-31 and 0x30 are interrupt gates to the
 * handlers above; vmxt_guest_idt_gate_present() flips one gate's P bit. */
void vmxt_guest_idt_gate_present(unsigned int vector, bool present);
void vmxt_guest_exc_reset(void);

/* A 4 KiB guest data page for tests to aim accesses at. */
extern uint8_t vmxt_guest_data[VMXT_PAGE];

/* ---- EPT --------------------------------------------------------------------
 *
 * An identity map of [0, 1 GiB) with 2-MiB pages, read/write/execute, WB;
 * vmxt_ept_page() gives one 4-KiB page its own leaf entry (its 2-MiB
 * region is split into 4-KiB pages, up to 4 regions).
 */
void vmxt_ept_build(void);
uint64_t vmxt_eptp(void);
/* Turns EPT on in the current VMCS (secondary control + EPT pointer). */
void vmxt_ept_enable(void);
/* Sets the leaf entry of the 4-KiB page at @gpa to @entry (flags and
 * memory type; the address is filled in for an identity map), INVEPT. */
void vmxt_ept_page(uint64_t gpa, uint64_t flags);
/* Restores every split page to read/write/execute WB, INVEPT. */
void vmxt_ept_reset(void);

#endif /* NESTVM_TESTS_VMX_LIB_H */
