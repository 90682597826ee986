/* SPDX-License-Identifier: MIT */
/*
 * test_vtx_lapic - the local APIC and interrupt acceptance (vtx/lapic.c,
 * vtx/events.c; SDM Vol. 3A ch. 11, 6.8-6.9): the xAPIC page and the
 * x2APIC MSRs, IA32_APIC_BASE transitions, TPR/CR8/PPR/EOI, timer modes
 * with exact cycle counts (the harness's "unit" profile charges one cycle
 * per instruction), delivery order, the STI shadow and HLT wake-up. The
 * harness's IDT stubs halt with IF = 0, so a run ends in the stub of the
 * first vector delivered. Host side, tests only.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <errno.h>
#include <string.h>

#include "arch/x86_msr.h"
#include "tests/unit/vtx_harness.h"

/* The xAPIC page moved into the harness's 2-MiB data page (RAM below). */
#define APIC_PAGE 0x3ff000ull
#define X2(off) (0x800u + ((off) >> 4))
#define BASE_EN (1ull << 11)
#define BASE_EXTD (1ull << 10)
#define BASE_BSP (1ull << 8)

/* harness_run() loads h->sregs, whose apic_base and cr8 (TPR[7:4]) win
 * over what the MSRs set before, as with KVM_SET_SREGS. */
static void apic_x2(struct harness *h)
{
	assert_int_equal(vtx_cpu_set_msr(h->cpu, MSR_IA32_APICBASE,
					 0xfee00000ull | BASE_EN | BASE_EXTD),
			 0);
	h->sregs.apic_base = 0xfee00000ull | BASE_EN | BASE_EXTD | BASE_BSP;
	/* software enable, spurious vector 0xff */
	assert_int_equal(vtx_cpu_set_msr(h->cpu, X2(0xf0), 0x1ff), 0);
}

static uint64_t rdmsr(struct harness *h, uint32_t msr)
{
	uint64_t v = ~0ull;
	assert_int_equal(vtx_cpu_get_msr(h->cpu, msr, &v), 0);
	return v;
}

/* An xAPIC register written and read through the page: the APIC sees it,
 * the RAM beneath does not. */
static void test_xapic_mmio__tpr_write_reaches_apic_not_ram(void **state)
{
	struct harness *h = *state;
	static const uint8_t code[] = {
		0x89, 0x87, 0x80, 0x00, 0x00, 0x00, /* mov [rdi+0x80], eax */
		0x8b, 0x9f, 0x80, 0x00, 0x00, 0x00, /* mov ebx, [rdi+0x80] */
		0x8b, 0x8f, 0xa0, 0x00, 0x00, 0x00, /* mov ecx, [rdi+0xa0] */
		0x44, 0x0f, 0x20, 0xc2, /* mov rdx, cr8 */
	};

	assert_int_equal(vtx_cpu_set_msr(h->cpu, MSR_IA32_APICBASE,
					 APIC_PAGE | BASE_EN | BASE_BSP),
			 0);
	h->sregs.apic_base = APIC_PAGE | BASE_EN | BASE_BSP;
	h->regs.rdi = APIC_PAGE;
	h->regs.rax = 0x5a;
	harness_exec(h, code, sizeof(code), 4);
	assert_int_equal(h->regs.rbx, 0x5a); /* TPR */
	assert_int_equal(h->regs.rcx, 0x5a); /* PPR = TPR, ISR empty */
	assert_int_equal(h->regs.rdx, 5); /* CR8 = TPR[7:4] */
	assert_int_equal(harness_read64(h, APIC_PAGE + 0x80), 0);
	assert_int_equal(h->stats.apic_mmio, 3);
}

/* MOV to CR8 loads TPR[7:4] and clears TPR[3:0] (SDM 11.8.6.1). */
static void test_cr8__write_sets_tpr_class(void **state)
{
	struct harness *h = *state;
	static const uint8_t code[] = {
		0x44, 0x0f, 0x22, 0xc0, /* mov cr8, rax */
	};

	apic_x2(h);
	h->regs.rax = 3;
	harness_exec(h, code, sizeof(code), 1);
	assert_int_equal(rdmsr(h, X2(0x80)), 0x30);
}

