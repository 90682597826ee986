/* SPDX-License-Identifier: MIT */
/*
 * test_vtx_sys - the model's system instructions and machine interface
 * (vtx/exec_sys.c, vtx/machine.c, vtx/run.c) from raw instruction bytes:
 * CPUID, RDTSC, RDMSR/WRMSR, MOV CR, LGDT/LIDT/SGDT/SIDT, LTR, SWAPGS,
 * SYSCALL/SYSRET, port I/O with the TSS I/O bitmap (SDM Vol. 1 19.5), HLT,
 * the instruction limit, and what vtx_cpu_set_sregs() and the hpa
 * accessors refuse. Host side, tests only.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <string.h>

#include "arch/x86_msr.h"
#include "arch/x86_seg.h"
#include "tests/unit/vtx_harness.h"

/* CR0 of the harness with PG cleared: legal bits, illegal in 64-bit mode. */
#define CR0_NO_PG \
	(X86_CR0_PE | X86_CR0_MP | X86_CR0_ET | X86_CR0_NE | X86_CR0_WP)

/* ---- CPUID, RDTSC -------------------------------------------------------- */

static void test_cpuid__leaf_0_reports_genuineintel(void **state)
{
	struct harness *h = *state;
	static const uint8_t code[] = {
		0x0f, 0xa2, /* cpuid */
	};

	h->regs.rbx = ~0ull;
	h->regs.rdx = ~0ull;
	h->regs.rcx = ~0ull;
	harness_exec(h, code, sizeof(code), 1);
	assert_int_equal(h->regs.rax, 7); /* highest basic leaf */
	assert_int_equal(h->regs.rbx, 0x756e6547); /* "Genu" */
	assert_int_equal(h->regs.rdx, 0x49656e69); /* "ineI" */
	assert_int_equal(h->regs.rcx, 0x6c65746e); /* "ntel" */
}

/* CPUID.1 advertises what the model implements: no x87, MMX or SSE. VMX,
 * CMPXCHG16B, PCID, DE, PSE, TSC, MSR, PAE, CX8, APIC, PGE, CMOV, PAT,
 * PSE-36, CLFSH and POPCNT each have a test in the vtx unit tests. */
static void
test_cpuid__leaf_1_features_are_what_the_model_implements(void **state)
{
	struct harness *h = *state;
	static const uint8_t code[] = {
		0x0f, 0xa2, /* cpuid */
	};

	h->regs.rax = 1;
	harness_exec(h, code, sizeof(code), 1);
	assert_int_equal(h->regs.rax, 0x00050654); /* family 6, model 0x55 */
	assert_int_equal(h->regs.rbx, 0x00000800); /* CLFLUSH line 64 bytes */
	/* VMX, CMPXCHG16B, PCID, x2APIC, POPCNT, TSC-deadline timer */
	assert_int_equal(h->regs.rcx, (1u << 5) | (1u << 13) | (1u << 17) |
					      (1u << 21) | (1u << 23) |
					      (1u << 24));
	/* DE PSE TSC MSR PAE CX8 APIC PGE CMOV PAT PSE-36 CLFSH */
	assert_int_equal(h->regs.rdx,
			 (1u << 2) | (1u << 3) | (1u << 4) | (1u << 5) |
				 (1u << 6) | (1u << 8) | (1u << 9) |
				 (1u << 13) | (1u << 15) | (1u << 16) |
				 (1u << 17) | (1u << 19));

	h->regs.rax = 0x80000001;
	harness_exec(h, code, sizeof(code), 1);
	/* LAHF in 64-bit mode, LZCNT; SYSCALL, NX, 1-GiB pages, RDTSCP, LM. */
	assert_int_equal(h->regs.rcx, (1u << 0) | (1u << 5));
	assert_int_equal(h->regs.rdx, (1u << 11) | (1u << 20) | (1u << 26) |
					      (1u << 27) | (1u << 29));
}

/* The guest TSC is the modeled cycle counter; under the harness's
 * profile, the built-in "unit" one (vtx/cost.h), that is the count of
 * retired instructions. */
static void test_rdtsc__equals_the_retired_instruction_count(void **state)
{
	struct harness *h = *state;
	static const uint8_t code[] = {
		0x90, /* nop */
		0x90, /* nop */
		0x90, /* nop */
		0x0f, 0x31, /* rdtsc */
	};

	h->regs.rax = ~0ull;
	h->regs.rdx = ~0ull;
	harness_exec(h, code, sizeof(code), 4);
	assert_int_equal(h->regs.rax, 3);
	assert_int_equal(h->regs.rdx, 0);

	/* The clock runs on across runs: four more retired. */
	harness_exec(h, code, sizeof(code), 4);
	assert_int_equal(h->regs.rax, 7);
	assert_int_equal(h->stats.insns, 8);
}

static void test_rdtscp__returns_tsc_aux_in_ecx(void **state)
{
	struct harness *h = *state;
	static const uint8_t code[] = {
		0x90, /* nop */
		0x0f, 0x01, 0xf9, /* rdtscp */
	};

	assert_int_equal(vtx_cpu_set_msr(h->cpu, MSR_TSC_AUX, 0x1234), 0);
	h->regs.rcx = ~0ull;
	harness_exec(h, code, sizeof(code), 2);
	assert_int_equal(h->regs.rax, 1);
	assert_int_equal(h->regs.rdx, 0);
	assert_int_equal(h->regs.rcx, 0x1234);
}

/* ---- RDMSR, WRMSR -------------------------------------------------------- */

static void test_rdmsr_wrmsr__efer_round_trip(void **state)
{
	struct harness *h = *state;
	static const uint8_t code[] = {
		0x0f, 0x32, /* rdmsr */
		0x83, 0xc8, 0x01, /* or eax, 0x1 */
		0x0f, 0x30, /* wrmsr */
		0x31, 0xc0, /* xor eax, eax */
		0x0f, 0x32, /* rdmsr */
	};
	uint64_t efer;

	h->regs.rcx = MSR_EFER;
	h->regs.rdx = ~0ull;
	harness_exec(h, code, sizeof(code), 1);
	assert_int_equal(h->regs.rax, EFER_LME | EFER_LMA | EFER_NX);
	assert_int_equal(h->regs.rdx, 0);

	harness_exec(h, code, sizeof(code), 5);
	assert_int_equal(h->regs.rax, EFER_SCE | EFER_LME | EFER_LMA | EFER_NX);
	assert_int_equal(vtx_cpu_get_msr(h->cpu, MSR_EFER, &efer), 0);
	assert_int_equal(efer, EFER_SCE | EFER_LME | EFER_LMA | EFER_NX);
	assert_int_equal(h->sregs.efer, efer);
}

