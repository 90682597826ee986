/* SPDX-License-Identifier: MIT */
/*
 * bt_l1.c - --vmcs-access bt (l0/bt_l1.h): where a reflected exit would
 * enter L1 at vmcs12's host state (SDM Vol. 3C 28.5), L0 runs L1's
 * handler under its binary translator instead, in a container VMCS of its
 * own (EPT off, CR3 a root of a shadow MMU over L1's tables with the TC in
 * PML4 slot 511, every exception exiting). VMREAD/VMWRITE (register
 * forms) and CPUID are callouts done on vmcs12 and by L0's CPUID; VMRESUME
 * and VMLAUNCH leave the translator for the nested entry of l0/nested.c;
 * anything else falls back: L1's state goes into vmcs01 and L1 goes on on
 * the hardware at that instruction (docs/design/bt.md). Monitor side.
 */
#include "l0/bt_l1.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <asm/vmx.h>

#include "arch/vmcs.h"
#include "arch/vmx_exit_qual.h"
#include "arch/x86_msr.h"
#include "arch/x86_paging.h"
#include "arch/x86_regs.h"
#include "arch/x86_seg.h"
#include "l0/errmsg.h"
#include "l0/iobus.h"
#include "l0/nvmx.h"
#include "l0/trace.h"
#include "mmu/l0_area.h"
#include "vtx/vtx.h"

/* ---- the translator's view of L1 ---------------------------------------------- */

static int l1_read(void *opaque, uint64_t gva, void *buf, size_t len)
{
	struct l0_bt_l1 *b = opaque;
	struct l1mem_fault f;

	return l1mem_read_gva(&b->vm->mem, &b->pg, gva, buf, len, &f) ? -EFAULT
								      : 0;
}

static int l1_write(void *opaque, uint64_t gva, const void *buf, size_t len)
{
	struct l0_bt_l1 *b = opaque;
	struct l1mem_fault f;

	return l1mem_write_gva(&b->vm->mem, &b->pg, gva, buf, len, &f) ? -EFAULT
								       : 0;
}

/* Coherence of translations: the L1 shadow keeps a code page read-only.
 * Without memory for it the page stays writable and a later write to it
 * would go unseen: the run stops instead. */
static void l1_protect(void *opaque, uint64_t gva_page, bool wp)
{
	struct l0_bt_l1 *b = opaque;

	if (shadow_protect_gva(&b->shadow, gva_page, wp))
		l0_stop_vm(b->vm, L0_STOP_INTERNAL,
			   "--vmcs-access bt: no memory to protect a code "
			   "page of L1");
}

int l0_bt_pio(struct l0_vm *vm, struct vtx_pio *pio)
{
	struct io_access io = {
		.port = pio->port,
		.size = pio->size,
		.dir = pio->dir == VTX_PIO_IN ? IO_READ : IO_WRITE,
		.data = pio->data,
	};
	int ret = io_bus_dispatch(vm->bus, &io);

	pio->data = io.data;
	if (ret < 0) {
		l0_stop_vm(vm, L0_STOP_INTERNAL,
			   "a %u-byte port access at 0x%x failed: %s",
			   pio->size, pio->port, strerror(-ret));
		return VTX_PIO_STOP;
	}
	if (ret == IO_STOP) {
		l0_stop_vm(vm, L0_STOP_DEVICE, "a device stopped the machine");
		return VTX_PIO_STOP;
	}
	return VTX_PIO_DONE;
}

/* L1's port I/O goes to L0's bus, as its I/O exit would (l0_handle_pio). */
static int l1_pio(void *opaque, struct vtx_pio *pio)
{
	struct l0_bt_l1 *b = opaque;

	return l0_bt_pio(b->vm, pio);
}

/* A #PF of translated L1: a hidden fault the L1 shadow fills, else L1
 * falls back and meets the fault (or its page-table write) natively. */
