/* SPDX-License-Identifier: MIT */
/*
 * callout.c - running translated code (l0/bt/bt.h): the loop that enters
 * the container VMCS and handles its exits -- callouts (the VMCALLs the
 * translator emitted), write faults on translated code pages (coherence)
 * and the guest's own exceptions, delivered through the guest's IDT (SDM
 * Vol. 3A 6.14). Adams & Agesen, ASPLOS'06, section 3. Monitor side.
 */
#include "l0/bt/bt.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <asm/vmx.h>
#include <Zydis/Zydis.h>

#include "arch/vmcs.h"
#include "arch/vmx_exit_qual.h"
#include "arch/x86_msr.h"
#include "arch/x86_regs.h"
#include "arch/x86_seg.h"

#define PF_ERR_W 0x2u

/* RFLAGS bits POPF changes at CPL 0 in 64-bit mode, IF aside (it is
 * virtual): SDM Vol. 2B POPF, Table 4-15. VIP, VIF and RF are cleared. */
#define POPF_MASK                                                \
	(X86_EFLAGS_ARITH_MASK | X86_EFLAGS_TF | X86_EFLAGS_DF | \
	 X86_EFLAGS_IOPL | X86_EFLAGS_NT | X86_EFLAGS_AC | X86_EFLAGS_ID)

static uint64_t rd(struct vtx_cpu *cpu, uint32_t field)
{
	uint64_t v = 0;

	vtx_vmread(cpu, field, &v);
	return v;
}

static void wr(struct vtx_cpu *cpu, uint32_t field, uint64_t v)
{
	vtx_vmwrite(cpu, field, v);
}

uint64_t bt_virtual_tsc(const struct bt *bt, struct vtx_cpu *cpu)
{
	struct vtx_cpu_stats st;

	vtx_cpu_get_stats(cpu, &st);
	return st.cycles_nonroot + bt->stats.cycles_translate +
	       bt->stats.cycles_callouts + bt->stats.cycles_traps;
}

static int stop_unimpl(struct bt *bt, struct bt_stop *stop, uint64_t rip,
		       const char *what)
{
	uint8_t b[15] = { 0 };
	char hex[3 * sizeof(b) + 1] = "";
	size_t n = 0;

	bt->cfg.ops->read(bt->cfg.opaque, rip, b, sizeof(b));
	for (unsigned int i = 0; i < 6; i++)
		n += (size_t)snprintf(hex + n, sizeof(hex) - n, "%s%02x",
				      i ? " " : "", b[i]);
	stop->reason = BT_STOP_UNIMPL;
	stop->guest_rip = rip;
	snprintf(stop->why, sizeof(stop->why),
		 "unimplemented under BT at %#llx (%s...): %s",
		 (unsigned long long)rip, hex, what);
	return 0;
}

/* The guest goes back to L0 at rip, the instruction there not run. */
static int stop_leave(struct bt_stop *stop, uint64_t rip, const char *what)
{
	stop->reason = BT_STOP_LEAVE;
	stop->guest_rip = rip;
	snprintf(stop->why, sizeof(stop->why), "%s", what);
	return 0;
}

static bool is_cr_write(const ZydisDecodedOperand *o)
{
	return o->type == ZYDIS_OPERAND_TYPE_REGISTER &&
	       o->reg.value >= ZYDIS_REGISTER_CR0 &&
	       o->reg.value <= ZYDIS_REGISTER_CR15;
}

static int guest_read64(struct bt *bt, uint64_t gva, uint64_t *v)
{
	return bt->cfg.ops->read(bt->cfg.opaque, gva, v, 8);
}

static int guest_write64(struct bt *bt, uint64_t gva, uint64_t v)
{
	return bt->cfg.ops->write(bt->cfg.opaque, gva, &v, 8);
}

static int decode_at(struct bt *bt, uint64_t rip, ZydisDecodedInstruction *zi,
		     ZydisDecodedOperand *ops)
{
	ZydisDecoder dec;
	uint8_t b[16] = { 0 };

	ZydisDecoderInit(&dec, ZYDIS_MACHINE_MODE_LONG_64,
			 ZYDIS_STACK_WIDTH_64);
	if (bt->cfg.ops->read(bt->cfg.opaque, rip, b, 15) &&
	    bt->cfg.ops->read(bt->cfg.opaque, rip, b, 1))
		return -EFAULT;
	return ZYAN_FAILED(ZydisDecoderDecodeFull(&dec, b, sizeof(b), zi, ops))
		       ? -EINVAL
		       : 0;
}

static uint64_t reg_value(const struct kvm_regs *regs, ZydisRegister r,
			  uint64_t rsp)
{
	ZydisRegister big =
		ZydisRegisterGetLargestEnclosing(ZYDIS_MACHINE_MODE_LONG_64, r);
	unsigned int n = (unsigned int)(big - ZYDIS_REGISTER_RAX);
	struct kvm_regs tmp = *regs;
	uint64_t v = n == VCPU_REGS_RSP ? rsp : x86_regs_read_gpr(&tmp, n);
	unsigned int bits =
		ZydisRegisterGetWidth(ZYDIS_MACHINE_MODE_LONG_64, r);

	return bits >= 64 ? v : v & ((1ull << bits) - 1);
}

/* The target of an indirect JMP/CALL: a register or a flat memory
 * operand (no FS/GS override; the translator's guests do not use one). */
static int indirect_target(struct bt *bt, const struct kvm_regs *regs,
			   uint64_t rsp, const struct bt_site *site,
			   uint64_t *target)
{
	ZydisDecodedInstruction zi;
	ZydisDecodedOperand ops[ZYDIS_MAX_OPERAND_COUNT];
	const ZydisDecodedOperand *o = &ops[0];
	uint64_t ea = 0;

	if (decode_at(bt, site->guest_rip, &zi, ops))
		return -EFAULT;
	if (o->type == ZYDIS_OPERAND_TYPE_REGISTER) {
		*target = reg_value(regs, o->reg.value, rsp);
		return 0;
	}
	if (o->type != ZYDIS_OPERAND_TYPE_MEMORY ||
	    o->mem.segment == ZYDIS_REGISTER_FS ||
	    o->mem.segment == ZYDIS_REGISTER_GS || zi.operand_width != 64)
		return -EOPNOTSUPP;
	if (o->mem.base == ZYDIS_REGISTER_RIP)
		ea = site->guest_next;
	else if (o->mem.base != ZYDIS_REGISTER_NONE)
		ea = reg_value(regs, o->mem.base, rsp);
	if (o->mem.index != ZYDIS_REGISTER_NONE)
		ea += reg_value(regs, o->mem.index, rsp) * o->mem.scale;
	ea += (uint64_t)o->mem.disp.value;
	return guest_read64(bt, ea, target);
}

