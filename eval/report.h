/* SPDX-License-Identifier: MIT */
/*
 * report.h - the results of `nestvm eval` (one per run: its
 * configuration, command, status and the numbers read from its --json
 * report and guest output) and the report built from them: report.md's
 * tables next to the published figures of eval/reference.txt,
 * results.json (every run, every reference, every table cell with the
 * run it comes from) and the gnuplot scripts of the plots. Host side;
 * nothing here runs a guest.
 */
#ifndef NESTVM_EVAL_REPORT_H
#define NESTVM_EVAL_REPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "eval/experiment.h"

/* EVAL_METRIC(id, key): the numbers one run yields, as results.json
 * names them. "per exit" is per L2 exit of the workload's unit that L0
 * reflected to L1 (docs/evaluation.md). */
#define EVAL_METRICS(X)                                    \
	X(EXIT_STATUS, "exit_status")                      \
	X(INSNS, "insns")                                  \
	X(CYCLES, "cycles")                                \
	X(GUEST_CYCLES, "guest_cycles")                    \
	X(L1_EXITS_TOTAL, "l1_exits")                      \
	X(L2_EXITS_TOTAL, "l2_exits")                      \
	X(UNIT_EXITS, "unit_exits")                        \
	X(WORLD_SWITCHES_TOTAL, "world_switches")          \
	X(L1_EXITS, "l1_exits_per_exit")                   \
	X(WORLD_SWITCHES, "world_switches_per_exit")       \
	X(VMREADS_TRAPPED, "vmreads_trapped_per_exit")     \
	X(VMREADS_SHADOWED, "vmreads_shadowed_per_exit")   \
	X(VMWRITES_TRAPPED, "vmwrites_trapped_per_exit")   \
	X(VMWRITES_SHADOWED, "vmwrites_shadowed_per_exit") \
	X(VMX_ACCESSES, "vmx_accesses_per_exit")           \
	X(VMCS02_WRITES, "vmcs02_writes_per_exit")         \
	X(EXIT_CYCLES, "cycles_per_exit")                  \
	X(SWITCH_CYCLES, "switch_cycles_per_exit")         \
	X(L0_CYCLES, "l0_cycles_per_exit")                 \
	X(L1_CYCLES, "l1_cycles_per_exit")                 \
	X(L2_CYCLES, "l2_cycles_per_exit")                 \
	X(EPT02_FILLS, "ept02_fills")                      \
	X(EPT02_PAGES, "ept02_table_pages")                \
	X(BT_BREAK_EVEN, "bt_break_even")

enum eval_metric {
#define X(id, key) EVAL_M_##id,
	EVAL_METRICS(X)
#undef X
		EVAL_NR_METRICS
};

const char *eval_metric_key(enum eval_metric m);

#define EVAL_CMD_MAX 8192
#define EVAL_NEEDS_MAX 256

struct eval_run {
	struct eval_config cfg;
	char id[256]; /* file stem in OUT/runs and the id in results.json */
	char command[EVAL_CMD_MAX]; /* the shell command line */
	/* Not run: the feature `nestvm run` refused ("needs --mmu shadow")
	 * and its one-line error. */
	char needs[EVAL_NEEDS_MAX], refusal[EVAL_NEEDS_MAX];
	bool ok; /* ran, exit status 0, report read */
	int status; /* the process's exit status, -errno: not started */
	bool has_wall;
	double seconds;
	bool has[EVAL_NR_METRICS];
	double val[EVAL_NR_METRICS];
};

struct eval_results {
	const struct eval_data *d;
	bool full; /* the size: --full or --quick */
	const char *reference; /* eval/reference.txt */
	size_t nr_runs;
	struct eval_run *runs;
	double wall_total; /* seconds for all runs, 0 when merged */
};

/* The sections a report knows, in order; an experiment names one. */
bool report_section_known(const char *section);

/*
 * Writes out/report.md, out/results.json and out/PLOT.gp for each plot
 * (drawing out/PLOT.svg when gnuplot runs on it; the names go into
 * plots[] and *nr_plots, at most max_plots), and prints the summary
 * tables on summary. 0, or -errno / -EINVAL with the reason in err.
 */
int report_write(const struct eval_results *r, const char *out, FILE *summary,
		 char plots[][64], size_t max_plots, size_t *nr_plots,
		 char *err, size_t errlen);

#endif
