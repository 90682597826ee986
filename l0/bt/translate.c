/* SPDX-License-Identifier: MIT */
/*
 * translate.c - the translator core (l0/bt/bt.h): guest basic blocks
 * decoded with Zydis and emitted into the TC -- IDENT copies, RIP-relative
 * operands made absolute, rel8/rel32 branches rewritten with exit stubs
 * and chaining, privileged instructions as VMCALL callouts (Adams &
 * Agesen, ASPLOS'06, section 3; docs/design/bt.md). Monitor side.
 */
#include "l0/bt/bt.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <Zydis/Zydis.h>

struct bt_block {
	uint64_t guest_rip;
	uint32_t tc_off;
};

/* The translation of one guest instruction starts at tc_off. */
struct bt_map {
	uint32_t tc_off;
	uint64_t guest_rip;
};

#define PAGE_4K 4096ull
/* The longest translation of one guest instruction: an absolute-operand
 * rewrite (15 + 1), or jcc rel32 + jmp rel32 (11), or push + jmp (10). */
#define INSN_MAX_OUT 16
/* Exit stubs of one block: at most two per branch. */
#define STUB_LEN 5 /* vmcall (0f 01 c1) + int3 int3 */
/* The in-TC sequences (RET, MOV to CR8, POPFQ) are longer than one
 * instruction's translation: at most SEQ_PER_BLOCK per block, each at
 * most SEQ_MAX_OUT bytes; a block ends before one more. */
#define SEQ_MAX_OUT 160
#define SEQ_PER_BLOCK 4
#define BLOCK_ROOM                                            \
	(BT_BLOCK_MAX_INSNS * (INSN_MAX_OUT + 2 * STUB_LEN) + \
	 SEQ_PER_BLOCK * SEQ_MAX_OUT)

static const char *const kind_names[BT_NR_CALLOUT_KINDS] = {
#define BT_KIND_NAME(name, what) [BT_CALLOUT_##name] = #name,
	BT_CALLOUT_KINDS(BT_KIND_NAME)
#undef BT_KIND_NAME
};

const char *bt_callout_kind_name(enum bt_callout_kind kind)
{
	return (unsigned int)kind < BT_NR_CALLOUT_KINDS ? kind_names[kind]
							: "?";
}

static uint32_t hash_rip(uint64_t rip, uint32_t size)
{
	return (uint32_t)((rip * 0x9e3779b97f4a7c15ull) >> 40) & (size - 1);
}

int bt_init(struct bt *bt, const struct bt_config *cfg)
{
	uint32_t n;

	memset(bt, 0, sizeof(*bt));
	if (!cfg || !cfg->m || !cfg->ops || cfg->tc_size < 2 * BT_VCPU_PAGE ||
	    cfg->tc_size % BT_VCPU_PAGE ||
	    !vtx_hpa_ptr(cfg->m, cfg->tc_hpa, cfg->tc_size))
		return -EINVAL;
	bt->cfg = *cfg;
	/* Every guest instruction takes at least one TC byte and every
	 * block at least one instruction, so these bounds are never the
	 * reason for a flush before the TC itself is full. */
	n = cfg->tc_size;
	bt->max_blocks = n / 8;
	bt->max_map = n / 2;
	bt->max_sites = n / 4;
	for (bt->hash_size = 64; bt->hash_size < 2 * bt->max_blocks;)
		bt->hash_size <<= 1;
	bt->max_pages = 256;
	bt->code = calloc(1, n);
	bt->blocks = calloc(bt->max_blocks, sizeof(*bt->blocks));
	bt->map = calloc(bt->max_map, sizeof(*bt->map));
	bt->sites = calloc(bt->max_sites, sizeof(*bt->sites));
	bt->hash = malloc(bt->hash_size * sizeof(*bt->hash));
	bt->pages = calloc(bt->max_pages, sizeof(*bt->pages));
	if (!bt->code || !bt->blocks || !bt->map || !bt->sites || !bt->hash ||
	    !bt->pages) {
		bt_destroy(bt);
		return -ENOMEM;
	}
	bt_flush(bt);
	bt->stats.flushes = 0;
	return 0;
}

void bt_destroy(struct bt *bt)
{
	free(bt->code);
	free(bt->blocks);
	free(bt->map);
	free(bt->sites);
	free(bt->hash);
	free(bt->pages);
	bt->code = NULL;
	bt->blocks = NULL;
	bt->map = NULL;
	bt->sites = NULL;
	bt->hash = NULL;
	bt->pages = NULL;
}

static int add_site(struct bt *bt, uint32_t tc_off, enum bt_callout_kind kind,
		    uint64_t rip, uint64_t next, uint64_t target,
		    uint32_t patch_off);

/*
 * The return table holds TC addresses: it empties with the TC. An empty
 * entry's key is non-canonical, so no RET finds it; its TC address is a
 * VMCALL in the vCPU page that stops the run, so that a RET to that very
 * address (natively #GP) fails loudly instead of jumping anywhere.
 */
static void rettab_reset(struct bt *bt)
{
	static const uint8_t vmcall[3] = { 0x0f, 0x01, 0xc1 };
	uint64_t e[2] = { BT_RETTAB_EMPTY, bt->cfg.tc_gva + BT_VCPU_BADRET };

	vtx_hpa_write(bt->cfg.m, bt->cfg.tc_hpa + BT_VCPU_BADRET, vmcall, 3);
	for (uint32_t i = 0; i < BT_RETTAB_ENTRIES; i++)
		vtx_hpa_write(bt->cfg.m,
			      bt->cfg.tc_hpa + BT_VCPU_RETTAB + i * 16, e, 16);
	add_site(bt, BT_VCPU_BADRET, BT_CALLOUT_UNIMPL, 0, 0, 0, 0);
}

