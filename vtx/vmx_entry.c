/* SPDX-License-Identifier: MIT */
/*
 * vmx_entry.c - VM entry: the checks on VMX controls and host-state fields
 * (VMfailValid), the checks on guest state (entry failure, a VM exit with
 * reason bit 31), loading guest state and the MSR-load area, and arming
 * event injection. SDM Vol. 3C ch. 27 "VM Entries" (current numbering),
 * checked in the SDM's order; each check is one CC() line that records
 * which rule fired (c->vmx_check). Model side.
 */
#include <asm/vmx.h>

#include "arch/ept.h"
#include "arch/vmcs12.h"
#include "arch/vmx_exit_qual.h"
#include "arch/vmx_insn_errors.h"
#include "arch/x86_msr.h"
#include "arch/x86_seg.h"
#include "vtx/exec.h"
#include "vtx/vmcs_access.h"
#include "vtx/paging.h"
#include "vtx/vmx.h"

/* A failed check: remember the rule (for tests and dumps) and fail. */
#define CC(cond)                              \
	({                                    \
		bool fail_ = (cond);          \
		if (fail_)                    \
			c->vmx_check = #cond; \
		fail_;                        \
	})

#define RD(enc) vtx_vmcs_get(c, c->vmx.current, (enc))

static bool canonical(uint64_t v)
{
	return (uint64_t)((int64_t)(v << 16) >> 16) == v;
}

static bool phys_ok(uint64_t pa)
{
	return !(pa >> 46);
}

static bool page_addr_ok(uint64_t pa)
{
	return !(pa & 0xfff) && phys_ok(pa);
}

/* Reserved settings of a control group (SDM 27.2.1.1, Appendix A.3). */
static bool ctl_bad(uint32_t val, uint32_t msr)
{
	uint32_t must1, may1;
	vtx_vmx_ctl_allowed(msr, &must1, &may1);
	return (val & must1) != must1 || (val & ~may1);
}

static bool pat_bad(uint64_t pat)
{
	for (int b = 0; b < 8; b++) {
		unsigned t = (pat >> (b * 8)) & 0xff;
		if (t == 2 || t == 3 || t >= 8)
			return true;
	}
	return false;
}

