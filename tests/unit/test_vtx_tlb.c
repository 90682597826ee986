/* SPDX-License-Identifier: MIT */
/*
 * test_vtx_tlb - the model's architectural TLB (vtx/tlb.c) from raw
 * instruction bytes and from a C host in VMX root: a PTE written without
 * an invalidation keeps its old translation, and each invalidating
 * operation of SDM Vol. 3A 4.10.4 (INVLPG, MOV to CR3 with and without
 * PCID bit 63, global pages, INVPCID) and Vol. 3C 29.4.3 (VM entry/exit
 * with and without VPID, INVVPID, INVEPT) removes exactly what it must;
 * EPT accessed and dirty flags (EPTP bit 6). Host side, tests only.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <asm/vmx.h>

#include "arch/ept.h"
#include "arch/vmcs.h"
#include "arch/vmx_exit_qual.h"
#include "arch/x86_msr.h"
#include "arch/x86_paging.h"
#include "tests/unit/vmx_harness.h"

#define OLD_VAL 0x1111ull /* at DATA_BASE */
#define NEW_VAL 0x2222ull /* at DATA_BASE + 4 KiB */
#define NEW_FRAME (DATA_BASE + PAGE_SIZE)
#define DATA_PTE_GPA (HARNESS_PT + (DATA_BASE >> PAGE_SHIFT) * 8)
#define EPT_PML4 0x40000ull
#define EPT_PDPT 0x41000ull
#define EPT_PD 0x42000ull
#define EPT_PT 0x43000ull

static void data_setup(struct harness *h)
{
	harness_write64(h, DATA_BASE, OLD_VAL);
	harness_write64(h, NEW_FRAME, NEW_VAL);
	h->regs.rdi = DATA_BASE;
	/* the PTE that remaps DATA_BASE onto NEW_FRAME */
	h->regs.rsi = DATA_PTE_GPA;
	h->regs.rdx = NEW_FRAME | PTE_P | PTE_RW;
}

/* ---- root operation -------------------------------------------------------- */

/* Writing the PTE does not reach the TLB: the old frame is read until
 * INVLPG drops the page (SDM Vol. 3A 4.10.4.3). */
static void test_tlb__pte_write_without_invlpg_reads_old_frame(void **state)
{
	struct harness *h = *state;
	static const uint8_t code[] = {
		0x48, 0x8b, 0x07, /* mov rax, qword ptr [rdi] */
		0x48, 0x89, 0x16, /* mov qword ptr [rsi], rdx */
		0x48, 0x8b, 0x1f, /* mov rbx, qword ptr [rdi] */
		0x0f, 0x01, 0x3f, /* invlpg byte ptr [rdi] */
		0x48, 0x8b, 0x0f, /* mov rcx, qword ptr [rdi] */
	};

	data_setup(h);
	harness_exec(h, code, sizeof(code), 5);
	assert_int_equal(h->regs.rax, OLD_VAL);
	assert_int_equal(h->regs.rbx, OLD_VAL);
	assert_int_equal(h->regs.rcx, NEW_VAL);
	assert_int_equal(h->stats.tlb_misses > 0, 1);
}

/* Reads [rdi], rewrites the PTE, reloads CR3 with its own value, reads
 * [rdi] again into rbx. */
static const uint8_t cr3_reload_code[] = {
	0x48, 0x8b, 0x07, /* mov rax, qword ptr [rdi] */
	0x48, 0x89, 0x16, /* mov qword ptr [rsi], rdx */
	0x0f, 0x20, 0xd9, /* mov rcx, cr3 */
	0x0f, 0x22, 0xd9, /* mov cr3, rcx */
	0x48, 0x8b, 0x1f, /* mov rbx, qword ptr [rdi] */
};

/* MOV to CR3 drops non-global translations (SDM Vol. 3A 4.10.4.1). */
static void test_tlb__mov_cr3_drops_non_global(void **state)
{
	struct harness *h = *state;

	data_setup(h);
	harness_exec(h, cr3_reload_code, sizeof(cr3_reload_code), 5);
	assert_int_equal(h->regs.rbx, NEW_VAL);
}

