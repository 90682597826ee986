/* SPDX-License-Identifier: MIT */
/*
 * vmx_exits_events.c - the exit conditions that events and memory cause:
 * the exception bitmap with the #PF error-code mask and match (SDM Vol. 3C
 * 26.2), exceptions during event delivery and the IDT-vectoring
 * information (28.2.4), event injection (27.6), triple fault, and EPT
 * violations and misconfigurations with their qualification, guest-
 * physical and guest-linear addresses (30.3.3, 28.2.1 Table 28-7). Guest
 * side (runs as a hypervisor).
 */
#include <asm/vmx.h>

#include "arch/ept.h"
#include "arch/vmcs.h"
#include "arch/vmx_exit_qual.h"
#include "arch/x86_paging.h"
#include "arch/x86_regs.h"
#include "arch/bootinfo.h"
#include "guests/rt/rt.h"
#include "tests/vmx/lib.h"
#include "tests/vmx/vmx_exits.h"

#define INFO(type, vec) (INTR_INFO_VALID_MASK | (type) | (vec))
#define INFO_EC(type, vec) (INFO(type, vec) | INTR_INFO_DELIVER_CODE_MASK)
#define ALL_BUT(vec) (~(1u << (vec)))

/* An exception exit at s.insn: interruption information, qualification
 * (the faulting address for #PF), and for a software exception the
 * instruction length (undefined for hardware exceptions, SDM 28.2.5). */
static void expect_exception(const char *name, struct snip s, uint32_t info,
			     uint32_t ec, uint64_t qual)
{
	unsigned int what = VMXT_X_RIP | VMXT_X_QUAL | VMXT_X_INTR;
	struct vmxt_exit w = {
		.reason = EXIT_REASON_EXCEPTION_NMI,
		.qual = qual,
		.intr_info = info,
		.intr_error = ec,
	};

	if ((info & INTR_INFO_INTR_TYPE_MASK) == INTR_TYPE_SOFT_EXCEPTION) {
		what |= VMXT_X_LEN;
		w.len = (uint32_t)(s.end - s.insn);
	}
	vmxt_guest_at(s.start);
	vmxt_expect_exit(name, s.insn, what, 0, &w);
}

/* The event reached the guest's handler (which ends in VMCALL): its
 * vector, error code and return RIP relative to @base. */
static void expect_delivered(const char *name, const void *base,
			     uint64_t vector, uint64_t ec, int64_t rip)
{
	struct vmxt_outcome o = vmxt_run();
	char g[96], w[96];

	snprintf(w, sizeof(w), "delivered vector 0x%llx ec 0x%llx rip%+lld",
		 (unsigned long long)vector, (unsigned long long)ec,
		 (long long)rip);
	if (o.kind != VMXT_EXIT || o.reason != EXIT_REASON_VMCALL) {
		vmxt_outcome_format(&o, g, sizeof(g));
	} else {
		snprintf(g, sizeof(g),
			 "delivered vector 0x%llx ec 0x%llx rip%+lld",
			 (unsigned long long)vmxt_guest_exc.vector,
			 (unsigned long long)vmxt_guest_exc.error_code,
			 (long long)(vmxt_guest_exc.rip - vmxt_pa(base)));
	}
	vmxt_check_str(name, !strcmp(g, w), g, w);
}

/* ---- the exception bitmap and #PF (SDM 26.2, 25.6.3) --------------------- */

VMXT_GUEST(g_ud2, "", "ud2", "");
VMXT_GUEST(g_int3, "", "int3", "");
VMXT_GUEST(g_gp, "movabs $0x8000000000000000, %rax", "mov (%rax), %rbx", "");
/* Page 0 is not mapped (docs/boot.md): #PF with CR2 = the address. */
VMXT_GUEST(g_pf_read, "mov $0x10, %eax", "mov (%rax), %rbx", "");
VMXT_GUEST(g_pf_write, "mov $0x20, %eax", "mov %rbx, (%rax)", "");

static void pf_filter(uint32_t bitmap, uint32_t mask, uint32_t match)
{
	vmxt_vmcs_baseline();
	vmxt_wr(EXCEPTION_BITMAP, bitmap);
	vmxt_wr(PAGE_FAULT_ERROR_CODE_MASK, mask);
	vmxt_wr(PAGE_FAULT_ERROR_CODE_MATCH, match);
}

