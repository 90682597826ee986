/* SPDX-License-Identifier: MIT */
/*
 * multiboot.c - the Multiboot (0.6.96) boot path QEMU's -kernel offers a
 * bare-metal test kernel: header search and checks, ELF32 loading by
 * program headers, the information block with memory map, command line
 * and modules, and the 32-bit protected-mode entry state (SDM Vol. 3A
 * 3.4.5 segment descriptors, 9.9.1 protected mode). Monitor side; reaches
 * the machine only through vtx/vtx.h.
 */
#include "l0/multiboot.h"
#include "l0/errmsg.h"

#include <elf.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "arch/x86_regs.h"
#include "arch/x86_seg.h"
#include "vtx/vtx.h"

bool multiboot_is_elf32(const uint8_t *data, uint64_t size)
{
	return size >= EI_NIDENT && !memcmp(data, ELFMAG, SELFMAG) &&
	       data[EI_CLASS] == ELFCLASS32;
}

static uint32_t get32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return v;
}

/* The header: magic, flags, checksum (magic + flags + checksum = 0), at a
 * 4-byte aligned offset in the first 8 KiB (Multiboot 3.1.1). */
static int check_header(const char *name, const uint8_t *data, uint64_t size,
			char *err, size_t errlen)
{
	uint64_t end = size < MULTIBOOT_SEARCH ? size : MULTIBOOT_SEARCH;
	uint32_t flags, unknown;

	for (uint64_t off = 0; off + 12 <= end; off += MULTIBOOT_HEADER_ALIGN) {
		if (get32(data + off) != MULTIBOOT_HEADER_MAGIC)
			continue;
		flags = get32(data + off + 4);
		if ((uint32_t)(MULTIBOOT_HEADER_MAGIC + flags +
			       get32(data + off + 8)))
			return errmsg(-ENOEXEC, err, errlen,
				      "'%s': the multiboot header at offset "
				      "0x%" PRIx64 " has a bad checksum",
				      name, off);
		if (flags & MULTIBOOT_VIDEO_MODE)
			return errmsg(-ENOEXEC, err, errlen,
				      "'%s': the multiboot header asks for a "
				      "video mode (flag 2), which nestvm "
				      "does not provide",
				      name);
		unknown = flags & MULTIBOOT_REQUIRED_MASK &
			  ~(uint32_t)MULTIBOOT_SUPPORTED;
		if (unknown)
			return errmsg(-ENOEXEC, err, errlen,
				      "'%s': the multiboot header requires "
				      "features nestvm does not know (flags "
				      "0x%08" PRIx32 ")",
				      name, unknown);
		if (flags & MULTIBOOT_AOUT_KLUDGE)
			return errmsg(-ENOEXEC, err, errlen,
				      "'%s': the multiboot header asks to "
				      "load by its address fields (flag 16); "
				      "nestvm loads ELF program headers only",
				      name);
		return 0;
	}
	return errmsg(-ENOEXEC, err, errlen,
		      "'%s' is a 32-bit ELF file (ELFCLASS32) without a "
		      "multiboot header "
		      "in its first %u bytes; nestvm boots 64-bit ELF images "
		      "and multiboot kernels",
		      name, MULTIBOOT_SEARCH);
}

