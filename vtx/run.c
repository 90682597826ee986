/* SPDX-License-Identifier: MIT */
/*
 * run.c - the run loop: fetch a decoded block for RIP, execute its
 * instructions, retire them, and handle what interrupts the stream (faults
 * through longjmp, stop requests, the instruction budget). Model side.
 *
 * Faults are precise (SDM Vol. 3A 6.5): c->rip stays at the executing
 * instruction until it retires, so a fault delivered from here reports
 * the right RIP.
 */
#include <errno.h>
#include <stdio.h>

#include "vtx/exec.h"

static void fill_stop(struct vtx_cpu *c, struct vtx_stop *st)
{
	st->rip = c->stop_rip;
	if (c->shutdown) {
		st->reason = VTX_STOP_TRIPLE_FAULT;
		snprintf(st->why, sizeof(st->why), "%s, then shutdown",
			 c->fault_chain);
	} else if (c->halted) {
		st->reason = VTX_STOP_HALTED;
		snprintf(
			st->why, sizeof(st->why),
			(c->rflags & X86_EFLAGS_IF)
				? "HLT with no interrupt source in the machine"
				: "HLT with interrupts disabled (RFLAGS.IF = 0)");
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

int vtx_cpu_run(struct vtx_cpu *c, struct vtx_stop *st)
{
	/* Everything the loop changes between setjmp and longjmp lives in
	 * *c, never in locals (C11 7.13.2.1). */
	memset(st, 0, sizeof(*st));
	if (c->shutdown || c->in_run)
		return -EINVAL;
	c->in_run = true;
	c->stop_requested = false;
	c->halted = false;
	c->budget_hit = false;
	c->stop_at =
		c->insn_budget ? c->stats.insns + c->insn_budget : UINT64_MAX;

	switch (setjmp(c->fault_jmp)) {
	case 0:
		break;
	case 1: /* vtx_raise(): an exception at c->rip */
		vtx_handle_fault(c);
		break;
	default: /* shutdown: triple fault */
		c->stop_rip = c->rip;
		goto out;
	}

	while (!c->stop_requested) {
		struct vtx_block *b = vtx_block_lookup(c);
		const struct vtx_insn *i = b->insns, *end = i + b->n;

		for (; i < end; i++) {
			c->next_rip = c->rip + i->len;
			i->fn(c, i);
			c->stop_rip = c->rip;
			c->rip = c->next_rip;
			c->stats.insns++;
			c->tsc++;
			/* The budget first: an instruction that also leaves the
			 * block (SMC, a mode change) must not let one more run.
			 * A device's stop on the same instruction wins. */
			if (unlikely(c->stats.insns >= c->stop_at) &&
			    !c->stop_requested) {
				c->budget_hit = true;
				vtx_request_stop(c);
			}
			/* Anything asynchronous (a stop, stale code, a mode or
			 * paging change) ends the block: look RIP up again. */
			if (unlikely(c->async)) {
				c->async = 0;
				break;
			}
		}
	}
out:
	c->async = 0;
	c->in_run = false;
	fill_stop(c, st);
	return 0;
}
