/* SPDX-License-Identifier: MIT */
/*
 * bt_l2.c - --bt adaptive|always (l0/bt_l2.h): before L0 enters L2 on
 * vmcs02 it may run L2's code region from its translation cache instead,
 * in a container VMCS of L0's own on a shadow MMU over L2's page tables
 * (L2-physical to L1-physical through ept12, the walk of ept02's fills).
 * A translated CPUID, or an IN/OUT vmcs12 intercepts (SDM 26.1.2-26.1.3),
 * is reflected to L1 with the exit information the processor would give
 * (SDM 28.2.1, Table 28-5) and no VM exit; L1's translated handler then
 * VMRESUMEs, and L2 comes back here. Anything else the translation cannot
 * reproduce falls back to vmcs02 at that instruction. Monitor side.
 */
#include "l0/bt_l2.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <asm/vmx.h>

#include "arch/ept.h"
#include "arch/vmcs.h"
#include "arch/vmx_exit_qual.h"
#include "arch/x86_msr.h"
#include "arch/x86_paging.h"
#include "arch/x86_regs.h"
#include "l0/errmsg.h"
#include "l0/nvmx.h"
#include "mmu/l1mem.h"
#include "vmcs-merge/vmcs12.h"
#include "vtx/vtx.h"

#define PAGE_OF(a) ((a) & ~(uint64_t)(PAGE_SIZE - 1))

/* ---- L2's memory ------------------------------------------------------------ */

/* L2-physical to L1-physical through ept12, with ept12's rights (the
 * walk ept02 fills use; the fill it makes is the one the hardware path
 * would make at that access). */
static int l2_gpa_xlate(void *opaque, gpa_t gpa, bool write, gpa_t *l1)
{
	struct l0_bt_l2 *b = opaque;
	struct ept02_walk walk;

	if (ept02_handle_violation(&b->vm->nvmx->ept02, gpa,
				   write ? EPT_WRITE : EPT_READ,
				   &walk) != EPT02_FILLED)
		return -EFAULT;
	*l1 = walk.l1_gpa;
	return 0;
}

/* L2-linear gva's L1-physical address through L2's shadow, filling the
 * leaf as the access would. 0 or -EFAULT. */
static int l2_addr(struct l0_bt_l2 *b, uint64_t gva, bool write, gpa_t *gpa)
{
	uint64_t pte = shadow_lookup(&b->shadow, gva);
	uint32_t error;
	gpa_t g;

	if (!pte || (write && !(pte & PTE_RW))) {
		if (shadow_handle_pf(&b->shadow, gva,
				     write ? PFERR_WRITE_MASK : 0, false,
				     &error, &g) != SHADOW_PF_FILLED)
			return -EFAULT;
		pte = shadow_lookup(&b->shadow, gva);
		if (!pte || (write && !(pte & PTE_RW)))
			return -EFAULT;
	}
	*gpa = (pte & PTE_ADDR_MASK) | (gva & (PAGE_SIZE - 1));
	return 0;
}

static int l2_access(struct l0_bt_l2 *b, uint64_t gva, void *buf, size_t len,
		     bool write)
{
	uint8_t *p = buf;

	while (len) {
		size_t n = PAGE_SIZE - (gva & (PAGE_SIZE - 1));
		gpa_t gpa;
		int ret;

		if (n > len)
			n = len;
		if (l2_addr(b, gva, write, &gpa))
			return -EFAULT;
		ret = write ? l1mem_write(&b->vm->mem, gpa, p, n)
			    : l1mem_read(&b->vm->mem, gpa, p, n);
		if (ret)
			return -EFAULT;
		gva += n;
		p += n;
		len -= n;
	}
	return 0;
}

static int l2_read(void *opaque, uint64_t gva, void *buf, size_t len)
{
	return l2_access(opaque, gva, buf, len, false);
}

static int l2_write(void *opaque, uint64_t gva, const void *buf, size_t len)
{
	return l2_access(opaque, gva, (void *)buf, len, true);
}

static void l2_protect(void *opaque, uint64_t gva_page, bool wp)
{
	struct l0_bt_l2 *b = opaque;

	if (shadow_protect_gva(&b->shadow, gva_page, wp))
		l0_stop_vm(b->vm, L0_STOP_INTERNAL,
			   "--bt: no memory to protect a code page of L2");
}

static int l2_pio(void *opaque, struct vtx_pio *pio)
{
	struct l0_bt_l2 *b = opaque;

	return l0_bt_pio(b->vm, pio);
}

