/* SPDX-License-Identifier: MIT */
/*
 * shadow.c - L0's shadow page tables for L1 without EPT (mmu/shadow.h):
 * the walk of L1's 4-level tables with the checks and A/D updates of SDM
 * Vol. 3A 4.5-4.8, shadow leaves filled one 4 KiB page per hidden fault,
 * L1's page-table pages write-protected in every shadow leaf, leaves
 * zapped when an L1 entry they came from is written, and a small cache of
 * shadow roots keyed by L1's CR3. Monitor side.
 */
#include "mmu/shadow.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "arch/x86_paging.h"
#include "arch/x86_regs.h"
#include "mmu/l0_area.h"
#include "mmu/l1mem.h"
#include "vtx/vtx.h"

/*
 * The shadow tree is indexed by L1-linear address alone: its non-leaf
 * entries give every right (P, RW, US; no XD), so the access rights the
 * processor checks are all in the leaf, which holds the AND of L1's
 * entries along the walk (SDM 4.6). KVM instead shadows each L1 table
 * page with one shadow page; this is simpler and exact, at the price of
 * rebuilding the upper levels per root.
 */
#define SHADOW_NONLEAF (PTE_P | PTE_RW | PTE_US)

/* The bits of a shadow leaf L0 decides (the processor sets A and D). */
#define SHADOW_LEAF_MASK                                                  \
	(PTE_P | PTE_RW | PTE_US | PTE_PWT | PTE_PCD | PTE_PAT | PTE_NX | \
	 PTE_ADDR_MASK)

/* ---- growable arrays ------------------------------------------------------ */

static int grow(void **arr, size_t *cap, size_t need, size_t elem)
{
	size_t n = *cap ? *cap : 16;
	void *p;

	if (need <= *cap)
		return 0;
	while (n < need)
		n *= 2;
	p = realloc(*arr, n * elem);
	if (!p)
		return -ENOMEM;
	*arr = p;
	*cap = n;
	return 0;
}

/* ---- table pages ----------------------------------------------------------- */

static uint64_t *table_ptr(struct shadow_mmu *s, hpa_t hpa)
{
	return vtx_hpa_ptr(s->m, hpa, PAGE_SIZE);
}

/* A zeroed table page for root r: reused, or new from the L0 area. */
static int table_alloc(struct shadow_mmu *s, struct shadow_root *r, hpa_t *hpa)
{
	int ret = grow((void **)&r->tables, &r->cap_tables, r->nr_tables + 1,
		       sizeof(*r->tables));

	if (ret)
		return ret;
	if (s->nr_free) {
		*hpa = s->free_pages[--s->nr_free];
		memset(table_ptr(s, *hpa), 0, PAGE_SIZE);
	} else if (l0_area_alloc_page(s->area, hpa)) {
		return -ENOMEM;
	}
	r->tables[r->nr_tables++] = *hpa;
	s->stats.pages_allocated++;
	return 0;
}

/* The shadow PTE slot for gva under root r; with alloc, missing tables
 * are built. NULL when absent (or no memory: *err). */
static uint64_t *shadow_pte(struct shadow_mmu *s, struct shadow_root *r,
			    gva_t gva, bool alloc, int *err)
{
	hpa_t table = r->pml4;

	for (int level = 4; level > 1; level--) {
		uint64_t *t = table_ptr(s, table);
		uint64_t *e = &t[PT_LEVEL_INDEX(gva, level)];

		if (!(*e & PTE_P)) {
			hpa_t next;

			if (!alloc)
				return NULL;
			*err = table_alloc(s, r, &next);
			if (*err)
				return NULL;
			/* table_alloc() may have moved nothing: t is an
			 * arena pointer, stable across allocations. */
			*e = next | SHADOW_NONLEAF;
		}
		table = *e & PTE_ADDR_MASK;
	}
	return &table_ptr(s, table)[PT_LEVEL_INDEX(gva, 1)];
}

/* ---- L1 page-table pages (write protection) ------------------------------ */

static struct shadow_gpt *gpt_find(const struct shadow_mmu *s, gpa_t gpa)
{
	gpa_t page = gpa & PTE_ADDR_MASK;

	for (size_t i = 0; i < s->nr_gpts; i++)
		if (s->gpts[i].gpa == page)
			return &s->gpts[i];
	return NULL;
}

bool shadow_is_pt_page(const struct shadow_mmu *s, gpa_t gpa)
{
	return gpt_find(s, gpa) != NULL;
}

