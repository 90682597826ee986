/* SPDX-License-Identifier: MIT */
/*
 * test_shadow_mmu - L0's shadow MMU for L1 (mmu/shadow.c, shadow_emul.c):
 * fills, hidden vs true faults with their error codes, A/D updates, the
 * write protection of L1's page tables and the zapping an L1 entry write
 * causes, INVLPG, CR3 switches and the root cache, 2 MiB and 1 GiB L1
 * leaves shadowed as 4 KiB leaves, isolation, and the MOV-store decoder
 * on raw instruction bytes. Real code on a real arena; no model runs.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "arch/x86_paging.h"
#include "arch/x86_regs.h"
#include "arch/x86_seg.h"
#include "mmu/l0_area.h"
#include "mmu/l1mem.h"
#include "mmu/shadow.h"
#include "vtx/vtx.h"

#define L1_RAM MiB(8)
#define AREA MiB(2)
#define MAXPHY 46

/* L1's tables (L1-physical): one PML4, PDPT, PD and PT. */
#define PML4 0x10000ull
#define PDPT 0x11000ull
#define PD 0x12000ull
#define PT 0x13000ull
#define PML4_B 0x14000ull /* a second address space */

#define TBL (PTE_P | PTE_RW | PTE_US)

struct fixture {
	struct vtx_machine *m;
	struct l1_mem mem;
	struct l0_area area;
	struct shadow_mmu s;
	hpa_t root;
};

static void put(struct fixture *f, gpa_t gpa, uint64_t v)
{
	assert_int_equal(vtx_hpa_write(f->m, gpa, &v, sizeof(v)), 0);
}

static uint64_t get(struct fixture *f, gpa_t gpa)
{
	uint64_t v = 0;

	assert_int_equal(vtx_hpa_read(f->m, gpa, &v, sizeof(v)), 0);
	return v;
}

static void hook(void *opaque, gpa_t gpa, uint64_t len)
{
	shadow_l1_written(opaque, gpa, len);
}

/*
 * L1's address space: linear 0x400000 (PD[2]) through PT, whose entry 0
 * maps 0x200000 (RW, D clear) and entry 1 maps 0x201000 read-only;
 * linear 0x600000 (PD[3]) a 2 MiB leaf at 0x600000; PDPT[1] a 1 GiB leaf
 * at 0 (linear 0x40000000); PT[2] maps the table page PT itself.
 */
static int setup(void **state)
{
	struct vtx_machine_config cfg = { .arena_size = L1_RAM + AREA };
	struct fixture *f = calloc(1, sizeof(*f));
	struct shadow_paging pg = {
		.cr0 = X86_CR0_PE | X86_CR0_PG | X86_CR0_WP,
		.cr4 = X86_CR4_PAE,
		.efer = EFER_LME | EFER_LMA | EFER_NX,
	};

	if (!f || vtx_machine_create(&cfg, &f->m) ||
	    l1mem_init(&f->mem, f->m, L1_RAM, MAXPHY) ||
	    l0_area_init(&f->area, f->m, L1_RAM, AREA))
		return -1;
	put(f, PML4, PDPT | TBL);
	put(f, PDPT, PD | TBL);
	put(f, PDPT + 8, 0 | TBL | PTE_PS);
	put(f, PD + 2 * 8, PT | TBL);
	put(f, PD + 3 * 8, 0x600000 | TBL | PTE_PS);
	put(f, PT, 0x200000 | PTE_P | PTE_RW);
	put(f, PT + 8, 0x201000 | PTE_P);
	put(f, PT + 16, PT | PTE_P | PTE_RW | PTE_D);
	put(f, PML4_B, PDPT | TBL);
	if (shadow_init(&f->s, &f->area, &f->mem, &pg, PML4, &f->root))
		return -1;
	f->mem.on_write = hook;
	f->mem.on_write_opaque = &f->s;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	shadow_destroy(&f->s);
	vtx_machine_destroy(f->m);
	free(f);
	return 0;
}

static enum shadow_pf_result pf(struct fixture *f, gva_t gva, uint32_t ec,
				uint32_t *error)
{
	gpa_t gpa;

	*error = 0xdead;
	return shadow_handle_pf(&f->s, gva, ec, false, error, &gpa);
}

static void test_shadow__init_builds_empty_root_in_l0_area(void **state)
{
	struct fixture *f = *state;

	assert_true(l0_area_contains(&f->area, f->root, PAGE_SIZE));
	assert_int_equal(get(f, f->root), 0);
	assert_int_equal(f->s.stats.pages_allocated, 1);
}

