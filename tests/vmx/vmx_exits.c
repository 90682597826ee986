/* SPDX-License-Identifier: MIT */
/*
 * vmx_exits.c - the exit conditions of VMX non-root operation that
 * instructions cause (SDM Vol. 3C 26.1.2, 26.1.3): each fires with the
 * right reason, qualification (28.2.1), instruction length (28.2.5) and
 * instruction information (28.2.5) where the SDM defines one, and does not
 * fire with its control off. CPUID, HLT, INVLPG, RDTSC/RDTSCP with TSC
 * offsetting (26.3), RDPMC, PAUSE, WBINVD, MOV CR0/CR3/CR4/CR8, MOV DR,
 * I/O, MSR bitmaps, descriptor tables, the VMX instructions. Guest side.
 */
#include <asm/vmx.h>

#include "arch/vmcs.h"
#include "arch/vmx_exit_qual.h"
#include "arch/x86_msr.h"
#include "arch/x86_regs.h"
#include "arch/x86_seg.h"
#include "guests/rt/rt.h"
#include "tests/vmx/lib.h"
#include "tests/vmx/vmx_exits.h"

/* ---- the checks ---------------------------------------------------------- */

void exits_expect(const char *name, struct snip s, uint32_t reason,
		  uint64_t qual, unsigned int what, uint32_t info_mask,
		  const struct vmxt_exit *want)
{
	struct vmxt_exit w = *want;

	w.reason = reason;
	w.rip = 0;
	w.len = (uint32_t)(s.end - s.insn);
	w.qual = qual;
	vmxt_guest_at(s.start);
	vmxt_expect_exit(name, s.insn,
			 VMXT_X_RIP | VMXT_X_LEN | VMXT_X_QUAL | what,
			 info_mask, &w);
}

void exits_expect_insn(const char *name, struct snip s, uint32_t reason,
		       uint64_t qual)
{
	const struct vmxt_exit none = { 0 };

	exits_expect(name, s, reason, qual, 0, 0, &none);
}

void exits_expect_no_exit(const char *name, struct snip s)
{
	struct vmxt_exit w = {
		.reason = EXIT_REASON_VMCALL,
		.rip = s.done - s.insn,
		.len = 3, /* VMCALL: 0f 01 c1 */
	};

	vmxt_guest_at(s.start);
	vmxt_expect_exit(name, s.insn, VMXT_X_RIP | VMXT_X_LEN, 0, &w);
}

static void proc_on(uint32_t bits)
{
	vmxt_set_bits(CPU_BASED_VM_EXEC_CONTROL, bits);
}

static void proc_off(uint32_t bits)
{
	vmxt_clear_bits(CPU_BASED_VM_EXEC_CONTROL, bits);
}

static void proc2_on(uint32_t bits)
{
	vmxt_set_bits(SECONDARY_VM_EXEC_CONTROL, bits);
}

/* Qualification of a MOV CR/DR exit (SDM Tables 28-3, 28-4). */
#define CR_QUAL(cr, type, reg)                                 \
	((uint64_t)(cr) |                                      \
	 ((uint64_t)(type) << CONTROL_REG_ACCESS_TYPE_SHIFT) | \
	 ((uint64_t)(reg) << CONTROL_REG_ACCESS_REG_SHIFT))
#define DR_QUAL(dr, from, reg)                              \
	((uint64_t)(dr) | ((from) ? TYPE_MOV_FROM_DR : 0) | \
	 ((uint64_t)(reg) << 8))
/* Qualification of an I/O exit (SDM Table 28-5). */
#define IO_QUAL(size, in, imm, port)                      \
	((uint64_t)((size)-1) | ((in) ? IO_QUAL_IN : 0) | \
	 ((imm) ? IO_QUAL_IMM : 0) | ((uint64_t)(port) << IO_QUAL_PORT_SHIFT))

/* ---- CPUID, HLT, INVLPG, RDPMC, PAUSE, WBINVD ---------------------------- */

VMXT_GUEST(g_cpuid, "xor %eax, %eax\n\txor %ecx, %ecx", "cpuid", "");
VMXT_GUEST(g_hlt, "", "hlt", "");
VMXT_GUEST(g_invlpg, "mov $0x12345000, %rax", "invlpg (%rax)", "");
VMXT_GUEST(g_invlpg_disp, "lea vmxt_guest_data(%rip), %rbx",
	   "invlpg 0x40(%rbx)", "");
VMXT_GUEST(g_rdpmc, "mov $0x40, %ecx", "rdpmc", "");
VMXT_GUEST(g_pause, "", "pause", "");
VMXT_GUEST(g_wbinvd, "", "wbinvd", "");

