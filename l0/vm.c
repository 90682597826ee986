/* SPDX-License-Identifier: MIT */
/*
 * vm.c - the nested level (l0/vm.h): the L0 area and ept01, vmcs01 built
 * from L1's boot state (SDM Vol. 3C 25.4-25.8 VMCS fields, 27.2-27.3 the
 * entry checks it must pass), the run loop that enters vmcs01 or vmcs02 and
 * dispatches each exit, the table of L1's exit handlers (CPUID, port I/O
 * to L0's bus, MSRs, CR0/CR4, HLT, triple fault, the VMX instructions), and
 * the accounting of world switches and exit multiplication. Monitor side;
 * the machine is reached only through vtx/vtx.h.
 */
#include "l0/vm.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <asm/vmx.h>

#include "arch/ept.h"
#include "arch/vmcs.h"
#include "arch/vmx_exit_qual.h"
#include "arch/x86_msr.h"
#include "arch/x86_paging.h"
#include "arch/x86_seg.h"
#include "l0/errmsg.h"
#include "l0/evmcs.h"
#include "l0/iobus.h"
#include "l0/nvmx.h"
#include "l0/shadow_vm.h"
#include "l0/trace.h"
#include "mmu/ept.h"
#include "vtx/vtx.h"

/* CPUID.01H:ECX.VMX (SDM 24.6): L0 offers nested VMX, so L1 sees it. */
#define CPUID_1_ECX_VMX (1u << 5)

/* Bit 31 of a VMCS region's revision word: a shadow VMCS (SDM 25.2). */
#define VMCS_SHADOW_INDICATOR 0x80000000u

/* ---- helpers for the handlers ---------------------------------------------- */

uint64_t l0_vmread(struct l0_vm *vm, uint32_t field)
{
	uint64_t val = 0;
	int ret = vtx_vmread(vm->cpu, field, &val);

	if (ret && !vm->vmx_err) {
		vm->vmx_err = ret;
		vm->vmx_err_field = field;
	}
	return val;
}

void l0_vmwrite(struct l0_vm *vm, uint32_t field, uint64_t val)
{
	int ret = vtx_vmwrite(vm->cpu, field, val);

	if (ret && !vm->vmx_err) {
		vm->vmx_err = ret;
		vm->vmx_err_field = field;
	}
}

uint64_t l0_read_gpr(struct l0_vm *vm, unsigned int n)
{
	struct kvm_regs regs;

	if (n == VCPU_REGS_RSP)
		return l0_vmread(vm, GUEST_RSP);
	vtx_cpu_get_regs(vm->cpu, &regs);
	return x86_regs_read_gpr(&regs, n);
}

void l0_write_gpr(struct l0_vm *vm, unsigned int n, uint64_t val)
{
	struct kvm_regs regs;

	if (n == VCPU_REGS_RSP) {
		l0_vmwrite(vm, GUEST_RSP, val);
		return;
	}
	vtx_cpu_get_regs(vm->cpu, &regs);
	x86_regs_write_gpr(&regs, n, val);
	vtx_cpu_set_regs(vm->cpu, &regs);
}

void l0_skip_insn(struct l0_vm *vm)
{
	uint64_t rip = l0_vmread(vm, GUEST_RIP);
	uint64_t len = l0_vmread(vm, VM_EXIT_INSTRUCTION_LEN);
	uint64_t intr = l0_vmread(vm, GUEST_INTERRUPTIBILITY_INFO);

	l0_vmwrite(vm, GUEST_RIP, rip + len);
	if (intr & (GUEST_INTR_STATE_STI | GUEST_INTR_STATE_MOV_SS))
		l0_vmwrite(vm, GUEST_INTERRUPTIBILITY_INFO,
			   intr & ~(uint64_t)(GUEST_INTR_STATE_STI |
					      GUEST_INTR_STATE_MOV_SS));
}

void l0_inject_exception(struct l0_vm *vm, unsigned int vector, bool has_error,
			 uint32_t error, uint64_t cr2)
{
	if (vector == PF_VECTOR) {
		struct kvm_sregs sregs;

		/* CR2 is not VMCS state: a #PF that a VM entry injects finds
		 * it in the processor (SDM 27.6.1). */
		vtx_cpu_get_sregs(vm->cpu, &sregs);
		sregs.cr2 = cr2;
		vtx_cpu_set_sregs(vm->cpu, &sregs);
	}
	l0_vmwrite(vm, VM_ENTRY_INTR_INFO_FIELD,
		   vmx_build_intr_info(vector, INTR_TYPE_HARD_EXCEPTION,
				       has_error));
	if (has_error)
		l0_vmwrite(vm, VM_ENTRY_EXCEPTION_ERROR_CODE, error);
}

static enum l0_exit_action stop_va(struct l0_vm *vm, enum l0_stop_reason reason,
				   uint64_t rip, const char *fmt, va_list ap)
{
	vm->stop.reason = reason;
	vm->stop.level = vm->nvmx->guest_mode ? L0_LEVEL_L2 : L0_LEVEL_L1;
	vm->stop.rip = rip;
	vsnprintf(vm->stop.why, sizeof(vm->stop.why), fmt, ap);
	return EXIT_STOP_VM;
}

enum l0_exit_action l0_stop_vm(struct l0_vm *vm, enum l0_stop_reason reason,
			       const char *fmt, ...)
{
	uint64_t rip = l0_vmread(vm, GUEST_RIP);
	va_list ap;

	va_start(ap, fmt);
	stop_va(vm, reason, rip, fmt, ap);
	va_end(ap);
	return EXIT_STOP_VM;
}

/* A stop inside a guest's run, not at a VM exit: the processor is still
 * in non-root operation, and st says where. */
__attribute__((format(printf, 4, 5))) static enum l0_exit_action
stop_in_run(struct l0_vm *vm, enum l0_stop_reason reason,
	    const struct vtx_stop *st, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	stop_va(vm, reason, st->rip, fmt, ap);
	va_end(ap);
	return EXIT_STOP_VM;
}

const char *l0_exit_reason_name(uint32_t basic)
{
	const char *name = vmx_exit_reason_name(basic);

	return name ? name : "unknown";
}

/* The guest level that exited, for messages. */
static const char *level_name(const struct l0_vm *vm)
{
	return vm->nvmx->guest_mode ? "L2" : "L1";
}

/* ---- devices and MSRs ---------------------------------------------------------- */

enum l0_exit_action l0_handle_pio(struct l0_vm *vm, uint64_t qual)
{
	unsigned int size = vmx_qual_io_get_size(qual);
	uint64_t mask = size == 4 ? 0xffffffffull : (1ull << (8 * size)) - 1;
	struct io_access io = {
		.port = vmx_qual_io_get_port(qual),
		.size = (uint8_t)size,
		.dir = (qual & IO_QUAL_IN) ? IO_READ : IO_WRITE,
	};
	uint64_t rax = l0_read_gpr(vm, VCPU_REGS_RAX);
	int ret;

	if (qual & IO_QUAL_STRING)
		return l0_stop_vm(
			vm, L0_STOP_UNHANDLED,
			"%s used string I/O (%s%s) on port 0x%x: "
			"not handled yet",
			level_name(vm), (qual & IO_QUAL_REP) ? "REP " : "",
			(qual & IO_QUAL_IN) ? "INS" : "OUTS", io.port);
	if (io.dir == IO_WRITE)
		io.data = (uint32_t)(rax & mask);
	ret = io_bus_dispatch(vm->bus, &io);
	if (ret < 0)
		return l0_stop_vm(vm, L0_STOP_INTERNAL,
				  "a %u-byte port access at 0x%x failed: %s",
				  size, io.port, strerror(-ret));
	/* IN AL/AX keeps the rest of RAX; IN EAX zero-extends. */
	if (io.dir == IO_READ)
		l0_write_gpr(vm, VCPU_REGS_RAX,
			     size == 4 ? io.data
				       : (rax & ~mask) | (io.data & mask));
	if (ret == IO_STOP) {
		/* The access completed; the device ends the run. */
		l0_skip_insn(vm);
		return l0_stop_vm(vm, L0_STOP_DEVICE,
				  "a device stopped the machine");
	}
	return EXIT_RESUME_SKIP_INSN;
}

