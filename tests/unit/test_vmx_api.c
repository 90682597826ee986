/* SPDX-License-Identifier: MIT */
/*
 * test_vmx_api.c - the model's VT-x driven from C through vtx/vtx.h, the
 * way the monitor drives it: a VMCS built with VMWRITE, VMLAUNCH and
 * VMRESUME of a 64-bit guest, VM exits with their reason, qualification
 * and instruction length (SDM Vol. 3C ch. 26-28), VMfail cases (ch. 31),
 * an entry failure on bad guest state, and VMCS shadowing (25.10, 26.3).
 * Host side, tests only.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>

#include <asm/vmx.h>

#include "arch/ept.h"
#include "arch/vmcs.h"
#include "arch/vmx_exit_qual.h"
#include "arch/vmx_insn_errors.h"
#include "arch/x86_msr.h"
#include "arch/x86_seg.h"
#include "tests/unit/vmx_harness.h"
#include "tests/unit/vtx_harness.h"
#include "tests/vmx/fields.h"
#include "vtx/cpu.h"
#include "vtx/vmx.h"

#define VMXON_REGION HARNESS_VMXON_REGION
#define VMCS_REGION HARNESS_VMCS_REGION
#define SHADOW_VMCS 0x32000ull
#define VMREAD_BITMAP_PAGE 0x33000ull
#define VMWRITE_BITMAP_PAGE 0x34000ull
#define OTHER_VMCS 0x35000ull
#define EPT_PML4 0x40000ull
#define EPT_PDPT 0x41000ull
#define EPT_PD 0x42000ull

static void wr(struct harness *h, uint32_t field, uint64_t val)
{
	harness_vmwrite(h, field, val);
}

static uint64_t rd(struct harness *h, uint32_t field)
{
	return harness_vmread(h, field);
}

#define vmcs_setup harness_vmcs_setup
#define ctl harness_vmx_ctl

static void set_rax(struct harness *h, uint64_t rax)
{
	struct kvm_regs r;
	vtx_cpu_get_regs(h->cpu, &r);
	r.rax = rax;
	vtx_cpu_set_regs(h->cpu, &r);
}

/* CPUID always exits (SDM 26.1.2): reason 10, RIP at the CPUID, length 2;
 * advancing GUEST_RIP and VMRESUME continue the guest to the HLT, which
 * exits with HLT exiting (reason 12). */
static void
test_vmlaunch__cpuid_then_hlt_exit_with_reason_len_and_rip(void **state)
{
	struct harness *h = *state;
	static const uint8_t code[] = {
		0x0f, 0xa2, /* cpuid */
		0xf4, /* hlt */
	};
	struct vtx_stop st;

	harness_load(h, CODE_BASE, code, sizeof(code));
	vmcs_setup(h, CPU_BASED_HLT_EXITING, 0);
	set_rax(h, 0x1234);
	assert_int_equal(vtx_vmlaunch(h->cpu, &st), 0);
	assert_int_equal(st.reason, VTX_STOP_VMEXIT);
	assert_string_equal(st.why, "VM exit, reason 10");
	assert_int_equal(rd(h, VM_EXIT_REASON), EXIT_REASON_CPUID);
	assert_int_equal(rd(h, VM_EXIT_INSTRUCTION_LEN), 2);
	assert_int_equal(rd(h, GUEST_RIP), CODE_BASE);
	assert_int_equal(rd(h, EXIT_QUALIFICATION), 0);

	/* The exit left the guest's registers alone: CPUID did not run. */
	struct kvm_regs r;
	vtx_cpu_get_regs(h->cpu, &r);
	assert_int_equal(r.rax, 0x1234);

	wr(h, GUEST_RIP, CODE_BASE + 2);
	assert_int_equal(vtx_vmresume(h->cpu, &st), 0);
	assert_int_equal(st.reason, VTX_STOP_VMEXIT);
	assert_string_equal(st.why, "VM exit, reason 12");
	assert_int_equal(rd(h, VM_EXIT_REASON), EXIT_REASON_HLT);
	assert_int_equal(rd(h, VM_EXIT_INSTRUCTION_LEN), 1);
	assert_int_equal(rd(h, GUEST_RIP), CODE_BASE + 2);

	struct vtx_cpu_stats stats;
	vtx_cpu_get_stats(h->cpu, &stats);
	assert_int_equal(stats.vm_entries, 2);
	assert_int_equal(stats.vm_exits, 2);
	assert_int_equal(stats.exits_by_reason[EXIT_REASON_CPUID], 1);
	assert_int_equal(stats.exits_by_reason[EXIT_REASON_HLT], 1);
}

/* SDM 31.3 "VMLAUNCH/VMRESUME": launch state errors are VMfailValid. */
static void test_vmresume__clear_vmcs_fails_with_error_5(void **state)
{
	struct harness *h = *state;
	struct vtx_stop st;

	vmcs_setup(h, 0, 0);
	assert_int_equal(vtx_vmresume(h->cpu, &st),
			 VMXERR_VMRESUME_NONLAUNCHED_VMCS);
	assert_int_equal(rd(h, VM_INSTRUCTION_ERROR),
			 VMXERR_VMRESUME_NONLAUNCHED_VMCS);
}

static void test_vmlaunch__launched_vmcs_fails_with_error_4(void **state)
{
	struct harness *h = *state;
	static const uint8_t code[] = {
		0x0f, 0xa2, /* cpuid */
	};
	struct vtx_stop st;

	harness_load(h, CODE_BASE, code, sizeof(code));
	vmcs_setup(h, 0, 0);
	assert_int_equal(vtx_vmlaunch(h->cpu, &st), 0);
	assert_int_equal(vtx_vmlaunch(h->cpu, &st),
			 VMXERR_VMLAUNCH_NONCLEAR_VMCS);
}

/* A control outside the capability MSRs' allowed settings: VMfailValid
 * with error 7 and nothing runs (SDM 27.2.1.1). */
static void test_vmlaunch__reserved_control_fails_with_error_7(void **state)
{
	struct harness *h = *state;
	struct vtx_stop st;

	vmcs_setup(h, 0, 0);
	wr(h, PIN_BASED_VM_EXEC_CONTROL, 0); /* default1 bits cleared */
	assert_int_equal(vtx_vmlaunch(h->cpu, &st),
			 VMXERR_ENTRY_INVALID_CONTROL_FIELD);
	assert_string_equal(h->cpu->vmx_check,
			    "ctl_bad(pin, MSR_IA32_VMX_TRUE_PINBASED_CTLS)");
}

