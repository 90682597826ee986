/* SPDX-License-Identifier: MIT */
/*
 * lapic.c - the local APIC (SDM Vol. 3A ch. 11): IA32_APIC_BASE and its
 * legal transitions (11.4.4, 11.12.5), the registers through the xAPIC
 * page (11.4.1) and the x2APIC MSRs (11.12.1), TPR/PPR/EOI (11.8),
 * IRR/ISR, ESR (11.5.3), self-IPIs through the ICR (11.6), and the timer
 * (11.5.4) in modeled cycles. Model side.
 */
#include <errno.h>

#include "arch/x86_msr.h"
#include "vtx/cpu.h"
#include "vtx/lapic.h"

#define L(c) (&(c)->lapic)

static const uint16_t lvt_off[LVT_NR] = {
	[LVT_TIMER] = APIC_LVTT, [LVT_THERMAL] = APIC_LVTTHMR,
	[LVT_PERF] = APIC_LVTPC, [LVT_LINT0] = APIC_LVT0,
	[LVT_LINT1] = APIC_LVT1, [LVT_ERROR] = APIC_LVTERR,
};

/* Writable bits of each LVT entry (Figure 11-8): vector, delivery mode
 * (not for the timer and error entries), polarity and trigger (LINT0/1),
 * mask, timer mode. */
static const uint32_t lvt_rw[LVT_NR] = {
	[LVT_TIMER] = 0xff | APIC_LVT_MASKED | APIC_LVT_TIMER_MODE_MASK,
	[LVT_THERMAL] = 0x7ff | APIC_LVT_MASKED,
	[LVT_PERF] = 0x7ff | APIC_LVT_MASKED,
	[LVT_LINT0] = 0x7ff | (1u << 13) | (1u << 15) | APIC_LVT_MASKED,
	[LVT_LINT1] = 0x7ff | (1u << 13) | (1u << 15) | APIC_LVT_MASKED,
	[LVT_ERROR] = 0xff | APIC_LVT_MASKED,
};

static bool x2apic_mode(const struct vtx_cpu *c)
{
	return (c->apic_base & (APIC_BASE_EN | APIC_BASE_EXTD)) ==
	       (APIC_BASE_EN | APIC_BASE_EXTD);
}

static bool sw_enabled(const struct vtx_cpu *c)
{
	return L(c)->svr & APIC_SPIV_APIC_ENABLED;
}

/* Something may now be deliverable: the run loop looks at the next
 * instruction boundary. */
static void kick(struct vtx_cpu *c)
{
	c->event_req = true;
	c->async = 1;
}

static int highest_bit(const uint32_t *v)
{
	for (int k = 7; k >= 0; k--)
		if (v[k])
			return k * 32 + 31 - __builtin_clz(v[k]);
	return -1;
}

static void bit_set(uint32_t *v, unsigned n)
{
	v[n / 32] |= 1u << (n % 32);
}

static void bit_clear(uint32_t *v, unsigned n)
{
	v[n / 32] &= ~(1u << (n % 32));
}

/* PPR (SDM 11.8.3.1): TPR when its class is at least ISRV's, else ISRV's
 * class with sub-class 0. */
static uint32_t ppr(const struct vtx_cpu *c)
{
	int isrv = highest_bit(L(c)->isr);
	uint32_t tpr = L(c)->tpr;

	if (isrv < 0 || (tpr & 0xf0) >= ((uint32_t)isrv & 0xf0))
		return tpr;
	return (uint32_t)isrv & 0xf0;
}

/* An error condition: latched into ESR by its next write, and an error
 * interrupt unless LVT error is masked (SDM 11.5.3). */
static void lapic_error(struct vtx_cpu *c, uint32_t bit)
{
	uint32_t lvt = L(c)->lvt[LVT_ERROR];

	L(c)->esr_pending |= bit;
	if (!(lvt & APIC_LVT_MASKED) && (lvt & 0xff) >= 16)
		bit_set(L(c)->irr, lvt & 0xff), kick(c);
}

