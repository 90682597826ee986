/* SPDX-License-Identifier: MIT */
/*
 * vm.h - the nested level of nestvm: L0 runs an L1 guest on vmcs01 in the
 * modeled VT-x, as a hypervisor drives silicon (only vtx/vtx.h), handles
 * L1's exits through one table (CPUID, port I/O to L0's bus, MSRs, control
 * registers, and L1's VMX instructions, l0/nvmx.h), and runs L1's own guest
 * as L2 on vmcs02. The VM's life cycle, its run loop and what a run counts.
 * SDM Vol. 3C ch. 26-28 (non-root operation, VM entries, VM exits).
 * Monitor side.
 */
#ifndef NESTVM_L0_VM_H
#define NESTVM_L0_VM_H

#include <stdarg.h>

#include "arch/vmx_exit_info.h"
#include "arch/x86_regs.h"
#include "mmu/l0_area.h"
#include "mmu/ept.h"
#include "mmu/l1mem.h"
#include "vmcs-merge/merge.h"
#include "vmcs-merge/shadow.h"

struct io_bus;
struct l0_bt_l1;
struct l0_bt_l2;
struct l0_trace;
struct shadow_mmu;
struct nvmx;
struct vtx_machine;
struct vtx_cpu;

/* What an exit handler asks the run loop to do next: advancing RIP past
 * the exiting instruction is always explicit. */
enum l0_exit_action {
	EXIT_RESUME, /* re-enter the current guest as it is */
	EXIT_RESUME_SKIP_INSN, /* the instruction was emulated: skip it */
	EXIT_STOP_VM, /* the run is over; vm->stop says why */
};

/* Which guest ran when the run stopped. */
enum l0_level {
	L0_LEVEL_L1,
	L0_LEVEL_L2,
};

enum l0_stop_reason {
	L0_STOP_DEVICE, /* a device asked to stop (the debug-exit port) */
	L0_STOP_TRIPLE_FAULT, /* the guest shut down */
	L0_STOP_HALTED, /* HLT with nothing that could ever wake it */
	L0_STOP_INSN_LIMIT, /* the instruction budget ran out */
	L0_STOP_UNHANDLED, /* something L0 does not handle yet */
	L0_STOP_INTERNAL, /* L0's own failure (a bug, or no memory) */
	L0_STOP_REQUESTED, /* the host's vtx_cpu_request_stop() (--timeout) */
};

struct l0_stop {
	enum l0_stop_reason reason;
	enum l0_level level;
	uint64_t rip; /* of the guest that was running */
	char why[256]; /* one line, for the user */
};

/*
 * The cost of the L2 exits of one reason that L1 handled: everything
 * between the reflection and the next entry to L2 is charged to the
 * reflected exit (the "span"), including that reflected exit and that
 * entry as world switches.
 *
 * Invariant (tests/guest/test_nested.c): cycles = cycles_switch +
 * cycles_l0 + cycles_l1, Turtles' breakdown of a nested exit (world
 * switches, L0, L1); L0's C handlers are not modeled and add nothing.
 * L2 does not run inside a span: its own time up to each exit is kept
 * apart in l2_cycles and l2_insns.
 */
struct l0_reflect_stats {
	uint64_t count; /* exits reflected */
	uint64_t l1_exits; /* L1 exits in their spans */
	uint64_t world_switches; /* VM entries and exits in their spans */
	uint64_t vmreads, vmwrites; /* L1's (trapped) in their spans */
	uint64_t shadow_vmreads, shadow_vmwrites; /* L1's, not trapped */
	uint64_t sync_vmreads, sync_vmwrites; /* L0's shadow-VMCS syncs */
	/* pv: bytes L0 read from and wrote to L1's eVMCS (l0/evmcs.c) */
	uint64_t evmcs_read_bytes, evmcs_write_bytes;
	uint64_t l1_insns; /* instructions L1 retired in their spans */
	uint64_t vmcs02_writes; /* L0's VMWRITEs preparing vmcs02 */
	uint64_t cycles; /* modeled cycles of their spans */
	uint64_t cycles_switch; /* ... in VM entries and exits */
	uint64_t cycles_l0; /* ... in L0's VMX operations */
	uint64_t cycles_l1; /* ... while L1 ran (vmcs01) */
	uint64_t l2_cycles, l2_insns; /* L2's run up to the exits */
	/* --vmcs-access bt: L1's handler run translated (l0/bt_l1.h):
	 * its VMREAD/VMWRITE callouts, instructions, and the cycles
	 * charged for it (the TC's run plus the bt_* charges), a fourth
	 * term of cycles. */
	uint64_t bt_vmreads, bt_vmwrites, l1_bt_insns, cycles_l1_bt;
};

