/* SPDX-License-Identifier: MIT */
/*
 * cpu.h - the model's internal vCPU state and the inline fast paths every
 * instruction handler uses: register access, flags, and guest-linear memory
 * access through the software TLB. Model side only; the monitor sees
 * vtx/vtx.h and nothing here.
 *
 * Instruction execution follows Intel SDM Vol. 1 ch. 3-7 and Vol. 2;
 * faults are precise (SDM Vol. 3A 6.5): a handler performs every access that
 * can fault before it changes architectural state, and a fault longjmps back
 * to the run loop with RIP still at the faulting instruction.
 */
#ifndef NESTVM_VTX_CPU_H
#define NESTVM_VTX_CPU_H

#include <setjmp.h>
#include <stdatomic.h>
#include <string.h>

#include "arch/types.h"
#include "arch/vmcs.h"
#include "arch/x86_regs.h"
#include "arch/x86_paging.h"
#include "vtx/lapic.h"
#include "vtx/vmx.h"
#include "vtx/vtx.h"

#define likely(x) __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)

struct vtx_cpu;
struct vtx_insn;

/* A handler executes one decoded instruction. */
typedef void (*vtx_handler_fn)(struct vtx_cpu *c, const struct vtx_insn *i);

/* GPR numbers: 0..15 as in ModRM/REX; byte registers AH, CH, DH, BH (only
 * without REX) are 16..19; VTX_REG_NONE marks an absent base/index and
 * VTX_REG_RIP a RIP-relative base. */
enum {
	REG_RAX,
	REG_RCX,
	REG_RDX,
	REG_RBX,
	REG_RSP,
	REG_RBP,
	REG_RSI,
	REG_RDI,
	REG_R8,
	REG_R9,
	REG_R10,
	REG_R11,
	REG_R12,
	REG_R13,
	REG_R14,
	REG_R15,
	REG_AH = 16,
	REG_CH,
	REG_DH,
	REG_BH,
	VTX_REG_RIP = 0xfe,
	VTX_REG_NONE = 0xff,
};

enum { SEG_ES, SEG_CS, SEG_SS, SEG_DS, SEG_FS, SEG_GS, SEG_NR };

/* One pre-decoded instruction (decoded once, executed many times). */
struct vtx_insn {
	vtx_handler_fn fn;
	uint8_t len; /* bytes */
	uint8_t osz; /* operand size in bytes: 1, 2, 4, 8 */
	uint8_t asz; /* address size in bytes: 4 or 8 (2 in 16-bit modes) */
	uint8_t rep; /* 0, VTX_REP (F3) or VTX_REPNE (F2) */
	uint8_t r1, r2; /* register operands (destination, source) */
	uint8_t seg; /* segment of the memory operand, SEG_* */
	uint8_t base, index, scale; /* memory operand, scale as a shift 0..3 */
	uint8_t cc; /* condition code for Jcc/SETcc/CMOVcc, or a sub-op */
	uint8_t osz2; /* source size for MOVZX/MOVSX, or a second size */
	uint8_t flags; /* VTX_INSN_* */
	uint16_t mnemonic; /* ZydisMnemonic, for counters and reports */
	int64_t disp;
	uint64_t imm;
};

#define VTX_REP 1
#define VTX_REPNE 2

#define VTX_INSN_ENDS_BLOCK 0x01 /* control transfer or state change */
#define VTX_INSN_HAS_MEM 0x02

/*
 * A cached successor of a block (vtx/run.c): the block that a full lookup
 * at `rip` returned when the fetch context (mode, user or supervisor) was
 * `ctx` and the fetch generation was `gen`. While the generation has not
 * moved, a lookup at the same RIP in the same context returns the same
 * block with no side effect, so the run loop may skip it.
 */
struct vtx_chain {
	uint64_t rip;
	uint64_t gen;
	struct vtx_block *to;
	uint32_t ctx;
};

/* A decoded block: up to VTX_BLOCK_MAX instructions from one page. */
#define VTX_BLOCK_MAX 32
struct vtx_block {
	uint64_t pa; /* physical address of the first byte */
	uint64_t pa_last; /* physical address of the last byte's page */
	uint32_t mode; /* the fetch mode it was decoded for */
	uint32_t n;
	struct vtx_insn *insns;
	/* successors: [0] where execution falls through or a branch is not
	 * taken, [1] the last other target seen */
	struct vtx_chain next[2];
};

