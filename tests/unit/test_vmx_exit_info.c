// SPDX-License-Identifier: MIT
/*
 * Unit tests of the per-exit-reason metadata and names (arch/vmx_exit_info.h,
 * arch/vmx_tables.c): against the kernel's uapi <asm/vmx.h> (every reason it
 * lists is known and named alike), against the basic exit reasons of SDM
 * Vol. 3D Appendix C, and against what SDM Vol. 3C 28.2.1-28.2.5 say each
 * exit records. Host side.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "arch/vmcs.h"
#include "arch/vmx_exit_info.h"

static const struct {
	uint32_t reason;
	const char *name;
} uapi_reasons[] = { VMX_EXIT_REASONS };

static void
test_vmx_exit_info__every_uapi_reason_known_and_named_alike(void **state)
{
	(void)state;
	/* Linux 6.1 lists 62 reasons; later kernels only add */
	assert_true(ARRAY_SIZE(uapi_reasons) >= 62);
	for (size_t i = 0; i < ARRAY_SIZE(uapi_reasons); i++) {
		uint32_t r = uapi_reasons[i].reason;
		const char *name = vmx_exit_reason_name(r);

		if (r >= VMX_NR_EXIT_REASONS)
			fail_msg("%s = %u is beyond the table",
				 uapi_reasons[i].name, r);
		if (!(vmx_exit_reason_flags(r) & VMX_EXIT_F_KNOWN))
			fail_msg("%s has no metadata", uapi_reasons[i].name);
		assert_non_null(name);
		assert_string_equal(name, uapi_reasons[i].name);
	}
}

/*
 * Basic exit reasons of SDM Appendix C that uapi <asm/vmx.h> of Linux 6.1
 * does not define, with the numbers typed from the SDM (80, 81, 84 and 85
 * from the ISE reference).
 */
static const struct {
	uint32_t reason;
	uint32_t sdm_number;
	const char *name;
} local_reasons[] = {
	{ EXIT_REASON_IO_SMI, 5, "IO_SMI" },
	{ EXIT_REASON_OTHER_SMI, 6, "OTHER_SMI" },
	{ EXIT_REASON_GETSEC, 11, "GETSEC" },
	{ EXIT_REASON_RSM, 17, "RSM" },
	{ EXIT_REASON_PCONFIG, 65, "PCONFIG" },
	{ EXIT_REASON_SPP, 66, "SPP" },
	{ EXIT_REASON_LOADIWKEY, 69, "LOADIWKEY" },
	{ EXIT_REASON_ENCLV, 70, "ENCLV" },
	{ EXIT_REASON_ENQCMD_PASID_FAIL, 72, "ENQCMD_PASID_FAIL" },
	{ EXIT_REASON_ENQCMDS_PASID_FAIL, 73, "ENQCMDS_PASID_FAIL" },
	{ EXIT_REASON_SEAMCALL, 76, "SEAMCALL" },
	{ EXIT_REASON_TDCALL, 77, "TDCALL" },
	{ EXIT_REASON_RDMSRLIST, 78, "RDMSRLIST" },
	{ EXIT_REASON_WRMSRLIST, 79, "WRMSRLIST" },
	{ EXIT_REASON_URDMSR, 80, "URDMSR" },
	{ EXIT_REASON_UWRMSR, 81, "UWRMSR" },
	{ EXIT_REASON_MSR_READ_IMM, 84, "MSR_READ_IMM" },
	{ EXIT_REASON_MSR_WRITE_IMM, 85, "MSR_WRITE_IMM" },
};

static void
test_vmx_exit_info__local_reasons_have_sdm_numbers_and_names(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(local_reasons); i++) {
		uint32_t r = local_reasons[i].reason;

		assert_int_equal(r, local_reasons[i].sdm_number);
		assert_true(vmx_exit_reason_flags(r) & VMX_EXIT_F_KNOWN);
		assert_string_equal(vmx_exit_reason_name(r),
				    local_reasons[i].name);
	}
}

