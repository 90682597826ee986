/* SPDX-License-Identifier: MIT */
/*
 * test_vtx_cost.c - the cost model (vtx/cost.c): known instructions on a
 * known profile give exactly sum(count x cost) cycles, RDTSC deltas are
 * modeled cycles, a VMX round trip charges exactly entry + exit + the
 * guest's instructions, and the buckets partition the total. Host side,
 * tests only; reaches the model through vtx/vtx.h.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <string.h>

#include <asm/vmx.h>

#include "arch/vmcs.h"
#include "arch/vmx_insn_errors.h"
#include "arch/x86_msr.h"
#include "arch/x86_seg.h"
#include "tests/unit/vmx_harness.h"
#include "tests/unit/vtx_harness.h"
#include "vtx/vmx.h"

#define VMXON_REGION HARNESS_VMXON_REGION
#define VMCS_REGION HARNESS_VMCS_REGION
#define SHADOW_VMCS 0x32000ull
#define SHADOW_BITMAPS 0x33000ull /* all zero: every field shadowed */

/* Distinct values, so that a count charged to the wrong key shows. */
static void test_profile(struct vtx_cost_profile *p)
{
	memset(p, 0, sizeof(*p));
	strcpy(p->name, "test");
	p->insn = 3;
	p->tlb_miss = 5;
	p->walk_step = 7;
	p->ept_walk_step = 11;
	p->event = 13;
	p->vm_entry = 1009;
	p->vm_exit = 2003;
	p->vmread = 101;
	p->vmwrite = 103;
	p->vmx_insn = 107;
	p->cpuid = 109;
	p->rdmsr = 113;
	p->wrmsr = 127;
	p->pio = 131;
	p->shadow_vmread = 137;
	p->shadow_vmwrite = 139;
}

static void use_test_profile(struct harness *h, struct vtx_cost_profile *p)
{
	test_profile(p);
	assert_int_equal(vtx_cpu_set_cost_profile(h->cpu, p), 0);
}

static void expect_partition(const struct vtx_cpu_stats *st)
{
	assert_int_equal(st->cycles, st->cycles_root + st->cycles_nonroot +
					     st->cycles_switch +
					     st->cycles_host);
}

/* NOP, XOR, CPUID, OUT, RDTSC on the test profile: 5 instructions, the
 * CPUID and OUT at their class costs, one TLB miss of 4 steps (the code
 * page; identity-mapped 4-KiB pages, SDM Vol. 3A 4.5). */
static void test_cost__known_instructions_charge_sum_of_counts(void **state)
{
	struct harness *h = *state;
	struct vtx_cost_profile p;
	static const uint8_t code[] = {
		0x90, /* nop */
		0x31, 0xc0, /* xor eax, eax */
		0x0f, 0xa2, /* cpuid */
		0xe6, 0x80, /* out 0x80, al */
		0x0f, 0x31, /* rdtsc */
	};
	uint64_t want = 5 * 3 + (109 - 3) + (131 - 3) + 5 + 4 * 7;

	use_test_profile(h, &p);
	harness_exec(h, code, sizeof(code), 5);
	assert_int_equal(h->stats.insns, 5);
	assert_int_equal(h->stats.cpuids, 1);
	assert_int_equal(h->stats.pio, 1);
	assert_int_equal(h->stats.tlb_misses, 1);
	assert_int_equal(h->stats.walk_steps, 4);
	assert_int_equal(h->stats.events, 0);
	assert_int_equal(h->stats.cycles, want);
	assert_int_equal(vtx_cost_expected_cycles(&h->stats, &p), want);
	assert_int_equal(h->stats.cycles_root, want);
	expect_partition(&h->stats);
	/* RDTSC reads the clock before its own base CPI is added. */
	assert_int_equal(h->regs.rax, want - 3);
	assert_int_equal(h->regs.rdx, 0);
}

/* Two RDTSCs around a CPUID: the delta is RDTSC's + MOV's CPI and the
 * CPUID's class cost, exactly. */