/*
 * --vmcs-access bt: why L1 left translation for the hardware (vmcs01) at
 * an instruction, as if it had run natively all along (l0/bt_l1.c,
 * docs/design/bt.md). Every one is counted.
 */
#define L0_BT_FALLBACKS(X)                                               \
	X(VMX, "a VMX instruction the callouts do not do (memory "       \
	       "operand, VMPTRLD, VMCALL, ...)")                         \
	X(VMFAIL, "VMLAUNCH/VMRESUME failed (VMfail): L1 goes on after " \
		  "it")                                                  \
	X(ENTRY_FAILURE, "VMLAUNCH/VMRESUME failed VM entry: L1 at its " \
			 "host state")                                   \
	X(FAULT, "an exception of L1, or a #PF the L1 shadow does not "  \
		 "fill (a page-table write, a true fault)")              \
	X(INSN, "an instruction L1 runs on the hardware (HLT, RDTSC, "   \
		"RDMSR/WRMSR, MOV CR, LGDT, INT, INVLPG, ...)")          \
	X(UNIMPL, "an instruction the translator does not handle")       \
	X(EXIT, "a container exit the translator does not handle")       \
	X(REGION, "translated L2 reached a region that is not hot")      \
	X(STATE, "L1's state the container does not take (an event to "  \
		 "inject, a paging mode the shadow does not cover, "     \
		 "state after the reflected exit)")

enum l0_bt_fallback {
#define L0_BT_FALLBACK_ENUM(name, what) L0_BT_FALLBACK_##name,
	L0_BT_FALLBACKS(L0_BT_FALLBACK_ENUM)
#undef L0_BT_FALLBACK_ENUM
		L0_BT_NR_FALLBACKS
};

/* "vmx", "vmfail", ... (lower case), never NULL. */
const char *l0_bt_fallback_name(enum l0_bt_fallback f);

/* --vmcs-access bt: what translating L1's exit handler did. */
struct l0_bt_l1_stats {
	uint64_t runs; /* translated runs of L1 (one per reflected exit) */
	uint64_t entries; /* ... that ended in L2 entered by VMRESUME */
	uint64_t vmreads, vmwrites, cpuids; /* callouts done on vmcs12 */
	uint64_t fallbacks[L0_BT_NR_FALLBACKS];
	/* L1 ran on the hardware since the last translated run: its
	 * shadow roots dropped and its TC flushed (coherence). */
	uint64_t coherence_resets;
	uint64_t shadow_fills; /* #PFs the L1 shadow filled (hidden) */
	/* The model's cycles of the translated runs (TC, container entries
	 * and exits, L0's copies); the guests' TSC sees cycles_l1_bt
	 * instead (l0/bt_l1.c). */
	uint64_t cycles_hidden;
	/* ... of which in VM entries and exits of the container and in
	 * L0's VMX operations (and their VMREAD/VMWRITE counts): the
	 * report leaves them out of L0's and the switches' rows. */
	uint64_t hidden_switch, hidden_host, hidden_vmreads, hidden_vmwrites;
};

/* --bt adaptive|always: what translating L2's hot regions did. */
struct l0_bt_l2_stats {
	uint64_t runs; /* translated runs of L2 */
	uint64_t reflected; /* exits L1 wanted, reflected with no switch */
	uint64_t fallbacks[L0_BT_NR_FALLBACKS]; /* back to vmcs02 */
	uint64_t hardware; /* hot-region entries left to VT-x (state) */
	uint64_t coherence_resets; /* L2's shadow and TC dropped */
	uint64_t to_translation, to_hardware; /* region switches */
	/* the break-even last computed, in exits per window of
	 * L0_BT_L2_WINDOW L2 instructions (0: none yet, no reflected exit
	 * to measure a round trip by) */
	uint64_t break_even;
	uint64_t insns, cycles; /* run translated; charged */
	uint64_t cycles_hidden; /* the model's cycles of those runs */
	/* ... in the container's entries and exits and L0's VMX operations
	 * (as for L1's, struct l0_bt_l1_stats) */
	uint64_t hidden_switch, hidden_host, hidden_vmreads, hidden_vmwrites;
};

