/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of events under L0 (l0/nested_events.c, vmcs-merge/caps.c,
 * vmcs-merge/merge.c, mmu/vpid02.c): the event controls L0 offers L1,
 * event injection from L1 into L2 and the IDT-vectoring information,
 * interrupts and NMIs arriving while L2 runs, windows, MTF, the
 * VMX-preemption timer, the HLT activity state, and vpid02. L1 programs in
 * raw bytes under L0 (tests/unit/nvmx_fixture.h). Host side.
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
#include "arch/x86_msr.h"
#include "l0/nested_events.h"
#include "l0/nvmx.h"
#include "mmu/vpid02.h"
#include "tests/unit/nvmx_fixture.h"
#include "tests/unit/vmcs12_fixture.h"
#include "vmcs-merge/caps.h"
#include "vtx/vtx.h"

/* The L1 IDT stub of vector v (nvmx_fixture.c): "mov r15d, v" (6 bytes)
 * at L1_STUBS + 16 v, then "hlt". */
#define STUB_HLT(v) (L1_STUBS + 16ull * (v) + 6)
/* A vector with a stub that the local APIC accepts (16 and up). */
#define IRQ_VEC 20u
/* "nop" and "jmp $" (eb fe). */
static const uint8_t NOP[1] = { 0x90 };
static const uint8_t JMP_SELF[2] = { 0xeb, 0xfe };

/* A valid vmcs12 whose L2 uses L1's IDT (the stubs) and has IF set. */
static void event_vmcs12(struct fixture *f, struct vmcs12 *v, uint64_t eptp)
{
	vmcs12_fixture_init(v, &f->vm.nvmx->caps, eptp, L2_CODE, L2_STACK,
			    L1_HOST_RIP, L1_EXIT_STACK);
	v->guest_idtr_base = L1_IDT;
	v->guest_idtr_limit = 32 * 16 - 1;
	v->guest_rflags = X86_EFLAGS_FIXED | X86_EFLAGS_IF;
}

/* L1's local APIC in x2APIC mode, software-enabled (SVR bit 8), so that
 * vtx_cpu_raise_irq() is presented to the processor. */
static void apic_enable(struct fixture *f)
{
	uint64_t base = 0;

	assert_int_equal(vtx_cpu_get_msr(f->cpu, MSR_IA32_APICBASE, &base), 0);
	assert_int_equal(vtx_cpu_set_msr(f->cpu, MSR_IA32_APICBASE,
					 base | X2APIC_ENABLE | (1ull << 11)),
			 0);
	assert_int_equal(vtx_cpu_set_msr(f->cpu, 0x80f, 0x1ff), 0);
}

/*
 * L2 sends itself an NMI through L1's x2APIC (ICR, MSR 0x830: delivery
 * mode NMI, shorthand self), a WRMSR L1's MSR bitmap leaves to L0, so the
 * NMI arrives while L2 runs; then CPUID. L1's APIC is enabled.
 *   48 b9 30 08 00 00 00 00 00 00   mov rcx, 0x830
 *   48 b8 00 04 04 00 00 00 00 00   mov rax, 0x40400
 *   48 ba 00 00 00 00 00 00 00 00   mov rdx, 0
 *   0f 30                           wrmsr
 *   0f a2                           cpuid
 */
static void l2_self_nmi(struct fixture *f, struct vmcs12 *v, struct prog *l2)
{
	apic_enable(f);
	v->cpu_based_vm_exec_control |= CPU_BASED_USE_MSR_BITMAPS;
	v->msr_bitmap = MSRS;
	op_mov_imm64(l2, OP_RCX, 0x830);
	op_mov_imm64(l2, OP_RAX, 0x40400);
	op_mov_imm64(l2, 0xba, 0);
	op(l2, WRMSR, 2);
	op(l2, CPUID, 2);
}

static uint64_t ept12_first_2m(struct fixture *f)
{
	put64(f, EPT12, (EPT12 + 0x1000) | EPT_RWX);
	put64(f, EPT12 + 0x1000, (EPT12 + 0x2000) | EPT_RWX);
	put64(f, EPT12 + 0x2000, 0 | EPT_RWX | EPT_LARGE | EPT_MT(EPT_MT_WB));
	return vmx_build_eptp(EPT12, 4, false);
}

static uint32_t may1(struct fixture *f, uint32_t msr)
{
	uint64_t v = 0;

	assert_int_equal(nested_vmx_caps_read(&f->vm.nvmx->caps, msr, &v), 0);
	return (uint32_t)(v >> 32);
}

/* ---- what L0 offers --------------------------------------------------------- */

