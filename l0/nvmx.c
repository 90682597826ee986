/* SPDX-License-Identifier: MIT */
/*
 * nvmx.c - the VMX instructions L1 executes, emulated by L0 with the SDM's
 * semantics (Vol. 3C 31.3 "VMX Instruction Reference": the #UD and #GP
 * checks left after the VM exit, every VMfail case, 31.2 the RFLAGS
 * conventions), their memory operands decoded from the exit qualification
 * and the VM-exit instruction information (28.2.1, 28.2.5) and reached
 * through L1's page tables (mmu/l1mem.h), L1's virtual VMX MSRs, and
 * VMCS shadowing for L1 (25.10): the shadow VMCS kept in step with vmcs12,
 * and L2's VMREAD/VMWRITE that L1's bitmaps send to L1's own shadow VMCS.
 * Monitor side.
 */
#include "l0/nvmx.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <asm/vmx.h>

#include "arch/ept.h"
#include "arch/vmx_exit_qual.h"
#include "arch/vmx_insn_errors.h"
#include "arch/x86_msr.h"
#include "arch/x86_paging.h"
#include "arch/x86_seg.h"
#include "l0/errmsg.h"
#include "l0/shadow_vm.h"
#include "l0/trace.h"
#include "mmu/l1mem.h"
#include "vmcs-merge/vmcs12.h"
#include "vtx/vtx.h"

int nvmx_init(struct l0_vm *vm, char *err, size_t errlen)
{
	struct nvmx *n = calloc(1, sizeof(*n));
	int ret;

	if (!n)
		return errmsg(-ENOMEM, err, errlen, "no memory for nested VMX");
	vm->nvmx = n;
	n->vmcs12 = calloc(1, sizeof(*n->vmcs12));
	n->shadow12 = calloc(1, sizeof(*n->shadow12));
	if (!n->vmcs12 || !n->shadow12)
		return errmsg(-ENOMEM, err, errlen, "no memory for vmcs12");
	ret = nested_vmx_caps_init(&n->caps, vm->cpu);
	if (ret)
		return errmsg(ret, err, errlen,
			      "the processor lacks the VMX features nested "
			      "runs need (TRUE controls, EPT with 4 levels "
			      "and write-back)");
	n->maxphyaddr = vm->mem.maxphyaddr;
	/* As firmware leaves it: locked, VMX allowed outside SMX (24.7). */
	n->feature_control = FEAT_CTL_LOCKED | FEAT_CTL_VMX_ENABLED_OUTSIDE_SMX;
	n->vmptr = NVMX_NO_VMPTR;
	n->vmcs02_dirty = VMCS02_DIRTY_ALL;
	n->vmxon_ptr = NVMX_NO_VMPTR;
	vmcs_shadow_set_init(&n->shadow, VMCS_ACCESS_TRAP, false);
	ept02_init(&n->ept02, &vm->area, &vm->mem);
	vpid02_init(&n->vpid02, vm->cpu);
	n->ept02.stats = &vm->stats.ept02;
	ept02_set_coherence(&n->ept02, vm->ept_coherence, vm->cpu, vm->eptp01);
	return 0;
}

void l0_vm_set_ept_coherence(struct l0_vm *vm, enum ept_coherence c)
{
	vm->ept_coherence = c;
	if (vm->nvmx)
		ept02_set_coherence(&vm->nvmx->ept02, c, vm->cpu, vm->eptp01);
}

void nvmx_destroy(struct l0_vm *vm)
{
	struct nvmx *n = vm->nvmx;

	ept02_destroy(&n->ept02);
	free(n->vmcs12);
	free(n->shadow12);
	free(n);
	vm->nvmx = NULL;
}

int nvmx_get_msr(const struct nvmx *n, uint32_t msr, uint64_t *val)
{
	if (msr == MSR_IA32_FEAT_CTL) {
		*val = n->feature_control;
		return 0;
	}
	if (!x86_msr_is_vmx_cap(msr))
		return -ENOENT;
	/* One L0 does not offer is #GP(0), as on a processor without it. */
	return nested_vmx_caps_read(&n->caps, msr, val) ? -EINVAL : 0;
}

int nvmx_set_msr(struct nvmx *n, uint32_t msr, uint64_t val)
{
	(void)n;
	(void)val;
	/* Locked feature control and the read-only capability MSRs: WRMSR
	 * raises #GP(0) (SDM 24.7, Appendix A). */
	if (msr == MSR_IA32_FEAT_CTL || x86_msr_is_vmx_cap(msr))
		return -EINVAL;
	return -ENOENT;
}

/* ---- VMCS shadowing for L1 (SDM 25.10) ------------------------------------------ */

/* A failed VMX operation of L0 (a bug): kept as l0_vmwrite() keeps it. */
static void shadow_record_err(struct l0_vm *vm, int ret, uint32_t field)
{
	if (ret && !vm->vmx_err) {
		vm->vmx_err = ret;
		vm->vmx_err_field = field;
	}
}

