/* SPDX-License-Identifier: MIT */
/*
 * report.c - the end-of-run report of l0/report.h: the nested table on
 * stderr and the JSON document, with Turtles' breakdown of each reflected
 * exit. Levels are Turtles': a native run's image is L0 (its own VMX guest
 * L1); under nestvm's monitor the image is L1 and its guest L2. Monitor
 * side; the counts come from l0/vm.c and the model's vtx_cpu_stats.
 */
#include "l0/report.h"

#include <errno.h>
#include <inttypes.h>

#include "arch/vmx_exit_info.h"
#include "l0/json.h"
#include "l0/bt/bt.h"
#include "l0/shadow_vm.h"
#include "l0/trace.h"
#include "l0/vm.h"
#include "mmu/shadow.h"
#include "vtx/vtx.h"

/* L0's exit handlers are C code the model does not run, and no published
 * figure isolates their cost (docs/cost-model.md): they are charged 0,
 * and the report says so rather than leave the column out. */
#define REPORT_L0_HANDLER_CYCLES 0ull

static uint64_t sum_counts(const uint64_t *counts, unsigned int n)
{
	uint64_t s = 0;

	for (unsigned int k = 0; k < n; k++)
		s += counts[k];
	return s;
}

static uint64_t reflected_total(const struct l0_stats *s)
{
	uint64_t n = 0;

	for (unsigned int k = 0; k < VMX_NR_EXIT_REASONS; k++)
		n += s->reflected[k].count;
	return n;
}

/* A JSON member name for basic exit reason k: its uapi name ("CPUID"),
 * or REASON_<k> for a number the table does not name, so that names stay
 * unique. */
static const char *reason_key(uint32_t k, char *buf, size_t len)
{
	const char *name = vmx_exit_reason_name(k);

	if (name)
		return name;
	snprintf(buf, len, "REASON_%u", k);
	return buf;
}

/* ---- the table ---------------------------------------------------------- */

static double per_exit(uint64_t total, uint64_t count)
{
	return count ? (double)total / (double)count : 0.0;
}

/* A column that does not apply to a row of the level table. */
#define TABLE_NA UINT64_MAX

static void table_row(FILE *f, const char *label, uint64_t exits,
		      uint64_t insns, uint64_t cycles, uint64_t vmreads,
		      uint64_t vmwrites, const char *note)
{
	const uint64_t v[] = { exits, insns, cycles, vmreads, vmwrites };
	static const int width[] = { 10, 11, 12, 9, 9 };
	unsigned int n = sizeof(v) / sizeof(v[0]);

	/* No trailing blanks on a row without a note. */
	while (!*note && n && v[n - 1] == TABLE_NA)
		n--;
	fprintf(f, "nestvm:   %-16s", label);
	for (unsigned int i = 0; i < n; i++) {
		if (v[i] == TABLE_NA)
			fprintf(f, " %*s", width[i], "");
		else
			fprintf(f, " %*" PRIu64, width[i], v[i]);
	}
	fprintf(f, "%s%s\n", *note ? "  " : "", note);
}

