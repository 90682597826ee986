/* SPDX-License-Identifier: MIT */
/*
 * iobus.h - the monitor's port-I/O bus: devices claim port ranges and get
 * {port, size, direction, data}; the vCPU loop never knows a device. Ports
 * nobody claims read as all ones and ignore writes, as on an ISA bus with
 * nothing decoding the address (SDM Vol. 1, 19.1 "I/O Port Addressing").
 * Monitor side; devices behind it never see VMX or CPU state.
 */
#ifndef NESTVM_L0_IOBUS_H
#define NESTVM_L0_IOBUS_H

#include "arch/types.h"

enum io_dir { IO_READ = 0, IO_WRITE = 1 };

/* One port access as a device sees it. */
struct io_access {
	uint16_t port; /* absolute port number */
	uint8_t size; /* 1, 2 or 4 bytes */
	uint8_t dir; /* enum io_dir */
	uint32_t data; /* write: the value; read: filled in by the device */
};

/* Return values of io_dev_ops.access and io_bus_dispatch(). */
#define IO_DONE 0
#define IO_STOP 1 /* the access completed; stop the machine */

struct io_dev_ops {
	/*
	 * Handles an access that lies wholly inside the device's range. A
	 * read must set io->data (only the low io->size bytes are used).
	 * Returns IO_DONE or IO_STOP.
	 */
	int (*access)(void *opaque, struct io_access *io);
};

#define IO_BUS_MAX_DEVS 32

struct io_bus_dev {
	uint16_t base;
	uint32_t len; /* ports [base, base + len), len >= 1 */
	const struct io_dev_ops *ops;
	void *opaque;
	const char *name;
};

struct io_bus {
	struct io_bus_dev devs[IO_BUS_MAX_DEVS];
	unsigned int nr_devs;
	/* Accesses (per byte-wide port) that no device claimed. */
	uint64_t unclaimed_reads;
	uint64_t unclaimed_writes;
};

void io_bus_init(struct io_bus *bus);

/*
 * Gives ports [base, base + len) to a device. 0, or -EINVAL (len 0, range
 * past port 0xffff, no ops), -EBUSY (overlaps a registered device: nothing
 * changes), -ENOSPC (IO_BUS_MAX_DEVS devices already). name must outlive
 * the bus.
 */
int io_bus_register(struct io_bus *bus, uint16_t base, uint32_t len,
		    const struct io_dev_ops *ops, void *opaque,
		    const char *name);

/* The device owning port, or NULL. */
const struct io_bus_dev *io_bus_find(const struct io_bus *bus, uint32_t port);

/*
 * Performs one access. An access that lies wholly inside one device goes to
 * it as is; otherwise it is split into byte accesses, lowest port first, as
 * the ISA bus splits a wide cycle for 8-bit devices. Returns IO_DONE,
 * IO_STOP (some device asked to stop), or -EINVAL for a size other than 1,
 * 2 or 4 (nothing is dispatched; a read returns all ones).
 */
int io_bus_dispatch(struct io_bus *bus, struct io_access *io);

#endif