static int l1_page_fault(void *opaque, uint64_t gva, uint32_t *ec,
			 uint64_t guest_rip, uint64_t *resume)
{
	struct l0_bt_l1 *b = opaque;
	uint64_t rflags = 0;
	uint32_t error = 0;
	gpa_t gpa = 0;

	vtx_vmread(b->vm->cpu, GUEST_RFLAGS, &rflags);
	if (shadow_handle_pf(&b->shadow, gva, *ec, rflags & X86_EFLAGS_AC,
			     &error, &gpa) == SHADOW_PF_FILLED) {
		b->vm->stats.bt_l1.shadow_fills++;
		*resume = guest_rip;
		return 0;
	}
	b->cause = L0_BT_FALLBACK_FAULT;
	return 1;
}

/* The container's CR3 is a shadow root; L1's own is b->pg.cr3. */
static uint64_t l1_read_cr3(void *opaque)
{
	struct l0_bt_l1 *b = opaque;

	return b->pg.cr3;
}

static uint64_t gpr(const struct kvm_regs *regs, struct vtx_cpu *cpu,
		    unsigned int n)
{
	struct kvm_regs tmp = *regs;
	uint64_t v = 0;

	if (n == VCPU_REGS_RSP) {
		vtx_vmread(cpu, GUEST_RSP, &v);
		return v;
	}
	return x86_regs_read_gpr(&tmp, n);
}

static void set_gpr(struct kvm_regs *regs, struct vtx_cpu *cpu, unsigned int n,
		    uint64_t v)
{
	if (n == VCPU_REGS_RSP)
		vtx_vmwrite(cpu, GUEST_RSP, v);
	else
		x86_regs_write_gpr(regs, n, v);
}

/* VMsucceed/VMfail into the container's RFLAGS (SDM 31.2). */
static void set_vmx_flags(struct vtx_cpu *cpu, uint64_t flags)
{
	uint64_t rflags = 0;

	vtx_vmread(cpu, GUEST_RFLAGS, &rflags);
	vtx_vmwrite(cpu, GUEST_RFLAGS,
		    (rflags & ~(uint64_t)X86_EFLAGS_ARITH_MASK) | flags);
}

/*
 * A VMX instruction of translated L1, decoded from its bytes: 0f 78 /r
 * VMREAD r/m64, r64 and 0f 79 /r VMWRITE r64, r/m64 with a register r/m
 * (an optional REX), 0f 01 c2 VMLAUNCH, 0f 01 c3 VMRESUME. The #UD and
 * #GP checks of SDM 31.3 need VMX operation and CPL 0; anything else,
 * and every other form, falls back to the hardware path.
 */
