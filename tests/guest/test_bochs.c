/* SPDX-License-Identifier: MIT */
/*
 * Whole-stack tests of the Bochs path (docs/bochs.md): the disk images
 * build/mkbochsimg writes (header, boot contract, memory ranges) and its
 * errors, then guest images run under Bochs by tools/bochs-run, whose
 * console output must be byte for byte what nestvm prints. The Bochs runs
 * are skipped when Debian's bochs is not installed. Host side; run from the
 * top of the tree.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <elf.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "arch/bootinfo.h"
#include "tests/lib/run_cmd.h"
#include "tools/bochs/bochsimg.h"

#ifndef MKBOCHSIMG_DEFAULT_PATH
#define MKBOCHSIMG_DEFAULT_PATH "build/mkbochsimg"
#endif
#define MKBOCHSIMG MKBOCHSIMG_DEFAULT_PATH
#define BOCHS_RUN "tools/bochs-run"
#define NESTVM "build/nestvm"
#define HELLO "build/guests/hello.elf"
#define ALU "build/guests/tests/alu.elf"
#define TB_TIMEOUT_S 120
#ifdef TEST_BOCHS_NO_BOCHS
#define TB_WITH_BOCHS 0 /* the sanitizer variant: mkbochsimg alone */
#else
#define TB_WITH_BOCHS 1
#endif
#define TB_ARGS_MAX 24

/* Bochs' flat-image geometry: whole cylinders of 16 heads x 63 sectors. */
#define TB_CYLINDER_BYTES (16 * 63 * 512)

static char tb_dir[256];
static char tb_disk[300];

/* ---- helpers ------------------------------------------------------------- */

static uint8_t *tb_read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf = NULL;
	long size;

	if (!f)
		return NULL;
	if (fseek(f, 0, SEEK_END) || (size = ftell(f)) < 0 ||
	    fseek(f, 0, SEEK_SET))
		goto out;
	buf = malloc((size_t)size + 1);
	if (!buf)
		goto out;
	if (fread(buf, 1, (size_t)size, f) != (size_t)size) {
		free(buf);
		buf = NULL;
		goto out;
	}
	buf[size] = 0;
	*len = (size_t)size;
out:
	fclose(f);
	return buf;
}

static bool tb_exists(const char *path)
{
	struct stat st;

	return !stat(path, &st);
}

/* Runs argv (NULL-terminated) and returns its result in *res. */
static void tb_run(const char *const argv[], struct cmd_result *res)
{
	int ret = run_cmd((char *const *)argv, TB_TIMEOUT_S, res);

	if (ret)
		fail_msg("cannot run %s (%s): build it and run from the top of "
			 "the tree",
			 argv[0], strerror(-ret));
}

/* "mkbochsimg IMAGE <flags...> -o tb_disk"; flags ends with NULL. */
static void tb_mkbochsimg(const char *image, const char *const flags[],
			  struct cmd_result *res)
{
	const char *argv[TB_ARGS_MAX] = { MKBOCHSIMG, image };
	size_t n = 2;

	for (size_t i = 0; flags[i]; i++) {
		assert_true(n < TB_ARGS_MAX - 3);
		argv[n++] = flags[i];
	}
	argv[n++] = "-o";
	argv[n++] = tb_disk;
	argv[n] = NULL;
	unlink(tb_disk);
	tb_run(argv, res);
}

/* The same flags for nestvm and bochs-run: PROG [run --native] flags IMAGE */
static void tb_run_guest(const char *prog, const char *image,
			 const char *const flags[], struct cmd_result *res)
{
	const char *argv[TB_ARGS_MAX] = { prog };
	size_t n = 1;

	if (!strcmp(prog, NESTVM)) {
		argv[n++] = "run";
		argv[n++] = "--native";
	}
	for (size_t i = 0; flags[i]; i++) {
		assert_true(n < TB_ARGS_MAX - 2);
		argv[n++] = flags[i];
	}
	argv[n++] = image;
	argv[n] = NULL;
	tb_run(argv, res);
}

static bool tb_on_path(const char *name)
{
	const char *path = getenv("PATH");
	char buf[512];

	while (path && *path) {
		size_t len = strcspn(path, ":");

		snprintf(buf, sizeof(buf), "%.*s/%s", (int)len, path, name);
		if (len && !access(buf, X_OK))
			return true;
		path += len + (path[len] == ':');
	}
	return false;
}