void bt_rettab_fill(struct bt *bt, uint64_t guest_rip, uint64_t tc_rip)
{
	uint64_t e[2] = { guest_rip, tc_rip };
	uint32_t off = BT_VCPU_RETTAB + (uint32_t)((guest_rip << 4) & 0x7f0);

	vtx_hpa_write(bt->cfg.m, bt->cfg.tc_hpa + off, e, 16);
}

/* The vCPU page survives a flush; the code after it does not. */
void bt_flush(struct bt *bt)
{
	bt->used = BT_VCPU_PAGE;
	bt->nr_blocks = 0;
	bt->nr_map = 0;
	bt->nr_sites = 0;
	rettab_reset(bt);
	memset(bt->hash, 0xff, bt->hash_size * sizeof(*bt->hash));
	for (uint32_t i = 0; i < bt->nr_pages; i++)
		bt->cfg.ops->protect(bt->cfg.opaque, bt->pages[i], false);
	bt->nr_pages = 0;
	bt->stats.tc_bytes = 0;
	bt->stats.flushes++;
}

uint8_t bt_vcpu_read8(struct bt *bt, uint32_t off)
{
	uint8_t v = 0;

	vtx_hpa_read(bt->cfg.m, bt->cfg.tc_hpa + off, &v, 1);
	return v;
}

uint64_t bt_vcpu_read64(struct bt *bt, uint32_t off)
{
	uint64_t v = 0;

	vtx_hpa_read(bt->cfg.m, bt->cfg.tc_hpa + off, &v, 8);
	return v;
}

void bt_vcpu_write8(struct bt *bt, uint32_t off, uint8_t val)
{
	vtx_hpa_write(bt->cfg.m, bt->cfg.tc_hpa + off, &val, 1);
}

void bt_vcpu_write64(struct bt *bt, uint32_t off, uint64_t val)
{
	vtx_hpa_write(bt->cfg.m, bt->cfg.tc_hpa + off, &val, 8);
}

static int32_t find_block(const struct bt *bt, uint64_t guest_rip)
{
	uint32_t h = hash_rip(guest_rip, bt->hash_size);

	for (;; h = (h + 1) & (bt->hash_size - 1)) {
		int32_t b = bt->hash[h];

		if (b < 0)
			return -1;
		if (bt->blocks[b].guest_rip == guest_rip)
			return b;
	}
}

static void add_block(struct bt *bt, uint64_t guest_rip, uint32_t tc_off)
{
	uint32_t h = hash_rip(guest_rip, bt->hash_size);

	while (bt->hash[h] >= 0)
		h = (h + 1) & (bt->hash_size - 1);
	bt->blocks[bt->nr_blocks].guest_rip = guest_rip;
	bt->blocks[bt->nr_blocks].tc_off = tc_off;
	bt->hash[h] = (int32_t)bt->nr_blocks++;
}

static void protect_page(struct bt *bt, uint64_t page)
{
	for (uint32_t i = 0; i < bt->nr_pages; i++)
		if (bt->pages[i] == page)
			return;
	if (bt->nr_pages == bt->max_pages) {
		/* More code pages than we track: start again, which drops
		 * every protection with the translations it guarded. */
		bt_flush(bt);
	}
	bt->pages[bt->nr_pages++] = page;
	bt->cfg.ops->protect(bt->cfg.opaque, page, true);
}

bool bt_code_written(struct bt *bt, uint64_t gva)
{
	uint64_t page = gva & ~(PAGE_4K - 1);

	for (uint32_t i = 0; i < bt->nr_pages; i++) {
		if (bt->pages[i] != page)
			continue;
		bt->stats.invalidations++;
		bt_flush(bt);
		bt->next_unprotected = true;
		return true;
	}
	return false;
}

struct bt_site *bt_find_site(struct bt *bt, uint64_t tc_rip)
{
	uint32_t lo = 0, hi = bt->nr_sites;
	uint64_t off = tc_rip - bt->cfg.tc_gva;

