/* SPDX-License-Identifier: MIT */
/*
 * bt_vm.c - --vmm bt (l0/bt_vm.h): vmcs01 turned into the software VMM's
 * container (every exception exits, SDM Vol. 3C 25.6.3; EFER.SCE clear so
 * that SYSCALL of user code raises #UD), the translation cache mapped in
 * PML4 slot 511 of every shadow root, and the translator's guest accesses,
 * port I/O and #PF exits routed to L0's memory, bus and shadow MMU.
 * Monitor side.
 */
#include "l0/bt_vm.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <asm/vmx.h>

#include "arch/vmcs.h"
#include "arch/vmx_exit_qual.h"
#include "arch/x86_msr.h"
#include "arch/x86_paging.h"
#include "l0/bt_l1.h"
#include "l0/errmsg.h"
#include "l0/iobus.h"
#include "l0/shadow_vm.h"
#include "mmu/l0_area.h"
#include "mmu/l1mem.h"
#include "mmu/shadow.h"
#include "vtx/vtx.h"

/* The paging the guest believes in: its own CR3, the container's CR0,
 * CR4 and EFER (the same paging bits). */
static void guest_paging(struct l0_vm *vm, struct l1_paging *pg)
{
	pg->cr0 = l0_vmread(vm, GUEST_CR0);
	pg->cr3 = vm->shadow->cr3;
	pg->cr4 = l0_vmread(vm, GUEST_CR4);
	pg->efer = l0_vmread(vm, GUEST_IA32_EFER);
	pg->rflags = 0;
}

static int guest_read(void *opaque, uint64_t gva, void *buf, size_t len)
{
	struct l0_bt_vm *b = opaque;
	struct l1mem_fault f;
	struct l1_paging pg;

	guest_paging(b->vm, &pg);
	return l1mem_read_gva(&b->vm->mem, &pg, gva, buf, len, &f) ? -EFAULT
								   : 0;
}

static int guest_write(void *opaque, uint64_t gva, const void *buf, size_t len)
{
	struct l0_bt_vm *b = opaque;
	struct l1mem_fault f;
	struct l1_paging pg;

	guest_paging(b->vm, &pg);
	return l1mem_write_gva(&b->vm->mem, &pg, gva, buf, len, &f) ? -EFAULT
								    : 0;
}

/* Coherence of translations: the shadow keeps a code page read-only. */
static void guest_protect(void *opaque, uint64_t gva_page, bool wp)
{
	struct l0_bt_vm *b = opaque;

	if (shadow_protect_gva(b->vm->shadow, gva_page, wp))
		l0_stop_vm(b->vm, L0_STOP_INTERNAL,
			   "--vmm bt: no memory to protect a code page");
}

static int guest_pio(void *opaque, struct vtx_pio *pio)
{
	struct l0_bt_vm *b = opaque;
	struct io_access io = {
		.port = pio->port,
		.size = pio->size,
		.dir = pio->dir == VTX_PIO_IN ? IO_READ : IO_WRITE,
		.data = pio->data,
	};
	int ret = io_bus_dispatch(b->vm->bus, &io);

	pio->data = io.data;
	if (ret < 0) {
		l0_stop_vm(b->vm, L0_STOP_INTERNAL,
			   "a %u-byte port access at 0x%x failed: %s",
			   pio->size, pio->port, strerror(-ret));
		return VTX_PIO_STOP;
	}
	if (ret == IO_STOP)
		l0_stop_vm(b->vm, L0_STOP_DEVICE,
			   "a device stopped the machine");
	return ret == IO_STOP ? VTX_PIO_STOP : VTX_PIO_DONE;
}

/*
 * A #PF exit goes to the shadow MMU as under --mmu shadow, with the guest
 * RIP in GUEST_RIP (a page-table store is decoded there and skipped). A
 * fault the shadow would inject is taken back: the translator delivers
 * it through the guest's IDT with guest RIPs.
 */
