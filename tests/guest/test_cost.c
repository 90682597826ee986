/* SPDX-License-Identifier: MIT */
/*
 * test_cost.c - the cost model through the whole stack: l1-shim running
 * Turtles' cpuid loop on the bare model gives exactly the pinned cycles
 * per CPUID round trip for a profile, --stats prints the cycles and the
 * published figures, and a bad --profile gives one clear line. Runs
 * build/nestvm (NESTVM_DEFAULT_PATH in the sanitizer variant).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tests/lib/run_cmd.h"

#ifndef NESTVM_DEFAULT_PATH
#define NESTVM_DEFAULT_PATH "build/nestvm"
#endif

#define TIMEOUT_S 120

static void run(const char *const argv[], struct cmd_result *res)
{
	if (run_cmd((char *const *)argv, TIMEOUT_S, res))
		fail_msg("cannot run %s", argv[0]);
}

/* The number after "prefix" in text, or fails. */
static unsigned long long number_after(const char *text, const char *prefix)
{
	const char *at = strstr(text, prefix);
	unsigned long long v;

	if (!at)
		fail_msg("'%s' not in:\n%s", prefix, text);
	assert_int_equal(sscanf(at + strlen(prefix), "%llu", &v), 1);
	return v;
}

/* cpuid_loop under l1-shim on the bare model: RESULT cycles per CPUID. */
static unsigned long long cpuid_native(const char *profile)
{
	const char *argv[] = { NESTVM_DEFAULT_PATH,
			       "run",
			       "--native",
			       "build/l1-shim.elf",
			       "--module",
			       "build/guests/cpuid_loop.elf",
			       "--append",
			       "-- 1000",
			       "--profile",
			       profile,
			       NULL };
	struct cmd_result res;
	unsigned long long v;

	run(argv, &res);
	assert_int_equal(res.exit_code, 0);
	assert_non_null(
		strstr(res.out, "RESULT cpuid_iterations 1000 count\n"));
	v = number_after(res.out, "RESULT cpuid_cycles_per_iter ");
	cmd_result_free(&res);
	return v;
}

/*
 * The single-level round trip, pinned per profile. The run is
 * deterministic, so any change to what is charged or to l1-shim's exit
 * handler shows here; docs/cost-model.md gives these figures next to the
 * published ones (Nehalem: vmlatency 952, Turtles ~2,600).
 */
static void test_cost__cpuid_round_trip_nehalem_is_pinned(void **state)
{
	(void)state;
	assert_int_equal(cpuid_native("nehalem"), 1524);
}

static void test_cost__cpuid_round_trip_p4_prescott_is_pinned(void **state)
{
	(void)state;
	assert_int_equal(cpuid_native("p4-prescott"), 5570);
}

/* A profile named by its file gives the same figure as by its name. */
static void test_cost__profile_by_file_equals_by_name(void **state)
{
	(void)state;
	assert_int_equal(cpuid_native("profiles/skylake-sp.profile"),
			 cpuid_native("skylake-sp"));
}

/* A guest without VMX under nehalem: every instruction 1 cycle, every
 * CPUID 100, everything else free, so cycles = insns + 99 x cpuids. */
static void test_cost__stats_cycles_equal_sum_for_plain_guest(void **state)
{
	const char *argv[] = { NESTVM_DEFAULT_PATH, "run",
			       "--native",	    "build/guests/hello.elf",
			       "--stats",	    "--profile",
			       "nehalem",	    NULL };
	struct cmd_result res;
	unsigned long long insns, cpuids, cycles;

	(void)state;
	run(argv, &res);
	assert_int_equal(res.exit_code, 0);
	insns = number_after(res.err, "nestvm: stats: insns ");
	cpuids = number_after(res.err, "nestvm: stats: cpuids ");
	cycles = number_after(res.err, "nestvm: stats: cycles ");
	assert_true(insns > 0);
	assert_int_equal(cycles, insns + 99 * cpuids);
	assert_int_equal(number_after(res.err, "nestvm: stats: cycles_root "),
			 cycles);
	assert_non_null(strstr(res.err, "nestvm: stats: profile nehalem\n"));
	assert_non_null(strstr(res.err,
			       "nestvm: stats: published_cpuid_round_trip "
			       "bare 952 single 2600 nested 58000 (profile "
			       "nehalem)\n"));
	cmd_result_free(&res);
}

static void expect_one_line_error(const char *profile, const char *want)
{
	const char *argv[] = { NESTVM_DEFAULT_PATH,
			       "run",
			       "--native",
			       "build/guests/hello.elf",
			       "--profile",
			       profile,
			       NULL };
	struct cmd_result res;

	run(argv, &res);
	assert_int_equal(res.exit_code, 125);
	assert_string_equal(res.out, "");
	assert_string_equal(res.err, want);
	cmd_result_free(&res);
}

static void test_cost__bad_profile_file_names_file_and_line(void **state)
{
	char path[] = "build/tests/guest/bad-XXXXXX.profile";
	char want[256];
	FILE *f;
	int fd;

	(void)state;
	fd = mkstemps(path, 8);
	assert_true(fd >= 0);
	f = fdopen(fd, "w");
	assert_non_null(f);
	fputs("name bad\n# comment\ninsn 1\nvm_exti 900 # typo\n", f);
	fclose(f);
	snprintf(want, sizeof(want),
		 "nestvm: %s:4: unknown key 'vm_exti' (the keys are listed in "
		 "docs/cost-model.md)\n",
		 path);
	expect_one_line_error(path, want);
	unlink(path);
}

static void test_cost__unknown_profile_name_is_one_line(void **state)
{
	(void)state;
	expect_one_line_error("pentium-pro",
			      "nestvm: --profile: no shipped profile named "
			      "'pentium-pro' (p4-prescott, nehalem, haswell, "
			      "skylake-sp, cascade-lake; or give a file)\n");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cost__cpuid_round_trip_nehalem_is_pinned),
		cmocka_unit_test(
			test_cost__cpuid_round_trip_p4_prescott_is_pinned),
		cmocka_unit_test(test_cost__profile_by_file_equals_by_name),
		cmocka_unit_test(
			test_cost__stats_cycles_equal_sum_for_plain_guest),
		cmocka_unit_test(
			test_cost__bad_profile_file_names_file_and_line),
		cmocka_unit_test(test_cost__unknown_profile_name_is_one_line),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
