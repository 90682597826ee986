/* SPDX-License-Identifier: MIT */
/*
 * exit.c - l1-shim's run loop and VM-exit handlers: the exit reason and
 * qualification on every exit, then one handler per reason from a table,
 * reading and writing the VMCS fields that reason needs the way KVM's
 * handlers do (SDM Vol. 3C 28.2 exit information, 27.6 event injection,
 * 27.8 entry failures; Table 28-5 I/O, 28-3 CR access, 28-7 EPT
 * violations), and under mmu=shadow the #PF, INVLPG and CR3/CR4 exits of
 * the shadow MMU (shadow.c). Every VMREAD and VMWRITE is charged to the
 * exit reason it served: docs/l1-shim.md has the table. l1-shim side (L1).
 */
#include <asm/vmx.h>

#include "arch/vmcs.h"
#include "arch/vmx_exit_info.h"
#include "arch/vmx_exit_qual.h"
#include "arch/vmx_insn_errors.h"
#include "guests/rt/hypercall.h"
#include "arch/x86_msr.h"
#include "arch/x86_paging.h"
#include "guests/rt/rt.h"
#include "l1-shim/entry.h"
#include "l1-shim/shim.h"
#include "l1-shim/vmx.h"

/* The devices L2 sees (docs/user-guide.md, "The devices a guest sees"). */
#define L2_UART_BASE 0x3f8
#define L2_UART_LEN 8
#define L2_DEBUG_EXIT_BASE 0xf4
#define L2_DEBUG_EXIT_LEN 4

/* What a handler asks the run loop to do next. */
enum l1_exit_action {
	L1_RESUME, /* re-enter L2 where it is */
	L1_RESUME_SKIP_INSN, /* the instruction is emulated: skip it */
	L1_STOP, /* L2 is done; vm->exit_code says how */
};

/* What every handler gets: read on every exit. */
struct l1_exit {
	uint32_t reason; /* the whole VM_EXIT_REASON field */
	uint32_t basic; /* bits 15:0 */
	uint64_t qual; /* EXIT_QUALIFICATION */
};

typedef enum l1_exit_action (*l1_exit_handler_fn)(struct l2_vm *vm,
						  const struct l1_exit *e);

/* ---- counts per exit reason -------------------------------------------- */

/* Buckets 0 .. VMX_NR_EXIT_REASONS - 1 are basic exit reasons. */
#define L1_BUCKET_OTHER VMX_NR_EXIT_REASONS
#define L1_NR_BUCKETS (VMX_NR_EXIT_REASONS + 1)

static struct l1_counts l1_counts[L1_NR_BUCKETS];
static struct l1_counts l1_setup_counts;
struct l1_counts *l1_cur_counts = &l1_setup_counts;

static const struct {
	uint32_t reason;
	const char *name;
} l1_exit_names[] = { VMX_EXIT_REASONS };

const char *l1_exit_reason_name(uint32_t reason)
{
	for (size_t i = 0; i < ARRAY_SIZE(l1_exit_names); i++) {
		if (l1_exit_names[i].reason == reason)
			return l1_exit_names[i].name;
	}
	return NULL;
}

/* "l1_<what>_<reason in lower case>" for a RESULT line. */
static void l1_stats_name(char *buf, size_t size, const char *what,
			  uint32_t bucket)
{
	const char *name = l1_exit_reason_name(bucket);
	int n;

	if (bucket == L1_BUCKET_OTHER)
		n = snprintf(buf, size, "l1_%s_other", what);
	else if (!name)
		n = snprintf(buf, size, "l1_%s_reason%u", what, bucket);
	else
		n = snprintf(buf, size, "l1_%s_%s", what, name);
	for (int i = 0; i < n && (size_t)i < size; i++) {
		if (buf[i] >= 'A' && buf[i] <= 'Z')
			buf[i] = (char)(buf[i] - 'A' + 'a');
	}
}

void l1_stats_print(void)
{
	char name[64];

	for (uint32_t b = 0; b < L1_NR_BUCKETS; b++) {
		const struct l1_counts *c = &l1_counts[b];

		if (!c->exits)
			continue;
		l1_stats_name(name, sizeof(name), "exits", b);
		rt_result(name, c->exits, "count");
		/* With an eVMCS the same logical accesses are loads and
		 * stores: named apart, counted alike. */
		l1_stats_name(name, sizeof(name),
			      L1_EVMCS_ACTIVE ? "evmcs_reads" : "vmreads", b);
		rt_result(name, L1_EVMCS_ACTIVE ? c->evmcs_reads : c->vmreads,
			  "count");
		l1_stats_name(name, sizeof(name),
			      L1_EVMCS_ACTIVE ? "evmcs_writes" : "vmwrites", b);
		rt_result(name, L1_EVMCS_ACTIVE ? c->evmcs_writes : c->vmwrites,
			  "count");
	}
}

/* ---- helpers ------------------------------------------------------------- */

static enum l1_exit_action l1_stop(struct l2_vm *vm, int code)
{
	vm->exit_code = code;
	return L1_STOP;
}

/* GPR @n of L2; RSP lives in the VMCS. */
static uint64_t l1_gpr_read(struct l2_vm *vm, unsigned int n)
{
	if (n == VCPU_REGS_RSP)
		return vmcs_read(GUEST_RSP);
	return vm->gprs[n & 15];
}

