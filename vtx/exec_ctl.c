/* SPDX-License-Identifier: MIT */
/*
 * exec_ctl.c - the stack, near and far control transfers, flag
 * instructions and the string instructions with their REP forms (SDM Vol.
 * 1 ch. 6-7, Vol. 2 instruction pages), and the segment checks of
 * protected and compatibility mode (SDM Vol. 3A 5.3, 5.8). Model side.
 */
#include "arch/x86_seg.h"
#include "vtx/exec.h"

static inline bool canonical(uint64_t la)
{
	return (uint64_t)((int64_t)(la << 16) >> 16) == la;
}

/* ---- segmentation outside 64-bit mode ------------------------------------- */

/* SDM Vol. 3A 5.3: an offset is valid in an expand-up segment up to the
 * limit, in an expand-down one above the limit up to 0xffff or, with the
 * B flag, 0xffffffff. A flat 4 GiB expand-up segment needs no check. */
uint64_t vtx_seg_check(struct vtx_cpu *c, unsigned seg, uint64_t off,
		       unsigned n)
{
	const struct kvm_segment *s = &c->seg[seg];
	int vec = seg == SEG_SS ? SS_VECTOR : GP_VECTOR;
	uint64_t last = off + n - 1;

	if (unlikely(s->unusable))
		vtx_raise(c, vec, 0, true);
	if (s->s && !(s->type & SEG_TYPE_CODE) &&
	    (s->type & SEG_TYPE_EXPAND_DOWN)) {
		uint64_t top = s->db ? 0xffffffffull : 0xffffull;
		if (off <= s->limit || last > top)
			vtx_raise(c, vec, 0, true);
	} else if (s->limit != 0xffffffffu && last > s->limit) {
		vtx_raise(c, vec, 0, true);
	}
	return (uint32_t)(off + s->base);
}

/* ---- stack ------------------------------------------------------------------ */

/*
 * In 64-bit mode the stack pointer is RSP and a non-canonical stack
 * address raises #SS(0), not the #GP(0) of other accesses (SDM Vol. 2B
 * "PUSH", "POP", "LEAVE": 64-bit mode exceptions). Elsewhere it is ESP
 * when SS.B is set and SP otherwise (SDM Vol. 1 6.2.3), and the access is
 * checked against SS's limit.
 */
static inline bool stack32(const struct vtx_cpu *c)
{
	return c->seg[SEG_SS].db;
}

static uint64_t stack_la(struct vtx_cpu *c, uint64_t off, unsigned sz)
{
	if (likely(c->mode == VTX_MODE_LONG64)) {
		if (unlikely(!canonical(off) || !canonical(off + sz - 1)))
			vtx_raise(c, SS_VECTOR, 0, true);
		return off;
	}
	return vtx_seg_check(c, SEG_SS,
			     off & (stack32(c) ? 0xffffffffu : 0xffffu), sz);
}

/* The stack pointer moved by delta (wrapping at the stack's width). */
static inline uint64_t sp_plus(const struct vtx_cpu *c, int64_t delta)
{
	uint64_t sp = c->gpr[REG_RSP] + (uint64_t)delta;

	if (likely(c->mode == VTX_MODE_LONG64))
		return sp;
	if (stack32(c))
		return (uint32_t)sp;
	return (c->gpr[REG_RSP] & ~0xffffull) | (sp & 0xffff);
}

/* In 64-bit mode PUSH/POP are 64-bit unless a 66h prefix makes them 16-bit
 * (SDM Vol. 1 6.2.5). The new RSP is committed only after the access. */
static void push_sz(struct vtx_cpu *c, uint64_t v, unsigned sz)
{
	uint64_t rsp = sp_plus(c, -(int64_t)sz);
	mem_store(c, stack_la(c, rsp, sz), sz, v);
	c->gpr[REG_RSP] = rsp;
}

static uint64_t peek_sz(struct vtx_cpu *c, unsigned sz)
{
	return mem_load(c, stack_la(c, c->gpr[REG_RSP], sz), sz);
}