/* IN/OUT with an imm8 or DX port and AL/AX/EAX: SDM Vol. 2A IN, 2B OUT. */
static int do_io(struct bt *bt, struct kvm_regs *regs,
		 const struct bt_site *site, bool *stop_platform)
{
	ZydisDecodedInstruction zi;
	ZydisDecodedOperand ops[ZYDIS_MAX_OPERAND_COUNT];
	struct vtx_pio io = { 0 };
	const ZydisDecodedOperand *port, *data;
	bool in;

	if (decode_at(bt, site->guest_rip, &zi, ops))
		return -EFAULT;
	in = zi.mnemonic == ZYDIS_MNEMONIC_IN;
	data = &ops[in ? 0 : 1];
	port = &ops[in ? 1 : 0];
	io.size = (uint8_t)(zi.operand_width / 8);
	io.dir = in ? VTX_PIO_IN : VTX_PIO_OUT;
	io.port = port->type == ZYDIS_OPERAND_TYPE_IMMEDIATE
			  ? (uint16_t)port->imm.value.u
			  : (uint16_t)regs->rdx;
	if (data->type != ZYDIS_OPERAND_TYPE_REGISTER)
		return -EOPNOTSUPP;
	if (!in)
		io.data = (uint32_t)regs->rax &
			  (uint32_t)((1ull << zi.operand_width) - 1);
	*stop_platform = bt->cfg.ops->pio(bt->cfg.opaque, &io) == VTX_PIO_STOP;
	if (in) {
		uint64_t mask = (1ull << zi.operand_width) - 1;

		/* A 32-bit destination zero-extends (SDM Vol. 1 3.4.1.1). */
		if (io.size == 4)
			regs->rax = io.data;
		else
			regs->rax = (regs->rax & ~mask) | (io.data & mask);
	}
	return 0;
}

/*
 * Delivers vector through the guest's IDT from CPL 0 to CPL 0 in 64-bit
 * mode (SDM Vol. 3A 6.14.2, Figure 6-9): the frame SS, RSP, RFLAGS (with
 * the virtual IF), CS, RIP [, error code] on the stack aligned to 16, IF
 * cleared for an interrupt gate. Other cases (IST, a gate to another
 * privilege level) are not handled: false with stop filled in.
 */
static bool deliver_exception(struct bt *bt, struct vtx_cpu *cpu,
			      unsigned int vector, bool has_err, uint64_t err,
			      uint64_t rip, struct bt_stop *stop)
{
	uint64_t idt = rd(cpu, GUEST_IDTR_BASE), gate[2];
	uint64_t rsp = rd(cpu, GUEST_RSP), rflags = rd(cpu, GUEST_RFLAGS);
	uint64_t handler, frame[6];
	unsigned int type, n = 0;
	char what[64];

	snprintf(what, sizeof(what), "exception %u", vector);
	if (vector * 16 + 15 > rd(cpu, GUEST_IDTR_LIMIT) ||
	    bt->cfg.ops->read(bt->cfg.opaque, idt + vector * 16, gate, 16)) {
		stop_unimpl(bt, stop, rip, what);
		return false;
	}
	type = (gate[0] >> 40) & 0xf;
	handler = (gate[0] & 0xffff) | ((gate[0] >> 32) & 0xffff0000ull) |
		  (gate[1] << 32);
	if (!((gate[0] >> 47) & 1) || ((gate[0] >> 32) & 7) ||
	    (type != SEG_TYPE_INT_GATE64 && type != SEG_TYPE_TRAP_GATE64) ||
	    ((gate[0] >> 16) & 0xffff) != rd(cpu, GUEST_CS_SELECTOR)) {
		snprintf(what, sizeof(what),
			 "exception %u through a gate BT does not deliver",
			 vector);
		stop_unimpl(bt, stop, rip, what);
		return false;
	}
	rflags = (rflags & ~(uint64_t)X86_EFLAGS_IF) |
		 (bt_vcpu_read8(bt, BT_VCPU_VIF) ? X86_EFLAGS_IF : 0);
	if (has_err)
		frame[n++] = err;
	frame[n++] = rip;
	frame[n++] = rd(cpu, GUEST_CS_SELECTOR);
	frame[n++] = rflags;
	frame[n++] = rsp;
	frame[n++] = rd(cpu, GUEST_SS_SELECTOR);
	rsp &= ~15ull;
	for (unsigned int i = n; i-- > 0;) {
		rsp -= 8;
		if (guest_write64(bt, rsp, frame[i])) {
			stop_unimpl(bt, stop, rip,
				    "a fault while delivering an exception");
			return false;
		}
	}
	wr(cpu, GUEST_RSP, rsp);
	if (type == SEG_TYPE_INT_GATE64)
		bt_vcpu_write8(bt, BT_VCPU_VIF, 0);
	/* TF, NT, RF and VM are cleared on delivery (SDM 6.12.1.2). */
	wr(cpu, GUEST_RFLAGS,
	   rd(cpu, GUEST_RFLAGS) &
		   ~(uint64_t)(X86_EFLAGS_TF | X86_EFLAGS_NT | X86_EFLAGS_RF));
	wr(cpu, GUEST_RIP, handler);
	bt->stats.guest_exceptions++;
	return true;
}

/* A user code or stack segment of the guest's GDT for IRETQ to CPL 3:
 * present, DPL 3, a 64-bit code segment or a writable data segment (SDM
 * Vol. 2A IRET, RETURN-TO-OUTER-PRIVILEGE-LEVEL). Accessed is set in the
 * GDT as the processor sets it. 0, or -1 for anything else. */
static int user_seg(struct bt *bt, struct vtx_cpu *cpu, uint16_t sel, bool code,
		    uint32_t *ar)
{
	uint64_t gdt = rd(cpu, GUEST_GDTR_BASE), d;
	unsigned int type;

	if (x86_sel_is_null(sel) || (sel & SEL_TI) || (sel & 3) != 3 ||
	    (sel | 7u) > rd(cpu, GUEST_GDTR_LIMIT) ||
	    guest_read64(bt, gdt + (sel & ~7u), &d))
		return -1;
	type = x86_desc_get_type(d);
	if (!(d & DESC_P) || !(d & DESC_S) || x86_desc_get_dpl(d) != 3)
		return -1;
	if (code ? !(type & SEG_TYPE_CODE) || !(d & DESC_L) || (d & DESC_DB)
		 : (type & SEG_TYPE_CODE) || !(type & SEG_TYPE_WRITABLE))
		return -1;
	if (!(type & SEG_TYPE_ACCESSED)) {
		d |= (uint64_t)SEG_TYPE_ACCESSED << DESC_TYPE_SHIFT;
		if (guest_write64(bt, gdt + (sel & ~7u), d))
			return -1;
	}
	*ar = x86_desc_to_vmx_ar(d);
	return 0;
}

