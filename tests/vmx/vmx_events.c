/* SPDX-License-Identifier: MIT */
/*
 * vmx_events.c - the VMX event controls (SDM Vol. 3C 26.3, 26.5.1-26.5.2,
 * 26.7, 27.6, 27.7.4, 28.3.4): interrupt-window and NMI-window exiting,
 * virtual NMIs, the VMX-preemption timer (value 0, a small value, the
 * saved value) and the HLT activity state (vmx_mtf.c has the monitor
 * trap flag). Lines hold only what every
 * implementation must agree on: exit reasons and RIPs, not the number of
 * instructions a timer lets run. Guest side (runs as a hypervisor).
 */
#include <asm/vmx.h>

#include "arch/vmcs.h"
#include "arch/vmx_exit_qual.h"
#include "arch/vmx_insn_errors.h"
#include "arch/x86_regs.h"
#include "guests/rt/rt.h"
#include "tests/vmx/lib.h"

#define INFO(type, vec) (INTR_INFO_VALID_MASK | (type) | (vec))
#define PIN_VNMI (PIN_BASED_NMI_EXITING | PIN_BASED_VIRTUAL_NMIS)

VMXT_GUEST(g_nop, "", "nop", "nop");
/* STI, then the NOP it shadows; the window opens at g_sti_end. */
VMXT_GUEST(g_sti, "sti", "nop", "nop");
/* IRETQ to the instruction after it, through a frame built here. */
VMXT_GUEST(g_iret,
	   "mov %rsp, %rax\n\t"
	   "mov %ss, %ecx\n\t"
	   "push %rcx\n\t"
	   "push %rax\n\t"
	   "pushfq\n\t"
	   "mov %cs, %ecx\n\t"
	   "push %rcx\n\t"
	   "lea g_iret_end(%rip), %rcx\n\t"
	   "push %rcx",
	   "iretq", "nop");
VMXT_GUEST(g_loop, "", "1: jmp 1b", "");

static void guest(const void *rip, uint32_t pin, uint32_t proc)
{
	vmxt_vmcs_baseline();
	vmxt_guest_at(rip);
	vmxt_set_bits(PIN_BASED_VM_EXEC_CONTROL, pin);
	vmxt_set_bits(CPU_BASED_VM_EXEC_CONTROL, proc);
}

/* An exit with only its reason and RIP (relative to @base) compared:
 * these exits have no qualification or length (SDM 28.2.1). */
static void expect_at(const char *name, uint32_t reason, const void *base,
		      int64_t rip)
{
	const struct vmxt_exit w = { .reason = reason, .rip = rip };

	vmxt_expect_exit(name, base, VMXT_X_RIP, 0, &w);
}

/* An exit whose RIP is somewhere in the framework (a handler's VMCALL):
 * its reason only. */
static void expect_reason(const char *name, uint32_t reason)
{
	const struct vmxt_exit w = { .reason = reason };

	vmxt_expect_exit(name, NULL, 0, 0, &w);
}

/* ---- interrupt window (SDM 26.7.5) --------------------------------------- */

static void test_interrupt_window(void)
{
	if (!vmxt_need("interrupt_window", vmxt_caps.proc_may1,
		       CPU_BASED_INTR_WINDOW_EXITING,
		       "interrupt-window exiting"))
		return;
	/* IF = 1, no blocking: before the first instruction */
	guest(g_nop_insn, 0, CPU_BASED_INTR_WINDOW_EXITING);
	vmxt_wr(GUEST_RFLAGS, X86_EFLAGS_FIXED | X86_EFLAGS_IF);
	expect_at("intr_window_open_at_entry", EXIT_REASON_INTERRUPT_WINDOW,
		  g_nop_insn, 0);
	/* IF = 0: shut until STI, and one more instruction (SDM 6.8.3) */
	guest(g_sti, 0, CPU_BASED_INTR_WINDOW_EXITING);
	expect_at("intr_window_after_sti_shadow", EXIT_REASON_INTERRUPT_WINDOW,
		  g_sti_end, 0);
	vmxt_check_u64("intr_window_after_sti_saved_blocking",
		       vmxt_rd(GUEST_INTERRUPTIBILITY_INFO), 0);
	/* MOV-SS blocking from entry covers the first instruction */
	guest(g_nop_insn, 0, CPU_BASED_INTR_WINDOW_EXITING);
	vmxt_wr(GUEST_RFLAGS, X86_EFLAGS_FIXED | X86_EFLAGS_IF);
	vmxt_wr(GUEST_INTERRUPTIBILITY_INFO, GUEST_INTR_STATE_MOV_SS);
	expect_at("intr_window_mov_ss_blocking_one_insn",
		  EXIT_REASON_INTERRUPT_WINDOW, g_nop_end, 0);
}

