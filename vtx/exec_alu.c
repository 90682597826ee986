/* SPDX-License-Identifier: MIT */
/*
 * exec_alu.c - integer arithmetic and logic: the ALU group, INC/DEC/NEG/NOT,
 * shifts and rotates, multiply and divide, bit scans and tests, extensions,
 * SETcc/CMOVcc, exchanges. Semantics and flags from the SDM Vol. 2
 * instruction pages; where the SDM leaves a flag undefined the model's
 * choice is noted. Model side.
 */
#include "vtx/exec.h"

/* A read-modify-write operand is accessed for writing: a #PF it raises has
 * W/R = 1 even when the page is absent and the read would come first (SDM
 * Vol. 3A 4.7, the error code "describes the access"). Translate every
 * page of it for writing before reading it. */
static void rmw_probe(struct vtx_cpu *c, uint64_t la, unsigned n)
{
	uint64_t next = (la + n - 1) & PAGE_MASK; /* CR2 of a #PF there */

	if (!tlb_hit(c, la, TLB_WRITE))
		vtx_translate_slow(c, la, ACC_WRITE);
	if (next != (la & PAGE_MASK) && !tlb_hit(c, next, TLB_WRITE))
		vtx_translate_slow(c, next, ACC_WRITE);
}

/* ---- the ALU group ---------------------------------------------------------- */

/* op(a, b) for ALU op `op`; *f receives the arithmetic flags. `op` is a
 * constant in every caller, so the switch folds away. */
static inline __attribute__((always_inline)) uint64_t
alu2(const struct vtx_cpu *c, int op, uint64_t a, uint64_t b, unsigned sz,
     uint64_t *f)
{
	uint64_t r, cf = !!(c->rflags & X86_EFLAGS_CF);

	switch (op) {
	case ALU_ADD:
		r = a + b;
		*f = flags_add(a, b, r, sz, 0);
		return r;
	case ALU_ADC:
		r = a + b + cf;
		*f = flags_add(a, b, r, sz, cf);
		return r;
	case ALU_SUB:
	case ALU_CMP:
		r = a - b;
		*f = flags_sub(a, b, r, sz, 0);
		return r;
	case ALU_SBB:
		r = a - b - cf;
		*f = flags_sub(a, b, r, sz, cf);
		return r;
	case ALU_OR:
		r = a | b;
		break;
	case ALU_AND:
	case ALU_TEST:
		r = a & b;
		break;
	case ALU_XOR:
		r = a ^ b;
		break;
	default: /* ALU_MOV */
		*f = c->rflags & FLAGS_ARITH;
		return b;
	}
	*f = flags_logic(r, sz);
	return r;
}

#define ALU_WRITES(op) ((op) != ALU_CMP && (op) != ALU_TEST)

/* MOV leaves the flags alone: no read-modify-write of RFLAGS for it. */
#define ALU_COMMIT_FLAGS(c, op, f)             \
	do {                                   \
		if ((op) != ALU_MOV)           \
			flags_set_arith(c, f); \
	} while (0)

#define DEFINE_ALU2(name, op)                                               \
	static void alu_##name##_rr(struct vtx_cpu *c,                      \
				    const struct vtx_insn *i)               \
	{                                                                   \
		unsigned sz = i->osz;                                       \
		uint64_t f, r = alu2(c, op, reg_read(c, i->r1, sz),         \
				     reg_read(c, i->r2, sz), sz, &f);       \
		if (ALU_WRITES(op))                                         \
			reg_write(c, i->r1, sz, r);                         \
		ALU_COMMIT_FLAGS(c, op, f);                                 \
	}                                                                   \
	static void alu_##name##_ri(struct vtx_cpu *c,                      \
				    const struct vtx_insn *i)               \
	{                                                                   \
		unsigned sz = i->osz;                                       \
		uint64_t f, r = alu2(c, op, reg_read(c, i->r1, sz), i->imm, \
				     sz, &f);                               \
		if (ALU_WRITES(op))                                         \
			reg_write(c, i->r1, sz, r);                         \
		ALU_COMMIT_FLAGS(c, op, f);                                 \
	}                                                                   \
	static void alu_##name##_rm(struct vtx_cpu *c,                      \
				    const struct vtx_insn *i)               \
	{                                                                   \
		unsigned sz = i->osz;                                       \
		uint64_t b = mem_load(c, insn_la(c, i), sz);                \
		uint64_t f,                                                 \
			r = alu2(c, op, reg_read(c, i->r1, sz), b, sz, &f); \
		if (ALU_WRITES(op))                                         \
			reg_write(c, i->r1, sz, r);                         \
		ALU_COMMIT_FLAGS(c, op, f);                                 \
	}                                                                   \
	static void alu_##name##_mx(struct vtx_cpu *c,                      \
				    const struct vtx_insn *i, uint64_t b)   \
	{                                                                   \
		unsigned sz = i->osz;                                       \
		uint64_t la = insn_la(c, i), a = 0, f, r;                   \
		uint8_t *p = ALU_WRITES(op) || (op) == ALU_MOV              \
				     ? mem_rmw_ptr(c, la, sz)               \
				     : NULL;                                \
		if (p) {                                                    \
			if ((op) != ALU_MOV)                                \
				a = host_load(p, sz);                       \
			r = alu2(c, op, a, b, sz, &f);                      \
			host_store(p, sz, r);                               \
		} else {                                                    \
			if (ALU_WRITES(op))                                 \
				rmw_probe(c, la, sz);                       \
			if ((op) != ALU_MOV)                                \
				a = mem_load(c, la, sz);                    \
			r = alu2(c, op, a, b, sz, &f);                      \
			if (ALU_WRITES(op))                                 \
				mem_store(c, la, sz, r);                    \
		}                                                           \
		ALU_COMMIT_FLAGS(c, op, f);                                 \
	}                                                                   \
	static void alu_##name##_mr(struct vtx_cpu *c,                      \
				    const struct vtx_insn *i)               \
	{                                                                   \
		alu_##name##_mx(c, i, reg_read(c, i->r2, i->osz));          \
	}                                                                   \
	static void alu_##name##_mi(struct vtx_cpu *c,                      \
				    const struct vtx_insn *i)               \
	{                                                                   \
		alu_##name##_mx(c, i, i->imm);                              \
	}

