/* SPDX-License-Identifier: MIT */
/*
 * test_fw_cfg - the fw_cfg device (l0/dev/fw_cfg.c) through the port bus:
 * the signature and ID, the legacy keys, the empty file directory, the
 * offset rewind on a selector write, reads past the end and of unknown
 * keys, ignored data writes and the port claim. Host side, tests only.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "l0/dev/fw_cfg.h"

#define RAM (64ull << 20)

struct fixture {
	struct io_bus bus;
	struct fw_cfg f;
};

static int setup(void **state)
{
	struct fixture *x = calloc(1, sizeof(*x));

	if (!x)
		return -1;
	io_bus_init(&x->bus);
	fw_cfg_init(&x->f, RAM, 1, 1);
	if (fw_cfg_register(&x->f, &x->bus))
		return -1;
	*state = x;
	return 0;
}

static int teardown(void **state)
{
	free(*state);
	return 0;
}

static void sel(struct fixture *x, uint16_t key)
{
	struct io_access io = {
		.port = FW_CFG_PORT_SEL, .size = 2, .dir = IO_WRITE, .data = key
	};

	assert_int_equal(io_bus_dispatch(&x->bus, &io), IO_DONE);
}

static uint8_t data(struct fixture *x)
{
	struct io_access io = { .port = FW_CFG_PORT_DATA,
				.size = 1,
				.dir = IO_READ };

	assert_int_equal(io_bus_dispatch(&x->bus, &io), IO_DONE);
	return (uint8_t)io.data;
}

/* Reads n bytes of the selected item as a little-endian number. */
static uint64_t data_le(struct fixture *x, unsigned n)
{
	uint64_t v = 0;

	for (unsigned i = 0; i < n; i++)
		v |= (uint64_t)data(x) << (8 * i);
	return v;
}

static void test_fw_cfg__signature_reads_qemu_then_zeros(void **state)
{
	struct fixture *x = *state;

	sel(x, FW_CFG_SIGNATURE);
	assert_int_equal(data(x), 'Q');
	assert_int_equal(data(x), 'E');
	assert_int_equal(data(x), 'M');
	assert_int_equal(data(x), 'U');
	assert_int_equal(data(x), 0);
	assert_int_equal(data(x), 0);
}

static void test_fw_cfg__id_has_traditional_bit_only(void **state)
{
	struct fixture *x = *state;

	sel(x, FW_CFG_ID);
	assert_int_equal(data_le(x, 4), 1);
}

static void test_fw_cfg__ram_size_is_u64_le(void **state)
{
	struct fixture *x = *state;

	sel(x, FW_CFG_RAM_SIZE);
	assert_int_equal(data_le(x, 8), RAM);
	assert_int_equal(data(x), 0);
}

static void test_fw_cfg__cpu_counts_are_u16_le_one(void **state)
{
	struct fixture *x = *state;

	sel(x, FW_CFG_NB_CPUS);
	assert_int_equal(data_le(x, 2), 1);
	assert_int_equal(data(x), 0);
	sel(x, FW_CFG_MAX_CPUS);
	assert_int_equal(data_le(x, 2), 1);
}

static void test_fw_cfg__file_dir_counts_zero_files(void **state)
{
	struct fixture *x = *state;
	uint8_t buf[8];

	sel(x, FW_CFG_FILE_DIR);
	assert_int_equal(data_le(x, 4), 0);
	assert_int_equal(
		fw_cfg_read_item(&x->f, FW_CFG_FILE_DIR, buf, sizeof(buf)), 4);
	/* No file slot exists. */
	assert_int_equal(
		fw_cfg_read_item(&x->f, FW_CFG_FILE_FIRST, buf, sizeof(buf)),
		0);
}

