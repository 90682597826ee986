/* SPDX-License-Identifier: MIT */
/*
 * test_vtx_paging - the model's 4-level paging (vtx/mmu.c) and decoded-code
 * coherence (vtx/decode.c) from raw instruction bytes: accessed and dirty
 * bits (SDM Vol. 3A 4.8), #PF error codes and CR2 (4.7), CR0.WP, NX and
 * reserved bits (4.6), INVLPG and CR3 loads (4.10.4), frames outside the
 * arena, and self-modifying code. Host side, tests only.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "arch/x86_paging.h"
#include "tests/unit/vtx_harness.h"

/* The PTE of DATA_BASE, a 4-KiB supervisor data page. */
#define DATA_PTE_GPA (HARNESS_PT + (DATA_BASE >> PAGE_SHIFT) * 8)

/* ---- accessed and dirty bits --------------------------------------------- */

static void
test_paging__read_sets_accessed_on_every_level_not_dirty(void **state)
{
	struct harness *h = *state;
	static const uint8_t code[] = {
		0x48, 0x8b, 0x07, /* mov rax, qword ptr [rdi] */
	};

	assert_int_equal(*harness_pte(h, DATA_BASE) & (PTE_A | PTE_D), 0);
	assert_int_equal(harness_read64(h, HARNESS_PML4) & PTE_A, 0);
	h->regs.rdi = DATA_BASE;
	harness_exec(h, code, sizeof(code), 1);
	assert_int_equal(*harness_pte(h, DATA_BASE) & (PTE_A | PTE_D), PTE_A);
	assert_int_equal(harness_read64(h, HARNESS_PML4) & PTE_A, PTE_A);
	assert_int_equal(harness_read64(h, HARNESS_PDPT) & PTE_A, PTE_A);
	assert_int_equal(harness_read64(h, HARNESS_PD) & PTE_A, PTE_A);
	/* A neighbour nobody touched stays clean. */
	assert_int_equal(*harness_pte(h, DATA_BASE + PAGE_SIZE) & PTE_A, 0);
}

static void test_paging__write_sets_accessed_and_dirty(void **state)
{
	struct harness *h = *state;
	static const uint8_t code[] = {
		0x48, 0x89, 0x07, /* mov qword ptr [rdi], rax */
	};

	h->regs.rdi = DATA_BASE + 0x10;
	h->regs.rax = 0x1234;
	harness_exec(h, code, sizeof(code), 1);
	assert_int_equal(*harness_pte(h, DATA_BASE) & (PTE_A | PTE_D),
			 PTE_A | PTE_D);
	/* Dirty is a leaf bit only (SDM Vol. 3A 4.8). */
	assert_int_equal(harness_read64(h, HARNESS_PD) & PTE_D, 0);
	assert_int_equal(harness_read64(h, DATA_BASE + 0x10), 0x1234);
}

static void test_paging__2mib_page_write_sets_dirty_in_the_pde(void **state)
{
	struct harness *h = *state;
	static const uint8_t code[] = {
		0x89, 0x07, /* mov dword ptr [rdi], eax */
	};
	uint64_t pde = HARNESS_PD + 8;

	assert_int_equal(harness_read64(h, pde) & (PTE_A | PTE_D), 0);
	h->regs.rdi = BIG_PAGE + 0x12345;
	h->regs.rax = 0xabcd;
	harness_exec(h, code, sizeof(code), 1);
	assert_int_equal(harness_read64(h, pde) & (PTE_A | PTE_D),
			 PTE_A | PTE_D);
	assert_int_equal(harness_read64(h, BIG_PAGE + 0x12345) & 0xffffffff,
			 0xabcd);
}

/* ---- #PF error codes and CR2 (SDM Vol. 3A 4.7) --------------------------- */

static void test_pf__not_present_read_has_error_code_0(void **state)
{
	struct harness *h = *state;
	static const uint8_t code[] = {
		0x48, 0x8b, 0x07, /* mov rax, qword ptr [rdi] */
	};

	*harness_pte(h, DATA_BASE) &= ~PTE_P;
	h->regs.rdi = DATA_BASE + 0x18;
	h->regs.rax = 0x77;
	assert_int_equal(harness_run_code(h, code, sizeof(code)),
			 VTX_STOP_HALTED);
	harness_expect_exception(h, PF_VECTOR, 0, CODE_BASE);
	assert_int_equal(h->sregs.cr2, DATA_BASE + 0x18);
	assert_int_equal(h->regs.rax, 0x77);
	assert_int_equal(h->stats.insns, 1); /* the stub's HLT */
}

static void test_pf__not_present_write_has_error_code_2(void **state)
{
	struct harness *h = *state;
	static const uint8_t code[] = {
		0xc6, 0x07, 0x01, /* mov byte ptr [rdi], 0x1 */
	};

	*harness_pte(h, DATA_BASE) &= ~PTE_P;
	h->regs.rdi = DATA_BASE + 0xfff;
	assert_int_equal(harness_run_code(h, code, sizeof(code)),
			 VTX_STOP_HALTED);
	harness_expect_exception(h, PF_VECTOR, PFERR_WRITE_MASK, CODE_BASE);
	assert_int_equal(h->sregs.cr2, DATA_BASE + 0xfff);
}

