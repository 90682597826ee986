/* SPDX-License-Identifier: MIT */
/*
 * vtx_harness.c - the shared fixture of the CPU-model tests: builds the
 * GDT, TSS, IDT and identity-mapping page tables of vtx_harness.h in a
 * fresh machine and puts the vCPU in 64-bit mode at CPL 0 (SDM Vol. 3A
 * 3.4.5, 4.5, 6.14, 8.7, 10.8.5). Host side, tests only.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "arch/x86_paging.h"
#include "arch/x86_seg.h"
#include "tests/unit/vtx_harness.h"

static int harness_pio(void *opaque, struct vtx_pio *io)
{
	struct harness *h = opaque;

	if (io->dir == VTX_PIO_IN)
		io->data = h->in_data;
	if (h->nr_pio < HARNESS_PIO_MAX)
		h->pio[h->nr_pio] = *io;
	h->nr_pio++;
	if (io->dir == VTX_PIO_OUT && io->port == HARNESS_STOP_PORT)
		return VTX_PIO_STOP;
	if (io->dir == VTX_PIO_OUT && h->request_stop_port &&
	    io->port == h->request_stop_port) {
		h->request_stop_port = 0;
		vtx_cpu_request_stop(h->cpu);
	}
	return VTX_PIO_DONE;
}

static const struct vtx_platform_ops harness_ops = { .pio = harness_pio };

static struct kvm_segment flat_seg(uint16_t sel, uint8_t type, bool code,
				   unsigned int dpl)
{
	return (struct kvm_segment){
		.limit = 0xffffffff,
		.selector = sel,
		.type = type,
		.present = 1,
		.dpl = (uint8_t)dpl,
		.db = !code, /* a 64-bit code segment has L = 1, D = 0 */
		.s = 1,
		.l = code,
		.g = 1,
	};
}

static struct kvm_segment tss_seg(void)
{
	return (struct kvm_segment){
		.base = HARNESS_TSS,
		.limit = HARNESS_TSS_LIMIT,
		.selector = SEL_TSS,
		.type = SEG_TYPE_TSS64_BUSY,
		.present = 1,
	};
}

static void build_gdt_tss_idt(struct harness *h)
{
	struct kvm_segment tr = tss_seg();
	uint64_t gdt[16] = { 0 };
	struct x86_tss64 tss;
	uint8_t stub[HARNESS_STUB_SIZE];
	struct kvm_segment s;

	s = flat_seg(SEL_KCODE, SEG_TYPE_CODE_XR_ACCESSED, true, 0);
	gdt[SEL_INDEX(SEL_KCODE)] = x86_seg_encode_desc(&s);
	s = flat_seg(SEL_KDATA, SEG_TYPE_DATA_RW_ACCESSED, false, 0);
	gdt[SEL_INDEX(SEL_KDATA)] = x86_seg_encode_desc(&s);
	s = flat_seg(SEL_UDATA, SEG_TYPE_DATA_RW_ACCESSED, false, 3);
	gdt[SEL_INDEX(SEL_UDATA)] = x86_seg_encode_desc(&s);
	s = flat_seg(SEL_UCODE, SEG_TYPE_CODE_XR_ACCESSED, true, 3);
	gdt[SEL_INDEX(SEL_UCODE)] = x86_seg_encode_desc(&s);
	gdt[SEL_INDEX(SEL_TSS)] =
		x86_seg_encode_sys_desc(&tr, &gdt[SEL_INDEX(SEL_TSS) + 1]);
	harness_load(h, HARNESS_GDT, gdt, sizeof(gdt));

	memset(&tss, 0, sizeof(tss));
	tss.rsp[0] = HARNESS_RSP0_TOP;
	tss.ist[1] = HARNESS_IST1_TOP;
	tss.iomap_base = HARNESS_IOMAP_OFF;
	harness_load(h, HARNESS_TSS, &tss, sizeof(tss));
	/* Every port denied at CPL 3 until a test allows it; the byte after
	 * the bitmap must be all ones. */
	memset(vtx_hpa_ptr(h->m, HARNESS_TSS + HARNESS_IOMAP_OFF, 8193), 0xff,
	       8193);

	memset(stub, 0x90, sizeof(stub)); /* nop padding */
	stub[0] = 0xf4; /* hlt */
	for (unsigned int v = 0; v < 256; v++) {
		uint64_t at = HARNESS_STUBS + v * HARNESS_STUB_SIZE;

		harness_load(h, at, stub, sizeof(stub));
		harness_set_gate(h, v, at, 0, SEG_TYPE_INT_GATE64, 0);
	}
}

