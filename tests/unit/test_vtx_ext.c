/* SPDX-License-Identifier: MIT */
/*
 * test_vtx_ext - CMPXCHG16B and the x87/MMX/SSE/AVX instructions the model
 * does not implement (vtx/exec_ext.c): #NM or #UD by CR0.EM/MP/TS as SDM
 * Vol. 3A Table 2-2 and the SSE/MMX rules say, each one counted in the
 * unimplemented record by mnemonic, and CPUID advertising none of them.
 * Host side, tests only; code as raw bytes with its disassembly.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "tests/unit/vtx_harness.h"

/* ---- CMPXCHG16B ----------------------------------------------------------- */

static const uint8_t cx16_code[] = {
	0x48, 0x0f, 0xc7, 0x0f, /* cmpxchg16b XMMWORD PTR [rdi] */
};

static void test_cmpxchg16b__equal_stores_rcx_rbx_sets_zf(void **state)
{
	struct harness *h = *state;

	harness_write64(h, DATA_BASE, 0x1111);
	harness_write64(h, DATA_BASE + 8, 0x2222);
	h->regs.rdi = DATA_BASE;
	h->regs.rax = 0x1111;
	h->regs.rdx = 0x2222;
	h->regs.rbx = 0xaaaa5555aaaa5555ull;
	h->regs.rcx = 0x123456789abcdef0ull;
	h->regs.rflags = 0x2;
	harness_exec(h, cx16_code, sizeof(cx16_code), 1);
	assert_int_equal(harness_read64(h, DATA_BASE), 0xaaaa5555aaaa5555ull);
	assert_int_equal(harness_read64(h, DATA_BASE + 8),
			 0x123456789abcdef0ull);
	assert_int_equal(h->regs.rflags & 0x40, 0x40); /* ZF */
	assert_int_equal(h->regs.rax, 0x1111);
	assert_int_equal(h->regs.rdx, 0x2222);
}

static void test_cmpxchg16b__differs_in_high_half_loads_rdx_rax(void **state)
{
	struct harness *h = *state;

	harness_write64(h, DATA_BASE, 0x1111);
	harness_write64(h, DATA_BASE + 8, 0x3333);
	h->regs.rdi = DATA_BASE;
	h->regs.rax = 0x1111;
	h->regs.rdx = 0x2222;
	h->regs.rbx = 7;
	h->regs.rcx = 8;
	h->regs.rflags = 0x2 | 0x40;
	harness_exec(h, cx16_code, sizeof(cx16_code), 1);
	assert_int_equal(harness_read64(h, DATA_BASE), 0x1111);
	assert_int_equal(harness_read64(h, DATA_BASE + 8), 0x3333);
	assert_int_equal(h->regs.rflags & 0x40, 0);
	assert_int_equal(h->regs.rax, 0x1111);
	assert_int_equal(h->regs.rdx, 0x3333);
}

static void test_cmpxchg16b__8_byte_aligned_operand_is_gp0(void **state)
{
	struct harness *h = *state;

	harness_write64(h, DATA_BASE + 8, 0x1111);
	h->regs.rdi = DATA_BASE + 8;
	h->regs.rax = 0x1111;
	h->regs.rbx = 5;
	assert_int_equal(harness_run_code(h, cx16_code, sizeof(cx16_code)),
			 VTX_STOP_HALTED);
	harness_expect_exception(h, GP_VECTOR, 0, CODE_BASE);
	/* Nothing changed. */
	assert_int_equal(harness_read64(h, DATA_BASE + 8), 0x1111);
	assert_int_equal(h->stats.unimplemented, 0);
}

static void
test_cmpxchg16b__read_only_page_faults_before_any_change(void **state)
{
	struct harness *h = *state;

	/* Clear R/W in the PTE of DATA_BASE: a write fault (#PF, P|W). */
	*harness_pte(h, DATA_BASE) &= ~2ull;
	h->regs.rdi = DATA_BASE;
	h->regs.rax = 1; /* differs: a plain read would not fault */
	assert_int_equal(harness_run_code(h, cx16_code, sizeof(cx16_code)),
			 VTX_STOP_HALTED);
	harness_expect_exception(h, PF_VECTOR, 0x3, CODE_BASE);
	assert_int_equal(h->regs.rax, 1);
}

