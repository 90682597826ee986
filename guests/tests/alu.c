/* SPDX-License-Identifier: MIT */
/*
 * alu: a self-checking workout of the integer instructions GCC emits at -O2
 * for general-registers-only code (add/adc/sub/sbb, mul/imul/div/idiv and
 * the libgcc 128-bit division helpers, shifts and rotates, bit scans,
 * extensions, setcc/cmovcc, jump tables, calls, string operations). Each
 * check folds its results into a 64-bit hash and compares it with the value
 * the same code computes on an x86-64 Linux host. Guest side.
 */
#include "guests/rt/rt.h"

typedef unsigned __int128 u128;
typedef __int128 s128;

/* Hides a value from the optimizer so that every check runs on the CPU
 * instead of being folded at compile time. */
static inline uint64_t alu_opaque(uint64_t x)
{
	__asm__("" : "+r"(x));
	return x;
}

static inline uint64_t alu_mix(uint64_t h, uint64_t v)
{
	h ^= v;
	h *= 0x100000001b3ull;
	h ^= h >> 29;
	return h;
}

#define ALU_SEED 0xcbf29ce484222325ull

/* Edge values for the pairwise checks: zero and one, sign and carry
 * boundaries of every operand width, all-ones, and irregular patterns. */
static const uint64_t alu_edges[] = {
	0,
	1,
	2,
	3,
	10,
	0x7f,
	0x80,
	0xff,
	0x7fff,
	0x8000,
	0xffff,
	0x7fffffff,
	0x80000000,
	0xffffffff,
	0x100000000ull,
	0x7fffffffffffffffull, /* INT64_MAX */
	0x8000000000000000ull, /* INT64_MIN */
	0xffffffffffffffffull, /* -1 */
	0xfffffffffffffffeull, /* -2 */
	0x0123456789abcdefull,
	0xfedcba9876543210ull,
	0x5555555555555555ull,
	0xaaaaaaaaaaaaaaaaull,
	0x00000000deadbeefull,
};

#define NR_EDGES ARRAY_SIZE(alu_edges)

static inline uint64_t alu_edge(size_t i)
{
	return alu_opaque(alu_edges[i]);
}

static __attribute__((noinline)) uint64_t alu_check_addsub(void)
{
	uint64_t h = ALU_SEED;

	for (size_t i = 0; i < NR_EDGES; i++) {
		for (size_t j = 0; j < NR_EDGES; j++) {
			uint64_t a = alu_edge(i), b = alu_edge(j);
			u128 x = (u128)a << 64 | b, y = (u128)b << 64 | a;
			u128 s = x + y, d = x - y;
			uint64_t r;
			int64_t sr;
			bool c;

			h = alu_mix(h, (uint64_t)s);
			h = alu_mix(h, (uint64_t)(s >> 64));
			h = alu_mix(h, (uint64_t)d);
			h = alu_mix(h, (uint64_t)(d >> 64));
			c = __builtin_add_overflow(a, b, &r);
			h = alu_mix(h, r ^ c);
			c = __builtin_sub_overflow(a, b, &r);
			h = alu_mix(h, r ^ (uint64_t)c << 1);
			c = __builtin_add_overflow((int64_t)a, (int64_t)b, &sr);
			h = alu_mix(h, (uint64_t)sr ^ (uint64_t)c << 2);
			c = __builtin_sub_overflow((int64_t)a, (int64_t)b, &sr);
			h = alu_mix(h, (uint64_t)sr ^ (uint64_t)c << 3);
			h = alu_mix(h, (uint32_t)a + (uint32_t)b);
			h = alu_mix(h, (uint16_t)((uint16_t)a - (uint16_t)b));
			h = alu_mix(h, -a ^ ~b);
			h = alu_mix(h, (a & b) | (a ^ b) << 1);
		}
	}
	return h;
}

