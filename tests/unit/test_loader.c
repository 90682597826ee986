/* SPDX-License-Identifier: MIT */
/*
 * test_loader - the ELF64 loader (l0/loader.c) and the 64-bit boot contract
 * (l0/boot.c): every rejected image with its return value and message, a
 * good image's placement, and the GDT, TSS, page tables, boot-info block
 * and vCPU state read back from a real machine. Host side, tests only.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <elf.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "arch/bootinfo.h"
#include "arch/x86_paging.h"
#include "l0/boot.h"
#include "l0/loader.h"
#include "vtx/vtx.h"

#define MEM MiB(64)
#define ERRLEN 512

/* ---- building ELF images in memory --------------------------------------- */

#define IMG_MAX_PH 4
#define IMG_DATA 0x1000 /* segment data starts here in the file */

struct img {
	uint8_t buf[0x4000];
	size_t size;
	Elf64_Ehdr *eh;
	Elf64_Phdr *ph;
	size_t data_end;
};

static void img_init(struct img *im, uint64_t entry)
{
	memset(im, 0, sizeof(*im));
	im->eh = (Elf64_Ehdr *)im->buf;
	im->ph = (Elf64_Phdr *)(im->buf + sizeof(Elf64_Ehdr));
	memcpy(im->eh->e_ident, ELFMAG, SELFMAG);
	im->eh->e_ident[EI_CLASS] = ELFCLASS64;
	im->eh->e_ident[EI_DATA] = ELFDATA2LSB;
	im->eh->e_ident[EI_VERSION] = EV_CURRENT;
	im->eh->e_type = ET_EXEC;
	im->eh->e_machine = EM_X86_64;
	im->eh->e_version = EV_CURRENT;
	im->eh->e_entry = entry;
	im->eh->e_phoff = sizeof(Elf64_Ehdr);
	im->eh->e_ehsize = sizeof(Elf64_Ehdr);
	im->eh->e_phentsize = sizeof(Elf64_Phdr);
	im->data_end = IMG_DATA;
	im->size = IMG_DATA;
}

/* Adds a program header; data of filesz bytes (a byte pattern) follows the
 * previous segment's in the file. Returns its index. */
static unsigned int img_add(struct img *im, uint32_t type, uint32_t flags,
			    uint64_t paddr, uint64_t filesz, uint64_t memsz,
			    uint8_t fill)
{
	unsigned int i = im->eh->e_phnum++;
	Elf64_Phdr *ph = &im->ph[i];

	assert_true(i < IMG_MAX_PH);
	assert_true(im->data_end + filesz <= sizeof(im->buf));
	ph->p_type = type;
	ph->p_flags = flags;
	ph->p_offset = im->data_end;
	ph->p_vaddr = paddr;
	ph->p_paddr = paddr;
	ph->p_filesz = filesz;
	ph->p_memsz = memsz;
	ph->p_align = PAGE_SIZE;
	memset(im->buf + im->data_end, fill, filesz);
	im->data_end += filesz;
	im->size = im->data_end;
	return i;
}

/* The usual image: code at 1 MiB (entry there), data + BSS at 2 MiB. */
static void img_good(struct img *im)
{
	img_init(im, 0x100010);
	img_add(im, PT_LOAD, PF_R | PF_X, 0x100000, 0x40, 0x40, 0xc3);
	img_add(im, PT_LOAD, PF_R | PF_W, 0x200000, 0x10, 0x3000, 0x5a);
}

struct fixture {
	char dir[256];
	char path[300];
	struct vtx_machine *m;
	struct loader_file file;
	struct loader_elf elf;
	char err[ERRLEN];
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct vtx_machine_config cfg = { .arena_size = MEM };

	if (!f)
		return -1;
	snprintf(f->dir, sizeof(f->dir), "%s/nestvm-test-loader-XXXXXX",
		 getenv("TMPDIR") ? getenv("TMPDIR") : P_tmpdir);
	if (!mkdtemp(f->dir))
		return -1;
	snprintf(f->path, sizeof(f->path), "%s/image.elf", f->dir);
	if (vtx_machine_create(&cfg, &f->m))
		return -1;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	loader_free_file(&f->file);
	vtx_machine_destroy(f->m);
	unlink(f->path);
	rmdir(f->dir);
	free(f);
	return 0;
}

static void write_file(const char *path, const void *data, size_t len)
{
	FILE *fp = fopen(path, "wb");

	assert_non_null(fp);
	if (len)
		assert_int_equal(fwrite(data, 1, len, fp), len);
	assert_int_equal(fclose(fp), 0);
}

/* Writes im to the fixture's file and loads it into the machine. */
static int load_img(struct fixture *f, const struct img *im)
{
	write_file(f->path, im->buf, im->size);
	f->err[0] = '\0';
	return loader_load_elf(f->m, f->path, &f->file, &f->elf, f->err,
			       sizeof(f->err));
}

/* Asserts the message is exactly "'<path>'" followed by tail. */
static void assert_err_path(const struct fixture *f, const char *tail)
{
	char want[ERRLEN];

	snprintf(want, sizeof(want), "'%s'%s", f->path, tail);
	assert_string_equal(f->err, want);
}

/* ---- loading ------------------------------------------------------------- */

