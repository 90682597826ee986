/* SPDX-License-Identifier: MIT */
/*
 * diff_enc.h - what the case generator's forms (diff_gen.c) use to build a
 * case (diff_enc.c): the seeded random stream, register and sandbox
 * set-up, the x86-64 encoder (SDM Vol. 2A 2.1-2.2), memory operands aimed
 * into the sandbox, and the record of undefined results. Host side, tests
 * only.
 */
#ifndef NESTVM_TESTS_CPU_DIFF_ENC_H
#define NESTVM_TESTS_CPU_DIFF_ENC_H

#include <stdbool.h>
#include <stdint.h>

#include "arch/x86_regs.h"
#include "tests/cpu/diff.h"

#define CF X86_EFLAGS_CF
#define PF X86_EFLAGS_PF
#define AF X86_EFLAGS_AF
#define ZF X86_EFLAGS_ZF
#define SF X86_EFLAGS_SF
#define OF X86_EFLAGS_OF
#define DF X86_EFLAGS_DF
#define ARITH (CF | PF | AF | ZF | SF | OF)

enum { RAX, RCX, RDX, RBX, RSP, RBP, RSI, RDI };
/* Byte registers without REX: ModRM 4-7 name AH, CH, DH, BH; the
 * generator numbers them REG_AH + 0..3. */
#define REG_AH 16

#define REX_W 8
#define REX_R 4
#define REX_X 2
#define REX_B 1

/* The sandbox offset of a memory operand aimed at no sandbox byte. */
#define OFF_FAR (-((int64_t)1 << 40))

/* The state of one case being generated. */
struct gen {
	uint64_t s[4]; /* xoshiro256** state */
	const struct diff_where *w;
	struct diff_case *c;
	bool norex; /* AH..BH may appear: no REX prefix at all */
	uint32_t fixed; /* GPRs whose value the case has chosen */
};

/* One instruction being encoded. */
struct enc {
	uint8_t pfx[4]; /* LOCK, REP, segment: in this order */
	unsigned int npfx;
	bool p66, p67;
	uint8_t mand; /* a mandatory F2/F3 prefix, after 66 */
	uint8_t rex; /* W R X B bits */
	bool need_rex; /* SPL..DIL: a REX prefix even without bits */
	bool no_rex; /* AH..BH: no REX prefix */
	uint8_t op[3];
	unsigned int nop;
	bool has_modrm, has_sib;
	uint8_t modrm, sib;
	unsigned int disp_len, imm_len;
	int32_t disp;
	uint64_t imm;
};

/* ---- the random stream ---------------------------------------------------- */

static inline uint64_t splitmix64(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static inline uint64_t rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

/* xoshiro256** (Blackman and Vigna). */
static inline uint64_t rnd(struct gen *g)
{
	uint64_t r = rotl(g->s[1] * 5, 7) * 9, t = g->s[1] << 17;

	g->s[2] ^= g->s[0];
	g->s[3] ^= g->s[1];
	g->s[1] ^= g->s[2];
	g->s[0] ^= g->s[3];
	g->s[2] ^= t;
	g->s[3] = rotl(g->s[3], 45);
	return r;
}

/* Uniform in [0, n). */
static inline unsigned int rn(struct gen *g, unsigned int n)
{
	return (unsigned int)(((rnd(g) >> 32) * n) >> 32);
}

static inline bool chance(struct gen *g, unsigned int pct)
{
	return rn(g, 100) < pct;
}

static inline uint64_t size_mask(unsigned int sz)
{
	return sz == 8 ? ~0ull : (1ull << (sz * 8)) - 1;
}

static inline bool in_sandbox(int64_t off, unsigned int len)
{
	return off >= 0 && off + len <= DIFF_SANDBOX_SIZE;
}

/* Reports a bug of the generator itself and aborts. */
__attribute__((noreturn)) void diff_gen_bug(const char *what);

/* ---- values, registers, the sandbox image -------------------------------- */

uint64_t gen_rand_value(struct gen *g, unsigned int sz);
/* One of the sizes (a mask of 1, 2, 4, 8). */
unsigned int gen_pick_size(struct gen *g, unsigned int sizes);
unsigned int gen_pick_reg(struct gen *g, bool byte);
void gen_byte_mode(struct gen *g, unsigned int sz);
void gen_set_reg(struct gen *g, unsigned int r, unsigned int sz, uint64_t v);
void gen_fix_reg(struct gen *g, unsigned int r, unsigned int sz, uint64_t v);
uint64_t case_get_reg(const struct diff_case *c, unsigned int r,
		      unsigned int sz);
void gen_put_mem(struct gen *g, int64_t off, unsigned int sz, uint64_t v);
uint64_t case_get_mem(const struct diff_case *c, int64_t off, unsigned int sz);
uint64_t gen_sandbox_addr(const struct gen *g, int64_t off);
int64_t gen_pick_off(struct gen *g, unsigned int sz, bool fault_ok);
uint64_t gen_noncanon_addr(struct gen *g);

/* ---- the encoder ----------------------------------------------------------- */

void enc_init(struct enc *e);
void enc_size(struct enc *e, unsigned int sz);
void enc_op(struct enc *e, unsigned int n, uint8_t b0, uint8_t b1, uint8_t b2);
void enc_prefix(struct enc *e, uint8_t p);
void enc_modrm_reg(struct enc *e, unsigned int r, bool byte);
void enc_modrm_digit(struct enc *e, unsigned int d);
void enc_rm_reg(struct enc *e, unsigned int r, bool byte);
void enc_opreg(struct enc *e, unsigned int r, bool byte);
void enc_imm(struct enc *e, uint64_t v, unsigned int len);
/* Writes the instruction into the case's bytes. */
void enc_emit(struct gen *g, struct enc *e);

void enc_mem_at(struct gen *g, struct enc *e, uint64_t t, uint32_t avoid,
		bool canonical);
void enc_mem(struct gen *g, struct enc *e, int64_t off, uint32_t avoid);
void enc_mem_rsp(struct gen *g, struct enc *e, int64_t off, uint64_t rsp_val);
void enc_agen(struct gen *g, struct enc *e);
int enc_rm(struct gen *g, struct enc *e, unsigned int sz, bool byte,
	   unsigned int mem_pct, uint32_t avoid, bool fault_ok, int64_t *off);
void enc_maybe_lock(struct gen *g, struct enc *e, bool mem_dest, bool lockable);

/* ---- undefined results ----------------------------------------------------- */

void gen_undef_flags(struct gen *g, uint64_t f);
void gen_undef_reg(struct gen *g, unsigned int r, unsigned int sz);
void gen_undef_dest(struct gen *g, int reg, int64_t off, unsigned int sz);

#endif
