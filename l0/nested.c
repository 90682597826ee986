/* SPDX-License-Identifier: MIT */
/*
 * nested.c - running L2: the nested VM entry (L1's VMLAUNCH/VMRESUME:
 * launch state, the vmcs12 checks, vmcs02 prepared and made current), and
 * every exit of L2, decided in priority order: does L0 want it (an ept02
 * miss it fills: a hidden fault), does L1 want it (vmcs12's controls,
 * bitmaps and CR masks: reflect it, SDM Vol. 3C 26.1-26.2 and ch. 28 as
 * the processor would apply them for L1), else L0 handles it for L2 and
 * resumes L2. Monitor side.
 */
#include "l0/nvmx.h"

#include <errno.h>
#include <inttypes.h>

#include <asm/vmx.h>

#include "arch/ept.h"
#include "arch/vmx_exit_qual.h"
#include "arch/vmx_insn_errors.h"
#include "arch/x86_msr.h"
#include "arch/x86_paging.h"
#include "l0/nested_events.h"
#include "l0/shadow_vm.h"
#include "l0/trace.h"
#include "mmu/l1mem.h"
#include "vmcs-merge/vmcs12.h"
#include "vtx/vtx.h"

/* SDM Vol. 4 Table 2-2; arch/x86_msr.h does not list it yet. */
#ifndef MSR_IA32_SMM_MONITOR_CTL
#define MSR_IA32_SMM_MONITOR_CTL 0x0000009b
#endif

static bool vmcs12_uses_ept(const struct vmcs12 *v)
{
	return (v->cpu_based_vm_exec_control &
		CPU_BASED_ACTIVATE_SECONDARY_CONTROLS) &&
	       (v->secondary_vm_exec_control & SECONDARY_EXEC_ENABLE_EPT);
}

/* Back to L1's VMCS. */
static enum l0_exit_action switch_to_vmcs01(struct l0_vm *vm)
{
	vm->nvmx->guest_mode = false;
	if (vtx_vmptrld(vm->cpu, vm->vmcs01))
		return l0_stop_vm(vm, L0_STOP_INTERNAL,
				  "VMPTRLD of vmcs01 failed");
	return EXIT_RESUME;
}

/* L1 continues at its host RIP with vmcs12's host state (SDM 28.5). */
static enum l0_exit_action resume_l1_at_host_state(struct l0_vm *vm)
{
	if (switch_to_vmcs01(vm) == EXIT_STOP_VM)
		return EXIT_STOP_VM;
	if (vmcs_merge_load_l1_host_state(vm->cpu, vm->nvmx->vmcs12,
					  L0_CR4_OWNED))
		return l0_stop_vm(vm, L0_STOP_INTERNAL,
				  "loading vmcs12's host state failed");
	/* Under --mmu shadow the host CR3 just loaded is L1's virtual one. */
	if (vm->shadow && !l0_shadow_after_host_state(vm))
		return EXIT_STOP_VM;
	nested_events_flush_l1(vm);
	return EXIT_RESUME;
}

static enum l0_exit_action nested_load_exit_msrs(struct l0_vm *vm);

/* A VM-entry failure L1 sees (SDM 27.8): reason with bit 31 and the
 * qualification; nothing of L2 ran, no guest state and no MSRs are saved,
 * host state and the VM-exit MSR-load area are loaded. */
static enum l0_exit_action nested_entry_failure(struct l0_vm *vm,
						uint32_t basic, uint64_t qual)
{
	vm->stats.nested_entry_failures++;
	vm->nvmx->run_pending = false;
	/* vmcs02 may hold what the failed entry loaded (MSRs) rather than
	 * vmcs12's values: prepare all of it next time. */
	vm->nvmx->vmcs02_dirty = VMCS02_DIRTY_ALL;
	vmcs_merge_set_entry_failure(vm->nvmx->vmcs12, basic, qual);
	/* L1 reads the exit reason and qualification in the shadow VMCS,
	 * or in its eVMCS. */
	vm->nvmx->shadow_stale = true;
	evmcs_store_exit(vm);
	if (resume_l1_at_host_state(vm) == EXIT_STOP_VM)
		return EXIT_STOP_VM;
	return nested_load_exit_msrs(vm);
}

/* ---- vmcs12's MSR areas (SDM 27.4, 28.4, 28.6) --------------------------------- */

/*
 * An MSR-area entry (SDM 25.7.2): bits 31:0 the MSR index, 63:32
 * reserved, 127:64 the data. Entries are read from L1's memory; bytes
 * outside L1's RAM read as all ones, so such an entry has reserved bits set
 * and fails the way it would on a bus where nothing answers.
 */
struct msr_entry {
	uint64_t index;
	uint64_t data;
};

static void msr_area_read(const struct l1_mem *mem, gpa_t area, uint32_t k,
			  struct msr_entry *e)
{
	gpa_t gpa = area + (uint64_t)k * sizeof(*e);

	e->index = l1mem_read_u64_or_ones(mem, gpa);
	e->data = l1mem_read_u64_or_ones(mem, gpa + 8);
}

