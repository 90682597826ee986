/* SPDX-License-Identifier: MIT */
/*
 * cost.h - the cost model's public side: a profile of modeled cycles per
 * architectural event (the base CPI, page-walk steps, event delivery, VM
 * entry and exit, VMX instructions, the native costs of CPUID, RDMSR,
 * WRMSR and port I/O) and the call that puts a profile on a vCPU. Part of
 * the model's API (vtx/vtx.h includes it); docs/cost-model.md explains
 * what is charged where. Runs on the host, model side.
 */
#ifndef NESTVM_VTX_COST_H
#define NESTVM_VTX_COST_H

#include "arch/types.h"

/*
 * VTX_COST_KEY(key, insn_class, what): one line per profile key, in the
 * order profiles list them. insn_class marks the cost of a whole
 * instruction (at least the base CPI `insn`, which it replaces); the other
 * keys are events charged on top of the instructions that cause them.
 */
#define VTX_COST_KEYS(X)                                                   \
	X(insn, 0, "cycles per retired instruction (the base CPI)")        \
	X(tlb_miss, 0, "cycles per TLB miss (a page walk), fixed part")    \
	X(walk_step, 0, "cycles per paging-structure entry a walk reads")  \
	X(ept_walk_step, 0, "cycles per EPT entry a walk reads")           \
	X(event, 0, "cycles per exception or interrupt delivered")         \
	X(vm_entry, 0, "cycles per successful VM entry")                   \
	X(vm_exit, 0, "cycles per VM exit, entry failures included")       \
	X(vmread, 1, "cycles per VMREAD executed in VMX root operation")   \
	X(vmwrite, 1, "cycles per VMWRITE executed in VMX root operation") \
	X(vmx_insn, 1, "cycles per other VMX instruction in root")         \
	X(cpuid, 1, "cycles per CPUID that does not exit")                 \
	X(rdmsr, 1, "cycles per RDMSR that does not exit")                 \
	X(wrmsr, 1, "cycles per WRMSR that does not exit")                 \
	X(pio, 1, "cycles per IN/OUT that reaches a device")               \
	X(shadow_vmread, 1,                                                \
	  "cycles per VMREAD in VMX non-root that reads the shadow VMCS")  \
	X(shadow_vmwrite, 1,                                               \
	  "cycles per VMWRITE in VMX non-root that writes the shadow VMCS")

/* The largest value a key may have: above any published figure by far,
 * and small enough that no realistic run overflows 64 bits. */
#define VTX_COST_MAX 100000000ull

#define VTX_COST_NAME_MAX 32

/* Basic exit reasons a profile may cost one by one (vtx.h has the same
 * bound for its per-reason counters). */
#define VTX_COST_EXIT_REASONS 80

struct vtx_cost_profile {
	char name[VTX_COST_NAME_MAX];
#define VTX_COST_MEMBER(key, cls, what) uint64_t key;
	VTX_COST_KEYS(VTX_COST_MEMBER)
#undef VTX_COST_MEMBER
	/* Per-exit-reason costs (profile keys "vm_exit.NAME"): the exit
	 * of basic reason r costs vm_exit_by_reason[r] instead of vm_exit
	 * when bit r of vm_exit_reason_set is 1. All zero, as memset
	 * leaves them, means every exit costs vm_exit. */
	uint64_t vm_exit_by_reason[VTX_COST_EXIT_REASONS];
	uint64_t vm_exit_reason_set[(VTX_COST_EXIT_REASONS + 63) / 64];
};

/* What one VM exit of basic reason `reason` costs under p. */
static inline uint64_t vtx_cost_vm_exit(const struct vtx_cost_profile *p,
					uint32_t reason)
{
	if (reason < VTX_COST_EXIT_REASONS &&
	    ((p->vm_exit_reason_set[reason / 64] >> (reason % 64)) & 1))
		return p->vm_exit_by_reason[reason];
	return p->vm_exit;
}

/* Sets the cost of exits of basic reason `reason` (< VTX_COST_EXIT_REASONS). */
static inline void vtx_cost_set_vm_exit(struct vtx_cost_profile *p,
					uint32_t reason, uint64_t cycles)
{
	p->vm_exit_by_reason[reason] = cycles;
	p->vm_exit_reason_set[reason / 64] |= 1ull << (reason % 64);
}

/* The profile a new vCPU has: "unit", one cycle per instruction and every
 * event free, so that the TSC counts retired instructions. */
void vtx_cost_profile_unit(struct vtx_cost_profile *p);

/*
 * Checks a profile: every value at most VTX_COST_MAX and every
 * instruction class at least `insn`. 0, or -EINVAL with *bad_key set to
 * the first key that breaks a rule.
 */
int vtx_cost_profile_check(const struct vtx_cost_profile *p,
			   const char **bad_key);

struct vtx_cpu;
struct vtx_cpu_stats;

/* Charges cpu's events from p from now on (a copy is kept). Cycles already
 * counted stay. 0, or -EINVAL for a profile vtx_cost_profile_check()
 * refuses. */
int vtx_cpu_set_cost_profile(struct vtx_cpu *cpu,
			     const struct vtx_cost_profile *p);
void vtx_cpu_get_cost_profile(const struct vtx_cpu *cpu,
			      struct vtx_cost_profile *p);

/* sum(count x cost) over st's counters: what st->cycles must equal when
 * one profile was in force for the whole run. */
uint64_t vtx_cost_expected_cycles(const struct vtx_cpu_stats *st,
				  const struct vtx_cost_profile *p);

#endif