	while (lo < hi) {
		uint32_t mid = (lo + hi) / 2;

		if (bt->sites[mid].tc_off == off)
			return &bt->sites[mid];
		if (bt->sites[mid].tc_off < off)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

bool bt_guest_rip(const struct bt *bt, uint64_t tc_rip, uint64_t *guest_rip)
{
	uint64_t off = tc_rip - bt->cfg.tc_gva;
	uint32_t lo = 0, hi = bt->nr_map;

	if (tc_rip < bt->cfg.tc_gva || off >= bt->used || !bt->nr_map ||
	    off < bt->map[0].tc_off)
		return false;
	/* The last entry at or below off. */
	while (hi - lo > 1) {
		uint32_t mid = (lo + hi) / 2;

		if (bt->map[mid].tc_off <= off)
			lo = mid;
		else
			hi = mid;
	}
	*guest_rip = bt->map[lo].guest_rip;
	return true;
}

/* Writes a patch or a new block through to the arena, so that the model
 * drops what it decoded from those bytes before. */
static void tc_commit(struct bt *bt, uint32_t off, uint32_t len)
{
	vtx_hpa_write(bt->cfg.m, bt->cfg.tc_hpa + off, bt->code + off, len);
}

static void put32(uint8_t *p, uint32_t v)
{
	memcpy(p, &v, 4);
}

void bt_chain(struct bt *bt, struct bt_site *site, uint64_t tc_target)
{
	uint64_t from = bt->cfg.tc_gva + site->patch_off + 4;

	put32(bt->code + site->patch_off, (uint32_t)(tc_target - from));
	tc_commit(bt, site->patch_off, 4);
	site->chained = true;
	bt->stats.chains++;
}

/* ---- one block ----------------------------------------------------------- */

/* A branch whose target is not translated yet: its rel32 at patch_off
 * jumps to a stub emitted after the block. */
struct pending_exit {
	uint32_t patch_off;
	uint64_t guest_rip, target;
};

struct emit {
	struct bt *bt;
	uint8_t *out; /* bt->code */
	uint32_t pos; /* next TC offset */
	struct pending_exit exits[2 * BT_BLOCK_MAX_INSNS];
	unsigned int nr_exits;
};

static int add_site(struct bt *bt, uint32_t tc_off, enum bt_callout_kind kind,
		    uint64_t rip, uint64_t next, uint64_t target,
		    uint32_t patch_off)
{
	struct bt_site *s;

	if (bt->nr_sites == bt->max_sites)
		return -ENOSPC;
	s = &bt->sites[bt->nr_sites++];
	memset(s, 0, sizeof(*s));
	s->tc_off = tc_off;
	s->kind = kind;
	s->guest_rip = rip;
	s->guest_next = next;
	s->target = target;
	s->patch_off = patch_off;
	return 0;
}

static void emit_callout(struct emit *e, enum bt_callout_kind kind,
			 uint64_t rip, uint64_t next)
{
	/* vmcall: 0f 01 c1 (SDM Vol. 3C 26.1.2: exits unconditionally). */
	add_site(e->bt, e->pos, kind, rip, next, 0, 0);
	e->out[e->pos++] = 0x0f;
	e->out[e->pos++] = 0x01;
	e->out[e->pos++] = 0xc1;
}

/* A jump (opcode bytes already written) whose rel32 follows at e->pos:
 * straight to the target's block if there is one, else to a stub. */
static void emit_rel32_to(struct emit *e, uint64_t rip, uint64_t target)
{
	int32_t b = find_block(e->bt, target);

	if (b >= 0) {
		uint64_t to = e->bt->cfg.tc_gva + e->bt->blocks[b].tc_off;
		uint64_t from = e->bt->cfg.tc_gva + e->pos + 4;

		put32(e->out + e->pos, (uint32_t)(to - from));
		e->bt->stats.chains++;
	} else {
		struct pending_exit *x = &e->exits[e->nr_exits++];

		x->patch_off = e->pos;
		x->guest_rip = rip;
		x->target = target;
	}
	e->pos += 4;
}

static void emit_jmp(struct emit *e, uint64_t rip, uint64_t target)
{
	e->out[e->pos++] = 0xe9; /* jmp rel32 */
	emit_rel32_to(e, rip, target);
}

/* mov byte [abs32], imm8: c6 04 25 disp32 imm8 -- touches no flag. */
static void emit_store8(struct emit *e, uint32_t abs, uint8_t imm)
{
	e->out[e->pos++] = 0xc6;
	e->out[e->pos++] = 0x04;
	e->out[e->pos++] = 0x25;
	put32(e->out + e->pos, abs);
	e->pos += 4;
	e->out[e->pos++] = imm;
}

/* mov r64, [abs32] (8b): REX.W + ModRM 00 reg 100 + SIB 0x25 + disp32. */
static void emit_mov_abs(struct emit *e, uint8_t opcode, unsigned int reg,
			 uint32_t abs)
{
	e->out[e->pos++] = (uint8_t)(0x48 | (reg >= 8 ? 0x04 : 0));
	e->out[e->pos++] = opcode;
	e->out[e->pos++] = (uint8_t)(0x04 | ((reg & 7) << 3));
	e->out[e->pos++] = 0x25;
	put32(e->out + e->pos, abs);
	e->pos += 4;
}

/* ---- in-TC sequences ------------------------------------------------------
 *
 * Raw machine code that emulates an instruction without leaving the TC
 * (A&A section 3: "the translator ... can emit code that emulates the
 * instruction in the TC"). Guest registers they borrow are saved in the
 * vCPU page and given back; the arithmetic flags are saved with LAHF
 * (SF, ZF, AF, PF, CF into AH) and SETO AL, and restored with ADD AL,
 * 0x7f (OF from AL's 0 or 1) and SAHF (SDM Vol. 2A LAHF, Vol. 2B SAHF),
 * so that the guest sees no register or flag change it would not see
 * natively. Only the first instruction of a sequence may touch guest
 * memory, and it changes nothing when it faults: the fault is then the
 * guest instruction's own, at its RIP.
 */

static void emit_raw(struct emit *e, const uint8_t *b, unsigned int n)
{
	memcpy(e->out + e->pos, b, n);
	e->pos += n;
}

static uint32_t vcpu_abs(const struct emit *e, uint32_t off)
{
	return (uint32_t)(e->bt->cfg.tc_gva + off);
}

/* op [abs32] with a ModRM reg field: op... + ModRM 00 reg 100 + SIB 25. */
static void emit_op_abs(struct emit *e, const uint8_t *op, unsigned int n,
			unsigned int reg, uint32_t abs)
{
	emit_raw(e, op, n);
	e->out[e->pos++] = (uint8_t)(0x04 | (reg << 3));
	e->out[e->pos++] = 0x25;
	put32(e->out + e->pos, abs);
	e->pos += 4;
}

/* RAX and RCX to the vCPU page; the arithmetic flags into RAX, saved. */
static void emit_save(struct emit *e, bool rcx)
{
	static const uint8_t lahf_seto[] = { 0x9f, 0x0f, 0x90, 0xc0 };

	emit_mov_abs(e, 0x89, 0, vcpu_abs(e, BT_VCPU_RAX));
	if (rcx)
		emit_mov_abs(e, 0x89, 1, vcpu_abs(e, BT_VCPU_RCX));
	emit_raw(e, lahf_seto, sizeof(lahf_seto));
	emit_mov_abs(e, 0x89, 0, vcpu_abs(e, BT_VCPU_FLAGS));
}

static void emit_restore(struct emit *e, bool rcx)
{
	static const uint8_t add_sahf[] = { 0x04, 0x7f, 0x9e };

	emit_mov_abs(e, 0x8b, 0, vcpu_abs(e, BT_VCPU_FLAGS));
	emit_raw(e, add_sahf, sizeof(add_sahf));
	emit_mov_abs(e, 0x8b, 0, vcpu_abs(e, BT_VCPU_RAX));
	if (rcx)
		emit_mov_abs(e, 0x8b, 1, vcpu_abs(e, BT_VCPU_RCX));
}

/* A forward jcc/jmp rel8 whose displacement is set by jump_here(). */
static uint32_t emit_jump8(struct emit *e, uint8_t opcode)
{
	e->out[e->pos++] = opcode;
	e->out[e->pos++] = 0;
	return e->pos;
}

static void jump_here(struct emit *e, uint32_t from)
{
	e->out[from - 1] = (uint8_t)(e->pos - from);
}

static void emit_callout(struct emit *e, enum bt_callout_kind kind,
			 uint64_t rip, uint64_t next);

/*
 * RET [imm16] (A&A's inline return-target lookup): the return address is
 * popped into the vCPU page, its TC address looked up in the return table
 * and jumped to; a miss is a RET callout, which translates the target and
 * fills the entry. Hit: 21 instructions, no callout.
 */
static void emit_ret(struct emit *e, uint16_t imm, uint64_t rip)
{
	static const uint8_t pop_m[] = { 0x8f };
	static const uint8_t jmp_m[] = { 0xff };
	static const uint8_t lookup[] = {
		0x89, 0xc1, /* mov ecx, eax */
		0xc1, 0xe1, 0x04, /* shl ecx, 4 */
		0x81, 0xe1, 0xf0, 0x07, 0x00, 0x00, /* and ecx, 0x7f0 */
	};
	uint32_t tab = vcpu_abs(e, BT_VCPU_RETTAB), miss;

	emit_op_abs(e, pop_m, 1, 0, vcpu_abs(e, BT_VCPU_OPND));
	if (imm) {
		/* lea rsp, [rsp + imm16]: no flag changes */
		static const uint8_t lea[] = { 0x48, 0x8d, 0xa4, 0x24 };

		emit_raw(e, lea, sizeof(lea));
		put32(e->out + e->pos, imm);
		e->pos += 4;
	}
	emit_save(e, true);
	emit_mov_abs(e, 0x8b, 0, vcpu_abs(e, BT_VCPU_OPND));
	emit_raw(e, lookup, sizeof(lookup));
	/* cmp rax, [rcx + tab]; jne miss; mov rcx, [rcx + tab + 8] */
	emit_raw(e, (const uint8_t[]){ 0x48, 0x3b, 0x81 }, 3);
	put32(e->out + e->pos, tab);
	e->pos += 4;
	miss = emit_jump8(e, 0x75);
	emit_raw(e, (const uint8_t[]){ 0x48, 0x8b, 0x89 }, 3);
	put32(e->out + e->pos, tab + 8);
	e->pos += 4;
	emit_mov_abs(e, 0x89, 1, vcpu_abs(e, BT_VCPU_JMP));
	emit_restore(e, true);
	emit_op_abs(e, jmp_m, 1, 4, vcpu_abs(e, BT_VCPU_JMP));
	jump_here(e, miss);
	emit_restore(e, true);
	emit_callout(e, BT_CALLOUT_RET, rip, rip);
}

/*
 * MOV CR8, r64 (SDM Vol. 3A 10.8.6.1): bits 63:4 set is #GP(0), raised
 * by the MOV_CR callout; otherwise the value goes to the virtual CR8
 * without leaving the TC (A&A's cr8wr). Hit: 15 instructions.
 */
static void emit_cr8_write(struct emit *e, unsigned int src, uint64_t rip,
			   uint64_t next)
{
	static const uint8_t shr4[] = { 0x48, 0xc1, 0xe8, 0x04 }; /* shr rax */
	uint32_t gp, done;

	emit_mov_abs(e, 0x89, src, vcpu_abs(e, BT_VCPU_OPND));
	emit_save(e, false);
	emit_mov_abs(e, 0x8b, 0, vcpu_abs(e, BT_VCPU_OPND));
	emit_raw(e, shr4, sizeof(shr4));
	gp = emit_jump8(e, 0x75); /* jnz */
	emit_mov_abs(e, 0x8b, 0, vcpu_abs(e, BT_VCPU_OPND));
	emit_mov_abs(e, 0x89, 0, vcpu_abs(e, BT_VCPU_CR8));
	emit_restore(e, false);
	done = emit_jump8(e, 0xeb);
	jump_here(e, gp);
	emit_restore(e, false);
	emit_callout(e, BT_CALLOUT_MOV_CR, rip, next);
	jump_here(e, done);
}

/*
 * POPFQ (A&A's example): the popped IF goes to the virtual IF and the
 * rest is loaded by a real POPFQ of the value with IF clear, from a
 * one-slot stack in the vCPU page, so the real IF stays the container's.
 * A POPF that sets TF (the #DB would come with RSP in the vCPU page), or
 * that enables the virtual IF while an interrupt is pending, is a POPF
 * callout instead. Common case: 13 instructions.
 */
static void emit_popf(struct emit *e, uint64_t rip, uint64_t next)
{
	static const uint8_t pop_m[] = { 0x8f };
	static const uint8_t setc_m[] = { 0x0f, 0x92 };
	static const uint8_t cmp_m[] = { 0x80 };
	uint32_t slow_tf, slow_if, fast, done;

	emit_op_abs(e, pop_m, 1, 0, vcpu_abs(e, BT_VCPU_OPND));
	/* From here the guest's flags are dead: POPFQ replaces them. */
	emit_mov_abs(e, 0x89, 0, vcpu_abs(e, BT_VCPU_RAX));
	emit_mov_abs(e, 0x8b, 0, vcpu_abs(e, BT_VCPU_OPND));
	emit_raw(e, (const uint8_t[]){ 0x0f, 0xba, 0xe0, 0x08 }, 4); /* bt 8 */
	slow_tf = emit_jump8(e, 0x72); /* jc */
	emit_raw(e, (const uint8_t[]){ 0x0f, 0xba, 0xf0, 0x09 }, 4);
	/* btr eax, 9: CF = the new IF, and IF cleared for the real POPFQ */
	emit_op_abs(e, setc_m, 2, 0, vcpu_abs(e, BT_VCPU_VIF));
	fast = emit_jump8(e, 0x73); /* jnc: IF not enabled */
	emit_op_abs(e, cmp_m, 1, 7, vcpu_abs(e, BT_VCPU_PENDING));
	e->out[e->pos++] = 0; /* cmp byte [pending], 0 */
	slow_if = emit_jump8(e, 0x75);
	jump_here(e, fast);
	emit_mov_abs(e, 0x89, 4, vcpu_abs(e, BT_VCPU_RSP));
	/* mov rsp, imm32 (sign-extended: the vCPU page's one slot) */
	emit_raw(e, (const uint8_t[]){ 0x48, 0xc7, 0xc4 }, 3);
	put32(e->out + e->pos, vcpu_abs(e, BT_VCPU_STACK + 8));
	e->pos += 4;
	emit_raw(e, (const uint8_t[]){ 0x50, 0x9d }, 2); /* push rax; popfq */
	emit_mov_abs(e, 0x8b, 4, vcpu_abs(e, BT_VCPU_RSP));
	emit_mov_abs(e, 0x8b, 0, vcpu_abs(e, BT_VCPU_RAX));
	done = emit_jump8(e, 0xeb);
	jump_here(e, slow_tf);
	jump_here(e, slow_if);
	emit_mov_abs(e, 0x8b, 0, vcpu_abs(e, BT_VCPU_RAX));
	emit_callout(e, BT_CALLOUT_POPF, rip, next);
	jump_here(e, done);
}

static bool fits_s32(uint64_t v)
{
	return (uint64_t)(int64_t)(int32_t)v == v;
}

/*
 * An instruction with a [rip + disp32] operand: ModRM rm=101 with mod=00
 * becomes rm=100 with SIB 0x25 (no base, no index: absolute disp32, SDM
 * Vol. 2A Table 2-3 and 2.2.1.6), one byte longer. false when the target
 * is outside what a sign-extended disp32 reaches.
 */
static bool emit_rip_rel(struct emit *e, const uint8_t *bytes,
			 const ZydisDecodedInstruction *zi, uint64_t next)
{
	uint64_t target = next + (uint64_t)zi->raw.disp.value;
	unsigned int m = zi->raw.modrm.offset;
	unsigned int d = zi->raw.disp.offset;

	if (!fits_s32(target) || zi->raw.disp.size != 32 || d != m + 1)
		return false;
	memcpy(e->out + e->pos, bytes, m);
	e->pos += m;
	e->out[e->pos++] = (uint8_t)((bytes[m] & 0x38) | 0x04);
	e->out[e->pos++] = 0x25;
	put32(e->out + e->pos, (uint32_t)target);
	e->pos += 4;
	memcpy(e->out + e->pos, bytes + d + 4, zi->length - d - 4);
	e->pos += zi->length - d - 4;
	e->bt->stats.rip_rel++;
	return true;
}

static bool is_cr(ZydisRegister r)
{
	return r >= ZYDIS_REGISTER_CR0 && r <= ZYDIS_REGISTER_CR15;
}

static unsigned int gpr_num(ZydisRegister r)
{
	return (unsigned int)(ZydisRegisterGetLargestEnclosing(
				      ZYDIS_MACHINE_MODE_LONG_64, r) -
			      ZYDIS_REGISTER_RAX);
}

/* What a guest instruction becomes, for the ones that are not IDENT. */
enum insn_plan {
	PLAN_IDENT,
	PLAN_CALLOUT, /* falls through to the next instruction */
	PLAN_CALLOUT_END, /* transfers control: ends the block */
	PLAN_CLI,
	PLAN_STI,
	PLAN_CR8_READ,
	PLAN_BRANCH,
	/* in-TC sequences */
	PLAN_RET,
	PLAN_CR8_WRITE,
	PLAN_POPF,
};

static enum insn_plan plan_insn(const ZydisDecodedInstruction *zi,
				const ZydisDecodedOperand *ops,
				enum bt_callout_kind *kind)
{
	*kind = BT_CALLOUT_UNIMPL;
	/* A cast: -Wswitch-enum would want all of Zydis's mnemonics. */
	switch ((unsigned int)zi->mnemonic) {
	case ZYDIS_MNEMONIC_CLI:
		return PLAN_CLI;
	case ZYDIS_MNEMONIC_STI:
		return PLAN_STI;
	case ZYDIS_MNEMONIC_PUSHFQ:
		*kind = BT_CALLOUT_PUSHF;
		return PLAN_CALLOUT;
	case ZYDIS_MNEMONIC_POPFQ:
		if (zi->operand_width != 64)
			return PLAN_CALLOUT_END; /* POPFW: not translated */
		return PLAN_POPF;
	case ZYDIS_MNEMONIC_CPUID:
		*kind = BT_CALLOUT_CPUID;
		return PLAN_CALLOUT;
	case ZYDIS_MNEMONIC_RDTSC:
		*kind = BT_CALLOUT_RDTSC;
		return PLAN_CALLOUT;
	case ZYDIS_MNEMONIC_HLT:
		*kind = BT_CALLOUT_HLT;
		return PLAN_CALLOUT_END;
	case ZYDIS_MNEMONIC_IN:
	case ZYDIS_MNEMONIC_OUT:
		*kind = BT_CALLOUT_IO;
		return PLAN_CALLOUT;
	case ZYDIS_MNEMONIC_MOV:
		if (is_cr(ops[0].reg.value) &&
		    ops[0].type == ZYDIS_OPERAND_TYPE_REGISTER) {
			/* A CR8 write is checked in the TC (emit_cr8_write).
			 * Other CRs change the mode or the address space:
			 * the block ends. */
			*kind = BT_CALLOUT_MOV_CR;
			if (ops[0].reg.value == ZYDIS_REGISTER_CR8)
				return PLAN_CR8_WRITE;
			return PLAN_CALLOUT_END;
		}
		if (ops[1].type == ZYDIS_OPERAND_TYPE_REGISTER &&
		    is_cr(ops[1].reg.value)) {
			if (ops[1].reg.value == ZYDIS_REGISTER_CR8)
				return PLAN_CR8_READ;
			*kind = BT_CALLOUT_MOV_CR;
			return PLAN_CALLOUT;
		}
		if (zi->attributes & ZYDIS_ATTRIB_IS_PRIVILEGED)
			return PLAN_CALLOUT_END; /* MOV DR */
		return PLAN_IDENT;
	case ZYDIS_MNEMONIC_INT:
	case ZYDIS_MNEMONIC_INT3:
	case ZYDIS_MNEMONIC_IRETQ:
	case ZYDIS_MNEMONIC_SYSRET:
		*kind = BT_CALLOUT_INT;
		return PLAN_CALLOUT_END;
	case ZYDIS_MNEMONIC_LGDT:
	case ZYDIS_MNEMONIC_LIDT:
	case ZYDIS_MNEMONIC_LTR:
	case ZYDIS_MNEMONIC_LLDT:
		*kind = BT_CALLOUT_DESC;
		return PLAN_CALLOUT_END;
	case ZYDIS_MNEMONIC_SGDT:
	case ZYDIS_MNEMONIC_SIDT:
	case ZYDIS_MNEMONIC_SLDT:
	case ZYDIS_MNEMONIC_STR:
		/* The container's GDTR, IDTR, LDTR and TR are the guest's
		 * virtual ones (LGDT/LIDT callouts write them there, and L0
		 * never loads its own: every event exits), so the stores
		 * run as they are and give what the guest loaded (SDM Vol.
		 * 2B SGDT: limit and 64-bit base, 10 bytes). A&A had to
		 * emulate SGDT because their VMM's GDT was the real one. */
		return PLAN_IDENT;
	case ZYDIS_MNEMONIC_RDMSR:
	case ZYDIS_MNEMONIC_WRMSR:
		*kind = BT_CALLOUT_MSR;
		return PLAN_CALLOUT;
	case ZYDIS_MNEMONIC_INVLPG:
		*kind = BT_CALLOUT_INVLPG;
		return PLAN_CALLOUT_END;
	case ZYDIS_MNEMONIC_WBINVD:
	case ZYDIS_MNEMONIC_INVD:
		*kind = BT_CALLOUT_WBINVD;
		return PLAN_CALLOUT;
	case ZYDIS_MNEMONIC_VMXON:
	case ZYDIS_MNEMONIC_VMXOFF:
	case ZYDIS_MNEMONIC_VMCALL:
	case ZYDIS_MNEMONIC_VMLAUNCH:
	case ZYDIS_MNEMONIC_VMRESUME:
	case ZYDIS_MNEMONIC_VMPTRLD:
	case ZYDIS_MNEMONIC_VMCLEAR:
	case ZYDIS_MNEMONIC_VMREAD:
	case ZYDIS_MNEMONIC_VMWRITE:
		*kind = BT_CALLOUT_VMX;
		return PLAN_CALLOUT_END;
	case ZYDIS_MNEMONIC_RET:
		/* Near RET only (a far RET is not translated). */
		*kind = BT_CALLOUT_RET;
		if (zi->meta.branch_type == ZYDIS_BRANCH_TYPE_FAR ||
		    zi->operand_width != 64) {
			*kind = BT_CALLOUT_UNIMPL;
			return PLAN_CALLOUT_END;
		}
		return PLAN_RET;
	case ZYDIS_MNEMONIC_JMP:
	case ZYDIS_MNEMONIC_CALL:
		if (zi->attributes & ZYDIS_ATTRIB_IS_RELATIVE)
			return PLAN_BRANCH;
		*kind = zi->mnemonic == ZYDIS_MNEMONIC_JMP
				? BT_CALLOUT_JMP_IND
				: BT_CALLOUT_CALL_IND;
		/* Far forms are not translated. */
		if (zi->meta.branch_type == ZYDIS_BRANCH_TYPE_FAR)
			*kind = BT_CALLOUT_UNIMPL;
		return PLAN_CALLOUT_END;
	default:
		break;
	}
	if (zi->meta.category == ZYDIS_CATEGORY_COND_BR) {
		/* JRCXZ and LOOPcc have only a rel8 form: not rewritten. */
		if (zi->mnemonic == ZYDIS_MNEMONIC_JRCXZ ||
		    zi->mnemonic == ZYDIS_MNEMONIC_JECXZ ||
		    zi->mnemonic == ZYDIS_MNEMONIC_LOOP ||
		    zi->mnemonic == ZYDIS_MNEMONIC_LOOPE ||
		    zi->mnemonic == ZYDIS_MNEMONIC_LOOPNE)
			return PLAN_CALLOUT_END;
		return PLAN_BRANCH;
	}
	/* Everything else that is privileged or changes control in a way
	 * the translator does not rewrite (SYSCALL, SWAPGS, CLTS, LMSW,
	 * MONITOR/MWAIT, XSETBV, string I/O...). */
	if ((zi->attributes & ZYDIS_ATTRIB_IS_PRIVILEGED) ||
	    zi->mnemonic == ZYDIS_MNEMONIC_SYSCALL ||
	    zi->mnemonic == ZYDIS_MNEMONIC_INSB ||
	    zi->mnemonic == ZYDIS_MNEMONIC_INSW ||
	    zi->mnemonic == ZYDIS_MNEMONIC_INSD ||
	    zi->mnemonic == ZYDIS_MNEMONIC_OUTSB ||
	    zi->mnemonic == ZYDIS_MNEMONIC_OUTSW ||
	    zi->mnemonic == ZYDIS_MNEMONIC_OUTSD ||
	    zi->meta.category == ZYDIS_CATEGORY_UNCOND_BR ||
	    zi->meta.category == ZYDIS_CATEGORY_CALL ||
	    zi->meta.category == ZYDIS_CATEGORY_RET ||
	    zi->meta.category == ZYDIS_CATEGORY_SYSTEM ||
	    zi->meta.category == ZYDIS_CATEGORY_INTERRUPT)
		return PLAN_CALLOUT_END;
	return PLAN_IDENT;
}

/* jmp/call/jcc with a relative operand; true when it ends the block. */
static void emit_branch(struct emit *e, const ZydisDecodedInstruction *zi,
			uint64_t rip, uint64_t next, uint64_t target)
{
	if (zi->mnemonic == ZYDIS_MNEMONIC_JMP) {
		emit_jmp(e, rip, target);
		return;
	}
	if (zi->mnemonic == ZYDIS_MNEMONIC_CALL) {
		/* push imm32 (68 id, sign-extended to 64 bits): the guest
		 * return address, as the guest's CALL would push it. */
		e->out[e->pos++] = 0x68;
		put32(e->out + e->pos, (uint32_t)next);
		e->pos += 4;
		emit_jmp(e, rip, target);
		return;
	}
	/* jcc: the condition is the low nibble of 7x (rel8) and 0f 8x. */
	e->out[e->pos++] = 0x0f;
	e->out[e->pos++] = (uint8_t)(0x80 | (zi->opcode & 0x0f));
	emit_rel32_to(e, rip, target);
	emit_jmp(e, rip, next);
}

static int translate_block(struct bt *bt, uint64_t rip0, uint32_t *tc_off)
{
	ZydisDecoder dec;
	struct emit e = { .bt = bt, .out = bt->code };
	uint64_t rip = rip0, page_end = (rip0 & ~(PAGE_4K - 1)) + PAGE_4K;
	uint8_t buf[16];
	unsigned int n, max = BT_BLOCK_MAX_INSNS, seqs = 0;
	bool end = false;

	ZydisDecoderInit(&dec, ZYDIS_MACHINE_MODE_LONG_64,
			 ZYDIS_STACK_WIDTH_64);
	/* Room for the worst case: every instruction at its longest and
	 * two stubs each, or flush and start again at an empty TC. */
	if (bt->used + BLOCK_ROOM > bt->cfg.tc_size ||
	    bt->nr_blocks == bt->max_blocks ||
	    bt->nr_map + BT_BLOCK_MAX_INSNS > bt->max_map ||
	    bt->nr_sites + 3 * BT_BLOCK_MAX_INSNS > bt->max_sites)
		bt_flush(bt);
	if (bt->used + BLOCK_ROOM > bt->cfg.tc_size) {
		snprintf(bt->err, sizeof(bt->err),
			 "bt: the TC (%u bytes) cannot hold one block",
			 bt->cfg.tc_size);
		return -ENOSPC;
	}
	if (bt->next_unprotected)
		max = 1;
	else
		protect_page(bt, rip0 & ~(PAGE_4K - 1));
	bt->next_unprotected = false;
	e.pos = bt->used;
	*tc_off = e.pos;

	for (n = 0; n < max && !end && rip < page_end; n++) {
		ZydisDecodedInstruction zi;
		ZydisDecodedOperand ops[ZYDIS_MAX_OPERAND_COUNT];
		size_t avail = sizeof(buf);
		enum bt_callout_kind kind;
		enum insn_plan plan;
		uint64_t next;

		/* An instruction may cross into the next page; only the
		 * bytes that exist are read. */
		memset(buf, 0, sizeof(buf));
		if (bt->cfg.ops->read(bt->cfg.opaque, rip, buf, avail)) {
			avail = page_end - rip < avail ? page_end - rip : avail;
			if (bt->cfg.ops->read(bt->cfg.opaque, rip, buf,
					      avail)) {
				if (n)
					break; /* the block ends here */
				snprintf(bt->err, sizeof(bt->err),
					 "bt: guest code at %#llx is not "
					 "readable",
					 (unsigned long long)rip);
				return -EFAULT;
			}
		}
		bt->map[bt->nr_map].tc_off = e.pos;
		bt->map[bt->nr_map].guest_rip = rip;
		bt->nr_map++;
		if (ZYAN_FAILED(ZydisDecoderDecodeFull(&dec, buf, avail, &zi,
						       ops))) {
			emit_callout(&e, BT_CALLOUT_UNIMPL, rip, rip);
			break;
		}
		next = rip + zi.length;
		plan = plan_insn(&zi, ops, &kind);
		if (bt->cfg.cr8_exits &&
		    (plan == PLAN_CR8_READ || plan == PLAN_CR8_WRITE)) {
			/* Not the virtual CR8: a callout for the op. */
			kind = BT_CALLOUT_MOV_CR;
			plan = PLAN_CALLOUT;
		}
		if (plan >= PLAN_RET && seqs++ == SEQ_PER_BLOCK) {
			/* No room for one more sequence: the block ends
			 * before this instruction. */
			bt->nr_map--;
			break;
		}
		bt->stats.insns++;
		bt->stats.cycles_translate += bt->cfg.costs.translate_insn;
		switch (plan) {
		case PLAN_IDENT: {
			bool rel = false;

			for (unsigned int i = 0; i < zi.operand_count; i++)
				if (ops[i].type == ZYDIS_OPERAND_TYPE_MEMORY &&
				    ops[i].mem.base == ZYDIS_REGISTER_RIP)
					rel = true;
			if (rel && !emit_rip_rel(&e, buf, &zi, next)) {
				emit_callout(&e, BT_CALLOUT_UNIMPL, rip, next);
				end = true;
				break;
			}
			if (!rel) {
				memcpy(e.out + e.pos, buf, zi.length);
				e.pos += zi.length;
			}
			break;
		}
		case PLAN_CALLOUT:
			emit_callout(&e, kind, rip, next);
			break;
		case PLAN_CALLOUT_END:
			emit_callout(&e, kind, rip, next);
			end = true;
			break;
		case PLAN_CLI:
		case PLAN_STI:
			emit_store8(&e,
				    (uint32_t)(bt->cfg.tc_gva + BT_VCPU_VIF),
				    zi.mnemonic == ZYDIS_MNEMONIC_STI);
			bt->stats.in_tc++;
			break;
		case PLAN_CR8_READ:
			/* mov r64, cr8: a load of the virtual CR8. */
			emit_mov_abs(&e, 0x8b, gpr_num(ops[0].reg.value),
				     (uint32_t)(bt->cfg.tc_gva + BT_VCPU_CR8));
			bt->stats.in_tc++;
			break;
		case PLAN_RET:
			emit_ret(&e,
				 zi.operand_count_visible
					 ? (uint16_t)ops[0].imm.value.u
					 : 0,
				 rip);
			bt->stats.in_tc++;
			end = true;
			break;
		case PLAN_CR8_WRITE:
			emit_cr8_write(&e, gpr_num(ops[1].reg.value), rip,
				       next);
			bt->stats.in_tc++;
			break;
		case PLAN_POPF:
			emit_popf(&e, rip, next);
			bt->stats.in_tc++;
			break;
		case PLAN_BRANCH: {
			uint64_t target;

			ZydisCalcAbsoluteAddress(&zi, &ops[0], rip, &target);
			if (zi.mnemonic == ZYDIS_MNEMONIC_CALL &&
			    !fits_s32(next)) {
				emit_callout(&e, BT_CALLOUT_UNIMPL, rip, next);
			} else {
				emit_branch(&e, &zi, rip, next, target);
			}
			end = true;
			break;
		}
		}
		rip = next;
	}
	if (!end)
		emit_jmp(&e, rip, rip); /* fall into the next block */
	/* The stubs, after the block's code. */
	for (unsigned int i = 0; i < e.nr_exits; i++) {
		struct pending_exit *x = &e.exits[i];
		uint64_t from = bt->cfg.tc_gva + x->patch_off + 4;

		put32(e.out + x->patch_off,
		      (uint32_t)(bt->cfg.tc_gva + e.pos - from));
		add_site(bt, e.pos, BT_CALLOUT_EXIT, x->guest_rip, x->guest_rip,
			 x->target, x->patch_off);
		e.out[e.pos++] = 0x0f;
		e.out[e.pos++] = 0x01;
		e.out[e.pos++] = 0xc1;
		e.out[e.pos++] = 0xcc;
		e.out[e.pos++] = 0xcc;
	}
	add_block(bt, rip0, *tc_off);
	tc_commit(bt, *tc_off, e.pos - *tc_off);
	bt->used = e.pos;
	bt->stats.tc_bytes = bt->used - BT_VCPU_PAGE;
	bt->stats.blocks++;
	return 0;
}

int bt_translate(struct bt *bt, uint64_t guest_rip, uint64_t *tc_rip)
{
	int32_t b = find_block(bt, guest_rip);
	uint32_t off;
	int ret;

	if (b >= 0) {
		*tc_rip = bt->cfg.tc_gva + bt->blocks[b].tc_off;
		return 0;
	}
	ret = translate_block(bt, guest_rip, &off);
	if (ret)
		return ret;
	*tc_rip = bt->cfg.tc_gva + off;
	return 0;
}
