/* SPDX-License-Identifier: MIT */
/*
 * bt.h - L0's binary translator for 64-bit guest kernel code (Adams &
 * Agesen, ASPLOS'06, section 3): basic blocks translated on demand into a
 * translation cache (TC), IDENT instructions copied, PC-relative operands
 * and control flow rewritten, privileged instructions turned into VMCALL
 * callouts, chaining, coherence; and the callout loop that runs the TC in
 * a VMX non-root container (docs/design/bt.md). Monitor side.
 */
#ifndef NESTVM_L0_BT_BT_H
#define NESTVM_L0_BT_BT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "arch/types.h"
#include "vtx/vtx.h"

/* The hidden linear range of the TC: the top 1 GiB (PML4 slot 511, PDPT
 * slot 511), reachable by a sign-extended disp32 (docs/design/bt.md). */
#define BT_TC_GVA 0xffffffffc0000000ull

/*
 * The vCPU page, the first 4 KiB of the TC range: virtual CPU state that
 * translated code reads and writes with absolute MOVs and L0 reads and
 * writes at callouts. Offsets:
 *
 *	+0x00	u8	virtual RFLAGS.IF (1: interrupts enabled)
 *	+0x01	u8	a virtual interrupt is pending (never set yet: no
 *			interrupt reaches a guest under BT)
 *	+0x08	u64	virtual CR8 (TPR)
 *	+0x10	u64	scratch of the in-TC sequences: RAX, RCX, the
 *	+0x18		arithmetic flags (LAHF + SETO), an operand, a
 *	+0x20...0x4f	jump target, RSP, a one-slot stack for POPFQ
 *	+0x7f8	3 B	VMCALL: where an empty return-table entry jumps
 *	+0x800	2 KiB	the return table: 128 x { guest return address,
 *			TC address }, indexed by bits 10:4 of (address << 4)
 */
#define BT_VCPU_PAGE 4096u
#define BT_VCPU_VIF 0x00u
#define BT_VCPU_PENDING 0x01u
#define BT_VCPU_CR8 0x08u
#define BT_VCPU_RAX 0x10u
#define BT_VCPU_RCX 0x18u
#define BT_VCPU_FLAGS 0x20u
#define BT_VCPU_OPND 0x28u
#define BT_VCPU_JMP 0x30u
#define BT_VCPU_RSP 0x38u
#define BT_VCPU_STACK 0x48u /* POPFQ's slot; RSP = +0x50 pushes here */
#define BT_VCPU_BADRET 0x7f8u
#define BT_VCPU_RETTAB 0x800u
#define BT_RETTAB_ENTRIES 128u
/* An empty entry: a non-canonical key no RET can return to. */
#define BT_RETTAB_EMPTY 0x8000000000000000ull

/* Instructions per block at most; a block also ends at the page end. */
#define BT_BLOCK_MAX_INSNS 32

/* What a VMCALL in the TC stands for. */
#define BT_CALLOUT_KINDS(X)                                       \
	X(EXIT, "block exit to an untranslated target")           \
	X(RET, "RET: a miss in the return table")                 \
	X(JMP_IND, "indirect JMP")                                \
	X(CALL_IND, "indirect CALL")                              \
	X(PUSHF, "PUSHFQ with the virtual IF")                    \
	X(POPF, "POPFQ: TF, or IF set with an interrupt pending") \
	X(CPUID, "CPUID")                                         \
	X(RDTSC, "RDTSC from the virtual TSC")                    \
	X(HLT, "HLT")                                             \
	X(IO, "IN/OUT to L0's devices")                           \
	X(MOV_CR, "MOV CR0/2/3/4; CR8 writes of bits 63:4")       \
	X(INT, "INT n, INT3, IRETQ, SYSRETQ")                     \
	X(DESC, "LGDT, LIDT, LTR, LLDT")                          \
	X(MSR, "RDMSR, WRMSR")                                    \
	X(INVLPG, "INVLPG")                                       \
	X(WBINVD, "WBINVD, INVD")                                 \
	X(VMX, "a VMX instruction (not under the software VMM)")  \
	X(UNIMPL, "an instruction the translator does not handle")

enum bt_callout_kind {
#define BT_KIND_ENUM(name, what) BT_CALLOUT_##name,
	BT_CALLOUT_KINDS(BT_KIND_ENUM)
#undef BT_KIND_ENUM
		BT_NR_CALLOUT_KINDS
};

const char *bt_callout_kind_name(enum bt_callout_kind kind);

/* A callout: the VMCALL at TC offset tc_off and what it stands for. */
struct bt_site {
	uint32_t tc_off;
	enum bt_callout_kind kind;
	uint64_t guest_rip; /* the guest instruction (EXIT: the branch) */
	uint64_t guest_next; /* the guest instruction after it */
	uint64_t target; /* EXIT: the guest address to continue at */
	uint32_t patch_off; /* EXIT: the rel32 to patch when chaining */
	bool chained; /* EXIT: patch_off now jumps to target's block */
};