/* The shadow VMCS becomes current for L0's accesses; shadow_leave()
 * makes vmcs01 current again. 0, or the VMfail (recorded). */
static int shadow_enter(struct l0_vm *vm)
{
	int ret = vtx_vmptrld(vm->cpu, vm->shadow_vmcs);

	shadow_record_err(vm, ret, VMCS_LINK_POINTER);
	return ret;
}

static void shadow_leave(struct l0_vm *vm)
{
	shadow_record_err(vm, vtx_vmptrld(vm->cpu, vm->vmcs01),
			  VMCS_LINK_POINTER);
}

static void count_sync(struct l0_vm *vm, uint64_t reads, uint64_t writes)
{
	vm->stats.sync_vmreads += reads;
	vm->stats.sync_vmwrites += writes;
	if (vm->span >= 0) {
		vm->stats.reflected[vm->span].sync_vmreads += reads;
		vm->stats.reflected[vm->span].sync_vmwrites += writes;
	}
}

void nvmx_sync_shadow_to_vmcs12(struct l0_vm *vm)
{
	struct nvmx *n = vm->nvmx;
	uint64_t reads = 0;

	if (!n->shadow_active || shadow_enter(vm))
		return;
	shadow_record_err(
		vm,
		vmcs_shadow_copy_from_shadow(vm->cpu, n->vmcs12, &n->shadow,
					     &n->vmcs02_dirty, &reads),
		VMCS_LINK_POINTER);
	shadow_leave(vm);
	count_sync(vm, reads, 0);
}

void nvmx_sync_vmcs12_to_shadow(struct l0_vm *vm)
{
	struct nvmx *n = vm->nvmx;
	uint64_t writes = 0;

	if (!n->shadow_active || !n->shadow_stale || shadow_enter(vm))
		return;
	shadow_record_err(vm,
			  vmcs_shadow_copy_to_shadow(vm->cpu, n->vmcs12,
						     &n->shadow, &writes),
			  VMCS_LINK_POINTER);
	shadow_leave(vm);
	n->shadow_stale = false;
	count_sync(vm, 0, writes);
}

/*
 * L0 wrote field enc of vmcs12 while L1 runs on the shadow VMCS (a trapped
 * VMWRITE of a field L1 may only read there, a VMfailValid's error): L1
 * must read the new value, so it is written there too, as KVM's
 * handle_vmwrite() does for its read-only shadow fields.
 */
static void shadow_write_through(struct l0_vm *vm, uint32_t enc)
{
	struct nvmx *n = vm->nvmx;
	uint64_t val = 0;

	if (!n->shadow_active || n->shadow_stale ||
	    !(vmcs_shadow_field_access(&n->shadow, enc) & VMCS_SHADOW_READ))
		return;
	vmcs12_read_field(n->vmcs12, enc, &val);
	if (shadow_enter(vm))
		return;
	shadow_record_err(vm, vtx_vmwrite(vm->cpu, enc, val), enc);
	shadow_leave(vm);
	count_sync(vm, 0, 1);
}

/* L1 has a current vmcs12 (SDM 25.11.1): vmcs01 shadows it. */
static void shadow_activate(struct l0_vm *vm)
{
	struct nvmx *n = vm->nvmx;

	if ((vm->vmcs_access != VMCS_ACCESS_SHADOW &&
	     vm->vmcs_access != VMCS_ACCESS_SHADOW_ALL) ||
	    n->shadow_active)
		return;
	l0_vmwrite(vm, SECONDARY_VM_EXEC_CONTROL,
		   l0_vmread(vm, SECONDARY_VM_EXEC_CONTROL) |
			   SECONDARY_EXEC_SHADOW_VMCS);
	l0_vmwrite(vm, VMCS_LINK_POINTER, vm->shadow_vmcs);
	n->shadow_active = true;
	n->shadow_stale = true;
}

/* L1 is about to lose its current vmcs12: what L1 wrote in the shadow
 * VMCS goes into vmcs12 first, then every access exits again. */
static void shadow_deactivate(struct l0_vm *vm)
{
	struct nvmx *n = vm->nvmx;

	if (!n->shadow_active)
		return;
	nvmx_sync_shadow_to_vmcs12(vm);
	l0_vmwrite(vm, SECONDARY_VM_EXEC_CONTROL,
		   l0_vmread(vm, SECONDARY_VM_EXEC_CONTROL) &
			   ~(uint64_t)SECONDARY_EXEC_SHADOW_VMCS);
	l0_vmwrite(vm, VMCS_LINK_POINTER, ~0ull);
	n->shadow_active = false;
	n->shadow_stale = false;
}

/* ---- outcomes (SDM 31.2) ------------------------------------------------------ */

