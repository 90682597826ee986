/* SPDX-License-Identifier: MIT */
/*
 * test_uart16550 - the 16550A model (l0/dev/uart16550.c) through the port
 * bus: reset values, every register, DLAB banking, FIFO control, LSR,
 * loopback with MSR and overrun, interrupt identification in priority
 * order, output buffering, and the word length LCR selects. Host side,
 * tests only.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "l0/dev/uart16550.h"

#define COM1 UART16550_COM1_BASE
#define RBR 0 /* also THR, DLL */
#define IER 1 /* also DLM */
#define IIR 2 /* also FCR */
#define LCR 3
#define MCR 4
#define LSR 5
#define MSR 6
#define SCR 7

struct fixture {
	struct io_bus bus;
	struct uart16550 u;
	int pipe[2]; /* the UART writes to pipe[1] */
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (!f || pipe2(f->pipe, O_NONBLOCK))
		return -1;
	io_bus_init(&f->bus);
	uart16550_init(&f->u, f->pipe[1]);
	if (uart16550_register(&f->u, &f->bus, COM1))
		return -1;
	*state = f;
	return 0;
}

/* The fixture as nestvm hands COM1 to a guest: 8N1, as firmware leaves
 * it (the datasheet's reset LCR of 0 means 5-bit words). */
static int setup_8n1(void **state)
{
	struct fixture *f;

	if (setup(state))
		return -1;
	f = *state;
	uart16550_set_line(&f->u, UART16550_LCR_8N1);
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	close(f->pipe[0]);
	close(f->pipe[1]);
	free(f);
	return 0;
}

static uint8_t in8(struct fixture *f, unsigned int reg)
{
	struct io_access io = { .port = (uint16_t)(COM1 + reg),
				.size = 1,
				.dir = IO_READ };

	assert_int_equal(io_bus_dispatch(&f->bus, &io), IO_DONE);
	return (uint8_t)io.data;
}

static void out8(struct fixture *f, unsigned int reg, uint8_t v)
{
	struct io_access io = { .port = (uint16_t)(COM1 + reg),
				.size = 1,
				.dir = IO_WRITE,
				.data = v };

	assert_int_equal(io_bus_dispatch(&f->bus, &io), IO_DONE);
}

/* What reached the pipe so far, NUL-terminated (at most 255 bytes). */
static const char *pipe_text(struct fixture *f)
{
	static char buf[256];
	ssize_t n = read(f->pipe[0], buf, sizeof(buf) - 1);

	buf[n > 0 ? n : 0] = '\0';
	return buf;
}

static void test_uart__reset_values(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(in8(f, RBR), 0x00);
	assert_int_equal(in8(f, IER), 0x00);
	assert_int_equal(in8(f, IIR), 0x01);
	assert_int_equal(in8(f, LCR), 0x00);
	assert_int_equal(in8(f, MCR), 0x00);
	assert_int_equal(in8(f, LSR), 0x60);
	/* An attached terminal: DCD, DSR, CTS asserted, no deltas. */
	assert_int_equal(in8(f, MSR), 0xb0);
	assert_int_equal(in8(f, SCR), 0x00);
}

static void test_uart__thr_write_reaches_output_at_newline(void **state)
{
	struct fixture *f = *state;

	out8(f, RBR, 'h');
	out8(f, RBR, 'i');
	assert_string_equal(pipe_text(f), "");
	out8(f, RBR, '\n');
	assert_string_equal(pipe_text(f), "hi\n");
	assert_int_equal(f->u.tx_bytes, 3);
}

static void test_uart__flush_writes_partial_line(void **state)
{
	struct fixture *f = *state;

	out8(f, RBR, 'o');
	out8(f, RBR, 'k');
	assert_int_equal(uart16550_flush(&f->u), 0);
	assert_string_equal(pipe_text(f), "ok");
	assert_int_equal(uart16550_flush(&f->u), 0);
	assert_string_equal(pipe_text(f), "");
}

static void test_uart__full_buffer_flushed_without_newline(void **state)
{
	struct fixture *f = *state;
	char buf[UART16550_OBUF_SIZE + 1];
	ssize_t n;

	for (unsigned int i = 0; i < UART16550_OBUF_SIZE; i++)
		out8(f, RBR, 'x');
	n = read(f->pipe[0], buf, sizeof(buf));
	assert_int_equal(n, UART16550_OBUF_SIZE);
	assert_int_equal(f->u.olen, 0);
}

