/* SPDX-License-Identifier: MIT */
/*
 * debug_exit.c - ISA debug exit: a port write that ends the run with the
 * written value as the exit status. Monitor side.
 */
#include "l0/dev/debug_exit.h"

#include <string.h>

void debug_exit_init(struct debug_exit *d, bool qemu_codes)
{
	memset(d, 0, sizeof(*d));
	d->qemu_codes = qemu_codes;
}

int debug_exit_access(void *opaque, struct io_access *io)
{
	struct debug_exit *d = opaque;

	if (io->dir == IO_READ) {
		io->data = 0xffffffffu;
		return IO_DONE;
	}
	d->value = io->data;
	d->written = true;
	return IO_STOP;
}

static const struct io_dev_ops debug_exit_ops = {
	.access = debug_exit_access,
};

int debug_exit_register(struct debug_exit *d, struct io_bus *bus, uint16_t base)
{
	return io_bus_register(bus, base, DEBUG_EXIT_NR_PORTS, &debug_exit_ops,
			       d, "debug-exit");
}

int debug_exit_status(const struct debug_exit *d)
{
	if (!d->written)
		return -1;
	/* QEMU exits with (v << 1) | 1 so that a guest can never fake a
	 * clean 0; only the low 8 bits survive as a process status. */
	if (d->qemu_codes)
		return (int)(((d->value << 1) | 1) & 0xff);
	return (int)(d->value & 0xff);
}
