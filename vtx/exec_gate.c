/* SPDX-License-Identifier: MIT */
/*
 * exec_gate.c - privilege changes outside interrupt delivery: far CALL and
 * far JMP through 16-, 32- and 64-bit call gates with the stack switch
 * from the TSS and the parameter copy (SDM Vol. 3A 5.8.3-5.8.6, Vol. 2A
 * "CALL", "JMP"), far RET and IRET to an outer privilege level (Vol. 3A
 * 5.8.6, Vol. 2B "RET", Vol. 2A "IRET"), the TSS stack lookup and new-SS
 * checks that interrupt delivery shares (Vol. 3A 6.12.1), and the task
 * switches the model does not perform, each a counted #UD. Model side.
 */
#include <stdio.h>
#include <string.h>

#include "arch/x86_paging.h"
#include "arch/x86_seg.h"
#include "vtx/exec.h"

/* The TSS's type: 32-bit (9/11) or 16-bit (1/3) (SDM Vol. 3A 8.2.2). */
static bool tss_is32(const struct vtx_cpu *c)
{
	return c->tr.type & 8;
}

/*
 * The privilege-level-n stack in the current TSS: SSn and ESPn of a 32-bit
 * TSS, SSn and SPn of a 16-bit one (SDM Vol. 3A Figures 8-2 and 8-11);
 * beyond the TSS limit is #TS(TSS selector).
 */
