/* SPDX-License-Identifier: MIT */
/*
 * test_vtx_paging32 - 32-bit paging (SDM Vol. 3A 4.3: 4-KiB pages, 4-MiB
 * pages with CR4.PSE, PSE-36) and PAE paging (4.4: PDPTE registers loaded
 * by MOV to CR0/CR3, #GP on their reserved bits, 2-MiB pages, NX) from
 * 32-bit protected mode, in raw instruction bytes; #PF error codes and
 * CR2 as SDM 4.7 gives them. Host side, tests only.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "arch/x86_msr.h"
#include "arch/x86_paging.h"
#include "arch/x86_seg.h"
#include "tests/unit/vtx_harness.h"

#define P32_GDT 0x8000ull
#define P32_IDT 0x9000ull
#define P32_STUBS 0xa000ull /* vector v's handler: HLT at P32_STUBS + 16v */
#define P32_STACK 0x80000ull
#define P32_CODE 0x08
#define P32_DATA 0x10

/* 32-bit paging: a PD, a PT identity-mapping [0, 4 MiB), a second PT. */
#define PD32 0x20000ull
#define PT32 0x21000ull
#define PT32_B 0x22000ull
/* PAE: a PDPT, a PD, a PT identity-mapping [0, 2 MiB). */
#define PDPT 0x23000ull
#define PD_PAE 0x24000ull
#define PT_PAE 0x25000ull

#define MARK 0x5a5a1234u /* at physical 0x6000 */
#define MARK2 0x77665544u /* at physical 0x7000 */

static const uint64_t p32_gdt[] = {
	0, 0x00cf9b000000ffffull, /* 0x08: flat 32-bit code */
	0x00cf93000000ffffull, /* 0x10: flat data */
};

static void wr32(struct harness *h, uint64_t gpa, uint32_t v)
{
	harness_load(h, gpa, &v, 4);
}

static uint32_t rd32(struct harness *h, uint64_t gpa)
{
	return (uint32_t)harness_read64(h, gpa);
}

/* 32-bit protected mode with paging on as the test's sregs say, a 32-bit
 * IDT of HLT stubs, and the tables above. */
static void p32_enter(struct harness *h, uint64_t cr0, uint64_t cr3,
		      uint64_t cr4)
{
	uint32_t idt[2 * 32];
	uint8_t stubs[32 * 16];
	struct kvm_segment cs, ds;

	memset(stubs, 0xf4, sizeof(stubs));
	for (unsigned int v = 0; v < 32; v++) {
		uint32_t at = (uint32_t)(P32_STUBS + v * 16);

		idt[2 * v] = (P32_CODE << 16) | (at & 0xffff);
		idt[2 * v + 1] = (at & 0xffff0000u) | 0x8e00;
	}
	harness_load(h, P32_GDT, p32_gdt, sizeof(p32_gdt));
	harness_load(h, P32_IDT, idt, sizeof(idt));
	harness_load(h, P32_STUBS, stubs, sizeof(stubs));
	/* 32-bit tables: PD[0] -> PT32 (identity 4 MiB), PD[1] -> PT32_B */
	for (uint32_t k = 0; k < 1024; k++)
		wr32(h, PT32 + 4 * k, (k << 12) | 0x3);
	wr32(h, PD32, (uint32_t)PT32 | 0x3);
	wr32(h, PD32 + 4, (uint32_t)PT32_B | 0x3);
	wr32(h, PT32_B + 5 * 4, 0x7000 | 0x3); /* 0x405000 -> 0x7000 */
	/* PAE tables: PDPTE0 -> PD_PAE; PD[0] -> PT_PAE, PD[1] 2 MiB page
	 * at 0 (so 0x200000 + x -> x) */
	harness_write64(h, PDPT, PD_PAE | PTE_P);
	for (uint64_t k = 0; k < 512; k++)
		harness_write64(h, PT_PAE + 8 * k, (k << 12) | 0x3);
	harness_write64(h, PD_PAE, PT_PAE | 0x3);
	harness_write64(h, PD_PAE + 8, 0 | PTE_PS | 0x3);
	wr32(h, 0x6000, MARK);
	wr32(h, 0x7000, MARK2);

	x86_seg_decode_desc(&cs, p32_gdt[1], P32_CODE);
	x86_seg_decode_desc(&ds, p32_gdt[2], P32_DATA);
	h->sregs.cs = cs;
	h->sregs.ds = ds;
	h->sregs.es = ds;
	h->sregs.fs = ds;
	h->sregs.gs = ds;
	h->sregs.ss = ds;
	h->sregs.gdt.base = P32_GDT;
	h->sregs.gdt.limit = sizeof(p32_gdt) - 1;
	h->sregs.idt.base = P32_IDT;
	h->sregs.idt.limit = sizeof(idt) - 1;
	h->sregs.cr0 = cr0 | X86_CR0_PE | X86_CR0_ET;
	h->sregs.cr3 = cr3;
	h->sregs.cr4 = cr4;
	h->sregs.efer = 0;
	h->regs.rsp = P32_STACK;
	h->regs.rflags = X86_EFLAGS_FIXED;
}

