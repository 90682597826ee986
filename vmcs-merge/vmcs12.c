/* SPDX-License-Identifier: MIT */
/*
 * vmcs12.c - vmcs12 access by encoding through the offset table generated
 * from arch/vmcs_fields.def, and the vmcs12 region in L1's memory (SDM Vol.
 * 3C 25.2 region format: revision and abort words first, the rest ours).
 * Monitor side.
 */
#include "vmcs-merge/vmcs12.h"

#include <errno.h>
#include <string.h>

#include "mmu/l1mem.h"
#include "vmcs-merge/caps.h"

_Static_assert(sizeof(struct vmcs12) <= VMCS12_SIZE, "vmcs12 fits its page");

int vmcs12_read_field(const struct vmcs12 *v, uint32_t enc, uint64_t *val)
{
	unsigned int width;
	int off;

	if (!nested_vmcs_field_supported(enc))
		return -ENOENT;
	off = vmcs12_field_offset(enc, &width);
	if (off < 0)
		return -ENOENT;
	*val = 0;
	/* x86 is little-endian: the low bytes of *val. Copies of constant
	 * size: a copy of run-time size is a call, and L0 reads vmcs12 by
	 * encoding a few hundred times per nested round trip. */
	if (width == 8)
		memcpy(val, (const uint8_t *)v + off, 8);
	else if (width == 4)
		memcpy(val, (const uint8_t *)v + off, 4);
	else
		memcpy(val, (const uint8_t *)v + off, 2);
	return 0;
}

int vmcs12_write_field(struct vmcs12 *v, uint32_t enc, uint64_t val)
{
	unsigned int width;
	int off;

	if (!nested_vmcs_field_supported(enc))
		return -ENOENT;
	off = vmcs12_field_offset(enc, &width);
	if (off < 0)
		return -ENOENT;
	if (width == 8)
		memcpy((uint8_t *)v + off, &val, 8);
	else if (width == 4)
		memcpy((uint8_t *)v + off, &val, 4);
	else
		memcpy((uint8_t *)v + off, &val, 2);
	return 0;
}

uint32_t vmcs12_read_revision(const struct l1_mem *mem, gpa_t gpa)
{
	uint32_t rev;

	if (l1mem_read(mem, gpa, &rev, sizeof(rev)))
		return ~0u;
	return rev;
}

int vmcs12_load(struct vmcs12 *cache, const struct l1_mem *mem, gpa_t gpa)
{
	return l1mem_read(mem, gpa, cache, sizeof(*cache));
}

int vmcs12_store(const struct vmcs12 *cache, const struct l1_mem *mem,
		 gpa_t gpa)
{
	return l1mem_write(mem, gpa, cache, sizeof(*cache));
}

int vmcs12_clear_launch_state(const struct l1_mem *mem, gpa_t gpa)
{
	uint32_t state = VMCS12_LAUNCH_CLEAR;

	return l1mem_write(mem, gpa + offsetof(struct vmcs12, launch_state),
			   &state, sizeof(state));
}
