/* SPDX-License-Identifier: MIT */
/*
 * Whole-stack guest tests: run the guest images under build/nestvm at the
 * native level and compare what they print on the serial console and how
 * the machine stopped (debug-exit status, triple fault) with the expected
 * files in tests/guest/expected/. Host side; run from the top of the tree.
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

#include "tests/lib/run_cmd.h"

#define NESTVM "build/nestvm"
#define EXPECTED_DIR "tests/guest/expected/"
#define GUEST_TIMEOUT_S 120
#define GUEST_ARGS_MAX 16

/* Reads a whole file into a NUL-terminated buffer; NULL on failure. */
static char *test_read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
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
	buf[size] = '\0';
	if (len)
		*len = (size_t)size;
out:
	fclose(f);
	return buf;
}

/* Runs "nestvm run --native <flags...> <image>"; flags ends with NULL. */
static void test_run_guest(const char *image, const char *const flags[],
			   struct cmd_result *res)
{
	const char *argv[GUEST_ARGS_MAX] = { NESTVM, "run", "--native" };
	size_t n = 3;
	int ret;

	for (size_t i = 0; flags[i]; i++) {
		assert_true(n < GUEST_ARGS_MAX - 2);
		argv[n++] = flags[i];
	}
	argv[n++] = image;
	argv[n] = NULL;
	ret = run_cmd((char *const *)argv, GUEST_TIMEOUT_S, res);
	if (ret)
		fail_msg("cannot run %s (%s): build it and run from the top of "
			 "the tree",
			 NESTVM, strerror(-ret));
}

/* Asserts the exact console output and exit status of a finished run. */
static void test_expect_run(const struct cmd_result *res, const char *name,
			    int exit_code)
{
	char path[256];
	char *want;

	bool out_ok;

	snprintf(path, sizeof(path), EXPECTED_DIR "%s.out", name);
	want = test_read_file(path, NULL);
	if (!want)
		fail_msg("cannot read %s", path);
	out_ok = !strcmp(res->out, want);
	if (!out_ok)
		print_message("[ want stdout ]\n%s[ got stdout ]\n%s\n", want,
			      res->out);
	free(want);
	if (!out_ok || res->signaled || res->exit_code != exit_code)
		print_message("[ nestvm stderr ]\n%s\n", res->err);
	assert_true(out_ok);
	assert_false(res->signaled);
	assert_int_equal(res->exit_code, exit_code);
}

/* Each test's run result lives in the test state, so that teardown frees
 * it whether or not an assertion failed. */
static int test_setup_result(void **state)
{
	*state = calloc(1, sizeof(struct cmd_result));
	return *state ? 0 : -1;
}

static int test_teardown_result(void **state)
{
	cmd_result_free(*state);
	free(*state);
	return 0;
}

/*
 * Looks up a symbol's value in an ELF64 file's symbol table; returns 0 and
 * sets *value, or -ENOENT. Enough ELF for the images this tree builds.
 */
static int test_elf_symbol(const char *path, const char *sym, uint64_t *value)
{
	size_t len;
	char *img = test_read_file(path, &len);
	const Elf64_Ehdr *eh = (const Elf64_Ehdr *)img;
	const Elf64_Shdr *sh;
	int ret = -ENOENT;

	if (!img)
		return -errno;
	if (len < sizeof(*eh) || memcmp(eh->e_ident, ELFMAG, SELFMAG) ||
	    eh->e_ident[EI_CLASS] != ELFCLASS64 ||
	    eh->e_shoff + (uint64_t)eh->e_shnum * sizeof(*sh) > len)
		goto out;
	sh = (const Elf64_Shdr *)(img + eh->e_shoff);
	for (unsigned int i = 0; i < eh->e_shnum; i++) {
		const Elf64_Shdr *strtab;
		const Elf64_Sym *syms;

		if (sh[i].sh_type != SHT_SYMTAB || sh[i].sh_link >= eh->e_shnum)
			continue;
		strtab = &sh[sh[i].sh_link];
		if (sh[i].sh_offset + sh[i].sh_size > len ||
		    strtab->sh_offset + strtab->sh_size > len)
			goto out;
		syms = (const Elf64_Sym *)(img + sh[i].sh_offset);
		for (size_t k = 0; k < sh[i].sh_size / sizeof(*syms); k++) {
			const char *name;

			if (syms[k].st_name >= strtab->sh_size)
				continue;
			name = img + strtab->sh_offset + syms[k].st_name;
			/* The name must end inside the string table. */
			if (memchr(name, '\0',
				   strtab->sh_size - syms[k].st_name) &&
			    !strcmp(name, sym)) {
				*value = syms[k].st_value;
				ret = 0;
				goto out;
			}
		}
	}
out:
	free(img);
	return ret;
}

/* The shutdown may be worded "triple fault" or "triple-faulted". */
static bool test_names_triple_fault(const char *s)
{
	return strcasestr(s, "triple fault") || strcasestr(s, "triple-fault");
}

static void test_hello__mem_16m_prints_greeting_and_exits_0(void **state)
{
	static const char *const flags[] = { "--mem", "16M", "--append",
					     "hello world", NULL };
	struct cmd_result *res = *state;

	test_run_guest("build/guests/hello.elf", flags, res);
	test_expect_run(res, "hello", 0);
}