static void set_flags(struct l0_vm *vm, uint64_t flags)
{
	uint64_t rflags = l0_vmread(vm, GUEST_RFLAGS);

	l0_vmwrite(vm, GUEST_RFLAGS,
		   (rflags & ~(uint64_t)X86_EFLAGS_ARITH_MASK) | flags);
}

enum l0_exit_action nvmx_succeed(struct l0_vm *vm)
{
	set_flags(vm, 0);
	return EXIT_RESUME_SKIP_INSN;
}

enum l0_exit_action nvmx_fail_invalid(struct l0_vm *vm)
{
	set_flags(vm, X86_EFLAGS_CF);
	return EXIT_RESUME_SKIP_INSN;
}

uint64_t nvmx_vmx_outcome(struct l0_vm *vm, int error)
{
	if (!error)
		return 0;
	/* Without a current VMCS there is nowhere to put the error. */
	if (error < 0 || vm->nvmx->vmptr == NVMX_NO_VMPTR)
		return X86_EFLAGS_CF;
	vm->nvmx->vmcs12->vm_instruction_error = (uint32_t)error;
	shadow_write_through(vm, VM_INSTRUCTION_ERROR);
	evmcs_store_field(vm, VM_INSTRUCTION_ERROR);
	return X86_EFLAGS_ZF;
}

enum l0_exit_action nvmx_fail_valid(struct l0_vm *vm, unsigned int error)
{
	set_flags(vm, nvmx_vmx_outcome(vm, (int)error));
	return EXIT_RESUME_SKIP_INSN;
}

/* ---- checks and operands -------------------------------------------------------- */

static enum l0_exit_action inject_ud(struct l0_vm *vm)
{
	l0_inject_exception(vm, UD_VECTOR, false, 0, 0);
	return EXIT_RESUME;
}

static enum l0_exit_action inject_gp0(struct l0_vm *vm)
{
	l0_inject_exception(vm, GP_VECTOR, true, 0, 0);
	return EXIT_RESUME;
}

/* L1's CPL: the DPL of SS (SDM 5.5). */
static unsigned int l1_cpl(struct l0_vm *vm)
{
	return VMX_AR_DPL((uint32_t)l0_vmread(vm, GUEST_SS_AR_BYTES));
}

/* CR0 or CR4 as L1 reads it: its own value where L0 owns the bit. */
static uint64_t l1_cr_view(struct l0_vm *vm, uint32_t guest, uint32_t mask,
			   uint32_t shadow)
{
	uint64_t m = l0_vmread(vm, mask);

	return (l0_vmread(vm, guest) & ~m) | (l0_vmread(vm, shadow) & m);
}

/*
 * What the processor checks of a VMX instruction after the VM exit that L0
 * is emulating (SDM 31.3, every instruction but VMXON): #UD outside VMX
 * operation, #GP(0) above CPL 0. The mode checks (CR0.PE, RFLAGS.VM, a
 * 64-bit CS in IA-32e mode) come before the VM exit, on the processor.
 */
static bool nvmx_permitted(struct l0_vm *vm, enum l0_exit_action *act)
{
	if (!vm->nvmx->vmxon) {
		*act = inject_ud(vm);
		return false;
	}
	if (l1_cpl(vm) > 0) {
		*act = inject_gp0(vm);
		return false;
	}
	return true;
}

/* The exit's instruction information and qualification. */
struct nvmx_insn {
	uint32_t info;
	uint64_t qual;
};

static void nvmx_read_insn(struct l0_vm *vm, struct nvmx_insn *in)
{
	in->info = (uint32_t)l0_vmread(vm, VMX_INSTRUCTION_INFO);
	in->qual = l0_vmread(vm, EXIT_QUALIFICATION);
}

static void l1_paging(struct l0_vm *vm, struct l1_paging *pg)
{
	pg->cr0 = l0_vmread(vm, GUEST_CR0);
	pg->cr3 = l0_l1_cr3(vm); /* virtual under --mmu shadow */
	pg->cr4 = l0_vmread(vm, GUEST_CR4);
	pg->efer = l0_vmread(vm, GUEST_IA32_EFER);
	pg->rflags = l0_vmread(vm, GUEST_RFLAGS);
}

/*
 * The linear address of the memory operand (SDM 28.2.1: the qualification
 * is the displacement, RIP-relative addressing included; 28.2.5: base,
 * index, scale, address size, segment). L1 runs VMX instructions in 64-bit
 * mode, where only FS and GS have a base (SDM 3.4.4). 0, or -EFAULT with
 * *fault set for a non-canonical address (#SS through SS, else #GP).
 */
