/* SPDX-License-Identifier: MIT */
/*
 * VMX "unrestricted guest" (SDM Vol. 3C 27.2.1.1, 27.3.1.1-27.3.1.2, 26.6;
 * secondary control bit 7) driven from C: a real-mode guest through EPT,
 * the entry checks that change, and the exits of the instructions such a
 * guest uses (OUT, REP OUTSB, LMSW, CLTS, a #GP without error code).
 * Raw bytes with their disassembly (objdump -mi8086 -M intel). Host side.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include <asm/vmx.h>

#include "arch/ept.h"
#include "arch/vmx_exit_qual.h"
#include "arch/vmx_insn_errors.h"
#include "arch/x86_msr.h"
#include "arch/x86_seg.h"
#include "tests/unit/vmx_harness.h"
#include "tests/unit/vtx_harness.h"
#include "tests/vmx/fields.h"
#include "vtx/cpu.h"

#define EPT_PML4 0x40000ull
#define EPT_PDPT 0x41000ull
#define EPT_PD 0x42000ull
#define RM_CODE_SEG 0x2000
#define RM_DATA_SEG 0x5000

#define wr harness_vmwrite
#define rd harness_vmread

static void rm_seg(struct harness *h, uint32_t sel_field, uint16_t sel,
		   uint32_t ar)
{
	/* Selector, limit, AR and base fields are 0x800, 0x4800, 0x4814 and
	 * 0x6806 apart for every segment register (SDM Appendix B). */
	wr(h, sel_field, sel);
	wr(h, sel_field + 0x4000, 0xffff);
	wr(h, sel_field + 0x4014, ar);
	wr(h, sel_field + 0x6006, (uint64_t)sel << 4);
}

/*
 * A VMCS whose guest is in real-address mode at RM_CODE_SEG:0 (CR0.PE =
 * PG = 0, not IA-32e, EFER 0), its memory identity-mapped by EPT for
 * [0, 2 MiB), with "unrestricted guest" when `ug` and the primary
 * controls `proc`.
 */
static void rm_guest_setup(struct harness *h, uint32_t proc, bool ug)
{
	harness_write64(h, EPT_PML4, EPT_PDPT | EPT_RWX);
	harness_write64(h, EPT_PDPT, EPT_PD | EPT_RWX);
	harness_write64(h, EPT_PD, 0 | EPT_RWX | EPT_LARGE | EPT_MT(EPT_MT_WB));
	harness_vmcs_setup(
		h, proc,
		SECONDARY_EXEC_ENABLE_EPT |
			(ug ? SECONDARY_EXEC_UNRESTRICTED_GUEST : 0));
	wr(h, EPT_POINTER, vmx_build_eptp(EPT_PML4, 4, false));
	wr(h, VM_ENTRY_CONTROLS,
	   harness_vmx_ctl(h, MSR_IA32_VMX_TRUE_ENTRY_CTLS,
			   VM_ENTRY_LOAD_IA32_EFER));
	wr(h, GUEST_IA32_EFER, 0);
	wr(h, GUEST_CR0, X86_CR0_ET | X86_CR0_NE);
	wr(h, GUEST_CR3, 0);
	wr(h, GUEST_CR4, X86_CR4_VMXE);
	rm_seg(h, GUEST_CS_SELECTOR, RM_CODE_SEG, 0x9b);
	rm_seg(h, GUEST_SS_SELECTOR, 0x3000, 0x93);
	rm_seg(h, GUEST_DS_SELECTOR, RM_DATA_SEG, 0x93);
	rm_seg(h, GUEST_ES_SELECTOR, RM_DATA_SEG, 0x93);
	rm_seg(h, GUEST_FS_SELECTOR, 0, 0x93);
	rm_seg(h, GUEST_GS_SELECTOR, 0, 0x93);
	wr(h, GUEST_TR_AR_BYTES, 0x8b); /* busy 32-bit TSS */
	wr(h, GUEST_LDTR_AR_BYTES, VMX_AR_UNUSABLE_MASK);
	wr(h, GUEST_IDTR_BASE, 0);
	wr(h, GUEST_IDTR_LIMIT, 0x3ff);
	wr(h, GUEST_RIP, 0);
	wr(h, GUEST_RSP, 0x1000);
	wr(h, GUEST_RFLAGS, X86_EFLAGS_FIXED);
}

static void load_code(struct harness *h, const uint8_t *code, size_t len)
{
	harness_load(h, (uint64_t)RM_CODE_SEG << 4, code, len);
}