static void test_caps__event_controls_ug_invpcid_hlt_timer_offered(void **state)
{
	struct fixture *f = *state;
	uint64_t misc = 0;

	assert_int_equal(may1(f, MSR_IA32_VMX_TRUE_PINBASED_CTLS) &
				 (PIN_BASED_EXT_INTR_MASK |
				  PIN_BASED_NMI_EXITING |
				  PIN_BASED_VIRTUAL_NMIS |
				  PIN_BASED_VMX_PREEMPTION_TIMER |
				  PIN_BASED_POSTED_INTR),
			 PIN_BASED_EXT_INTR_MASK | PIN_BASED_NMI_EXITING |
				 PIN_BASED_VIRTUAL_NMIS |
				 PIN_BASED_VMX_PREEMPTION_TIMER);
	assert_int_equal(
		may1(f, MSR_IA32_VMX_TRUE_PROCBASED_CTLS) &
			(CPU_BASED_INTR_WINDOW_EXITING |
			 CPU_BASED_NMI_WINDOW_EXITING |
			 CPU_BASED_MONITOR_TRAP_FLAG | CPU_BASED_TPR_SHADOW),
		CPU_BASED_INTR_WINDOW_EXITING | CPU_BASED_NMI_WINDOW_EXITING |
			CPU_BASED_MONITOR_TRAP_FLAG);
	assert_int_equal(may1(f, MSR_IA32_VMX_PROCBASED_CTLS2) &
				 (SECONDARY_EXEC_UNRESTRICTED_GUEST |
				  SECONDARY_EXEC_ENABLE_INVPCID),
			 SECONDARY_EXEC_UNRESTRICTED_GUEST |
				 SECONDARY_EXEC_ENABLE_INVPCID);
	assert_int_equal(may1(f, MSR_IA32_VMX_TRUE_EXIT_CTLS) &
				 (VM_EXIT_ACK_INTR_ON_EXIT |
				  VM_EXIT_SAVE_VMX_PREEMPTION_TIMER),
			 VM_EXIT_ACK_INTR_ON_EXIT |
				 VM_EXIT_SAVE_VMX_PREEMPTION_TIMER);
	assert_int_equal(nested_vmx_caps_read(&f->vm.nvmx->caps,
					      MSR_IA32_VMX_MISC, &misc),
			 0);
	/* The processor's rate (TSC bit 5), HLT as the one extra state. */
	assert_int_equal(misc & VMX_MISC_PREEMPTION_TIMER_RATE_MASK, 5);
	assert_int_equal(misc & VMX_MISC_ACTIVITY_STATES_MASK,
			 VMX_MISC_ACTIVITY_HLT);
	assert_true(nested_vmcs_field_supported(VMX_PREEMPTION_TIMER_VALUE));
	/* EPT A/D stays off (docs/design/nested.md). */
	assert_int_equal(
		nested_vmx_ept_vpid_cap(&f->vm.nvmx->caps) & VMX_EPT_AD_BIT, 0);
}

/* With their controls clear, the event exits are not L1's (L0 never sets
 * them, so they cannot happen); with them set they are. */
static void
test_nested_l1_wants_exit__event_reasons_follow_controls(void **state)
{
	struct fixture *f = *state;
	struct nested_l2_exit x = { 0 };
	struct vmcs12 v;
	static const uint32_t reasons[] = {
		EXIT_REASON_INTERRUPT_WINDOW,  EXIT_REASON_NMI_WINDOW,
		EXIT_REASON_MONITOR_TRAP_FLAG, EXIT_REASON_PREEMPTION_TIMER,
		EXIT_REASON_INVPCID,
	};

	event_vmcs12(f, &v, 0);
	for (size_t k = 0; k < ARRAY_SIZE(reasons); k++) {
		x.info.reason = reasons[k];
		assert_false(nested_l1_wants_exit(&v, &f->vm.mem, &x));
	}
	v.cpu_based_vm_exec_control |=
		CPU_BASED_INTR_WINDOW_EXITING | CPU_BASED_NMI_WINDOW_EXITING |
		CPU_BASED_MONITOR_TRAP_FLAG | CPU_BASED_INVLPG_EXITING;
	v.secondary_vm_exec_control |= SECONDARY_EXEC_ENABLE_INVPCID;
	v.pin_based_vm_exec_control |= PIN_BASED_VMX_PREEMPTION_TIMER;
	for (size_t k = 0; k < ARRAY_SIZE(reasons); k++) {
		x.info.reason = reasons[k];
		assert_true(nested_l1_wants_exit(&v, &f->vm.mem, &x));
	}
}

/* ---- event injection from L1 into L2 ------------------------------------------ */

