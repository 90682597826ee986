/* SPDX-License-Identifier: MIT */
/*
 * shim.h - l1-shim, a small L1 hypervisor that runs one 64-bit guest
 * image as L2 with real VMX instructions: the state of that L2 and the
 * interfaces between l1-shim's parts (options and memory in main.c, L2's
 * boot contract in l2_boot.c, VMX operation and the VMCS in vmcs_setup.c,
 * EPT in ept.c, the shadow page tables of mmu=shadow in shadow.c, the exit
 * handlers in exit.c, L2's UART in uart.c). SDM Vol. 3C chapters 24-31.
 * l1-shim side (L1); freestanding. docs/l1-shim.md.
 */
#ifndef NESTVM_L1_SHIM_SHIM_H
#define NESTVM_L1_SHIM_SHIM_H

#include "arch/bootinfo.h"
#include "arch/types.h"
#include "arch/x86_regs.h"

#define L1_PFX "l1-shim: " /* every message l1-shim prints starts so */

/*
 * l1-shim's own exit statuses. L2's status (what it writes to the debug-
 * exit port) passes through unchanged; these follow nestvm's meanings
 * where nestvm has one (docs/user-guide.md, "Exit statuses").
 */
#define L1_EXIT_SETUP 125 /* bad option or L2 image, not enough memory */
#define L1_EXIT_L2_STOPPED 126 /* L2 triple-faulted or halted for good */
#define L1_EXIT_FATAL 0xfc /* VMX unusable, VM entry failed, EPT fault */
#define L1_EXIT_UNEXPECTED 0xfd /* an exit l1-shim does not handle */

#define CPUID_1_ECX_VMX (1u << 5) /* CPUID.01H:ECX.VMX (SDM 24.6) */

#define L2_MEM_DEFAULT MiB(16)
#define L2_VPID 1 /* L1 itself runs with VPID 0 */

/* How l1-shim translates L2's physical addresses (the mmu= option). */
enum l1_mmu {
	L1_MMU_EPT, /* EPT maps L2-physical to L1-physical (ept.c) */
	L1_MMU_SHADOW, /* no EPT: shadow page tables (shadow.c) */
};

/* What l1-shim's command line asked for (main.c). */
struct l1_options {
	enum l1_mmu mmu;
	uint64_t l2mem; /* bytes of L2 RAM */
	uint32_t exc_bitmap; /* exceptions to intercept and reflect */
	bool verbose; /* l1-shim's own progress messages */
	bool stats; /* RESULT lines per exit reason at the end */
	bool ept_lazy; /* map L2's last 2 MiB on demand, 4 KiB at a time */
	bool no_evmcs; /* VMREAD/VMWRITE even where an eVMCS is offered */
	const char *l2_cmdline; /* what follows "--"; never NULL */
};

/* The UART registers L2 can read back (uart.c). */
struct l1_uart {
	uint8_t ier, lcr, mcr, scr, fcr, dll, dlm;
};

/*
 * mmu=shadow: the shadow page tables, L2-linear -> L1-physical, that the
 * processor walks while L2 runs (GUEST_CR3 = root), and what l1-shim
 * keeps of L2's own paging state. The shadow behaves as a TLB in page-
 * table form: only its 4 KiB leaves carry what L2's tables said, the
 * tables above them are l1-shim's own and grant everything. Its pages
 * come from a fixed pool; pool[0] is the root and never moves.
 */
#define L1_SHADOW_POOL_PAGES 128

struct l1_shadow {
	uint64_t root; /* the shadow PML4, L1-physical */
	uint64_t pool[L1_SHADOW_POOL_PAGES]; /* L1-physical pages */
	uint64_t free_list; /* first free page; word 0 links the next */
	unsigned int nr_free; /* pages on the free list */
	unsigned int peak; /* most pages in use at once, root included */

	uint64_t guest_cr3; /* L2's CR3 as L2 wrote it (CR3 exits) */
	uint64_t cr4_shadow; /* L2's CR4 as L2 sees it (read shadow) */
	uint64_t rsvd_mask; /* physical-address bits above MAXPHYADDR */
	bool nxe; /* L2's EFER.NXE as the shadow was built with it */
	bool gbpages; /* CPUID.80000001H:EDX[26]: 1 GiB pages exist */