static void test_shadow__read_fault_fills_read_only_until_dirty(void **state)
{
	struct fixture *f = *state;
	uint32_t err;

	assert_int_equal(pf(f, 0x400010, 0, &err), SHADOW_PF_FILLED);
	/* D is clear in L1's PTE: read-only in the shadow, A set in L1;
	 * supervisor-only as L1's PTE is. */
	assert_int_equal(shadow_lookup(&f->s, 0x400000), 0x200000 | PTE_P);
	assert_int_equal(get(f, PT), 0x200000 | PTE_P | PTE_RW | PTE_A);
	assert_int_equal(get(f, PD + 16), PT | TBL | PTE_A);
	assert_int_equal(f->s.stats.hidden_faults, 1);
	/* Three tables below the root were built. */
	assert_int_equal(f->s.stats.pages_allocated, 4);
}

static void test_shadow__write_fault_sets_dirty_and_fills_writable(void **state)
{
	struct fixture *f = *state;
	uint32_t err;

	assert_int_equal(pf(f, 0x400000, 0, &err), SHADOW_PF_FILLED);
	/* The write to the read-only shadow page: P | W. */
	assert_int_equal(
		pf(f, 0x400000, PFERR_PRESENT_MASK | PFERR_WRITE_MASK, &err),
		SHADOW_PF_FILLED);
	assert_int_equal(get(f, PT), 0x200000 | PTE_P | PTE_RW | PTE_A | PTE_D);
	assert_int_equal(shadow_lookup(&f->s, 0x400000),
			 0x200000 | PTE_P | PTE_RW);
	assert_int_equal(f->s.stats.hidden_faults, 2);
	assert_int_equal(f->s.stats.true_faults, 0);
}

static void test_shadow__not_present_is_true_fault_error_0(void **state)
{
	struct fixture *f = *state;
	uint32_t err;

	/* PT[3] is empty: a supervisor read gets error code 0. */
	assert_int_equal(pf(f, 0x403000, 0, &err), SHADOW_PF_TRUE);
	assert_int_equal(err, 0);
	assert_int_equal(shadow_lookup(&f->s, 0x403000), 0);
	/* A user write to an empty PML4 slot: W | U. */
	assert_int_equal(pf(f, 0x8000000000ull,
			    PFERR_WRITE_MASK | PFERR_USER_MASK, &err),
			 SHADOW_PF_TRUE);
	assert_int_equal(err, PFERR_WRITE_MASK | PFERR_USER_MASK);
	assert_int_equal(f->s.stats.true_faults, 2);
	assert_int_equal(f->s.stats.hidden_faults, 0);
}

static void test_shadow__write_to_read_only_is_true_fault_p_w(void **state)
{
	struct fixture *f = *state;
	uint32_t err;

	assert_int_equal(pf(f, 0x401000, PFERR_WRITE_MASK, &err),
			 SHADOW_PF_TRUE);
	assert_int_equal(err, PFERR_PRESENT_MASK | PFERR_WRITE_MASK);
	/* A true fault sets no flags. */
	assert_int_equal(get(f, PT + 8), 0x201000 | PTE_P);
}

static void test_shadow__user_access_to_supervisor_is_true_fault(void **state)
{
	struct fixture *f = *state;
	uint32_t err;

	/* PT's entries lack U/S. */
	assert_int_equal(pf(f, 0x400000, PFERR_USER_MASK, &err),
			 SHADOW_PF_TRUE);
	assert_int_equal(err, PFERR_PRESENT_MASK | PFERR_USER_MASK);
}

static void test_shadow__reserved_bit_is_true_fault_rsvd(void **state)
{
	struct fixture *f = *state;
	uint32_t err;

	/* Bit 51 is above MAXPHYADDR 46. */
	put(f, PT + 3 * 8, (1ull << 51) | 0x203000 | PTE_P);
	assert_int_equal(pf(f, 0x403000, PFERR_FETCH_MASK, &err),
			 SHADOW_PF_TRUE);
	assert_int_equal(err, PFERR_PRESENT_MASK | PFERR_RSVD_MASK |
				      PFERR_FETCH_MASK);
}

static void test_shadow__nx_leaf_fetch_is_true_fault(void **state)
{
	struct fixture *f = *state;
	uint32_t err;

	put(f, PT + 3 * 8, PTE_NX | 0x203000 | PTE_P);
	assert_int_equal(pf(f, 0x403000, PFERR_FETCH_MASK, &err),
			 SHADOW_PF_TRUE);
	assert_int_equal(err, PFERR_PRESENT_MASK | PFERR_FETCH_MASK);
	/* A read fills, and the shadow leaf keeps XD. */
	assert_int_equal(pf(f, 0x403000, 0, &err), SHADOW_PF_FILLED);
	assert_int_equal(shadow_lookup(&f->s, 0x403000),
			 PTE_NX | 0x203000 | PTE_P);
}

