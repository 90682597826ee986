/* SPDX-License-Identifier: MIT */
/*
 * test_vtx_bits - the model's data-movement and bit instructions
 * (vtx/exec_alu.c) from raw instruction bytes: MOVZX/MOVSX/MOVSXD, LEA,
 * CMOVcc, SETcc for all sixteen conditions (SDM Vol. 1 Appendix B), bit
 * scans and counts, BT/BTS/BTR/BTC, BSWAP, XCHG, XADD, CMPXCHG(8B), and the
 * rAX sign extensions. Host side, tests only.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "tests/unit/vtx_harness.h"

/* ---- MOVZX, MOVSX, MOVSXD, LEA ------------------------------------------- */

static void test_movzx__bh_zero_extends_to_64bit(void **state)
{
	struct harness *h = *state;
	static const uint8_t code[] = {
		0x0f, 0xb6, 0xc7, /* movzx eax, bh */
	};

	h->regs.rax = ~0ull;
	h->regs.rbx = 0x9a00;
	harness_exec(h, code, sizeof(code), 1);
	assert_int_equal(h->regs.rax, 0x9a);
}

static void test_movsx__memory_word_sign_extends_to_64bit(void **state)
{
	struct harness *h = *state;
	static const uint8_t code[] = {
		0x48, 0x0f, 0xbf, 0x06, /* movsx rax, word ptr [rsi] */
	};

	harness_write64(h, DATA_BASE, 0x7777777777778001);
	h->regs.rsi = DATA_BASE;
	harness_exec(h, code, sizeof(code), 1);
	assert_int_equal(h->regs.rax, 0xffffffffffff8001);
}

static void test_movsx__byte_to_16bit_merges(void **state)
{
	struct harness *h = *state;
	static const uint8_t code[] = {
		0x66, 0x0f, 0xbe, 0xc3, /* movsx ax, bl */
	};

	h->regs.rax = 0x1111111111111111;
	h->regs.rbx = 0xff;
	harness_exec(h, code, sizeof(code), 1);
	assert_int_equal(h->regs.rax, 0x111111111111ffff);
}

static void test_movsxd__negative_dword_sign_extends(void **state)
{
	struct harness *h = *state;
	static const uint8_t code[] = {
		0x48, 0x63, 0xca, /* movsxd rcx, edx */
	};

	h->regs.rdx = 0x1234567880000000;
	harness_exec(h, code, sizeof(code), 1);
	assert_int_equal(h->regs.rcx, 0xffffffff80000000);
	assert_rflags(h, 0);
}

static void test_lea__rip_relative_is_from_the_next_instruction(void **state)
{
	struct harness *h = *state;
	static const uint8_t code[] = {
		0x48, 0x8d, 0x05, 0x00,
		0x01, 0x00, 0x00, /* lea rax, [rip+0x100] */
	};

	harness_exec(h, code, sizeof(code), 1);
	assert_int_equal(h->regs.rax, CODE_BASE + sizeof(code) + 0x100);
}

static void test_lea__sib_with_scale_and_negative_disp(void **state)
{
	struct harness *h = *state;
	static const uint8_t code[] = {
		0x48, 0x8d, 0x4c, 0xf3, 0xf0, /* lea rcx, [rbx+rsi*8-0x10] */
	};

	h->regs.rbx = 0x1000;
	h->regs.rsi = 3;
	h->regs.rflags = X86_EFLAGS_FIXED | ARITH_ALL;
	harness_exec(h, code, sizeof(code), 1);
	assert_int_equal(h->regs.rcx, 0x1008);
	assert_rflags(h, ARITH_ALL); /* LEA touches no flag */
}

static void test_lea__32bit_destination_truncates(void **state)
{
	struct harness *h = *state;
	static const uint8_t code[] = {
		0x8d, 0x04, 0x0b, /* lea eax, [rbx+rcx*1] */
	};

	h->regs.rax = ~0ull;
	h->regs.rbx = 0xffffffff;
	h->regs.rcx = 2;
	harness_exec(h, code, sizeof(code), 1);
	assert_int_equal(h->regs.rax, 1);
}

/* ---- CMOVcc, SETcc ------------------------------------------------------- */

