/* SPDX-License-Identifier: MIT */
/*
 * boot.S - the boot loader of a mkbochsimg disk (tools/bochs/bochsimg.h):
 * BIOS boot sector, then real mode with INT 13h extensions and trips to
 * 32-bit protected mode to copy the guest's memory into place (SDM Vol. 3A
 * 10.9.1, 10.9.2), then IA-32e mode with the guest's own page tables, GDT
 * and TSS (10.8.5), leaving the vCPU state nestvm's boot contract gives.
 * Runs under Bochs, before the guest; linked at BOCHSIMG_LOAD_ADDR.
 *
 * Failures print "bochs-loader: <why>" on port 0xe9 (Bochs' debug console)
 * and shut Bochs down through port 0x8900, so that bochs-run reports them.
 */
#include "tools/bochs/bochsimg.h"

/* The loader's own GDT (the guest's comes later, from the header). */
#define LDR_CODE32 0x08
#define LDR_DATA32 0x10
#define LDR_CODE16 0x18
#define LDR_DATA16 0x20

#define CR0_PE 0x1
#define MSR_EFER 0xc0000080
#define EFER_LMA 0x400
#define DESC_TYPE_TSS_BUSY 0x02 /* in the descriptor's type byte (byte 5) */

/* A segment descriptor from base, 20-bit limit, access byte and flags. */
#define DESC(base, limit, access, flags)                                  \
	(((limit) & 0xffff) | (((base) & 0xffffff) << 16) |              \
	 ((access) << 40) | ((((limit) >> 16) & 0xf) << 48) |            \
	 ((flags) << 52) | ((((base) >> 24) & 0xff) << 56))

/* Real-mode code addresses everything from its segment base; both copies
 * (0x07c0:0 and BOCHSIMG_LOAD_SEG:0) have the same layout. */
#define OFF(sym) ((sym) - _start)
#define HDR_OFF (BOCHSIMG_HEADER_ADDR - BOCHSIMG_LOAD_ADDR)
#define HDR(field) (HDR_OFF + BOCHSIMG_H_##field)
/* Offsets inside the trampoline, which runs from wherever it is copied. */
#define OFF_T(sym) ((sym) - tramp_start)

/* A 64-bit header field (EBP-relative) into a trampoline slot (EBX). */
.macro copy64 field, slot
	mov	\field(%ebp), %eax
	mov	%eax, OFF_T(\slot)(%ebx)
	mov	\field + 4(%ebp), %eax
	mov	%eax, OFF_T(\slot) + 4(%ebx)
.endm

	.text
	.code16
	.globl _start
_start:
	/* The BIOS jumps to 0:0x7c00 or 0x07c0:0; make it the latter. */
	cli
	cld
	ljmp	$0x07c0, $OFF(stage1)

stage1:
	mov	%cs, %ax
	mov	%ax, %ds
	mov	$BOCHSIMG_LOAD_SEG, %ax
	mov	%ax, %ss
	mov	$BOCHSIMG_STACK_OFF, %sp
	sti

	/* INT 13h extensions: BX = AA55h back and CX bit 0 (packet
	 * access) set. Bochs' BIOS has them for hard disks. */
	push	%dx
	mov	$0x41, %ah
	mov	$0x55aa, %bx
	int	$0x13
	pop	%dx
	jc	no_ext
	cmp	$0xaa55, %bx
	jne	no_ext
	test	$1, %cl
	jz	no_ext

	/* This sector, the rest of the loader and the header, to
	 * BOCHSIMG_LOAD_SEG:0, out of the way of the guest's boot area. */
	mov	$OFF(stage1_dap), %si
	mov	$0x42, %ah
	push	%dx
	int	$0x13
	pop	%dx
	jc	read_failed
	ljmp	$BOCHSIMG_LOAD_SEG, $OFF(stage2)

no_ext:
	mov	$OFF(msg_no_ext), %si
	jmp	fail
read_failed:
	mov	$OFF(msg_read), %si
	jmp	fail
bad_header:
	mov	$OFF(msg_header), %si
	jmp	fail
