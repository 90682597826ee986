/* SPDX-License-Identifier: MIT */
/*
 * uart16550.c - the PC16550D UART model: register file with DLAB banking,
 * FIFO control, line and modem status, loopback, interrupt identification
 * in the datasheet's priority order (Table IV), and buffered output of what
 * the guest transmits, at the word length LCR selects. Register names are Linux's <linux/serial_reg.h>.
 * Monitor side.
 */
#include "l0/dev/uart16550.h"

#include <errno.h>
#include <linux/serial_reg.h>
#include <string.h>
#include <unistd.h>

/* IIR bits 7:6 read 11 when FCR bit 0 has enabled the FIFOs. */
#define UART_IIR_FIFO_BITS 0xc0
/* Writable bits: IER 3:0, MCR 4:0 (bits 7:5 read 0 on a 16550). */
#define UART_IER_MASK 0x0f
#define UART_MCR_MASK 0x1f
/* The modem inputs of a terminal that is attached and ready. */
#define UART_MSR_ATTACHED (UART_MSR_DCD | UART_MSR_DSR | UART_MSR_CTS)

void uart16550_init(struct uart16550 *u, int out_fd)
{
	memset(u, 0, sizeof(*u));
	u->out_fd = out_fd;
	/* The divisor latch is not reset by MR; 12 is 9600 baud at 1.8432 MHz. */
	u->dll = 12;
}

static bool fifo_enabled(const struct uart16550 *u)
{
	return u->fcr & UART_FCR_ENABLE_FIFO;
}

static bool loopback(const struct uart16550 *u)
{
	return u->mcr & UART_MCR_LOOP;
}

/*
 * MSR bits 7:4. In loopback the datasheet ties CTS to RTS, DSR to DTR,
 * RI to OUT1 and DCD to OUT2; otherwise the inputs are those of an
 * attached terminal.
 */
static uint8_t modem_inputs(uint8_t mcr)
{
	uint8_t in = 0;

	if (!(mcr & UART_MCR_LOOP))
		return UART_MSR_ATTACHED;
	if (mcr & UART_MCR_RTS)
		in |= UART_MSR_CTS;
	if (mcr & UART_MCR_DTR)
		in |= UART_MSR_DSR;
	if (mcr & UART_MCR_OUT1)
		in |= UART_MSR_RI;
	if (mcr & UART_MCR_OUT2)
		in |= UART_MSR_DCD;
	return in;
}

static void update_msr_deltas(struct uart16550 *u, uint8_t old_in,
			      uint8_t new_in)
{
	uint8_t changed = old_in ^ new_in;

	if (changed & UART_MSR_CTS)
		u->msr_deltas |= UART_MSR_DCTS;
	if (changed & UART_MSR_DSR)
		u->msr_deltas |= UART_MSR_DDSR;
	if (changed & UART_MSR_DCD)
		u->msr_deltas |= UART_MSR_DDCD;
	/* TERI flags only the trailing edge: RI going from on to off. */
	if ((old_in & UART_MSR_RI) && !(new_in & UART_MSR_RI))
		u->msr_deltas |= UART_MSR_TERI;
}

static unsigned int rx_capacity(const struct uart16550 *u)
{
	return fifo_enabled(u) ? UART16550_FIFO_SIZE : 1;
}

static unsigned int rx_trigger(const struct uart16550 *u)
{
	static const unsigned int level[4] = { 1, 4, 8, 14 };

	return level[UART_FCR_R_TRIG_BITS(u->fcr)];
}

static void rx_clear(struct uart16550 *u)
{
	u->rx_head = 0;
	u->rx_count = 0;
}

static void rx_push(struct uart16550 *u, uint8_t c)
{
	/* On overrun the character in the shift register is lost and the
	 * FIFO (or RBR) keeps what it holds (datasheet, LSR bit 1). */
	if (u->rx_count == rx_capacity(u)) {
		u->lsr_errors |= UART_LSR_OE;
		u->overruns++;
		return;
	}
	u->rx[(u->rx_head + u->rx_count) % UART16550_FIFO_SIZE] = c;
	u->rx_count++;
}

static uint8_t rx_pop(struct uart16550 *u)
{
	uint8_t c;

	if (!u->rx_count)
		return 0;
	c = u->rx[u->rx_head];
	u->rx_head = (u->rx_head + 1) % UART16550_FIFO_SIZE;
	u->rx_count--;
	return c;
}

static int write_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

int uart16550_flush(struct uart16550 *u)
{
	if (u->olen && u->out_fd >= 0 && !u->write_error)
		u->write_error = write_all(u->out_fd, u->obuf, u->olen);
	u->olen = 0;
	return u->write_error;
}

void uart16550_set_line(struct uart16550 *u, uint8_t lcr)
{
	u->lcr = lcr;
}

/*
 * Only the word length's data bits leave the transmitter: LCR bits 1:0
 * select 5 to 8 bits, least significant first (datasheet, "Line Control
 * Register"); the others are not sent, and a receiver of a shorter word
 * reads them as 0 (loopback included).
 */
static uint8_t word_mask(const struct uart16550 *u)
{
	return (uint8_t)(0xffu >> (3 - (u->lcr & UART_LCR_WLEN8)));
}

static void transmit(struct uart16550 *u, uint8_t c)
{
	c &= word_mask(u);
	if (loopback(u)) {
		u->loopback_bytes++;
		rx_push(u, c);
		return;
	}
	u->tx_bytes++;
	if (u->out_fd < 0 || u->write_error)
		return;
	u->obuf[u->olen++] = (char)c;
	if (c == '\n' || u->olen == sizeof(u->obuf))
		uart16550_flush(u);
}