/* A hidden fault the shadow fills; anything else is the hardware's. */
static int l2_page_fault(void *opaque, uint64_t gva, uint32_t *ec,
			 uint64_t guest_rip, uint64_t *resume)
{
	struct l0_bt_l2 *b = opaque;
	uint64_t rflags = 0;
	uint32_t error = 0;
	gpa_t gpa = 0;

	vtx_vmread(b->vm->cpu, GUEST_RFLAGS, &rflags);
	if (shadow_handle_pf(&b->shadow, gva, *ec, rflags & X86_EFLAGS_AC,
			     &error, &gpa) == SHADOW_PF_FILLED) {
		*resume = guest_rip;
		return 0;
	}
	b->cause = L0_BT_FALLBACK_FAULT;
	return 1;
}

static uint64_t l2_read_cr3(void *opaque)
{
	struct l0_bt_l2 *b = opaque;

	return b->cr3;
}

/* ---- regions ------------------------------------------------------------------ */

static struct l0_bt_l2_region *region_find(struct l0_bt_l2 *b, uint64_t rip)
{
	for (unsigned int i = 0; i < b->nr_regions; i++)
		if (b->regions[i].page == PAGE_OF(rip))
			return &b->regions[i];
	return NULL;
}

static bool region_hot(struct l0_bt_l2 *b, uint64_t rip)
{
	struct l0_bt_l2_region *r = region_find(b, rip);

	return r && r->hot;
}

static uint64_t l2_insns_now(const struct l0_vm *vm)
{
	return vm->stats.insns_l2 + vm->stats.bt_l2.insns;
}

/*
 * The break-even in exits per window: translating a region costs about
 * translate_insn x its instructions once (one block's worth,
 * BT_BLOCK_MAX_INSNS, estimated), a translated exit a callout; a hardware
 * round trip costs the average modeled cycles of a reflected exit so far.
 */
static uint64_t break_even(struct l0_bt_l2 *b)
{
	struct l0_stats *s = &b->vm->stats;
	uint64_t cycles = 0, count = 0, once;

	for (unsigned int k = 0; k < VMX_NR_EXIT_REASONS; k++) {
		cycles += s->reflected[k].cycles;
		count += s->reflected[k].count;
	}
	once = b->translate_insn * BT_BLOCK_MAX_INSNS;
	if (!count || cycles / count <= b->callout)
		return UINT64_MAX;
	s->bt_l2.break_even = once / (cycles / count - b->callout) + 1;
	return s->bt_l2.break_even;
}

static void event(struct l0_bt_l2 *b, const struct l0_bt_l2_region *r,
		  bool to_bt, uint64_t window_insns)
{
	uint64_t rate = window_insns ? r->exits * 1000 / window_insns : 0;

	if (b->nr_events >= L0_BT_L2_EVENTS)
		return;
	snprintf(
		b->events[b->nr_events++], sizeof(b->events[0]),
		"region 0x%" PRIx64 " to %s after %" PRIu64 " exits (%" PRIu64
		" per 1,000 L2 instructions in this window); break-even %" PRIu64
		" exits per %u-instruction window",
		r->page, to_bt ? "translation" : "hardware", r->total, rate,
		b->break_even, L0_BT_L2_WINDOW);
}

/* An entry of L2 at rip (after an exit, but the first): counted against
 * its region; the window's end cools regions below the break-even. */
static void region_note_entry(struct l0_bt_l2 *b, uint64_t rip)
{
	struct l0_vm *vm = b->vm;
	struct l0_bt_l2_region *r = region_find(b, rip);
	uint64_t now = l2_insns_now(vm), window = now - b->window_start;

	if (!r) {
		if (b->nr_regions == L0_BT_L2_REGIONS)
			return;
		r = &b->regions[b->nr_regions++];
		memset(r, 0, sizeof(*r));
		r->page = PAGE_OF(rip);
	}
	r->exits++;
	r->total++;
	if (!r->hot) {
		b->break_even = b->mode == NESTVM_BT_ALWAYS ? 1 : break_even(b);
		if (r->exits >= b->break_even) {
			r->hot = true;
			vm->stats.bt_l2.to_translation++;
			event(b, r, true, window);
		}
	}
	if (b->mode == NESTVM_BT_ALWAYS || window < L0_BT_L2_WINDOW)
		return;
	b->break_even = break_even(b);
	for (unsigned int i = 0; i < b->nr_regions; i++) {
		struct l0_bt_l2_region *x = &b->regions[i];

		if (x->hot && x->exits < b->break_even) {
			x->hot = false;
			vm->stats.bt_l2.to_hardware++;
			event(b, x, false, window);
		}
		x->exits = 0;
	}
	b->window_start = now;
}

