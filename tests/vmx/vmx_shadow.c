/* SPDX-License-Identifier: MIT */
/*
 * vmx_shadow.c - VMCS shadowing: shadow VMCSs in VMX root operation
 * (VMPTRLD, VMREAD/VMWRITE, VMCLEAR, no VM entry with one: SDM Vol. 3C
 * 25.10, 27.1, 31.3), the VMREAD/VMWRITE bitmap fields, the VM-entry
 * checks on the bitmaps and the VMCS link pointer (27.2.1.1, 27.3.1.5),
 * and VMREAD/VMWRITE in VMX non-root operation served from the shadow
 * VMCS or exiting by the bitmaps (26.1.3, 31.3). Guest side.
 */
#include <asm/vmx.h>

#include "arch/vmcs.h"
#include "arch/vmx_exit_qual.h"
#include "arch/vmx_insn_errors.h"
#include "arch/x86_msr.h"
#include "arch/x86_regs.h"
#include "guests/rt/rt.h"
#include "tests/vmx/lib.h"

#define SHADOW_INDICATOR 0x80000000u

static uint8_t shadow_vmcs[VMXT_PAGE] __attribute__((aligned(VMXT_PAGE)));
static uint8_t vmread_bitmap[VMXT_PAGE] __attribute__((aligned(VMXT_PAGE)));
static uint8_t vmwrite_bitmap[VMXT_PAGE] __attribute__((aligned(VMXT_PAGE)));

/* What the guest snippets exchange with the host: the encoding, the value
 * (written or read), and RFLAGS after the instruction. */
struct shadow_mail {
	uint64_t enc;
	uint64_t val;
	uint64_t rflags;
};
#define MAIL ((volatile struct shadow_mail *)vmxt_guest_data)

#define COOKIE_RIP 0x0123456789abcdefull
#define COOKIE_CR3T 0xfedcba9876543210ull

static void expect(const char *name, struct vmxt_outcome got,
		   struct vmxt_outcome want)
{
	vmxt_check_outcome(name, &got, &want);
}

/* The shadow VMCS: our revision with the shadow-VMCS indicator, cleared,
 * with known values in two fields. Leaves the ordinary VMCS current, with
 * the baseline. */
static void shadow_vmcs_init(void)
{
	uint32_t rev;

	vmxt_region_init(shadow_vmcs);
	memcpy(&rev, shadow_vmcs, sizeof(rev));
	rev |= SHADOW_INDICATOR;
	memcpy(shadow_vmcs, &rev, sizeof(rev));
	if (vmxt_try_vmclear(vmxt_pa(shadow_vmcs)).kind != VMXT_SUCCEED ||
	    vmxt_try_vmptrld(vmxt_pa(shadow_vmcs)).kind != VMXT_SUCCEED)
		vmxt_die("VMCLEAR/VMPTRLD of the shadow VMCS failed");
	vmxt_wr(GUEST_RIP, COOKIE_RIP);
	vmxt_wr(CR3_TARGET_VALUE0, COOKIE_CR3T);
	vmxt_vmcs_load();
}

/* A shadow-VMCS field, read in root operation by making it current. */
static uint64_t shadow_field(uint32_t enc)
{
	uint64_t v = ~0ull;

	if (vmxt_try_vmptrld(vmxt_pa(shadow_vmcs)).kind != VMXT_SUCCEED)
		vmxt_die("VMPTRLD of the shadow VMCS failed");
	vmxt_try_vmread(enc, &v);
	if (vmxt_try_vmptrld(vmxt_pa(vmxt_vmcs_region)).kind != VMXT_SUCCEED)
		vmxt_die("VMPTRLD of the VMCS failed");
	return v;
}

/* The baseline, with "VMCS shadowing" on (or off), bitmaps of zeros and
 * the shadow VMCS as the link pointer. */
static void shadow_baseline(bool shadowing)
{
	vmxt_vmcs_baseline();
	memset(vmread_bitmap, 0, VMXT_PAGE);
	memset(vmwrite_bitmap, 0, VMXT_PAGE);
	vmxt_wr(SECONDARY_VM_EXEC_CONTROL,
		shadowing ? SECONDARY_EXEC_SHADOW_VMCS : 0);
	vmxt_wr(VMREAD_BITMAP, vmxt_pa(vmread_bitmap));
	vmxt_wr(VMWRITE_BITMAP, vmxt_pa(vmwrite_bitmap));
	vmxt_wr(VMCS_LINK_POINTER, shadowing ? vmxt_pa(shadow_vmcs) : ~0ull);
}