static int nvmx_operand_gva(struct l0_vm *vm, const struct nvmx_insn *in,
			    gva_t *gva, struct l1mem_fault *fault)
{
	uint32_t info = in->info;
	unsigned int seg = vmx_insn_info_get_seg(info);
	uint64_t addr = in->qual;

	if (vmx_insn_info_has_base(info))
		addr += l0_read_gpr(vm, vmx_insn_info_get_base(info));
	if (vmx_insn_info_has_index(info))
		addr += l0_read_gpr(vm, vmx_insn_info_get_index(info))
			<< (info & VMX_INSN_INFO_SCALING_MASK);
	switch (vmx_insn_info_get_addr_size(info)) {
	case VMX_INSN_INFO_ADDR_SIZE_16:
		addr &= 0xffff;
		break;
	case VMX_INSN_INFO_ADDR_SIZE_32:
		addr &= 0xffffffffull;
		break;
	default:
		break;
	}
	if (seg == VCPU_SREG_FS)
		addr += l0_vmread(vm, GUEST_FS_BASE);
	else if (seg == VCPU_SREG_GS)
		addr += l0_vmread(vm, GUEST_GS_BASE);
	if (!x86_is_canonical(addr, false)) {
		fault->vector = seg == VCPU_SREG_SS ? SS_VECTOR : GP_VECTOR;
		fault->error_code = 0;
		fault->address = addr;
		return -EFAULT;
	}
	*gva = addr;
	return 0;
}

/* A failed operand access: the fault L1 takes, or L0's limit. */
static enum l0_exit_action operand_fault(struct l0_vm *vm, int ret,
					 const struct l1mem_fault *f)
{
	if (ret == -EFAULT) {
		l0_inject_exception(vm, f->vector, true, f->error_code,
				    f->address);
		return EXIT_RESUME;
	}
	return l0_stop_vm(vm, L0_STOP_UNHANDLED,
			  "L1 executed a VMX instruction with a memory "
			  "operand under a paging mode L0 does not walk "
			  "(only 4-level paging): not handled yet");
}

/* Reads/writes len bytes of the memory operand; 0, or *act is set. */
static int operand_read(struct l0_vm *vm, const struct nvmx_insn *in, void *buf,
			size_t len, enum l0_exit_action *act)
{
	struct l1mem_fault f;
	struct l1_paging pg;
	gva_t gva;
	int ret = nvmx_operand_gva(vm, in, &gva, &f);

	if (!ret) {
		l1_paging(vm, &pg);
		ret = l1mem_read_gva(&vm->mem, &pg, gva, buf, len, &f);
	}
	if (ret)
		*act = operand_fault(vm, ret, &f);
	return ret;
}

static int operand_write(struct l0_vm *vm, const struct nvmx_insn *in,
			 const void *buf, size_t len, enum l0_exit_action *act)
{
	struct l1mem_fault f;
	struct l1_paging pg;
	gva_t gva;
	int ret = nvmx_operand_gva(vm, in, &gva, &f);

	if (!ret) {
		l1_paging(vm, &pg);
		ret = l1mem_write_gva(&vm->mem, &pg, gva, buf, len, &f);
	}
	if (ret)
		*act = operand_fault(vm, ret, &f);
	return ret;
}

/* The 64-bit pointer operand of VMXON, VMCLEAR and VMPTRLD; register
 * operands are #UD (SDM 31.3). */
static int pointer_operand(struct l0_vm *vm, gpa_t *ptr,
			   enum l0_exit_action *act)
{
	struct nvmx_insn in;

	nvmx_read_insn(vm, &in);
	if (vmx_insn_info_is_reg(in.info)) {
		*act = inject_ud(vm);
		return -EINVAL;
	}
	return operand_read(vm, &in, ptr, sizeof(*ptr), act);
}

/* 4 KiB aligned and inside L1's physical-address width. */
static bool vmx_pointer_bad(const struct nvmx *n, gpa_t ptr)
{
	return (ptr & (PAGE_SIZE - 1)) || (ptr >> n->maxphyaddr);
}

/* Writes the cached vmcs12 back and makes L1 have no current VMCS. */
static void nvmx_release_vmcs12(struct l0_vm *vm)
{
	struct nvmx *n = vm->nvmx;

	if (n->vmptr == NVMX_NO_VMPTR)
		return;
	shadow_deactivate(vm);
	/* It was loaded from L1's RAM, so it fits back there. An eVMCS is
	 * L1's own memory, kept up to date at every exit: nothing to write,
	 * and L0's format must never land in it. */
	if (!n->evmcs.current)
		vmcs12_store(n->vmcs12, &vm->mem, n->vmptr);
	n->evmcs.current = false;
	n->vmptr = NVMX_NO_VMPTR;
	/* vmcs02 was prepared from a vmcs12 L1 no longer has current. */
	n->vmcs02_dirty = VMCS02_DIRTY_ALL;
}

void nvmx_release_current(struct l0_vm *vm)
{
	nvmx_release_vmcs12(vm);
}

void nvmx_set_current_vmcs12(struct l0_vm *vm, gpa_t ptr)
{
	struct nvmx *n = vm->nvmx;

	n->vmptr = ptr;
	n->vmcs02_dirty = VMCS02_DIRTY_ALL;
	shadow_activate(vm);
}