/* The value at offset `at` above the stack pointer (far returns). */
static uint64_t peek_at(struct vtx_cpu *c, unsigned at, unsigned sz)
{
	return mem_load(c, stack_la(c, sp_plus(c, at), sz), sz);
}

uint64_t vtx_sp_plus(const struct vtx_cpu *c, int64_t delta)
{
	return sp_plus(c, delta);
}

uint64_t vtx_stack_la(struct vtx_cpu *c, uint64_t off, unsigned sz)
{
	return stack_la(c, off, sz);
}

void vtx_push(struct vtx_cpu *c, uint64_t v, unsigned sz)
{
	push_sz(c, v, sz);
}

uint64_t vtx_stack_peek(struct vtx_cpu *c, unsigned at, unsigned sz)
{
	return peek_at(c, at, sz);
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
	c->gpr[REG_RSP] = sp_plus(c, i->osz);
	reg_write(c, i->r1, i->osz, v); /* POP RSP: the popped value wins */
}

/* POP m: an RSP-based address is computed after RSP is incremented (SDM
 * Vol. 2B "POP"); a fault on the store leaves RSP as it was. */
void x_pop_m(struct vtx_cpu *c, const struct vtx_insn *i)
{
	uint64_t v = peek_sz(c, i->osz), old = c->gpr[REG_RSP];
	uint64_t next = sp_plus(c, i->osz);
	c->gpr[REG_RSP] = next;
	uint64_t la = insn_la(c, i);
	c->gpr[REG_RSP] = old;
	mem_store(c, la, i->osz, v);
	c->gpr[REG_RSP] = next;
}

void x_leave(struct vtx_cpu *c, const struct vtx_insn *i)
{
	uint64_t v, bp = c->gpr[REG_RBP];

	if (unlikely(c->mode != VTX_MODE_LONG64))
		bp &= stack32(c) ? 0xffffffffu : 0xffffu;
	v = mem_load(c, stack_la(c, bp, i->osz), i->osz);
	c->gpr[REG_RSP] = bp;
	c->gpr[REG_RSP] = sp_plus(c, i->osz);
	reg_write(c, REG_RBP, i->osz, v);
}

/* ---- near control transfers -------------------------------------------------- */

/* Outside 64-bit mode a near target is EIP (or IP with a 16-bit operand
 * size) and must lie within CS's limit, or the branch raises #GP(0) (SDM
 * Vol. 2A "JMP", protected mode). */
static uint64_t legacy_target(struct vtx_cpu *c, uint64_t target, unsigned osz)
{
	target &= osz == 2 ? 0xffffu : 0xffffffffu;
	if (target > c->seg[SEG_CS].limit)
		raise_gp(c, 0);
	return target;
}

static inline void branch_to_sz(struct vtx_cpu *c, uint64_t target,
				unsigned osz)
{
	/* A non-canonical target faults on the branch itself (SDM Vol. 3A
	 * 6.15 "#GP", 64-bit mode). */
	if (likely(c->mode == VTX_MODE_LONG64)) {
		if (unlikely(!canonical(target)))
			raise_gp(c, 0);
	} else {
		target = legacy_target(c, target, osz);
	}
	c->next_rip = target;
}

#define branch_to(c, target) branch_to_sz(c, target, i->osz)

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
	if (likely(c->mode == VTX_MODE_LONG64)) {
		if (unlikely(!canonical(target)))
			raise_gp(c, 0);
	} else {
		target = legacy_target(c, target, sz);
	}
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
	c->gpr[REG_RSP] = sp_plus(c, (int64_t)(i->osz + i->imm));
}

/* ---- far control transfers (SDM Vol. 2A "JMP", "CALL", Vol. 2B "RET") -------- */

/*
 * The code segment a far JMP, CALL or RET names, with the checks of SDM
 * Vol. 3A 5.8.1-5.8.2 for a transfer that keeps the privilege level:
 * conforming code needs DPL <= CPL, non-conforming code RPL <= CPL and
 * DPL = CPL; a RET needs RPL = CPL and DPL = RPL (<= RPL if conforming).
 * A RET to an outer level (RPL > CPL) passes here and is finished by
 * vtx_ret_far_outer(); gates and TSSs go to vtx_far_gate() before this.
 * *raw receives the descriptor.
 */
