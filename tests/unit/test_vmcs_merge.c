/* SPDX-License-Identifier: MIT */
/*
 * test_vmcs_merge.c - the VMCS side of nested VMX: L0's capabilities (SDM
 * Vol. 3D Appendix A), vmcs12 by encoding, one test per nested entry check
 * (Vol. 3C 27.2, 27.3: one rule broken, outcome and check asserted), and
 * the merge into vmcs02, back into vmcs12 (28.2, 28.3) and into vmcs01
 * (28.5) on the model's VMCSs. Host side, tests only.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <asm/vmx.h>

#include "arch/boot_layout.h"
#include "arch/ept.h"
#include "arch/vmx_exit_qual.h"
#include "arch/vmx_insn_errors.h"
#include "arch/x86_msr.h"
#include "tests/unit/vmcs12_fixture.h"
#include "vmcs-merge/caps.h"
#include "vmcs-merge/merge.h"
#include "vmcs-merge/vmcs12.h"
#include "vtx/vtx.h"

#define MAXPHYADDR 46
#define VMXON_REGION 0x1000ull
#define VMCS_REGION 0x2000ull
#define L2_RIP 0x130000ull
#define L2_RSP 0x140000ull
#define L1_HOST_RIP 0x108000ull
#define L1_HOST_RSP 0x150000ull

struct check_case;

struct fixture {
	struct vtx_machine *m;
	struct vtx_cpu *cpu;
	struct nested_vmx_caps caps;
	struct vmcs12 v;
	const struct check_case *c; /* the check test's case */
};

/* *state is the check case of a check test (NULL otherwise). */
static int setup(void **state)
{
	struct vtx_machine_config cfg = { .arena_size = MiB(1) };
	struct fixture *f = calloc(1, sizeof(*f));

	if (f)
		f->c = *state;
	if (!f || vtx_machine_create(&cfg, &f->m) ||
	    vtx_cpu_create(f->m, &f->cpu) ||
	    nested_vmx_caps_init(&f->caps, f->cpu))
		return -1;
	vmcs12_fixture_init(&f->v, &f->caps, 0, L2_RIP, L2_RSP, L1_HOST_RIP,
			    L1_HOST_RSP);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	vtx_cpu_destroy(f->cpu);
	vtx_machine_destroy(f->m);
	free(f);
	return 0;
}

/* VMXON and a current VMCS on the model, for the merge tests. */
static void vmx_on(struct fixture *f)
{
	uint64_t basic;
	uint32_t rev;

	assert_int_equal(vtx_cpu_get_msr(f->cpu, MSR_IA32_VMX_BASIC, &basic),
			 0);
	rev = vmx_basic_get_revision(basic);
	assert_int_equal(vtx_hpa_write(f->m, VMXON_REGION, &rev, 4), 0);
	assert_int_equal(vtx_hpa_write(f->m, VMCS_REGION, &rev, 4), 0);
	assert_int_equal(vtx_vmxon(f->cpu, VMXON_REGION), 0);
	assert_int_equal(vtx_vmclear(f->cpu, VMCS_REGION), 0);
	assert_int_equal(vtx_vmptrld(f->cpu, VMCS_REGION), 0);
}

static uint64_t rd(struct fixture *f, uint32_t field)
{
	uint64_t v = ~0ull;
	int ret = vtx_vmread(f->cpu, field, &v);

	if (ret)
		fail_msg("VMREAD of 0x%x (%s) failed: %d", field,
			 vmcs_field_name(field), ret);
	return v;
}

static void wr(struct fixture *f, uint32_t field, uint64_t val)
{
	assert_int_equal(vtx_vmwrite(f->cpu, field, val), 0);
}

/* ---- capabilities -------------------------------------------------------------- */

static void
test_caps__vmx_basic_reports_vmcs12_revision_and_true_ctls(void **state)
{
	struct fixture *f = *state;
	uint64_t basic;

	assert_int_equal(
		nested_vmx_caps_read(&f->caps, MSR_IA32_VMX_BASIC, &basic), 0);
	assert_int_equal(vmx_basic_get_revision(basic), VMCS12_REVISION);
	assert_int_equal(vmx_basic_get_vmcs_size(basic), 4096);
	assert_int_equal(vmx_basic_get_mem_type(basic), VMX_BASIC_MEM_TYPE_WB);
	assert_true(basic & VMX_BASIC_TRUE_CTLS);
}

/* L1's controls are a subset of the processor's: every bit L1 may set the
 * processor allows, every bit the processor forces L1 must set. */
static void test_caps__every_control_group_is_subset_of_processor(void **state)
{
	static const uint32_t msrs[] = {
		MSR_IA32_VMX_PINBASED_CTLS,
		MSR_IA32_VMX_PROCBASED_CTLS,
		MSR_IA32_VMX_EXIT_CTLS,
		MSR_IA32_VMX_ENTRY_CTLS,
		MSR_IA32_VMX_PROCBASED_CTLS2,
		MSR_IA32_VMX_TRUE_PINBASED_CTLS,
		MSR_IA32_VMX_TRUE_PROCBASED_CTLS,
		MSR_IA32_VMX_TRUE_EXIT_CTLS,
		MSR_IA32_VMX_TRUE_ENTRY_CTLS,
	};
	struct fixture *f = *state;

	for (size_t i = 0; i < sizeof(msrs) / sizeof(msrs[0]); i++) {
		uint64_t hw, l1;

		assert_int_equal(vtx_cpu_get_msr(f->cpu, msrs[i], &hw), 0);
		assert_int_equal(nested_vmx_caps_read(&f->caps, msrs[i], &l1),
				 0);
		assert_int_equal((uint32_t)l1, (uint32_t)hw);
		assert_int_equal((l1 >> 32) & ~(hw >> 32), 0);
	}
}

/* What the merge handles is offered; what it does not is not. */
static void
test_caps__offers_ept_hlt_io_msr_bitmaps_vmcs_shadowing(void **state)
{
	struct fixture *f = *state;
	uint64_t proc, proc2, misc, vmfunc;

	nested_vmx_caps_read(&f->caps, MSR_IA32_VMX_TRUE_PROCBASED_CTLS, &proc);
	nested_vmx_caps_read(&f->caps, MSR_IA32_VMX_PROCBASED_CTLS2, &proc2);
	assert_int_equal((proc >> 32) & (CPU_BASED_HLT_EXITING |
					 CPU_BASED_USE_IO_BITMAPS |
					 CPU_BASED_USE_MSR_BITMAPS),
			 CPU_BASED_HLT_EXITING | CPU_BASED_USE_IO_BITMAPS |
				 CPU_BASED_USE_MSR_BITMAPS);
	assert_int_equal((proc2 >> 32) & SECONDARY_EXEC_ENABLE_EPT,
			 SECONDARY_EXEC_ENABLE_EPT);
	assert_int_equal((proc2 >> 32) & SECONDARY_EXEC_SHADOW_VMCS,
			 SECONDARY_EXEC_SHADOW_VMCS);
	/* VM functions and TSC scaling: offered by the processor, kept
	 * from L1, and their fields with them. */
	assert_int_equal((proc2 >> 32) & (SECONDARY_EXEC_ENABLE_VMFUNC |
					  SECONDARY_EXEC_TSC_SCALING),
			 0);
	assert_false(nested_vmcs_field_supported(VM_FUNCTION_CONTROL));
	assert_false(nested_vmcs_field_supported(EPTP_LIST_ADDRESS));
	assert_false(nested_vmcs_field_supported(TSC_MULTIPLIER));
	nested_vmx_caps_read(&f->caps, MSR_IA32_VMX_MISC, &misc);
	/* HLT is the one activity state beyond active that L0 offers. */
	assert_int_equal(misc & VMX_MISC_ACTIVITY_STATES_MASK,
			 VMX_MISC_ACTIVITY_HLT);
	assert_int_equal(
		nested_vmx_caps_read(&f->caps, MSR_IA32_VMX_VMFUNC, &vmfunc),
		-ENOENT);
	assert_int_equal(nested_vmx_ept_vpid_cap(&f->caps) & VMX_EPT_AD_BIT, 0);
}

