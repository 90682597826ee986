/* SPDX-License-Identifier: MIT */
/*
 * check.c - the checks on vmcs12 at a nested VM entry, in the SDM's order
 * (Vol. 3C 27.2.1 controls against L0's capabilities, 27.2.2-27.2.4 host
 * state, 27.3.1 guest state: registers, segments, descriptor tables,
 * RIP/RFLAGS, non-register state, the link pointer's address). One CC()
 * line per rule records the rule that failed.
 * Monitor side.
 */
#include "vmcs-merge/merge.h"

#include <asm/vmx.h>

#include "arch/ept.h"
#include "arch/vmx_exit_qual.h"
#include "arch/vmx_insn_errors.h"
#include "arch/x86_msr.h"
#include "arch/x86_paging.h"
#include "arch/x86_regs.h"
#include "arch/x86_seg.h"
#include "vmcs-merge/caps.h"

/* A rule: true when it is broken; the first broken one is recorded. */
#define CC(cond)                            \
	({                                  \
		bool failed_ = (cond);      \
		if (failed_ && !out->check) \
			out->check = #cond; \
		failed_;                    \
	})

/* Helpers the rules read as English. */
#define canonical(v) x86_is_canonical((v), false)
#define beyond_maxphy(pa) (((pa) >> maxphyaddr) != 0)
#define page_aligned(pa) (((pa) & (PAGE_SIZE - 1)) == 0)

static uint64_t cap(const struct nested_vmx_caps *caps, uint32_t msr)
{
	uint64_t v = 0;

	nested_vmx_caps_read(caps, msr, &v);
	return v;
}

static bool fixed_bits_bad(uint64_t val, uint64_t fixed0, uint64_t fixed1)
{
	return (val & fixed0) != fixed0 || (val & ~fixed1);
}

/* SDM 11.12.2: PAT entries may hold 0, 1, 4, 5, 6 or 7. */
static bool pat_bad(uint64_t pat)
{
	for (unsigned int b = 0; b < 8; b++) {
		unsigned int t = (pat >> (8 * b)) & 0xff;

		if (t == 2 || t == 3 || t >= 8)
			return true;
	}
	return false;
}

#define EFER_SETTABLE (EFER_SCE | EFER_LME | EFER_LMA | EFER_NX)

/* An MSR area: 16-byte aligned and inside the physical-address width. */
static bool msr_area_bad(uint64_t addr, uint32_t count, unsigned int maxphyaddr)
{
	return count &&
	       ((addr & 0xf) || beyond_maxphy(addr + count * 16ull - 1));
}

/* SDM 27.2.1.1: VM-execution control fields. */
static bool check_execution_controls(const struct vmcs12 *v,
				     const struct nested_vmx_caps *caps,
				     unsigned int maxphyaddr,
				     struct vmcs12_check *out)
{
	uint32_t proc = v->cpu_based_vm_exec_control;
	uint32_t proc2 = (proc & CPU_BASED_ACTIVATE_SECONDARY_CONTROLS)
				 ? v->secondary_vm_exec_control
				 : 0;
	uint64_t eptp = v->ept_pointer;
	uint64_t ept_cap = nested_vmx_ept_vpid_cap(caps);