void exits_test_exceptions(void)
{
	const uint32_t hw = INTR_TYPE_HARD_EXCEPTION;
	const uint32_t pf = INFO_EC(hw, PF_VECTOR);
	const uint32_t w = PFERR_WRITE_MASK;

	vmxt_vmcs_baseline();
	expect_exception("ud_intercepted", SNIP(g_ud2), INFO(hw, UD_VECTOR), 0,
			 0);
	expect_exception("int3_intercepted", SNIP(g_int3),
			 INFO(INTR_TYPE_SOFT_EXCEPTION, BP_VECTOR), 0, 0);
	expect_exception("gp_intercepted_with_error_code", SNIP(g_gp),
			 INFO_EC(hw, GP_VECTOR), 0, 0);
	expect_exception("pf_read_intercepted", SNIP(g_pf_read), pf, 0, 0x10);
	expect_exception("pf_write_intercepted", SNIP(g_pf_write), pf, w, 0x20);

	vmxt_vmcs_baseline();
	vmxt_wr(EXCEPTION_BITMAP, ALL_BUT(UD_VECTOR));
	vmxt_guest_at(g_ud2);
	expect_delivered("ud_not_intercepted", g_ud2_insn, UD_VECTOR, ~0ull, 0);
	vmxt_wr(EXCEPTION_BITMAP, ALL_BUT(BP_VECTOR));
	vmxt_guest_at(g_int3);
	expect_delivered("int3_not_intercepted", g_int3_insn, BP_VECTOR, ~0ull,
			 1);

	/* #PF: with (error code & mask) == match the bitmap bit decides;
	 * otherwise its opposite does. */
	pf_filter(~0u, w, w);
	expect_exception("pf_bit_set_error_code_matches", SNIP(g_pf_write), pf,
			 w, 0x20);
	vmxt_guest_at(g_pf_read);
	expect_delivered("pf_bit_set_error_code_differs", g_pf_read_insn,
			 PF_VECTOR, 0, 0);
	pf_filter(ALL_BUT(PF_VECTOR), w, w);
	expect_exception("pf_bit_clear_error_code_differs", SNIP(g_pf_read), pf,
			 0, 0x10);
	vmxt_guest_at(g_pf_write);
	expect_delivered("pf_bit_clear_error_code_matches", g_pf_write_insn,
			 PF_VECTOR, w, 0);
	pf_filter(ALL_BUT(PF_VECTOR), 0, 0);
	vmxt_guest_at(g_pf_read);
	expect_delivered("pf_bit_clear_mask_0_match_0", g_pf_read_insn,
			 PF_VECTOR, 0, 0);

	/* A fault while delivering an exception: the exit reports it, and
	 * the IDT-vectoring information the event being delivered. #NP of
	 * gate 6: error code = 6 * 8 + IDT (2) + EXT (1) (SDM 6.13). */
	vmxt_vmcs_baseline();
	vmxt_wr(EXCEPTION_BITMAP, ALL_BUT(UD_VECTOR));
	vmxt_guest_idt_gate_present(UD_VECTOR, false);
	{
		struct vmxt_exit x = {
			.reason = EXIT_REASON_EXCEPTION_NMI,
			.intr_info = INFO_EC(hw, NP_VECTOR),
			.intr_error = UD_VECTOR * 8 + 3,
			.vect_info = INFO(hw, UD_VECTOR),
		};

		vmxt_guest_at(g_ud2);
		vmxt_expect_exit("np_while_delivering_ud", g_ud2_insn,
				 VMXT_X_RIP | VMXT_X_INTR | VMXT_X_VECT, 0, &x);
	}
	vmxt_guest_idt_gate_present(UD_VECTOR, true);
}

/* ---- event injection (SDM 27.6) ------------------------------------------ */

static void inject(uint32_t info, uint32_t ec, uint32_t len)
{
	vmxt_vmcs_baseline();
	vmxt_wr(VM_ENTRY_INTR_INFO_FIELD, info);
	vmxt_wr(VM_ENTRY_EXCEPTION_ERROR_CODE, ec);
	vmxt_wr(VM_ENTRY_INSTRUCTION_LEN, len);
}

