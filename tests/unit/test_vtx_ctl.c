/* SPDX-License-Identifier: MIT */
/*
 * test_vtx_ctl - the model's string instructions, stack and near control
 * transfers and flag instructions (vtx/exec_ctl.c) from raw instruction
 * bytes: REP MOVS/STOS/LODS/CMPS/SCAS both directions, PUSH/POP, CALL/RET,
 * JMP/Jcc/LOOP/JRCXZ, LEAVE, PUSHF/POPF at CPL 0 and 3, LAHF/SAHF (SDM
 * Vol. 1 ch. 6-7, Vol. 2). Host side, tests only.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "arch/x86_seg.h"
#include "tests/unit/vtx_harness.h"

static void load_bytes(struct harness *h, uint64_t gpa, const char *s)
{
	harness_load(h, gpa, s, strlen(s));
}

static void assert_bytes(struct harness *h, uint64_t gpa, const char *s,
			 size_t n)
{
	char buf[64];

	assert_true(n <= sizeof(buf));
	assert_int_equal(vtx_hpa_read(h->m, gpa, buf, n), 0);
	assert_memory_equal(buf, s, n);
}

/* ---- string instructions ------------------------------------------------- */

static void test_rep_movsb__copies_forward_and_counts_rcx_down(void **state)
{
	struct harness *h = *state;
	static const uint8_t code[] = {
		0xf3, 0xa4, /* rep movs byte ptr es:[rdi], byte ptr [rsi] */
	};

	load_bytes(h, DATA_BASE, "abcdefgh");
	load_bytes(h, DATA_BASE + 0x100, "........");
	h->regs.rsi = DATA_BASE;
	h->regs.rdi = DATA_BASE + 0x100;
	h->regs.rcx = 5;
	harness_exec(h, code, sizeof(code), 1);
	assert_bytes(h, DATA_BASE + 0x100, "abcde...", 8);
	assert_int_equal(h->regs.rsi, DATA_BASE + 5);
	assert_int_equal(h->regs.rdi, DATA_BASE + 0x105);
	assert_int_equal(h->regs.rcx, 0);
	assert_int_equal(h->regs.rip, CODE_BASE + sizeof(code));
}

static void test_rep_movsb__df_set_copies_backward(void **state)
{
	struct harness *h = *state;
	static const uint8_t code[] = {
		0xfd, /* std */
		0xf3, 0xa4, /* rep movs byte ptr es:[rdi], byte ptr [rsi] */
	};

	load_bytes(h, DATA_BASE, "abcdefgh");
	load_bytes(h, DATA_BASE + 0x100, "........");
	h->regs.rsi = DATA_BASE + 7;
	h->regs.rdi = DATA_BASE + 0x107;
	h->regs.rcx = 3;
	harness_exec(h, code, sizeof(code), 2);
	assert_bytes(h, DATA_BASE + 0x100, ".....fgh", 8);
	assert_int_equal(h->regs.rsi, DATA_BASE + 4);
	assert_int_equal(h->regs.rdi, DATA_BASE + 0x104);
	assert_int_equal(h->regs.rcx, 0);
	assert_rflags(h, X86_EFLAGS_DF);
}

static void test_rep_stosb__rcx_zero_writes_nothing(void **state)
{
	struct harness *h = *state;
	static const uint8_t code[] = {
		0xf3, 0xaa, /* rep stos byte ptr es:[rdi], al */
	};

	load_bytes(h, DATA_BASE, "........");
	h->regs.rdi = DATA_BASE;
	h->regs.rax = 'x';
	h->regs.rflags = X86_EFLAGS_FIXED | ARITH_ALL;
	harness_exec(h, code, sizeof(code), 1);
	assert_bytes(h, DATA_BASE, "........", 8);
	assert_int_equal(h->regs.rdi, DATA_BASE);
	assert_int_equal(h->regs.rcx, 0);
	assert_rflags(h, ARITH_ALL);
}