no_a20:
	mov	$OFF(msg_a20), %si
	/* fall through */

/* Prints "bochs-loader: " and the message at DS:SI on port 0xe9, then
 * writes "Shutdown" to port 0x8900, which ends Bochs. */
fail:
	cli
	cld
	push	%si
	mov	$OFF(msg_prefix), %si
	call	puts_e9
	pop	%si
	call	puts_e9
	mov	$'\n', %al
	out	%al, $0xe9
	mov	$OFF(msg_shutdown), %si
	mov	$0x8900, %dx
1:	lodsb
	test	%al, %al
	jz	2f
	out	%al, %dx
	jmp	1b
2:	hlt
	jmp	2b

puts_e9:
	lodsb
	test	%al, %al
	jz	1f
	out	%al, $0xe9
	jmp	puts_e9
1:	ret

	.balign 4
stage1_dap:			/* INT 13h AH=42h disk address packet */
	.byte	16, 0
	.word	BOCHSIMG_HEADER_LBA + 1	/* sectors */
	.word	0, BOCHSIMG_LOAD_SEG	/* offset, segment */
	.quad	0			/* LBA */

msg_prefix:	.asciz "bochs-loader: "
msg_no_ext:	.asciz "the BIOS has no INT 13h extensions"
msg_read:	.asciz "disk read failed"
msg_header:	.asciz "bad image header"
msg_a20:	.asciz "the A20 gate did not open"
msg_shutdown:	.asciz "Shutdown"

	/* Where the loader is linked, for mkbochsimg to check against
	 * BOCHSIMG_LOAD_ADDR: absolute addresses depend on it. */
	.org	BOCHSIMG_LINK_CHECK
	.long	_start
	.word	0xaa55

/* ---- stage 2: real mode at BOCHSIMG_LOAD_SEG:0 --------------------------- */

stage2:
	mov	%cs, %ax
	mov	%ax, %ds
	mov	%ax, %es
	mov	%dl, OFF(boot_drive)

	cmpl	$BOCHSIMG_MAGIC_LO, HDR(MAGIC)
	jne	bad_header
	cmpl	$BOCHSIMG_MAGIC_HI, HDR(MAGIC) + 4
	jne	bad_header
	cmpl	$BOCHSIMG_VERSION, HDR(VERSION)
	jne	bad_header
	cmpl	$BOCHSIMG_RANGES_MAX, HDR(NR_RANGES)
	ja	bad_header

	call	a20_enable

	/* Each range: read it in bounce-buffer chunks, copy each chunk to
	 * its destination from protected mode. The state lives in memory
	 * so that nothing depends on what the BIOS preserves. */
	movw	$HDR(RANGES), OFF(range_ptr)
	mov	HDR(NR_RANGES), %ax
	mov	%ax, OFF(ranges_left)
next_range:
	cmpw	$0, OFF(ranges_left)
	je	ranges_done
	mov	OFF(range_ptr), %bx
	cmpl	$0, BOCHSIMG_R_DEST + 4(%bx)
	jne	bad_header
	mov	BOCHSIMG_R_DEST(%bx), %eax
	mov	%eax, OFF(cur_dest)
	mov	BOCHSIMG_R_LBA(%bx), %eax
	mov	%eax, OFF(dap_lba)
	mov	BOCHSIMG_R_SECTORS(%bx), %eax
	mov	%eax, OFF(cur_left)
next_chunk:
	mov	OFF(cur_left), %eax
	test	%eax, %eax
	jz	range_done
	cmp	$BOCHSIMG_BOUNCE_SECTORS, %eax
	jbe	1f
	mov	$BOCHSIMG_BOUNCE_SECTORS, %eax
1:	mov	%ax, OFF(chunk)
	mov	%ax, OFF(dap_count)
	mov	$OFF(dap), %si
	mov	OFF(boot_drive), %dl
	mov	$0x42, %ah
	int	$0x13
	jc	read_failed
	movzwl	OFF(chunk), %ecx
	sub	%ecx, OFF(cur_left)
	add	%ecx, OFF(dap_lba)
	shl	$7, %ecx		/* 512-byte sectors to dwords */
	mov	$BOCHSIMG_BOUNCE_ADDR, %esi
	mov	OFF(cur_dest), %edi
	call	pm_copy
	movzwl	OFF(chunk), %eax
	shl	$9, %eax
	add	%eax, OFF(cur_dest)
	jmp	next_chunk