static void test_loader__good_image_copies_segments_and_zeroes_bss(void **state)
{
	struct fixture *f = *state;
	uint8_t *ram = vtx_hpa_ptr(f->m, 0, MEM);
	struct img im;

	img_good(&im);
	/* Dirty the BSS first: the loader must zero it, not rely on a fresh
	 * arena. */
	memset(ram + 0x200000, 0xee, 0x4000);
	assert_int_equal(load_img(f, &im), 0);
	assert_string_equal(f->err, "");
	assert_int_equal(f->elf.entry, 0x100010);
	assert_int_equal(f->elf.start, 0x100000);
	assert_int_equal(f->elf.end, 0x203000);
	assert_int_equal(f->elf.nr_segs, 2);
	for (unsigned int i = 0; i < 0x40; i++)
		assert_int_equal(ram[0x100000 + i], 0xc3);
	assert_int_equal(ram[0x100040], 0);
	for (unsigned int i = 0; i < 0x10; i++)
		assert_int_equal(ram[0x200000 + i], 0x5a);
	for (unsigned int i = 0x10; i < 0x3000; i++)
		assert_int_equal(ram[0x200000 + i], 0);
	/* Past memsz nothing is touched. */
	assert_int_equal(ram[0x203000], 0xee);
}

static void test_loader__segments_out_of_order_sorted_by_address(void **state)
{
	struct fixture *f = *state;
	struct img im;

	img_init(&im, 0x300000);
	img_add(&im, PT_LOAD, PF_R | PF_X, 0x300000, 0x10, 0x10, 1);
	img_add(&im, PT_LOAD, PF_R, 0x180000, 0x10, 0x20, 2);
	assert_int_equal(load_img(f, &im), 0);
	assert_int_equal(f->elf.start, 0x180000);
	assert_int_equal(f->elf.end, 0x300010);
	assert_int_equal(f->elf.segs[0].index, 1);
	assert_int_equal(f->elf.segs[1].index, 0);
}

static void test_loader__empty_pt_load_and_other_types_ignored(void **state)
{
	struct fixture *f = *state;
	struct img im;

	img_good(&im);
	img_add(&im, PT_LOAD, PF_R, 0x0, 0, 0, 0); /* would be in boot area */
	img_add(&im, PT_NOTE, PF_R, 0x0, 0x8, 0x8, 0);
	assert_int_equal(load_img(f, &im), 0);
	assert_int_equal(f->elf.nr_segs, 2);
}

static void test_loader__missing_file_fails_with_enoent(void **state)
{
	struct fixture *f = *state;
	char want[ERRLEN];
	int ret;

	ret = loader_load_elf(f->m, f->path, &f->file, &f->elf, f->err,
			      sizeof(f->err));
	assert_int_equal(ret, -ENOENT);
	snprintf(want, sizeof(want),
		 "cannot open '%s': No such file or directory", f->path);
	assert_string_equal(f->err, want);
}

static void test_loader__directory_fails_with_eisdir(void **state)
{
	struct fixture *f = *state;
	char want[ERRLEN];
	int ret;

	ret = loader_load_elf(f->m, f->dir, &f->file, &f->elf, f->err,
			      sizeof(f->err));
	assert_int_equal(ret, -EISDIR);
	snprintf(want, sizeof(want), "cannot read '%s': Is a directory",
		 f->dir);
	assert_string_equal(f->err, want);
}

static void test_loader__device_file_fails_not_regular(void **state)
{
	struct fixture *f = *state;
	int ret;

	ret = loader_read_file("/dev/zero", MEM, &f->file, f->err,
			       sizeof(f->err));
	assert_int_equal(ret, -EINVAL);
	assert_string_equal(f->err,
			    "cannot read '/dev/zero': not a regular file");
}

static void test_loader__file_over_max_size_fails_with_efbig(void **state)
{
	struct fixture *f = *state;
	char want[ERRLEN];
	uint8_t data[100] = { 0 };
	int ret;

	write_file(f->path, data, sizeof(data));
	ret = loader_read_file(f->path, 99, &f->file, f->err, sizeof(f->err));
	assert_int_equal(ret, -EFBIG);
	snprintf(want, sizeof(want),
		 "'%s' is too large: 100 bytes, at most 99 fit", f->path);
	assert_string_equal(f->err, want);
	assert_null(f->file.data);
}

static void test_loader__empty_file_rejected(void **state)
{
	struct fixture *f = *state;

	write_file(f->path, "", 0);
	assert_int_equal(loader_load_elf(f->m, f->path, &f->file, &f->elf,
					 f->err, sizeof(f->err)),
			 -ENOEXEC);
	assert_err_path(f, " is empty");
}

static void test_loader__three_bytes_rejected_as_truncated(void **state)
{
	struct fixture *f = *state;

	write_file(f->path, ELFMAG, 3);
	assert_int_equal(loader_load_elf(f->m, f->path, &f->file, &f->elf,
					 f->err, sizeof(f->err)),
			 -ENOEXEC);
	assert_err_path(f, " is truncated: 3 bytes, shorter than an ELF "
			   "header");
}

static void test_loader__truncated_header_rejected(void **state)
{
	struct fixture *f = *state;
	struct img im;

	img_good(&im);
	im.size = 40;
	assert_int_equal(load_img(f, &im), -ENOEXEC);
	assert_err_path(f, " is truncated: 40 bytes, an ELF64 header needs "
			   "64");
}

static void test_loader__bad_magic_rejected_not_elf(void **state)
{
	struct fixture *f = *state;
	struct img im;

	img_good(&im);
	memcpy(im.buf, "#!/b", 4);
	assert_int_equal(load_img(f, &im), -ENOEXEC);
	assert_err_path(f, " is not an ELF file (bad magic 23 21 2f 62, "
			   "expected 7f 45 4c 46)");
}

