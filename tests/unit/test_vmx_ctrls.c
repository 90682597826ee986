// SPDX-License-Identifier: MIT
/*
 * Unit tests of arch/vmx_ctrls.def and the control-bit constants, default1
 * masks and names generated from it (arch/vmcs.h, arch/vmx_tables.c),
 * against each other and against the bit positions of SDM Vol. 3C 25.6.1,
 * 25.6.2, 25.7.1, 25.8.1 and the default1 bits of Appendix A.3-A.5. Host
 * side.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "arch/vmcs.h"

/* arch/vmcs.h first this time: the uapi header must not clash with it. */
#include <asm/vmx.h>

struct ctrl {
	enum vmx_ctrl_group group;
	const char *name; /* the full constant, "CPU_BASED_HLT_EXITING" */
	unsigned int bit;
	uint64_t mask; /* the generated enumerator */
};

#define STR_(s) #s
#define STR(s) STR_(s)

static const struct ctrl all_ctrls[] = {
#define VMX_CTRL(group, name, bit)                                          \
	{ VMX_CTRL_GROUP_##group, STR(VMX_CTRL_CONST_##group(name)), (bit), \
	  (uint64_t)VMX_CTRL_CONST_##group(name) },
#include "arch/vmx_ctrls.def"
#undef VMX_CTRL
};

#define N_CTRLS ARRAY_SIZE(all_ctrls)

static void test_vmx_ctrls__group_counts_match_sdm_tables(void **state)
{
	/* defined bits per group; update on purpose when the SDM grows */
	static const unsigned int expected[VMX_NR_CTRL_GROUPS] = {
		[VMX_CTRL_GROUP_PIN] = 5,    [VMX_CTRL_GROUP_PROC] = 22,
		[VMX_CTRL_GROUP_PROC2] = 31, [VMX_CTRL_GROUP_PROC3] = 8,
		[VMX_CTRL_GROUP_EXIT] = 18,  [VMX_CTRL_GROUP_EXIT2] = 4,
		[VMX_CTRL_GROUP_ENTRY] = 16,
	};
	unsigned int count[VMX_NR_CTRL_GROUPS] = { 0 };

	(void)state;
	for (size_t i = 0; i < N_CTRLS; i++)
		count[all_ctrls[i].group]++;
	for (int g = 0; g < VMX_NR_CTRL_GROUPS; g++)
		assert_int_equal(count[g], expected[g]);
}

static void test_vmx_ctrls__no_two_controls_of_a_group_share_a_bit(void **state)
{
	(void)state;
	for (size_t i = 0; i < N_CTRLS; i++) {
		for (size_t j = i + 1; j < N_CTRLS; j++) {
			if (all_ctrls[i].group == all_ctrls[j].group &&
			    all_ctrls[i].bit == all_ctrls[j].bit)
				fail_msg("%s and %s share bit %u",
					 all_ctrls[i].name, all_ctrls[j].name,
					 all_ctrls[i].bit);
			if (!strcmp(all_ctrls[i].name, all_ctrls[j].name))
				fail_msg("%s twice", all_ctrls[i].name);
		}
	}
}

static void test_vmx_ctrls__bits_fit_the_width_of_their_field(void **state)
{
	(void)state;
	for (size_t i = 0; i < N_CTRLS; i++) {
		enum vmx_ctrl_group g = all_ctrls[i].group;
		unsigned int limit =
			g == VMX_CTRL_GROUP_PROC3 || g == VMX_CTRL_GROUP_EXIT2
				? 64
				: 32;

		assert_int_equal(vmx_ctrl_group_bits(g), limit);
		if (all_ctrls[i].bit >= limit)
			fail_msg("%s: bit %u", all_ctrls[i].name,
				 all_ctrls[i].bit);
	}
}

static void test_vmx_ctrls__mask_is_one_shifted_by_bit(void **state)
{
	(void)state;
	for (size_t i = 0; i < N_CTRLS; i++)
		assert_int_equal(all_ctrls[i].mask, 1ull << all_ctrls[i].bit);
	/* bit 31 of a 32-bit group must not sign-extend */
	assert_int_equal((uint64_t)CPU_BASED_ACTIVATE_SECONDARY_CONTROLS,
			 0x80000000ull);
	assert_int_equal((uint64_t)SECONDARY_EXEC_NOTIFY_VM_EXITING,
			 0x80000000ull);
}

static void test_vmx_ctrls__name_lookup_round_trips(void **state)
{
	(void)state;
	for (size_t i = 0; i < N_CTRLS; i++) {
		const char *name =
			vmx_ctrl_name(all_ctrls[i].group, all_ctrls[i].bit);

		assert_non_null(name);
		assert_string_equal(name, all_ctrls[i].name);
	}
}

static void test_vmx_ctrls__reserved_or_bad_bits_have_no_name(void **state)
{
	(void)state;
	assert_null(vmx_ctrl_name(VMX_CTRL_GROUP_PIN, 1));
	assert_null(vmx_ctrl_name(VMX_CTRL_GROUP_PIN, 4));
	assert_null(vmx_ctrl_name(VMX_CTRL_GROUP_PROC, 0));
	assert_null(vmx_ctrl_name(VMX_CTRL_GROUP_PROC, 18));
	assert_null(vmx_ctrl_name(VMX_CTRL_GROUP_PROC, 26));
	assert_null(vmx_ctrl_name(VMX_CTRL_GROUP_PROC2, 29));
	assert_null(vmx_ctrl_name(VMX_CTRL_GROUP_PROC3, 5));
	assert_null(vmx_ctrl_name(VMX_CTRL_GROUP_PROC3, 63));
	assert_null(vmx_ctrl_name(VMX_CTRL_GROUP_EXIT, 0));
	assert_null(vmx_ctrl_name(VMX_CTRL_GROUP_ENTRY, 12));
	/* out of range of the field, or no such group */
	assert_null(vmx_ctrl_name(VMX_CTRL_GROUP_PROC, 32));
	assert_null(vmx_ctrl_name(VMX_CTRL_GROUP_PROC3, 64));
	assert_null(vmx_ctrl_name(VMX_NR_CTRL_GROUPS, 0));
}

/*
 * Bit positions quoted from the SDM's control tables: 25.6.1 pin-based,
 * 25.6.2 primary, secondary and tertiary processor-based, 25.7.1 primary
 * and secondary VM-exit, 25.8.1 VM-entry controls. The masks are typed
 * out, not computed.
 */
static const struct {
	enum vmx_ctrl_group group;
	unsigned int bit;
	const char *name;
	uint64_t mask;
} sdm_bits[] = {
	/* external-interrupt exiting; NMI exiting; virtual NMIs; activate
	 * VMX-preemption timer; process posted interrupts */
	{ VMX_CTRL_GROUP_PIN, 0, "PIN_BASED_EXT_INTR_MASK", 0x1 },
	{ VMX_CTRL_GROUP_PIN, 3, "PIN_BASED_NMI_EXITING", 0x8 },
	{ VMX_CTRL_GROUP_PIN, 5, "PIN_BASED_VIRTUAL_NMIS", 0x20 },
	{ VMX_CTRL_GROUP_PIN, 6, "PIN_BASED_VMX_PREEMPTION_TIMER", 0x40 },
	{ VMX_CTRL_GROUP_PIN, 7, "PIN_BASED_POSTED_INTR", 0x80 },
	/* interrupt-window exiting; use TSC offsetting; HLT exiting; INVLPG
	 * exiting; RDTSC exiting; CR3-load exiting; activate tertiary
	 * controls; use TPR shadow; NMI-window exiting; MOV-DR exiting;
	 * use I/O bitmaps; monitor trap flag; use MSR bitmaps; PAUSE
	 * exiting; activate secondary controls */
	{ VMX_CTRL_GROUP_PROC, 2, "CPU_BASED_INTR_WINDOW_EXITING", 0x4 },
	{ VMX_CTRL_GROUP_PROC, 3, "CPU_BASED_USE_TSC_OFFSETTING", 0x8 },
	{ VMX_CTRL_GROUP_PROC, 7, "CPU_BASED_HLT_EXITING", 0x80 },
	{ VMX_CTRL_GROUP_PROC, 9, "CPU_BASED_INVLPG_EXITING", 0x200 },
	{ VMX_CTRL_GROUP_PROC, 12, "CPU_BASED_RDTSC_EXITING", 0x1000 },
	{ VMX_CTRL_GROUP_PROC, 15, "CPU_BASED_CR3_LOAD_EXITING", 0x8000 },
	{ VMX_CTRL_GROUP_PROC, 17, "CPU_BASED_ACTIVATE_TERTIARY_CONTROLS",
	  0x20000 },
	{ VMX_CTRL_GROUP_PROC, 21, "CPU_BASED_TPR_SHADOW", 0x200000 },
	{ VMX_CTRL_GROUP_PROC, 22, "CPU_BASED_NMI_WINDOW_EXITING", 0x400000 },
	{ VMX_CTRL_GROUP_PROC, 23, "CPU_BASED_MOV_DR_EXITING", 0x800000 },
	{ VMX_CTRL_GROUP_PROC, 25, "CPU_BASED_USE_IO_BITMAPS", 0x2000000 },
	{ VMX_CTRL_GROUP_PROC, 27, "CPU_BASED_MONITOR_TRAP_FLAG", 0x8000000 },
	{ VMX_CTRL_GROUP_PROC, 28, "CPU_BASED_USE_MSR_BITMAPS", 0x10000000 },
	{ VMX_CTRL_GROUP_PROC, 30, "CPU_BASED_PAUSE_EXITING", 0x40000000 },
	{ VMX_CTRL_GROUP_PROC, 31, "CPU_BASED_ACTIVATE_SECONDARY_CONTROLS",
	  0x80000000 },
	/* virtualize APIC accesses; enable EPT; descriptor-table exiting;
	 * enable VPID; unrestricted guest; virtual-interrupt delivery; VMCS
	 * shadowing; enable PML; EPT-violation #VE; mode-based execute
	 * control for EPT; use TSC scaling; VMM bus-lock detection;
	 * instruction-timeout exiting */
	{ VMX_CTRL_GROUP_PROC2, 0, "SECONDARY_EXEC_VIRTUALIZE_APIC_ACCESSES",
	  0x1 },
	{ VMX_CTRL_GROUP_PROC2, 1, "SECONDARY_EXEC_ENABLE_EPT", 0x2 },
	{ VMX_CTRL_GROUP_PROC2, 2, "SECONDARY_EXEC_DESC", 0x4 },
	{ VMX_CTRL_GROUP_PROC2, 5, "SECONDARY_EXEC_ENABLE_VPID", 0x20 },
	{ VMX_CTRL_GROUP_PROC2, 7, "SECONDARY_EXEC_UNRESTRICTED_GUEST", 0x80 },
	{ VMX_CTRL_GROUP_PROC2, 9, "SECONDARY_EXEC_VIRTUAL_INTR_DELIVERY",
	  0x200 },
	{ VMX_CTRL_GROUP_PROC2, 14, "SECONDARY_EXEC_SHADOW_VMCS", 0x4000 },
	{ VMX_CTRL_GROUP_PROC2, 17, "SECONDARY_EXEC_ENABLE_PML", 0x20000 },
	{ VMX_CTRL_GROUP_PROC2, 18, "SECONDARY_EXEC_EPT_VIOLATION_VE",
	  0x40000 },
	{ VMX_CTRL_GROUP_PROC2, 22, "SECONDARY_EXEC_MODE_BASED_EPT_EXEC",
	  0x400000 },
	{ VMX_CTRL_GROUP_PROC2, 25, "SECONDARY_EXEC_TSC_SCALING", 0x2000000 },
	{ VMX_CTRL_GROUP_PROC2, 30, "SECONDARY_EXEC_BUS_LOCK_DETECTION",
	  0x40000000 },
	{ VMX_CTRL_GROUP_PROC2, 31, "SECONDARY_EXEC_NOTIFY_VM_EXITING",
	  0x80000000 },
	/* LOADIWKEY exiting; enable HLAT; IPI virtualization; enable MSR-list
	 * instructions; virtualize IA32_SPEC_CTRL */
	{ VMX_CTRL_GROUP_PROC3, 0, "TERTIARY_EXEC_LOADIWKEY_EXITING", 0x1 },
	{ VMX_CTRL_GROUP_PROC3, 1, "TERTIARY_EXEC_ENABLE_HLAT", 0x2 },
	{ VMX_CTRL_GROUP_PROC3, 4, "TERTIARY_EXEC_IPI_VIRT", 0x10 },
	{ VMX_CTRL_GROUP_PROC3, 6, "TERTIARY_EXEC_ENABLE_MSR_LIST", 0x40 },
	{ VMX_CTRL_GROUP_PROC3, 7, "TERTIARY_EXEC_SPEC_CTRL_VIRT", 0x80 },
	/* save debug controls; host address-space size; acknowledge
	 * interrupt on exit; save/load IA32_EFER; save VMX-preemption timer
	 * value; load CET state; activate secondary controls */
	{ VMX_CTRL_GROUP_EXIT, 2, "VM_EXIT_SAVE_DEBUG_CONTROLS", 0x4 },
	{ VMX_CTRL_GROUP_EXIT, 9, "VM_EXIT_HOST_ADDR_SPACE_SIZE", 0x200 },
	{ VMX_CTRL_GROUP_EXIT, 15, "VM_EXIT_ACK_INTR_ON_EXIT", 0x8000 },
	{ VMX_CTRL_GROUP_EXIT, 20, "VM_EXIT_SAVE_IA32_EFER", 0x100000 },
	{ VMX_CTRL_GROUP_EXIT, 21, "VM_EXIT_LOAD_IA32_EFER", 0x200000 },
	{ VMX_CTRL_GROUP_EXIT, 22, "VM_EXIT_SAVE_VMX_PREEMPTION_TIMER",
	  0x400000 },
	{ VMX_CTRL_GROUP_EXIT, 28, "VM_EXIT_LOAD_CET_STATE", 0x10000000 },
	{ VMX_CTRL_GROUP_EXIT, 31, "VM_EXIT_ACTIVATE_SECONDARY_CONTROLS",
	  0x80000000 },
	/* save FRED; load FRED; prematurely busy shadow stack */
	{ VMX_CTRL_GROUP_EXIT2, 0, "SECONDARY_VM_EXIT_SAVE_IA32_FRED", 0x1 },
	{ VMX_CTRL_GROUP_EXIT2, 1, "SECONDARY_VM_EXIT_LOAD_IA32_FRED", 0x2 },
	{ VMX_CTRL_GROUP_EXIT2, 3, "SECONDARY_VM_EXIT_PREMATURELY_BUSY_SHSTK",
	  0x8 },
	/* load debug controls; IA-32e mode guest; entry to SMM; load
	 * IA32_PAT; load IA32_EFER; load CET state; load PKRS; load FRED */
	{ VMX_CTRL_GROUP_ENTRY, 2, "VM_ENTRY_LOAD_DEBUG_CONTROLS", 0x4 },
	{ VMX_CTRL_GROUP_ENTRY, 9, "VM_ENTRY_IA32E_MODE", 0x200 },
	{ VMX_CTRL_GROUP_ENTRY, 10, "VM_ENTRY_SMM", 0x400 },
	{ VMX_CTRL_GROUP_ENTRY, 14, "VM_ENTRY_LOAD_IA32_PAT", 0x4000 },
	{ VMX_CTRL_GROUP_ENTRY, 15, "VM_ENTRY_LOAD_IA32_EFER", 0x8000 },
	{ VMX_CTRL_GROUP_ENTRY, 20, "VM_ENTRY_LOAD_CET_STATE", 0x100000 },
	{ VMX_CTRL_GROUP_ENTRY, 22, "VM_ENTRY_LOAD_IA32_PKRS", 0x400000 },
	{ VMX_CTRL_GROUP_ENTRY, 23, "VM_ENTRY_LOAD_IA32_FRED", 0x800000 },
};

static void test_vmx_ctrls__sdm_bit_positions_match_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(sdm_bits); i++) {
		const char *name =
			vmx_ctrl_name(sdm_bits[i].group, sdm_bits[i].bit);
		bool found = false;

		if (!name || strcmp(name, sdm_bits[i].name))
			fail_msg("group %d bit %u: want %s, table has %s",
				 sdm_bits[i].group, sdm_bits[i].bit,
				 sdm_bits[i].name, name ? name : "nothing");
		for (size_t k = 0; k < N_CTRLS; k++) {
			if (strcmp(all_ctrls[k].name, sdm_bits[i].name))
				continue;
			assert_int_equal(all_ctrls[k].mask, sdm_bits[i].mask);
			found = true;
		}
		assert_true(found);
	}
	/* and a few enumerators directly, as the monitor will use them */
	assert_int_equal(CPU_BASED_HLT_EXITING, 0x80);
	assert_int_equal(SECONDARY_EXEC_ENABLE_EPT, 0x2);
	assert_int_equal(VM_EXIT_HOST_ADDR_SPACE_SIZE, 0x200);
	assert_int_equal(VM_ENTRY_IA32E_MODE, 0x200);
	assert_int_equal(TERTIARY_EXEC_IPI_VIRT, 0x10);
}

