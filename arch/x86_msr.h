/* SPDX-License-Identifier: MIT */
/*
 * MSR numbers, with the Linux kernel's msr-index.h names, and the layouts
 * of the MSRs the model and the monitor interpret: IA32_APIC_BASE,
 * IA32_FEATURE_CONTROL, IA32_MISC_ENABLE, IA32_DEBUGCTL, IA32_VMX_BASIC and
 * IA32_VMX_MISC. SDM Vol. 4 (Table 2-2), Vol. 3 Appendix A.1 and A.6.
 * Shared by the model, the monitor and freestanding guests.
 */
#ifndef NESTVM_ARCH_X86_MSR_H
#define NESTVM_ARCH_X86_MSR_H

#include <stdbool.h>
#include <stdint.h>

/* ---- Architectural MSRs (SDM Vol. 4, Table 2-2) ------------------------- */

#define MSR_IA32_P5_MC_ADDR 0x00000000
#define MSR_IA32_P5_MC_TYPE 0x00000001
#define MSR_IA32_TSC 0x00000010
#define MSR_IA32_PLATFORM_ID 0x00000017
#define MSR_IA32_APICBASE 0x0000001b
#define MSR_IA32_FEAT_CTL 0x0000003a
#define MSR_IA32_FEATURE_CONTROL MSR_IA32_FEAT_CTL /* older kernel name */
#define MSR_IA32_TSC_ADJUST 0x0000003b
#define MSR_IA32_SPEC_CTRL 0x00000048
#define MSR_IA32_PRED_CMD 0x00000049
#define MSR_IA32_UCODE_WRITE 0x00000079
#define MSR_IA32_UCODE_REV 0x0000008b
#define MSR_IA32_SMBASE 0x0000009e
#define MSR_IA32_PERFCTR0 0x000000c1
#define MSR_IA32_PERFCTR1 0x000000c2
#define MSR_IA32_UMWAIT_CONTROL 0x000000e1
#define MSR_IA32_MPERF 0x000000e7
#define MSR_IA32_APERF 0x000000e8
#define MSR_MTRRcap 0x000000fe
#define MSR_IA32_ARCH_CAPABILITIES 0x0000010a
#define MSR_IA32_FLUSH_CMD 0x0000010b
#define MSR_IA32_SYSENTER_CS 0x00000174
#define MSR_IA32_SYSENTER_ESP 0x00000175
#define MSR_IA32_SYSENTER_EIP 0x00000176
#define MSR_IA32_MCG_CAP 0x00000179
#define MSR_IA32_MCG_STATUS 0x0000017a
#define MSR_IA32_MCG_CTL 0x0000017b
#define MSR_P6_EVNTSEL0 0x00000186
#define MSR_P6_EVNTSEL1 0x00000187
#define MSR_IA32_PERF_STATUS 0x00000198
#define MSR_IA32_PERF_CTL 0x00000199
#define MSR_IA32_MISC_ENABLE 0x000001a0
#define MSR_IA32_FRED_RSP0 0x000001cc
#define MSR_IA32_FRED_RSP1 0x000001cd
#define MSR_IA32_FRED_RSP2 0x000001ce
#define MSR_IA32_FRED_RSP3 0x000001cf
#define MSR_IA32_FRED_STKLVLS 0x000001d0
#define MSR_IA32_FRED_SSP1 0x000001d1
#define MSR_IA32_FRED_SSP2 0x000001d2
#define MSR_IA32_FRED_SSP3 0x000001d3
#define MSR_IA32_FRED_CONFIG 0x000001d4
#define MSR_IA32_DEBUGCTLMSR 0x000001d9
#define MSR_IA32_LASTBRANCHFROMIP 0x000001db
#define MSR_IA32_LASTBRANCHTOIP 0x000001dc
#define MSR_IA32_LASTINTFROMIP 0x000001dd
#define MSR_IA32_LASTINTTOIP 0x000001de
#define MSR_MTRRfix64K_00000 0x00000250
#define MSR_MTRRfix16K_80000 0x00000258
#define MSR_MTRRfix16K_A0000 0x00000259
#define MSR_IA32_CR_PAT 0x00000277
#define MSR_MTRRdefType 0x000002ff
#define MSR_CORE_PERF_FIXED_CTR0 0x00000309
#define MSR_CORE_PERF_FIXED_CTR1 0x0000030a
#define MSR_CORE_PERF_FIXED_CTR2 0x0000030b
#define MSR_IA32_PERF_CAPABILITIES 0x00000345
#define MSR_CORE_PERF_FIXED_CTR_CTRL 0x0000038d
#define MSR_CORE_PERF_GLOBAL_STATUS 0x0000038e
#define MSR_CORE_PERF_GLOBAL_CTRL 0x0000038f
#define MSR_CORE_PERF_GLOBAL_OVF_CTRL 0x00000390
/* SDM names for the same two MSRs (IA32_PERF_GLOBAL_*). */
#define MSR_IA32_PERF_GLOBAL_STATUS MSR_CORE_PERF_GLOBAL_STATUS
#define MSR_IA32_PERF_GLOBAL_CTRL MSR_CORE_PERF_GLOBAL_CTRL
#define MSR_IA32_MC0_CTL 0x00000400
#define MSR_IA32_RTIT_CTL 0x00000570
#define MSR_IA32_U_CET 0x000006a0
#define MSR_IA32_S_CET 0x000006a2
#define MSR_IA32_PL0_SSP 0x000006a4
#define MSR_IA32_PL1_SSP 0x000006a5
#define MSR_IA32_PL2_SSP 0x000006a6
#define MSR_IA32_PL3_SSP 0x000006a7
#define MSR_IA32_INT_SSP_TAB 0x000006a8
#define MSR_IA32_TSC_DEADLINE 0x000006e0
#define MSR_IA32_PKRS 0x000006e1
#define MSR_IA32_BNDCFGS 0x00000d90
#define MSR_IA32_XSS 0x00000da0

