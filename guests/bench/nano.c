/* SPDX-License-Identifier: MIT */
/*
 * nano: Adams & Agesen's seven nanobenchmarks (ASPLOS'06, section 6.1) --
 * syscall, in, cr8wr, call/ret, pgfault, divzero, ptemod -- a scaled-down
 * forkwait, and (micro.c) Turtles' one-exit-type experiments, each timed
 * with RDTSC as the papers did. The command line picks one:
 *
 *	bench=NAME iters=N
 *
 * and it prints "RESULT NAME <cycles per iteration> cycles" and
 * "RESULT NAME.iters N count", the same names at every level. Guest side;
 * runs natively, as L1 and as L2 (docs/evaluation-workloads.md).
 */
#include "arch/x86_paging.h"
#include "arch/x86_regs.h"
#include "guests/bench/bench.h"

#define NANO_DEFAULT_ITERS 1000ull
#define NANO_PAGE 4096ull

/* ---- faults the benchmarks cause on purpose --------------------------- */

/* The instructions that fault, from the benchmarks' assembly. */
extern const char nano_div_insn[], bench_ud_insn[];

/* pgfault: the page, its PTE and the entry that maps it again. */
static volatile uint64_t *nano_pf_pte;
static uint64_t nano_pf_va, nano_pf_map;

static void nano_fault(struct idt_frame *f)
{
	/* #DE and #UD: skip the 2-byte instruction (F7 F1 div ecx; 0F 0B
	 * ud2), as A&A's divzero handler does. */
	if (f->vector == DE_VECTOR && f->rip == (uintptr_t)nano_div_insn) {
		f->rip += 2;
		return;
	}
	if (f->vector == UD_VECTOR && f->rip == (uintptr_t)bench_ud_insn) {
		f->rip += 2;
		return;
	}
	/* extint: the timer's interrupt, and a refused APIC MSR write
	 * (0F 30 wrmsr) */
	if (f->vector == BENCH_TIMER_VECTOR) {
		bench_timer_interrupt();
		return;
	}
	if (f->vector == GP_VECTOR && f->rip == (uintptr_t)bench_wrmsr_insn) {
		bench_wrmsr_faulted = true;
		f->rip += 2;
		return;
	}
	/* #PF on the pgfault page: map it; the access runs again. */
	if (f->vector == PF_VECTOR && nano_pf_pte && read_cr2() == nano_pf_va) {
		*nano_pf_pte = nano_pf_map;
		return;
	}
	printf("nano: unexpected exception %llu (error %#llx) at RIP %#llx, "
	       "CR2 %#llx\n",
	       (unsigned long long)f->vector, (unsigned long long)f->error_code,
	       (unsigned long long)f->rip, (unsigned long long)read_cr2());
	exit(0xfe);
}

/* ---- syscall: a CPL-3 loop of null system calls ------------------------ */

static uint64_t nano_syscall_user(uint64_t iters)
{
	uint64_t start = rdtsc();

	for (uint64_t i = 0; i < iters; i++) {
		uint64_t rax = RT_SYS_NULL;

		/* SYSCALL clobbers RCX (return RIP) and R11 (RFLAGS). */
		__asm__ volatile("syscall"
				 : "+a"(rax)
				 :
				 : "rcx", "r11", "memory");
	}
	return rdtsc() - start;
}

static int nano_syscall(const struct bench_env *env, uint64_t iters,
			uint64_t *cycles)
{
	(void)env;
	if (rt_user_init())
		return 1;
	*cycles = rt_user_call(nano_syscall_user, iters);
	return 0;
}

/* ---- in: IN from the UART's line status register ---------------------- */

static int nano_in(const struct bench_env *env, uint64_t iters,
		   uint64_t *cycles)
{
	uint64_t start = rdtsc();

	(void)env;
	for (uint64_t i = 0; i < iters; i++)
		(void)inb(BENCH_PORT_LSR);
	*cycles = rdtsc() - start;
	return 0;
}

/* ---- cr8wr: MOV to CR8 (the task-priority register) ------------------- */

static int nano_cr8wr(const struct bench_env *env, uint64_t iters,
		      uint64_t *cycles)
{
	uint64_t start = rdtsc();

	(void)env;
	/* TPR 0, the value it has: no interrupt is ever masked by it. */
	for (uint64_t i = 0; i < iters; i++)
		write_cr8(0);
	*cycles = rdtsc() - start;
	return 0;
}

/* ---- call/ret: a call to an empty function ------------------------------ */

static __attribute__((noinline)) void nano_empty(void)
{
	/* Keeps the call: GCC may not drop a function with asm. */
	__asm__ volatile("");
}

static int nano_callret(const struct bench_env *env, uint64_t iters,
			uint64_t *cycles)
{
	uint64_t start = rdtsc();

	(void)env;
	for (uint64_t i = 0; i < iters; i++)
		nano_empty();
	*cycles = rdtsc() - start;
	return 0;
}

