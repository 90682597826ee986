/* SPDX-License-Identifier: MIT */
/*
 * decode.c - decoding guest code once, with Zydis, into blocks of
 * pre-decoded instructions bound to their handlers; the block cache keyed
 * by physical address and fetch mode (64-bit; compatibility, protected
 * and real-address mode with 32- or 16-bit code, each with its Zydis
 * decoder); invalidation when code is
 * written; the record of instructions the model does not implement.
 * Model side. Decoding never runs on the hot path: a block is decoded on
 * its first execution and reused until its page is written.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <Zydis/Zydis.h>

#include "vtx/exec.h"

#define BC_BITS 12
#define BC_SIZE (1u << BC_BITS)
#define BLOCK_POOL 16384
#define INSN_POOL (BLOCK_POOL * 8)

struct vtx_bcache {
	ZydisDecoder dec64;
	ZydisDecoder dec32; /* protected mode, CS.D = 1 */
	ZydisDecoder compat32; /* compatibility mode, CS.D = 1 */
	ZydisDecoder dec16; /* real mode, protected mode with CS.D = 0 */
	ZydisDecoder compat16; /* compatibility mode, CS.D = 0 */
	struct vtx_block *table[BC_SIZE];
	size_t nblocks, ninsns;
	struct vtx_block blocks[BLOCK_POOL];
	struct vtx_insn insns[INSN_POOL];
};

int vtx_bcache_create(struct vtx_cpu *c)
{
	struct vtx_bcache *bc = calloc(1, sizeof(*bc));
	if (!bc)
		return -ENOMEM;
	if (ZYAN_FAILED(ZydisDecoderInit(&bc->dec64, ZYDIS_MACHINE_MODE_LONG_64,
					 ZYDIS_STACK_WIDTH_64)) ||
	    ZYAN_FAILED(ZydisDecoderInit(&bc->dec32,
					 ZYDIS_MACHINE_MODE_LEGACY_32,
					 ZYDIS_STACK_WIDTH_32)) ||
	    ZYAN_FAILED(ZydisDecoderInit(&bc->compat32,
					 ZYDIS_MACHINE_MODE_LONG_COMPAT_32,
					 ZYDIS_STACK_WIDTH_32)) ||
	    ZYAN_FAILED(ZydisDecoderInit(&bc->dec16,
					 ZYDIS_MACHINE_MODE_LEGACY_16,
					 ZYDIS_STACK_WIDTH_16)) ||
	    ZYAN_FAILED(ZydisDecoderInit(&bc->compat16,
					 ZYDIS_MACHINE_MODE_LONG_COMPAT_16,
					 ZYDIS_STACK_WIDTH_16))) {
		free(bc);
		return -EINVAL;
	}
	c->bc = bc;
	return 0;
}

void vtx_bcache_destroy(struct vtx_cpu *c)
{
	free(c->bc);
	c->bc = NULL;
}

void vtx_bcache_flush(struct vtx_cpu *c)
{
	struct vtx_bcache *bc = c->bc;
	memset(bc->table, 0, sizeof(bc->table));
	bc->nblocks = 0;
	bc->ninsns = 0;
	memset(c->m->code_page, 0, c->m->ram_size >> PAGE_SHIFT);
	c->flush_pending = false;
	c->fetch_gen++;
}

/* ---- the unimplemented-instruction record ----------------------------------- */

static struct vtx_unimpl *unimpl_find(struct vtx_cpu *c, uint64_t rip,
				      const char *what)
{
	for (size_t k = 0; k < c->nr_unimpl && k < VTX_UNIMPL_MAX; k++) {
		struct vtx_unimpl *u = &c->unimpl[k];
		if (u->rip == rip && (!what || !strcmp(u->mnemonic, what)))
			return u;
	}
	return NULL;
}

/* Adds a record with count 0 (the decoder's view: seen, not yet run). */
static void unimpl_record(struct vtx_cpu *c, uint64_t rip, const uint8_t *bytes,
			  unsigned len, const char *what)
{
	struct vtx_unimpl *u = unimpl_find(c, rip, what);
	if (u)
		return;
	if (c->nr_unimpl < VTX_UNIMPL_MAX) {
		u = &c->unimpl[c->nr_unimpl];
		memset(u, 0, sizeof(*u));
		u->rip = rip;
		if (len > sizeof(u->bytes))
			len = sizeof(u->bytes);
		if (bytes)
			memcpy(u->bytes, bytes, len);
		u->len = (uint8_t)(bytes ? len : 0);
		snprintf(u->mnemonic, sizeof(u->mnemonic), "%s", what);
	}
	c->nr_unimpl++; /* counts distinct ones even past the table */
}

void vtx_note_unimplemented(struct vtx_cpu *c, uint64_t rip,
			    const uint8_t *bytes, unsigned len,
			    const char *what)
{
	struct vtx_unimpl *u = unimpl_find(c, rip, what);
	if (!u && what) {
		unimpl_record(c, rip, bytes, len, what);
		u = unimpl_find(c, rip, what);
	}
	if (u)
		u->count++;
	c->stats.unimplemented++;
}

/* ---- operands ---------------------------------------------------------------- */

static int gpr_index(ZydisRegister r)
{
	if (r >= ZYDIS_REGISTER_AL && r <= ZYDIS_REGISTER_R15B) {
		int k = r - ZYDIS_REGISTER_AL;
		if (k < 4)
			return k;
		if (k < 8)
			return REG_AH + (k - 4); /* AH, CH, DH, BH */
		return k - 4; /* SPL.. DIL, R8B.. R15B */
	}
	if (r >= ZYDIS_REGISTER_AX && r <= ZYDIS_REGISTER_R15W)
		return r - ZYDIS_REGISTER_AX;
	if (r >= ZYDIS_REGISTER_EAX && r <= ZYDIS_REGISTER_R15D)
		return r - ZYDIS_REGISTER_EAX;
	if (r >= ZYDIS_REGISTER_RAX && r <= ZYDIS_REGISTER_R15)
		return r - ZYDIS_REGISTER_RAX;
	return -1;
}

static int seg_index(ZydisRegister r)
{
	switch ((int)r) {
	case ZYDIS_REGISTER_ES:
		return SEG_ES;
	case ZYDIS_REGISTER_CS:
		return SEG_CS;
	case ZYDIS_REGISTER_SS:
		return SEG_SS;
	case ZYDIS_REGISTER_DS:
		return SEG_DS;
	case ZYDIS_REGISTER_FS:
		return SEG_FS;
	case ZYDIS_REGISTER_GS:
		return SEG_GS;
	default:
		return -1;
	}
}

static bool is_gpr(const ZydisDecodedOperand *o)
{
	return o->type == ZYDIS_OPERAND_TYPE_REGISTER &&
	       gpr_index(o->reg.value) >= 0;
}

static bool is_mem(const ZydisDecodedOperand *o)
{
	return o->type == ZYDIS_OPERAND_TYPE_MEMORY;
}

static bool is_imm(const ZydisDecodedOperand *o)
{
	return o->type == ZYDIS_OPERAND_TYPE_IMMEDIATE;
}

/* Fills the memory-operand fields; false if the operand has a shape the
 * model does not handle (a VSIB, say). */
