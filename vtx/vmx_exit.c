/* SPDX-License-Identifier: MIT */
/*
 * vmx_exit.c - VM exits: recording the exit information, saving guest
 * state, the MSR-store area, loading host state (or returning to a C host),
 * and the non-root interception tests the instruction handlers call (I/O
 * and MSR bitmaps, the exception bitmap, triple fault). One exit path for
 * every cause. SDM Vol. 3C ch. 26 (VMX non-root operation) and ch. 28
 * (VM exits), current numbering. Model side.
 */
#include <stdio.h>

#include <asm/vmx.h>

#include "arch/vmcs.h"
#include "arch/vmx_exit_qual.h"
#include "arch/x86_msr.h"
#include "arch/x86_seg.h"
#include "vtx/exec.h"
#include "vtx/vmcs_access.h"
#include "vtx/paging.h"
#include "vtx/vmx.h"

#define RD(enc) vtx_vmcs_get(c, c->vmx.current, (enc))
#define WR(enc, v) vtx_vmcs_set(c, c->vmx.current, (enc), (v))

/* ---- the instruction-information field (SDM 28.2.5) ------------------------ */

uint32_t vtx_vmx_insn_info(const struct vtx_insn *i, unsigned reg1,
			   unsigned reg2)
{
	uint32_t info = ((reg1 & 15u) << VMX_INSN_INFO_REG1_SHIFT) |
			((reg2 & 15u) << VMX_INSN_INFO_REG2_SHIFT);
	unsigned asz = i->asz == 8 ? 2 : i->asz == 4 ? 1 : 0;

	if (!(i->flags & VTX_INSN_HAS_MEM))
		return info | VMX_INSN_INFO_IS_REG;
	info |= i->scale | (asz << VMX_INSN_INFO_ADDR_SIZE_SHIFT) |
		((uint32_t)i->seg << VMX_INSN_INFO_SEG_SHIFT);
	if (i->index == VTX_REG_NONE)
		info |= VMX_INSN_INFO_INDEX_INVALID;
	else
		info |= (uint32_t)i->index << VMX_INSN_INFO_INDEX_SHIFT;
	/* A RIP-relative operand reports no base register. */
	if (i->base >= 16)
		info |= VMX_INSN_INFO_BASE_INVALID;
	else
		info |= (uint32_t)i->base << VMX_INSN_INFO_BASE_SHIFT;
	return info;
}

uint64_t vtx_vmx_disp_qual(const struct vtx_cpu *c, const struct vtx_insn *i)
{
	if (!(i->flags & VTX_INSN_HAS_MEM))
		return 0;
	if (i->base == VTX_REG_RIP)
		return (uint64_t)i->disp + c->next_rip;
	return (uint64_t)i->disp;
}

/* ---- saving guest state (SDM 28.3) ------------------------------------------ */

/* Inline, so that each field is found by its constant encoding. */
static inline __attribute__((always_inline)) void
save_seg(struct vtx_cpu *c, const struct kvm_segment *s, uint32_t sel,
	 uint32_t base, uint32_t lim, uint32_t ar)
{
	WR(sel, s->selector);
	WR(base, s->base);
	WR(lim, s->limit);
	WR(ar, x86_seg_to_vmx_ar(s));
}