/* Identity map [4 KiB, 2 MiB) with 4-KiB pages and [2 MiB, 4 MiB) with one
 * 2-MiB page. The upper levels allow everything (R/W, U/S), so the leaf
 * alone decides (SDM Vol. 3A 4.6.1). */
static void build_page_tables(struct harness *h)
{
	uint64_t t[PT_ENTRIES];

	memset(t, 0, sizeof(t));
	t[0] = HARNESS_PDPT | PTE_P | PTE_RW | PTE_US;
	harness_load(h, HARNESS_PML4, t, sizeof(t));
	t[0] = HARNESS_PD | PTE_P | PTE_RW | PTE_US;
	harness_load(h, HARNESS_PDPT, t, sizeof(t));
	t[0] = HARNESS_PT | PTE_P | PTE_RW | PTE_US;
	t[1] = BIG_PAGE | PTE_P | PTE_RW | PTE_PS;
	harness_load(h, HARNESS_PD, t, sizeof(t));
	memset(t, 0, sizeof(t));
	for (uint64_t i = 1; i < PT_ENTRIES; i++) {
		uint64_t pa = i * PAGE_SIZE;

		t[i] = pa | PTE_P | PTE_RW;
		if (pa >= USER_CODE && pa < USER_END)
			t[i] |= PTE_US;
	}
	harness_load(h, HARNESS_PT, t, sizeof(t));
}

static void init_state(struct harness *h)
{
	struct kvm_sregs *s = &h->sregs;

	assert_int_equal(vtx_cpu_get_sregs(h->cpu, s), 0);
	s->cs = flat_seg(SEL_KCODE, SEG_TYPE_CODE_XR_ACCESSED, true, 0);
	s->ds = flat_seg(SEL_KDATA, SEG_TYPE_DATA_RW_ACCESSED, false, 0);
	s->es = s->ds;
	s->fs = s->ds;
	s->gs = s->ds;
	s->ss = s->ds;
	s->tr = tss_seg();
	s->ldt = (struct kvm_segment){ .unusable = 1 };
	s->gdt.base = HARNESS_GDT;
	s->gdt.limit = 16 * 8 - 1;
	s->idt.base = HARNESS_IDT;
	s->idt.limit = 256 * 16 - 1;
	s->cr0 = X86_CR0_PE | X86_CR0_MP | X86_CR0_ET | X86_CR0_NE |
		 X86_CR0_WP | X86_CR0_PG;
	s->cr2 = 0;
	s->cr3 = HARNESS_PML4;
	s->cr4 = X86_CR4_PAE;
	s->efer = EFER_LME | EFER_LMA | EFER_NX;

	memset(&h->regs, 0, sizeof(h->regs));
	h->regs.rip = CODE_BASE;
	h->regs.rsp = HARNESS_STACK_TOP;
	h->regs.rflags = X86_EFLAGS_FIXED;
}

int harness_setup(void **state)
{
	struct vtx_machine_config cfg = {
		.arena_size = HARNESS_ARENA,
		.ops = &harness_ops,
	};
	struct harness *h = calloc(1, sizeof(*h));

	if (!h)
		return -1;
	cfg.opaque = h;
	if (vtx_machine_create(&cfg, &h->m) || vtx_cpu_create(h->m, &h->cpu)) {
		vtx_machine_destroy(h->m);
		free(h);
		return -1;
	}
	build_gdt_tss_idt(h);
	build_page_tables(h);
	init_state(h);
	*state = h;
	return 0;
}

int harness_teardown(void **state)
{
	struct harness *h = *state;

	vtx_machine_destroy(h->m); /* destroys the vCPU too */
	free(h);
	return 0;
}

void harness_load(struct harness *h, uint64_t gpa, const void *bytes,
		  size_t len)
{
	assert_int_equal(vtx_hpa_write(h->m, gpa, bytes, len), 0);
}