static void test_cmovcc__32bit_false_still_zero_extends(void **state)
{
	struct harness *h = *state;
	static const uint8_t code[] = {
		0x0f, 0x44, 0xc3, /* cmove eax, ebx */
	};

	h->regs.rax = 0xffffffff12345678;
	h->regs.rbx = 0xabcdef;
	harness_exec(h, code, sizeof(code), 1);
	/* SDM Vol. 2A "CMOVcc": the 32-bit destination is written either
	 * way in 64-bit mode. */
	assert_int_equal(h->regs.rax, 0x12345678);
}

static void test_cmovcc__memory_source_true_loads(void **state)
{
	struct harness *h = *state;
	static const uint8_t code[] = {
		0x48, 0x0f, 0x4c, 0x0e, /* cmovl rcx, qword ptr [rsi] */
	};

	harness_write64(h, DATA_BASE, 0x0123456789abcdef);
	h->regs.rsi = DATA_BASE;
	h->regs.rcx = 5;
	h->regs.rflags = X86_EFLAGS_FIXED | SF; /* SF != OF: less */
	harness_exec(h, code, sizeof(code), 1);
	assert_int_equal(h->regs.rcx, 0x0123456789abcdef);
	assert_rflags(h, SF);
}

/* One SETcc per condition code, each to its own byte of [rdi]. */
static const uint8_t setcc_code[] = {
	0x0f, 0x90, 0x07, /* seto byte ptr [rdi] */
	0x0f, 0x91, 0x47, 0x01, /* setno byte ptr [rdi+0x1] */
	0x0f, 0x92, 0x47, 0x02, /* setb byte ptr [rdi+0x2] */
	0x0f, 0x93, 0x47, 0x03, /* setae byte ptr [rdi+0x3] */
	0x0f, 0x94, 0x47, 0x04, /* sete byte ptr [rdi+0x4] */
	0x0f, 0x95, 0x47, 0x05, /* setne byte ptr [rdi+0x5] */
	0x0f, 0x96, 0x47, 0x06, /* setbe byte ptr [rdi+0x6] */
	0x0f, 0x97, 0x47, 0x07, /* seta byte ptr [rdi+0x7] */
	0x0f, 0x98, 0x47, 0x08, /* sets byte ptr [rdi+0x8] */
	0x0f, 0x99, 0x47, 0x09, /* setns byte ptr [rdi+0x9] */
	0x0f, 0x9a, 0x47, 0x0a, /* setp byte ptr [rdi+0xa] */
	0x0f, 0x9b, 0x47, 0x0b, /* setnp byte ptr [rdi+0xb] */
	0x0f, 0x9c, 0x47, 0x0c, /* setl byte ptr [rdi+0xc] */
	0x0f, 0x9d, 0x47, 0x0d, /* setge byte ptr [rdi+0xd] */
	0x0f, 0x9e, 0x47, 0x0e, /* setle byte ptr [rdi+0xe] */
	0x0f, 0x9f, 0x47, 0x0f, /* setg byte ptr [rdi+0xf] */
};

/* Which of the sixteen conditions (bit n = condition code n, in the order
 * above) hold for a flags value, worked out from SDM Vol. 1 Table B-1. */
static const struct {
	uint64_t flags;
	uint16_t true_mask;
} setcc_cases[] = {
	{ 0, 0xaaaa },	{ CF, 0xaa66 },
	{ ZF, 0x6a5a }, { SF, 0x59aa },
	{ OF, 0x5aa9 }, { SF | OF, 0xa9a9 },
	{ PF, 0xa6aa }, { CF | PF | ZF | SF | OF, 0x6555 },
};

static void test_setcc__all_16_conditions_match_table_b1(void **state)
{
	struct harness *h = *state;
	uint8_t out[16];

	for (size_t k = 0; k < ARRAY_SIZE(setcc_cases); k++) {
		memset(out, 0xcc, sizeof(out));
		harness_load(h, DATA_BASE, out, sizeof(out));
		h->regs.rdi = DATA_BASE;
		h->regs.rflags = X86_EFLAGS_FIXED | setcc_cases[k].flags;
		harness_exec(h, setcc_code, sizeof(setcc_code), 16);
		assert_int_equal(vtx_hpa_read(h->m, DATA_BASE, out, 16), 0);
		for (unsigned int cc = 0; cc < 16; cc++)
			assert_int_equal(out[cc],
					 (setcc_cases[k].true_mask >> cc) & 1);
		assert_rflags(h, setcc_cases[k].flags);
	}
}