static void test_rep_stosb__run_across_a_page_boundary(void **state)
{
	struct harness *h = *state;
	static const uint8_t code[] = {
		0xf3, 0xaa, /* rep stos byte ptr es:[rdi], al */
	};

	load_bytes(h, DATA_BASE + 0xffc, "........");
	h->regs.rdi = DATA_BASE + 0xffe;
	h->regs.rax = 'x';
	h->regs.rcx = 4;
	harness_exec(h, code, sizeof(code), 1);
	assert_bytes(h, DATA_BASE + 0xffc, "..xxxx..", 8);
	assert_int_equal(h->regs.rdi, DATA_BASE + 0x1002);
	assert_int_equal(h->regs.rcx, 0);
}

static void test_rep_stosb__df_set_fills_downward(void **state)
{
	struct harness *h = *state;
	static const uint8_t code[] = {
		0xfd, /* std */
		0xf3, 0xaa, /* rep stos byte ptr es:[rdi], al */
	};

	load_bytes(h, DATA_BASE, "........");
	h->regs.rdi = DATA_BASE + 5;
	h->regs.rax = 'x';
	h->regs.rcx = 3;
	harness_exec(h, code, sizeof(code), 2);
	assert_bytes(h, DATA_BASE, "...xxx..", 8);
	assert_int_equal(h->regs.rdi, DATA_BASE + 2);
	assert_int_equal(h->regs.rcx, 0);
}

static void test_rep_stosq__fills_qwords(void **state)
{
	struct harness *h = *state;
	static const uint8_t code[] = {
		0xf3, 0x48, 0xab, /* rep stos qword ptr es:[rdi], rax */
	};

	h->regs.rdi = DATA_BASE;
	h->regs.rax = 0x1122334455667788;
	h->regs.rcx = 3;
	harness_exec(h, code, sizeof(code), 1);
	for (int k = 0; k < 3; k++)
		assert_int_equal(harness_read64(h, DATA_BASE + 8 * k),
				 0x1122334455667788);
	assert_int_equal(harness_read64(h, DATA_BASE + 24), 0);
	assert_int_equal(h->regs.rdi, DATA_BASE + 24);
	assert_int_equal(h->regs.rcx, 0);
}

static void test_lods__byte_forward_then_qword_backward(void **state)
{
	struct harness *h = *state;
	static const uint8_t code[] = {
		0xac, /* lods al, byte ptr [rsi] */
		0xfd, /* std */
		0x48, 0xad, /* lods rax, qword ptr [rsi] */
	};

	harness_write64(h, DATA_BASE, 0x8877665544332211);
	h->regs.rsi = DATA_BASE;
	h->regs.rax = 0xffffffffffffff00;
	harness_exec(h, code, sizeof(code), 1);
	assert_int_equal(h->regs.rax, 0xffffffffffffff11); /* AL only */
	assert_int_equal(h->regs.rsi, DATA_BASE + 1);

	/* LODSB from the byte below (AL = 0), then LODSQ with DF = 1. */
	h->regs.rsi = DATA_BASE - 1;
	harness_exec(h, code, sizeof(code), 3);
	assert_int_equal(h->regs.rax, 0x8877665544332211);
	assert_int_equal(h->regs.rsi, DATA_BASE - 8);
}

static void test_repe_cmpsb__stops_at_the_first_difference(void **state)
{
	struct harness *h = *state;
	static const uint8_t code[] = {
		0xf3, 0xa6, /* repz cmps byte ptr [rsi], byte ptr es:[rdi] */
	};

	load_bytes(h, DATA_BASE, "abcXefgh");
	load_bytes(h, DATA_BASE + 0x100, "abcYefgh");
	h->regs.rsi = DATA_BASE;
	h->regs.rdi = DATA_BASE + 0x100;
	h->regs.rcx = 8;
	harness_exec(h, code, sizeof(code), 1);
	assert_int_equal(h->regs.rcx, 4);
	assert_int_equal(h->regs.rsi, DATA_BASE + 4);
	assert_int_equal(h->regs.rdi, DATA_BASE + 0x104);
	/* The flags of 'X' - 'Y' = 0x58 - 0x59. */
	assert_rflags(h, CF | SF | AF | PF);
}

