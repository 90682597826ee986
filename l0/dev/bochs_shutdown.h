/* SPDX-License-Identifier: MIT */
/*
 * bochs_shutdown.h - the shutdown port at 0x8900: a guest that writes the
 * bytes of "Shutdown" there, one after the other, stops the machine, the
 * convention of Bochs' BIOS and of test kernels written for it. Monitor
 * side; the device sees only port accesses.
 */
#ifndef NESTVM_L0_DEV_BOCHS_SHUTDOWN_H
#define NESTVM_L0_DEV_BOCHS_SHUTDOWN_H

#include "l0/iobus.h"

#define BOCHS_SHUTDOWN_BASE 0x8900
#define BOCHS_SHUTDOWN_NR_PORTS 1

struct bochs_shutdown {
	unsigned int matched; /* bytes of "Shutdown" seen in a row */
	bool done; /* the whole word was written: the machine stopped */
};

void bochs_shutdown_init(struct bochs_shutdown *d);

/* Claims BOCHS_SHUTDOWN_NR_PORTS ports at base; see io_bus_register(). */
int bochs_shutdown_register(struct bochs_shutdown *d, struct io_bus *bus,
			    uint16_t base);

/*
 * The bus callback (exported for tests): each byte written (the low byte
 * of a wider write) advances the match of "Shutdown" or restarts it; the
 * byte that completes it returns IO_STOP. Reads return all ones.
 */
int bochs_shutdown_access(void *opaque, struct io_access *io);

#endif
