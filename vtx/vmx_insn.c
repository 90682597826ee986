/* SPDX-License-Identifier: MIT */
/*
 * vmx_insn.c - the VMX instructions as software executes them: VMXON,
 * VMXOFF, VMCLEAR, VMPTRLD, VMPTRST, VMREAD, VMWRITE, VMLAUNCH, VMRESUME,
 * INVEPT, INVVPID, VMCALL, with every #UD/#GP, VM exit and VMfail case of
 * the SDM's pseudo-code (Vol. 3C ch. 31, "VMX Instruction Reference"),
 * VMREAD/VMWRITE of the shadow VMCS in VMX non-root operation (SDM 25.10,
 * 26.3), and VMCS access by encoding. Model side.
 */
#include <errno.h>

#include <asm/vmx.h>

#include "arch/ept.h"
#include "arch/vmcs12.h"
#include "arch/vmx_insn_errors.h"
#include "arch/x86_msr.h"
#include "vtx/exec.h"
#include "vtx/vmcs_access.h"
#include "vtx/paging.h"
#include "vtx/vmx.h"

/* ---- the VMCS by encoding ------------------------------------------------- */

static uint8_t *vmcs_ptr(struct vtx_cpu *c, uint64_t hpa)
{
	return vtx_hpa_ptr(c->m, hpa, VMCS12_SIZE);
}

uint64_t vtx_vmcs_read(struct vtx_cpu *c, uint64_t hpa, uint32_t enc)
{
	return vtx_vmcs_get(c, hpa, enc);
}

void vtx_vmcs_write(struct vtx_cpu *c, uint64_t hpa, uint32_t enc, uint64_t val)
{
	vtx_vmcs_set(c, hpa, enc, val);
}

static uint32_t vmcs_revision(struct vtx_cpu *c, uint64_t hpa)
{
	uint32_t rev = ~0u;
	vtx_hpa_read(c->m, hpa, &rev, 4);
	return rev;
}

static void vmcs_set_launched(struct vtx_cpu *c, uint64_t hpa, bool l)
{
	struct vmcs12 *v = (struct vmcs12 *)vmcs_ptr(c, hpa);
	if (v)
		v->launch_state = l;
}

/* ---- VMsucceed / VMfail (SDM 31.2) ----------------------------------------- */

/* The outcome of a VMX operation: 0 (VMsucceed), VTX_VMFAIL_INVALID, or a
 * VM-instruction error number for VMfail; vm_status() applies it: RFLAGS,
 * and the error field of the current VMCS for VMfailValid. */
static int vm_status(struct vtx_cpu *c, int st)
{
	if (st == 0) {
		flags_set_arith(c, 0);
	} else if (st < 0 || c->vmx.current == VMX_NO_VMCS) {
		flags_set_arith(c, X86_EFLAGS_CF);
		st = VTX_VMFAIL_INVALID;
	} else {
		vtx_vmcs_write(c, c->vmx.current, VM_INSTRUCTION_ERROR,
			       (uint32_t)st);
		flags_set_arith(c, X86_EFLAGS_ZF);
	}
	return st;
}

/* ---- common checks ------------------------------------------------------------ */

/* The #UD and VM-exit checks every VMX instruction starts with (SDM 31.3):
 * outside VMX operation (or in a mode without VMX), #UD; in non-root
 * operation, a VM exit with `reason`; at CPL > 0, #GP(0). */
static void vmx_insn_checks_regs(struct vtx_cpu *c, const struct vtx_insn *i,
				 uint32_t reason, unsigned reg1, unsigned reg2)
{
	if (!c->vmx.on || c->mode != VTX_MODE_LONG64)
		raise_ud(c);
	if (c->vmx.non_root)
		vtx_vmx_exit_insn(c, i, reason, vtx_vmx_disp_qual(c, i),
				  vtx_vmx_insn_info(i, reg1, reg2));
	if (c->cpl > 0)
		raise_gp(c, 0);
}

/* Instructions whose operands are memory only, or none. */
static void vmx_insn_checks(struct vtx_cpu *c, const struct vtx_insn *i,
			    uint32_t reason)
{
	vmx_insn_checks_regs(c, i, reason, 0, 0);
}

/* A VMX instruction past its #UD, exit and #GP checks: it runs in root
 * operation and costs the profile's figure whatever its outcome. */