static bool set_mem(struct vtx_insn *vi, const ZydisDecodedOperand *o)
{
	int s = seg_index(o->mem.segment);
	if (o->mem.type != ZYDIS_MEMOP_TYPE_MEM &&
	    o->mem.type != ZYDIS_MEMOP_TYPE_AGEN)
		return false;
	vi->seg = (uint8_t)(s < 0 ? SEG_DS : s);
	if (o->mem.base == ZYDIS_REGISTER_NONE)
		vi->base = VTX_REG_NONE;
	else if (o->mem.base == ZYDIS_REGISTER_RIP ||
		 o->mem.base == ZYDIS_REGISTER_EIP)
		vi->base = VTX_REG_RIP;
	else if (gpr_index(o->mem.base) >= 0 && gpr_index(o->mem.base) < 16)
		vi->base = (uint8_t)gpr_index(o->mem.base);
	else
		return false;
	if (o->mem.index == ZYDIS_REGISTER_NONE) {
		vi->index = VTX_REG_NONE;
	} else if (gpr_index(o->mem.index) >= 0 &&
		   gpr_index(o->mem.index) < 16) {
		vi->index = (uint8_t)gpr_index(o->mem.index);
	} else {
		return false;
	}
	vi->scale = o->mem.scale == 8	? 3
		    : o->mem.scale == 4 ? 2
		    : o->mem.scale == 2 ? 1
					: 0;
	vi->disp = o->mem.disp.has_displacement ? o->mem.disp.value : 0;
	vi->flags |= VTX_INSN_HAS_MEM;
	return true;
}

/* Two-operand forms: op0 is a register or memory, op1 a register, memory
 * or immediate. Returns the form, or -1. */
static int form2(struct vtx_insn *vi, const ZydisDecodedOperand *o)
{
	if (is_gpr(&o[0])) {
		vi->r1 = (uint8_t)gpr_index(o[0].reg.value);
		if (is_gpr(&o[1])) {
			vi->r2 = (uint8_t)gpr_index(o[1].reg.value);
			return F_RR;
		}
		if (is_imm(&o[1])) {
			vi->imm = o[1].imm.value.u;
			return F_RI;
		}
		if (is_mem(&o[1]) && set_mem(vi, &o[1]))
			return F_RM;
		return -1;
	}
	if (is_mem(&o[0]) && set_mem(vi, &o[0])) {
		if (is_gpr(&o[1])) {
			vi->r2 = (uint8_t)gpr_index(o[1].reg.value);
			return F_MR;
		}
		if (is_imm(&o[1])) {
			vi->imm = o[1].imm.value.u;
			return F_MI;
		}
	}
	return -1;
}

/* One operand: a register (F1_R, in r1) or memory (F1_M). */
static int form1(struct vtx_insn *vi, const ZydisDecodedOperand *o)
{
	if (is_gpr(o)) {
		vi->r1 = (uint8_t)gpr_index(o->reg.value);
		return F1_R;
	}
	if (is_mem(o) && set_mem(vi, o))
		return F1_M;
	return -1;
}

static int alu2_op(ZydisMnemonic m)
{
	switch ((int)m) {
	case ZYDIS_MNEMONIC_ADD:
		return ALU_ADD;
	case ZYDIS_MNEMONIC_OR:
		return ALU_OR;
	case ZYDIS_MNEMONIC_ADC:
		return ALU_ADC;
	case ZYDIS_MNEMONIC_SBB:
		return ALU_SBB;
	case ZYDIS_MNEMONIC_AND:
		return ALU_AND;
	case ZYDIS_MNEMONIC_SUB:
		return ALU_SUB;
	case ZYDIS_MNEMONIC_XOR:
		return ALU_XOR;
	case ZYDIS_MNEMONIC_CMP:
		return ALU_CMP;
	case ZYDIS_MNEMONIC_TEST:
		return ALU_TEST;
	case ZYDIS_MNEMONIC_MOV:
		return ALU_MOV;
	default:
		return -1;
	}
}

static int shift_op(ZydisMnemonic m)
{
	switch ((int)m) {
	case ZYDIS_MNEMONIC_ROL:
		return SH_ROL;
	case ZYDIS_MNEMONIC_ROR:
		return SH_ROR;
	case ZYDIS_MNEMONIC_RCL:
		return SH_RCL;
	case ZYDIS_MNEMONIC_RCR:
		return SH_RCR;
	case ZYDIS_MNEMONIC_SHL:
		return SH_SHL;
	case ZYDIS_MNEMONIC_SHR:
		return SH_SHR;
	case ZYDIS_MNEMONIC_SAR:
		return SH_SAR;
	default:
		return -1;
	}
}

static int control_reg(const ZydisDecodedOperand *o, ZydisRegisterClass cls)
{
	if (o->type != ZYDIS_OPERAND_TYPE_REGISTER ||
	    ZydisRegisterGetClass(o->reg.value) != cls)
		return -1;
	return ZydisRegisterGetId(o->reg.value);
}

#define PICK(h) (vi->fn = (h), true)
#define PICK2(h_r, h_m, f) PICK((f) == F1_R ? (h_r) : (h_m))

/* Binds the handler for the decoded instruction. False: the model does not
 * implement it (the caller makes it raise #UD and records it). */