static void test_simple(void)
{
	const struct vmxt_exit gp = {
		.intr_info = INTR_INFO_VALID_MASK | INTR_TYPE_HARD_EXCEPTION |
			     GP_VECTOR | INTR_INFO_DELIVER_CODE_MASK,
	};

	/* CPUID always exits (SDM 26.1.2). */
	vmxt_vmcs_baseline();
	exits_expect_insn("cpuid", SNIP(g_cpuid), EXIT_REASON_CPUID, 0);

	/* HLT without HLT exiting would halt for good: only the exit. */
	vmxt_vmcs_baseline();
	proc_on(CPU_BASED_HLT_EXITING);
	exits_expect_insn("hlt_exiting", SNIP(g_hlt), EXIT_REASON_HLT, 0);

	vmxt_vmcs_baseline();
	proc_on(CPU_BASED_INVLPG_EXITING);
	exits_expect_insn("invlpg_exiting", SNIP(g_invlpg), EXIT_REASON_INVLPG,
			  0x12345000);
	/* The qualification is the linear address, not the displacement. */
	exits_expect_insn("invlpg_exiting_with_displacement",
			  SNIP(g_invlpg_disp), EXIT_REASON_INVLPG,
			  vmxt_pa(vmxt_guest_data) + 0x40);
	vmxt_vmcs_baseline();
	exits_expect_no_exit("invlpg_no_exiting", SNIP(g_invlpg));

	vmxt_vmcs_baseline();
	proc_on(CPU_BASED_RDPMC_EXITING);
	exits_expect_insn("rdpmc_exiting", SNIP(g_rdpmc), EXIT_REASON_RDPMC, 0);
	/* Without the control, RDPMC of counter 0x40 faults: #GP(0), which
	 * the exception bitmap turns into a VM exit. */
	vmxt_vmcs_baseline();
	exits_expect("rdpmc_no_exiting_bad_counter_gp", SNIP(g_rdpmc),
		     EXIT_REASON_EXCEPTION_NMI, 0, VMXT_X_INTR, 0, &gp);

	vmxt_vmcs_baseline();
	proc_on(CPU_BASED_PAUSE_EXITING);
	exits_expect_insn("pause_exiting", SNIP(g_pause),
			  EXIT_REASON_PAUSE_INSTRUCTION, 0);
	vmxt_vmcs_baseline();
	exits_expect_no_exit("pause_no_exiting", SNIP(g_pause));

	vmxt_vmcs_baseline();
	if (vmxt_need("wbinvd_exiting", vmxt_caps.proc2_may1,
		      SECONDARY_EXEC_WBINVD_EXITING, "WBINVD exiting")) {
		proc2_on(SECONDARY_EXEC_WBINVD_EXITING);
		exits_expect_insn("wbinvd_exiting", SNIP(g_wbinvd),
				  EXIT_REASON_WBINVD, 0);
	}
	vmxt_vmcs_baseline();
	exits_expect_no_exit("wbinvd_no_exiting", SNIP(g_wbinvd));
}

/* ---- RDTSC, RDTSCP, TSC offsetting (SDM 26.3) ---------------------------- */

VMXT_GUEST(g_rdtsc, "", "rdtsc",
	   "mov %eax, vmxt_guest_data(%rip)\n\t"
	   "mov %edx, vmxt_guest_data+4(%rip)");
VMXT_GUEST(g_rdtscp, "", "rdtscp", "");

static uint64_t host_rdtsc(void)
{
	return rdtsc();
}

/* The guest reads the TSC plus the offset in effect: it must lie within
 * the host's readings before and after the entry, shifted by it. */
static void check_tsc_offset(const char *name, bool control, uint64_t field,
			     uint64_t offset)
{
	const char *want = "guest TSC - offset in host window";
	uint64_t t0, t1, g;
	struct vmxt_outcome o;
	char got[96];
	bool in;

	vmxt_vmcs_baseline();
	if (control)
		proc_on(CPU_BASED_USE_TSC_OFFSETTING);
	vmxt_wr(TSC_OFFSET, field);
	vmxt_guest_at(g_rdtsc);
	t0 = host_rdtsc();
	o = vmxt_run();
	t1 = host_rdtsc();
	memcpy(&g, vmxt_guest_data, sizeof(g));
	in = o.kind == VMXT_EXIT && o.reason == EXIT_REASON_VMCALL &&
	     g - offset - t0 <= t1 - t0;
	if (in)
		snprintf(got, sizeof(got), "%s", want);
	else
		snprintf(got, sizeof(got),
			 "guest TSC 0x%llx, host 0x%llx..0x%llx",
			 (unsigned long long)g, (unsigned long long)t0,
			 (unsigned long long)t1);
	vmxt_check_str(name, in, got, want);
}

static void test_tsc(void)
{
	const struct vmxt_exit ud = {
		.reason = EXIT_REASON_EXCEPTION_NMI,
		.intr_info = INTR_INFO_VALID_MASK | INTR_TYPE_HARD_EXCEPTION |
			     UD_VECTOR,
	};

	vmxt_vmcs_baseline();
	proc_on(CPU_BASED_RDTSC_EXITING);
	exits_expect_insn("rdtsc_exiting", SNIP(g_rdtsc), EXIT_REASON_RDTSC, 0);
	vmxt_vmcs_baseline();
	exits_expect_no_exit("rdtsc_no_exiting", SNIP(g_rdtsc));
	check_tsc_offset("rdtsc_offset_positive", true, 1ull << 40, 1ull << 40);
	check_tsc_offset("rdtsc_offset_negative", true, 0ull - (1ull << 20),
			 0ull - (1ull << 20));
	check_tsc_offset("rdtsc_offset_ignored_without_control", false,
			 1ull << 40, 0);

	if (!vmxt_need("rdtscp", vmxt_caps.proc2_may1,
		       SECONDARY_EXEC_ENABLE_RDTSCP, "enable RDTSCP"))
		return;
	/* Without "enable RDTSCP" the instruction is #UD (SDM 26.3). */
	vmxt_vmcs_baseline();
	vmxt_guest_at(g_rdtscp);
	vmxt_expect_exit("rdtscp_disabled_ud", g_rdtscp_insn,
			 VMXT_X_RIP | VMXT_X_INTR, 0, &ud);
	vmxt_vmcs_baseline();
	proc2_on(SECONDARY_EXEC_ENABLE_RDTSCP);
	proc_on(CPU_BASED_RDTSC_EXITING);
	exits_expect_insn("rdtscp_exiting", SNIP(g_rdtscp), EXIT_REASON_RDTSCP,
			  0);
	vmxt_vmcs_baseline();
	proc2_on(SECONDARY_EXEC_ENABLE_RDTSCP);
	exits_expect_no_exit("rdtscp_no_exiting", SNIP(g_rdtscp));
}

