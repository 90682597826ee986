/* SPDX-License-Identifier: MIT */
/*
 * fuzz_cmdline.c - fuzz target for nestvm's command line (l0/options.c):
 * the input, split at NUL bytes, is argv after "nestvm". Invariants: a
 * rejection is a negative errno with one line of message; an accepted
 * line is rendered back into a canonical argv (every option that differs
 * from its default, valued flags as two words, the image after "--"),
 * which parses to the same options. Host side, tests only;
 * docs/fuzzing.md.
 */
#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include "l0/options.h"
#include "l0/trace.h"
#include "tests/fuzz/fuzz.h"

#define CMDLINE_MAX_ARGS 64

struct render {
	char *argv[2 * CMDLINE_MAX_ARGS + 8];
	int argc;
	char num[3][32];
	char serial[4200];
};

static void add(struct render *r, const char *a)
{
	FUZZ_CHECK(r->argc < (int)(sizeof(r->argv) / sizeof(r->argv[0])));
	r->argv[r->argc++] = (char *)a;
}

static void add2(struct render *r, const char *flag, const char *val)
{
	add(r, flag);
	add(r, val);
}

static void render(const struct nestvm_options *o, struct render *r)
{
	r->argc = 0;
	add(r, "nestvm");
	if (o->action == NESTVM_HELP) {
		add(r, "--help");
		return;
	}
	if (o->action == NESTVM_VERSION_INFO) {
		add(r, "--version");
		return;
	}
	add(r, "run");
	if (o->level == NESTVM_LEVEL_NATIVE)
		add(r, "--native");
	if (o->mem_size != NESTVM_DEFAULT_MEM) {
		snprintf(r->num[0], sizeof(r->num[0]), "%" PRIu64, o->mem_size);
		add2(r, "--mem", r->num[0]);
	}
	if (o->cmdline)
		add2(r, "--append", o->cmdline);
	for (unsigned int i = 0; i < o->nr_modules; i++)
		add2(r, "--module", o->modules[i]);
	if (o->serial == NESTVM_SERIAL_NONE)
		add2(r, "--serial", "none");
	if (o->serial == NESTVM_SERIAL_FILE) {
		FUZZ_CHECK(strlen(o->serial_path) + 6 <= sizeof(r->serial));
		snprintf(r->serial, sizeof(r->serial), "file:%s",
			 o->serial_path);
		add2(r, "--serial", r->serial);
	}
	if (o->qemu_exit_codes)
		add(r, "--qemu-exit-codes");
	if (o->max_insns) {
		snprintf(r->num[1], sizeof(r->num[1]), "%" PRIu64,
			 o->max_insns);
		add2(r, "--max-insns", r->num[1]);
	}
	if (o->stats)
		add(r, "--stats");
	if (o->profile)
		add2(r, "--profile", o->profile);
	if (o->prep_dirty)
		add2(r, "--prep", "dirty");
	if (o->vmcs_access != VMCS_ACCESS_TRAP)
		add2(r, "--vmcs-access", vmcs_access_mode_name(o->vmcs_access));
	if (o->ept_coherence == EPT_COHERENCE_WP)
		add2(r, "--ept-coherence", "wp");
	if (o->json_path)
		add2(r, "--json", o->json_path);
	if (o->nested_state_out)
		add2(r, "--nested-state-out", o->nested_state_out);
	if (o->trace_path)
		add2(r, "--trace", o->trace_path);
	if (o->trace_json_path)
		add2(r, "--trace-json", o->trace_json_path);
	if (o->trace_limit != TRACE_LIMIT_DEFAULT) {
		snprintf(r->num[2], sizeof(r->num[2]), "%" PRIu64,
			 o->trace_limit);
		add2(r, "--trace-limit", r->num[2]);
	}
	if (o->debug_crash)
		add(r, "--debug-crash");
	add2(r, "--", o->image);
}

static bool same_str(const char *a, const char *b)
{
	return a == b || (a && b && !strcmp(a, b));
}

static void check_same(const struct nestvm_options *a,
		       const struct nestvm_options *b)
{
	FUZZ_CHECK(a->action == b->action);
	if (a->action != NESTVM_RUN)
		return;
	FUZZ_CHECK(a->level == b->level);
	FUZZ_CHECK(same_str(a->image, b->image));
	FUZZ_CHECK(a->mem_size == b->mem_size);
	FUZZ_CHECK(same_str(a->cmdline, b->cmdline));
	FUZZ_CHECK(a->nr_modules == b->nr_modules);
	for (unsigned int i = 0; i < a->nr_modules; i++)
		FUZZ_CHECK(same_str(a->modules[i], b->modules[i]));
	FUZZ_CHECK(a->serial == b->serial);
	if (a->serial == NESTVM_SERIAL_FILE)
		FUZZ_CHECK(same_str(a->serial_path, b->serial_path));
	FUZZ_CHECK(a->qemu_exit_codes == b->qemu_exit_codes);
	FUZZ_CHECK(a->max_insns == b->max_insns);
	FUZZ_CHECK(a->stats == b->stats);
	FUZZ_CHECK(same_str(a->profile, b->profile));
	FUZZ_CHECK(a->prep_dirty == b->prep_dirty);
	FUZZ_CHECK(a->vmcs_access == b->vmcs_access);
	FUZZ_CHECK(a->ept_coherence == b->ept_coherence);
	FUZZ_CHECK(same_str(a->json_path, b->json_path));
	FUZZ_CHECK(same_str(a->nested_state_out, b->nested_state_out));
	FUZZ_CHECK(same_str(a->trace_path, b->trace_path));
	FUZZ_CHECK(same_str(a->trace_json_path, b->trace_json_path));
	FUZZ_CHECK(a->trace_limit == b->trace_limit);
	FUZZ_CHECK(a->debug_crash == b->debug_crash);
}

int FUZZ_ENTRY(const uint8_t *data, size_t size)
{
	static char buf[4096 + 1];
	static struct render r;
	char *argv[CMDLINE_MAX_ARGS + 1];
	struct nestvm_options opt, again;
	char err[512];
	int argc = 0, ret;

	if (size > sizeof(buf) - 1)
		size = sizeof(buf) - 1;
	memcpy(buf, data, size);
	buf[size] = '\0';
	argv[argc++] = "nestvm";
	/* Words separated by NUL bytes; the last one ends at the input's
	 * end. An empty input is "nestvm" alone. */
	for (size_t at = 0; size && at <= size && argc < CMDLINE_MAX_ARGS;) {
		argv[argc++] = buf + at;
		at += strlen(buf + at) + 1;
	}
	argv[argc] = NULL;

	err[0] = '\0';
	ret = options_parse(argc, argv, &opt, err, sizeof(err));
	if (ret) {
		FUZZ_CHECK(ret < 0);
		FUZZ_CHECK_ONE_LINE(err);
		return 0;
	}
	render(&opt, &r);
	err[0] = '\0';
	if (options_parse(r.argc, r.argv, &again, err, sizeof(err))) {
		fprintf(stderr, "the rendered line was refused: %s\n", err);
		FUZZ_CHECK(0);
	}
	check_same(&opt, &again);
	return 0;
}
