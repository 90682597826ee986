/* SPDX-License-Identifier: MIT */
/*
 * Extended page tables: entry bits, the EPT pointer, INVEPT/INVVPID types
 * and the IA32_VMX_EPT_VPID_CAP bits, with KVM's names where KVM has them.
 * SDM Vol. 3C 30.3.2 (Tables 30-1 .. 30-6), 25.6.11 (EPTP), 31.3 (INVEPT,
 * INVVPID), Appendix A.10. Shared by the model (EPT walk), the monitor
 * (ept01, ept02) and the freestanding L1 shim (its ept12).
 */
#ifndef NESTVM_ARCH_EPT_H
#define NESTVM_ARCH_EPT_H

#include <stdbool.h>
#include <stdint.h>

/* ---- EPT paging-structure entries (SDM 30.3.2, Tables 30-1 .. 30-6) -------
 *
 *  bit    name          meaning
 *  0      R             reads allowed
 *  1      W             writes allowed (W without R is a misconfiguration)
 *  2      X             instruction fetches allowed (supervisor-mode
 *                       linear addresses if mode-based execute control)
 *  5:3    MT            memory type, leaf entries only (0 UC, 1 WC, 4 WT,
 *                       5 WP, 6 WB; 2, 3, 7 are a misconfiguration);
 *                       reserved in non-leaf entries
 *  6      IPAT          ignore guest PAT, leaf entries only
 *  7      PS            a 1-GByte (EPT PDPTE) or 2-MByte (EPT PDE) leaf;
 *                       reserved in the EPT PML5E/PML4E, ignored in a PTE
 *  8      A             accessed, when EPTP bit 6 enables A/D flags
 *  9      D             dirty, leaf entries, when A/D flags are enabled
 *  10     XU            user-mode fetches allowed, with mode-based
 *                       execute control (otherwise ignored)
 *  11                   ignored
 *  51:12                physical address of the next table or the page
 *                       (bits 29:12 or 20:12 reserved in large leaves)
 *  57     VGP           verify guest paging (leaf, with HLAT; not modeled)
 *  58     PWA           paging-write access (leaf; not modeled)
 *  60     SSS           supervisor shadow stack (leaf, EPTP bit 7)
 *  61     SPP           sub-page write permissions (4-KByte leaf only)
 *  63     SVE           suppress #VE (leaf, with EPT-violation #VE)
 *
 * An entry with bits 2:0 all 0 is "not present": an access through it is
 * an EPT violation, never a misconfiguration.
 *
 * Bits 57-61 use the short names of the table so that they cannot collide
 * with control names in arch/vmx_ctrls.def (EPT_PAGING_WRITE is a tertiary
 * control there), which the X-macros paste as bare tokens.
 */
#define EPT_READ (1ull << 0)
#define EPT_WRITE (1ull << 1)
#define EPT_EXEC (1ull << 2)
#define EPT_RWX (EPT_READ | EPT_WRITE | EPT_EXEC)
#define EPT_MT_SHIFT 3
#define EPT_MT_MASK (7ull << EPT_MT_SHIFT)
#define EPT_MT_UC 0ull
#define EPT_MT_WC 1ull
#define EPT_MT_WT 4ull
#define EPT_MT_WP 5ull
#define EPT_MT_WB 6ull
#define EPT_MT(type) ((uint64_t)(type) << EPT_MT_SHIFT)
#define EPT_IPAT (1ull << 6)
#define EPT_LARGE (1ull << 7)
#define EPT_ACCESSED (1ull << 8)
#define EPT_DIRTY (1ull << 9)
#define EPT_EXEC_USER (1ull << 10)
#define EPT_VGP (1ull << 57)
#define EPT_PWA (1ull << 58)
#define EPT_SSS (1ull << 60)
#define EPT_SPP (1ull << 61)
#define EPT_SUPPRESS_VE (1ull << 63)
#define EPT_ADDR_MASK 0x000ffffffffff000ull /* bits 51:12 */
#define EPT_ADDR_MASK_2M 0x000fffffffe00000ull /* bits 51:21 */
#define EPT_ADDR_MASK_1G 0x000fffffc0000000ull /* bits 51:30 */

