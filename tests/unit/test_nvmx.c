/* SPDX-License-Identifier: MIT */
/*
 * test_nvmx.c - L0's nested VMX under L1 programs in raw instruction bytes:
 * VMX instructions and their VMfail cases (SDM Vol. 3C 31.2, 31.3), L1's
 * CPUID and VMX MSRs, nested entry (27.2, 27.8), reflection (28.2), ept02
 * faults, the reflection switch's default, that no address L1 supplies
 * makes L0 touch memory outside L1's RAM, and VMCS shadowing offered to
 * L1 for its L2. L0's own use of VMCS shadowing for L1 (--vmcs-access) is
 * tests/unit/test_nvmx_shadow.c. Host side, tests only.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include <asm/vmx.h>

#include "arch/boot_layout.h"
#include "arch/ept.h"
#include "arch/vmx_exit_qual.h"
#include "arch/vmx_insn_errors.h"
#include "arch/x86_msr.h"
#include "l0/boot.h"
#include "l0/dev/debug_exit.h"
#include "l0/iobus.h"
#include "l0/nvmx.h"
#include "l0/vm.h"
#include "tests/unit/nvmx_fixture.h"
#include "tests/unit/vmcs12_fixture.h"
#include "vmcs-merge/caps.h"
#include "vmcs-merge/shadow.h"
#include "vmcs-merge/vmcs12.h"
#include "vtx/vtx.h"

/* ---- VMXON, VMPTRLD, VMCLEAR (SDM 31.3) -------------------------------------- */

/* VMXON with CR4.VMXE clear (as L1 sees CR4) is #UD. */
static void test_vmxon__cr4_vmxe_clear_injects_ud_into_l1(void **state)
{
	struct fixture *f = *state;
	struct prog p = { 0 };

	put_region(f, VMXON, VMCS12_REVISION, 0);
	put64(f, DATA, VMXON);
	op_vmxon(&p, DATA);
	op(&p, HLT, 1);
	run_l1(f, &p);
	expect_halt_at(f, L1_STUBS + UD_VECTOR * 16 + 6);
	assert_int_equal(gpr(f, VCPU_REGS_R15), UD_VECTOR);
	assert_false(f->vm.nvmx->vmxon);
}

/* The region must carry IA32_VMX_BASIC's revision: VMfailInvalid (CF). */
static void test_vmxon__model_revision_fails_invalid_with_cf(void **state)
{
	struct fixture *f = *state;
	struct prog p = { 0 };
	uint64_t basic;

	vtx_cpu_get_msr(f->cpu, MSR_IA32_VMX_BASIC, &basic);
	op_set_cr4_vmxe(&p);
	op_vmxon(&p, DATA);
	op(&p, HLT, 1);
	put_region(f, VMXON, vmx_basic_get_revision(basic), 0);
	put64(f, DATA, VMXON);
	run_l1(f, &p);
	expect_halt_at(f, L1_CODE + p.n - 1);
	assert_int_equal(l1_flags(f), X86_EFLAGS_CF);
	assert_false(f->vm.nvmx->vmxon);
}

/* A VMXON pointer into the L0 area (right after L1's RAM) reads as all
 * ones: VMfailInvalid, and L0's page is left as it was. */
static void test_vmxon__pointer_into_l0_area_fails_invalid(void **state)
{
	struct fixture *f = *state;
	struct prog p = { 0 };
	uint64_t before = get64(f, L1_RAM);

	op_set_cr4_vmxe(&p);
	op_vmxon(&p, DATA);
	op(&p, HLT, 1);
	put64(f, DATA, L1_RAM);
	run_l1(f, &p);
	expect_halt_at(f, L1_CODE + p.n - 1);
	assert_int_equal(l1_flags(f), X86_EFLAGS_CF);
	assert_int_equal(get64(f, L1_RAM), before);
}

static void test_vmxon__in_vmx_operation_fails_valid_error_15(void **state)
{
	struct fixture *f = *state;
	struct prog p = { 0 };

	put_region(f, VMCS_A, VMCS12_REVISION, 0);
	prologue_vmptrld(f, &p, VMCS_A);
	op_vmxon(&p, DATA);
	op(&p, HLT, 1);
	run_l1(f, &p);
	expect_halt_at(f, L1_CODE + p.n - 1);
	assert_int_equal(l1_flags(f), X86_EFLAGS_ZF);
	assert_int_equal(f->vm.nvmx->vmcs12->vm_instruction_error,
			 VMXERR_VMXON_IN_VMX_ROOT_OPERATION);
}

static void test_vmptrld__vmxon_pointer_fails_valid_error_10(void **state)
{
	struct fixture *f = *state;
	struct prog p = { 0 };

	put_region(f, VMCS_A, VMCS12_REVISION, 0);
	prologue_vmptrld(f, &p, VMCS_A);
	op_vmptrld(&p, DATA); /* [DATA] is the VMXON pointer */
	op(&p, HLT, 1);
	run_l1(f, &p);
	expect_halt_at(f, L1_CODE + p.n - 1);
	assert_int_equal(l1_flags(f), X86_EFLAGS_ZF);
	assert_int_equal(f->vm.nvmx->vmptr, VMCS_A);
	assert_int_equal(f->vm.nvmx->vmcs12->vm_instruction_error,
			 VMXERR_VMPTRLD_VMXON_POINTER);
}

static void test_vmptrld__bad_revision_fails_valid_error_11(void **state)
{
	struct fixture *f = *state;
	struct prog p = { 0 };

	put_region(f, VMCS_A, VMCS12_REVISION, 0);
	put_region(f, VMCS_B, VMCS12_REVISION ^ 1, 0);
	prologue_vmptrld(f, &p, VMCS_A);
	put64(f, DATA + 16, VMCS_B);
	op_vmptrld(&p, DATA + 16);
	op(&p, HLT, 1);
	run_l1(f, &p);
	expect_halt_at(f, L1_CODE + p.n - 1);
	assert_int_equal(l1_flags(f), X86_EFLAGS_ZF);
	assert_int_equal(f->vm.nvmx->vmptr, VMCS_A);
	assert_int_equal(f->vm.nvmx->vmcs12->vm_instruction_error,
			 VMXERR_VMPTRLD_INCORRECT_VMCS_REVISION_ID);
}

/*
 * A page of the L0 area made to look like a launched vmcs12: VMPTRLD of
 * its address must not load it (error 11, as for any address with no
 * RAM behind it) and VMCLEAR must not write its launch state.
 */
static void
test_vmptrld__l0_area_page_fails_valid_11_and_is_untouched(void **state)
{
	struct fixture *f = *state;
	const gpa_t bait = L1_RAM + MiB(2);
	struct prog p = { 0 };

	put_region(f, VMCS_A, VMCS12_REVISION, 0);
	put_region(f, bait, VMCS12_REVISION, VMCS12_LAUNCH_LAUNCHED);
	prologue_vmptrld(f, &p, VMCS_A);
	put64(f, DATA + 16, bait);
	op_vmptrld(&p, DATA + 16);
	op_vmclear(&p, DATA + 16);
	op(&p, HLT, 1);
	run_l1(f, &p);
	expect_halt_at(f, L1_CODE + p.n - 1);
	assert_int_equal(f->vm.nvmx->vmptr, VMCS_A);
	assert_int_equal(f->vm.nvmx->vmcs12->vm_instruction_error,
			 VMXERR_VMPTRLD_INCORRECT_VMCS_REVISION_ID);
	/* VMCLEAR of an address outside L1's RAM succeeds, writing nothing. */
	assert_int_equal(l1_flags(f), 0);
	/* Revision and abort words, then launch state and padding. */
	assert_int_equal(get64(f, bait), VMCS12_REVISION);
	assert_int_equal(get64(f, bait + 8), VMCS12_LAUNCH_LAUNCHED);
}

