/* SPDX-License-Identifier: MIT */
/*
 * l2_boot.c - L2's boot contract, built in L2's RAM the way nestvm builds
 * it for a native run (docs/boot.md): a bounds-checked ELF64 loader for the
 * image l1-shim received as its first module (System V gABI, "ELF Header",
 * "Program Header"), L1's other modules copied after it, and the GDT, TSS,
 * page tables and boot information of arch/boot_layout.h. l1-shim side
 * (L1); L1 is identity-mapped, so an L1-physical address is a pointer.
 */
#include <elf.h>

#include "arch/boot_layout.h"
#include "guests/rt/rt.h"
#include "l1-shim/shim.h"

#define L2_SEGS_MAX 16

struct l2_segment {
	uint64_t paddr, filesz, memsz, offset;
	uint32_t flags;
	unsigned int index;
};

struct l2_image {
	const uint8_t *data;
	uint64_t size;
	const char *name;
	uint64_t entry, start, end;
	unsigned int nr_segs;
	struct l2_segment segs[L2_SEGS_MAX]; /* sorted by paddr */
};

static void *l2_ptr(const struct l2_vm *vm, uint64_t gpa)
{
	return (void *)(uintptr_t)(vm->base + gpa);
}

/* The ELF header: an x86-64 ELF64 executable with sane program headers. */
static int l2_check_header(struct l2_image *img, Elf64_Ehdr *eh)
{
	if (img->size < sizeof(*eh)) {
		printf(L1_PFX "'%s' is truncated: %llu bytes, shorter than an "
			      "ELF64 header\n",
		       img->name, (unsigned long long)img->size);
		return L1_EXIT_SETUP;
	}
	memcpy(eh, img->data, sizeof(*eh));
	if (memcmp(eh->e_ident, ELFMAG, SELFMAG) ||
	    eh->e_ident[EI_CLASS] != ELFCLASS64 ||
	    eh->e_ident[EI_DATA] != ELFDATA2LSB ||
	    eh->e_ident[EI_VERSION] != EV_CURRENT ||
	    eh->e_version != EV_CURRENT) {
		printf(L1_PFX "'%s' is not a little-endian ELF64 file\n",
		       img->name);
		return L1_EXIT_SETUP;
	}
	if (eh->e_machine != EM_X86_64 || eh->e_type != ET_EXEC) {
		printf(L1_PFX "'%s' is not an x86-64 executable (e_machine "
			      "%u, e_type %u); link it with -static -no-pie\n",
		       img->name, eh->e_machine, eh->e_type);
		return L1_EXIT_SETUP;
	}
	if (eh->e_phnum == PN_XNUM ||
	    (eh->e_phnum && eh->e_phentsize != sizeof(Elf64_Phdr)) ||
	    eh->e_phoff > img->size ||
	    (uint64_t)eh->e_phnum * sizeof(Elf64_Phdr) >
		    img->size - eh->e_phoff) {
		printf(L1_PFX "'%s': bad program header table (offset %#llx, "
			      "%u entries of %u bytes, file of %llu bytes)\n",
		       img->name, (unsigned long long)eh->e_phoff, eh->e_phnum,
		       eh->e_phentsize, (unsigned long long)img->size);
		return L1_EXIT_SETUP;
	}
	return 0;
}