/* SDM 27.2.1: the VM-execution, VM-exit and VM-entry control fields. */
static bool check_controls(struct vtx_cpu *c)
{
	uint32_t pin = (uint32_t)RD(PIN_BASED_VM_EXEC_CONTROL);
	uint32_t proc = (uint32_t)RD(CPU_BASED_VM_EXEC_CONTROL);
	uint32_t proc2 = (proc & CPU_BASED_ACTIVATE_SECONDARY_CONTROLS)
				 ? (uint32_t)RD(SECONDARY_VM_EXEC_CONTROL)
				 : 0;
	uint32_t exit = (uint32_t)RD(VM_EXIT_CONTROLS);
	uint32_t entry = (uint32_t)RD(VM_ENTRY_CONTROLS);

	/* 27.2.1.1 VM-execution control fields */
	if (CC(ctl_bad(pin, MSR_IA32_VMX_TRUE_PINBASED_CTLS)) ||
	    CC(ctl_bad(proc, MSR_IA32_VMX_TRUE_PROCBASED_CTLS)) ||
	    CC(ctl_bad(proc2, MSR_IA32_VMX_PROCBASED_CTLS2)) ||
	    CC(RD(CR3_TARGET_COUNT) > 4))
		return false;
	/* Virtual NMIs need NMI exiting, NMI-window exiting virtual NMIs
	 * (27.2.1.1); saving the preemption timer needs the timer
	 * (27.2.1.2). */
	if (CC(!(pin & PIN_BASED_NMI_EXITING) &&
	       (pin & PIN_BASED_VIRTUAL_NMIS)) ||
	    CC(!(pin & PIN_BASED_VIRTUAL_NMIS) &&
	       (proc & CPU_BASED_NMI_WINDOW_EXITING)) ||
	    CC(!(pin & PIN_BASED_VMX_PREEMPTION_TIMER) &&
	       (exit & VM_EXIT_SAVE_VMX_PREEMPTION_TIMER)))
		return false;
	if ((proc & CPU_BASED_USE_IO_BITMAPS) &&
	    (CC(!page_addr_ok(RD(IO_BITMAP_A))) ||
	     CC(!page_addr_ok(RD(IO_BITMAP_B)))))
		return false;
	if ((proc & CPU_BASED_USE_MSR_BITMAPS) &&
	    CC(!page_addr_ok(RD(MSR_BITMAP))))
		return false;
	if (proc2 & SECONDARY_EXEC_ENABLE_EPT) {
		uint64_t eptp = RD(EPT_POINTER);
		if (CC((eptp & VMX_EPTP_MT_MASK) != VMX_EPTP_MT_WB) ||
		    CC((eptp & VMX_EPTP_PWL_MASK) != VMX_EPTP_PWL_4) ||
		    CC(eptp & (VMX_EPTP_SSS_BIT | VMX_EPTP_RESERVED_LOW)) ||
		    CC(!phys_ok(eptp)))
			return false;
	}
	if ((proc2 & SECONDARY_EXEC_ENABLE_VPID) &&
	    CC(RD(VIRTUAL_PROCESSOR_ID) == 0))
		return false;
	/* An unrestricted guest runs its unpaged modes through EPT. */
	if (CC((proc2 & SECONDARY_EXEC_UNRESTRICTED_GUEST) &&
	       !(proc2 & SECONDARY_EXEC_ENABLE_EPT)))
		return false;
	if ((proc2 & SECONDARY_EXEC_SHADOW_VMCS) &&
	    (CC(!page_addr_ok(RD(VMREAD_BITMAP))) ||
	     CC(!page_addr_ok(RD(VMWRITE_BITMAP)))))
		return false;
	/* VM functions: only those IA32_VMX_VMFUNC offers; EPTP switching
	 * needs EPT and a page-aligned EPTP list within the width. */
	if (proc2 & SECONDARY_EXEC_ENABLE_VMFUNC) {
		uint64_t fns = RD(VM_FUNCTION_CONTROL);
		if (CC(fns & ~VMX_VMFUNC_EPTP_SWITCHING) ||
		    CC((fns & VMX_VMFUNC_EPTP_SWITCHING) &&
		       !(proc2 & SECONDARY_EXEC_ENABLE_EPT)) ||
		    CC((fns & VMX_VMFUNC_EPTP_SWITCHING) &&
		       !page_addr_ok(RD(EPTP_LIST_ADDRESS))))
			return false;
	}

	/* 27.2.1.2 VM-exit control fields */
	if (CC(ctl_bad(exit, MSR_IA32_VMX_TRUE_EXIT_CTLS)))
		return false;
	if (RD(VM_EXIT_MSR_STORE_COUNT) &&
	    (CC(RD(VM_EXIT_MSR_STORE_ADDR) & 0xf) ||
	     CC(!phys_ok(RD(VM_EXIT_MSR_STORE_ADDR) +
			 RD(VM_EXIT_MSR_STORE_COUNT) * 16 - 1))))
		return false;
	if (RD(VM_EXIT_MSR_LOAD_COUNT) &&
	    (CC(RD(VM_EXIT_MSR_LOAD_ADDR) & 0xf) ||
	     CC(!phys_ok(RD(VM_EXIT_MSR_LOAD_ADDR) +
			 RD(VM_EXIT_MSR_LOAD_COUNT) * 16 - 1))))
		return false;

	/* 27.2.1.3 VM-entry control fields */
	if (CC(ctl_bad(entry, MSR_IA32_VMX_TRUE_ENTRY_CTLS)))
		return false;
	uint32_t info = (uint32_t)RD(VM_ENTRY_INTR_INFO_FIELD);
	if (info & INTR_INFO_VALID_MASK) {
		unsigned type = (info & INTR_INFO_INTR_TYPE_MASK) >>
				INTR_INFO_INTR_TYPE_SHIFT;
		unsigned vec = info & INTR_INFO_VECTOR_MASK;
		bool ec = info & INTR_INFO_DELIVER_CODE_MASK;
		uint32_t len = (uint32_t)RD(VM_ENTRY_INSTRUCTION_LEN);
		/* Type 1 is reserved; type 7 (pending MTF) has vector 0. */
		if (CC(type == 1) || CC(type == 7 && vec != 0) ||
		    CC(type == 2 && vec != 2) || CC(type == 3 && vec > 31) ||
		    CC(ec != (type == 3 && (RD(GUEST_CR0) & X86_CR0_PE) &&
			      x86_exception_has_error_code(vec))) ||
		    CC(info & 0x7ffff000u) ||
		    /* Error codes are 16 bits: bits 31:16 must be 0 (SDM
		     * 27.2.1.3; earlier editions said 31:15). */
		    CC(ec && (RD(VM_ENTRY_EXCEPTION_ERROR_CODE) >> 16)) ||
		    CC((type == 4 || type == 5 || type == 6) &&
		       (len == 0 || len > 15)))
			return false;
	}
	if (RD(VM_ENTRY_MSR_LOAD_COUNT) &&
	    (CC(RD(VM_ENTRY_MSR_LOAD_ADDR) & 0xf) ||
	     CC(!phys_ok(RD(VM_ENTRY_MSR_LOAD_ADDR) +
			 RD(VM_ENTRY_MSR_LOAD_COUNT) * 16 - 1))))
		return false;
	return true;
}

/* SDM 27.2.2, 27.2.3: host-state fields. The processor is in IA-32e mode
 * whenever it runs VMLAUNCH here (the model executes 64-bit code only),
 * and a C host always takes 64-bit host state. */
static bool check_host_state(struct vtx_cpu *c)
{
	uint32_t exit = (uint32_t)RD(VM_EXIT_CONTROLS);
	uint64_t cr0 = RD(HOST_CR0), cr4 = RD(HOST_CR4);
	bool lm = exit & VM_EXIT_HOST_ADDR_SPACE_SIZE;

	if (CC((cr0 & vtx_vmx_cr0_fixed0()) != vtx_vmx_cr0_fixed0()) ||
	    CC(cr0 & ~vtx_vmx_cr0_fixed1()) ||
	    CC((cr4 & vtx_vmx_cr4_fixed0()) != vtx_vmx_cr4_fixed0()) ||
	    CC(cr4 & ~vtx_vmx_cr4_fixed1()) || CC(!phys_ok(RD(HOST_CR3))) ||
	    CC(!canonical(RD(HOST_IA32_SYSENTER_ESP))) ||
	    CC(!canonical(RD(HOST_IA32_SYSENTER_EIP))))
		return false;
	if ((exit & VM_EXIT_LOAD_IA32_PAT) && CC(pat_bad(RD(HOST_IA32_PAT))))
		return false;
	if (exit & VM_EXIT_LOAD_IA32_EFER) {
		uint64_t efer = RD(HOST_IA32_EFER);
		if (CC(efer &
		       ~(uint64_t)(EFER_SCE | EFER_LME | EFER_LMA | EFER_NX)) ||
		    CC(!!(efer & EFER_LMA) != lm) ||
		    CC(!!(efer & EFER_LME) != lm))
			return false;
	}
	/* 27.2.3: selectors, bases; the address-space size. */
	static const uint32_t sels[] = { HOST_ES_SELECTOR, HOST_CS_SELECTOR,
					 HOST_SS_SELECTOR, HOST_DS_SELECTOR,
					 HOST_FS_SELECTOR, HOST_GS_SELECTOR,
					 HOST_TR_SELECTOR };
	for (unsigned k = 0; k < ARRAY_SIZE(sels); k++)
		if (CC(RD(sels[k]) & 7))
			return false;
	if (CC(RD(HOST_CS_SELECTOR) == 0) || CC(RD(HOST_TR_SELECTOR) == 0) ||
	    CC(RD(HOST_SS_SELECTOR) == 0 && !lm) ||
	    CC(!canonical(RD(HOST_FS_BASE))) ||
	    CC(!canonical(RD(HOST_GS_BASE))) ||
	    CC(!canonical(RD(HOST_GDTR_BASE))) ||
	    CC(!canonical(RD(HOST_IDTR_BASE))) ||
	    CC(!canonical(RD(HOST_TR_BASE))))
		return false;
	if (CC(!lm) || CC(!(cr4 & X86_CR4_PAE)) || CC(!canonical(RD(HOST_RIP))))
		return false;
	return true;
}