/* Every field L1 may use is one the processor has: L0 can always copy it
 * into vmcs02. */
static void
test_caps__every_offered_field_is_supported_by_processor(void **state)
{
	struct fixture *f = *state;
	unsigned int offered = 0;

	vmx_on(f);
	for (unsigned int k = 0; k < VMCS_NR_FIELDS; k++) {
		uint32_t enc = vmcs_field_table[k].encoding;
		uint64_t v;

		if (!nested_vmcs_field_supported(enc))
			continue;
		offered++;
		if (vtx_vmread(f->cpu, enc, &v))
			fail_msg("%s offered to L1, not supported by the "
				 "processor",
				 vmcs_field_table[k].name);
	}
	/* 121: the VMX-preemption timer value is offered with the timer,
	 * the VMREAD/VMWRITE bitmap addresses with VMCS shadowing. */
	assert_int_equal(offered, 121);
}

/* ---- vmcs12 by encoding ----------------------------------------------------------- */

static void
test_vmcs12_write_field__truncates_to_width_and_reads_back(void **state)
{
	struct fixture *f = *state;
	uint64_t v;

	assert_int_equal(vmcs12_write_field(&f->v, GUEST_ES_SELECTOR,
					    0x123456789abcdefull),
			 0);
	assert_int_equal(vmcs12_read_field(&f->v, GUEST_ES_SELECTOR, &v), 0);
	assert_int_equal(v, 0xcdef);
	assert_int_equal(f->v.guest_es_selector, 0xcdef);
	assert_int_equal(vmcs12_write_field(&f->v, GUEST_ES_LIMIT, ~0ull), 0);
	assert_int_equal(f->v.guest_es_limit, 0xffffffffu);
	/* The high half of a 64-bit field is its upper 32 bits. */
	assert_int_equal(
		vmcs12_write_field(&f->v, TSC_OFFSET, 0x1111222233334444ull),
		0);
	assert_int_equal(vmcs12_read_field(&f->v, TSC_OFFSET_HIGH, &v), 0);
	assert_int_equal(v, 0x11112222);
	assert_int_equal(vmcs12_write_field(&f->v, TSC_OFFSET_HIGH, 0x55), 0);
	assert_int_equal(f->v.tsc_offset, 0x0000005533334444ull);
}

static void
test_vmcs12_read_field__unoffered_or_reserved_is_enoent(void **state)
{
	struct fixture *f = *state;
	uint64_t v;

	assert_int_equal(vmcs12_read_field(&f->v, POSTED_INTR_DESC_ADDR, &v),
			 -ENOENT);
	assert_int_equal(vmcs12_read_field(&f->v, GUEST_PDPTR0, &v), -ENOENT);
	assert_int_equal(vmcs12_read_field(&f->v, 0x7fff, &v), -ENOENT);
	/* A high access to a natural-width field does not exist. */
	assert_int_equal(vmcs12_read_field(&f->v, GUEST_RIP | 1, &v), -ENOENT);
	assert_int_equal(vmcs12_write_field(&f->v, GUEST_SMBASE, 1), -ENOENT);
}

/* ---- one test per nested VM-entry check ------------------------------------------ */

struct check_case {
	const char *name;
	void (*breaks)(struct vmcs12 *v);
	enum vmcs12_check_result result;
	unsigned int error; /* VMfail */
	uint64_t qual; /* entry failure */
	const char *check;
};

/* The fixture's vmcs12 passes every check. */
static void test_vmcs12_check__valid_vmcs12_passes(void **state)
{
	struct fixture *f = *state;
	struct vmcs12_check out;

	vmcs_merge_check_vmcs12(&f->v, &f->caps, MAXPHYADDR, &out);
	assert_int_equal(out.result, VMCS12_CHECK_OK);
	assert_null(out.check);
}

#define BREAK(name, stmt)                          \
	static void break_##name(struct vmcs12 *v) \
	{                                          \
		stmt;                              \
	}

BREAK(pin, v->pin_based_vm_exec_control = 0)
BREAK(proc_tpr_shadow, v->cpu_based_vm_exec_control |= CPU_BASED_TPR_SHADOW)
BREAK(proc2_shadow_vmcs_read_bitmap, {
	v->secondary_vm_exec_control |= SECONDARY_EXEC_SHADOW_VMCS;
	v->vmread_bitmap = 0x3800;
	v->vmwrite_bitmap = 0x4000;
})
BREAK(proc2_shadow_vmcs_write_bitmap, {
	v->secondary_vm_exec_control |= SECONDARY_EXEC_SHADOW_VMCS;
	v->vmread_bitmap = 0x3000;
	v->vmwrite_bitmap = 1ull << MAXPHYADDR;
})
BREAK(proc2_unrestricted,
      v->secondary_vm_exec_control = SECONDARY_EXEC_UNRESTRICTED_GUEST)
BREAK(pin_virtual_nmis, v->pin_based_vm_exec_control |= PIN_BASED_VIRTUAL_NMIS)
BREAK(exit_save_timer, v->vm_exit_controls |= VM_EXIT_SAVE_VMX_PREEMPTION_TIMER)
BREAK(injection_mtf_vector_1,
      (v->vm_entry_intr_info_field = INTR_INFO_VALID_MASK |
				     INTR_TYPE_OTHER_EVENT | 1))
BREAK(guest_activity_hlt_sti,
      (v->guest_activity_state = GUEST_ACTIVITY_HLT,
       v->guest_interruptibility_info = GUEST_INTR_STATE_STI))
BREAK(guest_activity_hlt_soft_int,
      (v->guest_activity_state = GUEST_ACTIVITY_HLT,
       v->vm_entry_intr_info_field = INTR_INFO_VALID_MASK |
				     INTR_TYPE_SOFT_INTR | 0x80,
       v->vm_entry_instruction_len = 2))
BREAK(guest_nmi_injected_nmi_blocked,
      (v->vm_entry_intr_info_field = INTR_INFO_VALID_MASK | INTR_TYPE_NMI_INTR |
				     NMI_VECTOR,
       v->guest_interruptibility_info = GUEST_INTR_STATE_NMI))
BREAK(guest_cr0_pg_without_pe, v->guest_cr0 &= ~(uint64_t)X86_CR0_PE)
BREAK(cr3_targets, v->cr3_target_count = 5)
BREAK(io_bitmap_a, (v->cpu_based_vm_exec_control |= CPU_BASED_USE_IO_BITMAPS,
		    v->io_bitmap_a = 0x3010, v->io_bitmap_b = 0x4000))
BREAK(io_bitmap_b, (v->cpu_based_vm_exec_control |= CPU_BASED_USE_IO_BITMAPS,
		    v->io_bitmap_a = 0x3000, v->io_bitmap_b = 1ull << 46))
BREAK(msr_bitmap, (v->cpu_based_vm_exec_control |= CPU_BASED_USE_MSR_BITMAPS,
		   v->msr_bitmap = 0x5008))
BREAK(eptp_uc, (v->secondary_vm_exec_control = SECONDARY_EXEC_ENABLE_EPT,
		v->ept_pointer = 0x300000 | VMX_EPTP_PWL_4 | VMX_EPTP_MT_UC))
BREAK(eptp_pwl5, (v->secondary_vm_exec_control = SECONDARY_EXEC_ENABLE_EPT,
		  v->ept_pointer = 0x300000 | VMX_EPTP_PWL_5 | VMX_EPTP_MT_WB))
BREAK(eptp_ad, (v->secondary_vm_exec_control = SECONDARY_EXEC_ENABLE_EPT,
		v->ept_pointer = vmx_build_eptp(0x300000, 4, true)))
BREAK(eptp_rsvd, (v->secondary_vm_exec_control = SECONDARY_EXEC_ENABLE_EPT,
		  v->ept_pointer = vmx_build_eptp(0x300000, 4, false) | 0x100))
