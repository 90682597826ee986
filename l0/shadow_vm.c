/* SPDX-License-Identifier: MIT */
/*
 * shadow_vm.c - --mmu shadow on L0's side (l0/shadow_vm.h): vmcs01 set up
 * for shadow paging (SDM Vol. 3C 25.6.3, 25.6.6, 26.1.3), L1's #PF exits
 * resolved as hidden or true faults, L1's stores to its page tables
 * emulated (MOV only), its INVLPG and CR3 accesses, and the exception
 * rules for a fault during event delivery (SDM Vol. 3A 6.15 Table 6-5).
 * Monitor side; the shadow itself is mmu/shadow.c.
 */
#include "l0/shadow_vm.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <asm/vmx.h>

#include "arch/vmcs.h"
#include "arch/vmx_exit_qual.h"
#include "arch/x86_msr.h"
#include "arch/x86_paging.h"
#include "arch/x86_seg.h"
#include "l0/errmsg.h"
#include "mmu/shadow.h"
#include "vtx/vtx.h"

/* L1's paging controls L0 must see change: each is in vmcs01's masks, so
 * L1's MOV to CR0/CR4 that changes one exits (SDM 26.1.3). */
#define SHADOW_CR0_OWNED ((uint64_t)X86_CR0_WP)
#define SHADOW_CR4_OWNED                                                     \
	((uint64_t)(X86_CR4_PAE | X86_CR4_PSE | X86_CR4_PGE | X86_CR4_SMEP | \
		    X86_CR4_SMAP | X86_CR4_PKE | X86_CR4_LA57 |              \
		    X86_CR4_PCIDE))

const char *l0_mmu_mode_name(enum l0_mmu_mode mode)
{
	return mode == L0_MMU_SHADOW ? "shadow" : "ept";
}

/* L1's view of a control register: its own bits from the read shadow
 * where the mask gives them to L0 (SDM 25.6.6). */
static uint64_t cr_view(struct l0_vm *vm, uint32_t guest, uint32_t mask,
			uint32_t shadow)
{
	uint64_t m = l0_vmread(vm, mask);

	return (l0_vmread(vm, guest) & ~m) | (l0_vmread(vm, shadow) & m);
}

static void l1_shadow_paging(struct l0_vm *vm, struct shadow_paging *pg)
{
	pg->cr0 = cr_view(vm, GUEST_CR0, CR0_GUEST_HOST_MASK, CR0_READ_SHADOW);
	pg->cr4 = cr_view(vm, GUEST_CR4, CR4_GUEST_HOST_MASK, CR4_READ_SHADOW);
	pg->efer = l0_vmread(vm, GUEST_IA32_EFER);
}

uint64_t l0_l1_cr3(struct l0_vm *vm)
{
	return vm->shadow ? vm->shadow->cr3 : l0_vmread(vm, GUEST_CR3);
}

/* Every write l1mem makes to L1's RAM (an emulated store, a vmcs12
 * written back, a VMX instruction's operand) keeps the shadow coherent. */
static void shadow_on_l1_write(void *opaque, gpa_t gpa, uint64_t len)
{
	shadow_l1_written(opaque, gpa, len);
}