range_done:
	addw	$BOCHSIMG_R_SIZE, OFF(range_ptr)
	decw	OFF(ranges_left)
	jmp	next_range

ranges_done:
	cli
	call	chipset_open_ram
	call	uart_setup
	/* Mask both PICs: nestvm has no interrupt controller a guest could
	 * unmask, and the BIOS left the timer on. */
	mov	$0xff, %al
	out	%al, $0xa1
	out	%al, $0x21
	lgdtl	OFF(ldr_gdtr)
	mov	%cr0, %eax
	or	$CR0_PE, %eax
	mov	%eax, %cr0
	ljmpl	$LDR_CODE32, $final32

/* Fast A20 (port 0x92) after asking the BIOS; checked by writing through
 * 0xffff:0x0510, which wraps to 0:0x0500 while A20 is masked. */
a20_enable:
	mov	$0x2401, %ax
	int	$0x15
	in	$0x92, %al
	or	$0x02, %al
	and	$0xfe, %al		/* bit 0 would reset the machine */
	out	%al, $0x92
	push	%ds
	push	%es
	xor	%ax, %ax
	mov	%ax, %ds
	mov	$0xffff, %ax
	mov	%ax, %es
	mov	0x0500, %bl
	movb	$0x00, 0x0500
	movb	$0xff, %es:0x0510
	mov	0x0500, %al
	mov	%bl, 0x0500
	pop	%es
	pop	%ds
	cmp	$0xff, %al
	je	no_a20
	ret

/*
 * Copies ECX dwords from linear ESI to linear EDI in 32-bit protected mode
 * and comes back to real mode. Interrupts stay off in between and the
 * stack is not touched there, so SS keeps its real-mode value.
 */
pm_copy:
	cli
	lgdtl	OFF(ldr_gdtr)
	mov	%cr0, %eax
	or	$CR0_PE, %eax
	mov	%eax, %cr0
	ljmpl	$LDR_CODE32, $pm_copy32
	.code32
pm_copy32:
	mov	$LDR_DATA32, %ax
	mov	%ax, %ds
	mov	%ax, %es
	rep movsl
	ljmp	$LDR_CODE16, $OFF(pm_copy16)
	.code16
pm_copy16:
	/* 64 KiB limits, as real mode expects, before PE goes. */
	mov	$LDR_DATA16, %ax
	mov	%ax, %ds
	mov	%ax, %es
	mov	%cr0, %eax
	and	$~CR0_PE, %eax
	mov	%eax, %cr0
	ljmp	$BOCHSIMG_LOAD_SEG, $OFF(pm_copy_rm)
pm_copy_rm:
	mov	%cs, %ax
	mov	%ax, %ds
	mov	%ax, %es
	sti
	ret

/*
 * The boot contract's stack is [0x60000, 0x100000), but on a PC 0xa0000-
 * 0xfffff is VGA memory and ROM. Bochs' i440FX host bridge maps it to RAM:
 * PAM registers 0x59-0x5f = read/write DRAM for 0xc0000-0xfffff, SMRAM
 * control 0x72 = SMRAME | D_OPEN | C_BASE_SEG 010b for 0xa0000-0xbffff
 * (the 82441FX PMC's configuration registers, reached through PCI
 * configuration mechanism #1).
 */
chipset_open_ram:
	mov	$0x80000058, %eax	/* bus 0, device 0, function 0 */
	mov	$0xcf8, %dx
	out	%eax, %dx
	mov	$0xcfc, %dx
	in	%dx, %eax
	and	$0x00000fff, %eax	/* keep 0x58 and PAM0's low nibble */
	or	$0x33333000, %eax
	out	%eax, %dx
	mov	$0x8000005c, %eax
	mov	$0xcf8, %dx
	out	%eax, %dx
	mov	$0xcfc, %dx
	mov	$0x33333333, %eax
	out	%eax, %dx
	mov	$0x80000070, %eax
	mov	$0xcf8, %dx
	out	%eax, %dx
	mov	$0xcfc, %dx
	in	%dx, %eax
	and	$0xff00ffff, %eax
	or	$0x004a0000, %eax
	out	%eax, %dx
	ret