/* ---- control registers (SDM 26.1.3, 26.3) -------------------------------- */

VMXT_GUEST(g_cr0_set_ts, "mov %cr0, %rbx\n\tor $8, %rbx", "mov %rbx, %cr0", "");
VMXT_GUEST(g_cr0_read, "", "mov %cr0, %rdx", "mov %rdx, vmxt_guest_data(%rip)");
VMXT_GUEST(g_cr4_write_read_value, "mov %cr4, %rcx", "mov %rcx, %cr4",
	   "mov %cr4, %rcx\n\tmov %rcx, vmxt_guest_data(%rip)");
VMXT_GUEST(g_cr4_set_vmxe, "mov %cr4, %rcx\n\tor $0x2000, %rcx",
	   "mov %rcx, %cr4", "");
VMXT_GUEST(g_cr3_write, "mov %cr3, %rax", "mov %rax, %cr3", "");
VMXT_GUEST(g_cr3_read, "", "mov %cr3, %rsi", "");
VMXT_GUEST(g_cr8_write, "xor %edx, %edx", "mov %rdx, %cr8", "");
VMXT_GUEST(g_cr8_read, "", "mov %cr8, %rdi", "");
VMXT_GUEST(g_dr_write, "xor %r9d, %r9d", "mov %r9, %dr3", "");
VMXT_GUEST(g_dr_read, "", "mov %dr7, %r10", "");

static uint64_t guest_out(void)
{
	uint64_t v;

	memcpy(&v, vmxt_guest_data, sizeof(v));
	return v;
}

static void test_cr(void)
{
	uint64_t cr0 = vmxt_rd(GUEST_CR0), cr3 = vmxt_rd(GUEST_CR3);
	uint64_t cr4 = vmxt_rd(GUEST_CR4);

	/* CR0: a write that changes a host-owned bit away from the read
	 * shadow exits; one that matches the shadow does not. */
	vmxt_vmcs_baseline();
	vmxt_wr(CR0_GUEST_HOST_MASK, X86_CR0_TS);
	vmxt_wr(CR0_READ_SHADOW, cr0 & ~(uint64_t)X86_CR0_TS);
	exits_expect_insn("cr0_write_masked_bit_differs_from_shadow",
			  SNIP(g_cr0_set_ts), EXIT_REASON_CR_ACCESS,
			  CR_QUAL(0, CR_ACCESS_TYPE_MOV_TO_CR, 3));
	vmxt_vmcs_baseline();
	vmxt_wr(CR0_GUEST_HOST_MASK, X86_CR0_TS);
	vmxt_wr(CR0_READ_SHADOW, cr0 | X86_CR0_TS);
	exits_expect_no_exit("cr0_write_masked_bit_equals_shadow",
			     SNIP(g_cr0_set_ts));
	vmxt_vmcs_baseline();
	exits_expect_no_exit("cr0_write_without_mask", SNIP(g_cr0_set_ts));

	/* Reads never exit; host-owned bits read as the shadow. */
	vmxt_vmcs_baseline();
	vmxt_wr(CR0_GUEST_HOST_MASK, X86_CR0_TS | X86_CR0_MP);
	vmxt_wr(CR0_READ_SHADOW, (cr0 | X86_CR0_TS) & ~(uint64_t)X86_CR0_MP);
	exits_expect_no_exit("cr0_read_never_exits", SNIP(g_cr0_read));
	vmxt_check_u64("cr0_read_shows_shadow_for_masked_bits", guest_out(),
		       (cr0 | X86_CR0_TS) & ~(uint64_t)X86_CR0_MP);

	/* CR4: VMXE owned by the host, shadowed as 0, as l1-shim does. */
	vmxt_vmcs_baseline();
	vmxt_wr(CR4_GUEST_HOST_MASK, X86_CR4_VMXE);
	vmxt_wr(CR4_READ_SHADOW, cr4 & ~(uint64_t)X86_CR4_VMXE);
	exits_expect_no_exit("cr4_write_of_shadowed_value",
			     SNIP(g_cr4_write_read_value));
	vmxt_check_u64("cr4_read_shows_shadow", guest_out(),
		       cr4 & ~(uint64_t)X86_CR4_VMXE);
	vmxt_check_u64("cr4_masked_bit_keeps_its_value",
		       vmxt_rd(GUEST_CR4) & X86_CR4_VMXE, X86_CR4_VMXE);
	exits_expect_insn("cr4_write_masked_bit_differs_from_shadow",
			  SNIP(g_cr4_set_vmxe), EXIT_REASON_CR_ACCESS,
			  CR_QUAL(4, CR_ACCESS_TYPE_MOV_TO_CR, 1));

	/* CR3: load exiting unless the value is a CR3 target. */
	if (vmxt_caps.proc_must1 &
	    (CPU_BASED_CR3_LOAD_EXITING | CPU_BASED_CR3_STORE_EXITING)) {
		vmxt_skip("cr3", "CR3 exiting that may be cleared");
	} else {
		vmxt_vmcs_baseline();
		proc_on(CPU_BASED_CR3_LOAD_EXITING);
		exits_expect_insn("cr3_load_exiting", SNIP(g_cr3_write),
				  EXIT_REASON_CR_ACCESS,
				  CR_QUAL(3, CR_ACCESS_TYPE_MOV_TO_CR, 0));
		vmxt_wr(CR3_TARGET_COUNT, 1);
		vmxt_wr(CR3_TARGET_VALUE0, cr3);
		exits_expect_no_exit("cr3_load_of_target_value",
				     SNIP(g_cr3_write));
		vmxt_wr(CR3_TARGET_VALUE0, 0);
		vmxt_wr(CR3_TARGET_VALUE3, cr3);
		vmxt_wr(CR3_TARGET_COUNT, 3);
		exits_expect_insn("cr3_load_target_beyond_count",
				  SNIP(g_cr3_write), EXIT_REASON_CR_ACCESS,
				  CR_QUAL(3, CR_ACCESS_TYPE_MOV_TO_CR, 0));
		vmxt_vmcs_baseline();
		exits_expect_no_exit("cr3_load_no_exiting", SNIP(g_cr3_write));
		proc_on(CPU_BASED_CR3_STORE_EXITING);
		exits_expect_insn("cr3_store_exiting", SNIP(g_cr3_read),
				  EXIT_REASON_CR_ACCESS,
				  CR_QUAL(3, CR_ACCESS_TYPE_MOV_FROM_CR, 6));
		vmxt_vmcs_baseline();
		exits_expect_no_exit("cr3_store_no_exiting", SNIP(g_cr3_read));
	}

	vmxt_vmcs_baseline();
	proc_on(CPU_BASED_CR8_LOAD_EXITING);
	exits_expect_insn("cr8_load_exiting", SNIP(g_cr8_write),
			  EXIT_REASON_CR_ACCESS,
			  CR_QUAL(8, CR_ACCESS_TYPE_MOV_TO_CR, 2));
	exits_expect_no_exit("cr8_load_exiting_leaves_reads", SNIP(g_cr8_read));
	vmxt_vmcs_baseline();
	proc_on(CPU_BASED_CR8_STORE_EXITING);
	exits_expect_insn("cr8_store_exiting", SNIP(g_cr8_read),
			  EXIT_REASON_CR_ACCESS,
			  CR_QUAL(8, CR_ACCESS_TYPE_MOV_FROM_CR, 7));
	exits_expect_no_exit("cr8_store_exiting_leaves_writes",
			     SNIP(g_cr8_write));

	vmxt_vmcs_baseline();
	proc_on(CPU_BASED_MOV_DR_EXITING);
	exits_expect_insn("mov_to_dr_exiting", SNIP(g_dr_write),
			  EXIT_REASON_DR_ACCESS, DR_QUAL(3, false, 9));
	exits_expect_insn("mov_from_dr_exiting", SNIP(g_dr_read),
			  EXIT_REASON_DR_ACCESS, DR_QUAL(7, true, 10));
	vmxt_vmcs_baseline();
	exits_expect_no_exit("mov_to_dr_no_exiting", SNIP(g_dr_write));
	exits_expect_no_exit("mov_from_dr_no_exiting", SNIP(g_dr_read));
}

