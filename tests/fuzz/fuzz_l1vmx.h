/* SPDX-License-Identifier: MIT */
/*
 * fuzz_l1vmx.h - the input format and the L1 memory layout of the L1
 * VMX-instruction fuzz target (fuzz_l1vmx.c), shared with the seed writer
 * of the replay test. L1-physical addresses, identity-mapped by the
 * program's own page tables. Host side, tests only; docs/fuzzing.md.
 */
#ifndef NESTVM_TESTS_FUZZ_L1VMX_H
#define NESTVM_TESTS_FUZZ_L1VMX_H

#include "arch/types.h"

#define FUZZ_L1VMX_L1_RAM MiB(4)
#define FUZZ_L1VMX_AREA MiB(1)
#define FUZZ_L1VMX_CODE 0x100000ull /* the program */
#define FUZZ_L1VMX_CODE_MAX 0x10000u
#define FUZZ_L1VMX_IDT 0x110000ull
#define FUZZ_L1VMX_STUBS 0x111000ull /* 32 exception stubs, 64 bytes each */
#define FUZZ_L1VMX_GDT 0x112000ull
#define FUZZ_L1VMX_GDTR 0x113000ull
#define FUZZ_L1VMX_IDTR 0x113010ull
#define FUZZ_L1VMX_SLOT 0x114000ull /* resume address, saved RAX */
#define FUZZ_L1VMX_LOG 0x118000ull /* one qword per op */
#define FUZZ_L1VMX_DATA 0x120000ull /* 4 pages of operands */
#define FUZZ_L1VMX_STACK 0x140000ull /* CPL 0 stack top */
#define FUZZ_L1VMX_USTACK 0x150000ull /* CPL 3 stack top */
#define FUZZ_L1VMX_PML4 0x180000ull
#define FUZZ_L1VMX_PDPT 0x181000ull
#define FUZZ_L1VMX_PD 0x182000ull
#define FUZZ_L1VMX_PT 0x183000ull
#define FUZZ_L1VMX_REGIONS 0x200000ull /* VMXON and VMCS regions */
#define FUZZ_L1VMX_NR_REGIONS 4u
#define FUZZ_L1VMX_SEL_UCODE 0x33 /* GDT index 6, RPL 3 */
#define FUZZ_L1VMX_SEL_UDATA 0x3b /* GDT index 7, RPL 3 */

/*
 * The input: a flags byte, a byte of data-page rights (2 bits for each of
 * the 4 data pages: 0 read/write, 1 read-only, 2 not present, 3
 * supervisor-only), then ops, each an op byte (mod 16) and its operand
 * bytes (fuzz_l1vmx.c, gen_op()).
 */
#define FUZZ_L1VMX_CPL3 0x01u /* run the ops at CPL 3 */
/* Skip the prologue's "lock IA32_FEATURE_CONTROL unless locked": both
 * processors start with it locked, as L0 presents it. */
#define FUZZ_L1VMX_NO_FEAT_CTL 0x02u
#define FUZZ_L1VMX_NO_VMXE 0x04u /* leave CR4.VMXE clear */
#define FUZZ_L1VMX_NO_REVISION 0x08u /* regions keep revision 0 */

#endif