struct l0_stats {
	uint64_t vm_entries, vm_exits; /* world switches, both levels */
	uint64_t l1_exits[VMX_NR_EXIT_REASONS]; /* vmcs01, by basic reason */
	uint64_t l2_exits[VMX_NR_EXIT_REASONS]; /* vmcs02, by basic reason */
	struct l0_reflect_stats reflected[VMX_NR_EXIT_REASONS];
	uint64_t vmreads, vmwrites; /* L1's VMREAD/VMWRITE that exited */
	/* L1's VMREAD/VMWRITE the shadow VMCS answered without an exit. */
	uint64_t shadow_vmreads, shadow_vmwrites;
	/* L0's VMREADs (shadow VMCS -> vmcs12) and VMWRITEs (vmcs12 ->
	 * shadow VMCS) keeping the shadow VMCS and vmcs12 in step. */
	uint64_t sync_vmreads, sync_vmwrites;
	/* pv: enlightened entries, and the bytes L0 read from and wrote to
	 * L1's eVMCS (clean groups are not read). */
	uint64_t evmcs_entries, evmcs_read_bytes, evmcs_write_bytes;
	uint64_t nested_entries; /* L1 VMLAUNCH/VMRESUME that entered L2 */
	uint64_t nested_vmfails; /* ... that failed with VMfail */
	uint64_t nested_entry_failures; /* ... that were entry failures */
	uint64_t ept02_fills; /* hidden faults */
	uint64_t ept_violations_reflected; /* true faults */
	/* INVVPIDs of the vpid02 of a vmcs12 without VPID, one per nested
	 * entry (l0/nested_events.c); MTF exits L0 owed L1 after an
	 * instruction it emulated for L2. */
	uint64_t vpid02_flushes, mtf_after_emulation;
	uint64_t vpid01_flushes; /* L1's translations, for a vmcs12 without
				    VPID (l0/nested_events.h) */
	struct ept02_stats ept02; /* ept02's memory and coherence */
	uint64_t vmcs02_writes; /* L0's VMWRITEs preparing vmcs02 */
	uint64_t insns_l1, insns_l2; /* retired while each level ran */
	/* Modeled cycles while each level ran; with the model's switch and
	 * C-host buckets (L0) they add up to the run's cycles. */
	uint64_t cycles_l1, cycles_l2;
	/* --vmcs-access bt: L1 run translated (l0/bt_l1.h), apart from
	 * insns_l1 and cycles_l1. */
	uint64_t insns_l1_bt, cycles_l1_bt;
	struct l0_bt_l1_stats bt_l1;
	struct l0_bt_l2_stats bt_l2;
};

/* The cost model's clocks at one instant of the run (l0/vm.c takes them
 * at every entry and exit to attribute cycles to levels and spans). */
struct l0_clock {
	uint64_t cycles; /* the modeled clock */
	uint64_t host; /* L0's VMX operations */
	uint64_t switches; /* VM entries and exits */
	uint64_t guest; /* running a guest (root and non-root buckets) */
	uint64_t insns, vm_exits;
	uint64_t shadow_vmreads, shadow_vmwrites; /* non-root, no exit */
};

/* How a nested entry prepares vmcs02 (--prep): every field, or only the
 * field groups whose vmcs12 fields L1 wrote since the last entry. */
enum l0_prep_mode {
	L0_PREP_FULL,
	L0_PREP_DIRTY,
};

/* How L0 virtualizes L1's memory (--mmu, l0/shadow_vm.h): ept01 (EPT
 * with the identity on L1's RAM), or shadow page tables without EPT. */
enum l0_mmu_mode {
	L0_MMU_EPT,
	L0_MMU_SHADOW,
};