static int check_ehdr(const char *name, const uint8_t *data, uint64_t size,
		      Elf32_Ehdr *eh, char *err, size_t errlen)
{
	if (data[EI_DATA] != ELFDATA2LSB)
		return errmsg(-ENOEXEC, err, errlen,
			      "'%s' is not a little-endian ELF file", name);
	if (size < sizeof(*eh))
		return errmsg(-ENOEXEC, err, errlen,
			      "'%s' is truncated: %" PRIu64
			      " bytes, an ELF32 header needs %zu",
			      name, size, sizeof(*eh));
	memcpy(eh, data, sizeof(*eh));
	/* objcopy -O elf32-i386 wraps 64-bit code as EM_386. */
	if (eh->e_machine != EM_386 && eh->e_machine != EM_X86_64)
		return errmsg(-ENOEXEC, err, errlen,
			      "'%s' is not for x86 (e_machine %u)", name,
			      eh->e_machine);
	if (eh->e_type != ET_EXEC)
		return errmsg(-ENOEXEC, err, errlen,
			      "'%s' is not an executable (ET_EXEC)", name);
	if (eh->e_version != EV_CURRENT || data[EI_VERSION] != EV_CURRENT)
		return errmsg(-ENOEXEC, err, errlen,
			      "'%s' has an invalid ELF version %u", name,
			      eh->e_version);
	if (!eh->e_phnum)
		return errmsg(-ENOEXEC, err, errlen,
			      "'%s' has no PT_LOAD segment: nothing to load",
			      name);
	if (eh->e_phentsize != sizeof(Elf32_Phdr) || eh->e_phnum == PN_XNUM)
		return errmsg(-ENOEXEC, err, errlen,
			      "'%s' has program headers of %u bytes; ELF32 "
			      "program headers have %zu",
			      name, eh->e_phentsize, sizeof(Elf32_Phdr));
	if (eh->e_phoff > size ||
	    (uint64_t)eh->e_phnum * sizeof(Elf32_Phdr) > size - eh->e_phoff)
		return errmsg(-ENOEXEC, err, errlen,
			      "'%s': program headers (offset 0x%" PRIx32
			      ", %u entries) lie outside the file (%" PRIu64
			      " bytes)",
			      name, eh->e_phoff, eh->e_phnum, size);
	return 0;
}

static int check_segment(const char *name, uint64_t size, uint64_t mem_size,
			 unsigned int idx, const Elf32_Phdr *ph, char *err,
			 size_t errlen)
{
	uint64_t end = (uint64_t)ph->p_paddr + ph->p_memsz;

	if (ph->p_filesz > ph->p_memsz)
		return errmsg(-ENOEXEC, err, errlen,
			      "'%s': segment %u has p_filesz 0x%" PRIx32
			      " larger than p_memsz 0x%" PRIx32,
			      name, idx, ph->p_filesz, ph->p_memsz);
	if (ph->p_offset > size || ph->p_filesz > size - ph->p_offset)
		return errmsg(-ENOEXEC, err, errlen,
			      "'%s': segment %u's data (offset 0x%" PRIx32
			      ", 0x%" PRIx32 " bytes) lies outside the file "
			      "(%" PRIu64 " bytes)",
			      name, idx, ph->p_offset, ph->p_filesz, size);
	if (!ph->p_memsz)
		return 0;
	if (ph->p_paddr < BOOT_IMAGE_MIN)
		return errmsg(-ERANGE, err, errlen,
			      "'%s': segment %u [0x%" PRIx32 ", 0x%" PRIx64
			      ") lies in the boot area below 0x%llx; load "
			      "kernels at or above it",
			      name, idx, ph->p_paddr, end, BOOT_IMAGE_MIN);
	if (end > mem_size)
		return errmsg(-ERANGE, err, errlen,
			      "'%s': segment %u [0x%" PRIx32 ", 0x%" PRIx64
			      ") lies outside guest RAM [0x0, 0x%" PRIx64
			      "); try a larger --mem",
			      name, idx, ph->p_paddr, end, mem_size);
	return 0;
}

/* Like QEMU, an entry point given as a virtual address inside a segment
 * whose p_vaddr differs from p_paddr is moved to its physical address. */
static uint64_t entry_paddr(const uint8_t *data, const Elf32_Ehdr *eh)
{
	for (unsigned int i = 0; i < eh->e_phnum; i++) {
		Elf32_Phdr ph;

		memcpy(&ph, data + eh->e_phoff + (uint64_t)i * sizeof(ph),
		       sizeof(ph));
		if (ph.p_type == PT_LOAD && ph.p_vaddr != ph.p_paddr &&
		    eh->e_entry >= ph.p_vaddr &&
		    eh->e_entry - ph.p_vaddr < ph.p_memsz)
			return (uint64_t)eh->e_entry - ph.p_vaddr + ph.p_paddr;
	}
	return eh->e_entry;
}

