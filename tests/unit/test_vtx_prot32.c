/* SPDX-License-Identifier: MIT */
/*
 * 32-bit protected mode and the switch to long mode in the model (SDM
 * Vol. 3A 5.3 limit checks, 5.8 far transfers, 6.12 32-bit IDT delivery,
 * 9.8.5 activating IA-32e mode): raw instruction bytes, each with its
 * disassembly, run on a fresh machine set to 32-bit protected mode with a
 * flat GDT of its own. Host side.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "arch/x86_msr.h"
#include "arch/x86_seg.h"
#include "tests/unit/vtx_harness.h"

#define P32_GDT 0x8000ull
#define P32_IDT 0x9000ull
#define P32_STUBS 0xa000ull /* vector v's handler: HLT at P32_STUBS + 16v */
#define P32_STACK 0x80000ull

#define P32_CODE 0x08 /* flat 4 GiB 32-bit code */
#define P32_DATA 0x10 /* flat 4 GiB data */
#define P32_CODE64 0x18 /* 64-bit code */
#define P32_SMALL 0x20 /* data, base 0, byte-granular limit 0xfff */
#define P32_CODE_2M 0x28 /* 32-bit code, limit 0x1fffff */

static const uint64_t p32_gdt[] = {
	0,
	0x00cf9b000000ffffull, /* 0x08 */
	0x00cf93000000ffffull, /* 0x10 */
	0x00af9b000000ffffull, /* 0x18 */
	0x0040930000000fffull, /* 0x20 */
	0x00c09b00000001ffull, /* 0x28 */
};

static struct kvm_segment p32_seg(uint64_t desc, uint16_t sel)
{
	struct kvm_segment s;

	x86_seg_decode_desc(&s, desc, sel);
	return s;
}

/* CR0.PE = 1, paging off, CS.D = 1, flat DS/ES/FS/GS/SS, a 32-bit IDT
 * whose 32 first gates (and 0x21, 0x22) lead to HLT stubs. */
static void p32_enter(struct harness *h)
{
	uint32_t idt[2 * 0x30];
	uint8_t stubs[0x30 * 16];

	memset(stubs, 0xf4, sizeof(stubs));
	for (unsigned int v = 0; v < 0x30; v++) {
		uint32_t at = (uint32_t)(P32_STUBS + v * 16);

		idt[2 * v] = (P32_CODE << 16) | (at & 0xffff);
		idt[2 * v + 1] = (at & 0xffff0000u) | 0x8e00; /* P, int gate */
	}
	harness_load(h, P32_GDT, p32_gdt, sizeof(p32_gdt));
	harness_load(h, P32_IDT, idt, sizeof(idt));
	harness_load(h, P32_STUBS, stubs, sizeof(stubs));
	h->sregs.cs = p32_seg(p32_gdt[1], P32_CODE);
	h->sregs.ds = p32_seg(p32_gdt[2], P32_DATA);
	h->sregs.es = h->sregs.ds;
	h->sregs.fs = h->sregs.ds;
	h->sregs.gs = h->sregs.ds;
	h->sregs.ss = h->sregs.ds;
	h->sregs.gdt.base = P32_GDT;
	h->sregs.gdt.limit = sizeof(p32_gdt) - 1;
	h->sregs.idt.base = P32_IDT;
	h->sregs.idt.limit = sizeof(idt) - 1;
	h->sregs.cr0 = X86_CR0_PE | X86_CR0_ET;
	h->sregs.cr4 = 0;
	h->sregs.efer = 0;
	h->regs.rsp = P32_STACK;
	h->regs.rflags = X86_EFLAGS_FIXED;
}

static uint32_t p32_read32(struct harness *h, uint64_t gpa)
{
	return (uint32_t)harness_read64(h, gpa);
}

/* The vector whose 32-bit stub the CPU halted in, or -1. */
static int p32_stop_vector(const struct harness *h)
{
	uint64_t off = h->stop.rip - P32_STUBS;

	if (h->stop.reason != VTX_STOP_HALTED || h->stop.rip < P32_STUBS ||
	    off >= 0x30 * 16 || off % 16)
		return -1;
	return (int)(off / 16);
}