static int l1_vmx(struct l0_bt_l1 *b, struct vtx_cpu *cpu,
		  const struct bt_site *site)
{
	struct l0_vm *vm = b->vm;
	struct l0_reflect_stats *r =
		vm->span >= 0 ? &vm->stats.reflected[vm->span] : NULL;
	uint8_t c[16] = { 0 };
	unsigned int i = 0, rex = 0, modrm, reg, rm;
	struct kvm_regs regs;
	uint64_t ss_ar = 0, enc, val = 0;
	int ret;

	b->cause = L0_BT_FALLBACK_VMX;
	if (l1_read(b, site->guest_rip, c, sizeof(c) - 1) ||
	    vtx_vmread(cpu, GUEST_SS_AR_BYTES, &ss_ar) ||
	    VMX_AR_DPL((uint32_t)ss_ar) || !vm->nvmx->vmxon)
		return BT_OP_LEAVE;
	if ((c[0] & 0xf0) == 0x40)
		rex = c[i++];
	if (c[i] != 0x0f)
		return BT_OP_LEAVE;
	if (!rex && c[i + 1] == 0x01 &&
	    (c[i + 2] == 0xc2 || c[i + 2] == 0xc3)) {
		b->pending = c[i + 2] == 0xc2 ? L0_BT_L1_VMLAUNCH
					      : L0_BT_L1_VMRESUME;
		b->pending_next = site->guest_next;
		return BT_OP_LEAVE;
	}
	modrm = c[i + 2];
	if ((c[i + 1] != 0x78 && c[i + 1] != 0x79) || (modrm >> 6) != 3)
		return BT_OP_LEAVE;
	reg = ((modrm >> 3) & 7) | ((rex & 4) << 1);
	rm = (modrm & 7) | ((rex & 1) << 3);
	vtx_cpu_get_regs(cpu, &regs);
	/* The encoding is reg in both; in 64-bit mode all 64 bits. */
	enc = gpr(&regs, cpu, reg);
	if (c[i + 1] == 0x78) {
		ret = nvmx_vmread_enc(vm, enc, &val);
		if (!ret) {
			set_gpr(&regs, cpu, rm, val);
			vtx_cpu_set_regs(cpu, &regs);
			if (L0_TRACING(vm))
				l0_trace_nvmx_access(vm, false, (uint32_t)enc,
						     val);
		}
		vm->stats.bt_l1.vmreads++;
		if (r)
			r->bt_vmreads++;
	} else {
		ret = nvmx_vmwrite_enc(vm, enc, gpr(&regs, cpu, rm));
		vm->stats.bt_l1.vmwrites++;
		if (r)
			r->bt_vmwrites++;
	}
	set_vmx_flags(cpu, nvmx_vmx_outcome(vm, ret));
	/* The translator ended the block at the VMX instruction. */
	return BT_OP_DONE_NEXT;
}

/* INVEPT (66 0f 38 80) or INVVPID (66 0f 38 81), which the translator
 * leaves to the hardware path as it does every instruction it does not
 * know: counted as the VMX instructions they are. */
static bool is_invept_invvpid(struct l0_bt_l1 *b, uint64_t rip)
{
	uint8_t c[5] = { 0 };
	unsigned int i = 1;

	if (l1_read(b, rip, c, sizeof(c)) || c[0] != 0x66)
		return false;
	if ((c[1] & 0xf0) == 0x40)
		i++;
	return c[i] == 0x0f && c[i + 1] == 0x38 &&
	       (c[i + 2] == 0x80 || c[i + 2] == 0x81);
}

/* What each callout does for L1: CPUID as L0 answers L1's CPUID exit,
 * port I/O, PUSHF/POPF and WBINVD as the translator emulates them, the
 * VMX instructions above; the rest runs on the hardware. */
static int l1_exiting(void *opaque, struct vtx_cpu *cpu,
		      const struct bt_site *site)
{
	struct l0_bt_l1 *b = opaque;
	struct kvm_regs regs;
	uint32_t r[4];

	switch (site->kind) {
	case BT_CALLOUT_CPUID:
		vtx_cpu_get_regs(cpu, &regs);
		l0_l1_cpuid(b->vm, (uint32_t)regs.rax, (uint32_t)regs.rcx, r);
		/* CPUID writes the 32-bit registers: bits 63:32 become 0. */
		regs.rax = r[0];
		regs.rbx = r[1];
		regs.rcx = r[2];
		regs.rdx = r[3];
		vtx_cpu_set_regs(cpu, &regs);
		b->vm->stats.bt_l1.cpuids++;
		return BT_OP_DONE;
	case BT_CALLOUT_IO:
	case BT_CALLOUT_PUSHF:
	case BT_CALLOUT_POPF:
	case BT_CALLOUT_WBINVD:
		return BT_OP_DEFAULT;
	case BT_CALLOUT_VMX:
		return l1_vmx(b, cpu, site);
	case BT_CALLOUT_UNIMPL:
		b->cause = is_invept_invvpid(b, site->guest_rip)
				   ? L0_BT_FALLBACK_VMX
				   : L0_BT_FALLBACK_UNIMPL;
		return BT_OP_LEAVE;
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
	case BT_NR_CALLOUT_KINDS:
		break;
	}
	/* RDTSC would read the virtual clock, MOV from CR the container's
	 * registers, RDMSR the translator's MSRs: none is what L1 reads on
	 * the hardware. */
	b->cause = L0_BT_FALLBACK_INSN;
	return BT_OP_LEAVE;
}

