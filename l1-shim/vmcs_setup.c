/* SPDX-License-Identifier: MIT */
/*
 * vmcs_setup.c - how l1-shim enters VMX operation and prepares the VMCS
 * that runs L2 (vmcs12, in nested terms): CPUID.1:ECX.VMX,
 * IA32_FEATURE_CONTROL, the CR0/CR4 fixed bits and VMXON (SDM Vol. 3C
 * 24.6-24.8), VMCLEAR and VMPTRLD (25.11.3), every control adjusted to the
 * capability MSRs (Appendix A.3-A.5), host state and a 64-bit guest state
 * that passes the VM-entry checks (27.2, 27.3) and is exactly the boot
 * contract (docs/boot.md); with mmu=shadow, no EPT but the CR3, INVLPG
 * and #PF exits of a shadow MMU (KVM's settings with enable_ept=0).
 * l1-shim side (L1).
 */
#include "arch/boot_layout.h"
#include "arch/ept.h"
#include "arch/vmcs.h"
#include "arch/vmx_exit_qual.h"
#include "arch/vmx_insn_errors.h"
#include "arch/x86_msr.h"
#include "arch/x86_paging.h"
#include "guests/rt/rt.h"
#include "l1-shim/entry.h"
#include "l1-shim/shim.h"
#include "l1-shim/vmx.h"

/* The VMX regions and bitmaps: page-aligned, in l1-shim's BSS; L1 is
 * identity-mapped, so their addresses are their physical addresses. */
static uint8_t l1_vmxon_region[PAGE_SIZE] __attribute__((aligned(PAGE_SIZE)));
static uint8_t l1_vmcs_region[PAGE_SIZE] __attribute__((aligned(PAGE_SIZE)));
static uint8_t l1_io_bitmap_a[PAGE_SIZE] __attribute__((aligned(PAGE_SIZE)));
static uint8_t l1_io_bitmap_b[PAGE_SIZE] __attribute__((aligned(PAGE_SIZE)));
static uint8_t l1_msr_bitmap[PAGE_SIZE] __attribute__((aligned(PAGE_SIZE)));

/* The capability MSRs l1-shim consults (SDM Appendix A). */
struct l1_vmx_caps {
	uint64_t basic;
	uint64_t cr0_fixed0, cr0_fixed1, cr4_fixed0, cr4_fixed1;
	bool true_ctls; /* IA32_VMX_BASIC[55]: the TRUE_*_CTLS MSRs exist */
};

/* The control words, once adjusted. */
struct l1_vmx_ctls {
	uint32_t pin, proc, proc2, exit, entry;
	bool pat; /* IA32_PAT is switched by the exit and entry controls */
};

static uint64_t l1_pa(const void *p)
{
	return (uint64_t)(uintptr_t)p;
}

static const char *l1_vmx_result_name(enum vmx_result r)
{
	return r == VMX_FAIL_VALID ? "VMfailValid" : "VMfailInvalid";
}

/* Reports a failed VMX instruction with its VM-instruction error. */
static int l1_vmx_insn_failed(const char *insn, enum vmx_result r)
{
	uint64_t err = 0;

	if (r == VMX_FAIL_VALID)
		vmx_vmread(VM_INSTRUCTION_ERROR, &err);
	printf(L1_PFX "%s failed: %s", insn, l1_vmx_result_name(r));
	if (r == VMX_FAIL_VALID)
		printf(", VM-instruction error %llu (%s)",
		       (unsigned long long)err,
		       vmx_insn_error_name((unsigned int)err));
	printf("\n");
	return L1_EXIT_FATAL;
}

/* ---- entering VMX operation (SDM 24.6-24.8) ------------------------------- */

static void l1_vmx_read_caps(struct l1_vmx_caps *caps)
{
	caps->basic = l1_rdmsr(MSR_IA32_VMX_BASIC);
	caps->true_ctls = caps->basic & VMX_BASIC_TRUE_CTLS;
	caps->cr0_fixed0 = l1_rdmsr(MSR_IA32_VMX_CR0_FIXED0);
	caps->cr0_fixed1 = l1_rdmsr(MSR_IA32_VMX_CR0_FIXED1);
	caps->cr4_fixed0 = l1_rdmsr(MSR_IA32_VMX_CR4_FIXED0);
	caps->cr4_fixed1 = l1_rdmsr(MSR_IA32_VMX_CR4_FIXED1);
}

