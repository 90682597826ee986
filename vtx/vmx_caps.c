/* SPDX-License-Identifier: MIT */
/*
 * vmx_caps.c - the VMX capability MSRs (SDM Vol. 3C Appendix A): what the
 * model's VT-x offers. Every control reported allowed-1 here is
 * implemented by the model; everything else is reported fixed to 0, so an
 * L1 written for silicon reads a consistent, smaller CPU. Model side.
 */
#include <errno.h>

#include "arch/ept.h"
#include "arch/vmcs.h"
#include "arch/vmcs12.h"
#include "arch/x86_msr.h"
#include "arch/x86_regs.h"
#include "vtx/cpu.h"
#include "vtx/vmcs_access.h"
#include "vtx/vmx.h"

/* Controls the model implements, per group (Appendix A.3-A.5, A.3.3). */
#define PIN_MAY1                                            \
	(VMX_PIN_BASED_DEFAULT1 | PIN_BASED_EXT_INTR_MASK | \
	 PIN_BASED_NMI_EXITING | PIN_BASED_VIRTUAL_NMIS |   \
	 PIN_BASED_VMX_PREEMPTION_TIMER)

#define PROC_MAY1                                                          \
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

/* Default1 bits the true controls let software clear (Appendix A.2):
 * CR3-load/store exiting. The other default1 bits stay fixed to 1. */
#define PROC_TRUE_MUST1                                                    \
	(VMX_CPU_BASED_DEFAULT1 & ~(uint32_t)(CPU_BASED_CR3_LOAD_EXITING | \
					      CPU_BASED_CR3_STORE_EXITING))

#define PROC2_MAY1                                                        \
	(SECONDARY_EXEC_ENABLE_EPT | SECONDARY_EXEC_DESC |                \
	 SECONDARY_EXEC_ENABLE_RDTSCP | SECONDARY_EXEC_ENABLE_VPID |      \
	 SECONDARY_EXEC_WBINVD_EXITING | SECONDARY_EXEC_ENABLE_INVPCID |  \
	 SECONDARY_EXEC_SHADOW_VMCS | SECONDARY_EXEC_UNRESTRICTED_GUEST | \
	 SECONDARY_EXEC_ENABLE_VMFUNC | SECONDARY_EXEC_TSC_SCALING)

#define EXIT_MAY1                                                  \
	(VMX_EXIT_DEFAULT1 | VM_EXIT_SAVE_DEBUG_CONTROLS |         \
	 VM_EXIT_HOST_ADDR_SPACE_SIZE | VM_EXIT_ACK_INTR_ON_EXIT | \
	 VM_EXIT_SAVE_IA32_PAT | VM_EXIT_LOAD_IA32_PAT |           \
	 VM_EXIT_SAVE_IA32_EFER | VM_EXIT_LOAD_IA32_EFER |         \
	 VM_EXIT_SAVE_VMX_PREEMPTION_TIMER)

/* Debug-control save/load may be cleared with the true controls. */
#define EXIT_TRUE_MUST1 \
	(VMX_EXIT_DEFAULT1 & ~(uint32_t)VM_EXIT_SAVE_DEBUG_CONTROLS)

#define ENTRY_MAY1                                           \
	(VMX_ENTRY_DEFAULT1 | VM_ENTRY_LOAD_DEBUG_CONTROLS | \
	 VM_ENTRY_IA32E_MODE | VM_ENTRY_LOAD_IA32_PAT |      \
	 VM_ENTRY_LOAD_IA32_EFER)

#define ENTRY_TRUE_MUST1 \
	(VMX_ENTRY_DEFAULT1 & ~(uint32_t)VM_ENTRY_LOAD_DEBUG_CONTROLS)

/* Allowed-0 settings in bits 31:0, allowed-1 settings in bits 63:32. */
static uint64_t ctl_msr(uint32_t must1, uint32_t may1)
{
	return (uint64_t)must1 | ((uint64_t)may1 << 32);
}

uint64_t vtx_vmx_cr0_fixed0(void)
{
	/* SDM Appendix A.7: PE, NE and PG must be 1. PE and PG are reported
	 * fixed even though an unrestricted guest may clear them: A.7 and
	 * 27.3.1.1 make that exception for the guest-state check, and the
	 * VMX root operation keeps them (as silicon reports 0x80000021). */
	return X86_CR0_PE | X86_CR0_NE | X86_CR0_PG;
}

uint64_t vtx_vmx_cr0_fixed1(void)
{
	return 0xffffffffull;
}

uint64_t vtx_vmx_cr4_fixed0(void)
{
	return X86_CR4_VMXE;
}

uint64_t vtx_vmx_cr4_fixed1(void)
{
	return X86_CR4_TSD | X86_CR4_DE | X86_CR4_PSE | X86_CR4_PAE |
	       X86_CR4_PGE | X86_CR4_VMXE | X86_CR4_PCIDE | X86_CR4_SMEP |
	       X86_CR4_SMAP;
}