static void test_setcc__bh_destination_writes_bits_15_8_only(void **state)
{
	struct harness *h = *state;
	static const uint8_t code[] = {
		0x0f, 0x92, 0xc7, /* setb bh */
		0x0f, 0x94, 0xc3, /* sete bl */
	};

	h->regs.rbx = 0x123456789abcdeff;
	h->regs.rflags = X86_EFLAGS_FIXED | CF;
	harness_exec(h, code, sizeof(code), 2);
	assert_int_equal(h->regs.rbx, 0x123456789abc0100);
}

/* ---- BSF, BSR, TZCNT, LZCNT, POPCNT -------------------------------------- */

static void test_bsf__zero_source_keeps_destination_sets_zf(void **state)
{
	struct harness *h = *state;
	static const uint8_t code[] = {
		0x48, 0x0f, 0xbc, 0xc3, /* bsf rax, rbx */
	};

	h->regs.rax = 0x1234;
	harness_exec(h, code, sizeof(code), 1);
	assert_int_equal(h->regs.rax, 0x1234);
	/* ZF is defined; CF, OF, SF, AF, PF are not. */
	assert_rflags_except(h, ZF, CF | OF | SF | AF | PF);
}

static void test_bsf__finds_lowest_set_bit_and_zero_extends(void **state)
{
	struct harness *h = *state;
	static const uint8_t code[] = {
		0x0f, 0xbc, 0xca, /* bsf ecx, edx */
	};

	h->regs.rcx = ~0ull;
	h->regs.rdx = 0x80000100;
	h->regs.rflags = X86_EFLAGS_FIXED | ZF;
	harness_exec(h, code, sizeof(code), 1);
	assert_int_equal(h->regs.rcx, 8);
	assert_rflags_except(h, 0, CF | OF | SF | AF | PF);
}

static void test_bsr__finds_highest_set_bit(void **state)
{
	struct harness *h = *state;
	static const uint8_t code[] = {
		0x48, 0x0f, 0xbd, 0xc3, /* bsr rax, rbx */
		0x48, 0x0f, 0xbd, 0xca, /* bsr rcx, rdx */
	};

	h->regs.rbx = 0x8000000000000001;
	h->regs.rcx = 0x77;
	h->regs.rdx = 0;
	harness_exec(h, code, sizeof(code), 2);
	assert_int_equal(h->regs.rax, 63);
	assert_int_equal(h->regs.rcx, 0x77); /* zero source: unchanged */
	assert_rflags_except(h, ZF, CF | OF | SF | AF | PF);
}

/* The model does not advertise BMI1 (CPUID.7:EBX[3] = 0), so F3 0F BC is
 * BSF with an ignored REP prefix (SDM Vol. 2B "TZCNT"). */
static void test_tzcnt__without_bmi1_executes_as_bsf(void **state)
{
	struct harness *h = *state;
	static const uint8_t code[] = {
		0xf3, 0x0f, 0xbc, 0xc3, /* tzcnt eax, ebx */
	};

	/* Source 1: BSF and TZCNT both give 0, but BSF clears ZF where
	 * TZCNT would set it (ZF = result is zero). */
	h->regs.rbx = 1;
	h->regs.rax = 0x55;
	harness_exec(h, code, sizeof(code), 1);
	assert_int_equal(h->regs.rax, 0);
	assert_int_equal(h->regs.rflags & ZF, 0);

	/* Source 0: BSF leaves the destination and sets ZF; TZCNT would
	 * write 32 and set CF. */
	h->regs.rbx = 0;
	h->regs.rax = 0x55;
	harness_exec(h, code, sizeof(code), 1);
	assert_int_equal(h->regs.rax, 0x55);
	assert_int_equal(h->regs.rflags & ZF, ZF);
}