static void test_vmclear__unaligned_fails_valid_error_2(void **state)
{
	struct fixture *f = *state;
	struct prog p = { 0 };

	put_region(f, VMCS_A, VMCS12_REVISION, 0);
	prologue_vmptrld(f, &p, VMCS_A);
	put64(f, DATA + 16, VMCS_B + 8);
	op_vmclear(&p, DATA + 16);
	op(&p, HLT, 1);
	run_l1(f, &p);
	expect_halt_at(f, L1_CODE + p.n - 1);
	assert_int_equal(l1_flags(f), X86_EFLAGS_ZF);
	assert_int_equal(f->vm.nvmx->vmcs12->vm_instruction_error,
			 VMXERR_VMCLEAR_INVALID_ADDRESS);
}

/* VMCLEAR of the current vmcs12 writes the cached copy back, launch state
 * clear, and leaves L1 without a current VMCS (SDM 31.3 "VMCLEAR"). */
static void test_vmclear__current_vmcs12_written_back_and_released(void **state)
{
	struct fixture *f = *state;
	struct prog p = { 0 };
	struct vmcs12 mem;

	put_region(f, VMCS_A, VMCS12_REVISION, 0);
	prologue_vmptrld(f, &p, VMCS_A);
	op_mov_imm64(&p, OP_RAX, GUEST_RIP);
	op_mov_imm64(&p, OP_RCX, 0x1234567);
	op(&p, VMWRITE_RAX_RCX, 3);
	op_vmclear(&p, DATA + 8);
	op(&p, HLT, 1);
	run_l1(f, &p);
	expect_halt_at(f, L1_CODE + p.n - 1);
	assert_int_equal(l1_flags(f), 0);
	assert_int_equal(f->vm.nvmx->vmptr, NVMX_NO_VMPTR);
	assert_int_equal(vtx_hpa_read(f->m, VMCS_A, &mem, sizeof(mem)), 0);
	assert_int_equal(mem.guest_rip, 0x1234567);
	assert_int_equal(mem.launch_state, VMCS12_LAUNCH_CLEAR);
}

/* ---- VMLAUNCH and VMRESUME launch states --------------------------------------- */

static void test_vmlaunch__launched_vmcs12_fails_valid_error_4(void **state)
{
	struct fixture *f = *state;
	struct prog p = { 0 };

	put_region(f, VMCS_A, VMCS12_REVISION, VMCS12_LAUNCH_LAUNCHED);
	prologue_vmptrld(f, &p, VMCS_A);
	op(&p, VMLAUNCH, 3);
	op(&p, HLT, 1);
	run_l1(f, &p);
	expect_halt_at(f, L1_CODE + p.n - 1);
	assert_int_equal(l1_flags(f), X86_EFLAGS_ZF);
	assert_int_equal(f->vm.nvmx->vmcs12->vm_instruction_error,
			 VMXERR_VMLAUNCH_NONCLEAR_VMCS);
}

static void test_vmresume__clear_vmcs12_fails_valid_error_5(void **state)
{
	struct fixture *f = *state;
	struct prog p = { 0 };

	put_region(f, VMCS_A, VMCS12_REVISION, VMCS12_LAUNCH_CLEAR);
	prologue_vmptrld(f, &p, VMCS_A);
	op(&p, VMRESUME, 3);
	op(&p, HLT, 1);
	run_l1(f, &p);
	expect_halt_at(f, L1_CODE + p.n - 1);
	assert_int_equal(l1_flags(f), X86_EFLAGS_ZF);
	assert_int_equal(f->vm.nvmx->vmcs12->vm_instruction_error,
			 VMXERR_VMRESUME_NONLAUNCHED_VMCS);
}

/* ---- VMREAD, VMWRITE, VMPTRST, VMCALL ------------------------------------------- */

static void test_vmread__unsupported_field_fails_valid_error_12(void **state)
{
	struct fixture *f = *state;
	struct prog p = { 0 };

	put_region(f, VMCS_A, VMCS12_REVISION, 0);
	prologue_vmptrld(f, &p, VMCS_A);
	op_mov_imm64(&p, OP_RAX, POSTED_INTR_DESC_ADDR);
	op(&p, VMREAD_RBX_RAX, 3);
	op(&p, HLT, 1);
	run_l1(f, &p);
	expect_halt_at(f, L1_CODE + p.n - 1);
	assert_int_equal(l1_flags(f), X86_EFLAGS_ZF);
	assert_int_equal(f->vm.nvmx->vmcs12->vm_instruction_error,
			 VMXERR_UNSUPPORTED_VMCS_COMPONENT);
	assert_int_equal(f->vm.stats.vmreads, 1);
}

static void test_vmread__without_current_vmcs_fails_invalid(void **state)
{
	struct fixture *f = *state;
	struct prog p = { 0 };

	prologue_vmxon(f, &p);
	op_mov_imm64(&p, OP_RAX, GUEST_RIP);
	op(&p, VMREAD_RBX_RAX, 3);
	op(&p, HLT, 1);
	run_l1(f, &p);
	expect_halt_at(f, L1_CODE + p.n - 1);
	assert_int_equal(l1_flags(f), X86_EFLAGS_CF);
}

/* VMWRITE truncates to the field's width; VMREAD zero-extends. */
static void
test_vmwrite_vmread__round_trip_truncated_to_field_width(void **state)
{
	struct fixture *f = *state;
	struct prog p = { 0 };

	put_region(f, VMCS_A, VMCS12_REVISION, 0);
	prologue_vmptrld(f, &p, VMCS_A);
	op_mov_imm64(&p, OP_RAX, GUEST_ES_SELECTOR);
	op_mov_imm64(&p, OP_RCX, 0xffffffff12345678ull);
	op(&p, VMWRITE_RAX_RCX, 3);
	op(&p, VMREAD_RBX_RAX, 3);
	op(&p, HLT, 1);
	run_l1(f, &p);
	expect_halt_at(f, L1_CODE + p.n - 1);
	assert_int_equal(l1_flags(f), 0);
	assert_int_equal(gpr(f, VCPU_REGS_RBX), 0x5678);
	assert_int_equal(f->vm.nvmx->vmcs12->guest_es_selector, 0x5678);
	assert_int_equal(f->vm.stats.vmreads, 1);
	assert_int_equal(f->vm.stats.vmwrites, 1);
}

/* A memory operand at an unmapped linear address: #PF in L1 with CR2 and
 * the write bit, and the instruction does not complete. */
static void
test_vmread__unmapped_memory_operand_injects_pf_with_cr2(void **state)
{
	struct fixture *f = *state;
	struct prog p = { 0 };
	struct kvm_sregs sregs;

	put_region(f, VMCS_A, VMCS12_REVISION, 0);
	prologue_vmptrld(f, &p, VMCS_A);
	op_mov_imm64(&p, OP_RAX, GUEST_RIP);
	op_vmread_to_mem(&p, 0x40000000); /* beyond the 8 MiB mapped */
	op(&p, HLT, 1);
	run_l1(f, &p);
	expect_halt_at(f, L1_STUBS + PF_VECTOR * 16 + 6);
	assert_int_equal(gpr(f, VCPU_REGS_R15), PF_VECTOR);
	vtx_cpu_get_sregs(f->cpu, &sregs);
	assert_int_equal(sregs.cr2, 0x40000000);
}

static void test_vmptrst__stores_current_pointer_in_l1_memory(void **state)
{
	struct fixture *f = *state;
	struct prog p = { 0 };

	put_region(f, VMCS_A, VMCS12_REVISION, 0);
	prologue_vmptrld(f, &p, VMCS_A);
	op_vmptrst(&p, DATA + 24);
	op(&p, HLT, 1);
	run_l1(f, &p);
	expect_halt_at(f, L1_CODE + p.n - 1);
	assert_int_equal(get64(f, DATA + 24), VMCS_A);
}

