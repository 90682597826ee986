/* SPDX-License-Identifier: MIT */
/*
 * test_iobus - the port-I/O bus (l0/iobus.c) and the debug-exit device
 * behind it (l0/dev/debug_exit.c): registration and overlap, dispatch,
 * unclaimed ports, accesses that straddle devices, exit statuses.
 * Host side, tests only.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <string.h>

#include "l0/dev/debug_exit.h"
#include "l0/iobus.h"

/* A device that records its accesses and reads back 0xa0 + port offset in
 * every byte lane. */
struct fake_dev {
	uint16_t base;
	unsigned int nr;
	struct io_access last;
	uint32_t written; /* last value written */
	int ret; /* what access() returns */
};

static int fake_access(void *opaque, struct io_access *io)
{
	struct fake_dev *d = opaque;

	d->nr++;
	d->last = *io;
	if (io->dir == IO_READ)
		io->data = 0xa0u + (uint32_t)(io->port - d->base);
	else
		d->written = io->data;
	return d->ret;
}

static const struct io_dev_ops fake_ops = { .access = fake_access };

static int do_io(struct io_bus *bus, uint16_t port, uint8_t size, uint8_t dir,
		 uint32_t *data)
{
	struct io_access io = {
		.port = port,
		.size = size,
		.dir = dir,
		.data = *data,
	};
	int ret = io_bus_dispatch(bus, &io);

	*data = io.data;
	return ret;
}

static void test_io_bus__register_adjacent_ranges_succeeds(void **state)
{
	struct fake_dev a = { .base = 0x100 }, b = { .base = 0x108 };
	struct io_bus bus;

	(void)state;
	io_bus_init(&bus);
	assert_int_equal(io_bus_register(&bus, 0x100, 8, &fake_ops, &a, "a"),
			 0);
	assert_int_equal(io_bus_register(&bus, 0x108, 8, &fake_ops, &b, "b"),
			 0);
	assert_int_equal(io_bus_register(&bus, 0xf8, 8, &fake_ops, &b, "c"), 0);
	assert_int_equal(bus.nr_devs, 3);
	assert_string_equal(io_bus_find(&bus, 0x107)->name, "a");
	assert_string_equal(io_bus_find(&bus, 0x108)->name, "b");
	assert_string_equal(io_bus_find(&bus, 0xff)->name, "c");
	assert_null(io_bus_find(&bus, 0x110));
	assert_null(io_bus_find(&bus, 0xf7));
}

static void test_io_bus__overlapping_ranges_fail_with_ebusy(void **state)
{
	static const struct {
		uint16_t base;
		uint32_t len;
	} clash[] = {
		{ 0x100, 8 }, /* the same */
		{ 0x0fc, 5 }, /* ends on the first port */
		{ 0x107, 4 }, /* starts on the last port */
		{ 0x102, 2 }, /* inside */
		{ 0x0f0, 0x40 }, /* around */
	};
	struct fake_dev a = { .base = 0x100 };
	struct io_bus bus;

	(void)state;
	io_bus_init(&bus);
	assert_int_equal(io_bus_register(&bus, 0x100, 8, &fake_ops, &a, "a"),
			 0);
	for (size_t i = 0; i < sizeof(clash) / sizeof(clash[0]); i++)
		assert_int_equal(io_bus_register(&bus, clash[i].base,
						 clash[i].len, &fake_ops, &a,
						 "x"),
				 -EBUSY);
	assert_int_equal(bus.nr_devs, 1);
}

