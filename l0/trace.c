/* SPDX-License-Identifier: MIT */
/*
 * trace.c - the traces of l0/trace.h. The text trace prints one line per
 * event in the ftrace / `trace-cmd report` layout, with the fields and
 * formats of Linux's kvm tracepoints as VMX fills them (info1 the exit
 * qualification, info2 the IDT-vectoring information, SDM Vol. 3C 25.9);
 * the JSON trace is Chrome's trace-event format, complete ("X") events on
 * one track per level. Both stop at --trace-limit events. Monitor side;
 * VMCS fields are read with vtx_vmcs_peek(), which the cost model ignores.
 */
#include "l0/trace.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <asm/vmx.h>

#include "arch/vmcs.h"
#include "arch/vmcs12.h"
#include "arch/vmx_exit_info.h"
#include "arch/vmx_exit_qual.h"
#include "l0/errmsg.h"
#include "l0/nvmx.h"
#include "vtx/vtx.h"

/* Large writes: a trace of a long run is mostly I/O. */
#define TRACE_BUF_SIZE (1u << 20)

/* Tracks of the JSON trace: a process per level (pid = level), so that
 * Perfetto shows L0, L1 and L2 one above the other. */
enum trace_track {
	TRACK_L0,
	TRACK_L1,
	TRACK_L2,
	TRACK_SPAN, /* L1 handling a reflected exit: inject to next entry */
	NR_TRACKS,
};

static const struct {
	unsigned int pid, tid;
	const char *process, *thread;
} tracks[NR_TRACKS] = {
	[TRACK_L0] = { 0, 0, "L0 (nestvm's monitor)", "L0" },
	[TRACK_L1] = { 1, 1, "L1 (vmcs01)", "L1" },
	[TRACK_L2] = { 2, 2, "L2 (vmcs02)", "L2" },
	[TRACK_SPAN] = { 1, 3, NULL, "L1 handling reflected exits" },
};

struct trace_file {
	const char *path; /* as asked for */
	char *tmp; /* the file being written, renamed at the end */
	FILE *f;
};

/* A slice not yet written: its end or its arguments are still coming. */
struct trace_slice {
	bool open;
	uint64_t start, end;
	char name[48];
	const char *from; /* the level whose exit it is about, or NULL */
	uint32_t reason; /* valid when from */
	uint64_t qual;
	const char *outcome; /* what L0 did with the exit, or NULL */
};

struct l0_trace {
	struct trace_file text, json;
	struct vtx_cpu *cpu;
	uint64_t limit, events, dropped;
	bool truncated;
	bool native;
	char profile[VTX_COST_NAME_MAX];
	uint64_t freq_mhz;
	bool json_any; /* an element is in traceEvents: a comma goes first */
	struct trace_slice guest; /* the last run of L1 or L2 */
	int guest_track;
	struct trace_slice l0; /* L0 since the last run ended */
	struct trace_slice span; /* L1 handling a reflected exit */
};

/* ---- time ------------------------------------------------------------------- */

/* Modeled cycles as nanoseconds at the profile's clock (1 GHz when it
 * gives none: then the JSON's microseconds are thousands of cycles).
 * Monotonic, so slices that touch in cycles touch in nanoseconds. */
static uint64_t cycles_to_ns(const struct l0_trace *t, uint64_t cycles)
{
	uint64_t f = t->freq_mhz;

	if (!f)
		return cycles;
	return cycles / f * 1000 + cycles % f * 1000 / f;
}

static uint64_t trace_now(const struct l0_trace *t)
{
	struct vtx_cpu_stats st;

	if (!t->cpu)
		return 0;
	vtx_cpu_get_stats(t->cpu, &st);
	return st.cycles;
}

/* ---- files ------------------------------------------------------------------ */