void vtx_tss_stack(struct vtx_cpu *c, unsigned n, uint32_t ext, uint16_t *ss,
		   uint32_t *sp)
{
	uint32_t off = tss_is32(c) ? 4 + 8 * n : 2 + 4 * n;
	unsigned sp_len = tss_is32(c) ? 4 : 2;
	uint8_t b[8] = { 0 };

	if (c->tr.unusable || off + sp_len + 1 > c->tr.limit)
		vtx_raise(c, TS_VECTOR, (c->tr.selector & 0xfffc) | ext, true);
	vtx_read_sys(c, c->tr.base + off, b, sp_len + 2);
	*sp = sp_len == 4 ? (uint32_t)b[0] | (uint32_t)b[1] << 8 |
				    (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24
			  : (uint32_t)b[0] | (uint32_t)b[1] << 8;
	*ss = (uint16_t)(b[sp_len] | b[sp_len + 1] << 8);
}

/* A descriptor for a stack switch: past the table's limit is #TS, not the
 * #GP of vtx_read_desc(). */
static uint64_t read_desc_ts(struct vtx_cpu *c, uint16_t sel, uint32_t ext)
{
	const struct kvm_dtable *gdt = &c->gdt;
	uint64_t base = gdt->base, d;
	uint32_t limit = gdt->limit;

	if (sel & SEL_TI) {
		if (c->ldt.unusable || !c->ldt.present)
			vtx_raise(c, TS_VECTOR, (sel & 0xfffc) | ext, true);
		base = c->ldt.base;
		limit = c->ldt.limit;
	}
	if ((uint32_t)(sel & ~7u) + 7 > limit)
		vtx_raise(c, TS_VECTOR, (sel & 0xfffc) | ext, true);
	vtx_read_sys(c, base + (sel & ~7u), &d, 8);
	return d;
}

/*
 * The new SS of a stack switch to privilege level `dpl` (SDM Vol. 2A
 * "CALL" and "INT n" pseudocode): not null, RPL = DPL = the new CPL, a
 * writable data segment (#TS), present (#SS).
 */
void vtx_new_ss(struct vtx_cpu *c, uint16_t sel, unsigned dpl, uint32_t ext,
		struct kvm_segment *ss)
{
	if (x86_sel_is_null(sel))
		vtx_raise(c, TS_VECTOR, ext, true);
	x86_seg_decode_desc(ss, read_desc_ts(c, sel, ext), sel);
	if ((sel & SEL_RPL_MASK) != dpl || ss->dpl != dpl || !ss->s ||
	    (ss->type & SEG_TYPE_CODE) || !(ss->type & SEG_TYPE_WRITABLE))
		vtx_raise(c, TS_VECTOR, (sel & 0xfffc) | ext, true);
	if (!ss->present)
		vtx_raise(c, SS_VECTOR, (sel & 0xfffc) | ext, true);
}

/*
 * The linear address of n bytes at offset off of a stack segment that is
 * not loaded yet, with the limit checks of SDM Vol. 3A 5.3 (expand-down
 * too) raising #SS(selector | ext).
 */
uint64_t vtx_new_stack_la(struct vtx_cpu *c, const struct kvm_segment *ss,
			  uint64_t off, unsigned n, uint32_t ext)
{
	uint64_t top = ss->db ? 0xffffffffull : 0xffffull;
	uint64_t last = off + n - 1;
	bool bad;

	if (ss->type & SEG_TYPE_EXPAND_DOWN)
		bad = off <= ss->limit || last > top;
	else
		bad = last > ss->limit;
	if (bad)
		vtx_raise(c, SS_VECTOR, (ss->selector & 0xfffc) | ext, true);
	return (ss->base + off) & 0xffffffffull;
}

/*
 * After a return to an outer level, DS, ES, FS and GS that the new CPL
 * may not use become null (data or non-conforming code with DPL < CPL:
 * SDM Vol. 2B "RET", Vol. 2A "IRET" RETURN-TO-OUTER-PRIVILEGE-LEVEL).
 */
void vtx_null_inner_segs(struct vtx_cpu *c, unsigned cpl)
{
	static const unsigned segs[] = { SEG_ES, SEG_DS, SEG_FS, SEG_GS };

	for (unsigned k = 0; k < 4; k++) {
		struct kvm_segment *d = &c->seg[segs[k]];
		bool conf_code = (d->type & SEG_TYPE_CODE) &&
				 (d->type & SEG_TYPE_CONFORMING);

		if (d->unusable || conf_code || d->dpl >= cpl)
			continue;
		d->selector = 0;
		d->unusable = 1;
		d->present = 0;
	}
}

/* Marks a code descriptor accessed in its table, as a load does. */
static void mark_accessed(struct vtx_cpu *c, uint16_t sel, uint64_t raw,
			  struct kvm_segment *cs)
{
	uint64_t acc = (uint64_t)SEG_TYPE_ACCESSED << DESC_TYPE_SHIFT;

	if (raw & acc)
		return;
	raw |= acc;
	vtx_write_sys(
		c, ((sel & SEL_TI) ? c->ldt.base : c->gdt.base) + (sel & ~7u),
		&raw, 8);
	cs->type |= SEG_TYPE_ACCESSED;
}

/* CS, SS (when switching), RSP and RIP: the commit of every transfer
 * here, after the last access that can fault. */
static void commit(struct vtx_cpu *c, struct kvm_segment *cs, unsigned cpl,
		   const struct kvm_segment *ss, uint64_t sp, uint64_t target)
{
	cs->selector = (uint16_t)((cs->selector & ~3u) | cpl);
	c->seg[SEG_CS] = *cs;
	if (ss)
		c->seg[SEG_SS] = *ss;
	c->gpr[REG_RSP] = sp;
	c->next_rip = target;
	vtx_update_mode(c);
	c->cpl = (int)cpl;
	/* A new CS base changes what a RIP means to chained blocks. */
	c->fetch_gen++;
	c->async = 1;
}

/* The task switches the model does not perform (SDM Vol. 3A 8.3): a
 * counted #UD with a record naming the way in. */
__attribute__((noreturn)) void vtx_task_switch(struct vtx_cpu *c,
					       const char *how)
{
	/* nestvm lists it as "unimplemented: ... task switch (how)". */
	char what[32];

	snprintf(what, sizeof(what), "task switch (%s)", how);
	vtx_note_unimplemented(c, c->rip, NULL, 0, what);
	raise_ud(c);
}

/* Stores a frame of n slots of `sz` bytes (slot 0 at the lowest address)
 * at linear address la as one write, so that a fault leaves it unwritten. */
static void write_frame(struct vtx_cpu *c, uint64_t la, const uint64_t *slot,
			unsigned n, unsigned sz)
{
	uint8_t buf[8 * 40];

	for (unsigned k = 0; k < n; k++)
		memcpy(buf + k * sz, &slot[k], sz);
	vtx_write_sys(c, la, buf, n * sz);
}

/*
 * Far CALL or JMP whose selector names a system descriptor (SDM Vol. 3A
 * 5.8.4, Vol. 2A "CALL" and "JMP"): a call gate, or a TSS or task gate
 * (a task switch, counted #UD). The gate's size, not the instruction's
 * operand size, decides the offset and the frame's slot size.
 */
void vtx_far_gate(struct vtx_cpu *c, uint16_t sel, bool call)
{
	unsigned cpl = (unsigned)c->cpl, rpl = sel & SEL_RPL_MASK;
	bool ia32e = c->efer & EFER_LMA;
	uint64_t g = vtx_read_desc(c, sel), hi = 0, raw, target, sp;
	unsigned type = (unsigned)(g >> DESC_TYPE_SHIFT) & 0xf;
	unsigned gdpl = (unsigned)((g & DESC_DPL_MASK) >> DESC_DPL_SHIFT), sz,
		 nparam;
	struct kvm_segment cs, ss;
	uint16_t csel = (uint16_t)(g >> 16);

	if (!ia32e &&
	    (type == SEG_TYPE_TASK_GATE || type == SEG_TYPE_TSS16_AVAIL ||
	     type == SEG_TYPE_TSS32_AVAIL))
		vtx_task_switch(c, call ? "far CALL" : "far JMP");
	/* IA-32e mode has only 64-bit call gates, type 12 (SDM 5.8.3.1). */
	if (ia32e ? type != SEG_TYPE_CALL_GATE32
		  : type != SEG_TYPE_CALL_GATE16 &&
			    type != SEG_TYPE_CALL_GATE32)
		raise_gp(c, sel & 0xfffc);
	if (gdpl < cpl || gdpl < rpl)
		raise_gp(c, sel & 0xfffc);
	if (!(g & DESC_P))
		vtx_raise(c, NP_VECTOR, sel & 0xfffc, true);
	if (ia32e) {
		/* The upper half: offset 63:32, and a type field of 0. */
		vtx_read_desc(c, (uint16_t)(sel + 8)); /* the limit check */
		vtx_read_sys(c,
			     ((sel & SEL_TI) ? c->ldt.base : c->gdt.base) +
				     (sel & ~7u) + 8,
			     &hi, 8);
		if ((hi >> DESC_TYPE_SHIFT) & 0x1f)
			raise_gp(c, sel & 0xfffc);
	}
	sz = ia32e ? 8 : type == SEG_TYPE_CALL_GATE32 ? 4 : 2;
	target = (g & 0xffff) | (sz > 2 ? (g >> 32) & 0xffff0000u : 0) |
		 (hi << 32);
	nparam = ia32e ? 0 : (unsigned)(g >> 32) & 0x1f;

	/* The code segment the gate names. */
	if (x86_sel_is_null(csel))
		raise_gp(c, 0);
	raw = vtx_read_desc(c, csel);
	x86_seg_decode_desc(&cs, raw, csel);
	if (!cs.s || !(cs.type & SEG_TYPE_CODE) || cs.dpl > cpl ||
	    (!call && !(cs.type & SEG_TYPE_CONFORMING) && cs.dpl != cpl))
		raise_gp(c, csel & 0xfffc);
	if (!cs.present)
		vtx_raise(c, NP_VECTOR, csel & 0xfffc, true);
	if (ia32e ? !cs.l || cs.db : cs.l && cs.db)
		raise_gp(c, csel & 0xfffc);
	if (ia32e) {
		if (!x86_is_canonical(target, false))
			raise_gp(c, 0);
	} else if (target > cs.limit) {
		raise_gp(c, 0);
	}
	unsigned new_cpl = (cs.type & SEG_TYPE_CONFORMING) ? cpl : cs.dpl;

	if (!call) {
		mark_accessed(c, csel, raw, &cs);
		commit(c, &cs, cpl, NULL, c->gpr[REG_RSP], target);
		return;
	}
	if (new_cpl == cpl) {
		/* Same level: CS and the return offset at the gate's size. */
		uint64_t f[2] = { c->next_rip, c->seg[SEG_CS].selector };

		sp = vtx_sp_plus(c, -2 * (int64_t)sz);
		write_frame(c, vtx_stack_la(c, sp, 2 * sz), f, 2, sz);
		mark_accessed(c, csel, raw, &cs);
		commit(c, &cs, cpl, NULL, sp, target);
		return;
	}

	/* More privileged: the stack of level new_cpl from the TSS. */
	uint64_t f[4 + 32];
	unsigned n = 0;

	if (ia32e) {
		uint64_t rsp;
		uint32_t off = 4 + 8 * new_cpl;

		if (off + 7 > c->tr.limit)
			vtx_raise(c, TS_VECTOR, c->tr.selector & 0xfffc, true);
		vtx_read_sys(c, c->tr.base + off, &rsp, 8);
		if (!x86_is_canonical(rsp, false))
			vtx_raise(c, SS_VECTOR, 0, true);
		/* SS becomes null with RPL = the new CPL (SDM 5.8.6). */
		memset(&ss, 0, sizeof(ss));
		ss.selector = (uint16_t)new_cpl;
		ss.unusable = 1;
		ss.dpl = (uint8_t)new_cpl;
		f[n++] = c->next_rip;
		f[n++] = c->seg[SEG_CS].selector;
		f[n++] = c->gpr[REG_RSP];
		f[n++] = c->seg[SEG_SS].selector;
		sp = rsp - n * 8;
		if (!x86_is_canonical(sp, false))
			vtx_raise(c, SS_VECTOR, 0, true);
		write_frame(c, sp, f, n, 8);
	} else {
		uint16_t ss_sel;
		uint32_t esp;

		vtx_tss_stack(c, new_cpl, 0, &ss_sel, &esp);
		vtx_new_ss(c, ss_sel, new_cpl, 0, &ss);
		/* Lowest address first: EIP, CS, the parameters copied from
		 * the caller's stack in order, ESP, SS (Figure 5-13). */
		f[n++] = c->next_rip;
		f[n++] = c->seg[SEG_CS].selector;
		for (unsigned k = 0; k < nparam; k++)
			f[n++] = mem_load(
				c, vtx_stack_la(c, vtx_sp_plus(c, k * sz), sz),
				sz);
		f[n++] = c->gpr[REG_RSP] &
			 (c->seg[SEG_SS].db ? 0xffffffffu : 0xffffu);
		f[n++] = c->seg[SEG_SS].selector;
		if (!ss.db)
			esp &= 0xffff;
		sp = (esp - n * sz) & (ss.db ? 0xffffffffu : 0xffffu);
		write_frame(c, vtx_new_stack_la(c, &ss, sp, n * sz, 0), f, n,
			    sz);
		if (!ss.db)
			sp |= c->gpr[REG_RSP] & ~0xffffull;
	}
	mark_accessed(c, csel, raw, &cs);
	commit(c, &cs, new_cpl, &ss, sp, target);
}

/*
 * Far RET to an outer privilege level (SDM Vol. 2B "RET",
 * RETURN-TO-OUTER-PRIVILEGE-LEVEL): off and sel were popped from the
 * stack, cs is the checked code segment (RPL > CPL); then imm bytes are
 * released, ESP and SS come from the stack, the new SS must match the
 * return CPL, imm bytes are released on the outer stack too, and the data
 * segments the outer level may not use become null.
 */
void vtx_ret_far_outer(struct vtx_cpu *c, const struct vtx_insn *i,
		       struct kvm_segment *cs, uint64_t raw, uint64_t target)
{
	unsigned osz = i->osz, rpl = cs->selector & SEL_RPL_MASK;
	uint64_t at = 2 * osz + i->imm;
	uint64_t new_sp = mem_load(
		c, vtx_stack_la(c, vtx_sp_plus(c, (int64_t)at), osz), osz);
	uint16_t ss_sel = (uint16_t)mem_load(
		c, vtx_stack_la(c, vtx_sp_plus(c, (int64_t)(at + osz)), osz),
		osz);
	struct kvm_segment ss;

	if (c->mode == VTX_MODE_LONG64 && x86_sel_is_null(ss_sel) && cs->l &&
	    rpl != 3) {
		/* Returning to 64-bit code below ring 3: a null SS is
		 * allowed (SDM Vol. 2B "RET", IA-32e mode). */
		memset(&ss, 0, sizeof(ss));
		ss.selector = ss_sel;
		ss.unusable = 1;
		ss.dpl = (uint8_t)rpl;
	} else {
		if (x86_sel_is_null(ss_sel))
			raise_gp(c, 0);
		x86_seg_decode_desc(&ss, vtx_read_desc(c, ss_sel), ss_sel);
		if ((ss_sel & SEL_RPL_MASK) != rpl || ss.dpl != rpl || !ss.s ||
		    (ss.type & SEG_TYPE_CODE) || !(ss.type & SEG_TYPE_WRITABLE))
			raise_gp(c, ss_sel & 0xfffc);
		if (!ss.present)
			vtx_raise(c, SS_VECTOR, ss_sel & 0xfffc, true);
	}
	if (cs->l && (c->efer & EFER_LMA)) {
		new_sp += i->imm;
	} else {
		new_sp = (new_sp + i->imm) & (ss.db ? 0xffffffffu : 0xffffu);
		if (!ss.db)
			new_sp |= c->gpr[REG_RSP] & ~0xffffull;
	}
	mark_accessed(c, cs->selector, raw, cs);
	commit(c, cs, rpl, &ss, new_sp, target);
	vtx_null_inner_segs(c, rpl);
}

/*
 * IRET to an outer privilege level in protected mode (SDM Vol. 2A "IRET",
 * RETURN-TO-OUTER-PRIVILEGE-LEVEL): the frame's ESP and SS follow EIP,
 * CS and EFLAGS; fl is EFLAGS as the caller has merged it.
 */
void vtx_iret_outer(struct vtx_cpu *c, struct kvm_segment *cs, uint64_t target,
		    uint64_t fl, uint32_t esp, uint16_t ss_sel)
{
	unsigned rpl = cs->selector & SEL_RPL_MASK;
	struct kvm_segment ss;

	if (x86_sel_is_null(ss_sel))
		raise_gp(c, 0);
	x86_seg_decode_desc(&ss, vtx_read_desc(c, ss_sel), ss_sel);
	if ((ss_sel & SEL_RPL_MASK) != rpl || ss.dpl != rpl || !ss.s ||
	    (ss.type & SEG_TYPE_CODE) || !(ss.type & SEG_TYPE_WRITABLE))
		raise_gp(c, ss_sel & 0xfffc);
	if (!ss.present)
		vtx_raise(c, SS_VECTOR, ss_sel & 0xfffc, true);
	c->rflags = fl;
	commit(c, cs, rpl, &ss,
	       ss.db ? esp : ((c->gpr[REG_RSP] & ~0xffffull) | (esp & 0xffff)),
	       target);
	vtx_null_inner_segs(c, rpl);
}
