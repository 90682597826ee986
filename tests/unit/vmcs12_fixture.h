/* SPDX-License-Identifier: MIT */
/*
 * vmcs12_fixture.h - a vmcs12 that passes every check of a nested VM entry
 * (SDM Vol. 3C 27.2, 27.3), for the tests that break one rule at a time
 * and for the ones that run L2: controls from L0's nested capabilities,
 * L2 and host state from the 64-bit boot contract (arch/boot_layout.h).
 * Host side, tests only.
 */
#ifndef NESTVM_TESTS_VMCS12_FIXTURE_H
#define NESTVM_TESTS_VMCS12_FIXTURE_H

#include "arch/vmcs12.h"

struct nested_vmx_caps;

/*
 * Fills v: pin and processor-based controls at their allowed-0 bits plus
 * HLT and unconditional I/O exiting (and EPT with eptp when eptp is not
 * 0), exit and entry controls for a 64-bit host and guest with EFER
 * switched; L2 starts at l2_rip with RSP l2_rsp on L1's page tables; the
 * host state is L1's boot state with HOST_RIP host_rip and HOST_RSP
 * host_rsp. Revision VMCS12_REVISION, launch state clear.
 */
void vmcs12_fixture_init(struct vmcs12 *v, const struct nested_vmx_caps *caps,
			 uint64_t eptp, uint64_t l2_rip, uint64_t l2_rsp,
			 uint64_t host_rip, uint64_t host_rsp);

#endif
