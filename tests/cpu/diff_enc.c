/* SPDX-License-Identifier: MIT */
/*
 * diff_enc.c - the case generator's tools: random values biased to the
 * edges, register and sandbox set-up, a small x86-64 encoder (prefixes,
 * REX, ModRM, SIB, displacements, immediates; SDM Vol. 2A 2.1-2.2) and
 * memory operands aimed into the sandbox in every addressing form, and
 * the record of what the SDM leaves undefined. Host side, tests only.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/cpu/diff_enc.h"

__attribute__((noreturn)) void diff_gen_bug(const char *what)
{
	fprintf(stderr, "cpu-diff: generator bug: %s\n", what);
	abort();
}

/* A value for an operand of sz bytes, biased to the edges where flags and
 * overflow change: 0, 1, -1, the sign boundaries, single bits. */
uint64_t gen_rand_value(struct gen *g, unsigned int sz)
{
	uint64_t sign = 1ull << (sz * 8 - 1);

	switch (rn(g, 12)) {
	case 0:
		return 0;
	case 1:
		return 1;
	case 2:
		return ~0ull;
	case 3:
		return sign;
	case 4:
		return sign - 1;
	case 5:
		return rn(g, 64);
	case 6:
		return -(uint64_t)rn(g, 64);
	case 7:
		return 1ull << rn(g, sz * 8);
	case 8:
		return ~(1ull << rn(g, sz * 8));
	case 9:
		return rnd(g) & rnd(g) & rnd(g);
	default:
		return rnd(g);
	}
}

unsigned int gen_pick_size(struct gen *g, unsigned int sizes)
{
	unsigned int list[4], n = 0;

	for (unsigned int s = 1; s <= 8; s <<= 1)
		if (sizes & s)
			list[n++] = s;
	return list[rn(g, n)];
}

/* ---- registers ----------------------------------------------------------- */

/* A register number for an operand: 0-15, or REG_AH + 0..3 for AH..BH
 * (byte operands, only in the no-REX mode of the case). */
unsigned int gen_pick_reg(struct gen *g, bool byte)
{
	unsigned int r;

	if (!g->norex)
		return rn(g, 16);
	r = rn(g, 8);
	return byte && r >= 4 ? REG_AH + r - 4 : r;
}

void gen_set_reg(struct gen *g, unsigned int r, unsigned int sz, uint64_t v)
{
	unsigned int sh = 0;
	uint64_t *p, m;

	if (r >= REG_AH) {
		r -= REG_AH;
		sh = 8;
		sz = 1;
	}
	p = &g->c->in.gpr[r];
	m = size_mask(sz) << sh;
	*p = (*p & ~m) | ((v << sh) & m);
}

/* Sets a register the case needs at a given value, so that no memory
 * operand uses it for its address. */
void gen_fix_reg(struct gen *g, unsigned int r, unsigned int sz, uint64_t v)
{
	gen_set_reg(g, r, sz, v);
	g->fixed |= 1u << (r >= REG_AH ? r - REG_AH : r);
}

uint64_t case_get_reg(const struct diff_case *c, unsigned int r,
		      unsigned int sz)
{
	if (r >= REG_AH)
		return (c->in.gpr[r - REG_AH] >> 8) & 0xff;
	return c->in.gpr[r] & size_mask(sz);
}

/* ---- the sandbox image --------------------------------------------------- */

/* Stores v at sandbox offset off; bytes outside the sandbox are dropped
 * (a fault case aims at the gap or the guard page). */
void gen_put_mem(struct gen *g, int64_t off, unsigned int sz, uint64_t v)
{
	for (unsigned int k = 0; k < sz; k++, v >>= 8)
		if (in_sandbox(off + k, 1))
			g->c->mem[off + k] = (uint8_t)v;
}

uint64_t case_get_mem(const struct diff_case *c, int64_t off, unsigned int sz)
{
	uint64_t v = 0;

	for (unsigned int k = sz; k-- > 0;)
		v = (v << 8) | (in_sandbox(off + k, 1) ? c->mem[off + k] : 0);
	return v;
}

uint64_t gen_sandbox_addr(const struct gen *g, int64_t off)
{
	return g->w->base + DIFF_SANDBOX_OFF + (uint64_t)off;
}