static uint32_t mask_of_bits(const unsigned int *bits, size_t n)
{
	uint32_t m = 0;

	for (size_t i = 0; i < n; i++)
		m |= 1u << bits[i];
	return m;
}

/* SDM A.3.1, A.3.2, A.4.1, A.5: the default1 bits, as bit lists. */
static void test_vmx_ctrls__default1_masks_match_appendix_a(void **state)
{
	static const unsigned int pin[] = { 1, 2, 4 };
	static const unsigned int proc[] = {
		1, 4, 5, 6, 8, 13, 14, 15, 16, 26
	};
	static const unsigned int exit_bits[] = { 0, 1,	 2,  3,	 4,  5,	 6, 7,
						  8, 10, 11, 13, 14, 16, 17 };
	static const unsigned int entry[] = { 0, 1, 2, 3, 4, 5, 6, 7, 8, 12 };

	(void)state;
	assert_int_equal(VMX_PIN_BASED_DEFAULT1,
			 mask_of_bits(pin, ARRAY_SIZE(pin)));
	assert_int_equal(VMX_CPU_BASED_DEFAULT1,
			 mask_of_bits(proc, ARRAY_SIZE(proc)));
	assert_int_equal(VMX_EXIT_DEFAULT1,
			 mask_of_bits(exit_bits, ARRAY_SIZE(exit_bits)));
	assert_int_equal(VMX_ENTRY_DEFAULT1,
			 mask_of_bits(entry, ARRAY_SIZE(entry)));
	/* the values KVM calls *_ALWAYSON_WITHOUT_TRUE_MSR */
	assert_int_equal(VMX_PIN_BASED_DEFAULT1, 0x16);
	assert_int_equal(VMX_CPU_BASED_DEFAULT1, 0x0401e172);
	assert_int_equal(VMX_EXIT_DEFAULT1, 0x00036dff);
	assert_int_equal(VMX_ENTRY_DEFAULT1, 0x000011ff);
}

