/* SPDX-License-Identifier: MIT */
/*
 * report.c - report.md, results.json, the gnuplot scripts and the
 * terminal summary of `nestvm eval` (eval/report.h). Every table is built
 * once as cells that each name the run (and metric) or the published
 * figure they come from; the Markdown, the JSON and the summary are
 * printed from those cells, so every number in report.md can be traced
 * to a run in results.json. Host side.
 */
#include "eval/report.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "arch/types.h"
#include "eval/table.h"
#include "eval/workload.h"
#include "l0/errmsg.h"
#include "l0/json.h"

#define RT_COLS 12
#define RT_ROWS 40
#define RT_TEXT 320
#define RT_HEAD 160
#define MAX_TABLES 24
#define MAX_REFS 128

static const char *const metric_keys[] = {
#define X(id, key) [EVAL_M_##id] = key,
	EVAL_METRICS(X)
#undef X
};

const char *eval_metric_key(enum eval_metric m)
{
	return m < EVAL_NR_METRICS ? metric_keys[m] : "?";
}

/* SECTION(id, title): the report's sections, in order. */
#define SECTIONS(X)                                            \
	X(aa, "Adams & Agesen's nanobenchmarks")               \
	X(cpuid, "Turtles' cpuid breakdown per strategy")      \
	X(mult, "Exit multiplication per exit type")           \
	X(l1exits, "L1 exits per L2 exit per strategy")        \
	X(vmcs, "Cost and L1's VMREAD/VMWRITE count per exit") \
	X(pages, "Cost and the pages L2 touches")              \
	X(mmu, "MMU modes")                                    \
	X(bt, "Binary translation break-even")

