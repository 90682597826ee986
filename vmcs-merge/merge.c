/* SPDX-License-Identifier: MIT */
/*
 * merge.c - vmcs01 + vmcs12 -> vmcs02 on a nested VM entry ("full": every
 * field every time), vmcs02 -> vmcs12 on a reflected exit (SDM Vol. 3C 28.2
 * exit information, 28.3 saving guest state), and vmcs12's host state
 * loaded into vmcs01 as L1's guest state (28.5 loading host state), the
 * way the processor would have done each for L1. Monitor side; vmcs01 and
 * vmcs02 are reached only through vtx_vmread/vtx_vmwrite.
 */
#include "vmcs-merge/merge.h"

#include <string.h>

#include <asm/vmx.h>

#include "arch/vmx_exit_qual.h"
#include "arch/x86_msr.h"
#include "arch/x86_regs.h"
#include "arch/x86_seg.h"
#include "vtx/vtx.h"

/*
 * VMREAD/VMWRITE of the current VMCS that remember the first failure: a
 * failure here is L0's bug (a field the processor lacks), reported once by
 * the caller rather than at every field. The operations are queued and
 * issued as batches (vtx_vmwrite_batch(), vtx_vmread_batch()): the same
 * operations in the same order, each one counted and charged, at a
 * fraction of the host time of one call per field. Every VMREAD waits
 * for the VMWRITEs queued before it; queued reads land in their
 * destinations at io_flush().
 */
#define VMCS_IO_BATCH 64

struct vmcs_io {
	struct vtx_cpu *cpu;
	int err;
	uint64_t writes; /* VMWRITEs issued */
	size_t nw, nr; /* queued writes, reads */
	struct vtx_vmcs_field w[VMCS_IO_BATCH], r[VMCS_IO_BATCH];
	void *dst[VMCS_IO_BATCH]; /* where each queued read goes */
	uint8_t width[VMCS_IO_BATCH]; /* and how many of its low bytes */
};

/* No initializer for the queues: a nested round trip sets up several. */
static void io_init(struct vmcs_io *io, struct vtx_cpu *cpu)
{
	io->cpu = cpu;
	io->err = 0;
	io->writes = 0;
	io->nw = 0;
	io->nr = 0;
}

static void io_error(struct vmcs_io *io, int ret)
{
	if (ret && !io->err)
		io->err = ret;
}

static void io_flush_writes(struct vmcs_io *io)
{
	if (io->nw)
		io_error(io, vtx_vmwrite_batch(io->cpu, io->w, io->nw));
	io->nw = 0;
}

static void io_flush_reads(struct vmcs_io *io)
{
	if (!io->nr)
		return;
	io_error(io, vtx_vmread_batch(io->cpu, io->r, io->nr));
	/* x86 is little-endian: the low bytes of each value. */
	for (size_t i = 0; i < io->nr; i++) {
		switch (io->width[i]) {
		case 2:
			memcpy(io->dst[i], &io->r[i].val, 2);
			break;
		case 4:
			memcpy(io->dst[i], &io->r[i].val, 4);
			break;
		case 8:
			memcpy(io->dst[i], &io->r[i].val, 8);
			break;
		default:
			memcpy(io->dst[i], &io->r[i].val, io->width[i]);
			break;
		}
	}
	io->nr = 0;
}

/* Issues everything queued, in order, and returns the first failure. */
static int io_flush(struct vmcs_io *io)
{
	io_flush_writes(io);
	io_flush_reads(io);
	return io->err;
}

/* Inline: vmcs02 preparation alone calls it some 90 times per entry. */
static inline __attribute__((always_inline)) void
wr(struct vmcs_io *io, uint32_t field, uint64_t val)
{
	io_flush_reads(io);
	if (io->nw == VMCS_IO_BATCH)
		io_flush_writes(io);
	io->w[io->nw].field = field;
	io->w[io->nw].val = val;
	io->nw++;
	io->writes++;
}

/* Queues a VMREAD of field into the width bytes at dst. */
static void rd_to(struct vmcs_io *io, uint32_t field, void *dst, size_t width)
{
	io_flush_writes(io);
	if (io->nr == VMCS_IO_BATCH)
		io_flush_reads(io);
	io->r[io->nr].field = field;
	io->dst[io->nr] = dst;
	io->width[io->nr] = (uint8_t)width;
	io->nr++;
}