/* Takes write access away from every shadow leaf that maps page. */
static void protect_page(struct shadow_mmu *s, gpa_t page)
{
	for (size_t i = 0; i < s->nr_leaves; i++) {
		struct shadow_leaf *l = &s->leaves[i];
		uint64_t *pte;
		int err = 0;

		if (l->gpa != page || !l->writable)
			continue;
		pte = shadow_pte(s, &s->roots[l->root], l->gva, false, &err);
		if (pte)
			*pte &= ~PTE_RW;
		l->writable = false;
	}
}

static int gpt_get(struct shadow_mmu *s, gpa_t gpa)
{
	struct shadow_gpt *g = gpt_find(s, gpa);
	int ret;

	if (g) {
		g->refs++;
		return 0;
	}
	ret = grow((void **)&s->gpts, &s->cap_gpts, s->nr_gpts + 1,
		   sizeof(*s->gpts));
	if (ret)
		return ret;
	s->gpts[s->nr_gpts++] = (struct shadow_gpt){
		.gpa = gpa & PTE_ADDR_MASK,
		.refs = 1,
	};
	s->stats.wp_pages++;
	protect_page(s, gpa & PTE_ADDR_MASK);
	return 0;
}

int shadow_pin_gpa(struct shadow_mmu *s, gpa_t gpa)
{
	return gpt_get(s, gpa);
}

static void gpt_put(struct shadow_mmu *s, gpa_t gpa);

void shadow_unpin_gpa(struct shadow_mmu *s, gpa_t gpa)
{
	gpt_put(s, gpa);
}

/* The last leaf derived from the page went: L1 may write it freely
 * again (a leaf mapping it read-only becomes writable at its next
 * write fault). */
static void gpt_put(struct shadow_mmu *s, gpa_t gpa)
{
	struct shadow_gpt *g = gpt_find(s, gpa);

	if (!g || --g->refs)
		return;
	*g = s->gpts[--s->nr_gpts];
}

/* ---- leaves ------------------------------------------------------------------ */

static struct shadow_leaf *leaf_find(struct shadow_mmu *s, int root, gva_t gva)
{
	for (size_t i = s->nr_leaves; i-- > 0;)
		if (s->leaves[i].gva == gva && s->leaves[i].root == root)
			return &s->leaves[i];
	return NULL;
}

/* Clears leaf i in the shadow and forgets it. */
static void leaf_zap(struct shadow_mmu *s, size_t i)
{
	struct shadow_leaf *l = &s->leaves[i];
	struct shadow_root *r = &s->roots[l->root];
	uint64_t *pte;
	int err = 0;

	if (r->pml4) {
		pte = shadow_pte(s, r, l->gva, false, &err);
		if (pte)
			*pte = 0;
	}
	for (unsigned int k = 0; k < l->nr_entries; k++)
		gpt_put(s, l->entries[k]);
	s->stats.leaves_zapped++;
	s->leaves[i] = s->leaves[--s->nr_leaves];
}

/* ---- roots -------------------------------------------------------------------- */

/* Drops root idx: its leaves, and its table pages back to the pool. */
static void root_drop(struct shadow_mmu *s, int idx)
{
	struct shadow_root *r = &s->roots[idx];

	if (!r->pml4)
		return;
	for (size_t i = s->nr_leaves; i-- > 0;)
		if (s->leaves[i].root == idx)
			leaf_zap(s, i);
	for (size_t i = 0; i < r->nr_tables; i++) {
		if (grow((void **)&s->free_pages, &s->cap_free, s->nr_free + 1,
			 sizeof(*s->free_pages)))
			break; /* the page stays unused: a leak, not a bug */
		s->free_pages[s->nr_free++] = r->tables[i];
		s->stats.pages_zapped++;
	}
	r->nr_tables = 0;
	r->pml4 = 0;
}

int shadow_set_cr3(struct shadow_mmu *s, uint64_t cr3, hpa_t *root)
{
	uint64_t key = cr3 & PTE_ADDR_MASK;
	int victim = 0;
	int ret;

	s->cr3 = cr3;
	s->clock++;
	for (int i = 0; i < SHADOW_ROOTS; i++) {
		struct shadow_root *r = &s->roots[i];

		if (r->pml4 && r->cr3 == key) {
			r->used = s->clock;
			s->cur = i;
			s->stats.root_hits++;
			*root = r->pml4;
			return 0;
		}
		if (!r->pml4 ||
		    (s->roots[victim].pml4 && r->used < s->roots[victim].used))
			victim = i;
	}
	root_drop(s, victim);
	s->roots[victim].cr3 = key;
	s->roots[victim].used = s->clock;
	ret = table_alloc(s, &s->roots[victim], &s->roots[victim].pml4);
	if (ret)
		return ret;
	if (s->top_pml4e)
		table_ptr(s, s->roots[victim].pml4)[511] = s->top_pml4e;
	s->cur = victim;
	*root = s->roots[victim].pml4;
	return 0;
}

