/* SPDX-License-Identifier: MIT */
/*
 * The multiboot (v1) loader (l0/multiboot.c) and the 0x8900 shutdown port
 * (l0/dev/bochs_shutdown.c): ELF32 images built in memory with one bad
 * field each, the information block read back from guest RAM, the entry
 * state read back from the vCPU. Host side.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <elf.h>
#include <errno.h>
#include <string.h>

#include "arch/x86_regs.h"
#include "l0/dev/bochs_shutdown.h"
#include "l0/multiboot.h"
#include "vtx/vtx.h"

#define IMG_SIZE 0x4000
#define IMG_TEXT_OFF 0x1000
#define IMG_PADDR 0x100000u
#define ERR_LEN 256

struct img {
	uint8_t b[IMG_SIZE];
	Elf32_Ehdr *eh;
	Elf32_Phdr *ph;
};

static void put_header(struct img *im, uint32_t off, uint32_t flags)
{
	uint32_t h[3] = { MULTIBOOT_HEADER_MAGIC, flags,
			  -(MULTIBOOT_HEADER_MAGIC + flags) };

	memcpy(im->b + off, h, sizeof(h));
}

/* An ELF32 kernel: one R+X PT_LOAD at 1 MiB with 0x20 bytes of file data
 * and 0x2000 of memory (BSS after them), the header at its start. */
static void img_build(struct img *im)
{
	memset(im, 0, sizeof(*im));
	im->eh = (Elf32_Ehdr *)im->b;
	im->ph = (Elf32_Phdr *)(im->b + sizeof(Elf32_Ehdr));
	memcpy(im->eh->e_ident, ELFMAG, SELFMAG);
	im->eh->e_ident[EI_CLASS] = ELFCLASS32;
	im->eh->e_ident[EI_DATA] = ELFDATA2LSB;
	im->eh->e_ident[EI_VERSION] = EV_CURRENT;
	im->eh->e_type = ET_EXEC;
	im->eh->e_machine = EM_386;
	im->eh->e_version = EV_CURRENT;
	im->eh->e_entry = IMG_PADDR + 12;
	im->eh->e_phoff = sizeof(Elf32_Ehdr);
	im->eh->e_ehsize = sizeof(Elf32_Ehdr);
	im->eh->e_phentsize = sizeof(Elf32_Phdr);
	im->eh->e_phnum = 1;
	im->ph->p_type = PT_LOAD;
	im->ph->p_offset = IMG_TEXT_OFF;
	im->ph->p_vaddr = IMG_PADDR;
	im->ph->p_paddr = IMG_PADDR;
	im->ph->p_filesz = 0x20;
	im->ph->p_memsz = 0x2000;
	im->ph->p_flags = PF_R | PF_X;
	put_header(im, IMG_TEXT_OFF,
		   MULTIBOOT_PAGE_ALIGN | MULTIBOOT_MEMORY_INFO);
	memset(im->b + IMG_TEXT_OFF + 12, 0x90, 0x14);
}

static int img_parse(struct img *im, struct loader_elf *elf, char *err)
{
	return multiboot_parse_elf("k.elf", im->b, sizeof(im->b), MiB(16), elf,
				   err, ERR_LEN);
}

static void test_multiboot__valid_image_parses_with_bss(void **state)
{
	struct img im;
	struct loader_elf elf;
	char err[ERR_LEN] = "";

	(void)state;
	img_build(&im);
	assert_true(multiboot_is_elf32(im.b, sizeof(im.b)));
	assert_int_equal(img_parse(&im, &elf, err), 0);
	assert_int_equal(elf.nr_segs, 1);
	assert_int_equal(elf.entry, IMG_PADDR + 12);
	assert_int_equal(elf.start, IMG_PADDR);
	assert_int_equal(elf.end, IMG_PADDR + 0x2000);
	assert_int_equal(elf.segs[0].filesz, 0x20);
	assert_int_equal(elf.segs[0].memsz, 0x2000);
}

static void test_multiboot__elf64_is_not_multiboot(void **state)
{
	struct img im;

	(void)state;
	img_build(&im);
	im.b[EI_CLASS] = ELFCLASS64;
	assert_false(multiboot_is_elf32(im.b, sizeof(im.b)));
	assert_false(multiboot_is_elf32(im.b, 4));
}