static void set_gpr(struct harness *h, unsigned int which, uint64_t v)
{
	struct kvm_regs r;

	vtx_cpu_get_regs(h->cpu, &r);
	if (which == REG_RAX)
		r.rax = v;
	else if (which == REG_RCX)
		r.rcx = v;
	else if (which == REG_RSI)
		r.rsi = v;
	else
		r.rdx = v;
	vtx_cpu_set_regs(h->cpu, &r);
}

/* A.3.3: "unrestricted guest" may be 1; A.7: CR0.PE and PG still read
 * as fixed to 1 in IA32_VMX_CR0_FIXED0. */
static void test_unrestricted__offered_and_cr0_fixed0_keeps_pe_pg(void **state)
{
	struct harness *h = *state;
	uint64_t v;

	assert_int_equal(
		vtx_cpu_get_msr(h->cpu, MSR_IA32_VMX_PROCBASED_CTLS2, &v), 0);
	assert_int_equal((v >> 32) & SECONDARY_EXEC_UNRESTRICTED_GUEST,
			 SECONDARY_EXEC_UNRESTRICTED_GUEST);
	assert_int_equal(vtx_cpu_get_msr(h->cpu, MSR_IA32_VMX_CR0_FIXED0, &v),
			 0);
	assert_int_equal(v, X86_CR0_PE | X86_CR0_NE | X86_CR0_PG);
}

/* The guest runs 16-bit code at CS base 0x20000 through EPT; OUT exits
 * with the real-mode state saved (CR0.PE = 0, the CS base, IP). */
static void test_unrestricted__real_mode_guest_out_exits(void **state)
{
	struct harness *h = *state;
	static const uint8_t code[] = {
		0xb0, 0x41, /* mov al, 0x41 */
		0x66, 0x40, /* inc eax */
		0xe6, 0x80, /* out 0x80, al */
	};
	struct vtx_stop st;
	struct kvm_regs r;

	load_code(h, code, sizeof(code));
	rm_guest_setup(h, CPU_BASED_UNCOND_IO_EXITING, true);
	assert_int_equal(vtx_vmlaunch(h->cpu, &st), 0);
	assert_int_equal(st.reason, VTX_STOP_VMEXIT);
	assert_int_equal(rd(h, VM_EXIT_REASON), EXIT_REASON_IO_INSTRUCTION);
	assert_int_equal(rd(h, EXIT_QUALIFICATION),
			 IO_QUAL_IMM | (0x80ull << IO_QUAL_PORT_SHIFT));
	assert_int_equal(rd(h, VM_EXIT_INSTRUCTION_LEN), 2);
	assert_int_equal(rd(h, GUEST_RIP), 4);
	assert_int_equal(rd(h, GUEST_CR0), X86_CR0_ET | X86_CR0_NE);
	assert_int_equal(rd(h, GUEST_CS_SELECTOR), RM_CODE_SEG);
	assert_int_equal(rd(h, GUEST_CS_BASE), 0x20000);
	assert_int_equal(rd(h, VM_ENTRY_CONTROLS) & VM_ENTRY_IA32E_MODE, 0);
	vtx_cpu_get_regs(h->cpu, &r);
	assert_int_equal(r.rax & 0xffff, 0x42);
	assert_int_equal(h->nr_pio, 0);
}

/* Without "unrestricted guest", CR0.PE = 0 fails the guest-state check:
 * entry failure, reason 33 (SDM 27.3.1.1). */
static void test_unrestricted__off_pe0_is_entry_failure_33(void **state)
{
	struct harness *h = *state;
	struct vtx_stop st;

	rm_guest_setup(h, 0, false);
	assert_int_equal(vtx_vmlaunch(h->cpu, &st), 0);
	assert_int_equal(rd(h, VM_EXIT_REASON),
			 EXIT_REASON_INVALID_STATE |
				 VMX_EXIT_REASONS_FAILED_VMENTRY);
	assert_string_equal(h->cpu->vmx_check,
			    "(cr0 & cr0_fixed0) != cr0_fixed0");
}

/* "Unrestricted guest" needs "enable EPT" (SDM 27.2.1.1): VMfail 7. */
static void test_unrestricted__without_ept_is_vmfail_7(void **state)
{
	struct harness *h = *state;
	struct vtx_stop st;

	rm_guest_setup(h, 0, true);
	wr(h, SECONDARY_VM_EXEC_CONTROL, SECONDARY_EXEC_UNRESTRICTED_GUEST);
	assert_int_equal(vtx_vmlaunch(h->cpu, &st),
			 VMXERR_ENTRY_INVALID_CONTROL_FIELD);
}