	if (CC(!nested_vmx_ctl_ok(caps, MSR_IA32_VMX_TRUE_PINBASED_CTLS,
				  v->pin_based_vm_exec_control)) ||
	    CC(!nested_vmx_ctl_ok(caps, MSR_IA32_VMX_TRUE_PROCBASED_CTLS,
				  proc)) ||
	    CC(!nested_vmx_ctl_ok(caps, MSR_IA32_VMX_PROCBASED_CTLS2, proc2)) ||
	    CC(v->cr3_target_count >
	       vmx_misc_get_cr3_count(cap(caps, MSR_IA32_VMX_MISC))))
		return false;
	/* The event controls' dependencies, as the processor checks them:
	 * virtual NMIs need NMI exiting, NMI-window exiting needs virtual
	 * NMIs; unrestricted guest needs EPT. */
	if (CC(!(v->pin_based_vm_exec_control & PIN_BASED_NMI_EXITING) &&
	       (v->pin_based_vm_exec_control & PIN_BASED_VIRTUAL_NMIS)) ||
	    CC(!(v->pin_based_vm_exec_control & PIN_BASED_VIRTUAL_NMIS) &&
	       (proc & CPU_BASED_NMI_WINDOW_EXITING)) ||
	    CC((proc2 & SECONDARY_EXEC_UNRESTRICTED_GUEST) &&
	       !(proc2 & SECONDARY_EXEC_ENABLE_EPT)))
		return false;
	if ((proc & CPU_BASED_USE_IO_BITMAPS) &&
	    (CC(!page_aligned(v->io_bitmap_a)) ||
	     CC(beyond_maxphy(v->io_bitmap_a)) ||
	     CC(!page_aligned(v->io_bitmap_b)) ||
	     CC(beyond_maxphy(v->io_bitmap_b))))
		return false;
	if ((proc & CPU_BASED_USE_MSR_BITMAPS) &&
	    (CC(!page_aligned(v->msr_bitmap)) ||
	     CC(beyond_maxphy(v->msr_bitmap))))
		return false;
	/* 26.2.1.1: with VMCS shadowing, both VMREAD/VMWRITE bitmaps. */
	if ((proc2 & SECONDARY_EXEC_SHADOW_VMCS) &&
	    (CC(!page_aligned(v->vmread_bitmap)) ||
	     CC(beyond_maxphy(v->vmread_bitmap)) ||
	     CC(!page_aligned(v->vmwrite_bitmap)) ||
	     CC(beyond_maxphy(v->vmwrite_bitmap))))
		return false;
	/* 25.6.11: the EPT pointer, as far as the capabilities allow it. */
	if ((proc2 & SECONDARY_EXEC_ENABLE_EPT) &&
	    (CC((eptp & VMX_EPTP_MT_MASK) == VMX_EPTP_MT_WB &&
		!(ept_cap & VMX_EPTP_WB_BIT)) ||
	     CC((eptp & VMX_EPTP_MT_MASK) == VMX_EPTP_MT_UC &&
		!(ept_cap & VMX_EPTP_UC_BIT)) ||
	     CC((eptp & VMX_EPTP_MT_MASK) != VMX_EPTP_MT_WB &&
		(eptp & VMX_EPTP_MT_MASK) != VMX_EPTP_MT_UC) ||
	     CC((eptp & VMX_EPTP_PWL_MASK) != VMX_EPTP_PWL_4) ||
	     CC((eptp & VMX_EPTP_AD_ENABLE_BIT) &&
		!(ept_cap & VMX_EPT_AD_BIT)) ||
	     CC(eptp & (VMX_EPTP_SSS_BIT | VMX_EPTP_RESERVED_LOW)) ||
	     CC(beyond_maxphy(eptp & ~(PAGE_SIZE - 1)))))
		return false;
	if ((proc2 & SECONDARY_EXEC_ENABLE_VPID) &&
	    CC(v->virtual_processor_id == 0))
		return false;
	return true;
}

/* SDM 27.2.1.2: VM-exit control fields. */
static bool check_exit_controls(const struct vmcs12 *v,
				const struct nested_vmx_caps *caps,
				unsigned int maxphyaddr,
				struct vmcs12_check *out)
{
	return !(
		CC(!nested_vmx_ctl_ok(caps, MSR_IA32_VMX_TRUE_EXIT_CTLS,
				      v->vm_exit_controls)) ||
		CC(!(v->pin_based_vm_exec_control &
		     PIN_BASED_VMX_PREEMPTION_TIMER) &&
		   (v->vm_exit_controls & VM_EXIT_SAVE_VMX_PREEMPTION_TIMER)) ||
		CC(msr_area_bad(v->vm_exit_msr_store_addr,
				v->vm_exit_msr_store_count, maxphyaddr)) ||
		CC(msr_area_bad(v->vm_exit_msr_load_addr,
				v->vm_exit_msr_load_count, maxphyaddr)));
}