static void l1_gpr_write(struct l2_vm *vm, unsigned int n, uint64_t val)
{
	if (n == VCPU_REGS_RSP)
		vmcs_write(GUEST_RSP, val);
	else
		vm->gprs[n & 15] = val;
}

/*
 * Completes an emulated instruction, as KVM's skip_emulated_instruction()
 * does: RIP += the instruction's length, and the STI or MOV SS blocking
 * that instruction may have been under ends with it (SDM 25.4.2).
 */
static void l1_skip_insn(void)
{
	uint64_t len = vmcs_read(VM_EXIT_INSTRUCTION_LEN);
	uint64_t rip = vmcs_read(GUEST_RIP);
	uint64_t intr;

	vmcs_write(GUEST_RIP, rip + len);
	intr = vmcs_read(GUEST_INTERRUPTIBILITY_INFO);
	if (intr & (GUEST_INTR_STATE_STI | GUEST_INTR_STATE_MOV_SS))
		vmcs_write(GUEST_INTERRUPTIBILITY_INFO,
			   intr & ~(uint64_t)(GUEST_INTR_STATE_STI |
					      GUEST_INTR_STATE_MOV_SS));
}

static enum l1_exit_action l1_l2_triple_fault(struct l2_vm *vm, uint64_t rip)
{
	printf(L1_PFX "L2 triple-faulted at RIP %#llx\n",
	       (unsigned long long)rip);
	return l1_stop(vm, L1_EXIT_L2_STOPPED);
}

/* ---- handlers ------------------------------------------------------------- */

static enum l1_exit_action l1_handle_unexpected(struct l2_vm *vm,
						const struct l1_exit *e)
{
	const char *name = l1_exit_reason_name(e->basic);

	printf(L1_PFX "unexpected exit reason %u (%s)\n", e->basic,
	       name ? name : "unknown");
	printf(L1_PFX "at L2 RIP %#llx, qualification %#llx\n",
	       (unsigned long long)vmcs_read(GUEST_RIP),
	       (unsigned long long)e->qual);
	return l1_stop(vm, L1_EXIT_UNEXPECTED);
}

static enum l1_exit_action l1_inject_gp(void);

/* ---- mmu=shadow ---------------------------------------------------------- */

static bool l1_mmu_shadow(const struct l2_vm *vm)
{
	return vm->opt->mmu == L1_MMU_SHADOW;
}

/*
 * Drops L2's translations from the processor's TLB after the shadow lost
 * entries: @va alone when @one (INVVPID individual-address, as KVM's
 * vpid_sync_vcpu_addr() after an INVLPG), else all of L2's (single-
 * context, else all-context). Without VPID every VM entry flushes them
 * already (SDM 29.4.3.1). Not VMCS accesses.
 */
static void l1_flush_l2_tlb(const struct l2_vm *vm, bool one, uint64_t va)
{
	uint64_t cap = vm->ept_vpid_cap;

	if (!vm->vpid)
		return;
	if (one &&
	    vmx_vpid_cap_has_invvpid_type(cap,
					  VMX_VPID_EXTENT_INDIVIDUAL_ADDR) &&
	    vmx_invvpid(VMX_VPID_EXTENT_INDIVIDUAL_ADDR, vm->vpid, va) ==
		    VMX_SUCCEED)
		return;
	if (!vmx_vpid_cap_has_invvpid_type(cap,
					   VMX_VPID_EXTENT_SINGLE_CONTEXT) ||
	    vmx_invvpid(VMX_VPID_EXTENT_SINGLE_CONTEXT, vm->vpid, 0) !=
		    VMX_SUCCEED)
		vmx_invvpid(VMX_VPID_EXTENT_ALL_CONTEXT, 0, 0);
}

/*
 * The event whose delivery a hidden fault interrupted (IDT-vectoring
 * information @idt valid, SDM 28.2.4) never reached L2: inject it again
 * (27.6), as KVM's vmx_complete_interrupts() requeues it. NMI unblocking
 * (bit 12) is not part of an injection.
 */
static void l1_requeue_event(uint32_t idt)
{
	uint32_t type = vmx_intr_info_get_type(idt);

	if (!vmx_intr_info_is_valid(idt))
		return;
	vmcs_write(VM_ENTRY_INTR_INFO_FIELD, idt & ~INTR_INFO_UNBLOCK_NMI);
	if (vmx_intr_info_has_error_code(idt))
		vmcs_write(VM_ENTRY_EXCEPTION_ERROR_CODE,
			   vmcs_read(IDT_VECTORING_ERROR_CODE));
	if (vmx_intr_type_is_soft(type))
		vmcs_write(VM_ENTRY_INSTRUCTION_LEN,
			   vmcs_read(VM_EXIT_INSTRUCTION_LEN));
}

/*
 * A true fault: L2 gets #PF with @error at @va, CR2 loaded first (a #PF
 * that exits leaves CR2 alone, SDM 28.1, and injection does not load it,
 * 27.6.1). A #PF met while delivering a hardware exception combines
 * with it as the processor would (SDM 6.15, Table 6-5).
 */
