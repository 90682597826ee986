/* SPDX-License-Identifier: MIT */
/*
 * lapic.h - the local APIC of a vCPU (SDM Vol. 3A ch. 11 "Advanced
 * Programmable Interrupt Controller"): IA32_APIC_BASE, the xAPIC page and
 * the x2APIC MSRs, TPR/PPR/EOI, IRR/ISR, the timer (one-shot, periodic,
 * TSC-deadline), and the interrupt-acceptance and VMX event logic of
 * vtx/events.c. Model side, internal.
 */
#ifndef NESTVM_VTX_LAPIC_H
#define NESTVM_VTX_LAPIC_H

#include "arch/types.h"

struct vtx_cpu;

/* xAPIC register offsets in the APIC page (SDM Vol. 3A Table 11-1); the
 * x2APIC MSR of a register is 0x800 + offset / 16 (Table 11-6). */
#define APIC_ID 0x20
#define APIC_LVR 0x30
#define APIC_TASKPRI 0x80
#define APIC_ARBPRI 0x90
#define APIC_PROCPRI 0xa0
#define APIC_EOI 0xb0
#define APIC_RRR 0xc0
#define APIC_LDR 0xd0
#define APIC_DFR 0xe0
#define APIC_SPIV 0xf0
#define APIC_ISR 0x100
#define APIC_TMR 0x180
#define APIC_IRR 0x200
#define APIC_ESR 0x280
#define APIC_ICR 0x300
#define APIC_ICR2 0x310
#define APIC_LVTT 0x320
#define APIC_LVTTHMR 0x330
#define APIC_LVTPC 0x340
#define APIC_LVT0 0x350
#define APIC_LVT1 0x360
#define APIC_LVTERR 0x370
#define APIC_TMICT 0x380
#define APIC_TMCCT 0x390
#define APIC_TDCR 0x3e0
#define APIC_SELF_IPI 0x3f0 /* x2APIC only */

/* SVR (Figure 11-23), LVT entries (Figure 11-8), ICR (Figure 11-12). */
#define APIC_SPIV_APIC_ENABLED (1u << 8)
#define APIC_SPIV_FOCUS_DISABLED (1u << 9)
#define APIC_LVT_MASKED (1u << 16)
#define APIC_LVT_TIMER_MODE_MASK (3u << 17)
#define APIC_LVT_TIMER_ONESHOT (0u << 17)
#define APIC_LVT_TIMER_PERIODIC (1u << 17)
#define APIC_LVT_TIMER_TSCDEADLINE (2u << 17)
#define APIC_VECTOR_MASK 0xffu
#define APIC_DM_MASK (7u << 8)
#define APIC_DM_FIXED (0u << 8)
#define APIC_DM_NMI (4u << 8)
#define APIC_DEST_LOGICAL (1u << 11)
#define APIC_SHORT_MASK (3u << 18)
#define APIC_DEST_NOSHORT (0u << 18)
#define APIC_DEST_SELF (1u << 18)
/* ESR bits (Figure 11-9). */
#define APIC_ESR_SEND_ILLEGAL (1u << 5)
#define APIC_ESR_RECV_ILLEGAL (1u << 6)
#define APIC_ESR_ILLEGAL_REG (1u << 7)

/* IA32_APIC_BASE (Figure 11-5; 11.12.1 for EXTD). */
#define APIC_BASE_BSP (1ull << 8)
#define APIC_BASE_EXTD (1ull << 10)
#define APIC_BASE_EN (1ull << 11)
#define APIC_BASE_ADDR_MASK 0x00003ffffffff000ull /* MAXPHYADDR 46 */

#define MSR_IA32_TSC_DEADLINE 0x000006e0

/* Local vector table entries the model has: timer, thermal, performance
 * counters, LINT0, LINT1, error (version register: max LVT entry 5). */
enum {
	LVT_TIMER,
	LVT_THERMAL,
	LVT_PERF,
	LVT_LINT0,
	LVT_LINT1,
	LVT_ERROR,
	LVT_NR
};

