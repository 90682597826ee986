/* SPDX-License-Identifier: MIT */
/*
 * trace.h - traces of a run (--trace, --trace-json, --trace-limit): a text
 * trace in the style of Linux's kvm_exit, kvm_nested_vmexit,
 * kvm_nested_vmexit_inject and kvm_nested_vmenter tracepoints (their field
 * names and layouts, as VMX fills them) with the modeled timestamp, and a
 * Chrome trace-event JSON with one slice per stay in L0, L1 and L2 for
 * Perfetto. Monitor side; docs/user-guide.md "Traces".
 */
#ifndef NESTVM_L0_TRACE_H
#define NESTVM_L0_TRACE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct l0_vm;
struct l0_trace;
struct nested_exit_info;
struct vtx_cpu;

/* --trace-limit's default: events recorded before the trace stops. */
#define TRACE_LIMIT_DEFAULT 100000ull

/*
 * The hook sites in l0/ test this and nothing else when no trace was
 * asked for: one predictable branch on a NULL pointer. Building with
 * -DNESTVM_NO_TRACE removes the hooks altogether (to measure them).
 */
#ifdef NESTVM_NO_TRACE
#define L0_TRACING(vm) ((void)(vm), 0)
#else
#define L0_TRACING(vm) __builtin_expect((vm)->trace != NULL, 0)
#endif

struct trace_config {
	const char *text_path; /* --trace FILE, or NULL */
	const char *json_path; /* --trace-json FILE, or NULL */
	uint64_t limit; /* events recorded at most; 0: no limit */
	const char *profile; /* the cost profile's name */
	uint64_t freq_mhz; /* its clock; 0: not given */
	bool native; /* --native: no monitor, nothing exits to nestvm */
};

/* What the trace recorded (the run report prints it). */
struct trace_summary {
	uint64_t events; /* recorded */
	uint64_t dropped; /* met after the limit, not recorded */
	uint64_t limit; /* 0: none */
	bool truncated;
};

/*
 * Creates the trace files under temporary names next to the paths
 * asked for (renamed into place by trace_finish()), so that a bad path
 * is one error before anything runs. *out is NULL when neither path is
 * given. 0, or -errno with one line in err ("--trace: cannot create ...").
 */
int trace_open(const struct trace_config *cfg, struct l0_trace **out, char *err,
	       size_t errlen);

/* The vCPU whose modeled clock timestamps the events. */
void trace_set_cpu(struct l0_trace *t, struct vtx_cpu *cpu);

/*
 * Ends the trace at the run's end (the vCPU's clock now), closes the
 * JSON document whatever stopped the run, and renames the files into
 * place. 0, or -errno with one line in err (the files are removed).
 */
int trace_finish(struct l0_trace *t, const char *how_ended, char *err,
		 size_t errlen);

/* Removes unfinished files and frees t (NULL is fine). */
void trace_free(struct l0_trace *t);

void trace_get_summary(const struct l0_trace *t, struct trace_summary *s);

/* ---- hooks (callers test L0_TRACING(vm) first) ---------------------------- */

/*
 * A run of L1 (l2 false) or L2 from VM entry to VM exit or stop, between
 * the modeled clocks start and end; exited: it ended in a VM exit, whose
 * information is in the current VMCS (kvm_exit, and kvm_nested_vmexit for
 * L2).
 */
void l0_trace_run(struct l0_vm *vm, bool l2, uint64_t start, uint64_t end,
		  bool exited);

/* L1's VMLAUNCH/VMRESUME passed the VMfail checks: kvm_nested_vmenter. */
void l0_trace_nested_vmenter(struct l0_vm *vm);

/* An L2 exit reflected to L1, its exit information now in vmcs12:
 * kvm_nested_vmexit_inject. */
void l0_trace_nested_vmexit_inject(struct l0_vm *vm);

/* L1's trapped VMREAD (write false) or VMWRITE of field, val the value
 * read or written: nvmx_vmread / nvmx_vmwrite (nestvm's own events). */
void l0_trace_nvmx_access(struct l0_vm *vm, bool write, uint32_t field,
			  uint64_t val);

/*
 * A native run: the image ran on the machine as L0 for the whole run
 * (cycles modeled cycles, insns instructions, vm_exits the VM exits of
 * its own guests, which reach no monitor and are not traced one by one).
 */
void trace_native_run(struct l0_trace *t, uint64_t cycles, uint64_t insns,
		      uint64_t vm_exits);

#endif