/*
 * VMXON #GPs unless IA32_FEATURE_CONTROL is locked with VMX allowed outside
 * SMX (24.7). Firmware normally sets it; when nobody has, lock it the way
 * firmware would. Locked without the bit is final until reset.
 */
static int l1_vmx_enable_feature_control(void)
{
	uint64_t fc = l1_rdmsr(MSR_IA32_FEAT_CTL);

	if (!(fc & FEAT_CTL_LOCKED)) {
		l1_wrmsr(MSR_IA32_FEAT_CTL,
			 fc | FEAT_CTL_LOCKED |
				 FEAT_CTL_VMX_ENABLED_OUTSIDE_SMX);
		fc = l1_rdmsr(MSR_IA32_FEAT_CTL);
	}
	if (!(fc & FEAT_CTL_LOCKED) ||
	    !(fc & FEAT_CTL_VMX_ENABLED_OUTSIDE_SMX)) {
		printf(L1_PFX "VMX is disabled: IA32_FEATURE_CONTROL is %#llx "
			      "(locked without VMX outside SMX)\n",
		       (unsigned long long)fc);
		return L1_EXIT_FATAL;
	}
	return 0;
}

/* CR0 and CR4 must hold the values VMX operation allows (24.8, A.7, A.8),
 * CR4.VMXE included. */
static int l1_vmx_fix_crs(const struct l1_vmx_caps *caps)
{
	uint64_t cr0 = l1_read_cr0(), cr4 = l1_read_cr4();
	uint64_t new_cr0 = (cr0 | caps->cr0_fixed0) & caps->cr0_fixed1;
	uint64_t new_cr4 =
		(cr4 | caps->cr4_fixed0 | X86_CR4_VMXE) & caps->cr4_fixed1;

	if (!(new_cr4 & X86_CR4_VMXE)) {
		printf(L1_PFX "IA32_VMX_CR4_FIXED1 (%#llx) does not allow "
			      "CR4.VMXE\n",
		       (unsigned long long)caps->cr4_fixed1);
		return L1_EXIT_FATAL;
	}
	if (new_cr0 != cr0)
		l1_write_cr0(new_cr0);
	if (new_cr4 != cr4)
		l1_write_cr4(new_cr4);
	return 0;
}

static int l1_vmx_on(struct l2_vm *vm, const struct l1_vmx_caps *caps)
{
	uint32_t rev = vmx_basic_get_revision(caps->basic);
	uint32_t size = vmx_basic_get_vmcs_size(caps->basic);
	enum vmx_result r;
	int ret;

	/* The regions are one page each and lie below 4 GiB, which also
	 * satisfies IA32_VMX_BASIC[48] (A.1). */
	if (!size || size > PAGE_SIZE ||
	    l1_pa(l1_msr_bitmap) + PAGE_SIZE > GiB(4)) {
		printf(L1_PFX "unusable VMCS size %u in IA32_VMX_BASIC "
			      "%#llx\n",
		       size, (unsigned long long)caps->basic);
		return L1_EXIT_FATAL;
	}
	/* Bits 30:0 of the first word hold the revision; bit 31 clear
	 * (25.2: 1 would mean a shadow VMCS). */
	memcpy(l1_vmxon_region, &rev, sizeof(rev));
	memcpy(l1_vmcs_region, &rev, sizeof(rev));

	r = vmx_vmxon(l1_pa(l1_vmxon_region));
	if (r != VMX_SUCCEED)
		return l1_vmx_insn_failed("VMXON", r);
	/* An enlightened VMCS is made current through the VP assist page,
	 * never with VMPTRLD (TLFS, "Enlightened VMCS"). */
	ret = evmcs_setup(vm);
	if (ret)
		return ret == 1 ? 0 : ret;
	r = vmx_vmclear(l1_pa(l1_vmcs_region));
	if (r != VMX_SUCCEED)
		return l1_vmx_insn_failed("VMCLEAR", r);
	r = vmx_vmptrld(l1_pa(l1_vmcs_region));
	if (r != VMX_SUCCEED)
		return l1_vmx_insn_failed("VMPTRLD", r);
	return 0;
}