struct l0_vm {
	struct vtx_machine *m;
	struct vtx_cpu *cpu;
	struct io_bus *bus;
	struct l1_mem mem; /* L1's RAM: [0, mem.size) */
	struct l0_area area; /* L0's pages: [mem.size, arena end) */
	hpa_t vmxon_region, vmcs01, vmcs02, msr_bitmap01;
	uint64_t eptp01;
	struct vmcs_l0_host host; /* host state of vmcs01 and vmcs02 */
	uint32_t pin_must1, proc_must1; /* the processor's default1 bits */
	uint32_t exit_ctls, entry_ctls; /* L0's, for vmcs01 and vmcs02 */
	bool vmcs01_launched;
	struct nvmx *nvmx; /* L1's virtual VMX (l0/nvmx.h) */
	enum l0_prep_mode prep;
	/* --vmcs-access: how L1's VMREAD/VMWRITE reach vmcs12. With
	 * shadowing, the shadow VMCS and the two bitmaps are L0's pages
	 * (l0_vm_set_vmcs_access()); otherwise they are 0. */
	enum vmcs_access_mode vmcs_access;
	/* How ept02 follows ept12 (--ept-coherence; l0_vm_set_ept_coherence). */
	enum ept_coherence ept_coherence;
	hpa_t shadow_vmcs, vmread_bitmap, vmwrite_bitmap;
	struct l0_stats stats;
	struct l0_stop stop;
	uint64_t insn_limit; /* over the whole run, 0 for none */
	int span; /* basic reason of the reflected exit L1 is handling, or -1 */
	struct l0_clock mark; /* the clocks at the last entry or exit */
	uint64_t vm_exit_cost; /* the profile's, to split a run's switches */
	uint64_t exit_cycles; /* the last L2 exit's, until it is reflected */
	uint64_t l2_cycles, l2_insns; /* L2's run since the last reflection */
	/* --trace, --trace-json (l0/trace.h), or NULL: every hook is one
	 * test of this pointer. */
	struct l0_trace *trace;
	/* --mmu: with L0_MMU_SHADOW, vmcs01 runs L1 without EPT on the
	 * shadow MMU (mmu/shadow.h); shadow is NULL otherwise. */
	enum l0_mmu_mode mmu;
	struct shadow_mmu *shadow;
	/* --vmcs-access bt: L1's exit handler under the translator
	 * (l0/bt_l1.h), or NULL; bt_l1_run() is called where a reflected
	 * exit would resume L1 at its host state (l0/nested.c). */
	struct l0_bt_l1 *bt_l1;
	enum l0_exit_action (*bt_l1_run)(struct l0_vm *vm);
	/* --bt adaptive|always (l0/bt_l2.h), or NULL: before each entry of
	 * L2, bt_l2_run() may run it translated instead (true, with what
	 * the run loop does next in *act). */
	struct l0_bt_l2 *bt_l2;
	bool (*bt_l2_run)(struct l0_vm *vm, enum l0_exit_action *act);
	/* The L2 exit being reflected was made by L0 from translated L2
	 * code: no VM exit, no world switch (l0_span_open()). */
	bool exit_synthesized;
	bool vpid01; /* L1 runs on L0_VPID01 (vmcs01 enables VPID) */
	int vmx_err; /* the first failed VMREAD/VMWRITE of L0 (a bug), or 0 */
	uint32_t vmx_err_field;
};

/* The CR bits L0 owns in L1 (and ORs into L2's masks): the ones VMX fixes
 * to 1 and the model has no unrestricted guest to lift (SDM 24.8, A.7,
 * A.8). */
#define L0_CR0_OWNED ((uint64_t)(X86_CR0_PE | X86_CR0_NE | X86_CR0_PG))
#define L0_CR4_OWNED ((uint64_t)X86_CR4_VMXE)

/*
 * The VPID L1 runs on (vmcs01), as KVM gives each vCPU one: L1's
 * translations then survive its exits to L0 (SDM Vol. 3C 29.4.3.1: with
 * VPID, VM entries and exits invalidate nothing). It lies above every
 * vpid02 (mmu/vpid02.h). Not under --mmu shadow, whose zaps rely on the
 * flush of every VM entry without VPID (l0/shadow_vm.c).
 */
#define L0_VPID01 0x7fff

/*
 * Sets up the nested level on a machine whose arena holds L1's RAM
 * [0, mem_size) followed by the L0 area, and whose vCPU holds L1's boot
 * state (l0/boot.h): VMXON, ept01, vmcs01 with that state as guest state.
 * Port I/O of L1 and L2 goes to bus. 0, or -errno with a message in err.
 */
int l0_vm_init(struct l0_vm *vm, struct vtx_machine *m, struct vtx_cpu *cpu,
	       struct io_bus *bus, uint64_t mem_size, char *err, size_t errlen);
void l0_vm_destroy(struct l0_vm *vm);

/*
 * Chooses how L1's VMREAD/VMWRITE reach vmcs12, before l0_vm_run(): trap
 * (the default l0_vm_init() leaves), or VMCS shadowing of mode's field
 * set (SDM Vol. 3C 25.10): a shadow VMCS and VMREAD/VMWRITE bitmaps in the
 * L0 area, their addresses in vmcs01. 0, or -errno with a message in err
 * (the processor lacks VMCS shadowing, the L0 area is full).
 */