/* After IRETQ to CPL 3, DS, ES, FS and GS that CPL 3 may not use become
 * null (data or non-conforming code with DPL < 3; SDM Vol. 2A IRET). */
static void null_inner_segs(struct vtx_cpu *cpu)
{
	static const uint32_t sel[] = { GUEST_ES_SELECTOR, GUEST_DS_SELECTOR,
					GUEST_FS_SELECTOR, GUEST_GS_SELECTOR };
	static const uint32_t ar[] = { GUEST_ES_AR_BYTES, GUEST_DS_AR_BYTES,
				       GUEST_FS_AR_BYTES, GUEST_GS_AR_BYTES };

	for (unsigned int i = 0; i < 4; i++) {
		uint32_t a = (uint32_t)rd(cpu, ar[i]);
		bool conf = (a & SEG_TYPE_CODE) && (a & SEG_TYPE_CONFORMING);

		if ((a & VMX_AR_UNUSABLE_MASK) || conf || ((a >> 5) & 3) >= 3)
			continue;
		wr(cpu, sel[i], 0);
		wr(cpu, ar[i], VMX_AR_UNUSABLE_MASK);
	}
}

/*
 * IRETQ (SDM Vol. 2A IRET, IA-32e mode) to the same privilege level, or
 * from the kernel to 64-bit user code, which then runs directly (*direct)
 * with the frame's IF as its real one. Other returns stop the run.
 */
static bool do_iret(struct bt *bt, struct vtx_cpu *cpu, uint64_t rip,
		    bool *direct, struct bt_stop *stop)
{
	uint64_t f[5], rsp = rd(cpu, GUEST_RSP);
	uint32_t cs_ar, ss_ar;

	if (bt->cfg.ops->read(bt->cfg.opaque, rsp, f, sizeof(f))) {
		stop_unimpl(bt, stop, rip, "IRETQ with an unreadable stack");
		return false;
	}
	bt_vcpu_write8(bt, BT_VCPU_VIF, (f[2] & X86_EFLAGS_IF) != 0);
	if (f[1] != rd(cpu, GUEST_CS_SELECTOR) ||
	    f[4] != rd(cpu, GUEST_SS_SELECTOR)) {
		if ((rd(cpu, GUEST_CS_SELECTOR) & 3) != 0 ||
		    user_seg(bt, cpu, (uint16_t)f[1], true, &cs_ar) ||
		    user_seg(bt, cpu, (uint16_t)f[4], false, &ss_ar) ||
		    f[1] >> 16 || f[4] >> 16 || f[0] >> 47) {
			stop_unimpl(bt, stop, rip,
				    "IRETQ to another privilege level than "
				    "64-bit user code");
			return false;
		}
		wr(cpu, GUEST_CS_SELECTOR, f[1]);
		wr(cpu, GUEST_CS_BASE, 0);
		wr(cpu, GUEST_CS_LIMIT, 0xffffffffu);
		wr(cpu, GUEST_CS_AR_BYTES, cs_ar);
		wr(cpu, GUEST_SS_SELECTOR, f[4]);
		wr(cpu, GUEST_SS_BASE, 0);
		wr(cpu, GUEST_SS_LIMIT, 0xffffffffu);
		wr(cpu, GUEST_SS_AR_BYTES, ss_ar);
		null_inner_segs(cpu);
		/* User code runs with its own IF; IOPL may change at
		 * CPL 0. */
		wr(cpu, GUEST_RFLAGS,
		   X86_EFLAGS_FIXED | (f[2] & (POPF_MASK | X86_EFLAGS_IF |
					       X86_EFLAGS_RF)));
		*direct = true;
	} else {
		wr(cpu, GUEST_RFLAGS,
		   (rd(cpu, GUEST_RFLAGS) & X86_EFLAGS_IF) | X86_EFLAGS_FIXED |
			   (f[2] & (POPF_MASK | X86_EFLAGS_RF)));
	}
	wr(cpu, GUEST_RSP, f[3]);
	wr(cpu, GUEST_RIP, f[0]);
	return true;
}

/* CR0 and CR4 bits the container follows: they change no paging, no
 * mode and nothing L0's shadow MMU keeps. */
#define BT_CR0_FOLLOWED                                                 \
	((uint64_t)(X86_CR0_MP | X86_CR0_EM | X86_CR0_TS | X86_CR0_AM | \
		    X86_CR0_CD | X86_CR0_NW))
#define BT_CR4_FOLLOWED ((uint64_t)(X86_CR4_TSD | X86_CR4_DE))

/*
 * MOV to CR0 from 64-bit code (SDM Vol. 2B MOV CR, Vol. 3A 2.5): the
 * #GP(0) cases in the SDM's order (bits 63:32, PG without PE, NW without
 * CD, PG cleared in 64-bit mode), then the bits the container follows go
 * to its CR0. A change of PE, WP or NE (which the shadow MMU and VMX
 * depend on) stops the run. 0: done; 1: #GP(0); -1: stopped.
 */
static int write_cr0(struct bt *bt, struct vtx_cpu *cpu, uint64_t v,
		     const struct bt_site *site, struct bt_stop *stop)
{
	uint64_t cur = rd(cpu, GUEST_CR0);

	if (v >> 32)
		return 1;
	v = (v & X86_CR0_DEFINED) | X86_CR0_ET;
	if (((v & X86_CR0_PG) && !(v & X86_CR0_PE)) ||
	    ((v & X86_CR0_NW) && !(v & X86_CR0_CD)) || !(v & X86_CR0_PG))
		return 1;
	if ((v ^ cur) & X86_CR0_DEFINED & ~BT_CR0_FOLLOWED) {
		char what[96];

		snprintf(what, sizeof(what),
			 "MOV to CR0 changing bits %#llx (only MP, EM, TS, "
			 "AM, CD, NW are virtualized)",
			 (unsigned long long)((v ^ cur) & X86_CR0_DEFINED &
					      ~BT_CR0_FOLLOWED));
		stop_unimpl(bt, stop, site->guest_rip, what);
		return -1;
	}
	wr(cpu, GUEST_CR0, (cur & ~BT_CR0_FOLLOWED) | (v & BT_CR0_FOLLOWED));
	return 0;
}

