/* SPDX-License-Identifier: MIT */
/*
 * fw_cfg.c - the QEMU fw_cfg device's traditional port interface: the
 * selector and byte-wise data reads with an offset, the legacy keys a
 * firmware reads first (signature, ID, RAM size, CPU counts) and a file
 * directory with no files. Layouts from QEMU docs/specs/fw_cfg.rst.
 * Monitor side.
 */
#include "l0/dev/fw_cfg.h"

#include <string.h>

/* The longest item: the signature and the u64 RAM size are shorter. */
#define FW_CFG_ITEM_MAX 8

void fw_cfg_init(struct fw_cfg *f, uint64_t ram_size, uint16_t nb_cpus,
		 uint16_t max_cpus)
{
	memset(f, 0, sizeof(*f));
	f->ram_size = ram_size;
	f->nb_cpus = nb_cpus;
	f->max_cpus = max_cpus;
}

static void put_le(uint8_t *p, uint64_t v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

size_t fw_cfg_read_item(const struct fw_cfg *f, uint16_t key, uint8_t *buf,
			size_t cap)
{
	uint8_t item[FW_CFG_ITEM_MAX] = { 0 };
	size_t len;

	/* Bit 14 only asks for write access, which the spec deprecates:
	 * the item is the same. Bit 15 selects the architecture's own keys,
	 * of which this machine has none. */
	switch (key & ~FW_CFG_WRITE_CHANNEL) {
	case FW_CFG_SIGNATURE:
		memcpy(item, "QEMU", FW_CFG_SIG_SIZE);
		len = FW_CFG_SIG_SIZE;
		break;
	case FW_CFG_ID:
		put_le(item, FW_CFG_VERSION, 4); /* no DMA interface */
		len = 4;
		break;
	case FW_CFG_RAM_SIZE:
		put_le(item, f->ram_size, 8);
		len = 8;
		break;
	case FW_CFG_NB_CPUS:
		put_le(item, f->nb_cpus, 2);
		len = 2;
		break;
	case FW_CFG_MAX_CPUS:
		put_le(item, f->max_cpus, 2);
		len = 2;
		break;
	case FW_CFG_FILE_DIR:
		/* A big-endian u32 count and no entries: every "etc/..."
		 * file a firmware may look for (ACPI tables, boot order, E820)
		 * describes hardware this machine does not have. */
		len = 4;
		break;
	default:
		return 0;
	}
	memcpy(buf, item, len < cap ? len : cap);
	return len;
}

static uint8_t fw_cfg_read_byte(struct fw_cfg *f)
{
	uint8_t item[FW_CFG_ITEM_MAX];
	size_t len = fw_cfg_read_item(f, f->sel, item, sizeof(item));

	if (f->off >= len)
		return 0; /* past the end, or no such item */
	return item[f->off++];
}

int fw_cfg_access(void *opaque, struct io_access *io)
{
	struct fw_cfg *f = opaque;

	if (io->port == FW_CFG_PORT_SEL) {
		if (io->dir == IO_WRITE) {
			f->sel = (uint16_t)io->data;
			f->off = 0;
		} else {
			io->data = 0xffffffffu;
		}
		return IO_DONE;
	}
	/* The data port is 8 bits wide on x86: the bus has already split
	 * anything wider. */
	if (io->dir == IO_WRITE) {
		f->data_writes++;
		return IO_DONE;
	}
	io->data = fw_cfg_read_byte(f);
	return IO_DONE;
}

static const struct io_dev_ops fw_cfg_ops = {
	.access = fw_cfg_access,
};

int fw_cfg_register(struct fw_cfg *f, struct io_bus *bus)
{
	return io_bus_register(bus, FW_CFG_PORT_SEL, FW_CFG_NR_PORTS,
			       &fw_cfg_ops, f, "fw-cfg");
}
