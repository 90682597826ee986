/* SPDX-License-Identifier: MIT */
/*
 * caps.c - the VMX capabilities L0 offers L1 (vmcs-merge/caps.h): each
 * control group is the processor's allowed settings ANDed with the bits L0
 * emulates when it merges vmcs12 into vmcs02 and reflects exits (SDM Vol.
 * 3D Appendix A.1-A.10; KVM's nested_vmx_setup_ctls_msrs() does the same).
 * Monitor side; reads the processor's MSRs through vtx/vtx.h.
 */
#include "vmcs-merge/caps.h"

#include <errno.h>
#include <string.h>

#include "arch/ept.h"
#include "arch/vmcs.h"
#include "arch/x86_msr.h"
#include "vtx/vtx.h"

_Static_assert(NESTED_VMX_NR_CAPS == MSR_IA32_VMX_LAST - MSR_IA32_VMX_FIRST + 1,
	       "one slot per capability MSR");

/*
 * The controls L0 emulates for L1, per group. Every bit here is either
 * merged into vmcs02 and handled on reflection (vmcs-merge/merge.c,
 * l0/nested.c) or an exit condition L0 passes through to vmcs02 and
 * reflects. The default1 bits are listed so that a processor that forces
 * them still gets a consistent answer.
 *
 * The event controls (interrupt and NMI windows, virtual NMIs, NMI and
 * external-interrupt exiting, the monitor trap flag, the VMX-preemption
 * timer) are passed through to vmcs02: L0 sets none of them for itself,
 * so every such exit of L2 is L1's (l0/nested_events.c,
 * docs/design/nested.md "Events under L0").
 */
#define NESTED_PIN_EMULATED                                 \
	(VMX_PIN_BASED_DEFAULT1 | PIN_BASED_EXT_INTR_MASK | \
	 PIN_BASED_NMI_EXITING | PIN_BASED_VIRTUAL_NMIS |   \
	 PIN_BASED_VMX_PREEMPTION_TIMER)

#define NESTED_PROC_EMULATED                                               \
	(VMX_CPU_BASED_DEFAULT1 | CPU_BASED_USE_TSC_OFFSETTING |           \
	 CPU_BASED_HLT_EXITING | CPU_BASED_INVLPG_EXITING |                \
	 CPU_BASED_RDPMC_EXITING | CPU_BASED_RDTSC_EXITING |               \
	 CPU_BASED_CR3_LOAD_EXITING | CPU_BASED_CR3_STORE_EXITING |        \
	 CPU_BASED_CR8_LOAD_EXITING | CPU_BASED_CR8_STORE_EXITING |        \
	 CPU_BASED_MOV_DR_EXITING | CPU_BASED_UNCOND_IO_EXITING |          \
	 CPU_BASED_USE_IO_BITMAPS | CPU_BASED_USE_MSR_BITMAPS |            \
	 CPU_BASED_PAUSE_EXITING | CPU_BASED_ACTIVATE_SECONDARY_CONTROLS | \
	 CPU_BASED_INTR_WINDOW_EXITING | CPU_BASED_NMI_WINDOW_EXITING |    \
	 CPU_BASED_MONITOR_TRAP_FLAG)

#define NESTED_PROC2_EMULATED                                                \
	(SECONDARY_EXEC_ENABLE_EPT | SECONDARY_EXEC_DESC |                   \
	 SECONDARY_EXEC_ENABLE_RDTSCP | SECONDARY_EXEC_ENABLE_VPID |         \
	 SECONDARY_EXEC_WBINVD_EXITING | SECONDARY_EXEC_UNRESTRICTED_GUEST | \
	 SECONDARY_EXEC_ENABLE_INVPCID | SECONDARY_EXEC_SHADOW_VMCS)

#define NESTED_EXIT_EMULATED                                       \
	(VMX_EXIT_DEFAULT1 | VM_EXIT_SAVE_DEBUG_CONTROLS |         \
	 VM_EXIT_HOST_ADDR_SPACE_SIZE | VM_EXIT_ACK_INTR_ON_EXIT | \
	 VM_EXIT_SAVE_IA32_PAT | VM_EXIT_LOAD_IA32_PAT |           \
	 VM_EXIT_SAVE_IA32_EFER | VM_EXIT_LOAD_IA32_EFER |         \
	 VM_EXIT_SAVE_VMX_PREEMPTION_TIMER)

#define NESTED_ENTRY_EMULATED                                \
	(VMX_ENTRY_DEFAULT1 | VM_ENTRY_LOAD_DEBUG_CONTROLS | \
	 VM_ENTRY_IA32E_MODE | VM_ENTRY_LOAD_IA32_PAT |      \
	 VM_ENTRY_LOAD_IA32_EFER)