static __attribute__((noinline)) uint64_t alu_check_mul(void)
{
	uint64_t h = ALU_SEED;

	for (size_t i = 0; i < NR_EDGES; i++) {
		for (size_t j = 0; j < NR_EDGES; j++) {
			uint64_t a = alu_edge(i), b = alu_edge(j);
			u128 p = (u128)a * b;
			s128 q = (s128)(int64_t)a * (int64_t)b;
			int64_t so;
			bool o;

			h = alu_mix(h, (uint64_t)p);
			h = alu_mix(h, (uint64_t)(p >> 64));
			h = alu_mix(h, (uint64_t)q);
			h = alu_mix(h, (uint64_t)((u128)q >> 64));
			h = alu_mix(h, a * b);
			h = alu_mix(h, (uint64_t)(uint32_t)a * (uint32_t)b);
			h = alu_mix(h, (uint32_t)((uint32_t)a * (uint32_t)b));
			h = alu_mix(h, (uint64_t)((int64_t)(int32_t)a *
						  (int32_t)b));
			h = alu_mix(h, (uint16_t)((uint32_t)(uint16_t)a *
						  (uint16_t)b));
			o = __builtin_mul_overflow((int64_t)a, (int64_t)b, &so);
			h = alu_mix(h, (uint64_t)so ^ o);
		}
		uint64_t a = alu_edge(i);

		/* Multiplications by constants become lea/shl/imul. */
		h = alu_mix(h, a * 3);
		h = alu_mix(h, a * 5);
		h = alu_mix(h, a * 9);
		h = alu_mix(h, a * 10);
		h = alu_mix(h, a * 0x9e3779b97f4a7c15ull);
		h = alu_mix(h, (uint64_t)((int64_t)(int32_t)a * -7));
	}
	return h;
}

static __attribute__((noinline)) uint64_t alu_check_div(void)
{
	uint64_t h = ALU_SEED;

	for (size_t i = 0; i < NR_EDGES; i++) {
		uint64_t a = alu_edge(i);

		for (size_t j = 0; j < NR_EDGES; j++) {
			uint64_t b = alu_edge(j);
			int64_t sa = (int64_t)a, sb = (int64_t)b;

			if (!b)
				continue;
			h = alu_mix(h, a / b);
			h = alu_mix(h, a % b);
			/* INT64_MIN / -1 overflows: #DE on hardware. */
			if (!(sa == INT64_MIN && sb == -1)) {
				h = alu_mix(h, (uint64_t)(sa / sb));
				h = alu_mix(h, (uint64_t)(sa % sb));
			}
			if ((uint32_t)b) {
				int32_t a32 = (int32_t)a, b32 = (int32_t)b;

				h = alu_mix(h, (uint32_t)a / (uint32_t)b);
				h = alu_mix(h, (uint32_t)a % (uint32_t)b);
				if (!(a32 == INT32_MIN && b32 == -1)) {
					h = alu_mix(h, (uint32_t)(a32 / b32));
					h = alu_mix(h, (uint32_t)(a32 % b32));
				}
			}
		}
		/* Divisions by constants become multiply-high sequences. */
		h = alu_mix(h, a / 10);
		h = alu_mix(h, a % 7);
		h = alu_mix(h, (uint64_t)((int64_t)a / 3));
		h = alu_mix(h, (uint64_t)((int64_t)a % 16));
		h = alu_mix(h, (uint32_t)a / 1000);
	}
	return h;
}

