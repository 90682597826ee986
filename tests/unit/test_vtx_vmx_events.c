/* SPDX-License-Identifier: MIT */
/*
 * test_vtx_vmx_events - the VMX event controls of the model (vtx/events.c,
 * vtx/vmx_entry.c, vtx/vmx_exit.c; SDM Vol. 3C 26.2-26.7, 27.3.1.5, 27.6,
 * 28.2-28.3): interrupt and NMI windows, virtual NMIs, external-interrupt
 * exiting with and without acknowledge-on-exit, the VMX-preemption timer,
 * the monitor trap flag, the HLT activity state, NMI unblocking by a
 * faulting IRET, and the entry checks on activity and interruptibility
 * state. The harness's "unit" profile charges one cycle per instruction
 * and nothing else, so cycle counts are instruction counts. Host side.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <asm/vmx.h>

#include "arch/ept.h"
#include "arch/vmx_exit_qual.h"
#include "arch/vmx_insn_errors.h"
#include "arch/x86_msr.h"
#include "tests/unit/vmx_harness.h"
#include "tests/unit/vtx_harness.h"
#include "tests/vmx/fields.h"
#include "vtx/cpu.h"

#define wr harness_vmwrite
#define rd harness_vmread

#define X2(off) (0x800u + ((off) >> 4))
#define STUB(vec) (HARNESS_STUBS + (uint64_t)(vec)*HARNESS_STUB_SIZE)
#define EPT_PML4 0x40000ull
#define EPT_PDPT 0x41000ull
#define EPT_PD 0x42000ull

/* Interruption information (SDM 24.8.3, Table 24-16). */
#define INFO(type, vec) (INTR_INFO_VALID_MASK | (type) | (uint32_t)(vec))

/* Loads code at CODE_BASE and a VMCS that enters it with the pin-based
 * controls `pin` and the primary controls `proc` (each checked against
 * the TRUE capability MSRs). */
static void ev_setup(struct harness *h, const uint8_t *code, size_t len,
		     uint32_t pin, uint32_t proc)
{
	if (len)
		harness_load(h, CODE_BASE, code, len);
	harness_vmcs_setup(h, proc, 0);
	wr(h, PIN_BASED_VM_EXEC_CONTROL,
	   harness_vmx_ctl(h, MSR_IA32_VMX_TRUE_PINBASED_CTLS, pin));
}

static void add_exit_ctls(struct harness *h, uint32_t bits)
{
	uint32_t v = (uint32_t)rd(h, VM_EXIT_CONTROLS) | bits;

	wr(h, VM_EXIT_CONTROLS,
	   harness_vmx_ctl(h, MSR_IA32_VMX_TRUE_EXIT_CTLS, v));
}

/* The local APIC in x2APIC mode, software-enabled (spurious 0xff). */
static void apic_on(struct harness *h)
{
	assert_int_equal(
		vtx_cpu_set_msr(h->cpu, MSR_IA32_APICBASE,
				0xfee00000ull | (1ull << 11) | (1ull << 10)),
		0);
	assert_int_equal(vtx_cpu_set_msr(h->cpu, X2(0xf0), 0x1ff), 0);
}

static uint64_t rdmsr(struct harness *h, uint32_t msr)
{
	uint64_t v = ~0ull;

	assert_int_equal(vtx_cpu_get_msr(h->cpu, msr, &v), 0);
	return v;
}

static uint64_t insns(struct harness *h)
{
	struct vtx_cpu_stats st;

	vtx_cpu_get_stats(h->cpu, &st);
	return st.insns;
}

static void launch_exit(struct harness *h, uint32_t reason)
{
	struct vtx_stop st;

	assert_int_equal(vtx_vmlaunch(h->cpu, &st), 0);
	assert_int_equal(st.reason, VTX_STOP_VMEXIT);
	assert_int_equal(rd(h, VM_EXIT_REASON), reason);
}

static void resume_exit(struct harness *h, uint32_t reason)
{
	struct vtx_stop st;

	assert_int_equal(vtx_vmresume(h->cpu, &st), 0);
	assert_int_equal(st.reason, VTX_STOP_VMEXIT);
	assert_int_equal(rd(h, VM_EXIT_REASON), reason);
}

static void launch_entry_fail(struct harness *h, const char *check)
{
	struct vtx_stop st;

	assert_int_equal(vtx_vmlaunch(h->cpu, &st), 0);
	assert_int_equal(rd(h, VM_EXIT_REASON),
			 EXIT_REASON_INVALID_STATE |
				 VMX_EXIT_REASONS_FAILED_VMENTRY);
	assert_string_equal(h->cpu->vmx_check, check);
}

/* ---- interrupt window (SDM 26.7.5) ------------------------------------ */

/* IF = 1 and no blocking at entry: the window is open before the first
 * instruction. The exit has no qualification or interruption info. */
static void test_intr_window__open_at_entry_exits_before_first_insn(void **s)
{
	struct harness *h = *s;
	static const uint8_t code[] = { 0x90 /* nop */ };

	ev_setup(h, code, sizeof(code), 0, CPU_BASED_INTR_WINDOW_EXITING);
	wr(h, GUEST_RFLAGS, X86_EFLAGS_FIXED | X86_EFLAGS_IF);
	launch_exit(h, EXIT_REASON_INTERRUPT_WINDOW);
	assert_int_equal(rd(h, GUEST_RIP), CODE_BASE);
	assert_int_equal(rd(h, EXIT_QUALIFICATION), 0);
	assert_int_equal(rd(h, VM_EXIT_INTR_INFO), 0);
	assert_int_equal(rd(h, GUEST_INTERRUPTIBILITY_INFO), 0);
	assert_int_equal(rd(h, GUEST_ACTIVITY_STATE), GUEST_ACTIVITY_ACTIVE);
	assert_int_equal(insns(h), 0);
}

/* IF = 0 keeps it shut; STI sets IF but blocks for one more instruction
 * (SDM 6.8.3): the window opens after the NOP that follows. */
