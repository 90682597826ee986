/* SPDX-License-Identifier: MIT */
/*
 * run.c - the run loop: fetch a decoded block for RIP (through the block's
 * chained successors when they are still valid), execute its instructions,
 * retire them, and handle what interrupts the stream (faults through
 * longjmp, stop requests, the instruction budget, the host's stop
 * request between blocks). Model side.
 *
 * Faults are precise (SDM Vol. 3A 6.5): c->rip stays at the executing
 * instruction until it retires, so a fault delivered from here reports
 * the right RIP.
 */
#include <errno.h>
#include <stdio.h>

#include "arch/vmx_exit_qual.h"
#include "vtx/exec.h"

/* "VM exit, reason N" without snprintf: a C host's every VM exit stops
 * the run, and formatting cost more host time than the exit's own
 * bookkeeping. */
static void why_vmexit(char *why, uint32_t reason)
{
	static const char head[] = "VM exit, reason ";
	char digits[10];
	size_t n = 0, len = sizeof(head) - 1;

	_Static_assert(sizeof(head) - 1 + sizeof(digits) <
			       sizeof(((struct vtx_stop *)0)->why),
		       "the reason fits in why");
	memcpy(why, head, len);
	do {
		digits[n++] = (char)('0' + reason % 10);
		reason /= 10;
	} while (reason);
	while (n)
		why[len++] = digits[--n];
	why[len] = '\0';
}

static void fill_stop(struct vtx_cpu *c, struct vtx_stop *st)
{
	st->rip = c->stop_rip;
	if (c->vmexit_pending) {
		c->vmexit_pending = false;
		st->reason = VTX_STOP_VMEXIT;
		why_vmexit(st->why, c->last_exit_reason);
	} else if (c->shutdown) {
		st->reason = VTX_STOP_TRIPLE_FAULT;
		snprintf(st->why, sizeof(st->why), "%s, then shutdown",
			 c->fault_chain);
	} else if (c->init_stopped) {
		st->reason = VTX_STOP_INIT;
		snprintf(st->why, sizeof(st->why),
			 "INIT with VMX off: the model has no INIT reset "
			 "(SDM Vol. 3A 9.1), so the vCPU stops");
	} else if (c->wait_sipi) {
		st->reason = VTX_STOP_HALTED;
		snprintf(st->why, sizeof(st->why),
			 "wait-for-SIPI activity state with no SIPI raised");
	} else if (c->halted) {
		st->reason = VTX_STOP_HALTED;
		snprintf(
			st->why, sizeof(st->why),
			(c->rflags & X86_EFLAGS_IF)
				? "HLT with no interrupt source in the machine"
				: "HLT with interrupts disabled (RFLAGS.IF = 0)");
	} else if (c->host_stopped) {
		/* Nothing ran past c->rip: it is where a run would go on. */
		st->reason = VTX_STOP_REQUESTED;
		st->rip = c->rip;
		snprintf(st->why, sizeof(st->why),
			 "stopped at the host's request after %llu "
			 "instructions",
			 (unsigned long long)c->stats.insns);
	} else if (c->budget_hit) {
		st->reason = VTX_STOP_INSN_LIMIT;
		snprintf(st->why, sizeof(st->why),
			 "instruction limit reached after %llu instructions",
			 (unsigned long long)c->stats.insns);
	} else {
		st->reason = VTX_STOP_PLATFORM;
		snprintf(st->why, sizeof(st->why), "stopped by a device");
	}
}

/* STI and MOV SS block interrupts for the one instruction that follows
 * (SDM Vol. 3A 6.8.3): the shadow set by an instruction is armed when it
 * retires and dropped when the next one does. */
static void shadow_step(struct vtx_cpu *c)
{
	if (!c->sti_shadow)
		return;
	if (c->shadow_armed) {
		c->sti_shadow = false;
		c->mov_ss_shadow = false;
		c->shadow_armed = false;
	} else {
		c->shadow_armed = true;
		c->async = 1;
	}
}

/* What a block lookup depends on besides RIP and the fetch generation: the
 * fetch mode (blocks are decoded for one) and whether the execute TLB is
 * searched with the user tag (CPL 3). */
static inline uint32_t fetch_ctx(const struct vtx_cpu *c)
{
	return c->mode | (c->cpl == 3 ? 0x100u : 0);
}

/*
 * The block to run at c->rip. Block chaining: when the previous block ended
 * without an asynchronous event, its cached successors are tried first. A
 * successor is valid while the fetch generation has not moved since a full
 * lookup at the same RIP and in the same context returned it: nothing that
 * lookup reads (the execute TLB, the block table, the code pages) has
 * changed, so it would return the same block again, without a walk or a
 * decode, and skipping it changes no count and no modeled cycle. A lookup
 * that itself moves the generation (a fetch walk, a block built, a flush)
 * is not cached: the next time round looks up again.
 */
static inline struct vtx_block *block_next(struct vtx_cpu *c,
					   struct vtx_block *prev)
{
	uint64_t rip = c->rip, gen = c->fetch_gen;
	uint32_t ctx = fetch_ctx(c);
	struct vtx_block *b;
	struct vtx_chain *ch;