	uint64_t hidden_faults; /* #PF exits filled from L2's tables */
	uint64_t true_faults; /* #PF exits injected into L2 */
	uint64_t flushes; /* the whole shadow dropped (CR3, CR4, pool) */
	uint64_t invlpgs; /* INVLPG exits */
};

/* The one L2 l1-shim runs, and what the exit handlers need to know. */
struct l2_vm {
	/* L2's general registers while l1-shim runs, indexed by enum
	 * x86_gpr; the RSP slot is unused (l1-shim/entry.h). */
	uint64_t gprs[X86_NR_GPRS];
	const struct l1_options *opt;

	uint64_t base; /* L1-physical address of L2-physical 0 */
	uint64_t mem_size; /* L2 RAM: L2-physical [0, mem_size) */
	uint64_t entry; /* L2's e_entry */
	const char *image_name;

	uint64_t eptp;
	uint64_t ept_vpid_cap; /* IA32_VMX_EPT_VPID_CAP */
	uint16_t vpid; /* 0 when VPID is off */
	bool cr3_exiting; /* the processor forced CR3-load/store exiting */
	/* CR0 as L2 sees it (the read shadow), and the bits VMX fixes. */
	uint64_t cr0_shadow, cr0_fixed0, cr0_fixed1;
	uint64_t cr4_fixed0, cr4_fixed1; /* IA32_VMX_CR4_FIXED0/1 */
	/* L2's task-priority register: CR8 exits, so l1-shim keeps it, as
	 * a hypervisor without the TPR shadow does. */
	uint8_t tpr;
	/* ept-lazy: the EPT page table of L2's last 2 MiB chunk, filled on
	 * EPT violations, and the chunk's first L2-physical address. */
	uint64_t lazy_pt, lazy_start;
	bool launched; /* VMLAUNCH succeeded: VMRESUME from now on */
	struct l1_shadow shadow; /* mmu=shadow only */

	struct l1_uart uart;
	int exit_code; /* set by the handler that stops L2 */
	uint64_t nr_exits;
};

/* ---- main.c ---------------------------------------------------------------- */

/*
 * A zeroed 4 KiB page of L1 memory above L2's RAM, for EPT tables: its
 * physical address (= its address: L1 is identity-mapped), or 0 when L1's
 * memory is exhausted.
 */
uint64_t l1_alloc_page(void);

/* ---- l2_boot.c ----------------------------------------------------------- */

/*
 * Loads the L2 image (L1's first module) into L2 RAM at @vm->base, copies
 * the other modules after it, and writes L2's boot contract (GDT, TSS,
 * page tables, boot information with @opt->l2_cmdline) there, as nestvm
 * would for a native run. 0 or an L1_EXIT_* status, reported.
 */
int l2_boot_build(struct l2_vm *vm, const struct nestvm_bootinfo *bi,
		  const struct l1_options *opt);

/* ---- vmcs_setup.c -------------------------------------------------------- */

/*
 * Enters VMX operation (CPUID, IA32_FEATURE_CONTROL, CR0/CR4 fixed bits,
 * VMXON), makes a fresh VMCS current and fills its controls, host state and
 * guest state for L2 (EPT included). 0 or an L1_EXIT_* status, reported.
 */
int vmcs_setup(struct l2_vm *vm);

/* ---- evmcs.c ------------------------------------------------------------ */

/*
 * After VMXON: if the hypervisor below recommends the enlightened VMCS
 * (Hyper-V CPUID leaves, TLFS) and @vm->opt allows it, enables the VP
 * assist page and makes a fresh eVMCS current there instead of VMCLEAR
 * and VMPTRLD (l1_evmcs is set). 1 when it did, 0 when no eVMCS is
 * offered (the caller does VMCLEAR/VMPTRLD), or an L1_EXIT_* status.
 */
int evmcs_setup(struct l2_vm *vm);

/* ---- ept.c --------------------------------------------------------------- */

/*
 * Builds a 4-level EPT mapping L2-physical [0, vm->mem_size) to L1-physical
 * [vm->base, ...) with write-back memory (SDM 30.3), 2 MiB pages where the
 * processor allows them, and sets vm->eptp (A/D flags on when supported).
 * 0 or an L1_EXIT_* status, reported.
 */