static void test_io_bus__bad_ranges_fail_with_einval(void **state)
{
	static const struct io_dev_ops no_access = { .access = NULL };
	struct fake_dev a = { .base = 0 };
	struct io_bus bus;

	(void)state;
	io_bus_init(&bus);
	assert_int_equal(io_bus_register(&bus, 0x100, 0, &fake_ops, &a, "a"),
			 -EINVAL);
	assert_int_equal(
		io_bus_register(&bus, 0xfff0, 0x11, &fake_ops, &a, "a"),
		-EINVAL);
	assert_int_equal(io_bus_register(&bus, 0x100, 1, NULL, &a, "a"),
			 -EINVAL);
	assert_int_equal(io_bus_register(&bus, 0x100, 1, &no_access, &a, "a"),
			 -EINVAL);
	assert_int_equal(
		io_bus_register(&bus, 0xfff0, 0x10, &fake_ops, &a, "a"), 0);
}

static void test_io_bus__full_bus_fails_with_enospc(void **state)
{
	struct fake_dev a = { .base = 0 };
	struct io_bus bus;

	(void)state;
	io_bus_init(&bus);
	for (unsigned int i = 0; i < IO_BUS_MAX_DEVS; i++)
		assert_int_equal(io_bus_register(&bus, (uint16_t)i, 1,
						 &fake_ops, &a, "a"),
				 0);
	assert_int_equal(io_bus_register(&bus, 0x1000, 1, &fake_ops, &a, "a"),
			 -ENOSPC);
}

static void test_io_bus__read_goes_to_owner_with_port_size_dir(void **state)
{
	struct fake_dev a = { .base = 0x100 }, b = { .base = 0x200 };
	struct io_bus bus;
	uint32_t v = 0;

	(void)state;
	io_bus_init(&bus);
	io_bus_register(&bus, 0x100, 8, &fake_ops, &a, "a");
	io_bus_register(&bus, 0x200, 8, &fake_ops, &b, "b");
	assert_int_equal(do_io(&bus, 0x203, 1, IO_READ, &v), IO_DONE);
	assert_int_equal(v, 0xa3);
	assert_int_equal(a.nr, 0);
	assert_int_equal(b.nr, 1);
	assert_int_equal(b.last.port, 0x203);
	assert_int_equal(b.last.size, 1);
	assert_int_equal(b.last.dir, IO_READ);
}

static void test_io_bus__write_masked_to_access_size(void **state)
{
	struct fake_dev a = { .base = 0x100 };
	struct io_bus bus;
	uint32_t v = 0x12345678;

	(void)state;
	io_bus_init(&bus);
	io_bus_register(&bus, 0x100, 8, &fake_ops, &a, "a");
	assert_int_equal(do_io(&bus, 0x102, 2, IO_WRITE, &v), IO_DONE);
	assert_int_equal(a.written, 0x5678);
	assert_int_equal(a.last.size, 2);
	assert_int_equal(a.last.dir, IO_WRITE);
	v = 0x12345678;
	assert_int_equal(do_io(&bus, 0x104, 4, IO_WRITE, &v), IO_DONE);
	assert_int_equal(a.written, 0x12345678);
}

static void test_io_bus__unclaimed_read_all_ones_and_counted(void **state)
{
	struct io_bus bus;
	uint32_t v;

	(void)state;
	io_bus_init(&bus);
	v = 0;
	assert_int_equal(do_io(&bus, 0x80, 1, IO_READ, &v), IO_DONE);
	assert_int_equal(v, 0xff);
	v = 0;
	assert_int_equal(do_io(&bus, 0x80, 2, IO_READ, &v), IO_DONE);
	assert_int_equal(v, 0xffff);
	v = 0;
	assert_int_equal(do_io(&bus, 0x80, 4, IO_READ, &v), IO_DONE);
	assert_int_equal(v, 0xffffffff);
	assert_int_equal(bus.unclaimed_reads, 7);
	assert_int_equal(bus.unclaimed_writes, 0);
}