static uint64_t vmcs_enum(void)
{
	/* Highest index (bits 9:1) of any supported encoding (A.9). */
	unsigned hi = 0;
	for (unsigned k = 0; k < VMCS_NR_FIELDS; k++) {
		uint32_t enc = vmcs_field_table[k].encoding;
		if (vtx_vmcs_field_supported(enc) && vmcs_field_index(enc) > hi)
			hi = vmcs_field_index(enc);
	}
	return (uint64_t)hi << 1;
}

int vtx_vmx_read_cap(const struct vtx_cpu *c, uint32_t idx, uint64_t *val)
{
	(void)c;
	switch (idx) {
	case MSR_IA32_VMX_BASIC:
		/* 4 KiB VMCS region, WB, INS/OUTS information, true
		 * controls (A.1). */
		*val = VTX_VMCS_REVISION |
		       (4096ull << VMX_BASIC_VMCS_SIZE_SHIFT) |
		       (VMX_BASIC_MEM_TYPE_WB << VMX_BASIC_MEM_TYPE_SHIFT) |
		       VMX_BASIC_INOUT | VMX_BASIC_TRUE_CTLS;
		return 0;
	case MSR_IA32_VMX_PINBASED_CTLS:
	case MSR_IA32_VMX_TRUE_PINBASED_CTLS:
		*val = ctl_msr(VMX_PIN_BASED_DEFAULT1, PIN_MAY1);
		return 0;
	case MSR_IA32_VMX_PROCBASED_CTLS:
		*val = ctl_msr(VMX_CPU_BASED_DEFAULT1, PROC_MAY1);
		return 0;
	case MSR_IA32_VMX_TRUE_PROCBASED_CTLS:
		*val = ctl_msr(PROC_TRUE_MUST1, PROC_MAY1);
		return 0;
	case MSR_IA32_VMX_PROCBASED_CTLS2:
		*val = ctl_msr(0, PROC2_MAY1);
		return 0;
	case MSR_IA32_VMX_EXIT_CTLS:
		*val = ctl_msr(VMX_EXIT_DEFAULT1, EXIT_MAY1);
		return 0;
	case MSR_IA32_VMX_TRUE_EXIT_CTLS:
		*val = ctl_msr(EXIT_TRUE_MUST1, EXIT_MAY1);
		return 0;
	case MSR_IA32_VMX_ENTRY_CTLS:
		*val = ctl_msr(VMX_ENTRY_DEFAULT1, ENTRY_MAY1);
		return 0;
	case MSR_IA32_VMX_TRUE_ENTRY_CTLS:
		*val = ctl_msr(ENTRY_TRUE_MUST1, ENTRY_MAY1);
		return 0;
	case MSR_IA32_VMX_MISC:
		/* EFER.LMA saved into the IA-32e entry control; 4 CR3
		 * targets; 512 MSRs per list; VMWRITE to every field, the
		 * VM-exit information fields of a shadow VMCS included
		 * (A.6); the HLT and wait-for-SIPI activity states, not
		 * shutdown; the VMX-preemption timer ticks when TSC bit 5
		 * changes (vtx/events.c). */
		*val = VTX_VMX_PREEMPT_SHIFT | VMX_MISC_ACTIVITY_HLT |
		       VMX_MISC_ACTIVITY_WAIT_SIPI | VMX_MISC_SAVE_EFER_LMA |
		       (4ull << VMX_MISC_CR3_COUNT_SHIFT) |
		       VMX_MISC_VMWRITE_SHADOW_RO_FIELDS;
		return 0;
	case MSR_IA32_VMX_CR0_FIXED0:
		*val = vtx_vmx_cr0_fixed0();
		return 0;
	case MSR_IA32_VMX_CR0_FIXED1:
		*val = vtx_vmx_cr0_fixed1();
		return 0;
	case MSR_IA32_VMX_CR4_FIXED0:
		*val = vtx_vmx_cr4_fixed0();
		return 0;
	case MSR_IA32_VMX_CR4_FIXED1:
		*val = vtx_vmx_cr4_fixed1();
		return 0;
	case MSR_IA32_VMX_VMCS_ENUM:
		*val = vmcs_enum();
		return 0;
	case MSR_IA32_VMX_EPT_VPID_CAP:
		/* A.10: execute-only, 4-level walks, WB, 2M/1G leaves,
		 * accessed/dirty flags, INVEPT single/all context, INVVPID
		 * all four types. */
		*val = VMX_EPT_EXECUTE_ONLY_BIT | VMX_EPT_PAGE_WALK_4_BIT |
		       VMX_EPTP_WB_BIT | VMX_EPT_2MB_PAGE_BIT |
		       VMX_EPT_1GB_PAGE_BIT | VMX_EPT_AD_BIT |
		       VMX_EPT_INVEPT_BIT | VMX_EPT_EXTENT_CONTEXT_BIT |
		       VMX_EPT_EXTENT_GLOBAL_BIT | VMX_VPID_INVVPID_BIT |
		       VMX_VPID_EXTENT_INDIVIDUAL_ADDR_BIT |
		       VMX_VPID_EXTENT_SINGLE_CONTEXT_BIT |
		       VMX_VPID_EXTENT_GLOBAL_CONTEXT_BIT |
		       VMX_VPID_EXTENT_SINGLE_NON_GLOBAL_BIT;
		return 0;
	case MSR_IA32_VMX_VMFUNC:
		/* A.11: EPTP switching is the one VM function. */
		*val = VMX_VMFUNC_EPTP_SWITCHING;
		return 0;
	default:
		return -ENOENT;
	}
}