bool shadow_paging_supported(const struct shadow_paging *pg, const char **why)
{
	if (!(pg->cr0 & X86_CR0_PG) || !(pg->efer & EFER_LMA) ||
	    !(pg->cr4 & X86_CR4_PAE)) {
		*why = "L1 runs without 4-level paging (paging off, 32-bit "
		       "or PAE paging)";
		return false;
	}
	if (pg->cr4 & X86_CR4_LA57) {
		*why = "L1 uses 5-level paging";
		return false;
	}
	if (!(pg->cr0 & X86_CR0_WP)) {
		/* The shadow write-protects L1's tables for supervisor
		 * writes too, which needs the real CR0.WP; emulating
		 * WP = 0 as KVM does (writable, supervisor-only leaves)
		 * is not done. */
		*why = "L1 runs with CR0.WP clear";
		return false;
	}
	if (pg->cr4 & (X86_CR4_PCIDE | X86_CR4_PKE)) {
		*why = "L1 uses PCIDs or protection keys";
		return false;
	}
	return true;
}

/* The controls whose change makes every leaf stale (SDM 4.6: rights). */
#define SHADOW_CR4_BITS \
	(X86_CR4_PAE | X86_CR4_PSE | X86_CR4_SMEP | X86_CR4_SMAP | X86_CR4_PGE)

int shadow_set_paging(struct shadow_mmu *s, const struct shadow_paging *pg,
		      hpa_t *root)
{
	bool changed = ((s->pg.cr0 ^ pg->cr0) & (X86_CR0_PG | X86_CR0_WP)) ||
		       ((s->pg.cr4 ^ pg->cr4) & SHADOW_CR4_BITS) ||
		       ((s->pg.efer ^ pg->efer) & (EFER_NX | EFER_LMA));

	s->pg = *pg;
	if (changed) {
		for (int i = 0; i < SHADOW_ROOTS; i++)
			root_drop(s, i);
		s->stats.resets++;
	}
	if (!changed && s->roots[s->cur].pml4) {
		*root = s->roots[s->cur].pml4;
		return 0;
	}
	return shadow_set_cr3(s, s->cr3, root);
}

int shadow_reset(struct shadow_mmu *s, hpa_t *root)
{
	for (int i = 0; i < SHADOW_ROOTS; i++)
		root_drop(s, i);
	s->stats.resets++;
	return shadow_set_cr3(s, s->cr3, root);
}

int shadow_init(struct shadow_mmu *s, struct l0_area *area,
		const struct l1_mem *l1, const struct shadow_paging *pg,
		uint64_t cr3, hpa_t *root)
{
	memset(s, 0, sizeof(*s));
	s->area = area;
	s->l1 = l1;
	s->m = l1->m;
	s->pg = *pg;
	return shadow_set_cr3(s, cr3, root);
}

void shadow_destroy(struct shadow_mmu *s)
{
	for (int i = 0; i < SHADOW_ROOTS; i++)
		free(s->roots[i].tables);
	free(s->leaves);
	free(s->gpts);
	free(s->free_pages);
	free(s->ro_pages);
	memset(s, 0, sizeof(*s));
}

void shadow_set_top(struct shadow_mmu *s, uint64_t pml4e)
{
	s->top_pml4e = pml4e;
	for (int i = 0; i < SHADOW_ROOTS; i++)
		if (s->roots[i].pml4)
			table_ptr(s, s->roots[i].pml4)[511] = pml4e;
}

static gva_t *ro_find(const struct shadow_mmu *s, gva_t page)
{
	for (size_t i = 0; i < s->nr_ro; i++)
		if (s->ro_pages[i] == page)
			return &s->ro_pages[i];
	return NULL;
}