/* A write that crosses into a not-present page faults on the second page
 * and changes neither page (SDM Vol. 3A 6.5: faults are precise). */
static void
test_pf__write_crossing_into_a_missing_page_writes_nothing(void **state)
{
	struct harness *h = *state;
	static const uint8_t code[] = {
		0x48, 0x89, 0x07, /* mov qword ptr [rdi], rax */
	};

	*harness_pte(h, DATA_BASE + PAGE_SIZE) &= ~PTE_P;
	h->regs.rdi = DATA_BASE + PAGE_SIZE - 4;
	h->regs.rax = ~0ull;
	assert_int_equal(harness_run_code(h, code, sizeof(code)),
			 VTX_STOP_HALTED);
	harness_expect_exception(h, PF_VECTOR, PFERR_WRITE_MASK, CODE_BASE);
	assert_int_equal(h->sregs.cr2, DATA_BASE + PAGE_SIZE);
	assert_int_equal(harness_read64(h, DATA_BASE + PAGE_SIZE - 8), 0);
}

static void
test_pf__write_to_read_only_with_cr0_wp_has_error_code_3(void **state)
{
	struct harness *h = *state;
	static const uint8_t code[] = {
		0x48, 0x89, 0x07, /* mov qword ptr [rdi], rax */
	};

	*harness_pte(h, DATA_BASE) &= ~PTE_RW;
	harness_write64(h, DATA_BASE, 0x1111);
	h->regs.rdi = DATA_BASE;
	h->regs.rax = 0x2222;
	assert_int_equal(harness_run_code(h, code, sizeof(code)),
			 VTX_STOP_HALTED);
	harness_expect_exception(
		h, PF_VECTOR, PFERR_PRESENT_MASK | PFERR_WRITE_MASK, CODE_BASE);
	assert_int_equal(h->sregs.cr2, DATA_BASE);
	assert_int_equal(harness_read64(h, DATA_BASE), 0x1111);
	assert_int_equal(*harness_pte(h, DATA_BASE) & PTE_D, 0);
}

static void
test_pf__supervisor_write_to_read_only_without_wp_succeeds(void **state)
{
	struct harness *h = *state;
	static const uint8_t code[] = {
		0x48, 0x89, 0x07, /* mov qword ptr [rdi], rax */
	};

	*harness_pte(h, DATA_BASE) &= ~PTE_RW;
	h->sregs.cr0 &= ~(uint64_t)X86_CR0_WP;
	h->regs.rdi = DATA_BASE;
	h->regs.rax = 0x2222;
	harness_exec(h, code, sizeof(code), 1);
	assert_int_equal(harness_read64(h, DATA_BASE), 0x2222);
	assert_int_equal(*harness_pte(h, DATA_BASE) & PTE_D, PTE_D);
	assert_int_equal(h->stats.exceptions[PF_VECTOR], 0);
}

/* CR0.WP matters only to supervisor writes: a user write to a read-only
 * page faults either way. */
static void
test_pf__user_write_to_read_only_faults_even_without_wp(void **state)
{
	struct harness *h = *state;
	static const uint8_t code[] = {
		0x48, 0x89, 0x07, /* mov qword ptr [rdi], rax */
	};

	*harness_pte(h, USER_DATA) &= ~PTE_RW;
	h->sregs.cr0 &= ~(uint64_t)X86_CR0_WP;
	harness_load(h, USER_CODE, code, sizeof(code));
	harness_enter_user(h, USER_CODE);
	h->regs.rdi = USER_DATA + 8;
	assert_int_equal(harness_run(h, 100), VTX_STOP_HALTED);
	harness_expect_exception(h, PF_VECTOR,
				 PFERR_PRESENT_MASK | PFERR_WRITE_MASK |
					 PFERR_USER_MASK,
				 USER_CODE);
	assert_int_equal(h->sregs.cr2, USER_DATA + 8);
}

static void
test_pf__user_read_of_a_supervisor_page_has_error_code_5(void **state)
{
	struct harness *h = *state;
	static const uint8_t code[] = {
		0x48, 0x8b, 0x07, /* mov rax, qword ptr [rdi] */
	};
	uint64_t frame;

	harness_load(h, USER_CODE, code, sizeof(code));
	harness_enter_user(h, USER_CODE);
	h->regs.rdi = DATA_BASE;
	assert_int_equal(harness_run(h, 100), VTX_STOP_HALTED);
	frame = harness_expect_exception(
		h, PF_VECTOR, PFERR_PRESENT_MASK | PFERR_USER_MASK, USER_CODE);
	assert_int_equal(h->sregs.cr2, DATA_BASE);
	assert_int_equal(harness_read64(h, frame + 8), SEL_UCODE);
}