/* ---- the instructions (SDM 31.3) -------------------------------------------------- */

enum l0_exit_action nvmx_handle_vmxon(struct l0_vm *vm)
{
	struct nvmx *n = vm->nvmx;
	enum l0_exit_action act;
	uint64_t cr0 =
		l1_cr_view(vm, GUEST_CR0, CR0_GUEST_HOST_MASK, CR0_READ_SHADOW);
	uint64_t cr4 =
		l1_cr_view(vm, GUEST_CR4, CR4_GUEST_HOST_MASK, CR4_READ_SHADOW);
	uint64_t f0 = 0, f1 = 0, c0 = 0, c1 = 0;
	uint32_t rev;
	gpa_t ptr;

	if (!(cr4 & X86_CR4_VMXE))
		return inject_ud(vm);
	if (n->vmxon) {
		if (l1_cpl(vm) > 0)
			return inject_gp0(vm);
		return nvmx_fail_valid(vm, VMXERR_VMXON_IN_VMX_ROOT_OPERATION);
	}
	nvmx_get_msr(n, MSR_IA32_VMX_CR0_FIXED0, &f0);
	nvmx_get_msr(n, MSR_IA32_VMX_CR0_FIXED1, &f1);
	nvmx_get_msr(n, MSR_IA32_VMX_CR4_FIXED0, &c0);
	nvmx_get_msr(n, MSR_IA32_VMX_CR4_FIXED1, &c1);
	if (l1_cpl(vm) > 0 || (cr0 & f0) != f0 || (cr0 & ~f1) ||
	    (cr4 & c0) != c0 || (cr4 & ~c1) ||
	    !(n->feature_control & FEAT_CTL_LOCKED) ||
	    !(n->feature_control & FEAT_CTL_VMX_ENABLED_OUTSIDE_SMX))
		return inject_gp0(vm);
	if (pointer_operand(vm, &ptr, &act))
		return act;
	if (vmx_pointer_bad(n, ptr))
		return nvmx_fail_invalid(vm);
	/* Bits 30:0 the revision L0 reports, bit 31 clear (25.11.5). */
	rev = vmcs12_read_revision(&vm->mem, ptr);
	if (rev != VMCS12_REVISION)
		return nvmx_fail_invalid(vm);
	n->vmxon = true;
	n->vmxon_ptr = ptr;
	n->vmptr = NVMX_NO_VMPTR;
	return nvmx_succeed(vm);
}

enum l0_exit_action nvmx_handle_vmxoff(struct l0_vm *vm)
{
	struct nvmx *n = vm->nvmx;
	enum l0_exit_action act;

	if (!nvmx_permitted(vm, &act))
		return act;
	nvmx_release_vmcs12(vm);
	n->vmxon = false;
	n->vmxon_ptr = NVMX_NO_VMPTR;
	ept02_reset(&n->ept02);
	return nvmx_succeed(vm);
}

enum l0_exit_action nvmx_handle_vmclear(struct l0_vm *vm)
{
	struct nvmx *n = vm->nvmx;
	enum l0_exit_action act;
	gpa_t ptr;

	if (!nvmx_permitted(vm, &act) || pointer_operand(vm, &ptr, &act))
		return act;
	if (vmx_pointer_bad(n, ptr))
		return nvmx_fail_valid(vm, VMXERR_VMCLEAR_INVALID_ADDRESS);
	if (ptr == n->vmxon_ptr)
		return nvmx_fail_valid(vm, VMXERR_VMCLEAR_VMXON_POINTER);
	if (ptr == n->vmptr) {
		n->vmcs12->launch_state = VMCS12_LAUNCH_CLEAR;
		nvmx_release_vmcs12(vm);
	} else {
		/* Outside L1's RAM nothing holds a launch state. */
		vmcs12_clear_launch_state(&vm->mem, ptr);
	}
	return nvmx_succeed(vm);
}

enum l0_exit_action nvmx_handle_vmptrld(struct l0_vm *vm)
{
	struct nvmx *n = vm->nvmx;
	enum l0_exit_action act;
	gpa_t ptr;

	if (!nvmx_permitted(vm, &act) || pointer_operand(vm, &ptr, &act))
		return act;
	if (vmx_pointer_bad(n, ptr))
		return nvmx_fail_valid(vm, VMXERR_VMPTRLD_INVALID_ADDRESS);
	if (ptr == n->vmxon_ptr)
		return nvmx_fail_valid(vm, VMXERR_VMPTRLD_VMXON_POINTER);
	/* Memory that is not L1's RAM reads as all ones, which no revision
	 * matches; a shadow VMCS (bit 31 set) may be made current, for
	 * VMREAD/VMWRITE only (SDM 25.10, 31.3 "VMPTRLD"). */
	if ((vmcs12_read_revision(&vm->mem, ptr) & ~VMCS12_SHADOW_INDICATOR) !=
	    VMCS12_REVISION)
		return nvmx_fail_valid(
			vm, VMXERR_VMPTRLD_INCORRECT_VMCS_REVISION_ID);
	if (ptr != n->vmptr) {
		nvmx_release_vmcs12(vm);
		if (vmcs12_load(n->vmcs12, &vm->mem, ptr))
			return nvmx_fail_valid(
				vm, VMXERR_VMPTRLD_INCORRECT_VMCS_REVISION_ID);
		n->vmptr = ptr;
		n->vmcs02_dirty = VMCS02_DIRTY_ALL;
		shadow_activate(vm);
	}
	return nvmx_succeed(vm);
}