static __attribute__((noinline)) uint64_t alu_check_div128(void)
{
	uint64_t h = ALU_SEED;

	for (size_t i = 0; i < NR_EDGES; i++) {
		for (size_t j = 0; j < NR_EDGES; j++) {
			uint64_t a = alu_edge(i), b = alu_edge(j);
			u128 n = (u128)a << 64 | b;
			u128 d1 = b, d2 = (u128)(a >> 7) << 64 | (b | 1);
			s128 sn = (s128)n, sd = (s128)(int64_t)b;

			if (d1) {
				h = alu_mix(h, (uint64_t)(n / d1));
				h = alu_mix(h, (uint64_t)((n / d1) >> 64));
				h = alu_mix(h, (uint64_t)(n % d1));
			}
			h = alu_mix(h, (uint64_t)(n / d2));
			h = alu_mix(h, (uint64_t)(n % d2));
			if (sd &&
			    !(sd == -1 &&
			      (uint64_t)(n >> 64) == 0x8000000000000000ull &&
			      !(uint64_t)n)) {
				h = alu_mix(h, (uint64_t)(sn / sd));
				h = alu_mix(h,
					    (uint64_t)((u128)(sn / sd) >> 64));
				h = alu_mix(h, (uint64_t)(sn % sd));
			}
		}
	}
	return h;
}

static __attribute__((noinline)) uint64_t alu_check_shift(void)
{
	uint64_t h = ALU_SEED;

	for (size_t i = 0; i < NR_EDGES; i++) {
		uint64_t a = alu_edge(i);

		for (unsigned int n = 0; n < 64; n++) {
			unsigned int m = (unsigned int)alu_opaque(n);

			h = alu_mix(h, a << m);
			h = alu_mix(h, a >> m);
			h = alu_mix(h, (uint64_t)((int64_t)a >> m));
			h = alu_mix(h, (uint32_t)a << (m & 31));
			h = alu_mix(h, (uint32_t)a >> (m & 31));
			h = alu_mix(h, (uint32_t)((int32_t)a >> (m & 31)));
			h = alu_mix(h, (uint64_t)((u128)a << (2 * m)));
			h = alu_mix(h, (uint64_t)(((u128)a << 64 | ~a) >> m));
		}
		h = alu_mix(h, a << 3);
		h = alu_mix(h, a >> 17);
		h = alu_mix(h, (uint64_t)((int64_t)a >> 63));
		h = alu_mix(h, (uint64_t)((int64_t)a >> 1));
		h = alu_mix(h, (uint32_t)((int32_t)a >> 31));
		h = alu_mix(h, (uint16_t)a >> 5);
	}
	return h;
}

static inline uint64_t alu_rol64(uint64_t x, unsigned int n)
{
	return (x << n) | (x >> (-n & 63));
}

static inline uint64_t alu_ror64(uint64_t x, unsigned int n)
{
	return (x >> n) | (x << (-n & 63));
}

static inline uint32_t alu_rol32(uint32_t x, unsigned int n)
{
	return (x << n) | (x >> (-n & 31));
}

static inline uint16_t alu_rol16(uint16_t x, unsigned int n)
{
	return (uint16_t)((x << n) | (x >> (-n & 15)));
}

static inline uint8_t alu_rol8(uint8_t x, unsigned int n)
{
	return (uint8_t)((x << n) | (x >> (-n & 7)));
}

static __attribute__((noinline)) uint64_t alu_check_rotate(void)
{
	uint64_t h = ALU_SEED;

	for (size_t i = 0; i < NR_EDGES; i++) {
		uint64_t a = alu_edge(i);

		for (unsigned int n = 0; n < 64; n++) {
			unsigned int m = (unsigned int)alu_opaque(n);

			h = alu_mix(h, alu_rol64(a, m));
			h = alu_mix(h, alu_ror64(a, m));
			h = alu_mix(h, alu_rol32((uint32_t)a, m & 31));
			h = alu_mix(h, alu_rol16((uint16_t)a, m & 15));
			h = alu_mix(h, alu_rol8((uint8_t)a, m & 7));
		}
		h = alu_mix(h, alu_rol64(a, 13));
		h = alu_mix(h, alu_rol64(a, 57));
		h = alu_mix(h, alu_rol32((uint32_t)a, 7));
		h = alu_mix(h, alu_rol16((uint16_t)a, 8));
	}
	return h;
}