static bool bind(struct vtx_insn *vi, const ZydisDecodedInstruction *zi,
		 const ZydisDecodedOperand *o)
{
	unsigned nops = zi->operand_count_visible;
	int f, op, cr;

	op = alu2_op(zi->mnemonic);
	if (op >= 0 && nops == 2) {
		/* MOV with a control, debug or segment register. */
		if ((cr = control_reg(&o[0], ZYDIS_REGCLASS_CONTROL)) >= 0 &&
		    is_gpr(&o[1])) {
			vi->cc = (uint8_t)cr;
			vi->r1 = (uint8_t)gpr_index(o[1].reg.value);
			return PICK(x_mov_to_cr);
		}
		if ((cr = control_reg(&o[1], ZYDIS_REGCLASS_CONTROL)) >= 0 &&
		    is_gpr(&o[0])) {
			vi->cc = (uint8_t)cr;
			vi->r1 = (uint8_t)gpr_index(o[0].reg.value);
			return PICK(x_mov_from_cr);
		}
		if ((cr = control_reg(&o[0], ZYDIS_REGCLASS_DEBUG)) >= 0 &&
		    is_gpr(&o[1])) {
			vi->cc = (uint8_t)cr;
			vi->r1 = (uint8_t)gpr_index(o[1].reg.value);
			return PICK(x_mov_to_dr);
		}
		if ((cr = control_reg(&o[1], ZYDIS_REGCLASS_DEBUG)) >= 0 &&
		    is_gpr(&o[0])) {
			vi->cc = (uint8_t)cr;
			vi->r1 = (uint8_t)gpr_index(o[0].reg.value);
			return PICK(x_mov_from_dr);
		}
		if ((cr = control_reg(&o[0], ZYDIS_REGCLASS_SEGMENT)) >= 0) {
			vi->cc = (uint8_t)seg_index(o[0].reg.value);
			if (form1(vi, &o[1]) < 0)
				return false;
			return PICK(x_mov_to_sreg);
		}
		if ((cr = control_reg(&o[1], ZYDIS_REGCLASS_SEGMENT)) >= 0) {
			vi->cc = (uint8_t)seg_index(o[1].reg.value);
			if (form1(vi, &o[0]) < 0)
				return false;
			vi->osz = is_mem(&o[0]) ? 2 : vi->osz;
			return PICK(x_mov_from_sreg);
		}
		f = form2(vi, o);
		if (f < 0)
			return false;
		vi->fn = vtx_alu2_handlers[op][f];
		return vi->fn != NULL;
	}

	op = shift_op(zi->mnemonic);
	if (op >= 0) {
		f = form1(vi, &o[0]);
		if (f < 0)
			return false;
		if (nops >= 2 && o[1].type == ZYDIS_OPERAND_TYPE_REGISTER &&
		    o[1].reg.value == ZYDIS_REGISTER_CL)
			vi->cc = 1;
		else if (nops >= 2 && is_imm(&o[1]))
			vi->imm = o[1].imm.value.u;
		else
			vi->imm = 1;
		vi->fn = vtx_shift_handlers[op][f];
		return true;
	}

	switch ((int)zi->mnemonic) {
	case ZYDIS_MNEMONIC_INC:
	case ZYDIS_MNEMONIC_DEC:
	case ZYDIS_MNEMONIC_NEG:
	case ZYDIS_MNEMONIC_NOT:
		f = form1(vi, &o[0]);
		if (f < 0)
			return false;
		op = zi->mnemonic == ZYDIS_MNEMONIC_INC	  ? UN_INC
		     : zi->mnemonic == ZYDIS_MNEMONIC_DEC ? UN_DEC
		     : zi->mnemonic == ZYDIS_MNEMONIC_NEG ? UN_NEG
							  : UN_NOT;
		return PICK(vtx_alu1_handlers[op][f]);
	case ZYDIS_MNEMONIC_MUL:
		f = form1(vi, &o[0]);
		return f >= 0 && PICK2(x_mul_r, x_mul_m, f);
	case ZYDIS_MNEMONIC_DIV:
		f = form1(vi, &o[0]);
		return f >= 0 && PICK2(x_div_r, x_div_m, f);
	case ZYDIS_MNEMONIC_IDIV:
		f = form1(vi, &o[0]);
		return f >= 0 && PICK2(x_idiv_r, x_idiv_m, f);
	case ZYDIS_MNEMONIC_IMUL:
		if (nops == 1) {
			f = form1(vi, &o[0]);
			return f >= 0 && PICK2(x_imul1_r, x_imul1_m, f);
		}
		if (!is_gpr(&o[0]))
			return false;
		vi->r1 = (uint8_t)gpr_index(o[0].reg.value);
		if (nops == 3) {
			vi->imm = o[2].imm.value.u;
			if (is_gpr(&o[1])) {
				vi->r2 = (uint8_t)gpr_index(o[1].reg.value);
				return PICK(x_imul3_rr);
			}
			return is_mem(&o[1]) && set_mem(vi, &o[1]) &&
			       PICK(x_imul3_rm);
		}
		f = form2(vi, o);
		return (f == F_RR && PICK(x_imul2_rr)) ||
		       (f == F_RM && PICK(x_imul2_rm));
	case ZYDIS_MNEMONIC_MOVZX:
	case ZYDIS_MNEMONIC_MOVSX:
	case ZYDIS_MNEMONIC_MOVSXD: {
		bool zx = zi->mnemonic == ZYDIS_MNEMONIC_MOVZX;
		f = form2(vi, o);
		vi->osz = (uint8_t)(o[0].size / 8);
		vi->osz2 = (uint8_t)(o[1].size / 8);
		if (f == F_RR)
			return PICK(zx ? x_movzx_rr : x_movsx_rr);
		return f == F_RM && PICK(zx ? x_movzx_rm : x_movsx_rm);
	}
	case ZYDIS_MNEMONIC_LEA:
		if (!is_gpr(&o[0]) || !set_mem(vi, &o[1]))
			return false;
		vi->r1 = (uint8_t)gpr_index(o[0].reg.value);
		return PICK(x_lea);
	case ZYDIS_MNEMONIC_SETO:
	case ZYDIS_MNEMONIC_SETNO:
	case ZYDIS_MNEMONIC_SETB:
	case ZYDIS_MNEMONIC_SETNB:
	case ZYDIS_MNEMONIC_SETZ:
	case ZYDIS_MNEMONIC_SETNZ:
	case ZYDIS_MNEMONIC_SETBE:
	case ZYDIS_MNEMONIC_SETNBE:
	case ZYDIS_MNEMONIC_SETS:
	case ZYDIS_MNEMONIC_SETNS:
	case ZYDIS_MNEMONIC_SETP:
	case ZYDIS_MNEMONIC_SETNP:
	case ZYDIS_MNEMONIC_SETL:
	case ZYDIS_MNEMONIC_SETNL:
	case ZYDIS_MNEMONIC_SETLE:
	case ZYDIS_MNEMONIC_SETNLE:
		vi->cc = zi->opcode & 0xf;
		f = form1(vi, &o[0]);
		return f >= 0 && PICK2(x_setcc_r, x_setcc_m, f);
	case ZYDIS_MNEMONIC_CMOVO:
	case ZYDIS_MNEMONIC_CMOVNO:
	case ZYDIS_MNEMONIC_CMOVB:
	case ZYDIS_MNEMONIC_CMOVNB:
	case ZYDIS_MNEMONIC_CMOVZ:
	case ZYDIS_MNEMONIC_CMOVNZ:
	case ZYDIS_MNEMONIC_CMOVBE:
	case ZYDIS_MNEMONIC_CMOVNBE:
	case ZYDIS_MNEMONIC_CMOVS:
	case ZYDIS_MNEMONIC_CMOVNS:
	case ZYDIS_MNEMONIC_CMOVP:
	case ZYDIS_MNEMONIC_CMOVNP:
	case ZYDIS_MNEMONIC_CMOVL:
	case ZYDIS_MNEMONIC_CMOVNL:
	case ZYDIS_MNEMONIC_CMOVLE:
	case ZYDIS_MNEMONIC_CMOVNLE:
		vi->cc = zi->opcode & 0xf;
		f = form2(vi, o);
		return (f == F_RR && PICK(x_cmovcc_rr)) ||
		       (f == F_RM && PICK(x_cmovcc_rm));
	case ZYDIS_MNEMONIC_CBW:
	case ZYDIS_MNEMONIC_CWDE:
	case ZYDIS_MNEMONIC_CDQE:
		return PICK(x_cbw);
	case ZYDIS_MNEMONIC_CWD:
	case ZYDIS_MNEMONIC_CDQ:
	case ZYDIS_MNEMONIC_CQO:
		return PICK(x_cwd);
	case ZYDIS_MNEMONIC_XCHG:
		f = form2(vi, o);
		if (f == F_RR)
			return PICK(x_xchg_rr);
		if (f == F_MR) { /* symmetric: keep the register in r1 */
			vi->r1 = vi->r2;
			return PICK(x_xchg_rm);
		}
		return f == F_RM && PICK(x_xchg_rm);
	case ZYDIS_MNEMONIC_XADD:
		f = form2(vi, o);
		return (f == F_RR && PICK(x_xadd_rr)) ||
		       (f == F_MR && PICK(x_xadd_mr));
	case ZYDIS_MNEMONIC_CMPXCHG:
		f = form2(vi, o);
		return (f == F_RR && PICK(x_cmpxchg_rr)) ||
		       (f == F_MR && PICK(x_cmpxchg_mr));
	case ZYDIS_MNEMONIC_CMPXCHG8B: /* CPUID.1:EDX.CX8 advertises it */
		return is_mem(&o[0]) && set_mem(vi, &o[0]) && PICK(x_cmpxchg8b);
	case ZYDIS_MNEMONIC_CMPXCHG16B: /* CPUID.1:ECX.CX16 */
		return is_mem(&o[0]) && set_mem(vi, &o[0]) &&
		       PICK(x_cmpxchg16b);
	case ZYDIS_MNEMONIC_FWAIT:
		return PICK(x_fwait);
	case ZYDIS_MNEMONIC_BSWAP:
		f = form1(vi, &o[0]);
		return f == F1_R && PICK(x_bswap);
	case ZYDIS_MNEMONIC_BSF:
	case ZYDIS_MNEMONIC_TZCNT: /* BSF without BMI1 (not advertised) */
		f = form2(vi, o);
		return (f == F_RR && PICK(x_bsf_rr)) ||
		       (f == F_RM && PICK(x_bsf_rm));
	case ZYDIS_MNEMONIC_BSR:
		f = form2(vi, o);
		return (f == F_RR && PICK(x_bsr_rr)) ||
		       (f == F_RM && PICK(x_bsr_rm));
	case ZYDIS_MNEMONIC_LZCNT:
		f = form2(vi, o);
		return (f == F_RR && PICK(x_lzcnt_rr)) ||
		       (f == F_RM && PICK(x_lzcnt_rm));
	case ZYDIS_MNEMONIC_POPCNT:
		f = form2(vi, o);
		return (f == F_RR && PICK(x_popcnt_rr)) ||
		       (f == F_RM && PICK(x_popcnt_rm));
	case ZYDIS_MNEMONIC_BT:
	case ZYDIS_MNEMONIC_BTS:
	case ZYDIS_MNEMONIC_BTR:
	case ZYDIS_MNEMONIC_BTC:
		vi->cc = zi->mnemonic == ZYDIS_MNEMONIC_BT    ? BT_BT
			 : zi->mnemonic == ZYDIS_MNEMONIC_BTS ? BT_BTS
			 : zi->mnemonic == ZYDIS_MNEMONIC_BTR ? BT_BTR
							      : BT_BTC;
		f = form2(vi, o);
		return f >= 0 && f != F_RM && PICK(vtx_bt_handlers[f]);
	case ZYDIS_MNEMONIC_SHLD:
	case ZYDIS_MNEMONIC_SHRD: {
		bool l = zi->mnemonic == ZYDIS_MNEMONIC_SHLD;
		f = form2(vi, o);
		if (o[2].type == ZYDIS_OPERAND_TYPE_REGISTER)
			vi->cc = 1;
		else
			vi->imm = o[2].imm.value.u;
		if (f == F_RR)
			return PICK(l ? x_shld_r : x_shrd_r);
		return f == F_MR && PICK(l ? x_shld_m : x_shrd_m);
	}
	case ZYDIS_MNEMONIC_PUSH:
		if (control_reg(&o[0], ZYDIS_REGCLASS_SEGMENT) >= 0) {
			vi->cc = (uint8_t)seg_index(o[0].reg.value);
			return PICK(x_push_sreg);
		}
		if (is_imm(&o[0])) {
			vi->imm = o[0].imm.value.u;
			return PICK(x_push_i);
		}
		f = form1(vi, &o[0]);
		return f >= 0 && PICK2(x_push_r, x_push_m, f);
	case ZYDIS_MNEMONIC_POP:
		if (control_reg(&o[0], ZYDIS_REGCLASS_SEGMENT) >= 0) {
			vi->cc = (uint8_t)seg_index(o[0].reg.value);
			vi->flags |= VTX_INSN_ENDS_BLOCK;
			return PICK(x_pop_sreg);
		}
		f = form1(vi, &o[0]);
		return f >= 0 && PICK2(x_pop_r, x_pop_m, f);
	case ZYDIS_MNEMONIC_LEAVE:
		return PICK(x_leave);
	case ZYDIS_MNEMONIC_CALL:
	case ZYDIS_MNEMONIC_JMP: {
		bool call = zi->mnemonic == ZYDIS_MNEMONIC_CALL;
		if (zi->meta.branch_type == ZYDIS_BRANCH_TYPE_FAR) {
			/* ptr16:16/32 (outside 64-bit mode) or m16:16/32/64 */
			if (o[0].type == ZYDIS_OPERAND_TYPE_POINTER) {
				vi->imm = o[0].ptr.offset;
				vi->disp = o[0].ptr.segment;
				return PICK(call ? x_call_far_ptr
						 : x_jmp_far_ptr);
			}
			return is_mem(&o[0]) && set_mem(vi, &o[0]) &&
			       PICK(call ? x_call_far_m : x_jmp_far_m);
		}
		if (is_imm(&o[0])) {
			vi->imm = o[0].imm.value.u;
			return PICK(call ? x_call_rel : x_jmp_rel);
		}
		f = form1(vi, &o[0]);
		if (f == F1_R)
			return PICK(call ? x_call_r : x_jmp_r);
		return f == F1_M && PICK(call ? x_call_m : x_jmp_m);
	}
	case ZYDIS_MNEMONIC_RET:
		vi->imm = nops ? o[0].imm.value.u : 0;
		if (zi->meta.branch_type == ZYDIS_BRANCH_TYPE_FAR)
			return PICK(x_ret_far);
		return PICK(x_ret);
	case ZYDIS_MNEMONIC_JRCXZ:
	case ZYDIS_MNEMONIC_JECXZ:
	case ZYDIS_MNEMONIC_JCXZ:
		vi->imm = o[0].imm.value.u;
		return PICK(x_jrcxz);
	case ZYDIS_MNEMONIC_JO:
	case ZYDIS_MNEMONIC_JNO:
	case ZYDIS_MNEMONIC_JB:
	case ZYDIS_MNEMONIC_JNB:
	case ZYDIS_MNEMONIC_JZ:
	case ZYDIS_MNEMONIC_JNZ:
	case ZYDIS_MNEMONIC_JBE:
	case ZYDIS_MNEMONIC_JNBE:
	case ZYDIS_MNEMONIC_JS:
	case ZYDIS_MNEMONIC_JNS:
	case ZYDIS_MNEMONIC_JP:
	case ZYDIS_MNEMONIC_JNP:
	case ZYDIS_MNEMONIC_JL:
	case ZYDIS_MNEMONIC_JNL:
	case ZYDIS_MNEMONIC_JLE:
	case ZYDIS_MNEMONIC_JNLE:
		vi->cc = zi->opcode & 0xf;
		vi->imm = o[0].imm.value.u;
		return PICK(x_jcc);
	case ZYDIS_MNEMONIC_LOOP:
	case ZYDIS_MNEMONIC_LOOPE:
	case ZYDIS_MNEMONIC_LOOPNE:
		vi->cc = zi->mnemonic == ZYDIS_MNEMONIC_LOOP	? 0
			 : zi->mnemonic == ZYDIS_MNEMONIC_LOOPE ? 1
								: 2;
		vi->imm = o[0].imm.value.u;
		return PICK(x_loop);
	case ZYDIS_MNEMONIC_PAUSE:
		return PICK(x_pause);
	case ZYDIS_MNEMONIC_NOP:
	case ZYDIS_MNEMONIC_ENDBR64:
	case ZYDIS_MNEMONIC_ENDBR32:
	case ZYDIS_MNEMONIC_LFENCE:
	case ZYDIS_MNEMONIC_MFENCE:
	case ZYDIS_MNEMONIC_SFENCE:
		return PICK(x_nop);
	case ZYDIS_MNEMONIC_CLC:
		return PICK(x_clc);
	case ZYDIS_MNEMONIC_STC:
		return PICK(x_stc);
	case ZYDIS_MNEMONIC_CMC:
		return PICK(x_cmc);
	case ZYDIS_MNEMONIC_CLD:
		return PICK(x_cld);
	case ZYDIS_MNEMONIC_STD:
		return PICK(x_std);
	case ZYDIS_MNEMONIC_CLAC: /* CPUID.7:EBX.SMAP advertises them */
		return PICK(x_clac);
	case ZYDIS_MNEMONIC_STAC:
		return PICK(x_stac);
	case ZYDIS_MNEMONIC_LAHF:
		return PICK(x_lahf);
	case ZYDIS_MNEMONIC_SAHF:
		return PICK(x_sahf);
	case ZYDIS_MNEMONIC_PUSHF:
	case ZYDIS_MNEMONIC_PUSHFD:
	case ZYDIS_MNEMONIC_PUSHFQ:
		return PICK(x_pushf);
	case ZYDIS_MNEMONIC_POPF:
	case ZYDIS_MNEMONIC_POPFD:
	case ZYDIS_MNEMONIC_POPFQ:
		return PICK(x_popf);
	case ZYDIS_MNEMONIC_MOVSB:
	case ZYDIS_MNEMONIC_MOVSW:
	case ZYDIS_MNEMONIC_MOVSD:
	case ZYDIS_MNEMONIC_MOVSQ:
	case ZYDIS_MNEMONIC_LODSB:
	case ZYDIS_MNEMONIC_LODSW:
	case ZYDIS_MNEMONIC_LODSD:
	case ZYDIS_MNEMONIC_LODSQ:
	case ZYDIS_MNEMONIC_CMPSB:
	case ZYDIS_MNEMONIC_CMPSW:
	case ZYDIS_MNEMONIC_CMPSD:
	case ZYDIS_MNEMONIC_CMPSQ: {
		/* The SSE MOVSD/CMPSD share mnemonics: those have a
		 * register operand. The source memory operand carries any
		 * segment override. */
		if (zi->opcode_map != ZYDIS_OPCODE_MAP_DEFAULT)
			return false;
		int src = -1;
		for (unsigned k = 0; k < zi->operand_count; k++)
			if (is_mem(&o[k]) &&
			    o[k].mem.base != ZYDIS_REGISTER_RDI &&
			    o[k].mem.base != ZYDIS_REGISTER_EDI)
				src = (int)k;
		if (src < 0)
			return false;
		int s = seg_index(o[src].mem.segment);
		vi->seg = (uint8_t)(s < 0 ? SEG_DS : s);
		vi->osz = (uint8_t)(o[src].size / 8);
		vi->rep = (zi->attributes & ZYDIS_ATTRIB_HAS_REPNE) ? VTX_REPNE
			  : (zi->attributes &
			     (ZYDIS_ATTRIB_HAS_REP | ZYDIS_ATTRIB_HAS_REPE))
				  ? VTX_REP
				  : 0;
		if (zi->mnemonic == ZYDIS_MNEMONIC_MOVSB ||
		    zi->mnemonic == ZYDIS_MNEMONIC_MOVSW ||
		    zi->mnemonic == ZYDIS_MNEMONIC_MOVSD ||
		    zi->mnemonic == ZYDIS_MNEMONIC_MOVSQ)
			return PICK(x_movs);
		if (zi->mnemonic == ZYDIS_MNEMONIC_LODSB ||
		    zi->mnemonic == ZYDIS_MNEMONIC_LODSW ||
		    zi->mnemonic == ZYDIS_MNEMONIC_LODSD ||
		    zi->mnemonic == ZYDIS_MNEMONIC_LODSQ)
			return PICK(x_lods);
		return PICK(x_cmps);
	}
	case ZYDIS_MNEMONIC_STOSB:
	case ZYDIS_MNEMONIC_STOSW:
	case ZYDIS_MNEMONIC_STOSD:
	case ZYDIS_MNEMONIC_STOSQ:
	case ZYDIS_MNEMONIC_SCASB:
	case ZYDIS_MNEMONIC_SCASW:
	case ZYDIS_MNEMONIC_SCASD:
	case ZYDIS_MNEMONIC_SCASQ: {
		bool stos = zi->mnemonic == ZYDIS_MNEMONIC_STOSB ||
			    zi->mnemonic == ZYDIS_MNEMONIC_STOSW ||
			    zi->mnemonic == ZYDIS_MNEMONIC_STOSD ||
			    zi->mnemonic == ZYDIS_MNEMONIC_STOSQ;
		for (unsigned k = 0; k < zi->operand_count; k++)
			if (is_mem(&o[k]))
				vi->osz = (uint8_t)(o[k].size / 8);
		vi->rep = (zi->attributes & ZYDIS_ATTRIB_HAS_REPNE) ? VTX_REPNE
			  : (zi->attributes &
			     (ZYDIS_ATTRIB_HAS_REP | ZYDIS_ATTRIB_HAS_REPE))
				  ? VTX_REP
				  : 0;
		return PICK(stos ? x_stos : x_scas);
	}
	case ZYDIS_MNEMONIC_IN:
	case ZYDIS_MNEMONIC_OUT: {
		bool in = zi->mnemonic == ZYDIS_MNEMONIC_IN;
		const ZydisDecodedOperand *data = in ? &o[0] : &o[1];
		const ZydisDecodedOperand *port = in ? &o[1] : &o[0];
		vi->osz = (uint8_t)(data->size / 8);
		if (is_imm(port))
			vi->imm = port->imm.value.u & 0xff;
		else
			vi->cc = 1;
		return PICK(in ? x_in : x_out);
	}
	case ZYDIS_MNEMONIC_HLT:
		return PICK(x_hlt);
	case ZYDIS_MNEMONIC_CLI:
		return PICK(x_cli);
	case ZYDIS_MNEMONIC_STI:
		return PICK(x_sti);
	case ZYDIS_MNEMONIC_CPUID:
		return PICK(x_cpuid);
	case ZYDIS_MNEMONIC_RDTSC:
		return PICK(x_rdtsc);
	case ZYDIS_MNEMONIC_RDTSCP:
		return PICK(x_rdtscp);
	case ZYDIS_MNEMONIC_RDPMC:
		return PICK(x_rdpmc);
	case ZYDIS_MNEMONIC_XGETBV:
		return PICK(x_xgetbv);
	case ZYDIS_MNEMONIC_RDMSR:
		return PICK(x_rdmsr);
	case ZYDIS_MNEMONIC_WRMSR:
		return PICK(x_wrmsr);
	case ZYDIS_MNEMONIC_LGDT:
	case ZYDIS_MNEMONIC_LIDT:
	case ZYDIS_MNEMONIC_SGDT:
	case ZYDIS_MNEMONIC_SIDT:
	case ZYDIS_MNEMONIC_INVLPG:
	case ZYDIS_MNEMONIC_CLFLUSH:
	case ZYDIS_MNEMONIC_CLFLUSHOPT:
		if (!is_mem(&o[0]) || !set_mem(vi, &o[0]))
			return false;
		switch ((int)zi->mnemonic) {
		case ZYDIS_MNEMONIC_LGDT:
			return PICK(x_lgdt);
		case ZYDIS_MNEMONIC_LIDT:
			return PICK(x_lidt);
		case ZYDIS_MNEMONIC_SGDT:
			return PICK(x_sgdt);
		case ZYDIS_MNEMONIC_SIDT:
			return PICK(x_sidt);
		case ZYDIS_MNEMONIC_INVLPG:
			return PICK(x_invlpg);
		default:
			return PICK(x_clflush);
		}
	case ZYDIS_MNEMONIC_LTR:
	case ZYDIS_MNEMONIC_LLDT:
	case ZYDIS_MNEMONIC_STR:
	case ZYDIS_MNEMONIC_SLDT:
		if (form1(vi, &o[0]) < 0)
			return false;
		vi->osz = (uint8_t)(o[0].size / 8);
		return PICK(zi->mnemonic == ZYDIS_MNEMONIC_LTR	  ? x_ltr
			    : zi->mnemonic == ZYDIS_MNEMONIC_LLDT ? x_lldt
			    : zi->mnemonic == ZYDIS_MNEMONIC_STR  ? x_str
								  : x_sldt);
	case ZYDIS_MNEMONIC_IRET:
	case ZYDIS_MNEMONIC_IRETD:
	case ZYDIS_MNEMONIC_IRETQ:
		return PICK(x_iret);
	case ZYDIS_MNEMONIC_INT:
		vi->imm = o[0].imm.value.u & 0xff;
		return PICK(x_int_n);
	case ZYDIS_MNEMONIC_INT3:
		return PICK(x_int3);
	case ZYDIS_MNEMONIC_UD0:
	case ZYDIS_MNEMONIC_UD1:
	case ZYDIS_MNEMONIC_UD2:
		return PICK(x_ud);
	case ZYDIS_MNEMONIC_SWAPGS:
		return PICK(x_swapgs);
	case ZYDIS_MNEMONIC_SYSCALL:
		return PICK(x_syscall);
	case ZYDIS_MNEMONIC_SYSRET:
		return PICK(x_sysret);
	case ZYDIS_MNEMONIC_WBINVD:
		return PICK(x_wbinvd);
	case ZYDIS_MNEMONIC_INVD:
		return PICK(x_invd);
	/* Legacy and 16-bit-era instructions (vtx/exec_legacy.c). */
	case ZYDIS_MNEMONIC_PUSHA:
	case ZYDIS_MNEMONIC_PUSHAD:
		return PICK(x_pusha);
	case ZYDIS_MNEMONIC_POPA:
	case ZYDIS_MNEMONIC_POPAD:
		return PICK(x_popa);
	case ZYDIS_MNEMONIC_ENTER:
		vi->imm = o[0].imm.value.u & 0xffff;
		vi->cc = (uint8_t)(o[1].imm.value.u & 31); /* level MOD 32 */
		return PICK(x_enter);
	case ZYDIS_MNEMONIC_LMSW:
		if (form1(vi, &o[0]) < 0)
			return false;
		vi->flags |= VTX_INSN_ENDS_BLOCK;
		return PICK(x_lmsw);
	case ZYDIS_MNEMONIC_CLTS:
		return PICK(x_clts);
	case ZYDIS_MNEMONIC_SMSW:
		if (form1(vi, &o[0]) < 0)
			return false;
		vi->osz = (uint8_t)(o[0].size / 8);
		return PICK(x_smsw);
	case ZYDIS_MNEMONIC_INSB:
	case ZYDIS_MNEMONIC_INSW:
	case ZYDIS_MNEMONIC_INSD:
	case ZYDIS_MNEMONIC_OUTSB:
	case ZYDIS_MNEMONIC_OUTSW:
	case ZYDIS_MNEMONIC_OUTSD: {
		bool ins = zi->mnemonic == ZYDIS_MNEMONIC_INSB ||
			   zi->mnemonic == ZYDIS_MNEMONIC_INSW ||
			   zi->mnemonic == ZYDIS_MNEMONIC_INSD;
		for (unsigned k = 0; k < zi->operand_count; k++)
			if (is_mem(&o[k])) {
				int s = seg_index(o[k].mem.segment);
				vi->seg = (uint8_t)(s < 0 ? SEG_DS : s);
				vi->osz = (uint8_t)(o[k].size / 8);
			}
		if (ins)
			vi->seg = SEG_ES; /* INS always writes ES:rDI */
		vi->rep = (zi->attributes &
			   (ZYDIS_ATTRIB_HAS_REP | ZYDIS_ATTRIB_HAS_REPE |
			    ZYDIS_ATTRIB_HAS_REPNE))
				  ? VTX_REP
				  : 0;
		return PICK(ins ? x_ins : x_outs);
	}
	case ZYDIS_MNEMONIC_AAA:
		return PICK(x_aaa);
	case ZYDIS_MNEMONIC_AAS:
		return PICK(x_aas);
	case ZYDIS_MNEMONIC_DAA:
		return PICK(x_daa);
	case ZYDIS_MNEMONIC_DAS:
		return PICK(x_das);
	case ZYDIS_MNEMONIC_AAM:
	case ZYDIS_MNEMONIC_AAD:
		vi->imm = nops ? o[0].imm.value.u & 0xff : 10;
		return PICK(zi->mnemonic == ZYDIS_MNEMONIC_AAM ? x_aam : x_aad);
	case ZYDIS_MNEMONIC_BOUND:
		if (!is_gpr(&o[0]) || !is_mem(&o[1]) || !set_mem(vi, &o[1]))
			return false;
		vi->r1 = (uint8_t)gpr_index(o[0].reg.value);
		return PICK(x_bound);
	case ZYDIS_MNEMONIC_LDS:
	case ZYDIS_MNEMONIC_LES:
	case ZYDIS_MNEMONIC_LSS:
	case ZYDIS_MNEMONIC_LFS:
	case ZYDIS_MNEMONIC_LGS:
		if (!is_gpr(&o[0]) || !is_mem(&o[1]) || !set_mem(vi, &o[1]))
			return false;
		vi->r1 = (uint8_t)gpr_index(o[0].reg.value);
		vi->osz = (uint8_t)(o[0].size / 8);
		vi->cc = zi->mnemonic == ZYDIS_MNEMONIC_LDS   ? SEG_DS
			 : zi->mnemonic == ZYDIS_MNEMONIC_LES ? SEG_ES
			 : zi->mnemonic == ZYDIS_MNEMONIC_LSS ? SEG_SS
			 : zi->mnemonic == ZYDIS_MNEMONIC_LFS ? SEG_FS
							      : SEG_GS;
		vi->flags |= VTX_INSN_ENDS_BLOCK;
		return PICK(x_lxs);
	case ZYDIS_MNEMONIC_XLAT:
		for (unsigned k = 0; k < zi->operand_count; k++)
			if (is_mem(&o[k])) {
				int s = seg_index(o[k].mem.segment);
				vi->seg = (uint8_t)(s < 0 ? SEG_DS : s);
			}
		return PICK(x_xlat);
	case ZYDIS_MNEMONIC_INTO:
		return PICK(x_into);
	/* VMX instructions (vtx/vmx_insn.c). */
	case ZYDIS_MNEMONIC_VMXON:
	case ZYDIS_MNEMONIC_VMCLEAR:
	case ZYDIS_MNEMONIC_VMPTRLD:
	case ZYDIS_MNEMONIC_VMPTRST:
		if (!is_mem(&o[0]) || !set_mem(vi, &o[0]))
			return false;
		vi->osz = 8;
		return PICK(zi->mnemonic == ZYDIS_MNEMONIC_VMXON     ? x_vmxon
			    : zi->mnemonic == ZYDIS_MNEMONIC_VMCLEAR ? x_vmclear
			    : zi->mnemonic == ZYDIS_MNEMONIC_VMPTRLD
				    ? x_vmptrld
				    : x_vmptrst);
	case ZYDIS_MNEMONIC_VMREAD:
		/* vmread r/m64, r64: the encoding is in r2 */
		if (!is_gpr(&o[1]) || form1(vi, &o[0]) < 0)
			return false;
		vi->r2 = (uint8_t)gpr_index(o[1].reg.value);
		return PICK(x_vmread);
	case ZYDIS_MNEMONIC_VMWRITE:
		/* vmwrite r64, r/m64: the encoding is in r1 */
		if (!is_gpr(&o[0]))
			return false;
		vi->r1 = (uint8_t)gpr_index(o[0].reg.value);
		if (is_gpr(&o[1]))
			vi->r2 = (uint8_t)gpr_index(o[1].reg.value);
		else if (!is_mem(&o[1]) || !set_mem(vi, &o[1]))
			return false;
		return PICK(x_vmwrite);
	case ZYDIS_MNEMONIC_INVEPT:
	case ZYDIS_MNEMONIC_INVVPID:
	case ZYDIS_MNEMONIC_INVPCID:
		if (!is_gpr(&o[0]) || !is_mem(&o[1]) || !set_mem(vi, &o[1]))
			return false;
		vi->r1 = (uint8_t)gpr_index(o[0].reg.value);
		if (zi->mnemonic == ZYDIS_MNEMONIC_INVPCID)
			vi->osz = 16; /* the descriptor, for the limit check */
		return PICK(zi->mnemonic == ZYDIS_MNEMONIC_INVEPT ? x_invept
			    : zi->mnemonic == ZYDIS_MNEMONIC_INVVPID
				    ? x_invvpid
				    : x_invpcid);
	case ZYDIS_MNEMONIC_VMLAUNCH:
		return PICK(x_vmlaunch);
	case ZYDIS_MNEMONIC_VMRESUME:
		return PICK(x_vmresume);
	case ZYDIS_MNEMONIC_VMXOFF:
		return PICK(x_vmxoff);
	case ZYDIS_MNEMONIC_VMCALL:
		return PICK(x_vmcall);
	case ZYDIS_MNEMONIC_VMFUNC:
		return PICK(x_vmfunc);
	case ZYDIS_MNEMONIC_MONITOR:
		return PICK(x_monitor);
	case ZYDIS_MNEMONIC_MWAIT:
		return PICK(x_mwait);
	case ZYDIS_MNEMONIC_XSETBV:
		return PICK(x_xsetbv);
	default:
		return false;
	}
}