/*
 * The sandbox offset an access of sz bytes aims at. Mostly inside the
 * sandbox (aligned, unaligned, across its middle page boundary); with
 * fault_ok, now and then across or into the unmapped gap below it or the
 * guard page above it, where the host and the model must both raise #PF.
 */
int64_t gen_pick_off(struct gen *g, unsigned int sz, bool fault_ok)
{
	unsigned int r = rn(g, 100);

	if (fault_ok && r < 2) {
		switch (rn(g, 3)) {
		case 0:
			return DIFF_SANDBOX_SIZE - sz + 1 + rn(g, sz);
		case 1:
			return -(int64_t)(1 + rn(g, sz + 64));
		default:
			return DIFF_SANDBOX_SIZE + rn(g, 4096 - sz);
		}
	}
	if (r < 15)
		return 0x1000 - rn(g, sz + 1);
	if (r < 50)
		return (int64_t)rn(g, DIFF_SANDBOX_SIZE / sz) * sz;
	return rn(g, DIFF_SANDBOX_SIZE - sz + 1);
}

/* ---- the encoder (SDM Vol. 2A 2.1-2.2) ----------------------------------- */

void enc_init(struct enc *e)
{
	memset(e, 0, sizeof(*e));
}

/* 66h for 16-bit operands, REX.W for 64-bit (byte forms have their own
 * opcodes). */
void enc_size(struct enc *e, unsigned int sz)
{
	e->p66 = sz == 2;
	if (sz == 8)
		e->rex |= REX_W;
}

void enc_op(struct enc *e, unsigned int n, uint8_t b0, uint8_t b1, uint8_t b2)
{
	e->op[0] = b0;
	e->op[1] = b1;
	e->op[2] = b2;
	e->nop = n;
}

void enc_prefix(struct enc *e, uint8_t p)
{
	e->pfx[e->npfx++] = p;
}

/* The 3-bit field and REX bit for register r in a byte or wider operand. */
static uint8_t enc_regbits(struct enc *e, unsigned int r, bool byte,
			   uint8_t rexbit)
{
	if (r >= REG_AH) {
		e->no_rex = true;
		return (uint8_t)(4 + r - REG_AH);
	}
	if (r & 8)
		e->rex |= rexbit;
	if (byte && r >= 4 && r < 8)
		e->need_rex = true;
	return r & 7;
}

void enc_modrm_reg(struct enc *e, unsigned int r, bool byte)
{
	e->has_modrm = true;
	e->modrm = (uint8_t)((e->modrm & 0xc7) |
			     (enc_regbits(e, r, byte, REX_R) << 3));
}

void enc_modrm_digit(struct enc *e, unsigned int d)
{
	e->has_modrm = true;
	e->modrm = (uint8_t)((e->modrm & 0xc7) | (d << 3));
}

void enc_rm_reg(struct enc *e, unsigned int r, bool byte)
{
	e->has_modrm = true;
	e->modrm = (uint8_t)((e->modrm & 0x38) | 0xc0 |
			     enc_regbits(e, r, byte, REX_B));
}

/* The register in the low three opcode bits (PUSH r, BSWAP r, ...). */
void enc_opreg(struct enc *e, unsigned int r, bool byte)
{
	e->op[e->nop - 1] =
		(uint8_t)(e->op[e->nop - 1] + enc_regbits(e, r, byte, REX_B));
}

void enc_imm(struct enc *e, uint64_t v, unsigned int len)
{
	e->imm = v;
	e->imm_len = len;
}

void enc_emit(struct gen *g, struct enc *e)
{
	uint8_t *p = g->c->bytes;
	unsigned int n = 0;

	if (e->no_rex && (e->rex || e->need_rex))
		diff_gen_bug("AH..BH together with a REX prefix");
	for (unsigned int k = 0; k < e->npfx; k++)
		p[n++] = e->pfx[k];
	if (e->p66)
		p[n++] = 0x66;
	if (e->p67)
		p[n++] = 0x67;
	if (e->mand)
		p[n++] = e->mand;
	/* Now and then an empty REX (40h): it changes nothing but which
	 * byte registers 4-7 name. */
	if (e->rex || e->need_rex || (!e->no_rex && !g->norex && chance(g, 8)))
		p[n++] = (uint8_t)(0x40 | e->rex);
	for (unsigned int k = 0; k < e->nop; k++)
		p[n++] = e->op[k];
	if (e->has_modrm)
		p[n++] = e->modrm;
	if (e->has_sib)
		p[n++] = e->sib;
	for (unsigned int k = 0; k < e->disp_len; k++)
		p[n++] = (uint8_t)((uint32_t)e->disp >> (8 * k));
	for (unsigned int k = 0; k < e->imm_len; k++)
		p[n++] = (uint8_t)(e->imm >> (8 * k));
	if (n > DIFF_INSN_MAX)
		diff_gen_bug("instruction longer than 15 bytes");
	g->c->len = n;
}