/* Segment AR and limit/granularity rules shared by the checks below. */
static bool limit_g_bad(uint32_t limit, uint32_t ar)
{
	bool g = ar & VMX_AR_G_MASK;
	return ((limit & 0xfff) != 0xfff && g) || ((limit >> 20) && !g);
}

static bool ar_reserved_bad(uint32_t ar)
{
	return ar & VMX_AR_RESERVED_MASK;
}

/* SDM 27.3.1.2: checks on guest segment registers. With "unrestricted
 * guest" the RPL/DPL rules that real mode could not meet are dropped, CS
 * may be an accessed read/write data segment (type 3, DPL 0), and SS.DPL
 * must be 0 in real mode. Virtual-8086 guests are not offered. */
static bool check_guest_segments(struct vtx_cpu *c, bool ia32e)
{
	bool ug = c->vmx.proc2 & SECONDARY_EXEC_UNRESTRICTED_GUEST;
	bool pe = RD(GUEST_CR0) & X86_CR0_PE;
	uint32_t cs_ar = (uint32_t)RD(GUEST_CS_AR_BYTES);
	uint32_t ss_ar = (uint32_t)RD(GUEST_SS_AR_BYTES);
	uint32_t tr_ar = (uint32_t)RD(GUEST_TR_AR_BYTES);
	uint32_t ldtr_ar = (uint32_t)RD(GUEST_LDTR_AR_BYTES);
	unsigned cs_type = cs_ar & VMX_AR_TYPE_MASK;
	bool cs_l = cs_ar & VMX_AR_L_MASK;

	/* Selectors */
	if (CC(RD(GUEST_TR_SELECTOR) & SEL_TI) ||
	    CC(!(ldtr_ar & VMX_AR_UNUSABLE_MASK) &&
	       (RD(GUEST_LDTR_SELECTOR) & SEL_TI)) ||
	    CC(!ug &&
	       (RD(GUEST_SS_SELECTOR) & 3) != (RD(GUEST_CS_SELECTOR) & 3)))
		return false;
	/* Bases */
	if (CC(!canonical(RD(GUEST_TR_BASE))) ||
	    CC(!canonical(RD(GUEST_FS_BASE))) ||
	    CC(!canonical(RD(GUEST_GS_BASE))) ||
	    CC(!(ldtr_ar & VMX_AR_UNUSABLE_MASK) &&
	       !canonical(RD(GUEST_LDTR_BASE))) ||
	    CC(RD(GUEST_CS_BASE) >> 32))
		return false;
	static const uint32_t data_base[] = { GUEST_SS_BASE, GUEST_DS_BASE,
					      GUEST_ES_BASE };
	static const uint32_t data_ar[] = { GUEST_SS_AR_BYTES,
					    GUEST_DS_AR_BYTES,
					    GUEST_ES_AR_BYTES };
	for (unsigned k = 0; k < 3; k++)
		if (CC(!(RD(data_ar[k]) & VMX_AR_UNUSABLE_MASK) &&
		       (RD(data_base[k]) >> 32)))
			return false;

	/* CS access rights */
	if (CC(cs_type != 9 && cs_type != 11 && cs_type != 13 &&
	       cs_type != 15 && !(ug && cs_type == 3)) ||
	    CC(!(cs_ar & VMX_AR_S_MASK)) ||
	    CC(cs_type == 3 && VMX_AR_DPL(cs_ar) != 0) ||
	    CC((cs_type == 9 || cs_type == 11) &&
	       VMX_AR_DPL(cs_ar) != VMX_AR_DPL(ss_ar)) ||
	    CC((cs_type == 13 || cs_type == 15) &&
	       VMX_AR_DPL(cs_ar) > VMX_AR_DPL(ss_ar)) ||
	    CC(!(cs_ar & VMX_AR_P_MASK)) || CC(ar_reserved_bad(cs_ar)) ||
	    CC(ia32e && cs_l && (cs_ar & VMX_AR_DB_MASK)) ||
	    CC(limit_g_bad((uint32_t)RD(GUEST_CS_LIMIT), cs_ar)))
		return false;
	/* SS */
	if (!(ss_ar & VMX_AR_UNUSABLE_MASK)) {
		unsigned t = ss_ar & VMX_AR_TYPE_MASK;
		if (CC(t != 3 && t != 7) || CC(!(ss_ar & VMX_AR_S_MASK)) ||
		    CC(!(ss_ar & VMX_AR_P_MASK)) ||
		    CC(ar_reserved_bad(ss_ar)) ||
		    CC(limit_g_bad((uint32_t)RD(GUEST_SS_LIMIT), ss_ar)))
			return false;
	}
	if (CC(!ug && VMX_AR_DPL(ss_ar) != (RD(GUEST_SS_SELECTOR) & 3)) ||
	    CC((cs_type == 3 || !pe) && VMX_AR_DPL(ss_ar) != 0))
		return false;
	/* DS, ES, FS, GS */
	static const uint32_t seg_ar[] = { GUEST_DS_AR_BYTES, GUEST_ES_AR_BYTES,
					   GUEST_FS_AR_BYTES,
					   GUEST_GS_AR_BYTES };
	static const uint32_t seg_sel[] = { GUEST_DS_SELECTOR,
					    GUEST_ES_SELECTOR,
					    GUEST_FS_SELECTOR,
					    GUEST_GS_SELECTOR };
	static const uint32_t seg_lim[] = { GUEST_DS_LIMIT, GUEST_ES_LIMIT,
					    GUEST_FS_LIMIT, GUEST_GS_LIMIT };
	for (unsigned k = 0; k < 4; k++) {
		uint32_t ar = (uint32_t)RD(seg_ar[k]);
		unsigned t = ar & VMX_AR_TYPE_MASK;
		if (ar & VMX_AR_UNUSABLE_MASK)
			continue;
		if (CC(!(t & SEG_TYPE_ACCESSED)) ||
		    CC((t & SEG_TYPE_CODE) && !(t & SEG_TYPE_READABLE)) ||
		    CC(!(ar & VMX_AR_S_MASK)) ||
		    CC(!ug && t <= 11 &&
		       VMX_AR_DPL(ar) < (RD(seg_sel[k]) & 3)) ||
		    CC(!(ar & VMX_AR_P_MASK)) || CC(ar_reserved_bad(ar)) ||
		    CC(limit_g_bad((uint32_t)RD(seg_lim[k]), ar)))
			return false;
	}
	/* TR: a busy TSS, usable */
	if (CC((tr_ar & VMX_AR_TYPE_MASK) != SEG_TYPE_TSS64_BUSY &&
	       (ia32e || (tr_ar & VMX_AR_TYPE_MASK) != 3)) ||
	    CC(tr_ar & VMX_AR_S_MASK) || CC(!(tr_ar & VMX_AR_P_MASK)) ||
	    CC(ar_reserved_bad(tr_ar)) || CC(tr_ar & VMX_AR_UNUSABLE_MASK) ||
	    CC(limit_g_bad((uint32_t)RD(GUEST_TR_LIMIT), tr_ar)))
		return false;
	/* LDTR, if usable */
	if (!(ldtr_ar & VMX_AR_UNUSABLE_MASK) &&
	    (CC((ldtr_ar & VMX_AR_TYPE_MASK) != SEG_TYPE_LDT) ||
	     CC(ldtr_ar & VMX_AR_S_MASK) || CC(!(ldtr_ar & VMX_AR_P_MASK)) ||
	     CC(ar_reserved_bad(ldtr_ar)) ||
	     CC(limit_g_bad((uint32_t)RD(GUEST_LDTR_LIMIT), ldtr_ar))))
		return false;
	return true;
}

