/* SPDX-License-Identifier: MIT */
/*
 * test_cli - the nestvm command line end to end: runs the nestvm binary on
 * bad flags and bad images (made in a temporary directory) and checks the
 * exit status, the single "nestvm: ..." line on stderr and the empty
 * stdout; --help, --version, the crash report; and, once the CPU model
 * runs guests, exit codes, serial output and how runs stop.
 * Host side, tests only. Usage: test_cli [path/to/nestvm]; the NESTVM and
 * NESTVM_HELLO environment variables override the default paths.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <elf.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "tests/lib/run_cmd.h"

#ifndef NESTVM_DEFAULT_PATH
#define NESTVM_DEFAULT_PATH "build/nestvm"
#endif
#define HELLO_DEFAULT_PATH "build/guests/hello.elf"
#define L1_SHIM_PATH "build/l1-shim.elf"
#define NANO_PATH "build/guests/bench/nano.elf"

#define EXIT_CANNOT_RUN 125
#define TIMEOUT_S 30
#define MAX_ARGS 64

static const char *nestvm_path = NESTVM_DEFAULT_PATH;
static const char *hello_path = HELLO_DEFAULT_PATH;
static char tmpdir[256];

/* ---- tiny ELF images ----------------------------------------------------- */

struct img {
	uint8_t buf[0x3000];
	size_t size;
	Elf64_Ehdr *eh;
	Elf64_Phdr *ph;
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
	im->size = 0x1000;
}

static void img_add(struct img *im, uint32_t flags, uint64_t paddr,
		    const void *data, uint64_t filesz, uint64_t memsz)
{
	Elf64_Phdr *ph = &im->ph[im->eh->e_phnum++];

	assert_true(im->size + filesz <= sizeof(im->buf));
	ph->p_type = PT_LOAD;
	ph->p_flags = flags;
	ph->p_offset = im->size;
	ph->p_vaddr = paddr;
	ph->p_paddr = paddr;
	ph->p_filesz = filesz;
	ph->p_memsz = memsz;
	ph->p_align = 0x1000;
	if (data)
		memcpy(im->buf + im->size, data, filesz);
	im->size += filesz;
}

/* mov al, 42; out 0xf4, al; jmp $ */
static const uint8_t code_exit42[] = { 0xb0, 0x2a, 0xe6, 0xf4, 0xeb, 0xfe };

/* A guest whose code is the given bytes at 1 MiB, plus a data segment. */
static void img_code(struct img *im, const void *code, size_t len)
{
	img_init(im, 0x100000);
	img_add(im, PF_R | PF_X, 0x100000, code, len, len);
	img_add(im, PF_R | PF_W, 0x101000, "data", 4, 0x1000);
}

static char *tmp_path(const char *name)
{
	static char paths[8][320];
	static unsigned int next;
	char *p = paths[next++ % 8];

	snprintf(p, sizeof(paths[0]), "%s/%s", tmpdir, name);
	return p;
}

static char *write_tmp(const char *name, const void *data, size_t len)
{
	char *path = tmp_path(name);
	FILE *fp = fopen(path, "wb");

	assert_non_null(fp);
	if (len)
		assert_int_equal(fwrite(data, 1, len, fp), len);
	assert_int_equal(fclose(fp), 0);
	return path;
}

static char *write_img(const char *name, const struct img *im)
{
	return write_tmp(name, im->buf, im->size);
}

/* ---- running nestvm ------------------------------------------------------ */

/* Runs nestvm with the NULL-terminated arguments. */
static struct cmd_result run(const char *first, ...)
{
	char *argv[MAX_ARGS];
	struct cmd_result res;
	const char *a;
	va_list ap;
	int n = 0;

	argv[n++] = (char *)nestvm_path;
	va_start(ap, first);
	for (a = first; a; a = va_arg(ap, const char *)) {
		assert_true(n < MAX_ARGS - 1);
		argv[n++] = (char *)a;
	}
	va_end(ap);
	argv[n] = NULL;
	assert_int_equal(run_cmd(argv, TIMEOUT_S, &res), 0);
	return res;
}

static unsigned int count_lines(const char *s)
{
	unsigned int n = 0;

	for (; *s; s++)
		n += *s == '\n';
	return n;
}

/*
 * The error contract: exit status 125, nothing on stdout, and stderr
 * exactly one line "nestvm: ..." containing every key word given.
 */
static void assert_error(struct cmd_result *res, ...)
{
	const char *word;
	va_list ap;

	if (res->exit_code != EXIT_CANNOT_RUN || res->signaled)
		print_error("stderr was: %s\n", res->err);
	assert_false(res->signaled);
	assert_int_equal(res->exit_code, EXIT_CANNOT_RUN);
	assert_string_equal(res->out, "");
	assert_int_equal(strncmp(res->err, "nestvm: ", 8), 0);
	assert_int_equal(count_lines(res->err), 1);
	assert_int_equal(res->err[res->err_len - 1], '\n');
	va_start(ap, res);
	while ((word = va_arg(ap, const char *))) {
		if (!strstr(res->err, word))
			print_error("'%s' not in: %s", word, res->err);
		assert_non_null(strstr(res->err, word));
	}
	va_end(ap);
	cmd_result_free(res);
}

