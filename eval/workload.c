/* SPDX-License-Identifier: MIT */
/*
 * workload.c - readers for eval/workloads.txt and eval/reference.txt
 * (eval/workload.h): line-based text, '#' comments, fields separated by
 * blanks, every field checked, errors as "file:line: what". Host side.
 */
#include "eval/workload.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "l0/errmsg.h"

#define LINE_MAX_LEN 4096
#define FIELDS_MAX 32

/* A line split into fields; rest[i] is the text from field i onwards. */
struct line_fields {
	size_t n;
	char *field[FIELDS_MAX];
	const char *rest[FIELDS_MAX];
};

/* Splits buf (modified) at blanks; a '#' starts a comment. */
static void split_line(char *buf, const char *orig, struct line_fields *lf)
{
	char *p = buf;

	lf->n = 0;
	for (;;) {
		while (*p == ' ' || *p == '\t')
			p++;
		if (!*p || *p == '#' || lf->n == FIELDS_MAX)
			return;
		lf->rest[lf->n] = orig + (p - buf);
		lf->field[lf->n++] = p;
		while (*p && *p != ' ' && *p != '\t')
			p++;
		if (*p)
			*p++ = '\0';
	}
}

/* Reads the next line into buf without its newline: 1, 0 at the end, or
 * -EINVAL for an overlong line. */
static int read_line(FILE *f, char *buf, size_t len)
{
	size_t n;

	if (!fgets(buf, (int)len, f))
		return 0;
	n = strlen(buf);
	if (n && buf[n - 1] == '\n')
		buf[--n] = '\0';
	else if (!feof(f))
		return -EINVAL;
	if (n && buf[n - 1] == '\r')
		buf[--n] = '\0';
	return 1;
}

static int bad_line(const char *path, unsigned int line, char *err,
		    size_t errlen)
{
	return errmsg(-EINVAL, err, errlen, "%s:%u: line longer than %d bytes",
		      path, line, LINE_MAX_LEN - 2);
}

static bool copy_field(char *dst, size_t len, const char *src)
{
	if (strlen(src) >= len)
		return false;
	strcpy(dst, src);
	return true;
}

/* A name: letters, digits, '-', '_' and '.'. */
static bool good_name(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && !strchr("-_.", *s))
			return false;
	return true;
}

static bool parse_count(const char *s, uint64_t *out)
{
	uint64_t n = 0;

	if (!*s)
		return false;
	for (; *s; s++) {
		if (!isdigit((unsigned char)*s) ||
		    n > (UINT64_MAX - (uint64_t)(*s - '0')) / 10)
			return false;
		n = n * 10 + (uint64_t)(*s - '0');
	}
	*out = n;
	return true;
}

/* The rest of the line from field i, trailing blanks and comment cut. */
static void rest_of_line(const struct line_fields *lf, size_t i, char *dst,
			 size_t len)
{
	const char *s = i < lf->n ? lf->rest[i] : "";
	size_t n = strcspn(s, "#");

	while (n && (s[n - 1] == ' ' || s[n - 1] == '\t'))
		n--;
	if (n >= len)
		n = len - 1;
	memcpy(dst, s, n);
	dst[n] = '\0';
}

static int parse_workload(const struct line_fields *lf, struct workload *w,
			  const char *path, unsigned int line, char *err,
			  size_t errlen)
{
	const char *what = NULL;
	char orig_rest[LINE_MAX_LEN];

	memset(w, 0, sizeof(*w));
	if (lf->n < 5)
		what = "fewer than 5 fields (name image unit result count "
		       "[args])";
	else if (!good_name(lf->field[0]) ||
		 !copy_field(w->name, sizeof(w->name), lf->field[0]))
		what = "bad name";
	else if (!copy_field(w->image, sizeof(w->image), lf->field[1]))
		what = "image path too long";
	else if (!good_name(lf->field[2]) ||
		 !copy_field(w->unit, sizeof(w->unit), lf->field[2]))
		what = "bad unit (an exit reason name such as CPUID)";
	else if (strcmp(lf->field[3], "-") &&
		 (!good_name(lf->field[3]) ||
		  !copy_field(w->result, sizeof(w->result), lf->field[3])))
		what = "bad result key (a RESULT name, or -)";
	else if (strcmp(lf->field[4], "-") &&
		 (!parse_count(lf->field[4], &w->count) || !w->count))
		what = "bad count (a positive number, or -)";
	if (what)
		return errmsg(-EINVAL, err, errlen, "%s:%u: %s", path, line,
			      what);
	rest_of_line(lf, 5, orig_rest, sizeof(orig_rest));
	if (!copy_field(w->args, sizeof(w->args), orig_rest))
		return errmsg(-EINVAL, err, errlen, "%s:%u: args too long",
			      path, line);
	if (!w->count != !strstr(w->args, "{n}"))
		return errmsg(-EINVAL, err, errlen,
			      "%s:%u: a count needs {n} in args, and {n} a "
			      "count",
			      path, line);
	return 0;
}

