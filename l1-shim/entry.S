/* SPDX-License-Identifier: MIT */
/*
 * entry.S - l1-shim's world switch: load L2's general registers and
 * VMLAUNCH or VMRESUME (SDM Vol. 3C 27.1-27.3, 31.4 for the VMfail
 * conventions), and the HOST_RIP stub that saves them again after a VM
 * exit (28.5: the processor loads only RSP and RIP of the host's registers,
 * and clears RFLAGS but bit 1). l1-shim side (L1), KVM's split.
 */
#include "l1-shim/entry.h"

	.section .bss
	.balign 16
l1_exit_stack:
	.skip	L1_EXIT_STACK_SIZE
	.globl	l1_exit_stack_top
l1_exit_stack_top:
	/* l1_vmx_run's stack pointer while L2 runs: the stub returns there. */
l1_saved_rsp:
	.skip	8

	.text
	.globl	l1_vmx_run
	.type	l1_vmx_run, @function
/* int l1_vmx_run(uint64_t *gprs (RDI), int launched (ESI)) */
l1_vmx_run:
	push	%rbp
	push	%rbx
	push	%r12
	push	%r13
	push	%r14
	push	%r15
	push	%rdi			/* the exit stub finds gprs here */
	mov	%rsp, l1_saved_rsp(%rip)

	/* MOV leaves the flags alone: ZF still tells VMLAUNCH from
	 * VMRESUME once every register holds L2's value. */
	test	%esi, %esi
	mov	L1_GPR_RAX(%rdi), %rax
	mov	L1_GPR_RCX(%rdi), %rcx
	mov	L1_GPR_RDX(%rdi), %rdx
	mov	L1_GPR_RBX(%rdi), %rbx
	mov	L1_GPR_RBP(%rdi), %rbp
	mov	L1_GPR_RSI(%rdi), %rsi
	mov	L1_GPR_R8(%rdi), %r8
	mov	L1_GPR_R9(%rdi), %r9
	mov	L1_GPR_R10(%rdi), %r10
	mov	L1_GPR_R11(%rdi), %r11
	mov	L1_GPR_R12(%rdi), %r12
	mov	L1_GPR_R13(%rdi), %r13
	mov	L1_GPR_R14(%rdi), %r14
	mov	L1_GPR_R15(%rdi), %r15
	mov	L1_GPR_RDI(%rdi), %rdi
	jnz	1f
	vmlaunch
	jmp	2f
1:	vmresume

	/* Only a failed VM entry gets here, RSP unchanged: CF = 1 is
	 * VMfailInvalid, ZF = 1 VMfailValid (SDM 31.2). */
2:	jc	3f
	mov	$L1_RUN_FAIL_VALID, %eax
	jmp	4f
3:	mov	$L1_RUN_FAIL_INVALID, %eax
4:	pop	%rdi
	pop	%r15
	pop	%r14
	pop	%r13
	pop	%r12
	pop	%rbx
	pop	%rbp
	ret
	.size	l1_vmx_run, . - l1_vmx_run

	.globl	l1_vmx_exit
	.type	l1_vmx_exit, @function
/*
 * HOST_RIP. RSP = l1_exit_stack_top, every other register still holds
 * L2's value: park RDI on the exit stack to get a base register, store the
 * rest into gprs, then return from l1_vmx_run on its own stack.
 */
l1_vmx_exit:
	push	%rdi
	mov	l1_saved_rsp(%rip), %rdi
	mov	(%rdi), %rdi
	mov	%rax, L1_GPR_RAX(%rdi)
	mov	%rcx, L1_GPR_RCX(%rdi)
	mov	%rdx, L1_GPR_RDX(%rdi)
	mov	%rbx, L1_GPR_RBX(%rdi)
	mov	%rbp, L1_GPR_RBP(%rdi)
	mov	%rsi, L1_GPR_RSI(%rdi)
	mov	%r8, L1_GPR_R8(%rdi)
	mov	%r9, L1_GPR_R9(%rdi)
	mov	%r10, L1_GPR_R10(%rdi)
	mov	%r11, L1_GPR_R11(%rdi)
	mov	%r12, L1_GPR_R12(%rdi)
	mov	%r13, L1_GPR_R13(%rdi)
	mov	%r14, L1_GPR_R14(%rdi)
	mov	%r15, L1_GPR_R15(%rdi)
	popq	L1_GPR_RDI(%rdi)

	mov	l1_saved_rsp(%rip), %rsp
	xor	%eax, %eax		/* L1_RUN_EXITED */
	jmp	4b
	.size	l1_vmx_exit, . - l1_vmx_exit

	.section .note.GNU-stack, "", @progbits