static void test_intr_window__sti_shadow_delays_exit_past_next_insn(void **s)
{
	struct harness *h = *s;
	static const uint8_t code[] = {
		0x90, /* nop */
		0xfb, /* sti */
		0x90, /* nop */
		0x90, /* nop */
	};

	ev_setup(h, code, sizeof(code), 0, CPU_BASED_INTR_WINDOW_EXITING);
	launch_exit(h, EXIT_REASON_INTERRUPT_WINDOW);
	assert_int_equal(rd(h, GUEST_RIP), CODE_BASE + 3);
	assert_int_equal(rd(h, GUEST_RFLAGS), X86_EFLAGS_FIXED | X86_EFLAGS_IF);
	assert_int_equal(rd(h, GUEST_INTERRUPTIBILITY_INFO), 0);
	assert_int_equal(insns(h), 3);
}

/* MOV-SS blocking loaded by VM entry holds the window shut for the first
 * instruction, and is gone when the exit saves the state. */
static void test_intr_window__mov_ss_blocking_at_entry_delays_one(void **s)
{
	struct harness *h = *s;
	static const uint8_t code[] = { 0x90, 0x90 };

	ev_setup(h, code, sizeof(code), 0, CPU_BASED_INTR_WINDOW_EXITING);
	wr(h, GUEST_RFLAGS, X86_EFLAGS_FIXED | X86_EFLAGS_IF);
	wr(h, GUEST_INTERRUPTIBILITY_INFO, GUEST_INTR_STATE_MOV_SS);
	launch_exit(h, EXIT_REASON_INTERRUPT_WINDOW);
	assert_int_equal(rd(h, GUEST_RIP), CODE_BASE + 1);
	assert_int_equal(rd(h, GUEST_INTERRUPTIBILITY_INFO), 0);
	assert_int_equal(insns(h), 1);
}

/* An exit taken right after a guest MOV SS saves MOV-SS blocking. */
static void test_intr_state__exit_after_mov_ss_saves_mov_ss_blocking(void **s)
{
	struct harness *h = *s;
	static const uint8_t code[] = {
		0x8e, 0xd0, /* mov ss, eax */
		0x0f, 0xa2, /* cpuid */
	};
	struct kvm_regs r;

	ev_setup(h, code, sizeof(code), 0, 0);
	vtx_cpu_get_regs(h->cpu, &r);
	r.rax = SEL_KDATA;
	vtx_cpu_set_regs(h->cpu, &r);
	launch_exit(h, EXIT_REASON_CPUID);
	assert_int_equal(rd(h, GUEST_RIP), CODE_BASE + 2);
	assert_int_equal(rd(h, GUEST_INTERRUPTIBILITY_INFO),
			 GUEST_INTR_STATE_MOV_SS);
}

/* An exit taken inside an STI shadow saves STI blocking (SDM 28.3.4). */
static void test_intr_state__exit_in_sti_shadow_saves_sti_blocking(void **s)
{
	struct harness *h = *s;
	static const uint8_t code[] = {
		0xfb, /* sti */
		0x0f, 0xa2, /* cpuid */
	};

	ev_setup(h, code, sizeof(code), 0, 0);
	launch_exit(h, EXIT_REASON_CPUID);
	assert_int_equal(rd(h, GUEST_RIP), CODE_BASE + 1);
	assert_int_equal(rd(h, VM_EXIT_INSTRUCTION_LEN), 2);
	assert_int_equal(rd(h, GUEST_INTERRUPTIBILITY_INFO),
			 GUEST_INTR_STATE_STI);
}

/* ---- NMIs, virtual NMIs and the NMI window (SDM 26.3, 26.7.6) ---------- */

#define PIN_VNMI (PIN_BASED_NMI_EXITING | PIN_BASED_VIRTUAL_NMIS)

/* Builds an IRETQ frame to the NOP after it and returns there:
 * mov rax, rsp; push ss; push rax; pushfq; push cs; push rip; iretq. */
static const uint8_t iret_to_next[] = {
	0x48, 0x89, 0xe0, /* 0: mov rax, rsp */
	0x6a, 0x10, /* 3: push 0x10 */
	0x50, /* 5: push rax */
	0x9c, /* 6: pushfq */
	0x6a, 0x08, /* 7: push 0x8 */
	0x48, 0x8d, 0x0d, 0x03, 0x00, 0x00, 0x00, /* 9: lea rcx, [rip+3] */
	0x51, /* 16: push rcx */
	0x48, 0xcf, /* 17: iretq */
	0x90, /* 19: nop */
};

/* Virtual-NMI blocking at entry holds the NMI window shut until the
 * guest's IRET removes it; the window opens at the next boundary. */
static void test_nmi_window__opens_after_iret_ends_virtual_blocking(void **s)
{
	struct harness *h = *s;

	ev_setup(h, iret_to_next, sizeof(iret_to_next), PIN_VNMI,
		 CPU_BASED_NMI_WINDOW_EXITING);
	wr(h, GUEST_INTERRUPTIBILITY_INFO, GUEST_INTR_STATE_NMI);
	launch_exit(h, EXIT_REASON_NMI_WINDOW);
	assert_int_equal(rd(h, GUEST_RIP), CODE_BASE + 19);
	assert_int_equal(rd(h, EXIT_QUALIFICATION), 0);
	assert_int_equal(rd(h, VM_EXIT_INTR_INFO), 0);
	assert_int_equal(rd(h, GUEST_INTERRUPTIBILITY_INFO), 0);
	assert_int_equal(insns(h), 8);
}

/* No blocking at entry: the exit comes before the first instruction. */
static void test_nmi_window__unblocked_at_entry_exits_at_once(void **s)
{
	struct harness *h = *s;

	ev_setup(h, iret_to_next, sizeof(iret_to_next), PIN_VNMI,
		 CPU_BASED_NMI_WINDOW_EXITING);
	launch_exit(h, EXIT_REASON_NMI_WINDOW);
	assert_int_equal(rd(h, GUEST_RIP), CODE_BASE);
	assert_int_equal(insns(h), 0);
}

