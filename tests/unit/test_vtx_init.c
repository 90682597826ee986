/* SPDX-License-Identifier: MIT */
/*
 * test_vtx_init - INIT and SIPI in the model (vtx/events.c, vtx/vmx_entry.c,
 * vtx/vmx_exit.c; SDM Vol. 3C 24.8, 26.2, 27.3.1.5, 27.7.2, 28.3.4; Vol. 3A
 * 9.1): INIT as a VM exit in non-root whatever RFLAGS.IF says, held back in
 * VMX root operation, a loud stop with VMX off; the wait-for-SIPI activity
 * state, what it blocks, the SIPI exit, and its entry checks. Host side.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <string.h>

#include <asm/vmx.h>

#include "arch/vmx_exit_qual.h"
#include "arch/x86_msr.h"
#include "tests/unit/vmx_harness.h"
#include "tests/unit/vtx_harness.h"
#include "vtx/cpu.h"

#define wr harness_vmwrite
#define rd harness_vmread

#define X2(off) (0x800u + ((off) >> 4))

/* nop; nop; hlt */
static const uint8_t nop_nop_hlt[] = { 0x90, 0x90, 0xf4 };

static void setup(struct harness *h, uint32_t pin, uint32_t proc)
{
	harness_load(h, CODE_BASE, nop_nop_hlt, sizeof(nop_nop_hlt));
	harness_vmcs_setup(h, proc, 0);
	wr(h, PIN_BASED_VM_EXEC_CONTROL,
	   harness_vmx_ctl(h, MSR_IA32_VMX_TRUE_PINBASED_CTLS, pin));
}

static uint64_t insns(struct harness *h)
{
	struct vtx_cpu_stats st;

	vtx_cpu_get_stats(h->cpu, &st);
	return st.insns;
}