BREAK(eptp_maxphy, (v->secondary_vm_exec_control = SECONDARY_EXEC_ENABLE_EPT,
		    v->ept_pointer = vmx_build_eptp(1ull << 46, 4, false)))
BREAK(vpid0, v->secondary_vm_exec_control = SECONDARY_EXEC_ENABLE_VPID)
BREAK(exit_ctls, v->vm_exit_controls = 0)
BREAK(exit_store_area,
      (v->vm_exit_msr_store_count = 1, v->vm_exit_msr_store_addr = 0x3008))
BREAK(entry_ctls, v->vm_entry_controls = 0)
BREAK(inj_type1, v->vm_entry_intr_info_field = INTR_INFO_VALID_MASK |
					       INTR_TYPE_RESERVED | 3)
BREAK(inj_nmi_vector,
      v->vm_entry_intr_info_field = vmx_build_intr_info(3, INTR_TYPE_NMI_INTR,
							false))
BREAK(inj_vector, v->vm_entry_intr_info_field = vmx_build_intr_info(
			  40, INTR_TYPE_HARD_EXCEPTION, false))
BREAK(inj_error_code, v->vm_entry_intr_info_field = vmx_build_intr_info(
			      UD_VECTOR, INTR_TYPE_HARD_EXCEPTION, true))
BREAK(inj_error_bits, (v->vm_entry_intr_info_field = vmx_build_intr_info(
			       GP_VECTOR, INTR_TYPE_HARD_EXCEPTION, true),
		       v->vm_entry_exception_error_code = 0x10000))
BREAK(inj_reserved,
      v->vm_entry_intr_info_field =
	      vmx_build_intr_info(UD_VECTOR, INTR_TYPE_HARD_EXCEPTION, false) |
	      (1u << 13))
BREAK(inj_soft_len, (v->vm_entry_intr_info_field = vmx_build_intr_info(
			     0x80, INTR_TYPE_SOFT_INTR, false),
		     v->vm_entry_instruction_len = 0))
BREAK(entry_load_area,
      (v->vm_entry_msr_load_count = 2, v->vm_entry_msr_load_addr = 0x3004))
BREAK(host_cr0, v->host_cr0 &= ~(uint64_t)X86_CR0_PG)
BREAK(host_cr4, v->host_cr4 &= ~(uint64_t)X86_CR4_VMXE)
BREAK(host_cr3, v->host_cr3 = 1ull << 46)
BREAK(host_sysenter, v->host_ia32_sysenter_esp = 0x0000800000000000ull)
BREAK(host_pat,
      (v->vm_exit_controls |= VM_EXIT_LOAD_IA32_PAT, v->host_ia32_pat = 0x02))
BREAK(host_efer_rsvd, v->host_ia32_efer |= 1ull << 1)
BREAK(host_efer_lma, v->host_ia32_efer &= ~EFER_LMA)
BREAK(host_es_rpl, v->host_es_selector = 0x13)
BREAK(host_cs_null, v->host_cs_selector = 0)
BREAK(host_tr_null, v->host_tr_selector = 0)
BREAK(host_fs_base, v->host_fs_base = 0x0000800000000000ull)
BREAK(host_addr_size,
      v->vm_exit_controls &=
      ~(uint32_t)(VM_EXIT_HOST_ADDR_SPACE_SIZE | VM_EXIT_LOAD_IA32_EFER))
BREAK(host_rip, v->host_rip = 0x0000800000000000ull)
BREAK(guest_cr0, v->guest_cr0 &= ~(uint64_t)X86_CR0_NE)
BREAK(guest_cr4, v->guest_cr4 &= ~(uint64_t)X86_CR4_VMXE)
BREAK(guest_pae, v->guest_cr4 &= ~(uint64_t)X86_CR4_PAE)
BREAK(guest_cr3, v->guest_cr3 = 1ull << 46)
BREAK(guest_efer_lma, v->guest_ia32_efer &= ~EFER_LMA)
BREAK(guest_rflags, v->guest_rflags = 0)
BREAK(guest_activity, v->guest_activity_state = 2)
BREAK(guest_sti_if, v->guest_interruptibility_info = GUEST_INTR_STATE_STI)
BREAK(guest_pending_dbg, v->guest_pending_dbg_exceptions = 1ull << 13)
BREAK(seg_tr_ti, v->guest_tr_selector |= SEL_TI)
BREAK(seg_ldtr_ti,
      (v->guest_ldtr_ar_bytes = 0x82, v->guest_ldtr_selector = 0x2c))
BREAK(seg_ss_rpl, v->guest_ss_selector |= 3)
BREAK(seg_tr_base, v->guest_tr_base = 0x0000800000000000ull)
BREAK(seg_fs_base, v->guest_fs_base = 0x0000800000000000ull)
BREAK(seg_gs_base, v->guest_gs_base = 0x0000800000000000ull)
BREAK(seg_ldtr_base, (v->guest_ldtr_ar_bytes = 0x82,
		      v->guest_ldtr_base = 0x0000800000000000ull))
BREAK(seg_cs_base, v->guest_cs_base = 1ull << 32)
BREAK(seg_ss_base, v->guest_ss_base = 1ull << 32)
BREAK(seg_ds_base, v->guest_ds_base = 1ull << 32)
BREAK(seg_es_base, v->guest_es_base = 1ull << 32)
BREAK(seg_cs_type, v->guest_cs_ar_bytes = (v->guest_cs_ar_bytes & ~0xfu) | 3)
BREAK(seg_cs_s, v->guest_cs_ar_bytes &= ~VMX_AR_S_MASK)
BREAK(seg_cs_dpl, v->guest_cs_ar_bytes |= 3u << VMX_AR_DPL_SHIFT)
BREAK(seg_cs_conf_dpl, v->guest_cs_ar_bytes |= (3u << VMX_AR_DPL_SHIFT) | 4)
BREAK(seg_cs_p, v->guest_cs_ar_bytes &= ~VMX_AR_P_MASK)
BREAK(seg_cs_rsvd, v->guest_cs_ar_bytes |= 1u << 8)
BREAK(seg_cs_l_d, v->guest_cs_ar_bytes |= VMX_AR_DB_MASK)
BREAK(seg_cs_limit, v->guest_cs_limit = 0xffff0)
BREAK(seg_ss_type, v->guest_ss_ar_bytes = (v->guest_ss_ar_bytes & ~0xfu) | 1)
BREAK(seg_ss_s, v->guest_ss_ar_bytes &= ~VMX_AR_S_MASK)
BREAK(seg_ss_p, v->guest_ss_ar_bytes &= ~VMX_AR_P_MASK)
BREAK(seg_ss_rsvd, v->guest_ss_ar_bytes |= 1u << 9)
BREAK(seg_ss_limit, v->guest_ss_limit = 0x100000)
BREAK(seg_ss_dpl, (v->guest_cs_ar_bytes |= 3u << VMX_AR_DPL_SHIFT,
		   v->guest_ss_ar_bytes |= 3u << VMX_AR_DPL_SHIFT))
