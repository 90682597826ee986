/* SPDX-License-Identifier: MIT */
/*
 * diff_model.c - runs one case in the model: a machine whose 4-level page
 * tables map the case region at the same linear address as on the host
 * (code page, sandbox; the gap and guard pages not present), a GDT with
 * user segments, a TSS whose RSP0 takes exceptions off the sandbox, and an
 * IDT whose handlers halt. The vCPU runs the instruction at CPL 3 with an
 * instruction limit of one. SDM Vol. 3A 4.5, 5.8.2, 6.12.1, 6.14. Host
 * side, tests only; the model is reached through vtx/vtx.h.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arch/x86_paging.h"
#include "arch/x86_regs.h"
#include "arch/x86_seg.h"
#include "tests/cpu/diff.h"
#include "vtx/vtx.h"

/*
 * Guest-physical layout; the system area is identity-mapped for CPL 0:
 *
 *   0x01000  GDT            0x02000  IDT
 *   0x03000  256 stubs of 16 bytes, each a HLT
 *   0x04000  TSS            0x08000-0x10000  ring-0 stack
 *   0x10000  page tables, allocated upwards
 *   0x20000  the code page
 *   0x21000  sandbox page 1, 0x22000 sandbox page 0: the order is
 *            swapped so that an access crossing the sandbox's middle
 *            must translate both pages
 */
#define M_GDT 0x1000ull
#define M_IDT 0x2000ull
#define M_STUBS 0x3000ull
#define M_STUB_SIZE 16
#define M_TSS 0x4000ull
#define M_SYS_END 0x10000ull
#define M_STACK_TOP 0x10000ull
#define M_TABLES 0x10000ull
#define M_TABLES_END 0x20000ull
#define M_CODE 0x20000ull
#define M_SANDBOX1 0x21000ull
#define M_SANDBOX0 0x22000ull
#define M_ARENA 0x40000ull

#define SEL_KCODE 0x08
#define SEL_KDATA 0x10
#define SEL_UDATA 0x1b
#define SEL_UCODE 0x23
#define SEL_TSS 0x28

struct diff_model {
	struct vtx_machine *m;
	struct vtx_cpu *cpu;
	struct kvm_sregs sregs;
	struct diff_where where;
	uint64_t next_table;
};

static uint64_t *phys(struct diff_model *d, uint64_t pa)
{
	return vtx_hpa_ptr(d->m, pa, 8);
}

/* Maps the 4-KiB page at linear address la to pa with leaf flags f. The
 * upper levels allow everything, so the leaf alone decides (SDM Vol. 3A
 * 4.6.1). */
static int map_page(struct diff_model *d, uint64_t la, uint64_t pa, uint64_t f)
{
	uint64_t table = M_TABLES;

	for (int level = 4; level > 1; level--) {
		uint64_t *e =
			phys(d, table + ((la >> (3 + 9 * level)) & 511) * 8);

		if (!(*e & PTE_P)) {
			if (d->next_table >= M_TABLES_END)
				return -ENOSPC;
			*e = d->next_table | PTE_P | PTE_RW | PTE_US;
			d->next_table += 4096;
		}
		table = *e & PTE_ADDR_MASK;
	}
	*phys(d, table + ((la >> 12) & 511) * 8) = pa | f;
	return 0;
}

static struct kvm_segment flat(uint16_t sel, uint8_t type, bool code,
			       unsigned int dpl)
{
	return (struct kvm_segment){
		.limit = 0xffffffff,
		.selector = sel,
		.type = type,
		.present = 1,
		.dpl = (uint8_t)dpl,
		.db = !code,
		.s = 1,
		.l = code,
		.g = 1,
	};
}