void vtx_lapic_set_irr(struct vtx_cpu *c, unsigned vector)
{
	vector &= 0xff;
	/* Vectors 0-15 are reserved for exceptions: the APIC refuses them
	 * (SDM 11.5.2). */
	if (vector < 16) {
		lapic_error(c, APIC_ESR_RECV_ILLEGAL);
		return;
	}
	bit_set(L(c)->irr, vector);
	kick(c);
}

int vtx_lapic_pending(const struct vtx_cpu *c)
{
	int v;

	/* A hardware- or software-disabled APIC presents nothing; what its
	 * IRR holds waits (SDM 11.4.7.2). */
	if (!(c->apic_base & APIC_BASE_EN) || !sw_enabled(c))
		return -1;
	v = highest_bit(L(c)->irr);
	if (v < 0 || ((uint32_t)v & 0xf0) <= (ppr(c) & 0xf0))
		return -1;
	return v;
}

void vtx_lapic_ack(struct vtx_cpu *c, unsigned vector)
{
	bit_clear(L(c)->irr, vector);
	bit_set(L(c)->isr, vector);
}

/* EOI: the highest-priority ISR bit is done (SDM 11.8.5). */
static void lapic_eoi(struct vtx_cpu *c)
{
	int v = highest_bit(L(c)->isr);

	if (v < 0)
		return;
	bit_clear(L(c)->isr, (unsigned)v);
	bit_clear(L(c)->tmr, (unsigned)v);
	kick(c);
}

static void set_tpr(struct vtx_cpu *c, uint32_t tpr)
{
	L(c)->tpr = tpr & 0xff;
	kick(c);
}

uint64_t vtx_lapic_read_cr8(const struct vtx_cpu *c)
{
	return L(c)->tpr >> 4;
}

/* MOV to CR8 loads TPR[7:4] and clears TPR[3:0] (SDM 11.8.6.1). */
void vtx_lapic_write_cr8(struct vtx_cpu *c, uint64_t cr8)
{
	set_tpr(c, (uint32_t)(cr8 & 0xf) << 4);
}

/* ---- the timer (SDM 11.5.4) --------------------------------------------- */

static uint64_t timer_divisor(const struct vtx_cpu *c)
{
	uint32_t d = L(c)->timer_dcr;
	unsigned v = ((d >> 1) & 4) | (d & 3);

	return v == 7 ? 1 : 2ull << v;
}

static uint32_t timer_mode(const struct vtx_cpu *c)
{
	return L(c)->lvt[LVT_TIMER] & APIC_LVT_TIMER_MODE_MASK;
}

static uint32_t timer_current(const struct vtx_cpu *c)
{
	uint64_t icr = L(c)->timer_icr, elapsed;

	if (!icr || timer_mode(c) == APIC_LVT_TIMER_TSCDEADLINE)
		return 0;
	elapsed = (c->tsc - L(c)->timer_start) / timer_divisor(c);
	if (timer_mode(c) == APIC_LVT_TIMER_PERIODIC)
		return (uint32_t)(icr - elapsed % icr);
	return elapsed >= icr ? 0 : (uint32_t)(icr - elapsed);
}

/* (Re)starts the count from `count` at the current time. */
static void timer_load(struct vtx_cpu *c, uint32_t count)
{
	uint64_t div = timer_divisor(c);

	L(c)->timer_start = c->tsc - ((uint64_t)L(c)->timer_icr - count) * div;
	L(c)->timer_deadline = count ? c->tsc + (uint64_t)count * div : 0;
	vtx_events_recalc(c);
}

static void timer_fire(struct vtx_cpu *c)
{
	uint32_t lvt = L(c)->lvt[LVT_TIMER];

	if (!(lvt & APIC_LVT_MASKED))
		vtx_lapic_set_irr(c, lvt & 0xff);
	c->stats.apic_timer_fires++;
}