static void test_lzcnt__zero_source_gives_width_and_sets_cf(void **state)
{
	struct harness *h = *state;
	static const uint8_t code[] = {
		0xf3, 0x0f, 0xbd, 0xc3, /* lzcnt eax, ebx */
	};

	h->regs.rax = ~0ull;
	harness_exec(h, code, sizeof(code), 1);
	assert_int_equal(h->regs.rax, 32);
	/* CF and ZF are defined; OF, SF, AF, PF are not. */
	assert_rflags_except(h, CF, OF | SF | AF | PF);

	h->regs.rbx = 0x80000000;
	harness_exec(h, code, sizeof(code), 1);
	assert_int_equal(h->regs.rax, 0);
	assert_rflags_except(h, ZF, OF | SF | AF | PF);

	h->regs.rbx = 0x00010000;
	harness_exec(h, code, sizeof(code), 1);
	assert_int_equal(h->regs.rax, 15);
	assert_rflags_except(h, 0, OF | SF | AF | PF);
}

static void test_popcnt__counts_bits_and_clears_other_flags(void **state)
{
	struct harness *h = *state;
	static const uint8_t code[] = {
		0xf3, 0x48, 0x0f, 0xb8, 0xc3, /* popcnt rax, rbx */
	};

	h->regs.rbx = 0xf0f0000000000001;
	h->regs.rflags = X86_EFLAGS_FIXED | ARITH_ALL;
	harness_exec(h, code, sizeof(code), 1);
	assert_int_equal(h->regs.rax, 9);
	assert_rflags(h, 0);

	h->regs.rbx = 0;
	harness_exec(h, code, sizeof(code), 1);
	assert_int_equal(h->regs.rax, 0);
	assert_rflags(h, ZF);
}

/* ---- BT, BTS, BTR, BTC --------------------------------------------------- */

/* CF is the tested bit; OF, SF, AF, PF are undefined; ZF is unchanged. */
#define BT_UNDEF (OF | SF | AF | PF)

static void test_bt__register_operand_masks_the_offset(void **state)
{
	struct harness *h = *state;
	static const uint8_t code[] = {
		0x0f, 0xa3, 0xc8, /* bt eax, ecx */
	};

	h->regs.rax = 2;
	h->regs.rcx = 33; /* & 31 = bit 1 */
	h->regs.rflags = X86_EFLAGS_FIXED | ZF;
	harness_exec(h, code, sizeof(code), 1);
	assert_int_equal(h->regs.rax, 2);
	assert_rflags_except(h, CF | ZF, BT_UNDEF);
}

static void test_bts__memory_offset_beyond_the_operand(void **state)
{
	struct harness *h = *state;
	static const uint8_t code[] = {
		0x0f, 0xab, 0x07, /* bts dword ptr [rdi], eax */
	};

	h->regs.rdi = DATA_BASE;
	h->regs.rax = 35; /* dword 1, bit 3 */
	harness_exec(h, code, sizeof(code), 1);
	assert_int_equal(harness_read64(h, DATA_BASE), 0x0000000800000000);
	assert_rflags_except(h, 0, BT_UNDEF);
}

static void test_btr__memory_negative_offset_goes_below(void **state)
{
	struct harness *h = *state;
	static const uint8_t code[] = {
		0x48, 0x0f, 0xb3, 0x07, /* btr qword ptr [rdi], rax */
	};

	harness_write64(h, DATA_BASE, 0x8000000000000001);
	h->regs.rdi = DATA_BASE + 8;
	h->regs.rax = ~0ull; /* -1: the qword below, bit 63 */
	harness_exec(h, code, sizeof(code), 1);
	assert_int_equal(harness_read64(h, DATA_BASE), 1);
	assert_int_equal(harness_read64(h, DATA_BASE + 8), 0);
	assert_rflags_except(h, CF, BT_UNDEF);
}

/* The 32-bit offset is signed: -33 selects dword -2, bit 31. */
static void test_btr__memory_32bit_offset_is_signed(void **state)
{
	struct harness *h = *state;
	static const uint8_t code[] = {
		0x0f, 0xb3, 0x07, /* btr dword ptr [rdi], eax */
	};

	harness_write64(h, DATA_BASE, 0x7777777780000001);
	h->regs.rdi = DATA_BASE + 8;
	h->regs.rax = 0xaaaaaaaaffffffdf; /* EAX = -33 */
	harness_exec(h, code, sizeof(code), 1);
	assert_int_equal(harness_read64(h, DATA_BASE), 0x7777777700000001);
	assert_rflags_except(h, CF, BT_UNDEF);
}