int l0_vm_set_mmu(struct l0_vm *vm, enum l0_mmu_mode mode, char *err,
		  size_t errlen)
{
	struct shadow_paging pg;
	const char *why = NULL;
	uint8_t *bitmap;
	uint64_t proc, proc2, may = 0;
	hpa_t root;
	int ret;

	vm->mmu = mode;
	if (mode == L0_MMU_EPT)
		return 0;
	if (vm->ept_coherence == EPT_COHERENCE_WP)
		return errmsg(-EINVAL, err, errlen,
			      "--mmu shadow: --ept-coherence wp write-protects "
			      "ept12 through ept01, which L1 does not run on "
			      "(use --ept-coherence invept)");
	vtx_cpu_get_msr(vm->cpu, MSR_IA32_VMX_TRUE_PROCBASED_CTLS, &may);
	if (((may >> 32) &
	     (CPU_BASED_CR3_LOAD_EXITING | CPU_BASED_CR3_STORE_EXITING |
	      CPU_BASED_INVLPG_EXITING)) !=
	    (CPU_BASED_CR3_LOAD_EXITING | CPU_BASED_CR3_STORE_EXITING |
	     CPU_BASED_INVLPG_EXITING))
		return errmsg(-ENODEV, err, errlen,
			      "--mmu shadow: the processor lacks CR3 or "
			      "INVLPG exiting");
	l1_shadow_paging(vm, &pg);
	if (!shadow_paging_supported(&pg, &why))
		return errmsg(-EOPNOTSUPP, err, errlen,
			      "--mmu shadow: %s: not supported (L1 must "
			      "start in 4-level long mode)",
			      why);
	vm->shadow = calloc(1, sizeof(*vm->shadow));
	if (!vm->shadow)
		return errmsg(-ENOMEM, err, errlen, "--mmu shadow: %s",
			      strerror(ENOMEM));
	ret = shadow_init(vm->shadow, &vm->area, &vm->mem, &pg,
			  l0_vmread(vm, GUEST_CR3), &root);
	if (ret)
		return errmsg(ret, err, errlen,
			      "--mmu shadow: no room in the L0 area for the "
			      "first shadow root");
	vm->mem.on_write = shadow_on_l1_write;
	vm->mem.on_write_opaque = vm->shadow;

	/* vmcs01 is current (l0_vm_init()). */
	proc = l0_vmread(vm, CPU_BASED_VM_EXEC_CONTROL);
	proc2 = l0_vmread(vm, SECONDARY_VM_EXEC_CONTROL);
	l0_vmwrite(vm, CPU_BASED_VM_EXEC_CONTROL,
		   proc | CPU_BASED_CR3_LOAD_EXITING |
			   CPU_BASED_CR3_STORE_EXITING |
			   CPU_BASED_INVLPG_EXITING);
	/* No VPID either: every VM entry and exit then flushes L1's
	 * translations (SDM 29.4.3.1), which is what makes a zapped shadow
	 * entry unreachable without an explicit INVVPID. */
	l0_vmwrite(vm, SECONDARY_VM_EXEC_CONTROL,
		   proc2 & ~(uint64_t)(SECONDARY_EXEC_ENABLE_EPT |
				       SECONDARY_EXEC_ENABLE_VPID));
	vm->vpid01 = false;
	/* Every #PF exits: mask and match 0 with the bit set (SDM 26.2). */
	l0_vmwrite(vm, EXCEPTION_BITMAP,
		   l0_vmread(vm, EXCEPTION_BITMAP) | (1u << PF_VECTOR));
	l0_vmwrite(vm, PAGE_FAULT_ERROR_CODE_MASK, 0);
	l0_vmwrite(vm, PAGE_FAULT_ERROR_CODE_MATCH, 0);
	/* The read shadows already hold L1's values; the masks grow. */
	l0_vmwrite(vm, CR0_READ_SHADOW, pg.cr0);
	l0_vmwrite(vm, CR0_GUEST_HOST_MASK, L0_CR0_OWNED | SHADOW_CR0_OWNED);
	l0_vmwrite(vm, CR4_READ_SHADOW, pg.cr4);
	l0_vmwrite(vm, CR4_GUEST_HOST_MASK, L0_CR4_OWNED | SHADOW_CR4_OWNED);
	l0_vmwrite(vm, GUEST_CR3, root);
	/* WRMSR to EFER exits, so that a change of NXE reaches the shadow:
	 * the write bitmap for MSRs 0xc0000000.. is at byte 3072. */
	bitmap = vtx_hpa_ptr(vm->m, vm->msr_bitmap01, PAGE_SIZE);
	if (bitmap)
		bitmap[3072 + (MSR_EFER & 0x1fff) / 8] |=
			(uint8_t)(1u << (MSR_EFER & 7));
	if (vm->vmx_err)
		return errmsg(-EIO, err, errlen,
			      "VMWRITE of vmcs01 field 0x%x failed (%d)",
			      vm->vmx_err_field, vm->vmx_err);
	return 0;
}

void l0_vm_destroy_mmu(struct l0_vm *vm)
{
	if (!vm->shadow)
		return;
	shadow_destroy(vm->shadow);
	free(vm->shadow);
	vm->shadow = NULL;
	vm->mem.on_write = NULL;
}