/* Soft TLB: direct-mapped, one array per access kind. A tag is the
 * page-aligned linear address | the flush generation in bits 11:1 |
 * VTX_TLB_USER for CPL 3 accesses; an empty entry has tag VTX_TLB_EMPTY (a
 * non-canonical value nothing can match). A flush moves the generation,
 * which retires every entry at once; only when the 11 bits wrap are the
 * tags rewritten (vtx/tlb.c). A VM entry or exit with VPIDs switches to
 * the generation of the context it enters when that one may be taken
 * back (struct vtx_soft_ctx), else to a new one. */
#define VTX_TLB_BITS 8
#define VTX_TLB_SIZE (1u << VTX_TLB_BITS)
#define VTX_TLB_USER 1ull
#define VTX_TLB_GEN_SHIFT 1
#define VTX_TLB_GEN_MAX 0x7ffu
#define VTX_TLB_EMPTY 0x8000000000000001ull
enum { TLB_READ, TLB_WRITE, TLB_EXEC, TLB_KINDS };
struct vtx_tlb_entry {
	uint64_t tag;
	uint8_t *host; /* host address of the page */
};

/*
 * A translation context the soft TLB may return to with its generation:
 * everything its entries' outcome depends on (vtx_tlb_get_ctx()'s tags,
 * the control registers and EFER), and the generation its entries carry
 * (0: none). A nested round trip leaves L1's context for L2's and comes
 * back; with VPIDs the architectural TLB keeps both (SDM Vol. 3C
 * 29.4.3.1), and so, while it provably still holds them, does the soft
 * TLB (vtx/tlb.c).
 */
#define VTX_SOFT_CTXS 4
struct vtx_soft_ctx {
	uint64_t cr0, cr3, cr4, efer, ept, vpid_proc2;
	uint64_t gen;
};

/* Access kinds for the page walk. */
enum vtx_access { ACC_READ = 0, ACC_WRITE = 1, ACC_EXEC = 2 };

/*
 * The architectural TLB behind the soft one (vtx/tlb.c): translations as
 * the SDM lets a processor cache them (Vol. 3A 4.10.2, Vol. 3C 29.4),
 * tagged with the VPID, the PCID and, for combined mappings, the EP4TA.
 * Direct-mapped on a hash of (page, VPID, EP4TA); a fill evicts whatever
 * held its slot. A page of any size is cached per 4-KiB piece, with the
 * size kept for INVLPG.
 */
#define VTX_ATLB_BITS 10
#define VTX_ATLB_SIZE (1u << VTX_ATLB_BITS)
#define VTX_ATLB_EMPTY (~0ull)
/* The rights of a translation (SDM 4.10.2.2), checked on every use. */
#define XL_W 0x01 /* writable at every level */
#define XL_U 0x02 /* user at every level */
#define XL_NX 0x04 /* execute-disable at some level */
#define XL_G 0x08 /* global (CR4.PGE and the leaf's G) */
#define XL_D 0x10 /* dirty: a write needs no walk to set D flags */
#define XL_ER 0x20 /* EPT read, write, execute of the final access */
#define XL_EW 0x40
#define XL_EX 0x80
struct vtx_atlb_entry {
	uint64_t vpn; /* linear address >> 12, or VTX_ATLB_EMPTY */
	uint64_t ept; /* EP4TA | 1 for a combined mapping, else 0 */
	uint64_t frame; /* (host-)physical address of the 4-KiB piece */
	uint16_t vpid, pcid;
	uint8_t rights; /* XL_* */
	uint8_t shift; /* page size: 12, 21, 22 or 30 */
	uint32_t epoch; /* VPID 0 only: valid while it is atlb_vpid0_epoch */
};

#define VTX_UNIMPL_MAX 64

struct vtx_machine {
	uint8_t *ram;
	uint64_t ram_size;
	uint8_t *code_page; /* one byte per 4K page: decoded code lives there */
	struct vtx_platform_ops ops;
	void *opaque;
	struct vtx_cpu *cpu;
};

struct vtx_cpu {
	/* hot state first */
	uint64_t gpr[16];
	uint64_t rip; /* the executing instruction */
	uint64_t next_rip; /* where execution continues after it */
	uint64_t rflags;
	int cpl;
	uint8_t *ram;
	uint64_t ram_size;
	struct vtx_tlb_entry tlb[TLB_KINDS][VTX_TLB_SIZE];
	uint64_t tlb_gen_tag; /* the generation, in tag position (1..max) */
	uint32_t async; /* non-zero: leave the block after this insn */
	/* vtx_cpu_request_stop(), maybe from a signal handler: a lock-free
	 * atomic is the only state such a handler may write (C11 7.14.1.1).
	 * The run loop reads it once per block (vtx/run.c). */
	atomic_bool host_stop;
	/* Modeled cycles (vtx/cost.c): the run loop adds cost.insn per
	 * retired instruction, event paths their cost. The guest TSC is
	 * tsc + tsc_adjust (+ the TSC offset in non-root). */
	uint64_t tsc;
	struct vtx_cost_profile cost;
	uint64_t insn_budget; /* 0: unlimited */