/* Skips the calling test, with the reason, when Bochs cannot run here. */
static void tb_need_bochs(void)
{
	if (!TB_WITH_BOCHS) {
		print_message("[ SKIP ] the sanitizer variant checks "
			      "mkbochsimg only\n");
		skip();
	}
	if (!tb_on_path("bochs-bin") ||
	    !tb_exists("/usr/share/bochs/BIOS-bochs-latest")) {
		print_message("[ SKIP ] bochs-bin or its BIOS is not installed "
			      "(Debian: bochs bochsbios vgabios)\n");
		skip();
	}
}

/* An ELF64 file's entry point and its PT_LOAD program headers. */
struct tb_elf {
	uint8_t *data;
	size_t len;
	const Elf64_Ehdr *eh;
	const Elf64_Phdr *ph;
};

static void tb_elf_open(const char *path, struct tb_elf *e)
{
	e->data = tb_read_file(path, &e->len);
	assert_non_null(e->data);
	assert_true(e->len >= sizeof(Elf64_Ehdr));
	e->eh = (const Elf64_Ehdr *)e->data;
	assert_memory_equal(e->eh->e_ident, ELFMAG, SELFMAG);
	assert_true(e->eh->e_phoff +
			    (uint64_t)e->eh->e_phnum * sizeof(Elf64_Phdr) <=
		    e->len);
	e->ph = (const Elf64_Phdr *)(e->data + e->eh->e_phoff);
}

/* A symbol's value from the ELF symbol table; fails the test if absent. */
static uint64_t tb_elf_symbol(const struct tb_elf *e, const char *sym)
{
	const Elf64_Shdr *sh = (const Elf64_Shdr *)(e->data + e->eh->e_shoff);

	assert_true(e->eh->e_shoff + (uint64_t)e->eh->e_shnum * sizeof(*sh) <=
		    e->len);
	for (unsigned int i = 0; i < e->eh->e_shnum; i++) {
		const Elf64_Shdr *str = &sh[sh[i].sh_link];
		const Elf64_Sym *s;

		if (sh[i].sh_type != SHT_SYMTAB ||
		    sh[i].sh_link >= e->eh->e_shnum)
			continue;
		assert_true(sh[i].sh_offset + sh[i].sh_size <= e->len);
		assert_true(str->sh_offset + str->sh_size <= e->len);
		s = (const Elf64_Sym *)(e->data + sh[i].sh_offset);
		for (size_t k = 0; k < sh[i].sh_size / sizeof(*s); k++) {
			const char *name;

			if (s[k].st_name >= str->sh_size)
				continue;
			name = (const char *)e->data + str->sh_offset +
			       s[k].st_name;
			if (memchr(name, 0, str->sh_size - s[k].st_name) &&
			    !strcmp(name, sym))
				return s[k].st_value;
		}
	}
	fail_msg("no symbol %s", sym);
	return 0;
}

/* A guest-physical address inside a range of the disk image. */
static const uint8_t *tb_disk_at(const uint8_t *disk, size_t len,
				 const struct bochsimg_header *h, uint64_t gpa,
				 uint64_t size)
{
	for (unsigned int i = 0; i < h->nr_ranges; i++) {
		const struct bochsimg_range *r = &h->ranges[i];
		uint64_t end = r->dest + (uint64_t)r->sectors * 512;

		if (gpa >= r->dest && gpa + size <= end) {
			uint64_t off = (uint64_t)r->lba * 512 + (gpa - r->dest);

			assert_true(off + size <= len);
			return disk + off;
		}
	}
	fail_msg("guest-physical 0x%llx is in no range of the image",
		 (unsigned long long)gpa);
	return NULL;
}

static void tb_assert_no_output_file(void)
{
	if (tb_exists(tb_disk))
		fail_msg("%s was left behind", tb_disk);
}

static int tb_group_setup(void **state)
{
	const char *tmp = getenv("TMPDIR");

	(void)state;
	snprintf(tb_dir, sizeof(tb_dir), "%s/test_bochs.XXXXXX",
		 tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(tb_dir))
		return -1;
	snprintf(tb_disk, sizeof(tb_disk), "%s/disk.img", tb_dir);
	/* bochs-run finds the mkbochsimg this variant built. */
	return setenv("MKBOCHSIMG", MKBOCHSIMG, 1);
}

static int tb_group_teardown(void **state)
{
	(void)state;
	unlink(tb_disk);
	rmdir(tb_dir);
	return 0;
}

static int tb_setup_result(void **state)
{
	*state = calloc(2, sizeof(struct cmd_result));
	return *state ? 0 : -1;
}

static int tb_teardown_result(void **state)
{
	struct cmd_result *res = *state;

	cmd_result_free(&res[0]);
	cmd_result_free(&res[1]);
	free(res);
	return 0;
}

/* ---- mkbochsimg ---------------------------------------------------------- */