/* MOV-SS blocking holds the NMI window shut for one instruction. */
static void test_nmi_window__mov_ss_blocking_delays_one(void **s)
{
	struct harness *h = *s;

	ev_setup(h, iret_to_next, sizeof(iret_to_next), PIN_VNMI,
		 CPU_BASED_NMI_WINDOW_EXITING);
	wr(h, GUEST_INTERRUPTIBILITY_INFO, GUEST_INTR_STATE_MOV_SS);
	launch_exit(h, EXIT_REASON_NMI_WINDOW);
	assert_int_equal(rd(h, GUEST_RIP), CODE_BASE + 3);
	assert_int_equal(insns(h), 1);
}

/* An injected NMI sets virtual-NMI blocking (SDM 27.6.1.2): the guest's
 * handler (the stub, HLT with HLT exiting) runs with it, and the exit
 * saves it. */
static void test_vnmi__injected_nmi_sets_virtual_blocking(void **s)
{
	struct harness *h = *s;

	ev_setup(h, NULL, 0, PIN_VNMI, CPU_BASED_HLT_EXITING);
	wr(h, VM_ENTRY_INTR_INFO_FIELD, INFO(INTR_TYPE_NMI_INTR, NMI_VECTOR));
	launch_exit(h, EXIT_REASON_HLT);
	assert_int_equal(rd(h, GUEST_RIP), STUB(NMI_VECTOR));
	assert_int_equal(rd(h, VM_EXIT_INSTRUCTION_LEN), 1);
	assert_int_equal(rd(h, GUEST_INTERRUPTIBILITY_INFO),
			 GUEST_INTR_STATE_NMI);
	/* the valid bit of the entry field is cleared by the exit */
	assert_int_equal(rd(h, VM_ENTRY_INTR_INFO_FIELD),
			 INTR_TYPE_NMI_INTR | NMI_VECTOR);
}

/* With NMI exiting a real NMI exits (reason 0, NMI type, vector 2)
 * whatever the guest's virtual-NMI blocking and RFLAGS.IF. */
static void test_nmi_exiting__nmi_exits_despite_virtual_blocking(void **s)
{
	struct harness *h = *s;
	static const uint8_t code[] = { 0x90 };

	ev_setup(h, code, sizeof(code), PIN_VNMI, 0);
	wr(h, GUEST_INTERRUPTIBILITY_INFO, GUEST_INTR_STATE_NMI);
	assert_int_equal(vtx_cpu_raise_nmi(h->cpu), 0);
	launch_exit(h, EXIT_REASON_EXCEPTION_NMI);
	assert_int_equal(rd(h, VM_EXIT_INTR_INFO),
			 INFO(INTR_TYPE_NMI_INTR, NMI_VECTOR));
	assert_int_equal(rd(h, GUEST_RIP), CODE_BASE);
	assert_int_equal(rd(h, GUEST_INTERRUPTIBILITY_INFO),
			 GUEST_INTR_STATE_NMI);
	assert_int_equal(rd(h, IDT_VECTORING_INFO_FIELD), 0);
}

/* ---- NMI unblocking by an IRET that faults (SDM 28.2.2, 26.3) ---------- */

/* The same frame with CS = 0x10, a data segment: IRETQ takes #GP(0x10). */
static const uint8_t iret_bad_cs[] = {
	0x48, 0x89, 0xe0, /* 0: mov rax, rsp */
	0x6a, 0x10, /* 3: push 0x10 */
	0x50, /* 5: push rax */
	0x9c, /* 6: pushfq */
	0x6a, 0x10, /* 7: push 0x10 */
	0x48, 0x8d, 0x0d, 0x03, 0x00, 0x00, 0x00, /* 9: lea rcx, [rip+3] */
	0x51, /* 16: push rcx */
	0x48, 0xcf, /* 17: iretq */
	0x90, /* 19: nop */
};

/* The IRET removed virtual-NMI blocking before it faulted: the #GP exit
 * sets bit 12 and saves no blocking, for the VMM to restore it. */
static void test_iret_fault__exit_reports_nmi_unblocking_bit12(void **s)
{
	struct harness *h = *s;

	ev_setup(h, iret_bad_cs, sizeof(iret_bad_cs), PIN_VNMI, 0);
	wr(h, EXCEPTION_BITMAP, 1u << GP_VECTOR);
	wr(h, GUEST_INTERRUPTIBILITY_INFO, GUEST_INTR_STATE_NMI);
	launch_exit(h, EXIT_REASON_EXCEPTION_NMI);
	assert_int_equal(rd(h, VM_EXIT_INTR_INFO),
			 INFO(INTR_TYPE_HARD_EXCEPTION, GP_VECTOR) |
				 INTR_INFO_DELIVER_CODE_MASK |
				 INTR_INFO_UNBLOCK_NMI);
	assert_int_equal(rd(h, VM_EXIT_INTR_ERROR_CODE), 0x10);
	assert_int_equal(rd(h, GUEST_RIP), CODE_BASE + 17);
	assert_int_equal(rd(h, GUEST_INTERRUPTIBILITY_INFO), 0);
	assert_int_equal(insns(h), 7);
}

/* Without blocking before the IRET, bit 12 stays clear. */
static void test_iret_fault__no_blocking_before_leaves_bit12_clear(void **s)
{
	struct harness *h = *s;

	ev_setup(h, iret_bad_cs, sizeof(iret_bad_cs), PIN_VNMI, 0);
	wr(h, EXCEPTION_BITMAP, 1u << GP_VECTOR);
	launch_exit(h, EXIT_REASON_EXCEPTION_NMI);
	assert_int_equal(rd(h, VM_EXIT_INTR_INFO),
			 INFO(INTR_TYPE_HARD_EXCEPTION, GP_VECTOR) |
				 INTR_INFO_DELIVER_CODE_MASK);
	assert_int_equal(rd(h, GUEST_INTERRUPTIBILITY_INFO), 0);
}

