/* SPDX-License-Identifier: MIT */
/*
 * bochsimg.h - the disk-image format that starts a 64-bit nestvm guest under
 * Bochs: what mkbochsimg writes (host side) and what the boot loader in
 * tools/bochs/boot.S reads (real mode, then protected and 64-bit mode).
 * Included by C and by the assembler (__ASSEMBLER__), so the offsets are
 * plain numbers here and the C struct is checked against them.
 *
 * Disk layout, in 512-byte sectors (docs/bochs.md):
 *
 *   LBA 0                     the boot sector (BIOS loads it at 0x7c00)
 *   LBA 1 .. 15               the rest of the boot loader
 *   LBA BOCHSIMG_HEADER_LBA   struct bochsimg_header
 *   LBA 17 ..                 the memory ranges, each from its own LBA
 *   ...                       zero padding to whole 16-head, 63-sector
 *                             cylinders, so that Bochs' geometry fits
 *
 * Guest-physical memory the loader uses for itself, all inside the boot
 * contract's stack area [BOOT_STACK_BOTTOM, BOOT_STACK_TOP), which the
 * contract leaves undefined and the ranges never cover:
 *
 *   0x60000 .. 0x68000  bounce buffer for disk reads (BOCHSIMG_BOUNCE_*)
 *   0x90000 .. 0xa0000  the loader (sectors 0-16, then its real-mode stack)
 */
#ifndef NESTVM_TOOLS_BOCHS_BOCHSIMG_H
#define NESTVM_TOOLS_BOCHS_BOCHSIMG_H

#define BOCHSIMG_SECTOR 512
#define BOCHSIMG_LOADER_SECTORS 16 /* LBA 0-15: at most 8 KiB of loader */
#define BOCHSIMG_HEADER_LBA 16
#define BOCHSIMG_DATA_LBA 17 /* first sector of the first range */

/* Bochs' default translation for a flat image: 16 heads, 63 sectors. */
#define BOCHSIMG_CYLINDER_SECTORS (16 * 63)

/* Sector 0 ends with the loader's link address (4 bytes) and the BIOS
 * boot signature 0x55 0xaa. */
#define BOCHSIMG_LINK_CHECK 506

/* The loader runs where the boot sector copies it (segment 0x9000). */
#define BOCHSIMG_LOAD_ADDR 0x90000
#define BOCHSIMG_LOAD_SEG 0x9000
#define BOCHSIMG_LOAD_END 0xa0000 /* the loader's code, header and stack */
#define BOCHSIMG_STACK_OFF 0xe000 /* real-mode SP, below the EBDA */
#define BOCHSIMG_HEADER_ADDR \
	(BOCHSIMG_LOAD_ADDR + BOCHSIMG_HEADER_LBA * BOCHSIMG_SECTOR)

#define BOCHSIMG_BOUNCE_ADDR 0x60000
#define BOCHSIMG_BOUNCE_SEG 0x6000
#define BOCHSIMG_BOUNCE_SECTORS 64 /* 32 KiB per INT 13h read */
#define BOCHSIMG_BOUNCE_END \
	(BOCHSIMG_BOUNCE_ADDR + BOCHSIMG_BOUNCE_SECTORS * BOCHSIMG_SECTOR)

/*
 * Guest RAM at most 2 GiB: Bochs 2.7 allocates at most 2048 MiB of host
 * memory for its RAM, and the loader copies in 32-bit protected mode.
 */
#define BOCHSIMG_MEM_MAX 0x80000000ull

/*
 * Bochs starts with its RAM zeroed, and above 1 MiB its BIOS (2.7's
 * rombios32) writes only its ACPI tables, in the last 64 KiB of RAM. The
 * loader zeroes the last BOCHSIMG_BIOS_TOP bytes of guest RAM that lie
 * after the image; zeroing all free RAM would cost Bochs about 0.6 s per
 * 64 MiB. With BOCHSIMG_F_CHECK_ZERO it also checks that the rest of free
 * RAM, [free_start, zero_start), is zero, and fails if not.
 */
#define BOCHSIMG_BIOS_TOP 0x100000ull
#define BOCHSIMG_F_CHECK_ZERO 0x1

/* "NVBOCHS1" read as a little-endian 64-bit number. */
#define BOCHSIMG_MAGIC_LO 0x4f42564e /* "NVBO" */
#define BOCHSIMG_MAGIC_HI 0x31534843 /* "CHS1" */
#define BOCHSIMG_VERSION 1
#define BOCHSIMG_RANGES_MAX 8