/* ---- pgfault: unmap, INVLPG, touch, fault, map ------------------------- */

static int nano_pgfault(const struct bench_env *env, uint64_t iters,
			uint64_t *cycles)
{
	volatile uint64_t *page = (volatile uint64_t *)(uintptr_t)env->arena;
	uint64_t start;

	nano_pf_va = env->arena;
	nano_pf_pte = rt_pte_4k(nano_pf_va);
	if (!nano_pf_pte)
		return 1;
	nano_pf_map = *nano_pf_pte;
	start = rdtsc();
	for (uint64_t i = 0; i < iters; i++) {
		*nano_pf_pte = 0;
		invlpg(page);
		/* Faults; the handler maps the page and the read runs again. */
		(void)*page;
	}
	*cycles = rdtsc() - start;
	nano_pf_pte = NULL;
	return 0;
}

/* ---- divzero: #DE, handled by skipping the DIV ------------------------- */

/* 1 / 0 in a function of its own, so that the DIV has one address. It
 * clobbers only RAX, RCX and RDX, which a call may clobber anyway. */
void nano_div0(void);
/* clang-format off */
__asm__("	.pushsection .text\n"
	"	.globl nano_div0, nano_div_insn\n"
	"nano_div0:\n"
	"	movl $1, %eax\n"
	"	xorl %edx, %edx\n"
	"	xorl %ecx, %ecx\n"
	"nano_div_insn:\n"
	"	divl %ecx\n"		/* f7 f1 */
	"	retq\n"
	"	.popsection\n");
/* clang-format on */

static int nano_divzero(const struct bench_env *env, uint64_t iters,
			uint64_t *cycles)
{
	uint64_t start = rdtsc();

	(void)env;
	for (uint64_t i = 0; i < iters; i++)
		nano_div0();
	*cycles = rdtsc() - start;
	return 0;
}

/* ---- ptemod: rewrite a PTE and INVLPG it ------------------------------- */

static int nano_ptemod(const struct bench_env *env, uint64_t iters,
		       uint64_t *cycles)
{
	uint64_t va = env->arena + NANO_PAGE;
	volatile uint64_t *pte = rt_pte_4k(va);
	uint64_t frame[2], flags, start;

	if (!pte)
		return 1;
	/* Alternate the page between two frames, as a kernel remapping a
	 * page does; the last iteration leaves it where it was when iters
	 * is even. */
	flags = *pte & ~PTE_ADDR_MASK;
	frame[0] = *pte & PTE_ADDR_MASK;
	frame[1] = frame[0] + NANO_PAGE;
	start = rdtsc();
	for (uint64_t i = 0; i < iters; i++) {
		*pte = frame[(i + 1) & 1] | flags;
		invlpg((const volatile void *)(uintptr_t)va);
	}
	*cycles = rdtsc() - start;
	*pte = frame[0] | flags;
	invlpg((const volatile void *)(uintptr_t)va);
	return 0;
}

/* ---- forkwait: build an address space, run in it, tear it down ---------- */

/*
 * One "process": a new PML4 that shares the kernel's entries (copied, as
 * fork copies the kernel half), a PDPT, page directory and page table for
 * a user region at 512 GiB (PML4 slot 1, empty in the boot contract), and
 * FORK_PAGES zeroed data pages; CR3 switches to it, each page is written
 * through the new mapping, CR3 switches back, and everything is unmapped
 * and cleared. The pages come from the arena, after the ones above.
 */
#define FORK_PAGES 4
#define FORK_USER_VA (1ull << 39)
#define FORK_FIRST_PAGE 8

static void nano_zero_page(uint64_t pa)
{
	memset((void *)(uintptr_t)pa, 0, NANO_PAGE);
}

