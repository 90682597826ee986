/* SPDX-License-Identifier: MIT */
/*
 * vmx_nonroot.c - VMX non-root behaviour that has no other home: VMFUNC
 * and its EPTP-switching leaf (SDM Vol. 3C 26.5.6), the guest's view of
 * the TSC under TSC offsetting and scaling (26.3, 26.6.5), and MONITOR,
 * MWAIT and XSETBV, whose #UD on this CPU comes before their VM exits
 * (26.1.1). Model side.
 */
#include <asm/vmx.h>

#include "arch/ept.h"
#include "arch/vmcs.h"
#include "vtx/exec.h"
#include "vtx/vmcs_access.h"
#include "vtx/vmx.h"

#define WR(enc, v) vtx_vmcs_set(c, c->vmx.current, (enc), (v))

/* ---- the TSC as the guest reads it (SDM 26.3) ------------------------------ */

uint64_t vtx_vmx_guest_tsc(const struct vtx_cpu *c, uint64_t tsc)
{
	const struct vtx_vmx *v = &c->vmx;

	/* Offsetting off: RDTSC, RDTSCP and RDMSR read the TSC itself,
	 * whatever "use TSC scaling" says (26.3). */
	if (!(v->proc & CPU_BASED_USE_TSC_OFFSETTING))
		return tsc;
	/* The multiplier is a fixed-point number with 48 fraction bits:
	 * bits 111:48 of the 128-bit product, then the offset (26.6.5). */
	if (v->proc2 & SECONDARY_EXEC_TSC_SCALING)
		tsc = (uint64_t)(((unsigned __int128)tsc * v->tsc_multiplier) >>
				 48);
	return tsc + v->tsc_offset;
}

/* ---- VMFUNC (SDM 26.5.6) ---------------------------------------------------- */

/* An EPTP that VM entry would accept (27.2.1.1): write-back, a 4-level
 * walk, bits 11:7 clear (bit 6, accessed/dirty flags, is offered), and
 * within the physical-address width. */
static bool eptp_valid(uint64_t eptp)
{
	return (eptp & VMX_EPTP_MT_MASK) == VMX_EPTP_MT_WB &&
	       (eptp & VMX_EPTP_PWL_MASK) == VMX_EPTP_PWL_4 &&
	       !(eptp & (VMX_EPTP_SSS_BIT | VMX_EPTP_RESERVED_LOW)) &&
	       !(eptp >> 46);
}

/* EPTP switching, leaf 0 (26.5.6.3): ECX selects one of the 512 entries
 * of the EPTP list. An index beyond the list or an entry that is no valid
 * EPTP makes the VMFUNC exit; otherwise the EPTP field changes, in the
 * VMCS too, and the instruction completes. The TLB needs no flush:
 * combined mappings are tagged with the EP4TA (29.4.2). */
static void vmfunc_switch_eptp(struct vtx_cpu *c, const struct vtx_insn *i)
{
	uint32_t idx = (uint32_t)c->gpr[REG_RCX];
	uint64_t eptp = 0;

	if (idx >= 512)
		vtx_vmx_exit_insn(c, i, EXIT_REASON_VMFUNC, 0, 0);
	/* A list outside memory reads as no valid entry. */
	if (vtx_hpa_read(c->m, c->vmx.eptp_list + idx * 8ull, &eptp, 8) ||
	    !eptp_valid(eptp))
		vtx_vmx_exit_insn(c, i, EXIT_REASON_VMFUNC, 0, 0);
	c->vmx.eptp = eptp;
	WR(EPT_POINTER, eptp);
	c->stats.eptp_switches++;
	/* The host-pointer cache holds translations of the old EPTP. */
	vtx_soft_tlb_flush(c);
}

/* VMFUNC (0f 01 d4): #UD outside non-root operation and without "enable
 * VM functions"; a function (EAX) the VM-function controls do not enable,
 * EAX >= 64 included, is a VM exit (reason 59), as is a failing function.
 * Any CPL may execute it. */
void x_vmfunc(struct vtx_cpu *c, const struct vtx_insn *i)
{
	uint64_t fn = (uint32_t)c->gpr[REG_RAX];

	if (!c->vmx.non_root || !(c->vmx.proc2 & SECONDARY_EXEC_ENABLE_VMFUNC))
		raise_ud(c);
	if (fn >= 64 || !((c->vmx.vmfunc_ctls >> fn) & 1))
		vtx_vmx_exit_insn(c, i, EXIT_REASON_VMFUNC, 0, 0);
	switch (fn) {
	case 0: /* EPTP switching */
		vmfunc_switch_eptp(c, i);
		return;
	default:
		/* Entry refuses any other enabled function (vmx_entry.c). */
		vtx_vmx_exit_insn(c, i, EXIT_REASON_VMFUNC, 0, 0);
	}
}

/* ---- instructions that #UD before they can exit (SDM 26.1.1) -------------- */

/* MONITOR and MWAIT: CPUID.01H:ECX.MONITOR[3] is 0 on this CPU, so both
 * raise #UD; an invalid-opcode exception has priority over a VM exit
 * (26.1.1), so "MONITOR exiting" and "MWAIT exiting" could never fire and
 * are not offered. */
void x_monitor(struct vtx_cpu *c, const struct vtx_insn *i)
{
	(void)i;
	raise_ud(c);
}

void x_mwait(struct vtx_cpu *c, const struct vtx_insn *i)
{
	(void)i;
	raise_ud(c);
}

/* XSETBV exits unconditionally in non-root operation (26.1.2), but only
 * after the #UD for CR4.OSXSAVE = 0 (26.1.1, the XSETBV page). This CPU
 * has no XSAVE (CPUID.01H:ECX.XSAVE[26] = 0), so CR4.OSXSAVE is reserved
 * and always 0: XSETBV is #UD in root and non-root operation alike. */
void x_xsetbv(struct vtx_cpu *c, const struct vtx_insn *i)
{
	(void)i;
	raise_ud(c);
}