static const struct bt_guest_ops l1_bt_ops = {
	.read = l1_read,
	.write = l1_write,
	.protect = l1_protect,
	.pio = l1_pio,
	.page_fault = l1_page_fault,
	.read_cr3 = l1_read_cr3,
	.exiting = l1_exiting,
};

/* ---- the container ---------------------------------------------------------- */

int l0_bt_copy_fields(struct l0_vm *vm, hpa_t from, hpa_t to,
		      enum vmcs_field_type type)
{
	static uint64_t val[VMCS_NR_FIELDS];
	static bool have[VMCS_NR_FIELDS];

	if (vtx_vmptrld(vm->cpu, from))
		return -EIO;
	for (unsigned int i = 0; i < VMCS_NR_FIELDS; i++) {
		uint32_t enc = vmcs_field_table[i].encoding;

		have[i] = vmcs_field_type(enc) == type &&
			  !vtx_vmread(vm->cpu, enc, &val[i]);
	}
	if (vtx_vmptrld(vm->cpu, to))
		return -EIO;
	for (unsigned int i = 0; i < VMCS_NR_FIELDS; i++)
		if (have[i])
			vtx_vmwrite(vm->cpu, vmcs_field_table[i].encoding,
				    val[i]);
	return 0;
}

int l0_bt_container_enter(struct l0_vm *vm, struct bt *bt, hpa_t from,
			  hpa_t container, hpa_t root)
{
	uint64_t rflags = l0_vmread(vm, GUEST_RFLAGS);
	uint64_t efer = l0_vmread(vm, GUEST_IA32_EFER);
	struct kvm_sregs sregs;

	if (l0_bt_copy_fields(vm, from, container, VMCS_FIELD_TYPE_GUEST)) {
		vtx_vmptrld(vm->cpu, from);
		return -1;
	}
	l0_vmwrite(vm, GUEST_CR3, root);
	l0_vmwrite(vm, VMCS_LINK_POINTER, ~0ull);
	bt->sce = (efer & EFER_SCE) != 0;
	l0_vmwrite(vm, GUEST_IA32_EFER, efer & ~(uint64_t)EFER_SCE);
	bt_vcpu_write8(bt, BT_VCPU_VIF, (rflags & X86_EFLAGS_IF) != 0);
	l0_vmwrite(vm, GUEST_RFLAGS, rflags & ~(uint64_t)X86_EFLAGS_IF);
	vtx_cpu_get_sregs(vm->cpu, &sregs);
	bt_vcpu_write64(bt, BT_VCPU_CR8, sregs.cr8);
	return 0;
}

void l0_bt_container_leave(struct l0_vm *vm, struct bt *bt, hpa_t to,
			   uint64_t rip)
{
	uint64_t rsp = l0_vmread(vm, GUEST_RSP);
	uint64_t rflags = l0_vmread(vm, GUEST_RFLAGS);

	rflags &= ~(uint64_t)X86_EFLAGS_IF;
	if (bt_vcpu_read8(bt, BT_VCPU_VIF))
		rflags |= X86_EFLAGS_IF;
	if (vtx_vmptrld(vm->cpu, to)) {
		l0_stop_vm(vm, L0_STOP_INTERNAL,
			   "VMPTRLD after a translated run failed");
		return;
	}
	l0_vmwrite(vm, GUEST_RSP, rsp);
	l0_vmwrite(vm, GUEST_RFLAGS, rflags);
	l0_vmwrite(vm, GUEST_RIP, rip);
}

uint64_t l0_bt_charges(const struct bt *bt)
{
	return bt->stats.cycles_translate + bt->stats.cycles_callouts +
	       bt->stats.cycles_traps;
}

/* The TC's tables: PML4[511] -> PDPT[511] -> PD[0] -> one PT, supervisor
 * only (as under --vmm bt, l0/bt_vm.c). */
