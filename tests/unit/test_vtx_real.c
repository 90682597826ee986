/* SPDX-License-Identifier: MIT */
/*
 * Real-address mode and 16-bit code in the model (SDM Vol. 3A ch. 20,
 * 9.9; Vol. 1 3.3): 16-bit operand and address sizes, segment loads,
 * far transfers, the IVT, mode switches real -> protected -> real and
 * real -> long, 16-bit protected and compatibility mode, and the legacy
 * instructions (PUSHA, ENTER, LMSW, INS/OUTS, BCD, BOUND, LDS, XLAT, ...).
 * Raw bytes with their disassembly (objdump -mi8086 -M intel). Host side.
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

/*
 * Real-mode layout (paging off, so linear = physical):
 *   0x00000  IVT: vector v -> RM_STUB_SEG:v, where a HLT waits
 *   0x08000  GDT for the mode-switch tests
 *   0x09000  the HLT stubs (RM_STUB_SEG << 4)
 *   0x20000  code (CS = RM_CODE_SEG, IP = 0)
 *   0x30000  stack (SS = RM_STACK_SEG, SP = RM_SP)
 *   0x40000  data (DS = ES = RM_DATA_SEG)
 */
#define RM_GDT 0x8000ull
#define RM_STUB_SEG 0x0900
#define RM_CODE_SEG 0x2000
#define RM_STACK_SEG 0x3000
#define RM_DATA_SEG 0x4000
#define RM_CODE 0x20000ull
#define RM_STACK 0x30000ull
#define RM_DATA 0x40000ull
#define RM_SP 0x1000

/* Selectors of the mode-switch GDT. */
#define GS_CODE32 0x08 /* flat 4 GiB 32-bit code */
#define GS_DATA32 0x10 /* flat 4 GiB data */
#define GS_CODE16 0x18 /* 16-bit code, base 0x20000, limit 0xffff */
#define GS_CODE64 0x20 /* 64-bit code */
#define GS_DATA16 0x28 /* 16-bit data, base 0x40000, limit 0xffff */

static const uint64_t rm_gdt[] = {
	0,
	0x00cf9b000000ffffull, /* 0x08 */
	0x00cf93000000ffffull, /* 0x10 */
	0x00009b020000ffffull, /* 0x18 */
	0x00af9b000000ffffull, /* 0x20 */
	0x000093040000ffffull, /* 0x28 */
};

static struct kvm_segment rm_seg(uint16_t sel, bool code)
{
	return (struct kvm_segment){
		.selector = sel,
		.base = (uint64_t)sel << 4,
		.limit = 0xffff,
		.type = code ? 0xb : 0x3,
		.present = 1,
		.s = 1,
	};
}

/* CR0.PE = 0 with the segments of the layout above, IF set. */
static void real_enter(struct harness *h)
{
	uint32_t ivt[256];
	uint8_t stubs[256];

	for (unsigned int v = 0; v < 256; v++)
		ivt[v] = ((uint32_t)RM_STUB_SEG << 16) | v;
	memset(stubs, 0xf4, sizeof(stubs));
	harness_load(h, 0, ivt, sizeof(ivt));
	harness_load(h, (uint64_t)RM_STUB_SEG << 4, stubs, sizeof(stubs));
	harness_load(h, RM_GDT, rm_gdt, sizeof(rm_gdt));
	h->sregs.cs = rm_seg(RM_CODE_SEG, true);
	h->sregs.ss = rm_seg(RM_STACK_SEG, false);
	h->sregs.ds = rm_seg(RM_DATA_SEG, false);
	h->sregs.es = h->sregs.ds;
	h->sregs.fs = h->sregs.ds;
	h->sregs.gs = h->sregs.ds;
	h->sregs.idt.base = 0;
	h->sregs.idt.limit = 0x3ff;
	h->sregs.cr0 = X86_CR0_ET;
	h->sregs.cr3 = 0;
	h->sregs.cr4 = 0;
	h->sregs.efer = 0;
	memset(&h->regs, 0, sizeof(h->regs));
	h->regs.rsp = RM_SP;
	h->regs.rflags = X86_EFLAGS_FIXED | X86_EFLAGS_IF;
}

/* Loads code at RM_CODE and runs n instructions from IP 0. */
static void real_exec(struct harness *h, const uint8_t *code, size_t len,
		      uint64_t n)
{
	harness_load(h, RM_CODE, code, len);
	h->regs.rip = 0;
	assert_int_equal(harness_run(h, n), VTX_STOP_INSN_LIMIT);
}

/* Runs code until it halts; returns the vector whose stub it halted in. */
static int real_run_to_stub(struct harness *h, const uint8_t *code, size_t len)
{
	harness_load(h, RM_CODE, code, len);
	h->regs.rip = 0;
	assert_int_equal(harness_run(h, 100), VTX_STOP_HALTED);
	assert_int_equal(h->sregs.cs.selector, RM_STUB_SEG);
	assert_int_equal(h->sregs.cs.base, (uint64_t)RM_STUB_SEG << 4);
	return (int)h->stop.rip;
}

static uint16_t rd16(struct harness *h, uint64_t gpa)
{
	return (uint16_t)harness_read64(h, gpa);
}

static void wr16(struct harness *h, uint64_t gpa, uint16_t v)
{
	harness_load(h, gpa, &v, 2);
}

/* The IVT frame (SDM Vol. 3A 20.1.4): IP, CS, FLAGS as words, and no
 * error code even for #GP. */
static void expect_ivt_frame(struct harness *h, uint16_t ip, uint16_t flags)
{
	assert_int_equal(h->regs.rsp, RM_SP - 6);
	assert_int_equal(rd16(h, RM_STACK + RM_SP - 6), ip);
	assert_int_equal(rd16(h, RM_STACK + RM_SP - 4), RM_CODE_SEG);
	assert_int_equal(rd16(h, RM_STACK + RM_SP - 2), flags);
}