/* Makes the root for L1's CR3 the real one, or stops the run. */
static bool load_root(struct l0_vm *vm, int ret, hpa_t root)
{
	if (ret) {
		l0_stop_vm(vm, L0_STOP_INTERNAL,
			   "--mmu shadow: the L0 area has no room for a shadow "
			   "table");
		return false;
	}
	l0_vmwrite(vm, GUEST_CR3, root);
	return true;
}

bool l0_shadow_paging_changed(struct l0_vm *vm)
{
	struct shadow_paging pg;
	const char *why = NULL;
	hpa_t root = 0;
	int ret;

	l1_shadow_paging(vm, &pg);
	if (!shadow_paging_supported(&pg, &why)) {
		l0_stop_vm(vm, L0_STOP_UNHANDLED,
			   "--mmu shadow: %s (CR0 0x%" PRIx64 ", CR4 0x%" PRIx64
			   ", EFER 0x%" PRIx64 "): not handled yet",
			   why, pg.cr0, pg.cr4, pg.efer);
		return false;
	}
	/* Two statements: root is set by the call. */
	ret = shadow_set_paging(vm->shadow, &pg, &root);
	return load_root(vm, ret, root);
}

bool l0_shadow_after_host_state(struct l0_vm *vm)
{
	uint64_t cr3 = l0_vmread(vm, GUEST_CR3);

	if (cr3 != vm->shadow->cr3)
		vm->shadow->stats.cr3_switches++;
	vm->shadow->cr3 = cr3;
	return l0_shadow_paging_changed(vm);
}

/* ---- #PF ------------------------------------------------------------------- */

/* The event whose delivery the exit interrupted goes in again once the
 * shadow maps what it needed (SDM 28.2.4, 27.6). */
static void requeue_vectoring(struct l0_vm *vm, uint32_t idt)
{
	l0_vmwrite(vm, VM_ENTRY_INTR_INFO_FIELD, idt & ~INTR_INFO_UNBLOCK_NMI);
	if (vmx_intr_info_has_error_code(idt))
		l0_vmwrite(vm, VM_ENTRY_EXCEPTION_ERROR_CODE,
			   l0_vmread(vm, IDT_VECTORING_ERROR_CODE));
	if (vmx_intr_type_is_soft(vmx_intr_info_get_type(idt)))
		l0_vmwrite(vm, VM_ENTRY_INSTRUCTION_LEN,
			   l0_vmread(vm, VM_EXIT_INSTRUCTION_LEN));
}

/*
 * A true #PF for L1. During the delivery of another event the rules of
 * SDM Vol. 3A Table 6-5 apply: after a #PF it is #DF, after a #DF a
 * triple fault; after anything else (benign or contributory) the #PF
 * itself.
 */
static enum l0_exit_action inject_pf(struct l0_vm *vm, uint32_t idt,
				     uint32_t error, gva_t cr2)
{
	if (vmx_intr_info_is_valid(idt) &&
	    vmx_intr_info_get_type(idt) == INTR_TYPE_HARD_EXCEPTION) {
		unsigned int first = vmx_intr_info_get_vector(idt);

		if (first == DF_VECTOR)
			return l0_stop_vm(vm, L0_STOP_TRIPLE_FAULT,
					  "a #PF while delivering #DF in L1 "
					  "(cr2=0x%" PRIx64 "), then shutdown",
					  cr2);
		if (first == PF_VECTOR) {
			l0_inject_exception(vm, DF_VECTOR, true, 0, 0);
			return EXIT_RESUME;
		}
	}
	l0_inject_exception(vm, PF_VECTOR, true, error, cr2);
	return EXIT_RESUME;
}

static void l1_paging_now(struct l0_vm *vm, struct l1_paging *pg)
{
	pg->cr0 = cr_view(vm, GUEST_CR0, CR0_GUEST_HOST_MASK, CR0_READ_SHADOW);
	pg->cr3 = vm->shadow->cr3;
	pg->cr4 = cr_view(vm, GUEST_CR4, CR4_GUEST_HOST_MASK, CR4_READ_SHADOW);
	pg->efer = l0_vmread(vm, GUEST_IA32_EFER);
	pg->rflags = l0_vmread(vm, GUEST_RFLAGS);
}

static uint64_t segment_base(struct l0_vm *vm, int seg)
{
	if (seg == VCPU_SREG_FS)
		return l0_vmread(vm, GUEST_FS_BASE);
	if (seg == VCPU_SREG_GS)
		return l0_vmread(vm, GUEST_GS_BASE);
	return 0;
}