static void test_prot32__push_pop_add_use_32bit_sizes(void **state)
{
	struct harness *h = *state;
	static const uint8_t code[] = {
		0x50, /* push eax */
		0x5b, /* pop ebx */
		0x01, 0xcb, /* add ebx, ecx */
		0x66, 0xb8, 0x34, 0x12, /* mov ax, 0x1234 */
	};

	p32_enter(h);
	h->regs.rax = 0xdeadbeef;
	h->regs.rcx = 0x11111111;
	harness_exec(h, code, sizeof(code), 4);
	assert_int_equal(h->regs.rbx, 0xefbed000);
	assert_int_equal(h->regs.rsp, P32_STACK);
	assert_int_equal(p32_read32(h, P32_STACK - 4), 0xdeadbeef);
	/* The 66h prefix makes the operand 16-bit: the upper half stays. */
	assert_int_equal(h->regs.rax, 0xdead1234);
	assert_int_equal(h->regs.rip, CODE_BASE + sizeof(code));
}

static void test_prot32__lgdt_loads_32bit_base_from_6_bytes(void **state)
{
	struct harness *h = *state;
	static const uint8_t code[] = {
		0x0f, 0x01, 0x15, 0x00, 0x00, 0x1c, 0x00, /* lgdt [0x1c0000] */
	};
	static const uint8_t pd[8] = { 0x2f, 0x00, 0x78, 0x56,
				       0x34, 0x12, 0xaa, 0xbb };

	p32_enter(h);
	harness_load(h, DATA_BASE, pd, sizeof(pd));
	harness_exec(h, code, sizeof(code), 1);
	assert_int_equal(h->sregs.gdt.base, 0x12345678);
	assert_int_equal(h->sregs.gdt.limit, 0x2f);
}

/* The whole switch of SDM 9.8.5 as a multiboot kernel makes it: EFER.LME
 * by WRMSR, CR0.PG with CR4.PAE (compatibility mode), a far JMP into a
 * 64-bit code segment, where REX.W decodes as a prefix. */
static void test_prot32__lme_pg_far_jmp_enters_64bit_mode(void **state)
{
	struct harness *h = *state;
	static const uint8_t code[] = {
		0xb9, 0x80, 0x00, 0x00, 0xc0, /* mov ecx, 0xc0000080 */
		0x0f, 0x32, /* rdmsr */
		0x0d, 0x00, 0x01, 0x00, 0x00, /* or eax, 0x100 */
		0x0f, 0x30, /* wrmsr */
		0x0f, 0x20, 0xc0, /* mov eax, cr0 */
		0x0d, 0x00, 0x00, 0x00, 0x80, /* or eax, 0x80000000 */
		0x0f, 0x22, 0xc0, /* mov cr0, eax */
		0xea, 0x20, 0x00, 0x10, 0x00, 0x18,
		0x00, /* jmp 0x18:0x100020 */
		/* 64-bit code at 0x100020: */
		0x48, 0xb8, 0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22,
		0x11, /* movabs rax, 0x1122334455667788 */
	};

	p32_enter(h);
	h->sregs.cr3 = HARNESS_PML4;
	h->sregs.cr4 = X86_CR4_PAE;
	harness_exec(h, code, sizeof(code), 7);
	/* After MOV CR0: IA-32e mode active, still 32-bit code. */
	assert_int_equal(h->sregs.efer, EFER_LME | EFER_LMA);
	assert_int_equal(h->sregs.cs.l, 0);
	assert_true(h->sregs.cr0 & X86_CR0_PG);
	h->regs.rip = CODE_BASE + 25;
	assert_int_equal(harness_run(h, 2), VTX_STOP_INSN_LIMIT);
	assert_int_equal(h->sregs.cs.selector, P32_CODE64);
	assert_int_equal(h->sregs.cs.l, 1);
	assert_int_equal(h->regs.rax, 0x1122334455667788ull);
	assert_int_equal(h->regs.rip, CODE_BASE + sizeof(code));
}

