/* SPDX-License-Identifier: MIT */
/*
 * exception.c - raising exceptions from instructions, the double-fault and
 * triple-fault rules, and event delivery through the IA-32e IDT and the
 * 32-bit protected-mode IDT (SDM Vol. 3A 6.10-6.12, 6.14, 6.15 Table 6-5).
 * Model side.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "arch/vmx_exit_qual.h"
#include "arch/x86_seg.h"
#include "vtx/vmx.h"
#include "vtx/exec.h"

static const char *const vector_names[32] = {
	"#DE", "#DB", "NMI", "#BP", "#OF", "#BR", "#UD", "#NM",
	"#DF", "#09", "#TS", "#NP", "#SS", "#GP", "#PF", "#15",
	"#MF", "#AC", "#MC", "#XM", "#VE", "#CP", "#22", "#23",
	"#24", "#25", "#26", "#27", "#HV", "#VC", "#SX", "#31",
};

static void chain_add(struct vtx_cpu *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void chain_add(struct vtx_cpu *c, const char *fmt, ...)
{
	size_t len = strlen(c->fault_chain);
	va_list ap;

	if (len >= sizeof(c->fault_chain) - 1)
		return;
	va_start(ap, fmt);
	vsnprintf(c->fault_chain + len, sizeof(c->fault_chain) - len, fmt, ap);
	va_end(ap);
}

void vtx_raise(struct vtx_cpu *c, int vector, uint32_t error_code,
	       bool has_error)
{
	c->pend_vector = vector;
	c->pend_error = error_code;
	c->pend_has_error = has_error;
	longjmp(c->fault_jmp, 1);
}

/* SDM Vol. 3A Table 6-4: benign, contributory, page fault. */
enum exc_class { EXC_BENIGN, EXC_CONTRIBUTORY, EXC_PAGE_FAULT };

static enum exc_class exc_class(int v)
{
	switch (v) {
	case DE_VECTOR:
	case TS_VECTOR:
	case NP_VECTOR:
	case SS_VECTOR:
	case GP_VECTOR:
		return EXC_CONTRIBUTORY;
	case PF_VECTOR:
		return EXC_PAGE_FAULT;
	default:
		return EXC_BENIGN;
	}
}

__attribute__((noreturn)) static void shutdown(struct vtx_cpu *c)
{
	/* In VMX non-root operation a triple fault is a VM exit. */
	if (c->vmx.non_root)
		vtx_vmx_triple_fault(c);
	c->shutdown = true;
	vtx_request_stop(c);
	longjmp(c->fault_jmp, 2);
}

static void read_desc(struct vtx_cpu *c, uint16_t sel, uint64_t *lo,
		      uint32_t ext)
{
	const struct kvm_dtable *t = &c->gdt;
	uint32_t off = sel & ~7u;

	if (sel & SEL_TI) {
		/* The LDT is out of reach of 64-bit event delivery here. */
		if (c->ldt.unusable || !c->ldt.present)
			raise_gp(c, (sel & 0xfffc) | ext);
		off += 0;
		if (off + 7 > c->ldt.limit)
			raise_gp(c, (sel & 0xfffc) | ext);
		vtx_read_sys(c, c->ldt.base + off, lo, 8);
		return;
	}
	if (off + 7 > t->limit)
		raise_gp(c, (sel & 0xfffc) | ext);
	vtx_read_sys(c, t->base + off, lo, 8);
}

/* What the model does not deliver: recorded, then the CPU stops as on a
 * triple fault, with the chain saying why. */
__attribute__((noreturn)) static void unimplemented_delivery(struct vtx_cpu *c,
							     const char *what)
{
	vtx_note_unimplemented(c, c->rip, NULL, 0, what);
	chain_add(c, ", not delivered: %s", what);
	shutdown(c);
}

/*
 * Protected-mode delivery through a 16- or 32-bit interrupt or trap gate
 * (SDM Vol. 3A 6.10-6.12.1): the 8-byte gate, its code segment, then
 * EFLAGS, CS, EIP and the error code pushed as words or doublewords (the
 * gate's size). A handler at a more privileged level runs on the stack
 * the TSS gives for it, with the old SS and ESP pushed first (6.12.1,
 * Figure 6-4). Task gates would switch tasks, which the model does not
 * do: recorded, and the CPU stops.
 */
