/* SPDX-License-Identifier: MIT */
/*
 * test_profile.c - the cost-profile parser (l0/profile.c): a complete
 * profile parses to exact values, every error path gives its exact
 * one-line message with file:line, and every shipped profile file in
 * profiles/ parses. Host side, tests only.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "l0/profile.h"

/* Every key once, in the documented order. */
static const char good[] = "# a test profile\n"
			   "name t-1\n"
			   "insn 2 # base\n"
			   "tlb_miss 3\n"
			   "walk_step 4\n"
			   "ept_walk_step 5\n"
			   "event 6\n"
			   "vm_entry 7\n"
			   "vm_exit 8\n"
			   "vmread 9\n"
			   "vmwrite 10\n"
			   "vmx_insn 11\n"
			   "cpuid 12\n"
			   "rdmsr 13\n"
			   "wrmsr 14\n"
			   "\t pio   15\t\r\n"
			   "shadow_vmread 16\n"
			   "shadow_vmwrite 17\n"
			   "\n"
			   "ref_cpuid_bare 100\n"
			   "ref_cpuid_single none\n"
			   "ref_cpuid_nested 100000000";

static int parse(const char *text, struct l0_profile *p, char *err)
{
	return profile_parse("t.profile", text, strlen(text), p, err, 256);
}

/* good with line `line` (1-based) replaced by `repl` (NULL: dropped). */
static void with_line(char *out, size_t len, unsigned int line,
		      const char *repl)
{
	const char *p = good;
	size_t n = 0;

	for (unsigned int l = 1; *p; l++) {
		const char *eol = strchr(p, '\n');
		size_t ll = eol ? (size_t)(eol - p) : strlen(p);

		if (l != line)
			n += (size_t)snprintf(out + n, len - n, "%.*s\n",
					      (int)ll, p);
		else if (repl)
			n += (size_t)snprintf(out + n, len - n, "%s\n", repl);
		p += ll + (eol != NULL);
	}
}

static void expect_error(const char *text, const char *msg)
{
	struct l0_profile p;
	char err[256] = "";

	assert_int_equal(parse(text, &p, err), -22);
	assert_string_equal(err, msg);
}

/* The software VMM's charges: optional, and all four or none. */
static void test_profile_parse__bt_keys_all_or_none(void **state)
{
	struct l0_profile p;
	char text[1024], err[256] = "";

	(void)state;
	assert_int_equal(parse(good, &p, err), 0);
	assert_int_equal(p.bt_translate_insn, PROFILE_REF_NONE);
	assert_int_equal(p.bt_callout, PROFILE_REF_NONE);
	assert_int_equal(p.bt_trap, PROFILE_REF_NONE);
	assert_int_equal(p.bt_rdtsc_tc, PROFILE_REF_NONE);
	snprintf(text, sizeof(text),
		 "%s\nbt_translate_insn 2300\nbt_callout 1254\n"
		 "bt_trap 2030\nbt_rdtsc_tc 216",
		 good);
	assert_int_equal(parse(text, &p, err), 0);
	assert_int_equal(p.bt_translate_insn, 2300);
	assert_int_equal(p.bt_callout, 1254);
	assert_int_equal(p.bt_trap, 2030);
	assert_int_equal(p.bt_rdtsc_tc, 216);
	snprintf(text, sizeof(text), "%s\nbt_callout 1254", good);
	expect_error(text, "t.profile: missing key 'bt_translate_insn' (the "
			   "bt_* keys come all together or not at all)");
	snprintf(text, sizeof(text),
		 "%s\nbt_translate_insn 2300\nbt_callout 1254\nbt_trap 1",
		 good);
	expect_error(text, "t.profile: missing key 'bt_rdtsc_tc' (the bt_* "
			   "keys come all together or not at all)");
}