static void test_multiboot__bad_checksum_is_refused(void **state)
{
	struct img im;
	struct loader_elf elf;
	char err[ERR_LEN] = "";

	(void)state;
	img_build(&im);
	im.b[IMG_TEXT_OFF + 8]++;
	assert_int_equal(img_parse(&im, &elf, err), -ENOEXEC);
	assert_string_equal(err, "'k.elf': the multiboot header at offset "
				 "0x1000 has a bad checksum");
}

static void test_multiboot__video_mode_flag_is_refused(void **state)
{
	struct img im;
	struct loader_elf elf;
	char err[ERR_LEN] = "";

	(void)state;
	img_build(&im);
	put_header(&im, IMG_TEXT_OFF, MULTIBOOT_VIDEO_MODE);
	assert_int_equal(img_parse(&im, &elf, err), -ENOEXEC);
	assert_string_equal(err, "'k.elf': the multiboot header asks for a "
				 "video mode (flag 2), which nestvm does not "
				 "provide");
}

static void test_multiboot__unknown_required_flag_is_refused(void **state)
{
	struct img im;
	struct loader_elf elf;
	char err[ERR_LEN] = "";

	(void)state;
	img_build(&im);
	put_header(&im, IMG_TEXT_OFF, MULTIBOOT_PAGE_ALIGN | (1u << 5));
	assert_int_equal(img_parse(&im, &elf, err), -ENOEXEC);
	assert_string_equal(err, "'k.elf': the multiboot header requires "
				 "features nestvm does not know (flags "
				 "0x00000020)");
}

static void test_multiboot__aout_kludge_is_refused(void **state)
{
	struct img im;
	struct loader_elf elf;
	char err[ERR_LEN] = "";

	(void)state;
	img_build(&im);
	put_header(&im, IMG_TEXT_OFF, MULTIBOOT_AOUT_KLUDGE);
	assert_int_equal(img_parse(&im, &elf, err), -ENOEXEC);
	assert_non_null(strstr(err, "(flag 16)"));
}

static void test_multiboot__header_past_8k_is_not_found(void **state)
{
	struct img im;
	struct loader_elf elf;
	char err[ERR_LEN] = "";

	(void)state;
	img_build(&im);
	memset(im.b + IMG_TEXT_OFF, 0, 12);
	put_header(&im, MULTIBOOT_SEARCH, 0);
	assert_int_equal(img_parse(&im, &elf, err), -ENOEXEC);
	assert_string_equal(
		err, "'k.elf' is a 32-bit ELF file (ELFCLASS32) without a "
		     "multiboot header in its first 8192 bytes; "
		     "nestvm boots 64-bit ELF images and "
		     "multiboot kernels");
}

static void test_multiboot__segment_below_1m_is_refused(void **state)
{
	struct img im;
	struct loader_elf elf;
	char err[ERR_LEN] = "";

	(void)state;
	img_build(&im);
	im.ph->p_paddr = 0x8000;
	assert_int_equal(img_parse(&im, &elf, err), -ERANGE);
	assert_string_equal(err, "'k.elf': segment 0 [0x8000, 0xa000) lies in "
				 "the boot area below 0x100000; load kernels "
				 "at or above it");
}

static void test_multiboot__virtual_entry_moves_to_physical(void **state)
{
	struct img im;
	struct loader_elf elf;
	char err[ERR_LEN] = "";

	(void)state;
	img_build(&im);
	im.ph->p_vaddr = 0xc0100000u;
	im.eh->e_entry = 0xc010000cu;
	assert_int_equal(img_parse(&im, &elf, err), 0);
	assert_int_equal(elf.entry, IMG_PADDR + 12);
}

static void test_multiboot__entry_outside_text_is_refused(void **state)
{
	struct img im;
	struct loader_elf elf;
	char err[ERR_LEN] = "";

	(void)state;
	img_build(&im);
	im.eh->e_entry = IMG_PADDR + 0x3000;
	assert_int_equal(img_parse(&im, &elf, err), -ENOEXEC);
	assert_string_equal(err, "'k.elf': entry point 0x103000 is not inside "
				 "an executable PT_LOAD segment");
}

struct mb_machine {
	struct vtx_machine *m;
	struct vtx_cpu *cpu;
};

static int mb_setup(void **state)
{
	static struct mb_machine mm;
	struct vtx_machine_config cfg = { .arena_size = MiB(16) };

	if (vtx_machine_create(&cfg, &mm.m) || vtx_cpu_create(mm.m, &mm.cpu))
		return -1;
	*state = &mm;
	return 0;
}