/* KVM's names for the same bits. */
#define VMX_EPT_READABLE_MASK EPT_READ
#define VMX_EPT_WRITABLE_MASK EPT_WRITE
#define VMX_EPT_EXECUTABLE_MASK EPT_EXEC
#define VMX_EPT_RWX_MASK EPT_RWX
#define VMX_EPT_USER_EXECUTABLE_MASK EPT_EXEC_USER
#define VMX_EPT_MT_EPTE_SHIFT EPT_MT_SHIFT
#define VMX_EPT_IPAT_BIT EPT_IPAT
#define VMX_EPT_ACCESS_BIT EPT_ACCESSED
#define VMX_EPT_DIRTY_BIT EPT_DIRTY
#define VMX_EPT_SUPPRESS_VE_BIT EPT_SUPPRESS_VE

static inline bool ept_entry_is_present(uint64_t e)
{
	return (e & EPT_RWX) != 0;
}

static inline unsigned int ept_entry_get_mt(uint64_t e)
{
	return (unsigned int)((e & EPT_MT_MASK) >> EPT_MT_SHIFT);
}

/* Memory types a leaf may use; 2, 3 and 7 are misconfigurations. */
static inline bool ept_mt_is_valid(unsigned int mt)
{
	return mt == EPT_MT_UC || mt == EPT_MT_WC || mt == EPT_MT_WT ||
	       mt == EPT_MT_WP || mt == EPT_MT_WB;
}

/* ---- EPT pointer (SDM 25.6.11) --------------------------------------------
 *
 *  bits   meaning
 *  2:0    memory type for paging-structure accesses (0 UC, 6 WB)
 *  5:3    page-walk length - 1 (3 for 4 levels, 4 for 5 levels)
 *  6      enable accessed and dirty flags
 *  7      enforce access rights for supervisor shadow-stack pages
 *  11:8   reserved
 *  51:12  physical address of the EPT PML4 (or PML5) table
 *  63:52  reserved
 */
#define VMX_EPTP_MT_MASK 0x7ull
#define VMX_EPTP_MT_UC 0x0ull
#define VMX_EPTP_MT_WB 0x6ull
#define VMX_EPTP_PWL_SHIFT 3
#define VMX_EPTP_PWL_MASK 0x38ull
#define VMX_EPTP_PWL_4 0x18ull
#define VMX_EPTP_PWL_5 0x20ull
#define VMX_EPTP_AD_ENABLE_BIT (1ull << 6)
#define VMX_EPTP_SSS_BIT (1ull << 7)
#define VMX_EPTP_RESERVED_LOW 0xf00ull
#define VMX_EPTP_ADDR_MASK 0x000ffffffffff000ull

static inline unsigned int vmx_eptp_get_levels(uint64_t eptp)
{
	return (unsigned int)((eptp & VMX_EPTP_PWL_MASK) >>
			      VMX_EPTP_PWL_SHIFT) +
	       1;
}

static inline uint64_t vmx_build_eptp(uint64_t root, unsigned int levels,
				      bool ad)
{
	return (root & VMX_EPTP_ADDR_MASK) | VMX_EPTP_MT_WB |
	       ((uint64_t)(levels - 1) << VMX_EPTP_PWL_SHIFT) |
	       (ad ? VMX_EPTP_AD_ENABLE_BIT : 0);
}

/* ---- INVEPT and INVVPID types (SDM 31.3, "INVEPT", "INVVPID") ------------ */

#define VMX_EPT_EXTENT_CONTEXT 1
#define VMX_EPT_EXTENT_GLOBAL 2
#define VMX_VPID_EXTENT_INDIVIDUAL_ADDR 0
#define VMX_VPID_EXTENT_SINGLE_CONTEXT 1
#define VMX_VPID_EXTENT_ALL_CONTEXT 2
#define VMX_VPID_EXTENT_SINGLE_NON_GLOBAL 3

/*
 * The 128-bit memory operands: INVEPT {EPTP, reserved 0}; INVVPID {VPID in
 * bits 15:0 with bits 63:16 zero, linear address}.
 */