static int file_create(struct trace_file *tf, const char *flag,
		       const char *path, char *err, size_t errlen)
{
	size_t len = strlen(path);
	struct stat sb;
	mode_t mask;
	int fd, e;

	tf->path = path;
	if (!len)
		return errmsg(-EINVAL, err, errlen, "%s: empty file name",
			      flag);
	if (path[len - 1] == '/' || (!stat(path, &sb) && S_ISDIR(sb.st_mode)))
		return errmsg(-EISDIR, err, errlen, "%s: '%s' is a directory",
			      flag, path);
	tf->tmp = malloc(len + sizeof(".XXXXXX"));
	if (!tf->tmp)
		return errmsg(-ENOMEM, err, errlen, "%s: %s", flag,
			      strerror(ENOMEM));
	snprintf(tf->tmp, len + sizeof(".XXXXXX"), "%s.XXXXXX", path);
	fd = mkostemp(tf->tmp, O_CLOEXEC);
	if (fd < 0) {
		e = errno;
		free(tf->tmp);
		tf->tmp = NULL;
		return errmsg(-e, err, errlen, "%s: cannot create '%s': %s",
			      flag, path, strerror(e));
	}
	/* As readable as any file nestvm creates, not mkostemp()'s 0600. */
	mask = umask(0);
	umask(mask);
	fchmod(fd, 0666 & ~mask);
	tf->f = fdopen(fd, "w");
	if (!tf->f) {
		e = errno;
		close(fd);
		return errmsg(-e, err, errlen, "%s: cannot create '%s': %s",
			      flag, path, strerror(e));
	}
	setvbuf(tf->f, NULL, _IOFBF, TRACE_BUF_SIZE);
	return 0;
}

/* Removes the unfinished file, if any. */
static void file_drop(struct trace_file *tf)
{
	if (tf->f)
		fclose(tf->f);
	tf->f = NULL;
	if (tf->tmp)
		unlink(tf->tmp);
	free(tf->tmp);
	tf->tmp = NULL;
}

/* Durable, then visible under its name. 0, or -errno. */
static int file_commit(struct trace_file *tf)
{
	int ret = 0;

	if (!tf->f)
		return 0;
	if (ferror(tf->f) || fflush(tf->f) || fsync(fileno(tf->f)))
		ret = errno ? -errno : -EIO;
	if (fclose(tf->f) && !ret)
		ret = errno ? -errno : -EIO;
	tf->f = NULL;
	if (!ret && rename(tf->tmp, tf->path))
		ret = -errno;
	if (ret)
		unlink(tf->tmp);
	free(tf->tmp);
	tf->tmp = NULL;
	return ret;
}

/* ---- the JSON trace ------------------------------------------------------------ */

/* Microseconds with nanosecond digits: "12.345". */
static void json_us(FILE *f, uint64_t ns)
{
	fprintf(f, "%" PRIu64 ".%03u", ns / 1000, (unsigned int)(ns % 1000));
}

static void json_sep(struct l0_trace *t)
{
	fputs(t->json_any ? ",\n" : "\n", t->json.f);
	t->json_any = true;
}

/* Metadata ("M") events naming the tracks, in the order Perfetto shows. */
static void json_write_tracks(struct l0_trace *t)
{
	FILE *f = t->json.f;

	for (unsigned int k = 0; k < NR_TRACKS; k++) {
		if (tracks[k].process) {
			json_sep(t);
			fprintf(f,
				"{\"ph\":\"M\",\"name\":\"process_name\","
				"\"pid\":%u,\"tid\":%u,\"args\":{\"name\":\"%s\"}}",
				tracks[k].pid, tracks[k].tid,
				tracks[k].process);
			json_sep(t);
			fprintf(f,
				"{\"ph\":\"M\",\"name\":\"process_sort_index\","
				"\"pid\":%u,\"tid\":%u,\"args\":{\"sort_index\":%u}}",
				tracks[k].pid, tracks[k].tid, tracks[k].pid);
		}
		json_sep(t);
		fprintf(f,
			"{\"ph\":\"M\",\"name\":\"thread_name\",\"pid\":%u,"
			"\"tid\":%u,\"args\":{\"name\":\"%s\"}}",
			tracks[k].pid, tracks[k].tid, tracks[k].thread);
	}
}

static const char *reason_name(uint32_t basic)
{
	const char *name = vmx_exit_reason_name(basic);

	return name ? name : "unknown";
}

