/* SPDX-License-Identifier: MIT */
/*
 * test_bt_translate.c - the binary translator (l0/bt/) on hand-written
 * blocks: each runs natively on the model, then under translation in a
 * VMX non-root container, and the two must leave the same registers,
 * memory and exception frames; the counts of blocks, chains and callouts
 * are pinned. Host side, tests only (docs/design/bt.md).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "arch/vmcs.h"
#include "arch/x86_regs.h"
#include "arch/x86_paging.h"
#include "l0/bt/bt.h"
#include "tests/unit/vmx_harness.h"

/* The TC: host-physical 0x300000 (in the harness's free 2-MiB page),
 * mapped at BT_TC_GVA by PML4[511] -> PDPT[511] -> PD[0] -> PT below. */
#define TC_HPA 0x300000ull
#define TC_PDPT 0x40000ull
#define TC_PD 0x41000ull
#define TC_PT 0x42000ull
#define TC_SIZE 0x10000u
#define DATA_LEN 0x1000u

struct bt_fixture {
	struct harness *h;
	struct bt bt;
	struct bt_stop stop;
	struct kvm_regs native; /* after the native run */
	uint64_t native_rip; /* where the native run stopped */
	uint8_t native_data[DATA_LEN];
	struct kvm_regs regs; /* after the translated run, RSP/RFLAGS too */
	unsigned int nr_out;
	uint32_t out_data[8];
};

static int guest_read(void *opaque, uint64_t gva, void *buf, size_t len)
{
	struct bt_fixture *f = opaque;

	return vtx_hpa_read(f->h->m, gva, buf, len);
}

static int guest_write(void *opaque, uint64_t gva, const void *buf, size_t len)
{
	struct bt_fixture *f = opaque;

	return vtx_hpa_write(f->h->m, gva, buf, len);
}

/* The harness's own page table stands in for the shadow's leaves. */
static void guest_protect(void *opaque, uint64_t page, bool wp)
{
	struct bt_fixture *f = opaque;
	uint64_t *pte = harness_pte(f->h, page);

	*pte = wp ? *pte & ~(uint64_t)PTE_RW : *pte | PTE_RW;
}

static int guest_pio(void *opaque, struct vtx_pio *io)
{
	struct bt_fixture *f = opaque;

	if (io->dir == VTX_PIO_IN)
		io->data = 0x5a;
	else if (f->nr_out < 8)
		f->out_data[f->nr_out++] = io->data;
	return io->port == HARNESS_STOP_PORT ? VTX_PIO_STOP : VTX_PIO_DONE;
}

static const struct bt_guest_ops fixture_ops = {
	.read = guest_read,
	.write = guest_write,
	.protect = guest_protect,
	.pio = guest_pio,
};

static int setup(void **state)
{
	struct bt_fixture *f = calloc(1, sizeof(*f));
	void *hs;

	assert_non_null(f);
	assert_int_equal(harness_setup(&hs), 0);
	f->h = hs;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct bt_fixture *f = *state;
	void *hs = f->h;

	bt_destroy(&f->bt);
	harness_teardown(&hs);
	free(f);
	return 0;
}

static void map_tc(struct harness *h)
{
	uint64_t pml4e = TC_PDPT | PTE_P | PTE_RW;

	harness_write64(h, HARNESS_PML4 + 511 * 8, pml4e);
	harness_write64(h, TC_PDPT + 511 * 8, TC_PD | PTE_P | PTE_RW);
	harness_write64(h, TC_PD, TC_PT | PTE_P | PTE_RW);
	for (uint64_t i = 0; i < TC_SIZE / 4096; i++)
		harness_write64(h, TC_PT + i * 8,
				(TC_HPA + i * 4096) | PTE_P | PTE_RW);
}

/*
 * Runs code natively from CODE_BASE until the machine stops, keeps the
 * results, puts registers and DATA_BASE back as they were, then runs the
 * same code under translation with a TC of tc_size bytes. Returns what
 * bt_run() returned.
 */
static int run_both(struct bt_fixture *f, const uint8_t *code, size_t len,
		    uint32_t tc_size)
{
	struct harness *h = f->h;
	struct kvm_regs regs0;
	uint8_t data0[DATA_LEN];
	struct bt_config cfg = {
		.m = h->m,
		.costs = { .translate_insn = 2300,
			   .callout = 1254,
			   .trap = 2030 },
		.tc_hpa = TC_HPA,
		.tc_gva = BT_TC_GVA,
		.tc_size = tc_size,
		.ops = &fixture_ops,
		.opaque = f,
	};
	int ret;

	h->regs.rip = CODE_BASE;
	regs0 = h->regs;
	assert_int_equal(vtx_hpa_read(h->m, DATA_BASE, data0, DATA_LEN), 0);
	harness_load(h, CODE_BASE, code, len);
	harness_run(h, 100000);
	f->native = h->regs;
	f->native_rip = h->stop.rip;
	assert_int_equal(
		vtx_hpa_read(h->m, DATA_BASE, f->native_data, DATA_LEN), 0);

	/* The translated run starts from the same state. */
	harness_load(h, DATA_BASE, data0, DATA_LEN);
	harness_load(h, CODE_BASE, code, len);
	h->regs = regs0;
	map_tc(h);
	harness_vmcs_setup(h, 0, 0);
	harness_vmwrite(h, EXCEPTION_BITMAP, 0xffffffffu);
	harness_vmwrite(h, GUEST_RSP, regs0.rsp);
	harness_vmwrite(h, GUEST_RFLAGS, regs0.rflags);
	assert_int_equal(vtx_cpu_set_regs(h->cpu, &regs0), 0);
	/* SYSCALL of user code must exit: EFER.SCE is the guest's only in
	 * the translator's virtual copy. */
	harness_vmwrite(h, GUEST_IA32_EFER, h->sregs.efer & ~EFER_SCE);
	assert_int_equal(bt_init(&f->bt, &cfg), 0);
	f->bt.sce = (h->sregs.efer & EFER_SCE) != 0;
	ret = bt_run(&f->bt, h->cpu, CODE_BASE, &f->stop);
	vtx_cpu_get_regs(h->cpu, &f->regs);
	f->regs.rsp = harness_vmread(h, GUEST_RSP);
	f->regs.rflags = harness_vmread(h, GUEST_RFLAGS);
	f->regs.rip = f->stop.guest_rip;
	return ret;
}

