/* SPDX-License-Identifier: MIT */
/*
 * format: exercises the runtime's printf and snprintf on every conversion,
 * flag, width, precision and length modifier it supports. The expected
 * output is what the C library's printf prints for the same calls, so the
 * file also pins the formatter to C11 7.21.6.1. Guest side.
 */
#include "guests/rt/rt.h"

/* Hides a buffer size from the compiler, which would otherwise warn about
 * the truncation these calls exist to test. */
static size_t format_opaque_size(size_t n)
{
	__asm__("" : "+r"(n));
	return n;
}

int main(const struct nestvm_bootinfo *bi)
{
	char buf[32];
	int n;

	(void)bi;
	printf("d: [%d] [%d] [%d] [%i] [%d]\n", 0, 1, -1, 2147483647,
	       -2147483647 - 1);
	printf("u: [%u] [%u] [%lu] [%llu]\n", 0u, 4294967295u,
	       18446744073709551615ul, 12345678901234567890ull);
	printf("x: [%x] [%X] [%x] [%lx] [%llX]\n", 0u, 0xabcdefu, 0xffffffffu,
	       0x123456789abcdef0ul, 0xfedcba9876543210ull);
	printf("o: [%o] [%o] [%#o] [%#o] [%llo]\n", 0u, 8u, 0u, 8u,
	       18446744073709551615ull);
	printf("alt: [%#x] [%#X] [%#x] [%#10x] [%#-10x] [%#010x]\n", 0u, 255u,
	       255u, 255u, 255u, 255u);
	printf("width: [%5d] [%-5d] [%05d] [%5d] [%-5d] [%05d]\n", 42, 42, 42,
	       -42, -42, -42);
	printf("sign: [%+d] [%+d] [% d] [% d] [%+5d] [% 05d] [%+.3d]\n", 7, -7,
	       7, -7, 7, 7, 7);
	printf("prec: [%.3d] [%.3d] [%8.3d] [%-8.3d] [%8.0d] [%.0d] [%5.0d]\n",
	       7, -7, 7, 7, 7, 0, 0);
	printf("precx: [%.4x] [%#.4x] [%.0x] [%#.0x] [%.0o] [%#.0o]\n", 0xau,
	       0xau, 0u, 0u, 0u, 0u);
	printf("star: [%*d] [%-*d] [%*d] [%.*d] [%.*d] [%*.*s]\n", 6, 1, 6, 2,
	       -6, 3, 4, 5, -1, 6, 5, 2, "abc");
	printf("hh: [%hhd] [%hhu] [%hhx] [%hhd]\n", 200, 200, 0x1ff, -129);
	printf("h: [%hd] [%hu] [%hx] [%hd]\n", 40000, 40000, 0x12345, -32769);
	printf("l: [%ld] [%li] [%lu]\n", -9223372036854775807l - 1,
	       9223372036854775807l, 9223372036854775808ul);
	printf("ll: [%lld] [%llx] [%llo]\n", -1ll, 0x8000000000000000ull,
	       511ull);
	printf("z: [%zu] [%zx] [%zd]\n", (size_t)123456789, (size_t)0xbeef,
	       (size_t)-5);
	printf("j: [%jd] [%ju] [%jx]\n", (intmax_t)-1234567890123,
	       (uintmax_t)1234567890123, (uintmax_t)0xfeed);
	printf("t: [%td] [%tx]\n", (ptrdiff_t)-77, (ptrdiff_t)0x77);
	printf("c: [%c] [%3c] [%-3c] [%c%c%c]\n", 'a', 'b', 'c', 'x', 'y', 'z');
	printf("s: [%s] [%7s] [%-7s] [%.2s] [%7.2s] [%-7.2s] [%.0s] [%s]\n",
	       "str", "str", "str", "str", "str", "str", "str", "");
	printf("p: [%p] [%p] [%20p] [%-20p]\n", (void *)0x1000,
	       (void *)0xffff800000001000ul, (void *)0xabc, (void *)0xabc);
	printf("percent: [%%] [%%%d%%]\n", 50);

	n = snprintf(buf, sizeof(buf), "%s-%d-%x", "snprintf", -12, 0xabcu);
	printf("snprintf: [%s] %d\n", buf, n);
	n = snprintf(buf, format_opaque_size(8), "%s", "0123456789abcdef");
	printf("truncated: [%s] %d\n", buf, n);
	n = snprintf(buf, format_opaque_size(1), "%d", 12345);
	printf("size 1: [%s] %d\n", buf, n);
	buf[0] = '#';
	n = snprintf(buf, format_opaque_size(0), "%d %s", 12345, "abc");
	printf("size 0: %d [%c]\n", n, buf[0]);
	n = printf("printf returns\n");
	printf("returned: %d\n", n);
	rt_result("format_printf_len", (uint64_t)n, "bytes");
	rt_result_signed("format_signed", -1234, "ns");
	return 0;
}
