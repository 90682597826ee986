/* SPDX-License-Identifier: MIT */
/*
 * fuzz_elf.c - fuzz target for the ELF64 loader (l0/loader.h): any bytes
 * as an image file go through loader_parse_elf() and, when accepted, are
 * copied into a small machine with loader_copy_elf(). Invariants: a
 * rejection is one error line; an accepted image lies in RAM above the
 * boot area, copies without error and never writes the boot area
 * (System V gABI "ELF Header", "Program Header"). Host side, tests only.
 */
#include <elf.h>
#include <string.h>

#include "arch/bootinfo.h"
#include "l0/loader.h"
#include "tests/fuzz/fuzz.h"
#include "vtx/vtx.h"

/* Guest RAM of the machine the images load into: the boot area below
 * BOOT_IMAGE_MIN and 1 MiB above it. */
#define FUZZ_ELF_RAM (BOOT_IMAGE_MIN + MiB(1))

/* One machine for every input: the loader only writes segment ranges, so
 * what an earlier input left in RAM cannot change what this one does. */
static struct vtx_machine *fuzz_elf_machine(void)
{
	static struct vtx_machine *m;
	struct vtx_machine_config cfg = { .arena_size = FUZZ_ELF_RAM };

	if (!m)
		FUZZ_CHECK(vtx_machine_create(&cfg, &m) == 0);
	return m;
}

static bool all_zero(const uint8_t *p, size_t n)
{
	static const uint8_t zero[PAGE_SIZE];

	for (size_t at = 0; at < n; at += sizeof(zero))
		if (memcmp(p + at, zero,
			   n - at < sizeof(zero) ? n - at : sizeof(zero)))
			return false;
	return true;
}

int FUZZ_ENTRY(const uint8_t *data, size_t size)
{
	struct vtx_machine *m = fuzz_elf_machine();
	static struct loader_elf elf;
	char err[256] = "";
	int ret;

	ret = loader_parse_elf("fuzz.elf", data, size, FUZZ_ELF_RAM, &elf, err,
			       sizeof(err));
	if (ret) {
		FUZZ_CHECK(ret < 0);
		FUZZ_CHECK_ONE_LINE(err);
		return 0;
	}
	FUZZ_CHECK(elf.nr_segs >= 1 && elf.nr_segs <= LOADER_SEGS_MAX);
	FUZZ_CHECK(elf.start >= BOOT_IMAGE_MIN);
	FUZZ_CHECK(elf.start < elf.end && elf.end <= FUZZ_ELF_RAM);
	for (unsigned int i = 0; i < elf.nr_segs; i++) {
		const struct loader_segment *s = &elf.segs[i];

		FUZZ_CHECK(s->filesz <= s->memsz);
		FUZZ_CHECK(s->offset <= size && s->filesz <= size - s->offset);
		FUZZ_CHECK(s->paddr >= elf.start &&
			   s->memsz <= elf.end - s->paddr);
		if (i)
			FUZZ_CHECK(s->paddr >= elf.segs[i - 1].paddr +
						       elf.segs[i - 1].memsz);
	}
	FUZZ_CHECK(loader_copy_elf(m, &elf, err, sizeof(err)) == 0);
	FUZZ_CHECK(all_zero(vtx_hpa_ptr(m, 0, BOOT_IMAGE_MIN), BOOT_IMAGE_MIN));
	/* The first segment's file bytes are in RAM as the file has them. */
	FUZZ_CHECK(!memcmp(
		vtx_hpa_ptr(m, elf.segs[0].paddr,
			    elf.segs[0].filesz ? elf.segs[0].filesz : 1),
		data + elf.segs[0].offset, elf.segs[0].filesz));
	return 0;
}