/*
 * COM1 at 115200 baud, 8 data bits, no parity, 1 stop bit, as firmware with
 * a serial console leaves it. A 16550 comes out of reset sending 5-bit
 * characters, and the guests never program the line: nestvm's UART sends
 * 8 bits whatever the line control says.
 */
#define UART_BASE 0x3f8
#define UART_LCR_DLAB 0x80
#define UART_LCR_8N1 0x03
uart_setup:
	mov	$UART_BASE + 3, %dx	/* LCR */
	mov	$UART_LCR_DLAB, %al
	out	%al, %dx
	mov	$UART_BASE + 0, %dx	/* divisor latch, low: 115200 / 1 */
	mov	$1, %al
	out	%al, %dx
	mov	$UART_BASE + 1, %dx	/* divisor latch, high */
	xor	%al, %al
	out	%al, %dx
	mov	$UART_BASE + 3, %dx
	mov	$UART_LCR_8N1, %al
	out	%al, %dx
	ret

/* ---- 32-bit protected mode, no paging: the last steps ------------------- */

	.code32
final32:
	mov	$LDR_DATA32, %ax
	mov	%ax, %ds
	mov	%ax, %es
	mov	%ax, %ss
	mov	$BOCHSIMG_LOAD_ADDR + BOCHSIMG_STACK_OFF, %esp
	mov	$BOCHSIMG_HEADER_ADDR, %ebp

	/* The contract's free RAM is zero; the BIOS left tables at its top
	 * (bochsimg.h). On request, check that the rest is zero too. */
	testw	$BOCHSIMG_F_CHECK_ZERO, BOCHSIMG_H_FLAGS(%ebp)
	jz	1f
	mov	BOCHSIMG_H_FREE_START(%ebp), %edi
	mov	BOCHSIMG_H_ZERO_START(%ebp), %ecx
	sub	%edi, %ecx
	shr	$2, %ecx
	xor	%eax, %eax
	repe scasl
	mov	$msg_not_zero, %esi
	jne	fail32