/* ---- 16-bit sizes and addressing ---------------------------------------- */

static void test_real__mov_push_pop_use_16bit_sizes(void **state)
{
	struct harness *h = *state;
	static const uint8_t code[] = {
		0xb8, 0x34, 0x12, /* mov ax, 0x1234 */
		0x50, /* push ax */
		0x5b, /* pop bx */
		0x66, 0xb9, 0x78, 0x56, 0x34, 0x12, /* mov ecx, 0x12345678 */
	};

	real_enter(h);
	h->regs.rax = 0xdead0000;
	h->regs.rbx = 0xbeef0000;
	real_exec(h, code, sizeof(code), 4);
	assert_int_equal(h->regs.rax, 0xdead1234);
	assert_int_equal(h->regs.rbx, 0xbeef1234);
	assert_int_equal(h->regs.rcx, 0x12345678);
	assert_int_equal(h->regs.rsp, RM_SP);
	assert_int_equal(rd16(h, RM_STACK + RM_SP - 2), 0x1234);
	assert_int_equal(h->regs.rip, sizeof(code));
}

static void test_real__bx_si_uses_ds_and_bp_uses_ss(void **state)
{
	struct harness *h = *state;
	static const uint8_t code[] = {
		0x8b, 0x00, /* mov ax, [bx+si] */
		0x8b, 0x4e, 0x02, /* mov cx, [bp+0x2] */
	};

	real_enter(h);
	h->regs.rbx = 0x10;
	h->regs.rsi = 0x20;
	h->regs.rbp = 0x100;
	wr16(h, RM_DATA + 0x30, 0xaaaa);
	wr16(h, RM_STACK + 0x102, 0x5555);
	real_exec(h, code, sizeof(code), 2);
	assert_int_equal(h->regs.rax, 0xaaaa);
	assert_int_equal(h->regs.rcx, 0x5555);
}

static void test_real__effective_address_wraps_at_64k(void **state)
{
	struct harness *h = *state;
	static const uint8_t code[] = {
		0x8b, 0x00, /* mov ax, [bx+si] */
	};

	real_enter(h);
	h->regs.rbx = 0xfff0;
	h->regs.rsi = 0x20;
	wr16(h, RM_DATA + 0x10, 0x7777);
	real_exec(h, code, sizeof(code), 1);
	assert_int_equal(h->regs.rax, 0x7777);
}

/* A real-mode load sets base = selector << 4 and keeps the cached limit
 * (the "unreal" 4 GiB limit stays usable). */
static void test_real__segment_load_shifts_base_and_keeps_limit(void **state)
{
	struct harness *h = *state;
	static const uint8_t code[] = {
		0x8e, 0xd8, /* mov ds, ax */
		0x66, 0x67, 0x8b, 0x03, /* mov eax, [ebx] */
	};

	real_enter(h);
	h->sregs.ds.limit = 0xffffffff;
	h->regs.rax = 0x5000;
	h->regs.rbx = 0x20000;
	harness_write64(h, 0x70000, 0x11223344);
	real_exec(h, code, sizeof(code), 2);
	assert_int_equal(h->sregs.ds.selector, 0x5000);
	assert_int_equal(h->sregs.ds.base, 0x50000);
	assert_int_equal(h->sregs.ds.limit, 0xffffffff);
	assert_int_equal(h->regs.rax, 0x11223344);
}

/* Past a 64 KiB limit: #GP through the IVT, no error code pushed. */
static void test_real__access_beyond_limit_raises_gp_via_ivt(void **state)
{
	struct harness *h = *state;
	static const uint8_t code[] = {
		0x67, 0x8b, 0x03, /* mov ax, [ebx] */
	};

	real_enter(h);
	h->regs.rbx = 0x10000;
	assert_int_equal(real_run_to_stub(h, code, sizeof(code)), 13);
	expect_ivt_frame(h, 0, X86_EFLAGS_FIXED | X86_EFLAGS_IF);
	/* INT clears IF (and TF, AC) on delivery. */
	assert_rflags(h, 0);
	assert_int_equal(h->stats.exceptions[13], 1);
}

/* ---- far transfers -------------------------------------------------------- */

static void test_real__far_jmp_ptr16_16_loads_cs(void **state)
{
	struct harness *h = *state;
	static const uint8_t code[] = {
		0xea, 0x05, 0x00, 0x00, 0x25, /* jmp 0x2500:0x5 */
	};
	static const uint8_t there[] = {
		0xb0, 0x42, /* mov al, 0x42 */
	};

	real_enter(h);
	harness_load(h, 0x25005, there, sizeof(there));
	real_exec(h, code, sizeof(code), 2);
	assert_int_equal(h->sregs.cs.selector, 0x2500);
	assert_int_equal(h->sregs.cs.base, 0x25000);
	assert_int_equal(h->sregs.cs.limit, 0xffff);
	assert_int_equal(h->regs.rax, 0x42);
	assert_int_equal(h->regs.rip, 7);
}

static void test_real__far_call_and_retf_use_word_frames(void **state)
{
	struct harness *h = *state;
	static const uint8_t code[] = {
		0x9a, 0x00, 0x01, 0x00, 0x26, /* call 0x2600:0x100 */
		0x90, /* nop */
	};
	static const uint8_t callee[] = {
		0xcb, /* retf */
	};

	real_enter(h);
	harness_load(h, 0x26100, callee, sizeof(callee));
	real_exec(h, code, sizeof(code), 1);
	assert_int_equal(h->sregs.cs.base, 0x26000);
	assert_int_equal(h->regs.rip, 0x100);
	assert_int_equal(h->regs.rsp, RM_SP - 4);
	assert_int_equal(rd16(h, RM_STACK + RM_SP - 4), 5);
	assert_int_equal(rd16(h, RM_STACK + RM_SP - 2), RM_CODE_SEG);
	assert_int_equal(harness_run(h, 1), VTX_STOP_INSN_LIMIT);
	assert_int_equal(h->sregs.cs.selector, RM_CODE_SEG);
	assert_int_equal(h->regs.rip, 5);
	assert_int_equal(h->regs.rsp, RM_SP);
}

