/* SPDX-License-Identifier: MIT */
/*
 * compare.c - `nestvm compare` (eval/compare.h): the flags, the job list
 * (workload x strategies x --prep x --ept-coherence x profiles, plus one
 * single-level l1-shim --native run per profile), running it through
 * eval/runner.h, writing it for GNU parallel or Slurm (--emit-jobs), or
 * merging existing results (--merge); then the table (eval/table.h) on
 * stdout and compare.{json,md,gp,svg} in --out. Host side.
 */
#include "eval/compare.h"

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
#include "eval/json_read.h"
#include "eval/paths.h"
#include "eval/runner.h"
#include "eval/table.h"
#include "eval/workload.h"
#include "l0/errmsg.h"

#define ERR_MAX 1024
#define LIST_MAX 16 /* values per list flag */
#define MERGE_MAX 256
#define REPORT_MAX (64u << 20)
#define ARGV_MAX 32
#define LOG_TAIL_LINES 6

extern char **environ;

static const char *const strategies_known[] = {
	"trap", "shadow", "shadow-all", "pv", "bt",
};

struct str_list {
	size_t n;
	char *v[LIST_MAX];
};

struct compare_opts {
	const char *workload;
	struct str_list strategies, preps, coherences, profiles;
	uint64_t count;
	const char *l1, *workloads, *reference, *out, *emit;
	unsigned int jobs;
	size_t nr_merge;
	const char *merge[MERGE_MAX];
	char *lists; /* storage the lists point into */
};

/* One run: a table column and the command that fills it. */
struct compare_job {
	char name[256]; /* file stem in out/runs */
	char *argv[ARGV_MAX];
	char json[PATH_MAX], serial[PATH_MAX], log[PATH_MAX];
	size_t col;
	int status; /* the run's exit status (runner.h); 0 when merged */
};

struct compare {
	struct compare_opts o;
	struct workload w;
	char tree[PATH_MAX], exe[PATH_MAX], out[PATH_MAX], runs[PATH_MAX];
	char args[WORKLOAD_ARGS_MAX + 8], l1[PATH_MAX], image[PATH_MAX];
	/* The enlightened l1-shim for the pv strategy, unless --l1 names
	 * one L1 for every run (docs/l1-shim.md "The enlightened VMCS"). */
	char l1_pv[PATH_MAX];
	struct table t;
	size_t nr_jobs;
	struct compare_job *jobs;
};

