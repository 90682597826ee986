/* SPDX-License-Identifier: MIT */
/*
 * eval.c - `nestvm eval` (eval/eval.h): the flags, the runs the
 * experiments of eval/experiments.txt expand to (each configuration once,
 * however many experiments name it), the check of which features `nestvm
 * run` accepts (a run needing one it refuses is marked, not run), running
 * them through eval/runner.h with a progress line each, --emit-jobs and
 * --merge, reading each run's --json report and guest output, and the
 * report (eval/report.h) with its SVGs. Host side.
 */
#include "eval/eval.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "arch/types.h"
#include "eval/experiment.h"
#include "eval/json_read.h"
#include "eval/paths.h"
#include "eval/report.h"
#include "eval/runner.h"
#include "eval/table.h"
#include "l0/errmsg.h"

#define ERR_MAX 1024
#define ARGV_MAX 40
#define MERGE_MAX 64
#define PROBE_MAX 32
#define PLOTS_MAX 16
#define DOC_MAX (64u << 20)

extern char **environ;

struct eval_opts {
	bool full, quick;
	unsigned int jobs;
	const char *out, *emit, *experiments, *reference, *l1;
	size_t nr_merge;
	const char *merge[MERGE_MAX];
};

/* A feature a run needs beyond what `nestvm run` does by default. */
struct probe {
	/* profile: "" but for --vmm, whose software VMM needs the bt_*
	 * charges only some profiles have (p4-prescott). */
	char flag[32], value[EXP_NAME_MAX], profile[EXP_NAME_MAX];
	bool ok;
	char refusal[EVAL_NEEDS_MAX];
};

struct eval_ctx {
	struct eval_opts o;
	struct eval_data d;
	struct eval_results r;
	char tree[PATH_MAX], exe[PATH_MAX], out[PATH_MAX], runs[PATH_MAX];
	char l1[PATH_MAX], exp_path[PATH_MAX], ref_path[PATH_MAX];
	/* The enlightened l1-shim for the pv strategy, unless --l1 names
	 * one L1 for every run (docs/l1-shim.md "The enlightened VMCS"). */
	char l1_pv[PATH_MAX];
	size_t nr_probes;
	struct probe probes[PROBE_MAX];
	char *(*argv)[ARGV_MAX]; /* per run */
};

__attribute__((format(printf, 1, 2))) static void say(const char *fmt, ...)
{
	va_list ap;

	fputs("nestvm: eval: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static const char usage[] =
	"usage: nestvm eval [--quick|--full] [flags]\n"
	"\n"
	"Runs every experiment of eval/experiments.txt (each workload at\n"
	"native, single-level and nested levels, per strategy, MMU mode, BT\n"
	"mode and cost profile), each run its own `nestvm run` process, and\n"
	"writes OUT/report.md (tables next to the published figures),\n"
	"OUT/results.json (every number and command) and OUT/*.svg.\n"
	"\n"
	"  --quick                small counts, for tests (about a minute)\n"
	"  --full                 the full counts (the default)\n"
	"  -j, --jobs N           runs at a time (default: online CPUs)\n"
	"  --out DIR              where results go (default eval/out)\n"
	"  --emit-jobs FILE       write the runs as shell commands, one a\n"
	"                         line (GNU parallel, Slurm arrays); run none\n"
	"  --merge DIR            read the runs' results from DIR (or\n"
	"                         DIR/runs) instead of running (repeatable)\n"
	"  --experiments FILE     experiment definitions (default\n"
	"                         eval/experiments.txt)\n"
	"  --reference FILE       published figures (default\n"
	"                         eval/reference.txt)\n"
	"  --l1 IMAGE             the L1 hypervisor (default build/l1-shim.elf)\n"
	"  -h, --help             print this help\n"
	"\n"
	"Exit status: 0; 1 when a run failed (the report marks it); 125 for\n"
	"a bad flag or file.\n";

static int parse_jobs(const char *val, unsigned int *out, char *err)
{
	char *end;
	unsigned long n;

	errno = 0;
	n = strtoul(val, &end, 10);
	if (*val < '1' || *val > '9' || *end || errno || n > 1024)
		return errmsg(-EINVAL, err, ERR_MAX,
			      "-j: bad number '%s' (1 to 1024)", val);
	*out = (unsigned int)n;
	return 0;
}

/* 0, 1 for --help, or -EINVAL with the message in err. */
static int parse_flags(int argc, char **argv, struct eval_opts *o, char *err)
{
	bool help = false;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char **dst = NULL;
		const char *val;

		if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			help = true;
			continue;
		}
		if (!strcmp(a, "--quick")) {
			o->quick = true;
			continue;
		}
		if (!strcmp(a, "--full")) {
			o->full = true;
			continue;
		}
		if (!strcmp(a, "--out"))
			dst = &o->out;
		else if (!strcmp(a, "--emit-jobs"))
			dst = &o->emit;
		else if (!strcmp(a, "--experiments"))
			dst = &o->experiments;
		else if (!strcmp(a, "--reference"))
			dst = &o->reference;
		else if (!strcmp(a, "--l1"))
			dst = &o->l1;
		else if (strcmp(a, "-j") && strcmp(a, "--jobs") &&
			 strcmp(a, "--merge"))
			return errmsg(-EINVAL, err, ERR_MAX,
				      "eval: unknown argument '%s' (try "
				      "'nestvm eval --help')",
				      a);
		if (i + 1 >= argc || !*argv[i + 1])
			return errmsg(-EINVAL, err, ERR_MAX,
				      "%s needs an argument", a);
		val = argv[++i];
		if (dst) {
			*dst = val;
		} else if (!strcmp(a, "--merge")) {
			if (o->nr_merge == MERGE_MAX)
				return errmsg(-EINVAL, err, ERR_MAX,
					      "--merge: more than %d sources",
					      MERGE_MAX);
			o->merge[o->nr_merge++] = val;
		} else if (parse_jobs(val, &o->jobs, err)) {
			return -EINVAL;
		}
	}
	if (help)
		return 1;
	if (o->quick && o->full)
		return errmsg(-EINVAL, err, ERR_MAX,
			      "eval: --quick and --full exclude each other");
	if (o->emit && o->nr_merge)
		return errmsg(-EINVAL, err, ERR_MAX,
			      "eval: --emit-jobs and --merge exclude each "
			      "other");
	return 0;
}