/* SDM 27.3.1: guest-state checks. Returns the entry-failure qualification
 * (ENTRY_FAIL_*) + 1 on failure, 0 when the state is valid. */
static int check_guest_state(struct vtx_cpu *c)
{
	uint32_t entry = (uint32_t)RD(VM_ENTRY_CONTROLS);
	bool ia32e = entry & VM_ENTRY_IA32E_MODE;
	uint64_t cr0 = RD(GUEST_CR0), cr4 = RD(GUEST_CR4);
	uint64_t rfl = RD(GUEST_RFLAGS);
	uint32_t cs_ar = (uint32_t)RD(GUEST_CS_AR_BYTES);
	uint32_t intr = (uint32_t)RD(GUEST_INTERRUPTIBILITY_INFO);
	uint32_t inj = (uint32_t)RD(VM_ENTRY_INTR_INFO_FIELD);
	uint64_t link = RD(VMCS_LINK_POINTER);
	uint64_t cr0_fixed0 = vtx_vmx_cr0_fixed0();
	/* The type of an injected event, or ~0 when there is none. */
	uint32_t inj_type = (inj & INTR_INFO_VALID_MASK)
				    ? (inj & INTR_INFO_INTR_TYPE_MASK)
				    : ~0u;
	/* Pending debug exceptions: B3-B0, enabled breakpoint and BS are
	 * defined; bits 11 (bus lock) and 16 (RTM) are reserved on a
	 * processor without those features (SDM 27.3.1.5). The model
	 * accepts them but does not deliver a pending #DB yet. */
	uint64_t pending_dbg_reserved =
		~(PENDING_DBG_B_MASK | PENDING_DBG_ENABLED_BP | PENDING_DBG_BS);

	/* 27.3.1.1 control registers, debug registers and MSRs; PE and PG
	 * may be 0 for an unrestricted guest, but not PG without PE. */
	if (c->vmx.proc2 & SECONDARY_EXEC_UNRESTRICTED_GUEST)
		cr0_fixed0 &= ~(uint64_t)(X86_CR0_PE | X86_CR0_PG);
	if (CC((cr0 & cr0_fixed0) != cr0_fixed0) ||
	    CC((cr0 & X86_CR0_PG) && !(cr0 & X86_CR0_PE)) ||
	    CC(cr0 & ~vtx_vmx_cr0_fixed1()) ||
	    CC((cr4 & vtx_vmx_cr4_fixed0()) != vtx_vmx_cr4_fixed0()) ||
	    CC(cr4 & ~vtx_vmx_cr4_fixed1()))
		return ENTRY_FAIL_DEFAULT + 1;
	if ((entry & VM_ENTRY_LOAD_DEBUG_CONTROLS) && CC(RD(GUEST_DR7) >> 32))
		return ENTRY_FAIL_DEFAULT + 1;
	if (CC(ia32e && (!(cr0 & X86_CR0_PG) || !(cr4 & X86_CR4_PAE))) ||
	    CC(!phys_ok(RD(GUEST_CR3))) ||
	    CC(!canonical(RD(GUEST_SYSENTER_ESP))) ||
	    CC(!canonical(RD(GUEST_SYSENTER_EIP))))
		return ENTRY_FAIL_DEFAULT + 1;
	if ((entry & VM_ENTRY_LOAD_IA32_PAT) && CC(pat_bad(RD(GUEST_IA32_PAT))))
		return ENTRY_FAIL_DEFAULT + 1;
	if (entry & VM_ENTRY_LOAD_IA32_EFER) {
		uint64_t efer = RD(GUEST_IA32_EFER);
		if (CC(efer &
		       ~(uint64_t)(EFER_SCE | EFER_LME | EFER_LMA | EFER_NX)) ||
		    CC(!!(efer & EFER_LMA) != ia32e) ||
		    CC((cr0 & X86_CR0_PG) &&
		       !!(efer & EFER_LMA) != !!(efer & EFER_LME)))
			return ENTRY_FAIL_DEFAULT + 1;
	}
	/* 27.3.1.2 segment registers */
	if (!check_guest_segments(c, ia32e))
		return ENTRY_FAIL_DEFAULT + 1;
	/* 27.3.1.3 descriptor-table registers */
	if (CC(!canonical(RD(GUEST_GDTR_BASE))) ||
	    CC(!canonical(RD(GUEST_IDTR_BASE))) ||
	    CC(RD(GUEST_GDTR_LIMIT) >> 16) || CC(RD(GUEST_IDTR_LIMIT) >> 16))
		return ENTRY_FAIL_DEFAULT + 1;
	/* 27.3.1.4 RIP and RFLAGS */
	if (CC((!ia32e || !(cs_ar & VMX_AR_L_MASK)) && (RD(GUEST_RIP) >> 32)) ||
	    CC(ia32e && (cs_ar & VMX_AR_L_MASK) && !canonical(RD(GUEST_RIP))) ||
	    CC(rfl & ~(uint64_t)(X86_EFLAGS_LIVE_MASK | X86_EFLAGS_FIXED)) ||
	    CC(!(rfl & X86_EFLAGS_FIXED)) ||
	    CC((ia32e || !(cr0 & X86_CR0_PE)) && (rfl & X86_EFLAGS_VM)) ||
	    CC((inj & INTR_INFO_VALID_MASK) &&
	       ((inj & INTR_INFO_INTR_TYPE_MASK) >>
		INTR_INFO_INTR_TYPE_SHIFT) == 0 &&
	       !(rfl & X86_EFLAGS_IF)))
		return ENTRY_FAIL_DEFAULT + 1;
	/* 27.3.1.5 non-register state: the active, HLT and wait-for-SIPI
	 * states are offered, not shutdown. An inactive state needs no STI
	 * / MOV-SS blocking. HLT needs SS.DPL = 0 and admits only the
	 * injection of an external interrupt, an NMI, #DB, #MC or a pending
	 * MTF; wait-for-SIPI admits no injection at all. STI and MOV-SS blocking hold off an
	 * injected external interrupt, MOV-SS blocking an NMI (and STI
	 * blocking one here, as the SDM lets a processor require);
	 * exceptions may be injected under either. An injected NMI needs
	 * no (virtual-)NMI blocking. The enclave-interruption bit needs
	 * SGX, which the model lacks. */
	uint64_t act = RD(GUEST_ACTIVITY_STATE);
	unsigned inj_vec = inj & INTR_INFO_VECTOR_MASK;
	if (CC(act > GUEST_ACTIVITY_WAIT_SIPI) ||
	    CC(act == GUEST_ACTIVITY_SHUTDOWN) ||
	    CC(act == GUEST_ACTIVITY_HLT &&
	       ((RD(GUEST_SS_AR_BYTES) & VMX_AR_DPL_MASK) >>
		VMX_AR_DPL_SHIFT) != 0) ||
	    CC(act != GUEST_ACTIVITY_ACTIVE &&
	       (intr & (GUEST_INTR_STATE_STI | GUEST_INTR_STATE_MOV_SS))) ||
	    CC(act == GUEST_ACTIVITY_WAIT_SIPI && inj_type != ~0u) ||
	    CC(act == GUEST_ACTIVITY_HLT && inj_type != ~0u &&
	       inj_type != INTR_TYPE_EXT_INTR &&
	       inj_type != INTR_TYPE_NMI_INTR &&
	       inj_type != INTR_TYPE_OTHER_EVENT &&
	       !(inj_type == INTR_TYPE_HARD_EXCEPTION &&
		 (inj_vec == DB_VECTOR || inj_vec == MC_VECTOR))) ||
	    CC(inj_type == INTR_TYPE_NMI_INTR &&
	       (intr & GUEST_INTR_STATE_NMI)) ||
	    CC(intr & GUEST_INTR_STATE_RESERVED_MASK) ||
	    CC(intr & GUEST_INTR_STATE_ENCLAVE_INTR) ||
	    CC((intr & GUEST_INTR_STATE_STI) &&
	       (intr & GUEST_INTR_STATE_MOV_SS)) ||
	    CC(!(rfl & X86_EFLAGS_IF) && (intr & GUEST_INTR_STATE_STI)) ||
	    CC(intr & GUEST_INTR_STATE_SMI) ||
	    CC((inj_type == INTR_TYPE_EXT_INTR ||
		inj_type == INTR_TYPE_NMI_INTR) &&
	       (intr & (GUEST_INTR_STATE_STI | GUEST_INTR_STATE_MOV_SS))) ||
	    CC(RD(GUEST_PENDING_DBG_EXCEPTIONS) & pending_dbg_reserved))
		return ENTRY_FAIL_DEFAULT + 1;
	/* The VMCS link pointer, unless ~0: a page-aligned VMCS of our
	 * revision whose shadow-VMCS indicator equals "VMCS shadowing", and
	 * (outside SMM) not the current VMCS itself (SDM 27.3.1.5). */
	if (link != ~0ull) {
		uint32_t rev = ~0u;
		bool shadowing = c->vmx.proc2 & SECONDARY_EXEC_SHADOW_VMCS;

		vtx_hpa_read(c->m, link, &rev, 4);
		if (CC(!page_addr_ok(link)) ||
		    CC((rev & ~VTX_VMCS_SHADOW_INDICATOR) !=
		       VTX_VMCS_REVISION) ||
		    CC(!!(rev & VTX_VMCS_SHADOW_INDICATOR) != shadowing) ||
		    CC(link == c->vmx.current))
			return ENTRY_FAIL_VMCS_LINK_PTR + 1;
	}
	return 0;
}

