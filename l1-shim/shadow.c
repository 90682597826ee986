/* SPDX-License-Identifier: MIT */
/*
 * shadow.c - mmu=shadow: l1-shim runs L2 without EPT, through shadow page
 * tables that map L2-linear addresses to L1-physical ones. A #PF exit
 * walks L2's own 4-level tables (SDM Vol. 3A 4.5; rights 4.6, error code
 * 4.7, accessed and dirty flags 4.8) and fills one 4 KiB shadow leaf (a
 * hidden fault) or gives the #PF to L2 (a true fault); INVLPG, CR3 loads
 * and CR4 paging-bit changes drop what they would drop from a TLB
 * (4.10.4). l1-shim side (L1); no VMX here, so host unit tests run it.
 */
#include "arch/boot_layout.h"
#include "arch/x86_paging.h"
#include "arch/x86_regs.h"
#include "guests/rt/rt.h"
#include "l1-shim/shim.h"

/*
 * Shadow entries (the 4-level formats of SDM Tables 4-15 to 4-19):
 *
 *   non-leaf  P, RW, US and A, pointing at the next shadow table: the
 *             leaves alone decide. Bit 9 (ignored by the processor) is
 *             SH_LARGE: a leaf below was made from a 2 MiB (in a PDE)
 *             or 1 GiB (in a PDPTE) page of L2's, so INVLPG of any
 *             address there drops the whole table below.
 *   leaf      4 KiB, always: P; RW only when L2's entries allow writes
 *             and L2's leaf is dirty (the first write faults and sets
 *             D, as the processor would); US when L2's entries allow
 *             user accesses; XD when one forbids fetches; PWT, PCD and
 *             PAT copied from L2's leaf; A and D preset, so that the
 *             processor never writes the shadow; the frame is L2's
 *             frame + the base of L2's RAM in L1 memory.
 */
#define SH_TABLE (PTE_P | PTE_RW | PTE_US | PTE_A)
#define SH_LARGE (1ull << 9)

/* The hardware error-code bits that describe the access (SDM 4.7). */
#define SH_PFERR_ACCESS (PFERR_WRITE_MASK | PFERR_USER_MASK | PFERR_FETCH_MASK)

/* Reserved bits of large leaves above the PAT bit: 2 MiB 20:13, 1 GiB
 * 29:13 (SDM Tables 4-17, 4-18). */
#define SH_RSVD_2M 0x1fe000ull
#define SH_RSVD_1G 0x3fffe000ull

static uint64_t *sh_table(uint64_t entry)
{
	return (uint64_t *)(uintptr_t)(entry & PTE_ADDR_MASK);
}

/* ---- the page pool -------------------------------------------------------- */

/* Every page but the root goes back on the free list. */
static void sh_pool_reset(struct l1_shadow *s)
{
	s->free_list = 0;
	s->nr_free = 0;
	for (unsigned int i = L1_SHADOW_POOL_PAGES - 1; i > 0; i--) {
		*sh_table(s->pool[i]) = s->free_list;
		s->free_list = s->pool[i];
		s->nr_free++;
	}
}

static void sh_page_free(struct l1_shadow *s, uint64_t pa)
{
	*sh_table(pa) = s->free_list;
	s->free_list = pa;
	s->nr_free++;
}

/* A zeroed page, or 0 when the pool is empty. */
static uint64_t sh_page_alloc(struct l1_shadow *s)
{
	uint64_t pa = s->free_list;
	unsigned int used;

	if (!pa)
		return 0;
	s->free_list = *sh_table(pa);
	s->nr_free--;
	memset(sh_table(pa), 0, PAGE_SIZE);
	used = L1_SHADOW_POOL_PAGES - s->nr_free;
	if (used > s->peak)
		s->peak = used;
	return pa;
}

int shadow_init(struct l2_vm *vm, uint64_t guest_cr3, uint64_t cr4,
		unsigned int maxphyaddr, bool gbpages)
{
	struct l1_shadow *s = &vm->shadow;

	for (unsigned int i = 0; i < L1_SHADOW_POOL_PAGES; i++) {
		s->pool[i] = l1_alloc_page();
		if (!s->pool[i]) {
			printf(L1_PFX "L1 memory ran out for the %u pages of "
				      "the shadow page tables; give nestvm a "
				      "larger --mem\n",
			       L1_SHADOW_POOL_PAGES);
			return L1_EXIT_SETUP;
		}
	}
	s->root = s->pool[0];
	s->peak = 1;
	sh_pool_reset(s);
	s->guest_cr3 = guest_cr3;
	s->cr4_shadow = cr4;
	/* Bits 51:MAXPHYADDR of an entry's address are reserved (4.5.4). */
	if (maxphyaddr < 32 || maxphyaddr > 52)
		maxphyaddr = 52;
	s->rsvd_mask = PTE_ADDR_MASK & ~((1ull << maxphyaddr) - 1);
	s->nxe = BOOT_EFER & EFER_NX;
	s->gbpages = gbpages;
	return 0;
}

