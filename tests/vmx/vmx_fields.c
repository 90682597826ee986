/* SPDX-License-Identifier: MIT */
/*
 * vmx_fields.c - VMREAD and VMWRITE of every field in tests/vmx/fields.h:
 * a cookie written must read back truncated to the width of its encoding
 * (bits 14:13), the _HIGH encoding of a 64-bit field reaches its upper 32
 * bits, an encoding the processor lacks is VMfailValid(12), and without a
 * current VMCS both are VMfailInvalid (SDM Vol. 3C 25.11.2, 31.3 "VMREAD",
 * "VMWRITE"). Guest side (runs as a hypervisor).
 */
#include "arch/vmcs.h"
#include "arch/vmx_insn_errors.h"
#include "guests/rt/rt.h"
#include "tests/vmx/fields.h"
#include "tests/vmx/lib.h"

struct field {
	const char *name;
	uint32_t enc;
};

static const struct field fields[] = {
#define VMXT_FIELD_ENTRY(name) { #name, name },
	VMXT_FIELDS(VMXT_FIELD_ENTRY)
#undef VMXT_FIELD_ENTRY
};

/* A value with bits set in every byte, different for every encoding. */
static uint64_t cookie(uint32_t enc)
{
	return 0x8badf00d5ca1ab1eull ^ ((uint64_t)enc << 19) ^
	       ((uint64_t)enc * 0x9e3779b9ull);
}

static uint64_t width_mask(uint32_t enc)
{
	switch (VMCS_ENC_WIDTH_CODE(enc)) {
	case VMCS_WIDTH_16:
		return 0xffff;
	case VMCS_WIDTH_32:
		return 0xffffffff;
	default:
		return ~0ull;
	}
}

static void expect(const char *name, struct vmxt_outcome got,
		   struct vmxt_outcome want)
{
	vmxt_check_outcome(name, &got, &want);
}

/* One line per field: VMWRITE of the cookie, VMREAD of the value. */
static void test_round_trip(const struct field *f)
{
	uint64_t want = cookie(f->enc) & width_mask(f->enc), got = 0;
	struct vmxt_outcome w = vmxt_try_vmwrite(f->enc, cookie(f->enc));
	struct vmxt_outcome r = vmxt_try_vmread(f->enc, &got);
	char g[64], x[64];

	if (w.kind != VMXT_SUCCEED || r.kind != VMXT_SUCCEED) {
		vmxt_outcome_format(w.kind != VMXT_SUCCEED ? &w : &r, g,
				    sizeof(g));
		snprintf(x, sizeof(x), "0x%llx", (unsigned long long)want);
		vmxt_check_str(f->name, false, g, x);
		return;
	}
	vmxt_check_u64(f->name, got, want);
}

/* The _HIGH encoding (bit 0 set) is bits 63:32 of a 64-bit field: it
 * reads them, and writing it leaves bits 31:0 alone (SDM 25.11.2). */
static void test_high(const struct field *f)
{
	uint64_t lo = cookie(f->enc), hi = cookie(f->enc | 1);
	uint64_t full = 0, high = 0;
	char name[64], g[80], w[80];

	snprintf(name, sizeof(name), "%s_HIGH", f->name);
	vmxt_try_vmwrite(f->enc, lo);
	vmxt_try_vmwrite(f->enc | 1, hi);
	vmxt_try_vmread(f->enc, &full);
	vmxt_try_vmread(f->enc | 1, &high);
	snprintf(g, sizeof(g), "full 0x%llx high 0x%llx",
		 (unsigned long long)full, (unsigned long long)high);
	snprintf(w, sizeof(w), "full 0x%llx high 0x%llx",
		 (unsigned long long)((hi << 32) | (uint32_t)lo),
		 (unsigned long long)(uint32_t)hi);
	vmxt_check_str(name, !strcmp(g, w), g, w);
}

/* Encodings no processor has: reserved bits, an index past the last
 * field, a _HIGH access to a field that is not 64 bits wide. */