/* Every general-purpose register, RFLAGS and DATA_BASE as natively. */
static void assert_same_as_native(struct bt_fixture *f)
{
	uint8_t data[DATA_LEN];

	assert_int_equal(f->regs.rax, f->native.rax);
	assert_int_equal(f->regs.rbx, f->native.rbx);
	assert_int_equal(f->regs.rcx, f->native.rcx);
	assert_int_equal(f->regs.rdx, f->native.rdx);
	assert_int_equal(f->regs.rsi, f->native.rsi);
	assert_int_equal(f->regs.rdi, f->native.rdi);
	assert_int_equal(f->regs.rbp, f->native.rbp);
	assert_int_equal(f->regs.rsp, f->native.rsp);
	assert_int_equal(f->regs.r8, f->native.r8);
	assert_int_equal(f->regs.r15, f->native.r15);
	assert_int_equal(f->regs.rflags, f->native.rflags);
	assert_int_equal(vtx_hpa_read(f->h->m, DATA_BASE, data, DATA_LEN), 0);
	assert_memory_equal(data, f->native_data, DATA_LEN);
}

static void assert_halted_at(struct bt_fixture *f, uint64_t hlt_rip)
{
	assert_int_equal(f->h->stop.reason, VTX_STOP_HALTED);
	assert_int_equal(f->native_rip, hlt_rip);
	assert_int_equal(f->stop.reason, BT_STOP_HALTED);
	assert_int_equal(f->stop.guest_rip, hlt_rip);
}

static void test_bt__ident_block_matches_native(void **state)
{
	struct bt_fixture *f = *state;
	static const uint8_t code[] = {
		0xb8, 0x01, 0x00, 0x00, 0x00, /* 0: mov eax, 0x1 */
		0x83, 0xc0, 0x02, /* 5: add eax, 0x2 */
		0x48, 0x89, 0xc3, /* 8: mov rbx, rax */
		0x48, 0xc1, 0xe3, 0x04, /* b: shl rbx, 0x4 */
		0x48, 0x89, 0x1c, 0x25, 0x00, 0x00, 0x1c, 0x00,
		/* f: mov [0x1c0000], rbx */
		0xf4, /* 17: hlt */
	};

	assert_int_equal(run_both(f, code, sizeof(code), TC_SIZE), 0);
	assert_halted_at(f, CODE_BASE + 0x17);
	assert_same_as_native(f);
	assert_int_equal(f->regs.rbx, 0x30);
	/* One block: five IDENT copies and the HLT callout. */
	assert_int_equal(f->bt.stats.blocks, 1);
	assert_int_equal(f->bt.stats.insns, 6);
	assert_int_equal(f->bt.stats.callouts[BT_CALLOUT_HLT], 1);
	assert_int_equal(f->bt.stats.callouts_total, 1);
	assert_int_equal(f->bt.stats.cycles_translate, 6 * 2300);
	assert_int_equal(f->bt.stats.cycles_callouts, 1254);
}

static void test_bt__rip_relative_operands_made_absolute(void **state)
{
	struct bt_fixture *f = *state;
	static const uint8_t code[] = {
		0x48, 0x8b, 0x05, 0x11, 0x00, 0x00, 0x00,
		/* 0: mov rax, [rip+0x11]          ; CODE_BASE + 0x18 */
		0x48, 0x89, 0x05, 0xf2, 0xff, 0x0b, 0x00,
		/* 7: mov [rip+0xbfff2], rax       ; DATA_BASE */
		0x48, 0x83, 0x05, 0xea, 0xff, 0x0b, 0x00, 0x05,
		/* e: add qword [rip+0xbffea], 0x5 ; DATA_BASE, imm after disp */
		0x90, /* 16: nop */
		0xf4, /* 17: hlt */
		0xef, 0xbe, 0xad, 0xde, 0x00, 0x00, 0x00, 0x00, /* 18: data */
	};

	assert_int_equal(run_both(f, code, sizeof(code), TC_SIZE), 0);
	assert_halted_at(f, CODE_BASE + 0x17);
	assert_same_as_native(f);
	assert_int_equal(f->regs.rax, 0xdeadbeef);
	assert_int_equal(harness_read64(f->h, DATA_BASE), 0xdeadbef4);
	assert_int_equal(f->bt.stats.rip_rel, 3);
	assert_int_equal(f->bt.stats.invalidations, 0);
}

static void test_bt__loop_chains_blocks(void **state)
{
	struct bt_fixture *f = *state;
	static const uint8_t code[] = {
		0xb9, 0x0a, 0x00, 0x00, 0x00, /* 0: mov ecx, 0xa */
		0x31, 0xc0, /* 5: xor eax, eax */
		0x01, 0xc8, /* 7: add eax, ecx */
		0xff, 0xc9, /* 9: dec ecx */
		0x75, 0xfa, /* b: jne 0x7 */
		0xf4, /* d: hlt */
	};

	assert_int_equal(run_both(f, code, sizeof(code), TC_SIZE), 0);
	assert_halted_at(f, CODE_BASE + 0xd);
	assert_same_as_native(f);
	assert_int_equal(f->regs.rax, 55);
	/*
	 * Blocks [0, 0xd), [7, 0xd) and [0xd]. Exits: the first jne to 7,
	 * the second block's jne to itself (not yet translated while it
	 * was emitted), the fall-through to 0xd; each is chained, so the
	 * other eight iterations make no callout.
	 */
	assert_int_equal(f->bt.stats.blocks, 3);
	assert_int_equal(f->bt.stats.callouts[BT_CALLOUT_EXIT], 3);
	assert_int_equal(f->bt.stats.chains, 3);
	assert_int_equal(f->bt.stats.callouts_total, 4);
}