static void deliver_prot32(struct vtx_cpu *c, int vector, uint32_t error_code,
			   bool has_error, bool software, uint64_t return_rip)
{
	uint32_t ext = software ? 0 : 1;
	uint32_t idt_ec = (uint32_t)vector * 8 + 2 + ext;
	uint32_t g[2], target;
	uint64_t frame[6], sp, la;
	struct kvm_segment cs, ss;
	uint64_t desc;
	unsigned n = 0, type, dpl, sz, new_cpl, cpl = (unsigned)c->cpl;
	uint16_t sel;
	bool gate16;

	if ((uint64_t)vector * 8 + 7 > c->idt.limit)
		raise_gp(c, idt_ec);
	vtx_read_sys(c, c->idt.base + (uint64_t)vector * 8, g, sizeof(g));
	type = (g[1] >> 8) & IDT_GATE_TYPE_MASK;
	dpl = (g[1] >> (8 + IDT_GATE_DPL_SHIFT)) & 3;
	if (type == SEG_TYPE_TASK_GATE)
		unimplemented_delivery(c, "task switch (IDT task gate)");
	gate16 = type == SEG_TYPE_INT_GATE16 || type == SEG_TYPE_TRAP_GATE16;
	if (!gate16 && type != SEG_TYPE_INT_GATE32 &&
	    type != SEG_TYPE_TRAP_GATE32)
		raise_gp(c, idt_ec);
	if (software && dpl < cpl)
		raise_gp(c, idt_ec);
	if (!((g[1] >> 8) & IDT_GATE_P))
		vtx_raise(c, NP_VECTOR, idt_ec, true);

	sel = (uint16_t)(g[0] >> 16);
	sz = gate16 ? 2 : 4;
	target = (g[0] & 0xffff) | (gate16 ? 0 : (g[1] & 0xffff0000u));
	if (x86_sel_is_null(sel))
		raise_gp(c, ext);
	read_desc(c, sel, &desc, ext);
	x86_seg_decode_desc(&cs, desc, sel);
	if (!cs.s || !(cs.type & SEG_TYPE_CODE) || cs.dpl > cpl)
		raise_gp(c, (sel & 0xfffc) | ext);
	if (!cs.present)
		vtx_raise(c, NP_VECTOR, (sel & 0xfffc) | ext, true);
	if (target > cs.limit)
		raise_gp(c, ext);
	new_cpl = (cs.type & SEG_TYPE_CONFORMING) ? cpl : cs.dpl;

	/* Frame, lowest address first. */
	if (has_error)
		frame[n++] = error_code;
	frame[n++] = (uint32_t)return_rip;
	frame[n++] = c->seg[SEG_CS].selector;
	frame[n++] = (uint32_t)c->rflags;
	if (new_cpl < cpl) {
		uint16_t ss_sel;
		uint32_t esp;

		vtx_tss_stack(c, new_cpl, ext, &ss_sel, &esp);
		vtx_new_ss(c, ss_sel, new_cpl, ext, &ss);
		frame[n++] = c->gpr[REG_RSP] &
			     (c->seg[SEG_SS].db ? 0xffffffffu : 0xffffu);
		frame[n++] = c->seg[SEG_SS].selector;
		sp = (esp - n * sz) & (ss.db ? 0xffffffffu : 0xffffu);
		la = vtx_new_stack_la(c, &ss, sp, n * sz, ext);
		if (!ss.db)
			sp |= c->gpr[REG_RSP] & ~0xffffull;
	} else {
		sp = vtx_sp_plus(c, -(int64_t)(n * sz));
		la = vtx_stack_la(c, sp, n * sz);
	}
	{
		uint8_t buf[6 * 4];

		for (unsigned k = 0; k < n; k++)
			memcpy(buf + k * sz, &frame[k], sz);
		vtx_write_sys(c, la, buf, n * sz);
	}

	/* Nothing can fault from here on: commit. */
	cs.selector = (uint16_t)((sel & ~3u) | new_cpl);
	c->seg[SEG_CS] = cs;
	if (new_cpl < cpl)
		c->seg[SEG_SS] = ss;
	c->gpr[REG_RSP] = sp;
	c->rflags &= ~(uint64_t)(X86_EFLAGS_TF | X86_EFLAGS_NT | X86_EFLAGS_RF |
				 X86_EFLAGS_VM);
	if (type == SEG_TYPE_INT_GATE32 || type == SEG_TYPE_INT_GATE16)
		c->rflags &= ~(uint64_t)X86_EFLAGS_IF;
	c->rip = target;
	c->next_rip = target;
	vtx_update_mode(c);
	c->cpl = (int)new_cpl;
	/* A new CS base changes what a RIP means to chained blocks. */
	c->fetch_gen++;
	if (vector < 32)
		c->stats.exceptions[vector]++;
	c->stats.events++;
	cost_charge(c, c->cost.event);
}

