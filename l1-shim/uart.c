/* SPDX-License-Identifier: MIT */
/*
 * uart.c - the 16550A that L2 sees at COM1: every access to 0x3f8-0x3ff
 * exits to l1-shim, which keeps the register file here and passes each
 * byte L2 transmits to its own console unchanged (PC16550D datasheet,
 * register names of <linux/serial_reg.h>). Transmission is instantaneous
 * and nothing is ever received, as on nestvm's UART; loopback mode
 * swallows what is sent, and the modem-status deltas never change. l1-shim
 * side (L1).
 */
#include <linux/serial_reg.h>

#include "guests/rt/rt.h"
#include "l1-shim/shim.h"

#define L1_UART_IER_MASK 0x0f /* IER bits 7:4 read 0 */
#define L1_UART_MCR_MASK 0x1f /* MCR bits 7:5 read 0 */
#define L1_UART_IIR_FIFO 0xc0 /* IIR bits 7:6 with FIFOs enabled */

/* MSR bits 7:4: a terminal that is attached and ready, or in loopback the
 * outputs the datasheet ties them to (CTS=RTS, DSR=DTR, RI=OUT1,
 * DCD=OUT2). */
static uint8_t l1_uart_modem_inputs(uint8_t mcr)
{
	uint8_t in = 0;

	if (!(mcr & UART_MCR_LOOP))
		return UART_MSR_DCD | UART_MSR_DSR | UART_MSR_CTS;
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

void l1_uart_init(struct l1_uart *u)
{
	*u = (struct l1_uart){ 0 };
	/* The divisor latch survives reset; 12 is 9600 baud at 1.8432 MHz,
	 * what nestvm's UART starts with. */
	u->dll = 12;
}

uint8_t l1_uart_read(struct l1_uart *u, unsigned int reg)
{
	bool dlab = u->lcr & UART_LCR_DLAB;
	uint8_t v;

	switch (reg & 7) {
	case UART_RX:
		return dlab ? u->dll : 0; /* nothing is ever received */
	case UART_IER:
		return dlab ? u->dlm : u->ier;
	case UART_IIR:
		/* THR is always empty, so the only interrupt that can be
		 * pending is THRE, and only while IER enables it. */
		v = (u->ier & UART_IER_THRI) ? UART_IIR_THRI : UART_IIR_NO_INT;
		if (u->fcr & UART_FCR_ENABLE_FIFO)
			v |= L1_UART_IIR_FIFO;
		return v;
	case UART_LCR:
		return u->lcr;
	case UART_MCR:
		return u->mcr;
	case UART_LSR:
		return UART_LSR_TEMT | UART_LSR_THRE;
	case UART_MSR:
		return l1_uart_modem_inputs(u->mcr);
	default: /* UART_SCR */
		return u->scr;
	}
}

void l1_uart_write(struct l1_uart *u, unsigned int reg, uint8_t val)
{
	bool dlab = u->lcr & UART_LCR_DLAB;

	switch (reg & 7) {
	case UART_TX:
		if (dlab)
			u->dll = val;
		else if (!(u->mcr & UART_MCR_LOOP))
			putchar(val); /* waits for THRE on l1-shim's own UART */
		break;
	case UART_IER:
		if (dlab)
			u->dlm = val;
		else
			u->ier = val & L1_UART_IER_MASK;
		break;
	case UART_FCR:
		/* Only bit 0 and the trigger level stick (datasheet FCR). */
		u->fcr = (val & UART_FCR_ENABLE_FIFO)
				 ? val & (UART_FCR_ENABLE_FIFO |
					  UART_FCR_TRIGGER_MASK)
				 : 0;
		break;
	case UART_LCR:
		u->lcr = val;
		break;
	case UART_MCR:
		u->mcr = val & L1_UART_MCR_MASK;
		break;
	case UART_LSR:
	case UART_MSR:
		break; /* read-only status */
	default: /* UART_SCR */
		u->scr = val;
		break;
	}
}
