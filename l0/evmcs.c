/* SPDX-License-Identifier: MIT */
/*
 * evmcs.c - the `pv` VMCS-access strategy on L0's side: the Hyper-V
 * interface that offers an enlightened VMCS (TLFS 6.0b: CPUID leaves
 * 0x40000000-0x4000000A, HV_X64_MSR_VP_ASSIST_PAGE, the VP assist page's
 * enlighten_vmentry and current_nested_vmcs), the eVMCS copied into the
 * cached vmcs12 at an enlightened VMLAUNCH/VMRESUME by clean-field group,
 * and vmcs12 copied back into the eVMCS when L1 gets control (SDM Vol. 3C
 * 28.2-28.3 as a VM exit writes a VMCS). Monitor side.
 */
#include "l0/evmcs.h"

#include <errno.h>
#include <string.h>

#include "arch/evmcs.h"
#include "l0/nvmx.h"
#include "mmu/l1mem.h"
#include "vmcs-merge/caps.h"
#include "vmcs-merge/vmcs12.h"

/* "Microsoft Hv": the vendor of CPUID 0x40000000 EBX, ECX, EDX. */
#define HV_VENDOR_EBX 0x7263694du
#define HV_VENDOR_ECX 0x666f736fu
#define HV_VENDOR_EDX 0x76482074u

/* One line of arch/evmcs_fields.def, with its VMCS encoding. */
struct evmcs_field_desc {
	uint32_t enc;
	struct evmcs_field_loc loc;
};