/* ---- controls (Appendix A.3-A.5) ------------------------------------------ */

/*
 * A control word from what l1-shim @required and what it would like
 * (@optional), adjusted by capability MSR @msr: bits 31:0 are the
 * allowed-0 settings (1 = must be 1), bits 63:32 the allowed-1 settings
 * (0 = must be 0).
 */
static int l1_ctl_adjust(const char *what, uint32_t msr, uint32_t required,
			 uint32_t optional, uint32_t *out)
{
	uint64_t cap = l1_rdmsr(msr);
	uint32_t allowed0 = (uint32_t)cap, allowed1 = (uint32_t)(cap >> 32);

	if (required & ~allowed1) {
		printf(L1_PFX "the processor lacks %s controls %#x (MSR %#x "
			      "is %#llx)\n",
		       what, required & ~allowed1, msr,
		       (unsigned long long)cap);
		return L1_EXIT_FATAL;
	}
	*out = ((required | optional) & allowed1) | allowed0;
	return 0;
}

static int l1_ctls_compute(struct l2_vm *vm, const struct l1_vmx_caps *caps,
			   struct l1_vmx_ctls *c)
{
	const uint32_t pat_exit = VM_EXIT_SAVE_IA32_PAT | VM_EXIT_LOAD_IA32_PAT;
	bool t = caps->true_ctls;
	bool shadow = vm->opt->mmu == L1_MMU_SHADOW;
	uint32_t proc2_optional, proc_shadow = 0;
	int ret;

	/* mmu=shadow: L2's CR3 is virtual and INVLPG must reach the shadow,
	 * as KVM sets them up without EPT (vmx_exec_control()). */
	if (shadow)
		proc_shadow = CPU_BASED_CR3_LOAD_EXITING |
			      CPU_BASED_CR3_STORE_EXITING |
			      CPU_BASED_INVLPG_EXITING;

	ret = l1_ctl_adjust("pin-based",
			    t ? MSR_IA32_VMX_TRUE_PINBASED_CTLS
			      : MSR_IA32_VMX_PINBASED_CTLS,
			    0, 0, &c->pin);
	/* HLT ends L2's run; every port and the MSRs of the bitmap exit
	 * (docs/l1-shim.md); CR8 accesses exit and l1-shim keeps the TPR,
	 * as a hypervisor without the TPR shadow must. CR3 exiting stays off
	 * when the TRUE MSR lets it: EPT leaves L2's paging alone. */
	if (!ret)
		ret = l1_ctl_adjust(
			"processor-based",
			t ? MSR_IA32_VMX_TRUE_PROCBASED_CTLS
			  : MSR_IA32_VMX_PROCBASED_CTLS,
			CPU_BASED_HLT_EXITING | CPU_BASED_USE_IO_BITMAPS |
				CPU_BASED_USE_MSR_BITMAPS |
				CPU_BASED_CR8_LOAD_EXITING |
				CPU_BASED_CR8_STORE_EXITING |
				CPU_BASED_ACTIVATE_SECONDARY_CONTROLS |
				proc_shadow,
			0, &c->proc);
	if (ret)
		return ret;

	/* The secondary controls L2 needs to run its instructions as it
	 * would natively: with any of RDTSCP, INVPCID, XSAVES or
	 * UMWAIT/TPAUSE left disabled, the instruction raises #UD in L2
	 * (SDM 26.3, 26.4). */
	proc2_optional = SECONDARY_EXEC_ENABLE_RDTSCP |
			 SECONDARY_EXEC_ENABLE_INVPCID |
			 SECONDARY_EXEC_ENABLE_XSAVES |
			 SECONDARY_EXEC_ENABLE_USR_WAIT_PAUSE;
	ret = l1_ctl_adjust(
		"secondary processor-based", MSR_IA32_VMX_PROCBASED_CTLS2,
		shadow ? 0 : SECONDARY_EXEC_ENABLE_EPT,
		proc2_optional | SECONDARY_EXEC_ENABLE_VPID, &c->proc2);
	if (ret)
		return ret;
	if (shadow && (c->proc2 & SECONDARY_EXEC_ENABLE_EPT)) {
		printf(L1_PFX "mmu=shadow: the processor forces EPT on\n");
		return L1_EXIT_FATAL;
	}
	/* IA32_VMX_EPT_VPID_CAP exists once EPT or VPID may be 1 (A.10). */
	vm->ept_vpid_cap = l1_rdmsr(MSR_IA32_VMX_EPT_VPID_CAP);
	/* Like KVM, VPID only with a way to flush it. */
	if (!vmx_vpid_cap_has_invvpid_type(vm->ept_vpid_cap,
					   VMX_VPID_EXTENT_SINGLE_CONTEXT) &&
	    !vmx_vpid_cap_has_invvpid_type(vm->ept_vpid_cap,
					   VMX_VPID_EXTENT_ALL_CONTEXT))
		c->proc2 &= ~(uint32_t)SECONDARY_EXEC_ENABLE_VPID;
	vm->vpid = (c->proc2 & SECONDARY_EXEC_ENABLE_VPID) ? L2_VPID : 0;

