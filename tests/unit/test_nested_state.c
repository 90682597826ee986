/* SPDX-License-Identifier: MIT */
/*
 * test_nested_state.c - nested-state snapshots in the uapi layout (struct
 * kvm_nested_state): KVM's vmcs12 offsets against numbers from Linux 6.1
 * arch/x86/kvm/vmx/vmcs12.h, conversion and export/import round trips
 * byte for byte, and every import rejection leaving the VM unchanged.
 * Host side, tests only.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <asm/kvm.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "l0/nstate.h"
#include "l0/nvmx.h"
#include "tests/unit/nvmx_fixture.h"
#include "tests/unit/vmcs12_fixture.h"
#include "vmcs-merge/kvm_vmcs12.h"
#include "vmcs-merge/vmcs12.h"

/* ---- KVM's layout ---------------------------------------------------------- */

/* Offsets written down from Linux 6.1, arch/x86/kvm/vmx/vmcs12.h
 * (vmx_check_vmcs12_offsets()). */
static void test_kvm_vmcs12__offsets_match_linux_6_1(void **state)
{
	(void)state;
	assert_int_equal(kvm_vmcs12_field_offset(IO_BITMAP_A), 40);
	assert_int_equal(kvm_vmcs12_field_offset(TSC_OFFSET), 88);
	assert_int_equal(kvm_vmcs12_field_offset(EPT_POINTER), 120);
	assert_int_equal(kvm_vmcs12_field_offset(VMCS_LINK_POINTER), 176);
	assert_int_equal(kvm_vmcs12_field_offset(PML_ADDRESS), 312);
	assert_int_equal(kvm_vmcs12_field_offset(CR0_GUEST_HOST_MASK), 344);
	assert_int_equal(kvm_vmcs12_field_offset(GUEST_CR0), 424);
	assert_int_equal(kvm_vmcs12_field_offset(GUEST_RIP), 544);
	assert_int_equal(kvm_vmcs12_field_offset(HOST_RIP), 672);
	assert_int_equal(kvm_vmcs12_field_offset(PIN_BASED_VM_EXEC_CONTROL),
			 744);
	assert_int_equal(kvm_vmcs12_field_offset(VM_EXIT_REASON), 812);
	assert_int_equal(kvm_vmcs12_field_offset(GUEST_INTERRUPTIBILITY_INFO),
			 912);
	assert_int_equal(kvm_vmcs12_field_offset(VMX_PREEMPTION_TIMER_VALUE),
			 928);
	assert_int_equal(kvm_vmcs12_field_offset(VIRTUAL_PROCESSOR_ID), 960);
	assert_int_equal(kvm_vmcs12_field_offset(GUEST_PML_INDEX), 996);
	/* Fields KVM's vmcs12 has no place for. */
	assert_int_equal(kvm_vmcs12_field_offset(TERTIARY_VM_EXEC_CONTROL), -1);
	assert_int_equal(kvm_vmcs12_field_offset(TSC_MULTIPLIER), -1);
	assert_int_equal(kvm_vmcs12_field_offset(GUEST_RIP | 1), -1);
}

struct kvm_line {
	uint32_t enc;
	unsigned int off;
};

static const struct kvm_line kvm_lines[] = {
#define KVM_VMCS12_FIELD(name, off) { name, off },
#include "arch/kvm_vmcs12.def"
#undef KVM_VMCS12_FIELD
};

#define NR_KVM_LINES (sizeof(kvm_lines) / sizeof(kvm_lines[0]))

/* Any field by encoding, offered to L1 or not. */
static int put_field(struct vmcs12 *v, uint32_t enc, uint64_t val)
{
	unsigned int width;
	int off = vmcs12_field_offset(enc, &width);

	if (off < 0)
		return -ENOENT;
	memcpy((uint8_t *)v + off, &val, width);
	return 0;
}

/* KVM's order is ascending offset, with no two fields overlapping and
 * none in the header; 143 fields as in Linux 6.1. */
static void test_kvm_vmcs12__fields_ascend_without_overlap(void **state)
{
	unsigned int end = 40;

	(void)state;
	assert_int_equal(NR_KVM_LINES, 143);
	for (size_t i = 0; i < NR_KVM_LINES; i++) {
		assert_true(kvm_lines[i].off >= end);
		end = kvm_lines[i].off + vmcs_field_width(kvm_lines[i].enc);
	}
	assert_int_equal(end, KVM_VMCS12_USED_SIZE);
}