static void save_guest_state(struct vtx_cpu *c)
{
	struct vtx_vmx *v = &c->vmx;

	WR(GUEST_CR0, c->cr0);
	WR(GUEST_CR3, c->cr3);
	WR(GUEST_CR4, c->cr4);
	/* With EPT, a guest under PAE paging has its PDPTEs saved (SDM
	 * Vol. 3C 28.3.4). */
	if ((v->proc2 & SECONDARY_EXEC_ENABLE_EPT) &&
	    paging_is_pae(c->cr0, c->cr4, c->efer)) {
		WR(GUEST_PDPTR0, c->pdpte[0]);
		WR(GUEST_PDPTR1, c->pdpte[1]);
		WR(GUEST_PDPTR2, c->pdpte[2]);
		WR(GUEST_PDPTR3, c->pdpte[3]);
	}
	if (v->exit_ctls & VM_EXIT_SAVE_DEBUG_CONTROLS)
		WR(GUEST_DR7, c->dr[7]);
	WR(GUEST_RSP, c->gpr[REG_RSP]);
	WR(GUEST_RIP, c->rip);
	WR(GUEST_RFLAGS, c->rflags);
	save_seg(c, &c->seg[SEG_ES], GUEST_ES_SELECTOR, GUEST_ES_BASE,
		 GUEST_ES_LIMIT, GUEST_ES_AR_BYTES);
	save_seg(c, &c->seg[SEG_CS], GUEST_CS_SELECTOR, GUEST_CS_BASE,
		 GUEST_CS_LIMIT, GUEST_CS_AR_BYTES);
	save_seg(c, &c->seg[SEG_SS], GUEST_SS_SELECTOR, GUEST_SS_BASE,
		 GUEST_SS_LIMIT, GUEST_SS_AR_BYTES);
	save_seg(c, &c->seg[SEG_DS], GUEST_DS_SELECTOR, GUEST_DS_BASE,
		 GUEST_DS_LIMIT, GUEST_DS_AR_BYTES);
	save_seg(c, &c->seg[SEG_FS], GUEST_FS_SELECTOR, GUEST_FS_BASE,
		 GUEST_FS_LIMIT, GUEST_FS_AR_BYTES);
	save_seg(c, &c->seg[SEG_GS], GUEST_GS_SELECTOR, GUEST_GS_BASE,
		 GUEST_GS_LIMIT, GUEST_GS_AR_BYTES);
	save_seg(c, &c->tr, GUEST_TR_SELECTOR, GUEST_TR_BASE, GUEST_TR_LIMIT,
		 GUEST_TR_AR_BYTES);
	save_seg(c, &c->ldt, GUEST_LDTR_SELECTOR, GUEST_LDTR_BASE,
		 GUEST_LDTR_LIMIT, GUEST_LDTR_AR_BYTES);
	WR(GUEST_GDTR_BASE, c->gdt.base);
	WR(GUEST_GDTR_LIMIT, c->gdt.limit);
	WR(GUEST_IDTR_BASE, c->idt.base);
	WR(GUEST_IDTR_LIMIT, c->idt.limit);
	WR(GUEST_SYSENTER_CS, c->sysenter_cs);
	WR(GUEST_SYSENTER_ESP, c->sysenter_esp);
	WR(GUEST_SYSENTER_EIP, c->sysenter_eip);
	if (v->exit_ctls & VM_EXIT_SAVE_IA32_PAT)
		WR(GUEST_IA32_PAT, c->pat);
	if (v->exit_ctls & VM_EXIT_SAVE_IA32_EFER)
		WR(GUEST_IA32_EFER, c->efer);
	/* The activity state (28.3.4): the one the guest was in before
	 * the exit, HLT or wait-for-SIPI while it waited. Interruptibility:
	 * STI or MOV-SS blocking and (virtual-)NMI blocking. */
	WR(GUEST_ACTIVITY_STATE, c->wait_sipi ? GUEST_ACTIVITY_WAIT_SIPI
				 : c->halted  ? GUEST_ACTIVITY_HLT
					      : GUEST_ACTIVITY_ACTIVE);
	WR(GUEST_INTERRUPTIBILITY_INFO,
	   (c->sti_shadow ? (c->mov_ss_shadow ? GUEST_INTR_STATE_MOV_SS
					      : GUEST_INTR_STATE_STI)
			  : 0) |
		   (c->nmi_blocked ? GUEST_INTR_STATE_NMI : 0));
	/* The VMX-preemption timer's remaining count (28.3.4). */
	if ((v->pin & PIN_BASED_VMX_PREEMPTION_TIMER) &&
	    (v->exit_ctls & VM_EXIT_SAVE_VMX_PREEMPTION_TIMER))
		WR(VMX_PREEMPTION_TIMER_VALUE,
		   c->tsc >= c->preempt_deadline
			   ? 0
			   : ((c->preempt_deadline + c->tsc_adjust) >>
			      VTX_VMX_PREEMPT_SHIFT) -
				     ((c->tsc + c->tsc_adjust) >>
				      VTX_VMX_PREEMPT_SHIFT));
	WR(GUEST_PENDING_DBG_EXCEPTIONS, 0);
	/* IA32_VMX_MISC bit 5: EFER.LMA goes into the IA-32e mode guest
	 * entry control (SDM 28.2). */
	uint64_t entry = RD(VM_ENTRY_CONTROLS) & ~(uint64_t)VM_ENTRY_IA32E_MODE;
	if (c->efer & EFER_LMA)
		entry |= VM_ENTRY_IA32E_MODE;
	WR(VM_ENTRY_CONTROLS, entry);
}