/*
 * The most entries an MSR area may have: 512 * (N + 1) with N in bits 27:25
 * of the IA32_VMX_MISC L0 offers L1 (SDM Vol. 3D A.6). The SDM leaves a
 * longer list undefined; L0 fails it at the first entry past the limit,
 * as KVM does, so that L1 cannot make one exit cost L0 a walk over all of
 * its RAM.
 */
static uint32_t msr_area_max(const struct l0_vm *vm)
{
	uint64_t misc = 0;

	nvmx_get_msr(vm->nvmx, MSR_IA32_VMX_MISC, &misc);
	return 512u * ((uint32_t)((misc >> 25) & 7) + 1);
}

/*
 * Loads count MSRs from the area at L1-physical area into the guest that
 * is current (L2 on vmcs02 at entry, L1 on vmcs01 at exit), as WRMSR at
 * CPL 0 would with L1's view of the MSRs. The rules are the processor's
 * (the model's own MSR-load check): reserved bits 63:32, the x2APIC range,
 * and what WRMSR refuses; at VM entry also IA32_FS_BASE, IA32_GS_BASE and
 * IA32_SMM_MONITOR_CTL (27.4), at VM exit IA32_SMBASE (28.6). 0, or the
 * 1-based index of the entry that failed (entries before it stay loaded).
 */
static uint32_t nested_load_msr_area(struct l0_vm *vm, gpa_t area,
				     uint32_t count, bool entry)
{
	uint32_t max = msr_area_max(vm);

	for (uint32_t k = 0; k < count; k++) {
		struct msr_entry e;
		uint32_t idx;

		if (k >= max)
			return k + 1;
		msr_area_read(&vm->mem, area, k, &e);
		idx = (uint32_t)e.index;
		if ((e.index >> 32) || (idx >> 8) == 0x8)
			return k + 1;
		if (entry && (idx == MSR_FS_BASE || idx == MSR_GS_BASE ||
			      idx == MSR_IA32_SMM_MONITOR_CTL))
			return k + 1;
		if (!entry && idx == MSR_IA32_SMBASE)
			return k + 1;
		if (l0_msr_write(vm, idx, e.data))
			return k + 1;
	}
	return 0;
}

/*
 * The VM-exit MSR-store area (SDM 28.4), with vmcs02 current: L2's MSRs
 * as L1 would read them. An MSR RDMSR refuses stores 0, and an entry
 * outside L1's RAM ends the store, as the model does on its own exits.
 * More entries than msr_area_max() is a failure: false, a VMX abort.
 */
static bool nested_store_msr_area(struct l0_vm *vm, const struct vmcs12 *v)
{
	if (v->vm_exit_msr_store_count > msr_area_max(vm))
		return false;
	for (uint32_t k = 0; k < v->vm_exit_msr_store_count; k++) {
		gpa_t gpa = v->vm_exit_msr_store_addr + (uint64_t)k * 16;
		struct msr_entry e;

		if (l1mem_read(&vm->mem, gpa, &e, sizeof(e)))
			break;
		if (l0_msr_read(vm, (uint32_t)e.index, &e.data))
			e.data = 0;
		l1mem_write(&vm->mem, gpa + 8, &e.data, sizeof(e.data));
	}
	return true;
}

/*
 * After vmcs12's host state is in vmcs01: the VM-exit MSR-load area
 * (SDM 28.6). A failure is a VMX abort (28.7): the indicator goes into
 * vmcs12 and L1's processor shuts down, which ends the run.
 */
static enum l0_exit_action nested_load_exit_msrs(struct l0_vm *vm)
{
	struct vmcs12 *v = vm->nvmx->vmcs12;
	uint32_t bad = nested_load_msr_area(vm, v->vm_exit_msr_load_addr,
					    v->vm_exit_msr_load_count, false);

	if (!bad)
		return EXIT_RESUME;
	v->abort = VMX_ABORT_LOAD_HOST_MSR_FAIL;
	return l0_stop_vm(vm, L0_STOP_TRIPLE_FAULT,
			  "VMX abort: VM-exit MSR-load entry %u failed", bad);
}

/* ---- nested VM entry ---------------------------------------------------------- */

/* vmcs02's configuration: L0's part, and L1's registers as they are now
 * (vmcs01 is current) for what vmcs12 does not load. */
static int nested_config(struct l0_vm *vm, struct vmcs02_config *cfg)
{
	struct nvmx *n = vm->nvmx;
	const struct vmcs12 *v = n->vmcs12;

	cfg->exit_ctls = vm->exit_ctls;
	cfg->entry_ctls = vm->entry_ctls;
	cfg->pin_must1 = vm->pin_must1;
	cfg->proc_must1 = vm->proc_must1;
	cfg->exception_bitmap = 0;
	cfg->cr0_mask = L0_CR0_OWNED;
	/* vmcs02 is unrestricted where vmcs12 is: L2's PE and PG are then
	 * its own, as they are on L1's VMCS (SDM 26.3.1.1). */
	if ((v->cpu_based_vm_exec_control &
	     CPU_BASED_ACTIVATE_SECONDARY_CONTROLS) &&
	    (v->secondary_vm_exec_control & SECONDARY_EXEC_UNRESTRICTED_GUEST))
		cfg->cr0_mask &= ~(uint64_t)(X86_CR0_PE | X86_CR0_PG);
	cfg->vpid02 = nested_events_vpid02(vm);
	cfg->cr4_mask = L0_CR4_OWNED;
	cfg->tsc_offset = l0_vmread(vm, TSC_OFFSET);
	cfg->l1_efer = l0_vmread(vm, GUEST_IA32_EFER);
	cfg->l1_pat = l0_vmread(vm, GUEST_IA32_PAT);
	cfg->l1_dr7 = l0_vmread(vm, GUEST_DR7);
	cfg->l1_debugctl = l0_vmread(vm, GUEST_IA32_DEBUGCTL);
	cfg->host = &vm->host;
	/* Without EPT of its own L1 gives L2 its own physical memory. */
	if (!vmcs12_uses_ept(v)) {
		cfg->eptp = vm->eptp01;
		return 0;
	}
	return ept02_use(&n->ept02, v->ept_pointer, &cfg->eptp);
}