static const struct evmcs_field_desc evmcs_fields[] = {
#define EVMCS_FIELD(name, member, group)                       \
	{ name,                                                \
	  { offsetof(struct hv_enlightened_vmcs, member),      \
	    sizeof(((struct hv_enlightened_vmcs *)0)->member), \
	    HV_VMX_ENLIGHTENED_CLEAN_FIELD_##group } },
#include "arch/evmcs_fields.def"
#undef EVMCS_FIELD
};

bool evmcs_cpuid(const struct l0_vm *vm, uint32_t leaf, uint32_t r[4])
{
	if (!vm->nvmx->evmcs.offered ||
	    leaf < HYPERV_CPUID_VENDOR_AND_MAX_FUNCTIONS ||
	    leaf > HYPERV_CPUID_NESTED_FEATURES)
		return false;
	memset(r, 0, 4 * sizeof(r[0]));
	switch (leaf) {
	case HYPERV_CPUID_VENDOR_AND_MAX_FUNCTIONS:
		r[0] = HYPERV_CPUID_NESTED_FEATURES;
		r[1] = HV_VENDOR_EBX;
		r[2] = HV_VENDOR_ECX;
		r[3] = HV_VENDOR_EDX;
		break;
	case HYPERV_CPUID_INTERFACE:
		r[0] = HV_INTERFACE_SIGNATURE;
		break;
	case HYPERV_CPUID_FEATURES:
		/* Only the VP assist page: no hypercall page, no SynIC,
		 * no synthetic timers (docs/design/nested.md). */
		r[0] = HV_MSR_APIC_ACCESS_AVAILABLE;
		break;
	case HYPERV_CPUID_ENLIGHTMENT_INFO:
		r[0] = HV_X64_ENLIGHTENED_VMCS_RECOMMENDED;
		break;
	case HYPERV_CPUID_NESTED_FEATURES:
		/* Versions 1 to 1, as KVM encodes its range. */
		r[0] = (EVMCS_VERSION << 8) | EVMCS_VERSION;
		break;
	default:
		break;
	}
	return true;
}

int evmcs_get_msr(const struct l0_vm *vm, uint32_t msr, uint64_t *val)
{
	if (!vm->nvmx->evmcs.offered || msr != HV_X64_MSR_VP_ASSIST_PAGE)
		return -ENOENT;
	*val = vm->nvmx->evmcs.assist_msr;
	return 0;
}

int evmcs_set_msr(struct l0_vm *vm, uint32_t msr, uint64_t val)
{
	struct nvmx *n = vm->nvmx;

	if (!n->evmcs.offered || msr != HV_X64_MSR_VP_ASSIST_PAGE)
		return -ENOENT;
	/* Bits 11:1 are reserved, the page must be within L1's width. */
	if ((val & ~(HV_X64_MSR_VP_ASSIST_PAGE_ADDRESS_MASK |
		     HV_X64_MSR_VP_ASSIST_PAGE_ENABLE)) ||
	    (val >> n->maxphyaddr))
		return -EINVAL;
	n->evmcs.assist_msr = val;
	return 0;
}

/* Bytes L0 moved between its copy and the eVMCS, by direction. */
static void count_bytes(struct l0_vm *vm, uint64_t rd, uint64_t wr)
{
	vm->stats.evmcs_read_bytes += rd;
	vm->stats.evmcs_write_bytes += wr;
	if (vm->span >= 0) {
		vm->stats.reflected[vm->span].evmcs_read_bytes += rd;
		vm->stats.reflected[vm->span].evmcs_write_bytes += wr;
	}
}

/*
 * The eVMCS the VP assist page names, if it asks for an enlightened
 * entry. Outside L1's RAM the page reads as all ones (enlighten_vmentry
 * set, a pointer that fails the checks below).
 */
static bool assist_evmcs(struct l0_vm *vm, gpa_t *gpa)
{
	gpa_t page = vm->nvmx->evmcs.assist_msr &
		     HV_X64_MSR_VP_ASSIST_PAGE_ADDRESS_MASK;
	uint32_t enlighten = ~0u;

	if (!(vm->nvmx->evmcs.assist_msr & HV_X64_MSR_VP_ASSIST_PAGE_ENABLE))
		return false;
	l1mem_read(&vm->mem,
		   page + offsetof(struct hv_vp_assist_page, enlighten_vmentry),
		   &enlighten, sizeof(enlighten));
	if (!enlighten)
		return false;
	*gpa = l1mem_read_u64_or_ones(
		&vm->mem,
		page + offsetof(struct hv_vp_assist_page, current_nested_vmcs));
	return true;
}

/* A new eVMCS: what was current is released (a vmcs12 region is written
 * back, an eVMCS has nothing L0 owns) and the cache starts clear. */
static void evmcs_make_current(struct l0_vm *vm, gpa_t gpa)
{
	struct nvmx *n = vm->nvmx;

	nvmx_release_current(vm);
	memset(n->vmcs12, 0, sizeof(*n->vmcs12));
	n->vmcs12->revision_id = VMCS12_REVISION;
	n->vmcs12->launch_state = VMCS12_LAUNCH_CLEAR;
	n->vmptr = gpa;
	n->evmcs.current = true;
	n->vmcs02_dirty = VMCS02_DIRTY_ALL;
}

/* Whether a field of group clean must be read, given the clean bits. */
static bool group_dirty(uint32_t group, uint32_t clean_bits)
{
	if (group == HV_VMX_ENLIGHTENED_CLEAN_FIELD_NONE)
		return true;
	if (group == HV_VMX_ENLIGHTENED_CLEAN_FIELD_ALL)
		return clean_bits != HV_VMX_ENLIGHTENED_CLEAN_FIELD_ALL;
	return !(clean_bits & group);
}

enum evmcs_entry evmcs_prepare_entry(struct l0_vm *vm, bool launch)
{
	struct nvmx *n = vm->nvmx;
	uint32_t rev = ~0u, clean = 0;
	uint64_t rd = 0, wr = 0;
	bool full;
	gpa_t gpa;

	if (!n->evmcs.offered || !assist_evmcs(vm, &gpa))
		return EVMCS_ENTRY_NONE;
	/* As KVM's enlightened VMPTRLD: a bad pointer or version is
	 * VMfailInvalid (there is no VMCS to hold an error). */
	if ((gpa & (PAGE_SIZE - 1)) || (gpa >> n->maxphyaddr) ||
	    l1mem_read(&vm->mem, gpa, &rev, sizeof(rev)) ||
	    rev != EVMCS_VERSION) {
		if (n->evmcs.current)
			nvmx_release_current(vm);
		return EVMCS_ENTRY_FAIL_INVALID;
	}
	rd += sizeof(rev);
	full = launch || !n->evmcs.current || n->vmptr != gpa;
	if (!n->evmcs.current || n->vmptr != gpa)
		evmcs_make_current(vm, gpa);
	vm->stats.evmcs_entries++;
	/* The clean bits are read once; a new eVMCS or a VMLAUNCH reads
	 * every group whatever they say (L1 may not have cleared them). */
	l1mem_read(&vm->mem,
		   gpa + offsetof(struct hv_enlightened_vmcs, hv_clean_fields),
		   &clean, sizeof(clean));
	rd += sizeof(clean);
	if (full)
		clean = 0;
	for (size_t i = 0; i < ARRAY_SIZE(evmcs_fields); i++) {
		const struct evmcs_field_desc *f = &evmcs_fields[i];
		uint64_t val = 0, old = 0;
		int id;

		/* The exit information is L0's to write, never L1's. */
		if (vmcs_field_type(f->enc) == VMCS_FIELD_TYPE_EXIT_INFO ||
		    !group_dirty(f->loc.clean, clean) ||
		    vmcs12_read_field(n->vmcs12, f->enc, &old))
			continue;
		/* One read of the field; from here on only the copy. */
		if (l1mem_read(&vm->mem, gpa + f->loc.offset, &val,
			       f->loc.width))
			continue;
		rd += f->loc.width;
		if (val == old)
			continue;
		vmcs12_write_field(n->vmcs12, f->enc, val);
		id = vmcs_field_lookup(f->enc);
		if (id >= 0)
			n->vmcs02_dirty |=
				VMCS02_DIRTY_CLASS(vmcs_field_table[id].sync);
	}
	/* Consumed: every group is clean until L1 writes one again. */
	clean = HV_VMX_ENLIGHTENED_CLEAN_FIELD_ALL;
	if (!l1mem_write(
		    &vm->mem,
		    gpa + offsetof(struct hv_enlightened_vmcs, hv_clean_fields),
		    &clean, sizeof(clean)))
		wr += sizeof(clean);
	count_bytes(vm, rd, wr);
	return EVMCS_ENTRY_READY;
}

/* vmcs12's field f into the eVMCS; the bytes written, or 0. */
static uint64_t store_one(struct l0_vm *vm, const struct evmcs_field_desc *f)
{
	struct nvmx *n = vm->nvmx;
	uint64_t val = 0;

	if (vmcs12_read_field(n->vmcs12, f->enc, &val) ||
	    l1mem_write(&vm->mem, n->vmptr + f->loc.offset, &val, f->loc.width))
		return 0;
	return f->loc.width;
}

/*
 * What a VM exit writes (SDM 28.2, 28.3): exit information, guest state,
 * the entry event's valid bit and the IA-32e mode guest control -- each
 * field with its place in vmcs12, sorted by eVMCS offset so that the
 * store writes contiguous runs of fields with one l1mem_write() each
 * (the same bytes as one write per field: the fields do not overlap).
 * The set depends on no VM, so it is built once.
 */
struct evmcs_exit_store {
	uint16_t offset, width; /* in the eVMCS */
	uint16_t offset12, width12; /* in struct vmcs12 */
};

static struct evmcs_exit_store exit_stores[ARRAY_SIZE(evmcs_fields)];
static size_t nr_exit_stores;
static bool exit_stores_built;

static void build_exit_stores(void)
{
	for (size_t i = 0; i < ARRAY_SIZE(evmcs_fields); i++) {
		const struct evmcs_field_desc *f = &evmcs_fields[i];
		unsigned int type = vmcs_field_type(f->enc), width12 = 0;
		struct evmcs_exit_store e;
		size_t k;
		int off12;

		if (type != VMCS_FIELD_TYPE_EXIT_INFO &&
		    type != VMCS_FIELD_TYPE_GUEST &&
		    f->enc != VM_ENTRY_INTR_INFO_FIELD &&
		    f->enc != VM_ENTRY_CONTROLS)
			continue;
		/* vmcs12_read_field() fails for these: nothing stored. */
		off12 = vmcs12_field_offset(f->enc, &width12);
		if (!nested_vmcs_field_supported(f->enc) || off12 < 0)
			continue;
		e = (struct evmcs_exit_store){
			.offset = f->loc.offset,
			.width = f->loc.width,
			.offset12 = (uint16_t)off12,
			.width12 = (uint16_t)width12,
		};
		for (k = nr_exit_stores;
		     k && exit_stores[k - 1].offset > e.offset; k--)
			exit_stores[k] = exit_stores[k - 1];
		exit_stores[k] = e;
		nr_exit_stores++;
	}
	exit_stores_built = true;
}

/* The low width bytes (2, 4 or 8) of a little-endian value at p, copied
 * at constant size: a copy of run-time size is a call. */
static uint64_t load_le(const uint8_t *p, unsigned int width)
{
	uint16_t w;
	uint32_t d;
	uint64_t q;

	switch (width) {
	case 2:
		memcpy(&w, p, 2);
		return w;
	case 4:
		memcpy(&d, p, 4);
		return d;
	default:
		memcpy(&q, p, 8);
		return q;
	}
}

static void store_le(uint8_t *p, unsigned int width, uint64_t val)
{
	uint16_t w = (uint16_t)val;
	uint32_t d = (uint32_t)val;

	switch (width) {
	case 2:
		memcpy(p, &w, 2);
		break;
	case 4:
		memcpy(p, &d, 4);
		break;
	default:
		memcpy(p, &val, 8);
		break;
	}
}

/* Writes buf[start, end) to the eVMCS; the bytes written, or 0. */
static uint64_t store_run(struct l0_vm *vm, const uint8_t *buf, size_t start,
			  size_t end)
{
	if (l1mem_write(&vm->mem, vm->nvmx->vmptr + start, buf + start,
			end - start))
		return 0;
	return end - start;
}

void evmcs_store_exit(struct l0_vm *vm)
{
	const uint8_t *v12 = (const uint8_t *)vm->nvmx->vmcs12;
	uint8_t buf[EVMCS_SIZE];
	size_t start = 0, end = 0;
	uint64_t wr = 0;

	if (!vm->nvmx->evmcs.current)
		return;
	if (!exit_stores_built)
		build_exit_stores();
	for (size_t i = 0; i < nr_exit_stores; i++) {
		const struct evmcs_exit_store *e = &exit_stores[i];
		uint64_t val = load_le(v12 + e->offset12, e->width12);

		if (e->offset != end) {
			if (end > start)
				wr += store_run(vm, buf, start, end);
			start = e->offset;
		}
		store_le(buf + e->offset, e->width, val);
		end = (size_t)e->offset + e->width;
	}
	if (end > start)
		wr += store_run(vm, buf, start, end);
	count_bytes(vm, 0, wr);
}

void evmcs_store_field(struct l0_vm *vm, uint32_t enc)
{
	if (!vm->nvmx->evmcs.current)
		return;
	for (size_t i = 0; i < ARRAY_SIZE(evmcs_fields); i++) {
		if (evmcs_fields[i].enc == enc) {
			count_bytes(vm, 0, store_one(vm, &evmcs_fields[i]));
			return;
		}
	}
}
