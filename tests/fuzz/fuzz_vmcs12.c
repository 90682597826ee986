/* SPDX-License-Identifier: MIT */
/*
 * fuzz_vmcs12.c - fuzz target for L0's nested VM entry: a 4 KiB vmcs12
 * image of fuzz bytes (revision patched in) is made current by an L1
 * program (VMXON, VMPTRLD) and launched, so that it goes through the
 * nested entry checks, vmcs02 preparation and a short run of L2 and L1
 * (SDM Vol. 3C 27.2, 27.3, 28). Invariants: the run stops for a reason of
 * the guests', never for L0's; every page of the L0 area L0 did not
 * legitimately write (VMCS regions, ept02 tables) is byte-identical to a
 * snapshot taken before, its unused pages keep their canary, and ept02
 * maps nothing outside L1's RAM. Host side, tests only.
 */
#include <string.h>

#include "arch/ept.h"
#include "l0/boot.h"
#include "l0/dev/debug_exit.h"
#include "l0/iobus.h"
#include "l0/nvmx.h"
#include "l0/vm.h"
#include "tests/fuzz/fuzz.h"
#include "tests/fuzz/fuzz_vmcs12.h"
#include "vmcs-merge/caps.h"
#include "vmcs-merge/vmcs12.h"
#include "vtx/vtx.h"

#define FUZZ_VMCS12_INSN_LIMIT 4000
#define FUZZ_VMCS12_CANARY 0x5a

/* f3 0f c7 34 25 a32  vmxon QWORD PTR ds:a32, with CR4.VMXE set first:
 * 0f 20 e0 mov rax, cr4; 48 0d 00 20 00 00 or rax, 0x2000; 0f 22 e0 mov
 * cr4, rax. Then 0f c7 34 25 a32 vmptrld QWORD PTR ds:a32 and 0f 01 c2
 * vmlaunch (c3: vmresume), f4 hlt. */
static size_t l1_program(uint8_t *b, bool resume)
{
	static const uint8_t vmxe[] = { 0x0f, 0x20, 0xe0, 0x48, 0x0d, 0x00,
					0x20, 0x00, 0x00, 0x0f, 0x22, 0xe0 };
	const uint32_t vmxon_op = FUZZ_VMCS12_DATA;
	const uint32_t vmptr_op = FUZZ_VMCS12_DATA + 8;
	size_t n = 0;

	memcpy(b + n, vmxe, sizeof(vmxe));
	n += sizeof(vmxe);
	memcpy(b + n, (const uint8_t[]){ 0xf3, 0x0f, 0xc7, 0x34, 0x25 }, 5);
	n += 5;
	memcpy(b + n, &vmxon_op, 4);
	n += 4;
	memcpy(b + n, (const uint8_t[]){ 0x0f, 0xc7, 0x34, 0x25 }, 4);
	n += 4;
	memcpy(b + n, &vmptr_op, 4);
	n += 4;
	memcpy(b + n, (const uint8_t[]){ 0x0f, 0x01, resume ? 0xc3 : 0xc2 }, 3);
	n += 3;
	b[n++] = 0xf4;
	return n;
}

struct fuzz_vmcs12_vm {
	struct vtx_machine *m;
	struct vtx_cpu *cpu;
	struct io_bus bus;
	struct debug_exit dexit;
	struct boot_params bp;
	struct l0_vm vm;
};

static void put(struct vtx_machine *m, gpa_t at, const void *p, size_t n)
{
	FUZZ_CHECK(vtx_hpa_write(m, at, p, n) == 0);
}

static void put64(struct vtx_machine *m, gpa_t at, uint64_t v)
{
	put(m, at, &v, 8);
}

static void vm_create(struct fuzz_vmcs12_vm *f)
{
	struct vtx_machine_config cfg = {
		.arena_size = FUZZ_VMCS12_L1_RAM + FUZZ_VMCS12_AREA,
	};
	char err[256];

	memset(f, 0, sizeof(*f));
	FUZZ_CHECK(vtx_machine_create(&cfg, &f->m) == 0);
	io_bus_init(&f->bus);
	debug_exit_init(&f->dexit, false);
	FUZZ_CHECK(debug_exit_register(&f->dexit, &f->bus, DEBUG_EXIT_BASE) ==
		   0);
	FUZZ_CHECK(boot_init_params(&f->bp, FUZZ_VMCS12_L1_RAM,
				    FUZZ_VMCS12_L1_CODE, FUZZ_VMCS12_L1_CODE,
				    FUZZ_VMCS12_L1_CODE + PAGE_SIZE, NULL, err,
				    sizeof(err)) == 0);
	FUZZ_CHECK(boot_write_memory(f->m, &f->bp, err, sizeof(err)) == 0);
	FUZZ_CHECK(vtx_cpu_create(f->m, &f->cpu) == 0);
	FUZZ_CHECK(boot_setup_cpu(f->cpu, &f->bp, err, sizeof(err)) == 0);
	FUZZ_CHECK(l0_vm_init(&f->vm, f->m, f->cpu, &f->bus, FUZZ_VMCS12_L1_RAM,
			      err, sizeof(err)) == 0);
}

static void vm_destroy(struct fuzz_vmcs12_vm *f)
{
	l0_vm_destroy(&f->vm);
	vtx_cpu_destroy(f->cpu);
	vtx_machine_destroy(f->m);
}

/* Pages of the L0 area that L0 or the processor write while L1 and L2
 * run: vmcs01 and vmcs02 (their contents are the processor's) and ept02's
 * table pool. The VMXON region, ept01 and L0's bitmaps must not change. */