/* One complete ("X") event; an empty slice is not written. */
static void json_write_slice(struct l0_trace *t, enum trace_track k,
			     const struct trace_slice *s)
{
	uint64_t start = cycles_to_ns(t, s->start);
	uint64_t end = cycles_to_ns(t, s->end);
	FILE *f = t->json.f;

	if (!f || s->end <= s->start)
		return;
	json_sep(t);
	fprintf(f,
		"{\"ph\":\"X\",\"name\":\"%s\",\"cat\":\"%s\",\"pid\":%u,"
		"\"tid\":%u,\"ts\":",
		s->name, tracks[k].thread, tracks[k].pid, tracks[k].tid);
	json_us(f, start);
	fputs(",\"dur\":", f);
	json_us(f, end - start);
	fprintf(f,
		",\"args\":{\"start_cycles\":%" PRIu64 ",\"cycles\":%" PRIu64,
		s->start, s->end - s->start);
	if (s->from)
		fprintf(f,
			",\"exit_from\":\"%s\",\"exit_reason\":\"%s\","
			"\"basic_exit_reason\":%u,\"exit_qualification\":"
			"\"0x%" PRIx64 "\"",
			s->from, reason_name(vmx_exit_reason_basic(s->reason)),
			vmx_exit_reason_basic(s->reason), s->qual);
	if (s->outcome)
		fprintf(f, ",\"outcome\":\"%s\"", s->outcome);
	fputs("}}", f);
}

/* ---- stays ------------------------------------------------------------------- */

/* Writes the last guest run and L0's stay since, up to now. */
static void stays_flush(struct l0_trace *t, uint64_t now)
{
	if (t->guest.open)
		json_write_slice(t, t->guest_track, &t->guest);
	t->guest.open = false;
	if (t->l0.open) {
		t->l0.end = now;
		if (!t->l0.from)
			snprintf(t->l0.name, sizeof(t->l0.name), "%s",
				 t->l0.start ? "L0" : "L0 setup");
		json_write_slice(t, TRACK_L0, &t->l0);
	}
	t->l0.open = false;
}

/* ---- events -------------------------------------------------------------------- */

/*
 * Whether the next event is recorded: after `limit` events the trace
 * says it was truncated, closes its slices at now and records nothing
 * more; later events are only counted.
 */
static bool trace_event_begin(struct l0_trace *t, uint64_t now)
{
	if (t->truncated) {
		t->dropped++;
		return false;
	}
	if (t->limit && t->events >= t->limit) {
		t->truncated = true;
		t->dropped++;
		if (t->text.f)
			fprintf(t->text.f,
				"# truncated: --trace-limit %" PRIu64
				" events reached at cycle %" PRIu64
				"; later events are counted, not recorded\n",
				t->limit, now);
		stays_flush(t, now);
		if (t->json.f) {
			json_sep(t);
			fputs("{\"ph\":\"i\",\"s\":\"g\",\"name\":\"trace "
			      "truncated (--trace-limit)\",\"pid\":0,"
			      "\"tid\":0,\"ts\":",
			      t->json.f);
			json_us(t->json.f, cycles_to_ns(t, now));
			fputs("}", t->json.f);
		}
		return false;
	}
	t->events++;
	return true;
}

/* "      L2-2     [000]         1234 0.000000425: kvm_exit: " */
__attribute__((format(printf, 5, 6))) static void
text_line(struct l0_trace *t, uint64_t now, unsigned int level,
	  const char *event, const char *fmt, ...)
{
	FILE *f = t->text.f;
	char who[8];
	va_list ap;

	if (!f)
		return;
	snprintf(who, sizeof(who), "L%u-%u", level, level);
	fprintf(f, "%12s     [000] %14" PRIu64, who, now);
	if (t->freq_mhz) {
		uint64_t ns = cycles_to_ns(t, now);

		fprintf(f, " %" PRIu64 ".%09" PRIu64, ns / 1000000000,
			ns % 1000000000);
	}
	fprintf(f, ": %s: ", event);
	va_start(ap, fmt);
	vfprintf(f, fmt, ap);
	va_end(ap);
	fputc('\n', f);
}

/* KVM prints a VMX exit reason by name (uapi VMX_EXIT_REASONS), or in
 * hex if it has none, then the flag bits by name. */
static void format_reason(char *buf, size_t len, uint32_t reason)
{
	uint32_t basic = vmx_exit_reason_basic(reason);
	const char *name = vmx_exit_reason_name(basic);
	int n;

	if (name)
		n = snprintf(buf, len, "%s", name);
	else
		n = snprintf(buf, len, "0x%x", basic);
	if (reason & VMX_EXIT_REASONS_FAILED_VMENTRY && n >= 0 &&
	    (size_t)n < len)
		snprintf(buf + n, len - (size_t)n, " FAILED_VMENTRY");
}