/*
 * Blocking by STI or MOV SS from the interruptibility state (SDM 27.7.1):
 * it covers the guest's first instruction, as if that instruction followed
 * STI or MOV SS, unless the entry injects an event, which leaves none. The
 * run loop ends a shadow when the instruction after the one that armed it
 * retires (vtx/run.c): VMLAUNCH/VMRESUME arms it here; a C host runs no
 * instruction, so the shadow starts armed.
 */
static void load_blocking(struct vtx_cpu *c)
{
	uint32_t intr = (uint32_t)RD(GUEST_INTERRUPTIBILITY_INFO);

	if (RD(VM_ENTRY_INTR_INFO_FIELD) & INTR_INFO_VALID_MASK)
		intr = 0;
	/* Blocking by NMI (virtual-NMI blocking with virtual NMIs) stays
	 * even when an event is injected (27.3.2.5). */
	c->host_nmi_blocked = c->nmi_blocked;
	c->nmi_blocked = RD(GUEST_INTERRUPTIBILITY_INFO) & GUEST_INTR_STATE_NMI;
	c->sti_shadow = intr & (GUEST_INTR_STATE_STI | GUEST_INTR_STATE_MOV_SS);
	c->mov_ss_shadow = intr & GUEST_INTR_STATE_MOV_SS;
	c->shadow_armed = c->sti_shadow && c->vmx.c_host;
	if (c->sti_shadow)
		c->async = 1;
}

