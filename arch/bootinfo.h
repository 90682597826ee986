/* SPDX-License-Identifier: MIT */
/*
 * The 64-bit boot contract between nestvm's loader and a guest image
 * (docs/boot.md). Shared by the loader (l0/) and the guest runtime
 * (guests/rt/). Freestanding-safe.
 *
 * A 64-bit ELF guest starts in long mode at CPL 0 with:
 *   - paging on, CR3 = BOOT_PML4; all of guest RAM identity-mapped
 *     (2 MiB pages, except the first 2 MiB, mapped with 4 KiB pages and
 *     with page 0 not present so that NULL dereferences fault);
 *   - CS = BOOT_SEL_CODE64, DS/ES/SS/FS/GS = BOOT_SEL_DATA, TR = BOOT_SEL_TSS,
 *     all loaded from the GDT at BOOT_GDT; IDTR limit 0 (no handlers yet:
 *     the guest installs its own IDT);
 *   - CR0 = PE|MP|ET|NE|WP|PG, CR4 = PAE, EFER = LME|LMA|NXE,
 *     RFLAGS = 0x2 (interrupts off);
 *   - RSP = BOOT_STACK_TOP (16-byte aligned), RDI = BOOT_INFO, RIP = e_entry.
 *
 * Guest-physical layout (below 1 MiB belongs to the loader):
 *   0x000000  page 0, not present
 *   0x001000  GDT (+ TSS at BOOT_TSS)
 *   0x002000  PML4, 0x3000 PDPT, 0x4000 page table for the first 2 MiB,
 *   0x005000  page directories, one per GiB of RAM (BOOT_PD_MAX at most)
 *   0x045000  page table for RAM's last 2 MiB when RAM ends inside it
 *   0x050000  struct nestvm_bootinfo, then the command line and module table
 *   0x060000  .. BOOT_STACK_TOP: the initial stack
 *   0x100000  the image (every PT_LOAD segment must lie at or above it),
 *             then the modules, page-aligned
 */
#ifndef NESTVM_ARCH_BOOTINFO_H
#define NESTVM_ARCH_BOOTINFO_H

#include "arch/types.h"

#define BOOT_GDT 0x1000ull
#define BOOT_TSS 0x1800ull
#define BOOT_PML4 0x2000ull
#define BOOT_PDPT 0x3000ull
#define BOOT_PT0 0x4000ull
#define BOOT_PD_BASE 0x5000ull
#define BOOT_PD_MAX 64u /* one page directory per GiB: 64 GiB of RAM */
#define BOOT_PT_TAIL 0x45000ull /* RAM need not be a 2 MiB multiple */
#define BOOT_INFO 0x50000ull
#define BOOT_INFO_SIZE 0x10000ull /* boot info + command line + modules */
#define BOOT_STACK_BOTTOM 0x60000ull
#define BOOT_STACK_TOP 0x100000ull
#define BOOT_IMAGE_MIN 0x100000ull

#define BOOT_SEL_CODE64 0x08
#define BOOT_SEL_DATA 0x10
#define BOOT_SEL_CODE32 0x18
#define BOOT_SEL_TSS 0x20 /* a 16-byte system descriptor: 0x20 and 0x28 */

#define BOOT_MEM_MIN MiB(2)
#define BOOT_MEM_MAX GiB(64)

#define NESTVM_BOOTINFO_MAGIC 0x6f666e69746f6f62ull /* "bootinfo" */
#define NESTVM_BOOTINFO_VERSION 1u
#define NESTVM_CMDLINE_MAX 2048u
#define NESTVM_MODULES_MAX 16u
#define NESTVM_MODULE_NAME_MAX 64u

struct nestvm_boot_module {
	uint64_t start; /* guest-physical address, page-aligned */
	uint64_t size; /* bytes */
	char name[NESTVM_MODULE_NAME_MAX]; /* NUL-terminated file name */
};

struct nestvm_bootinfo {
	uint64_t magic; /* NESTVM_BOOTINFO_MAGIC */
	uint32_t version; /* NESTVM_BOOTINFO_VERSION */
	uint32_t nr_modules;
	uint64_t mem_size; /* bytes of guest RAM, from guest-physical 0 */
	uint64_t
		cmdline; /* guest-physical address of a NUL-terminated string */
	uint64_t modules; /* guest-physical address of nr_modules entries */
	uint64_t free_start; /* first free page after the image and modules */
	uint64_t image_start; /* lowest and end of the loaded image */
	uint64_t image_end;
};

_Static_assert(sizeof(struct nestvm_bootinfo) == 64, "bootinfo ABI");
_Static_assert(sizeof(struct nestvm_boot_module) == 80, "module ABI");

#endif