static void table_levels(FILE *f, const struct report_input *in)
{
	const struct vtx_cpu_stats *st = in->st;
	const struct l0_stats *s = &in->vm->stats;
	uint64_t l1_exits = sum_counts(s->l1_exits, VMX_NR_EXIT_REASONS);
	uint64_t l2_exits = sum_counts(s->l2_exits, VMX_NR_EXIT_REASONS);
	uint64_t refl = reflected_total(s);
	const struct l0_bt_l1_stats *bt = &s->bt_l1;
	const struct l0_bt_l2_stats *bt2 = &s->bt_l2;
	char note[256];

	fprintf(f, "nestvm: per level (profile %s)\n", in->profile);
	fputs("nestvm:   level                 exits       insns       cycles"
	      "   vmreads  vmwrites\n",
	      f);
	snprintf(note, sizeof(note),
		 "exits handled; cycles of its VMX operations (C handlers: "
		 "0, not modeled); vmcs02 writes %" PRIu64
		 "; shadow VMCS syncs %" PRIu64 "/%" PRIu64
		 "; eVMCS bytes %" PRIu64 "/%" PRIu64,
		 s->vmcs02_writes, s->sync_vmreads, s->sync_vmwrites,
		 s->evmcs_read_bytes, s->evmcs_write_bytes);
	table_row(f, "L0 (monitor)", l1_exits + l2_exits, 0,
		  st->cycles_host - bt->hidden_host - bt2->hidden_host +
			  REPORT_L0_HANDLER_CYCLES,
		  st->host_vmreads - bt->hidden_vmreads - bt2->hidden_vmreads,
		  st->host_vmwrites - bt->hidden_vmwrites -
			  bt2->hidden_vmwrites,
		  note);
	snprintf(note, sizeof(note),
		 "exits to L0; VMREAD/VMWRITE %s: %" PRIu64 "/%" PRIu64
		 " trapped, %" PRIu64 "/%" PRIu64
		 " shadowed; nested entries %" PRIu64,
		 vmcs_access_mode_name(in->vm->vmcs_access), s->vmreads,
		 s->vmwrites, s->shadow_vmreads, s->shadow_vmwrites,
		 s->nested_entries);
	table_row(f, "L1 (vmcs01)", l1_exits, s->insns_l1, s->cycles_l1,
		  s->vmreads + s->shadow_vmreads,
		  s->vmwrites + s->shadow_vmwrites, note);
	snprintf(note, sizeof(note),
		 "exits to L0: %" PRIu64 " reflected to L1, %" PRIu64
		 " handled by L0; ept02 fills (hidden faults) %" PRIu64
		 ", EPT violations reflected (true faults) %" PRIu64,
		 refl, l2_exits - refl, s->ept02_fills,
		 s->ept_violations_reflected);
	table_row(f, "L2 (vmcs02)", l2_exits, s->insns_l2, s->cycles_l2,
		  TABLE_NA, TABLE_NA, note);
	if (in->vm->vmcs_access == VMCS_ACCESS_BT) {
		uint64_t fb = sum_counts(bt->fallbacks, L0_BT_NR_FALLBACKS);

		snprintf(note, sizeof(note),
			 "L1's handler under BT: %" PRIu64 " runs, %" PRIu64
			 " VMRESUMEs to L2, %" PRIu64
			 " fallbacks to vmcs01; the container's model cycles "
			 "%" PRIu64 " are not charged",
			 bt->runs, bt->entries, fb, bt->cycles_hidden);
		table_row(f, "L1 translated", 0, s->insns_l1_bt,
			  s->cycles_l1_bt, bt->vmreads, bt->vmwrites, note);
	}
	if (bt2->runs) {
		uint64_t fb = sum_counts(bt2->fallbacks, L0_BT_NR_FALLBACKS);

		snprintf(note, sizeof(note),
			 "--bt: %" PRIu64 " runs, %" PRIu64
			 " exits reflected with no world switch (counted in "
			 "L2's exits), %" PRIu64 " fallbacks to vmcs02; the "
			 "container's model cycles %" PRIu64 " are not charged",
			 bt2->runs, bt2->reflected, fb, bt2->cycles_hidden);
		table_row(f, "L2 translated", 0, bt2->insns, bt2->cycles,
			  TABLE_NA, TABLE_NA, note);
	}
	snprintf(note, sizeof(note),
		 "ept02 coherence %s: %" PRIu64 " table pages; ept12 pages "
		 "write-protected %" PRIu64 ", write faults %" PRIu64
		 "; ept02 entries dropped by wp %" PRIu64
		 ", by INVEPT %" PRIu64,
		 ept_coherence_name(in->vm->ept_coherence),
		 s->ept02.table_pages, s->ept02.wp_protects, s->ept02.wp_faults,
		 s->ept02.dropped_wp, s->ept02.dropped_invept);
	fprintf(f, "nestvm:   %s\n", note);
	if (in->vm->shadow) {
		const struct shadow_stats *x = &in->vm->shadow->stats;

		snprintf(note, sizeof(note),
			 "mmu shadow: hidden faults %" PRIu64
			 ", true faults %" PRIu64 ", page-table writes %" PRIu64
			 ", shadow pages %" PRIu64 " allocated / %" PRIu64
			 " zapped, CR3 switches %" PRIu64,
			 x->hidden_faults, x->true_faults, x->pt_writes,
			 x->pages_allocated, x->pages_zapped, x->cr3_switches);
		fprintf(f, "nestvm:   %s\n", note);
	}
	snprintf(note, sizeof(note),
		 "world switches: %" PRIu64 " VM entries, %" PRIu64 " VM exits",
		 s->vm_entries, s->vm_exits);
	table_row(f, "switches", s->vm_entries + s->vm_exits, TABLE_NA,
		  st->cycles_switch - bt->hidden_switch - bt2->hidden_switch,
		  TABLE_NA, TABLE_NA, note);
	table_row(f, "total", TABLE_NA, st->insns,
		  st->cycles - bt->cycles_hidden + s->cycles_l1_bt -
			  bt2->cycles_hidden + bt2->cycles,
		  TABLE_NA, TABLE_NA, "");
}