/* MSRs that are guest state in the VMCS: the value there is the one the
 * next VM entry loads (SDM 27.3.2.1), so they are read and written there. */
static bool msr_vmcs_field(uint32_t msr, uint32_t *field)
{
	switch (msr) {
	case MSR_EFER:
		*field = GUEST_IA32_EFER;
		return true;
	case MSR_IA32_CR_PAT:
		*field = GUEST_IA32_PAT;
		return true;
	case MSR_IA32_SYSENTER_CS:
		*field = GUEST_SYSENTER_CS;
		return true;
	case MSR_IA32_SYSENTER_ESP:
		*field = GUEST_SYSENTER_ESP;
		return true;
	case MSR_IA32_SYSENTER_EIP:
		*field = GUEST_SYSENTER_EIP;
		return true;
	case MSR_FS_BASE:
		*field = GUEST_FS_BASE;
		return true;
	case MSR_GS_BASE:
		*field = GUEST_GS_BASE;
		return true;
	case MSR_IA32_DEBUGCTLMSR:
		*field = GUEST_IA32_DEBUGCTL;
		return true;
	default:
		return false;
	}
}

int l0_msr_read(struct l0_vm *vm, uint32_t msr, uint64_t *val)
{
	uint32_t field;
	int ret = evmcs_get_msr(vm, msr, val);

	if (ret == -ENOENT)
		ret = nvmx_get_msr(vm->nvmx, msr, val);
	if (ret != -ENOENT)
		return ret;
	if (msr_vmcs_field(msr, &field)) {
		*val = l0_vmread(vm, field);
		return 0;
	}
	if (vtx_cpu_get_msr(vm->cpu, msr, val))
		return -EINVAL;
	/* SDM 26.3: RDMSR of IA32_TSC adds the TSC offset in effect. */
	if (msr == MSR_IA32_TSC)
		*val += l0_vmread(vm, TSC_OFFSET);
	return 0;
}

/* SDM Vol. 3A 2.2.1, 11.12.2: the values WRMSR refuses with #GP(0). */
static bool msr_value_bad(struct l0_vm *vm, uint32_t msr, uint64_t val)
{
	switch (msr) {
	case MSR_EFER:
		return (val & ~(EFER_SCE | EFER_LME | EFER_LMA | EFER_NX)) ||
		       ((l0_vmread(vm, GUEST_CR0) & X86_CR0_PG) &&
			((val ^ l0_vmread(vm, GUEST_IA32_EFER)) & EFER_LME));
	case MSR_IA32_CR_PAT:
		for (unsigned int b = 0; b < 8; b++) {
			unsigned int t = (val >> (8 * b)) & 0xff;

			if (t == 2 || t == 3 || t >= 8)
				return true;
		}
		return false;
	case MSR_IA32_SYSENTER_ESP:
	case MSR_IA32_SYSENTER_EIP:
	case MSR_FS_BASE:
	case MSR_GS_BASE:
		return !x86_is_canonical(val, false);
	default:
		return false;
	}
}

int l0_msr_write(struct l0_vm *vm, uint32_t msr, uint64_t val)
{
	uint32_t field;
	int ret = evmcs_set_msr(vm, msr, val);

	if (ret == -ENOENT)
		ret = nvmx_set_msr(vm->nvmx, msr, val);

	if (ret != -ENOENT)
		return ret;
	if (msr_vmcs_field(msr, &field)) {
		if (msr_value_bad(vm, msr, val))
			return -EINVAL;
		/* EFER.LMA is read-only to WRMSR. */
		if (msr == MSR_EFER)
			val = (val & ~EFER_LMA) |
			      (l0_vmread(vm, GUEST_IA32_EFER) & EFER_LMA);
		if (msr == MSR_IA32_SYSENTER_CS)
			val &= 0xffff;
		l0_vmwrite(vm, field, val);
		/* EFER.NXE changes what the shadow's leaves may hold; no
		 * EFER that passed the checks above leaves the shadow's
		 * modes, so this cannot stop the run. */
		if (msr == MSR_EFER && vm->shadow)
			l0_shadow_paging_changed(vm);
		return 0;
	}
	if (msr == MSR_IA32_TSC)
		val -= l0_vmread(vm, TSC_OFFSET);
	return vtx_cpu_set_msr(vm->cpu, msr, val) ? -EINVAL : 0;
}

/* ---- L1's exits ----------------------------------------------------------------- */

/* What every L1 exit handler gets. */
struct l1_exit {
	uint32_t reason; /* the whole field */
	uint32_t basic;
	uint64_t qual;
};

typedef enum l0_exit_action (*l1_exit_handler_fn)(struct l0_vm *vm,
						  const struct l1_exit *e);

const char *l0_bt_fallback_name(enum l0_bt_fallback f)
{
	switch (f) {
	case L0_BT_FALLBACK_VMX:
		return "vmx";
	case L0_BT_FALLBACK_VMFAIL:
		return "vmfail";
	case L0_BT_FALLBACK_ENTRY_FAILURE:
		return "entry_failure";
	case L0_BT_FALLBACK_FAULT:
		return "fault";
	case L0_BT_FALLBACK_INSN:
		return "insn";
	case L0_BT_FALLBACK_UNIMPL:
		return "unimpl";
	case L0_BT_FALLBACK_EXIT:
		return "exit";
	case L0_BT_FALLBACK_REGION:
		return "region";
	case L0_BT_FALLBACK_STATE:
		return "state";
	case L0_BT_NR_FALLBACKS:
		break;
	}
	return "unknown";
}

void l0_l1_cpuid(struct l0_vm *vm, uint32_t leaf, uint32_t subleaf,
		 uint32_t r[4])
{
	/* pv: the hypervisor leaves that offer the eVMCS (l0/evmcs.c). */
	if (!evmcs_cpuid(vm, leaf, r))
		vtx_cpu_cpuid(vm->cpu, leaf, subleaf, r);
	if (leaf == 1)
		r[2] |= CPUID_1_ECX_VMX;
}

/* The processor's CPUID, with VMX set: L0 offers it (l0/nvmx.h). */
static enum l0_exit_action l1_handle_cpuid(struct l0_vm *vm,
					   const struct l1_exit *e)
{
	struct kvm_regs regs;
	uint32_t r[4];

	(void)e;
	vtx_cpu_get_regs(vm->cpu, &regs);
	l0_l1_cpuid(vm, (uint32_t)regs.rax, (uint32_t)regs.rcx, r);
	/* CPUID writes the 32-bit registers: bits 63:32 become 0. */
	regs.rax = r[0];
	regs.rbx = r[1];
	regs.rcx = r[2];
	regs.rdx = r[3];
	vtx_cpu_set_regs(vm->cpu, &regs);
	return EXIT_RESUME_SKIP_INSN;
}

static enum l0_exit_action l1_handle_hlt(struct l0_vm *vm,
					 const struct l1_exit *e)
{
	(void)e;
	return l0_stop_vm(vm, L0_STOP_HALTED,
			  "HLT with no interrupt source in the machine");
}

static enum l0_exit_action l1_handle_triple_fault(struct l0_vm *vm,
						  const struct l1_exit *e)
{
	(void)e;
	return l0_stop_vm(vm, L0_STOP_TRIPLE_FAULT,
			  "a triple fault in L1, then shutdown");
}

static enum l0_exit_action l1_handle_io(struct l0_vm *vm,
					const struct l1_exit *e)
{
	return l0_handle_pio(vm, e->qual);
}

static enum l0_exit_action l1_handle_rdmsr(struct l0_vm *vm,
					   const struct l1_exit *e)
{
	uint32_t msr = (uint32_t)l0_read_gpr(vm, VCPU_REGS_RCX);
	uint64_t val;

	(void)e;
	if (l0_msr_read(vm, msr, &val)) {
		l0_inject_exception(vm, GP_VECTOR, true, 0, 0);
		return EXIT_RESUME;
	}
	l0_write_gpr(vm, VCPU_REGS_RAX, (uint32_t)val);
	l0_write_gpr(vm, VCPU_REGS_RDX, val >> 32);
	return EXIT_RESUME_SKIP_INSN;
}

