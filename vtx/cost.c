/* SPDX-License-Identifier: MIT */
/*
 * cost.c - the cost model: the built-in "unit" profile, profile checks,
 * putting a profile on a vCPU, the cycle buckets of root, non-root,
 * world switches and the C host, and the sum(count x cost) the counters
 * must reproduce. The charges themselves sit on the paths where the
 * events already happen (run loop, page walks, event delivery, VM entry
 * and exit, the VMX instructions). Model side; docs/cost-model.md.
 */
#include <errno.h>

#include "vtx/cpu.h"

_Static_assert(
	VTX_COST_EXIT_REASONS == VTX_EXIT_REASONS,
	"per-reason costs and per-reason counters cover the same reasons");

void vtx_cost_profile_unit(struct vtx_cost_profile *p)
{
	memset(p, 0, sizeof(*p));
	strcpy(p->name, "unit");
	p->insn = 1;
}

int vtx_cost_profile_check(const struct vtx_cost_profile *p,
			   const char **bad_key)
{
	/* An instruction class replaces the base CPI: a class cheaper than
	 * the base would make that instruction cost less than a NOP. */
#define VTX_COST_CHECK(key, cls, what)                            \
	if (p->key > VTX_COST_MAX || (cls && p->key < p->insn)) { \
		*bad_key = #key;                                  \
		return -EINVAL;                                   \
	}
	VTX_COST_KEYS(VTX_COST_CHECK)
#undef VTX_COST_CHECK
	for (uint32_t r = 0; r < VTX_COST_EXIT_REASONS; r++) {
		if (vtx_cost_vm_exit(p, r) > VTX_COST_MAX) {
			*bad_key = "vm_exit";
			return -EINVAL;
		}
	}
	*bad_key = NULL;
	return 0;
}

int vtx_cpu_set_cost_profile(struct vtx_cpu *c,
			     const struct vtx_cost_profile *p)
{
	const char *bad;

	if (!c || !p || vtx_cost_profile_check(p, &bad))
		return -EINVAL;
	c->cost = *p;
	c->cost.name[VTX_COST_NAME_MAX - 1] = '\0';
	return 0;
}

void vtx_cpu_get_cost_profile(const struct vtx_cpu *c,
			      struct vtx_cost_profile *p)
{
	*p = c->cost;
}

/* The open run (since cost_mark) belongs to the level the vCPU is in. */
void vtx_cost_close_run(struct vtx_cpu *c)
{
	uint64_t ran = c->tsc - c->cost_mark;

	if (c->vmx.non_root)
		c->stats.cycles_nonroot += ran;
	else
		c->stats.cycles_root += ran;
	c->cost_mark = c->tsc;
}

void vtx_cost_charge_outside(struct vtx_cpu *c, uint64_t *bucket,
			     uint64_t cycles)
{
	vtx_cost_close_run(c);
	c->tsc += cycles;
	*bucket += cycles;
	c->cost_mark = c->tsc;
}

uint64_t vtx_cost_expected_cycles(const struct vtx_cpu_stats *st,
				  const struct vtx_cost_profile *p)
{
	uint64_t base = p->insn;
	uint64_t exits = 0, by_reason = 0;

	/* Each exit at its reason's cost; a reason beyond the counters
	 * (none the model produces) at the generic figure. */
	for (uint32_t r = 0; r < VTX_EXIT_REASONS; r++) {
		exits += st->exits_by_reason[r];
		by_reason += st->exits_by_reason[r] * vtx_cost_vm_exit(p, r);
	}

	/* Instruction classes count the difference to the base CPI: their
	 * instructions are in st->insns too. The C host's operations are
	 * not retired instructions and cost their full figure. */
	return st->insns * base + st->tlb_misses * p->tlb_miss +
	       st->walk_steps * p->walk_step +
	       st->ept_walk_steps * p->ept_walk_step + st->events * p->event +
	       st->vm_entries * p->vm_entry + by_reason +
	       (st->vm_exits - exits) * p->vm_exit +
	       st->vmreads * (p->vmread - base) +
	       st->vmwrites * (p->vmwrite - base) +
	       st->shadow_vmreads * (p->shadow_vmread - base) +
	       st->shadow_vmwrites * (p->shadow_vmwrite - base) +
	       st->vmx_insns * (p->vmx_insn - base) +
	       st->cpuids * (p->cpuid - base) + st->rdmsrs * (p->rdmsr - base) +
	       st->wrmsrs * (p->wrmsr - base) + st->pio * (p->pio - base) +
	       st->host_vmreads * p->vmread + st->host_vmwrites * p->vmwrite +
	       st->host_vmx_ops * p->vmx_insn;
}