/* A host-state field breaking a rule: VMfailValid with error 8. */
static void test_vmlaunch__null_host_cs_fails_with_error_8(void **state)
{
	struct harness *h = *state;
	struct vtx_stop st;

	vmcs_setup(h, 0, 0);
	wr(h, HOST_CS_SELECTOR, 0);
	assert_int_equal(vtx_vmlaunch(h->cpu, &st),
			 VMXERR_ENTRY_INVALID_HOST_STATE_FIELD);
	assert_string_equal(h->cpu->vmx_check, "RD(HOST_CS_SELECTOR) == 0");
}

/* Bad guest state is an entry failure: a VM exit with reason 33 and
 * bit 31 set, qualification 0 (SDM 27.8). */
static void test_vmlaunch__rflags_bit1_clear_is_entry_failure_33(void **state)
{
	struct harness *h = *state;
	struct vtx_stop st;

	vmcs_setup(h, 0, 0);
	wr(h, GUEST_RFLAGS, 0);
	assert_int_equal(vtx_vmlaunch(h->cpu, &st), 0);
	assert_int_equal(st.reason, VTX_STOP_VMEXIT);
	assert_int_equal(rd(h, VM_EXIT_REASON),
			 EXIT_REASON_INVALID_STATE |
				 VMX_EXIT_REASONS_FAILED_VMENTRY);
	assert_int_equal(rd(h, EXIT_QUALIFICATION), ENTRY_FAIL_DEFAULT);
	assert_string_equal(h->cpu->vmx_check, "!(rfl & X86_EFLAGS_FIXED)");
}

/* Unconditional I/O exiting: OUT imm8 exits with the qualification of
 * SDM Table 28-5 (size - 1, direction, immediate operand, port). */
static void
test_out__unconditional_io_exiting_exits_with_qualification(void **state)
{
	struct harness *h = *state;
	static const uint8_t code[] = {
		0xe6, 0x80, /* out 0x80, al */
	};
	struct vtx_stop st;

	harness_load(h, CODE_BASE, code, sizeof(code));
	vmcs_setup(h, CPU_BASED_UNCOND_IO_EXITING, 0);
	assert_int_equal(vtx_vmlaunch(h->cpu, &st), 0);
	assert_int_equal(rd(h, VM_EXIT_REASON), EXIT_REASON_IO_INSTRUCTION);
	assert_int_equal(rd(h, EXIT_QUALIFICATION),
			 IO_QUAL_IMM | (0x80ull << IO_QUAL_PORT_SHIFT));
	assert_int_equal(rd(h, VM_EXIT_INSTRUCTION_LEN), 2);
	assert_int_equal(h->nr_pio, 0); /* the device never saw it */
}

/* EPT: the guest reads guest-physical 0x300000, which ept12's PD leaves
 * unmapped: an EPT violation (reason 48) with the GPA, the GLA and the
 * qualification of SDM Table 28-7. */
static void
test_ept__unmapped_gpa_read_is_violation_with_gpa_and_qual(void **state)
{
	struct harness *h = *state;
	static const uint8_t code[] = {
		0x48, 0x8b, 0x04, 0x25, 0x00, 0x00, 0x30, 0x00,
		/* mov rax, qword ptr [0x300000] */
	};
	struct vtx_stop st;

	/* EPT: [0, 2 MiB) identity, RWX, write-back; [2 MiB, 4 MiB) not. */
	harness_write64(h, EPT_PML4, EPT_PDPT | EPT_RWX);
	harness_write64(h, EPT_PDPT, EPT_PD | EPT_RWX);
	harness_write64(h, EPT_PD, 0 | EPT_RWX | EPT_LARGE | EPT_MT(EPT_MT_WB));
	harness_load(h, CODE_BASE, code, sizeof(code));
	vmcs_setup(h, 0, SECONDARY_EXEC_ENABLE_EPT);
	wr(h, EPT_POINTER, vmx_build_eptp(EPT_PML4, 4, false));
	assert_int_equal(vtx_vmlaunch(h->cpu, &st), 0);
	assert_int_equal(rd(h, VM_EXIT_REASON), EXIT_REASON_EPT_VIOLATION);
	assert_int_equal(rd(h, GUEST_PHYSICAL_ADDRESS), 0x300000);
	assert_int_equal(rd(h, GUEST_LINEAR_ADDRESS), 0x300000);
	assert_int_equal(rd(h, EXIT_QUALIFICATION),
			 EPT_VIOLATION_ACC_READ | EPT_VIOLATION_GVA_IS_VALID |
				 EPT_VIOLATION_GVA_TRANSLATED);
	assert_int_equal(rd(h, GUEST_RIP), CODE_BASE);
}

/* The exception bitmap: a #UD in the guest exits (reason 0) with the
 * interruption information of a hardware exception (SDM 26.2, 28.2.2). */
static void test_ud2__exception_bitmap_turns_ud_into_exit(void **state)
{
	struct harness *h = *state;
	static const uint8_t code[] = {
		0x0f, 0x0b, /* ud2 */
	};
	struct vtx_stop st;

	harness_load(h, CODE_BASE, code, sizeof(code));
	vmcs_setup(h, 0, 0);
	wr(h, EXCEPTION_BITMAP, 1u << UD_VECTOR);
	assert_int_equal(vtx_vmlaunch(h->cpu, &st), 0);
	assert_int_equal(rd(h, VM_EXIT_REASON), EXIT_REASON_EXCEPTION_NMI);
	assert_int_equal(rd(h, VM_EXIT_INTR_INFO),
			 INTR_INFO_VALID_MASK | INTR_TYPE_HARD_EXCEPTION |
				 UD_VECTOR);
	assert_int_equal(rd(h, GUEST_RIP), CODE_BASE);
}

/* The VMCS-shadowing fields exist only with the feature, and the field
 * round-trip program (run under a nested monitor that lacks it too)
 * leaves them to tests/vmx/vmx_shadow.c. */
static bool shadowing_field(uint32_t enc)
{
	return (enc & ~1u) == VMREAD_BITMAP || (enc & ~1u) == VMWRITE_BITMAP;
}

/* The fields of VM functions and TSC scaling (vmcs-merge/caps.c keeps
 * both features from L1). */
static bool not_offered_to_l1(uint32_t enc)
{
	return enc == VM_FUNCTION_CONTROL || enc == EPTP_LIST_ADDRESS ||
	       enc == TSC_MULTIPLIER;
}

/* VMREAD/VMWRITE of a field the model does not offer: VMfailValid(12). */
static void test_vmread__unsupported_field_fails_with_error_12(void **state)
{
	struct harness *h = *state;
	uint64_t v;

	vmcs_setup(h, 0, 0);
	assert_int_equal(vtx_vmread(h->cpu, POSTED_INTR_DESC_ADDR, &v),
			 VMXERR_UNSUPPORTED_VMCS_COMPONENT);
	assert_int_equal(vtx_vmwrite(h->cpu, 0x7fff, 0),
			 VMXERR_UNSUPPORTED_VMCS_COMPONENT);
}

