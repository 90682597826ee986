/* SPDX-License-Identifier: MIT */
/*
 * fuzz.h - what the fuzz targets share: the entry point each defines
 * (libFuzzer's LLVMFuzzerTestOneInput, or a per-target name when the
 * target is built into the corpus replay test), and the check that turns
 * a broken invariant into a crash the fuzzer reports. Host side, tests
 * only; docs/fuzzing.md.
 */
#ifndef NESTVM_TESTS_FUZZ_H
#define NESTVM_TESTS_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The replay build passes -DFUZZ_ENTRY=fuzz_<name>_one_input so that all
 * targets link into one executable; libFuzzer builds leave it alone. */
#ifndef FUZZ_ENTRY
#define FUZZ_ENTRY LLVMFuzzerTestOneInput
#endif

int FUZZ_ENTRY(const uint8_t *data, size_t size);

/* The entry points of the replay build (tests/fuzz/test_fuzz.c). */
int fuzz_elf_one_input(const uint8_t *data, size_t size);
int fuzz_profile_one_input(const uint8_t *data, size_t size);
int fuzz_vmcs12_one_input(const uint8_t *data, size_t size);
int fuzz_ept12_one_input(const uint8_t *data, size_t size);
int fuzz_l1vmx_one_input(const uint8_t *data, size_t size);
int fuzz_cmdline_one_input(const uint8_t *data, size_t size);

/* A broken invariant is a finding: say which and crash, so that the
 * fuzzer saves the input (abort() is what libFuzzer reports as one). */
#define FUZZ_CHECK(cond)                                                 \
	do {                                                             \
		if (!(cond)) {                                           \
			fprintf(stderr, "%s:%d: invariant broken: %s\n", \
				__FILE__, __LINE__, #cond);              \
			abort();                                         \
		}                                                        \
	} while (0)

/* A one-line error message: set, and without a newline. */
#define FUZZ_CHECK_ONE_LINE(msg)                         \
	do {                                             \
		FUZZ_CHECK((msg)[0] != '\0');            \
		FUZZ_CHECK(strchr((msg), '\n') == NULL); \
	} while (0)

#endif