__attribute__((format(printf, 5, 6))) static enum l0_exit_action
pt_write_unimpl(struct l0_vm *vm, const uint8_t *b, size_t n, gva_t cr2,
		const char *fmt, ...)
{
	char what[96], bytes[64] = "";
	size_t at = 0;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	for (size_t i = 0; i < n && i < 15 && at + 4 < sizeof(bytes); i++)
		at += (size_t)snprintf(bytes + at, sizeof(bytes) - at, "%s%02x",
				       i ? " " : "", b[i]);
	vm->shadow->stats.pt_write_unimpl++;
	return l0_stop_vm(vm, L0_STOP_UNHANDLED,
			  "--mmu shadow: L1 wrote its page table at linear "
			  "0x%" PRIx64 " with an instruction L0 does not "
			  "emulate (%s; bytes %s): only MOV stores are",
			  cr2, what, n ? bytes : "unreadable");
}

/*
 * L1 stores to one of its own page tables, which the shadow maps
 * read-only: the store is emulated on L1's memory (l1mem_write(), whose
 * hook zaps the shadow leaves derived from the entries written) and L1
 * resumes after it. gpa is where the faulting address lies.
 */
static enum l0_exit_action emulate_pt_write(struct l0_vm *vm, gva_t cr2,
					    gpa_t gpa)
{
	uint64_t rip = l0_vmread(vm, GUEST_RIP);
	uint64_t intr = l0_vmread(vm, GUEST_INTERRUPTIBILITY_INFO);
	uint8_t b[15];
	size_t n = sizeof(b);
	struct l1mem_fault f;
	struct l1_paging pg;
	struct shadow_store st;
	uint64_t ea, val;
	int ret;

	l1_paging_now(vm, &pg);
	/* The instruction may end before a page L1 has not mapped. */
	if (l1mem_read_gva(&vm->mem, &pg, rip, b, n, &f)) {
		n = PAGE_SIZE - (rip & (PAGE_SIZE - 1));
		if (n > sizeof(b) ||
		    l1mem_read_gva(&vm->mem, &pg, rip, b, n, &f))
			return pt_write_unimpl(
				vm, b, 0, cr2,
				"instruction at 0x%" PRIx64 " unreadable", rip);
	}
	ret = shadow_decode_store(b, n, &st);
	if (ret)
		return pt_write_unimpl(vm, b, n, cr2, "not a MOV store");
	ea = st.disp;
	if (st.base >= 0)
		ea += l0_read_gpr(vm, (unsigned int)st.base);
	if (st.index >= 0)
		ea += l0_read_gpr(vm, (unsigned int)st.index) << st.scale;
	if (st.rip_rel)
		ea += rip + st.len;
	if (st.addr32)
		ea &= 0xffffffffull;
	ea += segment_base(vm, st.seg);
	/* The store must be the faulting access and stay in its page. */
	if (((ea ^ cr2) & ~(uint64_t)(PAGE_SIZE - 1)) ||
	    (ea & (PAGE_SIZE - 1)) + st.size > PAGE_SIZE)
		return pt_write_unimpl(vm, b, n, cr2,
				       "a store at 0x%" PRIx64 " of %u bytes "
				       "crossing a page or not the fault's",
				       ea, st.size);
	if (st.has_imm) {
		val = st.imm;
	} else {
		val = l0_read_gpr(vm, (unsigned int)st.src);
		if (st.src_high8)
			val >>= 8;
	}
	gpa = (gpa & ~(gpa_t)(PAGE_SIZE - 1)) | (ea & (PAGE_SIZE - 1));
	/* Little-endian: the low st.size bytes of val are the store. */
	if (l1mem_write(&vm->mem, gpa, &val, st.size))
		return l0_stop_vm(vm, L0_STOP_INTERNAL,
				  "--mmu shadow: emulated store outside L1's "
				  "RAM at 0x%" PRIx64,
				  gpa);
	vm->shadow->stats.pt_writes++;
	l0_vmwrite(vm, GUEST_RIP, rip + st.len);
	if (intr & (GUEST_INTR_STATE_STI | GUEST_INTR_STATE_MOV_SS))
		l0_vmwrite(vm, GUEST_INTERRUPTIBILITY_INFO,
			   intr & ~(uint64_t)(GUEST_INTR_STATE_STI |
					      GUEST_INTR_STATE_MOV_SS));
	return EXIT_RESUME;
}