/* The source tree nestvm was built in (eval/paths.h). */
static void find_tree(struct eval_ctx *c)
{
	eval_find_tree(c->exe, c->tree, "eval/experiments.txt");
}

/* path made absolute: against the tree when tree_rel, else the cwd. */
static int absolute(const struct eval_ctx *c, const char *path, bool tree_rel,
		    char *out, char *err)
{
	return eval_absolute(c->tree, path, tree_rel, out, err, ERR_MAX);
}

static int add_run(void *opaque, const struct eval_config *cfg)
{
	struct eval_ctx *c = opaque;
	struct eval_run *grown, *run;

	for (size_t i = 0; i < c->r.nr_runs; i++)
		if (eval_config_equal(&c->r.runs[i].cfg, cfg))
			return 0; /* another experiment's run already */
	grown = realloc(c->r.runs, (c->r.nr_runs + 1) * sizeof(*grown));
	if (!grown)
		return -ENOMEM;
	c->r.runs = grown;
	run = &c->r.runs[c->r.nr_runs++];
	memset(run, 0, sizeof(*run));
	run->cfg = *cfg;
	eval_config_name(&c->d, cfg, run->id, sizeof(run->id));
	return 0;
}

/* The binary translator's flags depend on the profile: only one with the
 * software VMM's bt_* charges takes them. */
static bool probe_needs_profile(const char *flag, const char *value)
{
	return !strcmp(flag, "--vmm") || !strcmp(flag, "--bt") ||
	       (!strcmp(flag, "--vmcs-access") && !strcmp(value, "bt"));
}

/* The probe for flag value (on run's profile for the translator's flags),
 * added when new: its index, or -1. */
static int probe_for(struct eval_ctx *c, const struct eval_run *run,
		     const char *flag, const char *value)
{
	const char *prof =
		probe_needs_profile(flag, value) ? run->cfg.profile : "";
	struct probe *p = &c->probes[c->nr_probes];

	for (size_t i = 0; i < c->nr_probes; i++)
		if (!strcmp(c->probes[i].flag, flag) &&
		    !strcmp(c->probes[i].value, value) &&
		    !strcmp(c->probes[i].profile, prof))
			return (int)i;
	if (c->nr_probes == PROBE_MAX)
		return -1;
	snprintf(p->flag, sizeof(p->flag), "%s", flag);
	snprintf(p->value, sizeof(p->value), "%s", value);
	snprintf(p->profile, sizeof(p->profile), "%s", prof);
	return (int)c->nr_probes++;
}

/* The flags a run adds to `nestvm run`, in pairs, NULL-terminated. */
static size_t run_features(const struct eval_run *run, const char *out[8])
{
	const struct eval_config *cfg = &run->cfg;
	size_t n = 0;

	if (cfg->level == EVAL_LEVEL_SW) {
		out[n++] = "--vmm";
		out[n++] = "bt";
	}
	if (cfg->strategy[0]) {
		out[n++] = "--vmcs-access";
		out[n++] = cfg->strategy;
	}
	if (cfg->prep[0]) {
		out[n++] = "--prep";
		out[n++] = cfg->prep;
	}
	/* shadow-on-ept is L1's choice, not L0's: l1-shim's mmu=shadow
	 * (docs/l1-shim.md), added to its command line below. */
	if (cfg->mmu[0] && strcmp(cfg->mmu, "ept") &&
	    strcmp(cfg->mmu, "shadow-on-ept")) {
		out[n++] = "--mmu";
		out[n++] = cfg->mmu;
	}
	if (cfg->bt[0] && strcmp(cfg->bt, "off")) {
		out[n++] = "--bt";
		out[n++] = cfg->bt;
	}
	out[n] = NULL;
	return n;
}

/* Asks `nestvm run` about every flag some run needs: a flag it refuses
 * (exit status 125, one line) marks those runs, never faked. */
