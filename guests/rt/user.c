/* SPDX-License-Identifier: MIT */
/*
 * Guest-side user mode: a GDT with CPL-3 code and data segments, RSP0 in
 * the current TSS (SDM Vol. 3A 6.14.5: the stack an interrupt from CPL 3
 * switches to), SYSCALL/SYSRET (SDM Vol. 2B; STAR/LSTAR/SFMASK, Vol. 3A
 * 5.8.8) and a call into CPL 3 through IRETQ that comes back with a
 * SYSCALL. Guest side; nothing here runs unless a guest asks for it.
 */
#include "arch/x86_msr.h"
#include "arch/x86_regs.h"
#include "arch/x86_seg.h"
#include "guests/rt/rt.h"

/*
 * The GDT: the boot contract's six slots (0x00-0x28: null, code64, data,
 * code32, the 16-byte TSS), then what SYSRET needs from STAR[63:48] =
 * 0x30: a 32-bit user code slot it would use for a 32-bit return (never
 * here), user data at 0x38 (SS = base + 8) and 64-bit user code at 0x40
 * (CS = base + 16).
 */
#define RT_BOOT_GDT_SLOTS 6
#define RT_SEL_SYSRET_BASE 0x30
#define RT_GDT_SLOTS 9
#define RT_DESC_USER_CODE32 0x00cffb000000ffffull /* DPL 3, D = 1 */
#define RT_DESC_USER_DATA 0x00cff3000000ffffull /* DPL 3, read/write */
#define RT_DESC_USER_CODE64 0x00affb000000ffffull /* DPL 3, L = 1 */

/* SYSCALL clears these (Linux's choice): no interrupts, single-step,
 * direction or alignment checks in the kernel entry. */
#define RT_SFMASK                                                        \
	(X86_EFLAGS_IF | X86_EFLAGS_TF | X86_EFLAGS_DF | X86_EFLAGS_AC | \
	 X86_EFLAGS_NT)

#define RT_KSTACK_SIZE 8192
#define RT_USTACK_SIZE 8192

_Static_assert(RT_SEL_USER_DATA == ((RT_SEL_SYSRET_BASE + 8) | 3),
	       "SYSRET loads SS from STAR[63:48] + 8");
_Static_assert(RT_SEL_USER_CODE64 == ((RT_SEL_SYSRET_BASE + 16) | 3),
	       "SYSRET loads CS from STAR[63:48] + 16");

static uint64_t rt_gdt[RT_GDT_SLOTS] __attribute__((aligned(16)));
static uint8_t rt_kstack[RT_KSTACK_SIZE] __attribute__((aligned(16)));
static uint8_t rt_ustack[RT_USTACK_SIZE] __attribute__((aligned(16)));

/* The kernel RSP rt_user_call() left from, for the way back. */
uint64_t rt_user_kernel_rsp;

void rt_syscall_entry(void);
uint64_t rt_user_enter(uint64_t (*fn)(uint64_t), uint64_t arg,
		       uint64_t user_rsp);

#define RT_STR(x) #x
#define RT_XSTR(x) RT_STR(x)

/*
 * rt_user_enter(fn, arg, user_rsp): saves the callee-saved registers and
 * RSP, then IRETQs to CPL 3 at rt_user_trampoline, which calls fn(arg)
 * and hands its result back with SYSCALL RAX = 1. The SYSCALL entry
 * returns at once (SYSRET) for RT_SYS_NULL, A&A's null system call; for 1
 * it restores the kernel stack and returns from rt_user_enter(). SYSCALL
 * does not switch stacks, so the null path touches no memory at all.
 */