static void test_bts__memory_immediate_offset_is_masked(void **state)
{
	struct harness *h = *state;
	static const uint8_t code[] = {
		0x0f, 0xba, 0x2f, 0x21, /* bts dword ptr [rdi], 0x21 */
	};

	h->regs.rdi = DATA_BASE;
	harness_exec(h, code, sizeof(code), 1);
	/* An immediate never leaves the operand: bit 33 & 31 = 1. */
	assert_int_equal(harness_read64(h, DATA_BASE), 2);
	assert_rflags_except(h, 0, BT_UNDEF);
}

static void test_btc__immediate_toggles_bit_63(void **state)
{
	struct harness *h = *state;
	static const uint8_t code[] = {
		0x48, 0x0f, 0xba, 0xf8, 0x3f, /* btc rax, 0x3f */
	};

	harness_exec(h, code, sizeof(code), 1);
	assert_int_equal(h->regs.rax, 0x8000000000000000);
	assert_rflags_except(h, 0, BT_UNDEF);
	harness_exec(h, code, sizeof(code), 1);
	assert_int_equal(h->regs.rax, 0);
	assert_rflags_except(h, CF, BT_UNDEF);
}

/* ---- BSWAP, XCHG, XADD, CMPXCHG, CMPXCHG8B ------------------------------- */

static void test_bswap__64bit_and_32bit(void **state)
{
	struct harness *h = *state;
	static const uint8_t code[] = {
		0x48, 0x0f, 0xc8, /* bswap rax */
		0x0f, 0xc9, /* bswap ecx */
	};

	h->regs.rax = 0x1122334455667788;
	h->regs.rcx = 0xffffffff11223344;
	harness_exec(h, code, sizeof(code), 2);
	assert_int_equal(h->regs.rax, 0x8877665544332211);
	assert_int_equal(h->regs.rcx, 0x44332211);
}

static void test_xchg__ah_with_bl(void **state)
{
	struct harness *h = *state;
	static const uint8_t code[] = {
		0x86, 0xdc, /* xchg ah, bl */
	};

	h->regs.rax = 0x1111111111112233;
	h->regs.rbx = 0x4444444444444455;
	harness_exec(h, code, sizeof(code), 1);
	assert_int_equal(h->regs.rax, 0x1111111111115533);
	assert_int_equal(h->regs.rbx, 0x4444444444444422);
}

static void test_xchg__register_with_memory(void **state)
{
	struct harness *h = *state;
	static const uint8_t code[] = {
		0x48, 0x87, 0x07, /* xchg qword ptr [rdi], rax */
	};

	harness_write64(h, DATA_BASE, 0xaaaa);
	h->regs.rdi = DATA_BASE;
	h->regs.rax = 0xbbbb;
	harness_exec(h, code, sizeof(code), 1);
	assert_int_equal(h->regs.rax, 0xaaaa);
	assert_int_equal(harness_read64(h, DATA_BASE), 0xbbbb);
}

static void test_xadd__register_exchanges_then_adds(void **state)
{
	struct harness *h = *state;
	static const uint8_t code[] = {
		0x48, 0x0f, 0xc1, 0xd8, /* xadd rax, rbx */
	};

	h->regs.rax = 1;
	h->regs.rbx = 2;
	harness_exec(h, code, sizeof(code), 1);
	assert_int_equal(h->regs.rax, 3);
	assert_int_equal(h->regs.rbx, 1);
	assert_rflags(h, PF);
}

static void test_xadd__memory_wraps_and_sets_cf(void **state)
{
	struct harness *h = *state;
	static const uint8_t code[] = {
		0x0f, 0xc1, 0x0f, /* xadd dword ptr [rdi], ecx */
	};

	harness_write64(h, DATA_BASE, 0x99999999ffffffff);
	h->regs.rdi = DATA_BASE;
	h->regs.rcx = 0x1234567800000001;
	harness_exec(h, code, sizeof(code), 1);
	assert_int_equal(harness_read64(h, DATA_BASE), 0x9999999900000000);
	assert_int_equal(h->regs.rcx, 0xffffffff);
	assert_rflags(h, CF | ZF | AF | PF);
}

