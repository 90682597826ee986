/* SPDX-License-Identifier: MIT */
/*
 * diff_run.c - the differential tester's driver: generates each case, runs
 * it in the model and on the host CPU, compares the two outcomes with the
 * SDM-undefined flags and destinations masked (SDM Vol. 2 instruction
 * pages), and prints one block per mismatch with the bytes, the Zydis
 * disassembly, the initial state and both final states. Host side, tests
 * only.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <Zydis/Zydis.h>

#include "arch/x86_regs.h"
#include "tests/cpu/cpu_diff.h"
#include "tests/cpu/diff.h"

static const char *const gpr_names[16] = {
	"rax", "rcx", "rdx", "rbx", "rsp", "rbp", "rsi", "rdi",
	"r8",  "r9",  "r10", "r11", "r12", "r13", "r14", "r15",
};

static const char *const vector_names[32] = {
	"#DE", "#DB", "NMI", "#BP", "#OF", "#BR", "#UD", "#NM",
	"#DF", "#9",  "#TS", "#NP", "#SS", "#GP", "#PF", "#15",
	"#MF", "#AC", "#MC", "#XM", "#VE", "#CP", "#22", "#23",
	"#24", "#25", "#26", "#27", "#HV", "#VC", "#SX", "#31",
};

/* Every RFLAGS bit but IF (1 on the host at CPL 3, 0 in the model; CPL 3
 * cannot change it) and RF (the CPU may set it in the image of a fault). */
#define FLAGS_COMPARED \
	(X86_EFLAGS_LIVE_MASK & ~(uint64_t)(X86_EFLAGS_IF | X86_EFLAGS_RF))

unsigned int diff_compare(const struct diff_case *c,
			  const struct diff_result *a,
			  const struct diff_result *b, struct diff_delta *d)
{
	memset(d, 0, sizeof(*d));
	d->flags_compared = FLAGS_COMPARED & ~c->flags_undef;
	if (a->vector != b->vector) {
		d->what |= DIFF_VECTOR;
		return d->what;
	}
	if (a->rip != b->rip)
		d->what |= DIFF_RIP;
	for (int r = 0; r < 16; r++) {
		uint64_t m = r == c->undef_reg ? ~c->undef_reg_mask : ~0ull;

		if ((a->st.gpr[r] ^ b->st.gpr[r]) & m)
			d->gprs |= 1u << r;
	}
	if (d->gprs)
		d->what |= DIFF_GPR;
	if ((a->st.rflags ^ b->st.rflags) & d->flags_compared)
		d->what |= DIFF_FLAGS;
	for (unsigned int k = 0; k < DIFF_SANDBOX_SIZE; k++) {
		if (a->mem[k] == b->mem[k] ||
		    (k >= c->undef_mem_off &&
		     k < c->undef_mem_off + c->undef_mem_len))
			continue;
		if (!(d->what & DIFF_MEM))
			d->mem_first = k;
		d->mem_last = k;
		d->what |= DIFF_MEM;
	}
	/* The host reports #PF's error code and CR2 and the #GP/#SS error
	 * code as the CPU pushed them (the kernel passes them through in
	 * the signal context). */
	if (a->vector == PF_VECTOR &&
	    (a->cr2 != b->cr2 || a->error_code != b->error_code))
		d->what |= DIFF_FAULT_INFO;
	if ((a->vector == GP_VECTOR || a->vector == SS_VECTOR) &&
	    a->error_code != b->error_code)
		d->what |= DIFF_FAULT_INFO;
	return d->what;
}

/* ---- reports ------------------------------------------------------------- */

static void print_flags(FILE *f, uint64_t fl, uint64_t mask)
{
	static const struct {
		uint64_t bit;
		const char *name;
	} names[] = {
		{ X86_EFLAGS_CF, "CF" }, { X86_EFLAGS_PF, "PF" },
		{ X86_EFLAGS_AF, "AF" }, { X86_EFLAGS_ZF, "ZF" },
		{ X86_EFLAGS_SF, "SF" }, { X86_EFLAGS_DF, "DF" },
		{ X86_EFLAGS_OF, "OF" },
	};
	bool any = false;

	fputc('[', f);
	for (size_t k = 0; k < sizeof(names) / sizeof(names[0]); k++) {
		if (!(mask & names[k].bit) || !(fl & names[k].bit))
			continue;
		fprintf(f, "%s%s", any ? " " : "", names[k].name);
		any = true;
	}
	fputc(']', f);
}

static void print_undef(FILE *f, uint64_t fl)
{
	print_flags(f, fl, X86_EFLAGS_ARITH_MASK);
}