/* vtx_vmcs_peek() reads what VMREAD reads, charges and counts nothing,
 * and stores no VM-instruction error for a field it cannot read. */
static void test_vmcs_peek__reads_without_charge_or_error(void **state)
{
	struct harness *h = *state;
	struct vtx_cpu_stats before, after;
	uint64_t v = 0;

	vmcs_setup(h, 0, 0);
	harness_vmwrite(h, GUEST_RIP, 0x123456);
	vtx_cpu_get_stats(h->cpu, &before);
	assert_int_equal(vtx_vmcs_peek(h->cpu, GUEST_RIP, &v), 0);
	assert_int_equal(v, 0x123456);
	assert_int_equal(vtx_vmcs_peek(h->cpu, POSTED_INTR_DESC_ADDR, &v),
			 -EINVAL);
	vtx_cpu_get_stats(h->cpu, &after);
	assert_memory_equal(&before, &after, sizeof(before));
	assert_int_equal(harness_vmread(h, VM_INSTRUCTION_ERROR), 0);
}

/* The field round-trip program (tests/vmx/vmx_fields.c) tests exactly
 * the model's VMCS as L0 offers it to L1: its list and
 * vtx_vmcs_field_supported() agree on every field of the SDM's table but
 * those of VMCS shadowing, the VMX-preemption timer value, VM functions
 * and TSC scaling, which L0 does not offer L1. */
static void test_vmx_fields__program_list_is_the_models_field_set(void **state)
{
	static const uint32_t listed[] = {
#define VMXT_LISTED(name) name,
		VMXT_FIELDS(VMXT_LISTED)
#undef VMXT_LISTED
	};
	unsigned int supported = 0;

	(void)state;
	for (unsigned int k = 0; k < VMCS_NR_FIELDS; k++) {
		uint32_t enc = vmcs_field_table[k].encoding;
		bool in_list = false;
		bool not_nested = shadowing_field(enc) ||
				  enc == VMX_PREEMPTION_TIMER_VALUE ||
				  not_offered_to_l1(enc);

		for (size_t j = 0; j < ARRAY_SIZE(listed); j++)
			in_list |= listed[j] == enc;
		assert_false(in_list && not_nested);
		assert_int_equal(vtx_vmcs_field_supported(enc),
				 in_list || not_nested);
		supported += vtx_vmcs_field_supported(enc);
	}
	assert_int_equal(supported, ARRAY_SIZE(listed) + 6);
}

/* Injects an event into a guest without an IDT: an entry that succeeds
 * ends in a triple fault, an entry failure in reason 33. */
static void inject(struct harness *h, uint32_t info, uint32_t ec)
{
	wr(h, VM_ENTRY_INTR_INFO_FIELD, INTR_INFO_VALID_MASK | info);
	wr(h, VM_ENTRY_EXCEPTION_ERROR_CODE, ec);
	wr(h, GUEST_IDTR_LIMIT, 0);
}

/* Error codes are 16 bits: bit 15 may be set, bits 31:16 may not (SDM
 * 27.2.1.3). */
static void test_vmlaunch__injected_error_code_bit_15_enters(void **state)
{
	struct harness *h = *state;
	struct vtx_stop st;

	vmcs_setup(h, 0, 0);
	inject(h,
	       INTR_TYPE_HARD_EXCEPTION | GP_VECTOR |
		       INTR_INFO_DELIVER_CODE_MASK,
	       0x8000);
	assert_int_equal(vtx_vmlaunch(h->cpu, &st), 0);
	assert_int_equal(rd(h, VM_EXIT_REASON), EXIT_REASON_TRIPLE_FAULT);
}

static void test_vmlaunch__injected_error_code_bit_16_fails_7(void **state)
{
	struct harness *h = *state;
	struct vtx_stop st;

	vmcs_setup(h, 0, 0);
	inject(h,
	       INTR_TYPE_HARD_EXCEPTION | GP_VECTOR |
		       INTR_INFO_DELIVER_CODE_MASK,
	       0x10000);
	assert_int_equal(vtx_vmlaunch(h->cpu, &st),
			 VMXERR_ENTRY_INVALID_CONTROL_FIELD);
	assert_string_equal(h->cpu->vmx_check,
			    "ec && (RD(VM_ENTRY_EXCEPTION_ERROR_CODE) >> 16)");
}

/* Blocking by STI holds off an injected external interrupt, not an
 * exception (SDM 27.3.1.5). */
static void test_vmlaunch__exception_injection_under_sti_enters(void **state)
{
	struct harness *h = *state;
	struct vtx_stop st;

	vmcs_setup(h, 0, 0);
	wr(h, GUEST_RFLAGS, X86_EFLAGS_FIXED | X86_EFLAGS_IF);
	wr(h, GUEST_INTERRUPTIBILITY_INFO, GUEST_INTR_STATE_STI);
	inject(h, INTR_TYPE_HARD_EXCEPTION | UD_VECTOR, 0);
	assert_int_equal(vtx_vmlaunch(h->cpu, &st), 0);
	assert_int_equal(rd(h, VM_EXIT_REASON), EXIT_REASON_TRIPLE_FAULT);
}

static void test_vmlaunch__interrupt_under_sti_is_entry_failure(void **state)
{
	struct harness *h = *state;
	struct vtx_stop st;

	vmcs_setup(h, 0, 0);
	wr(h, GUEST_RFLAGS, X86_EFLAGS_FIXED | X86_EFLAGS_IF);
	wr(h, GUEST_INTERRUPTIBILITY_INFO, GUEST_INTR_STATE_STI);
	inject(h, INTR_TYPE_EXT_INTR | 0x30, 0);
	assert_int_equal(vtx_vmlaunch(h->cpu, &st), 0);
	assert_int_equal(rd(h, VM_EXIT_REASON),
			 EXIT_REASON_INVALID_STATE |
				 VMX_EXIT_REASONS_FAILED_VMENTRY);
	/* An entry failure leaves the injection valid (SDM 27.8). */
	assert_int_equal(rd(h, VM_ENTRY_INTR_INFO_FIELD),
			 INTR_INFO_VALID_MASK | INTR_TYPE_EXT_INTR | 0x30);
}

/* Pending debug exceptions: bit 12 (enabled breakpoint) is defined, bit
 * 4 reserved (SDM 27.3.1.5). */