static void test_real__far_jmp_m16_16_and_m16_32(void **state)
{
	struct harness *h = *state;
	static const uint8_t code[] = {
		0xff, 0x2f, /* jmp DWORD PTR [bx] (m16:16) */
	};
	static const uint8_t code2[] = {
		0x66, 0xff, 0x2f, /* jmp FWORD PTR [bx] (m16:32) */
	};
	static const uint8_t ptr16[] = { 0x34, 0x12, 0x00, 0x27 };
	static const uint8_t ptr32[] = { 0x78, 0x00, 0x00, 0x00, 0x00, 0x28 };

	real_enter(h);
	h->regs.rbx = 0x10;
	harness_load(h, RM_DATA + 0x10, ptr16, sizeof(ptr16));
	real_exec(h, code, sizeof(code), 1);
	assert_int_equal(h->sregs.cs.base, 0x27000);
	assert_int_equal(h->regs.rip, 0x1234);

	real_enter(h);
	h->regs.rbx = 0x10;
	harness_load(h, RM_DATA + 0x10, ptr32, sizeof(ptr32));
	real_exec(h, code2, sizeof(code2), 1);
	assert_int_equal(h->sregs.cs.base, 0x28000);
	assert_int_equal(h->regs.rip, 0x78);
}

/* A far JMP beyond the (cached) CS limit is #GP(0). */
static void test_real__far_jmp_beyond_cs_limit_raises_gp(void **state)
{
	struct harness *h = *state;
	static const uint8_t code[] = {
		0x66, 0xea, 0x00, 0x00,
		0x01, 0x00, 0x00, 0x30, /* jmp 0x3000:0x10000 */
	};

	real_enter(h);
	assert_int_equal(real_run_to_stub(h, code, sizeof(code)), 13);
	expect_ivt_frame(h, 0, X86_EFLAGS_FIXED | X86_EFLAGS_IF);
}

/* ---- INT n, IRET, the IVT, INTO ------------------------------------------- */

static void test_real__int_n_and_iret_round_trip(void **state)
{
	struct harness *h = *state;
	static const uint8_t code[] = {
		0xcd, 0x21, /* int 0x21 */
		0x90, /* nop */
		[0x10] = 0xcf, /* iret */
	};
	uint32_t vec = ((uint32_t)RM_CODE_SEG << 16) | 0x10;

	real_enter(h);
	harness_load(h, 0x21 * 4, &vec, 4);
	h->regs.rflags |= X86_EFLAGS_CF;
	real_exec(h, code, sizeof(code), 1);
	assert_int_equal(h->regs.rip, 0x10);
	expect_ivt_frame(h, 2, X86_EFLAGS_FIXED | X86_EFLAGS_IF | CF);
	assert_rflags(h, CF);
	assert_int_equal(harness_run(h, 1), VTX_STOP_INSN_LIMIT);
	assert_int_equal(h->regs.rip, 2);
	assert_int_equal(h->regs.rsp, RM_SP);
	assert_rflags(h, X86_EFLAGS_IF | CF);
}

/* IVT limit 0x1f: INT 0x21 is #GP, #GP's vector is out too (#DF), and
 * so is #DF's: shutdown (SDM Vol. 3A 20.1.4, 6.15). */
static void test_real__ivt_limit_faults_end_in_triple_fault(void **state)
{
	struct harness *h = *state;
	static const uint8_t code[] = {
		0xcd, 0x21, /* int 0x21 */
	};

	real_enter(h);
	h->sregs.idt.limit = 0x1f;
	harness_load(h, RM_CODE, code, sizeof(code));
	assert_int_equal(harness_run(h, 10), VTX_STOP_TRIPLE_FAULT);
	assert_int_equal(h->regs.rsp, RM_SP);
}

static void test_real__into_with_of_delivers_vector_4(void **state)
{
	struct harness *h = *state;
	static const uint8_t code[] = {
		0xce, /* into */
		0xce, /* into */
	};

	real_enter(h);
	real_exec(h, code, sizeof(code), 1); /* OF = 0: nothing */
	assert_int_equal(h->regs.rip, 1);
	h->regs.rflags |= OF;
	h->regs.rip = 1;
	assert_int_equal(harness_run(h, 10), VTX_STOP_HALTED);
	assert_int_equal(h->stop.rip, 4);
	/* A trap: the frame returns past INTO. */
	expect_ivt_frame(h, 2, X86_EFLAGS_FIXED | X86_EFLAGS_IF | OF);
}

/* ---- descriptor tables and mode switches ---------------------------------- */

static void test_real__lgdt_16bit_keeps_24bit_base_32bit_all(void **state)
{
	struct harness *h = *state;
	static const uint8_t code[] = {
		0x0f, 0x01, 0x16, 0x00, 0x01, /* lgdtw ds:0x100 */
		0x66, 0x0f, 0x01, 0x1e, 0x00, 0x01, /* lidtd ds:0x100 */
	};
	static const uint8_t pd[6] = { 0xff, 0x00, 0x78, 0x56, 0x34, 0x12 };

	real_enter(h);
	harness_load(h, RM_DATA + 0x100, pd, sizeof(pd));
	real_exec(h, code, sizeof(code), 2);
	assert_int_equal(h->sregs.gdt.base, 0x345678);
	assert_int_equal(h->sregs.gdt.limit, 0xff);
	assert_int_equal(h->sregs.idt.base, 0x12345678);
}

