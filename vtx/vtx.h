/* SPDX-License-Identifier: MIT */
/*
 * vtx.h - the machine model's public API: the host-physical memory arena,
 * the vCPU and its register state, and running it. This is the seam between
 * the monitor (l0/, vmcs-merge/, mmu/) and the software VT-x model; nothing
 * above it may assume the model (ARCHITECTURE.md). Register state crosses it
 * in the kernel's uapi structs (struct kvm_regs, struct kvm_sregs) so dumps
 * and tools read like KVM's. Runs on the host, model side.
 *
 * Return convention: 0 or -errno; nothing here prints or exits.
 */
#ifndef NESTVM_VTX_H
#define NESTVM_VTX_H

#include <asm/kvm.h>

#include "arch/types.h"
#include "vtx/cost.h"

struct vtx_machine;
struct vtx_cpu;

/* ---- the platform: what sits outside the CPU ---------------------------- */

enum vtx_pio_dir { VTX_PIO_IN = 0, VTX_PIO_OUT = 1 };

/* One port access as a device sees it: no VMX, no CPU state. */
struct vtx_pio {
	uint16_t port;
	uint8_t size; /* 1, 2 or 4 bytes */
	uint8_t dir; /* enum vtx_pio_dir */
	uint32_t data; /* OUT: the value written; IN: filled by the platform */
};

/* Return values of vtx_platform_ops.pio. */
#define VTX_PIO_DONE 0
#define VTX_PIO_STOP 1 /* complete the access, then stop the machine */

struct vtx_platform_ops {
	/* Port I/O the CPU performs with nothing intercepting it. */
	int (*pio)(void *opaque, struct vtx_pio *io);
};

struct vtx_machine_config {
	uint64_t arena_size; /* bytes of host-physical memory, page multiple */
	const struct vtx_platform_ops *ops;
	void *opaque; /* passed to every ops callback */
};

/* Creates a machine with a zeroed arena. 0 or -EINVAL / -ENOMEM. */
int vtx_machine_create(const struct vtx_machine_config *cfg,
		       struct vtx_machine **out);
void vtx_machine_destroy(struct vtx_machine *m);

/* ---- host-physical memory ------------------------------------------------ */

uint64_t vtx_arena_size(const struct vtx_machine *m);
/* A host pointer to [hpa, hpa + len), or NULL if any of it is outside the
 * arena. Writes made through it bypass self-modifying-code detection: use
 * vtx_hpa_write() for memory that may hold code the CPU has already run. */
void *vtx_hpa_ptr(struct vtx_machine *m, hpa_t hpa, uint64_t len);
/* Bounds-checked copies; 0 or -EFAULT. Writes invalidate decoded code. */
int vtx_hpa_read(struct vtx_machine *m, hpa_t hpa, void *buf, uint64_t len);
int vtx_hpa_write(struct vtx_machine *m, hpa_t hpa, const void *buf,
		  uint64_t len);
/* Zeroes [hpa, hpa + len), as vtx_machine_create() left it, and drops all
 * decoded code; whole pages go back to the host, so the cost is that of
 * the pages used since. For harnesses that run many short guests on one
 * machine (with vtx_cpu_reset()). 0, or -EINVAL outside the arena or
 * inside a run. */
int vtx_hpa_zero(struct vtx_machine *m, hpa_t hpa, uint64_t len);

/* ---- the vCPU ------------------------------------------------------------ */

/* Creates the machine's vCPU in the architectural reset state of a 64-bit
 * guest's loader (all zero; callers set the state they want). 0 or -errno. */
int vtx_cpu_create(struct vtx_machine *m, struct vtx_cpu **out);
void vtx_cpu_destroy(struct vtx_cpu *cpu);
/* Puts the vCPU back in the state vtx_cpu_create() gives it (registers,
 * MSRs, VMX operation, local APIC, events, counters, the unit cost
 * profile), keeping its allocations: the decoded-block cache and the TLB
 * are emptied, so nothing decoded or translated before survives. Memory is
 * left alone: with vtx_hpa_zero() a harness gets a machine as
 * new without allocating one (tests/fuzz/). 0, or -EINVAL for NULL or a
 * call from inside a run. */
int vtx_cpu_reset(struct vtx_cpu *cpu);