/* ---- exiting instructions --------------------------------------------------- */

/* IN/OUT with an imm8 or DX port (e4-e7, ec-ef, a 66 prefix for 16
 * bits): the qualification of its I/O exit (SDM Table 28-5). */
static bool io_qual(struct l0_bt_l2 *b, uint64_t rip, uint64_t *qual)
{
	struct kvm_regs regs;
	uint8_t c[3] = { 0 };
	unsigned int i = 0, size = 4, op;
	uint16_t port;
	bool in, imm;

	if (l2_read(b, rip, c, sizeof(c)))
		return false;
	if (c[0] == 0x66) {
		size = 2;
		i++;
	}
	op = c[i];
	if ((op & 0xf4) != 0xe4)
		return false;
	in = !(op & 2);
	imm = !(op & 8);
	if (!(op & 1))
		size = 1;
	vtx_cpu_get_regs(b->vm->cpu, &regs);
	port = imm ? c[i + 1] : (uint16_t)regs.rdx;
	*qual = vmx_build_io_qual(
		port, size, (in ? IO_QUAL_IN : 0) | (imm ? IO_QUAL_IMM : 0));
	return true;
}

/* The exit the processor would give for the instruction at site, kept
 * for the reflection after the run (SDM 28.2: reason, qualification,
 * length; no event; instruction information 0 as the model writes it). */
static int reflect(struct l0_bt_l2 *b, const struct bt_site *site,
		   uint32_t reason, uint64_t qual)
{
	memset(&b->exit, 0, sizeof(b->exit));
	b->exit.reason = reason;
	b->exit.qual = qual;
	b->exit.insn_len = (uint32_t)(site->guest_next - site->guest_rip);
	b->reflect = true;
	return BT_OP_LEAVE;
}

static int l2_exiting(void *opaque, struct vtx_cpu *cpu,
		      const struct bt_site *site)
{
	struct l0_bt_l2 *b = opaque;
	struct nested_l2_exit x = { 0 };
	uint64_t qual = 0;

	(void)cpu;
	/* Leaving the translated region: the hardware runs from here. */
	if (!region_hot(b, site->guest_rip)) {
		b->cause = L0_BT_FALLBACK_REGION;
		return BT_OP_LEAVE;
	}
	switch (site->kind) {
	case BT_CALLOUT_CPUID:
		/* Unconditional for L2 (SDM 26.1.2). */
		return reflect(b, site, EXIT_REASON_CPUID, 0);
	case BT_CALLOUT_IO:
		if (!io_qual(b, site->guest_rip, &qual))
			break;
		x.info.reason = EXIT_REASON_IO_INSTRUCTION;
		x.info.qual = qual;
		if (nested_l1_wants_exit(b->vm->nvmx->vmcs12, &b->vm->mem, &x))
			return reflect(b, site, EXIT_REASON_IO_INSTRUCTION,
				       qual);
		/* L0's own: its bus, as handle_for_l2() does. */
		return BT_OP_DEFAULT;
	case BT_CALLOUT_PUSHF:
	case BT_CALLOUT_POPF:
		return BT_OP_DEFAULT;
	case BT_CALLOUT_EXIT:
	case BT_CALLOUT_RET:
	case BT_CALLOUT_JMP_IND:
	case BT_CALLOUT_CALL_IND:
	case BT_CALLOUT_RDTSC:
	case BT_CALLOUT_HLT:
	case BT_CALLOUT_MOV_CR:
	case BT_CALLOUT_INT:
	case BT_CALLOUT_DESC:
	case BT_CALLOUT_MSR:
	case BT_CALLOUT_INVLPG:
	case BT_CALLOUT_WBINVD:
	case BT_CALLOUT_VMX:
	case BT_CALLOUT_UNIMPL:
	case BT_NR_CALLOUT_KINDS:
		break;
	}
	/* vmcs12's controls and L0's handlers decide these on the hardware
	 * path (RDTSC offsetting, MSR bitmaps, CR masks, ...). */
	b->cause = site->kind == BT_CALLOUT_UNIMPL ? L0_BT_FALLBACK_UNIMPL
						   : L0_BT_FALLBACK_INSN;
	return BT_OP_LEAVE;
}

