/* SPDX-License-Identifier: MIT */
/*
 * exec_ctl.c - the stack, near control transfers, flag instructions and
 * the string instructions with their REP forms (SDM Vol. 1 ch. 6-7, Vol. 2
 * instruction pages). Model side.
 */
#include "vtx/exec.h"

static inline bool canonical(uint64_t la)
{
	return (uint64_t)((int64_t)(la << 16) >> 16) == la;
}

/* ---- stack ------------------------------------------------------------------ */

/* The linear address of an sz-byte stack access at offset off. A
 * non-canonical stack address raises #SS(0), not the #GP(0) of other
 * accesses (SDM Vol. 2B "PUSH", "POP", "LEAVE": 64-bit mode exceptions). */
static uint64_t stack_la(struct vtx_cpu *c, uint64_t off, unsigned sz)
{
	uint64_t la = seg_linear(c, SEG_SS, off);

	if (c->mode == VTX_MODE_LONG64 &&
	    (!canonical(la) || !canonical(la + sz - 1)))
		vtx_raise(c, SS_VECTOR, 0, true);
	return la;
}

/* In 64-bit mode PUSH/POP are 64-bit unless a 66h prefix makes them 16-bit
 * (SDM Vol. 1 6.2.5). The new RSP is committed only after the access. */
static void push_sz(struct vtx_cpu *c, uint64_t v, unsigned sz)
{
	uint64_t rsp = c->gpr[REG_RSP] - sz;
	mem_store(c, stack_la(c, rsp, sz), sz, v);
	c->gpr[REG_RSP] = rsp;
}

static uint64_t peek_sz(struct vtx_cpu *c, unsigned sz)
{
	return mem_load(c, stack_la(c, c->gpr[REG_RSP], sz), sz);
}

void x_push_r(struct vtx_cpu *c, const struct vtx_insn *i)
{
	push_sz(c, reg_read(c, i->r1, i->osz), i->osz);
}

void x_push_i(struct vtx_cpu *c, const struct vtx_insn *i)
{
	push_sz(c, i->imm, i->osz);
}

void x_push_m(struct vtx_cpu *c, const struct vtx_insn *i)
{
	push_sz(c, mem_load(c, insn_la(c, i), i->osz), i->osz);
}

void x_pop_r(struct vtx_cpu *c, const struct vtx_insn *i)
{
	uint64_t v = peek_sz(c, i->osz);
	c->gpr[REG_RSP] += i->osz;
	reg_write(c, i->r1, i->osz, v); /* POP RSP: the popped value wins */
}

/* POP m: an RSP-based address is computed after RSP is incremented (SDM
 * Vol. 2B "POP"); a fault on the store leaves RSP as it was. */
void x_pop_m(struct vtx_cpu *c, const struct vtx_insn *i)
{
	uint64_t v = peek_sz(c, i->osz), old = c->gpr[REG_RSP];
	c->gpr[REG_RSP] += i->osz;
	uint64_t la = insn_la(c, i);
	c->gpr[REG_RSP] = old;
	mem_store(c, la, i->osz, v);
	c->gpr[REG_RSP] = old + i->osz;
}

void x_leave(struct vtx_cpu *c, const struct vtx_insn *i)
{
	uint64_t v = mem_load(c, stack_la(c, c->gpr[REG_RBP], i->osz), i->osz);
	c->gpr[REG_RSP] = c->gpr[REG_RBP] + i->osz;
	reg_write(c, REG_RBP, i->osz, v);
}

/* ---- near control transfers -------------------------------------------------- */

static inline void branch_to(struct vtx_cpu *c, uint64_t target)
{
	/* A non-canonical target faults on the branch itself (SDM Vol. 3A
	 * 6.15 "#GP", 64-bit mode). */
	if (unlikely(c->mode == VTX_MODE_LONG64 && !canonical(target)))
		raise_gp(c, 0);
	c->next_rip = target;
}

void x_jmp_rel(struct vtx_cpu *c, const struct vtx_insn *i)
{
	branch_to(c, c->next_rip + i->imm);
}

void x_jmp_r(struct vtx_cpu *c, const struct vtx_insn *i)
{
	branch_to(c, reg_read(c, i->r1, i->osz));
}

