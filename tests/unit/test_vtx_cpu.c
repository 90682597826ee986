/* SPDX-License-Identifier: MIT */
/*
 * test_vtx_cpu - the model's integer ALU (vtx/exec_alu.c) from raw
 * instruction bytes: ADD..CMP/TEST in every width, INC/DEC/NEG/NOT, shifts
 * and rotates, SHLD/SHRD, MUL/IMUL/DIV/IDIV with #DE. Expected flags come
 * from the SDM Vol. 2 instruction pages; flags the SDM leaves undefined
 * are masked out, never asserted. Host side, tests only.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "tests/unit/vtx_harness.h"

/* ---- ADD, ADC, SUB, SBB, CMP --------------------------------------------- */

static void test_add__8bit_0x7f_plus_1_sets_of_sf_af(void **state)
{
	struct harness *h = *state;
	static const uint8_t code[] = {
		0x00, 0xd8, /* add al, bl */
	};

	h->regs.rax = 0xaaaaaaaaaaaaaa7f;
	h->regs.rbx = 1;
	harness_exec(h, code, sizeof(code), 1);
	/* The byte write leaves bits 63:8 alone (SDM Vol. 1 3.4.1.1). */
	assert_int_equal(h->regs.rax, 0xaaaaaaaaaaaaaa80);
	assert_rflags(h, OF | SF | AF);
	assert_int_equal(h->regs.rip, CODE_BASE + sizeof(code));
}

static void test_add__8bit_0xff_plus_1_sets_cf_zf_af_pf(void **state)
{
	struct harness *h = *state;
	static const uint8_t code[] = {
		0x00, 0xd8, /* add al, bl */
	};

	h->regs.rax = 0xff;
	h->regs.rbx = 1;
	harness_exec(h, code, sizeof(code), 1);
	assert_int_equal(h->regs.rax, 0);
	assert_rflags(h, CF | ZF | AF | PF);
}

static void test_add__64bit_carry_out_sets_cf_af(void **state)
{
	struct harness *h = *state;
	static const uint8_t code[] = {
		0x48, 0x01, 0xd8, /* add rax, rbx */
	};

	h->regs.rax = ~0ull;
	h->regs.rbx = 2;
	harness_exec(h, code, sizeof(code), 1);
	assert_int_equal(h->regs.rax, 1);
	assert_int_equal(h->regs.rbx, 2);
	assert_rflags(h, CF | AF);
}

static void test_add__32bit_write_zero_extends(void **state)
{
	struct harness *h = *state;
	static const uint8_t code[] = {
		0x01, 0xd8, /* add eax, ebx */
	};

	h->regs.rax = 0xffffffff00000001;
	h->regs.rbx = 0xdead000000000001;
	harness_exec(h, code, sizeof(code), 1);
	assert_int_equal(h->regs.rax, 2);
	assert_rflags(h, 0);
}

static void test_add__16bit_write_merges(void **state)
{
	struct harness *h = *state;
	static const uint8_t code[] = {
		0x66, 0x01, 0xd8, /* add ax, bx */
	};

	h->regs.rax = 0x123456789abcffff;
	h->regs.rbx = 1;
	harness_exec(h, code, sizeof(code), 1);
	assert_int_equal(h->regs.rax, 0x123456789abc0000);
	assert_rflags(h, CF | ZF | AF | PF);
}

/* AF is the carry out of bit 3 (SDM Vol. 1 3.4.3.1): 0x08 + 0x08 has it,
 * 0x04 + 0x04 does not. */
static void test_add__af_is_the_carry_out_of_bit_3(void **state)
{
	struct harness *h = *state;
	static const uint8_t code[] = {
		0x00, 0xd8, /* add al, bl */
	};

	h->regs.rax = 0x08;
	h->regs.rbx = 0x08;
	harness_exec(h, code, sizeof(code), 1);
	assert_int_equal(h->regs.rax, 0x10);
	assert_rflags(h, AF);

	h->regs.rax = 0x04;
	h->regs.rbx = 0x04;
	harness_exec(h, code, sizeof(code), 1);
	assert_int_equal(h->regs.rax, 0x08);
	assert_rflags(h, 0);
}

static void test_add__imm8_is_sign_extended_to_64bit(void **state)
{
	struct harness *h = *state;
	static const uint8_t code[] = {
		0x48, 0x83, 0xc0, 0xff, /* add rax, 0xffffffffffffffff */
	};

	h->regs.rax = 1;
	harness_exec(h, code, sizeof(code), 1);
	assert_int_equal(h->regs.rax, 0);
	assert_rflags(h, CF | ZF | AF | PF);
}