/* IA-32e mode delivery (SDM Vol. 3A 6.14.2-6.14.5). `software` is INT n /
 * INT3 / INTO: the gate's DPL is checked and EXT is 0 in error codes. */
void vtx_deliver_event(struct vtx_cpu *c, int vector, uint32_t error_code,
		       bool has_error, bool software, uint64_t return_rip)
{
	uint32_t ext = software ? 0 : 1;
	uint32_t idt_ec = (uint32_t)vector * 8 + 2 + ext;
	struct x86_idt_gate64 g;
	struct kvm_segment cs;
	uint64_t desc, frame[6], rsp;
	unsigned n = 0, new_cpl, type;

	if (c->mode == VTX_MODE_REAL) {
		vtx_deliver_real(c, vector, return_rip);
		return;
	}
	if (c->mode == VTX_MODE_PROT32 || c->mode == VTX_MODE_PROT16) {
		deliver_prot32(c, vector, error_code, has_error, software,
			       return_rip);
		return;
	}
	if (!(c->efer & EFER_LMA))
		unimplemented_delivery(c, "real-mode event delivery");
	if ((uint64_t)vector * 16 + 15 > c->idt.limit)
		raise_gp(c, idt_ec);
	vtx_read_sys(c, c->idt.base + (uint64_t)vector * 16, &g, sizeof(g));
	type = g.type_attr & IDT_GATE_TYPE_MASK;
	if (type != SEG_TYPE_INT_GATE64 && type != SEG_TYPE_TRAP_GATE64)
		raise_gp(c, idt_ec);
	if (software && (unsigned)((g.type_attr >> IDT_GATE_DPL_SHIFT) & 3) <
				(unsigned)c->cpl)
		raise_gp(c, idt_ec);
	if (!(g.type_attr & IDT_GATE_P))
		vtx_raise(c, NP_VECTOR, idt_ec, true);

	if (x86_sel_is_null(g.selector))
		raise_gp(c, ext);
	read_desc(c, g.selector, &desc, ext);
	x86_seg_decode_desc(&cs, desc, g.selector);
	if (!cs.s || !(cs.type & SEG_TYPE_CODE) || !cs.l || cs.db ||
	    cs.dpl > c->cpl)
		raise_gp(c, (g.selector & 0xfffc) | ext);
	if (!cs.present)
		vtx_raise(c, NP_VECTOR, (g.selector & 0xfffc) | ext, true);
	new_cpl = (cs.type & SEG_TYPE_CONFORMING) ? (unsigned)c->cpl : cs.dpl;

	/* The new stack: an IST slot, the TSS's RSPn for a more privileged
	 * level, or the current stack; aligned to 16 bytes (SDM 6.14.2). */
	unsigned ist = g.ist & IDT_GATE_IST_MASK;
	if (ist || new_cpl < (unsigned)c->cpl) {
		uint32_t off = ist ? 0x1c + ist * 8 : 4 + new_cpl * 8;
		if (off + 7 > c->tr.limit)
			vtx_raise(c, TS_VECTOR, c->tr.selector & 0xfffc, true);
		vtx_read_sys(c, c->tr.base + off, &rsp, 8);
	} else {
		rsp = c->gpr[REG_RSP];
	}
	rsp &= ~0xfull;

	uint64_t target = x86_idt_gate64_get_offset(&g);
	if ((uint64_t)((int64_t)(target << 16) >> 16) != target)
		raise_gp(c, ext);

	/* Frame, lowest address first. */
	if (has_error)
		frame[n++] = error_code;
	frame[n++] = return_rip;
	frame[n++] = c->seg[SEG_CS].selector;
	frame[n++] = c->rflags;
	frame[n++] = c->gpr[REG_RSP];
	frame[n++] = c->seg[SEG_SS].selector;
	rsp -= n * 8;
	vtx_write_sys(c, rsp, frame, n * 8);

	/* Nothing can fault from here on: commit. */
	if (new_cpl != (unsigned)c->cpl) {
		/* SS gets a null selector with RPL = new CPL (SDM 6.14.4). */
		struct kvm_segment *ss = &c->seg[SEG_SS];
		ss->selector = (uint16_t)new_cpl;
		ss->unusable = 1;
		ss->dpl = (uint8_t)new_cpl;
	}
	cs.selector = (uint16_t)((g.selector & ~3u) | new_cpl);
	if (!(desc & ((uint64_t)SEG_TYPE_ACCESSED << DESC_TYPE_SHIFT)))
		cs.type |= SEG_TYPE_ACCESSED;
	c->seg[SEG_CS] = cs;
	c->gpr[REG_RSP] = rsp;
	c->rflags &= ~(uint64_t)(X86_EFLAGS_TF | X86_EFLAGS_NT | X86_EFLAGS_RF |
				 X86_EFLAGS_VM);
	if (type == SEG_TYPE_INT_GATE64)
		c->rflags &= ~(uint64_t)X86_EFLAGS_IF;
	c->rip = target;
	c->next_rip = target;
	vtx_update_mode(c);
	c->cpl = (int)new_cpl;
	if (vector < 32)
		c->stats.exceptions[vector]++;
	c->stats.events++;
	cost_charge(c, c->cost.event);
}

