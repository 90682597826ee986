/* SPDX-License-Identifier: MIT */
/*
 * mb_entry.S - l1-shim as a multiboot (0.6.96) kernel: the header, and the
 * 32-bit protected-mode entry a multiboot loader starts (EAX = 0x2BADB002,
 * EBX = the information block, paging off). It loads its own GDT (64-bit
 * code, data, 32-bit code and a 64-bit TSS, as the nestvm boot contract
 * has them: VM exits need a usable TR, SDM Vol. 3C 26.2.3), identity-maps
 * the first 4 GiB with 2-MiB pages, enables PAE, EFER.LME/NXE and paging
 * (Vol. 3A 9.8.5) and calls mb_main() in 64-bit code. l1-shim side (L1).
 */

#define MB_MAGIC	0x1badb002
#define MB_FLAGS	0x00000003	/* page-aligned modules, memory info */

#define SEL_CODE64	0x08
#define SEL_DATA	0x10
#define SEL_CODE32	0x18
#define SEL_TSS		0x20

/* CR0 as the 64-bit boot contract has it (arch/boot_layout.h BOOT_CR0):
 * PE MP ET NE WP PG; VMXON needs NE (Vol. 3C 24.8, IA32_VMX_CR0_FIXED0). */
#define CR0_BOOT	0x80050033
#define CR4_PAE		0x00000020
#define MSR_EFER	0xc0000080
#define EFER_LME_NXE	0x00000900
#define PTE_P_RW	0x003
#define PDE_2M		0x083		/* P | RW | PS */
#define NR_PD		4		/* 4 GiB */
#define TSS_LIMIT	0x67		/* a 64-bit TSS, no I/O bitmap */

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
	movl	$mb_stack_top, %esp

	/* Our own GDT: the loader's may lie anywhere (Multiboot 3.2). */
	lgdt	mb_gdt_ptr
	ljmp	$SEL_CODE32, $1f
1:	movw	$SEL_DATA, %ax
	movw	%ax, %ds
	movw	%ax, %es
	movw	%ax, %ss
	movw	%ax, %fs
	movw	%ax, %gs

	/* PML4[0] -> PDPT, PDPT[0..3] -> four page directories of 512
	 * 2-MiB pages each. The tables are in BSS, which the loader
	 * zeroed (Multiboot 3.1.3: the ELF segments' memsz). */
	movl	$mb_pdpt, %eax
	orl	$PTE_P_RW, %eax
	movl	%eax, mb_pml4
	xorl	%ecx, %ecx
2:	movl	%ecx, %eax
	shll	$12, %eax
	addl	$mb_pd, %eax
	orl	$PTE_P_RW, %eax
	movl	%eax, mb_pdpt(,%ecx,8)
	incl	%ecx
	cmpl	$NR_PD, %ecx
	jne	2b
	/* PDE i maps 2 MiB at i << 21; bits 63:32 of the address go to
	 * the entry's high word (i >> 11). */
	xorl	%ecx, %ecx
3:	movl	%ecx, %eax
	shll	$21, %eax
	orl	$PDE_2M, %eax
	movl	%eax, mb_pd(,%ecx,8)
	movl	%ecx, %eax
	shrl	$11, %eax
	movl	%eax, mb_pd+4(,%ecx,8)
	incl	%ecx
	cmpl	$(512 * NR_PD), %ecx
	jne	3b

	movl	%cr4, %eax
	orl	$CR4_PAE, %eax
	movl	%eax, %cr4
	movl	$mb_pml4, %eax
	movl	%eax, %cr3
	movl	$MSR_EFER, %ecx
	rdmsr
	orl	$EFER_LME_NXE, %eax
	wrmsr
	/* Paging on with EFER.LME: IA-32e mode, in compatibility mode
	 * until the far jump loads a 64-bit CS. */
	movl	%cr0, %eax
	orl	$CR0_BOOT, %eax
	movl	%eax, %cr0
	ljmp	$SEL_CODE64, $mb_entry64
	.size	mb_entry32, . - mb_entry32

	.code64
mb_entry64:
	movw	$SEL_DATA, %ax
	movw	%ax, %ds
	movw	%ax, %es
	movw	%ax, %ss
	movw	%ax, %fs
	movw	%ax, %gs
	movq	$mb_stack_top, %rsp

	/* The TSS descriptor's base is split over three fields (Vol. 3A
	 * 8.2.3, Figure 8-4): write it now that the address is known. */
	movl	$mb_tss, %eax
	movw	%ax, mb_gdt + SEL_TSS + 2
	shrl	$16, %eax
	movb	%al, mb_gdt + SEL_TSS + 4
	movb	%ah, mb_gdt + SEL_TSS + 7
	movw	$SEL_TSS, %ax
	ltr	%ax

	xorl	%ebp, %ebp
	movl	mb_magic(%rip), %edi
	movl	mb_info(%rip), %esi
	call	mb_main
4:	cli
	hlt
	jmp	4b

	/* Writable: LTR sets the busy bit and the base is filled above. */
	.section .data
	.balign 8
mb_gdt:
	.quad	0
	.quad	0x00af9b000000ffff	/* 0x08: 64-bit code, DPL 0 */
	.quad	0x00cf93000000ffff	/* 0x10: flat 4 GiB data */
	.quad	0x00cf9b000000ffff	/* 0x18: flat 4 GiB 32-bit code */
	.quad	0x0000890000000000 + TSS_LIMIT	/* 0x20: 64-bit TSS */
	.quad	0			/* its base[63:32] */
mb_gdt_end:
mb_gdt_ptr:
	.word	mb_gdt_end - mb_gdt - 1
	.long	mb_gdt

	.section .bss
	.balign 4096
mb_pml4:	.skip	4096
mb_pdpt:	.skip	4096
mb_pd:		.skip	4096 * NR_PD
	.balign 16
mb_tss:		.skip	TSS_LIMIT + 1
	.balign 16
	.skip	65536
mb_stack_top:
mb_magic:	.skip	4
mb_info:	.skip	4

	.section .note.GNU-stack, "", @progbits