int vtx_cpu_get_regs(const struct vtx_cpu *cpu, struct kvm_regs *regs);
int vtx_cpu_set_regs(struct vtx_cpu *cpu, const struct kvm_regs *regs);
/* set_sregs checks what hardware would refuse to hold (EFER.LMA without
 * CR0.PG, a long-mode CS without EFER.LMA, ...) and returns -EINVAL. */
int vtx_cpu_get_sregs(const struct vtx_cpu *cpu, struct kvm_sregs *sregs);
int vtx_cpu_set_sregs(struct vtx_cpu *cpu, const struct kvm_sregs *sregs);
/* 0, or -ENOENT for an MSR the model does not implement. */
int vtx_cpu_get_msr(const struct vtx_cpu *cpu, uint32_t index, uint64_t *val);
int vtx_cpu_set_msr(struct vtx_cpu *cpu, uint32_t index, uint64_t val);

/* What the vCPU's CPUID instruction returns for @leaf and @subleaf in
 * regs[0..3] = EAX, EBX, ECX, EDX, without running anything: a monitor
 * emulating CPUID for its guest starts from the processor's answer, as KVM
 * starts from the host's. 0, or -EINVAL for a NULL argument. */
int vtx_cpu_cpuid(const struct vtx_cpu *cpu, uint32_t leaf, uint32_t subleaf,
		  uint32_t regs[4]);

/* Whether the processor's VMCS has the field with this encoding (a _HIGH
 * access names its 64-bit field): what VMREAD/VMWRITE would accept. A
 * monitor offering VMX to its guest starts from it. */
bool vtx_vmcs_field_supported(uint32_t enc);

/* Interrupt sources of the platform (vtx/events.c): an NMI, or a fixed
 * interrupt with `vector` (16..255) arriving at the vCPU's local APIC as
 * from an I/O APIC. Taken at the next instruction boundary of a run when
 * not blocked (SDM Vol. 3A 6.8, 6.9), or as a VM exit with NMI /
 * external-interrupt exiting. 0, or -EINVAL for a NULL cpu or a vector
 * below 16. */
int vtx_cpu_raise_nmi(struct vtx_cpu *cpu);
int vtx_cpu_raise_irq(struct vtx_cpu *cpu, unsigned int vector);

/* INIT and start-up IPI (SIPI) as a platform delivers them to the one
 * vCPU (there is no IPI path between vCPUs). INIT in VMX non-root
 * operation is a VM exit (reason 3) at the next instruction boundary,
 * whatever RFLAGS.IF and the STI / MOV-SS shadow say; VMX root operation
 * and the wait-for-SIPI activity state block it and it stays pending
 * (SDM Vol. 3C 24.8, 26.2, 27.7.2). With VMX off an INIT would reset the
 * processor (SDM Vol. 3A 9.1); the model has no INIT reset, so the run
 * stops with VTX_STOP_INIT and the vCPU runs no more. A SIPI with
 * `vector` (0..255) is a VM exit (reason 4, the vector in the exit
 * qualification) when the vCPU waits in VMX non-root in the wait-for-SIPI
 * state; anywhere else it is discarded, as the SDM says. 0, or -EINVAL for
 * a NULL cpu or a vector above 255. */
int vtx_cpu_raise_init(struct vtx_cpu *cpu);
int vtx_cpu_raise_sipi(struct vtx_cpu *cpu, unsigned int vector);

/* Stop after this many more retired instructions (0: no limit). */
void vtx_cpu_set_insn_limit(struct vtx_cpu *cpu, uint64_t insns);

/*
 * A stop the host asks for from outside the instruction stream (a
 * wall-clock timeout): a run under way stops at the next block boundary,
 * and every run started later stops before its first instruction, with
 * VTX_STOP_REQUESTED, until vtx_cpu_cancel_stop(). Instructions retire
 * whole and events due at that boundary are taken first, so the vCPU's
 * state is that of an instruction boundary and a later run continues
 * exactly where this one stopped. vtx_cpu_request_stop() only stores to
 * a lock-free atomic: it may be called from a signal handler.
 */
void vtx_cpu_request_stop(struct vtx_cpu *cpu);
void vtx_cpu_cancel_stop(struct vtx_cpu *cpu);
bool vtx_cpu_stop_pending(const struct vtx_cpu *cpu);