DEFINE_ALU2(add, ALU_ADD)
DEFINE_ALU2(or, ALU_OR)
DEFINE_ALU2(adc, ALU_ADC)
DEFINE_ALU2(sbb, ALU_SBB)
DEFINE_ALU2(and, ALU_AND)
DEFINE_ALU2(sub, ALU_SUB)
DEFINE_ALU2(xor, ALU_XOR)
DEFINE_ALU2(cmp, ALU_CMP)
DEFINE_ALU2(test, ALU_TEST)
DEFINE_ALU2(mov, ALU_MOV)

#define ALU2_ROW(name)                                              \
	{                                                           \
		[F_RR] = alu_##name##_rr, [F_RM] = alu_##name##_rm, \
		[F_MR] = alu_##name##_mr, [F_RI] = alu_##name##_ri, \
		[F_MI] = alu_##name##_mi                            \
	}

const vtx_handler_fn vtx_alu2_handlers[ALU_NR][F_NR] = {
	[ALU_ADD] = ALU2_ROW(add),   [ALU_OR] = ALU2_ROW(or),
	[ALU_ADC] = ALU2_ROW(adc),   [ALU_SBB] = ALU2_ROW(sbb),
	[ALU_AND] = ALU2_ROW(and),   [ALU_SUB] = ALU2_ROW(sub),
	[ALU_XOR] = ALU2_ROW(xor),   [ALU_CMP] = ALU2_ROW(cmp),
	[ALU_TEST] = ALU2_ROW(test), [ALU_MOV] = ALU2_ROW(mov),
};

/* ---- INC, DEC, NEG, NOT ------------------------------------------------------ */

static inline __attribute__((always_inline)) uint64_t
alu1(const struct vtx_cpu *c, int op, uint64_t a, unsigned sz, uint64_t *f)
{
	uint64_t r, cf = c->rflags & X86_EFLAGS_CF;

	switch (op) {
	case UN_INC: /* CF unaffected */
		r = a + 1;
		*f = (flags_add(a, 1, r, sz, 0) & ~(uint64_t)X86_EFLAGS_CF) |
		     cf;
		return r;
	case UN_DEC:
		r = a - 1;
		*f = (flags_sub(a, 1, r, sz, 0) & ~(uint64_t)X86_EFLAGS_CF) |
		     cf;
		return r;
	case UN_NEG: /* CF = (source != 0) */
		r = 0 - a;
		*f = flags_sub(0, a, r, sz, 0);
		return r;
	default: /* NOT: no flags */
		*f = c->rflags & FLAGS_ARITH;
		return ~a;
	}
}

#define DEFINE_ALU1(name, op)                                                  \
	static void un_##name##_r(struct vtx_cpu *c, const struct vtx_insn *i) \
	{                                                                      \
		uint64_t f, r = alu1(c, op, reg_read(c, i->r1, i->osz),        \
				     i->osz, &f);                              \
		reg_write(c, i->r1, i->osz, r);                                \
		flags_set_arith(c, f);                                         \
	}                                                                      \
	static void un_##name##_m(struct vtx_cpu *c, const struct vtx_insn *i) \
	{                                                                      \
		unsigned sz = i->osz;                                          \
		uint64_t la = insn_la(c, i), a = 0, f, r;                      \
		uint8_t *p = mem_rmw_ptr(c, la, sz);                           \
		if (p) {                                                       \
			a = host_load(p, sz);                                  \
			r = alu1(c, op, a, sz, &f);                            \
			host_store(p, sz, r);                                  \
		} else {                                                       \
			rmw_probe(c, la, sz);                                  \
			a = mem_load(c, la, sz);                               \
			r = alu1(c, op, a, sz, &f);                            \
			mem_store(c, la, sz, r);                               \
		}                                                              \
		flags_set_arith(c, f);                                         \
	}

DEFINE_ALU1(inc, UN_INC)
DEFINE_ALU1(dec, UN_DEC)
DEFINE_ALU1(neg, UN_NEG)
DEFINE_ALU1(not, UN_NOT)