static void test_vmlaunch__pending_debug_bit_12_enters_bit_4_fails(void **state)
{
	struct harness *h = *state;
	static const uint8_t code[] = {
		0x0f, 0xa2, /* cpuid */
	};
	struct vtx_stop st;

	harness_load(h, CODE_BASE, code, sizeof(code));
	vmcs_setup(h, 0, 0);
	wr(h, GUEST_PENDING_DBG_EXCEPTIONS, PENDING_DBG_ENABLED_BP);
	assert_int_equal(vtx_vmlaunch(h->cpu, &st), 0);
	assert_int_equal(rd(h, VM_EXIT_REASON), EXIT_REASON_CPUID);
	assert_int_equal(vtx_vmclear(h->cpu, VMCS_REGION), 0);
	assert_int_equal(vtx_vmptrld(h->cpu, VMCS_REGION), 0);
	wr(h, GUEST_PENDING_DBG_EXCEPTIONS, 1u << 4);
	assert_int_equal(vtx_vmlaunch(h->cpu, &st), 0);
	assert_int_equal(rd(h, VM_EXIT_REASON),
			 EXIT_REASON_INVALID_STATE |
				 VMX_EXIT_REASONS_FAILED_VMENTRY);
	assert_string_equal(h->cpu->vmx_check,
			    "RD(GUEST_PENDING_DBG_EXCEPTIONS) & "
			    "pending_dbg_reserved");
}

/* Blocking by STI from the VMCS covers the first guest instruction only
 * (SDM 27.7.1): an exit at it saves the blocking, one after a NOP not. */
static void test_vmlaunch__sti_blocking_covers_first_instruction(void **state)
{
	struct harness *h = *state;
	static const uint8_t code[] = {
		0x0f, 0xa2, /* cpuid */
		0x90, /* nop */
		0x0f, 0xa2, /* cpuid */
	};
	struct vtx_stop st;

	harness_load(h, CODE_BASE, code, sizeof(code));
	vmcs_setup(h, 0, 0);
	wr(h, GUEST_RFLAGS, X86_EFLAGS_FIXED | X86_EFLAGS_IF);
	wr(h, GUEST_INTERRUPTIBILITY_INFO, GUEST_INTR_STATE_STI);
	assert_int_equal(vtx_vmlaunch(h->cpu, &st), 0);
	assert_int_equal(rd(h, VM_EXIT_REASON), EXIT_REASON_CPUID);
	assert_int_equal(rd(h, GUEST_INTERRUPTIBILITY_INFO),
			 GUEST_INTR_STATE_STI);
	wr(h, GUEST_RIP, CODE_BASE + 2);
	assert_int_equal(vtx_vmresume(h->cpu, &st), 0);
	assert_int_equal(rd(h, VM_EXIT_REASON), EXIT_REASON_CPUID);
	assert_int_equal(rd(h, GUEST_RIP), CODE_BASE + 3);
	assert_int_equal(rd(h, GUEST_INTERRUPTIBILITY_INFO), 0);
}

/* A VMX instruction with a RIP-relative operand: the qualification is
 * displacement + RIP of the next instruction (SDM 28.2.1). */
static void test_vmptrst__rip_relative_qualification_is_address(void **state)
{
	struct harness *h = *state;
	static const uint8_t code[] = {
		0x0f, 0xc7, 0x3d, 0x00, 0x01, 0x00, 0x00,
		/* vmptrst qword ptr [rip + 0x100] */
	};
	struct vtx_stop st;

	harness_load(h, CODE_BASE, code, sizeof(code));
	vmcs_setup(h, 0, 0);
	assert_int_equal(vtx_vmlaunch(h->cpu, &st), 0);
	assert_int_equal(rd(h, VM_EXIT_REASON), EXIT_REASON_VMPTRST);
	assert_int_equal(rd(h, EXIT_QUALIFICATION), CODE_BASE + 7 + 0x100);
	assert_int_equal(rd(h, VM_EXIT_INSTRUCTION_LEN), 7);
}

/* A double fault the exception bitmap intercepts is not a VM exit during
 * event delivery: no IDT-vectoring information (SDM 28.2.4). */
static void test_ud2__intercepted_double_fault_has_no_vectoring(void **state)
{
	struct harness *h = *state;
	static const uint8_t code[] = {
		0x0f, 0x0b, /* ud2 */
	};
	struct vtx_stop st;

	harness_load(h, CODE_BASE, code, sizeof(code));
	vmcs_setup(h, 0, 0);
	wr(h, EXCEPTION_BITMAP, 1u << DF_VECTOR);
	wr(h, GUEST_IDTR_LIMIT, 0);
	assert_int_equal(vtx_vmlaunch(h->cpu, &st), 0);
	assert_int_equal(rd(h, VM_EXIT_REASON), EXIT_REASON_EXCEPTION_NMI);
	assert_int_equal(rd(h, VM_EXIT_INTR_INFO),
			 INTR_INFO_VALID_MASK | INTR_TYPE_HARD_EXCEPTION |
				 INTR_INFO_DELIVER_CODE_MASK | DF_VECTOR);
	assert_int_equal(rd(h, IDT_VECTORING_INFO_FIELD), 0);
}

/* INT 0x80 with an IDT too short for vector 0x80: its delivery raises
 * #GP(0x80 * 8 + 2); with #GP intercepted, the exit's IDT-vectoring
 * information names the INT as a software interrupt (type 4) and the
 * exit reports its instruction length (SDM 28.2.4). */
static void
test_int_n__gp_during_delivery_reports_soft_int_vectoring(void **state)
{
	struct harness *h = *state;
	static const uint8_t code[] = {
		0xcd, 0x80, /* int 0x80 */
	};
	struct vtx_stop st;

	harness_load(h, CODE_BASE, code, sizeof(code));
	vmcs_setup(h, 0, 0);
	wr(h, GUEST_IDTR_LIMIT, 0x7f * 16 + 15);
	wr(h, EXCEPTION_BITMAP, 1u << GP_VECTOR);
	assert_int_equal(vtx_vmlaunch(h->cpu, &st), 0);
	assert_int_equal(rd(h, VM_EXIT_REASON), EXIT_REASON_EXCEPTION_NMI);
	assert_int_equal(rd(h, VM_EXIT_INTR_INFO),
			 INTR_INFO_VALID_MASK | INTR_TYPE_HARD_EXCEPTION |
				 INTR_INFO_DELIVER_CODE_MASK | GP_VECTOR);
	assert_int_equal(rd(h, VM_EXIT_INTR_ERROR_CODE), 0x80 * 8 + 2);
	assert_int_equal(rd(h, IDT_VECTORING_INFO_FIELD),
			 INTR_INFO_VALID_MASK | INTR_TYPE_SOFT_INTR | 0x80);
	assert_int_equal(rd(h, VM_EXIT_INSTRUCTION_LEN), 2);
	assert_int_equal(rd(h, GUEST_RIP), CODE_BASE);
}

