/* SPDX-License-Identifier: MIT */
/*
 * test_vtx_gate - privilege changes in the model (vtx/exec_gate.c,
 * vtx/exception.c): far CALL through 32- and 16-bit call gates from ring
 * 3 to ring 0 with the TSS stack and the parameter copy, far RET and IRET
 * back to ring 3 (SS:ESP restored, DS nulled), INT n to ring 0 through a
 * 32-bit gate and through a 16-bit gate, a 64-bit call gate in long mode,
 * the gate checks, and the task switches that are a counted #UD (SDM Vol.
 * 3A 5.8, 6.12.1, 8.3). Raw instruction bytes with their disassembly;
 * host side.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "arch/x86_seg.h"
#include "tests/unit/vtx_harness.h"

/* 32-bit protected mode, paging off: linear = physical. */
#define G_GDT 0x8000ull
#define G_IDT 0x9000ull
#define G_TSS 0xc000ull
#define G_RING0 0xd000ull /* ring-0 handler code */
#define G_ESP0 0x60000ull
#define G_ESP3 0x70000ull

#define K_CODE 0x08
#define K_DATA 0x10
#define U_CODE 0x1b /* index 3, RPL 3 */
#define U_DATA 0x23 /* index 4, RPL 3 */
#define TSS_SEL 0x28
#define GATE32 0x33 /* call gate, DPL 3, 2 parameters */
#define GATE16 0x3b /* 16-bit call gate, DPL 3, 1 parameter */
#define TASKGATE 0x43
#define GATE_DPL0 0x4b /* call gate of DPL 0: not for ring 3 */

/* A call gate: selector, offset, DPL, type, parameter count. */
static uint64_t gate(uint16_t sel, uint32_t off, unsigned dpl, unsigned type,
		     unsigned nparam)
{
	return (off & 0xffffull) | (uint64_t)sel << 16 |
	       (uint64_t)(nparam & 0x1f) << 32 | (uint64_t)type << 40 |
	       (uint64_t)dpl << 45 | DESC_P | (uint64_t)(off >> 16) << 48;
}

static struct kvm_segment seg(uint64_t desc, uint16_t sel)
{
	struct kvm_segment s;

	x86_seg_decode_desc(&s, desc, sel);
	return s;
}

static const uint64_t k_code = 0x00cf9b000000ffffull;
static const uint64_t k_data = 0x00cf93000000ffffull;
static const uint64_t u_code = 0x00cffb000000ffffull;
static const uint64_t u_data = 0x00cff3000000ffffull;
/* 32-bit TSS at G_TSS, limit 0x67, busy (type 11). */
static const uint64_t tss_busy = 0x00008b00c0000067ull;

/* Ring 3, 32-bit protected mode, IOPL 3 (OUT to the stop port works at
 * CPL 3), the TSS's ring-0 stack at K_DATA:G_ESP0, and an IDT whose
 * vector 0x80 is a DPL-3 32-bit interrupt gate and 0x81 a DPL-3 16-bit
 * interrupt gate, both to G_RING0. */