static void test_pf__fetch_from_an_nx_page_has_error_code_0x11(void **state)
{
	struct harness *h = *state;
	static const uint8_t code[] = {
		0xff, 0xe3, /* jmp rbx */
	};
	uint64_t target = CODE_BASE + PAGE_SIZE;

	*harness_pte(h, target) |= PTE_NX;
	h->regs.rbx = target;
	assert_int_equal(harness_run_code(h, code, sizeof(code)),
			 VTX_STOP_HALTED);
	/* The JMP retired; the fetch at its target faulted. */
	harness_expect_exception(h, PF_VECTOR,
				 PFERR_PRESENT_MASK | PFERR_FETCH_MASK, target);
	assert_int_equal(h->sregs.cr2, target);
	assert_int_equal(h->stats.insns, 2);
}

static void test_pf__reserved_address_bit_has_error_code_9(void **state)
{
	struct harness *h = *state;
	static const uint8_t code[] = {
		0x48, 0x8b, 0x07, /* mov rax, qword ptr [rdi] */
	};

	/* Bit 51 is above the model's MAXPHYADDR of 46. */
	*harness_pte(h, DATA_BASE) |= 1ull << 51;
	h->regs.rdi = DATA_BASE + 0x20;
	assert_int_equal(harness_run_code(h, code, sizeof(code)),
			 VTX_STOP_HALTED);
	harness_expect_exception(
		h, PF_VECTOR, PFERR_PRESENT_MASK | PFERR_RSVD_MASK, CODE_BASE);
	assert_int_equal(h->sregs.cr2, DATA_BASE + 0x20);
}

/* Without EFER.NXE bit 63 of an entry is reserved (SDM Vol. 3A 4.5). */
static void test_pf__nx_bit_without_efer_nxe_is_reserved(void **state)
{
	struct harness *h = *state;
	static const uint8_t code[] = {
		0x48, 0x89, 0x07, /* mov qword ptr [rdi], rax */
	};

	*harness_pte(h, DATA_BASE) |= PTE_NX;
	h->sregs.efer &= ~(uint64_t)EFER_NX;
	h->regs.rdi = DATA_BASE;
	assert_int_equal(harness_run_code(h, code, sizeof(code)),
			 VTX_STOP_HALTED);
	harness_expect_exception(h, PF_VECTOR,
				 PFERR_PRESENT_MASK | PFERR_WRITE_MASK |
					 PFERR_RSVD_MASK,
				 CODE_BASE);
}

/* SMEP: a supervisor fetch from a user page faults (SDM Vol. 3A 4.6.1). */
static void
test_pf__smep_fetch_from_a_user_page_has_error_code_0x11(void **state)
{
	struct harness *h = *state;
	static const uint8_t code[] = {
		0xff, 0xe3, /* jmp rbx */
	};

	h->sregs.cr4 |= X86_CR4_SMEP;
	h->regs.rbx = USER_CODE;
	assert_int_equal(harness_run_code(h, code, sizeof(code)),
			 VTX_STOP_HALTED);
	harness_expect_exception(
		h, PF_VECTOR, PFERR_PRESENT_MASK | PFERR_FETCH_MASK, USER_CODE);
	assert_int_equal(h->sregs.cr2, USER_CODE);
}

/* SMAP: a supervisor data access to a user page faults unless RFLAGS.AC
 * is set; STAC and CLAC set and clear it (SDM Vol. 3A 4.6.1). */
static void
test_smap__stac_allows_and_clac_forbids_user_page_reads(void **state)
{
	struct harness *h = *state;
	static const uint8_t code[] = {
		0x0f, 0x01, 0xcb, /* stac */
		0x48, 0x8b, 0x07, /* mov rax, qword ptr [rdi] */
		0x0f, 0x01, 0xca, /* clac */
		0x48, 0x8b, 0x0f, /* mov rcx, qword ptr [rdi] */
	};

	harness_write64(h, USER_DATA, 0x4242);
	h->sregs.cr4 |= X86_CR4_SMAP;
	h->regs.rdi = USER_DATA;
	assert_int_equal(harness_run_code(h, code, sizeof(code)),
			 VTX_STOP_HALTED);
	harness_expect_exception(h, PF_VECTOR, PFERR_PRESENT_MASK,
				 CODE_BASE + 9);
	assert_int_equal(h->sregs.cr2, USER_DATA);
	assert_int_equal(h->regs.rax, 0x4242);
	assert_int_equal(h->regs.rcx, 0);
	assert_int_equal(h->regs.rflags & X86_EFLAGS_AC, 0);
}

