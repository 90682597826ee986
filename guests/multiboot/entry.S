/* SPDX-License-Identifier: MIT */
/*
 * The multiboot kernel's entry: the Multiboot (0.6.96) header, then the
 * 32-bit protected-mode code a loader starts (EAX = 0x2BADB002, EBX = the
 * information block, paging off), which builds its own GDT and page
 * tables, enables PAE, EFER.LME and paging (SDM Vol. 3A 9.8.5) and far
 * jumps into 64-bit code that calls kmain(magic, info). Guest side.
 */

#define MB_MAGIC	0x1badb002
#define MB_FLAGS	0x00000003	/* page-aligned modules, memory info */

#define SEL_CODE64	0x08
#define SEL_DATA	0x10
#define SEL_CODE32	0x18

#define CR0_PG		0x80000000
#define CR4_PAE		0x00000020
#define MSR_EFER	0xc0000080
#define EFER_LME	0x00000100
#define PTE_P_RW	0x003
#define PDE_2M		0x083		/* P | RW | PS */

	.section .text.entry, "ax"
	.balign 4
mb_header:
	.long	MB_MAGIC
	.long	MB_FLAGS
	.long	-(MB_MAGIC + MB_FLAGS)

	.code32
	.globl	mb_entry32
	.type	mb_entry32, @function
mb_entry32:
	cli
	cld
	movl	%eax, mb_magic
	movl	%ebx, mb_info
	movl	$stack_top, %esp

	/* Our own GDT: the loader's may be gone once we touch memory. */
	lgdt	gdt_ptr
	ljmp	$SEL_CODE32, $1f
1:	movw	$SEL_DATA, %ax
	movw	%ax, %ds
	movw	%ax, %es
	movw	%ax, %ss
	movw	%ax, %fs
	movw	%ax, %gs

	/* Identity-map the first 1 GiB with 2 MiB pages: PML4[0] ->
	 * PDPT[0] -> one page directory of 512 large pages. The tables
	 * are in BSS, which the loader zeroed. */
	movl	$pdpt, %eax
	orl	$PTE_P_RW, %eax
	movl	%eax, pml4
	movl	$pd, %eax
	orl	$PTE_P_RW, %eax
	movl	%eax, pdpt
	xorl	%ecx, %ecx
2:	movl	%ecx, %eax
	shll	$21, %eax
	orl	$PDE_2M, %eax
	movl	%eax, pd(,%ecx,8)
	incl	%ecx
	cmpl	$512, %ecx
	jne	2b

	movl	%cr4, %eax
	orl	$CR4_PAE, %eax
	movl	%eax, %cr4
	movl	$pml4, %eax
	movl	%eax, %cr3
	movl	$MSR_EFER, %ecx
	rdmsr
	orl	$EFER_LME, %eax
	wrmsr
	/* Paging on with EFER.LME: IA-32e mode, still in 32-bit
	 * (compatibility) code until CS names a 64-bit segment. */
	movl	%cr0, %eax
	orl	$CR0_PG, %eax
	movl	%eax, %cr0
	ljmp	$SEL_CODE64, $long_entry
	.size	mb_entry32, . - mb_entry32

	.code64
long_entry:
	movw	$SEL_DATA, %ax
	movw	%ax, %ds
	movw	%ax, %es
	movw	%ax, %ss
	movq	$stack_top, %rsp
	xorl	%ebp, %ebp
	movl	mb_magic(%rip), %edi
	movl	mb_info(%rip), %esi
	call	kmain
3:	cli
	hlt
	jmp	3b

	.section .rodata
	.balign 8
gdt:
	.quad	0
	.quad	0x00af9b000000ffff	/* 0x08: 64-bit code, DPL 0 */
	.quad	0x00cf93000000ffff	/* 0x10: flat 4 GiB data */
	.quad	0x00cf9b000000ffff	/* 0x18: flat 4 GiB 32-bit code */
gdt_end:
gdt_ptr:
	.word	gdt_end - gdt - 1
	.long	gdt

	.section .bss
	.balign 4096
pml4:	.skip	4096
pdpt:	.skip	4096
pd:	.skip	4096
	.balign 16
	.skip	16384
stack_top:
	.globl	mb_magic
mb_magic:
	.skip	4
	.globl	mb_info
mb_info:
	.skip	4

	.section .note.GNU-stack, "", @progbits
