/* SPDX-License-Identifier: MIT */
/*
 * evmcs.h - the enlightened VMCS of the Hyper-V Top-Level Functional
 * Specification (TLFS 6.0b, "Nested Virtualization": HV_VMX_ENLIGHTENED_VMCS
 * version 1, its clean-field bits, the VP assist page and the CPUID leaves
 * that offer it): a VMCS that L1 keeps as plain memory and L0 reads at
 * VM entry, the table from VMCS encodings to eVMCS offsets and clean-field
 * groups (generated from arch/evmcs_fields.def). Shared by L0 and l1-shim;
 * freestanding-safe.
 */
#ifndef NESTVM_ARCH_EVMCS_H
#define NESTVM_ARCH_EVMCS_H

#include "arch/types.h"
#include "arch/vmcs.h"

/* ---- CPUID (TLFS 2.4) and MSRs ---------------------------------------------- */

#define HYPERV_CPUID_VENDOR_AND_MAX_FUNCTIONS 0x40000000u
#define HYPERV_CPUID_INTERFACE 0x40000001u
#define HYPERV_CPUID_FEATURES 0x40000003u
#define HYPERV_CPUID_ENLIGHTMENT_INFO 0x40000004u
#define HYPERV_CPUID_NESTED_FEATURES 0x4000000Au

/* CPUID 0x40000001 EAX: "Hv#1", the Microsoft hypervisor interface. */
#define HV_INTERFACE_SIGNATURE 0x31237648u
/* CPUID 0x40000003 EAX bit 4: the APIC MSRs, VP assist page among them. */
#define HV_MSR_APIC_ACCESS_AVAILABLE (1u << 4)
/* CPUID 0x40000004 EAX bit 14: the hypervisor recommends the eVMCS. */
#define HV_X64_ENLIGHTENED_VMCS_RECOMMENDED (1u << 14)
/* CPUID 0x4000000A EAX bits 7:0 and 15:8: lowest and highest eVMCS version. */
#define HV_X64_ENLIGHTENED_VMCS_VERSION_MASK 0xffffu

#define HV_X64_MSR_VP_ASSIST_PAGE 0x40000073u
#define HV_X64_MSR_VP_ASSIST_PAGE_ENABLE 0x1ull
#define HV_X64_MSR_VP_ASSIST_PAGE_ADDRESS_MASK (~0xfffull)

/* The eVMCS version this header describes (its revision_id word). */
#define EVMCS_VERSION 1u

/*
 * The VP assist page (TLFS 7.8.7), the members nested virtualization
 * uses: enlighten_vmentry = 1 makes VMLAUNCH/VMRESUME run the eVMCS at
 * current_nested_vmcs, which L1 never VMPTRLDs.
 */
struct hv_vp_assist_page {
	uint32_t apic_assist;
	uint32_t reserved;
	uint64_t vtl_control[2];
	uint64_t nested_enlightenments_control[2];
	uint32_t enlighten_vmentry;
	uint32_t padding;
	uint64_t current_nested_vmcs;
};

_Static_assert(offsetof(struct hv_vp_assist_page, enlighten_vmentry) == 40,
	       "TLFS: enlighten_vmentry at byte 40 of the VP assist page");
_Static_assert(offsetof(struct hv_vp_assist_page, current_nested_vmcs) == 48,
	       "TLFS: current_nested_vmcs at byte 48 of the VP assist page");

/* ---- clean fields ---------------------------------------------------------- */

/*
 * hv_clean_fields: one bit per group of fields. L1 clears a group's bit
 * when it writes a field of the group; a set bit tells L0 that the group
 * is as L0 last read it, so L0 need not read it again (TLFS "Clean
 * Fields"). L0 sets every bit once it has consumed the eVMCS at entry.
 */
#define HV_VMX_ENLIGHTENED_CLEAN_FIELD_NONE 0u
#define HV_VMX_ENLIGHTENED_CLEAN_FIELD_IO_BITMAP (1u << 0)
#define HV_VMX_ENLIGHTENED_CLEAN_FIELD_MSR_BITMAP (1u << 1)
#define HV_VMX_ENLIGHTENED_CLEAN_FIELD_CONTROL_GRP2 (1u << 2)
#define HV_VMX_ENLIGHTENED_CLEAN_FIELD_CONTROL_GRP1 (1u << 3)
#define HV_VMX_ENLIGHTENED_CLEAN_FIELD_CONTROL_PROC (1u << 4)
#define HV_VMX_ENLIGHTENED_CLEAN_FIELD_CONTROL_EVENT (1u << 5)
#define HV_VMX_ENLIGHTENED_CLEAN_FIELD_CONTROL_ENTRY (1u << 6)
#define HV_VMX_ENLIGHTENED_CLEAN_FIELD_CONTROL_EXCPN (1u << 7)
#define HV_VMX_ENLIGHTENED_CLEAN_FIELD_CRDR (1u << 8)
#define HV_VMX_ENLIGHTENED_CLEAN_FIELD_CONTROL_XLAT (1u << 9)
#define HV_VMX_ENLIGHTENED_CLEAN_FIELD_GUEST_BASIC (1u << 10)
#define HV_VMX_ENLIGHTENED_CLEAN_FIELD_GUEST_GRP1 (1u << 11)
#define HV_VMX_ENLIGHTENED_CLEAN_FIELD_GUEST_GRP2 (1u << 12)
#define HV_VMX_ENLIGHTENED_CLEAN_FIELD_HOST_POINTER (1u << 13)
#define HV_VMX_ENLIGHTENED_CLEAN_FIELD_HOST_GRP1 (1u << 14)
#define HV_VMX_ENLIGHTENED_CLEAN_FIELD_ENLIGHTENMENTSCONTROL (1u << 15)
#define HV_VMX_ENLIGHTENED_CLEAN_FIELD_ALL 0xffffu