/* What kvm_exit and kvm_nested_vmexit print for VMX (KVM's
 * vmx_get_exit_info()): no IDT-vectoring or interruption information
 * after a failed VM entry, an error code only when one is valid. */
struct trace_exit {
	uint32_t reason;
	uint64_t rip, info1, info2;
	uint32_t intr_info, error_code;
};

static uint64_t peek(struct vtx_cpu *cpu, uint32_t field)
{
	uint64_t val = 0;

	if (vtx_vmcs_peek(cpu, field, &val))
		return 0;
	return val;
}

static void read_exit(struct vtx_cpu *cpu, struct trace_exit *x)
{
	memset(x, 0, sizeof(*x));
	x->reason = (uint32_t)peek(cpu, VM_EXIT_REASON);
	x->rip = peek(cpu, GUEST_RIP);
	x->info1 = peek(cpu, EXIT_QUALIFICATION);
	if (x->reason & VMX_EXIT_REASONS_FAILED_VMENTRY)
		return;
	x->info2 = (uint32_t)peek(cpu, IDT_VECTORING_INFO_FIELD);
	x->intr_info = (uint32_t)peek(cpu, VM_EXIT_INTR_INFO);
	if (vmx_intr_info_is_valid(x->intr_info) &&
	    vmx_intr_info_has_error_code(x->intr_info))
		x->error_code = (uint32_t)peek(cpu, VM_EXIT_INTR_ERROR_CODE);
}

static void text_exit(struct l0_trace *t, uint64_t now, unsigned int level,
		      const char *event, const struct trace_exit *x)
{
	char reason[64];

	format_reason(reason, sizeof(reason), x->reason);
	text_line(t, now, level, event,
		  "vcpu 0 reason %s rip 0x%" PRIx64 " info1 0x%016" PRIx64
		  " info2 0x%016" PRIx64 " intr_info 0x%08x error_code 0x%08x",
		  reason, x->rip, x->info1, x->info2, x->intr_info,
		  x->error_code);
}

/* ---- hooks ---------------------------------------------------------------------- */

void l0_trace_run(struct l0_vm *vm, bool l2, uint64_t start, uint64_t end,
		  bool exited)
{
	struct l0_trace *t = vm->trace;
	unsigned int level = l2 ? 2 : 1;
	struct trace_exit x;

	if (t->truncated) {
		t->dropped += exited ? level : 0;
		return;
	}
	{
		/* L0's stay ends where the guest's begins. */
		stays_flush(t, start);
		t->guest = (struct trace_slice){ .open = true,
						 .start = start,
						 .end = end };
		t->guest_track = l2 ? TRACK_L2 : TRACK_L1;
		snprintf(t->guest.name, sizeof(t->guest.name), "%s",
			 exited ? "run" : "run (stopped)");
		t->l0 = (struct trace_slice){ .open = true, .start = end };
	}
	if (!exited)
		return;
	read_exit(vm->cpu, &x);
	{
		const char *name = reason_name(vmx_exit_reason_basic(x.reason));

		t->guest.from = l2 ? "L2" : "L1";
		t->guest.reason = x.reason;
		t->guest.qual = x.info1;
		snprintf(t->guest.name, sizeof(t->guest.name), "%s", name);
		t->l0.from = t->guest.from;
		t->l0.reason = x.reason;
		t->l0.qual = x.info1;
		snprintf(t->l0.name, sizeof(t->l0.name), "%s %s", t->guest.from,
			 name);
	}
	/* KVM traces kvm_exit for every exit, and kvm_nested_vmexit too
	 * for an exit of L2, before deciding who handles it. */
	if (trace_event_begin(t, end))
		text_exit(t, end, level, "kvm_exit", &x);
	if (l2 && trace_event_begin(t, end))
		text_exit(t, end, level, "kvm_nested_vmexit", &x);
}