BREAK(seg_ds_accessed, v->guest_ds_ar_bytes &= ~SEG_TYPE_ACCESSED)
BREAK(seg_es_code_xo, v->guest_es_ar_bytes = (v->guest_es_ar_bytes & ~0xfu) | 9)
BREAK(seg_fs_s, v->guest_fs_ar_bytes &= ~VMX_AR_S_MASK)
BREAK(seg_gs_dpl, v->guest_gs_selector |= 3)
BREAK(seg_ds_p, v->guest_ds_ar_bytes &= ~VMX_AR_P_MASK)
BREAK(seg_es_rsvd, v->guest_es_ar_bytes |= 1u << 10)
BREAK(seg_fs_limit, v->guest_fs_limit = 0xfff00)
BREAK(seg_tr_type, v->guest_tr_ar_bytes = (v->guest_tr_ar_bytes & ~0xfu) | 3)
BREAK(seg_tr_s, v->guest_tr_ar_bytes |= VMX_AR_S_MASK)
BREAK(seg_tr_p, v->guest_tr_ar_bytes &= ~VMX_AR_P_MASK)
BREAK(seg_tr_rsvd, v->guest_tr_ar_bytes |= 1u << 11)
BREAK(seg_tr_limit, (v->guest_tr_ar_bytes |= VMX_AR_G_MASK))
BREAK(seg_tr_unusable, v->guest_tr_ar_bytes |= VMX_AR_UNUSABLE_MASK)
BREAK(seg_ldtr_type, v->guest_ldtr_ar_bytes = 0x83)
BREAK(seg_ldtr_s, v->guest_ldtr_ar_bytes = 0x92)
BREAK(seg_ldtr_p, v->guest_ldtr_ar_bytes = 0x02)
BREAK(seg_ldtr_rsvd, v->guest_ldtr_ar_bytes = 0x82 | (1u << 17))
BREAK(seg_ldtr_limit,
      (v->guest_ldtr_ar_bytes = 0x82, v->guest_ldtr_limit = 0x100000))
BREAK(gdtr_base, v->guest_gdtr_base = 0x0000800000000000ull)
BREAK(idtr_base, v->guest_idtr_base = 0x0000800000000000ull)
BREAK(gdtr_limit, v->guest_gdtr_limit = 0x10000)
BREAK(idtr_limit, v->guest_idtr_limit = 0x10000)
BREAK(rip_high_compat,
      (v->guest_cs_ar_bytes &= ~VMX_AR_L_MASK,
       v->guest_cs_ar_bytes |= VMX_AR_DB_MASK, v->guest_rip = 1ull << 32))
BREAK(rip_noncanonical, v->guest_rip = 0x0000800000000000ull)
BREAK(guest_enclave_intr,
      v->guest_interruptibility_info = GUEST_INTR_STATE_ENCLAVE_INTR)
BREAK(guest_link, v->vmcs_link_pointer = 0x1008)
BREAK(guest_link_width, v->vmcs_link_pointer = 1ull << 46)

#define VMFAIL_CTL(n, b, chk)                                         \
	{                                                             \
		"test_vmcs12_check__" n "_fails_vmfail_7", break_##b, \
			VMCS12_CHECK_VMFAIL,                          \
			VMXERR_ENTRY_INVALID_CONTROL_FIELD, 0, chk    \
	}
#define VMFAIL_HOST(n, b, chk)                                        \
	{                                                             \
		"test_vmcs12_check__" n "_fails_vmfail_8", break_##b, \
			VMCS12_CHECK_VMFAIL,                          \
			VMXERR_ENTRY_INVALID_HOST_STATE_FIELD, 0, chk \
	}
#define ENTRY_FAIL(n, b, q, chk)                                            \
	{                                                                   \
		"test_vmcs12_check__" n "_is_entry_failure_" #q, break_##b, \
			VMCS12_CHECK_ENTRY_FAIL, 0, q, chk                  \
	}