/* Runs `nestvm run --native FILE` on image and expects an error. */
static struct cmd_result run_img(const struct img *im)
{
	return run("run", "--native", write_img("bad.elf", im), NULL);
}

/* ---- help, version, flags ------------------------------------------------ */

static void test_cli__help_lists_every_flag_and_exits_0(void **state)
{
	static const char *const flags[] = {
		"run",	       "--native",
		"--mem",       "--append",
		"--module",    "--serial",
		"stdio",       "none",
		"file:PATH",   "--qemu-exit-codes",
		"--max-insns", "--stats",
		"--timeout",   "-h",
		"--help",      "--version",
		"124",	       "125",
		"126",
	};
	struct cmd_result res = run("--help", NULL);

	(void)state;
	assert_int_equal(res.exit_code, 0);
	assert_string_equal(res.err, "");
	for (size_t i = 0; i < sizeof(flags) / sizeof(flags[0]); i++) {
		if (!strstr(res.out, flags[i]))
			print_error("help lacks %s\n", flags[i]);
		assert_non_null(strstr(res.out, flags[i]));
	}
	cmd_result_free(&res);
}

static void test_cli__short_h_after_command_prints_help(void **state)
{
	struct cmd_result res = run("run", "-h", NULL);

	(void)state;
	assert_int_equal(res.exit_code, 0);
	assert_int_equal(
		strncmp(res.out, "usage: nestvm run [--native] IMAGE", 34), 0);
	cmd_result_free(&res);
}

static void test_cli__version_prints_name_and_version(void **state)
{
	struct cmd_result res = run("--version", NULL);

	(void)state;
	assert_int_equal(res.exit_code, 0);
	assert_string_equal(res.out, "nestvm 0.1.0\n");
	assert_string_equal(res.err, "");
	cmd_result_free(&res);
}

static void test_cli__no_arguments_fails_with_usage_hint(void **state)
{
	struct cmd_result res = run(NULL);

	(void)state;
	assert_error(&res, "no command given", "nestvm run [--native] IMAGE",
		     NULL);
}

static void test_cli__unknown_command_fails(void **state)
{
	struct cmd_result res = run("launch", NULL);

	(void)state;
	assert_error(&res, "unknown command 'launch'", NULL);
}

/* Without --native, run is the nested level: the image is L1 under L0,
 * and it is read and checked the same way. */
static void test_cli__run_without_level_is_nested_and_reads_image(void **state)
{
	struct cmd_result res = run("run", tmp_path("nope.elf"), NULL);

	(void)state;
	assert_error(&res, "cannot open", "nope.elf", NULL);
}

static void test_cli__run_without_image_fails(void **state)
{
	struct cmd_result res = run("run", "--native", NULL);

	(void)state;
	assert_error(&res, "no IMAGE", NULL);
}

static void test_cli__unknown_flag_fails_naming_it(void **state)
{
	struct cmd_result res = run("run", "--native", "--bogus", "x", NULL);

	(void)state;
	assert_error(&res, "unknown flag '--bogus'", NULL);
}

static void test_cli__flag_without_argument_fails(void **state)
{
	struct cmd_result res = run("run", "--native", "x.elf", "--mem", NULL);

	(void)state;
	assert_error(&res, "--mem needs an argument", NULL);
}

static void test_cli__flag_with_unexpected_value_fails(void **state)
{
	struct cmd_result res = run("run", "--native=yes", "x.elf", NULL);

	(void)state;
	assert_error(&res, "--native takes no argument", NULL);
}

static void test_cli__bad_sizes_fail(void **state)
{
	static const char *const bad[] = {
		"3X", "1M", "65G", "4097", "", "64MB", "-1", "0x1000", "1.5G",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct cmd_result res =
			run("run", "--native", "x.elf", "--mem", bad[i], NULL);

		assert_error(&res, "--mem: bad size", NULL);
	}
}

static void test_cli__bad_serial_value_fails(void **state)
{
	struct cmd_result res =
		run("run", "--native", "x.elf", "--serial", "tcp:1234", NULL);

	(void)state;
	assert_error(&res, "--serial: bad value 'tcp:1234'", NULL);
}

static void test_cli__bad_max_insns_fails(void **state)
{
	struct cmd_result res =
		run("run", "--native", "x.elf", "--max-insns=0", NULL);

	(void)state;
	assert_error(&res, "--max-insns: bad count '0'", NULL);
	res = run("run", "--native", "x.elf", "--max-insns", "ten", NULL);
	assert_error(&res, "--max-insns: bad count 'ten'", NULL);
}

/* Every flag that takes one of a set of words, a count or an output path:
 * a bad value is one error line and status 125 before anything runs. */
