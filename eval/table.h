/* SPDX-License-Identifier: MIT */
/*
 * table.h - the comparison table of `nestvm compare`: one column per
 * configuration (the single-level baseline, each nested strategy, each
 * published reference), one row per quantity per L2 exit of the
 * workload's unit, filled from the per-run --json reports; and its
 * outputs: text, Markdown, JSON and a gnuplot script (Turtles' Figure 10
 * style stacked bars). Host side; nothing here runs a guest.
 */
#ifndef NESTVM_EVAL_TABLE_H
#define NESTVM_EVAL_TABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/*
 * TABLE_ROW(id, key, label): the rows, in print order. key names the row
 * in compare.json and in eval/reference.txt; "per L2 exit" means per
 * exit of the workload's unit reason reflected to L1 (docs/evaluation.md).
 */
#define TABLE_ROWS(X)                                                        \
	X(L2_EXITS, "l2_exits", "L2 exits")                                  \
	X(L1_EXITS, "l1_exits", "L1 exits per L2 exit")                      \
	X(WORLD_SWITCHES, "world_switches", "world switches per L2 exit")    \
	X(VMREADS_TRAPPED, "vmreads_trapped", "VMREADs trapped per L2 exit") \
	X(VMREADS_SHADOWED, "vmreads_shadowed",                              \
	  "VMREADs shadowed per L2 exit")                                    \
	X(VMWRITES_TRAPPED, "vmwrites_trapped",                              \
	  "VMWRITEs trapped per L2 exit")                                    \
	X(VMWRITES_SHADOWED, "vmwrites_shadowed",                            \
	  "VMWRITEs shadowed per L2 exit")                                   \
	X(VMCS02_WRITES, "vmcs02_writes", "vmcs02 writes per L2 exit")       \
	X(CYCLES, "cycles", "cycles per L2 exit")                            \
	X(SWITCHES, "switches", "  mode switches")                           \
	X(L0, "l0", "  L0")                                                  \
	X(L1, "l1", "  L1")                                                  \
	X(L2, "l2", "  L2")                                                  \
	X(GUEST_CYCLES, "guest_cycles", "cycles per unit (guest RDTSC)")     \
	X(RATIO_TRAP, "ratio_trap", "ratio to trap")                         \
	X(RATIO_SINGLE, "ratio_single", "ratio to single level")

enum table_row {
#define X(id, key, label) TABLE_ROW_##id,
	TABLE_ROWS(X)
#undef X
		TABLE_NR_ROWS
};

enum table_kind {
	TABLE_SINGLE, /* l1-shim --native: one level of virtualization */
	TABLE_NESTED, /* l1-shim under L0 with one strategy */
	TABLE_REFERENCE, /* published figures (eval/reference.txt) */
};

/* A reference column's role: which ratio it is the base of. */
enum table_role {
	TABLE_ROLE_OTHER,
	TABLE_ROLE_TRAP,
	TABLE_ROLE_SINGLE,
};

#define TABLE_NAME_MAX 128
#define TABLE_TEXT_MAX 512

/* Totals read from one nested run's report, for compare.json. */
struct table_totals {
	uint64_t count, l1_exits, world_switches, vmreads_trapped;
	uint64_t vmreads_shadowed, vmwrites_trapped, vmwrites_shadowed;
	uint64_t vmcs02_writes, cycles, switches, l0, l1, l2_cycles;
	uint64_t run_cycles, run_insns, exit_status;
};

struct table_column {
	char name[TABLE_NAME_MAX]; /* "trap", "shadow/dirty", "single level" */
	enum table_kind kind;
	enum table_role role;
	/* The configuration (empty where it does not apply). */
	char strategy[32], prep[16], coherence[16];
	char profile[TABLE_NAME_MAX];
	char command[4 * 4096]; /* the run's shell command line */
	char report[4096]; /* the run's --json file */
	char source[TABLE_TEXT_MAX]; /* a reference's source */
	char why[TABLE_TEXT_MAX]; /* why ours differs, or "" */
	bool ok; /* the run succeeded and its report was read */
	struct table_totals t;
	bool has[TABLE_NR_ROWS];
	double val[TABLE_NR_ROWS];
	int trap_col, single_col; /* ratio bases, or -1 */
};

struct table {
	char workload[64], unit[64];
	uint64_t count; /* the workload's {n}, 0 if none */
	size_t nr_cols;
	struct table_column *cols;
};

/* The row's key and label (the label without the unit). */
const char *table_row_key(enum table_row row);
const char *table_row_label(enum table_row row);
/* The row whose key is key: 0, or -ENOENT. */
int table_row_find(const char *key, enum table_row *row);

/*
 * Fills col from a run's report (doc, json_doc_valid()) and, when the
 * workload has a result key, the guest's RESULT line in serial (may be
 * NULL). col->kind says which report to expect. 0, or -EINVAL with a
 * one-line message in err (a report of the wrong kind or without the
 * members the rows need).
 */
int table_fill_column(struct table_column *col, const char *unit,
		      const char *doc, const char *serial,
		      const char *result_key, char *err, size_t errlen);

/* Sets every column's ratio rows from its trap_col and single_col. */
void table_compute_ratios(struct table *t);

/* The table as text (aligned columns) or Markdown, with sources below. */
void table_print_text(const struct table *t, FILE *f);
void table_print_markdown(const struct table *t, FILE *f);
/* The table as JSON: every configuration, value and command. 0 or -EIO. */
int table_write_json(const struct table *t, FILE *f);
/* A gnuplot script drawing svg_name: the cycle split of every column
 * that has one, stacked. false when no column has one (nothing drawn). */
bool table_write_gnuplot(const struct table *t, FILE *f);

#endif
