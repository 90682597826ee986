/* SPDX-License-Identifier: MIT */
/*
 * test_evmcs.c - the enlightened VMCS: arch/evmcs.h's layout against the
 * offsets of HV_VMX_ENLIGHTENED_VMCS in the Hyper-V TLFS 6.0b (its
 * definition with natural alignment), the encoding table, and L0's side
 * of --vmcs-access pv (l0/evmcs.c) on a fresh VM: the VP assist page MSR,
 * the copy at an enlightened entry by clean-field group, the failures,
 * and the copy back at an exit. Host side, tests only.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <string.h>

#include <asm/vmx.h>

#include "arch/evmcs.h"
#include "l0/evmcs.h"
#include "l0/nvmx.h"
#include "mmu/l1mem.h"
#include "tests/unit/nvmx_fixture.h"

#define ASSIST 0x210000ull
#define EVMCS 0x211000ull

#define OFF(m) offsetof(struct hv_enlightened_vmcs, m)

/* TLFS 6.0b, HV_VMX_ENLIGHTENED_VMCS: byte offsets of a sample of members
 * across the whole structure, and its size. */
static void test_evmcs_layout__members_at_tlfs_offsets(void **state)
{
	(void)state;
	assert_int_equal(OFF(revision_id), 0);
	assert_int_equal(OFF(host_es_selector), 8);
	assert_int_equal(OFF(host_ia32_pat), 24);
	assert_int_equal(OFF(host_ia32_sysenter_cs), 88);
	assert_int_equal(OFF(pin_based_vm_exec_control), 92);
	assert_int_equal(OFF(io_bitmap_a), 104);
	assert_int_equal(OFF(guest_es_selector), 128);
	assert_int_equal(OFF(guest_es_limit), 144);
	assert_int_equal(OFF(guest_es_ar_bytes), 184);
	assert_int_equal(OFF(guest_es_base), 216);
	assert_int_equal(OFF(vm_exit_msr_store_addr), 320);
	assert_int_equal(OFF(tsc_offset), 400);
	assert_int_equal(OFF(guest_activity_state), 504);
	assert_int_equal(OFF(cr0_guest_host_mask), 512);
	assert_int_equal(OFF(guest_dr7), 568);
	assert_int_equal(OFF(host_rsp), 616);
	assert_int_equal(OFF(ept_pointer), 624);
	assert_int_equal(OFF(virtual_processor_id), 632);
	assert_int_equal(OFF(guest_physical_address), 680);
	assert_int_equal(OFF(vm_instruction_error), 688);
	assert_int_equal(OFF(vm_exit_reason), 692);
	assert_int_equal(OFF(exit_qualification), 720);
	assert_int_equal(OFF(guest_linear_address), 760);
	assert_int_equal(OFF(guest_rsp), 768);
	assert_int_equal(OFF(guest_interruptibility_info), 784);
	assert_int_equal(OFF(vm_entry_intr_info_field), 800);
	assert_int_equal(OFF(guest_rip), 816);
	assert_int_equal(OFF(hv_clean_fields), 824);
	assert_int_equal(OFF(hv_enlightenments_control), 836);
	assert_int_equal(OFF(hv_vm_id), 848);
	assert_int_equal(OFF(partition_assist_page), 856);
	assert_int_equal(OFF(guest_bndcfgs), 896);
	assert_int_equal(OFF(xss_exit_bitmap), 960);
	assert_int_equal(sizeof(struct hv_enlightened_vmcs), 1024);
}

/* The table: a few encodings with their offset, width and clean group
 * (KVM's evmcs.c agrees), and one field an eVMCS does not have. */