/* ---- memory operands (SDM Vol. 2A 2.1.5, 2.2.1) ----------------------------- */

enum addr_mode {
	AM_BASE, /* [base] */
	AM_BASE_D8, /* [base + disp8] */
	AM_BASE_D32, /* [base + disp32] */
	AM_SIB, /* [base + index * scale] */
	AM_SIB_D8,
	AM_SIB_D32,
	AM_INDEX_D32, /* [index * scale + disp32], no base */
	AM_RIP, /* [rip + disp32] */
	AM_ABS, /* [disp32], SIB without base and index */
	AM_NR
};

static const uint8_t am_weight[AM_NR] = {
	[AM_BASE] = 15,	    [AM_BASE_D8] = 20, [AM_BASE_D32] = 8,
	[AM_SIB] = 12,	    [AM_SIB_D8] = 14,  [AM_SIB_D32] = 6,
	[AM_INDEX_D32] = 5, [AM_RIP] = 15,     [AM_ABS] = 5,
};

static enum addr_mode pick_mode(struct gen *g)
{
	unsigned int total = 0, r;

	for (int k = 0; k < AM_NR; k++)
		total += am_weight[k];
	r = rn(g, total);
	for (int k = 0; k < AM_NR; k++) {
		if (r < am_weight[k])
			return (enum addr_mode)k;
		r -= am_weight[k];
	}
	return AM_RIP;
}

/* A register for an address, not in `avoid`, or -1. */
static int pick_addr_reg(struct gen *g, uint32_t avoid)
{
	unsigned int lim = g->norex ? 8 : 16, n = 0, list[16];

	for (unsigned int r = 0; r < lim; r++)
		if (!(avoid & (1u << r)))
			list[n++] = r;
	return n ? (int)list[rn(g, n)] : -1;
}

/* ModRM and SIB for mode m with the given base and index (-1: none). */
static void enc_addr(struct enc *e, enum addr_mode m, int base, int index,
		     unsigned int scale)
{
	unsigned int mod = m == AM_BASE_D8 || m == AM_SIB_D8	 ? 1
			   : m == AM_BASE_D32 || m == AM_SIB_D32 ? 2
								 : 0;
	e->has_modrm = true;
	e->disp_len = mod == 1 ? 1 : mod == 2 ? 4 : 0;
	if (m == AM_RIP) {
		e->modrm = (uint8_t)((e->modrm & 0x38) | 5);
		e->disp_len = 4;
		return;
	}
	if (m == AM_ABS || m == AM_INDEX_D32) {
		e->modrm = (uint8_t)((e->modrm & 0x38) | 4);
		e->has_sib = true;
		e->sib = (uint8_t)((scale << 6) | 5 |
				   (index < 0 ? 4 << 3
					      : enc_regbits(e, (unsigned)index,
							    false, REX_X)
							<< 3));
		e->disp_len = 4;
		return;
	}
	/* [rbp] and [r13] exist only with a displacement: use disp8 0. */
	if (mod == 0 && (base & 7) == 5) {
		mod = 1;
		e->disp_len = 1;
	}
	if (index < 0 && (base & 7) != 4) {
		e->modrm =
			(uint8_t)((e->modrm & 0x38) | (mod << 6) |
				  enc_regbits(e, (unsigned)base, false, REX_B));
		return;
	}
	/* A SIB byte: for an index, and for RSP/R12 as base. */
	e->modrm = (uint8_t)((e->modrm & 0x38) | (mod << 6) | 4);
	e->has_sib = true;
	e->sib = (uint8_t)((scale << 6) |
			   (index < 0 ? 4 << 3
				      : enc_regbits(e, (unsigned)index, false,
						    REX_X)
						<< 3) |
			   enc_regbits(e, (unsigned)base, false, REX_B));
}

