/* SPDX-License-Identifier: MIT */
/*
 * profile.c - cost profiles as text files: one "key value" pair a line, a
 * '#' starts a comment (where each number cites its source), every key
 * exactly once; and the lookup of shipped profiles by name. A bad file
 * gives one error line naming file:line. Monitor side; docs/cost-model.md.
 */
#include "l0/profile.h"
#include "l0/errmsg.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <asm/vmx.h>

/* A profile file is a page of text; anything larger is not one. */
#define PROFILE_FILE_MAX 65536

enum key_kind { KEY_NAME, KEY_COST, KEY_REF, KEY_FREQ, KEY_BT };

struct profile_key {
	const char *name;
	enum key_kind kind;
	size_t offset; /* of its uint64_t in struct l0_profile */
};

static const struct profile_key keys[] = {
	{ "name", KEY_NAME, 0 },
#define COST_KEY(key, cls, what) \
	{ #key, KEY_COST, offsetof(struct l0_profile, cost.key) },
	VTX_COST_KEYS(COST_KEY)
#undef COST_KEY
#define REF_KEY(key, what) { #key, KEY_REF, offsetof(struct l0_profile, key) },
		PROFILE_REFS(REF_KEY)
#undef REF_KEY
#define BT_KEY(key, what) { #key, KEY_BT, offsetof(struct l0_profile, key) },
			PROFILE_BT_KEYS(BT_KEY)
#undef BT_KEY
				{ "freq_mhz", KEY_FREQ,
				  offsetof(struct l0_profile, freq_mhz) },
};

#define NR_KEYS (sizeof(keys) / sizeof(keys[0]))

/* The names of "vm_exit.NAME" keys: the uapi's exit-reason names. */
static const struct {
	uint32_t reason;
	const char *name;
} exit_names[] = { VMX_EXIT_REASONS };

#define NR_EXIT_NAMES (sizeof(exit_names) / sizeof(exit_names[0]))
#define EXIT_KEY_PREFIX "vm_exit."

static bool is_space(char ch)
{
	return ch == ' ' || ch == '\t' || ch == '\r';
}

/* Splits [p, end) into at most 3 words; returns how many there were (3
 * means "3 or more"). */
static int split_words(const char *p, const char *end, const char *w[3],
		       int wl[3])
{
	int n = 0;

	while (p < end && n < 3) {
		while (p < end && is_space(*p))
			p++;
		if (p == end)
			break;
		w[n] = p;
		while (p < end && !is_space(*p))
			p++;
		wl[n] = (int)(p - w[n]);
		n++;
	}
	return n;
}

static const struct profile_key *find_key(const char *w, int len)
{
	for (size_t k = 0; k < NR_KEYS; k++)
		if ((int)strlen(keys[k].name) == len &&
		    !strncmp(keys[k].name, w, (size_t)len))
			return &keys[k];
	return NULL;
}

/* A whole number of cycles in [0, VTX_COST_MAX]. */
static bool parse_cycles(const char *w, int len, uint64_t *out)
{
	uint64_t v = 0;

	if (len < 1 || len > 9)
		return false;
	for (int i = 0; i < len; i++) {
		if (w[i] < '0' || w[i] > '9')
			return false;
		v = v * 10 + (uint64_t)(w[i] - '0');
	}
	if (v > VTX_COST_MAX)
		return false;
	*out = v;
	return true;
}

static bool parse_name(const char *w, int len, char *out)
{
	if (len >= VTX_COST_NAME_MAX)
		return false;
	for (int i = 0; i < len; i++) {
		char ch = w[i];

		if (!(ch >= 'a' && ch <= 'z') && !(ch >= 'A' && ch <= 'Z') &&
		    !(ch >= '0' && ch <= '9') && ch != '.' && ch != '_' &&
		    ch != '-')
			return false;
	}
	memcpy(out, w, (size_t)len);
	out[len] = '\0';
	return true;
}

/* "vm_exit.NAME cycles": the cost of the exits of one basic reason,
 * charged instead of vm_exit; optional, each reason at most once. */
static int parse_exit_key(const char *file, unsigned int line, const char *w[3],
			  const int wl[3], int n, struct l0_profile *out,
			  unsigned int *seen_exit, char *err, size_t errlen)
{
	const int plen = (int)strlen(EXIT_KEY_PREFIX);
	const char *name = w[0] + plen;
	int nlen = wl[0] - plen;
	uint32_t r = VTX_COST_EXIT_REASONS;
	uint64_t v;

	for (size_t k = 0; k < NR_EXIT_NAMES; k++)
		if ((int)strlen(exit_names[k].name) == nlen &&
		    !strncmp(exit_names[k].name, name, (size_t)nlen))
			r = exit_names[k].reason;
	if (r >= VTX_COST_EXIT_REASONS)
		return errmsg(-EINVAL, err, errlen,
			      "%s:%u: unknown exit reason '%.*s' (the names "
			      "of <asm/vmx.h>, such as vm_exit.CPUID)",
			      file, line, nlen, name);
	if (seen_exit[r])
		return errmsg(
			-EINVAL, err, errlen,
			"%s:%u: duplicate key '%.*s' (first set on line %u)",
			file, line, wl[0], w[0], seen_exit[r]);
	if (n != 2 || !parse_cycles(w[1], wl[1], &v))
		return errmsg(-EINVAL, err, errlen,
			      "%s:%u: '%.*s' needs one value (cycles: a whole "
			      "number from 0 to %llu)",
			      file, line, wl[0], w[0],
			      (unsigned long long)VTX_COST_MAX);
	seen_exit[r] = line;
	vtx_cost_set_vm_exit(&out->cost, r, v);
	return 0;
}

static int parse_line(const char *file, unsigned int line, const char *p,
		      const char *end, struct l0_profile *out,
		      unsigned int *seen, unsigned int *seen_exit, char *err,
		      size_t errlen)
{
	const char *hash = memchr(p, '#', (size_t)(end - p));
	const char *w[3];
	int wl[3], n;
	const struct profile_key *k;
	uint64_t *slot;

	if (hash)
		end = hash;
	n = split_words(p, end, w, wl);
	if (n == 0)
		return 0;
	if (wl[0] > (int)strlen(EXIT_KEY_PREFIX) &&
	    !strncmp(w[0], EXIT_KEY_PREFIX, strlen(EXIT_KEY_PREFIX)))
		return parse_exit_key(file, line, w, wl, n, out, seen_exit, err,
				      errlen);
	k = find_key(w[0], wl[0]);
	if (!k)
		return errmsg(-EINVAL, err, errlen,
			      "%s:%u: unknown key '%.*s' (the keys are listed "
			      "in docs/cost-model.md)",
			      file, line, wl[0], w[0]);
	if (seen[k - keys])
		return errmsg(
			-EINVAL, err, errlen,
			"%s:%u: duplicate key '%s' (first set on line %u)",
			file, line, k->name, seen[k - keys]);
	if (n == 1)
		return errmsg(-EINVAL, err, errlen,
			      "%s:%u: key '%s' has no value", file, line,
			      k->name);
	if (n == 3)
		return errmsg(-EINVAL, err, errlen,
			      "%s:%u: '%s': unexpected '%.*s' after the value "
			      "(a comment starts with '#')",
			      file, line, k->name, wl[2], w[2]);
	seen[k - keys] = line;
	switch (k->kind) {
	case KEY_NAME:
		if (!parse_name(w[1], wl[1], out->cost.name))
			return errmsg(
				-EINVAL, err, errlen,
				"%s:%u: bad profile name '%.*s' (letters, "
				"digits, '.', '_' and '-'; at most %d)",
				file, line, wl[1], w[1], VTX_COST_NAME_MAX - 1);
		return 0;
	case KEY_REF:
	case KEY_BT:
		slot = (uint64_t *)((char *)out + k->offset);
		if (wl[1] == 4 && !strncmp(w[1], "none", 4)) {
			*slot = PROFILE_REF_NONE;
			return 0;
		}
		if (!parse_cycles(w[1], wl[1], slot))
			return errmsg(
				-EINVAL, err, errlen,
				"%s:%u: bad value '%.*s' for '%s' (cycles "
				"from 0 to %llu, or none)",
				file, line, wl[1], w[1], k->name,
				(unsigned long long)VTX_COST_MAX);
		return 0;
	case KEY_FREQ:
		slot = (uint64_t *)((char *)out + k->offset);
		if (!parse_cycles(w[1], wl[1], slot) || !*slot ||
		    *slot > PROFILE_FREQ_MAX_MHZ)
			return errmsg(-EINVAL, err, errlen,
				      "%s:%u: bad value '%.*s' for 'freq_mhz' "
				      "(MHz: a whole number from 1 to %d)",
				      file, line, wl[1], w[1],
				      PROFILE_FREQ_MAX_MHZ);
		return 0;
	case KEY_COST:
		slot = (uint64_t *)((char *)out + k->offset);
		if (!parse_cycles(w[1], wl[1], slot))
			return errmsg(
				-EINVAL, err, errlen,
				"%s:%u: bad value '%.*s' for '%s' (cycles: "
				"a whole number from 0 to %llu)",
				file, line, wl[1], w[1], k->name,
				(unsigned long long)VTX_COST_MAX);
		return 0;
	}
	return 0;
}

int profile_parse(const char *file, const char *text, size_t len,
		  struct l0_profile *out, char *err, size_t errlen)
{
	unsigned int seen[NR_KEYS] = { 0 };
	unsigned int seen_exit[VTX_COST_EXIT_REASONS] = { 0 };
	const char *p = text, *end = text + len, *bad;
	unsigned int line = 0;
	int ret;

	memset(out, 0, sizeof(*out));
	while (p < end) {
		const char *eol = memchr(p, '\n', (size_t)(end - p));

		if (!eol)
			eol = end;
		line++;
		if (memchr(p, '\0', (size_t)(eol - p)))
			return errmsg(-EINVAL, err, errlen,
				      "%s:%u: NUL byte (not a text file)", file,
				      line);
		ret = parse_line(file, line, p, eol, out, seen, seen_exit, err,
				 errlen);
		if (ret)
			return ret;
		p = eol + (eol < end);
	}
	for (size_t k = 0; k < NR_KEYS; k++)
		if (!seen[k] && keys[k].kind != KEY_FREQ &&
		    keys[k].kind != KEY_BT)
			return errmsg(-EINVAL, err, errlen,
				      "%s: missing key '%s' (every key must be "
				      "set; see docs/cost-model.md)",
				      file, keys[k].name);
	/* The BT charges come together: a software VMM with a translation
	 * cost but no callout cost would be charged half a model. */
	for (size_t k = 0, first = NR_KEYS; k < NR_KEYS; k++) {
		if (keys[k].kind != KEY_BT)
			continue;
		if (first == NR_KEYS)
			first = k;
		if (!seen[k] != !seen[first])
			return errmsg(-EINVAL, err, errlen,
				      "%s: missing key '%s' (the bt_* keys "
				      "come all together or not at all)",
				      file, keys[seen[k] ? first : k].name);
		if (!seen[k])
			*(uint64_t *)((char *)out + keys[k].offset) =
				PROFILE_REF_NONE;
	}
	if (vtx_cost_profile_check(&out->cost, &bad)) {
		const struct profile_key *k = find_key(bad, (int)strlen(bad));
		uint64_t v = *(uint64_t *)((char *)out + k->offset);

		return errmsg(-EINVAL, err, errlen,
			      "%s:%u: '%s' is %" PRIu64
			      ", below 'insn' (%" PRIu64
			      "): an instruction costs at least the base CPI",
			      file, seen[k - keys], bad, v, out->cost.insn);
	}
	return 0;
}

/* Reads a whole profile file into a NUL-terminated buffer. */
static int read_text(const char *path, char **text, size_t *len, char *err,
		     size_t errlen)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	size_t n;
	int e;

	if (!f) {
		e = errno;
		return errmsg(-e, err, errlen,
			      "--profile: cannot open '%s': %s", path,
			      strerror(e));
	}
	buf = malloc(PROFILE_FILE_MAX + 1);
	if (!buf) {
		fclose(f);
		return errmsg(-ENOMEM, err, errlen, "--profile: %s",
			      strerror(ENOMEM));
	}
	n = fread(buf, 1, PROFILE_FILE_MAX + 1, f);
	e = ferror(f) ? EIO : 0;
	fclose(f);
	if (e || n > PROFILE_FILE_MAX) {
		free(buf);
		if (e)
			return errmsg(-e, err, errlen,
				      "--profile: cannot read '%s': %s", path,
				      strerror(e));
		return errmsg(-EFBIG, err, errlen,
			      "--profile: '%s' is larger than %d bytes: not a "
			      "profile",
			      path, PROFILE_FILE_MAX);
	}
	*text = buf;
	*len = n;
	return 0;
}