static __attribute__((noinline)) uint64_t alu_check_bitscan(void)
{
	uint64_t h = ALU_SEED;

	for (size_t i = 0; i < NR_EDGES; i++) {
		uint64_t a = alu_edge(i);
		uint32_t a32 = (uint32_t)a;

		if (a) {
			h = alu_mix(h, (uint64_t)__builtin_ctzll(a));
			h = alu_mix(h, (uint64_t)__builtin_clzll(a));
		}
		if (a32) {
			h = alu_mix(h, (uint64_t)__builtin_ctz(a32));
			h = alu_mix(h, (uint64_t)__builtin_clz(a32));
		}
		h = alu_mix(h, (uint64_t)__builtin_popcountll(a));
		h = alu_mix(h, (uint64_t)__builtin_popcount(a32));
		h = alu_mix(h, (uint64_t)__builtin_parityll(a));
		h = alu_mix(h, (uint64_t)__builtin_ffsll((long long)a));
		h = alu_mix(h, __builtin_bswap64(a));
		h = alu_mix(h, __builtin_bswap32(a32));
		h = alu_mix(h, __builtin_bswap16((uint16_t)a));
		for (unsigned int n = 0; n < 64; n += 5) {
			unsigned int m = (unsigned int)alu_opaque(n);

			/* Bit test, set, clear and complement by a variable
			 * index: bt/bts/btr/btc or shift sequences. */
			h = alu_mix(h, (a >> m) & 1);
			h = alu_mix(h, a | 1ull << m);
			h = alu_mix(h, a & ~(1ull << m));
			h = alu_mix(h, a ^ 1ull << m);
		}
	}
	return h;
}

static __attribute__((noinline)) uint64_t alu_check_extend(void)
{
	uint64_t h = ALU_SEED;

	for (size_t i = 0; i < NR_EDGES; i++) {
		uint64_t a = alu_edge(i);

		h = alu_mix(h, (uint64_t)(int64_t)(int8_t)a);
		h = alu_mix(h, (uint64_t)(uint8_t)a);
		h = alu_mix(h, (uint64_t)(int64_t)(int16_t)a);
		h = alu_mix(h, (uint64_t)(uint16_t)a);
		h = alu_mix(h, (uint64_t)(int64_t)(int32_t)a);
		h = alu_mix(h, (uint64_t)(uint32_t)a);
		h = alu_mix(h, (uint32_t)(int32_t)(int8_t)a);
		h = alu_mix(h, (uint32_t)(int32_t)(int16_t)(a >> 8));
		h = alu_mix(h, (uint16_t)(int16_t)(int8_t)(a >> 3));
		h = alu_mix(h, (uint64_t)(uint8_t)(a >> 8));
	}
	return h;
}

static __attribute__((noinline)) uint64_t alu_check_compare(void)
{
	uint64_t h = ALU_SEED;

	for (size_t i = 0; i < NR_EDGES; i++) {
		for (size_t j = 0; j < NR_EDGES; j++) {
			uint64_t a = alu_edge(i), b = alu_edge(j);
			int64_t sa = (int64_t)a, sb = (int64_t)b;
			int32_t a32 = (int32_t)a, b32 = (int32_t)b;
			uint64_t bits = 0;

			bits |= (uint64_t)(sa < sb) << 0;
			bits |= (uint64_t)(sa <= sb) << 1;
			bits |= (uint64_t)(sa > sb) << 2;
			bits |= (uint64_t)(sa >= sb) << 3;
			bits |= (uint64_t)(a < b) << 4;
			bits |= (uint64_t)(a <= b) << 5;
			bits |= (uint64_t)(a > b) << 6;
			bits |= (uint64_t)(a >= b) << 7;
			bits |= (uint64_t)(a == b) << 8;
			bits |= (uint64_t)(a != b) << 9;
			bits |= (uint64_t)(a32 < b32) << 10;
			bits |= (uint64_t)((uint32_t)a < (uint32_t)b) << 11;
			bits |= (uint64_t)((int8_t)a < (int8_t)b) << 12;
			bits |= (uint64_t)((uint16_t)a > (uint16_t)b) << 13;
			bits |= (uint64_t)((a & b) != 0) << 14;
			bits |= (uint64_t)(sa < 0) << 15;
			bits |= (uint64_t)((a ^ b) >> 63) << 16;
			h = alu_mix(h, bits);
			/* Selects: cmovcc. */
			h = alu_mix(h, sa < sb ? a : b);
			h = alu_mix(h, a > b ? a : b);
			h = alu_mix(h,
				    a32 >= b32 ? (uint64_t)a32 : (uint64_t)b);
			h = alu_mix(h, a == b ? 0x1234 : a - b);
			h = alu_mix(h, sa < 0 ? -a : a);
		}
	}
	return h;
}

