/* SPDX-License-Identifier: MIT */
/*
 * main.c - the nestvm program: parse the command line, load the guest and
 * its modules, build the boot contract, wire the UART and debug-exit
 * devices to the machine's port I/O (native) or to L0's exit handlers
 * (nested, l0/vm.h), run, report (l0/report.h, --json) and turn how the
 * run ended into the exit status (docs/user-guide.md). The only place that
 * decides what is printed, and that exits. Monitor side; vtx/vtx.h only.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <limits.h>
#include <unistd.h>

#include "arch/vmx_exit_info.h"
#include "eval/compare.h"
#include "eval/eval.h"
#include "l0/boot.h"
#include "l0/crash.h"
#include "l0/errmsg.h"
#include "l0/dev/bochs_shutdown.h"
#include "l0/dev/debug_exit.h"
#include "l0/dev/fw_cfg.h"
#include "l0/dev/uart16550.h"
#include "l0/iobus.h"
#include "l0/loader.h"
#include "l0/multiboot.h"
#include "l0/nstate.h"
#include "l0/options.h"
#include "l0/profile.h"
#include "l0/report.h"
#include "l0/shadow_vm.h"
#include "l0/bt_l1.h"
#include "l0/bt_l2.h"
#include "l0/bt_vm.h"
#include "l0/trace.h"
#include "l0/vm.h"
#include "mmu/shadow.h"
#include "mmu/l0_area.h"
#include "vtx/vtx.h"

/* Exit statuses of nestvm itself (docs/user-guide.md). 124 is a limit the
 * user set, --max-insns or --timeout, as timeout(1) exits 124. */
#define EXIT_LIMIT 124
#define EXIT_CANNOT_RUN 125
#define EXIT_GUEST_STOPPED 126

#define ERR_MAX 512
#define UNIMPL_MAX 256

struct nestvm_run {
	const struct nestvm_options *opt;
	struct io_bus bus;
	struct uart16550 uart;
	struct debug_exit dexit;
	struct bochs_shutdown bshut; /* port 0x8900 */
	struct fw_cfg fwcfg; /* ports 0x510-0x511 */
	struct vtx_machine *m;
	struct vtx_cpu *cpu;
	struct loader_file image;
	struct loader_file modules[NESTVM_MODULES_MAX];
	struct loader_elf elf;
	struct boot_params bp;
	bool multiboot; /* an ELF32 multiboot kernel (l0/multiboot.c) */
	int serial_fd;
	struct io_access bad_io; /* an access the bus refused */
	int bus_error;
	struct l0_vm *vm; /* the nested level, when not --native */
	struct l0_bt_vm *bt; /* --vmm bt: the software VMM on vm's vmcs01 */
	struct l0_bt_l1 *bt_l1; /* --vmcs-access bt: L1's handler translated */
	struct l0_bt_l2 *bt_l2; /* --bt adaptive|always: L2's hot regions */
	struct l0_profile profile; /* the cost profile (--profile) */
	bool ran; /* the guest ran: the run has a report */
	char *json_tmp; /* --json: the file being written, renamed at the end */
	int json_fd;
	struct l0_trace *trace; /* --trace, --trace-json (l0/trace.h) */
	struct trace_summary trace_sum;
};

/* One line on stderr: "nestvm: " + the message + newline. */
__attribute__((format(printf, 1, 2))) static void error_line(const char *fmt,
							     ...)
{
	va_list ap;

	fputs("nestvm: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/*
 * --timeout: an interval timer's SIGALRM asks the vCPU to stop
 * (vtx_cpu_request_stop() stores one atomic flag, which a handler may);
 * the model stops at its next block boundary and L0 before its next
 * entry, and the run ends as for any other stop, its report complete.
 * The handler only reads timeout_cpu, set before the timer is armed.
 */
static struct vtx_cpu *timeout_cpu;
static volatile sig_atomic_t timeout_fired;

static void timeout_handler(int sig)
{
	(void)sig;
	timeout_fired = 1;
	if (timeout_cpu)
		vtx_cpu_request_stop(timeout_cpu);
}

static int arm_timeout(struct nestvm_run *r)
{
	struct sigaction sa = {
		.sa_handler = timeout_handler,
		/* Writes to the serial file and the reports go on. */
		.sa_flags = SA_RESTART,
	};
	struct itimerval it = {
		.it_value.tv_sec = (time_t)r->opt->timeout,
	};

	if (!r->opt->timeout)
		return 0;
	timeout_cpu = r->cpu;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGALRM, &sa, NULL) ||
	    setitimer(ITIMER_REAL, &it, NULL)) {
		error_line("--timeout: cannot set a timer: %s",
			   strerror(errno));
		return -1;
	}
	return 0;
}

/* The run is over: a late SIGALRM must not touch what comes next. */
static void disarm_timeout(const struct nestvm_run *r)
{
	struct itimerval it = { 0 };

	if (!r->opt->timeout)
		return;
	setitimer(ITIMER_REAL, &it, NULL);
	signal(SIGALRM, SIG_IGN);
	timeout_cpu = NULL;
}

/* The one line of a run --timeout ended. */
static void timeout_line(const struct nestvm_run *r, const char *level,
			 uint64_t rip)
{
	struct vtx_cpu_stats st;

	vtx_cpu_get_stats(r->cpu, &st);
	error_line("--timeout: the run exceeded %" PRIu64
		   " s; stopped before %s%sRIP 0x%" PRIx64 " after %" PRIu64
		   " instructions",
		   r->opt->timeout, level, level[0] ? " " : "", rip, st.insns);
}

/* The machine's port-I/O callback: the bus, seen through vtx's struct. */
static int platform_pio(void *opaque, struct vtx_pio *pio)
{
	struct nestvm_run *r = opaque;
	struct io_access io = {
		.port = pio->port,
		.size = pio->size,
		.dir = pio->dir == VTX_PIO_OUT ? IO_WRITE : IO_READ,
		.data = pio->data,
	};
	int ret = io_bus_dispatch(&r->bus, &io);

	if (pio->dir == VTX_PIO_IN)
		pio->data = io.data;
	if (ret < 0) {
		r->bus_error = ret;
		r->bad_io = io;
		return VTX_PIO_STOP;
	}
	return ret == IO_STOP ? VTX_PIO_STOP : VTX_PIO_DONE;
}

static const struct vtx_platform_ops platform_ops = {
	.pio = platform_pio,
};

/* The directory nestvm's executable is in (shipped profiles are found
 * from it), or NULL. */
static const char *exe_dir(char *buf, size_t len)
{
	ssize_t n = readlink("/proc/self/exe", buf, len - 1);
	char *slash;

	if (n <= 0)
		return NULL;
	buf[n] = '\0';
	slash = strrchr(buf, '/');
	if (!slash)
		return NULL;
	*slash = '\0';
	return buf;
}

/* Reads and checks the image and modules and lays them out: everything
 * that can fail for a bad input, before any memory or file is set up. */
