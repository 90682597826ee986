/* SPDX-License-Identifier: MIT */
/*
 * vmx_entry.c - one case per VM-entry check: each breaks exactly one rule
 * of the known-good VMCS and reports how the entry ended: VMfailValid(7)
 * for a control field (SDM Vol. 3C 27.2.1), VMfailValid(8) for host state
 * (27.2.2-27.2.4), an entry-failure VM exit with reason 33 for guest state
 * (27.3.1) and 34 for the MSR-load area (27.4), or a normal entry that ends
 * in the guest's VMCALL where the rule allows the value. Table-driven.
 * Guest side (runs as a hypervisor).
 */
#include <asm/vmx.h>

#include "arch/ept.h"
#include "arch/vmcs.h"
#include "arch/vmx_exit_qual.h"
#include "arch/vmx_insn_errors.h"
#include "arch/x86_msr.h"
#include "arch/x86_regs.h"
#include "arch/x86_seg.h"
#include "guests/rt/rt.h"
#include "tests/vmx/lib.h"

/* How an entry must end. */
enum want {
	W_OK, /* entered: the guest's VMCALL exit */
	W_CTL, /* VMfailValid(7) */
	W_HOST, /* VMfailValid(8) */
	W_GUEST, /* exit 33 | bit 31, qualification 0 */
	W_LINK, /* exit 33 | bit 31, qualification 4 (VMCS link pointer) */
	W_MSR, /* exit 34 | bit 31, qualification = the failing entry */
};

enum op_kind { OP_NONE, OP_WR, OP_SET, OP_CLR, OP_FN };

struct op {
	enum op_kind kind;
	uint32_t field;
	uint64_t val;
	void (*fn)(void);
};

struct entry_case {
	const char *name;
	enum want want;
	uint64_t qual; /* W_MSR */
	struct op ops[3];
};

/* clang-format off */
/* The changes a case makes to the known-good VMCS. */
#define WR(f, v) { .kind = OP_WR, .field = (f), .val = (v) }
#define SET(f, v) { .kind = OP_SET, .field = (f), .val = (v) }
#define CLR(f, v) { .kind = OP_CLR, .field = (f), .val = (v) }
#define FN(f) { .kind = OP_FN, .fn = (f) }
#define NOP { .kind = OP_NONE }
/* A case: its name, the outcome it must have, up to three changes. */
#define CASE(name, want, ...) { name, want, 0, { __VA_ARGS__ } }
#define MSR_CASE(name, entry, ...) { name, W_MSR, entry, { __VA_ARGS__ } }
/* clang-format on */

/* Access rights of the known-good guest (VMCS format, SDM 25.4.1). */
#define AR_CODE64 0xa09bu /* P, DPL 0, S, type 11, L, G */
#define AR_DATA 0xc093u /* P, DPL 0, S, type 3, D/B, G */
#define AR_TSS64_BUSY 0x008bu /* P, type 11 */
#define AR_LDT 0x0082u /* P, type 2 */
#define AR_UNUSABLE VMX_AR_UNUSABLE_MASK

#define NONCANONICAL 0x8000000000000000ull
#define BIT(n) (1ull << (n))
/* Primary, pin-based, secondary, exit and entry control bits the SDM
 * reserves (always 0) on every processor. */
#define RESERVED_CTL_BIT BIT(31)
#define RESERVED_PROC_BIT BIT(0)

#define INJECT(type, vec) (INTR_INFO_VALID_MASK | (type) | (vec))
#define HW(vec) INJECT(INTR_TYPE_HARD_EXCEPTION, vec)
#define EC INTR_INFO_DELIVER_CODE_MASK
#define INJ(info) WR(VM_ENTRY_INTR_INFO_FIELD, info)

/* ---- cases whose values are known only at run time ----------------------- */

static void pin_clear_must1(void)
{
	uint32_t m = vmxt_caps.pin_must1;

	vmxt_wr(PIN_BASED_VM_EXEC_CONTROL, m & ~(m & -m));
}

static void proc_clear_must1(void)
{
	uint32_t m = vmxt_caps.proc_must1;

	vmxt_wr(CPU_BASED_VM_EXEC_CONTROL,
		(vmxt_rd(CPU_BASED_VM_EXEC_CONTROL) | m) & ~(m & -m));
}

static void exit_clear_must1(void)
{
	uint32_t m = vmxt_caps.exit_must1;

	vmxt_clear_bits(VM_EXIT_CONTROLS, m & -m);
}

static void entry_clear_must1(void)
{
	uint32_t m = vmxt_caps.entry_must1;

	vmxt_clear_bits(VM_ENTRY_CONTROLS, m & -m);
}

static void io_bitmap_b_beyond(void)
{
	vmxt_set_bits(CPU_BASED_VM_EXEC_CONTROL, CPU_BASED_USE_IO_BITMAPS);
	vmxt_wr(IO_BITMAP_B, vmxt_bad_pa());
}

