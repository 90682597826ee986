/* SPDX-License-Identifier: MIT */
/*
 * uart16550.h - a National Semiconductor PC16550D ("16550A") UART, the PC's
 * COM1 at 0x3f8, behind the port-I/O bus. Register map (datasheet, Table II
 * "Summary of Registers"), offsets from the base port:
 *
 *   off  DLAB=0 read   DLAB=0 write   DLAB=1
 *   0    RBR           THR            DLL (divisor low)
 *   1    IER           IER            DLM (divisor high)
 *   2    IIR           FCR            IIR / FCR
 *   3    LCR (bit 7 = DLAB)
 *   4    MCR (bit 4 = loopback)
 *   5    LSR (writes ignored)
 *   6    MSR (writes ignored)
 *   7    SCR (scratch)
 *
 * Transmission is instantaneous, so LSR always shows THRE|TEMT. Nothing is
 * ever received from outside; loopback mode (MCR.LOOP) feeds THR back into
 * the receiver and MCR's outputs into MSR's inputs, as the datasheet
 * describes. Interrupt identification (IIR) is modeled, but no IRQ line is
 * wired yet. Monitor side; the device sees only port accesses.
 */
#ifndef NESTVM_L0_DEV_UART16550_H
#define NESTVM_L0_DEV_UART16550_H

#include "l0/iobus.h"

#define UART16550_COM1_BASE 0x3f8
#define UART16550_NR_PORTS 8
#define UART16550_FIFO_SIZE 16
#define UART16550_OBUF_SIZE 512

struct uart16550 {
	int out_fd; /* where THR bytes go; -1 discards them */

	uint8_t ier, lcr, mcr, fcr, scr, dll, dlm;
	uint8_t lsr_errors; /* LSR OE/PE/FE/BI, cleared by reading LSR */
	uint8_t msr_deltas; /* MSR bits 3:0, cleared by reading MSR */
	bool thri_pending; /* THR-empty interrupt not yet acknowledged */

	/* The receiver: 16 bytes with FIFOs on, else a one-byte RBR. */
	uint8_t rx[UART16550_FIFO_SIZE];
	unsigned int rx_head, rx_count;

	/* Output not yet written to out_fd (flushed at '\n' and when full). */
	char obuf[UART16550_OBUF_SIZE];
	size_t olen;
	int write_error; /* first -errno from writing out_fd, or 0 */

	uint64_t tx_bytes; /* bytes written to THR outside loopback */
	uint64_t loopback_bytes; /* bytes written to THR in loopback */
	uint64_t overruns; /* bytes lost to a full receiver */
};

/* Puts the UART in its reset state (datasheet Table IV), output to out_fd. */
void uart16550_init(struct uart16550 *u, int out_fd);

/*
 * Sets the line control register as the platform's firmware leaves it for
 * the guest (a PC BIOS programs COM1 to 8N1; nestvm has no firmware, so
 * its loader does it): the reset value 0 means 5-bit words.
 */
void uart16550_set_line(struct uart16550 *u, uint8_t lcr);
#define UART16550_LCR_8N1 0x03 /* 8 data bits, no parity, 1 stop bit */

/* Claims UART16550_NR_PORTS ports at base on bus; see io_bus_register(). */
int uart16550_register(struct uart16550 *u, struct io_bus *bus, uint16_t base);

/* The bus callback (exported for tests); always returns IO_DONE. */
int uart16550_access(void *opaque, struct io_access *io);

/* Writes out buffered output. 0, or the first -errno writing failed with. */
int uart16550_flush(struct uart16550 *u);

#endif