static void
test_prot32__pg_with_lme_without_pae_raises_gp_via_32bit_idt(void **state)
{
	struct harness *h = *state;
	static const uint8_t code[] = {
		0x0f, 0x22, 0xc0, /* mov cr0, eax */
	};

	p32_enter(h);
	h->sregs.efer = EFER_LME;
	h->regs.rax = X86_CR0_PE | X86_CR0_ET | X86_CR0_PG;
	h->regs.rflags = X86_EFLAGS_FIXED | X86_EFLAGS_IF;
	assert_int_equal(harness_run_code(h, code, sizeof(code)),
			 VTX_STOP_HALTED);
	assert_int_equal(p32_stop_vector(h), 13);
	/* Frame (SDM 6.12.1, Figure 6-4): error code, EIP, CS, EFLAGS. */
	assert_int_equal(h->regs.rsp, P32_STACK - 16);
	assert_int_equal(p32_read32(h, P32_STACK - 16), 0);
	assert_int_equal(p32_read32(h, P32_STACK - 12), CODE_BASE);
	assert_int_equal(p32_read32(h, P32_STACK - 8), P32_CODE);
	assert_int_equal(p32_read32(h, P32_STACK - 4),
			 X86_EFLAGS_FIXED | X86_EFLAGS_IF);
	/* An interrupt gate clears IF; CR0 kept its old value. */
	assert_rflags(h, 0);
	assert_false(h->sregs.cr0 & X86_CR0_PG);
}

static void test_prot32__int_n_and_iretd_return_to_the_next_insn(void **state)
{
	struct harness *h = *state;
	static const uint8_t code[] = {
		0xcd, 0x22, /* int 0x22 */
		0xb8, 0x05, 0x00, 0x00, 0x00, /* mov eax, 5 */
	};
	static const uint8_t iretd = 0xcf; /* iretd */

	p32_enter(h);
	harness_load(h, P32_STUBS + 0x22 * 16, &iretd, 1);
	h->regs.rflags = X86_EFLAGS_FIXED | X86_EFLAGS_CF;
	harness_exec(h, code, sizeof(code), 3);
	assert_int_equal(h->regs.rax, 5);
	assert_int_equal(h->regs.rsp, P32_STACK);
	assert_int_equal(p32_read32(h, P32_STACK - 12), CODE_BASE + 2);
	assert_int_equal(p32_read32(h, P32_STACK - 8), P32_CODE);
	assert_rflags(h, X86_EFLAGS_CF);
}

static void test_prot32__far_call_and_far_ret_keep_the_privilege(void **state)
{
	struct harness *h = *state;
	static const uint8_t code[] = {
		0x9a, 0x10, 0x00, 0x10, 0x00,
		0x08, 0x00, /* call 0x08:0x100010 */
		0xb8, 0x01, 0x00, 0x00, 0x00, /* mov eax, 1 */
		0x90, 0x90, 0x90, 0x90, /* nop x4 (padding) */
		0xcb, /* 0x100010: retf */
	};

	p32_enter(h);
	harness_exec(h, code, sizeof(code), 1);
	assert_int_equal(h->regs.rip, CODE_BASE + 0x10);
	assert_int_equal(h->regs.rsp, P32_STACK - 8);
	assert_int_equal(p32_read32(h, P32_STACK - 8), CODE_BASE + 7);
	assert_int_equal(p32_read32(h, P32_STACK - 4), P32_CODE);
	assert_int_equal(harness_run(h, 2), VTX_STOP_INSN_LIMIT);
	assert_int_equal(h->regs.rax, 1);
	assert_int_equal(h->regs.rsp, P32_STACK);
	assert_int_equal(h->sregs.cs.selector, P32_CODE);
}

