/* SPDX-License-Identifier: MIT */
/*
 * table.c - the comparison table of eval/table.h: per-L2-exit values
 * derived from the totals in each run's --json report (member names in
 * docs/user-guide.md), the ratios, and the text, Markdown, JSON and
 * gnuplot outputs. Every value is a quotient of two integers of one
 * report, so the same reports always give the same table. Host side.
 */
#include "eval/table.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "arch/types.h"
#include "eval/json_read.h"
#include "l0/errmsg.h"
#include "l0/json.h"

static const struct {
	const char *key, *label;
} table_rows[TABLE_NR_ROWS] = {
#define X(id, k, l) [TABLE_ROW_##id] = { .key = k, .label = l },
	TABLE_ROWS(X)
#undef X
};

const char *table_row_key(enum table_row row)
{
	return table_rows[row].key;
}

const char *table_row_label(enum table_row row)
{
	return table_rows[row].label;
}

int table_row_find(const char *key, enum table_row *row)
{
	for (int i = 0; i < TABLE_NR_ROWS; i++) {
		if (!strcmp(table_rows[i].key, key)) {
			*row = (enum table_row)i;
			return 0;
		}
	}
	return -ENOENT;
}

static void col_set(struct table_column *col, enum table_row row, double v)
{
	col->has[row] = true;
	col->val[row] = v;
}

/* The value of the guest's "RESULT key value unit" line, or -ENOENT. */
static int serial_result(const char *serial, const char *key, uint64_t *out)
{
	size_t klen = strlen(key);

	for (const char *p = serial; p && *p;) {
		const char *nl = strchr(p, '\n');

		if (!strncmp(p, "RESULT ", 7) && !strncmp(p + 7, key, klen) &&
		    p[7 + klen] == ' ') {
			const char *v = p + 8 + klen;
			char *end;

			errno = 0;
			*out = strtoull(v, &end, 10);
			if (end != v && !errno && (*end == ' ' || *end == '\n'))
				return 0;
		}
		p = nl ? nl + 1 : NULL;
	}
	return -ENOENT;
}

/* Reads path (relative to base) into *out; false when missing. */
static bool report_u64(const char *doc, const char *base, const char *path,
		       uint64_t *out)
{
	char full[256];

	snprintf(full, sizeof(full), "%s%s%s", base, *base ? "." : "", path);
	return !json_doc_u64(doc, full, out);
}