static void test_wrmsr__lstar_and_fs_base_round_trip(void **state)
{
	struct harness *h = *state;
	static const uint8_t code[] = {
		0x0f, 0x30, /* wrmsr */
		0xb9, 0x00, 0x01, 0x00, 0xc0, /* mov ecx, 0xc0000100 */
		0xb8, 0x00, 0x00, 0x1c, 0x00, /* mov eax, 0x1c0000 */
		0x31, 0xd2, /* xor edx, edx */
		0x0f, 0x30, /* wrmsr */
		0x64, 0x48, 0x8b, 0x03, /* mov rax, qword ptr fs:[rbx] */
		0xb9, 0x82, 0x00, 0x00, 0xc0, /* mov ecx, 0xc0000082 */
		0x0f, 0x32, /* rdmsr */
	};
	uint64_t v;

	harness_write64(h, DATA_BASE + 0x18, 0x5151515151515151);
	h->regs.rcx = MSR_LSTAR;
	h->regs.rdx = 0xffffffff;
	h->regs.rax = 0x81000000;
	h->regs.rbx = 0x18;
	harness_exec(h, code, sizeof(code), 6);
	assert_int_equal(DATA_BASE, 0x1c0000);
	/* FS:[0x18] is linear FS.base + 0x18 (SDM Vol. 3A 3.2.4). */
	assert_int_equal(h->regs.rax, 0x5151515151515151);
	assert_int_equal(h->sregs.fs.base, DATA_BASE);
	assert_int_equal(vtx_cpu_get_msr(h->cpu, MSR_LSTAR, &v), 0);
	assert_int_equal(v, 0xffffffff81000000);

	/* Again, on to the RDMSR of LSTAR at the end. */
	h->regs.rcx = MSR_LSTAR;
	h->regs.rdx = 0xffffffff;
	h->regs.rax = 0x81000000;
	harness_exec(h, code, sizeof(code), 8);
	assert_int_equal(h->regs.rax, 0x81000000);
	assert_int_equal(h->regs.rdx, 0xffffffff);
}

static void test_wrmsr__non_canonical_lstar_raises_gp(void **state)
{
	struct harness *h = *state;
	static const uint8_t code[] = {
		0x0f, 0x30, /* wrmsr */
	};
	uint64_t v;

	h->regs.rcx = MSR_LSTAR;
	h->regs.rdx = 0x00008000; /* bit 47 set, 63:48 clear */
	assert_int_equal(harness_run_code(h, code, sizeof(code)),
			 VTX_STOP_HALTED);
	harness_expect_exception(h, GP_VECTOR, 0, CODE_BASE);
	assert_int_equal(vtx_cpu_get_msr(h->cpu, MSR_LSTAR, &v), 0);
	assert_int_equal(v, 0);
	/* A known MSR refusing a value is no missing model. */
	assert_int_equal(h->stats.unimplemented, 0);
}

/* SDM Vol. 3A 13.12.2: PAT memory types 2, 3 and 8-255 are reserved. */
static void test_wrmsr__pat_with_a_reserved_type_raises_gp(void **state)
{
	struct harness *h = *state;
	static const uint8_t code[] = {
		0x0f, 0x32, /* rdmsr */
		0xb8, 0x02, 0x00, 0x00, 0x00, /* mov eax, 0x2 */
		0x0f, 0x30, /* wrmsr */
	};
	uint64_t v;

	h->regs.rcx = MSR_IA32_CR_PAT;
	assert_int_equal(harness_run_code(h, code, sizeof(code)),
			 VTX_STOP_HALTED);
	harness_expect_exception(h, GP_VECTOR, 0, CODE_BASE + 7);
	/* RDMSR read the power-up value first (SDM Vol. 3A Table 10-1). */
	assert_int_equal(h->regs.rdx, 0x00070406);
	assert_int_equal(vtx_cpu_get_msr(h->cpu, MSR_IA32_CR_PAT, &v), 0);
	assert_int_equal(v, X86_RESET_PAT);
}

static void test_rdmsr__unknown_msr_raises_gp_and_is_recorded(void **state)
{
	struct harness *h = *state;
	static const uint8_t code[] = {
		0x0f, 0x32, /* rdmsr */
	};
	struct vtx_unimpl u;

	h->regs.rcx = 0x12345678;
	h->regs.rax = 0xaaaa;
	assert_int_equal(harness_run_code(h, code, sizeof(code)),
			 VTX_STOP_HALTED);
	harness_expect_exception(h, GP_VECTOR, 0, CODE_BASE);
	assert_int_equal(h->regs.rax, 0xaaaa);
	assert_int_equal(h->stats.unimplemented, 1);
	assert_int_equal(vtx_cpu_get_unimplemented(h->cpu, &u, 1), 1);
	assert_int_equal(u.rip, CODE_BASE);
	assert_int_equal(u.count, 1);
	assert_string_equal(u.mnemonic, "rdmsr 0x12345678");
}

static void test_rdmsr__at_cpl3_raises_gp(void **state)
{
	struct harness *h = *state;
	static const uint8_t code[] = {
		0x0f, 0x32, /* rdmsr */
	};

	h->regs.rcx = MSR_EFER;
	harness_load(h, USER_CODE, code, sizeof(code));
	harness_enter_user(h, USER_CODE);
	assert_int_equal(harness_run(h, 100), VTX_STOP_HALTED);
	harness_expect_exception(h, GP_VECTOR, 0, USER_CODE);
	/* Delivered on the TSS's RSP0 stack: error code and 5 qwords. */
	assert_int_equal(h->regs.rsp, HARNESS_RSP0_TOP - 48);
	assert_int_equal(h->stats.unimplemented, 0);
}

/* ---- MOV to and from control registers ----------------------------------- */

static void expect_mov_cr_gp(struct harness *h, const uint8_t *code, size_t len)
{
	struct kvm_sregs before = h->sregs;

	assert_int_equal(harness_run_code(h, code, len), VTX_STOP_HALTED);
	harness_expect_exception(h, GP_VECTOR, 0, CODE_BASE);
	assert_int_equal(h->sregs.cr0, before.cr0);
	assert_int_equal(h->sregs.cr3, before.cr3);
	assert_int_equal(h->sregs.cr4, before.cr4);
	assert_int_equal(h->sregs.efer, before.efer);
}

static void test_mov_cr0__clearing_pg_in_64bit_mode_raises_gp(void **state)
{
	struct harness *h = *state;
	static const uint8_t code[] = {
		0x0f, 0x22, 0xc0, /* mov cr0, rax */
	};

	/* SDM Vol. 3A 9.8.5.4: paging cannot be turned off in IA-32e mode
	 * from 64-bit code. */
	h->regs.rax = CR0_NO_PG;
	expect_mov_cr_gp(h, code, sizeof(code));
}

static void test_mov_cr0__reserved_high_bit_raises_gp(void **state)
{
	struct harness *h = *state;
	static const uint8_t code[] = {
		0x0f, 0x22, 0xc0, /* mov cr0, rax */
	};

	h->regs.rax = h->sregs.cr0 | (1ull << 32);
	expect_mov_cr_gp(h, code, sizeof(code));
}

/* Reserved bits 31:0 of CR0 are ignored, not a #GP (SDM Vol. 3A 2.5). */
static void test_mov_cr0__reserved_low_bits_are_dropped(void **state)
{
	struct harness *h = *state;
	static const uint8_t code[] = {
		0x0f, 0x22, 0xc0, /* mov cr0, rax */
		0x0f, 0x20, 0xc3, /* mov rbx, cr0 */
	};
	uint64_t cr0 = h->sregs.cr0;

	h->regs.rax = cr0 | 0x1ffa0040; /* bits 6, 17 and 19-28 */
	harness_exec(h, code, sizeof(code), 2);
	assert_int_equal(h->regs.rbx, cr0);
	assert_int_equal(h->sregs.cr0, cr0);
}

