/* SPDX-License-Identifier: MIT */
/*
 * vmx_insn.c - the VMX instructions in VMX root operation and outside it:
 * every #UD, #GP and VMfail case of SDM Vol. 3C ch. 31 ("VMX Instruction
 * Reference") that CPL 0 can provoke, and the VMsucceed cases around them
 * (VMXON, VMXOFF, VMCLEAR, VMPTRLD, VMPTRST, VMREAD, VMWRITE, VMLAUNCH,
 * VMRESUME, INVEPT, INVVPID, VMCALL). Guest side (runs as a hypervisor).
 */
#include <asm/vmx.h>

#include "arch/ept.h"
#include "arch/vmcs.h"
#include "arch/vmx_insn_errors.h"
#include "arch/x86_regs.h"
#include "guests/rt/rt.h"
#include "tests/vmx/lib.h"

#define UD ((struct vmxt_outcome){ .kind = VMXT_FAULT, .vector = UD_VECTOR })
#define GP0 VMXT_FAULTED(GP_VECTOR, 0)

static void expect(const char *name, struct vmxt_outcome got,
		   struct vmxt_outcome want)
{
	vmxt_check_outcome(name, &got, &want);
}

static uint64_t read_cr(int n)
{
	uint64_t v = 0;

	if (n == 0)
		__asm__ volatile("mov %%cr0, %0" : "=r"(v));
	else
		__asm__ volatile("mov %%cr4, %0" : "=r"(v));
	return v;
}

static void write_cr(int n, uint64_t v)
{
	if (n == 0)
		__asm__ volatile("mov %0, %%cr0" : : "r"(v) : "memory");
	else
		__asm__ volatile("mov %0, %%cr4" : : "r"(v) : "memory");
}

/* A region whose first word is @rev instead of the VMCS revision. */
static uint64_t region_with_revision(unsigned int k, uint32_t rev)
{
	vmxt_region_init(vmxt_scratch[k]);
	memcpy(vmxt_scratch[k], &rev, sizeof(rev));
	return vmxt_pa(vmxt_scratch[k]);
}

static uint32_t revision(void)
{
	return (uint32_t)(vmxt_caps.basic & 0x7fffffffu);
}

/* SDM 31.3: outside VMX operation every VMX instruction is #UD. */
static void test_outside_vmx(void)
{
	uint64_t v = 0;

	expect("vmptrld_outside_vmx_ud",
	       vmxt_try_vmptrld(vmxt_pa(vmxt_vmcs_region)), UD);
	expect("vmclear_outside_vmx_ud",
	       vmxt_try_vmclear(vmxt_pa(vmxt_vmcs_region)), UD);
	expect("vmread_outside_vmx_ud", vmxt_try_vmread(GUEST_RIP, &v), UD);
	expect("vmwrite_outside_vmx_ud", vmxt_try_vmwrite(GUEST_RIP, 0), UD);
	expect("vmxoff_outside_vmx_ud", vmxt_try_vmxoff(), UD);
	expect("vmcall_outside_vmx_ud", vmxt_try_vmcall(), UD);
	expect("invept_outside_vmx_ud",
	       vmxt_try_invept(VMX_EPT_EXTENT_GLOBAL, 0), UD);
	expect("invvpid_outside_vmx_ud",
	       vmxt_try_invvpid(VMX_VPID_EXTENT_ALL_CONTEXT, 0, 0), UD);
}

/* SDM 31.3 "VMXON": #UD without CR4.VMXE, #GP(0) with CR0 outside the
 * fixed bits, VMfailInvalid for a bad VMXON region. */
static void test_vmxon(void)
{
	uint64_t cr0 = read_cr(0), cr4 = read_cr(4);
	uint64_t on = vmxt_pa(vmxt_vmxon_region);

	write_cr(4, cr4 & ~(uint64_t)X86_CR4_VMXE);
	expect("vmxon_cr4_vmxe_clear_ud", vmxt_try_vmxon(on), UD);
	write_cr(4, cr4);
	write_cr(0, cr0 & ~(uint64_t)X86_CR0_NE);
	expect("vmxon_cr0_ne_clear_gp", vmxt_try_vmxon(on), GP0);
	write_cr(0, cr0);

	expect("vmxon_unaligned_region", vmxt_try_vmxon(on + 0x800),
	       VMXT_INVALID);
	expect("vmxon_beyond_maxphyaddr", vmxt_try_vmxon(vmxt_bad_pa()),
	       VMXT_INVALID);
	expect("vmxon_bad_revision",
	       vmxt_try_vmxon(region_with_revision(0, revision() ^ 1)),
	       VMXT_INVALID);
	expect("vmxon_shadow_indicator",
	       vmxt_try_vmxon(
		       region_with_revision(0, revision() | 0x80000000u)),
	       VMXT_INVALID);
	expect("vmxon", vmxt_try_vmxon(on), VMXT_OK);
}