static void vmx_insn_charge(struct vtx_cpu *c)
{
	c->stats.vmx_insns++;
	cost_charge_insn(c, vmx_insn);
}

static bool vmx_addr_ok(uint64_t pa)
{
	/* 4-KiB aligned, within the physical-address width (MAXPHYADDR 46). */
	return !(pa & 0xfff) && !(pa >> 46);
}

/* ---- the operations, shared by the instructions and vtx.h's C API ---------- */

int vtx_vmx_op_vmxon(struct vtx_cpu *c, uint64_t pa)
{
	if (!vmx_addr_ok(pa) ||
	    (vmcs_revision(c, pa) & 0x7fffffffu) != VTX_VMCS_REVISION ||
	    (vmcs_revision(c, pa) & 0x80000000u))
		return VTX_VMFAIL_INVALID;
	c->vmx.on = true;
	c->vmx.vmxon_ptr = pa;
	c->vmx.current = VMX_NO_VMCS;
	return 0;
}

int vtx_vmx_op_vmxoff(struct vtx_cpu *c)
{
	c->vmx.on = false;
	c->vmx.c_host = false;
	c->vmx.vmxon_ptr = VMX_NO_VMCS;
	c->vmx.current = VMX_NO_VMCS;
	/* An INIT that VMX root operation held back is taken now
	 * (SDM Vol. 3C 24.8; vtx/events.c). */
	if (c->init_pending) {
		c->event_req = true;
		c->async = 1;
	}
	return 0;
}

int vtx_vmx_op_vmclear(struct vtx_cpu *c, uint64_t pa)
{
	if (!vmx_addr_ok(pa))
		return VMXERR_VMCLEAR_INVALID_ADDRESS;
	if (pa == c->vmx.vmxon_ptr)
		return VMXERR_VMCLEAR_VMXON_POINTER;
	/* The model keeps no VMCS data on the chip: the region is always
	 * up to date; only the launch state changes. */
	vmcs_set_launched(c, pa, false);
	if (pa == c->vmx.current)
		c->vmx.current = VMX_NO_VMCS;
	return 0;
}

int vtx_vmx_op_vmptrld(struct vtx_cpu *c, uint64_t pa)
{
	uint32_t rev;

	if (!vmx_addr_ok(pa))
		return VMXERR_VMPTRLD_INVALID_ADDRESS;
	if (pa == c->vmx.vmxon_ptr)
		return VMXERR_VMPTRLD_VMXON_POINTER;
	/* Bits 30:0 must be the revision; bit 31, the shadow-VMCS
	 * indicator, may be 1 because "VMCS shadowing" may be 1 (SDM 31.3
	 * "VMPTRLD"): a shadow VMCS can be current, for VMREAD/VMWRITE. */
	rev = vmcs_revision(c, pa);
	if ((rev & ~VTX_VMCS_SHADOW_INDICATOR) != VTX_VMCS_REVISION)
		return VMXERR_VMPTRLD_INCORRECT_VMCS_REVISION_ID;
	c->vmx.current = pa;
	return 0;
}

/* VMREAD and VMWRITE on the VMCS at `vmcs`: the current VMCS in root
 * operation, the one the VMCS link pointer names in non-root operation
 * (SDM 31.3 "VMREAD", "VMWRITE"); ~0 is no VMCS: VMfailInvalid. */
static int vmcs_op_read(struct vtx_cpu *c, uint64_t vmcs, uint64_t enc,
			uint64_t *val)
{
	unsigned int width = 0;
	uint8_t *p;
	int off;

	if (vmcs == VMX_NO_VMCS)
		return VTX_VMFAIL_INVALID;
	off = (enc >> 32) ? -1 : vtx_vmcs_model_offset((uint32_t)enc, &width);
	if (off < 0)
		return VMXERR_UNSUPPORTED_VMCS_COMPONENT;
	p = vtx_vmcs_region(c, vmcs);
	*val = p ? host_load(p + off, width) : 0;
	return 0;
}

static int vmcs_op_write(struct vtx_cpu *c, uint64_t vmcs, uint64_t enc,
			 uint64_t val)
{
	unsigned int width = 0;
	uint8_t *p;
	int off;

	if (vmcs == VMX_NO_VMCS)
		return VTX_VMFAIL_INVALID;
	off = (enc >> 32) ? -1 : vtx_vmcs_model_offset((uint32_t)enc, &width);
	if (off < 0)
		return VMXERR_UNSUPPORTED_VMCS_COMPONENT;
	/* IA32_VMX_MISC bit 29 is set: VMWRITE may write the exit-
	 * information fields too, of a shadow VMCS as of any other (SDM
	 * 31.3 "VMWRITE"). */
	p = vtx_vmcs_region(c, vmcs);
	if (p)
		host_store(p + off, width, val);
	return 0;
}

