/* SPDX-License-Identifier: MIT */
/*
 * hypercall.h - the one hypercall l1-shim offers its L2: VMCALL (which
 * always exits in VMX non-root operation, SDM Vol. 3C 26.1.2) with the
 * number in RAX and arguments in RBX and RCX; the result comes back in
 * RAX. Shared by guests and l1-shim; freestanding. docs/l1-shim.md.
 */
#ifndef NESTVM_GUESTS_RT_HYPERCALL_H
#define NESTVM_GUESTS_RT_HYPERCALL_H

#include "arch/types.h"

/*
 * Swap the L1 pages behind the two 4 KiB-aligned L2-physical pages RBX and
 * RCX in l1-shim's EPT (ept12), then INVEPT: L2 sees each page's contents
 * at the other's address. Exists to change ept12 while L2 runs, for the
 * coherence tests of ept02 (docs/design/nested.md).
 */
#define L1_HC_SWAP_PAGES 0x4c310001ull

#define L1_HC_OK 0ull
#define L1_HC_EINVAL (~0ull) /* a bad argument; nothing changed */
#define L1_HC_ENOSYS (~1ull) /* no such hypercall */

/* VMCALL with @nr, @a1, @a2; RAX after it. Only under l1-shim: anywhere
 * else VMCALL raises #UD or exits to a monitor that does not know it. */
static inline uint64_t l1_hypercall(uint64_t nr, uint64_t a1, uint64_t a2)
{
	uint64_t ret;

	__asm__ volatile("vmcall"
			 : "=a"(ret)
			 : "a"(nr), "b"(a1), "c"(a2)
			 : "memory");
	return ret;
}

#endif
