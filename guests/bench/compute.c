/* SPDX-License-Identifier: MIT */
/*
 * compute: the CPU throughput benchmark's workload (docs/performance.md).
 * A deterministic integer mix: table-driven CRC32 over a buffer, quicksort
 * with an insertion-sort cutoff, string work (REP MOVSB/STOSQ and byte
 * loops), pointer chasing through a shuffled linked list, and many small
 * calls. Each kernel prints a RESULT line with its checksum, then one
 * checksum of them all, so that runs on different machines can be compared
 * byte for byte. Guest side; runs at any level.
 *
 * The command line may hold "rounds=N" (default COMPUTE_ROUNDS): the work
 * grows linearly with N.
 */
#include "guests/rt/rt.h"

#define COMPUTE_ROUNDS 40

#define CRC_BUF_SIZE 65536
#define CRC_PASSES 4
#define SORT_N 8192
#define SORT_CUTOFF 12
#define STR_BUF_SIZE 16384
#define STR_PASSES 24
#define LIST_N 32768
#define LIST_PASSES 8
#define CALL_COUNT 200000

static uint8_t crc_buf[CRC_BUF_SIZE];
static uint32_t crc_table[256];
static uint32_t sort_a[SORT_N];
static uint8_t str_src[STR_BUF_SIZE], str_dst[STR_BUF_SIZE];

struct list_node {
	struct list_node *next;
	uint64_t value;
};

static struct list_node list_nodes[LIST_N];
static uint32_t list_perm[LIST_N];

/* xorshift64*: a fixed sequence from a fixed seed (Vigna, 2016). */
static uint64_t prng_state;

static void prng_seed(uint64_t seed)
{
	prng_state = seed ? seed : 1;
}

static uint64_t prng_next(void)
{
	uint64_t x = prng_state;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	prng_state = x;
	return x * 0x2545f4914f6cdd1dull;
}

static uint64_t mix(uint64_t h, uint64_t v)
{
	h ^= v;
	h *= 0x100000001b3ull;
	h ^= h >> 31;
	return h;
}

/* ---- CRC32 (IEEE 802.3, reflected polynomial 0xedb88320) ---------------- */

static void crc_init(void)
{
	for (uint32_t i = 0; i < 256; i++) {
		uint32_t c = i;

		for (int k = 0; k < 8; k++)
			c = (c & 1) ? (c >> 1) ^ 0xedb88320u : c >> 1;
		crc_table[i] = c;
	}
}

static uint32_t crc32(const uint8_t *p, size_t n)
{
	uint32_t c = 0xffffffffu;

	while (n--)
		c = crc_table[(c ^ *p++) & 0xff] ^ (c >> 8);
	return c ^ 0xffffffffu;
}

static uint64_t kernel_crc(unsigned int round)
{
	uint64_t h = 0;

	prng_seed(0x1234 + round);
	for (size_t i = 0; i < CRC_BUF_SIZE; i += 8) {
		uint64_t v = prng_next();

		__builtin_memcpy(&crc_buf[i], &v, 8);
	}
	for (int pass = 0; pass < CRC_PASSES; pass++) {
		crc_buf[pass] ^= (uint8_t)round;
		h = mix(h, crc32(crc_buf, CRC_BUF_SIZE));
	}
	return h;
}

/* ---- sorting ------------------------------------------------------------- */

static void insertion_sort(uint32_t *a, long lo, long hi)
{
	for (long i = lo + 1; i <= hi; i++) {
		uint32_t v = a[i];
		long j = i - 1;

		while (j >= lo && a[j] > v) {
			a[j + 1] = a[j];
			j--;
		}
		a[j + 1] = v;
	}
}

static void quick_sort(uint32_t *a, long lo, long hi)
{
	while (hi - lo > SORT_CUTOFF) {
		/* Median of three, then Hoare partitioning. */
		long mid = lo + (hi - lo) / 2, i = lo, j = hi;
		uint32_t x = a[lo], y = a[mid], z = a[hi], pivot;

		pivot = x < y ? (y < z ? y : (x < z ? z : x))
			      : (x < z ? x : (y < z ? z : y));
		while (i <= j) {
			while (a[i] < pivot)
				i++;
			while (a[j] > pivot)
				j--;
			if (i <= j) {
				uint32_t t = a[i];

				a[i++] = a[j];
				a[j--] = t;
			}
		}
		/* Recurse into the smaller part: the stack stays shallow. */
		if (j - lo < hi - i) {
			quick_sort(a, lo, j);
			lo = i;
		} else {
			quick_sort(a, i, hi);
			hi = j;
		}
	}
	insertion_sort(a, lo, hi);
}

static uint64_t kernel_sort(unsigned int round)
{
	uint64_t h = 0;

	prng_seed(0x5678 + round);
	for (size_t i = 0; i < SORT_N; i++)
		sort_a[i] = (uint32_t)(prng_next() >> 32);
	quick_sort(sort_a, 0, SORT_N - 1);
	for (size_t i = 0; i < SORT_N; i++) {
		/* Unsorted: 0, a checksum no correct run gives. */
		if (i && sort_a[i - 1] > sort_a[i])
			return 0;
		h = mix(h, sort_a[i] * (uint64_t)(i + 1));
	}
	return h;
}

/* ---- strings ------------------------------------------------------------- */

static inline void rep_movsb(void *dst, const void *src, size_t n)
{
	__asm__ volatile("rep movsb"
			 : "+D"(dst), "+S"(src), "+c"(n)
			 :
			 : "memory");
}

