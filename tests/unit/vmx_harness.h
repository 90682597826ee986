/* SPDX-License-Identifier: MIT */
/*
 * vmx_harness.h - VMX on top of the CPU-model fixture (vtx_harness.h): the
 * vCPU as a C host in VMX root operation with a current VMCS whose guest
 * is the harness's own 64-bit state at CODE_BASE. Host side, tests only.
 */
#ifndef NESTVM_TESTS_VMX_HARNESS_H
#define NESTVM_TESTS_VMX_HARNESS_H

#include <stdint.h>

#include "tests/unit/vtx_harness.h"

#define HARNESS_VMXON_REGION 0x30000ull
#define HARNESS_VMCS_REGION 0x31000ull

/* VMWRITE/VMREAD through vtx.h; each fails the test unless it succeeds. */
void harness_vmwrite(struct harness *h, uint32_t field, uint64_t val);
uint64_t harness_vmread(struct harness *h, uint32_t field);

/* The value of a control group: the must-be-1 bits of capability MSR
 * `msr` plus `want`, which must all be allowed (SDM Appendix A.3-A.5). */
uint32_t harness_vmx_ctl(struct harness *h, uint32_t msr, uint32_t want);

/* VMXON (regions at HARNESS_VMXON_REGION / HARNESS_VMCS_REGION, revision
 * from IA32_VMX_BASIC), VMCLEAR + VMPTRLD, and a VMCS that enters the
 * harness's 64-bit CPL-0 state at CODE_BASE with 64-bit host state:
 * primary controls add `proc`, secondary controls are `proc2` (written,
 * and activated, only when non-zero). */
void harness_vmcs_setup(struct harness *h, uint32_t proc, uint32_t proc2);

#endif
