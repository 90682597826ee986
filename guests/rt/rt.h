/* SPDX-License-Identifier: MIT */
/*
 * The freestanding guest runtime: console output on the 16550 UART, exit
 * through the ISA debug-exit port, the string functions GCC may call, and
 * port I/O, CPUID, RDTSC and control-register helpers. Guest side; entered
 * from start.S under the 64-bit boot contract of arch/bootinfo.h.
 *
 * Result lines. A workload reports each measurement as one line on the
 * console, which tools parse:
 *
 *	RESULT <name> <value> <unit>
 *
 * <name> is one word without spaces (letters, digits, '_', '.', '-');
 * <value> is a decimal integer, unsigned or signed ("-" then digits);
 * <unit> is one word such as cycles, count, bytes, ns or MiB.
 * Exactly one space separates the fields and the line ends with "\n".
 * rt_result() and rt_result_signed() print such lines.
 */
#ifndef NESTVM_GUESTS_RT_RT_H
#define NESTVM_GUESTS_RT_RT_H

#include <stdarg.h>

#include "arch/bootinfo.h"
#include "arch/types.h"

/* The ports of the two devices every nestvm level provides. */
#define RT_UART_BASE 0x3f8
#define RT_UART_THR 0 /* transmit holding register (DLAB = 0) */
#define RT_UART_LCR 3 /* line control register */
#define RT_UART_LCR_8N1 0x03 /* 8 data bits, no parity, 1 stop bit */
#define RT_UART_LSR 5 /* line status register */
#define RT_UART_LSR_THRE 0x20 /* THR empty: the UART takes another byte */
#define RT_DEBUG_EXIT_PORT 0xf4

/* The workload's entry point, called by the runtime with a validated boot
 * information block; its return value becomes the exit status. */
int main(const struct nestvm_bootinfo *bi);

/* Called by start.S: checks the boot information, runs main(), exits. */
void rt_main(const struct nestvm_bootinfo *bi) __attribute__((noreturn));

/* Stops the machine with status code (written to the debug-exit port); if
 * the port does not stop it, halts with interrupts off forever. */
void exit(int code) __attribute__((noreturn));

/* The boot information as rt_main() found it (valid once main() runs). */
extern const struct nestvm_bootinfo *rt_bootinfo;

/* ---- console (console.c) ------------------------------------------------ */

/* Writes one byte to the UART, waiting for THRE first; returns c. */
int putchar(int c);
/* Writes s and a newline; returns a non-negative number. */
int puts(const char *s);

/*
 * printf subset: conversions d i u x X o c s p %; flags '-', '0', '+', ' '
 * and '#'; a field width and a precision (digits or '*'); length modifiers
 * hh h l ll z j t. Return the number of characters produced (for
 * vsnprintf, those it would have written without the size limit; the
 * buffer is always NUL-terminated when size > 0). An unknown conversion is
 * printed as it stands.
 */
int printf(const char *fmt, ...) __attribute__((format(__printf__, 1, 2)));
int vprintf(const char *fmt, va_list ap)
	__attribute__((format(__printf__, 1, 0)));
int snprintf(char *buf, size_t size, const char *fmt, ...)
	__attribute__((format(__printf__, 3, 4)));
int vsnprintf(char *buf, size_t size, const char *fmt, va_list ap)
	__attribute__((format(__printf__, 3, 0)));

/* Prints "RESULT <name> <value> <unit>\n" (see the top of this file). */
void rt_result(const char *name, uint64_t value, const char *unit);
void rt_result_signed(const char *name, int64_t value, const char *unit);

/* ---- memory and strings (rt.c): GCC may emit calls to the mem* four ---- */

void *memcpy(void *dst, const void *src, size_t n);
void *memmove(void *dst, const void *src, size_t n);
void *memset(void *dst, int c, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);
size_t strnlen(const char *s, size_t max);
int strcmp(const char *a, const char *b);
int strncmp(const char *a, const char *b, size_t n);
char *strchr(const char *s, int c);

/* ---- interrupt descriptor table (idt.c) --------------------------------- */

/*
 * What the common interrupt stub saved, lowest address first: the general
 * registers, the vector and error code the vector's stub pushed (0 where
 * the processor pushes none), then the frame the processor pushed on
 * delivery in 64-bit mode (SDM Vol. 3A 6.14.2). A handler may change any
 * member; the stub reloads them all and returns with IRETQ, so setting rip
 * is how a handler skips a faulting instruction.
 */
struct idt_frame {
	uint64_t r15, r14, r13, r12, r11, r10, r9, r8;
	uint64_t rbp, rdi, rsi, rdx, rcx, rbx, rax;
	uint64_t vector, error_code;
	uint64_t rip, cs, rflags, rsp, ss;
};

typedef void (*idt_handler_fn)(struct idt_frame *frame);

/* Builds a 256-entry IDT with present 64-bit interrupt gates (DPL 0) for
 * the exception vectors 0-31 on the current code segment, loads it with
 * LIDT, and routes every gate to handler. */
void idt_install(idt_handler_fn handler);
/* Makes gate vector (32-255) present as an interrupt gate with the given
 * descriptor privilege level (0-3), routed to the same handler. */