static void test_rdtsc__delta_equals_modeled_cycles(void **state)
{
	struct harness *h = *state;
	struct vtx_cost_profile p;
	static const uint8_t code[] = {
		0x0f, 0x31, /* rdtsc */
		0x48, 0x89, 0xc6, /* mov rsi, rax */
		0x0f, 0xa2, /* cpuid */
		0x0f, 0x31, /* rdtsc */
	};

	use_test_profile(h, &p);
	harness_exec(h, code, sizeof(code), 4);
	assert_int_equal(h->regs.rax - h->regs.rsi, 3 + 3 + 109);
}

/* A WRMSR to IA32_TSC moves what RDTSC reads, never the modeled clock. */
static void test_wrmsr_tsc__moves_guest_tsc_not_the_clock(void **state)
{
	struct harness *h = *state;
	struct vtx_cost_profile p;
	static const uint8_t code[] = {
		0x90, /* nop */
		0x0f, 0x31, /* rdtsc */
	};
	uint64_t v;

	use_test_profile(h, &p);
	assert_int_equal(vtx_cpu_set_msr(h->cpu, MSR_IA32_TSC, 1000000), 0);
	harness_exec(h, code, sizeof(code), 2);
	assert_int_equal(h->regs.rax, 1000000 + 3 + 5 + 4 * 7);
	assert_int_equal(h->stats.cycles, 2 * 3 + 5 + 4 * 7);
	assert_int_equal(vtx_cpu_get_msr(h->cpu, MSR_IA32_TSC, &v), 0);
	assert_int_equal(v, 1000000 + 2 * 3 + 5 + 4 * 7);
}

/* UD2 delivers #UD to a stub that halts: one event, charged once, and the
 * total is still sum(count x cost). */
static void test_cost__exception_delivery_charges_event(void **state)
{
	struct harness *h = *state;
	struct vtx_cost_profile p;
	static const uint8_t code[] = {
		0x0f, 0x0b, /* ud2 */
	};

	use_test_profile(h, &p);
	harness_run_code(h, code, sizeof(code));
	assert_int_equal(harness_stop_vector(h), UD_VECTOR);
	assert_int_equal(h->stats.events, 1);
	assert_int_equal(h->stats.insns, 1); /* the stub's HLT */
	assert_int_equal(h->stats.cycles, 3 + 13 + h->stats.tlb_misses * 5 +
						  h->stats.walk_steps * 7);
	assert_int_equal(h->stats.cycles,
			 vtx_cost_expected_cycles(&h->stats, &p));
}

static void wr(struct harness *h, uint32_t field, uint64_t val)
{
	harness_vmwrite(h, field, val);
}

#define ctl harness_vmx_ctl

/* A C host with a VMCS whose guest is the harness's 64-bit state at
 * CODE_BASE. */
static void vmcs_setup(struct harness *h)
{
	harness_vmcs_setup(h, 0, 0);
}

/* vtx_cpu_get_clock() is the same counters as vtx_cpu_get_stats(). */
static void expect_clock_is_stats(struct harness *h,
				  const struct vtx_cpu_stats *st)
{
	struct vtx_cpu_clock k;

	vtx_cpu_get_clock(h->cpu, &k);
	assert_int_equal(k.cycles, st->cycles);
	assert_int_equal(k.cycles_host, st->cycles_host);
	assert_int_equal(k.cycles_switch, st->cycles_switch);
	assert_int_equal(k.cycles_guest, st->cycles_root + st->cycles_nonroot);
	assert_int_equal(k.insns, st->insns);
	assert_int_equal(k.vm_exits, st->vm_exits);
	assert_int_equal(k.shadow_vmreads, st->shadow_vmreads);
	assert_int_equal(k.shadow_vmwrites, st->shadow_vmwrites);
}

/* VMLAUNCH of a guest that runs NOP, NOP, CPUID: the CPUID exits without
 * retiring, so the round trip is entry + 2 x CPI (+ the guest's code-page
 * walk) + exit; the host's VMREAD afterwards is its own bucket. */