static __attribute__((noinline)) uint64_t alu_switch(unsigned int k, uint64_t x)
{
	/* Dense cases: GCC emits an indirect jump through a table. */
	switch (k) {
	case 0:
		return x + 1;
	case 1:
		return x * 3;
	case 2:
		return x ^ 0x5a5a5a5a5a5a5a5aull;
	case 3:
		return x >> 3;
	case 4:
		return ~x;
	case 5:
		return x - 77;
	case 6:
		return x << 9;
	case 7:
		return x | 0xf0f0;
	case 8:
		return x & 0xffff0000ffffull;
	case 9:
		return x * x;
	case 10:
		return x / 7;
	case 11:
		return alu_rol64(x, 17);
	case 12:
		return -x;
	case 13:
		return x + 0x1000000000ull;
	case 14:
		return x % 1000;
	default:
		return 0xdead;
	}
}

static __attribute__((noinline)) uint64_t alu_check_switch(void)
{
	uint64_t h = ALU_SEED;

	for (unsigned int k = 0; k < 20; k++) {
		for (size_t i = 0; i < NR_EDGES; i++)
			h = alu_mix(h, alu_switch((unsigned int)alu_opaque(k),
						  alu_edge(i)));
	}
	return h;
}

static __attribute__((noinline)) uint64_t alu_fib(uint64_t n)
{
	return n < 2 ? n : alu_fib(n - 1) + alu_fib(n - 2);
}

static __attribute__((noinline)) uint64_t alu_ackermann(uint64_t m, uint64_t n)
{
	if (!m)
		return n + 1;
	if (!n)
		return alu_ackermann(m - 1, 1);
	return alu_ackermann(m - 1, alu_ackermann(m, n - 1));
}

static __attribute__((noinline)) uint64_t alu_check_recursion(void)
{
	uint64_t h = ALU_SEED;

	for (uint64_t n = 0; n <= 20; n++)
		h = alu_mix(h, alu_fib(alu_opaque(n)));
	h = alu_mix(h, alu_ackermann(alu_opaque(2), alu_opaque(3)));
	h = alu_mix(h, alu_ackermann(alu_opaque(3), alu_opaque(3)));
	return h;
}

static uint32_t alu_crc32(uint32_t crc, const void *data, size_t len)
{
	const uint8_t *p = data;

	/* Reflected CRC-32 (IEEE 802.3), one bit at a time. */
	crc = ~crc;
	while (len--) {
		crc ^= *p++;
		for (int k = 0; k < 8; k++)
			crc = (crc >> 1) ^ (0xedb88320u & -(crc & 1));
	}
	return ~crc;
}

static uint64_t alu_xorshift(uint64_t *state)
{
	uint64_t x = *state;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	*state = x;
	return x;
}