static void test_add__memory_destination_int_max_plus_1_sets_of(void **state)
{
	struct harness *h = *state;
	static const uint8_t code[] = {
		0x48, 0x01, 0x07, /* add qword ptr [rdi], rax */
	};

	harness_write64(h, DATA_BASE, 0x7fffffffffffffff);
	h->regs.rdi = DATA_BASE;
	h->regs.rax = 1;
	harness_exec(h, code, sizeof(code), 1);
	assert_int_equal(harness_read64(h, DATA_BASE), 0x8000000000000000);
	assert_int_equal(h->regs.rax, 1);
	assert_rflags(h, OF | SF | AF | PF);
}

static void test_adc__carry_in_wraps_to_zero(void **state)
{
	struct harness *h = *state;
	static const uint8_t code[] = {
		0xf9, /* stc */
		0x48, 0x11, 0xd8, /* adc rax, rbx */
	};

	h->regs.rax = 0xfffffffffffffffe;
	h->regs.rbx = 1;
	harness_exec(h, code, sizeof(code), 2);
	assert_int_equal(h->regs.rax, 0);
	assert_rflags(h, CF | ZF | AF | PF);
}

static void test_adc__8bit_0x7f_plus_carry_sets_of(void **state)
{
	struct harness *h = *state;
	static const uint8_t code[] = {
		0xf9, /* stc */
		0x14, 0x00, /* adc al, 0x0 */
	};

	h->regs.rax = 0x7f;
	harness_exec(h, code, sizeof(code), 2);
	assert_int_equal(h->regs.rax, 0x80);
	assert_rflags(h, OF | SF | AF);
}

static void test_sub__8bit_0x80_minus_1_sets_of_af(void **state)
{
	struct harness *h = *state;
	static const uint8_t code[] = {
		0x28, 0xd8, /* sub al, bl */
	};

	h->regs.rax = 0x5580;
	h->regs.rbx = 1;
	harness_exec(h, code, sizeof(code), 1);
	assert_int_equal(h->regs.rax, 0x557f);
	assert_rflags(h, OF | AF);
}

static void test_sub__0_minus_1_sets_cf_sf_af_pf(void **state)
{
	struct harness *h = *state;
	static const uint8_t code[] = {
		0x48, 0x29, 0xd8, /* sub rax, rbx */
	};

	h->regs.rbx = 1;
	harness_exec(h, code, sizeof(code), 1);
	assert_int_equal(h->regs.rax, ~0ull);
	assert_rflags(h, CF | SF | AF | PF);
}

static void test_sub__af_is_the_borrow_into_bit_3(void **state)
{
	struct harness *h = *state;
	static const uint8_t code[] = {
		0x28, 0xd8, /* sub al, bl */
	};

	h->regs.rax = 0x10;
	h->regs.rbx = 0x08;
	harness_exec(h, code, sizeof(code), 1);
	assert_int_equal(h->regs.rax, 0x08);
	assert_rflags(h, AF);

	h->regs.rax = 0x0c;
	h->regs.rbx = 0x04;
	harness_exec(h, code, sizeof(code), 1);
	assert_int_equal(h->regs.rax, 0x08);
	assert_rflags(h, 0);
}

static void test_sub__16bit_memory_source_merges(void **state)
{
	struct harness *h = *state;
	static const uint8_t code[] = {
		0x66, 0x2b, 0x0e, /* sub cx, word ptr [rsi] */
	};

	harness_write64(h, DATA_BASE, 0xffff0003);
	h->regs.rsi = DATA_BASE;
	h->regs.rcx = 0x1111111111110010;
	harness_exec(h, code, sizeof(code), 1);
	/* 0x10 - 3 = 0x0d: a borrow out of bit 3 only. */
	assert_int_equal(h->regs.rcx, 0x111111111111000d);
	assert_rflags(h, AF);
}

static void test_sbb__borrow_in_on_equal_operands_sets_cf(void **state)
{
	struct harness *h = *state;
	static const uint8_t code[] = {
		0xf9, /* stc */
		0x19, 0xd8, /* sbb eax, ebx */
	};

	h->regs.rax = 0xdead000000000005;
	h->regs.rbx = 5;
	harness_exec(h, code, sizeof(code), 2);
	assert_int_equal(h->regs.rax, 0xffffffff);
	assert_rflags(h, CF | SF | AF | PF);
}

static void test_cmp__equal_sets_zf_pf_and_writes_nothing(void **state)
{
	struct harness *h = *state;
	static const uint8_t code[] = {
		0x48, 0x39, 0xd8, /* cmp rax, rbx */
	};

	h->regs.rax = 0x1234;
	h->regs.rbx = 0x1234;
	harness_exec(h, code, sizeof(code), 1);
	assert_int_equal(h->regs.rax, 0x1234);
	assert_int_equal(h->regs.rbx, 0x1234);
	assert_rflags(h, ZF | PF);
}

