/* SPDX-License-Identifier: MIT */
/*
 * exec_legacy.c - the instructions of 16- and 32-bit code that 64-bit
 * code does not use: PUSH/POP of segment registers, PUSHA/POPA, ENTER,
 * LMSW, CLTS, SMSW, INS/OUTS with their REP forms and VMX I/O exits, the
 * BCD adjustments (AAA, AAS, DAA, DAS, AAM, AAD), BOUND, LDS/LES/LSS/
 * LFS/LGS, XLAT and INTO (SDM Vol. 2 instruction pages; Vol. 1 19.5;
 * Vol. 3C 26.1.3 and 28.2.1 for the exits). Model side.
 */
#include <asm/vmx.h>

#include "arch/vmx_exit_qual.h"
#include "vtx/exec.h"
#include "vtx/vmx.h"

#define NONROOT(c) unlikely((c)->vmx.non_root)

static inline void need_cpl0(struct vtx_cpu *c)
{
	if (c->cpl != 0)
		raise_gp(c, 0);
}

/* The linear address of an n-byte access at off in seg: checked against
 * the segment outside 64-bit mode (SDM Vol. 3A 5.3). */
static uint64_t legacy_la(struct vtx_cpu *c, unsigned seg, uint64_t off,
			  unsigned n)
{
	if (c->mode == VTX_MODE_LONG64)
		return seg_linear(c, seg, off);
	return vtx_seg_check(c, seg, off, n);
}

/* ---- segment registers on the stack --------------------------------------- */

/* PUSH ES/CS/SS/DS/FS/GS: the stack pointer moves by the operand size and
 * the selector is written as a word, leaving the rest of a wider slot as
 * it was, which is what current processors do (SDM Vol. 2B "PUSH"). */
void x_push_sreg(struct vtx_cpu *c, const struct vtx_insn *i)
{
	uint64_t sp = vtx_sp_plus(c, -(int64_t)i->osz);

	mem_store(c, vtx_stack_la(c, sp, i->osz), 2, c->seg[i->cc].selector);
	c->gpr[REG_RSP] = sp;
}

/* POP DS/ES/SS/FS/GS: the segment load first (it may fault with the stack
 * untouched); POP SS blocks interrupts for one instruction as MOV SS does
 * (SDM Vol. 3A 6.8.3). */
void x_pop_sreg(struct vtx_cpu *c, const struct vtx_insn *i)
{
	uint16_t sel = (uint16_t)vtx_stack_peek(c, 0, i->osz);

	vtx_load_seg(c, i->cc, sel);
	c->gpr[REG_RSP] = vtx_sp_plus(c, i->osz);
	if (i->cc == SEG_SS) {
		c->sti_shadow = true;
		c->mov_ss_shadow = true;
	}
	c->async = 1;
}

/* ---- PUSHA / POPA / ENTER (SDM Vol. 2B "PUSHA", "POPA"; Vol. 2A "ENTER") --- */

/* Pushes AX, CX, DX, BX, the original SP, BP, SI, DI (or their 32-bit
 * forms) as one store: a fault leaves the stack and SP as they were. */
void x_pusha(struct vtx_cpu *c, const struct vtx_insn *i)
{
	unsigned sz = i->osz;
	uint8_t buf[32];
	uint64_t sp = vtx_sp_plus(c, -8 * (int64_t)sz);

	for (unsigned k = 0; k < 8; k++) {
		uint64_t v = c->gpr[REG_RDI - k]; /* DI at the lowest address */
		memcpy(buf + k * sz, &v, sz);
	}
	vtx_write_slow(c, vtx_stack_la(c, sp, 8 * sz), buf, 8 * sz);
	c->gpr[REG_RSP] = sp;
}

/* Pops DI, SI, BP, (skips SP), BX, DX, CX, AX. */
void x_popa(struct vtx_cpu *c, const struct vtx_insn *i)
{
	unsigned sz = i->osz;
	uint8_t buf[32];

	vtx_read_slow(c, vtx_stack_la(c, c->gpr[REG_RSP], 8 * sz), buf, 8 * sz);
	for (unsigned k = 0; k < 8; k++) {
		uint64_t v = 0;
		if (REG_RDI - k == REG_RSP)
			continue;
		memcpy(&v, buf + k * sz, sz);
		reg_write(c, REG_RDI - k, sz, v);
	}
	c->gpr[REG_RSP] = vtx_sp_plus(c, 8 * (int64_t)sz);
}

