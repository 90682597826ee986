/* SPDX-License-Identifier: MIT */
/*
 * shadow.h - VMCS shadowing of vmcs12 for L1 (SDM Vol. 3C 25.10, 26.3,
 * 31.3 "VMREAD", "VMWRITE"): which vmcs12 fields a VMCS-access strategy
 * lets L1 read or write without a VM exit (from the shadow classes of
 * arch/vmcs_fields.def), the VMREAD/VMWRITE bitmaps that say so, and the
 * copies between L0's cached vmcs12 and the shadow VMCS. Monitor side: the
 * shadow VMCS is reached only with vtx_vmread/vtx_vmwrite while current.
 */
#ifndef NESTVM_VMCS_MERGE_SHADOW_H
#define NESTVM_VMCS_MERGE_SHADOW_H

#include "arch/vmcs.h"
#include "arch/vmcs12.h"

struct vtx_cpu;

/* How L1's VMREAD/VMWRITE reach vmcs12 (--vmcs-access). */
enum vmcs_access_mode {
	VMCS_ACCESS_TRAP, /* every one exits to L0 (Turtles' baseline) */
	VMCS_ACCESS_SHADOW, /* SH_RW read/write, SH_RO read, the rest exit */
	VMCS_ACCESS_SHADOW_ALL, /* every field L0 offers L1 is shadowed */
	/* an enlightened L1 keeps an in-memory eVMCS with clean-field
	 * bits (l0/evmcs.h); any other L1 is trapped as under trap */
	VMCS_ACCESS_PV,
	/* L1's exit handler runs under L0's binary translator, its
	 * VMREAD/VMWRITE callouts on vmcs12 (l0/bt_l1.h); as trap for L1
	 * code that runs on the hardware */
	VMCS_ACCESS_BT,
};

/* "trap", "shadow", "shadow-all", "pv", "bt"; never NULL. */
const char *vmcs_access_mode_name(enum vmcs_access_mode mode);

/* What L1 may do to a field without a VM exit. */
#define VMCS_SHADOW_READ 1u
#define VMCS_SHADOW_WRITE 2u

/*
 * The shadowed fields of one strategy. Invariants: a writable field is
 * also readable (a value L1 wrote must read back from the same place), and
 * only fields L0 offers L1 (nested_vmcs_field_supported()) are shadowed,
 * so every other encoding still exits and gets L0's VMfail.
 */
struct vmcs_shadow_set {
	enum vmcs_access_mode mode;
	uint8_t access
		[VMCS_NR_FIELDS]; /* VMCS_SHADOW_*, by enum vmcs_field_id */
	unsigned int nr_read; /* fields copied vmcs12 -> shadow VMCS */
	unsigned int nr_write; /* fields copied shadow VMCS -> vmcs12 */
	/* The same fields as lists of enum vmcs_field_id, in table order:
	 * the copies run twice per nested round trip. */
	uint16_t read_ids[VMCS_NR_FIELDS];
	uint16_t write_ids[VMCS_NR_FIELDS];
};

/*
 * The set of mode. exit_info_writable is IA32_VMX_MISC[29] as L1 reads it:
 * without it a VMWRITE of a VM-exit information field must fail (SDM 31.3),
 * so shadow-all leaves those fields read-only.
 */
void vmcs_shadow_set_init(struct vmcs_shadow_set *s, enum vmcs_access_mode mode,
			  bool exit_info_writable);

/* VMCS_SHADOW_* for encoding enc (a _HIGH access is its field's), 0 for an
 * encoding that is not shadowed or not a field. */
unsigned int vmcs_shadow_field_access(const struct vmcs_shadow_set *s,
				      uint64_t enc);

/*
 * Fills the 4-KiB VMREAD and VMWRITE bitmaps (SDM 25.6.15: bit n of byte
 * n / 8 for encoding n; a set bit exits) for s: clear for the shadowed
 * accesses, set everywhere else.
 */
void vmcs_shadow_fill_bitmaps(const struct vmcs_shadow_set *s,
			      uint8_t *vmread_bitmap, uint8_t *vmwrite_bitmap);

/*
 * vmcs12 -> the current VMCS (the shadow VMCS): every readable field of s.
 * Adds the VMWRITEs to *writes. 0, or the VMfail of a VMWRITE (L0's bug).
 */
int vmcs_shadow_copy_to_shadow(struct vtx_cpu *cpu, const struct vmcs12 *v,
			       const struct vmcs_shadow_set *s,
			       uint64_t *writes);

/*
 * The current VMCS (the shadow VMCS) -> vmcs12: every writable field of s,
 * the only ones L1 can have changed. For each field whose value changed,
 * ORs VMCS02_DIRTY_CLASS(its sync class) into *dirty, as L1's trapped
 * VMWRITE would have. Adds the VMREADs to *reads. 0, or the VMfail of a
 * VMREAD (L0's bug).
 */
int vmcs_shadow_copy_from_shadow(struct vtx_cpu *cpu, struct vmcs12 *v,
				 const struct vmcs_shadow_set *s,
				 unsigned int *dirty, uint64_t *reads);

#endif