static int map_tc(struct l0_vm *vm, hpa_t tc, uint32_t size, uint64_t *pml4e)
{
	hpa_t pdpt, pd, pt;
	uint64_t *t;

	if (l0_area_alloc_page(&vm->area, &pdpt) ||
	    l0_area_alloc_page(&vm->area, &pd) ||
	    l0_area_alloc_page(&vm->area, &pt))
		return -ENOMEM;
	t = vtx_hpa_ptr(vm->m, pdpt, PAGE_SIZE);
	t[511] = pd | PTE_P | PTE_RW;
	t = vtx_hpa_ptr(vm->m, pd, PAGE_SIZE);
	t[0] = pt | PTE_P | PTE_RW;
	t = vtx_hpa_ptr(vm->m, pt, PAGE_SIZE);
	for (uint32_t i = 0; i < size / PAGE_SIZE; i++)
		t[i] = (tc + i * PAGE_SIZE) | PTE_P | PTE_RW;
	*pml4e = pdpt | PTE_P | PTE_RW;
	return 0;
}

/* L1's view of a control register of vmcs01 (read shadows, SDM 25.6.6). */
static uint64_t cr_view(struct l0_vm *vm, uint32_t guest, uint32_t mask,
			uint32_t shadow)
{
	uint64_t m = l0_vmread(vm, mask);

	return (l0_vmread(vm, guest) & ~m) | (l0_vmread(vm, shadow) & m);
}

/* L0's writes to L1's RAM reach the L1 shadow and, under --bt, L2's. */
static void shadow_on_l1_write(void *opaque, gpa_t gpa, uint64_t len)
{
	struct l0_bt_l1 *b = opaque;

	shadow_l1_written(&b->shadow, gpa, len);
	if (b->also)
		shadow_l1_written(b->also, gpa, len);
}

int l0_bt_tc_alloc(struct l0_vm *vm, uint32_t size, hpa_t *tc, uint64_t *pml4e)
{
	hpa_t page;

	/* Contiguous: the L0 area hands out pages in order. */
	for (uint32_t i = 0; i < size / PAGE_SIZE; i++) {
		if (l0_area_alloc_page(&vm->area, &page))
			return -ENOMEM;
		if (!i)
			*tc = page;
		else if (page != *tc + (hpa_t)i * PAGE_SIZE)
			return -ENOMEM;
	}
	return map_tc(vm, *tc, size, pml4e);
}

int l0_bt_container_init(struct l0_vm *vm, hpa_t *vmcs)
{
	uint64_t basic = 0, v;
	uint32_t rev;

	vtx_cpu_get_msr(vm->cpu, MSR_IA32_VMX_BASIC, &basic);
	rev = vmx_basic_get_revision(basic);
	if (l0_area_alloc_page(&vm->area, vmcs) ||
	    vtx_hpa_write(vm->m, *vmcs, &rev, sizeof(rev)))
		return -ENOMEM;
	/* vmcs01's controls and host state, then what a software VMM's
	 * container needs (docs/design/bt.md). */
	if (vtx_vmclear(vm->cpu, *vmcs) ||
	    l0_bt_copy_fields(vm, vm->vmcs01, *vmcs, VMCS_FIELD_TYPE_CONTROL) ||
	    l0_bt_copy_fields(vm, vm->vmcs01, *vmcs, VMCS_FIELD_TYPE_HOST))
		return -EIO;
	v = l0_vmread(vm, SECONDARY_VM_EXEC_CONTROL);
	l0_vmwrite(vm, SECONDARY_VM_EXEC_CONTROL,
		   v & ~(uint64_t)(SECONDARY_EXEC_ENABLE_EPT |
				   SECONDARY_EXEC_ENABLE_VPID |
				   SECONDARY_EXEC_SHADOW_VMCS |
				   SECONDARY_EXEC_UNRESTRICTED_GUEST));
	v = l0_vmread(vm, CPU_BASED_VM_EXEC_CONTROL);
	/* Defence in depth, as under --vmm bt: what the translator failed
	 * to rewrite exits instead of acting (SDM 25.6.2, 26.1.3). */
	l0_vmwrite(vm, CPU_BASED_VM_EXEC_CONTROL,
		   v | CPU_BASED_HLT_EXITING | CPU_BASED_CR3_LOAD_EXITING |
			   CPU_BASED_CR3_STORE_EXITING |
			   CPU_BASED_INVLPG_EXITING | CPU_BASED_RDTSC_EXITING |
			   CPU_BASED_UNCOND_IO_EXITING);
	l0_vmwrite(vm, EXCEPTION_BITMAP, 0xffffffffu);
	l0_vmwrite(vm, PAGE_FAULT_ERROR_CODE_MASK, 0);
	l0_vmwrite(vm, PAGE_FAULT_ERROR_CODE_MATCH, 0);
	l0_vmwrite(vm, CR3_TARGET_COUNT, 0);
	l0_vmwrite(vm, VMCS_LINK_POINTER, ~0ull);
	if (vtx_vmptrld(vm->cpu, vm->vmcs01) || vm->vmx_err)
		return -EIO;
	return 0;
}