/* INVD exits unconditionally in non-root operation (SDM 26.1.2). */
static void test_invd__always_exits_with_reason_13(void **state)
{
	struct harness *h = *state;
	static const uint8_t code[] = {
		0x0f, 0x08, /* invd */
	};
	struct vtx_stop st;

	harness_load(h, CODE_BASE, code, sizeof(code));
	vmcs_setup(h, 0, 0);
	assert_int_equal(vtx_vmlaunch(h->cpu, &st), 0);
	assert_int_equal(rd(h, VM_EXIT_REASON), EXIT_REASON_INVD);
	assert_int_equal(rd(h, VM_EXIT_INSTRUCTION_LEN), 2);
}

/* An exit taken inside the guest's MOV-SS shadow leaves that blocking in
 * the VMCS, not on the C host: VMRESUME must enter, not fail with
 * VMfailValid(26) (SDM 31.3 "VMLAUNCH/VMRESUME" concerns the executing
 * host only). */
static void test_vmresume__after_exit_in_mov_ss_shadow_enters(void **state)
{
	struct harness *h = *state;
	static const uint8_t code[] = {
		0x8e, 0xd0, /* mov ss, eax */
		0x0f, 0xa2, /* cpuid */
		0x0f, 0xa2, /* cpuid */
	};
	struct vtx_stop st;

	harness_load(h, CODE_BASE, code, sizeof(code));
	vmcs_setup(h, 0, 0);
	set_rax(h, SEL_KDATA);
	assert_int_equal(vtx_vmlaunch(h->cpu, &st), 0);
	assert_int_equal(rd(h, VM_EXIT_REASON), EXIT_REASON_CPUID);
	assert_int_equal(rd(h, GUEST_INTERRUPTIBILITY_INFO),
			 GUEST_INTR_STATE_MOV_SS);
	wr(h, GUEST_RIP, CODE_BASE + 4);
	wr(h, GUEST_INTERRUPTIBILITY_INFO, 0);
	assert_int_equal(vtx_vmresume(h->cpu, &st), 0);
	assert_int_equal(rd(h, VM_EXIT_REASON), EXIT_REASON_CPUID);
	assert_int_equal(rd(h, GUEST_RIP), CODE_BASE + 4);
}

/* ---- VMCS shadowing (SDM 25.10, 26.3, 27.2.1.1, 27.3.1.5, 31.3) ---------- */

static void region_init(struct harness *h, uint64_t pa, uint32_t rev)
{
	harness_load(h, pa, &rev, 4);
}

static void set_rax_rbx(struct harness *h, uint64_t rax, uint64_t rbx)
{
	struct kvm_regs r;

	vtx_cpu_get_regs(h->cpu, &r);
	r.rax = rax;
	r.rbx = rbx;
	vtx_cpu_set_regs(h->cpu, &r);
}

/* A guest with "VMCS shadowing", zeroed VMREAD/VMWRITE bitmaps and a
 * shadow VMCS at SHADOW_VMCS as its link pointer. */
static void shadow_setup(struct harness *h, const uint8_t *code, size_t len)
{
	harness_load(h, CODE_BASE, code, len);
	region_init(h, SHADOW_VMCS,
		    VTX_VMCS_REVISION | VTX_VMCS_SHADOW_INDICATOR);
	vmcs_setup(h, 0, SECONDARY_EXEC_SHADOW_VMCS);
	wr(h, VMREAD_BITMAP, VMREAD_BITMAP_PAGE);
	wr(h, VMWRITE_BITMAP, VMWRITE_BITMAP_PAGE);
	wr(h, VMCS_LINK_POINTER, SHADOW_VMCS);
}

/* VMREAD or VMWRITE, then RFLAGS into RDX, then CPUID to exit. */
static const uint8_t shadow_vmread_code[] = {
	0x0f, 0x78, 0xd8, /* vmread rax, rbx */
	0x9c, /* pushf */
	0x5a, /* pop rdx */
	0x0f, 0xa2, /* cpuid */
};

static const uint8_t shadow_vmwrite_code[] = {
	0x0f, 0x79, 0xd8, /* vmwrite rbx, rax */
	0x9c, /* pushf */
	0x5a, /* pop rdx */
	0x0f, 0xa2, /* cpuid */
};

/* Runs the guest to its CPUID exit; returns its RDX (the RFLAGS after
 * the VMREAD/VMWRITE) and its RAX in *rax. */
static uint64_t shadow_run_to_cpuid(struct harness *h, uint64_t *rax)
{
	struct vtx_stop st;
	struct kvm_regs r;

	assert_int_equal(vtx_vmlaunch(h->cpu, &st), 0);
	assert_int_equal(st.reason, VTX_STOP_VMEXIT);
	assert_int_equal(rd(h, VM_EXIT_REASON), EXIT_REASON_CPUID);
	assert_int_equal(rd(h, GUEST_RIP), CODE_BASE + 5);
	vtx_cpu_get_regs(h->cpu, &r);
	if (rax)
		*rax = r.rax;
	return r.rdx;
}

#define ARITH_FLAGS                                                      \
	(X86_EFLAGS_CF | X86_EFLAGS_PF | X86_EFLAGS_AF | X86_EFLAGS_ZF | \
	 X86_EFLAGS_SF | X86_EFLAGS_OF)

/* Appendix A.3.3, A.6: "VMCS shadowing" may be 1; VMWRITE may write the
 * VM-exit information fields (what a shadow VMCS relies on). */
static void test_vmx_caps__shadow_vmcs_offered_with_vmwrite_to_ro(void **state)
{
	struct harness *h = *state;
	uint64_t v;

	assert_int_equal(
		vtx_cpu_get_msr(h->cpu, MSR_IA32_VMX_PROCBASED_CTLS2, &v), 0);
	assert_int_equal((v >> 32) & SECONDARY_EXEC_SHADOW_VMCS,
			 SECONDARY_EXEC_SHADOW_VMCS);
	assert_int_equal(v & SECONDARY_EXEC_SHADOW_VMCS, 0);
	assert_int_equal(vtx_cpu_get_msr(h->cpu, MSR_IA32_VMX_MISC, &v), 0);
	assert_int_equal(v & VMX_MISC_VMWRITE_SHADOW_RO_FIELDS,
			 VMX_MISC_VMWRITE_SHADOW_RO_FIELDS);
}

/* SDM 31.3 "VMPTRLD": with VMCS shadowing offered, a region whose
 * shadow-VMCS indicator is 1 becomes current; VMREAD and VMWRITE in root
 * operation then use it. Bits 30:0 must still be the revision. */