static void test_prot32__access_beyond_ds_limit_raises_gp(void **state)
{
	struct harness *h = *state;
	static const uint8_t code[] = {
		0x8e, 0xd8, /* mov ds, eax */
		0xa1, 0xfc, 0x0f, 0x00, 0x00, /* mov eax, [0xffc] */
		0xa1, 0xfd, 0x0f, 0x00, 0x00, /* mov eax, [0xffd] */
	};
	static const uint32_t v = 0xcafef00d;

	p32_enter(h);
	harness_load(h, 0xffc, &v, 4);
	h->regs.rax = P32_SMALL;
	assert_int_equal(harness_run_code(h, code, sizeof(code)),
			 VTX_STOP_HALTED);
	assert_int_equal(p32_stop_vector(h), 13);
	/* The last byte of [0xffc, 0xfff] is within the limit, not so
	 * [0xffd, 0x1000] (SDM 5.3). */
	assert_int_equal(h->regs.rax, 0xcafef00d);
	assert_int_equal(p32_read32(h, P32_STACK - 16), 0);
	assert_int_equal(p32_read32(h, P32_STACK - 12), CODE_BASE + 7);
	assert_int_equal(h->sregs.ds.selector, P32_SMALL);
	assert_int_equal(h->sregs.ds.limit, 0xfff);
}

static void test_prot32__push_beyond_ss_limit_raises_ss(void **state)
{
	struct harness *h = *state;
	static const uint8_t code[] = {
		0x8e, 0xd0, /* mov ss, eax */
		0xbc, 0x00, 0x20, 0x00, 0x00, /* mov esp, 0x2000 */
		0x50, /* push eax */
	};

	p32_enter(h);
	h->regs.rax = P32_SMALL;
	/* The #SS frame itself is out of SS's limit too: #SS, #DF, then a
	 * triple fault, whose chain names the first fault. */
	assert_int_equal(harness_run_code(h, code, sizeof(code)),
			 VTX_STOP_TRIPLE_FAULT);
	assert_int_equal(strncmp(h->stop.why, "#SS(0x0) at RIP 0x100007", 24),
			 0);
	assert_int_equal(h->regs.rsp, 0x2000);
}

static void test_prot32__near_jmp_beyond_cs_limit_raises_gp(void **state)
{
	struct harness *h = *state;
	static const uint8_t code[] = {
		0xff, 0xe0, /* jmp eax */
	};

	p32_enter(h);
	h->sregs.cs = p32_seg(p32_gdt[5], P32_CODE_2M);
	h->regs.rax = 0x200000;
	assert_int_equal(harness_run_code(h, code, sizeof(code)),
			 VTX_STOP_HALTED);
	assert_int_equal(p32_stop_vector(h), 13);
	assert_int_equal(p32_read32(h, P32_STACK - 12), CODE_BASE);
}

static void test_prot32__null_ss_load_raises_gp(void **state)
{
	struct harness *h = *state;
	static const uint8_t code[] = {
		0x31, 0xc0, /* xor eax, eax */
		0x8e, 0xd0, /* mov ss, eax */
	};

	p32_enter(h);
	assert_int_equal(harness_run_code(h, code, sizeof(code)),
			 VTX_STOP_HALTED);
	assert_int_equal(p32_stop_vector(h), 13);
	assert_int_equal(p32_read32(h, P32_STACK - 12), CODE_BASE + 2);
	assert_int_equal(h->sregs.ss.selector, P32_DATA);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(name) \
	cmocka_unit_test_setup_teardown(name, harness_setup, harness_teardown)
		T(test_prot32__push_pop_add_use_32bit_sizes),
		T(test_prot32__lgdt_loads_32bit_base_from_6_bytes),
		T(test_prot32__lme_pg_far_jmp_enters_64bit_mode),
		T(test_prot32__pg_with_lme_without_pae_raises_gp_via_32bit_idt),
		T(test_prot32__int_n_and_iretd_return_to_the_next_insn),
		T(test_prot32__far_call_and_far_ret_keep_the_privilege),
		T(test_prot32__access_beyond_ds_limit_raises_gp),
		T(test_prot32__push_beyond_ss_limit_raises_ss),
		T(test_prot32__near_jmp_beyond_cs_limit_raises_gp),
		T(test_prot32__null_ss_load_raises_gp),
#undef T
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