static void table_reasons(FILE *f, const struct l0_stats *s)
{
	fputs("nestvm: exits by reason            L1 to L0   L2 to L0  "
	      "reflected\n",
	      f);
	for (unsigned int k = 0; k < VMX_NR_EXIT_REASONS; k++) {
		char label[64];

		if (!s->l1_exits[k] && !s->l2_exits[k] &&
		    !s->reflected[k].count)
			continue;
		snprintf(label, sizeof(label), "%s (%u)",
			 l0_exit_reason_name(k), k);
		fprintf(f,
			"nestvm:   %-28s %10" PRIu64 " %10" PRIu64 " %10" PRIu64
			"\n",
			label, s->l1_exits[k], s->l2_exits[k],
			s->reflected[k].count);
	}
}

/* Per reflected exit, averaged over its reason: what it multiplies into
 * (L1 exits, world switches, L1's VMREAD/VMWRITE, trapped or shadowed)
 * and its modeled cycles with Turtles' breakdown, then L2's own time
 * before it. */
static void table_reflected(FILE *f, const struct l0_stats *s, bool bt)
{
	fputs("nestvm: per reflected L2 exit     count  L1 exits  switches  "
	      "vmreads vmwrites     cycles = switches +       L0 +       L1",
	      f);
	fputs(bt ? " +    L1 bt   L2 before\n" : "   L2 before\n", f);
	for (unsigned int k = 0; k < VMX_NR_EXIT_REASONS; k++) {
		const struct l0_reflect_stats *r = &s->reflected[k];
		char label[64];

		if (!r->count)
			continue;
		snprintf(label, sizeof(label), "%s (%u)",
			 l0_exit_reason_name(k), k);
		fprintf(f,
			"nestvm:   %-22s %8" PRIu64
			" %9.2f %9.2f %8.2f %8.2f %10.1f   %10.1f %10.1f "
			"%10.1f",
			label, r->count, per_exit(r->l1_exits, r->count),
			per_exit(r->world_switches, r->count),
			per_exit(r->vmreads + r->shadow_vmreads + r->bt_vmreads,
				 r->count),
			per_exit(r->vmwrites + r->shadow_vmwrites +
					 r->bt_vmwrites,
				 r->count),
			per_exit(r->cycles, r->count),
			per_exit(r->cycles_switch, r->count),
			per_exit(r->cycles_l0 + REPORT_L0_HANDLER_CYCLES,
				 r->count),
			per_exit(r->cycles_l1, r->count));
		if (bt)
			fprintf(f, " %10.1f",
				per_exit(r->cycles_l1_bt, r->count));
		fprintf(f, " %11.1f\n", per_exit(r->l2_cycles, r->count));
	}
}

void report_print_table(FILE *f, const struct report_input *in)
{
	table_levels(f, in);
	table_reasons(f, &in->vm->stats);
	table_reflected(f, &in->vm->stats,
			in->vm->vmcs_access == VMCS_ACCESS_BT);
}

/* ---- JSON --------------------------------------------------------------- */