	struct kvm_segment seg[SEG_NR];
	struct kvm_segment tr, ldt;
	struct kvm_dtable gdt, idt;
	uint64_t cr0, cr2, cr3, cr4, cr8, efer;
	uint64_t dr[8];
	uint64_t star, lstar, cstar, sfmask, kernel_gs_base, tsc_aux, pat;
	uint64_t apic_base, feature_control, sysenter_cs, sysenter_esp;
	uint64_t sysenter_eip, misc_enable;
	uint64_t tsc_adjust; /* WRMSR to IA32_TSC moves it, not the clock */
	uint64_t cost_mark; /* tsc when the current root/non-root run began */
	uint32_t mode; /* fetch mode: VTX_MODE_* */

	/* state of the run loop */
	jmp_buf fault_jmp;
	bool in_run;
	bool stop_requested;
	bool flush_pending; /* decoded code was invalidated: flush at the
			       next block boundary */
	bool halted;
	bool budget_hit;
	bool host_stopped; /* this run ended on host_stop */
	uint64_t stop_at; /* stats.insns value at which to stop */
	/* Events (vtx/events.c). The run loop's fast path tests only
	 * check_at = min(stop_at, event_at), the instruction count at which
	 * a timer deadline or MTF needs a look, and async; event_req asks
	 * for the event check at the next block boundary. */
	uint64_t check_at;
	uint64_t event_at;
	bool event_req;
	bool nmi_pending; /* an NMI waits for delivery */
	/* INIT and SIPI (vtx/events.c). INIT waits while blocked (VMX root
	 * operation, the wait-for-SIPI state); with VMX off the model has
	 * no INIT reset and stops for good (init_stopped). A SIPI is kept
	 * only in the wait-for-SIPI state, which holds halted as well. */
	bool init_pending;
	bool init_stopped;
	bool wait_sipi; /* VMX non-root, activity state wait-for-SIPI */
	bool sipi_pending;
	uint8_t sipi_vector;
	bool nmi_blocked; /* NMI (or, in VMX non-root with virtual NMIs,
			     virtual-NMI) blocking until IRET (SDM 6.7.1) */
	bool host_nmi_blocked; /* the VMX host's, across non-root */
	/* The executing IRET removed (virtual-)NMI blocking: a VM exit for
	 * a fault it raises reports it (SDM 28.2.2, 28.2.1 Table 28-7);
	 * cleared when the IRET retires or its fault is handled. */
	bool iret_unblocked_nmi;
	bool mtf_pending; /* an MTF VM exit at the next boundary */
	uint64_t mtf_mark; /* stats.insns at VM entry (MTF) */
	uint64_t preempt_deadline; /* c->tsc when the VMX-preemption
				      timer reaches 0 */
	struct vtx_lapic lapic;
	uint64_t stop_rip; /* the last instruction that ran */
	bool sti_shadow; /* interrupts inhibited for one instruction */
	bool mov_ss_shadow; /* ... and the inhibition comes from MOV SS */
	bool shadow_armed; /* the shadow covers the next instruction only */
	struct vtx_stop *stop;
	/* exception delivery state, for the double-fault rules (SDM 6.15) */
	int delivering; /* vector being delivered, -1 if none */
	int pend_vector; /* raised by vtx_raise(), handled by the run loop */
	uint32_t pend_error;
	bool pend_has_error;
	uint64_t pend_cr2; /* a #PF's address: CR2 once it is delivered */
	uint32_t delivering_error; /* error code of the event in delivery */
	uint32_t delivering_type; /* its INTR_TYPE_* (already shifted) */
	uint32_t delivering_len; /* instruction length of a software event */
	bool delivering_has_error;
	bool shutdown; /* triple fault: the CPU stopped */
	int fault_depth;
	char fault_chain[192];

	struct vtx_machine *m;
	struct vtx_cpu_stats stats;
	struct vtx_unimpl unimpl[VTX_UNIMPL_MAX];
	size_t nr_unimpl;