static void test_cli__bad_value_of_each_flag_fails(void **state)
{
	static const struct {
		const char *flag, *value, *says;
	} bad[] = {
		{ "--profile", "nosuch",
		  "--profile: no shipped profile named "
		  "'nosuch'" },
		{ "--prep", "half", "--prep: bad mode 'half'" },
		{ "--vmcs-access", "none",
		  "--vmcs-access: bad strategy 'none'" },
		{ "--mmu", "tdp", "--mmu: bad mode 'tdp'" },
		{ "--ept-coherence", "lazy",
		  "--ept-coherence: bad mode 'lazy'" },
		{ "--trace-limit", "-1", "--trace-limit: bad count '-1'" },
		{ "--json", "/nonexistent/d/x.json",
		  "--json: cannot create '/nonexistent/d/x.json'" },
		{ "--trace", "/nonexistent/d/x",
		  "--trace: cannot create '/nonexistent/d/x'" },
		{ "--trace-json", "/nonexistent/d/x",
		  "--trace-json: cannot create '/nonexistent/d/x'" },
		{ "--nested-state-out", "/nonexistent/d/x",
		  "--nested-state-out: cannot create '/nonexistent/d/x'" },
		{ "--nested-state-out", "/",
		  "--nested-state-out: '/' is a "
		  "directory" },
	};

	(void)state;
	for (size_t k = 0; k < sizeof(bad) / sizeof(bad[0]); k++) {
		struct cmd_result res =
			run("run", bad[k].flag, bad[k].value, hello_path, NULL);

		assert_error(&res, bad[k].says, NULL);
	}
}

static void test_cli__two_images_fail(void **state)
{
	struct cmd_result res = run("run", "--native", "a.elf", "b.elf", NULL);

	(void)state;
	assert_error(&res, "more than one IMAGE", "'a.elf'", "'b.elf'", NULL);
}

static void test_cli__append_of_2048_bytes_fails(void **state)
{
	char arg[2049];
	struct cmd_result res;

	(void)state;
	memset(arg, 'a', 2048);
	arg[2048] = '\0';
	res = run("run", "--native", "x.elf", "--append", arg, NULL);
	assert_error(&res, "--append", "2048 bytes", "2047", NULL);
}

static void test_cli__seventeen_modules_fail(void **state)
{
	struct cmd_result res;

	(void)state;
	res = run("run", "--native", "x.elf", "--module", "m", "--module", "m",
		  "--module", "m", "--module", "m", "--module", "m", "--module",
		  "m", "--module", "m", "--module", "m", "--module", "m",
		  "--module", "m", "--module", "m", "--module", "m", "--module",
		  "m", "--module", "m", "--module", "m", "--module", "m",
		  "--module", "m", NULL);
	assert_error(&res, "too many modules", "16", NULL);
}

/* ---- bad images ---------------------------------------------------------- */

static void test_cli__missing_image_fails_with_strerror(void **state)
{
	struct cmd_result res =
		run("run", "--native", tmp_path("nope.elf"), NULL);

	(void)state;
	assert_error(&res, "cannot open", "nope.elf",
		     "No such file or directory", NULL);
}

static void test_cli__directory_image_fails_unreadable(void **state)
{
	struct cmd_result res = run("run", "--native", tmpdir, NULL);

	(void)state;
	assert_error(&res, "cannot read", "Is a directory", NULL);
}

static void test_cli__empty_image_fails(void **state)
{
	struct cmd_result res =
		run("run", "--native", write_tmp("empty.elf", "", 0), NULL);

	(void)state;
	assert_error(&res, "empty.elf' is empty", NULL);
}

static void test_cli__truncated_image_fails(void **state)
{
	struct img im;
	struct cmd_result res;

	(void)state;
	img_code(&im, code_exit42, sizeof(code_exit42));
	res = run("run", "--native", write_tmp("short.elf", im.buf, 20), NULL);
	assert_error(&res, "truncated", "20 bytes", NULL);
}

static void test_cli__not_elf_fails_bad_magic(void **state)
{
	struct cmd_result res =
		run("run", "--native",
		    write_tmp("text.elf", "hello world\n", 12), NULL);

	(void)state;
	assert_error(&res, "not an ELF file", "bad magic 68 65 6c 6c", NULL);
}

static void test_cli__elfclass32_fails(void **state)
{
	struct cmd_result res;
	struct img im;

	(void)state;
	img_code(&im, code_exit42, sizeof(code_exit42));
	im.eh->e_ident[EI_CLASS] = ELFCLASS32;
	res = run_img(&im);
	assert_error(&res, "32-bit", "ELFCLASS32", NULL);
}

static void test_cli__big_endian_fails(void **state)
{
	struct cmd_result res;
	struct img im;

	(void)state;
	img_code(&im, code_exit42, sizeof(code_exit42));
	im.eh->e_ident[EI_DATA] = ELFDATA2MSB;
	res = run_img(&im);
	assert_error(&res, "big-endian", "ELFDATA2MSB", NULL);
}

static void test_cli__wrong_machine_fails_naming_it(void **state)
{
	struct cmd_result res;
	struct img im;

	(void)state;
	img_code(&im, code_exit42, sizeof(code_exit42));
	im.eh->e_machine = EM_RISCV;
	res = run_img(&im);
	assert_error(&res, "RISC-V", "e_machine 243", "EM_X86_64", NULL);
}

static void test_cli__not_et_exec_fails(void **state)
{
	struct cmd_result res;
	struct img im;

	(void)state;
	img_code(&im, code_exit42, sizeof(code_exit42));
	im.eh->e_type = ET_DYN;
	res = run_img(&im);
	assert_error(&res, "ET_DYN", "ET_EXEC", NULL);
}

