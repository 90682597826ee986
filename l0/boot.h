/* SPDX-License-Identifier: MIT */
/*
 * boot.h - builds the 64-bit boot contract of arch/bootinfo.h for a loaded
 * image: GDT and TSS, identity-mapping page tables, the boot-info block with
 * the command line and module table, and the vCPU's long-mode register
 * state (SDM Vol. 3A, 3.4.5 segment descriptors, 4.5 4-level paging, 8.7
 * the 64-bit TSS, 10.8.5 initializing IA-32e mode). Monitor side. Nothing
 * here prints: errors are -errno with a message in the caller's buffer.
 */
#ifndef NESTVM_L0_BOOT_H
#define NESTVM_L0_BOOT_H

#include "arch/boot_layout.h"

struct vtx_machine;
struct vtx_cpu;

/* What the boot contract is built from. */
struct boot_params {
	uint64_t mem_size; /* guest RAM: [0, mem_size) */
	uint64_t entry;
	uint64_t image_start, image_end;
	uint64_t free_start; /* first free page after the image and modules */
	const char *cmdline; /* NULL or NUL-terminated; must outlive bp */
	unsigned int nr_modules;
	struct nestvm_boot_module modules[NESTVM_MODULES_MAX];
};

/*
 * Starts a boot description for an image loaded at [image_start,
 * image_end) with entry point entry. 0, or -EINVAL (mem_size not a 4 KiB
 * multiple in [BOOT_MEM_MIN, BOOT_MEM_MAX]), -E2BIG (command line longer
 * than NESTVM_CMDLINE_MAX - 1), -ERANGE (image outside [BOOT_IMAGE_MIN,
 * mem_size)).
 */
int boot_init_params(struct boot_params *bp, uint64_t mem_size, uint64_t entry,
		     uint64_t image_start, uint64_t image_end,
		     const char *cmdline, char *err, size_t errlen);

/*
 * Places a module of size bytes at the next free page and records it under
 * the last component of path (truncated to NESTVM_MODULE_NAME_MAX - 1).
 * *start receives its guest-physical address. 0, or -ENOSPC (already
 * NESTVM_MODULES_MAX modules), -ERANGE (does not fit in guest RAM).
 */
int boot_add_module(struct boot_params *bp, const char *path, uint64_t size,
		    uint64_t *start, char *err, size_t errlen);

/* Writes the GDT, TSS, page tables and boot-info block into guest RAM
 * (guest-physical = host-physical). 0 or -EINVAL (arena smaller than
 * bp->mem_size), -EFAULT. */
int boot_write_memory(struct vtx_machine *m, const struct boot_params *bp,
		      char *err, size_t errlen);

/* Sets the vCPU's registers to the contract's initial state: RIP = entry,
 * RSP = BOOT_STACK_TOP, RDI = BOOT_INFO, long mode, segments from the GDT.
 * 0 or the -errno the model refused the state with. */
int boot_setup_cpu(struct vtx_cpu *cpu, const struct boot_params *bp, char *err,
		   size_t errlen);

#endif