static void msr_bitmap_beyond(void)
{
	vmxt_wr(MSR_BITMAP, vmxt_bad_pa());
}

static void ept_on(void)
{
	vmxt_ept_enable();
}

static void eptp_beyond(void)
{
	vmxt_ept_enable();
	vmxt_wr(EPT_POINTER, vmxt_eptp() | vmxt_bad_pa());
}

static void exit_msr_store_beyond(void)
{
	vmxt_wr(VM_EXIT_MSR_STORE_COUNT, 1);
	vmxt_wr(VM_EXIT_MSR_STORE_ADDR, vmxt_bad_pa());
}

static void exit_msr_store_last_byte_beyond(void)
{
	vmxt_wr(VM_EXIT_MSR_STORE_COUNT, 2);
	vmxt_wr(VM_EXIT_MSR_STORE_ADDR, vmxt_bad_pa() - 16);
}

static void host_cr3_beyond(void)
{
	vmxt_set_bits(HOST_CR3, vmxt_bad_pa());
}

static void guest_cr3_beyond(void)
{
	vmxt_set_bits(GUEST_CR3, vmxt_bad_pa());
}

static void link_beyond(void)
{
	vmxt_wr(VMCS_LINK_POINTER, vmxt_bad_pa());
}

static void link_bad_revision(void)
{
	vmxt_region_init(vmxt_scratch[0]);
	vmxt_scratch[0][0] ^= 1;
	vmxt_wr(VMCS_LINK_POINTER, vmxt_pa(vmxt_scratch[0]));
}

static void link_valid_vmcs(void)
{
	vmxt_region_init(vmxt_scratch[0]);
	vmxt_wr(VMCS_LINK_POINTER, vmxt_pa(vmxt_scratch[0]));
}

/* The VM-entry MSR-load area in vmxt_scratch[1]: 16 bytes per entry,
 * index in bits 31:0, bits 63:32 reserved, the value next (SDM 25.8.2). */
static void msr_load(unsigned int n, const uint64_t *entries)
{
	memcpy(vmxt_scratch[1], entries, n * 16);
	vmxt_wr(VM_ENTRY_MSR_LOAD_COUNT, n);
	vmxt_wr(VM_ENTRY_MSR_LOAD_ADDR, vmxt_pa(vmxt_scratch[1]));
}

static void msr_load_fs_base(void)
{
	static const uint64_t e[] = { MSR_FS_BASE, 0 };

	msr_load(1, e);
}

static void msr_load_x2apic(void)
{
	static const uint64_t e[] = { 0x808, 0 };

	msr_load(1, e);
}

static void msr_load_reserved_bits(void)
{
	static const uint64_t e[] = { BIT(32) | MSR_IA32_SYSENTER_CS, 0 };

	msr_load(1, e);
}

static void msr_load_second_bad(void)
{
	static const uint64_t e[] = { MSR_IA32_SYSENTER_CS, 0x10, MSR_GS_BASE,
				      0 };

	msr_load(2, e);
}

static void msr_load_sysenter_cs(void)
{
	static const uint64_t e[] = { MSR_IA32_SYSENTER_CS, 0x1234 };

	msr_load(1, e);
}

/* ---- the cases ---------------------------------------------------------- */