/* MTRRs: variable range n (n < IA32_MTRRCAP.VCNT). */
#define MSR_MTRRphysBase(n) (0x00000200 + 2 * (n))
#define MSR_MTRRphysMask(n) (0x00000200 + 2 * (n) + 1)

/*
 * x2APIC registers: MSR 0x800 + (xAPIC MMIO offset >> 4) (SDM Vol. 3A,
 * "x2APIC Register Address Space").
 */
#define APIC_BASE_MSR 0x00000800
#define X2APIC_MSR_FIRST 0x00000800
#define X2APIC_MSR_LAST 0x000008ff
#define X2APIC_MSR(mmio_offset) (APIC_BASE_MSR + ((mmio_offset) >> 4))
#define MSR_IA32_X2APIC_APICID 0x00000802
#define MSR_IA32_X2APIC_VERSION 0x00000803
#define MSR_IA32_X2APIC_TPR 0x00000808
#define MSR_IA32_X2APIC_PPR 0x0000080a
#define MSR_IA32_X2APIC_EOI 0x0000080b
#define MSR_IA32_X2APIC_LDR 0x0000080d
#define MSR_IA32_X2APIC_SIVR 0x0000080f
#define MSR_IA32_X2APIC_ISR0 0x00000810
#define MSR_IA32_X2APIC_TMR0 0x00000818
#define MSR_IA32_X2APIC_IRR0 0x00000820
#define MSR_IA32_X2APIC_ESR 0x00000828
#define MSR_IA32_X2APIC_ICR 0x00000830
#define MSR_IA32_X2APIC_LVT_TIMER 0x00000832
#define MSR_IA32_X2APIC_TMICT 0x00000838
#define MSR_IA32_X2APIC_TMCCT 0x00000839
#define MSR_IA32_X2APIC_TDCR 0x0000083e
#define MSR_IA32_X2APIC_SELF_IPI 0x0000083f

/* ---- AMD64 / SYSCALL MSRs (SDM Vol. 4 Table 2-2, "IA32_EFER" onward) ---- */

#define MSR_EFER 0xc0000080
#define MSR_STAR 0xc0000081
#define MSR_LSTAR 0xc0000082
#define MSR_CSTAR 0xc0000083
#define MSR_SYSCALL_MASK 0xc0000084
#define MSR_FS_BASE 0xc0000100
#define MSR_GS_BASE 0xc0000101
#define MSR_KERNEL_GS_BASE 0xc0000102
#define MSR_TSC_AUX 0xc0000103

