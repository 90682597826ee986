/* SPDX-License-Identifier: MIT */
/*
 * loader.c - ELF64 executable loading for 64-bit guests: read the file
 * whole, check the ELF header and program headers against the file's size
 * and guest RAM (System V gABI, "ELF Header" and "Program Header"), then
 * copy PT_LOAD segments to their physical addresses and zero their BSS.
 * Monitor side; talks to the machine only through vtx/vtx.h.
 */
#include "l0/loader.h"
#include "l0/errmsg.h"

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "arch/bootinfo.h"
#include "vtx/vtx.h"

int loader_read_file(const char *path, uint64_t max_size, struct loader_file *f,
		     char *err, size_t errlen)
{
	struct stat st;
	uint64_t got = 0;
	int fd, ret;

	f->data = NULL;
	f->size = 0;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errmsg(-errno, err, errlen, "cannot open '%s': %s", path,
			      strerror(errno));
	if (fstat(fd, &st)) {
		ret = errmsg(-errno, err, errlen, "cannot read '%s': %s", path,
			     strerror(errno));
		goto out;
	}
	if (S_ISDIR(st.st_mode)) {
		ret = errmsg(-EISDIR, err, errlen, "cannot read '%s': %s", path,
			     strerror(EISDIR));
		goto out;
	}
	/* A FIFO or device could block or never end: regular files only. */
	if (!S_ISREG(st.st_mode)) {
		ret = errmsg(-EINVAL, err, errlen,
			     "cannot read '%s': not a regular file", path);
		goto out;
	}
	if ((uint64_t)st.st_size > max_size) {
		ret = errmsg(-EFBIG, err, errlen,
			     "'%s' is too large: %" PRIu64
			     " bytes, at most %" PRIu64 " fit",
			     path, (uint64_t)st.st_size, max_size);
		goto out;
	}
	if (st.st_size) {
		f->data = malloc((size_t)st.st_size);
		if (!f->data) {
			ret = errmsg(-ENOMEM, err, errlen,
				     "cannot read '%s': %s", path,
				     strerror(ENOMEM));
			goto out;
		}
	}
	/* Read what fstat promised; a file that shrinks meanwhile is simply
	 * shorter (and then judged truncated by whoever parses it). */
	while (got < (uint64_t)st.st_size) {
		ssize_t n = read(fd, f->data + got, (size_t)st.st_size - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			ret = errmsg(-errno, err, errlen,
				     "cannot read '%s': %s", path,
				     strerror(errno));
			loader_free_file(f);
			goto out;
		}
		if (n == 0)
			break;
		got += (uint64_t)n;
	}
	f->size = got;
	ret = 0;
out:
	close(fd);
	return ret;
}

void loader_free_file(struct loader_file *f)
{
	free(f->data);
	f->data = NULL;
	f->size = 0;
}

static const char *machine_name(unsigned int m)
{
	switch (m) {
	case EM_NONE:
		return "no machine";
	case EM_386:
		return "i386";
	case EM_ARM:
		return "32-bit Arm";
	case EM_AARCH64:
		return "AArch64";
	case EM_RISCV:
		return "RISC-V";
	case EM_PPC:
		return "PowerPC";
	case EM_PPC64:
		return "64-bit PowerPC";
	case EM_MIPS:
		return "MIPS";
	case EM_S390:
		return "IBM S/390";
	case EM_SPARCV9:
		return "SPARC V9";
	case EM_IA_64:
		return "Itanium";
	case EM_LOONGARCH:
		return "LoongArch";
	default:
		return "another machine";
	}
}

static const char *type_name(unsigned int t)
{
	switch (t) {
	case ET_NONE:
		return "an ELF file of no type (ET_NONE)";
	case ET_REL:
		return "a relocatable object (ET_REL)";
	case ET_DYN:
		return "a shared object or PIE (ET_DYN)";
	case ET_CORE:
		return "a core dump (ET_CORE)";
	default:
		return "an ELF file of an unknown type";
	}
}