static int32_t rand_disp(struct gen *g, enum addr_mode m)
{
	if (m == AM_BASE_D8 || m == AM_SIB_D8)
		return (int8_t)rnd(g);
	if (m == AM_BASE_D32 || m == AM_SIB_D32)
		return chance(g, 30) ? (int32_t)gen_rand_value(g, 4)
				     : (int32_t)rnd(g);
	return 0;
}

/*
 * Encodes the memory operand of e so that its effective address is t, and
 * gives the base and index registers the values that make it so.
 * Registers in `avoid` and those already fixed are not used. With a 67h
 * prefix (only when the region lies below 4 GiB) the address is the low
 * 32 bits of the sum and the registers' high halves are random: they must
 * not matter (SDM Vol. 1 3.3.7). A non-canonical t needs a base register
 * and 64-bit addressing; RSP and RBP are left out as bases, since an
 * SS-based access faults with #SS rather than #GP (SDM Vol. 3A 6.15).
 */
void enc_mem_at(struct gen *g, struct enc *e, uint64_t t, uint32_t avoid,
		bool canonical)
{
	enum addr_mode m = pick_mode(g);
	bool a32 = canonical && g->w->low && chance(g, 12);
	uint64_t amask = a32 ? 0xffffffffull : ~0ull;
	uint64_t next_rip = g->w->base + DIFF_CODE_OFF + DIFF_INSN_END;
	unsigned int scale = rn(g, 4);
	int base = -1, index = -1;
	int32_t disp = rand_disp(g, m);

	avoid |= g->fixed;
	if (m == AM_ABS && !g->w->low)
		m = AM_RIP;
	if (!canonical) {
		avoid |= 1u << RSP | 1u << RBP;
		if (m == AM_RIP || m == AM_ABS || m == AM_INDEX_D32)
			m = AM_BASE_D8;
	}
	if (m != AM_RIP && m != AM_ABS) {
		/* RSP cannot be an index (SIB index 100b means none). */
		index = pick_addr_reg(g, avoid | (1u << RSP));
		if (m != AM_INDEX_D32)
			base = pick_addr_reg(
				g, avoid | (index >= 0 ? 1u << index : 0));
		if (index < 0 || (m != AM_INDEX_D32 && base < 0)) {
			if (!canonical)
				diff_gen_bug(
					"no register for a non-canonical address");
			m = AM_RIP;
		} else if (m == AM_BASE || m == AM_BASE_D8 || m == AM_BASE_D32)
			index = -1;
	}
	if (m == AM_RIP || m == AM_ABS)
		base = index = -1;
	e->p67 = a32;

	if (m == AM_RIP) {
		disp = (int32_t)(t - next_rip);
	} else if (m == AM_ABS) {
		disp = (int32_t)t;
	} else if (m == AM_INDEX_D32) {
		/* t = index * scale + disp: pick disp so that the rest
		 * divides by the scale. */
		uint64_t rest;

		disp = (int32_t)(rnd(g) >> 34) - (1 << 29);
		disp += (int32_t)((t - (uint64_t)(int64_t)disp) &
				  ((1u << scale) - 1));
		rest = (t - (uint64_t)(int64_t)disp) & amask;
		g->c->in.gpr[index] = (rnd(g) & ~amask) | (rest >> scale);
		if (a32 && scale)
			/* The index's bits above 31 - scale vanish from a
			 * 32-bit address; let them be random too. */
			g->c->in.gpr[index] ^= (rnd(g) & 0xffffffffull) >>
					       (32 - scale) << (32 - scale);
	} else {
		uint64_t iv = 0;

		if (index >= 0) {
			iv = gen_rand_value(g, 8);
			g->c->in.gpr[index] = iv;
		}
		g->c->in.gpr[base] =
			(a32 ? rnd(g) & ~amask : 0) |
			((t - (iv << scale) - (uint64_t)(int64_t)disp) & amask);
	}
	enc_addr(e, m, base, index, scale);
	e->disp = disp;
	/* A segment override is a no-op for CS, DS, ES, SS in 64-bit mode
	 * (SDM Vol. 1 3.4.2.1); FS and GS would add the host's TLS base. */
	if (chance(g, 3)) {
		static const uint8_t seg[] = { 0x26, 0x2e, 0x36, 0x3e };
		enc_prefix(e, seg[rn(g, 4)]);
	}
}