static int probe_features(struct eval_ctx *c, char *err)
{
	struct runner_job jobs[PROBE_MAX];
	char *argv[PROBE_MAX][16], logs[PROBE_MAX][PATH_MAX + 32];
	char image[PATH_MAX];

	for (size_t i = 0; i < c->r.nr_runs; i++) {
		const char *f[8];
		size_t n = run_features(&c->r.runs[i], f);

		for (size_t k = 0; k < n; k += 2)
			if (probe_for(c, &c->r.runs[i], f[k], f[k + 1]) < 0)
				return errmsg(-E2BIG, err, ERR_MAX,
					      "more than %d distinct features",
					      PROBE_MAX);
	}
	if (absolute(c, c->d.workloads[0].image, true, image, err))
		return -ENOENT;
	memset(jobs, 0, sizeof(jobs));
	for (size_t i = 0; i < c->nr_probes; i++) {
		char **a = argv[i];
		size_t n = 0;

		snprintf(logs[i], sizeof(logs[i]), "%s/probe-%zu.log", c->runs,
			 i);
		a[n++] = c->exe;
		a[n++] = "run";
		/* --bt goes with L1's handler translated. */
		if (!strcmp(c->probes[i].flag, "--bt")) {
			a[n++] = "--vmcs-access";
			a[n++] = "bt";
		}
		a[n++] = c->probes[i].flag;
		a[n++] = c->probes[i].value;
		if (c->probes[i].profile[0]) {
			a[n++] = "--profile";
			a[n++] = c->probes[i].profile;
		}
		/* The image without arguments prints its usage and ends;
		 * the bound is for an image that would not. The software
		 * VMM counts no instructions (it refuses --max-insns). */
		a[n++] = strcmp(c->probes[i].flag, "--vmm") ? "--max-insns"
							    : "--timeout";
		a[n++] = strcmp(c->probes[i].flag, "--vmm") ? "1" : "60";
		a[n++] = "--serial";
		a[n++] = "none";
		a[n++] = image;
		a[n] = NULL;
		jobs[i].argv = a;
		jobs[i].log_path = logs[i];
	}
	runner_run(jobs, c->nr_probes, 2, NULL, NULL);
	for (size_t i = 0; i < c->nr_probes; i++) {
		struct probe *p = &c->probes[i];
		char *text = NULL;

		p->ok = jobs[i].status != 125 && jobs[i].status >= 0;
		if (!p->ok && !json_doc_read_file(logs[i], 1 << 16, &text)) {
			snprintf(p->refusal, sizeof(p->refusal), "%.*s",
				 (int)strcspn(text, "\n"), text);
			free(text);
		}
		unlink(logs[i]);
	}
	return 0;
}

static void mark_needs(struct eval_ctx *c, struct eval_run *run)
{
	const char *f[8];
	size_t n = run_features(run, f);

	for (size_t k = 0; k < n; k += 2) {
		const struct probe *p =
			&c->probes[probe_for(c, run, f[k], f[k + 1])];

		if (p->ok)
			continue;
		/* The translator's flags are refused on a profile without
		 * the software VMM's charges; the others name the flag. */
		if (probe_needs_profile(f[k], f[k + 1]))
			snprintf(run->needs, sizeof(run->needs),
				 "needs bt_* charges");
		else
			snprintf(run->needs, sizeof(run->needs), "needs %s %s",
				 f[k], f[k + 1]);
		snprintf(run->refusal, sizeof(run->refusal), "%s",
			 p->refusal[0] ? p->refusal : "refused");
		return;
	}
}

static int push(char **argv, size_t *n, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int push(char **argv, size_t *n, const char *fmt, ...)
{
	va_list ap;
	int ret;

	if (*n + 1 >= ARGV_MAX)
		return -E2BIG;
	va_start(ap, fmt);
	ret = vasprintf(&argv[*n], fmt, ap);
	va_end(ap);
	if (ret < 0) {
		argv[*n] = NULL;
		return -ENOMEM;
	}
	(*n)++;
	return 0;
}

/* Appends arg to buf, single-quoted when the shell would split it. */
static void shell_quote(char *buf, size_t len, const char *arg)
{
	size_t n = strlen(buf);
	bool plain = *arg != '\0';

	for (const char *p = arg; *p; p++)
		if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVW"
			    "XYZ0123456789_./:=,+-@%",
			    *p))
			plain = false;
	if (n && n + 1 < len)
		buf[n++] = ' ';
	if (!plain && n + 1 < len)
		buf[n++] = '\'';
	for (const char *p = arg; *p && n + 5 < len; p++) {
		if (*p == '\'' && !plain) {
			memcpy(buf + n, "'\\''", 4);
			n += 4;
		} else {
			buf[n++] = *p;
		}
	}
	if (!plain && n + 1 < len)
		buf[n++] = '\'';
	buf[n < len ? n : len - 1] = '\0';
}

static void run_paths(const struct eval_ctx *c, const struct eval_run *run,
		      const char *ext, char *buf, size_t len)
{
	snprintf(buf, len, "%s/%s.%s", c->runs, run->id, ext);
}

