/* SPDX-License-Identifier: MIT */
/*
 * ept.c - the EPT walk: guest-physical to host-physical translation in VMX
 * non-root operation with "enable EPT", its permission checks, EPT
 * violations and EPT misconfigurations (SDM Vol. 3C 30.3, current
 * numbering). 4-level walks, 2-MiB and 1-GiB leaves, execute-only
 * translations, accessed and dirty flags with EPTP bit 6 (30.3.5,
 * IA32_VMX_EPT_VPID_CAP bit 21). Model side.
 */
#include <asm/vmx.h>

#include "arch/ept.h"
#include "arch/vmx_exit_qual.h"
#include "vtx/cpu.h"
#include "vtx/paging.h"
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

/* Sets EPT accessed (and dirty) flags in an entry the walk used: a write
 * the processor makes to the EPT paging structures, not through them. */
static void ept_set_bits(struct vtx_cpu *c, uint64_t hpa, uint64_t e,
			 uint64_t bits)
{
	if ((e & bits) == bits)
		return;
	e |= bits;
	vtx_hpa_write(c->m, hpa, &e, 8);
}

uint64_t vtx_ept_walk(struct vtx_cpu *c, uint64_t gpa, int acc, uint64_t gla,
		      bool has_gla, bool final, unsigned *rights)
{
	uint64_t table = c->vmx.eptp & VMX_EPTP_ADDR_MASK;
	bool ad = c->vmx.eptp & VMX_EPTP_AD_ENABLE_BIT;
	uint64_t perms = EPT_RWX;
	uint64_t ent_hpa[4], ent[4];
	int level, n = 0;

	c->stats.ept_walks++;
	for (level = 4; level >= 1; level--) {
		unsigned shift = 12 + 9 * (level - 1);
		uint64_t e, hpa_e = table + ((gpa >> shift) & 511) * 8;
		bool leaf;

		c->stats.ept_walk_steps++;
		cost_charge(c, c->cost.ept_walk_step);
		e = ept_entry(c, hpa_e);
		leaf = level == 1 ||
		       ((level == 2 || level == 3) && (e & EPT_LARGE));

		/* Not present (bits 2:0 clear) is a violation before any
		 * misconfiguration test; a present entry is checked for
		 * misconfiguration before the rights of the walk so far
		 * (SDM 30.3.3). */
		if (!(e & EPT_RWX))
			ept_violation(c, gpa, acc, 0, gla, has_gla, final);
		if (ept_misconfigured(e, level, leaf))
			ept_misconfig(c, gpa);
		perms &= e & EPT_RWX;
		ent_hpa[n] = hpa_e;
		ent[n++] = e;
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
			/* EPT A/D (SDM 30.3.5): accessed in every entry the
			 * translation used, dirty in the leaf on a write. */
			if (ad)
				for (int k = 0; k < n; k++)
					ept_set_bits(
						c, ent_hpa[k], ent[k],
						EPT_ACCESSED |
							(k == n - 1 && acc == ACC_WRITE
								 ? EPT_DIRTY
								 : 0));
			if (rights)
				*rights = ((perms & EPT_READ) ? XL_ER : 0) |
					  ((perms & EPT_WRITE) ? XL_EW : 0) |
					  ((perms & EPT_EXEC) ? XL_EX : 0) |
					  (!ad || acc == ACC_WRITE ||
							   (e & EPT_DIRTY)
						   ? XL_D
						   : 0);
			return hpa;
		}
		table = e & EPT_ADDR_MASK;
	}
	return 0; /* not reached: level 1 is always a leaf */
}

uint64_t vtx_ept_translate(struct vtx_cpu *c, uint64_t gpa, int acc,
			   uint64_t gla, bool has_gla, bool final)
{
	return vtx_ept_walk(c, gpa, acc, gla, has_gla, final, NULL);
}