struct vtx_lapic {
	uint32_t id; /* initial APIC ID (CPUID.1:EBX[31:24]) */
	uint32_t tpr, ldr, dfr, svr;
	uint32_t esr; /* as last latched by a write to the ESR */
	uint32_t esr_pending; /* errors seen since */
	uint32_t icr_lo, icr_hi;
	uint32_t lvt[LVT_NR];
	uint32_t irr[8], isr[8], tmr[8];
	/* The timer counts down once per `divisor` APIC clock ticks; one
	 * tick is one modeled cycle (docs/design/cpu-model.md). */
	uint32_t timer_icr, timer_dcr;
	uint64_t timer_start; /* c->tsc when the count was loaded */
	uint64_t timer_deadline; /* c->tsc at which it fires; 0: disarmed */
	uint64_t tsc_deadline; /* IA32_TSC_DEADLINE, in guest-TSC units */
	/* An access to the xAPIC page goes to this buffer, never to RAM:
	 * read slots are filled at translation, written slots applied when
	 * the instruction retires (vtx_lapic_mmio_commit()). */
	bool mmio_dirty;
	uint32_t mmio_slot[2]; /* offsets of the written 16-byte slots */
	uint8_t mmio[4096] __attribute__((aligned(16)));
};

/* Power-up / INIT state (SDM Vol. 3A 11.4.7.1), IA32_APIC_BASE included. */
void vtx_lapic_reset(struct vtx_cpu *c);

/* IA32_APIC_BASE, the x2APIC MSRs and IA32_TSC_DEADLINE: 0, -EINVAL for a
 * #GP (SDM 11.12.1.2, 11.12.5), -ENOENT for an MSR that is not the APIC's. */
int vtx_lapic_msr_read(const struct vtx_cpu *c, uint32_t msr, uint64_t *val);
int vtx_lapic_msr_write(struct vtx_cpu *c, uint32_t msr, uint64_t val);

/* CR8 is TPR[7:4] (SDM Vol. 3A 11.8.6.1, 2.5). */
uint64_t vtx_lapic_read_cr8(const struct vtx_cpu *c);
void vtx_lapic_write_cr8(struct vtx_cpu *c, uint64_t cr8);

/* The xAPIC page hook of the physical-access step (vtx/mmu.c): the host
 * address to use for the byte at physical `pa`, or NULL when `pa` is not
 * in an enabled xAPIC page (the access goes to memory as before). */
uint8_t *vtx_lapic_mmio_hook(struct vtx_cpu *c, uint64_t pa, int acc);
/* Applies the writes made to the xAPIC page by the retired instruction. */
void vtx_lapic_mmio_commit(struct vtx_cpu *c);

/* A fixed interrupt with `vector` arrives at this APIC (IRR). */
void vtx_lapic_set_irr(struct vtx_cpu *c, unsigned vector);
/* The vector the APIC would present to the core now, or -1: the highest
 * IRR vector whose priority class is above PPR's (SDM 11.8.3.1). */
int vtx_lapic_pending(const struct vtx_cpu *c);
/* INTA: moves `vector` from IRR to ISR (SDM 11.8.4). */
void vtx_lapic_ack(struct vtx_cpu *c, unsigned vector);
/* Fires the timer if c->tsc reached its deadline. */
void vtx_lapic_timer_update(struct vtx_cpu *c);
/* The c->tsc at which the timer fires next, or 0 when it is disarmed. */
uint64_t vtx_lapic_timer_deadline(const struct vtx_cpu *c);
/* Whether an interrupt of the timer's vector would beat PPR. */
bool vtx_lapic_timer_can_interrupt(const struct vtx_cpu *c);

/* vtx/events.c: the run loop's event logic. */
/* Recomputes when the run loop must look at timers and MTF next. */
void vtx_events_recalc(struct vtx_cpu *c);
/* The instruction count reached c->check_at (vtx/run.c). */
void vtx_events_check_point(struct vtx_cpu *c);
/* At an instruction boundary with c->event_req set: injects, delivers or
 * exits for the highest-priority event that is not blocked (SDM Vol. 3A
 * 6.9 Table 6-2, Vol. 3C 26.7); handles the HLT state. May longjmp (a
 * fault while delivering, a VM exit). */
void vtx_events_check(struct vtx_cpu *c);

#endif
