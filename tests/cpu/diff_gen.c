/* SPDX-License-Identifier: MIT */
/*
 * diff_gen.c - the differential tester's case generator: a weighted table
 * of the user-mode instruction forms GCC emits, each with its operand
 * sizes, registers (AH..BH included), memory forms, prefixes and values
 * chosen at the edges, and for every case the flags and destinations the
 * SDM leaves undefined (Vol. 2 instruction pages). Host side, tests only.
 */
#include <string.h>
#include <strings.h>

#include "tests/cpu/diff_enc.h"

/* ---- forms --------------------------------------------------------------- */

/* ADD OR ADC SBB AND SUB XOR CMP: 00-3D, 80/81/83 /op (SDM Vol. 2A). The
 * logic ones leave AF undefined. */
static void gen_alu(struct gen *g, unsigned int op)
{
	unsigned int sz = gen_pick_size(g, 15), form = rn(g, 10);
	bool b = sz == 1;
	struct enc e;
	int64_t off;
	int rm;

	enc_init(&e);
	gen_byte_mode(g, sz);
	enc_size(&e, sz);
	if (form < 4) { /* op r/m, r */
		enc_op(&e, 1, (uint8_t)(op * 8 + !b), 0, 0);
		enc_modrm_reg(&e, gen_pick_reg(g, b), b);
		rm = enc_rm(g, &e, sz, b, 50, 0, true, &off);
		enc_maybe_lock(g, &e, rm < 0, op != 7);
	} else if (form < 7) { /* op r, r/m */
		enc_op(&e, 1, (uint8_t)(op * 8 + 2 + !b), 0, 0);
		enc_modrm_reg(&e, gen_pick_reg(g, b), b);
		enc_rm(g, &e, sz, b, 50, 0, true, &off);
		enc_maybe_lock(g, &e, false, false);
	} else if (form < 8) { /* op AL/rAX, imm */
		enc_op(&e, 1, (uint8_t)(op * 8 + 4 + !b), 0, 0);
		enc_imm(&e, gen_rand_value(g, sz), b ? 1 : sz == 2 ? 2 : 4);
	} else { /* 80 /op ib, 81 /op iz, 83 /op ib (sign-extended) */
		bool ib = b || chance(g, 50);

		enc_op(&e, 1, b ? 0x80 : ib ? 0x83 : 0x81, 0, 0);
		enc_modrm_digit(&e, op);
		rm = enc_rm(g, &e, sz, b, 50, 0, true, &off);
		enc_imm(&e, gen_rand_value(g, sz), ib ? 1 : sz == 2 ? 2 : 4);
		enc_maybe_lock(g, &e, rm < 0, op != 7);
	}
	enc_emit(g, &e);
	if (op == 1 || op == 4 || op == 6)
		gen_undef_flags(g, AF);
}

/* TEST: 84/85, A8/A9, F6/F7 /0; AF undefined. */
static void gen_test(struct gen *g, unsigned int arg)
{
	unsigned int sz = gen_pick_size(g, 15), form = rn(g, 3);
	bool b = sz == 1;
	struct enc e;
	int64_t off;

	(void)arg;
	enc_init(&e);
	gen_byte_mode(g, sz);
	enc_size(&e, sz);
	if (form == 0) {
		enc_op(&e, 1, b ? 0x84 : 0x85, 0, 0);
		enc_modrm_reg(&e, gen_pick_reg(g, b), b);
		enc_rm(g, &e, sz, b, 50, 0, true, &off);
	} else if (form == 1) {
		enc_op(&e, 1, b ? 0xa8 : 0xa9, 0, 0);
		enc_imm(&e, gen_rand_value(g, sz), b ? 1 : sz == 2 ? 2 : 4);
	} else {
		enc_op(&e, 1, b ? 0xf6 : 0xf7, 0, 0);
		enc_modrm_digit(&e, 0);
		enc_rm(g, &e, sz, b, 50, 0, true, &off);
		enc_imm(&e, gen_rand_value(g, sz), b ? 1 : sz == 2 ? 2 : 4);
	}
	enc_maybe_lock(g, &e, false, false);
	enc_emit(g, &e);
	gen_undef_flags(g, AF);
}

/* MOV: 88/89, 8A/8B, C6/C7 /0, B0+r, B8+r (imm64 with REX.W). */
static void gen_mov(struct gen *g, unsigned int arg)
{
	unsigned int sz = gen_pick_size(g, 15), form = rn(g, 4);
	bool b = sz == 1;
	struct enc e;
	int64_t off;

	(void)arg;
	enc_init(&e);
	gen_byte_mode(g, sz);
	enc_size(&e, sz);
	if (form < 2) {
		enc_op(&e, 1, (uint8_t)((form ? 0x8a : 0x88) + !b), 0, 0);
		enc_modrm_reg(&e, gen_pick_reg(g, b), b);
		enc_rm(g, &e, sz, b, 50, 0, true, &off);
	} else if (form == 2) {
		enc_op(&e, 1, b ? 0xc6 : 0xc7, 0, 0);
		enc_modrm_digit(&e, 0);
		enc_rm(g, &e, sz, b, 50, 0, true, &off);
		enc_imm(&e, gen_rand_value(g, sz), b ? 1 : sz == 2 ? 2 : 4);
	} else {
		enc_op(&e, 1, b ? 0xb0 : 0xb8, 0, 0);
		enc_opreg(&e, gen_pick_reg(g, b), b);
		enc_imm(&e, gen_rand_value(g, sz), sz);
	}
	enc_maybe_lock(g, &e, false, false);
	enc_emit(g, &e);
}