static const struct check_case check_cases[] = {
	VMFAIL_CTL("pin_default1_clear", pin,
		   "!nested_vmx_ctl_ok(caps, MSR_IA32_VMX_TRUE_PINBASED_CTLS, "
		   "v->pin_based_vm_exec_control)"),
	VMFAIL_CTL("proc_tpr_shadow_not_offered", proc_tpr_shadow,
		   "!nested_vmx_ctl_ok(caps, MSR_IA32_VMX_TRUE_PROCBASED_CTLS, "
		   "proc)"),
	VMFAIL_CTL("proc2_vmcs_shadowing_vmread_bitmap_unaligned",
		   proc2_shadow_vmcs_read_bitmap,
		   "!page_aligned(v->vmread_bitmap)"),
	VMFAIL_CTL("proc2_vmcs_shadowing_vmwrite_bitmap_beyond_width",
		   proc2_shadow_vmcs_write_bitmap,
		   "beyond_maxphy(v->vmwrite_bitmap)"),
	VMFAIL_CTL("pin_virtual_nmis_without_nmi_exiting", pin_virtual_nmis,
		   "!(v->pin_based_vm_exec_control & PIN_BASED_NMI_EXITING) && "
		   "(v->pin_based_vm_exec_control & PIN_BASED_VIRTUAL_NMIS)"),
	VMFAIL_CTL("proc2_unrestricted_guest_without_ept", proc2_unrestricted,
		   "(proc2 & SECONDARY_EXEC_UNRESTRICTED_GUEST) && "
		   "!(proc2 & SECONDARY_EXEC_ENABLE_EPT)"),
	VMFAIL_CTL("exit_save_timer_without_timer", exit_save_timer,
		   "!(v->pin_based_vm_exec_control & "
		   "PIN_BASED_VMX_PREEMPTION_TIMER) && (v->vm_exit_controls & "
		   "VM_EXIT_SAVE_VMX_PREEMPTION_TIMER)"),
	VMFAIL_CTL("injection_mtf_vector_1", injection_mtf_vector_1,
		   "type == INTR_TYPE_OTHER_EVENT && vector != 0"),
	VMFAIL_CTL("cr3_target_count_5", cr3_targets,
		   "v->cr3_target_count > "
		   "vmx_misc_get_cr3_count(cap(caps, MSR_IA32_VMX_MISC))"),
	VMFAIL_CTL("io_bitmap_a_unaligned", io_bitmap_a,
		   "!page_aligned(v->io_bitmap_a)"),
	VMFAIL_CTL("io_bitmap_b_beyond_maxphyaddr", io_bitmap_b,
		   "beyond_maxphy(v->io_bitmap_b)"),
	VMFAIL_CTL("msr_bitmap_unaligned", msr_bitmap,
		   "!page_aligned(v->msr_bitmap)"),
	VMFAIL_CTL("eptp_uc_not_offered", eptp_uc,
		   "(eptp & VMX_EPTP_MT_MASK) == VMX_EPTP_MT_UC && "
		   "!(ept_cap & VMX_EPTP_UC_BIT)"),
	VMFAIL_CTL("eptp_5_levels", eptp_pwl5,
		   "(eptp & VMX_EPTP_PWL_MASK) != VMX_EPTP_PWL_4"),
	VMFAIL_CTL("eptp_ad_not_offered", eptp_ad,
		   "(eptp & VMX_EPTP_AD_ENABLE_BIT) && !(ept_cap & "
		   "VMX_EPT_AD_BIT)"),
	VMFAIL_CTL("eptp_reserved_bit_8", eptp_rsvd,
		   "eptp & (VMX_EPTP_SSS_BIT | VMX_EPTP_RESERVED_LOW)"),
	VMFAIL_CTL("eptp_beyond_maxphyaddr", eptp_maxphy,
		   "beyond_maxphy(eptp & ~(PAGE_SIZE - 1))"),
	VMFAIL_CTL("vpid_0", vpid0, "v->virtual_processor_id == 0"),
	VMFAIL_CTL("exit_default1_clear", exit_ctls,
		   "!nested_vmx_ctl_ok(caps, MSR_IA32_VMX_TRUE_EXIT_CTLS, "
		   "v->vm_exit_controls)"),
	VMFAIL_CTL("exit_msr_store_area_unaligned", exit_store_area,
		   "msr_area_bad(v->vm_exit_msr_store_addr, "
		   "v->vm_exit_msr_store_count, maxphyaddr)"),
	VMFAIL_CTL("entry_default1_clear", entry_ctls,
		   "!nested_vmx_ctl_ok(caps, MSR_IA32_VMX_TRUE_ENTRY_CTLS, "
		   "v->vm_entry_controls)"),
	VMFAIL_CTL("injection_type_1_reserved", inj_type1,
		   "type == INTR_TYPE_RESERVED"),
	VMFAIL_CTL("injection_nmi_not_vector_2", inj_nmi_vector,
		   "type == INTR_TYPE_NMI_INTR && vector != NMI_VECTOR"),
	VMFAIL_CTL("injection_exception_vector_40", inj_vector,
		   "type == INTR_TYPE_HARD_EXCEPTION && vector > 31"),
	VMFAIL_CTL("injection_ud_with_error_code", inj_error_code,
		   "has_error != (type == INTR_TYPE_HARD_EXCEPTION && "
		   "(v->guest_cr0 & X86_CR0_PE) && "
		   "x86_exception_has_error_code(vector))"),
	VMFAIL_CTL("injection_error_code_bit_16", inj_error_bits,
		   "has_error && (v->vm_entry_exception_error_code >> 16)"),
	VMFAIL_CTL("injection_reserved_bit_13", inj_reserved,
		   "info & INTR_INFO_RESVD_BITS_MASK"),
	VMFAIL_CTL("injection_soft_int_length_0", inj_soft_len,
		   "vmx_intr_type_is_soft(type) && "
		   "(v->vm_entry_instruction_len > 15 || "
		   "(v->vm_entry_instruction_len == 0 && !misc_zero_len))"),
	VMFAIL_CTL("entry_msr_load_area_unaligned", entry_load_area,
		   "msr_area_bad(v->vm_entry_msr_load_addr, "
		   "v->vm_entry_msr_load_count, maxphyaddr)"),
	VMFAIL_HOST("host_cr0_pg_clear", host_cr0,
		    "fixed_bits_bad(v->host_cr0, cap(caps, "
		    "MSR_IA32_VMX_CR0_FIXED0), cap(caps, "
		    "MSR_IA32_VMX_CR0_FIXED1))"),
	VMFAIL_HOST("host_cr4_vmxe_clear", host_cr4,
		    "fixed_bits_bad(v->host_cr4, cap(caps, "
		    "MSR_IA32_VMX_CR4_FIXED0), cap(caps, "
		    "MSR_IA32_VMX_CR4_FIXED1))"),
	VMFAIL_HOST("host_cr3_beyond_maxphyaddr", host_cr3,
		    "beyond_maxphy(v->host_cr3)"),
	VMFAIL_HOST("host_sysenter_esp_noncanonical", host_sysenter,
		    "!canonical(v->host_ia32_sysenter_esp)"),
	VMFAIL_HOST("host_pat_type_2", host_pat, "pat_bad(v->host_ia32_pat)"),
	VMFAIL_HOST("host_efer_reserved_bit", host_efer_rsvd,
		    "efer & ~EFER_SETTABLE"),
	VMFAIL_HOST("host_efer_lma_not_address_space_size", host_efer_lma,
		    "!!(efer & EFER_LMA) != host_lm"),
	VMFAIL_HOST("host_es_rpl_3", host_es_rpl,
		    "v->host_es_selector & (SEL_TI | SEL_RPL_MASK)"),
	VMFAIL_HOST("host_cs_null", host_cs_null, "v->host_cs_selector == 0"),
	VMFAIL_HOST("host_tr_null", host_tr_null, "v->host_tr_selector == 0"),
	VMFAIL_HOST("host_fs_base_noncanonical", host_fs_base,
		    "!canonical(v->host_fs_base)"),
	VMFAIL_HOST("host_address_space_size_0", host_addr_size, "!host_lm"),
	VMFAIL_HOST("host_rip_noncanonical", host_rip,
		    "!canonical(v->host_rip)"),
	ENTRY_FAIL("guest_cr0_ne_clear", guest_cr0, 0,
		   "fixed_bits_bad(cr0, cr0_fixed0, "
		   "cap(caps, MSR_IA32_VMX_CR0_FIXED1))"),
	ENTRY_FAIL("guest_cr0_pe_clear_without_unrestricted_guest",
		   guest_cr0_pg_without_pe, 0,
		   "fixed_bits_bad(cr0, cr0_fixed0, "
		   "cap(caps, MSR_IA32_VMX_CR0_FIXED1))"),
	ENTRY_FAIL("guest_cr4_vmxe_clear", guest_cr4, 0,
		   "fixed_bits_bad(cr4, cap(caps, MSR_IA32_VMX_CR4_FIXED0), "
		   "cap(caps, MSR_IA32_VMX_CR4_FIXED1))"),
	ENTRY_FAIL("guest_ia32e_without_pae", guest_pae, 0,
		   "ia32e && !(cr4 & X86_CR4_PAE)"),
	ENTRY_FAIL("guest_cr3_beyond_maxphyaddr", guest_cr3, 0,
		   "beyond_maxphy(v->guest_cr3)"),
	ENTRY_FAIL("guest_efer_lma_not_ia32e", guest_efer_lma, 0,
		   "!!(efer & EFER_LMA) != ia32e"),
	ENTRY_FAIL("guest_rflags_bit1_clear", guest_rflags, 0,
		   "(rflags & ~X86_EFLAGS_LIVE_MASK) != X86_EFLAGS_FIXED"),
	ENTRY_FAIL(
		"guest_activity_shutdown_not_offered", guest_activity, 0,
		"act != GUEST_ACTIVITY_ACTIVE && !(act == GUEST_ACTIVITY_HLT "
		"&& (misc & VMX_MISC_ACTIVITY_HLT))"),
	ENTRY_FAIL("guest_activity_hlt_with_sti_blocking",
		   guest_activity_hlt_sti, 0,
		   "act == GUEST_ACTIVITY_HLT && (intr & (GUEST_INTR_STATE_STI "
		   "| GUEST_INTR_STATE_MOV_SS))"),
	ENTRY_FAIL("guest_activity_hlt_injecting_soft_int",
		   guest_activity_hlt_soft_int, 0,
		   "act == GUEST_ACTIVITY_HLT && inj_valid && inj_type != "
		   "INTR_TYPE_EXT_INTR && inj_type != INTR_TYPE_NMI_INTR && "
		   "inj_type != INTR_TYPE_OTHER_EVENT && !(inj_type == "
		   "INTR_TYPE_HARD_EXCEPTION && (inj_vec == DB_VECTOR || "
		   "inj_vec == MC_VECTOR))"),
	ENTRY_FAIL("guest_injected_nmi_with_nmi_blocking",
		   guest_nmi_injected_nmi_blocked, 0,
		   "inj_valid && inj_type == INTR_TYPE_NMI_INTR && (intr & "
		   "GUEST_INTR_STATE_NMI)"),
	ENTRY_FAIL(
		"guest_sti_blocking_with_if_clear", guest_sti_if, 0,
		"!(rflags & X86_EFLAGS_IF) && (intr & GUEST_INTR_STATE_STI)"),
	ENTRY_FAIL("guest_pending_dbg_reserved_bit", guest_pending_dbg, 0,
		   "v->guest_pending_dbg_exceptions & "
		   "PENDING_DBG_RESERVED_MASK"),
	ENTRY_FAIL("seg_tr_ti", seg_tr_ti, 0, "v->guest_tr_selector & SEL_TI"),
	ENTRY_FAIL("seg_ldtr_ti", seg_ldtr_ti, 0,
		   "usable(ldtr) && (v->guest_ldtr_selector & SEL_TI)"),
	ENTRY_FAIL(
		"seg_ss_rpl", seg_ss_rpl, 0,
		"!ug && (v->guest_ss_selector & SEL_RPL_MASK) != (v->guest_cs_selector & SEL_RPL_MASK)"),
	ENTRY_FAIL("seg_tr_base", seg_tr_base, 0,
		   "!canonical(v->guest_tr_base)"),
	ENTRY_FAIL("seg_fs_base", seg_fs_base, 0,
		   "!canonical(v->guest_fs_base)"),
	ENTRY_FAIL("seg_gs_base", seg_gs_base, 0,
		   "!canonical(v->guest_gs_base)"),
	ENTRY_FAIL("seg_ldtr_base", seg_ldtr_base, 0,
		   "usable(ldtr) && !canonical(v->guest_ldtr_base)"),
	ENTRY_FAIL("seg_cs_base", seg_cs_base, 0, "v->guest_cs_base >> 32"),
	ENTRY_FAIL("seg_ss_base", seg_ss_base, 0,
		   "usable(ss) && (v->guest_ss_base >> 32)"),
	ENTRY_FAIL("seg_ds_base", seg_ds_base, 0,
		   "usable(v->guest_ds_ar_bytes) && (v->guest_ds_base >> 32)"),
	ENTRY_FAIL("seg_es_base", seg_es_base, 0,
		   "usable(v->guest_es_ar_bytes) && (v->guest_es_base >> 32)"),
	ENTRY_FAIL(
		"seg_cs_type", seg_cs_type, 0,
		"cs_type != 9 && cs_type != 11 && cs_type != 13 && cs_type != 15 && !(ug && cs_type == 3)"),
	ENTRY_FAIL("seg_cs_s", seg_cs_s, 0, "!(cs & VMX_AR_S_MASK)"),
	ENTRY_FAIL(
		"seg_cs_dpl", seg_cs_dpl, 0,
		"(cs_type == 9 || cs_type == 11) && VMX_AR_DPL(cs) != VMX_AR_DPL(ss)"),
	ENTRY_FAIL(
		"seg_cs_conf_dpl", seg_cs_conf_dpl, 0,
		"(cs_type == 13 || cs_type == 15) && VMX_AR_DPL(cs) > VMX_AR_DPL(ss)"),
	ENTRY_FAIL("seg_cs_p", seg_cs_p, 0, "!(cs & VMX_AR_P_MASK)"),
	ENTRY_FAIL("seg_cs_rsvd", seg_cs_rsvd, 0, "cs & VMX_AR_RESERVED_MASK"),
	ENTRY_FAIL("seg_cs_l_d", seg_cs_l_d, 0,
		   "ia32e && (cs & VMX_AR_L_MASK) && (cs & VMX_AR_DB_MASK)"),
	ENTRY_FAIL("seg_cs_limit", seg_cs_limit, 0,
		   "limit_g_bad(v->guest_cs_limit, cs)"),
	ENTRY_FAIL("seg_ss_type", seg_ss_type, 0,
		   "ar_type(ss) != 3 && ar_type(ss) != 7"),
	ENTRY_FAIL("seg_ss_s", seg_ss_s, 0, "!(ss & VMX_AR_S_MASK)"),
	ENTRY_FAIL("seg_ss_p", seg_ss_p, 0, "!(ss & VMX_AR_P_MASK)"),
	ENTRY_FAIL("seg_ss_rsvd", seg_ss_rsvd, 0, "ss & VMX_AR_RESERVED_MASK"),
	ENTRY_FAIL("seg_ss_limit", seg_ss_limit, 0,
		   "limit_g_bad(v->guest_ss_limit, ss)"),
	ENTRY_FAIL(
		"seg_ss_dpl", seg_ss_dpl, 0,
		"!ug && VMX_AR_DPL(ss) != (v->guest_ss_selector & SEL_RPL_MASK)"),
	ENTRY_FAIL("seg_ds_accessed", seg_ds_accessed, 0,
		   "!(ar_type(v->guest_ds_ar_bytes) & SEG_TYPE_ACCESSED)"),
	ENTRY_FAIL(
		"seg_es_code_xo", seg_es_code_xo, 0,
		"(ar_type(v->guest_es_ar_bytes) & SEG_TYPE_CODE) && !(ar_type(v->guest_es_ar_bytes) & SEG_TYPE_READABLE)"),
	ENTRY_FAIL("seg_fs_s", seg_fs_s, 0,
		   "!(v->guest_fs_ar_bytes & VMX_AR_S_MASK)"),
	ENTRY_FAIL(
		"seg_gs_dpl", seg_gs_dpl, 0,
		"!ug && ar_type(v->guest_gs_ar_bytes) <= 11 && VMX_AR_DPL(v->guest_gs_ar_bytes) < (v->guest_gs_selector & SEL_RPL_MASK)"),
	ENTRY_FAIL("seg_ds_p", seg_ds_p, 0,
		   "!(v->guest_ds_ar_bytes & VMX_AR_P_MASK)"),
	ENTRY_FAIL("seg_es_rsvd", seg_es_rsvd, 0,
		   "v->guest_es_ar_bytes & VMX_AR_RESERVED_MASK"),
	ENTRY_FAIL("seg_fs_limit", seg_fs_limit, 0,
		   "limit_g_bad(v->guest_fs_limit, v->guest_fs_ar_bytes)"),
	ENTRY_FAIL(
		"seg_tr_type", seg_tr_type, 0,
		"ar_type(tr) != SEG_TYPE_TSS64_BUSY && (ia32e || ar_type(tr) != 3)"),
	ENTRY_FAIL("seg_tr_s", seg_tr_s, 0, "tr & VMX_AR_S_MASK"),
	ENTRY_FAIL("seg_tr_p", seg_tr_p, 0, "!(tr & VMX_AR_P_MASK)"),
	ENTRY_FAIL("seg_tr_rsvd", seg_tr_rsvd, 0, "tr & VMX_AR_RESERVED_MASK"),
	ENTRY_FAIL("seg_tr_limit", seg_tr_limit, 0,
		   "limit_g_bad(v->guest_tr_limit, tr)"),
	ENTRY_FAIL("seg_tr_unusable", seg_tr_unusable, 0, "!usable(tr)"),
	ENTRY_FAIL("seg_ldtr_type", seg_ldtr_type, 0,
		   "ar_type(ldtr) != SEG_TYPE_LDT"),
	ENTRY_FAIL("seg_ldtr_s", seg_ldtr_s, 0, "ldtr & VMX_AR_S_MASK"),
	ENTRY_FAIL("seg_ldtr_p", seg_ldtr_p, 0, "!(ldtr & VMX_AR_P_MASK)"),
	ENTRY_FAIL("seg_ldtr_rsvd", seg_ldtr_rsvd, 0,
		   "ldtr & VMX_AR_RESERVED_MASK"),
	ENTRY_FAIL("seg_ldtr_limit", seg_ldtr_limit, 0,
		   "limit_g_bad(v->guest_ldtr_limit, ldtr)"),
	ENTRY_FAIL("gdtr_base", gdtr_base, 0, "!canonical(v->guest_gdtr_base)"),
	ENTRY_FAIL("idtr_base", idtr_base, 0, "!canonical(v->guest_idtr_base)"),
	ENTRY_FAIL("gdtr_limit", gdtr_limit, 0, "v->guest_gdtr_limit >> 16"),
	ENTRY_FAIL("idtr_limit", idtr_limit, 0, "v->guest_idtr_limit >> 16"),
	ENTRY_FAIL(
		"rip_high_compat", rip_high_compat, 0,
		"(!ia32e || !(v->guest_cs_ar_bytes & VMX_AR_L_MASK)) && (v->guest_rip >> 32)"),
	ENTRY_FAIL(
		"rip_noncanonical", rip_noncanonical, 0,
		"ia32e && (v->guest_cs_ar_bytes & VMX_AR_L_MASK) && !canonical(v->guest_rip)"),
	ENTRY_FAIL("guest_enclave_intr", guest_enclave_intr, 0,
		   "intr & GUEST_INTR_STATE_ENCLAVE_INTR"),
	ENTRY_FAIL("guest_link_pointer_unaligned", guest_link, 4,
		   "v->vmcs_link_pointer & 0xfff"),
	ENTRY_FAIL("guest_link_pointer_beyond_width", guest_link_width, 4,
		   "beyond_maxphy(v->vmcs_link_pointer)"),
};

