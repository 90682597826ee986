/* SPDX-License-Identifier: MIT */
/*
 * vmx_real.c - "unrestricted guest" (SDM Vol. 3C 26.6, 27.2.1.1,
 * 27.3.1.1-27.3.1.2): a guest entered in real-address mode runs 16-bit
 * code through EPT and exits on CPUID and OUT with its real-mode state
 * saved; the entry checks that the control relaxes (CR0.PE = 0) and the
 * ones it adds (EPT required, PG needs PE, SS.DPL 0 in real mode). Guest
 * side (runs as a hypervisor on nestvm or Bochs).
 */
#include <asm/vmx.h>

#include "arch/vmcs.h"
#include "arch/vmx_exit_qual.h"
#include "arch/vmx_insn_errors.h"
#include "arch/x86_msr.h"
#include "arch/x86_regs.h"
#include "guests/rt/rt.h"
#include "tests/vmx/lib.h"

/* The real-mode guest, 16-bit code (objdump -mi8086 -M intel). */
/* 64-byte aligned: CS.selector = address >> 4 then has RPL 0. */
static const uint8_t real_code[16] __attribute__((aligned(64))) = {
	0xb0, 0x41, /* 0: mov al, 0x41 */
	0x0f, 0xa2, /* 2: cpuid */
	0xe6, 0x80, /* 4: out 0x80, al */
	0x0f, 0x01, 0xc1, /* 6: vmcall */
};

#define AR_CODE 0x9b /* present, S, execute/read accessed */
#define AR_DATA 0x93 /* present, S, read/write accessed */

static void real_seg(uint32_t sel_field, uint16_t sel, uint64_t base,
		     uint32_t ar)
{
	/* Selector, limit, access rights and base of one register are
	 * 0x4000, 0x4014 and 0x6006 apart (SDM Appendix B). */
	vmxt_wr(sel_field, sel);
	vmxt_wr(sel_field + 0x4000, 0xffff);
	vmxt_wr(sel_field + 0x4014, ar);
	vmxt_wr(sel_field + 0x6006, base);
}

/*
 * The baseline VMCS turned into a real-mode guest at real_code (CS base =
 * its address, IP 0): CR0.PE = PG = 0, not IA-32e, EFER 0, 64 KiB data
 * segments at 0, EPT on, unconditional I/O exiting, and "unrestricted
 * guest" when @ug.
 */
static void real_guest(bool ug)
{
	vmxt_vmcs_baseline();
	vmxt_ept_enable();
	if (ug)
		vmxt_set_bits(SECONDARY_VM_EXEC_CONTROL,
			      SECONDARY_EXEC_UNRESTRICTED_GUEST);
	vmxt_set_bits(CPU_BASED_VM_EXEC_CONTROL, CPU_BASED_UNCOND_IO_EXITING);
	vmxt_clear_bits(CPU_BASED_VM_EXEC_CONTROL, CPU_BASED_USE_IO_BITMAPS);
	vmxt_clear_bits(VM_ENTRY_CONTROLS, VM_ENTRY_IA32E_MODE);
	vmxt_wr(GUEST_IA32_EFER, 0);
	vmxt_wr(GUEST_CR0, X86_CR0_ET | X86_CR0_NE);
	vmxt_wr(GUEST_CR4, X86_CR4_VMXE);
	vmxt_wr(GUEST_CR3, 0);
	real_seg(GUEST_CS_SELECTOR, (uint16_t)(vmxt_pa(real_code) >> 4),
		 vmxt_pa(real_code), AR_CODE);
	real_seg(GUEST_SS_SELECTOR, 0, 0, AR_DATA);
	real_seg(GUEST_DS_SELECTOR, 0, 0, AR_DATA);
	real_seg(GUEST_ES_SELECTOR, 0, 0, AR_DATA);
	real_seg(GUEST_FS_SELECTOR, 0, 0, AR_DATA);
	real_seg(GUEST_GS_SELECTOR, 0, 0, AR_DATA);
	vmxt_wr(GUEST_RIP, 0);
	vmxt_wr(GUEST_RSP, 0x1000);
	vmxt_wr(GUEST_RFLAGS, X86_EFLAGS_FIXED);
}