	if (prev) {
		ch = &prev->next[0];
		if (ch->rip == rip && ch->gen == gen && ch->ctx == ctx)
			return ch->to;
		ch = &prev->next[1];
		if (ch->rip == rip && ch->gen == gen && ch->ctx == ctx)
			return ch->to;
	}
	b = vtx_block_lookup(c);
	if (prev && c->fetch_gen == gen) {
		/* The first successor keeps slot 0 (a fall-through, or the
		 * only target of a jump); the others share slot 1. */
		ch = &prev->next[prev->next[0].gen == gen ? 1 : 0];
		ch->rip = rip;
		ch->gen = gen;
		ch->to = b;
		ch->ctx = ctx;
	}
	return b;
}

/* Retires the instruction the handler just ran. */
#define RETIRE(c)                           \
	do {                                \
		(c)->stop_rip = (c)->rip;   \
		(c)->rip = (c)->next_rip;   \
		(c)->stats.insns++;         \
		(c)->tsc += (c)->cost.insn; \
	} while (0)

/*
 * Runs blocks until a stop. It is entered from vtx_cpu_run() after its
 * setjmp and left by a stop or by a longjmp (a fault, a VM exit), which
 * abandons this frame: its locals are never used again, so they may live
 * in registers, and a fresh entry starts without a previous block.
 */
static __attribute__((noinline)) void run_blocks(struct vtx_cpu *c)
{
	struct vtx_block *prev = NULL;

	while (!c->stop_requested) {
		if (unlikely(c->event_req)) {
			/* Injection, interrupts, VMX event exits, HLT. */
			vtx_events_check(c);
			prev = NULL;
			if (c->stop_requested)
				break;
		}
		/* After the events due here (a VM exit from one leaves by
		 * longjmp), before the next block: an instruction boundary.
		 * Once per block keeps it off the per-instruction path. */
		if (unlikely(atomic_load_explicit(&c->host_stop,
						  memory_order_relaxed))) {
			c->host_stopped = true;
			break;
		}
		struct vtx_block *b = block_next(c, prev);
		const struct vtx_insn *i = b->insns, *end = i + b->n;

		prev = b;
		if (likely(c->stats.insns + b->n < c->check_at)) {
			/* Neither the instruction budget nor a timer's
			 * instruction count can run out in this block: no
			 * need to test them per instruction. */
			for (; i < end; i++) {
				c->next_rip = c->rip + i->len;
				i->fn(c, i);
				RETIRE(c);
				if (unlikely(c->async))
					goto async;
			}
			continue;
		}
		for (; i < end; i++) {
			c->next_rip = c->rip + i->len;
			i->fn(c, i);
			RETIRE(c);
			/* The budget first: an instruction that also leaves the
			 * block (SMC, a mode change) must not let one more run.
			 * A device's stop on the same instruction wins. */
			if (unlikely(c->stats.insns >= c->check_at))
				vtx_events_check_point(c);
			if (unlikely(c->async))
				goto async;
		}
		continue;
	async:
		/* Anything asynchronous (a stop, stale code, a mode or paging
		 * change) ends the block: look RIP up again. */
		c->async = 0;
		vtx_lapic_mmio_commit(c);
		shadow_step(c);
		/* What ended the block (STI, POPF, IRET, MOV to CR8, an APIC
		 * write, the end of a shadow) may unblock an event. */
		c->event_req = true;
		prev = NULL;
	}
}

int vtx_cpu_run(struct vtx_cpu *c, struct vtx_stop *st)
{
	/* Everything the loop changes between setjmp and longjmp lives in
	 * *c, never in locals (C11 7.13.2.1). */
	memset(st, 0, sizeof(*st));
	if (c->shutdown || c->init_stopped || c->in_run)
		return -EINVAL;
	c->in_run = true;
	c->stop_requested = false;
	/* A run wakes a HLT state (the host saw it stop) but not the
	 * wait for a SIPI, which only a SIPI ends. */
	c->halted = c->wait_sipi;
	c->budget_hit = false;
	c->host_stopped = false;
	/* What the host did between runs (an MSR, CR8, an interrupt raised)
	 * is looked at by the event check at the start; it must not also
	 * end the first block early. */
	c->async = 0;
	c->stop_at =
		c->insn_budget ? c->stats.insns + c->insn_budget : UINT64_MAX;

	switch (setjmp(c->fault_jmp)) {
	case 0:
		break;
	case 1: /* vtx_raise(): an exception at c->rip */
		/* Writes to the xAPIC page by a faulting instruction never
		 * happened (SDM 6.5). */
		c->lapic.mmio_dirty = false;
		vtx_handle_fault(c);
		break;
	case 3: /* a VM exit switched to the host (or stopped for a C one) */
		break;
	default: /* shutdown: triple fault */
		c->stop_rip = c->rip;
		goto out;
	}

	/* A VM entry the C host asked for (vtx/vmx_api.c): here, so that an
	 * entry failure can take the VM-exit path. */
	if (c->api_entry) {
		bool launch = c->api_entry == 1;
		c->api_entry = 0;
		c->api_status = vtx_vmx_enter(c, launch);
		if (c->api_status)
			goto out;
	}

	c->event_req = true;
	vtx_events_recalc(c);
	run_blocks(c);
out:
	c->async = 0;
	c->in_run = false;
	fill_stop(c, st);
	return 0;
}