/* In VMX root operation without a current VMCS, VMfail is VMfailInvalid
 * whatever the error (SDM 31.2). */
static void test_no_current_vmcs(void)
{
	uint64_t v = 0;

	expect("vmread_no_current_vmcs", vmxt_try_vmread(GUEST_RIP, &v),
	       VMXT_INVALID);
	expect("vmwrite_no_current_vmcs", vmxt_try_vmwrite(GUEST_RIP, 0),
	       VMXT_INVALID);
	v = 0;
	expect("vmptrst_no_current_vmcs", vmxt_try_vmptrst(&v), VMXT_OK);
	vmxt_check_u64("vmptrst_no_current_vmcs_value", v, ~0ull);
	expect("vmlaunch_no_current_vmcs", vmxt_try_enter(false), VMXT_INVALID);
	expect("vmresume_no_current_vmcs", vmxt_try_enter(true), VMXT_INVALID);
	expect("vmclear_unaligned_no_current_vmcs",
	       vmxt_try_vmclear(vmxt_pa(vmxt_vmcs_region) + 8), VMXT_INVALID);
	expect("vmxon_in_root_no_current_vmcs",
	       vmxt_try_vmxon(vmxt_pa(vmxt_vmxon_region)), VMXT_INVALID);
	expect("vmcall_in_root_no_current_vmcs", vmxt_try_vmcall(),
	       VMXT_INVALID);
	expect("invept_bad_type_no_current_vmcs", vmxt_try_invept(0, 0),
	       VMXT_INVALID);
}

static void test_pointers(void)
{
	uint64_t vmcs = vmxt_pa(vmxt_vmcs_region);
	uint64_t on = vmxt_pa(vmxt_vmxon_region);
	uint64_t v = 0;

	expect("vmclear", vmxt_try_vmclear(vmcs), VMXT_OK);
	expect("vmptrld", vmxt_try_vmptrld(vmcs), VMXT_OK);
	expect("vmptrst", vmxt_try_vmptrst(&v), VMXT_OK);
	vmxt_check_u64("vmptrst_value_is_current_vmcs", v, vmcs);
	vmxt_mark_clear();

	expect("vmxon_in_root", vmxt_try_vmxon(on),
	       VMXT_VALID(VMXERR_VMXON_IN_VMX_ROOT_OPERATION));
	expect("vmclear_unaligned", vmxt_try_vmclear(vmcs + 0x10),
	       VMXT_VALID(VMXERR_VMCLEAR_INVALID_ADDRESS));
	expect("vmclear_beyond_maxphyaddr", vmxt_try_vmclear(vmxt_bad_pa()),
	       VMXT_VALID(VMXERR_VMCLEAR_INVALID_ADDRESS));
	expect("vmclear_vmxon_pointer", vmxt_try_vmclear(on),
	       VMXT_VALID(VMXERR_VMCLEAR_VMXON_POINTER));
	expect("vmptrld_unaligned", vmxt_try_vmptrld(vmcs + 0x10),
	       VMXT_VALID(VMXERR_VMPTRLD_INVALID_ADDRESS));
	expect("vmptrld_beyond_maxphyaddr", vmxt_try_vmptrld(vmxt_bad_pa()),
	       VMXT_VALID(VMXERR_VMPTRLD_INVALID_ADDRESS));
	expect("vmptrld_vmxon_pointer", vmxt_try_vmptrld(on),
	       VMXT_VALID(VMXERR_VMPTRLD_VMXON_POINTER));
	expect("vmptrld_bad_revision",
	       vmxt_try_vmptrld(region_with_revision(1, revision() ^ 1)),
	       VMXT_VALID(VMXERR_VMPTRLD_INCORRECT_VMCS_REVISION_ID));
	v = 0;
	vmxt_try_vmptrst(&v);
	vmxt_check_u64("vmptrld_failures_keep_current_vmcs", v, vmcs);
	expect("vmptrld_noncanonical_operand_gp",
	       vmxt_try_vmptrld_at(0x8000000000000000ull), GP0);
	expect("vmptrst_noncanonical_operand_gp",
	       vmxt_try_vmptrst_at(0x8000000000000000ull), GP0);
}