	/* VMX (vtx/vmx*.c) */
	struct vtx_vmx vmx;
	const char *vmx_check; /* the last VM-entry check that failed */
	uint32_t inject_info; /* event to inject at the next boundary */
	uint32_t inject_error, inject_len;
	bool vmexit_pending; /* a VM exit for the C host (vtx/vmx_api.c) */
	int api_entry; /* 1: VMLAUNCH, 2: VMRESUME requested by the C host */
	int api_status; /* its VMfail, if the entry failed */
	uint32_t last_exit_reason;

	/* the decoded-block cache (vtx/decode.c) */
	struct vtx_bcache *bc;
	/* Moves whenever a block lookup at a given RIP and fetch context
	 * could return another block or have a side effect: a cache flush,
	 * a block built, stale code, any change to the execute TLB. Block
	 * chaining (vtx/run.c) is valid only within one generation. */
	uint64_t fetch_gen;

	/* PAE paging: the four PDPTEs, loaded by MOV to CR0/CR3/CR4 and VM
	 * entry (SDM Vol. 3A 4.4.1), not re-read by walks. */
	uint64_t pdpte[4];
	/* the architectural TLB (vtx/tlb.c) */
	unsigned atlb_used; /* filled slots since the table was last empty */
	/* Every VM entry and exit without VPID drops VPID 0's translations
	 * (SDM Vol. 3C 29.4.3.1): moving this retires them all at once. */
	uint32_t atlb_vpid0_epoch;
	struct vtx_atlb_entry atlb[VTX_ATLB_SIZE];
	/* Soft-TLB generations kept across VM transitions (vtx/tlb.c). */
	struct vtx_soft_ctx soft_ctx[VTX_SOFT_CTXS];
	unsigned soft_ctx_next; /* the slot the next new context takes */
	uint64_t soft_floor; /* generations <= this are never taken back */
	uint64_t soft_gen_last; /* the newest generation handed out */
};

#define VTX_MODE_LONG64 1 /* CS.L = 1 in IA-32e mode */
#define VTX_MODE_COMPAT32 2 /* IA-32e mode, CS.L = 0, CS.D = 1 */
#define VTX_MODE_PROT32 3 /* CR0.PE = 1, CS.D = 1, not IA-32e */
#define VTX_MODE_PROT16 4 /* CR0.PE = 1, CS.D = 0, not IA-32e */
#define VTX_MODE_REAL 5 /* CR0.PE = 0: 16-bit code (vtx/exec_real.c) */
#define VTX_MODE_COMPAT16 6 /* IA-32e mode, CS.L = 0, CS.D = 0 */

/* Modes whose code has default operand and address size 16. */
static inline bool vtx_mode_is16(uint32_t mode)
{
	return mode == VTX_MODE_PROT16 || mode == VTX_MODE_REAL ||
	       mode == VTX_MODE_COMPAT16;
}

/* ---- size helpers --------------------------------------------------------- */

/*
 * A REP string instruction with iterations left, in VMX non-root with the
 * monitor trap flag: the iteration just done ends it for now (RIP stays
 * at the instruction, which resumes from RCX/RSI/RDI), and the MTF VM
 * exit follows at that boundary (SDM 26.5.2).
 */
static inline bool vtx_rep_mtf_break(struct vtx_cpu *c)
{
	if (__builtin_expect(c->vmx.non_root && (c->vmx.proc &
						 CPU_BASED_MONITOR_TRAP_FLAG),
			     0)) {
		c->next_rip = c->rip;
		return true;
	}
	return false;
}

static inline uint64_t size_mask(unsigned osz)
{
	return osz == 8 ? ~0ull : (1ull << (osz * 8)) - 1;
}

static inline uint64_t sign_bit(unsigned osz)
{
	return 1ull << (osz * 8 - 1);
}

static inline int64_t sext(uint64_t v, unsigned osz)
{
	switch (osz) {
	case 1:
		return (int8_t)v;
	case 2:
		return (int16_t)v;
	case 4:
		return (int32_t)v;
	default:
		return (int64_t)v;
	}
}

/* ---- registers ------------------------------------------------------------ */

static inline uint64_t reg_read(const struct vtx_cpu *c, unsigned r,
				unsigned osz)
{
	if (osz == 1 && r >= 16)
		return (c->gpr[r - 16] >> 8) & 0xff;
	return c->gpr[r] & size_mask(osz);
}

/* SDM Vol. 1 3.4.1.1: 32-bit writes zero-extend to 64 bits; 8- and 16-bit
 * writes leave the other bits alone. */