/* An external interrupt L1 injects reaches L2's IDT: the stub runs (R15
 * = the vector) and its HLT exits to L1; the frame is 5 qwords on L2's
 * stack; the entry event's valid bit is clear after the exit. */
static void test_inject__ext_intr_delivered_through_l2_idt(void **state)
{
	struct fixture *f = *state;
	const struct vmcs12 *v12 = f->vm.nvmx->vmcs12;
	struct prog l2 = { 0 };
	struct vmcs12 v;

	event_vmcs12(f, &v, 0);
	v.vm_entry_intr_info_field =
		vmx_build_intr_info(IRQ_VEC, INTR_TYPE_EXT_INTR, false);
	op(&l2, CPUID, 2);
	nvmx_run_nested(f, &v, &l2);
	expect_halt_at(f, L1_HOST_RIP);
	assert_int_equal(v12->vm_exit_reason, EXIT_REASON_HLT);
	assert_int_equal(gpr(f, VCPU_REGS_R15), IRQ_VEC);
	assert_int_equal(v12->guest_rip, STUB_HLT(IRQ_VEC));
	assert_int_equal(v12->guest_rsp, L2_STACK - 40);
	assert_int_equal(v12->guest_rflags & X86_EFLAGS_IF, 0);
	assert_int_equal(v12->vm_entry_intr_info_field, IRQ_VEC);
	assert_int_equal(v12->idt_vectoring_info_field, 0);
}

/* Delivery of the injected interrupt faults (the IDT limit ends before
 * its gate): #GP(vector * 8 + 2) in the exception bitmap is reflected
 * with the injected event as IDT-vectoring information, so L1 can inject
 * it again (SDM 28.2.4); L2's RIP has not moved. */
static void test_inject__delivery_gp_reflected_with_idt_vectoring(void **state)
{
	struct fixture *f = *state;
	const struct vmcs12 *v12 = f->vm.nvmx->vmcs12;
	struct prog l2 = { 0 };
	struct vmcs12 v;

	event_vmcs12(f, &v, 0);
	v.guest_idtr_limit = IRQ_VEC * 16 - 1;
	v.exception_bitmap = 1u << GP_VECTOR;
	v.vm_entry_intr_info_field =
		vmx_build_intr_info(IRQ_VEC, INTR_TYPE_EXT_INTR, false);
	op(&l2, CPUID, 2);
	nvmx_run_nested(f, &v, &l2);
	expect_halt_at(f, L1_HOST_RIP);
	assert_int_equal(v12->vm_exit_reason, EXIT_REASON_EXCEPTION_NMI);
	assert_int_equal(v12->vm_exit_intr_info, 0x80000b0du);
	/* The selector error code: the gate's index, IDT (bit 1), and EXT
	 * (bit 0): the event being delivered came from outside. */
	assert_int_equal(v12->vm_exit_intr_error_code, IRQ_VEC * 8 + 2 + 1);
	assert_int_equal(v12->idt_vectoring_info_field, 0x80000000u | IRQ_VEC);
	assert_int_equal(v12->guest_rip, L2_CODE);
	assert_int_equal(gpr(f, VCPU_REGS_R15), 0xdead);
}

/*
 * With ept12, delivering the injected interrupt first misses ept02 (L2's
 * IDT, GDT, stack and stub pages, and the paging structures on the way):
 * hidden faults L0 fills, each time injecting the event again from the
 * IDT-vectoring information, until it reaches L2, which L1 then sees
 * exactly as without EPT. 8 fills: the four paging-structure pages of
 * L2's walks (PML4, PDPT, PD, the PT of the first 2 MiB), then the IDT,
 * GDT, stack and stub pages; L2's code page is never reached.
 */
static void test_inject__ept02_fills_during_delivery_reinjected(void **state)
{
	struct fixture *f = *state;
	const struct vmcs12 *v12 = f->vm.nvmx->vmcs12;
	struct prog l2 = { 0 };
	struct vmcs12 v;

	event_vmcs12(f, &v, ept12_first_2m(f));
	v.vm_entry_intr_info_field =
		vmx_build_intr_info(IRQ_VEC, INTR_TYPE_EXT_INTR, false);
	op(&l2, CPUID, 2);
	nvmx_run_nested(f, &v, &l2);
	expect_halt_at(f, L1_HOST_RIP);
	assert_int_equal(v12->vm_exit_reason, EXIT_REASON_HLT);
	assert_int_equal(gpr(f, VCPU_REGS_R15), IRQ_VEC);
	assert_int_equal(v12->guest_rip, STUB_HLT(IRQ_VEC));
	assert_int_equal(v12->idt_vectoring_info_field, 0);
	assert_int_equal(f->vm.stats.ept02_fills, 8);
	assert_int_equal(f->vm.stats.l2_exits[EXIT_REASON_EPT_VIOLATION], 8);
	assert_int_equal(f->vm.stats.reflected[EXIT_REASON_HLT].count, 1);
}

