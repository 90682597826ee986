/* SPDX-License-Identifier: MIT */
/*
 * vmx_harness.c - the VMX part of the CPU-model tests' fixture
 * (vmx_harness.h). Tests only.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "arch/vmcs.h"
#include "arch/x86_msr.h"
#include "arch/x86_seg.h"
#include "tests/unit/vmx_harness.h"

void harness_vmwrite(struct harness *h, uint32_t field, uint64_t val)
{
	assert_int_equal(vtx_vmwrite(h->cpu, field, val), 0);
}

uint64_t harness_vmread(struct harness *h, uint32_t field)
{
	uint64_t v = ~0ull;

	assert_int_equal(vtx_vmread(h->cpu, field, &v), 0);
	return v;
}

uint32_t harness_vmx_ctl(struct harness *h, uint32_t msr, uint32_t want)
{
	uint64_t v;

	assert_int_equal(vtx_cpu_get_msr(h->cpu, msr, &v), 0);
	/* allowed-0 in bits 31:0 must be set; allowed-1 in 63:32 may be */
	assert_int_equal(want & ~(uint32_t)(v >> 32), 0);
	return (uint32_t)v | want;
}

/* Encodings of one segment register are a fixed distance apart in each
 * group (SDM Appendix B): selector, limit, AR, base. */
static void wr_seg(struct harness *h, const struct kvm_segment *s, uint32_t sel)
{
	uint32_t idx = sel - GUEST_ES_SELECTOR;

	harness_vmwrite(h, sel, s->selector);
	harness_vmwrite(h, GUEST_ES_LIMIT + idx, s->limit);
	harness_vmwrite(h, GUEST_ES_AR_BYTES + idx, x86_seg_to_vmx_ar(s));
	harness_vmwrite(h, GUEST_ES_BASE + idx, s->base);
}

void harness_vmcs_setup(struct harness *h, uint32_t proc, uint32_t proc2)
{
	const struct kvm_sregs *s = &h->sregs;
	uint64_t basic;
	uint32_t rev;

	assert_int_equal(vtx_cpu_get_msr(h->cpu, MSR_IA32_VMX_BASIC, &basic),
			 0);
	rev = (uint32_t)(basic & VMX_BASIC_REVISION_MASK);
	harness_load(h, HARNESS_VMXON_REGION, &rev, 4);
	harness_load(h, HARNESS_VMCS_REGION, &rev, 4);
	assert_int_equal(vtx_vmxon(h->cpu, HARNESS_VMXON_REGION), 0);
	assert_int_equal(vtx_vmclear(h->cpu, HARNESS_VMCS_REGION), 0);
	assert_int_equal(vtx_vmptrld(h->cpu, HARNESS_VMCS_REGION), 0);

	harness_vmwrite(h, PIN_BASED_VM_EXEC_CONTROL,
			harness_vmx_ctl(h, MSR_IA32_VMX_TRUE_PINBASED_CTLS, 0));
	harness_vmwrite(
		h, CPU_BASED_VM_EXEC_CONTROL,
		harness_vmx_ctl(
			h, MSR_IA32_VMX_TRUE_PROCBASED_CTLS,
			proc | (proc2 ? CPU_BASED_ACTIVATE_SECONDARY_CONTROLS
				      : 0)));
	if (proc2)
		harness_vmwrite(h, SECONDARY_VM_EXEC_CONTROL, proc2);
	harness_vmwrite(h, VM_EXIT_CONTROLS,
			harness_vmx_ctl(h, MSR_IA32_VMX_TRUE_EXIT_CTLS,
					VM_EXIT_HOST_ADDR_SPACE_SIZE |
						VM_EXIT_SAVE_IA32_EFER |
						VM_EXIT_LOAD_IA32_EFER));
	harness_vmwrite(
		h, VM_ENTRY_CONTROLS,
		harness_vmx_ctl(h, MSR_IA32_VMX_TRUE_ENTRY_CTLS,
				VM_ENTRY_IA32E_MODE | VM_ENTRY_LOAD_IA32_EFER));

	/* Guest state: the harness's 64-bit CPL-0 setup; CR4.VMXE is
	 * required in VMX non-root operation (IA32_VMX_CR4_FIXED0). */
	harness_vmwrite(h, GUEST_CR0, s->cr0);
	harness_vmwrite(h, GUEST_CR3, s->cr3);
	harness_vmwrite(h, GUEST_CR4, s->cr4 | X86_CR4_VMXE);
	harness_vmwrite(h, GUEST_IA32_EFER, s->efer);
	wr_seg(h, &s->es, GUEST_ES_SELECTOR);
	wr_seg(h, &s->cs, GUEST_CS_SELECTOR);
	wr_seg(h, &s->ss, GUEST_SS_SELECTOR);
	wr_seg(h, &s->ds, GUEST_DS_SELECTOR);
	wr_seg(h, &s->fs, GUEST_FS_SELECTOR);
	wr_seg(h, &s->gs, GUEST_GS_SELECTOR);
	wr_seg(h, &s->ldt, GUEST_LDTR_SELECTOR);
	wr_seg(h, &s->tr, GUEST_TR_SELECTOR);
	harness_vmwrite(h, GUEST_GDTR_BASE, s->gdt.base);
	harness_vmwrite(h, GUEST_GDTR_LIMIT, s->gdt.limit);
	harness_vmwrite(h, GUEST_IDTR_BASE, s->idt.base);
	harness_vmwrite(h, GUEST_IDTR_LIMIT, s->idt.limit);
	harness_vmwrite(h, GUEST_RIP, CODE_BASE);
	harness_vmwrite(h, GUEST_RSP, HARNESS_STACK_TOP);
	harness_vmwrite(h, GUEST_RFLAGS, X86_EFLAGS_FIXED);
	harness_vmwrite(h, VMCS_LINK_POINTER, ~0ull);

	/* Host state: never loaded for a C host, but checked at entry. */
	harness_vmwrite(h, HOST_CR0, s->cr0);
	harness_vmwrite(h, HOST_CR3, s->cr3);
	harness_vmwrite(h, HOST_CR4, s->cr4 | X86_CR4_VMXE);
	harness_vmwrite(h, HOST_IA32_EFER, s->efer);
	harness_vmwrite(h, HOST_CS_SELECTOR, SEL_KCODE);
	harness_vmwrite(h, HOST_SS_SELECTOR, SEL_KDATA);
	harness_vmwrite(h, HOST_DS_SELECTOR, SEL_KDATA);
	harness_vmwrite(h, HOST_ES_SELECTOR, SEL_KDATA);
	harness_vmwrite(h, HOST_TR_SELECTOR, SEL_TSS);
	harness_vmwrite(h, HOST_TR_BASE, HARNESS_TSS);
	harness_vmwrite(h, HOST_GDTR_BASE, HARNESS_GDT);
	harness_vmwrite(h, HOST_IDTR_BASE, HARNESS_IDT);
	harness_vmwrite(h, HOST_RIP, 0xffffffff81000000ull);
	harness_vmwrite(h, HOST_RSP, HARNESS_STACK_TOP);
}