/* INC, DEC (FE/FF /0 /1), NOT, NEG (F6/F7 /2 /3): all flags defined. */
static void gen_unary(struct gen *g, unsigned int digit)
{
	unsigned int sz = gen_pick_size(g, 15);
	bool b = sz == 1;
	struct enc e;
	int64_t off;
	int rm;

	enc_init(&e);
	gen_byte_mode(g, sz);
	enc_size(&e, sz);
	if (digit < 2)
		enc_op(&e, 1, b ? 0xfe : 0xff, 0, 0);
	else
		enc_op(&e, 1, b ? 0xf6 : 0xf7, 0, 0);
	enc_modrm_digit(&e, digit);
	rm = enc_rm(g, &e, sz, b, 50, 0, true, &off);
	enc_maybe_lock(g, &e, rm < 0, true);
	enc_emit(g, &e);
}

/* Counts around every boundary the SDM's shift and rotate rules mention:
 * 0, 1, the operand width, the 5- and 6-bit count masks. */
static unsigned int pick_count(struct gen *g, unsigned int sz)
{
	unsigned int bits = sz * 8;
	static const unsigned int fixed[] = { 0, 1, 2, 3, 31, 32, 33, 63, 64 };

	switch (rn(g, 4)) {
	case 0:
		return fixed[rn(g, sizeof(fixed) / sizeof(fixed[0]))];
	case 1:
		return bits - 1 + rn(g, 3);
	case 2:
		return rn(g, 256);
	default:
		return rn(g, bits);
	}
}

/* Shift count from CL or the immediate, before masking. */
static unsigned int case_count(const struct diff_case *c, bool cl,
			       unsigned int imm)
{
	return cl ? (unsigned)(c->in.gpr[RCX] & 0xff) : imm;
}

enum { SH_ROL, SH_ROR, SH_RCL, SH_RCR, SH_SHL, SH_SHR, SH_SAL, SH_SAR };

/*
 * Group 2 (C0/C1 ib, D0/D1 by 1, D2/D3 by CL). SDM Vol. 2B "SAL/SAR/SHL/
 * SHR": a masked count of 0 changes no flag; otherwise AF is undefined, OF
 * is undefined unless the count is 1, and for SHL/SHR CF is undefined
 * when the count is at least the operand width. "RCL/RCR/ROL/ROR": OF is
 * defined only for 1-bit rotates; the other flags are defined.
 */
static void gen_shift(struct gen *g, unsigned int op)
{
	unsigned int sz = gen_pick_size(g, 15), form = rn(g, 3), cnt, m;
	bool b = sz == 1;
	struct enc e;
	int64_t off;

	enc_init(&e);
	gen_byte_mode(g, sz);
	enc_size(&e, sz);
	cnt = form == 0 ? 1 : pick_count(g, sz);
	if (form == 1)
		gen_fix_reg(g, RCX, 1, cnt);
	enc_op(&e, 1,
	       (uint8_t)((form == 0   ? 0xd0
			  : form == 1 ? 0xd2
				      : 0xc0) +
			 !b),
	       0, 0);
	enc_modrm_digit(&e, op);
	enc_rm(g, &e, sz, b, 40, 0, true, &off);
	if (form == 2)
		enc_imm(&e, cnt, 1);
	enc_maybe_lock(g, &e, false, false);
	enc_emit(g, &e);

	m = case_count(g->c, form == 1, cnt) & (sz == 8 ? 63 : 31);
	if (!m)
		return;
	if (op <= SH_RCR) {
		if (m != 1)
			gen_undef_flags(g, OF);
		return;
	}
	gen_undef_flags(g, AF | (m != 1 ? OF : 0));
	if ((op == SH_SHL || op == SH_SHR) && m >= sz * 8)
		gen_undef_flags(g, CF);
}

/*
 * SHLD (0F A4 ib, 0F A5 CL), SHRD (0F AC, 0F AD), SDM Vol. 2B: a masked
 * count of 0 changes nothing; otherwise AF is undefined and OF too unless
 * the count is 1; a count larger than the operand (16-bit forms only)
 * leaves the destination and every flag undefined.
 */
static void gen_shxd(struct gen *g, unsigned int right)
{
	unsigned int sz = gen_pick_size(g, 14), form = rn(g, 2), cnt, m;
	struct enc e;
	int64_t off = 0;
	int rm;

	enc_init(&e);
	g->norex = false;
	enc_size(&e, sz);
	cnt = pick_count(g, sz);
	if (form)
		gen_fix_reg(g, RCX, 1, cnt);
	enc_op(&e, 2, 0x0f, (uint8_t)((right ? 0xac : 0xa4) + form), 0);
	enc_modrm_reg(&e, gen_pick_reg(g, false), false);
	rm = enc_rm(g, &e, sz, false, 40, 0, true, &off);
	if (!form)
		enc_imm(&e, cnt, 1);
	enc_emit(g, &e);

	m = case_count(g->c, form, cnt) & (sz == 8 ? 63 : 31);
	if (!m)
		return;
	gen_undef_flags(g, AF | (m != 1 ? OF : 0));
	if (m > sz * 8) {
		gen_undef_flags(g, ARITH);
		gen_undef_dest(g, rm, off, sz);
		g->c->note = "count > operand size: result undefined";
	}
}

/*
 * MUL (F6/F7 /4), DIV (/6), IDIV (/7). MUL: SF, ZF, AF, PF undefined.
 * DIV/IDIV: every arithmetic flag undefined; #DE on a zero divisor or a
 * quotient that does not fit. Most dividends are made to fit (the high
 * half below the divisor, or the sign extension of the low half), the
 * rest raise #DE on both sides.
 */