static bool vmcs02_config_equal(const struct vmcs02_config *a,
				const struct vmcs02_config *b)
{
	return a->exit_ctls == b->exit_ctls && a->entry_ctls == b->entry_ctls &&
	       a->pin_must1 == b->pin_must1 && a->proc_must1 == b->proc_must1 &&
	       a->exception_bitmap == b->exception_bitmap &&
	       a->cr0_mask == b->cr0_mask && a->cr4_mask == b->cr4_mask &&
	       a->eptp == b->eptp && a->tsc_offset == b->tsc_offset &&
	       a->l1_efer == b->l1_efer && a->l1_pat == b->l1_pat &&
	       a->l1_dr7 == b->l1_dr7 && a->l1_debugctl == b->l1_debugctl &&
	       a->host == b->host && a->vpid02 == b->vpid02;
}

/* SDM 27.3.1.5: the link pointer (other than ~0) names a region of our
 * revision whose shadow-VMCS indicator equals "VMCS shadowing", and not
 * the current VMCS; memory outside L1's RAM reads as all ones. */
static bool nested_link_pointer_ok(const struct vmcs12 *v,
				   const struct l1_mem *mem, gpa_t vmptr)
{
	uint32_t proc2 = (v->cpu_based_vm_exec_control &
			  CPU_BASED_ACTIVATE_SECONDARY_CONTROLS)
				 ? v->secondary_vm_exec_control
				 : 0;
	bool shadowing = proc2 & SECONDARY_EXEC_SHADOW_VMCS;
	uint32_t rev = vmcs12_read_revision(mem, v->vmcs_link_pointer);

	return (rev & ~VMCS12_SHADOW_INDICATOR) == VMCS12_REVISION &&
	       !!(rev & VMCS12_SHADOW_INDICATOR) == shadowing &&
	       v->vmcs_link_pointer != vmptr;
}

enum l0_exit_action nested_vmx_run(struct l0_vm *vm, bool launch)
{
	struct nvmx *n = vm->nvmx;
	struct vmcs12 *v = n->vmcs12;
	struct vmcs02_config cfg;
	uint64_t before;
	uint32_t bad;
	int ret;

	/* pv: an enlightened entry makes the eVMCS current and copies it
	 * into vmcs12 (l0/evmcs.c) instead of a VMPTRLD. */
	if (evmcs_prepare_entry(vm, launch) == EVMCS_ENTRY_FAIL_INVALID)
		return nvmx_fail_invalid(vm);
	/* SDM 31.3 "VMLAUNCH/VMRESUME", after the #UD and #GP checks. */
	if (n->vmptr == NVMX_NO_VMPTR)
		return nvmx_fail_invalid(vm);
	/* A shadow VMCS can be current but never entered (SDM 25.10, 27.1):
	 * VMfailInvalid, as with no current VMCS. */
	if (n->vmcs12->revision_id & VMCS12_SHADOW_INDICATOR)
		return nvmx_fail_invalid(vm);
	/* Everything below reads vmcs12, which must hold what L1 wrote
	 * through the shadow VMCS (KVM's copy_shadow_to_vmcs12()). */
	nvmx_sync_shadow_to_vmcs12(vm);
	if (l0_vmread(vm, GUEST_INTERRUPTIBILITY_INFO) &
	    GUEST_INTR_STATE_MOV_SS)
		return nvmx_fail_valid(vm,
				       VMXERR_ENTRY_EVENTS_BLOCKED_BY_MOV_SS);
	if (launch && v->launch_state != VMCS12_LAUNCH_CLEAR)
		return nvmx_fail_valid(vm, VMXERR_VMLAUNCH_NONCLEAR_VMCS);
	if (!launch && v->launch_state != VMCS12_LAUNCH_LAUNCHED)
		return nvmx_fail_valid(vm, VMXERR_VMRESUME_NONLAUNCHED_VMCS);