/* Checks e_ident and the fixed header fields. */
static int check_header(const char *name, const uint8_t *data, uint64_t size,
			Elf64_Ehdr *eh, char *err, size_t errlen)
{
	if (!size)
		return errmsg(-ENOEXEC, err, errlen, "'%s' is empty", name);
	if (size < SELFMAG || memcmp(data, ELFMAG, SELFMAG)) {
		if (size < SELFMAG)
			return errmsg(-ENOEXEC, err, errlen,
				      "'%s' is truncated: %" PRIu64
				      " bytes, shorter than an ELF header",
				      name, size);
		return errmsg(-ENOEXEC, err, errlen,
			      "'%s' is not an ELF file (bad magic %02x %02x "
			      "%02x %02x, expected 7f 45 4c 46)",
			      name, data[0], data[1], data[2], data[3]);
	}
	if (size < EI_NIDENT)
		return errmsg(-ENOEXEC, err, errlen,
			      "'%s' is truncated: %" PRIu64
			      " bytes, shorter than an ELF header",
			      name, size);
	if (data[EI_CLASS] == ELFCLASS32)
		return errmsg(-ENOEXEC, err, errlen,
			      "'%s' is a 32-bit ELF file (ELFCLASS32); "
			      "nestvm runs 64-bit images (ELFCLASS64)",
			      name);
	if (data[EI_CLASS] != ELFCLASS64)
		return errmsg(-ENOEXEC, err, errlen,
			      "'%s' has an invalid ELF class %u", name,
			      data[EI_CLASS]);
	if (data[EI_DATA] == ELFDATA2MSB)
		return errmsg(-ENOEXEC, err, errlen,
			      "'%s' is big-endian (ELFDATA2MSB); x86-64 images "
			      "are little-endian (ELFDATA2LSB)",
			      name);
	if (data[EI_DATA] != ELFDATA2LSB)
		return errmsg(-ENOEXEC, err, errlen,
			      "'%s' has an invalid ELF data encoding %u", name,
			      data[EI_DATA]);
	if (size < sizeof(*eh))
		return errmsg(-ENOEXEC, err, errlen,
			      "'%s' is truncated: %" PRIu64
			      " bytes, an ELF64 header needs %zu",
			      name, size, sizeof(*eh));
	memcpy(eh, data, sizeof(*eh));
	if (eh->e_machine != EM_X86_64)
		return errmsg(-ENOEXEC, err, errlen,
			      "'%s' is for %s (e_machine %u), not x86-64 "
			      "(EM_X86_64)",
			      name, machine_name(eh->e_machine), eh->e_machine);
	if (eh->e_type != ET_EXEC)
		return errmsg(
			-ENOEXEC, err, errlen,
			"'%s' is %s, not an executable (ET_EXEC); link it "
			"with -static -no-pie",
			name, type_name(eh->e_type));
	if (eh->e_version != EV_CURRENT || data[EI_VERSION] != EV_CURRENT)
		return errmsg(-ENOEXEC, err, errlen,
			      "'%s' has an invalid ELF version %u", name,
			      eh->e_version);
	return 0;
}

/* Checks where the program header table lies. */
static int check_phdrs(const char *name, uint64_t size, const Elf64_Ehdr *eh,
		       char *err, size_t errlen)
{
	uint64_t bytes = (uint64_t)eh->e_phnum * sizeof(Elf64_Phdr);

	if (!eh->e_phnum)
		return 0;
	/* PN_XNUM moves the real count into section header 0: no linker
	 * produces that many segments for a guest image. */
	if (eh->e_phnum == PN_XNUM)
		return errmsg(-ENOEXEC, err, errlen,
			      "'%s' uses extended program header numbering "
			      "(PN_XNUM), which nestvm does not support",
			      name);
	if (eh->e_phentsize != sizeof(Elf64_Phdr))
		return errmsg(-ENOEXEC, err, errlen,
			      "'%s' has program headers of %u bytes; ELF64 "
			      "program headers have %zu",
			      name, eh->e_phentsize, sizeof(Elf64_Phdr));
	if (eh->e_phoff > size || bytes > size - eh->e_phoff)
		return errmsg(-ENOEXEC, err, errlen,
			      "'%s': program headers (offset 0x%" PRIx64
			      ", %u entries) lie outside the file (%" PRIu64
			      " bytes)",
			      name, (uint64_t)eh->e_phoff, eh->e_phnum, size);
	return 0;
}

