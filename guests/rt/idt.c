/* SPDX-License-Identifier: MIT */
/*
 * Guest-side IDT: one 16-byte entry stub per vector that pushes a uniform
 * frame (a dummy error code where the processor pushes none), a common stub
 * that saves the general registers and calls a C handler, and 64-bit
 * interrupt gates (SDM Vol. 3A 6.10, 6.14.1 and Table 6-1). Guest side.
 */
#include "arch/x86_regs.h"
#include "arch/x86_seg.h"
#include "guests/rt/rt.h"

#define IDT_VECTORS 256
#define IDT_STUB_SIZE 16

/* The vectors with an error code, as a literal the assembler can use. */
#define IDT_ERROR_CODE_MASK 0x00227d00
#define IDT_STR(x) #x
#define IDT_XSTR(x) IDT_STR(x)
#define IDT_ERROR_CODE_MASK_STR IDT_XSTR(IDT_ERROR_CODE_MASK)
_Static_assert(IDT_ERROR_CODE_MASK == X86_EXCEPTION_ERROR_CODE_MASK,
	       "the stubs' error-code vectors follow SDM Table 6-1");

static struct x86_idt_gate64 idt_table[IDT_VECTORS]
	__attribute__((aligned(16)));
static idt_handler_fn idt_handler;

/* The stubs, laid out IDT_STUB_SIZE bytes apart. */
extern const char idt_stubs[];

void idt_dispatch(struct idt_frame *frame);

/*
 * The processor pushes an error code for #DF, #TS, #NP, #SS, #GP, #PF, #AC
 * and #CP (vectors 8, 10-14, 17, 21; SDM Vol. 3A Table 6-1), the mask
 * IDT_ERROR_CODE_MASK. The other stubs push a zero in its place so that
 * every frame has the same shape.
 *
 * RSP is 16-byte aligned when the stub starts (the processor aligns it
 * before pushing in 64-bit mode, SDM 6.14.2), but the stack is realigned
 * before the call anyway so that a frame delivered on an odd stack works.
 */
/* clang-format off */
__asm__("	.pushsection .text\n"
	"	.p2align 4\n"
	"	.globl idt_stubs\n"
	"idt_stubs:\n"
	"	.set idt_vec, 0\n"
	"	.rept 256\n"
	/* .org cannot move backwards: it fails the build if the previous
	 * stub outgrew its slot. */
	"	.org idt_stubs + idt_vec * 16, 0xcc\n"
	"	.if idt_vec >= 32\n"
	"	pushq $0\n"
	"	.elseif ((" IDT_ERROR_CODE_MASK_STR " >> idt_vec) & 1) == 0\n"
	"	pushq $0\n"
	"	.endif\n"
	"	pushq $idt_vec\n"
	"	jmp idt_common\n"
	"	.set idt_vec, idt_vec + 1\n"
	"	.endr\n"
	"	.org idt_stubs + 256 * 16, 0xcc\n"
	"\n"
	"idt_common:\n"
	"	pushq %rax\n"
	"	pushq %rbx\n"
	"	pushq %rcx\n"
	"	pushq %rdx\n"
	"	pushq %rsi\n"
	"	pushq %rdi\n"
	"	pushq %rbp\n"
	"	pushq %r8\n"
	"	pushq %r9\n"
	"	pushq %r10\n"
	"	pushq %r11\n"
	"	pushq %r12\n"
	"	pushq %r13\n"
	"	pushq %r14\n"
	"	pushq %r15\n"
	"	cld\n"
	"	movq %rsp, %rdi\n"
	"	movq %rsp, %rbx\n"
	"	andq $-16, %rsp\n"
	"	call idt_dispatch\n"
	"	movq %rbx, %rsp\n"
	"	popq %r15\n"
	"	popq %r14\n"
	"	popq %r13\n"
	"	popq %r12\n"
	"	popq %r11\n"
	"	popq %r10\n"
	"	popq %r9\n"
	"	popq %r8\n"
	"	popq %rbp\n"
	"	popq %rdi\n"
	"	popq %rsi\n"
	"	popq %rdx\n"
	"	popq %rcx\n"
	"	popq %rbx\n"
	"	popq %rax\n"
	"	addq $16, %rsp\n" /* the vector and the error code */
	"	iretq\n"
	"	.popsection\n");
/* clang-format on */

void idt_dispatch(struct idt_frame *frame)
{
	if (!idt_handler) {
		printf("idt: vector %llu with no handler at rip %#llx\n",
		       (unsigned long long)frame->vector,
		       (unsigned long long)frame->rip);
		exit(0xfe);
	}
	idt_handler(frame);
}

static void idt_set_gate(unsigned int vector, unsigned int dpl)
{
	uint64_t target = (uint64_t)(uintptr_t)idt_stubs +
			  (uint64_t)vector * IDT_STUB_SIZE;
	uint16_t cs;

	__asm__ volatile("mov %%cs, %0" : "=r"(cs));
	x86_idt_build_gate64(&idt_table[vector], target, cs, 0,
			     SEG_TYPE_INT_GATE64, dpl);
}

void idt_install(idt_handler_fn handler)
{
	struct x86_desc_ptr ptr = {
		.limit = sizeof(idt_table) - 1,
		.base = (uint64_t)(uintptr_t)idt_table,
	};

	idt_handler = handler;
	for (unsigned int v = 0; v < X86_NR_EXCEPTION_VECTORS; v++)
		idt_set_gate(v, 0);
	__asm__ volatile("lidt %0" : : "m"(ptr) : "memory");
}

void idt_enable_vector(unsigned int vector, unsigned int dpl)
{
	if (vector < X86_NR_EXCEPTION_VECTORS || vector >= IDT_VECTORS)
		return;
	idt_set_gate(vector, dpl);
}