bool report_section_known(const char *section)
{
#define X(id, title)               \
	if (!strcmp(section, #id)) \
		return true;
	SECTIONS(X)
#undef X
	return false;
}

struct rcell {
	char text[RT_TEXT];
	bool has_value;
	double value;
	int run, run2; /* runs it comes from, or -1 */
	enum eval_metric metric; /* of run, when direct */
	bool direct; /* value is run's metric */
	int ref; /* published figure: index in refs, or -1 */
	char ref_key[32];
};

struct rtable {
	char id[48], title[320];
	size_t nr_cols, nr_rows;
	char head[RT_COLS][RT_HEAD];
	struct rcell c[RT_ROWS][RT_COLS];
};

struct ref {
	char workload[EXP_NAME_MAX];
	struct table_column col;
	bool used;
};

struct report {
	const struct eval_results *r;
	size_t nr_tables, nr_refs;
	struct rtable *tables[MAX_TABLES];
	struct ref refs[MAX_REFS];
	FILE *md;
	const char *out;
	char (*plots)[64];
	size_t max_plots, *nr_plots;
	int error;
};

/* ----- cells ----- */

static void fmt_num(double v, char *buf, size_t len)
{
	char raw[64], *dot;
	size_t n, lead, o = 0;
	bool neg = v < 0;
	double a = neg ? -v : v;

	/* Whole numbers and anything from 100 up print without decimals. */
	if (a >= 100 || a == (double)(uint64_t)a)
		snprintf(raw, sizeof(raw), "%.0f", a);
	else
		snprintf(raw, sizeof(raw), "%.2f", a);
	dot = strchr(raw, '.');
	n = dot ? (size_t)(dot - raw) : strlen(raw);
	lead = n % 3 ? n % 3 : 3;
	if (neg && o + 1 < len)
		buf[o++] = '-';
	for (size_t i = 0; i < n && o + 2 < len; i++) {
		if (i && (i - lead) % 3 == 0 && i >= lead)
			buf[o++] = ',';
		buf[o++] = raw[i];
	}
	snprintf(buf + o, len - o, "%s", dot ? dot : "");
}

static struct rtable *table_new(struct report *rp, const char *id,
				const char *title, size_t nr_cols, ...)
{
	struct rtable *t = calloc(1, sizeof(*t));
	va_list ap;

	if (!t || rp->nr_tables == MAX_TABLES) {
		free(t);
		rp->error = -ENOMEM;
		return NULL;
	}
	snprintf(t->id, sizeof(t->id), "%s", id);
	snprintf(t->title, sizeof(t->title), "%s", title);
	t->nr_cols = nr_cols;
	va_start(ap, nr_cols);
	for (size_t i = 0; i < nr_cols; i++)
		snprintf(t->head[i], sizeof(t->head[i]), "%s",
			 va_arg(ap, const char *));
	va_end(ap);
	rp->tables[rp->nr_tables++] = t;
	return t;
}

/* The next row, every cell cleared; NULL when the table is full. */
static struct rcell *row_new(struct report *rp, struct rtable *t)
{
	if (!t || t->nr_rows == RT_ROWS) {
		rp->error = -E2BIG;
		return NULL;
	}
	for (size_t i = 0; i < RT_COLS; i++) {
		struct rcell *c = &t->c[t->nr_rows][i];

		memset(c, 0, sizeof(*c));
		c->run = c->run2 = c->ref = -1;
	}
	return t->c[t->nr_rows++];
}

static void cell_text(struct rcell *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void cell_text(struct rcell *c, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(c->text, sizeof(c->text), fmt, ap);
	va_end(ap);
}

/* Why a run gives no number: it was not run, or it failed. */
static bool cell_no_run(const struct report *rp, struct rcell *c, int run)
{
	const struct eval_run *r = run >= 0 ? &rp->r->runs[run] : NULL;

	if (!r) {
		cell_text(c, "not in the experiments");
		return true;
	}
	c->run = run;
	if (r->needs[0]) {
		cell_text(c, "%s", r->needs);
		return true;
	}
	if (!r->ok) {
		cell_text(c, "failed");
		return true;
	}
	return false;
}

/* The cell of run's metric m. */
static void cell_metric(const struct report *rp, struct rcell *c, int run,
			enum eval_metric m)
{
	const struct eval_run *r;

	if (cell_no_run(rp, c, run))
		return;
	r = &rp->r->runs[run];
	if (!r->has[m]) {
		cell_text(c, "not measured");
		return;
	}
	c->has_value = c->direct = true;
	c->value = r->val[m];
	c->metric = m;
	fmt_num(c->value, c->text, sizeof(c->text));
}

/* The ratio run's m1 / run2's m2 (or a published figure's). */
static void cell_ratio(const struct report *rp, struct rcell *c, int run,
		       enum eval_metric m, int run2, enum eval_metric m2,
		       double published)
{
	const struct eval_run *r;
	double den;

	if (cell_no_run(rp, c, run))
		return;
	if (run2 >= 0 && cell_no_run(rp, c, run2))
		return;
	c->run = run;
	c->run2 = run2;
	r = &rp->r->runs[run];
	den = run2 >= 0 ? rp->r->runs[run2].val[m2] : published;
	if (!r->has[m] || (run2 >= 0 && !rp->r->runs[run2].has[m2]) ||
	    den <= 0) {
		cell_text(c, "not measured");
		return;
	}
	c->has_value = true;
	c->value = r->val[m] / den;
	/* Small ratios keep two significant digits rather than read 0.00. */
	snprintf(c->text, sizeof(c->text),
		 c->value > 0 && c->value < 0.01 ? "%.2g" : "%.2f", c->value);
}

static void cell_ref(struct report *rp, struct rcell *c, int ref,
		     const char *key)
{
	enum table_row row;
	const struct table_column *col;

	if (ref < 0 || table_row_find(key, &row) ||
	    !rp->refs[ref].col.has[row]) {
		cell_text(c, "no figure");
		return;
	}
	col = &rp->refs[ref].col;
	rp->refs[ref].used = true;
	c->ref = ref;
	snprintf(c->ref_key, sizeof(c->ref_key), "%s", key);
	c->has_value = true;
	c->value = col->val[row];
	fmt_num(c->value, c->text + 1, sizeof(c->text) - 1);
	/* A figure read off a chart is +-10 %: it prints as ~N. */
	if (strstr(col->source, "chart") &&
	    (!strcmp(key, "cycles") || !strcmp(key, "guest_cycles") ||
	     !strcmp(key, "switches") || !strcmp(key, "l0") ||
	     !strcmp(key, "l1") || !strcmp(key, "l2")))
		c->text[0] = '~';
	else
		memmove(c->text, c->text + 1, strlen(c->text + 1) + 1);
}

/* ----- finding runs and references ----- */

static const struct eval_experiment *section_exp(const struct report *rp,
						 const char *section)
{
	for (size_t i = 0; i < rp->r->d->nr_experiments; i++)
		if (!strcmp(rp->r->d->experiments[i].section, section))
			return &rp->r->d->experiments[i];
	return NULL;
}

/* The count experiment e runs workload w with (its first sweep value). */
static uint64_t exp_count(const struct report *rp,
			  const struct eval_experiment *e, int w, size_t k)
{
	const struct eval_workload *wl = &rp->r->d->workloads[w];

	if (rp->r->full)
		return e->nr_full ? e->full[k < e->nr_full ? k : 0] : wl->full;
	return e->nr_quick ? e->quick[k < e->nr_quick ? k : 0] : wl->quick;
}

/*
 * The run of experiment e with workload wname at level, the strategy,
 * MMU and BT mode given (NULL: the experiment's first) and count (0:
 * e's first for the workload). -1 when there is none.
 */
static int find_run(const struct report *rp, const struct eval_experiment *e,
		    const char *wname, enum eval_level level,
		    const char *strategy, const char *mmu, const char *bt,
		    const char *profile, uint64_t count)
{
	struct eval_config cfg;
	int w = eval_find_workload(rp->r->d, wname);

	if (w < 0)
		return -1;
	memset(&cfg, 0, sizeof(cfg));
	cfg.workload = (size_t)w;
	cfg.level = level;
	snprintf(cfg.profile, sizeof(cfg.profile), "%s", profile);
	cfg.count = count ? count : exp_count(rp, e, w, 0);
	if (level == EVAL_LEVEL_NESTED) {
		snprintf(cfg.strategy, sizeof(cfg.strategy), "%s",
			 strategy ? strategy : e->strategies.v[0]);
		snprintf(cfg.prep, sizeof(cfg.prep), "%s", e->preps.v[0]);
		snprintf(cfg.mmu, sizeof(cfg.mmu), "%s",
			 mmu ? mmu : e->mmus.v[0]);
		snprintf(cfg.bt, sizeof(cfg.bt), "%s", bt ? bt : e->bts.v[0]);
	} else if (level == EVAL_LEVEL_HW) {
		strcpy(cfg.mmu, "shadow");
	} else if (level == EVAL_LEVEL_HW_EPT) {
		strcpy(cfg.mmu, "ept");
	}
	for (size_t i = 0; i < rp->r->nr_runs; i++)
		if (eval_config_equal(&rp->r->runs[i].cfg, &cfg))
			return (int)i;
	return -1;
}

/* Loads the published columns of workload on profile (once). */
static void load_refs(struct report *rp, const char *workload,
		      const char *profile)
{
	struct table_column *cols = NULL;
	size_t nr = 0;
	char err[512];

	for (size_t i = 0; i < rp->nr_refs; i++)
		if (!strcmp(rp->refs[i].workload, workload) &&
		    !strcmp(rp->refs[i].col.profile, profile))
			return;
	if (reference_load(rp->r->reference, workload, profile, &cols, &nr, err,
			   sizeof(err))) {
		fprintf(stderr, "nestvm: eval: %s\n", err);
		rp->error = -EINVAL;
	}
	for (size_t i = 0; i < nr && rp->nr_refs < MAX_REFS; i++) {
		struct ref *r = &rp->refs[rp->nr_refs++];

		snprintf(r->workload, sizeof(r->workload), "%s", workload);
		r->col = cols[i];
		r->used = false;
	}
	free(cols);
}

/* The published column labelled label (or with role) of a workload. */
static int find_ref(struct report *rp, const char *workload,
		    const char *profile, const char *label, int role)
{
	load_refs(rp, workload, profile);
	for (size_t i = 0; i < rp->nr_refs; i++) {
		const struct ref *r = &rp->refs[i];

		if (strcmp(r->workload, workload) ||
		    strcmp(r->col.profile, profile))
			continue;
		if (label && !strcmp(r->col.name, label))
			return (int)i;
		if (!label && (int)r->col.role == role)
			return (int)i;
	}
	return -1;
}

/* ----- the published comparisons ----- */

/* Our metric for a reference key, at a level. */
static bool key_metric(const char *key, enum eval_level level,
		       enum eval_metric *m)
{
	static const struct {
		const char *key;
		enum eval_metric m;
	} map[] = {
		{ "l1_exits", EVAL_M_L1_EXITS },
		{ "world_switches", EVAL_M_WORLD_SWITCHES },
		{ "vmreads_trapped", EVAL_M_VMREADS_TRAPPED },
		{ "vmwrites_trapped", EVAL_M_VMWRITES_TRAPPED },
		{ "vmreads_shadowed", EVAL_M_VMREADS_SHADOWED },
		{ "vmwrites_shadowed", EVAL_M_VMWRITES_SHADOWED },
		{ "vmcs02_writes", EVAL_M_VMCS02_WRITES },
		{ "switches", EVAL_M_SWITCH_CYCLES },
		{ "l0", EVAL_M_L0_CYCLES },
		{ "l1", EVAL_M_L1_CYCLES },
		{ "l2", EVAL_M_L2_CYCLES },
		{ "guest_cycles", EVAL_M_GUEST_CYCLES },
	};

	/* Per-exit cycles of a nested run come from its report; at one
	 * level only the guest's RDTSC measures them (as in Turtles). */
	if (!strcmp(key, "cycles")) {
		*m = level == EVAL_LEVEL_NESTED ? EVAL_M_EXIT_CYCLES
						: EVAL_M_GUEST_CYCLES;
		return true;
	}
	for (size_t i = 0; i < ARRAY_SIZE(map); i++)
		if (!strcmp(map[i].key, key)) {
			*m = map[i].m;
			return true;
		}
	return false;
}

/*
 * Which of our runs a published column stands next to: its role (trap:
 * nested under trap; single: the single level) or its label's suffix
 * ".LEVEL" or ".LEVEL.STRATEGY" ("AA.hw-ept", "Turtles-DRW.nested.shadow").
 */
static bool ref_level(const struct table_column *col, enum eval_level *level,
		      char *strategy, size_t len)
{
	const char *dot = strchr(col->name, '.');

	strategy[0] = '\0';
	if (col->role == TABLE_ROLE_TRAP) {
		*level = EVAL_LEVEL_NESTED;
		snprintf(strategy, len, "trap");
		return true;
	}
	if (col->role == TABLE_ROLE_SINGLE) {
		*level = EVAL_LEVEL_SINGLE;
		return true;
	}
	if (!dot)
		return false;
	for (int l = 0; l < EVAL_NR_LEVELS; l++) {
		const char *name = eval_level_name((enum eval_level)l);
		size_t n = strlen(name);

		if (!strncmp(dot + 1, name, n) &&
		    (!dot[1 + n] || dot[1 + n] == '.')) {
			*level = (enum eval_level)l;
			if (dot[1 + n] == '.')
				snprintf(strategy, len, "%s", dot + 2 + n);
			return true;
		}
	}
	return false;
}

/* Rows "ours | published | ratio | why" for every published figure of
 * the workloads of e on profile that has a run of ours to stand by. */
static void compare_published(struct report *rp, struct rtable *t,
			      const struct eval_experiment *e,
			      const char *profile)
{
	for (size_t w = 0; w < e->workloads.n; w++) {
		const char *wname = e->workloads.v[w];

		load_refs(rp, wname, profile);
		for (size_t i = 0; i < rp->nr_refs; i++) {
			const struct ref *ref = &rp->refs[i];
			enum eval_level level;
			char strategy[EXP_NAME_MAX];

			if (strcmp(ref->workload, wname) ||
			    strcmp(ref->col.profile, profile) ||
			    !ref_level(&ref->col, &level, strategy,
				       sizeof(strategy)))
				continue;
			for (int k = 0; k < TABLE_NR_ROWS; k++) {
				const char *key =
					table_row_key((enum table_row)k);
				enum eval_metric m;
				struct rcell *row;
				int run;

				if (!ref->col.has[k] ||
				    !key_metric(key, level, &m))
					continue;
				run = find_run(rp, e, wname, level,
					       strategy[0] ? strategy : NULL,
					       NULL, NULL, profile, 0);
				row = row_new(rp, t);
				if (!row)
					return;
				cell_text(&row[0], "%s", wname);
				cell_text(&row[1], "%s", key);
				cell_text(&row[2], "%s%s%s vs %s",
					  eval_level_name(level),
					  strategy[0] ? " " : "", strategy,
					  ref->col.name);
				cell_metric(rp, &row[3], run, m);
				cell_ref(rp, &row[4], (int)i, key);
				cell_ratio(rp, &row[5], run, m, -1, m,
					   ref->col.val[k]);
				cell_text(&row[6], "%s",
					  ref->col.why[0]
						  ? ref->col.why
						  : "no reason recorded");
			}
		}
	}
}

static struct rtable *published_table(struct report *rp, const char *id,
				      const char *title)
{
	return table_new(rp, id, title, 7, "workload", "quantity",
			 "ours vs published", "ours", "published",
			 "ours / published", "why they differ");
}

/* ----- the sections ----- */

static void sec_aa(struct report *rp, const struct eval_experiment *e)
{
	static const enum eval_level levels[] = {
		EVAL_LEVEL_NATIVE, EVAL_LEVEL_SW,     EVAL_LEVEL_HW,
		EVAL_LEVEL_HW_EPT, EVAL_LEVEL_NESTED,
	};

	for (size_t p = 0; p < e->profiles.n; p++) {
		const char *prof = e->profiles.v[p];
		char id[48], title[320];
		struct rtable *t, *pub;

		snprintf(id, sizeof(id), "aa-%s", prof);
		snprintf(title, sizeof(title),
			 "Cycles per iteration (guest RDTSC), profile %s",
			 prof);
		t = table_new(rp, id, title, 6, "benchmark", "native",
			      "software VMM", "hardware VMM",
			      "hardware VMM with EPT", "nested");
		for (size_t w = 0; t && w < e->workloads.n; w++) {
			struct rcell *row = row_new(rp, t);

			if (!row)
				return;
			cell_text(&row[0], "%s", e->workloads.v[w]);
			for (size_t l = 0; l < ARRAY_SIZE(levels); l++)
				cell_metric(rp, &row[1 + l],
					    find_run(rp, e, e->workloads.v[w],
						     levels[l], NULL, NULL,
						     NULL, prof, 0),
					    EVAL_M_GUEST_CYCLES);
		}
		snprintf(id, sizeof(id), "aa-published-%s", prof);
		snprintf(title, sizeof(title),
			 "Next to Adams & Agesen (ASPLOS'06), profile %s",
			 prof);
		pub = published_table(rp, id, title);
		compare_published(rp, pub, e, prof);
		if (pub && !pub->nr_rows)
			rp->nr_tables--, free(pub);
	}
}

/* A gnuplot script out/name.gp; NULL when it cannot be created. */
static FILE *plot_open(struct report *rp, const char *name)
{
	char path[4200];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s.gp", rp->out, name);
	f = fopen(path, "w");
	if (!f) {
		rp->error = -errno;
		return NULL;
	}
	if (*rp->nr_plots < rp->max_plots)
		snprintf(rp->plots[(*rp->nr_plots)++], 64, "%s", name);
	fprintf(f,
		"# %s.gp: drawn by `nestvm eval` (docs/evaluation.md);\n"
		"# gnuplot -e \"outfile='%s.svg'\" %s.gp redraws it.\n"
		"if (!exists(\"outfile\")) outfile = '%s.svg'\n"
		"set terminal svg size 900,480 dynamic enhanced "
		"font 'sans,11'\n"
		"set output outfile\n"
		"set key outside right top\n"
		"set grid ytics\n",
		name, name, name, name);
	return f;
}

static void plot_close(struct report *rp, FILE *f)
{
	if (f && (ferror(f) | fclose(f)))
		rp->error = -EIO;
}

static double val_or0(const struct report *rp, int run, enum eval_metric m)
{
	const struct eval_run *r = run >= 0 ? &rp->r->runs[run] : NULL;

	return r && r->ok && r->has[m] ? r->val[m] : 0.0;
}

static void sec_cpuid(struct report *rp, const struct eval_experiment *e)
{
	static const struct {
		const char *label;
		enum eval_metric m;
		const char *key;
	} rows[] = {
		{ "L1 exits per L2 exit", EVAL_M_L1_EXITS, "l1_exits" },
		{ "world switches per L2 exit", EVAL_M_WORLD_SWITCHES,
		  "world_switches" },
		{ "VMREADs trapped per L2 exit", EVAL_M_VMREADS_TRAPPED,
		  "vmreads_trapped" },
		{ "VMWRITEs trapped per L2 exit", EVAL_M_VMWRITES_TRAPPED,
		  "vmwrites_trapped" },
		{ "cycles per L2 exit", EVAL_M_EXIT_CYCLES, "cycles" },
		{ "of which mode switches", EVAL_M_SWITCH_CYCLES, "switches" },
		{ "of which L0", EVAL_M_L0_CYCLES, "l0" },
		{ "of which L1", EVAL_M_L1_CYCLES, "l1" },
		{ "of which L2", EVAL_M_L2_CYCLES, "l2" },
	};
	const char *prof = e->profiles.v[0], *wname = e->workloads.v[0];
	struct rtable *t, *pub;
	int refs[4], nr_refs = 0;
	char title[320];
	FILE *gp;

	load_refs(rp, wname, prof);
	for (size_t i = 0; i < rp->nr_refs && nr_refs < 4; i++)
		if (!strcmp(rp->refs[i].workload, wname) &&
		    !strcmp(rp->refs[i].col.profile, prof) &&
		    rp->refs[i].col.role != TABLE_ROLE_SINGLE)
			refs[nr_refs++] = (int)i;
	snprintf(title, sizeof(title),
		 "%s as L2, per L2 CPUID exit, profile %s (nested, --prep %s)",
		 wname, prof, e->preps.v[0]);
	t = table_new(rp, "cpuid-breakdown", title, 1, "");
	if (!t)
		return;
	for (size_t s = 0; s < e->strategies.n && t->nr_cols < RT_COLS; s++)
		snprintf(t->head[t->nr_cols++], RT_HEAD, "%s",
			 e->strategies.v[s]);
	for (int i = 0; i < nr_refs && t->nr_cols < RT_COLS; i++)
		snprintf(t->head[t->nr_cols++], RT_HEAD, "%s",
			 rp->refs[refs[i]].col.name);
	for (size_t k = 0; k < ARRAY_SIZE(rows); k++) {
		struct rcell *row = row_new(rp, t);
		size_t c = 1;

		if (!row)
			return;
		cell_text(&row[0], "%s", rows[k].label);
		for (size_t s = 0; s < e->strategies.n && c < RT_COLS; s++)
			cell_metric(rp, &row[c++],
				    find_run(rp, e, wname, EVAL_LEVEL_NESTED,
					     e->strategies.v[s], NULL, NULL,
					     prof, 0),
				    rows[k].m);
		for (int i = 0; i < nr_refs && c < RT_COLS; i++)
			cell_ref(rp, &row[c++], refs[i], rows[k].key);
	}
	pub = published_table(rp, "cpuid-published",
			      "Next to Turtles (OSDI'10), cpuid");
	compare_published(rp, pub, e, prof);

	gp = plot_open(rp, "cpuid-breakdown");
	if (!gp)
		return;
	fprintf(gp,
		"set title 'Cycles per nested CPUID exit (%s)'\n"
		"set style data histograms\n"
		"set style histogram rowstacked\n"
		"set style fill solid 0.8 border -1\n"
		"set boxwidth 0.6\n"
		"set ylabel 'modeled cycles'\n"
		"set xtics rotate by -30\n"
		"$data << EOD\n",
		prof);
	for (size_t s = 0; s < e->strategies.n; s++) {
		int run = find_run(rp, e, wname, EVAL_LEVEL_NESTED,
				   e->strategies.v[s], NULL, NULL, prof, 0);

		fprintf(gp, "\"%s\" %.1f %.1f %.1f %.1f\n", e->strategies.v[s],
			val_or0(rp, run, EVAL_M_SWITCH_CYCLES),
			val_or0(rp, run, EVAL_M_L0_CYCLES),
			val_or0(rp, run, EVAL_M_L1_CYCLES),
			val_or0(rp, run, EVAL_M_L2_CYCLES));
	}
	for (int i = 0; i < nr_refs; i++) {
		const struct table_column *col = &rp->refs[refs[i]].col;

		if (!col->has[TABLE_ROW_SWITCHES])
			continue;
		fprintf(gp, "\"%s\" %.1f %.1f %.1f %.1f\n", col->name,
			col->val[TABLE_ROW_SWITCHES], col->val[TABLE_ROW_L0],
			col->val[TABLE_ROW_L1],
			col->has[TABLE_ROW_L2] ? col->val[TABLE_ROW_L2] : 0.0);
	}
	fprintf(gp, "EOD\n"
		    "plot $data using 2:xtic(1) title 'mode switches', "
		    "'' using 3 title 'L0', '' using 4 title 'L1', "
		    "'' using 5 title 'L2'\n");
	plot_close(rp, gp);
}

static void sec_mult(struct report *rp, const struct eval_experiment *e)
{
	const char *prof = e->profiles.v[0];
	struct rtable *t, *pub;
	FILE *gp;

	t = table_new(rp, "mult", "Per L2 exit of each type (nested: trap)", 9,
		      "workload", "exit reason", "single level (cycles)",
		      "nested (cycles per L2 exit)", "nested / single",
		      "L1 exits per L2 exit", "VMREADs + VMWRITEs per L2 exit",
		      "Turtles single", "Turtles nested");
	for (size_t w = 0; t && w < e->workloads.n; w++) {
		const char *wn = e->workloads.v[w];
		int wi = eval_find_workload(rp->r->d, wn);
		int s = find_run(rp, e, wn, EVAL_LEVEL_SINGLE, NULL, NULL, NULL,
				 prof, 0);
		int n = find_run(rp, e, wn, EVAL_LEVEL_NESTED, "trap", NULL,
				 NULL, prof, 0);
		struct rcell *row = row_new(rp, t);

		if (!row)
			return;
		cell_text(&row[0], "%s", wn);
		cell_text(&row[1], "%s", rp->r->d->workloads[wi].unit);
		cell_metric(rp, &row[2], s, EVAL_M_GUEST_CYCLES);
		cell_metric(rp, &row[3], n, EVAL_M_EXIT_CYCLES);
		cell_ratio(rp, &row[4], n, EVAL_M_EXIT_CYCLES, s,
			   EVAL_M_GUEST_CYCLES, 0);
		cell_metric(rp, &row[5], n, EVAL_M_L1_EXITS);
		cell_metric(rp, &row[6], n, EVAL_M_VMX_ACCESSES);
		cell_ref(rp, &row[7],
			 find_ref(rp, wn, prof, NULL, TABLE_ROLE_SINGLE),
			 "cycles");
		cell_ref(rp, &row[8],
			 find_ref(rp, wn, prof, NULL, TABLE_ROLE_TRAP),
			 "cycles");
	}
	pub = published_table(rp, "mult-published",
			      "Next to Turtles (OSDI'10) Figure 9");
	compare_published(rp, pub, e, prof);

	gp = plot_open(rp, "mult");
	if (!gp)
		return;
	fprintf(gp,
		"set title 'Cycles per exit: single level and nested "
		"(trap), %s'\n"
		"set style data histograms\n"
		"set style histogram clustered gap 1\n"
		"set style fill solid 0.8 border -1\n"
		"set logscale y\n"
		"set ylabel 'modeled cycles (log)'\n"
		"$data << EOD\n",
		prof);
	for (size_t w = 0; w < e->workloads.n; w++) {
		const char *wn = e->workloads.v[w];

		fprintf(gp, "\"%s\" %.1f %.1f\n", wn,
			val_or0(rp,
				find_run(rp, e, wn, EVAL_LEVEL_SINGLE, NULL,
					 NULL, NULL, prof, 0),
				EVAL_M_GUEST_CYCLES),
			val_or0(rp,
				find_run(rp, e, wn, EVAL_LEVEL_NESTED, "trap",
					 NULL, NULL, prof, 0),
				EVAL_M_EXIT_CYCLES));
	}
	fprintf(gp, "EOD\n"
		    "plot $data using 2:xtic(1) title 'single level', "
		    "'' using 3 title 'nested'\n");
	plot_close(rp, gp);
}

/* A table of one metric: workloads down, e's strategies across. */
static void strategy_table(struct report *rp, const struct eval_experiment *e,
			   const char *id, const char *title,
			   enum eval_metric m)
{
	struct rtable *t = table_new(rp, id, title, 1, "workload");

	for (size_t s = 0; t && s < e->strategies.n && t->nr_cols < RT_COLS;
	     s++)
		snprintf(t->head[t->nr_cols++], RT_HEAD, "%s",
			 e->strategies.v[s]);
	for (size_t w = 0; t && w < e->workloads.n; w++) {
		struct rcell *row = row_new(rp, t);

		if (!row)
			return;
		cell_text(&row[0], "%s", e->workloads.v[w]);
		for (size_t s = 1; s < t->nr_cols; s++)
			cell_metric(rp, &row[s],
				    find_run(rp, e, e->workloads.v[w],
					     EVAL_LEVEL_NESTED,
					     e->strategies.v[s - 1], NULL, NULL,
					     e->profiles.v[0], 0),
				    m);
	}
}

static void sec_l1exits(struct report *rp, const struct eval_experiment *e)
{
	strategy_table(rp, e, "l1exits", "L1 exits per L2 exit",
		       EVAL_M_L1_EXITS);
	strategy_table(rp, e, "l1exits-cycles", "Cycles per L2 exit",
		       EVAL_M_EXIT_CYCLES);
}

static void sec_vmcs(struct report *rp, const struct eval_experiment *e)
{
	const char *prof = e->profiles.v[0];
	struct rtable *t;
	FILE *gp;

	t = table_new(rp, "vmcs", "VMREAD/VMWRITE per L2 exit and its cost", 6,
		      "workload", "VMREADs trapped", "VMWRITEs trapped",
		      "L1 exits per L2 exit", "L1 (cycles per L2 exit)",
		      "cycles per L2 exit");
	for (size_t w = 0; t && w < e->workloads.n; w++) {
		int n = find_run(rp, e, e->workloads.v[w], EVAL_LEVEL_NESTED,
				 NULL, NULL, NULL, prof, 0);
		struct rcell *row = row_new(rp, t);

		if (!row)
			return;
		cell_text(&row[0], "%s", e->workloads.v[w]);
		cell_metric(rp, &row[1], n, EVAL_M_VMREADS_TRAPPED);
		cell_metric(rp, &row[2], n, EVAL_M_VMWRITES_TRAPPED);
		cell_metric(rp, &row[3], n, EVAL_M_L1_EXITS);
		cell_metric(rp, &row[4], n, EVAL_M_L1_CYCLES);
		cell_metric(rp, &row[5], n, EVAL_M_EXIT_CYCLES);
	}
	gp = plot_open(rp, "vmcs");
	if (!gp)
		return;
	fprintf(gp,
		"set title 'Cycles per L2 exit against VMREADs + "
		"VMWRITEs per exit (%s, %s)'\n"
		"set xlabel 'VMREADs + VMWRITEs by L1 per L2 exit'\n"
		"set ylabel 'modeled cycles per L2 exit'\n"
		"$data << EOD\n",
		e->strategies.v[0], prof);
	for (size_t w = 0; w < e->workloads.n; w++) {
		int n = find_run(rp, e, e->workloads.v[w], EVAL_LEVEL_NESTED,
				 NULL, NULL, NULL, prof, 0);

		fprintf(gp, "%.2f %.1f \"%s\"\n",
			val_or0(rp, n, EVAL_M_VMX_ACCESSES),
			val_or0(rp, n, EVAL_M_EXIT_CYCLES), e->workloads.v[w]);
	}
	fprintf(gp, "EOD\n"
		    "plot $data using 1:2 with points pt 7 ps 1.5 "
		    "title 'exit types', "
		    "'' using 1:2:3 with labels offset 1,1 notitle\n");
	plot_close(rp, gp);
}

static void sec_pages(struct report *rp, const struct eval_experiment *e)
{
	const char *prof = e->profiles.v[0], *wn = e->workloads.v[0];
	size_t nr = rp->r->full ? e->nr_full : e->nr_quick;
	struct rtable *t;
	FILE *gp;

	t = table_new(rp, "pages", "ept02 and cost against pages L2 touches", 1,
		      "pages");
	for (size_t m = 0; t && m < e->mmus.n && t->nr_cols + 3 <= RT_COLS;
	     m++) {
		snprintf(t->head[t->nr_cols++], RT_HEAD, "ept02 fills (%s)",
			 e->mmus.v[m]);
		snprintf(t->head[t->nr_cols++], RT_HEAD,
			 "ept02 table pages (%s)", e->mmus.v[m]);
		snprintf(t->head[t->nr_cols++], RT_HEAD, "cycles (%s)",
			 e->mmus.v[m]);
	}
	if (!nr)
		nr = 1;
	for (size_t k = 0; t && k < nr; k++) {
		int w = eval_find_workload(rp->r->d, wn);
		uint64_t count = exp_count(rp, e, w, k);
		struct rcell *row = row_new(rp, t);

		if (!row)
			return;
		cell_text(&row[0], "%" PRIu64, count);
		for (size_t m = 0; m < e->mmus.n && 1 + 3 * m + 2 < RT_COLS;
		     m++) {
			int run = find_run(rp, e, wn, EVAL_LEVEL_NESTED, NULL,
					   e->mmus.v[m], NULL, prof, count);

			cell_metric(rp, &row[1 + 3 * m], run,
				    EVAL_M_EPT02_FILLS);
			cell_metric(rp, &row[2 + 3 * m], run,
				    EVAL_M_EPT02_PAGES);
			cell_metric(rp, &row[3 + 3 * m], run, EVAL_M_CYCLES);
		}
	}
	gp = plot_open(rp, "pages");
	if (!gp)
		return;
	fprintf(gp,
		"set title 'ept02 fills and cycles against pages L2 "
		"touches (nested, %s, %s)'\n"
		"set xlabel 'pages touched'\n"
		"set ylabel 'ept02 fills'\n"
		"set y2label 'modeled cycles of the run'\n"
		"set ytics nomirror\nset y2tics\n"
		"$data << EOD\n",
		e->mmus.v[0], prof);
	for (size_t k = 0; k < nr; k++) {
		uint64_t count =
			exp_count(rp, e, eval_find_workload(rp->r->d, wn), k);
		int run = find_run(rp, e, wn, EVAL_LEVEL_NESTED, NULL, NULL,
				   NULL, prof, count);

		fprintf(gp, "%" PRIu64 " %.0f %.0f\n", count,
			val_or0(rp, run, EVAL_M_EPT02_FILLS),
			val_or0(rp, run, EVAL_M_CYCLES));
	}
	fprintf(gp, "EOD\n"
		    "plot $data using 1:2 with linespoints title 'ept02 fills' "
		    "axes x1y1, '' using 1:3 with linespoints title 'cycles' "
		    "axes x1y2\n");
	plot_close(rp, gp);
}

/* A table of guest cycles: workloads down, one column per mode. */
static void mode_table(struct report *rp, const struct eval_experiment *e,
		       const char *id, const char *title, bool bt)
{
	const struct exp_list *modes = bt ? &e->bts : &e->mmus;
	struct rtable *t = table_new(rp, id, title, 1, "workload");
	const char *prof = e->profiles.v[0];

	for (size_t m = 0; t && m < modes->n && t->nr_cols < RT_COLS; m++)
		snprintf(t->head[t->nr_cols++], RT_HEAD, "%s %s",
			 bt ? "bt" : "mmu", modes->v[m]);
	if (bt && t && t->nr_cols < RT_COLS && modes->n > 1)
		snprintf(t->head[t->nr_cols++], RT_HEAD, "%s / %s", modes->v[1],
			 modes->v[0]);
	for (size_t w = 0; t && w < e->workloads.n; w++) {
		const char *wn = e->workloads.v[w];
		struct rcell *row = row_new(rp, t);
		int first = -1;

		if (!row)
			return;
		cell_text(&row[0], "%s", wn);
		for (size_t m = 0; m < modes->n && 1 + m < RT_COLS; m++) {
			int run = find_run(rp, e, wn, EVAL_LEVEL_NESTED, NULL,
					   bt ? NULL : modes->v[m],
					   bt ? modes->v[m] : NULL, prof, 0);

			if (!m)
				first = run;
			cell_metric(rp, &row[1 + m], run, EVAL_M_GUEST_CYCLES);
		}
		if (bt && modes->n > 1 && 1 + modes->n < RT_COLS)
			cell_ratio(rp, &row[1 + modes->n],
				   find_run(rp, e, wn, EVAL_LEVEL_NESTED, NULL,
					    NULL, modes->v[1], prof, 0),
				   EVAL_M_GUEST_CYCLES, first,
				   EVAL_M_GUEST_CYCLES, 0);
	}
}

static void sec_mmu(struct report *rp, const struct eval_experiment *e)
{
	mode_table(rp, e, "mmu",
		   "Cycles per iteration (guest RDTSC), nested, per MMU mode",
		   false);
}

static void sec_bt(struct report *rp, const struct eval_experiment *e)
{
	struct rtable *t;
	struct rcell *row;

	mode_table(rp, e, "bt",
		   "Cycles per iteration (guest RDTSC), nested, BT off and "
		   "adaptive",
		   true);
	/* The break-even L0 computed (docs/design/bt.md: translate cost
	 * against the measured round trip), one row per workload, in the
	 * column of the mode that computes it. */
	t = rp->nr_tables ? rp->tables[rp->nr_tables - 1] : NULL;
	if (!t || e->bts.n < 2)
		return;
	for (size_t w = 0; w < e->workloads.n; w++) {
		const char *wn = e->workloads.v[w];
		int run = find_run(rp, e, wn, EVAL_LEVEL_NESTED, NULL, NULL,
				   e->bts.v[1], e->profiles.v[0], 0);

		row = row_new(rp, t);
		if (!row)
			return;
		cell_text(&row[0],
			  "%s: break-even (exits per 10,000 L2 instructions)",
			  wn);
		for (size_t c = 1; c < t->nr_cols; c++)
			if (c != 2 || !cell_no_run(rp, &row[c], run))
				cell_text(&row[c], "-");
		if (t->nr_cols > 2 && run >= 0 &&
		    !cell_no_run(rp, &row[2], run))
			cell_metric(rp, &row[2], run, EVAL_M_BT_BREAK_EVEN);
	}
}

/* ----- output ----- */

static void md_escape(FILE *f, const char *s)
{
	for (; *s; s++) {
		if (*s == '|')
			fputc('\\', f);
		fputc(*s, f);
	}
}

static void md_table(FILE *f, const struct rtable *t)
{
	fprintf(f, "**%s** (`%s`)\n\n|", t->title, t->id);
	for (size_t c = 0; c < t->nr_cols; c++) {
		fputc(' ', f);
		md_escape(f, t->head[c]);
		fputs(" |", f);
	}
	fputs("\n|", f);
	/* Columns holding a number align right, text columns left. */
	for (size_t c = 0; c < t->nr_cols; c++) {
		bool num = false;

		for (size_t r = 0; r < t->nr_rows && c; r++)
			num |= t->c[r][c].has_value;
		fputs(num ? "---:|" : "---|", f);
	}
	fputc('\n', f);
	for (size_t r = 0; r < t->nr_rows; r++) {
		fputc('|', f);
		for (size_t c = 0; c < t->nr_cols; c++) {
			fputc(' ', f);
			md_escape(f, t->c[r][c].text);
			fputs(" |", f);
		}
		fputc('\n', f);
	}
	fputc('\n', f);
}

/* Aligned text for the terminal, cells cut to 24 characters. */
static void text_table(FILE *f, const struct rtable *t)
{
	int w[RT_COLS];

	fprintf(f, "%s\n", t->title);
	for (size_t c = 0; c < t->nr_cols; c++) {
		w[c] = (int)strlen(t->head[c]);
		for (size_t r = 0; r < t->nr_rows; r++)
			if ((int)strlen(t->c[r][c].text) > w[c])
				w[c] = (int)strlen(t->c[r][c].text);
		if (w[c] > 24)
			w[c] = 24;
	}
	for (size_t c = 0; c < t->nr_cols; c++)
		fprintf(f, "%s%*.*s", c ? "  " : "  ", c ? w[c] : -w[c], w[c],
			t->head[c]);
	fputc('\n', f);
	for (size_t r = 0; r < t->nr_rows; r++) {
		for (size_t c = 0; c < t->nr_cols; c++)
			fprintf(f, "  %*.*s", c ? w[c] : -w[c], w[c],
				t->c[r][c].text);
		fputc('\n', f);
	}
	fputc('\n', f);
}

static void json_run(struct json_writer *jw, const struct eval_results *r,
		     const struct eval_run *run)
{
	const struct eval_config *c = &run->cfg;

	json_begin_object(jw, NULL);
	json_write_string(jw, "id", run->id);
	json_write_string(jw, "workload", r->d->workloads[c->workload].name);
	json_write_string(jw, "level", eval_level_name(c->level));
	json_write_string(jw, "strategy", c->strategy);
	json_write_string(jw, "prep", c->prep);
	json_write_string(jw, "mmu", c->mmu);
	json_write_string(jw, "bt", c->bt);
	json_write_string(jw, "profile", c->profile);
	json_write_u64(jw, "count", c->count);
	json_write_string(jw, "command", run->command);
	json_write_string(jw, "status",
			  run->needs[0] ? "needs"
			  : run->ok	? "ok"
					: "failed");
	if (run->needs[0]) {
		json_write_string(jw, "needs", run->needs);
		json_write_string(jw, "refusal", run->refusal);
	}
	if (run->has_wall)
		json_write_double(jw, "wall_s", run->seconds);
	json_begin_object(jw, "metrics");
	for (int m = 0; m < EVAL_NR_METRICS; m++)
		if (run->has[m])
			json_write_double(jw, metric_keys[m], run->val[m]);
	json_end_object(jw);
	json_end_object(jw);
}

static void json_cell(struct json_writer *jw, const struct report *rp,
		      const struct rcell *c)
{
	json_begin_object(jw, NULL);
	json_write_string(jw, "text", c->text);
	if (c->has_value)
		json_write_double(jw, "value", c->value);
	if (c->run >= 0)
		json_write_string(jw, "run", rp->r->runs[c->run].id);
	if (c->run2 >= 0)
		json_write_string(jw, "run2", rp->r->runs[c->run2].id);
	if (c->direct)
		json_write_string(jw, "metric", metric_keys[c->metric]);
	if (c->ref >= 0) {
		json_write_u64(jw, "reference", (uint64_t)c->ref);
		json_write_string(jw, "key", c->ref_key);
	}
	json_end_object(jw);
}

static int write_json(const struct report *rp, FILE *f)
{
	const struct eval_results *r = rp->r;
	struct json_writer jw;

	json_init(&jw, f);
	json_begin_object(&jw, NULL);
	json_write_u64(&jw, "nestvm_eval", 1);
	json_write_string(&jw, "size", r->full ? "full" : "quick");
	json_write_double(&jw, "wall_s", r->wall_total);
	json_begin_array(&jw, "experiments");
	for (size_t i = 0; i < r->d->nr_experiments; i++) {
		json_begin_object(&jw, NULL);
		json_write_string(&jw, "name", r->d->experiments[i].name);
		json_write_string(&jw, "section", r->d->experiments[i].section);
		json_end_object(&jw);
	}
	json_end_array(&jw);
	json_begin_array(&jw, "runs");
	for (size_t i = 0; i < r->nr_runs; i++)
		json_run(&jw, r, &r->runs[i]);
	json_end_array(&jw);
	json_begin_array(&jw, "references");
	for (size_t i = 0; i < rp->nr_refs; i++) {
		const struct ref *ref = &rp->refs[i];

		json_begin_object(&jw, NULL);
		json_write_string(&jw, "workload", ref->workload);
		json_write_string(&jw, "profile", ref->col.profile);
		json_write_string(&jw, "label", ref->col.name);
		json_write_string(&jw, "source", ref->col.source);
		json_write_string(&jw, "why", ref->col.why);
		json_begin_object(&jw, "values");
		for (int k = 0; k < TABLE_NR_ROWS; k++)
			if (ref->col.has[k])
				json_write_double(
					&jw, table_row_key((enum table_row)k),
					ref->col.val[k]);
		json_end_object(&jw);
		json_end_object(&jw);
	}
	json_end_array(&jw);
	json_begin_array(&jw, "tables");
	for (size_t i = 0; i < rp->nr_tables; i++) {
		const struct rtable *t = rp->tables[i];

		json_begin_object(&jw, NULL);
		json_write_string(&jw, "id", t->id);
		json_write_string(&jw, "title", t->title);
		json_begin_array(&jw, "columns");
		for (size_t c = 0; c < t->nr_cols; c++)
			json_write_string(&jw, NULL, t->head[c]);
		json_end_array(&jw);
		json_begin_array(&jw, "rows");
		for (size_t row = 0; row < t->nr_rows; row++) {
			json_begin_array(&jw, NULL);
			for (size_t c = 0; c < t->nr_cols; c++)
				json_cell(&jw, rp, &t->c[row][c]);
			json_end_array(&jw);
		}
		json_end_array(&jw);
		json_end_object(&jw);
	}
	json_end_array(&jw);
	json_end_object(&jw);
	return json_finish(&jw);
}

/* The prose of each section, then its tables and plot. */
static const char *const section_text[] = {
	[0] = "Adams & Agesen's nanobenchmarks (`build/guests/bench/nano.elf`,"
	      " one benchmark per run) at every level: native (`--native`), "
	      "the software VMM (`--vmm bt`, on p4-prescott only: A&A's "
	      "machine, the one profile with the software VMM's bt_* charges "
	      "of 2,300 cycles per translated instruction, 1,254 per callout "
	      "and 2,030 per trap; a benchmark it cannot run yet shows why), "
	      "the hardware VMM (L0 running "
	      "the benchmark itself with shadow paging, `--mmu shadow`, as "
	      "A&A's VMM did; and with EPT, L0's default), and nested (under "
	      "l1-shim under L0). The second table stands each of our figures "
	      "next to the published one.",
	[1] = "Turtles' Figure 10: one L2 CPUID exit, split into the mode "
	      "switches, L0's and L1's work, per VMCS strategy. The cycles of "
	      "L0's C handlers are charged nothing (docs/cost-model.md); "
	      "L0's share is its VMX operations.",
	[2] = "Turtles' Figure 9: each exit type at the single level "
	      "(l1-shim on the bare model, the guest's RDTSC) and nested "
	      "(trap: every L1 VMREAD/VMWRITE exits to L0).",
	[3] = "How many exits to L0 one L2 exit costs under each VMCS "
	      "strategy, per exit type.",
	[4] = "With trapping VMREAD/VMWRITE every access L1's handler makes "
	      "is an exit of its own: the cost per L2 exit grows with the "
	      "count.",
	[5] = "ept02 grows with the pages L2 touches: every first touch is "
	      "a hidden fault L0 fills (l1-shim maps L2 with 4 KiB pages).",
	[6] = "The same workloads nested under each MMU mode: `ept` is "
	      "EPT-on-EPT (ept02 from ept12 and ept01); `shadow` is L0 "
	      "shadow-paging L1 itself (`--mmu shadow`, L2 still on ept02, "
	      "so L2's figures match `ept`); `shadow-on-ept` is Turtles' "
	      "shadow-on-EPT, l1-shim shadow-paging L2 (`mmu=shadow`) on "
	      "ept01, where every L2 page fault and CR3 load is an exit to "
	      "L1.",
	[7] = "L0's binary-translation fallback for L2 code that exits too "
	      "often, against trap-and-emulate.",
};

static int write_md(struct report *rp, FILE *f)
{
	static const struct {
		const char *id, *title;
		void (*fn)(struct report *, const struct eval_experiment *);
	} secs[] = {
#define X(id, title) { #id, title, sec_##id },
		SECTIONS(X)
#undef X
	};
	size_t nr_runs = 0, ok = 0, needs = 0;

	for (size_t i = 0; i < rp->r->nr_runs; i++) {
		nr_runs++;
		ok += rp->r->runs[i].ok;
		needs += rp->r->runs[i].needs[0] != '\0';
	}
	fprintf(f,
		"# nestvm evaluation\n\n"
		"Written by `nestvm eval%s` from eval/experiments.txt: "
		"%zu runs, %zu ran and succeeded, %zu need a feature "
		"`nestvm run` does not have yet (their cells say which), "
		"%zu failed. Every number below is a modeled figure of one "
		"run (or a ratio of two) or a published figure from "
		"eval/reference.txt; results.json names the run and metric "
		"of each cell and holds every run's command line. How to "
		"read it: docs/evaluation.md.\n\n",
		rp->r->full ? "" : " --quick", nr_runs, ok, needs,
		nr_runs - ok - needs);
	for (size_t s = 0; s < ARRAY_SIZE(secs); s++) {
		const struct eval_experiment *e = section_exp(rp, secs[s].id);
		size_t first = rp->nr_tables, plots = *rp->nr_plots;

		if (!e)
			continue;
		secs[s].fn(rp, e);
		if (rp->error)
			return rp->error;
		fprintf(f, "## %s\n\n%s\n\n", secs[s].title, section_text[s]);
		for (size_t i = first; i < rp->nr_tables; i++)
			md_table(f, rp->tables[i]);
		for (size_t p = plots; p < *rp->nr_plots; p++)
			fprintf(f, "![%s](%s.svg)\n\n", rp->plots[p],
				rp->plots[p]);
	}
	return ferror(f) ? -EIO : 0;
}

static int write_file(struct report *rp, const char *name,
		      int (*fn)(struct report *rp, FILE *f), char *err,
		      size_t errlen)
{
	char tmp[4200], path[4200];
	FILE *f;
	int ret;

	snprintf(path, sizeof(path), "%s/%s", rp->out, name);
	snprintf(tmp, sizeof(tmp), "%s/.%s.tmp.%d", rp->out, name,
		 (int)getpid());
	f = fopen(tmp, "w");
	if (!f)
		return errmsg(-errno, err, errlen, "cannot create %s: %s", tmp,
			      strerror(errno));
	ret = fn(rp, f);
	if (fclose(f) || ret || rename(tmp, path)) {
		unlink(tmp);
		return errmsg(ret ? ret : -EIO, err, errlen,
			      "cannot write %s: %s", path,
			      strerror(ret ? -ret : errno));
	}
	return 0;
}

static int json_fn(struct report *rp, FILE *f)
{
	return write_json(rp, f);
}

int report_write(const struct eval_results *r, const char *out, FILE *summary,
		 char plots[][64], size_t max_plots, size_t *nr_plots,
		 char *err, size_t errlen)
{
	struct report *rp = calloc(1, sizeof(*rp));
	int ret;

	if (!rp)
		return errmsg(-ENOMEM, err, errlen, "%s", strerror(ENOMEM));
	rp->r = r;
	rp->out = out;
	rp->plots = plots;
	rp->max_plots = max_plots;
	rp->nr_plots = nr_plots;
	*nr_plots = 0;
	ret = write_file(rp, "report.md", write_md, err, errlen);
	if (!ret)
		ret = write_file(rp, "results.json", json_fn, err, errlen);
	if (!ret && summary) {
		for (size_t i = 0; i < rp->nr_tables; i++)
			if ((!strncmp(rp->tables[i]->id, "aa-", 3) &&
			     strncmp(rp->tables[i]->id, "aa-published", 12)) ||
			    !strcmp(rp->tables[i]->id, "cpuid-breakdown") ||
			    !strcmp(rp->tables[i]->id, "mult"))
				text_table(summary, rp->tables[i]);
	}
	for (size_t i = 0; i < rp->nr_tables; i++)
		free(rp->tables[i]);
	free(rp);
	return ret;
}