int vtx_vmx_op_vmread(struct vtx_cpu *c, uint64_t enc, uint64_t *val)
{
	return vmcs_op_read(c, c->vmx.current, enc, val);
}

int vtx_vmx_op_vmwrite(struct vtx_cpu *c, uint64_t enc, uint64_t val)
{
	return vmcs_op_write(c, c->vmx.current, enc, val);
}

/* INVEPT (SDM 31.3 "INVEPT", Vol. 3C 29.4.3.1): single-context drops the
 * combined mappings of the descriptor's EP4TA (every VPID and PCID),
 * global-context those of every EP4TA. Guest-physical mappings are not
 * cached; linear mappings (no EPT) are not touched. */
int vtx_vmx_op_invept(struct vtx_cpu *c, uint64_t type, uint64_t eptp)
{
	struct vtx_tlbi inv = { .flags = TLBI_COMBINED };

	if (type != VMX_EPT_EXTENT_CONTEXT && type != VMX_EPT_EXTENT_GLOBAL)
		return VMXERR_INVALID_OPERAND_TO_INVEPT_INVVPID;
	if (type == VMX_EPT_EXTENT_CONTEXT &&
	    ((eptp & VMX_EPTP_MT_MASK) != VMX_EPTP_MT_WB ||
	     (eptp & VMX_EPTP_PWL_MASK) != VMX_EPTP_PWL_4 ||
	     (eptp & (VMX_EPTP_RESERVED_LOW | VMX_EPTP_SSS_BIT)) ||
	     (eptp >> 46)))
		return VMXERR_INVALID_OPERAND_TO_INVEPT_INVVPID;
	if (type == VMX_EPT_EXTENT_CONTEXT) {
		inv.flags = TLBI_EPT;
		inv.ept = (eptp & VMX_EPTP_ADDR_MASK) | 1;
	}
	vtx_tlb_invalidate(c, &inv);
	return 0;
}

/* INVVPID (SDM 31.3 "INVVPID", Vol. 3C 29.4.3.1): linear and combined
 * mappings (every EP4TA) of one address of a VPID (type 0), of a VPID
 * (1), of every VPID but 0 (2), of a VPID but its globals (3). */
int vtx_vmx_op_invvpid(struct vtx_cpu *c, uint64_t type, uint64_t vpid,
		       uint64_t gla)
{
	static const unsigned flags[4] = {
		TLBI_VPID | TLBI_ADDR,
		TLBI_VPID,
		TLBI_NOT_VPID0,
		TLBI_VPID | TLBI_KEEP_GLOBAL,
	};
	struct vtx_tlbi inv;

	if (type > VMX_VPID_EXTENT_SINGLE_NON_GLOBAL || (vpid >> 16) ||
	    (type != VMX_VPID_EXTENT_ALL_CONTEXT && !(uint16_t)vpid) ||
	    (type == VMX_VPID_EXTENT_INDIVIDUAL_ADDR &&
	     (uint64_t)((int64_t)(gla << 16) >> 16) != gla))
		return VMXERR_INVALID_OPERAND_TO_INVEPT_INVVPID;
	inv = (struct vtx_tlbi){
		.flags = flags[type],
		.vpid = (uint16_t)vpid,
		.la = gla,
	};
	vtx_tlb_invalidate(c, &inv);
	return 0;
}

/* ---- the instructions ------------------------------------------------------ */

