/* SPDX-License-Identifier: MIT */
/*
 * boot.c - the 64-bit boot contract (arch/bootinfo.h, docs/boot.md): GDT
 * and TSS (SDM Vol. 3A 3.4.5, 8.2.3, 8.7), identity-mapping 4-level page
 * tables (4.5), the boot-info block, and the long-mode vCPU state a loader
 * leaves behind (10.8.5). Monitor side; reaches the machine only through
 * vtx/vtx.h.
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
 * The segments the contract loads, as LGDT/LTR and the segment loads would
 * leave their hidden parts (SDM Vol. 3A 3.4.3): flat 4 GiB code and data
 * at DPL 0, a 64-bit CS (L=1, D=0), and TR on the busy 64-bit TSS. The GDT
 * entries are encoded from these same values, so the descriptors and the
 * hidden parts cannot disagree.
 */
static struct kvm_segment flat_segment(uint16_t sel, uint8_t type, bool l)
{
	return (struct kvm_segment){
		.base = 0,
		.limit = 0xffffffff, /* limit 0xfffff in 4 KiB units */
		.selector = sel,
		.type = type,
		.present = 1,
		.dpl = 0,
		.db = !l, /* L=1 requires D=0 (SDM 5.2.1) */
		.s = 1,
		.l = l,
		.g = 1,
	};
}

static struct kvm_segment code64_segment(void)
{
	return flat_segment(BOOT_SEL_CODE64, SEG_TYPE_CODE_XR_ACCESSED, true);
}

static struct kvm_segment code32_segment(void)
{
	return flat_segment(BOOT_SEL_CODE32, SEG_TYPE_CODE_XR_ACCESSED, false);
}

static struct kvm_segment data_segment(void)
{
	return flat_segment(BOOT_SEL_DATA, SEG_TYPE_DATA_RW_ACCESSED, false);
}

static struct kvm_segment tss_segment(void)
{
	/* Busy, as LTR leaves both TR and the descriptor (SDM 8.2.4). */
	return (struct kvm_segment){
		.base = BOOT_TSS,
		.limit = X86_TSS64_LIMIT,
		.selector = BOOT_SEL_TSS,
		.type = SEG_TYPE_TSS64_BUSY,
		.present = 1,
	};
}

static int write_gdt_tss(struct vtx_machine *m)
{
	struct kvm_segment code64 = code64_segment(), data = data_segment();
	struct kvm_segment code32 = code32_segment(), tr = tss_segment();
	uint64_t gdt[BOOT_GDT_ENTRIES] = { 0 };
	struct x86_tss64 tss;
	int ret;

	gdt[SEL_INDEX(BOOT_SEL_CODE64)] = x86_seg_encode_desc(&code64);
	gdt[SEL_INDEX(BOOT_SEL_DATA)] = x86_seg_encode_desc(&data);
	gdt[SEL_INDEX(BOOT_SEL_CODE32)] = x86_seg_encode_desc(&code32);
	gdt[SEL_INDEX(BOOT_SEL_TSS)] =
		x86_seg_encode_sys_desc(&tr, &gdt[SEL_INDEX(BOOT_SEL_TSS) + 1]);

	/* RSP0 keeps a later drop to CPL 3 from taking interrupts on a NULL
	 * stack; an I/O map base at the limit means "no I/O bitmap". */
	memset(&tss, 0, sizeof(tss));
	tss.rsp[0] = BOOT_STACK_TOP;
	tss.iomap_base = sizeof(tss);

	ret = vtx_hpa_write(m, BOOT_GDT, gdt, sizeof(gdt));
	if (!ret)
		ret = vtx_hpa_write(m, BOOT_TSS, &tss, sizeof(tss));
	return ret;
}

/*
 * Identity map [0, mem_size) (SDM Vol. 3A, 4.5): PML4[0] -> PDPT; one PDPT
 * entry and page directory per GiB that holds RAM; the first 2 MiB through
 * BOOT_PT0 with page 0 left not present; whole 2 MiB chunks as 2 MiB pages;
 * a last partial chunk through BOOT_PT_TAIL, so that nothing past RAM is
 * mapped. All entries RW, supervisor, executable.
 */