static void test_shadow__2m_leaf_is_shadowed_as_4k(void **state)
{
	struct fixture *f = *state;
	uint32_t err;

	assert_int_equal(pf(f, 0x655123, PFERR_WRITE_MASK, &err),
			 SHADOW_PF_FILLED);
	/* The 4 KiB page of the 2 MiB frame, writable (D now set). */
	assert_int_equal(shadow_lookup(&f->s, 0x655000),
			 0x655000 | PTE_P | PTE_RW | PTE_US);
	assert_int_equal(shadow_lookup(&f->s, 0x656000), 0);
	assert_int_equal(get(f, PD + 24),
			 0x600000 | TBL | PTE_PS | PTE_A | PTE_D);
}

static void test_shadow__1g_leaf_is_shadowed_as_4k(void **state)
{
	struct fixture *f = *state;
	uint32_t err;

	assert_int_equal(pf(f, 0x40300000, 0, &err), SHADOW_PF_FILLED);
	assert_int_equal(shadow_lookup(&f->s, 0x40300000),
			 0x300000 | PTE_P | PTE_US);
}

static void test_shadow__table_page_is_mapped_read_only(void **state)
{
	struct fixture *f = *state;
	uint32_t err;

	/* PT[2] maps PT itself, D set: still read-only (a table). */
	assert_int_equal(pf(f, 0x402000, 0, &err), SHADOW_PF_FILLED);
	assert_int_equal(shadow_lookup(&f->s, 0x402000), PT | PTE_P);
	assert_true(shadow_is_pt_page(&f->s, PT));
	/* A write there is L1's right, and L0's to emulate. */
	assert_int_equal(
		pf(f, 0x402008, PFERR_PRESENT_MASK | PFERR_WRITE_MASK, &err),
		SHADOW_PF_PT_WRITE);
}

static void test_shadow__new_table_page_loses_write_access(void **state)
{
	struct fixture *f = *state;
	uint32_t err;

	/* 0x200000 is writable data first ... */
	assert_int_equal(pf(f, 0x400000, PFERR_WRITE_MASK, &err),
			 SHADOW_PF_FILLED);
	assert_true(shadow_lookup(&f->s, 0x400000) & PTE_RW);
	/* ... then L1 makes it a page table (PD[4] -> 0x200000, whose
	 * entry 0 maps 0x204000) and a walk reads it. */
	put(f, PD + 4 * 8, 0x200000 | TBL);
	put(f, 0x200000, 0x204000 | PTE_P | PTE_RW | PTE_D);
	assert_int_equal(pf(f, 0x800000, 0, &err), SHADOW_PF_FILLED);
	assert_false(shadow_lookup(&f->s, 0x400000) & PTE_RW);
	assert_int_equal(f->s.stats.wp_pages, 5);
}

static void test_shadow__entry_write_zaps_derived_leaves(void **state)
{
	struct fixture *f = *state;
	uint64_t v = 0x205000 | PTE_P | PTE_RW;
	uint32_t err;

	assert_int_equal(pf(f, 0x400000, 0, &err), SHADOW_PF_FILLED);
	assert_int_equal(pf(f, 0x402000, 0, &err), SHADOW_PF_FILLED);
	/* L0 emulates L1's store to PT[0] (l1mem_write and its hook). */
	assert_int_equal(l1mem_write(&f->mem, PT, &v, sizeof(v)), 0);
	assert_int_equal(shadow_lookup(&f->s, 0x400000), 0);
	/* The leaf from PT[2] stays. */
	assert_int_equal(shadow_lookup(&f->s, 0x402000), PT | PTE_P);
	assert_int_equal(f->s.stats.leaves_zapped, 1);
	assert_int_equal(pf(f, 0x400000, 0, &err), SHADOW_PF_FILLED);
	assert_int_equal(shadow_lookup(&f->s, 0x400000), 0x205000 | PTE_P);
}

static void test_shadow__upper_entry_write_zaps_every_leaf_below(void **state)
{
	struct fixture *f = *state;
	uint64_t v = 0;
	uint32_t err;

	assert_int_equal(pf(f, 0x400000, 0, &err), SHADOW_PF_FILLED);
	assert_int_equal(pf(f, 0x401000, 0, &err), SHADOW_PF_FILLED);
	assert_int_equal(pf(f, 0x655000, 0, &err), SHADOW_PF_FILLED);
	/* Clearing PD[2] (one 4-byte half is enough to hit it). */
	assert_int_equal(l1mem_write(&f->mem, PD + 16, &v, 4), 0);
	assert_int_equal(shadow_lookup(&f->s, 0x400000), 0);
	assert_int_equal(shadow_lookup(&f->s, 0x401000), 0);
	assert_int_not_equal(shadow_lookup(&f->s, 0x655000), 0);
	assert_int_equal(f->s.stats.leaves_zapped, 2);
}

static void test_shadow__write_elsewhere_zaps_nothing(void **state)
{
	struct fixture *f = *state;
	uint64_t v = 1;
	uint32_t err;

	assert_int_equal(pf(f, 0x400000, 0, &err), SHADOW_PF_FILLED);
	assert_int_equal(shadow_l1_written(&f->s, PT + 4 * 8, 8), 0);
	assert_int_equal(l1mem_write(&f->mem, 0x300000, &v, sizeof(v)), 0);
	assert_int_not_equal(shadow_lookup(&f->s, 0x400000), 0);
	assert_int_equal(f->s.stats.leaves_zapped, 0);
}