static const struct bt_guest_ops l2_bt_ops = {
	.read = l2_read,
	.write = l2_write,
	.protect = l2_protect,
	.pio = l2_pio,
	.page_fault = l2_page_fault,
	.read_cr3 = l2_read_cr3,
	.exiting = l2_exiting,
};

/* ---- coherence -------------------------------------------------------------- */

static void unpin_all(struct l0_bt_l2 *b)
{
	for (size_t i = 0; i < b->nr_pins; i++)
		shadow_unpin_gpa(&b->l1->shadow, b->pins[i]);
	b->nr_pins = 0;
}

static void pin(struct l0_bt_l2 *b, gpa_t gpa)
{
	if (b->nr_pins == b->cap_pins) {
		size_t cap = b->cap_pins ? 2 * b->cap_pins : 32;
		gpa_t *p = realloc(b->pins, cap * sizeof(*p));

		if (!p)
			return;
		b->pins = p;
		b->cap_pins = cap;
	}
	if (!shadow_pin_gpa(&b->l1->shadow, gpa))
		b->pins[b->nr_pins++] = PAGE_OF(gpa);
}

/*
 * L1's translated handler writes memory through L1's shadow, unseen by
 * L2's: the L1 pages of L2's page tables and translated code are kept
 * read-only there, so that such a write falls L1 back to the hardware
 * (after which L2's shadow and TC are dropped).
 */
static void pin_sync(struct l0_bt_l2 *b)
{
	unpin_all(b);
	for (size_t i = 0; i < b->shadow.nr_gpts; i++)
		pin(b, b->shadow.gpts[i].gpa);
	for (uint32_t i = 0; i < b->bt.nr_pages; i++) {
		uint64_t pte = shadow_lookup(&b->shadow, b->bt.pages[i]);

		if (pte)
			pin(b, pte & PTE_ADDR_MASK);
	}
}

/* ---- one translated run ---------------------------------------------------- */

static bool vmcs12_uses_ept(const struct vmcs12 *v)
{
	return (v->cpu_based_vm_exec_control &
		CPU_BASED_ACTIVATE_SECONDARY_CONTROLS) &&
	       (v->secondary_vm_exec_control & SECONDARY_EXEC_ENABLE_EPT);
}

/* What only the hardware path reproduces: the first entry after a
 * VMLAUNCH (the processor's own checks), an event to inject, the event
 * controls' exits, blocking or another activity state, single-step, a
 * paging mode the shadow does not cover. vmcs02 is current. */
static bool takes_translation(struct l0_bt_l2 *b, struct shadow_paging *pg)
{
	struct l0_vm *vm = b->vm;
	struct nvmx *n = vm->nvmx;
	const struct vmcs12 *v = n->vmcs12;
	const char *why;

	pg->cr0 = l0_vmread(vm, GUEST_CR0);
	pg->cr4 = l0_vmread(vm, GUEST_CR4);
	pg->efer = l0_vmread(vm, GUEST_IA32_EFER);
	return vmcs12_uses_ept(v) && !(n->run_pending && n->run_launch) &&
	       !(l0_vmread(vm, VM_ENTRY_INTR_INFO_FIELD) &
		 INTR_INFO_VALID_MASK) &&
	       !(v->cpu_based_vm_exec_control &
		 (CPU_BASED_MONITOR_TRAP_FLAG | CPU_BASED_INTR_WINDOW_EXITING |
		  CPU_BASED_NMI_WINDOW_EXITING)) &&
	       !(v->pin_based_vm_exec_control &
		 PIN_BASED_VMX_PREEMPTION_TIMER) &&
	       !l0_vmread(vm, GUEST_INTERRUPTIBILITY_INFO) &&
	       !l0_vmread(vm, GUEST_ACTIVITY_STATE) &&
	       !(l0_vmread(vm, GUEST_RFLAGS) & X86_EFLAGS_TF) &&
	       shadow_paging_supported(pg, &why);
}

/* vmcs02's guest state into the container, on L2's shadow root with the
 * TC's slot; the container becomes current. false: vmcs02 current. */