/*
 * SDM 9.9.1 and 9.9.2: PE on (CS keeps its real-mode cache, so the next
 * instruction still decodes as 16-bit code), a far JMP into 32-bit code,
 * DS loaded with a 4 GiB data segment, a far JMP into a 16-bit code
 * segment, PE off, a far JMP reloading CS in real mode; DS keeps its
 * protected-mode base and limit ("unreal" mode) for a 32-bit address.
 */
static void test_real__protected_and_back_keeps_unreal_ds(void **state)
{
	struct harness *h = *state;
	static const uint8_t code[] = {
		0x0f, 0x01, 0x16, 0x00, 0x00, /* 00: lgdtw ds:0x0 */
		0x0f, 0x20, 0xc0, /* 05: mov eax, cr0 */
		0x0c, 0x01, /* 08: or al, 0x1 */
		0x0f, 0x22, 0xc0, /* 0a: mov cr0, eax */
		0x66, 0xea, 0x15, 0x00, 0x02, 0x00, 0x08,
		0x00, /* 0d: jmp 0x8:0x20015 */
		/* 32-bit code */
		0xb8, 0x10, 0x00, 0x00, 0x00, /* 15: mov eax, 0x10 */
		0x8e, 0xd8, /* 1a: mov ds, eax */
		0xea, 0x23, 0x00, 0x00, 0x00, 0x18,
		0x00, /* 1c: jmp 0x18:0x23 */
		/* 16-bit protected-mode code, CS base 0x20000 */
		0x0f, 0x20, 0xc0, /* 23: mov eax, cr0 */
		0x24, 0xfe, /* 26: and al, 0xfe */
		0x0f, 0x22, 0xc0, /* 28: mov cr0, eax */
		0xea, 0x30, 0x00, 0x00, 0x20, /* 2b: jmp 0x2000:0x30 */
		/* real mode again */
		0x67, 0x8b, 0x03, /* 30: mov ax, [ebx] */
	};
	static const uint8_t pd[6] = { sizeof(rm_gdt) - 1, 0, 0x00, 0x80 };

	real_enter(h);
	harness_load(h, RM_DATA, pd, sizeof(pd));
	h->regs.rbx = 0x300000;
	wr16(h, 0x300000, 0x4321);
	real_exec(h, code, sizeof(code), 7);
	/* In 32-bit protected mode, DS just loaded. */
	assert_true(h->sregs.cr0 & X86_CR0_PE);
	assert_int_equal(h->sregs.cs.selector, GS_CODE32);
	assert_int_equal(h->sregs.cs.db, 1);
	assert_int_equal(h->sregs.ds.selector, GS_DATA32);
	assert_int_equal(h->regs.rip, 0x2001c);
	assert_int_equal(harness_run(h, 6), VTX_STOP_INSN_LIMIT);
	assert_false(h->sregs.cr0 & X86_CR0_PE);
	assert_int_equal(h->sregs.cs.selector, RM_CODE_SEG);
	assert_int_equal(h->sregs.cs.base, RM_CODE);
	assert_int_equal(h->sregs.ds.base, 0);
	assert_int_equal(h->sregs.ds.limit, 0xffffffff);
	assert_int_equal(h->regs.rax & 0xffff, 0x4321);
	assert_int_equal(h->regs.rip, sizeof(code));
}

/* Real -> protected -> IA-32e (SDM 9.9.1, 9.8.5), as a boot sector does. */
static void test_real__switch_to_long_mode(void **state)
{
	struct harness *h = *state;
	static const uint8_t code[] = {
		0x0f, 0x01, 0x16, 0x00, 0x00, /* 00: lgdtw ds:0x0 */
		0x0f, 0x20, 0xc0, /* 05: mov eax, cr0 */
		0x0c, 0x01, /* 08: or al, 0x1 */
		0x0f, 0x22, 0xc0, /* 0a: mov cr0, eax */
		0x66, 0xea, 0x15, 0x00, 0x02, 0x00, 0x08,
		0x00, /* 0d: jmp 0x8:0x20015 */
		/* 32-bit code */
		0x0f, 0x20, 0xe0, /* 15: mov eax, cr4 */
		0x83, 0xc8, 0x20, /* 18: or eax, 0x20 */
		0x0f, 0x22, 0xe0, /* 1b: mov cr4, eax */
		0xb8, 0x00, 0x00, 0x01, 0x00, /* 1e: mov eax, 0x10000 */
		0x0f, 0x22, 0xd8, /* 23: mov cr3, eax */
		0xb9, 0x80, 0x00, 0x00, 0xc0, /* 26: mov ecx, 0xc0000080 */
		0x0f, 0x32, /* 2b: rdmsr */
		0x0d, 0x00, 0x01, 0x00, 0x00, /* 2d: or eax, 0x100 */
		0x0f, 0x30, /* 32: wrmsr */
		0x0f, 0x20, 0xc0, /* 34: mov eax, cr0 */
		0x0d, 0x00, 0x00, 0x00, 0x80, /* 37: or eax, 0x80000000 */
		0x0f, 0x22, 0xc0, /* 3c: mov cr0, eax */
		0xea, 0x46, 0x00, 0x02, 0x00, 0x20,
		0x00, /* 3f: jmp 0x20:0x20046 */
		/* 64-bit code */
		0x48, 0xb8, 0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22,
		0x11, /* 46: movabs rax, 0x1122334455667788 */
	};
	static const uint8_t pd[6] = { sizeof(rm_gdt) - 1, 0, 0x00, 0x80 };

	real_enter(h);
	harness_load(h, RM_DATA, pd, sizeof(pd));
	real_exec(h, code, sizeof(code), 19);
	assert_int_equal(h->sregs.efer, EFER_LME | EFER_LMA);
	assert_int_equal(h->sregs.cs.selector, GS_CODE64);
	assert_int_equal(h->sregs.cs.l, 1);
	assert_int_equal(h->regs.rax, 0x1122334455667788ull);
	assert_int_equal(h->regs.rip, RM_CODE + sizeof(code));
}

