/* SPDX-License-Identifier: MIT */
/*
 * test_nvmx_shadow.c - L0 running L1 with the processor's VMCS shadowing
 * (--vmcs-access shadow|shadow-all, SDM Vol. 3C 25.10): the field sets per
 * strategy, the VMREAD/VMWRITE bitmaps, and the shadow VMCS kept in step
 * with vmcs12, under L1 programs in raw instruction bytes
 * (tests/unit/nvmx_fixture.h). Host side, tests only.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include <asm/vmx.h>

#include "arch/boot_layout.h"
#include "arch/ept.h"
#include "arch/vmx_exit_qual.h"
#include "arch/vmx_insn_errors.h"
#include "arch/x86_msr.h"
#include "l0/boot.h"
#include "l0/dev/debug_exit.h"
#include "l0/iobus.h"
#include "l0/nvmx.h"
#include "l0/vm.h"
#include "tests/unit/nvmx_fixture.h"
#include "tests/unit/vmcs12_fixture.h"
#include "vmcs-merge/caps.h"
#include "vmcs-merge/shadow.h"
#include "vmcs-merge/vmcs12.h"
#include "vtx/vtx.h"

/* ---- VMCS shadowing for L1 (--vmcs-access, SDM 25.10) ---------------------------- */

static void use_vmcs_access(struct fixture *f, enum vmcs_access_mode mode)
{
	char err[256] = "";

	if (l0_vm_set_vmcs_access(&f->vm, mode, err, sizeof(err)))
		fail_msg("l0_vm_set_vmcs_access: %s", err);
}

/* A field of the shadow VMCS, read by L0 (vmcs01 is current again after). */
static uint64_t rd_shadow(struct fixture *f, uint32_t field)
{
	uint64_t v = ~0ull;

	assert_int_equal(vtx_vmptrld(f->cpu, f->vm.shadow_vmcs), 0);
	assert_int_equal(vtx_vmread(f->cpu, field, &v), 0);
	assert_int_equal(vtx_vmptrld(f->cpu, f->vm.vmcs01), 0);
	return v;
}

static bool bitmap_bit(const uint8_t *bitmap, uint32_t n)
{
	return (bitmap[n / 8] >> (n & 7)) & 1;
}

/*
 * The field sets: trap none; shadow the table's SH_RW fields L0 offers
 * (17 less GUEST_INTR_STATUS and TPR_THRESHOLD: 15) read/write and its 9
 * SH_RO fields read-only; shadow-all every field L0 offers, counted here
 * from the table independently, the VM-exit information fields writable
 * only with IA32_VMX_MISC[29].
 */
static void test_vmcs_shadow__field_sets_per_strategy_exact(void **state)
{
	struct vmcs_shadow_set s;
	unsigned int offered = 0, exit_info = 0;

	(void)state;
	for (unsigned int k = 0; k < VMCS_NR_FIELDS; k++) {
		uint32_t enc = vmcs_field_table[k].encoding;

		if (!nested_vmcs_field_supported(enc))
			continue;
		offered++;
		exit_info += vmcs_field_type(enc) == VMCS_FIELD_TYPE_EXIT_INFO;
	}
	assert_int_equal(offered, 121);
	assert_int_equal(exit_info, 11);

	vmcs_shadow_set_init(&s, VMCS_ACCESS_TRAP, true);
	assert_int_equal(s.nr_read, 0);
	assert_int_equal(s.nr_write, 0);
	vmcs_shadow_set_init(&s, VMCS_ACCESS_SHADOW, true);
	assert_int_equal(s.nr_read, 24);
	assert_int_equal(s.nr_write, 15);
	assert_int_equal(vmcs_shadow_field_access(&s, GUEST_RIP),
			 VMCS_SHADOW_READ | VMCS_SHADOW_WRITE);
	assert_int_equal(vmcs_shadow_field_access(&s, VM_EXIT_REASON),
			 VMCS_SHADOW_READ);
	assert_int_equal(vmcs_shadow_field_access(&s, TPR_THRESHOLD), 0);
	assert_int_equal(vmcs_shadow_field_access(&s, IO_BITMAP_A), 0);
	vmcs_shadow_set_init(&s, VMCS_ACCESS_SHADOW_ALL, true);
	assert_int_equal(s.nr_read, offered);
	assert_int_equal(s.nr_write, offered);
	assert_int_equal(vmcs_shadow_field_access(&s, IO_BITMAP_A_HIGH),
			 VMCS_SHADOW_READ | VMCS_SHADOW_WRITE);
	assert_int_equal(vmcs_shadow_field_access(&s, VMREAD_BITMAP),
			 VMCS_SHADOW_READ | VMCS_SHADOW_WRITE);
	assert_int_equal(vmcs_shadow_field_access(&s, TSC_MULTIPLIER), 0);
	assert_int_equal(vmcs_shadow_field_access(&s, 1ull << 32 | GUEST_RIP),
			 0);
	vmcs_shadow_set_init(&s, VMCS_ACCESS_SHADOW_ALL, false);
	assert_int_equal(s.nr_read, offered);
	assert_int_equal(s.nr_write, offered - exit_info);
	assert_int_equal(vmcs_shadow_field_access(&s, VM_INSTRUCTION_ERROR),
			 VMCS_SHADOW_READ);
}