/*
 * The trampoline: the last instructions before the guest runs, copied to
 * the page below the guest's initial RSP. It is the only page the loader
 * touches with paging on, and the guest's first push sets that page's
 * accessed and dirty bits anyway, so the page tables the guest finds are
 * bit for bit those nestvm builds. Its first BOCHSIMG_TRAMP_GDT bytes hold
 * code and operands (boot.S), then a copy of the guest's GDT, through which
 * the far jump into 64-bit mode loads CS.
 */
#define BOCHSIMG_TRAMP_GDT 0x100
#define BOCHSIMG_TRAMP_GDT_MAX (0x1000 - BOCHSIMG_TRAMP_GDT)

/* Offsets in struct bochsimg_header, for the assembler. */
#define BOCHSIMG_H_MAGIC 0
#define BOCHSIMG_H_VERSION 8
#define BOCHSIMG_H_NR_RANGES 12
#define BOCHSIMG_H_RIP 16
#define BOCHSIMG_H_RSP 24
#define BOCHSIMG_H_RDI 32
#define BOCHSIMG_H_RFLAGS 40
#define BOCHSIMG_H_CR0 48
#define BOCHSIMG_H_CR3 56
#define BOCHSIMG_H_CR4 64
#define BOCHSIMG_H_EFER 72
#define BOCHSIMG_H_GDT_BASE 80
#define BOCHSIMG_H_IDT_BASE 88
#define BOCHSIMG_H_GDT_LIMIT 96
#define BOCHSIMG_H_IDT_LIMIT 98
#define BOCHSIMG_H_SEL_CS 100
#define BOCHSIMG_H_SEL_SS 102
#define BOCHSIMG_H_SEL_DS 104
#define BOCHSIMG_H_SEL_ES 106
#define BOCHSIMG_H_SEL_FS 108
#define BOCHSIMG_H_SEL_GS 110
#define BOCHSIMG_H_SEL_TR 112
#define BOCHSIMG_H_FLAGS 114
#define BOCHSIMG_H_ZERO_START 120
#define BOCHSIMG_H_ZERO_END 128
#define BOCHSIMG_H_TRAMPOLINE 136
#define BOCHSIMG_H_FREE_START 144
#define BOCHSIMG_H_RANGES 152
#define BOCHSIMG_R_DEST 0 /* in struct bochsimg_range */
#define BOCHSIMG_R_LBA 8
#define BOCHSIMG_R_SECTORS 12
#define BOCHSIMG_R_SIZE 16

#ifndef __ASSEMBLER__
#include <stddef.h>
#include <stdint.h>

/* A part of guest RAM stored on the disk: sectors * 512 bytes from lba,
 * copied to guest-physical dest. dest is 512-byte aligned. */
struct bochsimg_range {
	uint64_t dest;
	uint32_t lba;
	uint32_t sectors;
};

/*
 * At LBA BOCHSIMG_HEADER_LBA. The register values are those nestvm's own
 * boot code gives the vCPU (l0/boot.c); the loader reproduces them with
 * real instructions, loading the selectors from the guest's GDT so that
 * the hidden parts come from the descriptors, as the contract says.
 */
struct bochsimg_header {
	uint32_t magic_lo, magic_hi; /* BOCHSIMG_MAGIC_LO, _HI */
	uint32_t version; /* BOCHSIMG_VERSION */
	uint32_t nr_ranges; /* at most BOCHSIMG_RANGES_MAX */
	uint64_t rip, rsp, rdi, rflags; /* every other GPR is 0 */
	uint64_t cr0, cr3, cr4;
	uint64_t efer; /* with LMA, as the guest reads it */
	uint64_t gdt_base, idt_base;
	uint16_t gdt_limit, idt_limit;
	uint16_t sel_cs, sel_ss, sel_ds, sel_es, sel_fs, sel_gs, sel_tr;
	uint16_t flags; /* BOCHSIMG_F_* */
	uint16_t reserved[2]; /* zero */
	uint64_t zero_start,
		zero_end; /* [start, end) is zeroed, page-aligned */
	uint64_t trampoline; /* page the last switch runs from */
	uint64_t free_start; /* the contract's free RAM: [free_start, end) */
	struct bochsimg_range ranges[BOCHSIMG_RANGES_MAX];
};

