/* SPDX-License-Identifier: MIT */
/*
 * evmcs.c - l1-shim as an enlightened L1 (Hyper-V TLFS 6.0b, "Nested
 * Virtualization"): when the hypervisor below recommends the enlightened
 * VMCS (CPUID 0x40000000-0x4000000A), l1-shim enables its VP assist page
 * and runs L2 on an in-memory eVMCS (arch/evmcs.h) instead of VMCLEAR,
 * VMPTRLD, VMREAD and VMWRITE; VMLAUNCH/VMRESUME stay, and L0 reads the
 * eVMCS at each one. l1-shim side (L1); docs/l1-shim.md.
 */
#include "arch/evmcs.h"
#include "guests/rt/rt.h"
#include "l1-shim/shim.h"
#include "l1-shim/vmx.h"

/* One zeroed page each, as the TLFS asks of an eVMCS. */
static uint8_t l1_evmcs_page[PAGE_SIZE] __attribute__((aligned(PAGE_SIZE)));
static uint8_t l1_vp_assist_page[PAGE_SIZE] __attribute__((aligned(PAGE_SIZE)));

struct hv_enlightened_vmcs *l1_evmcs;

/* "Microsoft Hv" in CPUID 0x40000000 EBX, ECX, EDX. */
#define HV_VENDOR_EBX 0x7263694du
#define HV_VENDOR_ECX 0x666f736fu
#define HV_VENDOR_EDX 0x76482074u

void evmcs_die_field(const char *what, uint32_t field)
{
	printf(L1_PFX "eVMCS %s of VMCS field %#x, which an enlightened "
		      "VMCS does not have\n",
	       what, field);
	exit(L1_EXIT_FATAL);
}

/* The hypervisor below offers eVMCS version 1 and recommends it. */
static bool evmcs_offered(void)
{
	struct cpuid_regs r = cpuid(HYPERV_CPUID_VENDOR_AND_MAX_FUNCTIONS, 0);
	unsigned int lo, hi;

	if (r.ebx != HV_VENDOR_EBX || r.ecx != HV_VENDOR_ECX ||
	    r.edx != HV_VENDOR_EDX || r.eax < HYPERV_CPUID_NESTED_FEATURES)
		return false;
	if (cpuid(HYPERV_CPUID_INTERFACE, 0).eax != HV_INTERFACE_SIGNATURE ||
	    !(cpuid(HYPERV_CPUID_FEATURES, 0).eax &
	      HV_MSR_APIC_ACCESS_AVAILABLE) ||
	    !(cpuid(HYPERV_CPUID_ENLIGHTMENT_INFO, 0).eax &
	      HV_X64_ENLIGHTENED_VMCS_RECOMMENDED))
		return false;
	r = cpuid(HYPERV_CPUID_NESTED_FEATURES, 0);
	lo = r.eax & 0xff;
	hi = (r.eax >> 8) & 0xff;
	return lo <= EVMCS_VERSION && EVMCS_VERSION <= hi;
}

int evmcs_setup(struct l2_vm *vm)
{
	struct hv_vp_assist_page *ap = (void *)l1_vp_assist_page;
	struct hv_enlightened_vmcs *ev = (void *)l1_evmcs_page;

#ifndef L1_SHIM_PV
	/* build/l1-shim.elf: VMREAD/VMWRITE always. */
	return 0;
#endif
	if (vm->opt->no_evmcs || !evmcs_offered())
		return 0;
	ev->revision_id = EVMCS_VERSION;
	/* Nothing is clean yet: L0 reads every group at the first entry. */
	ev->hv_clean_fields = 0;
	l1_wrmsr(HV_X64_MSR_VP_ASSIST_PAGE,
		 (uint64_t)(uintptr_t)ap | HV_X64_MSR_VP_ASSIST_PAGE_ENABLE);
	ap->current_nested_vmcs = (uint64_t)(uintptr_t)ev;
	ap->enlighten_vmentry = 1;
	l1_evmcs = ev;
	if (vm->opt->verbose)
		printf(L1_PFX "enlightened VMCS at %#llx, VP assist page at "
			      "%#llx\n",
		       (unsigned long long)(uintptr_t)ev,
		       (unsigned long long)(uintptr_t)ap);
	return 1;
}