const vtx_handler_fn vtx_alu1_handlers[UN_NR][F1_NR] = {
	[UN_INC] = { un_inc_r, un_inc_m },
	[UN_DEC] = { un_dec_r, un_dec_m },
	[UN_NEG] = { un_neg_r, un_neg_m },
	[UN_NOT] = { un_not_r, un_not_m },
};

/* ---- shifts and rotates (SDM Vol. 2B "SAL/SAR/SHL/SHR", "RCL/RCR/ROL/ROR") */

/* Returns the result; *fl is the whole new RFLAGS. A masked count of zero
 * changes nothing. Flags the SDM leaves undefined: OF for counts > 1 is
 * computed as for a count of 1 from the final result; AF is cleared. */
static inline __attribute__((always_inline)) uint64_t
shift(const struct vtx_cpu *c, int op, uint64_t a, unsigned cnt, unsigned sz,
      uint64_t *fl)
{
	unsigned bits = sz * 8;
	uint64_t m = size_mask(sz), r, f, cf, of;

	*fl = c->rflags;
	cnt &= sz == 8 ? 0x3f : 0x1f;
	a &= m;
	if (!cnt)
		return a;
	switch (op) {
	case SH_ROL:
	case SH_ROR: {
		unsigned n = cnt % bits;
		r = op == SH_ROL ? (n ? (a << n) | (a >> (bits - n)) : a)
				 : (n ? (a >> n) | (a << (bits - n)) : a);
		r &= m;
		if (op == SH_ROL) {
			cf = r & 1;
			of = ((r >> (bits - 1)) & 1) ^ cf;
		} else {
			cf = (r >> (bits - 1)) & 1;
			of = cf ^ ((r >> (bits - 2)) & 1);
		}
		f = (*fl & ~(uint64_t)(X86_EFLAGS_CF | X86_EFLAGS_OF)) |
		    (cf ? X86_EFLAGS_CF : 0) | (of ? X86_EFLAGS_OF : 0);
		*fl = f;
		return r;
	}
	case SH_RCL:
	case SH_RCR: {
		/* A (bits + 1)-bit rotate through CF. */
		unsigned n = cnt % (bits + 1);
		uint64_t cin = !!(c->rflags & X86_EFLAGS_CF);
		r = a;
		cf = cin;
		for (unsigned k = 0; k < n; k++) {
			uint64_t out;
			if (op == SH_RCL) {
				out = (r >> (bits - 1)) & 1;
				r = ((r << 1) | cf) & m;
			} else {
				out = r & 1;
				r = (r >> 1) | (cf << (bits - 1));
			}
			cf = out;
		}
		if (op == SH_RCL)
			of = ((r >> (bits - 1)) & 1) ^ cf;
		else
			of = ((r >> (bits - 1)) ^ (r >> (bits - 2))) & 1;
		*fl = (*fl & ~(uint64_t)(X86_EFLAGS_CF | X86_EFLAGS_OF)) |
		      (cf ? X86_EFLAGS_CF : 0) | (of ? X86_EFLAGS_OF : 0);
		return r;
	}
	case SH_SHL:
	case SH_SAL:
		r = cnt < 64 ? (a << cnt) & m : 0;
		cf = cnt <= bits ? (a >> (bits - cnt)) & 1 : 0;
		of = ((r >> (bits - 1)) & 1) ^ cf;
		break;
	case SH_SHR:
		r = cnt < 64 ? a >> cnt : 0;
		cf = cnt <= bits ? (a >> (cnt - 1)) & 1 : 0;
		of = cnt == 1 ? (a >> (bits - 1)) & 1 : 0;
		break;
	default: { /* SAR */
		int64_t s = sext(a, sz);
		r = (uint64_t)(s >> (cnt < bits ? cnt : bits - 1)) & m;
		cf = (uint64_t)(s >> (cnt - 1 < bits ? cnt - 1 : bits - 1)) & 1;
		of = 0;
		break;
	}
	}
	f = flags_szp(r, sz) | (cf ? X86_EFLAGS_CF : 0) |
	    (of ? X86_EFLAGS_OF : 0);
	*fl = (*fl & ~(uint64_t)FLAGS_ARITH) | f;
	return r;
}

static inline unsigned shift_count(const struct vtx_cpu *c,
				   const struct vtx_insn *i)
{
	return i->cc ? (unsigned)(c->gpr[REG_RCX] & 0xff) : (unsigned)i->imm;
}

#define DEFINE_SHIFT(name, op)                                                 \
	static void sh_##name##_r(struct vtx_cpu *c, const struct vtx_insn *i) \
	{                                                                      \
		uint64_t fl, r = shift(c, op, reg_read(c, i->r1, i->osz),      \
				       shift_count(c, i), i->osz, &fl);        \
		reg_write(c, i->r1, i->osz, r);                                \
		c->rflags = fl;                                                \
	}                                                                      \
	static void sh_##name##_m(struct vtx_cpu *c, const struct vtx_insn *i) \
	{                                                                      \
		uint64_t la = insn_la(c, i), fl, a, r;                         \
		rmw_probe(c, la, i->osz);                                      \
		a = mem_load(c, la, i->osz);                                   \
		r = shift(c, op, a, shift_count(c, i), i->osz, &fl);           \
		mem_store(c, la, i->osz, r);                                   \
		c->rflags = fl;                                                \
	}