_Static_assert(offsetof(struct bochsimg_header, version) == BOCHSIMG_H_VERSION,
	       "header layout");
_Static_assert(offsetof(struct bochsimg_header, nr_ranges) ==
		       BOCHSIMG_H_NR_RANGES,
	       "header layout");
_Static_assert(offsetof(struct bochsimg_header, rip) == BOCHSIMG_H_RIP,
	       "header layout");
_Static_assert(offsetof(struct bochsimg_header, rsp) == BOCHSIMG_H_RSP,
	       "header layout");
_Static_assert(offsetof(struct bochsimg_header, rdi) == BOCHSIMG_H_RDI,
	       "header layout");
_Static_assert(offsetof(struct bochsimg_header, rflags) == BOCHSIMG_H_RFLAGS,
	       "header layout");
_Static_assert(offsetof(struct bochsimg_header, cr0) == BOCHSIMG_H_CR0,
	       "header layout");
_Static_assert(offsetof(struct bochsimg_header, cr3) == BOCHSIMG_H_CR3,
	       "header layout");
_Static_assert(offsetof(struct bochsimg_header, cr4) == BOCHSIMG_H_CR4,
	       "header layout");
_Static_assert(offsetof(struct bochsimg_header, efer) == BOCHSIMG_H_EFER,
	       "header layout");
_Static_assert(offsetof(struct bochsimg_header, gdt_base) ==
		       BOCHSIMG_H_GDT_BASE,
	       "header layout");
_Static_assert(offsetof(struct bochsimg_header, idt_base) ==
		       BOCHSIMG_H_IDT_BASE,
	       "header layout");
_Static_assert(offsetof(struct bochsimg_header, gdt_limit) ==
		       BOCHSIMG_H_GDT_LIMIT,
	       "header layout");
_Static_assert(offsetof(struct bochsimg_header, idt_limit) ==
		       BOCHSIMG_H_IDT_LIMIT,
	       "header layout");
_Static_assert(offsetof(struct bochsimg_header, sel_cs) == BOCHSIMG_H_SEL_CS,
	       "header layout");
_Static_assert(offsetof(struct bochsimg_header, sel_ss) == BOCHSIMG_H_SEL_SS,
	       "header layout");
_Static_assert(offsetof(struct bochsimg_header, sel_ds) == BOCHSIMG_H_SEL_DS,
	       "header layout");
_Static_assert(offsetof(struct bochsimg_header, sel_es) == BOCHSIMG_H_SEL_ES,
	       "header layout");
_Static_assert(offsetof(struct bochsimg_header, sel_fs) == BOCHSIMG_H_SEL_FS,
	       "header layout");
_Static_assert(offsetof(struct bochsimg_header, sel_gs) == BOCHSIMG_H_SEL_GS,
	       "header layout");
_Static_assert(offsetof(struct bochsimg_header, sel_tr) == BOCHSIMG_H_SEL_TR,
	       "header layout");
_Static_assert(offsetof(struct bochsimg_header, flags) == BOCHSIMG_H_FLAGS,
	       "header layout");
_Static_assert(offsetof(struct bochsimg_header, free_start) ==
		       BOCHSIMG_H_FREE_START,
	       "header layout");
_Static_assert(offsetof(struct bochsimg_header, zero_start) ==
		       BOCHSIMG_H_ZERO_START,
	       "header layout");
_Static_assert(offsetof(struct bochsimg_header, zero_end) ==
		       BOCHSIMG_H_ZERO_END,
	       "header layout");
_Static_assert(offsetof(struct bochsimg_header, trampoline) ==
		       BOCHSIMG_H_TRAMPOLINE,
	       "header layout");
_Static_assert(offsetof(struct bochsimg_header, ranges) == BOCHSIMG_H_RANGES,
	       "header layout");
_Static_assert(offsetof(struct bochsimg_range, lba) == BOCHSIMG_R_LBA,
	       "range layout");
_Static_assert(offsetof(struct bochsimg_range, sectors) == BOCHSIMG_R_SECTORS,
	       "range layout");
_Static_assert(sizeof(struct bochsimg_range) == BOCHSIMG_R_SIZE,
	       "range layout");
_Static_assert(sizeof(struct bochsimg_header) <= BOCHSIMG_SECTOR,
	       "the header fits its sector");
#endif /* __ASSEMBLER__ */

#endif
