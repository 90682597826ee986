/* SPDX-License-Identifier: MIT */
/*
 * vmcs12_fixture.c - the valid vmcs12 of tests/unit/vmcs12_fixture.h.
 * Host side, tests only.
 */
#include "tests/unit/vmcs12_fixture.h"

#include <string.h>

#include "arch/boot_layout.h"
#include "arch/vmx_exit_qual.h"
#include "arch/x86_msr.h"
#include "vmcs-merge/caps.h"

/* A control word: the bits the capability forces, plus want. */
static uint32_t ctl(const struct nested_vmx_caps *caps, uint32_t msr,
		    uint32_t want)
{
	uint64_t cap = 0;

	nested_vmx_caps_read(caps, msr, &cap);
	return (uint32_t)cap | want;
}

struct seg_slot {
	enum x86_sreg sreg;
	uint16_t *sel;
	uint64_t *base;
	uint32_t *limit, *ar;
};

void vmcs12_fixture_init(struct vmcs12 *v, const struct nested_vmx_caps *caps,
			 uint64_t eptp, uint64_t l2_rip, uint64_t l2_rsp,
			 uint64_t host_rip, uint64_t host_rsp)
{
	const struct seg_slot segs[] = {
		{ VCPU_SREG_ES, &v->guest_es_selector, &v->guest_es_base,
		  &v->guest_es_limit, &v->guest_es_ar_bytes },
		{ VCPU_SREG_CS, &v->guest_cs_selector, &v->guest_cs_base,
		  &v->guest_cs_limit, &v->guest_cs_ar_bytes },
		{ VCPU_SREG_SS, &v->guest_ss_selector, &v->guest_ss_base,
		  &v->guest_ss_limit, &v->guest_ss_ar_bytes },
		{ VCPU_SREG_DS, &v->guest_ds_selector, &v->guest_ds_base,
		  &v->guest_ds_limit, &v->guest_ds_ar_bytes },
		{ VCPU_SREG_FS, &v->guest_fs_selector, &v->guest_fs_base,
		  &v->guest_fs_limit, &v->guest_fs_ar_bytes },
		{ VCPU_SREG_GS, &v->guest_gs_selector, &v->guest_gs_base,
		  &v->guest_gs_limit, &v->guest_gs_ar_bytes },
		{ VCPU_SREG_LDTR, &v->guest_ldtr_selector, &v->guest_ldtr_base,
		  &v->guest_ldtr_limit, &v->guest_ldtr_ar_bytes },
		{ VCPU_SREG_TR, &v->guest_tr_selector, &v->guest_tr_base,
		  &v->guest_tr_limit, &v->guest_tr_ar_bytes },
	};

	memset(v, 0, sizeof(*v));
	v->revision_id = VMCS12_REVISION;

	v->pin_based_vm_exec_control =
		ctl(caps, MSR_IA32_VMX_TRUE_PINBASED_CTLS, 0);
	v->cpu_based_vm_exec_control =
		ctl(caps, MSR_IA32_VMX_TRUE_PROCBASED_CTLS,
		    CPU_BASED_HLT_EXITING | CPU_BASED_UNCOND_IO_EXITING |
			    CPU_BASED_ACTIVATE_SECONDARY_CONTROLS);
	v->secondary_vm_exec_control = eptp ? SECONDARY_EXEC_ENABLE_EPT : 0;
	v->ept_pointer = eptp;
	v->vm_exit_controls =
		ctl(caps, MSR_IA32_VMX_TRUE_EXIT_CTLS,
		    VM_EXIT_HOST_ADDR_SPACE_SIZE | VM_EXIT_SAVE_IA32_EFER |
			    VM_EXIT_LOAD_IA32_EFER);
	v->vm_entry_controls =
		ctl(caps, MSR_IA32_VMX_TRUE_ENTRY_CTLS,
		    VM_ENTRY_IA32E_MODE | VM_ENTRY_LOAD_IA32_EFER);
	v->cr0_guest_host_mask = X86_CR0_PE | X86_CR0_NE | X86_CR0_PG;
	v->cr0_read_shadow = BOOT_CR0;
	v->cr4_guest_host_mask = X86_CR4_VMXE;
	v->cr4_read_shadow = BOOT_CR4;

	for (size_t i = 0; i < sizeof(segs) / sizeof(segs[0]); i++) {
		struct kvm_segment s = boot_layout_segment(segs[i].sreg);

		*segs[i].sel = s.selector;
		*segs[i].base = s.base;
		*segs[i].limit = s.limit;
		*segs[i].ar = x86_seg_to_vmx_ar(&s);
	}
	v->guest_gdtr_base = BOOT_GDT;
	v->guest_gdtr_limit = BOOT_GDT_LIMIT;
	v->guest_cr0 = BOOT_CR0;
	v->guest_cr3 = BOOT_PML4;
	v->guest_cr4 = BOOT_CR4 | X86_CR4_VMXE;
	v->guest_dr7 = DR7_FIXED_1;
	v->guest_ia32_efer = BOOT_EFER;
	v->guest_rip = l2_rip;
	v->guest_rsp = l2_rsp;
	v->guest_rflags = BOOT_RFLAGS;
	v->guest_activity_state = GUEST_ACTIVITY_ACTIVE;
	v->vmcs_link_pointer = ~0ull;

	v->host_cr0 = BOOT_CR0;
	v->host_cr3 = BOOT_PML4;
	v->host_cr4 = BOOT_CR4 | X86_CR4_VMXE;
	v->host_cs_selector = BOOT_SEL_CODE64;
	v->host_ss_selector = BOOT_SEL_DATA;
	v->host_ds_selector = BOOT_SEL_DATA;
	v->host_es_selector = BOOT_SEL_DATA;
	v->host_fs_selector = BOOT_SEL_DATA;
	v->host_gs_selector = BOOT_SEL_DATA;
	v->host_tr_selector = BOOT_SEL_TSS;
	v->host_tr_base = BOOT_TSS;
	v->host_gdtr_base = BOOT_GDT;
	v->host_ia32_efer = BOOT_EFER;
	v->host_rip = host_rip;
	v->host_rsp = host_rsp;
}