static void test_repne_scasb__finds_the_terminator(void **state)
{
	struct harness *h = *state;
	static const uint8_t code[] = {
		0xf2, 0xae, /* repnz scas al, byte ptr es:[rdi] */
	};

	harness_load(h, DATA_BASE, "hello\0xx", 8);
	h->regs.rdi = DATA_BASE;
	h->regs.rcx = 100;
	h->regs.rax = 0x4100; /* AL = 0 */
	harness_exec(h, code, sizeof(code), 1);
	assert_int_equal(h->regs.rdi, DATA_BASE + 6);
	assert_int_equal(h->regs.rcx, 94);
	assert_rflags(h, ZF | PF);
}

static void test_repe_cmpsb__rcx_zero_keeps_flags_and_pointers(void **state)
{
	struct harness *h = *state;
	static const uint8_t code[] = {
		0xf3, 0xa6, /* repz cmps byte ptr [rsi], byte ptr es:[rdi] */
	};

	h->regs.rsi = DATA_BASE;
	h->regs.rdi = DATA_BASE + 0x100;
	h->regs.rflags = X86_EFLAGS_FIXED | CF | OF;
	harness_exec(h, code, sizeof(code), 1);
	assert_int_equal(h->regs.rsi, DATA_BASE);
	assert_int_equal(h->regs.rdi, DATA_BASE + 0x100);
	assert_rflags(h, CF | OF);
}

/* ---- the stack ----------------------------------------------------------- */

static void test_push_pop__round_trip_with_imm8_sign_extended(void **state)
{
	struct harness *h = *state;
	static const uint8_t code[] = {
		0x50, /* push rax */
		0x6a, 0xff, /* push 0xffffffffffffffff */
		0x5b, /* pop rbx */
		0x59, /* pop rcx */
	};

	h->regs.rax = 0x0123456789abcdef;
	harness_exec(h, code, sizeof(code), 2);
	assert_int_equal(h->regs.rsp, HARNESS_STACK_TOP - 16);
	assert_int_equal(harness_read64(h, HARNESS_STACK_TOP - 8),
			 0x0123456789abcdef);
	assert_int_equal(harness_read64(h, HARNESS_STACK_TOP - 16), ~0ull);

	h->regs.rsp = HARNESS_STACK_TOP;
	harness_exec(h, code, sizeof(code), 4);
	assert_int_equal(h->regs.rbx, ~0ull);
	assert_int_equal(h->regs.rcx, 0x0123456789abcdef);
	assert_int_equal(h->regs.rsp, HARNESS_STACK_TOP);
}

static void test_push__16bit_operand_moves_rsp_by_2(void **state)
{
	struct harness *h = *state;
	static const uint8_t code[] = {
		0x66, 0x50, /* push ax */
	};

	harness_write64(h, HARNESS_STACK_TOP - 8, 0);
	h->regs.rax = 0x1111111111112233;
	harness_exec(h, code, sizeof(code), 1);
	assert_int_equal(h->regs.rsp, HARNESS_STACK_TOP - 2);
	assert_int_equal(harness_read64(h, HARNESS_STACK_TOP - 8),
			 0x2233000000000000);
}

static void test_push__rsp_stores_the_value_before_the_push(void **state)
{
	struct harness *h = *state;
	static const uint8_t code[] = {
		0x54, /* push rsp */
	};

	harness_exec(h, code, sizeof(code), 1);
	assert_int_equal(h->regs.rsp, HARNESS_STACK_TOP - 8);
	assert_int_equal(harness_read64(h, HARNESS_STACK_TOP - 8),
			 HARNESS_STACK_TOP);
}