/* The bitmaps clear exactly the shadowed accesses, high halves with their
 * fields; everything else, unknown encodings included, exits. */
static void test_vmcs_shadow__bitmaps_clear_only_shadowed_bits(void **state)
{
	static uint8_t rd[4096], wr[4096];
	struct vmcs_shadow_set s;
	unsigned int clear_rd = 0, clear_wr = 0;

	(void)state;
	vmcs_shadow_set_init(&s, VMCS_ACCESS_SHADOW, true);
	vmcs_shadow_fill_bitmaps(&s, rd, wr);
	assert_false(bitmap_bit(rd, GUEST_RIP));
	assert_false(bitmap_bit(wr, GUEST_RIP));
	assert_false(bitmap_bit(rd, VM_EXIT_REASON));
	assert_true(bitmap_bit(wr, VM_EXIT_REASON));
	assert_false(bitmap_bit(rd, GUEST_PHYSICAL_ADDRESS));
	assert_false(bitmap_bit(rd, GUEST_PHYSICAL_ADDRESS_HIGH));
	assert_true(bitmap_bit(wr, GUEST_PHYSICAL_ADDRESS_HIGH));
	assert_true(bitmap_bit(rd, IO_BITMAP_A));
	assert_true(bitmap_bit(rd, TPR_THRESHOLD));
	assert_true(bitmap_bit(rd, 0x7fff));
	for (uint32_t n = 0; n < 4096 * 8; n++) {
		clear_rd += !bitmap_bit(rd, n);
		clear_wr += !bitmap_bit(wr, n);
	}
	/* 24 fields, one of them 64-bit (GUEST_PHYSICAL_ADDRESS). */
	assert_int_equal(clear_rd, 25);
	assert_int_equal(clear_wr, 15);
}

/* shadow: L1's VMWRITE and VMREAD of GUEST_RIP complete without an exit,
 * and VMCLEAR brings the value into the vmcs12 region in L1's memory
 * (15 VMREADs back from the shadow VMCS after the 24 VMWRITEs VMPTRLD
 * made); with no current vmcs12 shadowing is off again. */
static void test_vmwrite__shadow_rw_field_no_exit_reaches_region(void **state)
{
	struct fixture *f = *state;
	struct prog p = { 0 };

	use_vmcs_access(f, VMCS_ACCESS_SHADOW);
	put_region(f, VMCS_A, VMCS12_REVISION, 0);
	prologue_vmptrld(f, &p, VMCS_A);
	op_mov_imm64(&p, OP_RAX, GUEST_RIP);
	op_mov_imm64(&p, OP_RCX, 0x123456789ull);
	op(&p, VMWRITE_RAX_RCX, 3);
	op(&p, VMREAD_RBX_RAX, 3);
	op_vmclear(&p, DATA + 8);
	op(&p, HLT, 1);
	run_l1(f, &p);
	expect_halt_at(f, L1_CODE + p.n - 1);
	assert_int_equal(l1_flags(f), 0);
	assert_int_equal(gpr(f, VCPU_REGS_RBX), 0x123456789ull);
	assert_int_equal(f->vm.stats.vmreads, 0);
	assert_int_equal(f->vm.stats.vmwrites, 0);
	assert_int_equal(f->vm.stats.shadow_vmreads, 1);
	assert_int_equal(f->vm.stats.shadow_vmwrites, 1);
	assert_int_equal(f->vm.stats.sync_vmwrites, 24);
	assert_int_equal(f->vm.stats.sync_vmreads, 15);
	assert_int_equal(get64(f, VMCS_A + offsetof(struct vmcs12, guest_rip)),
			 0x123456789ull);
	assert_int_equal(rd01(f, VMCS_LINK_POINTER), ~0ull);
	assert_int_equal(rd01(f, SECONDARY_VM_EXEC_CONTROL) &
				 SECONDARY_EXEC_SHADOW_VMCS,
			 0);
}

/* Without a current vmcs12 nothing is shadowed: VMREAD exits and L0
 * gives VMfailInvalid, as under trap. */
static void
test_vmread__shadow_without_current_vmcs_exits_fails_cf(void **state)
{
	struct fixture *f = *state;
	struct prog p = { 0 };

	use_vmcs_access(f, VMCS_ACCESS_SHADOW);
	prologue_vmxon(f, &p);
	op_mov_imm64(&p, OP_RAX, GUEST_RIP);
	op(&p, VMREAD_RBX_RAX, 3);
	op(&p, HLT, 1);
	run_l1(f, &p);
	expect_halt_at(f, L1_CODE + p.n - 1);
	assert_int_equal(l1_flags(f), X86_EFLAGS_CF);
	assert_int_equal(f->vm.stats.vmreads, 1);
	assert_int_equal(f->vm.stats.shadow_vmreads, 0);
}

/* shadow: VM_EXIT_REASON is read-only in the shadow VMCS, so L1's VMWRITE
 * of it exits (IA32_VMX_MISC[29] lets it succeed) and L0 writes it
 * through to the shadow VMCS: the shadowed VMREAD sees it. */