/*
 * MOV to CR4 (SDM Vol. 2B MOV CR, Vol. 3A 2.5): a bit the processor does
 * not support (IA32_VMX_CR4_FIXED1 is the model's list) or PAE cleared in
 * IA-32e mode is #GP(0); CR4.VMXE is the guest's only virtually (always
 * 0: no VMX under the software VMM) and a change of a paging bit (PSE,
 * PAE, PGE, PCIDE, SMEP, SMAP) would need the shadow MMU: both stop the
 * run. TSD and DE go to the container's CR4. Returns as write_cr0().
 */
static int write_cr4(struct bt *bt, struct vtx_cpu *cpu, uint64_t v,
		     const struct bt_site *site, struct bt_stop *stop)
{
	uint64_t cur = rd(cpu, GUEST_CR4) & ~(uint64_t)X86_CR4_VMXE;
	uint64_t fixed1 = 0;

	vtx_cpu_get_msr(cpu, MSR_IA32_VMX_CR4_FIXED1, &fixed1);
	if ((v & ~fixed1) || !(v & X86_CR4_PAE))
		return 1;
	if ((v ^ cur) & ~BT_CR4_FOLLOWED) {
		char what[96];

		snprintf(what, sizeof(what),
			 "MOV to CR4 changing bits %#llx (only TSD and DE are "
			 "virtualized)",
			 (unsigned long long)((v ^ cur) & ~BT_CR4_FOLLOWED));
		stop_unimpl(bt, stop, site->guest_rip, what);
		return -1;
	}
	wr(cpu, GUEST_CR4, v | X86_CR4_VMXE);
	return 0;
}

/*
 * MOV to CR8 (checked, into the virtual CR8) and MOV from CR0, CR2, CR3,
 * CR4 (the container's values, CR4.VMXE hidden: SDM Vol. 3C 25.6.6 gives
 * a VMM the same right); MOV to CR3 through L0's MMU, to CR0 and CR4 as
 * write_cr0() and write_cr4() say.
 */
static int do_mov_cr(struct bt *bt, struct vtx_cpu *cpu, struct kvm_regs *regs,
		     const struct bt_site *site, bool *guest_addr,
		     struct bt_stop *stop)
{
	ZydisDecodedInstruction zi;
	ZydisDecodedOperand ops[ZYDIS_MAX_OPERAND_COUNT];
	struct kvm_sregs sregs;
	uint64_t v;
	unsigned int n;

	if (decode_at(bt, site->guest_rip, &zi, ops))
		return stop_unimpl(bt, stop, site->guest_rip, "MOV CR");
	if (ops[0].reg.value == ZYDIS_REGISTER_CR8) {
		v = reg_value(regs, ops[1].reg.value, 0);
		if (v & ~0xfull) {
			/* #GP(0) at the MOV, as the processor raises it. */
			if (!deliver_exception(bt, cpu, 13, true, 0,
					       site->guest_rip, stop))
				return 0;
			*guest_addr = true;
			return 1;
		}
		bt_vcpu_write64(bt, BT_VCPU_CR8, v);
		return 1;
	}
	if (is_cr_write(&ops[0]) && ops[0].reg.value == ZYDIS_REGISTER_CR3 &&
	    bt->cfg.ops->write_cr3) {
		v = reg_value(regs, ops[1].reg.value, 0);
		if (bt->cfg.ops->write_cr3(bt->cfg.opaque, v))
			return stop_unimpl(bt, stop, site->guest_rip,
					   "MOV to CR3 refused by L0's MMU");
		/* Translations were made under the old address space:
		 * all go, and the guest goes on from a new one. */
		bt_flush(bt);
		wr(cpu, GUEST_RIP, site->guest_next);
		*guest_addr = true;
		return 1;
	}
	if (is_cr_write(&ops[0]) && (ops[0].reg.value == ZYDIS_REGISTER_CR0 ||
				     ops[0].reg.value == ZYDIS_REGISTER_CR4)) {
		int ret;

		v = reg_value(regs, ops[1].reg.value, 0);
		ret = ops[0].reg.value == ZYDIS_REGISTER_CR0
			      ? write_cr0(bt, cpu, v, site, stop)
			      : write_cr4(bt, cpu, v, site, stop);
		if (ret < 0)
			return 0;
		if (ret == 0)
			wr(cpu, GUEST_RIP, site->guest_next);
		else if (!deliver_exception(bt, cpu, 13, true, 0,
					    site->guest_rip, stop))
			return 0;
		/* The translator ended the block at the MOV. */
		*guest_addr = true;
		return 1;
	}
	if (is_cr_write(&ops[0]))
		return stop_unimpl(bt, stop, site->guest_rip,
				   "MOV to CR3 without L0's MMU");
	vtx_cpu_get_sregs(cpu, &sregs);
	switch ((unsigned int)ops[1].reg.value) {
	case ZYDIS_REGISTER_CR0:
		v = rd(cpu, GUEST_CR0);
		break;
	case ZYDIS_REGISTER_CR2:
		v = sregs.cr2;
		break;
	case ZYDIS_REGISTER_CR3:
		v = bt->cfg.ops->read_cr3
			    ? bt->cfg.ops->read_cr3(bt->cfg.opaque)
			    : rd(cpu, GUEST_CR3);
		break;
	case ZYDIS_REGISTER_CR4:
		v = rd(cpu, GUEST_CR4) & ~(uint64_t)X86_CR4_VMXE;
		break;
	default:
		return stop_unimpl(bt, stop, site->guest_rip, "MOV from CR");
	}
	n = (unsigned int)(ZydisRegisterGetLargestEnclosing(
				   ZYDIS_MACHINE_MODE_LONG_64,
				   ops[0].reg.value) -
			   ZYDIS_REGISTER_RAX);
	if (n == VCPU_REGS_RSP)
		wr(cpu, GUEST_RSP, v);
	else
		x86_regs_write_gpr(regs, n, v);
	vtx_cpu_set_regs(cpu, regs);
	return 1;
}

/* Flat 64-bit segments as SYSCALL and SYSRET load them (SDM Vol. 2B
 * SYSCALL, SYSRET): VMX access rights (SDM Vol. 3C 24.4.1). */
#define AR_CODE64(dpl) (0xa09bu | ((dpl) << 5))
#define AR_DATA(dpl) (0xc093u | ((dpl) << 5))

static void load_flat(struct vtx_cpu *cpu, uint16_t cs, uint16_t ss,
		      unsigned int dpl)
{
	wr(cpu, GUEST_CS_SELECTOR, cs);
	wr(cpu, GUEST_CS_BASE, 0);
	wr(cpu, GUEST_CS_LIMIT, 0xffffffffu);
	wr(cpu, GUEST_CS_AR_BYTES, AR_CODE64(dpl));
	wr(cpu, GUEST_SS_SELECTOR, ss);
	wr(cpu, GUEST_SS_BASE, 0);
	wr(cpu, GUEST_SS_LIMIT, 0xffffffffu);
	wr(cpu, GUEST_SS_AR_BYTES, AR_DATA(dpl));
}