/* With NMI exiting and without virtual NMIs, IRET leaves NMI blocking
 * alone (SDM 26.3): no bit 12, and the blocking is saved as it was. */
static void test_iret_fault__nmi_exiting_without_vnmi_keeps_blocking(void **s)
{
	struct harness *h = *s;

	ev_setup(h, iret_bad_cs, sizeof(iret_bad_cs), PIN_BASED_NMI_EXITING, 0);
	wr(h, EXCEPTION_BITMAP, 1u << GP_VECTOR);
	wr(h, GUEST_INTERRUPTIBILITY_INFO, GUEST_INTR_STATE_NMI);
	launch_exit(h, EXIT_REASON_EXCEPTION_NMI);
	assert_int_equal(rd(h, VM_EXIT_INTR_INFO),
			 INFO(INTR_TYPE_HARD_EXCEPTION, GP_VECTOR) |
				 INTR_INFO_DELIVER_CODE_MASK);
	assert_int_equal(rd(h, GUEST_INTERRUPTIBILITY_INFO),
			 GUEST_INTR_STATE_NMI);
}

/* An EPT violation on the IRET's stack read reports the unblocking in
 * bit 12 of the qualification (SDM 28.2.1 Table 28-7). The guest's stack
 * is in [2 MiB, 4 MiB), which EPT does not map. */
static void test_iret_fault__ept_violation_qual_bit12(void **s)
{
	struct harness *h = *s;
	static const uint8_t code[] = {
		0x48, 0xcf, /* iretq */
	};

	harness_write64(h, EPT_PML4, EPT_PDPT | EPT_RWX);
	harness_write64(h, EPT_PDPT, EPT_PD | EPT_RWX);
	harness_write64(h, EPT_PD, 0 | EPT_RWX | EPT_LARGE | EPT_MT(EPT_MT_WB));
	harness_load(h, CODE_BASE, code, sizeof(code));
	harness_vmcs_setup(h, 0, SECONDARY_EXEC_ENABLE_EPT);
	wr(h, PIN_BASED_VM_EXEC_CONTROL,
	   harness_vmx_ctl(h, MSR_IA32_VMX_TRUE_PINBASED_CTLS, PIN_VNMI));
	wr(h, EPT_POINTER, vmx_build_eptp(EPT_PML4, 4, false));
	wr(h, GUEST_RSP, BIG_PAGE + 0x100);
	wr(h, GUEST_INTERRUPTIBILITY_INFO, GUEST_INTR_STATE_NMI);
	launch_exit(h, EXIT_REASON_EPT_VIOLATION);
	assert_int_equal(rd(h, EXIT_QUALIFICATION),
			 EPT_VIOLATION_ACC_READ | EPT_VIOLATION_GVA_IS_VALID |
				 EPT_VIOLATION_GVA_TRANSLATED |
				 EPT_VIOLATION_NMI_UNBLOCKING);
	assert_int_equal(rd(h, GUEST_PHYSICAL_ADDRESS), BIG_PAGE + 0x100);
	assert_int_equal(rd(h, GUEST_RIP), CODE_BASE);
	assert_int_equal(rd(h, GUEST_INTERRUPTIBILITY_INFO), 0);
}

/* ---- external interrupts (SDM 26.2, 28.2.2) ---------------------------- */

/* Without "acknowledge interrupt on exit": reason 1 before the first
 * instruction although RFLAGS.IF = 0, no interruption info, and the
 * vector stays in IRR. */
static void test_extint__exit_without_ack_leaves_vector_in_irr(void **s)
{
	struct harness *h = *s;
	static const uint8_t code[] = { 0x90 };

	apic_on(h);
	ev_setup(h, code, sizeof(code), PIN_BASED_EXT_INTR_MASK, 0);
	assert_int_equal(vtx_cpu_raise_irq(h->cpu, 0x45), 0);
	launch_exit(h, EXIT_REASON_EXTERNAL_INTERRUPT);
	assert_int_equal(rd(h, VM_EXIT_INTR_INFO), 0);
	assert_int_equal(rd(h, EXIT_QUALIFICATION), 0);
	assert_int_equal(rd(h, GUEST_RIP), CODE_BASE);
	assert_int_equal(rdmsr(h, X2(0x200 + 0x20)), 1u << 5); /* IRR */
	assert_int_equal(rdmsr(h, X2(0x100 + 0x20)), 0); /* ISR */
}

/* With it: the interruption info carries the vector, and the APIC moved
 * it from IRR to ISR. */
static void test_extint__exit_with_ack_moves_vector_to_isr(void **s)
{
	struct harness *h = *s;
	static const uint8_t code[] = { 0x90, 0x90, 0x90 };

	apic_on(h);
	ev_setup(h, code, sizeof(code), PIN_BASED_EXT_INTR_MASK,
		 CPU_BASED_MONITOR_TRAP_FLAG);
	add_exit_ctls(h, VM_EXIT_ACK_INTR_ON_EXIT);
	/* MTF exits after the first NOP; the interrupt arrives then */
	launch_exit(h, EXIT_REASON_MONITOR_TRAP_FLAG);
	assert_int_equal(vtx_cpu_raise_irq(h->cpu, 0x45), 0);
	wr(h, CPU_BASED_VM_EXEC_CONTROL,
	   rd(h, CPU_BASED_VM_EXEC_CONTROL) & ~CPU_BASED_MONITOR_TRAP_FLAG);
	resume_exit(h, EXIT_REASON_EXTERNAL_INTERRUPT);
	assert_int_equal(rd(h, VM_EXIT_INTR_INFO),
			 INFO(INTR_TYPE_EXT_INTR, 0x45));
	assert_int_equal(rd(h, GUEST_RIP), CODE_BASE + 1);
	assert_int_equal(rdmsr(h, X2(0x200 + 0x20)), 0);
	assert_int_equal(rdmsr(h, X2(0x100 + 0x20)), 1u << 5);
}

/* ---- VMX-preemption timer (SDM 26.5.1, 26.7.4, 28.3.4) ------------------ */