/* ---- virtual NMIs and the NMI window (SDM 26.3, 26.7.6) ------------------- */

static void test_nmi_window(void)
{
	if (!vmxt_need("nmi_window", vmxt_caps.pin_may1, PIN_VNMI,
		       "virtual NMIs") ||
	    !vmxt_need("nmi_window", vmxt_caps.proc_may1,
		       CPU_BASED_NMI_WINDOW_EXITING, "NMI-window exiting"))
		return;
	guest(g_nop_insn, PIN_VNMI, CPU_BASED_NMI_WINDOW_EXITING);
	expect_at("nmi_window_open_at_entry", EXIT_REASON_NMI_WINDOW,
		  g_nop_insn, 0);
	/* virtual-NMI blocking holds it shut until the guest's IRET */
	guest(g_iret, PIN_VNMI, CPU_BASED_NMI_WINDOW_EXITING);
	vmxt_wr(GUEST_INTERRUPTIBILITY_INFO, GUEST_INTR_STATE_NMI);
	expect_at("nmi_window_after_iret_unblocks", EXIT_REASON_NMI_WINDOW,
		  g_iret_end, 0);
	vmxt_check_u64("nmi_window_after_iret_saved_blocking",
		       vmxt_rd(GUEST_INTERRUPTIBILITY_INFO), 0);
	/* an injected NMI sets virtual-NMI blocking (SDM 27.6.1.2); the
	 * guest's handler records it and ends in VMCALL */
	guest(g_nop_insn, PIN_VNMI, 0);
	vmxt_wr(VM_ENTRY_INTR_INFO_FIELD, INFO(INTR_TYPE_NMI_INTR, 2));
	expect_reason("vnmi_injected_reaches_handler", EXIT_REASON_VMCALL);
	vmxt_check_u64("vnmi_injected_vector", vmxt_guest_exc.vector, 2);
	vmxt_check_u64("vnmi_injected_sets_virtual_blocking",
		       vmxt_rd(GUEST_INTERRUPTIBILITY_INFO) &
			       GUEST_INTR_STATE_NMI,
		       GUEST_INTR_STATE_NMI);
}

/* ---- VMX-preemption timer (SDM 26.5.1, 28.3.4) ---------------------------- */

static void test_preemption_timer(void)
{
	if (!vmxt_need("preemption_timer", vmxt_caps.pin_may1,
		       PIN_BASED_VMX_PREEMPTION_TIMER, "the preemption timer"))
		return;
	/* value 0: exit 52 before any guest instruction */
	guest(g_nop_insn, PIN_BASED_VMX_PREEMPTION_TIMER, 0);
	vmxt_wr(VMX_PREEMPTION_TIMER_VALUE, 0);
	expect_at("preempt_zero_before_first_insn",
		  EXIT_REASON_PREEMPTION_TIMER, g_nop_insn, 0);
	/* a small value ends a guest that loops; how many iterations ran
	 * depends on the TSC rate, so only the exit is compared, and the
	 * saved value is 0 */
	if (!vmxt_need("preemption_timer_save", vmxt_caps.exit_may1,
		       VM_EXIT_SAVE_VMX_PREEMPTION_TIMER,
		       "saving the preemption timer"))
		return;
	guest(g_loop_insn, PIN_BASED_VMX_PREEMPTION_TIMER, 0);
	vmxt_set_bits(VM_EXIT_CONTROLS, VM_EXIT_SAVE_VMX_PREEMPTION_TIMER);
	vmxt_wr(VMX_PREEMPTION_TIMER_VALUE, 4);
	expect_at("preempt_small_value_ends_loop", EXIT_REASON_PREEMPTION_TIMER,
		  g_loop_insn, 0);
	vmxt_check_u64("preempt_saved_value_zero",
		       vmxt_rd(VMX_PREEMPTION_TIMER_VALUE), 0);
}

