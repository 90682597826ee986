/* SPDX-License-Identifier: MIT */
/*
 * nvmx_fixture.h - the fixture of L0's nested-VMX tests: an L0 VM whose L1
 * runs a program given as raw instruction bytes (the emitters below give
 * their disassembly), L1's physical layout, and accessors for the result.
 * Host side, tests only.
 */
#ifndef NESTVM_TESTS_NVMX_FIXTURE_H
#define NESTVM_TESTS_NVMX_FIXTURE_H

#include <stddef.h>
#include <stdint.h>

#include "l0/boot.h"
#include "l0/dev/debug_exit.h"
#include "l0/iobus.h"
#include "l0/vm.h"
#include "vtx/vtx.h"

#define L1_RAM MiB(8)
#define AREA MiB(4)
#define INSN_LIMIT 100000

/*
 * L1-physical layout (identity-mapped by the boot contract's tables):
 *   0x100000  L1's code              0x108000  L1's host RIP: HLT
 *   0x110000  L1's IDT               0x111000  one stub per vector:
 *                                              mov r15d, vector; hlt
 *   0x120000  operands (qwords)      0x130000  L2's code
 *   0x140000  L2's stack top         0x150000  L1's exit stack top
 *   0x200000  VMXON region           0x201000  vmcs12 A
 *   0x202000  vmcs12 B               0x203000  I/O bitmap A
 *   0x204000  I/O bitmap B           0x205000  MSR bitmap
 *   0x206000  MSR areas: entry load, +0x100 exit store, +0x200 exit load
 *   0x300000  ept12 PML4, PDPT, PD
 */
#define L1_CODE 0x100000ull
#define L1_HOST_RIP 0x108000ull
#define L1_IDT 0x110000ull
#define L1_STUBS 0x111000ull
#define DATA 0x120000ull
#define L2_CODE 0x130000ull
#define L2_STACK 0x140000ull
#define L1_EXIT_STACK 0x150000ull
#define VMXON 0x200000ull
#define VMCS_A 0x201000ull
#define VMCS_B 0x202000ull
#define IO_A 0x203000ull
#define IO_B 0x204000ull
#define MSRS 0x205000ull
#define MSR_AREAS 0x206000ull
#define ENTRY_LOAD MSR_AREAS
#define EXIT_STORE (MSR_AREAS + 0x100)
#define EXIT_LOAD (MSR_AREAS + 0x200)
#define EPT12 0x300000ull

struct fixture {
	struct vtx_machine *m;
	struct vtx_cpu *cpu;
	struct io_bus bus;
	struct debug_exit dexit;
	struct boot_params bp;
	struct l0_vm vm;
};

/* A program as bytes; the emitters below give their disassembly. */
struct prog {
	uint8_t b[256];
	size_t n;
};

#define OP_RAX 0xb8
#define OP_RCX 0xb9

/* Instructions as bytes: vmread rbx, rax; vmwrite rax, rcx; vmlaunch;
 * vmresume; vmcall; cpuid; rdmsr; wrmsr; out 0x80, al; hlt. */
extern const uint8_t VMREAD_RBX_RAX[3];
extern const uint8_t VMWRITE_RAX_RCX[3];
extern const uint8_t VMLAUNCH[3];
extern const uint8_t VMRESUME[3];
extern const uint8_t VMCALL[3];
extern const uint8_t CPUID[2];
extern const uint8_t RDMSR[2];
extern const uint8_t WRMSR[2];
extern const uint8_t OUT_80[2];
extern const uint8_t HLT[1];

/* Emitters: append bytes, or one instruction with an absolute operand at
 * a 32-bit address (op_vmxon(p, DATA) is "vmxon [DATA]"), to a program. */
void emit(struct prog *p, const void *bytes, size_t n);
void emit_u32(struct prog *p, uint32_t v);
void op_set_cr4_vmxe(struct prog *p);
void op_mov_imm64(struct prog *p, uint8_t opcode, uint64_t imm);
void op_abs(struct prog *p, const uint8_t *op, size_t n, uint8_t reg,
	    uint32_t addr);
void op_vmxon(struct prog *p, uint32_t addr);
void op_vmclear(struct prog *p, uint32_t addr);
void op_vmptrld(struct prog *p, uint32_t addr);
void op_vmptrst(struct prog *p, uint32_t addr);
void op_vmread_to_mem(struct prog *p, uint32_t addr);
void op(struct prog *p, const uint8_t *b, size_t n);
void op_mov_ecx(struct prog *p, uint32_t imm);
void op_load_rax(struct prog *p, uint32_t addr);
/* cmocka fixtures: *state becomes a fresh struct fixture (an L0 VM with L1
 * booted by the 64-bit contract, the debug exit on the bus). */
int setup(void **state);
int teardown(void **state);
/* L1 memory and vmcs01 access; each fails the test if it cannot. */
void put(struct fixture *f, gpa_t at, const void *p, size_t n);
void put64(struct fixture *f, gpa_t at, uint64_t v);
uint64_t get64(struct fixture *f, hpa_t at);
uint64_t rd01(struct fixture *f, uint32_t field);
uint64_t gpr(struct fixture *f, unsigned int n);
/* Running L1: an IDT whose stubs put the vector in R15 and halt; a region
 * with a revision word; the program run until it stops (L1's HLT ends it);
 * the stop checked; L1's arithmetic flags; VMXON (+ VMPTRLD) prologues
 * with their operands at DATA and DATA + 8. */
void install_l1_idt(struct fixture *f);
void put_region(struct fixture *f, gpa_t at, uint32_t rev,
		uint32_t launch_state);
void run_l1(struct fixture *f, const struct prog *p);
void expect_halt_at(struct fixture *f, uint64_t rip);
uint64_t l1_flags(struct fixture *f);
void prologue_vmxon(struct fixture *f, struct prog *p);
void prologue_vmptrld(struct fixture *f, struct prog *p, gpa_t vmcs);

struct vmcs12;

/* A vmcs12 that passes every nested entry check, with L2 at L2_CODE and
 * L1's host state at L1_HOST_RIP (tests/unit/vmcs12_fixture.h). */
void nvmx_valid_vmcs12(struct fixture *f, struct vmcs12 *v, uint64_t eptp);

/* L1: VMXON, VMPTRLD of vmcs12 A (written whole by the test, in L0's
 * format), VMLAUNCH, HLT; its host RIP is a HLT at L1_HOST_RIP. Returns
 * where L1's HLT after a failed VMLAUNCH is. */
uint64_t nvmx_run_nested(struct fixture *f, const struct vmcs12 *v12,
			 const struct prog *l2);

#endif