static void gen_muldiv(struct gen *g, unsigned int digit)
{
	unsigned int sz = gen_pick_size(g, 15);
	bool b = sz == 1;
	struct enc e;
	int64_t off = 0;
	uint64_t d = 0, m = size_mask(sz);
	int rm;

	enc_init(&e);
	gen_byte_mode(g, sz);
	enc_size(&e, sz);
	enc_op(&e, 1, b ? 0xf6 : 0xf7, 0, 0);
	enc_modrm_digit(&e, digit);
	if (digit >= 6) {
		uint64_t lo = gen_rand_value(g, sz), hi;

		d = chance(g, 5) ? 0 : gen_rand_value(g, sz) & m;
		if (!d && chance(g, 80))
			d = 1 + rn(g, 255);
		if (chance(g, 25))
			hi = gen_rand_value(g, sz);
		else if (digit == 6)
			hi = d ? rnd(g) % d : 0;
		else
			hi = (lo & (1ull << (sz * 8 - 1))) ? ~0ull : 0;
		if (b) {
			gen_fix_reg(g, RAX, 2,
				    (lo & 0xff) | ((hi & 0xff) << 8));
		} else {
			gen_fix_reg(g, RAX, sz, lo);
			gen_fix_reg(g, RDX, sz, hi);
		}
	}
	rm = enc_rm(g, &e, sz, b, 40, 1u << RAX | 1u << RDX, true, &off);
	if (digit >= 6) {
		if (rm >= 0)
			gen_set_reg(g, (unsigned)rm, sz, d);
		else
			gen_put_mem(g, off, sz, d);
	}
	enc_emit(g, &e);
	gen_undef_flags(g, digit >= 6 ? ARITH : SF | ZF | AF | PF);
}

/* IMUL with one (F6/F7 /5), two (0F AF) and three operands (69 iz,
 * 6B ib): CF = OF = truncation; SF, ZF, AF, PF undefined. */
static void gen_imul(struct gen *g, unsigned int arg)
{
	unsigned int kind = rn(g, 3), sz;
	struct enc e;
	int64_t off;

	(void)arg;
	if (kind == 0) {
		gen_muldiv(g, 5);
		return;
	}
	sz = gen_pick_size(g, 14);
	enc_init(&e);
	g->norex = false;
	enc_size(&e, sz);
	if (kind == 1) {
		enc_op(&e, 2, 0x0f, 0xaf, 0);
	} else {
		bool ib = chance(g, 50);

		enc_op(&e, 1, ib ? 0x6b : 0x69, 0, 0);
		enc_imm(&e, gen_rand_value(g, sz), ib ? 1 : sz == 2 ? 2 : 4);
	}
	enc_modrm_reg(&e, gen_pick_reg(g, false), false);
	enc_rm(g, &e, sz, false, 40, 0, true, &off);
	enc_emit(g, &e);
	gen_undef_flags(g, SF | ZF | AF | PF);
}

/* MOVZX (0F B6/B7), MOVSX (0F BE/BF): no flags. */
static void gen_movx(struct gen *g, unsigned int sx)
{
	unsigned int src = chance(g, 60) ? 1 : 2, dst;
	struct enc e;
	int64_t off;

	enc_init(&e);
	g->norex = src == 1 && chance(g, 30);
	if (src == 1)
		dst = gen_pick_size(g, g->norex ? 6 : 14);
	else
		dst = chance(g, 10) ? 2 : gen_pick_size(g, 12);
	if (g->norex && dst == 8)
		dst = 4;
	enc_size(&e, dst);
	enc_op(&e, 2, 0x0f, (uint8_t)((sx ? 0xbe : 0xb6) + (src == 2)), 0);
	enc_modrm_reg(&e, gen_pick_reg(g, false), false);
	enc_rm(g, &e, src, src == 1, 40, 0, true, &off);
	enc_emit(g, &e);
}

/* MOVSXD (63 /r): REX.W sign-extends a doubleword; without REX.W it is a
 * 32-bit move (SDM Vol. 2B "MOVSX/MOVSXD"). */
static void gen_movsxd(struct gen *g, unsigned int arg)
{
	struct enc e;
	int64_t off;

	(void)arg;
	enc_init(&e);
	g->norex = false;
	enc_size(&e, chance(g, 80) ? 8 : 4);
	enc_op(&e, 1, 0x63, 0, 0);
	enc_modrm_reg(&e, gen_pick_reg(g, false), false);
	enc_rm(g, &e, 4, false, 40, 0, true, &off);
	enc_emit(g, &e);
}

/* LEA (8D /r) in 16/32/64-bit operand and 32/64-bit address sizes. */
static void gen_lea(struct gen *g, unsigned int arg)
{
	struct enc e;

	(void)arg;
	enc_init(&e);
	g->norex = false;
	enc_size(&e, gen_pick_size(g, 14));
	enc_op(&e, 1, 0x8d, 0, 0);
	enc_modrm_reg(&e, gen_pick_reg(g, false), false);
	enc_agen(g, &e);
	enc_emit(g, &e);
}

/* CMOVcc (0F 40+cc): the source is read, and can fault, whatever the
 * condition. */
static void gen_cmov(struct gen *g, unsigned int arg)
{
	unsigned int sz = gen_pick_size(g, 14);
	struct enc e;
	int64_t off;

	(void)arg;
	enc_init(&e);
	g->norex = false;
	enc_size(&e, sz);
	enc_op(&e, 2, 0x0f, (uint8_t)(0x40 + rn(g, 16)), 0);
	enc_modrm_reg(&e, gen_pick_reg(g, false), false);
	enc_rm(g, &e, sz, false, 40, 0, true, &off);
	enc_emit(g, &e);
}