/* How the translator reaches the guest: reads of guest code and data by
 * linear address (0 or -EFAULT), writes of guest data, and the
 * write-protection of a page translations were made from. */
struct bt_guest_ops {
	int (*read)(void *opaque, uint64_t gva, void *buf, size_t len);
	int (*write)(void *opaque, uint64_t gva, const void *buf, size_t len);
	void (*protect)(void *opaque, uint64_t gva_page, bool wp);
	/* Port I/O to L0's devices: VTX_PIO_DONE or VTX_PIO_STOP. */
	int (*pio)(void *opaque, struct vtx_pio *io);
	/*
	 * Optional: a #PF exit at linear gva with error code *ec, of the
	 * guest instruction at guest_rip, offered to L0's MMU first (the
	 * shadow MMU under --vmm bt). 0: resolved, the guest continues at
	 * *resume (after an emulated store, the next instruction); 1: the
	 * guest's own fault, delivered with *ec; -1: the run stops (why in
	 * the opaque's own state). NULL: every #PF is the guest's.
	 */
	int (*page_fault)(void *opaque, uint64_t gva, uint32_t *ec,
			  uint64_t guest_rip, uint64_t *resume);
	/* Optional: the guest's CR3 when the container's is L0's own (a
	 * shadow root). NULL: the container's CR3 is the guest's. */
	uint64_t (*read_cr3)(void *opaque);
	/* Optional: the guest's MOV to CR3 (0, or -1 to stop the run) and
	 * INVLPG, for L0's MMU. NULL: the run stops at them. */
	int (*write_cr3)(void *opaque, uint64_t cr3);
	void (*invlpg)(void *opaque, uint64_t gva);
	/*
	 * Optional: what a callout other than a control transfer (EXIT,
	 * RET, JMP_IND, CALL_IND) does for this guest, before the
	 * translator's own emulation (enum bt_op_result). GPRs through
	 * cpu, RSP and RFLAGS in the container VMCS. NULL: the default.
	 */
	int (*exiting)(void *opaque, struct vtx_cpu *cpu,
		       const struct bt_site *site);
};

/* What the exiting op made of a callout. */
enum bt_op_result {
	BT_OP_DEFAULT, /* the translator's own emulation */
	BT_OP_DONE, /* emulated: continue after the VMCALL in the TC */
	BT_OP_DONE_NEXT, /* emulated: continue at the next guest insn */
	BT_OP_LEAVE, /* the run returns BT_STOP_LEAVE at the insn */
};

/* Modeled cycles the software VMM charges on top of what the model
 * charges for running the TC (docs/design/bt.md). */
struct bt_costs {
	uint64_t translate_insn; /* per guest instruction translated */
	uint64_t callout; /* per callout into L0, emulation included */
	/* per exception L0 takes from the guest (a SYSCALL's #UD, a guest
	 * fault reflected, a write to translated code) */
	uint64_t trap;
};

struct bt_config {
	struct vtx_machine *m;
	struct bt_costs costs;
	hpa_t tc_hpa; /* host-physical base of the TC range */
	uint64_t tc_gva; /* where the container maps it (BT_TC_GVA) */
	uint32_t tc_size; /* bytes, the vCPU page included, page multiple */
	/* A guest exception the translator would deliver through the
	 * guest's IDT instead ends the run with BT_STOP_LEAVE at the
	 * faulting instruction (L0 runs the guest on hardware from there). */
	bool leave_on_fault;
	/* MOV to and from CR8 are MOV_CR callouts instead of the virtual
	 * CR8's in-TC load and checked store: a nested guest's CR8 is
	 * decided by its hypervisor's VMCS (CR8-load/store exiting, SDM
	 * Vol. 3C 26.1.3), which the exiting op consults. */
	bool cr8_exits;
	const struct bt_guest_ops *ops;
	void *opaque;
};

struct bt_stats {
	uint64_t blocks; /* blocks translated */
	uint64_t insns; /* guest instructions translated */
	uint64_t tc_bytes; /* TC bytes in use now */
	uint64_t flushes; /* whole-TC flushes (full, or coherence) */
	uint64_t chains; /* branches made to jump block to block */
	uint64_t rip_rel; /* RIP-relative operands made absolute */
	/* sites emulated in the TC (CLI, STI, MOV CR8, RET, POPFQ) */
	uint64_t in_tc;
	uint64_t invalidations; /* guest writes to translated code pages */
	uint64_t callouts[BT_NR_CALLOUT_KINDS]; /* executed, by kind */
	uint64_t callouts_total;
	uint64_t guest_exceptions; /* delivered through the guest's IDT */
	uint64_t syscalls; /* SYSCALLs of guest user code entered the TC */
	uint64_t user_rdtsc; /* RDTSCs of user code read the virtual TSC */
	uint64_t cycles_translate; /* charged for translation */
	uint64_t cycles_callouts; /* charged for callouts */
	uint64_t cycles_traps; /* charged for exceptions L0 took */
};

struct bt_block;
struct bt_map;