void vtx_vmx_ctl_allowed(uint32_t msr, uint32_t *must1, uint32_t *may1)
{
	/* The capability MSRs are constants of the model (no vCPU state
	 * goes in): each is computed once, as every VM entry asks for five
	 * of them. */
	static uint64_t known[MSR_IA32_VMX_VMFUNC - MSR_IA32_VMX_BASIC + 1];
	static uint32_t have;
	uint32_t k = msr - MSR_IA32_VMX_BASIC;
	uint64_t v = 0;

	if (k < ARRAY_SIZE(known) && ((have >> k) & 1)) {
		v = known[k];
	} else {
		vtx_vmx_read_cap(NULL, msr, &v);
		if (k < ARRAY_SIZE(known)) {
			known[k] = v;
			have |= 1u << k;
		}
	}
	*must1 = (uint32_t)v;
	*may1 = (uint32_t)(v >> 32);
}

/* The fields of the model's VMCS: every field whose feature the model
 * offers (SDM Appendix B), so VMREAD/VMWRITE of anything else is
 * VMfailValid(12) as on a CPU without that feature. */
static bool field_in_model(uint32_t enc)
{
	switch (enc & ~1u) { /* a _HIGH access names its 64-bit field */
	case VIRTUAL_PROCESSOR_ID:
	case GUEST_ES_SELECTOR:
	case GUEST_CS_SELECTOR:
	case GUEST_SS_SELECTOR:
	case GUEST_DS_SELECTOR:
	case GUEST_FS_SELECTOR:
	case GUEST_GS_SELECTOR:
	case GUEST_LDTR_SELECTOR:
	case GUEST_TR_SELECTOR:
	case HOST_ES_SELECTOR:
	case HOST_CS_SELECTOR:
	case HOST_SS_SELECTOR:
	case HOST_DS_SELECTOR:
	case HOST_FS_SELECTOR:
	case HOST_GS_SELECTOR:
	case HOST_TR_SELECTOR:
	case IO_BITMAP_A:
	case IO_BITMAP_B:
	case MSR_BITMAP:
	case VM_EXIT_MSR_STORE_ADDR:
	case VM_EXIT_MSR_LOAD_ADDR:
	case VM_ENTRY_MSR_LOAD_ADDR:
	case TSC_OFFSET:
	case EPT_POINTER:
	case VMREAD_BITMAP: /* with VMCS shadowing */
	case VMWRITE_BITMAP:
	case VM_FUNCTION_CONTROL: /* with "enable VM functions" */
	case EPTP_LIST_ADDRESS:
	case TSC_MULTIPLIER: /* with "use TSC scaling" */
	case GUEST_PHYSICAL_ADDRESS:
	case VMCS_LINK_POINTER:
	case GUEST_IA32_DEBUGCTL:
	case GUEST_IA32_PAT:
	case GUEST_IA32_EFER:
	case HOST_IA32_PAT:
	case HOST_IA32_EFER:
	case PIN_BASED_VM_EXEC_CONTROL:
	case CPU_BASED_VM_EXEC_CONTROL:
	case EXCEPTION_BITMAP:
	case PAGE_FAULT_ERROR_CODE_MASK:
	case PAGE_FAULT_ERROR_CODE_MATCH:
	case CR3_TARGET_COUNT:
	case VM_EXIT_CONTROLS:
	case VM_EXIT_MSR_STORE_COUNT:
	case VM_EXIT_MSR_LOAD_COUNT:
	case VM_ENTRY_CONTROLS:
	case VM_ENTRY_MSR_LOAD_COUNT:
	case VM_ENTRY_INTR_INFO_FIELD:
	case VM_ENTRY_EXCEPTION_ERROR_CODE:
	case VM_ENTRY_INSTRUCTION_LEN:
	case SECONDARY_VM_EXEC_CONTROL:
	case VM_INSTRUCTION_ERROR:
	case VM_EXIT_REASON:
	case VM_EXIT_INTR_INFO:
	case VM_EXIT_INTR_ERROR_CODE:
	case IDT_VECTORING_INFO_FIELD:
	case IDT_VECTORING_ERROR_CODE:
	case VM_EXIT_INSTRUCTION_LEN:
	case VMX_INSTRUCTION_INFO:
	case GUEST_ES_LIMIT:
	case GUEST_CS_LIMIT:
	case GUEST_SS_LIMIT:
	case GUEST_DS_LIMIT:
	case GUEST_FS_LIMIT:
	case GUEST_GS_LIMIT:
	case GUEST_LDTR_LIMIT:
	case GUEST_TR_LIMIT:
	case GUEST_GDTR_LIMIT:
	case GUEST_IDTR_LIMIT:
	case GUEST_ES_AR_BYTES:
	case GUEST_CS_AR_BYTES:
	case GUEST_SS_AR_BYTES:
	case GUEST_DS_AR_BYTES:
	case GUEST_FS_AR_BYTES:
	case GUEST_GS_AR_BYTES:
	case GUEST_LDTR_AR_BYTES:
	case GUEST_TR_AR_BYTES:
	case GUEST_INTERRUPTIBILITY_INFO:
	case GUEST_ACTIVITY_STATE:
	case VMX_PREEMPTION_TIMER_VALUE:
	case GUEST_SYSENTER_CS:
	case HOST_IA32_SYSENTER_CS:
	case CR0_GUEST_HOST_MASK:
	case CR4_GUEST_HOST_MASK:
	case CR0_READ_SHADOW:
	case CR4_READ_SHADOW:
	case CR3_TARGET_VALUE0:
	case CR3_TARGET_VALUE1:
	case CR3_TARGET_VALUE2:
	case CR3_TARGET_VALUE3:
	case EXIT_QUALIFICATION:
	case GUEST_LINEAR_ADDRESS:
	case GUEST_CR0:
	case GUEST_CR3:
	case GUEST_CR4:
	case GUEST_ES_BASE:
	case GUEST_CS_BASE:
	case GUEST_SS_BASE:
	case GUEST_DS_BASE:
	case GUEST_FS_BASE:
	case GUEST_GS_BASE:
	case GUEST_LDTR_BASE:
	case GUEST_TR_BASE:
	case GUEST_GDTR_BASE:
	case GUEST_IDTR_BASE:
	case GUEST_DR7:
	case GUEST_RSP:
	case GUEST_RIP:
	case GUEST_RFLAGS:
	case GUEST_PENDING_DBG_EXCEPTIONS:
	case GUEST_SYSENTER_ESP:
	case GUEST_SYSENTER_EIP:
	case HOST_CR0:
	case HOST_CR3:
	case HOST_CR4:
	case HOST_FS_BASE:
	case HOST_GS_BASE:
	case HOST_TR_BASE:
	case HOST_GDTR_BASE:
	case HOST_IDTR_BASE:
	case HOST_IA32_SYSENTER_ESP:
	case HOST_IA32_SYSENTER_EIP:
	case HOST_RSP:
	case HOST_RIP:
		/* Only 64-bit fields (bits 14:13 = 1) have a high half. */
		return (enc & 1) == 0 || ((enc >> 13) & 3) == 1;
	default:
		return false;
	}
}

