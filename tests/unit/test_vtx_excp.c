/* SPDX-License-Identifier: MIT */
/*
 * test_vtx_excp - exception and interrupt delivery in the model
 * (vtx/exception.c, vtx/exec_sys.c) from raw instruction bytes: the
 * IA-32e frame through interrupt and trap gates, stack alignment, IST and
 * RSP0 stack switches (SDM Vol. 3A 6.14), INT n and its gate DPL check,
 * IRETQ, double and triple faults (6.15), and the record of instructions
 * the model does not implement. Host side, tests only.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>

#include "arch/x86_paging.h"
#include "arch/x86_seg.h"
#include "tests/unit/vtx_harness.h"

/* ---- delivery through the IDT -------------------------------------------- */

static void test_exception__interrupt_gate_frame_and_if_cleared(void **state)
{
	struct harness *h = *state;
	static const uint8_t code[] = {
		0x0f, 0x0b, /* ud2 */
	};
	uint64_t frame;

	h->regs.rflags = X86_EFLAGS_FIXED | X86_EFLAGS_IF | CF;
	assert_int_equal(harness_run_code(h, code, sizeof(code)),
			 VTX_STOP_HALTED);
	frame = harness_expect_exception(h, UD_VECTOR, HARNESS_NO_ERROR_CODE,
					 CODE_BASE);
	assert_int_equal(frame, HARNESS_STACK_TOP - 40);
	assert_int_equal(harness_read64(h, frame + 8), SEL_KCODE);
	assert_int_equal(harness_read64(h, frame + 16),
			 X86_EFLAGS_FIXED | X86_EFLAGS_IF | CF);
	assert_int_equal(harness_read64(h, frame + 24), HARNESS_STACK_TOP);
	assert_int_equal(harness_read64(h, frame + 32), SEL_KDATA);
	/* An interrupt gate clears IF; CS is the gate's. */
	assert_int_equal(h->regs.rflags, X86_EFLAGS_FIXED | CF);
	assert_int_equal(h->sregs.cs.selector, SEL_KCODE);
	assert_int_equal(h->stats.unimplemented, 0);
}

static void test_exception__trap_gate_keeps_if(void **state)
{
	struct harness *h = *state;
	static const uint8_t code[] = {
		0x0f, 0x0b, /* ud2 */
	};

	harness_set_gate(h, UD_VECTOR,
			 HARNESS_STUBS + UD_VECTOR * HARNESS_STUB_SIZE, 0,
			 SEG_TYPE_TRAP_GATE64, 0);
	h->regs.rflags = X86_EFLAGS_FIXED | X86_EFLAGS_IF;
	assert_int_equal(harness_run_code(h, code, sizeof(code)),
			 VTX_STOP_HALTED);
	harness_expect_exception(h, UD_VECTOR, HARNESS_NO_ERROR_CODE,
				 CODE_BASE);
	assert_int_equal(h->regs.rflags, X86_EFLAGS_FIXED | X86_EFLAGS_IF);
}

/* SDM Vol. 3A 6.14.2: in IA-32e mode the new RSP is aligned down to 16
 * bytes before the frame is pushed; the frame holds the old RSP. */
static void
test_exception__frame_is_16_byte_aligned_with_error_code(void **state)
{
	struct harness *h = *state;
	static const uint8_t code[] = {
		0x0f, 0x32, /* rdmsr */
	};
	uint64_t frame, rsp = HARNESS_STACK_TOP - 0x2b;

	h->regs.rsp = rsp;
	h->regs.rcx = 0xdeadbeef; /* no such MSR: #GP(0) */
	assert_int_equal(harness_run_code(h, code, sizeof(code)),
			 VTX_STOP_HALTED);
	frame = harness_expect_exception(h, GP_VECTOR, 0, CODE_BASE);
	assert_int_equal(h->regs.rsp, (rsp & ~0xfull) - 48);
	assert_int_equal(harness_read64(h, frame + 24), rsp);
}