static int mb_teardown(void **state)
{
	struct mb_machine *mm = *state;

	vtx_machine_destroy(mm->m);
	return 0;
}

static void test_multiboot__load_zeroes_bss(void **state)
{
	struct mb_machine *mm = *state;
	struct img im;
	struct loader_elf elf;
	char err[ERR_LEN] = "";
	uint8_t *ram = vtx_hpa_ptr(mm->m, IMG_PADDR, 0x2000);

	img_build(&im);
	memset(ram, 0xaa, 0x2000);
	assert_int_equal(img_parse(&im, &elf, err), 0);
	assert_int_equal(loader_copy_elf(mm->m, &elf, err, ERR_LEN), 0);
	assert_int_equal(ram[0x1f], 0x90);
	assert_int_equal(ram[0x20], 0);
	assert_int_equal(ram[0x1fff], 0);
}

static void
test_multiboot__info_block_lists_memory_cmdline_modules_mmap(void **state)
{
	struct mb_machine *mm = *state;
	struct boot_params bp;
	const char *names[] = { "initrd.img arg" };
	char err[ERR_LEN] = "";
	uint64_t mod;
	struct multiboot_info mbi;
	struct multiboot_module m0;
	struct multiboot_mmap_entry e[4];

	assert_int_equal(boot_init_params(&bp, MiB(16), IMG_PADDR + 12,
					  IMG_PADDR, IMG_PADDR + 0x2345,
					  "console=ttyS0 x=1", err, ERR_LEN),
			 0);
	assert_int_equal(
		boot_add_module(&bp, "initrd.img", 100, &mod, err, ERR_LEN), 0);
	assert_int_equal(mod, IMG_PADDR + 0x3000);
	assert_int_equal(multiboot_write_memory(mm->m, &bp, "k.elf", names, err,
						ERR_LEN),
			 0);
	assert_int_equal(vtx_hpa_read(mm->m, MB_INFO_ADDR, &mbi, sizeof(mbi)),
			 0);
	assert_int_equal(mbi.flags, 0x24d);
	assert_int_equal(mbi.mem_lower, 639);
	assert_int_equal(mbi.mem_upper, 15 * 1024);
	assert_string_equal((char *)vtx_hpa_ptr(mm->m, mbi.cmdline, 1),
			    "k.elf console=ttyS0 x=1");
	assert_string_equal((char *)vtx_hpa_ptr(mm->m, mbi.boot_loader_name, 1),
			    "nestvm");
	assert_int_equal(mbi.mods_count, 1);
	assert_int_equal(vtx_hpa_read(mm->m, mbi.mods_addr, &m0, sizeof(m0)),
			 0);
	assert_int_equal(m0.mod_start, IMG_PADDR + 0x3000);
	assert_int_equal(m0.mod_end, IMG_PADDR + 0x3000 + 100);
	assert_string_equal((char *)vtx_hpa_ptr(mm->m, m0.string, 1),
			    "initrd.img arg");
	assert_int_equal(mbi.mmap_length, 4 * sizeof(e[0]));
	assert_int_equal(vtx_hpa_read(mm->m, mbi.mmap_addr, e, sizeof(e)), 0);
	assert_int_equal(e[0].size, 20);
	assert_int_equal(e[0].addr, 0);
	assert_int_equal(e[0].len, 0x9fc00);
	assert_int_equal(e[0].type, MULTIBOOT_MEMORY_AVAILABLE);
	assert_int_equal(e[2].addr, 0xf0000);
	assert_int_equal(e[2].type, MULTIBOOT_MEMORY_RESERVED);
	assert_int_equal(e[3].addr, MiB(1));
	assert_int_equal(e[3].len, MiB(15));
	assert_int_equal(e[3].type, MULTIBOOT_MEMORY_AVAILABLE);
}