uint64_t harness_read64(struct harness *h, uint64_t gpa)
{
	uint64_t v = 0;

	assert_int_equal(vtx_hpa_read(h->m, gpa, &v, sizeof(v)), 0);
	return v;
}

void harness_write64(struct harness *h, uint64_t gpa, uint64_t val)
{
	harness_load(h, gpa, &val, sizeof(val));
}

enum vtx_stop_reason harness_run(struct harness *h, uint64_t n)
{
	assert_int_equal(vtx_cpu_set_sregs(h->cpu, &h->sregs), 0);
	assert_int_equal(vtx_cpu_set_regs(h->cpu, &h->regs), 0);
	vtx_cpu_set_insn_limit(h->cpu, n);
	assert_int_equal(vtx_cpu_run(h->cpu, &h->stop), 0);
	assert_int_equal(vtx_cpu_get_regs(h->cpu, &h->regs), 0);
	assert_int_equal(vtx_cpu_get_sregs(h->cpu, &h->sregs), 0);
	vtx_cpu_get_stats(h->cpu, &h->stats);
	return h->stop.reason;
}

void harness_exec(struct harness *h, const uint8_t *code, size_t len,
		  uint64_t n)
{
	harness_load(h, CODE_BASE, code, len);
	h->regs.rip = CODE_BASE;
	assert_int_equal(harness_run(h, n), VTX_STOP_INSN_LIMIT);
}

enum vtx_stop_reason harness_run_code(struct harness *h, const uint8_t *code,
				      size_t len)
{
	harness_load(h, CODE_BASE, code, len);
	h->regs.rip = CODE_BASE;
	return harness_run(h, 100);
}

int harness_stop_vector(const struct harness *h)
{
	uint64_t off = h->stop.rip - HARNESS_STUBS;

	if (h->stop.reason != VTX_STOP_HALTED || h->stop.rip < HARNESS_STUBS ||
	    off >= 256 * HARNESS_STUB_SIZE || off % HARNESS_STUB_SIZE)
		return -1;
	return (int)(off / HARNESS_STUB_SIZE);
}

uint64_t harness_expect_exception(struct harness *h, int vector,
				  uint64_t error_code, uint64_t rip)
{
	uint64_t frame = h->regs.rsp;

	assert_int_equal(h->stop.reason, VTX_STOP_HALTED);
	assert_int_equal(harness_stop_vector(h), vector);
	if (vector < 32)
		assert_int_equal(h->stats.exceptions[vector], 1);
	if (error_code != HARNESS_NO_ERROR_CODE) {
		assert_int_equal(harness_read64(h, frame), error_code);
		frame += 8;
	}
	assert_int_equal(harness_read64(h, frame), rip);
	return frame;
}

uint64_t *harness_pte(struct harness *h, uint64_t gpa)
{
	assert_true(gpa < BIG_PAGE);
	return vtx_hpa_ptr(h->m, HARNESS_PT + (gpa >> PAGE_SHIFT) * 8, 8);
}

void harness_set_gate(struct harness *h, unsigned int vector, uint64_t handler,
		      unsigned int ist, unsigned int type, unsigned int dpl)
{
	struct x86_idt_gate64 g;

	x86_idt_build_gate64(&g, handler, SEL_KCODE, ist, type, dpl);
	harness_load(h, HARNESS_IDT + vector * sizeof(g), &g, sizeof(g));
}

void harness_allow_port(struct harness *h, uint16_t port, bool allow)
{
	uint8_t *map = vtx_hpa_ptr(h->m, HARNESS_TSS + HARNESS_IOMAP_OFF, 8192);
	uint8_t bit = (uint8_t)(1u << (port & 7));

	if (allow)
		map[port / 8] &= (uint8_t)~bit;
	else
		map[port / 8] |= bit;
}

void harness_enter_user(struct harness *h, uint64_t rip)
{
	h->sregs.cs = flat_seg(SEL_UCODE, SEG_TYPE_CODE_XR_ACCESSED, true, 3);
	h->sregs.ss = flat_seg(SEL_UDATA, SEG_TYPE_DATA_RW_ACCESSED, false, 3);
	h->regs.rip = rip;
	h->regs.rsp = USER_STACK_TOP;
}