/*
 * ENTER imm16, imm8 (i->imm = the frame size, i->cc = the nesting level
 * MOD 32): push rBP, copy level - 1 frame pointers from the enclosing
 * frame (each read at rBP less one operand size, rBP moving at the
 * stack's width), push the new frame pointer, then rBP = that frame
 * pointer and rSP lowered by the frame size. Every read is done before
 * the one store of the whole frame, so a fault leaves all state as it
 * was.
 */
void x_enter(struct vtx_cpu *c, const struct vtx_insn *i)
{
	unsigned sz = i->osz, level = i->cc, n = 0;
	uint64_t swidth = c->mode == VTX_MODE_LONG64 ? ~0ull
			  : c->seg[SEG_SS].db	     ? 0xffffffffull
						     : 0xffffull;
	uint64_t vals[33], bp = c->gpr[REG_RBP];
	uint64_t frame_temp = vtx_sp_plus(c, -(int64_t)sz);
	uint8_t buf[33 * 8];
	uint64_t sp;

	vals[n++] = bp;
	for (unsigned k = 1; k < level; k++) {
		bp = (bp & ~swidth) | ((bp - sz) & swidth);
		vals[n++] = mem_load(c, vtx_stack_la(c, bp & swidth, sz), sz);
	}
	if (level)
		vals[n++] = frame_temp;
	sp = vtx_sp_plus(c, -(int64_t)(n * sz));
	/* The last value pushed is at the lowest address. */
	for (unsigned k = 0; k < n; k++)
		memcpy(buf + k * sz, &vals[n - 1 - k], sz);
	vtx_write_slow(c, vtx_stack_la(c, sp, n * sz), buf, n * sz);
	c->gpr[REG_RSP] = sp;
	if (c->mode == VTX_MODE_LONG64 && sz == 8)
		c->gpr[REG_RBP] = frame_temp;
	else
		reg_write(c, REG_RBP, sz, frame_temp);
	c->gpr[REG_RSP] = vtx_sp_plus(c, -(int64_t)i->imm);
}

/* ---- CR0's low word: LMSW, CLTS, SMSW ---------------------------------------- */

/* CR0 as the guest reads it: host-owned bits come from the read shadow
 * in VMX non-root operation (SDM Vol. 3C 26.3). */
static uint64_t cr0_read(const struct vtx_cpu *c)
{
	if (c->vmx.non_root)
		return (c->cr0 & ~c->vmx.cr0_mask) |
		       (c->vmx.cr0_shadow & c->vmx.cr0_mask);
	return c->cr0;
}

/*
 * LMSW (SDM Vol. 2A "LMSW"): loads CR0 bits 3:0 (PE, MP, EM, TS) from the
 * source word; it can set PE but never clear it. In VMX non-root
 * operation it exits when it would change a host-owned bit against the
 * read shadow: PE owned, shadowed 0 and set by the source, or any of bits
 * 3:1 owned and different in the source (SDM Vol. 3C 26.1.3); the exit
 * qualification has access type 3, the operand type and the source
 * (Table 28-3), and a memory operand's linear address is saved. Without
 * an exit, host-owned bits keep their values.
 */
void x_lmsw(struct vtx_cpu *c, const struct vtx_insn *i)
{
	bool mem = i->flags & VTX_INSN_HAS_MEM;
	uint64_t la = 0, v;
	uint16_t src;

	need_cpl0(c);
	if (mem) {
		la = insn_la(c, i);
		src = (uint16_t)mem_load(c, la, 2);
	} else {
		src = (uint16_t)c->gpr[i->r1];
	}
	if (NONROOT(c)) {
		uint64_t mask = c->vmx.cr0_mask & 0xf;
		uint64_t shadow = c->vmx.cr0_shadow;

		if (((mask & X86_CR0_PE) && !(shadow & X86_CR0_PE) &&
		     (src & X86_CR0_PE)) ||
		    ((mask & 0xe) & (src ^ shadow))) {
			struct vtx_exit_info e = {
				.reason = EXIT_REASON_CR_ACCESS,
				.qual = vmx_build_lmsw_qual(src, mem),
				.has_len = true,
				.len = i->len,
				.has_gla = mem,
				.gla = la,
			};
			vtx_vmx_exit(c, &e);
		}
	}
	v = (c->cr0 & ~0xeull) | (src & 0xf);
	if (NONROOT(c))
		v = (v & ~(c->vmx.cr0_mask & 0xf)) |
		    (c->cr0 & c->vmx.cr0_mask & 0xf);
	vtx_write_cr0(c, v);
	c->async = 1;
}