static enum l1_exit_action l1_shadow_inject_pf(struct l2_vm *vm, uint64_t va,
					       uint32_t error, uint32_t idt)
{
	unsigned int vector = PF_VECTOR;

	if (vmx_intr_info_is_valid(idt) &&
	    vmx_intr_info_get_type(idt) == INTR_TYPE_HARD_EXCEPTION) {
		switch (x86_exception_combine(vmx_intr_info_get_vector(idt),
					      PF_VECTOR)) {
		case X86_EXCPT_SERIAL:
			break;
		case X86_EXCPT_RAISE_DF:
			vector = DF_VECTOR;
			error = 0;
			break;
		case X86_EXCPT_TRIPLE_FAULT:
			return l1_l2_triple_fault(vm, vmcs_read(GUEST_RIP));
		}
	}
	l1_write_cr2(va);
	vmcs_write(VM_ENTRY_INTR_INFO_FIELD,
		   vmx_build_intr_info(vector, INTR_TYPE_HARD_EXCEPTION, true));
	vmcs_write(VM_ENTRY_EXCEPTION_ERROR_CODE, error);
	return L1_RESUME;
}

/*
 * A #PF exit under mmu=shadow (every #PF exits: bit 14 of the exception
 * bitmap, mask and match 0), as KVM's handle_exception_nmi() ->
 * kvm_mmu_page_fault(): the error code, the IDT-vectoring information
 * (read after every exit by KVM's vmx_complete_interrupts()), the address
 * from the qualification. The shadow decides: a hidden fault resumes L2
 * with the event it was delivering, if any; a true fault goes to L2; a
 * walk that leaves L2's RAM stops L2, as the EPT violation of the same
 * access does under mmu=ept.
 */
static enum l1_exit_action l1_handle_shadow_pf(struct l2_vm *vm,
					       const struct l1_exit *e)
{
	uint32_t error = (uint32_t)vmcs_read(VM_EXIT_INTR_ERROR_CODE);
	uint32_t idt = (uint32_t)vmcs_read(IDT_VECTORING_INFO_FIELD);
	struct l1_shadow_fault_info fi;

	/* A reserved bit in the shadow itself: only its XD bits can be,
	 * once L2 cleared EFER.NXE (WRMSR does not exit). Rebuild. */
	if (error & PFERR_RSVD_MASK) {
		bool nxe = vmcs_read(GUEST_IA32_EFER) & EFER_NX;

		if (nxe == vm->shadow.nxe) {
			printf(L1_PFX "reserved-bit #PF at L2 linear %#llx in "
				      "l1-shim's shadow page tables "
				      "(error code %#x)\n",
			       (unsigned long long)e->qual, error);
			return l1_stop(vm, L1_EXIT_FATAL);
		}
		vm->shadow.nxe = nxe;
		shadow_flush(vm);
		l1_flush_l2_tlb(vm, false, 0);
		l1_requeue_event(idt);
		return L1_RESUME;
	}
	switch (shadow_page_fault(vm, e->qual, error, &fi)) {
	case L1_SHADOW_HIDDEN:
		if (fi.flushed)
			l1_flush_l2_tlb(vm, false, 0);
		l1_requeue_event(idt);
		return L1_RESUME;
	case L1_SHADOW_TRUE:
		return l1_shadow_inject_pf(vm, e->qual, fi.error_code, idt);
	case L1_SHADOW_BAD_GPA:
		break;
	}
	printf(L1_PFX "L2's page tables map linear %#llx to guest-physical "
		      "%#llx, outside its RAM (which ends at %#llx), at RIP "
		      "%#llx\n",
	       (unsigned long long)e->qual, (unsigned long long)fi.gpa,
	       (unsigned long long)vm->mem_size,
	       (unsigned long long)vmcs_read(GUEST_RIP));
	return l1_stop(vm, L1_EXIT_FATAL);
}

/*
 * INVLPG (exit reason 14, the linear address in the qualification), as
 * KVM's handle_invlpg() -> kvm_mmu_invlpg(): drop the shadow's entries
 * for the page and the processor's translation of it; skip.
 */
static enum l1_exit_action l1_handle_invlpg(struct l2_vm *vm,
					    const struct l1_exit *e)
{
	if (!l1_mmu_shadow(vm))
		return l1_handle_unexpected(vm, e);
	l1_flush_l2_tlb(vm, !shadow_invlpg(vm, e->qual), e->qual);
	return L1_RESUME_SKIP_INSN;
}

/*
 * MOV to CR3 under mmu=shadow (KVM's handle_cr() -> kvm_set_cr3()): L2's
 * CR3 is l1-shim's to keep, GUEST_CR3 stays the shadow root. Bits above
 * MAXPHYADDR (bit 63 included: PCIDs are off) give #GP. A CR3 load drops
 * every non-global translation (SDM 4.10.4.1); the shadow drops all of
 * them, which no guest can tell from a TLB that forgot more.
 */
static enum l1_exit_action l1_shadow_set_cr3(struct l2_vm *vm, uint64_t val)
{
	if (val & (vm->shadow.rsvd_mask | ~((1ull << 52) - 1)))
		return l1_inject_gp();
	vm->shadow.guest_cr3 = val;
	shadow_flush(vm);
	l1_flush_l2_tlb(vm, false, 0);
	return L1_RESUME_SKIP_INSN;
}