static int load_file(const char *path, struct l0_profile *out, char *err,
		     size_t errlen)
{
	char *text = NULL;
	size_t len = 0;
	int ret = read_text(path, &text, &len, err, errlen);

	if (ret)
		return ret;
	ret = profile_parse(path, text, len, out, err, errlen);
	free(text);
	return ret;
}

static bool names_a_file(const char *arg)
{
	size_t n = strlen(arg);

	return strchr(arg, '/') || (n >= 8 && !strcmp(arg + n - 8, ".profile"));
}

int profile_load(const char *arg, const char *exe_dir, struct l0_profile *out,
		 char *err, size_t errlen)
{
	const char *env = getenv("NESTVM_PROFILE_DIR");
	char path[4096];

	if (!*arg)
		return errmsg(-EINVAL, err, errlen,
			      "--profile: empty name (a shipped profile such "
			      "as %s, or a file)",
			      PROFILE_DEFAULT);
	if (names_a_file(arg))
		return load_file(arg, out, err, errlen);
	if (!parse_name(arg, (int)strlen(arg), path))
		return errmsg(-EINVAL, err, errlen,
			      "--profile: bad profile name '%s'", arg);
	if (env && *env) {
		snprintf(path, sizeof(path), "%s/%s.profile", env, arg);
		if (access(path, R_OK) == 0)
			return load_file(path, out, err, errlen);
		return errmsg(-ENOENT, err, errlen,
			      "--profile: no profile '%s' in %s "
			      "(NESTVM_PROFILE_DIR)",
			      arg, env);
	}
	for (int up = 1; exe_dir && up <= 2; up++) {
		snprintf(path, sizeof(path), "%s/%s/profiles/%s.profile",
			 exe_dir, up == 1 ? ".." : "../..", arg);
		if (access(path, R_OK) == 0)
			return load_file(path, out, err, errlen);
	}
	return errmsg(-ENOENT, err, errlen,
		      "--profile: no shipped profile named '%s' (p4-prescott, "
		      "nehalem, haswell, skylake-sp, cascade-lake; or give a "
		      "file)",
		      arg);
}