/* The `nestvm run` command of one run. */
static int build_argv(struct eval_ctx *c, size_t i, char *err)
{
	struct eval_run *run = &c->r.runs[i];
	const struct eval_config *cfg = &run->cfg;
	const struct eval_workload *w = &c->d.workloads[cfg->workload];
	char **a = c->argv[i], image[PATH_MAX], path[PATH_MAX + 300];
	char args[2 * EXP_ARGS_MAX + 32], l2[EXP_ARGS_MAX + 32];
	const char *f[8];
	size_t n = 0, nf = run_features(run, f);
	bool shim = cfg->level == EVAL_LEVEL_SINGLE ||
		    cfg->level == EVAL_LEVEL_NESTED;
	int ret = 0;

	if (absolute(c, w->image, true, image, err))
		return -ENOENT;
	/* {n} is the count: the only substitution a command line has. */
	{
		const char *s = w->args, *at;
		size_t o = 0;

		l2[0] = '\0';
		while ((at = strstr(s, "{n}"))) {
			o += (size_t)snprintf(l2 + o, sizeof(l2) - o,
					      "%.*s%" PRIu64, (int)(at - s), s,
					      cfg->count);
			s = at + 3;
			if (o >= sizeof(l2))
				return errmsg(-E2BIG, err, ERR_MAX,
					      "%s: command line too long",
					      w->name);
		}
		snprintf(l2 + o, sizeof(l2) - o, "%s", s);
	}
	if (shim)
		snprintf(args, sizeof(args), "%s%s%s-- %s",
			 !strcmp(cfg->mmu, "shadow-on-ept") ? "mmu=shadow "
							    : "",
			 w->shim, w->shim[0] ? " " : "", l2);
	else
		snprintf(args, sizeof(args), "%s", l2);
	ret |= push(a, &n, "%s", c->exe);
	ret |= push(a, &n, "run");
	if (cfg->level == EVAL_LEVEL_NATIVE || cfg->level == EVAL_LEVEL_SINGLE)
		ret |= push(a, &n, "--native");
	for (size_t k = 0; k < nf; k++)
		ret |= push(a, &n, "%s", f[k]);
	ret |= push(a, &n, "--profile");
	ret |= push(a, &n, "%s", cfg->profile);
	run_paths(c, run, "serial", path, sizeof(path));
	ret |= push(a, &n, "--serial");
	ret |= push(a, &n, "file:%s", path);
	run_paths(c, run, "json", path, sizeof(path));
	ret |= push(a, &n, "--json");
	ret |= push(a, &n, "%s", path);
	if (shim) {
		bool pv = false;

		for (size_t k = 0; k + 1 < nf; k++)
			if (!strcmp(f[k], "--vmcs-access") &&
			    !strcmp(f[k + 1], "pv"))
				pv = true;
		ret |= push(a, &n, "%s", pv && c->l1_pv[0] ? c->l1_pv : c->l1);
		ret |= push(a, &n, "--module");
	}
	ret |= push(a, &n, "%s", image);
	if (args[0]) {
		ret |= push(a, &n, "--append");
		ret |= push(a, &n, "%s", args);
	}
	if (ret)
		return errmsg(-ENOMEM, err, ERR_MAX, "building %s: %s", run->id,
			      strerror(ENOMEM));
	run->command[0] = '\0';
	for (size_t k = 0; a[k]; k++)
		shell_quote(run->command, sizeof(run->command), a[k]);
	return 0;
}

static int load(struct eval_ctx *c, char *err)
{
	struct eval_opts *o = &c->o;
	int ret;

	find_tree(c);
	ret = absolute(c,
		       o->experiments ? o->experiments : "eval/experiments.txt",
		       !o->experiments, c->exp_path, err);
	if (!ret)
		ret = absolute(
			c, o->reference ? o->reference : "eval/reference.txt",
			!o->reference, c->ref_path, err);
	if (!ret)
		ret = absolute(c, o->l1 ? o->l1 : "build/l1-shim.elf", !o->l1,
			       c->l1, err);
	if (!ret && !o->l1)
		ret = absolute(c, "build/l1-shim-pv.elf", true, c->l1_pv, err);
	if (!ret)
		ret = absolute(c, o->out ? o->out : "eval/out", false, c->out,
			       err);
	if (ret)
		return ret;
	ret = eval_data_load(c->exp_path, &c->d, err, ERR_MAX);
	if (ret)
		return ret;
	for (size_t i = 0; i < c->d.nr_experiments; i++)
		if (!report_section_known(c->d.experiments[i].section))
			return errmsg(-EINVAL, err, ERR_MAX,
				      "%s: experiment '%s': unknown section "
				      "'%s' (docs/evaluation.md lists them)",
				      c->exp_path, c->d.experiments[i].name,
				      c->d.experiments[i].section);
	c->r.d = &c->d;
	c->r.full = !o->quick;
	c->r.reference = c->ref_path;
	for (size_t i = 0; i < c->d.nr_experiments; i++) {
		ret = eval_expand(&c->d, &c->d.experiments[i], c->r.full,
				  add_run, c);
		if (ret)
			return errmsg(ret, err, ERR_MAX, "%s", strerror(-ret));
	}
	ret = eval_mkdir_p(c->out);
	if (!ret && snprintf(c->runs, sizeof(c->runs), "%s/runs", c->out) >=
			    (int)sizeof(c->runs))
		ret = -ENAMETOOLONG;
	if (!ret)
		ret = eval_mkdir_p(c->runs);
	if (ret)
		return errmsg(ret, err, ERR_MAX,
			      "--out: cannot create '%s': %s", c->runs,
			      strerror(-ret));
	if (!o->nr_merge) {
		for (size_t i = 0; i < c->d.nr_workloads; i++) {
			char img[PATH_MAX];

			if (absolute(c, c->d.workloads[i].image, true, img,
				     err))
				return -ENOENT;
			if (!eval_file_exists(img))
				return errmsg(-ENOENT, err, ERR_MAX,
					      "no such image: '%s' (build it "
					      "with ninja)",
					      img);
		}
		if (!eval_file_exists(c->l1))
			return errmsg(-ENOENT, err, ERR_MAX,
				      "no such image: '%s' (build it with "
				      "ninja)",
				      c->l1);
	}
	c->argv = calloc(c->r.nr_runs, sizeof(*c->argv));
	if (!c->argv)
		return errmsg(-ENOMEM, err, ERR_MAX, "%s", strerror(ENOMEM));
	for (size_t i = 0; i < c->r.nr_runs; i++) {
		ret = build_argv(c, i, err);
		if (ret)
			return ret;
	}
	ret = probe_features(c, err);
	if (ret)
		return ret;
	for (size_t i = 0; i < c->r.nr_runs; i++)
		mark_needs(c, &c->r.runs[i]);
	return 0;
}