/* SETcc (0F 90+cc /0) r/m8. */
static void gen_setcc(struct gen *g, unsigned int arg)
{
	struct enc e;
	int64_t off;

	(void)arg;
	enc_init(&e);
	gen_byte_mode(g, 1);
	enc_op(&e, 2, 0x0f, (uint8_t)(0x90 + rn(g, 16)), 0);
	enc_modrm_digit(&e, 0);
	enc_rm(g, &e, 1, true, 40, 0, true, &off);
	enc_emit(g, &e);
}

/*
 * BT, BTS, BTR, BTC (SDM Vol. 2A "BT"): 0F A3/AB/B3/BB r/m, r and
 * 0F BA /4-/7 r/m, imm8. CF = the bit; OF, SF, AF, PF undefined; ZF kept.
 * A register bit offset reaches beyond the memory operand (signed, in
 * operand-sized words); the generator picks the word it lands on. The SDM
 * lets a 16-bit form access 4 bytes, so those never sit at a page that
 * faults.
 */
static void gen_bt(struct gen *g, unsigned int digit)
{
	static const uint8_t rr_op[] = { 0xa3, 0xab, 0xb3, 0xbb };
	unsigned int sz = gen_pick_size(g, 14), form = rn(g, 4), bits = sz * 8;
	struct enc e;
	int64_t off;
	int rm = 0;

	enc_init(&e);
	g->norex = false;
	enc_size(&e, sz);
	if (form == 0 || form == 2) {
		unsigned int r = gen_pick_reg(g, false);

		enc_op(&e, 2, 0x0f, rr_op[digit - 4], 0);
		if (form == 0) {
			enc_modrm_reg(&e, r, false);
			rm = (int)gen_pick_reg(g, false);
			enc_rm_reg(&e, (unsigned)rm, false);
		} else {
			int w = (int)rn(g, 17) - 8;
			int64_t at = gen_pick_off(g, sz, sz != 2);

			if (sz == 2 && at > DIFF_SANDBOX_SIZE - 4)
				at = DIFF_SANDBOX_SIZE - 4;
			gen_fix_reg(g, r, sz,
				    (uint64_t)(w * (int)bits) + rn(g, bits));
			enc_modrm_reg(&e, r, false);
			enc_mem(g, &e, at - w * (int)sz, 0);
			rm = -1;
		}
	} else {
		enc_op(&e, 2, 0x0f, 0xba, 0);
		enc_modrm_digit(&e, digit);
		if (form == 3) {
			/* An m16 operand keeps 4 bytes inside the sandbox. */
			off = gen_pick_off(g, sz == 2 ? 4 : sz, sz != 2);
			enc_mem(g, &e, off, 0);
			rm = -1;
		} else {
			rm = (int)gen_pick_reg(g, false);
			enc_rm_reg(&e, (unsigned)rm, false);
		}
		enc_imm(&e, rn(g, 256), 1);
	}
	enc_maybe_lock(g, &e, rm < 0, digit != 4);
	enc_emit(g, &e);
	gen_undef_flags(g, OF | SF | AF | PF);
}

/* The sz-byte source value of a case's r/m operand. */
static uint64_t src_value(const struct diff_case *c, int rm, int64_t off,
			  unsigned int sz)
{
	return rm >= 0 ? case_get_reg(c, (unsigned)rm, sz)
		       : case_get_mem(c, off, sz);
}

/* Sets the r/m source to zero now and then, which the bit scans and
 * counts treat specially. */
static void maybe_zero_src(struct gen *g, int rm, int64_t off, unsigned sz)
{
	if (!chance(g, 15))
		return;
	if (rm >= 0)
		gen_set_reg(g, (unsigned)rm, sz, 0);
	else
		gen_put_mem(g, off, sz, 0);
}

/* BSF (0F BC), BSR (0F BD), SDM Vol. 2A: ZF = (source == 0); CF, OF, SF,
 * AF, PF undefined; the destination is undefined for a zero source. */
static void gen_bscan(struct gen *g, unsigned int rev)
{
	unsigned int sz = gen_pick_size(g, 14), dst;
	struct enc e;
	int64_t off = 0;
	int rm;

	enc_init(&e);
	g->norex = false;
	enc_size(&e, sz);
	enc_op(&e, 2, 0x0f, (uint8_t)(0xbc + rev), 0);
	dst = gen_pick_reg(g, false);
	enc_modrm_reg(&e, dst, false);
	rm = enc_rm(g, &e, sz, false, 40, 0, true, &off);
	maybe_zero_src(g, rm, off, sz);
	enc_emit(g, &e);
	gen_undef_flags(g, CF | OF | SF | AF | PF);
	if (!src_value(g->c, rm, off, sz)) {
		gen_undef_reg(g, dst, sz);
		g->c->note = "zero source: destination undefined";
	}
}

/*
 * F3 0F BC (TZCNT), F3 0F BD (LZCNT), F3 0F B8 (POPCNT).
 *
 * TZCNT is a BMI1 instruction; a CPU without BMI1 ignores the F3 prefix
 * and executes BSF (SDM Vol. 2B "TZCNT"). The model does not advertise
 * BMI1 and runs BSF; the host may have BMI1 and run TZCNT. The two agree
 * on the destination for a non-zero source only, and their flags differ
 * (TZCNT: CF = (source == 0), ZF = (result == 0); BSF: ZF = (source ==
 * 0)). So TZCNT cases use non-zero sources, compare the destination and
 * mask every arithmetic flag.
 *
 * LZCNT: the model advertises it (CPUID.80000001H:ECX.LZCNT) and so must
 * the host: CF = (source == 0), ZF = (result == 0); OF, SF, AF, PF
 * undefined. POPCNT defines all six flags.
 */