/* SDM Figure 11-26 and 11.12.1.2: the legal transitions and #GP cases. */
static void test_apic_base__illegal_transitions_and_x2apic_gp(void **state)
{
	struct harness *h = *state;
	struct vtx_cpu *c = h->cpu;
	uint64_t v;

	/* x2APIC MSRs do not exist in xAPIC mode */
	assert_int_equal(vtx_cpu_get_msr(c, X2(0x80), &v), -EINVAL);
	/* reserved bit 9; EXTD without EN */
	assert_int_equal(vtx_cpu_set_msr(c, MSR_IA32_APICBASE,
					 0xfee00000ull | BASE_EN | (1ull << 9)),
			 -EINVAL);
	assert_int_equal(vtx_cpu_set_msr(c, MSR_IA32_APICBASE,
					 0xfee00000ull | BASE_EXTD),
			 -EINVAL);
	apic_x2(h);
	/* x2APIC -> xAPIC is illegal; -> disabled is legal */
	assert_int_equal(
		vtx_cpu_set_msr(c, MSR_IA32_APICBASE, 0xfee00000ull | BASE_EN),
		-EINVAL);
	/* write-only EOI cannot be read, read-only ID and PPR not written,
	 * EOI takes only 0, a missing register (APR) is #GP */
	assert_int_equal(vtx_cpu_get_msr(c, X2(0xb0), &v), -EINVAL);
	assert_int_equal(vtx_cpu_set_msr(c, X2(0x20), 1), -EINVAL);
	assert_int_equal(vtx_cpu_set_msr(c, X2(0xa0), 0), -EINVAL);
	assert_int_equal(vtx_cpu_set_msr(c, X2(0xb0), 1), -EINVAL);
	assert_int_equal(vtx_cpu_get_msr(c, X2(0x90), &v), -EINVAL);
	assert_int_equal(vtx_cpu_set_msr(c, X2(0x80), 1ull << 32), -EINVAL);
	/* x2APIC LDR derived from ID 0 */
	assert_int_equal(rdmsr(h, X2(0xd0)), 1);
	assert_int_equal(vtx_cpu_set_msr(c, MSR_IA32_APICBASE, 0xfee00000ull),
			 0);
	/* disabled -> x2APIC is illegal */
	assert_int_equal(vtx_cpu_set_msr(c, MSR_IA32_APICBASE,
					 0xfee00000ull | BASE_EN | BASE_EXTD),
			 -EINVAL);
}

/* One-shot, divide by 1: the interrupt is taken at the first boundary at
 * which 10 cycles have passed since the count was loaded. */
static void test_timer__one_shot_fires_after_exact_count(void **state)
{
	struct harness *h = *state;
	static const uint8_t code[] = {
		0xfb, /* sti */
		0xeb, 0xfe, /* 1: jmp 1 */
	};

	apic_x2(h);
	assert_int_equal(vtx_cpu_set_msr(h->cpu, X2(0x3e0), 0xb), 0);
	assert_int_equal(vtx_cpu_set_msr(h->cpu, X2(0x320), 0x40), 0);
	assert_int_equal(vtx_cpu_set_msr(h->cpu, X2(0x380), 10), 0);
	harness_load(h, CODE_BASE, code, sizeof(code));
	h->regs.rip = CODE_BASE;
	assert_int_equal(harness_run(h, 100), VTX_STOP_HALTED);
	harness_expect_exception(h, 0x40, HARNESS_NO_ERROR_CODE, CODE_BASE + 1);
	/* 10 instructions, then the stub's HLT */
	assert_int_equal(h->stats.insns, 11);
	assert_int_equal(h->stats.apic_timer_fires, 1);
	assert_int_equal(h->stats.interrupts, 1);
	assert_int_equal(rdmsr(h, X2(0x390)), 0); /* current count */
	assert_int_equal(rdmsr(h, X2(0x100 + 0x20)), 1); /* ISR bit 0x40 */
}

/* HLT with IF = 1 and the timer armed: time passes to the deadline and
 * the interrupt wakes it; the frame returns past the HLT. */