/* Instructions after which a block ends: control transfers (the next
 * instruction is elsewhere) and anything that can change how the
 * following bytes decode or translate. */
static bool ends_block(const struct vtx_insn *vi,
		       const ZydisDecodedInstruction *zi)
{
	if (zi->meta.category == ZYDIS_CATEGORY_COND_BR ||
	    zi->meta.category == ZYDIS_CATEGORY_UNCOND_BR ||
	    zi->meta.category == ZYDIS_CATEGORY_CALL ||
	    zi->meta.category == ZYDIS_CATEGORY_RET ||
	    zi->meta.category == ZYDIS_CATEGORY_SYSTEM ||
	    zi->meta.category == ZYDIS_CATEGORY_INTERRUPT ||
	    zi->meta.category == ZYDIS_CATEGORY_SYSCALL ||
	    zi->meta.category == ZYDIS_CATEGORY_SYSRET)
		return true;
	return vi->fn == x_loop || vi->fn == x_jrcxz || vi->fn == x_ud ||
	       vi->fn == x_unimplemented || vi->fn == x_mov_to_cr ||
	       vi->fn == x_mov_to_sreg || vi->fn == x_popf ||
	       vi->fn == x_wrmsr || vi->fn == x_hlt || vi->fn == x_vmlaunch ||
	       vi->fn == x_vmresume || vi->fn == x_vmxon || vi->fn == x_vmxoff;
}