static void far_check_cs(struct vtx_cpu *c, uint16_t sel, bool ret,
			 struct kvm_segment *cs, uint64_t *raw)
{
	unsigned rpl = sel & SEL_RPL_MASK, cpl = (unsigned)c->cpl;
	bool conforming;

	if (x86_sel_is_null(sel))
		raise_gp(c, 0);
	*raw = vtx_read_desc(c, sel);
	x86_seg_decode_desc(cs, *raw, sel);
	if (!cs->s || !(cs->type & SEG_TYPE_CODE))
		raise_gp(c, sel & 0xfffc);
	conforming = cs->type & SEG_TYPE_CONFORMING;
	if (ret) {
		if (rpl < cpl)
			raise_gp(c, sel & 0xfffc);
		if (conforming ? cs->dpl > rpl : cs->dpl != rpl)
			raise_gp(c, sel & 0xfffc);
	} else if (conforming ? cs->dpl > cpl : (rpl > cpl || cs->dpl != cpl)) {
		raise_gp(c, sel & 0xfffc);
	}
	if (!cs->present)
		vtx_raise(c, NP_VECTOR, sel & 0xfffc, true);
	/* L and D together are reserved in IA-32e mode (SDM 5.2.1). */
	if ((c->efer & EFER_LMA) && cs->l && cs->db)
		raise_gp(c, sel & 0xfffc);
}

/* The offset in the new code segment: canonical for 64-bit code, else
 * truncated to the operand size and within the new limit (#GP(0)). */
static uint64_t far_target(struct vtx_cpu *c, const struct kvm_segment *cs,
			   uint64_t off, unsigned osz)
{
	if ((c->efer & EFER_LMA) && cs->l) {
		if (!canonical(off))
			raise_gp(c, 0);
		return off;
	}
	off &= osz == 2 ? 0xffffu : 0xffffffffu;
	if (off > cs->limit)
		raise_gp(c, 0);
	return off;
}

/* Loads CS with RPL = CPL and continues at target: the commit, after
 * every access that can fault. The descriptor is marked accessed. A far
 * transfer from compatibility mode into a 64-bit code segment is how
 * IA-32e mode reaches 64-bit mode (SDM Vol. 3A 9.8.5). */
static void far_load_cs(struct vtx_cpu *c, struct kvm_segment *cs, uint64_t raw,
			uint16_t sel, uint64_t target)
{
	int cpl = c->cpl;
	uint64_t acc = (uint64_t)SEG_TYPE_ACCESSED << DESC_TYPE_SHIFT;

	if (!(raw & acc)) {
		raw |= acc;
		vtx_write_sys(c,
			      ((sel & SEL_TI) ? c->ldt.base : c->gdt.base) +
				      (sel & ~7u),
			      &raw, 8);
		cs->type |= SEG_TYPE_ACCESSED;
	}
	cs->selector = (uint16_t)((sel & ~3u) | (unsigned)cpl);
	c->seg[SEG_CS] = *cs;
	c->next_rip = target;
	vtx_update_mode(c);
	c->cpl = cpl; /* conforming code keeps the CPL */
	/* Chained blocks are found by RIP (vtx/run.c): a new CS base changes
	 * what a RIP means, so no chain may outlive it. */
	c->fetch_gen++;
	c->async = 1;
}

/* A selector that names a system descriptor: a call gate, TSS or task
 * gate (SDM Vol. 3A 5.8.4). */
static bool far_is_system(struct vtx_cpu *c, uint16_t sel)
{
	return !x86_sel_is_null(sel) && !(vtx_read_desc(c, sel) & DESC_S);
}

static void far_jmp(struct vtx_cpu *c, uint16_t sel, uint64_t off, unsigned osz)
{
	struct kvm_segment cs;
	uint64_t raw;

	if (c->mode == VTX_MODE_REAL) {
		vtx_real_far(c, sel, off, osz, false);
		return;
	}
	if (far_is_system(c, sel)) {
		vtx_far_gate(c, sel, false);
		return;
	}
	far_check_cs(c, sel, false, &cs, &raw);
	far_load_cs(c, &cs, raw, sel, far_target(c, &cs, off, osz));
}