static bool l0_writes_page(const struct l0_vm *vm, hpa_t page)
{
	const struct ept02 *e = &vm->nvmx->ept02;

	if (page == vm->vmcs01 || page == vm->vmcs02)
		return true;
	for (size_t i = 0; i < e->pool_len; i++)
		if (e->pool[i] == page)
			return true;
	return false;
}

/* Every ept02 leaf reachable from its root maps L1's RAM (4 KiB leaves). */
static void check_ept02(struct vtx_machine *m, hpa_t table, int level)
{
	const uint64_t *t = vtx_hpa_ptr(m, table, PAGE_SIZE);

	FUZZ_CHECK(t != NULL);
	FUZZ_CHECK(table >= FUZZ_VMCS12_L1_RAM);
	for (unsigned int i = 0; i < PAGE_SIZE / 8; i++) {
		hpa_t to = t[i] & EPT_ADDR_MASK;

		if (!(t[i] & EPT_RWX))
			continue;
		if (level > 1)
			check_ept02(m, to, level - 1);
		else
			FUZZ_CHECK(to < FUZZ_VMCS12_L1_RAM);
	}
}

int FUZZ_ENTRY(const uint8_t *data, size_t size)
{
	static struct fuzz_vmcs12_vm f;
	static uint8_t image[FUZZ_VMCS12_IMAGE];
	static uint8_t snap[FUZZ_VMCS12_AREA];
	/* 0f a2 cpuid; f4 hlt */
	static const uint8_t l2_default[] = { 0x0f, 0xa2, 0xf4 };
	const uint8_t *l2 = l2_default;
	size_t l2_len = sizeof(l2_default);
	uint8_t flags = 0, prog[64];
	struct vmcs12 *v = (struct vmcs12 *)image;
	uint8_t *area;
	hpa_t next_before;

	memset(image, 0, sizeof(image));
	memcpy(image, data, size < sizeof(image) ? size : sizeof(image));
	if (size > FUZZ_VMCS12_IMAGE) {
		flags = data[FUZZ_VMCS12_IMAGE];
		if (size > FUZZ_VMCS12_IMAGE + 1) {
			l2 = data + FUZZ_VMCS12_IMAGE + 1;
			l2_len = size - FUZZ_VMCS12_IMAGE - 1;
			if (l2_len > FUZZ_VMCS12_L2_CODE_MAX)
				l2_len = FUZZ_VMCS12_L2_CODE_MAX;
		}
	}
	v->revision_id = VMCS12_REVISION;
	if (!(flags & FUZZ_VMCS12_RAW_LAUNCH))
		v->launch_state = flags & FUZZ_VMCS12_RESUME
					  ? VMCS12_LAUNCH_LAUNCHED
					  : VMCS12_LAUNCH_CLEAR;

	vm_create(&f);
	put(f.m, FUZZ_VMCS12_L1_CODE, prog,
	    l1_program(prog, flags & FUZZ_VMCS12_RESUME));
	put(f.m, FUZZ_VMCS12_L1_HOST_RIP, l2_default + 2, 1);
	put(f.m, FUZZ_VMCS12_L2_CODE, l2, l2_len);
	put64(f.m, FUZZ_VMCS12_DATA, FUZZ_VMCS12_VMXON);
	put64(f.m, FUZZ_VMCS12_DATA + 8, FUZZ_VMCS12_VMCS);
	put(f.m, FUZZ_VMCS12_VMXON, &v->revision_id, 4);
	put(f.m, FUZZ_VMCS12_VMCS, image, sizeof(image));
	/* ept12: L2-physical [0, 2 MiB) to the same L1-physical range. */
	put64(f.m, FUZZ_VMCS12_EPT12, (FUZZ_VMCS12_EPT12 + 0x1000) | EPT_RWX);
	put64(f.m, FUZZ_VMCS12_EPT12 + 0x1000,
	      (FUZZ_VMCS12_EPT12 + 0x2000) | EPT_RWX);
	put64(f.m, FUZZ_VMCS12_EPT12 + 0x2000,
	      EPT_RWX | EPT_LARGE | EPT_MT(EPT_MT_WB));

	/* The snapshot: what L0 set up, and a canary in every free page. */
	area = vtx_hpa_ptr(f.m, FUZZ_VMCS12_L1_RAM, FUZZ_VMCS12_AREA);
	FUZZ_CHECK(area != NULL);
	next_before = f.vm.area.next;
	memset(area + (next_before - FUZZ_VMCS12_L1_RAM), FUZZ_VMCS12_CANARY,
	       f.vm.area.end - next_before);
	memcpy(snap, area, sizeof(snap));

	l0_vm_run(&f.vm, FUZZ_VMCS12_INSN_LIMIT);

	if (f.vm.stop.reason == L0_STOP_INTERNAL)
		fprintf(stderr, "L0 stopped on its own failure: %s\n",
			f.vm.stop.why);
	FUZZ_CHECK(f.vm.stop.reason != L0_STOP_INTERNAL);
	FUZZ_CHECK(f.vm.vmx_err == 0);
	for (hpa_t page = f.vm.area.base; page < f.vm.area.end;
	     page += PAGE_SIZE) {
		size_t off = page - FUZZ_VMCS12_L1_RAM;

		if (l0_writes_page(&f.vm, page))
			continue;
		/* Only ept02 takes pages once L1 runs. */
		FUZZ_CHECK(page < next_before || page >= f.vm.area.next);
		if (memcmp(area + off, snap + off, PAGE_SIZE))
			fprintf(stderr, "L0 area page 0x%llx changed\n",
				(unsigned long long)page);
		FUZZ_CHECK(!memcmp(area + off, snap + off, PAGE_SIZE));
	}
	if (f.vm.nvmx->ept02.root)
		check_ept02(f.m, f.vm.nvmx->ept02.root, 4);
	vm_destroy(&f);
	return 0;
}