static void test_profile_parse__complete_file_gives_exact_values(void **state)
{
	struct l0_profile p;
	char err[256] = "";

	(void)state;
	assert_int_equal(parse(good, &p, err), 0);
	assert_string_equal(err, "");
	assert_string_equal(p.cost.name, "t-1");
	assert_int_equal(p.cost.insn, 2);
	assert_int_equal(p.cost.tlb_miss, 3);
	assert_int_equal(p.cost.walk_step, 4);
	assert_int_equal(p.cost.ept_walk_step, 5);
	assert_int_equal(p.cost.event, 6);
	assert_int_equal(p.cost.vm_entry, 7);
	assert_int_equal(p.cost.vm_exit, 8);
	assert_int_equal(p.cost.vmread, 9);
	assert_int_equal(p.cost.vmwrite, 10);
	assert_int_equal(p.cost.vmx_insn, 11);
	assert_int_equal(p.cost.cpuid, 12);
	assert_int_equal(p.cost.rdmsr, 13);
	assert_int_equal(p.cost.wrmsr, 14);
	assert_int_equal(p.cost.pio, 15);
	assert_int_equal(p.cost.shadow_vmread, 16);
	assert_int_equal(p.cost.shadow_vmwrite, 17);
	assert_int_equal(p.ref_cpuid_bare, 100);
	assert_int_equal(p.ref_cpuid_single, PROFILE_REF_NONE);
	assert_int_equal(p.ref_cpuid_nested, 100000000);
	/* freq_mhz is optional: none given, none known. */
	assert_int_equal(p.freq_mhz, 0);
}

static void test_profile_parse__freq_mhz_is_optional_and_checked(void **state)
{
	struct l0_profile p;
	char text[2048], err[256] = "";

	(void)state;
	with_line(text, sizeof(text), 2, "name t-1\nfreq_mhz 2900 # clock");
	assert_int_equal(parse(text, &p, err), 0);
	assert_int_equal(p.freq_mhz, 2900);
	assert_int_equal(p.cost.insn, 2);
	with_line(text, sizeof(text), 2, "name t-1\nfreq_mhz 0");
	expect_error(text, "t.profile:3: bad value '0' for 'freq_mhz' (MHz: a "
			   "whole number from 1 to 100000)");
	with_line(text, sizeof(text), 2, "name t-1\nfreq_mhz 100001");
	expect_error(text, "t.profile:3: bad value '100001' for 'freq_mhz' "
			   "(MHz: a whole number from 1 to 100000)");
	with_line(text, sizeof(text), 2, "freq_mhz 1\nfreq_mhz 2");
	expect_error(text, "t.profile:3: duplicate key 'freq_mhz' (first set "
			   "on line 2)");
}

static void test_profile_parse__unknown_key_names_file_and_line(void **state)
{
	char text[2048];

	(void)state;
	with_line(text, sizeof(text), 4, "tlb_mis 3");
	expect_error(text, "t.profile:4: unknown key 'tlb_mis' (the keys are "
			   "listed in docs/cost-model.md)");
}

static void test_profile_parse__duplicate_key_names_first_line(void **state)
{
	char text[2048];

	(void)state;
	with_line(text, sizeof(text), 4, "insn 1");
	expect_error(text,
		     "t.profile:4: duplicate key 'insn' (first set on line 3)");
}

/* "vm_exit.NAME": optional per-reason costs, by the uapi's names; the
 * other reasons keep the generic vm_exit (8 in good). */
static void test_profile_parse__per_exit_reason_cost_is_optional(void **state)
{
	struct l0_profile p;
	char text[2048], err[256] = "";

	(void)state;
	snprintf(text, sizeof(text),
		 "%s\nvm_exit.CPUID 1234\n"
		 "vm_exit.EPT_VIOLATION 99 # cited\n",
		 good);
	assert_int_equal(parse(text, &p, err), 0);
	assert_int_equal(vtx_cost_vm_exit(&p.cost, 10), 1234);
	assert_int_equal(vtx_cost_vm_exit(&p.cost, 48), 99);
	assert_int_equal(vtx_cost_vm_exit(&p.cost, 12), 8);
	assert_int_equal(parse(good, &p, err), 0);
	assert_int_equal(vtx_cost_vm_exit(&p.cost, 10), 8);
}

