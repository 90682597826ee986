/* SPDX-License-Identifier: MIT */
/*
 * Whole-stack multiboot test: build/nestvm boots the multiboot test kernel
 * (guests/multiboot/) as QEMU's -kernel would, the kernel enters long mode
 * itself and prints the information it was given; its console output and
 * exit status are compared exactly, natively and as L1, and a bad image is
 * refused with one line and status 125. l1-shim built as a multiboot
 * kernel prints what the ELF64 l1-shim prints, natively and nested. Host side; run from the top of
 * the tree.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/lib/run_cmd.h"

#ifndef NESTVM_DEFAULT_PATH
#define NESTVM_DEFAULT_PATH "build/nestvm"
#endif
#define KERNEL "build/guests/multiboot/kernel.elf"
#define MODULE "tests/guest/multiboot_module.txt"
#define EXPECTED "tests/guest/expected/multiboot.out"
#define L1_SHIM "build/l1-shim.elf"
#define L1_SHIM_MB "build/l1-shim-mb.elf"
#define TIMEOUT_S 120
#define ARGS_MAX 16

static char *read_text(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	long size;

	if (!f)
		return NULL;
	if (!fseek(f, 0, SEEK_END) && (size = ftell(f)) >= 0 &&
	    !fseek(f, 0, SEEK_SET) && (buf = malloc((size_t)size + 1))) {
		if (fread(buf, 1, (size_t)size, f) == (size_t)size) {
			buf[size] = '\0';
			if (len)
				*len = (size_t)size;
		} else {
			free(buf);
			buf = NULL;
		}
	}
	fclose(f);
	return buf;
}

/* Runs "nestvm run <args...>" (args ends with NULL) into *res. */
static void run_nestvm(const char *const args[], struct cmd_result *res)
{
	const char *argv[ARGS_MAX] = { NESTVM_DEFAULT_PATH, "run" };
	size_t n = 2;
	int ret;

	for (size_t i = 0; args[i]; i++) {
		assert_true(n < ARGS_MAX - 1);
		argv[n++] = args[i];
	}
	argv[n] = NULL;
	ret = run_cmd((char *const *)argv, TIMEOUT_S, res);
	if (ret)
		fail_msg("cannot run %s: %s", NESTVM_DEFAULT_PATH,
			 strerror(-ret));
}

static int setup_result(void **state)
{
	*state = calloc(1, sizeof(struct cmd_result));
	return *state ? 0 : -1;
}

static int teardown_result(void **state)
{
	cmd_result_free(*state);
	free(*state);
	return 0;
}

static void
test_multiboot_kernel__boots_to_long_mode_and_prints_its_info(void **state)
{
	struct cmd_result *res = *state;
	static const char *const args[] = {
		"--native",
		"--mem",
		"32M",
		"--append",
		"answer=42 mode=test",
		"--initrd",
		MODULE,
		"--module",
		MODULE,
		KERNEL,
		NULL,
	};
	char *want = read_text(EXPECTED, NULL);

	assert_non_null(want);
	run_nestvm(args, res);
	if (strcmp(res->out, want))
		print_message("[ want ]\n%s[ got ]\n%s[ stderr ]\n%s\n", want,
			      res->out, res->err);
	assert_string_equal(res->out, want);
	free(want);
	/* Nothing unimplemented was met: nestvm reports nothing at all. */
	assert_string_equal(res->err, "");
	assert_false(res->signaled);
	assert_int_equal(res->exit_code, 0);
}

static void test_multiboot_kernel__qemu_exit_codes_report_1(void **state)
{
	struct cmd_result *res = *state;
	static const char *const args[] = {
		"--native",
		"--qemu-exit-codes",
		KERNEL,
		NULL,
	};

	run_nestvm(args, res);
	assert_non_null(strstr(res->out, "primes below 10000: 1229\n"));
	assert_non_null(strstr(res->out, "cmdline '" KERNEL "'\n"));
	assert_non_null(strstr(res->out, "modules 0\n"));
	assert_int_equal(res->exit_code, 1);
}

/* As L1 under L0 (an unrestricted guest until the kernel enters long
 * mode itself), the kernel prints exactly what it prints natively. */