enum l0_exit_action l0_shadow_handle_exception(struct l0_vm *vm, uint64_t qual)
{
	uint32_t info = (uint32_t)l0_vmread(vm, VM_EXIT_INTR_INFO);
	uint32_t idt = (uint32_t)l0_vmread(vm, IDT_VECTORING_INFO_FIELD);
	uint32_t ec = (uint32_t)l0_vmread(vm, VM_EXIT_INTR_ERROR_CODE);
	bool ac = l0_vmread(vm, GUEST_RFLAGS) & X86_EFLAGS_AC;
	uint32_t error = 0;
	gpa_t gpa = 0;

	if (!vm->shadow || vmx_intr_info_get_vector(info) != PF_VECTOR)
		return l0_stop_vm(vm, L0_STOP_UNHANDLED,
				  "L1 exception exit (interruption info 0x%x): "
				  "not handled yet",
				  info);
	switch (shadow_handle_pf(vm->shadow, qual, ec, ac, &error, &gpa)) {
	case SHADOW_PF_FILLED:
		if (vmx_intr_info_is_valid(idt))
			requeue_vectoring(vm, idt);
		return EXIT_RESUME;
	case SHADOW_PF_TRUE:
		return inject_pf(vm, idt, error, qual);
	case SHADOW_PF_PT_WRITE:
		if (vmx_intr_info_is_valid(idt))
			return pt_write_unimpl(vm, NULL, 0, qual,
					       "event delivery (vectoring "
					       "info 0x%x)",
					       idt);
		return emulate_pt_write(vm, qual, gpa);
	case SHADOW_PF_OUTSIDE_RAM:
		/* As under ept01, where the access is an EPT violation
		 * L0 has no device for. */
		return l0_stop_vm(vm, L0_STOP_UNHANDLED,
				  "L1 accessed guest-physical 0x%" PRIx64
				  " outside its RAM (linear 0x%" PRIx64
				  ", --mmu shadow): not handled yet",
				  gpa, qual);
	case SHADOW_PF_RESERVED:
		return l0_stop_vm(vm, L0_STOP_UNHANDLED,
				  "the guest touched linear 0x%" PRIx64
				  " in PML4 slot 511, the software VMM's "
				  "(guests must not map it)",
				  qual);
	case SHADOW_PF_NO_MEMORY:
		break;
	}
	return l0_stop_vm(vm, L0_STOP_INTERNAL,
			  "--mmu shadow: the L0 area has no room for a shadow "
			  "table");
}

enum l0_exit_action l0_shadow_handle_invlpg(struct l0_vm *vm, uint64_t qual)
{
	if (!vm->shadow)
		return l0_stop_vm(vm, L0_STOP_UNHANDLED,
				  "L1 INVLPG exit without --mmu shadow");
	shadow_invlpg(vm->shadow, qual);
	return EXIT_RESUME_SKIP_INSN;
}

enum l0_exit_action l0_shadow_handle_cr3(struct l0_vm *vm, uint64_t qual)
{
	unsigned int gpr = vmx_qual_cr_get_gpr(qual);
	uint64_t val;
	hpa_t root = 0;
	int ret;

	if (vmx_qual_cr_get_type(qual) == CR_ACCESS_TYPE_MOV_FROM_CR) {
		l0_write_gpr(vm, gpr, vm->shadow->cr3);
		return EXIT_RESUME_SKIP_INSN;
	}
	val = l0_read_gpr(vm, gpr);
	/* SDM Vol. 2B "MOV to CR": bits above MAXPHYADDR are #GP(0);
	 * bit 63 is one of them without CR4.PCIDE (not covered). */
	if (val & ~((1ull << vm->mem.maxphyaddr) - 1)) {
		l0_inject_exception(vm, GP_VECTOR, true, 0, 0);
		return EXIT_RESUME;
	}
	vm->shadow->stats.cr3_switches++;
	ret = shadow_set_cr3(vm->shadow, val, &root);
	if (!load_root(vm, ret, root))
		return EXIT_STOP_VM;
	return EXIT_RESUME_SKIP_INSN;
}