/* ---- I/O (SDM 26.1.3, 25.6.4) -------------------------------------------- */

VMXT_GUEST(g_out_imm, "mov $0x5a, %al", "out %al, $0x80", "");
VMXT_GUEST(g_in_dx_dword, "mov $0x1234, %edx", "in %dx, %eax", "");
VMXT_GUEST(g_outw_81, "mov $0x81, %edx\n\txor %eax, %eax", "out %ax, %dx", "");
VMXT_GUEST(g_outw_7fff, "mov $0x7fff, %edx\n\txor %eax, %eax", "out %ax, %dx",
	   "");
VMXT_GUEST(g_outb_8000, "mov $0x8000, %edx\n\txor %eax, %eax", "out %al, %dx",
	   "");
VMXT_GUEST(g_outw_ffff, "mov $0xffff, %edx\n\txor %eax, %eax", "out %ax, %dx",
	   "");

static void io_bit(unsigned int port)
{
	uint8_t *map = port < 0x8000 ? vmxt_io_bitmap_a : vmxt_io_bitmap_b;

	map[(port & 0x7fff) / 8] |= (uint8_t)(1u << (port & 7));
}

static void io_bitmaps_on(void)
{
	proc_on(CPU_BASED_USE_IO_BITMAPS);
}

static void test_io(void)
{
	vmxt_vmcs_baseline();
	proc_on(CPU_BASED_UNCOND_IO_EXITING);
	exits_expect_insn("io_unconditional_exiting", SNIP(g_out_imm),
			  EXIT_REASON_IO_INSTRUCTION,
			  IO_QUAL(1, false, true, 0x80));
	exits_expect_insn("io_unconditional_in_dx_dword", SNIP(g_in_dx_dword),
			  EXIT_REASON_IO_INSTRUCTION,
			  IO_QUAL(4, true, false, 0x1234));
	vmxt_vmcs_baseline();
	exits_expect_no_exit("io_no_exiting", SNIP(g_out_imm));
	/* With "use I/O bitmaps", unconditional I/O exiting is ignored. */
	proc_on(CPU_BASED_UNCOND_IO_EXITING);
	io_bitmaps_on();
	exits_expect_no_exit("io_bitmaps_override_unconditional",
			     SNIP(g_out_imm));
	io_bit(0x80);
	exits_expect_insn("io_bitmap_a_bit", SNIP(g_out_imm),
			  EXIT_REASON_IO_INSTRUCTION,
			  IO_QUAL(1, false, true, 0x80));

	/* A 2-byte access exits if either byte's bit is set. */
	vmxt_vmcs_baseline();
	io_bitmaps_on();
	io_bit(0x80);
	io_bit(0x83);
	exits_expect_no_exit("io_word_between_set_bits", SNIP(g_outw_81));
	io_bit(0x82);
	exits_expect_insn("io_word_second_byte_bit", SNIP(g_outw_81),
			  EXIT_REASON_IO_INSTRUCTION,
			  IO_QUAL(2, false, false, 0x81));
	vmxt_vmcs_baseline();
	io_bitmaps_on();
	io_bit(0x8000);
	exits_expect_insn("io_bitmap_b_bit", SNIP(g_outb_8000),
			  EXIT_REASON_IO_INSTRUCTION,
			  IO_QUAL(1, false, false, 0x8000));
	exits_expect_insn("io_word_across_bitmaps_a_and_b", SNIP(g_outw_7fff),
			  EXIT_REASON_IO_INSTRUCTION,
			  IO_QUAL(2, false, false, 0x7fff));
	/* An access that wraps past port 0xffff always exits. */
	vmxt_vmcs_baseline();
	io_bitmaps_on();
	exits_expect_insn("io_word_wrapping_past_ffff", SNIP(g_outw_ffff),
			  EXIT_REASON_IO_INSTRUCTION,
			  IO_QUAL(2, false, false, 0xffff));
	vmxt_vmcs_baseline();
	io_bitmaps_on();
	io_bit(0x1234);
	exits_expect_insn("io_bitmap_in_dx_dword", SNIP(g_in_dx_dword),
			  EXIT_REASON_IO_INSTRUCTION,
			  IO_QUAL(4, true, false, 0x1234));
}

