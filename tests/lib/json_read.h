/* SPDX-License-Identifier: MIT */
/*
 * json_read - a strict reader for the JSON nestvm writes (RFC 8259: what it
 * forbids is refused), with lookups by dotted path, for the whole-stack
 * tests that check --json reports, over the shared reader of
 * eval/json_read.h. Host side, tests only; failures to read
 * a file fail the calling cmocka test.
 */
#ifndef NESTVM_TESTS_JSON_READ_H
#define NESTVM_TESTS_JSON_READ_H

#include <stdbool.h>
#include <stddef.h>

/* The whole file, NUL-terminated (malloc'd); fails the test if unreadable. */
char *read_file(const char *path);
/* Whether doc is exactly one valid JSON value. */
bool js_valid(const char *doc);
/* The value at a dotted path ("levels.L1.exits"), or NULL. */
const char *js_find(const char *doc, const char *path);
/* The unsigned integer at path; fails the test if there is none. */
unsigned long long js_u64(const char *doc, const char *path);
/* The number of members or elements of the object or array at path. */
size_t js_count(const char *doc, const char *path);
/* Whether the string at path is want. */
bool js_string_is(const char *doc, const char *path, const char *want);

/* Element i of the array whose text starts at arr (a js_find() result
 * or another element), or NULL past its end; js_find() works on an
 * element that is an object. */
const char *js_elem(const char *arr, size_t i);
/* The number at path, integer or not; fails the test if there is none. */
double js_number_at(const char *doc, const char *path);

#endif