static void test_exception__ist1_gate_switches_to_the_ist_stack(void **state)
{
	struct harness *h = *state;
	static const uint8_t code[] = {
		0x0f, 0x0b, /* ud2 */
	};
	uint64_t frame;

	harness_set_gate(h, UD_VECTOR,
			 HARNESS_STUBS + UD_VECTOR * HARNESS_STUB_SIZE, 1,
			 SEG_TYPE_INT_GATE64, 0);
	assert_int_equal(harness_run_code(h, code, sizeof(code)),
			 VTX_STOP_HALTED);
	frame = harness_expect_exception(h, UD_VECTOR, HARNESS_NO_ERROR_CODE,
					 CODE_BASE);
	assert_int_equal(frame, HARNESS_IST1_TOP - 40);
	assert_int_equal(harness_read64(h, frame + 24), HARNESS_STACK_TOP);
}

static void test_exception__from_cpl3_uses_rsp0_and_a_null_ss(void **state)
{
	struct harness *h = *state;
	static const uint8_t code[] = {
		0x0f, 0x0b, /* ud2 */
	};
	uint64_t frame;

	harness_load(h, USER_CODE, code, sizeof(code));
	harness_enter_user(h, USER_CODE);
	h->regs.rflags = X86_EFLAGS_FIXED | X86_EFLAGS_IF;
	assert_int_equal(harness_run(h, 100), VTX_STOP_HALTED);
	frame = harness_expect_exception(h, UD_VECTOR, HARNESS_NO_ERROR_CODE,
					 USER_CODE);
	assert_int_equal(frame, HARNESS_RSP0_TOP - 40);
	assert_int_equal(harness_read64(h, frame + 8), SEL_UCODE);
	assert_int_equal(harness_read64(h, frame + 16),
			 X86_EFLAGS_FIXED | X86_EFLAGS_IF);
	assert_int_equal(harness_read64(h, frame + 24), USER_STACK_TOP);
	assert_int_equal(harness_read64(h, frame + 32), SEL_UDATA);
	/* SDM Vol. 3A 6.14.4: SS is loaded with a null selector, RPL 0. */
	assert_int_equal(h->sregs.cs.selector, SEL_KCODE);
	assert_int_equal(h->sregs.ss.selector, 0);
}

/* A gate with P = 0: #NP with the IDT-vector error code, EXT set for an
 * exception (SDM Vol. 3A 6.13). */
static void test_exception__not_present_gate_raises_np(void **state)
{
	struct harness *h = *state;
	static const uint8_t code[] = {
		0x0f, 0x0b, /* ud2 */
	};
	uint8_t attr = SEG_TYPE_INT_GATE64;

	/* Byte 5 of the gate: P, DPL, type; an interrupt gate with P = 0. */
	harness_load(h, HARNESS_IDT + UD_VECTOR * 16 + 5, &attr, 1);
	assert_int_equal(harness_run_code(h, code, sizeof(code)),
			 VTX_STOP_HALTED);
	harness_expect_exception(h, NP_VECTOR, UD_VECTOR * 8 + 2 + 1,
				 CODE_BASE);
	assert_int_equal(h->stats.exceptions[UD_VECTOR], 0);
}

/* ---- INT n, INT3, IRETQ -------------------------------------------------- */

/* A software interrupt through a gate whose DPL is below CPL: #GP with
 * the IDT-vector error code n * 8 + 2 (IDT bit set, EXT clear; SDM Vol.
 * 3A 6.13), reported at the INT itself. */
static void
test_int_n__dpl0_gate_from_cpl3_raises_gp_vector_error_code(void **state)
{
	struct harness *h = *state;
	static const uint8_t code[] = {
		0xcd, 0x80, /* int 0x80 */
	};

	harness_load(h, USER_CODE, code, sizeof(code));
	harness_enter_user(h, USER_CODE);
	assert_int_equal(harness_run(h, 100), VTX_STOP_HALTED);
	harness_expect_exception(h, GP_VECTOR, 0x80 * 8 + 2, USER_CODE);
	assert_int_equal(h->stats.insns, 1); /* the stub's HLT */
}