/* The highest-priority pending interrupt (datasheet Table IV). */
static uint8_t interrupt_id(const struct uart16550 *u)
{
	if ((u->ier & UART_IER_RLSI) && u->lsr_errors)
		return UART_IIR_RLSI;
	if ((u->ier & UART_IER_RDI) && u->rx_count) {
		/*
		 * Below the trigger level the FIFO reports a character
		 * timeout once four character times pass with no input;
		 * nothing more can arrive here, so that time has passed.
		 */
		if (fifo_enabled(u) && u->rx_count < rx_trigger(u))
			return UART_IIR_RX_TIMEOUT;
		return UART_IIR_RDI;
	}
	if ((u->ier & UART_IER_THRI) && u->thri_pending)
		return UART_IIR_THRI;
	if ((u->ier & UART_IER_MSI) && u->msr_deltas)
		return UART_IIR_MSI;
	return UART_IIR_NO_INT;
}

static uint8_t reg_read(struct uart16550 *u, unsigned int reg)
{
	bool dlab = u->lcr & UART_LCR_DLAB;
	uint8_t v;

	switch (reg) {
	case UART_RX:
		return dlab ? u->dll : rx_pop(u);
	case UART_IER:
		return dlab ? u->dlm : u->ier;
	case UART_IIR:
		v = interrupt_id(u);
		/* Reading IIR acknowledges a THR-empty interrupt it reports. */
		if (v == UART_IIR_THRI)
			u->thri_pending = false;
		if (fifo_enabled(u))
			v |= UART_IIR_FIFO_BITS;
		return v;
	case UART_LCR:
		return u->lcr;
	case UART_MCR:
		return u->mcr;
	case UART_LSR:
		v = UART_LSR_THRE | UART_LSR_TEMT | u->lsr_errors;
		if (u->rx_count)
			v |= UART_LSR_DR;
		u->lsr_errors = 0;
		return v;
	case UART_MSR:
		v = modem_inputs(u->mcr) | u->msr_deltas;
		u->msr_deltas = 0;
		return v;
	default: /* UART_SCR */
		return u->scr;
	}
}

static void write_fcr(struct uart16550 *u, uint8_t v)
{
	/* Changing FCR bit 0 resets both FIFOs; the other bits are only
	 * programmed while bit 0 is being written as 1. */
	if ((v ^ u->fcr) & UART_FCR_ENABLE_FIFO)
		rx_clear(u);
	if (!(v & UART_FCR_ENABLE_FIFO)) {
		u->fcr = 0;
		return;
	}
	if (v & UART_FCR_CLEAR_RCVR)
		rx_clear(u);
	/* CLEAR_XMIT has nothing to clear: transmission is instantaneous. */
	u->fcr = v & (UART_FCR_ENABLE_FIFO | UART_FCR_TRIGGER_MASK);
}

static void reg_write(struct uart16550 *u, unsigned int reg, uint8_t v)
{
	bool dlab = u->lcr & UART_LCR_DLAB;
	uint8_t old;

	switch (reg) {
	case UART_TX:
		if (dlab) {
			u->dll = v;
			break;
		}
		transmit(u, v);
		/* The write acknowledges THRE; the byte leaves at once, so THR
		 * is empty again and raises the interrupt anew if enabled. */
		u->thri_pending = u->ier & UART_IER_THRI;
		break;
	case UART_IER:
		if (dlab) {
			u->dlm = v;
			break;
		}
		old = u->ier;
		u->ier = v & UART_IER_MASK;
		/* Enabling the THRE interrupt while THR is empty raises it. */
		if (!(old & UART_IER_THRI) && (u->ier & UART_IER_THRI))
			u->thri_pending = true;
		else if (!(u->ier & UART_IER_THRI))
			u->thri_pending = false;
		break;
	case UART_FCR:
		write_fcr(u, v);
		break;
	case UART_LCR:
		u->lcr = v;
		break;
	case UART_MCR:
		old = u->mcr;
		u->mcr = v & UART_MCR_MASK;
		update_msr_deltas(u, modem_inputs(old), modem_inputs(u->mcr));
		break;
	case UART_LSR:
	case UART_MSR:
		/* Read-only status; writes are for factory test only. */
		break;
	default: /* UART_SCR */
		u->scr = v;
		break;
	}
}

int uart16550_access(void *opaque, struct io_access *io)
{
	struct uart16550 *u = opaque;
	uint32_t data = 0;

	/* An 8-bit device: a wider access is a run of byte accesses, and the
	 * chip decodes only address lines A2:A0. */
	for (unsigned int i = 0; i < io->size; i++) {
		unsigned int reg = (io->port + i) & 7;

		if (io->dir == IO_READ)
			data |= (uint32_t)reg_read(u, reg) << (8 * i);
		else
			reg_write(u, reg, (uint8_t)(io->data >> (8 * i)));
	}
	if (io->dir == IO_READ)
		io->data = data;
	return IO_DONE;
}

static const struct io_dev_ops uart16550_ops = {
	.access = uart16550_access,
};

int uart16550_register(struct uart16550 *u, struct io_bus *bus, uint16_t base)
{
	if (base & 7)
		return -EINVAL;
	return io_bus_register(bus, base, UART16550_NR_PORTS, &uart16550_ops, u,
			       "uart16550");
}
