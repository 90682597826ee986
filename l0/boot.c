/* SPDX-License-Identifier: MIT */
/*
 * boot.c - the 64-bit boot contract (arch/bootinfo.h, docs/boot.md): GDT
 * and TSS (SDM Vol. 3A 3.4.5, 8.2.3, 8.7), identity-mapping 4-level page
 * tables (4.5), the boot-info block, and the long-mode vCPU state a loader
 * leaves behind (10.8.5), laid out by arch/boot_layout.h (which l1-shim
 * shares). Monitor side; reaches the machine only through vtx/vtx.h.
 */
#include "l0/boot.h"
#include "l0/errmsg.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "arch/x86_paging.h"
#include "arch/x86_regs.h"
#include "arch/x86_seg.h"
#include "vtx/vtx.h"

int boot_init_params(struct boot_params *bp, uint64_t mem_size, uint64_t entry,
		     uint64_t image_start, uint64_t image_end,
		     const char *cmdline, char *err, size_t errlen)
{
	size_t len = cmdline ? strlen(cmdline) : 0;

	memset(bp, 0, sizeof(*bp));
	if (mem_size < BOOT_MEM_MIN || mem_size > BOOT_MEM_MAX ||
	    mem_size % PAGE_SIZE)
		return errmsg(-EINVAL, err, errlen,
			      "guest RAM of %" PRIu64
			      " bytes: must be a multiple "
			      "of 4 KiB from 2 MiB to 64 GiB",
			      mem_size);
	if (len > NESTVM_CMDLINE_MAX - 1)
		return errmsg(-E2BIG, err, errlen,
			      "command line of %zu bytes is too long (at most "
			      "%u)",
			      len, NESTVM_CMDLINE_MAX - 1);
	if (image_start < BOOT_IMAGE_MIN || image_end < image_start ||
	    image_end > mem_size)
		return errmsg(-ERANGE, err, errlen,
			      "image [0x%" PRIx64 ", 0x%" PRIx64
			      ") does not fit "
			      "guest RAM [0x%llx, 0x%" PRIx64 ")",
			      image_start, image_end, BOOT_IMAGE_MIN, mem_size);
	bp->mem_size = mem_size;
	bp->entry = entry;
	bp->image_start = image_start;
	bp->image_end = image_end;
	bp->free_start = ALIGN_UP(image_end, PAGE_SIZE);
	bp->cmdline = cmdline;
	return 0;
}

int boot_add_module(struct boot_params *bp, const char *path, uint64_t size,
		    uint64_t *start, char *err, size_t errlen)
{
	const char *base = strrchr(path, '/');
	uint64_t at = bp->free_start;
	struct nestvm_boot_module *mod;

	base = base ? base + 1 : path;
	if (bp->nr_modules == NESTVM_MODULES_MAX)
		return errmsg(-ENOSPC, err, errlen,
			      "too many modules: at most %u",
			      NESTVM_MODULES_MAX);
	if (at > bp->mem_size || size > bp->mem_size - at)
		return errmsg(
			-ERANGE, err, errlen,
			"module '%s' (%" PRIu64 " bytes at 0x%" PRIx64
			") does not fit in guest RAM, which ends at 0x%" PRIx64
			"; try a larger --mem",
			path, size, at, bp->mem_size);
	mod = &bp->modules[bp->nr_modules++];
	memset(mod, 0, sizeof(*mod));
	mod->start = at;
	mod->size = size;
	snprintf(mod->name, sizeof(mod->name), "%s", base);
	bp->free_start = ALIGN_UP(at + size, PAGE_SIZE);
	*start = at;
	return 0;
}

/*
 * The GDT, TSS, page tables and boot-info block, written straight into the
 * arena by arch/boot_layout.h (shared with l1-shim, which builds the same
 * contract for its L2). The boot area lies below BOOT_AREA_SIZE, and the
 * guest has not run yet, so no code it executed can be overwritten.
 */