	vmcs_merge_check_vmcs12(v, &n->caps, n->maxphyaddr, &n->last_check);
	/* As KVM, after the checks that VMfail: the entry is under way. */
	if (L0_TRACING(vm) && n->last_check.result != VMCS12_CHECK_VMFAIL)
		l0_trace_nested_vmenter(vm);
	switch (n->last_check.result) {
	case VMCS12_CHECK_OK:
		break;
	case VMCS12_CHECK_VMFAIL:
		vm->stats.nested_vmfails++;
		return nvmx_fail_valid(vm, n->last_check.error);
	case VMCS12_CHECK_ENTRY_FAIL:
		return nested_entry_failure(vm, n->last_check.exit_reason,
					    n->last_check.qual);
	}
	/* SDM 27.3.1.5, the last guest-state rule: the region the link
	 * pointer names carries the VMCS revision, its shadow-VMCS indicator
	 * equal to "VMCS shadowing", and is not the current VMCS. */
	if (v->vmcs_link_pointer != ~0ull &&
	    !nested_link_pointer_ok(v, &vm->mem, n->vmptr)) {
		n->last_check.result = VMCS12_CHECK_ENTRY_FAIL;
		n->last_check.check =
			"!nested_link_pointer_ok(v, mem, n->vmptr)";
		return nested_entry_failure(vm, EXIT_REASON_INVALID_STATE,
					    ENTRY_FAIL_VMCS_LINK_PTR);
	}
	cfg = n->cfg02;
	ret = nested_config(vm, &n->cfg02);
	if (ret)
		return l0_stop_vm(vm, L0_STOP_INTERNAL,
				  "the L0 area (%" PRIu64
				  " MiB) has no room left for ept02",
				  l0_area_size(&vm->area) >> 20);
	if (vtx_vmptrld(vm->cpu, vm->vmcs02))
		return l0_stop_vm(vm, L0_STOP_INTERNAL,
				  "VMPTRLD of vmcs02 failed");
	n->guest_mode = true;
	/* L0's own part of the merge changed: nothing in vmcs02 is known
	 * to be right -- unless only L1's TSC offset moved (under
	 * --vmcs-access bt L0 charges the translated handler through it at
	 * every round trip): TSC_OFFSET is written with the controls, so
	 * their class is enough. */
	if (!vmcs02_config_equal(&cfg, &n->cfg02)) {
		struct vmcs02_config same_tsc = cfg;

		same_tsc.tsc_offset = n->cfg02.tsc_offset;
		n->vmcs02_dirty |=
			vmcs02_config_equal(&same_tsc, &n->cfg02)
				? VMCS02_DIRTY_CLASS(VMCS_SYNC_CTRL_RARE)
				: VMCS02_DIRTY_ALL;
	}
	before = vm->stats.vmcs02_writes;
	ret = vmcs_merge_prepare_vmcs02_parts(
		vm->cpu, v, &n->cfg02,
		vm->prep == L0_PREP_DIRTY ? n->vmcs02_dirty : VMCS02_DIRTY_ALL,
		&vm->stats.vmcs02_writes);
	if (vm->span >= 0)
		vm->stats.reflected[vm->span].vmcs02_writes +=
			vm->stats.vmcs02_writes - before;
	n->vmcs02_dirty = 0;
	if (ret)
		return l0_stop_vm(vm, L0_STOP_INTERNAL,
				  "preparing vmcs02 failed (VM-instruction "
				  "error %d)",
				  ret);
	nested_events_flush_on_entry(vm);
	/*
	 * SDM 27.4: the VM-entry MSR-load area, after guest state, into L2
	 * (vmcs02 is current). A failure is an entry failure with the
	 * 1-based index of the entry (27.8); the launch state stays as it
	 * was (31.3 "VMLAUNCH").
	 */
	bad = nested_load_msr_area(vm, v->vm_entry_msr_load_addr,
				   v->vm_entry_msr_load_count, true);
	if (bad)
		return nested_entry_failure(vm, EXIT_REASON_MSR_LOAD_FAIL, bad);
	n->run_pending = true;
	n->run_launch = launch;
	return EXIT_RESUME;
}

enum l0_exit_action nested_vmx_entry_vmfail(struct l0_vm *vm, int error)
{
	vm->stats.nested_vmfails++;
	vm->nvmx->run_pending = false;
	vm->nvmx->vmcs02_dirty = VMCS02_DIRTY_ALL;
	if (switch_to_vmcs01(vm) == EXIT_STOP_VM)
		return EXIT_STOP_VM;
	/* L1's RIP is still at its VMLAUNCH/VMRESUME. */
	return nvmx_fail_valid(vm, (unsigned int)error);
}

/* ---- does L1 want it? ------------------------------------------------------------ */

/* A bit of one of L1's bitmaps; a bitmap outside L1's RAM reads as all
 * ones, as nothing answers there. */
static bool l1_bitmap_bit(const struct l1_mem *mem, gpa_t bitmap,
			  unsigned int bit)
{
	uint8_t b;

	if (l1mem_read(mem, bitmap + bit / 8, &b, 1))
		return true;
	return (b >> (bit & 7)) & 1;
}

/*
 * SDM 26.1.3, 31.3 "VMREAD"/"VMWRITE": without VMCS shadowing every
 * VMREAD/VMWRITE exits; with it, one whose encoding has a bit above 14
 * set, or whose bit (bits 14:0) in the VMREAD/VMWRITE bitmap is 1.
 */
bool nested_l1_wants_vmcs_access(const struct vmcs12 *v,
				 const struct l1_mem *mem, bool write,
				 uint64_t enc)
{
	uint32_t proc2 = (v->cpu_based_vm_exec_control &
			  CPU_BASED_ACTIVATE_SECONDARY_CONTROLS)
				 ? v->secondary_vm_exec_control
				 : 0;

	if (!(proc2 & SECONDARY_EXEC_SHADOW_VMCS) || (enc >> 15))
		return true;
	return l1_bitmap_bit(mem, write ? v->vmwrite_bitmap : v->vmread_bitmap,
			     (unsigned int)enc);
}

