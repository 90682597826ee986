/* SPDX-License-Identifier: MIT */
/*
 * test_mmu.c - L0's memory side: bounds-checked L1-physical access, L1's
 * page walk (SDM Vol. 3A 4.5-4.7), ept01 over L1's RAM only, and ept02 from
 * an ept12 in L1's memory: hidden faults fill, ept12's own faults are true
 * faults (Vol. 3C 30.3.3), and no ept12 entry makes L0 read or map memory
 * outside L1's RAM. Host side, tests only.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "arch/ept.h"
#include "arch/x86_paging.h"
#include "arch/x86_regs.h"
#include "mmu/ept.h"
#include "mmu/l0_area.h"
#include "mmu/l1mem.h"
#include "vtx/vtx.h"

#define L1_RAM MiB(8)
#define AREA MiB(2)
#define MAXPHY 46

/* L1's page tables for the walk tests (L1-physical). */
#define PML4 0x10000ull
#define PDPT 0x11000ull
#define PD 0x12000ull
#define PT 0x13000ull

/* ept12 for the ept02 tests (L1-physical). */
#define EPT12_PML4 0x20000ull
#define EPT12_PDPT 0x21000ull
#define EPT12_PD 0x22000ull
#define EPT12_PT 0x23000ull

struct fixture {
	struct vtx_machine *m;
	struct l1_mem mem;
	struct l0_area area;
	struct ept02 ept02;
	struct l1_paging pg;
};

static int setup(void **state)
{
	struct vtx_machine_config cfg = { .arena_size = L1_RAM + AREA };
	struct fixture *f = calloc(1, sizeof(*f));

	if (!f || vtx_machine_create(&cfg, &f->m) ||
	    l1mem_init(&f->mem, f->m, L1_RAM, MAXPHY) ||
	    l0_area_init(&f->area, f->m, L1_RAM, AREA))
		return -1;
	ept02_init(&f->ept02, &f->area, &f->mem);
	f->pg = (struct l1_paging){
		.cr0 = X86_CR0_PE | X86_CR0_PG | X86_CR0_WP,
		.cr3 = PML4,
		.cr4 = X86_CR4_PAE,
		.efer = EFER_LME | EFER_LMA | EFER_NX,
		.rflags = X86_EFLAGS_FIXED,
	};
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	ept02_destroy(&f->ept02);
	vtx_machine_destroy(f->m);
	free(f);
	return 0;
}

static void put64(struct fixture *f, hpa_t at, uint64_t v)
{
	assert_int_equal(vtx_hpa_write(f->m, at, &v, 8), 0);
}

static uint64_t get64(struct fixture *f, hpa_t at)
{
	uint64_t v;

	assert_int_equal(vtx_hpa_read(f->m, at, &v, 8), 0);
	return v;
}

/* ---- L1-physical access ------------------------------------------------------ */

static void test_l1mem_gpa_to_hpa__inside_ram_is_identity(void **state)
{
	struct fixture *f = *state;
	hpa_t hpa = 0;

	assert_int_equal(l1mem_gpa_to_hpa(&f->mem, 0x1000, 8, &hpa), 0);
	assert_int_equal(hpa, 0x1000);
	assert_int_equal(l1mem_gpa_to_hpa(&f->mem, L1_RAM - 8, 8, &hpa), 0);
	assert_int_equal(hpa, L1_RAM - 8);
}

/* The L0 area follows L1's RAM in the arena, and no L1 address reaches
 * it: not past the end, not straddling it, not by wrapping around. */
static void
test_l1mem_gpa_to_hpa__outside_ram_or_wrapping_is_efault(void **state)
{
	struct fixture *f = *state;
	hpa_t hpa = 0x1234;

	assert_int_equal(l1mem_gpa_to_hpa(&f->mem, L1_RAM, 1, &hpa), -EFAULT);
	assert_int_equal(l1mem_gpa_to_hpa(&f->mem, L1_RAM - 4, 8, &hpa),
			 -EFAULT);
	assert_int_equal(l1mem_gpa_to_hpa(&f->mem, L1_RAM + 0x1000, 8, &hpa),
			 -EFAULT);
	assert_int_equal(l1mem_gpa_to_hpa(&f->mem, ~0ull - 3, 8, &hpa),
			 -EFAULT);
	assert_int_equal(l1mem_gpa_to_hpa(&f->mem, 0, 0, &hpa), -EFAULT);
	assert_int_equal(hpa, 0x1234);
}

