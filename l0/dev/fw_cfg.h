/* SPDX-License-Identifier: MIT */
/*
 * fw_cfg.h - the QEMU firmware configuration device, traditional I/O
 * interface only: a 16-bit selector at port 0x510 and a byte-wide data
 * port at 0x511 (QEMU docs/specs/fw_cfg.rst). Offers the signature, the
 * ID, RAM size, CPU counts and an empty file directory. Monitor side; the
 * device sees only port accesses.
 */
#ifndef NESTVM_L0_DEV_FW_CFG_H
#define NESTVM_L0_DEV_FW_CFG_H

#include "l0/iobus.h"

#define FW_CFG_PORT_SEL 0x510
#define FW_CFG_PORT_DATA 0x511
#define FW_CFG_NR_PORTS 2 /* selector and data; no DMA at 0x514 */

/* Selector keys: the names QEMU and Linux's uapi qemu_fw_cfg.h use. */
#define FW_CFG_SIGNATURE 0x00
#define FW_CFG_ID 0x01
#define FW_CFG_RAM_SIZE 0x03
#define FW_CFG_NB_CPUS 0x05
#define FW_CFG_MAX_CPUS 0x0f
#define FW_CFG_FILE_DIR 0x19
#define FW_CFG_FILE_FIRST 0x20
#define FW_CFG_WRITE_CHANNEL 0x4000
#define FW_CFG_ARCH_LOCAL 0x8000

#define FW_CFG_SIG_SIZE 4
#define FW_CFG_VERSION 0x01 /* FW_CFG_ID bit 0: the traditional interface */

struct fw_cfg {
	uint16_t sel; /* the last selector written */
	uint32_t off; /* offset of the next data byte in the item */
	uint64_t ram_size; /* bytes, FW_CFG_RAM_SIZE */
	uint16_t nb_cpus; /* FW_CFG_NB_CPUS */
	uint16_t max_cpus; /* FW_CFG_MAX_CPUS */
	uint64_t data_writes; /* ignored writes to the data port */
};

void fw_cfg_init(struct fw_cfg *f, uint64_t ram_size, uint16_t nb_cpus,
		 uint16_t max_cpus);

/* Claims FW_CFG_NR_PORTS ports at FW_CFG_PORT_SEL; see io_bus_register(). */
int fw_cfg_register(struct fw_cfg *f, struct io_bus *bus);

/*
 * The bus callback (exported for tests). A write to the selector (any
 * size) selects an item and rewinds to offset 0; a read of the data port
 * returns the item's byte at the offset and advances it, 0 past the end
 * or for an item that does not exist; writes to the data port are
 * ignored (QEMU does the same since 2.4); a read of the write-only
 * selector returns all ones. Always IO_DONE.
 */
int fw_cfg_access(void *opaque, struct io_access *io);

/*
 * Copies item key's contents into buf (at most cap bytes) and returns its
 * full length, 0 for a key with no item.
 */
size_t fw_cfg_read_item(const struct fw_cfg *f, uint16_t key, uint8_t *buf,
			size_t cap);

#endif