/* SDM 26.1.3: unconditional I/O exiting, or the I/O bitmaps: any byte of
 * the access, and an access that wraps past port 0xffff, exits. */
static bool l1_wants_io(const struct vmcs12 *v, const struct l1_mem *mem,
			uint64_t qual)
{
	unsigned int port = vmx_qual_io_get_port(qual);
	unsigned int size = vmx_qual_io_get_size(qual);

	if (!(v->cpu_based_vm_exec_control & CPU_BASED_USE_IO_BITMAPS))
		return v->cpu_based_vm_exec_control &
		       CPU_BASED_UNCOND_IO_EXITING;
	for (unsigned int p = port; p < port + size; p++) {
		if (p > 0xffff)
			return true;
		if (l1_bitmap_bit(mem,
				  p < 0x8000 ? v->io_bitmap_a : v->io_bitmap_b,
				  p & 0x7fff))
			return true;
	}
	return false;
}

/* SDM 25.6.9, 26.1.3: the MSR bitmap (read low, read high, write low,
 * write high, 1 KiB each); MSRs outside both ranges always exit. */
static bool l1_wants_msr(const struct vmcs12 *v, const struct l1_mem *mem,
			 uint32_t msr, bool write)
{
	unsigned int base = write ? 2048 * 8 : 0;

	if (!(v->cpu_based_vm_exec_control & CPU_BASED_USE_MSR_BITMAPS))
		return true;
	if (msr <= 0x1fff)
		return l1_bitmap_bit(mem, v->msr_bitmap, base + msr);
	if (msr >= 0xc0000000u && msr <= 0xc0001fffu)
		return l1_bitmap_bit(mem, v->msr_bitmap,
				     base + 1024 * 8 + (msr - 0xc0000000u));
	return true;
}

/* SDM 26.2: the exception bitmap; for #PF the bit's sense flips unless
 * the error code matches. NMIs exit with "NMI exiting". */
static bool l1_wants_exception(const struct vmcs12 *v,
			       const struct nested_exit_info *e)
{
	unsigned int vector = vmx_intr_info_get_vector(e->intr_info);
	bool bit;

	if (vmx_intr_info_get_type(e->intr_info) == INTR_TYPE_NMI_INTR)
		return v->pin_based_vm_exec_control & PIN_BASED_NMI_EXITING;
	if (vector > 31)
		return true;
	bit = (v->exception_bitmap >> vector) & 1;
	if (vector == PF_VECTOR &&
	    (e->intr_error & v->page_fault_error_code_mask) !=
		    v->page_fault_error_code_match)
		return !bit;
	return bit;
}

/* SDM 26.1.3: control-register accesses against vmcs12's masks, read
 * shadows, CR3-target values and CR3/CR8 exiting controls. */
static bool l1_wants_cr_access(const struct vmcs12 *v,
			       const struct nested_l2_exit *x)
{
	uint64_t qual = x->info.qual;
	uint32_t proc = v->cpu_based_vm_exec_control;
	uint64_t mask0 = v->cr0_guest_host_mask, shadow0 = v->cr0_read_shadow;

	switch (vmx_qual_cr_get_type(qual)) {
	case CR_ACCESS_TYPE_MOV_TO_CR:
		switch (vmx_qual_cr_get_num(qual)) {
		case 0:
			return (x->cr_value ^ shadow0) & mask0;
		case 3:
			if (!(proc & CPU_BASED_CR3_LOAD_EXITING))
				return false;
			{
				const uint64_t t[4] = {
					v->cr3_target_value0,
					v->cr3_target_value1,
					v->cr3_target_value2,
					v->cr3_target_value3,
				};

				for (uint32_t i = 0;
				     i < v->cr3_target_count && i < 4; i++)
					if (t[i] == x->cr_value)
						return false;
			}
			return true;
		case 4:
			return (x->cr_value ^ v->cr4_read_shadow) &
			       v->cr4_guest_host_mask;
		case 8:
			return proc & CPU_BASED_CR8_LOAD_EXITING;
		default:
			return true;
		}
	case CR_ACCESS_TYPE_MOV_FROM_CR:
		if (vmx_qual_cr_get_num(qual) == 3)
			return proc & CPU_BASED_CR3_STORE_EXITING;
		if (vmx_qual_cr_get_num(qual) == 8)
			return proc & CPU_BASED_CR8_STORE_EXITING;
		return true;
	case CR_ACCESS_TYPE_CLTS:
		return (mask0 & X86_CR0_TS) && (shadow0 & X86_CR0_TS);
	case CR_ACCESS_TYPE_LMSW: {
		uint64_t data = vmx_qual_cr_get_lmsw_data(qual);

		/* LMSW writes PE, MP, EM, TS, and can set PE but not
		 * clear it. */
		return (mask0 & (X86_CR0_MP | X86_CR0_EM | X86_CR0_TS) &
			(data ^ shadow0)) ||
		       ((mask0 & X86_CR0_PE) && !(shadow0 & X86_CR0_PE) &&
			(data & X86_CR0_PE));
	}
	default:
		return true;
	}
}

