/* SPDX-License-Identifier: MIT */
/*
 * experiment.c - reader of eval/experiments.txt and the expansion of an
 * experiment into its runs (eval/experiment.h): line-based text, '#'
 * comments, every field checked, errors as "file:line: what". Host side.
 */
#include "eval/experiment.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "l0/errmsg.h"

#define LINE_LEN 4096
#define FIELDS_MAX 32

static const char *const level_names[] = {
#define X(id, name) [EVAL_LEVEL_##id] = name,
	EVAL_LEVELS(X)
#undef X
};

const char *eval_level_name(enum eval_level level)
{
	return level < EVAL_NR_LEVELS ? level_names[level] : "?";
}

static bool good_name(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		      (*s >= '0' && *s <= '9') || *s == '-' || *s == '_' ||
		      *s == '.'))
			return false;
	return true;
}

static bool copy(char *dst, size_t len, const char *src)
{
	if (strlen(src) >= len)
		return false;
	strcpy(dst, src);
	return true;
}

/* Splits buf at blanks; rest[i] is the original text from field i. */
static size_t split(char *buf, char **field, const char **rest,
		    const char *orig)
{
	size_t n = 0;
	char *p = buf;

	for (;;) {
		while (*p == ' ' || *p == '\t')
			p++;
		if (!*p || *p == '#' || n == FIELDS_MAX)
			return n;
		rest[n] = orig + (p - buf);
		field[n++] = p;
		while (*p && *p != ' ' && *p != '\t')
			p++;
		if (*p)
			*p++ = '\0';
	}
}

static int parse_count(const char *s, uint64_t *out)
{
	char *end;

	if (*s < '1' || *s > '9')
		return -EINVAL;
	errno = 0;
	*out = strtoull(s, &end, 10);
	return *end || errno || *out > UINT32_MAX ? -EINVAL : 0;
}

static int parse_list(const char *val, struct exp_list *l)
{
	char buf[LINE_LEN], *save = NULL;

	if (!copy(buf, sizeof(buf), val))
		return -EINVAL;
	l->n = 0;
	for (char *t = strtok_r(buf, ",", &save); t;
	     t = strtok_r(NULL, ",", &save)) {
		if (l->n == EXP_LIST_MAX || !good_name(t) ||
		    !copy(l->v[l->n], EXP_NAME_MAX, t))
			return -EINVAL;
		for (size_t i = 0; i < l->n; i++)
			if (!strcmp(l->v[i], t))
				return -EINVAL;
		l->n++;
	}
	return l->n ? 0 : -EINVAL;
}

static int parse_counts(const char *val, uint64_t *v, size_t *n)
{
	struct exp_list l;

	if (parse_list(val, &l))
		return -EINVAL;
	for (size_t i = 0; i < l.n; i++)
		if (parse_count(l.v[i], &v[i]))
			return -EINVAL;
	*n = l.n;
	return 0;
}

int eval_find_workload(const struct eval_data *d, const char *name)
{
	for (size_t i = 0; i < d->nr_workloads; i++)
		if (!strcmp(d->workloads[i].name, name))
			return (int)i;
	return -1;
}

/* workload NAME IMAGE UNIT RESULT SHIM QUICK FULL ARGS... */
static int parse_workload(struct eval_data *d, char **f, const char **rest,
			  size_t n, const char *where, char *err, size_t errlen)
{
	struct eval_workload w, *grown;

	memset(&w, 0, sizeof(w));
	if (n < 8)
		return errmsg(-EINVAL, err, errlen,
			      "%s: a workload line has NAME IMAGE UNIT RESULT "
			      "SHIM QUICK FULL ARGS...",
			      where);
	if (!good_name(f[1]) || !copy(w.name, sizeof(w.name), f[1]) ||
	    eval_find_workload(d, f[1]) >= 0)
		return errmsg(-EINVAL, err, errlen,
			      "%s: bad or repeated workload name '%s'", where,
			      f[1]);
	if (!copy(w.image, sizeof(w.image), f[2]) ||
	    (strcmp(f[3], "-") &&
	     (!good_name(f[3]) || !copy(w.unit, sizeof(w.unit), f[3]))) ||
	    (strcmp(f[4], "-") &&
	     (!good_name(f[4]) || !copy(w.result, sizeof(w.result), f[4]))) ||
	    (strcmp(f[5], "-") && !copy(w.shim, sizeof(w.shim), f[5])))
		return errmsg(-EINVAL, err, errlen,
			      "%s: bad image, unit, result or l1-shim option",
			      where);
	if (parse_count(f[6], &w.quick) || parse_count(f[7], &w.full))
		return errmsg(-EINVAL, err, errlen,
			      "%s: bad QUICK or FULL count (1 to 4294967295)",
			      where);
	if (n > 8 && !copy(w.args, sizeof(w.args), rest[8]))
		return errmsg(-EINVAL, err, errlen, "%s: ARGS too long", where);
	/* l1-shim takes its options separated by blanks, a field here has
	 * none: "+" stands for the blank ("exc=ud+stats"). */
	for (char *c = w.shim; *c; c++)
		if (*c == '+')
			*c = ' ';
	grown = realloc(d->workloads, (d->nr_workloads + 1) * sizeof(*grown));
	if (!grown)
		return errmsg(-ENOMEM, err, errlen, "%s", strerror(ENOMEM));
	d->workloads = grown;
	d->workloads[d->nr_workloads++] = w;
	return 0;
}

