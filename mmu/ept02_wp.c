/* SPDX-License-Identifier: MIT */
/*
 * ept02_wp.c - the `wp` coherence of ept02 (mmu/ept.h): every ept12 page an
 * ept02 leaf was derived from is read-only in ept01, with a reverse map
 * from each such page to the ept02 leaves derived from entries on it; L1's
 * write to one drops exactly those leaves and unprotects the page until a
 * walk reads it again (KVM's unsync shadow pages). SDM Vol. 3C 30.3.3.2
 * (the EPT violation L1's write causes), 30.4.3 (invalidation). Monitor
 * side.
 */
#include "mmu/ept.h"

#include <errno.h>
#include <stdlib.h>

#include "arch/ept.h"
#include "arch/x86_paging.h"
#include "mmu/l0_area.h"
#include "vtx/vtx.h"

struct ept12_page *ept02_wp_find(struct ept02 *e, gpa_t gpa)
{
	for (size_t i = 0; i < e->nr_pages; i++)
		if (e->pages[i].gpa == gpa)
			return &e->pages[i];
	return NULL;
}

/* The tracked page at gpa, tracked (unprotected, no leaves) if it was
 * not; NULL when the host is out of memory. */
static struct ept12_page *wp_track(struct ept02 *e, gpa_t gpa)
{
	struct ept12_page *p = ept02_wp_find(e, gpa);

	if (p)
		return p;
	if (e->nr_pages == e->cap_pages) {
		size_t cap = e->cap_pages ? 2 * e->cap_pages : 16;
		struct ept12_page *grown =
			realloc(e->pages, cap * sizeof(*grown));

		if (!grown)
			return NULL;
		e->pages = grown;
		e->cap_pages = cap;
	}
	p = &e->pages[e->nr_pages++];
	*p = (struct ept12_page){ .gpa = gpa };
	return p;
}

/* Invalidates what the processor derived from ept01 (L1's view). */
static void wp_flush_ept01(struct ept02 *e)
{
	if (e->cpu)
		vtx_invept(e->cpu, VMX_EPT_EXTENT_CONTEXT, e->eptp01);
}

/*
 * Takes W away from every ept02 leaf that maps L1 page gpa: an L2 that
 * maps an ept12 page may read it, but its writes must fault so that L0
 * sees them. Runs when a page becomes protected, which is rare (once per
 * ept12 page, and again after each write L1 makes to it).
 */
static void wp_strip_writers(struct ept02 *e, gpa_t gpa)
{
	hpa_t hpa;

	/* ept01 is the identity on L1's RAM (ept01_build()). */
	hpa = gpa;
	if (!e->root)
		return;
	for (unsigned int a = 0; a < PT_ENTRIES; a++) {
		uint64_t *l4 = vtx_hpa_ptr(e->area->m, e->root, PAGE_SIZE);

		if (!l4 || !(l4[a] & EPT_RWX))
			continue;
		for (unsigned int b = 0; b < PT_ENTRIES; b++) {
			uint64_t *l3 = vtx_hpa_ptr(
				e->area->m, l4[a] & EPT_ADDR_MASK, PAGE_SIZE);

			if (!l3 || !(l3[b] & EPT_RWX))
				continue;
			for (unsigned int c = 0; c < PT_ENTRIES; c++) {
				uint64_t *l2 = vtx_hpa_ptr(
					e->area->m, l3[b] & EPT_ADDR_MASK,
					PAGE_SIZE);
				uint64_t *l1;

				if (!l2 || !(l2[c] & EPT_RWX))
					continue;
				l1 = vtx_hpa_ptr(e->area->m,
						 l2[c] & EPT_ADDR_MASK,
						 PAGE_SIZE);
				for (unsigned int d = 0; l1 && d < PT_ENTRIES;
				     d++)
					if ((l1[d] & EPT_RWX) &&
					    (l1[d] & EPT_ADDR_MASK) == hpa)
						l1[d] &= ~EPT_WRITE;
			}
		}
	}
}

static int wp_protect(struct ept02 *e, struct ept12_page *p)
{
	int ret = ept01_set_writable(e->area, e->eptp01, p->gpa, false);

	if (ret)
		return ret;
	p->protected = true;
	e->stats->wp_protects++;
	wp_flush_ept01(e);
	wp_strip_writers(e, p->gpa);
	ept02_flush(e);
	return 0;
}