static void test_mov_cr0__nw_without_cd_raises_gp(void **state)
{
	struct harness *h = *state;
	static const uint8_t code[] = {
		0x0f, 0x22, 0xc0, /* mov cr0, rax */
	};

	h->regs.rax = h->sregs.cr0 | X86_CR0_NW;
	expect_mov_cr_gp(h, code, sizeof(code));
}

static void test_mov_cr4__reserved_high_bit_raises_gp(void **state)
{
	struct harness *h = *state;
	static const uint8_t code[] = {
		0x0f, 0x22, 0xe0, /* mov cr4, rax */
	};

	h->regs.rax = X86_CR4_PAE | (1ull << 40);
	expect_mov_cr_gp(h, code, sizeof(code));
	assert_int_equal(h->stats.unimplemented, 0);
}

static void test_mov_cr4__clearing_pae_in_ia32e_mode_raises_gp(void **state)
{
	struct harness *h = *state;
	static const uint8_t code[] = {
		0x0f, 0x22, 0xe0, /* mov cr4, rax */
	};

	h->regs.rax = 0;
	expect_mov_cr_gp(h, code, sizeof(code));
}

/* A bit the SDM defines but the model lacks (OSFXSR, bit 9: no SSE): #GP
 * as on a CPU without the feature, and recorded as unimplemented. */
static void
test_mov_cr4__unmodeled_osfxsr_raises_gp_and_is_recorded(void **state)
{
	struct harness *h = *state;
	static const uint8_t code[] = {
		0x0f, 0x22, 0xe0, /* mov cr4, rax */
	};
	struct vtx_unimpl u;

	h->regs.rax = X86_CR4_PAE | X86_CR4_OSFXSR;
	expect_mov_cr_gp(h, code, sizeof(code));
	assert_int_equal(vtx_cpu_get_unimplemented(h->cpu, &u, 1), 1);
	assert_string_equal(u.mnemonic, "mov cr4 bits 0x200");
	assert_int_equal(u.count, 1);
}

/* CR4.VMXE is implemented: setting it is a plain write, and reads back. */
static void test_mov_cr4__vmxe_sets_and_reads_back(void **state)
{
	struct harness *h = *state;
	static const uint8_t code[] = {
		0x0f, 0x22, 0xe0, /* mov cr4, rax */
		0x0f, 0x20, 0xe3, /* mov rbx, cr4 */
	};

	h->regs.rax = h->sregs.cr4 | X86_CR4_VMXE;
	harness_exec(h, code, sizeof(code), 2);
	assert_int_equal(h->regs.rbx, h->regs.rax);
	assert_int_equal(h->sregs.cr4 & X86_CR4_VMXE, X86_CR4_VMXE);
}

/* The model has no 5-level paging: CPUID.7 does not advertise LA57, and
 * setting CR4.LA57 is #GP(0), recorded. */
static void
test_mov_cr4__unadvertised_la57_raises_gp_and_is_recorded(void **state)
{
	struct harness *h = *state;
	static const uint8_t code[] = {
		0x0f, 0x22, 0xe0, /* mov cr4, rax */
	};
	struct vtx_unimpl u;

	h->regs.rax = X86_CR4_PAE | X86_CR4_LA57;
	expect_mov_cr_gp(h, code, sizeof(code));
	assert_int_equal(vtx_cpu_get_unimplemented(h->cpu, &u, 1), 1);
	assert_string_equal(u.mnemonic, "mov cr4 bits 0x1000");
}

/* SDM Vol. 3A 18.2.2: with CR4.DE = 0, DR4 and DR5 alias DR6 and DR7. */
static void test_mov_dr4__aliases_dr6_when_cr4_de_is_clear(void **state)
{
	struct harness *h = *state;
	static const uint8_t code[] = {
		0x0f, 0x23, 0xf0, /* mov dr6, rax */
		0x0f, 0x21, 0xe3, /* mov rbx, dr4 */
	};

	h->regs.rax = DR6_B0;
	harness_exec(h, code, sizeof(code), 2);
	assert_int_equal(h->regs.rbx, DR6_FIXED_1 | DR6_B0);
}

/* With CR4.DE = 1, a MOV that names DR4 or DR5 is #UD. */
static void test_mov_dr4__raises_ud_when_cr4_de_is_set(void **state)
{
	struct harness *h = *state;
	static const uint8_t code[] = {
		0x0f, 0x21, 0xe3, /* mov rbx, dr4 */
	};

	h->sregs.cr4 |= X86_CR4_DE;
	assert_int_equal(harness_run_code(h, code, sizeof(code)),
			 VTX_STOP_HALTED);
	harness_expect_exception(h, UD_VECTOR, HARNESS_NO_ERROR_CODE,
				 CODE_BASE);
}

static void test_mov_cr3__bits_above_maxphyaddr_raise_gp(void **state)
{
	struct harness *h = *state;
	static const uint8_t code[] = {
		0x0f, 0x22, 0xd8, /* mov cr3, rax */
	};

	h->regs.rax = HARNESS_PML4 | (1ull << 46);
	expect_mov_cr_gp(h, code, sizeof(code));
}

static void test_mov_cr__read_back_cr0_cr3_cr4(void **state)
{
	struct harness *h = *state;
	static const uint8_t code[] = {
		0x0f, 0x20, 0xc0, /* mov rax, cr0 */
		0x0f, 0x20, 0xdb, /* mov rbx, cr3 */
		0x0f, 0x22, 0xdb, /* mov cr3, rbx */
		0x0f, 0x20, 0xe1, /* mov rcx, cr4 */
		0x48, 0x81, 0xc9, 0x80, 0x00, 0x00, 0x00, /* or rcx, 0x80 */
		0x0f, 0x22, 0xe1, /* mov cr4, rcx */
		0x0f, 0x20, 0xe2, /* mov rdx, cr4 */
	};

	harness_exec(h, code, sizeof(code), 7);
	assert_int_equal(h->regs.rax, X86_CR0_PE | X86_CR0_MP | X86_CR0_ET |
					      X86_CR0_NE | X86_CR0_WP |
					      X86_CR0_PG);
	assert_int_equal(h->regs.rbx, HARNESS_PML4);
	assert_int_equal(h->regs.rdx, X86_CR4_PAE | X86_CR4_PGE);
	assert_int_equal(h->sregs.cr4, X86_CR4_PAE | X86_CR4_PGE);
}

static void test_mov_cr__at_cpl3_raises_gp(void **state)
{
	struct harness *h = *state;
	static const uint8_t code[] = {
		0x0f, 0x20, 0xd8, /* mov rax, cr3 */
	};

	harness_load(h, USER_CODE, code, sizeof(code));
	harness_enter_user(h, USER_CODE);
	assert_int_equal(harness_run(h, 100), VTX_STOP_HALTED);
	harness_expect_exception(h, GP_VECTOR, 0, USER_CODE);
	assert_int_equal(h->regs.rax, 0);
}

/* ---- descriptor tables, TR, GS ------------------------------------------- */