static void test_cpuid__leaf1_advertises_cx16_and_no_fpu_mmx_sse(void **state)
{
	struct harness *h = *state;
	uint32_t r[4];

	assert_int_equal(vtx_cpu_cpuid(h->cpu, 1, 0, r), 0);
	assert_int_equal(r[2] & (1u << 13), 1u << 13); /* CMPXCHG16B */
	/* EDX: FPU 0, MMX 23, FXSR 24, SSE 25, SSE2 26 */
	assert_int_equal(r[3] & ((1u << 0) | (1u << 23) | (1u << 24) |
				 (1u << 25) | (1u << 26)),
			 0);
	/* ECX: SSE3 0, SSSE3 9, FMA 12, SSE4.1 19, SSE4.2 20, AES 25,
	 * XSAVE 26, OSXSAVE 27, AVX 28, F16C 29 */
	assert_int_equal(r[2] & ((1u << 0) | (1u << 9) | (1u << 12) |
				 (1u << 19) | (1u << 20) | (1u << 25) |
				 (1u << 26) | (1u << 27) | (1u << 28) |
				 (1u << 29)),
			 0);
	assert_int_equal(vtx_cpu_cpuid(h->cpu, 7, 0, r), 0);
	/* EBX: AVX2 5, AVX-512F 16, ...; ECX and EDX: no AVX-512 parts */
	assert_int_equal(r[1] & ((1u << 5) | (1u << 16) | (1u << 17) |
				 (1u << 21) | (1u << 26) | (1u << 27) |
				 (1u << 28) | (1u << 30) | (1u << 31)),
			 0);
	assert_int_equal(r[2], 0);
	assert_int_equal(r[3], 0);
	/* No XSAVE leaf. */
	assert_int_equal(vtx_cpu_cpuid(h->cpu, 0xd, 0, r), 0);
	assert_int_equal(r[0] | r[1] | r[2] | r[3], 0);
}

/* ---- x87, MMX, SSE, AVX: #NM or #UD, counted ------------------------------ */

#define NO_FAULT (-1)

struct fpu_case {
	const char *name; /* the decoder's mnemonic */
	uint8_t code[8];
	uint8_t len;
	/* The vector raised with CR0.MP set and EM/TS: neither, TS, EM,
	 * EM and TS; NO_FAULT: the instruction completes. */
	int vec[4];
};

static const struct fpu_case fpu_cases[] = {
	/* x87, Table 2-2: EM or TS -> #NM */
	{ "fld1",
	  { 0xd9, 0xe8 },
	  2, /* fld1 */
	  { UD_VECTOR, NM_VECTOR, NM_VECTOR, NM_VECTOR } },
	{ "fnstsw",
	  { 0xdf, 0xe0 },
	  2, /* fnstsw ax */
	  { UD_VECTOR, NM_VECTOR, NM_VECTOR, NM_VECTOR } },
	/* WAIT: MP and TS -> #NM; CR0.EM does not matter */
	{ "fwait",
	  { 0x9b },
	  1, /* fwait */
	  { NO_FAULT, NM_VECTOR, NO_FAULT, NM_VECTOR } },
	/* MMX: EM -> #UD, then TS -> #NM */
	{ "emms",
	  { 0x0f, 0x77 },
	  2, /* emms */
	  { UD_VECTOR, NM_VECTOR, UD_VECTOR, UD_VECTOR } },
	{ "movq",
	  { 0x0f, 0x6f, 0xc1 },
	  3, /* movq mm0, mm1 */
	  { UD_VECTOR, NM_VECTOR, UD_VECTOR, UD_VECTOR } },
	/* SSE: CR4.OSFXSR is always clear here -> #UD whatever CR0 says */
	{ "addps",
	  { 0x0f, 0x58, 0xc1 },
	  3, /* addps xmm0, xmm1 */
	  { UD_VECTOR, UD_VECTOR, UD_VECTOR, UD_VECTOR } },
	{ "ldmxcsr",
	  { 0x0f, 0xae, 0x10 },
	  3, /* ldmxcsr DWORD PTR [rax] */
	  { UD_VECTOR, UD_VECTOR, UD_VECTOR, UD_VECTOR } },
	{ "cvtpi2ps",
	  { 0x0f, 0x2a, 0xc1 },
	  3, /* cvtpi2ps xmm0, mm1 */
	  { UD_VECTOR, UD_VECTOR, UD_VECTOR, UD_VECTOR } },
	/* FXSAVE: EM or TS -> #NM */
	{ "fxsave",
	  { 0x0f, 0xae, 0x00 },
	  3, /* fxsave [rax] */
	  { UD_VECTOR, NM_VECTOR, NM_VECTOR, NM_VECTOR } },
	/* VEX: CR4.OSXSAVE clear -> #UD before CR0.TS */
	{ "vaddps",
	  { 0xc5, 0xf4, 0x58, 0xc2 },
	  4, /* vaddps ymm0,ymm1,ymm2 */
	  { UD_VECTOR, UD_VECTOR, UD_VECTOR, UD_VECTOR } },
	{ "xsave",
	  { 0x0f, 0xae, 0x20 },
	  3, /* xsave [rax] */
	  { UD_VECTOR, UD_VECTOR, UD_VECTOR, UD_VECTOR } },
};