int shadow_protect_gva(struct shadow_mmu *s, gva_t gva, bool wp)
{
	gva_t page = gva & ~(gva_t)(PAGE_SIZE - 1);
	gva_t *p = ro_find(s, page);
	struct shadow_leaf *l;

	if (!wp) {
		if (p)
			*p = s->ro_pages[--s->nr_ro];
		return 0;
	}
	if (!p) {
		if (grow((void **)&s->ro_pages, &s->cap_ro, s->nr_ro + 1,
			 sizeof(*s->ro_pages)))
			return -ENOMEM;
		s->ro_pages[s->nr_ro++] = page;
	}
	/* The next access refills the leaf, read-only (fill()). */
	l = leaf_find(s, s->cur, page);
	if (l && l->writable)
		leaf_zap(s, (size_t)(l - s->leaves));
	return 0;
}

void shadow_invlpg(struct shadow_mmu *s, gva_t gva)
{
	struct shadow_leaf *l;

	s->stats.invlpgs++;
	l = leaf_find(s, s->cur, gva & ~(gva_t)(PAGE_SIZE - 1));
	if (l)
		leaf_zap(s, (size_t)(l - s->leaves));
}

size_t shadow_l1_written(struct shadow_mmu *s, gpa_t gpa, uint64_t len)
{
	size_t zapped = 0;

	/* Only entries on write-protected table pages have leaves. */
	if (!len || (!gpt_find(s, gpa) && !gpt_find(s, gpa + len - 1)))
		return 0;
	for (size_t i = s->nr_leaves; i-- > 0;) {
		const struct shadow_leaf *l = &s->leaves[i];

		for (unsigned int k = 0; k < l->nr_entries; k++) {
			/* An 8-byte entry overlapping [gpa, gpa + len). */
			if (l->entries[k] < gpa + len &&
			    gpa < l->entries[k] + 8) {
				leaf_zap(s, i);
				zapped++;
				break;
			}
		}
	}
	return zapped;
}

uint64_t shadow_lookup(struct shadow_mmu *s, gva_t gva)
{
	struct shadow_root *r = &s->roots[s->cur];
	uint64_t *pte;
	int err = 0;

	if (!r->pml4)
		return 0;
	pte = shadow_pte(s, r, gva, false, &err);
	return pte ? *pte : 0;
}

/* ---- the walk of L1's tables -------------------------------------------------- */

struct l1_walk {
	gpa_t entries[4]; /* L1-physical address of each entry read */
	uint64_t pte[4];
	int nr;
	gpa_t gpa; /* the 4 KiB L1-physical page reached */
	uint64_t leaf; /* the leaf entry */
	int level; /* 1 (PTE), 2 (2 MiB) or 3 (1 GiB) */
	bool writable, user, nx;
	bool unmapped; /* gpa_xlate() refused a table or the leaf */
	bool xlate_ro; /* gpa_xlate() refused a write to the leaf's page */
};

/* Reserved bits of an entry at level (SDM 4.5, Tables 4-14..4-20). */
static uint64_t rsvd_bits(const struct shadow_mmu *s, int level, bool large)
{
	uint64_t r = x86_pte_rsvd_addr_bits(s->l1->maxphyaddr);

	if (!(s->pg.efer & EFER_NX))
		r |= PTE_NX;
	if (level == 4)
		r |= PTE_PS;
	if (large && level == 3)
		r |= (PAGE_SIZE_1G - 1) & ~(PAGE_SIZE_4K - 1) & ~PTE_PAT_LARGE;
	if (large && level == 2)
		r |= (PAGE_SIZE_2M - 1) & ~(PAGE_SIZE_4K - 1) & ~PTE_PAT_LARGE;
	return r;
}

/* The leaf's page as L1-physical (gpa_xlate()); read-only when the
 * translation refuses a write. */
static bool xlate_leaf(struct shadow_mmu *s, struct l1_walk *w, uint32_t acc,
		       uint32_t *error)
{
	gpa_t l1 = 0, l1w = 0;

	if (!s->gpa_xlate)
		return true;
	if (s->gpa_xlate(s->gpa_xlate_opaque, w->gpa, false, &l1)) {
		w->unmapped = true;
		*error = acc;
		return false;
	}
	w->xlate_ro = s->gpa_xlate(s->gpa_xlate_opaque, w->gpa, true, &l1w) ||
		      l1w != l1;
	if (w->xlate_ro && (acc & PFERR_WRITE_MASK)) {
		w->unmapped = true;
		*error = acc;
		return false;
	}
	w->gpa = l1 & ~(gpa_t)(PAGE_SIZE - 1);
	return true;
}