static void test_uart__write_error_reported_by_flush(void **state)
{
	struct fixture *f = *state;
	int fd = open("/dev/full", O_WRONLY);

	assert_true(fd >= 0);
	f->u.out_fd = fd;
	out8(f, RBR, '!');
	assert_int_equal(uart16550_flush(&f->u), -ENOSPC);
	/* Later output is dropped, the error stays. */
	out8(f, RBR, '\n');
	assert_int_equal(uart16550_flush(&f->u), -ENOSPC);
	assert_int_equal(f->u.tx_bytes, 2);
	close(fd);
}

static void test_uart__no_output_fd_counts_and_discards(void **state)
{
	struct fixture *f = *state;

	f->u.out_fd = -1;
	out8(f, RBR, 'a');
	out8(f, RBR, '\n');
	assert_int_equal(f->u.tx_bytes, 2);
	assert_int_equal(uart16550_flush(&f->u), 0);
	assert_string_equal(pipe_text(f), "");
}

/* 7E1 (LCR 0x1a): bit 7 of each byte is not sent. */
static void test_uart__7bit_words_drop_bit_7_on_output(void **state)
{
	struct fixture *f = *state;

	out8(f, LCR, 0x1a);
	out8(f, RBR, 0xe8); /* 'h' | 0x80 */
	out8(f, RBR, 'i');
	out8(f, RBR, 0x8a); /* '\n' | 0x80: still the end of a line */
	assert_string_equal(pipe_text(f), "hi\n");
	assert_int_equal(f->u.tx_bytes, 3);
}

/* Each word length keeps its low 5..8 bits, in loopback as on output. */
static void test_uart__word_length_masks_loopback_byte(void **state)
{
	struct fixture *f = *state;
	static const uint8_t want[4] = { 0x1f, 0x3f, 0x7f, 0xff };

	out8(f, MCR, 0x10);
	for (unsigned int wl = 0; wl < 4; wl++) {
		out8(f, LCR, (uint8_t)wl);
		out8(f, RBR, 0xff);
		assert_int_equal(in8(f, RBR), want[wl]);
	}
}

/* Without the firmware's 8N1, the reset LCR sends 5-bit words. */
static void test_uart__reset_lcr_sends_5bit_words(void **state)
{
	struct fixture *f = *state;

	out8(f, RBR, 'A'); /* 0x41 -> 0x01 */
	out8(f, RBR, '\n'); /* 0x0a keeps its low five bits */
	assert_int_equal(uart16550_flush(&f->u), 0);
	assert_string_equal(pipe_text(f), "\x01\n");
}

static void test_uart__dlab_banks_divisor_latch(void **state)
{
	struct fixture *f = *state;

	out8(f, IER, 0x05);
	out8(f, LCR, 0x83); /* DLAB, 8N1 */
	assert_int_equal(in8(f, RBR), 12); /* reset divisor: 9600 baud */
	assert_int_equal(in8(f, IER), 0);
	out8(f, RBR, 0x01); /* 115200 baud */
	out8(f, IER, 0x02);
	assert_int_equal(in8(f, RBR), 0x01);
	assert_int_equal(in8(f, IER), 0x02);
	assert_int_equal(f->u.tx_bytes, 0); /* DLL write is not data */
	out8(f, LCR, 0x03);
	assert_int_equal(in8(f, LCR), 0x03);
	assert_int_equal(in8(f, IER), 0x05);
	assert_int_equal(f->u.dll, 0x01);
	assert_int_equal(f->u.dlm, 0x02);
}

static void test_uart__ier_keeps_low_four_bits(void **state)
{
	struct fixture *f = *state;

	out8(f, IER, 0xff);
	assert_int_equal(in8(f, IER), 0x0f);
}

static void test_uart__lcr_reads_back_all_bits(void **state)
{
	struct fixture *f = *state;

	out8(f, LCR, 0x7f);
	assert_int_equal(in8(f, LCR), 0x7f);
}

static void test_uart__fcr_enable_sets_iir_fifo_bits(void **state)
{
	struct fixture *f = *state;

	out8(f, IIR, 0xc7); /* enable, clear both, trigger 14 */
	assert_int_equal(in8(f, IIR), 0xc1);
	assert_int_equal(f->u.fcr, 0xc1);
	out8(f, IIR, 0x00);
	assert_int_equal(in8(f, IIR), 0x01);
	/* Trigger bits are not programmed without the enable bit. */
	out8(f, IIR, 0xc0);
	assert_int_equal(f->u.fcr, 0x00);
}

static void test_uart__lsr_thre_temt_always_writes_ignored(void **state)
{
	struct fixture *f = *state;

	out8(f, RBR, 'x');
	assert_int_equal(in8(f, LSR), 0x60);
	out8(f, LSR, 0x1f);
	assert_int_equal(in8(f, LSR), 0x60);
}

