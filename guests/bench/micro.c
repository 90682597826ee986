/* SPDX-License-Identifier: MIT */
/*
 * micro: Turtles' micro-experiments (OSDI'10, section 4.3: one exit type
 * each) -- pio, rdmsr, cr, exception, eptviol, extint -- and an exit-heavy
 * mix of CPUID, PIO, RDMSR and computation; cpuid itself is
 * guests/cpuid_loop.c. Which port, MSR, CR access and exception they use,
 * and what exits each causes at each level, is in
 * docs/evaluation-workloads.md. Guest side; run through nano.c's command
 * line.
 */
#include "arch/x86_msr.h"
#include "arch/x86_regs.h"
#include "guests/bench/bench.h"

#define MICRO_PAGE 4096ull
/* eptviol touches pages of the last 2 MiB of RAM, the window l1-shim's
 * ept-lazy option leaves unmapped. */
#define MICRO_EPTVIOL_MAX 512

/* pio: OUT to the UART's scratch register, a register with no effect. */
static int micro_pio(const struct bench_env *env, uint64_t iters,
		     uint64_t *cycles)
{
	uint64_t start = rdtsc();

	(void)env;
	for (uint64_t i = 0; i < iters; i++)
		outb((uint8_t)i, BENCH_PORT_SCR);
	*cycles = rdtsc() - start;
	return 0;
}

/* rdmsr: IA32_SYSENTER_CS, which l1-shim intercepts and answers from the
 * VMCS guest-state field, as KVM does. */
static int micro_rdmsr(const struct bench_env *env, uint64_t iters,
		       uint64_t *cycles)
{
	uint64_t start = rdtsc();

	(void)env;
	for (uint64_t i = 0; i < iters; i++)
		(void)rt_rdmsr(MSR_IA32_SYSENTER_CS);
	*cycles = rdtsc() - start;
	return 0;
}

/*
 * cr: MOV to CR0 flipping CR0.TS, the bit a hypervisor doing lazy FPU
 * switching owns (l1-shim's CR0 guest/host mask has it): each write
 * differs from the read shadow, so each one exits. CR0 ends as it began:
 * an odd count takes one more write.
 */
static int micro_cr(const struct bench_env *env, uint64_t iters,
		    uint64_t *cycles)
{
	uint64_t cr0 = read_cr0(), start = rdtsc();

	(void)env;
	for (uint64_t i = 0; i < iters; i++)
		write_cr0(cr0 ^ ((i & 1) ? 0 : X86_CR0_TS));
	*cycles = rdtsc() - start;
	if (iters & 1)
		write_cr0(cr0);
	return 0;
}

/* A function, so that the faulting instruction has one address however
 * the compiler lays out the loop around it. */
void micro_ud2(void);
/* clang-format off */
__asm__("	.pushsection .text\n"
	"	.globl micro_ud2, bench_ud_insn\n"
	"micro_ud2:\n"
	"bench_ud_insn:\n"
	"	ud2\n"			/* 0f 0b */
	"	retq\n"
	"	.popsection\n");
/* clang-format on */

/* exception: #UD from UD2, handled by the guest (nano.c) by skipping it;
 * l1-shim intercepts it with exc=ud and injects it back. */
static int micro_exception(const struct bench_env *env, uint64_t iters,
			   uint64_t *cycles)
{
	uint64_t start = rdtsc();

	(void)env;
	for (uint64_t i = 0; i < iters; i++)
		micro_ud2();
	*cycles = rdtsc() - start;
	return 0;
}

/* eptviol: the first write to each of @iters fresh pages, from the top of
 * RAM down; under an EPT that maps on demand each is one EPT violation. */
static int micro_eptviol(const struct bench_env *env, uint64_t iters,
			 uint64_t *cycles)
{
	uint64_t start = rdtsc();

	for (uint64_t i = 0; i < iters; i++)
		*(volatile uint8_t *)(uintptr_t)(env->mem_size -
						 (i + 1) * MICRO_PAGE) = 1;
	*cycles = rdtsc() - start;
	return 0;
}

/* WRMSR of @v to @msr at bench_wrmsr_insn, whose #GP nano.c skips. */
void micro_wrmsr(uint32_t msr, uint64_t v);
/* clang-format off */
__asm__("	.pushsection .text\n"
	"	.globl micro_wrmsr, bench_wrmsr_insn\n"
	"micro_wrmsr:\n"
	"	mov %edi, %ecx\n"
	"	mov %rsi, %rax\n"
	"	mov %rsi, %rdx\n"
	"	shr $32, %rdx\n"
	"bench_wrmsr_insn:\n"
	"	wrmsr\n"		/* 0f 30 */
	"	retq\n"
	"	.popsection\n");
