/* SPDX-License-Identifier: MIT */
/*
 * fuzz_vm.c - the reusable L0 VM of the nested fuzz targets and their
 * isolation checks (fuzz_vm.h). Reuse keeps the invariants as strong as a
 * fresh VM per input: the whole arena is zeroed (vtx_hpa_zero)
 * and the boot memory written again, the vCPU is reset to its creation
 * state (vtx_cpu_reset) and L0's nested state is built anew, so no byte
 * and no register of one input reaches the next. Host side, tests only.
 */
#include <string.h>

#include "arch/ept.h"
#include "l0/nvmx.h"
#include "tests/fuzz/fuzz.h"
#include "tests/fuzz/fuzz_vm.h"
#include "vtx/vtx.h"

void fuzz_vm_start(struct fuzz_vm *f, uint64_t l1_ram, uint64_t area_size,
		   uint64_t entry)
{
	struct vtx_machine_config cfg = { .arena_size = l1_ram + area_size };
	char err[256];

	if (!f->m) {
		FUZZ_CHECK(vtx_machine_create(&cfg, &f->m) == 0);
		FUZZ_CHECK(vtx_cpu_create(f->m, &f->cpu) == 0);
		f->l1_ram = l1_ram;
		f->area_size = area_size;
		f->arena = vtx_hpa_ptr(f->m, 0, cfg.arena_size);
		f->area_snap = malloc(area_size);
		FUZZ_CHECK(f->arena && f->area_snap);
	}
	FUZZ_CHECK(f->l1_ram == l1_ram && f->area_size == area_size);
	/* L1's RAM goes back to the host (only what the last input touched
	 * faults in again); the L0 area stays resident, as every free page
	 * of it gets the canary anyway. */
	FUZZ_CHECK(vtx_hpa_zero(f->m, 0, l1_ram) == 0);
	memset(f->arena + l1_ram, 0, area_size);
	FUZZ_CHECK(vtx_cpu_reset(f->cpu) == 0);
	FUZZ_CHECK(boot_init_params(&f->bp, l1_ram, entry, entry,
				    entry + PAGE_SIZE, NULL, err,
				    sizeof(err)) == 0);
	FUZZ_CHECK(boot_write_memory(f->m, &f->bp, err, sizeof(err)) == 0);
	FUZZ_CHECK(boot_setup_cpu(f->cpu, &f->bp, err, sizeof(err)) == 0);
	io_bus_init(&f->bus);
	debug_exit_init(&f->dexit, false);
	FUZZ_CHECK(debug_exit_register(&f->dexit, &f->bus, DEBUG_EXIT_BASE) ==
		   0);
	FUZZ_CHECK(l0_vm_init(&f->vm, f->m, f->cpu, &f->bus, l1_ram, err,
			      sizeof(err)) == 0);
}

void fuzz_vm_put(struct fuzz_vm *f, gpa_t at, const void *p, size_t n)
{
	FUZZ_CHECK(at < f->l1_ram && n <= f->l1_ram - at);
	FUZZ_CHECK(vtx_hpa_write(f->m, at, p, n) == 0);
}

void fuzz_vm_put64(struct fuzz_vm *f, gpa_t at, uint64_t v)
{
	fuzz_vm_put(f, at, &v, 8);
}

void fuzz_vm_snapshot_area(struct fuzz_vm *f)
{
	uint8_t *area = f->arena + f->l1_ram;

	f->next_before = f->vm.area.next;
	memset(area + (f->next_before - f->l1_ram), FUZZ_VM_CANARY,
	       f->vm.area.end - f->next_before);
	memcpy(f->area_snap, area, f->area_size);
}

/* Pages of the L0 area that L0 or the processor write while L1 and L2
 * run: vmcs01, vmcs02 and the shadow VMCS (their contents are the
 * processor's) and ept02's table pool. The VMXON region, ept01 and L0's
 * bitmaps must not change. */
static bool l0_writes_page(const struct l0_vm *vm, hpa_t page)
{
	const struct ept02 *e = &vm->nvmx->ept02;

	if (page == vm->vmcs01 || page == vm->vmcs02 ||
	    (vm->shadow_vmcs && page == vm->shadow_vmcs))
		return true;
	for (size_t i = 0; i < e->pool_len; i++)
		if (e->pool[i] == page)
			return true;
	return false;
}

/* Every ept02 leaf reachable from its root maps L1's RAM (4 KiB leaves),
 * and every table is an L0-area page. */
static void check_ept02(struct fuzz_vm *f, hpa_t table, int level)
{
	const uint64_t *t = vtx_hpa_ptr(f->m, table, PAGE_SIZE);

	FUZZ_CHECK(t != NULL);
	FUZZ_CHECK(table >= f->l1_ram);
	for (unsigned int i = 0; i < PAGE_SIZE / 8; i++) {
		hpa_t to = t[i] & EPT_ADDR_MASK;

		if (!(t[i] & EPT_RWX))
			continue;
		if (level > 1)
			check_ept02(f, to, level - 1);
		else
			FUZZ_CHECK(to < f->l1_ram);
	}
}

void fuzz_vm_check_and_finish(struct fuzz_vm *f)
{
	struct l0_vm *vm = &f->vm;
	const uint8_t *area = f->arena + f->l1_ram;

	if (vm->stop.reason == L0_STOP_INTERNAL)
		fprintf(stderr, "L0 stopped on its own failure: %s\n",
			vm->stop.why);
	FUZZ_CHECK(vm->stop.reason != L0_STOP_INTERNAL);
	FUZZ_CHECK(vm->vmx_err == 0);
	for (hpa_t page = vm->area.base; page < vm->area.end;
	     page += PAGE_SIZE) {
		size_t off = page - f->l1_ram;

		if (l0_writes_page(vm, page))
			continue;
		/* Only ept02 takes pages once L1 runs. */
		FUZZ_CHECK(page < f->next_before || page >= vm->area.next);
		if (memcmp(area + off, f->area_snap + off, PAGE_SIZE))
			fprintf(stderr, "L0 area page 0x%llx changed\n",
				(unsigned long long)page);
		FUZZ_CHECK(!memcmp(area + off, f->area_snap + off, PAGE_SIZE));
	}
	if (vm->nvmx->ept02.root)
		check_ept02(f, vm->nvmx->ept02.root, 4);
	l0_vm_destroy(vm);
}