static void test_alu__native_run_passes_every_check(void **state)
{
	static const char *const flags[] = { "--mem", "16M", NULL };
	struct cmd_result *res = *state;

	test_run_guest("build/guests/tests/alu.elf", flags, res);
	test_expect_run(res, "alu", 0);
}

static void test_format__native_run_prints_like_c_library(void **state)
{
	static const char *const flags[] = { "--mem", "16M", NULL };
	struct cmd_result *res = *state;

	test_run_guest("build/guests/tests/format.elf", flags, res);
	test_expect_run(res, "format", 0);
}

static void test_exceptions__each_fault_delivered_and_recovered(void **state)
{
	static const char *const flags[] = { "--mem", "16M", NULL };
	struct cmd_result *res = *state;

	test_run_guest("build/guests/tests/exceptions.elf", flags, res);
	test_expect_run(res, "exceptions", 0);
}

/* One-shot, periodic and TSC-deadline timer interrupts through the xAPIC
 * page and the x2APIC MSRs, each counted exactly. */
static void test_apic_timer__every_mode_counts_exact_interrupts(void **state)
{
	static const char *const flags[] = { "--mem", "16M", NULL };
	struct cmd_result *res = *state;

	test_run_guest("build/guests/tests/apic_timer.elf", flags, res);
	test_expect_run(res, "apic_timer", 0);
}

static void test_triple__ud2_without_idt_exits_126_naming_rip(void **state)
{
	static const char *const image = "build/guests/tests/triple.elf";
	static const char *const flags[] = { "--mem", "16M", NULL };
	struct cmd_result *res = *state;
	uint64_t rip = 0;
	char hex[32];

	assert_int_equal(test_elf_symbol(image, "triple_ud2", &rip), 0);
	assert_true(rip >= 0x100000);
	test_run_guest(image, flags, res);
	test_expect_run(res, "triple", 126);
	/* The report names the shutdown and the RIP of the UD2, in hex with
	 * or without 0x and leading zeros. */
	snprintf(hex, sizeof(hex), "%llx", (unsigned long long)rip);
	if (!test_names_triple_fault(res->err) || !strcasestr(res->err, hex))
		print_message("[ nestvm stderr ]\n%s\n[ want rip %s ]\n",
			      res->err, hex);
	assert_true(test_names_triple_fault(res->err));
	assert_non_null(strcasestr(res->err, hex));
}

static void test_exitcode__append_42_exits_42(void **state)
{
	static const char *const flags[] = { "--mem", "16M", "--append", "42",
					     NULL };
	struct cmd_result *res = *state;

	test_run_guest("build/guests/tests/exitcode.elf", flags, res);
	test_expect_run(res, "exitcode", 42);
}

static void test_exitcode__qemu_exit_codes_append_42_exits_85(void **state)
{
	/* QEMU's isa-debug-exit convention: status = (value << 1) | 1. */
	static const char *const flags[] = {
		"--mem", "16M", "--qemu-exit-codes", "--append", "42", NULL
	};
	struct cmd_result *res = *state;

	test_run_guest("build/guests/tests/exitcode.elf", flags, res);
	test_expect_run(res, "exitcode", 85);
}

/* fw_cfg is on the bus at every level that has devices: the same keys
 * natively and as L1 under L0 (RAM size from --mem). */
static void test_fwcfg__native_and_l1_read_signature_ram_and_cpus(void **state)
{
	static const char *const native[] = { "--mem", "16M", NULL };
	const char *argv[] = {
		NESTVM, "run", "--mem", "16M", "build/guests/tests/fwcfg.elf",
		NULL
	};
	struct cmd_result *res = *state;

	test_run_guest("build/guests/tests/fwcfg.elf", native, res);
	test_expect_run(res, "fwcfg", 0);
	cmd_result_free(res);
	memset(res, 0, sizeof(*res));
	if (run_cmd((char *const *)argv, GUEST_TIMEOUT_S, res))
		fail_msg("cannot run %s", NESTVM);
	test_expect_run(res, "fwcfg", 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
			test_hello__mem_16m_prints_greeting_and_exits_0,
			test_setup_result, test_teardown_result),
		cmocka_unit_test_setup_teardown(
			test_alu__native_run_passes_every_check,
			test_setup_result, test_teardown_result),
		cmocka_unit_test_setup_teardown(
			test_format__native_run_prints_like_c_library,
			test_setup_result, test_teardown_result),
		cmocka_unit_test_setup_teardown(
			test_exceptions__each_fault_delivered_and_recovered,
			test_setup_result, test_teardown_result),
		cmocka_unit_test_setup_teardown(
			test_apic_timer__every_mode_counts_exact_interrupts,
			test_setup_result, test_teardown_result),
		cmocka_unit_test_setup_teardown(
			test_triple__ud2_without_idt_exits_126_naming_rip,
			test_setup_result, test_teardown_result),
		cmocka_unit_test_setup_teardown(
			test_exitcode__append_42_exits_42, test_setup_result,
			test_teardown_result),
		cmocka_unit_test_setup_teardown(
			test_exitcode__qemu_exit_codes_append_42_exits_85,
			test_setup_result, test_teardown_result),
		cmocka_unit_test_setup_teardown(
			test_fwcfg__native_and_l1_read_signature_ram_and_cpus,
			test_setup_result, test_teardown_result),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