static void test_shadow__invlpg_zaps_one_leaf(void **state)
{
	struct fixture *f = *state;
	uint32_t err;

	assert_int_equal(pf(f, 0x400000, 0, &err), SHADOW_PF_FILLED);
	assert_int_equal(pf(f, 0x401000, 0, &err), SHADOW_PF_FILLED);
	shadow_invlpg(&f->s, 0x400abc);
	assert_int_equal(shadow_lookup(&f->s, 0x400000), 0);
	assert_int_not_equal(shadow_lookup(&f->s, 0x401000), 0);
	assert_int_equal(f->s.stats.invlpgs, 1);
	assert_int_equal(f->s.stats.leaves_zapped, 1);
}

/* The monitor's slot (the software VMM's TC): in the root now and in a
 * new one, and a fault there is never L1's to fill. */
static void
test_shadow__top_slot_in_every_root_fault_there_reserved(void **state)
{
	struct fixture *f = *state;
	const uint64_t top = 0x7000000ull | PTE_P | PTE_RW;
	uint32_t err;
	hpa_t b;

	shadow_set_top(&f->s, top);
	assert_int_equal(get(f, f->root + 511 * 8), top);
	assert_int_equal(shadow_set_cr3(&f->s, PML4_B, &b), 0);
	assert_int_equal(get(f, b + 511 * 8), top);
	assert_int_equal(pf(f, 0xffffffffc0000000ull, 0, &err),
			 SHADOW_PF_RESERVED);
	assert_int_equal(pf(f, 0xffffff8000001000ull, PFERR_WRITE_MASK, &err),
			 SHADOW_PF_RESERVED);
	assert_int_equal(err, 0xdead);
	assert_int_equal(f->s.stats.hidden_faults, 0);
	assert_int_equal(f->s.stats.true_faults, 0);
}

/* A page translations were made from: its writable leaf goes, refills
 * are read-only though L1's PTE is dirty and writable, until released. */
static void test_shadow__protected_page_read_only_until_released(void **state)
{
	struct fixture *f = *state;
	uint32_t err;

	assert_int_equal(pf(f, 0x400000, PFERR_WRITE_MASK, &err),
			 SHADOW_PF_FILLED);
	assert_int_equal(shadow_lookup(&f->s, 0x400000),
			 0x200000 | PTE_P | PTE_RW);
	assert_int_equal(shadow_protect_gva(&f->s, 0x400123, true), 0);
	assert_int_equal(shadow_lookup(&f->s, 0x400000), 0);
	assert_int_equal(pf(f, 0x400008, 0, &err), SHADOW_PF_FILLED);
	assert_int_equal(shadow_lookup(&f->s, 0x400000), 0x200000 | PTE_P);
	/* The same read-only leaf again: the write is the hardware's
	 * fault, as for any right the shadow already gave. */
	assert_int_equal(
		pf(f, 0x400000, PFERR_PRESENT_MASK | PFERR_WRITE_MASK, &err),
		SHADOW_PF_TRUE);
	assert_int_equal(shadow_protect_gva(&f->s, 0x400000, false), 0);
	assert_int_equal(
		pf(f, 0x400000, PFERR_PRESENT_MASK | PFERR_WRITE_MASK, &err),
		SHADOW_PF_FILLED);
	assert_int_equal(shadow_lookup(&f->s, 0x400000),
			 0x200000 | PTE_P | PTE_RW);
}

static void test_shadow__cr3_switch_keeps_roots_in_cache(void **state)
{
	struct fixture *f = *state;
	hpa_t b, a;
	uint32_t err;

	assert_int_equal(pf(f, 0x400000, 0, &err), SHADOW_PF_FILLED);
	assert_int_equal(shadow_set_cr3(&f->s, PML4_B, &b), 0);
	assert_int_not_equal(b, f->root);
	assert_int_equal(shadow_lookup(&f->s, 0x400000), 0);
	assert_int_equal(shadow_set_cr3(&f->s, PML4, &a), 0);
	assert_int_equal(a, f->root);
	assert_int_not_equal(shadow_lookup(&f->s, 0x400000), 0);
	assert_int_equal(f->s.stats.root_hits, 1);
	assert_int_equal(f->s.cr3, PML4);
}