DEFINE_SHIFT(rol, SH_ROL)
DEFINE_SHIFT(ror, SH_ROR)
DEFINE_SHIFT(rcl, SH_RCL)
DEFINE_SHIFT(rcr, SH_RCR)
DEFINE_SHIFT(shl, SH_SHL)
DEFINE_SHIFT(shr, SH_SHR)
DEFINE_SHIFT(sar, SH_SAR)

const vtx_handler_fn vtx_shift_handlers[SH_NR][F1_NR] = {
	[SH_ROL] = { sh_rol_r, sh_rol_m }, [SH_ROR] = { sh_ror_r, sh_ror_m },
	[SH_RCL] = { sh_rcl_r, sh_rcl_m }, [SH_RCR] = { sh_rcr_r, sh_rcr_m },
	[SH_SHL] = { sh_shl_r, sh_shl_m }, [SH_SHR] = { sh_shr_r, sh_shr_m },
	[SH_SAL] = { sh_shl_r, sh_shl_m }, [SH_SAR] = { sh_sar_r, sh_sar_m },
};

/* SHLD/SHRD (SDM Vol. 2B): dst shifted, filled from src. A count larger
 * than the operand size (16-bit forms) leaves the result undefined: the
 * model shifts the 32-bit concatenation. */
static uint64_t shxd(struct vtx_cpu *c, bool left, uint64_t a, uint64_t b,
		     unsigned cnt, unsigned sz, uint64_t *fl)
{
	unsigned bits = sz * 8;
	uint64_t m = size_mask(sz), r, cf, of;

	*fl = c->rflags;
	cnt &= sz == 8 ? 0x3f : 0x1f;
	a &= m;
	b &= m;
	if (!cnt)
		return a;
	if (sz == 2) {
		uint64_t cat = left ? (a << 16) | b : (b << 16) | a;
		uint64_t wide = left ? cat << cnt : cat >> cnt;
		r = left ? (wide >> 16) & m : wide & m;
		cf = left ? (cat >> (32 - cnt)) & 1 : (cat >> (cnt - 1)) & 1;
	} else if (left) {
		r = ((a << cnt) | (b >> (bits - cnt))) & m;
		cf = (a >> (bits - cnt)) & 1;
	} else {
		r = ((a >> cnt) | (b << (bits - cnt))) & m;
		cf = (a >> (cnt - 1)) & 1;
	}
	of = ((r ^ a) >> (bits - 1)) & 1;
	*fl = (*fl & ~(uint64_t)FLAGS_ARITH) | flags_szp(r, sz) |
	      (cf ? X86_EFLAGS_CF : 0) | (of ? X86_EFLAGS_OF : 0);
	return r;
}

void x_shld_r(struct vtx_cpu *c, const struct vtx_insn *i)
{
	uint64_t fl, r = shxd(c, true, reg_read(c, i->r1, i->osz),
			      reg_read(c, i->r2, i->osz), shift_count(c, i),
			      i->osz, &fl);
	reg_write(c, i->r1, i->osz, r);
	c->rflags = fl;
}

void x_shld_m(struct vtx_cpu *c, const struct vtx_insn *i)
{
	uint64_t la = insn_la(c, i), fl, r;

	rmw_probe(c, la, i->osz);
	r = shxd(c, true, mem_load(c, la, i->osz), reg_read(c, i->r2, i->osz),
		 shift_count(c, i), i->osz, &fl);
	mem_store(c, la, i->osz, r);
	c->rflags = fl;
}

void x_shrd_r(struct vtx_cpu *c, const struct vtx_insn *i)
{
	uint64_t fl, r = shxd(c, false, reg_read(c, i->r1, i->osz),
			      reg_read(c, i->r2, i->osz), shift_count(c, i),
			      i->osz, &fl);
	reg_write(c, i->r1, i->osz, r);
	c->rflags = fl;
}

void x_shrd_m(struct vtx_cpu *c, const struct vtx_insn *i)
{
	uint64_t la = insn_la(c, i), fl, r;

	rmw_probe(c, la, i->osz);
	r = shxd(c, false, mem_load(c, la, i->osz), reg_read(c, i->r2, i->osz),
		 shift_count(c, i), i->osz, &fl);
	mem_store(c, la, i->osz, r);
	c->rflags = fl;
}

/* ---- multiply and divide ------------------------------------------------------ */

/* MUL/IMUL with one operand: rDX:rAX (AX for bytes) = rAX * src. CF = OF =
 * the high half is significant; SF, ZF, AF, PF undefined: the model sets
 * SF/ZF/PF from the low half and clears AF. */
