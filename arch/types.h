/* SPDX-License-Identifier: MIT */
/*
 * Scalar address types shared by every layer (model, monitor, guests).
 * Freestanding-safe: only <stdint.h>, <stddef.h> and <stdbool.h>.
 */
#ifndef NESTVM_ARCH_TYPES_H
#define NESTVM_ARCH_TYPES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef uint64_t gpa_t; /* guest-physical address (of the level in question) */
typedef uint64_t
	hpa_t; /* host-physical address: an offset in the model's arena */
typedef uint64_t gva_t; /* guest-linear address */

#define KiB(x) ((uint64_t)(x) << 10)
#define MiB(x) ((uint64_t)(x) << 20)
#define GiB(x) ((uint64_t)(x) << 30)

#define PAGE_SHIFT 12
#define PAGE_SIZE (1ull << PAGE_SHIFT)
#define PAGE_MASK (~(PAGE_SIZE - 1))

#define ALIGN_UP(x, a) (((x) + ((a)-1)) & ~((uint64_t)(a)-1))
#define ALIGN_DOWN(x, a) ((x) & ~((uint64_t)(a)-1))
#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#endif