static void test_shadow__fifth_cr3_evicts_least_recent_root(void **state)
{
	struct fixture *f = *state;
	hpa_t r;
	uint32_t err;

	assert_int_equal(pf(f, 0x400000, 0, &err), SHADOW_PF_FILLED);
	/* Four more address spaces (their tables need not be valid). */
	for (uint64_t k = 1; k <= SHADOW_ROOTS; k++)
		assert_int_equal(
			shadow_set_cr3(&f->s, 0x30000 + k * PAGE_SIZE, &r), 0);
	assert_int_equal(f->s.stats.root_hits, 0);
	/* The first root went with its leaf and its four table pages. */
	assert_int_equal(f->s.stats.leaves_zapped, 1);
	assert_int_equal(f->s.stats.pages_zapped, 4);
	assert_false(shadow_is_pt_page(&f->s, PT));
	assert_int_equal(shadow_set_cr3(&f->s, PML4, &r), 0);
	assert_int_equal(f->s.stats.root_hits, 0);
}

static void test_shadow__paging_change_drops_every_root(void **state)
{
	struct fixture *f = *state;
	struct shadow_paging pg = f->s.pg;
	uint32_t err;
	hpa_t r;

	assert_int_equal(pf(f, 0x400000, 0, &err), SHADOW_PF_FILLED);
	pg.cr4 |= X86_CR4_SMEP;
	assert_int_equal(shadow_set_paging(&f->s, &pg, &r), 0);
	assert_int_equal(shadow_lookup(&f->s, 0x400000), 0);
	assert_int_equal(f->s.stats.resets, 1);
	/* VMXE is not a paging bit: nothing goes. */
	assert_int_equal(pf(f, 0x400000, 0, &err), SHADOW_PF_FILLED);
	pg.cr4 |= X86_CR4_VMXE;
	assert_int_equal(shadow_set_paging(&f->s, &pg, &r), 0);
	assert_int_not_equal(shadow_lookup(&f->s, 0x400000), 0);
	assert_int_equal(f->s.stats.resets, 1);
}

/* shadow_reset(): every root and leaf goes, the monitor slot stays in
 * the rebuilt root, and L1's tables are writable again. */
static void test_shadow__reset_drops_every_root_keeps_top(void **state)
{
	struct fixture *f = *state;
	uint32_t err;
	hpa_t b, r;

	shadow_set_top(&f->s, 0x1234000 | PTE_P | PTE_RW);
	assert_int_equal(pf(f, 0x400000, 0, &err), SHADOW_PF_FILLED);
	assert_int_equal(shadow_set_cr3(&f->s, PML4_B, &b), 0);
	assert_int_equal(shadow_set_cr3(&f->s, PML4, &r), 0);
	assert_true(shadow_is_pt_page(&f->s, PT));
	assert_int_equal(shadow_reset(&f->s, &r), 0);
	assert_int_equal(f->s.stats.resets, 1);
	assert_int_equal(shadow_lookup(&f->s, 0x400000), 0);
	assert_false(shadow_is_pt_page(&f->s, PT));
	assert_int_equal(f->s.cr3, PML4);
	assert_int_equal(get(f, r + 511 * 8), 0x1234000 | PTE_P | PTE_RW);
	/* Only the current address space has a root again. */
	assert_int_equal(shadow_set_cr3(&f->s, PML4_B, &b), 0);
	assert_int_equal(f->s.stats.root_hits, 1);
	assert_int_equal(pf(f, 0x400000, 0, &err), SHADOW_PF_FILLED);
}

/* A guest-physical space 0x100000 above L1-physical, whose page
 * 0x300000 (L1 0x200000's neighbour) is refused and whose 0x301000 is
 * read-only: what L2's shadow sees through ept12 (l0/bt_l2.c). */
#define XLATE_OFF 0x100000ull

static int xlate(void *opaque, gpa_t gpa, bool write, gpa_t *l1)
{
	(void)opaque;
	if ((gpa & PTE_ADDR_MASK) == 0x400000ull)
		return -EFAULT;
	if (write && (gpa & PTE_ADDR_MASK) == 0x401000ull)
		return -EFAULT;
	*l1 = gpa - XLATE_OFF;
	return 0;
}

/* Tables at guest-physical T + XLATE_OFF for L1's tables at T. */
static void xlate_setup(struct fixture *f)
{
	hpa_t r;

	put(f, PML4, (PDPT + XLATE_OFF) | TBL);
	put(f, PDPT, (PD + XLATE_OFF) | TBL);
	put(f, PD + 2 * 8, (PT + XLATE_OFF) | TBL);
	put(f, PT, (0x200000 + XLATE_OFF) | PTE_P | PTE_RW);
	put(f, PT + 8, 0x400000 | PTE_P | PTE_RW);
	put(f, PT + 16, 0x401000 | PTE_P | PTE_RW | PTE_D);
	f->s.gpa_xlate = xlate;
	f->s.gpa_xlate_opaque = NULL;
	assert_int_equal(shadow_set_cr3(&f->s, PML4 + XLATE_OFF, &r), 0);
}

/* gpa_xlate: tables and leaves by L1-physical address, a refused page is
 * SHADOW_PF_OUTSIDE_RAM, a write-refused one read-only. */