/* Pushes CS and the return offset (each of the operand size) as one
 * store, so that a fault leaves the stack untouched, then jumps. */
static void far_call(struct vtx_cpu *c, uint16_t sel, uint64_t off,
		     unsigned osz)
{
	struct kvm_segment cs;
	uint8_t frame[16] = { 0 };
	uint64_t raw, target, cs_sel = c->seg[SEG_CS].selector;
	uint64_t sp = sp_plus(c, -2 * (int64_t)osz);

	if (c->mode == VTX_MODE_REAL) {
		vtx_real_far(c, sel, off, osz, true);
		return;
	}
	if (far_is_system(c, sel)) {
		vtx_far_gate(c, sel, true);
		return;
	}
	far_check_cs(c, sel, false, &cs, &raw);
	target = far_target(c, &cs, off, osz);
	memcpy(frame, &c->next_rip, osz);
	memcpy(frame + osz, &cs_sel, osz);
	vtx_write_slow(c, stack_la(c, sp, 2 * osz), frame, 2 * osz);
	c->gpr[REG_RSP] = sp;
	far_load_cs(c, &cs, raw, sel, target);
}

/* JMP ptr16:16/32: i->disp = the selector, i->imm = the offset. */
void x_jmp_far_ptr(struct vtx_cpu *c, const struct vtx_insn *i)
{
	far_jmp(c, (uint16_t)i->disp, i->imm, i->osz);
}

/* JMP m16:16/32/64: the offset, then the selector. */
void x_jmp_far_m(struct vtx_cpu *c, const struct vtx_insn *i)
{
	uint64_t la = insn_la(c, i);
	uint64_t off = mem_load(c, la, i->osz);
	uint16_t sel = (uint16_t)mem_load(c, la + i->osz, 2);

	far_jmp(c, sel, off, i->osz);
}

void x_call_far_ptr(struct vtx_cpu *c, const struct vtx_insn *i)
{
	far_call(c, (uint16_t)i->disp, i->imm, i->osz);
}

void x_call_far_m(struct vtx_cpu *c, const struct vtx_insn *i)
{
	uint64_t la = insn_la(c, i);
	uint64_t off = mem_load(c, la, i->osz);
	uint16_t sel = (uint16_t)mem_load(c, la + i->osz, 2);

	far_call(c, sel, off, i->osz);
}

/* RET far [imm16]: pops the offset, then CS, then releases imm bytes. */
void x_ret_far(struct vtx_cpu *c, const struct vtx_insn *i)
{
	struct kvm_segment cs;
	uint64_t raw, target, off;
	uint16_t sel;

	if (c->mode == VTX_MODE_REAL) {
		vtx_real_ret_far(c, i);
		return;
	}
	off = peek_at(c, 0, i->osz);
	sel = (uint16_t)peek_at(c, i->osz, i->osz);
	far_check_cs(c, sel, true, &cs, &raw);
	target = far_target(c, &cs, off, i->osz);
	if ((sel & SEL_RPL_MASK) > (unsigned)c->cpl) {
		vtx_ret_far_outer(c, i, &cs, raw, target);
		return;
	}
	c->gpr[REG_RSP] = sp_plus(c, (int64_t)(2 * i->osz + i->imm));
	far_load_cs(c, &cs, raw, sel, target);
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
	c->gpr[REG_RSP] = sp_plus(c, i->osz);
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
		if (str_reg(c, REG_RCX, asz) && vtx_rep_mtf_break(c))
			break;
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
		if (rep && step > 0 && sz == 1 &&
		    !(c->vmx.non_root &&
		      (c->vmx.proc & CPU_BASED_MONITOR_TRAP_FLAG))) {
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
		if (str_reg(c, REG_RCX, asz) && vtx_rep_mtf_break(c))
			break;
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
		if (str_reg(c, REG_RCX, asz) && vtx_rep_mtf_break(c))
			break;
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
		if (str_reg(c, REG_RCX, asz) && vtx_rep_mtf_break(c))
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
		if (str_reg(c, REG_RCX, asz) && vtx_rep_mtf_break(c))
			break;
	}
}
