/* SPDX-License-Identifier: MIT */
/*
 * bochs_shutdown.c - the 0x8900 shutdown port: the word "Shutdown" written
 * a byte at a time stops the machine. Monitor side.
 */
#include "l0/dev/bochs_shutdown.h"

#include <string.h>

static const char shutdown_word[] = "Shutdown";

void bochs_shutdown_init(struct bochs_shutdown *d)
{
	memset(d, 0, sizeof(*d));
}

int bochs_shutdown_access(void *opaque, struct io_access *io)
{
	struct bochs_shutdown *d = opaque;
	char ch;

	if (io->dir == IO_READ) {
		io->data = 0xffffffffu;
		return IO_DONE;
	}
	ch = (char)(io->data & 0xff);
	/* A wrong byte restarts the match, counting itself if it is the
	 * first letter ("SShutdown" still stops). */
	if (ch == shutdown_word[d->matched])
		d->matched++;
	else
		d->matched = ch == shutdown_word[0] ? 1 : 0;
	if (d->matched < sizeof(shutdown_word) - 1)
		return IO_DONE;
	d->matched = 0;
	d->done = true;
	return IO_STOP;
}

static const struct io_dev_ops bochs_shutdown_ops = {
	.access = bochs_shutdown_access,
};

int bochs_shutdown_register(struct bochs_shutdown *d, struct io_bus *bus,
			    uint16_t base)
{
	return io_bus_register(bus, base, BOCHS_SHUTDOWN_NR_PORTS,
			       &bochs_shutdown_ops, d, "bochs-shutdown");
}
