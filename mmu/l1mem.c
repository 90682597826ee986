/* SPDX-License-Identifier: MIT */
/*
 * l1mem.c - bounds-checked access to L1's RAM and the walk of L1's 4-level
 * page tables for the memory operands of the instructions L0 emulates
 * (SDM Vol. 3A 4.5 4-level paging, 4.6 access rights, 4.7 page-fault error
 * codes). Monitor side; reaches the arena only through vtx/vtx.h.
 */
#include "mmu/l1mem.h"

#include <errno.h>
#include <string.h>

#include "arch/x86_paging.h"
#include "arch/x86_regs.h"
#include "vtx/vtx.h"

int l1mem_init(struct l1_mem *mem, struct vtx_machine *m, uint64_t size,
	       unsigned int maxphyaddr)
{
	memset(mem, 0, sizeof(*mem));
	if (!size || size > vtx_arena_size(m) || maxphyaddr < 32 ||
	    maxphyaddr > 52)
		return -EINVAL;
	mem->m = m;
	mem->size = size;
	mem->maxphyaddr = maxphyaddr;
	return 0;
}

int l1mem_gpa_to_hpa(const struct l1_mem *mem, gpa_t gpa, uint64_t len,
		     hpa_t *hpa)
{
	/* Written so that gpa + len cannot wrap. */
	if (!len || gpa >= mem->size || len > mem->size - gpa)
		return -EFAULT;
	*hpa = gpa;
	return 0;
}

int l1mem_read(const struct l1_mem *mem, gpa_t gpa, void *buf, uint64_t len)
{
	hpa_t hpa;

	if (l1mem_gpa_to_hpa(mem, gpa, len, &hpa))
		return -EFAULT;
	return vtx_hpa_read(mem->m, hpa, buf, len);
}

int l1mem_write(const struct l1_mem *mem, gpa_t gpa, const void *buf,
		uint64_t len)
{
	hpa_t hpa;

	int ret;

	if (l1mem_gpa_to_hpa(mem, gpa, len, &hpa))
		return -EFAULT;
	ret = vtx_hpa_write(mem->m, hpa, buf, len);
	if (!ret && mem->on_write)
		mem->on_write(mem->on_write_opaque, gpa, len);
	return ret;
}

uint64_t l1mem_read_u64_or_ones(const struct l1_mem *mem, gpa_t gpa)
{
	uint64_t v;

	if (l1mem_read(mem, gpa, &v, sizeof(v)))
		return ~0ull;
	return v;
}

/* ---- the linear walk ----------------------------------------------------- */

static int walk_fault(struct l1mem_fault *fault, unsigned int vector,
		      uint32_t error_code, gva_t gva)
{
	fault->vector = vector;
	fault->error_code = error_code;
	fault->address = gva;
	return -EFAULT;
}

/*
 * Reserved bits of a paging-structure entry at @level (4 PML4E .. 1 PTE)
 * that maps a page if @large (SDM 4.5, Tables 4-14 .. 4-20): the address
 * bits above MAXPHYADDR, XD without EFER.NXE, PS in a PML4E, and the
 * address bits below the page size in a 1-GByte or 2-MByte leaf (bit 12,
 * the PAT bit, stays usable).
 */
static uint64_t pte_reserved(const struct l1_mem *mem,
			     const struct l1_paging *pg, int level, bool large)
{
	uint64_t rsvd = x86_pte_rsvd_addr_bits(mem->maxphyaddr);

	if (!(pg->efer & EFER_NX))
		rsvd |= PTE_NX;
	if (level == 4)
		rsvd |= PTE_PS;
	if (large && level == 3)
		rsvd |= (PAGE_SIZE_1G - 1) & ~(PAGE_SIZE_4K - 1) &
			~PTE_PAT_LARGE;
	if (large && level == 2)
		rsvd |= (PAGE_SIZE_2M - 1) & ~(PAGE_SIZE_4K - 1) &
			~PTE_PAT_LARGE;
	return rsvd;
}

int l1mem_translate(const struct l1_mem *mem, const struct l1_paging *pg,
		    gva_t gva, bool write, gpa_t *gpa,
		    struct l1mem_fault *fault)
{
	uint32_t wr = write ? PFERR_WRITE_MASK : 0;
	uint64_t table, e = 0;
	bool writable = true, user = true;
	int level;

