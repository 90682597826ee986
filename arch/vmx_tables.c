// SPDX-License-Identifier: MIT
/*
 * vmx_tables.c - host-side tables generated from arch/vmcs_fields.def and
 * arch/vmx_ctrls.def (field names and classes, the vmcs12 offset table,
 * control-bit names) and the per-exit-reason metadata (SDM Vol. 3C
 * 28.2.1-28.2.5, Appendix C), with their lookups. Monitor and model side;
 * nothing here allocates or prints.
 */
#include <stddef.h>

#include "arch/vmcs.h"
#include "arch/vmcs12.h"
#include "arch/vmx_exit_info.h"

/* ---- VMCS fields ----------------------------------------------------------- */

const struct vmcs_field_desc vmcs_field_table[VMCS_NR_FIELDS] = {
#define VMCS_FIELD(fname, enc, member, sync_class, shadow_class) \
	[VMCS_ID_##fname] = {                                    \
		.name = #fname,                                  \
		.encoding = (enc),                               \
		.sync = VMCS_SYNC_##sync_class,                  \
		.shadow = VMCS_SHADOW_##shadow_class,            \
	},
#include "arch/vmcs_fields.def"
#undef VMCS_FIELD
};

/* Names of the high halves; NULL for fields that are not 64 bits wide. */
static const char *const vmcs_field_high_names[VMCS_NR_FIELDS] = {
#define VMCS_FIELDS_WIDTH VMCS_WIDTH_64
#define VMCS_FIELD(name, enc, member, sync, shadow) \
	[VMCS_ID_##name] = #name "_HIGH",
#include "arch/vmcs_fields.def"
#undef VMCS_FIELD
#undef VMCS_FIELDS_WIDTH
};

const struct vmcs12_field_loc vmcs12_field_locs[VMCS_NR_FIELDS] = {
#define VMCS_FIELD VMCS12_FIELD_LOC
#include "arch/vmcs_fields.def"
#undef VMCS_FIELD
};

/*
 * Encoding -> field id + 1 (0: no such field), by the direct index of
 * arch/vmcs12.h's VMCS12_ENC_SLOT(): the model looks fields up on every
 * VMREAD and VMWRITE and for each field a VM entry or exit moves, so a
 * search would dominate a nested run.
 */
static const int16_t vmcs_field_slots[VMCS12_NR_SLOTS] = {
#define VMCS_FIELD(fname, enc, member, sync_class, shadow_class) \
	[VMCS12_ENC_SLOT(enc)] = VMCS_ID_##fname + 1,
#include "arch/vmcs_fields.def"
#undef VMCS_FIELD
};

const struct vmcs12_field_loc vmcs12_slot_locs[VMCS12_NR_SLOTS] = {
#define VMCS_FIELD(fname, enc, member, sync_class, shadow_class) \
	[VMCS12_ENC_SLOT(enc)] = {                               \
		.offset = offsetof(struct vmcs12, member),       \
		.width = VMCS12_MEMBER_SIZE(member),             \
	},
#include "arch/vmcs_fields.def"
#undef VMCS_FIELD
};

static int vmcs_field_find(uint32_t enc)
{
	return vmcs_field_slots[VMCS12_ENC_SLOT(enc)] - 1;
}

int vmcs_field_lookup(uint32_t enc)
{
	int id;

	if (enc & VMCS_ENC_RESERVED_MASK)
		return -1;
	id = vmcs_field_find(enc & ~VMCS_ENC_HIGH);
	if (id < 0)
		return -1;
	/* SDM 25.11.2: access type 1 (high) exists for 64-bit fields only. */
	if (vmcs_field_is_high(enc) &&
	    VMCS_ENC_WIDTH_CODE(enc) != VMCS_WIDTH_64)
		return -1;
	return id;
}

const char *vmcs_field_name(uint32_t enc)
{
	int id = vmcs_field_lookup(enc);

	if (id < 0)
		return NULL;
	if (vmcs_field_is_high(enc))
		return vmcs_field_high_names[id];
	return vmcs_field_table[id].name;
}

/* ---- control bits ---------------------------------------------------------- */

/* Stringizes the constant's name after VMX_CTRL_CONST_* has formed it. */
#define VMX_CTRL_STR_(s) #s
#define VMX_CTRL_STR(s) VMX_CTRL_STR_(s)

/* A duplicate bit within a group is a duplicate initializer: -Woverride-init. */
static const char *const vmx_ctrl_names[VMX_NR_CTRL_GROUPS][64] = {
#define VMX_CTRL(group, name, bit)      \
	[VMX_CTRL_GROUP_##group][bit] = \
		VMX_CTRL_STR(VMX_CTRL_CONST_##group(name)),
#include "arch/vmx_ctrls.def"
#undef VMX_CTRL
};

const char *vmx_ctrl_name(enum vmx_ctrl_group group, unsigned int bit)
{
	if (group >= VMX_NR_CTRL_GROUPS || bit >= vmx_ctrl_group_bits(group))
		return NULL;
	return vmx_ctrl_names[group][bit];
}

/* ---- exit reasons ----------------------------------------------------------- */

#define Q VMX_EXIT_F_QUAL
#define L VMX_EXIT_F_INSN_LEN
#define I VMX_EXIT_F_INSN_INFO
#define T VMX_EXIT_F_TRAP
#define F VMX_EXIT_F_ENTRY_FAIL
#define EXIT(f)                                 \
	{                                       \
		.flags = VMX_EXIT_F_KNOWN | (f) \
	}

/*
 * SDM 28.2.1 lists the exits that save an exit qualification, 28.2.5 those
 * that save an instruction length and instruction information. Reasons
 * 35, 38, 42, 71, 82 and 83 are not defined.
 */
const struct vmx_exit_info vmx_exit_info_table[VMX_NR_EXIT_REASONS] = {
	/* #DB and #PF have a qualification; INT3, INTO and INT1 a length */
	[EXIT_REASON_EXCEPTION_NMI] = EXIT(Q | L),
	[EXIT_REASON_EXTERNAL_INTERRUPT] = EXIT(0),
	[EXIT_REASON_TRIPLE_FAULT] = EXIT(0),
	[EXIT_REASON_INIT_SIGNAL] = EXIT(0),
	[EXIT_REASON_SIPI_SIGNAL] = EXIT(Q), /* the SIPI vector */
	[EXIT_REASON_IO_SMI] = EXIT(Q), /* as for an I/O instruction */
	[EXIT_REASON_OTHER_SMI] = EXIT(0),
	[EXIT_REASON_INTERRUPT_WINDOW] = EXIT(0),
	[EXIT_REASON_NMI_WINDOW] = EXIT(0),
	[EXIT_REASON_TASK_SWITCH] = EXIT(Q | L), /* L: CALL/JMP/IRET/INT n */
	[EXIT_REASON_CPUID] = EXIT(L),
	[EXIT_REASON_GETSEC] = EXIT(L),
	[EXIT_REASON_HLT] = EXIT(L),
	[EXIT_REASON_INVD] = EXIT(L),
	[EXIT_REASON_INVLPG] = EXIT(Q | L), /* the linear address */
	[EXIT_REASON_RDPMC] = EXIT(L),
	[EXIT_REASON_RDTSC] = EXIT(L),
	[EXIT_REASON_RSM] = EXIT(L),
	[EXIT_REASON_VMCALL] = EXIT(L),
	/* VMX instructions with a memory or register operand: displacement */
	[EXIT_REASON_VMCLEAR] = EXIT(Q | L | I),
	[EXIT_REASON_VMLAUNCH] = EXIT(L),
	[EXIT_REASON_VMPTRLD] = EXIT(Q | L | I),
	[EXIT_REASON_VMPTRST] = EXIT(Q | L | I),
	[EXIT_REASON_VMREAD] = EXIT(Q | L | I),
	[EXIT_REASON_VMRESUME] = EXIT(L),
	[EXIT_REASON_VMWRITE] = EXIT(Q | L | I),
	[EXIT_REASON_VMOFF] = EXIT(L),
	[EXIT_REASON_VMON] = EXIT(Q | L | I),
	[EXIT_REASON_CR_ACCESS] = EXIT(Q | L),
	[EXIT_REASON_DR_ACCESS] = EXIT(Q | L),
	[EXIT_REASON_IO_INSTRUCTION] = EXIT(Q | L | I),
	[EXIT_REASON_MSR_READ] = EXIT(L),
	/* qualification 1 tells WRMSRNS from WRMSR (0) */
	[EXIT_REASON_MSR_WRITE] = EXIT(Q | L),
	/* the entry-failure code of SDM 27.8 */
	[EXIT_REASON_INVALID_STATE] = EXIT(Q | F),
	/* the 1-based index of the failing MSR-load entry */
	[EXIT_REASON_MSR_LOAD_FAIL] = EXIT(Q | F),
	[EXIT_REASON_MWAIT_INSTRUCTION] = EXIT(Q | L), /* monitor armed */
	[EXIT_REASON_MONITOR_TRAP_FLAG] = EXIT(0),
	[EXIT_REASON_MONITOR_INSTRUCTION] = EXIT(L),
	[EXIT_REASON_PAUSE_INSTRUCTION] = EXIT(L),
	[EXIT_REASON_MCE_DURING_VMENTRY] = EXIT(F),
	[EXIT_REASON_TPR_BELOW_THRESHOLD] = EXIT(T),
	/* L: when the access happened while delivering a software event */
	[EXIT_REASON_APIC_ACCESS] = EXIT(Q | L),
	[EXIT_REASON_EOI_INDUCED] = EXIT(Q | T), /* the vector */
	[EXIT_REASON_GDTR_IDTR] = EXIT(Q | L | I),
	[EXIT_REASON_LDTR_TR] = EXIT(Q | L | I),
	[EXIT_REASON_EPT_VIOLATION] = EXIT(Q | L),
	[EXIT_REASON_EPT_MISCONFIG] = EXIT(L),
	[EXIT_REASON_INVEPT] = EXIT(Q | L | I),
	[EXIT_REASON_RDTSCP] = EXIT(L),
	[EXIT_REASON_PREEMPTION_TIMER] = EXIT(0),
	[EXIT_REASON_INVVPID] = EXIT(Q | L | I),
	[EXIT_REASON_WBINVD] = EXIT(Q | L), /* 1 for WBNOINVD */
	[EXIT_REASON_XSETBV] = EXIT(L),
	[EXIT_REASON_APIC_WRITE] = EXIT(Q | T), /* the page offset */
	[EXIT_REASON_RDRAND] = EXIT(L | I),
	[EXIT_REASON_INVPCID] = EXIT(Q | L | I),
	[EXIT_REASON_VMFUNC] = EXIT(L),
	[EXIT_REASON_ENCLS] = EXIT(L),
	[EXIT_REASON_RDSEED] = EXIT(L | I),
	[EXIT_REASON_PML_FULL] = EXIT(Q | L),
	[EXIT_REASON_XSAVES] = EXIT(Q | L | I),
	[EXIT_REASON_XRSTORS] = EXIT(Q | L | I),
	[EXIT_REASON_PCONFIG] = EXIT(L),
	[EXIT_REASON_SPP] = EXIT(Q | L),
	[EXIT_REASON_UMWAIT] = EXIT(L | I),
	[EXIT_REASON_TPAUSE] = EXIT(L | I),
	[EXIT_REASON_LOADIWKEY] = EXIT(L | I),
	[EXIT_REASON_ENCLV] = EXIT(L),
	[EXIT_REASON_ENQCMD_PASID_FAIL] = EXIT(L),
	[EXIT_REASON_ENQCMDS_PASID_FAIL] = EXIT(L),
	[EXIT_REASON_BUS_LOCK] = EXIT(T),
	/* instruction timeout: context invalid, NMI unblocking */
	[EXIT_REASON_NOTIFY] = EXIT(Q),
	[EXIT_REASON_SEAMCALL] = EXIT(L),
	[EXIT_REASON_TDCALL] = EXIT(L),
	[EXIT_REASON_RDMSRLIST] = EXIT(Q | L), /* the MSR index */
	[EXIT_REASON_WRMSRLIST] = EXIT(Q | L),
	[EXIT_REASON_URDMSR] = EXIT(L),
	[EXIT_REASON_UWRMSR] = EXIT(L),
	/* qualification: the MSR index; information: the register */
	[EXIT_REASON_MSR_READ_IMM] = EXIT(Q | L | I),
	[EXIT_REASON_MSR_WRITE_IMM] = EXIT(Q | L | I),
};

#undef EXIT
#undef F
#undef T
#undef I
#undef L
#undef Q

uint32_t vmx_exit_reason_flags(uint32_t basic_reason)
{
	if (basic_reason >= VMX_NR_EXIT_REASONS)
		return 0;
	return vmx_exit_info_table[basic_reason].flags;
}

struct vmx_exit_reason_name {
	uint32_t reason;
	const char *name;
};

/* The kernel's list, as it is; an entry per reason it knows. */
static const struct vmx_exit_reason_name vmx_uapi_reason_names[] = {
	VMX_EXIT_REASONS
};

/* Our additions; looked up only after the kernel's list. */
static const struct vmx_exit_reason_name vmx_local_reason_names[] = {
	{ EXIT_REASON_IO_SMI, "IO_SMI" },
	{ EXIT_REASON_OTHER_SMI, "OTHER_SMI" },
	{ EXIT_REASON_GETSEC, "GETSEC" },
	{ EXIT_REASON_RSM, "RSM" },
	{ EXIT_REASON_PCONFIG, "PCONFIG" },
	{ EXIT_REASON_SPP, "SPP" },
	{ EXIT_REASON_LOADIWKEY, "LOADIWKEY" },
	{ EXIT_REASON_ENCLV, "ENCLV" },
	{ EXIT_REASON_ENQCMD_PASID_FAIL, "ENQCMD_PASID_FAIL" },
	{ EXIT_REASON_ENQCMDS_PASID_FAIL, "ENQCMDS_PASID_FAIL" },
	{ EXIT_REASON_SEAMCALL, "SEAMCALL" },
	{ EXIT_REASON_TDCALL, "TDCALL" },
	{ EXIT_REASON_RDMSRLIST, "RDMSRLIST" },
	{ EXIT_REASON_WRMSRLIST, "WRMSRLIST" },
	{ EXIT_REASON_URDMSR, "URDMSR" },
	{ EXIT_REASON_UWRMSR, "UWRMSR" },
	{ EXIT_REASON_MSR_READ_IMM, "MSR_READ_IMM" },
	{ EXIT_REASON_MSR_WRITE_IMM, "MSR_WRITE_IMM" },
};

static const char *vmx_reason_name_find(const struct vmx_exit_reason_name *t,
					size_t n, uint32_t reason)
{
	for (size_t i = 0; i < n; i++) {
		if (t[i].reason == reason)
			return t[i].name;
	}
	return NULL;
}

const char *vmx_exit_reason_name(uint32_t exit_reason)
{
	uint32_t basic = vmx_exit_reason_basic(exit_reason);
	const char *name;

	name = vmx_reason_name_find(vmx_uapi_reason_names,
				    ARRAY_SIZE(vmx_uapi_reason_names), basic);
	if (name)
		return name;
	return vmx_reason_name_find(vmx_local_reason_names,
				    ARRAY_SIZE(vmx_local_reason_names), basic);
}