/* clang-format off */
static const struct entry_case cases[] = {
	CASE("valid_vmcs", W_OK, NOP),

	/* SDM 27.2.1.1: VM-execution control fields. */
	CASE("pin_must1_bit_clear", W_CTL, FN(pin_clear_must1)),
	CASE("pin_reserved_bit_set", W_CTL,
	     SET(PIN_BASED_VM_EXEC_CONTROL, RESERVED_CTL_BIT)),
	CASE("proc_must1_bit_clear", W_CTL, FN(proc_clear_must1)),
	CASE("proc_reserved_bit_set", W_CTL,
	     SET(CPU_BASED_VM_EXEC_CONTROL, RESERVED_PROC_BIT)),
	CASE("proc2_reserved_bit_set", W_CTL,
	     SET(SECONDARY_VM_EXEC_CONTROL, RESERVED_CTL_BIT)),
	CASE("proc2_ignored_when_not_activated", W_OK,
	     CLR(CPU_BASED_VM_EXEC_CONTROL,
		  CPU_BASED_ACTIVATE_SECONDARY_CONTROLS),
	     WR(SECONDARY_VM_EXEC_CONTROL, RESERVED_CTL_BIT)),
	CASE("cr3_target_count_4", W_OK, WR(CR3_TARGET_COUNT, 4)),
	CASE("cr3_target_count_5", W_CTL, WR(CR3_TARGET_COUNT, 5)),
	CASE("io_bitmap_a_unaligned", W_CTL,
	     SET(CPU_BASED_VM_EXEC_CONTROL, CPU_BASED_USE_IO_BITMAPS),
	     SET(IO_BITMAP_A, 0x800)),
	CASE("io_bitmap_b_beyond_maxphyaddr", W_CTL, FN(io_bitmap_b_beyond)),
	CASE("io_bitmaps_ignored_when_unused", W_OK, WR(IO_BITMAP_A, 0x801),
	     WR(IO_BITMAP_B, 0x801)),
	CASE("msr_bitmap_unaligned", W_CTL, SET(MSR_BITMAP, 0x10)),
	CASE("msr_bitmap_beyond_maxphyaddr", W_CTL, FN(msr_bitmap_beyond)),
	CASE("msr_bitmap_ignored_when_unused", W_OK,
	     CLR(CPU_BASED_VM_EXEC_CONTROL, CPU_BASED_USE_MSR_BITMAPS),
	     WR(MSR_BITMAP, 0x10)),
	CASE("ept_valid_pointer", W_OK, FN(ept_on)),
	CASE("eptp_memory_type_wc", W_CTL, FN(ept_on),
	     CLR(EPT_POINTER, VMX_EPTP_MT_MASK), SET(EPT_POINTER, 1)),
	CASE("eptp_walk_length_3", W_CTL, FN(ept_on),
	     CLR(EPT_POINTER, VMX_EPTP_PWL_MASK),
	     SET(EPT_POINTER, 2 << VMX_EPTP_PWL_SHIFT)),
	CASE("eptp_reserved_bit_8", W_CTL,
	     FN(ept_on), SET(EPT_POINTER, BIT(8))),
	CASE("eptp_beyond_maxphyaddr", W_CTL, FN(eptp_beyond)),
	CASE("vpid_0_with_vpid_enabled", W_CTL,
	     SET(SECONDARY_VM_EXEC_CONTROL, SECONDARY_EXEC_ENABLE_VPID),
	     WR(VIRTUAL_PROCESSOR_ID, 0)),
	CASE("vpid_1_with_vpid_enabled", W_OK,
	     SET(SECONDARY_VM_EXEC_CONTROL, SECONDARY_EXEC_ENABLE_VPID),
	     WR(VIRTUAL_PROCESSOR_ID, 1)),

	/* SDM 27.2.1.2: VM-exit control fields. */
	CASE("exit_must1_bit_clear", W_CTL, FN(exit_clear_must1)),
	CASE("exit_reserved_bit_set", W_CTL,
	     SET(VM_EXIT_CONTROLS, RESERVED_CTL_BIT)),
	CASE("exit_msr_store_unaligned", W_CTL, WR(VM_EXIT_MSR_STORE_COUNT, 1),
	     WR(VM_EXIT_MSR_STORE_ADDR, 0x8)),
	CASE("exit_msr_store_beyond_maxphyaddr", W_CTL,
	     FN(exit_msr_store_beyond)),
	CASE("exit_msr_store_last_byte_beyond_maxphyaddr", W_CTL,
	     FN(exit_msr_store_last_byte_beyond)),
	CASE("exit_msr_store_ignored_when_count_0", W_OK,
	     WR(VM_EXIT_MSR_STORE_ADDR, 0x8)),
	CASE("exit_msr_load_unaligned", W_CTL, WR(VM_EXIT_MSR_LOAD_COUNT, 1),
	     WR(VM_EXIT_MSR_LOAD_ADDR, 0x8)),

	/* SDM 27.2.1.3: VM-entry control fields. */
	CASE("entry_must1_bit_clear", W_CTL, FN(entry_clear_must1)),
	CASE("entry_reserved_bit_set", W_CTL,
	     SET(VM_ENTRY_CONTROLS, RESERVED_CTL_BIT)),
	CASE("entry_msr_load_unaligned", W_CTL, WR(VM_ENTRY_MSR_LOAD_COUNT, 1),
	     WR(VM_ENTRY_MSR_LOAD_ADDR, 0x8)),
	CASE("inject_reserved_type_1", W_CTL,
	     INJ(INJECT(INTR_TYPE_RESERVED, 0))),
	CASE("inject_nmi_vector_3", W_CTL,
	     INJ(INJECT(INTR_TYPE_NMI_INTR, 3))),
	CASE("inject_exception_vector_32", W_CTL,
	     INJ(HW(32))),
	CASE("inject_ud_with_error_code", W_CTL,
	     INJ(HW(UD_VECTOR) | EC)),
	CASE("inject_gp_without_error_code", W_CTL,
	     INJ(HW(GP_VECTOR))),
	CASE("inject_reserved_bit_12", W_CTL,
	     INJ(HW(UD_VECTOR) | BIT(12))),
	CASE("inject_error_code_bits_31_16", W_CTL,
	     INJ(HW(GP_VECTOR) | EC),
	     WR(VM_ENTRY_EXCEPTION_ERROR_CODE, 0x10000)),

	/* Error codes are 16 bits: bit 15 may be 1 (SDM 27.2.1.3, as
	 * corrected; earlier editions said bits 31:15). */
	CASE("inject_error_code_bit_15", W_OK,
	     INJ(HW(GP_VECTOR) | EC),
	     WR(VM_ENTRY_EXCEPTION_ERROR_CODE, 0x8000)),
	CASE("inject_soft_int_length_16", W_CTL,
	     INJ(INJECT(INTR_TYPE_SOFT_INTR, 0x30)),
	     WR(VM_ENTRY_INSTRUCTION_LEN, 16)),
	CASE("inject_soft_int_length_15", W_OK,
	     INJ(INJECT(INTR_TYPE_SOFT_INTR, 0x30)),
	     WR(VM_ENTRY_INSTRUCTION_LEN, 15)),

	/* SDM 27.2.2, 27.2.3, 27.2.4: host state. */
	CASE("host_cr0_pg_clear", W_HOST, CLR(HOST_CR0, X86_CR0_PG)),
	CASE("host_cr0_ne_clear", W_HOST, CLR(HOST_CR0, X86_CR0_NE)),
	CASE("host_cr0_bit_32", W_HOST, SET(HOST_CR0, BIT(32))),
	CASE("host_cr4_vmxe_clear", W_HOST, CLR(HOST_CR4, X86_CR4_VMXE)),
	CASE("host_cr4_bit_63", W_HOST, SET(HOST_CR4, BIT(63))),
	CASE("host_cr4_pae_clear", W_HOST, CLR(HOST_CR4, X86_CR4_PAE)),
	CASE("host_cr3_beyond_maxphyaddr", W_HOST, FN(host_cr3_beyond)),
	CASE("host_sysenter_esp_noncanonical", W_HOST,
	     WR(HOST_IA32_SYSENTER_ESP, NONCANONICAL)),
	CASE("host_sysenter_eip_noncanonical", W_HOST,
	     WR(HOST_IA32_SYSENTER_EIP, NONCANONICAL)),
	CASE("host_pat_reserved_type_2", W_HOST,
	     SET(VM_EXIT_CONTROLS, VM_EXIT_LOAD_IA32_PAT),
	     WR(HOST_IA32_PAT, 0x0007040600070402ull)),
	CASE("host_efer_reserved_bit_1", W_HOST, SET(HOST_IA32_EFER, BIT(1))),
	CASE("host_efer_lma_clear", W_HOST, CLR(HOST_IA32_EFER, EFER_LMA)),
	CASE("host_efer_lme_clear", W_HOST, CLR(HOST_IA32_EFER, EFER_LME)),
	CASE("host_es_selector_rpl", W_HOST, WR(HOST_ES_SELECTOR, 0x13)),
	CASE("host_ds_selector_ti", W_HOST, WR(HOST_DS_SELECTOR, 0x14)),
	CASE("host_tr_selector_rpl", W_HOST, WR(HOST_TR_SELECTOR, 0x21)),
	CASE("host_cs_selector_null", W_HOST, WR(HOST_CS_SELECTOR, 0)),
	CASE("host_tr_selector_null", W_HOST, WR(HOST_TR_SELECTOR, 0)),
	CASE("host_ss_selector_null_in_64bit_host", W_OK,
	     WR(HOST_SS_SELECTOR, 0)),
	CASE("host_fs_base_noncanonical", W_HOST,
	     WR(HOST_FS_BASE, NONCANONICAL)),
	CASE("host_gs_base_noncanonical", W_HOST,
	     WR(HOST_GS_BASE, NONCANONICAL)),
	CASE("host_gdtr_base_noncanonical", W_HOST,
	     WR(HOST_GDTR_BASE, NONCANONICAL)),
	CASE("host_idtr_base_noncanonical", W_HOST,
	     WR(HOST_IDTR_BASE, NONCANONICAL)),
	CASE("host_tr_base_noncanonical", W_HOST,
	     WR(HOST_TR_BASE, NONCANONICAL)),
	CASE("host_address_space_size_clear", W_HOST,
	     CLR(VM_EXIT_CONTROLS,
		 VM_EXIT_HOST_ADDR_SPACE_SIZE | VM_EXIT_LOAD_IA32_EFER)),
	CASE("host_rip_noncanonical", W_HOST, WR(HOST_RIP, NONCANONICAL)),

	/* SDM 27.3.1.1: guest control registers, debug registers, MSRs. */
	CASE("guest_cr0_pg_clear", W_GUEST, CLR(GUEST_CR0, X86_CR0_PG)),
	CASE("guest_cr0_ne_clear", W_GUEST, CLR(GUEST_CR0, X86_CR0_NE)),
	CASE("guest_cr0_bit_32", W_GUEST, SET(GUEST_CR0, BIT(32))),
	CASE("guest_cr4_vmxe_clear", W_GUEST, CLR(GUEST_CR4, X86_CR4_VMXE)),
	CASE("guest_cr4_bit_63", W_GUEST, SET(GUEST_CR4, BIT(63))),
	CASE("guest_cr4_pae_clear_in_ia32e_guest", W_GUEST,
	     CLR(GUEST_CR4, X86_CR4_PAE)),
	CASE("guest_cr3_beyond_maxphyaddr", W_GUEST, FN(guest_cr3_beyond)),
	CASE("guest_dr7_bits_63_32", W_GUEST,
	     SET(VM_ENTRY_CONTROLS, VM_ENTRY_LOAD_DEBUG_CONTROLS),
	     WR(GUEST_DR7, BIT(32) | DR7_FIXED_1)),
	CASE("guest_sysenter_esp_noncanonical", W_GUEST,
	     WR(GUEST_SYSENTER_ESP, NONCANONICAL)),
	CASE("guest_sysenter_eip_noncanonical", W_GUEST,
	     WR(GUEST_SYSENTER_EIP, NONCANONICAL)),
	CASE("guest_pat_reserved_type_3", W_GUEST,
	     SET(VM_ENTRY_CONTROLS, VM_ENTRY_LOAD_IA32_PAT),
	     WR(GUEST_IA32_PAT, 0x0007040600070403ull)),
	CASE("guest_efer_reserved_bit_1", W_GUEST,
	     SET(GUEST_IA32_EFER, BIT(1))),
	CASE("guest_efer_lma_clear", W_GUEST, CLR(GUEST_IA32_EFER, EFER_LMA)),
	CASE("guest_efer_lme_clear_with_paging", W_GUEST,
	     CLR(GUEST_IA32_EFER, EFER_LME)),

	/* SDM 27.3.1.2: guest segment registers. */
	CASE("guest_tr_selector_ti", W_GUEST, WR(GUEST_TR_SELECTOR, 0x24)),
	CASE("guest_ldtr_selector_ti_usable", W_GUEST,
	     WR(GUEST_LDTR_SELECTOR, 0x0c), WR(GUEST_LDTR_AR_BYTES, AR_LDT),
	     WR(GUEST_LDTR_LIMIT, 0)),
	CASE("guest_ss_rpl_differs_from_cs_rpl", W_GUEST,
	     WR(GUEST_SS_SELECTOR, 0x13), WR(GUEST_SS_AR_BYTES, 0xc0f3)),
	CASE("guest_tr_base_noncanonical", W_GUEST,
	     WR(GUEST_TR_BASE, NONCANONICAL)),
	CASE("guest_fs_base_noncanonical", W_GUEST,
	     WR(GUEST_FS_BASE, NONCANONICAL)),
	CASE("guest_gs_base_noncanonical", W_GUEST,
	     WR(GUEST_GS_BASE, NONCANONICAL)),
	CASE("guest_ldtr_base_noncanonical_usable", W_GUEST,
	     WR(GUEST_LDTR_AR_BYTES, AR_LDT), WR(GUEST_LDTR_LIMIT, 0),
	     WR(GUEST_LDTR_BASE, NONCANONICAL)),
	CASE("guest_cs_base_bits_63_32", W_GUEST, WR(GUEST_CS_BASE, BIT(32))),
	CASE("guest_ds_base_bits_63_32", W_GUEST, WR(GUEST_DS_BASE, BIT(32))),
	CASE("guest_es_base_bits_63_32_unusable", W_OK,
	     WR(GUEST_ES_AR_BYTES, AR_DATA | AR_UNUSABLE),
	     WR(GUEST_ES_BASE, BIT(32))),
	CASE("guest_ss_base_bits_63_32", W_GUEST, WR(GUEST_SS_BASE, BIT(32))),
	CASE("guest_cs_type_data", W_GUEST,
	     WR(GUEST_CS_AR_BYTES, (AR_CODE64 & ~0xfu) | 3)),
	CASE("guest_cs_system_segment", W_GUEST,
	     CLR(GUEST_CS_AR_BYTES, VMX_AR_S_MASK)),
	CASE("guest_cs_dpl_differs_from_ss_dpl", W_GUEST,
	     SET(GUEST_CS_AR_BYTES, 1u << VMX_AR_DPL_SHIFT)),
	CASE("guest_cs_conforming_dpl_above_ss_dpl", W_GUEST,
	     WR(GUEST_CS_AR_BYTES, AR_CODE64 | 4 | (1u << VMX_AR_DPL_SHIFT))),
	CASE("guest_cs_conforming_dpl_0", W_OK,
	     WR(GUEST_CS_AR_BYTES, AR_CODE64 | 4)),
	CASE("guest_cs_not_present", W_GUEST,
	     CLR(GUEST_CS_AR_BYTES, VMX_AR_P_MASK)),
	CASE("guest_cs_ar_reserved_bit_8", W_GUEST,
	     SET(GUEST_CS_AR_BYTES, BIT(8))),
	CASE("guest_cs_l_and_db", W_GUEST,
	     SET(GUEST_CS_AR_BYTES, VMX_AR_DB_MASK)),
	CASE("guest_cs_limit_low_bits_clear_with_g", W_GUEST,
	     WR(GUEST_CS_LIMIT, 0xfffff000)),
	CASE("guest_cs_limit_above_1m_without_g", W_GUEST,
	     CLR(GUEST_CS_AR_BYTES, VMX_AR_G_MASK)),
	CASE("guest_ss_dpl_differs_from_rpl", W_GUEST,
	     SET(GUEST_SS_AR_BYTES, 3u << VMX_AR_DPL_SHIFT)),
	CASE("guest_ss_unusable_in_64bit_guest", W_OK,
	     SET(GUEST_SS_AR_BYTES, AR_UNUSABLE)),
	CASE("guest_ss_type_code", W_GUEST,
	     WR(GUEST_SS_AR_BYTES, (AR_DATA & ~0xfu) | 0xb)),
	CASE("guest_ss_not_present", W_GUEST,
	     CLR(GUEST_SS_AR_BYTES, VMX_AR_P_MASK)),
	CASE("guest_ds_not_accessed", W_GUEST,
	     CLR(GUEST_DS_AR_BYTES, SEG_TYPE_ACCESSED)),
	CASE("guest_ds_code_not_readable", W_GUEST,
	     WR(GUEST_DS_AR_BYTES, (AR_DATA & ~0xfu) | 9)),
	CASE("guest_ds_dpl_below_rpl", W_GUEST, WR(GUEST_DS_SELECTOR, 0x13)),
	CASE("guest_ds_type_11_dpl_below_rpl_sdm_27_3_1_2", W_GUEST,
	     WR(GUEST_DS_SELECTOR, 0x13),
	     WR(GUEST_DS_AR_BYTES, (AR_DATA & ~0xfu) | 0xb)),
	CASE("guest_ds_system_segment", W_GUEST,
	     CLR(GUEST_DS_AR_BYTES, VMX_AR_S_MASK)),
	CASE("guest_ds_not_present", W_GUEST,
	     CLR(GUEST_DS_AR_BYTES, VMX_AR_P_MASK)),
	CASE("guest_ds_ar_reserved_bit_8", W_GUEST,
	     SET(GUEST_DS_AR_BYTES, BIT(8))),
	CASE("guest_ds_limit_low_bits_clear_with_g", W_GUEST,
	     WR(GUEST_DS_LIMIT, 0xfffff000)),
	CASE("guest_ds_unusable_with_garbage", W_OK,
	     WR(GUEST_DS_AR_BYTES, AR_UNUSABLE | 0xf00),
	     WR(GUEST_DS_LIMIT, 0x12345)),
	CASE("guest_fs_not_accessed", W_GUEST,
	     CLR(GUEST_FS_AR_BYTES, SEG_TYPE_ACCESSED)),
	CASE("guest_gs_not_present", W_GUEST,
	     CLR(GUEST_GS_AR_BYTES, VMX_AR_P_MASK)),
	CASE("guest_tr_16bit_busy_tss_in_ia32e_guest", W_GUEST,
	     WR(GUEST_TR_AR_BYTES, (AR_TSS64_BUSY & ~0xfu) | 3)),
	CASE("guest_tr_code_data_segment", W_GUEST,
	     SET(GUEST_TR_AR_BYTES, VMX_AR_S_MASK)),
	CASE("guest_tr_not_present", W_GUEST,
	     CLR(GUEST_TR_AR_BYTES, VMX_AR_P_MASK)),
	CASE("guest_tr_unusable", W_GUEST, SET(GUEST_TR_AR_BYTES, AR_UNUSABLE)),
	CASE("guest_tr_ar_reserved_bit_8", W_GUEST,
	     SET(GUEST_TR_AR_BYTES, BIT(8))),
	CASE("guest_tr_limit_low_bits_clear_with_g", W_GUEST,
	     SET(GUEST_TR_AR_BYTES, VMX_AR_G_MASK)),
	CASE("guest_ldtr_usable", W_OK, WR(GUEST_LDTR_AR_BYTES, AR_LDT),
	     WR(GUEST_LDTR_LIMIT, 0)),
	CASE("guest_ldtr_type_3", W_GUEST,
	     WR(GUEST_LDTR_AR_BYTES, (AR_LDT & ~0xfu) | 3),
	     WR(GUEST_LDTR_LIMIT, 0)),
	CASE("guest_ldtr_code_data_segment", W_GUEST,
	     WR(GUEST_LDTR_AR_BYTES, AR_LDT | VMX_AR_S_MASK),
	     WR(GUEST_LDTR_LIMIT, 0)),
	CASE("guest_ldtr_not_present", W_GUEST,
	     WR(GUEST_LDTR_AR_BYTES, AR_LDT & ~VMX_AR_P_MASK),
	     WR(GUEST_LDTR_LIMIT, 0)),
	CASE("guest_ldtr_limit_low_bits_clear_with_g", W_GUEST,
	     WR(GUEST_LDTR_AR_BYTES, AR_LDT | VMX_AR_G_MASK),
	     WR(GUEST_LDTR_LIMIT, 0)),

	/* SDM 27.3.1.3: descriptor-table registers. */
	CASE("guest_gdtr_base_noncanonical", W_GUEST,
	     WR(GUEST_GDTR_BASE, NONCANONICAL)),
	CASE("guest_idtr_base_noncanonical", W_GUEST,
	     WR(GUEST_IDTR_BASE, NONCANONICAL)),
	CASE("guest_gdtr_limit_above_ffff", W_GUEST,
	     WR(GUEST_GDTR_LIMIT, 0x10000)),
	CASE("guest_idtr_limit_above_ffff", W_GUEST,
	     WR(GUEST_IDTR_LIMIT, 0x10000)),

	/* SDM 27.3.1.4: RIP and RFLAGS. */
	CASE("guest_rip_bits_63_32_in_compatibility_mode", W_GUEST,
	     WR(GUEST_CS_AR_BYTES, AR_DATA | 8), SET(GUEST_RIP, BIT(32))),
	CASE("guest_rip_noncanonical_sdm_27_3_1_4", W_GUEST,
	     WR(GUEST_RIP, NONCANONICAL)),
	CASE("guest_rflags_reserved_bit_15", W_GUEST,
	     SET(GUEST_RFLAGS, BIT(15))),
	CASE("guest_rflags_reserved_bit_22", W_GUEST,
	     SET(GUEST_RFLAGS, BIT(22))),
	CASE("guest_rflags_bit_1_clear", W_GUEST, WR(GUEST_RFLAGS, 0)),
	CASE("guest_rflags_vm_in_ia32e_guest", W_GUEST,
	     SET(GUEST_RFLAGS, X86_EFLAGS_VM)),
	CASE("guest_inject_external_interrupt_with_if_clear", W_GUEST,
	     INJ(INJECT(INTR_TYPE_EXT_INTR, 0x30))),

	/* SDM 27.3.1.5: non-register state. */
	CASE("guest_activity_state_4", W_GUEST, WR(GUEST_ACTIVITY_STATE, 4)),
	CASE("guest_interruptibility_reserved_bit_5", W_GUEST,
	     WR(GUEST_INTERRUPTIBILITY_INFO, BIT(5))),
	CASE("guest_interruptibility_enclave_bit_without_sgx", W_GUEST,
	     WR(GUEST_INTERRUPTIBILITY_INFO, GUEST_INTR_STATE_ENCLAVE_INTR)),
	CASE("guest_interruptibility_sti_and_mov_ss", W_GUEST,
	     SET(GUEST_RFLAGS, X86_EFLAGS_IF),
	     WR(GUEST_INTERRUPTIBILITY_INFO,
		GUEST_INTR_STATE_STI | GUEST_INTR_STATE_MOV_SS)),
	CASE("guest_interruptibility_sti_with_if_clear", W_GUEST,
	     WR(GUEST_INTERRUPTIBILITY_INFO, GUEST_INTR_STATE_STI)),
	CASE("guest_interruptibility_sti_with_if_set", W_OK,
	     SET(GUEST_RFLAGS, X86_EFLAGS_IF),
	     WR(GUEST_INTERRUPTIBILITY_INFO, GUEST_INTR_STATE_STI)),
	CASE("guest_interruptibility_smi_outside_smm", W_GUEST,
	     WR(GUEST_INTERRUPTIBILITY_INFO, GUEST_INTR_STATE_SMI)),
	CASE("guest_inject_external_interrupt_blocked_by_sti", W_GUEST,
	     SET(GUEST_RFLAGS, X86_EFLAGS_IF),
	     WR(GUEST_INTERRUPTIBILITY_INFO, GUEST_INTR_STATE_STI),
	     INJ(INJECT(INTR_TYPE_EXT_INTR, 0x30))),
	CASE("guest_inject_nmi_blocked_by_mov_ss", W_GUEST,
	     WR(GUEST_INTERRUPTIBILITY_INFO, GUEST_INTR_STATE_MOV_SS),
	     INJ(INJECT(INTR_TYPE_NMI_INTR, 2))),

	/* Only external interrupts and NMIs are held off by STI blocking
	 * (SDM 27.3.1.5): an exception may be injected. */
	CASE("guest_inject_exception_with_sti_blocking", W_OK,
	     SET(GUEST_RFLAGS, X86_EFLAGS_IF),
	     WR(GUEST_INTERRUPTIBILITY_INFO, GUEST_INTR_STATE_STI),
	     INJ(HW(UD_VECTOR))),
	CASE("guest_pending_debug_reserved_bit_4", W_GUEST,
	     WR(GUEST_PENDING_DBG_EXCEPTIONS, BIT(4))),

	/* Bit 12 (enabled breakpoint) is not reserved (SDM 27.3.1.5). */
	CASE("guest_pending_debug_enabled_breakpoint", W_OK,
	     WR(GUEST_PENDING_DBG_EXCEPTIONS, PENDING_DBG_ENABLED_BP)),
	CASE("guest_vmcs_link_pointer_unaligned", W_LINK,
	     WR(VMCS_LINK_POINTER, 0x1008)),
	CASE("guest_vmcs_link_pointer_beyond_maxphyaddr", W_LINK,
	     FN(link_beyond)),
	CASE("guest_vmcs_link_pointer_bad_revision", W_LINK,
	     FN(link_bad_revision)),
	CASE("guest_vmcs_link_pointer_to_a_vmcs", W_OK, FN(link_valid_vmcs)),

	/* SDM 27.4: the VM-entry MSR-load area. */
	MSR_CASE("msr_load_fs_base", 1, FN(msr_load_fs_base)),
	MSR_CASE("msr_load_x2apic_range", 1, FN(msr_load_x2apic)),
	MSR_CASE("msr_load_index_bits_63_32", 1, FN(msr_load_reserved_bits)),
	MSR_CASE("msr_load_second_entry_gs_base", 2, FN(msr_load_second_bad)),
	CASE("msr_load_sysenter_cs", W_OK, FN(msr_load_sysenter_cs)),
};
/* clang-format on */