/* ---- root operation ------------------------------------------------------ */

/* SDM 31.3 "VMPTRLD": with VMCS shadowing supported, a shadow VMCS may
 * become current; VMREAD/VMWRITE then use it; SDM 27.1: VMLAUNCH and
 * VMRESUME with it fail as with no current VMCS (VMfailInvalid). */
static void test_root(void)
{
	uint64_t other = vmxt_pa(vmxt_scratch[0]);
	uint64_t v = 0;
	uint32_t rev;

	expect("vmptrld_shadow_vmcs", vmxt_try_vmptrld(vmxt_pa(shadow_vmcs)),
	       VMXT_OK);
	expect("vmread_shadow_vmcs_in_root", vmxt_try_vmread(GUEST_RIP, &v),
	       VMXT_OK);
	vmxt_check_u64("vmread_shadow_vmcs_in_root_value", v, COOKIE_RIP);
	expect("vmwrite_shadow_vmcs_in_root",
	       vmxt_try_vmwrite(GUEST_RSP, 0x4444), VMXT_OK);
	v = 0;
	vmxt_try_vmread(GUEST_RSP, &v);
	vmxt_check_u64("vmwrite_shadow_vmcs_in_root_value", v, 0x4444);
	expect("vmlaunch_shadow_vmcs_sdm_27_1", vmxt_try_enter(false),
	       VMXT_INVALID);
	expect("vmresume_shadow_vmcs_sdm_27_1", vmxt_try_enter(true),
	       VMXT_INVALID);
	v = 0;
	vmxt_try_vmptrst(&v);
	/* The offset from the shadow VMCS: no platform address printed. */
	vmxt_check_u64("vmlaunch_shadow_vmcs_keeps_it_current",
		       v - vmxt_pa(shadow_vmcs), 0);

	/* Bits 30:0 must still be the revision. */
	vmxt_region_init(vmxt_scratch[0]);
	memcpy(&rev, vmxt_scratch[0], sizeof(rev));
	rev = (rev ^ 1) | SHADOW_INDICATOR;
	memcpy(vmxt_scratch[0], &rev, sizeof(rev));
	expect("vmptrld_shadow_bad_revision", vmxt_try_vmptrld(other),
	       VMXT_VALID(VMXERR_VMPTRLD_INCORRECT_VMCS_REVISION_ID));

	expect("vmclear_shadow_vmcs", vmxt_try_vmclear(vmxt_pa(shadow_vmcs)),
	       VMXT_OK);
	v = 0;
	vmxt_try_vmptrst(&v);
	vmxt_check_u64("vmclear_shadow_vmcs_leaves_no_current", v, ~0ull);
	expect("vmptrld_shadow_vmcs_after_vmclear",
	       vmxt_try_vmptrld(vmxt_pa(shadow_vmcs)), VMXT_OK);
	v = 0;
	vmxt_try_vmread(GUEST_RIP, &v);
	vmxt_check_u64("shadow_vmcs_keeps_fields_across_vmclear", v,
		       COOKIE_RIP);
	vmxt_vmcs_load();
}

/* The two bitmap addresses are 64-bit fields with a high half. */
static void test_fields(void)
{
	static const struct {
		const char *name;
		uint32_t enc;
	} f[] = {
		{ "field_vmread_bitmap", VMREAD_BITMAP },
		{ "field_vmwrite_bitmap", VMWRITE_BITMAP },
	};
	char name[64];

	for (size_t k = 0; k < ARRAY_SIZE(f); k++) {
		uint64_t full = 0, high = 0;

		vmxt_try_vmwrite(f[k].enc, 0x1234567811223000ull + k);
		vmxt_try_vmread(f[k].enc, &full);
		vmxt_check_u64(f[k].name, full, 0x1234567811223000ull + k);
		vmxt_try_vmwrite(f[k].enc | 1, 0xaabbccdd);
		vmxt_try_vmread(f[k].enc | 1, &high);
		snprintf(name, sizeof(name), "%s_high", f[k].name);
		vmxt_check_u64(name, high, 0xaabbccdd);
		vmxt_try_vmread(f[k].enc, &full);
		snprintf(name, sizeof(name), "%s_after_high", f[k].name);
		vmxt_check_u64(name, full, 0xaabbccdd11223000ull + k);
	}
}