/* SYSRETQ to 64-bit user code, which runs directly (SDM Vol. 2B
 * SYSRET): RIP from RCX, RFLAGS from R11, the IF it gives both real
 * (user code runs with the guest's own IF) and virtual. */
static void do_sysret(struct bt *bt, struct vtx_cpu *cpu,
		      const struct kvm_regs *regs)
{
	uint16_t base = (uint16_t)(bt->star >> 48);

	load_flat(cpu, (uint16_t)((base + 16) | 3), (uint16_t)((base + 8) | 3),
		  3);
	wr(cpu, GUEST_RFLAGS,
	   (regs->r11 & X86_EFLAGS_LIVE_MASK & ~(uint64_t)X86_EFLAGS_RF) |
		   X86_EFLAGS_FIXED);
	bt_vcpu_write8(bt, BT_VCPU_VIF, (regs->r11 & X86_EFLAGS_IF) != 0);
	wr(cpu, GUEST_RIP, regs->rcx);
}

/*
 * SYSCALL from guest user code (SDM Vol. 2B SYSCALL), taken as the #UD
 * the container's EFER.SCE = 0 raises: RCX and R11 as the processor
 * sets them, CS and SS from STAR, RFLAGS masked by SFMASK (IF into the
 * virtual IF), and the kernel entry at LSTAR runs translated.
 */
static void do_syscall(struct bt *bt, struct vtx_cpu *cpu, uint64_t rip)
{
	struct kvm_regs regs;
	uint64_t rflags = rd(cpu, GUEST_RFLAGS);
	uint16_t cs = (uint16_t)((bt->star >> 32) & 0xfffc);

	vtx_cpu_get_regs(cpu, &regs);
	regs.rcx = rip + 2;
	regs.r11 = rflags & ~(uint64_t)X86_EFLAGS_RF;
	vtx_cpu_set_regs(cpu, &regs);
	rflags &= ~(bt->sfmask | X86_EFLAGS_RF);
	bt_vcpu_write8(bt, BT_VCPU_VIF, (rflags & X86_EFLAGS_IF) != 0);
	/* In the TC the real IF is the container's: off. */
	wr(cpu, GUEST_RFLAGS,
	   (rflags & ~(uint64_t)X86_EFLAGS_IF) | X86_EFLAGS_FIXED);
	load_flat(cpu, cs, (uint16_t)(cs + 8), 0);
	wr(cpu, GUEST_RIP, bt->lstar);
	bt->stats.syscalls++;
}

/* RDMSR and WRMSR of the SYSCALL MSRs and EFER, kept virtual; any other
 * MSR stops the run (the software VMM has no MSR model of its own). */
static int do_msr(struct bt *bt, struct vtx_cpu *cpu, struct kvm_regs *regs,
		  const struct bt_site *site, struct bt_stop *stop)
{
	uint8_t b[2] = { 0 };
	bool write;
	uint32_t msr = (uint32_t)regs->rcx;
	uint64_t v = (regs->rdx << 32) | (uint32_t)regs->rax;
	uint64_t efer = rd(cpu, GUEST_IA32_EFER);
	uint64_t *slot = msr == MSR_STAR	   ? &bt->star
			 : msr == MSR_LSTAR	   ? &bt->lstar
			 : msr == MSR_SYSCALL_MASK ? &bt->sfmask
						   : NULL;

	bt->cfg.ops->read(bt->cfg.opaque, site->guest_rip, b, 2);
	write = b[1] == 0x30; /* 0f 30 wrmsr, 0f 32 rdmsr */
	if (!slot && msr != MSR_EFER)
		return stop_unimpl(bt, stop, site->guest_rip,
				   "RDMSR/WRMSR of an MSR the software VMM "
				   "does not virtualize");
	if (!write) {
		v = slot ? *slot : efer | (bt->sce ? EFER_SCE : 0);
		regs->rax = (uint32_t)v;
		regs->rdx = v >> 32;
		vtx_cpu_set_regs(cpu, regs);
		return 1;
	}
	if (slot) {
		*slot = v;
		return 1;
	}
	if ((v & ~(uint64_t)EFER_SCE) != efer)
		return stop_unimpl(bt, stop, site->guest_rip,
				   "WRMSR to EFER changing more than SCE");
	bt->sce = (v & EFER_SCE) != 0;
	return 1;
}

/* LGDT and LIDT: the container's GDTR and IDTR are the guest's own (no
 * exception or interrupt is delivered through them while the container
 * runs: every one exits). */
static int do_desc(struct bt *bt, struct vtx_cpu *cpu,
		   const struct kvm_regs *regs, const struct bt_site *site,
		   struct bt_stop *stop)
{
	ZydisDecodedInstruction zi;
	ZydisDecodedOperand ops[ZYDIS_MAX_OPERAND_COUNT];
	const ZydisDecodedOperand *o = &ops[0];
	uint8_t dt[10];
	uint64_t ea = 0, base;
	bool idt;

	if (decode_at(bt, site->guest_rip, &zi, ops) ||
	    (zi.mnemonic != ZYDIS_MNEMONIC_LGDT &&
	     zi.mnemonic != ZYDIS_MNEMONIC_LIDT) ||
	    o->type != ZYDIS_OPERAND_TYPE_MEMORY ||
	    o->mem.segment == ZYDIS_REGISTER_FS ||
	    o->mem.segment == ZYDIS_REGISTER_GS)
		return stop_unimpl(bt, stop, site->guest_rip, "LTR, LLDT");
	idt = zi.mnemonic == ZYDIS_MNEMONIC_LIDT;
	if (o->mem.base == ZYDIS_REGISTER_RIP)
		ea = site->guest_next;
	else if (o->mem.base != ZYDIS_REGISTER_NONE)
		ea = reg_value(regs, o->mem.base, rd(cpu, GUEST_RSP));
	if (o->mem.index != ZYDIS_REGISTER_NONE)
		ea += reg_value(regs, o->mem.index, rd(cpu, GUEST_RSP)) *
		      o->mem.scale;
	ea += (uint64_t)o->mem.disp.value;
	if (bt->cfg.ops->read(bt->cfg.opaque, ea, dt, sizeof(dt)))
		return stop_unimpl(bt, stop, site->guest_rip,
				   "LGDT/LIDT operand not readable");
	memcpy(&base, dt + 2, 8);
	wr(cpu, idt ? GUEST_IDTR_LIMIT : GUEST_GDTR_LIMIT,
	   (uint64_t)dt[0] | ((uint64_t)dt[1] << 8));
	wr(cpu, idt ? GUEST_IDTR_BASE : GUEST_GDTR_BASE, base);
	return 1;
}