/* CLTS clears CR0.TS. In non-root operation it exits when TS is host
 * owned and set in the read shadow, and leaves a host-owned TS alone
 * otherwise (SDM Vol. 3C 26.1.3; access type 2, Table 28-3). */
void x_clts(struct vtx_cpu *c, const struct vtx_insn *i)
{
	need_cpl0(c);
	if (NONROOT(c) && (c->vmx.cr0_mask & X86_CR0_TS)) {
		if (c->vmx.cr0_shadow & X86_CR0_TS)
			vtx_vmx_exit_insn(
				c, i, EXIT_REASON_CR_ACCESS,
				(uint64_t)CR_ACCESS_TYPE_CLTS
					<< CONTROL_REG_ACCESS_TYPE_SHIFT,
				0);
		return;
	}
	c->cr0 &= ~(uint64_t)X86_CR0_TS;
}

/* SMSW: a word to memory, or the register of the operand size; not
 * privileged (no UMIP) and never an exit (SDM Vol. 2B "SMSW"). */
void x_smsw(struct vtx_cpu *c, const struct vtx_insn *i)
{
	uint64_t v = cr0_read(c);

	if (i->flags & VTX_INSN_HAS_MEM)
		mem_store(c, insn_la(c, i), 2, v & 0xffff);
	else
		reg_write(c, i->r1, i->osz, v);
}

/* ---- INS / OUTS (SDM Vol. 2A "INS", Vol. 2B "OUTS") --------------------------- */

/*
 * The I/O exit of a string instruction (SDM Vol. 3C 26.1.3): the
 * qualification says string, REP and the DX operand encoding (Table
 * 28-5); the instruction-information field gives the address size and,
 * for OUTS, the segment (Table 28-8; IA32_VMX_BASIC[54] offers it); the
 * guest-linear address is that of the first memory access.
 */
static void io_string_intercept(struct vtx_cpu *c, const struct vtx_insn *i,
				uint16_t port, bool in, uint64_t la)
{
	unsigned asz = i->asz == 8   ? VMX_INSN_INFO_ADDR_SIZE_64
		       : i->asz == 4 ? VMX_INSN_INFO_ADDR_SIZE_32
				     : VMX_INSN_INFO_ADDR_SIZE_16;

	if (!vtx_vmx_io_exits(c, port, i->osz))
		return;
	struct vtx_exit_info e = {
		.reason = EXIT_REASON_IO_INSTRUCTION,
		.qual = vmx_build_io_qual(port, i->osz,
					  (in ? IO_QUAL_IN : 0) |
						  IO_QUAL_STRING |
						  (i->rep ? IO_QUAL_REP : 0)),
		.insn_info = (asz << VMX_INSN_INFO_ADDR_SIZE_SHIFT) |
			     ((uint32_t)i->seg << VMX_INSN_INFO_SEG_SHIFT),
		.has_len = true,
		.len = i->len,
		.has_gla = true,
		.gla = la,
	};
	vtx_vmx_exit(c, &e);
}

static inline uint64_t str_off(const struct vtx_cpu *c, unsigned r,
			       unsigned asz)
{
	return c->gpr[r] & size_mask(asz);
}

/* One iteration done: moves the index, counts down a REP, and says
 * whether to go on. A device that asked to stop leaves the rest of a REP
 * for later: RIP stays at the instruction, which resumes from the
 * registers as they are (SDM Vol. 2B "REP": interrupted repeats). */
static bool str_next(struct vtx_cpu *c, const struct vtx_insn *i, unsigned r)
{
	int64_t step = (c->rflags & X86_EFLAGS_DF) ? -(int64_t)i->osz
						   : (int64_t)i->osz;

	reg_write(c, r, i->asz, c->gpr[r] + (uint64_t)step);
	if (!i->rep)
		return false;
	reg_write(c, REG_RCX, i->asz, c->gpr[REG_RCX] - 1);
	if (!str_off(c, REG_RCX, i->asz))
		return false;
	if (c->stop_requested) {
		c->next_rip = c->rip;
		return false;
	}
	return !vtx_rep_mtf_break(c);
}

/* INS: the I/O permission (#GP), then the VM exit, then per element the
 * write translation of ES:rDI before the port is read, so that a fault
 * does not lose the data of a read with side effects. */