/* SDM 27.2.1.3: VM-entry control fields, event injection included. */
static bool check_entry_controls(const struct vmcs12 *v,
				 const struct nested_vmx_caps *caps,
				 unsigned int maxphyaddr,
				 struct vmcs12_check *out)
{
	uint32_t info = v->vm_entry_intr_info_field;
	uint32_t type = vmx_intr_info_get_type(info);
	unsigned int vector = vmx_intr_info_get_vector(info);
	bool has_error = vmx_intr_info_has_error_code(info);
	bool misc_zero_len =
		cap(caps, MSR_IA32_VMX_MISC) & VMX_MISC_ZERO_LEN_INS;
	/* Type 7 (other event: a pending MTF exit) exists only where the
	 * monitor trap flag does. */
	bool mtf_offered = (cap(caps, MSR_IA32_VMX_TRUE_PROCBASED_CTLS) >> 32) &
			   CPU_BASED_MONITOR_TRAP_FLAG;

	if (CC(!nested_vmx_ctl_ok(caps, MSR_IA32_VMX_TRUE_ENTRY_CTLS,
				  v->vm_entry_controls)))
		return false;
	if (vmx_intr_info_is_valid(info) &&
	    (CC(type == INTR_TYPE_RESERVED) ||
	     CC(type == INTR_TYPE_OTHER_EVENT && !mtf_offered) ||
	     CC(type == INTR_TYPE_OTHER_EVENT && vector != 0) ||
	     CC(type == INTR_TYPE_NMI_INTR && vector != NMI_VECTOR) ||
	     CC(type == INTR_TYPE_HARD_EXCEPTION && vector > 31) ||
	     CC(has_error != (type == INTR_TYPE_HARD_EXCEPTION &&
			      (v->guest_cr0 & X86_CR0_PE) &&
			      x86_exception_has_error_code(vector))) ||
	     CC(has_error && (v->vm_entry_exception_error_code >> 16)) ||
	     CC(info & INTR_INFO_RESVD_BITS_MASK) ||
	     CC(vmx_intr_type_is_soft(type) &&
		(v->vm_entry_instruction_len > 15 ||
		 (v->vm_entry_instruction_len == 0 && !misc_zero_len)))))
		return false;
	return !CC(msr_area_bad(v->vm_entry_msr_load_addr,
				v->vm_entry_msr_load_count, maxphyaddr));
}

/*
 * SDM 27.2.2, 27.2.3, 27.2.4: host-state fields. L1 executes VMLAUNCH and
 * VMRESUME in 64-bit mode (the only mode the processor runs VMX
 * instructions in), so it is in IA-32e mode and the host address-space
 * size must be 1.
 */
static bool check_host_state(const struct vmcs12 *v,
			     const struct nested_vmx_caps *caps,
			     unsigned int maxphyaddr, struct vmcs12_check *out)
{
	bool host_lm = v->vm_exit_controls & VM_EXIT_HOST_ADDR_SPACE_SIZE;
	uint64_t efer = v->host_ia32_efer;

	if (CC(fixed_bits_bad(v->host_cr0, cap(caps, MSR_IA32_VMX_CR0_FIXED0),
			      cap(caps, MSR_IA32_VMX_CR0_FIXED1))) ||
	    CC(fixed_bits_bad(v->host_cr4, cap(caps, MSR_IA32_VMX_CR4_FIXED0),
			      cap(caps, MSR_IA32_VMX_CR4_FIXED1))) ||
	    CC(beyond_maxphy(v->host_cr3)) ||
	    CC(!canonical(v->host_ia32_sysenter_esp)) ||
	    CC(!canonical(v->host_ia32_sysenter_eip)))
		return false;
	if ((v->vm_exit_controls & VM_EXIT_LOAD_IA32_PAT) &&
	    CC(pat_bad(v->host_ia32_pat)))
		return false;
	if ((v->vm_exit_controls & VM_EXIT_LOAD_IA32_EFER) &&
	    (CC(efer & ~EFER_SETTABLE) || CC(!!(efer & EFER_LMA) != host_lm) ||
	     CC(!!(efer & EFER_LME) != host_lm)))
		return false;
	if (CC(v->host_es_selector & (SEL_TI | SEL_RPL_MASK)) ||
	    CC(v->host_cs_selector & (SEL_TI | SEL_RPL_MASK)) ||
	    CC(v->host_ss_selector & (SEL_TI | SEL_RPL_MASK)) ||
	    CC(v->host_ds_selector & (SEL_TI | SEL_RPL_MASK)) ||
	    CC(v->host_fs_selector & (SEL_TI | SEL_RPL_MASK)) ||
	    CC(v->host_gs_selector & (SEL_TI | SEL_RPL_MASK)) ||
	    CC(v->host_tr_selector & (SEL_TI | SEL_RPL_MASK)) ||
	    CC(v->host_cs_selector == 0) || CC(v->host_tr_selector == 0) ||
	    CC(v->host_ss_selector == 0 && !host_lm) ||
	    CC(!canonical(v->host_fs_base)) ||
	    CC(!canonical(v->host_gs_base)) ||
	    CC(!canonical(v->host_gdtr_base)) ||
	    CC(!canonical(v->host_idtr_base)) ||
	    CC(!canonical(v->host_tr_base)))
		return false;
	return !(CC(!host_lm) || CC(!(v->host_cr4 & X86_CR4_PAE)) ||
		 CC(!canonical(v->host_rip)));
}