/* Called by the run loop after vtx_raise() longjmp'd to it: applies the
 * double-fault rules and delivers. May itself longjmp again (a fault
 * during delivery), which re-enters here with c->delivering set. */
void vtx_handle_fault(struct vtx_cpu *c)
{
	int v = c->pend_vector;
	uint32_t ec = c->pend_error;
	bool has_ec = c->pend_has_error;

	if (c->delivering < 0) {
		c->fault_chain[0] = '\0';
		chain_add(c, "%s", vector_names[v & 31]);
		if (has_ec)
			chain_add(c, "(0x%x)", ec);
		if (v == PF_VECTOR)
			chain_add(c, " cr2=0x%llx",
				  (unsigned long long)c->pend_cr2);
		chain_add(c, " at RIP 0x%llx", (unsigned long long)c->rip);
	} else {
		int first = c->delivering;
		if (first == DF_VECTOR) {
			chain_add(c, ", then %s while delivering #DF",
				  vector_names[v & 31]);
			/* In VMX non-root operation an exception the bitmap
			 * intercepts exits before it could make a triple
			 * fault (SDM Vol. 3C 26.2, "Triple fault"). */
			if (c->vmx.non_root)
				vtx_vmx_exception(c, v, ec, has_ec, false, 0);
			shutdown(c);
		}
		enum exc_class a = exc_class(first), b = exc_class(v);
		chain_add(c, ", then %s", vector_names[v & 31]);
		if (has_ec)
			chain_add(c, "(0x%x)", ec);
		chain_add(c, " while delivering it");
		/* The exception bitmap sees the second exception before the
		 * two could combine into #DF: one it intercepts exits, with
		 * the first event in the IDT-vectoring information (SDM
		 * Vol. 3C 28.2.4). A shadow-paging hypervisor relies on
		 * this to fill a #PF met while delivering a #PF; Bochs
		 * intercepts in the same order. */
		if (c->vmx.non_root)
			vtx_vmx_exception(c, v, ec, has_ec, false, 0);
		if ((a == EXC_CONTRIBUTORY && b == EXC_CONTRIBUTORY) ||
		    (a == EXC_PAGE_FAULT && b != EXC_BENIGN)) {
			v = DF_VECTOR;
			ec = 0;
			has_ec = true;
			chain_add(c, ", so #DF");
		}
	}
	/* Real-address mode pushes no error codes (SDM Vol. 3A 20.1.4). */
	if (!(c->cr0 & X86_CR0_PE))
		has_ec = false;
	/* The exception bitmap may turn it into a VM exit (SDM 26.2). */
	if (c->vmx.non_root)
		vtx_vmx_exception(c, v, ec, has_ec, false, 0);
	/* Delivered: whatever an IRET did to NMI blocking stays done. */
	c->iret_unblocked_nmi = false;
	/* A #PF loads CR2 unless it exits, also when it turns into #DF. */
	if (c->pend_vector == PF_VECTOR)
		c->cr2 = c->pend_cr2;
	c->delivering = v;
	c->delivering_error = ec;
	c->delivering_has_error = has_ec;
	c->delivering_type = INTR_TYPE_HARD_EXCEPTION;
	/* Faults return to the faulting instruction (RIP unchanged); #DB
	 * traps and INT3 are delivered by their instructions directly. */
	vtx_deliver_event(c, v, ec, has_ec, false, c->rip);
	c->delivering = -1;
	/* MTF: a fault delivered without a VM exit makes an MTF VM exit
	 * pending at the boundary after its delivery, before the handler's
	 * first instruction (SDM 26.5.2). */
	if (c->vmx.non_root && (c->vmx.proc & CPU_BASED_MONITOR_TRAP_FLAG))
		c->mtf_pending = true;
}