static void test_vmx_round_trip__charges_entry_exit_and_guest(void **state)
{
	struct harness *h = *state;
	struct vtx_cost_profile p;
	struct vtx_cpu_stats a, b, c;
	static const uint8_t code[] = {
		0x90, /* nop */
		0x90, /* nop */
		0x0f, 0xa2, /* cpuid */
	};
	struct vtx_stop st;
	uint64_t reason, guest;

	harness_load(h, CODE_BASE, code, sizeof(code));
	vmcs_setup(h);
	use_test_profile(h, &p);
	vtx_cpu_get_stats(h->cpu, &a);
	assert_int_equal(vtx_vmlaunch(h->cpu, &st), 0);
	assert_int_equal(st.reason, VTX_STOP_VMEXIT);
	vtx_cpu_get_stats(h->cpu, &b);

	assert_int_equal(b.insns - a.insns, 2);
	assert_int_equal(b.vm_entries - a.vm_entries, 1);
	assert_int_equal(b.vm_exits - a.vm_exits, 1);
	assert_int_equal(b.tlb_misses - a.tlb_misses, 1);
	assert_int_equal(b.walk_steps - a.walk_steps, 4);
	guest = 2 * 3 + 5 + 4 * 7;
	assert_int_equal(b.cycles - a.cycles, 1009 + guest + 2003);
	assert_int_equal(b.cycles_switch - a.cycles_switch, 1009 + 2003);
	assert_int_equal(b.cycles_nonroot - a.cycles_nonroot, guest);
	assert_int_equal(b.cycles_root - a.cycles_root, 0);
	assert_int_equal(b.cycles_host - a.cycles_host, 0);

	assert_int_equal(vtx_vmread(h->cpu, VM_EXIT_REASON, &reason), 0);
	assert_int_equal(reason, EXIT_REASON_CPUID);
	vtx_cpu_get_stats(h->cpu, &c);
	assert_int_equal(c.host_vmreads - b.host_vmreads, 1);
	assert_int_equal(c.cycles_host - b.cycles_host, 101);
	assert_int_equal(c.cycles - b.cycles, 101);
	expect_partition(&c);
	expect_clock_is_stats(h, &c);
	/* The setup ran under the unit profile: only the rest is ours. */
	assert_int_equal(c.cycles - a.cycles,
			 vtx_cost_expected_cycles(&c, &p) -
				 vtx_cost_expected_cycles(&a, &p));
}

/* A profile with "vm_exit.CPUID 5003": the same round trip costs 5003 for
 * its CPUID exit instead of the generic 2003; an HLT exit, which the
 * profile does not name, keeps 2003. The counters reproduce both. */
static void test_vm_exit_cost__per_reason_figure_replaces_generic(void **state)
{
	struct harness *h = *state;
	struct vtx_cost_profile p;
	struct vtx_cpu_stats a, b, c;
	static const uint8_t code[] = {
		0x0f, 0xa2, /* cpuid */
		0xf4, /* hlt */
	};
	struct vtx_stop st;

	harness_load(h, CODE_BASE, code, sizeof(code));
	harness_vmcs_setup(h, CPU_BASED_HLT_EXITING, 0);
	test_profile(&p);
	vtx_cost_set_vm_exit(&p, EXIT_REASON_CPUID, 5003);
	assert_int_equal(vtx_cpu_set_cost_profile(h->cpu, &p), 0);
	vtx_cpu_get_stats(h->cpu, &a);
	assert_int_equal(vtx_vmlaunch(h->cpu, &st), 0);
	vtx_cpu_get_stats(h->cpu, &b);
	assert_int_equal(b.exits_by_reason[EXIT_REASON_CPUID] -
				 a.exits_by_reason[EXIT_REASON_CPUID],
			 1);
	assert_int_equal(b.cycles_switch - a.cycles_switch, 1009 + 5003);

	assert_int_equal(vtx_vmwrite(h->cpu, GUEST_RIP, CODE_BASE + 2), 0);
	vtx_cpu_get_stats(h->cpu, &b);
	assert_int_equal(vtx_vmresume(h->cpu, &st), 0);
	vtx_cpu_get_stats(h->cpu, &c);
	assert_int_equal(c.exits_by_reason[EXIT_REASON_HLT] -
				 b.exits_by_reason[EXIT_REASON_HLT],
			 1);
	assert_int_equal(c.cycles_switch - b.cycles_switch, 1009 + 2003);
	expect_partition(&c);
	expect_clock_is_stats(h, &c);
	assert_int_equal(c.cycles - a.cycles,
			 vtx_cost_expected_cycles(&c, &p) -
				 vtx_cost_expected_cycles(&a, &p));
}