static int fill_nested(struct table_column *col, const char *unit,
		       const char *doc, char *err, size_t errlen)
{
	struct table_totals *t = &col->t;
	char base[128], by[160];
	static const struct {
		const char *key;
		size_t off;
	} members[] = {
		{ "count", offsetof(struct table_totals, count) },
		{ "l1_exits", offsetof(struct table_totals, l1_exits) },
		{ "world_switches",
		  offsetof(struct table_totals, world_switches) },
		{ "vmreads_trapped",
		  offsetof(struct table_totals, vmreads_trapped) },
		{ "vmreads_shadowed",
		  offsetof(struct table_totals, vmreads_shadowed) },
		{ "vmwrites_trapped",
		  offsetof(struct table_totals, vmwrites_trapped) },
		{ "vmwrites_shadowed",
		  offsetof(struct table_totals, vmwrites_shadowed) },
		{ "vmcs02_writes",
		  offsetof(struct table_totals, vmcs02_writes) },
		{ "cycles", offsetof(struct table_totals, cycles) },
		{ "breakdown.switches",
		  offsetof(struct table_totals, switches) },
		{ "breakdown.l0", offsetof(struct table_totals, l0) },
		{ "breakdown.l1", offsetof(struct table_totals, l1) },
		{ "l2_cycles", offsetof(struct table_totals, l2_cycles) },
	};
	uint64_t handlers = 0, l2_exits = 0, l1_bt = 0;
	double n;

	snprintf(by, sizeof(by), "levels.L2.exits_by_reason.%s", unit);
	if (!report_u64(doc, "", by, &l2_exits))
		l2_exits = 0; /* the unit never exited */
	col_set(col, TABLE_ROW_L2_EXITS, (double)l2_exits);
	snprintf(base, sizeof(base), "reflected.%s", unit);
	if (!json_doc_find(doc, base))
		return 0; /* no reflected exit of the unit: nothing per exit */
	for (size_t i = 0; i < ARRAY_SIZE(members); i++) {
		uint64_t *dst = (uint64_t *)((char *)t + members[i].off);

		if (!report_u64(doc, base, members[i].key, dst))
			return errmsg(-EINVAL, err, errlen,
				      "the report has no %s.%s", base,
				      members[i].key);
	}
	/* L0's C handlers are charged 0 today (docs/cost-model.md); they
	 * belong to L0's share when a profile charges them. */
	report_u64(doc, base, "breakdown.l0_handlers", &handlers);
	t->l0 += handlers;
	/* --vmcs-access bt: L1's handler ran translated; its charged cycles
	 * are L1's share of the exit (and its VMREAD/VMWRITE callouts are
	 * neither trapped nor shadowed: the vmreads/vmwrites totals). */
	report_u64(doc, base, "breakdown.l1_bt", &l1_bt);
	t->l1 += l1_bt;
	if (!t->count)
		return 0;
	n = (double)t->count;
	col_set(col, TABLE_ROW_L1_EXITS, (double)t->l1_exits / n);
	col_set(col, TABLE_ROW_WORLD_SWITCHES, (double)t->world_switches / n);
	col_set(col, TABLE_ROW_VMREADS_TRAPPED, (double)t->vmreads_trapped / n);
	col_set(col, TABLE_ROW_VMREADS_SHADOWED,
		(double)t->vmreads_shadowed / n);
	col_set(col, TABLE_ROW_VMWRITES_TRAPPED,
		(double)t->vmwrites_trapped / n);
	col_set(col, TABLE_ROW_VMWRITES_SHADOWED,
		(double)t->vmwrites_shadowed / n);
	col_set(col, TABLE_ROW_VMCS02_WRITES, (double)t->vmcs02_writes / n);
	/* One iteration of the guest's loop: the span L0 reflects (switches,
	 * L0, L1) plus L2's own time before the exit. */
	col_set(col, TABLE_ROW_CYCLES, (double)(t->cycles + t->l2_cycles) / n);
	col_set(col, TABLE_ROW_SWITCHES, (double)t->switches / n);
	col_set(col, TABLE_ROW_L0, (double)t->l0 / n);
	col_set(col, TABLE_ROW_L1, (double)t->l1 / n);
	col_set(col, TABLE_ROW_L2, (double)t->l2_cycles / n);
	return 0;
}

static int fill_single(struct table_column *col, const char *unit,
		       const char *doc)
{
	char by[160];
	uint64_t exits = 0, unit_exits = 0, switches = 0;

	/* In a single-level run the hypervisor is the report's L0 and the
	 * workload its L1 (Turtles' naming, docs/user-guide.md). */
	snprintf(by, sizeof(by), "levels.L1.exits_by_reason.%s", unit);
	if (json_doc_u64(doc, by, &unit_exits))
		unit_exits = 0;
	col_set(col, TABLE_ROW_L2_EXITS, (double)unit_exits);
	col->t.count = unit_exits;
	if (!json_doc_u64(doc, "levels.L1.exits", &exits) && exits &&
	    !json_doc_u64(doc, "switches.world_switches", &switches)) {
		col->t.world_switches = switches;
		col_set(col, TABLE_ROW_WORLD_SWITCHES,
			(double)switches / (double)exits);
	}
	return 0;
}

int table_fill_column(struct table_column *col, const char *unit,
		      const char *doc, const char *serial,
		      const char *result_key, char *err, size_t errlen)
{
	bool nested = col->kind == TABLE_NESTED;
	uint64_t guest;
	int ret;

	if (!json_doc_valid(doc))
		return errmsg(-EINVAL, err, errlen, "the report is not JSON");
	{
		char mode[16];

		if (json_doc_string(doc, "mode", mode, sizeof(mode)) ||
		    strcmp(mode, nested ? "nested" : "native"))
			return errmsg(-EINVAL, err, errlen,
				      "the report is not of a %s run",
				      nested ? "nested" : "native");
	}
	report_u64(doc, "", "cycles", &col->t.run_cycles);
	report_u64(doc, "", "insns", &col->t.run_insns);
	report_u64(doc, "", "exit_status", &col->t.exit_status);
	ret = nested ? fill_nested(col, unit, doc, err, errlen)
		     : fill_single(col, unit, doc);
	if (ret)
		return ret;
	if (result_key && serial &&
	    !serial_result(serial, result_key, &guest)) {
		col_set(col, TABLE_ROW_GUEST_CYCLES, (double)guest);
		/* A single-level report cannot split its cycles by exit
		 * reason; the guest's own RDTSC figure is its per-exit cost,
		 * as in Turtles' single-level column. */
		if (!nested)
			col_set(col, TABLE_ROW_CYCLES, (double)guest);
	}
	col->ok = true;
	return 0;
}