static void gen_count(struct gen *g, unsigned int kind)
{
	static const uint8_t op[] = { 0xbc, 0xbd, 0xb8 };
	unsigned int sz = gen_pick_size(g, 14);
	struct enc e;
	int64_t off = 0;
	int rm;

	enc_init(&e);
	g->norex = false;
	enc_size(&e, sz);
	e.mand = 0xf3;
	enc_op(&e, 2, 0x0f, op[kind], 0);
	enc_modrm_reg(&e, gen_pick_reg(g, false), false);
	rm = enc_rm(g, &e, sz, false, 40, 0, true, &off);
	maybe_zero_src(g, rm, off, sz);
	enc_emit(g, &e);
	if (kind == 0) {
		if (!src_value(g->c, rm, off, sz)) {
			uint64_t one = 1ull << rn(g, sz * 8);

			if (rm >= 0)
				gen_set_reg(g, (unsigned)rm, sz, one);
			else
				gen_put_mem(g, off, sz, one);
		}
		gen_undef_flags(g, ARITH);
		g->c->note = "the model runs F3 0F BC as BSF (no BMI1)";
	} else if (kind == 1) {
		gen_undef_flags(g, OF | SF | AF | PF);
	}
}

/* BSWAP (0F C8+r); with a 16-bit operand the result is undefined (SDM
 * Vol. 2A "BSWAP"). */
static void gen_bswap(struct gen *g, unsigned int arg)
{
	unsigned int sz = chance(g, 10) ? 2 : gen_pick_size(g, 12), r;
	struct enc e;

	(void)arg;
	enc_init(&e);
	g->norex = false;
	enc_size(&e, sz);
	enc_op(&e, 2, 0x0f, 0xc8, 0);
	r = gen_pick_reg(g, false);
	enc_opreg(&e, r, false);
	enc_emit(g, &e);
	if (sz == 2) {
		gen_undef_reg(g, r, 2);
		g->c->note = "16-bit operand: result undefined";
	}
}

/* XCHG: 86/87 /r (with memory: locked whether or not LOCK is there),
 * 90+r with rAX. 90 itself is NOP, so rAX never pairs with itself there;
 * 87 C0 is a real XCHG EAX, EAX and zero-extends. */
static void gen_xchg(struct gen *g, unsigned int arg)
{
	unsigned int sz = gen_pick_size(g, 15);
	bool b = sz == 1;
	struct enc e;
	int64_t off;
	int rm;

	(void)arg;
	enc_init(&e);
	gen_byte_mode(g, sz);
	enc_size(&e, sz);
	if (!b && chance(g, 30)) {
		g->norex = false;
		enc_op(&e, 1, 0x90, 0, 0);
		enc_opreg(&e, 1 + rn(g, 15), false);
	} else {
		enc_op(&e, 1, b ? 0x86 : 0x87, 0, 0);
		enc_modrm_reg(&e, gen_pick_reg(g, b), b);
		rm = enc_rm(g, &e, sz, b, 50, 0, true, &off);
		enc_maybe_lock(g, &e, rm < 0, true);
	}
	enc_emit(g, &e);
}

/* XADD (0F C0/C1 /r): flags as ADD. */
static void gen_xadd(struct gen *g, unsigned int arg)
{
	unsigned int sz = gen_pick_size(g, 15);
	bool b = sz == 1;
	struct enc e;
	int64_t off;
	int rm;

	(void)arg;
	enc_init(&e);
	gen_byte_mode(g, sz);
	enc_size(&e, sz);
	enc_op(&e, 2, 0x0f, b ? 0xc0 : 0xc1, 0);
	enc_modrm_reg(&e, gen_pick_reg(g, b), b);
	rm = enc_rm(g, &e, sz, b, 50, 0, true, &off);
	enc_maybe_lock(g, &e, rm < 0, true);
	enc_emit(g, &e);
}

/* CMPXCHG (0F B0/B1 /r): flags as CMP rAX, dest; half the cases make the
 * accumulator equal to the destination. */
static void gen_cmpxchg(struct gen *g, unsigned int arg)
{
	unsigned int sz = gen_pick_size(g, 15);
	bool b = sz == 1, eq = chance(g, 50);
	struct enc e;
	int64_t off = 0;
	int rm;

	(void)arg;
	enc_init(&e);
	gen_byte_mode(g, sz);
	enc_size(&e, sz);
	enc_op(&e, 2, 0x0f, b ? 0xb0 : 0xb1, 0);
	enc_modrm_reg(&e, gen_pick_reg(g, b), b);
	g->fixed |= 1u << RAX;
	rm = enc_rm(g, &e, sz, b, 50, 0, true, &off);
	if (eq && rm >= 0)
		gen_set_reg(g, RAX, sz, case_get_reg(g->c, (unsigned)rm, sz));
	else if (eq)
		gen_put_mem(g, off, sz, case_get_reg(g->c, RAX, sz));
	enc_maybe_lock(g, &e, rm < 0, true);
	enc_emit(g, &e);
}