/*
 * Walks L1's tables for gva. true, or false with *error the code of the
 * #PF L1 would take for an access with bits acc (PFERR_WRITE/USER/FETCH)
 * as far as presence and reserved bits go; rights are checked by the
 * caller. (A not-present fault on a supervisor read has error code 0.)
 */
static bool l1_walk(struct shadow_mmu *s, gva_t gva, uint32_t acc,
		    struct l1_walk *w, uint32_t *error)
{
	uint64_t table = s->cr3 & PTE_ADDR_MASK &
			 ~x86_pte_rsvd_addr_bits(s->l1->maxphyaddr);

	memset(w, 0, sizeof(*w));
	w->writable = w->user = true;
	for (int level = 4; level >= 1; level--) {
		gpa_t at = table + PT_LEVEL_INDEX(gva, level) * 8ull;
		uint64_t e;

		/* The walk may set A and D: the table must be writable. */
		if (s->gpa_xlate &&
		    s->gpa_xlate(s->gpa_xlate_opaque, at, true, &at)) {
			w->unmapped = true;
			*error = acc;
			return false;
		}
		e = l1mem_read_u64_or_ones(s->l1, at);
		bool large = (level == 2 || level == 3) && (e & PTE_PS);

		w->entries[w->nr] = at;
		w->pte[w->nr++] = e;
		if (!(e & PTE_P)) {
			*error = acc;
			return false;
		}
		if (e & rsvd_bits(s, level, large)) {
			*error = acc | PFERR_PRESENT_MASK | PFERR_RSVD_MASK;
			return false;
		}
		w->writable &= !!(e & PTE_RW);
		w->user &= !!(e & PTE_US);
		w->nx |= (s->pg.efer & EFER_NX) && (e & PTE_NX);
		if (large || level == 1) {
			w->leaf = e;
			w->level = level;
			if (level == 3)
				w->gpa = (e & PTE_ADDR_MASK_1G) |
					 (gva & (PAGE_SIZE_1G - 1));
			else if (level == 2)
				w->gpa = (e & PTE_ADDR_MASK_2M) |
					 (gva & (PAGE_SIZE_2M - 1));
			else
				w->gpa = e & PTE_ADDR_MASK;
			w->gpa &= ~(gpa_t)(PAGE_SIZE - 1);
			return xlate_leaf(s, w, acc, error);
		}
		table = e & PTE_ADDR_MASK;
	}
	return true; /* not reached: level 1 is always a leaf */
}

/* SDM 4.6: the rights check, with CR0.WP set (shadow_paging_supported()). */
static bool rights_ok(const struct shadow_mmu *s, const struct l1_walk *w,
		      uint32_t acc, bool rflags_ac)
{
	bool user = acc & PFERR_USER_MASK;

	if (user && !w->user)
		return false;
	if ((acc & PFERR_WRITE_MASK) && !w->writable)
		return false;
	if ((acc & PFERR_FETCH_MASK) && w->nx)
		return false;
	if (!user && w->user && (acc & PFERR_FETCH_MASK) &&
	    (s->pg.cr4 & X86_CR4_SMEP))
		return false;
	if (!user && w->user && !(acc & PFERR_FETCH_MASK) &&
	    (s->pg.cr4 & X86_CR4_SMAP) && !rflags_ac)
		return false;
	return true;
}

/* Sets A on every entry walked and D on the leaf for a write, as the
 * processor does (SDM 4.8), in L1's memory; written directly, not
 * through l1mem_write(): flags the processor sets zap nothing. */
static void set_ad(struct shadow_mmu *s, struct l1_walk *w, bool write)
{
	for (int k = 0; k < w->nr; k++) {
		uint64_t e = w->pte[k] | PTE_A;
		hpa_t hpa;

		if (k == w->nr - 1 && write)
			e |= PTE_D;
		if (e == w->pte[k] ||
		    l1mem_gpa_to_hpa(s->l1, w->entries[k], 8, &hpa))
			continue;
		vtx_hpa_write(s->m, hpa, &e, sizeof(e));
		w->pte[k] = e;
	}
	w->leaf = w->pte[w->nr - 1];
}

/* The shadow leaf for a walk: L1's rights, caching and frame, writable
 * only once L1's D flag is set and the page is not one of L1's tables. */