static void test_lgdt_lidt_sgdt_sidt__round_trip(void **state)
{
	struct harness *h = *state;
	static const uint8_t code[] = {
		0x0f, 0x01, 0x17, /* lgdt [rdi] */
		0x0f, 0x01, 0x47, 0x10, /* sgdt [rdi+0x10] */
		0x0f, 0x01, 0x5f, 0x20, /* lidt [rdi+0x20] */
		0x0f, 0x01, 0x4f, 0x30, /* sidt [rdi+0x30] */
	};
	struct x86_desc_ptr gdt = { .limit = 0x1234,
				    .base = 0xffff800000001000 };
	struct x86_desc_ptr idt = { .limit = 0x0fff, .base = 0x2000 };
	struct x86_desc_ptr out;

	harness_load(h, DATA_BASE, &gdt, sizeof(gdt));
	harness_load(h, DATA_BASE + 0x20, &idt, sizeof(idt));
	h->regs.rdi = DATA_BASE;
	harness_exec(h, code, sizeof(code), 4);
	assert_int_equal(h->sregs.gdt.base, 0xffff800000001000);
	assert_int_equal(h->sregs.gdt.limit, 0x1234);
	assert_int_equal(h->sregs.idt.base, 0x2000);
	assert_int_equal(h->sregs.idt.limit, 0x0fff);
	assert_int_equal(vtx_hpa_read(h->m, DATA_BASE + 0x10, &out, 10), 0);
	assert_memory_equal(&out, &gdt, 10);
	assert_int_equal(vtx_hpa_read(h->m, DATA_BASE + 0x30, &out, 10), 0);
	assert_memory_equal(&out, &idt, 10);
}

static void write_available_tss(struct harness *h, uint16_t sel)
{
	struct kvm_segment s = {
		.base = HARNESS_TSS,
		.limit = X86_TSS64_LIMIT,
		.type = SEG_TYPE_TSS64_AVAIL,
		.present = 1,
	};
	uint64_t d[2];

	d[0] = x86_seg_encode_sys_desc(&s, &d[1]);
	harness_load(h, HARNESS_GDT + SEL_INDEX(sel) * 8, d, sizeof(d));
}

/* SDM Vol. 2A "LTR": the descriptor must be an available TSS, and LTR
 * marks it busy in the GDT. */
static void test_ltr__loads_tr_and_marks_the_descriptor_busy(void **state)
{
	struct harness *h = *state;
	static const uint8_t code[] = {
		0xb8, 0x38, 0x00, 0x00, 0x00, /* mov eax, 0x38 */
		0x0f, 0x00, 0xd8, /* ltr ax */
		0x66, 0x0f, 0x00, 0xcb, /* str bx */
	};
	uint64_t desc;

	assert_int_equal(SEL_SPARE, 0x38);
	write_available_tss(h, SEL_SPARE);
	harness_exec(h, code, sizeof(code), 3);
	desc = harness_read64(h, HARNESS_GDT + SEL_INDEX(SEL_SPARE) * 8);
	assert_int_equal(x86_desc_get_type(desc), SEG_TYPE_TSS64_BUSY);
	assert_int_equal(h->sregs.tr.selector, SEL_SPARE);
	assert_int_equal(h->sregs.tr.type, SEG_TYPE_TSS64_BUSY);
	assert_int_equal(h->sregs.tr.base, HARNESS_TSS);
	assert_int_equal(h->sregs.tr.limit, X86_TSS64_LIMIT);
	assert_int_equal(h->regs.rbx & 0xffff, SEL_SPARE);
}

static void test_ltr__busy_descriptor_raises_gp_with_selector(void **state)
{
	struct harness *h = *state;
	static const uint8_t code[] = {
		0xb8, 0x28, 0x00, 0x00, 0x00, /* mov eax, 0x28 */
		0x0f, 0x00, 0xd8, /* ltr ax */
	};

	assert_int_equal(SEL_TSS, 0x28);
	assert_int_equal(harness_run_code(h, code, sizeof(code)),
			 VTX_STOP_HALTED);
	harness_expect_exception(h, GP_VECTOR, SEL_TSS, CODE_BASE + 5);
	assert_int_equal(h->sregs.tr.selector, SEL_TSS);
}

static void test_swapgs__exchanges_gs_base_and_kernel_gs_base(void **state)
{
	struct harness *h = *state;
	static const uint8_t code[] = {
		0x0f, 0x01, 0xf8, /* swapgs */
		0x65, 0x48, 0x8b, 0x04, 0x25,
		0x00, 0x00, 0x00, 0x00, /* mov rax, qword ptr gs:0x0 */
	};
	uint64_t v;

	harness_write64(h, DATA_BASE, 0x6666666666666666);
	h->sregs.gs.base = 0xffff888000000000;
	assert_int_equal(vtx_cpu_set_msr(h->cpu, MSR_KERNEL_GS_BASE, DATA_BASE),
			 0);
	harness_exec(h, code, sizeof(code), 2);
	assert_int_equal(h->regs.rax, 0x6666666666666666);
	assert_int_equal(h->sregs.gs.base, DATA_BASE);
	assert_int_equal(vtx_cpu_get_msr(h->cpu, MSR_KERNEL_GS_BASE, &v), 0);
	assert_int_equal(v, 0xffff888000000000);
}

/* ---- SYSCALL, SYSRET (SDM Vol. 2B) --------------------------------------- */

static void test_syscall_sysret__round_trip_to_cpl3_and_back(void **state)
{
	struct harness *h = *state;
	static const uint8_t kernel[] = {
		0xb9, 0x00, 0x00, 0x18, 0x00, /* mov ecx, 0x180000 */
		0x41, 0xbb, 0x02, 0x02, 0x00, 0x00, /* mov r11d, 0x202 */
		0x48, 0x0f, 0x07, /* sysretq */
	};
	static const uint8_t user[] = {
		0xb8, 0x2a, 0x00, 0x00, 0x00, /* mov eax, 0x2a */
		0x0f, 0x05, /* syscall */
	};
	static const uint8_t entry[] = {
		0xf4, /* hlt */
	};

	assert_int_equal(USER_CODE, 0x180000);
	harness_load(h, USER_CODE, user, sizeof(user));
	harness_load(h, CODE_BASE + 0x100, entry, sizeof(entry));
	h->sregs.efer |= EFER_SCE;
	/* SYSCALL: CS = STAR[47:32], SS = +8; SYSRET: SS = STAR[63:48] + 8,
	 * CS = + 16, both with RPL 3. */
	assert_int_equal(vtx_cpu_set_msr(h->cpu, MSR_STAR,
					 ((uint64_t)SEL_KDATA << 48) |
						 ((uint64_t)SEL_KCODE << 32)),
			 0);
	assert_int_equal(vtx_cpu_set_msr(h->cpu, MSR_LSTAR, CODE_BASE + 0x100),
			 0);
	assert_int_equal(vtx_cpu_set_msr(h->cpu, MSR_SYSCALL_MASK,
					 X86_EFLAGS_IF | X86_EFLAGS_DF),
			 0);

	harness_exec(h, kernel, sizeof(kernel), 3);
	assert_int_equal(h->sregs.cs.selector, SEL_UCODE);
	assert_int_equal(h->sregs.cs.dpl, 3);
	assert_int_equal(h->sregs.cs.l, 1);
	assert_int_equal(h->sregs.ss.selector, SEL_UDATA);
	assert_int_equal(h->sregs.ss.dpl, 3);
	assert_int_equal(h->regs.rip, USER_CODE);
	assert_int_equal(h->regs.rflags, X86_EFLAGS_FIXED | X86_EFLAGS_IF);

	assert_int_equal(harness_run(h, 100), VTX_STOP_HALTED);
	assert_int_equal(h->stop.rip, CODE_BASE + 0x100);
	assert_int_equal(h->sregs.cs.selector, SEL_KCODE);
	assert_int_equal(h->sregs.cs.dpl, 0);
	assert_int_equal(h->sregs.ss.selector, SEL_KDATA);
	assert_int_equal(h->regs.rax, 0x2a);
	assert_int_equal(h->regs.rcx, USER_CODE + sizeof(user));
	assert_int_equal(h->regs.r11, X86_EFLAGS_FIXED | X86_EFLAGS_IF);
	/* SFMASK cleared IF: the HLT can never be woken. */
	assert_int_equal(h->regs.rflags, X86_EFLAGS_FIXED);
	assert_string_equal(h->stop.why,
			    "HLT with interrupts disabled (RFLAGS.IF = 0)");
	assert_int_equal(h->stats.insns, 3 + 2 + 1);
}

