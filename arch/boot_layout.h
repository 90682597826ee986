/* SPDX-License-Identifier: MIT */
/*
 * boot_layout.h - the memory and register side of the 64-bit boot contract
 * (arch/bootinfo.h, docs/boot.md) as plain functions over a buffer: the
 * GDT and TSS (SDM Vol. 3A 3.4.5, 8.2.3, 8.7), the identity-mapping 4-level
 * page tables (4.5), the boot-info block, and the segment and control
 * register values a loader leaves behind (10.8.5). Freestanding-safe: used
 * by nestvm's loader (l0/boot.c) and by l1-shim for its L2, so that a guest
 * finds the same state at every level.
 */
#ifndef NESTVM_ARCH_BOOT_LAYOUT_H
#define NESTVM_ARCH_BOOT_LAYOUT_H

#include "arch/bootinfo.h"
#include "arch/x86_paging.h"
#include "arch/x86_regs.h"
#include "arch/x86_seg.h"

/* Where the boot-info block's strings and tables go (inside BOOT_INFO_SIZE). */
#define BOOT_CMDLINE (BOOT_INFO + sizeof(struct nestvm_bootinfo))
#define BOOT_MODULES (BOOT_CMDLINE + NESTVM_CMDLINE_MAX)
_Static_assert(BOOT_MODULES + NESTVM_MODULES_MAX *
				       sizeof(struct nestvm_boot_module) <=
		       BOOT_INFO + BOOT_INFO_SIZE,
	       "boot-info block overflows its area");

#define BOOT_GDT_ENTRIES 6 /* null, code64, data, code32, TSS (two slots) */
#define BOOT_GDT_LIMIT (BOOT_GDT_ENTRIES * 8 - 1)
_Static_assert(BOOT_GDT + BOOT_GDT_ENTRIES * 8 <= BOOT_TSS, "GDT overlaps TSS");

/*
 * Everything the boot_layout_write_*() functions write lies below
 * BOOT_IMAGE_MIN: their @low argument points at guest-physical 0 and must
 * cover [0, BOOT_AREA_SIZE).
 */
#define BOOT_AREA_SIZE BOOT_IMAGE_MIN

/* The control registers and flags at entry (docs/boot.md, "CPU state"). */
#define BOOT_CR0                                                        \
	((uint64_t)(X86_CR0_PE | X86_CR0_MP | X86_CR0_ET | X86_CR0_NE | \
		    X86_CR0_WP | X86_CR0_PG))
#define BOOT_CR4 ((uint64_t)X86_CR4_PAE)
#define BOOT_EFER (EFER_LME | EFER_LMA | EFER_NX)
#define BOOT_RFLAGS ((uint64_t)X86_EFLAGS_FIXED)

/*
 * The flat segments the contract loads, as loading them from the GDT would
 * leave their hidden parts (SDM Vol. 3A 3.4.3): 4 GiB code and data at
 * DPL 0. The GDT entries are encoded from these same values, so that the
 * descriptors and the hidden parts cannot disagree.
 */
static inline struct kvm_segment boot_layout_flat_segment(uint16_t sel,
							  uint8_t type, bool l)
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

/* The 32-bit code segment at BOOT_SEL_CODE32 (loaded by no register). */
static inline struct kvm_segment boot_layout_code32_segment(void)
{
	return boot_layout_flat_segment(BOOT_SEL_CODE32,
					SEG_TYPE_CODE_XR_ACCESSED, false);
}

/*
 * Segment register @sreg as the contract leaves it: CS the 64-bit code
 * segment, SS/DS/ES/FS/GS the data segment, TR the busy 64-bit TSS (as LTR
 * leaves both TR and its descriptor, SDM 8.2.4), LDTR unusable with a null
 * selector (SDM Vol. 3C 25.4.1).
 */