static int build(struct diff_model *d)
{
	struct kvm_segment tr = {
		.base = M_TSS,
		.limit = X86_TSS64_LIMIT,
		.selector = SEL_TSS,
		.type = SEG_TYPE_TSS64_BUSY,
		.present = 1,
	};
	struct kvm_segment s;
	struct x86_tss64 tss;
	uint64_t gdt[8] = { 0 }, base = d->where.base, *p;
	uint8_t *code;
	int err = 0;

	s = flat(SEL_KCODE, SEG_TYPE_CODE_XR_ACCESSED, true, 0);
	gdt[SEL_INDEX(SEL_KCODE)] = x86_seg_encode_desc(&s);
	s = flat(SEL_KDATA, SEG_TYPE_DATA_RW_ACCESSED, false, 0);
	gdt[SEL_INDEX(SEL_KDATA)] = x86_seg_encode_desc(&s);
	s = flat(SEL_UDATA, SEG_TYPE_DATA_RW_ACCESSED, false, 3);
	gdt[SEL_INDEX(SEL_UDATA)] = x86_seg_encode_desc(&s);
	s = flat(SEL_UCODE, SEG_TYPE_CODE_XR_ACCESSED, true, 3);
	gdt[SEL_INDEX(SEL_UCODE)] = x86_seg_encode_desc(&s);
	gdt[SEL_INDEX(SEL_TSS)] =
		x86_seg_encode_sys_desc(&tr, &gdt[SEL_INDEX(SEL_TSS) + 1]);
	vtx_hpa_write(d->m, M_GDT, gdt, sizeof(gdt));

	memset(&tss, 0, sizeof(tss));
	tss.rsp[0] = M_STACK_TOP;
	tss.iomap_base = sizeof(tss);
	vtx_hpa_write(d->m, M_TSS, &tss, sizeof(tss));

	for (unsigned int v = 0; v < 256; v++) {
		uint64_t stub = M_STUBS + v * M_STUB_SIZE;
		struct x86_idt_gate64 g;
		uint8_t hlt = 0xf4;

		vtx_hpa_write(d->m, stub, &hlt, 1);
		x86_idt_build_gate64(&g, stub, SEL_KCODE, 0,
				     SEG_TYPE_INT_GATE64, 0);
		vtx_hpa_write(d->m, M_IDT + v * sizeof(g), &g, sizeof(g));
	}

	/* Code after the case's instruction: HLT, which ends the decoded
	 * block and never runs (the limit stops the vCPU first). */
	code = vtx_hpa_ptr(d->m, M_CODE, 4096);
	memset(code, 0xf4, 4096);

	d->next_table = M_TABLES + 4096;
	p = phys(d, M_TABLES);
	memset(p, 0, 4096);
	for (uint64_t pa = 0x1000; pa < M_SYS_END && !err; pa += 4096)
		err = map_page(d, pa, pa, PTE_P | PTE_RW);
	if (err)
		return err;
	/* The region: code read-only (a store there is a generator bug the
	 * run reports), the sandbox read-write, the gap and guard absent. */
	if (base < M_SYS_END ||
	    (err = map_page(d, base + DIFF_CODE_OFF, M_CODE, PTE_P | PTE_US)) ||
	    (err = map_page(d, base + DIFF_SANDBOX_OFF, M_SANDBOX0,
			    PTE_P | PTE_RW | PTE_US | PTE_NX)) ||
	    (err = map_page(d, base + DIFF_SANDBOX_OFF + 4096, M_SANDBOX1,
			    PTE_P | PTE_RW | PTE_US | PTE_NX)))
		return err ? err : -EINVAL;

	memset(&d->sregs, 0, sizeof(d->sregs));
	if (vtx_cpu_get_sregs(d->cpu, &d->sregs))
		return -EINVAL;
	d->sregs.cs = flat(SEL_UCODE, SEG_TYPE_CODE_XR_ACCESSED, true, 3);
	d->sregs.ss = flat(SEL_UDATA, SEG_TYPE_DATA_RW_ACCESSED, false, 3);
	d->sregs.ds = d->sregs.ss;
	d->sregs.es = d->sregs.ss;
	d->sregs.fs = d->sregs.ss;
	d->sregs.gs = d->sregs.ss;
	d->sregs.tr = tr;
	d->sregs.ldt = (struct kvm_segment){ .unusable = 1 };
	d->sregs.gdt.base = M_GDT;
	d->sregs.gdt.limit = sizeof(gdt) - 1;
	d->sregs.idt.base = M_IDT;
	d->sregs.idt.limit = 256 * 16 - 1;
	d->sregs.cr0 = X86_CR0_PE | X86_CR0_MP | X86_CR0_ET | X86_CR0_NE |
		       X86_CR0_WP | X86_CR0_PG;
	d->sregs.cr3 = M_TABLES;
	d->sregs.cr4 = X86_CR4_PAE;
	d->sregs.efer = EFER_SCE | EFER_LME | EFER_LMA | EFER_NX;
	return 0;
}

static void teardown(struct diff_model *d)
{
	vtx_machine_destroy(d->m); /* and its vCPU */
	d->m = NULL;
	d->cpu = NULL;
}

static int setup(struct diff_model *d)
{
	struct vtx_machine_config cfg = { .arena_size = M_ARENA };
	int err;

	err = vtx_machine_create(&cfg, &d->m);
	if (!err)
		err = vtx_cpu_create(d->m, &d->cpu);
	if (!err)
		err = build(d);
	if (err)
		teardown(d);
	return err;
}

int diff_model_create(const struct diff_where *w, struct diff_model **out)
{
	struct diff_model *d = calloc(1, sizeof(*d));
	int err;

	*out = NULL;
	if (!d)
		return -ENOMEM;
	d->where = *w;
	err = setup(d);
	if (err) {
		free(d);
		return err;
	}
	*out = d;
	return 0;
}

void diff_model_destroy(struct diff_model *d)
{
	if (!d)
		return;
	teardown(d);
	free(d);
}

/* Vectors that push an error code (SDM Vol. 3A 6.13, Table 6-1). */
static bool has_error_code(int v)
{
	return v == 8 || (v >= 10 && v <= 14) || v == 17 || v == 21 ||
	       v == 29 || v == 30;
}

/* A page in the region's gap or guard: a fault there is a fault case;
 * anywhere else it means the case reached outside the region. */