static void test_pop__rsp_takes_the_popped_value(void **state)
{
	struct harness *h = *state;
	static const uint8_t code[] = {
		0x5c, /* pop rsp */
	};

	harness_write64(h, HARNESS_STACK_TOP - 8, 0x12345);
	h->regs.rsp = HARNESS_STACK_TOP - 8;
	harness_exec(h, code, sizeof(code), 1);
	assert_int_equal(h->regs.rsp, 0x12345);
}

/* SDM Vol. 2B "POP": an RSP-based destination address is computed after
 * RSP has been incremented. */
static void test_pop__memory_with_rsp_base_uses_the_new_rsp(void **state)
{
	struct harness *h = *state;
	static const uint8_t code[] = {
		0x8f, 0x04, 0x24, /* pop qword ptr [rsp] */
	};

	harness_write64(h, HARNESS_STACK_TOP - 16, 0xaaaa);
	harness_write64(h, HARNESS_STACK_TOP - 8, 0xbbbb);
	h->regs.rsp = HARNESS_STACK_TOP - 16;
	harness_exec(h, code, sizeof(code), 1);
	assert_int_equal(h->regs.rsp, HARNESS_STACK_TOP - 8);
	assert_int_equal(harness_read64(h, HARNESS_STACK_TOP - 8), 0xaaaa);
	assert_int_equal(harness_read64(h, HARNESS_STACK_TOP - 16), 0xaaaa);
}

/* A stack access at a non-canonical address raises #SS(0), not #GP(0)
 * (SDM Vol. 2B "PUSH", "POP": 64-bit mode exceptions; found by the
 * differential tester). IST1 gives the handler a usable stack. */
static void expect_stack_fault(struct harness *h, const uint8_t *code,
			       size_t len)
{
	uint64_t frame;

	harness_set_gate(h, SS_VECTOR, HARNESS_STUBS + SS_VECTOR * 16, 1,
			 SEG_TYPE_INT_GATE64, 0);
	h->regs.rsp = 0x0000800000000010;
	assert_int_equal(harness_run_code(h, code, len), VTX_STOP_HALTED);
	frame = harness_expect_exception(h, SS_VECTOR, 0, CODE_BASE);
	assert_int_equal(harness_read64(h, frame + 24), 0x0000800000000010);
	assert_int_equal(h->stats.exceptions[GP_VECTOR], 0);
}

static void test_push__non_canonical_rsp_raises_ss(void **state)
{
	static const uint8_t code[] = {
		0x50, /* push rax */
	};

	expect_stack_fault(*state, code, sizeof(code));
}

static void test_pop__non_canonical_rsp_raises_ss(void **state)
{
	static const uint8_t code[] = {
		0x5b, /* pop rbx */
	};

	expect_stack_fault(*state, code, sizeof(code));
}

/* An explicit memory operand based on RSP or RBP uses SS: a
 * non-canonical address there is #SS(0), not #GP(0) (SDM Vol. 3A 6.15,
 * "Interrupt 12"). */
static void test_mov__non_canonical_rsp_based_operand_raises_ss(void **state)
{
	static const uint8_t code[] = {
		0x48, 0x8b, 0x04, 0x24, /* mov rax, qword ptr [rsp] */
	};

	expect_stack_fault(*state, code, sizeof(code));
}

static void test_leave__restores_rsp_and_rbp(void **state)
{
	struct harness *h = *state;
	static const uint8_t code[] = {
		0xc9, /* leave */
	};

	harness_write64(h, HARNESS_STACK_TOP - 0x40, 0xfeedface);
	h->regs.rbp = HARNESS_STACK_TOP - 0x40;
	h->regs.rsp = HARNESS_STACK_TOP - 0x80;
	harness_exec(h, code, sizeof(code), 1);
	assert_int_equal(h->regs.rbp, 0xfeedface);
	assert_int_equal(h->regs.rsp, HARNESS_STACK_TOP - 0x38);
}

