/* SPDX-License-Identifier: MIT */
/*
 * test_eval - the data readers of `nestvm compare`: the strict JSON
 * reader (eval/json_read.h), the workload and reference files
 * (eval/workload.h) with their file:line errors, and the table's values
 * from a report (eval/table.h). Host side.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "eval/json_read.h"
#include "eval/table.h"
#include "eval/workload.h"

static char path[256];

/* Writes text to a fresh temporary file; its name is in path. */
static void write_tmp(const char *text)
{
	const char *tmp = getenv("TMPDIR");
	int fd;

	snprintf(path, sizeof(path), "%s/nestvm-eval-XXXXXX",
		 tmp && *tmp ? tmp : P_tmpdir);
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
}

static void test_json_doc__strict_grammar_refused(void **state)
{
	(void)state;
	assert_true(
		json_doc_valid("{\"a\": [1, 2.5e3, \"x\\n\", true, null]}"));
	assert_false(json_doc_valid("{\"a\": 1,}"));
	assert_false(json_doc_valid("[01]"));
	assert_false(json_doc_valid("{\"a\" 1}"));
	assert_false(json_doc_valid("\"tab\there\""));
	assert_false(json_doc_valid("{} {}"));
	assert_false(json_doc_valid("[1] x"));
}

static void test_json_doc__paths_index_arrays(void **state)
{
	const char *doc = "{\"c\": [{\"n\": \"trap\", \"v\": 8}, "
			  "{\"n\": \"shadow\", \"v\": 2}], \"big\": "
			  "18446744073709551616, \"f\": 2.5}";
	char buf[16];
	uint64_t v = 0;
	size_t n = 0;

	(void)state;
	assert_true(json_doc_valid(doc));
	assert_int_equal(json_doc_u64(doc, "c.1.v", &v), 0);
	assert_int_equal(v, 2);
	assert_int_equal(json_doc_string(doc, "c.0.n", buf, sizeof(buf)), 0);
	assert_string_equal(buf, "trap");
	assert_int_equal(json_doc_count(doc, "c", &n), 0);
	assert_int_equal(n, 2);
	assert_int_equal(json_doc_count(doc, "", &n), 0);
	assert_int_equal(n, 3);
	assert_null(json_doc_find(doc, "c.2"));
	assert_null(json_doc_find(doc, "c.x"));
	assert_int_equal(json_doc_u64(doc, "big", &v), -EINVAL);
	assert_int_equal(json_doc_u64(doc, "f", &v), -EINVAL);
	assert_int_equal(json_doc_u64(doc, "none", &v), -ENOENT);
	assert_int_equal(json_doc_string(doc, "c.1.n", buf, 4), -EINVAL);
}

static void test_workload__finds_line_and_expands_count(void **state)
{
	struct workload w;
	char err[256], args[64];

	(void)state;
	write_tmp("# comment\n\n"
		  "hello  build/guests/hello.elf IO_INSTRUCTION - - a b  # c\n"
		  "loop   build/l.elf CPUID loop_cycles 7 x={n} {n}\n");
	assert_int_equal(workload_find(path, "loop", &w, err, sizeof(err)), 0);
	assert_string_equal(w.image, "build/l.elf");
	assert_string_equal(w.unit, "CPUID");
	assert_string_equal(w.result, "loop_cycles");
	assert_int_equal(w.count, 7);
	assert_int_equal(workload_expand_args(&w, 0, args, sizeof(args)), 0);
	assert_string_equal(args, "x=7 7");
	assert_int_equal(workload_expand_args(&w, 12, args, sizeof(args)), 0);
	assert_string_equal(args, "x=12 12");
	assert_int_equal(workload_expand_args(&w, 12, args, 5), -E2BIG);
	assert_int_equal(workload_find(path, "hello", &w, err, sizeof(err)), 0);
	assert_string_equal(w.result, "");
	assert_string_equal(w.args, "a b");
	assert_int_equal(workload_find(path, "x", &w, err, sizeof(err)),
			 -ENOENT);
	assert_non_null(strstr(err, "unknown workload 'x'"));
	assert_non_null(strstr(err, "has: hello, loop)"));
	unlink(path);
}

static void expect_bad_file(const char *text, const char *want)
{
	struct workload w;
	char err[512], full[512];

	write_tmp(text);
	assert_int_equal(workload_find(path, "a", &w, err, sizeof(err)),
			 -EINVAL);
	snprintf(full, sizeof(full), "%s:%s", path, want);
	assert_string_equal(err, full);
	unlink(path);
}