static void test_uart__msr_writes_ignored(void **state)
{
	struct fixture *f = *state;

	out8(f, MSR, 0x0f);
	assert_int_equal(in8(f, MSR), 0xb0);
}

static void test_uart__scr_reads_back(void **state)
{
	struct fixture *f = *state;

	out8(f, SCR, 0x5a);
	assert_int_equal(in8(f, SCR), 0x5a);
	out8(f, SCR, 0xa5);
	assert_int_equal(in8(f, SCR), 0xa5);
}

static void test_uart__mcr_keeps_low_five_bits(void **state)
{
	struct fixture *f = *state;

	out8(f, MCR, 0xef);
	assert_int_equal(in8(f, MCR), 0x0f);
	out8(f, MCR, 0xff);
	assert_int_equal(in8(f, MCR), 0x1f);
}

static void test_uart__loopback_ties_mcr_outputs_to_msr(void **state)
{
	struct fixture *f = *state;

	out8(f, MCR, 0x10);
	/* Leaving the terminal's lines drops CTS, DSR, DCD: three deltas. */
	assert_int_equal(in8(f, MSR), 0x0b);
	assert_int_equal(in8(f, MSR), 0x00);
	/* LOOP | OUT2 | RTS: DCD and CTS, the probe Linux's 8250 driver
	 * uses to find a UART. */
	out8(f, MCR, 0x1a);
	assert_int_equal(in8(f, MSR) & 0xf0, 0x90);
	out8(f, MCR, 0x1f);
	assert_int_equal(in8(f, MSR), 0xf0 | 0x02); /* + DSR came up */
}

static void test_uart__loopback_ring_trailing_edge_sets_teri(void **state)
{
	struct fixture *f = *state;

	out8(f, MCR, 0x14); /* LOOP | OUT1: RI on */
	in8(f, MSR);
	out8(f, MCR, 0x10); /* RI off: the trailing edge */
	assert_int_equal(in8(f, MSR), 0x04);
}

static void test_uart__loopback_thr_goes_to_rbr_not_output(void **state)
{
	struct fixture *f = *state;

	out8(f, MCR, 0x10);
	out8(f, RBR, 'x');
	assert_int_equal(in8(f, LSR), 0x61);
	assert_int_equal(in8(f, RBR), 'x');
	assert_int_equal(in8(f, LSR), 0x60);
	assert_int_equal(in8(f, RBR), 0x00);
	assert_int_equal(uart16550_flush(&f->u), 0);
	assert_string_equal(pipe_text(f), "");
	assert_int_equal(f->u.tx_bytes, 0);
	assert_int_equal(f->u.loopback_bytes, 1);
}

static void test_uart__loopback_overrun_sets_oe_until_lsr_read(void **state)
{
	struct fixture *f = *state;

	out8(f, MCR, 0x10);
	out8(f, RBR, '1');
	out8(f, RBR, '2'); /* no FIFO: RBR holds one byte */
	assert_int_equal(in8(f, LSR), 0x63);
	assert_int_equal(in8(f, LSR), 0x61);
	assert_int_equal(in8(f, RBR), '1');
	assert_int_equal(f->u.overruns, 1);
}

static void test_uart__loopback_fifo_holds_sixteen(void **state)
{
	struct fixture *f = *state;

	out8(f, IIR, 0x01);
	out8(f, MCR, 0x10);
	for (unsigned int i = 0; i < 17; i++)
		out8(f, RBR, (uint8_t)('a' + i));
	assert_int_equal(in8(f, LSR), 0x63);
	for (unsigned int i = 0; i < 16; i++)
		assert_int_equal(in8(f, RBR), 'a' + i);
	assert_int_equal(in8(f, LSR), 0x60);
}

static void test_uart__fcr_clear_rcvr_empties_fifo(void **state)
{
	struct fixture *f = *state;

	out8(f, IIR, 0x01);
	out8(f, MCR, 0x10);
	out8(f, RBR, 'a');
	out8(f, IIR, 0x03);
	assert_int_equal(in8(f, LSR), 0x60);
	/* Turning the FIFO off empties it too. */
	out8(f, RBR, 'b');
	out8(f, IIR, 0x00);
	assert_int_equal(in8(f, LSR), 0x60);
}

static void test_uart__iir_thri_pending_until_iir_read(void **state)
{
	struct fixture *f = *state;

	out8(f, IER, 0x02);
	assert_int_equal(in8(f, IIR), 0x02);
	assert_int_equal(in8(f, IIR), 0x01);
	/* A THR write empties at once and raises it again. */
	out8(f, RBR, 'x');
	assert_int_equal(in8(f, IIR), 0x02);
	/* Disabling the source drops it. */
	out8(f, RBR, 'y');
	out8(f, IER, 0x00);
	assert_int_equal(in8(f, IIR), 0x01);
}

