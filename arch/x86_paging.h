/* SPDX-License-Identifier: MIT */
/*
 * IA-32e (4- and 5-level) paging: entry bits, table indices, page sizes,
 * the #PF error code and canonical addresses; notes on 32-bit and PAE
 * entries for the protected-mode path. SDM Vol. 3A 4.1-4.7 (4.5 Tables
 * 4-14 .. 4-20, 4.7 Figure 4-12), 3.3.7.1. Shared by the model, the
 * monitor and freestanding guests.
 */
#ifndef NESTVM_ARCH_X86_PAGING_H
#define NESTVM_ARCH_X86_PAGING_H

#include "arch/types.h"

/* ---- IA-32e paging-structure entries (SDM 4.5, Tables 4-14 .. 4-20) -------
 *
 *  bit    name  meaning
 *  0      P     present; all other bits are ignored when 0
 *  1      R/W   writes allowed (supervisor writes too when CR0.WP = 1)
 *  2      U/S   user-mode accesses allowed
 *  3      PWT   page-level write-through
 *  4      PCD   page-level cache disable
 *  5      A     accessed (set by the walker)
 *  6      D     dirty (set on write; leaf entries only)
 *  7      PS    page size: a 1-GByte (PDPTE) or 2-MByte (PDE) leaf;
 *               reserved in the PML5E and PML4E; in a 4-KByte PTE this
 *               bit is PAT
 *  8      G     global (leaf entries, with CR4.PGE)
 *  11:9         ignored (bit 11 is HLAT restart, not modeled)
 *  12     PAT   PAT index bit 2 in a 1-GByte or 2-MByte leaf; there the
 *               frame address starts at bit 30 or 21, bits 29:13 or 20:13
 *               are reserved
 *  51:12        physical address (bits above MAXPHYADDR reserved)
 *  58:52        ignored
 *  62:59  PK    protection key, leaf entries with CR4.PKE/PKS (otherwise
 *               ignored)
 *  63     XD    execute-disable with EFER.NXE (reserved otherwise)
 */
#define PTE_P (1ull << 0)
#define PTE_RW (1ull << 1)
#define PTE_US (1ull << 2)
#define PTE_PWT (1ull << 3)
#define PTE_PCD (1ull << 4)
#define PTE_A (1ull << 5)
#define PTE_D (1ull << 6)
#define PTE_PS (1ull << 7)
#define PTE_PAT (1ull << 7) /* 4-KByte PTE only */
#define PTE_G (1ull << 8)
#define PTE_PAT_LARGE (1ull << 12) /* 2-MByte and 1-GByte leaves */
#define PTE_NX (1ull << 63)
#define PTE_ADDR_MASK 0x000ffffffffff000ull /* bits 51:12 */
#define PTE_ADDR_MASK_2M 0x000fffffffe00000ull /* bits 51:21 */
#define PTE_ADDR_MASK_1G 0x000fffffc0000000ull /* bits 51:30 */
#define PTE_PKEY_SHIFT 59
#define PTE_PKEY_MASK (0xfull << PTE_PKEY_SHIFT)
#define PTE_PKEY(pte) ((unsigned int)(((pte)&PTE_PKEY_MASK) >> PTE_PKEY_SHIFT))

/*
 * Physical-address bits an entry may not set with a MAXPHYADDR of @maxphy
 * (bits 51:maxphy), for the reserved-bit checks (SDM 4.5, #PF RSVD).
 */
static inline uint64_t x86_pte_rsvd_addr_bits(unsigned int maxphy)
{
	return maxphy >= 52 ? 0 : PTE_ADDR_MASK & ~((1ull << maxphy) - 1);
}

/* ---- Indices and page sizes ---------------------------------------------*/

#define PT_INDEX_BITS 9
#define PT_ENTRIES 512
#define PT_INDEX_MASK 0x1ffull
#define PT_SHIFT 12
#define PD_SHIFT 21
#define PDPT_SHIFT 30
#define PML4_SHIFT 39
#define PML5_SHIFT 48

#define PML5_INDEX(va) ((unsigned int)(((va) >> PML5_SHIFT) & PT_INDEX_MASK))
#define PML4_INDEX(va) ((unsigned int)(((va) >> PML4_SHIFT) & PT_INDEX_MASK))
#define PDPT_INDEX(va) ((unsigned int)(((va) >> PDPT_SHIFT) & PT_INDEX_MASK))
#define PD_INDEX(va) ((unsigned int)(((va) >> PD_SHIFT) & PT_INDEX_MASK))
#define PT_INDEX(va) ((unsigned int)(((va) >> PT_SHIFT) & PT_INDEX_MASK))

/* Index into the table at @level (1 = PT .. 5 = PML5). */
#define PT_LEVEL_SHIFT(level) (PT_SHIFT + PT_INDEX_BITS * ((level)-1))
#define PT_LEVEL_INDEX(va, level) \
	((unsigned int)(((va) >> PT_LEVEL_SHIFT(level)) & PT_INDEX_MASK))

#define PAGE_SIZE_4K (1ull << PT_SHIFT)
#define PAGE_SIZE_2M (1ull << PD_SHIFT)
#define PAGE_SIZE_1G (1ull << PDPT_SHIFT)