void exits_test_injection(void)
{
	const uint32_t hw = INTR_TYPE_HARD_EXCEPTION;
	const char *at = vmxt_guest_vmcall;

	/* Injected events reach the guest's IDT even though every
	 * exception is intercepted: injection is not subject to the
	 * exception bitmap. Faults return to the entry RIP, software
	 * events past the given instruction length. */
	inject(INFO_EC(hw, GP_VECTOR), 0x1234, 0);
	expect_delivered("inject_gp_with_error_code", at, GP_VECTOR, 0x1234, 0);
	inject(INFO_EC(hw, GP_VECTOR), 0x8000, 0);
	expect_delivered("inject_gp_error_code_bit_15", at, GP_VECTOR, 0x8000,
			 0);
	inject(INFO(hw, UD_VECTOR), 0, 0);
	expect_delivered("inject_ud", at, UD_VECTOR, ~0ull, 0);
	vmxt_check_u64("exit_clears_injection_valid_bit",
		       vmxt_rd(VM_ENTRY_INTR_INFO_FIELD),
		       INFO(hw, UD_VECTOR) & ~INTR_INFO_VALID_MASK);
	inject(INFO(INTR_TYPE_SOFT_INTR, 0x30), 0, 2);
	expect_delivered("inject_software_interrupt_length_2", at, 0x30, ~0ull,
			 2);
	inject(INFO(INTR_TYPE_SOFT_EXCEPTION, BP_VECTOR), 0, 1);
	expect_delivered("inject_software_exception_length_1", at, BP_VECTOR,
			 ~0ull, 1);
	inject(INFO(INTR_TYPE_PRIV_SW_EXCEPTION, DB_VECTOR), 0, 1);
	expect_delivered("inject_privileged_software_exception_length_1", at,
			 DB_VECTOR, ~0ull, 1);
	inject(INFO(INTR_TYPE_NMI_INTR, NMI_VECTOR), 0, 0);
	expect_delivered("inject_nmi", at, NMI_VECTOR, ~0ull, 0);
	inject(INFO(INTR_TYPE_EXT_INTR, 0x30), 0, 0);
	vmxt_set_bits(GUEST_RFLAGS, X86_EFLAGS_IF);
	expect_delivered("inject_external_interrupt", at, 0x30, ~0ull, 0);

	/* An injected event whose delivery faults: the IDT-vectoring
	 * information names it (SDM 27.6.1.2). */
	inject(INFO(hw, UD_VECTOR), 0, 0);
	vmxt_guest_idt_gate_present(UD_VECTOR, false);
	{
		struct vmxt_exit x = {
			.reason = EXIT_REASON_EXCEPTION_NMI,
			.intr_info = INFO_EC(hw, NP_VECTOR),
			.intr_error = UD_VECTOR * 8 + 3,
			.vect_info = INFO(hw, UD_VECTOR),
		};

		vmxt_expect_exit("inject_ud_through_absent_gate", at,
				 VMXT_X_RIP | VMXT_X_INTR | VMXT_X_VECT, 0, &x);
	}
	vmxt_guest_idt_gate_present(UD_VECTOR, true);
}

/* ---- triple fault and double fault --------------------------------------- */

void exits_test_triple_fault(void)
{
	struct vmxt_exit x = { .reason = EXIT_REASON_TRIPLE_FAULT };
	struct vmxt_exit df = {
		.reason = EXIT_REASON_EXCEPTION_NMI,
		.intr_info = INFO_EC(INTR_TYPE_HARD_EXCEPTION, DF_VECTOR),
		.intr_error = 0,
	};

	/* No IDT: #UD, then #GP for the IDT limit twice, #DF, shutdown. */
	vmxt_vmcs_baseline();
	vmxt_wr(EXCEPTION_BITMAP, 0);
	vmxt_wr(GUEST_IDTR_LIMIT, 0);
	vmxt_guest_at(g_ud2);
	vmxt_expect_exit("triple_fault", g_ud2_insn,
			 VMXT_X_QUAL | VMXT_X_INTR | VMXT_X_VECT, 0, &x);
	/* With #DF intercepted the double fault exits instead; it is not
	 * considered to occur during event delivery (SDM 28.2.4). */
	vmxt_vmcs_baseline();
	vmxt_wr(EXCEPTION_BITMAP, 1u << DF_VECTOR);
	vmxt_wr(GUEST_IDTR_LIMIT, 0);
	vmxt_guest_at(g_ud2);
	vmxt_expect_exit("double_fault_intercepted", g_ud2_insn,
			 VMXT_X_INTR | VMXT_X_VECT, 0, &df);
}

/* ---- EPT (SDM 30.3.3) -------------------------------------------------------
 *
 * Five data pages with their own EPT leaf entries: not present, read-
 * only, execute-only, write-only (a misconfiguration) and a reserved
 * memory type (another one); two code pages, not present and read/write
 * without execute; and a private page-directory page for the linear
 * address 1 GiB, to fault on a guest paging-structure access.
 */