static void disasm(const struct diff_case *c, uint64_t at, char *buf,
		   size_t size)
{
	ZydisDecoder dec;
	ZydisFormatter fmt;
	ZydisDecodedInstruction zi;
	ZydisDecodedOperand ops[ZYDIS_MAX_OPERAND_COUNT];

	snprintf(buf, size, "(undecodable)");
	if (ZYAN_FAILED(ZydisDecoderInit(&dec, ZYDIS_MACHINE_MODE_LONG_64,
					 ZYDIS_STACK_WIDTH_64)) ||
	    ZYAN_FAILED(ZydisFormatterInit(&fmt, ZYDIS_FORMATTER_STYLE_INTEL)))
		return;
	if (ZYAN_FAILED(
		    ZydisDecoderDecodeFull(&dec, c->bytes, c->len, &zi, ops)) ||
	    zi.length != c->len)
		return;
	ZydisFormatterFormatInstruction(&fmt, &zi, ops,
					zi.operand_count_visible, buf, size, at,
					ZYAN_NULL);
}

static void print_outcome(FILE *f, const char *who, const struct diff_result *r)
{
	fprintf(f, "  %-7s", who);
	if (r->vector == -1)
		fprintf(f, "retired, rip 0x%" PRIx64, r->rip);
	else if (r->vector == -2)
		fprintf(f, "stopped: %s", r->why);
	else
		fprintf(f, "%s at rip 0x%" PRIx64, vector_names[r->vector & 31],
			r->rip);
	if (r->vector == PF_VECTOR)
		fprintf(f, ", cr2 0x%" PRIx64, r->cr2);
	if (r->vector == PF_VECTOR || r->vector == GP_VECTOR ||
	    r->vector == SS_VECTOR)
		fprintf(f, ", error code 0x%" PRIx64, r->error_code);
	fputc('\n', f);
}

/* Registers four to a line; `mark` flags the ones that differ. */
static void print_regs(FILE *f, const struct diff_state *s, uint32_t mark,
		       uint64_t flag_mask)
{
	for (int r = 0; r < 16; r++) {
		fprintf(f, "%s%c%-3s %016" PRIx64, r % 4 ? " " : "         ",
			mark & (1u << r) ? '*' : ' ', gpr_names[r], s->gpr[r]);
		if (r % 4 == 3)
			fputc('\n', f);
	}
	fprintf(f, "          rflags %016" PRIx64 " ", s->rflags);
	print_flags(f, s->rflags, flag_mask);
	fputc('\n', f);
}

static void print_mem(FILE *f, const char *who, const uint8_t *mem,
		      unsigned int from, unsigned int to)
{
	fprintf(f, "          %-7s", who);
	for (unsigned int k = from; k < to; k++)
		fprintf(f, " %02x", mem[k]);
	fputc('\n', f);
}

static void report(FILE *f, const struct cpu_diff_opts *o,
		   const struct diff_case *c, uint64_t at,
		   const struct diff_result *nat, const struct diff_result *mod,
		   const struct diff_delta *d)
{
	char text[128];

	disasm(c, at, text, sizeof(text));
	fprintf(f,
		"== mismatch: seed %" PRIu64 " case %" PRIu64
		" (cpu-diff --seed %" PRIu64 " --case %" PRIu64 ")\n",
		o->seed, c->index, o->seed, c->index);
	fprintf(f, "  bytes  ");
	for (unsigned int k = 0; k < c->len; k++)
		fprintf(f, " %02x", c->bytes[k]);
	fprintf(f, "\n  insn    %s  (form %s)\n", text,
		diff_form_name(c->form));
	fprintf(f, "  masked  flags ");
	print_undef(f, c->flags_undef);
	if (c->undef_reg >= 0)
		fprintf(f, ", %s bits 0x%" PRIx64, gpr_names[c->undef_reg],
			c->undef_reg_mask);
	if (c->undef_mem_len)
		fprintf(f, ", sandbox +0x%x..+0x%x", c->undef_mem_off,
			c->undef_mem_off + c->undef_mem_len - 1);
	if (c->note)
		fprintf(f, " (%s)", c->note);
	fprintf(f, "\n  start   rip 0x%" PRIx64 "\n", at);
	print_regs(f, &c->in, 0, FLAGS_COMPARED);
	print_outcome(f, "host", nat);
	print_regs(f, &nat->st, d->gprs, FLAGS_COMPARED);
	print_outcome(f, "model", mod);
	print_regs(f, &mod->st, d->gprs, FLAGS_COMPARED);
	fprintf(f, "  differ ");
	if (d->what & DIFF_VECTOR)
		fprintf(f, " outcome");
	if (d->what & DIFF_RIP)
		fprintf(f, " rip");
	for (int r = 0; r < 16; r++)
		if (d->gprs & (1u << r))
			fprintf(f, " %s", gpr_names[r]);
	if (d->what & DIFF_FLAGS) {
		fprintf(f, " flags ");
		print_flags(f, nat->st.rflags ^ mod->st.rflags,
			    d->flags_compared);
	}
	if (d->what & DIFF_FAULT_INFO)
		fprintf(f, " fault-info");
	if (d->what & DIFF_MEM)
		fprintf(f, " sandbox +0x%x..+0x%x", d->mem_first, d->mem_last);
	fputc('\n', f);
	if (d->what & DIFF_MEM) {
		unsigned int from = d->mem_first & ~15u;
		unsigned int to = d->mem_last + 1 < from + 32 ? d->mem_last + 1
							      : from + 32;

		fprintf(f, "  sandbox +0x%x:\n", from);
		print_mem(f, "start", c->mem, from, to);
		print_mem(f, "host", nat->mem, from, to);
		print_mem(f, "model", mod->mem, from, to);
	}
	fflush(f);
}

