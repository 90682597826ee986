/* SPDX-License-Identifier: MIT */
/*
 * Guest runtime core: the C entry (boot-info check, main, exit through the
 * ISA debug-exit port or Bochs' shutdown port), the memory and string
 * functions GCC may emit calls to, and the 128-bit division helpers. Guest
 * side. Built with -fno-tree-loop-distribute-patterns so that GCC does not
 * turn the loops below into calls to themselves.
 */
#include "guests/rt/rt.h"

const struct nestvm_bootinfo *rt_bootinfo;

/* Bochs has no debug-exit device; "Shutdown" written byte by byte to this
 * port ends it (docs/bochs.md). */
#define RT_BOCHS_SHUTDOWN_PORT 0x8900
#define RT_UART_LSR_TEMT 0x40 /* transmitter empty: every byte is out */

void exit(int code)
{
	/* The debug-exit device stops the machine on any 32-bit write. */
	outl((uint32_t)code, RT_DEBUG_EXIT_PORT);

	/* Still running: no debug-exit device, as under Bochs, whose UART
	 * sends at its baud rate; wait until the last byte has gone out
	 * before asking Bochs to shut down. The halt loop only matters on a
	 * platform with neither. */
	while (!(inb(RT_UART_BASE + RT_UART_LSR) & RT_UART_LSR_TEMT))
		;
	for (const char *p = "Shutdown"; *p; p++)
		outb((uint8_t)*p, RT_BOCHS_SHUTDOWN_PORT);
	for (;;) {
		cli();
		hlt();
	}
}

void rt_main(const struct nestvm_bootinfo *bi)
{
	/* A 16550 resets to 5-bit words and no firmware need have run
	 * before us: program 8N1 first, as a driver does (DLAB stays 0). */
	outb(RT_UART_LCR_8N1, RT_UART_BASE + RT_UART_LCR);
	if (!bi || bi->magic != NESTVM_BOOTINFO_MAGIC) {
		printf("rt: bad boot info at %p (magic %#llx)\n", (void *)bi,
		       bi ? (unsigned long long)bi->magic : 0ull);
		exit(0xff);
	}
	if (bi->version != NESTVM_BOOTINFO_VERSION) {
		printf("rt: boot info version %u, expected %u\n", bi->version,
		       NESTVM_BOOTINFO_VERSION);
		exit(0xff);
	}
	rt_bootinfo = bi;
	exit(main(bi));
}

void *memcpy(void *dst, const void *src, size_t n)
{
	uint8_t *d = dst;
	const uint8_t *s = src;

	while (n >= 8) {
		uint64_t w;

		/* Byte-wise __builtin_memcpy of a scalar compiles to one
		 * unaligned load or store, not to a call. */
		__builtin_memcpy(&w, s, 8);
		__builtin_memcpy(d, &w, 8);
		d += 8;
		s += 8;
		n -= 8;
	}
	while (n--)
		*d++ = *s++;
	return dst;
}

void *memmove(void *dst, const void *src, size_t n)
{
	uint8_t *d = dst;
	const uint8_t *s = src;

	if (d == s || !n)
		return dst;
	/* Copy forwards unless the destination starts inside the source,
	 * where a forward copy would overwrite bytes not yet read. */
	if (d < s || d >= s + n)
		return memcpy(dst, src, n);
	while (n--)
		d[n] = s[n];
	return dst;
}

void *memset(void *dst, int c, size_t n)
{
	uint8_t *d = dst;
	uint64_t w = (uint8_t)c * 0x0101010101010101ull;

	while (n >= 8) {
		__builtin_memcpy(d, &w, 8);
		d += 8;
		n -= 8;
	}
	while (n--)
		*d++ = (uint8_t)c;
	return dst;
}

int memcmp(const void *a, const void *b, size_t n)
{
	const uint8_t *p = a, *q = b;

	for (size_t i = 0; i < n; i++) {
		if (p[i] != q[i])
			return p[i] < q[i] ? -1 : 1;
	}
	return 0;
}

size_t strlen(const char *s)
{
	size_t n = 0;

	while (s[n])
		n++;
	return n;
}

size_t strnlen(const char *s, size_t max)
{
	size_t n = 0;

	while (n < max && s[n])
		n++;
	return n;
}

int strcmp(const char *a, const char *b)
{
	/* C11 7.24.4: compare as unsigned char. */
	while (*a && *a == *b) {
		a++;
		b++;
	}
	return (int)(unsigned char)*a - (int)(unsigned char)*b;
}