/* A write to protected page p: the leaves derived from it go, and it is
 * writable again. */
static int wp_unsync(struct ept02 *e, struct ept12_page *p)
{
	int ret;

	for (size_t i = 0; i < p->nr_leaves; i++)
		if (ept02_zap(e, p->leaves[i]))
			e->stats->dropped_wp++;
	p->nr_leaves = 0;
	ept02_flush(e);
	ret = ept01_set_writable(e->area, e->eptp01, p->gpa, true);
	if (ret)
		return ret;
	p->protected = false;
	e->stats->wp_faults++;
	wp_flush_ept01(e);
	return 0;
}

int ept02_wp_before_fill(struct ept02 *e, const gpa_t *walked, int n,
			 gpa_t target, uint64_t access)
{
	struct ept12_page *p;

	if (access & EPT_WRITE) {
		for (int i = 0; i < n; i++)
			if (walked[i] == target)
				return EPT02_WP_SELF;
		p = ept02_wp_find(e, target);
		if (p && p->protected && wp_unsync(e, p))
			return EPT02_NO_MEMORY;
	}
	for (int i = 0; i < n; i++) {
		p = wp_track(e, walked[i]);
		if (!p)
			return EPT02_NO_MEMORY;
		if (!p->protected && wp_protect(e, p))
			return EPT02_NO_MEMORY;
	}
	return 0;
}

static int gpa_cmp(const void *a, const void *b)
{
	gpa_t x = *(const gpa_t *)a, y = *(const gpa_t *)b;

	return x < y ? -1 : x > y;
}

/*
 * Before a reverse map grows: entries for leaves no longer present (dropped
 * through another page) and repeats (a leaf dropped and filled again) go,
 * so a map stays as long as the leaves derived from its page.
 */
static void wp_compact(struct ept02 *e, struct ept12_page *p)
{
	size_t k = 0;

	if (!p->nr_leaves)
		return;
	qsort(p->leaves, p->nr_leaves, sizeof(*p->leaves), gpa_cmp);
	for (size_t i = 0; i < p->nr_leaves; i++) {
		uint64_t *pte;

		if (k && p->leaves[k - 1] == p->leaves[i])
			continue;
		pte = ept02_pte(e, p->leaves[i]);
		if (pte && (*pte & EPT_RWX))
			p->leaves[k++] = p->leaves[i];
	}
	p->nr_leaves = k;
}

int ept02_wp_after_fill(struct ept02 *e, const gpa_t *walked, int n,
			gpa_t gpa02)
{
	for (int i = 0; i < n; i++) {
		struct ept12_page *p = ept02_wp_find(e, walked[i]);

		if (!p)
			return -ENOMEM;
		/* A page walked twice (a table mapping itself) or a leaf
		 * filled again lists it once more until the next compaction;
		 * zapping twice is harmless and counted once. */
		if (p->nr_leaves == p->cap_leaves)
			wp_compact(e, p);
		if (!p->cap_leaves || p->nr_leaves * 2 > p->cap_leaves) {
			size_t cap = p->cap_leaves ? 2 * p->cap_leaves : 64;
			gpa_t *grown = realloc(p->leaves, cap * sizeof(*grown));

			if (!grown)
				return -ENOMEM;
			p->leaves = grown;
			p->cap_leaves = cap;
		}
		p->leaves[p->nr_leaves++] = gpa02;
	}
	return 0;
}

void ept02_wp_forget_all(struct ept02 *e)
{
	bool changed = false;

	for (size_t i = 0; i < e->nr_pages; i++) {
		struct ept12_page *p = &e->pages[i];

		if (p->protected &&
		    !ept01_set_writable(e->area, e->eptp01, p->gpa, true))
			changed = true;
		free(p->leaves);
	}
	e->nr_pages = 0;
	if (changed)
		wp_flush_ept01(e);
}

bool ept02_wp_l1_write(struct ept02 *e, gpa_t gpa, int *err)
{
	struct ept12_page *p;

	*err = 0;
	if (e->coherence != EPT_COHERENCE_WP)
		return false;
	p = ept02_wp_find(e, gpa & PAGE_MASK);
	if (!p || !p->protected)
		return false;
	*err = wp_unsync(e, p);
	return true;
}
