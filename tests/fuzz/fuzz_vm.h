/* SPDX-License-Identifier: MIT */
/*
 * fuzz_vm.h - one L0 VM that the nested fuzz targets reuse across inputs:
 * built once, then made new before every input by zeroing the arena
 * (vtx_hpa_zero()) and writing the boot memory again,
 * resetting the vCPU (vtx_cpu_reset()) and rebuilding L0's nested state
 * (l0_vm_init()). The isolation checks every nested
 * target makes after a run live here too: the L0-area snapshot with its
 * canary pages, and "every ept02 leaf maps L1's RAM". Host side, tests
 * only; docs/fuzzing.md.
 */
#ifndef NESTVM_TESTS_FUZZ_VM_H
#define NESTVM_TESTS_FUZZ_VM_H

#include "arch/types.h"
#include "l0/boot.h"
#include "l0/dev/debug_exit.h"
#include "l0/iobus.h"
#include "l0/vm.h"

#define FUZZ_VM_CANARY 0x5a

struct fuzz_vm {
	struct vtx_machine *m;
	struct vtx_cpu *cpu;
	struct io_bus bus;
	struct debug_exit dexit;
	struct boot_params bp;
	struct l0_vm vm;
	uint64_t l1_ram, area_size;
	uint8_t *arena; /* the arena, as a host pointer */
	uint8_t *area_snap; /* the L0 area before L1 ran */
	hpa_t next_before; /* the L0 area's first free page then */
};

/*
 * The VM for the next input: L1's RAM [0, l1_ram) with the boot contract's
 * memory (code entry at entry), an L0 area of area_size bytes after it,
 * the vCPU in L1's boot state and L0 set up (l0_vm_init()). The first call
 * builds it; later calls (with the same sizes) make it new again.
 */
void fuzz_vm_start(struct fuzz_vm *f, uint64_t l1_ram, uint64_t area_size,
		   uint64_t entry);

/* Writes into L1's RAM before the run (aborts if outside the arena). */
void fuzz_vm_put(struct fuzz_vm *f, gpa_t at, const void *p, size_t n);
void fuzz_vm_put64(struct fuzz_vm *f, gpa_t at, uint64_t v);

/* Fills the L0 area's free pages with the canary and snapshots the area:
 * call right before l0_vm_run(). */
void fuzz_vm_snapshot_area(struct fuzz_vm *f);

/*
 * The invariants after a run: it did not stop for L0's own failure or a
 * failed VMREAD/VMWRITE of L0; every L0-area page other than vmcs01,
 * vmcs02, the shadow VMCS and ept02's pool is byte-identical to the
 * snapshot; only ept02 took pages; every ept02 leaf maps L1's RAM. Then
 * tears L0's nested state down for the next input.
 */
void fuzz_vm_check_and_finish(struct fuzz_vm *f);

#endif