/* Breaks exactly one rule of the valid vmcs12: the outcome and the check
 * that fired are the case's. */
static void run_check_case(void **state)
{
	struct fixture *f = *state;
	const struct check_case *c = f->c;
	struct vmcs12_check out;

	c->breaks(&f->v);
	vmcs_merge_check_vmcs12(&f->v, &f->caps, MAXPHYADDR, &out);
	assert_int_equal(out.result, c->result);
	assert_int_equal(out.error, c->error);
	assert_int_equal(out.qual, c->qual);
	assert_int_equal(out.exit_reason, c->result == VMCS12_CHECK_ENTRY_FAIL
						  ? EXIT_REASON_INVALID_STATE
						  : 0);
	assert_non_null(out.check);
	assert_string_equal(out.check, c->check);
}

/* ---- the merge on the model's VMCSs ------------------------------------------------ */

static const struct vmcs_l0_host l0_host = {
	.cr0 = BOOT_CR0,
	.cr4 = X86_CR4_PAE | X86_CR4_VMXE,
	.efer = BOOT_EFER,
	.pat = X86_RESET_PAT,
	.cs = 0x08,
	.ss = 0x10,
	.ds = 0x10,
	.es = 0x10,
	.tr = 0x20,
	.rip = 0xffffffff81000000ull,
};

