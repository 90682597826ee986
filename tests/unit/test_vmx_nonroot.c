/* SPDX-License-Identifier: MIT */
/*
 * test_vmx_nonroot.c - VMX non-root behaviour of vtx/vmx_nonroot.c driven
 * from C: VMFUNC with EPTP switching and its #UD and VM-exit cases (SDM
 * Vol. 3C 26.5.6, 27.2.1.1), TSC offsetting and scaling of RDTSC and
 * RDMSR (26.3), and the #UD of MONITOR, MWAIT and XSETBV taking priority
 * over their VM exits (26.1.1). Host side, tests only.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>

#include <asm/vmx.h>

#include "arch/ept.h"
#include "arch/vmcs.h"
#include "arch/vmx_exit_qual.h"
#include "arch/vmx_insn_errors.h"
#include "arch/x86_msr.h"
#include "tests/unit/vmx_harness.h"
#include "tests/unit/vtx_harness.h"

/* Two EPT hierarchies, each one 2-MiB leaf for guest-physical [0, 2 MiB):
 * A maps it to host [0, 2 MiB), B to host [2 MiB, 4 MiB), which holds a
 * copy of the low half with one qword changed. */
#define EPT_A_PML4 0x40000ull
#define EPT_A_PDPT 0x41000ull
#define EPT_A_PD 0x42000ull
#define EPT_B_PML4 0x43000ull
#define EPT_B_PDPT 0x44000ull
#define EPT_B_PD 0x45000ull
#define EPTP_LIST 0x46000ull
#define MSR_BITMAP_PAGE 0x47000ull
#define COPY_BASE MiB(2)

#define wr harness_vmwrite
#define rd harness_vmread

static uint64_t eptp_a(void)
{
	return vmx_build_eptp(EPT_A_PML4, 4, false);
}

static uint64_t eptp_b(void)
{
	return vmx_build_eptp(EPT_B_PML4, 4, false);
}

static void set_gpr(struct harness *h, uint64_t rax, uint64_t rcx)
{
	struct kvm_regs r;
	vtx_cpu_get_regs(h->cpu, &r);
	r.rax = rax;
	r.rcx = rcx;
	vtx_cpu_set_regs(h->cpu, &r);
}

/* The guest's code, both EPT hierarchies, the EPTP list (entry 0 = A,
 * 1 = B, 2 = A's root with memory type UC, which this CPU does not offer,
 * 3 = 0: both invalid) and a VMCS with EPT (through A), VM functions with
 * EPTP switching, and HLT exiting. */
static void vmfunc_setup(struct harness *h, const uint8_t *code, size_t len)
{
	harness_write64(h, EPT_A_PML4, EPT_A_PDPT | EPT_RWX);
	harness_write64(h, EPT_A_PDPT, EPT_A_PD | EPT_RWX);
	harness_write64(h, EPT_A_PD,
			0 | EPT_RWX | EPT_LARGE | EPT_MT(EPT_MT_WB));
	harness_write64(h, EPT_B_PML4, EPT_B_PDPT | EPT_RWX);
	harness_write64(h, EPT_B_PDPT, EPT_B_PD | EPT_RWX);
	harness_write64(h, EPT_B_PD,
			COPY_BASE | EPT_RWX | EPT_LARGE | EPT_MT(EPT_MT_WB));
	harness_write64(h, EPTP_LIST + 0, eptp_a());
	harness_write64(h, EPTP_LIST + 8, eptp_b());
	harness_write64(h, EPTP_LIST + 16, EPT_A_PML4 | VMX_EPTP_PWL_4);
	harness_load(h, CODE_BASE, code, len);
	harness_write64(h, DATA_BASE, 0x1111);
	harness_vmcs_setup(h, CPU_BASED_HLT_EXITING,
			   SECONDARY_EXEC_ENABLE_EPT |
				   SECONDARY_EXEC_ENABLE_VMFUNC);
	wr(h, EPT_POINTER, eptp_a());
	wr(h, VM_FUNCTION_CONTROL, VMX_VMFUNC_EPTP_SWITCHING);
	wr(h, EPTP_LIST_ADDRESS, EPTP_LIST);

	/* B's world: the low 2 MiB as they are now, one qword changed. */
	uint8_t *copy = malloc(MiB(2));
	assert_non_null(copy);
	assert_int_equal(vtx_hpa_read(h->m, 0, copy, MiB(2)), 0);
	assert_int_equal(vtx_hpa_write(h->m, COPY_BASE, copy, MiB(2)), 0);
	free(copy);
	harness_write64(h, COPY_BASE + DATA_BASE, 0x2222);
}