/* INVLPG m (SDM Vol. 2A INVLPG): the linear address goes to L0's MMU;
 * the block ended at it, so the guest continues after it. */
static int do_invlpg(struct bt *bt, struct vtx_cpu *cpu,
		     const struct kvm_regs *regs, const struct bt_site *site,
		     bool *guest_addr, struct bt_stop *stop)
{
	ZydisDecodedInstruction zi;
	ZydisDecodedOperand ops[ZYDIS_MAX_OPERAND_COUNT];
	const ZydisDecodedOperand *o = &ops[0];
	uint64_t ea = 0;

	if (decode_at(bt, site->guest_rip, &zi, ops) ||
	    o->type != ZYDIS_OPERAND_TYPE_MEMORY ||
	    o->mem.segment == ZYDIS_REGISTER_FS ||
	    o->mem.segment == ZYDIS_REGISTER_GS)
		return stop_unimpl(bt, stop, site->guest_rip, "INVLPG form");
	if (o->mem.base == ZYDIS_REGISTER_RIP)
		ea = site->guest_next;
	else if (o->mem.base != ZYDIS_REGISTER_NONE)
		ea = reg_value(regs, o->mem.base, rd(cpu, GUEST_RSP));
	if (o->mem.index != ZYDIS_REGISTER_NONE)
		ea += reg_value(regs, o->mem.index, rd(cpu, GUEST_RSP)) *
		      o->mem.scale;
	ea += (uint64_t)o->mem.disp.value;
	bt->cfg.ops->invlpg(bt->cfg.opaque, ea);
	wr(cpu, GUEST_RIP, site->guest_next);
	*guest_addr = true;
	return 1;
}

/*
 * One callout. Returns 1 to continue at GUEST_RIP (a guest RIP when
 * *guest_addr, else a TC address), 0 when the run stops (*stop filled
 * in), -errno on a translation failure.
 */