/* PG = 1 still needs PE = 1, unrestricted or not (SDM 27.3.1.1). */
static void test_unrestricted__pg_without_pe_is_entry_failure(void **state)
{
	struct harness *h = *state;
	struct vtx_stop st;

	rm_guest_setup(h, 0, true);
	wr(h, GUEST_CR0, X86_CR0_ET | X86_CR0_NE | X86_CR0_PG);
	assert_int_equal(vtx_vmlaunch(h->cpu, &st), 0);
	assert_int_equal(rd(h, VM_EXIT_REASON),
			 EXIT_REASON_INVALID_STATE |
				 VMX_EXIT_REASONS_FAILED_VMENTRY);
	assert_string_equal(h->cpu->vmx_check,
			    "(cr0 & X86_CR0_PG) && !(cr0 & X86_CR0_PE)");
}

/* In real mode SS.DPL must be 0 (SDM 27.3.1.2). */
static void test_unrestricted__real_mode_ss_dpl3_is_entry_failure(void **state)
{
	struct harness *h = *state;
	struct vtx_stop st;

	rm_guest_setup(h, 0, true);
	/* CS.DPL = SS.DPL = 3 passes the CS rules; real mode does not. */
	wr(h, GUEST_CS_AR_BYTES, 0xfb);
	wr(h, GUEST_SS_AR_BYTES, 0xf3);
	assert_int_equal(vtx_vmlaunch(h->cpu, &st), 0);
	assert_int_equal(rd(h, VM_EXIT_REASON),
			 EXIT_REASON_INVALID_STATE |
				 VMX_EXIT_REASONS_FAILED_VMENTRY);
	assert_string_equal(h->cpu->vmx_check,
			    "(cs_type == 3 || !pe) && VMX_AR_DPL(ss_ar) != 0");
}

/* REP OUTSB: string and REP in the qualification, a 16-bit address size
 * and DS in the instruction information (Table 28-8), the linear address
 * of DS:SI (SDM 28.2.1). */
static void test_unrestricted__rep_outsb_exit_information(void **state)
{
	struct harness *h = *state;
	static const uint8_t code[] = {
		0xf3, 0x6e, /* rep outs dx, BYTE PTR ds:[si] */
	};
	struct vtx_stop st;

	load_code(h, code, sizeof(code));
	rm_guest_setup(h, CPU_BASED_UNCOND_IO_EXITING, true);
	set_gpr(h, REG_RDX, 0x3f8);
	set_gpr(h, REG_RCX, 4);
	set_gpr(h, REG_RSI, 0x10);
	assert_int_equal(vtx_vmlaunch(h->cpu, &st), 0);
	assert_int_equal(rd(h, VM_EXIT_REASON), EXIT_REASON_IO_INSTRUCTION);
	assert_int_equal(rd(h, EXIT_QUALIFICATION),
			 IO_QUAL_STRING | IO_QUAL_REP |
				 (0x3f8ull << IO_QUAL_PORT_SHIFT));
	assert_int_equal(
		rd(h, VMX_INSTRUCTION_INFO),
		(VMX_INSN_INFO_ADDR_SIZE_16 << VMX_INSN_INFO_ADDR_SIZE_SHIFT) |
			(3u << VMX_INSN_INFO_SEG_SHIFT));
	assert_int_equal(rd(h, GUEST_LINEAR_ADDRESS),
			 ((uint64_t)RM_DATA_SEG << 4) + 0x10);
	assert_int_equal(rd(h, VM_EXIT_INSTRUCTION_LEN), 2);
	assert_int_equal(h->nr_pio, 0);
}

/* The guest switches itself to protected mode with LMSW while L0 owns PE
 * with a shadow of 0: a CR-access exit, access type 3 (LMSW), register
 * operand, source 0x0001 (SDM 26.1.3, Table 28-3). */
static void test_unrestricted__lmsw_setting_owned_pe_exits(void **state)
{
	struct harness *h = *state;
	static const uint8_t code[] = {
		0x0f, 0x01, 0xf0, /* lmsw ax */
	};
	struct vtx_stop st;

	load_code(h, code, sizeof(code));
	rm_guest_setup(h, 0, true);
	wr(h, CR0_GUEST_HOST_MASK, X86_CR0_PE);
	wr(h, CR0_READ_SHADOW, 0);
	set_gpr(h, REG_RAX, 1);
	assert_int_equal(vtx_vmlaunch(h->cpu, &st), 0);
	assert_int_equal(rd(h, VM_EXIT_REASON), EXIT_REASON_CR_ACCESS);
	assert_int_equal(rd(h, EXIT_QUALIFICATION),
			 vmx_build_lmsw_qual(1, false));
	assert_int_equal(rd(h, GUEST_CR0), X86_CR0_ET | X86_CR0_NE);
}

