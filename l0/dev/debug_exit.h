/* SPDX-License-Identifier: MIT */
/*
 * debug_exit.h - the ISA debug-exit device at port 0xf4: a guest writes its
 * exit status and the machine stops, the convention QEMU's isa-debug-exit
 * (iobase=0xf4, iosize=4) established for test guests. Monitor side; the
 * device sees only port accesses.
 */
#ifndef NESTVM_L0_DEV_DEBUG_EXIT_H
#define NESTVM_L0_DEV_DEBUG_EXIT_H

#include "l0/iobus.h"

#define DEBUG_EXIT_BASE 0xf4
#define DEBUG_EXIT_NR_PORTS 4 /* 0xf4..0xf7, so a 4-byte write is one access */

struct debug_exit {
	bool qemu_codes; /* report (v << 1) | 1, as QEMU's device does */
	bool written;
	uint32_t value; /* the last value written */
};

void debug_exit_init(struct debug_exit *d, bool qemu_codes);

/* Claims DEBUG_EXIT_NR_PORTS ports at base; see io_bus_register(). */
int debug_exit_register(struct debug_exit *d, struct io_bus *bus,
			uint16_t base);

/*
 * The bus callback (exported for tests): a 1, 2 or 4-byte write of v
 * anywhere in the range records v and returns IO_STOP; reads return all
 * ones and IO_DONE.
 */
int debug_exit_access(void *opaque, struct io_access *io);

/* The process exit status the guest asked for (0..255), or -1 if it wrote
 * nothing: v & 0xff, or ((v << 1) | 1) & 0xff with qemu_codes. */
int debug_exit_status(const struct debug_exit *d);

#endif