static enum l0_exit_action bt_l1_run(struct l0_vm *vm);

int l0_bt_l1_init(struct l0_bt_l1 *b, struct l0_vm *vm,
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
		.tc_size = L0_BT_L1_TC_SIZE,
		.leave_on_fault = true,
		.cr8_exits = true,
		.ops = &l1_bt_ops,
		.opaque = b,
	};
	struct shadow_paging spg;
	uint64_t pml4e;
	hpa_t root;
	int ret;

	memset(b, 0, sizeof(*b));
	b->vm = vm;
	if (prof->bt_translate_insn == PROFILE_REF_NONE)
		return errmsg(-EINVAL, err, errlen,
			      "--vmcs-access bt: profile %s gives no "
			      "software-VMM charges",
			      prof->cost.name);
	if (vm->shadow)
		return errmsg(
			-EINVAL, err, errlen,
			"--vmcs-access bt: needs --mmu ept (L1's "
			"translated handler has a shadow MMU of its own)");
	if (vm->ept_coherence == EPT_COHERENCE_WP)
		return errmsg(-EINVAL, err, errlen,
			      "--vmcs-access bt: --ept-coherence wp protects "
			      "ept12 through ept01, which translated L1 code "
			      "does not run on (use --ept-coherence invept)");
	ret = l0_bt_tc_alloc(vm, L0_BT_L1_TC_SIZE, &cfg.tc_hpa, &pml4e);
	if (!ret)
		ret = l0_bt_container_init(vm, &b->container);
	if (ret)
		return errmsg(ret, err, errlen,
			      "--vmcs-access bt: no room in the L0 area for "
			      "L1's translation cache and container");
	spg.cr0 = cr_view(vm, GUEST_CR0, CR0_GUEST_HOST_MASK, CR0_READ_SHADOW);
	spg.cr4 = cr_view(vm, GUEST_CR4, CR4_GUEST_HOST_MASK, CR4_READ_SHADOW);
	spg.efer = l0_vmread(vm, GUEST_IA32_EFER);
	if (shadow_init(&b->shadow, &vm->area, &vm->mem, &spg,
			l0_vmread(vm, GUEST_CR3), &root))
		return errmsg(-ENOMEM, err, errlen,
			      "--vmcs-access bt: no room in the L0 area for "
			      "L1's shadow root");
	b->shadow_ready = true;
	shadow_set_top(&b->shadow, pml4e);
	ret = bt_init(&b->bt, &cfg);
	if (ret)
		return errmsg(ret, err, errlen, "--vmcs-access bt: %s",
			      strerror(-ret));
	b->ready = true;

	/* L0's own writes to L1's RAM reach the L1 shadow. */
	vm->mem.on_write = shadow_on_l1_write;
	vm->mem.on_write_opaque = b;
	vm->bt_l1 = b;
	vm->bt_l1_run = bt_l1_run;
	return 0;
}