void x_jmp_m(struct vtx_cpu *c, const struct vtx_insn *i)
{
	branch_to(c, mem_load(c, insn_la(c, i), i->osz));
}

void x_jcc(struct vtx_cpu *c, const struct vtx_insn *i)
{
	if (cond_true(c->rflags, i->cc))
		branch_to(c, c->next_rip + i->imm);
}

void x_jrcxz(struct vtx_cpu *c, const struct vtx_insn *i)
{
	if (!reg_read(c, REG_RCX, i->asz))
		branch_to(c, c->next_rip + i->imm);
}

/* LOOP (cc 0), LOOPE (cc 1), LOOPNE (cc 2): the count is rCX of the
 * address size; flags unchanged. */
void x_loop(struct vtx_cpu *c, const struct vtx_insn *i)
{
	uint64_t n = reg_read(c, REG_RCX, i->asz) - 1;
	bool zf = c->rflags & X86_EFLAGS_ZF;
	bool take = (n & size_mask(i->asz)) != 0;
	if (i->cc == 1)
		take = take && zf;
	else if (i->cc == 2)
		take = take && !zf;
	if (take)
		branch_to(c, c->next_rip + i->imm);
	reg_write(c, REG_RCX, i->asz, n);
}

static void call_to(struct vtx_cpu *c, uint64_t target, unsigned sz)
{
	if (unlikely(c->mode == VTX_MODE_LONG64 && !canonical(target)))
		raise_gp(c, 0);
	push_sz(c, c->next_rip, sz);
	c->next_rip = target;
}

void x_call_rel(struct vtx_cpu *c, const struct vtx_insn *i)
{
	call_to(c, c->next_rip + i->imm, i->osz);
}

void x_call_r(struct vtx_cpu *c, const struct vtx_insn *i)
{
	call_to(c, reg_read(c, i->r1, i->osz), i->osz);
}

void x_call_m(struct vtx_cpu *c, const struct vtx_insn *i)
{
	call_to(c, mem_load(c, insn_la(c, i), i->osz), i->osz);
}

/* RET and RET imm16 (imm = bytes to release after the return address). */
void x_ret(struct vtx_cpu *c, const struct vtx_insn *i)
{
	uint64_t target = peek_sz(c, i->osz);
	branch_to(c, target);
	c->gpr[REG_RSP] += i->osz + i->imm;
}

void x_nop(struct vtx_cpu *c, const struct vtx_insn *i)
{
	(void)c;
	(void)i;
}

/* ---- flags -------------------------------------------------------------------- */

void x_clc(struct vtx_cpu *c, const struct vtx_insn *i)
{
	(void)i;
	c->rflags &= ~(uint64_t)X86_EFLAGS_CF;
}

void x_stc(struct vtx_cpu *c, const struct vtx_insn *i)
{
	(void)i;
	c->rflags |= X86_EFLAGS_CF;
}

void x_cmc(struct vtx_cpu *c, const struct vtx_insn *i)
{
	(void)i;
	c->rflags ^= X86_EFLAGS_CF;
}

void x_cld(struct vtx_cpu *c, const struct vtx_insn *i)
{
	(void)i;
	c->rflags &= ~(uint64_t)X86_EFLAGS_DF;
}

void x_std(struct vtx_cpu *c, const struct vtx_insn *i)
{
	(void)i;
	c->rflags |= X86_EFLAGS_DF;
}

/* CLAC/STAC (SDM Vol. 2A "CLAC", Vol. 2B "STAC"): RFLAGS.AC, the SMAP
 * override, from CPL 0 only (#UD otherwise). With CR4.SMAP set no
 * supervisor translation is cached (vtx/mmu.c), so AC counts at once. */
void x_clac(struct vtx_cpu *c, const struct vtx_insn *i)
{
	(void)i;
	if (c->cpl != 0)
		raise_ud(c);
	c->rflags &= ~(uint64_t)X86_EFLAGS_AC;
}

void x_stac(struct vtx_cpu *c, const struct vtx_insn *i)
{
	(void)i;
	if (c->cpl != 0)
		raise_ud(c);
	c->rflags |= X86_EFLAGS_AC;
}