static int handle_callout(struct bt *bt, struct vtx_cpu *cpu,
			  struct bt_site *site, uint64_t tc_rip,
			  bool *guest_addr, bool *direct, struct bt_stop *stop)
{
	struct kvm_regs regs;
	uint64_t rsp = rd(cpu, GUEST_RSP), v = 0, target;
	uint32_t cpuid[4];
	bool dev_stop = false;

	bt->stats.callouts[site->kind]++;
	bt->stats.callouts_total++;
	bt->stats.cycles_callouts += bt->cfg.costs.callout;
	vtx_cpu_get_regs(cpu, &regs);
	*guest_addr = false;
	*direct = false;
	/* Most callouts continue after their VMCALL. */
	wr(cpu, GUEST_RIP, tc_rip + 3);
	if (bt->cfg.ops->exiting && site->kind != BT_CALLOUT_EXIT &&
	    site->kind != BT_CALLOUT_RET && site->kind != BT_CALLOUT_JMP_IND &&
	    site->kind != BT_CALLOUT_CALL_IND) {
		switch (bt->cfg.ops->exiting(bt->cfg.opaque, cpu, site)) {
		case BT_OP_DEFAULT:
			break;
		case BT_OP_DONE:
			return 1;
		case BT_OP_DONE_NEXT:
			wr(cpu, GUEST_RIP, site->guest_next);
			*guest_addr = true;
			return 1;
		case BT_OP_LEAVE:
		default:
			return stop_leave(stop, site->guest_rip,
					  bt_callout_kind_name(site->kind));
		}
	}

	switch (site->kind) {
	case BT_CALLOUT_EXIT: {
		uint64_t flushes = bt->stats.flushes;
		int ret = bt_translate(bt, site->target, &target);

		if (ret)
			return ret;
		/* A flush during the translation dropped the site, and new
		 * code may sit at its offset: chain only when none came. */
		site = bt_find_site(bt, tc_rip);
		if (flushes == bt->stats.flushes && site &&
		    site->kind == BT_CALLOUT_EXIT && !site->chained)
			bt_chain(bt, site, target);
		wr(cpu, GUEST_RIP, target);
		return 1;
	}
	case BT_CALLOUT_RET:
		/* A miss in the return table: the in-TC sequence popped the
		 * return address (and imm16) already and left it in the
		 * vCPU page. The entry is filled for the next time. */
		v = bt_vcpu_read64(bt, BT_VCPU_OPND);
		if (bt_translate(bt, v, &target))
			return stop_unimpl(bt, stop, site->guest_rip,
					   "RET to code that cannot be read");
		bt_rettab_fill(bt, v, target);
		wr(cpu, GUEST_RIP, target);
		return 1;
	case BT_CALLOUT_JMP_IND:
	case BT_CALLOUT_CALL_IND:
		if (indirect_target(bt, &regs, rsp, site, &target))
			return stop_unimpl(bt, stop, site->guest_rip,
					   "indirect branch operand");
		if (site->kind == BT_CALLOUT_CALL_IND) {
			if (guest_write64(bt, rsp - 8, site->guest_next))
				return stop_unimpl(bt, stop, site->guest_rip,
						   "CALL with a bad stack");
			wr(cpu, GUEST_RSP, rsp - 8);
		}
		wr(cpu, GUEST_RIP, target);
		*guest_addr = true;
		return 1;
	case BT_CALLOUT_PUSHF:
		/* The real IF is the container's; the guest sees its own
		 * (A&A section 2: PUSHF must not reveal the real one). */
		v = (rd(cpu, GUEST_RFLAGS) &
		     ~(uint64_t)(X86_EFLAGS_IF | X86_EFLAGS_RF)) |
		    (bt_vcpu_read8(bt, BT_VCPU_VIF) ? X86_EFLAGS_IF : 0);
		if (guest_write64(bt, rsp - 8, v))
			return stop_unimpl(bt, stop, site->guest_rip,
					   "PUSHF with a bad stack");
		wr(cpu, GUEST_RSP, rsp - 8);
		return 1;
	case BT_CALLOUT_POPF:
		/* A&A's example: at CPL 0 POPF loads IF; translated, the IF
		 * it pops goes to the virtual IF and the real one stays.
		 * The in-TC sequence popped the value into the vCPU page
		 * and calls out for TF or a pending interrupt. */
		v = bt_vcpu_read64(bt, BT_VCPU_OPND);
		bt_vcpu_write8(bt, BT_VCPU_VIF, (v & X86_EFLAGS_IF) != 0);
		wr(cpu, GUEST_RFLAGS,
		   (rd(cpu, GUEST_RFLAGS) & X86_EFLAGS_IF) | X86_EFLAGS_FIXED |
			   (v & POPF_MASK));
		return 1;
	case BT_CALLOUT_CPUID:
		vtx_cpu_cpuid(cpu, (uint32_t)regs.rax, (uint32_t)regs.rcx,
			      cpuid);
		regs.rax = cpuid[0];
		regs.rbx = cpuid[1];
		regs.rcx = cpuid[2];
		regs.rdx = cpuid[3];
		vtx_cpu_set_regs(cpu, &regs);
		return 1;
	case BT_CALLOUT_RDTSC:
		v = bt_virtual_tsc(bt, cpu);
		regs.rax = (uint32_t)v;
		regs.rdx = v >> 32;
		vtx_cpu_set_regs(cpu, &regs);
		return 1;
	case BT_CALLOUT_HLT:
		/* No interrupt source reaches a guest under BT yet: HLT can
		 * never be woken, as the model stops natively. */
		stop->reason = BT_STOP_HALTED;
		stop->guest_rip = site->guest_rip;
		snprintf(stop->why, sizeof(stop->why),
			 "HLT at %#llx with nothing to wake it",
			 (unsigned long long)site->guest_rip);
		wr(cpu, GUEST_RIP, site->guest_next);
		return 0;
	case BT_CALLOUT_IO:
		if (do_io(bt, &regs, site, &dev_stop))
			return stop_unimpl(bt, stop, site->guest_rip,
					   "port I/O form");
		vtx_cpu_set_regs(cpu, &regs);
		if (dev_stop) {
			stop->reason = BT_STOP_PLATFORM;
			stop->guest_rip = site->guest_next;
			snprintf(stop->why, sizeof(stop->why),
				 "a device stopped the machine");
			wr(cpu, GUEST_RIP, site->guest_next);
			return 0;
		}
		return 1;
	case BT_CALLOUT_INT: {
		ZydisDecodedInstruction zi;
		ZydisDecodedOperand ops[ZYDIS_MAX_OPERAND_COUNT];

		if (decode_at(bt, site->guest_rip, &zi, ops))
			return stop_unimpl(bt, stop, site->guest_rip, "INT");
		if (zi.mnemonic == ZYDIS_MNEMONIC_IRETQ) {
			if (!do_iret(bt, cpu, site->guest_rip, direct, stop))
				return 0;
			*guest_addr = true;
			return 1;
		}
		if (zi.mnemonic == ZYDIS_MNEMONIC_SYSRET &&
		    zi.operand_width == 64 && bt->sce &&
		    (regs.rcx >> 47 == 0)) {
			/* User code runs directly: no translation. */
			do_sysret(bt, cpu, &regs);
			*direct = true;
			return 1;
		}
		return stop_unimpl(bt, stop, site->guest_rip,
				   "INT n, INT3, SYSRETQ");
	}
	case BT_CALLOUT_WBINVD:
		/* The model has no caches to write back (cpu-model.md). */
		return 1;
	case BT_CALLOUT_VMX:
		return stop_unimpl(bt, stop, site->guest_rip,
				   "a VMX instruction: the software VMM "
				   "runs single-level guests only");
	case BT_CALLOUT_MOV_CR:
		return do_mov_cr(bt, cpu, &regs, site, guest_addr, stop);
	case BT_CALLOUT_DESC:
		/* The translator ends the block at LGDT/LIDT: nothing
		 * follows the VMCALL, so the guest continues after it. */
		if (do_desc(bt, cpu, &regs, site, stop) <= 0)
			return 0;
		wr(cpu, GUEST_RIP, site->guest_next);
		*guest_addr = true;
		return 1;
	case BT_CALLOUT_MSR:
		return do_msr(bt, cpu, &regs, site, stop);
	case BT_CALLOUT_INVLPG:
		if (!bt->cfg.ops->invlpg)
			break;
		return do_invlpg(bt, cpu, &regs, site, guest_addr, stop);
	case BT_CALLOUT_UNIMPL:
		if (site->tc_off == BT_VCPU_BADRET)
			return stop_unimpl(bt, stop,
					   bt_vcpu_read64(bt, BT_VCPU_OPND),
					   "RET to a non-canonical address");
		break;
	case BT_NR_CALLOUT_KINDS:
		break;
	}
	return stop_unimpl(bt, stop, site->guest_rip,
			   bt_callout_kind_name(site->kind));
}

/* Where the guest goes on after an exception exit L0 resolved: the
 * translation of guest_rip, or guest_rip itself for directly run code. */
static void resume_at(struct vtx_cpu *cpu, bool in_tc, uint64_t guest_rip,
		      uint64_t *next_guest)
{
	if (in_tc) {
		*next_guest = guest_rip;
		return;
	}
	wr(cpu, GUEST_RIP, guest_rip);
	*next_guest = ~0ull;
}

/* An exception exit: a write to translated code (coherence) or the
 * guest's own exception. 1 to continue, 0 stopped. */