enum vtx_stop_reason {
	VTX_STOP_PLATFORM, /* a device returned VTX_PIO_STOP */
	VTX_STOP_TRIPLE_FAULT, /* shutdown: stop.why says which faults */
	VTX_STOP_HALTED, /* HLT with nothing that could ever wake it */
	VTX_STOP_INSN_LIMIT, /* the instruction budget ran out */
	VTX_STOP_VMEXIT, /* a VM exit to a host written in C */
	VTX_STOP_INIT, /* INIT with VMX off: no INIT reset in the model */
	VTX_STOP_REQUESTED, /* vtx_cpu_request_stop(); rip is the next insn */
};

struct vtx_stop {
	enum vtx_stop_reason reason;
	uint64_t rip; /* of the instruction that stopped the machine */
	char why[256]; /* one line, for the user */
};

/* Runs the vCPU with VMX off (the "native" level) until it stops.
 * 0 with *stop filled in, or -errno for a misuse (no state set). */
int vtx_cpu_run(struct vtx_cpu *cpu, struct vtx_stop *stop);

const char *vtx_stop_reason_name(enum vtx_stop_reason r);

/* ---- VMX root operation for a hypervisor written in C ----------------------
 *
 * The monitor drives the modeled VT-x as a hypervisor drives silicon
 * (vtx/vmx_api.c). Each call returns 0 (VMsucceed), VTX_VMFAIL_INVALID, a
 * positive VM-instruction error number (VMfailValid, also stored in the
 * current VMCS), or another negative errno for a misuse (not in VMX root
 * operation as a C host, or called from inside a run). */
#define VTX_VMFAIL_INVALID (-1)

int vtx_vmxon(struct vtx_cpu *cpu, hpa_t region);
int vtx_vmxoff(struct vtx_cpu *cpu);
int vtx_vmclear(struct vtx_cpu *cpu, hpa_t vmcs);
int vtx_vmptrld(struct vtx_cpu *cpu, hpa_t vmcs);
int vtx_vmptrst(struct vtx_cpu *cpu, hpa_t *vmcs);
int vtx_vmread(struct vtx_cpu *cpu, uint32_t field, uint64_t *val);
int vtx_vmwrite(struct vtx_cpu *cpu, uint32_t field, uint64_t val);
/*
 * Batched VMREAD/VMWRITE: n operations on the current VMCS, field by field
 * in array order, with exactly the effect, counts and cycles of n calls of
 * vtx_vmread()/vtx_vmwrite() (each one charged, each failure storing its
 * VM-instruction error), without the per-call checks and bookkeeping. A
 * failing field does not stop the batch; the status of the first failure
 * is returned (0 when all succeeded), -EINVAL with nothing done for a
 * misuse. vtx_vmread_batch() fills in val (0 for a failed field). For
 * L0's long field lists: vmcs02 preparation, shadow-VMCS copies.
 */
struct vtx_vmcs_field {
	uint32_t field;
	uint64_t val;
};

int vtx_vmread_batch(struct vtx_cpu *cpu, struct vtx_vmcs_field *f, size_t n);
int vtx_vmwrite_batch(struct vtx_cpu *cpu, const struct vtx_vmcs_field *f,
		      size_t n);
int vtx_invept(struct vtx_cpu *cpu, uint64_t type, uint64_t eptp);
int vtx_invvpid(struct vtx_cpu *cpu, uint64_t type, uint16_t vpid,
		uint64_t gla);
/* Reads a field of the current VMCS for an observer (a trace, a
 * debugger), not for the hypervisor's logic: nothing is charged or
 * counted and no VM-instruction error is stored, so observing a run does
 * not change it. 0, or -EINVAL (no current VMCS, an unsupported field,
 * not in VMX root operation as a C host). */
int vtx_vmcs_peek(struct vtx_cpu *cpu, uint32_t field, uint64_t *val);
/* Enters the guest of the current VMCS and runs it until a VM exit
 * (stop->reason VTX_STOP_VMEXIT: the exit information is in the VMCS) or
 * another stop. A VM entry that fails its checks returns the VMfail and
 * runs nothing; a guest-state failure is a VM exit (reason bit 31). The
 * guest's general-purpose registers are vtx_cpu_get/set_regs(). */
int vtx_vmlaunch(struct vtx_cpu *cpu, struct vtx_stop *stop);
int vtx_vmresume(struct vtx_cpu *cpu, struct vtx_stop *stop);