static void test_sysret__without_efer_sce_raises_ud(void **state)
{
	struct harness *h = *state;
	static const uint8_t code[] = {
		0x48, 0x0f, 0x07, /* sysretq */
	};

	assert_int_equal(harness_run_code(h, code, sizeof(code)),
			 VTX_STOP_HALTED);
	harness_expect_exception(h, UD_VECTOR, HARNESS_NO_ERROR_CODE,
				 CODE_BASE);
	assert_int_equal(h->sregs.cs.selector, SEL_KCODE);
}

/* ---- port I/O ------------------------------------------------------------ */

static void assert_pio(const struct vtx_pio *io, uint16_t port, uint8_t size,
		       uint8_t dir, uint32_t data)
{
	assert_int_equal(io->port, port);
	assert_int_equal(io->size, size);
	assert_int_equal(io->dir, dir);
	assert_int_equal(io->data, data);
}

static void test_out__imm8_and_dx_forms_reach_the_platform(void **state)
{
	struct harness *h = *state;
	static const uint8_t code[] = {
		0xe6, 0x80, /* out 0x80, al */
		0x66, 0xba, 0xf8, 0x03, /* mov dx, 0x3f8 */
		0x66, 0xb8, 0x33, 0x22, /* mov ax, 0x2233 */
		0x66, 0xef, /* out dx, ax */
		0xb8, 0x77, 0x66, 0x55, 0x44, /* mov eax, 0x44556677 */
		0xef, /* out dx, eax */
	};

	h->regs.rax = 0xffffffffffffff11;
	harness_exec(h, code, sizeof(code), 6);
	assert_int_equal(h->nr_pio, 3);
	assert_pio(&h->pio[0], 0x80, 1, VTX_PIO_OUT, 0x11);
	assert_pio(&h->pio[1], 0x3f8, 2, VTX_PIO_OUT, 0x2233);
	assert_pio(&h->pio[2], 0x3f8, 4, VTX_PIO_OUT, 0x44556677);
	assert_int_equal(h->stats.pio, 3);
}

static void test_in__byte_word_dword_merge_and_zero_extend(void **state)
{
	struct harness *h = *state;
	static const uint8_t code[] = {
		0xe4, 0x60, /* in al, 0x60 */
		0x66, 0xed, /* in ax, dx */
		0xed, /* in eax, dx */
	};

	h->in_data = 0xa1b2c3d4;
	h->regs.rax = 0x1111111111111111;
	h->regs.rdx = 0x71;
	harness_exec(h, code, sizeof(code), 1);
	assert_int_equal(h->regs.rax, 0x11111111111111d4);
	harness_exec(h, code, sizeof(code), 2);
	assert_int_equal(h->regs.rax, 0x111111111111c3d4);
	harness_exec(h, code, sizeof(code), 3);
	assert_int_equal(h->regs.rax, 0xa1b2c3d4);
	assert_int_equal(h->nr_pio, 6);
	assert_pio(&h->pio[3], 0x60, 1, VTX_PIO_IN, 0xa1b2c3d4);
	assert_pio(&h->pio[4], 0x71, 2, VTX_PIO_IN, 0xa1b2c3d4);
	assert_pio(&h->pio[5], 0x71, 4, VTX_PIO_IN, 0xa1b2c3d4);
}

static void test_out__device_stop_ends_the_run_after_the_out(void **state)
{
	struct harness *h = *state;
	static const uint8_t code[] = {
		0xb0, 0x03, /* mov al, 0x3 */
		0xe6, 0xf4, /* out 0xf4, al */
		0x90, /* nop */
	};

	assert_int_equal(harness_run_code(h, code, sizeof(code)),
			 VTX_STOP_PLATFORM);
	assert_int_equal(h->stop.rip, CODE_BASE + 2);
	assert_int_equal(h->regs.rip, CODE_BASE + 4);
	assert_int_equal(h->stats.insns, 2);
	assert_string_equal(h->stop.why, "stopped by a device");
	assert_int_equal(h->nr_pio, 1);
	assert_pio(&h->pio[0], HARNESS_STOP_PORT, 1, VTX_PIO_OUT, 3);
}

/* A device stop on the instruction that also exhausts the budget: the
 * device's reason is the one reported. */
static void test_out__device_stop_wins_over_the_limit(void **state)
{
	struct harness *h = *state;
	static const uint8_t code[] = {
		0xe6, 0xf4, /* out 0xf4, al */
	};

	harness_load(h, CODE_BASE, code, sizeof(code));
	assert_int_equal(harness_run(h, 1), VTX_STOP_PLATFORM);
	assert_int_equal(h->stats.insns, 1);
}

/* SDM Vol. 1 19.5.2: at CPL > IOPL every bitmap bit an access covers must
 * be clear. */
static void test_in_out__cpl3_iopl0_follow_the_io_bitmap(void **state)
{
	struct harness *h = *state;
	static const uint8_t code[] = {
		0xe6, 0x80, /* out 0x80, al */
		0xe4, 0x81, /* in al, 0x81 */
	};
	uint64_t frame;

	harness_allow_port(h, 0x80, true);
	harness_load(h, USER_CODE, code, sizeof(code));
	harness_enter_user(h, USER_CODE);
	h->regs.rax = 0x5a;
	assert_int_equal(harness_run(h, 100), VTX_STOP_HALTED);
	assert_int_equal(h->nr_pio, 1);
	assert_pio(&h->pio[0], 0x80, 1, VTX_PIO_OUT, 0x5a);
	frame = harness_expect_exception(h, GP_VECTOR, 0, USER_CODE + 2);
	assert_int_equal(harness_read64(h, frame + 8), SEL_UCODE);
	assert_int_equal(harness_read64(h, frame + 24), USER_STACK_TOP);
	assert_int_equal(harness_read64(h, frame + 32), SEL_UDATA);
	assert_int_equal(h->regs.rax, 0x5a);
}

static void test_out__cpl3_word_needs_both_bitmap_bits_clear(void **state)
{
	struct harness *h = *state;
	static const uint8_t code[] = {
		0x66, 0xef, /* out dx, ax */
	};

	harness_allow_port(h, 0x80, true); /* 0x81 stays denied */
	harness_load(h, USER_CODE, code, sizeof(code));
	harness_enter_user(h, USER_CODE);
	h->regs.rdx = 0x80;
	assert_int_equal(harness_run(h, 100), VTX_STOP_HALTED);
	harness_expect_exception(h, GP_VECTOR, 0, USER_CODE);
	assert_int_equal(h->nr_pio, 0);
}