static const uint8_t vmfunc_code[] = {
	0x0f, 0x01, 0xd4, /* vmfunc */
	0x48, 0x8b, 0x1c, 0x25, 0x00, 0x00, 0x1c, 0x00,
	/* mov rbx, qword ptr [0x1c0000] */
	0xf4, /* hlt */
};

/* IA32_VMX_PROCBASED_CTLS2 offers "enable VM functions" (bit 13) and "use
 * TSC scaling" (bit 25); IA32_VMX_VMFUNC offers EPTP switching only. The
 * MONITOR/MWAIT exiting controls are not offered (see x_monitor()). */
static void test_vmx_caps__vmfunc_tsc_scaling_offered_mwait_not(void **state)
{
	struct harness *h = *state;
	uint64_t v;

	assert_int_equal(
		vtx_cpu_get_msr(h->cpu, MSR_IA32_VMX_PROCBASED_CTLS2, &v), 0);
	assert_true((v >> 32) & SECONDARY_EXEC_ENABLE_VMFUNC);
	assert_true((v >> 32) & SECONDARY_EXEC_TSC_SCALING);
	assert_int_equal(vtx_cpu_get_msr(h->cpu, MSR_IA32_VMX_VMFUNC, &v), 0);
	assert_int_equal(v, VMX_VMFUNC_EPTP_SWITCHING);
	assert_int_equal(
		vtx_cpu_get_msr(h->cpu, MSR_IA32_VMX_TRUE_PROCBASED_CTLS, &v),
		0);
	assert_int_equal((v >> 32) & (CPU_BASED_MWAIT_EXITING |
				      CPU_BASED_MONITOR_EXITING),
			 0);
}

/* EAX = 0, ECX = 1: the EPTP becomes list entry 1 without a VM exit; the
 * next load reads B's copy of the data page, and the HLT exits with the
 * new EPTP in the VMCS (SDM 26.5.6.3). */
static void test_vmfunc__eptp_switch_changes_ept_without_exit(void **state)
{
	struct harness *h = *state;
	struct vtx_stop st;
	struct kvm_regs r;
	struct vtx_cpu_stats stats;

	vmfunc_setup(h, vmfunc_code, sizeof(vmfunc_code));
	set_gpr(h, 0, 1);
	assert_int_equal(vtx_vmlaunch(h->cpu, &st), 0);
	assert_int_equal(st.reason, VTX_STOP_VMEXIT);
	assert_int_equal(rd(h, VM_EXIT_REASON), EXIT_REASON_HLT);
	assert_int_equal(rd(h, GUEST_RIP), CODE_BASE + 11);
	assert_int_equal(rd(h, EPT_POINTER), eptp_b());
	vtx_cpu_get_regs(h->cpu, &r);
	assert_int_equal(r.rbx, 0x2222);
	vtx_cpu_get_stats(h->cpu, &stats);
	assert_int_equal(stats.eptp_switches, 1);
	assert_int_equal(stats.vm_exits, 1);
}

/* Switching to the current EPTP (entry 0) is allowed and reads A. */
static void test_vmfunc__switch_to_same_eptp_keeps_mapping(void **state)
{
	struct harness *h = *state;
	struct vtx_stop st;
	struct kvm_regs r;

	vmfunc_setup(h, vmfunc_code, sizeof(vmfunc_code));
	set_gpr(h, 0, 0);
	assert_int_equal(vtx_vmlaunch(h->cpu, &st), 0);
	assert_int_equal(rd(h, VM_EXIT_REASON), EXIT_REASON_HLT);
	assert_int_equal(rd(h, EPT_POINTER), eptp_a());
	vtx_cpu_get_regs(h->cpu, &r);
	assert_int_equal(r.rbx, 0x1111);
}

/* A failing VMFUNC exits with reason 59 at the VMFUNC, length 3,
 * qualification 0, and the EPTP unchanged (SDM 26.5.6.1, 26.5.6.3). */
static void expect_vmfunc_exit(struct harness *h, uint64_t rax, uint64_t rcx)
{
	struct vtx_stop st;

	vmfunc_setup(h, vmfunc_code, sizeof(vmfunc_code));
	set_gpr(h, rax, rcx);
	assert_int_equal(vtx_vmlaunch(h->cpu, &st), 0);
	assert_int_equal(st.reason, VTX_STOP_VMEXIT);
	assert_int_equal(rd(h, VM_EXIT_REASON), EXIT_REASON_VMFUNC);
	assert_int_equal(rd(h, VM_EXIT_INSTRUCTION_LEN), 3);
	assert_int_equal(rd(h, EXIT_QUALIFICATION), 0);
	assert_int_equal(rd(h, GUEST_RIP), CODE_BASE);
	assert_int_equal(rd(h, EPT_POINTER), eptp_a());
}