static enum l0_exit_action l1_handle_wrmsr(struct l0_vm *vm,
					   const struct l1_exit *e)
{
	uint32_t msr = (uint32_t)l0_read_gpr(vm, VCPU_REGS_RCX);
	uint64_t val = (uint32_t)l0_read_gpr(vm, VCPU_REGS_RAX) |
		       (l0_read_gpr(vm, VCPU_REGS_RDX) << 32);

	(void)e;
	if (l0_msr_write(vm, msr, val)) {
		l0_inject_exception(vm, GP_VECTOR, true, 0, 0);
		return EXIT_RESUME;
	}
	return EXIT_RESUME_SKIP_INSN;
}

/*
 * MOV to CR0 or CR4 that changes a bit L0 owns (vmcs01's guest/host
 * masks: L0_CR0_OWNED, L0_CR4_OWNED). L1 sees its value through the read
 * shadow; the real register keeps what VMX needs. The #GP(0) rules are
 * the instruction's (SDM Vol. 2B "MOV to CR", Vol. 3C 24.8 in VMX
 * operation).
 */
/* vmcs01 runs L1 as an unrestricted guest: L1 booted with paging off. */
static bool l1_unrestricted(struct l0_vm *vm)
{
	return l0_vmread(vm, SECONDARY_VM_EXEC_CONTROL) &
	       SECONDARY_EXEC_UNRESTRICTED_GUEST;
}

/*
 * L1's MOV to CR0 that turns paging on, as the processor would do it
 * (SDM Vol. 3A 9.8.5, 2.5): #GP(0) for PG without PE, or with EFER.LME
 * and CR4.PAE clear; with EFER.LME, IA-32e mode starts: EFER.LMA and the
 * "IA-32e mode guest" entry control are L0's to set (Vol. 3C 25.8.1,
 * 27.3.1.1). Paging without LME (32-bit or PAE paging outside IA-32e
 * mode) is not handled yet and stops the VM.
 */
static enum l0_exit_action l1_enable_paging(struct l0_vm *vm, uint64_t val)
{
	uint64_t efer = l0_vmread(vm, GUEST_IA32_EFER);

	if (!(val & X86_CR0_PE) ||
	    ((efer & EFER_LME) && !(l0_vmread(vm, GUEST_CR4) & X86_CR4_PAE))) {
		l0_inject_exception(vm, GP_VECTOR, true, 0, 0);
		return EXIT_RESUME;
	}
	if (!(efer & EFER_LME))
		return l0_stop_vm(vm, L0_STOP_UNHANDLED,
				  "L1 enabled paging without EFER.LME (CR0 "
				  "0x%" PRIx64 "): not handled yet",
				  val);
	l0_vmwrite(vm, GUEST_IA32_EFER, efer | EFER_LMA);
	l0_vmwrite(vm, VM_ENTRY_CONTROLS,
		   l0_vmread(vm, VM_ENTRY_CONTROLS) | VM_ENTRY_IA32E_MODE);
	l0_vmwrite(vm, GUEST_CR0, val | X86_CR0_NE | X86_CR0_ET);
	l0_vmwrite(vm, CR0_READ_SHADOW, val | X86_CR0_ET);
	return EXIT_RESUME_SKIP_INSN;
}

static enum l0_exit_action l1_set_cr0(struct l0_vm *vm, uint64_t val)
{
	uint64_t fixed0 = 0, fixed1 = ~0ull;

	nvmx_get_msr(vm->nvmx, MSR_IA32_VMX_CR0_FIXED0, &fixed0);
	nvmx_get_msr(vm->nvmx, MSR_IA32_VMX_CR0_FIXED1, &fixed1);
	/* Bits 63:32 fault, the other reserved bits are ignored (SDM Vol.
	 * 3A 2.5), before the VMX fixed bits are looked at. */
	if (!(val >> 32))
		val &= X86_CR0_DEFINED;
	if ((val >> 32) || ((val & X86_CR0_PG) && !(val & X86_CR0_PE)) ||
	    ((val & X86_CR0_NW) && !(val & X86_CR0_CD)) ||
	    (vm->nvmx->vmxon &&
	     ((val & fixed0) != fixed0 || (val & ~fixed1)))) {
		l0_inject_exception(vm, GP_VECTOR, true, 0, 0);
		return EXIT_RESUME;
	}
	/* A multiboot L1 starts with paging off under an unrestricted
	 * guest (vmcs01_write_controls()) and turns it on once. */
	if (l1_unrestricted(vm) && (val & X86_CR0_PG) &&
	    !(l0_vmread(vm, GUEST_CR0) & X86_CR0_PG))
		return l1_enable_paging(vm, val);
	/* PE and PG cannot be cleared in non-root operation without an
	 * unrestricted guest; NE can, in L1's view only: it changes how x87
	 * errors are reported, and the processor has no x87. */
	if ((val & (X86_CR0_PE | X86_CR0_PG)) != (X86_CR0_PE | X86_CR0_PG))
		return l0_stop_vm(vm, L0_STOP_UNHANDLED,
				  "L1 cleared CR0.PE or PG (CR0 0x%" PRIx64
				  "): not handled yet (the processor offers "
				  "no unrestricted guest)",
				  val);
	l0_vmwrite(vm, GUEST_CR0, val | L0_CR0_OWNED | X86_CR0_ET);
	l0_vmwrite(vm, CR0_READ_SHADOW, val | X86_CR0_ET);
	if (vm->shadow && !l0_shadow_paging_changed(vm))
		return EXIT_STOP_VM;
	return EXIT_RESUME_SKIP_INSN;
}

static enum l0_exit_action l1_set_cr4(struct l0_vm *vm, uint64_t val)
{
	uint64_t fixed1 = 0;

	nvmx_get_msr(vm->nvmx, MSR_IA32_VMX_CR4_FIXED1, &fixed1);
	/* The processor's FIXED1 is every CR4 bit it implements. */
	if ((val & ~fixed1) ||
	    ((l0_vmread(vm, GUEST_IA32_EFER) & EFER_LMA) &&
	     !(val & X86_CR4_PAE)) ||
	    (vm->nvmx->vmxon && !(val & X86_CR4_VMXE))) {
		l0_inject_exception(vm, GP_VECTOR, true, 0, 0);
		return EXIT_RESUME;
	}
	l0_vmwrite(vm, GUEST_CR4, val | L0_CR4_OWNED);
	l0_vmwrite(vm, CR4_READ_SHADOW, val);
	if (vm->shadow && !l0_shadow_paging_changed(vm))
		return EXIT_STOP_VM;
	return EXIT_RESUME_SKIP_INSN;
}

static enum l0_exit_action l1_handle_cr_access(struct l0_vm *vm,
					       const struct l1_exit *e)
{
	unsigned int cr = vmx_qual_cr_get_num(e->qual);
	unsigned int type = vmx_qual_cr_get_type(e->qual);
	uint64_t val = l0_read_gpr(vm, vmx_qual_cr_get_gpr(e->qual));

	/* CR3 exits only under --mmu shadow (l0/shadow_vm.c). */
	if (cr == 3 && vm->shadow &&
	    (type == CR_ACCESS_TYPE_MOV_TO_CR ||
	     type == CR_ACCESS_TYPE_MOV_FROM_CR))
		return l0_shadow_handle_cr3(vm, e->qual);
	if (type == CR_ACCESS_TYPE_MOV_TO_CR && cr == 0)
		return l1_set_cr0(vm, val);
	if (type == CR_ACCESS_TYPE_MOV_TO_CR && cr == 4)
		return l1_set_cr4(vm, val);
	return l0_stop_vm(vm, L0_STOP_UNHANDLED,
			  "L1 control-register access (qualification "
			  "0x%" PRIx64 "): not handled yet",
			  e->qual);
}