/* And back down (SDM 9.8.5.4, 9.9.2): a far JMP from 64-bit code into a
 * 32-bit segment (compatibility mode), CR0.PG off (IA-32e mode off), a
 * far JMP into a 16-bit segment, CR0.PE off, a far JMP reloading CS. */
static void test_long64__back_down_to_real_mode(void **state)
{
	struct harness *h = *state;
	static const uint8_t code[] = {
		0xff, 0x2c, 0x25, 0x00, 0x00, 0x04,
		0x00, /* 00: jmp FWORD PTR ds:0x40000 */
		[0x10] = 0x0f, 0x20, 0xc0, /* 10: mov eax, cr0 */
		0x25, 0xff, 0xff, 0xff, 0x7f, /* 13: and eax, 0x7fffffff */
		0x0f, 0x22, 0xc0, /* 18: mov cr0, eax */
		0xea, 0x22, 0x00, 0x00, 0x00, 0x18,
		0x00, /* 1b: jmp 0x18:0x22 */
		/* 16-bit protected mode, CS base 0x20000 */
		0x0f, 0x20, 0xc0, /* 22: mov eax, cr0 */
		0x24, 0xfe, /* 25: and al, 0xfe */
		0x0f, 0x22, 0xc0, /* 27: mov cr0, eax */
		0xea, 0x2f, 0x00, 0x00, 0x20, /* 2a: jmp 0x2000:0x2f */
		0xb0, 0x55, /* 2f: mov al, 0x55 */
	};
	static const uint8_t ptr[6] = { 0x10, 0x00, 0x02, 0x00, GS_CODE32, 0 };

	harness_load(h, RM_GDT, rm_gdt, sizeof(rm_gdt));
	harness_load(h, RM_DATA, ptr, sizeof(ptr));
	h->sregs.gdt.base = RM_GDT;
	h->sregs.gdt.limit = sizeof(rm_gdt) - 1;
	x86_seg_decode_desc(&h->sregs.cs, rm_gdt[4], GS_CODE64);
	harness_load(h, RM_CODE, code, sizeof(code));
	h->regs.rip = RM_CODE;
	assert_int_equal(harness_run(h, 4), VTX_STOP_INSN_LIMIT);
	/* Compatibility mode, then PG off: IA-32e mode is off. */
	assert_int_equal(h->sregs.cs.selector, GS_CODE32);
	assert_int_equal(h->sregs.efer & EFER_LMA, 0);
	assert_int_equal(h->regs.rip, RM_CODE + 0x1b);
	assert_int_equal(harness_run(h, 6), VTX_STOP_INSN_LIMIT);
	assert_int_equal(h->sregs.cr0 & (X86_CR0_PE | X86_CR0_PG), 0);
	assert_int_equal(h->sregs.cs.selector, RM_CODE_SEG);
	assert_int_equal(h->sregs.cs.base, RM_CODE);
	assert_int_equal(h->regs.rax & 0xff, 0x55);
	assert_int_equal(h->regs.rip, sizeof(code));
}

/* 16-bit protected mode (CS.D = 0): 16-bit defaults, 66h for 32 bits,
 * and a 16-bit stack (SS.B = 0) that wraps SP. */
static void test_prot16__cs_d0_uses_16bit_defaults(void **state)
{
	struct harness *h = *state;
	static const uint8_t code[] = {
		0xb8, 0x34, 0x12, /* mov ax, 0x1234 */
		0x50, /* push ax */
		0x66, 0x50, /* push eax */
	};

	real_enter(h);
	h->sregs.gdt.base = RM_GDT;
	h->sregs.gdt.limit = sizeof(rm_gdt) - 1;
	x86_seg_decode_desc(&h->sregs.cs, rm_gdt[3], GS_CODE16);
	x86_seg_decode_desc(&h->sregs.ss, rm_gdt[5], GS_DATA16);
	h->sregs.cr0 = X86_CR0_PE | X86_CR0_ET;
	h->regs.rax = 0xabcd0000;
	h->regs.rsp = 0;
	real_exec(h, code, sizeof(code), 3);
	assert_int_equal(h->regs.rax, 0xabcd1234);
	/* SP wrapped from 0 to 0xfffe, then 4 bytes more. */
	assert_int_equal(h->regs.rsp, 0xfffa);
	assert_int_equal(rd16(h, 0x40000 + 0xfffe), 0x1234);
	assert_int_equal(harness_read64(h, 0x40000 + 0xfffa) & 0xffffffff,
			 0xabcd1234);
	assert_int_equal(h->regs.rip, sizeof(code));
}

/* A 16-bit code segment in IA-32e mode (compatibility mode, CS.D = 0). */
static void test_compat16__16bit_code_segment_in_ia32e(void **state)
{
	struct harness *h = *state;
	static const uint8_t code[] = {
		0xb8, 0x34, 0x12, /* mov ax, 0x1234 */
		0x66, 0xbb, 0x78, 0x56, 0x34, 0x12, /* mov ebx, 0x12345678 */
	};

	/* 16-bit code, base CODE_BASE, limit 0xffff */
	x86_seg_decode_desc(&h->sregs.cs, 0x00009b100000ffffull, SEL_SPARE);
	h->regs.rax = 0xffff0000;
	harness_load(h, CODE_BASE, code, sizeof(code));
	h->regs.rip = 0;
	assert_int_equal(harness_run(h, 2), VTX_STOP_INSN_LIMIT);
	assert_int_equal(h->regs.rax, 0xffff1234);
	assert_int_equal(h->regs.rbx, 0x12345678);
	assert_int_equal(h->regs.rip, sizeof(code));
}

