/* SPDX-License-Identifier: MIT */
/*
 * vpid02.c - vpid02 allocation and L1's INVVPID translated onto it
 * (mmu/vpid02.h; SDM Vol. 3C 29.4.3 and 31.3 "INVVPID"). Monitor side;
 * the processor's TLB is reached only through vtx_invvpid().
 */
#include "mmu/vpid02.h"

#include <string.h>

#include <asm/vmx.h>

#include "arch/ept.h"
#include "vtx/vtx.h"

void vpid02_init(struct vpid02_map *m, struct vtx_cpu *cpu)
{
	memset(m, 0, sizeof(*m));
	m->cpu = cpu;
}

uint16_t vpid02_find(const struct vpid02_map *m, uint16_t vpid12)
{
	if (!vpid12)
		return VPID02_NO_VPID12;
	for (unsigned int k = 0; k < m->used; k++)
		if (m->vpid12[k] == vpid12)
			return (uint16_t)(VPID02_FIRST + k);
	return 0;
}

uint16_t vpid02_get(struct vpid02_map *m, uint16_t vpid12)
{
	uint16_t v = vpid02_find(m, vpid12);

	if (v)
		return v;
	if (m->used == VPID02_MAX) {
		/* Reusing a vpid02 for another vmcs12 VPID must not let the
		 * new one see the old one's translations: drop them all. */
		if (m->cpu)
			vtx_invvpid(m->cpu, VMX_VPID_EXTENT_ALL_CONTEXT, 0, 0);
		m->used = 0;
		m->recycles++;
	}
	m->vpid12[m->used] = vpid12;
	return (uint16_t)(VPID02_FIRST + m->used++);
}

int vpid02_invvpid(struct vpid02_map *m, uint64_t type, uint16_t vpid12,
		   uint64_t gla)
{
	uint16_t v;

	if (!m->cpu)
		return 0;
	if (type == VMX_VPID_EXTENT_ALL_CONTEXT)
		return vtx_invvpid(m->cpu, type, 0, 0);
	v = vpid02_find(m, vpid12);
	if (!v)
		return 0;
	return vtx_invvpid(m->cpu, type, v, gla);
}