	/* EFER must follow L2 across exits (load on entry, save on exit,
	 * host's back on exit); IA32_PAT likewise where it can. */
	ret = l1_ctl_adjust(
		"VM-exit",
		t ? MSR_IA32_VMX_TRUE_EXIT_CTLS : MSR_IA32_VMX_EXIT_CTLS,
		VM_EXIT_HOST_ADDR_SPACE_SIZE | VM_EXIT_LOAD_IA32_EFER |
			VM_EXIT_SAVE_IA32_EFER,
		VM_EXIT_SAVE_DEBUG_CONTROLS | pat_exit, &c->exit);
	if (!ret)
		ret = l1_ctl_adjust(
			"VM-entry",
			t ? MSR_IA32_VMX_TRUE_ENTRY_CTLS
			  : MSR_IA32_VMX_ENTRY_CTLS,
			VM_ENTRY_IA32E_MODE | VM_ENTRY_LOAD_IA32_EFER,
			VM_ENTRY_LOAD_DEBUG_CONTROLS | VM_ENTRY_LOAD_IA32_PAT,
			&c->entry);
	if (ret)
		return ret;
	/* PAT switching is all or nothing: saving L2's PAT without loading
	 * it back, or the reverse, would mix L1's and L2's. */
	c->pat = (c->exit & pat_exit) == pat_exit &&
		 (c->entry & VM_ENTRY_LOAD_IA32_PAT);
	if (!c->pat) {
		c->exit &= ~pat_exit;
		c->entry &= ~(uint32_t)VM_ENTRY_LOAD_IA32_PAT;
	}
	vm->cr3_exiting = !shadow && (c->proc & (CPU_BASED_CR3_LOAD_EXITING |
						 CPU_BASED_CR3_STORE_EXITING));
	return 0;
}