static void test_vmptrld__shadow_vmcs_becomes_current(void **state)
{
	struct harness *h = *state;
	hpa_t cur = 0;

	vmcs_setup(h, 0, 0);
	region_init(h, SHADOW_VMCS,
		    VTX_VMCS_REVISION | VTX_VMCS_SHADOW_INDICATOR);
	assert_int_equal(vtx_vmptrld(h->cpu, SHADOW_VMCS), 0);
	assert_int_equal(vtx_vmptrst(h->cpu, &cur), 0);
	assert_int_equal(cur, SHADOW_VMCS);
	wr(h, GUEST_RIP, 0x5a5a);
	assert_int_equal(rd(h, GUEST_RIP), 0x5a5a);
	assert_int_equal(vtx_vmcs_read(h->cpu, SHADOW_VMCS, GUEST_RIP), 0x5a5a);
	assert_int_equal(vtx_vmcs_read(h->cpu, VMCS_REGION, GUEST_RIP),
			 CODE_BASE);

	region_init(h, OTHER_VMCS,
		    (VTX_VMCS_REVISION ^ 1) | VTX_VMCS_SHADOW_INDICATOR);
	assert_int_equal(vtx_vmptrld(h->cpu, OTHER_VMCS),
			 VMXERR_VMPTRLD_INCORRECT_VMCS_REVISION_ID);
	assert_int_equal(vtx_vmptrst(h->cpu, &cur), 0);
	assert_int_equal(cur, SHADOW_VMCS);
}

/* SDM 27.1: VMLAUNCH/VMRESUME with a shadow VMCS as the current VMCS
 * fail like no current VMCS: VMfailInvalid, nothing written to it. */
static void test_vmlaunch__shadow_vmcs_current_fails_invalid(void **state)
{
	struct harness *h = *state;
	struct vtx_stop st;

	vmcs_setup(h, 0, 0);
	region_init(h, SHADOW_VMCS,
		    VTX_VMCS_REVISION | VTX_VMCS_SHADOW_INDICATOR);
	assert_int_equal(vtx_vmptrld(h->cpu, SHADOW_VMCS), 0);
	assert_int_equal(vtx_vmlaunch(h->cpu, &st), VTX_VMFAIL_INVALID);
	assert_int_equal(vtx_vmresume(h->cpu, &st), VTX_VMFAIL_INVALID);
	assert_int_equal(rd(h, VM_INSTRUCTION_ERROR), 0);
	assert_int_equal(h->cpu->stats.vm_entries, 0);
}

/* SDM 27.2.1.1: with "VMCS shadowing", each bitmap address must be
 * 4-KiB aligned and within MAXPHYADDR: else VMfailValid(7). */
static void
test_vmlaunch__unaligned_vmread_bitmap_fails_with_error_7(void **state)
{
	struct harness *h = *state;
	struct vtx_stop st;

	shadow_setup(h, shadow_vmread_code, sizeof(shadow_vmread_code));
	wr(h, VMREAD_BITMAP, VMREAD_BITMAP_PAGE + 8);
	assert_int_equal(vtx_vmlaunch(h->cpu, &st),
			 VMXERR_ENTRY_INVALID_CONTROL_FIELD);
	assert_string_equal(h->cpu->vmx_check,
			    "!page_addr_ok(RD(VMREAD_BITMAP))");
}

static void test_vmlaunch__vmwrite_bitmap_beyond_width_fails_7(void **state)
{
	struct harness *h = *state;
	struct vtx_stop st;

	shadow_setup(h, shadow_vmread_code, sizeof(shadow_vmread_code));
	wr(h, VMWRITE_BITMAP, 1ull << 46);
	assert_int_equal(vtx_vmlaunch(h->cpu, &st),
			 VMXERR_ENTRY_INVALID_CONTROL_FIELD);
	assert_string_equal(h->cpu->vmx_check,
			    "!page_addr_ok(RD(VMWRITE_BITMAP))");
}

/* Without "VMCS shadowing" the bitmap addresses are not checked. */
static void test_vmlaunch__bitmaps_unchecked_without_shadowing(void **state)
{
	struct harness *h = *state;
	struct vtx_stop st;

	harness_load(h, CODE_BASE, shadow_vmread_code,
		     sizeof(shadow_vmread_code));
	vmcs_setup(h, 0, SECONDARY_EXEC_ENABLE_RDTSCP);
	wr(h, VMREAD_BITMAP, 8);
	wr(h, VMWRITE_BITMAP, 1ull << 46);
	assert_int_equal(vtx_vmlaunch(h->cpu, &st), 0);
	assert_int_equal(rd(h, VM_EXIT_REASON), EXIT_REASON_VMREAD);
}

/* SDM 27.3.1.5: the link pointer's shadow-VMCS indicator must equal
 * "VMCS shadowing": entry failure, qualification 4, both ways. */
static void expect_link_failure(struct harness *h, const char *check)
{
	struct vtx_stop st;

	assert_int_equal(vtx_vmlaunch(h->cpu, &st), 0);
	assert_int_equal(rd(h, VM_EXIT_REASON),
			 EXIT_REASON_INVALID_STATE |
				 VMX_EXIT_REASONS_FAILED_VMENTRY);
	assert_int_equal(rd(h, EXIT_QUALIFICATION), ENTRY_FAIL_VMCS_LINK_PTR);
	assert_string_equal(h->cpu->vmx_check, check);
}

static void
test_vmlaunch__shadowing_with_ordinary_link_vmcs_fails_qual_4(void **state)
{
	struct harness *h = *state;

	shadow_setup(h, shadow_vmread_code, sizeof(shadow_vmread_code));
	region_init(h, SHADOW_VMCS, VTX_VMCS_REVISION);
	expect_link_failure(h, "!!(rev & VTX_VMCS_SHADOW_INDICATOR) != "
			       "shadowing");
}

static void
test_vmlaunch__shadow_link_vmcs_without_shadowing_fails_qual_4(void **state)
{
	struct harness *h = *state;

	vmcs_setup(h, 0, 0);
	region_init(h, SHADOW_VMCS,
		    VTX_VMCS_REVISION | VTX_VMCS_SHADOW_INDICATOR);
	wr(h, VMCS_LINK_POINTER, SHADOW_VMCS);
	expect_link_failure(h, "!!(rev & VTX_VMCS_SHADOW_INDICATOR) != "
			       "shadowing");
}