static const uint64_t fpu_cr0[4] = {
	0,
	X86_CR0_TS,
	X86_CR0_EM,
	X86_CR0_EM | X86_CR0_TS,
};

static void test_fpu__each_family_faults_by_cr0_and_is_counted(void **state)
{
	(void)state;
	for (size_t k = 0; k < sizeof(fpu_cases) / sizeof(fpu_cases[0]); k++) {
		const struct fpu_case *fc = &fpu_cases[k];

		for (unsigned m = 0; m < 4; m++) {
			struct harness *h;
			uint8_t code[16];
			struct vtx_unimpl u;
			bool nf = fc->vec[m] == NO_FAULT;
			bool counted = strcmp(fc->name, "fwait") != 0;

			assert_int_equal(harness_setup((void **)&h), 0);
			memcpy(code, fc->code, fc->len);
			code[fc->len] = 0xf4; /* hlt */
			h->sregs.cr0 |= fpu_cr0[m];
			h->regs.rax = DATA_BASE;
			if (nf) {
				harness_exec(h, code, fc->len, 1);
				assert_int_equal(h->regs.rip,
						 CODE_BASE + fc->len);
			} else {
				assert_int_equal(
					harness_run_code(h, code, fc->len + 1u),
					VTX_STOP_HALTED);
				if (harness_stop_vector(h) != fc->vec[m])
					fail_msg("%s, cr0 case %u: vector %d, "
						 "want %d",
						 fc->name, m,
						 harness_stop_vector(h),
						 fc->vec[m]);
				harness_expect_exception(h, fc->vec[m],
							 HARNESS_NO_ERROR_CODE,
							 CODE_BASE);
			}
			assert_int_equal(h->stats.unimplemented, counted);
			if (counted) {
				assert_int_equal(vtx_cpu_get_unimplemented(
							 h->cpu, &u, 1),
						 1);
				assert_string_equal(u.mnemonic, fc->name);
				assert_int_equal(u.count, 1);
				assert_int_equal(u.len, fc->len);
			}
			void *st = h;
			harness_teardown(&st);
		}
	}
}

/* The classic lazy-FPU round trip: #NM, the handler's CLTS, and the
 * retried instruction then meets the #UD of an absent x87 unit. */
static void test_fpu__fld1_after_clts_is_ud_counted_twice(void **state)
{
	struct harness *h = *state;
	static const uint8_t code[] = {
		0xd9, 0xe8, /* fld1 */
		0xf4, /* hlt */
	};
	struct vtx_unimpl u;

	h->sregs.cr0 |= X86_CR0_TS;
	assert_int_equal(harness_run_code(h, code, sizeof(code)),
			 VTX_STOP_HALTED);
	harness_expect_exception(h, NM_VECTOR, HARNESS_NO_ERROR_CODE,
				 CODE_BASE);
	h->sregs.cr0 &= ~(uint64_t)X86_CR0_TS;
	h->regs.rip = CODE_BASE;
	h->regs.rsp = HARNESS_STACK_TOP;
	assert_int_equal(harness_run(h, 100), VTX_STOP_HALTED);
	harness_expect_exception(h, UD_VECTOR, HARNESS_NO_ERROR_CODE,
				 CODE_BASE);
	assert_int_equal(vtx_cpu_get_unimplemented(h->cpu, &u, 1), 1);
	assert_string_equal(u.mnemonic, "fld1");
	assert_int_equal(u.count, 2);
	assert_int_equal(h->stats.exceptions[NM_VECTOR], 1);
	assert_int_equal(h->stats.exceptions[UD_VECTOR], 1);
}

#define T(fn) \
	cmocka_unit_test_setup_teardown(fn, harness_setup, harness_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_cmpxchg16b__equal_stores_rcx_rbx_sets_zf),
		T(test_cmpxchg16b__differs_in_high_half_loads_rdx_rax),
		T(test_cmpxchg16b__8_byte_aligned_operand_is_gp0),
		T(test_cmpxchg16b__read_only_page_faults_before_any_change),
		T(test_cpuid__leaf1_advertises_cx16_and_no_fpu_mmx_sse),
		cmocka_unit_test(
			test_fpu__each_family_faults_by_cr0_and_is_counted),
		T(test_fpu__fld1_after_clts_is_ud_counted_twice),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