/* A global translation (PTE.G with CR4.PGE) survives it (4.10.2.4). */
static void test_tlb__global_survives_mov_cr3(void **state)
{
	struct harness *h = *state;

	data_setup(h);
	*harness_pte(h, DATA_BASE) |= PTE_G;
	h->sregs.cr4 |= X86_CR4_PGE;
	harness_exec(h, cr3_reload_code, sizeof(cr3_reload_code), 5);
	assert_int_equal(h->regs.rbx, OLD_VAL);
}

/* With CR4.PCIDE, bit 63 of the MOV to CR3 source keeps the PCID's
 * translations; a later MOV without it drops them (SDM 4.10.4.1). */
static void test_tlb__pcid_mov_cr3_bit63_keeps_translations(void **state)
{
	struct harness *h = *state;
	static const uint8_t code[] = {
		0x0f, 0x20, 0xe0, /* mov rax, cr4 */
		0x48, 0x0d, 0x00, 0x00, 0x02, 0x00, /* or rax, 0x20000 */
		0x0f, 0x22, 0xe0, /* mov cr4, rax */
		0x48, 0x8b, 0x07, /* mov rax, qword ptr [rdi] */
		0x48, 0x89, 0x16, /* mov qword ptr [rsi], rdx */
		0x0f, 0x20, 0xd9, /* mov rcx, cr3 */
		0x4c, 0x09, 0xc1, /* or rcx, r8 */
		0x0f, 0x22, 0xd9, /* mov cr3, rcx */
		0x48, 0x8b, 0x1f, /* mov rbx, qword ptr [rdi] */
		0x4c, 0x31, 0xc1, /* xor rcx, r8 */
		0x0f, 0x22, 0xd9, /* mov cr3, rcx */
		0x48, 0x8b, 0x2f, /* mov rbp, qword ptr [rdi] */
	};

	data_setup(h);
	h->regs.r8 = 1ull << 63;
	harness_exec(h, code, sizeof(code), 12);
	assert_int_equal(h->regs.rax, OLD_VAL);
	assert_int_equal(h->regs.rbx, OLD_VAL);
	assert_int_equal(h->regs.rbp, NEW_VAL);
	assert_int_equal(h->sregs.cr4 & X86_CR4_PCIDE, X86_CR4_PCIDE);
	/* bit 63 is not stored */
	assert_int_equal(h->sregs.cr3, HARNESS_PML4);
}

/* CR4.PCIDE cannot be set with a non-zero PCID in CR3 (SDM Vol. 2B
 * "MOV-Move to/from Control Registers"). */
static void test_mov_cr4__pcide_with_cr3_pcid_raises_gp(void **state)
{
	struct harness *h = *state;
	static const uint8_t code[] = {
		0x0f, 0x22, 0xe0, /* mov cr4, rax */
	};

	h->sregs.cr3 = HARNESS_PML4 | 5;
	h->regs.rax = h->sregs.cr4 | X86_CR4_PCIDE;
	assert_int_equal(harness_run_code(h, code, sizeof(code)),
			 VTX_STOP_HALTED);
	harness_expect_exception(h, GP_VECTOR, 0, CODE_BASE);
	assert_int_equal(h->sregs.cr4 & X86_CR4_PCIDE, 0);
}

/* INVPCID type 0 drops one page of PCID 0; type 3 keeps a global page,
 * type 2 drops it (SDM Vol. 2A "INVPCID"). The descriptor is at r9. */
