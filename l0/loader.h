/* SPDX-License-Identifier: MIT */
/*
 * loader.h - reading guest files and loading 64-bit ELF executables
 * (System V gABI, ELF-64 Object File Format) into guest RAM at their
 * physical addresses. Every offset and size in a file is checked before
 * use; nothing here prints. Monitor side.
 *
 * Errors are -errno with a one-line message (no "nestvm: " prefix) in the
 * caller's buffer.
 */
#ifndef NESTVM_L0_LOADER_H
#define NESTVM_L0_LOADER_H

#include "arch/types.h"

struct vtx_machine;

/* A whole file in host memory. */
struct loader_file {
	uint8_t *data; /* malloc'd; NULL when size is 0 */
	uint64_t size;
};

/* The largest image file read (debug information makes files larger than
 * what they load, so this is not guest RAM's size). */
#define LOADER_FILE_MAX GiB(4)

/*
 * Reads the regular file at path. 0, or -errno from open/read (message
 * carries strerror), -EISDIR / -EINVAL (not a regular file), -EFBIG (more
 * than max_size bytes), -ENOMEM.
 */
int loader_read_file(const char *path, uint64_t max_size, struct loader_file *f,
		     char *err, size_t errlen);
void loader_free_file(struct loader_file *f);

#define LOADER_SEGS_MAX 64

struct loader_segment {
	uint64_t paddr; /* guest-physical start (= p_vaddr) */
	uint64_t filesz; /* bytes taken from the file */
	uint64_t memsz; /* bytes in RAM; memsz - filesz are zeroed (BSS) */
	uint64_t offset; /* of the data in the file */
	uint32_t flags; /* PF_R | PF_W | PF_X */
	unsigned int index; /* program header index, for messages */
};

/* A checked ELF executable, ready to copy. Points into the file's data. */
struct loader_elf {
	const uint8_t *data;
	uint64_t entry;
	uint64_t start, end; /* lowest paddr; highest paddr + memsz */
	unsigned int nr_segs;
	struct loader_segment segs[LOADER_SEGS_MAX]; /* PT_LOAD, memsz > 0 */
};

/*
 * Checks that data[0..size) is an x86-64 ET_EXEC ELF64 image whose PT_LOAD
 * segments lie in the file, in guest RAM [0, mem_size), at or above
 * BOOT_IMAGE_MIN, without overlapping, with p_vaddr == p_paddr (the boot
 * page tables identity-map RAM), and whose entry point lies in an
 * executable segment. name is used in messages.
 *
 * 0, or -ENOEXEC (not a usable ELF executable), -ERANGE (does not fit
 * guest RAM or lies in the boot area), -E2BIG (more than LOADER_SEGS_MAX
 * PT_LOAD segments).
 */
int loader_parse_elf(const char *name, const uint8_t *data, uint64_t size,
		     uint64_t mem_size, struct loader_elf *elf, char *err,
		     size_t errlen);

/* Copies the segments into guest RAM (guest-physical = host-physical) and
 * zeroes their BSS parts. 0 or -EFAULT (outside the arena). */
int loader_copy_elf(struct vtx_machine *m, const struct loader_elf *elf,
		    char *err, size_t errlen);

/* Reads, checks and copies in one step; img receives the checked image. */
int loader_load_elf(struct vtx_machine *m, const char *path,
		    struct loader_file *file, struct loader_elf *img, char *err,
		    size_t errlen);

#endif