static int guest_page_fault(void *opaque, uint64_t gva, uint32_t *ec,
			    uint64_t guest_rip, uint64_t *resume)
{
	struct l0_bt_vm *b = opaque;
	struct l0_vm *vm = b->vm;
	uint64_t info;

	l0_vmwrite(vm, GUEST_RIP, guest_rip);
	if (l0_shadow_handle_exception(vm, gva) == EXIT_STOP_VM)
		return -1;
	info = l0_vmread(vm, VM_ENTRY_INTR_INFO_FIELD);
	if (info & INTR_INFO_VALID_MASK) {
		l0_vmwrite(vm, VM_ENTRY_INTR_INFO_FIELD, 0);
		if ((info & INTR_INFO_VECTOR_MASK) != PF_VECTOR) {
			l0_stop_vm(
				vm, L0_STOP_UNHANDLED,
				"--vmm bt: a #PF that becomes vector %u "
				"is not delivered yet",
				(unsigned int)(info & INTR_INFO_VECTOR_MASK));
			return -1;
		}
		*ec = (uint32_t)l0_vmread(vm, VM_ENTRY_EXCEPTION_ERROR_CODE);
		return 1;
	}
	*resume = l0_vmread(vm, GUEST_RIP);
	return 0;
}

/* The container runs on a shadow root; the guest sees its own CR3. */
static uint64_t guest_read_cr3(void *opaque)
{
	struct l0_bt_vm *b = opaque;

	return b->vm->shadow->cr3;
}

/* The guest's MOV to CR3: its root becomes the container's CR3 (with
 * the TC slot, shadow_set_top()). Bits above MAXPHYADDR would be #GP(0),
 * which is not delivered yet: the run stops. */
static int guest_write_cr3(void *opaque, uint64_t cr3)
{
	struct l0_bt_vm *b = opaque;
	struct l0_vm *vm = b->vm;
	hpa_t root = 0;

	if (cr3 & ~((1ull << vm->mem.maxphyaddr) - 1))
		return -1;
	vm->shadow->stats.cr3_switches++;
	if (shadow_set_cr3(vm->shadow, cr3, &root))
		return -1;
	l0_vmwrite(vm, GUEST_CR3, root);
	return 0;
}

static void guest_invlpg(void *opaque, uint64_t gva)
{
	struct l0_bt_vm *b = opaque;

	shadow_invlpg(b->vm->shadow, gva);
}

static const struct bt_guest_ops l0_bt_ops = {
	.read = guest_read,
	.write = guest_write,
	.protect = guest_protect,
	.pio = guest_pio,
	.page_fault = guest_page_fault,
	.read_cr3 = guest_read_cr3,
	.write_cr3 = guest_write_cr3,
	.invlpg = guest_invlpg,
};

int l0_bt_vm_init(struct l0_bt_vm *b, struct l0_vm *vm,
		  const struct l0_profile *prof, char *err, size_t errlen)
{
	struct bt_config cfg = {
		.m = vm->m,
		.costs = {
			.translate_insn = prof->bt_translate_insn,
			.callout = prof->bt_callout,
			.trap = prof->bt_trap,
		},
		.tc_gva = BT_TC_GVA,
		.tc_size = L0_BT_TC_SIZE,
		.ops = &l0_bt_ops,
		.opaque = b,
	};
	uint64_t pml4e, efer;
	int ret;

	memset(b, 0, sizeof(*b));
	b->vm = vm;
	if (prof->bt_translate_insn == PROFILE_REF_NONE)
		return errmsg(-EINVAL, err, errlen,
			      "--vmm bt: profile '%s' gives no software-VMM "
			      "charges (bt_* keys; p4-prescott has A&A's)",
			      prof->cost.name);
	ret = l0_bt_tc_alloc(vm, L0_BT_TC_SIZE, &cfg.tc_hpa, &pml4e);
	if (ret)
		return errmsg(ret, err, errlen,
			      "--vmm bt: no room in the L0 area for the "
			      "translation cache and its tables");
	ret = bt_init(&b->bt, &cfg);
	if (ret)
		return errmsg(ret, err, errlen, "--vmm bt: %s", strerror(-ret));
	b->ready = true;
	shadow_set_top(vm->shadow, pml4e);
	/* Whatever the translator did not rewrite exits (SDM 25.6.3). */
	l0_vmwrite(vm, EXCEPTION_BITMAP, 0xffffffffu);
	/* User code runs directly; its RDTSC exits to read the virtual
	 * TSC, not the model's clock with the container's switches in. */
	l0_vmwrite(vm, CPU_BASED_VM_EXEC_CONTROL,
		   l0_vmread(vm, CPU_BASED_VM_EXEC_CONTROL) |
			   CPU_BASED_RDTSC_EXITING);
	efer = l0_vmread(vm, GUEST_IA32_EFER);
	b->bt.sce = (efer & EFER_SCE) != 0;
	l0_vmwrite(vm, GUEST_IA32_EFER, efer & ~(uint64_t)EFER_SCE);
	if (vm->vmx_err)
		return errmsg(-EIO, err, errlen,
			      "VMWRITE of vmcs01 field 0x%x failed (%d)",
			      vm->vmx_err_field, vm->vmx_err);
	return 0;
}