static void test_cmp__int_min_minus_1_sets_of_not_cf(void **state)
{
	struct harness *h = *state;
	static const uint8_t code[] = {
		0x83, 0xf8, 0x01, /* cmp eax, 0x1 */
	};

	h->regs.rax = 0x80000000;
	harness_exec(h, code, sizeof(code), 1);
	assert_int_equal(h->regs.rax, 0x80000000);
	assert_rflags(h, OF | AF | PF);
}

/* ---- AND, OR, XOR, TEST -------------------------------------------------- */

static void test_and__clears_cf_of_and_sets_sf_pf(void **state)
{
	struct harness *h = *state;
	static const uint8_t code[] = {
		0x48, 0x21, 0xd8, /* and rax, rbx */
	};

	h->regs.rax = 0xf0f0f0f0f0f0f0f0;
	h->regs.rbx = 0x8000000000000000;
	h->regs.rflags = X86_EFLAGS_FIXED | CF | OF | AF;
	harness_exec(h, code, sizeof(code), 1);
	assert_int_equal(h->regs.rax, 0x8000000000000000);
	/* AF is undefined after a logical instruction. */
	assert_rflags_except(h, SF | PF, AF);
}

static void test_or__ah_with_bh_writes_bits_15_8_only(void **state)
{
	struct harness *h = *state;
	static const uint8_t code[] = {
		0x08, 0xfc, /* or ah, bh */
	};

	h->regs.rax = 0x123456789abc11ef;
	h->regs.rbx = 0x2200;
	harness_exec(h, code, sizeof(code), 1);
	assert_int_equal(h->regs.rax, 0x123456789abc33ef);
	assert_int_equal(h->regs.rbx, 0x2200);
	assert_rflags_except(h, PF, AF);
}

static void test_xor__eax_with_itself_zeroes_rax(void **state)
{
	struct harness *h = *state;
	static const uint8_t code[] = {
		0x31, 0xc0, /* xor eax, eax */
	};

	h->regs.rax = ~0ull;
	h->regs.rflags = X86_EFLAGS_FIXED | CF | OF | SF;
	harness_exec(h, code, sizeof(code), 1);
	assert_int_equal(h->regs.rax, 0);
	assert_rflags_except(h, ZF | PF, AF);
}

static void test_test__sets_sf_and_writes_nothing(void **state)
{
	struct harness *h = *state;
	static const uint8_t code[] = {
		0xf6, 0xc3, 0x80, /* test bl, 0x80 */
	};

	h->regs.rbx = 0x180;
	h->regs.rflags = X86_EFLAGS_FIXED | CF | OF | ZF;
	harness_exec(h, code, sizeof(code), 1);
	assert_int_equal(h->regs.rbx, 0x180);
	assert_rflags_except(h, SF, AF);
}

/* ---- INC, DEC, NEG, NOT -------------------------------------------------- */

static void test_inc__8bit_0xff_wraps_and_keeps_cf(void **state)
{
	struct harness *h = *state;
	static const uint8_t code[] = {
		0xfe, 0xc0, /* inc al */
	};

	h->regs.rax = 0x12ff;
	h->regs.rflags = X86_EFLAGS_FIXED | CF;
	harness_exec(h, code, sizeof(code), 1);
	assert_int_equal(h->regs.rax, 0x1200);
	assert_rflags(h, CF | ZF | AF | PF);
}

static void test_inc__32bit_int_max_sets_of_keeps_cf_clear(void **state)
{
	struct harness *h = *state;
	static const uint8_t code[] = {
		0xff, 0xc0, /* inc eax */
	};

	h->regs.rax = 0xffffffff7fffffff;
	harness_exec(h, code, sizeof(code), 1);
	assert_int_equal(h->regs.rax, 0x80000000);
	assert_rflags(h, OF | SF | AF | PF);
}

static void test_inc__memory_operand(void **state)
{
	struct harness *h = *state;
	static const uint8_t code[] = {
		0xff, 0x07, /* inc dword ptr [rdi] */
	};

	harness_write64(h, DATA_BASE, 0x55555555ffffffff);
	h->regs.rdi = DATA_BASE;
	harness_exec(h, code, sizeof(code), 1);
	/* Only the addressed dword changes. */
	assert_int_equal(harness_read64(h, DATA_BASE), 0x5555555500000000);
	assert_rflags(h, ZF | AF | PF);
}

static void test_dec__zero_wraps_and_keeps_cf(void **state)
{
	struct harness *h = *state;
	static const uint8_t code[] = {
		0x48, 0xff, 0xc9, /* dec rcx */
	};

	h->regs.rflags = X86_EFLAGS_FIXED | CF;
	harness_exec(h, code, sizeof(code), 1);
	assert_int_equal(h->regs.rcx, ~0ull);
	assert_rflags(h, CF | SF | AF | PF);
}

static void test_dec__16bit_int_min_sets_of(void **state)
{
	struct harness *h = *state;
	static const uint8_t code[] = {
		0x66, 0xff, 0xc8, /* dec ax */
	};

	h->regs.rax = 0xffffffffffff8000;
	harness_exec(h, code, sizeof(code), 1);
	assert_int_equal(h->regs.rax, 0xffffffffffff7fff);
	assert_rflags(h, OF | AF | PF);
}