/* The VM-exit MSR-store area (SDM 28.4). */
static void store_msrs(struct vtx_cpu *c)
{
	uint64_t addr = RD(VM_EXIT_MSR_STORE_ADDR);
	uint32_t n = (uint32_t)RD(VM_EXIT_MSR_STORE_COUNT);

	for (uint32_t k = 0; k < n; k++) {
		uint64_t e[2];
		if (vtx_hpa_read(c->m, addr + k * 16ull, e, 16))
			break;
		if (vtx_cpu_get_msr(c, (uint32_t)e[0], &e[1]))
			e[1] = 0;
		vtx_hpa_write(c->m, addr + k * 16ull + 8, &e[1], 8);
	}
}

/* ---- loading host state (SDM 28.5) ------------------------------------------- */

static void host_seg(struct kvm_segment *s, uint16_t sel, uint64_t base,
		     bool code, bool lm)
{
	memset(s, 0, sizeof(*s));
	s->selector = sel;
	s->base = base;
	s->limit = 0xffffffff;
	s->type = code ? SEG_TYPE_CODE_XR_ACCESSED : SEG_TYPE_DATA_RW_ACCESSED;
	s->s = 1;
	s->present = 1;
	s->g = 1;
	s->l = code && lm;
	s->db = !(code && lm);
	/* A null data selector leaves the register unusable (28.5.2). */
	s->unusable = !code && !(sel & ~7u);
}

/* A failed MSR load at VM exit is a VMX abort: the CPU shuts down. */
static bool load_host_msrs(struct vtx_cpu *c)
{
	uint64_t addr = RD(VM_EXIT_MSR_LOAD_ADDR);
	uint32_t n = (uint32_t)RD(VM_EXIT_MSR_LOAD_COUNT);

	for (uint32_t k = 0; k < n; k++) {
		uint64_t e[2];
		if (vtx_hpa_read(c->m, addr + k * 16ull, e, 16) ||
		    (e[0] >> 32) || vtx_cpu_set_msr(c, (uint32_t)e[0], e[1]))
			return false;
	}
	return true;
}