/* One PT_LOAD header against the file and L2's RAM. */
static int l2_check_segment(const struct l2_image *img, uint64_t mem_size,
			    unsigned int idx, const Elf64_Phdr *ph)
{
	uint64_t end = ph->p_paddr + ph->p_memsz;

	if (ph->p_filesz > ph->p_memsz || ph->p_offset > img->size ||
	    ph->p_filesz > img->size - ph->p_offset) {
		printf(L1_PFX "'%s': segment %u (offset %#llx, %#llx of "
			      "%#llx bytes) does not fit the file\n",
		       img->name, idx, (unsigned long long)ph->p_offset,
		       (unsigned long long)ph->p_filesz,
		       (unsigned long long)ph->p_memsz);
		return L1_EXIT_SETUP;
	}
	if (!ph->p_memsz)
		return 0;
	if (ph->p_vaddr != ph->p_paddr) {
		printf(L1_PFX "'%s': segment %u has p_vaddr %#llx != p_paddr "
			      "%#llx\n",
		       img->name, idx, (unsigned long long)ph->p_vaddr,
		       (unsigned long long)ph->p_paddr);
		return L1_EXIT_SETUP;
	}
	if (end < ph->p_paddr || ph->p_paddr < BOOT_IMAGE_MIN ||
	    end > mem_size) {
		printf(L1_PFX "'%s': segment %u at %#llx (%#llx bytes) lies "
			      "outside L2 RAM [%#llx, %#llx); try a larger "
			      "l2mem=\n",
		       img->name, idx, (unsigned long long)ph->p_paddr,
		       (unsigned long long)ph->p_memsz, BOOT_IMAGE_MIN,
		       (unsigned long long)mem_size);
		return L1_EXIT_SETUP;
	}
	return 0;
}

/* Parses and checks the whole image; nothing is copied yet. */
static int l2_parse_image(struct l2_image *img, uint64_t mem_size)
{
	Elf64_Ehdr eh;
	bool entry_ok = false;
	int ret;

	ret = l2_check_header(img, &eh);
	for (unsigned int i = 0; !ret && i < eh.e_phnum; i++) {
		struct l2_segment s;
		Elf64_Phdr ph;
		unsigned int j;

		memcpy(&ph, img->data + eh.e_phoff + (uint64_t)i * sizeof(ph),
		       sizeof(ph));
		if (ph.p_type != PT_LOAD)
			continue;
		ret = l2_check_segment(img, mem_size, i, &ph);
		if (ret || !ph.p_memsz)
			continue;
		if (img->nr_segs == L2_SEGS_MAX) {
			printf(L1_PFX "'%s' has more than %u PT_LOAD "
				      "segments\n",
			       img->name, L2_SEGS_MAX);
			return L1_EXIT_SETUP;
		}
		s = (struct l2_segment){ .paddr = ph.p_paddr,
					 .filesz = ph.p_filesz,
					 .memsz = ph.p_memsz,
					 .offset = ph.p_offset,
					 .flags = ph.p_flags,
					 .index = i };
		/* Insertion sort by address, for the overlap check. */
		for (j = img->nr_segs; j && img->segs[j - 1].paddr > s.paddr;
		     j--)
			img->segs[j] = img->segs[j - 1];
		img->segs[j] = s;
		img->nr_segs++;
	}
	if (ret)
		return ret;
	if (!img->nr_segs) {
		printf(L1_PFX "'%s' has no PT_LOAD segment\n", img->name);
		return L1_EXIT_SETUP;
	}
	for (unsigned int i = 0; i < img->nr_segs; i++) {
		const struct l2_segment *s = &img->segs[i];

		if (i && s->paddr < s[-1].paddr + s[-1].memsz) {
			printf(L1_PFX "'%s': segments %u and %u overlap at "
				      "%#llx\n",
			       img->name, s[-1].index, s->index,
			       (unsigned long long)s->paddr);
			return L1_EXIT_SETUP;
		}
		if ((s->flags & PF_X) && eh.e_entry >= s->paddr &&
		    eh.e_entry - s->paddr < s->memsz)
			entry_ok = true;
	}
	if (!entry_ok) {
		printf(L1_PFX "'%s': entry point %#llx is not inside an "
			      "executable segment\n",
		       img->name, (unsigned long long)eh.e_entry);
		return L1_EXIT_SETUP;
	}
	img->entry = eh.e_entry;
	img->start = img->segs[0].paddr;
	img->end = img->segs[img->nr_segs - 1].paddr +
		   img->segs[img->nr_segs - 1].memsz;
	return 0;
}