/* ---- stack instructions ------------------------------------------------------ */

static void test_real__push_pop_segment_registers(void **state)
{
	struct harness *h = *state;
	static const uint8_t code[] = {
		0x0e, /* push cs */
		0x07, /* pop es */
	};

	real_enter(h);
	real_exec(h, code, sizeof(code), 2);
	assert_int_equal(h->sregs.es.selector, RM_CODE_SEG);
	assert_int_equal(h->sregs.es.base, RM_CODE);
	assert_int_equal(h->regs.rsp, RM_SP);
}

static void test_real__pusha_popa_frame_and_round_trip(void **state)
{
	struct harness *h = *state;
	static const uint8_t code[] = {
		0x60, /* pusha */
		0x61, /* popa */
	};
	static const uint16_t want[8] = { 7, 6, 5, RM_SP, 3, 2, 1, 0 };

	real_enter(h);
	h->regs.rax = 0;
	h->regs.rcx = 1;
	h->regs.rdx = 2;
	h->regs.rbx = 3;
	h->regs.rbp = 5;
	h->regs.rsi = 6;
	h->regs.rdi = 7;
	real_exec(h, code, sizeof(code), 1);
	assert_int_equal(h->regs.rsp, RM_SP - 16);
	for (unsigned int k = 0; k < 8; k++)
		assert_int_equal(rd16(h, RM_STACK + RM_SP - 16 + 2 * k),
				 want[k]);
	/* POPA skips SP: change the slot and the others come back. */
	wr16(h, RM_STACK + RM_SP - 10, 0x9999);
	wr16(h, RM_STACK + RM_SP - 16, 0x1111);
	assert_int_equal(harness_run(h, 1), VTX_STOP_INSN_LIMIT);
	assert_int_equal(h->regs.rsp, RM_SP);
	assert_int_equal(h->regs.rdi, 0x1111);
	assert_int_equal(h->regs.rcx, 1);
}

/* ENTER 4, 2 with a 16-bit stack: push BP, copy [BP-2] of the enclosing
 * frame, push the new frame pointer, BP = it, SP lowered by 4. */
static void
test_real__enter_level_2_copies_the_outer_frame_pointer(void **state)
{
	struct harness *h = *state;
	static const uint8_t code[] = {
		0xc8, 0x04, 0x00, 0x02, /* enter 0x4, 0x2 */
	};

	real_enter(h);
	h->regs.rbp = 0x2000;
	wr16(h, RM_STACK + 0x1ffe, 0xabcd);
	real_exec(h, code, sizeof(code), 1);
	assert_int_equal(rd16(h, RM_STACK + 0x0ffe), 0x2000);
	assert_int_equal(rd16(h, RM_STACK + 0x0ffc), 0xabcd);
	assert_int_equal(rd16(h, RM_STACK + 0x0ffa), 0x0ffe);
	assert_int_equal(h->regs.rbp, 0x0ffe);
	assert_int_equal(h->regs.rsp, 0x0ff6);
}

/* ENTER 16, 1 in 64-bit mode: push RBP, push the frame pointer. */
static void test_long64__enter_level_1(void **state)
{
	struct harness *h = *state;
	static const uint8_t code[] = {
		0xc8, 0x10, 0x00, 0x01, /* enter 0x10, 0x1 */
	};
	uint64_t sp = h->regs.rsp;

	h->regs.rbp = 0x1234567890ull;
	harness_exec(h, code, sizeof(code), 1);
	assert_int_equal(harness_read64(h, sp - 8), 0x1234567890ull);
	assert_int_equal(harness_read64(h, sp - 16), sp - 8);
	assert_int_equal(h->regs.rbp, sp - 8);
	assert_int_equal(h->regs.rsp, sp - 16 - 0x10);
}

/* ---- CR0's low word ------------------------------------------------------------ */

static void test_real__lmsw_sets_pe_smsw_reads_it_clts_clears_ts(void **state)
{
	struct harness *h = *state;
	static const uint8_t code[] = {
		0x0f, 0x01, 0xf0, /* lmsw ax */
		0x0f, 0x01, 0xe3, /* smsw bx */
		0x0f, 0x06, /* clts */
		0x31, 0xc0, /* xor ax, ax */
		0x0f, 0x01, 0xf0, /* lmsw ax */
	};

	real_enter(h);
	h->regs.rax = X86_CR0_PE | X86_CR0_TS;
	real_exec(h, code, sizeof(code), 2);
	assert_int_equal(h->sregs.cr0, X86_CR0_ET | X86_CR0_PE | X86_CR0_TS);
	assert_int_equal(h->regs.rbx, X86_CR0_ET | X86_CR0_PE | X86_CR0_TS);
	assert_int_equal(harness_run(h, 3), VTX_STOP_INSN_LIMIT);
	/* LMSW never clears PE; TS went with CLTS and with LMSW. */
	assert_int_equal(h->sregs.cr0, X86_CR0_ET | X86_CR0_PE);
}

/* ---- INS / OUTS ------------------------------------------------------------------ */