bool nested_l1_wants_exit(const struct vmcs12 *v, const struct l1_mem *mem,
			  const struct nested_l2_exit *x)
{
	uint32_t proc = v->cpu_based_vm_exec_control;
	uint32_t proc2 = (proc & CPU_BASED_ACTIVATE_SECONDARY_CONTROLS)
				 ? v->secondary_vm_exec_control
				 : 0;
	bool wants;

	if (nested_events_l1_wants(v, vmx_exit_reason_basic(x->info.reason),
				   &wants))
		return wants;
	switch (vmx_exit_reason_basic(x->info.reason)) {
	case EXIT_REASON_EXCEPTION_NMI:
		return l1_wants_exception(v, &x->info);
	case EXIT_REASON_EXTERNAL_INTERRUPT:
		return v->pin_based_vm_exec_control & PIN_BASED_EXT_INTR_MASK;
	case EXIT_REASON_HLT:
		return proc & CPU_BASED_HLT_EXITING;
	case EXIT_REASON_INVLPG:
		return proc & CPU_BASED_INVLPG_EXITING;
	case EXIT_REASON_RDPMC:
		return proc & CPU_BASED_RDPMC_EXITING;
	case EXIT_REASON_RDTSC:
	case EXIT_REASON_RDTSCP:
		return proc & CPU_BASED_RDTSC_EXITING;
	case EXIT_REASON_CR_ACCESS:
		return l1_wants_cr_access(v, x);
	case EXIT_REASON_DR_ACCESS:
		return proc & CPU_BASED_MOV_DR_EXITING;
	case EXIT_REASON_IO_INSTRUCTION:
		return l1_wants_io(v, mem, x->info.qual);
	case EXIT_REASON_MSR_READ:
		return l1_wants_msr(v, mem, x->msr, false);
	case EXIT_REASON_MSR_WRITE:
		return l1_wants_msr(v, mem, x->msr, true);
	case EXIT_REASON_PAUSE_INSTRUCTION:
		return proc & CPU_BASED_PAUSE_EXITING;
	case EXIT_REASON_WBINVD:
		return proc2 & SECONDARY_EXEC_WBINVD_EXITING;
	case EXIT_REASON_GDTR_IDTR:
	case EXIT_REASON_LDTR_TR:
		return proc2 & SECONDARY_EXEC_DESC;
	case EXIT_REASON_VMREAD:
		return nested_l1_wants_vmcs_access(v, mem, false, x->vmcs_enc);
	case EXIT_REASON_VMWRITE:
		return nested_l1_wants_vmcs_access(v, mem, true, x->vmcs_enc);
	/* Unconditional for L2, as for any guest (SDM 26.1.2), and the
	 * EPT faults L0 found to be ept12's own. */
	case EXIT_REASON_TRIPLE_FAULT:
	case EXIT_REASON_CPUID:
	case EXIT_REASON_VMCALL:
	case EXIT_REASON_VMCLEAR:
	case EXIT_REASON_VMLAUNCH:
	case EXIT_REASON_VMPTRLD:
	case EXIT_REASON_VMPTRST:
	case EXIT_REASON_VMRESUME:
	case EXIT_REASON_VMOFF:
	case EXIT_REASON_VMON:
	case EXIT_REASON_INVEPT:
	case EXIT_REASON_INVVPID:
	case EXIT_REASON_EPT_VIOLATION:
	case EXIT_REASON_EPT_MISCONFIG:
		return true;
	default:
		/* Whatever L0 does not know is L1's to judge. */
		return true;
	}
}

/* ---- reflecting ------------------------------------------------------------------ */

enum l0_exit_action nested_reflect_vmexit(struct l0_vm *vm,
					  const struct nested_exit_info *e)
{
	struct nvmx *n = vm->nvmx;

	l0_span_open(vm, vmx_exit_reason_basic(e->reason));
	vmcs_merge_sync_vmcs02_to_vmcs12(vm->cpu, n->vmcs12, &n->cfg02, e);
	if (L0_TRACING(vm))
		l0_trace_nested_vmexit_inject(vm);
	/* L2's state and the exit information reach L1's shadow VMCS
	 * before L1 runs (nvmx_sync_vmcs12_to_shadow()). */
	n->shadow_stale = true;
	/* ... or into its eVMCS, now. */
	evmcs_store_exit(vm);
	/* SDM 28.4 then 28.5 and 28.6: MSRs stored after guest state,
	 * loaded after host state. */
	if (!nested_store_msr_area(vm, n->vmcs12)) {
		n->vmcs12->abort = VMX_ABORT_SAVE_GUEST_MSR_FAIL;
		return l0_stop_vm(vm, L0_STOP_TRIPLE_FAULT,
				  "VMX abort: VM-exit MSR-store count %u is "
				  "above the maximum %u",
				  n->vmcs12->vm_exit_msr_store_count,
				  msr_area_max(vm));
	}
	if (resume_l1_at_host_state(vm) == EXIT_STOP_VM)
		return EXIT_STOP_VM;
	if (nested_load_exit_msrs(vm) == EXIT_STOP_VM)
		return EXIT_STOP_VM;
	/* --vmcs-access bt: L1's handler runs translated (l0/bt_l1.c). */
	return vm->bt_l1_run ? vm->bt_l1_run(vm) : EXIT_RESUME;
}