static void
test_l1mem_read_u64_or_ones__outside_ram_reads_all_ones(void **state)
{
	struct fixture *f = *state;

	put64(f, 0x5000, 0x1122334455667788ull);
	put64(f, L1_RAM, 0); /* the first byte of the L0 area */
	assert_int_equal(l1mem_read_u64_or_ones(&f->mem, 0x5000),
			 0x1122334455667788ull);
	assert_int_equal(l1mem_read_u64_or_ones(&f->mem, L1_RAM), ~0ull);
}

/* ---- the linear walk (SDM 4.5) ------------------------------------------------- */

/*
 *   0x201000 4 KiB  -> 0x345000       0x202000 4 KiB read-only -> 0x346000
 *   0x203000 4 KiB, bit 50 set         0x400000 2 MiB -> 0x600000
 *   0x800000 PT outside L1's RAM       0x40000000 1 GiB -> 0
 */
static void map_l1_tables(struct fixture *f)
{
	put64(f, PML4, PDPT | PTE_P | PTE_RW);
	put64(f, PDPT, PD | PTE_P | PTE_RW);
	put64(f, PDPT + 8, 0 | PTE_P | PTE_RW | PTE_PS);
	put64(f, PD + 1 * 8, PT | PTE_P | PTE_RW);
	put64(f, PD + 2 * 8, 0x600000 | PTE_P | PTE_RW | PTE_PS);
	put64(f, PD + 4 * 8, 0x900000 | PTE_P | PTE_RW);
	put64(f, PT + 1 * 8, 0x345000 | PTE_P | PTE_RW);
	put64(f, PT + 2 * 8, 0x346000 | PTE_P);
	put64(f, PT + 3 * 8, 0x347000 | PTE_P | PTE_RW | (1ull << 50));
}

static void test_l1mem_translate__4k_2m_and_1g_leaves(void **state)
{
	struct fixture *f = *state;
	struct l1mem_fault fault;
	gpa_t gpa = 0;

	map_l1_tables(f);
	assert_int_equal(
		l1mem_translate(&f->mem, &f->pg, 0x201123, false, &gpa, &fault),
		0);
	assert_int_equal(gpa, 0x345123);
	assert_int_equal(
		l1mem_translate(&f->mem, &f->pg, 0x4abcde, true, &gpa, &fault),
		0);
	assert_int_equal(gpa, 0x6abcde);
	assert_int_equal(l1mem_translate(&f->mem, &f->pg, 0x40001234, false,
					 &gpa, &fault),
			 0);
	assert_int_equal(gpa, 0x1234);
}

static void test_l1mem_translate__not_present_is_pf_with_write_bit(void **state)
{
	struct fixture *f = *state;
	struct l1mem_fault fault = { 0 };
	gpa_t gpa;

	map_l1_tables(f);
	assert_int_equal(
		l1mem_translate(&f->mem, &f->pg, 0x600010, true, &gpa, &fault),
		-EFAULT);
	assert_int_equal(fault.vector, PF_VECTOR);
	assert_int_equal(fault.error_code, PFERR_WRITE_MASK);
	assert_int_equal(fault.address, 0x600010);
}

/* SDM 4.6.1: a supervisor write to a read-only page faults only with
 * CR0.WP. */
static void
test_l1mem_translate__readonly_write_faults_only_with_cr0_wp(void **state)
{
	struct fixture *f = *state;
	struct l1mem_fault fault = { 0 };
	gpa_t gpa = 0;

	map_l1_tables(f);
	assert_int_equal(
		l1mem_translate(&f->mem, &f->pg, 0x202008, true, &gpa, &fault),
		-EFAULT);
	assert_int_equal(fault.error_code,
			 PFERR_PRESENT_MASK | PFERR_WRITE_MASK);
	f->pg.cr0 &= ~(uint64_t)X86_CR0_WP;
	assert_int_equal(
		l1mem_translate(&f->mem, &f->pg, 0x202008, true, &gpa, &fault),
		0);
	assert_int_equal(gpa, 0x346008);
}