static void test_cli__program_headers_outside_file_fail(void **state)
{
	struct cmd_result res;
	struct img im;

	(void)state;
	img_code(&im, code_exit42, sizeof(code_exit42));
	im.eh->e_phoff = 0x100000;
	res = run_img(&im);
	assert_error(&res, "program headers", "outside the file", NULL);
}

static void test_cli__filesz_over_memsz_fails(void **state)
{
	struct cmd_result res;
	struct img im;

	(void)state;
	img_code(&im, code_exit42, sizeof(code_exit42));
	im.ph[1].p_memsz = 2;
	res = run_img(&im);
	assert_error(&res, "segment 1", "p_filesz 0x4", "p_memsz 0x2", NULL);
}

static void test_cli__segment_outside_ram_fails_with_ranges(void **state)
{
	struct cmd_result res;
	struct img im;

	(void)state;
	img_code(&im, code_exit42, sizeof(code_exit42));
	im.ph[1].p_paddr = im.ph[1].p_vaddr = 0x300000;
	res = run("run", "--native", write_img("big.elf", &im), "--mem", "2M",
		  NULL);
	assert_error(&res, "segment 1 [0x300000, 0x301000)",
		     "outside guest RAM [0x0, 0x200000)", NULL);
}

static void test_cli__segment_in_boot_area_fails(void **state)
{
	struct cmd_result res;
	struct img im;

	(void)state;
	img_code(&im, code_exit42, sizeof(code_exit42));
	im.ph[1].p_paddr = im.ph[1].p_vaddr = 0x50000;
	res = run_img(&im);
	assert_error(&res, "segment 1 [0x50000, 0x51000)", "boot area",
		     "0x100000", NULL);
}

static void test_cli__overlapping_segments_fail_naming_both(void **state)
{
	struct cmd_result res;
	struct img im;

	(void)state;
	img_code(&im, code_exit42, sizeof(code_exit42));
	im.ph[1].p_paddr = im.ph[1].p_vaddr = 0x100004;
	res = run_img(&im);
	assert_error(&res, "segments 0 [0x100000, 0x100006)",
		     "1 [0x100004, 0x101004)", "overlap at 0x100004", NULL);
}

static void test_cli__entry_outside_executable_segment_fails(void **state)
{
	struct cmd_result res;
	struct img im;

	(void)state;
	img_code(&im, code_exit42, sizeof(code_exit42));
	im.eh->e_entry = 0x101000;
	res = run_img(&im);
	assert_error(&res, "entry point 0x101000",
		     "not inside an executable PT_LOAD segment", NULL);
}

static void test_cli__no_pt_load_fails(void **state)
{
	struct cmd_result res;
	struct img im;

	(void)state;
	img_code(&im, code_exit42, sizeof(code_exit42));
	im.ph[0].p_type = PT_NOTE;
	im.ph[1].p_type = PT_NOTE;
	res = run_img(&im);
	assert_error(&res, "no PT_LOAD segment", NULL);
}

static void test_cli__missing_module_fails(void **state)
{
	struct cmd_result res;
	struct img im;

	(void)state;
	img_code(&im, code_exit42, sizeof(code_exit42));
	res = run("run", "--native", write_img("ok.elf", &im), "--module",
		  tmp_path("nomod.bin"), NULL);
	assert_error(&res, "cannot open", "nomod.bin",
		     "No such file or directory", NULL);
}

static void test_cli__module_larger_than_ram_fails(void **state)
{
	static uint8_t blob[0x201000];
	struct cmd_result res;
	struct img im;

	(void)state;
	img_code(&im, code_exit42, sizeof(code_exit42));
	res = run("run", "--native", write_img("ok.elf", &im), "--mem", "2M",
		  "--module", write_tmp("huge.bin", blob, sizeof(blob)), NULL);
	assert_error(&res, "module", "huge.bin", "does not fit", NULL);
}

static void test_cli__module_past_end_of_ram_fails(void **state)
{
	static uint8_t blob[0xff000];
	struct cmd_result res;
	struct img im;

	(void)state;
	/* The image ends at 0x102000, RAM at 0x200000: 0xfe000 bytes left. */
	img_code(&im, code_exit42, sizeof(code_exit42));
	res = run("run", "--native", write_img("ok.elf", &im), "--mem", "2M",
		  "--module", write_tmp("mod.bin", blob, sizeof(blob)), NULL);
	assert_error(&res, "module", "mod.bin", "at 0x102000",
		     "does not fit in guest RAM", NULL);
}

static void test_cli__serial_file_not_created_on_error(void **state)
{
	struct cmd_result res;
	char arg[360];
	char *out = tmp_path("serial-never.txt");

	(void)state;
	snprintf(arg, sizeof(arg), "file:%s", out);
	res = run("run", "--native", tmp_path("nope.elf"), "--serial", arg,
		  NULL);
	assert_error(&res, "cannot open", NULL);
	assert_int_equal(access(out, F_OK), -1);
}

static void test_cli__serial_file_in_missing_dir_fails(void **state)
{
	struct cmd_result res;
	struct img im;
	char arg[360];

	(void)state;
	img_code(&im, code_exit42, sizeof(code_exit42));
	snprintf(arg, sizeof(arg), "file:%s/no/such/dir/out.txt", tmpdir);
	res = run("run", "--native", write_img("ok.elf", &im), "--serial", arg,
		  NULL);
	assert_error(&res, "--serial: cannot create", "out.txt",
		     "No such file or directory", NULL);
}