static bool in_gap_or_guard(const struct diff_where *w, uint64_t la)
{
	uint64_t off = la - w->base;

	return la >= w->base &&
	       ((off >= DIFF_GAP_OFF && off < DIFF_GAP_OFF + 4096) ||
		(off >= DIFF_GUARD_OFF && off < DIFF_GUARD_OFF + 4096));
}

void diff_model_run(struct diff_model *d, const struct diff_case *c,
		    struct diff_result *r)
{
	uint64_t rip = d->where.base + DIFF_CODE_OFF + DIFF_INSN_END - c->len;
	struct kvm_regs regs;
	struct kvm_sregs sregs;
	struct vtx_stop stop;

	memset(r, 0, offsetof(struct diff_result, mem));
	r->vector = -1;
	/* A triple fault leaves the vCPU shut down: start a fresh machine. */
	if (!d->m && setup(d)) {
		r->vector = -2;
		return;
	}
	vtx_hpa_write(d->m, M_CODE + DIFF_INSN_END - c->len, c->bytes, c->len);
	vtx_hpa_write(d->m, M_SANDBOX0, c->mem, 4096);
	vtx_hpa_write(d->m, M_SANDBOX1, c->mem + 4096, 4096);

	memset(&regs, 0, sizeof(regs));
	regs.rax = c->in.gpr[0];
	regs.rcx = c->in.gpr[1];
	regs.rdx = c->in.gpr[2];
	regs.rbx = c->in.gpr[3];
	regs.rsp = c->in.gpr[4];
	regs.rbp = c->in.gpr[5];
	regs.rsi = c->in.gpr[6];
	regs.rdi = c->in.gpr[7];
	regs.r8 = c->in.gpr[8];
	regs.r9 = c->in.gpr[9];
	regs.r10 = c->in.gpr[10];
	regs.r11 = c->in.gpr[11];
	regs.r12 = c->in.gpr[12];
	regs.r13 = c->in.gpr[13];
	regs.r14 = c->in.gpr[14];
	regs.r15 = c->in.gpr[15];
	regs.rip = rip;
	regs.rflags = X86_EFLAGS_FIXED |
		      (c->in.rflags & (X86_EFLAGS_ARITH_MASK | X86_EFLAGS_DF));
	if (vtx_cpu_set_sregs(d->cpu, &d->sregs) ||
	    vtx_cpu_set_regs(d->cpu, &regs)) {
		r->vector = -2;
		return;
	}
	vtx_cpu_set_insn_limit(d->cpu, 1);
	if (vtx_cpu_run(d->cpu, &stop)) {
		r->vector = -2;
		return;
	}
	vtx_cpu_get_regs(d->cpu, &regs);
	vtx_cpu_get_sregs(d->cpu, &sregs);
	r->st.gpr[0] = regs.rax;
	r->st.gpr[1] = regs.rcx;
	r->st.gpr[2] = regs.rdx;
	r->st.gpr[3] = regs.rbx;
	r->st.gpr[4] = regs.rsp;
	r->st.gpr[5] = regs.rbp;
	r->st.gpr[6] = regs.rsi;
	r->st.gpr[7] = regs.rdi;
	r->st.gpr[8] = regs.r8;
	r->st.gpr[9] = regs.r9;
	r->st.gpr[10] = regs.r10;
	r->st.gpr[11] = regs.r11;
	r->st.gpr[12] = regs.r12;
	r->st.gpr[13] = regs.r13;
	r->st.gpr[14] = regs.r14;
	r->st.gpr[15] = regs.r15;
	r->st.rflags = regs.rflags;
	r->rip = regs.rip;

	if (stop.reason == VTX_STOP_HALTED && stop.rip >= M_STUBS &&
	    stop.rip < M_STUBS + 256 * M_STUB_SIZE) {
		/* The vCPU halted in a stub: the frame on the ring-0 stack
		 * holds RIP, CS, RFLAGS, RSP, SS of the faulting instruction,
		 * after the error code if there is one (SDM Vol. 3A 6.14.2). */
		uint64_t frame[6] = { 0 };
		int k = 0;

		r->vector = (int)((stop.rip - M_STUBS) / M_STUB_SIZE);
		vtx_hpa_read(d->m, regs.rsp, frame, sizeof(frame));
		if (has_error_code(r->vector))
			r->error_code = frame[k++];
		r->rip = frame[k];
		r->st.rflags = frame[k + 2];
		r->st.gpr[4] = frame[k + 3];
		if (r->vector == 14) {
			r->cr2 = sregs.cr2;
			r->wild = !in_gap_or_guard(&d->where, sregs.cr2);
		}
	} else if (stop.reason != VTX_STOP_INSN_LIMIT) {
		r->vector = -2;
		snprintf(r->why, sizeof(r->why), "%s", stop.why);
		if (stop.reason == VTX_STOP_TRIPLE_FAULT)
			teardown(d);
	}
	vtx_hpa_read(d->m, M_SANDBOX0, r->mem, 4096);
	vtx_hpa_read(d->m, M_SANDBOX1, r->mem + 4096, 4096);
}