/* Two VMCSs keep their own fields across VMPTRLD (SDM 25.1). */
static void test_two_vmcs(void)
{
	uint64_t vmcs = vmxt_pa(vmxt_vmcs_region);
	uint64_t vmcs2 = vmxt_pa(vmxt_vmcs2_region);
	uint64_t v = 0;

	vmxt_wr(GUEST_RIP, 0x1111);
	expect("vmclear_second_vmcs", vmxt_try_vmclear(vmcs2), VMXT_OK);
	expect("vmptrld_second_vmcs", vmxt_try_vmptrld(vmcs2), VMXT_OK);
	vmxt_wr(GUEST_RIP, 0x2222);
	expect("vmptrld_first_vmcs_again", vmxt_try_vmptrld(vmcs), VMXT_OK);
	vmxt_try_vmread(GUEST_RIP, &v);
	vmxt_check_u64("first_vmcs_keeps_its_fields", v, 0x1111);
	vmxt_try_vmptrld(vmcs2);
	vmxt_try_vmread(GUEST_RIP, &v);
	vmxt_check_u64("second_vmcs_keeps_its_fields", v, 0x2222);
	vmxt_try_vmptrld(vmcs);
}

static bool ept_cap(uint64_t bit, const char *name, const char *what)
{
	if (vmxt_caps.ept_vpid & bit)
		return true;
	vmxt_skip(name, what);
	return false;
}

/* SDM 31.3 "INVEPT", "INVVPID": an unsupported type or a bad operand is
 * VMfailValid(28). */
static void test_invept_invvpid(void)
{
	const struct vmxt_outcome bad =
		VMXT_VALID(VMXERR_INVALID_OPERAND_TO_INVEPT_INVVPID);
	uint64_t eptp;

	vmxt_ept_build();
	eptp = vmxt_eptp();
	if (ept_cap(VMX_EPT_INVEPT_BIT, "invept", "INVEPT")) {
		expect("invept_type_0", vmxt_try_invept(0, eptp), bad);
		expect("invept_type_3", vmxt_try_invept(3, eptp), bad);
		expect("invept_type_bits_63_32_sdm_31_3",
		       vmxt_try_invept(0x100000001ull, eptp), bad);
	}
	if (ept_cap(VMX_EPT_EXTENT_CONTEXT_BIT, "invept_single",
		    "single-context INVEPT")) {
		expect("invept_single", vmxt_try_invept(1, eptp), VMXT_OK);
		/* Memory type 1 (WC) is never a valid EPT memory type. */
		expect("invept_single_bad_memory_type",
		       vmxt_try_invept(1, (eptp & ~7ull) | 1), bad);
		expect("invept_single_bad_walk_length",
		       vmxt_try_invept(1, (eptp & ~0x38ull) | 0x10), bad);
		expect("invept_single_reserved_bits",
		       vmxt_try_invept(1, eptp | 0x100), bad);
	}
	if (ept_cap(VMX_EPT_EXTENT_GLOBAL_BIT, "invept_global",
		    "all-context INVEPT"))
		expect("invept_global", vmxt_try_invept(2, 0), VMXT_OK);

	if (!ept_cap(VMX_VPID_INVVPID_BIT, "invvpid", "INVVPID"))
		return;
	expect("invvpid_type_4", vmxt_try_invvpid(4, 1, 0), bad);
	expect("invvpid_single_vpid_0", vmxt_try_invvpid(1, 0, 0), bad);
	expect("invvpid_descriptor_reserved_bits",
	       vmxt_try_invvpid(1, 0x10001, 0), bad);
	if (ept_cap(VMX_VPID_EXTENT_INDIVIDUAL_ADDR_BIT, "invvpid_address",
		    "individual-address INVVPID")) {
		expect("invvpid_address", vmxt_try_invvpid(0, 1, 0x1000),
		       VMXT_OK);
		expect("invvpid_address_noncanonical",
		       vmxt_try_invvpid(0, 1, 0x8000000000000000ull), bad);
	}
	if (ept_cap(VMX_VPID_EXTENT_SINGLE_CONTEXT_BIT, "invvpid_single",
		    "single-context INVVPID"))
		expect("invvpid_single", vmxt_try_invvpid(1, 1, 0), VMXT_OK);
	if (ept_cap(VMX_VPID_EXTENT_GLOBAL_CONTEXT_BIT, "invvpid_all",
		    "all-context INVVPID"))
		expect("invvpid_all_vpid_0", vmxt_try_invvpid(2, 0, 0),
		       VMXT_OK);
	if (ept_cap(VMX_VPID_EXTENT_SINGLE_NON_GLOBAL_BIT,
		    "invvpid_single_non_global",
		    "single-context-retaining-globals INVVPID"))
		expect("invvpid_single_non_global", vmxt_try_invvpid(3, 1, 0),
		       VMXT_OK);
}