static int write_page_tables(struct vtx_machine *m, uint64_t mem_size)
{
	uint64_t table[PT_ENTRIES];
	uint64_t nr_gib = (mem_size + GiB(1) - 1) / GiB(1);
	int ret;

	memset(table, 0, sizeof(table));
	table[0] = BOOT_PDPT | PTE_P | PTE_RW;
	ret = vtx_hpa_write(m, BOOT_PML4, table, sizeof(table));

	memset(table, 0, sizeof(table));
	for (uint64_t g = 0; g < nr_gib; g++)
		table[g] = (BOOT_PD_BASE + g * PAGE_SIZE) | PTE_P | PTE_RW;
	if (!ret)
		ret = vtx_hpa_write(m, BOOT_PDPT, table, sizeof(table));

	/* mem_size >= BOOT_MEM_MIN = 2 MiB: the first table is full. */
	memset(table, 0, sizeof(table));
	for (uint64_t i = 1; i < PT_ENTRIES; i++)
		table[i] = (i * PAGE_SIZE) | PTE_P | PTE_RW;
	if (!ret)
		ret = vtx_hpa_write(m, BOOT_PT0, table, sizeof(table));

	for (uint64_t g = 0; !ret && g < nr_gib; g++) {
		memset(table, 0, sizeof(table));
		for (uint64_t i = 0; i < PT_ENTRIES; i++) {
			uint64_t at = GiB(g) + i * MiB(2);

			if (at >= mem_size)
				break;
			if (!at)
				table[i] = BOOT_PT0 | PTE_P | PTE_RW;
			else if (mem_size - at >= MiB(2))
				table[i] = at | PTE_P | PTE_RW | PTE_PS;
			else
				table[i] = BOOT_PT_TAIL | PTE_P | PTE_RW;
		}
		ret = vtx_hpa_write(m, BOOT_PD_BASE + g * PAGE_SIZE, table,
				    sizeof(table));
	}

	if (!ret && mem_size % MiB(2)) {
		uint64_t chunk = ALIGN_DOWN(mem_size, MiB(2));

		memset(table, 0, sizeof(table));
		for (uint64_t i = 0; chunk + i * PAGE_SIZE < mem_size; i++)
			table[i] = ((chunk + i * PAGE_SIZE) & PTE_ADDR_MASK) |
				   PTE_P | PTE_RW;
		ret = vtx_hpa_write(m, BOOT_PT_TAIL, table, sizeof(table));
	}
	return ret;
}

static int write_bootinfo(struct vtx_machine *m, const struct boot_params *bp)
{
	const char *cmdline = bp->cmdline ? bp->cmdline : "";
	struct nestvm_bootinfo bi = {
		.magic = NESTVM_BOOTINFO_MAGIC,
		.version = NESTVM_BOOTINFO_VERSION,
		.nr_modules = bp->nr_modules,
		.mem_size = bp->mem_size,
		.cmdline = BOOT_CMDLINE,
		.modules = BOOT_MODULES,
		.free_start = bp->free_start,
		.image_start = bp->image_start,
		.image_end = bp->image_end,
	};
	int ret;

	ret = vtx_hpa_write(m, BOOT_INFO, &bi, sizeof(bi));
	if (!ret)
		ret = vtx_hpa_write(m, BOOT_CMDLINE, cmdline,
				    strlen(cmdline) + 1);
	if (!ret && bp->nr_modules)
		ret = vtx_hpa_write(m, BOOT_MODULES, bp->modules,
				    bp->nr_modules * sizeof(bp->modules[0]));
	return ret;
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
	ret = write_gdt_tss(m);
	if (!ret)
		ret = write_page_tables(m, bp->mem_size);
	if (!ret)
		ret = write_bootinfo(m, bp);
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

	sregs.cs = code64_segment();
	sregs.ds = data_segment();
	sregs.es = sregs.ds;
	sregs.fs = sregs.ds;
	sregs.gs = sregs.ds;
	sregs.ss = sregs.ds;
	sregs.tr = tss_segment();
	/* No LDT: a null LDTR is unusable (SDM Vol. 3A, 26.3.1.2). */
	sregs.ldt = (struct kvm_segment){ .unusable = 1 };
	sregs.gdt.base = BOOT_GDT;
	sregs.gdt.limit = BOOT_GDT_LIMIT;
	sregs.idt.base = 0;
	sregs.idt.limit = 0;
	sregs.cr0 = X86_CR0_PE | X86_CR0_MP | X86_CR0_ET | X86_CR0_NE |
		    X86_CR0_WP | X86_CR0_PG;
	sregs.cr2 = 0;
	sregs.cr3 = BOOT_PML4;
	sregs.cr4 = X86_CR4_PAE;
	sregs.cr8 = 0;
	sregs.efer = EFER_LME | EFER_LMA | EFER_NX;

	memset(&regs, 0, sizeof(regs));
	regs.rip = bp->entry;
	regs.rsp = BOOT_STACK_TOP;
	regs.rdi = BOOT_INFO;
	regs.rflags = X86_EFLAGS_FIXED;

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