void l0_trace_nested_vmenter(struct l0_vm *vm)
{
	struct l0_trace *t = vm->trace;
	const struct vmcs12 *v = vm->nvmx->vmcs12;
	uint64_t now = trace_now(t);
	bool ept = (v->cpu_based_vm_exec_control &
		    CPU_BASED_ACTIVATE_SECONDARY_CONTROLS) &&
		   (v->secondary_vm_exec_control & SECONDARY_EXEC_ENABLE_EPT);

	if (!t->truncated) {
		if (t->span.open) {
			t->span.end = now;
			json_write_slice(t, TRACK_SPAN, &t->span);
			t->span.open = false;
		}
		if (t->l0.open)
			t->l0.outcome = "nested entry";
	}
	if (!trace_event_begin(t, now))
		return;
	/* vmcs01 is current: rip is L1's, at its VMLAUNCH/VMRESUME. As in
	 * KVM, int_ctl is the guest interrupt status and event_inj the
	 * VM-entry interruption information. */
	text_line(t, now, 1, "kvm_nested_vmenter",
		  "rip: 0x%016" PRIx64 " vmcs: 0x%016" PRIx64
		  " nested_rip: 0x%016" PRIx64
		  " int_ctl: 0x%08x event_inj: 0x%08x nested_ept=%s %s: "
		  "0x%016" PRIx64,
		  peek(vm->cpu, GUEST_RIP), (uint64_t)vm->nvmx->vmptr,
		  v->guest_rip, (uint32_t)v->guest_intr_status,
		  v->vm_entry_intr_info_field, ept ? "y" : "n",
		  ept ? "nested_eptp" : "guest_cr3",
		  ept ? v->ept_pointer : v->guest_cr3);
}

void l0_trace_nested_vmexit_inject(struct l0_vm *vm)
{
	struct l0_trace *t = vm->trace;
	const struct vmcs12 *v = vm->nvmx->vmcs12;
	uint64_t now = trace_now(t);
	char reason[64];

	if (!t->truncated) {
		if (t->l0.open)
			t->l0.outcome = "reflected to L1";
		t->span = (struct trace_slice){ .open = true,
						.start = now,
						.from = "L2",
						.reason = v->vm_exit_reason,
						.qual = v->exit_qualification };
		snprintf(t->span.name, sizeof(t->span.name), "handle %s",
			 reason_name(vmx_exit_reason_basic(v->vm_exit_reason)));
	}
	if (!trace_event_begin(t, now))
		return;
	format_reason(reason, sizeof(reason), v->vm_exit_reason);
	text_line(t, now, 1, "kvm_nested_vmexit_inject",
		  "reason: %s ext_inf1: 0x%016" PRIx64
		  " ext_inf2: 0x%016" PRIx64
		  " ext_int: 0x%08x ext_int_err: 0x%08x",
		  reason, v->exit_qualification,
		  (uint64_t)v->idt_vectoring_info_field, v->vm_exit_intr_info,
		  v->vm_exit_intr_error_code);
}

void l0_trace_nvmx_access(struct l0_vm *vm, bool write, uint32_t field,
			  uint64_t val)
{
	struct l0_trace *t = vm->trace;
	uint64_t now = trace_now(t);
	const char *name = vmcs_field_name(field);

	if (!trace_event_begin(t, now))
		return;
	text_line(t, now, 1, write ? "nvmx_vmwrite" : "nvmx_vmread",
		  "field %s (0x%04x) value 0x%" PRIx64, name ? name : "unknown",
		  field, val);
}

void trace_native_run(struct l0_trace *t, uint64_t cycles, uint64_t insns,
		      uint64_t vm_exits)
{
	struct trace_slice s = { .start = 0, .end = cycles };

	if (t->text.f)
		fprintf(t->text.f,
			"# native run: the image ran on the machine as L0 for "
			"%" PRIu64 " cycles (%" PRIu64
			" instructions); no monitor ran, so there is no "
			"kvm_exit to trace; its own guests' VM exits (%" PRIu64
			") are the machine's\n",
			cycles, insns, vm_exits);
	snprintf(s.name, sizeof(s.name), "native run");
	json_write_slice(t, TRACK_L0, &s);
}

/* ---- life cycle --------------------------------------------------------------- */

static void text_header(struct l0_trace *t, const struct trace_config *cfg)
{
	FILE *f = t->text.f;

	fputs("# tracer: nop\n#\n"
	      "# nestvm: the kvm tracepoints as L0 sees the run, on the "
	      "modeled clock\n",
	      f);
	if (cfg->freq_mhz)
		fprintf(f,
			"# profile %s, clock %" PRIu64
			" MHz: SECONDS = CYCLES / %" PRIu64 " MHz\n",
			cfg->profile, cfg->freq_mhz, cfg->freq_mhz);
	else
		fprintf(f,
			"# profile %s gives no clock frequency: CYCLES "
			"only\n",
			cfg->profile);
	if (cfg->limit)
		fprintf(f, "# --trace-limit %" PRIu64 " events\n", cfg->limit);
	else
		fputs("# --trace-limit 0: no limit\n", f);
	fprintf(f,
		"#\n#   LEVEL-ID     CPU           CYCLES%s  EVENT: FIELDS\n",
		cfg->freq_mhz ? "     SECONDS" : "");
}