static void test_cmpxchg__equal_stores_source_sets_zf(void **state)
{
	struct harness *h = *state;
	static const uint8_t code[] = {
		0x48, 0x0f, 0xb1, 0xd1, /* cmpxchg rcx, rdx */
	};

	h->regs.rax = 5;
	h->regs.rcx = 5;
	h->regs.rdx = 9;
	harness_exec(h, code, sizeof(code), 1);
	assert_int_equal(h->regs.rcx, 9);
	assert_int_equal(h->regs.rax, 5);
	assert_rflags(h, ZF | PF);
}

static void test_cmpxchg__unequal_loads_accumulator_clears_zf(void **state)
{
	struct harness *h = *state;
	static const uint8_t code[] = {
		0x48, 0x0f, 0xb1, 0xd1, /* cmpxchg rcx, rdx */
	};

	h->regs.rax = 5;
	h->regs.rcx = 7;
	h->regs.rdx = 9;
	h->regs.rflags = X86_EFLAGS_FIXED | ZF;
	harness_exec(h, code, sizeof(code), 1);
	assert_int_equal(h->regs.rax, 7);
	assert_int_equal(h->regs.rcx, 7);
	/* The flags of CMP rax, rcx: 5 - 7. */
	assert_rflags(h, CF | SF | AF);
}

static void test_cmpxchg__memory_both_ways(void **state)
{
	struct harness *h = *state;
	static const uint8_t code[] = {
		0x0f, 0xb1, 0x1f, /* cmpxchg dword ptr [rdi], ebx */
	};

	harness_write64(h, DATA_BASE, 0x1111111100000040);
	h->regs.rdi = DATA_BASE;
	h->regs.rax = 0x40;
	h->regs.rbx = 0x80;
	harness_exec(h, code, sizeof(code), 1);
	assert_int_equal(harness_read64(h, DATA_BASE), 0x1111111100000080);
	assert_int_equal(h->regs.rax, 0x40);
	assert_rflags(h, ZF | PF);

	/* Now unequal: EAX receives the memory operand, zero-extended. */
	h->regs.rax = 0xffffffff00000040;
	harness_exec(h, code, sizeof(code), 1);
	assert_int_equal(harness_read64(h, DATA_BASE), 0x1111111100000080);
	assert_int_equal(h->regs.rax, 0x80);
	assert_rflags(h, CF | SF | PF);
}

static void test_cmpxchg8b__equal_stores_ecx_ebx(void **state)
{
	struct harness *h = *state;
	static const uint8_t code[] = {
		0x0f, 0xc7, 0x0f, /* cmpxchg8b qword ptr [rdi] */
	};

	harness_write64(h, DATA_BASE, 0x1111111122222222);
	h->regs.rdi = DATA_BASE;
	h->regs.rdx = 0x11111111;
	h->regs.rax = 0x22222222;
	h->regs.rcx = 0x33333333;
	h->regs.rbx = 0x44444444;
	h->regs.rflags = X86_EFLAGS_FIXED | CF | SF;
	harness_exec(h, code, sizeof(code), 1);
	assert_int_equal(harness_read64(h, DATA_BASE), 0x3333333344444444);
	assert_int_equal(h->regs.rdx, 0x11111111);
	assert_int_equal(h->regs.rax, 0x22222222);
	/* Only ZF is written (SDM Vol. 2A "CMPXCHG8B/CMPXCHG16B"). */
	assert_rflags(h, CF | SF | ZF);
}

static void test_cmpxchg8b__unequal_loads_edx_eax(void **state)
{
	struct harness *h = *state;
	static const uint8_t code[] = {
		0x0f, 0xc7, 0x0f, /* cmpxchg8b qword ptr [rdi] */
	};

	harness_write64(h, DATA_BASE, 0x8765432112345678);
	h->regs.rdi = DATA_BASE;
	h->regs.rdx = 0xffffffff00000000;
	h->regs.rax = 0xffffffff00000001;
	h->regs.rcx = 0x33333333;
	h->regs.rbx = 0x44444444;
	h->regs.rflags = X86_EFLAGS_FIXED | ZF | PF;
	harness_exec(h, code, sizeof(code), 1);
	assert_int_equal(harness_read64(h, DATA_BASE), 0x8765432112345678);
	assert_int_equal(h->regs.rdx, 0x87654321);
	assert_int_equal(h->regs.rax, 0x12345678);
	assert_rflags(h, PF);
}

/* ---- CBW, CWDE, CDQE, CWD, CDQ, CQO -------------------------------------- */