static void l1_write_controls(const struct l2_vm *vm,
			      const struct l1_vmx_ctls *c)
{
	/* Every port exits: a port that did not would reach L1's own
	 * device, and L2 must see the same devices at every level. */
	memset(l1_io_bitmap_a, 0xff, sizeof(l1_io_bitmap_a));
	memset(l1_io_bitmap_b, 0xff, sizeof(l1_io_bitmap_b));
	memset(l1_msr_bitmap, 0, sizeof(l1_msr_bitmap));
	/* Reads of IA32_SYSENTER_CS exit (read-low bitmap, SDM 25.6.9): the
	 * MSR exit of Turtles' micro-experiments, answered from the VMCS. */
	l1_msr_bitmap[MSR_IA32_SYSENTER_CS / 8] |=
		(uint8_t)(1u << (MSR_IA32_SYSENTER_CS % 8));

	vmcs_write(PIN_BASED_VM_EXEC_CONTROL, c->pin);
	vmcs_write(CPU_BASED_VM_EXEC_CONTROL, c->proc);
	vmcs_write(SECONDARY_VM_EXEC_CONTROL, c->proc2);
	vmcs_write(VM_EXIT_CONTROLS, c->exit);
	vmcs_write(VM_ENTRY_CONTROLS, c->entry);

	/* mmu=shadow: every #PF exits, hidden or true (shadow.c). */
	vmcs_write(
		EXCEPTION_BITMAP,
		vm->opt->exc_bitmap |
			(vm->opt->mmu == L1_MMU_SHADOW ? 1u << PF_VECTOR : 0));
	/* With bit 14 set every #PF exits, with it clear none (25.6.3). */
	vmcs_write(PAGE_FAULT_ERROR_CODE_MASK, 0);
	vmcs_write(PAGE_FAULT_ERROR_CODE_MATCH, 0);
	vmcs_write(IO_BITMAP_A, l1_pa(l1_io_bitmap_a));
	vmcs_write(IO_BITMAP_B, l1_pa(l1_io_bitmap_b));
	vmcs_write(MSR_BITMAP, l1_pa(l1_msr_bitmap));
	vmcs_write(TSC_OFFSET, 0);
	vmcs_write(CR3_TARGET_COUNT, 0);
	vmcs_write(VM_EXIT_MSR_STORE_COUNT, 0);
	vmcs_write(VM_EXIT_MSR_LOAD_COUNT, 0);
	vmcs_write(VM_ENTRY_MSR_LOAD_COUNT, 0);
	vmcs_write(VM_ENTRY_INTR_INFO_FIELD, 0);
	if (vm->opt->mmu == L1_MMU_EPT)
		vmcs_write(EPT_POINTER, vm->eptp);
	if (vm->vpid)
		vmcs_write(VIRTUAL_PROCESSOR_ID, vm->vpid);
	if (c->proc2 & SECONDARY_EXEC_ENABLE_XSAVES)
		vmcs_write(XSS_EXIT_BITMAP, 0);
}

/*
 * CR0 and CR4: the bits VMX operation fixes (A.7, A.8) must hold their
 * fixed values in the real registers, so L1 owns them (guest/host mask)
 * and L2 reads the boot contract's values through the read shadows
 * (25.6.6). L2 sees CR4.VMXE clear, as on a processor without VMX. L1
 * also owns CR0.TS, as KVM did while it switched the FPU lazily: a MOV to
 * CR0 that flips it exits and is emulated (exit.c).
 */
static void l1_write_guest_crs(struct l2_vm *vm, const struct l1_vmx_caps *caps)
{
	uint64_t cr0 = (BOOT_CR0 | caps->cr0_fixed0) & caps->cr0_fixed1;
	uint64_t cr4 = (BOOT_CR4 | caps->cr4_fixed0) & caps->cr4_fixed1;
	bool shadow = vm->opt->mmu == L1_MMU_SHADOW;
	/*
	 * mmu=shadow owns the bits that change how L2's tables are read
	 * or what the TLB holds (KVM's shadow-paging CR0/CR4 masks):
	 * CR0.WP, and CR4.PGE, PSE, PAE, PCIDE, LA57, SMEP, SMAP, PKE.
	 * GUEST_CR3 is the shadow root; L2's CR3 is l1-shim's to keep.
	 */
	uint64_t cr0_own = shadow ? X86_CR0_WP : 0;
	uint64_t cr4_own = shadow ? X86_CR4_PGE | X86_CR4_PSE | X86_CR4_PAE |
					    X86_CR4_PCIDE | X86_CR4_LA57 |
					    X86_CR4_SMEP | X86_CR4_SMAP |
					    X86_CR4_PKE
				  : 0;

	vm->cr0_shadow = BOOT_CR0;
	vm->cr0_fixed0 = caps->cr0_fixed0;
	vm->cr0_fixed1 = caps->cr0_fixed1;
	vm->cr4_fixed0 = caps->cr4_fixed0;
	vm->cr4_fixed1 = caps->cr4_fixed1;
	vmcs_write(GUEST_CR0, cr0);
	vmcs_write(CR0_GUEST_HOST_MASK,
		   caps->cr0_fixed0 | (cr0 ^ BOOT_CR0) | X86_CR0_TS | cr0_own);
	vmcs_write(CR0_READ_SHADOW, BOOT_CR0);
	vmcs_write(GUEST_CR3, shadow ? vm->shadow.root : BOOT_PML4);
	vmcs_write(GUEST_CR4, cr4);
	vmcs_write(CR4_GUEST_HOST_MASK,
		   caps->cr4_fixed0 | (cr4 ^ BOOT_CR4) | cr4_own);
	vmcs_write(CR4_READ_SHADOW, BOOT_CR4);
}