static void g_enter(struct harness *h, bool user)
{
	uint64_t gdt[10] = {
		0,
		k_code,
		k_data,
		u_code,
		u_data,
		tss_busy &
			~(2ull << DESC_TYPE_SHIFT), /* available in the GDT */
		gate(K_CODE, (uint32_t)G_RING0, 3, SEG_TYPE_CALL_GATE32, 2),
		gate(K_CODE, (uint32_t)G_RING0, 3, SEG_TYPE_CALL_GATE16, 1),
		gate(TSS_SEL, 0, 3, SEG_TYPE_TASK_GATE, 0),
		gate(K_CODE, (uint32_t)G_RING0, 0, SEG_TYPE_CALL_GATE32, 0),
	};
	uint64_t idt[0x82] = { 0 };
	uint32_t tss[0x68 / 4] = { 0 };

	idt[0x80] = gate(K_CODE, (uint32_t)G_RING0, 3, SEG_TYPE_INT_GATE32, 0);
	idt[0x81] = gate(K_CODE, (uint32_t)G_RING0, 3, SEG_TYPE_INT_GATE16, 0);
	tss[1] = (uint32_t)G_ESP0; /* ESP0 */
	tss[2] = K_DATA; /* SS0 */
	harness_load(h, G_GDT, gdt, sizeof(gdt));
	harness_load(h, G_IDT, idt, sizeof(idt));
	harness_load(h, G_TSS, tss, sizeof(tss));
	h->sregs.cs = user ? seg(u_code, U_CODE) : seg(k_code, K_CODE);
	h->sregs.ss = user ? seg(u_data, U_DATA) : seg(k_data, K_DATA);
	h->sregs.ds = seg(k_data, K_DATA);
	h->sregs.es = h->sregs.ds;
	h->sregs.fs = h->sregs.ds;
	h->sregs.gs = user ? seg(u_data, U_DATA) : h->sregs.ds;
	h->sregs.tr = seg(tss_busy, TSS_SEL);
	h->sregs.gdt.base = G_GDT;
	h->sregs.gdt.limit = sizeof(gdt) - 1;
	h->sregs.idt.base = G_IDT;
	h->sregs.idt.limit = sizeof(idt) - 1;
	h->sregs.cr0 = X86_CR0_PE | X86_CR0_ET;
	h->sregs.cr4 = 0;
	h->sregs.efer = 0;
	h->regs.rsp = user ? G_ESP3 : G_ESP0;
	h->regs.rflags = X86_EFLAGS_FIXED | X86_EFLAGS_IOPL;
	h->regs.rip = CODE_BASE;
}

static uint32_t rd32(struct harness *h, uint64_t gpa)
{
	return (uint32_t)harness_read64(h, gpa);
}

static uint16_t rd16(struct harness *h, uint64_t gpa)
{
	return (uint16_t)harness_read64(h, gpa);
}

/* Runs code placed at CODE_BASE and handler at G_RING0 until the machine
 * stops (an OUT to the stop port, or HLT at CPL 0). */
static enum vtx_stop_reason g_run(struct harness *h, const uint8_t *code,
				  size_t len, const uint8_t *handler,
				  size_t hlen)
{
	harness_load(h, CODE_BASE, code, len);
	harness_load(h, G_RING0, handler, hlen);
	return harness_run(h, 100);
}

static const uint8_t hlt[] = {
	0xf4, /* hlt */
};

static const uint8_t call_gate32_code[] = {
	0x68, 0x11, 0x11, 0x11, 0x11, /* push 0x11111111 */
	0x68, 0x22, 0x22, 0x22, 0x22, /* push 0x22222222 */
	0x9a, 0x00, 0x00, 0x00, 0x00, 0x33, 0x00, /* call 0x33:0x0 */
	0xe6, 0xf4, /* out 0xf4, al */
};

static void
test_call_gate32__ring3_switches_to_tss_stack_copying_2_params(void **state)
{
	struct harness *h = *state;
	uint64_t sp;

	g_enter(h, true);
	assert_int_equal(g_run(h, call_gate32_code, sizeof(call_gate32_code),
			       hlt, sizeof(hlt)),
			 VTX_STOP_HALTED);
	assert_int_equal(h->sregs.cs.selector, K_CODE);
	assert_int_equal(h->sregs.ss.selector, K_DATA);
	/* EIP, CS, the two parameters, ESP, SS: six doublewords. */
	sp = G_ESP0 - 24;
	assert_int_equal(h->regs.rsp, sp);
	assert_int_equal(rd32(h, sp), CODE_BASE + 17);
	assert_int_equal(rd32(h, sp + 4), U_CODE);
	assert_int_equal(rd32(h, sp + 8), 0x22222222);
	assert_int_equal(rd32(h, sp + 12), 0x11111111);
	assert_int_equal(rd32(h, sp + 16), G_ESP3 - 8);
	assert_int_equal(rd32(h, sp + 20), U_DATA);
	assert_int_equal(h->stats.unimplemented, 0);
}