static int prepare_inputs(struct nestvm_run *r, char *err)
{
	const struct nestvm_options *opt = r->opt;
	char dir[4096];
	int ret;

	ret = profile_load(opt->profile ? opt->profile : PROFILE_DEFAULT,
			   exe_dir(dir, sizeof(dir)), &r->profile, err,
			   ERR_MAX);
	if (ret)
		return ret;
	ret = loader_read_file(opt->image, LOADER_FILE_MAX, &r->image, err,
			       ERR_MAX);
	if (!ret) {
		/* An ELF32 image is a multiboot kernel; ELF64 keeps the
		 * 64-bit boot contract. */
		r->multiboot = multiboot_is_elf32(r->image.data, r->image.size);
		ret = (r->multiboot ? multiboot_parse_elf : loader_parse_elf)(
			opt->image, r->image.data, r->image.size, opt->mem_size,
			&r->elf, err, ERR_MAX);
	}
	if (!ret)
		ret = boot_init_params(&r->bp, opt->mem_size, r->elf.entry,
				       r->elf.start, r->elf.end, opt->cmdline,
				       err, ERR_MAX);
	for (unsigned int i = 0; !ret && i < opt->nr_modules; i++) {
		uint64_t start;

		ret = loader_read_file(opt->modules[i], opt->mem_size,
				       &r->modules[i], err, ERR_MAX);
		if (ret == -EFBIG)
			snprintf(
				err, ERR_MAX,
				"module '%s' does not fit in guest RAM (%" PRIu64
				" bytes); try a larger --mem",
				opt->modules[i], opt->mem_size);
		if (!ret)
			ret = boot_add_module(&r->bp, opt->modules[i],
					      r->modules[i].size, &start, err,
					      ERR_MAX);
	}
	return ret;
}

static int build_machine(struct nestvm_run *r, char *err)
{
	const struct nestvm_options *opt = r->opt;
	struct vtx_machine_config cfg = {
		.arena_size = opt->mem_size,
		.ops = &platform_ops,
		.opaque = r,
	};

	/* The nested level keeps its own pages after L1's RAM. */
	if (opt->level == NESTVM_LEVEL_NESTED)
		cfg.arena_size += L0_AREA_SIZE;
	int ret;

	io_bus_init(&r->bus);
	uart16550_init(&r->uart, -1);
	/* COM1 at 8N1, as PC firmware leaves it: a guest that never
	 * programs the line still sends whole bytes. */
	uart16550_set_line(&r->uart, UART16550_LCR_8N1);
	debug_exit_init(&r->dexit, opt->qemu_exit_codes);
	bochs_shutdown_init(&r->bshut);
	/* One vCPU; the RAM the guest at this level owns. */
	fw_cfg_init(&r->fwcfg, opt->mem_size, 1, 1);
	ret = uart16550_register(&r->uart, &r->bus, UART16550_COM1_BASE);
	if (!ret)
		ret = debug_exit_register(&r->dexit, &r->bus, DEBUG_EXIT_BASE);
	if (!ret)
		ret = bochs_shutdown_register(&r->bshut, &r->bus,
					      BOCHS_SHUTDOWN_BASE);
	if (!ret)
		ret = fw_cfg_register(&r->fwcfg, &r->bus);
	if (ret) {
		snprintf(err, ERR_MAX, "cannot set up the devices: %s",
			 strerror(-ret));
		return ret;
	}

	ret = vtx_machine_create(&cfg, &r->m);
	if (ret) {
		snprintf(err, ERR_MAX,
			 "cannot create a machine with %" PRIu64
			 " MiB of guest RAM: %s",
			 opt->mem_size >> 20, strerror(-ret));
		return ret;
	}
	ret = loader_copy_elf(r->m, &r->elf, err, ERR_MAX);
	for (unsigned int i = 0; !ret && i < r->bp.nr_modules; i++) {
		if (!r->modules[i].size)
			continue;
		ret = vtx_hpa_write(r->m, r->bp.modules[i].start,
				    r->modules[i].data, r->modules[i].size);
		if (ret)
			snprintf(err, ERR_MAX,
				 "cannot copy module '%s' to guest RAM: %s",
				 opt->modules[i], strerror(-ret));
	}
	if (!ret && r->multiboot)
		ret = multiboot_write_memory(r->m, &r->bp, opt->image,
					     opt->modules, err, ERR_MAX);
	else if (!ret)
		ret = boot_write_memory(r->m, &r->bp, err, ERR_MAX);
	if (!ret) {
		ret = vtx_cpu_create(r->m, &r->cpu);
		if (ret)
			snprintf(err, ERR_MAX, "cannot create the vCPU: %s",
				 strerror(-ret));
	}
	if (!ret)
		ret = (r->multiboot ? multiboot_setup_cpu : boot_setup_cpu)(
			r->cpu, &r->bp, err, ERR_MAX);
	if (!ret && vtx_cpu_set_cost_profile(r->cpu, &r->profile.cost)) {
		snprintf(err, ERR_MAX, "the machine refused cost profile '%s'",
			 r->profile.cost.name);
		ret = -EINVAL;
	}
	return ret;
}

/*
 * --json FILE: the report is written to a temporary file next to FILE and
 * renamed over it at the end, so that FILE is never seen half written.
 * Creating it before the run makes a bad path one error before anything
 * runs. 0, or -errno with the message in err.
 */
static int open_json(struct nestvm_run *r, char *err)
{
	const char *path = r->opt->json_path;
	struct stat sb;
	size_t len;
	mode_t mask;
	int e;

	if (!path)
		return 0;
	len = strlen(path);
	if (path[len - 1] == '/' || (!stat(path, &sb) && S_ISDIR(sb.st_mode))) {
		snprintf(err, ERR_MAX, "--json: '%s' is a directory", path);
		return -EISDIR;
	}
	r->json_tmp = malloc(len + sizeof(".XXXXXX"));
	if (!r->json_tmp) {
		snprintf(err, ERR_MAX, "--json: %s", strerror(ENOMEM));
		return -ENOMEM;
	}
	snprintf(r->json_tmp, len + sizeof(".XXXXXX"), "%s.XXXXXX", path);
	r->json_fd = mkostemp(r->json_tmp, O_CLOEXEC);
	if (r->json_fd < 0) {
		e = errno;
		free(r->json_tmp);
		r->json_tmp = NULL;
		snprintf(err, ERR_MAX, "--json: cannot create '%s': %s", path,
			 strerror(e));
		return -e;
	}
	/* mkostemp() makes it private; the report is as readable as any
	 * file nestvm creates. */
	mask = umask(0);
	umask(mask);
	fchmod(r->json_fd, 0666 & ~mask);
	return 0;
}

/* Removes the unfinished --json file, if any. */
static void drop_json(struct nestvm_run *r)
{
	if (!r->json_tmp)
		return;
	if (r->json_fd >= 0)
		close(r->json_fd);
	r->json_fd = -1;
	unlink(r->json_tmp);
	free(r->json_tmp);
	r->json_tmp = NULL;
}

/* Writes the report into the --json file and renames it into place.
 * 0, or -1 after printing why. */