/* ept01 maps all of L1's RAM with every right, except the ept12 pages
 * `wp` coherence protects: L1's write to one is L0's (mmu/ept02_wp.c),
 * redone once the page is writable again, with any event whose delivery
 * it interrupted injected again (SDM 28.2.4). Any other violation is an
 * access outside L1's RAM, where L0 has no device yet. */
static enum l0_exit_action l1_handle_ept_violation(struct l0_vm *vm,
						   const struct l1_exit *e)
{
	gpa_t gpa = l0_vmread(vm, GUEST_PHYSICAL_ADDRESS);
	uint32_t idt;
	int err;

	if ((e->qual & EPT_VIOLATION_ACC_WRITE) &&
	    ept02_wp_l1_write(&vm->nvmx->ept02, gpa, &err)) {
		if (err)
			return l0_stop_vm(
				vm, L0_STOP_INTERNAL,
				"cannot unprotect ept12 page 0x%" PRIx64
				" in ept01 (%d)",
				gpa, err);
		idt = (uint32_t)l0_vmread(vm, IDT_VECTORING_INFO_FIELD);
		if (vmx_intr_info_is_valid(idt)) {
			l0_vmwrite(vm, VM_ENTRY_INTR_INFO_FIELD,
				   idt & ~INTR_INFO_UNBLOCK_NMI);
			if (vmx_intr_info_has_error_code(idt))
				l0_vmwrite(vm, VM_ENTRY_EXCEPTION_ERROR_CODE,
					   l0_vmread(vm,
						     IDT_VECTORING_ERROR_CODE));
			if (vmx_intr_type_is_soft(vmx_intr_info_get_type(idt)))
				l0_vmwrite(
					vm, VM_ENTRY_INSTRUCTION_LEN,
					l0_vmread(vm, VM_EXIT_INSTRUCTION_LEN));
		}
		return EXIT_RESUME;
	}
	return l0_stop_vm(vm, L0_STOP_UNHANDLED,
			  "L1 accessed guest-physical 0x%" PRIx64
			  " outside its RAM (qualification 0x%" PRIx64
			  "): not handled yet",
			  l0_vmread(vm, GUEST_PHYSICAL_ADDRESS), e->qual);
}

static enum l0_exit_action l1_handle_ept_misconfig(struct l0_vm *vm,
						   const struct l1_exit *e)
{
	(void)e;
	return l0_stop_vm(vm, L0_STOP_INTERNAL,
			  "ept01 is misconfigured at 0x%" PRIx64,
			  l0_vmread(vm, GUEST_PHYSICAL_ADDRESS));
}

/* Only --mmu shadow intercepts an exception (#PF) or INVLPG in L1. */
static enum l0_exit_action l1_handle_exception(struct l0_vm *vm,
					       const struct l1_exit *e)
{
	return l0_shadow_handle_exception(vm, e->qual);
}

static enum l0_exit_action l1_handle_invlpg(struct l0_vm *vm,
					    const struct l1_exit *e)
{
	return l0_shadow_handle_invlpg(vm, e->qual);
}

/* The named fallback: an exit L0 has no handler for. */
static enum l0_exit_action l1_handle_unhandled(struct l0_vm *vm,
					       const struct l1_exit *e)
{
	return l0_stop_vm(vm, L0_STOP_UNHANDLED,
			  "L1 exit reason %u (%s), qualification 0x%" PRIx64
			  ": not handled yet",
			  e->basic, l0_exit_reason_name(e->basic), e->qual);
}

#define NVMX_HANDLER(name)                                                   \
	static enum l0_exit_action l1_handle_##name(struct l0_vm *vm,        \
						    const struct l1_exit *e) \
	{                                                                    \
		(void)e;                                                     \
		return nvmx_handle_##name(vm);                               \
	}
NVMX_HANDLER(vmxon)
NVMX_HANDLER(vmxoff)
NVMX_HANDLER(vmclear)
NVMX_HANDLER(vmptrld)
NVMX_HANDLER(vmptrst)
NVMX_HANDLER(vmread)
NVMX_HANDLER(vmwrite)
NVMX_HANDLER(vmlaunch)
NVMX_HANDLER(vmresume)
NVMX_HANDLER(invept)
NVMX_HANDLER(invvpid)
NVMX_HANDLER(vmcall)
#undef NVMX_HANDLER

/* Indexed by basic exit reason; a hole is l1_handle_unhandled(). Only
 * what vmcs01's controls can cause is here (l0_vm_init()). */
static const l1_exit_handler_fn l1_exit_handlers[VMX_NR_EXIT_REASONS] = {
	[EXIT_REASON_EXCEPTION_NMI] = l1_handle_exception,
	[EXIT_REASON_TRIPLE_FAULT] = l1_handle_triple_fault,
	[EXIT_REASON_INVLPG] = l1_handle_invlpg,
	[EXIT_REASON_CPUID] = l1_handle_cpuid,
	[EXIT_REASON_HLT] = l1_handle_hlt,
	[EXIT_REASON_VMCALL] = l1_handle_vmcall,
	[EXIT_REASON_VMCLEAR] = l1_handle_vmclear,
	[EXIT_REASON_VMLAUNCH] = l1_handle_vmlaunch,
	[EXIT_REASON_VMPTRLD] = l1_handle_vmptrld,
	[EXIT_REASON_VMPTRST] = l1_handle_vmptrst,
	[EXIT_REASON_VMREAD] = l1_handle_vmread,
	[EXIT_REASON_VMRESUME] = l1_handle_vmresume,
	[EXIT_REASON_VMWRITE] = l1_handle_vmwrite,
	[EXIT_REASON_VMOFF] = l1_handle_vmxoff,
	[EXIT_REASON_VMON] = l1_handle_vmxon,
	[EXIT_REASON_CR_ACCESS] = l1_handle_cr_access,
	[EXIT_REASON_IO_INSTRUCTION] = l1_handle_io,
	[EXIT_REASON_MSR_READ] = l1_handle_rdmsr,
	[EXIT_REASON_MSR_WRITE] = l1_handle_wrmsr,
	[EXIT_REASON_EPT_VIOLATION] = l1_handle_ept_violation,
	[EXIT_REASON_EPT_MISCONFIG] = l1_handle_ept_misconfig,
	[EXIT_REASON_INVEPT] = l1_handle_invept,
	[EXIT_REASON_INVVPID] = l1_handle_invvpid,
};

static enum l0_exit_action l1_handle_exit(struct l0_vm *vm)
{
	struct l1_exit e;
	l1_exit_handler_fn handler = NULL;

	e.reason = (uint32_t)l0_vmread(vm, VM_EXIT_REASON);
	e.basic = vmx_exit_reason_basic(e.reason);
	e.qual = l0_vmread(vm, EXIT_QUALIFICATION);
	if (e.basic < VMX_NR_EXIT_REASONS) {
		vm->stats.l1_exits[e.basic]++;
		handler = l1_exit_handlers[e.basic];
	}
	if (e.basic == EXIT_REASON_VMREAD)
		vm->stats.vmreads++;
	if (e.basic == EXIT_REASON_VMWRITE)
		vm->stats.vmwrites++;
	if (vm->span >= 0) {
		struct l0_reflect_stats *r = &vm->stats.reflected[vm->span];

		r->l1_exits++;
		r->vmreads += e.basic == EXIT_REASON_VMREAD;
		r->vmwrites += e.basic == EXIT_REASON_VMWRITE;
	}
	if (e.reason & VMX_EXIT_REASONS_FAILED_VMENTRY)
		return l0_stop_vm(vm, L0_STOP_INTERNAL,
				  "VM entry to L1 failed: exit reason %u (%s), "
				  "qualification %" PRIu64,
				  e.basic, l0_exit_reason_name(e.basic),
				  e.qual);
	if (!handler)
		handler = l1_handle_unhandled;
	return handler(vm, &e);
}

/* ---- the run loop ----------------------------------------------------------------- */

