/* SPDX-License-Identifier: MIT */
/*
 * multiboot.h - booting a Multiboot (version 0.6.96) kernel the way QEMU's
 * -kernel does: the header in the image's first 8 KiB, the ELF32 program
 * headers loaded at their physical addresses, the multiboot information
 * block (memory, command line, modules, memory map), and entry in 32-bit
 * protected mode with paging off (SDM Vol. 3A 9.9.1). Monitor side; nothing
 * here prints. Errors are -errno with a one-line message in err.
 */
#ifndef NESTVM_L0_MULTIBOOT_H
#define NESTVM_L0_MULTIBOOT_H

#include "arch/types.h"
#include "l0/boot.h"
#include "l0/loader.h"

#define MULTIBOOT_HEADER_MAGIC 0x1badb002u
#define MULTIBOOT_BOOTLOADER_MAGIC 0x2badb002u /* in EAX at entry */
#define MULTIBOOT_SEARCH 8192u /* the header lies in the first 8 KiB */
#define MULTIBOOT_HEADER_ALIGN 4u

/* Header flags: bits 0-15 are requirements a loader must meet or refuse
 * the image, bits 16-31 optional features. */
#define MULTIBOOT_PAGE_ALIGN (1u << 0) /* modules page-aligned */
#define MULTIBOOT_MEMORY_INFO (1u << 1) /* mem_* and the memory map */
#define MULTIBOOT_VIDEO_MODE (1u << 2) /* a graphics mode */
#define MULTIBOOT_AOUT_KLUDGE (1u << 16) /* load by the address fields */
#define MULTIBOOT_REQUIRED_MASK 0x0000ffffu
#define MULTIBOOT_SUPPORTED (MULTIBOOT_PAGE_ALIGN | MULTIBOOT_MEMORY_INFO)

/* Information flags: which fields of struct multiboot_info are valid. */
#define MULTIBOOT_INFO_MEMORY (1u << 0)
#define MULTIBOOT_INFO_CMDLINE (1u << 2)
#define MULTIBOOT_INFO_MODS (1u << 3)
#define MULTIBOOT_INFO_MEM_MAP (1u << 6)
#define MULTIBOOT_INFO_BOOT_LOADER_NAME (1u << 9)

#define MULTIBOOT_MEMORY_AVAILABLE 1u
#define MULTIBOOT_MEMORY_RESERVED 2u

/* The information block EBX points at (Multiboot 0.6.96, section 3.3). */
struct multiboot_info {
	uint32_t flags;
	uint32_t mem_lower; /* KiB from 0 */
	uint32_t mem_upper; /* KiB from 1 MiB to the first hole */
	uint32_t boot_device;
	uint32_t cmdline;
	uint32_t mods_count;
	uint32_t mods_addr;
	uint32_t syms[4];
	uint32_t mmap_length;
	uint32_t mmap_addr;
	uint32_t drives_length;
	uint32_t drives_addr;
	uint32_t config_table;
	uint32_t boot_loader_name;
	uint32_t apm_table;
	uint32_t vbe[6];
};
_Static_assert(sizeof(struct multiboot_info) == 96, "multiboot_info size");

struct multiboot_module {
	uint32_t mod_start;
	uint32_t mod_end; /* one past the last byte */
	uint32_t string; /* the module's command line */
	uint32_t reserved;
};

/* A memory map entry; `size` counts the bytes after itself (20). */
struct multiboot_mmap_entry {
	uint32_t size;
	uint64_t addr;
	uint64_t len;
	uint32_t type;
} __attribute__((packed));
_Static_assert(sizeof(struct multiboot_mmap_entry) == 24, "mmap entry size");

/*
 * Where the loader puts the information block and what it points at:
 * in the boot area below 1 MiB, which images may not load into.
 */
#define MB_INFO_ADDR 0x50000u
#define MB_MMAP_ADDR 0x50100u
#define MB_MMAP_MAX 8u
#define MB_LOADER_NAME_ADDR 0x50300u
#define MB_MODS_ADDR 0x50400u
#define MB_MOD_STRINGS_ADDR 0x50800u
#define MB_MOD_STRING_MAX 256u
#define MB_CMDLINE_ADDR 0x52000u
#define MB_CMDLINE_MAX 0x6000u
#define MB_GDT_ADDR 0x1000u
#define MB_SEL_CODE 0x08 /* flat 4 GiB 32-bit code */
#define MB_SEL_DATA 0x10 /* flat 4 GiB data */
#define MB_STACK_TOP 0x7000u /* ESP at entry: not part of the contract */

/*
 * True if data[0..size) is an ELF32 file: such an image boots through
 * multiboot_parse_elf() (an ELF64 keeps the 64-bit boot contract).
 */
bool multiboot_is_elf32(const uint8_t *data, uint64_t size);

/*
 * Finds and checks the multiboot header in the first MULTIBOOT_SEARCH
 * bytes (magic, checksum, flags), then checks the ELF32 image as
 * loader_parse_elf() does an ELF64 one (PT_LOAD segments at p_paddr, in
 * guest RAM at or above BOOT_IMAGE_MIN, not overlapping; the entry point
 * translated from virtual to physical and inside an executable segment).
 * Same returns as loader_parse_elf(), and -ENOEXEC for a missing or bad
 * header or a requirement flag the loader does not meet.
 */
int multiboot_parse_elf(const char *name, const uint8_t *data, uint64_t size,
			uint64_t mem_size, struct loader_elf *elf, char *err,
			size_t errlen);

/*
 * Writes the GDT and the information block into guest RAM for the image
 * and modules laid out in bp (boot_init_params(), boot_add_module()).
 * image_name and module_names[i] start the command lines, as QEMU's
 * loader does: "image_name bp->cmdline" and the module's name. 0, or
 * -E2BIG (a command line that does not fit), -EINVAL, -EFAULT.
 */
int multiboot_write_memory(struct vtx_machine *m, const struct boot_params *bp,
			   const char *image_name,
			   const char *const *module_names, char *err,
			   size_t errlen);

/*
 * The entry state: EIP = bp->entry, EAX = MULTIBOOT_BOOTLOADER_MAGIC, EBX =
 * MB_INFO_ADDR, CR0.PE = 1 and paging off, flat 4 GiB CS/DS/ES/FS/GS/SS
 * from the GDT at MB_GDT_ADDR, EFLAGS.IF = 0, IDTR limit 0.
 */
int multiboot_setup_cpu(struct vtx_cpu *cpu, const struct boot_params *bp,
			char *err, size_t errlen);

#endif