/* Checks one PT_LOAD header on its own; *keep says whether it loads
 * anything (memsz > 0). */
static int check_segment(const char *name, uint64_t size, uint64_t mem_size,
			 unsigned int idx, const Elf64_Phdr *ph, char *err,
			 size_t errlen)
{
	uint64_t end = ph->p_paddr + ph->p_memsz;

	if (ph->p_filesz > ph->p_memsz)
		return errmsg(-ENOEXEC, err, errlen,
			      "'%s': segment %u has p_filesz 0x%" PRIx64
			      " larger than p_memsz 0x%" PRIx64,
			      name, idx, (uint64_t)ph->p_filesz,
			      (uint64_t)ph->p_memsz);
	if (ph->p_offset > size || ph->p_filesz > size - ph->p_offset)
		return errmsg(-ENOEXEC, err, errlen,
			      "'%s': segment %u's data (offset 0x%" PRIx64
			      ", 0x%" PRIx64 " bytes) lies outside the file "
			      "(%" PRIu64 " bytes)",
			      name, idx, (uint64_t)ph->p_offset,
			      (uint64_t)ph->p_filesz, size);
	if (!ph->p_memsz)
		return 0;
	if (ph->p_vaddr != ph->p_paddr)
		return errmsg(-ENOEXEC, err, errlen,
			      "'%s': segment %u has p_vaddr 0x%" PRIx64
			      " != p_paddr 0x%" PRIx64 "; the boot page tables "
			      "map virtual = physical",
			      name, idx, (uint64_t)ph->p_vaddr,
			      (uint64_t)ph->p_paddr);
	if (end < ph->p_paddr)
		end = UINT64_MAX; /* wrapped: certainly outside RAM */
	if (ph->p_paddr < BOOT_IMAGE_MIN)
		return errmsg(-ERANGE, err, errlen,
			      "'%s': segment %u [0x%" PRIx64 ", 0x%" PRIx64
			      ") lies in the boot area below 0x%llx; load "
			      "images at or above it",
			      name, idx, (uint64_t)ph->p_paddr, end,
			      BOOT_IMAGE_MIN);
	if (end > mem_size)
		return errmsg(-ERANGE, err, errlen,
			      "'%s': segment %u [0x%" PRIx64 ", 0x%" PRIx64
			      ") lies outside guest RAM [0x0, 0x%" PRIx64
			      "); try a larger --mem",
			      name, idx, (uint64_t)ph->p_paddr, end, mem_size);
	return 0;
}

static void sort_segments(struct loader_elf *elf)
{
	for (unsigned int i = 1; i < elf->nr_segs; i++) {
		struct loader_segment s = elf->segs[i];
		unsigned int j = i;

		while (j && elf->segs[j - 1].paddr > s.paddr) {
			elf->segs[j] = elf->segs[j - 1];
			j--;
		}
		elf->segs[j] = s;
	}
}