/* ---- interrupts and NMIs while L2 runs ------------------------------------------ */

/* External-interrupt exiting with acknowledge-on-exit in vmcs12: reason
 * 1 before L2's first instruction, the vector in the exit interruption
 * information (SDM 28.2.2). */
static void
test_ext_intr__l1_exiting_with_ack_reflected_with_vector(void **state)
{
	struct fixture *f = *state;
	const struct vmcs12 *v12 = f->vm.nvmx->vmcs12;
	struct prog l2 = { 0 };
	struct vmcs12 v;

	event_vmcs12(f, &v, 0);
	v.pin_based_vm_exec_control |= PIN_BASED_EXT_INTR_MASK;
	v.vm_exit_controls |= VM_EXIT_ACK_INTR_ON_EXIT;
	op(&l2, CPUID, 2);
	apic_enable(f);
	assert_int_equal(vtx_cpu_raise_irq(f->cpu, 0x30), 0);
	nvmx_run_nested(f, &v, &l2);
	expect_halt_at(f, L1_HOST_RIP);
	assert_int_equal(v12->vm_exit_reason, EXIT_REASON_EXTERNAL_INTERRUPT);
	assert_int_equal(v12->vm_exit_intr_info, 0x80000030u);
	assert_int_equal(v12->guest_rip, L2_CODE);
	assert_int_equal(
		f->vm.stats.reflected[EXIT_REASON_EXTERNAL_INTERRUPT].count, 1);
}

/* Without acknowledge-on-exit the interrupt stays in L1's APIC and the
 * exit interruption information is invalid. */
static void test_ext_intr__l1_exiting_without_ack_info_invalid(void **state)
{
	struct fixture *f = *state;
	const struct vmcs12 *v12 = f->vm.nvmx->vmcs12;
	struct prog l2 = { 0 };
	struct vmcs12 v;

	event_vmcs12(f, &v, 0);
	v.pin_based_vm_exec_control |= PIN_BASED_EXT_INTR_MASK;
	op(&l2, CPUID, 2);
	apic_enable(f);
	assert_int_equal(vtx_cpu_raise_irq(f->cpu, 0x30), 0);
	nvmx_run_nested(f, &v, &l2);
	expect_halt_at(f, L1_HOST_RIP);
	assert_int_equal(v12->vm_exit_reason, EXIT_REASON_EXTERNAL_INTERRUPT);
	assert_int_equal(v12->vm_exit_intr_info, 0);
}

/* L1 did not ask: the interrupt is L2's, delivered through L2's IDT. */
static void test_ext_intr__not_intercepted_delivered_into_l2(void **state)
{
	struct fixture *f = *state;
	const struct vmcs12 *v12 = f->vm.nvmx->vmcs12;
	struct prog l2 = { 0 };
	struct vmcs12 v;

	event_vmcs12(f, &v, 0);
	op(&l2, CPUID, 2);
	apic_enable(f);
	assert_int_equal(vtx_cpu_raise_irq(f->cpu, IRQ_VEC), 0);
	nvmx_run_nested(f, &v, &l2);
	expect_halt_at(f, L1_HOST_RIP);
	assert_int_equal(v12->vm_exit_reason, EXIT_REASON_HLT);
	assert_int_equal(gpr(f, VCPU_REGS_R15), IRQ_VEC);
	assert_int_equal(v12->guest_rip, STUB_HLT(IRQ_VEC));
	assert_int_equal(f->vm.stats.l2_exits[EXIT_REASON_EXTERNAL_INTERRUPT],
			 0);
}

/* NMI exiting: reason 0 with an NMI interruption type, vector 2, at the
 * instruction after the WRMSR L0 performed for L2 (its CPUID). */
static void test_nmi__l1_nmi_exiting_reflected_as_nmi(void **state)
{
	struct fixture *f = *state;
	const struct vmcs12 *v12 = f->vm.nvmx->vmcs12;
	struct prog l2 = { 0 };
	struct vmcs12 v;

	event_vmcs12(f, &v, 0);
	v.pin_based_vm_exec_control |= PIN_BASED_NMI_EXITING;
	l2_self_nmi(f, &v, &l2);
	nvmx_run_nested(f, &v, &l2);
	expect_halt_at(f, L1_HOST_RIP);
	assert_int_equal(v12->vm_exit_reason, EXIT_REASON_EXCEPTION_NMI);
	assert_int_equal(v12->vm_exit_intr_info, 0x80000202u);
	assert_int_equal(v12->guest_rip, L2_CODE + l2.n - 2);
	assert_int_equal(f->vm.stats.l2_exits[EXIT_REASON_MSR_WRITE], 1);
	assert_int_equal(f->vm.stats.reflected[EXIT_REASON_MSR_WRITE].count, 0);
}