static void json_reasons(struct json_writer *w, const char *key,
			 const uint64_t *counts, unsigned int n)
{
	char buf[32];

	json_begin_object(w, key);
	for (unsigned int k = 0; k < n; k++)
		if (counts[k])
			json_write_u64(w, reason_key(k, buf, sizeof(buf)),
				       counts[k]);
	json_end_object(w);
}

static void json_switches(struct json_writer *w, uint64_t entries,
			  uint64_t exits, uint64_t cycles)
{
	json_begin_object(w, "switches");
	json_write_u64(w, "world_switches", entries + exits);
	json_write_u64(w, "vm_entries", entries);
	json_write_u64(w, "vm_exits", exits);
	json_write_u64(w, "cycles", cycles);
	json_end_object(w);
}

/* --vmm bt: what the software VMM did (struct bt_stats, l0/bt/bt.h);
 * callouts by kind under the kinds' names. */
static void json_bt(struct json_writer *w, const struct bt_stats *b)
{
	static const char *const kinds[] = {
#define BT_KIND_NAME(name, what) #name,
		BT_CALLOUT_KINDS(BT_KIND_NAME)
#undef BT_KIND_NAME
	};

	json_begin_object(w, "bt");
	json_write_u64(w, "blocks", b->blocks);
	json_write_u64(w, "insns_translated", b->insns);
	json_write_u64(w, "tc_bytes", b->tc_bytes);
	json_write_u64(w, "flushes", b->flushes);
	json_write_u64(w, "chains", b->chains);
	json_write_u64(w, "rip_rel", b->rip_rel);
	json_write_u64(w, "in_tc_sites", b->in_tc);
	json_write_u64(w, "invalidations", b->invalidations);
	json_write_u64(w, "guest_exceptions", b->guest_exceptions);
	json_write_u64(w, "syscalls", b->syscalls);
	json_write_u64(w, "user_rdtsc", b->user_rdtsc);
	json_write_u64(w, "callouts", b->callouts_total);
	json_begin_object(w, "callouts_by_kind");
	for (int k = 0; k < BT_NR_CALLOUT_KINDS; k++)
		json_write_u64(w, kinds[k], b->callouts[k]);
	json_end_object(w);
	json_write_u64(w, "cycles_translate", b->cycles_translate);
	json_write_u64(w, "cycles_callouts", b->cycles_callouts);
	json_write_u64(w, "cycles_traps", b->cycles_traps);
	json_end_object(w);
}

/* --mmu shadow: what the shadow MMU did for L1 (mmu/shadow.h). */
static void json_shadow_mmu(struct json_writer *w, const struct shadow_stats *s)
{
	json_begin_object(w, "shadow_mmu");
	json_write_u64(w, "hidden_faults", s->hidden_faults);
	json_write_u64(w, "true_faults", s->true_faults);
	json_write_u64(w, "pt_writes", s->pt_writes);
	json_write_u64(w, "pt_write_unimpl", s->pt_write_unimpl);
	json_write_u64(w, "pages_allocated", s->pages_allocated);
	json_write_u64(w, "pages_zapped", s->pages_zapped);
	json_write_u64(w, "leaves_zapped", s->leaves_zapped);
	json_write_u64(w, "wp_pages", s->wp_pages);
	json_write_u64(w, "cr3_switches", s->cr3_switches);
	json_write_u64(w, "root_hits", s->root_hits);
	json_write_u64(w, "invlpgs", s->invlpgs);
	json_write_u64(w, "resets", s->resets);
	json_end_object(w);
}

/* --vmcs-access bt: L1's handler under the translator (l0/bt_l1.h). */
static void json_bt_l1(struct json_writer *w, const struct l0_stats *s)
{
	const struct l0_bt_l1_stats *x = &s->bt_l1;

	json_begin_object(w, "bt_l1");
	json_write_u64(w, "runs", x->runs);
	json_write_u64(w, "entries", x->entries);
	json_write_u64(w, "vmreads", x->vmreads);
	json_write_u64(w, "vmwrites", x->vmwrites);
	json_write_u64(w, "cpuids", x->cpuids);
	json_write_u64(w, "coherence_resets", x->coherence_resets);
	json_write_u64(w, "shadow_fills", x->shadow_fills);
	json_begin_object(w, "fallbacks");
	for (int k = 0; k < L0_BT_NR_FALLBACKS; k++)
		json_write_u64(w, l0_bt_fallback_name((enum l0_bt_fallback)k),
			       x->fallbacks[k]);
	json_end_object(w);
	json_write_u64(w, "insns", s->insns_l1_bt);
	json_write_u64(w, "cycles", s->cycles_l1_bt);
	json_write_u64(w, "model_cycles", x->cycles_hidden);
	json_end_object(w);
}