/* Segment limit against granularity (SDM 27.3.1.2): G=0 needs bits
 * 31:20 clear, G=1 needs bits 11:0 set. */
static bool limit_g_bad(uint32_t limit, uint32_t ar)
{
	bool g = ar & VMX_AR_G_MASK;

	return (g && (limit & 0xfff) != 0xfff) || (!g && (limit >> 20));
}

#define usable(ar) (!((ar)&VMX_AR_UNUSABLE_MASK))
#define ar_type(ar) ((ar)&VMX_AR_TYPE_MASK)

/* SDM 27.3.1.2 for DS, ES, FS or GS (the CC() lines name the segment);
 * an unrestricted guest drops the DPL >= RPL rule. */
#define DATA_SEG_BAD(seg)                                                  \
	(usable(v->guest_##seg##_ar_bytes) &&                              \
	 (CC(!(ar_type(v->guest_##seg##_ar_bytes) & SEG_TYPE_ACCESSED)) || \
	  CC((ar_type(v->guest_##seg##_ar_bytes) & SEG_TYPE_CODE) &&       \
	     !(ar_type(v->guest_##seg##_ar_bytes) & SEG_TYPE_READABLE)) || \
	  CC(!(v->guest_##seg##_ar_bytes & VMX_AR_S_MASK)) ||              \
	  CC(!ug && ar_type(v->guest_##seg##_ar_bytes) <= 11 &&            \
	     VMX_AR_DPL(v->guest_##seg##_ar_bytes) <                       \
		     (v->guest_##seg##_selector & SEL_RPL_MASK)) ||        \
	  CC(!(v->guest_##seg##_ar_bytes & VMX_AR_P_MASK)) ||              \
	  CC(v->guest_##seg##_ar_bytes & VMX_AR_RESERVED_MASK) ||          \
	  CC(limit_g_bad(v->guest_##seg##_limit, v->guest_##seg##_ar_bytes))))

/*
 * SDM 27.3.1.2: the guest segment registers, in the modes L0 offers L2
 * (protected mode, IA-32e mode, and with unrestricted guest real mode and
 * unpaged protected mode; no virtual-8086 guest). Selectors, then bases,
 * then access rights and limits. Unrestricted guest (ug) drops the
 * RPL/DPL rules real mode cannot meet, lets CS be an accessed read/write
 * data segment (type 3) with DPL 0, and wants SS.DPL 0 in real mode.
 */
static bool check_guest_segments(const struct vmcs12 *v, bool ia32e, bool ug,
				 struct vmcs12_check *out)
{
	bool pe = v->guest_cr0 & X86_CR0_PE;
	uint32_t cs = v->guest_cs_ar_bytes, ss = v->guest_ss_ar_bytes;
	uint32_t tr = v->guest_tr_ar_bytes, ldtr = v->guest_ldtr_ar_bytes;
	unsigned int cs_type = ar_type(cs);

	if (CC(v->guest_tr_selector & SEL_TI) ||
	    CC(usable(ldtr) && (v->guest_ldtr_selector & SEL_TI)) ||
	    CC(!ug && (v->guest_ss_selector & SEL_RPL_MASK) !=
			      (v->guest_cs_selector & SEL_RPL_MASK)))
		return false;
	if (CC(!canonical(v->guest_tr_base)) ||
	    CC(!canonical(v->guest_fs_base)) ||
	    CC(!canonical(v->guest_gs_base)) ||
	    CC(usable(ldtr) && !canonical(v->guest_ldtr_base)) ||
	    CC(v->guest_cs_base >> 32) ||
	    CC(usable(ss) && (v->guest_ss_base >> 32)) ||
	    CC(usable(v->guest_ds_ar_bytes) && (v->guest_ds_base >> 32)) ||
	    CC(usable(v->guest_es_ar_bytes) && (v->guest_es_base >> 32)))
		return false;
	/* CS: an accessed code segment, usable whatever its bit 16 says. */
	if (CC(cs_type != 9 && cs_type != 11 && cs_type != 13 &&
	       cs_type != 15 && !(ug && cs_type == 3)) ||
	    CC(!(cs & VMX_AR_S_MASK)) ||
	    CC(cs_type == 3 && VMX_AR_DPL(cs) != 0) ||
	    CC((cs_type == 9 || cs_type == 11) &&
	       VMX_AR_DPL(cs) != VMX_AR_DPL(ss)) ||
	    CC((cs_type == 13 || cs_type == 15) &&
	       VMX_AR_DPL(cs) > VMX_AR_DPL(ss)) ||
	    CC(!(cs & VMX_AR_P_MASK)) || CC(cs & VMX_AR_RESERVED_MASK) ||
	    CC(ia32e && (cs & VMX_AR_L_MASK) && (cs & VMX_AR_DB_MASK)) ||
	    CC(limit_g_bad(v->guest_cs_limit, cs)))
		return false;
	if (usable(ss) &&
	    (CC(ar_type(ss) != 3 && ar_type(ss) != 7) ||
	     CC(!(ss & VMX_AR_S_MASK)) || CC(!(ss & VMX_AR_P_MASK)) ||
	     CC(ss & VMX_AR_RESERVED_MASK) ||
	     CC(limit_g_bad(v->guest_ss_limit, ss))))
		return false;
	if (CC(!ug &&
	       VMX_AR_DPL(ss) != (v->guest_ss_selector & SEL_RPL_MASK)) ||
	    CC((cs_type == 3 || !pe) && VMX_AR_DPL(ss) != 0))
		return false;
	if (DATA_SEG_BAD(ds) || DATA_SEG_BAD(es) || DATA_SEG_BAD(fs) ||
	    DATA_SEG_BAD(gs))
		return false;
	/* TR: a busy TSS (64-bit in IA-32e mode), always usable. */
	if (CC(ar_type(tr) != SEG_TYPE_TSS64_BUSY &&
	       (ia32e || ar_type(tr) != 3)) ||
	    CC(tr & VMX_AR_S_MASK) || CC(!(tr & VMX_AR_P_MASK)) ||
	    CC(tr & VMX_AR_RESERVED_MASK) ||
	    CC(limit_g_bad(v->guest_tr_limit, tr)) || CC(!usable(tr)))
		return false;
	return !(usable(ldtr) &&
		 (CC(ar_type(ldtr) != SEG_TYPE_LDT) ||
		  CC(ldtr & VMX_AR_S_MASK) || CC(!(ldtr & VMX_AR_P_MASK)) ||
		  CC(ldtr & VMX_AR_RESERVED_MASK) ||
		  CC(limit_g_bad(v->guest_ldtr_limit, ldtr))));
}

/* SDM 27.3.1: the guest-state rules L0 checks; 0 or the qualification
 * (ENTRY_FAIL_*) + 1 of the first that fails. */
static int check_guest_state(const struct vmcs12 *v,
			     const struct nested_vmx_caps *caps,
			     unsigned int maxphyaddr, struct vmcs12_check *out)
{
	uint32_t entry = v->vm_entry_controls;
	bool ia32e = entry & VM_ENTRY_IA32E_MODE;
	uint64_t cr0 = v->guest_cr0, cr4 = v->guest_cr4;
	uint64_t rflags = v->guest_rflags, efer = v->guest_ia32_efer;
	uint32_t intr = v->guest_interruptibility_info;
	uint32_t inj = v->vm_entry_intr_info_field;
	bool inj_valid = vmx_intr_info_is_valid(inj);
	uint32_t inj_type = vmx_intr_info_get_type(inj);
	unsigned int inj_vec = vmx_intr_info_get_vector(inj);
	uint32_t act = v->guest_activity_state;
	uint64_t misc = cap(caps, MSR_IA32_VMX_MISC);
	bool ug = (v->cpu_based_vm_exec_control &
		   CPU_BASED_ACTIVATE_SECONDARY_CONTROLS) &&
		  (v->secondary_vm_exec_control &
		   SECONDARY_EXEC_UNRESTRICTED_GUEST);
	uint64_t cr0_fixed0 = cap(caps, MSR_IA32_VMX_CR0_FIXED0);

	/* 27.3.1.1 control registers, debug registers and MSRs; an
	 * unrestricted guest may clear PE and PG, but not have PG without
	 * PE (A.7: the exception is for guest CR0 only). */
	if (ug)
		cr0_fixed0 &= ~(uint64_t)(X86_CR0_PE | X86_CR0_PG);
	if (CC(fixed_bits_bad(cr0, cr0_fixed0,
			      cap(caps, MSR_IA32_VMX_CR0_FIXED1))) ||
	    CC((cr0 & X86_CR0_PG) && !(cr0 & X86_CR0_PE)) ||
	    CC(fixed_bits_bad(cr4, cap(caps, MSR_IA32_VMX_CR4_FIXED0),
			      cap(caps, MSR_IA32_VMX_CR4_FIXED1))) ||
	    CC((entry & VM_ENTRY_LOAD_DEBUG_CONTROLS) &&
	       (v->guest_dr7 >> 32)) ||
	    CC(ia32e && !(cr0 & X86_CR0_PG)) ||
	    CC(ia32e && !(cr4 & X86_CR4_PAE)) ||
	    CC(!ia32e && (cr4 & X86_CR4_PCIDE)) ||
	    CC(beyond_maxphy(v->guest_cr3)) ||
	    CC(!canonical(v->guest_sysenter_esp)) ||
	    CC(!canonical(v->guest_sysenter_eip)) ||
	    CC((entry & VM_ENTRY_LOAD_IA32_PAT) && pat_bad(v->guest_ia32_pat)))
		return ENTRY_FAIL_DEFAULT + 1;
	if ((entry & VM_ENTRY_LOAD_IA32_EFER) &&
	    (CC(efer & ~EFER_SETTABLE) || CC(!!(efer & EFER_LMA) != ia32e) ||
	     CC((cr0 & X86_CR0_PG) &&
		!!(efer & EFER_LMA) != !!(efer & EFER_LME))))
		return ENTRY_FAIL_DEFAULT + 1;
	/* 27.3.1.2 segment registers */
	if (!check_guest_segments(v, ia32e, ug, out))
		return ENTRY_FAIL_DEFAULT + 1;
	/* 27.3.1.3 descriptor-table registers */
	if (CC(!canonical(v->guest_gdtr_base)) ||
	    CC(!canonical(v->guest_idtr_base)) ||
	    CC(v->guest_gdtr_limit >> 16) || CC(v->guest_idtr_limit >> 16))
		return ENTRY_FAIL_DEFAULT + 1;
	/* 27.3.1.4 RIP, then RFLAGS */
	if (CC((!ia32e || !(v->guest_cs_ar_bytes & VMX_AR_L_MASK)) &&
	       (v->guest_rip >> 32)) ||
	    CC(ia32e && (v->guest_cs_ar_bytes & VMX_AR_L_MASK) &&
	       !canonical(v->guest_rip)) ||
	    CC((rflags & ~X86_EFLAGS_LIVE_MASK) != X86_EFLAGS_FIXED) ||
	    CC((ia32e || !(cr0 & X86_CR0_PE)) && (rflags & X86_EFLAGS_VM)) ||
	    CC(inj_valid && vmx_intr_info_get_type(inj) == INTR_TYPE_EXT_INTR &&
	       !(rflags & X86_EFLAGS_IF)))
		return ENTRY_FAIL_DEFAULT + 1;
	/*
	 * 27.3.1.5 non-register state. The active state, and HLT as
	 * IA32_VMX_MISC offers it: HLT needs SS.DPL 0, no STI or MOV-SS
	 * blocking, and admits only the injection of an external interrupt,
	 * an NMI, #DB, #MC or a pending MTF exit. An injected NMI needs no
	 * (virtual-)NMI blocking.
	 */
	if (CC(act != GUEST_ACTIVITY_ACTIVE &&
	       !(act == GUEST_ACTIVITY_HLT &&
		 (misc & VMX_MISC_ACTIVITY_HLT))) ||
	    CC(act == GUEST_ACTIVITY_HLT && VMX_AR_DPL(v->guest_ss_ar_bytes)) ||
	    CC(act == GUEST_ACTIVITY_HLT &&
	       (intr & (GUEST_INTR_STATE_STI | GUEST_INTR_STATE_MOV_SS))) ||
	    CC(act == GUEST_ACTIVITY_HLT && inj_valid &&
	       inj_type != INTR_TYPE_EXT_INTR &&
	       inj_type != INTR_TYPE_NMI_INTR &&
	       inj_type != INTR_TYPE_OTHER_EVENT &&
	       !(inj_type == INTR_TYPE_HARD_EXCEPTION &&
		 (inj_vec == DB_VECTOR || inj_vec == MC_VECTOR))) ||
	    CC(inj_valid && inj_type == INTR_TYPE_NMI_INTR &&
	       (intr & GUEST_INTR_STATE_NMI)) ||
	    CC(intr & GUEST_INTR_STATE_RESERVED_MASK) ||
	    CC((intr & GUEST_INTR_STATE_STI) &&
	       (intr & GUEST_INTR_STATE_MOV_SS)) ||
	    CC(!(rflags & X86_EFLAGS_IF) && (intr & GUEST_INTR_STATE_STI)) ||
	    CC(intr & GUEST_INTR_STATE_SMI) ||
	    /* enclave interruption needs SGX, which is not offered */
	    CC(intr & GUEST_INTR_STATE_ENCLAVE_INTR) ||
	    CC(inj_valid &&
	       (vmx_intr_info_get_type(inj) == INTR_TYPE_EXT_INTR ||
		vmx_intr_info_get_type(inj) == INTR_TYPE_NMI_INTR) &&
	       (intr & (GUEST_INTR_STATE_STI | GUEST_INTR_STATE_MOV_SS))) ||
	    CC(v->guest_pending_dbg_exceptions & PENDING_DBG_RESERVED_MASK))
		return ENTRY_FAIL_DEFAULT + 1;
	/*
	 * A link pointer other than ~0 names a VMCS region: 4 KiB aligned
	 * and within the physical-address width. Its revision (and bit 31
	 * equal to "VMCS shadowing") is in L1's memory, so the caller checks
	 * it next (nested_vmx_run()).
	 */
	if (v->vmcs_link_pointer != ~0ull &&
	    (CC(v->vmcs_link_pointer & 0xfff) ||
	     CC(beyond_maxphy(v->vmcs_link_pointer))))
		return ENTRY_FAIL_VMCS_LINK_PTR + 1;
	return 0;
}

void vmcs_merge_check_vmcs12(const struct vmcs12 *v,
			     const struct nested_vmx_caps *caps,
			     unsigned int maxphyaddr, struct vmcs12_check *out)
{
	int fail;

	out->result = VMCS12_CHECK_OK;
	out->error = 0;
	out->exit_reason = 0;
	out->qual = 0;
	out->check = NULL;
	if (!check_execution_controls(v, caps, maxphyaddr, out) ||
	    !check_exit_controls(v, caps, maxphyaddr, out) ||
	    !check_entry_controls(v, caps, maxphyaddr, out)) {
		out->result = VMCS12_CHECK_VMFAIL;
		out->error = VMXERR_ENTRY_INVALID_CONTROL_FIELD;
		return;
	}
	if (!check_host_state(v, caps, maxphyaddr, out)) {
		out->result = VMCS12_CHECK_VMFAIL;
		out->error = VMXERR_ENTRY_INVALID_HOST_STATE_FIELD;
		return;
	}
	fail = check_guest_state(v, caps, maxphyaddr, out);
	if (fail) {
		out->result = VMCS12_CHECK_ENTRY_FAIL;
		out->exit_reason = EXIT_REASON_INVALID_STATE;
		out->qual = (uint64_t)(fail - 1);
	}
}
