/* SPDX-License-Identifier: MIT */
/*
 * exec.h - the instruction handlers the decoder binds to decoded
 * instructions, grouped by family and operand form. Model side, internal.
 *
 * Operand forms fix where the operands live, chosen once at decode time:
 *   RR  r1 <- op(r1, r2)          RM  r1 <- op(r1, [mem])
 *   MR  [mem] <- op([mem], r2)    RI  r1 <- op(r1, imm)
 *   MI  [mem] <- op([mem], imm)
 *   R / M for one-operand instructions.
 */
#ifndef NESTVM_VTX_EXEC_H
#define NESTVM_VTX_EXEC_H

#include "vtx/cpu.h"

enum vtx_form { F_RR, F_RM, F_MR, F_RI, F_MI, F_NR };
enum vtx_form1 { F1_R, F1_M, F1_NR };

/* Two-operand ALU family, in opcode-extension order then the extras. */
enum vtx_alu2 {
	ALU_ADD,
	ALU_OR,
	ALU_ADC,
	ALU_SBB,
	ALU_AND,
	ALU_SUB,
	ALU_XOR,
	ALU_CMP,
	ALU_TEST,
	ALU_MOV,
	ALU_NR
};
extern const vtx_handler_fn vtx_alu2_handlers[ALU_NR][F_NR];

enum vtx_alu1 { UN_INC, UN_DEC, UN_NEG, UN_NOT, UN_NR };
extern const vtx_handler_fn vtx_alu1_handlers[UN_NR][F1_NR];

/* Shift/rotate group 2 in ModRM.reg order; i->cc = 1: count in CL. */
enum vtx_shift {
	SH_ROL,
	SH_ROR,
	SH_RCL,
	SH_RCR,
	SH_SHL,
	SH_SHR,
	SH_SAL,
	SH_SAR,
	SH_NR
};
extern const vtx_handler_fn vtx_shift_handlers[SH_NR][F1_NR];

/* Bit tests: i->cc = which; form RR/RI/MR/MI (bit offset in r2 or imm). */
enum vtx_bt { BT_BT, BT_BTS, BT_BTR, BT_BTC };
extern const vtx_handler_fn vtx_bt_handlers[F_NR];

/* One handler per instruction (or per instruction and form). */
/* clang-format off */
#define VTX_HANDLERS(X) \
	X(mul_r) X(mul_m) X(imul1_r) X(imul1_m) X(div_r) X(div_m) X(idiv_r) \
	X(idiv_m) X(imul2_rr) X(imul2_rm) X(imul3_rr) X(imul3_rm) X(movzx_rr) \
	X(movzx_rm) X(movsx_rr) X(movsx_rm) X(lea) X(setcc_r) X(setcc_m) \
	X(cmovcc_rr) X(cmovcc_rm) X(cbw) X(cwd) X(xchg_rr) X(xchg_rm) \
	X(xadd_rr) X(xadd_mr) X(cmpxchg_rr) X(cmpxchg_mr) X(cmpxchg8b) \
	X(bswap) X(bsf_rr) X(bsf_rm) X(bsr_rr) X(bsr_rm) X(tzcnt_rr) X(tzcnt_rm) \
	X(lzcnt_rr) X(lzcnt_rm) X(popcnt_rr) X(popcnt_rm) X(shld_r) X(shld_m) \
	X(shrd_r) X(shrd_m) X(push_r) X(push_i) X(push_m) X(pop_r) X(pop_m) \
	X(leave) X(call_rel) X(call_r) X(call_m) X(ret) X(jmp_rel) X(jmp_r) \
	X(jmp_m) X(jcc) X(jrcxz) X(loop) X(nop) X(clc) X(stc) X(cmc) X(cld) \
	X(std) X(clac) X(stac) X(lahf) X(sahf) X(pushf) X(popf) X(movs) \
	X(stos) X(lods) X(cmps) X(scas) X(in) X(out) X(hlt) X(cli) X(sti) \
	X(cpuid) X(rdtsc) X(rdtscp) X(rdmsr) X(wrmsr) X(mov_to_cr) X(mov_from_cr) \
	X(mov_to_dr) X(mov_from_dr) X(lgdt) X(lidt) X(sgdt) X(sidt) X(ltr) \
	X(str) X(lldt) X(sldt) X(invlpg) X(invpcid) X(iret) X(int_n) X(int3) X(ud) \
	X(swapgs) X(syscall) X(sysret) X(mov_to_sreg) X(mov_from_sreg) \
	X(wbinvd) X(clflush) X(rdpmc) X(xgetbv) X(pause) X(vmxon) \
	X(vmxoff) X(vmclear) X(vmptrld) X(vmptrst) X(vmread) X(vmwrite) \
	X(vmlaunch) X(vmresume) X(invept) X(invvpid) X(vmcall) X(invd) \
	X(jmp_far_ptr) X(jmp_far_m) X(call_far_ptr) X(call_far_m) X(ret_far) \
	X(push_sreg) X(pop_sreg) X(pusha) X(popa) X(enter) X(lmsw) X(clts) \
	X(smsw) X(ins) X(outs) X(aaa) X(aas) X(daa) X(das) X(aam) X(aad) \
	X(bound) X(lxs) X(xlat) X(into) X(vmfunc) X(monitor) X(mwait) \
	X(xsetbv) X(unimplemented) X(cmpxchg16b) X(fwait)
