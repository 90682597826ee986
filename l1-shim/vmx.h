/* SPDX-License-Identifier: MIT */
/*
 * vmx.h - l1-shim's VMX instructions as inline assembly: VMXON, VMCLEAR,
 * VMPTRLD, VMREAD, VMWRITE, INVEPT, INVVPID, each returning how it ended
 * (SDM Vol. 3C 31.2: VMsucceed, VMfailInvalid with CF = 1, VMfailValid
 * with ZF = 1), plus RDMSR/WRMSR and the control-register and descriptor-
 * table reads l1-shim needs. The VMCS accessors count every VMREAD and
 * VMWRITE into the current bucket, which is what the exit-multiplication
 * experiments measure. l1-shim side (L1); freestanding.
 */
#ifndef NESTVM_L1_SHIM_VMX_H
#define NESTVM_L1_SHIM_VMX_H

#include "arch/ept.h"
#include "arch/types.h"
#include "arch/vmcs.h"
#include "arch/x86_seg.h"

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

/* ---- VMX instructions ------------------------------------------------------
 *
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

/* VMREAD of @field into *@val, uncounted (*@val is 0 on failure). */
static inline enum vmx_result vmx_vmread(uint32_t field, uint64_t *val)
{
	uint64_t v = 0;
	bool cf, zf;

	/* AT&T order: the encoding register first, the destination last. */
	__asm__ volatile("vmread %[f], %[v]"
			 : [v] "+r"(v), "=@ccc"(cf), "=@ccz"(zf)
			 : [f] "r"((uint64_t)field));
	*val = v;
	return vmx_result_from_flags(cf, zf);
}

/* VMWRITE of @val to @field, uncounted. */
static inline enum vmx_result vmx_vmwrite(uint32_t field, uint64_t val)
{
	bool cf, zf;

	__asm__ volatile("vmwrite %[v], %[f]"
			 : "=@ccc"(cf), "=@ccz"(zf)
			 : [v] "r"(val), [f] "r"((uint64_t)field));
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

/* INVVPID of @type (VMX_VPID_EXTENT_*) for @vpid and linear @gla. */
static inline enum vmx_result vmx_invvpid(unsigned long type, uint16_t vpid,
					  uint64_t gla)
{
	struct vmx_invvpid_desc desc = { .vpid = vpid, .gla = gla };
	bool cf, zf;

	__asm__ volatile("invvpid %[d], %[t]"
			 : "=@ccc"(cf), "=@ccz"(zf)
			 : [d] "m"(desc), [t] "r"(type)
			 : "memory");
	return vmx_result_from_flags(cf, zf);
}

/* ---- counted VMCS accessors --------------------------------------------- */

/* VM exits, VMREADs and VMWRITEs charged to one exit reason (or setup). */
struct l1_counts {
	uint64_t exits;
	uint64_t vmreads;
	uint64_t vmwrites;
};

/* The bucket every vmcs_read()/vmcs_write() is counted in (exit.c). */
extern struct l1_counts *l1_cur_counts;

/*
 * A VMREAD or VMWRITE of a field l1-shim uses can fail only through a bug
 * of its own (a field the processor lacks, no current VMCS): report the
 * encoding and the VM-instruction error, and stop. Never returns.
 */
void vmx_die_access(const char *insn, uint32_t field, enum vmx_result r)
	__attribute__((noreturn, cold));

static inline uint64_t vmcs_read(uint32_t field)
{
	uint64_t val;
	enum vmx_result r = vmx_vmread(field, &val);

	l1_cur_counts->vmreads++;
	if (r != VMX_SUCCEED)
		vmx_die_access("VMREAD", field, r);
	return val;
}

static inline void vmcs_write(uint32_t field, uint64_t val)
{
	enum vmx_result r = vmx_vmwrite(field, val);

	l1_cur_counts->vmwrites++;
	if (r != VMX_SUCCEED)
		vmx_die_access("VMWRITE", field, r);
}

/* ---- other privileged instructions --------------------------------------- */

static inline uint64_t l1_rdmsr(uint32_t msr)
{
	uint32_t lo, hi;

	__asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
	return ((uint64_t)hi << 32) | lo;
}

static inline void l1_wrmsr(uint32_t msr, uint64_t val)
{
	__asm__ volatile("wrmsr"
			 :
			 : "c"(msr), "a"((uint32_t)val),
			   "d"((uint32_t)(val >> 32))
			 : "memory");
}

static inline uint64_t l1_read_cr0(void)
{
	uint64_t v;

	__asm__ volatile("mov %%cr0, %0" : "=r"(v));
	return v;
}

static inline void l1_write_cr0(uint64_t v)
{
	__asm__ volatile("mov %0, %%cr0" : : "r"(v) : "memory");
}

static inline uint64_t l1_read_cr4(void)
{
	uint64_t v;

	__asm__ volatile("mov %%cr4, %0" : "=r"(v));
	return v;
}

static inline void l1_write_cr4(uint64_t v)
{
	__asm__ volatile("mov %0, %%cr4" : : "r"(v) : "memory");
}

static inline void l1_write_cr2(uint64_t v)
{
	__asm__ volatile("mov %0, %%cr2" : : "r"(v) : "memory");
}

static inline struct x86_desc_ptr l1_sgdt(void)
{
	struct x86_desc_ptr d;

	__asm__ volatile("sgdt %0" : "=m"(d));
	return d;
}

static inline struct x86_desc_ptr l1_sidt(void)
{
	struct x86_desc_ptr d;

	__asm__ volatile("sidt %0" : "=m"(d));
	return d;
}

static inline uint16_t l1_str(void)
{
	uint16_t sel;

	__asm__ volatile("str %0" : "=r"(sel));
	return sel;
}

/* The selector in segment register @sreg (ES, CS, SS, DS, FS or GS). */
static inline uint16_t l1_read_sel(enum x86_sreg sreg)
{
	uint16_t sel = 0;

	switch (sreg) {
	case VCPU_SREG_ES:
		__asm__ volatile("mov %%es, %0" : "=r"(sel));
		break;
	case VCPU_SREG_CS:
		__asm__ volatile("mov %%cs, %0" : "=r"(sel));
		break;
	case VCPU_SREG_SS:
		__asm__ volatile("mov %%ss, %0" : "=r"(sel));
		break;
	case VCPU_SREG_DS:
		__asm__ volatile("mov %%ds, %0" : "=r"(sel));
		break;
	case VCPU_SREG_FS:
		__asm__ volatile("mov %%fs, %0" : "=r"(sel));
		break;
	case VCPU_SREG_GS:
		__asm__ volatile("mov %%gs, %0" : "=r"(sel));
		break;
	case VCPU_SREG_TR:
		sel = l1_str();
		break;
	case VCPU_SREG_LDTR:
		__asm__ volatile("sldt %0" : "=r"(sel));
		break;
	}
	return sel;
}

#endif /* NESTVM_L1_SHIM_VMX_H */