static void test_hlt__wakes_on_timer_with_exact_halted_cycles(void **state)
{
	struct harness *h = *state;
	static const uint8_t code[] = {
		0xfb, /* sti */
		0xf4, /* hlt */
		0xfa, /* cli */
		0xf4, /* hlt */
	};

	apic_x2(h);
	/* divide by 2 (DCR 0): 25 counts are 50 cycles */
	assert_int_equal(vtx_cpu_set_msr(h->cpu, X2(0x320), 0x41), 0);
	assert_int_equal(vtx_cpu_set_msr(h->cpu, X2(0x380), 25), 0);
	harness_load(h, CODE_BASE, code, sizeof(code));
	h->regs.rip = CODE_BASE;
	assert_int_equal(harness_run(h, 100), VTX_STOP_HALTED);
	harness_expect_exception(h, 0x41, HARNESS_NO_ERROR_CODE, CODE_BASE + 2);
	assert_int_equal(h->stats.halted_cycles, 48);
}

/* HLT with IF = 0 and only a maskable source: the clean halted stop. */
static void test_hlt__if_clear_with_timer_armed_stops_halted(void **state)
{
	struct harness *h = *state;
	static const uint8_t code[] = {
		0xf4, /* hlt */
	};

	apic_x2(h);
	assert_int_equal(vtx_cpu_set_msr(h->cpu, X2(0x320), 0x41), 0);
	assert_int_equal(vtx_cpu_set_msr(h->cpu, X2(0x380), 25), 0);
	assert_int_equal(harness_run_code(h, code, sizeof(code)),
			 VTX_STOP_HALTED);
	assert_int_equal(h->regs.rip, CODE_BASE + 1);
	assert_int_equal(h->stats.halted_cycles, 0);
	assert_int_equal(h->stats.interrupts, 0);
}

/*
 * Periodic: five interrupts counted by a handler that EOIs through the
 * x2APIC EOI MSR and returns. The timer fires at cycles 100, 200, ...,
 * 500. Every instruction costs one cycle except WRMSR, a cost class the
 * unit profile leaves at 0, so after k interrupts the clock is k cycles
 * behind the instruction count: interrupt k comes after instruction
 * 100k + k - 1, each time after a CMP (instruction 1 is the STI; each
 * handler's three instructions shift the CMP/JNE phase by one). The
 * fifth follows CMP #504, which saw R8 = 4; the handler runs #505-#507,
 * JNE #508 still jumps back, CMP #509, JNE #510 falls through, CLI #511,
 * HLT #512.
 */
static void test_timer__periodic_delivers_five_interrupts(void **state)
{
	struct harness *h = *state;
	static const uint8_t handler[] = {
		0x49, 0xff, 0xc0, /* inc r8 */
		0x0f, 0x30, /* wrmsr (ECX = 0x80b EOI, EDX:EAX = 0) */
		0x48, 0xcf, /* iretq */
	};
	static const uint8_t code[] = {
		0xfb, /* sti */
		0x49, 0x83, 0xf8, 0x05, /* 1: cmp r8, 5 */
		0x75, 0xfa, /* jne 1 */
		0xfa, /* cli */
		0xf4, /* hlt */
	};

	apic_x2(h);
	harness_load(h, DATA_BASE, handler, sizeof(handler));
	harness_set_gate(h, 0x42, DATA_BASE, 0, 0xe, 0);
	assert_int_equal(vtx_cpu_set_msr(h->cpu, X2(0x3e0), 0xb), 0);
	assert_int_equal(vtx_cpu_set_msr(h->cpu, X2(0x320), 0x20042), 0);
	assert_int_equal(vtx_cpu_set_msr(h->cpu, X2(0x380), 100), 0);
	harness_load(h, CODE_BASE, code, sizeof(code));
	h->regs.rip = CODE_BASE;
	h->regs.rcx = 0x80b;
	assert_int_equal(harness_run(h, 10000), VTX_STOP_HALTED);
	assert_int_equal(h->regs.r8, 5);
	assert_int_equal(h->stats.insns, 512);
	assert_int_equal(h->stats.cycles, 512 - 5);
	assert_int_equal(h->stats.apic_timer_fires, 5);
	assert_int_equal(h->stats.interrupts, 5);
	assert_int_equal(rdmsr(h, X2(0x100 + 0x20)), 0); /* ISR empty */
}

/* TPR holds an interrupt of the same class back; lowering it lets the
 * IRR bit through (PPR gating, SDM 11.8.3.1). */