/* ---- near control transfers ---------------------------------------------- */

static void test_call_ret__rel32_round_trip(void **state)
{
	struct harness *h = *state;
	static const uint8_t code[] = {
		0xe8, 0x01, 0x00, 0x00, 0x00, /* call 0x6 */
		0xf4, /* hlt */
		0xb8, 0x01, 0x00, 0x00, 0x00, /* mov eax, 0x1 */
		0xc3, /* ret */
	};

	/* call, mov, ret: back at the HLT, nothing left on the stack. */
	harness_exec(h, code, sizeof(code), 3);
	assert_int_equal(h->regs.rip, CODE_BASE + 5);
	assert_int_equal(h->regs.rax, 1);
	assert_int_equal(h->regs.rsp, HARNESS_STACK_TOP);
	assert_int_equal(harness_read64(h, HARNESS_STACK_TOP - 8),
			 CODE_BASE + 5);
}

/* RET imm16 releases an unsigned 16-bit count of bytes after popping. */
static void test_ret__imm16_is_unsigned(void **state)
{
	struct harness *h = *state;
	static const uint8_t code[] = {
		0xe8, 0x01, 0x00, 0x00, 0x00, /* call 0x6 */
		0xf4, /* hlt */
		0xc2, 0x10, 0x80, /* ret 0x8010 */
	};

	harness_exec(h, code, sizeof(code), 2);
	assert_int_equal(h->regs.rip, CODE_BASE + 5);
	assert_int_equal(h->regs.rsp, HARNESS_STACK_TOP + 0x8010);
}

static void test_call__indirect_through_register_and_memory(void **state)
{
	struct harness *h = *state;
	static const uint8_t code[] = {
		0xff, 0xd0, /* call rax */
		0xff, 0x17, /* call qword ptr [rdi] */
	};

	harness_write64(h, DATA_BASE, CODE_BASE + 0x40);
	h->regs.rax = CODE_BASE + 2;
	h->regs.rdi = DATA_BASE;
	/* call rax lands on the second call; that one goes to +0x40. */
	harness_exec(h, code, sizeof(code), 2);
	assert_int_equal(h->regs.rip, CODE_BASE + 0x40);
	assert_int_equal(h->regs.rsp, HARNESS_STACK_TOP - 16);
	assert_int_equal(harness_read64(h, HARNESS_STACK_TOP - 8),
			 CODE_BASE + 2);
	assert_int_equal(harness_read64(h, HARNESS_STACK_TOP - 16),
			 CODE_BASE + 4);
}

static void test_jmp__non_canonical_target_raises_gp(void **state)
{
	struct harness *h = *state;
	static const uint8_t code[] = {
		0xff, 0xe0, /* jmp rax */
	};

	h->regs.rax = 0x0000800000000000;
	harness_load(h, CODE_BASE, code, sizeof(code));
	assert_int_equal(harness_run(h, 10), VTX_STOP_HALTED);
	assert_int_equal(harness_stop_vector(h), GP_VECTOR);
	/* The fault is on the JMP itself (SDM Vol. 3A 6.15, #GP). */
	assert_int_equal(harness_read64(h, h->regs.rsp), 0);
	assert_int_equal(harness_read64(h, h->regs.rsp + 8), CODE_BASE);
}