static void
test_retf_outer__returns_to_ring3_releasing_params_nulling_ds(void **state)
{
	struct harness *h = *state;
	static const uint8_t handler[] = {
		0xca, 0x08, 0x00, /* retf 0x8 */
	};

	g_enter(h, true);
	assert_int_equal(g_run(h, call_gate32_code, sizeof(call_gate32_code),
			       handler, sizeof(handler)),
			 VTX_STOP_PLATFORM);
	assert_int_equal(h->regs.rip, CODE_BASE + sizeof(call_gate32_code));
	assert_int_equal(h->sregs.cs.selector, U_CODE);
	assert_int_equal(h->sregs.ss.selector, U_DATA);
	/* RETF 8 released the parameters on the outer stack too. */
	assert_int_equal(h->regs.rsp, G_ESP3);
	/* DS, ES, FS held a DPL-0 segment: null now; GS (DPL 3) stays. */
	assert_int_equal(h->sregs.ds.selector, 0);
	assert_true(h->sregs.ds.unusable);
	assert_int_equal(h->sregs.es.selector, 0);
	assert_int_equal(h->sregs.fs.selector, 0);
	assert_int_equal(h->sregs.gs.selector, U_DATA);
	assert_false(h->sregs.gs.unusable);
}

static void test_call_gate16__pushes_words_and_copies_1_param(void **state)
{
	struct harness *h = *state;
	static const uint8_t code[] = {
		0x68, 0x44, 0x33, 0x22, 0x11, /* push 0x11223344 */
		0x9a, 0x00, 0x00, 0x00, 0x00, 0x3b, 0x00, /* call 0x3b:0x0 */
	};
	uint64_t sp = G_ESP0 - 10;

	g_enter(h, true);
	assert_int_equal(g_run(h, code, sizeof(code), hlt, sizeof(hlt)),
			 VTX_STOP_HALTED);
	assert_int_equal(h->sregs.cs.selector, K_CODE);
	/* IP, CS, one word parameter, SP, SS: five words. */
	assert_int_equal(h->regs.rsp, sp);
	assert_int_equal(rd16(h, sp), (CODE_BASE + 12) & 0xffff);
	assert_int_equal(rd16(h, sp + 2), U_CODE);
	assert_int_equal(rd16(h, sp + 4), 0x3344);
	assert_int_equal(rd16(h, sp + 6), (G_ESP3 - 4) & 0xffff);
	assert_int_equal(rd16(h, sp + 8), U_DATA);
}

static void
test_call_gate__dpl0_gate_from_ring3_is_gp_gate_selector(void **state)
{
	struct harness *h = *state;
	static const uint8_t code[] = {
		0x9a, 0x00, 0x00, 0x00, 0x00, 0x4b, 0x00, /* call 0x4b:0x0 */
	};
	uint64_t idt13[1] = { gate(K_CODE, (uint32_t)G_RING0, 0,
				   SEG_TYPE_INT_GATE32, 0) };

	g_enter(h, true);
	harness_load(h, G_IDT + 13 * 8, idt13, 8);
	assert_int_equal(g_run(h, code, sizeof(code), hlt, sizeof(hlt)),
			 VTX_STOP_HALTED);
	/* #GP through the ring-0 gate: error code, EIP, CS, EFLAGS, ESP,
	 * SS on the TSS stack. */
	assert_int_equal(h->regs.rsp, G_ESP0 - 24);
	assert_int_equal(rd32(h, G_ESP0 - 24), 0x48);
	assert_int_equal(rd32(h, G_ESP0 - 20), CODE_BASE);
	assert_int_equal(h->stats.exceptions[GP_VECTOR], 1);
}

/* TSS.SS0 names a DPL-3 segment: the CALL faults with #TS(SS0) before
 * any change; the #TS handler here is ring-3 code (no stack switch), so
 * the fault frame lands on the caller's own stack. */