/* Value 0: the exit comes before the first guest instruction. */
static void test_preempt__zero_exits_before_first_insn(void **s)
{
	struct harness *h = *s;
	static const uint8_t code[] = { 0x90 };

	ev_setup(h, code, sizeof(code), PIN_BASED_VMX_PREEMPTION_TIMER, 0);
	wr(h, VMX_PREEMPTION_TIMER_VALUE, 0);
	launch_exit(h, EXIT_REASON_PREEMPTION_TIMER);
	assert_int_equal(rd(h, GUEST_RIP), CODE_BASE);
	assert_int_equal(rd(h, EXIT_QUALIFICATION), 0);
	assert_int_equal(rd(h, VM_EXIT_INTR_INFO), 0);
	assert_int_equal(insns(h), 0);
}

/*
 * IA32_VMX_MISC[4:0] = 5: the timer counts down each time TSC bit 5
 * changes. Loaded with N at TSC t, it reaches 0 when the TSC reaches
 * ((t >> 5) + N) << 5. Entered at TSC 40 (one cycle per instruction)
 * with N = 3: 128, so the exit follows instruction 88, and the saved
 * value is 0.
 */
static void test_preempt__n_exits_after_exact_cycles_and_saves_zero(void **s)
{
	struct harness *h = *s;
	static const uint8_t code[] = {
		0xeb, 0xfe, /* 0: jmp 0 */
	};
	uint64_t misc;

	misc = rdmsr(h, MSR_IA32_VMX_MISC);
	assert_int_equal(misc & 0x1f, 5);
	assert_int_equal(misc & (1u << 6), 1u << 6); /* HLT activity */
	ev_setup(h, code, sizeof(code), PIN_BASED_VMX_PREEMPTION_TIMER, 0);
	add_exit_ctls(h, VM_EXIT_SAVE_VMX_PREEMPTION_TIMER);
	wr(h, VMX_PREEMPTION_TIMER_VALUE, 3);
	assert_int_equal(vtx_cpu_set_msr(h->cpu, MSR_IA32_TSC, 40), 0);
	launch_exit(h, EXIT_REASON_PREEMPTION_TIMER);
	assert_int_equal(insns(h), ((40 >> 5) + 3) * 32 - 40);
	assert_int_equal(rdmsr(h, MSR_IA32_TSC), 128);
	assert_int_equal(rd(h, GUEST_RIP), CODE_BASE);
	assert_int_equal(rd(h, VMX_PREEMPTION_TIMER_VALUE), 0);
}

/* Another exit saves what is left: entered at TSC 0 with 10, a CPUID
 * after 81 instructions (TSC 81, bit 5 changed twice) leaves 8. */
static void test_preempt__other_exit_saves_remaining_count(void **s)
{
	struct harness *h = *s;
	static const uint8_t code[] = {
		0xb9, 0x28, 0x00, 0x00, 0x00, /* 0: mov ecx, 40 */
		0xff, 0xc9, /* 5: dec ecx */
		0x75, 0xfc, /* 7: jne 5 */
		0x0f, 0xa2, /* 9: cpuid */
	};

	ev_setup(h, code, sizeof(code), PIN_BASED_VMX_PREEMPTION_TIMER, 0);
	add_exit_ctls(h, VM_EXIT_SAVE_VMX_PREEMPTION_TIMER);
	wr(h, VMX_PREEMPTION_TIMER_VALUE, 10);
	launch_exit(h, EXIT_REASON_CPUID);
	assert_int_equal(insns(h), 81);
	assert_int_equal(rd(h, VMX_PREEMPTION_TIMER_VALUE), 10 - (81 >> 5));
}

/* ---- monitor trap flag (SDM 26.5.2, 26.7.2) ----------------------------- */

static void test_mtf__exits_after_one_insn(void **s)
{
	struct harness *h = *s;
	static const uint8_t code[] = {
		0x48, 0xff, 0xc0, /* inc rax */
		0x90, /* nop */
	};

	ev_setup(h, code, sizeof(code), 0, CPU_BASED_MONITOR_TRAP_FLAG);
	launch_exit(h, EXIT_REASON_MONITOR_TRAP_FLAG);
	assert_int_equal(rd(h, GUEST_RIP), CODE_BASE + 3);
	assert_int_equal(rd(h, EXIT_QUALIFICATION), 0);
	assert_int_equal(rd(h, VM_EXIT_INTR_INFO), 0);
	assert_int_equal(insns(h), 1);
	resume_exit(h, EXIT_REASON_MONITOR_TRAP_FLAG);
	assert_int_equal(rd(h, GUEST_RIP), CODE_BASE + 4);
	assert_int_equal(insns(h), 2);
}

/* After an injected event the MTF exit is pending before the handler's
 * first instruction, and ranks above the preemption timer that expired
 * with value 0 (SDM 26.7.2 priority). */
static void test_mtf__after_injected_event_beats_preempt_timer(void **s)
{
	struct harness *h = *s;

	ev_setup(h, NULL, 0, PIN_BASED_VMX_PREEMPTION_TIMER,
		 CPU_BASED_MONITOR_TRAP_FLAG);
	wr(h, VMX_PREEMPTION_TIMER_VALUE, 0);
	wr(h, GUEST_RFLAGS, X86_EFLAGS_FIXED | X86_EFLAGS_IF);
	wr(h, VM_ENTRY_INTR_INFO_FIELD, INFO(INTR_TYPE_EXT_INTR, 0x40));
	launch_exit(h, EXIT_REASON_MONITOR_TRAP_FLAG);
	assert_int_equal(rd(h, GUEST_RIP), STUB(0x40));
	assert_int_equal(rd(h, GUEST_RFLAGS), X86_EFLAGS_FIXED);
	assert_int_equal(rd(h, IDT_VECTORING_INFO_FIELD), 0);
	assert_int_equal(insns(h), 0);
	/* then the timer, still at 0, before the handler runs */
	resume_exit(h, EXIT_REASON_PREEMPTION_TIMER);
	assert_int_equal(rd(h, GUEST_RIP), STUB(0x40));
}