static void test_jcc__taken_skips_and_not_taken_falls_through(void **state)
{
	struct harness *h = *state;
	static const uint8_t code[] = {
		0x48, 0x39, 0xd8, /* cmp rax, rbx */
		0x7c, 0x05, /* jl 0xa */
		0xb9, 0x01, 0x00, 0x00, 0x00, /* mov ecx, 0x1 */
		0xba, 0x02, 0x00, 0x00, 0x00, /* mov edx, 0x2 */
	};

	h->regs.rax = ~0ull; /* -1 < 1 signed */
	h->regs.rbx = 1;
	harness_exec(h, code, sizeof(code), 3);
	assert_int_equal(h->regs.rcx, 0);
	assert_int_equal(h->regs.rdx, 2);
	assert_int_equal(h->regs.rip, CODE_BASE + sizeof(code));

	h->regs.rdx = 0;
	h->regs.rax = 1;
	harness_exec(h, code, sizeof(code), 4);
	assert_int_equal(h->regs.rcx, 1);
	assert_int_equal(h->regs.rdx, 2);
	assert_int_equal(h->regs.rip, CODE_BASE + sizeof(code));
}

static void test_jmp__rel8_backward_loop_with_jnz(void **state)
{
	struct harness *h = *state;
	static const uint8_t code[] = {
		0x83, 0xc0, 0x03, /* add eax, 0x3 */
		0xff, 0xc9, /* dec ecx */
		0x75, 0xf9, /* jne 0x0 */
		0xeb, 0x01, /* jmp 0xa */
		0xf4, /* hlt */
		0x90, /* nop */
	};

	h->regs.rcx = 4;
	/* 4 rounds of add, dec, jnz, then jmp and nop. */
	harness_exec(h, code, sizeof(code), 14);
	assert_int_equal(h->regs.rax, 12);
	assert_int_equal(h->regs.rcx, 0);
	assert_int_equal(h->regs.rip, CODE_BASE + sizeof(code));
}

static void test_loop__counts_rcx_down_without_touching_flags(void **state)
{
	struct harness *h = *state;
	static const uint8_t code[] = {
		0x48, 0xff, 0xc0, /* inc rax */
		0xe2, 0xfb, /* loop 0x0 */
		0x90, /* nop */
	};

	h->regs.rcx = 5;
	h->regs.rflags = X86_EFLAGS_FIXED | CF;
	harness_exec(h, code, sizeof(code), 10);
	assert_int_equal(h->regs.rax, 5);
	assert_int_equal(h->regs.rcx, 0);
	assert_int_equal(h->regs.rip, CODE_BASE + sizeof(code) - 1);
	/* PF from INC 4 -> 5, CF kept; LOOP changes nothing. */
	assert_rflags(h, CF | PF);
}

static void test_jrcxz__jumps_only_when_rcx_is_zero(void **state)
{
	struct harness *h = *state;
	static const uint8_t code[] = {
		0xe3, 0x05, /* jrcxz 0x7 */
		0xb8, 0x01, 0x00, 0x00, 0x00, /* mov eax, 0x1 */
		0x90, /* nop */
	};

	h->regs.rcx = 0x100000000; /* ECX = 0 but RCX != 0 */
	harness_exec(h, code, sizeof(code), 2);
	assert_int_equal(h->regs.rax, 1);

	h->regs.rax = 0;
	h->regs.rcx = 0;
	harness_exec(h, code, sizeof(code), 1);
	assert_int_equal(h->regs.rip, CODE_BASE + sizeof(code) - 1);
	assert_int_equal(h->regs.rax, 0);
}

/* With a 67h prefix the count is ECX (the address size). */
static void test_jecxz__tests_ecx_only(void **state)
{
	struct harness *h = *state;
	static const uint8_t code[] = {
		0x67, 0xe3, 0x05, /* jecxz 0x8 */
		0xb8, 0x01, 0x00, 0x00, 0x00, /* mov eax, 0x1 */
		0x90, /* nop */
	};

	h->regs.rcx = 0x100000000;
	harness_exec(h, code, sizeof(code), 1);
	assert_int_equal(h->regs.rip, CODE_BASE + sizeof(code) - 1);
	assert_int_equal(h->regs.rax, 0);
}

/* ---- flag instructions --------------------------------------------------- */