void x_ins(struct vtx_cpu *c, const struct vtx_insn *i)
{
	uint16_t port = (uint16_t)c->gpr[REG_RDX];
	unsigned sz = i->osz;

	if (i->rep && !str_off(c, REG_RCX, i->asz))
		return;
	vtx_io_permission(c, port, sz);
	if (NONROOT(c))
		io_string_intercept(
			c, i, port, true,
			seg_linear(c, SEG_ES, str_off(c, REG_RDI, i->asz)));
	do {
		uint64_t la =
			legacy_la(c, SEG_ES, str_off(c, REG_RDI, i->asz), sz);
		if (!mem_rmw_ptr(c, la, sz)) {
			vtx_translate_slow(c, la, ACC_WRITE);
			vtx_translate_slow(c, la + sz - 1, ACC_WRITE);
		}
		mem_store(c, la, sz, vtx_pio_in(c, port, sz));
	} while (str_next(c, i, REG_RDI));
}

void x_outs(struct vtx_cpu *c, const struct vtx_insn *i)
{
	uint16_t port = (uint16_t)c->gpr[REG_RDX];
	unsigned sz = i->osz;

	if (i->rep && !str_off(c, REG_RCX, i->asz))
		return;
	vtx_io_permission(c, port, sz);
	if (NONROOT(c))
		io_string_intercept(
			c, i, port, false,
			seg_linear(c, i->seg, str_off(c, REG_RSI, i->asz)));
	do {
		uint64_t la =
			legacy_la(c, i->seg, str_off(c, REG_RSI, i->asz), sz);
		vtx_pio_out(c, port, sz, (uint32_t)mem_load(c, la, sz));
	} while (str_next(c, i, REG_RSI));
}

/* ---- BCD adjustments (not in 64-bit mode: Zydis decodes them as #UD) ------ */

/*
 * The SDM leaves some flags of these instructions undefined: the model
 * sets SF, ZF and PF from AL and clears OF wherever they are undefined,
 * and clears AF and CF after AAM and AAD. Tests mask the undefined ones.
 */
static void bcd_commit(struct vtx_cpu *c, uint16_t ax, uint64_t f)
{
	reg_write(c, REG_RAX, 2, ax);
	flags_set_arith(c, f | flags_szp(ax & 0xff, 1));
}

/* AAA: AX += 106H and AF = CF = 1 when AL's low nibble > 9 or AF;
 * AL keeps its low nibble (SDM Vol. 2A "AAA"). */
void x_aaa(struct vtx_cpu *c, const struct vtx_insn *i)
{
	uint16_t ax = (uint16_t)c->gpr[REG_RAX];
	uint64_t f = 0;

	(void)i;
	if ((ax & 0xf) > 9 || (c->rflags & X86_EFLAGS_AF)) {
		ax = (uint16_t)(ax + 0x106);
		f = X86_EFLAGS_AF | X86_EFLAGS_CF;
	}
	bcd_commit(c, ax & 0xff0f, f);
}

/* AAS: AX -= 6, AH -= 1 and AF = CF = 1 under the same condition. */
void x_aas(struct vtx_cpu *c, const struct vtx_insn *i)
{
	uint16_t ax = (uint16_t)c->gpr[REG_RAX];
	uint64_t f = 0;

	(void)i;
	if ((ax & 0xf) > 9 || (c->rflags & X86_EFLAGS_AF)) {
		ax = (uint16_t)(ax - 6 - 0x100);
		f = X86_EFLAGS_AF | X86_EFLAGS_CF;
	}
	bcd_commit(c, ax & 0xff0f, f);
}

/* DAA/DAS (SDM Vol. 2A "DAA", "DAS"): adjust the low digit (AF), then the
 * high one against the original AL and CF. */
static void decimal_adjust(struct vtx_cpu *c, bool sub)
{
	uint16_t ax = (uint16_t)c->gpr[REG_RAX];
	unsigned al = ax & 0xff, old_al = al;
	bool old_cf = c->rflags & X86_EFLAGS_CF, cf = false;
	uint64_t f = 0;

	if ((al & 0xf) > 9 || (c->rflags & X86_EFLAGS_AF)) {
		cf = old_cf || (sub ? al < 6 : al + 6 > 0xff);
		al = (sub ? al - 6 : al + 6) & 0xff;
		f |= X86_EFLAGS_AF;
	}
	if (old_al > 0x99 || old_cf) {
		al = (sub ? al - 0x60 : al + 0x60) & 0xff;
		cf = true;
	} else if (!sub) {
		cf = false;
	}
	if (cf)
		f |= X86_EFLAGS_CF;
	bcd_commit(c, (uint16_t)((ax & 0xff00) | al), f);
}