static void config(struct vmcs02_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->exit_ctls = VMX_EXIT_DEFAULT1 | VM_EXIT_HOST_ADDR_SPACE_SIZE |
			 VM_EXIT_SAVE_IA32_EFER | VM_EXIT_LOAD_IA32_EFER |
			 VM_EXIT_SAVE_IA32_PAT | VM_EXIT_LOAD_IA32_PAT;
	cfg->entry_ctls = VMX_ENTRY_DEFAULT1 | VM_ENTRY_LOAD_IA32_EFER |
			  VM_ENTRY_LOAD_IA32_PAT | VM_ENTRY_LOAD_DEBUG_CONTROLS;
	cfg->pin_must1 = VMX_PIN_BASED_DEFAULT1;
	cfg->cr0_mask = X86_CR0_PE | X86_CR0_NE | X86_CR0_PG;
	cfg->cr4_mask = X86_CR4_VMXE;
	cfg->eptp = vmx_build_eptp(0x7000, 4, false);
	cfg->tsc_offset = 1000;
	cfg->l1_efer = BOOT_EFER;
	cfg->l1_pat = X86_RESET_PAT;
	cfg->l1_dr7 = 0x400;
	cfg->host = &l0_host;
}

/* "dirty" preparation: everything is 100 VMWRITEs, the hot part alone 21;
 * with nothing dirty the controls and rare guest fields keep what the
 * last full preparation wrote, while a hot field follows vmcs12. */
static void test_prepare_vmcs02_parts__hot_only_writes_21_of_100(void **state)
{
	struct fixture *f = *state;
	struct vmcs02_config cfg;
	struct vmcs12 *v = &f->v;
	uint64_t writes = 0;

	vmx_on(f);
	config(&cfg);
	assert_int_equal(vmcs_merge_prepare_vmcs02_parts(
				 f->cpu, v, &cfg, VMCS02_DIRTY_ALL, &writes),
			 0);
	assert_int_equal(writes, 100);
	v->exception_bitmap = 1u << UD_VECTOR;
	v->guest_gdtr_limit = 0x77;
	v->guest_rip = L2_RIP + 0x40;
	writes = 0;
	assert_int_equal(
		vmcs_merge_prepare_vmcs02_parts(f->cpu, v, &cfg, 0, &writes),
		0);
	assert_int_equal(writes, 21);
	assert_int_equal(rd(f, EXCEPTION_BITMAP), 0);
	assert_int_not_equal(rd(f, GUEST_GDTR_LIMIT), 0x77);
	assert_int_equal(rd(f, GUEST_RIP), L2_RIP + 0x40);
	writes = 0;
	assert_int_equal(vmcs_merge_prepare_vmcs02_parts(
				 f->cpu, v, &cfg,
				 VMCS02_DIRTY_CLASS(VMCS_SYNC_CTRL_RARE) |
					 VMCS02_DIRTY_CLASS(VMCS_SYNC_RARE),
				 &writes),
			 0);
	assert_int_equal(writes, 78);
	assert_int_equal(rd(f, EXCEPTION_BITMAP), 1u << UD_VECTOR);
	assert_int_equal(rd(f, GUEST_GDTR_LIMIT), 0x77);
}

/* Controls are "what L0 needs | what L1 asked for": every port and MSR
 * access exits to L0 (no bitmaps), EPT is always on with L0's pointer,
 * CR masks are ORed, the read shadow shows L1's guest value where only L0
 * owns a bit, TSC offsets add up, event injection is L1's. */
static void
test_prepare_vmcs02__merges_controls_masks_shadows_offsets(void **state)
{
	struct fixture *f = *state;
	struct vmcs02_config cfg;
	struct vmcs12 *v = &f->v;

	vmx_on(f);
	config(&cfg);
	v->cpu_based_vm_exec_control |= CPU_BASED_USE_IO_BITMAPS |
					CPU_BASED_USE_MSR_BITMAPS |
					CPU_BASED_USE_TSC_OFFSETTING;
	v->secondary_vm_exec_control = SECONDARY_EXEC_ENABLE_VPID;
	v->virtual_processor_id = 7;
	v->tsc_offset = 234;
	v->cr0_guest_host_mask = X86_CR0_TS;
	v->cr0_read_shadow = X86_CR0_TS;
	v->guest_cr0 = BOOT_CR0;
	v->cr4_guest_host_mask = 0;
	v->exception_bitmap = 1u << UD_VECTOR;
	v->vm_entry_intr_info_field =
		vmx_build_intr_info(GP_VECTOR, INTR_TYPE_HARD_EXCEPTION, true);
	v->vm_entry_exception_error_code = 0x18;

	assert_int_equal(vmcs_merge_prepare_vmcs02(f->cpu, v, &cfg), 0);
	assert_int_equal(
		rd(f, CPU_BASED_VM_EXEC_CONTROL) &
			(CPU_BASED_USE_IO_BITMAPS | CPU_BASED_USE_MSR_BITMAPS |
			 CPU_BASED_UNCOND_IO_EXITING | CPU_BASED_HLT_EXITING),
		CPU_BASED_UNCOND_IO_EXITING | CPU_BASED_HLT_EXITING);
	assert_int_equal(rd(f, SECONDARY_VM_EXEC_CONTROL),
			 SECONDARY_EXEC_ENABLE_EPT);
	assert_int_equal(rd(f, EPT_POINTER), cfg.eptp);
	assert_int_equal(rd(f, TSC_OFFSET), 1234);
	assert_int_equal(rd(f, CR0_GUEST_HOST_MASK),
			 X86_CR0_TS | X86_CR0_PE | X86_CR0_NE | X86_CR0_PG);
	/* TS from L1's shadow; PE, NE, PG from L1's guest CR0. */
	assert_int_equal(rd(f, CR0_READ_SHADOW) & (X86_CR0_TS | X86_CR0_PE |
						   X86_CR0_NE | X86_CR0_PG),
			 X86_CR0_TS | X86_CR0_PE | X86_CR0_NE | X86_CR0_PG);
	/* L1 leaves CR4 alone: VMXE is L0's alone, and L2 reads L1's guest
	 * value of it. */
	assert_int_equal(rd(f, CR4_GUEST_HOST_MASK), X86_CR4_VMXE);
	assert_int_equal(rd(f, CR4_READ_SHADOW), BOOT_CR4 | X86_CR4_VMXE);
	assert_int_equal(rd(f, EXCEPTION_BITMAP), 1u << UD_VECTOR);
	assert_int_equal(rd(f, VM_ENTRY_INTR_INFO_FIELD),
			 v->vm_entry_intr_info_field);
	assert_int_equal(rd(f, VM_ENTRY_EXCEPTION_ERROR_CODE), 0x18);
	assert_int_equal(rd(f, GUEST_RIP), L2_RIP);
	assert_int_equal(rd(f, GUEST_IA32_PAT), X86_RESET_PAT);
	assert_int_equal(rd(f, VMCS_LINK_POINTER), ~0ull);
	assert_int_equal(rd(f, HOST_RIP), l0_host.rip);
}

/* A reflected exit: L2's state as the processor saved it in vmcs02, the
 * bits only L0 owns as L2 believes them (the shadow), the exit
 * information, and the entry event's valid bit cleared (SDM 28.2, 28.3). */
