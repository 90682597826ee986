/* SPDX-License-Identifier: MIT */
/*
 * json_read.c - the strict JSON reader of eval/json_read.h: a recursive
 * descent over RFC 8259's grammar that only skips values, plus lookups
 * that walk a document by member name or array index. Nothing is copied
 * except what the caller asks for. Host side.
 */
#include "eval/json_read.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define JSON_DEPTH_LIMIT 64

int json_doc_read_file(const char *path, size_t max, char **out)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	size_t cap = 0, n = 0;
	int ret = 0;

	if (!f)
		return -errno;
	for (;;) {
		size_t got;

		if (n + 1 >= cap) {
			char *nb;

			if (cap > max) {
				ret = -EFBIG;
				break;
			}
			cap = cap ? cap * 2 : 4096;
			nb = realloc(buf, cap);
			if (!nb) {
				ret = -ENOMEM;
				break;
			}
			buf = nb;
		}
		got = fread(buf + n, 1, cap - n - 1, f);
		n += got;
		if (n > max) {
			ret = -EFBIG;
			break;
		}
		if (!got) {
			if (ferror(f))
				ret = -EIO;
			break;
		}
	}
	fclose(f);
	if (!ret && memchr(buf, '\0', n))
		ret = -EINVAL;
	if (ret) {
		free(buf);
		return ret;
	}
	buf[n] = '\0';
	*out = buf;
	return 0;
}

static void json_ws(const char **p)
{
	while (**p == ' ' || **p == '\t' || **p == '\n' || **p == '\r')
		(*p)++;
}

/*
 * A string at *p; its text into out (when out is not NULL), escapes
 * resolved to the escaped character and \uXXXX to '?'. *truncated is set
 * when out was too short. false for anything RFC 8259 section 7 forbids.
 */
static bool json_string(const char **p, char *out, size_t outlen,
			bool *truncated)
{
	const char *s = *p;
	size_t n = 0;

	if (*s++ != '"')
		return false;
	while (*s != '"') {
		char c = *s;

		if ((unsigned char)c < 0x20)
			return false; /* also the terminating NUL */
		if (c == '\\') {
			s++;
			if (*s == 'u') {
				for (int i = 1; i <= 4; i++)
					if (!isxdigit((unsigned char)s[i]))
						return false;
				c = '?';
				s += 4;
			} else if (*s && strchr("\"\\/bfnrt", *s)) {
				static const char from[] = "bfnrt";
				static const char to[] = "\b\f\n\r\t";
				const char *e = strchr(from, *s);

				c = e ? to[e - from] : *s;
			} else {
				return false;
			}
		}
		s++;
		if (out && n + 1 < outlen)
			out[n++] = c;
		else if (out && truncated)
			*truncated = true;
	}
	if (out)
		out[n] = '\0';
	*p = s + 1;
	return true;
}

static bool json_digits(const char **p)
{
	if (!isdigit((unsigned char)**p))
		return false;
	while (isdigit((unsigned char)**p))
		(*p)++;
	return true;
}

static bool json_number(const char **p)
{
	if (**p == '-')
		(*p)++;
	if (**p == '0')
		(*p)++;
	else if (!json_digits(p))
		return false;
	if (**p == '.') {
		(*p)++;
		if (!json_digits(p))
			return false;
	}
	if (**p == 'e' || **p == 'E') {
		(*p)++;
		if (**p == '+' || **p == '-')
			(*p)++;
		if (!json_digits(p))
			return false;
	}
	return true;
}

static bool json_value(const char **p, int depth);

/* An object or array body after its opening bracket. */
static bool json_members(const char **p, bool object, int depth)
{
	char close = object ? '}' : ']';

	json_ws(p);
	if (**p == close) {
		(*p)++;
		return true;
	}
	for (;;) {
		if (object) {
			if (!json_string(p, NULL, 0, NULL))
				return false;
			json_ws(p);
			if (**p != ':')
				return false;
			(*p)++;
		}
		if (!json_value(p, depth + 1))
			return false;
		json_ws(p);
		if (**p == close) {
			(*p)++;
			return true;
		}
		if (**p != ',')
			return false;
		(*p)++;
		json_ws(p);
	}
}

static bool json_literal(const char **p, const char *word)
{
	size_t len = strlen(word);

	if (strncmp(*p, word, len))
		return false;
	*p += len;
	return true;
}