static void test_bt__call_pushes_guest_return_address(void **state)
{
	struct bt_fixture *f = *state;
	static const uint8_t code[] = {
		0xe8, 0x01, 0x00, 0x00, 0x00, /* 0: call 0x6 */
		0xf4, /* 5: hlt */
		0x48, 0x8b, 0x1c, 0x24, /* 6: mov rbx, [rsp] */
		0xc3, /* a: ret */
	};

	assert_int_equal(run_both(f, code, sizeof(code), TC_SIZE), 0);
	assert_halted_at(f, CODE_BASE + 5);
	assert_same_as_native(f);
	assert_int_equal(f->regs.rbx, CODE_BASE + 5);
	assert_int_equal(f->bt.stats.callouts[BT_CALLOUT_RET], 1);
	assert_int_equal(f->bt.stats.callouts[BT_CALLOUT_EXIT], 1);
}

/* RET imm16 through the return table: the first return to each site
 * misses (a RET callout fills the entry), the second hits; RSP, the
 * registers and the flags as natively. */
static void test_bt__ret_imm16_misses_then_hits(void **state)
{
	struct bt_fixture *f = *state;
	static const uint8_t code[] = {
		0xb9, 0x02, 0x00, 0x00, 0x00, /* 0: mov ecx, 0x2 */
		0x6a, 0x07, /* 5: push 0x7 */
		0xe8, 0x08, 0x00, 0x00, 0x00, /* 7: call 0x14 */
		0xff, 0xc9, /* c: dec ecx */
		0x75, 0xf5, /* e: jne 0x5 */
		0xf4, /* 10: hlt */
		0x90, 0x90, 0x90, /* 11: nop... */
		0x48, 0x8b, 0x44, 0x24, 0x08, /* 14: mov rax, [rsp+8] */
		0x48, 0x83, 0xf8, 0x07, /* 19: cmp rax, 0x7 (ZF = 1) */
		0xc2, 0x08, 0x00, /* 1d: ret 0x8 */
	};

	assert_int_equal(run_both(f, code, sizeof(code), TC_SIZE), 0);
	assert_halted_at(f, CODE_BASE + 0x10);
	assert_same_as_native(f);
	assert_int_equal(f->regs.rax, 7);
	assert_int_equal(f->bt.stats.callouts[BT_CALLOUT_RET], 1);
	assert_int_equal(bt_vcpu_read64(&f->bt, BT_VCPU_RETTAB + ((CODE_BASE +
								   0xc) << 4 &
								  0x7f0)),
			 CODE_BASE + 0xc);
}

/* POPF that sets TF is a POPF callout (its #DB must not find RSP in the
 * vCPU page); the virtual IF follows the popped value either way. */
static void test_bt__popf_with_tf_calls_out(void **state)
{
	struct bt_fixture *f = *state;
	static const uint8_t code[] = {
		0x68, 0x02, 0x02, 0x00, 0x00, /* 0: push 0x202 */
		0x9d, /* 5: popf     ; IF: in the TC */
		0x68, 0x02, 0x01, 0x00, 0x00, /* 6: push 0x102 */
		0x9d, /* b: popf     ; TF: a callout */
		0x68, 0x02, 0x00, 0x00, 0x00, /* c: push 0x2 */
		0x9d, /* 11: popf    ; TF off again: in the TC */
		0xf4, /* 12: hlt */
	};

	assert_int_equal(run_both(f, code, sizeof(code), TC_SIZE), 0);
	assert_halted_at(f, CODE_BASE + 0x12);
	assert_same_as_native(f);
	assert_int_equal(f->bt.stats.callouts[BT_CALLOUT_POPF], 1);
	assert_int_equal(bt_vcpu_read8(&f->bt, BT_VCPU_VIF), 0);
}

/* Adams & Agesen's example: POPF at CPL 0 loads IF. Translated, the IF
 * goes to the virtual IF; PUSHF shows it back; the real IF never moves. */
static void test_bt__popf_sets_virtual_if_exactly(void **state)
{
	struct bt_fixture *f = *state;
	static const uint8_t code[] = {
		0x9c, /* 0: pushf */
		0x48, 0x81, 0x0c, 0x24, 0x00, 0x02, 0x00, 0x00,
		/* 1: or qword [rsp], 0x200 */
		0x9d, /* 9: popf */
		0x9c, /* a: pushf */
		0x58, /* b: pop rax */
		0xfa, /* c: cli */
		0x9c, /* d: pushf */
		0x5b, /* e: pop rbx */
		0xfb, /* f: sti */
		0x9c, /* 10: pushf */
		0x59, /* 11: pop rcx */
		0xfa, /* 12: cli */
		0xf4, /* 13: hlt */
	};

	assert_int_equal(run_both(f, code, sizeof(code), TC_SIZE), 0);
	assert_halted_at(f, CODE_BASE + 0x13);
	assert_same_as_native(f);
	assert_int_equal(f->regs.rax & X86_EFLAGS_IF, X86_EFLAGS_IF);
	assert_int_equal(f->regs.rbx & X86_EFLAGS_IF, 0);
	assert_int_equal(f->regs.rcx & X86_EFLAGS_IF, X86_EFLAGS_IF);
	assert_int_equal(bt_vcpu_read8(&f->bt, BT_VCPU_VIF), 0);
	assert_int_equal(f->bt.stats.callouts[BT_CALLOUT_PUSHF], 4);
	/* POPF (no TF, no interrupt pending), CLI, STI, CLI: in the TC,
	 * no callout. */
	assert_int_equal(f->bt.stats.callouts[BT_CALLOUT_POPF], 0);
	assert_int_equal(f->bt.stats.in_tc, 4);
	assert_int_equal(f->bt.stats.callouts_total, 5);
}