static inline struct kvm_segment boot_layout_segment(enum x86_sreg sreg)
{
	switch (sreg) {
	case VCPU_SREG_CS:
		return boot_layout_flat_segment(
			BOOT_SEL_CODE64, SEG_TYPE_CODE_XR_ACCESSED, true);
	case VCPU_SREG_TR:
		return (struct kvm_segment){
			.base = BOOT_TSS,
			.limit = X86_TSS64_LIMIT,
			.selector = BOOT_SEL_TSS,
			.type = SEG_TYPE_TSS64_BUSY,
			.present = 1,
		};
	case VCPU_SREG_LDTR:
		return (struct kvm_segment){ .unusable = 1 };
	case VCPU_SREG_ES:
	case VCPU_SREG_SS:
	case VCPU_SREG_DS:
	case VCPU_SREG_FS:
	case VCPU_SREG_GS:
		break;
	}
	return boot_layout_flat_segment(BOOT_SEL_DATA,
					SEG_TYPE_DATA_RW_ACCESSED, false);
}

/* Byte loops rather than memset/memcpy: the header must not depend on
 * which C library, if any, the includer has. */
static inline void boot_layout_zero(uint8_t *p, uint64_t len)
{
	while (len--)
		*p++ = 0;
}

static inline void boot_layout_copy(uint8_t *dst, const void *src, uint64_t len)
{
	const uint8_t *s = (const uint8_t *)src;

	while (len--)
		*dst++ = *s++;
}

static inline void boot_layout_put64(uint8_t *p, uint64_t v)
{
	boot_layout_copy(p, &v, sizeof(v));
}

/*
 * Writes the GDT at BOOT_GDT and the TSS at BOOT_TSS. The TSS is zero but
 * for RSP0 (a later drop to CPL 3 must not take interrupts on a NULL
 * stack) and an I/O map base at the limit, meaning "no I/O bitmap".
 */
static inline void boot_layout_write_gdt_tss(uint8_t *low)
{
	struct kvm_segment code64 = boot_layout_segment(VCPU_SREG_CS);
	struct kvm_segment data = boot_layout_segment(VCPU_SREG_DS);
	struct kvm_segment code32 = boot_layout_code32_segment();
	struct kvm_segment tr = boot_layout_segment(VCPU_SREG_TR);
	uint64_t gdt[BOOT_GDT_ENTRIES] = { 0 };
	struct x86_tss64 tss;

	gdt[SEL_INDEX(BOOT_SEL_CODE64)] = x86_seg_encode_desc(&code64);
	gdt[SEL_INDEX(BOOT_SEL_DATA)] = x86_seg_encode_desc(&data);
	gdt[SEL_INDEX(BOOT_SEL_CODE32)] = x86_seg_encode_desc(&code32);
	gdt[SEL_INDEX(BOOT_SEL_TSS)] =
		x86_seg_encode_sys_desc(&tr, &gdt[SEL_INDEX(BOOT_SEL_TSS) + 1]);
	boot_layout_copy(low + BOOT_GDT, gdt, sizeof(gdt));

	boot_layout_zero((uint8_t *)&tss, sizeof(tss));
	tss.rsp[0] = BOOT_STACK_TOP;
	tss.iomap_base = sizeof(tss);
	boot_layout_copy(low + BOOT_TSS, &tss, sizeof(tss));
}

/*
 * Identity-maps [0, mem_size) (SDM Vol. 3A 4.5): PML4[0] -> PDPT; one PDPT
 * entry and page directory per GiB that holds RAM; the first 2 MiB through
 * BOOT_PT0 with page 0 left not present; whole 2 MiB chunks as 2 MiB
 * pages; a last partial chunk through BOOT_PT_TAIL, so that nothing past
 * RAM is mapped. All entries RW, supervisor, executable. Every table is
 * written whole. @mem_size must be a 4 KiB multiple in [BOOT_MEM_MIN,
 * BOOT_MEM_MAX].
 */