static inline void reg_write(struct vtx_cpu *c, unsigned r, unsigned osz,
			     uint64_t v)
{
	switch (osz) {
	case 1:
		if (r >= 16)
			c->gpr[r - 16] = (c->gpr[r - 16] & ~0xff00ull) |
					 ((v & 0xff) << 8);
		else
			c->gpr[r] = (c->gpr[r] & ~0xffull) | (v & 0xff);
		break;
	case 2:
		c->gpr[r] = (c->gpr[r] & ~0xffffull) | (v & 0xffff);
		break;
	case 4:
		c->gpr[r] = (uint32_t)v;
		break;
	default:
		c->gpr[r] = v;
		break;
	}
}

/* ---- flags ---------------------------------------------------------------- */

#define FLAGS_ARITH                                                      \
	(X86_EFLAGS_CF | X86_EFLAGS_PF | X86_EFLAGS_AF | X86_EFLAGS_ZF | \
	 X86_EFLAGS_SF | X86_EFLAGS_OF)

#if defined(__x86_64__)
/*
 * The host is an x86-64, and its own ADD, ADC, SUB, SBB and TEST of the
 * same operand size define the six arithmetic flags exactly as the SDM
 * does for the guest's instruction (cpu-diff checks the model against
 * that same host). One host instruction, then LAHF (SF, ZF, AF, PF and CF
 * in their RFLAGS bit positions) and SETO, replace a dozen masks and
 * compares per instruction, the larger part of an ADD's cost in the model.
 */
#define HOST_LAHF_MASK                                                   \
	(X86_EFLAGS_SF | X86_EFLAGS_ZF | X86_EFLAGS_AF | X86_EFLAGS_PF | \
	 X86_EFLAGS_CF)

/* op(a, b) with CF = cin first ("bt $0"); the result is discarded. */
#define HOST_FLAGS_ASM(op, sfx, mod, a, b, cin, ah, of)              \
	__asm__("btl $0, %k4\n\t" op sfx " %" mod "3, %" mod "2\n\t" \
		"lahf\n\t"                                           \
		"seto %b1"                                           \
		: "=&a"(ah), "=&q"(of), "+q"(a)                      \
		: "q"(b), "r"(cin)                                   \
		: "cc")

#define HOST_FLAGS_FN(name, op)                                           \
	static inline uint64_t name(uint64_t a, uint64_t b, unsigned osz, \
				    unsigned cin)                         \
	{                                                                 \
		uint32_t ah;                                              \
		uint8_t of;                                               \
		switch (osz) {                                            \
		case 1:                                                   \
			HOST_FLAGS_ASM(op, "b", "b", a, b, cin, ah, of);  \
			break;                                            \
		case 2:                                                   \
			HOST_FLAGS_ASM(op, "w", "w", a, b, cin, ah, of);  \
			break;                                            \
		case 4:                                                   \
			HOST_FLAGS_ASM(op, "l", "k", a, b, cin, ah, of);  \
			break;                                            \
		default:                                                  \
			HOST_FLAGS_ASM(op, "q", "q", a, b, cin, ah, of);  \
			break;                                            \
		}                                                         \
		return ((ah >> 8) & HOST_LAHF_MASK) |                     \
		       (of ? X86_EFLAGS_OF : 0);                          \
	}

HOST_FLAGS_FN(host_flags_adc, "adc")
HOST_FLAGS_FN(host_flags_sbb, "sbb")

static inline uint64_t flags_szp(uint64_t r, unsigned osz)
{
	/* TEST r, r: SF, ZF, PF of r; CF = OF = 0; AF is undefined and
	 * masked off (the model clears it). */
	return host_flags_adc(r, 0, osz, 0) &
	       (X86_EFLAGS_SF | X86_EFLAGS_ZF | X86_EFLAGS_PF);
}
#else
static inline uint64_t flags_szp(uint64_t r, unsigned osz)
{
	uint64_t f = 0;
	r &= size_mask(osz);
	if (!r)
		f |= X86_EFLAGS_ZF;
	if (r & sign_bit(osz))
		f |= X86_EFLAGS_SF;
	if (!__builtin_parity((unsigned)(r & 0xff)))
		f |= X86_EFLAGS_PF;
	return f;
}
#endif

static inline void flags_set_arith(struct vtx_cpu *c, uint64_t f)
{
	c->rflags = (c->rflags & ~(uint64_t)FLAGS_ARITH) | f;
}

/* The flag helpers return the six arithmetic flags; handlers commit them
 * with flags_set_arith() after the last access that can fault. */