static void load_host_state(struct vtx_cpu *c)
{
	uint32_t exit = c->vmx.exit_ctls;
	bool lm = exit & VM_EXIT_HOST_ADDR_SPACE_SIZE;

	c->cr0 = RD(HOST_CR0) | X86_CR0_ET;
	c->cr3 = RD(HOST_CR3);
	c->cr4 = RD(HOST_CR4);
	c->dr[7] = 0x400;
	c->sysenter_cs = RD(HOST_IA32_SYSENTER_CS);
	c->sysenter_esp = RD(HOST_IA32_SYSENTER_ESP);
	c->sysenter_eip = RD(HOST_IA32_SYSENTER_EIP);
	if (exit & VM_EXIT_LOAD_IA32_PAT)
		c->pat = RD(HOST_IA32_PAT);
	if (exit & VM_EXIT_LOAD_IA32_EFER) {
		c->efer = RD(HOST_IA32_EFER);
	} else {
		c->efer &= ~(uint64_t)(EFER_LMA | EFER_LME);
		if (lm)
			c->efer |= EFER_LMA | EFER_LME;
	}
	host_seg(&c->seg[SEG_CS], (uint16_t)RD(HOST_CS_SELECTOR), 0, true, lm);
	host_seg(&c->seg[SEG_SS], (uint16_t)RD(HOST_SS_SELECTOR), 0, false, lm);
	host_seg(&c->seg[SEG_DS], (uint16_t)RD(HOST_DS_SELECTOR), 0, false, lm);
	host_seg(&c->seg[SEG_ES], (uint16_t)RD(HOST_ES_SELECTOR), 0, false, lm);
	host_seg(&c->seg[SEG_FS], (uint16_t)RD(HOST_FS_SELECTOR),
		 RD(HOST_FS_BASE), false, lm);
	host_seg(&c->seg[SEG_GS], (uint16_t)RD(HOST_GS_SELECTOR),
		 RD(HOST_GS_BASE), false, lm);
	/* FS and GS bases load even with a null selector. */
	c->seg[SEG_FS].base = RD(HOST_FS_BASE);
	c->seg[SEG_GS].base = RD(HOST_GS_BASE);
	memset(&c->tr, 0, sizeof(c->tr));
	c->tr.selector = (uint16_t)RD(HOST_TR_SELECTOR);
	c->tr.base = RD(HOST_TR_BASE);
	c->tr.limit = 0x67;
	c->tr.type = SEG_TYPE_TSS64_BUSY;
	c->tr.present = 1;
	memset(&c->ldt, 0, sizeof(c->ldt));
	c->ldt.unusable = 1;
	c->gdt.base = RD(HOST_GDTR_BASE);
	c->gdt.limit = 0xffff;
	c->idt.base = RD(HOST_IDTR_BASE);
	c->idt.limit = 0xffff;
	c->gpr[REG_RSP] = RD(HOST_RSP);
	c->rip = RD(HOST_RIP);
	c->next_rip = c->rip;
	c->rflags = X86_EFLAGS_FIXED;
	/* No blocking by STI or MOV SS after a VM exit (SDM 28.5). */
	c->sti_shadow = false;
	c->mov_ss_shadow = false;
	c->shadow_armed = false;
	if (!load_host_msrs(c)) {
		/* SDM 28.7: a VMX abort; the model reports it as shutdown. */
		snprintf(c->fault_chain, sizeof(c->fault_chain),
			 "VMX abort: VM-exit MSR-load failed");
		c->shutdown = true;
		vtx_request_stop(c);
	}
}

/* ---- the one VM-exit path ------------------------------------------------------ */

