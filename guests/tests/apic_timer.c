/* SPDX-License-Identifier: MIT */
/*
 * apic_timer: the local APIC timer from a guest's side (SDM Vol. 3A 11.5.4,
 * 11.12): one-shot, periodic and TSC-deadline modes, first through the
 * xAPIC page (moved into RAM, since the boot contract maps only RAM), then
 * through the x2APIC MSRs; each takes its interrupts through the IDT,
 * EOIs them, and prints exact counts and register values. Guest side;
 * runs at the native level (tests/guest/test_guests.c).
 */
#include "arch/x86_msr.h"
#include "arch/x86_regs.h"
#include "guests/rt/rt.h"

#define TIMER_VECTOR 0x40
#define LVT_MASKED (1u << 16)
#define LVT_PERIODIC (1u << 17)
#define LVT_TSC_DEADLINE (2u << 17)
#define SVR_ENABLE (1u << 8)
#define TDCR_DIV1 0xb /* divide by 1 (SDM Figure 11-10) */
#define PERIODIC_TICKS 5

/* xAPIC register offsets (SDM Table 11-1). */
#define XAPIC_TPR 0x80
#define XAPIC_PPR 0xa0
#define XAPIC_EOI 0xb0
#define XAPIC_SVR 0xf0
#define XAPIC_ISR 0x100
#define XAPIC_LVTT 0x320
#define XAPIC_TMICT 0x380
#define XAPIC_TMCCT 0x390
#define XAPIC_TDCR 0x3e0

/* The page the xAPIC registers are moved over: RAM the loader maps. */
static uint8_t apic_page[4096] __attribute__((aligned(4096)));
static bool x2apic;
static volatile unsigned int ticks;
static unsigned int failures;

static uint32_t apic_read(uint32_t off)
{
	if (x2apic)
		return (uint32_t)rt_rdmsr(X2APIC_MSR_FIRST + (off >> 4));
	return *(volatile uint32_t *)(apic_page + off);
}

static void apic_write(uint32_t off, uint32_t v)
{
	if (x2apic)
		rt_wrmsr(X2APIC_MSR_FIRST + (off >> 4), v);
	else
		*(volatile uint32_t *)(apic_page + off) = v;
}

static void apic_handle(struct idt_frame *f)
{
	if (f->vector != TIMER_VECTOR) {
		printf("apic_timer: unexpected vector %llu at rip %#llx\n",
		       (unsigned long long)f->vector,
		       (unsigned long long)f->rip);
		exit(1);
	}
	ticks++;
	/* The vector is in service until the EOI (SDM 11.8.4-11.8.5). */
	if (!(apic_read(XAPIC_ISR + 0x20) & (1u << (TIMER_VECTOR & 31))))
		failures++;
	apic_write(XAPIC_EOI, 0);
}

static void check(const char *mode, const char *what, uint64_t got,
		  uint64_t want)
{
	printf("%s %s: %llu%s\n", mode, what, (unsigned long long)got,
	       got == want ? "" : " (wrong)");
	if (got != want)
		failures++;
}

/* Waits with interrupts enabled until @n ticks have come (HLT between
 * them: the timer wakes the CPU). */
static void wait_ticks(unsigned int n)
{
	while (ticks < n) {
		sti();
		hlt();
		cli();
	}
}

static void run_modes(const char *mode)
{
	/* one-shot: 1,000 ticks at divide 1, one interrupt, then the
	 * current count stays 0 */
	ticks = 0;
	apic_write(XAPIC_TDCR, TDCR_DIV1);
	apic_write(XAPIC_LVTT, TIMER_VECTOR);
	apic_write(XAPIC_TMICT, 1000);
	wait_ticks(1);
	check(mode, "one-shot interrupts", ticks, 1);
	check(mode, "one-shot current count", apic_read(XAPIC_TMCCT), 0);
	check(mode, "isr after eoi", apic_read(XAPIC_ISR + 0x20), 0);

	/* periodic: PERIODIC_TICKS interrupts, then masked and stopped */
	ticks = 0;
	apic_write(XAPIC_LVTT, TIMER_VECTOR | LVT_PERIODIC);
	apic_write(XAPIC_TMICT, 2000);
	wait_ticks(PERIODIC_TICKS);
	apic_write(XAPIC_LVTT, TIMER_VECTOR | LVT_PERIODIC | LVT_MASKED);
	apic_write(XAPIC_TMICT, 0);
	check(mode, "periodic interrupts", ticks, PERIODIC_TICKS);

	/* TSC-deadline: one interrupt when the TSC passes the deadline;
	 * the MSR reads 0 after it fired (SDM 11.5.4.1) */
	ticks = 0;
	apic_write(XAPIC_LVTT, TIMER_VECTOR | LVT_TSC_DEADLINE);
	rt_wrmsr(MSR_IA32_TSC_DEADLINE, rdtsc() + 3000);
	wait_ticks(1);
	check(mode, "tsc-deadline interrupts", ticks, 1);
	check(mode, "tsc-deadline msr after", rt_rdmsr(MSR_IA32_TSC_DEADLINE),
	      0);

	/* TPR: a raised task priority holds the timer's class back until
	 * it is lowered (SDM 11.8.3.1) */
	ticks = 0;
	apic_write(XAPIC_TPR, TIMER_VECTOR);
	apic_write(XAPIC_LVTT, TIMER_VECTOR);
	apic_write(XAPIC_TMICT, 100);
	for (volatile int k = 0; k < 1000; k++)
		sti();
	cli();
	check(mode, "held back by tpr", ticks, 0);
	apic_write(XAPIC_TPR, 0);
	wait_ticks(1);
	check(mode, "after tpr lowered", ticks, 1);
	check(mode, "ppr", apic_read(XAPIC_PPR), 0);
}

int main(const struct nestvm_bootinfo *bi)
{
	struct cpuid_regs r = cpuid(1, 0);
	uint64_t base;

	(void)bi;
	if (!(r.edx & (1u << 9)) || !(r.ecx & (1u << 21)) ||
	    !(r.ecx & (1u << 24))) {
		printf("apic_timer: needs an APIC with x2APIC and TSC-deadline "
		       "(CPUID.1 EDX %#x ECX %#x)\n",
		       r.edx, r.ecx);
		return 3;
	}
	idt_install(apic_handle);
	idt_enable_vector(TIMER_VECTOR, 0);
	cli();

	/* xAPIC: move the page, software-enable, run the modes */
	base = rt_rdmsr(MSR_IA32_APICBASE);
	check("xapic", "enabled at reset",
	      !!(base & MSR_IA32_APICBASE_ENABLE) && !(base & X2APIC_ENABLE),
	      1);
	rt_wrmsr(MSR_IA32_APICBASE, (uint64_t)(uintptr_t)apic_page |
					    MSR_IA32_APICBASE_ENABLE |
					    (base & MSR_IA32_APICBASE_BSP));
	apic_write(XAPIC_SVR, SVR_ENABLE | 0xff);
	run_modes("xapic");

	/* x2APIC: the legal xAPIC -> x2APIC transition (SDM 11.12.5) */
	rt_wrmsr(MSR_IA32_APICBASE,
		 rt_rdmsr(MSR_IA32_APICBASE) | X2APIC_ENABLE);
	x2apic = true;
	check("x2apic", "ldr of apic id 0", rt_rdmsr(MSR_IA32_X2APIC_LDR), 1);
	run_modes("x2apic");

	printf("apic_timer: %u failures\n", failures);
	return failures ? 1 : 0;
}