/* CLTS exits when TS is host-owned and set in the shadow; with the shadow
 * clear it runs and leaves the owned TS alone (SDM 26.1.3). */
static void test_unrestricted__clts_exits_only_with_shadow_ts(void **state)
{
	struct harness *h = *state;
	static const uint8_t code[] = {
		0x0f, 0x06, /* clts */
		0x0f, 0x06, /* clts */
		0xf4, /* hlt */
	};
	struct vtx_stop st;

	load_code(h, code, sizeof(code));
	rm_guest_setup(h, 0, true);
	wr(h, GUEST_CR0, X86_CR0_ET | X86_CR0_NE | X86_CR0_TS);
	wr(h, CR0_GUEST_HOST_MASK, X86_CR0_TS);
	wr(h, CR0_READ_SHADOW, X86_CR0_TS);
	assert_int_equal(vtx_vmlaunch(h->cpu, &st), 0);
	assert_int_equal(rd(h, VM_EXIT_REASON), EXIT_REASON_CR_ACCESS);
	assert_int_equal(rd(h, EXIT_QUALIFICATION),
			 (uint64_t)CR_ACCESS_TYPE_CLTS
				 << CONTROL_REG_ACCESS_TYPE_SHIFT);
	assert_int_equal(rd(h, GUEST_RIP), 0);

	wr(h, CR0_READ_SHADOW, 0);
	wr(h, CPU_BASED_VM_EXEC_CONTROL,
	   rd(h, CPU_BASED_VM_EXEC_CONTROL) | CPU_BASED_HLT_EXITING);
	assert_int_equal(vtx_vmresume(h->cpu, &st), 0);
	/* Both CLTS ran without an exit; the owned TS kept its value. */
	assert_int_equal(rd(h, VM_EXIT_REASON), EXIT_REASON_HLT);
	assert_int_equal(rd(h, GUEST_RIP), 4);
	assert_int_equal(rd(h, GUEST_CR0),
			 X86_CR0_ET | X86_CR0_NE | X86_CR0_TS);
}

/* A #GP in a real-mode guest exits through the exception bitmap with no
 * error code: real mode would push none (SDM 28.2.2). */
static void test_unrestricted__real_mode_gp_exit_has_no_error_code(void **state)
{
	struct harness *h = *state;
	static const uint8_t code[] = {
		0x67, 0x8b, 0x03, /* mov ax, WORD PTR [ebx] */
	};
	struct vtx_stop st;

	load_code(h, code, sizeof(code));
	rm_guest_setup(h, 0, true);
	wr(h, EXCEPTION_BITMAP, 1u << GP_VECTOR);
	{
		struct kvm_regs r;

		vtx_cpu_get_regs(h->cpu, &r);
		r.rbx = 0x10000;
		vtx_cpu_set_regs(h->cpu, &r);
	}
	assert_int_equal(vtx_vmlaunch(h->cpu, &st), 0);
	assert_int_equal(rd(h, VM_EXIT_REASON), EXIT_REASON_EXCEPTION_NMI);
	assert_int_equal(rd(h, VM_EXIT_INTR_INFO),
			 INTR_INFO_VALID_MASK | INTR_TYPE_HARD_EXCEPTION |
				 GP_VECTOR);
	assert_int_equal(rd(h, GUEST_RIP), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(name) \
	cmocka_unit_test_setup_teardown(name, harness_setup, harness_teardown)
		T(test_unrestricted__offered_and_cr0_fixed0_keeps_pe_pg),
		T(test_unrestricted__real_mode_guest_out_exits),
		T(test_unrestricted__off_pe0_is_entry_failure_33),
		T(test_unrestricted__without_ept_is_vmfail_7),
		T(test_unrestricted__pg_without_pe_is_entry_failure),
		T(test_unrestricted__real_mode_ss_dpl3_is_entry_failure),
		T(test_unrestricted__rep_outsb_exit_information),
		T(test_unrestricted__lmsw_setting_owned_pe_exits),
		T(test_unrestricted__clts_exits_only_with_shadow_ts),
		T(test_unrestricted__real_mode_gp_exit_has_no_error_code),
#undef T
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