void vtx_vmx_exit(struct vtx_cpu *c, const struct vtx_exit_info *e)
{
	uint32_t vect = 0, intr_info = e->intr_info;
	uint64_t qual = e->qual;
	bool vpid_in_use;

	/* A fault of an IRET that had removed (virtual-)NMI blocking: bit
	 * 12, "NMI unblocking due to IRET" (SDM 28.2.2 for an exception
	 * other than #DF, Table 28-7 for an EPT violation). Not during the
	 * delivery of the fault: that exit is not caused by the IRET. */
	if (c->iret_unblocked_nmi && c->delivering < 0) {
		if (e->reason == EXIT_REASON_EXCEPTION_NMI &&
		    (intr_info & INTR_INFO_INTR_TYPE_MASK) ==
			    INTR_TYPE_HARD_EXCEPTION &&
		    (intr_info & INTR_INFO_VECTOR_MASK) != DF_VECTOR)
			intr_info |= INTR_INFO_UNBLOCK_NMI;
		if (e->reason == EXIT_REASON_EPT_VIOLATION)
			qual |= EPT_VIOLATION_NMI_UNBLOCKING;
	}
	c->iret_unblocked_nmi = false;

	/* An event being delivered when the exit happened is recorded in
	 * the IDT-vectoring fields (SDM 28.2.4). */
	bool vect_len = false;
	if (c->delivering >= 0 && !c->vmx.entry_failed) {
		/* The event's type as delivered: a hardware exception, an
		 * INT n (software interrupt), an INT3 (software exception),
		 * or an injected event's own type; software events also
		 * report their instruction length (SDM 28.2.4). */
		unsigned type = c->delivering_type;
		vect = INTR_INFO_VALID_MASK | (uint32_t)c->delivering | type;
		if (c->delivering_has_error) {
			vect |= INTR_INFO_DELIVER_CODE_MASK;
			WR(IDT_VECTORING_ERROR_CODE, c->delivering_error);
		}
		vect_len = type == INTR_TYPE_SOFT_INTR ||
			   type == INTR_TYPE_PRIV_SW_EXCEPTION ||
			   type == INTR_TYPE_SOFT_EXCEPTION;
	}
	c->delivering = -1;

	WR(VM_EXIT_REASON, e->reason);
	WR(EXIT_QUALIFICATION, qual);
	WR(VM_EXIT_INTR_INFO, intr_info);
	if (intr_info & INTR_INFO_DELIVER_CODE_MASK)
		WR(VM_EXIT_INTR_ERROR_CODE, e->intr_error);
	WR(IDT_VECTORING_INFO_FIELD, vect);
	if (e->has_len)
		WR(VM_EXIT_INSTRUCTION_LEN, e->len);
	else if (vect_len)
		WR(VM_EXIT_INSTRUCTION_LEN, c->delivering_len);
	WR(VMX_INSTRUCTION_INFO, e->insn_info);
	if (e->has_gla)
		WR(GUEST_LINEAR_ADDRESS, e->gla);
	if (e->has_gpa)
		WR(GUEST_PHYSICAL_ADDRESS, e->gpa);
	c->inject_info = 0;

	/* A VM exit clears the valid bit of the VM-entry interruption
	 * information; an entry failure leaves the field as software wrote
	 * it, and saves no guest state (SDM 27.8, 28.2). */
	if (!c->vmx.entry_failed) {
		WR(VM_ENTRY_INTR_INFO_FIELD,
		   RD(VM_ENTRY_INTR_INFO_FIELD) &
			   ~(uint64_t)INTR_INFO_VALID_MASK);
		save_guest_state(c);
		store_msrs(c);
	}
	/* The exit's cost is a world switch, not the guest's time; the
	 * profile may give its basic reason its own figure. */
	vtx_cost_charge_outside(c, &c->stats.cycles_switch,
				vtx_cost_vm_exit(&c->cost, e->reason & 0xffff));
	vpid_in_use = !c->vmx.entry_failed &&
		      (c->vmx.proc2 & SECONDARY_EXEC_ENABLE_VPID) &&
		      c->vmx.vpid;
	/* Back in the host: awake, the host's NMI blocking (an NMI that
	 * exits leaves NMIs blocked for a host that runs instructions
	 * until its IRET; a C host has none), no MTF or preemption timer
	 * (vtx/events.c). */
	if (!c->vmx.entry_failed) {
		c->halted = false;
		c->nmi_blocked = !c->vmx.c_host &&
				 (c->host_nmi_blocked ||
				  (e->reason == EXIT_REASON_EXCEPTION_NMI &&
				   (e->intr_info & INTR_INFO_INTR_TYPE_MASK) ==
					   INTR_TYPE_NMI_INTR));
	}
	c->mtf_pending = false;
	c->wait_sipi = false;
	c->sipi_pending = false;
	c->vmx.entry_failed = false;
	c->vmx.non_root = false;
	vtx_events_recalc(c);
	c->stats.vm_exits++;
	if ((e->reason & 0xffff) < VTX_EXIT_REASONS)
		c->stats.exits_by_reason[e->reason & 0xffff]++;
	c->last_exit_reason = e->reason;

	if (c->vmx.c_host) {
		/* The host is C code: give it the exit (vtx_vmx_run()). */
		c->vmexit_pending = true;
		vtx_request_stop(c);
	} else {
		load_host_state(c);
		/* A host under PAE paging reloads its PDPTEs from CR3 (SDM
		 * Vol. 3C 28.5.4); a reserved bit there is a VMX abort,
		 * which the model does not implement. */
		if (paging_is_pae(c->cr0, c->cr4, c->efer) &&
		    vtx_paging_load_pdptes(c, c->cr3))
			vtx_note_unimplemented(c, c->rip, NULL, 0,
					       "VMX abort (host PDPTEs)");
	}
	/* Without a VPID, VM exit drops VPID 0's translations (SDM Vol. 3C
	 * 29.4.3.1); the guest's, tagged with its VPID, stay. */
	vtx_tlb_on_vmx_transition(c, vpid_in_use);
	vtx_update_mode(c);
	c->async = 1;
	longjmp(c->fault_jmp, 3);
}