/* A cookie per KVM field survives our -> KVM's -> ours byte for byte. */
static void test_kvm_vmcs12__round_trip_keeps_every_kvm_field(void **state)
{
	struct vmcs12 a, b;
	uint8_t img[KVM_VMCS12_IMAGE_SIZE];
	uint32_t dropped = 0;

	(void)state;
	memset(&a, 0, sizeof(a));
	a.revision_id = VMCS12_REVISION;
	a.abort = 7;
	a.launch_state = VMCS12_LAUNCH_LAUNCHED;
	for (size_t i = 0; i < NR_KVM_LINES; i++)
		assert_int_equal(put_field(&a, kvm_lines[i].enc,
					   0x1122334455667788ull + i),
				 0);
	assert_int_equal(kvm_vmcs12_export(img, &a, &dropped), 0);
	assert_int_equal(kvm_vmcs12_revision(img), KVM_VMCS12_REVISION);
	assert_int_equal(kvm_vmcs12_launch_state(img), 1);
	/* GUEST_RIP at KVM's 544, the cookie of its line. */
	for (size_t i = 0; i < NR_KVM_LINES; i++) {
		uint64_t cookie = 0x1122334455667788ull + i;

		if (kvm_lines[i].enc == GUEST_RIP)
			assert_memory_equal(img + 544, &cookie, 8);
	}
	kvm_vmcs12_import(&b, img);
	assert_memory_equal(&a, &b, sizeof(a));
}

/* A field KVM lacks is counted and named, never silently dropped. */
static void test_kvm_vmcs12__export_counts_fields_kvm_lacks(void **state)
{
	struct vmcs12 a;
	uint8_t img[KVM_VMCS12_IMAGE_SIZE];
	uint32_t dropped = 0;

	(void)state;
	memset(&a, 0, sizeof(a));
	a.tsc_multiplier = 2;
	assert_int_equal(kvm_vmcs12_export(img, &a, &dropped), 1);
	assert_int_equal(dropped, TSC_MULTIPLIER);
}

/* ---- snapshots of a VM -------------------------------------------------------- */

#define NO_PA (~0ull)

struct snap {
	union {
		struct kvm_nested_state h;
		uint8_t b[NSTATE_MAX_SIZE];
	};
	size_t len;
};

/* A snapshot with a header and, when v is not NULL, v in KVM's layout. */
static void make_snap(struct snap *s, uint16_t flags, uint64_t vmxon,
		      uint64_t vmcs12, const struct vmcs12 *v)
{
	memset(s, 0, sizeof(*s));
	s->h.flags = flags;
	s->h.format = KVM_STATE_NESTED_FORMAT_VMX;
	s->h.hdr.vmx.vmxon_pa = vmxon;
	s->h.hdr.vmx.vmcs12_pa = vmcs12;
	s->len = NSTATE_HDR_SIZE;
	if (v) {
		kvm_vmcs12_export(s->b + NSTATE_HDR_SIZE, v, NULL);
		s->len += KVM_VMCS12_IMAGE_SIZE;
	}
	s->h.size = (uint32_t)s->len;
}

/* The fixture's valid vmcs12 for an L2 at L2_CODE, launched. */
static void valid_vmcs12(struct fixture *f, struct vmcs12 *v)
{
	vmcs12_fixture_init(v, &f->vm.nvmx->caps, 0, L2_CODE, L2_STACK,
			    L1_HOST_RIP, L1_EXIT_STACK);
	v->launch_state = VMCS12_LAUNCH_LAUNCHED;
}

static void export(struct fixture *f, uint8_t **buf, size_t *len)
{
	unsigned int dropped = ~0u;

	assert_int_equal(nstate_export(&f->vm, buf, len, &dropped), 0);
	assert_int_equal(dropped, 0);
}

/* The snapshot s, imported into the fixture's fresh VM and exported
 * again, comes back byte for byte. */
static void assert_round_trip(struct fixture *f, const struct snap *s)
{
	char err[256] = "";
	uint8_t *buf;
	size_t len;

	assert_int_equal(nstate_import(&f->vm, s->b, s->len, err, sizeof(err)),
			 0);
	assert_string_equal(err, "");
	export(f, &buf, &len);
	assert_int_equal(len, s->len);
	assert_memory_equal(buf, s->b, len);
	free(buf);
}