static void test_vmcall__in_vmx_operation_fails_valid_error_1(void **state)
{
	struct fixture *f = *state;
	struct prog p = { 0 };

	put_region(f, VMCS_A, VMCS12_REVISION, 0);
	prologue_vmptrld(f, &p, VMCS_A);
	op(&p, VMCALL, 3);
	op(&p, HLT, 1);
	run_l1(f, &p);
	expect_halt_at(f, L1_CODE + p.n - 1);
	assert_int_equal(f->vm.nvmx->vmcs12->vm_instruction_error,
			 VMXERR_VMCALL_IN_VMX_ROOT_OPERATION);
}

/* ---- L1's CPUID and MSRs ------------------------------------------------------------ */

static void test_l1_cpuid__leaf_1_reports_vmx(void **state)
{
	struct fixture *f = *state;
	struct prog p = { 0 };

	op_mov_imm64(&p, OP_RAX, 1);
	op(&p, CPUID, 2);
	op(&p, HLT, 1);
	run_l1(f, &p);
	expect_halt_at(f, L1_CODE + p.n - 1);
	assert_int_equal(gpr(f, VCPU_REGS_RCX) & (1u << 5), 1u << 5);
}

static void test_l1_rdmsr__vmx_basic_gives_vmcs12_revision(void **state)
{
	struct fixture *f = *state;
	struct prog p = { 0 };

	op_mov_ecx(&p, MSR_IA32_VMX_BASIC);
	op(&p, RDMSR, 2);
	op(&p, HLT, 1);
	run_l1(f, &p);
	expect_halt_at(f, L1_CODE + p.n - 1);
	assert_int_equal(gpr(f, VCPU_REGS_RAX), VMCS12_REVISION);
	assert_int_equal(f->vm.stats.l1_exits[EXIT_REASON_MSR_READ], 1);
}

/* Feature control reads locked with VMX outside SMX; writing it is #GP. */
static void test_l1_wrmsr__locked_feature_control_injects_gp(void **state)
{
	struct fixture *f = *state;
	struct prog p = { 0 };

	op_mov_ecx(&p, MSR_IA32_FEAT_CTL);
	op(&p, RDMSR, 2);
	op(&p, WRMSR, 2);
	op(&p, HLT, 1);
	run_l1(f, &p);
	expect_halt_at(f, L1_STUBS + GP_VECTOR * 16 + 6);
	assert_int_equal(gpr(f, VCPU_REGS_RAX),
			 FEAT_CTL_LOCKED | FEAT_CTL_VMX_ENABLED_OUTSIDE_SMX);
}

/*
 * CR0.NE belongs to L0 (VMX fixes it to 1): L1 may clear it in its own
 * view, and then VMXON's CR0 check fails with #GP(0) as on silicon, while
 * the real CR0 keeps NE for non-root operation.
 */
static void test_l1_cr0_ne_clear__seen_by_l1_and_vmxon_gp(void **state)
{
	/* 0f 20 c0     mov rax, cr0
	 * 48 83 e0 df  and rax, 0xffffffffffffffdf (clear CR0.NE)
	 * 0f 22 c0     mov cr0, rax
	 * 0f 20 c3     mov rbx, cr0 */
	static const uint8_t clear_ne[] = { 0x0f, 0x20, 0xc0, 0x48, 0x83,
					    0xe0, 0xdf, 0x0f, 0x22, 0xc0,
					    0x0f, 0x20, 0xc3 };
	struct fixture *f = *state;
	struct prog p = { 0 };

	op(&p, clear_ne, sizeof(clear_ne));
	prologue_vmxon(f, &p);
	op(&p, HLT, 1);
	run_l1(f, &p);
	expect_halt_at(f, L1_STUBS + GP_VECTOR * 16 + 6);
	assert_int_equal(gpr(f, VCPU_REGS_RBX) & X86_CR0_NE, 0);
	assert_int_equal(rd01(f, GUEST_CR0) & X86_CR0_NE, X86_CR0_NE);
	assert_false(f->vm.nvmx->vmxon);
}

/* L1 in VMX root operation sets reserved CR0 bits 31:0: they are dropped
 * as on the processor (SDM Vol. 3A 2.5), not a #GP, and L1 reads its CR0
 * back unchanged. Found by fuzz_l1vmx's differential check. */
static void test_l1_cr0_reserved_low_bits__dropped_as_on_silicon(void **state)
{
	/* 0f 20 c0         mov rax, cr0
	 * 48 0d 40 00 fa 1f or rax, 0x1ffa0040 (bits 6, 17, 19-28)
	 * 0f 22 c0         mov cr0, rax
	 * 0f 20 c3         mov rbx, cr0
	 * 0f 20 c1         mov rcx, cr0 (the value before, kept below) */
	static const uint8_t set_rsvd[] = {
		0x0f, 0x20, 0xc1, 0x0f, 0x20, 0xc0, 0x48, 0x0d, 0x40,
		0x00, 0xfa, 0x1f, 0x0f, 0x22, 0xc0, 0x0f, 0x20, 0xc3
	};
	struct fixture *f = *state;
	struct prog p = { 0 };

	prologue_vmxon(f, &p);
	op(&p, set_rsvd, sizeof(set_rsvd));
	op(&p, HLT, 1);
	run_l1(f, &p);
	expect_halt_at(f, L1_CODE + p.n - 1);
	assert_int_equal(gpr(f, VCPU_REGS_RBX), gpr(f, VCPU_REGS_RCX));
	assert_int_equal(rd01(f, CR0_READ_SHADOW) & 0x1ffa0040, 0);
	assert_true(f->vm.nvmx->vmxon);
}

/* A control L0 does not offer: VMfailValid(7), nothing entered, and L0
 * records the rule (SDM 27.2.1.1). */
static void test_vmlaunch__pin_controls_outside_caps_fail_valid_7(void **state)
{
	struct fixture *f = *state;
	struct prog l2 = { 0 };
	struct vmcs12 v;

	nvmx_valid_vmcs12(f, &v, 0);
	v.pin_based_vm_exec_control = 0;
	op(&l2, HLT, 1);
	expect_halt_at(f, nvmx_run_nested(f, &v, &l2));
	assert_int_equal(l1_flags(f), X86_EFLAGS_ZF);
	assert_int_equal(f->vm.nvmx->vmcs12->vm_instruction_error,
			 VMXERR_ENTRY_INVALID_CONTROL_FIELD);
	assert_string_equal(
		f->vm.nvmx->last_check.check,
		"!nested_vmx_ctl_ok(caps, MSR_IA32_VMX_TRUE_PINBASED_CTLS, "
		"v->pin_based_vm_exec_control)");
	assert_int_equal(f->vm.stats.nested_vmfails, 1);
	assert_int_equal(f->vm.stats.nested_entries, 0);
}

/* A link pointer naming no VMCS region (L1-physical 0 holds no vmcs12
 * revision) is an entry failure (SDM 27.3.1.5, 27.8): L1 resumes at its
 * host RIP and reads reason 33 with bit 31 and qualification 4. */
static void
test_vmlaunch__bad_link_pointer_is_entry_failure_at_host_rip(void **state)
{
	struct fixture *f = *state;
	struct prog l2 = { 0 };
	struct vmcs12 v;

	nvmx_valid_vmcs12(f, &v, 0);
	v.vmcs_link_pointer = 0;
	op(&l2, HLT, 1);
	nvmx_run_nested(f, &v, &l2);
	expect_halt_at(f, L1_HOST_RIP);
	assert_int_equal(f->vm.nvmx->vmcs12->vm_exit_reason,
			 EXIT_REASON_INVALID_STATE |
				 VMX_EXIT_REASONS_FAILED_VMENTRY);
	assert_int_equal(f->vm.nvmx->vmcs12->exit_qualification,
			 ENTRY_FAIL_VMCS_LINK_PTR);
	assert_int_equal(f->vm.nvmx->vmcs12->launch_state, VMCS12_LAUNCH_CLEAR);
	assert_int_equal(f->vm.stats.nested_entry_failures, 1);
	assert_int_equal(rd01(f, GUEST_RSP), L1_EXIT_STACK);
}