enum l0_exit_action nvmx_handle_vmptrst(struct l0_vm *vm)
{
	enum l0_exit_action act;
	struct nvmx_insn in;
	uint64_t ptr = vm->nvmx->vmptr;

	if (!nvmx_permitted(vm, &act))
		return act;
	nvmx_read_insn(vm, &in);
	if (vmx_insn_info_is_reg(in.info))
		return inject_ud(vm);
	if (operand_write(vm, &in, &ptr, sizeof(ptr), &act))
		return act;
	return nvmx_succeed(vm);
}

int nvmx_vmread_enc(struct l0_vm *vm, uint64_t enc, uint64_t *val)
{
	struct nvmx *n = vm->nvmx;

	if (n->vmptr == NVMX_NO_VMPTR)
		return -1;
	if ((enc >> 32) || vmcs12_read_field(n->vmcs12, (uint32_t)enc, val))
		return VMXERR_UNSUPPORTED_VMCS_COMPONENT;
	return 0;
}

enum l0_exit_action nvmx_handle_vmread(struct l0_vm *vm)
{
	struct nvmx *n = vm->nvmx;
	enum l0_exit_action act;
	struct nvmx_insn in;
	uint64_t enc = 0, val = 0;
	int ret;

	if (!nvmx_permitted(vm, &act))
		return act;
	if (n->vmptr == NVMX_NO_VMPTR)
		return nvmx_fail_invalid(vm);
	nvmx_read_insn(vm, &in);
	/* reg2 holds the encoding; in 64-bit mode all 64 bits of it. */
	enc = l0_read_gpr(vm, vmx_insn_info_get_reg2(in.info));
	ret = nvmx_vmread_enc(vm, enc, &val);
	if (ret)
		return nvmx_fail_valid(vm, (unsigned int)ret);
	if (vmx_insn_info_is_reg(in.info))
		l0_write_gpr(vm, vmx_insn_info_get_reg1(in.info), val);
	else if (operand_write(vm, &in, &val, sizeof(val), &act))
		return act;
	if (L0_TRACING(vm))
		l0_trace_nvmx_access(vm, false, (uint32_t)enc, val);
	return nvmx_succeed(vm);
}

int nvmx_vmwrite_enc(struct l0_vm *vm, uint64_t enc, uint64_t val)
{
	struct nvmx *n = vm->nvmx;
	uint64_t misc = 0;

	if (n->vmptr == NVMX_NO_VMPTR)
		return -1;
	if ((enc >> 32) || !nested_vmcs_field_supported((uint32_t)enc))
		return VMXERR_UNSUPPORTED_VMCS_COMPONENT;
	/* Exit-information fields are writable only when IA32_VMX_MISC[29]
	 * says so. */
	nvmx_get_msr(n, MSR_IA32_VMX_MISC, &misc);
	if (vmcs_field_type((uint32_t)enc) == VMCS_FIELD_TYPE_EXIT_INFO &&
	    !(misc & VMX_MISC_VMWRITE_SHADOW_RO_FIELDS))
		return VMXERR_VMWRITE_READ_ONLY_VMCS_COMPONENT;
	vmcs12_write_field(n->vmcs12, (uint32_t)enc, val);
	if (L0_TRACING(vm))
		l0_trace_nvmx_access(vm, true, (uint32_t)enc, val);
	shadow_write_through(vm, (uint32_t)enc);
	/* The field's sync class is now dirty (arch/vmcs_fields.def). */
	n->vmcs02_dirty |= VMCS02_DIRTY_CLASS(
		vmcs_field_table[vmcs_field_lookup((uint32_t)enc)].sync);
	return 0;
}

enum l0_exit_action nvmx_handle_vmwrite(struct l0_vm *vm)
{
	struct nvmx *n = vm->nvmx;
	enum l0_exit_action act;
	struct nvmx_insn in;
	uint64_t enc, val;
	int ret;