__attribute__((format(printf, 1, 2))) static void say(const char *fmt, ...)
{
	va_list ap;

	fputs("nestvm: compare: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static const char usage[] =
	"usage: nestvm compare --workload NAME [flags]\n"
	"\n"
	"Runs the workload's L2 guest under l1-shim once per configuration\n"
	"(strategy x prep x coherence x profile) and once at a single level\n"
	"(l1-shim --native), each as its own `nestvm run` process, and\n"
	"prints the side-by-side table per L2 exit of the workload's unit.\n"
	"\n"
	"  --workload NAME        a workload of eval/workloads.txt\n"
	"  --strategies LIST      --vmcs-access strategies (default\n"
	"                         trap,shadow,shadow-all)\n"
	"  --prep LIST            full,dirty (default full)\n"
	"  --ept-coherence LIST   wp,invept, passed to every nested run\n"
	"  --profiles LIST        cost profiles (default nehalem)\n"
	"  --count N              the workload's {n} (e.g. CPUID iterations)\n"
	"  -j, --jobs N           runs at a time (default: online CPUs)\n"
	"  --out DIR              where results go (default\n"
	"                         eval/out/compare-WORKLOAD)\n"
	"  --emit-jobs FILE       write the runs as shell commands, one a\n"
	"                         line (GNU parallel, Slurm arrays); run none\n"
	"  --merge DIR|FILE       read results of earlier runs instead of\n"
	"                         running (repeatable)\n"
	"  --l1 IMAGE             the L1 hypervisor (default build/l1-shim.elf)\n"
	"  --workloads FILE       workload definitions (default\n"
	"                         eval/workloads.txt)\n"
	"  --reference FILE       published figures (default\n"
	"                         eval/reference.txt)\n"
	"  -h, --help             print this help\n"
	"\n"
	"Exit status: 0; 1 when a run failed (the others still finish);\n"
	"125 for a bad flag or file.\n";

/* Splits a comma-separated value into l (pointing into storage). */
static int parse_list(const char *flag, const char *val, struct str_list *l,
		      char **storage, char *err)
{
	char *block = malloc(sizeof(char *) + strlen(val) + 1);
	char *copy, *save = NULL;

	if (!block)
		return errmsg(-ENOMEM, err, ERR_MAX, "%s", strerror(ENOMEM));
	/* Chain every copy to storage: the list points into it until
	 * compare_main() ends. */
	memcpy(block, storage, sizeof(char *));
	*storage = block;
	copy = block + sizeof(char *);
	strcpy(copy, val);
	l->n = 0;
	for (char *tok = strtok_r(copy, ",", &save); tok;
	     tok = strtok_r(NULL, ",", &save)) {
		if (l->n == LIST_MAX)
			return errmsg(-EINVAL, err, ERR_MAX,
				      "%s: more than %d values", flag,
				      LIST_MAX);
		for (size_t i = 0; i < l->n; i++)
			if (!strcmp(l->v[i], tok))
				return errmsg(-EINVAL, err, ERR_MAX,
					      "%s: '%s' given twice", flag,
					      tok);
		l->v[l->n++] = tok;
	}
	if (!l->n || val[0] == ',' || val[strlen(val) - 1] == ',' ||
	    strstr(val, ",,"))
		return errmsg(-EINVAL, err, ERR_MAX,
			      "%s: bad list '%s' (comma-separated values)",
			      flag, val);
	return 0;
}

static void free_lists(char *storage)
{
	while (storage) {
		char *next;

		memcpy(&next, storage, sizeof(char *));
		free(storage);
		storage = next;
	}
}

static bool in_set(const char *s, const char *const *set, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(s, set[i]))
			return true;
	return false;
}

static int check_lists(struct compare_opts *o, char *err)
{
	static const char *const preps[] = { "full", "dirty" };
	static const char *const cohs[] = { "wp", "invept" };

	for (size_t i = 0; i < o->strategies.n; i++)
		if (!in_set(o->strategies.v[i], strategies_known,
			    ARRAY_SIZE(strategies_known)))
			return errmsg(-EINVAL, err, ERR_MAX,
				      "--strategies: unknown strategy '%s' "
				      "(trap, shadow, shadow-all, pv, bt)",
				      o->strategies.v[i]);
	for (size_t i = 0; i < o->preps.n; i++)
		if (!in_set(o->preps.v[i], preps, ARRAY_SIZE(preps)))
			return errmsg(-EINVAL, err, ERR_MAX,
				      "--prep: bad mode '%s' (full, dirty)",
				      o->preps.v[i]);
	for (size_t i = 0; i < o->coherences.n; i++)
		if (!in_set(o->coherences.v[i], cohs, ARRAY_SIZE(cohs)))
			return errmsg(-EINVAL, err, ERR_MAX,
				      "--ept-coherence: bad mode '%s' (wp, "
				      "invept)",
				      o->coherences.v[i]);
	return 0;
}

static int parse_uint(const char *flag, const char *val, uint64_t max,
		      uint64_t *out, char *err)
{
	uint64_t n = 0;

	for (const char *p = val; *p; p++) {
		if (*p < '0' || *p > '9' ||
		    n > (max - (uint64_t)(*p - '0')) / 10)
			return errmsg(-EINVAL, err, ERR_MAX,
				      "%s: bad number '%s' (1 to %" PRIu64 ")",
				      flag, val, max);
		n = n * 10 + (uint64_t)(*p - '0');
	}
	if (!*val || !n)
		return errmsg(-EINVAL, err, ERR_MAX,
			      "%s: bad number '%s' (1 to %" PRIu64 ")", flag,
			      val, max);
	*out = n;
	return 0;
}

enum cmp_flag {
	F_WORKLOAD,
	F_STRATEGIES,
	F_PREP,
	F_COHERENCE,
	F_PROFILES,
	F_COUNT,
	F_JOBS,
	F_OUT,
	F_EMIT,
	F_MERGE,
	F_L1,
	F_WORKLOADS,
	F_REFERENCE,
	F_HELP,
};

static const struct {
	const char *name;
	enum cmp_flag id;
} cmp_flags[] = {
	{ "--workload", F_WORKLOAD },
	{ "--strategies", F_STRATEGIES },
	{ "--prep", F_PREP },
	{ "--ept-coherence", F_COHERENCE },
	{ "--profiles", F_PROFILES },
	{ "--profile", F_PROFILES },
	{ "--count", F_COUNT },
	{ "-j", F_JOBS },
	{ "--jobs", F_JOBS },
	{ "--out", F_OUT },
	{ "--emit-jobs", F_EMIT },
	{ "--merge", F_MERGE },
	{ "--l1", F_L1 },
	{ "--workloads", F_WORKLOADS },
	{ "--reference", F_REFERENCE },
	{ "-h", F_HELP },
	{ "--help", F_HELP },
};

static int apply_flag(struct compare_opts *o, enum cmp_flag id,
		      const char *name, const char *val, char *err)
{
	uint64_t n;
	int ret;

	if (id != F_HELP && !*val)
		return errmsg(-EINVAL, err, ERR_MAX, "%s: empty value", name);
	switch (id) {
	case F_WORKLOAD:
		o->workload = val;
		return 0;
	case F_STRATEGIES:
		return parse_list(name, val, &o->strategies, &o->lists, err);
	case F_PREP:
		return parse_list(name, val, &o->preps, &o->lists, err);
	case F_COHERENCE:
		return parse_list(name, val, &o->coherences, &o->lists, err);
	case F_PROFILES:
		return parse_list(name, val, &o->profiles, &o->lists, err);
	case F_COUNT:
		return parse_uint(name, val, UINT32_MAX, &o->count, err);
	case F_JOBS:
		ret = parse_uint(name, val, 1024, &n, err);
		o->jobs = (unsigned int)n;
		return ret;
	case F_OUT:
		o->out = val;
		return 0;
	case F_EMIT:
		o->emit = val;
		return 0;
	case F_MERGE:
		if (o->nr_merge == MERGE_MAX)
			return errmsg(-EINVAL, err, ERR_MAX,
				      "--merge: more than %d sources",
				      MERGE_MAX);
		o->merge[o->nr_merge++] = val;
		return 0;
	case F_L1:
		o->l1 = val;
		return 0;
	case F_WORKLOADS:
		o->workloads = val;
		return 0;
	case F_REFERENCE:
		o->reference = val;
		return 0;
	case F_HELP:
		return 1;
	}
	return errmsg(-EINVAL, err, ERR_MAX, "internal error: flag %s", name);
}

/* 0, 1 for --help, or -EINVAL with the message in err. */
static int parse_flags(int argc, char **argv, struct compare_opts *o, char *err)
{
	bool help = false;

	for (int i = 1; i < argc; i++) {
		const char *arg = argv[i], *eq = strchr(arg, '='), *val;
		size_t len = eq ? (size_t)(eq - arg) : strlen(arg);
		size_t f;
		int ret;

		for (f = 0; f < ARRAY_SIZE(cmp_flags); f++)
			if (strlen(cmp_flags[f].name) == len &&
			    !strncmp(cmp_flags[f].name, arg, len))
				break;
		if (f == ARRAY_SIZE(cmp_flags))
			return errmsg(-EINVAL, err, ERR_MAX,
				      "compare: unknown argument '%s' (try "
				      "'nestvm compare --help')",
				      arg);
		val = eq ? eq + 1 : NULL;
		if (cmp_flags[f].id == F_HELP) {
			help = true;
			continue;
		}
		if (!val) {
			if (i + 1 >= argc)
				return errmsg(-EINVAL, err, ERR_MAX,
					      "%s needs an argument",
					      cmp_flags[f].name);
			val = argv[++i];
		}
		ret = apply_flag(o, cmp_flags[f].id, cmp_flags[f].name, val,
				 err);
		if (ret)
			return ret;
	}
	if (help)
		return 1;
	if (!o->workload)
		return errmsg(-EINVAL, err, ERR_MAX,
			      "compare: no --workload given (try 'nestvm "
			      "compare --help')");
	if (o->emit && o->nr_merge)
		return errmsg(-EINVAL, err, ERR_MAX,
			      "compare: --emit-jobs and --merge exclude each "
			      "other");
	return check_lists(o, err);
}

/* The source tree nestvm was built in (eval/paths.h). */
static int find_tree(struct compare *c, char *err)
{
	if (eval_find_tree(c->exe, c->tree, "eval/workloads.txt"))
		return errmsg(-ENOENT, err, ERR_MAX,
			      "cannot find nestvm's own executable");
	return 0;
}

/* path made absolute: against the tree when tree_rel, else the cwd. */
static int absolute(const struct compare *c, const char *path, bool tree_rel,
		    char *out, char *err)
{
	return eval_absolute(c->tree, path, tree_rel, out, err, ERR_MAX);
}

/* A profile argument as a file-name part: its base name, no suffix. */
static void profile_stem(const char *profile, char *out, size_t len)
{
	const char *base = strrchr(profile, '/');
	size_t n;

	base = base ? base + 1 : profile;
	n = strlen(base);
	if (n > 8 && !strcmp(base + n - 8, ".profile"))
		n -= 8;
	if (n >= len)
		n = len - 1;
	for (size_t i = 0; i < n; i++) {
		char ch = base[i];

		out[i] = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
					 (ch >= '0' && ch <= '9') || ch == '-'
				 ? ch
				 : '-';
	}
	out[n] = '\0';
}

static int add_column(struct compare *c, const struct table_column *col)
{
	struct table_column *grown =
		realloc(c->t.cols, (c->t.nr_cols + 1) * sizeof(*grown));

	if (!grown)
		return -ENOMEM;
	c->t.cols = grown;
	c->t.cols[c->t.nr_cols] = *col;
	return (int)c->t.nr_cols++;
}

static int push_arg(struct compare_job *job, size_t *n, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int push_arg(struct compare_job *job, size_t *n, const char *fmt, ...)
{
	va_list ap;
	int ret;

	if (*n + 1 >= ARGV_MAX)
		return -E2BIG;
	va_start(ap, fmt);
	ret = vasprintf(&job->argv[*n], fmt, ap);
	va_end(ap);
	if (ret < 0) {
		job->argv[*n] = NULL;
		return -ENOMEM;
	}
	(*n)++;
	return 0;
}

/* The job of column col: `nestvm run [level flags] L1 --module L2 ...`. */
static int add_job(struct compare *c, size_t col, const char *stem)
{
	struct table_column *tc = &c->t.cols[col];
	struct compare_job *grown, *job;
	size_t n = 0;
	int ret = 0;

	grown = realloc(c->jobs, (c->nr_jobs + 1) * sizeof(*grown));
	if (!grown)
		return -ENOMEM;
	c->jobs = grown;
	job = &c->jobs[c->nr_jobs++];
	memset(job, 0, sizeof(*job));
	job->col = col;
	snprintf(job->name, sizeof(job->name), "%s", stem);
	if (snprintf(job->json, sizeof(job->json), "%s/%s.json", c->runs,
		     stem) >= (int)sizeof(job->json) ||
	    snprintf(job->serial, sizeof(job->serial), "%s/%s.serial", c->runs,
		     stem) >= (int)sizeof(job->serial) ||
	    snprintf(job->log, sizeof(job->log), "%s/%s.log", c->runs, stem) >=
		    (int)sizeof(job->log))
		return -ENAMETOOLONG;
	ret |= push_arg(job, &n, "%s", c->exe);
	ret |= push_arg(job, &n, "run");
	if (tc->kind == TABLE_SINGLE) {
		ret |= push_arg(job, &n, "--native");
	} else {
		ret |= push_arg(job, &n, "--vmcs-access");
		ret |= push_arg(job, &n, "%s", tc->strategy);
		ret |= push_arg(job, &n, "--prep");
		ret |= push_arg(job, &n, "%s", tc->prep);
		if (tc->coherence[0]) {
			ret |= push_arg(job, &n, "--ept-coherence");
			ret |= push_arg(job, &n, "%s", tc->coherence);
		}
	}
	ret |= push_arg(job, &n, "--profile");
	ret |= push_arg(job, &n, "%s", tc->profile);
	ret |= push_arg(job, &n, "--serial");
	ret |= push_arg(job, &n, "file:%s", job->serial);
	ret |= push_arg(job, &n, "--json");
	ret |= push_arg(job, &n, "%s", job->json);
	ret |= push_arg(job, &n, "%s",
			(tc->kind != TABLE_SINGLE &&
			 !strcmp(tc->strategy, "pv") && c->l1_pv[0])
				? c->l1_pv
				: c->l1);
	ret |= push_arg(job, &n, "--module");
	ret |= push_arg(job, &n, "%s", c->image);
	ret |= push_arg(job, &n, "--append");
	ret |= push_arg(job, &n, "%s", c->args);
	snprintf(tc->report, sizeof(tc->report), "%s", job->json);
	return ret ? -ENOMEM : 0;
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
	for (const char *p = arg; *p && n + 4 < len; p++) {
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

static void job_command(const struct compare_job *job, char *buf, size_t len)
{
	buf[0] = '\0';
	for (size_t i = 0; job->argv[i]; i++)
		shell_quote(buf, len, job->argv[i]);
}

/* The column name: the strategy, and each axis that has several values. */
static void nested_name(const struct compare *c, struct table_column *col)
{
	const struct compare_opts *o = &c->o;
	char buf[512];
	size_t n;

	snprintf(buf, sizeof(buf), "%s%s%s%s%s%s%s", col->strategy,
		 o->preps.n > 1 ? "/" : "", o->preps.n > 1 ? col->prep : "",
		 o->coherences.n > 1 ? "/" : "",
		 o->coherences.n > 1 ? col->coherence : "",
		 o->profiles.n > 1 ? "/" : "",
		 o->profiles.n > 1 ? col->profile : "");
	n = strlen(buf);
	if (n >= sizeof(col->name))
		n = sizeof(col->name) - 1;
	memcpy(col->name, buf, n);
	col->name[n] = '\0';
}

/* Columns and jobs for one profile: single level, the nested
 * configurations, then the published references. */
static int build_profile(struct compare *c, const char *profile, char *err)
{
	const struct compare_opts *o = &c->o;
	struct table_column col;
	char pstem[64], stem[256];
	size_t first = c->t.nr_cols, nr_ref = 0;
	struct table_column *refs = NULL;
	int single, ret;

	profile_stem(profile, pstem, sizeof(pstem));
	memset(&col, 0, sizeof(col));
	col.kind = TABLE_SINGLE;
	col.trap_col = col.single_col = -1;
	snprintf(col.profile, sizeof(col.profile), "%s", profile);
	snprintf(col.name, sizeof(col.name), "single level%s%s",
		 o->profiles.n > 1 ? "/" : "",
		 o->profiles.n > 1 ? profile : "");
	single = add_column(c, &col);
	if (single < 0)
		return errmsg(single, err, ERR_MAX, "%s", strerror(-single));
	c->t.cols[single].single_col = single;
	snprintf(stem, sizeof(stem), "%s_single_%s", c->w.name, pstem);
	ret = add_job(c, (size_t)single, stem);
	for (size_t p = 0; !ret && p < o->preps.n; p++) {
		size_t nc = o->coherences.n ? o->coherences.n : 1;

		for (size_t h = 0; !ret && h < nc; h++) {
			int trap = -1;
			size_t from = c->t.nr_cols;

			for (size_t s = 0; !ret && s < o->strategies.n; s++) {
				int idx;

				memset(&col, 0, sizeof(col));
				col.kind = TABLE_NESTED;
				col.single_col = single;
				snprintf(col.strategy, sizeof(col.strategy),
					 "%s", o->strategies.v[s]);
				snprintf(col.prep, sizeof(col.prep), "%s",
					 o->preps.v[p]);
				if (o->coherences.n)
					snprintf(col.coherence,
						 sizeof(col.coherence), "%s",
						 o->coherences.v[h]);
				snprintf(col.profile, sizeof(col.profile), "%s",
					 profile);
				nested_name(c, &col);
				idx = add_column(c, &col);
				if (idx < 0)
					return errmsg(idx, err, ERR_MAX, "%s",
						      strerror(-idx));
				if (!strcmp(col.strategy, "trap"))
					trap = idx;
				snprintf(stem, sizeof(stem), "%s_%s_%s%s%s_%s",
					 c->w.name, col.strategy, col.prep,
					 col.coherence[0] ? "_" : "",
					 col.coherence, pstem);
				ret = add_job(c, (size_t)idx, stem);
			}
			for (size_t i = from; i < c->t.nr_cols; i++)
				c->t.cols[i].trap_col = trap;
		}
	}
	if (ret)
		return errmsg(ret, err, ERR_MAX, "building the job list: %s",
			      strerror(-ret));
	ret = reference_load(o->reference, c->w.name, profile, &refs, &nr_ref,
			     err, ERR_MAX);
	for (size_t i = 0; !ret && i < nr_ref; i++) {
		if (o->profiles.n > 1) {
			size_t n = strlen(refs[i].name);

			snprintf(refs[i].name + n, sizeof(refs[i].name) - n,
				 "/%s", profile);
		}
		if (add_column(c, &refs[i]) < 0)
			ret = errmsg(-ENOMEM, err, ERR_MAX, "%s",
				     strerror(ENOMEM));
	}
	free(refs);
	/* A reference's ratios are against the published trap and
	 * single-level figures of the same profile. */
	for (size_t i = first; !ret && i < c->t.nr_cols; i++) {
		struct table_column *r = &c->t.cols[i];

		if (r->kind != TABLE_REFERENCE)
			continue;
		for (size_t j = first; j < c->t.nr_cols; j++) {
			const struct table_column *b = &c->t.cols[j];

			if (b->kind != TABLE_REFERENCE)
				continue;
			if (b->role == TABLE_ROLE_TRAP &&
			    r->role != TABLE_ROLE_SINGLE)
				r->trap_col = (int)j;
			if (b->role == TABLE_ROLE_SINGLE)
				r->single_col = (int)j;
		}
	}
	return ret;
}

static int build_jobs(struct compare *c, char *err)
{
	char l2args[WORKLOAD_ARGS_MAX];
	int ret;

	if (workload_expand_args(&c->w, c->o.count, l2args, sizeof(l2args)))
		return errmsg(-E2BIG, err, ERR_MAX,
			      "the workload's command line is too long");
	/* l1-shim's own words come before "--", L2's after it. */
	snprintf(c->args, sizeof(c->args), "-- %s", l2args);
	snprintf(c->t.workload, sizeof(c->t.workload), "%s", c->w.name);
	snprintf(c->t.unit, sizeof(c->t.unit), "%s", c->w.unit);
	c->t.count = c->w.count ? (c->o.count ? c->o.count : c->w.count) : 0;
	for (size_t p = 0; p < c->o.profiles.n; p++) {
		ret = build_profile(c, c->o.profiles.v[p], err);
		if (ret)
			return ret;
	}
	return 0;
}

/* The last LOG_TAIL_LINES lines of a job's log, on stderr. */
static void print_log_tail(const char *path)
{
	char *text = NULL;
	const char *p;
	int lines = 0;

	if (json_doc_read_file(path, REPORT_MAX, &text)) {
		say("  (no output: %s)", path);
		return;
	}
	p = text + strlen(text);
	while (p > text && p[-1] == '\n')
		p--;
	while (p > text && lines < LOG_TAIL_LINES) {
		p--;
		if (*p == '\n')
			lines++;
	}
	if (*p == '\n')
		p++;
	while (*p) {
		size_t n = strcspn(p, "\n");

		say("  | %.*s", (int)n, p);
		p += n + (p[n] == '\n');
	}
	free(text);
}

struct run_ctx {
	struct compare *c;
	struct runner_job *rjobs;
};

static void job_done(void *opaque, const struct runner_job *rj, size_t done,
		     size_t total)
{
	struct run_ctx *ctx = opaque;
	const struct compare_job *job = &ctx->c->jobs[rj - ctx->rjobs];
	const struct table_column *col = &ctx->c->t.cols[job->col];

	ctx->c->jobs[rj - ctx->rjobs].status = rj->status;
	if (!rj->status) {
		say("[%zu/%zu] %s: ok (%.1f s)", done, total, col->name,
		    rj->seconds);
		return;
	}
	if (rj->status < 0)
		say("[%zu/%zu] %s: FAILED: could not start: %s", done, total,
		    col->name, strerror(-rj->status));
	else
		say("[%zu/%zu] %s: FAILED with exit status %d: %s", done, total,
		    col->name, rj->status, col->command);
	print_log_tail(job->log);
}

static size_t run_jobs(struct compare *c)
{
	struct runner_job *rj = calloc(c->nr_jobs, sizeof(*rj));
	struct run_ctx ctx = { .c = c, .rjobs = rj };
	unsigned int par = c->o.jobs;
	size_t failed;

	if (!rj) {
		say("%s", strerror(ENOMEM));
		return c->nr_jobs;
	}
	if (!par) {
		long cpus = sysconf(_SC_NPROCESSORS_ONLN);

		par = cpus > 0 ? (unsigned int)cpus : 1;
	}
	for (size_t i = 0; i < c->nr_jobs; i++) {
		/* No result of an earlier run may stand in for this one. */
		unlink(c->jobs[i].json);
		unlink(c->jobs[i].serial);
		rj[i].argv = c->jobs[i].argv;
		rj[i].log_path = c->jobs[i].log;
	}
	say("running %zu jobs, %u at a time", c->nr_jobs, par);
	failed = runner_run(rj, c->nr_jobs, par, job_done, &ctx);
	free(rj);
	return failed;
}

static int emit_jobs(struct compare *c, char *err)
{
	char tmp[PATH_MAX + 32], line[4 * 4096 + PATH_MAX];
	FILE *f;

	snprintf(tmp, sizeof(tmp), "%s.tmp.%d", c->o.emit, (int)getpid());
	f = fopen(tmp, "w");
	if (!f)
		return errmsg(-errno, err, ERR_MAX,
			      "--emit-jobs: cannot create "
			      "'%s': %s",
			      tmp, strerror(errno));
	for (size_t i = 0; i < c->nr_jobs; i++) {
		line[0] = '\0';
		job_command(&c->jobs[i], line, sizeof(line));
		fprintf(f, "%s >", line);
		line[0] = '\0';
		shell_quote(line, sizeof(line), c->jobs[i].log);
		fprintf(f, "%s 2>&1\n", line);
	}
	if (fclose(f) || rename(tmp, c->o.emit)) {
		int e = errno;

		unlink(tmp);
		return errmsg(-e, err, ERR_MAX,
			      "--emit-jobs: cannot write "
			      "'%s': %s",
			      c->o.emit, strerror(e));
	}
	say("wrote %zu jobs to %s (one shell command a line); then run "
	    "the same compare command with --merge %s",
	    c->nr_jobs, c->o.emit, c->out);
	return 0;
}

/* Where a job's report is among the --merge sources, or false. */
static bool find_merged(const struct compare *c, struct compare_job *job)
{
	char want[300], path[PATH_MAX + 320];

	snprintf(want, sizeof(want), "%s.json", job->name);
	for (size_t i = 0; i < c->o.nr_merge; i++) {
		const char *src = c->o.merge[i], *base = strrchr(src, '/');
		struct stat st;

		if (stat(src, &st))
			continue;
		if (S_ISDIR(st.st_mode)) {
			for (int sub = 0; sub < 2; sub++) {
				snprintf(path, sizeof(path), "%s%s/%s", src,
					 sub ? "" : "/runs", want);
				if (eval_file_exists(path) &&
				    strlen(path) < sizeof(job->json)) {
					strcpy(job->json, path);
					goto found;
				}
			}
		} else if (!strcmp(base ? base + 1 : src, want) &&
			   strlen(src) < sizeof(job->json)) {
			strcpy(job->json, src);
			goto found;
		}
	}
	return false;
found:
	snprintf(job->serial, sizeof(job->serial), "%.*s.serial",
		 (int)(strlen(job->json) - 5), job->json);
	snprintf(c->t.cols[job->col].report, sizeof(c->t.cols[job->col].report),
		 "%s", job->json);
	return true;
}

/* Reads a job's report into its column: 0 or -1 (said why). */
static int read_result(struct compare *c, struct compare_job *job)
{
	struct table_column *col = &c->t.cols[job->col];
	char *doc = NULL, *serial = NULL, err[ERR_MAX], got[TABLE_NAME_MAX];
	int ret = json_doc_read_file(job->json, REPORT_MAX, &doc);

	if (ret) {
		say("%s: cannot read %s: %s", col->name, job->json,
		    strerror(-ret));
		return -1;
	}
	if (c->w.result[0])
		json_doc_read_file(job->serial, REPORT_MAX, &serial);
	ret = table_fill_column(col, c->w.unit, doc, serial,
				c->w.result[0] ? c->w.result : NULL, err,
				sizeof(err));
	/* A merged result must be the configuration its name says. */
	if (!ret && col->kind == TABLE_NESTED &&
	    ((!json_doc_string(doc, "vmcs_access", got, sizeof(got)) &&
	      strcmp(got, col->strategy)) ||
	     (!json_doc_string(doc, "prep", got, sizeof(got)) &&
	      strcmp(got, col->prep)))) {
		snprintf(err, sizeof(err),
			 "the report is of another configuration (%s)", got);
		ret = -EINVAL;
	}
	if (!ret && c->w.result[0] && !serial)
		say("%s: no guest output %s: the RDTSC row stays empty",
		    col->name, job->serial);
	if (ret) {
		col->ok = false;
		say("%s: %s: %s", col->name, job->json, err);
	}
	free(doc);
	free(serial);
	return ret ? -1 : 0;
}

/* Writes out/name through fn under a temporary name, then renames it. */
static int write_out(const struct compare *c, const char *name,
		     int (*fn)(const struct compare *c, FILE *f))
{
	char tmp[PATH_MAX + 64], path[PATH_MAX + 64];
	FILE *f;
	int ret;

	snprintf(path, sizeof(path), "%s/%s", c->out, name);
	snprintf(tmp, sizeof(tmp), "%s/.%s.tmp.%d", c->out, name,
		 (int)getpid());
	f = fopen(tmp, "w");
	if (!f) {
		say("cannot create %s: %s", tmp, strerror(errno));
		return -1;
	}
	ret = fn(c, f);
	if (fclose(f) || ret || rename(tmp, path)) {
		say("cannot write %s: %s", path,
		    ret ? "bad output" : strerror(errno));
		unlink(tmp);
		return -1;
	}
	return 0;
}

static int out_json(const struct compare *c, FILE *f)
{
	return table_write_json(&c->t, f);
}

static int out_md(const struct compare *c, FILE *f)
{
	table_print_markdown(&c->t, f);
	return ferror(f) ? -EIO : 0;
}

static int out_gp(const struct compare *c, FILE *f)
{
	table_write_gnuplot(&c->t, f);
	return ferror(f) ? -EIO : 0;
}

/* Runs gnuplot on compare.gp into compare.svg (renamed when done). */
static int plot_svg(const struct compare *c)
{
	char gp[PATH_MAX + 32], tmp[PATH_MAX + 64], svg[PATH_MAX + 32];
	char expr[PATH_MAX + 128];
	char *argv[] = { "gnuplot", "-e", expr, gp, NULL };
	posix_spawn_file_actions_t fa;
	int status = 0, ret;
	pid_t pid;

	snprintf(gp, sizeof(gp), "%s/compare.gp", c->out);
	snprintf(svg, sizeof(svg), "%s/compare.svg", c->out);
	snprintf(tmp, sizeof(tmp), "%s/.compare.svg.tmp.%d", c->out,
		 (int)getpid());
	snprintf(expr, sizeof(expr), "outfile='%s'", tmp);
	if (strchr(tmp, '\'')) {
		say("cannot plot into a directory whose name holds a quote");
		return -1;
	}
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, 2, 1);
	ret = posix_spawnp(&pid, "gnuplot", &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	if (ret == ENOENT) {
		say("gnuplot is not installed: no compare.svg (the other "
		    "files are written; scripts/setup.sh installs it)");
		return 0;
	}
	if (ret || waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) ||
	    WEXITSTATUS(status)) {
		say("gnuplot failed on %s: no compare.svg", gp);
		unlink(tmp);
		return -1;
	}
	if (rename(tmp, svg)) {
		say("cannot write %s: %s", svg, strerror(errno));
		unlink(tmp);
		return -1;
	}
	return 0;
}

static int write_outputs(struct compare *c)
{
	int ret = 0;

	ret |= write_out(c, "compare.json", out_json);
	ret |= write_out(c, "compare.md", out_md);
	ret |= write_out(c, "compare.gp", out_gp);
	if (!ret)
		ret |= plot_svg(c);
	if (!ret)
		say("wrote %s/compare.{json,md,gp,svg}", c->out);
	return ret;
}

static int setup(struct compare *c, char *err)
{
	struct compare_opts *o = &c->o;
	char path[PATH_MAX], def_out[PATH_MAX];
	int ret;

	ret = find_tree(c, err);
	if (!ret && !o->workloads)
		ret = absolute(c, "eval/workloads.txt", true, path, err),
		o->workloads = ret ? NULL : strdup(path);
	if (!ret && !o->reference)
		ret = absolute(c, "eval/reference.txt", true, path, err),
		o->reference = ret ? NULL : strdup(path);
	if (ret)
		return ret;
	if (!o->workloads || !o->reference)
		return errmsg(-ENOMEM, err, ERR_MAX, "%s", strerror(ENOMEM));
	ret = workload_find(o->workloads, o->workload, &c->w, err, ERR_MAX);
	if (ret)
		return ret;
	if (o->count && !c->w.count)
		return errmsg(-EINVAL, err, ERR_MAX,
			      "--count: workload '%s' takes no count",
			      c->w.name);
	ret = absolute(c, c->w.image, true, c->image, err);
	if (!ret)
		ret = absolute(c, o->l1 ? o->l1 : "build/l1-shim.elf", !o->l1,
			       c->l1, err);
	if (!ret && !o->l1)
		ret = absolute(c, "build/l1-shim-pv.elf", true, c->l1_pv, err);
	if (ret)
		return ret;
	if (!o->nr_merge &&
	    (!eval_file_exists(c->image) || !eval_file_exists(c->l1)))
		return errmsg(-ENOENT, err, ERR_MAX,
			      "no such image: '%s' (build it with ninja)",
			      eval_file_exists(c->image) ? c->l1 : c->image);
	snprintf(def_out, sizeof(def_out), "eval/out/compare-%s", c->w.name);
	ret = absolute(c, o->out ? o->out : def_out, false, c->out, err);
	if (ret)
		return ret;
	ret = eval_mkdir_p(c->out);
	if (ret)
		return errmsg(ret, err, ERR_MAX,
			      "--out: cannot create '%s': %s", c->out,
			      strerror(-ret));
	if (snprintf(c->runs, sizeof(c->runs), "%s/runs", c->out) >=
	    (int)sizeof(c->runs))
		return errmsg(-ENAMETOOLONG, err, ERR_MAX, "--out: too long");
	if (!o->nr_merge) {
		ret = eval_mkdir_p(c->runs);
		if (ret)
			return errmsg(ret, err, ERR_MAX,
				      "cannot create '%s': %s", c->runs,
				      strerror(-ret));
	}
	return build_jobs(c, err);
}

static void compare_free(struct compare *c)
{
	for (size_t i = 0; i < c->nr_jobs; i++)
		for (size_t a = 0; a < ARGV_MAX && c->jobs[i].argv[a]; a++)
			free(c->jobs[i].argv[a]);
	free(c->jobs);
	free(c->t.cols);
	free_lists(c->o.lists);
}

int compare_main(int argc, char **argv)
{
	struct compare *c = calloc(1, sizeof(*c));
	char err[ERR_MAX];
	size_t failed = 0;
	int ret, status = COMPARE_EXIT_OK;
	char *owned_workloads = NULL, *owned_reference = NULL;

	if (!c) {
		say("%s", strerror(ENOMEM));
		return COMPARE_EXIT_USAGE;
	}
	ret = parse_flags(argc, argv, &c->o, err);
	if (ret == 1) {
		fputs(usage, stdout);
		compare_free(c);
		free(c);
		return COMPARE_EXIT_OK;
	}
	if (!ret && !c->o.strategies.n)
		ret = parse_list("--strategies", "trap,shadow,shadow-all",
				 &c->o.strategies, &c->o.lists, err);
	if (!ret && !c->o.preps.n)
		ret = parse_list("--prep", "full", &c->o.preps, &c->o.lists,
				 err);
	if (!ret && !c->o.profiles.n)
		ret = parse_list("--profiles", "nehalem", &c->o.profiles,
				 &c->o.lists, err);
	if (!ret) {
		bool given_w = c->o.workloads, given_r = c->o.reference;

		ret = setup(c, err);
		if (!given_w)
			owned_workloads = (char *)c->o.workloads;
		if (!given_r)
			owned_reference = (char *)c->o.reference;
	}
	if (ret) {
		fprintf(stderr, "nestvm: %s\n", err);
		status = COMPARE_EXIT_USAGE;
		goto out;
	}
	for (size_t i = 0; i < c->nr_jobs; i++)
		job_command(&c->jobs[i], c->t.cols[c->jobs[i].col].command,
			    sizeof(c->t.cols[0].command));
	if (c->o.emit) {
		ret = emit_jobs(c, err);
		if (ret) {
			fprintf(stderr, "nestvm: %s\n", err);
			status = COMPARE_EXIT_USAGE;
		}
		goto out;
	}
	if (c->o.nr_merge) {
		for (size_t i = 0; i < c->nr_jobs; i++) {
			if (!find_merged(c, &c->jobs[i])) {
				say("%s: no %s.json in the --merge sources",
				    c->t.cols[c->jobs[i].col].name,
				    c->jobs[i].name);
				failed++;
			}
		}
		if (failed) {
			status = COMPARE_EXIT_USAGE;
			goto out;
		}
	} else {
		failed = run_jobs(c);
	}
	for (size_t i = 0; i < c->nr_jobs; i++) {
		struct compare_job *job = &c->jobs[i];

		if (job->status)
			continue; /* failed: said so, counted, cell "failed" */
		if (read_result(c, job))
			failed++;
	}
	table_compute_ratios(&c->t);
	table_print_text(&c->t, stdout);
	fflush(stdout);
	if (write_outputs(c))
		status = COMPARE_EXIT_JOB_FAILED;
	if (failed) {
		say("%zu of %zu runs failed", failed, c->nr_jobs);
		status = COMPARE_EXIT_JOB_FAILED;
	}
out:
	free(owned_workloads);
	free(owned_reference);
	compare_free(c);
	free(c);
	return status;
}