static struct vmxt_outcome want_outcome(const struct entry_case *c)
{
	const uint32_t fail = VMX_EXIT_REASONS_FAILED_VMENTRY;

	switch (c->want) {
	case W_OK:
		break;
	case W_CTL:
		return VMXT_VALID(VMXERR_ENTRY_INVALID_CONTROL_FIELD);
	case W_HOST:
		return VMXT_VALID(VMXERR_ENTRY_INVALID_HOST_STATE_FIELD);
	case W_GUEST:
		return VMXT_EXITED(fail | EXIT_REASON_INVALID_STATE,
				   ENTRY_FAIL_DEFAULT);
	case W_LINK:
		return VMXT_EXITED(fail | EXIT_REASON_INVALID_STATE,
				   ENTRY_FAIL_VMCS_LINK_PTR);
	case W_MSR:
		return VMXT_EXITED(fail | EXIT_REASON_MSR_LOAD_FAIL, c->qual);
	}
	return VMXT_EXITED(EXIT_REASON_VMCALL, 0);
}

static void apply(const struct op *o)
{
	switch (o->kind) {
	case OP_NONE:
		break;
	case OP_WR:
		vmxt_wr(o->field, o->val);
		break;
	case OP_SET:
		vmxt_set_bits(o->field, o->val);
		break;
	case OP_CLR:
		vmxt_clear_bits(o->field, o->val);
		break;
	case OP_FN:
		o->fn();
		break;
	}
}