	if (!nvmx_permitted(vm, &act))
		return act;
	if (n->vmptr == NVMX_NO_VMPTR)
		return nvmx_fail_invalid(vm);
	nvmx_read_insn(vm, &in);
	if (vmx_insn_info_is_reg(in.info))
		val = l0_read_gpr(vm, vmx_insn_info_get_reg1(in.info));
	else if (operand_read(vm, &in, &val, sizeof(val), &act))
		return act;
	enc = l0_read_gpr(vm, vmx_insn_info_get_reg2(in.info));
	ret = nvmx_vmwrite_enc(vm, enc, val);
	if (ret)
		return nvmx_fail_valid(vm, (unsigned int)ret);
	return nvmx_succeed(vm);
}

/* ---- L2's VMREAD/VMWRITE of L1's shadow VMCS (SDM 25.10) ----------------------- */

/* The outcome for L2: flags in vmcs02's guest RFLAGS, the error number in
 * vmcs12 (L1 sees it there, through its shadow VMCS too, after the next
 * exit to L1 marks that stale). */
static enum l0_exit_action l2_vmx_status(struct l0_vm *vm, int err)
{
	if (err < 0)
		return nvmx_fail_invalid(vm);
	if (err > 0) {
		vm->nvmx->vmcs12->vm_instruction_error = (uint32_t)err;
		vm->nvmx->shadow_stale = true;
		set_flags(vm, X86_EFLAGS_ZF);
		return EXIT_RESUME_SKIP_INSN;
	}
	return nvmx_succeed(vm);
}

/* L2's memory operand is at an L1-physical address only without ept12;
 * through ept12 L0 does not walk it yet. */
static bool l2_operand_reachable(struct l0_vm *vm, const struct nvmx_insn *in,
				 enum l0_exit_action *act)
{
	const struct vmcs12 *v = vm->nvmx->vmcs12;

	if (vmx_insn_info_is_reg(in->info) ||
	    !((v->cpu_based_vm_exec_control &
	       CPU_BASED_ACTIVATE_SECONDARY_CONTROLS) &&
	      (v->secondary_vm_exec_control & SECONDARY_EXEC_ENABLE_EPT)))
		return true;
	*act = l0_stop_vm(vm, L0_STOP_UNHANDLED,
			  "L2 executed a shadowed VMREAD/VMWRITE with a "
			  "memory operand under ept12: not handled yet");
	return false;
}

enum l0_exit_action nvmx_handle_l2_vmread(struct l0_vm *vm, uint64_t enc)
{
	struct nvmx *n = vm->nvmx;
	gpa_t link = n->vmcs12->vmcs_link_pointer;
	struct vmcs12 *sh = n->shadow12;
	enum l0_exit_action act;
	struct nvmx_insn in;
	uint64_t val;

	nvmx_read_insn(vm, &in);
	/* No shadow VMCS: VMfailInvalid (SDM 31.3 "VMREAD"). */
	if (link == ~0ull || vmcs12_load(sh, &vm->mem, link))
		return l2_vmx_status(vm, -1);
	if ((enc >> 32) || vmcs12_read_field(sh, (uint32_t)enc, &val))
		return l2_vmx_status(vm, VMXERR_UNSUPPORTED_VMCS_COMPONENT);
	if (!l2_operand_reachable(vm, &in, &act))
		return act;
	if (vmx_insn_info_is_reg(in.info))
		l0_write_gpr(vm, vmx_insn_info_get_reg1(in.info), val);
	else if (operand_write(vm, &in, &val, sizeof(val), &act))
		return act;
	return l2_vmx_status(vm, 0);
}

enum l0_exit_action nvmx_handle_l2_vmwrite(struct l0_vm *vm, uint64_t enc)
{
	struct nvmx *n = vm->nvmx;
	gpa_t link = n->vmcs12->vmcs_link_pointer;
	struct vmcs12 *sh = n->shadow12;
	enum l0_exit_action act;
	struct nvmx_insn in;
	uint64_t val;

	nvmx_read_insn(vm, &in);
	/* VMfailInvalid comes before the source operand is read. */
	if (link == ~0ull || vmcs12_load(sh, &vm->mem, link))
		return l2_vmx_status(vm, -1);
	if (!l2_operand_reachable(vm, &in, &act))
		return act;
	if (vmx_insn_info_is_reg(in.info))
		val = l0_read_gpr(vm, vmx_insn_info_get_reg1(in.info));
	else if (operand_read(vm, &in, &val, sizeof(val), &act))
		return act;
	/* IA32_VMX_MISC[29] is offered: exit-information fields too. */
	if ((enc >> 32) || vmcs12_write_field(sh, (uint32_t)enc, val))
		return l2_vmx_status(vm, VMXERR_UNSUPPORTED_VMCS_COMPONENT);
	if (vmcs12_store(sh, &vm->mem, link))
		return l2_vmx_status(vm, -1);
	return l2_vmx_status(vm, 0);
}

enum l0_exit_action nvmx_handle_vmlaunch(struct l0_vm *vm)
{
	enum l0_exit_action act;

	if (!nvmx_permitted(vm, &act))
		return act;
	return nested_vmx_run(vm, true);
}

