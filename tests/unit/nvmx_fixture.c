/* SPDX-License-Identifier: MIT */
/*
 * nvmx_fixture.c - the nested-VMX tests' fixture (nvmx_fixture.h). Tests
 * only.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include <asm/vmx.h>

#include "arch/boot_layout.h"
#include "arch/x86_regs.h"
#include "arch/x86_seg.h"
#include "l0/nvmx.h"
#include "tests/unit/nvmx_fixture.h"
#include "tests/unit/vmcs12_fixture.h"
#include "vmcs-merge/vmcs12.h"
#include "vmcs-merge/caps.h"

void emit(struct prog *p, const void *bytes, size_t n)
{
	assert_true(p->n + n <= sizeof(p->b));
	memcpy(p->b + p->n, bytes, n);
	p->n += n;
}

void emit_u32(struct prog *p, uint32_t v)
{
	emit(p, &v, 4);
}

/* 0f 20 e0           mov rax, cr4
 * 48 0d 00 20 00 00  or rax, 0x2000 (CR4.VMXE)
 * 0f 22 e0           mov cr4, rax */
void op_set_cr4_vmxe(struct prog *p)
{
	static const uint8_t b[] = { 0x0f, 0x20, 0xe0, 0x48, 0x0d, 0x00,
				     0x20, 0x00, 0x00, 0x0f, 0x22, 0xe0 };
	emit(p, b, sizeof(b));
}

/* 48 b8 imm64        movabs rax, imm64 (48 b9: rcx, 48 bb: rbx) */
void op_mov_imm64(struct prog *p, uint8_t opcode, uint64_t imm)
{
	uint8_t b[2] = { 0x48, opcode };

	emit(p, b, 2);
	emit(p, &imm, 8);
}

/* A memory-operand instruction on [disp32] with no base or index: ModRM
 * mod 00 r/m 100 with SIB 25 (no base, no index). */
void op_abs(struct prog *p, const uint8_t *op, size_t n, uint8_t reg,
	    uint32_t addr)
{
	uint8_t modrm[2] = { (uint8_t)(0x04 | (reg << 3)), 0x25 };

	emit(p, op, n);
	emit(p, modrm, 2);
	emit_u32(p, addr);
}

/* f3 0f c7 34 25 a32  vmxon QWORD PTR ds:a32 */
void op_vmxon(struct prog *p, uint32_t addr)
{
	static const uint8_t op[] = { 0xf3, 0x0f, 0xc7 };
	op_abs(p, op, 3, 6, addr);
}

/* 66 0f c7 34 25 a32  vmclear QWORD PTR ds:a32 */
void op_vmclear(struct prog *p, uint32_t addr)
{
	static const uint8_t op[] = { 0x66, 0x0f, 0xc7 };
	op_abs(p, op, 3, 6, addr);
}

/* 0f c7 34 25 a32     vmptrld QWORD PTR ds:a32 */
void op_vmptrld(struct prog *p, uint32_t addr)
{
	static const uint8_t op[] = { 0x0f, 0xc7 };
	op_abs(p, op, 2, 6, addr);
}

/* 0f c7 3c 25 a32     vmptrst QWORD PTR ds:a32 */
void op_vmptrst(struct prog *p, uint32_t addr)
{
	static const uint8_t op[] = { 0x0f, 0xc7 };
	op_abs(p, op, 2, 7, addr);
}

/* 0f 78 04 25 a32     vmread QWORD PTR ds:a32, rax */
void op_vmread_to_mem(struct prog *p, uint32_t addr)
{
	static const uint8_t op[] = { 0x0f, 0x78 };
	op_abs(p, op, 2, 0, addr);
}

void op(struct prog *p, const uint8_t *b, size_t n)
{
	emit(p, b, n);
}