static inline void rep_stosq(void *dst, uint64_t v, size_t qwords)
{
	__asm__ volatile("rep stosq"
			 : "+D"(dst), "+c"(qwords)
			 : "a"(v)
			 : "memory");
}

static size_t str_count(const uint8_t *s, size_t n, uint8_t c)
{
	size_t k = 0;

	for (size_t i = 0; i < n; i++)
		k += s[i] == c;
	return k;
}

static void str_reverse(uint8_t *s, size_t n)
{
	for (size_t i = 0, j = n - 1; i < j; i++, j--) {
		uint8_t t = s[i];

		s[i] = s[j];
		s[j] = t;
	}
}

static uint64_t kernel_strings(unsigned int round)
{
	uint64_t h = 0;

	prng_seed(0x9abc + round);
	for (size_t i = 0; i < STR_BUF_SIZE; i++)
		str_src[i] = (uint8_t)('a' + prng_next() % 26);
	for (int pass = 0; pass < STR_PASSES; pass++) {
		size_t off = (size_t)(pass * 37) % 64;

		rep_stosq(str_dst, 0x2020202020202020ull, STR_BUF_SIZE / 8);
		rep_movsb(str_dst + off, str_src, STR_BUF_SIZE - 64);
		str_reverse(str_dst, STR_BUF_SIZE);
		h = mix(h, str_count(str_dst, STR_BUF_SIZE,
				     (uint8_t)('a' + pass % 26)));
		h = mix(h, (uint64_t)memcmp(str_dst, str_src, STR_BUF_SIZE));
		str_dst[STR_BUF_SIZE - 1] = 0;
		h = mix(h, strlen((const char *)str_dst));
	}
	return h;
}

/* ---- pointer chasing ----------------------------------------------------- */

static uint64_t kernel_list(unsigned int round)
{
	struct list_node *n;
	uint64_t h = 0;

	/* Fisher-Yates shuffle: the list visits memory in random order. */
	prng_seed(0xdef0 + round);
	for (uint32_t i = 0; i < LIST_N; i++)
		list_perm[i] = i;
	for (uint32_t i = LIST_N - 1; i > 0; i--) {
		uint32_t j = (uint32_t)(prng_next() % (i + 1)),
			 t = list_perm[i];

		list_perm[i] = list_perm[j];
		list_perm[j] = t;
	}
	for (uint32_t i = 0; i < LIST_N; i++) {
		n = &list_nodes[list_perm[i]];
		n->next = i + 1 < LIST_N ? &list_nodes[list_perm[i + 1]] : NULL;
		n->value = prng_next();
	}
	for (int pass = 0; pass < LIST_PASSES; pass++) {
		uint64_t sum = 0;

		for (n = &list_nodes[list_perm[0]]; n; n = n->next)
			sum += n->value ^ (uint64_t)pass;
		h = mix(h, sum);
	}
	return h;
}

/* ---- small calls --------------------------------------------------------- */

static __attribute__((noinline)) uint64_t call_leaf(uint64_t a, uint64_t b)
{
	__asm__("" : "+r"(a)); /* keep the call a call */
	return (a << 3) ^ (b >> 2) ^ (a + b);
}

static __attribute__((noinline)) uint64_t call_mid(uint64_t a, uint64_t b)
{
	return call_leaf(a, b) + call_leaf(b, a);
}

static __attribute__((noinline)) uint64_t call_fib(unsigned int n)
{
	return n < 2 ? n : call_fib(n - 1) + call_fib(n - 2);
}

static uint64_t kernel_calls(unsigned int round)
{
	uint64_t h = round, x = 0x0123456789abcdefull;

	for (uint32_t i = 0; i < CALL_COUNT; i++) {
		x = call_mid(x, i);
		if (!(i & 0x3fff))
			h = mix(h, call_fib(18));
	}
	return mix(h, x);
}

/* ---- driver -------------------------------------------------------------- */

/* "rounds=N" anywhere in the command line, else the default. */
static unsigned int compute_rounds(const char *cmdline)
{
	const char *p = cmdline;
	unsigned int n = 0;

	while (p && *p) {
		if (!strncmp(p, "rounds=", 7)) {
			for (p += 7; *p >= '0' && *p <= '9'; p++)
				n = n * 10 + (unsigned int)(*p - '0');
			return n ? n : 1;
		}
		p = strchr(p, ' ');
		if (p)
			p++;
	}
	return COMPUTE_ROUNDS;
}

int main(const struct nestvm_bootinfo *bi)
{
	static const char *const names[] = { "compute_crc32", "compute_sort",
					     "compute_strings", "compute_list",
					     "compute_calls" };
	uint64_t (*const kernels[])(unsigned int) = {
		kernel_crc,  kernel_sort,  kernel_strings,
		kernel_list, kernel_calls,
	};
	uint64_t sums[5] = { 0 }, all = 0;
	unsigned int rounds =
		compute_rounds((const char *)(uintptr_t)bi->cmdline);

	crc_init();
	for (unsigned int r = 0; r < rounds; r++) {
		for (unsigned int k = 0; k < 5; k++)
			sums[k] = mix(sums[k], kernels[k](r));
	}
	rt_result("compute_rounds", rounds, "count");
	for (unsigned int k = 0; k < 5; k++) {
		rt_result(names[k], sums[k], "hash");
		all = mix(all, sums[k]);
	}
	rt_result("compute_checksum", all, "hash");
	return 0;
}