/* --bt adaptive|always: L2's translated regions (l0/bt_l2.h). */
static void json_bt_l2(struct json_writer *w, const struct l0_bt_l2_stats *x)
{
	json_begin_object(w, "bt_l2");
	json_write_u64(w, "runs", x->runs);
	json_write_u64(w, "reflected", x->reflected);
	json_write_u64(w, "to_translation", x->to_translation);
	json_write_u64(w, "to_hardware", x->to_hardware);
	json_write_u64(w, "break_even", x->break_even);
	json_write_u64(w, "hardware", x->hardware);
	json_write_u64(w, "coherence_resets", x->coherence_resets);
	json_begin_object(w, "fallbacks");
	for (int k = 0; k < L0_BT_NR_FALLBACKS; k++)
		json_write_u64(w, l0_bt_fallback_name((enum l0_bt_fallback)k),
			       x->fallbacks[k]);
	json_end_object(w);
	json_write_u64(w, "insns", x->insns);
	json_write_u64(w, "cycles", x->cycles);
	json_write_u64(w, "model_cycles", x->cycles_hidden);
	json_end_object(w);
}

static void json_nested_levels(struct json_writer *w,
			       const struct report_input *in)
{
	const struct vtx_cpu_stats *st = in->st;
	const struct l0_stats *s = &in->vm->stats;
	uint64_t l1_exits = sum_counts(s->l1_exits, VMX_NR_EXIT_REASONS);
	uint64_t l2_exits = sum_counts(s->l2_exits, VMX_NR_EXIT_REASONS);
	uint64_t refl = reflected_total(s);

	json_begin_object(w, "levels");
	json_begin_object(w, "L0");
	json_write_u64(w, "exits_handled", l1_exits + l2_exits);
	json_write_u64(w, "vmreads", st->host_vmreads);
	json_write_u64(w, "vmwrites", st->host_vmwrites);
	json_write_u64(w, "vmx_ops", st->host_vmx_ops);
	json_write_u64(w, "vmcs02_writes", s->vmcs02_writes);
	json_write_u64(w, "shadow_sync_vmreads", s->sync_vmreads);
	json_write_u64(w, "shadow_sync_vmwrites", s->sync_vmwrites);
	json_write_u64(w, "evmcs_entries", s->evmcs_entries);
	json_write_u64(w, "evmcs_read_bytes", s->evmcs_read_bytes);
	json_write_u64(w, "evmcs_write_bytes", s->evmcs_write_bytes);
	json_write_u64(w, "insns", 0);
	json_write_u64(w, "cycles", st->cycles_host + REPORT_L0_HANDLER_CYCLES);
	json_write_u64(w, "cycles_vmx", st->cycles_host);
	json_write_u64(w, "cycles_handlers", REPORT_L0_HANDLER_CYCLES);
	json_end_object(w);

	json_begin_object(w, "L1");
	json_write_u64(w, "exits", l1_exits);
	json_reasons(w, "exits_by_reason", s->l1_exits, VMX_NR_EXIT_REASONS);
	json_write_u64(w, "exits_reflected_to", refl);
	/* Trapped ones exited to L0; shadowed ones the shadow VMCS
	 * answered (--vmcs-access shadow, shadow-all). */
	json_write_u64(w, "vmreads",
		       s->vmreads + s->shadow_vmreads + s->bt_l1.vmreads);
	json_write_u64(w, "vmwrites",
		       s->vmwrites + s->shadow_vmwrites + s->bt_l1.vmwrites);
	json_write_u64(w, "vmreads_trapped", s->vmreads);
	json_write_u64(w, "vmwrites_trapped", s->vmwrites);
	json_write_u64(w, "vmreads_shadowed", s->shadow_vmreads);
	json_write_u64(w, "vmwrites_shadowed", s->shadow_vmwrites);
	json_write_u64(w, "nested_entries", s->nested_entries);
	if (in->vm->shadow)
		json_shadow_mmu(w, &in->vm->shadow->stats);
	if (in->bt)
		json_bt(w, in->bt);
	if (in->vm->vmcs_access == VMCS_ACCESS_BT)
		json_bt_l1(w, s);
	json_write_u64(w, "nested_vmfails", s->nested_vmfails);
	json_write_u64(w, "nested_entry_failures", s->nested_entry_failures);
	json_write_u64(w, "insns", s->insns_l1);
	json_write_u64(w, "cycles", s->cycles_l1);
	json_end_object(w);

	json_begin_object(w, "L2");
	json_write_u64(w, "exits", l2_exits);
	json_reasons(w, "exits_by_reason", s->l2_exits, VMX_NR_EXIT_REASONS);
	json_write_u64(w, "exits_reflected", refl);
	json_write_u64(w, "exits_handled_by_l0", l2_exits - refl);
	json_write_u64(w, "ept02_fills", s->ept02_fills);
	json_write_u64(w, "ept_violations_reflected",
		       s->ept_violations_reflected);
	json_begin_object(w, "ept02");
	json_write_string(w, "coherence",
			  ept_coherence_name(in->vm->ept_coherence));
	json_write_u64(w, "table_pages", s->ept02.table_pages);
	json_write_u64(w, "present", s->ept02.present);
	json_write_u64(w, "ept12_pages_protected", s->ept02.wp_protects);
	json_write_u64(w, "wp_faults", s->ept02.wp_faults);
	json_write_u64(w, "dropped_wp", s->ept02.dropped_wp);
	json_write_u64(w, "dropped_invept", s->ept02.dropped_invept);
	json_write_u64(w, "l1_invepts", s->ept02.invepts);
	json_end_object(w);
	if (s->bt_l2.runs)
		json_bt_l2(w, &s->bt_l2);
	json_write_u64(w, "insns", s->insns_l2);
	json_write_u64(w, "cycles", s->cycles_l2);
	json_end_object(w);
	json_end_object(w);

	json_switches(w, s->vm_entries, s->vm_exits, st->cycles_switch);
}

