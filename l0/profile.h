/* SPDX-License-Identifier: MIT */
/*
 * profile.h - cost profiles as data files (profiles/NAME.profile): the
 * parser, a pure function from text to a profile or one error line, and
 * the loader that resolves `--profile NAME|FILE`. The format and every
 * key: docs/cost-model.md. Monitor side; nothing here prints or exits.
 */
#ifndef NESTVM_L0_PROFILE_H
#define NESTVM_L0_PROFILE_H

#include <stddef.h>

#include "vtx/vtx.h"

/* The profile nestvm runs with when no --profile is given. */
#define PROFILE_DEFAULT "nehalem"

/* A published figure the report prints next to ours: none given. */
#define PROFILE_REF_NONE UINT64_MAX

/*
 * The published cycles per CPUID round trip on the profile's machine,
 * printed next to the modeled ones and never charged (docs/cost-model.md):
 * the bare VMRESUME + CPUID exit loop, a single-level guest, a nested one.
 */
#define PROFILE_REFS(X)                                            \
	X(ref_cpuid_bare, "bare VM entry + CPUID exit round trip") \
	X(ref_cpuid_single, "CPUID in a single-level guest")       \
	X(ref_cpuid_nested, "CPUID in a nested guest")

/*
 * The software VMM's charges (docs/design/bt.md), optional: a profile
 * gives all of them or none; a key absent or "none" is PROFILE_REF_NONE,
 * and a run under binary translation refuses such a profile.
 */
#define PROFILE_BT_KEYS(X)                                              \
	X(bt_translate_insn, "cycles per guest instruction translated") \
	X(bt_callout, "cycles per callout into L0, emulation included") \
	X(bt_trap, "cycles per exception L0 takes from the guest")      \
	X(bt_rdtsc_tc, "cycles per RDTSC emulated in the translation cache")

/* The largest clock frequency a profile may give (freq_mhz). */
#define PROFILE_FREQ_MAX_MHZ 100000

struct l0_profile {
	struct vtx_cost_profile cost;
	/* The clock of the profile's machine in MHz, to turn modeled cycles
	 * into seconds in traces; optional (0: the profile gives none). */
	uint64_t freq_mhz;
#define PROFILE_REF_MEMBER(key, what) uint64_t key;
	PROFILE_REFS(PROFILE_REF_MEMBER)
	PROFILE_BT_KEYS(PROFILE_REF_MEMBER)
#undef PROFILE_REF_MEMBER
};

/*
 * Parses the text of a profile file; `file` names it in messages. Every
 * key must appear exactly once, except the optional freq_mhz and the
 * PROFILE_BT_KEYS (at most once; the BT keys all or none). 0, or -EINVAL with one line in err:
 * "FILE:LINE: what is wrong" (or "FILE: missing key 'K'").
 */
int profile_parse(const char *file, const char *text, size_t len,
		  struct l0_profile *out, char *err, size_t errlen);

/*
 * Loads `arg`: a path when it contains '/' or ends in ".profile", else
 * the name of a shipped profile, looked up as NAME.profile in
 * $NESTVM_PROFILE_DIR if set, else in the profiles/ directory one or two
 * levels above exe_dir (the build tree's layout). 0, or -errno with one
 * line in err.
 */
int profile_load(const char *arg, const char *exe_dir, struct l0_profile *out,
		 char *err, size_t errlen);

#endif