/* ---- guest and host state (25.4, 25.5; checks 27.2.2-27.3.1) ------------ */

struct l1_seg_fields {
	enum x86_sreg sreg;
	uint32_t sel, base, limit, ar;
};

static const struct l1_seg_fields l1_guest_segs[] = {
	{ VCPU_SREG_ES, GUEST_ES_SELECTOR, GUEST_ES_BASE, GUEST_ES_LIMIT,
	  GUEST_ES_AR_BYTES },
	{ VCPU_SREG_CS, GUEST_CS_SELECTOR, GUEST_CS_BASE, GUEST_CS_LIMIT,
	  GUEST_CS_AR_BYTES },
	{ VCPU_SREG_SS, GUEST_SS_SELECTOR, GUEST_SS_BASE, GUEST_SS_LIMIT,
	  GUEST_SS_AR_BYTES },
	{ VCPU_SREG_DS, GUEST_DS_SELECTOR, GUEST_DS_BASE, GUEST_DS_LIMIT,
	  GUEST_DS_AR_BYTES },
	{ VCPU_SREG_FS, GUEST_FS_SELECTOR, GUEST_FS_BASE, GUEST_FS_LIMIT,
	  GUEST_FS_AR_BYTES },
	{ VCPU_SREG_GS, GUEST_GS_SELECTOR, GUEST_GS_BASE, GUEST_GS_LIMIT,
	  GUEST_GS_AR_BYTES },
	{ VCPU_SREG_LDTR, GUEST_LDTR_SELECTOR, GUEST_LDTR_BASE,
	  GUEST_LDTR_LIMIT, GUEST_LDTR_AR_BYTES },
	{ VCPU_SREG_TR, GUEST_TR_SELECTOR, GUEST_TR_BASE, GUEST_TR_LIMIT,
	  GUEST_TR_AR_BYTES },
};

/*
 * L2 starts exactly as nestvm starts a native guest (docs/boot.md, "CPU
 * state at entry"); the segment values come from arch/boot_layout.h, the
 * same functions that wrote L2's GDT. The general registers are not VMCS
 * state: l2_boot.c set RDI, entry.S loads them.
 */
static void l1_write_guest_state(struct l2_vm *vm,
				 const struct l1_vmx_caps *caps,
				 const struct l1_vmx_ctls *c)
{
	for (size_t i = 0; i < ARRAY_SIZE(l1_guest_segs); i++) {
		const struct l1_seg_fields *f = &l1_guest_segs[i];
		struct kvm_segment s = boot_layout_segment(f->sreg);

		vmcs_write(f->sel, s.selector);
		vmcs_write(f->base, s.base);
		vmcs_write(f->limit, s.limit);
		vmcs_write(f->ar, x86_seg_to_vmx_ar(&s));
	}
	vmcs_write(GUEST_GDTR_BASE, BOOT_GDT);
	vmcs_write(GUEST_GDTR_LIMIT, BOOT_GDT_LIMIT);
	vmcs_write(GUEST_IDTR_BASE, 0);
	vmcs_write(GUEST_IDTR_LIMIT, 0);

	l1_write_guest_crs(vm, caps);
	vmcs_write(GUEST_DR7, DR7_FIXED_1);
	vmcs_write(GUEST_IA32_DEBUGCTL, 0);
	vmcs_write(GUEST_IA32_EFER, BOOT_EFER);
	if (c->pat)
		vmcs_write(GUEST_IA32_PAT, X86_RESET_PAT);
	vmcs_write(GUEST_SYSENTER_CS, 0);
	vmcs_write(GUEST_SYSENTER_ESP, 0);
	vmcs_write(GUEST_SYSENTER_EIP, 0);

	vmcs_write(GUEST_RSP, BOOT_STACK_TOP);
	vmcs_write(GUEST_RIP, vm->entry);
	vmcs_write(GUEST_RFLAGS, BOOT_RFLAGS);
	vmcs_write(GUEST_ACTIVITY_STATE, GUEST_ACTIVITY_ACTIVE);
	vmcs_write(GUEST_INTERRUPTIBILITY_INFO, 0);
	vmcs_write(GUEST_PENDING_DBG_EXCEPTIONS, 0);
	/* No shadow VMCS: the link pointer must be all ones (27.3.1.5). */
	vmcs_write(VMCS_LINK_POINTER, ~0ull);
}