static int level_find(const char *name)
{
	for (int i = 0; i < EVAL_NR_LEVELS; i++)
		if (!strcmp(level_names[i], name))
			return i;
	return -1;
}

/* experiment NAME SECTION key=value... */
static int parse_experiment(struct eval_data *d, char **f, size_t n,
			    const char *where, char *err, size_t errlen)
{
	struct eval_experiment e, *grown;

	memset(&e, 0, sizeof(e));
	if (n < 3 || !good_name(f[1]) || !copy(e.name, sizeof(e.name), f[1]) ||
	    !good_name(f[2]) || !copy(e.section, sizeof(e.section), f[2]))
		return errmsg(-EINVAL, err, errlen,
			      "%s: an experiment line has NAME SECTION "
			      "key=value...",
			      where);
	for (size_t i = 0; i < d->nr_experiments; i++)
		if (!strcmp(d->experiments[i].name, e.name))
			return errmsg(-EINVAL, err, errlen,
				      "%s: experiment '%s' defined twice",
				      where, e.name);
	for (size_t i = 3; i < n; i++) {
		char *eq = strchr(f[i], '=');
		const char *key = f[i], *val;
		struct exp_list *l = NULL;
		int ret;

		if (!eq)
			return errmsg(-EINVAL, err, errlen,
				      "%s: '%s' is not key=value", where, f[i]);
		*eq = '\0';
		val = eq + 1;
		if (!strcmp(key, "workloads"))
			l = &e.workloads;
		else if (!strcmp(key, "levels"))
			l = &e.levels;
		else if (!strcmp(key, "strategies"))
			l = &e.strategies;
		else if (!strcmp(key, "prep"))
			l = &e.preps;
		else if (!strcmp(key, "mmu"))
			l = &e.mmus;
		else if (!strcmp(key, "bt"))
			l = &e.bts;
		else if (!strcmp(key, "profiles"))
			l = &e.profiles;
		if (l)
			ret = parse_list(val, l);
		else if (!strcmp(key, "quick"))
			ret = parse_counts(val, e.quick, &e.nr_quick);
		else if (!strcmp(key, "full"))
			ret = parse_counts(val, e.full, &e.nr_full);
		else
			return errmsg(
				-EINVAL, err, errlen,
				"%s: unknown key '%s' (workloads, levels, "
				"strategies, prep, mmu, bt, profiles, "
				"quick, full)",
				where, key);
		if (ret)
			return errmsg(-EINVAL, err, errlen,
				      "%s: bad list for %s: '%s'", where, key,
				      val);
	}
	if (!e.workloads.n || !e.levels.n)
		return errmsg(-EINVAL, err, errlen,
			      "%s: an experiment needs workloads= and levels=",
			      where);
	for (size_t i = 0; i < e.workloads.n; i++)
		if (eval_find_workload(d, e.workloads.v[i]) < 0)
			return errmsg(-EINVAL, err, errlen,
				      "%s: no workload '%s' (define it above)",
				      where, e.workloads.v[i]);
	for (size_t i = 0; i < e.levels.n; i++)
		if (level_find(e.levels.v[i]) < 0)
			return errmsg(-EINVAL, err, errlen,
				      "%s: unknown level '%s' (native, sw, hw, "
				      "hw-ept, single, nested)",
				      where, e.levels.v[i]);
	/* The defaults: what `nestvm run` does without the flag. */
	if (!e.strategies.n)
		parse_list("trap", &e.strategies);
	if (!e.preps.n)
		parse_list("full", &e.preps);
	if (!e.mmus.n)
		parse_list("ept", &e.mmus);
	if (!e.bts.n)
		parse_list("off", &e.bts);
	if (!e.profiles.n)
		parse_list("nehalem", &e.profiles);
	grown = realloc(d->experiments,
			(d->nr_experiments + 1) * sizeof(*grown));
	if (!grown)
		return errmsg(-ENOMEM, err, errlen, "%s", strerror(ENOMEM));
	d->experiments = grown;
	d->experiments[d->nr_experiments++] = e;
	return 0;
}