/* Without NMI exiting the NMI goes through L2's IDT vector 2. */
static void test_nmi__not_intercepted_delivered_into_l2(void **state)
{
	struct fixture *f = *state;
	const struct vmcs12 *v12 = f->vm.nvmx->vmcs12;
	struct prog l2 = { 0 };
	struct vmcs12 v;

	event_vmcs12(f, &v, 0);
	l2_self_nmi(f, &v, &l2);
	nvmx_run_nested(f, &v, &l2);
	expect_halt_at(f, L1_HOST_RIP);
	assert_int_equal(v12->vm_exit_reason, EXIT_REASON_HLT);
	assert_int_equal(gpr(f, VCPU_REGS_R15), NMI_VECTOR);
	assert_int_equal(v12->guest_rip, STUB_HLT(NMI_VECTOR));
}

/* ---- windows, MTF, the preemption timer ----------------------------------------- */

static void test_window__interrupt_window_reflected_reason_7(void **state)
{
	struct fixture *f = *state;
	const struct vmcs12 *v12 = f->vm.nvmx->vmcs12;
	struct prog l2 = { 0 };
	struct vmcs12 v;

	event_vmcs12(f, &v, 0);
	v.cpu_based_vm_exec_control |= CPU_BASED_INTR_WINDOW_EXITING;
	op(&l2, CPUID, 2);
	nvmx_run_nested(f, &v, &l2);
	expect_halt_at(f, L1_HOST_RIP);
	assert_int_equal(v12->vm_exit_reason, EXIT_REASON_INTERRUPT_WINDOW);
	assert_int_equal(v12->guest_rip, L2_CODE);
}

static void test_window__nmi_window_reflected_reason_8(void **state)
{
	struct fixture *f = *state;
	const struct vmcs12 *v12 = f->vm.nvmx->vmcs12;
	struct prog l2 = { 0 };
	struct vmcs12 v;

	event_vmcs12(f, &v, 0);
	v.pin_based_vm_exec_control |=
		PIN_BASED_NMI_EXITING | PIN_BASED_VIRTUAL_NMIS;
	v.cpu_based_vm_exec_control |= CPU_BASED_NMI_WINDOW_EXITING;
	op(&l2, CPUID, 2);
	nvmx_run_nested(f, &v, &l2);
	expect_halt_at(f, L1_HOST_RIP);
	assert_int_equal(v12->vm_exit_reason, EXIT_REASON_NMI_WINDOW);
	assert_int_equal(v12->guest_rip, L2_CODE);
}

/* MTF: an exit after L2's first instruction (nop, 90). */
static void test_mtf__after_one_l2_instruction_reflected(void **state)
{
	struct fixture *f = *state;
	const struct vmcs12 *v12 = f->vm.nvmx->vmcs12;
	struct prog l2 = { 0 };
	struct vmcs12 v;

	event_vmcs12(f, &v, 0);
	v.cpu_based_vm_exec_control |= CPU_BASED_MONITOR_TRAP_FLAG;
	op(&l2, NOP, 1);
	op(&l2, CPUID, 2);
	nvmx_run_nested(f, &v, &l2);
	expect_halt_at(f, L1_HOST_RIP);
	assert_int_equal(v12->vm_exit_reason, EXIT_REASON_MONITOR_TRAP_FLAG);
	assert_int_equal(v12->guest_rip, L2_CODE + 1);
	assert_int_equal(f->vm.stats.mtf_after_emulation, 0);
}

/* An OUT L1 does not intercept is performed by L0 for L2: the MTF exit
 * the processor would have taken after it is L0's to give (26.5.2). */
