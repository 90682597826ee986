/* SPDX-License-Identifier: MIT */
/*
 * l1mem.h - L1's memory as L0 reaches it: the one bounds-checked
 * L1-physical to host-physical translation every L1-supplied address goes
 * through (ept01 is the identity on L1's RAM, mmu/ept.h), copies in and
 * out of L1 RAM, and the walk of L1's 4-level page tables that turns an
 * L1-linear operand address into an L1-physical one (SDM Vol. 3A 4.5
 * 4-level paging, 4.6 access rights, 4.7 page-fault error codes). Monitor
 * side.
 */
#ifndef NESTVM_MMU_L1MEM_H
#define NESTVM_MMU_L1MEM_H

#include "arch/types.h"

struct vtx_machine;

/* L1's RAM: guest-physical [0, size), host-physical the same range. */
struct l1_mem {
	struct vtx_machine *m;
	uint64_t size;
	unsigned int maxphyaddr; /* L1's physical-address width (CPUID) */
	/* Called after every l1mem_write() that wrote something, or NULL:
	 * the shadow MMU (mmu/shadow.h) zaps what it derived from those
	 * bytes, since L0's own writes bypass its write protection. */
	void (*on_write)(void *opaque, gpa_t gpa, uint64_t len);
	void *on_write_opaque;
};

/* Sets mem up; size must not exceed the machine's arena. 0 or -EINVAL. */
int l1mem_init(struct l1_mem *mem, struct vtx_machine *m, uint64_t size,
	       unsigned int maxphyaddr);

/*
 * The host-physical address of L1-physical [gpa, gpa + len): 0 with *hpa,
 * or -EFAULT when any byte lies outside L1's RAM (len 0 is never valid).
 * This is the only place that maps an L1 address to the arena.
 */
int l1mem_gpa_to_hpa(const struct l1_mem *mem, gpa_t gpa, uint64_t len,
		     hpa_t *hpa);

/* Copies from/to L1 RAM; 0 or -EFAULT (nothing copied) when any byte lies
 * outside it. Writes invalidate any decoded code there. */
int l1mem_read(const struct l1_mem *mem, gpa_t gpa, void *buf, uint64_t len);
int l1mem_write(const struct l1_mem *mem, gpa_t gpa, const void *buf,
		uint64_t len);

/*
 * A 64-bit entry of an L1 table (paging structure, ept12, bitmap word) at
 * gpa. Memory that is not L1 RAM reads as all ones, as a processor reads
 * an address nothing decodes; every table walk then sees reserved bits
 * set and fails the architectural way.
 */
uint64_t l1mem_read_u64_or_ones(const struct l1_mem *mem, gpa_t gpa);

/* L1's paging mode, as its control registers and flags give it. */
struct l1_paging {
	uint64_t cr0, cr3, cr4, efer, rflags;
};

/* The exception a failed linear access raises in L1. */
struct l1mem_fault {
	unsigned int vector; /* PF_VECTOR, or GP_VECTOR (non-canonical) */
	uint32_t error_code;
	gva_t address; /* the faulting linear address (CR2 for #PF) */
};

/*
 * Translates L1-linear gva for a supervisor data access (a write if
 * write). 0 with *gpa; -EFAULT with *fault filled in (the #PF or #GP L1
 * takes); -EOPNOTSUPP for a paging mode L0 does not walk (paging on
 * without IA-32e mode, or 5-level paging). Accessed and dirty flags are
 * not set.
 */
int l1mem_translate(const struct l1_mem *mem, const struct l1_paging *pg,
		    gva_t gva, bool write, gpa_t *gpa,
		    struct l1mem_fault *fault);

/*
 * Reads/writes len bytes at L1-linear gva, translating each page the
 * operand touches; returns as l1mem_translate(). Bytes at L1-physical
 * addresses outside L1's RAM read as all ones and are not written, as on a
 * bus where nothing answers.
 */
int l1mem_read_gva(const struct l1_mem *mem, const struct l1_paging *pg,
		   gva_t gva, void *buf, uint64_t len,
		   struct l1mem_fault *fault);
int l1mem_write_gva(const struct l1_mem *mem, const struct l1_paging *pg,
		    gva_t gva, const void *buf, uint64_t len,
		    struct l1mem_fault *fault);

#endif