static void ratio(struct table_column *col, const struct table_column *base,
		  enum table_row row)
{
	if (!base || !col->has[TABLE_ROW_CYCLES] ||
	    !base->has[TABLE_ROW_CYCLES] || base->val[TABLE_ROW_CYCLES] <= 0)
		return;
	col_set(col, row,
		col->val[TABLE_ROW_CYCLES] / base->val[TABLE_ROW_CYCLES]);
}

void table_compute_ratios(struct table *t)
{
	for (size_t i = 0; i < t->nr_cols; i++) {
		struct table_column *c = &t->cols[i];

		ratio(c, c->trap_col >= 0 ? &t->cols[c->trap_col] : NULL,
		      TABLE_ROW_RATIO_TRAP);
		ratio(c, c->single_col >= 0 ? &t->cols[c->single_col] : NULL,
		      TABLE_ROW_RATIO_SINGLE);
	}
}

/* One cell: "-" where the row does not apply or the run failed. */
static void cell_text(const struct table_column *c, enum table_row row,
		      char *buf, size_t len)
{
	double v = c->val[row];

	if (!c->has[row]) {
		snprintf(buf, len, c->ok ? "-" : "failed");
		return;
	}
	switch (row) {
	case TABLE_ROW_L2_EXITS:
		snprintf(buf, len, "%.0f", v);
		return;
	case TABLE_ROW_RATIO_TRAP:
	case TABLE_ROW_RATIO_SINGLE:
		snprintf(buf, len, "%.2f", v);
		return;
	case TABLE_ROW_L1_EXITS:
	case TABLE_ROW_WORLD_SWITCHES:
	case TABLE_ROW_VMREADS_TRAPPED:
	case TABLE_ROW_VMREADS_SHADOWED:
	case TABLE_ROW_VMWRITES_TRAPPED:
	case TABLE_ROW_VMWRITES_SHADOWED:
	case TABLE_ROW_VMCS02_WRITES:
		/* Published counts are whole numbers; keep them so. */
		snprintf(buf, len, c->kind == TABLE_REFERENCE ? "%.0f" : "%.2f",
			 v);
		return;
	case TABLE_ROW_CYCLES:
	case TABLE_ROW_SWITCHES:
	case TABLE_ROW_L0:
	case TABLE_ROW_L1:
	case TABLE_ROW_L2:
	case TABLE_ROW_GUEST_CYCLES:
	case TABLE_NR_ROWS:
		break;
	}
	snprintf(buf, len, c->kind == TABLE_REFERENCE ? "~%.0f" : "%.1f", v);
}

static const char *col_title(const struct table_column *c, char *buf,
			     size_t len)
{
	snprintf(buf, len, "%s%s", c->name,
		 c->kind == TABLE_REFERENCE ? " (published)" : "");
	return buf;
}

static void row_title(const struct table *t, enum table_row row, char *buf,
		      size_t len)
{
	if (row == TABLE_ROW_L2_EXITS)
		snprintf(buf, len, "L2 exits (%s)", t->unit);
	else
		snprintf(buf, len, "%s", table_row_label(row));
}

static void print_header(const struct table *t, FILE *f)
{
	fprintf(f, "workload %s, unit %s", t->workload, t->unit);
	if (t->count)
		fprintf(f, ", count %" PRIu64, t->count);
	fputc('\n', f);
}

static void print_sources(const struct table *t, FILE *f, const char *bullet)
{
	for (size_t i = 0; i < t->nr_cols; i++) {
		const struct table_column *c = &t->cols[i];

		if (c->kind == TABLE_REFERENCE)
			fprintf(f, "%s%s: %s\n", bullet, c->name, c->source);
	}
}