/* ---- crash report -------------------------------------------------------- */

static void test_cli__debug_crash_reports_backtrace_and_guest(void **state)
{
	static const char *const words[] = {
		"nestvm: internal error: SIGSEGV",
		"host backtrace:",
		"#0 ",
		"crash_on_purpose+0x",
		"main+0x",
		"guest CPU state:",
		"RIP=0000000000100000",
		"RSP=0000000000100000",
		"RDI=0000000000050000",
		"CR0=0000000080010033",
		"CR3=0000000000002000",
		"EFER=0000000000000d00",
		"CS =0008",
	};
	struct cmd_result res;
	struct img im;

	(void)state;
	img_code(&im, code_exit42, sizeof(code_exit42));
	res = run("run", "--native", write_img("ok.elf", &im), "--debug-crash",
		  NULL);
	assert_true(res.signaled);
	assert_int_equal(res.exit_code, 128 + SIGSEGV);
	assert_string_equal(res.out, "");
	for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++) {
		if (!strstr(res.err, words[i]))
			print_error("'%s' not in: %s", words[i], res.err);
		assert_non_null(strstr(res.err, words[i]));
	}
	cmd_result_free(&res);
}

/* ---- running guests (need the CPU model) --------------------------------- */

/* Guests run only once the CPU model does; the hello image is built with
 * it, so its absence means there is nothing to run yet. */
static void need_cpu(void)
{
	if (access(hello_path, R_OK)) {
		print_message("skipped: %s is missing (build the guests)\n",
			      hello_path);
		skip();
	}
}

static void test_cli__hello_guest_prints_greeting_exits_0(void **state)
{
	struct cmd_result res;

	(void)state;
	need_cpu();
	res = run("run", "--native", hello_path, NULL);
	assert_int_equal(res.exit_code, 0);
	assert_non_null(strstr(res.out, "Hello from nestvm!\n"));
	assert_non_null(strstr(res.out, "memory: 64 MiB\n"));
	assert_non_null(strstr(res.out, "cmdline: \"\"\n"));
	assert_non_null(strstr(res.out, "modules: 0\n"));
	assert_string_equal(res.err, "");
	cmd_result_free(&res);
}

static void test_cli__hello_guest_sees_mem_append_and_modules(void **state)
{
	struct cmd_result res;

	(void)state;
	need_cpu();
	res = run("run", "--native", hello_path, "--mem", "32MiB", "--append",
		  "quiet x=1", "--module", write_tmp("m1", "abc", 3),
		  "--module", write_tmp("m2", "defg", 4), NULL);
	assert_int_equal(res.exit_code, 0);
	assert_non_null(strstr(res.out, "memory: 32 MiB\n"));
	assert_non_null(strstr(res.out, "cmdline: \"quiet x=1\"\n"));
	assert_non_null(strstr(res.out, "modules: 2\n"));
	cmd_result_free(&res);
}

static void test_cli__port_f4_write_is_exit_status(void **state)
{
	struct cmd_result res;
	struct img im;

	(void)state;
	need_cpu();
	img_code(&im, code_exit42, sizeof(code_exit42));
	res = run("run", "--native", write_img("exit42.elf", &im), NULL);
	assert_int_equal(res.exit_code, 42);
	assert_string_equal(res.out, "");
	assert_string_equal(res.err, "");
	cmd_result_free(&res);
}

static void test_cli__qemu_exit_codes_report_shifted_status(void **state)
{
	struct cmd_result res;
	struct img im;

	(void)state;
	need_cpu();
	img_code(&im, code_exit42, sizeof(code_exit42));
	res = run("run", "--native", write_img("exit42.elf", &im),
		  "--qemu-exit-codes", NULL);
	assert_int_equal(res.exit_code, (42 << 1) | 1);
	cmd_result_free(&res);
}

/* mov dx, 0x3f8; mov al, 'A'; out dx, al; mov al, '\n'; out dx, al;
 * xor eax, eax; out 0xf4, al; jmp $ */
static const uint8_t code_serial[] = { 0x66, 0xba, 0xf8, 0x03, 0xb0, 0x41,
				       0xee, 0xb0, 0x0a, 0xee, 0x31, 0xc0,
				       0xe6, 0xf4, 0xeb, 0xfe };

static void test_cli__serial_goes_to_stdout_file_or_nowhere(void **state)
{
	struct cmd_result res;
	struct img im;
	char arg[360], buf[16] = { 0 };
	char *out = tmp_path("serial.txt");
	char *elf;
	FILE *fp;

	(void)state;
	need_cpu();
	img_code(&im, code_serial, sizeof(code_serial));
	elf = write_img("serial.elf", &im);
	res = run("run", "--native", elf, NULL);
	assert_int_equal(res.exit_code, 0);
	assert_string_equal(res.out, "A\n");
	cmd_result_free(&res);

	res = run("run", "--native", elf, "--serial", "none", NULL);
	assert_int_equal(res.exit_code, 0);
	assert_string_equal(res.out, "");
	cmd_result_free(&res);

	snprintf(arg, sizeof(arg), "file:%s", out);
	res = run("run", "--native", elf, "--serial", arg, NULL);
	assert_int_equal(res.exit_code, 0);
	assert_string_equal(res.out, "");
	cmd_result_free(&res);
	fp = fopen(out, "r");
	assert_non_null(fp);
	assert_int_equal(fread(buf, 1, sizeof(buf) - 1, fp), 2);
	fclose(fp);
	assert_string_equal(buf, "A\n");
}