static void test_int_n__dpl3_gate_from_cpl3_and_iretq_back(void **state)
{
	struct harness *h = *state;
	static const uint8_t user[] = {
		0xcd, 0x80, /* int 0x80 */
		0xb9, 0x01, 0x00, 0x00, 0x00, /* mov ecx, 0x1 */
	};
	static const uint8_t handler[] = {
		0xbb, 0x55, 0x00, 0x00, 0x00, /* mov ebx, 0x55 */
		0x48, 0xcf, /* iretq */
	};

	harness_load(h, USER_CODE, user, sizeof(user));
	harness_load(h, CODE_BASE + 0x100, handler, sizeof(handler));
	harness_set_gate(h, 0x80, CODE_BASE + 0x100, 0, SEG_TYPE_INT_GATE64, 3);
	harness_enter_user(h, USER_CODE);
	h->regs.rflags = X86_EFLAGS_FIXED | X86_EFLAGS_IF | ZF;

	/* INT, then the handler's first instruction at CPL 0. */
	assert_int_equal(harness_run(h, 2), VTX_STOP_INSN_LIMIT);
	assert_int_equal(h->sregs.cs.selector, SEL_KCODE);
	assert_int_equal(h->regs.rsp, HARNESS_RSP0_TOP - 40);
	/* A trap-like event: the frame's RIP is the next instruction. */
	assert_int_equal(harness_read64(h, h->regs.rsp), USER_CODE + 2);
	assert_int_equal(h->regs.rflags, X86_EFLAGS_FIXED | ZF);

	/* IRETQ back to CPL 3, then the user's MOV. */
	assert_int_equal(harness_run(h, 2), VTX_STOP_INSN_LIMIT);
	assert_int_equal(h->sregs.cs.selector, SEL_UCODE);
	assert_int_equal(h->sregs.ss.selector, SEL_UDATA);
	assert_int_equal(h->regs.rip, USER_CODE + sizeof(user));
	assert_int_equal(h->regs.rsp, USER_STACK_TOP);
	assert_int_equal(h->regs.rflags, X86_EFLAGS_FIXED | X86_EFLAGS_IF | ZF);
	assert_int_equal(h->regs.rbx, 0x55);
	assert_int_equal(h->regs.rcx, 1);
	/* Vectors above 31 are not exceptions. */
	for (int v = 0; v < 32; v++)
		assert_int_equal(h->stats.exceptions[v], 0);
}

static void test_int3__frame_holds_the_address_after_it(void **state)
{
	struct harness *h = *state;
	static const uint8_t code[] = {
		0x90, /* nop */
		0xcc, /* int3 */
	};

	assert_int_equal(harness_run_code(h, code, sizeof(code)),
			 VTX_STOP_HALTED);
	harness_expect_exception(h, BP_VECTOR, HARNESS_NO_ERROR_CODE,
				 CODE_BASE + 2);
	assert_int_equal(h->stats.insns, 3);
}

static void test_iretq__same_privilege_restores_rip_rsp_rflags(void **state)
{
	struct harness *h = *state;
	static const uint8_t code[] = {
		0x6a, 0x10, /* push 0x10 */
		0x68, 0x00, 0xf0, 0x07, 0x00, /* push 0x7f000 */
		0x68, 0x03, 0x02, 0x00, 0x00, /* push 0x203 */
		0x6a, 0x08, /* push 0x8 */
		0x68, 0x40, 0x00, 0x10, 0x00, /* push 0x100040 */
		0x48, 0xcf, /* iretq */
	};

	harness_exec(h, code, sizeof(code), 6);
	assert_int_equal(h->regs.rip, CODE_BASE + 0x40);
	assert_int_equal(h->regs.rsp, 0x7f000);
	assert_int_equal(h->regs.rflags, X86_EFLAGS_FIXED | X86_EFLAGS_IF | CF);
	assert_int_equal(h->sregs.cs.selector, SEL_KCODE);
	assert_int_equal(h->sregs.ss.selector, SEL_KDATA);
}

/* IRETQ loads CS and SS from descriptors whose accessed bit is clear: it
 * sets the bit in both descriptors and in both registers (SDM Vol. 3A
 * 3.4.5.1), as VM entry's guest-state checks expect of usable segments
 * (SDM Vol. 3C 27.3.1.2). */