static void test_vmlaunch__link_bad_revision_fails_qual_4(void **state)
{
	struct harness *h = *state;

	shadow_setup(h, shadow_vmread_code, sizeof(shadow_vmread_code));
	region_init(h, SHADOW_VMCS,
		    (VTX_VMCS_REVISION ^ 2) | VTX_VMCS_SHADOW_INDICATOR);
	expect_link_failure(h, "(rev & ~VTX_VMCS_SHADOW_INDICATOR) != "
			       "VTX_VMCS_REVISION");
}

/* Outside SMM the link pointer may not name the current VMCS. */
static void test_vmlaunch__link_to_current_vmcs_fails_qual_4(void **state)
{
	struct harness *h = *state;

	vmcs_setup(h, 0, 0);
	wr(h, VMCS_LINK_POINTER, VMCS_REGION);
	expect_link_failure(h, "link == c->vmx.current");
}

/* SDM 26.3 (VMREAD in non-root): a clear bitmap bit reads the shadow
 * VMCS without a VM exit: VMsucceed, counted as a shadow VMREAD. */
static void test_vmread__shadowed_field_reads_shadow_vmcs(void **state)
{
	struct harness *h = *state;
	uint64_t rax = 0, fl;

	shadow_setup(h, shadow_vmread_code, sizeof(shadow_vmread_code));
	vtx_vmcs_write(h->cpu, SHADOW_VMCS, GUEST_RIP, 0xfeedface12345678ull);
	set_rax_rbx(h, 0, GUEST_RIP);
	fl = shadow_run_to_cpuid(h, &rax);
	assert_int_equal(rax, 0xfeedface12345678ull);
	assert_int_equal(fl & ARITH_FLAGS, 0);
	assert_int_equal(h->cpu->stats.shadow_vmreads, 1);
	assert_int_equal(h->cpu->stats.shadow_vmwrites, 0);
	assert_int_equal(h->cpu->stats.vmreads, 0);
	assert_int_equal(h->cpu->stats.exits_by_reason[EXIT_REASON_VMREAD], 0);
	assert_int_equal(h->cpu->stats.vm_exits, 1);
}

/* A set bit (bit 14:0 of the encoding, here GUEST_RIP = 0x681e: byte
 * 0xd03, bit 6) exits with reason 23 as without shadowing. */
static void test_vmread__bitmap_bit_set_exits_with_reason_23(void **state)
{
	struct harness *h = *state;
	struct vtx_stop st;
	uint8_t b = 1u << 6;

	shadow_setup(h, shadow_vmread_code, sizeof(shadow_vmread_code));
	harness_load(h, VMREAD_BITMAP_PAGE + (GUEST_RIP >> 3), &b, 1);
	set_rax_rbx(h, 0, GUEST_RIP);
	assert_int_equal(vtx_vmlaunch(h->cpu, &st), 0);
	assert_int_equal(rd(h, VM_EXIT_REASON), EXIT_REASON_VMREAD);
	assert_int_equal(rd(h, GUEST_RIP), CODE_BASE);
	assert_int_equal(rd(h, VM_EXIT_INSTRUCTION_LEN), 3);
	assert_int_equal(h->cpu->stats.shadow_vmreads, 0);

	/* The neighbouring bit of the same byte does not exit. */
	b = 1u << 7;
	harness_load(h, VMREAD_BITMAP_PAGE + (GUEST_RIP >> 3), &b, 1);
	assert_int_equal(vtx_vmclear(h->cpu, VMCS_REGION), 0);
	assert_int_equal(vtx_vmptrld(h->cpu, VMCS_REGION), 0);
	wr(h, GUEST_RIP, CODE_BASE);
	shadow_run_to_cpuid(h, NULL);
	assert_int_equal(h->cpu->stats.shadow_vmreads, 1);
}

/* The VMWRITE bitmap governs VMWRITE alone: a VMREAD bitmap of ones
 * does not make a VMWRITE exit. */
static void test_vmwrite__vmwrite_bitmap_set_exits_with_reason_25(void **state)
{
	struct harness *h = *state;
	struct vtx_stop st;
	uint8_t ones[4096];

	memset(ones, 0xff, sizeof(ones));
	shadow_setup(h, shadow_vmwrite_code, sizeof(shadow_vmwrite_code));
	harness_load(h, VMREAD_BITMAP_PAGE, ones, sizeof(ones));
	set_rax_rbx(h, 0x77, GUEST_RSP);
	shadow_run_to_cpuid(h, NULL);
	assert_int_equal(vtx_vmcs_read(h->cpu, SHADOW_VMCS, GUEST_RSP), 0x77);

	harness_load(h, VMWRITE_BITMAP_PAGE, ones, sizeof(ones));
	assert_int_equal(vtx_vmclear(h->cpu, VMCS_REGION), 0);
	assert_int_equal(vtx_vmptrld(h->cpu, VMCS_REGION), 0);
	wr(h, GUEST_RIP, CODE_BASE);
	set_rax_rbx(h, 0x88, GUEST_RSP);
	assert_int_equal(vtx_vmlaunch(h->cpu, &st), 0);
	assert_int_equal(rd(h, VM_EXIT_REASON), EXIT_REASON_VMWRITE);
	assert_int_equal(vtx_vmcs_read(h->cpu, SHADOW_VMCS, GUEST_RSP), 0x77);
}

/* An encoding with any of bits 63:15 set always exits (SDM 31.3
 * "VMREAD"), even where bits 14:0 name a clear bit. */
static void test_vmread__encoding_bits_63_15_exit(void **state)
{
	static const uint64_t encs[] = { GUEST_RIP | 0x8000ull,
					 GUEST_RIP | (1ull << 32),
					 GUEST_RIP | (1ull << 63) };
	struct harness *h = *state;
	struct vtx_stop st;

	for (size_t k = 0; k < ARRAY_SIZE(encs); k++) {
		shadow_setup(h, shadow_vmread_code, sizeof(shadow_vmread_code));
		set_rax_rbx(h, 0, encs[k]);
		assert_int_equal(vtx_vmlaunch(h->cpu, &st), 0);
		assert_int_equal(rd(h, VM_EXIT_REASON), EXIT_REASON_VMREAD);
		assert_int_equal(vtx_vmxoff(h->cpu), 0);
	}
	assert_int_equal(h->cpu->stats.shadow_vmreads, 0);
}

/* A link pointer of ~0 is valid at entry; a shadowed VMREAD then is
 * VMfailInvalid (CF = 1) and leaves its destination alone. */
static void test_vmread__link_pointer_all_ones_fails_invalid(void **state)
{
	struct harness *h = *state;
	uint64_t rax = 0, fl;

	shadow_setup(h, shadow_vmread_code, sizeof(shadow_vmread_code));
	wr(h, VMCS_LINK_POINTER, ~0ull);
	set_rax_rbx(h, 0x1234, GUEST_RIP);
	fl = shadow_run_to_cpuid(h, &rax);
	assert_int_equal(fl & ARITH_FLAGS, X86_EFLAGS_CF);
	assert_int_equal(rax, 0x1234);
	assert_int_equal(rd(h, VM_INSTRUCTION_ERROR), 0);
	assert_int_equal(h->cpu->stats.shadow_vmreads, 1);
}