/* Halted in the stub of `vector` with `ec` on the 32-bit stack. */
static void expect_fault32(struct harness *h, int vector, uint32_t ec)
{
	assert_int_equal(h->stop.reason, VTX_STOP_HALTED);
	assert_int_equal(h->stop.rip, P32_STUBS + 16 * (uint64_t)vector);
	assert_int_equal(rd32(h, h->regs.rsp), ec);
	assert_int_equal(rd32(h, h->regs.rsp + 4), CODE_BASE);
}

static const uint8_t read_code[] = {
	0x8b, 0x07, /* mov eax, dword ptr [edi] */
};

/* ---- 32-bit paging ----------------------------------------------------------- */

/* MOV to CR0 turns 32-bit paging on; a 4-KiB page through the second PT
 * maps 0x405000 onto 0x7000; A is set in the 4-byte PDE and PTE without
 * touching their neighbours. */
static void test_paging32__mov_cr0_enables_4k_walk(void **state)
{
	struct harness *h = *state;
	static const uint8_t code[] = {
		0x0f, 0x20, 0xc0, /* mov eax, cr0 */
		0x0d, 0x00, 0x00, 0x00, 0x80, /* or eax, 0x80000000 */
		0x0f, 0x22, 0xc0, /* mov cr0, eax */
		0x8b, 0x1f, /* mov ebx, dword ptr [edi] */
		0x89, 0x0f, /* mov dword ptr [edi], ecx */
	};

	p32_enter(h, 0, PD32, 0);
	h->regs.rdi = 0x405010;
	wr32(h, 0x7010, 0xabcd);
	h->regs.rcx = 0x4321;
	harness_exec(h, code, sizeof(code), 5);
	assert_int_equal(h->regs.rbx, 0xabcd);
	assert_int_equal(rd32(h, 0x7010), 0x4321);
	assert_int_equal(rd32(h, PD32 + 4), PT32_B | 0x3 | PTE_A);
	assert_int_equal(rd32(h, PT32_B + 5 * 4), 0x7000 | 0x3 | PTE_A | PTE_D);
	assert_int_equal(rd32(h, PT32_B + 6 * 4), 0);
	assert_int_equal(rd32(h, PD32 + 8), 0);
}

/* With CR4.PSE a PDE with PS maps 4 MiB: 0x400000 + x -> x. */
static void test_paging32__pse_4m_page_maps_and_sets_dirty(void **state)
{
	struct harness *h = *state;
	static const uint8_t code[] = {
		0x89, 0x0f, /* mov dword ptr [edi], ecx */
	};

	p32_enter(h, X86_CR0_PG, PD32, X86_CR4_PSE);
	wr32(h, PD32 + 4, 0 | PTE_PS | 0x3);
	h->regs.rdi = 0x406000;
	h->regs.rcx = 0x99;
	harness_exec(h, code, sizeof(code), 1);
	assert_int_equal(rd32(h, 0x6000), 0x99);
	assert_int_equal(rd32(h, PD32 + 4), PTE_PS | 0x3 | PTE_A | PTE_D);
}

/* Without CR4.PSE, PS is ignored: the PDE points to a page table. */
static void test_paging32__ps_ignored_without_cr4_pse(void **state)
{
	struct harness *h = *state;

	p32_enter(h, X86_CR0_PG, PD32, 0);
	wr32(h, PD32 + 4, (uint32_t)PT32_B | PTE_PS | 0x3);
	h->regs.rdi = 0x405000;
	harness_exec(h, read_code, sizeof(read_code), 1);
	assert_int_equal(h->regs.rax, MARK2);
}

/* PSE-36: bits 20:13 of a 4-MiB PDE are physical bits 39:32; physical
 * 4 GiB + 0x6000 is outside the arena and reads as all ones. */