static void mul1(struct vtx_cpu *c, uint64_t src, unsigned sz, bool sgn)
{
	uint64_t a = reg_read(c, REG_RAX, sz), lo, hi;
	bool ovf;

	if (sgn) {
		__int128 p = (__int128)sext(a, sz) * sext(src, sz);
		lo = (uint64_t)p & size_mask(sz);
		ovf = p != (__int128)sext(lo, sz);
		hi = (uint64_t)(p >> (sz * 8)) & size_mask(sz);
		if (sz == 8)
			hi = (uint64_t)(p >> 64);
	} else {
		unsigned __int128 p =
			(unsigned __int128)a * (src & size_mask(sz));
		lo = (uint64_t)p & size_mask(sz);
		hi = sz == 8 ? (uint64_t)(p >> 64)
			     : (uint64_t)(p >> (sz * 8)) & size_mask(sz);
		ovf = hi != 0;
	}
	if (sz == 1) {
		reg_write(c, REG_RAX, 2, lo | (hi << 8));
	} else {
		reg_write(c, REG_RAX, sz, lo);
		reg_write(c, REG_RDX, sz, hi);
	}
	flags_set_arith(c, flags_szp(lo, sz) |
				   (ovf ? X86_EFLAGS_CF | X86_EFLAGS_OF : 0));
}

void x_mul_r(struct vtx_cpu *c, const struct vtx_insn *i)
{
	mul1(c, reg_read(c, i->r1, i->osz), i->osz, false);
}

void x_mul_m(struct vtx_cpu *c, const struct vtx_insn *i)
{
	mul1(c, mem_load(c, insn_la(c, i), i->osz), i->osz, false);
}

void x_imul1_r(struct vtx_cpu *c, const struct vtx_insn *i)
{
	mul1(c, reg_read(c, i->r1, i->osz), i->osz, true);
}

void x_imul1_m(struct vtx_cpu *c, const struct vtx_insn *i)
{
	mul1(c, mem_load(c, insn_la(c, i), i->osz), i->osz, true);
}

static uint64_t imul_trunc(struct vtx_cpu *c, uint64_t a, uint64_t b,
			   unsigned sz)
{
	__int128 p = (__int128)sext(a, sz) * sext(b, sz);
	uint64_t lo = (uint64_t)p & size_mask(sz);
	bool ovf = p != (__int128)sext(lo, sz);
	flags_set_arith(c, flags_szp(lo, sz) |
				   (ovf ? X86_EFLAGS_CF | X86_EFLAGS_OF : 0));
	return lo;
}

void x_imul2_rr(struct vtx_cpu *c, const struct vtx_insn *i)
{
	reg_write(c, i->r1, i->osz,
		  imul_trunc(c, reg_read(c, i->r1, i->osz),
			     reg_read(c, i->r2, i->osz), i->osz));
}

void x_imul2_rm(struct vtx_cpu *c, const struct vtx_insn *i)
{
	uint64_t b = mem_load(c, insn_la(c, i), i->osz);
	reg_write(c, i->r1, i->osz,
		  imul_trunc(c, reg_read(c, i->r1, i->osz), b, i->osz));
}

void x_imul3_rr(struct vtx_cpu *c, const struct vtx_insn *i)
{
	reg_write(c, i->r1, i->osz,
		  imul_trunc(c, reg_read(c, i->r2, i->osz), i->imm, i->osz));
}

void x_imul3_rm(struct vtx_cpu *c, const struct vtx_insn *i)
{
	uint64_t a = mem_load(c, insn_la(c, i), i->osz);
	reg_write(c, i->r1, i->osz, imul_trunc(c, a, i->imm, i->osz));
}

/* DIV/IDIV: #DE for a zero divisor or a quotient that does not fit (SDM
 * Vol. 2A "DIV"). Flags undefined: left unchanged. */
static void div1(struct vtx_cpu *c, uint64_t d, unsigned sz, bool sgn)
{
	uint64_t m = size_mask(sz);
	unsigned bits = sz * 8;
	unsigned __int128 n;
	uint64_t q, r;

	d &= m;
	if (!d)
		vtx_raise(c, DE_VECTOR, 0, false);
	if (sz == 1)
		n = c->gpr[REG_RAX] & 0xffff;
	else
		n = ((unsigned __int128)reg_read(c, REG_RDX, sz) << bits) |
		    reg_read(c, REG_RAX, sz);
	if (!sgn) {
		unsigned __int128 qq = n / d;
		if (qq > m)
			vtx_raise(c, DE_VECTOR, 0, false);
		q = (uint64_t)qq;
		r = (uint64_t)(n % d);
	} else {
		/* Sign-extend the 2*bits dividend to 128 bits. */
		__int128 sn;
		if (bits == 64)
			sn = (__int128)n;
		else
			sn = (__int128)((__int128)(n << (128 - 2 * bits)) >>
					(128 - 2 * bits));
		__int128 sd = sext(d, sz);
		/* INT128_MIN / -1 would overflow the C division itself; it
		 * is a quotient overflow like any other. The test is on the
		 * unsigned dividend: 1 << 127 is not an __int128 value. */
		if (bits == 64 && n == (unsigned __int128)1 << 127 && sd == -1)
			vtx_raise(c, DE_VECTOR, 0, false);
		__int128 qq = sn / sd, rr = sn % sd;
		__int128 lim = (__int128)1 << (bits - 1);
		if (qq >= lim || qq < -lim)
			vtx_raise(c, DE_VECTOR, 0, false);
		q = (uint64_t)qq & m;
		r = (uint64_t)rr & m;
	}
	if (sz == 1) {
		reg_write(c, REG_RAX, 2, (q & 0xff) | ((r & 0xff) << 8));
	} else {
		reg_write(c, REG_RAX, sz, q);
		reg_write(c, REG_RDX, sz, r);
	}
}