void table_print_text(const struct table *t, FILE *f)
{
	char buf[TABLE_TEXT_MAX];
	int w0 = 34;
	int *w = calloc(t->nr_cols ? t->nr_cols : 1, sizeof(*w));

	if (!w)
		return;
	print_header(t, f);
	fprintf(f, "%-*s", w0, "");
	for (size_t i = 0; i < t->nr_cols; i++) {
		int len = (int)strlen(col_title(&t->cols[i], buf, sizeof(buf)));

		w[i] = len + 2 > 12 ? len + 2 : 12;
		fprintf(f, "%*s", w[i], buf);
	}
	fputc('\n', f);
	for (int r = 0; r < TABLE_NR_ROWS; r++) {
		row_title(t, (enum table_row)r, buf, sizeof(buf));
		fprintf(f, "%-*s", w0, buf);
		for (size_t i = 0; i < t->nr_cols; i++) {
			cell_text(&t->cols[i], (enum table_row)r, buf,
				  sizeof(buf));
			fprintf(f, "%*s", w[i], buf);
		}
		fputc('\n', f);
	}
	print_sources(t, f, "published: ");
	free(w);
}

void table_print_markdown(const struct table *t, FILE *f)
{
	char buf[TABLE_TEXT_MAX];

	fputs("# nestvm compare: ", f);
	print_header(t, f);
	fputs("\n| |", f);
	for (size_t i = 0; i < t->nr_cols; i++)
		fprintf(f, " %s |", col_title(&t->cols[i], buf, sizeof(buf)));
	fputs("\n|---|", f);
	for (size_t i = 0; i < t->nr_cols; i++)
		fputs("---:|", f);
	fputc('\n', f);
	for (int r = 0; r < TABLE_NR_ROWS; r++) {
		row_title(t, (enum table_row)r, buf, sizeof(buf));
		/* Markdown trims leading blanks: indent the split by words. */
		fprintf(f, "| %s%s |", buf[0] == ' ' ? "of which" : "", buf);
		for (size_t i = 0; i < t->nr_cols; i++) {
			cell_text(&t->cols[i], (enum table_row)r, buf,
				  sizeof(buf));
			fprintf(f, " %s |", buf);
		}
		fputc('\n', f);
	}
	fputc('\n', f);
	print_sources(t, f, "- published: ");
	fputc('\n', f);
	for (size_t i = 0; i < t->nr_cols; i++) {
		const struct table_column *c = &t->cols[i];

		if (c->kind != TABLE_REFERENCE)
			fprintf(f, "- `%s`: `%s`\n", c->name, c->command);
	}
}

static const char *kind_name(enum table_kind kind)
{
	switch (kind) {
	case TABLE_SINGLE:
		return "single";
	case TABLE_NESTED:
		return "nested";
	case TABLE_REFERENCE:
		return "reference";
	}
	return "?";
}

static void json_totals(struct json_writer *w, const struct table_totals *t)
{
	json_begin_object(w, "totals");
	json_write_u64(w, "count", t->count);
	json_write_u64(w, "l1_exits", t->l1_exits);
	json_write_u64(w, "world_switches", t->world_switches);
	json_write_u64(w, "vmreads_trapped", t->vmreads_trapped);
	json_write_u64(w, "vmreads_shadowed", t->vmreads_shadowed);
	json_write_u64(w, "vmwrites_trapped", t->vmwrites_trapped);
	json_write_u64(w, "vmwrites_shadowed", t->vmwrites_shadowed);
	json_write_u64(w, "vmcs02_writes", t->vmcs02_writes);
	json_write_u64(w, "cycles", t->cycles);
	json_write_u64(w, "switches", t->switches);
	json_write_u64(w, "l0", t->l0);
	json_write_u64(w, "l1", t->l1);
	json_write_u64(w, "l2_cycles", t->l2_cycles);
	json_write_u64(w, "run_cycles", t->run_cycles);
	json_write_u64(w, "run_insns", t->run_insns);
	json_write_u64(w, "exit_status", t->exit_status);
	json_end_object(w);
}