#define LAHF_MASK                                                        \
	(X86_EFLAGS_SF | X86_EFLAGS_ZF | X86_EFLAGS_AF | X86_EFLAGS_PF | \
	 X86_EFLAGS_CF)

void x_lahf(struct vtx_cpu *c, const struct vtx_insn *i)
{
	(void)i;
	reg_write(c, REG_AH, 1, (c->rflags & LAHF_MASK) | X86_EFLAGS_FIXED);
}

void x_sahf(struct vtx_cpu *c, const struct vtx_insn *i)
{
	(void)i;
	c->rflags = (c->rflags & ~(uint64_t)LAHF_MASK) |
		    (reg_read(c, REG_AH, 1) & LAHF_MASK);
}

/* PUSHF stores RFLAGS with VM and RF cleared (SDM Vol. 2B "PUSHF"). */
void x_pushf(struct vtx_cpu *c, const struct vtx_insn *i)
{
	uint64_t v = c->rflags & ~(uint64_t)(X86_EFLAGS_VM | X86_EFLAGS_RF);
	push_sz(c, v, i->osz);
}

/* POPF (SDM Vol. 2B "POPF", protected and 64-bit mode): VM, VIP, VIF are
 * never changed and RF is cleared; IOPL changes only at CPL 0; IF changes
 * only when CPL <= IOPL, and otherwise is silently kept -- the instruction
 * Adams & Agesen single out, since it neither faults nor exits. */
void x_popf(struct vtx_cpu *c, const struct vtx_insn *i)
{
	uint64_t v = peek_sz(c, i->osz);
	uint64_t keep = X86_EFLAGS_VM | X86_EFLAGS_VIP | X86_EFLAGS_VIF;
	unsigned iopl = (c->rflags & X86_EFLAGS_IOPL) >> X86_EFLAGS_IOPL_BIT;

	if (c->cpl > 0)
		keep |= X86_EFLAGS_IOPL;
	if ((unsigned)c->cpl > iopl)
		keep |= X86_EFLAGS_IF;
	if (i->osz == 2)
		v = (c->rflags & ~0xffffull) | (v & 0xffff);
	c->gpr[REG_RSP] += i->osz;
	v &= X86_EFLAGS_LIVE_MASK & ~(uint64_t)X86_EFLAGS_RF;
	c->rflags = (c->rflags & keep) | (v & ~keep) | X86_EFLAGS_FIXED;
	/* IF may have changed: let the run loop look at pending events. */
	c->async = 1;
}

/* ---- string instructions (SDM Vol. 1 7.3.9, Vol. 2 "REP") --------------------- */

static inline int64_t str_step(const struct vtx_cpu *c, unsigned sz)
{
	return (c->rflags & X86_EFLAGS_DF) ? -(int64_t)sz : (int64_t)sz;
}

static inline uint64_t str_reg(const struct vtx_cpu *c, unsigned r,
			       unsigned asz)
{
	return c->gpr[r] & size_mask(asz);
}

static inline void str_advance(struct vtx_cpu *c, unsigned r, unsigned asz,
			       int64_t step)
{
	reg_write(c, r, asz, c->gpr[r] + (uint64_t)step);
}

/* Each iteration commits RSI/RDI/RCX before the next, so a fault in the
 * middle leaves a state the instruction resumes from (SDM Vol. 2B "REP"). */
void x_movs(struct vtx_cpu *c, const struct vtx_insn *i)
{
	unsigned sz = i->osz, asz = i->asz;
	int64_t step = str_step(c, sz);
	bool rep = i->rep != 0;

	while (!rep || str_reg(c, REG_RCX, asz)) {
		uint64_t v = mem_load(
			c, seg_linear(c, i->seg, str_reg(c, REG_RSI, asz)), sz);
		mem_store(c, seg_linear(c, SEG_ES, str_reg(c, REG_RDI, asz)),
			  sz, v);
		str_advance(c, REG_RSI, asz, step);
		str_advance(c, REG_RDI, asz, step);
		if (!rep)
			break;
		reg_write(c, REG_RCX, asz, c->gpr[REG_RCX] - 1);
	}
}