/* clang-format on */

#define X(name) void x_##name(struct vtx_cpu *c, const struct vtx_insn *i);
VTX_HANDLERS(X)
#undef X

/*
 * The x87/SSE family of an instruction the model does not implement
 * (vtx_insn.cc of x_unimplemented, set at decode time), and the #NM/#UD
 * choice CR0.EM/MP/TS and CR4.OSFXSR make for it before the #UD of the
 * unimplemented instruction (vtx/exec_ext.c). Raises or returns.
 */
enum vtx_fpu_class {
	VTX_FPU_NONE = 0, /* not x87/SSE state, or VEX/EVEX/XOP: #UD */
	VTX_FPU_X87,
	VTX_FPU_MMX,
	VTX_FPU_SSE, /* XMM registers or MXCSR, legacy encoding */
	VTX_FPU_FXSR, /* FXSAVE, FXRSTOR */
};
void vtx_fpu_check(struct vtx_cpu *c, unsigned fpu);

/*
 * Privilege changes (vtx/exec_gate.c): far CALL/JMP through a call gate
 * or to a TSS or task gate, far RET and IRET to an outer level, and what
 * interrupt delivery shares with them: the TSS stack of a level, the new
 * SS's checks (#TS/#SS with ext), a not-yet-loaded stack's address, the
 * nulling of data segments after a return outwards, and the counted #UD
 * of a task switch.
 */
void vtx_far_gate(struct vtx_cpu *c, uint16_t sel, bool call);
void vtx_ret_far_outer(struct vtx_cpu *c, const struct vtx_insn *i,
		       struct kvm_segment *cs, uint64_t raw, uint64_t target);
void vtx_iret_outer(struct vtx_cpu *c, struct kvm_segment *cs, uint64_t target,
		    uint64_t fl, uint32_t esp, uint16_t ss_sel);
void vtx_tss_stack(struct vtx_cpu *c, unsigned n, uint32_t ext, uint16_t *ss,
		   uint32_t *sp);
void vtx_new_ss(struct vtx_cpu *c, uint16_t sel, unsigned dpl, uint32_t ext,
		struct kvm_segment *ss);
uint64_t vtx_new_stack_la(struct vtx_cpu *c, const struct kvm_segment *ss,
			  uint64_t off, unsigned n, uint32_t ext);
void vtx_null_inner_segs(struct vtx_cpu *c, unsigned cpl);
__attribute__((noreturn)) void vtx_task_switch(struct vtx_cpu *c,
					       const char *how);

/* Port I/O to the platform (vtx/exec_sys.c). */
uint32_t vtx_pio_in(struct vtx_cpu *c, uint16_t port, unsigned size);
void vtx_pio_out(struct vtx_cpu *c, uint16_t port, unsigned size, uint32_t val);

/* The 8-byte descriptor for sel from the GDT or LDT; #GP(sel) if it lies
 * beyond the table's limit (vtx/exec_sys.c). */
uint64_t vtx_read_desc(struct vtx_cpu *c, uint16_t sel);

/* Loads a data or stack segment register from a selector in protected,
 * compatibility or 64-bit mode (vtx/exec_sys.c). Raises #GP/#NP/#SS as SDM
 * Vol. 3A 5.x says. */
void vtx_load_seg(struct vtx_cpu *c, unsigned seg, uint16_t sel);

/* The stack of the current mode (vtx/exec_ctl.c): the stack pointer moved
 * by delta at the stack's width, the checked linear address of an access
 * of sz bytes at stack offset off, a push, and the value `at` bytes above
 * the stack pointer. */
uint64_t vtx_sp_plus(const struct vtx_cpu *c, int64_t delta);
uint64_t vtx_stack_la(struct vtx_cpu *c, uint64_t off, unsigned sz);
void vtx_push(struct vtx_cpu *c, uint64_t v, unsigned sz);
uint64_t vtx_stack_peek(struct vtx_cpu *c, unsigned at, unsigned sz);

/* Port-I/O permission of protected mode: IOPL, then the TSS I/O bitmap
 * (SDM Vol. 1 19.5); raises #GP(0) (vtx/exec_sys.c). */
void vtx_io_permission(struct vtx_cpu *c, uint16_t port, unsigned size);

/* CR0 as MOV to CR0 writes it, with its #GP checks and mode changes
 * (vtx/exec_sys.c). */
void vtx_write_cr0(struct vtx_cpu *c, uint64_t v);

/* Real-address mode (vtx/exec_real.c): a segment load (base = selector
 * << 4, cached limit and attributes kept), far JMP/CALL (call = true) and
 * far RET, IRET, and event delivery through the IVT. */
void vtx_load_seg_real(struct vtx_cpu *c, unsigned seg, uint16_t sel);
void vtx_real_far(struct vtx_cpu *c, uint16_t sel, uint64_t off, unsigned osz,
		  bool call);
void vtx_real_ret_far(struct vtx_cpu *c, const struct vtx_insn *i);
void vtx_real_iret(struct vtx_cpu *c, const struct vtx_insn *i);
void vtx_deliver_real(struct vtx_cpu *c, int vector, uint64_t return_rip);

#endif
