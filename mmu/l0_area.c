/* SPDX-License-Identifier: MIT */
/*
 * l0_area.c - the bump allocator of the L0 area (mmu/l0_area.h): pages
 * are handed out in order and never returned; what must be recycled (ept02
 * tables) keeps its own pool. Monitor side; reaches the arena only through
 * vtx/vtx.h.
 */
#include "mmu/l0_area.h"

#include <errno.h>
#include <string.h>

#include "vtx/vtx.h"

int l0_area_init(struct l0_area *a, struct vtx_machine *m, hpa_t base,
		 uint64_t size)
{
	memset(a, 0, sizeof(*a));
	if ((base | size) & (PAGE_SIZE - 1) || !size ||
	    base > vtx_arena_size(m) || size > vtx_arena_size(m) - base)
		return -EINVAL;
	a->m = m;
	a->base = base;
	a->end = base + size;
	a->next = base;
	return 0;
}

int l0_area_alloc_page(struct l0_area *a, hpa_t *hpa)
{
	void *p;

	if (a->end - a->next < PAGE_SIZE)
		return -ENOMEM;
	p = vtx_hpa_ptr(a->m, a->next, PAGE_SIZE);
	if (!p)
		return -ENOMEM;
	/* The arena starts zeroed, but a page handed out must be zero
	 * whatever ran before: say so here rather than rely on it. */
	memset(p, 0, PAGE_SIZE);
	*hpa = a->next;
	a->next += PAGE_SIZE;
	return 0;
}

uint64_t l0_area_used(const struct l0_area *a)
{
	return a->next - a->base;
}

uint64_t l0_area_size(const struct l0_area *a)
{
	return a->end - a->base;
}

bool l0_area_contains(const struct l0_area *a, hpa_t hpa, uint64_t len)
{
	return hpa >= a->base && hpa <= a->end && len <= a->end - hpa;
}