static void test_profile_parse__per_exit_reason_errors(void **state)
{
	char text[2048];

	(void)state;
	snprintf(text, sizeof(text), "%s\nvm_exit.CPUIDX 1\n", good);
	expect_error(text, "t.profile:23: unknown exit reason 'CPUIDX' (the "
			   "names of <asm/vmx.h>, such as vm_exit.CPUID)");
	snprintf(text, sizeof(text), "%s\nvm_exit.HLT 1\nvm_exit.HLT 2\n",
		 good);
	expect_error(text, "t.profile:24: duplicate key 'vm_exit.HLT' (first "
			   "set on line 23)");
	snprintf(text, sizeof(text), "%s\nvm_exit.HLT x\n", good);
	expect_error(text, "t.profile:23: 'vm_exit.HLT' needs one value "
			   "(cycles: a whole number from 0 to 100000000)");
}

static void test_profile_parse__key_without_value_fails(void **state)
{
	char text[2048];

	(void)state;
	with_line(text, sizeof(text), 8, "vm_entry   # no value");
	expect_error(text, "t.profile:8: key 'vm_entry' has no value");
}

static void test_profile_parse__text_after_value_fails(void **state)
{
	char text[2048];

	(void)state;
	with_line(text, sizeof(text), 9, "vm_exit 8 cycles");
	expect_error(text, "t.profile:9: 'vm_exit': unexpected 'cycles' after "
			   "the value (a comment starts with '#')");
}

static void test_profile_parse__non_number_value_fails(void **state)
{
	static const char *const bad[] = { "-1",    "1.5",	 "0x10",
					   "1,000", "100000001", "9999999999" };
	char text[2048], want[256];

	(void)state;
	for (size_t k = 0; k < sizeof(bad) / sizeof(bad[0]); k++) {
		char line[64];

		snprintf(line, sizeof(line), "vmread %s", bad[k]);
		with_line(text, sizeof(text), 10, line);
		snprintf(want, sizeof(want),
			 "t.profile:10: bad value '%s' for 'vmread' (cycles: "
			 "a whole number from 0 to 100000000)",
			 bad[k]);
		expect_error(text, want);
	}
}

static void test_profile_parse__bad_reference_value_fails(void **state)
{
	char text[2048];

	(void)state;
	with_line(text, sizeof(text), 21, "ref_cpuid_single unknown");
	expect_error(text, "t.profile:21: bad value 'unknown' for "
			   "'ref_cpuid_single' (cycles from 0 to 100000000, "
			   "or none)");
}

static void test_profile_parse__bad_name_fails(void **state)
{
	char text[2048];

	(void)state;
	with_line(text, sizeof(text), 2, "name my/profile");
	expect_error(text, "t.profile:2: bad profile name 'my/profile' "
			   "(letters, digits, '.', '_' and '-'; at most 31)");
	with_line(text, sizeof(text), 2,
		  "name abcdefghijklmnopqrstuvwxyz012345");
	expect_error(text, "t.profile:2: bad profile name "
			   "'abcdefghijklmnopqrstuvwxyz012345' (letters, "
			   "digits, '.', '_' and '-'; at most 31)");
}

static void test_profile_parse__missing_key_is_named(void **state)
{
	char text[2048];

	(void)state;
	with_line(text, sizeof(text), 12, NULL);
	expect_error(text,
		     "t.profile: missing key 'vmx_insn' (every key must be "
		     "set; see docs/cost-model.md)");
	expect_error("", "t.profile: missing key 'name' (every key must be "
			 "set; see docs/cost-model.md)");
}

static void test_profile_parse__class_below_base_cpi_fails(void **state)
{
	char text[2048];

	(void)state;
	with_line(text, sizeof(text), 14, "rdmsr 1");
	expect_error(text, "t.profile:14: 'rdmsr' is 1, below 'insn' (2): an "
			   "instruction costs at least the base CPI");
}

static void test_profile_parse__nul_byte_fails(void **state)
{
	static const char text[] = "name x\n\0insn 1\n";
	struct l0_profile p;
	char err[256];

	(void)state;
	assert_int_equal(profile_parse("t.profile", text, sizeof(text) - 1, &p,
				       err, sizeof(err)),
			 -22);
	assert_string_equal(err, "t.profile:2: NUL byte (not a text file)");
}