/* Loads guest state from the VMCS (SDM 27.3.2). Inline, so that each
 * field is found by its constant encoding (vmcs_access.h). */
static inline __attribute__((always_inline)) void
load_seg(struct vtx_cpu *c, struct kvm_segment *s, uint32_t sel, uint32_t base,
	 uint32_t lim, uint32_t ar)
{
	memset(s, 0, sizeof(*s));
	s->selector = (uint16_t)RD(sel);
	s->base = RD(base);
	s->limit = (uint32_t)RD(lim);
	x86_seg_from_vmx_ar(s, (uint32_t)RD(ar));
}

static void load_guest_state(struct vtx_cpu *c)
{
	uint32_t entry = (uint32_t)RD(VM_ENTRY_CONTROLS);

	c->cr0 = RD(GUEST_CR0) | X86_CR0_ET;
	c->cr3 = RD(GUEST_CR3);
	c->cr4 = RD(GUEST_CR4);
	if (entry & VM_ENTRY_LOAD_DEBUG_CONTROLS)
		c->dr[7] = RD(GUEST_DR7);
	c->sysenter_cs = RD(GUEST_SYSENTER_CS);
	c->sysenter_esp = RD(GUEST_SYSENTER_ESP);
	c->sysenter_eip = RD(GUEST_SYSENTER_EIP);
	if (entry & VM_ENTRY_LOAD_IA32_PAT)
		c->pat = RD(GUEST_IA32_PAT);
	if (entry & VM_ENTRY_LOAD_IA32_EFER) {
		c->efer = RD(GUEST_IA32_EFER);
	} else {
		/* LMA and LME follow the IA-32e mode guest control. */
		c->efer &= ~(uint64_t)(EFER_LMA | EFER_LME);
		if (entry & VM_ENTRY_IA32E_MODE)
			c->efer |= EFER_LMA | EFER_LME;
	}
	load_seg(c, &c->seg[SEG_ES], GUEST_ES_SELECTOR, GUEST_ES_BASE,
		 GUEST_ES_LIMIT, GUEST_ES_AR_BYTES);
	load_seg(c, &c->seg[SEG_CS], GUEST_CS_SELECTOR, GUEST_CS_BASE,
		 GUEST_CS_LIMIT, GUEST_CS_AR_BYTES);
	load_seg(c, &c->seg[SEG_SS], GUEST_SS_SELECTOR, GUEST_SS_BASE,
		 GUEST_SS_LIMIT, GUEST_SS_AR_BYTES);
	load_seg(c, &c->seg[SEG_DS], GUEST_DS_SELECTOR, GUEST_DS_BASE,
		 GUEST_DS_LIMIT, GUEST_DS_AR_BYTES);
	load_seg(c, &c->seg[SEG_FS], GUEST_FS_SELECTOR, GUEST_FS_BASE,
		 GUEST_FS_LIMIT, GUEST_FS_AR_BYTES);
	load_seg(c, &c->seg[SEG_GS], GUEST_GS_SELECTOR, GUEST_GS_BASE,
		 GUEST_GS_LIMIT, GUEST_GS_AR_BYTES);
	load_seg(c, &c->tr, GUEST_TR_SELECTOR, GUEST_TR_BASE, GUEST_TR_LIMIT,
		 GUEST_TR_AR_BYTES);
	load_seg(c, &c->ldt, GUEST_LDTR_SELECTOR, GUEST_LDTR_BASE,
		 GUEST_LDTR_LIMIT, GUEST_LDTR_AR_BYTES);
	c->gdt.base = RD(GUEST_GDTR_BASE);
	c->gdt.limit = (uint16_t)RD(GUEST_GDTR_LIMIT);
	c->idt.base = RD(GUEST_IDTR_BASE);
	c->idt.limit = (uint16_t)RD(GUEST_IDTR_LIMIT);
	c->gpr[REG_RSP] = RD(GUEST_RSP);
	c->rip = RD(GUEST_RIP);
	c->next_rip = c->rip;
	c->rflags = RD(GUEST_RFLAGS);
	load_blocking(c);
}