static void test_bt__cpuid_io_and_cr8_match_native(void **state)
{
	struct bt_fixture *f = *state;
	static const uint8_t code[] = {
		0x31, 0xc0, /* 0: xor eax, eax */
		0x31, 0xc9, /* 2: xor ecx, ecx */
		0x0f, 0xa2, /* 4: cpuid */
		0x89, 0xde, /* 6: mov esi, ebx */
		0xb0, 0x41, /* 8: mov al, 0x41 */
		0xe6, 0x80, /* a: out 0x80, al */
		0xe4, 0x61, /* c: in al, 0x61 */
		0x41, 0xb8, 0x05, 0x00, 0x00, 0x00, /* e: mov r8d, 0x5 */
		0x45, 0x0f, 0x22, 0xc0, /* 14: mov cr8, r8 */
		0x44, 0x0f, 0x20, 0xc7, /* 18: mov rdi, cr8 */
		0x45, 0x31, 0xc0, /* 1c: xor r8d, r8d */
		0x45, 0x0f, 0x22, 0xc0, /* 1f: mov cr8, r8 */
		0xf4, /* 23: hlt */
	};

	f->h->in_data = 0x5a;
	assert_int_equal(run_both(f, code, sizeof(code), TC_SIZE), 0);
	assert_halted_at(f, CODE_BASE + 0x23);
	assert_same_as_native(f);
	assert_int_equal(f->regs.rdi, 5);
	assert_int_equal(f->regs.rax & 0xff, 0x5a);
	assert_int_equal(f->nr_out, 1);
	assert_int_equal(f->out_data[0], 0x41);
	assert_int_equal(f->bt.stats.callouts[BT_CALLOUT_CPUID], 1);
	assert_int_equal(f->bt.stats.callouts[BT_CALLOUT_IO], 2);
	/* The CR8 writes are checked in the TC; the read is a MOV from
	 * the vCPU page. */
	assert_int_equal(f->bt.stats.callouts[BT_CALLOUT_MOV_CR], 0);
	assert_int_equal(f->bt.stats.in_tc, 3);
	assert_int_equal(bt_vcpu_read64(&f->bt, BT_VCPU_CR8), 0);
}

/* MOV to CR8 with a bit above 3 set: #GP(0) at the MOV, as natively. */
static void test_bt__cr8_reserved_bits_raise_gp(void **state)
{
	struct bt_fixture *f = *state;
	static const uint8_t code[] = {
		0xb8, 0x10, 0x00, 0x00, 0x00, /* 0: mov eax, 0x10 */
		0x44, 0x0f, 0x22, 0xc0, /* 5: mov cr8, rax */
		0xf4, /* 9: hlt */
	};

	assert_int_equal(run_both(f, code, sizeof(code), TC_SIZE), 0);
	assert_halted_at(f, HARNESS_STUBS + 13 * HARNESS_STUB_SIZE);
	assert_same_as_native(f);
	assert_int_equal(harness_read64(f->h, f->regs.rsp), 0);
	assert_int_equal(harness_read64(f->h, f->regs.rsp + 8), CODE_BASE + 5);
	assert_int_equal(bt_vcpu_read64(&f->bt, BT_VCPU_CR8), 0);
}

/* Two RDTSCs read the virtual clock: the model's cycles in the TC plus
 * the software VMM's charges (docs/design/bt.md), pinned exactly. */
static void test_bt__rdtsc_reads_virtual_clock(void **state)
{
	struct bt_fixture *f = *state;
	static const uint8_t code[] = {
		0x0f, 0x31, /* 0: rdtsc */
		0x89, 0xc6, /* 2: mov esi, eax */
		0x0f, 0x31, /* 4: rdtsc */
		0x29, 0xf0, /* 6: sub eax, esi */
		0xf4, /* 8: hlt */
	};

	assert_int_equal(run_both(f, code, sizeof(code), TC_SIZE), 0);
	assert_int_equal(f->stop.reason, BT_STOP_HALTED);
	/* Between the reads: one callout (1,254) and the one instruction
	 * (mov esi, eax) the unit profile charges a cycle. */
	assert_int_equal(f->regs.rax, 1254 + 1);
	assert_int_equal(f->bt.stats.callouts[BT_CALLOUT_RDTSC], 2);
}

/* A store into code already translated: the TC is flushed, the store
 * completes, and the patched instruction runs as natively. */
static void test_bt__store_to_translated_code_invalidates(void **state)
{
	struct bt_fixture *f = *state;
	static const uint8_t code[] = {
		0xc6, 0x05, 0x01, 0x00, 0x00, 0x00, 0x07,
		/* 0: mov byte [rip+0x1], 0x7 ; the imm of the mov below */
		0xb8, 0x01, 0x00, 0x00, 0x00, /* 7: mov eax, 0x1 */
		0xf4, /* c: hlt */
	};

	assert_int_equal(run_both(f, code, sizeof(code), TC_SIZE), 0);
	assert_halted_at(f, CODE_BASE + 0xc);
	assert_same_as_native(f);
	assert_int_equal(f->regs.rax, 7);
	assert_int_equal(f->bt.stats.invalidations, 1);
	assert_int_equal(f->bt.stats.flushes, 1);
	/* The block at 0; the store alone; the block after it at 7. */
	assert_int_equal(f->bt.stats.blocks, 3);
}

/* #DE in translated code is delivered through the guest's IDT with the
 * guest RIP of the DIV in the frame, as natively. */
static void test_bt__fault_frame_holds_guest_rip(void **state)
{
	struct bt_fixture *f = *state;
	static const uint8_t code[] = {
		0x31, 0xc9, /* 0: xor ecx, ecx */
		0xb8, 0x01, 0x00, 0x00, 0x00, /* 2: mov eax, 0x1 */
		0x31, 0xd2, /* 7: xor edx, edx */
		0xf7, 0xf1, /* 9: div ecx */
		0xf4, /* b: hlt */
	};
	uint64_t rsp;

	assert_int_equal(run_both(f, code, sizeof(code), TC_SIZE), 0);
	assert_halted_at(f, HARNESS_STUBS + 0 * HARNESS_STUB_SIZE);
	assert_same_as_native(f);
	rsp = f->regs.rsp;
	assert_int_equal(harness_read64(f->h, rsp), CODE_BASE + 9);
	assert_int_equal(harness_read64(f->h, rsp + 8), SEL_KCODE);
	assert_int_equal(f->bt.stats.guest_exceptions, 1);
}