struct bt {
	struct bt_config cfg;
	uint8_t *code; /* host copy of the TC, written through to the arena */
	uint32_t used; /* bytes of the TC in use, vCPU page included */
	struct bt_block *blocks;
	uint32_t nr_blocks, max_blocks;
	struct bt_map *map; /* TC offset -> guest RIP, ascending */
	uint32_t nr_map, max_map;
	struct bt_site *sites; /* ascending tc_off */
	uint32_t nr_sites, max_sites;
	int32_t *hash; /* guest RIP -> block index, -1 empty */
	uint32_t hash_size;
	uint64_t *pages; /* guest pages write-protected for coherence */
	uint32_t nr_pages, max_pages;
	struct bt_stats stats;
	bool launched; /* the container VMCS was entered once */
	/* After a write to translated code: the next block is the one
	 * instruction that wrote, translated without protecting its page,
	 * so that the write completes before the page is read again. */
	bool next_unprotected;
	/* The guest's SYSCALL MSRs and EFER.SCE are virtual: the container
	 * runs with EFER.SCE clear, so that a SYSCALL of guest user code
	 * (which runs directly) raises #UD and exits to L0. */
	uint64_t star, lstar, sfmask;
	bool sce;
	/* Stop once the model has retired this many instructions in the
	 * container (guest user code and the TC); 0: no budget. */
	uint64_t insn_limit;
	char err[256]; /* why the last call failed */
};

/* Sets up a translator on cfg's TC range (zeroed). 0, -EINVAL for a
 * range too small or outside the arena, -ENOMEM. */
int bt_init(struct bt *bt, const struct bt_config *cfg);
void bt_destroy(struct bt *bt);

/*
 * The TC linear address of the translation of guest_rip, translating the
 * block first if needed. 0, or -errno with bt->err set: -EFAULT (code not
 * readable), -ENOSPC (a block larger than the whole TC).
 */
int bt_translate(struct bt *bt, uint64_t guest_rip, uint64_t *tc_rip);

/* The callout whose VMCALL is at TC linear address tc_rip, or NULL. */
struct bt_site *bt_find_site(struct bt *bt, uint64_t tc_rip);

/* The guest RIP of the translated instruction that contains TC linear
 * address tc_rip (a fault inside the TC). false outside every block. */
bool bt_guest_rip(const struct bt *bt, uint64_t tc_rip, uint64_t *guest_rip);

/* Makes RETs to guest_rip find tc_rip in the return table (in-TC RET). */
void bt_rettab_fill(struct bt *bt, uint64_t guest_rip, uint64_t tc_rip);

/* Makes an EXIT site jump straight to tc_target from now on. */
void bt_chain(struct bt *bt, struct bt_site *site, uint64_t tc_target);

/* Drops every translation (counted in stats.flushes). */
void bt_flush(struct bt *bt);

/* A guest write hit the page at gva: true when translations were made
 * from it (then the TC was flushed and the page unprotected). */
bool bt_code_written(struct bt *bt, uint64_t gva);

enum bt_stop_reason {
	BT_STOP_HALTED, /* HLT with nothing that could wake it */
	BT_STOP_PLATFORM, /* a device asked to stop (VTX_PIO_STOP) */
	BT_STOP_UNIMPL, /* an instruction the software VMM does not handle */
	BT_STOP_EXIT, /* an exit or model stop bt_run() does not handle */
	BT_STOP_INSN_LIMIT, /* bt->insn_limit instructions retired */
	/* the exiting op or leave_on_fault handed the guest back to L0 at
	 * guest_rip, with the instruction there not executed */
	BT_STOP_LEAVE,
};

struct bt_stop {
	enum bt_stop_reason reason;
	uint64_t guest_rip; /* of the guest instruction that stopped it */
	uint32_t exit_reason; /* BT_STOP_EXIT: the container's exit */
	char why[256]; /* one line, for the user */
};

/*
 * Runs guest code from guest_rip under translation, on the container VMCS
 * that is current on cpu (docs/design/bt.md: CR3 maps the guest and the
 * TC, every exception in the exception bitmap), handling callouts,
 * coherence faults and the guest's own exceptions until the guest stops.
 * On return GUEST_RIP holds the guest RIP to continue at. 0 with *stop
 * filled in, or -errno (translation impossible: bt->err says why).
 */
int bt_run(struct bt *bt, struct vtx_cpu *cpu, uint64_t guest_rip,
	   struct bt_stop *stop);

/* The guest's TSC under the software VMM: the cycles spent running the
 * guest and its translations plus what the software VMM charged. */
uint64_t bt_virtual_tsc(const struct bt *bt, struct vtx_cpu *cpu);

/* Virtual state in the vCPU page. */
uint8_t bt_vcpu_read8(struct bt *bt, uint32_t off);
uint64_t bt_vcpu_read64(struct bt *bt, uint32_t off);
void bt_vcpu_write8(struct bt *bt, uint32_t off, uint8_t val);
void bt_vcpu_write64(struct bt *bt, uint32_t off, uint64_t val);

#endif