enum { EPT_NP, EPT_RO, EPT_XO, EPT_WO, EPT_BAD_MT, EPT_NR_PAGES };

uint8_t exits_ept_pages[EPT_NR_PAGES][VMXT_PAGE]
	__attribute__((aligned(VMXT_PAGE)));
static uint64_t exits_walk_pd[512] __attribute__((aligned(VMXT_PAGE)));
static uint64_t exits_walk_pt[512] __attribute__((aligned(VMXT_PAGE)));

#define WALK_LA GiB(1)

/* clang-format off */
__asm__(".pushsection .text.vmxt_fetch, \"ax\"\n"
	".p2align 12\n"
	".globl exits_fetch_np\n"
	"exits_fetch_np:\n\t"
	"vmcall\n\t"
	"ud2\n"
	".p2align 12\n"
	".globl exits_fetch_nx\n"
	"exits_fetch_nx:\n\t"
	"vmcall\n\t"
	"ud2\n"
	".p2align 12\n"
	".popsection");
/* clang-format on */
extern const char exits_fetch_np[], exits_fetch_nx[];

VMXT_GUEST(g_ept_read_np, "lea exits_ept_pages+0x18(%rip), %rax",
	   "mov (%rax), %rbx", "");
VMXT_GUEST(g_ept_write_ro, "lea exits_ept_pages+0x1000(%rip), %rax",
	   "mov %rbx, 0x20(%rax)", "");
VMXT_GUEST(g_ept_read_ro, "lea exits_ept_pages+0x1000(%rip), %rax",
	   "mov 0x28(%rax), %rbx", "");
VMXT_GUEST(g_ept_read_xo, "lea exits_ept_pages+0x2000(%rip), %rax",
	   "mov 0x30(%rax), %rbx", "");
VMXT_GUEST(g_ept_read_wo, "lea exits_ept_pages+0x3000(%rip), %rax",
	   "mov 0x38(%rax), %rbx", "");
VMXT_GUEST(g_ept_read_bad_mt, "lea exits_ept_pages+0x4000(%rip), %rax",
	   "mov 0x40(%rax), %rbx", "");
VMXT_GUEST(g_ept_walk, "mov $0x40000048, %eax", "mov (%rax), %rbx", "");

/* Qualification of an EPT violation (SDM Table 28-7): the access, the
 * rights of the translation, and for a linear access bit 7, plus bit 8
 * when the address was the final translation, not a paging entry. */
#define EPT_QUAL(acc, rights, final)                                          \
	((uint64_t)(acc) | ((uint64_t)(rights) << EPT_VIOLATION_PROT_SHIFT) | \
	 EPT_VIOLATION_GVA_IS_VALID |                                         \
	 ((final) ? EPT_VIOLATION_GVA_TRANSLATED : 0))

static void expect_violation(const char *name, const char *start,
			     const char *insn, uint64_t qual, uint64_t addr)
{
	struct vmxt_exit w = {
		.reason = EXIT_REASON_EPT_VIOLATION,
		.qual = qual,
		.gpa = addr,
		.gla = addr,
	};

	vmxt_guest_at(start);
	vmxt_expect_exit(name, insn,
			 VMXT_X_RIP | VMXT_X_QUAL | VMXT_X_GPA | VMXT_X_GLA, 0,
			 &w);
}

static void expect_misconfig(const char *name, struct snip s, uint64_t gpa)
{
	struct vmxt_exit w = {
		.reason = EXIT_REASON_EPT_MISCONFIG,
		.gpa = gpa,
	};

	vmxt_guest_at(s.start);
	vmxt_expect_exit(name, s.insn, VMXT_X_RIP | VMXT_X_GPA, 0, &w);
}

/* The guest's page tables map WALK_LA through exits_walk_pd and
 * exits_walk_pt to exits_ept_pages[EPT_RO], accessed and dirty already:
 * no A/D update writes to the paging structures. */
static void walk_tables_build(void)
{
	const uint64_t f = PTE_P | PTE_RW | PTE_A;
	uint64_t *pdpt = (uint64_t *)(uintptr_t)BOOT_PDPT;

	exits_walk_pt[0] = vmxt_pa(exits_ept_pages[EPT_RO]) | f | PTE_D;
	exits_walk_pd[0] = vmxt_pa(exits_walk_pt) | f;
	pdpt[WALK_LA >> 30] = vmxt_pa(exits_walk_pd) | f;
}