static void expect_exit(struct harness *h, int ret, const struct vtx_stop *st,
			uint32_t reason)
{
	assert_int_equal(ret, 0);
	assert_int_equal(st->reason, VTX_STOP_VMEXIT);
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

/* ---- INIT --------------------------------------------------------------- */

/* Raised in VMX root operation (the C host) it waits; the entry then
 * exits with reason 3 before the first instruction, RFLAGS.IF = 0
 * notwithstanding, with no qualification or interruption information. It is gone afterwards: the resumed guest runs to its HLT. */
static void test_init__pending_in_root_exits_at_entry_despite_if0(void **s)
{
	struct harness *h = *s;
	struct vtx_stop st;

	setup(h, 0, CPU_BASED_HLT_EXITING);
	wr(h, GUEST_RFLAGS, X86_EFLAGS_FIXED);
	assert_int_equal(vtx_cpu_raise_init(h->cpu), 0);
	assert_true(h->cpu->init_pending);
	expect_exit(h, vtx_vmlaunch(h->cpu, &st), &st, EXIT_REASON_INIT_SIGNAL);
	assert_false(h->cpu->init_pending);
	assert_int_equal(rd(h, EXIT_QUALIFICATION), 0);
	assert_int_equal(rd(h, VM_EXIT_INTR_INFO), 0);
	assert_int_equal(rd(h, GUEST_RIP), CODE_BASE);
	assert_int_equal(rd(h, GUEST_ACTIVITY_STATE), GUEST_ACTIVITY_ACTIVE);
	assert_int_equal(insns(h), 0);

	expect_exit(h, vtx_vmresume(h->cpu, &st), &st, EXIT_REASON_HLT);
	assert_int_equal(rd(h, GUEST_RIP), CODE_BASE + 2);
	assert_int_equal(insns(h), 2); /* the exiting HLT does not retire */
}

/* Raised while the guest is stopped mid-run in non-root: the exit comes
 * at the next boundary, RIP past the one NOP that ran. */
static void test_init__raised_in_nonroot_exits_at_next_boundary(void **s)
{
	struct harness *h = *s;
	struct vtx_stop st;

	setup(h, 0, CPU_BASED_HLT_EXITING);
	vtx_cpu_set_insn_limit(h->cpu, 1);
	assert_int_equal(vtx_vmlaunch(h->cpu, &st), 0);
	assert_int_equal(st.reason, VTX_STOP_INSN_LIMIT);
	vtx_cpu_set_insn_limit(h->cpu, 0);
	assert_int_equal(vtx_cpu_raise_init(h->cpu), 0);
	expect_exit(h, vtx_cpu_run(h->cpu, &st), &st, EXIT_REASON_INIT_SIGNAL);
	assert_int_equal(rd(h, GUEST_RIP), CODE_BASE + 1);
	assert_int_equal(insns(h), 1);
}

/* INIT ends the HLT state as a VM exit that saves HLT as the state the
 * guest was in (SDM 28.3.4). */
static void test_init__in_hlt_state_exits_and_saves_hlt(void **s)
{
	struct harness *h = *s;
	struct vtx_stop st;

	setup(h, 0, 0);
	wr(h, GUEST_ACTIVITY_STATE, GUEST_ACTIVITY_HLT);
	assert_int_equal(vtx_cpu_raise_init(h->cpu), 0);
	expect_exit(h, vtx_vmlaunch(h->cpu, &st), &st, EXIT_REASON_INIT_SIGNAL);
	assert_int_equal(rd(h, GUEST_ACTIVITY_STATE), GUEST_ACTIVITY_HLT);
	assert_int_equal(rd(h, GUEST_RIP), CODE_BASE);
}

/* INIT ranks above MTF and NMIs (SDM Vol. 3A Table 6-2; Vol. 3C 26.7.2):
 * with an MTF exit made pending by injection (type 7, 27.6.3) and an NMI,
 * it exits first; the NMI follows on the next entry. */
static void test_init__beats_pending_nmi_and_mtf(void **s)
{
	struct harness *h = *s;
	struct vtx_stop st;

	setup(h, PIN_BASED_NMI_EXITING, CPU_BASED_MONITOR_TRAP_FLAG);
	wr(h, VM_ENTRY_INTR_INFO_FIELD,
	   INTR_INFO_VALID_MASK | INTR_TYPE_OTHER_EVENT);
	assert_int_equal(vtx_cpu_raise_nmi(h->cpu), 0);
	assert_int_equal(vtx_cpu_raise_init(h->cpu), 0);
	expect_exit(h, vtx_vmlaunch(h->cpu, &st), &st, EXIT_REASON_INIT_SIGNAL);
	expect_exit(h, vtx_vmresume(h->cpu, &st), &st,
		    EXIT_REASON_EXCEPTION_NMI);
	assert_int_equal(rd(h, VM_EXIT_INTR_INFO),
			 INTR_INFO_VALID_MASK | INTR_TYPE_NMI_INTR | 2);
	assert_int_equal(insns(h), 0);
}

/* With VMX off the model has no INIT reset: the run stops with its own
 * reason, counted, before any instruction, and the vCPU runs no more. */
static void test_init__vmx_off_stops_run_and_is_counted(void **s)
{
	struct harness *h = *s;
	struct vtx_cpu_stats cs;
	struct vtx_stop st;

	assert_int_equal(vtx_cpu_raise_init(h->cpu), 0);
	assert_int_equal(harness_run_code(h, nop_nop_hlt, sizeof(nop_nop_hlt)),
			 VTX_STOP_INIT);
	vtx_cpu_get_stats(h->cpu, &cs);
	assert_int_equal(cs.init_stops, 1);
	assert_int_equal(cs.insns, 0);
	assert_string_equal(vtx_stop_reason_name(VTX_STOP_INIT), "INIT");
	assert_int_equal(vtx_cpu_run(h->cpu, &st), -EINVAL);
}

/* Held back in VMX root operation, it is taken once VMXOFF leaves it. */
static void test_init__pending_in_root_stops_after_vmxoff(void **s)
{
	struct harness *h = *s;
	struct vtx_cpu_stats cs;
	struct vtx_stop st;

	setup(h, 0, 0);
	assert_int_equal(vtx_cpu_raise_init(h->cpu), 0);
	assert_int_equal(vtx_vmxoff(h->cpu), 0);
	assert_int_equal(vtx_cpu_run(h->cpu, &st), 0);
	assert_int_equal(st.reason, VTX_STOP_INIT);
	assert_non_null(strstr(st.why, "no INIT reset"));
	vtx_cpu_get_stats(h->cpu, &cs);
	assert_int_equal(cs.init_stops, 1);
}

static void test_init__null_cpu_is_einval(void **s)
{
	(void)s;
	assert_int_equal(vtx_cpu_raise_init(NULL), -EINVAL);
	assert_int_equal(vtx_cpu_raise_sipi(NULL, 0), -EINVAL);
}

/* ---- wait-for-SIPI (SDM 26.2, 27.7.2, 28.3.4) --------------------------- */

/* Entered in wait-for-SIPI the guest runs nothing and the run stops; a
 * SIPI then exits with reason 4, its vector as the qualification, and
 * wait-for-SIPI saved as the activity state. */
static void test_wait_sipi__sipi_exits_with_vector_in_qual(void **s)
{
	struct harness *h = *s;
	struct vtx_stop st;

	setup(h, 0, 0);
	wr(h, GUEST_ACTIVITY_STATE, GUEST_ACTIVITY_WAIT_SIPI);
	assert_int_equal(vtx_vmlaunch(h->cpu, &st), 0);
	assert_int_equal(st.reason, VTX_STOP_HALTED);
	assert_string_equal(st.why,
			    "wait-for-SIPI activity state with no SIPI raised");
	/* A run without a SIPI keeps waiting. */
	assert_int_equal(vtx_cpu_run(h->cpu, &st), 0);
	assert_int_equal(st.reason, VTX_STOP_HALTED);
	assert_int_equal(vtx_cpu_raise_sipi(h->cpu, 0x9a), 0);
	expect_exit(h, vtx_cpu_run(h->cpu, &st), &st, EXIT_REASON_SIPI_SIGNAL);
	assert_int_equal(rd(h, EXIT_QUALIFICATION), 0x9a);
	assert_int_equal(rd(h, VM_EXIT_INTR_INFO), 0);
	assert_int_equal(rd(h, GUEST_ACTIVITY_STATE), GUEST_ACTIVITY_WAIT_SIPI);
	assert_int_equal(rd(h, GUEST_RIP), CODE_BASE);
	assert_int_equal(insns(h), 0);
	assert_false(h->cpu->wait_sipi);
}

/* The state blocks INIT, NMIs and external interrupts even with their
 * exiting controls, and the preemption timer at zero does not exit: only
 * the SIPI does. The INIT stays pending and exits once the guest is
 * resumed active. */
static void test_wait_sipi__blocks_init_nmi_intr_and_timer(void **s)
{
	struct harness *h = *s;
	struct vtx_stop st;

	assert_int_equal(
		vtx_cpu_set_msr(h->cpu, MSR_IA32_APICBASE,
				0xfee00000ull | (1ull << 11) | (1ull << 10)),
		0);
	assert_int_equal(vtx_cpu_set_msr(h->cpu, X2(0xf0), 0x1ff), 0);
	setup(h,
	      PIN_BASED_NMI_EXITING | PIN_BASED_EXT_INTR_MASK |
		      PIN_BASED_VMX_PREEMPTION_TIMER,
	      CPU_BASED_MONITOR_TRAP_FLAG);
	wr(h, VMX_PREEMPTION_TIMER_VALUE, 0);
	wr(h, GUEST_ACTIVITY_STATE, GUEST_ACTIVITY_WAIT_SIPI);
	assert_int_equal(vtx_cpu_raise_init(h->cpu), 0);
	assert_int_equal(vtx_cpu_raise_nmi(h->cpu), 0);
	assert_int_equal(vtx_cpu_raise_irq(h->cpu, 0x41), 0);
	assert_int_equal(vtx_vmlaunch(h->cpu, &st), 0);
	assert_int_equal(st.reason, VTX_STOP_HALTED);
	assert_true(h->cpu->init_pending);

	assert_int_equal(vtx_cpu_raise_sipi(h->cpu, 0x10), 0);
	expect_exit(h, vtx_cpu_run(h->cpu, &st), &st, EXIT_REASON_SIPI_SIGNAL);
	assert_int_equal(rd(h, EXIT_QUALIFICATION), 0x10);

	wr(h, GUEST_ACTIVITY_STATE, GUEST_ACTIVITY_ACTIVE);
	expect_exit(h, vtx_vmresume(h->cpu, &st), &st, EXIT_REASON_INIT_SIGNAL);
	assert_int_equal(insns(h), 0);
}

/* A SIPI that finds no waiter is discarded: raised in root before the
 * entry, or in non-root while the guest is active. */
static void test_wait_sipi__sipi_not_waiting_is_discarded(void **s)
{
	struct harness *h = *s;
	struct vtx_stop st;

	setup(h, 0, CPU_BASED_HLT_EXITING);
	assert_int_equal(vtx_cpu_raise_sipi(h->cpu, 0x20), 0);
	vtx_cpu_set_insn_limit(h->cpu, 1);
	assert_int_equal(vtx_vmlaunch(h->cpu, &st), 0);
	assert_int_equal(st.reason, VTX_STOP_INSN_LIMIT);
	vtx_cpu_set_insn_limit(h->cpu, 0);
	assert_int_equal(vtx_cpu_raise_sipi(h->cpu, 0x21), 0);
	expect_exit(h, vtx_cpu_run(h->cpu, &st), &st, EXIT_REASON_HLT);

	wr(h, GUEST_ACTIVITY_STATE, GUEST_ACTIVITY_WAIT_SIPI);
	assert_int_equal(vtx_vmresume(h->cpu, &st), 0);
	assert_int_equal(st.reason, VTX_STOP_HALTED);
	assert_false(h->cpu->sipi_pending);
}

static void test_wait_sipi__vector_above_255_is_einval(void **s)
{
	struct harness *h = *s;

	assert_int_equal(vtx_cpu_raise_sipi(h->cpu, 256), -EINVAL);
	assert_int_equal(vtx_cpu_raise_sipi(h->cpu, 255), 0);
}

/* ---- entry checks (SDM 27.3.1.5) ---------------------------------------- */

/* The model offers wait-for-SIPI (IA32_VMX_MISC bit 8). */
static void test_entry_check__misc_offers_wait_sipi(void **s)
{
	struct harness *h = *s;
	uint64_t misc = 0;

	assert_int_equal(vtx_cpu_get_msr(h->cpu, MSR_IA32_VMX_MISC, &misc), 0);
	assert_int_equal(misc & VMX_MISC_ACTIVITY_STATES_MASK,
			 VMX_MISC_ACTIVITY_HLT | VMX_MISC_ACTIVITY_WAIT_SIPI);
}

/* Wait-for-SIPI admits no injected event, not even an NMI. */
static void test_entry_check__wait_sipi_with_injection_fails(void **s)
{
	struct harness *h = *s;

	setup(h, 0, 0);
	wr(h, GUEST_ACTIVITY_STATE, GUEST_ACTIVITY_WAIT_SIPI);
	wr(h, VM_ENTRY_INTR_INFO_FIELD,
	   INTR_INFO_VALID_MASK | INTR_TYPE_NMI_INTR | 2);
	launch_entry_fail(h, "act == GUEST_ACTIVITY_WAIT_SIPI && "
			     "inj_type != ~0u");
}

/* An inactive state needs no STI / MOV-SS blocking. */
static void test_entry_check__wait_sipi_with_mov_ss_fails(void **s)
{
	struct harness *h = *s;

	setup(h, 0, 0);
	wr(h, GUEST_ACTIVITY_STATE, GUEST_ACTIVITY_WAIT_SIPI);
	wr(h, GUEST_INTERRUPTIBILITY_INFO, GUEST_INTR_STATE_MOV_SS);
	launch_entry_fail(h, "act != GUEST_ACTIVITY_ACTIVE && "
			     "(intr & (GUEST_INTR_STATE_STI | "
			     "GUEST_INTR_STATE_MOV_SS))");
}

static void test_entry_check__activity_4_fails(void **s)
{
	struct harness *h = *s;

	setup(h, 0, 0);
	wr(h, GUEST_ACTIVITY_STATE, 4);
	launch_entry_fail(h, "act > GUEST_ACTIVITY_WAIT_SIPI");
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, harness_setup, harness_teardown)
	const struct CMUnitTest tests[] = {
		T(test_init__pending_in_root_exits_at_entry_despite_if0),
		T(test_init__raised_in_nonroot_exits_at_next_boundary),
		T(test_init__in_hlt_state_exits_and_saves_hlt),
		T(test_init__beats_pending_nmi_and_mtf),
		T(test_init__vmx_off_stops_run_and_is_counted),
		T(test_init__pending_in_root_stops_after_vmxoff),
		T(test_init__null_cpu_is_einval),
		T(test_wait_sipi__sipi_exits_with_vector_in_qual),
		T(test_wait_sipi__blocks_init_nmi_intr_and_timer),
		T(test_wait_sipi__sipi_not_waiting_is_discarded),
		T(test_wait_sipi__vector_above_255_is_einval),
		T(test_entry_check__misc_offers_wait_sipi),
		T(test_entry_check__wait_sipi_with_injection_fails),
		T(test_entry_check__wait_sipi_with_mov_ss_fails),
		T(test_entry_check__activity_4_fails),
	};
#undef T
	return cmocka_run_group_tests(tests, NULL, NULL);
}