/* The two bitmap bytes an access reads must lie within the TSS limit,
 * whatever they hold (SDM Vol. 1 19.5.2). */
static void test_out__cpl3_port_beyond_the_tss_limit_raises_gp(void **state)
{
	struct harness *h = *state;
	static const uint8_t code[] = {
		0xe6, 0x70, /* out 0x70, al */
		0xe6, 0x80, /* out 0x80, al */
	};

	harness_allow_port(h, 0x70, true);
	harness_allow_port(h, 0x80, true);
	/* Bitmap bytes 0..0x10 only: port 0x80 needs bytes 0x10 and 0x11. */
	h->sregs.tr.limit = HARNESS_IOMAP_OFF + 0x10;
	harness_load(h, USER_CODE, code, sizeof(code));
	harness_enter_user(h, USER_CODE);
	assert_int_equal(harness_run(h, 100), VTX_STOP_HALTED);
	assert_int_equal(h->nr_pio, 1);
	assert_int_equal(h->pio[0].port, 0x70);
	harness_expect_exception(h, GP_VECTOR, 0, USER_CODE + 2);
}

static void test_out__cpl3_with_iopl3_skips_the_bitmap(void **state)
{
	struct harness *h = *state;
	static const uint8_t code[] = {
		0xe6, 0x99, /* out 0x99, al */
	};

	harness_load(h, USER_CODE, code, sizeof(code));
	harness_enter_user(h, USER_CODE);
	h->regs.rflags = X86_EFLAGS_FIXED | X86_EFLAGS_IOPL;
	h->regs.rax = 7;
	assert_int_equal(harness_run(h, 1), VTX_STOP_INSN_LIMIT);
	assert_int_equal(h->nr_pio, 1);
	assert_pio(&h->pio[0], 0x99, 1, VTX_PIO_OUT, 7);
}

/* ---- HLT and the instruction limit --------------------------------------- */

static void test_hlt__stops_halted_with_rip_after_it(void **state)
{
	struct harness *h = *state;
	static const uint8_t code[] = {
		0x90, /* nop */
		0xf4, /* hlt */
	};

	h->regs.rflags = X86_EFLAGS_FIXED | X86_EFLAGS_IF;
	assert_int_equal(harness_run_code(h, code, sizeof(code)),
			 VTX_STOP_HALTED);
	assert_int_equal(h->stop.rip, CODE_BASE + 1);
	assert_int_equal(h->regs.rip, CODE_BASE + 2);
	assert_int_equal(h->stats.insns, 2);
	assert_string_equal(h->stop.why,
			    "HLT with no interrupt source in the machine");
	assert_string_equal(vtx_stop_reason_name(h->stop.reason), "halted");
}

static void test_hlt__at_cpl3_raises_gp(void **state)
{
	struct harness *h = *state;
	static const uint8_t code[] = {
		0xf4, /* hlt */
	};

	harness_load(h, USER_CODE, code, sizeof(code));
	harness_enter_user(h, USER_CODE);
	assert_int_equal(harness_run(h, 100), VTX_STOP_HALTED);
	harness_expect_exception(h, GP_VECTOR, 0, USER_CODE);
}

static void test_insn_limit__stops_after_exactly_n(void **state)
{
	struct harness *h = *state;
	static const uint8_t code[] = {
		0xff, 0xc0, /* inc eax */
		0xff, 0xc0, /* inc eax */
		0xff, 0xc0, /* inc eax */
		0xff, 0xc0, /* inc eax */
		0xff, 0xc0, /* inc eax */
	};

	harness_exec(h, code, sizeof(code), 3);
	assert_int_equal(h->regs.rax, 3);
	assert_int_equal(h->stats.insns, 3);
	assert_int_equal(h->regs.rip, CODE_BASE + 6);
	assert_int_equal(h->stop.rip, CODE_BASE + 4);
	assert_string_equal(h->stop.why,
			    "instruction limit reached after 3 instructions");
	assert_string_equal(vtx_stop_reason_name(h->stop.reason),
			    "instruction limit");
}

/* The budget must hold when its last instruction also leaves the block
 * (STI asks the run loop to look for events). */
static void
test_insn_limit__holds_when_the_last_insn_leaves_the_block(void **state)
{
	struct harness *h = *state;
	static const uint8_t code[] = {
		0xfb, /* sti */
		0xff, 0xc0, /* inc eax */
		0xff, 0xc0, /* inc eax */
	};

	harness_exec(h, code, sizeof(code), 1);
	assert_int_equal(h->stats.insns, 1);
	assert_int_equal(h->regs.rip, CODE_BASE + 1);
	assert_int_equal(h->regs.rax, 0);
}

/* Code rewritten by the host between runs: the next run still stops
 * after exactly n. */
static void test_insn_limit__holds_after_the_host_rewrote_code(void **state)
{
	struct harness *h = *state;
	static const uint8_t first[] = {
		0xff, 0xc0, /* inc eax */
		0xff, 0xc0, /* inc eax */
	};
	static const uint8_t second[] = {
		0xff, 0xc1, /* inc ecx */
		0xff, 0xc1, /* inc ecx */
	};

	harness_exec(h, first, sizeof(first), 1);
	harness_exec(h, second, sizeof(second), 1);
	assert_int_equal(h->regs.rax, 1);
	assert_int_equal(h->regs.rcx, 1);
	assert_int_equal(h->stats.insns, 2);
	assert_int_equal(h->stats.code_flushes, 1);
}

/* ---- the host's stop request (vtx_cpu_request_stop(), --timeout) -------- */

/* rax = 10 + 9 + ... + 1, with an OUT to port 0x80 in every round. */
static const uint8_t sum_loop[] = {
	0xb9, 0x0a, 0x00, 0x00, 0x00, /* 0: mov ecx, 0xa */
	0x48, 0x01, 0xc8, /* 5: add rax, rcx */
	0xe6, 0x80, /* 8: out 0x80, al */
	0xff, 0xc9, /* a: dec ecx */
	0x75, 0xf7, /* c: jne 0x5 */
	0xf4, /* e: hlt */
};

/* mov, 10 rounds of four, hlt. */
#define SUM_LOOP_INSNS (1 + 10 * 4 + 1)

static void
test_stop_request__before_a_run_stops_it_at_its_first_insn(void **state)
{
	struct harness *h = *state;

	vtx_cpu_request_stop(h->cpu);
	assert_true(vtx_cpu_stop_pending(h->cpu));
	assert_int_equal(harness_run_code(h, sum_loop, sizeof(sum_loop)),
			 VTX_STOP_REQUESTED);
	assert_int_equal(h->stop.rip, CODE_BASE);
	assert_int_equal(h->regs.rip, CODE_BASE);
	assert_int_equal(h->stats.insns, 0);
	assert_string_equal(vtx_stop_reason_name(h->stop.reason),
			    "host request");
	/* It holds for every later run until cancelled. */
	assert_int_equal(harness_run(h, 0), VTX_STOP_REQUESTED);
	assert_int_equal(h->stats.insns, 0);
	vtx_cpu_cancel_stop(h->cpu);
	assert_false(vtx_cpu_stop_pending(h->cpu));
	assert_int_equal(harness_run(h, 0), VTX_STOP_HALTED);
	assert_int_equal(h->regs.rax, 55);
	assert_int_equal(h->stats.insns, SUM_LOOP_INSNS);
}