static void test_evmcs_table__lookup_gives_offset_width_group(void **state)
{
	struct evmcs_field_loc l;

	(void)state;
	assert_true(evmcs_field_lookup(GUEST_RIP, &l));
	assert_int_equal(l.offset, 816);
	assert_int_equal(l.width, 8);
	assert_int_equal(l.clean, HV_VMX_ENLIGHTENED_CLEAN_FIELD_NONE);
	assert_true(evmcs_field_lookup(GUEST_INTERRUPTIBILITY_INFO, &l));
	assert_int_equal(l.offset, 784);
	assert_int_equal(l.width, 4);
	assert_int_equal(l.clean, HV_VMX_ENLIGHTENED_CLEAN_FIELD_GUEST_BASIC);
	assert_true(evmcs_field_lookup(GUEST_CS_SELECTOR, &l));
	assert_int_equal(l.offset, 130);
	assert_int_equal(l.width, 2);
	assert_int_equal(l.clean, HV_VMX_ENLIGHTENED_CLEAN_FIELD_GUEST_GRP2);
	assert_true(evmcs_field_lookup(EPT_POINTER, &l));
	assert_int_equal(l.clean, HV_VMX_ENLIGHTENED_CLEAN_FIELD_CONTROL_XLAT);
	assert_true(evmcs_field_lookup(CR3_TARGET_COUNT, &l));
	assert_int_equal(l.clean, HV_VMX_ENLIGHTENED_CLEAN_FIELD_ALL);
	assert_false(evmcs_field_lookup(POSTED_INTR_NV, &l));
	assert_false(evmcs_field_lookup(GUEST_RIP | 1, &l));
}

/* ---- L0's side ------------------------------------------------------------- */

static void put32(struct fixture *f, gpa_t at, uint32_t v)
{
	put(f, at, &v, sizeof(v));
}

static uint32_t get32(struct fixture *f, gpa_t at)
{
	uint32_t v = 0;

	assert_int_equal(l1mem_read(&f->vm.mem, at, &v, sizeof(v)), 0);
	return v;
}

/* pv on, the VP assist page at ASSIST asking for the eVMCS at EVMCS. */
static void pv_on(struct fixture *f)
{
	char err[128];
	struct hv_enlightened_vmcs ev;

	assert_int_equal(
		l0_vm_set_vmcs_access(&f->vm, VMCS_ACCESS_PV, err, sizeof(err)),
		0);
	assert_int_equal(
		evmcs_set_msr(&f->vm, HV_X64_MSR_VP_ASSIST_PAGE,
			      ASSIST | HV_X64_MSR_VP_ASSIST_PAGE_ENABLE),
		0);
	put32(f, ASSIST + offsetof(struct hv_vp_assist_page, enlighten_vmentry),
	      1);
	put64(f,
	      ASSIST + offsetof(struct hv_vp_assist_page, current_nested_vmcs),
	      EVMCS);
	memset(&ev, 0, sizeof(ev));
	ev.revision_id = EVMCS_VERSION;
	ev.guest_rip = 0x1234;
	ev.guest_cr3 = 0x5000;
	ev.pin_based_vm_exec_control = 0x16;
	put(f, EVMCS, &ev, sizeof(ev));
}

static void test_evmcs_msr__reserved_bits_gp_and_read_back(void **state)
{
	struct fixture *f = *state;
	uint64_t v = 0;

	pv_on(f);
	assert_int_equal(evmcs_get_msr(&f->vm, HV_X64_MSR_VP_ASSIST_PAGE, &v),
			 0);
	assert_int_equal(v, ASSIST | 1);
	assert_int_equal(
		evmcs_set_msr(&f->vm, HV_X64_MSR_VP_ASSIST_PAGE, ASSIST | 2),
		-EINVAL);
	assert_int_equal(
		evmcs_set_msr(&f->vm, HV_X64_MSR_VP_ASSIST_PAGE, 1ull << 62),
		-EINVAL);
	assert_int_equal(evmcs_get_msr(&f->vm, 0x40000070u, &v), -ENOENT);
}

/* Without pv nothing is offered: the MSR and the leaves are not there. */
static void test_evmcs_offer__trap_offers_nothing(void **state)
{
	struct fixture *f = *state;
	uint32_t r[4];
	uint64_t v;

	assert_false(evmcs_cpuid(&f->vm, HYPERV_CPUID_ENLIGHTMENT_INFO, r));
	assert_int_equal(evmcs_get_msr(&f->vm, HV_X64_MSR_VP_ASSIST_PAGE, &v),
			 -ENOENT);
	assert_int_equal(evmcs_prepare_entry(&f->vm, true), EVMCS_ENTRY_NONE);
}