static void clock_read(const struct l0_vm *vm, struct l0_clock *c)
{
	struct vtx_cpu_clock st;

	vtx_cpu_get_clock(vm->cpu, &st);
	c->cycles = st.cycles;
	c->host = st.cycles_host;
	c->switches = st.cycles_switch;
	c->guest = st.cycles_guest;
	c->insns = st.insns;
	c->vm_exits = st.vm_exits;
	c->shadow_vmreads = st.shadow_vmreads;
	c->shadow_vmwrites = st.shadow_vmwrites;
}

/* now - then, member by member. */
static struct l0_clock clock_since(const struct l0_clock *now,
				   const struct l0_clock *then)
{
	return (struct l0_clock){
		.cycles = now->cycles - then->cycles,
		.host = now->host - then->host,
		.switches = now->switches - then->switches,
		.guest = now->guest - then->guest,
		.insns = now->insns - then->insns,
		.vm_exits = now->vm_exits - then->vm_exits,
		.shadow_vmreads = now->shadow_vmreads - then->shadow_vmreads,
		.shadow_vmwrites = now->shadow_vmwrites - then->shadow_vmwrites,
	};
}

static struct l0_reflect_stats *open_span(struct l0_vm *vm)
{
	return vm->span >= 0 ? &vm->stats.reflected[vm->span] : NULL;
}

/* Charges the span under way, if any, cycles of L0's VMX operations
 * (host) and of world switches. */
static void span_charge(struct l0_vm *vm, uint64_t host, uint64_t switches)
{
	struct l0_reflect_stats *r = open_span(vm);

	if (!r)
		return;
	r->cycles += host + switches;
	r->cycles_l0 += host;
	r->cycles_switch += switches;
}

/*
 * L0's work between two runs (exit handling: its VMREADs, VMWRITEs,
 * VMPTRLDs) goes to the span under way: the span a reflection has just
 * opened, or the one L1 is working in. Only L0 runs here, so the
 * guest buckets do not move; were they to, the time would still be L0's.
 */
static void account_between_runs(struct l0_vm *vm, const struct l0_clock *now)
{
	struct l0_clock d = clock_since(now, &vm->mark);

	span_charge(vm, d.host + d.guest, d.switches);
	/* An L2 exit that was not reflected is L0's alone (a hidden fault,
	 * or an exit L0 handled for L2): outside every span. */
	vm->exit_cycles = 0;
	vm->mark = *now;
}

void l0_account_l0_work(struct l0_vm *vm)
{
	struct l0_clock now;

	clock_read(vm, &now);
	account_between_runs(vm, &now);
}

void l0_account_translated(struct l0_vm *vm, uint64_t cycles, uint64_t insns)
{
	struct l0_reflect_stats *r = open_span(vm);

	vm->stats.cycles_l1_bt += cycles;
	vm->stats.insns_l1_bt += insns;
	if (r) {
		r->cycles += cycles;
		r->cycles_l1_bt += cycles;
		r->l1_bt_insns += insns;
	}
	clock_read(vm, &vm->mark);
}

void l0_account_translated_l2(struct l0_vm *vm, uint64_t cycles, uint64_t insns)
{
	vm->stats.bt_l2.cycles += cycles;
	vm->stats.bt_l2.insns += insns;
	vm->l2_cycles += cycles;
	vm->l2_insns += insns;
	vm->exit_cycles = 0;
	clock_read(vm, &vm->mark);
}

/*
 * One run: L0's VMLAUNCH/VMRESUME, the entry, the guest's time, and the
 * exit, with the span as it was before the entry (l2 says which guest
 * ran). An L1 run stays inside its span. An L2 run splits: the operation
 * and the entry close the span L1 was in; the exit waits in exit_cycles
 * for l0_span_open(), since only the exit's handler knows whether L1
 * gets it. The exit's share of the switch bucket is the profile's
 * vm_exit per exit: the model charges each exit that, and entries the
 * rest (vtx/vmx_exit.c, docs/cost-model.md).
 */
static void account_run(struct l0_vm *vm, bool l2, int span_before,
			const struct l0_clock *now)
{
	struct l0_clock d = clock_since(now, &vm->mark);
	uint64_t exit_sw = d.vm_exits * vm->vm_exit_cost;
	int span_after = vm->span;

	if (exit_sw > d.switches)
		exit_sw = d.switches;
	vm->mark = *now;
	if (!l2) {
		struct l0_reflect_stats *r = open_span(vm);

		vm->stats.cycles_l1 += d.guest;
		/* Only L1 runs with VMCS shadowing (vmcs01). */
		vm->stats.shadow_vmreads += d.shadow_vmreads;
		vm->stats.shadow_vmwrites += d.shadow_vmwrites;
		span_charge(vm, d.host, d.switches);
		if (r) {
			r->cycles += d.guest;
			r->cycles_l1 += d.guest;
			r->shadow_vmreads += d.shadow_vmreads;
			r->shadow_vmwrites += d.shadow_vmwrites;
		}
		return;
	}
	vm->stats.cycles_l2 += d.guest;
	vm->l2_cycles += d.guest;
	vm->l2_insns += d.insns;
	vm->span = span_before;
	span_charge(vm, d.host, d.switches - exit_sw);
	vm->span = span_after;
	vm->exit_cycles = exit_sw;
}

void l0_span_open(struct l0_vm *vm, uint32_t basic)
{
	struct l0_reflect_stats *r;

	if (basic >= VMX_NR_EXIT_REASONS)
		return;
	r = &vm->stats.reflected[basic];
	r->count++;
	/* The span of this exit starts with the exit itself, unless L0 made
	 * it from translated L2 code (l0/bt_l2.c). */
	if (!vm->exit_synthesized)
		r->world_switches++;
	vm->exit_synthesized = false;
	r->cycles += vm->exit_cycles;
	r->cycles_switch += vm->exit_cycles;
	r->l2_cycles += vm->l2_cycles;
	r->l2_insns += vm->l2_insns;
	vm->exit_cycles = 0;
	vm->l2_cycles = 0;
	vm->l2_insns = 0;
	vm->span = (int)basic;
}

/* A world switch, charged to the run and to the span under way. */
static void count_world_switch(struct l0_vm *vm, bool entry)
{
	if (entry)
		vm->stats.vm_entries++;
	else
		vm->stats.vm_exits++;
	if (vm->span >= 0)
		vm->stats.reflected[vm->span].world_switches++;
}

/* Enters the current guest (vmcs01 for L1, vmcs02 for L2) and handles
 * what ends its run. */
static enum l0_exit_action run_once(struct l0_vm *vm)
{
	struct nvmx *n = vm->nvmx;
	bool l2 = n->guest_mode;
	bool launch = l2 ? !n->vmcs02_launched : !vm->vmcs01_launched;
	int span_before = vm->span;
	struct l0_clock before, after;
	enum l0_exit_action act;
	uint64_t ran;
	struct vtx_stop st;
	int ret;

	/* --bt: L2's hot region runs translated instead (l0/bt_l2.c). */
	if (l2 && vm->bt_l2_run && vm->bt_l2_run(vm, &act))
		return act;