static void test_real__rep_insb_with_df_and_rep_outsw(void **state)
{
	struct harness *h = *state;
	static const uint8_t code[] = {
		0xfd, /* std */
		0xf3, 0x6c, /* rep ins BYTE PTR es:[di], dx */
		0xfc, /* cld */
		0xf3, 0x6f, /* rep outs dx, WORD PTR ds:[si] */
	};

	real_enter(h);
	h->in_data = 0x5a;
	h->regs.rdx = 0x3f8;
	h->regs.rcx = 3;
	h->regs.rdi = 0x12;
	real_exec(h, code, sizeof(code), 2);
	assert_int_equal(h->regs.rcx, 0);
	assert_int_equal(h->regs.rdi, 0xf);
	assert_int_equal(harness_read64(h, RM_DATA + 0x10) & 0xffffff,
			 0x5a5a5a);
	assert_int_equal(h->nr_pio, 3);
	assert_int_equal(h->pio[0].dir, VTX_PIO_IN);

	wr16(h, RM_DATA + 0x40, 0x1111);
	wr16(h, RM_DATA + 0x42, 0x2222);
	h->regs.rsi = 0x40;
	h->regs.rcx = 2;
	h->nr_pio = 0;
	assert_int_equal(harness_run(h, 2), VTX_STOP_INSN_LIMIT);
	assert_int_equal(h->nr_pio, 2);
	assert_int_equal(h->pio[0].size, 2);
	assert_int_equal(h->pio[0].data, 0x1111);
	assert_int_equal(h->pio[1].data, 0x2222);
	assert_int_equal(h->regs.rsi, 0x44);
}

/* Two bytes to the stop port: the device stops the machine after the
 * first, and the REP resumes where it was (RIP still at OUTSB). */
static void test_real__rep_outsb_stopped_by_device_resumes(void **state)
{
	struct harness *h = *state;
	static const uint8_t code[] = {
		0xf3, 0x6e, /* rep outs dx, BYTE PTR ds:[si] */
	};

	real_enter(h);
	h->regs.rdx = HARNESS_STOP_PORT;
	h->regs.rcx = 2;
	harness_load(h, RM_CODE, code, sizeof(code));
	assert_int_equal(harness_run(h, 10), VTX_STOP_PLATFORM);
	assert_int_equal(h->regs.rip, 0);
	assert_int_equal(h->regs.rcx, 1);
	assert_int_equal(harness_run(h, 10), VTX_STOP_PLATFORM);
	assert_int_equal(h->regs.rip, 2);
	assert_int_equal(h->regs.rcx, 0);
	assert_int_equal(h->nr_pio, 2);
}

/* With CPL > IOPL the TSS bitmap decides (SDM Vol. 1 19.5.2), in 64-bit
 * mode at CPL 3 here: a denied port is #GP(0) before any element moves. */
static void test_long64__outsb_denied_port_raises_gp(void **state)
{
	struct harness *h = *state;
	static const uint8_t code[] = {
		0x6e, /* outs dx, BYTE PTR ds:[rsi] */
	};

	harness_load(h, USER_CODE, code, sizeof(code));
	harness_enter_user(h, USER_CODE);
	h->regs.rdx = 0x80;
	h->regs.rsi = USER_DATA;
	harness_allow_port(h, 0x80, false);
	assert_int_equal(harness_run(h, 10), VTX_STOP_HALTED);
	harness_expect_exception(h, 13, 0, USER_CODE);
	assert_int_equal(h->nr_pio, 0);
}

/* ---- BCD, BOUND, LDS/LES, XLAT, CBW/CWD, LOOP/JCXZ ------------------------------- */

#define BCD_UNDEF (OF | SF | ZF | PF)

static void test_real__daa_das_adjust_packed_bcd(void **state)
{
	struct harness *h = *state;
	static const uint8_t code[] = {
		0x04, 0x35, /* add al, 0x35 */
		0x27, /* daa */
		0x2c, 0x35, /* sub al, 0x35 */
		0x2f, /* das */
	};

	real_enter(h);
	h->regs.rax = 0x79;
	real_exec(h, code, sizeof(code), 2);
	assert_int_equal(h->regs.rax, 0x14); /* 79 + 35 = 114 */
	assert_rflags_except(h, X86_EFLAGS_IF | CF | AF | PF, OF);
	assert_int_equal(harness_run(h, 2), VTX_STOP_INSN_LIMIT);
	assert_int_equal(h->regs.rax, 0x79); /* 14 - 35 = -21 */
	assert_rflags_except(h, X86_EFLAGS_IF | CF | AF, OF);
}

static void test_real__aaa_aas_aam_aad_adjust_unpacked_bcd(void **state)
{
	struct harness *h = *state;
	static const uint8_t code[] = {
		0x04, 0x08, /* add al, 0x8 */
		0x37, /* aaa */
		0xb8, 0x02, 0x01, /* mov ax, 0x102 */
		0x2c, 0x05, /* sub al, 0x5 */
		0x3f, /* aas */
		0xb0, 0x3f, /* mov al, 0x3f */
		0xd4, 0x0a, /* aam 0xa */
		0xd5, 0x0a, /* aad 0xa */
	};

	real_enter(h);
	h->regs.rax = 0x09;
	real_exec(h, code, sizeof(code), 2);
	assert_int_equal(h->regs.rax, 0x0107); /* 9 + 8 = 17 */
	assert_rflags_except(h, X86_EFLAGS_IF | CF | AF, BCD_UNDEF);
	assert_int_equal(harness_run(h, 3), VTX_STOP_INSN_LIMIT);
	assert_int_equal(h->regs.rax, 0x0007); /* 12 - 5 = 7 */
	assert_rflags_except(h, X86_EFLAGS_IF | CF | AF, BCD_UNDEF);
	assert_int_equal(harness_run(h, 2), VTX_STOP_INSN_LIMIT);
	assert_int_equal(h->regs.rax, 0x0603); /* 63 = 6, 3 */
	assert_int_equal(harness_run(h, 1), VTX_STOP_INSN_LIMIT);
	assert_int_equal(h->regs.rax, 0x003f);
	assert_rflags_except(h, X86_EFLAGS_IF | PF, OF | AF | CF);
}