/* ---- the layout -------------------------------------------------------------- */

/*
 * HV_VMX_ENLIGHTENED_VMCS, one 4 KiB page, members in the TLFS order with
 * natural alignment (the TLFS's own definition has no packing). Member
 * names are the lower-case VMCS field names, as in struct vmcs12; the
 * eVMCS-only words keep the TLFS's meaning.
 */
struct hv_enlightened_vmcs {
	uint32_t revision_id; /* EVMCS_VERSION */
	uint32_t abort;

	uint16_t host_es_selector;
	uint16_t host_cs_selector;
	uint16_t host_ss_selector;
	uint16_t host_ds_selector;
	uint16_t host_fs_selector;
	uint16_t host_gs_selector;
	uint16_t host_tr_selector;

	uint64_t host_ia32_pat;
	uint64_t host_ia32_efer;
	uint64_t host_cr0;
	uint64_t host_cr3;
	uint64_t host_cr4;
	uint64_t host_ia32_sysenter_esp;
	uint64_t host_ia32_sysenter_eip;
	uint64_t host_rip;
	uint32_t host_ia32_sysenter_cs;

	uint32_t pin_based_vm_exec_control;
	uint32_t vm_exit_controls;
	uint32_t secondary_vm_exec_control;

	uint64_t io_bitmap_a;
	uint64_t io_bitmap_b;
	uint64_t msr_bitmap;

	uint16_t guest_es_selector;
	uint16_t guest_cs_selector;
	uint16_t guest_ss_selector;
	uint16_t guest_ds_selector;
	uint16_t guest_fs_selector;
	uint16_t guest_gs_selector;
	uint16_t guest_ldtr_selector;
	uint16_t guest_tr_selector;

	uint32_t guest_es_limit;
	uint32_t guest_cs_limit;
	uint32_t guest_ss_limit;
	uint32_t guest_ds_limit;
	uint32_t guest_fs_limit;
	uint32_t guest_gs_limit;
	uint32_t guest_ldtr_limit;
	uint32_t guest_tr_limit;
	uint32_t guest_gdtr_limit;
	uint32_t guest_idtr_limit;

	uint32_t guest_es_ar_bytes;
	uint32_t guest_cs_ar_bytes;
	uint32_t guest_ss_ar_bytes;
	uint32_t guest_ds_ar_bytes;
	uint32_t guest_fs_ar_bytes;
	uint32_t guest_gs_ar_bytes;
	uint32_t guest_ldtr_ar_bytes;
	uint32_t guest_tr_ar_bytes;

	uint64_t guest_es_base;
	uint64_t guest_cs_base;
	uint64_t guest_ss_base;
	uint64_t guest_ds_base;
	uint64_t guest_fs_base;
	uint64_t guest_gs_base;
	uint64_t guest_ldtr_base;
	uint64_t guest_tr_base;
	uint64_t guest_gdtr_base;
	uint64_t guest_idtr_base;

	uint64_t padding64_1[3];

	uint64_t vm_exit_msr_store_addr;
	uint64_t vm_exit_msr_load_addr;
	uint64_t vm_entry_msr_load_addr;

	uint64_t cr3_target_value0;
	uint64_t cr3_target_value1;
	uint64_t cr3_target_value2;
	uint64_t cr3_target_value3;

	uint32_t page_fault_error_code_mask;
	uint32_t page_fault_error_code_match;

	uint32_t cr3_target_count;
	uint32_t vm_exit_msr_store_count;
	uint32_t vm_exit_msr_load_count;
	uint32_t vm_entry_msr_load_count;

	uint64_t tsc_offset;
	uint64_t virtual_apic_page_addr;
	uint64_t vmcs_link_pointer;

	uint64_t guest_ia32_debugctl;
	uint64_t guest_ia32_pat;
	uint64_t guest_ia32_efer;