/* L2's CPUID always goes to L1: exit reason 10, instruction length 2,
 * L2's RIP at the CPUID, launch state launched; L1 at its host RIP. */
static void test_vmlaunch__l2_cpuid_reflected_with_exit_info(void **state)
{
	struct fixture *f = *state;
	struct prog l2 = { 0 };
	struct vmcs12 v;
	const struct vmcs12 *v12 = f->vm.nvmx->vmcs12;

	nvmx_valid_vmcs12(f, &v, 0);
	op(&l2, CPUID, 2);
	nvmx_run_nested(f, &v, &l2);
	expect_halt_at(f, L1_HOST_RIP);
	assert_int_equal(v12->vm_exit_reason, EXIT_REASON_CPUID);
	assert_int_equal(v12->vm_exit_instruction_len, 2);
	assert_int_equal(v12->guest_rip, L2_CODE);
	assert_int_equal(v12->guest_rsp, L2_STACK);
	assert_int_equal(v12->launch_state, VMCS12_LAUNCH_LAUNCHED);
	assert_int_equal(f->vm.stats.nested_entries, 1);
	assert_int_equal(f->vm.stats.l2_exits[EXIT_REASON_CPUID], 1);
	assert_int_equal(f->vm.stats.reflected[EXIT_REASON_CPUID].count, 1);
	/* The span of the reflected exit: the L2 exit, L1's entry, and the
	 * exit of L1's HLT, its one L1 exit before the run stopped. */
	assert_int_equal(
		f->vm.stats.reflected[EXIT_REASON_CPUID].world_switches, 3);
	assert_int_equal(f->vm.stats.reflected[EXIT_REASON_CPUID].l1_exits, 1);
	assert_int_equal(rd01(f, GUEST_RFLAGS), X86_EFLAGS_FIXED);
	assert_int_equal(rd01(f, CR4_READ_SHADOW) & X86_CR4_VMXE, X86_CR4_VMXE);
}

/* ---- ept02 in a nested run -------------------------------------------------------------- */

/* ept12 maps L2-physical [0, 2 MiB) to the same L1-physical range. */
static uint64_t ept12_first_2m(struct fixture *f)
{
	put64(f, EPT12, (EPT12 + 0x1000) | EPT_RWX);
	put64(f, EPT12 + 0x1000, (EPT12 + 0x2000) | EPT_RWX);
	put64(f, EPT12 + 0x2000, 0 | EPT_RWX | EPT_LARGE | EPT_MT(EPT_MT_WB));
	return vmx_build_eptp(EPT12, 4, false);
}

/*
 * L2 fetches its code and reads L2-physical 0x3ff000, which ept12 leaves
 * unmapped. The fetch misses ept02 five times (L2's PML4, PDPT, PD, the
 * PT of the first 2 MiB, the code page): hidden faults, filled by L0 alone.
 * The read is ept12's own violation: reflected with the GPA, the linear
 * address and ept12's rights (none) in the qualification (SDM Table 28-7).
 */
static void test_l2_ept__hidden_faults_filled_true_fault_reflected(void **state)
{
	struct fixture *f = *state;
	const struct vmcs12 *v12 = f->vm.nvmx->vmcs12;
	struct prog l2 = { 0 };
	struct vmcs12 v;

	nvmx_valid_vmcs12(f, &v, ept12_first_2m(f));
	op_load_rax(&l2, 0x3ff000);
	nvmx_run_nested(f, &v, &l2);
	expect_halt_at(f, L1_HOST_RIP);
	assert_int_equal(f->vm.stats.ept02_fills, 5);
	assert_int_equal(f->vm.stats.ept_violations_reflected, 1);
	assert_int_equal(v12->vm_exit_reason, EXIT_REASON_EPT_VIOLATION);
	assert_int_equal(v12->guest_physical_address, 0x3ff000);
	assert_int_equal(v12->guest_linear_address, 0x3ff000);
	assert_int_equal(v12->exit_qualification,
			 EPT_VIOLATION_ACC_READ | EPT_VIOLATION_GVA_IS_VALID |
				 EPT_VIOLATION_GVA_TRANSLATED);
	assert_int_equal(v12->guest_rip, L2_CODE);
	assert_int_equal(ept02_lookup(&f->vm.nvmx->ept02, L2_CODE), L2_CODE);
}

/* An ept12 whose root L1 placed in the L0 area (after its RAM): the walk
 * reads all ones, a misconfiguration reflected to L1 at L2's first access
 * (the PML4 read of the first fetch), and L0's page is not touched. */
static void test_l2_ept__ept12_root_in_l0_area_reflects_misconfig(void **state)
{
	struct fixture *f = *state;
	const struct vmcs12 *v12 = f->vm.nvmx->vmcs12;
	struct prog l2 = { 0 };
	struct vmcs12 v;
	uint8_t before[PAGE_SIZE], after[PAGE_SIZE];

	assert_int_equal(vtx_hpa_read(f->m, L1_RAM, before, PAGE_SIZE), 0);
	nvmx_valid_vmcs12(f, &v, vmx_build_eptp(L1_RAM, 4, false));
	op(&l2, HLT, 1);
	nvmx_run_nested(f, &v, &l2);
	expect_halt_at(f, L1_HOST_RIP);
	assert_int_equal(v12->vm_exit_reason, EXIT_REASON_EPT_MISCONFIG);
	assert_int_equal(v12->guest_physical_address, BOOT_PML4);
	assert_int_equal(f->vm.stats.ept02_fills, 0);
	assert_int_equal(vtx_hpa_read(f->m, L1_RAM, after, PAGE_SIZE), 0);
	assert_memory_equal(before, after, PAGE_SIZE);
}

/* ---- I/O bitmaps ------------------------------------------------------------------ */

/* An I/O bitmap outside L1's RAM (in the L0 area, which is zero there)
 * reads as all ones: the OUT goes to L1. */
static void test_l2_io__bitmap_outside_l1_ram_reflects_to_l1(void **state)
{
	struct fixture *f = *state;
	const struct vmcs12 *v12 = f->vm.nvmx->vmcs12;
	struct prog l2 = { 0 };
	struct vmcs12 v;

	nvmx_valid_vmcs12(f, &v, 0);
	v.cpu_based_vm_exec_control |= CPU_BASED_USE_IO_BITMAPS;
	v.io_bitmap_a = L1_RAM + MiB(1);
	v.io_bitmap_b = IO_B;
	op(&l2, OUT_80, 2);
	nvmx_run_nested(f, &v, &l2);
	expect_halt_at(f, L1_HOST_RIP);
	assert_int_equal(v12->vm_exit_reason, EXIT_REASON_IO_INSTRUCTION);
	assert_int_equal(v12->exit_qualification,
			 IO_QUAL_IMM | (0x80ull << IO_QUAL_PORT_SHIFT));
	assert_int_equal(f->bus.unclaimed_writes, 0);
}

/* A clear bit: L1 did not ask, so L0 performs the OUT for L2 on its bus
 * (an unclaimed port) and L2 goes on to its CPUID, which L1 gets. */
static void test_l2_io__clear_bitmap_bit_l0_performs_access_for_l2(void **state)
{
	struct fixture *f = *state;
	const struct vmcs12 *v12 = f->vm.nvmx->vmcs12;
	struct prog l2 = { 0 };
	struct vmcs12 v;

	nvmx_valid_vmcs12(f, &v, 0);
	v.cpu_based_vm_exec_control |= CPU_BASED_USE_IO_BITMAPS;
	v.io_bitmap_a = IO_A;
	v.io_bitmap_b = IO_B;
	op(&l2, OUT_80, 2);
	op(&l2, CPUID, 2);
	nvmx_run_nested(f, &v, &l2);
	expect_halt_at(f, L1_HOST_RIP);
	assert_int_equal(f->bus.unclaimed_writes, 1);
	assert_int_equal(f->vm.stats.l2_exits[EXIT_REASON_IO_INSTRUCTION], 1);
	assert_int_equal(
		f->vm.stats.reflected[EXIT_REASON_IO_INSTRUCTION].count, 0);
	assert_int_equal(v12->vm_exit_reason, EXIT_REASON_CPUID);
	assert_int_equal(v12->guest_rip, L2_CODE + 2);
}