static void test_stac__at_cpl3_raises_ud(void **state)
{
	struct harness *h = *state;
	static const uint8_t code[] = {
		0x0f, 0x01, 0xcb, /* stac */
	};

	harness_load(h, USER_CODE, code, sizeof(code));
	harness_enter_user(h, USER_CODE);
	assert_int_equal(harness_run(h, 100), VTX_STOP_HALTED);
	harness_expect_exception(h, UD_VECTOR, HARNESS_NO_ERROR_CODE,
				 USER_CODE);
	assert_int_equal(h->stats.unimplemented, 0);
}

/* A 1-GiB page (CPUID.80000001H:EDX[26]): PDPT[1] maps [1 GiB, 2 GiB)
 * onto physical [0, 1 GiB). */
static void test_paging__1gib_page_maps_its_offset(void **state)
{
	struct harness *h = *state;
	static const uint8_t code[] = {
		0x48, 0x8b, 0x07, /* mov rax, qword ptr [rdi] */
	};

	harness_write64(h, HARNESS_PDPT + 8, 0 | PTE_P | PTE_RW | PTE_PS);
	harness_write64(h, DATA_BASE + 0x88, 0x1616);
	h->regs.rdi = GiB(1) + DATA_BASE + 0x88;
	harness_exec(h, code, sizeof(code), 1);
	assert_int_equal(h->regs.rax, 0x1616);
	assert_int_equal(harness_read64(h, HARNESS_PDPT + 8) & PTE_A, PTE_A);
}

/* Bits 29:13 of a 1-GiB leaf are reserved (SDM Vol. 3A Table 4-16). */
static void test_pf__1gib_page_with_low_address_bits_is_reserved(void **state)
{
	struct harness *h = *state;
	static const uint8_t code[] = {
		0x48, 0x8b, 0x07, /* mov rax, qword ptr [rdi] */
	};

	harness_write64(h, HARNESS_PDPT + 8, MiB(2) | PTE_P | PTE_RW | PTE_PS);
	h->regs.rdi = GiB(1);
	assert_int_equal(harness_run_code(h, code, sizeof(code)),
			 VTX_STOP_HALTED);
	harness_expect_exception(
		h, PF_VECTOR, PFERR_PRESENT_MASK | PFERR_RSVD_MASK, CODE_BASE);
}

/* An instruction whose bytes straddle two pages. */
static void test_fetch__insn_across_a_page_boundary_executes(void **state)
{
	struct harness *h = *state;
	static const uint8_t code[] = {
		0xb8, 0x44, 0x33, 0x22, 0x11, /* mov eax, 0x11223344 */
		0xff, 0xc0, /* inc eax */
	};
	uint64_t at = CODE_BASE + PAGE_SIZE - 2;

	harness_load(h, at, code, sizeof(code));
	h->regs.rip = at;
	assert_int_equal(harness_run(h, 2), VTX_STOP_INSN_LIMIT);
	assert_int_equal(h->regs.rax, 0x11223345);
	assert_int_equal(h->regs.rip, at + sizeof(code));
}

static void
test_fetch__insn_across_into_a_missing_page_faults_there(void **state)
{
	struct harness *h = *state;
	static const uint8_t code[] = {
		0xb8, 0x44, 0x33, 0x22, 0x11, /* mov eax, 0x11223344 */
	};
	uint64_t at = CODE_BASE + PAGE_SIZE - 2;

	harness_load(h, at, code, sizeof(code));
	*harness_pte(h, CODE_BASE + PAGE_SIZE) &= ~PTE_P;
	h->regs.rip = at;
	assert_int_equal(harness_run(h, 100), VTX_STOP_HALTED);
	/* The fault names the missing page and the instruction's start. */
	harness_expect_exception(h, PF_VECTOR, PFERR_FETCH_MASK, at);
	assert_int_equal(h->sregs.cr2, CODE_BASE + PAGE_SIZE);
	assert_int_equal(h->regs.rax, 0);
}

/* CMP only reads its memory operand; ADD writes it. */
static void test_pf__read_only_page_allows_cmp_but_not_add(void **state)
{
	struct harness *h = *state;
	static const uint8_t code[] = {
		0x48, 0x39, 0x07, /* cmp qword ptr [rdi], rax */
		0x48, 0x01, 0x07, /* add qword ptr [rdi], rax */
	};

	*harness_pte(h, DATA_BASE) &= ~PTE_RW;
	harness_write64(h, DATA_BASE, 5);
	h->regs.rdi = DATA_BASE;
	h->regs.rax = 5;
	assert_int_equal(harness_run_code(h, code, sizeof(code)),
			 VTX_STOP_HALTED);
	harness_expect_exception(h, PF_VECTOR,
				 PFERR_PRESENT_MASK | PFERR_WRITE_MASK,
				 CODE_BASE + 3);
	assert_int_equal(harness_read64(h, DATA_BASE), 5);
	/* The CMP retired: its flags stand. */
	assert_int_equal(harness_read64(h, h->regs.rsp + 24) & (ZF | PF),
			 ZF | PF);
}

