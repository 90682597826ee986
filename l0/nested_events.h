/* SPDX-License-Identifier: MIT */
/*
 * nested_events.h - what L0 adds to the nested round trip for events and
 * for L2's translations: the exits of the event controls L1 may set
 * (interrupt and NMI windows, MTF, the VMX-preemption timer), an MTF exit
 * owed after an instruction L0 emulated for L2, and the vpid02 L2 runs
 * with and when it is flushed (SDM Vol. 3C 26.7, 27.7, 29.4.3). Monitor
 * side.
 */
#ifndef NESTVM_L0_NESTED_EVENTS_H
#define NESTVM_L0_NESTED_EVENTS_H

#include "l0/nvmx.h"

/*
 * Whether L1 asked for an exit of L2 caused by an event control or an
 * instruction those controls enable (INVPCID): *wants is set and true
 * returned for such a reason, false for any other (the caller decides).
 */
bool nested_events_l1_wants(const struct vmcs12 *v, uint32_t basic,
			    bool *wants);

/* The vpid02 for the current vmcs12 (VPID02_NO_VPID12 without VPID). */
uint16_t nested_events_vpid02(struct l0_vm *vm);

/*
 * At a nested entry, vmcs02 prepared with cfg02: flushes what L2 must
 * not see. Without VPID in vmcs12 a VM entry invalidates L2's mappings
 * (29.4.3.1): INVVPID single-context on its vpid02. After ept02 was
 * dropped its root may be reused: INVEPT on it, for the translations the
 * old tables left under a vpid02 that no VM entry flushes now.
 */
void nested_events_flush_on_entry(struct l0_vm *vm);

/*
 * At a nested entry and at the VM exit L0 gives L1: L1 is the host of
 * vmcs12, and without VPID in vmcs12 a VM entry or exit invalidates the
 * host's translations too (29.4.3.1). L1 runs on L0_VPID01, which no
 * transition flushes, so L0 does: INVVPID single-context on it.
 */
void nested_events_flush_l1(struct l0_vm *vm);

/*
 * After L0 handled an exit for L2 (act, vmcs02 current): when L0
 * completed L2's instruction (EXIT_RESUME_SKIP_INSN) and vmcs12 has the
 * monitor trap flag, the processor would have given L1 an MTF exit after
 * it (26.5.2): RIP is advanced here and that exit reflected. Otherwise
 * act is returned.
 */
enum l0_exit_action
nested_events_after_emulation(struct l0_vm *vm, const struct nested_l2_exit *x,
			      enum l0_exit_action act);

#endif
