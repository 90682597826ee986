/* SPDX-License-Identifier: MIT */
/*
 * Guest entry point. The loader enters _start in 64-bit mode as
 * arch/bootinfo.h describes (RDI = boot information, RSP = a 16-byte
 * aligned stack, interrupts off); this clears BSS and calls rt_main() with
 * the System V AMD64 stack alignment. Guest side.
 */

	.section .text.entry, "ax"
	.globl _start
	.type _start, @function
_start:
	/* rep stosb uses RDI: keep the boot-info pointer in RDX meanwhile. */
	mov	%rdi, %rdx
	cld
	lea	__bss_start(%rip), %rdi
	lea	__bss_end(%rip), %rcx
	sub	%rdi, %rcx
	xor	%eax, %eax
	rep stosb
	mov	%rdx, %rdi

	/* The ABI wants RSP 16-byte aligned at each call instruction; the
	 * loader promises it, but a guest started some other way may not. */
	and	$-16, %rsp
	xor	%ebp, %ebp		/* terminate frame-pointer chains */
	call	rt_main

	/* rt_main does not return; should it, stop here for good. */
1:	cli
	hlt
	jmp	1b
	.size _start, . - _start

	.section .note.GNU-stack, "", @progbits