static void test_workload__bad_lines_name_file_and_line(void **state)
{
	(void)state;
	expect_bad_file("a b CPUID - -\nb x\n",
			"2: fewer than 5 fields (name image unit result count "
			"[args])");
	expect_bad_file("a b CPUID - 0 {n}\n",
			"1: bad count (a positive number, or -)");
	expect_bad_file("a b CPUID - 5 none\n",
			"1: a count needs {n} in args, and {n} a count");
	expect_bad_file("a/b img CPUID - -\n", "1: bad name");
	expect_bad_file("a img CPU$ID - -\n",
			"1: bad unit (an exit reason name such as CPUID)");
}

static void test_reference__columns_of_workload_and_profile(void **state)
{
	struct table_column *cols = NULL;
	size_t nr = 0;
	char err[512];

	(void)state;
	write_tmp("w nehalem T trap l1_exits=13 cycles=58500 | paper, 4.3\n"
		  "w haswell U other cycles=1 | elsewhere\n"
		  "v nehalem V single cycles=2 | another\n");
	assert_int_equal(reference_load(path, "w", "nehalem", &cols, &nr, err,
					sizeof(err)),
			 0);
	assert_int_equal(nr, 1);
	assert_string_equal(cols[0].name, "T");
	assert_int_equal(cols[0].role, TABLE_ROLE_TRAP);
	assert_true(cols[0].has[TABLE_ROW_L1_EXITS]);
	assert_true(cols[0].val[TABLE_ROW_CYCLES] == 58500.0);
	assert_false(cols[0].has[TABLE_ROW_L0]);
	assert_string_equal(cols[0].source, "paper, 4.3");
	free(cols);
	unlink(path);

	cols = NULL;
	nr = 0;
	write_tmp("w nehalem T trap ratio_trap=1 | x\n");
	assert_int_equal(reference_load(path, "w", "nehalem", &cols, &nr, err,
					sizeof(err)),
			 -EINVAL);
	assert_non_null(strstr(err, ":1: unknown key 'ratio_trap'"));
	free(cols);
	unlink(path);
}

static void test_table__nested_column_from_report(void **state)
{
	const char *doc =
		"{\"mode\": \"nested\", \"cycles\": 9, \"insns\": 9, "
		"\"exit_status\": 0, \"levels\": {\"L2\": {\"exits_by_reason\": "
		"{\"CPUID\": 4}}}, \"reflected\": {\"CPUID\": {\"count\": 4, "
		"\"l1_exits\": 32, \"world_switches\": 72, "
		"\"vmreads_trapped\": 20, \"vmreads_shadowed\": 0, "
		"\"vmwrites_trapped\": 4, \"vmwrites_shadowed\": 0, "
		"\"vmcs02_writes\": 400, \"cycles\": 1000, \"breakdown\": "
		"{\"switches\": 600, \"l0\": 300, \"l0_handlers\": 0, \"l1\": "
		"100}, \"l2_cycles\": 6}}}";
	struct table_column col = { .kind = TABLE_NESTED };
	char err[256];

	(void)state;
	assert_int_equal(table_fill_column(&col, "CPUID", doc,
					   "RESULT c 251 cycles\n", "c", err,
					   sizeof(err)),
			 0);
	assert_true(col.ok);
	assert_true(col.val[TABLE_ROW_L2_EXITS] == 4.0);
	assert_true(col.val[TABLE_ROW_L1_EXITS] == 8.0);
	assert_true(col.val[TABLE_ROW_WORLD_SWITCHES] == 18.0);
	assert_true(col.val[TABLE_ROW_CYCLES] == 251.5);
	assert_true(col.val[TABLE_ROW_SWITCHES] == 150.0);
	assert_true(col.val[TABLE_ROW_L2] == 1.5);
	assert_true(col.val[TABLE_ROW_GUEST_CYCLES] == 251.0);

	col = (struct table_column){ .kind = TABLE_SINGLE };
	assert_int_equal(table_fill_column(&col, "CPUID", doc, NULL, NULL, err,
					   sizeof(err)),
			 -EINVAL);
	assert_string_equal(err, "the report is not of a native run");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_json_doc__strict_grammar_refused),
		cmocka_unit_test(test_json_doc__paths_index_arrays),
		cmocka_unit_test(test_workload__finds_line_and_expands_count),
		cmocka_unit_test(test_workload__bad_lines_name_file_and_line),
		cmocka_unit_test(
			test_reference__columns_of_workload_and_profile),
		cmocka_unit_test(test_table__nested_column_from_report),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