void x_vmxon(struct vtx_cpu *c, const struct vtx_insn *i)
{
	if (c->vmx.on) {
		vmx_insn_checks(c, i, EXIT_REASON_VMON);
		vmx_insn_charge(c);
		vm_status(c, VMXERR_VMXON_IN_VMX_ROOT_OPERATION);
		return;
	}
	if (!(c->cr0 & X86_CR0_PE) || !(c->cr4 & X86_CR4_VMXE) ||
	    (c->rflags & X86_EFLAGS_VM) || c->mode != VTX_MODE_LONG64)
		raise_ud(c);
	if (c->cpl > 0)
		raise_gp(c, 0);
	/* CR0/CR4 must satisfy the fixed bits; the feature-control MSR must
	 * be locked with VMX outside SMX enabled (SDM 31.3 "VMXON"). */
	if ((c->cr0 & vtx_vmx_cr0_fixed0()) != vtx_vmx_cr0_fixed0() ||
	    (c->cr0 & ~vtx_vmx_cr0_fixed1()) ||
	    (c->cr4 & vtx_vmx_cr4_fixed0()) != vtx_vmx_cr4_fixed0() ||
	    (c->cr4 & ~vtx_vmx_cr4_fixed1()) ||
	    !(c->feature_control & FEAT_CTL_LOCKED) ||
	    !(c->feature_control & FEAT_CTL_VMX_ENABLED_OUTSIDE_SMX))
		raise_gp(c, 0);
	vmx_insn_charge(c);
	vm_status(c, vtx_vmx_op_vmxon(c, mem_load(c, insn_la(c, i), 8)));
}

void x_vmxoff(struct vtx_cpu *c, const struct vtx_insn *i)
{
	vmx_insn_checks(c, i, EXIT_REASON_VMOFF);
	vmx_insn_charge(c);
	vm_status(c, vtx_vmx_op_vmxoff(c));
}

void x_vmclear(struct vtx_cpu *c, const struct vtx_insn *i)
{
	vmx_insn_checks(c, i, EXIT_REASON_VMCLEAR);
	vmx_insn_charge(c);
	vm_status(c, vtx_vmx_op_vmclear(c, mem_load(c, insn_la(c, i), 8)));
}

void x_vmptrld(struct vtx_cpu *c, const struct vtx_insn *i)
{
	vmx_insn_checks(c, i, EXIT_REASON_VMPTRLD);
	vmx_insn_charge(c);
	vm_status(c, vtx_vmx_op_vmptrld(c, mem_load(c, insn_la(c, i), 8)));
}

void x_vmptrst(struct vtx_cpu *c, const struct vtx_insn *i)
{
	vmx_insn_checks(c, i, EXIT_REASON_VMPTRST);
	vmx_insn_charge(c);
	mem_store(c, insn_la(c, i), 8, c->vmx.current);
	vm_status(c, 0);
}

/*
 * In VMX non-root operation, does a VMREAD/VMWRITE of `enc` go to the
 * shadow VMCS instead of exiting (SDM 26.1.3, 31.3)? Only with "VMCS
 * shadowing", an encoding within bits 14:0, and its bit in the 4-KiB
 * bitmap (bit n of byte n / 8, n = bits 14:0) clear. A bitmap outside
 * memory reads as all ones: the access exits.
 */
static bool vmcs_shadowed(struct vtx_cpu *c, uint64_t enc, uint64_t bitmap)
{
	uint8_t b = 0xff;

	if (!(c->vmx.proc2 & SECONDARY_EXEC_SHADOW_VMCS) || (enc >> 15))
		return false;
	vtx_hpa_read(c->m, bitmap + (enc >> 3), &b, 1);
	return !((b >> (enc & 7)) & 1);
}

/* VMREAD/VMWRITE's #UD, exit and #GP checks (SDM 31.3): those of every
 * VMX instruction, except that a shadowed access in non-root operation
 * does not exit. True when the access goes to the shadow VMCS. */
static bool vmcs_access_checks(struct vtx_cpu *c, const struct vtx_insn *i,
			       uint32_t reason, unsigned reg1, unsigned reg2,
			       uint64_t enc, uint64_t bitmap)
{
	if (!c->vmx.on || c->mode != VTX_MODE_LONG64)
		raise_ud(c);
	if (c->vmx.non_root && !vmcs_shadowed(c, enc, bitmap))
		vtx_vmx_exit_insn(c, i, reason, vtx_vmx_disp_qual(c, i),
				  vtx_vmx_insn_info(i, reg1, reg2));
	if (c->cpl > 0)
		raise_gp(c, 0);
	return c->vmx.non_root;
}

/* VMREAD r/m64, r64: r2 holds the encoding; the destination is r1 or
 * memory. */
