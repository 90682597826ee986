/* SPDX-License-Identifier: MIT */
/*
 * vmx_asm.h - the VMX instructions as inline assembly for guest code that
 * runs as a hypervisor (l1-shim, the VMX test programs): VMXON, VMXOFF,
 * VMCLEAR, VMPTRLD, VMPTRST, VMREAD, VMWRITE, INVEPT and INVVPID, each
 * returning how it ended (SDM Vol. 3C 31.2: VMsucceed, VMfailInvalid with
 * CF = 1, VMfailValid with ZF = 1). Guest side; freestanding.
 */
#ifndef NESTVM_ARCH_VMX_ASM_H
#define NESTVM_ARCH_VMX_ASM_H

#include "arch/ept.h"
#include "arch/types.h"

enum vmx_result {
	VMX_SUCCEED = 0,
	VMX_FAIL_INVALID = 1, /* no current VMCS, or a bad operand */
	VMX_FAIL_VALID = 2, /* the reason is in VM_INSTRUCTION_ERROR */
};

static inline enum vmx_result vmx_result_from_flags(bool cf, bool zf)
{
	if (cf)
		return VMX_FAIL_INVALID;
	return zf ? VMX_FAIL_VALID : VMX_SUCCEED;
}

/*
 * The pointer instructions read their 64-bit operand from memory, and the
 * regions they name were written with ordinary stores: hence "memory".
 */
static inline enum vmx_result vmx_vmxon(uint64_t pa)
{
	bool cf, zf;

	__asm__ volatile("vmxon %[pa]"
			 : "=@ccc"(cf), "=@ccz"(zf)
			 : [pa] "m"(pa)
			 : "memory");
	return vmx_result_from_flags(cf, zf);
}

static inline enum vmx_result vmx_vmxoff(void)
{
	bool cf, zf;

	__asm__ volatile("vmxoff" : "=@ccc"(cf), "=@ccz"(zf) : : "memory");
	return vmx_result_from_flags(cf, zf);
}

static inline enum vmx_result vmx_vmclear(uint64_t pa)
{
	bool cf, zf;

	__asm__ volatile("vmclear %[pa]"
			 : "=@ccc"(cf), "=@ccz"(zf)
			 : [pa] "m"(pa)
			 : "memory");
	return vmx_result_from_flags(cf, zf);
}

static inline enum vmx_result vmx_vmptrld(uint64_t pa)
{
	bool cf, zf;

	__asm__ volatile("vmptrld %[pa]"
			 : "=@ccc"(cf), "=@ccz"(zf)
			 : [pa] "m"(pa)
			 : "memory");
	return vmx_result_from_flags(cf, zf);
}

/* VMPTRST: the current-VMCS pointer (all ones when there is none). */
static inline enum vmx_result vmx_vmptrst(uint64_t *pa)
{
	bool cf, zf;

	__asm__ volatile("vmptrst %[pa]"
			 : [pa] "=m"(*pa), "=@ccc"(cf), "=@ccz"(zf)
			 :
			 : "memory");
	return vmx_result_from_flags(cf, zf);
}

/* VMREAD of @field into *@val (*@val is 0 on failure). */
static inline enum vmx_result vmx_vmread(uint64_t field, uint64_t *val)
{
	uint64_t v = 0;
	bool cf, zf;

	/* AT&T order: the encoding register first, the destination last. */
	__asm__ volatile("vmread %[f], %[v]"
			 : [v] "+r"(v), "=@ccc"(cf), "=@ccz"(zf)
			 : [f] "r"(field));
	*val = v;
	return vmx_result_from_flags(cf, zf);
}

/* VMWRITE of @val to @field. */
static inline enum vmx_result vmx_vmwrite(uint64_t field, uint64_t val)
{
	bool cf, zf;

	__asm__ volatile("vmwrite %[v], %[f]"
			 : "=@ccc"(cf), "=@ccz"(zf)
			 : [v] "r"(val), [f] "r"(field));
	return vmx_result_from_flags(cf, zf);
}

/* INVEPT of @type (VMX_EPT_EXTENT_*) for @eptp (SDM 31.3, "INVEPT"). */
static inline enum vmx_result vmx_invept(unsigned long type, uint64_t eptp)
{
	struct vmx_invept_desc desc = { .eptp = eptp, .reserved = 0 };
	bool cf, zf;

	__asm__ volatile("invept %[d], %[t]"
			 : "=@ccc"(cf), "=@ccz"(zf)
			 : [d] "m"(desc), [t] "r"(type)
			 : "memory");
	return vmx_result_from_flags(cf, zf);
}

/* INVVPID of @type (VMX_VPID_EXTENT_*) for @vpid and linear @gla. The
 * descriptor's VPID field is 64 bits wide so that callers can set its
 * reserved bits 63:16 (SDM 31.3, "INVVPID"). */
static inline enum vmx_result vmx_invvpid(unsigned long type, uint64_t vpid,
					  uint64_t gla)
{
	uint64_t desc[2] = { vpid, gla };
	bool cf, zf;

	__asm__ volatile("invvpid %[d], %[t]"
			 : "=@ccc"(cf), "=@ccz"(zf)
			 : [d] "m"(desc), [t] "r"(type)
			 : "memory");
	return vmx_result_from_flags(cf, zf);
}

#endif /* NESTVM_ARCH_VMX_ASM_H */