static void test_call_gate32__bad_ss0_is_ts_before_any_change(void **state)
{
	struct harness *h = *state;
	uint32_t ss0 = U_DATA;
	uint64_t idt10[1] = { gate(U_CODE, (uint32_t)(CODE_BASE + 0x40), 3,
				   SEG_TYPE_TRAP_GATE32, 0) };
	static const uint8_t out[] = {
		0xe6, 0xf4, /* out 0xf4, al */
	};
	uint64_t sp = G_ESP3 - 8 - 16;

	g_enter(h, true);
	harness_load(h, G_TSS + 8, &ss0, 4);
	harness_load(h, G_IDT + 10 * 8, idt10, 8);
	harness_load(h, CODE_BASE + 0x40, out, sizeof(out));
	assert_int_equal(g_run(h, call_gate32_code, sizeof(call_gate32_code),
			       hlt, sizeof(hlt)),
			 VTX_STOP_PLATFORM);
	assert_int_equal(h->stats.exceptions[TS_VECTOR], 1);
	assert_int_equal(h->regs.rsp, sp);
	assert_int_equal(rd32(h, sp), U_DATA & 0xfffc);
	assert_int_equal(rd32(h, sp + 4), CODE_BASE + 10); /* the CALL */
	assert_int_equal(rd32(h, sp + 8), U_CODE);
	/* The parameters the caller pushed are still there, untouched. */
	assert_int_equal(rd32(h, G_ESP3 - 8), 0x22222222);
	assert_int_equal(h->sregs.ss.selector, U_DATA);
}

/* A TSS too short for ESP0: #TS(TSS), and delivering it needs the same
 * stack: #TS again, #DF, and #DF cannot be delivered either: shutdown,
 * never a host crash. */
static void test_int_n__tss_without_esp0_ends_in_triple_fault(void **state)
{
	struct harness *h = *state;
	static const uint8_t code[] = {
		0xcd, 0x80, /* int 0x80 */
	};
	uint64_t idt[0x20];

	g_enter(h, true);
	for (unsigned v = 0; v < 0x20; v++)
		idt[v] = gate(K_CODE, (uint32_t)G_RING0, 0, SEG_TYPE_INT_GATE32,
			      0);
	harness_load(h, G_IDT, idt, sizeof(idt));
	h->sregs.tr.limit = 7; /* ESP0 at 4..7, SS0 at 8..9: beyond */
	assert_int_equal(g_run(h, code, sizeof(code), hlt, sizeof(hlt)),
			 VTX_STOP_TRIPLE_FAULT);
	assert_non_null(strstr(h->stop.why, "#TS"));
	assert_int_equal(h->sregs.cs.selector, U_CODE);
}

static void test_int_n__ring3_to_ring0_int_gate32_then_iret_back(void **state)
{
	struct harness *h = *state;
	static const uint8_t code[] = {
		0xcd, 0x80, /* int 0x80 */
		0xe6, 0xf4, /* out 0xf4, al */
	};
	uint64_t sp = G_ESP0 - 20;

	g_enter(h, true);
	h->regs.rflags |= X86_EFLAGS_IF;
	assert_int_equal(g_run(h, code, sizeof(code), hlt, sizeof(hlt)),
			 VTX_STOP_HALTED);
	assert_int_equal(h->sregs.cs.selector, K_CODE);
	assert_int_equal(h->sregs.ss.selector, K_DATA);
	assert_int_equal(h->regs.rsp, sp);
	assert_int_equal(rd32(h, sp), CODE_BASE + 2);
	assert_int_equal(rd32(h, sp + 4), U_CODE);
	assert_int_equal(rd32(h, sp + 8),
			 X86_EFLAGS_FIXED | X86_EFLAGS_IOPL | X86_EFLAGS_IF);
	assert_int_equal(rd32(h, sp + 12), G_ESP3);
	assert_int_equal(rd32(h, sp + 16), U_DATA);
	/* An interrupt gate clears IF. */
	assert_int_equal(h->regs.rflags & X86_EFLAGS_IF, 0);

	/* The same with IRETD as the handler: back at ring 3. */
	static const uint8_t iret[] = {
		0xcf, /* iretd */
	};
	struct harness *h2;

	assert_int_equal(harness_setup((void **)&h2), 0);
	g_enter(h2, true);
	h2->regs.rflags |= X86_EFLAGS_IF;
	assert_int_equal(g_run(h2, code, sizeof(code), iret, sizeof(iret)),
			 VTX_STOP_PLATFORM);
	assert_int_equal(h2->sregs.cs.selector, U_CODE);
	assert_int_equal(h2->sregs.ss.selector, U_DATA);
	assert_int_equal(h2->regs.rsp, G_ESP3);
	assert_int_equal(h2->regs.rflags,
			 X86_EFLAGS_FIXED | X86_EFLAGS_IOPL | X86_EFLAGS_IF);
	assert_int_equal(h2->sregs.ds.selector, 0);
	void *st = h2;
	harness_teardown(&st);
}