void vtx_lapic_timer_update(struct vtx_cpu *c)
{
	struct vtx_lapic *a = L(c);
	uint64_t period;

	if (!a->timer_deadline || c->tsc < a->timer_deadline)
		return;
	timer_fire(c);
	switch (timer_mode(c)) {
	case APIC_LVT_TIMER_PERIODIC:
		/* Periods that passed unseen coalesce into the one IRR bit;
		 * the next deadline stays on the grid of the first load. */
		period = (uint64_t)a->timer_icr * timer_divisor(c);
		a->timer_deadline =
			a->timer_start +
			((c->tsc - a->timer_start) / period + 1) * period;
		break;
	case APIC_LVT_TIMER_TSCDEADLINE:
		/* It fires once and clears IA32_TSC_DEADLINE. */
		a->tsc_deadline = 0;
		a->timer_deadline = 0;
		break;
	default:
		a->timer_deadline = 0;
		break;
	}
	vtx_events_recalc(c);
}

uint64_t vtx_lapic_timer_deadline(const struct vtx_cpu *c)
{
	return L(c)->timer_deadline;
}

bool vtx_lapic_timer_can_interrupt(const struct vtx_cpu *c)
{
	uint32_t lvt = L(c)->lvt[LVT_TIMER];

	return (c->apic_base & APIC_BASE_EN) && sw_enabled(c) &&
	       !(lvt & APIC_LVT_MASKED) && (lvt & 0xf0) > (ppr(c) & 0xf0);
}

static void write_tsc_deadline(struct vtx_cpu *c, uint64_t val)
{
	/* Ignored outside TSC-deadline mode (SDM 11.5.4.1). */
	if (timer_mode(c) != APIC_LVT_TIMER_TSCDEADLINE)
		return;
	L(c)->tsc_deadline = val;
	/* The deadline is in guest-TSC units: TSC = c->tsc + tsc_adjust. A
	 * deadline already passed fires at the next boundary. */
	if (!val) {
		L(c)->timer_deadline = 0;
	} else {
		uint64_t raw = val - c->tsc_adjust;
		if ((int64_t)(raw - c->tsc) <= 0)
			raw = c->tsc;
		L(c)->timer_deadline = raw ? raw : 1;
	}
	vtx_events_recalc(c);
}

static void write_lvt_timer(struct vtx_cpu *c, uint32_t val)
{
	uint32_t old_mode = timer_mode(c);

	L(c)->lvt[LVT_TIMER] = val;
	if (timer_mode(c) == old_mode)
		return;
	/* Switching to or from TSC-deadline mode disarms the timer. */
	if (old_mode == APIC_LVT_TIMER_TSCDEADLINE ||
	    timer_mode(c) == APIC_LVT_TIMER_TSCDEADLINE) {
		L(c)->timer_icr = 0;
		L(c)->tsc_deadline = 0;
		L(c)->timer_deadline = 0;
	} else if (L(c)->timer_icr) {
		/* One-shot <-> periodic: the count goes on from where it is. */
		uint32_t cur = timer_current(c);
		if (cur)
			timer_load(c, cur);
	}
	vtx_events_recalc(c);
}

/* ---- register access ------------------------------------------------------ */

static uint32_t apic_reg_read(const struct vtx_cpu *c, unsigned off)
{
	const struct vtx_lapic *a = L(c);

	switch (off) {
	case APIC_ID:
		return x2apic_mode(c) ? a->id : a->id << 24;
	case APIC_LVR:
		/* version 0x14 (integrated APIC), max LVT entry 5 */
		return 0x14 | ((LVT_NR - 1) << 16);
	case APIC_TASKPRI:
		return a->tpr;
	case APIC_PROCPRI:
		return ppr(c);
	case APIC_LDR:
		return a->ldr;
	case APIC_DFR:
		return a->dfr;
	case APIC_SPIV:
		return a->svr;
	case APIC_ESR:
		return a->esr;
	case APIC_ICR:
		return a->icr_lo;
	case APIC_ICR2:
		return a->icr_hi;
	case APIC_TMICT:
		return a->timer_icr;
	case APIC_TMCCT:
		return timer_current(c);
	case APIC_TDCR:
		return a->timer_dcr;
	default:
		break;
	}
	if (off >= APIC_ISR && off < APIC_ISR + 0x80)
		return a->isr[(off - APIC_ISR) >> 4];
	if (off >= APIC_TMR && off < APIC_TMR + 0x80)
		return a->tmr[(off - APIC_TMR) >> 4];
	if (off >= APIC_IRR && off < APIC_IRR + 0x80)
		return a->irr[(off - APIC_IRR) >> 4];
	for (int k = 0; k < LVT_NR; k++)
		if (off == lvt_off[k])
			return a->lvt[k];
	return 0; /* APR, RRD and reserved offsets read as 0 */
}