static __attribute__((noinline)) uint64_t alu_check_memops(void)
{
	static uint8_t src[160], dst[160];
	uint64_t h = ALU_SEED, st = alu_opaque(0x2545f4914f6cdd1dull);

	for (size_t i = 0; i < sizeof(src); i++)
		src[i] = (uint8_t)alu_xorshift(&st);
	for (size_t off = 0; off < 8; off++) {
		for (size_t len = 0; len < 68; len++) {
			size_t o = alu_opaque(off), n = alu_opaque(len);

			memset(dst, (int)(o * 31 + n), sizeof(dst));
			memcpy(dst + o, src + (n & 7), n);
			h = alu_mix(h, alu_crc32(0, dst, 80));
			memset(dst + (n & 3), 0xa5, n + o);
			h = alu_mix(h, alu_crc32(0, dst, 80));
			memmove(dst + o + 1, dst + o, n); /* overlap, upwards */
			h = alu_mix(h, alu_crc32(0, dst, 80));
			memmove(dst + o, dst + o + 3,
				n); /* overlap, downwards */
			h = alu_mix(h, alu_crc32(0, dst, 80));
			memcpy(dst, src, n);
			dst[n] = (uint8_t)(src[n] + 1);
			h = alu_mix(h, (uint64_t)(memcmp(dst, src, n + 1) < 0));
			h = alu_mix(h, (uint64_t)(memcmp(dst, src, n) == 0));
		}
	}
	return h;
}

static int alu_sign(int v)
{
	return (v > 0) - (v < 0);
}

static __attribute__((noinline)) uint64_t alu_check_strings(void)
{
	static const char *const words[] = {
		"",
		"a",
		"ab",
		"abc",
		"abd",
		"abcd",
		"b",
		"nestvm",
		"nest",
		"\x80high",
		"Zebra",
		"zebra",
		"0123456789abcdef",
	};
	uint64_t h = ALU_SEED;
	char buf[32];

	for (size_t i = 0; i < ARRAY_SIZE(words); i++) {
		const char *a = (const char *)alu_opaque((uintptr_t)words[i]);
		const char *p;

		h = alu_mix(h, strlen(a));
		p = strchr(a, 'b');
		h = alu_mix(h, p ? (uint64_t)(p - a) : 99);
		p = strchr(a, '\0');
		h = alu_mix(h, (uint64_t)(p - a));
		for (size_t j = 0; j < ARRAY_SIZE(words); j++) {
			const char *b = words[j];

			h = alu_mix(h, (uint64_t)(alu_sign(strcmp(a, b)) + 1));
			h = alu_mix(h,
				    (uint64_t)(alu_sign(strncmp(a, b, 2)) + 1));
		}
		memset(buf, 0, sizeof(buf));
		memcpy(buf, a, strlen(a) + 1);
		h = alu_mix(h, (uint64_t)(strcmp(buf, a) == 0));
	}
	return h;
}

static __attribute__((noinline)) uint64_t alu_check_crc32(void)
{
	static const char fox[] = "The quick brown fox jumps over the lazy dog";
	static uint8_t data[1024];
	uint64_t st = alu_opaque(88172645463325252ull);
	uint32_t crc;

	crc = alu_crc32(0, (const void *)alu_opaque((uintptr_t)fox),
			sizeof(fox) - 1);
	/* The well-known CRC-32 of this sentence. */
	if (crc != 0x414fa339u)
		return crc;
	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)(alu_xorshift(&st) >> 32);
	return (uint64_t)crc << 32 | alu_crc32(0, data, sizeof(data));
}

static void alu_sort(int64_t *v, size_t n)
{
	for (size_t i = 1; i < n; i++) {
		int64_t x = v[i];
		size_t j = i;

		while (j && v[j - 1] > x) {
			v[j] = v[j - 1];
			j--;
		}
		v[j] = x;
	}
}

static __attribute__((noinline)) uint64_t alu_check_sort(void)
{
	int64_t v[64];
	uint64_t h = ALU_SEED, st = alu_opaque(0x9e3779b97f4a7c15ull);

	for (size_t i = 0; i < ARRAY_SIZE(v); i++)
		v[i] = (int64_t)alu_xorshift(&st) >> (i & 31);
	alu_sort(v, ARRAY_SIZE(v));
	for (size_t i = 0; i < ARRAY_SIZE(v); i++) {
		if (i && v[i - 1] > v[i])
			return 0; /* not sorted: no hash can match */
		h = alu_mix(h, (uint64_t)v[i]);
	}
	return h;
}