static void test_l1mem_translate__reserved_bit_is_pf_present_rsvd(void **state)
{
	struct fixture *f = *state;
	struct l1mem_fault fault = { 0 };
	gpa_t gpa;

	map_l1_tables(f);
	assert_int_equal(
		l1mem_translate(&f->mem, &f->pg, 0x203000, false, &gpa, &fault),
		-EFAULT);
	assert_int_equal(fault.vector, PF_VECTOR);
	assert_int_equal(fault.error_code,
			 PFERR_PRESENT_MASK | PFERR_RSVD_MASK);
}

/* A page table L1 placed outside its RAM reads as all ones: reserved
 * bits, so a #PF; L0 never looks at what the arena holds there. */
static void test_l1mem_translate__table_outside_ram_is_pf_rsvd(void **state)
{
	struct fixture *f = *state;
	struct l1mem_fault fault = { 0 };
	gpa_t gpa;

	map_l1_tables(f);
	put64(f, 0x900000 + 0 * 8, 0x123000 | PTE_P | PTE_RW);
	assert_int_equal(
		l1mem_translate(&f->mem, &f->pg, 0x800000, false, &gpa, &fault),
		-EFAULT);
	assert_int_equal(fault.error_code,
			 PFERR_PRESENT_MASK | PFERR_RSVD_MASK);
}

static void test_l1mem_translate__noncanonical_is_gp(void **state)
{
	struct fixture *f = *state;
	struct l1mem_fault fault = { 0 };
	gpa_t gpa;

	assert_int_equal(l1mem_translate(&f->mem, &f->pg, 0x0000800000000000ull,
					 false, &gpa, &fault),
			 -EFAULT);
	assert_int_equal(fault.vector, GP_VECTOR);
	assert_int_equal(fault.error_code, 0);
}

/* An operand that straddles two pages is read from both frames. */
static void
test_l1mem_read_gva__operand_across_pages_reads_both_frames(void **state)
{
	struct fixture *f = *state;
	struct l1mem_fault fault;
	uint64_t v = 0;

	map_l1_tables(f);
	put64(f, 0x345ff8, 0x44332211aaaaaaaaull);
	put64(f, 0x346000, 0xbbbbbbbb88776655ull);
	assert_int_equal(
		l1mem_read_gva(&f->mem, &f->pg, 0x201ffc, &v, 8, &fault), 0);
	assert_int_equal(v, 0x8877665544332211ull);
}

/* ---- ept01 ----------------------------------------------------------------------- */

/* The leaf ept01 maps gpa with, or 0; *level is its level. */
static uint64_t ept_leaf(struct fixture *f, uint64_t eptp, gpa_t gpa,
			 int *level)
{
	hpa_t table = eptp & VMX_EPTP_ADDR_MASK;

	for (*level = 4; *level >= 1; (*level)--) {
		uint64_t e = get64(f, table + PT_LEVEL_INDEX(gpa, *level) * 8);

		if (!(e & EPT_RWX))
			return 0;
		if (*level == 1 || (e & EPT_LARGE))
			return e;
		table = e & EPT_ADDR_MASK;
	}
	return 0;
}

/* 4 MiB + 12 KiB of RAM: two 2 MiB leaves, three 4 KiB leaves, nothing
 * after, so the L0 area that follows is out of L1's reach. */