/*
 * MOV to CR4 that changes a bit l1-shim owns under mmu=shadow (KVM's
 * vmx_set_cr4(): the read shadow, then GUEST_CR4 with the bits VMX
 * fixes). PGE, PSE and SMEP are emulated and drop the shadow (a PGE
 * change flushes the TLB, SDM 4.10.4.1; the others are dropped for
 * simplicity); PAE, PCIDE, LA57, SMAP and PKE would change how L2's
 * tables are read and are refused; reserved bits give #GP.
 */
static enum l1_exit_action l1_shadow_set_cr4(struct l2_vm *vm, uint64_t val)
{
	uint64_t changed = val ^ vm->shadow.cr4_shadow;

	if (val & ~vm->cr4_fixed1)
		return l1_inject_gp();
	if (changed & (vm->cr4_fixed0 | X86_CR4_PAE | X86_CR4_PCIDE |
		       X86_CR4_LA57 | X86_CR4_SMAP | X86_CR4_PKE)) {
		printf(L1_PFX "L2 changed CR4 from %#llx to %#llx at RIP "
			      "%#llx; l1-shim's shadow MMU emulates only "
			      "PGE, PSE and SMEP\n",
		       (unsigned long long)vm->shadow.cr4_shadow,
		       (unsigned long long)val,
		       (unsigned long long)vmcs_read(GUEST_RIP));
		return l1_stop(vm, L1_EXIT_UNEXPECTED);
	}
	vmcs_write(CR4_READ_SHADOW, val);
	vmcs_write(GUEST_CR4, (val | vm->cr4_fixed0) & vm->cr4_fixed1);
	vm->shadow.cr4_shadow = val;
	shadow_flush(vm);
	l1_flush_l2_tlb(vm, false, 0);
	return L1_RESUME_SKIP_INSN;
}

/* The CR accesses mmu=shadow takes over; false for the others. */
static bool l1_shadow_cr_access(struct l2_vm *vm, unsigned int cr,
				unsigned int type, unsigned int gpr,
				enum l1_exit_action *act)
{
	if (cr == 3 && type == CR_ACCESS_TYPE_MOV_TO_CR) {
		*act = l1_shadow_set_cr3(vm, l1_gpr_read(vm, gpr));
	} else if (cr == 3 && type == CR_ACCESS_TYPE_MOV_FROM_CR) {
		l1_gpr_write(vm, gpr, vm->shadow.guest_cr3);
		*act = L1_RESUME_SKIP_INSN;
	} else if (cr == 4 && type == CR_ACCESS_TYPE_MOV_TO_CR) {
		*act = l1_shadow_set_cr4(vm, l1_gpr_read(vm, gpr));
	} else if (cr == 0 && type == CR_ACCESS_TYPE_MOV_TO_CR &&
		   ((l1_gpr_read(vm, gpr) ^ vm->cr0_shadow) & X86_CR0_WP)) {
		/* With WP clear, supervisor writes would go through the
		 * read-only shadow leaves that track dirty pages. */
		printf(L1_PFX "L2 changed CR0.WP at RIP %#llx; l1-shim's "
			      "shadow MMU needs it set\n",
		       (unsigned long long)vmcs_read(GUEST_RIP));
		*act = l1_stop(vm, L1_EXIT_UNEXPECTED);
	} else {
		return false;
	}
	return true;
}

/*
 * An exception l1-shim intercepts (exc=) goes back to L2 by event
 * injection (SDM 27.6.1), as if it had never left. If it happened while
 * delivering another exception, the two combine as the processor would
 * have combined them (SDM 6.15, Table 6-5); a software exception (#BP,
 * #OF) needs its instruction length to push the right return address.
 */
static enum l1_exit_action l1_handle_exception(struct l2_vm *vm,
					       const struct l1_exit *e)
{
	uint32_t info = (uint32_t)vmcs_read(VM_EXIT_INTR_INFO);
	unsigned int vector = vmx_intr_info_get_vector(info);
	uint32_t type = vmx_intr_info_get_type(info);
	bool has_error = vmx_intr_info_has_error_code(info);
	uint64_t error = 0;
	uint32_t idt;

	if (vector == PF_VECTOR && type == INTR_TYPE_HARD_EXCEPTION &&
	    l1_mmu_shadow(vm))
		return l1_handle_shadow_pf(vm, e);
	if (type == INTR_TYPE_NMI_INTR || vector >= 32 ||
	    !(vm->opt->exc_bitmap & (1u << vector)))
		return l1_handle_unexpected(vm, e);
	if (has_error)
		error = vmcs_read(VM_EXIT_INTR_ERROR_CODE);
	idt = (uint32_t)vmcs_read(IDT_VECTORING_INFO_FIELD);
	if (vmx_intr_info_is_valid(idt) &&
	    vmx_intr_info_get_type(idt) == INTR_TYPE_HARD_EXCEPTION) {
		switch (x86_exception_combine(vmx_intr_info_get_vector(idt),
					      vector)) {
		case X86_EXCPT_SERIAL:
			break;
		case X86_EXCPT_RAISE_DF:
			vector = DF_VECTOR;
			type = INTR_TYPE_HARD_EXCEPTION;
			has_error = true;
			error = 0;
			break;
		case X86_EXCPT_TRIPLE_FAULT:
			return l1_l2_triple_fault(vm, vmcs_read(GUEST_RIP));
		}
	}
	/* A #PF that exits leaves CR2 alone (SDM 28.1) and injecting one
	 * does not load it (27.6.1): the faulting address is the exit
	 * qualification, and L2's CR2 is the real CR2, which VMX does not
	 * switch. */
	if (vector == PF_VECTOR)
		l1_write_cr2(e->qual);
	vmcs_write(VM_ENTRY_INTR_INFO_FIELD,
		   vmx_build_intr_info(vector, type, has_error));
	if (has_error)
		vmcs_write(VM_ENTRY_EXCEPTION_ERROR_CODE, error);
	if (vmx_intr_type_is_soft(type))
		vmcs_write(VM_ENTRY_INSTRUCTION_LEN,
			   vmcs_read(VM_EXIT_INSTRUCTION_LEN));
	return L1_RESUME;
}