/* POP to memory that faults leaves RSP as it was (SDM Vol. 3A 6.5). */
static void test_pf__pop_to_a_read_only_page_keeps_rsp(void **state)
{
	struct harness *h = *state;
	static const uint8_t code[] = {
		0x8f, 0x07, /* pop qword ptr [rdi] */
	};
	uint64_t frame;

	*harness_pte(h, DATA_BASE) &= ~PTE_RW;
	h->regs.rdi = DATA_BASE;
	h->regs.rsp = HARNESS_STACK_TOP - 0x100;
	assert_int_equal(harness_run_code(h, code, sizeof(code)),
			 VTX_STOP_HALTED);
	frame = harness_expect_exception(
		h, PF_VECTOR, PFERR_PRESENT_MASK | PFERR_WRITE_MASK, CODE_BASE);
	assert_int_equal(harness_read64(h, frame + 24),
			 HARNESS_STACK_TOP - 0x100);
}

/* A read-modify-write operand is accessed for writing: on a missing page
 * it faults with W/R = 1 although its read comes first (SDM Vol. 3A 4.7;
 * found by the differential tester against the host CPU). */
static void expect_rmw_write_fault(struct harness *h, const uint8_t *code,
				   size_t len)
{
	*harness_pte(h, DATA_BASE) &= ~PTE_P;
	h->regs.rdi = DATA_BASE + 0x40;
	assert_int_equal(harness_run_code(h, code, len), VTX_STOP_HALTED);
	harness_expect_exception(h, PF_VECTOR, PFERR_WRITE_MASK, CODE_BASE);
	assert_int_equal(h->sregs.cr2, DATA_BASE + 0x40);
}

static void test_pf__xchg_on_a_missing_page_reports_a_write(void **state)
{
	static const uint8_t code[] = {
		0x87, 0x07, /* xchg dword ptr [rdi], eax */
	};

	expect_rmw_write_fault(*state, code, sizeof(code));
}

static void test_pf__shl_on_a_missing_page_reports_a_write(void **state)
{
	static const uint8_t code[] = {
		0xd1, 0x27, /* shl dword ptr [rdi], 1 */
	};

	expect_rmw_write_fault(*state, code, sizeof(code));
}

static void test_pf__xadd_on_a_missing_page_reports_a_write(void **state)
{
	static const uint8_t code[] = {
		0x0f, 0xc1, 0x07, /* xadd dword ptr [rdi], eax */
	};

	expect_rmw_write_fault(*state, code, sizeof(code));
}

static void test_pf__bts_on_a_missing_page_reports_a_write(void **state)
{
	static const uint8_t code[] = {
		0x0f, 0xab, 0x07, /* bts dword ptr [rdi], eax */
	};

	expect_rmw_write_fault(*state, code, sizeof(code));
}

static void test_pf__cmpxchg_on_a_missing_page_reports_a_write(void **state)
{
	static const uint8_t code[] = {
		0x0f, 0xb1, 0x0f, /* cmpxchg dword ptr [rdi], ecx */
	};

	expect_rmw_write_fault(*state, code, sizeof(code));
}

/* Across a page boundary the fault is on the missing second page, at its
 * first byte, still as a write, and the first page keeps its bytes. */
static void
test_pf__rmw_crossing_into_a_missing_page_reports_a_write(void **state)
{
	struct harness *h = *state;
	static const uint8_t code[] = {
		0xf7, 0x17, /* not dword ptr [rdi] */
	};

	*harness_pte(h, DATA_BASE + PAGE_SIZE) &= ~PTE_P;
	harness_write64(h, DATA_BASE + PAGE_SIZE - 8, 0x1122334455667788);
	h->regs.rdi = DATA_BASE + PAGE_SIZE - 2;
	assert_int_equal(harness_run_code(h, code, sizeof(code)),
			 VTX_STOP_HALTED);
	harness_expect_exception(h, PF_VECTOR, PFERR_WRITE_MASK, CODE_BASE);
	assert_int_equal(h->sregs.cr2, DATA_BASE + PAGE_SIZE);
	assert_int_equal(harness_read64(h, DATA_BASE + PAGE_SIZE - 8),
			 0x1122334455667788);
}

/* A fault in the middle of REP MOVSB leaves RSI, RDI and RCX at the
 * element that faulted, so that IRET would resume it (SDM Vol. 2B "REP"). */
static void
test_pf__rep_movsb_fault_midway_leaves_a_resumable_state(void **state)
{
	struct harness *h = *state;
	static const uint8_t code[] = {
		0xf3, 0xa4, /* rep movs byte ptr es:[rdi], byte ptr [rsi] */
	};

	*harness_pte(h, DATA_BASE + PAGE_SIZE) &= ~PTE_P;
	harness_load(h, DATA_BASE + 0x800, "abcd", 4);
	h->regs.rsi = DATA_BASE + 0x800;
	h->regs.rdi = DATA_BASE + PAGE_SIZE - 2;
	h->regs.rcx = 4;
	assert_int_equal(harness_run_code(h, code, sizeof(code)),
			 VTX_STOP_HALTED);
	harness_expect_exception(h, PF_VECTOR, PFERR_WRITE_MASK, CODE_BASE);
	assert_int_equal(h->sregs.cr2, DATA_BASE + PAGE_SIZE);
	assert_int_equal(h->regs.rcx, 2);
	assert_int_equal(h->regs.rsi, DATA_BASE + 0x802);
	assert_int_equal(h->regs.rdi, DATA_BASE + PAGE_SIZE);
	assert_int_equal(harness_read64(h, DATA_BASE + PAGE_SIZE - 8) >> 48,
			 0x6261); /* "ab" */
}