static void test_vmfunc__index_512_exits_with_reason_59(void **state)
{
	expect_vmfunc_exit(*state, 0, 512);
}

static void test_vmfunc__invalid_list_entry_exits_with_reason_59(void **state)
{
	expect_vmfunc_exit(*state, 0, 2); /* memory type UC */
}

static void test_vmfunc__zero_list_entry_exits_with_reason_59(void **state)
{
	expect_vmfunc_exit(*state, 0, 3);
}

static void test_vmfunc__disabled_function_exits_with_reason_59(void **state)
{
	expect_vmfunc_exit(*state, 1, 1);
}

static void test_vmfunc__eax_64_exits_with_reason_59(void **state)
{
	expect_vmfunc_exit(*state, 64, 1);
}

/* Without "enable VM functions" VMFUNC is #UD (SDM 26.5.6): with #UD in
 * the exception bitmap, an exception exit of vector 6. */
static void test_vmfunc__without_enable_vm_functions_is_ud(void **state)
{
	struct harness *h = *state;
	struct vtx_stop st;

	vmfunc_setup(h, vmfunc_code, sizeof(vmfunc_code));
	wr(h, SECONDARY_VM_EXEC_CONTROL, SECONDARY_EXEC_ENABLE_EPT);
	wr(h, EXCEPTION_BITMAP, 1u << UD_VECTOR);
	assert_int_equal(vtx_vmlaunch(h->cpu, &st), 0);
	assert_int_equal(rd(h, VM_EXIT_REASON), EXIT_REASON_EXCEPTION_NMI);
	assert_int_equal(rd(h, VM_EXIT_INTR_INFO),
			 INTR_INFO_VALID_MASK | INTR_TYPE_HARD_EXCEPTION |
				 UD_VECTOR);
	assert_int_equal(rd(h, GUEST_RIP), CODE_BASE);
}

/* VMFUNC in VMX root operation (here: outside VMX) is #UD. */
static void test_vmfunc__outside_non_root_is_ud(void **state)
{
	struct harness *h = *state;
	static const uint8_t code[] = {
		0x0f, 0x01, 0xd4, /* vmfunc */
	};

	harness_run_code(h, code, sizeof(code));
	harness_expect_exception(h, UD_VECTOR, HARNESS_NO_ERROR_CODE,
				 CODE_BASE);
	assert_int_equal(h->stats.unimplemented, 0);
}

/* Entry checks of 27.2.1.1: a VM function IA32_VMX_VMFUNC does not
 * offer, EPTP switching without EPT, an unaligned EPTP-list address. */
static void test_vmlaunch__vmfunc_reserved_bit_fails_with_error_7(void **state)
{
	struct harness *h = *state;
	struct vtx_stop st;

	vmfunc_setup(h, vmfunc_code, sizeof(vmfunc_code));
	wr(h, VM_FUNCTION_CONTROL, VMX_VMFUNC_EPTP_SWITCHING | 2);
	assert_int_equal(vtx_vmlaunch(h->cpu, &st),
			 VMXERR_ENTRY_INVALID_CONTROL_FIELD);
}

static void test_vmlaunch__eptp_switching_without_ept_fails_7(void **state)
{
	struct harness *h = *state;
	struct vtx_stop st;

	vmfunc_setup(h, vmfunc_code, sizeof(vmfunc_code));
	wr(h, SECONDARY_VM_EXEC_CONTROL, SECONDARY_EXEC_ENABLE_VMFUNC);
	assert_int_equal(vtx_vmlaunch(h->cpu, &st),
			 VMXERR_ENTRY_INVALID_CONTROL_FIELD);
}

static void test_vmlaunch__unaligned_eptp_list_fails_with_error_7(void **state)
{
	struct harness *h = *state;
	struct vtx_stop st;

	vmfunc_setup(h, vmfunc_code, sizeof(vmfunc_code));
	wr(h, EPTP_LIST_ADDRESS, EPTP_LIST + 8);
	assert_int_equal(vtx_vmlaunch(h->cpu, &st),
			 VMXERR_ENTRY_INVALID_CONTROL_FIELD);
}

/* ---- TSC offsetting and scaling (SDM 26.3, 26.6.5) ---------------------- */