static void test_mtf__after_io_l0_performed_reflected_by_l0(void **state)
{
	struct fixture *f = *state;
	const struct vmcs12 *v12 = f->vm.nvmx->vmcs12;
	struct prog l2 = { 0 };
	struct vmcs12 v;

	event_vmcs12(f, &v, 0);
	v.cpu_based_vm_exec_control |=
		CPU_BASED_MONITOR_TRAP_FLAG | CPU_BASED_USE_IO_BITMAPS;
	v.io_bitmap_a = IO_A;
	v.io_bitmap_b = IO_B;
	op(&l2, OUT_80, 2);
	op(&l2, CPUID, 2);
	nvmx_run_nested(f, &v, &l2);
	expect_halt_at(f, L1_HOST_RIP);
	assert_int_equal(f->bus.unclaimed_writes, 1);
	assert_int_equal(v12->vm_exit_reason, EXIT_REASON_MONITOR_TRAP_FLAG);
	assert_int_equal(v12->guest_rip, L2_CODE + 2);
	assert_int_equal(v12->exit_qualification, 0);
	assert_int_equal(f->vm.stats.mtf_after_emulation, 1);
}

/* Timer value 0: an exit before L2's first instruction (SDM 26.7.4). */
static void test_timer__zero_exits_before_first_instruction(void **state)
{
	struct fixture *f = *state;
	const struct vmcs12 *v12 = f->vm.nvmx->vmcs12;
	struct prog l2 = { 0 };
	struct vmcs12 v;

	event_vmcs12(f, &v, 0);
	v.pin_based_vm_exec_control |= PIN_BASED_VMX_PREEMPTION_TIMER;
	v.vm_exit_controls |= VM_EXIT_SAVE_VMX_PREEMPTION_TIMER;
	v.vmx_preemption_timer_value = 0;
	op(&l2, CPUID, 2);
	nvmx_run_nested(f, &v, &l2);
	expect_halt_at(f, L1_HOST_RIP);
	assert_int_equal(v12->vm_exit_reason, EXIT_REASON_PREEMPTION_TIMER);
	assert_int_equal(v12->guest_rip, L2_CODE);
	assert_int_equal(v12->vmx_preemption_timer_value, 0);
}

/* L2 spins (jmp $, eb fe) until the timer runs out; L1 asked for the
 * value to be saved: 0 when it fired. */
static void test_timer__counts_down_while_l2_spins(void **state)
{
	struct fixture *f = *state;
	const struct vmcs12 *v12 = f->vm.nvmx->vmcs12;
	struct prog l2 = { 0 };
	struct vmcs12 v;

	event_vmcs12(f, &v, 0);
	v.pin_based_vm_exec_control |= PIN_BASED_VMX_PREEMPTION_TIMER;
	v.vm_exit_controls |= VM_EXIT_SAVE_VMX_PREEMPTION_TIMER;
	v.vmx_preemption_timer_value = 4;
	op(&l2, JMP_SELF, 2);
	nvmx_run_nested(f, &v, &l2);
	expect_halt_at(f, L1_HOST_RIP);
	assert_int_equal(v12->vm_exit_reason, EXIT_REASON_PREEMPTION_TIMER);
	assert_int_equal(v12->guest_rip, L2_CODE);
	assert_int_equal(v12->vmx_preemption_timer_value, 0);
	assert_true(f->vm.stats.insns_l2 > 0);
}

/* ---- activity and interruptibility state ---------------------------------------- */

/* L2 entered in the HLT state waits; the timer ends the wait, and the
 * exit saves the HLT state for L1. */
static void test_activity__hlt_round_trips_through_timer_exit(void **state)
{
	struct fixture *f = *state;
	const struct vmcs12 *v12 = f->vm.nvmx->vmcs12;
	struct prog l2 = { 0 };
	struct vmcs12 v;

	event_vmcs12(f, &v, 0);
	v.guest_activity_state = GUEST_ACTIVITY_HLT;
	v.pin_based_vm_exec_control |= PIN_BASED_VMX_PREEMPTION_TIMER;
	v.vmx_preemption_timer_value = 2;
	op(&l2, CPUID, 2);
	nvmx_run_nested(f, &v, &l2);
	expect_halt_at(f, L1_HOST_RIP);
	assert_int_equal(v12->vm_exit_reason, EXIT_REASON_PREEMPTION_TIMER);
	assert_int_equal(v12->guest_activity_state, GUEST_ACTIVITY_HLT);
	assert_int_equal(v12->guest_rip, L2_CODE);
	assert_int_equal(f->vm.stats.insns_l2, 0);
	/* Not saved: vmcs12 keeps L1's value. */
	assert_int_equal(v12->vmx_preemption_timer_value, 2);
}