static void test_unsupported(void)
{
	static const struct {
		const char *name;
		uint64_t enc;
	} bad[] = {
		{ "unsupported_index_past_the_last", 0x4ffe },
		{ "unsupported_reserved_bit_12", GUEST_RIP | 0x1000 },
		{ "unsupported_reserved_bit_15", GUEST_RIP | 0x8000 },
		{ "unsupported_reserved_bit_31", GUEST_RIP | 0x80000000u },
		{ "unsupported_bits_63_32", GUEST_RIP | (1ull << 32) },
		{ "unsupported_high_of_natural_field", GUEST_RIP | 1 },
		{ "unsupported_high_of_32bit_field", VM_EXIT_CONTROLS | 1 },
	};
	const struct vmxt_outcome fail =
		VMXT_VALID(VMXERR_UNSUPPORTED_VMCS_COMPONENT);
	char name[80];

	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		uint64_t v = 0;

		snprintf(name, sizeof(name), "vmread_%s", bad[i].name);
		expect(name, vmxt_try_vmread(bad[i].enc, &v), fail);
		snprintf(name, sizeof(name), "vmwrite_%s", bad[i].name);
		expect(name, vmxt_try_vmwrite(bad[i].enc, 0), fail);
	}
}

/* The memory-operand forms move 64 bits (SDM 31.3: in 64-bit mode the
 * operand size is 64 bits). */
static void test_memory_forms(void)
{
	uint64_t src = 0x123456789abcdef0ull, dst = 0;

	expect("vmwrite_from_memory", vmxt_try_vmwrite_mem(GUEST_RSP, &src),
	       VMXT_OK);
	expect("vmread_to_memory", vmxt_try_vmread_mem(GUEST_RSP, &dst),
	       VMXT_OK);
	vmxt_check_u64("memory_forms_value", dst, src);
}

/* The fields are in the VMCS region, not in the processor: they survive
 * VMCLEAR and VMPTRLD (SDM 25.11.3). */
static void test_survives_vmclear(void)
{
	uint64_t vmcs = vmxt_pa(vmxt_vmcs_region), v = 0;

	vmxt_try_vmwrite(GUEST_RIP, 0xfeedf00d);
	vmxt_try_vmclear(vmcs);
	vmxt_try_vmptrld(vmcs);
	vmxt_try_vmread(GUEST_RIP, &v);
	vmxt_check_u64("fields_survive_vmclear", v, 0xfeedf00d);
}

int main(const struct nestvm_bootinfo *bi)
{
	uint64_t vmcs, v = 0;

	(void)bi;
	vmxt_begin("vmx_fields");
	vmxt_vmx_on();
	expect("vmread_no_current_vmcs", vmxt_try_vmread(GUEST_RIP, &v),
	       VMXT_INVALID);
	expect("vmwrite_no_current_vmcs", vmxt_try_vmwrite(GUEST_RIP, 0),
	       VMXT_INVALID);
	vmcs = vmxt_pa(vmxt_vmcs_region);
	if (vmxt_try_vmclear(vmcs).kind != VMXT_SUCCEED ||
	    vmxt_try_vmptrld(vmcs).kind != VMXT_SUCCEED)
		vmxt_die("VMCLEAR/VMPTRLD failed");

	/* Writing the read-only exit-information fields needs IA32_VMX_MISC
	 * bit 29 (SDM 31.3 "VMWRITE"). */
	if (!(vmxt_caps.misc & (1ull << 29)))
		vmxt_die("IA32_VMX_MISC[29] is 0: no VMWRITE to exit fields");
	for (size_t i = 0; i < ARRAY_SIZE(fields); i++)
		test_round_trip(&fields[i]);
	for (size_t i = 0; i < ARRAY_SIZE(fields); i++)
		if (VMCS_ENC_WIDTH_CODE(fields[i].enc) == VMCS_WIDTH_64)
			test_high(&fields[i]);
	test_unsupported();
	test_memory_forms();
	test_survives_vmclear();
	return vmxt_end();
}