static void test_ept01_build__2m_leaves_4k_tail_nothing_beyond(void **state)
{
	struct fixture *f = *state;
	uint64_t eptp, e;
	int level;

	assert_int_equal(ept01_build(&f->area, MiB(4) + 0x3000, &eptp), 0);
	assert_int_equal(eptp & ~VMX_EPTP_ADDR_MASK,
			 VMX_EPTP_MT_WB | VMX_EPTP_PWL_4);
	e = ept_leaf(f, eptp, 0x3fffff, &level);
	assert_int_equal(level, 2);
	assert_int_equal(e, 0x200000 | EPT_RWX | EPT_MT(EPT_MT_WB) | EPT_LARGE);
	e = ept_leaf(f, eptp, 0x402abc, &level);
	assert_int_equal(level, 1);
	assert_int_equal(e, 0x402000 | EPT_RWX | EPT_MT(EPT_MT_WB));
	assert_int_equal(ept_leaf(f, eptp, 0x403000, &level), 0);
	assert_int_equal(ept_leaf(f, eptp, L1_RAM, &level), 0);
	/* PML4, PDPT, PD and one PT. */
	assert_int_equal(l0_area_used(&f->area), 4 * PAGE_SIZE);
}

static void test_ept01_build__area_too_small_is_enomem(void **state)
{
	struct fixture *f = *state;
	struct l0_area tiny;
	uint64_t eptp;

	assert_int_equal(l0_area_init(&tiny, f->m, L1_RAM, 2 * PAGE_SIZE), 0);
	assert_int_equal(ept01_build(&tiny, MiB(4) + 0x3000, &eptp), -ENOMEM);
}

/* ---- ept02 ----------------------------------------------------------------------- */

/*
 * ept12 (L2-physical -> L1-physical):
 *   [0, 2 MiB)            2 MiB leaf, RWX, WB        -> 0x400000
 *   0x200000              4 KiB, read-only           -> 0x100000
 *   0x201000              4 KiB, execute-only        -> 0x101000
 *   0x202000              not present
 *   [1 GiB, 2 GiB)        W without R: misconfigured
 *   [2 GiB, 3 GiB)        PD at 0x900000, outside L1's RAM
 *   [3 GiB, 4 GiB)        1 GiB leaf                 -> 1 GiB (not RAM)
 */
static uint64_t map_ept12(struct fixture *f)
{
	const uint64_t wb = EPT_MT(EPT_MT_WB);

	put64(f, EPT12_PML4, EPT12_PDPT | EPT_RWX);
	put64(f, EPT12_PDPT, EPT12_PD | EPT_RWX);
	put64(f, EPT12_PDPT + 8, 0x700000 | EPT_WRITE);
	put64(f, EPT12_PDPT + 16, 0x900000 | EPT_RWX);
	put64(f, EPT12_PDPT + 24, GiB(1) | EPT_RWX | EPT_LARGE | wb);
	put64(f, EPT12_PD, 0x400000 | EPT_RWX | EPT_LARGE | wb);
	put64(f, EPT12_PD + 8, EPT12_PT | EPT_RWX);
	put64(f, EPT12_PT, 0x100000 | EPT_READ | wb);
	put64(f, EPT12_PT + 8, 0x101000 | EPT_EXEC | wb);
	return vmx_build_eptp(EPT12_PML4, 4, false);
}

static void
test_ept02__hidden_fault_fills_one_4k_leaf_with_ept12_rights(void **state)
{
	struct fixture *f = *state;
	struct ept02_walk walk;
	uint64_t eptp02;

	assert_int_equal(ept02_use(&f->ept02, map_ept12(f), &eptp02), 0);
	assert_int_equal(eptp02 & VMX_EPTP_ADDR_MASK, f->ept02.root);
	assert_int_equal(
		ept02_handle_violation(&f->ept02, 0x1234, EPT_READ, &walk),
		EPT02_FILLED);
	assert_int_equal(walk.prot, EPT_RWX);
	assert_int_equal(walk.l1_gpa, 0x401234);
	assert_int_equal(ept02_lookup(&f->ept02, 0x1234), 0x401234);
	assert_int_equal(f->ept02.fills, 1);
	/* Only the page touched: its neighbour is still a miss. */
	assert_int_equal(ept02_lookup(&f->ept02, 0x2000), ~0ull);
}

/* ept12 allows reads only: the read fills a read-only leaf, the write is
 * ept12's own violation, reported with ept12's rights (SDM Table 28-7). */
