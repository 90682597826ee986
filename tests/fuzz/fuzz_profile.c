/* SPDX-License-Identifier: MIT */
/*
 * fuzz_profile.c - fuzz target for the cost-profile parser (l0/profile.h,
 * docs/cost-model.md): any bytes as a profile file's text. Invariants: a
 * rejection is -EINVAL with one error line naming the file; an accepted
 * profile passes the model's own check and is accepted by a vCPU. Host
 * side, tests only.
 */
#include <errno.h>
#include <string.h>

#include "l0/profile.h"
#include "tests/fuzz/fuzz.h"
#include "vtx/vtx.h"

static struct vtx_cpu *fuzz_profile_cpu(void)
{
	static struct vtx_machine *m;
	static struct vtx_cpu *cpu;
	struct vtx_machine_config cfg = { .arena_size = PAGE_SIZE };

	if (!cpu) {
		FUZZ_CHECK(vtx_machine_create(&cfg, &m) == 0);
		FUZZ_CHECK(vtx_cpu_create(m, &cpu) == 0);
	}
	return cpu;
}

int FUZZ_ENTRY(const uint8_t *data, size_t size)
{
	struct l0_profile p;
	const char *bad;
	char err[512] = "";
	/* The parser takes a length, not a C string: give it exactly the
	 * input, in its own allocation, so that a read past the end is
	 * caught by the sanitizer. */
	char *text = malloc(size ? size : 1);
	int ret;

	FUZZ_CHECK(text != NULL);
	memcpy(text, data, size);
	ret = profile_parse("fuzz.profile", text, size, &p, err, sizeof(err));
	free(text);
	if (ret) {
		FUZZ_CHECK(ret == -EINVAL);
		FUZZ_CHECK_ONE_LINE(err);
		FUZZ_CHECK(!strncmp(err, "fuzz.profile:", 13));
		return 0;
	}
	FUZZ_CHECK(vtx_cost_profile_check(&p.cost, &bad) == 0);
	FUZZ_CHECK(memchr(p.cost.name, '\0', sizeof(p.cost.name)) != NULL);
	FUZZ_CHECK(vtx_cpu_set_cost_profile(fuzz_profile_cpu(), &p.cost) == 0);
	return 0;
}