/* ICR: a fixed (or NMI) interrupt to this processor is delivered; one for
 * another processor cannot be, since the machine has one, and is counted
 * as unimplemented rather than dropped in silence (SDM 11.6.1). */
static void send_ipi(struct vtx_cpu *c, uint32_t lo, uint32_t dest)
{
	uint32_t dm = lo & APIC_DM_MASK, sh = lo & APIC_SHORT_MASK;
	bool self = sh == APIC_DEST_SELF ||
		    (sh == APIC_DEST_NOSHORT && !(lo & APIC_DEST_LOGICAL) &&
		     dest == L(c)->id);

	c->stats.apic_ipis++;
	if (!self || (dm != APIC_DM_FIXED && dm != APIC_DM_NMI)) {
		vtx_note_unimplemented(c, c->rip, NULL, 0,
				       "APIC IPI (not a fixed/NMI self-IPI)");
		return;
	}
	if (dm == APIC_DM_NMI) {
		c->nmi_pending = true;
		kick(c);
		return;
	}
	if ((lo & 0xff) < 16) {
		lapic_error(c, APIC_ESR_SEND_ILLEGAL);
		return;
	}
	vtx_lapic_set_irr(c, lo & 0xff);
}

static void write_svr(struct vtx_cpu *c, uint32_t val)
{
	L(c)->svr = val &
		    (0xff | APIC_SPIV_APIC_ENABLED | APIC_SPIV_FOCUS_DISABLED);
	/* Software disable masks every LVT entry (SDM 11.4.7.2). */
	if (!sw_enabled(c))
		for (int k = 0; k < LVT_NR; k++)
			L(c)->lvt[k] |= APIC_LVT_MASKED;
	kick(c);
}

/* A write of a register by offset; false for a read-only or reserved one
 * (x2APIC turns that into #GP, the xAPIC page ignores it). */
static bool apic_reg_write(struct vtx_cpu *c, unsigned off, uint64_t val)
{
	struct vtx_lapic *a = L(c);
	uint32_t v = (uint32_t)val;

	switch (off) {
	case APIC_TASKPRI:
		set_tpr(c, v);
		return true;
	case APIC_EOI:
		lapic_eoi(c);
		return true;
	case APIC_LDR:
		if (x2apic_mode(c))
			return false;
		a->ldr = v & 0xff000000u;
		return true;
	case APIC_DFR:
		if (x2apic_mode(c))
			return false;
		a->dfr = v | 0x0fffffffu;
		return true;
	case APIC_SPIV:
		write_svr(c, v);
		return true;
	case APIC_ESR:
		a->esr = a->esr_pending;
		a->esr_pending = 0;
		return true;
	case APIC_ICR:
		if (x2apic_mode(c)) {
			a->icr_lo = v & ~(1u << 12);
			a->icr_hi = (uint32_t)(val >> 32);
			send_ipi(c, a->icr_lo, a->icr_hi);
		} else {
			a->icr_lo = v & ~(1u << 12);
			send_ipi(c, a->icr_lo, a->icr_hi >> 24);
		}
		return true;
	case APIC_ICR2:
		if (x2apic_mode(c))
			return false;
		a->icr_hi = v & 0xff000000u;
		return true;
	case APIC_TMICT:
		if (timer_mode(c) == APIC_LVT_TIMER_TSCDEADLINE)
			return true; /* ignored in TSC-deadline mode */
		a->timer_icr = v;
		timer_load(c, v);
		return true;
	case APIC_TDCR: {
		uint32_t cur = timer_current(c);
		a->timer_dcr = v & 0xb;
		if (cur)
			timer_load(c, cur);
		return true;
	}
	case APIC_SELF_IPI:
		if (!x2apic_mode(c))
			return false;
		if ((v & 0xff) < 16)
			lapic_error(c, APIC_ESR_SEND_ILLEGAL);
		else
			vtx_lapic_set_irr(c, v & 0xff);
		c->stats.apic_ipis++;
		return true;
	default:
		break;
	}
	for (int k = 0; k < LVT_NR; k++) {
		if (off != lvt_off[k])
			continue;
		v &= lvt_rw[k];
		if (!sw_enabled(c))
			v |= APIC_LVT_MASKED;
		if (k == LVT_TIMER)
			write_lvt_timer(c, v);
		else
			a->lvt[k] = v;
		kick(c);
		return true;
	}
	return false;
}