static void test_neg__zero_clears_cf_sets_zf(void **state)
{
	struct harness *h = *state;
	static const uint8_t code[] = {
		0x48, 0xf7, 0xd8, /* neg rax */
	};

	h->regs.rflags = X86_EFLAGS_FIXED | CF | SF;
	harness_exec(h, code, sizeof(code), 1);
	assert_int_equal(h->regs.rax, 0);
	assert_rflags(h, ZF | PF);
}

static void test_neg__32bit_int_min_stays_and_sets_of_cf(void **state)
{
	struct harness *h = *state;
	static const uint8_t code[] = {
		0xf7, 0xd8, /* neg eax */
	};

	h->regs.rax = 0x1234567880000000;
	harness_exec(h, code, sizeof(code), 1);
	assert_int_equal(h->regs.rax, 0x80000000);
	assert_rflags(h, CF | OF | SF | PF);
}

static void test_neg__one_gives_all_ones_and_sets_cf(void **state)
{
	struct harness *h = *state;
	static const uint8_t code[] = {
		0x48, 0xf7, 0xdb, /* neg rbx */
	};

	h->regs.rbx = 1;
	harness_exec(h, code, sizeof(code), 1);
	assert_int_equal(h->regs.rbx, ~0ull);
	assert_rflags(h, CF | SF | AF | PF);
}

static void test_not__keeps_every_flag_and_zero_extends(void **state)
{
	struct harness *h = *state;
	static const uint8_t code[] = {
		0xf7, 0xd0, /* not eax */
	};

	h->regs.rax = 0xffffffff0000ff00;
	h->regs.rflags = X86_EFLAGS_FIXED | ARITH_ALL;
	harness_exec(h, code, sizeof(code), 1);
	assert_int_equal(h->regs.rax, 0xffff00ff);
	assert_rflags(h, ARITH_ALL);
}

/* ---- shifts and rotates -------------------------------------------------- */

static void test_shl__by_1_into_sign_bit_sets_of_not_cf(void **state)
{
	struct harness *h = *state;
	static const uint8_t code[] = {
		0xd0, 0xe0, /* shl al, 1 */
	};

	h->regs.rax = 0x40;
	harness_exec(h, code, sizeof(code), 1);
	assert_int_equal(h->regs.rax, 0x80);
	/* OF = MSB(result) ^ CF for a count of 1; AF undefined. */
	assert_rflags_except(h, OF | SF, AF);
}

static void test_shl__by_cl_1_64bit_shifts_msb_into_cf(void **state)
{
	struct harness *h = *state;
	static const uint8_t code[] = {
		0x48, 0xd3, 0xe0, /* shl rax, cl */
	};

	h->regs.rax = 0x8000000000000001;
	h->regs.rcx = 1;
	harness_exec(h, code, sizeof(code), 1);
	assert_int_equal(h->regs.rax, 2);
	assert_rflags_except(h, CF | OF, AF);
}

static void test_shl__32bit_count_is_masked_to_5_bits(void **state)
{
	struct harness *h = *state;
	static const uint8_t code[] = {
		0xd3, 0xe0, /* shl eax, cl */
	};

	h->regs.rax = 0x40000001;
	h->regs.rcx = 33; /* & 0x1f = 1 */
	harness_exec(h, code, sizeof(code), 1);
	assert_int_equal(h->regs.rax, 0x80000002);
	assert_rflags_except(h, OF | SF, AF);
}

static void test_shl__64bit_count_is_masked_to_6_bits(void **state)
{
	struct harness *h = *state;
	static const uint8_t code[] = {
		0x48, 0xd3, 0xe0, /* shl rax, cl */
	};

	h->regs.rax = 0x1234;
	h->regs.rcx = 0x44; /* & 0x3f = 4 */
	harness_exec(h, code, sizeof(code), 1);
	assert_int_equal(h->regs.rax, 0x12340);
	/* OF is undefined for counts above 1. */
	assert_rflags_except(h, 0, AF | OF);
}

static void test_shl__masked_count_zero_changes_no_flags(void **state)
{
	struct harness *h = *state;
	static const uint8_t code[] = {
		0x48, 0xd3, 0xe0, /* shl rax, cl */
		0x48, 0xc1, 0xe3, 0x00, /* shl rbx, 0x0 */
	};

	h->regs.rax = 0x8000000000000001;
	h->regs.rbx = 0x8000000000000001;
	h->regs.rcx = 0x40; /* & 0x3f = 0 */
	h->regs.rflags = X86_EFLAGS_FIXED | ARITH_ALL;
	harness_exec(h, code, sizeof(code), 2);
	assert_int_equal(h->regs.rax, 0x8000000000000001);
	assert_int_equal(h->regs.rbx, 0x8000000000000001);
	assert_rflags(h, ARITH_ALL);
}