void x_vmread(struct vtx_cpu *c, const struct vtx_insn *i)
{
	uint64_t enc = c->gpr[i->r2], v = 0, vmcs = c->vmx.current;
	int st;

	/* reg1: the destination register, reg2: the encoding (SDM 28.2.5) */
	if (vmcs_access_checks(c, i, EXIT_REASON_VMREAD, i->r1, i->r2, enc,
			       c->vmx.vmread_bitmap)) {
		/* Non-root without an exit: its own event class. */
		c->stats.shadow_vmreads++;
		cost_charge_insn(c, shadow_vmread);
		vmcs = c->vmx.vmcs_link;
	} else {
		c->stats.vmreads++;
		cost_charge_insn(c, vmread);
	}
	st = vmcs_op_read(c, vmcs, enc, &v);
	if (st == 0) {
		if (i->flags & VTX_INSN_HAS_MEM)
			mem_store(c, insn_la(c, i), 8, v);
		else
			c->gpr[i->r1] = v;
	}
	/* A VMfailValid goes to the current VMCS even when the access was
	 * for the shadow VMCS (SDM 31.2). */
	vm_status(c, st);
}

/* VMWRITE r64, r/m64: r1 holds the encoding; the value is r2 or memory. */
void x_vmwrite(struct vtx_cpu *c, const struct vtx_insn *i)
{
	uint64_t enc = c->gpr[i->r1], v, vmcs = c->vmx.current;

	/* reg1: the source register, reg2: the encoding (SDM 28.2.5) */
	if (vmcs_access_checks(c, i, EXIT_REASON_VMWRITE, i->r2, i->r1, enc,
			       c->vmx.vmwrite_bitmap)) {
		c->stats.shadow_vmwrites++;
		cost_charge_insn(c, shadow_vmwrite);
		vmcs = c->vmx.vmcs_link;
	} else {
		c->stats.vmwrites++;
		cost_charge_insn(c, vmwrite);
	}
	/* VMfailInvalid comes before the source operand is read. */
	if (vmcs == VMX_NO_VMCS) {
		vm_status(c, VTX_VMFAIL_INVALID);
		return;
	}
	v = (i->flags & VTX_INSN_HAS_MEM) ? mem_load(c, insn_la(c, i), 8)
					  : c->gpr[i->r2];
	vm_status(c, vmcs_op_write(c, vmcs, enc, v));
}

static void vm_entry_insn(struct vtx_cpu *c, const struct vtx_insn *i,
			  bool launch)
{
	int ret;

	vmx_insn_checks(c, i,
			launch ? EXIT_REASON_VMLAUNCH : EXIT_REASON_VMRESUME);
	ret = vtx_vmx_enter(c, launch);
	if (ret) {
		vm_status(c, ret);
	} else {
		/* The guest runs from c->rip: the run loop must not advance
		 * past this instruction. It still retires (counted) after
		 * the entry: MTF must not take it for the guest's first. */
		c->next_rip = c->rip;
		c->mtf_mark++;
	}
}

void x_vmlaunch(struct vtx_cpu *c, const struct vtx_insn *i)
{
	vm_entry_insn(c, i, true);
}

void x_vmresume(struct vtx_cpu *c, const struct vtx_insn *i)
{
	vm_entry_insn(c, i, false);
}

/* INVEPT r64, m128 and INVVPID r64, m128: r1 holds the type. */
void x_invept(struct vtx_cpu *c, const struct vtx_insn *i)
{
	struct vmx_invept_desc d;

	vmx_insn_checks_regs(c, i, EXIT_REASON_INVEPT, 0, i->r1);
	vmx_insn_charge(c);
	vtx_read_slow(c, insn_la(c, i), &d, sizeof(d));
	vm_status(c, vtx_vmx_op_invept(c, c->gpr[i->r1], d.eptp));
}

void x_invvpid(struct vtx_cpu *c, const struct vtx_insn *i)
{
	struct vmx_invvpid_desc d;

	vmx_insn_checks_regs(c, i, EXIT_REASON_INVVPID, 0, i->r1);
	vmx_insn_charge(c);
	vtx_read_slow(c, insn_la(c, i), &d, sizeof(d));
	vm_status(c, vtx_vmx_op_invvpid(c, c->gpr[i->r1], d.vpid, d.gla));
}

/* VMCALL: in non-root operation a VM exit; in root operation VMfail (no
 * dual-monitor treatment of SMM is offered); outside VMX #UD. */
void x_vmcall(struct vtx_cpu *c, const struct vtx_insn *i)
{
	vmx_insn_checks(c, i, EXIT_REASON_VMCALL);
	vmx_insn_charge(c);
	vm_status(c, VMXERR_VMCALL_IN_VMX_ROOT_OPERATION);
}