/* The VM-entry MSR-load area (SDM 27.4): 1-based index of the entry that
 * failed, or 0. */
static uint32_t load_msrs(struct vtx_cpu *c, uint64_t addr, uint32_t n)
{
	for (uint32_t k = 0; k < n; k++) {
		uint64_t e[2];
		if (vtx_hpa_read(c->m, addr + k * 16ull, e, 16))
			return k + 1;
		uint32_t idx = (uint32_t)e[0];
		/* FS/GS bases, x2APIC MSRs, SMM monitor control and reserved
		 * bits may not be loaded this way. */
		if ((e[0] >> 32) || idx == MSR_FS_BASE || idx == MSR_GS_BASE ||
		    (idx >> 8) == 0x8 || vtx_cpu_set_msr(c, idx, e[1]))
			return k + 1;
	}
	return 0;
}

static void cache_controls(struct vtx_cpu *c)
{
	struct vtx_vmx *v = &c->vmx;

	v->pin = (uint32_t)RD(PIN_BASED_VM_EXEC_CONTROL);
	v->proc = (uint32_t)RD(CPU_BASED_VM_EXEC_CONTROL);
	v->proc2 = (v->proc & CPU_BASED_ACTIVATE_SECONDARY_CONTROLS)
			   ? (uint32_t)RD(SECONDARY_VM_EXEC_CONTROL)
			   : 0;
	v->exit_ctls = (uint32_t)RD(VM_EXIT_CONTROLS);
	v->entry_ctls = (uint32_t)RD(VM_ENTRY_CONTROLS);
	v->exception_bitmap = (uint32_t)RD(EXCEPTION_BITMAP);
	v->pf_mask = (uint32_t)RD(PAGE_FAULT_ERROR_CODE_MASK);
	v->pf_match = (uint32_t)RD(PAGE_FAULT_ERROR_CODE_MATCH);
	v->cr0_mask = RD(CR0_GUEST_HOST_MASK);
	v->cr0_shadow = RD(CR0_READ_SHADOW);
	v->cr4_mask = RD(CR4_GUEST_HOST_MASK);
	v->cr4_shadow = RD(CR4_READ_SHADOW);
	v->io_bitmap_a = RD(IO_BITMAP_A);
	v->io_bitmap_b = RD(IO_BITMAP_B);
	v->msr_bitmap = RD(MSR_BITMAP);
	v->eptp = RD(EPT_POINTER);
	v->cr3_target_count = (uint32_t)RD(CR3_TARGET_COUNT);
	v->cr3_target[0] = RD(CR3_TARGET_VALUE0);
	v->cr3_target[1] = RD(CR3_TARGET_VALUE1);
	v->cr3_target[2] = RD(CR3_TARGET_VALUE2);
	v->cr3_target[3] = RD(CR3_TARGET_VALUE3);
	v->tsc_offset =
		(v->proc & CPU_BASED_USE_TSC_OFFSETTING) ? RD(TSC_OFFSET) : 0;
	v->vpid = (v->proc2 & SECONDARY_EXEC_ENABLE_VPID)
			  ? (uint16_t)RD(VIRTUAL_PROCESSOR_ID)
			  : 0;
	v->vmread_bitmap = RD(VMREAD_BITMAP);
	v->vmwrite_bitmap = RD(VMWRITE_BITMAP);
	v->vmcs_link = RD(VMCS_LINK_POINTER);
	v->vmfunc_ctls = (v->proc2 & SECONDARY_EXEC_ENABLE_VMFUNC)
				 ? RD(VM_FUNCTION_CONTROL)
				 : 0;
	v->eptp_list = RD(EPTP_LIST_ADDRESS);
	v->tsc_multiplier = RD(TSC_MULTIPLIER);
}

/*
 * A guest that will use PAE paging gets its PDPTEs at entry (SDM Vol. 3C
 * 27.3.1.6, 27.3.2.4): from the guest-state fields with EPT, else from
 * the PDPT GUEST_CR3 points to. A present PDPTE with a reserved bit fails
 * the entry. Returns false then.
 */
static bool entry_load_pdptes(struct vtx_cpu *c)
{
	uint64_t cr0 = RD(GUEST_CR0), cr4 = RD(GUEST_CR4), p[4];

	if (!(cr0 & X86_CR0_PG) || !(cr4 & X86_CR4_PAE) ||
	    (c->vmx.entry_ctls & VM_ENTRY_IA32E_MODE))
		return true;
	if (!(c->vmx.proc2 & SECONDARY_EXEC_ENABLE_EPT))
		return vtx_paging_load_pdptes(c, RD(GUEST_CR3)) == 0;
	p[0] = RD(GUEST_PDPTR0);
	p[1] = RD(GUEST_PDPTR1);
	p[2] = RD(GUEST_PDPTR2);
	p[3] = RD(GUEST_PDPTR3);
	for (int k = 0; k < 4; k++)
		if ((p[k] & PTE_P) && (p[k] & PDPTE_RSVD_MASK))
			return false;
	memcpy(c->pdpte, p, sizeof(p));
	return true;
}