static void test_real__aam_0_raises_de(void **state)
{
	struct harness *h = *state;
	static const uint8_t code[] = {
		0xd4, 0x00, /* aam 0x0 */
	};

	real_enter(h);
	assert_int_equal(real_run_to_stub(h, code, sizeof(code)), 0);
	expect_ivt_frame(h, 0, X86_EFLAGS_FIXED | X86_EFLAGS_IF);
}

static void test_real__bound_out_of_range_raises_br(void **state)
{
	struct harness *h = *state;
	static const uint8_t code[] = {
		0x62, 0x07, /* bound ax, DWORD PTR [bx] */
		0x62, 0x07, /* bound ax, DWORD PTR [bx] */
	};
	static const int16_t bounds[2] = { -10, 20 };

	real_enter(h);
	harness_load(h, RM_DATA, bounds, sizeof(bounds));
	h->regs.rax = (uint16_t)-10;
	real_exec(h, code, sizeof(code), 1);
	assert_int_equal(h->regs.rip, 2);
	h->regs.rax = 21;
	assert_int_equal(harness_run(h, 10), VTX_STOP_HALTED);
	assert_int_equal(h->stop.rip, 5);
	/* A fault: the frame returns to BOUND itself. */
	expect_ivt_frame(h, 2, X86_EFLAGS_FIXED | X86_EFLAGS_IF);
}

static void test_real__lds_les_load_pointer_and_segment(void **state)
{
	struct harness *h = *state;
	static const uint8_t code[] = {
		0x66, 0xc4, 0x3f, /* les edi, FWORD PTR [bx] */
		0xc5, 0x37, /* lds si, DWORD PTR [bx] */
	};
	static const uint8_t ptr[] = { 0x34, 0x12, 0x00, 0x00, 0x00, 0x50 };

	real_enter(h);
	harness_load(h, RM_DATA, ptr, sizeof(ptr));
	real_exec(h, code, sizeof(code), 2);
	assert_int_equal(h->regs.rdi, 0x1234);
	assert_int_equal(h->sregs.es.base, 0x50000);
	assert_int_equal(h->regs.rsi, 0x1234);
	assert_int_equal(h->sregs.ds.selector, 0);
	assert_int_equal(h->sregs.ds.base, 0);
}

static void test_real__xlat_cbw_cwd(void **state)
{
	struct harness *h = *state;
	static const uint8_t code[] = {
		0xd7, /* xlat BYTE PTR ds:[bx] */
		0x98, /* cbw */
		0x99, /* cwd */
		0x66, 0x98, /* cwde */
	};

	real_enter(h);
	h->regs.rbx = 0x100;
	h->regs.rax = 5;
	h->regs.rdx = 0x12340000;
	harness_load(h, RM_DATA + 0x105, "\x80", 1);
	real_exec(h, code, sizeof(code), 4);
	assert_int_equal(h->regs.rax, 0xffffff80);
	assert_int_equal(h->regs.rdx, 0x1234ffff);
}

/* LOOP and JCXZ count with CX at a 16-bit address size: ECX's upper half
 * stays. */
static void test_real__loop_and_jcxz_use_cx(void **state)
{
	struct harness *h = *state;
	static const uint8_t code[] = {
		0xe2, 0xfe, /* 00: loop 0x0 */
		0xe3, 0x01, /* 02: jcxz 0x5 */
		0xf4, /* 04: hlt */
		0x90, /* 05: nop */
	};

	real_enter(h);
	h->regs.rcx = 0x10003;
	real_exec(h, code, sizeof(code), 5);
	assert_int_equal(h->regs.rcx, 0x10000);
	assert_int_equal(h->regs.rip, 6);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(name) \
	cmocka_unit_test_setup_teardown(name, harness_setup, harness_teardown)
		T(test_real__mov_push_pop_use_16bit_sizes),
		T(test_real__bx_si_uses_ds_and_bp_uses_ss),
		T(test_real__effective_address_wraps_at_64k),
		T(test_real__segment_load_shifts_base_and_keeps_limit),
		T(test_real__access_beyond_limit_raises_gp_via_ivt),
		T(test_real__far_jmp_ptr16_16_loads_cs),
		T(test_real__far_call_and_retf_use_word_frames),
		T(test_real__far_jmp_m16_16_and_m16_32),
		T(test_real__far_jmp_beyond_cs_limit_raises_gp),
		T(test_real__int_n_and_iret_round_trip),
		T(test_real__ivt_limit_faults_end_in_triple_fault),
		T(test_real__into_with_of_delivers_vector_4),
		T(test_real__lgdt_16bit_keeps_24bit_base_32bit_all),
		T(test_real__protected_and_back_keeps_unreal_ds),
		T(test_real__switch_to_long_mode),
		T(test_long64__back_down_to_real_mode),
		T(test_prot16__cs_d0_uses_16bit_defaults),
		T(test_compat16__16bit_code_segment_in_ia32e),
		T(test_real__push_pop_segment_registers),
		T(test_real__pusha_popa_frame_and_round_trip),
		T(test_real__enter_level_2_copies_the_outer_frame_pointer),
		T(test_long64__enter_level_1),
		T(test_real__lmsw_sets_pe_smsw_reads_it_clts_clears_ts),
		T(test_real__rep_insb_with_df_and_rep_outsw),
		T(test_real__rep_outsb_stopped_by_device_resumes),
		T(test_long64__outsb_denied_port_raises_gp),
		T(test_real__daa_das_adjust_packed_bcd),
		T(test_real__aaa_aas_aam_aad_adjust_unpacked_bcd),
		T(test_real__aam_0_raises_de),
		T(test_real__bound_out_of_range_raises_br),
		T(test_real__lds_les_load_pointer_and_segment),
		T(test_real__xlat_cbw_cwd),
		T(test_real__loop_and_jcxz_use_cx),
#undef T
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