int ept_build(struct l2_vm *vm);

/*
 * Swaps the L1 pages behind L2 pages @a and @b (4 KiB aligned, in L2 RAM)
 * in the EPT, splitting a 2 MiB leaf that holds either first. The caller
 * invalidates with INVEPT. 0, or -1 for bad pages or no memory.
 */
int ept_swap_pages(struct l2_vm *vm, uint64_t a, uint64_t b);

/*
 * ept-lazy: maps the 4 KiB page of L2-physical @gpa in the on-demand
 * window (as KVM's EPT-violation handler populates its EPT); false when
 * @gpa is outside the window or already mapped, so that the violation is
 * a real one.
 */
bool ept_fill_lazy(struct l2_vm *vm, uint64_t gpa);

/* ---- shadow.c ------------------------------------------------------------ */

/*
 * mmu=shadow: takes the shadow's page pool from l1_alloc_page() and
 * starts with an empty root for L2's boot CR3 (@guest_cr3) and CR4
 * (@cr4); @maxphyaddr and @gbpages as CPUID reports them. 0 or an
 * L1_EXIT_* status, reported.
 */
int shadow_init(struct l2_vm *vm, uint64_t guest_cr3, uint64_t cr4,
		unsigned int maxphyaddr, bool gbpages);

/* What a #PF exit turned out to be (shadow_page_fault()). */
enum l1_shadow_fault {
	L1_SHADOW_HIDDEN, /* L2's tables allow the access: filled */
	L1_SHADOW_TRUE, /* they do not: L2 gets #PF with the error code */
	L1_SHADOW_BAD_GPA, /* they lead outside L2's RAM: L2 must stop */
};

struct l1_shadow_fault_info {
	uint32_t error_code; /* L1_SHADOW_TRUE: the #PF error code for L2 */
	uint64_t gpa; /* L1_SHADOW_BAD_GPA: the L2-physical address */
	bool flushed; /* the pool ran out and the shadow was dropped */
};

/*
 * A #PF exit at L2-linear @va with hardware error code @error (SDM 4.7):
 * walks L2's 4-level tables from its CR3, checks the access against their
 * rights (CR0.WP is always 1 under mmu=shadow; SMEP as L2's CR4 says),
 * and either fills the shadow's 4 KiB leaf for @va, setting the accessed
 * and dirty flags in L2's entries as the processor would, or says why
 * not in @out.
 */
enum l1_shadow_fault shadow_page_fault(struct l2_vm *vm, uint64_t va,
				       uint32_t error,
				       struct l1_shadow_fault_info *out);

/*
 * L2's INVLPG of @va: drops the shadow leaf for @va, and every leaf made
 * from the same 2 MiB or 1 GiB page of L2's when @va lay in one, as
 * INVLPG drops the whole large-page translation (SDM 4.10.4.1). True when
 * more than @va's leaf went, so that the processor's translations of
 * other addresses must be flushed as well.
 */
bool shadow_invlpg(struct l2_vm *vm, uint64_t va);

/* Drops every shadow entry (a CR3 load, a CR4 paging-bit change). */
void shadow_flush(struct l2_vm *vm);

/* The RESULT lines of the shadow's counts (the "stats" option). */
void shadow_stats_print(const struct l2_vm *vm);

/* ---- exit.c -------------------------------------------------------------- */

/* Runs L2 until a handler stops it; returns the status l1-shim exits with. */
int l1_run_l2(struct l2_vm *vm);

/* Prints the RESULT lines of every exit reason seen (the "stats" option). */
void l1_stats_print(void);

/* The uapi name of basic exit reason @reason ("CPUID"), or NULL. */
const char *l1_exit_reason_name(uint32_t reason);

/* ---- uart.c -------------------------------------------------------------- */

/* Registers as after a master reset. */
void l1_uart_init(struct l1_uart *u);

/* L2's byte access to UART register @reg (0-7, DLAB banking applied). */
uint8_t l1_uart_read(struct l1_uart *u, unsigned int reg);
void l1_uart_write(struct l1_uart *u, unsigned int reg, uint8_t val);

#endif /* NESTVM_L1_SHIM_SHIM_H */