/* An entry failure after the controls and host state passed: a VM exit
 * with bit 31 of the reason set, host state loaded (SDM 27.8). */
static void entry_failure(struct vtx_cpu *c, uint32_t reason, uint64_t qual)
{
	struct vtx_exit_info e = {
		.reason = reason | VMX_EXIT_REASONS_FAILED_VMENTRY,
		.qual = qual,
	};
	c->vmx.entry_failed = true;
	vtx_vmx_exit(c, &e);
}

int vtx_vmx_enter(struct vtx_cpu *c, bool launch)
{
	struct vmcs12 *v;
	int gs;

	if (c->vmx.current == VMX_NO_VMCS)
		return -1;
	v = vtx_hpa_ptr(c->m, c->vmx.current, VMCS12_SIZE);
	if (!v)
		return -1;
	/* A shadow VMCS cannot be entered: VMfailInvalid, like no VMCS at
	 * all (SDM 27.1, 25.10). */
	if (v->revision_id & VTX_VMCS_SHADOW_INDICATOR)
		return -1;
	/* SDM 31.3 "VMLAUNCH/VMRESUME": blocking by MOV SS, launch state. */
	/* Blocking by MOV SS concerns the host executing VMLAUNCH; a host
	 * written in C is never in a MOV-SS shadow (what is left on the vCPU
	 * then is the last guest's, saved in its VMCS). */
	if (!c->vmx.c_host && c->sti_shadow && c->mov_ss_shadow)
		return VMXERR_ENTRY_EVENTS_BLOCKED_BY_MOV_SS;
	if (launch && v->launch_state != 0)
		return VMXERR_VMLAUNCH_NONCLEAR_VMCS;
	if (!launch && v->launch_state != 1)
		return VMXERR_VMRESUME_NONLAUNCHED_VMCS;
	c->vmx_check = NULL;
	if (!check_controls(c))
		return VMXERR_ENTRY_INVALID_CONTROL_FIELD;
	if (!check_host_state(c))
		return VMXERR_ENTRY_INVALID_HOST_STATE_FIELD;

	/* From here on a failure is a VM exit to the host. */
	cache_controls(c);
	gs = check_guest_state(c);
	if (gs)
		entry_failure(c, EXIT_REASON_INVALID_STATE, (uint64_t)(gs - 1));
	if (!entry_load_pdptes(c))
		entry_failure(c, EXIT_REASON_INVALID_STATE, ENTRY_FAIL_PDPTE);

	load_guest_state(c);
	vtx_cost_close_run(c);
	c->vmx.non_root = true;
	uint32_t bad = load_msrs(c, RD(VM_ENTRY_MSR_LOAD_ADDR),
				 (uint32_t)RD(VM_ENTRY_MSR_LOAD_COUNT));
	if (bad)
		entry_failure(c, EXIT_REASON_MSR_LOAD_FAIL, bad);
	if (launch)
		v->launch_state = 1;
	/* Without a VPID, VM entry drops VPID 0's translations (SDM Vol.
	 * 3C 29.4.3.1); with one, the guest's survive from its last run. */
	vtx_tlb_on_vmx_transition(
		c, (c->vmx.proc2 & SECONDARY_EXEC_ENABLE_VPID) && c->vmx.vpid);
	vtx_update_mode(c);
	c->stats.vm_entries++;
	vtx_cost_charge_outside(c, &c->stats.cycles_switch, c->cost.vm_entry);

	/* Event injection happens at the first instruction boundary, as the
	 * first thing the guest sees (SDM 27.6). */
	uint32_t inj = (uint32_t)RD(VM_ENTRY_INTR_INFO_FIELD);
	if (inj & INTR_INFO_VALID_MASK) {
		c->inject_info = inj;
		c->inject_error = (uint32_t)RD(VM_ENTRY_EXCEPTION_ERROR_CODE);
		c->inject_len = (uint32_t)RD(VM_ENTRY_INSTRUCTION_LEN);
		c->async = 1;
	}
	/* The HLT activity state: the guest waits for an event (27.7.4);
	 * wait-for-SIPI: it waits for a SIPI, which a SIPI raised before
	 * found no waiter for (27.7.2);
	 * the preemption timer starts from the guest field (26.5.1); MTF
	 * counts instructions from here. The first boundary looks at all
	 * of it (vtx/events.c). */
	c->wait_sipi = RD(GUEST_ACTIVITY_STATE) == GUEST_ACTIVITY_WAIT_SIPI;
	c->sipi_pending = false;
	c->halted =
		RD(GUEST_ACTIVITY_STATE) == GUEST_ACTIVITY_HLT || c->wait_sipi;
	c->mtf_pending = false;
	c->mtf_mark = c->stats.insns;
	/* It counts the changes of bit 5 of the TSC as IA32_TSC reads it
	 * (the clock plus what WRMSR to it moved), not of the modeled
	 * clock itself. */
	if (c->vmx.pin & PIN_BASED_VMX_PREEMPTION_TIMER) {
		uint64_t tsc = c->tsc + c->tsc_adjust;

		c->preempt_deadline =
			(((tsc >> VTX_VMX_PREEMPT_SHIFT) +
			  (uint32_t)RD(VMX_PREEMPTION_TIMER_VALUE))
			 << VTX_VMX_PREEMPT_SHIFT) -
			c->tsc_adjust;
	}
	c->event_req = true;
	c->async = 1;
	vtx_events_recalc(c);
	return 0;
}