int workload_find(const char *path, const char *name, struct workload *out,
		  char *err, size_t errlen)
{
	char buf[LINE_MAX_LEN], copy[LINE_MAX_LEN], names[512] = "";
	struct line_fields lf;
	unsigned int line = 0;
	int ret, found = 0;
	FILE *f = fopen(path, "r");

	if (!f)
		return errmsg(-errno, err, errlen, "cannot read '%s': %s", path,
			      strerror(errno));
	while ((ret = read_line(f, buf, sizeof(buf))) != 0) {
		struct workload w;

		line++;
		if (ret < 0) {
			ret = bad_line(path, line, err, errlen);
			break;
		}
		strcpy(copy, buf);
		split_line(buf, copy, &lf);
		if (!lf.n)
			continue;
		ret = parse_workload(&lf, &w, path, line, err, errlen);
		if (ret)
			break;
		if (!strcmp(w.name, name) && !found) {
			*out = w;
			found = 1;
		}
		if (strlen(names) + strlen(w.name) + 3 < sizeof(names))
			snprintf(names + strlen(names),
				 sizeof(names) - strlen(names), "%s%s",
				 names[0] ? ", " : "", w.name);
	}
	fclose(f);
	if (ret)
		return ret;
	if (!found)
		return errmsg(-ENOENT, err, errlen,
			      "--workload: unknown workload '%s' (%s has: %s)",
			      name, path, names);
	return 0;
}

int workload_expand_args(const struct workload *w, uint64_t count, char *buf,
			 size_t len)
{
	const char *s = w->args;
	size_t n = 0;

	if (!count)
		count = w->count;
	while (*s) {
		char num[24];
		const char *piece = s;
		size_t plen = 1;

		if (!strncmp(s, "{n}", 3)) {
			snprintf(num, sizeof(num), "%" PRIu64, count);
			piece = num;
			plen = strlen(num);
			s += 3;
		} else {
			s++;
		}
		if (n + plen >= len)
			return -E2BIG;
		memcpy(buf + n, piece, plen);
		n += plen;
	}
	buf[n] = '\0';
	return 0;
}

/* The key=value fields of a reference line into col. */
static int parse_values(const struct line_fields *lf, size_t from,
			struct table_column *col, const char *path,
			unsigned int line, char *err, size_t errlen)
{
	for (size_t i = from; i < lf->n; i++) {
		char key[64];
		const char *eq = strchr(lf->field[i], '=');
		enum table_row row;
		uint64_t v;
		size_t klen = eq ? (size_t)(eq - lf->field[i]) : 0;

		if (!eq || klen >= sizeof(key))
			return errmsg(-EINVAL, err, errlen,
				      "%s:%u: '%s' is not key=value", path,
				      line, lf->field[i]);
		memcpy(key, lf->field[i], klen);
		key[klen] = '\0';
		if (table_row_find(key, &row) || row == TABLE_ROW_L2_EXITS ||
		    row == TABLE_ROW_RATIO_TRAP ||
		    row == TABLE_ROW_RATIO_SINGLE)
			return errmsg(-EINVAL, err, errlen,
				      "%s:%u: unknown key '%s'", path, line,
				      key);
		if (col->has[row])
			return errmsg(-EINVAL, err, errlen,
				      "%s:%u: '%s' given twice", path, line,
				      key);
		if (!parse_count(eq + 1, &v))
			return errmsg(-EINVAL, err, errlen,
				      "%s:%u: '%s' is not a whole number", path,
				      line, eq + 1);
		col->has[row] = true;
		col->val[row] = (double)v;
	}
	return 0;
}