/* r = a + b + carry_in */
static inline uint64_t flags_add(uint64_t a, uint64_t b, uint64_t r,
				 unsigned osz, unsigned cin)
{
#if defined(__x86_64__)
	(void)r;
	return host_flags_adc(a, b, osz, cin);
#else
	uint64_t m = size_mask(osz), f = flags_szp(r, osz);
	a &= m;
	b &= m;
	r &= m;
	if (r < a || (cin && r == a))
		f |= X86_EFLAGS_CF;
	if (((a ^ r) & (b ^ r)) & sign_bit(osz))
		f |= X86_EFLAGS_OF;
	if ((a ^ b ^ r) & 0x10)
		f |= X86_EFLAGS_AF;
	return f;
#endif
}

/* r = a - b - borrow_in */
static inline uint64_t flags_sub(uint64_t a, uint64_t b, uint64_t r,
				 unsigned osz, unsigned bin)
{
#if defined(__x86_64__)
	(void)r;
	return host_flags_sbb(a, b, osz, bin);
#else
	uint64_t m = size_mask(osz), f = flags_szp(r, osz);
	a &= m;
	b &= m;
	r &= m;
	if (a < b || (bin && a == b))
		f |= X86_EFLAGS_CF;
	if (((a ^ b) & (a ^ r)) & sign_bit(osz))
		f |= X86_EFLAGS_OF;
	if ((a ^ b ^ r) & 0x10)
		f |= X86_EFLAGS_AF;
	return f;
#endif
}

/* AND/OR/XOR/TEST: CF = OF = 0; AF undefined, the model clears it. */
static inline uint64_t flags_logic(uint64_t r, unsigned osz)
{
	return flags_szp(r, osz);
}

/* SDM Vol. 1 Appendix B: the condition codes. */
static inline bool cond_true(uint64_t fl, unsigned cc)
{
	bool r;
	switch (cc >> 1) {
	case 0: /* O */
		r = fl & X86_EFLAGS_OF;
		break;
	case 1: /* B/C */
		r = fl & X86_EFLAGS_CF;
		break;
	case 2: /* Z/E */
		r = fl & X86_EFLAGS_ZF;
		break;
	case 3: /* BE */
		r = fl & (X86_EFLAGS_CF | X86_EFLAGS_ZF);
		break;
	case 4: /* S */
		r = fl & X86_EFLAGS_SF;
		break;
	case 5: /* P */
		r = fl & X86_EFLAGS_PF;
		break;
	case 6: /* L: SF != OF */
		r = !(fl & X86_EFLAGS_SF) != !(fl & X86_EFLAGS_OF);
		break;
	default: /* LE: ZF or SF != OF */
		r = (fl & X86_EFLAGS_ZF) ||
		    (!(fl & X86_EFLAGS_SF) != !(fl & X86_EFLAGS_OF));
		break;
	}
	return r ^ (cc & 1);
}

/* ---- faults (vtx/exception.c) --------------------------------------------- */

/* Raise an exception from inside an instruction: never returns. */
__attribute__((noreturn)) void vtx_raise(struct vtx_cpu *c, int vector,
					 uint32_t error_code, bool has_error);
__attribute__((noreturn)) static inline void raise_gp(struct vtx_cpu *c,
						      uint32_t ec)
{
	vtx_raise(c, GP_VECTOR, ec, true);
}
__attribute__((noreturn)) static inline void raise_ud(struct vtx_cpu *c)
{
	vtx_raise(c, UD_VECTOR, 0, false);
}
/* The run loop's side of vtx_raise(): double-fault rules, delivery. */
void vtx_handle_fault(struct vtx_cpu *c);
/* Deliver an event at the current instruction boundary (vtx/exception.c). */
void vtx_deliver_event(struct vtx_cpu *c, int vector, uint32_t error_code,
		       bool has_error, bool software, uint64_t return_rip);

/* ---- memory (vtx/mmu.c) --------------------------------------------------- */

/* Translate a linear address (page walk, TLB fill); raises #PF. Returns the
 * host address of the byte. */
uint8_t *vtx_translate_slow(struct vtx_cpu *c, uint64_t la, int acc);
/* The TLB operations (vtx/tlb.c, vtx/paging.h has the rest). */
void vtx_tlb_flush(struct vtx_cpu *c); /* everything, every context */
void vtx_soft_tlb_flush(struct vtx_cpu *c); /* the host-pointer cache */
/* Linear accesses that may cross a page. */
void vtx_read_slow(struct vtx_cpu *c, uint64_t la, void *dst, unsigned n);
void vtx_write_slow(struct vtx_cpu *c, uint64_t la, const void *src,
		    unsigned n);