/* A REP string instruction: one iteration, then the exit with RIP still
 * at the instruction and the registers of the next iteration. */
static void test_mtf__rep_stos_exits_after_each_iteration(void **s)
{
	struct harness *h = *s;
	static const uint8_t code[] = {
		0xb9, 0x03, 0x00, 0x00, 0x00, /* 0: mov ecx, 3 */
		0xf3, 0xaa, /* 5: rep stos byte ptr [rdi], al */
		0x90, /* 7: nop */
	};
	struct kvm_regs r;

	ev_setup(h, code, sizeof(code), 0, CPU_BASED_MONITOR_TRAP_FLAG);
	vtx_cpu_get_regs(h->cpu, &r);
	r.rdi = DATA_BASE;
	r.rax = 0x5a;
	vtx_cpu_set_regs(h->cpu, &r);
	launch_exit(h, EXIT_REASON_MONITOR_TRAP_FLAG);
	assert_int_equal(rd(h, GUEST_RIP), CODE_BASE + 5);
	for (unsigned k = 1; k <= 3; k++) {
		resume_exit(h, EXIT_REASON_MONITOR_TRAP_FLAG);
		vtx_cpu_get_regs(h->cpu, &r);
		assert_int_equal(r.rcx, 3 - k);
		assert_int_equal(r.rdi, DATA_BASE + k);
		assert_int_equal(rd(h, GUEST_RIP), CODE_BASE + (k < 3 ? 5 : 7));
	}
	assert_int_equal(harness_read64(h, DATA_BASE), 0x5a5a5a);
}

/* A fault delivered through the guest's IDT (#UD, not intercepted): the
 * MTF exit comes at the handler's first instruction (SDM 26.5.2). */
static void test_mtf__after_delivered_fault_exits_at_handler(void **s)
{
	struct harness *h = *s;
	static const uint8_t code[] = {
		0x0f, 0x0b, /* ud2 */
	};
	struct vtx_cpu_stats st;

	ev_setup(h, code, sizeof(code), 0, CPU_BASED_MONITOR_TRAP_FLAG);
	launch_exit(h, EXIT_REASON_MONITOR_TRAP_FLAG);
	assert_int_equal(rd(h, GUEST_RIP), STUB(UD_VECTOR));
	assert_int_equal(rd(h, IDT_VECTORING_INFO_FIELD), 0);
	vtx_cpu_get_stats(h->cpu, &st);
	assert_int_equal(st.insns, 0);
	assert_int_equal(st.exceptions[UD_VECTOR], 1);
	/* the frame holds the faulting RIP */
	assert_int_equal(harness_read64(h, HARNESS_STACK_TOP - 40), CODE_BASE);
}

/* ---- HLT activity state (SDM 27.7.4, 28.3.4) ----------------------------- */

/* Entered in HLT with an injected interrupt: it wakes and delivers; the
 * handler's HLT then exits (HLT exiting). */
static void test_hlt_state__injected_event_wakes(void **s)
{
	struct harness *h = *s;

	ev_setup(h, NULL, 0, 0, CPU_BASED_HLT_EXITING);
	wr(h, GUEST_ACTIVITY_STATE, GUEST_ACTIVITY_HLT);
	wr(h, GUEST_RFLAGS, X86_EFLAGS_FIXED | X86_EFLAGS_IF);
	wr(h, VM_ENTRY_INTR_INFO_FIELD, INFO(INTR_TYPE_EXT_INTR, 0x40));
	launch_exit(h, EXIT_REASON_HLT);
	assert_int_equal(rd(h, GUEST_RIP), STUB(0x40));
	assert_int_equal(rd(h, GUEST_ACTIVITY_STATE), GUEST_ACTIVITY_ACTIVE);
	/* the frame returns to the RIP it was halted at */
	assert_int_equal(harness_read64(h, HARNESS_STACK_TOP - 40), CODE_BASE);
}

/* Without external-interrupt exiting an APIC interrupt wakes it and is
 * delivered through the guest's IDT (IRR -> ISR). */
static void test_hlt_state__apic_interrupt_wakes_without_extint_exit(void **s)
{
	struct harness *h = *s;

	apic_on(h);
	ev_setup(h, NULL, 0, 0, CPU_BASED_HLT_EXITING);
	wr(h, GUEST_ACTIVITY_STATE, GUEST_ACTIVITY_HLT);
	wr(h, GUEST_RFLAGS, X86_EFLAGS_FIXED | X86_EFLAGS_IF);
	assert_int_equal(vtx_cpu_raise_irq(h->cpu, 0x41), 0);
	launch_exit(h, EXIT_REASON_HLT);
	assert_int_equal(rd(h, GUEST_RIP), STUB(0x41));
	assert_int_equal(rdmsr(h, X2(0x100 + 0x20)), 1u << 1); /* ISR */
}

/* With external-interrupt exiting the exit saves the HLT state. */
static void test_hlt_state__extint_exit_saves_hlt(void **s)
{
	struct harness *h = *s;

	apic_on(h);
	ev_setup(h, NULL, 0, PIN_BASED_EXT_INTR_MASK, 0);
	wr(h, GUEST_ACTIVITY_STATE, GUEST_ACTIVITY_HLT);
	assert_int_equal(vtx_cpu_raise_irq(h->cpu, 0x41), 0);
	launch_exit(h, EXIT_REASON_EXTERNAL_INTERRUPT);
	assert_int_equal(rd(h, GUEST_ACTIVITY_STATE), GUEST_ACTIVITY_HLT);
	assert_int_equal(rd(h, GUEST_RIP), CODE_BASE);
}

/* Halted with only the preemption timer: time passes to it (32 cycles
 * for value 1 from TSC 0), and the exit saves the HLT state. */