void exits_test_ept(void)
{
	uint8_t *p = &exits_ept_pages[0][0];
	const uint64_t wb = EPT_MT(EPT_MT_WB);

	if (!(vmxt_caps.ept_vpid & VMX_EPT_EXECUTE_ONLY_BIT)) {
		vmxt_skip("ept", "execute-only EPT translations");
		return;
	}
	walk_tables_build();
	vmxt_ept_page(vmxt_pa(p + EPT_NP * VMXT_PAGE), 0);
	vmxt_ept_page(vmxt_pa(p + EPT_RO * VMXT_PAGE), EPT_READ | wb);
	vmxt_ept_page(vmxt_pa(p + EPT_XO * VMXT_PAGE), EPT_EXEC | wb);
	vmxt_ept_page(vmxt_pa(p + EPT_WO * VMXT_PAGE), EPT_WRITE | wb);
	vmxt_ept_page(vmxt_pa(p + EPT_BAD_MT * VMXT_PAGE), EPT_RWX | EPT_MT(2));
	vmxt_ept_page(vmxt_pa(exits_fetch_np), 0);
	vmxt_ept_page(vmxt_pa(exits_fetch_nx), EPT_READ | EPT_WRITE | wb);
	vmxt_ept_page(vmxt_pa(exits_walk_pd), 0);

	vmxt_vmcs_baseline();
	vmxt_ept_enable();
	expect_violation(
		"ept_read_not_present", g_ept_read_np, g_ept_read_np_insn,
		EPT_QUAL(EPT_VIOLATION_ACC_READ, 0, 1), vmxt_pa(p) + 0x18);
	expect_violation("ept_write_read_only", g_ept_write_ro,
			 g_ept_write_ro_insn,
			 EPT_QUAL(EPT_VIOLATION_ACC_WRITE, EPT_READ, 1),
			 vmxt_pa(p) + 0x1020);
	exits_expect_no_exit("ept_read_read_only", SNIP(g_ept_read_ro));
	expect_violation("ept_read_execute_only", g_ept_read_xo,
			 g_ept_read_xo_insn,
			 EPT_QUAL(EPT_VIOLATION_ACC_READ, EPT_EXEC, 1),
			 vmxt_pa(p) + 0x2030);
	expect_violation("ept_fetch_not_present", exits_fetch_np,
			 exits_fetch_np,
			 EPT_QUAL(EPT_VIOLATION_ACC_INSTR, 0, 1),
			 vmxt_pa(exits_fetch_np));
	expect_violation(
		"ept_fetch_not_executable", exits_fetch_nx, exits_fetch_nx,
		EPT_QUAL(EPT_VIOLATION_ACC_INSTR, EPT_READ | EPT_WRITE, 1),
		vmxt_pa(exits_fetch_nx));
	/* A guest paging-structure entry in a page EPT does not map: the
	 * linear address is valid but was not translated (bit 8 clear), the
	 * guest-physical address is the entry's. */
	{
		struct vmxt_exit w = {
			.reason = EXIT_REASON_EPT_VIOLATION,
			.qual = EPT_QUAL(EPT_VIOLATION_ACC_READ, 0, 0),
			.gpa = vmxt_pa(exits_walk_pd),
			.gla = WALK_LA + 0x48,
		};

		vmxt_guest_at(g_ept_walk);
		vmxt_expect_exit(
			"ept_guest_paging_entry_not_present", g_ept_walk_insn,
			VMXT_X_RIP | VMXT_X_QUAL | VMXT_X_GPA | VMXT_X_GLA, 0,
			&w);
	}
	expect_misconfig("ept_misconfig_write_only", SNIP(g_ept_read_wo),
			 vmxt_pa(p) + 0x3038);
	expect_misconfig("ept_misconfig_memory_type_2", SNIP(g_ept_read_bad_mt),
			 vmxt_pa(p) + 0x4040);

	/* Once mapped, the same accesses run. */
	vmxt_ept_reset();
	exits_expect_no_exit("ept_read_mapped", SNIP(g_ept_read_np));
	exits_expect_no_exit("ept_guest_paging_entry_mapped", SNIP(g_ept_walk));
	vmxt_guest_at(exits_fetch_np);
	{
		struct vmxt_exit w = { .reason = EXIT_REASON_VMCALL };

		vmxt_expect_exit("ept_fetch_mapped", exits_fetch_np, VMXT_X_RIP,
				 0, &w);
	}
}