static void test_iretq__to_cpl3_sets_the_accessed_bits(void **state)
{
	struct harness *h = *state;
	static const uint8_t code[] = {
		0x6a, 0x1b, /* push 0x1b (SS) */
		0x68, 0x00, 0x00, 0x19, 0x00, /* push 0x190000 */
		0x6a, 0x02, /* push 0x2 */
		0x6a, 0x23, /* push 0x23 (CS) */
		0x68, 0x00, 0x00, 0x18, 0x00, /* push 0x180000 */
		0x48, 0xcf, /* iretq */
	};
	const uint64_t acc = 1ull << 40; /* type bit 0 of a descriptor */
	uint64_t ucode = HARNESS_GDT + SEL_INDEX(SEL_UCODE) * 8;
	uint64_t udata = HARNESS_GDT + SEL_INDEX(SEL_UDATA) * 8;

	harness_write64(h, ucode, harness_read64(h, ucode) & ~acc);
	harness_write64(h, udata, harness_read64(h, udata) & ~acc);
	harness_exec(h, code, sizeof(code), 6);
	assert_int_equal(h->regs.rip, USER_CODE);
	assert_int_equal(h->sregs.cs.selector, SEL_UCODE);
	assert_int_equal(h->sregs.cs.type, SEG_TYPE_CODE_XR_ACCESSED);
	assert_int_equal(h->sregs.ss.type, SEG_TYPE_DATA_RW_ACCESSED);
	assert_true(harness_read64(h, ucode) & acc);
	assert_true(harness_read64(h, udata) & acc);
}

/* ---- double and triple faults (SDM Vol. 3A 6.15, Table 6-5) -------------- */

/* A #PF while pushing the frame of a #PF is a #DF; the #DF gate switches
 * to IST1, so it can be delivered although the stack is gone. */
static void test_double_fault__pf_while_delivering_pf_goes_to_ist1(void **state)
{
	struct harness *h = *state;
	static const uint8_t code[] = {
		0x48, 0x8b, 0x07, /* mov rax, qword ptr [rdi] */
	};
	uint64_t frame;

	harness_set_gate(h, DF_VECTOR,
			 HARNESS_STUBS + DF_VECTOR * HARNESS_STUB_SIZE, 1,
			 SEG_TYPE_INT_GATE64, 0);
	*harness_pte(h, DATA_BASE) &= ~PTE_P;
	h->regs.rdi = DATA_BASE;
	h->regs.rsp = 0x800; /* page 0 is not present */
	assert_int_equal(harness_run_code(h, code, sizeof(code)),
			 VTX_STOP_HALTED);
	frame = harness_expect_exception(h, DF_VECTOR, 0, CODE_BASE);
	assert_int_equal(frame, HARNESS_IST1_TOP - 40);
	assert_int_equal(harness_read64(h, frame + 24), 0x800);
	assert_int_equal(h->stats.exceptions[PF_VECTOR], 0);
	/* CR2 is the frame slot whose push faulted. */
	assert_in_range(h->sregs.cr2, 0x800 - 48, 0x800 - 8);
}

static void test_triple_fault__ud_without_idt_stops_with_the_chain(void **state)
{
	struct harness *h = *state;
	static const uint8_t code[] = {
		0x0f, 0x0b, /* ud2 */
	};

	h->sregs.idt.limit = 0;
	assert_int_equal(harness_run_code(h, code, sizeof(code)),
			 VTX_STOP_TRIPLE_FAULT);
	assert_int_equal(h->stop.rip, CODE_BASE);
	/* #UD finds no gate (error code 6 * 8 + 3: IDT, EXT), nor does the
	 * #GP (13 * 8 + 3); two contributory faults make a #DF, and a fault
	 * delivering #DF shuts the processor down. */
	assert_string_equal(h->stop.why,
			    "#UD at RIP 0x100000, "
			    "then #GP(0x33) while delivering it, "
			    "then #GP(0x6b) while delivering it, so #DF, "
			    "then #GP while delivering #DF, then shutdown");
	assert_string_equal(vtx_stop_reason_name(h->stop.reason),
			    "triple fault");
	for (int v = 0; v < 32; v++)
		assert_int_equal(h->stats.exceptions[v], 0);
	/* A shut-down CPU does not run again. */
	assert_int_equal(vtx_cpu_run(h->cpu, &h->stop), -EINVAL);
}

/* ---- instructions the model does not implement --------------------------- */