void x_div_r(struct vtx_cpu *c, const struct vtx_insn *i)
{
	div1(c, reg_read(c, i->r1, i->osz), i->osz, false);
}

void x_div_m(struct vtx_cpu *c, const struct vtx_insn *i)
{
	div1(c, mem_load(c, insn_la(c, i), i->osz), i->osz, false);
}

void x_idiv_r(struct vtx_cpu *c, const struct vtx_insn *i)
{
	div1(c, reg_read(c, i->r1, i->osz), i->osz, true);
}

void x_idiv_m(struct vtx_cpu *c, const struct vtx_insn *i)
{
	div1(c, mem_load(c, insn_la(c, i), i->osz), i->osz, true);
}

/* ---- moves with extension, LEA, SETcc, CMOVcc, CBW/CWD ------------------------ */

void x_movzx_rr(struct vtx_cpu *c, const struct vtx_insn *i)
{
	reg_write(c, i->r1, i->osz, reg_read(c, i->r2, i->osz2));
}

void x_movzx_rm(struct vtx_cpu *c, const struct vtx_insn *i)
{
	reg_write(c, i->r1, i->osz, mem_load(c, insn_la(c, i), i->osz2));
}

void x_movsx_rr(struct vtx_cpu *c, const struct vtx_insn *i)
{
	reg_write(c, i->r1, i->osz,
		  (uint64_t)sext(reg_read(c, i->r2, i->osz2), i->osz2));
}

void x_movsx_rm(struct vtx_cpu *c, const struct vtx_insn *i)
{
	uint64_t v = mem_load(c, insn_la(c, i), i->osz2);
	reg_write(c, i->r1, i->osz, (uint64_t)sext(v, i->osz2));
}

void x_lea(struct vtx_cpu *c, const struct vtx_insn *i)
{
	reg_write(c, i->r1, i->osz, insn_ea(c, i));
}

void x_setcc_r(struct vtx_cpu *c, const struct vtx_insn *i)
{
	reg_write(c, i->r1, 1, cond_true(c->rflags, i->cc));
}

void x_setcc_m(struct vtx_cpu *c, const struct vtx_insn *i)
{
	mem_store(c, insn_la(c, i), 1, cond_true(c->rflags, i->cc));
}

/* CMOVcc with a 32-bit operand zero-extends the destination even when the
 * condition is false (SDM Vol. 2A "CMOVcc", 64-bit mode). */
void x_cmovcc_rr(struct vtx_cpu *c, const struct vtx_insn *i)
{
	uint64_t v = cond_true(c->rflags, i->cc) ? reg_read(c, i->r2, i->osz)
						 : reg_read(c, i->r1, i->osz);
	reg_write(c, i->r1, i->osz, v);
}

/* The memory operand is read whatever the condition (it can fault). */
void x_cmovcc_rm(struct vtx_cpu *c, const struct vtx_insn *i)
{
	uint64_t m = mem_load(c, insn_la(c, i), i->osz);
	uint64_t v =
		cond_true(c->rflags, i->cc) ? m : reg_read(c, i->r1, i->osz);
	reg_write(c, i->r1, i->osz, v);
}

/* CBW/CWDE/CDQE: sign-extend the lower half of rAX into rAX. */
void x_cbw(struct vtx_cpu *c, const struct vtx_insn *i)
{
	unsigned half = i->osz / 2;
	reg_write(c, REG_RAX, i->osz,
		  (uint64_t)sext(reg_read(c, REG_RAX, half), half));
}

/* CWD/CDQ/CQO: rDX = the sign of rAX. */
void x_cwd(struct vtx_cpu *c, const struct vtx_insn *i)
{
	uint64_t s = reg_read(c, REG_RAX, i->osz) & sign_bit(i->osz);
	reg_write(c, REG_RDX, i->osz, s ? ~0ull : 0);
}

/* ---- exchanges ------------------------------------------------------------------ */

void x_xchg_rr(struct vtx_cpu *c, const struct vtx_insn *i)
{
	uint64_t a = reg_read(c, i->r1, i->osz), b = reg_read(c, i->r2, i->osz);
	reg_write(c, i->r1, i->osz, b);
	reg_write(c, i->r2, i->osz, a);
}

void x_xchg_rm(struct vtx_cpu *c, const struct vtx_insn *i)
{
	uint64_t la = insn_la(c, i), m;

	rmw_probe(c, la, i->osz);
	m = mem_load(c, la, i->osz);
	mem_store(c, la, i->osz, reg_read(c, i->r1, i->osz));
	reg_write(c, i->r1, i->osz, m);
}

void x_xadd_rr(struct vtx_cpu *c, const struct vtx_insn *i)
{
	uint64_t a = reg_read(c, i->r1, i->osz), b = reg_read(c, i->r2, i->osz);
	uint64_t r = a + b, f = flags_add(a, b, r, i->osz, 0);
	reg_write(c, i->r2, i->osz, a);
	reg_write(c, i->r1, i->osz, r);
	flags_set_arith(c, f);
}