void vtx_vmx_exit_insn(struct vtx_cpu *c, const struct vtx_insn *i,
		       uint32_t reason, uint64_t qual, uint32_t insn_info)
{
	struct vtx_exit_info e = {
		.reason = reason,
		.qual = qual,
		.insn_info = insn_info,
		.has_len = true,
		.len = i->len,
	};
	vtx_vmx_exit(c, &e);
}

/* ---- interception tests (SDM 26.1) -------------------------------------------- */

static bool bitmap_bit(struct vtx_cpu *c, uint64_t page, unsigned bit)
{
	uint8_t b = 0xff; /* a bitmap outside memory reads as all ones */
	vtx_hpa_read(c->m, page + bit / 8, &b, 1);
	return (b >> (bit & 7)) & 1;
}

/* SDM 26.1.3: unconditional I/O exiting, or the I/O bitmaps (any byte of
 * the access, and an access that wraps past 0xffff, exits). */
bool vtx_vmx_io_exits(struct vtx_cpu *c, uint16_t port, unsigned size)
{
	const struct vtx_vmx *v = &c->vmx;

	if (!(v->proc & CPU_BASED_USE_IO_BITMAPS))
		return v->proc & CPU_BASED_UNCOND_IO_EXITING;
	for (unsigned k = 0; k < size; k++) {
		unsigned p = port + k;
		if (p > 0xffff)
			return true;
		if (bitmap_bit(c, p < 0x8000 ? v->io_bitmap_a : v->io_bitmap_b,
			       p & 0x7fff))
			return true;
	}
	return false;
}

/* SDM 26.1.3 and 25.6.9: the MSR bitmaps (read low, read high, write
 * low, write high, 1 KiB each); MSRs outside both ranges always exit. */
bool vtx_vmx_msr_exits(struct vtx_cpu *c, uint32_t msr, bool write)
{
	const struct vtx_vmx *v = &c->vmx;
	unsigned base = write ? 2048 * 8 : 0;

	if (!(v->proc & CPU_BASED_USE_MSR_BITMAPS))
		return true;
	if (msr <= 0x1fff)
		return bitmap_bit(c, v->msr_bitmap, base + msr);
	if (msr >= 0xc0000000 && msr <= 0xc0001fff)
		return bitmap_bit(c, v->msr_bitmap,
				  base + 1024 * 8 + (msr - 0xc0000000));
	return true;
}

/* SDM 26.2: an exception exits when its bit in the exception bitmap is
 * set; for #PF, the bit's sense is inverted unless the error code matches
 * (ec & PFEC_MASK) == PFEC_MATCH. */
void vtx_vmx_exception(struct vtx_cpu *c, int vector, uint32_t ec, bool has_ec,
		       bool software, unsigned insn_len)
{
	const struct vtx_vmx *v = &c->vmx;
	bool bit, exits;

	if (!v->non_root || vector > 31)
		return;
	bit = (v->exception_bitmap >> vector) & 1;
	exits = bit;
	if (vector == PF_VECTOR)
		exits = ((ec & v->pf_mask) == v->pf_match) ? bit : !bit;
	if (!exits)
		return;

	struct vtx_exit_info e = {
		.reason = EXIT_REASON_EXCEPTION_NMI,
		.intr_info = INTR_INFO_VALID_MASK | (uint32_t)vector |
			     ((software ? INTR_TYPE_SOFT_EXCEPTION
					: INTR_TYPE_HARD_EXCEPTION)),
		.intr_error = ec,
		.has_len = software,
		.len = insn_len,
	};
	if (has_ec)
		e.intr_info |= INTR_INFO_DELIVER_CODE_MASK;
	/* #PF: the qualification is the faulting address, and CR2 is left
	 * as it was (SDM 28.1); #DB: the DR6-style bits. */
	if (vector == PF_VECTOR)
		e.qual = c->pend_cr2;
	/* A double fault that exits is not considered to occur during the
	 * delivery of the events that caused it (SDM 28.2.4). */
	if (vector == DF_VECTOR)
		c->delivering = -1;
	vtx_vmx_exit(c, &e);
}

void vtx_vmx_triple_fault(struct vtx_cpu *c)
{
	struct vtx_exit_info e = { .reason = EXIT_REASON_TRIPLE_FAULT };
	c->delivering = -1;
	vtx_vmx_exit(c, &e);
}