/* CMPXCHG8B m64 (0F C7 /1): only ZF changes. A register operand is #UD. */
static void gen_cmpxchg8b(struct gen *g, unsigned int arg)
{
	struct enc e;
	int64_t off = gen_pick_off(g, 8, true);

	(void)arg;
	enc_init(&e);
	g->norex = false;
	enc_op(&e, 2, 0x0f, 0xc7, 0);
	enc_modrm_digit(&e, 1);
	g->fixed |= 1u << RAX | 1u << RDX;
	if (rn(g, 100) == 0) {
		enc_rm_reg(&e, gen_pick_reg(g, false), false);
	} else {
		enc_mem(g, &e, off, 0);
		if (chance(g, 50))
			gen_put_mem(g, off, 8,
				    (g->c->in.gpr[RDX] << 32) |
					    (uint32_t)g->c->in.gpr[RAX]);
		enc_maybe_lock(g, &e, true, true);
	}
	enc_emit(g, &e);
}

/* CBW/CWDE/CDQE (98), CWD/CDQ/CQO (99). */
static void gen_cbw(struct gen *g, unsigned int cwd)
{
	struct enc e;

	enc_init(&e);
	g->norex = false;
	enc_size(&e, gen_pick_size(g, 14));
	enc_op(&e, 1, (uint8_t)(0x98 + cwd), 0, 0);
	enc_emit(g, &e);
}

/* Puts RSP at sandbox offset sp, or now and then at a non-canonical
 * address (#SS(0), SDM Vol. 2B "PUSH", "POP"); returns its value. */
static uint64_t set_rsp(struct gen *g, int64_t sp)
{
	uint64_t v =
		rn(g, 200) ? gen_sandbox_addr(g, sp) : gen_noncanon_addr(g);

	gen_fix_reg(g, RSP, 8, v);
	return v;
}

/* An offset within 100 bytes of `at` where sz bytes fit in the sandbox. */
static int64_t near_off(struct gen *g, int64_t at, unsigned int sz)
{
	int64_t off = at + (int64_t)rn(g, 201) - 100;

	if (off < 0)
		off = 0;
	if (off > DIFF_SANDBOX_SIZE - sz)
		off = DIFF_SANDBOX_SIZE - sz;
	return off;
}

/* An RSP offset for a stack access of sz bytes, 8-aligned most of the
 * time. */
static int64_t pick_sp(struct gen *g)
{
	int64_t sp = 16 + rn(g, DIFF_SANDBOX_SIZE - 32);

	return chance(g, 80) ? sp & ~7ll : sp;
}

/*
 * PUSH (SDM Vol. 2B): 50+r, FF /6, 6A ib, 68 iz; 64-bit, or 16-bit with
 * 66h. PUSH RSP stores the old RSP; a memory source based on RSP uses RSP
 * from before the push.
 */
static void gen_push(struct gen *g, unsigned int arg)
{
	unsigned int sz = chance(g, 15) ? 2 : 8, form = rn(g, 5);
	int64_t sp = chance(g, 2) ? rn(g, sz) : pick_sp(g);
	uint64_t rsp = set_rsp(g, sp);
	struct enc e;
	int64_t off;

	(void)arg;
	enc_init(&e);
	g->norex = false;
	e.p66 = sz == 2;
	switch (form) {
	case 0:
		enc_op(&e, 1, 0x50, 0, 0);
		enc_opreg(&e, gen_pick_reg(g, false), false);
		break;
	case 1:
		enc_op(&e, 1, 0xff, 0, 0);
		enc_modrm_digit(&e, 6);
		enc_rm_reg(&e, gen_pick_reg(g, false), false);
		break;
	case 2:
		enc_op(&e, 1, 0xff, 0, 0);
		enc_modrm_digit(&e, 6);
		if (chance(g, 30) && !(rsp >> 47)) {
			enc_mem_rsp(g, &e, near_off(g, sp, sz), rsp);
		} else {
			off = gen_pick_off(g, sz, true);
			enc_mem(g, &e, off, 0);
		}
		break;
	case 3:
		enc_op(&e, 1, 0x6a, 0, 0);
		enc_imm(&e, gen_rand_value(g, 1), 1);
		break;
	default:
		enc_op(&e, 1, 0x68, 0, 0);
		enc_imm(&e, gen_rand_value(g, 4), sz == 2 ? 2 : 4);
		break;
	}
	enc_emit(g, &e);
}

/* POP (SDM Vol. 2B): 58+r, 8F /0; POP RSP loads the popped value; a
 * memory destination based on RSP uses RSP from after the pop. */
static void gen_pop(struct gen *g, unsigned int arg)
{
	unsigned int sz = chance(g, 15) ? 2 : 8, form = rn(g, 3);
	int64_t sp = chance(g, 2) ? DIFF_SANDBOX_SIZE - sz + 1 + rn(g, sz)
				  : pick_sp(g);
	uint64_t rsp = set_rsp(g, sp);
	struct enc e;
	int64_t off;

	(void)arg;
	enc_init(&e);
	g->norex = false;
	e.p66 = sz == 2;
	if (form == 0) {
		enc_op(&e, 1, 0x58, 0, 0);
		enc_opreg(&e, gen_pick_reg(g, false), false);
	} else {
		enc_op(&e, 1, 0x8f, 0, 0);
		enc_modrm_digit(&e, 0);
		if (form == 1) {
			enc_rm_reg(&e, gen_pick_reg(g, false), false);
		} else if (chance(g, 30) && !(rsp >> 47)) {
			enc_mem_rsp(g, &e, near_off(g, sp + sz, sz), rsp + sz);
		} else {
			off = gen_pick_off(g, sz, true);
			enc_mem(g, &e, off, 0);
		}
	}
	enc_emit(g, &e);
}