/* Decodes one instruction at `bytes` (at most `avail` bytes valid).
 * Returns false if the bytes do not form a complete instruction within
 * `avail` (the caller decides whether more bytes can be fetched). */
static ZyanStatus decode_one(struct vtx_cpu *c, const uint8_t *bytes,
			     size_t avail, ZydisDecodedInstruction *zi,
			     ZydisDecodedOperand *ops)
{
	const ZydisDecoder *d;

	switch (c->mode) {
	case VTX_MODE_LONG64:
		d = &c->bc->dec64;
		break;
	case VTX_MODE_PROT32:
		d = &c->bc->dec32;
		break;
	case VTX_MODE_COMPAT32:
		d = &c->bc->compat32;
		break;
	case VTX_MODE_COMPAT16:
		d = &c->bc->compat16;
		break;
	default: /* real mode and 16-bit protected mode */
		d = &c->bc->dec16;
		break;
	}
	return ZydisDecoderDecodeFull(d, bytes, avail, zi, ops);
}

/*
 * The x87/SSE family of an instruction bind() refused (enum
 * vtx_fpu_class), for the #NM rules of vtx_fpu_check(). Only the legacy
 * encoding counts: VEX, EVEX and XOP instructions #UD without CR4.OSXSAVE
 * whatever CR0.TS says. An instruction with both MMX and XMM operands
 * (CVTPI2PS, ...) follows the SSE rules, as its SDM page says.
 */
