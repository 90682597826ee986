/* SPDX-License-Identifier: MIT */
/*
 * vmx.h - l1-shim's VMCS accessors, which count every VMREAD and VMWRITE
 * into the current bucket (what the exit-multiplication experiments
 * measure), on top of the VMX instruction wrappers of arch/vmx_asm.h (SDM
 * Vol. 3C 31.2), plus RDMSR/WRMSR and the control-register and descriptor-
 * table reads l1-shim needs. With an enlightened VMCS (Hyper-V TLFS,
 * arch/evmcs.h; l1-shim/evmcs.c) the accessors are plain loads and stores
 * into it, with the clean-field bits kept. l1-shim side (L1);
 * freestanding.
 */
#ifndef NESTVM_L1_SHIM_VMX_H
#define NESTVM_L1_SHIM_VMX_H

#include "arch/ept.h"
#include "arch/evmcs.h"
#include "arch/types.h"
#include "arch/vmcs.h"
#include "arch/vmx_asm.h"
#include "arch/x86_seg.h"

/* ---- counted VMCS accessors --------------------------------------------- */

/* VM exits, VMREADs and VMWRITEs charged to one exit reason (or setup);
 * with an eVMCS, its loads and stores instead of VMREADs and VMWRITEs. */
struct l1_counts {
	uint64_t exits;
	uint64_t vmreads;
	uint64_t vmwrites;
	uint64_t evmcs_reads;
	uint64_t evmcs_writes;
};

/* The enlightened VMCS in use instead of VMREAD/VMWRITE, or NULL
 * (l1-shim/evmcs.c). Only build/l1-shim-pv.elf (-DL1_SHIM_PV) can use
 * one: in build/l1-shim.elf the test folds away, so its accessors
 * retire exactly the instructions they always did (the exact L1
 * instruction counts of the nested tests). */
extern struct hv_enlightened_vmcs *l1_evmcs;
#ifdef L1_SHIM_PV
#define L1_EVMCS_ACTIVE (l1_evmcs != NULL)
#else
#define L1_EVMCS_ACTIVE 0
#endif

/* The bucket every vmcs_read()/vmcs_write() is counted in (exit.c). */
extern struct l1_counts *l1_cur_counts;

/*
 * A VMREAD or VMWRITE of a field l1-shim uses can fail only through a bug
 * of its own (a field the processor lacks, no current VMCS): report the
 * encoding and the VM-instruction error, and stop. Never returns.
 */
void vmx_die_access(const char *insn, uint32_t field, enum vmx_result r)
	__attribute__((noreturn, cold));

/* A field l1-shim uses that an eVMCS does not have: its bug. Never
 * returns (l1-shim/evmcs.c). */
void evmcs_die_field(const char *what, uint32_t field)
	__attribute__((noreturn, cold));

/* The bytes of field in the eVMCS, or a stop. */
static inline uint8_t *evmcs_field_ptr(const char *what, uint32_t field,
				       struct evmcs_field_loc *loc)
{
	if (!evmcs_field_lookup(field, loc))
		evmcs_die_field(what, field);
	return (uint8_t *)l1_evmcs + loc->offset;
}

/* Field of the eVMCS, zero-extended: a load, no VM exit. */
static inline uint64_t evmcs_read(uint32_t field)
{
	struct evmcs_field_loc loc;
	const uint8_t *p = evmcs_field_ptr("read", field, &loc);

	switch (loc.width) {
	case 2:
		return *(const uint16_t *)p;
	case 4:
		return *(const uint32_t *)p;
	default:
		return *(const uint64_t *)p;
	}
}

/* A store, and the field's clean-field group marked dirty so that L0
 * reads it at the next entry (TLFS "Clean Fields"). */
static inline void evmcs_write(uint32_t field, uint64_t val)
{
	struct evmcs_field_loc loc;
	uint8_t *p = evmcs_field_ptr("write", field, &loc);

	switch (loc.width) {
	case 2:
		*(uint16_t *)p = (uint16_t)val;
		break;
	case 4:
		*(uint32_t *)p = (uint32_t)val;
		break;
	default:
		*(uint64_t *)p = val;
		break;
	}
	l1_evmcs->hv_clean_fields &= ~loc.clean;
}

static inline uint64_t vmcs_read(uint32_t field)
{
	uint64_t val;
	enum vmx_result r;

	if (L1_EVMCS_ACTIVE) {
		l1_cur_counts->evmcs_reads++;
		return evmcs_read(field);
	}
	r = vmx_vmread(field, &val);
	l1_cur_counts->vmreads++;
	if (r != VMX_SUCCEED)
		vmx_die_access("VMREAD", field, r);
	return val;
}

static inline void vmcs_write(uint32_t field, uint64_t val)
{
	enum vmx_result r;

	if (L1_EVMCS_ACTIVE) {
		l1_cur_counts->evmcs_writes++;
		evmcs_write(field, val);
		return;
	}
	r = vmx_vmwrite(field, val);
	l1_cur_counts->vmwrites++;
	if (r != VMX_SUCCEED)
		vmx_die_access("VMWRITE", field, r);
}

/* An uncounted read (the exit reason before its bucket is known, the
 * VM-instruction error after a failed entry): VMREAD or a load. */
static inline enum vmx_result vmcs_read_uncounted(uint32_t field, uint64_t *val)
{
	if (L1_EVMCS_ACTIVE) {
		*val = evmcs_read(field);
		return VMX_SUCCEED;
	}
	return vmx_vmread(field, val);
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