static void test_invpcid__types_drop_what_they_name(void **state)
{
	struct harness *h = *state;
	static const uint8_t code[] = {
		0x48, 0x8b, 0x07, /* mov rax, qword ptr [rdi] */
		0x48, 0x89, 0x16, /* mov qword ptr [rsi], rdx */
		0x66, 0x41, 0x0f, 0x38, 0x82, 0x19, /* invpcid rbx, [r9] */
		0x48, 0x8b, 0x0f, /* mov rcx, qword ptr [rdi] */
	};
	uint64_t desc[2] = { 0, DATA_BASE };

	data_setup(h);
	harness_load(h, DATA_BASE + 0x100, desc, sizeof(desc));
	h->regs.r9 = DATA_BASE + 0x100;
	h->regs.rbx = 0; /* individual address */
	harness_exec(h, code, sizeof(code), 4);
	assert_int_equal(h->regs.rcx, NEW_VAL);

	/* A global page: type 3 (all but globals) keeps it... */
	harness_write64(h, DATA_PTE_GPA, DATA_BASE | PTE_P | PTE_RW | PTE_G);
	h->sregs.cr4 |= X86_CR4_PGE;
	h->regs.rbx = 3;
	harness_exec(h, code, sizeof(code), 4);
	assert_int_equal(h->regs.rcx, OLD_VAL);
	/* ...type 2 (all, globals too) does not. */
	harness_write64(h, DATA_PTE_GPA, DATA_BASE | PTE_P | PTE_RW | PTE_G);
	h->regs.rdx |= PTE_G;
	h->regs.rbx = 2;
	harness_exec(h, code, sizeof(code), 4);
	assert_int_equal(h->regs.rcx, NEW_VAL);
}

static void test_invpcid__type_4_raises_gp(void **state)
{
	struct harness *h = *state;
	static const uint8_t code[] = {
		0x66, 0x41, 0x0f, 0x38, 0x82, 0x19, /* invpcid rbx, [r9] */
	};

	h->regs.r9 = DATA_BASE;
	h->regs.rbx = 4;
	assert_int_equal(harness_run_code(h, code, sizeof(code)),
			 VTX_STOP_HALTED);
	harness_expect_exception(h, GP_VECTOR, 0, CODE_BASE);
}

/* CPUID.7.0:EBX[10] advertises INVPCID, CPUID.1:ECX[17] PCID. */
static void test_cpuid__advertises_invpcid_and_pcid(void **state)
{
	struct harness *h = *state;
	uint32_t r[4];

	assert_int_equal(vtx_cpu_cpuid(h->cpu, 7, 0, r), 0);
	assert_int_equal(r[1] & (1u << 10), 1u << 10);
	assert_int_equal(vtx_cpu_cpuid(h->cpu, 1, 0, r), 0);
	assert_int_equal(r[2] & (1u << 17), 1u << 17);
}

/* A 2-MiB translation is cached per 4-KiB piece; INVLPG of any address
 * in the page drops every piece (SDM 4.10.4.1). */
static void test_invlpg__2mib_page_any_address_drops_all(void **state)
{
	struct harness *h = *state;
	static const uint8_t code[] = {
		0x48, 0x8b, 0x07, /* mov rax, qword ptr [rdi] */
		0x48, 0x89, 0x16, /* mov qword ptr [rsi], rdx */
		0x48, 0x8b, 0x1f, /* mov rbx, qword ptr [rdi] */
		0x41, 0x0f, 0x01, 0x38, /* invlpg byte ptr [r8] */
		0x48, 0x8b, 0x0f, /* mov rcx, qword ptr [rdi] */
	};
	uint64_t pde = HARNESS_PD + 8;

	harness_write64(h, BIG_PAGE + 0x5000, OLD_VAL);
	h->regs.rdi = BIG_PAGE + 0x5000;
	h->regs.rsi = pde;
	/* the 2-MiB page moves onto [0, 2 MiB): offset 0x5000 is the TSS
	 * area's neighbour, which holds zeros */
	h->regs.rdx = 0 | PTE_P | PTE_RW | PTE_PS;
	h->regs.r8 = BIG_PAGE + 0x1ff000;
	harness_exec(h, code, sizeof(code), 5);
	assert_int_equal(h->regs.rbx, OLD_VAL);
	assert_int_equal(h->regs.rcx, harness_read64(h, 0x5000));
	assert_int_not_equal(h->regs.rcx, OLD_VAL);
}