static void test_ept02__write_to_readonly_ept12_page_is_true_fault(void **state)
{
	struct fixture *f = *state;
	struct ept02_walk walk;
	uint64_t eptp02;

	ept02_use(&f->ept02, map_ept12(f), &eptp02);
	assert_int_equal(
		ept02_handle_violation(&f->ept02, 0x200010, EPT_READ, &walk),
		EPT02_FILLED);
	assert_int_equal(ept02_lookup(&f->ept02, 0x200010), 0x100010);
	assert_int_equal(
		ept02_handle_violation(&f->ept02, 0x200010, EPT_WRITE, &walk),
		EPT02_VIOLATION);
	assert_int_equal(walk.prot, EPT_READ);
	assert_int_equal(walk.level, 1);
	assert_int_equal(f->ept02.fills, 1);
}

static void test_ept02__execute_only_ept12_page_fills_for_fetch(void **state)
{
	struct fixture *f = *state;
	struct ept02_walk walk;
	uint64_t eptp02;

	ept02_use(&f->ept02, map_ept12(f), &eptp02);
	assert_int_equal(
		ept02_handle_violation(&f->ept02, 0x201000, EPT_READ, &walk),
		EPT02_VIOLATION);
	assert_int_equal(walk.prot, EPT_EXEC);
	assert_int_equal(
		ept02_handle_violation(&f->ept02, 0x201000, EPT_EXEC, &walk),
		EPT02_FILLED);
}

static void
test_ept02__ept12_not_present_is_true_fault_with_no_rights(void **state)
{
	struct fixture *f = *state;
	struct ept02_walk walk;
	uint64_t eptp02;

	ept02_use(&f->ept02, map_ept12(f), &eptp02);
	assert_int_equal(
		ept02_handle_violation(&f->ept02, 0x202000, EPT_READ, &walk),
		EPT02_VIOLATION);
	assert_int_equal(walk.prot, 0);
	assert_int_equal(walk.level, 1);
	assert_int_equal(ept02_lookup(&f->ept02, 0x202000), ~0ull);
}

static void test_ept02__ept12_write_without_read_is_misconfig(void **state)
{
	struct fixture *f = *state;
	struct ept02_walk walk;
	uint64_t eptp02;

	ept02_use(&f->ept02, map_ept12(f), &eptp02);
	assert_int_equal(ept02_handle_violation(&f->ept02, GiB(1) + 0x5000,
						EPT_READ, &walk),
			 EPT02_MISCONFIG);
	assert_int_equal(walk.level, 3);
}

/*
 * An ept12 table outside L1's RAM (here the L0 area itself, holding a
 * table that would map L0's pages) reads as all ones: a misconfiguration
 * for L1, and nothing of the L0 area is read as ept12 or mapped.
 */
static void
test_ept02__ept12_table_in_l0_area_is_misconfig_never_mapped(void **state)
{
	struct fixture *f = *state;
	struct ept02_walk walk;
	uint64_t eptp02, filled_before;
	hpa_t bait;

	ept02_use(&f->ept02, map_ept12(f), &eptp02);
	filled_before = f->ept02.fills;
	/* A page of the L0 area, made to look like an ept12 table. */
	assert_int_equal(l0_area_alloc_page(&f->area, &bait), 0);
	put64(f, bait, L1_RAM | EPT_RWX | EPT_MT(EPT_MT_WB) | EPT_LARGE);
	put64(f, EPT12_PDPT + 16, bait | EPT_RWX);
	assert_int_equal(
		ept02_handle_violation(&f->ept02, GiB(2), EPT_READ, &walk),
		EPT02_MISCONFIG);
	assert_int_equal(ept02_lookup(&f->ept02, GiB(2)), ~0ull);
	assert_int_equal(f->ept02.fills, filled_before);
}

/* ept12 may map L2 anywhere, but only L1's RAM has an ept01 mapping. */
static void test_ept02__ept12_leaf_outside_l1_ram_is_not_filled(void **state)
{
	struct fixture *f = *state;
	struct ept02_walk walk;
	uint64_t eptp02;

	ept02_use(&f->ept02, map_ept12(f), &eptp02);
	assert_int_equal(ept02_handle_violation(&f->ept02, GiB(3) + 0x1000,
						EPT_WRITE, &walk),
			 EPT02_OUTSIDE_L1_RAM);
	assert_int_equal(walk.l1_gpa, GiB(1) + 0x1000);
	assert_int_equal(ept02_lookup(&f->ept02, GiB(3) + 0x1000), ~0ull);
}

