/* SPDX-License-Identifier: MIT */
/*
 * vmx_mtf.c - the monitor trap flag (SDM Vol. 3C 26.5.2, 27.6.3): an MTF
 * VM exit after one guest instruction, after the delivery of an injected
 * event (at the handler, the delivery complete), and pending at entry by
 * an injection of type 7. Run under Bochs with a CPU model that offers
 * MTF (tools/bochs-run --cpu corei7_icelake_u; corei7_skylake_x does
 * not). Guest side (runs as a hypervisor).
 */
#include <asm/vmx.h>

#include "arch/vmcs.h"
#include "arch/vmx_exit_qual.h"
#include "arch/x86_regs.h"
#include "guests/rt/rt.h"
#include "tests/vmx/lib.h"

/* The guest's exception stubs (lib_entry.S): 16 bytes per vector. */
extern const char vmxt_guest_stubs[];

#define INFO(type, vec) (INTR_INFO_VALID_MASK | (type) | (vec))

VMXT_GUEST(g_nop, "", "nop", "nop");

static uint64_t stub_pa(unsigned int vector)
{
	return vmxt_pa(vmxt_guest_stubs) + vector * 16ull;
}

static void guest(const void *rip, uint32_t proc)
{
	vmxt_vmcs_baseline();
	vmxt_guest_at(rip);
	vmxt_set_bits(CPU_BASED_VM_EXEC_CONTROL, proc);
}

/* MTF exits have no qualification or length (SDM 28.2.1): the reason
 * and RIP (relative to @base). */
static void expect_at(const char *name, uint32_t reason, const void *base,
		      int64_t rip)
{
	const struct vmxt_exit w = { .reason = reason, .rip = rip };

	vmxt_expect_exit(name, base, VMXT_X_RIP, 0, &w);
}

/* ---- monitor trap flag (SDM 26.5.2) --------------------------------------- */

static void test_mtf(void)
{
	if (!vmxt_need("monitor_trap_flag", vmxt_caps.proc_may1,
		       CPU_BASED_MONITOR_TRAP_FLAG, "the monitor trap flag"))
		return;
	guest(g_nop_insn, CPU_BASED_MONITOR_TRAP_FLAG);
	expect_at("mtf_after_one_insn_sdm_26_5_2",
		  EXIT_REASON_MONITOR_TRAP_FLAG, g_nop_end, 0);
	/* after an injected #UD: at the handler, before its first
	 * instruction, the delivery complete */
	guest(g_nop_insn, CPU_BASED_MONITOR_TRAP_FLAG);
	vmxt_wr(VM_ENTRY_INTR_INFO_FIELD, INFO(INTR_TYPE_HARD_EXCEPTION, 6));
	expect_at("mtf_after_injected_event_sdm_26_5_2",
		  EXIT_REASON_MONITOR_TRAP_FLAG, (const void *)stub_pa(6), 0);
	vmxt_check_u64("mtf_after_injected_event_vectoring_info",
		       vmxt_rd(IDT_VECTORING_INFO_FIELD) & INTR_INFO_VALID_MASK,
		       0);
	/* type 7 with vector 0 makes an MTF exit pending at entry */
	guest(g_nop_insn, CPU_BASED_MONITOR_TRAP_FLAG);
	vmxt_wr(VM_ENTRY_INTR_INFO_FIELD, INFO(INTR_TYPE_OTHER_EVENT, 0));
	expect_at("mtf_pending_by_type7_injection",
		  EXIT_REASON_MONITOR_TRAP_FLAG, g_nop_insn, 0);
}

int main(const struct nestvm_bootinfo *bi)
{
	(void)bi;
	vmxt_begin("vmx_mtf");
	vmxt_vmx_on();
	vmxt_vmcs_load();
	test_mtf();
	return vmxt_end();
}