enum l0_exit_action nvmx_handle_vmresume(struct l0_vm *vm)
{
	enum l0_exit_action act;

	if (!nvmx_permitted(vm, &act))
		return act;
	return nested_vmx_run(vm, false);
}

/*
 * INVEPT: the type must be one L0 offers; a single-context EPTP must pass
 * the EPTP checks of VM entry (SDM 31.3 "INVEPT", 25.6.11). Under
 * "invept" coherence every type drops all of ept02, which invalidates at
 * least what the type asks for; under "wp" ept02 already follows every
 * write to ept12 and nothing is dropped (ept02_invept()), but the
 * processor's cached translations are still invalidated, as L1 asked.
 */
enum l0_exit_action nvmx_handle_invept(struct l0_vm *vm)
{
	struct nvmx *n = vm->nvmx;
	uint64_t cap = nested_vmx_ept_vpid_cap(&n->caps);
	struct vmx_invept_desc d;
	enum l0_exit_action act;
	struct nvmx_insn in;
	uint64_t type;

	if (!nvmx_permitted(vm, &act))
		return act;
	nvmx_read_insn(vm, &in);
	if (vmx_insn_info_is_reg(in.info))
		return inject_ud(vm);
	type = l0_read_gpr(vm, vmx_insn_info_get_reg2(in.info));
	if (operand_read(vm, &in, &d, sizeof(d), &act))
		return act;
	if (type > 3 || !vmx_ept_cap_has_invept_type(cap, (unsigned int)type))
		return nvmx_fail_valid(
			vm, VMXERR_INVALID_OPERAND_TO_INVEPT_INVVPID);
	if (type == VMX_EPT_EXTENT_CONTEXT &&
	    ((d.eptp & VMX_EPTP_MT_MASK) != VMX_EPTP_MT_WB ||
	     (d.eptp & VMX_EPTP_PWL_MASK) != VMX_EPTP_PWL_4 ||
	     (d.eptp & (VMX_EPTP_RESERVED_LOW | VMX_EPTP_AD_ENABLE_BIT |
			VMX_EPTP_SSS_BIT)) ||
	     ((d.eptp & VMX_EPTP_ADDR_MASK) >> n->maxphyaddr)))
		return nvmx_fail_valid(
			vm, VMXERR_INVALID_OPERAND_TO_INVEPT_INVVPID);
	ept02_invept(&n->ept02);
	/* The processor may hold translations through the old ept02. */
	vtx_invept(vm->cpu, VMX_EPT_EXTENT_GLOBAL, 0);
	return nvmx_succeed(vm);
}

/*
 * INVVPID (SDM 31.3 "INVVPID"): the operand checks, then the same
 * invalidation on the vpid02 L0 gave that vmcs12 VPID (mmu/vpid02.c); a
 * VPID no vmcs12 ran with has nothing cached.
 */
enum l0_exit_action nvmx_handle_invvpid(struct l0_vm *vm)
{
	struct nvmx *n = vm->nvmx;
	uint64_t cap = nested_vmx_ept_vpid_cap(&n->caps);
	struct vmx_invvpid_desc d;
	enum l0_exit_action act;
	struct nvmx_insn in;
	uint64_t type;

	if (!nvmx_permitted(vm, &act))
		return act;
	nvmx_read_insn(vm, &in);
	if (vmx_insn_info_is_reg(in.info))
		return inject_ud(vm);
	type = l0_read_gpr(vm, vmx_insn_info_get_reg2(in.info));
	if (operand_read(vm, &in, &d, sizeof(d), &act))
		return act;
	if (type > 3 ||
	    !vmx_vpid_cap_has_invvpid_type(cap, (unsigned int)type) ||
	    (d.vpid >> 16) ||
	    (type != VMX_VPID_EXTENT_ALL_CONTEXT && (d.vpid & 0xffff) == 0) ||
	    (type == VMX_VPID_EXTENT_INDIVIDUAL_ADDR &&
	     !x86_is_canonical(d.gla, false)))
		return nvmx_fail_valid(
			vm, VMXERR_INVALID_OPERAND_TO_INVEPT_INVVPID);
	if (vpid02_invvpid(&n->vpid02, type, (uint16_t)d.vpid, d.gla))
		return l0_stop_vm(vm, L0_STOP_INTERNAL,
				  "INVVPID of a vpid02 failed");
	return nvmx_succeed(vm);
}

/* VMCALL in (virtual) VMX root operation: VMfail, no dual-monitor
 * treatment of SMM being offered; outside VMX operation #UD. */
enum l0_exit_action nvmx_handle_vmcall(struct l0_vm *vm)
{
	enum l0_exit_action act;

	if (!nvmx_permitted(vm, &act))
		return act;
	return nvmx_fail_valid(vm, VMXERR_VMCALL_IN_VMX_ROOT_OPERATION);
}