static void test_fw_cfg__selector_write_rewinds_offset(void **state)
{
	struct fixture *x = *state;

	sel(x, FW_CFG_SIGNATURE);
	assert_int_equal(data(x), 'Q');
	assert_int_equal(data(x), 'E');
	sel(x, FW_CFG_SIGNATURE);
	assert_int_equal(data(x), 'Q');
	/* A byte-wide selector write selects too. */
	struct io_access io = { .port = FW_CFG_PORT_SEL,
				.size = 1,
				.dir = IO_WRITE,
				.data = FW_CFG_ID };
	assert_int_equal(io_bus_dispatch(&x->bus, &io), IO_DONE);
	assert_int_equal(data(x), 1);
}

static void test_fw_cfg__unknown_and_arch_keys_read_zero(void **state)
{
	struct fixture *x = *state;

	sel(x, 0x02); /* FW_CFG_UUID: not offered */
	assert_int_equal(data(x), 0);
	sel(x, FW_CFG_ARCH_LOCAL | FW_CFG_RAM_SIZE);
	assert_int_equal(data(x), 0);
	sel(x, 0xffff);
	assert_int_equal(data(x), 0);
	/* The deprecated write bit still reads the item. */
	sel(x, FW_CFG_WRITE_CHANNEL | FW_CFG_SIGNATURE);
	assert_int_equal(data(x), 'Q');
}

static void test_fw_cfg__data_writes_ignored_and_counted(void **state)
{
	struct fixture *x = *state;
	struct io_access io = { .port = FW_CFG_PORT_DATA,
				.size = 1,
				.dir = IO_WRITE,
				.data = 0x55 };

	sel(x, FW_CFG_SIGNATURE);
	assert_int_equal(io_bus_dispatch(&x->bus, &io), IO_DONE);
	assert_int_equal(x->f.data_writes, 1);
	/* Neither the item nor the offset moved. */
	assert_int_equal(data(x), 'Q');
}

static void test_fw_cfg__wide_data_read_splits_into_bytes(void **state)
{
	struct fixture *x = *state;
	struct io_access io = { .port = FW_CFG_PORT_DATA,
				.size = 2,
				.dir = IO_READ };

	/* 0x512 belongs to nobody: the second byte reads as all ones. */
	sel(x, FW_CFG_SIGNATURE);
	assert_int_equal(io_bus_dispatch(&x->bus, &io), IO_DONE);
	assert_int_equal(io.data, 0xff00 | 'Q');
	assert_int_equal(data(x), 'E');
}

static void test_fw_cfg__selector_reads_all_ones(void **state)
{
	struct fixture *x = *state;
	struct io_access io = { .port = FW_CFG_PORT_SEL,
				.size = 1,
				.dir = IO_READ };

	assert_int_equal(io_bus_dispatch(&x->bus, &io), IO_DONE);
	assert_int_equal(io.data & 0xff, 0xff);
}

static void test_fw_cfg__ports_claimed_once(void **state)
{
	struct fixture *x = *state;

	assert_non_null(io_bus_find(&x->bus, 0x510));
	assert_non_null(io_bus_find(&x->bus, 0x511));
	assert_null(io_bus_find(&x->bus, 0x512));
	assert_null(io_bus_find(&x->bus, 0x514)); /* no DMA interface */
	assert_int_equal(fw_cfg_register(&x->f, &x->bus), -EBUSY);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_fw_cfg__signature_reads_qemu_then_zeros),
		T(test_fw_cfg__id_has_traditional_bit_only),
		T(test_fw_cfg__ram_size_is_u64_le),
		T(test_fw_cfg__cpu_counts_are_u16_le_one),
		T(test_fw_cfg__file_dir_counts_zero_files),
		T(test_fw_cfg__selector_write_rewinds_offset),
		T(test_fw_cfg__unknown_and_arch_keys_read_zero),
		T(test_fw_cfg__data_writes_ignored_and_counted),
		T(test_fw_cfg__wide_data_read_splits_into_bytes),
		T(test_fw_cfg__selector_reads_all_ones),
		T(test_fw_cfg__ports_claimed_once),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