void vtx_lapic_reset(struct vtx_cpu *c)
{
	struct vtx_lapic *a = L(c);
	uint32_t id = a->id;

	memset(a, 0, offsetof(struct vtx_lapic, mmio));
	a->id = id;
	a->dfr = 0xffffffffu;
	a->svr = 0xff;
	for (int k = 0; k < LVT_NR; k++)
		a->lvt[k] = APIC_LVT_MASKED;
}

/* ---- IA32_APIC_BASE and the x2APIC MSRs ----------------------------------- */

/* The states of SDM Figure 11-26: disabled (EN = 0), xAPIC (EN = 1),
 * x2APIC (EN = EXTD = 1); EN = 0 with EXTD = 1 is invalid. x2APIC ->
 * xAPIC and disabled -> x2APIC are illegal transitions (#GP). */
static int write_apic_base(struct vtx_cpu *c, uint64_t val)
{
	uint64_t old = c->apic_base;
	bool en = val & APIC_BASE_EN, extd = val & APIC_BASE_EXTD;
	bool was_en = old & APIC_BASE_EN, was_x2 = x2apic_mode(c);

	if (val & ~(APIC_BASE_ADDR_MASK | APIC_BASE_EN | APIC_BASE_EXTD |
		    APIC_BASE_BSP))
		return -EINVAL;
	if (extd && !en)
		return -EINVAL;
	if (was_x2 && en && !extd)
		return -EINVAL;
	if (!was_en && en && extd)
		return -EINVAL;
	/* BSP is read-only. */
	c->apic_base = (val & ~APIC_BASE_BSP) | (old & APIC_BASE_BSP);
	if (!en && was_en) {
		vtx_lapic_reset(c);
		vtx_events_recalc(c);
	}
	if (extd && !was_x2) {
		/* x2APIC: the ID is the 32-bit x2APIC ID and LDR is derived
		 * from it (SDM 11.12.10.2). */
		L(c)->ldr = ((L(c)->id >> 4) << 16) | (1u << (L(c)->id & 0xf));
	}
	/* The xAPIC page may have appeared, moved or gone: no translation
	 * cached for that physical page may stay. */
	vtx_tlb_flush(c);
	kick(c);
	return 0;
}

/* x2APIC MSRs that exist, with what an access may do (SDM Table 11-6). */
static bool x2apic_readable(unsigned off)
{
	switch (off) {
	case APIC_ID:
	case APIC_LVR:
	case APIC_TASKPRI:
	case APIC_PROCPRI:
	case APIC_LDR:
	case APIC_SPIV:
	case APIC_ESR:
	case APIC_ICR:
	case APIC_LVTT:
	case APIC_LVTTHMR:
	case APIC_LVTPC:
	case APIC_LVT0:
	case APIC_LVT1:
	case APIC_LVTERR:
	case APIC_TMICT:
	case APIC_TMCCT:
	case APIC_TDCR:
		return true;
	default:
		return (off >= APIC_ISR && off < APIC_ISR + 0x80) ||
		       (off >= APIC_TMR && off < APIC_TMR + 0x80) ||
		       (off >= APIC_IRR && off < APIC_IRR + 0x80);
	}
}

int vtx_lapic_msr_read(const struct vtx_cpu *c, uint32_t msr, uint64_t *val)
{
	unsigned off;

	if (msr == MSR_IA32_APICBASE) {
		*val = c->apic_base;
		return 0;
	}
	if (msr == MSR_IA32_TSC_DEADLINE) {
		*val = timer_mode(c) == APIC_LVT_TIMER_TSCDEADLINE
			       ? L(c)->tsc_deadline
			       : 0;
		return 0;
	}
	if (msr < X2APIC_MSR_FIRST || msr > X2APIC_MSR_LAST)
		return -ENOENT;
	/* The x2APIC MSRs exist only in x2APIC mode (SDM 11.12.1.2). */
	off = (msr - X2APIC_MSR_FIRST) << 4;
	if (!x2apic_mode(c) || !x2apic_readable(off))
		return -EINVAL;
	*val = apic_reg_read(c, off);
	if (off == APIC_ICR)
		*val |= (uint64_t)L(c)->icr_hi << 32;
	return 0;
}