/* 0f 78 c3  vmread rbx, rax (RBX = the field RAX encodes) */
const uint8_t VMREAD_RBX_RAX[] = { 0x0f, 0x78, 0xc3 };
/* 0f 79 c1  vmwrite rax, rcx (the field RAX encodes = RCX) */
const uint8_t VMWRITE_RAX_RCX[] = { 0x0f, 0x79, 0xc1 };
/* 0f 01 c2  vmlaunch */
const uint8_t VMLAUNCH[] = { 0x0f, 0x01, 0xc2 };
/* 0f 01 c3  vmresume */
const uint8_t VMRESUME[] = { 0x0f, 0x01, 0xc3 };
/* 0f 01 c1  vmcall */
const uint8_t VMCALL[] = { 0x0f, 0x01, 0xc1 };
/* 0f a2     cpuid */
const uint8_t CPUID[] = { 0x0f, 0xa2 };
/* 0f 32     rdmsr */
const uint8_t RDMSR[] = { 0x0f, 0x32 };
/* 0f 30     wrmsr */
const uint8_t WRMSR[] = { 0x0f, 0x30 };
/* e6 80     out 0x80, al */
const uint8_t OUT_80[] = { 0xe6, 0x80 };
/* f4        hlt */
const uint8_t HLT[] = { 0xf4 };

/* b9 imm32  mov ecx, imm32 */
void op_mov_ecx(struct prog *p, uint32_t imm)
{
	uint8_t b = 0xb9;

	emit(p, &b, 1);
	emit_u32(p, imm);
}

/* 48 8b 04 25 a32  mov rax, QWORD PTR ds:a32 */
void op_load_rax(struct prog *p, uint32_t addr)
{
	static const uint8_t opc[] = { 0x48, 0x8b };
	op_abs(p, opc, 2, 0, addr);
}

/* ---- the fixture ------------------------------------------------------------------- */

int setup(void **state)
{
	struct vtx_machine_config cfg = { .arena_size = L1_RAM + AREA };
	struct fixture *f = calloc(1, sizeof(*f));
	char err[256];

	if (!f || vtx_machine_create(&cfg, &f->m))
		return -1;
	io_bus_init(&f->bus);
	debug_exit_init(&f->dexit, false);
	if (debug_exit_register(&f->dexit, &f->bus, DEBUG_EXIT_BASE) ||
	    boot_init_params(&f->bp, L1_RAM, L1_CODE, L1_CODE, L1_CODE + 0x1000,
			     NULL, err, sizeof(err)) ||
	    boot_write_memory(f->m, &f->bp, err, sizeof(err)) ||
	    vtx_cpu_create(f->m, &f->cpu) ||
	    boot_setup_cpu(f->cpu, &f->bp, err, sizeof(err)) ||
	    l0_vm_init(&f->vm, f->m, f->cpu, &f->bus, L1_RAM, err, sizeof(err)))
		return -1;
	*state = f;
	return 0;
}

int teardown(void **state)
{
	struct fixture *f = *state;

	l0_vm_destroy(&f->vm);
	vtx_cpu_destroy(f->cpu);
	vtx_machine_destroy(f->m);
	free(f);
	return 0;
}

void put(struct fixture *f, gpa_t at, const void *p, size_t n)
{
	assert_int_equal(vtx_hpa_write(f->m, at, p, n), 0);
}

void put64(struct fixture *f, gpa_t at, uint64_t v)
{
	put(f, at, &v, 8);
}

uint64_t get64(struct fixture *f, hpa_t at)
{
	uint64_t v;

	assert_int_equal(vtx_hpa_read(f->m, at, &v, 8), 0);
	return v;
}

/* vmcs01 field, after the run stopped in L1. */
uint64_t rd01(struct fixture *f, uint32_t field)
{
	uint64_t v = ~0ull;

	assert_int_equal(vtx_vmread(f->cpu, field, &v), 0);
	return v;
}

uint64_t gpr(struct fixture *f, unsigned int n)
{
	struct kvm_regs regs;

	vtx_cpu_get_regs(f->cpu, &regs);
	return x86_regs_read_gpr(&regs, n);
}

/* An IDT whose every exception stub records its vector in R15 and halts,
 * loaded into L1 (vmcs01 is current before the run). */