static void test_iret_outer__ring0_frame_enters_ring3(void **state)
{
	struct harness *h = *state;
	static const uint8_t code[] = {
		0x6a, 0x23, /* push 0x23 */
		0x68, 0x00, 0x00, 0x05, 0x00, /* push 0x50000 */
		0x68, 0x02, 0x30, 0x00, 0x00, /* push 0x3002 */
		0x6a, 0x1b, /* push 0x1b */
		0x68, 0x14, 0x00, 0x10, 0x00, /* push 0x100014 */
		0xcf, /* iretd */
		0xe6, 0xf4, /* 0x100014: out 0xf4, al */
	};

	g_enter(h, false);
	assert_int_equal(g_run(h, code, sizeof(code), hlt, sizeof(hlt)),
			 VTX_STOP_PLATFORM);
	assert_int_equal(h->regs.rip, CODE_BASE + sizeof(code));
	assert_int_equal(h->sregs.cs.selector, U_CODE);
	assert_int_equal(h->sregs.ss.selector, U_DATA);
	assert_int_equal(h->sregs.ss.dpl, 3);
	assert_int_equal(h->regs.rsp, 0x50000);
	assert_int_equal(h->regs.rflags, 0x3002);
	assert_int_equal(h->sregs.ds.selector, 0);
	assert_int_equal(h->sregs.gs.selector, 0);
}

static void test_int_n__16bit_gate_pushes_three_words(void **state)
{
	struct harness *h = *state;
	static const uint8_t code[] = {
		0xcd, 0x81, /* int 0x81 */
	};
	uint64_t sp = G_ESP0 - 6;

	g_enter(h, false);
	assert_int_equal(g_run(h, code, sizeof(code), hlt, sizeof(hlt)),
			 VTX_STOP_HALTED);
	assert_int_equal(h->sregs.cs.selector, K_CODE);
	assert_int_equal(h->regs.rsp, sp);
	assert_int_equal(rd16(h, sp), (CODE_BASE + 2) & 0xffff);
	assert_int_equal(rd16(h, sp + 2), K_CODE);
	assert_int_equal(rd16(h, sp + 4), X86_EFLAGS_FIXED | X86_EFLAGS_IOPL);
}

static void expect_task_switch_ud(struct harness *h, const char *what)
{
	struct vtx_unimpl u;

	assert_int_equal(h->stats.exceptions[UD_VECTOR], 1);
	assert_int_equal(h->stats.unimplemented, 1);
	assert_int_equal(vtx_cpu_get_unimplemented(h->cpu, &u, 1), 1);
	assert_string_equal(u.mnemonic, what);
	assert_int_equal(u.rip, CODE_BASE);
}

static void test_far_jmp__task_gate_is_counted_ud(void **state)
{
	struct harness *h = *state;
	static const uint8_t code[] = {
		0xea, 0x00, 0x00, 0x00, 0x00, 0x43, 0x00, /* jmp 0x43:0x0 */
	};
	uint64_t idt6[1] = { gate(K_CODE, (uint32_t)G_RING0, 0,
				  SEG_TYPE_INT_GATE32, 0) };

	g_enter(h, false);
	harness_load(h, G_IDT + 6 * 8, idt6, 8);
	assert_int_equal(g_run(h, code, sizeof(code), hlt, sizeof(hlt)),
			 VTX_STOP_HALTED);
	expect_task_switch_ud(h, "task switch (far JMP)");
}