static bool enter_container(struct l0_bt_l2 *b, const struct shadow_paging *pg)
{
	struct l0_vm *vm = b->vm;
	uint64_t cr3 = l0_vmread(vm, GUEST_CR3);
	hpa_t root;

	if (!b->shadow_ready) {
		if (shadow_init(&b->shadow, &vm->area, &vm->mem, pg, cr3,
				&root))
			return false;
		b->shadow.gpa_xlate = l2_gpa_xlate;
		b->shadow.gpa_xlate_opaque = b;
		shadow_set_top(&b->shadow, b->tc_pml4e);
		b->shadow_ready = true;
		b->l1->also = &b->shadow;
	}
	/* L1 or L2 ran on the hardware since: their writes to L2's code,
	 * page tables or ept12 went unseen. */
	if (!b->ran || vm->stats.insns_l1 != b->seen_l1 ||
	    vm->stats.insns_l2 != b->seen_l2) {
		vm->stats.bt_l2.coherence_resets++;
		bt_flush(&b->bt);
		unpin_all(b);
		if (shadow_reset(&b->shadow, &root))
			return false;
	}
	if (b->ran && cr3 != b->cr3)
		bt_flush(&b->bt);
	b->cr3 = cr3;
	if (shadow_set_paging(&b->shadow, pg, &root) ||
	    shadow_set_cr3(&b->shadow, cr3, &root))
		return false;
	return !l0_bt_container_enter(vm, &b->bt, vm->vmcs02, b->container,
				      root);
}

/* L2's state back into vmcs02 at rip; vmcs02 current. */
static void leave_container(struct l0_bt_l2 *b, uint64_t rip)
{
	l0_bt_container_leave(b->vm, &b->bt, b->vm->vmcs02, rip);
}

/* Both levels' TSC move by what was charged, not by the model's clock
 * (as for L1's translated handler): vmcs02 now, vmcs01 for the next
 * nested entry's vmcs02. vmcs02 current before and after. */
static void tsc_follow(struct l0_bt_l2 *b, int64_t delta)
{
	struct l0_vm *vm = b->vm;

	l0_vmwrite(vm, TSC_OFFSET, l0_vmread(vm, TSC_OFFSET) + (uint64_t)delta);
	vm->nvmx->cfg02.tsc_offset += (uint64_t)delta;
	if (vtx_vmptrld(vm->cpu, vm->vmcs01))
		return;
	l0_vmwrite(vm, TSC_OFFSET, l0_vmread(vm, TSC_OFFSET) + (uint64_t)delta);
	vtx_vmptrld(vm->cpu, vm->vmcs02);
}