/* IA32_VMX_MISC: the processor's preemption-timer rate (vmcs02 runs
 * L2 on the processor's own timer), the HLT activity state; not shutdown
 * or wait-for-SIPI. */
#define NESTED_MISC_EMULATED                                            \
	(VMX_MISC_PREEMPTION_TIMER_RATE_MASK | VMX_MISC_SAVE_EFER_LMA | \
	 VMX_MISC_ACTIVITY_HLT | VMX_MISC_CR3_COUNT_MASK |              \
	 VMX_MISC_MSR_LIST_MASK | VMX_MISC_VMWRITE_SHADOW_RO_FIELDS)

/* IA32_VMX_EPT_VPID_CAP: what the ept12 walk and INVEPT/INVVPID
 * emulation handle; no 5-level EPT, and no EPT A/D flags: ept02 is filled
 * once per page on a hidden fault, so L0 would see neither the later
 * accesses that set ept12's accessed flags nor the first write through a
 * leaf filled by a read (docs/design/nested.md "Events under L0"). */
#define NESTED_EPT_VPID_EMULATED                                         \
	(VMX_EPT_EXECUTE_ONLY_BIT | VMX_EPT_PAGE_WALK_4_BIT |            \
	 VMX_EPTP_WB_BIT | VMX_EPT_2MB_PAGE_BIT | VMX_EPT_1GB_PAGE_BIT | \
	 VMX_EPT_INVEPT_BIT | VMX_EPT_EXTENT_CONTEXT_BIT |               \
	 VMX_EPT_EXTENT_GLOBAL_BIT | VMX_VPID_INVVPID_BIT |              \
	 VMX_VPID_EXTENT_INDIVIDUAL_ADDR_BIT |                           \
	 VMX_VPID_EXTENT_SINGLE_CONTEXT_BIT |                            \
	 VMX_VPID_EXTENT_GLOBAL_CONTEXT_BIT |                            \
	 VMX_VPID_EXTENT_SINGLE_NON_GLOBAL_BIT)

static unsigned int cap_slot(uint32_t msr)
{
	return msr - MSR_IA32_VMX_FIRST;
}

static void cap_set(struct nested_vmx_caps *caps, uint32_t msr, uint64_t val)
{
	caps->msr[cap_slot(msr)] = val;
	caps->present[cap_slot(msr)] = true;
}

/* A control MSR restricted to the bits L0 emulates: must-be-1 bits stay
 * (a processor that forces a bit forces it for L1 too), may-be-1 bits are
 * ANDed with emulated. */
static uint64_t ctl_restrict(uint64_t hw, uint32_t emulated)
{
	uint32_t must1 = (uint32_t)hw;
	uint32_t may1 = (uint32_t)(hw >> 32) & (emulated | must1);

	return (uint64_t)must1 | ((uint64_t)may1 << 32);
}

/* The highest index (bits 9:1) of any field L1 may use (Appendix A.9). */
static uint64_t nested_vmcs_enum(void)
{
	unsigned int hi = 0;

	for (unsigned int k = 0; k < VMCS_NR_FIELDS; k++) {
		uint32_t enc = vmcs_field_table[k].encoding;

		if (nested_vmcs_field_supported(enc) &&
		    vmcs_field_index(enc) > hi)
			hi = vmcs_field_index(enc);
	}
	return (uint64_t)hi << 1;
}