/* ---- VM-entry checks ------------------------------------------------------ */

static void expect_entry(const char *name, struct vmxt_outcome want)
{
	vmxt_mark_clear();
	if (vmxt_try_vmclear(vmxt_pa(vmxt_vmcs_region)).kind != VMXT_SUCCEED ||
	    vmxt_try_vmptrld(vmxt_pa(vmxt_vmcs_region)).kind != VMXT_SUCCEED)
		vmxt_die("VMCLEAR/VMPTRLD of the VMCS failed");
	expect(name, vmxt_run(), want);
}

/* SDM 27.2.1.1 (bitmaps: VMfailValid(7)) and 27.3.1.5 (link pointer:
 * entry failure, qualification 4). */
static void test_entry_checks(void)
{
	const struct vmxt_outcome ok = VMXT_EXITED(EXIT_REASON_VMCALL, 0);
	const struct vmxt_outcome bad_ctl =
		VMXT_VALID(VMXERR_ENTRY_INVALID_CONTROL_FIELD);
	const struct vmxt_outcome bad_link = VMXT_EXITED(
		EXIT_REASON_INVALID_STATE | VMX_EXIT_REASONS_FAILED_VMENTRY,
		ENTRY_FAIL_VMCS_LINK_PTR);

	shadow_baseline(true);
	expect_entry("entry_with_shadowing", ok);

	shadow_baseline(true);
	vmxt_wr(VMREAD_BITMAP, vmxt_pa(vmread_bitmap) + 0x800);
	expect_entry("entry_vmread_bitmap_unaligned", bad_ctl);
	shadow_baseline(true);
	vmxt_wr(VMREAD_BITMAP, vmxt_bad_pa());
	expect_entry("entry_vmread_bitmap_beyond_maxphyaddr", bad_ctl);
	shadow_baseline(true);
	vmxt_wr(VMWRITE_BITMAP, vmxt_pa(vmwrite_bitmap) + 8);
	expect_entry("entry_vmwrite_bitmap_unaligned", bad_ctl);
	shadow_baseline(true);
	vmxt_wr(VMWRITE_BITMAP, vmxt_bad_pa());
	expect_entry("entry_vmwrite_bitmap_beyond_maxphyaddr", bad_ctl);
	shadow_baseline(false);
	vmxt_wr(VMREAD_BITMAP, vmxt_pa(vmread_bitmap) + 0x800);
	vmxt_wr(VMWRITE_BITMAP, vmxt_bad_pa());
	expect_entry("entry_bitmaps_unchecked_without_shadowing", ok);

	shadow_baseline(true);
	vmxt_wr(VMCS_LINK_POINTER, ~0ull);
	expect_entry("entry_shadowing_link_all_ones", ok);
	shadow_baseline(true);
	vmxt_wr(VMCS_LINK_POINTER, vmxt_pa(vmxt_vmcs2_region));
	expect_entry("entry_shadowing_link_to_ordinary_vmcs", bad_link);
	shadow_baseline(true);
	vmxt_wr(VMCS_LINK_POINTER, vmxt_pa(shadow_vmcs) + 0x800);
	expect_entry("entry_shadowing_link_unaligned", bad_link);
	shadow_baseline(false);
	vmxt_wr(VMCS_LINK_POINTER, vmxt_pa(shadow_vmcs));
	expect_entry("entry_link_to_shadow_vmcs_without_shadowing", bad_link);
	shadow_baseline(false);
	vmxt_wr(VMCS_LINK_POINTER, vmxt_pa(vmxt_vmcs_region));
	expect_entry("entry_link_to_current_vmcs", bad_link);
}

/* ---- non-root operation --------------------------------------------------- */

VMXT_GUEST(g_vmread,
	   "mov vmxt_guest_data(%rip), %r8\n\t"
	   "mov vmxt_guest_data+8(%rip), %rax",
	   "vmread %r8, %rax",
	   "pushfq\n\t"
	   "popq vmxt_guest_data+16(%rip)\n\t"
	   "mov %rax, vmxt_guest_data+8(%rip)");
VMXT_GUEST(g_vmread_mem, "mov vmxt_guest_data(%rip), %r8",
	   "vmread %r8, vmxt_guest_data+8(%rip)",
	   "pushfq\n\t"
	   "popq vmxt_guest_data+16(%rip)");