static void test_mkbochsimg__hello_64m_header_holds_boot_contract(void **state)
{
	static const char *const flags[] = { NULL };
	struct cmd_result *res = *state;
	const struct bochsimg_header *h;
	const struct nestvm_bootinfo *bi;
	const uint64_t *gdt;
	struct tb_elf elf;
	uint32_t link_addr;
	uint8_t *disk;
	size_t len;

	tb_mkbochsimg(HELLO, flags, res);
	assert_string_equal(res->err, "");
	assert_int_equal(res->exit_code, 0);
	disk = tb_read_file(tb_disk, &len);
	assert_non_null(disk);
	tb_elf_open(HELLO, &elf);

	/* Boot sector, loader link address, whole cylinders. */
	assert_int_equal(len % TB_CYLINDER_BYTES, 0);
	assert_int_equal(disk[510], 0x55);
	assert_int_equal(disk[511], 0xaa);
	memcpy(&link_addr, disk + 506, 4);
	assert_int_equal(link_addr, 0x90000);

	/* The CPU state of docs/boot.md, "CPU state at entry". */
	h = (const struct bochsimg_header *)(disk + 16 * 512);
	assert_memory_equal(h, "NVBOCHS1", 8);
	assert_int_equal(h->version, 1);
	assert_int_equal(h->nr_ranges, 2);
	assert_int_equal(h->rip, elf.eh->e_entry);
	assert_int_equal(h->rsp, 0x100000);
	assert_int_equal(h->rdi, 0x50000);
	assert_int_equal(h->rflags, 0x2);
	assert_int_equal(h->cr0, 0x80010033);
	assert_int_equal(h->cr3, 0x2000);
	assert_int_equal(h->cr4, 0x20);
	assert_int_equal(h->efer, 0xd00);
	assert_int_equal(h->gdt_base, 0x1000);
	assert_int_equal(h->gdt_limit, 0x2f);
	assert_int_equal(h->idt_base, 0);
	assert_int_equal(h->idt_limit, 0);
	assert_int_equal(h->sel_cs, 0x08);
	assert_int_equal(h->sel_ss, 0x10);
	assert_int_equal(h->sel_ds, 0x10);
	assert_int_equal(h->sel_es, 0x10);
	assert_int_equal(h->sel_fs, 0x10);
	assert_int_equal(h->sel_gs, 0x10);
	assert_int_equal(h->sel_tr, 0x20);
	assert_int_equal(h->flags, 0);

	/* The boot area right after the header, then the image. */
	assert_int_equal(h->ranges[0].dest, 0x1000);
	assert_int_equal(h->ranges[0].lba, 17);
	assert_int_equal(h->ranges[0].sectors, (0x60000 - 0x1000) / 512);
	assert_int_equal(h->ranges[1].dest, 0x100000);
	assert_int_equal(h->ranges[1].lba, 17 + (0x60000 - 0x1000) / 512);
	assert_int_equal(h->ranges[1].sectors,
			 (h->free_start - 0x100000) / 512);
	assert_int_equal(len % 512, 0);
	assert_true(len >=
		    ((uint64_t)h->ranges[1].lba + h->ranges[1].sectors) * 512);

	/* The boot-info block and GDT as nestvm writes them. */
	bi = (const struct nestvm_bootinfo *)tb_disk_at(disk, len, h, 0x50000,
							sizeof(*bi));
	assert_int_equal(bi->magic, 0x6f666e69746f6f62ull);
	assert_int_equal(bi->version, 1);
	assert_int_equal(bi->mem_size, 64 << 20);
	assert_int_equal(bi->nr_modules, 0);
	assert_int_equal(bi->image_start, 0x100000);
	assert_int_equal(bi->free_start, h->free_start);
	assert_int_equal(h->free_start % 4096, 0);
	gdt = (const uint64_t *)tb_disk_at(disk, len, h, 0x1000, 48);
	assert_int_equal(gdt[1], 0x00af9b000000ffffull);
	assert_int_equal(gdt[2], 0x00cf93000000ffffull);
	assert_int_equal(gdt[4], 0x00008b0018000067ull);
	assert_int_equal(gdt[5], 0);

	/* Bochs' BIOS dirties only the top of RAM; the stack's top page
	 * holds the last step. */
	assert_int_equal(h->zero_start, (64 << 20) - (1 << 20));
	assert_int_equal(h->zero_end, 64 << 20);
	assert_int_equal(h->trampoline, 0xff000);

	/* Every loaded segment byte for byte at its physical address. */
	for (unsigned int i = 0; i < elf.eh->e_phnum; i++) {
		const Elf64_Phdr *p = &elf.ph[i];

		if (p->p_type != PT_LOAD || !p->p_filesz)
			continue;
		assert_memory_equal(
			tb_disk_at(disk, len, h, p->p_paddr, p->p_filesz),
			elf.data + p->p_offset, p->p_filesz);
	}
	free(elf.data);
	free(disk);
}