/* ---- VMX: VPID, INVVPID, INVEPT, EPT A/D ----------------------------------- */

/* The guest reads [rdi], exits on CPUID, reads [rdi] again into rbx and
 * exits on HLT. Between the two the host remaps DATA_BASE. */
static const uint8_t guest_code[] = {
	0x48, 0x8b, 0x07, /* mov rax, qword ptr [rdi] */
	0x0f, 0xa2, /* cpuid */
	0x48, 0x8b, 0x1f, /* mov rbx, qword ptr [rdi] */
	0xf4, /* hlt */
};

static void guest_first_half(struct harness *h, uint32_t proc2, uint16_t vpid)
{
	struct vtx_stop st;

	data_setup(h);
	harness_load(h, CODE_BASE, guest_code, sizeof(guest_code));
	assert_int_equal(vtx_cpu_set_regs(h->cpu, &h->regs), 0);
	harness_vmcs_setup(h, CPU_BASED_HLT_EXITING, proc2);
	if (vpid)
		harness_vmwrite(h, VIRTUAL_PROCESSOR_ID, vpid);
	assert_int_equal(vtx_vmlaunch(h->cpu, &st), 0);
	assert_int_equal(harness_vmread(h, VM_EXIT_REASON), EXIT_REASON_CPUID);
}

static uint64_t guest_second_half(struct harness *h)
{
	struct vtx_stop st;
	struct kvm_regs r;

	harness_vmwrite(h, GUEST_RIP, CODE_BASE + 5);
	assert_int_equal(vtx_vmresume(h->cpu, &st), 0);
	assert_int_equal(harness_vmread(h, VM_EXIT_REASON), EXIT_REASON_HLT);
	vtx_cpu_get_regs(h->cpu, &r);
	assert_int_equal(r.rax, OLD_VAL);
	return r.rbx;
}

/* Without VPID, VM exit and entry drop VPID 0's translations (SDM Vol.
 * 3C 29.4.3.1): the guest sees the new PTE. */
static void test_vpid__off_entry_and_exit_flush(void **state)
{
	struct harness *h = *state;

	guest_first_half(h, 0, 0);
	harness_write64(h, DATA_PTE_GPA, NEW_FRAME | PTE_P | PTE_RW);
	assert_int_equal(guest_second_half(h), NEW_VAL);
}

/* With VPID 1 the guest's translations survive exit and entry. */
static void test_vpid__on_translation_survives_exit_and_entry(void **state)
{
	struct harness *h = *state;

	guest_first_half(h, SECONDARY_EXEC_ENABLE_VPID, 1);
	harness_write64(h, DATA_PTE_GPA, NEW_FRAME | PTE_P | PTE_RW);
	assert_int_equal(guest_second_half(h), OLD_VAL);
}

/* INVVPID of another VPID leaves VPID 1 alone; each type that names
 * VPID 1 (or all) drops the page. */
static void test_invvpid__each_type_drops_the_guest_page(void **state)
{
	static const struct {
		uint64_t type;
		uint16_t vpid;
		uint64_t expect;
	} cases[] = {
		{ VMX_VPID_EXTENT_SINGLE_CONTEXT, 2, OLD_VAL },
		{ VMX_VPID_EXTENT_INDIVIDUAL_ADDR, 1, NEW_VAL },
		{ VMX_VPID_EXTENT_SINGLE_CONTEXT, 1, NEW_VAL },
		{ VMX_VPID_EXTENT_ALL_CONTEXT, 0, NEW_VAL },
		{ VMX_VPID_EXTENT_SINGLE_NON_GLOBAL, 1, NEW_VAL },
	};

	for (unsigned k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
		struct harness *h;

		/* a fresh machine per case; cmocka tears the last down */
		harness_teardown(state);
		harness_setup(state);
		h = *state;
		guest_first_half(h, SECONDARY_EXEC_ENABLE_VPID, 1);
		harness_write64(h, DATA_PTE_GPA, NEW_FRAME | PTE_P | PTE_RW);
		assert_int_equal(vtx_invvpid(h->cpu, cases[k].type,
					     cases[k].vpid, DATA_BASE),
				 0);
		assert_int_equal(guest_second_half(h), cases[k].expect);
	}
}