static enum l1_exit_action l1_handle_triple_fault(struct l2_vm *vm,
						  const struct l1_exit *e)
{
	(void)e;
	return l1_l2_triple_fault(vm, vmcs_read(GUEST_RIP));
}

/* CPUID runs on the real processor, minus VMX: L2 has no VMX to use. */
static enum l1_exit_action l1_handle_cpuid(struct l2_vm *vm,
					   const struct l1_exit *e)
{
	uint32_t leaf = (uint32_t)vm->gprs[VCPU_REGS_RAX];
	struct cpuid_regs r = cpuid(leaf, (uint32_t)vm->gprs[VCPU_REGS_RCX]);

	(void)e;
	if (leaf == 1)
		r.ecx &= ~CPUID_1_ECX_VMX;
	/* CPUID writes the 32-bit registers: bits 63:32 become 0. */
	vm->gprs[VCPU_REGS_RAX] = r.eax;
	vm->gprs[VCPU_REGS_RBX] = r.ebx;
	vm->gprs[VCPU_REGS_RCX] = r.ecx;
	vm->gprs[VCPU_REGS_RDX] = r.edx;
	return L1_RESUME_SKIP_INSN;
}

/* Nothing can wake L2: no interrupt ever reaches it. nestvm treats a
 * native guest's HLT the same way. */
static enum l1_exit_action l1_handle_hlt(struct l2_vm *vm,
					 const struct l1_exit *e)
{
	(void)e;
	printf(L1_PFX "L2 halted at RIP %#llx with nothing to wake it\n",
	       (unsigned long long)vmcs_read(GUEST_RIP));
	return l1_stop(vm, L1_EXIT_L2_STOPPED);
}

/* #GP(0) for L2 at the instruction, as KVM's kvm_complete_insn_gp() does
 * for a bad control-register value (SDM 27.6.1.1). */
static enum l1_exit_action l1_inject_gp(void)
{
	vmcs_write(
		VM_ENTRY_INTR_INFO_FIELD,
		vmx_build_intr_info(GP_VECTOR, INTR_TYPE_HARD_EXCEPTION, true));
	vmcs_write(VM_ENTRY_EXCEPTION_ERROR_CODE, 0);
	return L1_RESUME;
}

/*
 * MOV to CR0 that changes a bit l1-shim owns but does not fix: CR0.TS,
 * which it keeps in the guest/host mask as a hypervisor switching the FPU
 * lazily does. Like KVM's handle_set_cr0() -> vmx_set_cr0(): the read
 * shadow gets L2's value, GUEST_CR0 the value with the bits VMX fixes.
 */
static enum l1_exit_action l1_set_cr0(struct l2_vm *vm, uint64_t val)
{
	if (val >> 32)
		return l1_inject_gp();
	vmcs_write(CR0_READ_SHADOW, val);
	vmcs_write(GUEST_CR0, (val | vm->cr0_fixed0) & vm->cr0_fixed1);
	vm->cr0_shadow = val;
	return L1_RESUME_SKIP_INSN;
}

/*
 * MOV to and from CR8 with CR8-load and CR8-store exiting and no TPR
 * shadow, as on first-generation VT-x: the TPR is l1-shim's copy, as in
 * KVM's handle_cr() for CR8 without an in-kernel APIC. Reserved bits
 * 63:4 give #GP (SDM Vol. 3A 10.8.6.1).
 */
static enum l1_exit_action l1_handle_cr8(struct l2_vm *vm, unsigned int type,
					 unsigned int gpr)
{
	uint64_t val;

	if (type == CR_ACCESS_TYPE_MOV_FROM_CR) {
		l1_gpr_write(vm, gpr, vm->tpr);
		return L1_RESUME_SKIP_INSN;
	}
	val = l1_gpr_read(vm, gpr);
	if (val & ~(uint64_t)X86_CR8_TPR)
		return l1_inject_gp();
	vm->tpr = (uint8_t)val;
	return L1_RESUME_SKIP_INSN;
}

/*
 * CR8 always exits (see above); a MOV to CR0 exits when it changes CR0.TS
 * or a bit VMX fixes, and only the first is emulated. MOV to or from CR3
 * exits only on a processor that forces CR3 exiting (no TRUE controls);
 * l1-shim then does what the instruction would. With VPID, a VM entry
 * does not flush L2's translations, so the CR3 write flushes them as the
 * instruction would have. Anything else here is L2 changing a CR0/CR4 bit
 * that VMX fixes, which l1-shim does not emulate.
 */