static const uint8_t tsc_code[] = {
	0x0f, 0x31, /* rdtsc */
	0x48, 0xc1, 0xe2, 0x20, /* shl rdx, 0x20 */
	0x48, 0x09, 0xc2, /* or rdx, rax */
	0x48, 0x89, 0xd3, /* mov rbx, rdx */
	0xb9, 0x10, 0x00, 0x00, 0x00, /* mov ecx, 0x10 (IA32_TSC) */
	0x0f, 0x32, /* rdmsr */
	0x48, 0xc1, 0xe2, 0x20, /* shl rdx, 0x20 */
	0x48, 0x09, 0xc2, /* or rdx, rax */
	0xf4, /* hlt */
};

/* Runs tsc_code with the given controls; rbx = RDTSC, rdx = RDMSR. The
 * MSR bitmap is all zeroes, so RDMSR does not exit. */
static void run_tsc(struct harness *h, uint32_t proc, uint32_t proc2,
		    uint64_t offset, uint64_t mult, uint64_t *tsc,
		    uint64_t *msr)
{
	struct vtx_stop st;
	struct kvm_regs r;

	harness_load(h, CODE_BASE, tsc_code, sizeof(tsc_code));
	harness_vmcs_setup(
		h, CPU_BASED_HLT_EXITING | CPU_BASED_USE_MSR_BITMAPS | proc,
		proc2);
	wr(h, MSR_BITMAP, MSR_BITMAP_PAGE);
	wr(h, TSC_OFFSET, offset);
	wr(h, TSC_MULTIPLIER, mult);
	assert_int_equal(vtx_vmlaunch(h->cpu, &st), 0);
	assert_int_equal(rd(h, VM_EXIT_REASON), EXIT_REASON_HLT);
	vtx_cpu_get_regs(h->cpu, &r);
	*tsc = r.rbx;
	*msr = r.rdx;
}

/* A multiplier of 0 scales every TSC value to 0: RDTSC and RDMSR of
 * IA32_TSC return exactly the offset. */
static void test_rdtsc__multiplier_zero_returns_the_offset(void **state)
{
	uint64_t tsc, msr;

	run_tsc(*state, CPU_BASED_USE_TSC_OFFSETTING,
		SECONDARY_EXEC_TSC_SCALING, 0x123456789ull, 0, &tsc, &msr);
	assert_int_equal(tsc, 0x123456789ull);
	assert_int_equal(msr, 0x123456789ull);
}

/* Multiplier 256.0 (256 << 48): ((TSC * 256 << 48) >> 48) + offset, so
 * the low 8 bits are the offset's and the rest is the TSC of the moment,
 * which lies between the host's reads before the entry and after the
 * exit. */
static void test_rdtsc__multiplier_scales_then_offsets(void **state)
{
	struct harness *h = *state;
	uint64_t before, after, tsc, msr;

	assert_int_equal(vtx_cpu_get_msr(h->cpu, MSR_IA32_TSC, &before), 0);
	run_tsc(h, CPU_BASED_USE_TSC_OFFSETTING, SECONDARY_EXEC_TSC_SCALING,
		0x55, 256ull << 48, &tsc, &msr);
	assert_int_equal(vtx_cpu_get_msr(h->cpu, MSR_IA32_TSC, &after), 0);
	assert_int_equal(tsc & 0xff, 0x55);
	assert_int_equal(msr & 0xff, 0x55);
	assert_in_range(tsc >> 8, before, after);
	assert_in_range(msr >> 8, tsc >> 8, after);
}

/* Without "use TSC offsetting" neither the offset nor the multiplier
 * applies, whatever "use TSC scaling" says (26.3). */
static void test_rdtsc__scaling_ignored_without_offsetting(void **state)
{
	struct harness *h = *state;
	uint64_t before, after, tsc, msr;

	assert_int_equal(vtx_cpu_get_msr(h->cpu, MSR_IA32_TSC, &before), 0);
	run_tsc(h, 0, SECONDARY_EXEC_TSC_SCALING, 1ull << 40, 0, &tsc, &msr);
	assert_int_equal(vtx_cpu_get_msr(h->cpu, MSR_IA32_TSC, &after), 0);
	assert_in_range(tsc, before, after);
	assert_in_range(msr, tsc, after);
}

/* RDMSR of IA32_TSC is offset like RDTSC (26.3): with multiplier 1.0
 * and offset 2^40, both read 2^40 more than the host's TSC. */