static void test_uart__iir_rdi_and_fifo_timeout(void **state)
{
	struct fixture *f = *state;

	out8(f, MCR, 0x10);
	out8(f, IER, 0x01);
	out8(f, RBR, 'a');
	assert_int_equal(in8(f, IIR), 0x04);
	in8(f, RBR);
	assert_int_equal(in8(f, IIR), 0x01);

	out8(f, IIR, 0x41); /* FIFO, trigger level 4 */
	out8(f, RBR, 'a');
	assert_int_equal(in8(f, IIR), 0xcc); /* below trigger: timeout */
	out8(f, RBR, 'b');
	out8(f, RBR, 'c');
	out8(f, RBR, 'd');
	assert_int_equal(in8(f, IIR), 0xc4);
}

static void test_uart__iir_line_status_has_top_priority(void **state)
{
	struct fixture *f = *state;

	out8(f, MCR, 0x10);
	out8(f, IER, 0x0f);
	out8(f, RBR, '1');
	out8(f, RBR, '2'); /* overrun */
	assert_int_equal(in8(f, IIR), 0x06);
	in8(f, LSR); /* clears OE */
	assert_int_equal(in8(f, IIR), 0x04);
	in8(f, RBR);
	assert_int_equal(in8(f, IIR), 0x02); /* THRE */
	/* Then modem status: the deltas from entering loopback. */
	assert_int_equal(in8(f, IIR), 0x00);
	in8(f, MSR);
	assert_int_equal(in8(f, IIR), 0x01);
}

static void test_uart__wide_read_is_byte_run(void **state)
{
	struct fixture *f = *state;
	struct io_access io = { .port = COM1 + LSR, .size = 2, .dir = IO_READ };

	assert_int_equal(io_bus_dispatch(&f->bus, &io), IO_DONE);
	assert_int_equal(io.data, 0xb060);
}

static void test_uart__unaligned_base_fails_with_einval(void **state)
{
	struct fixture *f = *state;
	struct uart16550 u2;

	uart16550_init(&u2, -1);
	assert_int_equal(uart16550_register(&u2, &f->bus, 0x2f9), -EINVAL);
	assert_int_equal(uart16550_register(&u2, &f->bus, COM1), -EBUSY);
	assert_int_equal(uart16550_register(&u2, &f->bus, 0x2f8), 0);
}

#define UART_TEST(t) cmocka_unit_test_setup_teardown(t, setup_8n1, teardown)
#define UART_TEST_RESET(t) cmocka_unit_test_setup_teardown(t, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		UART_TEST_RESET(test_uart__reset_values),
		UART_TEST_RESET(test_uart__reset_lcr_sends_5bit_words),
		UART_TEST(test_uart__7bit_words_drop_bit_7_on_output),
		UART_TEST(test_uart__word_length_masks_loopback_byte),
		UART_TEST(test_uart__thr_write_reaches_output_at_newline),
		UART_TEST(test_uart__flush_writes_partial_line),
		UART_TEST(test_uart__full_buffer_flushed_without_newline),
		UART_TEST(test_uart__write_error_reported_by_flush),
		UART_TEST(test_uart__no_output_fd_counts_and_discards),
		UART_TEST(test_uart__dlab_banks_divisor_latch),
		UART_TEST(test_uart__ier_keeps_low_four_bits),
		UART_TEST(test_uart__lcr_reads_back_all_bits),
		UART_TEST(test_uart__fcr_enable_sets_iir_fifo_bits),
		UART_TEST(test_uart__lsr_thre_temt_always_writes_ignored),
		UART_TEST(test_uart__msr_writes_ignored),
		UART_TEST(test_uart__scr_reads_back),
		UART_TEST(test_uart__mcr_keeps_low_five_bits),
		UART_TEST(test_uart__loopback_ties_mcr_outputs_to_msr),
		UART_TEST(test_uart__loopback_ring_trailing_edge_sets_teri),
		UART_TEST(test_uart__loopback_thr_goes_to_rbr_not_output),
		UART_TEST(test_uart__loopback_overrun_sets_oe_until_lsr_read),
		UART_TEST(test_uart__loopback_fifo_holds_sixteen),
		UART_TEST(test_uart__fcr_clear_rcvr_empties_fifo),
		UART_TEST(test_uart__iir_thri_pending_until_iir_read),
		UART_TEST(test_uart__iir_rdi_and_fifo_timeout),
		UART_TEST(test_uart__iir_line_status_has_top_priority),
		UART_TEST(test_uart__wide_read_is_byte_run),
		UART_TEST(test_uart__unaligned_base_fails_with_einval),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