static void test_mkbochsimg__append_module_check_zero_reach_image(void **state)
{
	static const char *const flags[] = { "--mem",	     "16M",
					     "--append",     "a b",
					     "--module",     ALU,
					     "--check-zero", NULL };
	struct cmd_result *res = *state;
	const struct nestvm_boot_module *mod;
	const struct bochsimg_header *h;
	const struct nestvm_bootinfo *bi;
	uint8_t *disk, *alu;
	size_t len, alu_len;

	tb_mkbochsimg(HELLO, flags, res);
	assert_string_equal(res->err, "");
	assert_int_equal(res->exit_code, 0);
	disk = tb_read_file(tb_disk, &len);
	alu = tb_read_file(ALU, &alu_len);
	assert_non_null(disk);
	assert_non_null(alu);
	h = (const struct bochsimg_header *)(disk + 16 * 512);

	assert_int_equal(h->flags, BOCHSIMG_F_CHECK_ZERO);
	assert_int_equal(h->zero_end, 16 << 20);
	assert_int_equal(h->zero_start, 15 << 20);
	bi = (const struct nestvm_bootinfo *)tb_disk_at(disk, len, h, 0x50000,
							sizeof(*bi));
	assert_int_equal(bi->mem_size, 16 << 20);
	assert_string_equal(
		(const char *)tb_disk_at(disk, len, h, bi->cmdline, 4), "a b");
	assert_int_equal(bi->nr_modules, 1);
	mod = (const struct nestvm_boot_module *)tb_disk_at(
		disk, len, h, bi->modules, sizeof(*mod));
	assert_string_equal(mod->name, "alu.elf");
	assert_int_equal(mod->size, alu_len);
	assert_int_equal(mod->start, (bi->image_end + 4095) & ~4095ull);
	assert_int_equal(h->free_start,
			 (mod->start + alu_len + 4095) & ~4095ull);
	assert_memory_equal(tb_disk_at(disk, len, h, mod->start, alu_len), alu,
			    alu_len);
	free(alu);
	free(disk);
}

static void test_mkbochsimg__mem_3g_fails_with_one_line_no_file(void **state)
{
	static const char *const flags[] = { "--mem", "3G", NULL };
	struct cmd_result *res = *state;

	tb_mkbochsimg(HELLO, flags, res);
	assert_string_equal(res->err,
			    "mkbochsimg: --mem: bad size '3G' (a multiple of "
			    "4 KiB from 2M to 2G, the most Bochs 2.7 gives)\n");
	assert_int_equal(res->exit_code, 1);
	assert_string_equal(res->out, "");
	tb_assert_no_output_file();
}

static void test_mkbochsimg__missing_image_fails_with_one_line(void **state)
{
	static const char *const flags[] = { NULL };
	struct cmd_result *res = *state;

	tb_mkbochsimg("build/guests/no-such-guest.elf", flags, res);
	assert_string_equal(res->err,
			    "mkbochsimg: cannot open "
			    "'build/guests/no-such-guest.elf': No such file "
			    "or directory\n");
	assert_int_equal(res->exit_code, 1);
	tb_assert_no_output_file();
}

static void test_mkbochsimg__no_output_fails_with_one_line(void **state)
{
	static const char *const argv[] = { MKBOCHSIMG, HELLO, NULL };
	struct cmd_result *res = *state;

	tb_run(argv, res);
	assert_string_equal(res->err, "mkbochsimg: no output given: -o "
				      "DISK.img (see --help)\n");
	assert_int_equal(res->exit_code, 1);
}

static void test_bochs_run__unknown_flag_exits_125_with_one_line(void **state)
{
	static const char *const argv[] = { BOCHS_RUN, HELLO, "--bogus", NULL };
	struct cmd_result *res = *state;

	tb_run(argv, res);
	assert_string_equal(res->err,
			    "bochs-run: unknown flag '--bogus' (see --help)\n");
	assert_string_equal(res->out, "");
	assert_int_equal(res->exit_code, 125);
}

/* ---- guests under Bochs against nestvm ----------------------------------- */

/* Runs image under nestvm (res[0]) and Bochs (res[1]) with the same flags;
 * both must print the same bytes and exit with status. */