/* ---- MSR bitmaps (SDM 25.6.9, 26.1.3) ------------------------------------ */

VMXT_GUEST(g_rdmsr_sysenter_cs, "mov $0x174, %ecx", "rdmsr", "");
VMXT_GUEST(g_wrmsr_sysenter_cs,
	   "mov $0x174, %ecx\n\txor %eax, %eax\n\txor %edx, %edx", "wrmsr", "");
VMXT_GUEST(g_rdmsr_efer, "mov $0xc0000080, %ecx", "rdmsr", "");
VMXT_GUEST(g_wrmsr_star,
	   "mov $0xc0000081, %ecx\n\txor %eax, %eax\n\txor %edx, %edx", "wrmsr",
	   "");
VMXT_GUEST(g_rdmsr_out_of_range, "mov $0x40000000, %ecx", "rdmsr", "");

/* The four 1-KiB bitmaps: read low, read high, write low, write high. */
static void msr_bit(uint32_t msr, bool write)
{
	unsigned int off = (write ? 2048 : 0) + (msr >= 0xc0000000 ? 1024 : 0);
	unsigned int bit = msr & 0x1fff;

	vmxt_msr_bitmap[off + bit / 8] |= (uint8_t)(1u << (bit & 7));
}

static void test_msr(void)
{
	vmxt_vmcs_baseline();
	proc_off(CPU_BASED_USE_MSR_BITMAPS);
	exits_expect_insn("rdmsr_without_bitmaps", SNIP(g_rdmsr_sysenter_cs),
			  EXIT_REASON_MSR_READ, 0);
	exits_expect_insn("wrmsr_without_bitmaps", SNIP(g_wrmsr_sysenter_cs),
			  EXIT_REASON_MSR_WRITE, 0);

	vmxt_vmcs_baseline();
	exits_expect_no_exit("rdmsr_bitmap_clear", SNIP(g_rdmsr_sysenter_cs));
	exits_expect_no_exit("wrmsr_bitmap_clear", SNIP(g_wrmsr_sysenter_cs));
	exits_expect_no_exit("rdmsr_high_bitmap_clear", SNIP(g_rdmsr_efer));
	msr_bit(MSR_IA32_SYSENTER_CS, false);
	exits_expect_insn("rdmsr_read_low_bit", SNIP(g_rdmsr_sysenter_cs),
			  EXIT_REASON_MSR_READ, 0);
	exits_expect_no_exit("wrmsr_with_only_read_bit",
			     SNIP(g_wrmsr_sysenter_cs));
	msr_bit(MSR_IA32_SYSENTER_CS, true);
	exits_expect_insn("wrmsr_write_low_bit", SNIP(g_wrmsr_sysenter_cs),
			  EXIT_REASON_MSR_WRITE, 0);
	msr_bit(MSR_EFER, false);
	exits_expect_insn("rdmsr_read_high_bit", SNIP(g_rdmsr_efer),
			  EXIT_REASON_MSR_READ, 0);
	msr_bit(MSR_STAR, true);
	exits_expect_insn("wrmsr_write_high_bit", SNIP(g_wrmsr_star),
			  EXIT_REASON_MSR_WRITE, 0);
	/* MSRs outside both ranges always exit. */
	exits_expect_insn("rdmsr_outside_bitmap_ranges",
			  SNIP(g_rdmsr_out_of_range), EXIT_REASON_MSR_READ, 0);
}

/* ---- descriptor-table exiting (SDM 26.1.3, Tables 28-10, 28-11) ---------- */

#define SETUP_RBX "lea vmxt_guest_data(%rip), %rbx"