	uint64_t guest_pdptr0;
	uint64_t guest_pdptr1;
	uint64_t guest_pdptr2;
	uint64_t guest_pdptr3;

	uint64_t guest_pending_dbg_exceptions;
	uint64_t guest_sysenter_esp;
	uint64_t guest_sysenter_eip;

	uint32_t guest_activity_state;
	uint32_t guest_sysenter_cs;

	uint64_t cr0_guest_host_mask;
	uint64_t cr4_guest_host_mask;
	uint64_t cr0_read_shadow;
	uint64_t cr4_read_shadow;
	uint64_t guest_cr0;
	uint64_t guest_cr3;
	uint64_t guest_cr4;
	uint64_t guest_dr7;

	uint64_t host_fs_base;
	uint64_t host_gs_base;
	uint64_t host_tr_base;
	uint64_t host_gdtr_base;
	uint64_t host_idtr_base;
	uint64_t host_rsp;

	uint64_t ept_pointer;

	uint16_t virtual_processor_id;
	uint16_t padding16[3];

	uint64_t padding64_2[5];
	uint64_t guest_physical_address;

	uint32_t vm_instruction_error;
	uint32_t vm_exit_reason;
	uint32_t vm_exit_intr_info;
	uint32_t vm_exit_intr_error_code;
	uint32_t idt_vectoring_info_field;
	uint32_t idt_vectoring_error_code;
	uint32_t vm_exit_instruction_len;
	uint32_t vmx_instruction_info;

	uint64_t exit_qualification;
	uint64_t exit_io_instruction_ecx;
	uint64_t exit_io_instruction_esi;
	uint64_t exit_io_instruction_edi;
	uint64_t exit_io_instruction_eip;

	uint64_t guest_linear_address;
	uint64_t guest_rsp;
	uint64_t guest_rflags;

	uint32_t guest_interruptibility_info;
	uint32_t cpu_based_vm_exec_control;
	uint32_t exception_bitmap;
	uint32_t vm_entry_controls;
	uint32_t vm_entry_intr_info_field;
	uint32_t vm_entry_exception_error_code;
	uint32_t vm_entry_instruction_len;
	uint32_t tpr_threshold;

	uint64_t guest_rip;

	uint32_t hv_clean_fields; /* HV_VMX_ENLIGHTENED_CLEAN_FIELD_* */
	uint32_t hv_padding_32;
	uint32_t hv_synthetic_controls;
	uint32_t
		hv_enlightenments_control; /* bit 0 nested flush, 1 MSR bitmap */
	uint32_t hv_vp_id;
	uint32_t padding32_2;
	uint64_t hv_vm_id;
	uint64_t partition_assist_page;
	uint64_t padding64_4[4];
	uint64_t guest_bndcfgs;
	uint64_t padding64_5[7];
	uint64_t xss_exit_bitmap;
	uint64_t padding64_6[7];
};

#define EVMCS_SIZE 4096u

_Static_assert(sizeof(struct hv_enlightened_vmcs) <= EVMCS_SIZE,
	       "an enlightened VMCS is one 4 KiB page");

/* Every line of the table: the member has the width of its encoding. */
#define EVMCS_FIELD(name, member, group)                                    \
	_Static_assert(sizeof(((struct hv_enlightened_vmcs *)0)->member) == \
			       VMCS_ENC_FIELD_BYTES(name),                  \
		       "eVMCS " #member " does not match " #name);
#include "arch/evmcs_fields.def"
#undef EVMCS_FIELD

/* ---- encoding -> eVMCS ------------------------------------------------------- */

/* Where field enc lives in an eVMCS and which clean bit covers it. */
struct evmcs_field_loc {
	uint16_t offset; /* bytes from the start of the eVMCS */
	uint16_t width; /* bytes: 2, 4 or 8 */
	uint32_t clean; /* HV_VMX_ENLIGHTENED_CLEAN_FIELD_* (0: none) */
};

/*
 * Field enc (a full encoding, not a _HIGH one) in an eVMCS: true with
 * *loc, false when the eVMCS has no such field. A switch the compiler
 * turns into a table; usable on both sides.
 */
static inline bool evmcs_field_lookup(uint32_t enc, struct evmcs_field_loc *loc)
{
	switch (enc) {
#define EVMCS_FIELD(name, member, group)                                    \
	case name:                                                          \
		loc->offset = offsetof(struct hv_enlightened_vmcs, member); \
		loc->width =                                                \
			sizeof(((struct hv_enlightened_vmcs *)0)->member);  \
		loc->clean = HV_VMX_ENLIGHTENED_CLEAN_FIELD_##group;        \
		return true;
#include "arch/evmcs_fields.def"
#undef EVMCS_FIELD
	default:
		return false;
	}
}

#endif