static void tb_expect_same_as_nestvm(struct cmd_result *res, const char *image,
				     const char *const flags[],
				     const char *const bochs_flags[],
				     int status)
{
	const char *all[TB_ARGS_MAX];
	size_t n = 0;

	tb_run_guest(NESTVM, image, flags, &res[0]);
	/* Well inside TB_TIMEOUT_S, so that bochs-run, not the test, stops
	 * a guest that never shuts Bochs down, and cleans up after it. */
	all[n++] = "--timeout";
	all[n++] = "30";
	for (size_t i = 0; flags[i]; i++)
		all[n++] = flags[i];
	for (size_t i = 0; bochs_flags[i]; i++)
		all[n++] = bochs_flags[i];
	all[n] = NULL;
	tb_run_guest(BOCHS_RUN, image, all, &res[1]);
	if (strcmp(res[0].out, res[1].out) || res[1].exit_code != status)
		print_message("[ nestvm ]\n%s[ bochs-run ]\n%s[ stderr ]\n%s",
			      res[0].out, res[1].out, res[1].err);
	assert_int_equal(res[0].exit_code, status);
	assert_int_equal(res[1].out_len, res[0].out_len);
	assert_memory_equal(res[1].out, res[0].out, res[0].out_len);
	assert_string_equal(res[1].err, "");
	assert_int_equal(res[1].exit_code, status);
}

static void test_bochs__hello_prints_what_nestvm_prints(void **state)
{
	static const char *const flags[] = { "--mem", "32M", "--append",
					     "under bochs", NULL };
	static const char *const none[] = { NULL };

	tb_need_bochs();
	tb_expect_same_as_nestvm(*state, HELLO, flags, none, 0);
	assert_non_null(strstr(((struct cmd_result *)*state)[1].out,
			       "memory: 32 MiB\ncmdline: \"under bochs\"\n"));
}

static void test_bochs__alu_prints_what_nestvm_prints(void **state)
{
	static const char *const flags[] = { NULL };

	tb_need_bochs();
	tb_expect_same_as_nestvm(*state, ALU, flags, flags, 0);
}

static void test_bochs__exit_code_reports_guest_status_42(void **state)
{
	static const char *const flags[] = { "--mem", "16M", "--append", "42",
					     NULL };
	static const char *const bochs_flags[] = { "--exit-code", NULL };

	tb_need_bochs();
	tb_expect_same_as_nestvm(*state, "build/guests/tests/exitcode.elf",
				 flags, bochs_flags, 42);
}

static void test_bochs__triple_fault_exits_126_naming_rip(void **state)
{
	static const char *const image = "build/guests/tests/triple.elf";
	static const char *const flags[] = { "--mem", "16M", "--timeout", "30",
					     NULL };
	struct cmd_result *res = *state;
	struct tb_elf elf;
	char want[128];

	tb_need_bochs();
	tb_elf_open(image, &elf);
	snprintf(want, sizeof(want),
		 "bochs-run: the guest triple-faulted at RIP 0x%llx (Bochs: ",
		 (unsigned long long)tb_elf_symbol(&elf, "triple_ud2"));
	free(elf.data);
	tb_run_guest(BOCHS_RUN, image, flags, res);
	if (strncmp(res->err, want, strlen(want)))
		print_message("[ want ]\n%s...\n[ got ]\n%s", want, res->err);
	assert_int_equal(strncmp(res->err, want, strlen(want)), 0);
	assert_non_null(strchr(res->err, '\n'));
	assert_string_equal(strchr(res->err, '\n'), "\n");
	assert_int_equal(res->exit_code, 126);
}

int main(void)
{
#define TB_TEST(f) \
	cmocka_unit_test_setup_teardown(f, tb_setup_result, tb_teardown_result)
	const struct CMUnitTest tests[] = {
		TB_TEST(test_mkbochsimg__hello_64m_header_holds_boot_contract),
		TB_TEST(test_mkbochsimg__append_module_check_zero_reach_image),
		TB_TEST(test_mkbochsimg__mem_3g_fails_with_one_line_no_file),
		TB_TEST(test_mkbochsimg__missing_image_fails_with_one_line),
		TB_TEST(test_mkbochsimg__no_output_fails_with_one_line),
		TB_TEST(test_bochs_run__unknown_flag_exits_125_with_one_line),
		TB_TEST(test_bochs__hello_prints_what_nestvm_prints),
		TB_TEST(test_bochs__alu_prints_what_nestvm_prints),
		TB_TEST(test_bochs__exit_code_reports_guest_status_42),
		TB_TEST(test_bochs__triple_fault_exits_126_naming_rip),
	};
#undef TB_TEST

	return cmocka_run_group_tests(tests, tb_group_setup, tb_group_teardown);
}