/*
 * field_in_model() by encoding slot, with each field's place in struct
 * vmcs12 (struct vtx_vmcs_slot, vtx/vmcs_access.h), built on first use:
 * every VMREAD and VMWRITE asks, hundreds of times per nested round trip,
 * so the lookup itself is inline (vtx_vmcs_model_offset()). Every field
 * the model has is in arch/vmcs_fields.def (its storage is struct vmcs12).
 */
struct vtx_vmcs_slot vtx_vmcs_slots[VMCS12_NR_SLOTS];
bool vtx_vmcs_slots_ready;

void vtx_vmcs_slots_init(void)
{
	for (unsigned int id = 0; id < VMCS_NR_FIELDS; id++) {
		uint32_t e = vmcs_field_table[id].encoding;
		struct vtx_vmcs_slot *s = &vtx_vmcs_slots[VMCS12_ENC_SLOT(e)];
		unsigned int width = 0;
		int off = vmcs12_field_offset(e, &width);

		if (off < 0 || !field_in_model(e))
			continue;
		s->offset = (uint16_t)off;
		s->width[0] = (uint8_t)width;
		/* Only 64-bit fields have a high half (field_in_model()). */
		if (field_in_model(e | 1))
			s->width[1] = 4;
	}
	vtx_vmcs_slots_ready = true;
}

bool vtx_vmcs_field_supported(uint32_t enc)
{
	unsigned int width;

	return vtx_vmcs_model_offset(enc, &width) >= 0;
}
