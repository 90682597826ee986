/* SPDX-License-Identifier: MIT */
/*
 * nested_events.c - the event controls under L0 and L2's VPID
 * (l0/nested_events.h). L0 sets no event control of its own in vmcs02,
 * so the processor takes every interrupt, NMI, window, MTF and timer exit
 * where vmcs12 asks for it and each is L1's (SDM Vol. 3C 26.7, 28.2);
 * what L0 adds is an MTF exit after an instruction it emulated for L2,
 * and the vpid02 flushes the SDM's VPID rules imply (29.4.3). Monitor
 * side.
 */
#include "l0/nested_events.h"

#include <asm/vmx.h>

#include "arch/ept.h"
#include "arch/vmx_exit_qual.h"
#include "mmu/vpid02.h"
#include "vtx/vtx.h"

static bool vmcs12_uses(const struct vmcs12 *v, uint32_t proc2_bit)
{
	return (v->cpu_based_vm_exec_control &
		CPU_BASED_ACTIVATE_SECONDARY_CONTROLS) &&
	       (v->secondary_vm_exec_control & proc2_bit);
}

bool nested_events_l1_wants(const struct vmcs12 *v, uint32_t basic, bool *wants)
{
	uint32_t proc = v->cpu_based_vm_exec_control;

	switch (basic) {
	case EXIT_REASON_INTERRUPT_WINDOW:
		*wants = proc & CPU_BASED_INTR_WINDOW_EXITING;
		return true;
	case EXIT_REASON_NMI_WINDOW:
		*wants = proc & CPU_BASED_NMI_WINDOW_EXITING;
		return true;
	case EXIT_REASON_MONITOR_TRAP_FLAG:
		*wants = proc & CPU_BASED_MONITOR_TRAP_FLAG;
		return true;
	case EXIT_REASON_PREEMPTION_TIMER:
		*wants = v->pin_based_vm_exec_control &
			 PIN_BASED_VMX_PREEMPTION_TIMER;
		return true;
	case EXIT_REASON_INVPCID:
		/* 26.1.3: INVPCID exits with "INVLPG exiting" once
		 * "enable INVPCID" lets it run at all. */
		*wants = (proc & CPU_BASED_INVLPG_EXITING) &&
			 vmcs12_uses(v, SECONDARY_EXEC_ENABLE_INVPCID);
		return true;
	default:
		return false;
	}
}

uint16_t nested_events_vpid02(struct l0_vm *vm)
{
	const struct vmcs12 *v = vm->nvmx->vmcs12;

	if (!vmcs12_uses(v, SECONDARY_EXEC_ENABLE_VPID))
		return vpid02_get(&vm->nvmx->vpid02, 0);
	return vpid02_get(&vm->nvmx->vpid02, v->virtual_processor_id);
}

void nested_events_flush_l1(struct l0_vm *vm)
{
	const struct vmcs12 *v = vm->nvmx->vmcs12;

	/* Without VPID in vmcs01 every VM entry and exit flushes L1's
	 * translations already. */
	if (vmcs12_uses(v, SECONDARY_EXEC_ENABLE_VPID) || !vm->vpid01)
		return;
	vtx_invvpid(vm->cpu, VMX_VPID_EXTENT_SINGLE_CONTEXT, L0_VPID01, 0);
	vm->stats.vpid01_flushes++;
}

void nested_events_flush_on_entry(struct l0_vm *vm)
{
	struct nvmx *n = vm->nvmx;

	nested_events_flush_l1(vm);

	if (n->cfg02.vpid02 == VPID02_NO_VPID12) {
		vtx_invvpid(vm->cpu, VMX_VPID_EXTENT_SINGLE_CONTEXT,
			    VPID02_NO_VPID12, 0);
		vm->stats.vpid02_flushes++;
	}
	if (n->ept02.resets != n->ept02_resets_seen) {
		n->ept02_resets_seen = n->ept02.resets;
		vtx_invept(vm->cpu, VMX_EPT_EXTENT_CONTEXT, n->cfg02.eptp);
	}
}

enum l0_exit_action
nested_events_after_emulation(struct l0_vm *vm, const struct nested_l2_exit *x,
			      enum l0_exit_action act)
{
	struct nested_exit_info e = x->info;

	if (act != EXIT_RESUME_SKIP_INSN || !vm->nvmx->guest_mode ||
	    !(vm->nvmx->vmcs12->cpu_based_vm_exec_control &
	      CPU_BASED_MONITOR_TRAP_FLAG))
		return act;
	l0_skip_insn(vm);
	/* SDM 28.2.1: no qualification; no event was being delivered. */
	e.reason = EXIT_REASON_MONITOR_TRAP_FLAG;
	e.qual = 0;
	e.intr_info = 0;
	e.idt_vectoring_info = 0;
	e.insn_len = 0;
	e.insn_info = 0;
	vm->stats.mtf_after_emulation++;
	return nested_reflect_vmexit(vm, &e);
}