/* "in nested trap p4-prescott": what a progress line calls a run. */
static void run_title(const struct eval_ctx *c, const struct eval_run *run,
		      char *buf, size_t len)
{
	const struct eval_config *cfg = &run->cfg;

	snprintf(buf, len, "%s %s%s%s%s%s%s%s %s n=%" PRIu64,
		 c->d.workloads[cfg->workload].name,
		 eval_level_name(cfg->level), cfg->strategy[0] ? " " : "",
		 cfg->strategy,
		 cfg->prep[0] && strcmp(cfg->prep, "full") ? " " : "",
		 cfg->prep[0] && strcmp(cfg->prep, "full") ? cfg->prep : "",
		 cfg->level == EVAL_LEVEL_NESTED && strcmp(cfg->mmu, "ept")
			 ? " mmu="
			 : "",
		 cfg->level == EVAL_LEVEL_NESTED && strcmp(cfg->mmu, "ept")
			 ? cfg->mmu
			 : "",
		 cfg->profile, cfg->count);
	if (cfg->level == EVAL_LEVEL_NESTED && strcmp(cfg->bt, "off")) {
		size_t n = strlen(buf);

		snprintf(buf + n, len - n, " bt=%s", cfg->bt);
	}
}

/*
 * A software-VMM run that L0 stopped on something it does not handle yet
 * (exit status 125 and "nestvm: L0: --vmm bt: WHY (at L1 RIP ...)" in its
 * log, such as an instruction the translator lacks): marked like a
 * refused flag, with WHY in the table instead of a number, and not a
 * failure of the evaluation. true when run was marked.
 */
static bool mark_sw_stop(struct eval_run *run, int status, const char *log)
{
	static const char key[] = "nestvm: L0: --vmm bt: ";
	char *text = NULL;
	const char *at, *end, *why;

	if (run->cfg.level != EVAL_LEVEL_SW || status != 125 ||
	    json_doc_read_file(log, 1 << 20, &text))
		return false;
	at = strstr(text, key);
	if (!at) {
		free(text);
		return false;
	}
	why = at + strlen(key);
	end = why + strcspn(why, "\n");
	snprintf(run->refusal, sizeof(run->refusal), "%.*s", (int)(end - at),
		 at);
	/* The RIP is in the refusal; the cell keeps the reason. */
	for (const char *p = why; p < end; p++)
		if (!strncmp(p, " (at L1 RIP ", 12))
			end = p;
	snprintf(run->needs, sizeof(run->needs), "stops: %.*s",
		 (int)(end - why), why);
	free(text);
	return true;
}

struct pending {
	struct eval_ctx *c;
	size_t *index; /* runner job -> run */
	struct runner_job *jobs;
};

static void job_done(void *opaque, const struct runner_job *rj, size_t done,
		     size_t total)
{
	struct pending *p = opaque;
	struct eval_run *run = &p->c->r.runs[p->index[rj - p->jobs]];
	char title[512];

	run->status = rj->status;
	run->seconds = rj->seconds;
	run->has_wall = true;
	run_title(p->c, run, title, sizeof(title));
	if (mark_sw_stop(run, rj->status, rj->log_path))
		fprintf(stderr, "[%zu/%zu] %s: %s\n", done, total, title,
			run->refusal + strlen("nestvm: "));
	else if (!rj->status)
		fprintf(stderr, "[%zu/%zu] %s %.1f s\n", done, total, title,
			rj->seconds);
	else
		fprintf(stderr, "[%zu/%zu] %s FAILED (exit status %d): %s\n",
			done, total, title, rj->status, rj->log_path);
}