int loader_parse_elf(const char *name, const uint8_t *data, uint64_t size,
		     uint64_t mem_size, struct loader_elf *elf, char *err,
		     size_t errlen)
{
	Elf64_Ehdr eh;
	int ret;

	memset(elf, 0, sizeof(*elf));
	ret = check_header(name, data, size, &eh, err, errlen);
	if (!ret)
		ret = check_phdrs(name, size, &eh, err, errlen);
	if (ret)
		return ret;

	for (unsigned int i = 0; i < eh.e_phnum; i++) {
		Elf64_Phdr ph;

		memcpy(&ph, data + eh.e_phoff + (uint64_t)i * sizeof(ph),
		       sizeof(ph));
		if (ph.p_type != PT_LOAD)
			continue;
		ret = check_segment(name, size, mem_size, i, &ph, err, errlen);
		if (ret)
			return ret;
		if (!ph.p_memsz)
			continue;
		if (elf->nr_segs == LOADER_SEGS_MAX)
			return errmsg(-E2BIG, err, errlen,
				      "'%s' has more than %u PT_LOAD segments",
				      name, LOADER_SEGS_MAX);
		elf->segs[elf->nr_segs++] = (struct loader_segment){
			.paddr = ph.p_paddr,
			.filesz = ph.p_filesz,
			.memsz = ph.p_memsz,
			.offset = ph.p_offset,
			.flags = ph.p_flags,
			.index = i,
		};
	}
	if (!elf->nr_segs)
		return errmsg(-ENOEXEC, err, errlen,
			      "'%s' has no PT_LOAD segment: nothing to load",
			      name);

	sort_segments(elf);
	for (unsigned int i = 1; i < elf->nr_segs; i++) {
		const struct loader_segment *a = &elf->segs[i - 1];
		const struct loader_segment *b = &elf->segs[i];

		if (b->paddr < a->paddr + a->memsz)
			return errmsg(-ENOEXEC, err, errlen,
				      "'%s': segments %u [0x%" PRIx64
				      ", 0x%" PRIx64 ") and %u [0x%" PRIx64
				      ", 0x%" PRIx64 ") overlap at 0x%" PRIx64,
				      name, a->index, a->paddr,
				      a->paddr + a->memsz, b->index, b->paddr,
				      b->paddr + b->memsz, b->paddr);
	}

	elf->entry = eh.e_entry;
	ret = -ENOEXEC;
	for (unsigned int i = 0; i < elf->nr_segs; i++) {
		const struct loader_segment *s = &elf->segs[i];

		if ((s->flags & PF_X) && eh.e_entry >= s->paddr &&
		    eh.e_entry - s->paddr < s->memsz)
			ret = 0;
	}
	if (ret)
		return errmsg(ret, err, errlen,
			      "'%s': entry point 0x%" PRIx64
			      " is not inside an executable PT_LOAD segment",
			      name, (uint64_t)eh.e_entry);

	elf->data = data;
	elf->start = elf->segs[0].paddr;
	elf->end = elf->segs[elf->nr_segs - 1].paddr +
		   elf->segs[elf->nr_segs - 1].memsz;
	return 0;
}

int loader_copy_elf(struct vtx_machine *m, const struct loader_elf *elf,
		    char *err, size_t errlen)
{
	static const uint8_t zeroes[PAGE_SIZE];

	for (unsigned int i = 0; i < elf->nr_segs; i++) {
		const struct loader_segment *s = &elf->segs[i];
		uint64_t at = s->paddr + s->filesz;
		uint64_t left = s->memsz - s->filesz;
		int ret = 0;

		if (s->filesz)
			ret = vtx_hpa_write(m, s->paddr, elf->data + s->offset,
					    s->filesz);
		/* The arena starts zeroed, but a machine may be reused: BSS
		 * is zero by contract, so make it so. */
		while (!ret && left) {
			uint64_t n =
				left < sizeof(zeroes) ? left : sizeof(zeroes);

			ret = vtx_hpa_write(m, at, zeroes, n);
			at += n;
			left -= n;
		}
		if (ret)
			return errmsg(ret, err, errlen,
				      "cannot copy segment %u to guest RAM at "
				      "0x%" PRIx64 ": %s",
				      s->index, s->paddr, strerror(-ret));
	}
	return 0;
}

int loader_load_elf(struct vtx_machine *m, const char *path,
		    struct loader_file *file, struct loader_elf *img, char *err,
		    size_t errlen)
{
	uint64_t mem_size = vtx_arena_size(m);
	int ret;

	ret = loader_read_file(path, LOADER_FILE_MAX, file, err, errlen);
	if (ret)
		return ret;
	ret = loader_parse_elf(path, file->data, file->size, mem_size, img, err,
			       errlen);
	if (!ret)
		ret = loader_copy_elf(m, img, err, errlen);
	if (ret)
		loader_free_file(file);
	return ret;
}