/* With VMCS shadowing, a guest's VMREAD and VMWRITE of shadowed fields
 * retire in non-root at their own class costs (shadow_vmread 137,
 * shadow_vmwrite 139), counted apart from root VMREAD/VMWRITE. */
static void test_shadow_vmcs__nonroot_access_charges_own_class(void **state)
{
	struct harness *h = *state;
	struct vtx_cost_profile p;
	struct vtx_cpu_stats a, b;
	static const uint8_t code[] = {
		0x0f, 0x78, 0xd8, /* vmread rax, rbx */
		0x0f, 0x79, 0xd8, /* vmwrite rbx, rax */
		0x0f, 0xa2, /* cpuid */
	};
	uint32_t shadow_rev = VTX_VMCS_REVISION | VTX_VMCS_SHADOW_INDICATOR;
	struct vtx_stop st;
	struct kvm_regs r;
	uint64_t guest;

	harness_load(h, CODE_BASE, code, sizeof(code));
	harness_load(h, SHADOW_VMCS, &shadow_rev, 4);
	vmcs_setup(h);
	wr(h, CPU_BASED_VM_EXEC_CONTROL,
	   ctl(h, MSR_IA32_VMX_TRUE_PROCBASED_CTLS,
	       CPU_BASED_ACTIVATE_SECONDARY_CONTROLS));
	wr(h, SECONDARY_VM_EXEC_CONTROL, SECONDARY_EXEC_SHADOW_VMCS);
	wr(h, VMREAD_BITMAP, SHADOW_BITMAPS);
	wr(h, VMWRITE_BITMAP, SHADOW_BITMAPS);
	wr(h, VMCS_LINK_POINTER, SHADOW_VMCS);
	vtx_cpu_get_regs(h->cpu, &r);
	r.rbx = GUEST_RSP;
	vtx_cpu_set_regs(h->cpu, &r);
	use_test_profile(h, &p);
	vtx_cpu_get_stats(h->cpu, &a);
	assert_int_equal(vtx_vmlaunch(h->cpu, &st), 0);
	assert_int_equal(st.reason, VTX_STOP_VMEXIT);
	vtx_cpu_get_stats(h->cpu, &b);

	assert_int_equal(b.exits_by_reason[EXIT_REASON_CPUID], 1);
	assert_int_equal(b.insns - a.insns, 2);
	assert_int_equal(b.shadow_vmreads - a.shadow_vmreads, 1);
	assert_int_equal(b.shadow_vmwrites - a.shadow_vmwrites, 1);
	assert_int_equal(b.vmreads - a.vmreads, 0);
	assert_int_equal(b.vmwrites - a.vmwrites, 0);
	guest = 137 + 139 + 5 + 4 * 7;
	assert_int_equal(b.cycles_nonroot - a.cycles_nonroot, guest);
	assert_int_equal(b.cycles - a.cycles, 1009 + guest + 2003);
	assert_int_equal(b.cycles - a.cycles,
			 vtx_cost_expected_cycles(&b, &p) -
				 vtx_cost_expected_cycles(&a, &p));
}

static void test_cost_profile__class_below_base_cpi_is_refused(void **state)
{
	struct harness *h = *state;
	struct vtx_cost_profile p, got;
	const char *bad = NULL;

	test_profile(&p);
	p.wrmsr = 2;
	assert_int_equal(vtx_cost_profile_check(&p, &bad), -22);
	assert_string_equal(bad, "wrmsr");
	assert_int_equal(vtx_cpu_set_cost_profile(h->cpu, &p), -22);
	p.wrmsr = 127;
	p.vm_exit = VTX_COST_MAX + 1;
	assert_int_equal(vtx_cost_profile_check(&p, &bad), -22);
	assert_string_equal(bad, "vm_exit");
	/* The vCPU kept the profile it was created with. */
	vtx_cpu_get_cost_profile(h->cpu, &got);
	assert_string_equal(got.name, "unit");
	assert_int_equal(got.insn, 1);
	assert_int_equal(got.vm_exit, 0);
}

/* vtx_vmwrite_batch() and vtx_vmread_batch() are n VMWRITEs or VMREADs:
 * the same values, counts and host cycles as one call per field, a field
 * the model lacks failing with error 12 (stored in the VMCS) without
 * stopping the batch. */