int vtx_lapic_msr_write(struct vtx_cpu *c, uint32_t msr, uint64_t val)
{
	unsigned off;

	if (msr == MSR_IA32_APICBASE)
		return write_apic_base(c, val);
	if (msr == MSR_IA32_TSC_DEADLINE) {
		write_tsc_deadline(c, val);
		return 0;
	}
	if (msr < X2APIC_MSR_FIRST || msr > X2APIC_MSR_LAST)
		return -ENOENT;
	off = (msr - X2APIC_MSR_FIRST) << 4;
	if (!x2apic_mode(c))
		return -EINVAL;
	/* Reserved bits: bits 63:32 of every register but the ICR; any
	 * non-zero EOI or ESR value; SELF IPI bits 31:8 (SDM 11.12.1.2). */
	if (off != APIC_ICR && (val >> 32))
		return -EINVAL;
	if ((off == APIC_EOI || off == APIC_ESR) && val)
		return -EINVAL;
	if (off == APIC_SELF_IPI && (val & ~0xffull))
		return -EINVAL;
	if (off == APIC_TASKPRI && (val & ~0xffull))
		return -EINVAL;
	switch (off) {
	case APIC_ID:
	case APIC_LVR:
	case APIC_PROCPRI:
	case APIC_LDR:
	case APIC_TMCCT:
		return -EINVAL; /* read-only */
	default:
		break;
	}
	return apic_reg_write(c, off, val) ? 0 : -EINVAL;
}

/* ---- the xAPIC page ------------------------------------------------------- */

static void mmio_fill(struct vtx_cpu *c, unsigned slot)
{
	uint32_t v = apic_reg_read(c, slot);

	memset(L(c)->mmio + slot, 0, 16);
	memcpy(L(c)->mmio + slot, &v, 4);
}

uint8_t *vtx_lapic_mmio_hook(struct vtx_cpu *c, uint64_t pa, int acc)
{
	struct vtx_lapic *a = L(c);
	unsigned off = (unsigned)(pa & (PAGE_SIZE - 1)), slot = off & ~15u;

	if ((c->apic_base & (APIC_BASE_EN | APIC_BASE_EXTD)) != APIC_BASE_EN ||
	    (pa & PAGE_MASK) != (c->apic_base & APIC_BASE_ADDR_MASK))
		return NULL;
	/* The access may run into the next slot: fill both. */
	mmio_fill(c, slot);
	if (slot + 16 < PAGE_SIZE)
		mmio_fill(c, slot + 16);
	if (acc == ACC_WRITE) {
		/* Applied when the instruction retires; the run loop's
		 * asynchronous path does it (vtx/run.c). */
		if (!a->mmio_dirty) {
			a->mmio_slot[0] = slot;
			a->mmio_slot[1] = slot;
		} else {
			a->mmio_slot[1] = slot;
		}
		a->mmio_dirty = true;
		c->async = 1;
	}
	c->stats.apic_mmio++;
	return a->mmio + off;
}

void vtx_lapic_mmio_commit(struct vtx_cpu *c)
{
	struct vtx_lapic *a = L(c);
	uint32_t v;

	if (!a->mmio_dirty)
		return;
	a->mmio_dirty = false;
	for (int k = 0; k < 2; k++) {
		if (k == 1 && a->mmio_slot[1] == a->mmio_slot[0])
			break;
		memcpy(&v, a->mmio + a->mmio_slot[k], 4);
		/* Read-only and reserved registers ignore writes in xAPIC
		 * mode; SELF IPI is an x2APIC register only. */
		if (a->mmio_slot[k] != APIC_SELF_IPI)
			(void)apic_reg_write(c, a->mmio_slot[k], v);
	}
}