void l0_bt_l1_destroy(struct l0_bt_l1 *b)
{
	if (b->vm && b->vm->bt_l1 == b) {
		b->vm->bt_l1 = NULL;
		b->vm->bt_l1_run = NULL;
		b->vm->mem.on_write = NULL;
		b->vm->mem.on_write_opaque = NULL;
	}
	if (b->ready)
		bt_destroy(&b->bt);
	if (b->shadow_ready)
		shadow_destroy(&b->shadow);
	b->ready = b->shadow_ready = false;
}

/* ---- one translated run -------------------------------------------------------- */

/*
 * vmcs01 (current) holds L1 at its host state: the container takes it,
 * on the L1 shadow's root for L1's CR3 with the TC's slot, and becomes
 * current. A state the container does not take is a fallback before
 * anything ran: false, vmcs01 still current.
 */
static bool enter_container(struct l0_bt_l1 *b)
{
	struct l0_vm *vm = b->vm;
	struct shadow_paging spg;
	const char *why;
	hpa_t root;

	/* An event L0 injects into L1 on its next entry (SDM 27.6) is the
	 * hardware path's to deliver. */
	if (l0_vmread(vm, VM_ENTRY_INTR_INFO_FIELD) & INTR_INFO_VALID_MASK)
		return false;
	spg.cr0 = cr_view(vm, GUEST_CR0, CR0_GUEST_HOST_MASK, CR0_READ_SHADOW);
	spg.cr4 = cr_view(vm, GUEST_CR4, CR4_GUEST_HOST_MASK, CR4_READ_SHADOW);
	spg.efer = l0_vmread(vm, GUEST_IA32_EFER);
	if (!shadow_paging_supported(&spg, &why))
		return false;
	b->pg.cr0 = spg.cr0;
	b->pg.cr4 = spg.cr4;
	b->pg.efer = spg.efer;
	b->pg.rflags = 0;
	/* L1 ran on the hardware since: its writes to its code and page
	 * tables went unseen by the L1 shadow and the TC. */
	if (!b->ran || vm->stats.insns_l1 != b->native_insns) {
		vm->stats.bt_l1.coherence_resets++;
		bt_flush(&b->bt);
		if (shadow_reset(&b->shadow, &root))
			return false;
	}
	/* Translations were made under one address space. */
	if (b->ran && l0_vmread(vm, GUEST_CR3) != b->pg.cr3)
		bt_flush(&b->bt);
	b->pg.cr3 = l0_vmread(vm, GUEST_CR3);
	if (shadow_set_paging(&b->shadow, &spg, &root) ||
	    shadow_set_cr3(&b->shadow, b->pg.cr3, &root))
		return false;
	return !l0_bt_container_enter(vm, &b->bt, vm->vmcs01, b->container,
				      root);
}

/* L1's state back into vmcs01 at rip, as if it had run there: what
 * translated code changes (GPRs are the vCPU's already). */
static void leave_container(struct l0_bt_l1 *b, uint64_t rip)
{
	l0_bt_container_leave(b->vm, &b->bt, b->vm->vmcs01, rip);
}

static enum l0_exit_action fallback(struct l0_vm *vm, enum l0_bt_fallback f)
{
	vm->stats.bt_l1.fallbacks[f]++;
	return EXIT_RESUME;
}

/* L1's VMLAUNCH/VMRESUME as its exit would run it: vmcs01 holds L1 at the
 * instruction; a VMfail goes on after it, natively. */
static enum l0_exit_action vmx_entry(struct l0_bt_l1 *b)
{
	struct l0_vm *vm = b->vm;
	enum l0_exit_action act = b->pending == L0_BT_L1_VMLAUNCH
					  ? nvmx_handle_vmlaunch(vm)
					  : nvmx_handle_vmresume(vm);

