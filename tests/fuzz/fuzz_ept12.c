/* SPDX-License-Identifier: MIT */
/*
 * fuzz_ept12.c - fuzz target for L0's ept02 composition (mmu/ept.h): L1's
 * RAM holds ept12 tables made of fuzz bytes, and ept02_handle_violation()
 * resolves L2-physical addresses the input names under two EPT pointers
 * (so that ept02 is dropped and its pool reused). Invariants: no ept02
 * leaf maps a host-physical address outside L1's RAM, ept02's tables are
 * its own pool pages in the L0 area, a fill maps what ept12 gave, and
 * neither L1's RAM nor the rest of the L0 area changes (SDM Vol. 3C
 * 30.3.2, 30.3.3). Host side, tests only.
 */
#include <string.h>

#include "arch/ept.h"
#include "arch/x86_paging.h"
#include "mmu/ept.h"
#include "mmu/l0_area.h"
#include "mmu/l1mem.h"
#include "tests/fuzz/fuzz.h"
#include "vtx/vtx.h"

/* L1's RAM is small so that fuzzed table addresses land in it often. */
#define FUZZ_EPT12_RAM (16 * PAGE_SIZE)
#define FUZZ_EPT12_AREA_MAX (64 * PAGE_SIZE)
#define FUZZ_EPT12_MAXPHY 46
#define FUZZ_EPT12_CANARY 0xa5
#define FUZZ_EPT12_PROBES 8

/*
 * The input: this header (little-endian), then L1's RAM from L1-physical
 * 0 (zero-padded). Probes 0-3 run under eptp_a, 4-7 under eptp_b, then
 * 0-3 again under eptp_a. A probe is the L2-physical address; its bits
 * 2:0 are also the access (EPT_READ/WRITE/EXEC as in the qualification;
 * 0 means a read).
 */
struct fuzz_ept12_header {
	uint64_t eptp_a, eptp_b;
	uint64_t probe[FUZZ_EPT12_PROBES];
	uint8_t area_pages; /* the L0 area: 4 + this % 61 pages */
	uint8_t pad[7];
};

static struct vtx_machine *fuzz_ept12_machine(void)
{
	static struct vtx_machine *m;
	struct vtx_machine_config cfg = {
		.arena_size = FUZZ_EPT12_RAM + FUZZ_EPT12_AREA_MAX,
	};

	if (!m)
		FUZZ_CHECK(vtx_machine_create(&cfg, &m) == 0);
	return m;
}

static bool in_pool(const struct ept02 *e, hpa_t hpa)
{
	for (size_t i = 0; i < e->pool_len; i++)
		if (e->pool[i] == hpa)
			return true;
	return false;
}

/* Every entry reachable from the ept02 root: tables are pool pages, and
 * leaves (4 KiB only) map L1's RAM. */
static void check_ept02_table(const struct ept02 *e, hpa_t table, int level)
{
	const uint64_t *t;

	FUZZ_CHECK(l0_area_contains(e->area, table, PAGE_SIZE));
	FUZZ_CHECK(in_pool(e, table));
	t = vtx_hpa_ptr(e->area->m, table, PAGE_SIZE);
	FUZZ_CHECK(t != NULL);
	for (unsigned int i = 0; i < PAGE_SIZE / 8; i++) {
		uint64_t entry = t[i];
		hpa_t to = entry & EPT_ADDR_MASK;

		if (!(entry & EPT_RWX))
			continue;
		if (level > 1) {
			FUZZ_CHECK(!(entry & EPT_LARGE));
			check_ept02_table(e, to, level - 1);
		} else {
			FUZZ_CHECK(to < FUZZ_EPT12_RAM);
		}
	}
}