void shadow_flush(struct l2_vm *vm)
{
	struct l1_shadow *s = &vm->shadow;

	memset(sh_table(s->root), 0, PAGE_SIZE);
	sh_pool_reset(s);
	s->flushes++;
}

/* ---- L2's page walk -------------------------------------------------------- */

/* What a successful walk of L2's tables found. */
struct sh_walk {
	uint64_t *ent[4]; /* L2's entries used, PML4E first, in L1 memory */
	unsigned int n;
	unsigned int level; /* of the leaf: 1 4 KiB, 2 2 MiB, 3 1 GiB */
	uint64_t gpa; /* the 4 KiB frame of @va, L2-physical */
	bool w, u, x; /* the rights of all the entries together */
};

/*
 * Walks L2's tables for @va. L1_SHADOW_HIDDEN with @w filled when a
 * translation exists (its rights are not checked yet), L1_SHADOW_TRUE with
 * the P and RSVD bits of the error code in out->error_code, or
 * L1_SHADOW_BAD_GPA when a table or the page lies outside L2's RAM.
 */
static enum l1_shadow_fault sh_walk_guest(const struct l2_vm *vm, uint64_t va,
					  struct sh_walk *w,
					  struct l1_shadow_fault_info *out)
{
	const struct l1_shadow *s = &vm->shadow;
	uint64_t rsvd = s->rsvd_mask | (s->nxe ? 0 : PTE_NX);
	uint64_t table = s->guest_cr3 & PTE_ADDR_MASK;

	*w = (struct sh_walk){ .w = true, .u = true, .x = true };
	for (unsigned int level = 4; level >= 1; level--) {
		uint64_t gpa = table + 8ull * PT_LEVEL_INDEX(va, level);
		uint64_t r = rsvd, v;
		uint64_t *e;

		if (table >= vm->mem_size) {
			out->gpa = gpa;
			return L1_SHADOW_BAD_GPA;
		}
		e = (uint64_t *)(uintptr_t)(vm->base + gpa);
		v = *e;
		if (!(v & PTE_P))
			return L1_SHADOW_TRUE;
		/* PS is reserved in a PML4E, and in a PDPTE without 1 GiB
		 * pages; large leaves reserve the bits above their PAT bit
		 * (Tables 4-15 to 4-18). */
		if (level == 4 || (level == 3 && !s->gbpages))
			r |= PTE_PS;
		else if (level == 3 && (v & PTE_PS))
			r |= SH_RSVD_1G;
		else if (level == 2 && (v & PTE_PS))
			r |= SH_RSVD_2M;
		if (v & r) {
			out->error_code |= PFERR_PRESENT_MASK | PFERR_RSVD_MASK;
			return L1_SHADOW_TRUE;
		}
		w->ent[w->n++] = e;
		w->w = w->w && (v & PTE_RW);
		w->u = w->u && (v & PTE_US);
		if (s->nxe && (v & PTE_NX))
			w->x = false;
		if (level == 1 || (v & PTE_PS)) {
			uint64_t off = va &
				       ((1ull << PT_LEVEL_SHIFT(level)) - 1) &
				       ~(PAGE_SIZE - 1);

			w->level = level;
			w->gpa = (v & PTE_ADDR_MASK &
				  ~((1ull << PT_LEVEL_SHIFT(level)) - 1)) +
				 off;
			if (w->gpa >= vm->mem_size) {
				out->gpa = w->gpa | (va & (PAGE_SIZE - 1));
				return L1_SHADOW_BAD_GPA;
			}
			return L1_SHADOW_HIDDEN;
		}
		table = v & PTE_ADDR_MASK;
	}
	return L1_SHADOW_TRUE; /* not reached: level 1 is a leaf */
}

/*
 * The access against the rights L2's entries give (SDM 4.6): CR0.WP is
 * always 1 under mmu=shadow (exit.c refuses to clear it), so no write
 * goes to a read-only page at any privilege; SMEP forbids supervisor
 * fetches from user pages. SMAP and protection keys are refused when L2
 * turns them on, so they never apply here.
 */
static bool sh_access_ok(const struct l1_shadow *s, const struct sh_walk *w,
			 uint32_t error)
{
	bool user = error & PFERR_USER_MASK;
	bool fetch = error & PFERR_FETCH_MASK;

	if (user && !w->u)
		return false;
	if ((error & PFERR_WRITE_MASK) && !w->w)
		return false;
	if (fetch && !w->x)
		return false;
	if (fetch && !user && w->u && (s->cr4_shadow & X86_CR4_SMEP))
		return false;
	return true;
}

/* The shadow leaf slot for @va, with the tables above it; NULL when the
 * pool is empty. */