static uint64_t leaf_value(const struct l1_walk *w, bool writable)
{
	uint64_t v = w->gpa | PTE_P;

	if (writable)
		v |= PTE_RW;
	if (w->user)
		v |= PTE_US;
	if (w->nx)
		v |= PTE_NX;
	v |= w->leaf & (PTE_PWT | PTE_PCD);
	/* A large leaf keeps PAT in bit 12, a 4 KiB leaf in bit 7. */
	if (w->level > 1 ? (w->leaf & PTE_PAT_LARGE) : (w->leaf & PTE_PAT))
		v |= PTE_PAT;
	return v;
}

/* Writes the leaf for w at gva in the current root and records it. */
static enum shadow_pf_result fill(struct shadow_mmu *s, gva_t gva,
				  const struct l1_walk *w)
{
	struct shadow_root *r = &s->roots[s->cur];
	struct shadow_leaf *l = leaf_find(s, s->cur, gva);
	uint64_t *pte, val;
	hpa_t hpa;
	int err = 0;

	/* The isolation invariant: a shadow leaf maps L1's RAM only. */
	if (l1mem_gpa_to_hpa(s->l1, w->gpa, PAGE_SIZE, &hpa) || hpa != w->gpa)
		return SHADOW_PF_OUTSIDE_RAM;
	if (l)
		leaf_zap(s, (size_t)(l - s->leaves));
	if (grow((void **)&s->leaves, &s->cap_leaves, s->nr_leaves + 1,
		 sizeof(*s->leaves)))
		return SHADOW_PF_NO_MEMORY;
	pte = shadow_pte(s, r, gva, true, &err);
	if (!pte)
		return SHADOW_PF_NO_MEMORY;
	/* Count the entries first, so that a leaf mapping one of its own
	 * tables is read-only too. */
	for (int k = 0; k < w->nr; k++)
		if (gpt_get(s, w->entries[k]))
			return SHADOW_PF_NO_MEMORY;
	l = &s->leaves[s->nr_leaves++];
	memset(l, 0, sizeof(*l));
	l->gva = gva;
	l->gpa = w->gpa;
	l->root = (uint8_t)s->cur;
	l->nr_entries = (uint8_t)w->nr;
	memcpy(l->entries, w->entries, sizeof(l->entries));
	l->writable = w->writable && (w->leaf & PTE_D) && !w->xlate_ro &&
		      !gpt_find(s, w->gpa) && !ro_find(s, gva);
	val = leaf_value(w, l->writable);
	*pte = val;
	return SHADOW_PF_FILLED;
}

enum shadow_pf_result shadow_handle_pf(struct shadow_mmu *s, gva_t gva,
				       uint32_t ec, bool rflags_ac,
				       uint32_t *error, gpa_t *gpa)
{
	uint32_t acc =
		ec & (PFERR_WRITE_MASK | PFERR_USER_MASK | PFERR_FETCH_MASK);
	bool write = acc & PFERR_WRITE_MASK;
	gva_t page = gva & ~(gva_t)(PAGE_SIZE - 1);
	struct l1_walk w;
	uint64_t old;
	bool ok;

	*gpa = 0;
	/* Slot 511 is the monitor's: L1 never gets a mapping there. */
	if (s->top_pml4e && PT_LEVEL_INDEX(gva, 4) == 511)
		return SHADOW_PF_RESERVED;
	ok = l1_walk(s, gva, acc, &w, error);
	if (!ok && w.unmapped)
		return SHADOW_PF_OUTSIDE_RAM;
	if (ok && !rights_ok(s, &w, acc, rflags_ac)) {
		*error = acc | PFERR_PRESENT_MASK;
		ok = false;
	}
	if (!ok) {
		s->stats.true_faults++;
		return SHADOW_PF_TRUE;
	}
	*gpa = w.gpa | (gva & (PAGE_SIZE - 1));
	set_ad(s, &w, write);
	if (write && gpt_find(s, w.gpa))
		return SHADOW_PF_PT_WRITE;
	/*
	 * L1's tables allow the access. If the shadow already held exactly
	 * the leaf they give, the processor's fault is one L1 takes too (a
	 * right the walk above cannot see, such as SMAP on an implicit
	 * access): its own error code goes to L1.
	 */
	old = shadow_lookup(s, gva) & SHADOW_LEAF_MASK;
	if (old &&
	    old == leaf_value(&w, w.writable && (w.leaf & PTE_D) &&
					  !w.xlate_ro && !gpt_find(s, w.gpa) &&
					  !ro_find(s, page))) {
		*error = ec;
		s->stats.true_faults++;
		return SHADOW_PF_TRUE;
	}
	s->stats.hidden_faults++;
	return fill(s, page, &w);
}