static void test_shr__by_1_sets_of_to_the_old_msb(void **state)
{
	struct harness *h = *state;
	static const uint8_t code[] = {
		0xd1, 0xe8, /* shr eax, 1 */
	};

	h->regs.rax = 0x80000001;
	harness_exec(h, code, sizeof(code), 1);
	assert_int_equal(h->regs.rax, 0x40000000);
	assert_rflags_except(h, CF | OF | PF, AF);
}

static void test_sar__by_1_keeps_the_sign_and_clears_of(void **state)
{
	struct harness *h = *state;
	static const uint8_t code[] = {
		0xd0, 0xf8, /* sar al, 1 */
	};

	h->regs.rax = 0x81;
	h->regs.rflags = X86_EFLAGS_FIXED | OF;
	harness_exec(h, code, sizeof(code), 1);
	assert_int_equal(h->regs.rax, 0xc0);
	assert_rflags_except(h, CF | SF | PF, AF);
}

static void test_sar__by_large_count_fills_with_the_sign(void **state)
{
	struct harness *h = *state;
	static const uint8_t code[] = {
		0x66, 0xd3, 0xfb, /* sar bx, cl */
	};

	h->regs.rbx = 0xaaaaaaaaaaaa8000;
	h->regs.rcx = 31; /* beyond the 16-bit width, not masked away */
	harness_exec(h, code, sizeof(code), 1);
	assert_int_equal(h->regs.rbx, 0xaaaaaaaaaaaaffff);
	assert_rflags_except(h, CF | SF | PF, AF | OF);
}

static void test_rol__by_1_sets_cf_of_only(void **state)
{
	struct harness *h = *state;
	static const uint8_t code[] = {
		0xd0, 0xc0, /* rol al, 1 */
	};

	h->regs.rax = 0x81;
	h->regs.rflags = X86_EFLAGS_FIXED | ZF | SF | PF;
	harness_exec(h, code, sizeof(code), 1);
	assert_int_equal(h->regs.rax, 0x03);
	/* CF = LSB(result); OF = MSB(result) ^ CF; the others unaffected. */
	assert_rflags(h, ZF | SF | PF | CF | OF);
}

static void test_ror__by_cl_32bit_sets_cf_to_msb(void **state)
{
	struct harness *h = *state;
	static const uint8_t code[] = {
		0xd3, 0xc8, /* ror eax, cl */
	};

	h->regs.rax = 0xffffffff12345678;
	h->regs.rcx = 4;
	h->regs.rflags = X86_EFLAGS_FIXED | ZF | AF;
	harness_exec(h, code, sizeof(code), 1);
	assert_int_equal(h->regs.rax, 0x81234567);
	assert_rflags_except(h, ZF | AF | CF, OF);
}

static void test_rcl__by_1_rotates_cf_into_bit_0(void **state)
{
	struct harness *h = *state;
	static const uint8_t code[] = {
		0xd0, 0xd0, /* rcl al, 1 */
	};

	h->regs.rax = 0x80;
	h->regs.rflags = X86_EFLAGS_FIXED | CF;
	harness_exec(h, code, sizeof(code), 1);
	assert_int_equal(h->regs.rax, 0x01);
	assert_rflags(h, CF | OF);
}

static void test_rcr__by_1_rotates_cf_into_the_msb(void **state)
{
	struct harness *h = *state;
	static const uint8_t code[] = {
		0xd0, 0xdb, /* rcr bl, 1 */
	};

	h->regs.rbx = 0x01;
	h->regs.rflags = X86_EFLAGS_FIXED | CF | ZF;
	harness_exec(h, code, sizeof(code), 1);
	assert_int_equal(h->regs.rbx, 0x80);
	assert_rflags(h, CF | OF | ZF);
}

static void test_rcr__8bit_by_9_is_a_full_turn(void **state)
{
	struct harness *h = *state;
	static const uint8_t code[] = {
		0xd2, 0xd8, /* rcr al, cl */
	};

	h->regs.rax = 0x5a;
	h->regs.rcx = 9; /* (9 & 0x1f) mod 9 = 0 */
	h->regs.rflags = X86_EFLAGS_FIXED | CF;
	harness_exec(h, code, sizeof(code), 1);
	assert_int_equal(h->regs.rax, 0x5a);
	assert_rflags_except(h, CF, OF);
}

static void test_shld__imm_fills_from_the_source(void **state)
{
	struct harness *h = *state;
	static const uint8_t code[] = {
		0x0f, 0xa4, 0xd8, 0x04, /* shld eax, ebx, 0x4 */
	};

	h->regs.rax = 0x12345678;
	h->regs.rbx = 0x9abcdef0;
	harness_exec(h, code, sizeof(code), 1);
	assert_int_equal(h->regs.rax, 0x23456789);
	assert_int_equal(h->regs.rbx, 0x9abcdef0);
	/* CF = bit 28, the last bit shifted out; OF, AF undefined. */
	assert_rflags_except(h, CF, OF | AF);
}