static uint64_t *sh_leaf_slot(struct l1_shadow *s, uint64_t va,
			      unsigned int guest_level)
{
	uint64_t *e = &sh_table(s->root)[PML4_INDEX(va)];

	for (unsigned int level = 4; level > 1; level--) {
		if (!(*e & PTE_P)) {
			uint64_t pa = sh_page_alloc(s);

			if (!pa)
				return NULL;
			*e = pa | SH_TABLE;
		}
		/* This entry covers what L2 mapped with one large page:
		 * mark it for shadow_invlpg(). */
		if (level == guest_level)
			*e |= SH_LARGE;
		e = &sh_table(*e)[PT_LEVEL_INDEX(va, level - 1)];
	}
	return e;
}

enum l1_shadow_fault shadow_page_fault(struct l2_vm *vm, uint64_t va,
				       uint32_t error,
				       struct l1_shadow_fault_info *out)
{
	struct l1_shadow *s = &vm->shadow;
	enum l1_shadow_fault ret;
	uint64_t leaf, sh, *slot;
	struct sh_walk w;

	*out = (struct l1_shadow_fault_info){ 0 };
	error &= SH_PFERR_ACCESS;
	ret = sh_walk_guest(vm, va, &w, out);
	if (ret == L1_SHADOW_HIDDEN && !sh_access_ok(s, &w, error)) {
		out->error_code = PFERR_PRESENT_MASK;
		ret = L1_SHADOW_TRUE;
	}
	if (ret == L1_SHADOW_TRUE) {
		out->error_code |= error;
		s->true_faults++;
		return ret;
	}
	if (ret != L1_SHADOW_HIDDEN)
		return ret;

	/* A walk that succeeds sets A in every entry it used, and a write
	 * sets D in the leaf (SDM 4.8), as the processor would have done
	 * walking L2's tables itself. */
	for (unsigned int i = 0; i < w.n; i++) {
		if (!(*w.ent[i] & PTE_A))
			*w.ent[i] |= PTE_A;
	}
	if ((error & PFERR_WRITE_MASK) && !(*w.ent[w.n - 1] & PTE_D))
		*w.ent[w.n - 1] |= PTE_D;
	leaf = *w.ent[w.n - 1];

	sh = (vm->base + w.gpa) | PTE_P | PTE_A | (leaf & (PTE_PWT | PTE_PCD));
	if (w.level == 1 ? (leaf & PTE_PAT) : (leaf & PTE_PAT_LARGE))
		sh |= PTE_PAT;
	if (w.u)
		sh |= PTE_US;
	if (!w.x)
		sh |= PTE_NX;
	if (w.w && (leaf & PTE_D))
		sh |= PTE_RW | PTE_D;

	slot = sh_leaf_slot(s, va, w.level);
	if (!slot) {
		/* The pool is spent: start again from an empty shadow,
		 * which always has room for one leaf. The caller flushes
		 * the processor's translations too. */
		shadow_flush(vm);
		out->flushed = true;
		slot = sh_leaf_slot(s, va, w.level);
	}
	*slot = sh;
	s->hidden_faults++;
	return L1_SHADOW_HIDDEN;
}

/* ---- invalidation ------------------------------------------------------------ */

/* Frees the page directory under a PDPTE and the page tables under it. */
static void sh_free_pd(struct l1_shadow *s, uint64_t pd)
{
	for (unsigned int i = 0; i < PT_ENTRIES; i++) {
		uint64_t pde = sh_table(pd)[i];

		if (pde & PTE_P)
			sh_page_free(s, pde & PTE_ADDR_MASK);
	}
	sh_page_free(s, pd);
}

bool shadow_invlpg(struct l2_vm *vm, uint64_t va)
{
	struct l1_shadow *s = &vm->shadow;
	uint64_t *e4 = &sh_table(s->root)[PML4_INDEX(va)], *e3, *e2;

	s->invlpgs++;
	if (!(*e4 & PTE_P))
		return false;
	e3 = &sh_table(*e4)[PDPT_INDEX(va)];
	if (!(*e3 & PTE_P))
		return false;
	if (*e3 & SH_LARGE) {
		sh_free_pd(s, *e3 & PTE_ADDR_MASK);
		*e3 = 0;
		return true;
	}
	e2 = &sh_table(*e3)[PD_INDEX(va)];
	if (!(*e2 & PTE_P))
		return false;
	if (*e2 & SH_LARGE) {
		sh_page_free(s, *e2 & PTE_ADDR_MASK);
		*e2 = 0;
		return true;
	}
	sh_table(*e2)[PT_INDEX(va)] = 0;
	return false;
}

void shadow_stats_print(const struct l2_vm *vm)
{
	const struct l1_shadow *s = &vm->shadow;

	rt_result("l1_shadow_hidden_faults", s->hidden_faults, "count");
	rt_result("l1_shadow_true_faults", s->true_faults, "count");
	rt_result("l1_shadow_flushes", s->flushes, "count");
	rt_result("l1_shadow_pages_peak", s->peak, "count");
}
