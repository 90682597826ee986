/* SPDX-License-Identifier: MIT */
/*
 * vmx_exit_info.h - what each VMX basic exit reason carries: an exit
 * qualification, a meaningful instruction length, instruction information,
 * and whether it is trap-like (SDM Vol. 3C 28.2.1-28.2.5, Appendix C). Exit
 * reason numbers and names are the kernel's uapi <asm/vmx.h>; the SDM
 * reasons that Linux 6.1's copy lacks are added below, each only if the
 * installed header does not define it. Shared by all sides; the table and
 * vmx_exit_reason_name() are host only (arch/vmx_tables.c).
 */
#ifndef NESTVM_ARCH_VMX_EXIT_INFO_H
#define NESTVM_ARCH_VMX_EXIT_INFO_H

#include <asm/vmx.h>

#include "arch/types.h"

/*
 * Basic exit reasons of SDM Appendix C missing from uapi <asm/vmx.h> in
 * Linux 6.1. Names follow the kernel's where a later kernel has one
 * (SEAMCALL, TDCALL, MSR_READ_IMM, MSR_WRITE_IMM), otherwise the SDM's
 * wording in the same style. 80, 81, 84 and 85 come from the ISE reference
 * (URDMSR/UWRMSR, RDMSR/WRMSRNS with an immediate operand).
 */
#ifndef EXIT_REASON_IO_SMI
#define EXIT_REASON_IO_SMI 5 /* SMI right after an I/O instruction */
#endif
#ifndef EXIT_REASON_OTHER_SMI
#define EXIT_REASON_OTHER_SMI 6
#endif
#ifndef EXIT_REASON_GETSEC
#define EXIT_REASON_GETSEC 11
#endif
#ifndef EXIT_REASON_RSM
#define EXIT_REASON_RSM 17
#endif
#ifndef EXIT_REASON_PCONFIG
#define EXIT_REASON_PCONFIG 65
#endif
#ifndef EXIT_REASON_SPP
#define EXIT_REASON_SPP 66 /* SPP-related event */
#endif
#ifndef EXIT_REASON_LOADIWKEY
#define EXIT_REASON_LOADIWKEY 69
#endif
#ifndef EXIT_REASON_ENCLV
#define EXIT_REASON_ENCLV 70
#endif
#ifndef EXIT_REASON_ENQCMD_PASID_FAIL
#define EXIT_REASON_ENQCMD_PASID_FAIL 72 /* PASID translation failure */
#endif
#ifndef EXIT_REASON_ENQCMDS_PASID_FAIL
#define EXIT_REASON_ENQCMDS_PASID_FAIL 73
#endif
#ifndef EXIT_REASON_SEAMCALL
#define EXIT_REASON_SEAMCALL 76
#endif
#ifndef EXIT_REASON_TDCALL
#define EXIT_REASON_TDCALL 77
#endif
#ifndef EXIT_REASON_RDMSRLIST
#define EXIT_REASON_RDMSRLIST 78
#endif
#ifndef EXIT_REASON_WRMSRLIST
#define EXIT_REASON_WRMSRLIST 79
#endif
#ifndef EXIT_REASON_URDMSR
#define EXIT_REASON_URDMSR 80
#endif
#ifndef EXIT_REASON_UWRMSR
#define EXIT_REASON_UWRMSR 81
#endif
#ifndef EXIT_REASON_MSR_READ_IMM
#define EXIT_REASON_MSR_READ_IMM 84
#endif
#ifndef EXIT_REASON_MSR_WRITE_IMM
#define EXIT_REASON_MSR_WRITE_IMM 85
#endif

/* Basic exit reasons are below this (the table's size). */
#define VMX_NR_EXIT_REASONS 86u

/*
 * Exit reason format (SDM 25.9.1): bits 15:0 basic exit reason, bit 26
 * bus lock detected, bit 27 exit from enclave mode, bit 28 pending MTF,
 * bit 29 exit from VMX root operation (SMM), bit 31 VM-entry failure.
 */
#define VMX_EXIT_REASON_BASIC_MASK 0xffffu

static inline uint32_t vmx_exit_reason_basic(uint32_t exit_reason)
{
	return exit_reason & VMX_EXIT_REASON_BASIC_MASK;
}

/*
 * Per-reason flags:
 *   KNOWN      the SDM defines the reason (everything else is reserved)
 *   QUAL       the exit qualification is defined for this reason, for all
 *              or some of its occurrences (SDM 28.2.1, 27.8); otherwise
 *              the field is cleared
 *   INSN_LEN   the VM-exit instruction length can be meaningful: exits
 *              caused by executing an instruction, and those that may
 *              happen while delivering a software interrupt or exception
 *              (SDM 28.2.5)
 *   INSN_INFO  the VM-exit instruction-information field is written
 *              (SDM 28.2.5; for I/O, only for INS/OUTS when
 *              IA32_VMX_BASIC[54] is 1)
 *   TRAP       trap-like: the exit follows the completed instruction, RIP
 *              already points past it (TPR below threshold, virtualized
 *              EOI, APIC write, bus lock); the others are fault-like or
 *              are not tied to an instruction
 *   ENTRY_FAIL a VM-entry failure: reported with exit reason bit 31 set
 *              (SDM 27.8)
 */
#define VMX_EXIT_F_KNOWN (1u << 0)
#define VMX_EXIT_F_QUAL (1u << 1)
#define VMX_EXIT_F_INSN_LEN (1u << 2)
#define VMX_EXIT_F_INSN_INFO (1u << 3)
#define VMX_EXIT_F_TRAP (1u << 4)
#define VMX_EXIT_F_ENTRY_FAIL (1u << 5)

struct vmx_exit_info {
	uint8_t flags; /* VMX_EXIT_F_* */
};

/* Host only: indexed by basic exit reason, designated initializers. */
extern const struct vmx_exit_info vmx_exit_info_table[VMX_NR_EXIT_REASONS];

/* Flags of a basic exit reason; 0 for a reserved or out-of-range one. */
uint32_t vmx_exit_reason_flags(uint32_t basic_reason);

/*
 * Name of a basic exit reason as uapi <asm/vmx.h> spells it ("CPUID",
 * "EPT_VIOLATION"), or as the additions above do ("GETSEC"); NULL for a
 * reserved or unknown reason. Bits 31:16 of the argument are ignored, so a
 * whole exit-reason field may be passed.
 */
const char *vmx_exit_reason_name(uint32_t exit_reason);

#endif