static int nano_forkwait(const struct bench_env *env, uint64_t iters,
			 uint64_t *cycles)
{
	uint64_t base = env->arena + FORK_FIRST_PAGE * NANO_PAGE;
	uint64_t pml4 = base, pdpt = base + NANO_PAGE;
	uint64_t pd = base + 2 * NANO_PAGE, pt = base + 3 * NANO_PAGE;
	uint64_t data = base + 4 * NANO_PAGE;
	uint64_t old_cr3 = read_cr3(), start;
	const uint64_t tflags = PTE_P | PTE_RW | PTE_US;
	const uint64_t *kernel =
		(const uint64_t *)(uintptr_t)(old_cr3 & PTE_ADDR_MASK);

	if (kernel[FORK_USER_VA >> 39] & PTE_P) {
		printf("nano: forkwait needs PML4 slot 1 free\n");
		return 1;
	}
	start = rdtsc();
	for (uint64_t i = 0; i < iters; i++) {
		uint64_t *p4 = (uint64_t *)(uintptr_t)pml4;
		uint64_t *p3 = (uint64_t *)(uintptr_t)pdpt;
		uint64_t *p2 = (uint64_t *)(uintptr_t)pd;
		uint64_t *p1 = (uint64_t *)(uintptr_t)pt;

		/* fork: the tables and the pages */
		memcpy(p4, kernel, NANO_PAGE);
		nano_zero_page(pdpt);
		nano_zero_page(pd);
		nano_zero_page(pt);
		p4[FORK_USER_VA >> 39] = pdpt | tflags;
		p3[0] = pd | tflags;
		p2[0] = pt | tflags;
		for (int k = 0; k < FORK_PAGES; k++) {
			nano_zero_page(data + k * NANO_PAGE);
			p1[k] = (data + k * NANO_PAGE) | tflags;
		}
		/* the child runs and touches its pages */
		write_cr3(pml4);
		for (int k = 0; k < FORK_PAGES; k++)
			*(volatile uint64_t *)(uintptr_t)(FORK_USER_VA +
							  k * NANO_PAGE) = i;
		/* wait: back to the parent, which reaps the child */
		write_cr3(old_cr3);
		for (int k = 0; k < FORK_PAGES; k++)
			p1[k] = 0;
		p2[0] = 0;
		p3[0] = 0;
		p4[FORK_USER_VA >> 39] = 0;
	}
	*cycles = rdtsc() - start;
	return 0;
}

/* ---- the command line and the table --------------------------------------- */

static const struct bench nano_benches[] = {
	{ "syscall", nano_syscall, 0 }, { "in", nano_in, 0 },
	{ "cr8wr", nano_cr8wr, 0 },	{ "callret", nano_callret, 0 },
	{ "pgfault", nano_pgfault, 0 }, { "divzero", nano_divzero, 0 },
	{ "ptemod", nano_ptemod, 0 },	{ "forkwait", nano_forkwait, 0 },
};

static const struct bench *nano_find(const char *name, size_t len)
{
	for (size_t i = 0; i < ARRAY_SIZE(nano_benches); i++) {
		if (strlen(nano_benches[i].name) == len &&
		    !strncmp(nano_benches[i].name, name, len))
			return &nano_benches[i];
	}
	for (size_t i = 0; i < bench_micro_count; i++) {
		if (strlen(bench_micro[i].name) == len &&
		    !strncmp(bench_micro[i].name, name, len))
			return &bench_micro[i];
	}
	return NULL;
}

static void nano_usage(void)
{
	printf("nano: usage: bench=NAME [iters=N] with NAME one of");
	for (size_t i = 0; i < ARRAY_SIZE(nano_benches); i++)
		printf(" %s", nano_benches[i].name);
	for (size_t i = 0; i < bench_micro_count; i++)
		printf(" %s", bench_micro[i].name);
	printf(" and N from 1 to 4294967295\n");
}

/* A decimal number in [1, 2^32) of exactly @len characters, or 0. */
static uint64_t nano_parse_count(const char *s, size_t len)
{
	uint64_t v = 0;

	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return 0;
		v = v * 10 + (uint64_t)(s[i] - '0');
		if (v >> 32)
			return 0;
	}
	return v;
}

int main(const struct nestvm_bootinfo *bi)
{
	const char *s = (const char *)(uintptr_t)bi->cmdline;
	const struct bench *b = NULL;
	uint64_t iters = NANO_DEFAULT_ITERS, cycles = 0;
	struct bench_env env = {
		.arena = (bi->free_start + (2ull << 20) - 1) &
			 ~((2ull << 20) - 1),
		.mem_size = bi->mem_size,
	};
	char name[64];
	int ret;

	while (*s) {
		size_t len = 0;

		while (*s == ' ')
			s++;
		while (s[len] && s[len] != ' ')
			len++;
		if (!len)
			break;
		if (len > 6 && !strncmp(s, "bench=", 6)) {
			b = nano_find(s + 6, len - 6);
		} else if (len > 6 && !strncmp(s, "iters=", 6)) {
			iters = nano_parse_count(s + 6, len - 6);
		} else {
			nano_usage();
			return 1;
		}
		if (!b && !strncmp(s, "bench=", 6)) {
			nano_usage();
			return 1;
		}
		s += len;
	}
	if (!b || !iters || (b->max_iters && iters > b->max_iters)) {
		if (b && b->max_iters && iters > b->max_iters)
			printf("nano: %s runs at most %llu iterations\n",
			       b->name, (unsigned long long)b->max_iters);
		else
			nano_usage();
		return 1;
	}
	if (env.arena + (2ull << 20) > env.mem_size) {
		printf("nano: no free 2 MiB region in RAM\n");
		return 1;
	}
	idt_install(nano_fault);
	ret = b->run(&env, iters, &cycles);
	if (ret)
		return ret;
	rt_result(b->name, cycles / iters, "cycles");
	snprintf(name, sizeof(name), "%s.iters", b->name);
	rt_result(name, iters, "count");
	return 0;
}