/* ---- VMX capability MSRs (SDM Vol. 3 Appendix A) ------------------------ */

#define MSR_IA32_VMX_BASIC 0x00000480
#define MSR_IA32_VMX_PINBASED_CTLS 0x00000481
#define MSR_IA32_VMX_PROCBASED_CTLS 0x00000482
#define MSR_IA32_VMX_EXIT_CTLS 0x00000483
#define MSR_IA32_VMX_ENTRY_CTLS 0x00000484
#define MSR_IA32_VMX_MISC 0x00000485
#define MSR_IA32_VMX_CR0_FIXED0 0x00000486
#define MSR_IA32_VMX_CR0_FIXED1 0x00000487
#define MSR_IA32_VMX_CR4_FIXED0 0x00000488
#define MSR_IA32_VMX_CR4_FIXED1 0x00000489
#define MSR_IA32_VMX_VMCS_ENUM 0x0000048a
#define MSR_IA32_VMX_PROCBASED_CTLS2 0x0000048b
#define MSR_IA32_VMX_EPT_VPID_CAP 0x0000048c
#define MSR_IA32_VMX_TRUE_PINBASED_CTLS 0x0000048d
#define MSR_IA32_VMX_TRUE_PROCBASED_CTLS 0x0000048e
#define MSR_IA32_VMX_TRUE_EXIT_CTLS 0x0000048f
#define MSR_IA32_VMX_TRUE_ENTRY_CTLS 0x00000490
#define MSR_IA32_VMX_VMFUNC 0x00000491
#define MSR_IA32_VMX_PROCBASED_CTLS3 0x00000492
#define MSR_IA32_VMX_EXIT_CTLS2 0x00000493

#define MSR_IA32_VMX_FIRST MSR_IA32_VMX_BASIC
#define MSR_IA32_VMX_LAST MSR_IA32_VMX_EXIT_CTLS2

static inline bool x86_msr_is_vmx_cap(uint32_t msr)
{
	return msr >= MSR_IA32_VMX_FIRST && msr <= MSR_IA32_VMX_LAST;
}

/* ---- IA32_APIC_BASE (SDM Vol. 3A, "Local APIC Status and Location") -----
 *
 *  bit    meaning
 *  8      BSP: this is the bootstrap processor (read-only)
 *  10     x2APIC mode enable (EXTD)
 *  11     APIC global enable
 *  51:12  APIC base physical address (default 0xfee00000)
 */
#define MSR_IA32_APICBASE_BSP (1ull << 8)
#define X2APIC_ENABLE (1ull << 10)
#define MSR_IA32_APICBASE_ENABLE (1ull << 11)
#define MSR_IA32_APICBASE_BASE 0x000ffffffffff000ull
#define APIC_DEFAULT_PHYS_BASE 0xfee00000ull

/* ---- IA32_FEATURE_CONTROL (SDM Vol. 3C 24.7, "Enabling and Entering VMX
 * Operation"; Vol. 4) --------------------------------------------------------
 *
 *  bit  meaning
 *  0    lock: once set, WRMSR #GPs until RESET
 *  1    VMXON allowed inside SMX operation
 *  2    VMXON allowed outside SMX operation
 *  17   SGX launch control enable
 *  18   SGX global enable
 *  20   LMCE on
 *
 * VMXON #GPs unless bit 0 and the bit for the current SMX state are set.
 */
#define FEAT_CTL_LOCKED (1ull << 0)
#define FEAT_CTL_VMX_ENABLED_INSIDE_SMX (1ull << 1)
#define FEAT_CTL_VMX_ENABLED_OUTSIDE_SMX (1ull << 2)
#define FEAT_CTL_SGX_LC_ENABLED (1ull << 17)
#define FEAT_CTL_SGX_ENABLED (1ull << 18)
#define FEAT_CTL_LMCE_ENABLED (1ull << 20)

/* ---- IA32_MISC_ENABLE (SDM Vol. 4 Table 2-2) ---------------------------- */