static void test_bt__vmxon_stops_with_a_clear_line(void **state)
{
	struct bt_fixture *f = *state;
	static const uint8_t code[] = {
		0xf3, 0x0f, 0xc7, 0x30, /* 0: vmxon [rax] */
		0xf4, /* 4: hlt */
	};

	assert_int_equal(run_both(f, code, sizeof(code), TC_SIZE), 0);
	assert_int_equal(f->stop.reason, BT_STOP_UNIMPL);
	assert_int_equal(f->stop.guest_rip, CODE_BASE);
	assert_non_null(strstr(f->stop.why, "single-level guests only"));
	assert_non_null(strstr(f->stop.why, "f3 0f c7 30"));
	assert_int_equal(f->bt.stats.callouts[BT_CALLOUT_VMX], 1);
}

/* The kernel sets up SYSCALL and SYSRETQs to user code, which runs
 * directly and makes a SYSCALL back into the translated kernel. */
static void test_bt__syscall_from_user_enters_translated_kernel(void **state)
{
	struct bt_fixture *f = *state;
	static const uint8_t user[] = {
		0xb8, 0x07, 0x00, 0x00, 0x00, /* 0: mov eax, 0x7 */
		0x0f, 0x05, /* 5: syscall */
		0xf4, /* 7: hlt */
	};
	static const uint8_t code[] = {
		0xb9, 0x81, 0x00, 0x00, 0xc0, /* 0: mov ecx, 0xc0000081 */
		0x31, 0xc0, /* 5: xor eax, eax */
		0xba, 0x08, 0x00, 0x10, 0x00, /* 7: mov edx, 0x100008 */
		0x0f, 0x30, /* c: wrmsr      ; STAR */
		0xb9, 0x82, 0x00, 0x00, 0xc0, /* e: mov ecx, 0xc0000082 */
		0xb8, 0x50, 0x00, 0x10, 0x00, /* 13: mov eax, 0x100050 */
		0x31, 0xd2, /* 18: xor edx, edx */
		0x0f, 0x30, /* 1a: wrmsr     ; LSTAR */
		0xb9, 0x84, 0x00, 0x00, 0xc0, /* 1c: mov ecx, 0xc0000084 */
		0xb8, 0x00, 0x02, 0x00, 0x00, /* 21: mov eax, 0x200 */
		0x0f, 0x30, /* 26: wrmsr     ; SFMASK = IF */
		0xb9, 0x80, 0x00, 0x00, 0xc0, /* 28: mov ecx, 0xc0000080 */
		0x0f, 0x32, /* 2d: rdmsr     ; EFER */
		0x83, 0xc8, 0x01, /* 2f: or eax, 0x1 (SCE) */
		0x0f, 0x30, /* 32: wrmsr */
		0xb9, 0x00, 0x00, 0x18, 0x00, /* 34: mov ecx, 0x180000 */
		0x41, 0xbb, 0x02, 0x02, 0x00, 0x00, /* 39: mov r11d, 0x202 */
		0x48, 0x0f, 0x07, /* 3f: sysretq */
		0x90, 0x90, 0x90, 0x90, 0x90, 0x90, 0x90, 0x90, /* 42: nop... */
		0x90, 0x90, 0x90, 0x90, 0x90, 0x90, /* 4a: nop... */
		0x89, 0xc3, /* 50: mov ebx, eax */
		0x83, 0xc3, 0x01, /* 52: add ebx, 0x1 */
		0xf4, /* 55: hlt */
	};

	harness_load(f->h, USER_CODE, user, sizeof(user));
	assert_int_equal(run_both(f, code, sizeof(code), TC_SIZE), 0);
	assert_halted_at(f, CODE_BASE + 0x55);
	assert_same_as_native(f);
	assert_int_equal(f->regs.rbx, 8);
	assert_int_equal(f->regs.rcx, USER_CODE + 7);
	assert_int_equal(f->regs.r11, X86_EFLAGS_FIXED | X86_EFLAGS_IF);
	assert_int_equal(harness_vmread(f->h, GUEST_CS_SELECTOR), SEL_KCODE);
	assert_int_equal(f->bt.stats.syscalls, 1);
	assert_int_equal(f->bt.stats.callouts[BT_CALLOUT_MSR], 5);
	assert_int_equal(f->bt.stats.callouts[BT_CALLOUT_INT], 1);
	/* User code ran directly: no block was translated from it. */
	assert_int_equal(f->bt.stats.blocks, 2);
}

/* SGDT, SIDT and STR run as they are: the container's GDTR, IDTR and TR
 * are the guest's own, so the stores give what the guest loaded. */
static void test_bt__sgdt_sidt_str_match_native(void **state)
{
	struct bt_fixture *f = *state;
	static const uint8_t code[] = {
		0x0f, 0x01, 0x04, 0x25, 0x00, 0x00, 0x1c, 0x00,
		/* 0: sgdt [0x1c0000] */
		0x0f, 0x01, 0x0c, 0x25, 0x10, 0x00, 0x1c, 0x00,
		/* 8: sidt [0x1c0010] */
		0x0f, 0x00, 0xc8, /* 10: str eax */
		0x0f, 0x01, 0x05, 0x06, 0x00, 0x0c, 0x00,
		/* 13: sgdt [rip+0xc0006]  ; DATA_BASE + 0x20 */
		0xf4, /* 1a: hlt */
	};

	assert_int_equal(run_both(f, code, sizeof(code), TC_SIZE), 0);
	assert_halted_at(f, CODE_BASE + 0x1a);
	assert_same_as_native(f);
	assert_int_equal(harness_read64(f->h, DATA_BASE + 2), HARNESS_GDT);
	assert_int_equal(harness_read64(f->h, DATA_BASE + 0x12), HARNESS_IDT);
	assert_int_equal(harness_read64(f->h, DATA_BASE + 0x22), HARNESS_GDT);
	assert_int_equal(f->regs.rax, SEL_TSS);
	/* Four IDENT copies (one RIP-relative) and the HLT callout. */
	assert_int_equal(f->bt.stats.callouts_total, 1);
	assert_int_equal(f->bt.stats.rip_rel, 1);
}