static bool json_value(const char **p, int depth)
{
	json_ws(p);
	if (depth > JSON_DEPTH_LIMIT)
		return false;
	switch (**p) {
	case '{':
		(*p)++;
		return json_members(p, true, depth);
	case '[':
		(*p)++;
		return json_members(p, false, depth);
	case '"':
		return json_string(p, NULL, 0, NULL);
	case 't':
		return json_literal(p, "true");
	case 'f':
		return json_literal(p, "false");
	case 'n':
		return json_literal(p, "null");
	default:
		return json_number(p);
	}
}

bool json_doc_valid(const char *doc)
{
	const char *p = doc;

	if (!json_value(&p, 0))
		return false;
	json_ws(&p);
	return *p == '\0';
}

bool json_doc_next_member(const char **it, char key[JSON_KEY_MAX],
			  const char **val)
{
	const char *p = *it;
	bool truncated = false;

	json_ws(&p);
	if (*p == '{' || *p == ',')
		p++;
	json_ws(&p);
	if (*p != '"' || !json_string(&p, key, JSON_KEY_MAX, &truncated))
		return false;
	if (truncated)
		key[0] = '\0'; /* never matches a real name by accident */
	json_ws(&p);
	if (*p != ':')
		return false;
	p++;
	json_ws(&p);
	*val = p;
	if (!json_value(&p, 0))
		return false;
	json_ws(&p);
	*it = p;
	return true;
}

/* The element at index idx of the array at p, or NULL. */
static const char *json_index(const char *p, unsigned long idx)
{
	p++; /* '[' */
	json_ws(&p);
	if (*p == ']')
		return NULL;
	for (unsigned long i = 0;; i++) {
		const char *v = p;

		if (i == idx)
			return v;
		if (!json_value(&p, 0))
			return NULL;
		json_ws(&p);
		if (*p != ',')
			return NULL;
		p++;
		json_ws(&p);
	}
}

const char *json_doc_find(const char *doc, const char *path)
{
	const char *p = doc;

	json_ws(&p);
	while (*path) {
		size_t len = strcspn(path, ".");
		char key[JSON_KEY_MAX];
		const char *it = p, *val = NULL;
		bool found = false;

		if (*p == '[') {
			char *end;
			unsigned long idx = strtoul(path, &end, 10);

			if (!len || end != path + len ||
			    !isdigit((unsigned char)*path))
				return NULL;
			p = json_index(p, idx);
			if (!p)
				return NULL;
			path += len + (path[len] == '.');
			continue;
		}
		if (*p != '{')
			return NULL;
		while (json_doc_next_member(&it, key, &val)) {
			if (strlen(key) == len && !strncmp(key, path, len)) {
				found = true;
				break;
			}
		}
		if (!found)
			return NULL;
		p = val;
		path += len + (path[len] == '.');
	}
	return p;
}

int json_doc_u64(const char *doc, const char *path, uint64_t *out)
{
	const char *v = json_doc_find(doc, path);
	uint64_t n = 0;

	if (!v)
		return -ENOENT;
	if (!isdigit((unsigned char)*v))
		return -EINVAL;
	for (; isdigit((unsigned char)*v); v++) {
		unsigned int d = (unsigned int)(*v - '0');

		if (n > (UINT64_MAX - d) / 10)
			return -EINVAL;
		n = n * 10 + d;
	}
	if (*v == '.' || *v == 'e' || *v == 'E')
		return -EINVAL;
	*out = n;
	return 0;
}

int json_doc_string(const char *doc, const char *path, char *buf, size_t len)
{
	const char *v = json_doc_find(doc, path);
	bool truncated = false;

	if (!v)
		return -ENOENT;
	if (!len || *v != '"' || !json_string(&v, buf, len, &truncated) ||
	    truncated)
		return -EINVAL;
	return 0;
}

int json_doc_count(const char *doc, const char *path, size_t *n)
{
	const char *p = json_doc_find(doc, path);
	size_t count = 0;

	if (!p)
		return -ENOENT;
	if (*p != '{' && *p != '[')
		return -EINVAL;
	if (*p == '{') {
		char key[JSON_KEY_MAX];
		const char *val;

		while (json_doc_next_member(&p, key, &val))
			count++;
	} else {
		bool empty;

		p++;
		json_ws(&p);
		empty = *p == ']';
		while (!empty) {
			if (!json_value(&p, 0))
				return -EINVAL;
			count++;
			json_ws(&p);
			if (*p != ',')
				break;
			p++;
		}
	}
	*n = count;
	return 0;
}
