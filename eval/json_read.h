/* SPDX-License-Identifier: MIT */
/*
 * json_read.h - a strict reader for the JSON nestvm writes (RFC 8259: what
 * it forbids is refused) with lookups by dotted path, shared by the
 * compare runner (merging per-run reports) and the whole-stack tests.
 * Nothing here prints or exits; host side, no dependency.
 */
#ifndef NESTVM_EVAL_JSON_READ_H
#define NESTVM_EVAL_JSON_READ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Longest member name a path lookup or member walk matches. */
#define JSON_KEY_MAX 128

/*
 * The whole file, NUL-terminated, in *out (malloc'd; the caller frees),
 * at most max bytes. 0, or -errno (-EFBIG when larger than max, -EINVAL
 * when it holds a NUL byte).
 */
int json_doc_read_file(const char *path, size_t max, char **out);

/* Whether doc is exactly one valid JSON value (nesting at most 64 deep). */
bool json_doc_valid(const char *doc);

/*
 * The text of the value at a dotted path ("levels.L1.exits"), or NULL.
 * A path element that is a decimal number indexes an array
 * ("configurations.0.name"); the empty path is the whole document.
 * doc must be json_doc_valid().
 */
const char *json_doc_find(const char *doc, const char *path);

/* The unsigned integer at path: 0, or -ENOENT (no such value) or
 * -EINVAL (not an unsigned integer that fits in 64 bits). */
int json_doc_u64(const char *doc, const char *path, uint64_t *out);

/* The string at path, unescaped (\uXXXX becomes '?') and cut to len - 1
 * bytes: 0, -ENOENT or -EINVAL (not a string, or it does not fit). */
int json_doc_string(const char *doc, const char *path, char *buf, size_t len);

/* Members of the object or elements of the array at path: 0, -ENOENT
 * or -EINVAL (neither an object nor an array). */
int json_doc_count(const char *doc, const char *path, size_t *n);

/*
 * Walks the members of an object: *it starts as the object's text (from
 * json_doc_find()); each call puts the next member's name in key and its
 * value's text in *val and returns true, or returns false after the last.
 */
bool json_doc_next_member(const char **it, char key[JSON_KEY_MAX],
			  const char **val);

#endif