static enum l1_exit_action l1_handle_cr_access(struct l2_vm *vm,
					       const struct l1_exit *e)
{
	unsigned int cr = vmx_qual_cr_get_num(e->qual);
	unsigned int type = vmx_qual_cr_get_type(e->qual);
	unsigned int gpr = vmx_qual_cr_get_gpr(e->qual);
	enum l1_exit_action act;

	if (l1_mmu_shadow(vm) && l1_shadow_cr_access(vm, cr, type, gpr, &act))
		return act;
	if (cr == 8 && (type == CR_ACCESS_TYPE_MOV_TO_CR ||
			type == CR_ACCESS_TYPE_MOV_FROM_CR))
		return l1_handle_cr8(vm, type, gpr);
	if (cr == 0 && type == CR_ACCESS_TYPE_MOV_TO_CR) {
		uint64_t val = l1_gpr_read(vm, gpr);

		if (!((val ^ vm->cr0_shadow) & vm->cr0_fixed0))
			return l1_set_cr0(vm, val);
	}
	if (cr == 3 && type == CR_ACCESS_TYPE_MOV_TO_CR) {
		/* Bit 63 (PCID no-flush) is not part of CR3. */
		vmcs_write(GUEST_CR3, l1_gpr_read(vm, gpr) & ~(1ull << 63));
		if (vm->vpid && vmx_invvpid(VMX_VPID_EXTENT_SINGLE_CONTEXT,
					    vm->vpid, 0) != VMX_SUCCEED)
			vmx_invvpid(VMX_VPID_EXTENT_ALL_CONTEXT, 0, 0);
		return L1_RESUME_SKIP_INSN;
	}
	if (cr == 3 && type == CR_ACCESS_TYPE_MOV_FROM_CR) {
		l1_gpr_write(vm, gpr, vmcs_read(GUEST_CR3));
		return L1_RESUME_SKIP_INSN;
	}
	printf(L1_PFX "L2 changed a bit of CR%u that VMX fixes (qualification "
		      "%#llx) at RIP %#llx; l1-shim does not emulate that\n",
	       cr, (unsigned long long)e->qual,
	       (unsigned long long)vmcs_read(GUEST_RIP));
	return l1_stop(vm, L1_EXIT_UNEXPECTED);
}

static bool l1_port_in(uint32_t port, unsigned int size, uint32_t base,
		       uint32_t len)
{
	return port >= base && port + size <= base + len;
}

/* One byte of an IN: the UART's register, else all ones (the debug-exit
 * port and unclaimed ports read so on nestvm). */
static uint8_t l1_io_read_byte(struct l2_vm *vm, uint32_t port)
{
	if (l1_port_in(port, 1, L2_UART_BASE, L2_UART_LEN))
		return l1_uart_read(&vm->uart, port - L2_UART_BASE);
	return 0xff;
}

/* One byte of an OUT; true when it stops L2 (the debug-exit port). */
static bool l1_io_write_byte(struct l2_vm *vm, uint32_t port, uint8_t val)
{
	if (l1_port_in(port, 1, L2_UART_BASE, L2_UART_LEN))
		l1_uart_write(&vm->uart, port - L2_UART_BASE, val);
	else if (l1_port_in(port, 1, L2_DEBUG_EXIT_BASE, L2_DEBUG_EXIT_LEN))
		return true;
	return false;
}

/*
 * IN and OUT (SDM Table 28-5). L2's devices are nestvm's, emulated: the
 * UART's bytes go to l1-shim's own console unchanged, a write to the
 * debug-exit port ends L2 and l1-shim exits with the same value (so
 * nestvm exits with L2's status), every other port is unclaimed. An access
 * wider than a byte is a run of byte accesses, except a write that lies
 * wholly in the debug-exit port, whose whole value is the status.
 */
static enum l1_exit_action l1_handle_io(struct l2_vm *vm,
					const struct l1_exit *e)
{
	unsigned int size = vmx_qual_io_get_size(e->qual);
	uint32_t port = vmx_qual_io_get_port(e->qual);
	uint64_t mask = size == 4 ? 0xffffffffull : (1ull << (size * 8)) - 1;
	uint64_t rax = vm->gprs[VCPU_REGS_RAX];
	uint64_t val = 0;

	if (e->qual & IO_QUAL_STRING) {
		printf(L1_PFX "L2 used string I/O (%s%s) on port %#x at RIP "
			      "%#llx; l1-shim does not emulate INS/OUTS\n",
		       (e->qual & IO_QUAL_REP) ? "REP " : "",
		       (e->qual & IO_QUAL_IN) ? "INS" : "OUTS", port,
		       (unsigned long long)vmcs_read(GUEST_RIP));
		return l1_stop(vm, L1_EXIT_UNEXPECTED);
	}
	if (e->qual & IO_QUAL_IN) {
		for (unsigned int i = 0; i < size; i++)
			val |= (uint64_t)l1_io_read_byte(vm, port + i)
			       << (8 * i);
		/* IN AL/AX keeps the rest of RAX; IN EAX zero-extends. */
		vm->gprs[VCPU_REGS_RAX] =
			size == 4 ? val : (rax & ~mask) | (val & mask);
		return L1_RESUME_SKIP_INSN;
	}
	val = rax & mask;
	if (l1_port_in(port, size, L2_DEBUG_EXIT_BASE, L2_DEBUG_EXIT_LEN))
		return l1_stop(vm, (int)(uint32_t)val);
	for (unsigned int i = 0; i < size; i++) {
		uint8_t b = (uint8_t)(val >> (8 * i));

		if (l1_io_write_byte(vm, port + i, b))
			return l1_stop(vm, b);
	}
	return L1_RESUME_SKIP_INSN;
}