static void test_nested_state__fresh_vm_exports_header_only(void **state)
{
	struct fixture *f = *state;
	struct snap s;
	uint8_t *buf;
	size_t len;

	export(f, &buf, &len);
	make_snap(&s, 0, NO_PA, NO_PA, NULL);
	assert_int_equal(len, NSTATE_HDR_SIZE);
	assert_memory_equal(buf, s.b, len);
	free(buf);
}

/* What L1's own VMXON and VMPTRLD left: both addresses, vmcs12 clear. */
static void test_nested_state__after_l1_vmptrld_names_its_regions(void **state)
{
	struct fixture *f = *state;
	struct kvm_nested_state h;
	struct prog p = { 0 };
	uint8_t *buf;
	size_t len;

	put_region(f, VMCS_A, VMCS12_REVISION, 0);
	prologue_vmptrld(f, &p, VMCS_A);
	op(&p, HLT, 1);
	run_l1(f, &p);
	expect_halt_at(f, L1_CODE + p.n - 1);
	export(f, &buf, &len);
	assert_int_equal(len, NSTATE_HDR_SIZE + KVM_VMCS12_IMAGE_SIZE);
	memcpy(&h, buf, sizeof(h));
	assert_int_equal(h.flags, 0);
	assert_int_equal(h.hdr.vmx.vmxon_pa, VMXON);
	assert_int_equal(h.hdr.vmx.vmcs12_pa, VMCS_A);
	assert_int_equal(kvm_vmcs12_revision(buf + NSTATE_HDR_SIZE),
			 KVM_VMCS12_REVISION);
	assert_int_equal(kvm_vmcs12_launch_state(buf + NSTATE_HDR_SIZE), 0);
	free(buf);
}

static void test_nested_state__vmxon_only_round_trips(void **state)
{
	struct fixture *f = *state;
	struct snap s;

	make_snap(&s, 0, VMXON, NO_PA, NULL);
	assert_round_trip(f, &s);
	assert_true(f->vm.nvmx->vmxon);
	assert_int_equal(f->vm.nvmx->vmptr, NVMX_NO_VMPTR);
	/* In VMX operation L1's CR4.VMXE reads as set. */
	assert_true(rd01(f, CR4_READ_SHADOW) & X86_CR4_VMXE);
}

static void test_nested_state__current_vmcs12_round_trips(void **state)
{
	struct fixture *f = *state;
	struct vmcs12 v;
	struct snap s;

	valid_vmcs12(f, &v);
	make_snap(&s, 0, VMXON, VMCS_A, &v);
	assert_round_trip(f, &s);
	assert_int_equal(f->vm.nvmx->vmptr, VMCS_A);
	assert_false(f->vm.nvmx->guest_mode);
	assert_int_equal(f->vm.nvmx->vmcs12->guest_rip, L2_CODE);
	assert_int_equal(f->vm.nvmx->vmcs12->revision_id, VMCS12_REVISION);
}

/* Guest mode: vmcs02 is prepared from vmcs12 and current, so the run
 * loop enters L2 next; exported again, the snapshot is the same. */
static void test_nested_state__guest_mode_round_trips_into_vmcs02(void **state)
{
	struct fixture *f = *state;
	struct vmcs12 v;
	struct snap s;
	uint64_t rip = 0;

	valid_vmcs12(f, &v);
	make_snap(&s,
		  KVM_STATE_NESTED_GUEST_MODE | KVM_STATE_NESTED_RUN_PENDING,
		  VMXON, VMCS_A, &v);
	assert_round_trip(f, &s);
	assert_true(f->vm.nvmx->guest_mode);
	assert_true(f->vm.nvmx->run_pending);
	assert_int_equal(vtx_vmread(f->cpu, GUEST_RIP, &rip), 0);
	assert_int_equal(rip, L2_CODE);
}

/* ---- every rejection ------------------------------------------------------------ */

struct reject_case {
	const char *name;
	void (*make)(struct fixture *f, struct snap *s);
	int ret;
	const char *msg; /* the start of the error line */
};

#define MAKE(name, body)                                           \
	static void make_##name(struct fixture *f, struct snap *s) \
	{                                                          \
		struct vmcs12 v;                                   \
		valid_vmcs12(f, &v);                               \
		make_snap(s, 0, VMXON, VMCS_A, &v);                \
		body;                                              \
	}