/* MOV to CR0 toggling TS goes to the container's CR0 and reads back; a
 * CR4 bit the processor lacks (UMIP) is #GP(0) at the MOV, as natively. */
static void test_bt__cr0_ts_followed_and_cr4_reserved_bit_gp(void **state)
{
	struct bt_fixture *f = *state;
	static const uint8_t code[] = {
		0x0f, 0x20, 0xc0, /* 0: mov rax, cr0 */
		0x83, 0xc8, 0x08, /* 3: or eax, 0x8 (TS) */
		0x0f, 0x22, 0xc0, /* 6: mov cr0, rax */
		0x0f, 0x20, 0xc3, /* 9: mov rbx, cr0 */
		0x83, 0xe0, 0xf7, /* c: and eax, 0xfffffff7 */
		0x0f, 0x22, 0xc0, /* f: mov cr0, rax */
		0x0f, 0x20, 0xe1, /* 12: mov rcx, cr4 */
		0x48, 0x89, 0xca, /* 15: mov rdx, rcx */
		0x81, 0xca, 0x00, 0x08, 0x00, 0x00, /* 18: or edx, 0x800 */
		0x0f, 0x22, 0xe2, /* 1e: mov cr4, rdx */
		0xf4, /* 21: hlt */
	};

	assert_int_equal(run_both(f, code, sizeof(code), TC_SIZE), 0);
	assert_halted_at(f, HARNESS_STUBS + 13 * HARNESS_STUB_SIZE);
	assert_same_as_native(f);
	assert_int_equal(f->regs.rbx & X86_CR0_TS, X86_CR0_TS);
	assert_int_equal(harness_vmread(f->h, GUEST_CR0) & X86_CR0_TS, 0);
	assert_int_equal(harness_read64(f->h, f->regs.rsp + 8),
			 CODE_BASE + 0x1e);
	assert_int_equal(harness_vmread(f->h, GUEST_CR4) & X86_CR4_UMIP, 0);
	assert_int_equal(f->bt.stats.callouts[BT_CALLOUT_MOV_CR], 6);
}

/* A CR0 bit the shadow MMU depends on (WP) is not virtualized: the run
 * stops with the bits named. */
static void test_bt__cr0_wp_change_stops(void **state)
{
	struct bt_fixture *f = *state;
	static const uint8_t code[] = {
		0x0f, 0x20, 0xc0, /* 0: mov rax, cr0 */
		0x0f, 0xba, 0xf8, 0x10, /* 3: btc eax, 0x10 (WP) */
		0x0f, 0x22, 0xc0, /* 7: mov cr0, rax */
		0xf4, /* a: hlt */
	};

	assert_int_equal(run_both(f, code, sizeof(code), TC_SIZE), 0);
	assert_int_equal(f->stop.reason, BT_STOP_UNIMPL);
	assert_int_equal(f->stop.guest_rip, CODE_BASE + 7);
	assert_non_null(
		strstr(f->stop.why, "MOV to CR0 changing bits 0x10000"));
}

/* IRETQ from the kernel to 64-bit user code, which runs directly (DS,
 * with DPL 0, becomes null as natively) and SYSCALLs back. */
static void test_bt__iretq_to_user_code_runs_it_directly(void **state)
{
	struct bt_fixture *f = *state;
	static const uint8_t user[] = {
		0x8c, 0xdb, /* 0: mov ebx, ds */
		0xb8, 0x07, 0x00, 0x00, 0x00, /* 2: mov eax, 0x7 */
		0x0f, 0x05, /* 7: syscall */
		0xf4, /* 9: hlt */
	};
	static const uint8_t code[] = {
		0xb9, 0x81, 0x00, 0x00, 0xc0, /* 0: mov ecx, 0xc0000081 */
		0x31, 0xc0, /* 5: xor eax, eax */
		0xba, 0x08, 0x00, 0x10, 0x00, /* 7: mov edx, 0x100008 */
		0x0f, 0x30, /* c: wrmsr      ; STAR */
		0xb9, 0x82, 0x00, 0x00, 0xc0, /* e: mov ecx, 0xc0000082 */
		0xb8, 0x50, 0x00, 0x10, 0x00, /* 13: mov eax, 0x100050 */
		0x31, 0xd2, /* 18: xor edx, edx */
		0x0f, 0x30, /* 1a: wrmsr     ; LSTAR */
		0xb9, 0x84, 0x00, 0x00, 0xc0, /* 1c: mov ecx, 0xc0000084 */
		0xb8, 0x00, 0x02, 0x00, 0x00, /* 21: mov eax, 0x200 */
		0x0f, 0x30, /* 26: wrmsr     ; SFMASK = IF */
		0xb9, 0x80, 0x00, 0x00, 0xc0, /* 28: mov ecx, 0xc0000080 */
		0x0f, 0x32, /* 2d: rdmsr     ; EFER */
		0x83, 0xc8, 0x01, /* 2f: or eax, 0x1 (SCE) */
		0x0f, 0x30, /* 32: wrmsr */
		0x6a, 0x1b, /* 34: push 0x1b       ; SS */
		0x68, 0x00, 0x00, 0x19, 0x00, /* 36: push 0x190000 ; RSP */
		0x68, 0x02, 0x02, 0x00, 0x00, /* 3b: push 0x202   ; RFLAGS */
		0x6a, 0x23, /* 40: push 0x23       ; CS */
		0x68, 0x00, 0x00, 0x18, 0x00, /* 42: push 0x180000 ; RIP */
		0x48, 0xcf, /* 47: iretq */
		0x90, 0x90, 0x90, 0x90, 0x90, 0x90, 0x90, /* 49: nop... */
		0xf4, /* 50: hlt */
	};

	harness_load(f->h, USER_CODE, user, sizeof(user));
	assert_int_equal(run_both(f, code, sizeof(code), TC_SIZE), 0);
	assert_halted_at(f, CODE_BASE + 0x50);
	assert_same_as_native(f);
	assert_int_equal(f->regs.rbx, 0);
	assert_int_equal(f->regs.rcx, USER_CODE + 9);
	assert_int_equal(f->regs.rsp, USER_STACK_TOP);
	assert_int_equal(harness_vmread(f->h, GUEST_DS_SELECTOR), 0);
	assert_int_equal(f->bt.stats.syscalls, 1);
	assert_int_equal(f->bt.stats.callouts[BT_CALLOUT_INT], 1);
	/* User code ran directly: the kernel's two blocks only. */
	assert_int_equal(f->bt.stats.blocks, 2);
}