static void report_wild(FILE *f, const struct cpu_diff_opts *o,
			const struct diff_case *c, uint64_t at,
			const struct diff_result *mod)
{
	char text[128];

	disasm(c, at, text, sizeof(text));
	fprintf(f,
		"== invalid case: seed %" PRIu64 " case %" PRIu64
		": %s (form %s) reaches 0x%" PRIx64
		" outside the sandbox in the model; not run on the host\n",
		o->seed, c->index, text, diff_form_name(c->form), mod->cr2);
	fflush(f);
}

static void print_verbose(FILE *f, const struct diff_case *c, uint64_t at,
			  const struct diff_result *nat, bool bad)
{
	char text[128];

	disasm(c, at, text, sizeof(text));
	fprintf(f, "case %" PRIu64 ":", c->index);
	for (unsigned int k = 0; k < c->len; k++)
		fprintf(f, " %02x", c->bytes[k]);
	fprintf(f, "  %s  -> %s%s\n", text,
		nat->vector < 0 ? "retired" : vector_names[nat->vector & 31],
		bad ? "  MISMATCH" : "");
}

const char *cpu_diff_form_name(size_t i)
{
	return diff_form_name_at(i);
}

int cpu_diff_run(const struct cpu_diff_opts *o, struct cpu_diff_totals *t)
{
	struct diff_native *native = NULL;
	struct diff_model *model = NULL;
	struct diff_case *c = NULL;
	struct diff_result *nat = NULL, *mod = NULL;
	struct diff_where w;
	FILE *f = o->out ? o->out : stdout;
	int err;

	memset(t, 0, sizeof(*t));
	if (o->only && !diff_form_exists(o->only))
		return -EINVAL;
	c = malloc(sizeof(*c));
	nat = malloc(sizeof(*nat));
	mod = malloc(sizeof(*mod));
	if (!c || !nat || !mod) {
		err = -ENOMEM;
		goto out;
	}
	err = diff_native_create(&native);
	if (err)
		goto out;
	diff_native_where(native, &w);
	err = diff_model_create(&w, &model);
	if (err)
		goto out;

	for (uint64_t i = o->first; i - o->first < o->cases; i++) {
		uint64_t at;
		struct diff_delta d;
		bool bad;

		diff_gen_case(c, &w, o->seed, i, o->only);
		at = w.base + DIFF_CODE_OFF + DIFF_INSN_END - c->len;
		t->cases++;
		/* The model first: it sees every access, so a case that would
		 * reach outside the sandbox never runs on the host. */
		diff_model_run(model, c, mod);
		if (mod->wild) {
			t->mismatches++;
			report_wild(f, o, c, at, mod);
			continue;
		}
		diff_native_run(native, c, nat);
		bad = diff_compare(c, nat, mod, &d) != 0;
		if (bad) {
			t->mismatches++;
			report(f, o, c, at, nat, mod, &d);
		} else if (nat->vector >= 0) {
			t->faults++;
			t->fault_vectors[nat->vector & 31]++;
		}
		if (o->verbose)
			print_verbose(f, c, at, nat, bad);
	}
	err = 0;
out:
	diff_model_destroy(model);
	diff_native_destroy(native);
	free(c);
	free(nat);
	free(mod);
	return err;
}