/* CLFLUSH is checked like a read (SDM Vol. 2A "CLFLUSH"): it faults on a
 * missing page with a read's error code, and changes nothing otherwise. */
static void test_clflush__checks_the_page_like_a_read(void **state)
{
	struct harness *h = *state;
	static const uint8_t code[] = {
		0x0f, 0xae, 0x3f, /* clflush byte ptr [rdi] */
		0x0f, 0xae, 0x3e, /* clflush byte ptr [rsi] */
	};

	*harness_pte(h, DATA_BASE) &= ~PTE_RW;
	*harness_pte(h, DATA_BASE + PAGE_SIZE) &= ~PTE_P;
	harness_write64(h, DATA_BASE, 0x3333);
	h->regs.rdi = DATA_BASE;
	h->regs.rsi = DATA_BASE + PAGE_SIZE + 0x40;
	assert_int_equal(harness_run_code(h, code, sizeof(code)),
			 VTX_STOP_HALTED);
	harness_expect_exception(h, PF_VECTOR, 0, CODE_BASE + 3);
	assert_int_equal(h->sregs.cr2, DATA_BASE + PAGE_SIZE + 0x40);
	assert_int_equal(harness_read64(h, DATA_BASE), 0x3333);
	assert_int_equal(*harness_pte(h, DATA_BASE) & (PTE_A | PTE_D), PTE_A);
}

/* ---- TLB maintenance ----------------------------------------------------- */

/* The code reads DATA_BASE (filling the TLB), points its PTE at the next
 * frame, invalidates and reads again. */
static void test_invlpg__the_new_mapping_is_seen_after_it(void **state)
{
	struct harness *h = *state;
	static const uint8_t code[] = {
		0x48, 0x8b, 0x07, /* mov rax, qword ptr [rdi] */
		0x48, 0x89, 0x1e, /* mov qword ptr [rsi], rbx */
		0x0f, 0x01, 0x3f, /* invlpg byte ptr [rdi] */
		0x48, 0x8b, 0x0f, /* mov rcx, qword ptr [rdi] */
	};

	harness_write64(h, DATA_BASE, 0x1111);
	harness_write64(h, DATA_BASE + PAGE_SIZE, 0x2222);
	h->regs.rdi = DATA_BASE;
	h->regs.rsi = DATA_PTE_GPA;
	h->regs.rbx = (DATA_BASE + PAGE_SIZE) | PTE_P | PTE_RW;
	harness_exec(h, code, sizeof(code), 4);
	assert_int_equal(h->regs.rax, 0x1111);
	assert_int_equal(h->regs.rcx, 0x2222);
}

static void test_mov_cr3__reload_drops_stale_translations(void **state)
{
	struct harness *h = *state;
	static const uint8_t code[] = {
		0x48, 0x8b, 0x07, /* mov rax, qword ptr [rdi] */
		0x48, 0x89, 0x1e, /* mov qword ptr [rsi], rbx */
		0x0f, 0x20, 0xda, /* mov rdx, cr3 */
		0x0f, 0x22, 0xda, /* mov cr3, rdx */
		0x48, 0x8b, 0x0f, /* mov rcx, qword ptr [rdi] */
	};

	harness_write64(h, DATA_BASE, 0x1111);
	harness_write64(h, DATA_BASE + PAGE_SIZE, 0x2222);
	h->regs.rdi = DATA_BASE;
	h->regs.rsi = DATA_PTE_GPA;
	h->regs.rbx = (DATA_BASE + PAGE_SIZE) | PTE_P | PTE_RW;
	harness_exec(h, code, sizeof(code), 5);
	assert_int_equal(h->regs.rax, 0x1111);
	assert_int_equal(h->regs.rcx, 0x2222);
}

/* Physical addresses with nothing behind them read as all ones and drop
 * writes, without a fault. */
static void test_paging__frame_outside_the_arena_reads_all_ones(void **state)
{
	struct harness *h = *state;
	static const uint8_t code[] = {
		0x48, 0x8b, 0x07, /* mov rax, qword ptr [rdi] */
		0x48, 0x89, 0x1f, /* mov qword ptr [rdi], rbx */
		0x48, 0x8b, 0x0f, /* mov rcx, qword ptr [rdi] */
	};

	*harness_pte(h, DATA_BASE) = GiB(1) | PTE_P | PTE_RW;
	h->regs.rdi = DATA_BASE + 0x40;
	h->regs.rbx = 0x1234;
	harness_exec(h, code, sizeof(code), 3);
	assert_int_equal(h->regs.rax, ~0ull);
	assert_int_equal(h->regs.rcx, ~0ull);
	assert_int_equal(h->stats.exceptions[PF_VECTOR], 0);
}