/* LAHF, SAHF, CLC, STC, CMC: one opcode byte each. */
static void gen_byte(struct gen *g, unsigned int opcode)
{
	struct enc e;

	enc_init(&e);
	g->norex = false;
	enc_op(&e, 1, (uint8_t)opcode, 0, 0);
	enc_emit(g, &e);
}

enum { STR_MOVS, STR_STOS, STR_LODS, STR_CMPS, STR_SCAS };

/* A start offset for n elements of sz bytes walking up (or down, df) that
 * stay in the sandbox; with `fault`, one that runs out of it. */
static int64_t str_start(struct gen *g, uint64_t n, unsigned int sz, bool df,
			 bool fault)
{
	int64_t span = (int64_t)(n ? n : 1) * sz, s;

	if (fault)
		return df ? span - sz - 1 - rn(g, (unsigned)span)
			  : DIFF_SANDBOX_SIZE - 1 - rn(g, (unsigned)span);
	s = rn(g, (unsigned)(DIFF_SANDBOX_SIZE - span + 1));
	if (df)
		s += span - sz;
	if (chance(g, 70))
		s &= ~(int64_t)(sz - 1);
	return s;
}

/* A string pointer register at sandbox offset s; with a 32-bit address
 * size only its low half counts. */
static void str_reg(struct gen *g, unsigned int r, int64_t s, bool a32)
{
	uint64_t v = gen_sandbox_addr(g, s);

	if (a32)
		v = (rnd(g) & ~0xffffffffull) | (v & 0xffffffffull);
	gen_fix_reg(g, r, 8, v);
}

/*
 * MOVS, STOS, LODS, CMPS, SCAS (SDM Vol. 2B, Vol. 1 7.3.9) in the four
 * sizes, both DF values, REP/REPE/REPNE with a small count, 64- and 32-bit
 * address sizes, overlapping MOVS operands. REPE/REPNE cases get runs of
 * equal elements so that the termination condition fires mid-way.
 */
static void gen_string(struct gen *g, unsigned int kind)
{
	static const uint8_t op[] = { 0xa4, 0xaa, 0xac, 0xa6, 0xae };
	unsigned int sz = gen_pick_size(g, 15), rep = 0;
	bool a32 = g->w->low && chance(g, 15), df = chance(g, 50);
	bool cmp = kind == STR_CMPS || kind == STR_SCAS;
	bool src = kind == STR_MOVS || kind == STR_LODS || kind == STR_CMPS;
	bool dst = kind != STR_LODS, fault = chance(g, 2);
	int64_t step = df ? -(int64_t)sz : (int64_t)sz, si = 0, di = 0;
	uint64_t n = 1;
	struct enc e;

	enc_init(&e);
	g->norex = false;
	enc_size(&e, sz);
	e.p67 = a32;
	if (chance(g, 65)) {
		rep = cmp && chance(g, 45) ? 0xf2 : 0xf3;
		n = chance(g, 8) ? 0 : 1 + rn(g, 16);
		enc_prefix(&e, (uint8_t)rep);
		gen_fix_reg(g, RCX, a32 ? 4 : 8, n);
	}
	g->c->in.rflags = (g->c->in.rflags & ~DF) | (df ? DF : 0);
	if (src) {
		bool f = fault && (!dst || chance(g, 50));

		si = str_start(g, n, sz, df, f);
		str_reg(g, RSI, si, a32);
		fault &= !f;
	}
	if (dst) {
		di = str_start(g, n, sz, df, fault);
		if (kind == STR_MOVS && !fault && chance(g, 30)) {
			/* Overlapping source and destination. */
			int64_t d = si + (int64_t)rn(g, 2 * n * sz + 1) -
				    (int64_t)(n * sz);
			if (d >= (df ? (int64_t)((n ? n : 1) - 1) * sz : 0) &&
			    d <= DIFF_SANDBOX_SIZE -
					    (df ? (int64_t)sz
						: (int64_t)(n ? n : 1) * sz))
				di = d;
		}
		str_reg(g, RDI, di, a32);
	}
	if (src && kind != STR_MOVS && chance(g, 10)) {
		/* A source segment override: no-op in 64-bit mode. */
		static const uint8_t seg[] = { 0x26, 0x2e, 0x36, 0x3e };
		enc_prefix(&e, seg[rn(g, 4)]);
	}
	if (cmp && n) {
		/* Equal elements up to k, then (for REPNE) one equal one. */
		uint64_t k = rn(g, (unsigned)n + 1);
		uint64_t acc = g->c->in.gpr[RAX];

		for (uint64_t i = 0; i < n; i++) {
			bool same = rep == 0xf2 ? i == k : i < k;
			int64_t at = di + (int64_t)i * step;
			uint64_t v =
				kind == STR_SCAS
					? acc
					: case_get_mem(g->c,
						       si + (int64_t)i * step,
						       sz);
			if (same)
				gen_put_mem(g, at, sz, v);
		}
	}
	enc_op(&e, 1, (uint8_t)(op[kind] + (sz != 1)), 0, 0);
	enc_emit(g, &e);
}

/* ---- the table ----------------------------------------------------------- */

struct diff_form {
	const char *name;
	unsigned int weight;
	void (*gen)(struct gen *g, unsigned int arg);
	unsigned int arg;
};

/* Weights: roughly how often GCC's output uses each family, with every
 * form frequent enough to be met thousands of times in a long run. */