	if (act == EXIT_STOP_VM)
		return act;
	if (act == EXIT_RESUME_SKIP_INSN) {
		l0_vmwrite(vm, GUEST_RIP, b->pending_next);
		return fallback(vm, L0_BT_FALLBACK_VMFAIL);
	}
	if (!vm->nvmx->guest_mode)
		return fallback(vm, L0_BT_FALLBACK_ENTRY_FAILURE);
	vm->stats.bt_l1.entries++;
	return EXIT_RESUME;
}

static enum l0_exit_action bt_l1_run(struct l0_vm *vm)
{
	struct l0_bt_l1 *b = vm->bt_l1;
	struct vtx_cpu_stats s0, s1;
	struct bt_stop stop;
	uint64_t charged, rip;
	int ret;

	/* The reflection's own work is L0's, charged as the next run
	 * would; what follows is the translated handler's. */
	l0_account_l0_work(vm);
	vtx_cpu_get_stats(vm->cpu, &s0);
	charged = l0_bt_charges(&b->bt);
	rip = l0_vmread(vm, GUEST_RIP);
	if (!enter_container(b))
		return fallback(vm, L0_BT_FALLBACK_STATE);
	vm->stats.bt_l1.runs++;
	b->ran = true;
	b->pending = L0_BT_L1_NONE;
	b->cause = L0_BT_FALLBACK_EXIT;
	vm->stop.why[0] = 0;
	ret = bt_run(&b->bt, vm->cpu, rip, &stop);
	if (ret) {
		vtx_vmptrld(vm->cpu, vm->vmcs01);
		return l0_stop_vm(vm, L0_STOP_INTERNAL, "--vmcs-access bt: %s",
				  b->bt.err);
	}
	leave_container(b, stop.guest_rip);
	vtx_cpu_get_stats(vm->cpu, &s1);
	charged = s1.cycles_nonroot - s0.cycles_nonroot +
		  l0_bt_charges(&b->bt) - charged;
	l0_account_translated(vm, charged, s1.insns - s0.insns);
	/*
	 * The model's clock ran the container's entries and exits and L0's
	 * copies, which a software VMM does not have, and not the bt_*
	 * charges, which it does: L1's TSC (and through vmcs02 L2's) moves
	 * by what was charged, as --vmm bt's virtual TSC does.
	 */
	vm->stats.bt_l1.cycles_hidden += s1.cycles - s0.cycles;
	vm->stats.bt_l1.hidden_switch += s1.cycles_switch - s0.cycles_switch;
	vm->stats.bt_l1.hidden_host += s1.cycles_host - s0.cycles_host;
	vm->stats.bt_l1.hidden_vmreads += s1.host_vmreads - s0.host_vmreads;
	vm->stats.bt_l1.hidden_vmwrites += s1.host_vmwrites - s0.host_vmwrites;
	l0_vmwrite(vm, TSC_OFFSET,
		   l0_vmread(vm, TSC_OFFSET) + charged -
			   (s1.cycles - s0.cycles));
	if (vm->stop.why[0]) {
		/* A device or L0's MMU stopped the machine meanwhile. */
		vm->stop.rip = stop.guest_rip;
		return EXIT_STOP_VM;
	}
	b->native_insns = vm->stats.insns_l1;
	switch (stop.reason) {
	case BT_STOP_LEAVE:
		if (b->pending != L0_BT_L1_NONE)
			return vmx_entry(b);
		return fallback(vm, b->cause);
	case BT_STOP_UNIMPL:
		return fallback(vm, L0_BT_FALLBACK_UNIMPL);
	case BT_STOP_HALTED:
		return fallback(vm, L0_BT_FALLBACK_INSN);
	case BT_STOP_PLATFORM:
	case BT_STOP_EXIT:
	case BT_STOP_INSN_LIMIT: /* no budget is set on this translator */
		break;
	}
	return fallback(vm, L0_BT_FALLBACK_EXIT);
}