static void run_case(const struct entry_case *c)
{
	struct vmxt_outcome want = want_outcome(c), got;

	vmxt_vmcs_baseline();
	for (size_t k = 0; k < ARRAY_SIZE(c->ops); k++)
		apply(&c->ops[k]);
	got = vmxt_run();
	vmxt_check_outcome(c->name, &got, &want);
}

/* An entry failure loads host state without saving guest state, and
 * leaves the VM-entry interruption information valid (SDM 27.8). */
static void test_failure_side_effects(void)
{
	uint32_t inj = INJECT(INTR_TYPE_HARD_EXCEPTION, UD_VECTOR);
	struct vmxt_outcome o;

	vmxt_vmcs_baseline();
	vmxt_wr(VM_ENTRY_INTR_INFO_FIELD, inj);
	vmxt_clear_bits(GUEST_CR0, X86_CR0_NE);
	vmxt_wr(GUEST_RSP, 0x5678);
	o = vmxt_run();
	if (o.kind != VMXT_EXIT)
		vmxt_die("the entry-failure setup did not fail");
	vmxt_check_u64("entry_failure_keeps_injection_valid",
		       vmxt_rd(VM_ENTRY_INTR_INFO_FIELD), inj);
	vmxt_check_u64("entry_failure_saves_no_guest_state", vmxt_rd(GUEST_RSP),
		       0x5678);
}

/* The MSR-load area takes effect: the guest's IA32_SYSENTER_CS, saved
 * at the VM exit, is the loaded value (SDM 27.4, 28.3.1). */
static void test_msr_load_value(void)
{
	vmxt_vmcs_baseline();
	msr_load_sysenter_cs();
	vmxt_run();
	vmxt_check_u64("msr_load_value_reaches_the_guest",
		       vmxt_rd(GUEST_SYSENTER_CS), 0x1234);
}

int main(const struct nestvm_bootinfo *bi)
{
	(void)bi;
	vmxt_begin("vmx_entry");
	vmxt_vmx_on();
	vmxt_vmcs_load();
	vmxt_ept_build();
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++)
		run_case(&cases[i]);
	test_failure_side_effects();
	test_msr_load_value();
	return vmxt_end();
}