static void l2_copy_image(const struct l2_vm *vm, const struct l2_image *img)
{
	for (unsigned int i = 0; i < img->nr_segs; i++) {
		const struct l2_segment *s = &img->segs[i];
		uint8_t *dst = l2_ptr(vm, s->paddr);

		memcpy(dst, img->data + s->offset, s->filesz);
		memset(dst + s->filesz, 0, s->memsz - s->filesz);
	}
}

/* Whether L1's module @m lies inside L1's RAM. */
static bool l2_module_is_sane(const struct nestvm_boot_module *m,
			      uint64_t l1_mem)
{
	return m->start <= l1_mem && m->size <= l1_mem - m->start &&
	       strnlen(m->name, sizeof(m->name)) < sizeof(m->name);
}

int l2_boot_build(struct l2_vm *vm, const struct nestvm_bootinfo *bi,
		  const struct l1_options *opt)
{
	const struct nestvm_boot_module *mods =
		(const struct nestvm_boot_module *)(uintptr_t)bi->modules;
	struct nestvm_boot_module l2_mods[NESTVM_MODULES_MAX];
	struct nestvm_bootinfo l2_bi = { 0 };
	static struct l2_image img;
	uint64_t free_start;
	int ret;

	if (!bi->nr_modules || bi->nr_modules > NESTVM_MODULES_MAX) {
		printf(L1_PFX "no L2 image: give nestvm the guest to run as "
			      "its first --module\n");
		return L1_EXIT_SETUP;
	}
	for (unsigned int i = 0; i < bi->nr_modules; i++) {
		if (!l2_module_is_sane(&mods[i], bi->mem_size)) {
			printf(L1_PFX "module %u lies outside L1 RAM\n", i);
			return L1_EXIT_SETUP;
		}
	}
	img = (struct l2_image){
		.data = (const uint8_t *)(uintptr_t)mods[0].start,
		.size = mods[0].size,
		.name = mods[0].name,
	};
	ret = l2_parse_image(&img, vm->mem_size);
	if (ret)
		return ret;
	if (strlen(opt->l2_cmdline) > NESTVM_CMDLINE_MAX - 1) {
		printf(L1_PFX "L2's command line is too long\n");
		return L1_EXIT_SETUP;
	}

	/* The other modules follow the image, page by page, as nestvm
	 * places modules after a native guest's image. */
	free_start = ALIGN_UP(img.end, PAGE_SIZE);
	for (unsigned int i = 1; i < bi->nr_modules; i++) {
		struct nestvm_boot_module *m = &l2_mods[i - 1];

		if (mods[i].size > vm->mem_size - free_start) {
			printf(L1_PFX "module '%s' (%llu bytes) does not fit "
				      "in L2 RAM; try a larger l2mem=\n",
			       mods[i].name, (unsigned long long)mods[i].size);
			return L1_EXIT_SETUP;
		}
		*m = mods[i];
		m->start = free_start;
		memcpy(l2_ptr(vm, free_start),
		       (const void *)(uintptr_t)mods[i].start, mods[i].size);
		free_start = ALIGN_UP(free_start + mods[i].size, PAGE_SIZE);
	}
	l2_copy_image(vm, &img);

	l2_bi.nr_modules = bi->nr_modules - 1;
	l2_bi.mem_size = vm->mem_size;
	l2_bi.free_start = free_start;
	l2_bi.image_start = img.start;
	l2_bi.image_end = img.end;
	boot_layout_write_gdt_tss(l2_ptr(vm, 0));
	boot_layout_write_page_tables(l2_ptr(vm, 0), vm->mem_size);
	boot_layout_write_bootinfo(l2_ptr(vm, 0), &l2_bi, opt->l2_cmdline,
				   l2_mods);

	vm->entry = img.entry;
	vm->image_name = mods[0].name;
	vm->gprs[VCPU_REGS_RDI] = BOOT_INFO;
	return 0;
}
