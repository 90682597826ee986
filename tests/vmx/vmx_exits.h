/* SPDX-License-Identifier: MIT */
/*
 * vmx_exits.h - what the two halves of the exit-condition program share:
 * guest snippets as a value, and the checks "exits at the instruction" and
 * "does not exit" (SDM Vol. 3C 26.1-26.2, 28.2). vmx_exits.c covers the
 * instruction exits, vmx_exits_events.c exceptions, event injection,
 * triple fault and EPT. Guest side (runs as a hypervisor).
 */
#ifndef NESTVM_TESTS_VMX_VMX_EXITS_H
#define NESTVM_TESTS_VMX_VMX_EXITS_H

#include "tests/vmx/lib.h"

/* A VMXT_GUEST() snippet. */
struct snip {
	const char *start, *insn, *end, *done;
};

#define SNIP(g) ((struct snip){ g, g##_insn, g##_end, g##_done })

/* Runs the baseline VMCS changed by the caller with the guest at s.start;
 * the exit must be @reason at s.insn, with the instruction's length and
 * qualification @qual, plus the parts @what of @want (instruction
 * information under @info_mask, interruption information, ...). */
void exits_expect(const char *name, struct snip s, uint32_t reason,
		  uint64_t qual, unsigned int what, uint32_t info_mask,
		  const struct vmxt_exit *want);
/* The same for exits that define no qualification and no length beyond
 * the instruction's. */
void exits_expect_insn(const char *name, struct snip s, uint32_t reason,
		       uint64_t qual);
/* The instruction did not exit: the guest reached its VMCALL. */
void exits_expect_no_exit(const char *name, struct snip s);

/* vmx_exits_events.c */
void exits_test_exceptions(void);
void exits_test_injection(void);
void exits_test_triple_fault(void);
void exits_test_ept(void);

#endif /* NESTVM_TESTS_VMX_VMX_EXITS_H */