static void
test_ud__sse_instruction_is_recorded_with_bytes_and_count(void **state)
{
	struct harness *h = *state;
	static const uint8_t code[] = {
		0x66, 0x0f, 0xef, 0xc0, /* pxor xmm0, xmm0 */
	};
	struct vtx_unimpl u[2];

	assert_int_equal(harness_run_code(h, code, sizeof(code)),
			 VTX_STOP_HALTED);
	harness_expect_exception(h, UD_VECTOR, HARNESS_NO_ERROR_CODE,
				 CODE_BASE);
	assert_int_equal(h->stats.unimplemented, 1);
	assert_int_equal(vtx_cpu_get_unimplemented(h->cpu, u, 2), 1);
	assert_int_equal(u[0].rip, CODE_BASE);
	assert_int_equal(u[0].count, 1);
	assert_int_equal(u[0].len, sizeof(code));
	assert_memory_equal(u[0].bytes, code, sizeof(code));
	assert_string_equal(u[0].mnemonic, "pxor");

	/* Met again: the same record, counted twice. */
	h->regs.rip = CODE_BASE;
	h->regs.rsp = HARNESS_STACK_TOP;
	assert_int_equal(harness_run(h, 100), VTX_STOP_HALTED);
	assert_int_equal(h->stats.unimplemented, 2);
	assert_int_equal(h->stats.exceptions[UD_VECTOR], 2);
	assert_int_equal(vtx_cpu_get_unimplemented(h->cpu, u, 2), 1);
	assert_int_equal(u[0].count, 2);
}

static void test_ud__undecodable_bytes_are_recorded(void **state)
{
	struct harness *h = *state;
	/* PUSH ES does not exist in 64-bit mode. */
	static const uint8_t code[] = {
		0x06, /* (bad) */
	};
	struct vtx_unimpl u;

	assert_int_equal(harness_run_code(h, code, sizeof(code)),
			 VTX_STOP_HALTED);
	harness_expect_exception(h, UD_VECTOR, HARNESS_NO_ERROR_CODE,
				 CODE_BASE);
	assert_int_equal(h->stats.unimplemented, 1);
	assert_int_equal(vtx_cpu_get_unimplemented(h->cpu, &u, 1), 1);
	assert_int_equal(u.rip, CODE_BASE);
	assert_int_equal(u.count, 1);
	assert_string_equal(u.mnemonic, "(undecodable)");
	/* With no length to go by, the record keeps the whole fetch
	 * window of 15 bytes. */
	assert_int_equal(u.len, 15);
	assert_int_equal(u.bytes[0], 0x06);
}

static void test_ud__ud2_is_not_an_unimplemented_instruction(void **state)
{
	struct harness *h = *state;
	static const uint8_t code[] = {
		0x0f, 0x0b, /* ud2 */
	};
	struct vtx_unimpl u;

	assert_int_equal(harness_run_code(h, code, sizeof(code)),
			 VTX_STOP_HALTED);
	harness_expect_exception(h, UD_VECTOR, HARNESS_NO_ERROR_CODE,
				 CODE_BASE);
	assert_int_equal(h->stats.unimplemented, 0);
	assert_int_equal(vtx_cpu_get_unimplemented(h->cpu, &u, 1), 0);
}

#define T(t) cmocka_unit_test_setup_teardown(t, harness_setup, harness_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_exception__interrupt_gate_frame_and_if_cleared),
		T(test_exception__trap_gate_keeps_if),
		T(test_exception__frame_is_16_byte_aligned_with_error_code),
		T(test_exception__ist1_gate_switches_to_the_ist_stack),
		T(test_exception__from_cpl3_uses_rsp0_and_a_null_ss),
		T(test_exception__not_present_gate_raises_np),
		T(test_int_n__dpl0_gate_from_cpl3_raises_gp_vector_error_code),
		T(test_int_n__dpl3_gate_from_cpl3_and_iretq_back),
		T(test_int3__frame_holds_the_address_after_it),
		T(test_iretq__same_privilege_restores_rip_rsp_rflags),
		T(test_iretq__to_cpl3_sets_the_accessed_bits),
		T(test_double_fault__pf_while_delivering_pf_goes_to_ist1),
		T(test_triple_fault__ud_without_idt_stops_with_the_chain),
		T(test_ud__sse_instruction_is_recorded_with_bytes_and_count),
		T(test_ud__undecodable_bytes_are_recorded),
		T(test_ud__ud2_is_not_an_unimplemented_instruction),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