/* ---- what the vCPU counted ----------------------------------------------- */

/* Basic exit reasons are below this (SDM Appendix C; uapi <asm/vmx.h>). */
#define VTX_EXIT_REASONS 80

struct vtx_cpu_stats {
	uint64_t insns; /* retired instructions */
	uint64_t exceptions[32]; /* delivered, by vector */
	uint64_t
		unimplemented; /* instructions that raised #UD for lack of a model */
	uint64_t pio; /* port accesses sent to the platform */
	uint64_t blocks_decoded; /* decoded blocks built */
	uint64_t
		code_flushes; /* decoded-code invalidations (SMC, host writes) */
	uint64_t tlb_misses; /* page walks */
	uint64_t atlb_hits; /* soft-TLB misses the architectural TLB served */
	uint64_t tlb_flushes; /* invalidations of the architectural TLB */
	uint64_t ept_walks; /* EPT translations walked */
	uint64_t vm_entries; /* successful VM entries */
	uint64_t vm_exits; /* VM exits, entry failures included */
	uint64_t exits_by_reason[VTX_EXIT_REASONS]; /* by basic reason */

	/* What the cost model charges (vtx/cost.h), each count once: */
	uint64_t walk_steps; /* paging-structure entries page walks read */
	uint64_t ept_walk_steps; /* EPT entries EPT walks read */
	uint64_t events; /* exceptions and interrupts delivered via the IDT */
	uint64_t interrupts; /* of those, external interrupts and NMIs */
	uint64_t apic_timer_fires; /* local APIC timer expiries */
	uint64_t apic_ipis; /* ICR / SELF IPI sends */
	uint64_t apic_mmio; /* accesses to the xAPIC page */
	uint64_t halted_cycles; /* modeled cycles spent in the HLT state */
	uint64_t init_stops; /* INITs with VMX off, which stop the model */
	uint64_t cpuids, rdmsrs, wrmsrs; /* executed without a VM exit */
	uint64_t vmreads, vmwrites; /* executed by a guest in VMX root */
	/* executed in VMX non-root without a VM exit: VMCS shadowing */
	uint64_t shadow_vmreads, shadow_vmwrites;
	uint64_t eptp_switches; /* VMFUNC EPTP switches, no VM exit */
	uint64_t vmx_insns; /* other VMX instructions a guest ran in root */
	uint64_t host_vmreads, host_vmwrites; /* by the C host, through here */
	uint64_t host_vmx_ops; /* the C host's other VMX operations */

	/* Modeled cycles. The buckets partition the total: cycles =
	 * cycles_root + cycles_nonroot + cycles_switch + cycles_host. */
	uint64_t cycles; /* all of them: the clock the guest TSC reads */
	uint64_t cycles_root; /* running with VMX off or in VMX root */
	uint64_t cycles_nonroot; /* running a guest in VMX non-root */
	uint64_t cycles_switch; /* VM entries and VM exits themselves */
	uint64_t cycles_host; /* VMX operations of the C host (vtx_vmread..) */
};
void vtx_cpu_get_stats(const struct vtx_cpu *cpu, struct vtx_cpu_stats *st);

/* The counters a monitor samples around every run, as vtx_cpu_get_stats()
 * gives them, without copying the whole of struct vtx_cpu_stats (a nested
 * round trip samples six times). */
struct vtx_cpu_clock {
	uint64_t cycles, cycles_host, cycles_switch;
	uint64_t cycles_guest; /* cycles_root + cycles_nonroot */
	uint64_t insns, vm_exits, shadow_vmreads, shadow_vmwrites;
};

void vtx_cpu_get_clock(const struct vtx_cpu *cpu, struct vtx_cpu_clock *clk);

/* One distinct unimplemented instruction the vCPU met (it raised #UD). */
struct vtx_unimpl {
	uint64_t rip; /* where it was first met */
	uint64_t count; /* how often */
	uint8_t bytes[15];
	uint8_t len;
	char mnemonic[32]; /* as the decoder names it, or "(undecodable)" */
};
/* Copies up to max records; returns how many distinct ones there are. */
size_t vtx_cpu_get_unimplemented(const struct vtx_cpu *cpu,
				 struct vtx_unimpl *out, size_t max);

#endif