/* A TC with room for one page of code: a chain of 300 blocks does not
 * fit, the TC is flushed when full, and the result is unchanged. */
#define CHAIN_STEPS 300
static void test_bt__full_tc_flushes_and_continues(void **state)
{
	struct bt_fixture *f = *state;
	static uint8_t code[CHAIN_STEPS * 7 + 1];
	unsigned int i;

	/* CHAIN_STEPS x { add eax, 1 (83 c0 01); jmp +2 (eb 02);
	 * ud2 (0f 0b) }, then hlt (f4). */
	for (i = 0; i < CHAIN_STEPS; i++) {
		static const uint8_t step[] = { 0x83, 0xc0, 0x01, 0xeb,
						0x02, 0x0f, 0x0b };

		memcpy(code + 7 * i, step, sizeof(step));
	}
	code[7 * i] = 0xf4;
	assert_int_equal(run_both(f, code, sizeof(code), 2 * 4096), 0);
	assert_halted_at(f, CODE_BASE + 7 * CHAIN_STEPS);
	assert_same_as_native(f);
	assert_int_equal(f->regs.rax, CHAIN_STEPS);
	assert_int_equal(f->bt.stats.blocks, CHAIN_STEPS + 1);
	/*
	 * A block takes 13 bytes (add 3, jmp rel32 5, its stub 5) but a
	 * new one needs room for the worst case, 32 x (16 + 2 x 5) = 832:
	 * (4096 - 832) / 13 = 251 blocks fit, then one flush.
	 */
	assert_int_equal(f->bt.stats.flushes, 1);
}

/* ---- A&A's nanobenchmark loops under translation --------------------------
 *
 * Each loop times itself with RDTSC, as guests/bench/nano.c does, and is
 * run for N and 2N iterations: the difference over N is the steady-state
 * cost of one iteration on the virtual clock, translation excluded, with
 * A&A's figures as the software VMM's charges (translation 2,300 per
 * instruction, a callout 1,254, a trap 2,030) and the unit profile's one
 * cycle per instruction the TC retires.
 */

/* Loads the loop with its iteration count at byte offset `at` and
 * returns the cycles it measured (EAX at the HLT). */
static const uint8_t *nano_user;
static size_t nano_user_len;

static uint64_t nano_cycles(struct bt_fixture *f, uint8_t *code, size_t len,
			    size_t at, uint32_t iters)
{
	void *hs = f->h;

	/* A fresh machine for each run: the last one is in VMX operation. */
	bt_destroy(&f->bt);
	harness_teardown(&hs);
	assert_int_equal(harness_setup(&hs), 0);
	f->h = hs;
	if (nano_user)
		harness_load(f->h, USER_CODE, nano_user, nano_user_len);
	memcpy(code + at, &iters, 4);
	f->nr_out = 0;
	assert_int_equal(run_both(f, code, len, TC_SIZE), 0);
	assert_int_equal(f->stop.reason, BT_STOP_HALTED);
	/* Natively the same loop halts at the same HLT. */
	assert_int_equal(f->native_rip, f->stop.guest_rip);
	return (uint32_t)f->regs.rax;
}

static uint64_t nano_per_iter(struct bt_fixture *f, uint8_t *code, size_t len,
			      size_t at)
{
	uint64_t one = nano_cycles(f, code, len, at, 100);
	uint64_t two = nano_cycles(f, code, len, at, 200);

	return (two - one) / 100;
}

static void test_bt__nano_callret_ret_hits_return_table(void **state)
{
	struct bt_fixture *f = *state;
	uint8_t code[] = {
		0xb9, 0x64, 0x00, 0x00, 0x00, /* 0: mov ecx, N */
		0x0f, 0x31, /* 5: rdtsc */
		0x89, 0xc6, /* 7: mov esi, eax */
		0xe8, 0x0a, 0x00, 0x00, 0x00, /* 9: call 0x18 */
		0xff, 0xc9, /* e: dec ecx */
		0x75, 0xf7, /* 10: jne 0x9 */
		0x0f, 0x31, /* 12: rdtsc */
		0x29, 0xf0, /* 14: sub eax, esi */
		0xf4, /* 16: hlt */
		0x90, /* 17: nop */
		0xc3, /* 18: ret */
	};
	uint64_t per = nano_per_iter(f, code, sizeof(code), 1);

	/* push imm32 + jmp (the CALL), the RET's return-table hit (20
	 * instructions), dec, jne: 24 TC instructions, no callout; the
	 * first RET missed and filled the entry. A&A's BT: 51. */
	assert_int_equal(per, 24);
	assert_int_equal(f->bt.stats.callouts[BT_CALLOUT_RET], 1);
	/* and two RDTSCs, three block exits, the HLT */
	assert_int_equal(f->bt.stats.callouts[BT_CALLOUT_EXIT], 3);
	assert_int_equal(f->bt.stats.callouts_total, 7);
}

static void test_bt__nano_cr8wr_checked_in_tc(void **state)
{
	struct bt_fixture *f = *state;
	uint8_t code[] = {
		0xb9, 0x64, 0x00, 0x00, 0x00, /* 0: mov ecx, N */
		0x31, 0xd2, /* 5: xor edx, edx */
		0x0f, 0x31, /* 7: rdtsc */
		0x89, 0xc6, /* 9: mov esi, eax */
		0x44, 0x0f, 0x22, 0xc2, /* b: mov cr8, rdx */
		0xff, 0xc9, /* f: dec ecx */
		0x75, 0xf8, /* 11: jne 0xb */
		0x0f, 0x31, /* 13: rdtsc */
		0x29, 0xf0, /* 15: sub eax, esi */
		0xf4, /* 17: hlt */
	};
	uint64_t per = nano_per_iter(f, code, sizeof(code), 1);

	/* The CR8 write checked in the TC (15 instructions), dec, jne.
	 * A&A: 35 cycles. */
	assert_int_equal(per, 17);
	assert_int_equal(f->bt.stats.callouts[BT_CALLOUT_MOV_CR], 0);
}