static inline void boot_layout_write_page_tables(uint8_t *low,
						 uint64_t mem_size)
{
	uint64_t nr_gib = (mem_size + GiB(1) - 1) / GiB(1);
	uint8_t *pml4 = low + BOOT_PML4, *pdpt = low + BOOT_PDPT;
	uint8_t *pt0 = low + BOOT_PT0;

	boot_layout_zero(pml4, PAGE_SIZE);
	boot_layout_put64(pml4, BOOT_PDPT | PTE_P | PTE_RW);

	boot_layout_zero(pdpt, PAGE_SIZE);
	for (uint64_t g = 0; g < nr_gib; g++)
		boot_layout_put64(pdpt + g * 8, (BOOT_PD_BASE + g * PAGE_SIZE) |
							PTE_P | PTE_RW);

	/* mem_size >= BOOT_MEM_MIN = 2 MiB: the first table is full. */
	boot_layout_zero(pt0, PAGE_SIZE);
	for (uint64_t i = 1; i < PT_ENTRIES; i++)
		boot_layout_put64(pt0 + i * 8,
				  (i * PAGE_SIZE) | PTE_P | PTE_RW);

	for (uint64_t g = 0; g < nr_gib; g++) {
		uint8_t *pd = low + BOOT_PD_BASE + g * PAGE_SIZE;

		boot_layout_zero(pd, PAGE_SIZE);
		for (uint64_t i = 0; i < PT_ENTRIES; i++) {
			uint64_t at = GiB(g) + i * MiB(2), e;

			if (at >= mem_size)
				break;
			if (!at)
				e = BOOT_PT0 | PTE_P | PTE_RW;
			else if (mem_size - at >= MiB(2))
				e = at | PTE_P | PTE_RW | PTE_PS;
			else
				e = BOOT_PT_TAIL | PTE_P | PTE_RW;
			boot_layout_put64(pd + i * 8, e);
		}
	}

	if (mem_size % MiB(2)) {
		uint64_t chunk = ALIGN_DOWN(mem_size, MiB(2));
		uint8_t *tail = low + BOOT_PT_TAIL;

		boot_layout_zero(tail, PAGE_SIZE);
		for (uint64_t i = 0; chunk + i * PAGE_SIZE < mem_size; i++)
			boot_layout_put64(
				tail + i * 8,
				((chunk + i * PAGE_SIZE) & PTE_ADDR_MASK) |
					PTE_P | PTE_RW);
	}
}

/*
 * Writes the boot-info block at BOOT_INFO, the command line at
 * BOOT_CMDLINE and the module table at BOOT_MODULES. @bi supplies
 * nr_modules, mem_size, free_start, image_start and image_end; magic,
 * version and the two pointers are filled in here. @cmdline may be NULL
 * (empty) and is cut at NESTVM_CMDLINE_MAX - 1 bytes, which callers
 * check beforehand; @bi->nr_modules must not exceed NESTVM_MODULES_MAX.
 */
static inline void
boot_layout_write_bootinfo(uint8_t *low, const struct nestvm_bootinfo *bi,
			   const char *cmdline,
			   const struct nestvm_boot_module *modules)
{
	struct nestvm_bootinfo out = *bi;
	uint64_t len = 0;

	out.magic = NESTVM_BOOTINFO_MAGIC;
	out.version = NESTVM_BOOTINFO_VERSION;
	out.cmdline = BOOT_CMDLINE;
	out.modules = BOOT_MODULES;
	boot_layout_copy(low + BOOT_INFO, &out, sizeof(out));

	while (cmdline && len < NESTVM_CMDLINE_MAX - 1 && cmdline[len])
		len++;
	if (len)
		boot_layout_copy(low + BOOT_CMDLINE, cmdline, len);
	low[BOOT_CMDLINE + len] = '\0';

	if (bi->nr_modules)
		boot_layout_copy(low + BOOT_MODULES, modules,
				 bi->nr_modules * sizeof(modules[0]));
}

#endif /* NESTVM_ARCH_BOOT_LAYOUT_H */