	/* L0 wrote vmcs12 since L1 last ran: L1 must read it in its shadow
	 * VMCS (KVM does this when it switches to the guest). The cost is
	 * L0's, charged below to the span under way. */
	if (!l2) {
		nvmx_sync_vmcs12_to_shadow(vm);
		if (vm->vmx_err)
			return EXIT_RESUME;
	}
	clock_read(vm, &before);
	account_between_runs(vm, &before);
	/* L0 itself may be what loops (exits that never let the guest
	 * retire anything): the request is looked at on every entry too. */
	if (vtx_cpu_stop_pending(vm->cpu))
		return l0_stop_vm(vm, L0_STOP_REQUESTED,
				  "stopped at the host's request before "
				  "entering %s",
				  level_name(vm));
	if (vm->insn_limit) {
		if (before.insns >= vm->insn_limit)
			return l0_stop_vm(vm, L0_STOP_INSN_LIMIT,
					  "instruction limit reached");
		vtx_cpu_set_insn_limit(vm->cpu, vm->insn_limit - before.insns);
	}
	ret = launch ? vtx_vmlaunch(vm->cpu, &st) : vtx_vmresume(vm->cpu, &st);
	clock_read(vm, &after);
	ran = after.insns - before.insns;
	if (l2) {
		vm->stats.insns_l2 += ran;
	} else {
		vm->stats.insns_l1 += ran;
		if (vm->span >= 0)
			vm->stats.reflected[vm->span].l1_insns += ran;
	}
	if (ret > 0 && l2) {
		account_run(vm, l2, span_before, &after);
		return nested_vmx_entry_vmfail(vm, ret);
	}
	if (ret) {
		account_run(vm, l2, span_before, &after);
		return l0_stop_vm(
			vm, L0_STOP_INTERNAL, "%s %s of %s failed (%d)",
			launch ? "VMLAUNCH" : "VMRESUME",
			l2 ? "vmcs02" : "vmcs01", level_name(vm), ret);
	}
	if (L0_TRACING(vm))
		l0_trace_run(vm, l2, before.cycles, after.cycles,
			     st.reason == VTX_STOP_VMEXIT);
	count_world_switch(vm, true);
	/* The entry to L2 closes the span of the exit L1 just handled. */
	if (l2)
		vm->span = -1;
	account_run(vm, l2, span_before, &after);

	switch (st.reason) {
	case VTX_STOP_VMEXIT:
		break;
	case VTX_STOP_INSN_LIMIT:
		return stop_in_run(vm, L0_STOP_INSN_LIMIT, &st, "%s", st.why);
	case VTX_STOP_HALTED:
		/* An L2 whose HLT L1 does not intercept. */
		return stop_in_run(vm, L0_STOP_HALTED, &st, "%s", st.why);
	case VTX_STOP_TRIPLE_FAULT:
		return stop_in_run(vm, L0_STOP_TRIPLE_FAULT, &st, "%s", st.why);
	case VTX_STOP_PLATFORM:
		return stop_in_run(vm, L0_STOP_INTERNAL, &st,
				   "a port access reached the platform "
				   "although every port exits: %s",
				   st.why);
	case VTX_STOP_REQUESTED:
		return stop_in_run(vm, L0_STOP_REQUESTED, &st, "%s", st.why);
	case VTX_STOP_INIT:
		/* L0 runs its guests in non-root, where INIT exits. */
		return stop_in_run(vm, L0_STOP_INTERNAL, &st,
				   "an INIT stopped the model outside VMX "
				   "operation: %s",
				   st.why);
	}
	count_world_switch(vm, false);
	/* A VMCS whose entry failed its guest-state checks stays clear. */
	if (!(l0_vmread(vm, VM_EXIT_REASON) &
	      VMX_EXIT_REASONS_FAILED_VMENTRY)) {
		if (l2)
			n->vmcs02_launched = true;
		else
			vm->vmcs01_launched = true;
	}
	if (l2)
		return nested_handle_l2_exit(vm);
	return l1_handle_exit(vm);
}

void l0_vm_run(struct l0_vm *vm, uint64_t insn_limit)
{
	struct vtx_cost_profile p;

	vm->insn_limit = insn_limit;
	vtx_cpu_get_cost_profile(vm->cpu, &p);
	vm->vm_exit_cost = p.vm_exit;
	clock_read(vm, &vm->mark);
	for (;;) {
		enum l0_exit_action act = run_once(vm);

		if (act == EXIT_RESUME_SKIP_INSN)
			l0_skip_insn(vm);
		if (vm->vmx_err) {
			l0_stop_vm(vm, L0_STOP_INTERNAL,
				   "a VMREAD/VMWRITE of field 0x%x (%s) "
				   "failed: %d",
				   vm->vmx_err_field,
				   vmcs_field_name(vm->vmx_err_field)
					   ? vmcs_field_name(vm->vmx_err_field)
					   : "unknown",
				   vm->vmx_err);
			return;
		}
		if (act == EXIT_STOP_VM)
			return;
	}
}

/* ---- setting the VM up ------------------------------------------------------- */

/* A control word: the bits L0 wants, which the processor must allow, plus
 * the bits it forces (TRUE capability MSR, SDM Appendix A.3-A.5). */
static int ctl_word(struct vtx_cpu *cpu, uint32_t msr, uint32_t want,
		    uint32_t *out, char *err, size_t errlen)
{
	uint64_t cap;

	if (vtx_cpu_get_msr(cpu, msr, &cap) || (want & ~(uint32_t)(cap >> 32)))
		return errmsg(-ENODEV, err, errlen,
			      "the processor lacks VMX controls 0x%x of MSR "
			      "0x%x that L0 needs",
			      want & ~(uint32_t)(cap >> 32), msr);
	*out = want | (uint32_t)cap;
	return 0;
}

static void write_guest_seg(struct l0_vm *vm, uint32_t sel_field,
			    const struct kvm_segment *s)
{
	uint32_t idx = sel_field - GUEST_ES_SELECTOR;

	l0_vmwrite(vm, sel_field, s->selector);
	l0_vmwrite(vm, GUEST_ES_BASE + idx, s->base);
	l0_vmwrite(vm, GUEST_ES_LIMIT + idx, s->limit);
	l0_vmwrite(vm, GUEST_ES_AR_BYTES + idx, x86_seg_to_vmx_ar(s));
}

/*
 * vmcs01's guest state: L1 exactly as the boot contract left the vCPU
 * (l0/boot.c), CR0/CR4 real values with the bits VMX needs and L1's own
 * values in the read shadows. The general registers stay in the vCPU.
 */
static int vmcs01_write_guest_state(struct l0_vm *vm)
{
	struct kvm_sregs s;
	struct kvm_regs r;
	uint64_t pat = X86_RESET_PAT, cs = 0, esp = 0, eip = 0;

	if (vtx_cpu_get_sregs(vm->cpu, &s) || vtx_cpu_get_regs(vm->cpu, &r))
		return -EINVAL;
	vtx_cpu_get_msr(vm->cpu, MSR_IA32_CR_PAT, &pat);
	vtx_cpu_get_msr(vm->cpu, MSR_IA32_SYSENTER_CS, &cs);
	vtx_cpu_get_msr(vm->cpu, MSR_IA32_SYSENTER_ESP, &esp);
	vtx_cpu_get_msr(vm->cpu, MSR_IA32_SYSENTER_EIP, &eip);

	/* An unrestricted guest may run with PE and PG clear (SDM 26.3.1.1):
	 * only NE is forced then. The mask still makes L1's writes exit. */
	l0_vmwrite(vm, GUEST_CR0,
		   s.cr0 | (l1_unrestricted(vm) ? (uint64_t)X86_CR0_NE
						: L0_CR0_OWNED));
	l0_vmwrite(vm, CR0_GUEST_HOST_MASK, L0_CR0_OWNED);
	l0_vmwrite(vm, CR0_READ_SHADOW, s.cr0);
	l0_vmwrite(vm, GUEST_CR3, s.cr3);
	l0_vmwrite(vm, GUEST_CR4, s.cr4 | L0_CR4_OWNED);
	l0_vmwrite(vm, CR4_GUEST_HOST_MASK, L0_CR4_OWNED);
	l0_vmwrite(vm, CR4_READ_SHADOW, s.cr4);
	l0_vmwrite(vm, GUEST_IA32_EFER, s.efer);
	l0_vmwrite(vm, GUEST_IA32_PAT, pat);
	l0_vmwrite(vm, GUEST_DR7, DR7_FIXED_1);
	l0_vmwrite(vm, GUEST_IA32_DEBUGCTL, 0);
	write_guest_seg(vm, GUEST_ES_SELECTOR, &s.es);
	write_guest_seg(vm, GUEST_CS_SELECTOR, &s.cs);
	write_guest_seg(vm, GUEST_SS_SELECTOR, &s.ss);
	write_guest_seg(vm, GUEST_DS_SELECTOR, &s.ds);
	write_guest_seg(vm, GUEST_FS_SELECTOR, &s.fs);
	write_guest_seg(vm, GUEST_GS_SELECTOR, &s.gs);
	write_guest_seg(vm, GUEST_LDTR_SELECTOR, &s.ldt);
	write_guest_seg(vm, GUEST_TR_SELECTOR, &s.tr);
	l0_vmwrite(vm, GUEST_GDTR_BASE, s.gdt.base);
	l0_vmwrite(vm, GUEST_GDTR_LIMIT, s.gdt.limit);
	l0_vmwrite(vm, GUEST_IDTR_BASE, s.idt.base);
	l0_vmwrite(vm, GUEST_IDTR_LIMIT, s.idt.limit);
	l0_vmwrite(vm, GUEST_SYSENTER_CS, cs);
	l0_vmwrite(vm, GUEST_SYSENTER_ESP, esp);
	l0_vmwrite(vm, GUEST_SYSENTER_EIP, eip);
	l0_vmwrite(vm, GUEST_RIP, r.rip);
	l0_vmwrite(vm, GUEST_RSP, r.rsp);
	l0_vmwrite(vm, GUEST_RFLAGS, r.rflags);
	l0_vmwrite(vm, GUEST_ACTIVITY_STATE, GUEST_ACTIVITY_ACTIVE);
	l0_vmwrite(vm, GUEST_INTERRUPTIBILITY_INFO, 0);
	l0_vmwrite(vm, GUEST_PENDING_DBG_EXCEPTIONS, 0);
	l0_vmwrite(vm, VMCS_LINK_POINTER, ~0ull);
	return 0;
}