/* SDM 31.3 "VMLAUNCH/VMRESUME": the launch state decides which one
 * may run; MOV-SS blocking fails both. */
static void test_launch_state(void)
{
	const struct vmxt_outcome vmcall = VMXT_EXITED(EXIT_REASON_VMCALL, 0);
	uint64_t vmcs = vmxt_pa(vmxt_vmcs_region);
	uint64_t v = 0;

	vmxt_vmcs_load();
	expect("vmresume_clear_vmcs", vmxt_try_enter(true),
	       VMXT_VALID(VMXERR_VMRESUME_NONLAUNCHED_VMCS));
	expect("vmlaunch_clear_vmcs", vmxt_try_enter(false), vmcall);
	expect("vmlaunch_launched_vmcs", vmxt_try_enter(false),
	       VMXT_VALID(VMXERR_VMLAUNCH_NONCLEAR_VMCS));
	expect("vmresume_launched_vmcs", vmxt_try_enter(true), vmcall);
	/* Outside SMM with no dual-monitor treatment, VMCALL in root
	 * operation is VMfail(1) whatever the launch state (SDM 31.3
	 * "VMCALL"). */
	expect("vmcall_in_root_sdm_31_3", vmxt_try_vmcall(),
	       VMXT_VALID(VMXERR_VMCALL_IN_VMX_ROOT_OPERATION));

	expect("vmclear_current_vmcs", vmxt_try_vmclear(vmcs), VMXT_OK);
	v = 0;
	vmxt_try_vmptrst(&v);
	vmxt_check_u64("vmptrst_after_vmclear", v, ~0ull);
	expect("vmread_after_vmclear", vmxt_try_vmread(GUEST_RIP, &v),
	       VMXT_INVALID);
	expect("vmptrld_after_vmclear", vmxt_try_vmptrld(vmcs), VMXT_OK);
	expect("vmresume_after_vmclear", vmxt_try_enter(true),
	       VMXT_VALID(VMXERR_VMRESUME_NONLAUNCHED_VMCS));
	expect("vmlaunch_after_vmclear", vmxt_try_enter(false), vmcall);

	vmxt_vmcs_load();
	expect("vmlaunch_blocked_by_mov_ss", vmxt_try_vmlaunch_after_mov_ss(),
	       VMXT_VALID(VMXERR_ENTRY_EVENTS_BLOCKED_BY_MOV_SS));
	expect("vmlaunch_after_mov_ss_blocking_ended", vmxt_try_enter(false),
	       vmcall);
}

static void test_vmxoff(void)
{
	uint64_t v = 0;

	expect("vmxoff", vmxt_try_vmxoff(), VMXT_OK);
	expect("vmread_after_vmxoff_ud", vmxt_try_vmread(GUEST_RIP, &v), UD);
	expect("vmxon_after_vmxoff", vmxt_try_vmxon(vmxt_pa(vmxt_vmxon_region)),
	       VMXT_OK);
	v = 0;
	vmxt_try_vmptrst(&v);
	vmxt_check_u64("vmxon_leaves_no_current_vmcs", v, ~0ull);
}

int main(const struct nestvm_bootinfo *bi)
{
	(void)bi;
	vmxt_begin("vmx_insn");
	test_outside_vmx();
	vmxt_vmx_prepare();
	test_vmxon();
	test_no_current_vmcs();
	test_pointers();
	test_two_vmcs();
	test_invept_invvpid();
	test_launch_state();
	test_vmxoff();
	return vmxt_end();
}