int strncmp(const char *a, const char *b, size_t n)
{
	for (; n; n--, a++, b++) {
		if (*a != *b || !*a)
			return (int)(unsigned char)*a - (int)(unsigned char)*b;
	}
	return 0;
}

char *strchr(const char *s, int c)
{
	for (;; s++) {
		if (*s == (char)c)
			return (char *)s;
		if (!*s)
			return NULL;
	}
}

/*
 * 128-bit division. GCC calls these libgcc entry points for __int128 '/'
 * and '%'; the ones in the toolchain's libgcc.a use SSE registers, which a
 * guest must not touch (CR4.OSFXSR is clear: SSE raises #UD), so the
 * runtime provides its own and the linker takes them before libgcc's.
 */
typedef unsigned __int128 rt_u128;
typedef __int128 rt_s128;

rt_u128 __udivmodti4(rt_u128 n, rt_u128 d, rt_u128 *rem);
rt_s128 __divmodti4(rt_s128 n, rt_s128 d, rt_s128 *rem);
rt_u128 __udivti3(rt_u128 n, rt_u128 d);
rt_u128 __umodti3(rt_u128 n, rt_u128 d);
rt_s128 __divti3(rt_s128 n, rt_s128 d);
rt_s128 __modti3(rt_s128 n, rt_s128 d);

/* (hi:lo) / d with hi < d, so the quotient fits: one DIV instruction. */
static inline uint64_t rt_div_128_by_64(uint64_t hi, uint64_t lo, uint64_t d,
					uint64_t *rem)
{
	uint64_t q;

	__asm__("divq %[d]"
		: "=a"(q), "=d"(*rem)
		: "a"(lo), "d"(hi), [d] "r"(d));
	return q;
}

rt_u128 __udivmodti4(rt_u128 n, rt_u128 d, rt_u128 *rem)
{
	uint64_t n_hi = (uint64_t)(n >> 64), n_lo = (uint64_t)n;
	uint64_t d_hi = (uint64_t)(d >> 64), d_lo = (uint64_t)d;
	uint64_t q_hi = 0, q_lo, r;
	rt_u128 q = 0;
	int shift;

	if (!d_hi) {
		/* Schoolbook division in two 64-bit digits; a zero divisor
		 * raises #DE in the first DIV, as a division by zero should. */
		if (n_hi >= d_lo) {
			q_hi = n_hi / d_lo;
			n_hi %= d_lo;
		}
		q_lo = rt_div_128_by_64(n_hi, n_lo, d_lo, &r);
		if (rem)
			*rem = r;
		return (rt_u128)q_hi << 64 | q_lo;
	}
	/* d >= 2^64: the quotient fits in 64 bits. Align d's top bit with
	 * n's and subtract bit by bit, at most 64 steps. */
	if (n < d) {
		if (rem)
			*rem = n;
		return 0;
	}
	shift = __builtin_clzll(d_hi) - __builtin_clzll(n_hi);
	d <<= shift;
	for (int i = 0; i <= shift; i++) {
		q <<= 1;
		if (n >= d) {
			n -= d;
			q |= 1;
		}
		d >>= 1;
	}
	if (rem)
		*rem = n;
	return q;
}

rt_s128 __divmodti4(rt_s128 n, rt_s128 d, rt_s128 *rem)
{
	/* Truncating division (C11 6.5.5): the quotient is negative when the
	 * signs differ, the remainder takes the dividend's sign. Magnitudes
	 * are taken in unsigned arithmetic so that the minimum value works. */
	rt_u128 un = n < 0 ? -(rt_u128)n : (rt_u128)n;
	rt_u128 ud = d < 0 ? -(rt_u128)d : (rt_u128)d;
	rt_u128 ur, uq = __udivmodti4(un, ud, &ur);

	if (rem)
		*rem = (rt_s128)(n < 0 ? -ur : ur);
	return (rt_s128)((n < 0) != (d < 0) ? -uq : uq);
}

rt_u128 __udivti3(rt_u128 n, rt_u128 d)
{
	return __udivmodti4(n, d, NULL);
}

rt_u128 __umodti3(rt_u128 n, rt_u128 d)
{
	rt_u128 r;

	__udivmodti4(n, d, &r);
	return r;
}

rt_s128 __divti3(rt_s128 n, rt_s128 d)
{
	return __divmodti4(n, d, NULL);
}

rt_s128 __modti3(rt_s128 n, rt_s128 d)
{
	rt_s128 r;

	__divmodti4(n, d, &r);
	return r;
}