void idt_enable_vector(unsigned int vector, unsigned int dpl);

/* ---- paging (paging.c) -------------------------------------------------- */

/*
 * The 4 KiB page-table entry that maps @va under the current CR3. A 2 MiB
 * leaf on the way is split into 512 4 KiB entries with the same rights
 * first (from a small pool of page-table pages; the TLB is flushed). NULL
 * when @va is not mapped, is under a 1 GiB leaf, or the pool is used up.
 */
uint64_t *rt_pte_4k(uint64_t va);
/* Makes [start, end) user-accessible: U/S set on every entry that maps it,
 * down to 4 KiB leaves. 0, or -1 where rt_pte_4k() fails. */
int rt_paging_set_user(uint64_t start, uint64_t end);

/* ---- user mode (user.c) ------------------------------------------------- */

/* The runtime's user-mode selectors (RPL 3), in the GDT rt_user_init()
 * loads: SYSRET's layout (SDM Vol. 2B, SYSRET) from STAR[63:48] = 0x30. */
#define RT_SEL_USER_DATA 0x3b
#define RT_SEL_USER_CODE64 0x43

/*
 * Prepares CPL 3: a GDT that adds user code and data segments to the boot
 * contract's, RSP0 of the current TSS pointed at a kernel stack of the
 * runtime's, SYSCALL enabled (EFER.SCE, STAR, LSTAR, SFMASK) with an entry
 * that returns at once with SYSRET, and the image user-accessible. Guests
 * that never call it see the machine as before. 0, or -1 after a message.
 */
int rt_user_init(void);
/* Runs fn(arg) at CPL 3 on the runtime's user stack; returns what fn
 * returned. fn may execute SYSCALL with RAX = RT_SYS_NULL (returns at
 * once; RCX and R11 are clobbered). Needs rt_user_init(). */
#define RT_SYS_NULL 0
uint64_t rt_user_call(uint64_t (*fn)(uint64_t), uint64_t arg);

/* ---- port I/O and processor instructions -------------------------------- */

static inline void outb(uint8_t v, uint16_t port)
{
	__asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port));
}

static inline void outw(uint16_t v, uint16_t port)
{
	__asm__ volatile("outw %0, %1" : : "a"(v), "Nd"(port));
}

static inline void outl(uint32_t v, uint16_t port)
{
	__asm__ volatile("outl %0, %1" : : "a"(v), "Nd"(port));
}

static inline uint8_t inb(uint16_t port)
{
	uint8_t v;

	__asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}

static inline uint16_t inw(uint16_t port)
{
	uint16_t v;

	__asm__ volatile("inw %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}

static inline uint32_t inl(uint16_t port)
{
	uint32_t v;

	__asm__ volatile("inl %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}

static inline uint64_t rdtsc(void)
{
	uint32_t lo, hi;

	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return ((uint64_t)hi << 32) | lo;
}

struct cpuid_regs {
	uint32_t eax, ebx, ecx, edx;
};

static inline struct cpuid_regs cpuid(uint32_t leaf, uint32_t subleaf)
{
	struct cpuid_regs r;

	__asm__ volatile("cpuid"
			 : "=a"(r.eax), "=b"(r.ebx), "=c"(r.ecx), "=d"(r.edx)
			 : "a"(leaf), "c"(subleaf));
	return r;
}

static inline void hlt(void)
{
	__asm__ volatile("hlt" : : : "memory");
}

static inline void cli(void)
{
	__asm__ volatile("cli" : : : "memory");
}

static inline void sti(void)
{
	__asm__ volatile("sti" : : : "memory");
}

static inline uint64_t read_cr2(void)
{
	uint64_t v;

	__asm__ volatile("mov %%cr2, %0" : "=r"(v));
	return v;
}

static inline uint64_t read_cr3(void)
{
	uint64_t v;

	__asm__ volatile("mov %%cr3, %0" : "=r"(v));
	return v;
}

static inline void invlpg(const volatile void *addr)
{
	__asm__ volatile("invlpg (%0)" : : "r"(addr) : "memory");
}

static inline void write_cr3(uint64_t v)
{
	__asm__ volatile("mov %0, %%cr3" : : "r"(v) : "memory");
}

static inline uint64_t read_cr0(void)
{
	uint64_t v;

	__asm__ volatile("mov %%cr0, %0" : "=r"(v));
	return v;
}

static inline void write_cr0(uint64_t v)
{
	__asm__ volatile("mov %0, %%cr0" : : "r"(v) : "memory");
}

static inline void write_cr8(uint64_t v)
{
	__asm__ volatile("mov %0, %%cr8" : : "r"(v) : "memory");
}

static inline uint64_t rt_rdmsr(uint32_t msr)
{
	uint32_t lo, hi;

	__asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
	return ((uint64_t)hi << 32) | lo;
}

static inline void rt_wrmsr(uint32_t msr, uint64_t v)
{
	__asm__ volatile("wrmsr"
			 :
			 : "c"(msr), "a"((uint32_t)v), "d"((uint32_t)(v >> 32))
			 : "memory");
}

#endif