static int parse_reference(char *buf, const char *orig,
			   struct table_column *col, const char *path,
			   unsigned int line, char *err, size_t errlen)
{
	char *bar = strchr(buf, '|');
	struct line_fields lf;

	if (!bar)
		return errmsg(-EINVAL, err, errlen,
			      "%s:%u: no '| source' at the end", path, line);
	*bar = '\0';
	split_line(buf, orig, &lf);
	if (lf.n < 4)
		return errmsg(-EINVAL, err, errlen,
			      "%s:%u: fewer than 4 fields (workload profile "
			      "label role)",
			      path, line);
	memset(col, 0, sizeof(*col));
	col->kind = TABLE_REFERENCE;
	col->trap_col = col->single_col = -1;
	col->ok = true;
	if (!good_name(lf.field[2]) ||
	    !copy_field(col->name, sizeof(col->name), lf.field[2]) ||
	    !copy_field(col->profile, sizeof(col->profile), lf.field[1]))
		return errmsg(-EINVAL, err, errlen, "%s:%u: bad label", path,
			      line);
	if (!strcmp(lf.field[3], "trap"))
		col->role = TABLE_ROLE_TRAP;
	else if (!strcmp(lf.field[3], "single"))
		col->role = TABLE_ROLE_SINGLE;
	else if (!strcmp(lf.field[3], "other"))
		col->role = TABLE_ROLE_OTHER;
	else
		return errmsg(-EINVAL, err, errlen,
			      "%s:%u: bad role '%s' (trap, single or other)",
			      path, line, lf.field[3]);
	{
		const char *src = orig + (bar - buf) + 1;

		while (*src == ' ' || *src == '\t')
			src++;
		const char *why = strchr(src, '|');
		size_t n = why ? (size_t)(why - src) : strlen(src);

		/* "| source | why ours differs": the second part is
		 * optional; nestvm eval prints it next to the ratio. */
		while (n && (src[n - 1] == ' ' || src[n - 1] == '\t'))
			n--;
		if (!n || n >= sizeof(col->source))
			return errmsg(-EINVAL, err, errlen,
				      "%s:%u: empty or overlong source", path,
				      line);
		memcpy(col->source, src, n);
		col->source[n] = '\0';
		if (why) {
			why++;
			while (*why == ' ' || *why == '\t')
				why++;
			if (!*why || strchr(why, '|') ||
			    !copy_field(col->why, sizeof(col->why), why))
				return errmsg(-EINVAL, err, errlen,
					      "%s:%u: empty, overlong or "
					      "divided reason after the "
					      "second '|'",
					      path, line);
		}
	}
	return parse_values(&lf, 4, col, path, line, err, errlen);
}

int reference_load(const char *path, const char *workload, const char *profile,
		   struct table_column **cols, size_t *nr, char *err,
		   size_t errlen)
{
	char buf[LINE_MAX_LEN], copy[LINE_MAX_LEN];
	unsigned int line = 0;
	int ret;
	FILE *f = fopen(path, "r");

	if (!f)
		return errmsg(-errno, err, errlen, "cannot read '%s': %s", path,
			      strerror(errno));
	while ((ret = read_line(f, buf, sizeof(buf))) != 0) {
		struct line_fields lf;
		struct table_column col, *grown;
		char probe[LINE_MAX_LEN];

		line++;
		if (ret < 0) {
			ret = bad_line(path, line, err, errlen);
			break;
		}
		strcpy(copy, buf);
		strcpy(probe, buf);
		split_line(probe, copy, &lf);
		if (!lf.n)
			continue;
		ret = parse_reference(buf, copy, &col, path, line, err, errlen);
		if (ret)
			break;
		if (strcmp(lf.field[0], workload) ||
		    strcmp(col.profile, profile))
			continue;
		grown = realloc(*cols, (*nr + 1) * sizeof(**cols));
		if (!grown) {
			ret = -ENOMEM;
			break;
		}
		*cols = grown;
		(*cols)[(*nr)++] = col;
	}
	fclose(f);
	if (ret == -ENOMEM)
		return errmsg(ret, err, errlen, "%s", strerror(ENOMEM));
	return ret < 0 ? ret : 0;
}