/* ---- self-modifying code ------------------------------------------------- */

static void test_smc__store_ahead_in_the_same_block_runs_new_bytes(void **state)
{
	struct harness *h = *state;
	static const uint8_t code[] = {
		0xc6, 0x05, 0x01, 0x00, 0x00,
		0x00, 0x02, /* mov byte ptr [rip+0x1], 0x2 */
		0xb8, 0x01, 0x00, 0x00, 0x00, /* mov eax, 0x1 */
	};

	harness_exec(h, code, sizeof(code), 2);
	assert_int_equal(h->regs.rax, 2);
	assert_int_equal(h->stats.code_flushes, 1);
	assert_int_equal(harness_read64(h, CODE_BASE + 7) & 0xffffffffff,
			 0x00000002b8);
}

static void test_smc__limit_holds_when_the_store_is_the_last_insn(void **state)
{
	struct harness *h = *state;
	static const uint8_t code[] = {
		0xc6, 0x05, 0x01, 0x00, 0x00,
		0x00, 0x02, /* mov byte ptr [rip+0x1], 0x2 */
		0xb8, 0x01, 0x00, 0x00, 0x00, /* mov eax, 0x1 */
	};

	harness_exec(h, code, sizeof(code), 1);
	assert_int_equal(h->regs.rip, CODE_BASE + 7);
	assert_int_equal(h->regs.rax, 0);
	assert_int_equal(h->stats.insns, 1);

	/* Resumed, it runs the new bytes. */
	assert_int_equal(harness_run(h, 1), VTX_STOP_INSN_LIMIT);
	assert_int_equal(h->regs.rax, 2);
}

/* A function on another page runs once, is rewritten, and runs again. */
static void
test_smc__rewritten_page_runs_new_bytes_on_the_next_call(void **state)
{
	struct harness *h = *state;
	static const uint8_t code[] = {
		0xff, 0xd3, /* call rbx */
		0x89, 0xc1, /* mov ecx, eax */
		0xc6, 0x43, 0x01, 0x07, /* mov byte ptr [rbx+0x1], 0x7 */
		0xff, 0xd3, /* call rbx */
	};
	static const uint8_t fn[] = {
		0xb8, 0x01, 0x00, 0x00, 0x00, /* mov eax, 0x1 */
		0xc3, /* ret */
	};

	harness_load(h, CODE_BASE + 2 * PAGE_SIZE, fn, sizeof(fn));
	h->regs.rbx = CODE_BASE + 2 * PAGE_SIZE;
	/* call, mov, ret, mov, mov, call, mov, ret */
	harness_exec(h, code, sizeof(code), 8);
	assert_int_equal(h->regs.rcx, 1);
	assert_int_equal(h->regs.rax, 7);
	assert_int_equal(h->regs.rip, CODE_BASE + sizeof(code));
	assert_int_equal(h->stats.code_flushes, 1);
}

static void test_smc__store_to_a_data_page_flushes_nothing(void **state)
{
	struct harness *h = *state;
	static const uint8_t code[] = {
		0x48, 0x89, 0x07, /* mov qword ptr [rdi], rax */
		0xff, 0xc0, /* inc eax */
	};

	h->regs.rdi = DATA_BASE;
	harness_exec(h, code, sizeof(code), 2);
	assert_int_equal(h->stats.code_flushes, 0);
	assert_int_equal(h->stats.blocks_decoded, 1);
}

static void test_hpa_write__over_decoded_code_invalidates_it(void **state)
{
	struct harness *h = *state;
	static const uint8_t code[] = {
		0xb8, 0x01, 0x00, 0x00, 0x00, /* mov eax, 0x1 */
	};
	static const uint8_t patch = 5;

	harness_exec(h, code, sizeof(code), 1);
	assert_int_equal(h->regs.rax, 1);
	assert_int_equal(vtx_hpa_write(h->m, CODE_BASE + 1, &patch, 1), 0);
	h->regs.rip = CODE_BASE;
	assert_int_equal(harness_run(h, 1), VTX_STOP_INSN_LIMIT);
	assert_int_equal(h->regs.rax, 5);
	assert_int_equal(h->stats.code_flushes, 1);
	assert_int_equal(h->stats.blocks_decoded, 2);
}

#define T(t) cmocka_unit_test_setup_teardown(t, harness_setup, harness_teardown)

/* A chained block must not outlive the translation it was reached
 * through: the loop calls 0x105000 until it remaps that page (PTE write +
 * INVLPG); the next call runs the new frame's code (SDM Vol. 3A 4.10.4).
 * Blocks are chained to their successors (docs/performance.md), so this
 * pins that remapping invalidates the chain. */
