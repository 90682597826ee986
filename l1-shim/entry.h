/* SPDX-License-Identifier: MIT */
/*
 * entry.h - the interface of entry.S: where L2's general registers live
 * while l1-shim runs, and the VMLAUNCH/VMRESUME routine with its VM-exit
 * stub (SDM Vol. 3C 27.1 VM entry, 28.5 loading host state on VM exit).
 * l1-shim side (L1); included by entry.S, so the upper part is plain
 * preprocessor.
 */
#ifndef NESTVM_L1_SHIM_ENTRY_H
#define NESTVM_L1_SHIM_ENTRY_H

/*
 * L2's general registers are an array of 16 uint64_t indexed by the GPR
 * number of enum x86_gpr (arch/x86_regs.h), the numbering every exit
 * qualification uses. Slot 4 (RSP) is unused: RSP is guest state in the
 * VMCS (GUEST_RSP); VM entry loads it and VM exit saves it.
 */
#define L1_GPR_RAX 0
#define L1_GPR_RCX 8
#define L1_GPR_RDX 16
#define L1_GPR_RBX 24
#define L1_GPR_RBP 40
#define L1_GPR_RSI 48
#define L1_GPR_RDI 56
#define L1_GPR_R8 64
#define L1_GPR_R9 72
#define L1_GPR_R10 80
#define L1_GPR_R11 88
#define L1_GPR_R12 96
#define L1_GPR_R13 104
#define L1_GPR_R14 112
#define L1_GPR_R15 120

/* The stack HOST_RSP points at: the exit stub needs 8 bytes of it. */
#define L1_EXIT_STACK_SIZE 256

/* What l1_vmx_run() returns. */
#define L1_RUN_EXITED 0 /* a VM exit happened (or a VM-entry failure exit) */
#define L1_RUN_FAIL_INVALID 1 /* VMfailInvalid: CF was set */
#define L1_RUN_FAIL_VALID 2 /* VMfailValid: ZF was set */

#ifndef __ASSEMBLER__

#include "arch/types.h"

/*
 * Loads L2's registers from @gprs and enters L2 with VMLAUNCH when
 * @launched is 0, VMRESUME otherwise. After the next VM exit the stub at
 * HOST_RIP stores L2's registers back into @gprs and returns
 * L1_RUN_EXITED; a VMLAUNCH or VMRESUME that fails returns
 * L1_RUN_FAIL_INVALID or L1_RUN_FAIL_VALID with @gprs untouched. The
 * current VMCS must hold HOST_RIP = l1_vmx_exit and HOST_RSP =
 * l1_exit_stack_top. The callee-saved registers survive either way.
 */
int l1_vmx_run(uint64_t *gprs, int launched);

/* HOST_RIP: the VM-exit stub. Never called from C. */
void l1_vmx_exit(void);

/* HOST_RSP: the top of the stack the exit stub runs on. */
extern char l1_exit_stack_top[];

#endif /* __ASSEMBLER__ */

#endif /* NESTVM_L1_SHIM_ENTRY_H */