/* L2's RDMSR that L1's bitmap does not intercept reads L1's view: L0's
 * locked feature control. */
static void test_l2_msr__unintercepted_rdmsr_reads_l1_view(void **state)
{
	struct fixture *f = *state;
	const struct vmcs12 *v12 = f->vm.nvmx->vmcs12;
	struct prog l2 = { 0 };
	struct vmcs12 v;

	nvmx_valid_vmcs12(f, &v, 0);
	v.cpu_based_vm_exec_control |= CPU_BASED_USE_MSR_BITMAPS;
	v.msr_bitmap = MSRS;
	op_mov_ecx(&l2, MSR_IA32_FEAT_CTL);
	op(&l2, RDMSR, 2);
	op(&l2, CPUID, 2);
	nvmx_run_nested(f, &v, &l2);
	expect_halt_at(f, L1_HOST_RIP);
	assert_int_equal(v12->vm_exit_reason, EXIT_REASON_CPUID);
	assert_int_equal(f->vm.stats.l2_exits[EXIT_REASON_MSR_READ], 1);
	/* CPUID was reflected but not run: RAX still holds the MSR. */
	assert_int_equal(gpr(f, VCPU_REGS_RAX),
			 FEAT_CTL_LOCKED | FEAT_CTL_VMX_ENABLED_OUTSIDE_SMX);
}

/* ---- vmcs12's MSR areas (SDM 27.4, 28.4, 28.6) ------------------------------------ */

/* One 16-byte MSR-area entry at at: index (bits 63:32 as given), data. */
static void put_msr_entry(struct fixture *f, gpa_t at, uint64_t index,
			  uint64_t data)
{
	put64(f, at, index);
	put64(f, at + 8, data);
}

static void use_msr_areas(struct vmcs12 *v, uint32_t n_load, uint32_t n_store,
			  uint32_t n_exit_load)
{
	v->vm_entry_msr_load_addr = ENTRY_LOAD;
	v->vm_entry_msr_load_count = n_load;
	v->vm_exit_msr_store_addr = EXIT_STORE;
	v->vm_exit_msr_store_count = n_store;
	v->vm_exit_msr_load_addr = EXIT_LOAD;
	v->vm_exit_msr_load_count = n_exit_load;
}

/* The entry load reaches L2 (a VMCS-field MSR into vmcs02, a processor
 * MSR as such), the exit store saves L2's values into L1's memory, the
 * exit load gives L1 its own after the reflected CPUID. */
static void
test_msr_areas__entry_load_store_and_exit_load_round_trip(void **state)
{
	struct fixture *f = *state;
	const struct vmcs12 *v12 = f->vm.nvmx->vmcs12;
	struct prog l2 = { 0 };
	struct vmcs12 v;

	nvmx_valid_vmcs12(f, &v, 0);
	use_msr_areas(&v, 2, 2, 1);
	put_msr_entry(f, ENTRY_LOAD, MSR_IA32_SYSENTER_ESP, 0x1234000);
	put_msr_entry(f, ENTRY_LOAD + 16, MSR_LSTAR, 0xffff800000001000ull);
	put_msr_entry(f, EXIT_STORE, MSR_IA32_SYSENTER_ESP, 0x5555);
	put_msr_entry(f, EXIT_STORE + 16, MSR_LSTAR, 0x5555);
	put_msr_entry(f, EXIT_LOAD, MSR_IA32_SYSENTER_EIP, 0xabc000);
	op(&l2, CPUID, 2);
	nvmx_run_nested(f, &v, &l2);
	expect_halt_at(f, L1_HOST_RIP);
	assert_int_equal(v12->vm_exit_reason, EXIT_REASON_CPUID);
	assert_int_equal(v12->guest_sysenter_esp, 0x1234000);
	assert_int_equal(get64(f, EXIT_STORE + 8), 0x1234000);
	assert_int_equal(get64(f, EXIT_STORE + 24), 0xffff800000001000ull);
	assert_int_equal(rd01(f, GUEST_SYSENTER_EIP), 0xabc000);
	assert_int_equal(v12->launch_state, VMCS12_LAUNCH_LAUNCHED);
	assert_int_equal(f->vm.stats.nested_entries, 1);
}

/* SDM 27.4, 27.8: the second entry names IA32_FS_BASE: entry failure 34
 * with qualification 2; the first entry stays loaded, the exit MSR-load
 * area is loaded, nothing is stored, the launch state stays clear. */
static void
test_msr_areas__entry_load_bad_second_entry_fails_34_qual_2(void **state)
{
	struct fixture *f = *state;
	const struct vmcs12 *v12 = f->vm.nvmx->vmcs12;
	struct prog l2 = { 0 };
	struct vmcs12 v;

	nvmx_valid_vmcs12(f, &v, 0);
	use_msr_areas(&v, 2, 1, 1);
	put_msr_entry(f, ENTRY_LOAD, MSR_LSTAR, 0xffff800000002000ull);
	put_msr_entry(f, ENTRY_LOAD + 16, MSR_FS_BASE, 0);
	put_msr_entry(f, EXIT_STORE, MSR_LSTAR, 0x5555);
	put_msr_entry(f, EXIT_LOAD, MSR_IA32_SYSENTER_EIP, 0xdef000);
	op(&l2, CPUID, 2);
	nvmx_run_nested(f, &v, &l2);
	expect_halt_at(f, L1_HOST_RIP);
	assert_int_equal(v12->vm_exit_reason,
			 EXIT_REASON_MSR_LOAD_FAIL |
				 VMX_EXIT_REASONS_FAILED_VMENTRY);
	assert_int_equal(v12->exit_qualification, 2);
	assert_int_equal(v12->launch_state, VMCS12_LAUNCH_CLEAR);
	assert_int_equal(f->vm.stats.nested_entry_failures, 1);
	assert_int_equal(f->vm.stats.nested_entries, 0);
	assert_int_equal(get64(f, EXIT_STORE + 8), 0x5555);
	assert_int_equal(rd01(f, GUEST_SYSENTER_EIP), 0xdef000);
	{
		uint64_t lstar = 0;

		assert_int_equal(vtx_cpu_get_msr(f->cpu, MSR_LSTAR, &lstar), 0);
		assert_int_equal(lstar, 0xffff800000002000ull);
	}
}

/* Bits 63:32 of an entry's index word are reserved (SDM 25.7.2): entry
 * failure 34, qualification 1. */
static void test_msr_areas__entry_index_bits_63_32_fail_34_qual_1(void **state)
{
	struct fixture *f = *state;
	const struct vmcs12 *v12 = f->vm.nvmx->vmcs12;
	struct prog l2 = { 0 };
	struct vmcs12 v;

	nvmx_valid_vmcs12(f, &v, 0);
	use_msr_areas(&v, 1, 0, 0);
	put_msr_entry(f, ENTRY_LOAD, (1ull << 32) | MSR_LSTAR, 0);
	op(&l2, CPUID, 2);
	nvmx_run_nested(f, &v, &l2);
	expect_halt_at(f, L1_HOST_RIP);
	assert_int_equal(v12->vm_exit_reason,
			 EXIT_REASON_MSR_LOAD_FAIL |
				 VMX_EXIT_REASONS_FAILED_VMENTRY);
	assert_int_equal(v12->exit_qualification, 1);
}

/* SDM 28.7: an exit MSR-load entry in the x2APIC range is a VMX abort:
 * indicator 4 in vmcs12, and L1's processor shuts down (the run ends). */