int nested_vmx_caps_init(struct nested_vmx_caps *caps,
			 const struct vtx_cpu *cpu)
{
	static const struct {
		uint32_t msr;
		uint32_t emulated;
	} ctls[] = {
		{ MSR_IA32_VMX_PINBASED_CTLS, NESTED_PIN_EMULATED },
		{ MSR_IA32_VMX_TRUE_PINBASED_CTLS, NESTED_PIN_EMULATED },
		{ MSR_IA32_VMX_PROCBASED_CTLS, NESTED_PROC_EMULATED },
		{ MSR_IA32_VMX_TRUE_PROCBASED_CTLS, NESTED_PROC_EMULATED },
		{ MSR_IA32_VMX_PROCBASED_CTLS2, NESTED_PROC2_EMULATED },
		{ MSR_IA32_VMX_EXIT_CTLS, NESTED_EXIT_EMULATED },
		{ MSR_IA32_VMX_TRUE_EXIT_CTLS, NESTED_EXIT_EMULATED },
		{ MSR_IA32_VMX_ENTRY_CTLS, NESTED_ENTRY_EMULATED },
		{ MSR_IA32_VMX_TRUE_ENTRY_CTLS, NESTED_ENTRY_EMULATED },
	};
	static const uint32_t copied[] = {
		MSR_IA32_VMX_CR0_FIXED0,
		MSR_IA32_VMX_CR0_FIXED1,
		MSR_IA32_VMX_CR4_FIXED0,
		MSR_IA32_VMX_CR4_FIXED1,
	};
	uint64_t basic, v, proc2, ept;

	memset(caps, 0, sizeof(*caps));
	if (vtx_cpu_get_msr(cpu, MSR_IA32_VMX_BASIC, &basic) ||
	    !(basic & VMX_BASIC_TRUE_CTLS) ||
	    vtx_cpu_get_msr(cpu, MSR_IA32_VMX_PROCBASED_CTLS2, &proc2) ||
	    !((proc2 >> 32) & SECONDARY_EXEC_ENABLE_EPT) ||
	    vtx_cpu_get_msr(cpu, MSR_IA32_VMX_EPT_VPID_CAP, &ept) ||
	    !(ept & VMX_EPT_PAGE_WALK_4_BIT) || !(ept & VMX_EPTP_WB_BIT))
		return -EINVAL;

	/* A.1: a 4 KiB vmcs12 in write-back memory, with INS/OUTS
	 * information if the processor gives it, and the TRUE controls. */
	cap_set(caps, MSR_IA32_VMX_BASIC,
		VMCS12_REVISION | (4096ull << VMX_BASIC_VMCS_SIZE_SHIFT) |
			(VMX_BASIC_MEM_TYPE_WB << VMX_BASIC_MEM_TYPE_SHIFT) |
			(basic & VMX_BASIC_INOUT) | VMX_BASIC_TRUE_CTLS);
	for (size_t i = 0; i < ARRAY_SIZE(ctls); i++) {
		if (vtx_cpu_get_msr(cpu, ctls[i].msr, &v))
			return -EINVAL;
		cap_set(caps, ctls[i].msr, ctl_restrict(v, ctls[i].emulated));
	}
	for (size_t i = 0; i < ARRAY_SIZE(copied); i++) {
		if (vtx_cpu_get_msr(cpu, copied[i], &v))
			return -EINVAL;
		cap_set(caps, copied[i], v);
	}
	if (vtx_cpu_get_msr(cpu, MSR_IA32_VMX_MISC, &v))
		return -EINVAL;
	cap_set(caps, MSR_IA32_VMX_MISC, v & NESTED_MISC_EMULATED);
	cap_set(caps, MSR_IA32_VMX_EPT_VPID_CAP,
		ept & NESTED_EPT_VPID_EMULATED);
	cap_set(caps, MSR_IA32_VMX_VMCS_ENUM, nested_vmcs_enum());
	return 0;
}

int nested_vmx_caps_read(const struct nested_vmx_caps *caps, uint32_t msr,
			 uint64_t *val)
{
	if (!x86_msr_is_vmx_cap(msr) || !caps->present[cap_slot(msr)])
		return -ENOENT;
	*val = caps->msr[cap_slot(msr)];
	return 0;
}

bool nested_vmx_ctl_ok(const struct nested_vmx_caps *caps, uint32_t msr,
		       uint32_t val)
{
	uint64_t cap;
	uint32_t must1, may1;

	if (nested_vmx_caps_read(caps, msr, &cap))
		return false;
	must1 = (uint32_t)cap;
	may1 = (uint32_t)(cap >> 32);
	return (val & must1) == must1 && !(val & ~may1);
}

uint64_t nested_vmx_ept_vpid_cap(const struct nested_vmx_caps *caps)
{
	uint64_t v = 0;

	nested_vmx_caps_read(caps, MSR_IA32_VMX_EPT_VPID_CAP, &v);
	return v;
}

/*
 * The fields of the features offered above (SDM Appendix B): the
 * processor's own fields (which already leave out PDPTEs, the performance,
 * SMM and extension MSRs), less those of VM functions and TSC scaling,
 * which L0 does not offer L1.
 */
bool nested_vmcs_field_supported(uint32_t enc)
{
	switch (enc & ~VMCS_ENC_HIGH) {
	case VM_FUNCTION_CONTROL: /* VM functions and TSC scaling are */
	case EPTP_LIST_ADDRESS: /* not offered to L1 */
	case TSC_MULTIPLIER:
		return false;
	default:
		return vtx_vmcs_field_supported(enc);
	}
}