static void test_shrd__by_cl_64bit_fills_from_the_source(void **state)
{
	struct harness *h = *state;
	static const uint8_t code[] = {
		0x48, 0x0f, 0xad, 0xd8, /* shrd rax, rbx, cl */
	};

	h->regs.rax = 0x1122334455667788;
	h->regs.rbx = 0xaa;
	h->regs.rcx = 8;
	harness_exec(h, code, sizeof(code), 1);
	assert_int_equal(h->regs.rax, 0xaa11223344556677);
	assert_rflags_except(h, CF | SF | PF, OF | AF);
}

static void test_shld__count_zero_changes_nothing(void **state)
{
	struct harness *h = *state;
	static const uint8_t code[] = {
		0x48, 0x0f, 0xa5, 0xd8, /* shld rax, rbx, cl */
	};

	h->regs.rax = 0x1122334455667788;
	h->regs.rbx = ~0ull;
	h->regs.rcx = 0x40;
	h->regs.rflags = X86_EFLAGS_FIXED | ZF | CF;
	harness_exec(h, code, sizeof(code), 1);
	assert_int_equal(h->regs.rax, 0x1122334455667788);
	assert_rflags(h, ZF | CF);
}

/* ---- MUL, IMUL ----------------------------------------------------------- */

/* SF, ZF, AF, PF are undefined after MUL and IMUL. */
#define MUL_UNDEF (SF | ZF | AF | PF)

static void test_mul__64bit_high_half_sets_cf_of(void **state)
{
	struct harness *h = *state;
	static const uint8_t code[] = {
		0x48, 0xf7, 0xe3, /* mul rbx */
	};

	h->regs.rax = 0x100000000;
	h->regs.rbx = 0x100000003;
	harness_exec(h, code, sizeof(code), 1);
	assert_int_equal(h->regs.rax, 0x300000000);
	assert_int_equal(h->regs.rdx, 1);
	assert_rflags_except(h, CF | OF, MUL_UNDEF);
}

static void test_mul__8bit_result_in_ax_clears_cf_of(void **state)
{
	struct harness *h = *state;
	static const uint8_t code[] = {
		0xf6, 0xe3, /* mul bl */
	};

	h->regs.rax = 0xffffffffffff0010;
	h->regs.rbx = 0x0f;
	h->regs.rdx = 0x5555;
	h->regs.rflags = X86_EFLAGS_FIXED | CF | OF;
	harness_exec(h, code, sizeof(code), 1);
	assert_int_equal(h->regs.rax, 0xffffffffffff00f0);
	assert_int_equal(h->regs.rdx, 0x5555);
	assert_rflags_except(h, 0, MUL_UNDEF);
}

static void test_imul__one_operand_32bit_negative_fits(void **state)
{
	struct harness *h = *state;
	static const uint8_t code[] = {
		0xf7, 0xeb, /* imul ebx */
	};

	h->regs.rax = 0xfffffffe; /* -2 */
	h->regs.rbx = 3;
	h->regs.rdx = 0x1234123412341234;
	harness_exec(h, code, sizeof(code), 1);
	assert_int_equal(h->regs.rax, 0xfffffffa);
	assert_int_equal(h->regs.rdx, 0xffffffff);
	assert_rflags_except(h, 0, MUL_UNDEF);
}

static void test_imul__one_operand_8bit_overflow_sets_cf_of(void **state)
{
	struct harness *h = *state;
	static const uint8_t code[] = {
		0xf6, 0xe9, /* imul cl */
	};

	h->regs.rax = 0x40;
	h->regs.rcx = 0x04; /* 64 * 4 = 256 does not fit in AL */
	harness_exec(h, code, sizeof(code), 1);
	assert_int_equal(h->regs.rax, 0x0100);
	assert_rflags_except(h, CF | OF, MUL_UNDEF);
}

static void test_imul__two_operands_64bit_overflow_sets_cf_of(void **state)
{
	struct harness *h = *state;
	static const uint8_t code[] = {
		0x48, 0x0f, 0xaf, 0xc3, /* imul rax, rbx */
	};

	h->regs.rax = 0x4000000000000000;
	h->regs.rbx = 2;
	harness_exec(h, code, sizeof(code), 1);
	assert_int_equal(h->regs.rax, 0x8000000000000000);
	assert_int_equal(h->regs.rdx, 0);
	assert_rflags_except(h, CF | OF, MUL_UNDEF);
}