/* The shipped profiles: each parses, and its name is its file name. */
static void test_profile_load__every_shipped_profile_parses(void **state)
{
	static const char *const names[] = { "p4-prescott", "nehalem",
					     "haswell", "skylake-sp",
					     "cascade-lake" };
	struct l0_profile p;
	char err[256] = "";

	(void)state;
	for (size_t k = 0; k < sizeof(names) / sizeof(names[0]); k++) {
		char path[128];

		snprintf(path, sizeof(path), "profiles/%s.profile", names[k]);
		assert_int_equal(profile_load(path, NULL, &p, err, sizeof(err)),
				 0);
		assert_string_equal(p.cost.name, names[k]);
	}
	/* Spot checks against the cited figures. */
	assert_int_equal(profile_load("profiles/p4-prescott.profile", NULL, &p,
				      err, sizeof(err)),
			 0);
	assert_int_equal(p.cost.vm_entry, 2409);
	assert_int_equal(p.cost.vm_exit, 1931);
	assert_int_equal(p.cost.vmread, 178);
	assert_int_equal(p.cost.vmwrite, 171);
	assert_int_equal(p.bt_translate_insn, 2300);
	assert_int_equal(p.bt_callout, 1254);
	assert_int_equal(p.bt_trap, 2030);
	assert_int_equal(p.bt_rdtsc_tc, 216);
	assert_int_equal(profile_load("profiles/nehalem.profile", NULL, &p, err,
				      sizeof(err)),
			 0);
	/* No published BT figures for Nehalem: none is made up. */
	assert_int_equal(p.bt_callout, PROFILE_REF_NONE);
	assert_int_equal(p.cost.vm_exit, 952);
	assert_int_equal(p.ref_cpuid_single, 2600);
	assert_int_equal(p.ref_cpuid_nested, 58000);
	assert_int_equal(p.freq_mhz, 2900);
}

static void test_profile_load__unknown_name_and_missing_file_fail(void **state)
{
	struct l0_profile p;
	char err[256] = "";

	(void)state;
	assert_int_equal(profile_load("pentium", NULL, &p, err, sizeof(err)),
			 -2);
	assert_string_equal(err, "--profile: no shipped profile named "
				 "'pentium' (p4-prescott, nehalem, haswell, "
				 "skylake-sp, cascade-lake; or give a file)");
	assert_int_equal(
		profile_load("no/such.profile", NULL, &p, err, sizeof(err)),
		-2);
	assert_string_equal(err, "--profile: cannot open 'no/such.profile': "
				 "No such file or directory");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(
			test_profile_parse__complete_file_gives_exact_values),
		cmocka_unit_test(
			test_profile_parse__unknown_key_names_file_and_line),
		cmocka_unit_test(
			test_profile_parse__duplicate_key_names_first_line),
		cmocka_unit_test(
			test_profile_parse__per_exit_reason_cost_is_optional),
		cmocka_unit_test(test_profile_parse__per_exit_reason_errors),
		cmocka_unit_test(test_profile_parse__key_without_value_fails),
		cmocka_unit_test(test_profile_parse__text_after_value_fails),
		cmocka_unit_test(test_profile_parse__non_number_value_fails),
		cmocka_unit_test(test_profile_parse__bad_reference_value_fails),
		cmocka_unit_test(test_profile_parse__bad_name_fails),
		cmocka_unit_test(
			test_profile_parse__freq_mhz_is_optional_and_checked),
		cmocka_unit_test(test_profile_parse__missing_key_is_named),
		cmocka_unit_test(test_profile_parse__bt_keys_all_or_none),
		cmocka_unit_test(
			test_profile_parse__class_below_base_cpi_fails),
		cmocka_unit_test(test_profile_parse__nul_byte_fails),
		cmocka_unit_test(
			test_profile_load__every_shipped_profile_parses),
		cmocka_unit_test(
			test_profile_load__unknown_name_and_missing_file_fail),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
