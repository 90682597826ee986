/* SPDX-License-Identifier: MIT */
/*
 * vmx.h - the model's VT-x: VMX operation state, the VMCS (kept in the
 * arena in the layout of struct vmcs12: the model's own VMCS format, which
 * software may not rely on, SDM Vol. 3C 25.2), the capability MSRs, and the
 * entry points the instruction handlers, the fault path and the page walker
 * use. Model side, internal. SDM Vol. 3C ch. 24-31 (current numbering).
 */
#ifndef NESTVM_VTX_VMX_H
#define NESTVM_VTX_VMX_H

#include "arch/types.h"

struct vtx_cpu;
struct vtx_insn;

#define VMX_NO_VMCS (~0ull) /* current-VMCS pointer when there is none */

/* IA32_VMX_MISC[4:0]: the VMX-preemption timer counts down by one each
 * time this bit of the TSC changes (SDM 26.5.1, A.6). */
#define VTX_VMX_PREEMPT_SHIFT 5

/* The VMCS revision identifier the model reports in IA32_VMX_BASIC. */
#define VTX_VMCS_REVISION 0x00004e56u
/* Bit 31 of a VMCS region's first word: the shadow-VMCS indicator (SDM
 * 25.2, 25.10). Bits 30:0 hold the revision identifier. */
#define VTX_VMCS_SHADOW_INDICATOR 0x80000000u

/* VMX state of one vCPU. Controls are cached at VM entry: in VMX non-root
 * operation nothing can change the current VMCS (SDM 25.11.1). */
struct vtx_vmx {
	bool on; /* in VMX operation (after VMXON) */
	bool non_root; /* in VMX non-root operation */
	bool c_host; /* the host is C code calling vtx.h: a VM exit
			  returns to it instead of loading host state */
	uint64_t vmxon_ptr;
	uint64_t current; /* current-VMCS pointer or VMX_NO_VMCS */

	uint32_t pin, proc, proc2, exit_ctls, entry_ctls;
	uint32_t exception_bitmap, pf_mask, pf_match;
	uint64_t cr0_mask, cr0_shadow, cr4_mask, cr4_shadow;
	uint64_t io_bitmap_a, io_bitmap_b, msr_bitmap;
	uint64_t eptp;
	uint32_t cr3_target_count;
	uint64_t cr3_target[4];
	uint64_t tsc_offset;
	uint16_t vpid;
	/* VMCS shadowing (SDM 25.10, 26.3): the VMREAD/VMWRITE bitmaps and
	 * the link pointer naming the shadow VMCS, cached at entry. */
	uint64_t vmread_bitmap, vmwrite_bitmap, vmcs_link;
	/* VM functions (SDM 26.5.6): the VM-function controls (0 without
	 * "enable VM functions") and the EPTP-list address, cached at
	 * entry. The TSC multiplier (26.6.5), with "use TSC scaling". */
	uint64_t vmfunc_ctls, eptp_list;
	uint64_t tsc_multiplier;
	bool entry_failed; /* the exit is an entry failure: no guest state */
};

/* Capability MSRs (vtx/vmx_caps.c): 0, or -ENOENT if idx is not one. */
int vtx_vmx_read_cap(const struct vtx_cpu *c, uint32_t idx, uint64_t *val);
/* CR0/CR4 bits that must be 1 / may be 1 in VMX operation. */
uint64_t vtx_vmx_cr0_fixed0(void);
uint64_t vtx_vmx_cr0_fixed1(void);
uint64_t vtx_vmx_cr4_fixed0(void);
uint64_t vtx_vmx_cr4_fixed1(void);
/* Allowed settings of a control group: bits that must be 1 (allowed-0
 * clear) and bits that may be 1, from the TRUE_* MSR values. */
void vtx_vmx_ctl_allowed(uint32_t msr, uint32_t *must1, uint32_t *may1);
/* Which fields the model's VMCS has: vtx_vmcs_field_supported(), vtx.h. */

/* VMCS access by encoding, on the VMCS region at hpa (vtx/vmx_insn.c).
 * No checks beyond the field's existence: callers do the VMfail logic. */
uint64_t vtx_vmcs_read(struct vtx_cpu *c, uint64_t hpa, uint32_t enc);
void vtx_vmcs_write(struct vtx_cpu *c, uint64_t hpa, uint32_t enc,
		    uint64_t val);

/* The VMX operations behind both the instructions and the C API
 * (vtx/vmx_insn.c): 0 for VMsucceed, VTX_VMFAIL_INVALID, or the
 * VM-instruction error of a VMfail. Callers did the #UD/#GP/exit checks. */
