// SPDX-License-Identifier: MIT
/*
 * Unit tests of arch/vmcs_fields.def and what is generated from it
 * (arch/vmcs.h, arch/vmcs12.h, arch/vmx_tables.c): the table against
 * itself, against the encoding layout of SDM Vol. 3C 25.11.2, and against
 * encodings quoted from SDM Vol. 3D Appendix B. Host side.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <ctype.h>
#include <stdio.h>
#include <string.h>

/* The uapi header first: arch/vmcs.h must not clash with it. */
#include <asm/vmx.h>

#include "arch/vmcs.h"
#include "arch/vmcs12.h"

/* ---- independent expansions of the table --------------------------------- */

struct field {
	const char *name;
	const char *member;
	uint32_t enc;
	enum vmcs_sync_class sync;
	enum vmcs_shadow_class shadow;
};

static const struct field all_fields[] = {
#define VMCS_FIELD(fname, enc, fmember, sync_class, shadow_class) \
	{ #fname, #fmember, (enc), VMCS_SYNC_##sync_class,        \
	  VMCS_SHADOW_##shadow_class },
#include "arch/vmcs_fields.def"
#undef VMCS_FIELD
};

/* One array per section selector, each listing the encodings it keeps. */
#define VMCS_FIELD(name, enc, member, sync, shadow) (enc),

#define VMCS_FIELDS_WIDTH VMCS_WIDTH_16
static const uint32_t width16_encs[] = {
#include "arch/vmcs_fields.def"
};
#undef VMCS_FIELDS_WIDTH
#define VMCS_FIELDS_WIDTH VMCS_WIDTH_64
static const uint32_t width64_encs[] = {
#include "arch/vmcs_fields.def"
};
#undef VMCS_FIELDS_WIDTH
#define VMCS_FIELDS_WIDTH VMCS_WIDTH_32
static const uint32_t width32_encs[] = {
#include "arch/vmcs_fields.def"
};
#undef VMCS_FIELDS_WIDTH
#define VMCS_FIELDS_WIDTH VMCS_WIDTH_NATURAL
static const uint32_t widthn_encs[] = {
#include "arch/vmcs_fields.def"
};
#undef VMCS_FIELDS_WIDTH

#define VMCS_FIELDS_TYPE VMCS_TYPE_CONTROL
static const uint32_t control_encs[] = {
#include "arch/vmcs_fields.def"
};
#undef VMCS_FIELDS_TYPE
#define VMCS_FIELDS_TYPE VMCS_TYPE_EXIT_INFO
static const uint32_t exit_info_encs[] = {
#include "arch/vmcs_fields.def"
};
#undef VMCS_FIELDS_TYPE
#define VMCS_FIELDS_TYPE VMCS_TYPE_GUEST
static const uint32_t guest_encs[] = {
#include "arch/vmcs_fields.def"
};
#undef VMCS_FIELDS_TYPE
#define VMCS_FIELDS_TYPE VMCS_TYPE_HOST
static const uint32_t host_encs[] = {
#include "arch/vmcs_fields.def"
};
#undef VMCS_FIELDS_TYPE

#undef VMCS_FIELD

/* The generated NAME_HIGH enumerators next to their fields. */
static const struct {
	uint32_t enc;
	uint32_t high;
} high_enums[] = {
#define VMCS_FIELDS_WIDTH VMCS_WIDTH_64
#define VMCS_FIELD(name, enc, member, sync, shadow) { name, name##_HIGH },
#include "arch/vmcs_fields.def"
#undef VMCS_FIELD
#undef VMCS_FIELDS_WIDTH
};

#define N_FIELDS ARRAY_SIZE(all_fields)

/* ---- the table against itself -------------------------------------------- */

static void
test_vmcs_fields__table_has_every_field_once_expected_count(void **state)
{
	(void)state;
	/* 206 fields: Appendix B plus the ISE additions; update on purpose. */
	assert_int_equal(N_FIELDS, 206);
	assert_int_equal(VMCS_NR_FIELDS, N_FIELDS);
}

static void
test_vmcs_fields__encodings_strictly_ascending_no_duplicates(void **state)
{
	(void)state;
	for (size_t i = 1; i < N_FIELDS; i++) {
		if (all_fields[i - 1].enc >= all_fields[i].enc)
			fail_msg("%s (%#x) not above %s (%#x)",
				 all_fields[i].name, all_fields[i].enc,
				 all_fields[i - 1].name, all_fields[i - 1].enc);
	}
}

static void test_vmcs_fields__names_and_members_unique(void **state)
{
	(void)state;
	for (size_t i = 0; i < N_FIELDS; i++) {
		for (size_t j = i + 1; j < N_FIELDS; j++) {
			if (!strcmp(all_fields[i].name, all_fields[j].name))
				fail_msg("name %s twice", all_fields[i].name);
			if (!strcmp(all_fields[i].member, all_fields[j].member))
				fail_msg("member %s twice",
					 all_fields[i].member);
		}
	}
}

static void test_vmcs_fields__member_is_lower_case_name(void **state)
{
	(void)state;
	for (size_t i = 0; i < N_FIELDS; i++) {
		char lower[64];
		size_t n = strlen(all_fields[i].name);

		assert_true(n < sizeof(lower));
		for (size_t k = 0; k <= n; k++)
			lower[k] = (char)tolower(
				(unsigned char)all_fields[i].name[k]);
		assert_string_equal(all_fields[i].member, lower);
	}
}

static void
test_vmcs_fields__encodings_are_full_access_without_reserved_bits(void **state)
{
	(void)state;
	for (size_t i = 0; i < N_FIELDS; i++) {
		uint32_t enc = all_fields[i].enc;

		if (enc & (VMCS_ENC_RESERVED_MASK | VMCS_ENC_HIGH))
			fail_msg("%s: bad encoding %#x", all_fields[i].name,
				 enc);
	}
}

static void check_width_section(const uint32_t *encs, size_t n,
				unsigned int code, size_t *total)
{
	size_t in_table = 0;

	for (size_t i = 0; i < n; i++) {
		if (VMCS_ENC_WIDTH_CODE(encs[i]) != code)
			fail_msg("%#x listed under width code %u", encs[i],
				 code);
	}
	for (size_t i = 0; i < N_FIELDS; i++)
		in_table += VMCS_ENC_WIDTH_CODE(all_fields[i].enc) == code;
	assert_int_equal(n, in_table);
	*total += n;
}

static void
test_vmcs_fields__width_sections_agree_with_encoding_bits(void **state)
{
	size_t total = 0;

	(void)state;
	check_width_section(width16_encs, ARRAY_SIZE(width16_encs),
			    VMCS_WIDTH_16, &total);
	check_width_section(width64_encs, ARRAY_SIZE(width64_encs),
			    VMCS_WIDTH_64, &total);
	check_width_section(width32_encs, ARRAY_SIZE(width32_encs),
			    VMCS_WIDTH_32, &total);
	check_width_section(widthn_encs, ARRAY_SIZE(widthn_encs),
			    VMCS_WIDTH_NATURAL, &total);
	assert_int_equal(total, N_FIELDS);
}

static void check_type_section(const uint32_t *encs, size_t n,
			       unsigned int code, size_t *total)
{
	size_t in_table = 0;

	for (size_t i = 0; i < n; i++) {
		if (VMCS_ENC_TYPE_CODE(encs[i]) != code)
			fail_msg("%#x listed under type code %u", encs[i],
				 code);
	}
	for (size_t i = 0; i < N_FIELDS; i++)
		in_table += VMCS_ENC_TYPE_CODE(all_fields[i].enc) == code;
	assert_int_equal(n, in_table);
	*total += n;
}

static void
test_vmcs_fields__type_sections_agree_with_encoding_bits(void **state)
{
	size_t total = 0;

	(void)state;
	check_type_section(control_encs, ARRAY_SIZE(control_encs),
			   VMCS_TYPE_CONTROL, &total);
	check_type_section(exit_info_encs, ARRAY_SIZE(exit_info_encs),
			   VMCS_TYPE_EXIT_INFO, &total);
	check_type_section(guest_encs, ARRAY_SIZE(guest_encs), VMCS_TYPE_GUEST,
			   &total);
	check_type_section(host_encs, ARRAY_SIZE(host_encs), VMCS_TYPE_HOST,
			   &total);
	assert_int_equal(total, N_FIELDS);
}

static void test_vmcs_fields__generated_table_matches_def(void **state)
{
	(void)state;
	for (size_t i = 0; i < N_FIELDS; i++) {
		assert_string_equal(vmcs_field_table[i].name,
				    all_fields[i].name);
		assert_int_equal(vmcs_field_table[i].encoding,
				 all_fields[i].enc);
		assert_int_equal(vmcs_field_table[i].sync, all_fields[i].sync);
		assert_int_equal(vmcs_field_table[i].shadow,
				 all_fields[i].shadow);
	}
}

/* ---- classes ---------------------------------------------------------------- */

static void test_vmcs_fields__shadow_rw_field_is_hot(void **state)
{
	(void)state;
	for (size_t i = 0; i < N_FIELDS; i++) {
		if (all_fields[i].shadow == VMCS_SHADOW_SH_RW &&
		    all_fields[i].sync != VMCS_SYNC_HOT)
			fail_msg("%s is SH_RW but not HOT", all_fields[i].name);
	}
}

static void test_vmcs_fields__shadow_ro_field_is_exit_info(void **state)
{
	(void)state;
	for (size_t i = 0; i < N_FIELDS; i++) {
		if (all_fields[i].shadow == VMCS_SHADOW_SH_RO &&
		    all_fields[i].sync != VMCS_SYNC_EXIT_INFO)
			fail_msg("%s is SH_RO but not EXIT_INFO",
				 all_fields[i].name);
	}
}

/* The read-only shadow set: exit information L1 reads on nearly every exit. */
static void
test_vmcs_fields__shadow_ro_set_is_per_exit_information(void **state)
{
	static const uint32_t expected[] = {
		GUEST_PHYSICAL_ADDRESS,	  VM_EXIT_REASON,
		VM_EXIT_INTR_INFO,	  VM_EXIT_INTR_ERROR_CODE,
		IDT_VECTORING_INFO_FIELD, IDT_VECTORING_ERROR_CODE,
		VM_EXIT_INSTRUCTION_LEN,  EXIT_QUALIFICATION,
		GUEST_LINEAR_ADDRESS,
	};
	size_t k = 0;

	(void)state;
	for (size_t i = 0; i < N_FIELDS; i++) {
		if (all_fields[i].shadow != VMCS_SHADOW_SH_RO)
			continue;
		assert_true(k < ARRAY_SIZE(expected));
		assert_int_equal(all_fields[i].enc, expected[k]);
		k++;
	}
	assert_int_equal(k, ARRAY_SIZE(expected));
}

/* A sync class only ever holds fields of the matching encoding types. */
static void test_vmcs_fields__sync_class_matches_field_type(void **state)
{
	(void)state;
	for (size_t i = 0; i < N_FIELDS; i++) {
		unsigned int t = VMCS_ENC_TYPE_CODE(all_fields[i].enc);
		bool ok = false;

		switch (all_fields[i].sync) {
		case VMCS_SYNC_CTRL_EARLY:
		case VMCS_SYNC_CTRL_RARE:
			ok = t == VMCS_TYPE_CONTROL;
			break;
		case VMCS_SYNC_HOT:
			/* guest state, event injection, TPR threshold, shadows */
			ok = t == VMCS_TYPE_GUEST || t == VMCS_TYPE_CONTROL;
			break;
		case VMCS_SYNC_RARE:
			ok = t == VMCS_TYPE_GUEST;
			break;
		case VMCS_SYNC_HOST:
			ok = t == VMCS_TYPE_HOST;
			break;
		case VMCS_SYNC_EXIT_INFO:
			ok = t == VMCS_TYPE_EXIT_INFO;
			break;
		case VMCS_SYNC_UNSUPPORTED:
			ok = true;
			break;
		case VMCS_NR_SYNC_CLASSES:
			break;
		}
		if (!ok)
			fail_msg("%s: class %d on type %u", all_fields[i].name,
				 all_fields[i].sync, t);
		/* host and exit-information fields are never left unclassed */
		if (t == VMCS_TYPE_HOST)
			assert_true(all_fields[i].sync == VMCS_SYNC_HOST ||
				    all_fields[i].sync ==
					    VMCS_SYNC_UNSUPPORTED);
		if (t == VMCS_TYPE_EXIT_INFO)
			assert_true(all_fields[i].sync == VMCS_SYNC_EXIT_INFO ||
				    all_fields[i].sync ==
					    VMCS_SYNC_UNSUPPORTED);
	}
}

/* CTRL_EARLY is exactly the seven control words the controls table names. */
static void
test_vmcs_fields__ctrl_early_fields_are_the_control_words(void **state)
{
	size_t n = 0;

	(void)state;
	for (int g = 0; g < VMX_NR_CTRL_GROUPS; g++) {
		int id = vmcs_field_lookup(
			vmx_ctrl_group_field((enum vmx_ctrl_group)g));

		assert_true(id >= 0);
		assert_int_equal(vmcs_field_table[id].sync,
				 VMCS_SYNC_CTRL_EARLY);
	}
	for (size_t i = 0; i < N_FIELDS; i++)
		n += all_fields[i].sync == VMCS_SYNC_CTRL_EARLY;
	assert_int_equal(n, VMX_NR_CTRL_GROUPS);
}

/* ---- encodings, lookups and names -------------------------------------------- */

static void test_vmcs_fields__decoders_follow_sdm_encoding_layout(void **state)
{
	(void)state;
	assert_int_equal(vmcs_field_width(GUEST_ES_SELECTOR), 2);
	assert_int_equal(vmcs_field_width(IO_BITMAP_A), 8);
	assert_int_equal(vmcs_field_width(IO_BITMAP_A_HIGH), 4);
	assert_int_equal(vmcs_field_width(VM_EXIT_REASON), 4);
	assert_int_equal(vmcs_field_width(GUEST_RIP), 8);

	assert_int_equal(vmcs_field_type(PIN_BASED_VM_EXEC_CONTROL),
			 VMCS_FIELD_TYPE_CONTROL);
	assert_int_equal(vmcs_field_type(EXIT_QUALIFICATION),
			 VMCS_FIELD_TYPE_EXIT_INFO);
	assert_int_equal(vmcs_field_type(GUEST_RIP), VMCS_FIELD_TYPE_GUEST);
	assert_int_equal(vmcs_field_type(HOST_RIP), VMCS_FIELD_TYPE_HOST);

	assert_true(vmcs_field_is_high(TSC_OFFSET_HIGH));
	assert_false(vmcs_field_is_high(TSC_OFFSET));

	/* 0x681e: bits 9:1 = 15; 0x482e: 23; 0x2001: 0 */
	assert_int_equal(vmcs_field_index(GUEST_RIP), 15);
	assert_int_equal(vmcs_field_index(VMX_PREEMPTION_TIMER_VALUE), 23);
	assert_int_equal(vmcs_field_index(IO_BITMAP_A_HIGH), 0);
	assert_int_equal(vmcs_field_index(HOST_INTR_SSP_TABLE), 14);
}

static void
test_vmcs_fields__lookup_finds_each_field_by_its_encoding(void **state)
{
	(void)state;
	for (size_t i = 0; i < N_FIELDS; i++) {
		assert_int_equal(vmcs_field_lookup(all_fields[i].enc), i);
		assert_string_equal(vmcs_field_name(all_fields[i].enc),
				    all_fields[i].name);
	}
}

static void test_vmcs_fields__high_half_only_for_64bit_fields(void **state)
{
	(void)state;
	for (size_t i = 0; i < N_FIELDS; i++) {
		uint32_t high = all_fields[i].enc | 1;

		if (VMCS_ENC_WIDTH_CODE(all_fields[i].enc) == VMCS_WIDTH_64) {
			char want[80];

			snprintf(want, sizeof(want), "%s_HIGH",
				 all_fields[i].name);
			assert_int_equal(vmcs_field_lookup(high), i);
			assert_string_equal(vmcs_field_name(high), want);
		} else {
			assert_int_equal(vmcs_field_lookup(high), -1);
			assert_null(vmcs_field_name(high));
		}
	}
}

static void test_vmcs_fields__high_enumerators_are_encoding_or_1(void **state)
{
	(void)state;
	assert_int_equal(ARRAY_SIZE(high_enums), ARRAY_SIZE(width64_encs));
	for (size_t i = 0; i < ARRAY_SIZE(high_enums); i++) {
		assert_int_equal(high_enums[i].high, high_enums[i].enc | 1);
		assert_int_equal(VMCS_ENC_WIDTH_CODE(high_enums[i].enc),
				 VMCS_WIDTH_64);
	}
	assert_int_equal(EPT_POINTER_HIGH, 0x201b);
	assert_int_equal(GUEST_IA32_EFER_HIGH, 0x2807);
	assert_int_equal(HOST_IA32_PERF_GLOBAL_CTRL_HIGH, 0x2c05);
}

static void
test_vmcs_fields__lookup_rejects_reserved_and_unassigned(void **state)
{
	static const uint32_t bad[] = {
		0x681e | 0x1000, /* reserved bit 12 */
		0x1681e, /* reserved bit 16 */
		0x80000000, /* reserved bit 31 */
		0x000c, /* 16-bit control index 6: unassigned */
		0x2046, /* 64-bit control index 35: unassigned */
		0x2048, /* index 36: unassigned */
		0x2050, /* index 40: unassigned */
		0x2c18, /* 64-bit host index 12: unassigned */
		0x482c, /* 32-bit guest index 22: unassigned */
		0x4401, /* high access of a 32-bit field */
		0x0801, /* high access of a 16-bit field */
		0x6c1f, /* high access of a natural-width field */
		0x6c1e, /* past the last host field */
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		if (vmcs_field_lookup(bad[i]) != -1)
			fail_msg("%#x was found", bad[i]);
		assert_null(vmcs_field_name(bad[i]));
	}
}

/*
 * Encodings quoted from SDM Vol. 3D Appendix B (the SDM's field name in the
 * comment, the constant and encoding next to it), by table: B.1.1-B.1.3
 * 16-bit, B.2.1-B.2.4 64-bit, B.3.1-B.3.4 32-bit, B.4.1-B.4.4 natural width.
 */
static const struct {
	const char *name;
	uint32_t enc;
} sdm_appendix_b[] = {
	/* B.1.1: virtual-processor identifier; posted-interrupt notification
	 * vector; EPTP index; HLAT prefix size; last PID-pointer index */
	{ "VIRTUAL_PROCESSOR_ID", 0x00000000 },
	{ "POSTED_INTR_NV", 0x00000002 },
	{ "EPTP_INDEX", 0x00000004 },
	{ "HLAT_PREFIX_SIZE", 0x00000006 },
	{ "LAST_PID_POINTER_INDEX", 0x00000008 },
	/* B.1.2: guest ES/TR selector; guest interrupt status; PML index;
	 * guest UINV */
	{ "GUEST_ES_SELECTOR", 0x00000800 },
	{ "GUEST_TR_SELECTOR", 0x0000080e },
	{ "GUEST_INTR_STATUS", 0x00000810 },
	{ "GUEST_PML_INDEX", 0x00000812 },
	{ "GUEST_UINV", 0x00000814 },
	/* B.1.3: host ES/TR selector */
	{ "HOST_ES_SELECTOR", 0x00000c00 },
	{ "HOST_TR_SELECTOR", 0x00000c0c },
	/* B.2.1: I/O bitmap A; MSR bitmaps; executive-VMCS pointer; PML
	 * address; TSC offset; virtual-APIC address; APIC-access address;
	 * posted-interrupt descriptor address; VM-function controls; EPTP;
	 * EOI-exit bitmap 3; EPTP-list address; VMREAD-/VMWRITE-bitmap
	 * address; virtualization-exception information address;
	 * XSS-exiting bitmap; ENCLS-exiting bitmap; sub-page-permission-table
	 * pointer; TSC multiplier; tertiary processor-based VM-execution
	 * controls; ENCLV-exiting bitmap; low/high PASID directory address;
	 * shared-EPT pointer; PCONFIG-exiting bitmap; HLATP; PID-pointer
	 * table address; secondary VM-exit controls; IA32_SPEC_CTRL mask and
	 * shadow */
	{ "IO_BITMAP_A", 0x00002000 },
	{ "MSR_BITMAP", 0x00002004 },
	{ "EXECUTIVE_VMCS_POINTER", 0x0000200c },
	{ "PML_ADDRESS", 0x0000200e },
	{ "TSC_OFFSET", 0x00002010 },
	{ "VIRTUAL_APIC_PAGE_ADDR", 0x00002012 },
	{ "APIC_ACCESS_ADDR", 0x00002014 },
	{ "POSTED_INTR_DESC_ADDR", 0x00002016 },
	{ "VM_FUNCTION_CONTROL", 0x00002018 },
	{ "EPT_POINTER", 0x0000201a },
	{ "EOI_EXIT_BITMAP3", 0x00002022 },
	{ "EPTP_LIST_ADDRESS", 0x00002024 },
	{ "VMREAD_BITMAP", 0x00002026 },
	{ "VMWRITE_BITMAP", 0x00002028 },
	{ "VE_INFORMATION_ADDRESS", 0x0000202a },
	{ "XSS_EXIT_BITMAP", 0x0000202c },
	{ "ENCLS_EXITING_BITMAP", 0x0000202e },
	{ "SPPT_POINTER", 0x00002030 },
	{ "TSC_MULTIPLIER", 0x00002032 },
	{ "TERTIARY_VM_EXEC_CONTROL", 0x00002034 },
	{ "ENCLV_EXITING_BITMAP", 0x00002036 },
	{ "LOW_PASID_DIR_ADDRESS", 0x00002038 },
	{ "HIGH_PASID_DIR_ADDRESS", 0x0000203a },
	{ "SHARED_EPT_POINTER", 0x0000203c },
	{ "PCONFIG_EXITING_BITMAP", 0x0000203e },
	{ "HLAT_POINTER", 0x00002040 },
	{ "PID_POINTER_TABLE", 0x00002042 },
	{ "SECONDARY_VM_EXIT_CONTROLS", 0x00002044 },
	{ "IA32_SPEC_CTRL_MASK", 0x0000204a },
	{ "IA32_SPEC_CTRL_SHADOW", 0x0000204c },
	/* B.2.2: guest-physical address */
	{ "GUEST_PHYSICAL_ADDRESS", 0x00002400 },
	/* B.2.3: VMCS link pointer; guest IA32_DEBUGCTL, IA32_PAT, IA32_EFER,
	 * IA32_PERF_GLOBAL_CTRL; PDPTE0; PDPTE3; IA32_BNDCFGS; IA32_RTIT_CTL;
	 * IA32_LBR_CTL; IA32_PKRS */
	{ "VMCS_LINK_POINTER", 0x00002800 },
	{ "GUEST_IA32_DEBUGCTL", 0x00002802 },
	{ "GUEST_IA32_PAT", 0x00002804 },
	{ "GUEST_IA32_EFER", 0x00002806 },
	{ "GUEST_IA32_PERF_GLOBAL_CTRL", 0x00002808 },
	{ "GUEST_PDPTR0", 0x0000280a },
	{ "GUEST_PDPTR3", 0x00002810 },
	{ "GUEST_BNDCFGS", 0x00002812 },
	{ "GUEST_IA32_RTIT_CTL", 0x00002814 },
	{ "GUEST_IA32_LBR_CTL", 0x00002816 },
	{ "GUEST_IA32_PKRS", 0x00002818 },
	/* B.2.4: host IA32_PAT, IA32_EFER, IA32_PERF_GLOBAL_CTRL, IA32_PKRS */
	{ "HOST_IA32_PAT", 0x00002c00 },
	{ "HOST_IA32_EFER", 0x00002c02 },
	{ "HOST_IA32_PERF_GLOBAL_CTRL", 0x00002c04 },
	{ "HOST_IA32_PKRS", 0x00002c06 },
	/* B.3.1: pin-based and primary processor-based VM-execution
	 * controls; exception bitmap; page-fault error-code mask and match;
	 * CR3-target count; primary VM-exit controls; VM-exit MSR-store and
	 * MSR-load counts; VM-entry controls; VM-entry MSR-load count;
	 * VM-entry interruption-information field; VM-entry exception error
	 * code; VM-entry instruction length; TPR threshold; secondary
	 * processor-based VM-execution controls; PLE_Gap; PLE_Window;
	 * instruction-timeout control */
	{ "PIN_BASED_VM_EXEC_CONTROL", 0x00004000 },
	{ "CPU_BASED_VM_EXEC_CONTROL", 0x00004002 },
	{ "EXCEPTION_BITMAP", 0x00004004 },
	{ "PAGE_FAULT_ERROR_CODE_MASK", 0x00004006 },
	{ "PAGE_FAULT_ERROR_CODE_MATCH", 0x00004008 },
	{ "CR3_TARGET_COUNT", 0x0000400a },
	{ "VM_EXIT_CONTROLS", 0x0000400c },
	{ "VM_EXIT_MSR_STORE_COUNT", 0x0000400e },
	{ "VM_EXIT_MSR_LOAD_COUNT", 0x00004010 },
	{ "VM_ENTRY_CONTROLS", 0x00004012 },
	{ "VM_ENTRY_MSR_LOAD_COUNT", 0x00004014 },
	{ "VM_ENTRY_INTR_INFO_FIELD", 0x00004016 },
	{ "VM_ENTRY_EXCEPTION_ERROR_CODE", 0x00004018 },
	{ "VM_ENTRY_INSTRUCTION_LEN", 0x0000401a },
	{ "TPR_THRESHOLD", 0x0000401c },
	{ "SECONDARY_VM_EXEC_CONTROL", 0x0000401e },
	{ "PLE_GAP", 0x00004020 },
	{ "PLE_WINDOW", 0x00004022 },
	{ "NOTIFY_WINDOW", 0x00004024 },
	/* B.3.2: VM-instruction error; exit reason; VM-exit interruption
	 * information and error code; IDT-vectoring information field and
	 * error code; VM-exit instruction length and information */
	{ "VM_INSTRUCTION_ERROR", 0x00004400 },
	{ "VM_EXIT_REASON", 0x00004402 },
	{ "VM_EXIT_INTR_INFO", 0x00004404 },
	{ "VM_EXIT_INTR_ERROR_CODE", 0x00004406 },
	{ "IDT_VECTORING_INFO_FIELD", 0x00004408 },
	{ "IDT_VECTORING_ERROR_CODE", 0x0000440a },
	{ "VM_EXIT_INSTRUCTION_LEN", 0x0000440c },
	{ "VMX_INSTRUCTION_INFO", 0x0000440e },
	/* B.3.3: guest ES limit; GDTR/IDTR limit; ES and TR access rights;
	 * interruptibility state; activity state; SMBASE;
	 * IA32_SYSENTER_CS; VMX-preemption timer value */
	{ "GUEST_ES_LIMIT", 0x00004800 },
	{ "GUEST_GDTR_LIMIT", 0x00004810 },
	{ "GUEST_IDTR_LIMIT", 0x00004812 },
	{ "GUEST_ES_AR_BYTES", 0x00004814 },
	{ "GUEST_TR_AR_BYTES", 0x00004822 },
	{ "GUEST_INTERRUPTIBILITY_INFO", 0x00004824 },
	{ "GUEST_ACTIVITY_STATE", 0x00004826 },
	{ "GUEST_SMBASE", 0x00004828 },
	{ "GUEST_SYSENTER_CS", 0x0000482a },
	{ "VMX_PREEMPTION_TIMER_VALUE", 0x0000482e },
	/* B.3.4: host IA32_SYSENTER_CS */
	{ "HOST_IA32_SYSENTER_CS", 0x00004c00 },
	/* B.4.1: CR0/CR4 guest/host masks and read shadows; CR3-target
	 * values 0 and 3 */
	{ "CR0_GUEST_HOST_MASK", 0x00006000 },
	{ "CR4_GUEST_HOST_MASK", 0x00006002 },
	{ "CR0_READ_SHADOW", 0x00006004 },
	{ "CR4_READ_SHADOW", 0x00006006 },
	{ "CR3_TARGET_VALUE0", 0x00006008 },
	{ "CR3_TARGET_VALUE3", 0x0000600e },
	/* B.4.2: exit qualification; I/O RCX, RSI, RDI, RIP; guest-linear
	 * address */
	{ "EXIT_QUALIFICATION", 0x00006400 },
	{ "IO_RCX", 0x00006402 },
	{ "IO_RSI", 0x00006404 },
	{ "IO_RDI", 0x00006406 },
	{ "IO_RIP", 0x00006408 },
	{ "GUEST_LINEAR_ADDRESS", 0x0000640a },
	/* B.4.3: guest CR0, CR3, CR4; ES base; GDTR/IDTR base; DR7; RSP;
	 * RIP; RFLAGS; pending debug exceptions; IA32_SYSENTER_ESP/EIP;
	 * IA32_S_CET; SSP; IA32_INTERRUPT_SSP_TABLE_ADDR */
	{ "GUEST_CR0", 0x00006800 },
	{ "GUEST_CR3", 0x00006802 },
	{ "GUEST_CR4", 0x00006804 },
	{ "GUEST_ES_BASE", 0x00006806 },
	{ "GUEST_GDTR_BASE", 0x00006816 },
	{ "GUEST_IDTR_BASE", 0x00006818 },
	{ "GUEST_DR7", 0x0000681a },
	{ "GUEST_RSP", 0x0000681c },
	{ "GUEST_RIP", 0x0000681e },
	{ "GUEST_RFLAGS", 0x00006820 },
	{ "GUEST_PENDING_DBG_EXCEPTIONS", 0x00006822 },
	{ "GUEST_SYSENTER_ESP", 0x00006824 },
	{ "GUEST_SYSENTER_EIP", 0x00006826 },
	{ "GUEST_S_CET", 0x00006828 },
	{ "GUEST_SSP", 0x0000682a },
	{ "GUEST_INTR_SSP_TABLE", 0x0000682c },
	/* B.4.4: host CR0, CR3, CR4; FS/GS/TR/GDTR/IDTR base;
	 * IA32_SYSENTER_ESP/EIP; RSP; RIP; IA32_S_CET; SSP;
	 * IA32_INTERRUPT_SSP_TABLE_ADDR */
	{ "HOST_CR0", 0x00006c00 },
	{ "HOST_CR3", 0x00006c02 },
	{ "HOST_CR4", 0x00006c04 },
	{ "HOST_FS_BASE", 0x00006c06 },
	{ "HOST_GS_BASE", 0x00006c08 },
	{ "HOST_TR_BASE", 0x00006c0a },
	{ "HOST_GDTR_BASE", 0x00006c0c },
	{ "HOST_IDTR_BASE", 0x00006c0e },
	{ "HOST_IA32_SYSENTER_ESP", 0x00006c10 },
	{ "HOST_IA32_SYSENTER_EIP", 0x00006c12 },
	{ "HOST_RSP", 0x00006c14 },
	{ "HOST_RIP", 0x00006c16 },
	{ "HOST_S_CET", 0x00006c18 },
	{ "HOST_SSP", 0x00006c1a },
	{ "HOST_INTR_SSP_TABLE", 0x00006c1c },
};

static void test_vmcs_fields__sdm_appendix_b_encodings_match_table(void **state)
{
	(void)state;
	assert_true(ARRAY_SIZE(sdm_appendix_b) >= 40);
	for (size_t i = 0; i < ARRAY_SIZE(sdm_appendix_b); i++) {
		const char *name = vmcs_field_name(sdm_appendix_b[i].enc);

		if (!name || strcmp(name, sdm_appendix_b[i].name))
			fail_msg("%#x: want %s, table has %s",
				 sdm_appendix_b[i].enc, sdm_appendix_b[i].name,
				 name ? name : "nothing");
	}
	/* and the enumerators, which do not go through the lookup */
	assert_int_equal(GUEST_RIP, 0x681e);
	assert_int_equal(EPT_POINTER, 0x201a);
	assert_int_equal(VM_EXIT_REASON, 0x4402);
	assert_int_equal(HOST_IA32_SYSENTER_CS, 0x4c00);
}

/* ---- vmcs12 ------------------------------------------------------------------- */

static void
test_vmcs12__header_holds_revision_abort_and_launch_state(void **state)
{
	(void)state;
	assert_int_equal(offsetof(struct vmcs12, revision_id), 0);
	assert_int_equal(offsetof(struct vmcs12, abort), 4);
	assert_int_equal(offsetof(struct vmcs12, launch_state), 8);
	/* the first field follows the 16-byte header */
	assert_int_equal(vmcs12_field_locs[0].offset, 16);
	assert_int_equal(offsetof(struct vmcs12, virtual_processor_id), 16);
}

static void test_vmcs12__offsets_in_range_aligned_and_disjoint(void **state)
{
	size_t sum = 16;

	(void)state;
	for (size_t i = 0; i < N_FIELDS; i++) {
		const struct vmcs12_field_loc *loc = &vmcs12_field_locs[i];

		assert_int_equal(loc->width,
				 VMCS_ENC_FIELD_BYTES(all_fields[i].enc));
		assert_true(loc->offset >= 16);
		assert_true(loc->offset + loc->width <= sizeof(struct vmcs12));
		assert_int_equal(loc->offset % loc->width, 0);
		if (i > 0) {
			const struct vmcs12_field_loc *prev = loc - 1;

			assert_true(loc->offset >= prev->offset + prev->width);
		}
		sum += loc->width;
	}
	/* table order makes the layout packed: no padding anywhere */
	assert_int_equal(sizeof(struct vmcs12), sum);
	assert_true(sizeof(struct vmcs12) <= VMCS12_SIZE);
}

static void
test_vmcs12__field_offset_by_encoding_handles_high_halves(void **state)
{
	unsigned int width = 0;

	(void)state;
	assert_int_equal(vmcs12_field_offset(GUEST_RIP, &width),
			 offsetof(struct vmcs12, guest_rip));
	assert_int_equal(width, 8);
	assert_int_equal(vmcs12_field_offset(GUEST_CS_AR_BYTES, &width),
			 offsetof(struct vmcs12, guest_cs_ar_bytes));
	assert_int_equal(width, 4);
	assert_int_equal(vmcs12_field_offset(HOST_TR_SELECTOR, &width),
			 offsetof(struct vmcs12, host_tr_selector));
	assert_int_equal(width, 2);
	assert_int_equal(vmcs12_field_offset(EPT_POINTER_HIGH, &width),
			 offsetof(struct vmcs12, ept_pointer) + 4);
	assert_int_equal(width, 4);
	width = 99;
	assert_int_equal(vmcs12_field_offset(0x2046, &width), -1);
	assert_int_equal(width, 99);
}

/* A write through the offset table lands in the member of that name. */
/* vmcs12_field_offset() of a field that must exist, in bounds. */
static size_t checked_offset(uint32_t enc, unsigned int *width)
{
	int off = vmcs12_field_offset(enc, width);

	assert_true(off >= 0);
	assert_true(*width >= 2 && *width <= 8);
	assert_true((size_t)off + *width <= sizeof(struct vmcs12));
	return off < 0 ? 0 : (size_t)off;
}

static void test_vmcs12__offset_table_reaches_named_members(void **state)
{
	struct vmcs12 v;
	unsigned int width;
	size_t off;
	uint64_t cookie = 0x1122334455667788ull;
	uint32_t hi;

	(void)state;
	/* The offsets are checked before they are used, so that a missing
	 * field fails the test instead of writing outside v. */
	memset(&v, 0, sizeof(v));
	off = checked_offset(TSC_OFFSET, &width);
	memcpy((char *)&v + off, &cookie, width);
	assert_int_equal(v.tsc_offset, cookie);

	off = checked_offset(TSC_OFFSET_HIGH, &width);
	assert_int_equal(width, 4);
	memcpy(&hi, (char *)&v + off, width);
	assert_int_equal(hi, 0x11223344);

	off = checked_offset(GUEST_INTERRUPTIBILITY_INFO, &width);
	memcpy((char *)&v + off, &cookie, width);
	assert_int_equal(v.guest_interruptibility_info, 0x55667788);
	assert_int_equal(v.guest_activity_state, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(
			test_vmcs_fields__table_has_every_field_once_expected_count),
		cmocka_unit_test(
			test_vmcs_fields__encodings_strictly_ascending_no_duplicates),
		cmocka_unit_test(test_vmcs_fields__names_and_members_unique),
		cmocka_unit_test(test_vmcs_fields__member_is_lower_case_name),
		cmocka_unit_test(
			test_vmcs_fields__encodings_are_full_access_without_reserved_bits),
		cmocka_unit_test(
			test_vmcs_fields__width_sections_agree_with_encoding_bits),
		cmocka_unit_test(
			test_vmcs_fields__type_sections_agree_with_encoding_bits),
		cmocka_unit_test(test_vmcs_fields__generated_table_matches_def),
		cmocka_unit_test(test_vmcs_fields__shadow_rw_field_is_hot),
		cmocka_unit_test(
			test_vmcs_fields__shadow_ro_field_is_exit_info),
		cmocka_unit_test(
			test_vmcs_fields__shadow_ro_set_is_per_exit_information),
		cmocka_unit_test(
			test_vmcs_fields__sync_class_matches_field_type),
		cmocka_unit_test(
			test_vmcs_fields__ctrl_early_fields_are_the_control_words),
		cmocka_unit_test(
			test_vmcs_fields__decoders_follow_sdm_encoding_layout),
		cmocka_unit_test(
			test_vmcs_fields__lookup_finds_each_field_by_its_encoding),
		cmocka_unit_test(
			test_vmcs_fields__high_half_only_for_64bit_fields),
		cmocka_unit_test(
			test_vmcs_fields__high_enumerators_are_encoding_or_1),
		cmocka_unit_test(
			test_vmcs_fields__lookup_rejects_reserved_and_unassigned),
		cmocka_unit_test(
			test_vmcs_fields__sdm_appendix_b_encodings_match_table),
		cmocka_unit_test(
			test_vmcs12__header_holds_revision_abort_and_launch_state),
		cmocka_unit_test(
			test_vmcs12__offsets_in_range_aligned_and_disjoint),
		cmocka_unit_test(
			test_vmcs12__field_offset_by_encoding_handles_high_halves),
		cmocka_unit_test(
			test_vmcs12__offset_table_reaches_named_members),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