static void test_loader__elfclass32_rejected(void **state)
{
	struct fixture *f = *state;
	struct img im;

	img_good(&im);
	im.eh->e_ident[EI_CLASS] = ELFCLASS32;
	assert_int_equal(load_img(f, &im), -ENOEXEC);
	assert_err_path(f, " is a 32-bit ELF file (ELFCLASS32); nestvm runs "
			   "64-bit images (ELFCLASS64)");
}

static void test_loader__invalid_class_rejected(void **state)
{
	struct fixture *f = *state;
	struct img im;

	img_good(&im);
	im.eh->e_ident[EI_CLASS] = 7;
	assert_int_equal(load_img(f, &im), -ENOEXEC);
	assert_err_path(f, " has an invalid ELF class 7");
}

static void test_loader__big_endian_rejected(void **state)
{
	struct fixture *f = *state;
	struct img im;

	img_good(&im);
	im.eh->e_ident[EI_DATA] = ELFDATA2MSB;
	assert_int_equal(load_img(f, &im), -ENOEXEC);
	assert_err_path(f, " is big-endian (ELFDATA2MSB); x86-64 images are "
			   "little-endian (ELFDATA2LSB)");
}

static void test_loader__aarch64_rejected_naming_machine(void **state)
{
	struct fixture *f = *state;
	struct img im;

	img_good(&im);
	im.eh->e_machine = EM_AARCH64;
	assert_int_equal(load_img(f, &im), -ENOEXEC);
	assert_err_path(f, " is for AArch64 (e_machine 183), not x86-64 "
			   "(EM_X86_64)");
}

static void test_loader__unknown_machine_rejected_with_number(void **state)
{
	struct fixture *f = *state;
	struct img im;

	img_good(&im);
	im.eh->e_machine = 4242;
	assert_int_equal(load_img(f, &im), -ENOEXEC);
	assert_err_path(f, " is for another machine (e_machine 4242), not "
			   "x86-64 (EM_X86_64)");
}

static void test_loader__et_dyn_rejected_not_exec(void **state)
{
	struct fixture *f = *state;
	struct img im;

	img_good(&im);
	im.eh->e_type = ET_DYN;
	assert_int_equal(load_img(f, &im), -ENOEXEC);
	assert_err_path(f, " is a shared object or PIE (ET_DYN), not an "
			   "executable (ET_EXEC); link it with -static "
			   "-no-pie");
}

static void test_loader__et_rel_rejected_not_exec(void **state)
{
	struct fixture *f = *state;
	struct img im;

	img_good(&im);
	im.eh->e_type = ET_REL;
	assert_int_equal(load_img(f, &im), -ENOEXEC);
	assert_err_path(f, " is a relocatable object (ET_REL), not an "
			   "executable (ET_EXEC); link it with -static "
			   "-no-pie");
}

static void test_loader__bad_phentsize_rejected(void **state)
{
	struct fixture *f = *state;
	struct img im;

	img_good(&im);
	im.eh->e_phentsize = 32;
	assert_int_equal(load_img(f, &im), -ENOEXEC);
	assert_err_path(f, " has program headers of 32 bytes; ELF64 program "
			   "headers have 56");
}

static void test_loader__phdrs_past_end_of_file_rejected(void **state)
{
	struct fixture *f = *state;
	char want[ERRLEN];
	struct img im;

	img_good(&im);
	im.eh->e_phoff = im.size - 56; /* second entry runs past the end */
	assert_int_equal(load_img(f, &im), -ENOEXEC);
	snprintf(want, sizeof(want),
		 "'%s': program headers (offset 0x%zx, 2 entries) lie outside "
		 "the file (%zu bytes)",
		 f->path, im.size - 56, im.size);
	assert_string_equal(f->err, want);
}

static void test_loader__phoff_overflowing_rejected(void **state)
{
	struct fixture *f = *state;
	struct img im;

	img_good(&im);
	im.eh->e_phoff = UINT64_MAX - 8;
	assert_int_equal(load_img(f, &im), -ENOEXEC);
	assert_non_null(strstr(f->err, "lie outside the file"));
}

static void test_loader__filesz_over_memsz_rejected(void **state)
{
	struct fixture *f = *state;
	struct img im;

	img_good(&im);
	im.ph[1].p_memsz = 0x8;
	assert_int_equal(load_img(f, &im), -ENOEXEC);
	assert_err_path(f, ": segment 1 has p_filesz 0x10 larger than "
			   "p_memsz 0x8");
}

static void test_loader__segment_data_past_end_of_file_rejected(void **state)
{
	struct fixture *f = *state;
	char want[ERRLEN];
	struct img im;

	img_good(&im);
	im.ph[1].p_offset = im.size - 8;
	assert_int_equal(load_img(f, &im), -ENOEXEC);
	snprintf(want, sizeof(want),
		 "'%s': segment 1's data (offset 0x%zx, 0x10 bytes) lies "
		 "outside the file (%zu bytes)",
		 f->path, im.size - 8, im.size);
	assert_string_equal(f->err, want);
}

static void test_loader__segment_past_ram_rejected_with_ranges(void **state)
{
	struct fixture *f = *state;
	struct img im;

	img_good(&im);
	im.ph[1].p_paddr = im.ph[1].p_vaddr = MEM - 0x1000;
	assert_int_equal(load_img(f, &im), -ERANGE);
	assert_err_path(f, ": segment 1 [0x3fff000, 0x4002000) lies outside "
			   "guest RAM [0x0, 0x4000000); try a larger --mem");
}