void x_daa(struct vtx_cpu *c, const struct vtx_insn *i)
{
	(void)i;
	decimal_adjust(c, false);
}

void x_das(struct vtx_cpu *c, const struct vtx_insn *i)
{
	(void)i;
	decimal_adjust(c, true);
}

/* AAM imm8: AH = AL / imm8, AL = AL MOD imm8; #DE for imm8 = 0. */
void x_aam(struct vtx_cpu *c, const struct vtx_insn *i)
{
	unsigned base = (unsigned)i->imm, al = c->gpr[REG_RAX] & 0xff;

	if (!base)
		vtx_raise(c, DE_VECTOR, 0, false);
	bcd_commit(c, (uint16_t)(((al / base) << 8) | (al % base)), 0);
}

/* AAD imm8: AL = (AL + AH * imm8) AND FFH, AH = 0. */
void x_aad(struct vtx_cpu *c, const struct vtx_insn *i)
{
	unsigned ax = (unsigned)c->gpr[REG_RAX] & 0xffff;

	bcd_commit(
		c,
		(uint16_t)(((ax & 0xff) + (ax >> 8) * (unsigned)i->imm) & 0xff),
		0);
}

/* ---- BOUND, LDS/LES/LSS/LFS/LGS, XLAT, INTO ----------------------------------- */

/* BOUND r, m: #BR (a fault) unless lower <= r <= upper, signed, with the
 * bounds at m and m + the operand size (SDM Vol. 2A "BOUND"). */
void x_bound(struct vtx_cpu *c, const struct vtx_insn *i)
{
	unsigned sz = i->osz;
	uint64_t la = legacy_la(c, i->seg, insn_ea(c, i), 2 * sz);
	int64_t lo = sext(mem_load(c, la, sz), sz);
	int64_t hi = sext(mem_load(c, la + sz, sz), sz);
	int64_t idx = sext(reg_read(c, i->r1, sz), sz);

	if (idx < lo || idx > hi)
		vtx_raise(c, BR_VECTOR, 0, false);
}

/* LDS/LES/LSS/LFS/LGS r, m16:16/32/64 (i->cc = the segment register):
 * the offset, then the selector after it; the segment load comes first,
 * so a fault leaves the register as it was (SDM Vol. 2A "LDS"). */
void x_lxs(struct vtx_cpu *c, const struct vtx_insn *i)
{
	unsigned sz = i->osz;
	uint64_t ea = insn_ea(c, i), la;
	uint64_t off;
	uint16_t sel;

	if (c->mode == VTX_MODE_LONG64)
		la = insn_la(c, i);
	else
		la = vtx_seg_check(c, i->seg, ea, sz + 2);
	off = mem_load(c, la, sz);
	sel = (uint16_t)mem_load(c, la + sz, 2);
	vtx_load_seg(c, i->cc, sel);
	reg_write(c, i->r1, sz, off);
}

/* XLAT: AL = [seg: rBX + AL], the sum at the address size. */
void x_xlat(struct vtx_cpu *c, const struct vtx_insn *i)
{
	uint64_t off = (c->gpr[REG_RBX] + (c->gpr[REG_RAX] & 0xff)) &
		       size_mask(i->asz);

	reg_write(c, REG_RAX, 1, mem_load(c, legacy_la(c, i->seg, off, 1), 1));
}

/* INTO: #OF as a software exception (a trap past the instruction) when
 * OF is set; the exception bitmap applies in non-root operation. */
void x_into(struct vtx_cpu *c, const struct vtx_insn *i)
{
	if (!(c->rflags & X86_EFLAGS_OF))
		return;
	if (c->vmx.non_root)
		vtx_vmx_exception(c, OF_VECTOR, 0, false, true, i->len);
	c->delivering = OF_VECTOR;
	c->delivering_has_error = false;
	c->delivering_type = INTR_TYPE_SOFT_EXCEPTION;
	c->delivering_len = i->len;
	vtx_deliver_event(c, OF_VECTOR, 0, false, true, c->next_rip);
	c->delivering = -1;
	c->async = 1;
}
