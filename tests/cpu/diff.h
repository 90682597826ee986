/* SPDX-License-Identifier: MIT */
/*
 * diff.h - the differential CPU tester's internals: one random user-mode
 * instruction case, what running it produced (on the host CPU or in the
 * model), the generator, and the two runners. SDM Vol. 1 ch. 3-7 and
 * Vol. 2 define the semantics compared. Host side, tests only; the model
 * is reached through vtx/vtx.h.
 */
#ifndef NESTVM_TESTS_CPU_DIFF_H
#define NESTVM_TESTS_CPU_DIFF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * The case region: five pages at the same linear address on the host and
 * in the model, so that addresses in registers, displacements and
 * RIP-relative operands mean the same thing on both sides.
 *
 *   +0x0000  code page: the case's instruction ends at DIFF_INSN_END
 *   +0x1000  gap: never mapped (an access below the sandbox faults)
 *   +0x2000  sandbox: two data pages, random bytes, stack and operands
 *   +0x4000  guard: never mapped (an access past the sandbox faults)
 */
#define DIFF_CODE_OFF 0x0000u
#define DIFF_GAP_OFF 0x1000u
#define DIFF_SANDBOX_OFF 0x2000u
#define DIFF_SANDBOX_SIZE 0x2000u
#define DIFF_GUARD_OFF 0x4000u
#define DIFF_REGION_SIZE 0x5000u
/* Every instruction ends here, so a RIP-relative displacement does not
 * depend on the instruction's length. */
#define DIFF_INSN_END 0x200u

#define DIFF_INSN_MAX 15

/* GPRs in ModRM/REX order, then RFLAGS. */
struct diff_state {
	uint64_t gpr[16];
	uint64_t rflags;
};

struct diff_form;

struct diff_case {
	uint64_t index; /* case number: (seed, index) regenerates it */
	const struct diff_form *form;
	uint8_t bytes[DIFF_INSN_MAX];
	unsigned int len;
	struct diff_state in;
	uint8_t mem[DIFF_SANDBOX_SIZE]; /* the sandbox before the case */
	/* What the SDM leaves undefined after this instruction with these
	 * inputs: arithmetic flags, and possibly a destination register (the
	 * bits in undef_reg_mask) or destination bytes in the sandbox. */
	uint64_t flags_undef;
	int undef_reg; /* -1: none */
	uint64_t undef_reg_mask;
	unsigned int undef_mem_off, undef_mem_len;
	const char *note; /* why something is masked, for the report */
};

/* The outcome of one run: the final state, or the state at a fault. */
struct diff_result {
	struct diff_state st;
	uint64_t rip;
	int vector; /* -1: the instruction retired; -2: see why */
	uint64_t error_code; /* #PF, #GP, #SS */
	uint64_t cr2; /* #PF */
	bool wild; /* model only: a fault outside the case region */
	char why[256]; /* model only: why it stopped, for vector -2 */
	uint8_t mem[DIFF_SANDBOX_SIZE];
};

/* ---- comparing two results (tests/cpu/diff_run.c) --------------------- */

#define DIFF_VECTOR 0x01 /* one faulted and the other did not, or not alike */
#define DIFF_RIP 0x02
#define DIFF_GPR 0x04
#define DIFF_FLAGS 0x08
#define DIFF_MEM 0x10
#define DIFF_FAULT_INFO 0x20 /* error code, or CR2 of a #PF */

struct diff_delta {
	unsigned int what; /* DIFF_* */
	uint32_t gprs; /* which GPRs differ */
	uint64_t flags_compared; /* the RFLAGS bits compared */
	unsigned int mem_first, mem_last; /* differing sandbox bytes */
};

/* Compares the two results of case c, ignoring what the SDM leaves
 * undefined. Returns d->what: 0 if they agree. */
unsigned int diff_compare(const struct diff_case *c,
			  const struct diff_result *a,
			  const struct diff_result *b, struct diff_delta *d);

/* ---- the case generator (tests/cpu/diff_gen.c) --------------------------- */

/* Where the region is, which the generator needs to aim memory operands;
 * `low`: it lies below 2 GiB, so 32-bit addresses and absolute
 * displacements can reach it. */
struct diff_where {
	uint64_t base;
	bool low;
};

/* Fills *c with case `index` of `seed`, drawn from the forms whose name
 * is `only` (case-insensitive), or from all forms if `only` is NULL. */
void diff_gen_case(struct diff_case *c, const struct diff_where *w,
		   uint64_t seed, uint64_t index, const char *only);
/* The form's name, as --only takes it. */
const char *diff_form_name(const struct diff_form *f);
/* True if `name` names a form (case-insensitive). */
bool diff_form_exists(const char *name);
/* The i-th form's name, or NULL past the end (for --list). */
const char *diff_form_name_at(size_t i);

/* ---- the host CPU (tests/cpu/diff_native.c) ------------------------------ */

struct diff_native;
/* Maps the case region and installs the fault handlers. 0 or -errno. */
int diff_native_create(struct diff_native **out);
void diff_native_destroy(struct diff_native *n);
void diff_native_where(const struct diff_native *n, struct diff_where *w);
/* Runs the case on the host CPU, at CPL 3, in this process. */
void diff_native_run(struct diff_native *n, const struct diff_case *c,
		     struct diff_result *r);

/* ---- the model (tests/cpu/diff_model.c) ---------------------------------- */

struct diff_model;
/* A machine whose page tables map the region at w->base. 0 or -errno. */
int diff_model_create(const struct diff_where *w, struct diff_model **out);
void diff_model_destroy(struct diff_model *m);
/* Runs exactly one instruction of the case in the model, at CPL 3. */
void diff_model_run(struct diff_model *m, const struct diff_case *c,
		    struct diff_result *r);

#endif