#define MSR_IA32_MISC_ENABLE_FAST_STRING (1ull << 0)
#define MSR_IA32_MISC_ENABLE_PERF_AVAIL (1ull << 7)
#define MSR_IA32_MISC_ENABLE_BTS_UNAVAIL (1ull << 11)
#define MSR_IA32_MISC_ENABLE_PEBS_UNAVAIL (1ull << 12)
#define MSR_IA32_MISC_ENABLE_ENHANCED_SPEEDSTEP (1ull << 16)
#define MSR_IA32_MISC_ENABLE_MWAIT (1ull << 18)
#define MSR_IA32_MISC_ENABLE_LIMIT_CPUID (1ull << 22)
#define MSR_IA32_MISC_ENABLE_XTPR_DISABLE (1ull << 23)
#define MSR_IA32_MISC_ENABLE_XD_DISABLE (1ull << 34)

/* ---- IA32_DEBUGCTL (SDM Vol. 3B, "IA32_DEBUGCTL MSR") ------------------- */

#define DEBUGCTLMSR_LBR (1ull << 0)
#define DEBUGCTLMSR_BTF (1ull << 1)
#define DEBUGCTLMSR_BUS_LOCK_DETECT (1ull << 2)
#define DEBUGCTLMSR_TR (1ull << 6)
#define DEBUGCTLMSR_BTS (1ull << 7)
#define DEBUGCTLMSR_BTINT (1ull << 8)
#define DEBUGCTLMSR_BTS_OFF_OS (1ull << 9)
#define DEBUGCTLMSR_BTS_OFF_USR (1ull << 10)
#define DEBUGCTLMSR_FREEZE_LBRS_ON_PMI (1ull << 11)
#define DEBUGCTLMSR_FREEZE_PERFMON_ON_PMI (1ull << 12)
#define DEBUGCTLMSR_FREEZE_IN_SMM (1ull << 14)
#define DEBUGCTLMSR_RTM_DEBUG (1ull << 15)

/* ---- IA32_VMX_BASIC (SDM Vol. 3 Appendix A.1) ---------------------------
 *
 *  bits   meaning
 *  30:0   VMCS revision identifier
 *  31     0
 *  44:32  bytes to allocate for the VMXON region and a VMCS (at most 4096)
 *  48     1 = VMXON/VMCS/bitmap addresses limited to 32 bits
 *  49     dual-monitor treatment of SMI and SMM supported
 *  53:50  memory type for VMCS accesses (6 = WB)
 *  54     VM exits due to INS/OUTS report instruction information
 *  55     the IA32_VMX_TRUE_*_CTLS MSRs exist (default-1 controls may be 0)
 *  56     VM entry may deliver hardware exceptions with or without an
 *         error code, whatever the vector
 */
#define VMX_BASIC_REVISION_MASK 0x000000007fffffffull
#define VMX_BASIC_VMCS_SIZE_SHIFT 32
#define VMX_BASIC_VMCS_SIZE_MASK (0x1fffull << VMX_BASIC_VMCS_SIZE_SHIFT)
#define VMX_BASIC_32BIT_PHYS_ADDR_ONLY (1ull << 48)
#define VMX_BASIC_DUAL_MONITOR_TREATMENT (1ull << 49)
#define VMX_BASIC_MEM_TYPE_SHIFT 50
#define VMX_BASIC_MEM_TYPE_MASK (0xfull << VMX_BASIC_MEM_TYPE_SHIFT)
#define VMX_BASIC_MEM_TYPE_WB 6ull
#define VMX_BASIC_INOUT (1ull << 54)
#define VMX_BASIC_TRUE_CTLS (1ull << 55)
#define VMX_BASIC_NO_HW_ERROR_CODE_CC (1ull << 56)

static inline uint32_t vmx_basic_get_revision(uint64_t basic)
{
	return (uint32_t)(basic & VMX_BASIC_REVISION_MASK);
}

static inline uint32_t vmx_basic_get_vmcs_size(uint64_t basic)
{
	return (uint32_t)((basic & VMX_BASIC_VMCS_SIZE_MASK) >>
			  VMX_BASIC_VMCS_SIZE_SHIFT);
}

static inline unsigned int vmx_basic_get_mem_type(uint64_t basic)
{
	return (unsigned int)((basic & VMX_BASIC_MEM_TYPE_MASK) >>
			      VMX_BASIC_MEM_TYPE_SHIFT);
}

