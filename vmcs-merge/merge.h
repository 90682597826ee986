/* SPDX-License-Identifier: MIT */
/*
 * merge.h - the nested VM entry and exit on the VMCS side: the checks on
 * vmcs12 before a nested entry (SDM Vol. 3C 27.2 controls and host state,
 * 27.3.1 guest state), vmcs01 + vmcs12 -> vmcs02 ("full" preparation: every
 * field on every nested entry), vmcs02 -> vmcs12 on a reflected exit (28.2
 * exit information, 28.3 guest state), and vmcs12's host state loaded into
 * L1 as a VM exit loads it (28.5). Monitor side: vmcs01 and vmcs02 are
 * reached only with vtx_vmread/vtx_vmwrite on the current VMCS.
 */
#ifndef NESTVM_VMCS_MERGE_MERGE_H
#define NESTVM_VMCS_MERGE_MERGE_H

#include "arch/vmcs12.h"

struct vtx_cpu;
struct nested_vmx_caps;

/* L0's host state, written into vmcs01 and vmcs02 alike: checked at every
 * VM entry, never loaded (a VM exit returns to L0's C code). */
struct vmcs_l0_host {
	uint64_t cr0, cr3, cr4, efer, pat;
	uint16_t cs, ss, ds, es, fs, gs, tr;
	uint64_t fs_base, gs_base, tr_base, gdtr_base, idtr_base;
	uint64_t sysenter_esp, sysenter_eip;
	uint64_t rsp, rip;
};

/* Writes h into the host-state fields of the current VMCS. 0, or the
 * VMfail of the first VMWRITE that failed. */
int vmcs_write_l0_host_state(struct vtx_cpu *cpu, const struct vmcs_l0_host *h);

/* What L0 contributes to vmcs02, and L1's state where vmcs12 leaves a
 * register to the processor (its entry controls do not load it). */
struct vmcs02_config {
	uint32_t exit_ctls; /* L0's VM-exit controls for vmcs02 */
	uint32_t entry_ctls; /* L0's VM-entry controls, IA32E_MODE aside */
	uint32_t pin_must1, proc_must1; /* the processor's default1 bits */
	uint32_t exception_bitmap; /* exceptions L0 itself intercepts */
	uint64_t cr0_mask, cr4_mask; /* CR bits L0 owns: the VMX-fixed ones */
	uint64_t eptp; /* ept02, or ept01 when vmcs12 has no EPT */
	uint64_t tsc_offset; /* vmcs01's */
	uint64_t l1_efer, l1_pat, l1_dr7, l1_debugctl;
	const struct vmcs_l0_host *host;
	/* L2's VPID in vmcs02 (mmu/vpid02.c): never vmcs01's, never 0. */
	uint16_t vpid02;
};

/* ---- checks (SDM 27.2, 27.3.1) ------------------------------------------ */

enum vmcs12_check_result {
	VMCS12_CHECK_OK,
	VMCS12_CHECK_VMFAIL, /* VMfailValid(error), nothing entered */
	VMCS12_CHECK_ENTRY_FAIL, /* an entry failure: a VM exit to L1 */
};

struct vmcs12_check {
	enum vmcs12_check_result result;
	unsigned int error; /* VMXERR_* for VMCS12_CHECK_VMFAIL */
	uint32_t exit_reason; /* basic reason for VMCS12_CHECK_ENTRY_FAIL */
	uint64_t qual; /* ENTRY_FAIL_* for VMCS12_CHECK_ENTRY_FAIL */
	const char *check; /* the rule that fired, as written in check.c */
};

/*
 * The checks of a nested VM entry, in the SDM's order: VM-execution,
 * VM-exit and VM-entry controls against L0's capabilities (27.2.1), host
 * state (27.2.2, 27.2.3), then the guest-state rules L0 checks itself
 * (27.3.1; the model checks the rest on vmcs02 and L0 reflects what it
 * finds). maxphyaddr is L1's physical-address width. One CC() line per
 * rule; out->check names the first that failed.
 */
void vmcs_merge_check_vmcs12(const struct vmcs12 *v,
			     const struct nested_vmx_caps *caps,
			     unsigned int maxphyaddr, struct vmcs12_check *out);