static void test_loader__segment_wrapping_address_space_rejected(void **state)
{
	struct fixture *f = *state;
	struct img im;

	img_good(&im);
	im.ph[1].p_paddr = im.ph[1].p_vaddr = UINT64_MAX - 0xfff;
	assert_int_equal(load_img(f, &im), -ERANGE);
	assert_err_path(f, ": segment 1 [0xfffffffffffff000, "
			   "0xffffffffffffffff) lies outside guest RAM [0x0, "
			   "0x4000000); try a larger --mem");
}

static void test_loader__segment_in_boot_area_rejected(void **state)
{
	struct fixture *f = *state;
	struct img im;

	img_good(&im);
	im.ph[1].p_paddr = im.ph[1].p_vaddr = 0xff000;
	assert_int_equal(load_img(f, &im), -ERANGE);
	assert_err_path(f, ": segment 1 [0xff000, 0x102000) lies in the boot "
			   "area below 0x100000; load images at or above it");
}

static void test_loader__vaddr_not_paddr_rejected(void **state)
{
	struct fixture *f = *state;
	struct img im;

	img_good(&im);
	im.ph[1].p_vaddr = 0xffffffff80200000ull;
	assert_int_equal(load_img(f, &im), -ENOEXEC);
	assert_err_path(f, ": segment 1 has p_vaddr 0xffffffff80200000 != "
			   "p_paddr 0x200000; the boot page tables map "
			   "virtual = physical");
}

static void test_loader__overlapping_segments_rejected_naming_both(void **state)
{
	struct fixture *f = *state;
	struct img im;

	img_good(&im);
	img_add(&im, PT_LOAD, PF_R, 0x202000, 0x10, 0x2000, 0x11);
	assert_int_equal(load_img(f, &im), -ENOEXEC);
	assert_err_path(f, ": segments 1 [0x200000, 0x203000) and 2 "
			   "[0x202000, 0x204000) overlap at 0x202000");
}

static void test_loader__entry_outside_segments_rejected(void **state)
{
	struct fixture *f = *state;
	struct img im;

	img_good(&im);
	im.eh->e_entry = 0x100040; /* one past the code segment */
	assert_int_equal(load_img(f, &im), -ENOEXEC);
	assert_err_path(f, ": entry point 0x100040 is not inside an "
			   "executable PT_LOAD segment");
}

static void test_loader__entry_in_data_segment_rejected(void **state)
{
	struct fixture *f = *state;
	struct img im;

	img_good(&im);
	im.eh->e_entry = 0x200000;
	assert_int_equal(load_img(f, &im), -ENOEXEC);
	assert_err_path(f, ": entry point 0x200000 is not inside an "
			   "executable PT_LOAD segment");
}

static void test_loader__no_pt_load_rejected(void **state)
{
	struct fixture *f = *state;
	struct img im;

	img_init(&im, 0x100000);
	img_add(&im, PT_NOTE, PF_R, 0x100000, 0x10, 0x10, 0);
	assert_int_equal(load_img(f, &im), -ENOEXEC);
	assert_err_path(f, " has no PT_LOAD segment: nothing to load");
}

static void test_loader__failed_load_leaves_ram_untouched(void **state)
{
	struct fixture *f = *state;
	uint8_t *ram = vtx_hpa_ptr(f->m, 0, MEM);
	struct img im;

	/* Segment 0 is fine, segment 1 is not: nothing may be copied. */
	img_good(&im);
	im.ph[1].p_filesz = 0x4000;
	assert_int_equal(load_img(f, &im), -ENOEXEC);
	assert_int_equal(ram[0x100000], 0);
	assert_null(f->file.data);
}

/* ---- the boot contract --------------------------------------------------- */

struct boot_fixture {
	struct vtx_machine *m;
	struct vtx_cpu *cpu;
	struct boot_params bp;
	char err[ERRLEN];
};

static struct boot_fixture *boot_new(uint64_t mem)
{
	struct boot_fixture *b = calloc(1, sizeof(*b));
	struct vtx_machine_config cfg = { .arena_size = mem };

	assert_non_null(b);
	assert_int_equal(vtx_machine_create(&cfg, &b->m), 0);
	assert_int_equal(vtx_cpu_create(b->m, &b->cpu), 0);
	return b;
}

static void boot_free(struct boot_fixture *b)
{
	vtx_cpu_destroy(b->cpu);
	vtx_machine_destroy(b->m);
	free(b);
}

static void boot_build(struct boot_fixture *b, uint64_t mem,
		       const char *cmdline)
{
	assert_int_equal(boot_init_params(&b->bp, mem, 0x100123, 0x100000,
					  0x180800, cmdline, b->err,
					  sizeof(b->err)),
			 0);
	assert_int_equal(
		boot_write_memory(b->m, &b->bp, b->err, sizeof(b->err)), 0);
	assert_int_equal(boot_setup_cpu(b->cpu, &b->bp, b->err, sizeof(b->err)),
			 0);
}

static uint64_t read64(struct vtx_machine *m, uint64_t pa)
{
	uint64_t v = 0;

	assert_int_equal(vtx_hpa_read(m, pa, &v, sizeof(v)), 0);
	return v;
}

/*
 * Walks the 4-level tables from CR3 = BOOT_PML4 (SDM 4.5). Returns the
 * physical address va maps to, or UINT64_MAX if it is not mapped; *size
 * gets the page size. Every present entry must be RW, supervisor, NX clear.
 */