static void test_vmwrite__shadow_ro_field_trapped_then_read_back(void **state)
{
	struct fixture *f = *state;
	struct prog p = { 0 };

	use_vmcs_access(f, VMCS_ACCESS_SHADOW);
	put_region(f, VMCS_A, VMCS12_REVISION, 0);
	prologue_vmptrld(f, &p, VMCS_A);
	op_mov_imm64(&p, OP_RAX, VM_EXIT_REASON);
	op_mov_imm64(&p, OP_RCX, 0x77);
	op(&p, VMWRITE_RAX_RCX, 3);
	op(&p, VMREAD_RBX_RAX, 3);
	op(&p, HLT, 1);
	run_l1(f, &p);
	expect_halt_at(f, L1_CODE + p.n - 1);
	assert_int_equal(l1_flags(f), 0);
	assert_int_equal(gpr(f, VCPU_REGS_RBX), 0x77);
	assert_int_equal(f->vm.stats.vmwrites, 1);
	assert_int_equal(f->vm.stats.shadow_vmreads, 1);
	assert_int_equal(f->vm.stats.sync_vmwrites, 24 + 1);
	assert_int_equal(f->vm.nvmx->vmcs12->vm_exit_reason, 0x77);
}

/* shadow-all: a VMREAD of a field L0 does not offer still exits and fails
 * with error 12, and the error L0 puts in vmcs12 is what L1 then reads
 * in its shadow VMCS without an exit. */
static void test_vmread__shadow_all_vmfail_error_readable_shadowed(void **state)
{
	struct fixture *f = *state;
	struct prog p = { 0 };

	use_vmcs_access(f, VMCS_ACCESS_SHADOW_ALL);
	put_region(f, VMCS_A, VMCS12_REVISION, 0);
	prologue_vmptrld(f, &p, VMCS_A);
	op_mov_imm64(&p, OP_RAX, POSTED_INTR_DESC_ADDR);
	op(&p, VMREAD_RBX_RAX, 3);
	op_mov_imm64(&p, OP_RAX, VM_INSTRUCTION_ERROR);
	op(&p, VMREAD_RBX_RAX, 3);
	op(&p, HLT, 1);
	run_l1(f, &p);
	expect_halt_at(f, L1_CODE + p.n - 1);
	assert_int_equal(gpr(f, VCPU_REGS_RBX),
			 VMXERR_UNSUPPORTED_VMCS_COMPONENT);
	assert_int_equal(f->vm.stats.vmreads, 1);
	assert_int_equal(f->vm.stats.shadow_vmreads, 1);
}

/* shadow: GUEST_RIP written in the shadow VMCS before VMLAUNCH is where L2
 * starts (L0 reads it back at the nested entry: the CPUID at L2_CODE is
 * skipped, the one after it exits), and after the reflection L1's shadow
 * VMCS holds the exit information. */
static void
test_vmlaunch__shadow_written_rip_used_exit_info_shadowed(void **state)
{
	struct fixture *f = *state;
	struct prog p = { 0 }, l2 = { 0 };
	struct vmcs12 v;

	use_vmcs_access(f, VMCS_ACCESS_SHADOW);
	nvmx_valid_vmcs12(f, &v, 0);
	op(&l2, CPUID, 2);
	op(&l2, CPUID, 2);
	put(f, VMCS_A, &v, sizeof(v));
	put(f, L2_CODE, l2.b, l2.n);
	prologue_vmptrld(f, &p, VMCS_A);
	op_mov_imm64(&p, OP_RAX, GUEST_RIP);
	op_mov_imm64(&p, OP_RCX, L2_CODE + 2);
	op(&p, VMWRITE_RAX_RCX, 3);
	op(&p, VMLAUNCH, 3);
	op(&p, HLT, 1);
	run_l1(f, &p);
	expect_halt_at(f, L1_HOST_RIP);
	assert_int_equal(f->vm.stats.vmwrites, 0);
	assert_int_equal(f->vm.stats.nested_entries, 1);
	assert_int_equal(f->vm.nvmx->vmcs12->guest_rip, L2_CODE + 2);
	assert_int_equal(rd_shadow(f, VM_EXIT_REASON), EXIT_REASON_CPUID);
	assert_int_equal(rd_shadow(f, GUEST_RIP), L2_CODE + 2);
	assert_int_equal(rd_shadow(f, VM_EXIT_INSTRUCTION_LEN), 2);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_vmcs_shadow__field_sets_per_strategy_exact),
		T(test_vmcs_shadow__bitmaps_clear_only_shadowed_bits),
		T(test_vmwrite__shadow_rw_field_no_exit_reaches_region),
		T(test_vmread__shadow_without_current_vmcs_exits_fails_cf),
		T(test_vmwrite__shadow_ro_field_trapped_then_read_back),
		T(test_vmread__shadow_all_vmfail_error_readable_shadowed),
		T(test_vmlaunch__shadow_written_rip_used_exit_info_shadowed),
	};
#undef T
	return cmocka_run_group_tests(tests, NULL, NULL);
}