static void test_tpr__blocks_same_class_until_lowered(void **state)
{
	struct harness *h = *state;
	static const uint8_t code[] = {
		0xfb, /* sti */
		0xeb, 0xfe, /* 1: jmp 1 */
	};

	apic_x2(h);
	h->sregs.cr8 = 4; /* TPR 0x40 */
	assert_int_equal(vtx_cpu_raise_irq(h->cpu, 0x45), 0);
	harness_load(h, CODE_BASE, code, sizeof(code));
	h->regs.rip = CODE_BASE;
	assert_int_equal(harness_run(h, 20), VTX_STOP_INSN_LIMIT);
	assert_int_equal(rdmsr(h, X2(0x200 + 0x20)), 1u << 5); /* IRR */
	h->sregs.cr8 = 3;
	assert_int_equal(harness_run(h, 20), VTX_STOP_HALTED);
	assert_int_equal(harness_stop_vector(h), 0x45);
	assert_int_equal(rdmsr(h, X2(0xa0)), 0x40); /* PPR = ISRV class */
}

/* The highest vector first; EOI retires the highest ISR bit only. */
static void test_eoi__clears_highest_isr_bit(void **state)
{
	struct harness *h = *state;
	static const uint8_t code[] = {
		0xfb, /* sti */
		0xeb, 0xfe, /* 1: jmp 1 */
	};

	apic_x2(h);
	/* self IPIs through the SELF IPI MSR */
	assert_int_equal(vtx_cpu_set_msr(h->cpu, X2(0x3f0), 0x50), 0);
	assert_int_equal(vtx_cpu_set_msr(h->cpu, X2(0x3f0), 0x61), 0);
	harness_load(h, CODE_BASE, code, sizeof(code));
	h->regs.rip = CODE_BASE;
	assert_int_equal(harness_run(h, 20), VTX_STOP_HALTED);
	assert_int_equal(harness_stop_vector(h), 0x61);
	assert_int_equal(rdmsr(h, X2(0x100 + 0x30)), 1u << 1); /* ISR 0x61 */
	assert_int_equal(rdmsr(h, X2(0x200 + 0x20)), 1u << 16); /* IRR 0x50 */
	assert_int_equal(vtx_cpu_set_msr(h->cpu, X2(0xb0), 0), 0);
	assert_int_equal(rdmsr(h, X2(0x100 + 0x30)), 0);
	assert_int_equal(rdmsr(h, X2(0xa0)), 0);
}

/* STI blocks interrupts for one more instruction (SDM 6.8.3): a pending
 * interrupt is taken after the NOP, not before it. */
static void test_sti__shadow_delays_pending_interrupt_one_insn(void **state)
{
	struct harness *h = *state;
	static const uint8_t code[] = {
		0xfb, /* sti */
		0x90, /* nop */
		0x90, /* nop */
		0xf4, /* hlt */
	};

	apic_x2(h);
	assert_int_equal(vtx_cpu_raise_irq(h->cpu, 0x70), 0);
	harness_load(h, CODE_BASE, code, sizeof(code));
	h->regs.rip = CODE_BASE;
	assert_int_equal(harness_run(h, 20), VTX_STOP_HALTED);
	harness_expect_exception(h, 0x70, HARNESS_NO_ERROR_CODE, CODE_BASE + 2);
}

/* NMI before a maskable interrupt (SDM Table 6-2), whatever IF says. */
static void test_nmi__delivered_before_maskable_with_if_clear(void **state)
{
	struct harness *h = *state;
	static const uint8_t code[] = {
		0xeb, 0xfe, /* 0: jmp 0 */
	};

	apic_x2(h);
	assert_int_equal(vtx_cpu_raise_irq(h->cpu, 0x70), 0);
	assert_int_equal(vtx_cpu_raise_nmi(h->cpu), 0);
	harness_load(h, CODE_BASE, code, sizeof(code));
	h->regs.rip = CODE_BASE;
	h->regs.rflags = X86_EFLAGS_FIXED | X86_EFLAGS_IF;
	assert_int_equal(harness_run(h, 20), VTX_STOP_HALTED);
	harness_expect_exception(h, 2, HARNESS_NO_ERROR_CODE, CODE_BASE);
}

/* An IRET that faults has already ended NMI blocking (SDM 6.7.1): the
 * NMI handler's IRET takes #GP (a data selector as CS), and a second NMI
 * is delivered although no IRET completed. */