static void test_multiboot_kernel__as_l1_prints_as_native(void **state)
{
	struct cmd_result *res = *state;
	static const char *const args[] = {
		"--mem",    "32M",  "--append", "answer=42 mode=test",
		"--initrd", MODULE, "--module", MODULE,
		KERNEL,	    NULL,
	};
	char *want = read_text(EXPECTED, NULL);

	assert_non_null(want);
	run_nestvm(args, res);
	if (strcmp(res->out, want))
		print_message("[ want ]\n%s[ got ]\n%s[ stderr ]\n%s\n", want,
			      res->out, res->err);
	assert_string_equal(res->out, want);
	free(want);
	/* The nested report follows on stderr. */
	assert_non_null(strstr(res->err, "nestvm: per level"));
	assert_false(res->signaled);
	assert_int_equal(res->exit_code, 0);
}

/* l1-shim built as a multiboot kernel (build/l1-shim-mb.elf) prints,
 * natively and as L1, exactly what build/l1-shim.elf prints natively,
 * for the same L2 and command line. */
static void check_l1_shim_mb(const char *l2, const char *append, int status,
			     struct cmd_result *res)
{
	const char *const ref[] = { "--native", "--module", l2,	 "--append",
				    append,	L1_SHIM,    NULL };
	const char *const native[] = { "--native", "--module", l2,  "--append",
				       append,	   L1_SHIM_MB, NULL };
	const char *const nested[] = { "--module", l2,	       "--append",
				       append,	   L1_SHIM_MB, NULL };
	struct cmd_result want = { 0 };

	run_nestvm(ref, &want);
	assert_int_equal(want.exit_code, status);
	assert_true(strlen(want.out) > 0);
	run_nestvm(native, res);
	assert_string_equal(res->out, want.out);
	assert_int_equal(res->exit_code, status);
	cmd_result_free(res);
	run_nestvm(nested, res);
	assert_string_equal(res->out, want.out);
	assert_int_equal(res->exit_code, status);
	assert_false(res->signaled);
	cmd_result_free(&want);
}

static void test_l1_shim_mb__hello_prints_as_l1_shim_elf(void **state)
{
	check_l1_shim_mb("build/guests/hello.elf", "-- hello", 0, *state);
}

static void test_l1_shim_mb__exitcode_42_exits_as_l1_shim_elf(void **state)
{
	check_l1_shim_mb("build/guests/tests/exitcode.elf", "stats -- 42", 42,
			 *state);
}

static void test_multiboot_kernel__elf32_without_header_is_refused(void **state)
{
	struct cmd_result *res = *state;
	char path[512];
	size_t len = 0;
	char *img = read_text(KERNEL, &len);
	FILE *f;
	int fd;

	assert_non_null(img);
	assert_true(len > 0x1004);
	snprintf(path, sizeof(path), "%s/nestvm-test-elf32-XXXXXX",
		 getenv("TMPDIR") ? getenv("TMPDIR") : P_tmpdir);
	fd = mkstemp(path);
	assert_true(fd >= 0);
	f = fdopen(fd, "wb");
	assert_non_null(f);
	/* The header is at file offset 0x1000: wipe its magic. */
	memset(img + 0x1000, 0, 4);
	assert_int_equal(fwrite(img, 1, len, f), len);
	fclose(f);
	free(img);
	{
		const char *const args[] = { "--native", path, NULL };

		run_nestvm(args, res);
	}
	remove(path);
	assert_non_null(strstr(res->err,
			       "is a 32-bit ELF file (ELFCLASS32) without a "
			       "multiboot header in its first 8192 "
			       "bytes"));
	assert_int_equal(res->exit_code, 125);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(name) \
	cmocka_unit_test_setup_teardown(name, setup_result, teardown_result)
		T(test_multiboot_kernel__boots_to_long_mode_and_prints_its_info),
		T(test_multiboot_kernel__qemu_exit_codes_report_1),
		T(test_multiboot_kernel__as_l1_prints_as_native),
		T(test_l1_shim_mb__hello_prints_as_l1_shim_elf),
		T(test_l1_shim_mb__exitcode_42_exits_as_l1_shim_elf),
		T(test_multiboot_kernel__elf32_without_header_is_refused),
#undef T
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