/* Implicit supervisor accesses: descriptor tables, TSS, event frames. */
void vtx_read_sys(struct vtx_cpu *c, uint64_t la, void *dst, unsigned n);
void vtx_write_sys(struct vtx_cpu *c, uint64_t la, const void *src, unsigned n);
/* Mark decoded code on host-physical [pa, pa + len) stale. */
void vtx_code_write(struct vtx_machine *m, uint64_t pa, uint64_t len);

/* Guest-physical addresses go through EPT (VMX non-root, "enable EPT"). */
static inline bool ept_active(const struct vtx_cpu *c)
{
	return c->vmx.non_root && (c->vmx.proc2 & SECONDARY_EXEC_ENABLE_EPT);
}

static inline uint64_t tlb_tag(const struct vtx_cpu *c, uint64_t la)
{
	return (la & PAGE_MASK) | c->tlb_gen_tag |
	       (c->cpl == 3 ? VTX_TLB_USER : 0);
}

static inline uint8_t *tlb_hit(struct vtx_cpu *c, uint64_t la, int kind)
{
	struct vtx_tlb_entry *e =
		&c->tlb[kind][(la >> PAGE_SHIFT) & (VTX_TLB_SIZE - 1)];
	if (likely(e->tag == tlb_tag(c, la)))
		return e->host + (la & (PAGE_SIZE - 1));
	return NULL;
}

/* Linear address of a segment-relative offset. In 64-bit mode only FS and
 * GS add a base (SDM Vol. 3A 3.2.4); the model checks canonical form when
 * it translates. */
static inline uint64_t seg_linear(const struct vtx_cpu *c, unsigned seg,
				  uint64_t off)
{
	if (c->mode == VTX_MODE_LONG64)
		return seg >= SEG_FS ? off + c->seg[seg].base : off;
	return (uint32_t)(off + c->seg[seg].base);
}

/* An n-byte little-endian value (n <= 8) at a host address. The sizes
 * instructions use get a copy of constant size, a single move: a copy of
 * run-time size becomes a generic memcpy, slower than the rest of a MOV. */
static inline uint64_t host_load(const uint8_t *p, unsigned n)
{
	uint64_t v = 0;
	uint32_t d;
	uint16_t w;

	switch (n) {
	case 1:
		return *p;
	case 2:
		memcpy(&w, p, 2);
		return w;
	case 4:
		memcpy(&d, p, 4);
		return d;
	case 8:
		memcpy(&v, p, 8);
		return v;
	default:
		memcpy(&v, p, n);
		return v;
	}
}

static inline void host_store(uint8_t *p, unsigned n, uint64_t v)
{
	uint32_t d = (uint32_t)v;
	uint16_t w = (uint16_t)v;

	switch (n) {
	case 1:
		*p = (uint8_t)v;
		break;
	case 2:
		memcpy(p, &w, 2);
		break;
	case 4:
		memcpy(p, &d, 4);
		break;
	case 8:
		memcpy(p, &v, 8);
		break;
	default:
		memcpy(p, &v, n);
		break;
	}
}

static inline uint64_t mem_load(struct vtx_cpu *c, uint64_t la, unsigned n)
{
	uint8_t *p;
	uint64_t v = 0;
	if (likely(((la & (PAGE_SIZE - 1)) + n) <= PAGE_SIZE) &&
	    likely((p = tlb_hit(c, la, TLB_READ)) != NULL))
		return host_load(p, n);
	vtx_read_slow(c, la, &v, n);
	return v;
}

static inline void mem_store(struct vtx_cpu *c, uint64_t la, unsigned n,
			     uint64_t v)
{
	uint8_t *p;
	if (likely(((la & (PAGE_SIZE - 1)) + n) <= PAGE_SIZE) &&
	    likely((p = tlb_hit(c, la, TLB_WRITE)) != NULL)) {
		host_store(p, n, v);
		return;
	}
	vtx_write_slow(c, la, &v, n);
}

/* Translate for a read-modify-write: one write translation serves both. */
static inline uint8_t *mem_rmw_ptr(struct vtx_cpu *c, uint64_t la, unsigned n)
{
	uint8_t *p;
	if (likely(((la & (PAGE_SIZE - 1)) + n) <= PAGE_SIZE)) {
		p = tlb_hit(c, la, TLB_WRITE);
		if (likely(p != NULL))
			return p;
		return vtx_translate_slow(c, la, ACC_WRITE);
	}
	return NULL; /* crosses a page: callers use the slow path */
}