static void test_hlt_state__preempt_timer_ends_wait(void **s)
{
	struct harness *h = *s;
	struct vtx_cpu_stats st;

	ev_setup(h, NULL, 0, PIN_BASED_VMX_PREEMPTION_TIMER, 0);
	wr(h, GUEST_ACTIVITY_STATE, GUEST_ACTIVITY_HLT);
	wr(h, VMX_PREEMPTION_TIMER_VALUE, 1);
	launch_exit(h, EXIT_REASON_PREEMPTION_TIMER);
	assert_int_equal(rd(h, GUEST_ACTIVITY_STATE), GUEST_ACTIVITY_HLT);
	vtx_cpu_get_stats(h->cpu, &st);
	assert_int_equal(st.halted_cycles, 32);
	assert_int_equal(st.insns, 0);
}

/* ---- entry checks (SDM 27.2.1.1-2, 27.3.1.5) ------------------------------ */

static void test_entry_check__vnmi_without_nmi_exiting_is_vmfail_7(void **s)
{
	struct harness *h = *s;
	struct vtx_stop st;
	uint64_t v;

	ev_setup(h, NULL, 0, 0, 0);
	/* the pin-based capability admits the bit; the pairing is what
	 * the check refuses */
	assert_int_equal(
		vtx_cpu_get_msr(h->cpu, MSR_IA32_VMX_TRUE_PINBASED_CTLS, &v),
		0);
	wr(h, PIN_BASED_VM_EXEC_CONTROL, (uint32_t)v | PIN_BASED_VIRTUAL_NMIS);
	assert_int_equal(vtx_vmlaunch(h->cpu, &st),
			 VMXERR_ENTRY_INVALID_CONTROL_FIELD);
	assert_string_equal(h->cpu->vmx_check,
			    "!(pin & PIN_BASED_NMI_EXITING) && "
			    "(pin & PIN_BASED_VIRTUAL_NMIS)");
}

static void test_entry_check__nmi_window_without_vnmi_is_vmfail_7(void **s)
{
	struct harness *h = *s;
	struct vtx_stop st;

	ev_setup(h, NULL, 0, PIN_BASED_NMI_EXITING,
		 CPU_BASED_NMI_WINDOW_EXITING);
	assert_int_equal(vtx_vmlaunch(h->cpu, &st),
			 VMXERR_ENTRY_INVALID_CONTROL_FIELD);
	assert_string_equal(h->cpu->vmx_check,
			    "!(pin & PIN_BASED_VIRTUAL_NMIS) && "
			    "(proc & CPU_BASED_NMI_WINDOW_EXITING)");
}

static void test_entry_check__save_timer_without_timer_is_vmfail_7(void **s)
{
	struct harness *h = *s;
	struct vtx_stop st;

	ev_setup(h, NULL, 0, 0, 0);
	add_exit_ctls(h, VM_EXIT_SAVE_VMX_PREEMPTION_TIMER);
	assert_int_equal(vtx_vmlaunch(h->cpu, &st),
			 VMXERR_ENTRY_INVALID_CONTROL_FIELD);
	assert_string_equal(h->cpu->vmx_check,
			    "!(pin & PIN_BASED_VMX_PREEMPTION_TIMER) && "
			    "(exit & VM_EXIT_SAVE_VMX_PREEMPTION_TIMER)");
}

/* Activity state 2 (shutdown) is not offered (IA32_VMX_MISC bit 7; HLT
 * and wait-for-SIPI are, bits 6 and 8). */
static void test_entry_check__activity_shutdown_is_entry_failure(void **s)
{
	struct harness *h = *s;

	assert_int_equal(rdmsr(h, MSR_IA32_VMX_MISC) & (7u << 6),
			 (1u << 6) | (1u << 8));
	ev_setup(h, NULL, 0, 0, 0);
	wr(h, GUEST_ACTIVITY_STATE, 2);
	launch_entry_fail(h, "act == GUEST_ACTIVITY_SHUTDOWN");
}

static void test_entry_check__hlt_with_ss_dpl3_is_entry_failure(void **s)
{
	struct harness *h = *s;

	ev_setup(h, NULL, 0, 0, 0);
	wr(h, GUEST_ACTIVITY_STATE, GUEST_ACTIVITY_HLT);
	/* a consistent CPL-3 guest: CS and SS at DPL = RPL = 3 */
	wr(h, GUEST_CS_SELECTOR, SEL_UCODE);
	wr(h, GUEST_CS_AR_BYTES, rd(h, GUEST_CS_AR_BYTES) | (3u << 5));
	wr(h, GUEST_SS_SELECTOR, SEL_UDATA);
	wr(h, GUEST_SS_AR_BYTES, rd(h, GUEST_SS_AR_BYTES) | (3u << 5));
	launch_entry_fail(h, "act == GUEST_ACTIVITY_HLT && "
			     "((RD(GUEST_SS_AR_BYTES) & VMX_AR_DPL_MASK) >> "
			     "VMX_AR_DPL_SHIFT) != 0");
}

static void test_entry_check__hlt_with_sti_blocking_is_entry_failure(void **s)
{
	struct harness *h = *s;

	ev_setup(h, NULL, 0, 0, 0);
	wr(h, GUEST_ACTIVITY_STATE, GUEST_ACTIVITY_HLT);
	wr(h, GUEST_RFLAGS, X86_EFLAGS_FIXED | X86_EFLAGS_IF);
	wr(h, GUEST_INTERRUPTIBILITY_INFO, GUEST_INTR_STATE_STI);
	launch_entry_fail(h, "act != GUEST_ACTIVITY_ACTIVE && "
			     "(intr & (GUEST_INTR_STATE_STI | "
			     "GUEST_INTR_STATE_MOV_SS))");
}

/* HLT admits #DB and #MC among the exceptions, not #GP. */
static void test_entry_check__hlt_with_injected_gp_is_entry_failure(void **s)
{
	struct harness *h = *s;

	ev_setup(h, NULL, 0, 0, 0);
	wr(h, GUEST_ACTIVITY_STATE, GUEST_ACTIVITY_HLT);
	wr(h, VM_ENTRY_INTR_INFO_FIELD,
	   INFO(INTR_TYPE_HARD_EXCEPTION, GP_VECTOR) |
		   INTR_INFO_DELIVER_CODE_MASK);
	launch_entry_fail(h, "act == GUEST_ACTIVITY_HLT && inj_type != ~0u && "
			     "inj_type != INTR_TYPE_EXT_INTR && "
			     "inj_type != INTR_TYPE_NMI_INTR && "
			     "inj_type != INTR_TYPE_OTHER_EVENT && "
			     "!(inj_type == INTR_TYPE_HARD_EXCEPTION && "
			     "(inj_vec == DB_VECTOR || inj_vec == MC_VECTOR))");
}