static int finish_json(struct nestvm_run *r, int status)
{
	struct vtx_cpu_stats st;
	struct report_input in = {
		.profile = r->profile.cost.name,
		.st = &st,
		.vm = r->vm,
		.exit_status = status,
		.trace = r->trace ? &r->trace_sum : NULL,
		.bt = r->bt ? &r->bt->bt.stats : NULL,
	};
	FILE *f;
	int ret;

	vtx_cpu_get_stats(r->cpu, &st);
	f = fdopen(r->json_fd, "w");
	if (!f) {
		ret = -errno;
	} else {
		r->json_fd = -1; /* the stream owns it now */
		errno = 0;
		ret = report_write_json(f, &in);
		/* Durable before it is visible under its name. */
		if (!ret && (fflush(f) || fsync(fileno(f))))
			ret = -errno;
		if (fclose(f) && !ret)
			ret = errno ? -errno : -EIO;
	}
	if (!ret && rename(r->json_tmp, r->opt->json_path))
		ret = -errno;
	if (ret) {
		error_line("--json: cannot write '%s': %s", r->opt->json_path,
			   strerror(-ret));
		drop_json(r);
		return -1;
	}
	free(r->json_tmp);
	r->json_tmp = NULL;
	return 0;
}

/* --trace, --trace-json: created before the run (a bad path is an error
 * before anything runs), under temporary names until the run ends. */
static int open_trace(struct nestvm_run *r, char *err)
{
	const struct trace_config cfg = {
		.text_path = r->opt->trace_path,
		.json_path = r->opt->trace_json_path,
		.limit = r->opt->trace_limit,
		.profile = r->profile.cost.name,
		.freq_mhz = r->profile.freq_mhz,
		.native = r->opt->level == NESTVM_LEVEL_NATIVE,
	};
	int ret = trace_open(&cfg, &r->trace, err, ERR_MAX);

	if (!ret && r->trace)
		trace_set_cpu(r->trace, r->cpu);
	return ret;
}

/* Ends the trace files and says what they hold. 0, or -1 after printing
 * why. */
static int finish_trace(struct nestvm_run *r, int status)
{
	char how[384], err[ERR_MAX];
	const struct trace_summary *s = &r->trace_sum;

	if (r->vm && r->vm->stop.why[0])
		snprintf(how, sizeof(how), "exit status %d (%s)", status,
			 r->vm->stop.why);
	else
		snprintf(how, sizeof(how), "exit status %d", status);
	fprintf(stderr,
		"nestvm: trace: events %" PRIu64 " dropped %" PRIu64
		" limit %" PRIu64 "%s\n",
		s->events, s->dropped, s->limit,
		s->truncated ? " (truncated)" : "");
	if (trace_finish(r->trace, how, err, ERR_MAX)) {
		error_line("%s", err);
		return -1;
	}
	return 0;
}

/* Created last, once everything else is known to work, so that a failed
 * run leaves no empty file behind. */