/* ---- IA32_VMX_MISC (SDM Vol. 3 Appendix A.6) ----------------------------
 *
 *  bits   meaning
 *  4:0    the preemption timer counts down by 1 every 2^X TSC ticks
 *  5      VM exits store EFER.LMA in the "IA-32e mode guest" entry control
 *  8:6    activity states supported: 6 HLT, 7 shutdown, 8 wait-for-SIPI
 *  14     Intel PT may be used in VMX operation
 *  15     RDMSR of IA32_SMBASE allowed in SMM
 *  24:16  number of CR3-target values supported
 *  27:25  recommended maximum MSR-list entries: 512 * (N + 1)
 *  28     SMM monitor control bit 2 (block SMIs after VMXOFF) supported
 *  29     VMWRITE may write any field, VM-exit information fields included
 *  30     zero-length instructions may be injected (soft int/exception)
 *  63:32  MSEG revision identifier
 */
#define VMX_MISC_PREEMPTION_TIMER_RATE_MASK 0x000000000000001full
#define VMX_MISC_SAVE_EFER_LMA (1ull << 5)
#define VMX_MISC_ACTIVITY_HLT (1ull << 6)
#define VMX_MISC_ACTIVITY_SHUTDOWN (1ull << 7)
#define VMX_MISC_ACTIVITY_WAIT_SIPI (1ull << 8)
#define VMX_MISC_ACTIVITY_STATES_MASK 0x00000000000001c0ull
#define VMX_MISC_INTEL_PT (1ull << 14)
#define VMX_MISC_RDMSR_IN_SMM (1ull << 15)
#define VMX_MISC_CR3_COUNT_SHIFT 16
#define VMX_MISC_CR3_COUNT_MASK (0x1ffull << VMX_MISC_CR3_COUNT_SHIFT)
#define VMX_MISC_MSR_LIST_SHIFT 25
#define VMX_MISC_MSR_LIST_MASK (0x7ull << VMX_MISC_MSR_LIST_SHIFT)
#define VMX_MISC_MSR_LIST_MULTIPLIER 512
#define VMX_MISC_VMXOFF_BLOCK_SMI (1ull << 28)
#define VMX_MISC_VMWRITE_SHADOW_RO_FIELDS (1ull << 29)
#define VMX_MISC_ZERO_LEN_INS (1ull << 30)
#define VMX_MISC_MSEG_ID_SHIFT 32

/* IA32_VMX_VMFUNC (SDM Appendix A.11): the VM functions that may be
 * enabled, one bit per VMFUNC leaf (EAX); bit 0 is EPTP switching. */
#define VMX_VMFUNC_EPTP_SWITCHING (1ull << 0)

static inline unsigned int vmx_misc_get_cr3_count(uint64_t misc)
{
	return (unsigned int)((misc & VMX_MISC_CR3_COUNT_MASK) >>
			      VMX_MISC_CR3_COUNT_SHIFT);
}

/* The recommended maximum number of entries in each VM-entry/exit MSR list. */
static inline unsigned int vmx_misc_get_max_msr_list(uint64_t misc)
{
	return VMX_MISC_MSR_LIST_MULTIPLIER *
	       (unsigned int)(((misc & VMX_MISC_MSR_LIST_MASK) >>
			       VMX_MISC_MSR_LIST_SHIFT) +
			      1);
}

/* ---- IA32_VMX_CR0/CR4_FIXED0/1 (SDM Vol. 3 Appendix A.7, A.8) -----------
 *
 * A bit set in FIXED0 must be 1 in VMX operation; a bit clear in FIXED1
 * must be 0. IA32_VMX_VMCS_ENUM bits 9:1 give the highest VMCS field index
 * (Appendix A.9).
 */
static inline bool vmx_cr_is_fixed_valid(uint64_t val, uint64_t fixed0,
					 uint64_t fixed1)
{
	return (val & fixed0) == fixed0 && (val & ~fixed1) == 0;
}

#define VMX_VMCS_ENUM_MAX_INDEX_SHIFT 1
#define VMX_VMCS_ENUM_MAX_INDEX_MASK 0x3feull

#endif /* NESTVM_ARCH_X86_MSR_H */
