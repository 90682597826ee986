/* SPDX-License-Identifier: MIT */
/*
 * json_read - the cmocka face of eval/json_read.h for the whole-stack
 * tests: the same strict reader, with lookups that fail the calling test
 * instead of returning an error. Tests only.
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

#include "eval/json_read.h"
#include "tests/lib/json_read.h"

/* Larger than any report or table the tests read. */
#define JS_FILE_MAX (64u << 20)

char *read_file(const char *path)
{
	char *buf = NULL;
	int ret = json_doc_read_file(path, JS_FILE_MAX, &buf);

	if (ret)
		fail_msg("cannot read %s: %s", path, strerror(-ret));
	return buf;
}

bool js_valid(const char *doc)
{
	return json_doc_valid(doc);
}

const char *js_find(const char *doc, const char *path)
{
	return json_doc_find(doc, path);
}

unsigned long long js_u64(const char *doc, const char *path)
{
	uint64_t n = 0;
	int ret = json_doc_u64(doc, path, &n);

	if (ret == -ENOENT)
		fail_msg("no %s in the report:\n%s", path, doc);
	if (ret)
		fail_msg("%s is not an unsigned integer", path);
	return n;
}

size_t js_count(const char *doc, const char *path)
{
	size_t n = 0;

	if (json_doc_count(doc, path, &n))
		fail_msg("no object or array %s in the report", path);
	return n;
}

bool js_string_is(const char *doc, const char *path, const char *want)
{
	char buf[256];

	return !json_doc_string(doc, path, buf, sizeof(buf)) &&
	       !strcmp(buf, want);
}

/* Element i of the array whose text starts at arr, or NULL: the reader's
 * numeric path element does the walk. */
const char *js_elem(const char *arr, size_t i)
{
	char path[24];

	if (!arr || *arr != '[')
		return NULL;
	snprintf(path, sizeof(path), "%zu", i);
	return json_doc_find(arr, path);
}

/* The number at path (integer or not), or fails. */
double js_number_at(const char *doc, const char *path)
{
	const char *v = js_find(doc, path);
	char *end;
	double d;

	if (!v)
		fail_msg("no %s in the document", path);
	d = strtod(v, &end);
	if (end == v)
		fail_msg("%s is not a number", path);
	return d;
}
