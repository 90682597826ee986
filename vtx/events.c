/* SPDX-License-Identifier: MIT */
/*
 * events.c - what happens between instructions: event injection by VM
 * entry (SDM Vol. 3C 27.6), then the pending events in priority order (SDM
 * Vol. 3A 6.9 Table 6-2; Vol. 3C 26.7.x for the VMX ones): monitor trap
 * flag, VMX-preemption timer, NMI window, NMI, interrupt window, external
 * interrupt, each against its blocking (RFLAGS.IF, STI / MOV-SS shadow,
 * NMI blocking, 6.8.3 and 26.3), the HLT state, and the timers' deadlines
 * as instruction counts for the run loop. Model side.
 */
#include <errno.h>

#include <asm/vmx.h>

#include "arch/vmx_exit_qual.h"
#include "vtx/cpu.h"
#include "vtx/lapic.h"

static bool pin(const struct vtx_cpu *c, uint32_t bit)
{
	return c->vmx.non_root && (c->vmx.pin & bit);
}

static bool proc(const struct vtx_cpu *c, uint32_t bit)
{
	return c->vmx.non_root && (c->vmx.proc & bit);
}

/* Earliest c->tsc at which a timer needs the run loop, or 0. */
static uint64_t next_deadline(const struct vtx_cpu *c)
{
	uint64_t dl = vtx_lapic_timer_deadline(c), p = c->preempt_deadline;

	if (pin(c, PIN_BASED_VMX_PREEMPTION_TIMER) && (!dl || p < dl))
		dl = p ? p : 1;
	return dl;
}

/*
 * The run loop has no per-instruction timer test: it stops the fast path
 * after the number of instructions that, at the base cost per
 * instruction, reaches the earliest deadline, and looks again then. An
 * instruction charged more (a page walk, CPUID) can carry c->tsc past the
 * deadline before that count: the event is then taken at the count,
 * deterministically (docs/design/cpu-model.md).
 */
void vtx_events_recalc(struct vtx_cpu *c)
{
	uint64_t dl = next_deadline(c), at = UINT64_MAX, per;

	if (dl) {
		per = c->cost.insn ? c->cost.insn : 1;
		at = dl <= c->tsc
			     ? c->stats.insns + 1
			     : c->stats.insns + (dl - c->tsc + per - 1) / per;
		if (dl <= c->tsc) {
			c->event_req = true;
			c->async = 1;
		}
	}
	/* MTF: an exit after every instruction (SDM 26.5.2). */
	if (proc(c, CPU_BASED_MONITOR_TRAP_FLAG))
		at = c->stats.insns + 1;
	c->event_at = at;
	c->check_at = at < c->stop_at ? at : c->stop_at;
}

void vtx_events_check_point(struct vtx_cpu *c)
{
	if (c->stats.insns >= c->stop_at) {
		/* The budget first; a device's stop on the same
		 * instruction wins. */
		if (!c->stop_requested) {
			c->budget_hit = true;
			vtx_request_stop(c);
		}
		return;
	}
	c->event_at = UINT64_MAX;
	c->check_at = c->stop_at;
	c->event_req = true;
	c->async = 1;
}

__attribute__((noreturn)) static void
event_exit(struct vtx_cpu *c, uint32_t reason, uint32_t intr_info)
{
	struct vtx_exit_info e = {
		.reason = reason,
		.intr_info = intr_info,
	};
	vtx_vmx_exit(c, &e);
}

/* Event injection by VM entry (SDM 27.6): delivered through the guest's
 * IDT before its first instruction, not subject to the exception bitmap;
 * software events return past the instruction length given. Type 7
 * (other event, vector 0) only makes an MTF VM exit pending (27.6.3). */
static void inject_event(struct vtx_cpu *c)
{
	uint32_t info = c->inject_info;
	unsigned vec = info & INTR_INFO_VECTOR_MASK;
	unsigned type = info & INTR_INFO_INTR_TYPE_MASK;
	bool has_ec = info & INTR_INFO_DELIVER_CODE_MASK;
	bool soft =
		type == INTR_TYPE_SOFT_INTR || type == INTR_TYPE_SOFT_EXCEPTION;
	bool len = soft || type == INTR_TYPE_PRIV_SW_EXCEPTION;

	c->inject_info = 0;
	/* An injected event wakes a guest entered in the HLT state. */
	c->halted = false;
	if (proc(c, CPU_BASED_MONITOR_TRAP_FLAG))
		c->mtf_pending = true;
	if (type == INTR_TYPE_OTHER_EVENT)
		return;
	/* An injected NMI blocks (virtual) NMIs like a delivered one. */
	if (type == INTR_TYPE_NMI_INTR)
		c->nmi_blocked = true;
	c->delivering = (int)vec;
	c->delivering_error = c->inject_error;
	c->delivering_has_error = has_ec;
	c->delivering_type = type;
	c->delivering_len = c->inject_len;
	vtx_deliver_event(c, (int)vec, c->inject_error, has_ec, soft,
			  c->rip + (len ? c->inject_len : 0));
	c->delivering = -1;
}