/*
 * RDMSR of an MSR whose read bit l1-shim sets in its MSR bitmap:
 * IA32_SYSENTER_CS, answered from the VMCS as KVM's vmx_get_msr() does
 * (reached from handle_rdmsr(): EDX:EAX, then skip). The bitmap cannot
 * express MSRs outside its two ranges; those always exit (SDM 26.1.3)
 * and l1-shim does not emulate them.
 */
static enum l1_exit_action l1_handle_rdmsr(struct l2_vm *vm,
					   const struct l1_exit *e)
{
	uint32_t msr = (uint32_t)vm->gprs[VCPU_REGS_RCX];
	uint64_t val;

	if (msr != MSR_IA32_SYSENTER_CS) {
		printf(L1_PFX "L2 read MSR %#x, which l1-shim does not "
			      "emulate\n",
		       msr);
		return l1_handle_unexpected(vm, e);
	}
	val = vmcs_read(GUEST_SYSENTER_CS);
	/* RDMSR writes the 32-bit halves: bits 63:32 become 0. */
	vm->gprs[VCPU_REGS_RAX] = (uint32_t)val;
	vm->gprs[VCPU_REGS_RDX] = (uint32_t)(val >> 32);
	return L1_RESUME_SKIP_INSN;
}

/*
 * The EPT maps all of L2's RAM with every right, except with ept-lazy
 * the pages of the last 2 MiB not touched yet: a violation there maps the
 * page and L2 runs the access again (KVM's handle_ept_violation(): the
 * qualification, then the GPA). Any other violation is an access past the
 * end of RAM, made by L2's own page tables: fatal, as the same access
 * would hit no memory natively.
 */
static enum l1_exit_action l1_handle_ept_violation(struct l2_vm *vm,
						   const struct l1_exit *e)
{
	uint64_t gpa = vmcs_read(GUEST_PHYSICAL_ADDRESS);
	uint64_t rip;

	if (ept_fill_lazy(vm, gpa))
		return L1_RESUME;
	rip = vmcs_read(GUEST_RIP);

	printf(L1_PFX "EPT violation: L2 %s guest-physical %#llx (L2 RAM "
		      "ends at %#llx) at RIP %#llx, qualification %#llx",
	       (e->qual & EPT_VIOLATION_ACC_INSTR)   ? "fetched from"
	       : (e->qual & EPT_VIOLATION_ACC_WRITE) ? "wrote to"
						     : "read from",
	       (unsigned long long)gpa, (unsigned long long)vm->mem_size,
	       (unsigned long long)rip, (unsigned long long)e->qual);
	if (e->qual & EPT_VIOLATION_GVA_IS_VALID)
		printf(", linear %#llx",
		       (unsigned long long)vmcs_read(GUEST_LINEAR_ADDRESS));
	printf("\n");
	return l1_stop(vm, L1_EXIT_FATAL);
}

static enum l1_exit_action l1_handle_ept_misconfig(struct l2_vm *vm,
						   const struct l1_exit *e)
{
	(void)e;
	printf(L1_PFX "EPT misconfiguration at L2 guest-physical %#llx: a "
		      "bug in l1-shim's EPT\n",
	       (unsigned long long)vmcs_read(GUEST_PHYSICAL_ADDRESS));
	return l1_stop(vm, L1_EXIT_FATAL);
}

/*
 * L2's hypercall (guests/rt/hypercall.h): swap two pages in ept12, then
 * INVEPT, which the SDM requires after an EPT entry changes (30.4.3.1):
 * single-context on L2's EPTP where offered, else global.
 */
static enum l1_exit_action l1_handle_vmcall(struct l2_vm *vm,
					    const struct l1_exit *e)
{
	uint64_t cap = vm->ept_vpid_cap;
	enum vmx_result r = VMX_SUCCEED;

	(void)e;
	/* The swap changes ept12; under mmu=shadow there is none. */
	if (vm->gprs[VCPU_REGS_RAX] != L1_HC_SWAP_PAGES || l1_mmu_shadow(vm)) {
		vm->gprs[VCPU_REGS_RAX] = L1_HC_ENOSYS;
		return L1_RESUME_SKIP_INSN;
	}
	if (ept_swap_pages(vm, vm->gprs[VCPU_REGS_RBX],
			   vm->gprs[VCPU_REGS_RCX])) {
		vm->gprs[VCPU_REGS_RAX] = L1_HC_EINVAL;
		return L1_RESUME_SKIP_INSN;
	}
	if (vmx_ept_cap_has_invept_type(cap, VMX_EPT_EXTENT_CONTEXT))
		r = vmx_invept(VMX_EPT_EXTENT_CONTEXT, vm->eptp);
	else
		r = vmx_invept(VMX_EPT_EXTENT_GLOBAL, 0);
	if (r != VMX_SUCCEED) {
		printf(L1_PFX "INVEPT after an EPT change failed (%d)\n",
		       (int)r);
		return l1_stop(vm, L1_EXIT_FATAL);
	}
	vm->gprs[VCPU_REGS_RAX] = L1_HC_OK;
	return L1_RESUME_SKIP_INSN;
}