static void test_pushf_popf__cpl0_writes_all_but_vm_vif_vip_rf(void **state)
{
	struct harness *h = *state;
	static const uint8_t code[] = {
		0x9c, /* pushf */
		0x6a, 0xff, /* push 0xffffffffffffffff */
		0x9d, /* popf */
	};

	h->regs.rflags = X86_EFLAGS_FIXED | CF | ZF | X86_EFLAGS_DF;
	harness_exec(h, code, sizeof(code), 3);
	assert_int_equal(harness_read64(h, HARNESS_STACK_TOP - 8),
			 X86_EFLAGS_FIXED | CF | ZF | X86_EFLAGS_DF);
	/* SDM Vol. 2B "POPF": at CPL 0 everything but VM, VIF, VIP changes,
	 * RF is cleared; reserved bits read as in X86_EFLAGS_LIVE_MASK. */
	assert_int_equal(h->regs.rflags,
			 (X86_EFLAGS_LIVE_MASK | X86_EFLAGS_FIXED) &
				 ~(uint64_t)(X86_EFLAGS_VM | X86_EFLAGS_VIF |
					     X86_EFLAGS_VIP | X86_EFLAGS_RF));
	assert_int_equal(h->regs.rsp, HARNESS_STACK_TOP - 8);
}

/* The instruction Adams & Agesen single out: POPF at CPL 3 with IOPL 0
 * neither faults nor changes IF (SDM Vol. 2B "POPF"). The code drops to
 * CPL 3 with IRETQ to a DPL-3 code segment first. */
static void test_popf__cpl3_iopl0_silently_keeps_if(void **state)
{
	struct harness *h = *state;
	static const uint8_t kernel[] = {
		0x6a, 0x1b, /* push 0x1b */
		0x68, 0x00, 0x00, 0x19, 0x00, /* push 0x190000 */
		0x68, 0x02, 0x02, 0x00, 0x00, /* push 0x202 */
		0x6a, 0x23, /* push 0x23 */
		0x68, 0x00, 0x00, 0x18, 0x00, /* push 0x180000 */
		0x48, 0xcf, /* iretq */
	};
	static const uint8_t user[] = {
		0x68, 0x00, 0x30, 0x00, 0x00, /* push 0x3000 */
		0x9d, /* popf */
		0x9c, /* pushf */
	};

	assert_int_equal(SEL_UDATA, 0x1b);
	assert_int_equal(USER_STACK_TOP, 0x190000);
	assert_int_equal(SEL_UCODE, 0x23);
	assert_int_equal(USER_CODE, 0x180000);
	harness_load(h, USER_CODE, user, sizeof(user));
	/* The five pushes, IRETQ, then PUSH 0x3000 (IOPL 3, IF 0), POPFQ,
	 * PUSHFQ at CPL 3. */
	harness_exec(h, kernel, sizeof(kernel), 9);
	assert_int_equal(h->sregs.cs.selector, SEL_UCODE);
	assert_int_equal(h->sregs.ss.selector, SEL_UDATA);
	assert_int_equal(h->regs.rip, USER_CODE + sizeof(user));
	assert_int_equal(h->regs.rflags, X86_EFLAGS_FIXED | X86_EFLAGS_IF);
	assert_int_equal(harness_read64(h, USER_STACK_TOP - 8),
			 X86_EFLAGS_FIXED | X86_EFLAGS_IF);
	assert_int_equal(h->stats.exceptions[GP_VECTOR], 0);
}

static void test_popf__cpl0_clears_if(void **state)
{
	struct harness *h = *state;
	static const uint8_t code[] = {
		0x6a, 0x02, /* push 0x2 */
		0x9d, /* popf */
	};

	h->regs.rflags = X86_EFLAGS_FIXED | X86_EFLAGS_IF;
	harness_exec(h, code, sizeof(code), 2);
	assert_rflags(h, 0);
}