/* An external interrupt or NMI through the IDT (SDM 6.12); RIP is the
 * boundary, so the handler returns to the next instruction. */
static void deliver(struct vtx_cpu *c, unsigned vec, uint32_t type)
{
	c->halted = false;
	c->delivering = (int)vec;
	c->delivering_error = 0;
	c->delivering_has_error = false;
	c->delivering_type = type;
	c->delivering_len = 0;
	vtx_deliver_event(c, (int)vec, 0, false, false, c->rip);
	c->delivering = -1;
	c->stats.interrupts++;
}

static bool preempt_expired(const struct vtx_cpu *c)
{
	return pin(c, PIN_BASED_VMX_PREEMPTION_TIMER) &&
	       c->tsc >= c->preempt_deadline;
}

/* One event, the highest-priority one that is not blocked: delivered
 * (true), or a VM exit (no return); false when none can be taken. */
static bool take_one(struct vtx_cpu *c)
{
	bool nr = c->vmx.non_root;
	bool shadow = c->sti_shadow; /* STI or MOV SS */
	bool movss = c->sti_shadow && c->mov_ss_shadow;
	bool intr_exit = pin(c, PIN_BASED_EXT_INTR_MASK);
	bool nmi_exit = pin(c, PIN_BASED_NMI_EXITING);
	bool vnmi = pin(c, PIN_BASED_VIRTUAL_NMIS);
	int vec;

	/* The wait-for-SIPI state blocks everything but a SIPI: INIT,
	 * NMIs, external interrupts; MTF and the preemption timer do not
	 * exit from it (SDM 26.2, 27.7.2, 27.7.4). A SIPI exits with its
	 * vector as the qualification, the state saved as it was. */
	if (c->wait_sipi) {
		if (c->sipi_pending) {
			struct vtx_exit_info e = {
				.reason = EXIT_REASON_SIPI_SIGNAL,
				.qual = c->sipi_vector,
			};
			c->sipi_pending = false;
			vtx_vmx_exit(c, &e);
		}
		return false;
	}
	/* INIT ranks with the external interventions, above MTF, traps and
	 * NMIs (Table 6-2, 26.7.2); IF and the STI / MOV-SS shadow do not
	 * block it. In non-root it is a VM exit that changes nothing else
	 * (26.2); VMX root operation blocks it, so it waits there (24.8).
	 * With VMX off it would reset the processor (Vol. 3A 9.1), which
	 * the model does not do: it stops instead, loudly. */
	if (c->init_pending) {
		if (nr) {
			c->init_pending = false;
			event_exit(c, EXIT_REASON_INIT_SIGNAL, 0);
		}
		if (!c->vmx.on) {
			c->init_pending = false;
			c->init_stopped = true;
			c->stats.init_stops++;
			vtx_request_stop(c);
			return false;
		}
	}
	if (nr) {
		/* MTF ranks above the preemption timer and the windows,
		 * below pending debug traps, which the model lacks
		 * (SDM 26.7.2 / 26.5.2). */
		if (c->mtf_pending || (proc(c, CPU_BASED_MONITOR_TRAP_FLAG) &&
				       c->stats.insns != c->mtf_mark)) {
			c->mtf_pending = false;
			event_exit(c, EXIT_REASON_MONITOR_TRAP_FLAG, 0);
		}
		if (preempt_expired(c))
			event_exit(c, EXIT_REASON_PREEMPTION_TIMER, 0);
		/* NMI window: no virtual-NMI blocking and no MOV-SS
		 * blocking (SDM 26.7.6). */
		if (proc(c, CPU_BASED_NMI_WINDOW_EXITING) && vnmi &&
		    !c->nmi_blocked && !movss)
			event_exit(c, EXIT_REASON_NMI_WINDOW, 0);
	}
	/* NMI: blocked by MOV SS and by NMI blocking; with NMI exiting the
	 * guest's (virtual-)NMI blocking does not hold a real NMI back
	 * (SDM 26.3). */
	if (c->nmi_pending && !movss && (nmi_exit || !c->nmi_blocked)) {
		c->nmi_pending = false;
		if (nmi_exit)
			event_exit(c, EXIT_REASON_EXCEPTION_NMI,
				   INTR_INFO_VALID_MASK | INTR_TYPE_NMI_INTR |
					   NMI_VECTOR);
		c->nmi_blocked = true;
		deliver(c, NMI_VECTOR, INTR_TYPE_NMI_INTR);
		return true;
	}
	/* Interrupt window: RFLAGS.IF = 1 and no STI / MOV-SS blocking;
	 * above external interrupts (SDM 26.7.5). */
	if (proc(c, CPU_BASED_INTR_WINDOW_EXITING) &&
	    (c->rflags & X86_EFLAGS_IF) && !shadow)
		event_exit(c, EXIT_REASON_INTERRUPT_WINDOW, 0);
	vec = vtx_lapic_pending(c);
	if (vec < 0 || shadow)
		return false;
	if (intr_exit) {
		/* External-interrupt exiting: RFLAGS.IF does not block it
		 * (SDM 26.3); with "acknowledge interrupt on exit" the
		 * APIC moves the vector to ISR and the exit reports it
		 * (28.2.2). */
		uint32_t info = 0;
		if (c->vmx.exit_ctls & VM_EXIT_ACK_INTR_ON_EXIT) {
			vtx_lapic_ack(c, (unsigned)vec);
			info = INTR_INFO_VALID_MASK | INTR_TYPE_EXT_INTR |
			       (uint32_t)vec;
		}
		event_exit(c, EXIT_REASON_EXTERNAL_INTERRUPT, info);
	}
	if (!(c->rflags & X86_EFLAGS_IF))
		return false;
	vtx_lapic_ack(c, (unsigned)vec);
	deliver(c, (unsigned)vec, INTR_TYPE_EXT_INTR);
	return true;
}

