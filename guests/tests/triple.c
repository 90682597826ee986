/* SPDX-License-Identifier: MIT */
/*
 * triple: prints one line, then executes UD2 with no IDT (the loader leaves
 * the IDT limit at 0). #UD cannot be delivered, nor the #GP that raises,
 * nor the #DF after it, so the processor shuts down: a triple fault (SDM
 * Vol. 3A 6.15, interrupt 8). The UD2 is at the global label triple_ud2 so
 * that a test can find its address in the symbol table. Guest side.
 */
#include "guests/rt/rt.h"

void triple_fault_now(void) __attribute__((noreturn));

__asm__("	.pushsection .text\n"
	"	.globl triple_fault_now\n"
	"	.type triple_fault_now, @function\n"
	"triple_fault_now:\n"
	"	.globl triple_ud2\n"
	"triple_ud2:\n"
	"	ud2\n"
	"	.size triple_fault_now, . - triple_fault_now\n"
	"	.popsection\n");

int main(const struct nestvm_bootinfo *bi)
{
	(void)bi;
	printf("triple: executing ud2 with no IDT\n");
	triple_fault_now();
}