1:	mov	BOCHSIMG_H_ZERO_START(%ebp), %edi
	mov	BOCHSIMG_H_ZERO_END(%ebp), %ecx
	sub	%edi, %ecx
	shr	$2, %ecx
	xor	%eax, %eax
	rep stosl

	/* The trampoline and its operands, then the guest's GDT copy. */
	mov	BOCHSIMG_H_TRAMPOLINE(%ebp), %ebx
	mov	$tramp_start, %esi
	mov	%ebx, %edi
	mov	$BOCHSIMG_TRAMP_GDT, %ecx
	rep movsb
	mov	BOCHSIMG_H_GDT_BASE(%ebp), %esi
	lea	BOCHSIMG_TRAMP_GDT(%ebx), %edi
	movzwl	BOCHSIMG_H_GDT_LIMIT(%ebp), %ecx
	inc	%ecx
	rep movsb

	mov	BOCHSIMG_H_GDT_LIMIT(%ebp), %ax
	mov	%ax, OFF_T(tramp_gdtr32)(%ebx)
	lea	BOCHSIMG_TRAMP_GDT(%ebx), %eax
	mov	%eax, OFF_T(tramp_gdtr32) + 2(%ebx)
	lea	OFF_T(tramp64)(%ebx), %eax
	mov	%eax, OFF_T(tramp_farptr)(%ebx)
	mov	BOCHSIMG_H_SEL_CS(%ebp), %ax
	mov	%ax, OFF_T(tramp_farptr) + 4(%ebx)
	mov	BOCHSIMG_H_CR0(%ebp), %eax
	mov	%eax, OFF_T(tramp_cr0)(%ebx)
	mov	BOCHSIMG_H_GDT_LIMIT(%ebp), %ax
	mov	%ax, OFF_T(tramp_gdtr64)(%ebx)
	mov	BOCHSIMG_H_GDT_BASE(%ebp), %eax
	mov	%eax, OFF_T(tramp_gdtr64) + 2(%ebx)
	mov	BOCHSIMG_H_GDT_BASE + 4(%ebp), %eax
	mov	%eax, OFF_T(tramp_gdtr64) + 6(%ebx)
	mov	BOCHSIMG_H_IDT_LIMIT(%ebp), %ax
	mov	%ax, OFF_T(tramp_idtr64)(%ebx)
	mov	BOCHSIMG_H_IDT_BASE(%ebp), %eax
	mov	%eax, OFF_T(tramp_idtr64) + 2(%ebx)
	mov	BOCHSIMG_H_IDT_BASE + 4(%ebp), %eax
	mov	%eax, OFF_T(tramp_idtr64) + 6(%ebx)
	copy64	BOCHSIMG_H_RSP, tramp_rsp
	copy64	BOCHSIMG_H_RDI, tramp_rdi
	copy64	BOCHSIMG_H_RIP, tramp_rip
	copy64	BOCHSIMG_H_RFLAGS, tramp_rflags

	/*
	 * The guest's GDT, and what is loaded from it while paging is off,
	 * so that these descriptor reads set no accessed bits in the guest's
	 * page tables. LTR needs an available TSS and marks it busy (SDM
	 * 8.2.4): clear the busy bit the contract's descriptor carries, and
	 * LTR puts it back. In legacy mode LTR reads 8 bytes; the upper half
	 * of the 16-byte descriptor holds base 63:32, which is 0 below 4 GiB.
	 */
	mov	BOCHSIMG_H_GDT_LIMIT(%ebp), %ax
	mov	%ax, guest_gdtr32
	mov	BOCHSIMG_H_GDT_BASE(%ebp), %eax
	mov	%eax, guest_gdtr32 + 2
	lgdt	guest_gdtr32
	movzwl	BOCHSIMG_H_SEL_TR(%ebp), %eax
	and	$~7, %eax
	add	BOCHSIMG_H_GDT_BASE(%ebp), %eax
	andb	$~DESC_TYPE_TSS_BUSY, 5(%eax)
	ltr	BOCHSIMG_H_SEL_TR(%ebp)
	xor	%eax, %eax
	lldt	%ax

	mov	BOCHSIMG_H_CR4(%ebp), %eax
	mov	%eax, %cr4
	mov	BOCHSIMG_H_CR3(%ebp), %eax
	mov	%eax, %cr3
	/* LME now; the processor sets LMA when paging comes on. */
	mov	$MSR_EFER, %ecx
	mov	BOCHSIMG_H_EFER(%ebp), %eax
	and	$~EFER_LMA, %eax
	mov	BOCHSIMG_H_EFER + 4(%ebp), %edx
	wrmsr

	/* The data segments last (DS last of all): the contract's are flat,
	 * so EBX still addresses the trampoline. */
	mov	BOCHSIMG_H_SEL_ES(%ebp), %es
	mov	BOCHSIMG_H_SEL_FS(%ebp), %fs
	mov	BOCHSIMG_H_SEL_GS(%ebp), %gs
	mov	BOCHSIMG_H_SEL_SS(%ebp), %ss
	mov	BOCHSIMG_H_SEL_DS(%ebp), %ds
	jmp	*%ebx

/* fail, from protected mode: ESI = linear address of the message. */
fail32:
	push	%esi
	mov	$msg_prefix, %esi
	call	puts32_e9
	pop	%esi
	call	puts32_e9
	mov	$'\n', %al
	out	%al, $0xe9
	mov	$msg_shutdown, %esi
	mov	$0x8900, %dx
1:	lodsb
	test	%al, %al
	jz	2f
	out	%al, %dx
	jmp	1b
2:	hlt
	jmp	2b

puts32_e9:
	lodsb
	test	%al, %al
	jz	1f
	out	%al, $0xe9
	jmp	puts32_e9