static void test_entry_check__nmi_injected_under_blocking_fails(void **s)
{
	struct harness *h = *s;

	ev_setup(h, NULL, 0, PIN_VNMI, 0);
	wr(h, GUEST_INTERRUPTIBILITY_INFO, GUEST_INTR_STATE_NMI);
	wr(h, VM_ENTRY_INTR_INFO_FIELD, INFO(INTR_TYPE_NMI_INTR, NMI_VECTOR));
	launch_entry_fail(h, "inj_type == INTR_TYPE_NMI_INTR && "
			     "(intr & GUEST_INTR_STATE_NMI)");
}

static void test_entry_check__sti_and_mov_ss_together_fail(void **s)
{
	struct harness *h = *s;

	ev_setup(h, NULL, 0, 0, 0);
	wr(h, GUEST_RFLAGS, X86_EFLAGS_FIXED | X86_EFLAGS_IF);
	wr(h, GUEST_INTERRUPTIBILITY_INFO,
	   GUEST_INTR_STATE_STI | GUEST_INTR_STATE_MOV_SS);
	launch_entry_fail(h, "(intr & GUEST_INTR_STATE_STI) && "
			     "(intr & GUEST_INTR_STATE_MOV_SS)");
}

static void test_entry_check__sti_blocking_with_if_clear_fails(void **s)
{
	struct harness *h = *s;

	ev_setup(h, NULL, 0, 0, 0);
	wr(h, GUEST_INTERRUPTIBILITY_INFO, GUEST_INTR_STATE_STI);
	launch_entry_fail(h, "!(rfl & X86_EFLAGS_IF) && "
			     "(intr & GUEST_INTR_STATE_STI)");
}

/* An external interrupt cannot be injected under MOV-SS blocking. */
static void test_entry_check__extint_injected_under_mov_ss_fails(void **s)
{
	struct harness *h = *s;

	ev_setup(h, NULL, 0, 0, 0);
	wr(h, GUEST_RFLAGS, X86_EFLAGS_FIXED | X86_EFLAGS_IF);
	wr(h, GUEST_INTERRUPTIBILITY_INFO, GUEST_INTR_STATE_MOV_SS);
	wr(h, VM_ENTRY_INTR_INFO_FIELD, INFO(INTR_TYPE_EXT_INTR, 0x40));
	launch_entry_fail(h, "(inj_type == INTR_TYPE_EXT_INTR || "
			     "inj_type == INTR_TYPE_NMI_INTR) && "
			     "(intr & (GUEST_INTR_STATE_STI | "
			     "GUEST_INTR_STATE_MOV_SS))");
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, harness_setup, harness_teardown)
	const struct CMUnitTest tests[] = {
		T(test_intr_window__open_at_entry_exits_before_first_insn),
		T(test_intr_window__sti_shadow_delays_exit_past_next_insn),
		T(test_intr_window__mov_ss_blocking_at_entry_delays_one),
		T(test_intr_state__exit_after_mov_ss_saves_mov_ss_blocking),
		T(test_intr_state__exit_in_sti_shadow_saves_sti_blocking),
		T(test_nmi_window__opens_after_iret_ends_virtual_blocking),
		T(test_nmi_window__unblocked_at_entry_exits_at_once),
		T(test_nmi_window__mov_ss_blocking_delays_one),
		T(test_vnmi__injected_nmi_sets_virtual_blocking),
		T(test_nmi_exiting__nmi_exits_despite_virtual_blocking),
		T(test_iret_fault__exit_reports_nmi_unblocking_bit12),
		T(test_iret_fault__no_blocking_before_leaves_bit12_clear),
		T(test_iret_fault__nmi_exiting_without_vnmi_keeps_blocking),
		T(test_iret_fault__ept_violation_qual_bit12),
		T(test_extint__exit_without_ack_leaves_vector_in_irr),
		T(test_extint__exit_with_ack_moves_vector_to_isr),
		T(test_preempt__zero_exits_before_first_insn),
		T(test_preempt__n_exits_after_exact_cycles_and_saves_zero),
		T(test_preempt__other_exit_saves_remaining_count),
		T(test_mtf__exits_after_one_insn),
		T(test_mtf__after_injected_event_beats_preempt_timer),
		T(test_mtf__rep_stos_exits_after_each_iteration),
		T(test_mtf__after_delivered_fault_exits_at_handler),
		T(test_hlt_state__injected_event_wakes),
		T(test_hlt_state__apic_interrupt_wakes_without_extint_exit),
		T(test_hlt_state__extint_exit_saves_hlt),
		T(test_hlt_state__preempt_timer_ends_wait),
		T(test_entry_check__vnmi_without_nmi_exiting_is_vmfail_7),
		T(test_entry_check__nmi_window_without_vnmi_is_vmfail_7),
		T(test_entry_check__save_timer_without_timer_is_vmfail_7),
		T(test_entry_check__activity_shutdown_is_entry_failure),
		T(test_entry_check__hlt_with_ss_dpl3_is_entry_failure),
		T(test_entry_check__hlt_with_sti_blocking_is_entry_failure),
		T(test_entry_check__hlt_with_injected_gp_is_entry_failure),
		T(test_entry_check__nmi_injected_under_blocking_fails),
		T(test_entry_check__sti_and_mov_ss_together_fail),
		T(test_entry_check__sti_blocking_with_if_clear_fails),
		T(test_entry_check__extint_injected_under_mov_ss_fails),
	};
#undef T
	return cmocka_run_group_tests(tests, NULL, NULL);
}