int multiboot_parse_elf(const char *name, const uint8_t *data, uint64_t size,
			uint64_t mem_size, struct loader_elf *elf, char *err,
			size_t errlen)
{
	Elf32_Ehdr eh;
	int ret;

	memset(elf, 0, sizeof(*elf));
	if (!multiboot_is_elf32(data, size))
		return errmsg(-ENOEXEC, err, errlen,
			      "'%s' is not a 32-bit ELF file", name);
	/* The header first: an ELF32 without one is no multiboot kernel,
	 * whatever else is wrong with it. */
	ret = check_header(name, data, size, err, errlen);
	if (!ret)
		ret = check_ehdr(name, data, size, &eh, err, errlen);
	if (ret)
		return ret;

	for (unsigned int i = 0; i < eh.e_phnum; i++) {
		Elf32_Phdr ph;

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
		for (unsigned int k = 0; k < elf->nr_segs; k++) {
			const struct loader_segment *s = &elf->segs[k];

			if (ph.p_paddr < s->paddr + s->memsz &&
			    s->paddr < (uint64_t)ph.p_paddr + ph.p_memsz)
				return errmsg(-ENOEXEC, err, errlen,
					      "'%s': segments %u and %u "
					      "overlap",
					      name, s->index, i);
		}
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

	elf->entry = entry_paddr(data, &eh);
	elf->start = UINT64_MAX;
	ret = -ENOEXEC;
	for (unsigned int i = 0; i < elf->nr_segs; i++) {
		const struct loader_segment *s = &elf->segs[i];

		if ((s->flags & PF_X) && elf->entry >= s->paddr &&
		    elf->entry - s->paddr < s->memsz)
			ret = 0;
		if (s->paddr < elf->start)
			elf->start = s->paddr;
		if (s->paddr + s->memsz > elf->end)
			elf->end = s->paddr + s->memsz;
	}
	if (ret)
		return errmsg(ret, err, errlen,
			      "'%s': entry point 0x%" PRIx64
			      " is not inside an executable PT_LOAD segment",
			      name, elf->entry);
	elf->data = data;
	return 0;
}

/* ---- the information block ---------------------------------------------- */

/* The PC memory map QEMU reports, for RAM of mem_size bytes: base memory
 * below the EBDA, the BIOS area reserved, RAM from 1 MiB on. */
static unsigned int build_mmap(struct multiboot_mmap_entry *e,
			       uint64_t mem_size)
{
	static const struct {
		uint64_t addr, len;
		uint32_t type;
	} low[] = {
		{ 0, 0x9fc00, MULTIBOOT_MEMORY_AVAILABLE },
		{ 0x9fc00, 0x400, MULTIBOOT_MEMORY_RESERVED },
		{ 0xf0000, 0x10000, MULTIBOOT_MEMORY_RESERVED },
	};
	unsigned int n = 0;

	for (; n < ARRAY_SIZE(low); n++)
		e[n] = (struct multiboot_mmap_entry){
			.size = sizeof(*e) - 4,
			.addr = low[n].addr,
			.len = low[n].len,
			.type = low[n].type,
		};
	e[n++] = (struct multiboot_mmap_entry){
		.size = sizeof(*e) - 4,
		.addr = MiB(1),
		.len = mem_size - MiB(1),
		.type = MULTIBOOT_MEMORY_AVAILABLE,
	};
	return n;
}

static int put(struct vtx_machine *m, uint64_t at, const void *p, size_t n,
	       char *err, size_t errlen)
{
	int ret = vtx_hpa_write(m, at, p, n);

	if (ret)
		return errmsg(ret, err, errlen,
			      "cannot write the multiboot information at "
			      "0x%" PRIx64 ": %s",
			      at, strerror(-ret));
	return 0;
}

static int write_gdt(struct vtx_machine *m, char *err, size_t errlen)
{
	struct kvm_segment code = {
		.limit = 0xffffffff,
		.type = SEG_TYPE_CODE_XR_ACCESSED,
		.s = 1,
		.present = 1,
		.db = 1,
		.g = 1,
	};
	struct kvm_segment data = code;
	uint64_t gdt[3] = { 0 };

	data.type = SEG_TYPE_DATA_RW_ACCESSED;
	gdt[SEL_INDEX(MB_SEL_CODE)] = x86_seg_encode_desc(&code);
	gdt[SEL_INDEX(MB_SEL_DATA)] = x86_seg_encode_desc(&data);
	return put(m, MB_GDT_ADDR, gdt, sizeof(gdt), err, errlen);
}

int multiboot_write_memory(struct vtx_machine *m, const struct boot_params *bp,
			   const char *image_name,
			   const char *const *module_names, char *err,
			   size_t errlen)
{
	struct multiboot_info mbi = { 0 };
	struct multiboot_mmap_entry mmap[MB_MMAP_MAX];
	struct multiboot_module mods[NESTVM_MODULES_MAX];
	static const char loader_name[] = "nestvm";
	char cmdline[MB_CMDLINE_MAX];
	unsigned int nr_mmap;
	int n, ret;

	if (vtx_arena_size(m) < bp->mem_size)
		return errmsg(-EINVAL, err, errlen,
			      "machine memory (%" PRIu64
			      " bytes) is smaller than guest RAM (%" PRIu64
			      " bytes)",
			      vtx_arena_size(m), bp->mem_size);
	/* QEMU passes "kernel-file append-string" as the command line. */
	n = snprintf(cmdline, sizeof(cmdline), "%s%s%s", image_name,
		     bp->cmdline && *bp->cmdline ? " " : "",
		     bp->cmdline ? bp->cmdline : "");
	if (n < 0 || (size_t)n >= sizeof(cmdline))
		return errmsg(-E2BIG, err, errlen,
			      "the multiboot command line (image name and "
			      "--append) is longer than %u bytes",
			      MB_CMDLINE_MAX - 1);
	ret = put(m, MB_CMDLINE_ADDR, cmdline, (size_t)n + 1, err, errlen);

	for (unsigned int i = 0; !ret && i < bp->nr_modules; i++) {
		const char *s = module_names[i];
		uint64_t at = MB_MOD_STRINGS_ADDR + i * MB_MOD_STRING_MAX;
		size_t len = strlen(s);

		if (len >= MB_MOD_STRING_MAX)
			return errmsg(-E2BIG, err, errlen,
				      "module name '%s' is longer than %u "
				      "bytes",
				      s, MB_MOD_STRING_MAX - 1);
		if (bp->modules[i].start + bp->modules[i].size > GiB(4))
			return errmsg(-ERANGE, err, errlen,
				      "module '%s' ends above 4 GiB, out of "
				      "reach of the multiboot module table",
				      s);
		mods[i] = (struct multiboot_module){
			.mod_start = (uint32_t)bp->modules[i].start,
			.mod_end = (uint32_t)(bp->modules[i].start +
					      bp->modules[i].size),
			.string = (uint32_t)at,
		};
		ret = put(m, at, s, len + 1, err, errlen);
	}
	if (!ret && bp->nr_modules)
		ret = put(m, MB_MODS_ADDR, mods,
			  bp->nr_modules * sizeof(mods[0]), err, errlen);

	nr_mmap = build_mmap(mmap, bp->mem_size);
	if (!ret)
		ret = put(m, MB_MMAP_ADDR, mmap, nr_mmap * sizeof(mmap[0]), err,
			  errlen);
	if (!ret)
		ret = put(m, MB_LOADER_NAME_ADDR, loader_name,
			  sizeof(loader_name), err, errlen);
	if (!ret)
		ret = write_gdt(m, err, errlen);
	if (ret)
		return ret;

	/* mem_upper: KiB from 1 MiB up to the first hole, which the PCI
	 * window puts at 3.5 GiB at the latest on a PC like QEMU's. */
	uint64_t upper_end =
		bp->mem_size < 0xe0000000ull ? bp->mem_size : 0xe0000000ull;
	mbi.flags = MULTIBOOT_INFO_MEMORY | MULTIBOOT_INFO_CMDLINE |
		    MULTIBOOT_INFO_MODS | MULTIBOOT_INFO_MEM_MAP |
		    MULTIBOOT_INFO_BOOT_LOADER_NAME;
	mbi.mem_lower = 0x9fc00 / 1024;
	mbi.mem_upper = (uint32_t)((upper_end - MiB(1)) / 1024);
	mbi.cmdline = MB_CMDLINE_ADDR;
	mbi.mods_count = bp->nr_modules;
	mbi.mods_addr = MB_MODS_ADDR;
	mbi.mmap_length = nr_mmap * (uint32_t)sizeof(mmap[0]);
	mbi.mmap_addr = MB_MMAP_ADDR;
	mbi.boot_loader_name = MB_LOADER_NAME_ADDR;
	return put(m, MB_INFO_ADDR, &mbi, sizeof(mbi), err, errlen);
}

/* ---- the entry state ------------------------------------------------------ */

static struct kvm_segment flat(uint16_t sel, bool code)
{
	struct kvm_segment s = {
		.base = 0,
		.limit = 0xffffffff,
		.selector = sel,
		.type = code ? SEG_TYPE_CODE_XR_ACCESSED
			     : SEG_TYPE_DATA_RW_ACCESSED,
		.present = 1,
		.s = 1,
		.db = 1,
		.g = 1,
	};
	return s;
}

int multiboot_setup_cpu(struct vtx_cpu *cpu, const struct boot_params *bp,
			char *err, size_t errlen)
{
	struct kvm_sregs sregs;
	struct kvm_regs regs;
	int ret;

	ret = vtx_cpu_get_sregs(cpu, &sregs);
	if (ret)
		return errmsg(ret, err, errlen,
			      "cannot read the vCPU state: %s", strerror(-ret));
	sregs.cs = flat(MB_SEL_CODE, true);
	sregs.ds = flat(MB_SEL_DATA, false);
	sregs.es = sregs.ds;
	sregs.fs = sregs.ds;
	sregs.gs = sregs.ds;
	sregs.ss = sregs.ds;
	/* No task register and no LDT until the kernel loads them. */
	memset(&sregs.tr, 0, sizeof(sregs.tr));
	sregs.tr.type = SEG_TYPE_TSS32_BUSY;
	sregs.tr.present = 1;
	sregs.tr.limit = 0xffff;
	memset(&sregs.ldt, 0, sizeof(sregs.ldt));
	sregs.ldt.unusable = 1;
	sregs.gdt.base = MB_GDT_ADDR;
	sregs.gdt.limit = 3 * 8 - 1;
	sregs.idt.base = 0;
	sregs.idt.limit = 0;
	sregs.cr0 = X86_CR0_PE | X86_CR0_ET;
	sregs.cr2 = 0;
	sregs.cr3 = 0;
	sregs.cr4 = 0;
	sregs.cr8 = 0;
	sregs.efer = 0;

	memset(&regs, 0, sizeof(regs));
	regs.rip = bp->entry;
	regs.rax = MULTIBOOT_BOOTLOADER_MAGIC;
	regs.rbx = MB_INFO_ADDR;
	regs.rsp = MB_STACK_TOP;
	regs.rflags = X86_EFLAGS_FIXED;

	ret = vtx_cpu_set_sregs(cpu, &sregs);
	if (ret)
		return errmsg(ret, err, errlen,
			      "the vCPU refused the multiboot state (sregs): "
			      "%s",
			      strerror(-ret));
	ret = vtx_cpu_set_regs(cpu, &regs);
	if (ret)
		return errmsg(ret, err, errlen,
			      "the vCPU refused the multiboot state (regs): %s",
			      strerror(-ret));
	return 0;
}