static uint64_t defined_mask(enum vmx_ctrl_group g)
{
	uint64_t m = 0;

	for (size_t i = 0; i < N_CTRLS; i++) {
		if (all_ctrls[i].group == g)
			m |= all_ctrls[i].mask;
	}
	return m;
}

/*
 * Default1 bits are reserved, except the legacy controls that became
 * clearable with the TRUE capability MSRs (SDM A.2): CR3-load/store
 * exiting and save/load debug controls.
 */
static void test_vmx_ctrls__default1_overlaps_only_legacy_controls(void **state)
{
	(void)state;
	assert_int_equal(
		defined_mask(VMX_CTRL_GROUP_PIN) & VMX_PIN_BASED_DEFAULT1, 0);
	assert_int_equal(
		defined_mask(VMX_CTRL_GROUP_PROC) & VMX_CPU_BASED_DEFAULT1,
		CPU_BASED_CR3_LOAD_EXITING | CPU_BASED_CR3_STORE_EXITING);
	assert_int_equal(defined_mask(VMX_CTRL_GROUP_EXIT) & VMX_EXIT_DEFAULT1,
			 VM_EXIT_SAVE_DEBUG_CONTROLS);
	assert_int_equal(defined_mask(VMX_CTRL_GROUP_ENTRY) &
				 VMX_ENTRY_DEFAULT1,
			 VM_ENTRY_LOAD_DEBUG_CONTROLS);
}