static void test_shadow__gpa_xlate_maps_through_hook(void **state)
{
	struct fixture *f = *state;
	uint32_t err;
	gpa_t gpa;

	xlate_setup(f);
	assert_int_equal(shadow_handle_pf(&f->s, 0x400010, PFERR_WRITE_MASK,
					  false, &err, &gpa),
			 SHADOW_PF_FILLED);
	assert_int_equal(gpa, 0x200010);
	assert_int_equal(shadow_lookup(&f->s, 0x400000),
			 0x200000 | PTE_P | PTE_RW);
	/* The walk's entries are L1-physical: the table page PT is one. */
	assert_true(shadow_is_pt_page(&f->s, PT));
	assert_int_equal(get(f, PT) & PTE_D, PTE_D);
	assert_int_equal(pf(f, 0x401000, 0, &err), SHADOW_PF_OUTSIDE_RAM);
	assert_int_equal(pf(f, 0x402000, 0, &err), SHADOW_PF_FILLED);
	assert_int_equal(shadow_lookup(&f->s, 0x402000),
			 (0x401000 - XLATE_OFF) | PTE_P);
	assert_int_equal(pf(f, 0x402000, PFERR_WRITE_MASK, &err),
			 SHADOW_PF_OUTSIDE_RAM);
}

/* A pinned L1 page is read-only in every leaf, as a table page is, until
 * unpinned. */
static void test_shadow__pinned_page_read_only_until_unpinned(void **state)
{
	struct fixture *f = *state;
	uint32_t err;

	assert_int_equal(pf(f, 0x400000, PFERR_WRITE_MASK, &err),
			 SHADOW_PF_FILLED);
	assert_int_equal(shadow_lookup(&f->s, 0x400000),
			 0x200000 | PTE_P | PTE_RW);
	assert_int_equal(shadow_pin_gpa(&f->s, 0x200000), 0);
	assert_int_equal(shadow_lookup(&f->s, 0x400000), 0x200000 | PTE_P);
	assert_int_equal(pf(f, 0x400000, PFERR_WRITE_MASK, &err),
			 SHADOW_PF_PT_WRITE);
	shadow_unpin_gpa(&f->s, 0x200000);
	assert_int_equal(pf(f, 0x400000, PFERR_WRITE_MASK, &err),
			 SHADOW_PF_FILLED);
	assert_int_equal(shadow_lookup(&f->s, 0x400000),
			 0x200000 | PTE_P | PTE_RW);
}

static void test_shadow__leaf_outside_l1_ram_is_refused(void **state)
{
	struct fixture *f = *state;
	uint32_t err;
	gpa_t gpa;

	/* L1 maps the first page of the L0 area, right after its RAM. */
	put(f, PT + 3 * 8, L1_RAM | PTE_P | PTE_RW);
	assert_int_equal(
		shadow_handle_pf(&f->s, 0x403000, 0, false, &err, &gpa),
		SHADOW_PF_OUTSIDE_RAM);
	assert_int_equal(gpa, L1_RAM);
	assert_int_equal(shadow_lookup(&f->s, 0x403000), 0);
}

static void test_shadow__same_leaf_again_passes_hardware_error(void **state)
{
	struct fixture *f = *state;
	uint32_t err;

	assert_int_equal(pf(f, 0x400000, 0, &err), SHADOW_PF_FILLED);
	/* A fault the walk cannot explain (the leaf already allows it)
	 * goes to L1 with the processor's own error code. */
	assert_int_equal(pf(f, 0x400000, PFERR_PRESENT_MASK, &err),
			 SHADOW_PF_TRUE);
	assert_int_equal(err, PFERR_PRESENT_MASK);
}

static void test_shadow__unsupported_modes_are_named(void **state)
{
	struct shadow_paging pg = {
		.cr0 = X86_CR0_PE | X86_CR0_PG | X86_CR0_WP,
		.cr4 = X86_CR4_PAE,
		.efer = EFER_LME | EFER_LMA,
	};
	const char *why = NULL;

	(void)state;
	assert_true(shadow_paging_supported(&pg, &why));
	pg.cr0 &= ~X86_CR0_WP;
	assert_false(shadow_paging_supported(&pg, &why));
	assert_non_null(strstr(why, "WP"));
	pg.cr0 |= X86_CR0_WP;
	pg.efer = 0;
	assert_false(shadow_paging_supported(&pg, &why));
	pg.efer = EFER_LME | EFER_LMA;
	pg.cr4 |= X86_CR4_PCIDE;
	assert_false(shadow_paging_supported(&pg, &why));
	pg.cr4 = X86_CR4_PAE | X86_CR4_LA57;
	assert_false(shadow_paging_supported(&pg, &why));
}

/* ---- the MOV-store decoder ---------------------------------------------- */