int vtx_vmx_op_vmxon(struct vtx_cpu *c, uint64_t pa);
int vtx_vmx_op_vmxoff(struct vtx_cpu *c);
int vtx_vmx_op_vmclear(struct vtx_cpu *c, uint64_t pa);
int vtx_vmx_op_vmptrld(struct vtx_cpu *c, uint64_t pa);
int vtx_vmx_op_vmread(struct vtx_cpu *c, uint64_t enc, uint64_t *val);
int vtx_vmx_op_vmwrite(struct vtx_cpu *c, uint64_t enc, uint64_t val);
int vtx_vmx_op_invept(struct vtx_cpu *c, uint64_t type, uint64_t eptp);
int vtx_vmx_op_invvpid(struct vtx_cpu *c, uint64_t type, uint64_t vpid,
		       uint64_t gla);

/* VM entry from the current VMCS (vtx/vmx_entry.c). Returns 0 when the
 * vCPU now runs the guest; a VM-instruction error number (VMfailValid), or
 * -1 for VMfailInvalid, when the entry failed before loading guest state.
 * A failed guest-state check is a VM exit (reason bit 31) and returns 0. */
int vtx_vmx_enter(struct vtx_cpu *c, bool launch);

/* VM exits (vtx/vmx_exit.c). vtx_vmx_exit() saves the guest state into
 * the current VMCS, writes the exit information, and loads the host state
 * (or stops the run loop for a C host); it never returns: it longjmps back
 * to the run loop. */
struct vtx_exit_info {
	uint32_t reason;
	uint64_t qual;
	uint64_t gla, gpa;
	uint32_t intr_info, intr_error;
	uint32_t insn_info;
	uint32_t len; /* VM_EXIT_INSTRUCTION_LEN, when has_len */
	bool has_len;
	bool has_gla, has_gpa;
};
__attribute__((noreturn)) void vtx_vmx_exit(struct vtx_cpu *c,
					    const struct vtx_exit_info *e);
/* A VM exit caused by the executing instruction, with its length. */
__attribute__((noreturn)) void vtx_vmx_exit_insn(struct vtx_cpu *c,
						 const struct vtx_insn *i,
						 uint32_t reason, uint64_t qual,
						 uint32_t insn_info);
/* The VMX instruction-information field for i's operands (SDM 28.2.5). */
uint32_t vtx_vmx_insn_info(const struct vtx_insn *i, unsigned reg1,
			   unsigned reg2);
/* The exit qualification of an instruction whose qualification is its
 * displacement (VMX instructions, descriptor-table instructions): 0
 * without a memory operand; for RIP-relative addressing, displacement +
 * RIP of the next instruction (SDM 28.2.1). Valid while i executes. */
uint64_t vtx_vmx_disp_qual(const struct vtx_cpu *c, const struct vtx_insn *i);

/* The TSC value RDTSC, RDTSCP and RDMSR of IA32_TSC return in VMX
 * non-root operation for the processor's TSC `tsc`: scaled by the TSC
 * multiplier and offset, as the controls say (SDM 26.3;
 * vtx/vmx_nonroot.c). */
uint64_t vtx_vmx_guest_tsc(const struct vtx_cpu *c, uint64_t tsc);

/* Non-root interception tests, each true when the condition exits. */
bool vtx_vmx_io_exits(struct vtx_cpu *c, uint16_t port, unsigned size);
bool vtx_vmx_msr_exits(struct vtx_cpu *c, uint32_t msr, bool write);
/* An exception about to be delivered in non-root operation: exits if the
 * exception bitmap says so (SDM 26.2); returns if it is delivered. */
void vtx_vmx_exception(struct vtx_cpu *c, int vector, uint32_t ec, bool has_ec,
		       bool software, unsigned insn_len);
/* Triple fault in non-root operation: a VM exit (SDM 26.2). */
__attribute__((noreturn)) void vtx_vmx_triple_fault(struct vtx_cpu *c);

/* EPT (vtx/ept.c): guest-physical to host-physical for an access; raises
 * the EPT-violation or misconfiguration VM exit. `gla`/`has_gla`: the
 * linear address the access was for, and whether the guest-physical
 * address is the final translation (true) or a paging-structure entry
 * (false). */
uint64_t vtx_ept_translate(struct vtx_cpu *c, uint64_t gpa, int acc,
			   uint64_t gla, bool has_gla, bool final);

#endif