void l0_bt_vm_destroy(struct l0_bt_vm *b)
{
	if (b->ready)
		bt_destroy(&b->bt);
	b->ready = false;
}

static enum l0_stop_reason stop_reason(enum bt_stop_reason r)
{
	switch (r) {
	case BT_STOP_HALTED:
		return L0_STOP_HALTED;
	case BT_STOP_PLATFORM:
		return L0_STOP_DEVICE;
	case BT_STOP_INSN_LIMIT:
		return L0_STOP_INSN_LIMIT;
	case BT_STOP_UNIMPL:
	case BT_STOP_EXIT:
	case BT_STOP_LEAVE: /* --vmm bt sets no exiting op */
		break;
	}
	return L0_STOP_UNHANDLED;
}

/*
 * The host's stop request (--timeout) ended the container's run inside
 * the guest's code; bt_run() passes such model stops on as BT_STOP_EXIT.
 * The vCPU is still in non-root operation, where no VMREAD reaches the
 * VMCS, so the RIP comes from the registers: in the TC, the guest
 * instruction whose translation was under way (the TC may hold several
 * instructions for one of the guest's); elsewhere, directly run code.
 */
static void stop_requested(struct l0_bt_vm *b, const struct bt_stop *stop)
{
	struct l0_vm *vm = b->vm;
	struct kvm_regs regs;
	uint64_t rip = 0;

	if (!vtx_cpu_get_regs(vm->cpu, &regs)) {
		rip = regs.rip;
		bt_guest_rip(&b->bt, regs.rip, &rip);
	}
	vm->stop.reason = L0_STOP_REQUESTED;
	vm->stop.level = L0_LEVEL_L1;
	vm->stop.rip = rip;
	snprintf(vm->stop.why, sizeof(vm->stop.why), "--vmm bt: %.200s",
		 stop->why);
}

void l0_bt_vm_run(struct l0_bt_vm *b)
{
	struct l0_vm *vm = b->vm;
	struct bt_stop stop;
	int ret;

	vm->stop.why[0] = 0;
	ret = bt_run(&b->bt, vm->cpu, l0_vmread(vm, GUEST_RIP), &stop);
	if (ret) {
		l0_stop_vm(vm, L0_STOP_INTERNAL, "--vmm bt: %s", b->bt.err);
		return;
	}
	/* A stop L0's own handlers made (a device, the shadow) wins. */
	if (vm->stop.why[0])
		return;
	if (stop.reason == BT_STOP_EXIT && vtx_cpu_stop_pending(vm->cpu)) {
		stop_requested(b, &stop);
		return;
	}
	if (stop.reason == BT_STOP_INSN_LIMIT) {
		/* Stopped inside the container (VMREAD and VMWRITE do not
		 * reach the VMCS there): the line the hardware path gives. */
		l0_stop_vm(vm, L0_STOP_INSN_LIMIT, "%s", stop.why);
		vm->stop.rip = stop.guest_rip;
		return;
	}
	l0_vmwrite(vm, GUEST_RIP, stop.guest_rip);
	l0_stop_vm(vm, stop_reason(stop.reason), "--vmm bt: %s", stop.why);
}