VMXT_GUEST(g_vmwrite,
	   "mov vmxt_guest_data(%rip), %r8\n\t"
	   "mov vmxt_guest_data+8(%rip), %rax",
	   "vmwrite %rax, %r8",
	   "pushfq\n\t"
	   "popq vmxt_guest_data+16(%rip)");

struct snippet {
	const char *start, *insn, *end, *done;
};
#define SNIPPET(g) ((struct snippet){ g, g##_insn, g##_end, g##_done })

/* Runs a snippet with MAIL = {enc, val}; the observed text is the
 * instruction's outcome from the RFLAGS it left (SDM 31.2), with the
 * VM-instruction error of the current VMCS for VMfailValid and the value
 * for a VMREAD that succeeded, or the VM exit that ended the guest where
 * it was not the VMCALL after the instruction. */
static void expect_guest(const char *name, struct snippet s, uint64_t enc,
			 uint64_t val, bool show_val, const char *want)
{
	struct vmxt_outcome o;
	char got[96];

	MAIL->enc = enc;
	MAIL->val = val;
	MAIL->rflags = 0;
	vmxt_guest_at(s.start);
	o = vmxt_run();
	if (o.kind != VMXT_EXIT) {
		vmxt_outcome_format(&o, got, sizeof(got));
	} else if ((uint32_t)vmxt_rd(VM_EXIT_REASON) != EXIT_REASON_VMCALL ||
		   vmxt_rd(GUEST_RIP) != vmxt_pa(s.done)) {
		snprintf(got, sizeof(got), "exit %u rip%+lld",
			 (unsigned int)vmxt_rd(VM_EXIT_REASON),
			 (long long)(vmxt_rd(GUEST_RIP) - vmxt_pa(s.insn)));
	} else if (MAIL->rflags & X86_EFLAGS_CF) {
		snprintf(got, sizeof(got), "VMfailInvalid");
	} else if (MAIL->rflags & X86_EFLAGS_ZF) {
		snprintf(got, sizeof(got), "VMfailValid(%u)",
			 (unsigned int)vmxt_rd(VM_INSTRUCTION_ERROR));
	} else if (show_val) {
		snprintf(got, sizeof(got), "VMsucceed 0x%llx",
			 (unsigned long long)MAIL->val);
	} else {
		snprintf(got, sizeof(got), "VMsucceed");
	}
	vmxt_check_str(name, !strcmp(got, want), got, want);
}

/* A snippet whose instruction must exit with @reason (SDM 26.1.3). */
static void expect_insn_exit(const char *name, struct snippet s, uint64_t enc,
			     uint32_t reason)
{
	struct vmxt_exit w = {
		.reason = reason,
		.rip = 0,
		.len = (uint32_t)(s.end - s.insn),
	};

	MAIL->enc = enc;
	MAIL->val = 0;
	vmxt_guest_at(s.start);
	vmxt_expect_exit(name, s.insn, VMXT_X_RIP | VMXT_X_LEN, 0, &w);
}

static void set_bit(uint8_t *bitmap, uint32_t enc)
{
	bitmap[(enc & 0x7fff) / 8] |= (uint8_t)(1u << (enc & 7));
}