/*
 * A request made during a run (here by the platform, at the first OUT)
 * stops it at the end of the block under way: the OUT, DEC and JNE of
 * the first round retire, and the vCPU stands at the ADD of the second.
 * Run again, it ends exactly as a run never stopped.
 */
static void
test_stop_request__mid_run_stops_at_block_end_and_resumes(void **state)
{
	struct harness *h = *state;

	h->request_stop_port = 0x80;
	assert_int_equal(harness_run_code(h, sum_loop, sizeof(sum_loop)),
			 VTX_STOP_REQUESTED);
	assert_int_equal(h->stats.insns, 5);
	assert_int_equal(h->regs.rip, CODE_BASE + 5);
	assert_int_equal(h->stop.rip, CODE_BASE + 5);
	assert_int_equal(h->regs.rax, 10);
	assert_int_equal(h->regs.rcx, 9);
	assert_int_equal(h->nr_pio, 1);
	vtx_cpu_cancel_stop(h->cpu);
	assert_int_equal(harness_run(h, 0), VTX_STOP_HALTED);
	assert_int_equal(h->regs.rax, 55);
	assert_int_equal(h->regs.rcx, 0);
	assert_int_equal(h->regs.rip, CODE_BASE + sizeof(sum_loop));
	assert_int_equal(h->stats.insns, SUM_LOOP_INSNS);
	assert_int_equal(h->nr_pio, 10);
}

/* The request is the host's, not the processor's: a reset keeps it. */
static void test_stop_request__survives_a_cpu_reset(void **state)
{
	struct harness *h = *state;

	vtx_cpu_request_stop(h->cpu);
	assert_int_equal(vtx_cpu_reset(h->cpu), 0);
	assert_true(vtx_cpu_stop_pending(h->cpu));
}

static void test_insn_limit__zero_means_no_limit(void **state)
{
	struct harness *h = *state;
	static const uint8_t code[] = {
		0xb9, 0xe8, 0x03, 0x00, 0x00, /* mov ecx, 0x3e8 */
		0xff, 0xc9, /* dec ecx */
		0x75, 0xfc, /* jne 0x5 */
		0xf4, /* hlt */
	};

	assert_int_equal(harness_run_code(h, code, sizeof(code)),
			 VTX_STOP_INSN_LIMIT);
	harness_load(h, CODE_BASE, code, sizeof(code));
	h->regs.rip = CODE_BASE;
	assert_int_equal(harness_run(h, 0), VTX_STOP_HALTED);
	assert_int_equal(h->regs.rcx, 0);
	assert_int_equal(h->stats.insns, 100 + 1 + 2000 + 1);
}

/* ---- what the machine interface refuses ---------------------------------- */

static void expect_sregs_rejected(struct harness *h,
				  const struct kvm_sregs *bad)
{
	struct kvm_sregs now;

	assert_int_equal(vtx_cpu_set_sregs(h->cpu, bad), -EINVAL);
	assert_int_equal(vtx_cpu_get_sregs(h->cpu, &now), 0);
	/* Nothing was taken over. */
	assert_int_equal(now.cr0, h->sregs.cr0);
	assert_int_equal(now.cr4, h->sregs.cr4);
	assert_int_equal(now.efer, h->sregs.efer);
	assert_int_equal(now.cs.selector, h->sregs.cs.selector);
	assert_int_equal(now.cs.l, h->sregs.cs.l);
}

static void test_set_sregs__rejects_impossible_states(void **state)
{
	struct harness *h = *state;
	struct kvm_sregs bad;

	/* Commit the harness state first, so "unchanged" means it. */
	assert_int_equal(vtx_cpu_set_sregs(h->cpu, &h->sregs), 0);

	bad = h->sregs; /* EFER.LMA without CR0.PG */
	bad.cr0 &= ~(uint64_t)X86_CR0_PG;
	expect_sregs_rejected(h, &bad);
	bad = h->sregs; /* EFER.LMA without CR4.PAE */
	bad.cr4 = 0;
	expect_sregs_rejected(h, &bad);
	bad = h->sregs; /* EFER.LMA without EFER.LME */
	bad.efer &= ~(uint64_t)EFER_LME;
	expect_sregs_rejected(h, &bad);
	bad = h->sregs; /* EFER.LME and CR0.PG without EFER.LMA */
	bad.efer &= ~(uint64_t)EFER_LMA;
	expect_sregs_rejected(h, &bad);
	bad = h->sregs; /* CS.L with CS.D */
	bad.cs.db = 1;
	expect_sregs_rejected(h, &bad);
	bad = h->sregs; /* a 64-bit CS outside IA-32e mode */
	bad.cr0 = X86_CR0_PE;
	bad.efer = 0;
	expect_sregs_rejected(h, &bad);
	bad = h->sregs; /* CR0.PG without CR0.PE */
	bad.cr0 &= ~(uint64_t)X86_CR0_PE;
	expect_sregs_rejected(h, &bad);
	bad = h->sregs; /* CR0.NW without CR0.CD */
	bad.cr0 |= X86_CR0_NW;
	expect_sregs_rejected(h, &bad);
}

static void test_hpa__accessors_refuse_ranges_outside_the_arena(void **state)
{
	struct harness *h = *state;
	uint64_t size = vtx_arena_size(h->m), v = 0;

	assert_int_equal(size, HARNESS_ARENA);
	assert_non_null(vtx_hpa_ptr(h->m, size - 8, 8));
	assert_null(vtx_hpa_ptr(h->m, size - 4, 8));
	assert_null(vtx_hpa_ptr(h->m, size, 1));
	assert_null(vtx_hpa_ptr(h->m, size + 4096, 0));
	assert_null(vtx_hpa_ptr(h->m, 8, UINT64_MAX)); /* no wrap-around */
	assert_null(vtx_hpa_ptr(h->m, UINT64_MAX, 2));
	assert_int_equal(vtx_hpa_read(h->m, size - 4, &v, 8), -EFAULT);
	assert_int_equal(vtx_hpa_write(h->m, size - 4, &v, 8), -EFAULT);
	assert_int_equal(vtx_hpa_read(h->m, size - 8, &v, 8), 0);
	assert_int_equal(vtx_hpa_write(h->m, size - 8, &v, 8), 0);
}

/* ---- reuse of one machine: vtx_cpu_reset(), vtx_hpa_zero() -------------- */