/* An injected interrupt wakes an L2 entered in the HLT state. */
static void test_activity__hlt_woken_by_injected_interrupt(void **state)
{
	struct fixture *f = *state;
	const struct vmcs12 *v12 = f->vm.nvmx->vmcs12;
	struct prog l2 = { 0 };
	struct vmcs12 v;

	event_vmcs12(f, &v, 0);
	v.guest_activity_state = GUEST_ACTIVITY_HLT;
	v.vm_entry_intr_info_field =
		vmx_build_intr_info(IRQ_VEC, INTR_TYPE_EXT_INTR, false);
	op(&l2, CPUID, 2);
	nvmx_run_nested(f, &v, &l2);
	expect_halt_at(f, L1_HOST_RIP);
	assert_int_equal(v12->vm_exit_reason, EXIT_REASON_HLT);
	assert_int_equal(gpr(f, VCPU_REGS_R15), IRQ_VEC);
	assert_int_equal(v12->guest_activity_state, GUEST_ACTIVITY_ACTIVE);
}

/* Virtual-NMI blocking set by L1 is L2's until an IRET: a CPUID exit
 * saves it back into vmcs12. */
static void test_interruptibility__nmi_blocking_round_trips(void **state)
{
	struct fixture *f = *state;
	const struct vmcs12 *v12 = f->vm.nvmx->vmcs12;
	struct prog l2 = { 0 };
	struct vmcs12 v;

	event_vmcs12(f, &v, 0);
	v.pin_based_vm_exec_control |=
		PIN_BASED_NMI_EXITING | PIN_BASED_VIRTUAL_NMIS;
	v.guest_interruptibility_info = GUEST_INTR_STATE_NMI;
	op(&l2, CPUID, 2);
	nvmx_run_nested(f, &v, &l2);
	expect_halt_at(f, L1_HOST_RIP);
	assert_int_equal(v12->vm_exit_reason, EXIT_REASON_CPUID);
	assert_int_equal(v12->guest_interruptibility_info,
			 GUEST_INTR_STATE_NMI);
}

/* ---- unrestricted guest checks ---------------------------------------------------- */

/* An unrestricted vmcs12 may clear PE and PG, but PG without PE fails
 * (SDM 27.3.1.1), and the check that fires says so. */
static void test_unrestricted__pg_without_pe_is_entry_failure(void **state)
{
	struct fixture *f = *state;
	struct vmcs12_check out;
	struct vmcs12 v;

	event_vmcs12(f, &v, vmx_build_eptp(EPT12, 4, false));
	v.secondary_vm_exec_control |= SECONDARY_EXEC_UNRESTRICTED_GUEST;
	v.guest_cr0 &= ~(uint64_t)X86_CR0_PE;
	vmcs_merge_check_vmcs12(&v, &f->vm.nvmx->caps, 39, &out);
	assert_int_equal(out.result, VMCS12_CHECK_ENTRY_FAIL);
	assert_string_equal(out.check,
			    "(cr0 & X86_CR0_PG) && !(cr0 & X86_CR0_PE)");
}

/* ---- vpid02 ------------------------------------------------------------------------ */

static void test_vpid02__one_per_vmcs12_vpid_recycled_when_full(void **state)
{
	struct vpid02_map m;

	(void)state;
	vpid02_init(&m, NULL);
	assert_int_equal(vpid02_get(&m, 0), VPID02_NO_VPID12);
	assert_int_equal(vpid02_get(&m, 5), VPID02_FIRST);
	assert_int_equal(vpid02_get(&m, 7), VPID02_FIRST + 1);
	assert_int_equal(vpid02_get(&m, 5), VPID02_FIRST);
	assert_int_equal(vpid02_find(&m, 9), 0);
	for (uint16_t k = 100; m.used < VPID02_MAX; k++)
		vpid02_get(&m, k);
	assert_int_equal(m.recycles, 0);
	assert_int_equal(vpid02_get(&m, 9), VPID02_FIRST);
	assert_int_equal(m.recycles, 1);
	assert_int_equal(vpid02_find(&m, 5), 0);
}

/* vmcs12 with VPID 5: L2 runs on vpid02 2 (vmcs02 holds it, with
 * "enable VPID"), and no nested entry flushes it. */
static void test_vpid02__vmcs12_vpid_runs_l2_on_vpid02(void **state)
{
	struct fixture *f = *state;
	struct prog l2 = { 0 };
	struct vmcs12 v;
	uint64_t vpid = 0, proc2 = 0;

	event_vmcs12(f, &v, 0);
	v.secondary_vm_exec_control |= SECONDARY_EXEC_ENABLE_VPID;
	v.virtual_processor_id = 5;
	op(&l2, CPUID, 2);
	nvmx_run_nested(f, &v, &l2);
	expect_halt_at(f, L1_HOST_RIP);
	assert_int_equal(f->vm.nvmx->cfg02.vpid02, VPID02_FIRST);
	assert_int_equal(vpid02_find(&f->vm.nvmx->vpid02, 5), VPID02_FIRST);
	assert_int_equal(f->vm.stats.vpid02_flushes, 0);
	assert_int_equal(vtx_vmptrld(f->cpu, f->vm.vmcs02), 0);
	assert_int_equal(vtx_vmcs_peek(f->cpu, VIRTUAL_PROCESSOR_ID, &vpid), 0);
	assert_int_equal(
		vtx_vmcs_peek(f->cpu, SECONDARY_VM_EXEC_CONTROL, &proc2), 0);
	assert_int_equal(vpid, VPID02_FIRST);
	assert_int_equal(proc2 & SECONDARY_EXEC_ENABLE_VPID,
			 SECONDARY_EXEC_ENABLE_VPID);
}