1:	ret

msg_not_zero:	.asciz "free RAM below the zeroed top is not zero"

	.balign 8
ldr_gdt:
	.quad	0
	.quad	DESC(0, 0xfffff, 0x9a, 0xc)	/* 0x08 code, 32-bit, flat */
	.quad	DESC(0, 0xfffff, 0x92, 0xc)	/* 0x10 data, 32-bit, flat */
	.quad	DESC(BOCHSIMG_LOAD_ADDR, 0xffff, 0x9a, 0x0) /* 0x18 code16 */
	.quad	DESC(0, 0xffff, 0x92, 0x0)	/* 0x20 data, 16-bit */
ldr_gdt_end:
ldr_gdtr:
	.word	ldr_gdt_end - ldr_gdt - 1
	.long	ldr_gdt
guest_gdtr32:
	.word	0
	.long	0

boot_drive:	.byte 0
	.balign 4
dap:				/* INT 13h AH=42h disk address packet */
	.byte	16, 0
dap_count:
	.word	0
	.word	0, BOCHSIMG_BOUNCE_SEG
dap_lba:
	.long	0, 0
cur_dest:	.long 0
cur_left:	.long 0
chunk:		.word 0
range_ptr:	.word 0
ranges_left:	.word 0

/*
 * ---- the trampoline -----------------------------------------------------
 *
 * Copied to the page below the guest's RSP; entered with EBX = that page,
 * paging off, the guest's GDT, TR, data segments, CR3, CR4 and EFER.LME
 * loaded. Position-independent: EBX-relative in 32-bit code, RIP-relative
 * in 64-bit code. MOV to CR0 turns paging on and with it IA-32e mode in
 * compatibility mode; the far jump through the GDT copy in this page loads
 * the guest's 64-bit CS; then the guest's GDTR and IDTR, zero in the other
 * registers, RSP, RDI, and RFLAGS last (its push and POPFQ write only the
 * top of this page, which is the guest's stack).
 */
	.balign 16
tramp_start:
	lgdt	OFF_T(tramp_gdtr32)(%ebx)
	mov	OFF_T(tramp_cr0)(%ebx), %eax
	mov	%eax, %cr0
	ljmp	*OFF_T(tramp_farptr)(%ebx)
	.code64
tramp64:
	lgdt	tramp_gdtr64(%rip)
	lidt	tramp_idtr64(%rip)
	xor	%eax, %eax
	mov	%rax, %cr2
	xor	%ebx, %ebx
	xor	%ecx, %ecx
	xor	%edx, %edx
	xor	%esi, %esi
	xor	%ebp, %ebp
	xor	%r8d, %r8d
	xor	%r9d, %r9d
	xor	%r10d, %r10d
	xor	%r11d, %r11d
	xor	%r12d, %r12d
	xor	%r13d, %r13d
	xor	%r14d, %r14d
	xor	%r15d, %r15d
	mov	tramp_rsp(%rip), %rsp
	mov	tramp_rdi(%rip), %rdi
	pushq	tramp_rflags(%rip)
	popfq
	jmp	*tramp_rip(%rip)

	.org	tramp_start + 0x80	/* the code must end before this */
tramp_gdtr32:	.word 0			/* limit, base of the GDT copy */
		.long 0
	.balign 8
tramp_farptr:	.long 0			/* m16:32 to tramp64 */
		.word 0
	.balign 8
tramp_cr0:	.long 0
	.balign 8
tramp_gdtr64:	.word 0			/* limit, 64-bit base */
		.quad 0
	.balign 8
tramp_idtr64:	.word 0
		.quad 0
	.balign 8
tramp_rsp:	.quad 0
tramp_rdi:	.quad 0
tramp_rip:	.quad 0
tramp_rflags:	.quad 0
	.org	tramp_start + BOCHSIMG_TRAMP_GDT
tramp_end:

	/* The loader must fit in front of the header. */
	.org	BOCHSIMG_LOADER_SECTORS * BOCHSIMG_SECTOR, 0

	.section .note.GNU-stack, "", @progbits