static void test_rdmsr__ia32_tsc_is_offset_like_rdtsc(void **state)
{
	struct harness *h = *state;
	uint64_t before, after, tsc, msr;

	assert_int_equal(vtx_cpu_get_msr(h->cpu, MSR_IA32_TSC, &before), 0);
	run_tsc(h, CPU_BASED_USE_TSC_OFFSETTING, 0, 1ull << 40, 0, &tsc, &msr);
	assert_int_equal(vtx_cpu_get_msr(h->cpu, MSR_IA32_TSC, &after), 0);
	assert_in_range(tsc - (1ull << 40), before, after);
	assert_in_range(msr - (1ull << 40), tsc - (1ull << 40), after);
}

/* ---- #UD before the VM exit (SDM 26.1.1) ---------------------------------- */

/* The instruction at CODE_BASE raises #UD in non-root operation, which
 * the exception bitmap turns into exit reason 0 with vector 6. */
static void expect_ud_exit(struct harness *h, const uint8_t *code, size_t n)
{
	struct vtx_stop st;

	harness_load(h, CODE_BASE, code, n);
	harness_vmcs_setup(h, 0, 0);
	wr(h, EXCEPTION_BITMAP, 1u << UD_VECTOR);
	assert_int_equal(vtx_vmlaunch(h->cpu, &st), 0);
	assert_int_equal(rd(h, VM_EXIT_REASON), EXIT_REASON_EXCEPTION_NMI);
	assert_int_equal(rd(h, VM_EXIT_INTR_INFO),
			 INTR_INFO_VALID_MASK | INTR_TYPE_HARD_EXCEPTION |
				 UD_VECTOR);
	assert_int_equal(rd(h, GUEST_RIP), CODE_BASE);
}

static void test_monitor__ud_without_cpuid_monitor(void **state)
{
	static const uint8_t code[] = {
		0x0f, 0x01, 0xc8, /* monitor rax, ecx, edx */
	};
	expect_ud_exit(*state, code, sizeof(code));
}

static void test_mwait__ud_without_cpuid_monitor(void **state)
{
	static const uint8_t code[] = {
		0x0f, 0x01, 0xc9, /* mwait eax, ecx */
	};
	expect_ud_exit(*state, code, sizeof(code));
}

/* XSETBV exits unconditionally, but CR4.OSXSAVE = 0 makes it #UD first. */
static void test_xsetbv__ud_precedes_unconditional_exit(void **state)
{
	static const uint8_t code[] = {
		0x0f, 0x01, 0xd1, /* xsetbv */
	};
	struct harness *h = *state;
	struct vtx_cpu_stats stats;

	expect_ud_exit(h, code, sizeof(code));
	vtx_cpu_get_stats(h->cpu, &stats);
	assert_int_equal(stats.exits_by_reason[EXIT_REASON_XSETBV], 0);
	assert_int_equal(stats.unimplemented, 0);
}

int main(void)
{
#define T(fn) \
	cmocka_unit_test_setup_teardown(fn, harness_setup, harness_teardown)
	const struct CMUnitTest tests[] = {
		T(test_vmx_caps__vmfunc_tsc_scaling_offered_mwait_not),
		T(test_vmfunc__eptp_switch_changes_ept_without_exit),
		T(test_vmfunc__switch_to_same_eptp_keeps_mapping),
		T(test_vmfunc__index_512_exits_with_reason_59),
		T(test_vmfunc__invalid_list_entry_exits_with_reason_59),
		T(test_vmfunc__zero_list_entry_exits_with_reason_59),
		T(test_vmfunc__disabled_function_exits_with_reason_59),
		T(test_vmfunc__eax_64_exits_with_reason_59),
		T(test_vmfunc__without_enable_vm_functions_is_ud),
		T(test_vmfunc__outside_non_root_is_ud),
		T(test_vmlaunch__vmfunc_reserved_bit_fails_with_error_7),
		T(test_vmlaunch__eptp_switching_without_ept_fails_7),
		T(test_vmlaunch__unaligned_eptp_list_fails_with_error_7),
		T(test_rdtsc__multiplier_zero_returns_the_offset),
		T(test_rdtsc__multiplier_scales_then_offsets),
		T(test_rdtsc__scaling_ignored_without_offsetting),
		T(test_rdmsr__ia32_tsc_is_offset_like_rdtsc),
		T(test_monitor__ud_without_cpuid_monitor),
		T(test_mwait__ud_without_cpuid_monitor),
		T(test_xsetbv__ud_precedes_unconditional_exit),
	};
#undef T
	return cmocka_run_group_tests(tests, NULL, NULL);
}