static size_t run_all(struct eval_ctx *c)
{
	struct runner_job *jobs = calloc(c->r.nr_runs, sizeof(*jobs));
	size_t *index = calloc(c->r.nr_runs, sizeof(*index));
	char(*logs)[PATH_MAX + 300] = calloc(c->r.nr_runs, sizeof(*logs));
	struct pending p = { .c = c, .index = index, .jobs = jobs };
	unsigned int par = c->o.jobs;
	size_t n = 0, failed = 0, needs = 0;

	if (!jobs || !index || !logs) {
		say("%s", strerror(ENOMEM));
		failed = c->r.nr_runs;
		goto out;
	}
	if (!par) {
		long cpus = sysconf(_SC_NPROCESSORS_ONLN);

		par = cpus > 0 ? (unsigned int)cpus : 1;
	}
	for (size_t i = 0; i < c->r.nr_runs; i++) {
		char path[PATH_MAX + 300];

		if (c->r.runs[i].needs[0]) {
			needs++;
			continue;
		}
		/* No result of an earlier run may stand in for this one. */
		run_paths(c, &c->r.runs[i], "json", path, sizeof(path));
		unlink(path);
		run_paths(c, &c->r.runs[i], "serial", path, sizeof(path));
		unlink(path);
		run_paths(c, &c->r.runs[i], "log", logs[n], sizeof(logs[n]));
		jobs[n].argv = c->argv[i];
		jobs[n].log_path = logs[n];
		index[n++] = i;
	}
	fprintf(stderr,
		"nestvm: eval: %zu runs (%s), %u at a time; %zu more need a "
		"feature nestvm run does not have yet\n",
		n, c->r.full ? "full" : "quick", par, needs);
	runner_run(jobs, n, par, job_done, &p);
	for (size_t k = 0; k < n; k++) {
		c->r.wall_total += jobs[k].seconds;
		/* A software-VMM stop was marked, not failed. */
		if (jobs[k].status && !c->r.runs[index[k]].needs[0])
			failed++;
	}
out:
	free(jobs);
	free(index);
	free(logs);
	return failed;
}

static int emit_jobs(struct eval_ctx *c, char *err)
{
	char tmp[PATH_MAX + 32], log[PATH_MAX + 300];
	char *line = malloc(EVAL_CMD_MAX + PATH_MAX + 400);
	size_t n = 0;
	FILE *f;

	if (!line)
		return errmsg(-ENOMEM, err, ERR_MAX, "%s", strerror(ENOMEM));
	snprintf(tmp, sizeof(tmp), "%s.tmp.%d", c->o.emit, (int)getpid());
	f = fopen(tmp, "w");
	if (!f) {
		free(line);
		return errmsg(-errno, err, ERR_MAX,
			      "--emit-jobs: cannot create '%s': %s", tmp,
			      strerror(errno));
	}
	for (size_t i = 0; i < c->r.nr_runs; i++) {
		if (c->r.runs[i].needs[0])
			continue;
		run_paths(c, &c->r.runs[i], "log", log, sizeof(log));
		line[0] = '\0';
		shell_quote(line, EVAL_CMD_MAX + PATH_MAX, log);
		fprintf(f, "%s >%s 2>&1\n", c->r.runs[i].command, line);
		n++;
	}
	free(line);
	if (fclose(f) || rename(tmp, c->o.emit)) {
		int e = errno;

		unlink(tmp);
		return errmsg(-e, err, ERR_MAX,
			      "--emit-jobs: cannot write '%s': %s", c->o.emit,
			      strerror(e));
	}
	say("wrote %zu runs to %s (one shell command a line); then run "
	    "nestvm eval%s --out %s --merge %s",
	    n, c->o.emit, c->r.full ? "" : " --quick", c->out, c->out);
	return 0;
}

/* The RESULT value of key in a guest's output: 0 or -ENOENT. */
static int serial_value(const char *serial, const char *key, uint64_t *out)
{
	size_t klen = strlen(key);

	for (const char *p = serial; p && *p;) {
		if (!strncmp(p, "RESULT ", 7) && !strncmp(p + 7, key, klen) &&
		    p[7 + klen] == ' ') {
			char *end;

			errno = 0;
			*out = strtoull(p + 8 + klen, &end, 10);
			if (end == p + 8 + klen || errno)
				return -ENOENT;
			return 0;
		}
		p = strchr(p, '\n');
		p = p ? p + 1 : NULL;
	}
	return -ENOENT;
}

static void set(struct eval_run *run, enum eval_metric m, double v)
{
	run->val[m] = v;
	run->has[m] = true;
}

static void set_u64(struct eval_run *run, enum eval_metric m, const char *doc,
		    const char *path)
{
	uint64_t v;

	if (!json_doc_u64(doc, path, &v))
		set(run, m, (double)v);
}

/* The per-exit numbers of a nested run, as `nestvm compare` reads them. */
static int read_per_exit(struct eval_run *run, const char *unit,
			 const char *doc, char *err)
{
	static const struct {
		enum table_row row;
		enum eval_metric m;
	} map[] = {
		{ TABLE_ROW_L1_EXITS, EVAL_M_L1_EXITS },
		{ TABLE_ROW_WORLD_SWITCHES, EVAL_M_WORLD_SWITCHES },
		{ TABLE_ROW_VMREADS_TRAPPED, EVAL_M_VMREADS_TRAPPED },
		{ TABLE_ROW_VMREADS_SHADOWED, EVAL_M_VMREADS_SHADOWED },
		{ TABLE_ROW_VMWRITES_TRAPPED, EVAL_M_VMWRITES_TRAPPED },
		{ TABLE_ROW_VMWRITES_SHADOWED, EVAL_M_VMWRITES_SHADOWED },
		{ TABLE_ROW_VMCS02_WRITES, EVAL_M_VMCS02_WRITES },
		{ TABLE_ROW_CYCLES, EVAL_M_EXIT_CYCLES },
		{ TABLE_ROW_SWITCHES, EVAL_M_SWITCH_CYCLES },
		{ TABLE_ROW_L0, EVAL_M_L0_CYCLES },
		{ TABLE_ROW_L1, EVAL_M_L1_CYCLES },
		{ TABLE_ROW_L2, EVAL_M_L2_CYCLES },
	};
	struct table_column *col = calloc(1, sizeof(*col));
	int ret;

	if (!col)
		return errmsg(-ENOMEM, err, ERR_MAX, "%s", strerror(ENOMEM));
	col->kind = TABLE_NESTED;
	ret = table_fill_column(col, unit, doc, NULL, NULL, err, ERR_MAX);
	for (size_t i = 0; !ret && i < ARRAY_SIZE(map); i++)
		if (col->has[map[i].row])
			set(run, map[i].m, col->val[map[i].row]);
	free(col);
	if (!ret && run->has[EVAL_M_VMREADS_TRAPPED])
		set(run, EVAL_M_VMX_ACCESSES,
		    run->val[EVAL_M_VMREADS_TRAPPED] +
			    run->val[EVAL_M_VMREADS_SHADOWED] +
			    run->val[EVAL_M_VMWRITES_TRAPPED] +
			    run->val[EVAL_M_VMWRITES_SHADOWED]);
	return ret;
}

