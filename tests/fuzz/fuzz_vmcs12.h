/* SPDX-License-Identifier: MIT */
/*
 * fuzz_vmcs12.h - the L1 layout the vmcs12 fuzz target runs in, shared
 * with the seed writer of the replay test: where L1 puts L2's code and
 * stack, its own exit handler and stack, and the ept12 that maps L2's
 * first 2 MiB (L1-physical, identity-mapped by the boot contract). Host
 * side, tests only.
 */
#ifndef NESTVM_TESTS_FUZZ_VMCS12_H
#define NESTVM_TESTS_FUZZ_VMCS12_H

#include "arch/types.h"

#define FUZZ_VMCS12_L1_RAM MiB(4)
#define FUZZ_VMCS12_AREA MiB(1)
#define FUZZ_VMCS12_L1_CODE 0x100000ull
#define FUZZ_VMCS12_L1_HOST_RIP 0x108000ull /* HLT */
#define FUZZ_VMCS12_DATA 0x120000ull /* VMXON and VMPTRLD operands */
#define FUZZ_VMCS12_L2_CODE 0x130000ull
#define FUZZ_VMCS12_L2_STACK 0x140000ull
#define FUZZ_VMCS12_L1_STACK 0x150000ull
#define FUZZ_VMCS12_VMXON 0x200000ull
#define FUZZ_VMCS12_VMCS 0x201000ull
#define FUZZ_VMCS12_EPT12 0x300000ull /* PML4, PDPT, PD: 3 pages */

/* The input: a 4 KiB vmcs12 image, then optionally one byte of flags and
 * up to FUZZ_VMCS12_L2_CODE_MAX bytes of L2 code (else CPUID; HLT). */
#define FUZZ_VMCS12_IMAGE 4096u
#define FUZZ_VMCS12_RESUME 0x01u /* VMRESUME instead of VMLAUNCH */
#define FUZZ_VMCS12_RAW_LAUNCH 0x02u /* keep the image's launch state */
#define FUZZ_VMCS12_L2_CODE_MAX 64u

#endif