int trace_open(const struct trace_config *cfg, struct l0_trace **out, char *err,
	       size_t errlen)
{
	struct l0_trace *t;
	int ret = 0;

	*out = NULL;
	if (!cfg->text_path && !cfg->json_path)
		return 0;
	t = calloc(1, sizeof(*t));
	if (!t)
		return errmsg(-ENOMEM, err, errlen, "--trace: %s",
			      strerror(ENOMEM));
	t->limit = cfg->limit;
	t->native = cfg->native;
	t->freq_mhz = cfg->freq_mhz;
	snprintf(t->profile, sizeof(t->profile), "%s", cfg->profile);
	t->l0 = (struct trace_slice){ .open = !cfg->native };
	if (cfg->text_path)
		ret = file_create(&t->text, "--trace", cfg->text_path, err,
				  errlen);
	if (!ret && cfg->json_path)
		ret = file_create(&t->json, "--trace-json", cfg->json_path, err,
				  errlen);
	if (ret) {
		trace_free(t);
		return ret;
	}
	if (t->text.f)
		text_header(t, cfg);
	if (t->json.f) {
		fputs("{\"traceEvents\":[", t->json.f);
		json_write_tracks(t);
	}
	*out = t;
	return 0;
}

void trace_set_cpu(struct l0_trace *t, struct vtx_cpu *cpu)
{
	t->cpu = cpu;
}

int trace_finish(struct l0_trace *t, const char *how_ended, char *err,
		 size_t errlen)
{
	uint64_t now = trace_now(t);
	int ret;

	if (!t->truncated) {
		stays_flush(t, now);
		if (t->span.open) {
			t->span.end = now;
			json_write_slice(t, TRACK_SPAN, &t->span);
		}
	}
	if (t->text.f)
		fprintf(t->text.f,
			"# end at cycle %" PRIu64 ": %s; %" PRIu64
			" events recorded, %" PRIu64 " dropped\n",
			now, how_ended, t->events, t->dropped);
	if (t->json.f) {
		/* The clock the microseconds are in goes with the data. */
		fprintf(t->json.f,
			"\n],\n\"displayTimeUnit\":\"ns\",\n\"otherData\":{"
			"\"producer\":\"nestvm\",\"profile\":\"%s\","
			"\"freq_mhz\":%" PRIu64 ",\"clock\":\"%s\","
			"\"end_cycles\":%" PRIu64 ",\"end\":\"",
			t->profile, t->freq_mhz,
			t->freq_mhz ? "modeled cycles at the profile's clock"
				    : "modeled cycles, 1 cycle shown as 1 ns "
				      "(the profile gives no clock)",
			now);
		for (const char *p = how_ended; *p; p++)
			if (*p == '"' || *p == '\\')
				fprintf(t->json.f, "\\%c", *p);
			else if ((unsigned char)*p >= 0x20)
				fputc(*p, t->json.f);
		fprintf(t->json.f,
			"\",\"events\":%" PRIu64 ",\"dropped\":%" PRIu64
			",\"limit\":%" PRIu64 ",\"truncated\":%s}}\n",
			t->events, t->dropped, t->limit,
			t->truncated ? "true" : "false");
	}
	ret = file_commit(&t->text);
	if (ret) {
		errmsg(ret, err, errlen, "--trace: cannot write '%s': %s",
		       t->text.path, strerror(-ret));
		file_drop(&t->json);
		return ret;
	}
	ret = file_commit(&t->json);
	if (ret)
		return errmsg(ret, err, errlen,
			      "--trace-json: cannot write '%s': %s",
			      t->json.path, strerror(-ret));
	return 0;
}

void trace_free(struct l0_trace *t)
{
	if (!t)
		return;
	file_drop(&t->text);
	file_drop(&t->json);
	free(t);
}

void trace_get_summary(const struct l0_trace *t, struct trace_summary *s)
{
	s->events = t->events;
	s->dropped = t->dropped;
	s->limit = t->limit;
	s->truncated = t->truncated;
}