static void test_iret__nt_set_is_counted_ud(void **state)
{
	struct harness *h = *state;
	static const uint8_t code[] = {
		0xcf, /* iretd */
	};
	uint64_t idt6[1] = { gate(K_CODE, (uint32_t)G_RING0, 0,
				  SEG_TYPE_INT_GATE32, 0) };

	g_enter(h, false);
	harness_load(h, G_IDT + 6 * 8, idt6, 8);
	h->regs.rflags |= X86_EFLAGS_NT;
	assert_int_equal(g_run(h, code, sizeof(code), hlt, sizeof(hlt)),
			 VTX_STOP_HALTED);
	expect_task_switch_ud(h, "task switch (IRET with NT)");
}

/* Long mode: a 64-bit call gate (16 bytes at SEL_SPARE) from ring 3 to
 * ring 0: RSP from TSS.RSP0, SS null with RPL 0, and the frame RIP, CS,
 * RSP, SS as quadwords; no parameters. */
static void test_call_gate64__ring3_to_ring0_pushes_ss_rsp_cs_rip(void **state)
{
	struct harness *h = *state;
	static const uint8_t code[] = {
		0x48, 0xff, 0x18, /* rex.W call FWORD PTR [rax] */
	};
	static const uint8_t kcode[] = {
		0xf4, /* hlt */
	};
	uint64_t handler = CODE_BASE + 0x100;
	uint64_t g64[2] = { gate(SEL_KCODE, (uint32_t)handler, 3,
				 SEG_TYPE_CALL_GATE32, 0),
			    handler >> 32 };
	uint64_t ptr[2] = { 0, SEL_SPARE | 3 };
	uint64_t sp = HARNESS_RSP0_TOP - 32;

	harness_load(h, HARNESS_GDT + SEL_SPARE, g64, sizeof(g64));
	harness_load(h, USER_CODE, code, sizeof(code));
	harness_load(h, USER_DATA, ptr, sizeof(ptr));
	harness_load(h, handler, kcode, sizeof(kcode));
	harness_enter_user(h, USER_CODE);
	h->regs.rax = USER_DATA;
	assert_int_equal(harness_run(h, 10), VTX_STOP_HALTED);
	assert_int_equal(h->sregs.cs.selector, SEL_KCODE);
	assert_int_equal(h->sregs.ss.selector, 0);
	assert_int_equal(h->regs.rsp, sp);
	assert_int_equal(harness_read64(h, sp), USER_CODE + 3);
	assert_int_equal(harness_read64(h, sp + 8), SEL_UCODE);
	assert_int_equal(harness_read64(h, sp + 16), USER_STACK_TOP);
	assert_int_equal(harness_read64(h, sp + 24), SEL_UDATA);
}

#define T(fn) \
	cmocka_unit_test_setup_teardown(fn, harness_setup, harness_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_call_gate32__ring3_switches_to_tss_stack_copying_2_params),
		T(test_retf_outer__returns_to_ring3_releasing_params_nulling_ds),
		T(test_call_gate16__pushes_words_and_copies_1_param),
		T(test_call_gate__dpl0_gate_from_ring3_is_gp_gate_selector),
		T(test_call_gate32__bad_ss0_is_ts_before_any_change),
		T(test_int_n__tss_without_esp0_ends_in_triple_fault),
		T(test_int_n__ring3_to_ring0_int_gate32_then_iret_back),
		T(test_iret_outer__ring0_frame_enters_ring3),
		T(test_int_n__16bit_gate_pushes_three_words),
		T(test_far_jmp__task_gate_is_counted_ud),
		T(test_iret__nt_set_is_counted_ud),
		T(test_call_gate64__ring3_to_ring0_pushes_ss_rsp_cs_rip),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