static void test_decode__mov_r64_to_base(void **state)
{
	/* 48 89 02    mov %rax,(%rdx) */
	static const uint8_t b[] = { 0x48, 0x89, 0x02 };
	struct shadow_store st;

	(void)state;
	assert_int_equal(shadow_decode_store(b, sizeof(b), &st), 0);
	assert_int_equal(st.len, 3);
	assert_int_equal(st.size, 8);
	assert_false(st.has_imm);
	assert_int_equal(st.src, VCPU_REGS_RAX);
	assert_int_equal(st.base, VCPU_REGS_RDX);
	assert_int_equal(st.index, -1);
	assert_int_equal(st.disp, 0);
}

static void test_decode__mov_r64_disp32(void **state)
{
	/* 48 89 90 f8 0f 00 00    mov %rdx,0xff8(%rax) */
	static const uint8_t b[] = { 0x48, 0x89, 0x90, 0xf8, 0x0f, 0x00, 0x00 };
	struct shadow_store st;

	(void)state;
	assert_int_equal(shadow_decode_store(b, sizeof(b), &st), 0);
	assert_int_equal(st.len, 7);
	assert_int_equal(st.src, VCPU_REGS_RDX);
	assert_int_equal(st.base, VCPU_REGS_RAX);
	assert_int_equal(st.disp, 0xff8);
}

static void test_decode__mov_r8_sib_rex(void **state)
{
	/* 4f 89 4c c5 f8    mov %r9,-0x8(%r13,%r8,8) */
	static const uint8_t b[] = { 0x4f, 0x89, 0x4c, 0xc5, 0xf8 };
	struct shadow_store st;

	(void)state;
	assert_int_equal(shadow_decode_store(b, sizeof(b), &st), 0);
	assert_int_equal(st.len, 5);
	assert_int_equal(st.src, VCPU_REGS_R9);
	assert_int_equal(st.base, VCPU_REGS_R13);
	assert_int_equal(st.index, VCPU_REGS_R8);
	assert_int_equal(st.scale, 3);
	assert_int_equal(st.disp, -8);
}

static void test_decode__movq_imm_rip_relative(void **state)
{
	/* 48 c7 05 5e 4d 00 00 00 00 00 00    movq $0x0,0x4d5e(%rip) */
	static const uint8_t b[] = { 0x48, 0xc7, 0x05, 0x5e, 0x4d, 0x00,
				     0x00, 0x00, 0x00, 0x00, 0x00 };
	struct shadow_store st;

	(void)state;
	assert_int_equal(shadow_decode_store(b, sizeof(b), &st), 0);
	assert_int_equal(st.len, 11);
	assert_int_equal(st.size, 8);
	assert_true(st.has_imm);
	assert_int_equal(st.imm, 0);
	assert_true(st.rip_rel);
	assert_int_equal(st.disp, 0x4d5e);
}

static void test_decode__movl_imm_sign_and_size(void **state)
{
	/* 48 c7 00 ff ff ff ff    movq $-1,(%rax)  (sign-extended) */
	static const uint8_t q[] = { 0x48, 0xc7, 0x00, 0xff, 0xff, 0xff, 0xff };
	/* c7 00 ff ff ff ff       movl $-1,(%rax) */
	static const uint8_t l[] = { 0xc7, 0x00, 0xff, 0xff, 0xff, 0xff };
	/* 66 c7 00 34 12          movw $0x1234,(%rax) */
	static const uint8_t w[] = { 0x66, 0xc7, 0x00, 0x34, 0x12 };
	/* c6 40 01 7f             movb $0x7f,0x1(%rax) */
	static const uint8_t b[] = { 0xc6, 0x40, 0x01, 0x7f };
	struct shadow_store st;

	(void)state;
	assert_int_equal(shadow_decode_store(q, sizeof(q), &st), 0);
	assert_int_equal(st.imm, ~0ull);
	assert_int_equal(st.size, 8);
	assert_int_equal(shadow_decode_store(l, sizeof(l), &st), 0);
	assert_int_equal(st.imm, 0xffffffffull);
	assert_int_equal(st.size, 4);
	assert_int_equal(shadow_decode_store(w, sizeof(w), &st), 0);
	assert_int_equal(st.imm, 0x1234);
	assert_int_equal(st.size, 2);
	assert_int_equal(st.len, 5);
	assert_int_equal(shadow_decode_store(b, sizeof(b), &st), 0);
	assert_int_equal(st.imm, 0x7f);
	assert_int_equal(st.size, 1);
	assert_int_equal(st.disp, 1);
}

static void test_decode__mov_ah_is_high_byte(void **state)
{
	/* 88 20    mov %ah,(%rax) */
	static const uint8_t b[] = { 0x88, 0x20 };
	/* 40 88 20    mov %spl,(%rax) */
	static const uint8_t r[] = { 0x40, 0x88, 0x20 };
	struct shadow_store st;

	(void)state;
	assert_int_equal(shadow_decode_store(b, sizeof(b), &st), 0);
	assert_true(st.src_high8);
	assert_int_equal(st.src, VCPU_REGS_RAX);
	assert_int_equal(shadow_decode_store(r, sizeof(r), &st), 0);
	assert_false(st.src_high8);
	assert_int_equal(st.src, VCPU_REGS_RSP);
}

