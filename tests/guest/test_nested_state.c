/* SPDX-License-Identifier: MIT */
/*
 * Whole-stack nested-state snapshots: build/nestvm runs l1-shim with
 * cpuid_loop as L2 and --nested-state-out, then `nestvm nested-state`
 * reads the file: the VMXON and vmcs12 addresses are l1-shim's regions
 * (from its symbol table), vmcs12 is launched and holds L2's last exit
 * (the port write that ends the run). A malformed file is one error line
 * and status 125. Host side; run from the top of the tree.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tests/lib/run_cmd.h"

#ifndef NESTVM_DEFAULT_PATH
#define NESTVM_DEFAULT_PATH "build/nestvm"
#endif
#define TIMEOUT_S 300

static void run(const char *const argv[], struct cmd_result *res)
{
	if (run_cmd((char *const *)argv, TIMEOUT_S, res))
		fail_msg("cannot run %s", argv[0]);
}

/* The value of symbol name in elf (and its size in *size if not NULL). */
static uint64_t symbol(const char *elf, const char *name, uint64_t *size)
{
	const char *argv[] = { "/usr/bin/nm", "-S", elf, NULL };
	struct cmd_result res;
	uint64_t val = 0, sz = 0;
	char sym[128], type;
	bool found = false;
	int n = 0;

	run(argv, &res);
	assert_int_equal(res.exit_code, 0);
	for (const char *p = res.out; *p; p += n) {
		char line[256];
		int k = 0;

		while (p[k] && p[k] != '\n')
			k++;
		n = k + (p[k] == '\n');
		snprintf(line, sizeof(line), "%.*s", k, p);
		if (sscanf(line, "%" SCNx64 " %" SCNx64 " %c %127s", &val, &sz,
			   &type, sym) == 4 &&
		    !strcmp(sym, name)) {
			found = true;
			break;
		}
		if (sscanf(line, "%" SCNx64 " %c %127s", &val, &type, sym) ==
			    3 &&
		    !strcmp(sym, name)) {
			sz = 0;
			found = true;
			break;
		}
	}
	cmd_result_free(&res);
	if (!found)
		fail_msg("no symbol %s in %s", name, elf);
	if (size)
		*size = sz;
	return val;
}

/* The value of "key 0x..." in the dump, or fails. */
static uint64_t dump_value(const char *dump, const char *key)
{
	char pat[128];
	const char *p;

	snprintf(pat, sizeof(pat), "\n%s ", key);
	p = strstr(dump, pat);
	if (!p)
		fail_msg("no '%s' in the dump", key);
	return strtoull(p + strlen(pat), NULL, 0);
}

static void
test_nested_state_out__cpuid_loop_snapshot_names_l1_shims_vmcs12(void **state)
{
	char path[] = "build/tests/nested-state-XXXXXX";
	const char *run_argv[] = { NESTVM_DEFAULT_PATH,
				   "run",
				   "build/l1-shim.elf",
				   "--module",
				   "build/guests/cpuid_loop.elf",
				   "--append",
				   "-- 10",
				   "--nested-state-out",
				   path,
				   NULL };
	const char *dump_argv[] = { NESTVM_DEFAULT_PATH, "nested-state", path,
				    NULL };
	struct cmd_result res;
	uint64_t exit_fn, exit_len, rip;
	int fd;

	(void)state;
	fd = mkstemp(path);
	assert_true(fd >= 0);
	close(fd);
	run(run_argv, &res);
	assert_int_equal(res.exit_code, 0);
	cmd_result_free(&res);
	run(dump_argv, &res);
	unlink(path);
	assert_int_equal(res.exit_code, 0);
	assert_string_equal(res.err, "");
	/* L1 runs when the run ends: no guest mode, nothing pending. */
	assert_non_null(strstr(res.out, "flags 0x0 ()\nformat 0 (VMX)\n"
					"size 4224\n"));
	assert_int_equal(dump_value(res.out, "vmx.vmxon_pa"),
			 symbol("build/l1-shim.elf", "l1_vmxon_region", NULL));
	assert_int_equal(dump_value(res.out, "vmx.vmcs12_pa"),
			 symbol("build/l1-shim.elf", "l1_vmcs_region", NULL));
	assert_int_equal(dump_value(res.out, "vmcs12.revision_id"), 0x11e57ed0);
	assert_int_equal(dump_value(res.out, "vmcs12.launch_state"), 1);
	/* L2's last exit: OUT to the debug-exit port 0xf4 (qualification:
	 * port in bits 31:16, DX operand bit 6, 4 bytes), reflected as
	 * I/O instruction (30), L2's RIP inside its exit(). */
	assert_int_equal(dump_value(res.out, "vmcs12.VM_EXIT_REASON"), 30);
	assert_int_equal(dump_value(res.out, "vmcs12.EXIT_QUALIFICATION"),
			 0xf40043);
	assert_int_equal(dump_value(res.out, "vmcs12.VMCS_LINK_POINTER"),
			 ~0ull);
	exit_fn = symbol("build/guests/cpuid_loop.elf", "exit", &exit_len);
	rip = dump_value(res.out, "vmcs12.GUEST_RIP");
	assert_in_range(rip, exit_fn, exit_fn + exit_len - 1);
	cmd_result_free(&res);
}

static void test_nested_state__truncated_file_is_one_error_line(void **state)
{
	char path[] = "build/tests/nested-state-XXXXXX";
	const char *argv[] = { NESTVM_DEFAULT_PATH, "nested-state", path,
			       NULL };
	struct cmd_result res;
	char expect[256];
	int fd;

	(void)state;
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "\0\0\0\0\x80\0\0\0", 8), 8);
	close(fd);
	run(argv, &res);
	unlink(path);
	assert_int_equal(res.exit_code, 125);
	assert_string_equal(res.out, "");
	snprintf(expect, sizeof(expect),
		 "nestvm: nested-state: '%s': truncated: 8 bytes, the header "
		 "alone is 128\n",
		 path);
	assert_string_equal(res.err, expect);
	cmd_result_free(&res);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(
			test_nested_state_out__cpuid_loop_snapshot_names_l1_shims_vmcs12),
		cmocka_unit_test(
			test_nested_state__truncated_file_is_one_error_line),
	};

	return cmocka_run_group_tests_name("nested_state_cli", tests, NULL,
					   NULL);
}