struct vmx_invept_desc {
	uint64_t eptp;
	uint64_t reserved;
};

struct vmx_invvpid_desc {
	uint64_t vpid; /* bits 15:0; bits 63:16 must be 0 */
	uint64_t gla;
};

_Static_assert(sizeof(struct vmx_invept_desc) == 16, "INVEPT descriptor");
_Static_assert(sizeof(struct vmx_invvpid_desc) == 16, "INVVPID descriptor");

/* ---- IA32_VMX_EPT_VPID_CAP (SDM Appendix A.10) ----------------------------
 *
 *  bit  meaning
 *  0    execute-only translations (bits 2:0 = 100b) allowed
 *  6    page-walk length 4 supported
 *  7    page-walk length 5 supported
 *  8    EPTP memory type UC allowed
 *  14   EPTP memory type WB allowed
 *  16   2-MByte EPT PDE leaves supported
 *  17   1-GByte EPT PDPTE leaves supported
 *  20   INVEPT supported
 *  21   accessed and dirty flags supported
 *  22   advanced VM-exit information for EPT violations
 *  23   supervisor shadow-stack control supported
 *  25   single-context INVEPT supported
 *  26   all-context INVEPT supported
 *  32   INVVPID supported
 *  40   individual-address INVVPID supported
 *  41   single-context INVVPID supported
 *  42   all-context INVVPID supported
 *  43   single-context-retaining-globals INVVPID supported
 *  53:48 maximum HLAT prefix size
 *
 * KVM spells these masks *_BIT; so do we, to keep the names.
 */
#define VMX_EPT_EXECUTE_ONLY_BIT (1ull << 0)
#define VMX_EPT_PAGE_WALK_4_BIT (1ull << 6)
#define VMX_EPT_PAGE_WALK_5_BIT (1ull << 7)
#define VMX_EPTP_UC_BIT (1ull << 8)
#define VMX_EPTP_WB_BIT (1ull << 14)
#define VMX_EPT_2MB_PAGE_BIT (1ull << 16)
#define VMX_EPT_1GB_PAGE_BIT (1ull << 17)
#define VMX_EPT_INVEPT_BIT (1ull << 20)
#define VMX_EPT_AD_BIT (1ull << 21)
#define VMX_EPT_ADVANCED_EXIT_INFO_BIT (1ull << 22)
#define VMX_EPT_SSS_BIT (1ull << 23)
#define VMX_EPT_EXTENT_SHIFT 24
#define VMX_EPT_EXTENT_CONTEXT_BIT (1ull << 25)
#define VMX_EPT_EXTENT_GLOBAL_BIT (1ull << 26)
#define VMX_VPID_INVVPID_BIT (1ull << 32)
#define VMX_VPID_EXTENT_SHIFT 40
#define VMX_VPID_EXTENT_INDIVIDUAL_ADDR_BIT (1ull << 40)
#define VMX_VPID_EXTENT_SINGLE_CONTEXT_BIT (1ull << 41)
#define VMX_VPID_EXTENT_GLOBAL_CONTEXT_BIT (1ull << 42)
#define VMX_VPID_EXTENT_SINGLE_NON_GLOBAL_BIT (1ull << 43)

/* Whether the capability MSR value @cap allows INVEPT of @type. */
static inline bool vmx_ept_cap_has_invept_type(uint64_t cap, unsigned int type)
{
	return (cap & VMX_EPT_INVEPT_BIT) &&
	       (type == VMX_EPT_EXTENT_CONTEXT ||
		type == VMX_EPT_EXTENT_GLOBAL) &&
	       ((cap >> (VMX_EPT_EXTENT_SHIFT + type)) & 1);
}

/* Whether the capability MSR value @cap allows INVVPID of @type. */
static inline bool vmx_vpid_cap_has_invvpid_type(uint64_t cap,
						 unsigned int type)
{
	return (cap & VMX_VPID_INVVPID_BIT) && type <= 3 &&
	       ((cap >> (VMX_VPID_EXTENT_SHIFT + type)) & 1);
}

#endif /* NESTVM_ARCH_EPT_H */