static int handle_exception(struct bt *bt, struct vtx_cpu *cpu,
			    uint64_t *next_guest, struct bt_stop *stop)
{
	uint32_t info = (uint32_t)rd(cpu, VM_EXIT_INTR_INFO);
	unsigned int vector = info & INTR_INFO_VECTOR_MASK;
	uint64_t err = rd(cpu, VM_EXIT_INTR_ERROR_CODE);
	uint64_t qual = rd(cpu, EXIT_QUALIFICATION);
	uint64_t rip = rd(cpu, GUEST_RIP), grip = rip;
	/* A fault in the TC happened at the guest instruction it came
	 * from; a fault in directly run code (user code) is already at its
	 * RIP, and that code goes on running directly. */
	bool in_tc = bt_guest_rip(bt, rip, &grip);

	bt->stats.cycles_traps += bt->cfg.costs.trap;
	if (!in_tc && vector == 6 && bt->sce &&
	    (rd(cpu, GUEST_CS_SELECTOR) & 3) == 3) {
		uint8_t b[2] = { 0 };

		bt->cfg.ops->read(bt->cfg.opaque, rip, b, 2);
		if (b[0] == 0x0f && b[1] == 0x05) {
			do_syscall(bt, cpu, rip);
			*next_guest = bt->lstar;
			return 1;
		}
	}
	if (vector == 14 && (err & PF_ERR_W) && bt_code_written(bt, qual)) {
		/* The TC is gone and the page writable: the store runs
		 * again, from a new translation (or directly). */
		if (!in_tc)
			bt->next_unprotected = false;
		resume_at(cpu, in_tc, grip, next_guest);
		return 1;
	}
	if (vector == 14 && bt->cfg.ops->page_fault) {
		uint32_t ec = (uint32_t)err;
		uint64_t resume = grip;
		int ret = bt->cfg.ops->page_fault(bt->cfg.opaque, qual, &ec,
						  grip, &resume);

		if (ret < 0) {
			stop->reason = BT_STOP_EXIT;
			stop->exit_reason = EXIT_REASON_EXCEPTION_NMI;
			stop->guest_rip = grip;
			snprintf(stop->why, sizeof(stop->why),
				 "#PF at 0x%llx stopped by L0's MMU",
				 (unsigned long long)qual);
			return 0;
		}
		if (ret == 0) {
			/* A hidden fault: not the guest's, and no trap
			 * charge beyond the one above. */
			resume_at(cpu, in_tc, resume, next_guest);
			return 1;
		}
		err = ec;
	}
	if (bt->cfg.leave_on_fault)
		return stop_leave(stop, grip, "a guest exception");
	if (vector == 14) {
		/* A #PF that exits leaves CR2 alone (SDM Vol. 3C 27.1):
		 * the guest's CR2 is written as delivery would. */
		struct kvm_sregs sregs;

		vtx_cpu_get_sregs(cpu, &sregs);
		sregs.cr2 = qual;
		vtx_cpu_set_sregs(cpu, &sregs);
	}
	/* Faults are delivered with the RIP of the faulting instruction;
	 * #DB and #BP traps are not produced by translated code. */
	if (!deliver_exception(bt, cpu, vector,
			       (info & INTR_INFO_DELIVER_CODE_MASK) != 0, err,
			       grip, stop))
		return 0;
	*next_guest = rd(cpu, GUEST_RIP);
	return 1;
}

/*
 * RDTSC of guest user code, which runs directly: the container makes it
 * exit (RDTSC exiting) so that it reads the virtual TSC as the kernel's
 * translated RDTSC does. Nothing is charged: on A&A's software VMM user
 * code's RDTSC runs natively, and the exit is not on the virtual clock.
 */
static void user_rdtsc(struct bt *bt, struct vtx_cpu *cpu, uint64_t rip)
{
	struct kvm_regs regs;
	uint64_t v = bt_virtual_tsc(bt, cpu);

	vtx_cpu_get_regs(cpu, &regs);
	regs.rax = (uint32_t)v;
	regs.rdx = v >> 32;
	vtx_cpu_set_regs(cpu, &regs);
	wr(cpu, GUEST_RIP, rip + rd(cpu, VM_EXIT_INSTRUCTION_LEN));
	bt->stats.user_rdtsc++;
}

/* The instruction budget left for the next entry: false (the run stops)
 * when it is spent, as L0's hardware path does (l0/vm.c). */
static bool set_budget(struct bt *bt, struct vtx_cpu *cpu, struct bt_stop *stop)
{
	struct vtx_cpu_stats st;

	vtx_cpu_get_stats(cpu, &st);
	if (st.insns < bt->insn_limit) {
		vtx_cpu_set_insn_limit(cpu, bt->insn_limit - st.insns);
		return true;
	}
	stop->reason = BT_STOP_INSN_LIMIT;
	stop->guest_rip = rd(cpu, GUEST_RIP);
	if (!bt_guest_rip(bt, stop->guest_rip, &stop->guest_rip) &&
	    stop->guest_rip >= bt->cfg.tc_gva)
		stop->guest_rip = 0;
	snprintf(stop->why, sizeof(stop->why), "instruction limit reached");
	return false;
}

int bt_run(struct bt *bt, struct vtx_cpu *cpu, uint64_t guest_rip,
	   struct bt_stop *stop)
{
	uint64_t tc_rip;
	int ret;

	memset(stop, 0, sizeof(*stop));
	for (;;) {
		struct vtx_stop vs;
		uint32_t reason;
		bool guest_addr = false, direct = false;

		if (guest_rip != ~0ull) {
			ret = bt_translate(bt, guest_rip, &tc_rip);
			if (ret)
				return ret;
			wr(cpu, GUEST_RIP, tc_rip);
		}
		if (bt->insn_limit && !set_budget(bt, cpu, stop))
			return 0;
		ret = bt->launched ? vtx_vmresume(cpu, &vs)
				   : vtx_vmlaunch(cpu, &vs);
		if (ret) {
			snprintf(bt->err, sizeof(bt->err),
				 "bt: entering the container failed (%d)", ret);
			return -EIO;
		}
		bt->launched = true;
		guest_rip = ~0ull;
		tc_rip = rd(cpu, GUEST_RIP);
		if (vs.reason != VTX_STOP_VMEXIT) {
			stop->reason = vs.reason == VTX_STOP_INSN_LIMIT
					       ? BT_STOP_INSN_LIMIT
					       : BT_STOP_EXIT;
			/* The model stopped inside the container, where the
			 * VMCS's RIP is not saved: its own RIP, in the TC or
			 * in directly run user code. */
			if (!bt_guest_rip(bt, vs.rip, &stop->guest_rip))
				stop->guest_rip = vs.rip;
			snprintf(stop->why, sizeof(stop->why), "%s",
				 vs.why[0] ? vs.why
					   : vtx_stop_reason_name(vs.reason));
			return 0;
		}
		reason = (uint32_t)rd(cpu, VM_EXIT_REASON) & 0xffff;
		if (reason == EXIT_REASON_VMCALL) {
			struct bt_site *site = bt_find_site(bt, tc_rip);

			if (!site)
				goto unhandled;
			ret = handle_callout(bt, cpu, site, tc_rip, &guest_addr,
					     &direct, stop);
			if (ret <= 0)
				return ret;
			if (guest_addr && !direct)
				guest_rip = rd(cpu, GUEST_RIP);
			continue;
		}
		if (reason == EXIT_REASON_RDTSC &&
		    !bt_guest_rip(bt, tc_rip, &stop->guest_rip)) {
			user_rdtsc(bt, cpu, tc_rip);
			continue;
		}
		if (reason == EXIT_REASON_EXCEPTION_NMI) {
			if (!handle_exception(bt, cpu, &guest_rip, stop))
				return 0;
			continue;
		}
	unhandled:
		stop->reason = BT_STOP_EXIT;
		stop->exit_reason = reason;
		bt_guest_rip(bt, tc_rip, &stop->guest_rip);
		snprintf(stop->why, sizeof(stop->why),
			 "container exit %u at TC %#llx", reason,
			 (unsigned long long)tc_rip);
		return 0;
	}
}