static void json_reflected(struct json_writer *w, const struct l0_stats *s)
{
	char buf[32];

	json_begin_object(w, "reflected");
	for (unsigned int k = 0; s && k < VMX_NR_EXIT_REASONS; k++) {
		const struct l0_reflect_stats *r = &s->reflected[k];

		if (!r->count)
			continue;
		json_begin_object(w, reason_key(k, buf, sizeof(buf)));
		json_write_u64(w, "reason", k);
		json_write_u64(w, "count", r->count);
		json_write_u64(w, "l1_exits", r->l1_exits);
		json_write_u64(w, "world_switches", r->world_switches);
		json_write_u64(w, "vmreads",
			       r->vmreads + r->shadow_vmreads + r->bt_vmreads);
		json_write_u64(w, "vmwrites",
			       r->vmwrites + r->shadow_vmwrites +
				       r->bt_vmwrites);
		json_write_u64(w, "vmreads_trapped", r->vmreads);
		json_write_u64(w, "vmwrites_trapped", r->vmwrites);
		json_write_u64(w, "vmreads_shadowed", r->shadow_vmreads);
		json_write_u64(w, "vmwrites_shadowed", r->shadow_vmwrites);
		json_write_u64(w, "shadow_sync_vmreads", r->sync_vmreads);
		json_write_u64(w, "shadow_sync_vmwrites", r->sync_vmwrites);
		json_write_u64(w, "evmcs_read_bytes", r->evmcs_read_bytes);
		json_write_u64(w, "evmcs_write_bytes", r->evmcs_write_bytes);
		json_write_u64(w, "cycles", r->cycles);
		json_begin_object(w, "breakdown");
		json_write_u64(w, "switches", r->cycles_switch);
		json_write_u64(w, "l0", r->cycles_l0);
		json_write_u64(w, "l0_handlers", REPORT_L0_HANDLER_CYCLES);
		json_write_u64(w, "l1", r->cycles_l1);
		json_write_u64(w, "l1_bt", r->cycles_l1_bt);
		json_end_object(w);
		json_write_u64(w, "vmreads_bt", r->bt_vmreads);
		json_write_u64(w, "vmwrites_bt", r->bt_vmwrites);
		json_write_u64(w, "l1_bt_insns", r->l1_bt_insns);
		json_write_u64(w, "l1_insns", r->l1_insns);
		json_write_u64(w, "vmcs02_writes", r->vmcs02_writes);
		json_write_u64(w, "l2_cycles", r->l2_cycles);
		json_write_u64(w, "l2_insns", r->l2_insns);
		json_end_object(w);
	}
	json_end_object(w);
}