static void test_paging32__pse36_high_bits_address_above_4gib(void **state)
{
	struct harness *h = *state;

	p32_enter(h, X86_CR0_PG, PD32, X86_CR4_PSE);
	wr32(h, PD32 + 4, 0 | (1u << 13) | PTE_PS | 0x3);
	h->regs.rdi = 0x406000;
	harness_exec(h, read_code, sizeof(read_code), 1);
	assert_int_equal(h->regs.rax, 0xffffffff);
}

/* Bit 21 of a 4-MiB PDE is reserved: #PF, error code P | RSVD = 9. */
static void test_paging32__4m_pde_bit21_is_reserved(void **state)
{
	struct harness *h = *state;

	p32_enter(h, X86_CR0_PG, PD32, X86_CR4_PSE);
	wr32(h, PD32 + 4, 0 | (1u << 21) | PTE_PS | 0x3);
	h->regs.rdi = 0x406004;
	harness_load(h, CODE_BASE, read_code, sizeof(read_code));
	h->regs.rip = CODE_BASE;
	harness_run(h, 10);
	expect_fault32(h, PF_VECTOR, PFERR_PRESENT_MASK | PFERR_RSVD_MASK);
	assert_int_equal(h->sregs.cr2, 0x406004);
}

/* A not-present PTE, a write at CPL 0: error code 2. */
static void test_paging32__not_present_write_error_code_2(void **state)
{
	struct harness *h = *state;
	static const uint8_t code[] = {
		0x89, 0x0f, /* mov dword ptr [edi], ecx */
	};

	p32_enter(h, X86_CR0_PG, PD32, 0);
	wr32(h, PT32_B + 5 * 4, 0x7000);
	h->regs.rdi = 0x405ffc;
	harness_load(h, CODE_BASE, code, sizeof(code));
	h->regs.rip = CODE_BASE;
	harness_run(h, 10);
	expect_fault32(h, PF_VECTOR, PFERR_WRITE_MASK);
	assert_int_equal(h->sregs.cr2, 0x405ffc);
}

/* ---- PAE paging --------------------------------------------------------------- */

/* MOV to CR0 with CR4.PAE loads the PDPTEs and walks 4-KiB and 2-MiB
 * pages; A in the 8-byte entries. */
static void test_pae__mov_cr0_loads_pdptes_and_walks(void **state)
{
	struct harness *h = *state;
	static const uint8_t code[] = {
		0x0f, 0x20, 0xc0, /* mov eax, cr0 */
		0x0d, 0x00, 0x00, 0x00, 0x80, /* or eax, 0x80000000 */
		0x0f, 0x22, 0xc0, /* mov cr0, eax */
		0x8b, 0x1f, /* mov ebx, dword ptr [edi] */
		0x8b, 0x0e, /* mov ecx, dword ptr [esi] */
	};

	p32_enter(h, 0, PDPT, X86_CR4_PAE);
	h->regs.rdi = 0x6000;
	h->regs.rsi = 0x207000;
	harness_exec(h, code, sizeof(code), 5);
	assert_int_equal(h->regs.rbx, MARK);
	assert_int_equal(h->regs.rcx, MARK2);
	assert_int_equal(harness_read64(h, PT_PAE + 6 * 8), 0x6003 | PTE_A);
	assert_int_equal(harness_read64(h, PD_PAE + 8), PTE_PS | 0x3 | PTE_A);
	/* PDPTEs have no accessed flag */
	assert_int_equal(harness_read64(h, PDPT), PD_PAE | PTE_P);
}

/* The PDPTEs are registers: rewriting the PDPT in memory changes nothing
 * until CR3 is loaded again (SDM 4.4.1). PDPTE0 moves to a PD whose PT
 * maps 0x6000 onto 0x7000; no translation of 0x6000 is cached before. */