static void test_msr_areas__exit_load_x2apic_is_vmx_abort(void **state)
{
	struct fixture *f = *state;
	const struct vmcs12 *v12 = f->vm.nvmx->vmcs12;
	struct prog l2 = { 0 };
	struct vmcs12 v;

	nvmx_valid_vmcs12(f, &v, 0);
	use_msr_areas(&v, 0, 0, 1);
	put_msr_entry(f, EXIT_LOAD, 0x808, 0);
	op(&l2, CPUID, 2);
	nvmx_run_nested(f, &v, &l2);
	assert_int_equal(f->vm.stop.reason, L0_STOP_TRIPLE_FAULT);
	assert_int_equal(v12->abort, VMX_ABORT_LOAD_HOST_MSR_FAIL);
	assert_string_equal(f->vm.stop.why,
			    "VMX abort: VM-exit MSR-load entry 1 failed");
}

/* An MSR-store count above the maximum IA32_VMX_MISC offers (512 * (N +
 * 1), SDM Vol. 3D A.6) is a VMX abort with indicator 1, before any entry
 * is touched: an L1 cannot make one exit walk all of its RAM. Found by
 * fuzz_vmcs12 (counts near 2^32 made each exit of L2 cost L0 ~260,000
 * entry reads). */
static void test_msr_areas__exit_store_above_max_is_vmx_abort(void **state)
{
	struct fixture *f = *state;
	const struct vmcs12 *v12 = f->vm.nvmx->vmcs12;
	struct prog l2 = { 0 };
	struct vmcs12 v;
	uint64_t misc = 0;
	uint32_t max;
	char why[128];

	assert_int_equal(nvmx_get_msr(f->vm.nvmx, MSR_IA32_VMX_MISC, &misc), 0);
	max = 512u * ((uint32_t)((misc >> 25) & 7) + 1);
	nvmx_valid_vmcs12(f, &v, 0);
	use_msr_areas(&v, 0, max + 1, 0);
	put_msr_entry(f, EXIT_STORE, MSR_LSTAR, 0x5555);
	op(&l2, CPUID, 2);
	nvmx_run_nested(f, &v, &l2);
	assert_int_equal(f->vm.stop.reason, L0_STOP_TRIPLE_FAULT);
	assert_int_equal(v12->abort, VMX_ABORT_SAVE_GUEST_MSR_FAIL);
	snprintf(
		why, sizeof(why),
		"VMX abort: VM-exit MSR-store count %u is above the maximum %u",
		max + 1, max);
	assert_string_equal(f->vm.stop.why, why);
	assert_int_equal(get64(f, EXIT_STORE + 8), 0x5555);
}

/* SDM 27.3.1.5: a link pointer naming a region with the vmcs12 revision
 * is valid (L2 runs); one whose revision differs is entry failure 33,
 * qualification 4. */
static void test_vmlaunch__link_pointer_to_a_vmcs12_region_enters(void **state)
{
	struct fixture *f = *state;
	const struct vmcs12 *v12 = f->vm.nvmx->vmcs12;
	struct prog l2 = { 0 };
	struct vmcs12 v;

	nvmx_valid_vmcs12(f, &v, 0);
	put_region(f, VMCS_B, VMCS12_REVISION, 0);
	v.vmcs_link_pointer = VMCS_B;
	op(&l2, CPUID, 2);
	nvmx_run_nested(f, &v, &l2);
	expect_halt_at(f, L1_HOST_RIP);
	assert_int_equal(v12->vm_exit_reason, EXIT_REASON_CPUID);
}

static void
test_vmlaunch__link_pointer_bad_revision_fails_33_qual_4(void **state)
{
	struct fixture *f = *state;
	const struct vmcs12 *v12 = f->vm.nvmx->vmcs12;
	struct prog l2 = { 0 };
	struct vmcs12 v;

	nvmx_valid_vmcs12(f, &v, 0);
	put_region(f, VMCS_B, VMCS12_REVISION ^ 1, 0);
	v.vmcs_link_pointer = VMCS_B;
	op(&l2, CPUID, 2);
	nvmx_run_nested(f, &v, &l2);
	expect_halt_at(f, L1_HOST_RIP);
	assert_int_equal(v12->vm_exit_reason,
			 EXIT_REASON_INVALID_STATE |
				 VMX_EXIT_REASONS_FAILED_VMENTRY);
	assert_int_equal(v12->exit_qualification, ENTRY_FAIL_VMCS_LINK_PTR);
	assert_string_equal(f->vm.nvmx->last_check.check,
			    "!nested_link_pointer_ok(v, mem, n->vmptr)");
}

/* ---- VMCS shadowing offered to L1 (SDM 25.10, 26.1.3, 31.3) ---------------------- */

#define SHADOW_COOKIE 0x1122334455667788ull

/* A shadow VMCS may be current (VMPTRLD succeeds) but not entered:
 * VMLAUNCH is VMfailInvalid and it stays current (SDM 25.10, 27.1). */
static void
test_vmptrld__shadow_vmcs_current_vmlaunch_fails_invalid(void **state)
{
	struct fixture *f = *state;
	struct prog p = { 0 };

	put_region(f, VMCS_B, VMCS12_REVISION | VMCS12_SHADOW_INDICATOR, 0);
	prologue_vmptrld(f, &p, VMCS_B);
	op(&p, VMLAUNCH, 3);
	op(&p, HLT, 1);
	run_l1(f, &p);
	expect_halt_at(f, L1_CODE + p.n - 1);
	assert_int_equal(l1_flags(f), X86_EFLAGS_CF);
	assert_int_equal(f->vm.nvmx->vmptr, VMCS_B);
}

/* vmcs12 with VMCS shadowing: bitmaps at IO_A (VMREAD) and IO_B
 * (VMWRITE), both clear; the shadow VMCS at VMCS_B holds SHADOW_COOKIE
 * as its guest RIP. */
static void shadowing_vmcs12(struct fixture *f, struct vmcs12 *v)
{
	struct vmcs12 sh;

	memset(&sh, 0, sizeof(sh));
	sh.revision_id = VMCS12_REVISION | VMCS12_SHADOW_INDICATOR;
	sh.guest_rip = SHADOW_COOKIE;
	put(f, VMCS_B, &sh, sizeof(sh));
	nvmx_valid_vmcs12(f, v, 0);
	v->secondary_vm_exec_control |= SECONDARY_EXEC_SHADOW_VMCS;
	v->vmread_bitmap = IO_A;
	v->vmwrite_bitmap = IO_B;
	v->vmcs_link_pointer = VMCS_B;
}

static const uint8_t mov_r8_guest_rip[] = {
	0x49, 0xc7, 0xc0, 0x1e, 0x68, 0x00, 0x00, /* mov $0x681e,%r8 */
};
static const uint8_t mov_r8_tsc_multiplier[] = {
	0x49, 0xc7, 0xc0, 0x32, 0x20, 0x00, 0x00, /* mov $0x2032,%r8 */
};
static const uint8_t vmread_r8_rax[] = { 0x44, 0x0f, 0x78, 0xc0 };
static const uint8_t vmwrite_rax_r8[] = { 0x44, 0x0f, 0x79, 0xc0 };
static const uint8_t mov_eax_77[] = { 0xb8, 0x77, 0x00, 0x00, 0x00 };

/* A clear VMREAD-bitmap bit: L0 reads the shadow VMCS for L2, which goes
 * on to its CPUID with the value in RAX and flags clear; no exit for L1. */
static void test_l2_vmread__clear_bit_reads_shadow_vmcs(void **state)
{
	struct fixture *f = *state;
	const struct vmcs12 *v12 = f->vm.nvmx->vmcs12;
	struct prog l2 = { 0 };
	struct vmcs12 v;

	shadowing_vmcs12(f, &v);
	op(&l2, mov_r8_guest_rip, 7);
	op(&l2, vmread_r8_rax, 4); /* vmread %r8,%rax */
	op(&l2, CPUID, 2);
	nvmx_run_nested(f, &v, &l2);
	expect_halt_at(f, L1_HOST_RIP);
	assert_int_equal(v12->vm_exit_reason, EXIT_REASON_CPUID);
	assert_int_equal(v12->guest_rip, L2_CODE + 11);
	assert_int_equal(v12->guest_rflags & (X86_EFLAGS_CF | X86_EFLAGS_ZF),
			 0);
	assert_int_equal(gpr(f, VCPU_REGS_RAX), SHADOW_COOKIE);
	assert_int_equal(f->vm.stats.l2_exits[EXIT_REASON_VMREAD], 1);
	assert_int_equal(f->vm.stats.reflected[EXIT_REASON_VMREAD].count, 0);
}