static void test_io_bus__unclaimed_write_ignored_and_counted(void **state)
{
	struct fake_dev a = { .base = 0x100 };
	struct io_bus bus;
	uint32_t v = 0x55;

	(void)state;
	io_bus_init(&bus);
	io_bus_register(&bus, 0x100, 8, &fake_ops, &a, "a");
	assert_int_equal(do_io(&bus, 0x80, 1, IO_WRITE, &v), IO_DONE);
	assert_int_equal(do_io(&bus, 0x80, 2, IO_WRITE, &v), IO_DONE);
	assert_int_equal(bus.unclaimed_writes, 3);
	assert_int_equal(a.nr, 0);
}

static void test_io_bus__straddling_access_split_into_bytes(void **state)
{
	struct fake_dev a = { .base = 0x100 };
	struct io_bus bus;
	uint32_t v = 0;

	(void)state;
	io_bus_init(&bus);
	io_bus_register(&bus, 0x100, 2, &fake_ops, &a, "a");
	/* 0x101 belongs to a, 0x102-0x104 to nobody. */
	assert_int_equal(do_io(&bus, 0x101, 4, IO_READ, &v), IO_DONE);
	assert_int_equal(v, 0xffffffa1);
	assert_int_equal(a.nr, 1);
	assert_int_equal(a.last.port, 0x101);
	assert_int_equal(a.last.size, 1);
	assert_int_equal(bus.unclaimed_reads, 3);

	/* From below: 0xff is unclaimed, 0x100 is a's. */
	v = 0x1234;
	assert_int_equal(do_io(&bus, 0xff, 2, IO_WRITE, &v), IO_DONE);
	assert_int_equal(a.written, 0x12);
	assert_int_equal(a.last.port, 0x100);
	assert_int_equal(bus.unclaimed_writes, 1);
}

static void test_io_bus__access_past_port_ffff_unclaimed(void **state)
{
	struct fake_dev a = { .base = 0xfffe };
	struct io_bus bus;
	uint32_t v = 0;

	(void)state;
	io_bus_init(&bus);
	io_bus_register(&bus, 0xfffe, 2, &fake_ops, &a, "a");
	assert_int_equal(do_io(&bus, 0xffff, 4, IO_READ, &v), IO_DONE);
	assert_int_equal(v, 0xffffffa1);
	assert_int_equal(bus.unclaimed_reads, 3);
}

static void test_io_bus__device_stop_propagates(void **state)
{
	struct fake_dev a = { .base = 0x100, .ret = IO_STOP };
	struct io_bus bus;
	uint32_t v = 1;

	(void)state;
	io_bus_init(&bus);
	io_bus_register(&bus, 0x100, 1, &fake_ops, &a, "a");
	assert_int_equal(do_io(&bus, 0x100, 1, IO_WRITE, &v), IO_STOP);
	/* Also when the stopping device is one byte of a split access. */
	assert_int_equal(do_io(&bus, 0xff, 2, IO_WRITE, &v), IO_STOP);
}

static void test_io_bus__bad_size_fails_with_einval(void **state)
{
	struct fake_dev a = { .base = 0x100 };
	struct io_bus bus;
	uint32_t v = 0;

	(void)state;
	io_bus_init(&bus);
	io_bus_register(&bus, 0x100, 8, &fake_ops, &a, "a");
	assert_int_equal(do_io(&bus, 0x100, 3, IO_READ, &v), -EINVAL);
	assert_int_equal(v, 0xffffffff);
	assert_int_equal(do_io(&bus, 0x100, 0, IO_WRITE, &v), -EINVAL);
	assert_int_equal(a.nr, 0);
}

/* ---- debug exit ---------------------------------------------------------- */

static void test_debug_exit__byte_write_stops_with_value(void **state)
{
	struct debug_exit d;
	struct io_bus bus;
	uint32_t v = 42;

	(void)state;
	io_bus_init(&bus);
	debug_exit_init(&d, false);
	assert_int_equal(debug_exit_register(&d, &bus, DEBUG_EXIT_BASE), 0);
	assert_int_equal(debug_exit_status(&d), -1);
	assert_int_equal(do_io(&bus, 0xf4, 1, IO_WRITE, &v), IO_STOP);
	assert_int_equal(d.value, 42);
	assert_int_equal(debug_exit_status(&d), 42);
}