static void test_pae__pdpt_write_needs_mov_cr3(void **state)
{
	struct harness *h = *state;
	static const uint8_t code[] = {
		0x89, 0x16, /* mov dword ptr [esi], edx */
		0x8b, 0x07, /* mov eax, dword ptr [edi] */
		0x0f, 0x20, 0xd9, /* mov ecx, cr3 */
		0x0f, 0x22, 0xd9, /* mov cr3, ecx */
		0x8b, 0x1f, /* mov ebx, dword ptr [edi] */
	};

	p32_enter(h, X86_CR0_PG, PDPT, X86_CR4_PAE);
	harness_write64(h, 0x26000, 0x27000 | 0x3);
	for (uint64_t k = 0; k < 512; k++) /* identity, but 0x6000 */
		harness_write64(h, 0x27000 + 8 * k,
				(k == 6 ? 0x7000 : k << 12) | 0x3);
	h->regs.rsi = PDPT;
	h->regs.rdx = 0x26000 | PTE_P;
	h->regs.rdi = 0x6000;
	harness_exec(h, code, sizeof(code), 5);
	assert_int_equal(h->regs.rax, MARK);
	assert_int_equal(h->regs.rbx, MARK2);
}

/* A not-present PDPTE: #PF error code 0 at the first access. */
static void test_pae__not_present_pdpte_faults(void **state)
{
	struct harness *h = *state;

	p32_enter(h, X86_CR0_PG, PDPT, X86_CR4_PAE);
	h->regs.rdi = 0x80000010;
	harness_load(h, CODE_BASE, read_code, sizeof(read_code));
	h->regs.rip = CODE_BASE;
	harness_run(h, 10);
	expect_fault32(h, PF_VECTOR, 0);
	assert_int_equal(h->sregs.cr2, 0x80000010);
}

/* MOV to CR3 whose PDPT has a present PDPTE with a reserved bit (bit 1):
 * #GP(0), CR3 unchanged (SDM 4.4.1). */
static void test_pae__reserved_pdpte_bit_mov_cr3_raises_gp(void **state)
{
	struct harness *h = *state;
	static const uint8_t code[] = {
		0x0f, 0x22, 0xd8, /* mov cr3, eax */
	};

	p32_enter(h, X86_CR0_PG, PDPT, X86_CR4_PAE);
	harness_write64(h, PDPT + 0x20, PD_PAE | PTE_P | PTE_RW);
	h->regs.rax = PDPT + 0x20;
	harness_load(h, CODE_BASE, code, sizeof(code));
	h->regs.rip = CODE_BASE;
	harness_run(h, 10);
	expect_fault32(h, GP_VECTOR, 0);
	assert_int_equal(h->sregs.cr3, PDPT);
}

/* PAE with EFER.NXE: a fetch from an NX page is #PF with I/D (0x11);
 * without NXE bit 63 is reserved (a read: 0x9). */
static void test_pae__nx_fetch_faults_and_nx_reserved_without_nxe(void **state)
{
	struct harness *h = *state;
	static const uint8_t code[] = {
		0xff, 0xe7, /* jmp edi */
	};

	p32_enter(h, X86_CR0_PG, PDPT, X86_CR4_PAE);
	h->sregs.efer = EFER_NX;
	harness_write64(h, PT_PAE + 6 * 8, 0x6003 | PTE_NX);
	h->regs.rdi = 0x6000;
	harness_load(h, CODE_BASE, code, sizeof(code));
	h->regs.rip = CODE_BASE;
	harness_run(h, 10);
	assert_int_equal(h->stop.rip, P32_STUBS + 16 * PF_VECTOR);
	assert_int_equal(rd32(h, h->regs.rsp),
			 PFERR_PRESENT_MASK | PFERR_FETCH_MASK);
	assert_int_equal(h->sregs.cr2, 0x6000);

	h->sregs.efer = 0;
	h->regs.rsp = P32_STACK;
	harness_load(h, CODE_BASE, read_code, sizeof(read_code));
	h->regs.rip = CODE_BASE;
	harness_run(h, 10);
	expect_fault32(h, PF_VECTOR, PFERR_PRESENT_MASK | PFERR_RSVD_MASK);
}

#define T(fn) \
	cmocka_unit_test_setup_teardown(fn, harness_setup, harness_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_paging32__mov_cr0_enables_4k_walk),
		T(test_paging32__pse_4m_page_maps_and_sets_dirty),
		T(test_paging32__ps_ignored_without_cr4_pse),
		T(test_paging32__pse36_high_bits_address_above_4gib),
		T(test_paging32__4m_pde_bit21_is_reserved),
		T(test_paging32__not_present_write_error_code_2),
		T(test_pae__mov_cr0_loads_pdptes_and_walks),
		T(test_pae__pdpt_write_needs_mov_cr3),
		T(test_pae__not_present_pdpte_faults),
		T(test_pae__reserved_pdpte_bit_mov_cr3_raises_gp),
		T(test_pae__nx_fetch_faults_and_nx_reserved_without_nxe),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