static const struct l1_seg_fields l1_host_sels[] = {
	{ VCPU_SREG_ES, HOST_ES_SELECTOR, 0, 0, 0 },
	{ VCPU_SREG_CS, HOST_CS_SELECTOR, 0, 0, 0 },
	{ VCPU_SREG_SS, HOST_SS_SELECTOR, 0, 0, 0 },
	{ VCPU_SREG_DS, HOST_DS_SELECTOR, 0, 0, 0 },
	{ VCPU_SREG_FS, HOST_FS_SELECTOR, 0, 0, 0 },
	{ VCPU_SREG_GS, HOST_GS_SELECTOR, 0, 0, 0 },
	{ VCPU_SREG_TR, HOST_TR_SELECTOR, 0, 0, 0 },
};

/*
 * Host state: l1-shim as it runs now. A VM exit loads only these (28.5),
 * so the exit stub starts on its own stack at HOST_RSP and returns into
 * l1_vmx_run's caller from there. Selectors must have RPL and TI 0, CS and
 * TR must not be null (27.2.3): the boot contract's are.
 */
static int l1_write_host_state(const struct l1_vmx_ctls *c)
{
	struct x86_desc_ptr gdt = l1_sgdt(), idt = l1_sidt();
	uint16_t tr = l1_str();
	const uint64_t *desc;
	struct kvm_segment trs;

	if (x86_sel_is_null(tr) || (tr & (SEL_TI | SEL_RPL_MASK)) ||
	    SEL_INDEX(tr) * 8 + 15 > gdt.limit) {
		printf(L1_PFX "l1-shim's TR (%#x) is unusable as host TR\n",
		       tr);
		return L1_EXIT_FATAL;
	}
	desc = (const uint64_t *)(uintptr_t)(gdt.base + SEL_INDEX(tr) * 8);
	x86_seg_decode_sys_desc(&trs, desc[0], desc[1], tr);

	vmcs_write(HOST_CR0, l1_read_cr0());
	vmcs_write(HOST_CR3, read_cr3());
	vmcs_write(HOST_CR4, l1_read_cr4());
	for (size_t i = 0; i < ARRAY_SIZE(l1_host_sels); i++)
		vmcs_write(l1_host_sels[i].sel,
			   l1_read_sel(l1_host_sels[i].sreg));
	vmcs_write(HOST_FS_BASE, l1_rdmsr(MSR_FS_BASE));
	vmcs_write(HOST_GS_BASE, l1_rdmsr(MSR_GS_BASE));
	vmcs_write(HOST_TR_BASE, trs.base);
	vmcs_write(HOST_GDTR_BASE, gdt.base);
	vmcs_write(HOST_IDTR_BASE, idt.base);
	vmcs_write(HOST_IA32_SYSENTER_CS, l1_rdmsr(MSR_IA32_SYSENTER_CS));
	vmcs_write(HOST_IA32_SYSENTER_ESP, l1_rdmsr(MSR_IA32_SYSENTER_ESP));
	vmcs_write(HOST_IA32_SYSENTER_EIP, l1_rdmsr(MSR_IA32_SYSENTER_EIP));
	vmcs_write(HOST_IA32_EFER, l1_rdmsr(MSR_EFER));
	if (c->pat)
		vmcs_write(HOST_IA32_PAT, l1_rdmsr(MSR_IA32_CR_PAT));
	vmcs_write(HOST_RSP, l1_pa(l1_exit_stack_top));
	vmcs_write(HOST_RIP, l1_pa((const void *)l1_vmx_exit));
	return 0;
}

/* Stale translations for L2's EPTP or VPID must not survive: none can
 * exist yet, but a hypervisor cannot know what ran before it. */
