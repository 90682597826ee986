/* SPDX-License-Identifier: MIT */
/*
 * VM-instruction error numbers: the value a VMX instruction that fails with
 * VMfailValid leaves in the VM-instruction error field (encoding 0x4400).
 * SDM Vol. 3C 31.4, Table 31-1; names as KVM's. Written by the model and
 * by L0's nested VMX emulation, read by L1 and by every trace.
 */
#ifndef NESTVM_ARCH_VMX_INSN_ERRORS_H
#define NESTVM_ARCH_VMX_INSN_ERRORS_H

/*
 * Numbers 14, 21 and 27 are reserved. <asm/vmx.h> (uapi) defines none of
 * these names.
 */
enum vm_instruction_error_number {
	VMXERR_VMCALL_IN_VMX_ROOT_OPERATION = 1,
	VMXERR_VMCLEAR_INVALID_ADDRESS = 2,
	VMXERR_VMCLEAR_VMXON_POINTER = 3,
	VMXERR_VMLAUNCH_NONCLEAR_VMCS = 4,
	VMXERR_VMRESUME_NONLAUNCHED_VMCS = 5,
	VMXERR_VMRESUME_AFTER_VMXOFF = 6,
	VMXERR_ENTRY_INVALID_CONTROL_FIELD = 7,
	VMXERR_ENTRY_INVALID_HOST_STATE_FIELD = 8,
	VMXERR_VMPTRLD_INVALID_ADDRESS = 9,
	VMXERR_VMPTRLD_VMXON_POINTER = 10,
	VMXERR_VMPTRLD_INCORRECT_VMCS_REVISION_ID = 11,
	VMXERR_UNSUPPORTED_VMCS_COMPONENT = 12,
	VMXERR_VMWRITE_READ_ONLY_VMCS_COMPONENT = 13,
	VMXERR_VMXON_IN_VMX_ROOT_OPERATION = 15,
	VMXERR_ENTRY_INVALID_EXECUTIVE_VMCS_POINTER = 16,
	VMXERR_ENTRY_NONLAUNCHED_EXECUTIVE_VMCS = 17,
	VMXERR_ENTRY_EXECUTIVE_VMCS_POINTER_NOT_VMXON_POINTER = 18,
	VMXERR_VMCALL_NONCLEAR_VMCS = 19,
	VMXERR_VMCALL_INVALID_VM_EXIT_CONTROL_FIELDS = 20,
	VMXERR_VMCALL_INCORRECT_MSEG_REVISION_ID = 22,
	VMXERR_VMXOFF_UNDER_DUAL_MONITOR_TREATMENT_OF_SMIS_AND_SMM = 23,
	VMXERR_VMCALL_INVALID_SMM_MONITOR_FEATURES = 24,
	VMXERR_ENTRY_INVALID_VM_EXECUTION_CONTROL_FIELDS_IN_EXECUTIVE_VMCS = 25,
	VMXERR_ENTRY_EVENTS_BLOCKED_BY_MOV_SS = 26,
	VMXERR_INVALID_OPERAND_TO_INVEPT_INVVPID = 28,
};

#define VMXERR_MAX VMXERR_INVALID_OPERAND_TO_INVEPT_INVVPID

/*
 * The SDM's description of error @n, for dumps and traces; "reserved" for
 * 14, 21, 27 and anything above 28, "no error" for 0.
 */
static inline const char *vmx_insn_error_name(unsigned int n)
{
	switch (n) {
	case 0:
		return "no error";
	case VMXERR_VMCALL_IN_VMX_ROOT_OPERATION:
		return "VMCALL executed in VMX root operation";
	case VMXERR_VMCLEAR_INVALID_ADDRESS:
		return "VMCLEAR with invalid physical address";
	case VMXERR_VMCLEAR_VMXON_POINTER:
		return "VMCLEAR with VMXON pointer";
	case VMXERR_VMLAUNCH_NONCLEAR_VMCS:
		return "VMLAUNCH with non-clear VMCS";
	case VMXERR_VMRESUME_NONLAUNCHED_VMCS:
		return "VMRESUME with non-launched VMCS";
	case VMXERR_VMRESUME_AFTER_VMXOFF:
		return "VMRESUME after VMXOFF";
	case VMXERR_ENTRY_INVALID_CONTROL_FIELD:
		return "VM entry with invalid control field(s)";
	case VMXERR_ENTRY_INVALID_HOST_STATE_FIELD:
		return "VM entry with invalid host-state field(s)";
	case VMXERR_VMPTRLD_INVALID_ADDRESS:
		return "VMPTRLD with invalid physical address";
	case VMXERR_VMPTRLD_VMXON_POINTER:
		return "VMPTRLD with VMXON pointer";
	case VMXERR_VMPTRLD_INCORRECT_VMCS_REVISION_ID:
		return "VMPTRLD with incorrect VMCS revision identifier";
	case VMXERR_UNSUPPORTED_VMCS_COMPONENT:
		return "VMREAD/VMWRITE from/to unsupported VMCS component";
	case VMXERR_VMWRITE_READ_ONLY_VMCS_COMPONENT:
		return "VMWRITE to read-only VMCS component";
	case VMXERR_VMXON_IN_VMX_ROOT_OPERATION:
		return "VMXON executed in VMX root operation";
	case VMXERR_ENTRY_INVALID_EXECUTIVE_VMCS_POINTER:
		return "VM entry with invalid executive-VMCS pointer";
	case VMXERR_ENTRY_NONLAUNCHED_EXECUTIVE_VMCS:
		return "VM entry with non-launched executive VMCS";
	case VMXERR_ENTRY_EXECUTIVE_VMCS_POINTER_NOT_VMXON_POINTER:
		return "VM entry with executive-VMCS pointer not VMXON pointer";
	case VMXERR_VMCALL_NONCLEAR_VMCS:
		return "VMCALL with non-clear VMCS";
	case VMXERR_VMCALL_INVALID_VM_EXIT_CONTROL_FIELDS:
		return "VMCALL with invalid VM-exit control fields";
	case VMXERR_VMCALL_INCORRECT_MSEG_REVISION_ID:
		return "VMCALL with incorrect MSEG revision identifier";
	case VMXERR_VMXOFF_UNDER_DUAL_MONITOR_TREATMENT_OF_SMIS_AND_SMM:
		return "VMXOFF under dual-monitor treatment of SMIs and SMM";
	case VMXERR_VMCALL_INVALID_SMM_MONITOR_FEATURES:
		return "VMCALL with invalid SMM-monitor features";
	case VMXERR_ENTRY_INVALID_VM_EXECUTION_CONTROL_FIELDS_IN_EXECUTIVE_VMCS:
		return "VM entry with invalid VM-execution control fields in "
		       "executive VMCS";
	case VMXERR_ENTRY_EVENTS_BLOCKED_BY_MOV_SS:
		return "VM entry with events blocked by MOV SS";
	case VMXERR_INVALID_OPERAND_TO_INVEPT_INVVPID:
		return "invalid operand to INVEPT/INVVPID";
	default:
		return "reserved";
	}
}

#endif /* NESTVM_ARCH_VMX_INSN_ERRORS_H */