static const l1_exit_handler_fn l1_exit_handlers[VMX_NR_EXIT_REASONS] = {
	[EXIT_REASON_EXCEPTION_NMI] = l1_handle_exception,
	[EXIT_REASON_TRIPLE_FAULT] = l1_handle_triple_fault,
	[EXIT_REASON_CPUID] = l1_handle_cpuid,
	[EXIT_REASON_HLT] = l1_handle_hlt,
	[EXIT_REASON_INVLPG] = l1_handle_invlpg,
	[EXIT_REASON_VMCALL] = l1_handle_vmcall,
	[EXIT_REASON_CR_ACCESS] = l1_handle_cr_access,
	[EXIT_REASON_IO_INSTRUCTION] = l1_handle_io,
	[EXIT_REASON_MSR_READ] = l1_handle_rdmsr,
	[EXIT_REASON_EPT_VIOLATION] = l1_handle_ept_violation,
	[EXIT_REASON_EPT_MISCONFIG] = l1_handle_ept_misconfig,
};

/* What the qualification of a VM-entry failure means (SDM 27.8). */
static const char *l1_entry_fail_meaning(const struct l1_exit *e)
{
	if (e->basic == EXIT_REASON_MSR_LOAD_FAIL)
		return "index of the MSR-load entry";
	switch (e->qual) {
	case ENTRY_FAIL_DEFAULT:
		return "a guest-state check";
	case ENTRY_FAIL_PDPTE:
		return "loading PDPTEs";
	case ENTRY_FAIL_NMI:
		return "NMI injection blocked by STI";
	case ENTRY_FAIL_VMCS_LINK_PTR:
		return "the VMCS link pointer";
	default:
		return "reserved";
	}
}

static enum l1_exit_action l1_handle_exit(struct l2_vm *vm)
{
	l1_exit_handler_fn handler = NULL;
	enum l1_exit_action act;
	struct l1_exit e;
	uint64_t reason;
	enum vmx_result r;

	/* The reason picks the bucket, so its own VMREAD is counted once
	 * the bucket is known. */
	r = vmcs_read_uncounted(VM_EXIT_REASON, &reason);
	if (r != VMX_SUCCEED)
		vmx_die_access("VMREAD", VM_EXIT_REASON, r);
	e.reason = (uint32_t)reason;
	e.basic = vmx_exit_reason_basic(e.reason);
	l1_cur_counts =
		&l1_counts[e.basic < VMX_NR_EXIT_REASONS ? e.basic
							 : L1_BUCKET_OTHER];
	l1_cur_counts->exits++;
	if (L1_EVMCS_ACTIVE)
		l1_cur_counts->evmcs_reads++;
	else
		l1_cur_counts->vmreads++;
	e.qual = vmcs_read(EXIT_QUALIFICATION);

	if (e.reason & VMX_EXIT_REASONS_FAILED_VMENTRY) {
		const char *name = l1_exit_reason_name(e.basic);

		printf(L1_PFX "VM entry failed: exit reason %u (%s), "
			      "qualification %llu (%s)\n",
		       e.basic, name ? name : "unknown",
		       (unsigned long long)e.qual, l1_entry_fail_meaning(&e));
		return l1_stop(vm, L1_EXIT_FATAL);
	}
	if (e.basic < ARRAY_SIZE(l1_exit_handlers))
		handler = l1_exit_handlers[e.basic];
	if (!handler)
		handler = l1_handle_unexpected;
	act = handler(vm, &e);
	if (act == L1_RESUME_SKIP_INSN) {
		l1_skip_insn();
		act = L1_RESUME;
	}
	return act;
}

int l1_run_l2(struct l2_vm *vm)
{
	_Static_assert(L1_RUN_EXITED == 0, "entry.S returns 0 after an exit");

	if (vm->opt->verbose)
		printf(L1_PFX "setup: %llu VMREADs, %llu VMWRITEs, %llu eVMCS "
			      "reads, %llu eVMCS writes\n",
		       (unsigned long long)l1_setup_counts.vmreads,
		       (unsigned long long)l1_setup_counts.vmwrites,
		       (unsigned long long)l1_setup_counts.evmcs_reads,
		       (unsigned long long)l1_setup_counts.evmcs_writes);
	for (;;) {
		int ret = l1_vmx_run(vm->gprs, vm->launched);

		if (ret != L1_RUN_EXITED) {
			uint64_t err = 0;

			if (ret == L1_RUN_FAIL_VALID)
				vmcs_read_uncounted(VM_INSTRUCTION_ERROR, &err);
			printf(L1_PFX "%s failed: %s",
			       vm->launched ? "VMRESUME" : "VMLAUNCH",
			       ret == L1_RUN_FAIL_VALID ? "VMfailValid"
							: "VMfailInvalid");
			if (ret == L1_RUN_FAIL_VALID)
				printf(", VM-instruction error %llu (%s)",
				       (unsigned long long)err,
				       vmx_insn_error_name((unsigned int)err));
			printf("\n");
			return L1_EXIT_FATAL;
		}
		vm->launched = true;
		vm->nr_exits++;
		if (l1_handle_exit(vm) == L1_STOP)
			return vm->exit_code;
	}
}