void x_xadd_mr(struct vtx_cpu *c, const struct vtx_insn *i)
{
	uint64_t la = insn_la(c, i), a, b, r, f;

	rmw_probe(c, la, i->osz);
	a = mem_load(c, la, i->osz);
	b = reg_read(c, i->r2, i->osz);
	r = a + b;
	f = flags_add(a, b, r, i->osz, 0);
	mem_store(c, la, i->osz, r);
	reg_write(c, i->r2, i->osz, a);
	flags_set_arith(c, f);
}

/* CMPXCHG: compare rAX with the destination; equal: dest = src, else
 * rAX = dest. The memory form always writes (the old value back when
 * unequal), as the SDM says the processor does. */
void x_cmpxchg_rr(struct vtx_cpu *c, const struct vtx_insn *i)
{
	uint64_t acc = reg_read(c, REG_RAX, i->osz);
	uint64_t d = reg_read(c, i->r1, i->osz);
	uint64_t f = flags_sub(acc, d, acc - d, i->osz, 0);
	if (acc == d)
		reg_write(c, i->r1, i->osz, reg_read(c, i->r2, i->osz));
	else
		reg_write(c, REG_RAX, i->osz, d);
	flags_set_arith(c, f);
}

void x_cmpxchg_mr(struct vtx_cpu *c, const struct vtx_insn *i)
{
	uint64_t la = insn_la(c, i), d;
	uint64_t acc = reg_read(c, REG_RAX, i->osz);

	rmw_probe(c, la, i->osz);
	d = mem_load(c, la, i->osz);
	uint64_t f = flags_sub(acc, d, acc - d, i->osz, 0);
	if (acc == d) {
		mem_store(c, la, i->osz, reg_read(c, i->r2, i->osz));
	} else {
		mem_store(c, la, i->osz, d);
		reg_write(c, REG_RAX, i->osz, d);
	}
	flags_set_arith(c, f);
}

/* CMPXCHG8B m64 (SDM Vol. 2A "CMPXCHG8B/CMPXCHG16B"): compare EDX:EAX
 * with the operand; equal: store ECX:EBX, else load EDX:EAX from it. Only
 * ZF changes, and the operand is written either way, as for CMPXCHG. */
void x_cmpxchg8b(struct vtx_cpu *c, const struct vtx_insn *i)
{
	uint64_t la = insn_la(c, i), m;
	uint64_t acc = (c->gpr[REG_RDX] << 32) | (uint32_t)c->gpr[REG_RAX];
	uint64_t src = (c->gpr[REG_RCX] << 32) | (uint32_t)c->gpr[REG_RBX];
	bool eq;

	rmw_probe(c, la, 8);
	m = mem_load(c, la, 8);
	eq = m == acc;
	mem_store(c, la, 8, eq ? src : m);
	if (!eq) {
		reg_write(c, REG_RAX, 4, (uint32_t)m);
		reg_write(c, REG_RDX, 4, m >> 32);
	}
	c->rflags = (c->rflags & ~(uint64_t)X86_EFLAGS_ZF) |
		    (eq ? X86_EFLAGS_ZF : 0);
}

/* BSWAP of a 16-bit register is undefined; the model clears it as current
 * Intel parts do. */
void x_bswap(struct vtx_cpu *c, const struct vtx_insn *i)
{
	uint64_t v = reg_read(c, i->r1, i->osz);
	if (i->osz == 8)
		v = __builtin_bswap64(v);
	else if (i->osz == 4)
		v = __builtin_bswap32((uint32_t)v);
	else
		v = 0;
	reg_write(c, i->r1, i->osz, v);
}

/* ---- bit scans and counts ------------------------------------------------------- */

/* BSF/BSR: ZF = (src == 0), the destination unchanged then (as Intel and
 * AMD parts do; the SDM says undefined); CF, OF, SF, AF, PF undefined: the
 * model clears them. */
static void bscan(struct vtx_cpu *c, const struct vtx_insn *i, uint64_t s,
		  bool rev)
{
	s &= size_mask(i->osz);
	if (!s) {
		flags_set_arith(c, X86_EFLAGS_ZF);
		return;
	}
	reg_write(c, i->r1, i->osz,
		  rev ? 63 - (unsigned)__builtin_clzll(s)
		      : (unsigned)__builtin_ctzll(s));
	flags_set_arith(c, 0);
}

void x_bsf_rr(struct vtx_cpu *c, const struct vtx_insn *i)
{
	bscan(c, i, reg_read(c, i->r2, i->osz), false);
}

void x_bsf_rm(struct vtx_cpu *c, const struct vtx_insn *i)
{
	bscan(c, i, mem_load(c, insn_la(c, i), i->osz), false);
}

void x_bsr_rr(struct vtx_cpu *c, const struct vtx_insn *i)
{
	bscan(c, i, reg_read(c, i->r2, i->osz), true);
}

void x_bsr_rm(struct vtx_cpu *c, const struct vtx_insn *i)
{
	bscan(c, i, mem_load(c, insn_la(c, i), i->osz), true);
}