/* With VPID 1, the guest entered again finds its code and data pages in
 * the soft TLB it left (no slow path: atlb_hits does not move); after an
 * invalidation in between -- even of another VPID, while the C host ran
 * -- it refills both from the architectural TLB, which still holds them.
 * Neither walks again. */
static void
test_vpid__reentry_keeps_soft_tlb_until_an_invalidation(void **state)
{
	for (unsigned inv = 0; inv < 2; inv++) {
		struct vtx_cpu_stats a, b;
		struct harness *h;

		harness_teardown(state);
		harness_setup(state);
		h = *state;
		guest_first_half(h, SECONDARY_EXEC_ENABLE_VPID, 1);
		if (inv)
			assert_int_equal(
				vtx_invvpid(h->cpu,
					    VMX_VPID_EXTENT_SINGLE_CONTEXT, 2,
					    0),
				0);
		vtx_cpu_get_stats(h->cpu, &a);
		guest_second_half(h);
		vtx_cpu_get_stats(h->cpu, &b);
		assert_int_equal(b.atlb_hits - a.atlb_hits, inv ? 2 : 0);
		assert_int_equal(b.tlb_misses - a.tlb_misses, 0);
	}
}

/* EPT: [0, 2 MiB) identity through a 4-KiB EPT page table, [2, 4 MiB)
 * through a 2-MiB leaf; RWX, write-back. */
static uint64_t ept_setup(struct harness *h, bool ad)
{
	harness_write64(h, EPT_PML4, EPT_PDPT | EPT_RWX);
	harness_write64(h, EPT_PDPT, EPT_PD | EPT_RWX);
	harness_write64(h, EPT_PD, EPT_PT | EPT_RWX);
	harness_write64(h, EPT_PD + 8,
			BIG_PAGE | EPT_RWX | EPT_LARGE | EPT_MT(EPT_MT_WB));
	for (uint64_t k = 0; k < 512; k++)
		harness_write64(h, EPT_PT + 8 * k,
				(k << PAGE_SHIFT) | EPT_RWX |
					EPT_MT(EPT_MT_WB));
	return vmx_build_eptp(EPT_PML4, 4, ad);
}

static uint64_t ept_pte(struct harness *h, uint64_t gpa)
{
	return harness_read64(h, EPT_PT + (gpa >> PAGE_SHIFT) * 8);
}

/* Combined mappings are tagged with the EP4TA: INVEPT of another EPTP
 * keeps them, single-context INVEPT of this one drops them (SDM Vol. 3C
 * 29.4.3.1). */