static uint64_t walk(struct vtx_machine *m, uint64_t va, uint64_t *size)
{
	uint64_t table = BOOT_PML4;

	for (int level = 4; level >= 1; level--) {
		unsigned int shift = PT_LEVEL_SHIFT(level);
		uint64_t e = read64(m, table + 8 * ((va >> shift) & 0x1ff));

		if (!(e & PTE_P))
			return UINT64_MAX;
		assert_true(e & PTE_RW);
		assert_false(e & PTE_US);
		assert_false(e & PTE_NX);
		if (level == 1 || (level <= 3 && (e & PTE_PS))) {
			assert_true(level != 3); /* no 1 GiB pages */
			*size = 1ull << shift;
			return (e & PTE_ADDR_MASK & ~(*size - 1)) |
			       (va & (*size - 1));
		}
		table = e & PTE_ADDR_MASK;
	}
	return UINT64_MAX;
}

static void test_boot__page_zero_not_present_rest_of_first_2m_4k(void **state)
{
	struct boot_fixture *b = boot_new(MEM);
	uint64_t size = 0;

	(void)state;
	boot_build(b, MEM, NULL);
	assert_int_equal(walk(b->m, 0, &size), UINT64_MAX);
	assert_int_equal(walk(b->m, 0xfff, &size), UINT64_MAX);
	assert_int_equal(walk(b->m, 0x1000, &size), 0x1000);
	assert_int_equal(size, KiB(4));
	assert_int_equal(walk(b->m, 0x1ffabc, &size), 0x1ffabc);
	assert_int_equal(size, KiB(4));
	assert_int_equal(read64(b->m, BOOT_PD_BASE), BOOT_PT0 | PTE_P | PTE_RW);
	boot_free(b);
}

static void test_boot__rest_of_ram_2m_pages_and_nothing_past(void **state)
{
	struct boot_fixture *b = boot_new(MEM);
	uint64_t size = 0;

	(void)state;
	boot_build(b, MEM, NULL);
	assert_int_equal(walk(b->m, 0x200000, &size), 0x200000);
	assert_int_equal(size, MiB(2));
	assert_int_equal(walk(b->m, MEM - 1, &size), MEM - 1);
	assert_int_equal(size, MiB(2));
	assert_int_equal(walk(b->m, MEM, &size), UINT64_MAX);
	/* Only the first GiB exists: one PDPT entry, one PML4 entry. */
	assert_int_equal(read64(b->m, BOOT_PML4), BOOT_PDPT | PTE_P | PTE_RW);
	assert_int_equal(read64(b->m, BOOT_PML4 + 8), 0);
	assert_int_equal(read64(b->m, BOOT_PDPT),
			 BOOT_PD_BASE | PTE_P | PTE_RW);
	assert_int_equal(read64(b->m, BOOT_PDPT + 8), 0);
	assert_int_equal(read64(b->m, BOOT_PD_BASE + 8 * 1),
			 0x200000 | PTE_P | PTE_RW | PTE_PS);
	assert_int_equal(read64(b->m, BOOT_PD_BASE + 8 * 32), 0);
	boot_free(b);
}

static void test_boot__ram_not_2m_multiple_tail_mapped_4k(void **state)
{
	uint64_t mem = MiB(4) + KiB(12);
	struct boot_fixture *b = boot_new(mem);
	uint64_t size = 0;

	(void)state;
	boot_build(b, mem, NULL);
	assert_int_equal(walk(b->m, MiB(2), &size), MiB(2));
	assert_int_equal(size, MiB(2));
	assert_int_equal(walk(b->m, MiB(4) + KiB(8), &size), MiB(4) + KiB(8));
	assert_int_equal(size, KiB(4));
	assert_int_equal(walk(b->m, mem, &size), UINT64_MAX);
	assert_int_equal(read64(b->m, BOOT_PD_BASE + 8 * 2),
			 BOOT_PT_TAIL | PTE_P | PTE_RW);
	boot_free(b);
}

static void test_boot__second_gib_gets_its_own_page_directory(void **state)
{
	uint64_t mem = GiB(1) + MiB(2);
	struct boot_fixture *b = boot_new(mem);
	uint64_t size = 0;

	(void)state;
	boot_build(b, mem, NULL);
	assert_int_equal(read64(b->m, BOOT_PDPT + 8),
			 (BOOT_PD_BASE + PAGE_SIZE) | PTE_P | PTE_RW);
	assert_int_equal(read64(b->m, BOOT_PDPT + 16), 0);
	assert_int_equal(walk(b->m, GiB(1) + 0x1234, &size), GiB(1) + 0x1234);
	assert_int_equal(size, MiB(2));
	assert_int_equal(walk(b->m, GiB(1) + MiB(2), &size), UINT64_MAX);
	assert_int_equal(walk(b->m, GiB(1) - 1, &size), GiB(1) - 1);
	boot_free(b);
}

static void test_boot__gdt_entries_and_tss_exact(void **state)
{
	struct boot_fixture *b = boot_new(MEM);
	uint64_t rsp0 = 0;
	uint16_t iomap = 0;

	(void)state;
	boot_build(b, MEM, NULL);
	assert_int_equal(read64(b->m, BOOT_GDT + 0x00), 0);
	/* G=1 L=1 P=1 DPL=0 S=1 type 0xb, limit 0xfffff */
	assert_int_equal(read64(b->m, BOOT_GDT + BOOT_SEL_CODE64),
			 0x00af9b000000ffffull);
	/* G=1 D/B=1 P=1 DPL=0 S=1 type 3 */
	assert_int_equal(read64(b->m, BOOT_GDT + BOOT_SEL_DATA),
			 0x00cf93000000ffffull);
	assert_int_equal(read64(b->m, BOOT_GDT + BOOT_SEL_CODE32),
			 0x00cf9b000000ffffull);
	/* Busy 64-bit TSS at 0x1800, limit 0x67, upper half base 63:32 = 0 */
	assert_int_equal(read64(b->m, BOOT_GDT + BOOT_SEL_TSS),
			 0x00008b0018000067ull);
	assert_int_equal(read64(b->m, BOOT_GDT + BOOT_SEL_TSS + 8), 0);
	assert_int_equal(vtx_hpa_read(b->m, BOOT_TSS + 4, &rsp0, 8), 0);
	assert_int_equal(rsp0, BOOT_STACK_TOP);
	assert_int_equal(vtx_hpa_read(b->m, BOOT_TSS + 0x66, &iomap, 2), 0);
	assert_int_equal(iomap, 0x68);
	boot_free(b);
}