void x_stos(struct vtx_cpu *c, const struct vtx_insn *i)
{
	unsigned sz = i->osz, asz = i->asz;
	int64_t step = str_step(c, sz);
	bool rep = i->rep != 0;
	uint64_t v = reg_read(c, REG_RAX, sz);

	while (!rep || str_reg(c, REG_RCX, asz)) {
		uint64_t la = seg_linear(c, SEG_ES, str_reg(c, REG_RDI, asz));
		/* Whole runs inside one page go through one translation. */
		if (rep && step > 0 && sz == 1) {
			uint64_t n = str_reg(c, REG_RCX, asz);
			uint64_t room = PAGE_SIZE - (la & (PAGE_SIZE - 1));
			if (n > room)
				n = room;
			uint8_t *p = mem_rmw_ptr(c, la, 1);
			if (p && n > 1) {
				memset(p, (int)v, n);
				str_advance(c, REG_RDI, asz, (int64_t)n);
				reg_write(c, REG_RCX, asz, c->gpr[REG_RCX] - n);
				continue;
			}
		}
		mem_store(c, la, sz, v);
		str_advance(c, REG_RDI, asz, step);
		if (!rep)
			break;
		reg_write(c, REG_RCX, asz, c->gpr[REG_RCX] - 1);
	}
}

void x_lods(struct vtx_cpu *c, const struct vtx_insn *i)
{
	unsigned sz = i->osz, asz = i->asz;
	int64_t step = str_step(c, sz);
	bool rep = i->rep != 0;

	while (!rep || str_reg(c, REG_RCX, asz)) {
		uint64_t v = mem_load(
			c, seg_linear(c, i->seg, str_reg(c, REG_RSI, asz)), sz);
		reg_write(c, REG_RAX, sz, v);
		str_advance(c, REG_RSI, asz, step);
		if (!rep)
			break;
		reg_write(c, REG_RCX, asz, c->gpr[REG_RCX] - 1);
	}
}

/* CMPS/SCAS: REPE stops when ZF = 0, REPNE when ZF = 1 (after the count
 * test, SDM Vol. 2B Table 4-17 "REP"). */
static bool rep_done(const struct vtx_cpu *c, const struct vtx_insn *i)
{
	bool zf = c->rflags & X86_EFLAGS_ZF;
	return i->rep == VTX_REP ? !zf : zf;
}

void x_cmps(struct vtx_cpu *c, const struct vtx_insn *i)
{
	unsigned sz = i->osz, asz = i->asz;
	int64_t step = str_step(c, sz);
	bool rep = i->rep != 0;

	while (!rep || str_reg(c, REG_RCX, asz)) {
		uint64_t a = mem_load(
			c, seg_linear(c, i->seg, str_reg(c, REG_RSI, asz)), sz);
		uint64_t b = mem_load(
			c, seg_linear(c, SEG_ES, str_reg(c, REG_RDI, asz)), sz);
		flags_set_arith(c, flags_sub(a, b, a - b, sz, 0));
		str_advance(c, REG_RSI, asz, step);
		str_advance(c, REG_RDI, asz, step);
		if (!rep)
			break;
		reg_write(c, REG_RCX, asz, c->gpr[REG_RCX] - 1);
		if (rep_done(c, i))
			break;
	}
}

void x_scas(struct vtx_cpu *c, const struct vtx_insn *i)
{
	unsigned sz = i->osz, asz = i->asz;
	int64_t step = str_step(c, sz);
	bool rep = i->rep != 0;
	uint64_t a = reg_read(c, REG_RAX, sz);

	while (!rep || str_reg(c, REG_RCX, asz)) {
		uint64_t b = mem_load(
			c, seg_linear(c, SEG_ES, str_reg(c, REG_RDI, asz)), sz);
		flags_set_arith(c, flags_sub(a, b, a - b, sz, 0));
		str_advance(c, REG_RDI, asz, step);
		if (!rep)
			break;
		reg_write(c, REG_RCX, asz, c->gpr[REG_RCX] - 1);
		if (rep_done(c, i))
			break;
	}
}