static void test_invept__single_context_drops_combined_mapping(void **state)
{
	for (int k = 0; k < 3; k++) {
		struct harness *h;
		uint64_t eptp;

		/* a fresh machine per case; cmocka tears the last down */
		harness_teardown(state);
		harness_setup(state);
		h = *state;
		eptp = ept_setup(h, false);
		data_setup(h);
		harness_load(h, CODE_BASE, guest_code, sizeof(guest_code));
		assert_int_equal(vtx_cpu_set_regs(h->cpu, &h->regs), 0);
		harness_vmcs_setup(h, CPU_BASED_HLT_EXITING,
				   SECONDARY_EXEC_ENABLE_EPT |
					   SECONDARY_EXEC_ENABLE_VPID);
		harness_vmwrite(h, VIRTUAL_PROCESSOR_ID, 1);
		harness_vmwrite(h, EPT_POINTER, eptp);
		struct vtx_stop st;
		assert_int_equal(vtx_vmlaunch(h->cpu, &st), 0);
		assert_int_equal(harness_vmread(h, VM_EXIT_REASON),
				 EXIT_REASON_CPUID);
		/* EPT now maps guest DATA_BASE onto NEW_FRAME. */
		harness_write64(h, EPT_PT + (DATA_BASE >> PAGE_SHIFT) * 8,
				NEW_FRAME | EPT_RWX | EPT_MT(EPT_MT_WB));
		if (k == 1)
			assert_int_equal(
				vtx_invept(h->cpu, VMX_EPT_EXTENT_CONTEXT,
					   vmx_build_eptp(EPT_PML4 + 0x10000, 4,
							  false)),
				0);
		if (k == 2)
			assert_int_equal(vtx_invept(h->cpu,
						    VMX_EPT_EXTENT_CONTEXT,
						    eptp),
					 0);
		assert_int_equal(guest_second_half(h),
				 k == 2 ? NEW_VAL : OLD_VAL);
	}
}

/* EPT A/D (SDM Vol. 3C 29.3.5): a read sets accessed in the EPT entries
 * it used, not dirty; guest paging-structure accesses count as writes, so
 * the EPT PTE of the guest's page table gets dirty too; a write sets
 * dirty. IA32_VMX_EPT_VPID_CAP bit 21 advertises it. */
static void test_ept_ad__read_sets_accessed_write_sets_dirty(void **state)
{
	struct harness *h = *state;
	static const uint8_t code[] = {
		0x48, 0x8b, 0x07, /* mov rax, qword ptr [rdi] */
		0x0f, 0xa2, /* cpuid */
		0x48, 0x89, 0x07, /* mov qword ptr [rdi], rax */
		0xf4, /* hlt */
	};
	struct vtx_stop st;
	uint64_t cap, eptp;

	assert_int_equal(
		vtx_cpu_get_msr(h->cpu, MSR_IA32_VMX_EPT_VPID_CAP, &cap), 0);
	assert_int_equal(cap & VMX_EPT_AD_BIT, VMX_EPT_AD_BIT);
	eptp = ept_setup(h, true);
	data_setup(h);
	harness_load(h, CODE_BASE, code, sizeof(code));
	assert_int_equal(vtx_cpu_set_regs(h->cpu, &h->regs), 0);
	harness_vmcs_setup(h, CPU_BASED_HLT_EXITING, SECONDARY_EXEC_ENABLE_EPT);
	harness_vmwrite(h, EPT_POINTER, eptp);
	assert_int_equal(vtx_vmlaunch(h->cpu, &st), 0);
	assert_int_equal(harness_vmread(h, VM_EXIT_REASON), EXIT_REASON_CPUID);
	assert_int_equal(ept_pte(h, DATA_BASE) & (EPT_ACCESSED | EPT_DIRTY),
			 EPT_ACCESSED);
	assert_int_equal(ept_pte(h, HARNESS_PT) & (EPT_ACCESSED | EPT_DIRTY),
			 EPT_ACCESSED | EPT_DIRTY);
	assert_int_equal(harness_read64(h, EPT_PD) & EPT_ACCESSED,
			 EPT_ACCESSED);
	/* untouched pages stay clean */
	assert_int_equal(ept_pte(h, NEW_FRAME) & EPT_ACCESSED, 0);

	harness_vmwrite(h, GUEST_RIP, CODE_BASE + 5);
	assert_int_equal(vtx_vmresume(h->cpu, &st), 0);
	assert_int_equal(harness_vmread(h, VM_EXIT_REASON), EXIT_REASON_HLT);
	assert_int_equal(ept_pte(h, DATA_BASE) & (EPT_ACCESSED | EPT_DIRTY),
			 EPT_ACCESSED | EPT_DIRTY);
}