/* ---- the HLT activity state (SDM 27.7.4, 28.3.4) ---------------------------- */

static void test_hlt_activity(void)
{
	const struct vmxt_outcome want = VMXT_EXITED(
		EXIT_REASON_INVALID_STATE | VMX_EXIT_REASONS_FAILED_VMENTRY, 0);
	struct vmxt_outcome got;

	if (!(vmxt_caps.misc & (1u << 6))) {
		vmxt_skip("hlt_activity", "the HLT activity state");
		return;
	}
	/* an injected interrupt (vector 0x30, a gate of the guest's IDT)
	 * wakes it; the frame returns to the RIP it waited at */
	guest(g_nop_insn, 0, 0);
	vmxt_wr(GUEST_ACTIVITY_STATE, GUEST_ACTIVITY_HLT);
	vmxt_wr(GUEST_RFLAGS, X86_EFLAGS_FIXED | X86_EFLAGS_IF);
	vmxt_wr(VM_ENTRY_INTR_INFO_FIELD, INFO(INTR_TYPE_EXT_INTR, 0x30));
	expect_reason("hlt_state_injected_interrupt_wakes", EXIT_REASON_VMCALL);
	vmxt_check_u64("hlt_state_injected_interrupt_vector",
		       vmxt_guest_exc.vector, 0x30);
	vmxt_check_u64("hlt_state_injected_interrupt_return_rip",
		       vmxt_guest_exc.rip - vmxt_pa(g_nop_insn), 0);
	vmxt_check_u64("hlt_state_woken_saved_active",
		       vmxt_rd(GUEST_ACTIVITY_STATE), GUEST_ACTIVITY_ACTIVE);
	/* only the preemption timer can end the wait: the exit saves HLT */
	if (!(vmxt_caps.pin_may1 & PIN_BASED_VMX_PREEMPTION_TIMER)) {
		vmxt_skip("hlt_state_preempt", "the preemption timer");
		return;
	}
	guest(g_nop_insn, PIN_BASED_VMX_PREEMPTION_TIMER, 0);
	vmxt_wr(GUEST_ACTIVITY_STATE, GUEST_ACTIVITY_HLT);
	vmxt_wr(VMX_PREEMPTION_TIMER_VALUE, 2);
	expect_at("hlt_state_preempt_timer_exit", EXIT_REASON_PREEMPTION_TIMER,
		  g_nop_insn, 0);
	vmxt_check_u64("hlt_state_preempt_saved_hlt",
		       vmxt_rd(GUEST_ACTIVITY_STATE), GUEST_ACTIVITY_HLT);
	/* entry checks (27.3.1.5): HLT with STI blocking, and HLT with an
	 * injected #GP */
	guest(g_nop_insn, 0, 0);
	vmxt_wr(GUEST_ACTIVITY_STATE, GUEST_ACTIVITY_HLT);
	vmxt_wr(GUEST_RFLAGS, X86_EFLAGS_FIXED | X86_EFLAGS_IF);
	vmxt_wr(GUEST_INTERRUPTIBILITY_INFO, GUEST_INTR_STATE_STI);
	got = vmxt_run();
	vmxt_check_outcome("hlt_state_with_sti_blocking", &got, &want);
	guest(g_nop_insn, 0, 0);
	vmxt_wr(GUEST_ACTIVITY_STATE, GUEST_ACTIVITY_HLT);
	vmxt_wr(VM_ENTRY_INTR_INFO_FIELD, INFO(INTR_TYPE_HARD_EXCEPTION, 13) |
						  INTR_INFO_DELIVER_CODE_MASK);
	vmxt_wr(VM_ENTRY_EXCEPTION_ERROR_CODE, 0);
	got = vmxt_run();
	vmxt_check_outcome("hlt_state_with_injected_gp_sdm_27_3_1_5", &got,
			   &want);
}

int main(const struct nestvm_bootinfo *bi)
{
	(void)bi;
	vmxt_begin("vmx_events");
	vmxt_vmx_on();
	vmxt_vmcs_load();
	test_interrupt_window();
	test_nmi_window();
	test_preemption_timer();
	test_hlt_activity();
	return vmxt_end();
}
