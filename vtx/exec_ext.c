/* SPDX-License-Identifier: MIT */
/*
 * exec_ext.c - CMPXCHG16B, WAIT/FWAIT, and the device-not-available rules
 * for the x87, MMX, SSE and FXSAVE/FXRSTOR instructions the model does
 * not implement: #NM or #UD by CR0.EM, CR0.TS, CR0.MP and CR4.OSFXSR
 * (SDM Vol. 3A 2.5 Table 2-2, 12.? "Emulation of SSE/SSE2/SSE3" and the
 * instruction pages of Vol. 2). Model side.
 */
#include "vtx/exec.h"

/*
 * CMPXCHG16B m128 (REX.W 0F C7 /1, 64-bit mode only): compares RDX:RAX
 * with the 16 bytes at m128; equal: ZF = 1 and RCX:RBX is stored; else
 * ZF = 0 and the memory value goes to RDX:RAX. The operand must be 16-byte
 * aligned (#GP(0), SDM Vol. 2A "CMPXCHG8B/CMPXCHG16B", whatever CR0.AM
 * says). As with every locked read-modify-write, the destination is
 * written in both cases, so a read-only page faults either way.
 */
void x_cmpxchg16b(struct vtx_cpu *c, const struct vtx_insn *i)
{
	uint64_t la = insn_la(c, i);
	uint64_t lo, hi;
	bool eq;

	if (la & 15)
		raise_gp(c, 0);
	/* Aligned: both halves lie in one page. Translate for writing
	 * before anything changes, so a fault leaves all state as it was. */
	(void)vtx_translate_slow(c, la, ACC_WRITE);
	lo = mem_load(c, la, 8);
	hi = mem_load(c, la + 8, 8);
	eq = lo == c->gpr[REG_RAX] && hi == c->gpr[REG_RDX];
	if (eq) {
		mem_store(c, la, 8, c->gpr[REG_RBX]);
		mem_store(c, la + 8, 8, c->gpr[REG_RCX]);
	} else {
		mem_store(c, la, 8, lo);
		mem_store(c, la + 8, 8, hi);
		c->gpr[REG_RAX] = lo;
		c->gpr[REG_RDX] = hi;
	}
	c->rflags = (c->rflags & ~(uint64_t)X86_EFLAGS_ZF) |
		    (eq ? X86_EFLAGS_ZF : 0);
}

/*
 * WAIT/FWAIT: #NM when CR0.MP and CR0.TS are both set (SDM Vol. 3A Table
 * 2-2, the only x87 instruction CR0.EM does not trap). Otherwise it waits
 * for pending unmasked x87 exceptions; this machine has no x87 unit, so
 * there are none and it completes at once.
 */
void x_fwait(struct vtx_cpu *c, const struct vtx_insn *i)
{
	(void)i;
	if ((c->cr0 & (X86_CR0_MP | X86_CR0_TS)) == (X86_CR0_MP | X86_CR0_TS))
		vtx_raise(c, NM_VECTOR, 0, false);
}

/*
 * An unimplemented instruction of the x87/SSE family (fpu = enum
 * vtx_fpu_class, chosen at decode time) first faults as the SDM says for
 * the current CR0/CR4, so that an OS doing lazy FPU switching or x87
 * emulation sees the #NM it expects; the caller raises #UD if this
 * returns. Per family:
 *   x87 (Table 2-2):           EM or TS -> #NM
 *   MMX (Table 12-?, ch. 12):  EM -> #UD; TS -> #NM
 *   SSE (Table 13-?, 13.1):    EM or CR4.OSFXSR clear -> #UD; TS -> #NM
 *   FXSAVE/FXRSTOR (Vol. 2A):  EM or TS -> #NM
 * CR4.OSFXSR cannot be set on this machine (MOV to CR4 refuses it, as a
 * CPU without FXSR does), so an SSE instruction is always #UD. AVX and
 * the other VEX/EVEX/XOP encodings need CR4.OSXSAVE and XCR0 (#UD before
 * any CR0.TS check), which the model never enables: VTX_FPU_NONE.
 */
void vtx_fpu_check(struct vtx_cpu *c, unsigned fpu)
{
	uint64_t cr0 = c->cr0;

	switch (fpu) {
	case VTX_FPU_X87:
	case VTX_FPU_FXSR:
		if (cr0 & (X86_CR0_EM | X86_CR0_TS))
			vtx_raise(c, NM_VECTOR, 0, false);
		break;
	case VTX_FPU_MMX:
		if (!(cr0 & X86_CR0_EM) && (cr0 & X86_CR0_TS))
			vtx_raise(c, NM_VECTOR, 0, false);
		break;
	case VTX_FPU_SSE:
		if (!(cr0 & X86_CR0_EM) && (c->cr4 & X86_CR4_OSFXSR) &&
		    (cr0 & X86_CR0_TS))
			vtx_raise(c, NM_VECTOR, 0, false);
		break;
	default:
		break;
	}
}