static void test_nonroot(void)
{
	char want[64];

	/* SDM 26.3: a clear bit reads/writes the shadow VMCS, no exit. */
	shadow_baseline(true);
	snprintf(want, sizeof(want), "VMsucceed 0x%llx",
		 (unsigned long long)COOKIE_RIP);
	expect_guest("vmread_shadowed_register", SNIPPET(g_vmread), GUEST_RIP,
		     0, true, want);
	snprintf(want, sizeof(want), "VMsucceed 0x%llx",
		 (unsigned long long)COOKIE_CR3T);
	expect_guest("vmread_shadowed_memory", SNIPPET(g_vmread_mem),
		     CR3_TARGET_VALUE0, 0, true, want);
	expect_guest("vmread_shadowed_high_half", SNIPPET(g_vmread),
		     TSC_OFFSET_HIGH, 0, true, "VMsucceed 0x0");
	expect_guest("vmwrite_shadowed", SNIPPET(g_vmwrite), CR3_TARGET_VALUE1,
		     0x5555aaaa, false, "VMsucceed");
	vmxt_check_u64("vmwrite_shadowed_reaches_shadow_vmcs",
		       shadow_field(CR3_TARGET_VALUE1), 0x5555aaaa);
	vmxt_check_u64("vmwrite_shadowed_leaves_current_vmcs",
		       vmxt_rd(CR3_TARGET_VALUE1), 0);
	expect_guest("vmread_shadowed_after_vmwrite", SNIPPET(g_vmread),
		     CR3_TARGET_VALUE1, 0, true, "VMsucceed 0x5555aaaa");
	/* IA32_VMX_MISC bit 29: the VM-exit information fields of the
	 * shadow VMCS may be written (SDM 31.3 "VMWRITE"). */
	expect_guest("vmwrite_shadowed_exit_qualification", SNIPPET(g_vmwrite),
		     EXIT_QUALIFICATION, 0x77, false,
		     (vmxt_caps.misc & VMX_MISC_VMWRITE_SHADOW_RO_FIELDS)
			     ? "VMsucceed"
			     : "VMfailValid(13)");

	/* SDM 31.3: VMfailValid(12) for an encoding no field has; the error
	 * goes to the current VMCS. */
	expect_guest("vmread_shadowed_unsupported", SNIPPET(g_vmread), 0x4ffe,
		     0, true, "VMfailValid(12)");
	expect_guest("vmwrite_shadowed_unsupported", SNIPPET(g_vmwrite), 0x4ffe,
		     0, false, "VMfailValid(12)");

	/* A set bit exits; the bitmaps are separate; bits 63:15 exit. */
	set_bit(vmread_bitmap, GUEST_RIP);
	expect_insn_exit("vmread_bitmap_bit_set_exits", SNIPPET(g_vmread),
			 GUEST_RIP, EXIT_REASON_VMREAD);
	/* GUEST_RSP (0x681c) is bit 4 of the byte whose bit 6 is set. */
	expect_guest("vmread_bitmap_neighbour_bit_clear", SNIPPET(g_vmread),
		     GUEST_RSP, 0, true, "VMsucceed 0x0");
	expect_guest("vmwrite_unaffected_by_vmread_bitmap", SNIPPET(g_vmwrite),
		     GUEST_RIP, 0x1000, false, "VMsucceed");
	set_bit(vmwrite_bitmap, GUEST_RIP);
	expect_insn_exit("vmwrite_bitmap_bit_set_exits", SNIPPET(g_vmwrite),
			 GUEST_RIP, EXIT_REASON_VMWRITE);
	expect_insn_exit("vmread_encoding_bit_15_exits", SNIPPET(g_vmread),
			 CR3_TARGET_VALUE0 | 0x8000, EXIT_REASON_VMREAD);
	expect_insn_exit("vmread_encoding_bit_32_exits", SNIPPET(g_vmread),
			 CR3_TARGET_VALUE0 | (1ull << 32), EXIT_REASON_VMREAD);
	expect_insn_exit("vmwrite_encoding_bit_63_exits", SNIPPET(g_vmwrite),
			 CR3_TARGET_VALUE0 | (1ull << 63), EXIT_REASON_VMWRITE);

	/* SDM 31.3: a link pointer of ~0 is VMfailInvalid. */
	shadow_baseline(true);
	vmxt_wr(VMCS_LINK_POINTER, ~0ull);
	expect_guest("vmread_shadowed_link_all_ones", SNIPPET(g_vmread),
		     GUEST_RIP, 0x99, true, "VMfailInvalid");
	expect_guest("vmwrite_shadowed_link_all_ones", SNIPPET(g_vmwrite),
		     GUEST_RIP, 0x99, false, "VMfailInvalid");

	/* Without "VMCS shadowing" every VMREAD/VMWRITE exits. */
	shadow_baseline(false);
	expect_insn_exit("vmread_without_shadowing_exits", SNIPPET(g_vmread),
			 GUEST_RIP, EXIT_REASON_VMREAD);
	expect_insn_exit("vmwrite_without_shadowing_exits", SNIPPET(g_vmwrite),
			 GUEST_RIP, EXIT_REASON_VMWRITE);
}

int main(const struct nestvm_bootinfo *bi)
{
	(void)bi;
	vmxt_begin("vmx_shadow");
	vmxt_vmx_on();
	if (!vmxt_need("vmcs_shadowing", vmxt_caps.proc2_may1,
		       SECONDARY_EXEC_SHADOW_VMCS, "VMCS shadowing"))
		return vmxt_end();
	shadow_vmcs_init();
	test_root();
	test_fields();
	shadow_vmcs_init();
	test_entry_checks();
	shadow_vmcs_init();
	test_nonroot();
	return vmxt_end();
}
