/* SPDX-License-Identifier: MIT */
/*
 * lib_entry.S - the world switch of the VMX test programs: VMLAUNCH or
 * VMRESUME with HOST_RSP at the caller's frame (SDM Vol. 3C 27.1, 31.2 for
 * the VMfail flags), the HOST_RIP stub that returns from it after a VM
 * exit (28.5: only RSP and RIP of the host registers are loaded), and the
 * guest's exception stubs, which record what was delivered and end in a
 * VMCALL. Guest side (runs as a hypervisor).
 */

#define HOST_RSP_ENCODING	0x6c14
/* The vectors with an error code (SDM Vol. 3A Table 6-1). */
#define ERROR_CODE_VECTORS	0x00227d00

	.text

/*
 * int vmxt_enter_asm(int resume (EDI), int mov_ss (ESI))
 * 0: a VM exit came back through vmxt_host_rip; 1: VMfailInvalid;
 * 2: VMfailValid; 3: the instruction faulted (the host IDT handler
 * resumed at the fixup). With mov_ss, MOV SS precedes VMLAUNCH, so that
 * the entry happens while blocked by MOV SS.
 */
	.globl	vmxt_enter_asm
	.type	vmxt_enter_asm, @function
vmxt_enter_asm:
	push	%rbp
	push	%rbx
	push	%r12
	push	%r13
	push	%r14
	push	%r15
	lea	3f(%rip), %r11
	mov	%r11, vmxt_fixup_rip(%rip)
	/* A VM exit resumes on this very stack frame. */
	mov	$HOST_RSP_ENCODING, %eax
	vmwrite	%rsp, %rax
	test	%esi, %esi
	jnz	5f
	test	%edi, %edi
	jnz	1f
	vmlaunch
	jmp	2f
1:	vmresume
	jmp	2f
5:	mov	%ss, %eax
	mov	%eax, %ss
	vmlaunch
	/* Only a failed VM entry gets here (MOV does not touch the flags). */
2:	movq	$0, vmxt_fixup_rip(%rip)
	mov	$1, %eax
	jc	4f
	mov	$2, %eax
	jmp	4f
	/* The host IDT handler resumes here after a fault. */
3:	mov	$3, %eax
	jmp	4f

/* HOST_RIP: RSP is the frame vmxt_enter_asm left; RFLAGS is 0x2. */
	.globl	vmxt_host_rip
vmxt_host_rip:
	movq	$0, vmxt_fixup_rip(%rip)
	xor	%eax, %eax
4:	pop	%r15
	pop	%r14
	pop	%r13
	pop	%r12
	pop	%rbx
	pop	%rbp
	ret
	.size	vmxt_enter_asm, . - vmxt_enter_asm

/* A guest that stops at once. */
	.globl	vmxt_guest_vmcall
vmxt_guest_vmcall:
	vmcall
	ud2

/*
 * The guest's exception stubs, 16 bytes apart: vectors 0-31, then slot 32
 * for vector 0x30 (a software-interrupt target). Each pushes ~0 where the
 * processor pushes no error code, then its vector.
 */
	.p2align 4
	.globl	vmxt_guest_stubs
vmxt_guest_stubs:
	.set	vec, 0
	.rept	33
	.org	vmxt_guest_stubs + vec * 16, 0xcc
	.if	vec >= 32
	pushq	$-1
	pushq	$0x30
	.else
	.if	((ERROR_CODE_VECTORS >> vec) & 1) == 0
	pushq	$-1
	.endif
	pushq	$vec
	.endif
	jmp	vmxt_guest_exc_common
	.set	vec, vec + 1
	.endr
	.org	vmxt_guest_stubs + 33 * 16, 0xcc

/* Records vector, error code and return RIP in vmxt_guest_exc. */
vmxt_guest_exc_common:
	popq	vmxt_guest_exc(%rip)
	popq	vmxt_guest_exc+8(%rip)
	push	%rax
	mov	8(%rsp), %rax
	mov	%rax, vmxt_guest_exc+16(%rip)
	pop	%rax
	vmcall
	ud2

	.section .note.GNU-stack, "", @progbits