static const struct diff_form forms[] = {
	{ "ADD", 6, gen_alu, 0 },
	{ "OR", 4, gen_alu, 1 },
	{ "ADC", 4, gen_alu, 2 },
	{ "SBB", 4, gen_alu, 3 },
	{ "AND", 4, gen_alu, 4 },
	{ "SUB", 6, gen_alu, 5 },
	{ "XOR", 4, gen_alu, 6 },
	{ "CMP", 6, gen_alu, 7 },
	{ "TEST", 4, gen_test, 0 },
	{ "MOV", 4, gen_mov, 0 },
	{ "INC", 3, gen_unary, 0 },
	{ "DEC", 3, gen_unary, 1 },
	{ "NOT", 2, gen_unary, 2 },
	{ "NEG", 3, gen_unary, 3 },
	{ "ROL", 3, gen_shift, SH_ROL },
	{ "ROR", 3, gen_shift, SH_ROR },
	{ "RCL", 3, gen_shift, SH_RCL },
	{ "RCR", 3, gen_shift, SH_RCR },
	{ "SHL", 4, gen_shift, SH_SHL },
	{ "SHR", 4, gen_shift, SH_SHR },
	{ "SAR", 4, gen_shift, SH_SAR },
	{ "SHLD", 3, gen_shxd, 0 },
	{ "SHRD", 3, gen_shxd, 1 },
	{ "MUL", 3, gen_muldiv, 4 },
	{ "IMUL", 5, gen_imul, 0 },
	{ "DIV", 4, gen_muldiv, 6 },
	{ "IDIV", 4, gen_muldiv, 7 },
	{ "MOVZX", 3, gen_movx, 0 },
	{ "MOVSX", 3, gen_movx, 1 },
	{ "MOVSXD", 2, gen_movsxd, 0 },
	{ "LEA", 4, gen_lea, 0 },
	{ "CMOVcc", 5, gen_cmov, 0 },
	{ "SETcc", 4, gen_setcc, 0 },
	{ "BT", 3, gen_bt, 4 },
	{ "BTS", 3, gen_bt, 5 },
	{ "BTR", 3, gen_bt, 6 },
	{ "BTC", 3, gen_bt, 7 },
	{ "BSF", 3, gen_bscan, 0 },
	{ "BSR", 3, gen_bscan, 1 },
	{ "TZCNT", 2, gen_count, 0 },
	{ "LZCNT", 2, gen_count, 1 },
	{ "POPCNT", 2, gen_count, 2 },
	{ "BSWAP", 2, gen_bswap, 0 },
	{ "XCHG", 3, gen_xchg, 0 },
	{ "XADD", 3, gen_xadd, 0 },
	{ "CMPXCHG", 3, gen_cmpxchg, 0 },
	{ "CMPXCHG8B", 1, gen_cmpxchg8b, 0 },
	{ "CBW", 2, gen_cbw, 0 },
	{ "CWD", 2, gen_cbw, 1 },
	{ "PUSH", 4, gen_push, 0 },
	{ "POP", 4, gen_pop, 0 },
	{ "LAHF", 1, gen_byte, 0x9f },
	{ "SAHF", 1, gen_byte, 0x9e },
	{ "CLC", 1, gen_byte, 0xf8 },
	{ "STC", 1, gen_byte, 0xf9 },
	{ "CMC", 1, gen_byte, 0xf5 },
	{ "MOVS", 3, gen_string, STR_MOVS },
	{ "STOS", 3, gen_string, STR_STOS },
	{ "LODS", 2, gen_string, STR_LODS },
	{ "CMPS", 3, gen_string, STR_CMPS },
	{ "SCAS", 3, gen_string, STR_SCAS },
};

#define NR_FORMS (sizeof(forms) / sizeof(forms[0]))

static bool form_matches(const struct diff_form *f, const char *only)
{
	return !only || !strcasecmp(f->name, only);
}

const char *diff_form_name(const struct diff_form *f)
{
	return f->name;
}

bool diff_form_exists(const char *name)
{
	for (size_t k = 0; k < NR_FORMS; k++)
		if (form_matches(&forms[k], name))
			return true;
	return false;
}

const char *diff_form_name_at(size_t i)
{
	return i < NR_FORMS ? forms[i].name : NULL;
}

static const struct diff_form *pick_form(struct gen *g, const char *only)
{
	unsigned int total = 0, r;

	for (size_t k = 0; k < NR_FORMS; k++)
		if (form_matches(&forms[k], only))
			total += forms[k].weight;
	if (!total)
		diff_gen_bug("no form matches");
	r = rn(g, total);
	for (size_t k = 0; k < NR_FORMS; k++) {
		if (!form_matches(&forms[k], only))
			continue;
		if (r < forms[k].weight)
			return &forms[k];
		r -= forms[k].weight;
	}
	return &forms[0];
}

void diff_gen_case(struct diff_case *c, const struct diff_where *w,
		   uint64_t seed, uint64_t index, const char *only)
{
	struct gen g = { .w = w, .c = c };
	uint64_t x = seed;

	/* Each case has its own stream: (seed, index) alone reproduces it. */
	x = splitmix64(&x) ^ (index * 0xd1342543de82ef95ull);
	for (int k = 0; k < 4; k++)
		g.s[k] = splitmix64(&x);

	memset(c, 0, sizeof(*c));
	c->index = index;
	c->undef_reg = -1;
	for (int r = 0; r < 16; r++)
		c->in.gpr[r] = gen_rand_value(&g, 8);
	c->in.rflags = X86_EFLAGS_FIXED | (rnd(&g) & (ARITH | DF));
	for (unsigned int k = 0; k < DIFF_SANDBOX_SIZE; k += 8) {
		uint64_t v = rnd(&g);

		memcpy(c->mem + k, &v, 8);
	}
	c->form = pick_form(&g, only);
	c->form->gen(&g, c->form->arg);
}