static unsigned fpu_class(const ZydisDecodedInstruction *zi,
			  const ZydisDecodedOperand *ops)
{
	bool mmx = false, sse = false;

	if (zi->encoding != ZYDIS_INSTRUCTION_ENCODING_LEGACY)
		return VTX_FPU_NONE;
	if (zi->mnemonic == ZYDIS_MNEMONIC_FXSAVE ||
	    zi->mnemonic == ZYDIS_MNEMONIC_FXSAVE64 ||
	    zi->mnemonic == ZYDIS_MNEMONIC_FXRSTOR ||
	    zi->mnemonic == ZYDIS_MNEMONIC_FXRSTOR64)
		return VTX_FPU_FXSR;
	if (zi->meta.isa_ext == ZYDIS_ISA_EXT_X87)
		return VTX_FPU_X87;
	/* EMMS names only x87 registers among its hidden operands. */
	mmx = zi->meta.isa_ext == ZYDIS_ISA_EXT_MMX;
	/* Hidden operands too: LDMXCSR/STMXCSR name only MXCSR there. */
	for (unsigned k = 0; k < zi->operand_count; k++) {
		ZydisRegister r = ops[k].reg.value;
		ZydisRegisterClass rc;

		if (ops[k].type != ZYDIS_OPERAND_TYPE_REGISTER)
			continue;
		rc = ZydisRegisterGetClass(r);
		mmx |= rc == ZYDIS_REGCLASS_MMX;
		sse |= rc == ZYDIS_REGCLASS_XMM || r == ZYDIS_REGISTER_MXCSR;
	}
	return sse ? VTX_FPU_SSE : mmx ? VTX_FPU_MMX : VTX_FPU_NONE;
}