int table_write_json(const struct table *t, FILE *f)
{
	struct json_writer w;

	json_init(&w, f);
	json_begin_object(&w, NULL);
	json_write_u64(&w, "nestvm_compare", 1);
	json_write_string(&w, "workload", t->workload);
	json_write_string(&w, "unit", t->unit);
	json_write_u64(&w, "count", t->count);
	json_begin_array(&w, "configurations");
	for (size_t i = 0; i < t->nr_cols; i++) {
		const struct table_column *c = &t->cols[i];

		json_begin_object(&w, NULL);
		json_write_string(&w, "name", c->name);
		json_write_string(&w, "kind", kind_name(c->kind));
		if (c->kind == TABLE_REFERENCE) {
			json_write_string(&w, "source", c->source);
		} else {
			if (c->kind == TABLE_NESTED) {
				json_write_string(&w, "strategy", c->strategy);
				json_write_string(&w, "prep", c->prep);
				if (c->coherence[0])
					json_write_string(&w, "ept_coherence",
							  c->coherence);
			}
			json_write_string(&w, "command", c->command);
			json_write_string(&w, "report", c->report);
			json_write_bool(&w, "ok", c->ok);
		}
		json_write_string(&w, "profile", c->profile);
		if (c->kind != TABLE_REFERENCE)
			json_totals(&w, &c->t);
		json_begin_object(&w, "values");
		for (int r = 0; r < TABLE_NR_ROWS; r++)
			if (c->has[r])
				json_write_double(&w, table_row_key(r),
						  c->val[r]);
		json_end_object(&w);
		json_end_object(&w);
	}
	json_end_array(&w);
	json_end_object(&w);
	return json_finish(&w) ? -EIO : 0;
}

/* gnuplot string: single-quoted, with quotes doubled. */
static void gp_string(FILE *f, const char *s)
{
	fputc('\'', f);
	for (; *s; s++) {
		if (*s == '\'')
			fputc('\'', f);
		fputc(*s, f);
	}
	fputc('\'', f);
}

bool table_write_gnuplot(const struct table *t, FILE *f)
{
	static const enum table_row split[] = {
		TABLE_ROW_SWITCHES,
		TABLE_ROW_L0,
		TABLE_ROW_L1,
		TABLE_ROW_L2,
	};
	char buf[TABLE_TEXT_MAX];
	bool any = false;

	fputs("# nestvm compare: modeled cycles per L2 exit, split as in\n"
	      "# Turtles' Figure 10 (gnuplot 5; `gnuplot compare.gp` writes\n"
	      "# compare.svg, or the file named by -e \"outfile='...'\").\n",
	      f);
	fputs("if (!exists(\"outfile\")) outfile = 'compare.svg'\n", f);
	fputs("set terminal svg size 900,520 dynamic font 'sans,11'\n"
	      "set output outfile\n",
	      f);
	fputs("set title ", f);
	snprintf(buf, sizeof(buf), "%s: cycles per %s exit of L2", t->workload,
		 t->unit);
	gp_string(f, buf);
	fputs("\nset ylabel 'modeled cycles per L2 exit'\n"
	      "set style data histograms\n"
	      "set style histogram rowstacked\n"
	      "set style fill solid 0.8 border -1\n"
	      "set boxwidth 0.6\n"
	      "set key outside right top\n"
	      "set xtics rotate by -25\n"
	      "set bmargin 7\n"
	      "set yrange [0:*]\n"
	      "set grid ytics\n"
	      "$data << EOD\n",
	      f);
	for (size_t i = 0; i < t->nr_cols; i++) {
		const struct table_column *c = &t->cols[i];
		bool whole = true;

		for (size_t s = 0; s < sizeof(split) / sizeof(split[0]); s++)
			whole &= c->has[split[s]] || split[s] == TABLE_ROW_L2;
		if (!whole)
			continue;
		any = true;
		/* Quoted labels: column names may hold '/' and blanks. */
		fputc('"', f);
		for (const char *p = col_title(c, buf, sizeof(buf)); *p; p++)
			fputc(*p == '"' ? '\'' : *p, f);
		fputc('"', f);
		for (size_t s = 0; s < sizeof(split) / sizeof(split[0]); s++)
			fprintf(f, " %.1f",
				c->has[split[s]] ? c->val[split[s]] : 0.0);
		fputc('\n', f);
	}
	fputs("EOD\n"
	      "plot $data using 2:xtic(1) title 'mode switches', \\\n"
	      "     '' using 3 title 'L0', \\\n"
	      "     '' using 4 title 'L1', \\\n"
	      "     '' using 5 title 'L2'\n",
	      f);
	return any;
}