static void test_bt__nano_in_one_io_callout_per_iteration(void **state)
{
	struct bt_fixture *f = *state;
	uint8_t code[] = {
		0xb9, 0x64, 0x00, 0x00, 0x00, /* 0: mov ecx, N */
		0x0f, 0x31, /* 5: rdtsc */
		0x89, 0xc6, /* 7: mov esi, eax */
		0xe4, 0x80, /* 9: in al, 0x80 */
		0xff, 0xc9, /* b: dec ecx */
		0x75, 0xfa, /* d: jne 0x9 */
		0x0f, 0x31, /* f: rdtsc */
		0x29, 0xf0, /* 11: sub eax, esi */
		0xf4, /* 13: hlt */
	};
	uint64_t per = nano_per_iter(f, code, sizeof(code), 1);

	/* A&A: ~210, the virtual device emulated in the TC; here L0's
	 * device through a callout. */
	assert_int_equal(per, 1254 + 2);
	assert_int_equal(f->bt.stats.callouts[BT_CALLOUT_IO], 200);
}

static void test_bt__nano_syscall_one_trap_and_one_sysret(void **state)
{
	struct bt_fixture *f = *state;
	static const uint8_t user[] = {
		0x0f, 0x05, /* 0: syscall */
		0xeb, 0xfc, /* 2: jmp 0x0 */
	};
	uint8_t code[] = {
		0xb9, 0x81, 0x00, 0x00, 0xc0, /* 0: mov ecx, 0xc0000081 */
		0x31, 0xc0, /* 5: xor eax, eax */
		0xba, 0x08, 0x00, 0x10, 0x00, /* 7: mov edx, 0x100008 */
		0x0f, 0x30, /* c: wrmsr      ; STAR */
		0xb9, 0x82, 0x00, 0x00, 0xc0, /* e: mov ecx, 0xc0000082 */
		0xb8, 0x50, 0x00, 0x10, 0x00, /* 13: mov eax, 0x100050 */
		0x31, 0xd2, /* 18: xor edx, edx */
		0x0f, 0x30, /* 1a: wrmsr     ; LSTAR */
		0xb9, 0x80, 0x00, 0x00, 0xc0, /* 1c: mov ecx, 0xc0000080 */
		0x0f, 0x32, /* 21: rdmsr     ; EFER */
		0x83, 0xc8, 0x01, /* 23: or eax, 0x1 (SCE) */
		0x0f, 0x30, /* 26: wrmsr */
		0x41, 0xbc, 0x64, 0x00, 0x00, 0x00, /* 28: mov r12d, N */
		0x0f, 0x31, /* 2e: rdtsc */
		0x89, 0xc6, /* 30: mov esi, eax */
		0xb9, 0x00, 0x00, 0x18, 0x00, /* 32: mov ecx, 0x180000 */
		0x41, 0xbb, 0x02, 0x00, 0x00, 0x00, /* 37: mov r11d, 0x2 */
		0x48, 0x0f, 0x07, /* 3d: sysretq */
		0x90, 0x90, 0x90, 0x90, 0x90, 0x90, 0x90, 0x90, /* 40: nop... */
		0x90, 0x90, 0x90, 0x90, 0x90, 0x90, 0x90, 0x90, /* 48: nop... */
		0x41, 0xff, 0xcc, /* 50: dec r12d */
		0x74, 0x03, /* 53: je 0x58 */
		0x48, 0x0f, 0x07, /* 55: sysretq */
		0x0f, 0x31, /* 58: rdtsc */
		0x29, 0xf0, /* 5a: sub eax, esi */
		0xf4, /* 5c: hlt */
	};
	uint64_t per;

	nano_user = user;
	nano_user_len = sizeof(user);
	per = nano_per_iter(f, code, sizeof(code), 0x2a);
	nano_user = NULL;
	/* User code runs directly (jmp; the faulting SYSCALL retires
	 * nothing); in the TC dec, je and the jmp a not-taken jcc becomes
	 * (to the SYSRETQ's block); one #UD trap and one SYSRETQ callout.
	 * A&A's BT: ~2,250. */
	assert_int_equal(per, 2030 + 1254 + 4);
	assert_int_equal(f->bt.stats.syscalls, 200);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
		T(test_bt__ident_block_matches_native),
		T(test_bt__rip_relative_operands_made_absolute),
		T(test_bt__loop_chains_blocks),
		T(test_bt__call_pushes_guest_return_address),
		T(test_bt__popf_sets_virtual_if_exactly),
		T(test_bt__ret_imm16_misses_then_hits),
		T(test_bt__popf_with_tf_calls_out),
		T(test_bt__cpuid_io_and_cr8_match_native),
		T(test_bt__cr8_reserved_bits_raise_gp),
		T(test_bt__rdtsc_reads_virtual_clock),
		T(test_bt__store_to_translated_code_invalidates),
		T(test_bt__fault_frame_holds_guest_rip),
		T(test_bt__vmxon_stops_with_a_clear_line),
		T(test_bt__syscall_from_user_enters_translated_kernel),
		T(test_bt__sgdt_sidt_str_match_native),
		T(test_bt__cr0_ts_followed_and_cr4_reserved_bit_gp),
		T(test_bt__cr0_wp_change_stops),
		T(test_bt__iretq_to_user_code_runs_it_directly),
		T(test_bt__full_tc_flushes_and_continues),
		T(test_bt__nano_callret_ret_hits_return_table),
		T(test_bt__nano_cr8wr_checked_in_tc),
		T(test_bt__nano_in_one_io_callout_per_iteration),
		T(test_bt__nano_syscall_one_trap_and_one_sysret),
#undef T
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