static bool bt_l2_run(struct l0_vm *vm, enum l0_exit_action *act)
{
	struct l0_bt_l2 *b = vm->bt_l2;
	struct nvmx *n = vm->nvmx;
	struct shadow_paging pg;
	struct vtx_cpu_stats s0, s1;
	struct bt_stop stop;
	uint64_t rip, charged;
	int ret;

	if (b->force_hw) {
		b->force_hw = false;
		return false;
	}
	rip = l0_vmread(vm, GUEST_RIP);
	region_note_entry(b, rip);
	if (!region_hot(b, rip))
		return false;
	if (!takes_translation(b, &pg)) {
		vm->stats.bt_l2.hardware++;
		return false;
	}
	/* The entry closes the span of the exit L1 handled, as the
	 * hardware entry would. */
	l0_account_l0_work(vm);
	vm->span = -1;
	vtx_cpu_get_stats(vm->cpu, &s0);
	charged = l0_bt_charges(&b->bt);
	if (!enter_container(b, &pg)) {
		vm->stats.bt_l2.fallbacks[L0_BT_FALLBACK_STATE]++;
		return false;
	}
	/* What the first exit of the entry would record (nested.c). */
	if (n->run_pending) {
		n->run_pending = false;
		vm->stats.nested_entries++;
	}
	vm->stats.bt_l2.runs++;
	b->ran = true;
	b->reflect = false;
	b->cause = L0_BT_FALLBACK_EXIT;
	vm->stop.why[0] = 0;
	ret = bt_run(&b->bt, vm->cpu, rip, &stop);
	if (ret) {
		vtx_vmptrld(vm->cpu, vm->vmcs02);
		*act = l0_stop_vm(vm, L0_STOP_INTERNAL, "--bt: %s", b->bt.err);
		return true;
	}
	leave_container(b, stop.guest_rip);
	vtx_cpu_get_stats(vm->cpu, &s1);
	charged = s1.cycles_nonroot - s0.cycles_nonroot +
		  l0_bt_charges(&b->bt) - charged;
	vm->stats.bt_l2.cycles_hidden += s1.cycles - s0.cycles;
	vm->stats.bt_l2.hidden_switch += s1.cycles_switch - s0.cycles_switch;
	vm->stats.bt_l2.hidden_host += s1.cycles_host - s0.cycles_host;
	vm->stats.bt_l2.hidden_vmreads += s1.host_vmreads - s0.host_vmreads;
	vm->stats.bt_l2.hidden_vmwrites += s1.host_vmwrites - s0.host_vmwrites;
	tsc_follow(b, (int64_t)charged - (int64_t)(s1.cycles - s0.cycles));
	l0_account_translated_l2(vm, charged, s1.insns - s0.insns);
	pin_sync(b);
	b->seen_l1 = vm->stats.insns_l1;
	b->seen_l2 = vm->stats.insns_l2;
	if (vm->stop.why[0]) {
		vm->stop.rip = stop.guest_rip;
		*act = EXIT_STOP_VM;
		return true;
	}
	if (stop.reason == BT_STOP_LEAVE && b->reflect) {
		uint32_t basic = b->exit.reason;

		vm->stats.l2_exits[basic]++;
		vm->stats.bt_l2.reflected++;
		vm->exit_synthesized = true;
		*act = nested_reflect_vmexit(vm, &b->exit);
		return true;
	}
	switch (stop.reason) {
	case BT_STOP_LEAVE:
		vm->stats.bt_l2.fallbacks[b->cause]++;
		break;
	case BT_STOP_UNIMPL:
		vm->stats.bt_l2.fallbacks[L0_BT_FALLBACK_UNIMPL]++;
		break;
	case BT_STOP_HALTED:
		vm->stats.bt_l2.fallbacks[L0_BT_FALLBACK_INSN]++;
		break;
	case BT_STOP_PLATFORM:
	case BT_STOP_EXIT:
	case BT_STOP_INSN_LIMIT: /* no budget is set on this translator */
		vm->stats.bt_l2.fallbacks[L0_BT_FALLBACK_EXIT]++;
		break;
	}
	/* The instruction at stop.guest_rip runs on VT-x. */
	b->force_hw = true;
	*act = EXIT_RESUME;
	return true;
}

/* ---- setup --------------------------------------------------------------------- */

int l0_bt_l2_init(struct l0_bt_l2 *b, struct l0_bt_l1 *l1, struct l0_vm *vm,
		  const struct l0_profile *prof, enum nestvm_bt_mode mode,
		  char *err, size_t errlen)
{
	struct bt_config cfg = {
		.m = vm->m,
		.costs = {
			.translate_insn = prof->bt_translate_insn,
			.callout = prof->bt_callout,
			.trap = prof->bt_trap,
		},
		.tc_gva = BT_TC_GVA,
		.tc_size = L0_BT_L2_TC_SIZE,
		.leave_on_fault = true,
		.cr8_exits = true,
		.ops = &l2_bt_ops,
		.opaque = b,
	};
	int ret;

	memset(b, 0, sizeof(*b));
	b->vm = vm;
	b->l1 = l1;
	b->mode = mode;
	b->translate_insn = prof->bt_translate_insn;
	b->callout = prof->bt_callout;
	ret = l0_bt_tc_alloc(vm, L0_BT_L2_TC_SIZE, &cfg.tc_hpa, &b->tc_pml4e);
	if (!ret)
		ret = l0_bt_container_init(vm, &b->container);
	if (ret)
		return errmsg(ret, err, errlen,
			      "--bt: no room in the L0 area for L2's "
			      "translation cache and container");
	ret = bt_init(&b->bt, &cfg);
	if (ret)
		return errmsg(ret, err, errlen, "--bt: %s", strerror(-ret));
	b->ready = true;
	vm->bt_l2 = b;
	vm->bt_l2_run = bt_l2_run;
	return 0;
}

void l0_bt_l2_destroy(struct l0_bt_l2 *b)
{
	if (b->vm && b->vm->bt_l2 == b) {
		b->vm->bt_l2 = NULL;
		b->vm->bt_l2_run = NULL;
	}
	if (b->l1 && b->l1->also == &b->shadow)
		b->l1->also = NULL;
	if (b->ready)
		bt_destroy(&b->bt);
	if (b->shadow_ready)
		shadow_destroy(&b->shadow);
	free(b->pins);
	b->pins = NULL;
	b->ready = b->shadow_ready = false;
}