/* Without EPTP bit 6 the walk leaves EPT entries alone. */
static void test_ept_ad__off_leaves_entries_clean(void **state)
{
	struct harness *h = *state;
	struct vtx_stop st;

	harness_write64(h, DATA_BASE, OLD_VAL);
	harness_load(h, CODE_BASE, guest_code, sizeof(guest_code));
	h->regs.rdi = DATA_BASE;
	assert_int_equal(vtx_cpu_set_regs(h->cpu, &h->regs), 0);
	harness_vmcs_setup(h, CPU_BASED_HLT_EXITING, SECONDARY_EXEC_ENABLE_EPT);
	harness_vmwrite(h, EPT_POINTER, ept_setup(h, false));
	assert_int_equal(vtx_vmlaunch(h->cpu, &st), 0);
	assert_int_equal(harness_vmread(h, VM_EXIT_REASON), EXIT_REASON_CPUID);
	assert_int_equal(ept_pte(h, DATA_BASE) & (EPT_ACCESSED | EPT_DIRTY), 0);
	assert_int_equal(harness_read64(h, EPT_PD) & EPT_ACCESSED, 0);
}

/* With EPT A/D, a guest page-table page EPT maps read-only is written
 * by the walk: an EPT violation with the write bit, GLA valid and bit 8
 * clear (a paging-structure access, not the final translation). */
static void
test_ept_ad__read_only_guest_page_table_is_write_violation(void **state)
{
	struct harness *h = *state;
	struct vtx_stop st;
	uint64_t eptp = ept_setup(h, true);

	harness_write64(h, EPT_PT + (HARNESS_PT >> PAGE_SHIFT) * 8,
			HARNESS_PT | EPT_READ | EPT_MT(EPT_MT_WB));
	data_setup(h);
	harness_load(h, CODE_BASE, guest_code, sizeof(guest_code));
	assert_int_equal(vtx_cpu_set_regs(h->cpu, &h->regs), 0);
	harness_vmcs_setup(h, CPU_BASED_HLT_EXITING, SECONDARY_EXEC_ENABLE_EPT);
	harness_vmwrite(h, EPT_POINTER, eptp);
	assert_int_equal(vtx_vmlaunch(h->cpu, &st), 0);
	assert_int_equal(harness_vmread(h, VM_EXIT_REASON),
			 EXIT_REASON_EPT_VIOLATION);
	assert_int_equal(harness_vmread(h, EXIT_QUALIFICATION),
			 EPT_VIOLATION_ACC_WRITE |
				 (EPT_READ << EPT_VIOLATION_PROT_SHIFT) |
				 EPT_VIOLATION_GVA_IS_VALID);
	assert_int_equal(harness_vmread(h, GUEST_PHYSICAL_ADDRESS) & PAGE_MASK,
			 HARNESS_PT);
}

#define T(fn) \
	cmocka_unit_test_setup_teardown(fn, harness_setup, harness_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_tlb__pte_write_without_invlpg_reads_old_frame),
		T(test_tlb__mov_cr3_drops_non_global),
		T(test_tlb__global_survives_mov_cr3),
		T(test_tlb__pcid_mov_cr3_bit63_keeps_translations),
		T(test_mov_cr4__pcide_with_cr3_pcid_raises_gp),
		T(test_invpcid__types_drop_what_they_name),
		T(test_invpcid__type_4_raises_gp),
		T(test_cpuid__advertises_invpcid_and_pcid),
		T(test_invlpg__2mib_page_any_address_drops_all),
		T(test_vpid__off_entry_and_exit_flush),
		T(test_vpid__on_translation_survives_exit_and_entry),
		T(test_invvpid__each_type_drops_the_guest_page),
		T(test_vpid__reentry_keeps_soft_tlb_until_an_invalidation),
		T(test_invept__single_context_drops_combined_mapping),
		T(test_ept_ad__read_sets_accessed_write_sets_dirty),
		T(test_ept_ad__off_leaves_entries_clean),
		T(test_ept_ad__read_only_guest_page_table_is_write_violation),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
