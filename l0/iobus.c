/* SPDX-License-Identifier: MIT */
/*
 * iobus.c - port-I/O bus: range registration with overlap checks, dispatch
 * of an access to the device that owns it, all-ones reads from unclaimed
 * ports (SDM Vol. 1, 19.1; an undriven ISA data bus floats high).
 * Monitor side.
 */
#include "l0/iobus.h"

#include <errno.h>
#include <string.h>

void io_bus_init(struct io_bus *bus)
{
	memset(bus, 0, sizeof(*bus));
}

static bool range_overlaps(uint32_t a, uint32_t alen, uint32_t b, uint32_t blen)
{
	return a < b + blen && b < a + alen;
}

int io_bus_register(struct io_bus *bus, uint16_t base, uint32_t len,
		    const struct io_dev_ops *ops, void *opaque,
		    const char *name)
{
	if (!len || (uint32_t)base + len > 0x10000 || !ops || !ops->access)
		return -EINVAL;
	for (unsigned int i = 0; i < bus->nr_devs; i++) {
		const struct io_bus_dev *d = &bus->devs[i];

		if (range_overlaps(base, len, d->base, d->len))
			return -EBUSY;
	}
	if (bus->nr_devs == IO_BUS_MAX_DEVS)
		return -ENOSPC;
	bus->devs[bus->nr_devs++] = (struct io_bus_dev){
		.base = base,
		.len = len,
		.ops = ops,
		.opaque = opaque,
		.name = name,
	};
	return 0;
}

const struct io_bus_dev *io_bus_find(const struct io_bus *bus, uint32_t port)
{
	for (unsigned int i = 0; i < bus->nr_devs; i++) {
		const struct io_bus_dev *d = &bus->devs[i];

		if (port >= d->base && port < (uint32_t)d->base + d->len)
			return d;
	}
	return NULL;
}

static uint32_t size_mask(unsigned int size)
{
	return size == 4 ? 0xffffffffu : (1u << (size * 8)) - 1;
}

/* One byte-wide access to port (which may be past 0xffff: unclaimed). */
static int dispatch_byte(struct io_bus *bus, uint32_t port, uint8_t dir,
			 uint8_t *val)
{
	const struct io_bus_dev *d = io_bus_find(bus, port);
	struct io_access b = {
		.port = (uint16_t)port,
		.size = 1,
		.dir = dir,
		.data = *val,
	};
	int ret;

	if (!d) {
		if (dir == IO_READ) {
			bus->unclaimed_reads++;
			*val = 0xff;
		} else {
			bus->unclaimed_writes++;
		}
		return IO_DONE;
	}
	ret = d->ops->access(d->opaque, &b);
	if (dir == IO_READ)
		*val = (uint8_t)b.data;
	return ret;
}

int io_bus_dispatch(struct io_bus *bus, struct io_access *io)
{
	const struct io_bus_dev *d;
	uint32_t mask, result = 0;
	int ret = IO_DONE;

	if (io->size != 1 && io->size != 2 && io->size != 4) {
		if (io->dir == IO_READ)
			io->data = 0xffffffffu;
		return -EINVAL;
	}
	mask = size_mask(io->size);
	if (io->dir == IO_WRITE)
		io->data &= mask;

	d = io_bus_find(bus, io->port);
	if (d && (uint32_t)io->port + io->size <= (uint32_t)d->base + d->len) {
		ret = d->ops->access(d->opaque, io);
		if (io->dir == IO_READ)
			io->data &= mask;
		return ret;
	}

	for (unsigned int i = 0; i < io->size; i++) {
		uint8_t v = (uint8_t)(io->data >> (8 * i));

		if (dispatch_byte(bus, (uint32_t)io->port + i, io->dir, &v) ==
		    IO_STOP)
			ret = IO_STOP;
		result |= (uint32_t)v << (8 * i);
	}
	if (io->dir == IO_READ)
		io->data = result;
	return ret;
}