static void test_nmi__iret_that_faults_still_unblocks_nmis(void **state)
{
	struct harness *h = *state;
	static const uint8_t handler[] = {
		0x48, 0xc7, 0x44, 0x24, 0x08,
		0x10, 0x00, 0x00, 0x00, /* mov qword ptr [rsp+8], 0x10 */
		0x48, 0xcf, /* iretq */
	};
	static const uint8_t code[] = {
		0xeb, 0xfe, /* 0: jmp 0 */
	};

	harness_load(h, DATA_BASE, handler, sizeof(handler));
	harness_set_gate(h, 2, DATA_BASE, 0, 0xe, 0);
	harness_load(h, CODE_BASE, code, sizeof(code));
	h->regs.rip = CODE_BASE;
	assert_int_equal(vtx_cpu_raise_nmi(h->cpu), 0);
	assert_int_equal(harness_run(h, 20), VTX_STOP_HALTED);
	harness_expect_exception(h, 13, 0x10, DATA_BASE + 9);
	/* halted in the #GP stub with IF = 0: only an NMI can wake it */
	assert_int_equal(vtx_cpu_raise_nmi(h->cpu), 0);
	assert_int_equal(harness_run(h, 20), VTX_STOP_HALTED);
	assert_int_equal(h->stats.exceptions[2], 2);
	assert_int_equal(h->stats.exceptions[13], 2);
}

/* TSC-deadline mode: fires when the TSC reaches the MSR value, then the
 * MSR reads 0 (SDM 11.5.4.1). */
static void test_timer__tsc_deadline_fires_and_clears_msr(void **state)
{
	struct harness *h = *state;
	static const uint8_t code[] = {
		0xfb, /* sti */
		0xeb, 0xfe, /* 1: jmp 1 */
	};

	apic_x2(h);
	assert_int_equal(vtx_cpu_set_msr(h->cpu, X2(0x320), 0x40043), 0);
	assert_int_equal(vtx_cpu_set_msr(h->cpu, 0x6e0, 30), 0);
	assert_int_equal(rdmsr(h, 0x6e0), 30);
	harness_load(h, CODE_BASE, code, sizeof(code));
	h->regs.rip = CODE_BASE;
	assert_int_equal(harness_run(h, 100), VTX_STOP_HALTED);
	harness_expect_exception(h, 0x43, HARNESS_NO_ERROR_CODE, CODE_BASE + 1);
	assert_int_equal(h->stats.insns, 31);
	assert_int_equal(rdmsr(h, 0x6e0), 0);
}

/* An IPI to another processor cannot be delivered on a one-vCPU machine:
 * counted as unimplemented, nothing raised here. */
static void test_icr__ipi_to_other_cpu_is_counted_unimplemented(void **state)
{
	struct harness *h = *state;
	struct vtx_unimpl u;

	apic_x2(h);
	/* fixed, vector 0x50, physical destination 1 */
	assert_int_equal(
		vtx_cpu_set_msr(h->cpu, X2(0x300), (1ull << 32) | 0x50), 0);
	assert_int_equal(vtx_cpu_get_unimplemented(h->cpu, &u, 1), 1);
	assert_non_null(strstr(u.mnemonic, "APIC IPI"));
	assert_int_equal(rdmsr(h, X2(0x200 + 0x20)), 0);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, harness_setup, harness_teardown)
	const struct CMUnitTest tests[] = {
		T(test_xapic_mmio__tpr_write_reaches_apic_not_ram),
		T(test_cr8__write_sets_tpr_class),
		T(test_apic_base__illegal_transitions_and_x2apic_gp),
		T(test_timer__one_shot_fires_after_exact_count),
		T(test_hlt__wakes_on_timer_with_exact_halted_cycles),
		T(test_hlt__if_clear_with_timer_armed_stops_halted),
		T(test_timer__periodic_delivers_five_interrupts),
		T(test_tpr__blocks_same_class_until_lowered),
		T(test_eoi__clears_highest_isr_bit),
		T(test_sti__shadow_delays_pending_interrupt_one_insn),
		T(test_nmi__delivered_before_maskable_with_if_clear),
		T(test_timer__tsc_deadline_fires_and_clears_msr),
		T(test_nmi__iret_that_faults_still_unblocks_nmis),
		T(test_icr__ipi_to_other_cpu_is_counted_unimplemented),
	};
#undef T
	return cmocka_run_group_tests(tests, NULL, NULL);
}