static void fill_insn(struct vtx_cpu *c, struct vtx_insn *vi, uint64_t rip,
		      const uint8_t *bytes, ZyanStatus st,
		      const ZydisDecodedInstruction *zi,
		      const ZydisDecodedOperand *ops)
{
	memset(vi, 0, sizeof(*vi));
	vi->base = vi->index = VTX_REG_NONE;
	vi->seg = SEG_DS;
	if (ZYAN_FAILED(st)) {
		/* Not an instruction: #UD as on silicon, and said loudly. */
		vi->len = 1;
		vi->mnemonic = ZYDIS_MNEMONIC_INVALID;
		vi->fn = x_unimplemented;
		vi->flags = VTX_INSN_ENDS_BLOCK;
		unimpl_record(c, rip, bytes, 15, "(undecodable)");
		return;
	}
	vi->len = zi->length;
	vi->osz = (uint8_t)(zi->operand_width / 8);
	vi->asz = (uint8_t)(zi->address_width / 8);
	vi->mnemonic = (uint16_t)zi->mnemonic;
	if (!vi->osz)
		vi->osz = c->mode == VTX_MODE_LONG64 ? 8
			  : vtx_mode_is16(c->mode)   ? 2
						     : 4;
	if (!bind(vi, zi, ops) || !vi->fn) {
		uint8_t len = vi->len;
		memset(vi, 0, sizeof(*vi));
		vi->len = len;
		vi->mnemonic = (uint16_t)zi->mnemonic;
		vi->fn = x_unimplemented;
		vi->cc = (uint8_t)fpu_class(zi, ops);
		unimpl_record(c, rip, bytes, len,
			      ZydisMnemonicGetString(zi->mnemonic));
	}
	if (ends_block(vi, zi))
		vi->flags |= VTX_INSN_ENDS_BLOCK;
}

