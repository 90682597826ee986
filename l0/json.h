/* SPDX-License-Identifier: MIT */
/*
 * json.h - a small JSON writer for nestvm's machine-readable report
 * (--json) and the compare tables: nested objects and arrays, unsigned
 * integers, doubles, strings and booleans, written to a stdio stream with
 * two-space indentation, in the order the caller gives (RFC 8259).
 * Monitor side; no dependency.
 */
#ifndef NESTVM_L0_JSON_H
#define NESTVM_L0_JSON_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

/* Deeper than any report nests; deeper calls are refused (error). */
#define JSON_DEPTH_MAX 16

struct json_writer {
	FILE *f;
	unsigned int depth; /* open objects and arrays */
	bool in_object[JSON_DEPTH_MAX]; /* else an array, per depth */
	bool has_member[JSON_DEPTH_MAX]; /* a comma goes before the next */
	int error; /* the first misuse (-EINVAL) or write error (-EIO) */
};

void json_init(struct json_writer *w, FILE *f);

/*
 * Every value takes a key: the member name inside an object, NULL for
 * the top-level value and for array elements (a key where none belongs,
 * or none where one does, is a misuse and sets w->error).
 */
void json_begin_object(struct json_writer *w, const char *key);
void json_end_object(struct json_writer *w);
void json_begin_array(struct json_writer *w, const char *key);
void json_end_array(struct json_writer *w);
void json_write_u64(struct json_writer *w, const char *key, uint64_t val);
/* s is written with '"', '\\' and control characters escaped. */
void json_write_string(struct json_writer *w, const char *key, const char *s);
/* A finite double, written so that it reads back exactly (%.17g); a NaN
 * or infinity is a misuse. */
void json_write_double(struct json_writer *w, const char *key, double val);
void json_write_bool(struct json_writer *w, const char *key, bool val);

/* Ends the document with a newline. 0, or the first error: -EINVAL for
 * a misuse or for objects and arrays left open, -EIO for a write. */
int json_finish(struct json_writer *w);

#endif