/* Without VPID in vmcs12 L2 runs on vpid02 1, flushed at the entry. */
static void test_vpid02__no_vmcs12_vpid_flushed_at_each_entry(void **state)
{
	struct fixture *f = *state;
	struct prog l2 = { 0 };
	struct vmcs12 v;

	event_vmcs12(f, &v, 0);
	op(&l2, CPUID, 2);
	nvmx_run_nested(f, &v, &l2);
	expect_halt_at(f, L1_HOST_RIP);
	assert_int_equal(f->vm.nvmx->cfg02.vpid02, VPID02_NO_VPID12);
	assert_int_equal(f->vm.stats.vpid02_flushes, 1);
}

/* L1's INVVPID lands on the processor only for a VPID some vmcs12 ran
 * with (one invalidation of the architectural TLB each), all-context
 * always. */
static void test_vpid02__invvpid_translated_onto_vpid02(void **state)
{
	struct fixture *f = *state;
	struct vpid02_map *m = &f->vm.nvmx->vpid02;
	struct vtx_cpu_stats st;
	uint64_t before;

	vtx_cpu_get_stats(f->cpu, &st);
	before = st.tlb_flushes;
	assert_int_equal(
		vpid02_invvpid(m, VMX_VPID_EXTENT_SINGLE_CONTEXT, 5, 0), 0);
	vtx_cpu_get_stats(f->cpu, &st);
	assert_int_equal(st.tlb_flushes, before);
	vpid02_get(m, 5);
	assert_int_equal(
		vpid02_invvpid(m, VMX_VPID_EXTENT_SINGLE_CONTEXT, 5, 0), 0);
	assert_int_equal(
		vpid02_invvpid(m, VMX_VPID_EXTENT_INDIVIDUAL_ADDR, 5, 0x1000),
		0);
	assert_int_equal(
		vpid02_invvpid(m, VMX_VPID_EXTENT_SINGLE_NON_GLOBAL, 5, 0), 0);
	assert_int_equal(vpid02_invvpid(m, VMX_VPID_EXTENT_ALL_CONTEXT, 0, 0),
			 0);
	vtx_cpu_get_stats(f->cpu, &st);
	assert_int_equal(st.tlb_flushes, before + 4);
}

#define T(t) cmocka_unit_test_setup_teardown(t, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_caps__event_controls_ug_invpcid_hlt_timer_offered),
		T(test_nested_l1_wants_exit__event_reasons_follow_controls),
		T(test_inject__ext_intr_delivered_through_l2_idt),
		T(test_inject__delivery_gp_reflected_with_idt_vectoring),
		T(test_inject__ept02_fills_during_delivery_reinjected),
		T(test_ext_intr__l1_exiting_with_ack_reflected_with_vector),
		T(test_ext_intr__l1_exiting_without_ack_info_invalid),
		T(test_ext_intr__not_intercepted_delivered_into_l2),
		T(test_nmi__l1_nmi_exiting_reflected_as_nmi),
		T(test_nmi__not_intercepted_delivered_into_l2),
		T(test_window__interrupt_window_reflected_reason_7),
		T(test_window__nmi_window_reflected_reason_8),
		T(test_mtf__after_one_l2_instruction_reflected),
		T(test_mtf__after_io_l0_performed_reflected_by_l0),
		T(test_timer__zero_exits_before_first_instruction),
		T(test_timer__counts_down_while_l2_spins),
		T(test_activity__hlt_round_trips_through_timer_exit),
		T(test_activity__hlt_woken_by_injected_interrupt),
		T(test_interruptibility__nmi_blocking_round_trips),
		T(test_unrestricted__pg_without_pe_is_entry_failure),
		T(test_vpid02__one_per_vmcs12_vpid_recycled_when_full),
		T(test_vpid02__vmcs12_vpid_runs_l2_on_vpid02),
		T(test_vpid02__no_vmcs12_vpid_flushed_at_each_entry),
		T(test_vpid02__invvpid_translated_onto_vpid02),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