#define RD_TO(io, field, lval) rd_to((io), (field), &(lval), sizeof(lval))

/* The four fields of one guest segment register, in encoding order of
 * each group (SDM Appendix B): selector, base, limit, access rights. */
struct seg_fields {
	uint32_t sel, base, limit, ar;
	size_t sel12, base12, limit12, ar12; /* offsets in struct vmcs12 */
};

#define SEG(S, s)                                                          \
	{                                                                  \
		GUEST_##S##_SELECTOR, GUEST_##S##_BASE, GUEST_##S##_LIMIT, \
			GUEST_##S##_AR_BYTES,                              \
			offsetof(struct vmcs12, guest_##s##_selector),     \
			offsetof(struct vmcs12, guest_##s##_base),         \
			offsetof(struct vmcs12, guest_##s##_limit),        \
			offsetof(struct vmcs12, guest_##s##_ar_bytes)      \
	}

static const struct seg_fields guest_segs[] = {
	SEG(ES, es), SEG(CS, cs), SEG(SS, ss),	   SEG(DS, ds),
	SEG(FS, fs), SEG(GS, gs), SEG(LDTR, ldtr), SEG(TR, tr),
};

static uint16_t *m16(struct vmcs12 *v, size_t off)
{
	return (uint16_t *)((uint8_t *)v + off);
}

static uint32_t *m32(struct vmcs12 *v, size_t off)
{
	return (uint32_t *)((uint8_t *)v + off);
}

static uint64_t *m64(struct vmcs12 *v, size_t off)
{
	return (uint64_t *)((uint8_t *)v + off);
}

/* ---- host state ------------------------------------------------------------ */

static void write_l0_host_state(struct vmcs_io *io,
				const struct vmcs_l0_host *h);

int vmcs_write_l0_host_state(struct vtx_cpu *cpu, const struct vmcs_l0_host *h)
{
	struct vmcs_io io;

	io_init(&io, cpu);
	write_l0_host_state(&io, h);
	return io_flush(&io);
}

static void write_l0_host_state(struct vmcs_io *io,
				const struct vmcs_l0_host *h)
{
	wr(io, HOST_CR0, h->cr0);
	wr(io, HOST_CR3, h->cr3);
	wr(io, HOST_CR4, h->cr4);
	wr(io, HOST_IA32_EFER, h->efer);
	wr(io, HOST_IA32_PAT, h->pat);
	wr(io, HOST_CS_SELECTOR, h->cs);
	wr(io, HOST_SS_SELECTOR, h->ss);
	wr(io, HOST_DS_SELECTOR, h->ds);
	wr(io, HOST_ES_SELECTOR, h->es);
	wr(io, HOST_FS_SELECTOR, h->fs);
	wr(io, HOST_GS_SELECTOR, h->gs);
	wr(io, HOST_TR_SELECTOR, h->tr);
	wr(io, HOST_FS_BASE, h->fs_base);
	wr(io, HOST_GS_BASE, h->gs_base);
	wr(io, HOST_TR_BASE, h->tr_base);
	wr(io, HOST_GDTR_BASE, h->gdtr_base);
	wr(io, HOST_IDTR_BASE, h->idtr_base);
	wr(io, HOST_IA32_SYSENTER_CS, 0);
	wr(io, HOST_IA32_SYSENTER_ESP, h->sysenter_esp);
	wr(io, HOST_IA32_SYSENTER_EIP, h->sysenter_eip);
	wr(io, HOST_RSP, h->rsp);
	wr(io, HOST_RIP, h->rip);
}

/* ---- vmcs02 ------------------------------------------------------------------ */

/*
 * The read shadow L2 sees for CR0 or CR4: L1's shadow for the bits L1
 * owns, L1's guest value for the bits only L0 owns (L2 must read what it
 * would read running on L1's VMCS), the rest never read from the shadow.
 */
static uint64_t shadow02(uint64_t mask12, uint64_t shadow12, uint64_t guest12)
{
	return (shadow12 & mask12) | (guest12 & ~mask12);
}

/*
 * The control fields (vmcs12's CTRL_EARLY and CTRL_RARE classes):
 * L0 takes every port and MSR access (unconditional I/O exiting, no
 * bitmaps) and decides per access with vmcs12's bitmaps; everything else
 * L1 asked for is passed through, the event controls included (L0 sets
 * none of its own). L2 always runs with VPID, on the vpid02 L0 chose for
 * vmcs12's VPID (cfg->vpid02), which changes only when that does; L0
 * flushes it where the SDM would flush L2's translations (l0/nested.c).
 * vmcs02 acknowledges an interrupt on exit only when L1 asked (the vector
 * is then L1's, in the exit interruption information), and saves the
 * preemption timer whenever L1 runs it, so that L2 resumed after an exit
 * L0 handled continues from what was left.
 */
static void prepare_controls(struct vmcs_io *io, const struct vmcs12 *v,
			     const struct vmcs02_config *cfg)
{
	uint32_t proc12 = v->cpu_based_vm_exec_control;
	uint32_t proc, proc2 = 0, exit_ctls = cfg->exit_ctls;
	uint64_t tsc_offset = cfg->tsc_offset;

	proc = (proc12 | cfg->proc_must1 | CPU_BASED_UNCOND_IO_EXITING |
		CPU_BASED_USE_TSC_OFFSETTING |
		CPU_BASED_ACTIVATE_SECONDARY_CONTROLS) &
	       ~(uint32_t)(CPU_BASED_USE_IO_BITMAPS |
			   CPU_BASED_USE_MSR_BITMAPS);
	if (proc12 & CPU_BASED_ACTIVATE_SECONDARY_CONTROLS)
		proc2 = v->secondary_vm_exec_control;
	proc2 |= SECONDARY_EXEC_ENABLE_EPT;
	/* L1's VMCS shadowing is L0's to emulate: every VMREAD/VMWRITE of
	 * L2 exits to L0, which reads vmcs12's bitmaps (SDM 26.1.3). */
	proc2 &= ~(uint32_t)SECONDARY_EXEC_SHADOW_VMCS;
	if (cfg->vpid02)
		proc2 |= SECONDARY_EXEC_ENABLE_VPID;
	else
		proc2 &= ~(uint32_t)SECONDARY_EXEC_ENABLE_VPID;
	exit_ctls |= v->vm_exit_controls & VM_EXIT_ACK_INTR_ON_EXIT;
	if (v->pin_based_vm_exec_control & PIN_BASED_VMX_PREEMPTION_TIMER)
		exit_ctls |= VM_EXIT_SAVE_VMX_PREEMPTION_TIMER;
	if (proc12 & CPU_BASED_USE_TSC_OFFSETTING)
		tsc_offset += v->tsc_offset;

	wr(io, PIN_BASED_VM_EXEC_CONTROL,
	   v->pin_based_vm_exec_control | cfg->pin_must1);
	wr(io, CPU_BASED_VM_EXEC_CONTROL, proc);
	wr(io, SECONDARY_VM_EXEC_CONTROL, proc2);
	wr(io, VM_EXIT_CONTROLS, exit_ctls);
	if (cfg->vpid02)
		wr(io, VIRTUAL_PROCESSOR_ID, cfg->vpid02);
	wr(io, VM_ENTRY_CONTROLS,
	   (cfg->entry_ctls & ~(uint32_t)VM_ENTRY_IA32E_MODE) |
		   (v->vm_entry_controls & VM_ENTRY_IA32E_MODE));
	wr(io, EXCEPTION_BITMAP, v->exception_bitmap | cfg->exception_bitmap);
	/* L0 intercepts no #PF of its own, so L1's mask and match decide
	 * (SDM 26.2) exactly as on L1's VMCS. */
	wr(io, PAGE_FAULT_ERROR_CODE_MASK, v->page_fault_error_code_mask);
	wr(io, PAGE_FAULT_ERROR_CODE_MATCH, v->page_fault_error_code_match);
	wr(io, CR3_TARGET_COUNT, v->cr3_target_count);
	wr(io, CR3_TARGET_VALUE0, v->cr3_target_value0);
	wr(io, CR3_TARGET_VALUE1, v->cr3_target_value1);
	wr(io, CR3_TARGET_VALUE2, v->cr3_target_value2);
	wr(io, CR3_TARGET_VALUE3, v->cr3_target_value3);
	wr(io, CR0_GUEST_HOST_MASK, v->cr0_guest_host_mask | cfg->cr0_mask);
	wr(io, CR4_GUEST_HOST_MASK, v->cr4_guest_host_mask | cfg->cr4_mask);
	wr(io, TSC_OFFSET, tsc_offset);
	wr(io, EPT_POINTER, cfg->eptp);
	wr(io, VM_EXIT_MSR_STORE_COUNT, 0);
	wr(io, VM_EXIT_MSR_LOAD_COUNT, 0);
	wr(io, VM_ENTRY_MSR_LOAD_COUNT, 0);
}

/*
 * The fields written on every nested entry: vmcs12's HOT class, and EFER
 * and PAT (RARE in the table). Those two depend on L1's own registers
 * when vmcs12 does not load them, L2 can change them through an MSR access
 * L0 handles for it, and a reflected exit saves them into vmcs12 only when
 * L1 asks: rewriting them keeps `dirty` exactly `full`.
 */
static void prepare_hot(struct vmcs_io *io, const struct vmcs12 *v,
			const struct vmcs02_config *cfg)
{
	uint32_t entry12 = v->vm_entry_controls;
	uint64_t efer;

	wr(io, CR0_READ_SHADOW,
	   shadow02(v->cr0_guest_host_mask, v->cr0_read_shadow, v->guest_cr0));
	wr(io, CR4_READ_SHADOW,
	   shadow02(v->cr4_guest_host_mask, v->cr4_read_shadow, v->guest_cr4));
	wr(io, VM_ENTRY_INTR_INFO_FIELD, v->vm_entry_intr_info_field);
	wr(io, VM_ENTRY_EXCEPTION_ERROR_CODE, v->vm_entry_exception_error_code);
	wr(io, VM_ENTRY_INSTRUCTION_LEN, v->vm_entry_instruction_len);

	/* Guest state: vmcs12's, with L1's own registers where vmcs12's
	 * entry controls leave them to the processor (SDM 27.3.2.1). */
	wr(io, GUEST_CR0, v->guest_cr0);
	wr(io, GUEST_CR3, v->guest_cr3);
	wr(io, GUEST_CR4, v->guest_cr4 | cfg->cr4_mask);
	if (entry12 & VM_ENTRY_LOAD_DEBUG_CONTROLS) {
		wr(io, GUEST_DR7, v->guest_dr7);
		wr(io, GUEST_IA32_DEBUGCTL, v->guest_ia32_debugctl);
	} else {
		wr(io, GUEST_DR7, cfg->l1_dr7);
		wr(io, GUEST_IA32_DEBUGCTL, cfg->l1_debugctl);
	}
	if (entry12 & VM_ENTRY_LOAD_IA32_EFER) {
		efer = v->guest_ia32_efer;
	} else {
		efer = cfg->l1_efer & ~(EFER_LMA | EFER_LME);
		if (entry12 & VM_ENTRY_IA32E_MODE)
			efer |= EFER_LMA |
				((v->guest_cr0 & X86_CR0_PG) ? EFER_LME : 0);
	}
	wr(io, GUEST_IA32_EFER, efer);
	wr(io, GUEST_IA32_PAT,
	   (entry12 & VM_ENTRY_LOAD_IA32_PAT) ? v->guest_ia32_pat
					      : cfg->l1_pat);
	wr(io, GUEST_CS_BASE, v->guest_cs_base);
	wr(io, GUEST_CS_AR_BYTES, v->guest_cs_ar_bytes);
	wr(io, GUEST_SS_AR_BYTES, v->guest_ss_ar_bytes);
	wr(io, GUEST_RSP, v->guest_rsp);
	wr(io, GUEST_RIP, v->guest_rip);
	wr(io, GUEST_RFLAGS, v->guest_rflags);
	wr(io, GUEST_ACTIVITY_STATE, v->guest_activity_state);
	wr(io, GUEST_INTERRUPTIBILITY_INFO, v->guest_interruptibility_info);
	wr(io, GUEST_PENDING_DBG_EXCEPTIONS, v->guest_pending_dbg_exceptions);
	/* SDM 27.7: each entry from L1 loads the timer from vmcs12. */
	if (v->pin_based_vm_exec_control & PIN_BASED_VMX_PREEMPTION_TIMER)
		wr(io, VMX_PREEMPTION_TIMER_VALUE,
		   v->vmx_preemption_timer_value);
}

/* The rest of the guest state (vmcs12's RARE class, EFER and PAT aside):
 * what L2 changes seldom and a reflected exit always saves. */
static void prepare_rare(struct vmcs_io *io, const struct vmcs12 *v)
{
	struct vmcs12 *v12 = (struct vmcs12 *)v;

	for (size_t i = 0; i < ARRAY_SIZE(guest_segs); i++) {
		const struct seg_fields *s = &guest_segs[i];
		bool hot = s->sel == GUEST_CS_SELECTOR;

		wr(io, s->sel, *m16(v12, s->sel12));
		if (!hot)
			wr(io, s->base, *m64(v12, s->base12));
		wr(io, s->limit, *m32(v12, s->limit12));
		if (!hot && s->sel != GUEST_SS_SELECTOR)
			wr(io, s->ar, *m32(v12, s->ar12));
	}
	wr(io, GUEST_GDTR_BASE, v->guest_gdtr_base);
	wr(io, GUEST_GDTR_LIMIT, v->guest_gdtr_limit);
	wr(io, GUEST_IDTR_BASE, v->guest_idtr_base);
	wr(io, GUEST_IDTR_LIMIT, v->guest_idtr_limit);
	wr(io, GUEST_SYSENTER_CS, v->guest_sysenter_cs);
	wr(io, GUEST_SYSENTER_ESP, v->guest_sysenter_esp);
	wr(io, GUEST_SYSENTER_EIP, v->guest_sysenter_eip);
	wr(io, VMCS_LINK_POINTER, ~0ull);
}

int vmcs_merge_prepare_vmcs02_parts(struct vtx_cpu *cpu, const struct vmcs12 *v,
				    const struct vmcs02_config *cfg,
				    unsigned int dirty, uint64_t *writes)
{
	struct vmcs_io io;

	io_init(&io, cpu);
	if (dirty & (VMCS02_DIRTY_CLASS(VMCS_SYNC_CTRL_EARLY) |
		     VMCS02_DIRTY_CLASS(VMCS_SYNC_CTRL_RARE)))
		prepare_controls(&io, v, cfg);
	prepare_hot(&io, v, cfg);
	if (dirty & VMCS02_DIRTY_CLASS(VMCS_SYNC_RARE))
		prepare_rare(&io, v);
	if (dirty & VMCS02_DIRTY_CONSTANT)
		write_l0_host_state(&io, cfg->host);
	io_flush(&io);
	if (writes)
		*writes += io.writes;
	return io.err;
}

int vmcs_merge_prepare_vmcs02(struct vtx_cpu *cpu, const struct vmcs12 *v,
			      const struct vmcs02_config *cfg)
{
	return vmcs_merge_prepare_vmcs02_parts(cpu, v, cfg, VMCS02_DIRTY_ALL,
					       NULL);
}

/* ---- exits ------------------------------------------------------------------- */

void vmcs_merge_read_exit_info(struct vtx_cpu *cpu, struct nested_exit_info *e)
{
	struct vmcs_io io;

	io_init(&io, cpu);
	RD_TO(&io, VM_EXIT_REASON, e->reason);
	RD_TO(&io, EXIT_QUALIFICATION, e->qual);
	RD_TO(&io, VM_EXIT_INTR_INFO, e->intr_info);
	RD_TO(&io, VM_EXIT_INTR_ERROR_CODE, e->intr_error);
	RD_TO(&io, IDT_VECTORING_INFO_FIELD, e->idt_vectoring_info);
	RD_TO(&io, IDT_VECTORING_ERROR_CODE, e->idt_vectoring_error);
	RD_TO(&io, VM_EXIT_INSTRUCTION_LEN, e->insn_len);
	RD_TO(&io, VMX_INSTRUCTION_INFO, e->insn_info);
	RD_TO(&io, GUEST_LINEAR_ADDRESS, e->gla);
	RD_TO(&io, GUEST_PHYSICAL_ADDRESS, e->gpa);
	io_flush(&io);
}

/*
 * SDM 28.2.1: the guest-physical address is defined for EPT violations
 * and misconfigurations only, the guest-linear address for EPT violations
 * that say it is valid, string I/O and LMSW with a memory operand; for
 * every other exit both are undefined, and the processor (and the model,
 * vtx/vmx_exit.c) leaves them as they were. So does vmcs12: vmcs02's
 * values there may come from exits L0 handled itself (an ept02 fill),
 * which L1 never saw, or from no exit at all when L0 synthesized this
 * one (--bt).
 */
static bool exit_defines_gpa(const struct nested_exit_info *e)
{
	uint16_t basic = (uint16_t)e->reason;

	return basic == EXIT_REASON_EPT_VIOLATION ||
	       basic == EXIT_REASON_EPT_MISCONFIG;
}

static bool exit_defines_gla(const struct nested_exit_info *e)
{
	switch ((uint16_t)e->reason) {
	case EXIT_REASON_EPT_VIOLATION:
		return e->qual & EPT_VIOLATION_GVA_IS_VALID;
	case EXIT_REASON_IO_INSTRUCTION:
		return e->qual & IO_QUAL_STRING;
	case EXIT_REASON_CR_ACCESS:
		return ((e->qual & CONTROL_REG_ACCESS_TYPE) >>
			CONTROL_REG_ACCESS_TYPE_SHIFT) == CR_ACCESS_TYPE_LMSW &&
		       (e->qual & CONTROL_REG_ACCESS_LMSW_MEM);
	default:
		return false;
	}
}

/* SDM 28.2: what a VM exit writes into the exit-information fields. */
static void set_exit_info(struct vmcs12 *v, const struct nested_exit_info *e)
{
	v->vm_exit_reason = e->reason;
	v->exit_qualification = e->qual;
	v->vm_exit_intr_info = e->intr_info;
	if (vmx_intr_info_has_error_code(e->intr_info))
		v->vm_exit_intr_error_code = e->intr_error;
	v->idt_vectoring_info_field = e->idt_vectoring_info;
	if (vmx_intr_info_has_error_code(e->idt_vectoring_info))
		v->idt_vectoring_error_code = e->idt_vectoring_error;
	v->vm_exit_instruction_len = e->insn_len;
	v->vmx_instruction_info = e->insn_info;
	if (exit_defines_gla(e))
		v->guest_linear_address = e->gla;
	if (exit_defines_gpa(e))
		v->guest_physical_address = e->gpa;
	/* 28.2: a VM exit clears the valid bit of the entry event. */
	v->vm_entry_intr_info_field &= ~INTR_INFO_VALID_MASK;
}

/*
 * CR0 or CR4 as L1 should see L2's: the processor's value, except for the
 * bits only L0 owns, which read as L2 believes them to be (the read
 * shadow of vmcs02, which L0 keeps equal to L1's guest value).
 */
static uint64_t guest_cr12(uint64_t hw, uint64_t shadow, uint64_t mask12,
			   uint64_t mask_l0)
{
	uint64_t l0_only = mask_l0 & ~mask12;

	return (hw & ~l0_only) | (shadow & l0_only);
}

void vmcs_merge_sync_vmcs02_to_vmcs12(struct vtx_cpu *cpu, struct vmcs12 *v,
				      const struct vmcs02_config *cfg,
				      const struct nested_exit_info *e)
{
	struct vmcs_io io;
	uint32_t exit12 = v->vm_exit_controls;
	uint64_t cr0, cr0_shadow, cr4, cr4_shadow, entry02;

	io_init(&io, cpu);
	RD_TO(&io, GUEST_CR0, cr0);
	RD_TO(&io, CR0_READ_SHADOW, cr0_shadow);
	RD_TO(&io, GUEST_CR4, cr4);
	RD_TO(&io, CR4_READ_SHADOW, cr4_shadow);
	RD_TO(&io, GUEST_CR3, v->guest_cr3);
	RD_TO(&io, GUEST_RSP, v->guest_rsp);
	RD_TO(&io, GUEST_RIP, v->guest_rip);
	RD_TO(&io, GUEST_RFLAGS, v->guest_rflags);
	for (size_t i = 0; i < ARRAY_SIZE(guest_segs); i++) {
		const struct seg_fields *s = &guest_segs[i];

		rd_to(&io, s->sel, m16(v, s->sel12), 2);
		rd_to(&io, s->base, m64(v, s->base12), 8);
		rd_to(&io, s->limit, m32(v, s->limit12), 4);
		rd_to(&io, s->ar, m32(v, s->ar12), 4);
	}
	RD_TO(&io, GUEST_GDTR_BASE, v->guest_gdtr_base);
	RD_TO(&io, GUEST_GDTR_LIMIT, v->guest_gdtr_limit);
	RD_TO(&io, GUEST_IDTR_BASE, v->guest_idtr_base);
	RD_TO(&io, GUEST_IDTR_LIMIT, v->guest_idtr_limit);
	RD_TO(&io, GUEST_SYSENTER_CS, v->guest_sysenter_cs);
	RD_TO(&io, GUEST_SYSENTER_ESP, v->guest_sysenter_esp);
	RD_TO(&io, GUEST_SYSENTER_EIP, v->guest_sysenter_eip);
	RD_TO(&io, GUEST_ACTIVITY_STATE, v->guest_activity_state);
	RD_TO(&io, GUEST_INTERRUPTIBILITY_INFO, v->guest_interruptibility_info);
	RD_TO(&io, GUEST_PENDING_DBG_EXCEPTIONS,
	      v->guest_pending_dbg_exceptions);
	/* 28.3: DR7, PAT and EFER are saved only when L1 asked for it. */
	if (exit12 & VM_EXIT_SAVE_DEBUG_CONTROLS) {
		RD_TO(&io, GUEST_DR7, v->guest_dr7);
		RD_TO(&io, GUEST_IA32_DEBUGCTL, v->guest_ia32_debugctl);
	}
	if (exit12 & VM_EXIT_SAVE_IA32_PAT)
		RD_TO(&io, GUEST_IA32_PAT, v->guest_ia32_pat);
	if (exit12 & VM_EXIT_SAVE_IA32_EFER)
		RD_TO(&io, GUEST_IA32_EFER, v->guest_ia32_efer);
	if (exit12 & VM_EXIT_SAVE_VMX_PREEMPTION_TIMER)
		RD_TO(&io, VMX_PREEMPTION_TIMER_VALUE,
		      v->vmx_preemption_timer_value);
	RD_TO(&io, VM_ENTRY_CONTROLS, entry02);
	io_flush(&io);
	v->guest_cr0 = guest_cr12(cr0, cr0_shadow, v->cr0_guest_host_mask,
				  cfg->cr0_mask);
	v->guest_cr4 = guest_cr12(cr4, cr4_shadow, v->cr4_guest_host_mask,
				  cfg->cr4_mask);
	/* IA32_VMX_MISC bit 5: the exit stores EFER.LMA into the
	 * "IA-32e mode guest" entry control. */
	v->vm_entry_controls =
		(v->vm_entry_controls & ~(uint32_t)VM_ENTRY_IA32E_MODE) |
		((uint32_t)entry02 & VM_ENTRY_IA32E_MODE);
	set_exit_info(v, e);
}

void vmcs_merge_set_entry_failure(struct vmcs12 *v, uint32_t basic_reason,
				  uint64_t qual)
{
	v->vm_exit_reason = basic_reason | VMX_EXIT_REASONS_FAILED_VMENTRY;
	v->exit_qualification = qual;
	/* The VM-entry interruption information keeps its valid bit: only
	 * a VM exit from the guest clears it (SDM 27.8, 28.2). */
}

/* ---- loading L1's host state (SDM 28.5) ----------------------------------- */

/* A segment register as a VM exit loads it from a host selector (28.5.2). */
static void load_host_seg(struct vmcs_io *io, uint32_t sel_field, uint16_t sel,
			  uint64_t base, bool code, bool lm)
{
	struct kvm_segment s = {
		.selector = sel,
		.base = base,
		.limit = 0xffffffff,
		.type = code ? SEG_TYPE_CODE_XR_ACCESSED
			     : SEG_TYPE_DATA_RW_ACCESSED,
		.s = 1,
		.present = 1,
		.g = 1,
		.l = code && lm,
		.db = !(code && lm),
		/* A null data selector leaves the register unusable. */
		.unusable = !code && x86_sel_is_null(sel),
	};
	uint32_t idx = sel_field - GUEST_ES_SELECTOR;

	wr(io, sel_field, sel);
	wr(io, GUEST_ES_BASE + idx, base);
	wr(io, GUEST_ES_LIMIT + idx, s.limit);
	wr(io, GUEST_ES_AR_BYTES + idx, x86_seg_to_vmx_ar(&s));
}

int vmcs_merge_load_l1_host_state(struct vtx_cpu *cpu, const struct vmcs12 *v,
				  uint64_t cr4_l0)
{
	struct vmcs_io io;
	uint32_t exit12 = v->vm_exit_controls;
	bool lm = exit12 & VM_EXIT_HOST_ADDR_SPACE_SIZE;
	uint64_t efer, efer01 = 0, entry01;
	struct kvm_segment tr = {
		.selector = v->host_tr_selector,
		.base = v->host_tr_base,
		.limit = 0x67,
		.type = SEG_TYPE_TSS64_BUSY,
		.present = 1,
	};

	/* The fields of vmcs01 the load keeps parts of, read before
	 * anything is written (neither is written before its use). */
	io_init(&io, cpu);
	if (!(exit12 & VM_EXIT_LOAD_IA32_EFER))
		RD_TO(&io, GUEST_IA32_EFER, efer01);
	RD_TO(&io, VM_ENTRY_CONTROLS, entry01);
	io_flush(&io);

	/* L1's view of CR0/CR4 is the host state; the real CR4 keeps the
	 * bits L0 needs (VMXE in VMX non-root operation). */
	wr(&io, GUEST_CR0, v->host_cr0 | X86_CR0_ET);
	wr(&io, CR0_READ_SHADOW, v->host_cr0 | X86_CR0_ET);
	wr(&io, GUEST_CR4, v->host_cr4 | cr4_l0);
	wr(&io, CR4_READ_SHADOW, v->host_cr4);
	wr(&io, GUEST_CR3, v->host_cr3);
	wr(&io, GUEST_DR7, DR7_FIXED_1);
	wr(&io, GUEST_IA32_DEBUGCTL, 0);
	wr(&io, GUEST_SYSENTER_CS, v->host_ia32_sysenter_cs);
	wr(&io, GUEST_SYSENTER_ESP, v->host_ia32_sysenter_esp);
	wr(&io, GUEST_SYSENTER_EIP, v->host_ia32_sysenter_eip);
	if (exit12 & VM_EXIT_LOAD_IA32_PAT)
		wr(&io, GUEST_IA32_PAT, v->host_ia32_pat);
	if (exit12 & VM_EXIT_LOAD_IA32_EFER) {
		efer = v->host_ia32_efer;
	} else {
		efer = efer01 & ~(EFER_LMA | EFER_LME);
		if (lm)
			efer |= EFER_LMA | EFER_LME;
	}
	wr(&io, GUEST_IA32_EFER, efer);
	entry01 &= ~(uint64_t)VM_ENTRY_IA32E_MODE;
	wr(&io, VM_ENTRY_CONTROLS, entry01 | (lm ? VM_ENTRY_IA32E_MODE : 0));

	load_host_seg(&io, GUEST_CS_SELECTOR, v->host_cs_selector, 0, true, lm);
	load_host_seg(&io, GUEST_SS_SELECTOR, v->host_ss_selector, 0, false,
		      lm);
	load_host_seg(&io, GUEST_DS_SELECTOR, v->host_ds_selector, 0, false,
		      lm);
	load_host_seg(&io, GUEST_ES_SELECTOR, v->host_es_selector, 0, false,
		      lm);
	/* FS and GS take their bases even with a null selector. */
	load_host_seg(&io, GUEST_FS_SELECTOR, v->host_fs_selector,
		      v->host_fs_base, false, lm);
	load_host_seg(&io, GUEST_GS_SELECTOR, v->host_gs_selector,
		      v->host_gs_base, false, lm);
	wr(&io, GUEST_TR_SELECTOR, tr.selector);
	wr(&io, GUEST_TR_BASE, tr.base);
	wr(&io, GUEST_TR_LIMIT, tr.limit);
	wr(&io, GUEST_TR_AR_BYTES, x86_seg_to_vmx_ar(&tr));
	wr(&io, GUEST_LDTR_SELECTOR, 0);
	wr(&io, GUEST_LDTR_BASE, 0);
	wr(&io, GUEST_LDTR_LIMIT, 0);
	wr(&io, GUEST_LDTR_AR_BYTES, VMX_AR_UNUSABLE_MASK);
	wr(&io, GUEST_GDTR_BASE, v->host_gdtr_base);
	wr(&io, GUEST_GDTR_LIMIT, 0xffff);
	wr(&io, GUEST_IDTR_BASE, v->host_idtr_base);
	wr(&io, GUEST_IDTR_LIMIT, 0xffff);
	wr(&io, GUEST_RSP, v->host_rsp);
	wr(&io, GUEST_RIP, v->host_rip);
	wr(&io, GUEST_RFLAGS, X86_EFLAGS_FIXED);
	wr(&io, GUEST_ACTIVITY_STATE, GUEST_ACTIVITY_ACTIVE);
	wr(&io, GUEST_INTERRUPTIBILITY_INFO, 0);
	wr(&io, GUEST_PENDING_DBG_EXCEPTIONS, 0);
	return io_flush(&io);
}