static int l1_flush_tlbs(const struct l2_vm *vm)
{
	uint64_t cap = vm->ept_vpid_cap;
	enum vmx_result r = VMX_SUCCEED;

	/* mmu=shadow has no EPTP to flush for. */
	if (vm->opt->mmu == L1_MMU_SHADOW)
		r = VMX_SUCCEED;
	else if (vmx_ept_cap_has_invept_type(cap, VMX_EPT_EXTENT_CONTEXT))
		r = vmx_invept(VMX_EPT_EXTENT_CONTEXT, vm->eptp);
	else if (vmx_ept_cap_has_invept_type(cap, VMX_EPT_EXTENT_GLOBAL))
		r = vmx_invept(VMX_EPT_EXTENT_GLOBAL, 0);
	if (r != VMX_SUCCEED)
		return l1_vmx_insn_failed("INVEPT", r);
	if (!vm->vpid)
		return 0;
	if (vmx_vpid_cap_has_invvpid_type(cap, VMX_VPID_EXTENT_SINGLE_CONTEXT))
		r = vmx_invvpid(VMX_VPID_EXTENT_SINGLE_CONTEXT, vm->vpid, 0);
	else
		r = vmx_invvpid(VMX_VPID_EXTENT_ALL_CONTEXT, 0, 0);
	if (r != VMX_SUCCEED)
		return l1_vmx_insn_failed("INVVPID", r);
	return 0;
}

/*
 * mmu=shadow: the shadow pool and root, with the CPUID facts L2's page
 * walk needs: MAXPHYADDR (CPUID.80000008H:EAX[7:0]) for reserved address
 * bits and 1 GiB pages (CPUID.80000001H:EDX[26]), SDM 4.1.4.
 */
static int l1_shadow_setup(struct l2_vm *vm)
{
	unsigned int maxphyaddr = 36;
	bool gbpages = false;
	uint32_t max_ext = cpuid(0x80000000, 0).eax;

	if (max_ext >= 0x80000001)
		gbpages = cpuid(0x80000001, 0).edx & (1u << 26);
	if (max_ext >= 0x80000008)
		maxphyaddr = cpuid(0x80000008, 0).eax & 0xff;
	return shadow_init(vm, BOOT_PML4, BOOT_CR4, maxphyaddr, gbpages);
}

int vmcs_setup(struct l2_vm *vm)
{
	struct l1_vmx_caps caps;
	struct l1_vmx_ctls ctls;
	int ret;

	if (!(cpuid(1, 0).ecx & CPUID_1_ECX_VMX)) {
		printf(L1_PFX "this processor has no VMX (CPUID.1:ECX[5] is "
			      "0)\n");
		return L1_EXIT_FATAL;
	}
	l1_vmx_read_caps(&caps);
	ret = l1_vmx_enable_feature_control();
	if (!ret)
		ret = l1_vmx_fix_crs(&caps);
	if (!ret)
		ret = l1_vmx_on(vm, &caps);
	if (!ret)
		ret = l1_ctls_compute(vm, &caps, &ctls);
	if (!ret && vm->opt->mmu == L1_MMU_SHADOW)
		ret = l1_shadow_setup(vm);
	else if (!ret)
		ret = ept_build(vm);
	if (ret)
		return ret;

	l1_write_controls(vm, &ctls);
	l1_write_guest_state(vm, &caps, &ctls);
	ret = l1_write_host_state(&ctls);
	if (!ret)
		ret = l1_flush_tlbs(vm);
	if (ret)
		return ret;
	if (vm->opt->verbose) {
		printf(L1_PFX "VMCS revision %#x, %s controls: pin %#x proc "
			      "%#x proc2 %#x exit %#x entry %#x\n",
		       vmx_basic_get_revision(caps.basic),
		       caps.true_ctls ? "TRUE" : "default1", ctls.pin,
		       ctls.proc, ctls.proc2, ctls.exit, ctls.entry);
		printf(L1_PFX "EPTP %#llx, VPID %u, exception bitmap %#x, "
			      "EPT/VPID capabilities %#llx\n",
		       (unsigned long long)vm->eptp, vm->vpid,
		       vm->opt->exc_bitmap,
		       (unsigned long long)vm->ept_vpid_cap);
		if (vm->opt->mmu == L1_MMU_SHADOW)
			printf(L1_PFX "mmu=shadow: shadow root %#llx, %u "
				      "pages of shadow tables\n",
			       (unsigned long long)vm->shadow.root,
			       L1_SHADOW_POOL_PAGES);
	}
	return 0;
}