static void test_multiboot__entry_state_is_32bit_protected_mode(void **state)
{
	struct mb_machine *mm = *state;
	struct boot_params bp;
	struct kvm_regs regs;
	struct kvm_sregs sregs;
	char err[ERR_LEN] = "";

	assert_int_equal(boot_init_params(&bp, MiB(16), IMG_PADDR + 12,
					  IMG_PADDR, IMG_PADDR + 0x2000, NULL,
					  err, ERR_LEN),
			 0);
	assert_int_equal(multiboot_setup_cpu(mm->cpu, &bp, err, ERR_LEN), 0);
	assert_int_equal(vtx_cpu_get_regs(mm->cpu, &regs), 0);
	assert_int_equal(vtx_cpu_get_sregs(mm->cpu, &sregs), 0);
	assert_int_equal(regs.rip, IMG_PADDR + 12);
	assert_int_equal(regs.rax, MULTIBOOT_BOOTLOADER_MAGIC);
	assert_int_equal(regs.rbx, MB_INFO_ADDR);
	assert_int_equal(regs.rflags, X86_EFLAGS_FIXED);
	assert_int_equal(sregs.cr0, X86_CR0_PE | X86_CR0_ET);
	assert_int_equal(sregs.cr4, 0);
	assert_int_equal(sregs.efer, 0);
	assert_int_equal(sregs.cs.selector, MB_SEL_CODE);
	assert_int_equal(sregs.cs.db, 1);
	assert_int_equal(sregs.cs.l, 0);
	assert_int_equal(sregs.cs.limit, 0xffffffffu);
	assert_int_equal(sregs.ss.selector, MB_SEL_DATA);
	assert_int_equal(sregs.ss.db, 1);
	assert_int_equal(sregs.ds.base, 0);
	assert_int_equal(sregs.gdt.base, MB_GDT_ADDR);
}

static int feed(struct bochs_shutdown *d, const char *s)
{
	int ret = IO_DONE;

	for (; *s; s++) {
		struct io_access io = { .port = BOCHS_SHUTDOWN_BASE,
					.size = 1,
					.dir = IO_WRITE,
					.data = (uint8_t)*s };

		ret = bochs_shutdown_access(d, &io);
		if (ret == IO_STOP && s[1])
			return -1; /* stopped too early */
	}
	return ret;
}

static void test_bochs_shutdown__word_stops_the_machine(void **state)
{
	struct bochs_shutdown d;

	(void)state;
	bochs_shutdown_init(&d);
	assert_int_equal(feed(&d, "Shutdow"), IO_DONE);
	assert_false(d.done);
	assert_int_equal(feed(&d, "n"), IO_STOP);
	assert_true(d.done);
}

static void test_bochs_shutdown__wrong_byte_restarts_the_match(void **state)
{
	struct bochs_shutdown d;

	(void)state;
	bochs_shutdown_init(&d);
	assert_int_equal(feed(&d, "ShutXdown"), IO_DONE);
	assert_false(d.done);
	assert_int_equal(feed(&d, "SShutdown"), IO_STOP);
	assert_true(d.done);
}

static void test_bochs_shutdown__reads_return_all_ones(void **state)
{
	struct bochs_shutdown d;
	struct io_access io = { .port = BOCHS_SHUTDOWN_BASE,
				.size = 1,
				.dir = IO_READ };

	(void)state;
	bochs_shutdown_init(&d);
	assert_int_equal(bochs_shutdown_access(&d, &io), IO_DONE);
	assert_int_equal(io.data, 0xffffffffu);
	assert_int_equal(d.matched, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_multiboot__valid_image_parses_with_bss),
		cmocka_unit_test(test_multiboot__elf64_is_not_multiboot),
		cmocka_unit_test(test_multiboot__bad_checksum_is_refused),
		cmocka_unit_test(test_multiboot__video_mode_flag_is_refused),
		cmocka_unit_test(
			test_multiboot__unknown_required_flag_is_refused),
		cmocka_unit_test(test_multiboot__aout_kludge_is_refused),
		cmocka_unit_test(test_multiboot__header_past_8k_is_not_found),
		cmocka_unit_test(test_multiboot__segment_below_1m_is_refused),
		cmocka_unit_test(
			test_multiboot__virtual_entry_moves_to_physical),
		cmocka_unit_test(test_multiboot__entry_outside_text_is_refused),
		cmocka_unit_test_setup_teardown(test_multiboot__load_zeroes_bss,
						mb_setup, mb_teardown),
		cmocka_unit_test_setup_teardown(
			test_multiboot__info_block_lists_memory_cmdline_modules_mmap,
			mb_setup, mb_teardown),
		cmocka_unit_test_setup_teardown(
			test_multiboot__entry_state_is_32bit_protected_mode,
			mb_setup, mb_teardown),
		cmocka_unit_test(test_bochs_shutdown__word_stops_the_machine),
		cmocka_unit_test(
			test_bochs_shutdown__wrong_byte_restarts_the_match),
		cmocka_unit_test(test_bochs_shutdown__reads_return_all_ones),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
