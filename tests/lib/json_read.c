/* SPDX-License-Identifier: MIT */
/*
 * json_read - the strict JSON reader of tests/lib/json_read.h. Tests only.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/lib/json_read.h"

char *read_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	long size;

	if (!f)
		fail_msg("cannot read %s", path);
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	size = ftell(f);
	assert_true(size >= 0);
	rewind(f);
	buf = calloc(1, (size_t)size + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)size, f), (size_t)size);
	fclose(f);
	return buf;
}

/*
 * A strict JSON reader (RFC 8259), enough to check the report: whether a
 * document is well formed, and the value at a path of member names
 * ("reflected.CPUID.count"). Written here so that the test needs nothing
 * beyond the C library.
 */
static void js_ws(const char **p)
{
	while (**p == ' ' || **p == '\t' || **p == '\n' || **p == '\r')
		(*p)++;
}

/* A string; its text (escapes kept as the escaped character) into out. */
static bool js_string(const char **p, char *out, size_t outlen)
{
	const char *s = *p;
	size_t n = 0;

	if (*s++ != '"')
		return false;
	while (*s != '"') {
		char c = *s;

		if ((unsigned char)c < 0x20)
			return false;
		if (c == '\\') {
			s++;
			if (*s == 'u') {
				for (int i = 1; i <= 4; i++)
					if (!isxdigit((unsigned char)s[i]))
						return false;
				c = '?';
				s += 4;
			} else if (*s && strchr("\"\\/bfnrt", *s)) {
				c = *s;
			} else {
				return false;
			}
		}
		s++;
		if (out && n + 1 < outlen)
			out[n++] = c;
	}
	if (out)
		out[n] = '\0';
	*p = s + 1;
	return true;
}

static bool js_digits(const char **p)
{
	if (!isdigit((unsigned char)**p))
		return false;
	while (isdigit((unsigned char)**p))
		(*p)++;
	return true;
}

static bool js_number(const char **p)
{
	if (**p == '-')
		(*p)++;
	if (**p == '0')
		(*p)++;
	else if (!js_digits(p))
		return false;
	if (**p == '.') {
		(*p)++;
		if (!js_digits(p))
			return false;
	}
	if (**p == 'e' || **p == 'E') {
		(*p)++;
		if (**p == '+' || **p == '-')
			(*p)++;
		if (!js_digits(p))
			return false;
	}
	return true;
}

static bool js_value(const char **p, int depth);

/* An object or array body after its opening bracket. */
static bool js_members(const char **p, bool object, int depth)
{
	char close = object ? '}' : ']';

	js_ws(p);
	if (**p == close) {
		(*p)++;
		return true;
	}
	for (;;) {
		if (object) {
			if (!js_string(p, NULL, 0))
				return false;
			js_ws(p);
			if (*(*p)++ != ':')
				return false;
		}
		if (!js_value(p, depth + 1))
			return false;
		js_ws(p);
		if (**p == close) {
			(*p)++;
			return true;
		}
		if (*(*p)++ != ',')
			return false;
		js_ws(p);
	}
}

static bool js_value(const char **p, int depth)
{
	js_ws(p);
	if (depth > 64)
		return false;
	switch (**p) {
	case '{':
		(*p)++;
		return js_members(p, true, depth);
	case '[':
		(*p)++;
		return js_members(p, false, depth);
	case '"':
		return js_string(p, NULL, 0);
	case 't':
		return !strncmp(*p, "true", 4) && (*p += 4, true);
	case 'f':
		return !strncmp(*p, "false", 5) && (*p += 5, true);
	case 'n':
		return !strncmp(*p, "null", 4) && (*p += 4, true);
	default:
		return js_number(p);
	}
}

bool js_valid(const char *doc)
{
	const char *p = doc;

	if (!js_value(&p, 0))
		return false;
	js_ws(&p);
	return *p == '\0';
}

/* The text of the value at path, or NULL. doc must be js_valid(). */
const char *js_find(const char *doc, const char *path)
{
	const char *p = doc;

	js_ws(&p);
	while (*path) {
		size_t len = strcspn(path, ".");
		char key[64];
		bool found = false;

		if (*p != '{')
			return NULL;
		p++;
		js_ws(&p);
		while (*p != '}') {
			assert_true(js_string(&p, key, sizeof(key)));
			js_ws(&p);
			p++; /* ':' */
			js_ws(&p);
			if (strlen(key) == len && !strncmp(key, path, len)) {
				found = true;
				break;
			}
			assert_true(js_value(&p, 0));
			js_ws(&p);
			if (*p == ',')
				p++;
			js_ws(&p);
		}
		if (!found)
			return NULL;
		path += len + (path[len] == '.');
	}
	return p;
}

/* The unsigned integer at path, or fails. */
unsigned long long js_u64(const char *doc, const char *path)
{
	const char *v = js_find(doc, path);
	char *end;
	unsigned long long n;

	if (!v)
		fail_msg("no %s in the report:\n%s", path, doc);
	if (!isdigit((unsigned char)*v))
		fail_msg("%s is not an unsigned integer", path);
	n = strtoull(v, &end, 10);
	if (*end == '.' || *end == 'e' || *end == 'E')
		fail_msg("%s is not an integer", path);
	return n;
}

/* How many members the object at path has, or fails. */
size_t js_count(const char *doc, const char *path)
{
	const char *p = js_find(doc, path);
	size_t n = 0;

	if (!p || *p != '{')
		fail_msg("no object %s in the report", path);
	p++;
	js_ws(&p);
	while (*p != '}') {
		assert_true(js_string(&p, NULL, 0));
		js_ws(&p);
		p++;
		assert_true(js_value(&p, 0));
		js_ws(&p);
		if (*p == ',')
			p++;
		js_ws(&p);
		n++;
	}
	return n;
}

/* Whether the string at path is want. */
bool js_string_is(const char *doc, const char *path, const char *want)
{
	const char *p = js_find(doc, path);
	char buf[64];

	return p && js_string(&p, buf, sizeof(buf)) && !strcmp(buf, want);
}

/* Element i of the array whose text starts at arr, or NULL. */
const char *js_elem(const char *arr, size_t i)
{
	const char *p = arr;

	if (!p || *p != '[')
		return NULL;
	p++;
	js_ws(&p);
	if (*p == ']')
		return NULL;
	for (size_t k = 0;; k++) {
		if (k == i)
			return p;
		assert_true(js_value(&p, 0));
		js_ws(&p);
		if (*p != ',')
			return NULL;
		p++;
		js_ws(&p);
	}
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