/* A clear VMWRITE-bitmap bit: the write lands in the shadow VMCS region
 * in L1's memory. */
static void test_l2_vmwrite__clear_bit_writes_shadow_vmcs(void **state)
{
	struct fixture *f = *state;
	const struct vmcs12 *v12 = f->vm.nvmx->vmcs12;
	struct prog l2 = { 0 };
	struct vmcs12 v;

	shadowing_vmcs12(f, &v);
	op(&l2, mov_r8_guest_rip, 7);
	op(&l2, mov_eax_77, 5);
	op(&l2, vmwrite_rax_r8, 4); /* vmwrite %rax,%r8 */
	op(&l2, CPUID, 2);
	nvmx_run_nested(f, &v, &l2);
	expect_halt_at(f, L1_HOST_RIP);
	assert_int_equal(v12->vm_exit_reason, EXIT_REASON_CPUID);
	assert_int_equal(get64(f, VMCS_B + offsetof(struct vmcs12, guest_rip)),
			 0x77);
	assert_int_equal(f->vm.stats.reflected[EXIT_REASON_VMWRITE].count, 0);
}

/* A set bit: the VMREAD exits to L1 with reason 23 and the encoding
 * register (R8) in the instruction information. */
static void test_l2_vmread__set_bit_reflects_exit_23(void **state)
{
	struct fixture *f = *state;
	const struct vmcs12 *v12 = f->vm.nvmx->vmcs12;
	struct prog l2 = { 0 };
	struct vmcs12 v;
	uint8_t bit = 1u << (GUEST_RIP & 7);

	shadowing_vmcs12(f, &v);
	put(f, IO_A + (GUEST_RIP >> 3), &bit, 1);
	op(&l2, mov_r8_guest_rip, 7);
	op(&l2, vmread_r8_rax, 4); /* vmread %r8,%rax */
	nvmx_run_nested(f, &v, &l2);
	expect_halt_at(f, L1_HOST_RIP);
	assert_int_equal(v12->vm_exit_reason, EXIT_REASON_VMREAD);
	assert_int_equal(v12->guest_rip, L2_CODE + 7);
	assert_int_equal(vmx_insn_info_get_reg2(v12->vmx_instruction_info),
			 VCPU_REGS_R8);
}

/* A shadowed VMREAD of a field L0 does not offer: VMfailValid(12), the
 * error in vmcs12 (current for L2); with link pointer ~0: VMfailInvalid. */
static void test_l2_vmread__unsupported_field_fails_valid_12(void **state)
{
	struct fixture *f = *state;
	const struct vmcs12 *v12 = f->vm.nvmx->vmcs12;
	struct prog l2 = { 0 };
	struct vmcs12 v;

	shadowing_vmcs12(f, &v);
	op(&l2, mov_r8_tsc_multiplier, 7);
	op(&l2, vmread_r8_rax, 4); /* vmread %r8,%rax */
	op(&l2, CPUID, 2);
	nvmx_run_nested(f, &v, &l2);
	expect_halt_at(f, L1_HOST_RIP);
	assert_int_equal(v12->vm_exit_reason, EXIT_REASON_CPUID);
	assert_int_equal(v12->guest_rflags & (X86_EFLAGS_CF | X86_EFLAGS_ZF),
			 X86_EFLAGS_ZF);
	assert_int_equal(v12->vm_instruction_error,
			 VMXERR_UNSUPPORTED_VMCS_COMPONENT);
}

static void test_l2_vmread__link_all_ones_fails_invalid(void **state)
{
	struct fixture *f = *state;
	const struct vmcs12 *v12 = f->vm.nvmx->vmcs12;
	struct prog l2 = { 0 };
	struct vmcs12 v;

	shadowing_vmcs12(f, &v);
	v.vmcs_link_pointer = ~0ull;
	op(&l2, mov_r8_guest_rip, 7);
	op(&l2, vmread_r8_rax, 4); /* vmread %r8,%rax */
	op(&l2, CPUID, 2);
	nvmx_run_nested(f, &v, &l2);
	expect_halt_at(f, L1_HOST_RIP);
	assert_int_equal(v12->vm_exit_reason, EXIT_REASON_CPUID);
	assert_int_equal(v12->guest_rflags & (X86_EFLAGS_CF | X86_EFLAGS_ZF),
			 X86_EFLAGS_CF);
}

/* SDM 27.3.1.5: with VMCS shadowing the link pointer must name a shadow
 * VMCS; an ordinary vmcs12 there fails the entry (33, qualification 4). */
static void
test_vmlaunch__shadowing_link_to_ordinary_vmcs_fails_33(void **state)
{
	struct fixture *f = *state;
	const struct vmcs12 *v12 = f->vm.nvmx->vmcs12;
	struct prog l2 = { 0 };
	struct vmcs12 v;

	shadowing_vmcs12(f, &v);
	put_region(f, VMCS_B, VMCS12_REVISION, 0);
	op(&l2, CPUID, 2);
	nvmx_run_nested(f, &v, &l2);
	expect_halt_at(f, L1_HOST_RIP);
	assert_int_equal(v12->vm_exit_reason,
			 EXIT_REASON_INVALID_STATE |
				 VMX_EXIT_REASONS_FAILED_VMENTRY);
	assert_int_equal(v12->exit_qualification, ENTRY_FAIL_VMCS_LINK_PTR);
}

/* SDM 27.8: an entry failure leaves the VM-entry interruption
 * information valid (only an exit from the guest clears it). */
static void test_vmlaunch__entry_failure_keeps_injection_valid(void **state)
{
	struct fixture *f = *state;
	const struct vmcs12 *v12 = f->vm.nvmx->vmcs12;
	struct prog l2 = { 0 };
	struct vmcs12 v;
	uint32_t inj =
		vmx_build_intr_info(UD_VECTOR, INTR_TYPE_HARD_EXCEPTION, false);

	nvmx_valid_vmcs12(f, &v, 0);
	v.vm_entry_intr_info_field = inj;
	use_msr_areas(&v, 1, 0, 0);
	put_msr_entry(f, ENTRY_LOAD, MSR_GS_BASE, 0);
	op(&l2, CPUID, 2);
	nvmx_run_nested(f, &v, &l2);
	expect_halt_at(f, L1_HOST_RIP);
	assert_int_equal(v12->vm_exit_reason,
			 EXIT_REASON_MSR_LOAD_FAIL |
				 VMX_EXIT_REASONS_FAILED_VMENTRY);
	assert_int_equal(v12->vm_entry_intr_info_field, inj);
}

/* ---- the reflection switch ---------------------------------------------------------- */

/* STYLE: the default reflects. Reasons the switch does not name (XSAVES,
 * ENCLS, one past the SDM's list) go to L1; a named conditional one (HLT
 * without HLT exiting) does not. */
static void
test_nested_l1_wants_exit__unknown_reason_reflects_to_l1(void **state)
{
	struct fixture *f = *state;
	struct nested_l2_exit x = { 0 };
	struct vmcs12 v;

	nvmx_valid_vmcs12(f, &v, 0);
	x.info.reason = EXIT_REASON_XSAVES;
	assert_true(nested_l1_wants_exit(&v, &f->vm.mem, &x));
	x.info.reason = EXIT_REASON_ENCLS;
	assert_true(nested_l1_wants_exit(&v, &f->vm.mem, &x));
	x.info.reason = VMX_NR_EXIT_REASONS;
	assert_true(nested_l1_wants_exit(&v, &f->vm.mem, &x));
	x.info.reason = EXIT_REASON_HLT;
	v.cpu_based_vm_exec_control &= ~(uint32_t)CPU_BASED_HLT_EXITING;
	assert_false(nested_l1_wants_exit(&v, &f->vm.mem, &x));
}