static void probe(struct ept02 *e, uint64_t gpa)
{
	uint64_t access = gpa & EPT_RWX ? gpa & EPT_RWX : EPT_READ;
	uint64_t fills = e->fills;
	hpa_t before = ept02_lookup(e, gpa);
	struct ept02_walk walk;
	enum ept02_result r;

	r = ept02_handle_violation(e, gpa, access, &walk);
	FUZZ_CHECK(walk.level >= 1 && walk.level <= 4);
	switch (r) {
	case EPT02_FILLED:
		FUZZ_CHECK(e->fills == fills + 1);
		FUZZ_CHECK(walk.l1_gpa < FUZZ_EPT12_RAM);
		FUZZ_CHECK((walk.prot & access) == access);
		FUZZ_CHECK(ept02_lookup(e, gpa) == walk.l1_gpa);
		break;
	case EPT02_OUTSIDE_L1_RAM:
		FUZZ_CHECK(walk.l1_gpa >= FUZZ_EPT12_RAM);
		FUZZ_CHECK(e->fills == fills);
		FUZZ_CHECK(ept02_lookup(e, gpa) == before);
		break;
	case EPT02_VIOLATION:
	case EPT02_MISCONFIG:
	case EPT02_NO_MEMORY:
		FUZZ_CHECK(e->fills == fills);
		FUZZ_CHECK(ept02_lookup(e, gpa) == before);
		break;
	case EPT02_WP_SELF: /* only under wp coherence, not fuzzed here */
	default:
		FUZZ_CHECK(!"unknown ept02 result");
	}
}

static void use(struct ept02 *e, uint64_t eptp12)
{
	uint64_t eptp02 = 0;

	/* -ENOMEM only when not even the root fits; probes then report
	 * EPT02_NO_MEMORY. */
	if (ept02_use(e, eptp12, &eptp02) == 0) {
		FUZZ_CHECK((eptp02 & VMX_EPTP_ADDR_MASK) == e->root);
		FUZZ_CHECK(in_pool(e, e->root));
	}
}

int FUZZ_ENTRY(const uint8_t *data, size_t size)
{
	struct vtx_machine *m = fuzz_ept12_machine();
	static uint8_t ram[FUZZ_EPT12_RAM], canary[PAGE_SIZE];
	struct fuzz_ept12_header h;
	uint64_t area_size;
	struct l1_mem mem;
	struct l0_area area;
	struct ept02 e;
	uint8_t *arena;
	size_t n;

	if (size < sizeof(h))
		return 0;
	memcpy(&h, data, sizeof(h));
	n = size - sizeof(h);
	if (n > sizeof(ram))
		n = sizeof(ram);
	memset(canary, FUZZ_EPT12_CANARY, sizeof(canary));
	memset(ram, 0, sizeof(ram));
	memcpy(ram, data + sizeof(h), n);
	area_size = (4 + h.area_pages % 61) * PAGE_SIZE;

	arena = vtx_hpa_ptr(m, 0, FUZZ_EPT12_RAM + FUZZ_EPT12_AREA_MAX);
	FUZZ_CHECK(arena != NULL);
	FUZZ_CHECK(vtx_hpa_write(m, 0, ram, sizeof(ram)) == 0);
	memset(arena + FUZZ_EPT12_RAM, FUZZ_EPT12_CANARY, FUZZ_EPT12_AREA_MAX);
	FUZZ_CHECK(l1mem_init(&mem, m, FUZZ_EPT12_RAM, FUZZ_EPT12_MAXPHY) == 0);
	FUZZ_CHECK(l0_area_init(&area, m, FUZZ_EPT12_RAM, area_size) == 0);
	ept02_init(&e, &area, &mem);

	use(&e, h.eptp_a);
	for (int i = 0; i < 4; i++)
		probe(&e, h.probe[i]);
	use(&e, h.eptp_b);
	for (int i = 4; i < 8; i++)
		probe(&e, h.probe[i]);
	use(&e, h.eptp_a);
	for (int i = 0; i < 4; i++)
		probe(&e, h.probe[i]);

	if (e.root)
		check_ept02_table(&e, e.root, 4);
	/* ept02 only reads ept12, and owns only the pages it took. */
	FUZZ_CHECK(!memcmp(arena, ram, sizeof(ram)));
	FUZZ_CHECK(area.next - area.base == e.pool_len * PAGE_SIZE);
	for (uint64_t at = area.next; at < FUZZ_EPT12_RAM + FUZZ_EPT12_AREA_MAX;
	     at += PAGE_SIZE)
		FUZZ_CHECK(!memcmp(arena + at, canary, PAGE_SIZE));
	ept02_destroy(&e);
	return 0;
}