/*
 * A native run: the image is L0 on the machine. If it ran a guest of its
 * own with VMX, that guest is L1, the model's exits are its exits to L0,
 * and the split of instructions between the two is not known (the model
 * counts them together), so neither level lists them.
 */
static void json_native_levels(struct json_writer *w,
			       const struct vtx_cpu_stats *st)
{
	bool vmx = st->vmx_insns || st->vmreads || st->vmwrites;
	bool guest = st->vm_entries || st->vm_exits;

	json_begin_object(w, "levels");
	json_begin_object(w, "L0");
	if (!guest)
		json_write_u64(w, "insns", st->insns);
	json_write_u64(w, "cycles", st->cycles_root);
	if (vmx) {
		json_write_u64(w, "exits_handled", st->vm_exits);
		json_write_u64(w, "vmreads", st->vmreads);
		json_write_u64(w, "vmwrites", st->vmwrites);
		json_write_u64(w, "vmx_insns", st->vmx_insns);
	}
	json_end_object(w);
	if (guest) {
		json_begin_object(w, "L1");
		json_write_u64(w, "exits", st->vm_exits);
		json_reasons(w, "exits_by_reason", st->exits_by_reason,
			     VTX_EXIT_REASONS);
		json_write_u64(w, "cycles", st->cycles_nonroot);
		json_end_object(w);
	}
	json_end_object(w);
	if (vmx)
		json_switches(w, st->vm_entries, st->vm_exits,
			      st->cycles_switch);
}

int report_write_json(FILE *f, const struct report_input *in)
{
	struct json_writer w;
	int ret;

	json_init(&w, f);
	json_begin_object(&w, NULL);
	json_write_u64(&w, "nestvm_report", REPORT_JSON_VERSION);
	json_write_string(&w, "mode", in->vm ? "nested" : "native");
	json_write_string(&w, "profile", in->profile);
	if (in->vm) {
		json_write_string(&w, "vmcs_access",
				  vmcs_access_mode_name(in->vm->vmcs_access));
		json_write_string(&w, "ept_coherence",
				  ept_coherence_name(in->vm->ept_coherence));
		json_write_string(&w, "mmu", l0_mmu_mode_name(in->vm->mmu));
		json_write_string(&w, "prep",
				  in->vm->prep == L0_PREP_DIRTY ? "dirty"
								: "full");
	}
	json_write_u64(&w, "exit_status", (uint64_t)in->exit_status);
	json_write_u64(&w, "insns", in->st->insns);
	json_write_u64(&w, "cycles", in->st->cycles);
	if (in->vm)
		json_nested_levels(&w, in);
	else
		json_native_levels(&w, in->st);
	json_reflected(&w, in->vm ? &in->vm->stats : NULL);
	if (in->trace) {
		json_begin_object(&w, "trace");
		json_write_u64(&w, "events", in->trace->events);
		json_write_u64(&w, "dropped", in->trace->dropped);
		json_write_u64(&w, "limit", in->trace->limit);
		json_write_bool(&w, "truncated", in->trace->truncated);
		json_end_object(&w);
	}
	json_end_object(&w);
	ret = json_finish(&w);
	return ret == -EINVAL ? -EINVAL : ret ? -EIO : 0;
}