static void test_lahf_sahf__move_sf_zf_af_pf_cf_through_ah(void **state)
{
	struct harness *h = *state;
	static const uint8_t code[] = {
		0x9f, /* lahf */
		0x88, 0xe3, /* mov bl, ah */
		0xb4, 0x41, /* mov ah, 0x41 */
		0x9e, /* sahf */
	};

	h->regs.rax = 0x1111111111110011;
	h->regs.rflags = X86_EFLAGS_FIXED | ARITH_ALL;
	harness_exec(h, code, sizeof(code), 4);
	assert_int_equal(h->regs.rbx & 0xff, 0xd7); /* SF ZF AF PF 1 CF */
	/* SAHF with AH = 0x41: ZF and CF; OF is not in AH and stays. */
	assert_rflags(h, ZF | CF | OF);
	assert_int_equal(h->regs.rax, 0x1111111111114111);
}

static void test_clc_stc_cmc_cld_std__each_touch_one_flag(void **state)
{
	struct harness *h = *state;
	static const uint8_t code[] = {
		0xf9, /* stc */
		0xf5, /* cmc */
		0xf5, /* cmc */
		0xfd, /* std */
		0xfc, /* cld */
		0xfd, /* std */
	};

	harness_exec(h, code, sizeof(code), 3);
	assert_rflags(h, CF);
	harness_exec(h, code, sizeof(code), 6);
	assert_rflags(h, CF | X86_EFLAGS_DF);
	h->regs.rflags = X86_EFLAGS_FIXED | ARITH_ALL;
	harness_exec(h, code, sizeof(code), 2);
	assert_rflags(h, ARITH_ALL & ~(uint64_t)CF);
}

#define T(t) cmocka_unit_test_setup_teardown(t, harness_setup, harness_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_rep_movsb__copies_forward_and_counts_rcx_down),
		T(test_rep_movsb__df_set_copies_backward),
		T(test_rep_stosb__rcx_zero_writes_nothing),
		T(test_rep_stosb__run_across_a_page_boundary),
		T(test_rep_stosb__df_set_fills_downward),
		T(test_rep_stosq__fills_qwords),
		T(test_lods__byte_forward_then_qword_backward),
		T(test_repe_cmpsb__stops_at_the_first_difference),
		T(test_repne_scasb__finds_the_terminator),
		T(test_repe_cmpsb__rcx_zero_keeps_flags_and_pointers),
		T(test_push_pop__round_trip_with_imm8_sign_extended),
		T(test_push__16bit_operand_moves_rsp_by_2),
		T(test_push__rsp_stores_the_value_before_the_push),
		T(test_pop__rsp_takes_the_popped_value),
		T(test_pop__memory_with_rsp_base_uses_the_new_rsp),
		T(test_push__non_canonical_rsp_raises_ss),
		T(test_pop__non_canonical_rsp_raises_ss),
		T(test_mov__non_canonical_rsp_based_operand_raises_ss),
		T(test_leave__restores_rsp_and_rbp),
		T(test_call_ret__rel32_round_trip),
		T(test_ret__imm16_is_unsigned),
		T(test_call__indirect_through_register_and_memory),
		T(test_jmp__non_canonical_target_raises_gp),
		T(test_jcc__taken_skips_and_not_taken_falls_through),
		T(test_jmp__rel8_backward_loop_with_jnz),
		T(test_loop__counts_rcx_down_without_touching_flags),
		T(test_jrcxz__jumps_only_when_rcx_is_zero),
		T(test_jecxz__tests_ecx_only),
		T(test_pushf_popf__cpl0_writes_all_but_vm_vif_vip_rf),
		T(test_popf__cpl3_iopl0_silently_keeps_if),
		T(test_popf__cpl0_clears_if),
		T(test_lahf_sahf__move_sf_zf_af_pf_cf_through_ah),
		T(test_clc_stc_cmc_cld_std__each_touch_one_flag),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