int eval_data_load(const char *path, struct eval_data *d, char *err,
		   size_t errlen)
{
	char buf[LINE_LEN], orig[LINE_LEN], where[EXP_PATH_MAX + 32];
	unsigned int line = 0;
	int ret = 0;
	FILE *fp = fopen(path, "r");

	memset(d, 0, sizeof(*d));
	if (!fp)
		return errmsg(-errno, err, errlen, "cannot read '%s': %s", path,
			      strerror(errno));
	while (!ret && fgets(buf, sizeof(buf), fp)) {
		char *f[FIELDS_MAX];
		const char *rest[FIELDS_MAX];
		size_t n, len = strlen(buf);

		line++;
		snprintf(where, sizeof(where), "%s:%u", path, line);
		if (len && buf[len - 1] == '\n')
			buf[--len] = '\0';
		else if (!feof(fp))
			ret = errmsg(-EINVAL, err, errlen, "%s: line too long",
				     where);
		if (ret)
			break;
		strcpy(orig, buf);
		n = split(buf, f, rest, orig);
		if (!n)
			continue;
		if (!strcmp(f[0], "workload"))
			ret = parse_workload(d, f, rest, n, where, err, errlen);
		else if (!strcmp(f[0], "experiment"))
			ret = parse_experiment(d, f, n, where, err, errlen);
		else
			ret = errmsg(-EINVAL, err, errlen,
				     "%s: a line starts with 'workload' or "
				     "'experiment', not '%s'",
				     where, f[0]);
	}
	fclose(fp);
	if (!ret && !d->nr_experiments)
		ret = errmsg(-EINVAL, err, errlen, "%s: no experiment", path);
	if (ret)
		eval_data_free(d);
	return ret;
}

void eval_data_free(struct eval_data *d)
{
	free(d->workloads);
	free(d->experiments);
	memset(d, 0, sizeof(*d));
}

static int expand_level(const struct eval_experiment *e, struct eval_config *c,
			int (*fn)(void *, const struct eval_config *),
			void *opaque)
{
	int ret = 0;

	if (c->level != EVAL_LEVEL_NESTED) {
		/* One run: the nested knobs do not apply; hw is L0 with
		 * shadow paging, hw-ept L0 with EPT. */
		if (c->level == EVAL_LEVEL_HW)
			strcpy(c->mmu, "shadow");
		else if (c->level == EVAL_LEVEL_HW_EPT)
			strcpy(c->mmu, "ept");
		return fn(opaque, c);
	}
	for (size_t s = 0; !ret && s < e->strategies.n; s++)
		for (size_t p = 0; !ret && p < e->preps.n; p++)
			for (size_t m = 0; !ret && m < e->mmus.n; m++)
				for (size_t b = 0; !ret && b < e->bts.n; b++) {
					strcpy(c->strategy, e->strategies.v[s]);
					strcpy(c->prep, e->preps.v[p]);
					strcpy(c->mmu, e->mmus.v[m]);
					strcpy(c->bt, e->bts.v[b]);
					ret = fn(opaque, c);
				}
	return ret;
}

int eval_expand(const struct eval_data *d, const struct eval_experiment *e,
		bool full, int (*fn)(void *opaque, const struct eval_config *),
		void *opaque)
{
	const uint64_t *counts = full ? e->full : e->quick;
	size_t nr_counts = full ? e->nr_full : e->nr_quick;
	int ret = 0;

	for (size_t p = 0; !ret && p < e->profiles.n; p++)
		for (size_t w = 0; !ret && w < e->workloads.n; w++) {
			int wi = eval_find_workload(d, e->workloads.v[w]);
			const struct eval_workload *wl = &d->workloads[wi];
			size_t nc = nr_counts ? nr_counts : 1;

			for (size_t k = 0; !ret && k < nc; k++)
				for (size_t l = 0; !ret && l < e->levels.n;
				     l++) {
					struct eval_config c;

					memset(&c, 0, sizeof(c));
					c.workload = (size_t)wi;
					c.level = (enum eval_level)level_find(
						e->levels.v[l]);
					strcpy(c.profile, e->profiles.v[p]);
					c.count = nr_counts ? counts[k]
						  : full    ? wl->full
							    : wl->quick;
					ret = expand_level(e, &c, fn, opaque);
				}
		}
	return ret;
}

bool eval_config_equal(const struct eval_config *a, const struct eval_config *b)
{
	return a->workload == b->workload && a->level == b->level &&
	       a->count == b->count && !strcmp(a->strategy, b->strategy) &&
	       !strcmp(a->prep, b->prep) && !strcmp(a->mmu, b->mmu) &&
	       !strcmp(a->bt, b->bt) && !strcmp(a->profile, b->profile);
}

void eval_config_name(const struct eval_data *d, const struct eval_config *c,
		      char *buf, size_t len)
{
	const char *parts[] = { c->strategy, c->prep, c->mmu, c->bt };
	size_t n;

	snprintf(buf, len, "%s_%s", d->workloads[c->workload].name,
		 eval_level_name(c->level));
	for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]); i++) {
		n = strlen(buf);
		if (parts[i][0])
			snprintf(buf + n, len - n, "_%s", parts[i]);
	}
	n = strlen(buf);
	snprintf(buf + n, len - n, "_%s_%" PRIu64, c->profile, c->count);
}