static void test_imul__three_operands_imm8_negative(void **state)
{
	struct harness *h = *state;
	static const uint8_t code[] = {
		0x6b, 0xca, 0xfd, /* imul ecx, edx, 0xfffffffd */
	};

	h->regs.rcx = ~0ull;
	h->regs.rdx = 7;
	harness_exec(h, code, sizeof(code), 1);
	assert_int_equal(h->regs.rcx, 0xffffffeb); /* -21, zero-extended */
	assert_int_equal(h->regs.rdx, 7);
	assert_rflags_except(h, 0, MUL_UNDEF);
}

static void test_imul__three_operands_16bit_truncation_sets_cf_of(void **state)
{
	struct harness *h = *state;
	static const uint8_t code[] = {
		0x66, 0x69, 0xc3, 0x00, 0x01, /* imul ax, bx, 0x100 */
	};

	h->regs.rax = 0x1111111111111111;
	h->regs.rbx = 0x200;
	harness_exec(h, code, sizeof(code), 1);
	assert_int_equal(h->regs.rax, 0x1111111111110000);
	assert_rflags_except(h, CF | OF, MUL_UNDEF);
}

/* ---- DIV, IDIV ----------------------------------------------------------- */

/* All six flags are undefined after DIV and IDIV. */

static void test_div__64bit_divides_rdx_rax(void **state)
{
	struct harness *h = *state;
	static const uint8_t code[] = {
		0x48, 0xf7, 0xf3, /* div rbx */
	};

	h->regs.rdx = 1;
	h->regs.rax = 5; /* 2^64 + 5 */
	h->regs.rbx = 11;
	harness_exec(h, code, sizeof(code), 1);
	assert_int_equal(h->regs.rax, 0x1745d1745d1745d1);
	assert_int_equal(h->regs.rdx, 0xa);
	assert_int_equal(h->regs.rbx, 11);
}

static void test_div__8bit_divides_ax_into_al_ah(void **state)
{
	struct harness *h = *state;
	static const uint8_t code[] = {
		0xf6, 0xf3, /* div bl */
	};

	h->regs.rax = 0xffffffffffff0103; /* AX = 259 */
	h->regs.rbx = 0x10;
	h->regs.rdx = 0x77;
	harness_exec(h, code, sizeof(code), 1);
	assert_int_equal(h->regs.rax, 0xffffffffffff0310); /* AH = 3, AL = 16 */
	assert_int_equal(h->regs.rdx, 0x77);
}

static void test_idiv__negative_dividend_truncates_toward_zero(void **state)
{
	struct harness *h = *state;
	static const uint8_t code[] = {
		0xf7, 0xf9, /* idiv ecx */
	};

	h->regs.rdx = 0xffffffff;
	h->regs.rax = 0xfffffff9; /* EDX:EAX = -7 */
	h->regs.rcx = 2;
	harness_exec(h, code, sizeof(code), 1);
	assert_int_equal(h->regs.rax, 0xfffffffd); /* -3 */
	assert_int_equal(h->regs.rdx, 0xffffffff); /* -1 */
}

/* Runs one divide that must fault: #DE is delivered through the IDT to
 * the vector-0 stub, which halts. RIP in the frame is the DIV itself and
 * RAX/RDX are left as they were (a fault, SDM Vol. 3A 6.5). */
static void run_expecting_de(struct harness *h, const uint8_t *code, size_t len)
{
	uint64_t rax = h->regs.rax, rdx = h->regs.rdx;

	harness_load(h, CODE_BASE, code, len);
	assert_int_equal(harness_run(h, 100), VTX_STOP_HALTED);
	assert_int_equal(harness_stop_vector(h), DE_VECTOR);
	assert_int_equal(h->stats.exceptions[DE_VECTOR], 1);
	/* The divide never retired; the stub's HLT did. */
	assert_int_equal(h->stats.insns, 1);
	assert_int_equal(h->regs.rax, rax);
	assert_int_equal(h->regs.rdx, rdx);
	/* No error code: the frame starts with RIP. */
	assert_int_equal(h->regs.rsp, HARNESS_STACK_TOP - 40);
	assert_int_equal(harness_read64(h, h->regs.rsp), CODE_BASE);
	assert_int_equal(harness_read64(h, h->regs.rsp + 8), SEL_KCODE);
}

static void test_div__by_zero_raises_de(void **state)
{
	struct harness *h = *state;
	static const uint8_t code[] = {
		0x48, 0xf7, 0xf3, /* div rbx */
	};

	h->regs.rax = 1234;
	h->regs.rdx = 0;
	h->regs.rbx = 0;
	run_expecting_de(h, code, sizeof(code));
}

static void test_div__quotient_overflow_raises_de(void **state)
{
	struct harness *h = *state;
	static const uint8_t code[] = {
		0xf7, 0xf3, /* div ebx */
	};

	h->regs.rdx = 1;
	h->regs.rax = 0; /* 2^32 / 1 does not fit in 32 bits */
	h->regs.rbx = 1;
	run_expecting_de(h, code, sizeof(code));
}