static void test_debug_exit__wide_write_keeps_low_byte_status(void **state)
{
	struct debug_exit d;
	struct io_bus bus;
	uint32_t v = 0x12345601;

	(void)state;
	io_bus_init(&bus);
	debug_exit_init(&d, false);
	debug_exit_register(&d, &bus, DEBUG_EXIT_BASE);
	assert_int_equal(do_io(&bus, 0xf4, 4, IO_WRITE, &v), IO_STOP);
	assert_int_equal(d.value, 0x12345601);
	assert_int_equal(debug_exit_status(&d), 1);
	v = 0x1ff;
	assert_int_equal(do_io(&bus, 0xf4, 2, IO_WRITE, &v), IO_STOP);
	assert_int_equal(debug_exit_status(&d), 0xff);
}

static void test_debug_exit__qemu_codes_shift_and_set_bit0(void **state)
{
	struct debug_exit d;
	struct io_bus bus;
	uint32_t v = 42;

	(void)state;
	io_bus_init(&bus);
	debug_exit_init(&d, true);
	debug_exit_register(&d, &bus, DEBUG_EXIT_BASE);
	assert_int_equal(do_io(&bus, 0xf4, 1, IO_WRITE, &v), IO_STOP);
	assert_int_equal(debug_exit_status(&d), 85);
	v = 0;
	do_io(&bus, 0xf4, 1, IO_WRITE, &v);
	assert_int_equal(debug_exit_status(&d), 1);
	v = 0x80; /* (0x80 << 1) | 1 = 0x101: only the low byte survives */
	do_io(&bus, 0xf4, 1, IO_WRITE, &v);
	assert_int_equal(debug_exit_status(&d), 1);
}

static void test_debug_exit__read_all_ones_does_not_stop(void **state)
{
	struct debug_exit d;
	struct io_bus bus;
	uint32_t v = 0;

	(void)state;
	io_bus_init(&bus);
	debug_exit_init(&d, false);
	debug_exit_register(&d, &bus, DEBUG_EXIT_BASE);
	assert_int_equal(do_io(&bus, 0xf4, 1, IO_READ, &v), IO_DONE);
	assert_int_equal(v, 0xff);
	assert_int_equal(do_io(&bus, 0xf4, 4, IO_READ, &v), IO_DONE);
	assert_int_equal(v, 0xffffffff);
	assert_int_equal(debug_exit_status(&d), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(
			test_io_bus__register_adjacent_ranges_succeeds),
		cmocka_unit_test(
			test_io_bus__overlapping_ranges_fail_with_ebusy),
		cmocka_unit_test(test_io_bus__bad_ranges_fail_with_einval),
		cmocka_unit_test(test_io_bus__full_bus_fails_with_enospc),
		cmocka_unit_test(
			test_io_bus__read_goes_to_owner_with_port_size_dir),
		cmocka_unit_test(test_io_bus__write_masked_to_access_size),
		cmocka_unit_test(
			test_io_bus__unclaimed_read_all_ones_and_counted),
		cmocka_unit_test(
			test_io_bus__unclaimed_write_ignored_and_counted),
		cmocka_unit_test(
			test_io_bus__straddling_access_split_into_bytes),
		cmocka_unit_test(test_io_bus__access_past_port_ffff_unclaimed),
		cmocka_unit_test(test_io_bus__device_stop_propagates),
		cmocka_unit_test(test_io_bus__bad_size_fails_with_einval),
		cmocka_unit_test(test_debug_exit__byte_write_stops_with_value),
		cmocka_unit_test(
			test_debug_exit__wide_write_keeps_low_byte_status),
		cmocka_unit_test(
			test_debug_exit__qemu_codes_shift_and_set_bit0),
		cmocka_unit_test(test_debug_exit__read_all_ones_does_not_stop),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