static void
test_sync_vmcs02_to_vmcs12__saves_state_exit_info_clears_event(void **state)
{
	struct fixture *f = *state;
	struct vmcs02_config cfg;
	struct vmcs12 *v = &f->v;
	struct nested_exit_info e = {
		.reason = EXIT_REASON_CPUID,
		.insn_len = 2,
		.idt_vectoring_info = 0,
	};

	vmx_on(f);
	config(&cfg);
	v->vm_entry_intr_info_field =
		vmx_build_intr_info(UD_VECTOR, INTR_TYPE_HARD_EXCEPTION, false);
	assert_int_equal(vmcs_merge_prepare_vmcs02(f->cpu, v, &cfg), 0);
	wr(f, GUEST_RIP, L2_RIP + 0x10);
	wr(f, GUEST_RSP, L2_RSP - 8);
	wr(f, GUEST_RFLAGS, X86_EFLAGS_FIXED | X86_EFLAGS_ZF);
	wr(f, GUEST_IA32_EFER, BOOT_EFER & ~EFER_NX);
	/* L0 owns PE, NE, PG: the processor's value has them, L2's does not
	 * matter here; the shadow says what L2 believes. */
	wr(f, CR0_READ_SHADOW, BOOT_CR0 & ~(uint64_t)X86_CR0_NE);

	vmcs_merge_sync_vmcs02_to_vmcs12(f->cpu, v, &cfg, &e);
	assert_int_equal(v->guest_rip, L2_RIP + 0x10);
	assert_int_equal(v->guest_rsp, L2_RSP - 8);
	assert_int_equal(v->guest_rflags, X86_EFLAGS_FIXED | X86_EFLAGS_ZF);
	assert_int_equal(v->guest_ia32_efer, BOOT_EFER & ~EFER_NX);
	/* NE: L1 masks it too (the fixture's mask), so the processor's. */
	assert_int_equal(v->guest_cr0, BOOT_CR0);
	assert_int_equal(v->vm_exit_reason, EXIT_REASON_CPUID);
	assert_int_equal(v->vm_exit_instruction_len, 2);
	assert_int_equal(v->vm_entry_intr_info_field,
			 UD_VECTOR | INTR_TYPE_HARD_EXCEPTION);
	assert_int_equal(v->vm_entry_controls & VM_ENTRY_IA32E_MODE,
			 VM_ENTRY_IA32E_MODE);
}

/* CR0 bits only L0 owns go back to L1 as the vmcs02 read shadow has
 * them. */
static void
test_sync_vmcs02_to_vmcs12__l0_only_cr0_bit_comes_from_shadow(void **state)
{
	struct fixture *f = *state;
	struct vmcs02_config cfg;
	struct vmcs12 *v = &f->v;
	struct nested_exit_info e = { .reason = EXIT_REASON_CPUID };

	vmx_on(f);
	config(&cfg);
	v->cr0_guest_host_mask = 0;
	assert_int_equal(vmcs_merge_prepare_vmcs02(f->cpu, v, &cfg), 0);
	wr(f, CR0_READ_SHADOW, BOOT_CR0 & ~(uint64_t)X86_CR0_NE);
	vmcs_merge_sync_vmcs02_to_vmcs12(f->cpu, v, &cfg, &e);
	assert_int_equal(v->guest_cr0, BOOT_CR0 & ~(uint64_t)X86_CR0_NE);
}

/* SDM 28.5: vmcs12's host state becomes L1's state: flat 64-bit segments
 * from the selectors, TR busy with limit 0x67, GDTR/IDTR limits 0xffff,
 * RFLAGS 0x2, DR7 0x400, RIP/RSP; CR4 keeps VMXE, the shadows L1's view. */
static void
test_load_l1_host_state__loads_vmcs12_host_state_into_vmcs01(void **state)
{
	struct fixture *f = *state;
	struct vmcs12 *v = &f->v;

	vmx_on(f);
	wr(f, VM_ENTRY_CONTROLS, VMX_ENTRY_DEFAULT1);
	wr(f, GUEST_IA32_EFER, 0);
	assert_int_equal(vmcs_merge_load_l1_host_state(f->cpu, v, X86_CR4_VMXE),
			 0);
	assert_int_equal(rd(f, GUEST_RIP), L1_HOST_RIP);
	assert_int_equal(rd(f, GUEST_RSP), L1_HOST_RSP);
	assert_int_equal(rd(f, GUEST_RFLAGS), X86_EFLAGS_FIXED);
	assert_int_equal(rd(f, GUEST_CR0), BOOT_CR0);
	assert_int_equal(rd(f, GUEST_CR4), BOOT_CR4 | X86_CR4_VMXE);
	assert_int_equal(rd(f, CR4_READ_SHADOW), BOOT_CR4 | X86_CR4_VMXE);
	assert_int_equal(rd(f, GUEST_CR3), BOOT_PML4);
	assert_int_equal(rd(f, GUEST_DR7), 0x400);
	assert_int_equal(rd(f, GUEST_IA32_EFER), BOOT_EFER);
	assert_int_equal(rd(f, GUEST_CS_SELECTOR), BOOT_SEL_CODE64);
	/* P, S, type 11, L, G: a 64-bit code segment. */
	assert_int_equal(rd(f, GUEST_CS_AR_BYTES), 0xa09b);
	assert_int_equal(rd(f, GUEST_SS_AR_BYTES), 0xc093);
	assert_int_equal(rd(f, GUEST_TR_AR_BYTES), 0x8b);
	assert_int_equal(rd(f, GUEST_TR_LIMIT), 0x67);
	assert_int_equal(rd(f, GUEST_TR_BASE), BOOT_TSS);
	assert_int_equal(rd(f, GUEST_LDTR_AR_BYTES), VMX_AR_UNUSABLE_MASK);
	assert_int_equal(rd(f, GUEST_GDTR_BASE), BOOT_GDT);
	assert_int_equal(rd(f, GUEST_GDTR_LIMIT), 0xffff);
	assert_int_equal(rd(f, GUEST_IDTR_LIMIT), 0xffff);
	assert_int_equal(rd(f, VM_ENTRY_CONTROLS) & VM_ENTRY_IA32E_MODE,
			 VM_ENTRY_IA32E_MODE);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_caps__vmx_basic_reports_vmcs12_revision_and_true_ctls),
		T(test_caps__every_control_group_is_subset_of_processor),
		T(test_caps__offers_ept_hlt_io_msr_bitmaps_vmcs_shadowing),
		T(test_caps__every_offered_field_is_supported_by_processor),
		T(test_vmcs12_write_field__truncates_to_width_and_reads_back),
		T(test_vmcs12_read_field__unoffered_or_reserved_is_enoent),
		T(test_vmcs12_check__valid_vmcs12_passes),
		T(test_prepare_vmcs02__merges_controls_masks_shadows_offsets),
		T(test_prepare_vmcs02_parts__hot_only_writes_21_of_100),
		T(test_sync_vmcs02_to_vmcs12__saves_state_exit_info_clears_event),
		T(test_sync_vmcs02_to_vmcs12__l0_only_cr0_bit_comes_from_shadow),
		T(test_load_l1_host_state__loads_vmcs12_host_state_into_vmcs01),
	};
#undef T
	enum { NR_CHECKS = sizeof(check_cases) / sizeof(check_cases[0]) };
	struct CMUnitTest checks[NR_CHECKS];
	int failed;

	/* One test per check, named by its case. */
	for (size_t i = 0; i < NR_CHECKS; i++)
		checks[i] = (struct CMUnitTest){
			.name = check_cases[i].name,
			.test_func = run_check_case,
			.setup_func = setup,
			.teardown_func = teardown,
			.initial_state = (void *)&check_cases[i],
		};
	failed = cmocka_run_group_tests_name("vmcs_merge", tests, NULL, NULL);
	failed += _cmocka_run_group_tests("vmcs12_checks", checks, NR_CHECKS,
					  NULL, NULL);
	return failed;
}