VMXT_GUEST(g_sgdt, SETUP_RBX, "sgdt 0x10(%rbx)", "");
VMXT_GUEST(g_sidt, SETUP_RBX, "sidt 0x20(%rbx)", "");
VMXT_GUEST(g_lgdt, SETUP_RBX, "lgdt 0x30(%rbx)", "");
VMXT_GUEST(g_lidt, SETUP_RBX, "lidt 0x40(%rbx,%rcx,4)", "");
VMXT_GUEST(g_sldt_reg, "", "sldt %r12", "");
VMXT_GUEST(g_str_mem, SETUP_RBX, "str 0x8(%rbx)", "");
VMXT_GUEST(g_lldt_reg, "xor %ecx, %ecx", "lldt %cx", "");
VMXT_GUEST(g_ltr_reg, "mov $0x20, %edx", "ltr %dx", "");

/* Instruction information of a memory operand at disp(%rbx) with 64-bit
 * addressing, DS, no index (SDM Table 28-10). */
#define INFO_RBX_DS                                                      \
	((2u << VMX_INSN_INFO_ADDR_SIZE_SHIFT) |                         \
	 (3u << VMX_INSN_INFO_SEG_SHIFT) | VMX_INSN_INFO_INDEX_INVALID | \
	 (3u << VMX_INSN_INFO_BASE_SHIFT))
#define INFO_IDENTITY(n) ((uint32_t)(n) << 28)

static void expect_dt(const char *name, struct snip s, uint32_t reason,
		      uint64_t qual, uint32_t info, uint32_t mask)
{
	struct vmxt_exit w = { .info = info };

	exits_expect(name, s, reason, qual, VMXT_X_INFO, mask, &w);
}

static void test_descriptor_tables(void)
{
	const uint32_t gi = EXIT_REASON_GDTR_IDTR;
	const uint32_t lt = EXIT_REASON_LDTR_TR;
	/* lidt 0x40(%rbx,%rcx,4): index RCX (1), scale 4 (2) */
	const uint32_t sib = (2u << VMX_INSN_INFO_ADDR_SIZE_SHIFT) |
			     (3u << VMX_INSN_INFO_SEG_SHIFT) |
			     (1u << VMX_INSN_INFO_INDEX_SHIFT) | 2u |
			     (3u << VMX_INSN_INFO_BASE_SHIFT);

	vmxt_vmcs_baseline();
	if (!vmxt_need("descriptor_table_exiting", vmxt_caps.proc2_may1,
		       SECONDARY_EXEC_DESC, "descriptor-table exiting"))
		return;
	proc2_on(SECONDARY_EXEC_DESC);
	expect_dt("sgdt_exiting", SNIP(g_sgdt), gi, 0x10,
		  INFO_RBX_DS | INFO_IDENTITY(0), VMXT_INFO_DT_MEM);
	expect_dt("sidt_exiting", SNIP(g_sidt), gi, 0x20,
		  INFO_RBX_DS | INFO_IDENTITY(1), VMXT_INFO_DT_MEM);
	expect_dt("lgdt_exiting", SNIP(g_lgdt), gi, 0x30,
		  INFO_RBX_DS | INFO_IDENTITY(2), VMXT_INFO_DT_MEM);
	expect_dt("lidt_exiting_with_index", SNIP(g_lidt), gi, 0x40,
		  sib | INFO_IDENTITY(3), VMXT_INFO_DT_MEM);
	expect_dt("sldt_exiting_register", SNIP(g_sldt_reg), lt, 0,
		  VMX_INSN_INFO_IS_REG | (12u << VMX_INSN_INFO_REG1_SHIFT) |
			  INFO_IDENTITY(0),
		  VMXT_INFO_DT_REG);
	expect_dt("str_exiting_memory", SNIP(g_str_mem), lt, 0x8,
		  INFO_RBX_DS | INFO_IDENTITY(1), VMXT_INFO_DT_MEM);
	expect_dt("lldt_exiting_register", SNIP(g_lldt_reg), lt, 0,
		  VMX_INSN_INFO_IS_REG | (1u << VMX_INSN_INFO_REG1_SHIFT) |
			  INFO_IDENTITY(2),
		  VMXT_INFO_DT_REG);
	expect_dt("ltr_exiting_register", SNIP(g_ltr_reg), lt, 0,
		  VMX_INSN_INFO_IS_REG | (2u << VMX_INSN_INFO_REG1_SHIFT) |
			  INFO_IDENTITY(3),
		  VMXT_INFO_DT_REG);
	vmxt_vmcs_baseline();
	exits_expect_no_exit("sgdt_no_exiting", SNIP(g_sgdt));
	exits_expect_no_exit("sldt_no_exiting", SNIP(g_sldt_reg));
}

/* ---- VMX instructions in non-root operation (SDM 26.1.2) ----------------- */

VMXT_GUEST(g_vmclear, SETUP_RBX, "vmclear 0x8(%rbx)", "");
VMXT_GUEST(g_vmptrld, SETUP_RBX, "vmptrld 0x8(%rbx)", "");
VMXT_GUEST(g_vmptrst, SETUP_RBX, "vmptrst 0x8(%rbx)", "");
VMXT_GUEST(g_vmptrst_riprel, "", "vmptrst vmxt_guest_data+0x18(%rip)", "");
VMXT_GUEST(g_vmxon, SETUP_RBX, "vmxon 0x8(%rbx)", "");
VMXT_GUEST(g_vmxoff, "", "vmxoff", "");
VMXT_GUEST(g_vmlaunch, "", "vmlaunch", "");
VMXT_GUEST(g_vmresume, "", "vmresume", "");
VMXT_GUEST(g_vmcall, "", "vmcall", "");
VMXT_GUEST(g_vmread_reg, "mov $0x681e, %r8d", "vmread %r8, %rbx", "");
VMXT_GUEST(g_vmread_mem, SETUP_RBX "\n\tmov $0x681e, %r8d",
	   "vmread %r8, 0x28(%rbx)", "");