/* ept02 memory follows the pages L2 touches: one page needs the four
 * tables down to it, a second page under the same PT none more. A reset
 * drops every entry and the refill reuses the same pages. */
static void
test_ept02__memory_grows_with_pages_touched_and_is_reused(void **state)
{
	struct fixture *f = *state;
	struct ept02_walk walk;
	uint64_t eptp02, used;

	ept02_use(&f->ept02, map_ept12(f), &eptp02);
	ept02_handle_violation(&f->ept02, 0x1000, EPT_READ, &walk);
	assert_int_equal(f->ept02.pool_len, 4);
	ept02_handle_violation(&f->ept02, 0x2000, EPT_READ, &walk);
	assert_int_equal(f->ept02.pool_len, 4);
	used = l0_area_used(&f->area);

	ept02_reset(&f->ept02);
	assert_int_equal(ept02_use(&f->ept02, f->ept02.eptp12, &eptp02), 0);
	assert_int_equal(ept02_lookup(&f->ept02, 0x1000), ~0ull);
	ept02_handle_violation(&f->ept02, 0x1000, EPT_READ, &walk);
	assert_int_equal(ept02_lookup(&f->ept02, 0x1000), 0x401000);
	assert_int_equal(l0_area_used(&f->area), used);
	assert_int_equal(f->ept02.resets, 1);
}

/* Another ept12 (a new EPTP) starts from an empty ept02. */
static void test_ept02__use_of_other_eptp_drops_entries(void **state)
{
	struct fixture *f = *state;
	struct ept02_walk walk;
	uint64_t eptp12 = map_ept12(f), eptp02;

	ept02_use(&f->ept02, eptp12, &eptp02);
	ept02_handle_violation(&f->ept02, 0x1000, EPT_READ, &walk);
	ept02_use(&f->ept02, eptp12, &eptp02);
	assert_int_equal(ept02_lookup(&f->ept02, 0x1000), 0x401000);
	ept02_use(&f->ept02, vmx_build_eptp(EPT12_PDPT, 4, false), &eptp02);
	assert_int_equal(ept02_lookup(&f->ept02, 0x1000), ~0ull);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_l1mem_gpa_to_hpa__inside_ram_is_identity),
		T(test_l1mem_gpa_to_hpa__outside_ram_or_wrapping_is_efault),
		T(test_l1mem_read_u64_or_ones__outside_ram_reads_all_ones),
		T(test_l1mem_translate__4k_2m_and_1g_leaves),
		T(test_l1mem_translate__not_present_is_pf_with_write_bit),
		T(test_l1mem_translate__readonly_write_faults_only_with_cr0_wp),
		T(test_l1mem_translate__reserved_bit_is_pf_present_rsvd),
		T(test_l1mem_translate__table_outside_ram_is_pf_rsvd),
		T(test_l1mem_translate__noncanonical_is_gp),
		T(test_l1mem_read_gva__operand_across_pages_reads_both_frames),
		T(test_ept01_build__2m_leaves_4k_tail_nothing_beyond),
		T(test_ept01_build__area_too_small_is_enomem),
		T(test_ept02__hidden_fault_fills_one_4k_leaf_with_ept12_rights),
		T(test_ept02__write_to_readonly_ept12_page_is_true_fault),
		T(test_ept02__execute_only_ept12_page_fills_for_fetch),
		T(test_ept02__ept12_not_present_is_true_fault_with_no_rights),
		T(test_ept02__ept12_write_without_read_is_misconfig),
		T(test_ept02__ept12_table_in_l0_area_is_misconfig_never_mapped),
		T(test_ept02__ept12_leaf_outside_l1_ram_is_not_filled),
		T(test_ept02__memory_grows_with_pages_touched_and_is_reused),
		T(test_ept02__use_of_other_eptp_drops_entries),
	};
#undef T
	return cmocka_run_group_tests(tests, NULL, NULL);
}