static void test_cli__max_insns_exhausted_exits_124(void **state)
{
	static const uint8_t code_loop[] = { 0xeb, 0xfe }; /* jmp $ */
	struct cmd_result res;
	struct img im;

	(void)state;
	need_cpu();
	img_code(&im, code_loop, sizeof(code_loop));
	res = run("run", "--native", write_img("loop.elf", &im), "--max-insns",
		  "1000", NULL);
	assert_int_equal(res.exit_code, 124);
	assert_int_equal(count_lines(res.err), 1);
	assert_non_null(
		strstr(res.err, "nestvm: the instruction limit (1000)"));
	assert_non_null(strstr(res.err, "RIP 0x100000"));
	cmd_result_free(&res);
}

/* ---- --timeout ----------------------------------------------------------- */

static void test_cli__bad_timeout_fails(void **state)
{
	/* Zero, signs, fractions, suffixes, words, past 2^31 - 1, past
	 * 2^64: one line and 125 each, before anything runs. */
	static const char *const bad[] = {
		"0",   "-1",   "+1",	     "1.5",
		"0.5", "1s",   "ten",	     "",
		" 1",  "0x10", "2147483648", "99999999999999999999999",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char want[64];
		struct cmd_result res = run("run", "--native", "x.elf",
					    "--timeout", bad[i], NULL);

		snprintf(want, sizeof(want), "--timeout: bad duration '%s'",
			 bad[i]);
		assert_error(&res, want, "1 to 2147483647", NULL);
	}
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void need_file(const char *path)
{
	if (access(path, R_OK)) {
		print_message("skipped: %s is missing (build it)\n", path);
		skip();
	}
}

/* The file at path, whole (malloc'd; NULL when it cannot be read). */
static char *slurp(const char *path)
{
	FILE *fp = fopen(path, "rb");
	char *buf;
	long len;

	if (!fp)
		return NULL;
	fseek(fp, 0, SEEK_END);
	len = ftell(fp);
	rewind(fp);
	buf = calloc(1, (size_t)len + 1);
	if (buf && fread(buf, 1, (size_t)len, fp) != (size_t)len) {
		free(buf);
		buf = NULL;
	}
	fclose(fp);
	return buf;
}

/* A --json report that was written whole, with this exit status. */
static void assert_json_complete(const char *path, int status)
{
	char want[32], *doc = slurp(path);
	size_t len;

	assert_non_null(doc);
	len = strlen(doc);
	assert_true(len > 2);
	assert_int_equal(doc[0], '{');
	assert_string_equal(doc + len - 2, "}\n");
	snprintf(want, sizeof(want), "\"exit_status\": %d,", status);
	assert_non_null(strstr(doc, want));
	free(doc);
}

/*
 * Stderr has the --timeout line, saying where, and the run took the
 * second it was given, not much more.
 */
static void assert_timed_out(const struct cmd_result *res, double took,
			     const char *where)
{
	const char *line = strstr(res->err, "nestvm: --timeout: the run "
					    "exceeded 1 s; stopped before ");
	const char *eol;

	if (res->exit_code != 124 || !line)
		print_error("status %d, stderr: %s\n", res->exit_code,
			    res->err);
	assert_false(res->signaled);
	assert_int_equal(res->exit_code, 124);
	assert_non_null(line);
	eol = strchr(line, '\n');
	assert_non_null(eol);
	assert_non_null(strstr(line, where));
	assert_true(strstr(line, where) < eol);
	assert_int_equal(strncmp(eol - 13, " instructions", 13), 0);
	assert_true(took >= 1.0);
	assert_true(took < 10.0);
}

/* `jmp $` forever: --timeout 1 ends it with 124 and one line, and the
 * --json report is written whole. */
static void test_cli__timeout_stops_spinning_guest_exits_124(void **state)
{
	static const uint8_t code_loop[] = { 0xeb, 0xfe }; /* jmp $ */
	char *json = tmp_path("spin.json");
	struct cmd_result res;
	struct img im;
	double t0;

	(void)state;
	need_cpu();
	img_code(&im, code_loop, sizeof(code_loop));
	t0 = now_s();
	res = run("run", "--native", write_img("spin.elf", &im), "--timeout",
		  "1", "--json", json, NULL);
	assert_timed_out(&res, now_s() - t0, "stopped before RIP 0x100000 ");
	assert_int_equal(count_lines(res.err), 1);
	assert_string_equal(res.out, "");
	cmd_result_free(&res);
	assert_json_complete(json, 124);
}

/*
 * A nested guest that never ends (l1-shim running nano's PIO loop for
 * 2^32 - 1 iterations): 124, the whole report on stderr, and --json,
 * --trace and --nested-state-out written whole (the snapshot reads back).
 */
static void test_cli__timeout_stops_nested_run_with_outputs(void **state)
{
	char *json = tmp_path("nested.json"), *trace = tmp_path("nested.txt");
	char *ns = tmp_path("nested.state");
	struct cmd_result res;
	double t0;

	(void)state;
	need_file(L1_SHIM_PATH);
	need_file(NANO_PATH);
	t0 = now_s();
	res = run("run", L1_SHIM_PATH, "--module", NANO_PATH, "--append",
		  "-- bench=pio iters=4294967295", "--serial", "none",
		  "--timeout", "1", "--json", json, "--trace", trace,
		  "--trace-limit", "10", "--nested-state-out", ns, NULL);
	assert_timed_out(&res, now_s() - t0, "stopped before L");
	assert_non_null(strstr(res.err, "nestvm: nested: world_switches "));
	assert_non_null(strstr(res.err, "nestvm: per level (profile "));
	assert_non_null(strstr(res.err, "nestvm: trace: events 10 "));
	cmd_result_free(&res);
	assert_json_complete(json, 124);
	res = run("nested-state", ns, NULL);
	assert_int_equal(res.exit_code, 0);
	cmd_result_free(&res);
	{
		char *text = slurp(trace);

		assert_non_null(text);
		assert_non_null(strstr(text, "exit status 124 ("));
		free(text);
	}
}

/* The translated guest of --vmm bt (nano's call/return loop) stops too. */
static void test_cli__timeout_stops_software_vmm_guest(void **state)
{
	struct cmd_result res;
	double t0;

	(void)state;
	need_file(NANO_PATH);
	t0 = now_s();
	res = run("run", "--vmm", "bt", "--profile", "p4-prescott", NANO_PATH,
		  "--append", "bench=callret iters=4294967295", "--serial",
		  "none", "--timeout", "1", NULL);
	/* Inside nano's kernel code (linked at 1 MiB), not RIP 0. */
	assert_timed_out(&res, now_s() - t0, "stopped before L1 RIP 0x10");
	assert_non_null(strstr(res.err, "nestvm: bt: callouts "));
	cmd_result_free(&res);
}

/*
 * A --timeout that does not expire changes nothing: the same stdout,
 * stderr (every count of the nested report) and --json bytes as the run
 * without it, natively and nested.
 */
static void test_cli__unexpired_timeout_changes_nothing(void **state)
{
	/* nestvm run A B C --append D */
	static const char *const levels[][4] = {
		{ "--native", NANO_PATH, "--stats", "bench=pgfault iters=100" },
		{ L1_SHIM_PATH, "--module", NANO_PATH,
		  "-- bench=pio iters=100" },
	};
	struct cmd_result a, b;

	(void)state;
	need_file(L1_SHIM_PATH);
	need_file(NANO_PATH);
	for (size_t i = 0; i < 2; i++) {
		char *ja = tmp_path("plain.json"), *jb = tmp_path("timed.json");
		char *da, *db;

		const char *const *l = levels[i];

		a = run("run", l[0], l[1], l[2], "--append", l[3], "--json", ja,
			NULL);
		b = run("run", l[0], l[1], l[2], "--append", l[3], "--json", jb,
			"--timeout", "600", NULL);
		assert_int_equal(a.exit_code, 0);
		assert_int_equal(b.exit_code, 0);
		assert_string_equal(a.out, b.out);
		assert_string_equal(a.err, b.err);
		/* Natively --stats, nested the report: every count. */
		assert_true(strstr(a.err, "nestvm: stats: insns ") ||
			    strstr(a.err, "nestvm: nested: insns_l2 "));
		da = slurp(ja);
		db = slurp(jb);
		assert_non_null(da);
		assert_non_null(db);
		assert_string_equal(da, db);
		free(da);
		free(db);
		cmd_result_free(&a);
		cmd_result_free(&b);
	}
}

static void test_cli__hlt_with_interrupts_off_exits_126(void **state)
{
	static const uint8_t code_hlt[] = { 0xf4 }; /* hlt */
	struct cmd_result res;
	struct img im;

	(void)state;
	need_cpu();
	img_code(&im, code_hlt, sizeof(code_hlt));
	res = run("run", "--native", write_img("hlt.elf", &im), NULL);
	assert_int_equal(res.exit_code, 126);
	assert_int_equal(count_lines(res.err), 1);
	assert_non_null(strstr(res.err, "nestvm: the guest halted"));
	cmd_result_free(&res);
}

static void test_cli__triple_fault_exits_126_with_rip(void **state)
{
	/* ud2 with IDTR.limit 0: #UD, then #GP on delivery, then #DF, then
	 * shutdown. */
	static const uint8_t code_ud2[] = { 0x0f, 0x0b };
	struct cmd_result res;
	struct img im;

	(void)state;
	need_cpu();
	img_code(&im, code_ud2, sizeof(code_ud2));
	res = run("run", "--native", write_img("ud2.elf", &im), NULL);
	assert_int_equal(res.exit_code, 126);
	assert_int_equal(count_lines(res.err), 1);
	assert_non_null(strstr(res.err, "nestvm: the guest triple-faulted at "
					"RIP 0x100000"));
	cmd_result_free(&res);
}

static void test_cli__stats_printed_to_stderr(void **state)
{
	struct cmd_result res;
	struct img im;

	(void)state;
	need_cpu();
	img_code(&im, code_exit42, sizeof(code_exit42));
	res = run("run", "--native", write_img("exit42.elf", &im), "--stats",
		  NULL);
	assert_int_equal(res.exit_code, 42);
	assert_non_null(strstr(res.err, "nestvm: stats: insns 2\n"));
	assert_non_null(strstr(res.err, "nestvm: stats: pio 1\n"));
	assert_non_null(strstr(res.err, "nestvm: unimplemented: none\n"));
	cmd_result_free(&res);
}

/* ---- setup --------------------------------------------------------------- */

static int group_setup(void **state)
{
	(void)state;
	snprintf(tmpdir, sizeof(tmpdir), "%s/nestvm-test-cli-XXXXXX",
		 getenv("TMPDIR") ? getenv("TMPDIR") : P_tmpdir);
	return mkdtemp(tmpdir) ? 0 : -1;
}

static int group_teardown(void **state)
{
	char cmd[320];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cli__help_lists_every_flag_and_exits_0),
		cmocka_unit_test(test_cli__short_h_after_command_prints_help),
		cmocka_unit_test(test_cli__version_prints_name_and_version),
		cmocka_unit_test(test_cli__no_arguments_fails_with_usage_hint),
		cmocka_unit_test(test_cli__unknown_command_fails),
		cmocka_unit_test(
			test_cli__run_without_level_is_nested_and_reads_image),
		cmocka_unit_test(test_cli__run_without_image_fails),
		cmocka_unit_test(test_cli__unknown_flag_fails_naming_it),
		cmocka_unit_test(test_cli__flag_without_argument_fails),
		cmocka_unit_test(test_cli__flag_with_unexpected_value_fails),
		cmocka_unit_test(test_cli__bad_sizes_fail),
		cmocka_unit_test(test_cli__bad_serial_value_fails),
		cmocka_unit_test(test_cli__bad_max_insns_fails),
		cmocka_unit_test(test_cli__bad_value_of_each_flag_fails),
		cmocka_unit_test(test_cli__two_images_fail),
		cmocka_unit_test(test_cli__append_of_2048_bytes_fails),
		cmocka_unit_test(test_cli__seventeen_modules_fail),
		cmocka_unit_test(test_cli__missing_image_fails_with_strerror),
		cmocka_unit_test(test_cli__directory_image_fails_unreadable),
		cmocka_unit_test(test_cli__empty_image_fails),
		cmocka_unit_test(test_cli__truncated_image_fails),
		cmocka_unit_test(test_cli__not_elf_fails_bad_magic),
		cmocka_unit_test(test_cli__elfclass32_fails),
		cmocka_unit_test(test_cli__big_endian_fails),
		cmocka_unit_test(test_cli__wrong_machine_fails_naming_it),
		cmocka_unit_test(test_cli__not_et_exec_fails),
		cmocka_unit_test(test_cli__program_headers_outside_file_fail),
		cmocka_unit_test(test_cli__filesz_over_memsz_fails),
		cmocka_unit_test(
			test_cli__segment_outside_ram_fails_with_ranges),
		cmocka_unit_test(test_cli__segment_in_boot_area_fails),
		cmocka_unit_test(
			test_cli__overlapping_segments_fail_naming_both),
		cmocka_unit_test(
			test_cli__entry_outside_executable_segment_fails),
		cmocka_unit_test(test_cli__no_pt_load_fails),
		cmocka_unit_test(test_cli__missing_module_fails),
		cmocka_unit_test(test_cli__module_larger_than_ram_fails),
		cmocka_unit_test(test_cli__module_past_end_of_ram_fails),
		cmocka_unit_test(test_cli__serial_file_not_created_on_error),
		cmocka_unit_test(test_cli__serial_file_in_missing_dir_fails),
		cmocka_unit_test(
			test_cli__debug_crash_reports_backtrace_and_guest),
		cmocka_unit_test(test_cli__hello_guest_prints_greeting_exits_0),
		cmocka_unit_test(
			test_cli__hello_guest_sees_mem_append_and_modules),
		cmocka_unit_test(test_cli__port_f4_write_is_exit_status),
		cmocka_unit_test(
			test_cli__qemu_exit_codes_report_shifted_status),
		cmocka_unit_test(
			test_cli__serial_goes_to_stdout_file_or_nowhere),
		cmocka_unit_test(test_cli__max_insns_exhausted_exits_124),
		cmocka_unit_test(test_cli__bad_timeout_fails),
		cmocka_unit_test(
			test_cli__timeout_stops_spinning_guest_exits_124),
		cmocka_unit_test(
			test_cli__timeout_stops_nested_run_with_outputs),
		cmocka_unit_test(test_cli__timeout_stops_software_vmm_guest),
		cmocka_unit_test(test_cli__unexpired_timeout_changes_nothing),
		cmocka_unit_test(test_cli__hlt_with_interrupts_off_exits_126),
		cmocka_unit_test(test_cli__triple_fault_exits_126_with_rip),
		cmocka_unit_test(test_cli__stats_printed_to_stderr),
	};

	if (argc > 1)
		nestvm_path = argv[1];
	else if (getenv("NESTVM"))
		nestvm_path = getenv("NESTVM");
	if (getenv("NESTVM_HELLO"))
		hello_path = getenv("NESTVM_HELLO");
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