MAKE(truncated, s->len = 100)
MAKE(size_mismatch, s->h.size = NSTATE_HDR_SIZE)
MAKE(size_odd, (s->len = 200, s->h.size = 200))
MAKE(format_svm, s->h.format = KVM_STATE_NESTED_FORMAT_SVM)
MAKE(unknown_flag, s->h.flags = 0x10)
MAKE(run_pending_alone, s->h.flags = KVM_STATE_NESTED_RUN_PENDING)
MAKE(no_vmxon_with_vmcs12, s->h.hdr.vmx.vmxon_pa = NO_PA)
MAKE(vmxon_unaligned, s->h.hdr.vmx.vmxon_pa = VMXON + 8)
MAKE(smm_unknown, s->h.hdr.vmx.smm.flags = 4)
MAKE(vmx_flags_unknown, s->h.hdr.vmx.flags = 2)
MAKE(guest_mode_without_vmcs12,
     (make_snap(s, KVM_STATE_NESTED_GUEST_MODE, VMXON, NO_PA, NULL)))
MAKE(vmcs12_pa_without_vmcs12, (make_snap(s, 0, VMXON, VMCS_A, NULL)))
MAKE(vmcs12_without_pa, s->h.hdr.vmx.vmcs12_pa = NO_PA)
MAKE(vmcs12_is_vmxon, s->h.hdr.vmx.vmcs12_pa = VMXON)
MAKE(vmcs12_revision, s->b[NSTATE_HDR_SIZE] ^= 1)
MAKE(evmcs, s->h.flags = KVM_STATE_NESTED_EVMCS)
MAKE(mtf_pending,
     s->h.flags = KVM_STATE_NESTED_GUEST_MODE | KVM_STATE_NESTED_MTF_PENDING)
MAKE(smm_vmxon, s->h.hdr.vmx.smm.flags = KVM_STATE_NESTED_SMM_VMXON)
MAKE(preemption_deadline,
     s->h.hdr.vmx.flags = KVM_STATE_VMX_PREEMPTION_TIMER_DEADLINE)
MAKE(vmxon_beyond_width, s->h.hdr.vmx.vmxon_pa = 1ull << 52)
MAKE(vmcs12_outside_ram, s->h.hdr.vmx.vmcs12_pa = L1_RAM)
MAKE(vmcs12_shadow_indicator, s->b[NSTATE_HDR_SIZE + 3] |= 0x80)
MAKE(guest_mode_bad_vmcs12,
     (v.guest_rflags = 0,
      make_snap(s, KVM_STATE_NESTED_GUEST_MODE, VMXON, VMCS_A, &v)))
MAKE(guest_mode_bad_link,
     (v.vmcs_link_pointer = VMCS_B,
      make_snap(s, KVM_STATE_NESTED_GUEST_MODE, VMXON, VMCS_A, &v)))

static void make_not_fresh(struct fixture *f, struct snap *s)
{
	struct snap first;
	char err[256];

	make_snap(&first, 0, VMXON, NO_PA, NULL);
	assert_int_equal(
		nstate_import(&f->vm, first.b, first.len, err, sizeof(err)), 0);
	make_snap(s, 0, VMXON, NO_PA, NULL);
}

#define REJECT(n, r, m)                                                       \
	{                                                                     \
		"test_nested_state__import_" #n "_is_refused", make_##n, r, m \
	}