/* Whether an event due at `dl` can end the HLT state: the VMX-preemption
 * timer always does; the APIC timer when its interrupt would be accepted
 * (RFLAGS.IF = 1, or external-interrupt exiting) (SDM Vol. 2A "HLT"). */
static uint64_t wake_deadline(const struct vtx_cpu *c)
{
	uint64_t dl = 0, t = vtx_lapic_timer_deadline(c);

	if (t && vtx_lapic_timer_can_interrupt(c) &&
	    ((c->rflags & X86_EFLAGS_IF) || pin(c, PIN_BASED_EXT_INTR_MASK)))
		dl = t;
	if (pin(c, PIN_BASED_VMX_PREEMPTION_TIMER) &&
	    (!dl || c->preempt_deadline < dl))
		dl = c->preempt_deadline ? c->preempt_deadline : 1;
	return dl;
}

void vtx_events_check(struct vtx_cpu *c)
{
	c->event_req = false;
	if (c->inject_info)
		inject_event(c);
	for (;;) {
		vtx_lapic_timer_update(c);
		if (take_one(c) || !c->halted || c->stop_requested)
			break;
		/* Halted with nothing to take now: time passes to the next
		 * event that can wake the CPU, or nothing ever will. */
		uint64_t dl = wake_deadline(c);
		/* A deadline that passed without an event to take cannot
		 * wake it either. */
		if (!dl || dl <= c->tsc) {
			vtx_request_stop(c);
			break;
		}
		c->stats.halted_cycles += dl - c->tsc;
		c->tsc = dl;
	}
	vtx_events_recalc(c);
}

int vtx_cpu_raise_nmi(struct vtx_cpu *c)
{
	if (!c)
		return -EINVAL;
	c->nmi_pending = true;
	c->event_req = true;
	c->async = 1;
	return 0;
}

int vtx_cpu_raise_init(struct vtx_cpu *c)
{
	if (!c)
		return -EINVAL;
	c->init_pending = true;
	c->event_req = true;
	c->async = 1;
	return 0;
}

/* Only a vCPU waiting for a SIPI keeps one; elsewhere it is discarded
 * (SDM 26.2, 27.7.2), and nothing of it remains. */
int vtx_cpu_raise_sipi(struct vtx_cpu *c, unsigned int vector)
{
	if (!c || vector > 255)
		return -EINVAL;
	if (!c->vmx.non_root || !c->wait_sipi)
		return 0;
	c->sipi_pending = true;
	c->sipi_vector = (uint8_t)vector;
	c->event_req = true;
	c->async = 1;
	return 0;
}

int vtx_cpu_raise_irq(struct vtx_cpu *c, unsigned int vector)
{
	if (!c || vector < 16 || vector > 255)
		return -EINVAL;
	vtx_lapic_set_irr(c, vector);
	return 0;
}
