/* SPDX-License-Identifier: MIT */
/*
 * exec_real.c - real-address mode (CR0.PE = 0): segment loads, far JMP,
 * CALL and RET, IRET, and event delivery through the interrupt vector
 * table (SDM Vol. 3A 20.1, Vol. 1 3.3.5; Vol. 2 "INT n", "IRET", "JMP",
 * "CALL", "RET" real-address-mode paths). Model side. Decoding and the
 * 16-bit operand and address sizes are shared with the other modes.
 */
#include "arch/x86_seg.h"
#include "vtx/exec.h"

/*
 * A segment load in real-address mode sets the selector and base =
 * selector << 4 and leaves the rest of the descriptor cache as it was
 * (SDM Vol. 3A 20.1.1 and 9.9.2): a limit loaded in protected mode stays
 * in force after the switch back, which is what "unreal" code relies on.
 * The register becomes usable and present whatever it held before.
 */
void vtx_load_seg_real(struct vtx_cpu *c, unsigned seg, uint16_t sel)
{
	struct kvm_segment *s = &c->seg[seg];

	s->selector = sel;
	s->base = (uint64_t)sel << 4;
	s->present = 1;
	s->unusable = 0;
	s->s = 1;
	if (seg == SEG_CS) {
		/* CS's base changed: what a RIP means to chained blocks
		 * changed with it (vtx/run.c). */
		c->fetch_gen++;
		c->async = 1;
	}
}

/* The real-mode target offset: truncated to the operand size, and within
 * CS's (cached) limit or #GP(0) (SDM Vol. 2A "JMP" real-address mode). */
static uint64_t real_target(struct vtx_cpu *c, uint64_t off, unsigned osz)
{
	off &= osz == 2 ? 0xffffu : 0xffffffffu;
	if (off > c->seg[SEG_CS].limit)
		raise_gp(c, 0);
	return off;
}

/* Far JMP/CALL: CALL pushes CS then the return offset, each of the
 * operand size, in one store so a fault leaves the stack as it was. */
void vtx_real_far(struct vtx_cpu *c, uint16_t sel, uint64_t off, unsigned osz,
		  bool call)
{
	uint64_t target = real_target(c, off, osz);

	if (call) {
		uint8_t frame[8] = { 0 };
		uint64_t cs_sel = c->seg[SEG_CS].selector;
		uint64_t sp = vtx_sp_plus(c, -2 * (int64_t)osz);

		memcpy(frame, &c->next_rip, osz);
		memcpy(frame + osz, &cs_sel, osz);
		vtx_write_slow(c, vtx_stack_la(c, sp, 2 * osz), frame, 2 * osz);
		c->gpr[REG_RSP] = sp;
	}
	vtx_load_seg_real(c, SEG_CS, sel);
	c->next_rip = target;
}

/* RET far [imm16]: the offset, then CS, then imm bytes released. */
void vtx_real_ret_far(struct vtx_cpu *c, const struct vtx_insn *i)
{
	uint64_t off = vtx_stack_peek(c, 0, i->osz);
	uint16_t sel = (uint16_t)vtx_stack_peek(c, i->osz, i->osz);
	uint64_t target = real_target(c, off, i->osz);

	c->gpr[REG_RSP] = vtx_sp_plus(c, (int64_t)(2 * i->osz + i->imm));
	vtx_load_seg_real(c, SEG_CS, sel);
	c->next_rip = target;
}

/*
 * IRET in real-address mode (SDM Vol. 2A "IRET", REAL-ADDRESS-MODE): pops
 * IP, CS and FLAGS (EIP, CS and EFLAGS with a 32-bit operand size, which
 * keeps VM, VIF and VIP: EFLAGS = popped AND 257FD5H OR current AND
 * 1A0000H). Reserved bits keep their fixed values.
 */
void vtx_real_iret(struct vtx_cpu *c, const struct vtx_insn *i)
{
	unsigned sz = i->osz;
	uint64_t ip = vtx_stack_peek(c, 0, sz);
	uint16_t sel = (uint16_t)vtx_stack_peek(c, sz, sz);
	uint64_t fl = vtx_stack_peek(c, 2 * sz, sz);
	uint64_t target = real_target(c, ip, sz);

	if (sz == 4)
		fl = (fl & 0x257fd5u) | (c->rflags & 0x1a0000u);
	else
		fl = (c->rflags & ~0xffffull) | (fl & 0xffff);
	c->rflags = (fl & X86_EFLAGS_LIVE_MASK) | X86_EFLAGS_FIXED;
	c->gpr[REG_RSP] = vtx_sp_plus(c, 3 * (int64_t)sz);
	vtx_load_seg_real(c, SEG_CS, sel);
	c->next_rip = target;
	/* IF may have changed: let the run loop look at pending events. */
	c->async = 1;
}

/*
 * Event delivery in real-address mode (SDM Vol. 3A 20.1.4, Vol. 2A "INT
 * n"): the 4-byte vector (offset, segment) at IDTR.base + 4 * vector,
 * #GP if it lies beyond IDTR.limit; FLAGS, CS and IP pushed as words on
 * the current stack (#SS if it has no room); IF, TF, AC and RF cleared.
 * No error code is ever pushed. A fault here goes through the same
 * double- and triple-fault rules as in the other modes.
 */
void vtx_deliver_real(struct vtx_cpu *c, int vector, uint64_t return_rip)
{
	uint64_t at = (uint64_t)vector * 4, sp;
	uint32_t ent;
	uint16_t frame[3];

	if (at + 3 > c->idt.limit)
		raise_gp(c, 0);
	vtx_read_sys(c, (uint32_t)(c->idt.base + at), &ent, 4);
	frame[0] = (uint16_t)return_rip;
	frame[1] = c->seg[SEG_CS].selector;
	frame[2] = (uint16_t)c->rflags;
	sp = vtx_sp_plus(c, -6);
	vtx_write_sys(c, vtx_stack_la(c, sp, 6), frame, 6);

	/* Nothing can fault from here on: commit. */
	c->gpr[REG_RSP] = sp;
	c->rflags &= ~(uint64_t)(X86_EFLAGS_IF | X86_EFLAGS_TF | X86_EFLAGS_AC |
				 X86_EFLAGS_RF);
	vtx_load_seg_real(c, SEG_CS, (uint16_t)(ent >> 16));
	c->rip = ent & 0xffff;
	c->next_rip = c->rip;
	if (vector < 32)
		c->stats.exceptions[vector]++;
	c->stats.events++;
	cost_charge(c, c->cost.event);
}