static void test_cbw_cwde_cdqe__sign_extend_within_rax(void **state)
{
	struct harness *h = *state;
	static const uint8_t cbw[] = {
		0x66, 0x98, /* cbw */
	};
	static const uint8_t cwde[] = {
		0x98, /* cwde */
	};
	static const uint8_t cdqe[] = {
		0x48, 0x98, /* cdqe */
	};

	h->regs.rax = 0x1111111111111180;
	harness_exec(h, cbw, sizeof(cbw), 1);
	assert_int_equal(h->regs.rax, 0x111111111111ff80);

	h->regs.rax = 0x1111111111118000;
	harness_exec(h, cwde, sizeof(cwde), 1);
	assert_int_equal(h->regs.rax, 0xffff8000);

	h->regs.rax = 0x1111111180000000;
	harness_exec(h, cdqe, sizeof(cdqe), 1);
	assert_int_equal(h->regs.rax, 0xffffffff80000000);
}

static void test_cwd_cdq_cqo__fill_rdx_with_the_sign(void **state)
{
	struct harness *h = *state;
	static const uint8_t cwd[] = {
		0x66, 0x99, /* cwd */
	};
	static const uint8_t cdq[] = {
		0x99, /* cdq */
	};
	static const uint8_t cqo[] = {
		0x48, 0x99, /* cqo */
	};

	h->regs.rax = 0x8000;
	h->regs.rdx = 0x2222222222222222;
	harness_exec(h, cwd, sizeof(cwd), 1);
	assert_int_equal(h->regs.rdx, 0x222222222222ffff);

	h->regs.rax = 0x7fffffff;
	harness_exec(h, cdq, sizeof(cdq), 1);
	assert_int_equal(h->regs.rdx, 0);

	h->regs.rax = 0x8000000000000000;
	harness_exec(h, cqo, sizeof(cqo), 1);
	assert_int_equal(h->regs.rdx, ~0ull);
	assert_int_equal(h->regs.rax, 0x8000000000000000);
}

#define T(t) cmocka_unit_test_setup_teardown(t, harness_setup, harness_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_movzx__bh_zero_extends_to_64bit),
		T(test_movsx__memory_word_sign_extends_to_64bit),
		T(test_movsx__byte_to_16bit_merges),
		T(test_movsxd__negative_dword_sign_extends),
		T(test_lea__rip_relative_is_from_the_next_instruction),
		T(test_lea__sib_with_scale_and_negative_disp),
		T(test_lea__32bit_destination_truncates),
		T(test_cmovcc__32bit_false_still_zero_extends),
		T(test_cmovcc__memory_source_true_loads),
		T(test_setcc__all_16_conditions_match_table_b1),
		T(test_setcc__bh_destination_writes_bits_15_8_only),
		T(test_bsf__zero_source_keeps_destination_sets_zf),
		T(test_bsf__finds_lowest_set_bit_and_zero_extends),
		T(test_bsr__finds_highest_set_bit),
		T(test_tzcnt__without_bmi1_executes_as_bsf),
		T(test_lzcnt__zero_source_gives_width_and_sets_cf),
		T(test_popcnt__counts_bits_and_clears_other_flags),
		T(test_bt__register_operand_masks_the_offset),
		T(test_bts__memory_offset_beyond_the_operand),
		T(test_btr__memory_negative_offset_goes_below),
		T(test_btr__memory_32bit_offset_is_signed),
		T(test_bts__memory_immediate_offset_is_masked),
		T(test_btc__immediate_toggles_bit_63),
		T(test_bswap__64bit_and_32bit),
		T(test_xchg__ah_with_bl),
		T(test_xchg__register_with_memory),
		T(test_xadd__register_exchanges_then_adds),
		T(test_xadd__memory_wraps_and_sets_cf),
		T(test_cmpxchg__equal_stores_source_sets_zf),
		T(test_cmpxchg__unequal_loads_accumulator_clears_zf),
		T(test_cmpxchg__memory_both_ways),
		T(test_cmpxchg8b__equal_stores_ecx_ebx),
		T(test_cmpxchg8b__unequal_loads_edx_eax),
		T(test_cbw_cwde_cdqe__sign_extend_within_rax),
		T(test_cwd_cdq_cqo__fill_rdx_with_the_sign),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