static void test_boot__bootinfo_fields_and_cmdline(void **state)
{
	struct boot_fixture *b = boot_new(MEM);
	struct nestvm_bootinfo bi;
	char cmd[32] = { 0 };

	(void)state;
	boot_build(b, MEM, "console=ttyS0 x=1");
	assert_int_equal(vtx_hpa_read(b->m, BOOT_INFO, &bi, sizeof(bi)), 0);
	assert_int_equal(bi.magic, NESTVM_BOOTINFO_MAGIC);
	assert_int_equal(bi.version, NESTVM_BOOTINFO_VERSION);
	assert_int_equal(bi.nr_modules, 0);
	assert_int_equal(bi.mem_size, MEM);
	assert_int_equal(bi.cmdline, BOOT_INFO + 64);
	assert_int_equal(bi.modules, BOOT_INFO + 64 + NESTVM_CMDLINE_MAX);
	assert_int_equal(bi.free_start, 0x181000);
	assert_int_equal(bi.image_start, 0x100000);
	assert_int_equal(bi.image_end, 0x180800);
	assert_int_equal(vtx_hpa_read(b->m, bi.cmdline, cmd, sizeof(cmd)), 0);
	assert_string_equal(cmd, "console=ttyS0 x=1");
	boot_free(b);
}

static void test_boot__no_cmdline_gives_empty_string(void **state)
{
	struct boot_fixture *b = boot_new(MEM);
	char c = 'x';

	(void)state;
	boot_build(b, MEM, NULL);
	assert_int_equal(vtx_hpa_read(b->m, BOOT_CMDLINE, &c, 1), 0);
	assert_int_equal(c, '\0');
	boot_free(b);
}

static void test_boot__modules_placed_page_aligned_after_image(void **state)
{
	struct boot_fixture *b = boot_new(MEM);
	struct nestvm_boot_module mods[2];
	struct nestvm_bootinfo bi;
	uint64_t start = 0;

	(void)state;
	assert_int_equal(boot_init_params(&b->bp, MEM, 0x100000, 0x100000,
					  0x180800, NULL, b->err,
					  sizeof(b->err)),
			 0);
	assert_int_equal(boot_add_module(&b->bp, "dir/sub/l2.elf", 0x1001,
					 &start, b->err, sizeof(b->err)),
			 0);
	assert_int_equal(start, 0x181000);
	assert_int_equal(boot_add_module(&b->bp, "initrd", 10, &start, b->err,
					 sizeof(b->err)),
			 0);
	assert_int_equal(start, 0x183000);
	assert_int_equal(b->bp.free_start, 0x184000);
	assert_int_equal(
		boot_write_memory(b->m, &b->bp, b->err, sizeof(b->err)), 0);
	assert_int_equal(vtx_hpa_read(b->m, BOOT_INFO, &bi, sizeof(bi)), 0);
	assert_int_equal(bi.nr_modules, 2);
	assert_int_equal(bi.free_start, 0x184000);
	assert_int_equal(vtx_hpa_read(b->m, bi.modules, mods, sizeof(mods)), 0);
	assert_int_equal(mods[0].start, 0x181000);
	assert_int_equal(mods[0].size, 0x1001);
	assert_string_equal(mods[0].name, "l2.elf");
	assert_int_equal(mods[1].start, 0x183000);
	assert_int_equal(mods[1].size, 10);
	assert_string_equal(mods[1].name, "initrd");
	boot_free(b);
}

static void test_boot__long_module_name_truncated(void **state)
{
	struct boot_params bp;
	char name[100], err[ERRLEN];
	uint64_t start;

	(void)state;
	memset(name, 'n', sizeof(name) - 1);
	name[sizeof(name) - 1] = '\0';
	assert_int_equal(boot_init_params(&bp, MEM, 0x100000, 0x100000,
					  0x101000, NULL, err, sizeof(err)),
			 0);
	assert_int_equal(
		boot_add_module(&bp, name, 1, &start, err, sizeof(err)), 0);
	assert_int_equal(strlen(bp.modules[0].name),
			 NESTVM_MODULE_NAME_MAX - 1);
}

static void test_boot__module_not_fitting_fails_with_erange(void **state)
{
	struct boot_params bp;
	char err[ERRLEN];
	uint64_t start = 0;

	(void)state;
	assert_int_equal(boot_init_params(&bp, MiB(2), 0x100000, 0x100000,
					  0x1ff000, NULL, err, sizeof(err)),
			 0);
	assert_int_equal(
		boot_add_module(&bp, "m.bin", 0x1000, &start, err, sizeof(err)),
		0);
	assert_int_equal(
		boot_add_module(&bp, "big.bin", 1, &start, err, sizeof(err)),
		-ERANGE);
	assert_string_equal(err, "module 'big.bin' (1 bytes at 0x200000) does "
				 "not fit in guest RAM, which ends at "
				 "0x200000; try a larger --mem");
	assert_int_equal(bp.nr_modules, 1);
}

