/* SPDX-License-Identifier: MIT */
/*
 * json.c - the JSON writer of l0/json.h: values in the caller's order,
 * commas and indentation kept per nesting level, strings escaped as RFC
 * 8259 section 7 requires. Misuse is recorded, not fatal: the report
 * comes out unusable and json_finish() says so. Monitor side.
 */
#include "l0/json.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>

void json_init(struct json_writer *w, FILE *f)
{
	*w = (struct json_writer){ .f = f };
}

static void json_fail(struct json_writer *w, int err)
{
	if (!w->error)
		w->error = err;
}

static void json_indent(struct json_writer *w)
{
	fputc('\n', w->f);
	for (unsigned int i = 0; i < w->depth; i++)
		fputs("  ", w->f);
}

static void json_put_string(struct json_writer *w, const char *s)
{
	fputc('"', w->f);
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p == '"' || *p == '\\')
			fprintf(w->f, "\\%c", *p);
		else if (*p < 0x20)
			fprintf(w->f, "\\u%04x", *p);
		else
			fputc(*p, w->f);
	}
	fputc('"', w->f);
}

/*
 * Everything that comes before a value: the comma after the previous
 * member, the line break and indentation, and the member name. Returns
 * false (and records the misuse) where no value may go.
 */
static bool json_begin_value(struct json_writer *w, const char *key)
{
	unsigned int d = w->depth;

	if (w->error)
		return false;
	if (d == 0) {
		/* One top-level value, without a name. */
		if (key || w->has_member[0]) {
			json_fail(w, -EINVAL);
			return false;
		}
		w->has_member[0] = true;
		return true;
	}
	if (!key != !w->in_object[d - 1]) {
		json_fail(w, -EINVAL);
		return false;
	}
	if (w->has_member[d])
		fputc(',', w->f);
	w->has_member[d] = true;
	json_indent(w);
	if (key) {
		json_put_string(w, key);
		fputs(": ", w->f);
	}
	return true;
}

static void json_open(struct json_writer *w, const char *key, bool object)
{
	if (!json_begin_value(w, key))
		return;
	if (w->depth + 1 >= JSON_DEPTH_MAX) {
		json_fail(w, -EINVAL);
		return;
	}
	fputc(object ? '{' : '[', w->f);
	w->in_object[w->depth] = object;
	w->depth++;
	w->has_member[w->depth] = false;
}

static void json_close(struct json_writer *w, bool object)
{
	bool empty;

	if (w->error)
		return;
	if (!w->depth || w->in_object[w->depth - 1] != object) {
		json_fail(w, -EINVAL);
		return;
	}
	empty = !w->has_member[w->depth];
	w->depth--;
	if (!empty)
		json_indent(w);
	fputc(object ? '}' : ']', w->f);
}

void json_begin_object(struct json_writer *w, const char *key)
{
	json_open(w, key, true);
}

void json_end_object(struct json_writer *w)
{
	json_close(w, true);
}

void json_begin_array(struct json_writer *w, const char *key)
{
	json_open(w, key, false);
}

void json_end_array(struct json_writer *w)
{
	json_close(w, false);
}

void json_write_u64(struct json_writer *w, const char *key, uint64_t val)
{
	if (json_begin_value(w, key))
		fprintf(w->f, "%" PRIu64, val);
}

void json_write_string(struct json_writer *w, const char *key, const char *s)
{
	if (json_begin_value(w, key))
		json_put_string(w, s);
}

void json_write_double(struct json_writer *w, const char *key, double val)
{
	/* JSON has no NaN or infinity (RFC 8259 section 6). */
	if (!isfinite(val)) {
		json_fail(w, -EINVAL);
		return;
	}
	/* %.17g round-trips every double; -0 would be "-0", fine in JSON. */
	if (json_begin_value(w, key))
		fprintf(w->f, "%.17g", val);
}

void json_write_bool(struct json_writer *w, const char *key, bool val)
{
	if (json_begin_value(w, key))
		fputs(val ? "true" : "false", w->f);
}

int json_finish(struct json_writer *w)
{
	if (!w->error && (w->depth || !w->has_member[0]))
		json_fail(w, -EINVAL);
	if (!w->error) {
		fputc('\n', w->f);
		if (ferror(w->f))
			json_fail(w, -EIO);
	}
	return w->error;
}