VMXT_GUEST(g_vmwrite_reg, "mov $0x681e, %r8d", "vmwrite %rbx, %r8", "");
VMXT_GUEST(g_invept, SETUP_RBX "\n\tmov $2, %r9d", "invept 0x10(%rbx), %r9",
	   "");
VMXT_GUEST(g_invvpid, SETUP_RBX "\n\tmov $2, %r9d", "invvpid 0x20(%rbx), %r9",
	   "");

static void test_vmx_instructions(void)
{
	const uint32_t rip_rel = (2u << VMX_INSN_INFO_ADDR_SIZE_SHIFT) |
				 (3u << VMX_INSN_INFO_SEG_SHIFT) |
				 VMX_INSN_INFO_INDEX_INVALID |
				 VMX_INSN_INFO_BASE_INVALID;

	vmxt_vmcs_baseline();
	expect_dt("vmclear_exits", SNIP(g_vmclear), EXIT_REASON_VMCLEAR, 0x8,
		  INFO_RBX_DS, VMXT_INFO_PTR);
	expect_dt("vmptrld_exits", SNIP(g_vmptrld), EXIT_REASON_VMPTRLD, 0x8,
		  INFO_RBX_DS, VMXT_INFO_PTR);
	expect_dt("vmptrst_exits", SNIP(g_vmptrst), EXIT_REASON_VMPTRST, 0x8,
		  INFO_RBX_DS, VMXT_INFO_PTR);
	/* RIP-relative: the qualification is displacement + the RIP of the
	 * next instruction, i.e. the offset (SDM 28.2.1). */
	expect_dt("vmptrst_exits_rip_relative", SNIP(g_vmptrst_riprel),
		  EXIT_REASON_VMPTRST, vmxt_pa(vmxt_guest_data) + 0x18, rip_rel,
		  VMXT_INFO_PTR);
	expect_dt("vmxon_exits", SNIP(g_vmxon), EXIT_REASON_VMON, 0x8,
		  INFO_RBX_DS, VMXT_INFO_PTR);
	exits_expect_insn("vmxoff_exits", SNIP(g_vmxoff), EXIT_REASON_VMOFF, 0);
	exits_expect_insn("vmlaunch_exits", SNIP(g_vmlaunch),
			  EXIT_REASON_VMLAUNCH, 0);
	exits_expect_insn("vmresume_exits", SNIP(g_vmresume),
			  EXIT_REASON_VMRESUME, 0);
	exits_expect_insn("vmcall_exits", SNIP(g_vmcall), EXIT_REASON_VMCALL,
			  0);
	expect_dt("vmread_exits_register", SNIP(g_vmread_reg),
		  EXIT_REASON_VMREAD, 0,
		  VMX_INSN_INFO_IS_REG | (3u << VMX_INSN_INFO_REG1_SHIFT) |
			  (8u << 28),
		  VMXT_INFO_REG);
	expect_dt("vmread_exits_memory", SNIP(g_vmread_mem), EXIT_REASON_VMREAD,
		  0x28, INFO_RBX_DS | (8u << 28), VMXT_INFO_MEM);
	expect_dt("vmwrite_exits_register", SNIP(g_vmwrite_reg),
		  EXIT_REASON_VMWRITE, 0,
		  VMX_INSN_INFO_IS_REG | (3u << VMX_INSN_INFO_REG1_SHIFT) |
			  (8u << 28),
		  VMXT_INFO_REG);
	expect_dt("invept_exits", SNIP(g_invept), EXIT_REASON_INVEPT, 0x10,
		  INFO_RBX_DS | (9u << 28), VMXT_INFO_INV);
	expect_dt("invvpid_exits", SNIP(g_invvpid), EXIT_REASON_INVVPID, 0x20,
		  INFO_RBX_DS | (9u << 28), VMXT_INFO_INV);
}

/* ---- state saved and loaded by a VM exit (SDM 28.3, 28.4, 28.5, 28.6) ---- */

VMXT_GUEST(g_flags, "stc\n\tstd\n\tmov $0x5000, %rsp", "vmcall", "");
VMXT_GUEST(g_sti, "", "sti\n\tvmcall", "");
VMXT_GUEST(g_mov_ss, "mov %ss, %eax", "mov %eax, %ss\n\tvmcall", "");
VMXT_GUEST(g_nop_vmcall, "", "nop", "");

static struct x86_desc_ptr host_sgdt(void)
{
	struct x86_desc_ptr d;

	__asm__ volatile("sgdt %0" : "=m"(d));
	return d;
}

static struct x86_desc_ptr host_sidt(void)
{
	struct x86_desc_ptr d;

	__asm__ volatile("sidt %0" : "=m"(d));
	return d;
}

static uint64_t host_rdmsr(uint32_t msr)
{
	uint32_t lo, hi;

	__asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
	return ((uint64_t)hi << 32) | lo;
}