/* TZCNT/LZCNT: CF = (src == 0), ZF = (result == 0); OF, SF, PF, AF
 * undefined: cleared. POPCNT: ZF = (src == 0), the others cleared. */
static void count_bits(struct vtx_cpu *c, const struct vtx_insn *i, uint64_t s,
		       int kind)
{
	unsigned bits = i->osz * 8, r;
	s &= size_mask(i->osz);
	if (kind == 2)
		r = (unsigned)__builtin_popcountll(s);
	else if (!s)
		r = bits;
	else if (kind == 0)
		r = (unsigned)__builtin_ctzll(s);
	else
		r = (unsigned)__builtin_clzll(s) - (64 - bits);
	reg_write(c, i->r1, i->osz, r);
	if (kind == 2)
		flags_set_arith(c, s ? 0 : X86_EFLAGS_ZF);
	else
		flags_set_arith(c, (s ? 0 : X86_EFLAGS_CF) |
					   (r ? 0 : X86_EFLAGS_ZF));
}

void x_tzcnt_rr(struct vtx_cpu *c, const struct vtx_insn *i)
{
	count_bits(c, i, reg_read(c, i->r2, i->osz), 0);
}

void x_tzcnt_rm(struct vtx_cpu *c, const struct vtx_insn *i)
{
	count_bits(c, i, mem_load(c, insn_la(c, i), i->osz), 0);
}

void x_lzcnt_rr(struct vtx_cpu *c, const struct vtx_insn *i)
{
	count_bits(c, i, reg_read(c, i->r2, i->osz), 1);
}

void x_lzcnt_rm(struct vtx_cpu *c, const struct vtx_insn *i)
{
	count_bits(c, i, mem_load(c, insn_la(c, i), i->osz), 1);
}

void x_popcnt_rr(struct vtx_cpu *c, const struct vtx_insn *i)
{
	count_bits(c, i, reg_read(c, i->r2, i->osz), 2);
}

void x_popcnt_rm(struct vtx_cpu *c, const struct vtx_insn *i)
{
	count_bits(c, i, mem_load(c, insn_la(c, i), i->osz), 2);
}

/* ---- BT, BTS, BTR, BTC (SDM Vol. 2A "BT") ----------------------------------------- */

/* CF = the selected bit; OF, SF, AF, PF undefined (left unchanged). A
 * register bit offset addresses memory beyond the operand: the offset is
 * signed and selects the operand-sized word at ea + (off >> log2 bits). */
static uint64_t bt_apply(struct vtx_cpu *c, unsigned op, uint64_t v,
			 unsigned bit)
{
	uint64_t mask = 1ull << bit;
	c->rflags = (c->rflags & ~(uint64_t)X86_EFLAGS_CF) |
		    ((v & mask) ? X86_EFLAGS_CF : 0);
	switch (op) {
	case BT_BTS:
		return v | mask;
	case BT_BTR:
		return v & ~mask;
	case BT_BTC:
		return v ^ mask;
	default:
		return v;
	}
}

static void bt_rr(struct vtx_cpu *c, const struct vtx_insn *i)
{
	unsigned bit = (unsigned)(c->gpr[i->r2] & (i->osz * 8 - 1));
	uint64_t r = bt_apply(c, i->cc, reg_read(c, i->r1, i->osz), bit);
	if (i->cc != BT_BT)
		reg_write(c, i->r1, i->osz, r);
}

static void bt_ri(struct vtx_cpu *c, const struct vtx_insn *i)
{
	unsigned bit = (unsigned)(i->imm & (i->osz * 8 - 1));
	uint64_t r = bt_apply(c, i->cc, reg_read(c, i->r1, i->osz), bit);
	if (i->cc != BT_BT)
		reg_write(c, i->r1, i->osz, r);
}

static void bt_mem(struct vtx_cpu *c, const struct vtx_insn *i, int64_t off)
{
	unsigned bits = i->osz * 8;
	int64_t word = off >> (bits == 64 ? 6 : bits == 32 ? 5 : 4);
	uint64_t la = seg_linear(c, i->seg,
				 insn_ea(c, i) + (uint64_t)(word * i->osz));
	uint64_t v;

	if (i->cc != BT_BT)
		rmw_probe(c, la, i->osz);
	v = mem_load(c, la, i->osz);
	uint64_t saved = c->rflags;
	uint64_t r = bt_apply(c, i->cc, v, (unsigned)(off & (bits - 1)));
	if (i->cc != BT_BT) {
		uint64_t fl = c->rflags;
		c->rflags = saved; /* precise if the store faults */
		mem_store(c, la, i->osz, r);
		c->rflags = fl;
	}
}

static void bt_mr(struct vtx_cpu *c, const struct vtx_insn *i)
{
	bt_mem(c, i, sext(c->gpr[i->r2], i->osz));
}

static void bt_mi(struct vtx_cpu *c, const struct vtx_insn *i)
{
	bt_mem(c, i, (int64_t)(i->imm & (i->osz * 8 - 1)));
}

const vtx_handler_fn vtx_bt_handlers[F_NR] = {
	[F_RR] = bt_rr, [F_RI] = bt_ri, [F_MR] = bt_mr,
	[F_MI] = bt_mi, [F_RM] = NULL,
};