static void test_decode__gs_override_and_absolute(void **state)
{
	/* 65 48 89 04 25 10 00 00 00    mov %rax,%gs:0x10 */
	static const uint8_t b[] = { 0x65, 0x48, 0x89, 0x04, 0x25,
				     0x10, 0x00, 0x00, 0x00 };
	struct shadow_store st;

	(void)state;
	assert_int_equal(shadow_decode_store(b, sizeof(b), &st), 0);
	assert_int_equal(st.seg, VCPU_SREG_GS);
	assert_int_equal(st.base, -1);
	assert_int_equal(st.index, -1);
	assert_int_equal(st.disp, 0x10);
	assert_int_equal(st.len, 9);
}

static void test_decode__other_writes_are_refused(void **state)
{
	/* 48 83 08 04    orq $0x4,(%rax) */
	static const uint8_t orq[] = { 0x48, 0x83, 0x08, 0x04 };
	/* 48 87 02       xchg %rax,(%rdx) */
	static const uint8_t xchg[] = { 0x48, 0x87, 0x02 };
	/* f3 48 ab       rep stos %rax,%es:(%rdi) */
	static const uint8_t stos[] = { 0xf3, 0x48, 0xab };
	/* 48 89 c2       mov %rax,%rdx (no memory operand) */
	static const uint8_t reg[] = { 0x48, 0x89, 0xc2 };
	/* 48 89          truncated */
	static const uint8_t cut[] = { 0x48, 0x89 };
	struct shadow_store st;

	(void)state;
	assert_int_equal(shadow_decode_store(orq, sizeof(orq), &st),
			 -EOPNOTSUPP);
	assert_int_equal(shadow_decode_store(xchg, sizeof(xchg), &st),
			 -EOPNOTSUPP);
	assert_int_equal(shadow_decode_store(stos, sizeof(stos), &st),
			 -EOPNOTSUPP);
	assert_int_equal(shadow_decode_store(reg, sizeof(reg), &st),
			 -EOPNOTSUPP);
	assert_int_equal(shadow_decode_store(cut, sizeof(cut), &st), -EINVAL);
}

#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_shadow__init_builds_empty_root_in_l0_area),
		T(test_shadow__read_fault_fills_read_only_until_dirty),
		T(test_shadow__write_fault_sets_dirty_and_fills_writable),
		T(test_shadow__not_present_is_true_fault_error_0),
		T(test_shadow__write_to_read_only_is_true_fault_p_w),
		T(test_shadow__user_access_to_supervisor_is_true_fault),
		T(test_shadow__reserved_bit_is_true_fault_rsvd),
		T(test_shadow__nx_leaf_fetch_is_true_fault),
		T(test_shadow__2m_leaf_is_shadowed_as_4k),
		T(test_shadow__1g_leaf_is_shadowed_as_4k),
		T(test_shadow__table_page_is_mapped_read_only),
		T(test_shadow__new_table_page_loses_write_access),
		T(test_shadow__entry_write_zaps_derived_leaves),
		T(test_shadow__upper_entry_write_zaps_every_leaf_below),
		T(test_shadow__write_elsewhere_zaps_nothing),
		T(test_shadow__invlpg_zaps_one_leaf),
		T(test_shadow__top_slot_in_every_root_fault_there_reserved),
		T(test_shadow__protected_page_read_only_until_released),
		T(test_shadow__cr3_switch_keeps_roots_in_cache),
		T(test_shadow__fifth_cr3_evicts_least_recent_root),
		T(test_shadow__paging_change_drops_every_root),
		T(test_shadow__reset_drops_every_root_keeps_top),
		T(test_shadow__gpa_xlate_maps_through_hook),
		T(test_shadow__pinned_page_read_only_until_unpinned),
		T(test_shadow__leaf_outside_l1_ram_is_refused),
		T(test_shadow__same_leaf_again_passes_hardware_error),
		cmocka_unit_test(test_shadow__unsupported_modes_are_named),
		cmocka_unit_test(test_decode__mov_r64_to_base),
		cmocka_unit_test(test_decode__mov_r64_disp32),
		cmocka_unit_test(test_decode__mov_r8_sib_rex),
		cmocka_unit_test(test_decode__movq_imm_rip_relative),
		cmocka_unit_test(test_decode__movl_imm_sign_and_size),
		cmocka_unit_test(test_decode__mov_ah_is_high_byte),
		cmocka_unit_test(test_decode__gs_override_and_absolute),
		cmocka_unit_test(test_decode__other_writes_are_refused),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