static void test_boot__seventeenth_module_fails_with_enospc(void **state)
{
	struct boot_params bp;
	char err[ERRLEN];
	uint64_t start;

	(void)state;
	assert_int_equal(boot_init_params(&bp, MEM, 0x100000, 0x100000,
					  0x101000, NULL, err, sizeof(err)),
			 0);
	for (unsigned int i = 0; i < NESTVM_MODULES_MAX; i++)
		assert_int_equal(
			boot_add_module(&bp, "m", 1, &start, err, sizeof(err)),
			0);
	assert_int_equal(boot_add_module(&bp, "m", 1, &start, err, sizeof(err)),
			 -ENOSPC);
	assert_string_equal(err, "too many modules: at most 16");
}

static void test_boot__bad_mem_sizes_fail_with_einval(void **state)
{
	static const uint64_t bad[] = { MiB(2) - PAGE_SIZE, MiB(64) + 1,
					GiB(64) + PAGE_SIZE, 0 };
	struct boot_params bp;
	char err[ERRLEN];

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++)
		assert_int_equal(boot_init_params(&bp, bad[i], 0x100000,
						  0x100000, 0x101000, NULL, err,
						  sizeof(err)),
				 -EINVAL);
	assert_int_equal(boot_init_params(&bp, MiB(2), 0x100000, 0x100000,
					  0x101000, NULL, err, sizeof(err)),
			 0);
}

static void test_boot__cmdline_of_2048_bytes_fails_with_e2big(void **state)
{
	char cmd[NESTVM_CMDLINE_MAX + 1], err[ERRLEN];
	struct boot_params bp;

	(void)state;
	memset(cmd, 'c', NESTVM_CMDLINE_MAX);
	cmd[NESTVM_CMDLINE_MAX] = '\0';
	assert_int_equal(boot_init_params(&bp, MEM, 0x100000, 0x100000,
					  0x101000, cmd, err, sizeof(err)),
			 -E2BIG);
	assert_string_equal(err, "command line of 2048 bytes is too long (at "
				 "most 2047)");
	cmd[NESTVM_CMDLINE_MAX - 1] = '\0';
	assert_int_equal(boot_init_params(&bp, MEM, 0x100000, 0x100000,
					  0x101000, cmd, err, sizeof(err)),
			 0);
}

static void test_boot__image_past_ram_fails_with_erange(void **state)
{
	struct boot_params bp;
	char err[ERRLEN];

	(void)state;
	assert_int_equal(boot_init_params(&bp, MiB(2), 0x100000, 0x100000,
					  0x201000, NULL, err, sizeof(err)),
			 -ERANGE);
	assert_string_equal(err, "image [0x100000, 0x201000) does not fit "
				 "guest RAM [0x100000, 0x200000)");
}

static void test_boot__arena_smaller_than_ram_fails(void **state)
{
	struct boot_fixture *b = boot_new(MiB(4));

	(void)state;
	assert_int_equal(boot_init_params(&b->bp, MiB(8), 0x100000, 0x100000,
					  0x101000, NULL, b->err,
					  sizeof(b->err)),
			 0);
	assert_int_equal(
		boot_write_memory(b->m, &b->bp, b->err, sizeof(b->err)),
		-EINVAL);
	assert_string_equal(b->err, "machine memory (4194304 bytes) is "
				    "smaller than guest RAM (8388608 bytes)");
	boot_free(b);
}

static void assert_flat_segment(const struct kvm_segment *s, uint16_t sel,
				uint8_t type, uint8_t l, uint8_t db)
{
	assert_int_equal(s->selector, sel);
	assert_int_equal(s->base, 0);
	assert_int_equal(s->limit, 0xffffffff);
	assert_int_equal(s->type, type);
	assert_int_equal(s->present, 1);
	assert_int_equal(s->dpl, 0);
	assert_int_equal(s->s, 1);
	assert_int_equal(s->l, l);
	assert_int_equal(s->db, db);
	assert_int_equal(s->g, 1);
	assert_int_equal(s->unusable, 0);
}

static void test_boot__vcpu_registers_match_contract(void **state)
{
	struct boot_fixture *b = boot_new(MEM);
	struct kvm_regs r;

	(void)state;
	boot_build(b, MEM, NULL);
	assert_int_equal(vtx_cpu_get_regs(b->cpu, &r), 0);
	assert_int_equal(r.rip, 0x100123);
	assert_int_equal(r.rsp, BOOT_STACK_TOP);
	assert_int_equal(r.rdi, BOOT_INFO);
	assert_int_equal(r.rflags, 0x2);
	assert_int_equal(r.rax | r.rbx | r.rcx | r.rdx | r.rsi | r.rbp, 0);
	assert_int_equal(r.r8 | r.r9 | r.r10 | r.r11, 0);
	assert_int_equal(r.r12 | r.r13 | r.r14 | r.r15, 0);
	boot_free(b);
}