static void test_invlpg__remapped_code_page_breaks_block_chain(void **state)
{
	struct harness *h = *state;
	static const uint8_t code[] = {
		0xe8, 0xfb, 0x4f, 0x00, 0x00, /* call 0x105000 */
		0x48, 0x01, 0xc3, /* add rbx, rax */
		0x48, 0x83, 0xf9, 0x02, /* cmp rcx, 2 */
		0x75, 0x0b, /* jne +0xb (dec rcx) */
		0x48, 0x89, 0x37, /* mov qword ptr [rdi], rsi */
		0x0f, 0x01, 0x3c, 0x25, 0x00, 0x50, 0x10, 0x00,
		/* invlpg byte ptr ds:0x105000 */
		0x48, 0xff, 0xc9, /* dec rcx */
		0x75, 0xe2, /* jne -0x1e (call) */
		0xf4, /* hlt */
	};
	static const uint8_t one[] = {
		0xb8, 0x01, 0x00, 0x00, 0x00, /* mov eax, 1 */
		0xc3, /* ret */
	};
	static const uint8_t two[] = {
		0xb8, 0x02, 0x00, 0x00, 0x00, /* mov eax, 2 */
		0xc3, /* ret */
	};

	harness_load(h, 0x105000, one, sizeof(one));
	harness_load(h, 0x106000, two, sizeof(two));
	h->regs.rcx = 4;
	h->regs.rbx = 0;
	h->regs.rdi = HARNESS_PT + (0x105000 >> 12) * 8;
	h->regs.rsi = (*harness_pte(h, 0x105000) & ~PTE_ADDR_MASK) | 0x106000;
	assert_int_equal(harness_run_code(h, code, sizeof(code)),
			 VTX_STOP_HALTED);
	/* calls 1: rcx = 4, 3, 2 (remapped after it); 2: rcx = 1 */
	assert_int_equal(h->regs.rbx, 1 + 1 + 1 + 2);
	assert_int_equal(h->regs.rcx, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_paging__read_sets_accessed_on_every_level_not_dirty),
		T(test_paging__write_sets_accessed_and_dirty),
		T(test_paging__2mib_page_write_sets_dirty_in_the_pde),
		T(test_pf__not_present_read_has_error_code_0),
		T(test_pf__not_present_write_has_error_code_2),
		T(test_pf__write_crossing_into_a_missing_page_writes_nothing),
		T(test_pf__write_to_read_only_with_cr0_wp_has_error_code_3),
		T(test_pf__supervisor_write_to_read_only_without_wp_succeeds),
		T(test_pf__user_write_to_read_only_faults_even_without_wp),
		T(test_pf__user_read_of_a_supervisor_page_has_error_code_5),
		T(test_pf__fetch_from_an_nx_page_has_error_code_0x11),
		T(test_pf__reserved_address_bit_has_error_code_9),
		T(test_pf__nx_bit_without_efer_nxe_is_reserved),
		T(test_pf__smep_fetch_from_a_user_page_has_error_code_0x11),
		T(test_smap__stac_allows_and_clac_forbids_user_page_reads),
		T(test_stac__at_cpl3_raises_ud),
		T(test_paging__1gib_page_maps_its_offset),
		T(test_pf__1gib_page_with_low_address_bits_is_reserved),
		T(test_fetch__insn_across_a_page_boundary_executes),
		T(test_fetch__insn_across_into_a_missing_page_faults_there),
		T(test_pf__read_only_page_allows_cmp_but_not_add),
		T(test_pf__pop_to_a_read_only_page_keeps_rsp),
		T(test_pf__xchg_on_a_missing_page_reports_a_write),
		T(test_pf__shl_on_a_missing_page_reports_a_write),
		T(test_pf__xadd_on_a_missing_page_reports_a_write),
		T(test_pf__bts_on_a_missing_page_reports_a_write),
		T(test_pf__cmpxchg_on_a_missing_page_reports_a_write),
		T(test_pf__rmw_crossing_into_a_missing_page_reports_a_write),
		T(test_pf__rep_movsb_fault_midway_leaves_a_resumable_state),
		T(test_clflush__checks_the_page_like_a_read),
		T(test_invlpg__the_new_mapping_is_seen_after_it),
		T(test_mov_cr3__reload_drops_stale_translations),
		T(test_paging__frame_outside_the_arena_reads_all_ones),
		T(test_smc__store_ahead_in_the_same_block_runs_new_bytes),
		T(test_smc__limit_holds_when_the_store_is_the_last_insn),
		T(test_smc__rewritten_page_runs_new_bytes_on_the_next_call),
		T(test_smc__store_to_a_data_page_flushes_nothing),
		T(test_hpa_write__over_decoded_code_invalidates_it),
		T(test_invlpg__remapped_code_page_breaks_block_chain),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