/* Effective address of the instruction's memory operand (offset only). */
static inline uint64_t insn_ea(const struct vtx_cpu *c,
			       const struct vtx_insn *i)
{
	uint64_t ea = (uint64_t)i->disp;
	if (i->base == VTX_REG_RIP)
		ea += c->next_rip;
	else if (i->base != VTX_REG_NONE)
		ea += c->gpr[i->base];
	if (i->index != VTX_REG_NONE)
		ea += c->gpr[i->index] << i->scale;
	if (i->asz == 4)
		ea = (uint32_t)ea;
	else if (i->asz == 2)
		ea = (uint16_t)ea;
	return ea;
}

/*
 * Outside 64-bit mode: the linear address of an n-byte access at offset
 * `off` of segment `seg`, after the checks of SDM Vol. 3A 5.3 (an unusable
 * segment, the limit, expand-down) that raise #SS(0) through SS and #GP(0)
 * otherwise (vtx/exec_ctl.c).
 */
uint64_t vtx_seg_check(struct vtx_cpu *c, unsigned seg, uint64_t off,
		       unsigned n);

static inline uint64_t insn_la(struct vtx_cpu *c, const struct vtx_insn *i)
{
	uint64_t ea = insn_ea(c, i), la;

	/* The same one mode test as seg_linear(): 64-bit code pays nothing
	 * for the segmentation of the other modes. */
	if (unlikely(c->mode != VTX_MODE_LONG64))
		return vtx_seg_check(c, i->seg, ea, i->osz);
	la = i->seg >= SEG_FS ? ea + c->seg[i->seg].base : ea;
	/* A non-canonical reference through SS (an RSP- or RBP-based
	 * operand) is #SS(0), not #GP(0) (SDM Vol. 3A 6.15). */
	if (unlikely(i->seg == SEG_SS) &&
	    (uint64_t)((int64_t)(la << 16) >> 16) != la)
		vtx_raise(c, SS_VECTOR, 0, true);
	return la;
}

/* ---- stack ---------------------------------------------------------------- */

static inline void push64(struct vtx_cpu *c, uint64_t v)
{
	uint64_t rsp = c->gpr[REG_RSP] - 8;
	mem_store(c, seg_linear(c, SEG_SS, rsp), 8, v);
	c->gpr[REG_RSP] = rsp;
}

static inline uint64_t pop64(struct vtx_cpu *c)
{
	uint64_t v = mem_load(c, seg_linear(c, SEG_SS, c->gpr[REG_RSP]), 8);
	c->gpr[REG_RSP] += 8;
	return v;
}

/* ---- the cost model (vtx/cost.c) ------------------------------------------- */

/* An instruction of class `cost` (a vtx_cost_profile member) replaces the
 * base CPI the run loop adds when it retires; unsigned wrap-around makes
 * the sum exact whatever the two values are. */
#define cost_charge_insn(c, member) \
	((c)->tsc += (c)->cost.member - (c)->cost.insn)

/* An event inside the current run (walk steps, event delivery). */
static inline void cost_charge(struct vtx_cpu *c, uint64_t cycles)
{
	c->tsc += cycles;
}

/* A VM entry or exit, or an operation of the C host: charged to its own
 * bucket, after the run under way is closed into root or non-root. */
void vtx_cost_charge_outside(struct vtx_cpu *c, uint64_t *bucket,
			     uint64_t cycles);
/* Closes the run under way into root or non-root (before the level
 * changes). */
void vtx_cost_close_run(struct vtx_cpu *c);

/* ---- internal entry points ------------------------------------------------ */

/* vtx/decode.c */
int vtx_bcache_create(struct vtx_cpu *c);
void vtx_bcache_destroy(struct vtx_cpu *c);
void vtx_bcache_flush(struct vtx_cpu *c);
struct vtx_block *vtx_block_lookup(struct vtx_cpu *c);
/* Record an instruction the model does not implement (raises nothing). */
void vtx_note_unimplemented(struct vtx_cpu *c, uint64_t rip,
			    const uint8_t *bytes, unsigned len,
			    const char *mnemonic);

/* vtx/machine.c: recompute cached mode/CPL after a state change. */
void vtx_update_mode(struct vtx_cpu *c);

/* Stop the run loop after this instruction. */
static inline void vtx_request_stop(struct vtx_cpu *c)
{
	c->stop_requested = true;
	c->async = 1;
}

#endif