/* Sets the read and write intercept bits of msr (SDM 25.6.9). */
static void msr_bitmap_intercept(uint8_t *bitmap, uint32_t msr)
{
	unsigned int base = msr >= 0xc0000000u ? 1024 : 0;
	unsigned int bit = msr & 0x1fff;

	bitmap[base + bit / 8] |= (uint8_t)(1u << (bit & 7));
	bitmap[2048 + base + bit / 8] |= (uint8_t)(1u << (bit & 7));
}

/*
 * vmcs01's controls: HLT exiting (nothing can wake L1), unconditional I/O
 * exiting (L1's devices are L0's bus), the MSR bitmap with the MSRs L0
 * virtualizes, EPT with ept01, RDTSCP as a native guest has it; the CR
 * bits VMX fixes owned by L0.
 */
static int vmcs01_write_controls(struct l0_vm *vm, char *err, size_t errlen)
{
	uint32_t pin, proc, proc2, exit_ctls, entry_ctls, ug = 0;
	uint64_t may2 = 0;
	struct kvm_sregs sregs;
	uint8_t *bitmap = vtx_hpa_ptr(vm->m, vm->msr_bitmap01, PAGE_SIZE);
	int ret;

	if (!bitmap)
		return errmsg(-ENOMEM, err, errlen, "no MSR bitmap");
	msr_bitmap_intercept(bitmap, MSR_IA32_FEAT_CTL);
	for (uint32_t msr = MSR_IA32_VMX_FIRST; msr <= MSR_IA32_VMX_LAST; msr++)
		msr_bitmap_intercept(bitmap, msr);

	vtx_cpu_get_msr(vm->cpu, MSR_IA32_VMX_PROCBASED_CTLS2, &may2);
	/* A multiboot L1 starts in 32-bit protected mode with paging off
	 * (l0/multiboot.c): only an unrestricted guest runs that under EPT
	 * (SDM 26.3.1.1), until L1 enters long mode itself. */
	if (vtx_cpu_get_sregs(vm->cpu, &sregs))
		return errmsg(-EINVAL, err, errlen,
			      "cannot read L1's boot state");
	if (!(sregs.cr0 & X86_CR0_PG)) {
		if (!((may2 >> 32) & SECONDARY_EXEC_UNRESTRICTED_GUEST))
			return errmsg(-ENOTSUP, err, errlen,
				      "L1 starts with paging off and the "
				      "processor has no unrestricted guest");
		ug = SECONDARY_EXEC_UNRESTRICTED_GUEST;
	}
	ret = ctl_word(vm->cpu, MSR_IA32_VMX_TRUE_PINBASED_CTLS, 0, &pin, err,
		       errlen);
	if (!ret)
		ret = ctl_word(vm->cpu, MSR_IA32_VMX_TRUE_PROCBASED_CTLS,
			       CPU_BASED_HLT_EXITING |
				       CPU_BASED_UNCOND_IO_EXITING |
				       CPU_BASED_USE_MSR_BITMAPS |
				       CPU_BASED_ACTIVATE_SECONDARY_CONTROLS,
			       &proc, err, errlen);
	if (!ret)
		ret = ctl_word(vm->cpu, MSR_IA32_VMX_PROCBASED_CTLS2,
			       SECONDARY_EXEC_ENABLE_EPT | ug |
				       ((uint32_t)(may2 >> 32) &
					(SECONDARY_EXEC_ENABLE_RDTSCP |
					 SECONDARY_EXEC_ENABLE_VPID)),
			       &proc2, err, errlen);
	if (!ret)
		ret = ctl_word(
			vm->cpu, MSR_IA32_VMX_TRUE_EXIT_CTLS,
			VM_EXIT_HOST_ADDR_SPACE_SIZE |
				VM_EXIT_SAVE_DEBUG_CONTROLS |
				VM_EXIT_SAVE_IA32_PAT | VM_EXIT_LOAD_IA32_PAT |
				VM_EXIT_SAVE_IA32_EFER | VM_EXIT_LOAD_IA32_EFER,
			&exit_ctls, err, errlen);
	if (!ret)
		ret = ctl_word(vm->cpu, MSR_IA32_VMX_TRUE_ENTRY_CTLS,
			       VM_ENTRY_LOAD_DEBUG_CONTROLS |
				       VM_ENTRY_IA32E_MODE |
				       VM_ENTRY_LOAD_IA32_PAT |
				       VM_ENTRY_LOAD_IA32_EFER,
			       &entry_ctls, err, errlen);
	if (ret)
		return ret;
	vm->pin_must1 = pin;
	vm->proc_must1 =
		proc & ~(uint32_t)(CPU_BASED_HLT_EXITING |
				   CPU_BASED_UNCOND_IO_EXITING |
				   CPU_BASED_USE_MSR_BITMAPS |
				   CPU_BASED_ACTIVATE_SECONDARY_CONTROLS);
	vm->exit_ctls = exit_ctls;
	vm->entry_ctls = entry_ctls;

	l0_vmwrite(vm, PIN_BASED_VM_EXEC_CONTROL, pin);
	l0_vmwrite(vm, CPU_BASED_VM_EXEC_CONTROL, proc);
	l0_vmwrite(vm, SECONDARY_VM_EXEC_CONTROL, proc2);
	l0_vmwrite(vm, VM_EXIT_CONTROLS, exit_ctls);
	/* "IA-32e mode guest" must match L1's EFER.LMA (SDM 26.3.1.1). */
	l0_vmwrite(vm, VM_ENTRY_CONTROLS,
		   (sregs.efer & EFER_LMA)
			   ? entry_ctls
			   : entry_ctls & ~(uint32_t)VM_ENTRY_IA32E_MODE);
	l0_vmwrite(vm, EXCEPTION_BITMAP, 0);
	l0_vmwrite(vm, PAGE_FAULT_ERROR_CODE_MASK, 0);
	l0_vmwrite(vm, PAGE_FAULT_ERROR_CODE_MATCH, 0);
	l0_vmwrite(vm, MSR_BITMAP, vm->msr_bitmap01);
	l0_vmwrite(vm, EPT_POINTER, vm->eptp01);
	vm->vpid01 = proc2 & SECONDARY_EXEC_ENABLE_VPID;
	if (vm->vpid01)
		l0_vmwrite(vm, VIRTUAL_PROCESSOR_ID, L0_VPID01);
	l0_vmwrite(vm, TSC_OFFSET, 0);
	l0_vmwrite(vm, CR3_TARGET_COUNT, 0);
	l0_vmwrite(vm, VM_EXIT_MSR_STORE_COUNT, 0);
	l0_vmwrite(vm, VM_EXIT_MSR_LOAD_COUNT, 0);
	l0_vmwrite(vm, VM_ENTRY_MSR_LOAD_COUNT, 0);
	l0_vmwrite(vm, VM_ENTRY_INTR_INFO_FIELD, 0);
	return 0;
}