/* clang-format on */

volatile bool bench_wrmsr_faulted;
static volatile uint64_t micro_ticks;

void bench_timer_interrupt(void)
{
	micro_ticks++;
	rt_wrmsr(MSR_IA32_X2APIC_EOI, 0);
}

#define APIC_SVR_ENABLE (1u << 8)
#define APIC_TDCR_DIV1 0xb

/*
 * extint: Turtles' external-interrupt experiment. Each iteration arms the
 * local APIC timer in one-shot mode for one tick (x2APIC, divide by 1)
 * and waits with interrupts enabled until its interrupt has been
 * delivered through the IDT and EOI'd: arming, delivery, handler, EOI and
 * IRET per iteration. The guest owns the APIC: natively, and under
 * l1-shim, which neither intercepts the x2APIC MSRs nor sets external-
 * interrupt exiting, so that its guest's interrupts reach it without an
 * exit. Under L0 the APIC is the machine's, and L0 does not virtualize it
 * for L1: an x2APIC MSR write L0 refuses (#GP) ends the run with one line
 * and BENCH_EXIT_NEEDS_VAPIC.
 */
static int micro_extint(const struct bench_env *env, uint64_t iters,
			uint64_t *cycles)
{
	struct cpuid_regs r = cpuid(1, 0);
	uint64_t base, start;

	(void)env;
	if (!(r.ecx & (1u << 21))) {
		printf("extint: needs an x2APIC\n");
		return BENCH_EXIT_UNSUPPORTED;
	}
	bench_wrmsr_faulted = false;
	base = rt_rdmsr(MSR_IA32_APICBASE);
	micro_wrmsr(MSR_IA32_APICBASE,
		    base | MSR_IA32_APICBASE_ENABLE | X2APIC_ENABLE);
	micro_wrmsr(MSR_IA32_X2APIC_SIVR, APIC_SVR_ENABLE | 0xff);
	micro_wrmsr(MSR_IA32_X2APIC_TDCR, APIC_TDCR_DIV1);
	micro_wrmsr(MSR_IA32_X2APIC_LVT_TIMER, BENCH_TIMER_VECTOR);
	if (bench_wrmsr_faulted) {
		printf("extint: nested needs L0 to virtualize the local APIC\n");
		return BENCH_EXIT_NEEDS_VAPIC;
	}
	idt_enable_vector(BENCH_TIMER_VECTOR, 0);
	micro_ticks = 0;
	start = rdtsc();
	for (uint64_t i = 0; i < iters; i++) {
		rt_wrmsr(MSR_IA32_X2APIC_TMICT, 1);
		/* STI blocks interrupts for the instruction after it
		 * (SDM 6.8.3): the NOP is where the interrupt comes. */
		while (micro_ticks == i)
			__asm__ volatile("sti; nop; cli" : : : "memory");
	}
	*cycles = rdtsc() - start;
	return 0;
}

/*
 * mix: per iteration one CPUID, one OUT (pio's port), one RDMSR (rdmsr's
 * MSR) and MIX_WORK rounds of integer work in registers: three exits per
 * iteration under l1-shim, the exit-heavy end of the range whose other
 * end is guests/bench/compute.c.
 */
#define MIX_WORK 200

static int micro_mix(const struct bench_env *env, uint64_t iters,
		     uint64_t *cycles)
{
	uint64_t x = 0x9e3779b97f4a7c15ull, start = rdtsc();

	(void)env;
	for (uint64_t i = 0; i < iters; i++) {
		(void)cpuid(0, 0);
		outb((uint8_t)x, BENCH_PORT_SCR);
		x ^= rt_rdmsr(MSR_IA32_SYSENTER_CS);
		for (int k = 0; k < MIX_WORK; k++) {
			/* xorshift64 */
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
		}
		__asm__ volatile("" : "+r"(x));
	}
	*cycles = rdtsc() - start;
	return 0;
}

const struct bench bench_micro[] = {
	{ "pio", micro_pio, 0 },
	{ "rdmsr", micro_rdmsr, 0 },
	{ "cr", micro_cr, 0 },
	{ "exception", micro_exception, 0 },
	{ "eptviol", micro_eptviol, MICRO_EPTVIOL_MAX },
	{ "extint", micro_extint, 0 },
	{ "mix", micro_mix, 0 },
};
const size_t bench_micro_count = ARRAY_SIZE(bench_micro);