void enc_mem(struct gen *g, struct enc *e, int64_t off, uint32_t avoid)
{
	enc_mem_at(g, e, gen_sandbox_addr(g, off), avoid, true);
}

/* A non-canonical address near the sandbox's: one of bits 63:47 flipped. */
uint64_t gen_noncanon_addr(struct gen *g)
{
	return gen_sandbox_addr(g, rn(g, DIFF_SANDBOX_SIZE)) ^
	       (1ull << (47 + rn(g, 17)));
}

/* A memory operand for LEA: any registers, nothing aimed. */
void enc_agen(struct gen *g, struct enc *e)
{
	enum addr_mode m = pick_mode(g);
	int base = pick_addr_reg(g, 0);
	int index = pick_addr_reg(g, 1u << RSP);

	e->p67 = chance(g, 12);
	if (m == AM_BASE || m == AM_BASE_D8 || m == AM_BASE_D32)
		index = -1;
	if (m == AM_RIP || m == AM_ABS)
		base = index = -1;
	if (m == AM_INDEX_D32)
		base = -1;
	enc_addr(e, m, base, index, rn(g, 4));
	e->disp = m == AM_RIP || m == AM_ABS || m == AM_INDEX_D32
			  ? (int32_t)rnd(g)
			  : rand_disp(g, m);
}

/* [rsp + disp8] aimed at sandbox offset off, RSP holding rsp_val when the
 * address is formed. */
void enc_mem_rsp(struct gen *g, struct enc *e, int64_t off, uint64_t rsp_val)
{
	enc_addr(e, AM_SIB_D8, RSP, -1, 0);
	e->disp = (int32_t)(gen_sandbox_addr(g, off) - rsp_val);
}

/* The r/m operand: memory (mem_pct percent of the time) aimed by
 * gen_pick_off(), else a register. Returns the register, or -1 for memory
 * with *off set. With fault_ok, one memory operand in 200 has a
 * non-canonical address (#GP(0)). */
int enc_rm(struct gen *g, struct enc *e, unsigned int sz, bool byte,
	   unsigned int mem_pct, uint32_t avoid, bool fault_ok, int64_t *off)
{
	unsigned int r;

	if (chance(g, mem_pct) && fault_ok && rn(g, 200) == 0) {
		*off = OFF_FAR;
		enc_mem_at(g, e, gen_noncanon_addr(g), avoid, false);
		return -1;
	}
	if (chance(g, mem_pct)) {
		*off = gen_pick_off(g, sz, fault_ok);
		enc_mem(g, e, *off, avoid);
		return -1;
	}
	r = gen_pick_reg(g, byte);
	enc_rm_reg(e, r, byte);
	return (int)r;
}

/* LOCK where it is legal (a memory destination of a lockable
 * instruction), and now and then where it must raise #UD (SDM Vol. 2B
 * "LOCK"). */
void enc_maybe_lock(struct gen *g, struct enc *e, bool mem_dest, bool lockable)
{
	if (mem_dest && lockable ? chance(g, 20) : rn(g, 200) == 0)
		enc_prefix(e, 0xf0);
}

/* The case's byte registers: AH..BH (no REX) 30% of the time. */
void gen_byte_mode(struct gen *g, unsigned int sz)
{
	g->norex = sz == 1 && chance(g, 30);
}

/* ---- undefined results --------------------------------------------------- */

void gen_undef_flags(struct gen *g, uint64_t f)
{
	g->c->flags_undef |= f;
}

/* A destination register whose sz-byte value is undefined. A 32-bit write
 * zero-extends, so an undefined 32-bit result leaves all 64 bits open. */
void gen_undef_reg(struct gen *g, unsigned int r, unsigned int sz)
{
	if (r >= REG_AH) {
		g->c->undef_reg = (int)(r - REG_AH);
		g->c->undef_reg_mask = 0xff00;
		return;
	}
	g->c->undef_reg = (int)r;
	g->c->undef_reg_mask = sz >= 4 ? ~0ull : size_mask(sz);
}

void gen_undef_dest(struct gen *g, int reg, int64_t off, unsigned int sz)
{
	if (reg >= 0) {
		gen_undef_reg(g, (unsigned)reg, sz);
	} else if (in_sandbox(off, sz)) {
		g->c->undef_mem_off = (unsigned)off;
		g->c->undef_mem_len = sz;
	}
}