static void test_state(void)
{
	uint64_t *area = (uint64_t *)(void *)vmxt_scratch[2];

	/* Guest RSP and RFLAGS are saved as they were at the exit. */
	vmxt_vmcs_baseline();
	vmxt_guest_at(g_flags);
	vmxt_run();
	vmxt_check_u64("exit_saves_guest_rsp", vmxt_rd(GUEST_RSP), 0x5000);
	vmxt_check_u64("exit_saves_guest_rflags", vmxt_rd(GUEST_RFLAGS),
		       X86_EFLAGS_FIXED | X86_EFLAGS_CF | X86_EFLAGS_DF);
	/* An exit right after STI or MOV SS saves the blocking. */
	vmxt_vmcs_baseline();
	vmxt_guest_at(g_sti);
	vmxt_run();
	vmxt_check_u64("exit_in_sti_shadow_saves_blocking",
		       vmxt_rd(GUEST_INTERRUPTIBILITY_INFO),
		       GUEST_INTR_STATE_STI);
	vmxt_vmcs_baseline();
	vmxt_guest_at(g_mov_ss);
	vmxt_run();
	vmxt_check_u64("exit_in_mov_ss_shadow_saves_blocking",
		       vmxt_rd(GUEST_INTERRUPTIBILITY_INFO),
		       GUEST_INTR_STATE_MOV_SS);

	/* Blocking from the interruptibility state covers the guest's
	 * first instruction only; a vectoring entry has none (SDM 27.7.1). */
	vmxt_vmcs_baseline();
	vmxt_set_bits(GUEST_RFLAGS, X86_EFLAGS_IF);
	vmxt_wr(GUEST_INTERRUPTIBILITY_INFO, GUEST_INTR_STATE_STI);
	vmxt_run();
	vmxt_check_u64("entry_sti_blocking_covers_first_instruction",
		       vmxt_rd(GUEST_INTERRUPTIBILITY_INFO),
		       GUEST_INTR_STATE_STI);
	vmxt_vmcs_baseline();
	vmxt_guest_at(g_nop_vmcall);
	vmxt_wr(GUEST_INTERRUPTIBILITY_INFO, GUEST_INTR_STATE_MOV_SS);
	vmxt_run();
	vmxt_check_u64("entry_mov_ss_blocking_ends_after_one_instruction",
		       vmxt_rd(GUEST_INTERRUPTIBILITY_INFO), 0);
	vmxt_vmcs_baseline();
	vmxt_wr(GUEST_INTERRUPTIBILITY_INFO, GUEST_INTR_STATE_MOV_SS);
	vmxt_run();
	vmxt_check_u64("entry_mov_ss_blocking_covers_first_instruction",
		       vmxt_rd(GUEST_INTERRUPTIBILITY_INFO),
		       GUEST_INTR_STATE_MOV_SS);
	vmxt_vmcs_baseline();
	vmxt_set_bits(GUEST_RFLAGS, X86_EFLAGS_IF);
	vmxt_wr(GUEST_INTERRUPTIBILITY_INFO, GUEST_INTR_STATE_STI);
	vmxt_wr(VM_ENTRY_INTR_INFO_FIELD,
		INTR_INFO_VALID_MASK | INTR_TYPE_HARD_EXCEPTION | UD_VECTOR);
	vmxt_run();
	vmxt_check_u64("vectoring_entry_leaves_no_blocking",
		       vmxt_rd(GUEST_INTERRUPTIBILITY_INFO), 0);

	/* The VM-exit MSR-store area receives the guest's values, the
	 * MSR-load area is loaded into the host (SDM 28.4, 28.6). */
	vmxt_vmcs_baseline();
	area[0] = MSR_IA32_SYSENTER_CS;
	area[1] = 0;
	area[2] = MSR_IA32_SYSENTER_ESP;
	area[3] = 0xabcdef00;
	vmxt_wr(GUEST_SYSENTER_CS, 0x77);
	vmxt_wr(VM_EXIT_MSR_STORE_COUNT, 1);
	vmxt_wr(VM_EXIT_MSR_STORE_ADDR, vmxt_pa(area));
	vmxt_wr(VM_EXIT_MSR_LOAD_COUNT, 1);
	vmxt_wr(VM_EXIT_MSR_LOAD_ADDR, vmxt_pa(area + 2));
	vmxt_run();
	vmxt_check_u64("exit_msr_store_area", area[1], 0x77);
	vmxt_check_u64("exit_msr_load_area", host_rdmsr(MSR_IA32_SYSENTER_ESP),
		       0xabcdef00);
	/* Host state: the descriptor-table limits become 0xffff. */
	vmxt_check_u64("exit_sets_host_gdtr_limit", host_sgdt().limit, 0xffff);
	vmxt_check_u64("exit_sets_host_idtr_limit", host_sidt().limit, 0xffff);
	vmxt_check_u64("exit_loads_host_sysenter_cs",
		       host_rdmsr(MSR_IA32_SYSENTER_CS),
		       vmxt_rd(HOST_IA32_SYSENTER_CS));
}

int main(const struct nestvm_bootinfo *bi)
{
	(void)bi;
	vmxt_begin("vmx_exits");
	vmxt_vmx_on();
	vmxt_vmcs_load();
	vmxt_ept_build();
	test_simple();
	test_tsc();
	test_cr();
	test_io();
	test_msr();
	test_descriptor_tables();
	test_vmx_instructions();
	test_state();
	exits_test_exceptions();
	exits_test_injection();
	exits_test_triple_fault();
	exits_test_ept();
	return vmxt_end();
}