static void test_evmcs_offer__cpuid_vendor_and_recommendation(void **state)
{
	struct fixture *f = *state;
	uint32_t r[4];

	pv_on(f);
	assert_true(
		evmcs_cpuid(&f->vm, HYPERV_CPUID_VENDOR_AND_MAX_FUNCTIONS, r));
	assert_int_equal(r[0], 0x4000000a);
	assert_memory_equal(&r[1], "Microsoft Hv", 12);
	assert_true(evmcs_cpuid(&f->vm, HYPERV_CPUID_ENLIGHTMENT_INFO, r));
	assert_int_equal(r[0], 1u << 14);
	assert_true(evmcs_cpuid(&f->vm, HYPERV_CPUID_NESTED_FEATURES, r));
	assert_int_equal(r[0], 0x0101);
	assert_false(evmcs_cpuid(&f->vm, 0x4000000b, r));
}

/*
 * The first entry reads every field L1 can write (all groups: a new
 * eVMCS) and sets every clean bit; the next reads only the revision, the
 * clean bits and GUEST_RIP (no group): 4 + 4 + 8 bytes. A field changed
 * in a group left clean is not seen; once its bit is cleared it is, and
 * its vmcs02 part (GUEST_CR3: HOT) is dirty.
 */
static void test_evmcs_entry__clean_groups_not_read_dirty_remerged(void **state)
{
	struct fixture *f = *state;
	struct nvmx *n;
	uint64_t before;

	pv_on(f);
	n = f->vm.nvmx;
	assert_int_equal(evmcs_prepare_entry(&f->vm, true), EVMCS_ENTRY_READY);
	assert_true(n->evmcs.current);
	assert_int_equal(n->vmptr, EVMCS);
	assert_int_equal(n->vmcs12->guest_rip, 0x1234);
	assert_int_equal(n->vmcs12->guest_cr3, 0x5000);
	assert_int_equal(n->vmcs12->pin_based_vm_exec_control, 0x16);
	assert_int_equal(get32(f, EVMCS + OFF(hv_clean_fields)), 0xffff);
	assert_int_equal(f->vm.stats.evmcs_entries, 1);

	put64(f, EVMCS + OFF(guest_rip), 0x1240);
	put64(f, EVMCS + OFF(guest_cr3), 0x6000);
	n->vmcs02_dirty = 0;
	before = f->vm.stats.evmcs_read_bytes;
	assert_int_equal(evmcs_prepare_entry(&f->vm, false), EVMCS_ENTRY_READY);
	assert_int_equal(f->vm.stats.evmcs_read_bytes - before, 16);
	assert_int_equal(n->vmcs12->guest_rip, 0x1240);
	assert_int_equal(n->vmcs12->guest_cr3, 0x5000);

	put32(f, EVMCS + OFF(hv_clean_fields),
	      0xffff & ~HV_VMX_ENLIGHTENED_CLEAN_FIELD_CRDR);
	n->vmcs02_dirty = 0;
	before = f->vm.stats.evmcs_read_bytes;
	assert_int_equal(evmcs_prepare_entry(&f->vm, false), EVMCS_ENTRY_READY);
	/* The CRDR group (3 CRs, 2 masks, 2 read shadows, DR7: 64 bytes),
	 * and the fields the TLFS puts in no group, read whenever any bit
	 * is clear (3 MSR-area addresses, 4 CR3 targets, #PF mask and
	 * match, CR3-target and 3 MSR counts: 80 bytes). */
	assert_int_equal(f->vm.stats.evmcs_read_bytes - before, 16 + 64 + 80);
	assert_int_equal(n->vmcs12->guest_cr3, 0x6000);
	assert_int_equal(n->vmcs02_dirty, VMCS02_DIRTY_CLASS(VMCS_SYNC_HOT));
	assert_int_equal(get32(f, EVMCS + OFF(hv_clean_fields)), 0xffff);
}