/* Builds the block that starts at c->rip, host address `p` (physical
 * address `pa`). Stops at a block-ending instruction, at VTX_BLOCK_MAX, at
 * the page end, and before an instruction that crosses into the next
 * page unless it is the first (only the first may fault on its fetch). */
static struct vtx_block *block_build(struct vtx_cpu *c, uint64_t pa,
				     const uint8_t *p, unsigned slot)
{
	struct vtx_bcache *bc = c->bc;
	struct vtx_block *b;
	uint64_t rip = c->rip;
	unsigned off = (unsigned)(seg_linear(c, SEG_CS, rip) & (PAGE_SIZE - 1));

	if (bc->nblocks == BLOCK_POOL || bc->ninsns + VTX_BLOCK_MAX > INSN_POOL)
		vtx_bcache_flush(c);
	b = &bc->blocks[bc->nblocks++];
	/* The table changes: no chained successor may skip a lookup. */
	c->fetch_gen++;
	memset(b->next, 0, sizeof(b->next));
	b->pa = pa;
	b->pa_last = pa & PAGE_MASK;
	b->mode = c->mode;
	b->n = 0;
	b->insns = &bc->insns[bc->ninsns];

	while (b->n < VTX_BLOCK_MAX) {
		ZydisDecodedInstruction zi;
		ZydisDecodedOperand ops[ZYDIS_MAX_OPERAND_COUNT];
		struct vtx_insn *vi = &b->insns[b->n];
		size_t avail = PAGE_SIZE - off;
		uint8_t buf[16];
		const uint8_t *bytes = p;
		ZyanStatus st =
			decode_one(c, p, avail < 15 ? avail : 15, &zi, ops);

		if (ZYAN_FAILED(st) && avail < 15) {
			/* Perhaps it continues on the next page. */
			if (b->n)
				break;
			memcpy(buf, p, avail);
			uint8_t *q = vtx_translate_slow(
				c, seg_linear(c, SEG_CS, rip + avail),
				ACC_EXEC);
			memcpy(buf + avail, q, 15 - avail);
			bytes = buf;
			st = decode_one(c, buf, 15, &zi, ops);
			if (q >= c->ram && q < c->ram + c->ram_size) {
				uint64_t pa2 = (uint64_t)(q - c->ram);
				b->pa_last = pa2 & PAGE_MASK;
				c->m->code_page[pa2 >> PAGE_SHIFT] = 1;
			}
		}
		fill_insn(c, vi, rip, bytes, st, &zi, ops);
		b->n++;
		if (vi->flags & VTX_INSN_ENDS_BLOCK)
			break;
		rip += vi->len;
		off += vi->len;
		p += vi->len;
		if (off >= PAGE_SIZE)
			break;
	}
	bc->ninsns += b->n;
	c->stats.blocks_decoded++;
	if (pa < c->ram_size) {
		c->m->code_page[pa >> PAGE_SHIFT] = 1;
		bc->table[slot] = b;
	}
	/* Writes through cached translations must see the new code page:
	 * drop the write TLB (rare: once per newly decoded page). */
	for (unsigned e = 0; e < VTX_TLB_SIZE; e++)
		c->tlb[TLB_WRITE][e].tag = VTX_TLB_EMPTY;
	return b;
}

struct vtx_block *vtx_block_lookup(struct vtx_cpu *c)
{
	uint64_t la = seg_linear(c, SEG_CS, c->rip);
	uint8_t *p;
	uint64_t pa;
	unsigned slot;
	struct vtx_block *b;

	/* A fetch beyond CS's limit is #GP(0) (SDM Vol. 3A 5.3); branches
	 * check their targets, this catches falling off the end. */
	if (unlikely(c->mode != VTX_MODE_LONG64) &&
	    c->rip > c->seg[SEG_CS].limit)
		raise_gp(c, 0);
	if (unlikely(c->flush_pending))
		vtx_bcache_flush(c);
	p = tlb_hit(c, la, TLB_EXEC);
	if (unlikely(!p))
		p = vtx_translate_slow(c, la, ACC_EXEC);
	/* Code outside the arena (all ones) is decoded but never cached. */
	if (unlikely(p < c->ram || p >= c->ram + c->ram_size))
		pa = ~0ull;
	else
		pa = (uint64_t)(p - c->ram);
	slot = (unsigned)((pa ^ (pa >> BC_BITS)) & (BC_SIZE - 1));
	b = c->bc->table[slot];
	if (likely(b && b->pa == pa && b->mode == c->mode)) {
		/* A block whose last instruction reaches into the next page
		 * is valid only while that page still maps to the same
		 * frame. */
		if (likely(b->pa_last == (pa & PAGE_MASK)))
			return b;
		uint64_t la2 = (la & PAGE_MASK) + PAGE_SIZE;
		uint8_t *q = tlb_hit(c, la2, TLB_EXEC);
		if (!q)
			q = vtx_translate_slow(c, la2, ACC_EXEC);
		if (q >= c->ram && (uint64_t)(q - c->ram) == b->pa_last)
			return b;
	}
	if (unlikely(c->rflags & X86_EFLAGS_VM)) {
		vtx_note_unimplemented(c, c->rip, p, 1,
				       "virtual-8086 mode execution");
		raise_ud(c);
	}
	return block_build(c, pa, p, slot);
}