/* clang-format off */
__asm__("	.pushsection .text\n"
	"	.globl rt_user_enter\n"
	"rt_user_enter:\n"
	"	pushq %rbx\n"
	"	pushq %rbp\n"
	"	pushq %r12\n"
	"	pushq %r13\n"
	"	pushq %r14\n"
	"	pushq %r15\n"
	"	movq %rsp, rt_user_kernel_rsp(%rip)\n"
	"	pushq $" RT_XSTR(RT_SEL_USER_DATA) "\n"
	"	pushq %rdx\n"
	"	pushq $2\n" /* RFLAGS: interrupts off */
	"	pushq $" RT_XSTR(RT_SEL_USER_CODE64) "\n"
	"	leaq rt_user_trampoline(%rip), %rax\n"
	"	pushq %rax\n"
	"	iretq\n"
	"rt_user_trampoline:\n"
	"	movq %rdi, %rax\n"
	"	movq %rsi, %rdi\n"
	"	callq *%rax\n"
	"	movq %rax, %rdi\n"
	"	movl $1, %eax\n"
	"	syscall\n"
	"	ud2\n"
	"\n"
	"	.globl rt_syscall_entry\n"
	"rt_syscall_entry:\n"
	"	testl %eax, %eax\n" /* RT_SYS_NULL */
	"	jnz 1f\n"
	"	sysretq\n"
	"1:	movq rt_user_kernel_rsp(%rip), %rsp\n"
	"	movl $" RT_XSTR(BOOT_SEL_DATA) ", %eax\n"
	"	movl %eax, %ds\n" /* IRETQ to CPL 3 may have nulled them */
	"	movl %eax, %es\n"
	"	movq %rdi, %rax\n"
	"	popq %r15\n"
	"	popq %r14\n"
	"	popq %r13\n"
	"	popq %r12\n"
	"	popq %rbp\n"
	"	popq %rbx\n"
	"	retq\n"
	"	.popsection\n");
/* clang-format on */

int rt_user_init(void)
{
	struct x86_desc_ptr gdt;
	struct x86_tss64 *tss;
	struct kvm_segment trs;
	const uint64_t *old;
	uint16_t tr;

	__asm__ volatile("sgdt %0" : "=m"(gdt));
	__asm__ volatile("str %0" : "=r"(tr));
	if (gdt.limit + 1u < RT_BOOT_GDT_SLOTS * 8 ||
	    SEL_INDEX(tr) + 1 >= RT_BOOT_GDT_SLOTS) {
		printf("rt: user mode needs the boot contract's GDT and TSS "
		       "(GDT limit %#x, TR %#x)\n",
		       gdt.limit, tr);
		return -1;
	}
	old = (const uint64_t *)(uintptr_t)gdt.base;
	for (int i = 0; i < RT_BOOT_GDT_SLOTS; i++)
		rt_gdt[i] = old[i];
	rt_gdt[RT_SEL_SYSRET_BASE / 8] = RT_DESC_USER_CODE32;
	rt_gdt[RT_SEL_USER_DATA / 8] = RT_DESC_USER_DATA;
	rt_gdt[RT_SEL_USER_CODE64 / 8] = RT_DESC_USER_CODE64;
	gdt.base = (uint64_t)(uintptr_t)rt_gdt;
	gdt.limit = sizeof(rt_gdt) - 1;
	/* The selectors in use keep their slots: nothing to reload. */
	__asm__ volatile("lgdt %0" : : "m"(gdt) : "memory");

	x86_seg_decode_sys_desc(&trs, rt_gdt[SEL_INDEX(tr)],
				rt_gdt[SEL_INDEX(tr) + 1], tr);
	tss = (struct x86_tss64 *)(uintptr_t)trs.base;
	tss->rsp[0] = (uint64_t)(uintptr_t)(rt_kstack + RT_KSTACK_SIZE);

	rt_wrmsr(MSR_STAR, ((uint64_t)RT_SEL_SYSRET_BASE << 48) |
				   ((uint64_t)BOOT_SEL_CODE64 << 32));
	rt_wrmsr(MSR_LSTAR, (uint64_t)(uintptr_t)rt_syscall_entry);
	rt_wrmsr(MSR_SYSCALL_MASK, RT_SFMASK);
	rt_wrmsr(MSR_EFER, rt_rdmsr(MSR_EFER) | EFER_SCE);

	if (rt_paging_set_user(rt_bootinfo->image_start,
			       rt_bootinfo->image_end)) {
		printf("rt: cannot make the image [%#llx, %#llx) "
		       "user-accessible\n",
		       (unsigned long long)rt_bootinfo->image_start,
		       (unsigned long long)rt_bootinfo->image_end);
		return -1;
	}
	return 0;
}

uint64_t rt_user_call(uint64_t (*fn)(uint64_t), uint64_t arg)
{
	return rt_user_enter(fn, arg,
			     (uint64_t)(uintptr_t)(rt_ustack + RT_USTACK_SIZE));
}