/* SDM 26.2: #PF exits per the bitmap bit when the error code matches,
 * with the opposite sense when it does not. */
static void
test_nested_l1_wants_exit__pf_mask_match_flips_bitmap_sense(void **state)
{
	struct fixture *f = *state;
	struct nested_l2_exit x = { 0 };
	struct vmcs12 v;

	nvmx_valid_vmcs12(f, &v, 0);
	x.info.reason = EXIT_REASON_EXCEPTION_NMI;
	x.info.intr_info =
		vmx_build_intr_info(PF_VECTOR, INTR_TYPE_HARD_EXCEPTION, true);
	x.info.intr_error = PFERR_WRITE_MASK;
	v.exception_bitmap = 1u << PF_VECTOR;
	v.page_fault_error_code_mask = PFERR_WRITE_MASK;
	v.page_fault_error_code_match = PFERR_WRITE_MASK;
	assert_true(nested_l1_wants_exit(&v, &f->vm.mem, &x));
	x.info.intr_error = 0;
	assert_false(nested_l1_wants_exit(&v, &f->vm.mem, &x));
	v.exception_bitmap = 0;
	assert_true(nested_l1_wants_exit(&v, &f->vm.mem, &x));
}

/*
 * A shadow-paging L1 (vmcs12 without EPT, l1-shim's mmu=shadow): MOV to
 * CR3 reflects with CR3-load exiting unless the value is one of the
 * CR3-target values (SDM 26.1.3), MOV from CR3 with CR3-store exiting,
 * INVLPG with INVLPG exiting; each follows its own control alone.
 */
static void
test_nested_l1_wants_exit__cr3_and_invlpg_follow_vmcs12_controls(void **state)
{
	struct fixture *f = *state;
	struct nested_l2_exit x = { 0 };
	struct vmcs12 v;

	nvmx_valid_vmcs12(f, &v, 0);
	v.secondary_vm_exec_control &= ~(uint32_t)SECONDARY_EXEC_ENABLE_EPT;
	v.cpu_based_vm_exec_control &= ~(uint32_t)(CPU_BASED_CR3_LOAD_EXITING |
						   CPU_BASED_CR3_STORE_EXITING |
						   CPU_BASED_INVLPG_EXITING);
	x.info.reason = EXIT_REASON_CR_ACCESS;
	x.info.qual = vmx_build_cr_qual(3, CR_ACCESS_TYPE_MOV_TO_CR, 0);
	x.cr_value = 0x5000;
	assert_false(nested_l1_wants_exit(&v, &f->vm.mem, &x));
	v.cpu_based_vm_exec_control |= CPU_BASED_CR3_LOAD_EXITING;
	assert_true(nested_l1_wants_exit(&v, &f->vm.mem, &x));
	v.cr3_target_count = 2;
	v.cr3_target_value1 = 0x5000;
	assert_false(nested_l1_wants_exit(&v, &f->vm.mem, &x));
	x.cr_value = 0x6000;
	assert_true(nested_l1_wants_exit(&v, &f->vm.mem, &x));

	x.info.qual = vmx_build_cr_qual(3, CR_ACCESS_TYPE_MOV_FROM_CR, 0);
	assert_false(nested_l1_wants_exit(&v, &f->vm.mem, &x));
	v.cpu_based_vm_exec_control |= CPU_BASED_CR3_STORE_EXITING;
	assert_true(nested_l1_wants_exit(&v, &f->vm.mem, &x));

	x.info.reason = EXIT_REASON_INVLPG;
	x.info.qual = 0x403000;
	assert_false(nested_l1_wants_exit(&v, &f->vm.mem, &x));
	v.cpu_based_vm_exec_control |= CPU_BASED_INVLPG_EXITING;
	assert_true(nested_l1_wants_exit(&v, &f->vm.mem, &x));
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_vmxon__cr4_vmxe_clear_injects_ud_into_l1),
		T(test_vmxon__model_revision_fails_invalid_with_cf),
		T(test_vmxon__pointer_into_l0_area_fails_invalid),
		T(test_vmxon__in_vmx_operation_fails_valid_error_15),
		T(test_vmptrld__vmxon_pointer_fails_valid_error_10),
		T(test_vmptrld__bad_revision_fails_valid_error_11),
		T(test_vmptrld__l0_area_page_fails_valid_11_and_is_untouched),
		T(test_vmclear__unaligned_fails_valid_error_2),
		T(test_vmclear__current_vmcs12_written_back_and_released),
		T(test_vmlaunch__launched_vmcs12_fails_valid_error_4),
		T(test_vmresume__clear_vmcs12_fails_valid_error_5),
		T(test_vmread__unsupported_field_fails_valid_error_12),
		T(test_vmread__without_current_vmcs_fails_invalid),
		T(test_vmwrite_vmread__round_trip_truncated_to_field_width),
		T(test_vmread__unmapped_memory_operand_injects_pf_with_cr2),
		T(test_vmptrst__stores_current_pointer_in_l1_memory),
		T(test_vmcall__in_vmx_operation_fails_valid_error_1),
		T(test_l1_cpuid__leaf_1_reports_vmx),
		T(test_l1_rdmsr__vmx_basic_gives_vmcs12_revision),
		T(test_l1_wrmsr__locked_feature_control_injects_gp),
		T(test_l1_cr0_ne_clear__seen_by_l1_and_vmxon_gp),
		T(test_l1_cr0_reserved_low_bits__dropped_as_on_silicon),
		T(test_vmlaunch__pin_controls_outside_caps_fail_valid_7),
		T(test_vmlaunch__bad_link_pointer_is_entry_failure_at_host_rip),
		T(test_vmlaunch__l2_cpuid_reflected_with_exit_info),
		T(test_l2_ept__hidden_faults_filled_true_fault_reflected),
		T(test_l2_ept__ept12_root_in_l0_area_reflects_misconfig),
		T(test_l2_io__bitmap_outside_l1_ram_reflects_to_l1),
		T(test_l2_io__clear_bitmap_bit_l0_performs_access_for_l2),
		T(test_l2_msr__unintercepted_rdmsr_reads_l1_view),
		T(test_msr_areas__entry_load_store_and_exit_load_round_trip),
		T(test_msr_areas__entry_load_bad_second_entry_fails_34_qual_2),
		T(test_msr_areas__entry_index_bits_63_32_fail_34_qual_1),
		T(test_msr_areas__exit_load_x2apic_is_vmx_abort),
		T(test_msr_areas__exit_store_above_max_is_vmx_abort),
		T(test_vmlaunch__link_pointer_to_a_vmcs12_region_enters),
		T(test_vmlaunch__link_pointer_bad_revision_fails_33_qual_4),
		T(test_vmptrld__shadow_vmcs_current_vmlaunch_fails_invalid),
		T(test_l2_vmread__clear_bit_reads_shadow_vmcs),
		T(test_l2_vmwrite__clear_bit_writes_shadow_vmcs),
		T(test_l2_vmread__set_bit_reflects_exit_23),
		T(test_l2_vmread__unsupported_field_fails_valid_12),
		T(test_l2_vmread__link_all_ones_fails_invalid),
		T(test_vmlaunch__shadowing_link_to_ordinary_vmcs_fails_33),
		T(test_vmlaunch__entry_failure_keeps_injection_valid),
		T(test_nested_l1_wants_exit__unknown_reason_reflects_to_l1),
		T(test_nested_l1_wants_exit__cr3_and_invlpg_follow_vmcs12_controls),
		T(test_nested_l1_wants_exit__pf_mask_match_flips_bitmap_sense),
	};
#undef T
	return cmocka_run_group_tests(tests, NULL, NULL);
}