/* ---- #PF error code (SDM 4.7, Figure 4-12) --------------------------------
 *
 *  bit  name     set when
 *  0    P        the fault was a protection violation (0: not present)
 *  1    W/R      the access was a write
 *  2    U/S      the access was a user-mode access (CPL 3)
 *  3    RSVD     a reserved bit was set in some paging-structure entry
 *  4    I/D      the access was an instruction fetch (with NX or SMEP)
 *  5    PK       a protection-key violation
 *  6    SS       a shadow-stack access
 *  7    HLAT     the fault happened during HLAT paging (not modeled)
 *  15   SGX      an SGX access-control violation (not modeled)
 */
#define PFERR_PRESENT_BIT 0
#define PFERR_WRITE_BIT 1
#define PFERR_USER_BIT 2
#define PFERR_RSVD_BIT 3
#define PFERR_FETCH_BIT 4
#define PFERR_PK_BIT 5
#define PFERR_SS_BIT 6
#define PFERR_HLAT_BIT 7
#define PFERR_SGX_BIT 15

#define PFERR_PRESENT_MASK (1u << PFERR_PRESENT_BIT)
#define PFERR_WRITE_MASK (1u << PFERR_WRITE_BIT)
#define PFERR_USER_MASK (1u << PFERR_USER_BIT)
#define PFERR_RSVD_MASK (1u << PFERR_RSVD_BIT)
#define PFERR_FETCH_MASK (1u << PFERR_FETCH_BIT)
#define PFERR_PK_MASK (1u << PFERR_PK_BIT)
#define PFERR_SS_MASK (1u << PFERR_SS_BIT)
#define PFERR_HLAT_MASK (1u << PFERR_HLAT_BIT)
#define PFERR_SGX_MASK (1u << PFERR_SGX_BIT)

/* ---- Canonical addresses (SDM 3.3.7.1, 4.1.1) -----------------------------
 *
 * A linear address is canonical when bits 63:N-1 are all equal, with N =
 * 48 under 4-level paging and 57 under 5-level paging (CR4.LA57).
 */
#define X86_VA_BITS_4LEVEL 48
#define X86_VA_BITS_5LEVEL 57

/* @va with bits 63:@bits copied from bit @bits - 1 (1 <= bits <= 64). */
static inline uint64_t x86_sign_extend(uint64_t va, unsigned int bits)
{
	unsigned int shift = 64 - bits;

	/*
	 * Unsigned shifts and an explicit fill: no implementation-defined
	 * right shift of a negative value.
	 */
	if (bits >= 64)
		return va;
	va <<= shift;
	if (va >> 63)
		return (va >> shift) | ~(~0ull >> shift);
	return va >> shift;
}

static inline unsigned int x86_va_bits(bool la57)
{
	return la57 ? X86_VA_BITS_5LEVEL : X86_VA_BITS_4LEVEL;
}

static inline gva_t x86_canonicalize(gva_t va, bool la57)
{
	return x86_sign_extend(va, x86_va_bits(la57));
}

static inline bool x86_is_canonical(gva_t va, bool la57)
{
	return x86_canonicalize(va, la57) == va;
}

/* ---- 32-bit and PAE paging, for the protected-mode path (SDM 4.3, 4.4) -----
 *
 * 32-bit paging (CR4.PAE = 0): 4-byte entries, 1024 per table; the PDE
 * index is linear bits 31:22, the PTE index bits 21:12. With CR4.PSE a PDE
 * with PS = 1 maps 4 MBytes: frame bits 31:22 in PDE bits 31:22, physical
 * bits 39:32 in PDE bits 20:13 (PSE-36), PAT in bit 12, bit 21 reserved.
 * Bits 0-8 mean the same as in IA-32e entries; there is no XD and no PK.
 *
 * PAE paging (CR4.PAE = 1, not IA-32e): 8-byte entries like IA-32e ones, a
 * 4-entry PDPT indexed by linear bits 31:30 whose entries (PDPTEs) are
 * loaded with CR3 and have only P, PWT and PCD; bits 2:1 and 8:5 are
 * reserved and so is bit 63. PD and PT are as in IA-32e paging; a PDE with
 * PS = 1 maps 2 MBytes.
 */
#define PTE32_ADDR_MASK 0xfffff000u
#define PDE32_4M_ADDR_MASK 0xffc00000u
#define PDE32_4M_ADDR_HI_SHIFT 13 /* PDE bits 20:13 = physical 39:32 */
#define PDE32_4M_ADDR_HI_MASK (0xffu << PDE32_4M_ADDR_HI_SHIFT)
#define PDE32_4M_RSVD_BIT21 (1u << 21)
#define PDE32_INDEX(va) ((unsigned int)(((va) >> 22) & 0x3ffu))
#define PTE32_INDEX(va) ((unsigned int)(((va) >> 12) & 0x3ffu))
#define PAGE_SIZE_4M (1ull << 22)

#define PAE_PDPTE_RSVD_LOW 0x00000000000001e6ull /* bits 2:1, 8:5 */
#define PAE_PDPT_INDEX(va) ((unsigned int)(((va) >> 30) & 0x3u))
#define PAE_PDPT_ALIGN 32 /* CR3 bits 31:5 hold the PDPT address */

/* The physical frame of a 4-MByte PDE (PSE-36 bits included). */
static inline uint64_t x86_pde32_4m_frame(uint32_t pde)
{
	return (uint64_t)(pde & PDE32_4M_ADDR_MASK) |
	       ((uint64_t)((pde & PDE32_4M_ADDR_HI_MASK) >>
			   PDE32_4M_ADDR_HI_SHIFT)
		<< 32);
}

#endif /* NESTVM_ARCH_X86_PAGING_H */