static void test_idiv__int_min_by_minus_one_raises_de(void **state)
{
	struct harness *h = *state;
	static const uint8_t code[] = {
		0x48, 0xf7, 0xf9, /* idiv rcx */
	};

	h->regs.rdx = ~0ull;
	h->regs.rax = 0x8000000000000000;
	h->regs.rcx = ~0ull;
	run_expecting_de(h, code, sizeof(code));
}

static void test_idiv__8bit_quotient_overflow_raises_de(void **state)
{
	struct harness *h = *state;
	static const uint8_t code[] = {
		0xf6, 0xfb, /* idiv bl */
	};

	h->regs.rax = 0x0100; /* 256 / 2 = 128 does not fit in AL */
	h->regs.rbx = 2;
	run_expecting_de(h, code, sizeof(code));
}

#define T(t) cmocka_unit_test_setup_teardown(t, harness_setup, harness_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_add__8bit_0x7f_plus_1_sets_of_sf_af),
		T(test_add__8bit_0xff_plus_1_sets_cf_zf_af_pf),
		T(test_add__64bit_carry_out_sets_cf_af),
		T(test_add__32bit_write_zero_extends),
		T(test_add__16bit_write_merges),
		T(test_add__af_is_the_carry_out_of_bit_3),
		T(test_add__imm8_is_sign_extended_to_64bit),
		T(test_add__memory_destination_int_max_plus_1_sets_of),
		T(test_adc__carry_in_wraps_to_zero),
		T(test_adc__8bit_0x7f_plus_carry_sets_of),
		T(test_sub__8bit_0x80_minus_1_sets_of_af),
		T(test_sub__0_minus_1_sets_cf_sf_af_pf),
		T(test_sub__af_is_the_borrow_into_bit_3),
		T(test_sub__16bit_memory_source_merges),
		T(test_sbb__borrow_in_on_equal_operands_sets_cf),
		T(test_cmp__equal_sets_zf_pf_and_writes_nothing),
		T(test_cmp__int_min_minus_1_sets_of_not_cf),
		T(test_and__clears_cf_of_and_sets_sf_pf),
		T(test_or__ah_with_bh_writes_bits_15_8_only),
		T(test_xor__eax_with_itself_zeroes_rax),
		T(test_test__sets_sf_and_writes_nothing),
		T(test_inc__8bit_0xff_wraps_and_keeps_cf),
		T(test_inc__32bit_int_max_sets_of_keeps_cf_clear),
		T(test_inc__memory_operand),
		T(test_dec__zero_wraps_and_keeps_cf),
		T(test_dec__16bit_int_min_sets_of),
		T(test_neg__zero_clears_cf_sets_zf),
		T(test_neg__32bit_int_min_stays_and_sets_of_cf),
		T(test_neg__one_gives_all_ones_and_sets_cf),
		T(test_not__keeps_every_flag_and_zero_extends),
		T(test_shl__by_1_into_sign_bit_sets_of_not_cf),
		T(test_shl__by_cl_1_64bit_shifts_msb_into_cf),
		T(test_shl__32bit_count_is_masked_to_5_bits),
		T(test_shl__64bit_count_is_masked_to_6_bits),
		T(test_shl__masked_count_zero_changes_no_flags),
		T(test_shr__by_1_sets_of_to_the_old_msb),
		T(test_sar__by_1_keeps_the_sign_and_clears_of),
		T(test_sar__by_large_count_fills_with_the_sign),
		T(test_rol__by_1_sets_cf_of_only),
		T(test_ror__by_cl_32bit_sets_cf_to_msb),
		T(test_rcl__by_1_rotates_cf_into_bit_0),
		T(test_rcr__by_1_rotates_cf_into_the_msb),
		T(test_rcr__8bit_by_9_is_a_full_turn),
		T(test_shld__imm_fills_from_the_source),
		T(test_shrd__by_cl_64bit_fills_from_the_source),
		T(test_shld__count_zero_changes_nothing),
		T(test_mul__64bit_high_half_sets_cf_of),
		T(test_mul__8bit_result_in_ax_clears_cf_of),
		T(test_imul__one_operand_32bit_negative_fits),
		T(test_imul__one_operand_8bit_overflow_sets_cf_of),
		T(test_imul__two_operands_64bit_overflow_sets_cf_of),
		T(test_imul__three_operands_imm8_negative),
		T(test_imul__three_operands_16bit_truncation_sets_cf_of),
		T(test_div__64bit_divides_rdx_rax),
		T(test_div__8bit_divides_ax_into_al_ah),
		T(test_idiv__negative_dividend_truncates_toward_zero),
		T(test_div__by_zero_raises_de),
		T(test_div__quotient_overflow_raises_de),
		T(test_idiv__int_min_by_minus_one_raises_de),
		T(test_idiv__8bit_quotient_overflow_raises_de),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