/* Chooses how ept02 follows ept12 (--ept-coherence), before the run;
 * defined in l0/nvmx.c. */
void l0_vm_set_ept_coherence(struct l0_vm *vm, enum ept_coherence c);

int l0_vm_set_vmcs_access(struct l0_vm *vm, enum vmcs_access_mode mode,
			  char *err, size_t errlen);

/* Runs L1 (and whatever it runs) until the run stops; vm->stop says how.
 * insn_limit bounds the instructions of all levels together (0: none).
 * A stop the host requested on the vCPU (vtx_cpu_request_stop()) ends it
 * with L0_STOP_REQUESTED, from inside a guest's run or between two. */
void l0_vm_run(struct l0_vm *vm, uint64_t insn_limit);

/* ---- for the exit handlers (l0/vm.c, l0/nvmx.c, l0/nested.c) ------------ */

/* VMREAD/VMWRITE of the current VMCS; a failure is L0's bug: the first is
 * recorded and stops the run after the handler returns. */
uint64_t l0_vmread(struct l0_vm *vm, uint32_t field);
void l0_vmwrite(struct l0_vm *vm, uint32_t field, uint64_t val);

/* General-purpose register n (enum x86_gpr) of the guest that exited; RSP
 * is the current VMCS's GUEST_RSP. */
uint64_t l0_read_gpr(struct l0_vm *vm, unsigned int n);
void l0_write_gpr(struct l0_vm *vm, unsigned int n, uint64_t val);

/* Completes an emulated instruction of the current guest: RIP past it,
 * and the STI/MOV-SS blocking it was under ends (SDM 25.4.2). */
void l0_skip_insn(struct l0_vm *vm);

/* Makes the next VM entry of the current VMCS deliver a hardware
 * exception (SDM 27.6); for #PF, cr2 is loaded into CR2 first. */
void l0_inject_exception(struct l0_vm *vm, unsigned int vector, bool has_error,
			 uint32_t error, uint64_t cr2);

/* Ends the run with reason and a one-line message; returns EXIT_STOP_VM. */
__attribute__((format(printf, 3, 4))) enum l0_exit_action
l0_stop_vm(struct l0_vm *vm, enum l0_stop_reason reason, const char *fmt, ...);

/* An IN or OUT (not string I/O) of the current guest, with qualification
 * qual (SDM Table 28-5), performed on L0's bus: IN fills AL/AX/EAX. */
enum l0_exit_action l0_handle_pio(struct l0_vm *vm, uint64_t qual);

/* MSRs as L1 sees them: L0's virtual IA32_FEATURE_CONTROL and capability
 * MSRs, guest state in the current VMCS, the rest the processor's. 0, or
 * -EINVAL where RDMSR/WRMSR would raise #GP(0). */
int l0_msr_read(struct l0_vm *vm, uint32_t msr, uint64_t *val);
int l0_msr_write(struct l0_vm *vm, uint32_t msr, uint64_t val);

/* Starts the span of an L2 exit of reason basic that is being reflected
 * to L1 (nested_reflect_vmexit()): counts it, and charges it the exit
 * itself and L2's run that led to it. */
void l0_span_open(struct l0_vm *vm, uint32_t basic);

/* CPUID as L1 sees it (L0's answer on an L1 CPUID exit). */
void l0_l1_cpuid(struct l0_vm *vm, uint32_t leaf, uint32_t subleaf,
		 uint32_t r[4]);

/*
 * --vmcs-access bt (l0/bt_l1.c) runs L1 translated inside an exit
 * handler: l0_account_l0_work() charges L0's work so far to the span
 * under way, as the next run would; l0_account_translated() charges the
 * translated run its cycles (the TC's own and the bt_* charges, not the
 * container's entries and exits: a software VMM has none) and restarts
 * the clocks after it.
 */
void l0_account_l0_work(struct l0_vm *vm);
void l0_account_translated(struct l0_vm *vm, uint64_t cycles, uint64_t insns);
/* The same for translated L2 (l0/bt_l2.c): L2's time before its next
 * reflected exit. */
void l0_account_translated_l2(struct l0_vm *vm, uint64_t cycles,
			      uint64_t insns);

/* Name of a basic exit reason for messages ("CPUID"), never NULL. */
const char *l0_exit_reason_name(uint32_t basic);

#endif