static void test_cpu_reset__after_a_run_is_the_creation_state(void **state)
{
	struct harness *h = *state;
	static const uint8_t code[] = {
		0x48, 0xc7, 0xc0, 0x07, 0x00, 0x00, 0x00, /* mov rax, 7 */
		0x0f, 0x20, 0xe3, /* mov rbx, cr4 */
	};
	struct vtx_machine_config cfg = { .arena_size = MiB(1) };
	struct vtx_machine *m2;
	struct vtx_cpu *fresh;
	struct kvm_regs r1, r2;
	struct kvm_sregs s1, s2;
	struct vtx_cpu_stats st;
	uint64_t pat1, pat2;

	harness_exec(h, code, sizeof(code), 2);
	assert_int_equal(h->regs.rax, 7);
	assert_int_equal(vtx_cpu_set_msr(h->cpu, MSR_IA32_CR_PAT, 0x0606), 0);
	assert_int_equal(vtx_cpu_reset(h->cpu), 0);

	assert_int_equal(vtx_machine_create(&cfg, &m2), 0);
	assert_int_equal(vtx_cpu_create(m2, &fresh), 0);
	vtx_cpu_get_regs(h->cpu, &r1);
	vtx_cpu_get_regs(fresh, &r2);
	vtx_cpu_get_sregs(h->cpu, &s1);
	vtx_cpu_get_sregs(fresh, &s2);
	assert_memory_equal(&r1, &r2, sizeof(r1));
	assert_memory_equal(&s1, &s2, sizeof(s1));
	assert_int_equal(r1.rip, 0xfff0); /* SDM Vol. 3A Table 10-1 */
	assert_int_equal(vtx_cpu_get_msr(h->cpu, MSR_IA32_CR_PAT, &pat1), 0);
	assert_int_equal(vtx_cpu_get_msr(fresh, MSR_IA32_CR_PAT, &pat2), 0);
	assert_int_equal(pat1, pat2);
	vtx_cpu_get_stats(h->cpu, &st);
	assert_int_equal(st.insns, 0);
	vtx_machine_destroy(m2);
}

/* Code written behind the model's back (vtx_hpa_ptr) is not seen by a
 * vCPU that decoded the old bytes; after a reset it is. */
static void test_cpu_reset__drops_the_code_decoded_before(void **state)
{
	struct harness *h = *state;
	static const uint8_t code[] = {
		0xb8, 0x01, 0x00, 0x00, 0x00, /* mov eax, 1 */
		0xf4, /* hlt */
	};
	struct kvm_regs regs = h->regs;
	struct kvm_sregs sregs = h->sregs;
	uint8_t *p;

	assert_int_equal(harness_run_code(h, code, sizeof(code)),
			 VTX_STOP_HALTED);
	assert_int_equal(h->regs.rax, 1);
	p = vtx_hpa_ptr(h->m, CODE_BASE + 1, 1);
	assert_non_null(p);
	*p = 2; /* mov eax, 2 */
	assert_int_equal(vtx_cpu_reset(h->cpu), 0);
	h->regs = regs;
	h->sregs = sregs;
	h->regs.rip = CODE_BASE;
	assert_int_equal(harness_run(h, 100), VTX_STOP_HALTED);
	assert_int_equal(h->regs.rax, 2);
}

static void test_hpa_zero__zeroes_exactly_the_range(void **state)
{
	struct harness *h = *state;
	uint64_t size = vtx_arena_size(h->m);
	uint8_t buf[3 * 4096];

	memset(buf, 0xa5, sizeof(buf));
	assert_int_equal(vtx_hpa_write(h->m, DATA_BASE, buf, sizeof(buf)), 0);
	/* Whole pages, then a range that is not page-aligned. */
	assert_int_equal(vtx_hpa_zero(h->m, DATA_BASE, 4096), 0);
	assert_int_equal(vtx_hpa_zero(h->m, DATA_BASE + 4096 + 8, 16), 0);
	assert_int_equal(vtx_hpa_read(h->m, DATA_BASE, buf, sizeof(buf)), 0);
	for (size_t i = 0; i < sizeof(buf); i++) {
		bool zero = i < 4096 || (i >= 4096 + 8 && i < 4096 + 24);

		assert_int_equal(buf[i], zero ? 0 : 0xa5);
	}
	assert_int_equal(vtx_hpa_zero(h->m, size - 4096, 8192), -EINVAL);
	assert_int_equal(vtx_hpa_zero(h->m, size, 0), 0);
}

#define T(t) cmocka_unit_test_setup_teardown(t, harness_setup, harness_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_cpuid__leaf_0_reports_genuineintel),
		T(test_cpu_reset__after_a_run_is_the_creation_state),
		T(test_cpu_reset__drops_the_code_decoded_before),
		T(test_hpa_zero__zeroes_exactly_the_range),
		T(test_mov_cr4__unadvertised_la57_raises_gp_and_is_recorded),
		T(test_mov_dr4__aliases_dr6_when_cr4_de_is_clear),
		T(test_mov_dr4__raises_ud_when_cr4_de_is_set),
		T(test_cpuid__leaf_1_features_are_what_the_model_implements),
		T(test_rdtsc__equals_the_retired_instruction_count),
		T(test_rdtscp__returns_tsc_aux_in_ecx),
		T(test_rdmsr_wrmsr__efer_round_trip),
		T(test_wrmsr__lstar_and_fs_base_round_trip),
		T(test_wrmsr__non_canonical_lstar_raises_gp),
		T(test_wrmsr__pat_with_a_reserved_type_raises_gp),
		T(test_rdmsr__unknown_msr_raises_gp_and_is_recorded),
		T(test_rdmsr__at_cpl3_raises_gp),
		T(test_mov_cr0__clearing_pg_in_64bit_mode_raises_gp),
		T(test_mov_cr0__reserved_high_bit_raises_gp),
		T(test_mov_cr0__reserved_low_bits_are_dropped),
		T(test_mov_cr0__nw_without_cd_raises_gp),
		T(test_mov_cr4__reserved_high_bit_raises_gp),
		T(test_mov_cr4__clearing_pae_in_ia32e_mode_raises_gp),
		T(test_mov_cr4__unmodeled_osfxsr_raises_gp_and_is_recorded),
		T(test_mov_cr4__vmxe_sets_and_reads_back),
		T(test_mov_cr3__bits_above_maxphyaddr_raise_gp),
		T(test_mov_cr__read_back_cr0_cr3_cr4),
		T(test_mov_cr__at_cpl3_raises_gp),
		T(test_lgdt_lidt_sgdt_sidt__round_trip),
		T(test_ltr__loads_tr_and_marks_the_descriptor_busy),
		T(test_ltr__busy_descriptor_raises_gp_with_selector),
		T(test_swapgs__exchanges_gs_base_and_kernel_gs_base),
		T(test_syscall_sysret__round_trip_to_cpl3_and_back),
		T(test_sysret__without_efer_sce_raises_ud),
		T(test_out__imm8_and_dx_forms_reach_the_platform),
		T(test_in__byte_word_dword_merge_and_zero_extend),
		T(test_out__device_stop_ends_the_run_after_the_out),
		T(test_out__device_stop_wins_over_the_limit),
		T(test_in_out__cpl3_iopl0_follow_the_io_bitmap),
		T(test_out__cpl3_word_needs_both_bitmap_bits_clear),
		T(test_out__cpl3_port_beyond_the_tss_limit_raises_gp),
		T(test_out__cpl3_with_iopl3_skips_the_bitmap),
		T(test_hlt__stops_halted_with_rip_after_it),
		T(test_hlt__at_cpl3_raises_gp),
		T(test_insn_limit__stops_after_exactly_n),
		T(test_insn_limit__holds_when_the_last_insn_leaves_the_block),
		T(test_insn_limit__holds_after_the_host_rewrote_code),
		T(test_insn_limit__zero_means_no_limit),
		T(test_stop_request__before_a_run_stops_it_at_its_first_insn),
		T(test_stop_request__mid_run_stops_at_block_end_and_resumes),
		T(test_stop_request__survives_a_cpu_reset),
		T(test_set_sregs__rejects_impossible_states),
		T(test_hpa__accessors_refuse_ranges_outside_the_arena),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