static void test_vmx_ctrls__group_fields_are_the_control_words(void **state)
{
	(void)state;
	assert_int_equal(vmx_ctrl_group_field(VMX_CTRL_GROUP_PIN), 0x4000);
	assert_int_equal(vmx_ctrl_group_field(VMX_CTRL_GROUP_PROC), 0x4002);
	assert_int_equal(vmx_ctrl_group_field(VMX_CTRL_GROUP_PROC2), 0x401e);
	assert_int_equal(vmx_ctrl_group_field(VMX_CTRL_GROUP_PROC3), 0x2034);
	assert_int_equal(vmx_ctrl_group_field(VMX_CTRL_GROUP_EXIT), 0x400c);
	assert_int_equal(vmx_ctrl_group_field(VMX_CTRL_GROUP_EXIT2), 0x2044);
	assert_int_equal(vmx_ctrl_group_field(VMX_CTRL_GROUP_ENTRY), 0x4012);
	assert_int_equal(vmx_ctrl_group_field(VMX_NR_CTRL_GROUPS), 0);
	assert_int_equal(vmx_ctrl_group_bits(VMX_NR_CTRL_GROUPS), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_vmx_ctrls__group_counts_match_sdm_tables),
		cmocka_unit_test(
			test_vmx_ctrls__no_two_controls_of_a_group_share_a_bit),
		cmocka_unit_test(
			test_vmx_ctrls__bits_fit_the_width_of_their_field),
		cmocka_unit_test(test_vmx_ctrls__mask_is_one_shifted_by_bit),
		cmocka_unit_test(test_vmx_ctrls__name_lookup_round_trips),
		cmocka_unit_test(
			test_vmx_ctrls__reserved_or_bad_bits_have_no_name),
		cmocka_unit_test(test_vmx_ctrls__sdm_bit_positions_match_table),
		cmocka_unit_test(
			test_vmx_ctrls__default1_masks_match_appendix_a),
		cmocka_unit_test(
			test_vmx_ctrls__default1_overlaps_only_legacy_controls),
		cmocka_unit_test(
			test_vmx_ctrls__group_fields_are_the_control_words),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