static void test_real_mode_guest(void)
{
	const struct vmxt_exit cpuid = {
		.reason = EXIT_REASON_CPUID,
		.rip = 2,
		.len = 2,
	};
	const struct vmxt_exit out = {
		.reason = EXIT_REASON_IO_INSTRUCTION,
		.rip = 4,
		.len = 2,
		.qual = IO_QUAL_IMM | (0x80ull << IO_QUAL_PORT_SHIFT),
	};

	real_guest(true);
	/* GUEST_RIP is IP, an offset from CS's base: compare it as is. */
	vmxt_expect_exit("unrestricted_real_mode_cpuid", NULL,
			 VMXT_X_RIP | VMXT_X_LEN | VMXT_X_QUAL, 0, &cpuid);
	vmxt_check_u64("unrestricted_real_mode_saved_cr0",
		       vmxt_rd(GUEST_CR0) & (X86_CR0_PE | X86_CR0_PG), 0);
	/* As a difference: no platform-dependent address on the line. */
	vmxt_check_u64("unrestricted_real_mode_saved_cs_base",
		       vmxt_rd(GUEST_CS_BASE) - vmxt_pa(real_code), 0);
	vmxt_check_u64("unrestricted_real_mode_entry_not_ia32e",
		       vmxt_rd(VM_ENTRY_CONTROLS) & VM_ENTRY_IA32E_MODE, 0);
	vmxt_wr(GUEST_RIP, 4);
	vmxt_expect_exit("unrestricted_real_mode_out_imm", NULL,
			 VMXT_X_RIP | VMXT_X_LEN | VMXT_X_QUAL, 0, &out);
}

static void expect_entry(const char *name, struct vmxt_outcome want)
{
	struct vmxt_outcome got = vmxt_run();

	vmxt_check_outcome(name, &got, &want);
}

static void test_entry_checks(void)
{
	/* Without the control, CR0.PE = 0 is bad guest state (27.3.1.1). */
	real_guest(false);
	expect_entry("real_mode_without_unrestricted_guest",
		     VMXT_EXITED(EXIT_REASON_INVALID_STATE |
					 VMX_EXIT_REASONS_FAILED_VMENTRY,
				 0));
	/* The control needs "enable EPT" (27.2.1.1). */
	real_guest(true);
	vmxt_clear_bits(SECONDARY_VM_EXEC_CONTROL, SECONDARY_EXEC_ENABLE_EPT);
	expect_entry("unrestricted_guest_without_ept",
		     VMXT_VALID(VMXERR_ENTRY_INVALID_CONTROL_FIELD));
	/* PG = 1 still needs PE = 1 (27.3.1.1). */
	real_guest(true);
	vmxt_wr(GUEST_CR0, X86_CR0_ET | X86_CR0_NE | X86_CR0_PG);
	expect_entry("unrestricted_guest_pg_without_pe",
		     VMXT_EXITED(EXIT_REASON_INVALID_STATE |
					 VMX_EXIT_REASONS_FAILED_VMENTRY,
				 0));
	/* In real mode SS.DPL must be 0, even with CS.DPL = SS.DPL
	 * (27.3.1.2). */
	real_guest(true);
	vmxt_wr(GUEST_CS_SELECTOR, vmxt_rd(GUEST_CS_SELECTOR) | 3);
	vmxt_wr(GUEST_CS_AR_BYTES, AR_CODE | 0x60);
	vmxt_wr(GUEST_SS_AR_BYTES, AR_DATA | 0x60);
	expect_entry("unrestricted_guest_real_mode_ss_dpl3",
		     VMXT_EXITED(EXIT_REASON_INVALID_STATE |
					 VMX_EXIT_REASONS_FAILED_VMENTRY,
				 0));
}

int main(const struct nestvm_bootinfo *bi)
{
	(void)bi;
	vmxt_begin("vmx_real");
	vmxt_vmx_on();
	vmxt_vmcs_load();
	vmxt_ept_build();
	if (!vmxt_need("unrestricted_guest", vmxt_caps.proc2_may1,
		       SECONDARY_EXEC_UNRESTRICTED_GUEST |
			       SECONDARY_EXEC_ENABLE_EPT,
		       "unrestricted guest with EPT"))
		return vmxt_end();
	test_real_mode_guest();
	test_entry_checks();
	return vmxt_end();
}