/* Appendix C leaves 35, 38, 42, 71, 82 and 83 undefined. */
static void
test_vmx_exit_info__reserved_reasons_unknown_and_unnamed(void **state)
{
	static const uint32_t reserved[] = { 35, 38, 42,  71,	 82,
					     83, 86, 200, 0xffff };

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(reserved); i++) {
		assert_int_equal(vmx_exit_reason_flags(reserved[i]), 0);
		assert_null(vmx_exit_reason_name(reserved[i]));
	}
}

static void test_vmx_exit_info__known_reasons_are_the_sdm_set(void **state)
{
	size_t known = 0;

	(void)state;
	for (uint32_t r = 0; r < VMX_NR_EXIT_REASONS; r++) {
		bool is_known = vmx_exit_reason_flags(r) & VMX_EXIT_F_KNOWN;

		known += is_known;
		/* a known reason has a name, an unknown one none */
		assert_int_equal(is_known, vmx_exit_reason_name(r) != NULL);
	}
	/* 0..85 less the six undefined numbers */
	assert_int_equal(known, 80);
}

/* The kernel's list and our additions together cover the known set. */
static void
test_vmx_exit_info__uapi_and_local_lists_cover_known_set(void **state)
{
	bool listed[VMX_NR_EXIT_REASONS] = { false };

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(uapi_reasons); i++)
		listed[uapi_reasons[i].reason] = true;
	for (size_t i = 0; i < ARRAY_SIZE(local_reasons); i++)
		listed[local_reasons[i].reason] = true;
	for (uint32_t r = 0; r < VMX_NR_EXIT_REASONS; r++)
		assert_int_equal(listed[r], (vmx_exit_reason_flags(r) &
					     VMX_EXIT_F_KNOWN) != 0);
}

/* What SDM 28.2.1 and 28.2.5 say some exits record, flag by flag. */
static void test_vmx_exit_info__flags_match_sdm_for_sample_reasons(void **state)
{
	const uint32_t K = VMX_EXIT_F_KNOWN, Q = VMX_EXIT_F_QUAL,
		       L = VMX_EXIT_F_INSN_LEN, I = VMX_EXIT_F_INSN_INFO,
		       T = VMX_EXIT_F_TRAP, F = VMX_EXIT_F_ENTRY_FAIL;

	(void)state;
	assert_int_equal(vmx_exit_reason_flags(EXIT_REASON_EXTERNAL_INTERRUPT),
			 K);
	assert_int_equal(vmx_exit_reason_flags(EXIT_REASON_PREEMPTION_TIMER),
			 K);
	assert_int_equal(vmx_exit_reason_flags(EXIT_REASON_CPUID), K | L);
	assert_int_equal(vmx_exit_reason_flags(EXIT_REASON_HLT), K | L);
	assert_int_equal(vmx_exit_reason_flags(EXIT_REASON_INVLPG), K | Q | L);
	assert_int_equal(vmx_exit_reason_flags(EXIT_REASON_CR_ACCESS),
			 K | Q | L);
	assert_int_equal(vmx_exit_reason_flags(EXIT_REASON_IO_INSTRUCTION),
			 K | Q | L | I);
	assert_int_equal(vmx_exit_reason_flags(EXIT_REASON_MSR_READ), K | L);
	assert_int_equal(vmx_exit_reason_flags(EXIT_REASON_VMREAD),
			 K | Q | L | I);
	assert_int_equal(vmx_exit_reason_flags(EXIT_REASON_VMLAUNCH), K | L);
	assert_int_equal(vmx_exit_reason_flags(EXIT_REASON_EPT_VIOLATION),
			 K | Q | L);
	assert_int_equal(vmx_exit_reason_flags(EXIT_REASON_EPT_MISCONFIG),
			 K | L);
	assert_int_equal(vmx_exit_reason_flags(EXIT_REASON_RDRAND), K | L | I);
	assert_int_equal(vmx_exit_reason_flags(EXIT_REASON_TPR_BELOW_THRESHOLD),
			 K | T);
	assert_int_equal(vmx_exit_reason_flags(EXIT_REASON_APIC_WRITE),
			 K | Q | T);
	assert_int_equal(vmx_exit_reason_flags(EXIT_REASON_BUS_LOCK), K | T);
	assert_int_equal(vmx_exit_reason_flags(EXIT_REASON_INVALID_STATE),
			 K | Q | F);
	assert_int_equal(vmx_exit_reason_flags(EXIT_REASON_MCE_DURING_VMENTRY),
			 K | F);
	assert_int_equal(vmx_exit_reason_flags(EXIT_REASON_MSR_WRITE_IMM),
			 K | Q | L | I);
}