	if (!(pg->cr0 & X86_CR0_PG)) {
		*gpa = gva & 0xffffffffull;
		return 0;
	}
	if (!(pg->efer & EFER_LMA) || (pg->cr4 & X86_CR4_LA57))
		return -EOPNOTSUPP;
	/* SDM 3.3.7.1: a non-canonical address faults before any walk. */
	if (!x86_is_canonical(gva, false))
		return walk_fault(fault, GP_VECTOR, 0, gva);

	table = pg->cr3 & PTE_ADDR_MASK &
		~x86_pte_rsvd_addr_bits(mem->maxphyaddr);
	for (level = 4; level >= 1; level--) {
		bool large;

		e = l1mem_read_u64_or_ones(
			mem, table + PT_LEVEL_INDEX(gva, level) * 8ull);
		if (!(e & PTE_P))
			return walk_fault(fault, PF_VECTOR, wr, gva);
		large = (level == 2 || level == 3) && (e & PTE_PS);
		if (e & pte_reserved(mem, pg, level, large))
			return walk_fault(
				fault, PF_VECTOR,
				PFERR_PRESENT_MASK | PFERR_RSVD_MASK | wr, gva);
		/* SDM 4.6: the rights are the AND of every level's. */
		writable &= !!(e & PTE_RW);
		user &= !!(e & PTE_US);
		if (large || level == 1)
			break;
		table = e & PTE_ADDR_MASK;
	}

	/* SDM 4.6.1: a supervisor write to a read-only page faults when
	 * CR0.WP is 1; a supervisor data access to a user page faults with
	 * SMAP on and RFLAGS.AC clear (the access is explicit: an operand). */
	if ((write && !writable && (pg->cr0 & X86_CR0_WP)) ||
	    (user && (pg->cr4 & X86_CR4_SMAP) && !(pg->rflags & X86_EFLAGS_AC)))
		return walk_fault(fault, PF_VECTOR, PFERR_PRESENT_MASK | wr,
				  gva);

	if (level == 3)
		*gpa = (e & PTE_ADDR_MASK_1G) | (gva & (PAGE_SIZE_1G - 1));
	else if (level == 2)
		*gpa = (e & PTE_ADDR_MASK_2M) | (gva & (PAGE_SIZE_2M - 1));
	else
		*gpa = (e & PTE_ADDR_MASK) | (gva & (PAGE_SIZE_4K - 1));
	return 0;
}

/* The bytes of [gva, gva + len) that lie in one page, at most. */
static uint64_t chunk_len(gva_t gva, uint64_t len)
{
	uint64_t room = PAGE_SIZE - (gva & (PAGE_SIZE - 1));

	return len < room ? len : room;
}

int l1mem_read_gva(const struct l1_mem *mem, const struct l1_paging *pg,
		   gva_t gva, void *buf, uint64_t len,
		   struct l1mem_fault *fault)
{
	uint8_t *out = buf;

	/* Translate every page first: a fault on the second page of an
	 * operand must leave nothing half done. */
	for (uint64_t done = 0; done < len;) {
		uint64_t n = chunk_len(gva + done, len - done);
		gpa_t gpa;
		int ret = l1mem_translate(mem, pg, gva + done, false, &gpa,
					  fault);

		if (ret)
			return ret;
		done += n;
	}
	for (uint64_t done = 0; done < len;) {
		uint64_t n = chunk_len(gva + done, len - done);
		gpa_t gpa = 0;

		l1mem_translate(mem, pg, gva + done, false, &gpa, fault);
		if (l1mem_read(mem, gpa, out + done, n))
			memset(out + done, 0xff, n);
		done += n;
	}
	return 0;
}

int l1mem_write_gva(const struct l1_mem *mem, const struct l1_paging *pg,
		    gva_t gva, const void *buf, uint64_t len,
		    struct l1mem_fault *fault)
{
	const uint8_t *in = buf;

	for (uint64_t done = 0; done < len;) {
		uint64_t n = chunk_len(gva + done, len - done);
		gpa_t gpa;
		int ret =
			l1mem_translate(mem, pg, gva + done, true, &gpa, fault);

		if (ret)
			return ret;
		done += n;
	}
	for (uint64_t done = 0; done < len;) {
		uint64_t n = chunk_len(gva + done, len - done);
		gpa_t gpa = 0;

		l1mem_translate(mem, pg, gva + done, true, &gpa, fault);
		/* Outside L1's RAM nothing takes the write. */
		l1mem_write(mem, gpa, in + done, n);
		done += n;
	}
	return 0;
}