/* Reads one run's report and guest output into its metrics. */
static int read_run(struct eval_ctx *c, struct eval_run *run, const char *json,
		    const char *serial_path, char *err)
{
	const struct eval_workload *w = &c->d.workloads[run->cfg.workload];
	bool nested = run->cfg.level == EVAL_LEVEL_NESTED;
	char *doc = NULL, *serial = NULL, path[160], mode[16];
	uint64_t v;
	int ret = json_doc_read_file(json, DOC_MAX, &doc);

	if (ret)
		return errmsg(ret, err, ERR_MAX, "cannot read %s: %s", json,
			      strerror(-ret));
	if (!json_doc_valid(doc) ||
	    json_doc_string(doc, "mode", mode, sizeof(mode))) {
		free(doc);
		return errmsg(-EINVAL, err, ERR_MAX, "%s is not a report",
			      json);
	}
	/* A merged report must be of the configuration its name says. */
	if (nested &&
	    !json_doc_string(doc, "vmcs_access", path, sizeof(path)) &&
	    strcmp(path, run->cfg.strategy)) {
		free(doc);
		return errmsg(-EINVAL, err, ERR_MAX,
			      "%s is a report of --vmcs-access %s", json, path);
	}
	set_u64(run, EVAL_M_EXIT_STATUS, doc, "exit_status");
	set_u64(run, EVAL_M_INSNS, doc, "insns");
	set_u64(run, EVAL_M_CYCLES, doc, "cycles");
	set_u64(run, EVAL_M_L1_EXITS_TOTAL, doc, "levels.L1.exits");
	set_u64(run, EVAL_M_L2_EXITS_TOTAL, doc, "levels.L2.exits");
	set_u64(run, EVAL_M_WORLD_SWITCHES_TOTAL, doc,
		"switches.world_switches");
	set_u64(run, EVAL_M_EPT02_FILLS, doc, "levels.L2.ept02_fills");
	set_u64(run, EVAL_M_EPT02_PAGES, doc, "levels.L2.ept02.table_pages");
	set_u64(run, EVAL_M_BT_BREAK_EVEN, doc, "levels.L2.bt_l2.break_even");
	if (w->unit[0]) {
		snprintf(path, sizeof(path), "levels.%s.exits_by_reason.%s",
			 nested ? "L2" : "L1", w->unit);
		if (strcmp(mode, "native") ||
		    run->cfg.level != EVAL_LEVEL_NATIVE)
			set(run, EVAL_M_UNIT_EXITS,
			    json_doc_u64(doc, path, &v) ? 0.0 : (double)v);
	}
	ret = 0;
	if (nested && w->unit[0])
		ret = read_per_exit(run, w->unit, doc, err);
	if (!ret && w->result[0]) {
		if (json_doc_read_file(serial_path, DOC_MAX, &serial) ||
		    serial_value(serial, w->result, &v))
			ret = errmsg(-ENOENT, err, ERR_MAX,
				     "no 'RESULT %s' in %s", w->result,
				     serial_path);
		else
			set(run, EVAL_M_GUEST_CYCLES, (double)v);
	}
	free(serial);
	free(doc);
	return ret;
}

/* Where a run's report is among the --merge sources: its stem, or -1. */
static int find_merged(const struct eval_ctx *c, const struct eval_run *run,
		       char *stem, size_t len)
{
	for (size_t i = 0; i < c->o.nr_merge; i++)
		for (int sub = 0; sub < 2; sub++) {
			char json[PATH_MAX + 320];

			snprintf(stem, len, "%s%s/%s", c->o.merge[i],
				 sub ? "" : "/runs", run->id);
			snprintf(json, sizeof(json), "%s.json", stem);
			if (eval_file_exists(json))
				return 0;
		}
	return -1;
}