static void test_vmx_exit_info__flag_combinations_are_consistent(void **state)
{
	(void)state;
	for (uint32_t r = 0; r < VMX_NR_EXIT_REASONS; r++) {
		uint32_t f = vmx_exit_reason_flags(r);

		if (!(f & VMX_EXIT_F_KNOWN)) {
			assert_int_equal(f, 0);
			continue;
		}
		/* instruction information only comes with an instruction */
		if ((f & VMX_EXIT_F_INSN_INFO) && !(f & VMX_EXIT_F_INSN_LEN))
			fail_msg("%s: information without length",
				 vmx_exit_reason_name(r));
		/* trap-like exits and entry failures have no length */
		if ((f & (VMX_EXIT_F_TRAP | VMX_EXIT_F_ENTRY_FAIL)) &&
		    (f & VMX_EXIT_F_INSN_LEN))
			fail_msg("%s: trap or entry failure with a length",
				 vmx_exit_reason_name(r));
		assert_false((f & VMX_EXIT_F_TRAP) &&
			     (f & VMX_EXIT_F_ENTRY_FAIL));
	}
}

static void
test_vmx_exit_info__name_ignores_exit_reason_upper_bits(void **state)
{
	(void)state;
	/* bit 31: VM-entry failure; bit 26: bus lock detected */
	assert_string_equal(
		vmx_exit_reason_name(0x80000000u | EXIT_REASON_INVALID_STATE),
		"INVALID_STATE");
	assert_string_equal(
		vmx_exit_reason_name(0x04000000u | EXIT_REASON_EPT_VIOLATION),
		"EPT_VIOLATION");
	assert_int_equal(vmx_exit_reason_basic(0x80000022u), 34);
	assert_int_equal(vmx_exit_reason_basic(0x0801002cu), 44);
}

/* The table is designated-initialized by the uapi constants. */
static void test_vmx_exit_info__table_indexed_by_uapi_constants(void **state)
{
	(void)state;
	assert_int_equal(EXIT_REASON_EPT_VIOLATION, 48);
	assert_int_equal(vmx_exit_info_table[48].flags,
			 vmx_exit_reason_flags(EXIT_REASON_EPT_VIOLATION));
	assert_int_equal(vmx_exit_info_table[EXIT_REASON_VMON].flags,
			 VMX_EXIT_F_KNOWN | VMX_EXIT_F_QUAL |
				 VMX_EXIT_F_INSN_LEN | VMX_EXIT_F_INSN_INFO);
	assert_string_equal(vmx_exit_reason_name(EXIT_REASON_NOTIFY), "NOTIFY");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(
			test_vmx_exit_info__every_uapi_reason_known_and_named_alike),
		cmocka_unit_test(
			test_vmx_exit_info__local_reasons_have_sdm_numbers_and_names),
		cmocka_unit_test(
			test_vmx_exit_info__reserved_reasons_unknown_and_unnamed),
		cmocka_unit_test(
			test_vmx_exit_info__known_reasons_are_the_sdm_set),
		cmocka_unit_test(
			test_vmx_exit_info__uapi_and_local_lists_cover_known_set),
		cmocka_unit_test(
			test_vmx_exit_info__flags_match_sdm_for_sample_reasons),
		cmocka_unit_test(
			test_vmx_exit_info__flag_combinations_are_consistent),
		cmocka_unit_test(
			test_vmx_exit_info__name_ignores_exit_reason_upper_bits),
		cmocka_unit_test(
			test_vmx_exit_info__table_indexed_by_uapi_constants),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