static void test_boot__vcpu_sregs_match_contract(void **state)
{
	struct boot_fixture *b = boot_new(MEM);
	struct kvm_sregs s;

	(void)state;
	boot_build(b, MEM, NULL);
	assert_int_equal(vtx_cpu_get_sregs(b->cpu, &s), 0);
	assert_flat_segment(&s.cs, BOOT_SEL_CODE64, 0xb, 1, 0);
	assert_flat_segment(&s.ds, BOOT_SEL_DATA, 0x3, 0, 1);
	assert_flat_segment(&s.es, BOOT_SEL_DATA, 0x3, 0, 1);
	assert_flat_segment(&s.fs, BOOT_SEL_DATA, 0x3, 0, 1);
	assert_flat_segment(&s.gs, BOOT_SEL_DATA, 0x3, 0, 1);
	assert_flat_segment(&s.ss, BOOT_SEL_DATA, 0x3, 0, 1);
	assert_int_equal(s.tr.selector, BOOT_SEL_TSS);
	assert_int_equal(s.tr.base, BOOT_TSS);
	assert_int_equal(s.tr.limit, 0x67);
	assert_int_equal(s.tr.type, 11);
	assert_int_equal(s.tr.present, 1);
	assert_int_equal(s.tr.s, 0);
	assert_int_equal(s.tr.g, 0);
	assert_int_equal(s.ldt.unusable, 1);
	assert_int_equal(s.gdt.base, BOOT_GDT);
	assert_int_equal(s.gdt.limit, 0x2f);
	assert_int_equal(s.idt.base, 0);
	assert_int_equal(s.idt.limit, 0);
	/* PE|MP|ET|NE|WP|PG */
	assert_int_equal(s.cr0, 0x80010033);
	assert_int_equal(s.cr2, 0);
	assert_int_equal(s.cr3, BOOT_PML4);
	assert_int_equal(s.cr4, 0x20);
	/* LME|LMA|NXE */
	assert_int_equal(s.efer, 0xd00);
	boot_free(b);
}

#define LOADER_TEST(t) cmocka_unit_test_setup_teardown(t, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		LOADER_TEST(
			test_loader__good_image_copies_segments_and_zeroes_bss),
		LOADER_TEST(
			test_loader__segments_out_of_order_sorted_by_address),
		LOADER_TEST(test_loader__empty_pt_load_and_other_types_ignored),
		LOADER_TEST(test_loader__missing_file_fails_with_enoent),
		LOADER_TEST(test_loader__directory_fails_with_eisdir),
		LOADER_TEST(test_loader__device_file_fails_not_regular),
		LOADER_TEST(test_loader__file_over_max_size_fails_with_efbig),
		LOADER_TEST(test_loader__empty_file_rejected),
		LOADER_TEST(test_loader__three_bytes_rejected_as_truncated),
		LOADER_TEST(test_loader__truncated_header_rejected),
		LOADER_TEST(test_loader__bad_magic_rejected_not_elf),
		LOADER_TEST(test_loader__elfclass32_rejected),
		LOADER_TEST(test_loader__invalid_class_rejected),
		LOADER_TEST(test_loader__big_endian_rejected),
		LOADER_TEST(test_loader__aarch64_rejected_naming_machine),
		LOADER_TEST(test_loader__unknown_machine_rejected_with_number),
		LOADER_TEST(test_loader__et_dyn_rejected_not_exec),
		LOADER_TEST(test_loader__et_rel_rejected_not_exec),
		LOADER_TEST(test_loader__bad_phentsize_rejected),
		LOADER_TEST(test_loader__phdrs_past_end_of_file_rejected),
		LOADER_TEST(test_loader__phoff_overflowing_rejected),
		LOADER_TEST(test_loader__filesz_over_memsz_rejected),
		LOADER_TEST(
			test_loader__segment_data_past_end_of_file_rejected),
		LOADER_TEST(test_loader__segment_past_ram_rejected_with_ranges),
		LOADER_TEST(
			test_loader__segment_wrapping_address_space_rejected),
		LOADER_TEST(test_loader__segment_in_boot_area_rejected),
		LOADER_TEST(test_loader__vaddr_not_paddr_rejected),
		LOADER_TEST(
			test_loader__overlapping_segments_rejected_naming_both),
		LOADER_TEST(test_loader__entry_outside_segments_rejected),
		LOADER_TEST(test_loader__entry_in_data_segment_rejected),
		LOADER_TEST(test_loader__no_pt_load_rejected),
		LOADER_TEST(test_loader__failed_load_leaves_ram_untouched),
		cmocka_unit_test(
			test_boot__page_zero_not_present_rest_of_first_2m_4k),
		cmocka_unit_test(
			test_boot__rest_of_ram_2m_pages_and_nothing_past),
		cmocka_unit_test(test_boot__ram_not_2m_multiple_tail_mapped_4k),
		cmocka_unit_test(
			test_boot__second_gib_gets_its_own_page_directory),
		cmocka_unit_test(test_boot__gdt_entries_and_tss_exact),
		cmocka_unit_test(test_boot__bootinfo_fields_and_cmdline),
		cmocka_unit_test(test_boot__no_cmdline_gives_empty_string),
		cmocka_unit_test(
			test_boot__modules_placed_page_aligned_after_image),
		cmocka_unit_test(test_boot__long_module_name_truncated),
		cmocka_unit_test(
			test_boot__module_not_fitting_fails_with_erange),
		cmocka_unit_test(
			test_boot__seventeenth_module_fails_with_enospc),
		cmocka_unit_test(test_boot__bad_mem_sizes_fail_with_einval),
		cmocka_unit_test(
			test_boot__cmdline_of_2048_bytes_fails_with_e2big),
		cmocka_unit_test(test_boot__image_past_ram_fails_with_erange),
		cmocka_unit_test(test_boot__arena_smaller_than_ram_fails),
		cmocka_unit_test(test_boot__vcpu_registers_match_contract),
		cmocka_unit_test(test_boot__vcpu_sregs_match_contract),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