static size_t read_all(struct eval_ctx *c)
{
	size_t failed = 0;

	for (size_t i = 0; i < c->r.nr_runs; i++) {
		struct eval_run *run = &c->r.runs[i];
		char stem[PATH_MAX + 300], json[PATH_MAX + 320];
		char serial[PATH_MAX + 320], err[ERR_MAX];

		if (run->needs[0])
			continue;
		if (c->o.nr_merge) {
			if (find_merged(c, run, stem, sizeof(stem))) {
				say("%s: no %s.json in the --merge sources",
				    run->id, run->id);
				failed++;
				continue;
			}
		} else {
			if (run->status)
				continue; /* failed: said so, counted */
			snprintf(stem, sizeof(stem), "%s/%s", c->runs, run->id);
		}
		snprintf(json, sizeof(json), "%s.json", stem);
		snprintf(serial, sizeof(serial), "%s.serial", stem);
		if (c->o.nr_merge) {
			char log[PATH_MAX + 320];

			/* The line is only ever printed with status 125. */
			snprintf(log, sizeof(log), "%s.log", stem);
			if (mark_sw_stop(run, 125, log))
				continue;
		}
		if (read_run(c, run, json, serial, err)) {
			say("%s: %s", run->id, err);
			failed++;
			continue;
		}
		if (c->o.nr_merge && run->val[EVAL_M_EXIT_STATUS] != 0) {
			say("%s: the guest's exit status is %.0f", run->id,
			    run->val[EVAL_M_EXIT_STATUS]);
			failed++;
			continue;
		}
		run->ok = true;
	}
	return failed;
}

/* Draws out/NAME.svg from out/NAME.gp; 0, or -1 (said why). */
static int plot_svg(const struct eval_ctx *c, const char *name, bool *missing)
{
	char gp[PATH_MAX + 80], tmp[PATH_MAX + 96], svg[PATH_MAX + 80];
	char expr[PATH_MAX + 128];
	char *argv[] = { "gnuplot", "-e", expr, gp, NULL };
	posix_spawn_file_actions_t fa;
	int status = 0, ret;
	pid_t pid;

	snprintf(gp, sizeof(gp), "%s/%s.gp", c->out, name);
	snprintf(svg, sizeof(svg), "%s/%s.svg", c->out, name);
	snprintf(tmp, sizeof(tmp), "%s/.%s.svg.tmp.%d", c->out, name,
		 (int)getpid());
	if (strchr(tmp, '\'')) {
		say("cannot plot into a directory whose name holds a quote");
		return -1;
	}
	snprintf(expr, sizeof(expr), "outfile='%s'", tmp);
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, 2, 1);
	ret = posix_spawnp(&pid, "gnuplot", &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	if (ret == ENOENT) {
		*missing = true;
		return 0;
	}
	if (ret || waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) ||
	    WEXITSTATUS(status) || rename(tmp, svg)) {
		say("gnuplot failed on %s: no %s.svg", gp, name);
		unlink(tmp);
		return -1;
	}
	return 0;
}

static void eval_free(struct eval_ctx *c)
{
	for (size_t i = 0; c->argv && i < c->r.nr_runs; i++)
		for (size_t a = 0; a < ARGV_MAX && c->argv[i][a]; a++)
			free(c->argv[i][a]);
	free(c->argv);
	free(c->r.runs);
	eval_data_free(&c->d);
}

int eval_main(int argc, char **argv)
{
	struct eval_ctx *c = calloc(1, sizeof(*c));
	char err[ERR_MAX], plots[PLOTS_MAX][64];
	size_t failed = 0, nr_plots = 0;
	int status = EVAL_EXIT_OK, ret;
	bool no_gnuplot = false;

	if (!c) {
		say("%s", strerror(ENOMEM));
		return EVAL_EXIT_USAGE;
	}
	ret = parse_flags(argc, argv, &c->o, err);
	if (ret == 1) {
		fputs(usage, stdout);
		goto out;
	}
	if (!ret)
		ret = load(c, err);
	if (ret) {
		fprintf(stderr, "nestvm: %s\n", err);
		status = EVAL_EXIT_USAGE;
		goto out;
	}
	if (c->o.emit) {
		if (emit_jobs(c, err)) {
			fprintf(stderr, "nestvm: %s\n", err);
			status = EVAL_EXIT_USAGE;
		}
		goto out;
	}
	if (!c->o.nr_merge)
		failed = run_all(c);
	failed += read_all(c);
	if (c->o.nr_merge && failed) {
		say("%zu runs missing or unreadable in the --merge sources",
		    failed);
		status = EVAL_EXIT_USAGE;
		goto out;
	}
	ret = report_write(&c->r, c->out, stdout, plots, PLOTS_MAX, &nr_plots,
			   err, sizeof(err));
	fflush(stdout);
	if (ret) {
		say("%s", err);
		status = EVAL_EXIT_RUN_FAILED;
		goto out;
	}
	for (size_t i = 0; i < nr_plots && !no_gnuplot; i++)
		if (plot_svg(c, plots[i], &no_gnuplot))
			status = EVAL_EXIT_RUN_FAILED;
	if (no_gnuplot)
		say("gnuplot is not installed: no SVG plots (report.md, "
		    "results.json and the .gp scripts are written; "
		    "scripts/setup.sh installs it)");
	say("wrote %s/report.md, results.json and %zu plots", c->out,
	    no_gnuplot ? (size_t)0 : nr_plots);
	if (failed) {
		say("%zu runs failed (marked 'failed' in the report)", failed);
		status = EVAL_EXIT_RUN_FAILED;
	}
out:
	eval_free(c);
	free(c);
	return status;
}
