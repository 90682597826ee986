/* SPDX-License-Identifier: MIT */
/*
 * bt_l2.h - --bt adaptive|always: L2's hot code regions run from L0's
 * translation cache in a container VMCS on a shadow MMU over L2's page
 * tables (L2-physical through ept12 to L1-physical); an exiting
 * instruction L1 wants becomes a reflected exit without a world switch
 * into L1's translated handler (l0/bt_l1.h), whose VMRESUME comes back to
 * the translation (docs/design/bt.md). SDM Vol. 3C 26.1 (what exits),
 * 28.2 (exit information). Monitor side.
 */
#ifndef NESTVM_L0_BT_L2_H
#define NESTVM_L0_BT_L2_H

#include <stdbool.h>
#include <stddef.h>

#include "l0/bt/bt.h"
#include "l0/bt_l1.h"
#include "l0/options.h"
#include "l0/profile.h"
#include "l0/vm.h"
#include "mmu/shadow.h"

/* L2's translation cache: 1 MiB, the vCPU page included. */
#define L0_BT_L2_TC_SIZE (256u * 4096u)
/* Code regions tracked (4 KiB pages of L2-linear RIP). */
#define L0_BT_L2_REGIONS 64
/* The adaptive window: L2 instructions, run on VT-x or translated. */
#define L0_BT_L2_WINDOW 10000u
/* Region switches kept for the run summary. */
#define L0_BT_L2_EVENTS 16

struct l0_bt_l2_region {
	uint64_t page; /* L2-linear, 4 KiB aligned */
	uint64_t exits; /* entries after an exit in the window */
	uint64_t total; /* ... over the run */
	bool hot; /* translated */
};

struct l0_bt_l2 {
	struct l0_vm *vm;
	struct l0_bt_l1 *l1;
	enum nestvm_bt_mode mode;
	uint64_t translate_insn, callout; /* the profile's charges */
	struct bt bt;
	struct shadow_mmu shadow; /* L2's tables, gpa_xlate through ept12 */
	hpa_t container;
	uint64_t tc_pml4e;
	bool ready, shadow_ready, ran;
	uint64_t cr3; /* L2's CR3 the TC was made under */
	uint64_t seen_l1, seen_l2; /* insns_l1, insns_l2 at the last run */
	uint64_t window_start; /* L2 instructions at the window's start */
	struct l0_bt_l2_region regions[L0_BT_L2_REGIONS];
	unsigned int nr_regions;
	/* L1-physical pages pinned read-only in L1's shadow: L2's page
	 * tables and translated code pages. */
	gpa_t *pins;
	size_t nr_pins, cap_pins;
	/* The next entry runs on VT-x (after a fallback at an instruction
	 * the translation cannot run). */
	bool force_hw;
	/* A translated exiting instruction L1 wants. */
	bool reflect;
	struct nested_exit_info exit;
	enum l0_bt_fallback cause;
	char events[L0_BT_L2_EVENTS][160];
	unsigned int nr_events;
	uint64_t break_even; /* the last break-even computed, exits */
};

/*
 * Sets up --bt mode on vm, after l0_bt_l1_init(): L2's container, TC and
 * (on the first translated run) its shadow; vm->bt_l2_run hooked. 0, or
 * -errno with one line in err.
 */
int l0_bt_l2_init(struct l0_bt_l2 *b, struct l0_bt_l1 *l1, struct l0_vm *vm,
		  const struct l0_profile *prof, enum nestvm_bt_mode mode,
		  char *err, size_t errlen);
void l0_bt_l2_destroy(struct l0_bt_l2 *b);

#endif
