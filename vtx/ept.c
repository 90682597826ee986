/* SPDX-License-Identifier: MIT */
/*
 * ept.c - the EPT walk: guest-physical to host-physical translation in VMX
 * non-root operation with "enable EPT", its permission checks, EPT
 * violations and EPT misconfigurations (SDM Vol. 3C 30.3, current
 * numbering). 4-level walks, 2-MiB and 1-GiB leaves, execute-only
 * translations; accessed/dirty flags are not offered (IA32_VMX_EPT_VPID_CAP
 * bit 21 clear). Model side.
 */
#include <asm/vmx.h>

#include "arch/ept.h"
#include "arch/vmx_exit_qual.h"
#include "vtx/cpu.h"
#include "vtx/vmx.h"

static uint64_t ept_entry(struct vtx_cpu *c, uint64_t hpa)
{
	uint64_t e = ~0ull; /* nothing there: all ones, a misconfiguration */
	vtx_hpa_read(c->m, hpa, &e, 8);
	return e;
}

/* SDM 30.3.3.1: an entry is misconfigured if it is writable but not
 * readable, executable-only without the capability, has reserved bits set,
 * or (in a leaf) a reserved memory type. */
static bool ept_misconfigured(uint64_t e, int level, bool leaf)
{
	uint64_t rsvd = (~0ull << 46) & ~(0xfffull << 52); /* bits 51:46 */
	unsigned mt = (unsigned)((e & EPT_MT_MASK) >> EPT_MT_SHIFT);

	if ((e & EPT_WRITE) && !(e & EPT_READ))
		return true;
	if (e & rsvd)
		return true;
	if (!leaf) {
		/* bits 7:3 reserved in non-leaf entries (bit 7 is the
		 * page-size bit, reserved in a PML4E) */
		return (e & 0xf8) != 0;
	}
	if (mt == 2 || mt == 3 || mt == 7)
		return true;
	if (level == 2 && (e & 0x1ff000ull))
		return true; /* 2-MiB leaf: bits 20:12 reserved */
	if (level == 3 && (e & 0x3ffff000ull))
		return true; /* 1-GiB leaf: bits 29:12 reserved */
	return false;
}

static __attribute__((noreturn)) void
ept_violation(struct vtx_cpu *c, uint64_t gpa, int acc, uint64_t perms,
	      uint64_t gla, bool has_gla, bool final)
{
	struct vtx_exit_info e = {
		.reason = EXIT_REASON_EPT_VIOLATION,
		.gpa = gpa,
		.has_gpa = true,
		.gla = gla,
		.has_gla = has_gla,
	};
	/* SDM 28.2.1 Table 28-7: the access, the translation's rights, and
	 * whether the linear address is valid and was for the final
	 * translation or a paging-structure entry. */
	e.qual = (acc == ACC_READ ? EPT_VIOLATION_ACC_READ : 0) |
		 (acc == ACC_WRITE ? EPT_VIOLATION_ACC_WRITE : 0) |
		 (acc == ACC_EXEC ? EPT_VIOLATION_ACC_INSTR : 0) |
		 ((perms & EPT_RWX) << EPT_VIOLATION_PROT_SHIFT);
	if (has_gla) {
		e.qual |= EPT_VIOLATION_GVA_IS_VALID;
		if (final)
			e.qual |= EPT_VIOLATION_GVA_TRANSLATED;
	}
	vtx_vmx_exit(c, &e);
}

static __attribute__((noreturn)) void ept_misconfig(struct vtx_cpu *c,
						    uint64_t gpa)
{
	struct vtx_exit_info e = {
		.reason = EXIT_REASON_EPT_MISCONFIG,
		.gpa = gpa,
		.has_gpa = true,
	};
	vtx_vmx_exit(c, &e);
}

uint64_t vtx_ept_translate(struct vtx_cpu *c, uint64_t gpa, int acc,
			   uint64_t gla, bool has_gla, bool final)
{
	uint64_t table = c->vmx.eptp & VMX_EPTP_ADDR_MASK;
	uint64_t perms = EPT_RWX;
	int level;

	c->stats.ept_walks++;
	for (level = 4; level >= 1; level--) {
		unsigned shift = 12 + 9 * (level - 1);
		uint64_t e;
		bool leaf;

		c->stats.ept_walk_steps++;
		cost_charge(c, c->cost.ept_walk_step);
		e = ept_entry(c, table + ((gpa >> shift) & 511) * 8);
		leaf = level == 1 ||
		       ((level == 2 || level == 3) && (e & EPT_LARGE));

		if (!(e & EPT_RWX))
			ept_violation(c, gpa, acc, 0, gla, has_gla, final);
		if (ept_misconfigured(e, level, leaf))
			ept_misconfig(c, gpa);
		perms &= e & EPT_RWX;
		if (leaf) {
			uint64_t size = 1ull << shift;
			uint64_t hpa = (e & EPT_ADDR_MASK & ~(size - 1)) |
				       (gpa & (size - 1));
			bool ok = acc == ACC_READ    ? (perms & EPT_READ)
				  : acc == ACC_WRITE ? (perms & EPT_WRITE)
						     : (perms & EPT_EXEC);
			if (!ok)
				ept_violation(c, gpa, acc, perms, gla, has_gla,
					      final);
			return hpa;
		}
		table = e & EPT_ADDR_MASK;
	}
	return 0; /* not reached: level 1 is always a leaf */
}