static int write_boot_area(struct vtx_machine *m, const struct boot_params *bp)
{
	uint8_t *low = vtx_hpa_ptr(m, 0, BOOT_AREA_SIZE);
	struct nestvm_bootinfo bi = {
		.nr_modules = bp->nr_modules,
		.mem_size = bp->mem_size,
		.free_start = bp->free_start,
		.image_start = bp->image_start,
		.image_end = bp->image_end,
	};

	if (!low)
		return -EFAULT;
	boot_layout_write_gdt_tss(low);
	boot_layout_write_page_tables(low, bp->mem_size);
	boot_layout_write_bootinfo(low, &bi, bp->cmdline, bp->modules);
	return 0;
}

int boot_write_memory(struct vtx_machine *m, const struct boot_params *bp,
		      char *err, size_t errlen)
{
	int ret;

	if (vtx_arena_size(m) < bp->mem_size)
		return errmsg(-EINVAL, err, errlen,
			      "machine memory (%" PRIu64
			      " bytes) is smaller than "
			      "guest RAM (%" PRIu64 " bytes)",
			      vtx_arena_size(m), bp->mem_size);
	if (bp->cmdline && strlen(bp->cmdline) > NESTVM_CMDLINE_MAX - 1)
		return errmsg(-E2BIG, err, errlen, "command line is too long");
	ret = write_boot_area(m, bp);
	if (ret)
		return errmsg(ret, err, errlen,
			      "cannot write the boot area: %s", strerror(-ret));
	return 0;
}

int boot_setup_cpu(struct vtx_cpu *cpu, const struct boot_params *bp, char *err,
		   size_t errlen)
{
	struct kvm_sregs sregs;
	struct kvm_regs regs;
	int ret;

	/* Start from the model's state to keep what the contract leaves
	 * alone (APIC base, pending interrupts). */
	ret = vtx_cpu_get_sregs(cpu, &sregs);
	if (ret)
		return errmsg(ret, err, errlen,
			      "cannot read the vCPU state: %s", strerror(-ret));

	sregs.cs = boot_layout_segment(VCPU_SREG_CS);
	sregs.ds = boot_layout_segment(VCPU_SREG_DS);
	sregs.es = boot_layout_segment(VCPU_SREG_ES);
	sregs.fs = boot_layout_segment(VCPU_SREG_FS);
	sregs.gs = boot_layout_segment(VCPU_SREG_GS);
	sregs.ss = boot_layout_segment(VCPU_SREG_SS);
	sregs.tr = boot_layout_segment(VCPU_SREG_TR);
	/* No LDT: a null LDTR is unusable (SDM Vol. 3A, 26.3.1.2). */
	sregs.ldt = boot_layout_segment(VCPU_SREG_LDTR);
	sregs.gdt.base = BOOT_GDT;
	sregs.gdt.limit = BOOT_GDT_LIMIT;
	sregs.idt.base = 0;
	sregs.idt.limit = 0;
	sregs.cr0 = BOOT_CR0;
	sregs.cr2 = 0;
	sregs.cr3 = BOOT_PML4;
	sregs.cr4 = BOOT_CR4;
	sregs.cr8 = 0;
	sregs.efer = BOOT_EFER;

	memset(&regs, 0, sizeof(regs));
	regs.rip = bp->entry;
	regs.rsp = BOOT_STACK_TOP;
	regs.rdi = BOOT_INFO;
	regs.rflags = BOOT_RFLAGS;

	ret = vtx_cpu_set_sregs(cpu, &sregs);
	if (ret)
		return errmsg(ret, err, errlen,
			      "the vCPU refused the boot state (sregs): %s",
			      strerror(-ret));
	ret = vtx_cpu_set_regs(cpu, &regs);
	if (ret)
		return errmsg(ret, err, errlen,
			      "the vCPU refused the boot state (regs): %s",
			      strerror(-ret));
	return 0;
}