static const struct reject_case reject_cases[] = {
	REJECT(truncated, -EINVAL, "truncated: 100 bytes"),
	REJECT(size_mismatch, -EINVAL, "size field says 128 bytes, found 4224"),
	REJECT(size_odd, -EINVAL, "size 200 is not 128, 4224 or 8320"),
	REJECT(format_svm, -EINVAL, "format 1 is not VMX"),
	REJECT(unknown_flag, -EINVAL, "unknown flags 0x10"),
	REJECT(run_pending_alone, -EINVAL, "RUN_PENDING without GUEST_MODE"),
	REJECT(no_vmxon_with_vmcs12, -EINVAL,
	       "state beyond the header without a VMXON region"),
	REJECT(vmxon_unaligned, -EINVAL, "vmxon_pa 0x200008 is not page"),
	REJECT(smm_unknown, -EINVAL, "unknown smm.flags 0x4"),
	REJECT(vmx_flags_unknown, -EINVAL, "unknown vmx.flags 0x2"),
	REJECT(guest_mode_without_vmcs12, -EINVAL,
	       "guest mode or a vmcs12_pa without a vmcs12"),
	REJECT(vmcs12_pa_without_vmcs12, -EINVAL,
	       "guest mode or a vmcs12_pa without a vmcs12"),
	REJECT(vmcs12_without_pa, -EINVAL, "a vmcs12 without vmcs12_pa"),
	REJECT(vmcs12_is_vmxon, -EINVAL, "vmcs12_pa 0x200000 is the VMXON"),
	REJECT(vmcs12_revision, -EINVAL, "vmcs12 revision 0x11e57ed1"),
	REJECT(evmcs, -EINVAL, "EVMCS: no enlightened VMCS"),
	REJECT(mtf_pending, -EINVAL, "MTF_PENDING: the monitor trap flag"),
	REJECT(smm_vmxon, -EINVAL, "smm.flags 0x2 outside SMM"),
	REJECT(preemption_deadline, -EINVAL, "a preemption-timer deadline"),
	REJECT(vmxon_beyond_width, -EINVAL,
	       "vmxon_pa 0x10000000000000 is "
	       "beyond"),
	REJECT(vmcs12_outside_ram, -EINVAL, "vmcs12_pa 0x800000 is not in"),
	REJECT(vmcs12_shadow_indicator, -EINVAL,
	       "vmcs12 has the shadow-VMCS indicator set"),
	REJECT(guest_mode_bad_vmcs12, -EINVAL,
	       "guest mode with a vmcs12 that fails the nested entry check "
	       "'(rflags & ~X86_EFLAGS_LIVE_MASK) != X86_EFLAGS_FIXED'"),
	REJECT(guest_mode_bad_link, -EINVAL,
	       "guest mode with a VMCS link pointer 0x202000 that names no"),
	REJECT(not_fresh, -EBUSY, "the VM is not fresh"),
};

/* The case of the rejection test under way (cmocka passes it to setup). */
static const struct reject_case *cur_case;

static int setup_case(void **state)
{
	cur_case = *state;
	return setup(state);
}

/* A refused snapshot: the error and its line, and nothing applied. */
static void run_reject_case(void **state)
{
	struct fixture *f = *state;
	const struct reject_case *c = cur_case;
	struct nvmx *n = f->vm.nvmx;
	bool was_on;
	struct snap s;
	char err[256] = "";

	c->make(f, &s);
	was_on = n->vmxon;
	assert_int_equal(nstate_import(&f->vm, s.b, s.len, err, sizeof(err)),
			 c->ret);
	if (strncmp(err, c->msg, strlen(c->msg)))
		fail_msg("error '%s', expected '%s...'", err, c->msg);
	assert_int_equal(n->vmxon, was_on);
	assert_int_equal(n->vmptr, NVMX_NO_VMPTR);
	assert_false(n->guest_mode);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_kvm_vmcs12__offsets_match_linux_6_1),
		cmocka_unit_test(
			test_kvm_vmcs12__fields_ascend_without_overlap),
		cmocka_unit_test(
			test_kvm_vmcs12__round_trip_keeps_every_kvm_field),
		cmocka_unit_test(
			test_kvm_vmcs12__export_counts_fields_kvm_lacks),
		T(test_nested_state__fresh_vm_exports_header_only),
		T(test_nested_state__after_l1_vmptrld_names_its_regions),
		T(test_nested_state__vmxon_only_round_trips),
		T(test_nested_state__current_vmcs12_round_trips),
		T(test_nested_state__guest_mode_round_trips_into_vmcs02),
	};
#undef T
	enum { NR = sizeof(reject_cases) / sizeof(reject_cases[0]) };
	struct CMUnitTest rejects[NR];
	int failed;

	for (size_t i = 0; i < NR; i++)
		rejects[i] = (struct CMUnitTest){
			.name = reject_cases[i].name,
			.test_func = run_reject_case,
			.setup_func = setup_case,
			.teardown_func = teardown,
			.initial_state = (void *)&reject_cases[i],
		};
	failed = cmocka_run_group_tests_name("nested_state", tests, NULL, NULL);
	failed += _cmocka_run_group_tests("nested_state_import_rejections",
					  rejects, NR, NULL, NULL);
	return failed;
}