static int open_serial(struct nestvm_run *r, char *err)
{
	switch (r->opt->serial) {
	case NESTVM_SERIAL_STDIO:
		r->serial_fd = STDOUT_FILENO;
		break;
	case NESTVM_SERIAL_NONE:
		r->serial_fd = -1;
		break;
	case NESTVM_SERIAL_FILE:
		r->serial_fd =
			open(r->opt->serial_path,
			     O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (r->serial_fd < 0) {
			int e = errno;

			snprintf(err, ERR_MAX,
				 "--serial: cannot create '%s': %s",
				 r->opt->serial_path, strerror(e));
			return -e;
		}
		break;
	}
	r->uart.out_fd = r->serial_fd;
	return 0;
}

static const char *const vector_names[32] = {
	"#DE", "#DB", "NMI", "#BP", "#OF", "#BR", "#UD", "#NM",
	"#DF", "#9",  "#TS", "#NP", "#SS", "#GP", "#PF", "#15",
	"#MF", "#AC", "#MC", "#XM", "#VE", "#CP", "#22", "#23",
	"#24", "#25", "#26", "#27", "#HV", "#VC", "#SX", "#31",
};

static void print_unimplemented(const struct nestvm_run *r, bool always)
{
	struct vtx_unimpl *list;
	size_t n, shown;

	n = vtx_cpu_get_unimplemented(r->cpu, NULL, 0);
	if (!n) {
		if (always)
			fputs("nestvm: unimplemented: none\n", stderr);
		return;
	}
	list = calloc(UNIMPL_MAX, sizeof(*list));
	if (!list) {
		error_line("unimplemented: %zu instructions (no memory to list "
			   "them)",
			   n);
		return;
	}
	shown = vtx_cpu_get_unimplemented(r->cpu, list, UNIMPL_MAX);
	if (shown > UNIMPL_MAX)
		shown = UNIMPL_MAX;
	for (size_t i = 0; i < shown; i++) {
		fprintf(stderr,
			"nestvm: unimplemented: RIP 0x%" PRIx64 " bytes ",
			list[i].rip);
		for (unsigned int b = 0; b < list[i].len && b < 15; b++)
			fprintf(stderr, "%02x", list[i].bytes[b]);
		fprintf(stderr, " %s count %" PRIu64 "\n", list[i].mnemonic,
			list[i].count);
	}
	if (n > shown)
		error_line("unimplemented: %zu more not listed", n - shown);
	free(list);
}

/* "bare 952 single 2600 nested none": the published figures. */
static void print_refs(const char *prefix, const struct l0_profile *p)
{
	fprintf(stderr, "nestvm: %s: published_cpuid_round_trip", prefix);
#define PRINT_REF(key, what)                            \
	if (p->key == PROFILE_REF_NONE)                 \
		fprintf(stderr, " %s none", #key + 10); \
	else                                            \
		fprintf(stderr, " %s %" PRIu64, #key + 10, p->key);
	PROFILE_REFS(PRINT_REF)
#undef PRINT_REF
	fprintf(stderr, " (profile %s)\n", p->cost.name);
}

/* The cost model's counts and cycles (docs/cost-model.md). L0's own
 * handling of an exit is C code the model does not run; no published
 * figure isolates it, so it is charged nothing and the line says so. */
static void print_cost_stats(const struct nestvm_run *r,
			     const struct vtx_cpu_stats *st)
{
	fprintf(stderr,
		"nestvm: stats: profile %s\n"
		"nestvm: stats: cycles %" PRIu64 "\n"
		"nestvm: stats: cycles_root %" PRIu64 "\n"
		"nestvm: stats: cycles_nonroot %" PRIu64 "\n"
		"nestvm: stats: cycles_switch %" PRIu64 "\n"
		"nestvm: stats: cycles_host_vmx %" PRIu64 "\n"
		"nestvm: stats: cycles_l0_handlers 0 (not modeled: no "
		"published per-exit figure)\n"
		"nestvm: stats: walk_steps %" PRIu64 "\n"
		"nestvm: stats: ept_walk_steps %" PRIu64 "\n"
		"nestvm: stats: events %" PRIu64 "\n"
		"nestvm: stats: cpuids %" PRIu64 "\n"
		"nestvm: stats: rdmsrs %" PRIu64 "\n"
		"nestvm: stats: wrmsrs %" PRIu64 "\n"
		"nestvm: stats: vmreads %" PRIu64 "\n"
		"nestvm: stats: vmwrites %" PRIu64 "\n"
		"nestvm: stats: vmx_insns %" PRIu64 "\n"
		"nestvm: stats: host_vmreads %" PRIu64 "\n"
		"nestvm: stats: host_vmwrites %" PRIu64 "\n"
		"nestvm: stats: host_vmx_ops %" PRIu64 "\n",
		r->profile.cost.name, st->cycles, st->cycles_root,
		st->cycles_nonroot, st->cycles_switch, st->cycles_host,
		st->walk_steps, st->ept_walk_steps, st->events, st->cpuids,
		st->rdmsrs, st->wrmsrs, st->vmreads, st->vmwrites,
		st->vmx_insns, st->host_vmreads, st->host_vmwrites,
		st->host_vmx_ops);
	print_refs("stats", &r->profile);
}

static void print_stats(const struct nestvm_run *r)
{
	struct vtx_cpu_stats st;
	bool any = false;

	vtx_cpu_get_stats(r->cpu, &st);
	fprintf(stderr, "nestvm: stats: insns %" PRIu64 "\n", st.insns);
	fputs("nestvm: stats: exceptions", stderr);
	for (unsigned int v = 0; v < 32; v++) {
		if (!st.exceptions[v])
			continue;
		fprintf(stderr, " %s %" PRIu64, vector_names[v],
			st.exceptions[v]);
		any = true;
	}
	fputs(any ? "\n" : " none\n", stderr);
	fprintf(stderr,
		"nestvm: stats: unimplemented %" PRIu64 "\n"
		"nestvm: stats: pio %" PRIu64 "\n"
		"nestvm: stats: blocks_decoded %" PRIu64 "\n"
		"nestvm: stats: code_flushes %" PRIu64 "\n"
		"nestvm: stats: tlb_misses %" PRIu64 "\n"
		"nestvm: stats: atlb_hits %" PRIu64 "\n"
		"nestvm: stats: tlb_flushes %" PRIu64 "\n"
		"nestvm: stats: unclaimed_port_reads %" PRIu64 "\n"
		"nestvm: stats: unclaimed_port_writes %" PRIu64 "\n"
		"nestvm: stats: serial_bytes %" PRIu64 "\n",
		st.unimplemented, st.pio, st.blocks_decoded, st.code_flushes,
		st.tlb_misses, st.atlb_hits, st.tlb_flushes,
		r->bus.unclaimed_reads, r->bus.unclaimed_writes,
		r->uart.tx_bytes);
	/* A guest that is itself a hypervisor (l1-shim on the bare model):
	 * its VM entries and exits by reason, as the hardware counted them. */
	fprintf(stderr,
		"nestvm: stats: vm_entries %" PRIu64 "\n"
		"nestvm: stats: vm_exits %" PRIu64 "\n"
		"nestvm: stats: ept_walks %" PRIu64 "\n",
		st.vm_entries, st.vm_exits, st.ept_walks);
	for (unsigned int k = 0; k < VTX_EXIT_REASONS; k++)
		if (st.exits_by_reason[k])
			fprintf(stderr,
				"nestvm: stats: exit %s (%u) %" PRIu64 "\n",
				vmx_exit_reason_name(k), k,
				st.exits_by_reason[k]);
	print_cost_stats(r, &st);
	print_unimplemented(r, true);
}

/* Turns how the machine stopped into nestvm's exit status. */
static int stop_status(const struct nestvm_run *r, const struct vtx_stop *st)
{
	const char *sep = st->why[0] ? ": " : "";
	int status;

	switch (st->reason) {
	case VTX_STOP_PLATFORM:
		status = debug_exit_status(&r->dexit);
		if (status >= 0)
			return status;
		if (r->bshut.done) /* "Shutdown" on port 0x8900 */
			return 0;
		if (r->bus_error)
			error_line("internal error: a %u-byte port access at "
				   "0x%x at RIP 0x%" PRIx64,
				   r->bad_io.size, r->bad_io.port, st->rip);
		else
			error_line("the machine stopped at RIP 0x%" PRIx64
				   " for no known reason%s%s",
				   st->rip, sep, st->why);
		return EXIT_CANNOT_RUN;
	case VTX_STOP_TRIPLE_FAULT:
		error_line("the guest triple-faulted at RIP 0x%" PRIx64 "%s%s",
			   st->rip, sep, st->why);
		return EXIT_GUEST_STOPPED;
	case VTX_STOP_INIT:
		error_line("the guest received INIT at RIP 0x%" PRIx64
			   " with VMX off%s%s",
			   st->rip, sep, st->why);
		return EXIT_GUEST_STOPPED;
	case VTX_STOP_HALTED:
		error_line("the guest halted at RIP 0x%" PRIx64
			   " with nothing to wake it%s%s",
			   st->rip, sep, st->why);
		return EXIT_GUEST_STOPPED;
	case VTX_STOP_INSN_LIMIT:
		error_line("the instruction limit (%" PRIu64
			   ") ran out at RIP 0x%" PRIx64,
			   r->opt->max_insns, st->rip);
		return EXIT_LIMIT;
	case VTX_STOP_REQUESTED:
		/* Only --timeout asks the vCPU to stop. */
		if (!timeout_fired)
			break;
		timeout_line(r, "", st->rip);
		return EXIT_LIMIT;
	case VTX_STOP_VMEXIT:
		/* The native run never makes the monitor a VMX host. */
		error_line("internal error: a VM exit reached the native run "
			   "at RIP 0x%" PRIx64 "%s%s",
			   st->rip, sep, st->why);
		return EXIT_CANNOT_RUN;
	}
	error_line("the machine stopped for an unknown reason %d",
		   (int)st->reason);
	return EXIT_CANNOT_RUN;
}

/* ---- the nested level ---------------------------------------------------- */

static const char *const level_names[] = {
	[L0_LEVEL_L1] = "L1",
	[L0_LEVEL_L2] = "L2",
};

/* "l1_exit CPUID (10) 12": one line per reason that occurred. */
static void print_reason_counts(const char *what, const uint64_t *counts)
{
	for (unsigned int k = 0; k < VMX_NR_EXIT_REASONS; k++)
		if (counts[k])
			fprintf(stderr,
				"nestvm: nested: %s %s (%u) %" PRIu64 "\n",
				what, l0_exit_reason_name(k), k, counts[k]);
}

static double per_exit(uint64_t total, uint64_t count)
{
	return (double)total / (double)count;
}

/*
 * The nested run's accounting (docs/design/nested.md), one fact per line:
 * world switches, instructions per level, L1's VMREAD/VMWRITE, nested
 * entries, ept02 fills and true faults, exits by reason at each level, and
 * for each reflected reason its totals and what one reflected exit cost.
 */
/* --vmm bt: what the software VMM did (struct bt_stats, l0/bt/bt.h). */
static void print_bt_stats(struct nestvm_run *r)
{
	const struct bt_stats *b = &r->bt->bt.stats;

	fprintf(stderr,
		"nestvm: bt: blocks %" PRIu64 "\n"
		"nestvm: bt: insns_translated %" PRIu64 "\n"
		"nestvm: bt: tc_bytes %" PRIu64 "\n"
		"nestvm: bt: flushes %" PRIu64 "\n"
		"nestvm: bt: chains %" PRIu64 "\n"
		"nestvm: bt: rip_rel %" PRIu64 "\n"
		"nestvm: bt: in_tc_sites %" PRIu64 "\n"
		"nestvm: bt: invalidations %" PRIu64 "\n"
		"nestvm: bt: guest_exceptions %" PRIu64 "\n"
		"nestvm: bt: syscalls %" PRIu64 "\n"
		"nestvm: bt: user_rdtsc %" PRIu64 "\n"
		"nestvm: bt: callouts %" PRIu64 "\n",
		b->blocks, b->insns, b->tc_bytes, b->flushes, b->chains,
		b->rip_rel, b->in_tc, b->invalidations, b->guest_exceptions,
		b->syscalls, b->user_rdtsc, b->callouts_total);
	for (int k = 0; k < BT_NR_CALLOUT_KINDS; k++)
		fprintf(stderr, "nestvm: bt: callout %s %" PRIu64 "\n",
			bt_callout_kind_name((enum bt_callout_kind)k),
			b->callouts[k]);
	fprintf(stderr,
		"nestvm: bt: cycles_translate %" PRIu64 "\n"
		"nestvm: bt: cycles_callouts %" PRIu64 "\n"
		"nestvm: bt: cycles_traps %" PRIu64 "\n"
		"nestvm: bt: virtual_tsc %" PRIu64 "\n",
		b->cycles_translate, b->cycles_callouts, b->cycles_traps,
		bt_virtual_tsc(&r->bt->bt, r->cpu));
}

/* --vmcs-access bt: what translating L1's handler did, and the
 * translator's own counts for it. */
static void print_bt_l1_stats(struct nestvm_run *r)
{
	const struct l0_stats *st = &r->vm->stats;
	const struct l0_bt_l1_stats *x = &st->bt_l1;
	const struct bt_stats *b = &r->bt_l1->bt.stats;

	fprintf(stderr,
		"nestvm: bt_l1: runs %" PRIu64 "\n"
		"nestvm: bt_l1: entries %" PRIu64 "\n"
		"nestvm: bt_l1: vmreads %" PRIu64 "\n"
		"nestvm: bt_l1: vmwrites %" PRIu64 "\n"
		"nestvm: bt_l1: cpuids %" PRIu64 "\n"
		"nestvm: bt_l1: coherence_resets %" PRIu64 "\n"
		"nestvm: bt_l1: shadow_fills %" PRIu64 "\n"
		"nestvm: bt_l1: insns %" PRIu64 "\n"
		"nestvm: bt_l1: cycles %" PRIu64 "\n"
		"nestvm: bt_l1: model_cycles %" PRIu64 "\n",
		x->runs, x->entries, x->vmreads, x->vmwrites, x->cpuids,
		x->coherence_resets, x->shadow_fills, st->insns_l1_bt,
		st->cycles_l1_bt, x->cycles_hidden);
	for (int k = 0; k < L0_BT_NR_FALLBACKS; k++)
		fprintf(stderr, "nestvm: bt_l1: fallback %s %" PRIu64 "\n",
			l0_bt_fallback_name((enum l0_bt_fallback)k),
			x->fallbacks[k]);
	fprintf(stderr,
		"nestvm: bt_l1: blocks %" PRIu64 "\n"
		"nestvm: bt_l1: insns_translated %" PRIu64 "\n"
		"nestvm: bt_l1: flushes %" PRIu64 "\n"
		"nestvm: bt_l1: chains %" PRIu64 "\n"
		"nestvm: bt_l1: callouts %" PRIu64 "\n",
		b->blocks, b->insns, b->flushes, b->chains, b->callouts_total);
	for (int k = 0; k < BT_NR_CALLOUT_KINDS; k++)
		fprintf(stderr, "nestvm: bt_l1: callout %s %" PRIu64 "\n",
			bt_callout_kind_name((enum bt_callout_kind)k),
			b->callouts[k]);
	fprintf(stderr,
		"nestvm: bt_l1: cycles_translate %" PRIu64 "\n"
		"nestvm: bt_l1: cycles_callouts %" PRIu64 "\n"
		"nestvm: bt_l1: cycles_traps %" PRIu64 "\n",
		b->cycles_translate, b->cycles_callouts, b->cycles_traps);
}

/* --bt adaptive|always: L2's translated regions, their switches (with
 * the rate and break-even that decided them) and what fell back. */
static void print_bt_l2_stats(struct nestvm_run *r)
{
	const struct l0_bt_l2_stats *x = &r->vm->stats.bt_l2;
	const struct l0_bt_l2 *b = r->bt_l2;

	for (unsigned int i = 0; i < b->nr_events; i++)
		fprintf(stderr, "nestvm: bt: %s\n", b->events[i]);
	fprintf(stderr,
		"nestvm: bt_l2: runs %" PRIu64 "\n"
		"nestvm: bt_l2: reflected %" PRIu64 "\n"
		"nestvm: bt_l2: to_translation %" PRIu64 "\n"
		"nestvm: bt_l2: to_hardware %" PRIu64 "\n"
		"nestvm: bt_l2: hardware %" PRIu64 "\n"
		"nestvm: bt_l2: coherence_resets %" PRIu64 "\n"
		"nestvm: bt_l2: insns %" PRIu64 "\n"
		"nestvm: bt_l2: cycles %" PRIu64 "\n"
		"nestvm: bt_l2: model_cycles %" PRIu64 "\n",
		x->runs, x->reflected, x->to_translation, x->to_hardware,
		x->hardware, x->coherence_resets, x->insns, x->cycles,
		x->cycles_hidden);
	for (int k = 0; k < L0_BT_NR_FALLBACKS; k++)
		fprintf(stderr, "nestvm: bt_l2: fallback %s %" PRIu64 "\n",
			l0_bt_fallback_name((enum l0_bt_fallback)k),
			x->fallbacks[k]);
	fprintf(stderr,
		"nestvm: bt_l2: blocks %" PRIu64 "\n"
		"nestvm: bt_l2: callouts %" PRIu64 "\n",
		b->bt.stats.blocks, b->bt.stats.callouts_total);
	for (int k = 0; k < BT_NR_CALLOUT_KINDS; k++)
		fprintf(stderr, "nestvm: bt_l2: callout %s %" PRIu64 "\n",
			bt_callout_kind_name((enum bt_callout_kind)k),
			b->bt.stats.callouts[k]);
}

static void print_nested_stats(const struct l0_vm *vm)
{
	const struct l0_stats *st = &vm->stats;

	fprintf(stderr,
		"nestvm: nested: world_switches %" PRIu64 "\n"
		"nestvm: nested: vm_entries %" PRIu64 "\n"
		"nestvm: nested: vm_exits %" PRIu64 "\n"
		"nestvm: nested: insns_l1 %" PRIu64 "\n"
		"nestvm: nested: insns_l2 %" PRIu64 "\n"
		"nestvm: nested: l1_vmreads %" PRIu64 "\n"
		"nestvm: nested: l1_vmwrites %" PRIu64 "\n"
		"nestvm: nested: nested_entries %" PRIu64 "\n"
		"nestvm: nested: nested_vmfails %" PRIu64 "\n"
		"nestvm: nested: nested_entry_failures %" PRIu64 "\n"
		"nestvm: nested: ept02_fills %" PRIu64 "\n"
		"nestvm: nested: ept_violations_reflected %" PRIu64 "\n"
		"nestvm: nested: vmcs02_writes %" PRIu64 "\n"
		"nestvm: nested: vmcs_access %s\n"
		"nestvm: nested: l1_shadow_vmreads %" PRIu64 "\n"
		"nestvm: nested: l1_shadow_vmwrites %" PRIu64 "\n"
		"nestvm: nested: shadow_sync_vmreads %" PRIu64 "\n"
		"nestvm: nested: shadow_sync_vmwrites %" PRIu64 "\n",
		st->vm_entries + st->vm_exits, st->vm_entries, st->vm_exits,
		st->insns_l1, st->insns_l2, st->vmreads, st->vmwrites,
		st->nested_entries, st->nested_vmfails,
		st->nested_entry_failures, st->ept02_fills,
		st->ept_violations_reflected, st->vmcs02_writes,
		vmcs_access_mode_name(vm->vmcs_access), st->shadow_vmreads,
		st->shadow_vmwrites, st->sync_vmreads, st->sync_vmwrites);
	/* pv: what L0 moved between its vmcs12 and L1's eVMCS. */
	if (vm->vmcs_access == VMCS_ACCESS_PV)
		fprintf(stderr,
			"nestvm: nested: evmcs_entries %" PRIu64 "\n"
			"nestvm: nested: evmcs_read_bytes %" PRIu64 "\n"
			"nestvm: nested: evmcs_write_bytes %" PRIu64 "\n",
			st->evmcs_entries, st->evmcs_read_bytes,
			st->evmcs_write_bytes);
	fprintf(stderr,
		"nestvm: nested: ept_coherence %s\n"
		"nestvm: nested: ept02_table_pages %" PRIu64 "\n"
		"nestvm: nested: ept02_present %" PRIu64 "\n"
		"nestvm: nested: ept12_pages_protected %" PRIu64 "\n"
		"nestvm: nested: ept12_wp_faults %" PRIu64 "\n"
		"nestvm: nested: ept02_dropped_wp %" PRIu64 "\n"
		"nestvm: nested: ept02_dropped_invept %" PRIu64 "\n"
		"nestvm: nested: l1_invepts %" PRIu64 "\n",
		ept_coherence_name(vm->ept_coherence), st->ept02.table_pages,
		st->ept02.present, st->ept02.wp_protects, st->ept02.wp_faults,
		st->ept02.dropped_wp, st->ept02.dropped_invept,
		st->ept02.invepts);
	fprintf(stderr, "nestvm: nested: mmu %s\n", l0_mmu_mode_name(vm->mmu));
	/* TLB tags: L1 on L0_VPID01 (or none), L2 on vpid02s. */
	fprintf(stderr,
		"nestvm: nested: vpid01 %s\n"
		"nestvm: nested: vpid01_flushes %" PRIu64 "\n"
		"nestvm: nested: vpid02_flushes %" PRIu64 "\n",
		vm->vpid01 ? "on" : "off", st->vpid01_flushes,
		st->vpid02_flushes);
	if (vm->shadow) {
		const struct shadow_stats *s = &vm->shadow->stats;

		fprintf(stderr,
			"nestvm: nested: shadow_hidden_faults %" PRIu64 "\n"
			"nestvm: nested: shadow_true_faults %" PRIu64 "\n"
			"nestvm: nested: shadow_pt_writes %" PRIu64 "\n"
			"nestvm: nested: shadow_pt_write_unimpl %" PRIu64 "\n"
			"nestvm: nested: shadow_pages_allocated %" PRIu64 "\n"
			"nestvm: nested: shadow_pages_zapped %" PRIu64 "\n"
			"nestvm: nested: shadow_leaves_zapped %" PRIu64 "\n"
			"nestvm: nested: shadow_wp_pages %" PRIu64 "\n"
			"nestvm: nested: shadow_cr3_switches %" PRIu64 "\n"
			"nestvm: nested: shadow_root_hits %" PRIu64 "\n"
			"nestvm: nested: shadow_invlpgs %" PRIu64 "\n"
			"nestvm: nested: shadow_resets %" PRIu64 "\n",
			s->hidden_faults, s->true_faults, s->pt_writes,
			s->pt_write_unimpl, s->pages_allocated, s->pages_zapped,
			s->leaves_zapped, s->wp_pages, s->cr3_switches,
			s->root_hits, s->invlpgs, s->resets);
	}
	print_reason_counts("l1_exit", st->l1_exits);
	print_reason_counts("l2_exit", st->l2_exits);
	for (unsigned int k = 0; k < VMX_NR_EXIT_REASONS; k++) {
		const struct l0_reflect_stats *x = &st->reflected[k];
		const char *name = l0_exit_reason_name(k);

		if (!x->count)
			continue;
		fprintf(stderr,
			"nestvm: nested: reflected %s (%u) count %" PRIu64
			" l1_exits %" PRIu64 " world_switches %" PRIu64
			" vmreads %" PRIu64 " vmwrites %" PRIu64
			" l1_insns %" PRIu64 " vmcs02_writes %" PRIu64
			" cycles %" PRIu64 " shadow_vmreads %" PRIu64
			" shadow_vmwrites %" PRIu64 " sync_vmreads %" PRIu64
			" sync_vmwrites %" PRIu64 "\n",
			name, k, x->count, x->l1_exits, x->world_switches,
			x->vmreads, x->vmwrites, x->l1_insns, x->vmcs02_writes,
			x->cycles, x->shadow_vmreads, x->shadow_vmwrites,
			x->sync_vmreads, x->sync_vmwrites);
		if (vm->vmcs_access == VMCS_ACCESS_BT)
			fprintf(stderr,
				"nestvm: nested: reflected_bt %s (%u) "
				"vmreads %" PRIu64 " vmwrites %" PRIu64
				" insns %" PRIu64 " cycles %" PRIu64 "\n",
				name, k, x->bt_vmreads, x->bt_vmwrites,
				x->l1_bt_insns, x->cycles_l1_bt);
		if (vm->vmcs_access == VMCS_ACCESS_PV)
			fprintf(stderr,
				"nestvm: nested: reflected_evmcs %s (%u) "
				"read_bytes %" PRIu64 " write_bytes %" PRIu64
				"\n",
				name, k, x->evmcs_read_bytes,
				x->evmcs_write_bytes);
		fprintf(stderr,
			"nestvm: nested: per_reflected %s (%u) l1_exits %.2f "
			"world_switches %.2f vmreads %.2f vmwrites %.2f "
			"l1_insns %.2f vmcs02_writes %.2f cycles %.2f\n",
			name, k, per_exit(x->l1_exits, x->count),
			per_exit(x->world_switches, x->count),
			per_exit(x->vmreads, x->count),
			per_exit(x->vmwrites, x->count),
			per_exit(x->l1_insns, x->count),
			per_exit(x->vmcs02_writes, x->count),
			per_exit(x->cycles, x->count));
	}
}

/* The modeled cycles of the nested run by bucket (docs/cost-model.md):
 * L1 and L2 together in non-root, world switches, L0's VMX operations;
 * L0's C handlers are not modeled and charged nothing. */
static void print_nested_cycles(const struct nestvm_run *r)
{
	struct vtx_cpu_stats st;

	vtx_cpu_get_stats(r->cpu, &st);
	fprintf(stderr,
		"nestvm: nested: cycles %" PRIu64 " nonroot %" PRIu64
		" switches %" PRIu64 " l0_vmx %" PRIu64
		" l0_handlers 0 (not modeled) profile %s\n",
		st.cycles, st.cycles_nonroot, st.cycles_switch, st.cycles_host,
		r->profile.cost.name);
	print_refs("nested", &r->profile);
}

/* Turns how the nested run stopped into nestvm's exit status. */
static int nested_stop_status(const struct nestvm_run *r)
{
	const struct l0_stop *st = &r->vm->stop;
	const char *level = level_names[st->level];
	int status;

	switch (st->reason) {
	case L0_STOP_DEVICE:
		status = debug_exit_status(&r->dexit);
		if (status >= 0)
			return status;
		error_line("%s stopped the machine at RIP 0x%" PRIx64
			   " for no known reason",
			   level, st->rip);
		return EXIT_CANNOT_RUN;
	case L0_STOP_TRIPLE_FAULT:
		error_line("%s triple-faulted at RIP 0x%" PRIx64 ": %s", level,
			   st->rip, st->why);
		return EXIT_GUEST_STOPPED;
	case L0_STOP_HALTED:
		error_line("%s halted at RIP 0x%" PRIx64
			   " with nothing to wake it: %s",
			   level, st->rip, st->why);
		return EXIT_GUEST_STOPPED;
	case L0_STOP_INSN_LIMIT:
		error_line("the instruction limit (%" PRIu64
			   ") ran out at %s RIP 0x%" PRIx64,
			   r->opt->max_insns, level, st->rip);
		return EXIT_LIMIT;
	case L0_STOP_UNHANDLED:
		error_line("L0: %s (at %s RIP 0x%" PRIx64 ")", st->why, level,
			   st->rip);
		return EXIT_CANNOT_RUN;
	case L0_STOP_INTERNAL:
		error_line("internal error: L0: %s (at %s RIP 0x%" PRIx64 ")",
			   st->why, level, st->rip);
		return EXIT_CANNOT_RUN;
	case L0_STOP_REQUESTED:
		/* Only --timeout asks the vCPU to stop. */
		if (!timeout_fired)
			break;
		timeout_line(r, level, st->rip);
		return EXIT_LIMIT;
	}
	error_line("the nested run stopped for an unknown reason %d",
		   (int)st->reason);
	return EXIT_CANNOT_RUN;
}

/* The per-level table (l0/report.h), after the lines above. */
static void print_report_table(const struct nestvm_run *r)
{
	struct vtx_cpu_stats st;
	struct report_input in = {
		.profile = r->profile.cost.name,
		.st = &st,
		.vm = r->vm,
	};

	vtx_cpu_get_stats(r->cpu, &st);
	report_print_table(stderr, &in);
}

/* Runs the image as L1 under L0 (l0/vm.h). */
static int run_nested(struct nestvm_run *r)
{
	char err[ERR_MAX] = "";
	int ret, status;

	r->vm = calloc(1, sizeof(*r->vm));
	if (!r->vm) {
		error_line("%s", strerror(ENOMEM));
		return EXIT_CANNOT_RUN;
	}
	ret = l0_vm_init(r->vm, r->m, r->cpu, &r->bus, r->opt->mem_size, err,
			 ERR_MAX);
	if (ret) {
		error_line("%s", err);
		return EXIT_CANNOT_RUN;
	}
	r->vm->prep = r->opt->prep_dirty ? L0_PREP_DIRTY : L0_PREP_FULL;
	r->vm->trace = r->trace;
	ret = l0_vm_set_vmcs_access(r->vm, r->opt->vmcs_access, err, ERR_MAX);
	if (ret) {
		error_line("%s", err);
		return EXIT_CANNOT_RUN;
	}
	l0_vm_set_ept_coherence(r->vm, r->opt->ept_coherence);
	ret = l0_vm_set_mmu(r->vm,
			    r->opt->mmu_shadow ? L0_MMU_SHADOW : L0_MMU_EPT,
			    err, ERR_MAX);
	if (ret) {
		error_line("%s", err);
		return EXIT_CANNOT_RUN;
	}
	if (r->opt->vmcs_access == VMCS_ACCESS_BT) {
		r->bt_l1 = calloc(1, sizeof(*r->bt_l1));
		if (!r->bt_l1) {
			error_line("%s", strerror(ENOMEM));
			return EXIT_CANNOT_RUN;
		}
		ret = l0_bt_l1_init(r->bt_l1, r->vm, &r->profile, err, ERR_MAX);
		if (ret) {
			error_line("%s", err);
			return EXIT_CANNOT_RUN;
		}
	}
	if (r->bt_l1 && r->opt->bt_mode != NESTVM_BT_OFF) {
		r->bt_l2 = calloc(1, sizeof(*r->bt_l2));
		if (!r->bt_l2) {
			error_line("%s", strerror(ENOMEM));
			return EXIT_CANNOT_RUN;
		}
		ret = l0_bt_l2_init(r->bt_l2, r->bt_l1, r->vm, &r->profile,
				    r->opt->bt_mode, err, ERR_MAX);
		if (ret) {
			error_line("%s", err);
			return EXIT_CANNOT_RUN;
		}
	}
	if (r->opt->vmm == NESTVM_VMM_BT) {
		r->bt = calloc(1, sizeof(*r->bt));
		if (!r->bt) {
			error_line("%s", strerror(ENOMEM));
			return EXIT_CANNOT_RUN;
		}
		ret = l0_bt_vm_init(r->bt, r->vm, &r->profile, err, ERR_MAX);
		if (ret) {
			error_line("%s", err);
			return EXIT_CANNOT_RUN;
		}
		/* The budget counts what the container retires: guest
		 * user code and the TC's instructions. */
		r->bt->bt.insn_limit = r->opt->max_insns;
		l0_bt_vm_run(r->bt);
	} else {
		l0_vm_run(r->vm, r->opt->max_insns);
	}
	r->ran = true;
	fflush(stdout);
	if (uart16550_flush(&r->uart))
		error_line("serial output lost: %s",
			   strerror(-r->uart.write_error));
	if (r->opt->stats)
		print_stats(r);
	else
		print_unimplemented(r, false);
	print_nested_stats(r->vm);
	if (r->bt)
		print_bt_stats(r);
	if (r->bt_l1)
		print_bt_l1_stats(r);
	if (r->bt_l2)
		print_bt_l2_stats(r);
	print_nested_cycles(r);
	print_report_table(r);
	status = nested_stop_status(r);
	if (r->opt->nested_state_out) {
		/* After the report: a snapshot under VMCS shadowing first
		 * copies the shadow VMCS into vmcs12, as KVM does. */
		err[0] = 0;
		ret = nstate_write_file(r->vm, r->opt->nested_state_out, err,
					ERR_MAX);
		if (err[0])
			error_line("--nested-state-out: %s", err);
		if (ret)
			return EXIT_CANNOT_RUN;
	}
	return status;
}

/* Runs the image with VMX off. */
static int run_native(struct nestvm_run *r)
{
	struct vtx_stop stop;
	int ret;

	if (r->opt->max_insns)
		vtx_cpu_set_insn_limit(r->cpu, r->opt->max_insns);

	memset(&stop, 0, sizeof(stop));
	ret = vtx_cpu_run(r->cpu, &stop);
	fflush(stdout);
	if (uart16550_flush(&r->uart))
		error_line("serial output lost: %s",
			   strerror(-r->uart.write_error));
	if (ret) {
		error_line("cannot run the guest: %s", strerror(-ret));
		return EXIT_CANNOT_RUN;
	}
	r->ran = true;
	if (r->trace) {
		struct vtx_cpu_stats st;

		vtx_cpu_get_stats(r->cpu, &st);
		trace_native_run(r->trace, st.cycles, st.insns, st.vm_exits);
	}
	if (r->opt->stats)
		print_stats(r);
	else
		print_unimplemented(r, false);
	return stop_status(r, &stop);
}

/*
 * --nested-state-out is written when the run ends (l0/nstate.c, through a
 * temporary and a rename); a path that cannot be written is refused now,
 * before the guest runs, as --json's and --trace's are.
 */
static int check_nested_state_out(const struct nestvm_run *r, char *err)
{
	const char *path = r->opt->nested_state_out;
	const char *slash;
	char dir[PATH_MAX];
	struct stat sb;
	size_t len;

	if (!path)
		return 0;
	if (r->opt->level == NESTVM_LEVEL_NATIVE) {
		snprintf(err, ERR_MAX,
			 "--nested-state-out: a --native run has no nested "
			 "state");
		return -EINVAL;
	}
	len = strlen(path);
	if (!len || path[len - 1] == '/' ||
	    (!stat(path, &sb) && S_ISDIR(sb.st_mode))) {
		snprintf(err, ERR_MAX,
			 "--nested-state-out: '%s' is a directory", path);
		return -EISDIR;
	}
	slash = strrchr(path, '/');
	if (!slash)
		snprintf(dir, sizeof(dir), ".");
	else if (slash == path)
		snprintf(dir, sizeof(dir), "/");
	else
		snprintf(dir, sizeof(dir), "%.*s", (int)(slash - path), path);
	if (access(dir, W_OK | X_OK)) {
		int e = errno;

		snprintf(err, ERR_MAX,
			 "--nested-state-out: cannot create '%s': %s", path,
			 strerror(e));
		return -e;
	}
	return 0;
}

static int run_guest(struct nestvm_run *r)
{
	char err[ERR_MAX] = "";
	int ret, status;

	ret = prepare_inputs(r, err);
	if (!ret)
		ret = build_machine(r, err);
	if (!ret)
		ret = open_json(r, err);
	if (!ret)
		ret = open_trace(r, err);
	if (!ret)
		ret = check_nested_state_out(r, err);
	if (!ret)
		ret = open_serial(r, err);
	if (ret) {
		error_line("%s", err);
		return EXIT_CANNOT_RUN;
	}

	crash_set_cpu(r->cpu);
	if (r->opt->debug_crash)
		crash_on_purpose();
	if (arm_timeout(r))
		return EXIT_CANNOT_RUN;
	if (r->opt->level == NESTVM_LEVEL_NESTED)
		status = run_nested(r);
	else
		status = run_native(r);
	disarm_timeout(r);
	if (r->trace)
		trace_get_summary(r->trace, &r->trace_sum);
	if (r->trace && r->ran && finish_trace(r, status))
		return EXIT_CANNOT_RUN;
	/* A report of a run that never started would be all zeros. */
	if (r->json_tmp && r->ran && finish_json(r, status))
		return EXIT_CANNOT_RUN;
	return status;
}

static void run_free(struct nestvm_run *r)
{
	crash_set_cpu(NULL);
	drop_json(r);
	trace_free(r->trace);
	if (r->bt) {
		l0_bt_vm_destroy(r->bt);
		free(r->bt);
	}
	if (r->bt_l2) {
		l0_bt_l2_destroy(r->bt_l2);
		free(r->bt_l2);
	}
	if (r->bt_l1) {
		l0_bt_l1_destroy(r->bt_l1);
		free(r->bt_l1);
	}
	if (r->vm) {
		l0_vm_destroy(r->vm);
		free(r->vm);
	}
	if (r->cpu)
		vtx_cpu_destroy(r->cpu);
	if (r->m)
		vtx_machine_destroy(r->m);
	if (r->opt->serial == NESTVM_SERIAL_FILE && r->serial_fd >= 0)
		close(r->serial_fd);
	loader_free_file(&r->image);
	for (unsigned int i = 0; i < NESTVM_MODULES_MAX; i++)
		loader_free_file(&r->modules[i]);
}

int main(int argc, char **argv)
{
	struct nestvm_options opt;
	struct nestvm_run *r;
	char err[ERR_MAX];
	int status;

	/* A closed stdout must show up as a write error, not kill us. */
	signal(SIGPIPE, SIG_IGN);
	if (crash_install())
		error_line("warning: crash reporting unavailable");

	if (argc > 1 && !strcmp(argv[1], "nested-state"))
		return nstate_cli_main(argc - 1, argv + 1);
	/* Subcommands with their own flags (eval/compare.h). */
	if (argc > 1 && !strcmp(argv[1], "compare"))
		return compare_main(argc - 1, argv + 1);
	if (argc > 1 && !strcmp(argv[1], "eval"))
		return eval_main(argc - 1, argv + 1);
	if (options_parse(argc, argv, &opt, err, sizeof(err))) {
		error_line("%s", err);
		return EXIT_CANNOT_RUN;
	}
	switch (opt.action) {
	case NESTVM_HELP:
		fputs(options_usage(), stdout);
		return 0;
	case NESTVM_VERSION_INFO:
		printf("nestvm %s\n", NESTVM_VERSION);
		return 0;
	case NESTVM_RUN:
		break;
	}

	/* The run state is large (module and segment tables): keep it off
	 * the stack. */
	r = calloc(1, sizeof(*r));
	if (!r) {
		error_line("%s", strerror(ENOMEM));
		return EXIT_CANNOT_RUN;
	}
	r->opt = &opt;
	r->serial_fd = -1;
	r->json_fd = -1;
	status = run_guest(r);
	run_free(r);
	free(r);
	return status;
}
