/* SPDX-License-Identifier: MIT */
/*
 * report.h - what a run reports at its end (docs/user-guide.md): the
 * per-level table of a nested run on stderr (exits by reason, reflected
 * exits, world switches, VMREAD/VMWRITE, hidden and true faults,
 * instructions and modeled cycles per level and per reflected exit), and
 * the same as JSON (--json) for nested and native runs. Monitor side.
 */
#ifndef NESTVM_L0_REPORT_H
#define NESTVM_L0_REPORT_H

#include <stdio.h>

struct l0_vm;
struct trace_summary;
struct vtx_cpu_stats;

/* Version of the JSON layout ("nestvm_report"): bumped when a member
 * changes meaning or goes away, not when one is added. */
#define REPORT_JSON_VERSION 1

struct bt_stats;

struct report_input {
	const char *profile; /* the cost profile's name */
	const struct vtx_cpu_stats *st; /* the vCPU's counters at the end */
	const struct l0_vm *vm; /* the nested level, NULL for --native */
	int exit_status; /* nestvm's */
	/* --trace/--trace-json: what the trace recorded, or NULL. */
	const struct trace_summary *trace;
	/* --vmm bt: what the software VMM did (l0/bt/bt.h), or NULL. */
	const struct bt_stats *bt;
};

/* The nested run's table (in->vm must be set), one row a line, every
 * line starting "nestvm: ". */
void report_print_table(FILE *f, const struct report_input *in);

/* The JSON document. 0, or -EIO if writing failed (-EINVAL is a bug in
 * the report's layout). */
int report_write_json(FILE *f, const struct report_input *in);

#endif