static void
test_vmcs_batch__same_counts_cycles_and_errors_as_single_calls(void **state)
{
	struct harness *h = *state;
	struct vtx_cost_profile p;
	struct vtx_cpu_stats a, b, c;
	struct vtx_vmcs_field w[] = {
		{ GUEST_RIP, 0x123456789aull },
		{ 0x2c0e, 0x55 }, /* HOST_IA32_FRED_RSP3: the model lacks it */
		{ GUEST_ES_SELECTOR, 0x10028 }, /* 16 bits: 0x0028 stored */
		{ GUEST_CR3 | 1, 0xabc }, /* a natural-width field: no high */
		{ TSC_OFFSET_HIGH, 0xfeed }, /* the high half of a 64-bit one */
	};
	struct vtx_vmcs_field r[] = {
		{ GUEST_RIP, 1 },	  { 0x2c0e, 1 },
		{ GUEST_ES_SELECTOR, 1 }, { GUEST_CR3 | 1, 1 },
		{ TSC_OFFSET, 1 },
	};
	uint64_t v;

	vmcs_setup(h);
	use_test_profile(h, &p);
	harness_vmwrite(h, TSC_OFFSET, 0x1111);
	vtx_cpu_get_stats(h->cpu, &a);
	assert_int_equal(vtx_vmwrite_batch(h->cpu, w, 5),
			 VMXERR_UNSUPPORTED_VMCS_COMPONENT);
	vtx_cpu_get_stats(h->cpu, &b);
	assert_int_equal(b.host_vmwrites - a.host_vmwrites, 5);
	assert_int_equal(b.cycles_host - a.cycles_host, 5 * 103);
	assert_int_equal(b.cycles - a.cycles, 5 * 103);
	assert_int_equal(harness_vmread(h, VM_INSTRUCTION_ERROR),
			 VMXERR_UNSUPPORTED_VMCS_COMPONENT);

	vtx_cpu_get_stats(h->cpu, &b);
	assert_int_equal(vtx_vmread_batch(h->cpu, r, 5),
			 VMXERR_UNSUPPORTED_VMCS_COMPONENT);
	vtx_cpu_get_stats(h->cpu, &c);
	assert_int_equal(c.host_vmreads - b.host_vmreads, 5);
	assert_int_equal(c.cycles_host - b.cycles_host, 5 * 101);
	assert_int_equal(r[0].val, 0x123456789aull);
	assert_int_equal(r[1].val, 0);
	assert_int_equal(r[2].val, 0x28);
	assert_int_equal(r[3].val, 0);
	assert_int_equal(r[4].val, 0x0000feed00001111ull);
	expect_partition(&c);
	assert_int_equal(c.cycles - a.cycles,
			 vtx_cost_expected_cycles(&c, &p) -
				 vtx_cost_expected_cycles(&a, &p));

	/* An empty batch does nothing; one outside VMX root is a misuse. */
	assert_int_equal(vtx_vmread_batch(h->cpu, r, 0), 0);
	assert_int_equal(vtx_vmread(h->cpu, VM_INSTRUCTION_ERROR, &v), 0);
	assert_int_equal(vtx_vmxoff(h->cpu), 0);
	vtx_cpu_get_stats(h->cpu, &b);
	assert_int_equal(vtx_vmwrite_batch(h->cpu, w, 5), -EINVAL);
	assert_int_equal(vtx_vmread_batch(h->cpu, r, 5), -EINVAL);
	vtx_cpu_get_stats(h->cpu, &c);
	assert_int_equal(c.host_vmwrites, b.host_vmwrites);
	assert_int_equal(c.cycles, b.cycles);
}

#define T(fn) \
	cmocka_unit_test_setup_teardown(fn, harness_setup, harness_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_cost__known_instructions_charge_sum_of_counts),
		T(test_rdtsc__delta_equals_modeled_cycles),
		T(test_wrmsr_tsc__moves_guest_tsc_not_the_clock),
		T(test_cost__exception_delivery_charges_event),
		T(test_vmx_round_trip__charges_entry_exit_and_guest),
		T(test_shadow_vmcs__nonroot_access_charges_own_class),
		T(test_vm_exit_cost__per_reason_figure_replaces_generic),
		T(test_cost_profile__class_below_base_cpi_is_refused),
		T(test_vmcs_batch__same_counts_cycles_and_errors_as_single_calls),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