/* ---- vmcs02 --------------------------------------------------------------- */

/*
 * Prepares the current VMCS (vmcs02) from vmcs12 and cfg, every field
 * ("full" mode): controls are what L0 needs | what L1 asked for (every
 * port and MSR access exits to L0, which then decides), guest state and
 * event injection from vmcs12, CR0/CR4 masks ORed with read shadows that
 * show L1's values for the bits only L0 owns, TSC offsets added, EPT
 * pointer and host state L0's. 0, or the VMfail of a VMWRITE (L0's bug).
 */
int vmcs_merge_prepare_vmcs02(struct vtx_cpu *cpu, const struct vmcs12 *v,
			      const struct vmcs02_config *cfg);

/*
 * "dirty" preparation: which parts of vmcs02 to write. One bit per vmcs12
 * sync class (arch/vmcs_fields.def) that L1 wrote since the last nested
 * entry, and VMCS02_DIRTY_CONSTANT for what only L0 decides (vmcs02's host
 * state, written once per vmcs02 and when L0's part of the merge changes).
 * The hot part (HOT class, EFER, PAT) is written whatever the bits say.
 */
#define VMCS02_DIRTY_CLASS(c) (1u << (c))
#define VMCS02_DIRTY_CONSTANT (1u << VMCS_NR_SYNC_CLASSES)
#define VMCS02_DIRTY_ALL (VMCS02_DIRTY_CONSTANT | (VMCS02_DIRTY_CONSTANT - 1))

/*
 * Prepares the parts of the current VMCS (vmcs02) that dirty names, as
 * vmcs_merge_prepare_vmcs02() prepares all of them (dirty ==
 * VMCS02_DIRTY_ALL is "full"); adds the VMWRITEs it issued to *writes
 * (may be NULL). 0, or the VMfail of a VMWRITE (L0's bug).
 */
int vmcs_merge_prepare_vmcs02_parts(struct vtx_cpu *cpu, const struct vmcs12 *v,
				    const struct vmcs02_config *cfg,
				    unsigned int dirty, uint64_t *writes);

/* The exit information of the current VMCS, as a VM exit wrote it. */
struct nested_exit_info {
	uint32_t reason; /* the whole field, bit 31 included */
	uint64_t qual;
	uint32_t intr_info, intr_error;
	uint32_t idt_vectoring_info, idt_vectoring_error;
	uint32_t insn_len, insn_info;
	uint64_t gla, gpa;
};

/* Reads the exit-information fields of the current VMCS. */
void vmcs_merge_read_exit_info(struct vtx_cpu *cpu, struct nested_exit_info *e);

/*
 * A reflected exit, on the vmcs12 side: L2's state from the current VMCS
 * (vmcs02) into vmcs12 as the processor saves it (SDM 28.3, with vmcs12's
 * exit controls deciding DR7, PAT and EFER), the exit information e (28.2),
 * and the valid bit of the VM-entry interruption information cleared.
 */
void vmcs_merge_sync_vmcs02_to_vmcs12(struct vtx_cpu *cpu, struct vmcs12 *v,
				      const struct vmcs02_config *cfg,
				      const struct nested_exit_info *e);

/*
 * An entry failure on the vmcs12 side (SDM 27.8): exit reason with bit 31
 * and qualification only; no guest state is saved.
 */
void vmcs_merge_set_entry_failure(struct vmcs12 *v, uint32_t basic_reason,
				  uint64_t qual);

/*
 * Loads vmcs12's host state into the current VMCS (vmcs01) as the guest
 * state L1 resumes with, the way a VM exit loads host state (SDM 28.5):
 * CR0, CR3, CR4 (L1's view in the read shadows, the real CR4 with the bits
 * cr4_l0 L0 keeps set), DR7 0x400, flat segments from the selectors, TR,
 * GDTR/IDTR limits 0xffff, RIP/RSP, RFLAGS 0x2, EFER and PAT per vmcs12's
 * exit controls. 0, or the VMfail of a VMREAD/VMWRITE (L0's bug).
 */
int vmcs_merge_load_l1_host_state(struct vtx_cpu *cpu, const struct vmcs12 *v,
				  uint64_t cr4_l0);

#endif