/* A shadowed VMREAD of a field the model lacks is VMfailValid(12); the
 * error goes to the current VMCS, not the shadow VMCS (SDM 31.2). */
static void test_vmread__shadowed_unsupported_field_fails_valid_12(void **state)
{
	struct harness *h = *state;
	uint64_t rax = 0, fl;

	shadow_setup(h, shadow_vmread_code, sizeof(shadow_vmread_code));
	set_rax_rbx(h, 0x1234, POSTED_INTR_DESC_ADDR);
	fl = shadow_run_to_cpuid(h, &rax);
	assert_int_equal(fl & ARITH_FLAGS, X86_EFLAGS_ZF);
	assert_int_equal(rax, 0x1234);
	assert_int_equal(rd(h, VM_INSTRUCTION_ERROR),
			 VMXERR_UNSUPPORTED_VMCS_COMPONENT);
	assert_int_equal(
		vtx_vmcs_read(h->cpu, SHADOW_VMCS, VM_INSTRUCTION_ERROR), 0);
}

/* A shadowed VMWRITE changes the shadow VMCS, not the current VMCS; a
 * VM-exit information field too, as IA32_VMX_MISC bit 29 allows. */
static void test_vmwrite__shadowed_writes_shadow_vmcs_ro_too(void **state)
{
	struct harness *h = *state;
	uint64_t fl;

	shadow_setup(h, shadow_vmwrite_code, sizeof(shadow_vmwrite_code));
	set_rax_rbx(h, 0xabcdef, EXIT_QUALIFICATION);
	fl = shadow_run_to_cpuid(h, NULL);
	assert_int_equal(fl & ARITH_FLAGS, 0);
	assert_int_equal(vtx_vmcs_read(h->cpu, SHADOW_VMCS, EXIT_QUALIFICATION),
			 0xabcdef);
	assert_int_equal(rd(h, EXIT_QUALIFICATION), 0);
	assert_int_equal(h->cpu->stats.shadow_vmwrites, 1);
	assert_int_equal(h->cpu->stats.vmwrites, 0);
}

/* A shadowed VMWRITE with a link pointer of ~0: VMfailInvalid, nothing
 * written anywhere. */
static void test_vmwrite__link_pointer_all_ones_fails_invalid(void **state)
{
	struct harness *h = *state;
	uint64_t fl;

	shadow_setup(h, shadow_vmwrite_code, sizeof(shadow_vmwrite_code));
	wr(h, VMCS_LINK_POINTER, ~0ull);
	set_rax_rbx(h, 0x99, GUEST_RSP);
	fl = shadow_run_to_cpuid(h, NULL);
	assert_int_equal(fl & ARITH_FLAGS, X86_EFLAGS_CF);
	assert_int_equal(vtx_vmcs_read(h->cpu, SHADOW_VMCS, GUEST_RSP), 0);
	assert_int_equal(rd(h, VM_INSTRUCTION_ERROR), 0);
}

int main(void)
{
#define T(fn) \
	cmocka_unit_test_setup_teardown(fn, harness_setup, harness_teardown)
	const struct CMUnitTest tests[] = {
		T(test_vmlaunch__cpuid_then_hlt_exit_with_reason_len_and_rip),
		T(test_vmresume__clear_vmcs_fails_with_error_5),
		T(test_vmlaunch__launched_vmcs_fails_with_error_4),
		T(test_vmlaunch__reserved_control_fails_with_error_7),
		T(test_vmlaunch__null_host_cs_fails_with_error_8),
		T(test_vmlaunch__rflags_bit1_clear_is_entry_failure_33),
		T(test_out__unconditional_io_exiting_exits_with_qualification),
		T(test_ept__unmapped_gpa_read_is_violation_with_gpa_and_qual),
		T(test_ud2__exception_bitmap_turns_ud_into_exit),
		T(test_vmread__unsupported_field_fails_with_error_12),
		T(test_vmcs_peek__reads_without_charge_or_error),
		T(test_int_n__gp_during_delivery_reports_soft_int_vectoring),
		T(test_invd__always_exits_with_reason_13),
		T(test_vmresume__after_exit_in_mov_ss_shadow_enters),
		T(test_vmlaunch__injected_error_code_bit_15_enters),
		T(test_vmlaunch__injected_error_code_bit_16_fails_7),
		T(test_vmlaunch__exception_injection_under_sti_enters),
		T(test_vmlaunch__interrupt_under_sti_is_entry_failure),
		T(test_vmlaunch__pending_debug_bit_12_enters_bit_4_fails),
		T(test_vmlaunch__sti_blocking_covers_first_instruction),
		T(test_vmptrst__rip_relative_qualification_is_address),
		T(test_ud2__intercepted_double_fault_has_no_vectoring),
		T(test_vmx_caps__shadow_vmcs_offered_with_vmwrite_to_ro),
		T(test_vmptrld__shadow_vmcs_becomes_current),
		T(test_vmlaunch__shadow_vmcs_current_fails_invalid),
		T(test_vmlaunch__unaligned_vmread_bitmap_fails_with_error_7),
		T(test_vmlaunch__vmwrite_bitmap_beyond_width_fails_7),
		T(test_vmlaunch__bitmaps_unchecked_without_shadowing),
		T(test_vmlaunch__shadowing_with_ordinary_link_vmcs_fails_qual_4),
		T(test_vmlaunch__shadow_link_vmcs_without_shadowing_fails_qual_4),
		T(test_vmlaunch__link_bad_revision_fails_qual_4),
		T(test_vmlaunch__link_to_current_vmcs_fails_qual_4),
		T(test_vmread__shadowed_field_reads_shadow_vmcs),
		T(test_vmread__bitmap_bit_set_exits_with_reason_23),
		T(test_vmwrite__vmwrite_bitmap_set_exits_with_reason_25),
		T(test_vmread__encoding_bits_63_15_exit),
		T(test_vmread__link_pointer_all_ones_fails_invalid),
		T(test_vmread__shadowed_unsupported_field_fails_valid_12),
		T(test_vmwrite__shadowed_writes_shadow_vmcs_ro_too),
		T(test_vmwrite__link_pointer_all_ones_fails_invalid),
		cmocka_unit_test(
			test_vmx_fields__program_list_is_the_models_field_set),
	};
#undef T
	return cmocka_run_group_tests(tests, NULL, NULL);
}