struct alu_record {
	uint8_t tag;
	uint16_t port;
	uint32_t count;
	uint64_t addr;
	char name[13];
	int64_t delta;
};

static __attribute__((noinline)) struct alu_record
alu_record_step(struct alu_record r, unsigned int k)
{
	r.tag = (uint8_t)(r.tag + k);
	r.port = (uint16_t)(r.port * 3 + k);
	r.count += k * 1000;
	r.addr = alu_rol64(r.addr, k & 63) + k;
	r.name[k % sizeof(r.name)] ^= (char)(k | 0x20);
	r.delta -= (int64_t)k * 12345;
	return r;
}

static __attribute__((noinline)) uint64_t alu_check_struct(void)
{
	struct alu_record rec = {
		.tag = 7,
		.port = 0x3f8,
		.count = 1,
		.addr = 0xfee00000,
		.name = "nestvm-guest",
		.delta = -5,
	};
	struct alu_record copies[4];
	uint64_t h = ALU_SEED;

	for (unsigned int k = 0; k < 40; k++) {
		copies[k & 3] = rec;
		rec = alu_record_step(copies[k & 3],
				      (unsigned int)alu_opaque(k));
		h = alu_mix(h, rec.tag);
		h = alu_mix(h, rec.port);
		h = alu_mix(h, rec.count);
		h = alu_mix(h, rec.addr);
		h = alu_mix(h, alu_crc32(0, rec.name, sizeof(rec.name)));
		h = alu_mix(h, (uint64_t)rec.delta);
	}
	h = alu_mix(h, copies[1].addr ^ copies[2].count);
	return h;
}

struct alu_check {
	const char *name;
	uint64_t (*run)(void);
	uint64_t want; /* computed by this code on an x86-64 Linux host */
};

static const struct alu_check alu_checks[] = {
	{ "addsub", alu_check_addsub, 0x1d3b30a8f65dd207ull },
	{ "mul", alu_check_mul, 0x783316502868aeabull },
	{ "div", alu_check_div, 0x4d61d3f7fb878a0aull },
	{ "div128", alu_check_div128, 0x8b8c9c3fb276e41bull },
	{ "shift", alu_check_shift, 0xc1b1434f239ae717ull },
	{ "rotate", alu_check_rotate, 0x5a4950f35d80ceb7ull },
	{ "bitscan", alu_check_bitscan, 0x8942bf0222928e64ull },
	{ "extend", alu_check_extend, 0x6be0a4169b3879full },
	{ "compare", alu_check_compare, 0xd410ebe1866fbd9ull },
	{ "switch", alu_check_switch, 0x6388f0e74848ebf8ull },
	{ "recursion", alu_check_recursion, 0x69fc8e459cf1bd0eull },
	{ "memops", alu_check_memops, 0x33e9507dc9503676ull },
	{ "strings", alu_check_strings, 0xf438c87488fa7318ull },
	{ "crc32", alu_check_crc32, 0x414fa33938a070abull },
	{ "sort", alu_check_sort, 0xb9191ad4718020ffull },
	{ "struct", alu_check_struct, 0x36264881b2b8ea3eull },
};

int main(const struct nestvm_bootinfo *bi)
{
	unsigned int failed = 0;

	(void)bi;
	for (size_t i = 0; i < ARRAY_SIZE(alu_checks); i++) {
		const struct alu_check *c = &alu_checks[i];
		uint64_t got = c->run();

		if (got == c->want) {
			printf("ok %s\n", c->name);
		} else {
			printf("FAIL %s got %#llx want %#llx\n", c->name,
			       (unsigned long long)got,
			       (unsigned long long)c->want);
			failed++;
		}
	}
	rt_result("alu_checks", ARRAY_SIZE(alu_checks), "count");
	rt_result("alu_failures", failed, "count");
	return failed ? 1 : 0;
}