void install_l1_idt(struct fixture *f)
{
	for (unsigned int v = 0; v < 32; v++) {
		struct x86_idt_gate64 g;
		uint8_t stub[7] = { 0x41, 0xbf, (uint8_t)v, 0, 0, 0, 0xf4 };

		x86_idt_build_gate64(&g, L1_STUBS + v * 16, BOOT_SEL_CODE64, 0,
				     14, 0);
		put(f, L1_IDT + v * 16, &g, sizeof(g));
		put(f, L1_STUBS + v * 16, stub, sizeof(stub));
	}
	assert_int_equal(vtx_vmwrite(f->cpu, GUEST_IDTR_BASE, L1_IDT), 0);
	assert_int_equal(vtx_vmwrite(f->cpu, GUEST_IDTR_LIMIT, 32 * 16 - 1), 0);
	put(f, L1_HOST_RIP, HLT, 1);
	/* R15 starts out as no vector at all. */
	{
		struct kvm_regs regs;

		vtx_cpu_get_regs(f->cpu, &regs);
		regs.r15 = 0xdead;
		vtx_cpu_set_regs(f->cpu, &regs);
	}
}

/* A region with a revision word (and the launch state of our format). */
void put_region(struct fixture *f, gpa_t at, uint32_t rev,
		uint32_t launch_state)
{
	put(f, at, &rev, 4);
	put(f, at + offsetof(struct vmcs12, launch_state), &launch_state, 4);
}

/* Runs the program in L1 until it stops; L1's HLT ends a program. */
void run_l1(struct fixture *f, const struct prog *p)
{
	put(f, L1_CODE, p->b, p->n);
	install_l1_idt(f);
	l0_vm_run(&f->vm, INSN_LIMIT);
	if (f->vm.stop.reason != L0_STOP_HALTED)
		print_message("stop %d at 0x%llx: %s\n", f->vm.stop.reason,
			      (unsigned long long)f->vm.stop.rip,
			      f->vm.stop.why);
}

/* L1 halted (the stop names the HLT's own RIP): at the end of its
 * program, or in an exception stub. */
void expect_halt_at(struct fixture *f, uint64_t rip)
{
	assert_int_equal(f->vm.stop.reason, L0_STOP_HALTED);
	assert_int_equal(f->vm.stop.level, L0_LEVEL_L1);
	assert_int_equal(f->vm.stop.rip, rip);
}

/* The arithmetic flags L1's RFLAGS ended with. */
uint64_t l1_flags(struct fixture *f)
{
	return rd01(f, GUEST_RFLAGS) & X86_EFLAGS_ARITH_MASK;
}

/* VMXON with a good region, then VMPTRLD of ptr (DATA+8). */
void prologue_vmxon(struct fixture *f, struct prog *p)
{
	put_region(f, VMXON, VMCS12_REVISION, 0);
	put64(f, DATA, VMXON);
	op_set_cr4_vmxe(p);
	op_vmxon(p, DATA);
}

void prologue_vmptrld(struct fixture *f, struct prog *p, gpa_t vmcs)
{
	prologue_vmxon(f, p);
	put64(f, DATA + 8, vmcs);
	op_vmptrld(p, DATA + 8);
}

void nvmx_valid_vmcs12(struct fixture *f, struct vmcs12 *v, uint64_t eptp)
{
	vmcs12_fixture_init(v, &f->vm.nvmx->caps, eptp, L2_CODE, L2_STACK,
			    L1_HOST_RIP, L1_EXIT_STACK);
}

uint64_t nvmx_run_nested(struct fixture *f, const struct vmcs12 *v12,
			 const struct prog *l2)
{
	struct prog p = { 0 };

	put(f, VMCS_A, v12, sizeof(*v12));
	put(f, L2_CODE, l2->b, l2->n);
	prologue_vmptrld(f, &p, VMCS_A);
	op(&p, VMLAUNCH, 3);
	op(&p, HLT, 1);
	run_l1(f, &p);
	return L1_CODE + p.n - 1;
}