/* ---- handling an exit for L2 ------------------------------------------------------ */

/*
 * An exit L0 handled while L2 was delivering an event (IDT-vectoring
 * information valid, SDM 28.2.4): the event never reached L2, so it is
 * injected again on the next entry (SDM 27.6), as KVM does.
 */
static enum l0_exit_action requeue_event(struct l0_vm *vm,
					 const struct nested_exit_info *e,
					 enum l0_exit_action act)
{
	uint32_t info = e->idt_vectoring_info;

	/* After a reflection L1 is current: the event is L1's to see. */
	if (act == EXIT_STOP_VM || !vm->nvmx->guest_mode ||
	    !vmx_intr_info_is_valid(info))
		return act;
	l0_vmwrite(vm, VM_ENTRY_INTR_INFO_FIELD, info & ~INTR_INFO_UNBLOCK_NMI);
	if (vmx_intr_info_has_error_code(info))
		l0_vmwrite(vm, VM_ENTRY_EXCEPTION_ERROR_CODE,
			   e->idt_vectoring_error);
	if (vmx_intr_type_is_soft(vmx_intr_info_get_type(info)))
		l0_vmwrite(vm, VM_ENTRY_INSTRUCTION_LEN, e->insn_len);
	return act;
}

/*
 * A hardware exception L0 raises in L2 (a #GP of an MSR access it
 * emulated): L1 gets it as an exception exit if its exception bitmap asks
 * for it (SDM 26.2), else L2 gets it by event injection.
 */
static enum l0_exit_action queue_l2_exception(struct l0_vm *vm,
					      const struct nested_exit_info *x,
					      unsigned int vector,
					      uint32_t error)
{
	struct nested_exit_info e = *x;

	if ((vm->nvmx->vmcs12->exception_bitmap >> vector) & 1) {
		e.reason = EXIT_REASON_EXCEPTION_NMI;
		e.qual = 0;
		e.intr_info = vmx_build_intr_info(
			vector, INTR_TYPE_HARD_EXCEPTION, true);
		e.intr_error = error;
		e.idt_vectoring_info = 0;
		return nested_reflect_vmexit(vm, &e);
	}
	l0_inject_exception(vm, vector, true, error, 0);
	return EXIT_RESUME;
}

static enum l0_exit_action handle_for_l2(struct l0_vm *vm,
					 const struct nested_l2_exit *x)
{
	uint32_t basic = vmx_exit_reason_basic(x->info.reason);
	uint64_t val;

	switch (basic) {
	case EXIT_REASON_IO_INSTRUCTION:
		return l0_handle_pio(vm, x->info.qual);
	case EXIT_REASON_MSR_READ:
		if (l0_msr_read(vm, x->msr, &val))
			return queue_l2_exception(vm, &x->info, GP_VECTOR, 0);
		l0_write_gpr(vm, VCPU_REGS_RAX, (uint32_t)val);
		l0_write_gpr(vm, VCPU_REGS_RDX, val >> 32);
		return EXIT_RESUME_SKIP_INSN;
	case EXIT_REASON_MSR_WRITE:
		val = (uint32_t)l0_read_gpr(vm, VCPU_REGS_RAX) |
		      (l0_read_gpr(vm, VCPU_REGS_RDX) << 32);
		if (l0_msr_write(vm, x->msr, val))
			return queue_l2_exception(vm, &x->info, GP_VECTOR, 0);
		return EXIT_RESUME_SKIP_INSN;
	case EXIT_REASON_VMREAD:
		return nvmx_handle_l2_vmread(vm, x->vmcs_enc);
	case EXIT_REASON_VMWRITE:
		return nvmx_handle_l2_vmwrite(vm, x->vmcs_enc);
	case EXIT_REASON_CR_ACCESS:
		return l0_stop_vm(
			vm, L0_STOP_UNHANDLED,
			"L2 changed a bit of CR%u that only L0 owns "
			"(qualification 0x%" PRIx64 "): not handled yet",
			vmx_qual_cr_get_num(x->info.qual), x->info.qual);
	default:
		return l0_stop_vm(vm, L0_STOP_UNHANDLED,
				  "L2 exit reason %u (%s), which L1 does not "
				  "intercept: not handled yet",
				  basic, l0_exit_reason_name(basic));
	}
}

/* ---- ept02 ------------------------------------------------------------------------ */

/* The qualification L1 gets for a true fault: the access and linear-
 * address bits of the ept02 exit, the rights ept12 gave (SDM Table 28-7). */
static uint64_t true_fault_qual(uint64_t qual02, uint64_t prot12)
{
	return (qual02 & ~(uint64_t)EPT_VIOLATION_PROT_MASK) |
	       vmx_build_ept_violation_qual(0, prot12 & EPT_RWX);
}