/*
 * L0's host state. A VM exit returns to L0's C code and loads none of it,
 * but VM entry checks it (SDM 27.2.2-27.2.4): 64-bit, paging on, flat
 * selectors of a plausible GDT, canonical bases.
 */
static void l0_host_state_init(struct vmcs_l0_host *h)
{
	memset(h, 0, sizeof(*h));
	h->cr0 = X86_CR0_PE | X86_CR0_MP | X86_CR0_ET | X86_CR0_NE |
		 X86_CR0_WP | X86_CR0_PG;
	h->cr3 = 0;
	h->cr4 = X86_CR4_PAE | X86_CR4_VMXE;
	h->efer = EFER_SCE | EFER_LME | EFER_LMA | EFER_NX;
	h->pat = X86_RESET_PAT;
	h->cs = 0x08;
	h->ss = h->ds = h->es = 0x10;
	h->tr = 0x20;
}

/* VMXON region and VMCSs carry the processor's revision (SDM 25.2). */
static int vmx_region(struct l0_vm *vm, uint32_t rev, hpa_t *hpa)
{
	int ret = l0_area_alloc_page(&vm->area, hpa);

	if (!ret)
		ret = vtx_hpa_write(vm->m, *hpa, &rev, sizeof(rev));
	return ret;
}

int l0_vm_init(struct l0_vm *vm, struct vtx_machine *m, struct vtx_cpu *cpu,
	       struct io_bus *bus, uint64_t mem_size, char *err, size_t errlen)
{
	uint64_t basic;
	uint32_t cpuid[4] = { 0 };
	uint32_t rev;
	int ret;

	memset(vm, 0, sizeof(*vm));
	vm->m = m;
	vm->cpu = cpu;
	vm->bus = bus;
	vm->span = -1;
	vtx_cpu_cpuid(cpu, 0x80000008u, 0, cpuid);
	ret = l1mem_init(&vm->mem, m, mem_size, cpuid[0] & 0xff);
	if (!ret)
		ret = l0_area_init(&vm->area, m, mem_size,
				   vtx_arena_size(m) - mem_size);
	if (ret)
		return errmsg(ret, err, errlen,
			      "no room for the L0 area after %" PRIu64
			      " bytes of L1 RAM",
			      mem_size);
	ret = nvmx_init(vm, err, errlen);
	if (ret)
		return ret;

	if (vtx_cpu_get_msr(cpu, MSR_IA32_VMX_BASIC, &basic))
		return errmsg(-ENODEV, err, errlen, "the processor has no VMX");
	rev = vmx_basic_get_revision(basic);
	ret = vmx_region(vm, rev, &vm->vmxon_region);
	if (!ret)
		ret = vmx_region(vm, rev, &vm->vmcs01);
	if (!ret)
		ret = vmx_region(vm, rev, &vm->vmcs02);
	if (!ret)
		ret = l0_area_alloc_page(&vm->area, &vm->msr_bitmap01);
	if (!ret)
		ret = ept01_build(&vm->area, mem_size, &vm->eptp01);
	if (ret)
		return errmsg(ret, err, errlen,
			      "the L0 area (%" PRIu64
			      " MiB) is too small for ept01 and the VMCSs",
			      l0_area_size(&vm->area) >> 20);

	if (vtx_vmxon(cpu, vm->vmxon_region) || vtx_vmclear(cpu, vm->vmcs01) ||
	    vtx_vmclear(cpu, vm->vmcs02) || vtx_vmptrld(cpu, vm->vmcs01))
		return errmsg(-EIO, err, errlen,
			      "VMXON/VMCLEAR/VMPTRLD of L0's regions failed");
	ret = vmcs01_write_controls(vm, err, errlen);
	if (ret)
		return ret;
	if (vmcs01_write_guest_state(vm))
		return errmsg(-EINVAL, err, errlen,
			      "cannot read L1's boot state");
	l0_host_state_init(&vm->host);
	ret = vmcs_write_l0_host_state(cpu, &vm->host);
	if (ret || vm->vmx_err)
		return errmsg(-EIO, err, errlen,
			      "VMWRITE of vmcs01 field 0x%x failed (%d)",
			      vm->vmx_err_field,
			      vm->vmx_err ? vm->vmx_err : ret);
	return 0;
}

int l0_vm_set_vmcs_access(struct l0_vm *vm, enum vmcs_access_mode mode,
			  char *err, size_t errlen)
{
	const char *name = vmcs_access_mode_name(mode);
	uint64_t basic = 0, may2 = 0, misc = 0;
	uint8_t *rd, *wr;
	int ret;

	vm->vmcs_access = mode;
	/* bt: L1's handler is translated (l0/bt_l1.h, set up after the
	 * MMU); L1's VMREAD/VMWRITE on the hardware exit as under trap. */
	if (mode == VMCS_ACCESS_TRAP || mode == VMCS_ACCESS_BT)
		return 0;
	/* pv needs no hardware: L1's eVMCS is its own memory. */
	if (mode == VMCS_ACCESS_PV) {
		vm->nvmx->evmcs.offered = true;
		return 0;
	}
	vtx_cpu_get_msr(vm->cpu, MSR_IA32_VMX_PROCBASED_CTLS2, &may2);
	if (!((may2 >> 32) & SECONDARY_EXEC_SHADOW_VMCS))
		return errmsg(-ENODEV, err, errlen,
			      "--vmcs-access %s: the processor lacks VMCS "
			      "shadowing",
			      name);
	vtx_cpu_get_msr(vm->cpu, MSR_IA32_VMX_BASIC, &basic);
	ret = vmx_region(vm,
			 vmx_basic_get_revision(basic) | VMCS_SHADOW_INDICATOR,
			 &vm->shadow_vmcs);
	if (!ret)
		ret = l0_area_alloc_page(&vm->area, &vm->vmread_bitmap);
	if (!ret)
		ret = l0_area_alloc_page(&vm->area, &vm->vmwrite_bitmap);
	rd = vtx_hpa_ptr(vm->m, vm->vmread_bitmap, PAGE_SIZE);
	wr = vtx_hpa_ptr(vm->m, vm->vmwrite_bitmap, PAGE_SIZE);
	if (ret || !rd || !wr)
		return errmsg(-ENOMEM, err, errlen,
			      "the L0 area has no room for the shadow VMCS");
	/* L1 may write the VM-exit information fields of its VMCS when
	 * its IA32_VMX_MISC[29] says so (SDM 31.3 "VMWRITE"). */
	nvmx_get_msr(vm->nvmx, MSR_IA32_VMX_MISC, &misc);
	vmcs_shadow_set_init(&vm->nvmx->shadow, mode,
			     misc & VMX_MISC_VMWRITE_SHADOW_RO_FIELDS);
	vmcs_shadow_fill_bitmaps(&vm->nvmx->shadow, rd, wr);
	/* vmcs01 is current; the control itself is set only while L1 has
	 * a current vmcs12 (l0/nvmx.c). */
	if (vtx_vmclear(vm->cpu, vm->shadow_vmcs))
		return errmsg(-EIO, err, errlen,
			      "VMCLEAR of the shadow VMCS failed");
	l0_vmwrite(vm, VMREAD_BITMAP, vm->vmread_bitmap);
	l0_vmwrite(vm, VMWRITE_BITMAP, vm->vmwrite_bitmap);
	if (vm->vmx_err)
		return errmsg(-EIO, err, errlen,
			      "VMWRITE of vmcs01 field 0x%x failed (%d)",
			      vm->vmx_err_field, vm->vmx_err);
	return 0;
}

void l0_vm_destroy(struct l0_vm *vm)
{
	l0_vm_destroy_mmu(vm);
	if (vm->nvmx)
		nvmx_destroy(vm);
}
