/* SPDX-License-Identifier: MIT */
/*
 * shadow.c - the VMCS-access strategies' field sets, the VMREAD/VMWRITE
 * bitmaps built from them, and the copies between the cached vmcs12 and
 * the shadow VMCS (vmcs-merge/shadow.h; SDM Vol. 3C 25.10 VMCS shadowing,
 * 25.6.15 the bitmaps). Monitor side.
 */
#include "vmcs-merge/shadow.h"

#include <string.h>

#include "vmcs-merge/caps.h"
#include "vmcs-merge/merge.h"
#include "vmcs-merge/vmcs12.h"
#include "vtx/vtx.h"

#define BITMAP_BYTES 4096u

const char *vmcs_access_mode_name(enum vmcs_access_mode mode)
{
	switch (mode) {
	case VMCS_ACCESS_TRAP:
		return "trap";
	case VMCS_ACCESS_SHADOW:
		return "shadow";
	case VMCS_ACCESS_SHADOW_ALL:
		return "shadow-all";
	case VMCS_ACCESS_PV:
		return "pv";
	case VMCS_ACCESS_BT:
		return "bt";
	}
	return "unknown";
}

static unsigned int field_access(enum vmcs_access_mode mode,
				 const struct vmcs_field_desc *d,
				 bool exit_info_writable)
{
	if (!nested_vmcs_field_supported(d->encoding))
		return 0;
	switch (mode) {
	case VMCS_ACCESS_TRAP:
	case VMCS_ACCESS_PV:
	case VMCS_ACCESS_BT:
		return 0;
	case VMCS_ACCESS_SHADOW:
		if (d->shadow == VMCS_SHADOW_SH_RW)
			return VMCS_SHADOW_READ | VMCS_SHADOW_WRITE;
		if (d->shadow == VMCS_SHADOW_SH_RO)
			return VMCS_SHADOW_READ;
		return 0;
	case VMCS_ACCESS_SHADOW_ALL:
		if (vmcs_field_type(d->encoding) == VMCS_FIELD_TYPE_EXIT_INFO &&
		    !exit_info_writable)
			return VMCS_SHADOW_READ;
		return VMCS_SHADOW_READ | VMCS_SHADOW_WRITE;
	}
	return 0;
}

void vmcs_shadow_set_init(struct vmcs_shadow_set *s, enum vmcs_access_mode mode,
			  bool exit_info_writable)
{
	memset(s, 0, sizeof(*s));
	s->mode = mode;
	for (unsigned int k = 0; k < VMCS_NR_FIELDS; k++) {
		unsigned int a = field_access(mode, &vmcs_field_table[k],
					      exit_info_writable);

		s->access[k] = (uint8_t)a;
		if (a & VMCS_SHADOW_READ)
			s->read_ids[s->nr_read++] = (uint16_t)k;
		if (a & VMCS_SHADOW_WRITE)
			s->write_ids[s->nr_write++] = (uint16_t)k;
	}
}

unsigned int vmcs_shadow_field_access(const struct vmcs_shadow_set *s,
				      uint64_t enc)
{
	int id;

	if (enc >> 32)
		return 0;
	id = vmcs_field_lookup((uint32_t)enc);
	return id < 0 ? 0 : s->access[id];
}

static void bitmap_clear_bit(uint8_t *bitmap, uint32_t n)
{
	bitmap[n / 8] &= (uint8_t) ~(1u << (n & 7));
}

void vmcs_shadow_fill_bitmaps(const struct vmcs_shadow_set *s,
			      uint8_t *vmread_bitmap, uint8_t *vmwrite_bitmap)
{
	memset(vmread_bitmap, 0xff, BITMAP_BYTES);
	memset(vmwrite_bitmap, 0xff, BITMAP_BYTES);
	for (unsigned int k = 0; k < VMCS_NR_FIELDS; k++) {
		uint32_t enc = vmcs_field_table[k].encoding;
		/*
		 * The high half of a 64-bit field is shadowed with it: were
		 * it to exit, L0 would answer from vmcs12 while the field's
		 * current value is in the shadow VMCS.
		 */
		bool high = VMCS_ENC_WIDTH_CODE(enc) == VMCS_WIDTH_64;

		if (s->access[k] & VMCS_SHADOW_READ) {
			bitmap_clear_bit(vmread_bitmap, enc);
			if (high)
				bitmap_clear_bit(vmread_bitmap,
						 enc | VMCS_ENC_HIGH);
		}
		if (s->access[k] & VMCS_SHADOW_WRITE) {
			bitmap_clear_bit(vmwrite_bitmap, enc);
			if (high)
				bitmap_clear_bit(vmwrite_bitmap,
						 enc | VMCS_ENC_HIGH);
		}
	}
}

/*
 * The copies go through one batched VMREAD or VMWRITE each
 * (vtx_vmread_batch(), vtx_vmwrite_batch()): the same operations, counted
 * and charged one by one, without one API call per field. A set holds
 * only fields L0 supports (field_access()), so vmcs12 is reached by the
 * field's offset directly.
 */
static uint64_t v12_get(const struct vmcs12 *v, unsigned int id)
{
	const struct vmcs12_field_loc *loc = &vmcs12_field_locs[id];
	uint64_t val = 0;

	/* x86 is little-endian: the low bytes of val. */
	memcpy(&val, (const uint8_t *)v + loc->offset, loc->width);
	return val;
}

static void v12_set(struct vmcs12 *v, unsigned int id, uint64_t val)
{
	const struct vmcs12_field_loc *loc = &vmcs12_field_locs[id];

	memcpy((uint8_t *)v + loc->offset, &val, loc->width);
}
int vmcs_shadow_copy_to_shadow(struct vtx_cpu *cpu, const struct vmcs12 *v,
			       const struct vmcs_shadow_set *s,
			       uint64_t *writes)
{
	struct vtx_vmcs_field f[VMCS_NR_FIELDS];
	unsigned int n = s->nr_read;
	int ret;

	for (unsigned int i = 0; i < n; i++) {
		unsigned int k = s->read_ids[i];

		f[i].field = vmcs_field_table[k].encoding;
		f[i].val = v12_get(v, k);
	}
	ret = vtx_vmwrite_batch(cpu, f, n);
	if (ret)
		return ret;
	*writes += n;
	return 0;
}

int vmcs_shadow_copy_from_shadow(struct vtx_cpu *cpu, struct vmcs12 *v,
				 const struct vmcs_shadow_set *s,
				 unsigned int *dirty, uint64_t *reads)
{
	struct vtx_vmcs_field f[VMCS_NR_FIELDS];
	unsigned int n = s->nr_write;
	int ret;

	for (unsigned int i = 0; i < n; i++)
		f[i].field = vmcs_field_table[s->write_ids[i]].encoding;
	ret = vtx_vmread_batch(cpu, f, n);
	if (ret)
		return ret;
	*reads += n;
	for (unsigned int i = 0; i < n; i++) {
		unsigned int k = s->write_ids[i];

		if (f[i].val == v12_get(v, k))
			continue;
		v12_set(v, k, f[i].val);
		*dirty |= VMCS02_DIRTY_CLASS(vmcs_field_table[k].sync);
	}
	return 0;
}