/* A VMLAUNCH reads everything again, whatever the clean bits say. */
static void test_evmcs_entry__vmlaunch_ignores_clean_bits(void **state)
{
	struct fixture *f = *state;

	pv_on(f);
	assert_int_equal(evmcs_prepare_entry(&f->vm, true), EVMCS_ENTRY_READY);
	put64(f, EVMCS + OFF(guest_cr3), 0x7000);
	assert_int_equal(evmcs_prepare_entry(&f->vm, true), EVMCS_ENTRY_READY);
	assert_int_equal(f->vm.nvmx->vmcs12->guest_cr3, 0x7000);
}

/* A bad eVMCS pointer or version: VMfailInvalid, as KVM gives for an
 * enlightened VMPTRLD that fails; enlighten_vmentry 0: no enlightened
 * entry at all. */
static void test_evmcs_entry__bad_version_or_pointer_fail_invalid(void **state)
{
	struct fixture *f = *state;

	pv_on(f);
	put32(f, EVMCS, 2);
	assert_int_equal(evmcs_prepare_entry(&f->vm, true),
			 EVMCS_ENTRY_FAIL_INVALID);
	put32(f, EVMCS, EVMCS_VERSION);
	put64(f,
	      ASSIST + offsetof(struct hv_vp_assist_page, current_nested_vmcs),
	      EVMCS + 8);
	assert_int_equal(evmcs_prepare_entry(&f->vm, true),
			 EVMCS_ENTRY_FAIL_INVALID);
	put64(f,
	      ASSIST + offsetof(struct hv_vp_assist_page, current_nested_vmcs),
	      L1_RAM + 0x1000);
	assert_int_equal(evmcs_prepare_entry(&f->vm, true),
			 EVMCS_ENTRY_FAIL_INVALID);
	assert_false(f->vm.nvmx->evmcs.current);
	put32(f, ASSIST + offsetof(struct hv_vp_assist_page, enlighten_vmentry),
	      0);
	assert_int_equal(evmcs_prepare_entry(&f->vm, true), EVMCS_ENTRY_NONE);
}

/* At an exit L0 writes the exit information and guest state into the
 * eVMCS, and a VMfail's error. */
static void test_evmcs_exit__exit_info_and_error_written_back(void **state)
{
	struct fixture *f = *state;
	struct nvmx *n;

	pv_on(f);
	n = f->vm.nvmx;
	assert_int_equal(evmcs_prepare_entry(&f->vm, true), EVMCS_ENTRY_READY);
	n->vmcs12->vm_exit_reason = EXIT_REASON_CPUID;
	n->vmcs12->exit_qualification = 0x99;
	n->vmcs12->guest_rsp = 0x8000;
	evmcs_store_exit(&f->vm);
	assert_int_equal(get32(f, EVMCS + OFF(vm_exit_reason)),
			 EXIT_REASON_CPUID);
	assert_int_equal(get64(f, EVMCS + OFF(exit_qualification)), 0x99);
	assert_int_equal(get64(f, EVMCS + OFF(guest_rsp)), 0x8000);
	n->vmcs12->vm_instruction_error = 7;
	evmcs_store_field(&f->vm, VM_INSTRUCTION_ERROR);
	assert_int_equal(get32(f, EVMCS + OFF(vm_instruction_error)), 7);
	/* The eVMCS is L1's: releasing it never writes L0's format there. */
	nvmx_release_current(&f->vm);
	assert_int_equal(get32(f, EVMCS), EVMCS_VERSION);
	assert_int_equal(get64(f, EVMCS + OFF(guest_rip)), 0x1234);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_evmcs_layout__members_at_tlfs_offsets),
		cmocka_unit_test(
			test_evmcs_table__lookup_gives_offset_width_group),
		cmocka_unit_test_setup_teardown(
			test_evmcs_msr__reserved_bits_gp_and_read_back, setup,
			teardown),
		cmocka_unit_test_setup_teardown(
			test_evmcs_offer__trap_offers_nothing, setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_evmcs_offer__cpuid_vendor_and_recommendation,
			setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_evmcs_entry__clean_groups_not_read_dirty_remerged,
			setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_evmcs_entry__vmlaunch_ignores_clean_bits, setup,
			teardown),
		cmocka_unit_test_setup_teardown(
			test_evmcs_entry__bad_version_or_pointer_fail_invalid,
			setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_evmcs_exit__exit_info_and_error_written_back,
			setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