static enum l0_exit_action
nested_ept_violation(struct l0_vm *vm, const struct nested_exit_info *x)
{
	struct nvmx *n = vm->nvmx;
	struct nested_exit_info e = *x;
	struct ept02_walk walk;

	if (!vmcs12_uses_ept(n->vmcs12))
		return l0_stop_vm(vm, L0_STOP_UNHANDLED,
				  "L2 accessed guest-physical 0x%" PRIx64
				  " outside L1's RAM: not handled yet",
				  x->gpa);
	switch (ept02_handle_violation(
		&n->ept02, x->gpa, x->qual & EPT_VIOLATION_ACC_MASK, &walk)) {
	case EPT02_FILLED:
		vm->stats.ept02_fills++;
		return requeue_event(vm, x, EXIT_RESUME);
	case EPT02_VIOLATION:
		vm->stats.ept_violations_reflected++;
		e.qual = true_fault_qual(x->qual, walk.prot);
		return nested_reflect_vmexit(vm, &e);
	case EPT02_MISCONFIG:
		/* SDM 28.2.1: no qualification; the GPA says where. */
		e.reason = EXIT_REASON_EPT_MISCONFIG;
		e.qual = 0;
		return nested_reflect_vmexit(vm, &e);
	case EPT02_OUTSIDE_L1_RAM:
		return l0_stop_vm(vm, L0_STOP_UNHANDLED,
				  "ept12 maps L2-physical 0x%" PRIx64
				  " to L1-physical 0x%" PRIx64
				  ", outside L1's RAM: not handled yet",
				  x->gpa, walk.l1_gpa);
	case EPT02_WP_SELF:
		/* Would need the write emulated: unprotecting the page lets
		 * the next walk protect it again, forever. */
		return l0_stop_vm(vm, L0_STOP_UNHANDLED,
				  "L2 writes L2-physical 0x%" PRIx64
				  ", an ept12 page that maps itself, under "
				  "--ept-coherence wp: not handled yet",
				  x->gpa);
	case EPT02_NO_MEMORY:
		break;
	}
	return l0_stop_vm(vm, L0_STOP_INTERNAL,
			  "the L0 area (%" PRIu64
			  " MiB) has no room left for ept02",
			  l0_area_size(&vm->area) >> 20);
}

/* ---- the entry point -------------------------------------------------------------- */

enum l0_exit_action nested_handle_l2_exit(struct l0_vm *vm)
{
	struct nvmx *n = vm->nvmx;
	struct nested_l2_exit x = { 0 };
	uint32_t basic;

	vmcs_merge_read_exit_info(vm->cpu, &x.info);
	basic = vmx_exit_reason_basic(x.info.reason);
	if (basic < VMX_NR_EXIT_REASONS)
		vm->stats.l2_exits[basic]++;
	/* A guest-state rule L0 left to the processor failed: for L1, its
	 * VMLAUNCH/VMRESUME failed the same way (SDM 27.8). */
	if (x.info.reason & VMX_EXIT_REASONS_FAILED_VMENTRY)
		return nested_entry_failure(vm, basic, x.info.qual);
	if (n->run_pending) {
		n->run_pending = false;
		vm->stats.nested_entries++;
		if (n->run_launch)
			n->vmcs12->launch_state = VMCS12_LAUNCH_LAUNCHED;
	}

	/* Does L0 want it? */
	switch (basic) {
	case EXIT_REASON_EPT_VIOLATION:
		return nested_ept_violation(vm, &x.info);
	case EXIT_REASON_EPT_MISCONFIG:
		return l0_stop_vm(vm, L0_STOP_INTERNAL,
				  "ept02 is misconfigured at 0x%" PRIx64,
				  x.info.gpa);
	default:
		break;
	}

	/* Does L1? */
	if (basic == EXIT_REASON_MSR_READ || basic == EXIT_REASON_MSR_WRITE)
		x.msr = (uint32_t)l0_read_gpr(vm, VCPU_REGS_RCX);
	if (basic == EXIT_REASON_CR_ACCESS &&
	    vmx_qual_cr_get_type(x.info.qual) == CR_ACCESS_TYPE_MOV_TO_CR)
		x.cr_value = l0_read_gpr(vm, vmx_qual_cr_get_gpr(x.info.qual));
	/* VMREAD and VMWRITE both name the encoding register in reg2 of
	 * the instruction information (SDM Table 28-15). */
	if (basic == EXIT_REASON_VMREAD || basic == EXIT_REASON_VMWRITE)
		x.vmcs_enc = l0_read_gpr(
			vm, vmx_insn_info_get_reg2(x.info.insn_info));
	if (nested_l1_wants_exit(n->vmcs12, &vm->mem, &x))
		return nested_reflect_vmexit(vm, &x.info);

	/* L0 handles it for L2. */
	return requeue_event(
		vm, &x.info,
		nested_events_after_emulation(vm, &x, handle_for_l2(vm, &x)));
}

int nested_vmx_enter_restored(struct l0_vm *vm)
{
	struct nvmx *n = vm->nvmx;
	int ret;

	if (nested_config(vm, &n->cfg02))
		return -ENOMEM;
	if (vtx_vmptrld(vm->cpu, vm->vmcs02))
		return -EIO;
	n->guest_mode = true;
	ret = vmcs_merge_prepare_vmcs02_parts(vm->cpu, n->vmcs12, &n->cfg02,
					      VMCS02_DIRTY_ALL,
					      &vm->stats.vmcs02_writes);
	n->vmcs02_dirty = 0;
	if (!ret)
		nested_events_flush_on_entry(vm);
	return ret ? -EIO : 0;
}
