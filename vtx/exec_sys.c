/* SPDX-License-Identifier: MIT */
/*
 * exec_sys.c - system instructions: port I/O with the I/O permission
 * bitmap, HLT, CLI/STI, CPUID, RDTSC(P), RDMSR/WRMSR, MOV CR/DR, the
 * descriptor-table instructions, segment loads, INVLPG, IRETQ, INT n/INT3,
 * SWAPGS, SYSCALL/SYSRET (SDM Vol. 2 instruction pages; Vol. 3A ch. 2-6).
 * Model side.
 */
#include <errno.h>
#include <stdio.h>

#include "arch/x86_msr.h"
#include "arch/vmx_exit_qual.h"
#include "arch/x86_seg.h"
#include "vtx/exec.h"
#include "vtx/paging.h"
#include "vtx/vmx.h"

#include <asm/vmx.h>

/* In VMX non-root operation: the intercept hooks below run only then. */
#define NONROOT(c) unlikely((c)->vmx.non_root)
#define PROC(c, bit) ((c)->vmx.proc & (bit))
#define PROC2(c, bit) ((c)->vmx.proc2 & (bit))

static inline bool canonical(uint64_t la)
{
	return (uint64_t)((int64_t)(la << 16) >> 16) == la;
}

static inline void need_cpl0(struct vtx_cpu *c)
{
	if (c->cpl != 0)
		raise_gp(c, 0);
}

static inline unsigned iopl(const struct vtx_cpu *c)
{
	return (unsigned)((c->rflags & X86_EFLAGS_IOPL) >> X86_EFLAGS_IOPL_BIT);
}

/* ---- port I/O ---------------------------------------------------------------- */

/* SDM Vol. 1 19.5.2: with CPL > IOPL every bit of the TSS I/O permission
 * bitmap covering the access must be clear, or #GP(0). */
static void io_permission(struct vtx_cpu *c, uint16_t port, unsigned size)
{
	uint16_t base, bits;

	if (!(c->cr0 & X86_CR0_PE) || (unsigned)c->cpl <= iopl(c))
		return;
	if (c->tr.limit < 0x67)
		raise_gp(c, 0);
	vtx_read_sys(c, c->tr.base + 0x66, &base, 2);
	if ((uint32_t)base + port / 8 + 1 > c->tr.limit)
		raise_gp(c, 0);
	vtx_read_sys(c, c->tr.base + base + port / 8, &bits, 2);
	if ((bits >> (port & 7)) & ((1u << size) - 1))
		raise_gp(c, 0);
}

void vtx_io_permission(struct vtx_cpu *c, uint16_t port, unsigned size)
{
	io_permission(c, port, size);
}

uint32_t vtx_pio_in(struct vtx_cpu *c, uint16_t port, unsigned size)
{
	struct vtx_pio io = { .port = port,
			      .size = (uint8_t)size,
			      .dir = VTX_PIO_IN,
			      .data = 0xffffffffu };
	c->stats.pio++;
	cost_charge_insn(c, pio);
	if (c->m->ops.pio && c->m->ops.pio(c->m->opaque, &io) == VTX_PIO_STOP)
		vtx_request_stop(c);
	return io.data & (uint32_t)size_mask(size);
}

void vtx_pio_out(struct vtx_cpu *c, uint16_t port, unsigned size, uint32_t val)
{
	struct vtx_pio io = { .port = port,
			      .size = (uint8_t)size,
			      .dir = VTX_PIO_OUT,
			      .data = val & (uint32_t)size_mask(size) };
	c->stats.pio++;
	cost_charge_insn(c, pio);
	if (c->m->ops.pio && c->m->ops.pio(c->m->opaque, &io) == VTX_PIO_STOP)
		vtx_request_stop(c);
}

/* The I/O exit (SDM 26.1.3; qualification: SDM 28.2.1 Table 28-5). The
 * permission checks of protected mode come first (SDM 26.1.1). */
static void io_intercept(struct vtx_cpu *c, const struct vtx_insn *i,
			 uint16_t port, bool in)
{
	if (!vtx_vmx_io_exits(c, port, i->osz))
		return;
	vtx_vmx_exit_insn(c, i, EXIT_REASON_IO_INSTRUCTION,
			  (uint64_t)(i->osz - 1) | (in ? IO_QUAL_IN : 0) |
				  (i->cc ? 0 : IO_QUAL_IMM) |
				  ((uint64_t)port << IO_QUAL_PORT_SHIFT),
			  0);
}

/* IN/OUT: i->cc = 1 when the port is DX, else i->imm. */
void x_in(struct vtx_cpu *c, const struct vtx_insn *i)
{
	uint16_t port = i->cc ? (uint16_t)c->gpr[REG_RDX] : (uint16_t)i->imm;
	io_permission(c, port, i->osz);
	if (NONROOT(c))
		io_intercept(c, i, port, true);
	reg_write(c, REG_RAX, i->osz, vtx_pio_in(c, port, i->osz));
}

void x_out(struct vtx_cpu *c, const struct vtx_insn *i)
{
	uint16_t port = i->cc ? (uint16_t)c->gpr[REG_RDX] : (uint16_t)i->imm;
	io_permission(c, port, i->osz);
	if (NONROOT(c))
		io_intercept(c, i, port, false);
	vtx_pio_out(c, port, i->osz, (uint32_t)reg_read(c, REG_RAX, i->osz));
}

/* ---- HLT, CLI, STI -------------------------------------------------------------- */

/* HLT enters the HLT state after it retires; the event check at that
 * boundary wakes it with an event, lets modeled time pass to the next
 * timer that can, or stops the machine when nothing ever will
 * (vtx/events.c). */
void x_hlt(struct vtx_cpu *c, const struct vtx_insn *i)
{
	need_cpl0(c);
	if (NONROOT(c) && PROC(c, CPU_BASED_HLT_EXITING))
		vtx_vmx_exit_insn(c, i, EXIT_REASON_HLT, 0, 0);
	c->halted = true;
	c->event_req = true;
	c->async = 1;
}

void x_cli(struct vtx_cpu *c, const struct vtx_insn *i)
{
	(void)i;
	if ((c->cr0 & X86_CR0_PE) && (unsigned)c->cpl > iopl(c))
		raise_gp(c, 0);
	c->rflags &= ~(uint64_t)X86_EFLAGS_IF;
}

/* STI blocks interrupts until the end of the next instruction when it sets
 * IF (SDM Vol. 2B "STI"). */
void x_sti(struct vtx_cpu *c, const struct vtx_insn *i)
{
	(void)i;
	if ((c->cr0 & X86_CR0_PE) && (unsigned)c->cpl > iopl(c))
		raise_gp(c, 0);
	if (!(c->rflags & X86_EFLAGS_IF))
		c->sti_shadow = true;
	c->rflags |= X86_EFLAGS_IF;
	c->async = 1;
}

/* ---- CPUID, RDTSC, RDTSCP, RDPMC --------------------------------------------------- */

/* What the model advertises is what it implements, nothing more: no x87,
 * SSE or AVX, no BMI1 (so F3 0F BC is BSF); VMX with the
 * capabilities of vtx/vmx_caps.c. */
static void cpuid_leaf(uint32_t leaf, uint32_t sub, uint32_t r[4])
{
	r[0] = r[1] = r[2] = r[3] = 0;
	switch (leaf) {
	case 0:
		r[0] = 7;
		memcpy(&r[1], "Genu", 4);
		memcpy(&r[3], "ineI", 4);
		memcpy(&r[2], "ntel", 4);
		break;
	case 1:
		/* family 6, model 0x55 (Skylake-SP), stepping 4 */
		r[0] = (6u << 8) | (5u << 4) | (5u << 16) | 4u;
		r[1] = (8u << 8); /* CLFLUSH line size 8 * 8 = 64 bytes;
				     initial APIC ID 0 in bits 31:24 */
		/* VMX, CMPXCHG16B, PCID, x2APIC, POPCNT, TSC-deadline
		 * timer */
		r[2] = (1u << 5) | (1u << 13) | (1u << 17) | (1u << 21) |
		       (1u << 23) | (1u << 24);
		/* DE PSE TSC MSR PAE CX8 APIC PGE CMOV PAT PSE-36 CLFSH */
		r[3] = (1u << 2) | (1u << 3) | (1u << 4) | (1u << 5) |
		       (1u << 6) | (1u << 8) | (1u << 9) | (1u << 13) |
		       (1u << 15) | (1u << 16) | (1u << 17) | (1u << 19);
		break;
	case 7:
		if (sub == 0)
			/* SMEP, INVPCID, SMAP */
			r[1] = (1u << 7) | (1u << 10) | (1u << 20);
		break;
	case 0x80000000:
		r[0] = 0x80000008;
		break;
	case 0x80000001:
		r[2] = (1u << 0) | (1u << 5); /* LAHF/SAHF in 64-bit, LZCNT */
		r[3] = (1u << 11) | (1u << 20) | (1u << 26) | (1u << 27) |
		       (1u << 29); /* SYSCALL NX 1G-pages RDTSCP LM */
		break;
	case 0x80000002:
	case 0x80000003:
	case 0x80000004: {
		static const char brand[48] = "nestvm x86-64 model";
		memcpy(r, brand + (leaf - 0x80000002) * 16, 16);
		break;
	}
	case 0x80000008:
		r[0] = 46 | (48 << 8); /* MAXPHYADDR 46, linear 48 */
		break;
	default:
		break;
	}
}

int vtx_cpu_cpuid(const struct vtx_cpu *c, uint32_t leaf, uint32_t subleaf,
		  uint32_t regs[4])
{
	if (!c || !regs)
		return -EINVAL;
	cpuid_leaf(leaf, subleaf, regs);
	return 0;
}

void x_cpuid(struct vtx_cpu *c, const struct vtx_insn *i)
{
	uint32_t r[4];
	/* CPUID always exits in VMX non-root operation (SDM 26.1.2). */
	if (NONROOT(c))
		vtx_vmx_exit_insn(c, i, EXIT_REASON_CPUID, 0, 0);
	c->stats.cpuids++;
	cost_charge_insn(c, cpuid);
	cpuid_leaf((uint32_t)c->gpr[REG_RAX], (uint32_t)c->gpr[REG_RCX], r);
	c->gpr[REG_RAX] = r[0];
	c->gpr[REG_RBX] = r[1];
	c->gpr[REG_RCX] = r[2];
	c->gpr[REG_RDX] = r[3];
}

/* RDTSC(P): #GP with CR4.TSD above CPL 0, then RDTSC exiting, then the
 * TSC offset and multiplier (SDM 26.3). */
static uint64_t read_tsc(struct vtx_cpu *c, const struct vtx_insn *i,
			 uint32_t reason)
{
	if ((c->cr4 & X86_CR4_TSD) && c->cpl != 0)
		raise_gp(c, 0);
	if (NONROOT(c)) {
		if (PROC(c, CPU_BASED_RDTSC_EXITING))
			vtx_vmx_exit_insn(c, i, reason, 0, 0);
		return vtx_vmx_guest_tsc(c, c->tsc + c->tsc_adjust);
	}
	return c->tsc + c->tsc_adjust;
}

void x_rdtsc(struct vtx_cpu *c, const struct vtx_insn *i)
{
	uint64_t t = read_tsc(c, i, EXIT_REASON_RDTSC);
	c->gpr[REG_RAX] = (uint32_t)t;
	c->gpr[REG_RDX] = (uint32_t)(t >> 32);
}

void x_rdtscp(struct vtx_cpu *c, const struct vtx_insn *i)
{
	/* Without "enable RDTSCP" the instruction is #UD in non-root. */
	if (NONROOT(c) && !PROC2(c, SECONDARY_EXEC_ENABLE_RDTSCP))
		raise_ud(c);
	uint64_t t = read_tsc(c, i, EXIT_REASON_RDTSCP);
	c->gpr[REG_RAX] = (uint32_t)t;
	c->gpr[REG_RDX] = (uint32_t)(t >> 32);
	c->gpr[REG_RCX] = (uint32_t)c->tsc_aux;
}

/* No performance counters are modeled: RDPMC of any counter is #GP(0),
 * which is what the SDM gives for an invalid counter index. */
void x_rdpmc(struct vtx_cpu *c, const struct vtx_insn *i)
{
	if (NONROOT(c) && PROC(c, CPU_BASED_RDPMC_EXITING))
		vtx_vmx_exit_insn(c, i, EXIT_REASON_RDPMC, 0, 0);
	raise_gp(c, 0);
}

/* PAUSE: a hint, or a VM exit with PAUSE exiting. */
void x_pause(struct vtx_cpu *c, const struct vtx_insn *i)
{
	if (NONROOT(c) && PROC(c, CPU_BASED_PAUSE_EXITING))
		vtx_vmx_exit_insn(c, i, EXIT_REASON_PAUSE_INSTRUCTION, 0, 0);
}

/* XGETBV without CR4.OSXSAVE is #UD; the model advertises no XSAVE. */
void x_xgetbv(struct vtx_cpu *c, const struct vtx_insn *i)
{
	(void)i;
	raise_ud(c);
}

/* ---- MSRs ------------------------------------------------------------------------ */

static void note_msr(struct vtx_cpu *c, const char *op, uint32_t idx)
{
	char what[32];
	snprintf(what, sizeof(what), "%s 0x%x", op, idx);
	vtx_note_unimplemented(c, c->rip, NULL, 0, what);
}

void x_rdmsr(struct vtx_cpu *c, const struct vtx_insn *i)
{
	uint32_t idx = (uint32_t)c->gpr[REG_RCX];
	uint64_t v;
	need_cpl0(c);
	if (NONROOT(c) && vtx_vmx_msr_exits(c, idx, false))
		vtx_vmx_exit_insn(c, i, EXIT_REASON_MSR_READ, 0, 0);
	if (vtx_cpu_get_msr(c, idx, &v)) {
		/* An MSR the model does not have: #GP(0) as on silicon for
		 * an MSR that does not exist, and counted loudly. */
		note_msr(c, "rdmsr", idx);
		raise_gp(c, 0);
	}
	/* IA32_TSC reads as RDTSC would in non-root (SDM 26.3). */
	if (NONROOT(c) && idx == MSR_IA32_TSC)
		v = vtx_vmx_guest_tsc(c, v);
	c->stats.rdmsrs++;
	cost_charge_insn(c, rdmsr);
	c->gpr[REG_RAX] = (uint32_t)v;
	c->gpr[REG_RDX] = (uint32_t)(v >> 32);
}

void x_wrmsr(struct vtx_cpu *c, const struct vtx_insn *i)
{
	uint32_t idx = (uint32_t)c->gpr[REG_RCX];
	uint64_t v = (uint32_t)c->gpr[REG_RAX] | (c->gpr[REG_RDX] << 32);
	int ret;
	need_cpl0(c);
	if (NONROOT(c) && vtx_vmx_msr_exits(c, idx, true))
		vtx_vmx_exit_insn(c, i, EXIT_REASON_MSR_WRITE, 0, 0);
	ret = vtx_cpu_set_msr(c, idx, v);
	if (ret == -ENOENT)
		note_msr(c, "wrmsr", idx);
	if (ret)
		raise_gp(c, 0);
	c->stats.wrmsrs++;
	cost_charge_insn(c, wrmsr);
	c->async = 1; /* EFER and friends can change the mode */
}

/* ---- control and debug registers ---------------------------------------------------- */

/* CR4 bits the model implements, matching what CPUID advertises: TSD
 * (TSC), DE, PSE, PAE, PGE, PCIDE, SMEP, SMAP. VME/PVI need virtual-8086
 * mode, MCE and PCE machine checks and counters, LA57 5-level paging: none
 * of them is modeled, so setting them is #GP(0) as on a CPU without
 * them. */
#define CR4_VALID                                                             \
	(X86_CR4_TSD | X86_CR4_DE | X86_CR4_PSE | X86_CR4_PAE | X86_CR4_PGE | \
	 X86_CR4_VMXE | X86_CR4_PCIDE | X86_CR4_SMEP | X86_CR4_SMAP)

/* PAE paging would be in use after this MOV to CR0/CR4, which changes
 * one of the bits that reload the PDPTEs (SDM Vol. 3A 4.4.1): load them
 * from CR3 or #GP(0), before anything is committed. */
static void reload_pdptes(struct vtx_cpu *c, uint64_t cr0, uint64_t cr4,
			  uint64_t efer, bool changed)
{
	if (changed && paging_is_pae(cr0, cr4, efer) &&
	    vtx_paging_load_pdptes(c, c->cr3))
		raise_gp(c, 0);
}

/* SDM Vol. 3A 2.5 and 9.8.5; Vol. 2B "MOV-Move to/from Control
 * Registers": the #GP(0) conditions checked in the SDM's order. */
static void write_cr0(struct vtx_cpu *c, uint64_t v)
{
	uint64_t old = c->cr0, efer = c->efer;

	/* Only bits 63:32 fault; the other reserved bits are dropped
	 * (arch/x86_regs.h, X86_CR0_DEFINED). */
	if (v >> 32)
		raise_gp(c, 0);
	v &= X86_CR0_DEFINED;
	if ((v & X86_CR0_PG) && !(v & X86_CR0_PE))
		raise_gp(c, 0);
	if ((v & X86_CR0_NW) && !(v & X86_CR0_CD))
		raise_gp(c, 0);
	/* In VMX operation CR0 keeps the fixed bits (SDM 24.8). */
	if (c->vmx.on && !c->vmx.non_root &&
	    ((v & vtx_vmx_cr0_fixed0()) != vtx_vmx_cr0_fixed0() ||
	     (v & ~vtx_vmx_cr0_fixed1())))
		raise_gp(c, 0);
	if ((v & X86_CR0_PG) && !(old & X86_CR0_PG) && (c->efer & EFER_LME)) {
		if (!(c->cr4 & X86_CR4_PAE))
			raise_gp(c, 0);
		efer |= EFER_LMA;
	}
	if (!(v & X86_CR0_PG) && (old & X86_CR0_PG)) {
		/* Paging cannot go off under PCIDs. */
		if (c->cr4 & X86_CR4_PCIDE)
			raise_gp(c, 0);
		if (c->efer & EFER_LMA) {
			if (c->mode == VTX_MODE_LONG64)
				raise_gp(c, 0);
			efer &= ~(uint64_t)EFER_LMA;
		}
	}
	reload_pdptes(c, v, c->cr4, efer,
		      (old ^ v) & (X86_CR0_PG | X86_CR0_CD | X86_CR0_NW));
	c->efer = efer;
	c->cr0 = v | X86_CR0_ET;
	vtx_tlb_on_cr_change(c, old, c->cr4);
	vtx_update_mode(c);
}

void vtx_write_cr0(struct vtx_cpu *c, uint64_t v)
{
	write_cr0(c, v);
}

static void write_cr4(struct vtx_cpu *c, uint64_t v)
{
	uint64_t old = c->cr4;

	if (v & ~(uint64_t)CR4_VALID) {
		if (v & ~(uint64_t)CR4_VALID & ~0xffffffffull)
			raise_gp(c, 0);
		/* A bit the SDM defines but the model does not implement
		 * (LA57, OSFXSR, ...): #GP(0) as on a CPU without the
		 * feature, and counted. */
		char what[40];
		snprintf(what, sizeof(what), "mov cr4 bits 0x%llx",
			 (unsigned long long)(v & ~(uint64_t)CR4_VALID));
		vtx_note_unimplemented(c, c->rip, NULL, 0, what);
		raise_gp(c, 0);
	}
	if ((c->efer & EFER_LMA) && !(v & X86_CR4_PAE))
		raise_gp(c, 0);
	/* CR4.PCIDE can be set only in IA-32e mode with PCID 0 in CR3
	 * (SDM Vol. 2B "MOV-Move to/from Control Registers"). */
	if ((v & X86_CR4_PCIDE) && !(old & X86_CR4_PCIDE) &&
	    (!(c->efer & EFER_LMA) || (c->cr3 & 0xfff)))
		raise_gp(c, 0);
	/* CR4.VMXE cannot be cleared in VMX operation (SDM 24.8). */
	if (c->vmx.on && !c->vmx.non_root && !(v & X86_CR4_VMXE))
		raise_gp(c, 0);
	reload_pdptes(c, c->cr0, v, c->efer,
		      (old ^ v) & (X86_CR4_PAE | X86_CR4_PGE | X86_CR4_PSE |
				   X86_CR4_SMEP));
	c->cr4 = v;
	vtx_tlb_on_cr_change(c, c->cr0, old);
}

/* MOV to CR3 (SDM Vol. 2B, Vol. 3A 4.10.4.1): with CR4.PCIDE, bits 11:0
 * are the PCID and bit 63 of the source asks to keep its translations
 * (it is not stored); bits 62:MAXPHYADDR are reserved. Under PAE paging
 * the PDPTEs load from the new CR3 first. */
static void write_cr3(struct vtx_cpu *c, uint64_t v)
{
	bool noflush = false;

	if (c->cr4 & X86_CR4_PCIDE) {
		noflush = v >> 63;
		v &= ~(1ull << 63);
	}
	if (v >> VTX_MAXPHYADDR)
		raise_gp(c, 0);
	if (paging_is_pae(c->cr0, c->cr4, c->efer) &&
	    vtx_paging_load_pdptes(c, v))
		raise_gp(c, 0);
	c->cr3 = v;
	vtx_tlb_on_mov_cr3(c, noflush);
}

/* The control-register exits of VMX non-root operation (SDM 26.1.3):
 * returns the value to write, or exits. For CR0/CR4, bits the host owns
 * (guest/host mask) exit when the value differs from the read shadow and
 * are otherwise left as they are. */
static uint64_t cr_intercept(struct vtx_cpu *c, const struct vtx_insn *i,
			     uint64_t v, bool to)
{
	const struct vtx_vmx *x = &c->vmx;
	uint64_t qual =
		i->cc |
		((to ? CR_ACCESS_TYPE_MOV_TO_CR : CR_ACCESS_TYPE_MOV_FROM_CR)
		 << CONTROL_REG_ACCESS_TYPE_SHIFT) |
		((uint64_t)i->r1 << CONTROL_REG_ACCESS_REG_SHIFT);
	bool exits = false;

	switch (i->cc) {
	case 0:
		if (to && ((v ^ x->cr0_shadow) & x->cr0_mask))
			exits = true;
		v = (v & ~x->cr0_mask) | (c->cr0 & x->cr0_mask);
		break;
	case 4:
		if (to && ((v ^ x->cr4_shadow) & x->cr4_mask))
			exits = true;
		v = (v & ~x->cr4_mask) | (c->cr4 & x->cr4_mask);
		break;
	case 3:
		if (!to) {
			exits = x->proc & CPU_BASED_CR3_STORE_EXITING;
		} else if (x->proc & CPU_BASED_CR3_LOAD_EXITING) {
			exits = true;
			for (uint32_t k = 0; k < x->cr3_target_count && k < 4;
			     k++)
				if (x->cr3_target[k] == v)
					exits = false;
		}
		break;
	case 8:
		exits = x->proc & (to ? CPU_BASED_CR8_LOAD_EXITING
				      : CPU_BASED_CR8_STORE_EXITING);
		break;
	default:
		break;
	}
	if (exits)
		vtx_vmx_exit_insn(c, i, EXIT_REASON_CR_ACCESS, qual, 0);
	return v;
}

/* MOV to CR: i->cc = the CR number, r1 the GPR. */
void x_mov_to_cr(struct vtx_cpu *c, const struct vtx_insn *i)
{
	/* Outside 64-bit mode the operand is the 32-bit register. */
	uint64_t v = c->mode == VTX_MODE_LONG64 ? c->gpr[i->r1]
						: (uint32_t)c->gpr[i->r1];

	need_cpl0(c);
	if (NONROOT(c))
		v = cr_intercept(c, i, v, true);
	switch (i->cc) {
	case 0:
		write_cr0(c, v);
		break;
	case 2:
		c->cr2 = v;
		break;
	case 3:
		write_cr3(c, v);
		break;
	case 4:
		write_cr4(c, v);
		break;
	case 8:
		if (v & ~0xfull)
			raise_gp(c, 0);
		vtx_lapic_write_cr8(c, v);
		break;
	default:
		raise_ud(c);
	}
	c->async = 1;
}

void x_mov_from_cr(struct vtx_cpu *c, const struct vtx_insn *i)
{
	uint64_t v;

	need_cpl0(c);
	if (NONROOT(c))
		cr_intercept(c, i, 0, false);
	switch (i->cc) {
	case 0:
		/* Host-owned bits read as the read shadow (SDM 26.3). */
		v = NONROOT(c) ? (c->cr0 & ~c->vmx.cr0_mask) |
					 (c->vmx.cr0_shadow & c->vmx.cr0_mask)
			       : c->cr0;
		break;
	case 2:
		v = c->cr2;
		break;
	case 3:
		v = c->cr3;
		break;
	case 4:
		v = NONROOT(c) ? (c->cr4 & ~c->vmx.cr4_mask) |
					 (c->vmx.cr4_shadow & c->vmx.cr4_mask)
			       : c->cr4;
		break;
	case 8:
		v = vtx_lapic_read_cr8(c);
		break;
	default:
		raise_ud(c);
	}
	c->gpr[i->r1] = c->mode == VTX_MODE_LONG64 ? v : (uint32_t)v;
}

/* DR4/DR5 alias DR6/DR7 unless CR4.DE (then #UD). Breakpoints are not
 * modeled yet: arming one is counted as unimplemented. */
static unsigned dr_index(struct vtx_cpu *c, unsigned n)
{
	if (n == 4 || n == 5) {
		if (c->cr4 & X86_CR4_DE)
			raise_ud(c);
		return n + 2;
	}
	return n;
}

/* MOV DR exiting (SDM 26.1.3; qualification Table 28-4). */
static void dr_intercept(struct vtx_cpu *c, const struct vtx_insn *i, bool to)
{
	if (NONROOT(c) && PROC(c, CPU_BASED_MOV_DR_EXITING))
		vtx_vmx_exit_insn(c, i, EXIT_REASON_DR_ACCESS,
				  (uint64_t)(i->cc & 7) | (to ? 0 : 1u << 4) |
					  ((uint64_t)i->r1 << 8),
				  0);
}

void x_mov_to_dr(struct vtx_cpu *c, const struct vtx_insn *i)
{
	unsigned n;
	uint64_t v = c->gpr[i->r1];

	need_cpl0(c);
	dr_intercept(c, i, true);
	n = dr_index(c, i->cc);
	if ((n == 6 || n == 7) && (v >> 32))
		raise_gp(c, 0);
	if (n == 6)
		v = (v & DR6_VOLATILE) | DR6_FIXED_1;
	if (n == 7) {
		v = (v & DR7_VOLATILE) | DR7_FIXED_1;
		if (v & DR7_BP_EN_MASK)
			vtx_note_unimplemented(c, c->rip, NULL, 0,
					       "debug breakpoints (DR7)");
	}
	c->dr[n] = v;
}

void x_mov_from_dr(struct vtx_cpu *c, const struct vtx_insn *i)
{
	need_cpl0(c);
	dr_intercept(c, i, false);
	c->gpr[i->r1] = c->dr[dr_index(c, i->cc)];
}

/* ---- descriptor tables -------------------------------------------------------------- */

/* Descriptor-table exiting (SDM 26.1.3): the instruction-information
 * field names the instruction (identity, bits 29:28) and its operand; the
 * qualification is the displacement (SDM 28.2.1). */
static void desc_intercept(struct vtx_cpu *c, const struct vtx_insn *i,
			   uint32_t identity, uint32_t reason)
{
	if (!NONROOT(c) || !PROC2(c, SECONDARY_EXEC_DESC))
		return;
	vtx_vmx_exit_insn(c, i, reason, vtx_vmx_disp_qual(c, i),
			  vtx_vmx_insn_info(i, i->r1, 0) |
				  (identity << VMX_INSN_INFO_IDENTITY_SHIFT));
}

/* The pseudo-descriptor of LGDT/LIDT (SDM Vol. 2A "LGDT/LIDT"): a 16-bit
 * limit and a base of 8 bytes in 64-bit mode, else of 4 bytes of which a
 * 16-bit operand size keeps 24 bits. Only its bytes are read. */
static void read_desc_ptr(struct vtx_cpu *c, const struct vtx_insn *i,
			  struct kvm_dtable *t)
{
	struct x86_desc_ptr d = { 0 };

	if (c->mode == VTX_MODE_LONG64) {
		vtx_read_slow(c, insn_la(c, i), &d, sizeof(d));
		if (!canonical(d.base))
			raise_gp(c, 0);
	} else {
		uint8_t b[6];
		uint32_t base;

		vtx_read_slow(c, vtx_seg_check(c, i->seg, insn_ea(c, i), 6), b,
			      6);
		memcpy(&d.limit, b, 2);
		memcpy(&base, b + 2, 4);
		d.base = i->osz == 2 ? base & 0xffffffu : base;
	}
	t->base = d.base;
	t->limit = d.limit;
}

void x_lgdt(struct vtx_cpu *c, const struct vtx_insn *i)
{
	need_cpl0(c);
	desc_intercept(c, i, VMX_INSN_INFO_LGDT, EXIT_REASON_GDTR_IDTR);
	read_desc_ptr(c, i, &c->gdt);
}

void x_lidt(struct vtx_cpu *c, const struct vtx_insn *i)
{
	need_cpl0(c);
	desc_intercept(c, i, VMX_INSN_INFO_LIDT, EXIT_REASON_GDTR_IDTR);
	read_desc_ptr(c, i, &c->idt);
}

/* SGDT/SIDT store 10 bytes in 64-bit mode and 6 otherwise: the limit and
 * 32 bits of base, whatever the operand size (SDM Vol. 2B "SGDT"). */
static void write_desc_ptr(struct vtx_cpu *c, const struct vtx_insn *i,
			   const struct kvm_dtable *t)
{
	struct x86_desc_ptr d = { .limit = t->limit, .base = t->base };
	uint8_t b[6];
	uint32_t base = (uint32_t)t->base;

	if (c->mode == VTX_MODE_LONG64) {
		vtx_write_slow(c, insn_la(c, i), &d, sizeof(d));
		return;
	}
	memcpy(b, &t->limit, 2);
	memcpy(b + 2, &base, 4);
	vtx_write_slow(c, vtx_seg_check(c, i->seg, insn_ea(c, i), 6), b, 6);
}

/* SGDT/SIDT are not privileged (UMIP is not offered). */
void x_sgdt(struct vtx_cpu *c, const struct vtx_insn *i)
{
	desc_intercept(c, i, VMX_INSN_INFO_SGDT, EXIT_REASON_GDTR_IDTR);
	write_desc_ptr(c, i, &c->gdt);
}

void x_sidt(struct vtx_cpu *c, const struct vtx_insn *i)
{
	desc_intercept(c, i, VMX_INSN_INFO_SIDT, EXIT_REASON_GDTR_IDTR);
	write_desc_ptr(c, i, &c->idt);
}

static uint16_t sel_operand(struct vtx_cpu *c, const struct vtx_insn *i)
{
	if (i->flags & VTX_INSN_HAS_MEM)
		return (uint16_t)mem_load(c, insn_la(c, i), 2);
	return (uint16_t)c->gpr[i->r1];
}

/* Reads the 16-byte system descriptor for `sel` from the GDT. */
static void read_sys_desc(struct vtx_cpu *c, uint16_t sel, uint64_t d[2])
{
	uint32_t off = sel & ~7u;
	if ((sel & SEL_TI) || off + 15 > c->gdt.limit)
		raise_gp(c, sel & 0xfffc);
	vtx_read_sys(c, c->gdt.base + off, d, 16);
}

/* LTR (SDM Vol. 2A "LTR"): an available 64-bit TSS in the GDT, marked
 * busy in memory. */
void x_ltr(struct vtx_cpu *c, const struct vtx_insn *i)
{
	uint16_t sel;
	uint64_t d[2];
	struct kvm_segment s;

	need_cpl0(c);
	desc_intercept(c, i, VMX_INSN_INFO_LTR, EXIT_REASON_LDTR_TR);
	sel = sel_operand(c, i);
	if (x86_sel_is_null(sel))
		raise_gp(c, 0);
	read_sys_desc(c, sel, d);
	x86_seg_decode_sys_desc(&s, d[0], d[1], sel);
	if (s.s || s.type != SEG_TYPE_TSS64_AVAIL)
		raise_gp(c, sel & 0xfffc);
	if (!s.present)
		vtx_raise(c, NP_VECTOR, sel & 0xfffc, true);
	if (!canonical(s.base))
		raise_gp(c, sel & 0xfffc);
	d[0] |= (uint64_t)SEG_TYPE_TSS_BUSY_BIT << DESC_TYPE_SHIFT;
	vtx_write_sys(c, c->gdt.base + (sel & ~7u), d, 8);
	s.type = SEG_TYPE_TSS64_BUSY;
	c->tr = s;
}

void x_str(struct vtx_cpu *c, const struct vtx_insn *i)
{
	desc_intercept(c, i, VMX_INSN_INFO_STR, EXIT_REASON_LDTR_TR);
	if (i->flags & VTX_INSN_HAS_MEM)
		mem_store(c, insn_la(c, i), 2, c->tr.selector);
	else
		reg_write(c, i->r1, i->osz, c->tr.selector);
}

void x_lldt(struct vtx_cpu *c, const struct vtx_insn *i)
{
	uint16_t sel;
	uint64_t d[2];
	struct kvm_segment s;

	need_cpl0(c);
	desc_intercept(c, i, VMX_INSN_INFO_LLDT, EXIT_REASON_LDTR_TR);
	sel = sel_operand(c, i);
	if (x86_sel_is_null(sel)) {
		memset(&c->ldt, 0, sizeof(c->ldt));
		c->ldt.unusable = 1;
		return;
	}
	read_sys_desc(c, sel, d);
	x86_seg_decode_sys_desc(&s, d[0], d[1], sel);
	if (s.s || s.type != SEG_TYPE_LDT)
		raise_gp(c, sel & 0xfffc);
	if (!s.present)
		vtx_raise(c, NP_VECTOR, sel & 0xfffc, true);
	c->ldt = s;
}

void x_sldt(struct vtx_cpu *c, const struct vtx_insn *i)
{
	desc_intercept(c, i, VMX_INSN_INFO_SLDT, EXIT_REASON_LDTR_TR);
	if (i->flags & VTX_INSN_HAS_MEM)
		mem_store(c, insn_la(c, i), 2, c->ldt.selector);
	else
		reg_write(c, i->r1, i->osz, c->ldt.selector);
}

/* ---- segment registers ---------------------------------------------------------------- */

uint64_t vtx_read_desc(struct vtx_cpu *c, uint16_t sel)
{
	uint32_t off = sel & ~7u;
	const struct kvm_segment *ldt = &c->ldt;
	uint64_t base, d;

	if (sel & SEL_TI) {
		if (ldt->unusable || off + 7 > ldt->limit)
			raise_gp(c, sel & 0xfffc);
		base = ldt->base;
	} else {
		if (off + 7 > c->gdt.limit)
			raise_gp(c, sel & 0xfffc);
		base = c->gdt.base;
	}
	vtx_read_sys(c, base + off, &d, 8);
	return d;
}

/* MOV/POP to DS, ES, FS, GS, SS (SDM Vol. 2B "MOV", protected-mode checks;
 * Vol. 3A 5.10). CS cannot be loaded this way (#UD at decode). */
void vtx_load_seg(struct vtx_cpu *c, unsigned seg, uint16_t sel)
{
	struct kvm_segment s;
	unsigned rpl = sel & SEL_RPL_MASK;
	uint64_t d;

	if (!(c->cr0 & X86_CR0_PE)) {
		vtx_load_seg_real(c, seg, sel);
		return;
	}
	if (x86_sel_is_null(sel)) {
		/* 64-bit mode allows a null SS at CPL < 3 with RPL = CPL. */
		if (seg == SEG_SS && (c->mode != VTX_MODE_LONG64 ||
				      c->cpl == 3 || rpl != (unsigned)c->cpl))
			raise_gp(c, 0);
		memset(&s, 0, sizeof(s));
		s.selector = sel;
		s.unusable = 1;
		if (seg == SEG_SS)
			s.dpl = (uint8_t)c->cpl;
		c->seg[seg] = s;
		return;
	}
	d = vtx_read_desc(c, sel);
	x86_seg_decode_desc(&s, d, sel);
	if (seg == SEG_SS) {
		if (rpl != (unsigned)c->cpl || !s.s ||
		    (s.type & SEG_TYPE_CODE) || !(s.type & SEG_TYPE_WRITABLE) ||
		    s.dpl != c->cpl)
			raise_gp(c, sel & 0xfffc);
		if (!s.present)
			vtx_raise(c, SS_VECTOR, sel & 0xfffc, true);
	} else {
		bool code = s.type & SEG_TYPE_CODE;
		if (!s.s || (code && !(s.type & SEG_TYPE_READABLE)))
			raise_gp(c, sel & 0xfffc);
		/* Data or non-conforming code: DPL >= max(CPL, RPL). */
		if ((!code || !(s.type & SEG_TYPE_CONFORMING)) &&
		    (s.dpl < rpl || s.dpl < (unsigned)c->cpl))
			raise_gp(c, sel & 0xfffc);
		if (!s.present)
			vtx_raise(c, NP_VECTOR, sel & 0xfffc, true);
	}
	if (!(s.type & SEG_TYPE_ACCESSED)) {
		s.type |= SEG_TYPE_ACCESSED;
		d |= (uint64_t)SEG_TYPE_ACCESSED << DESC_TYPE_SHIFT;
		vtx_write_sys(c,
			      ((sel & SEL_TI) ? c->ldt.base : c->gdt.base) +
				      (sel & ~7u),
			      &d, 8);
	}
	/* Loading FS/GS replaces the base with the descriptor's 32 bits. */
	c->seg[seg] = s;
}

/* i->cc = the segment register (SEG_*), r1 the GPR or memory operand. */
void x_mov_to_sreg(struct vtx_cpu *c, const struct vtx_insn *i)
{
	if (i->cc == SEG_CS)
		raise_ud(c);
	vtx_load_seg(c, i->cc, sel_operand(c, i));
	if (i->cc == SEG_SS) {
		/* MOV SS blocks interrupts and debug traps for one
		 * instruction (SDM Vol. 3A 6.8.3). */
		c->sti_shadow = true;
		c->mov_ss_shadow = true;
		c->async = 1;
	}
}

void x_mov_from_sreg(struct vtx_cpu *c, const struct vtx_insn *i)
{
	uint16_t sel = c->seg[i->cc].selector;
	if (i->flags & VTX_INSN_HAS_MEM)
		mem_store(c, insn_la(c, i), 2, sel);
	else
		reg_write(c, i->r1, i->osz, sel);
}

void x_swapgs(struct vtx_cpu *c, const struct vtx_insn *i)
{
	uint64_t t;
	(void)i;
	if (c->mode != VTX_MODE_LONG64)
		raise_ud(c);
	need_cpl0(c);
	t = c->seg[SEG_GS].base;
	c->seg[SEG_GS].base = c->kernel_gs_base;
	c->kernel_gs_base = t;
}

/* ---- caches and TLB ------------------------------------------------------------------ */

void x_invlpg(struct vtx_cpu *c, const struct vtx_insn *i)
{
	uint64_t la;

	need_cpl0(c);
	la = insn_la(c, i);
	if (NONROOT(c) && PROC(c, CPU_BASED_INVLPG_EXITING))
		vtx_vmx_exit_insn(c, i, EXIT_REASON_INVLPG, la, 0);
	/* A non-canonical address is a no-op, not a fault (SDM Vol. 2A
	 * "INVLPG"); nothing can be cached for it. */
	vtx_tlb_on_invlpg(c, la);
}

/* INVPCID r64, m128 (SDM Vol. 2A "INVPCID"): r1 holds the type, the
 * descriptor is the PCID (bits 11:0, 63:12 reserved) and a linear
 * address. In VMX non-root it needs "enable INVPCID" (else #UD) and exits
 * with "INVLPG exiting" (SDM 26.1.3, 26.2.1). */
void x_invpcid(struct vtx_cpu *c, const struct vtx_insn *i)
{
	uint64_t type, d[2];

	if (c->mode != VTX_MODE_LONG64 && c->mode != VTX_MODE_COMPAT32 &&
	    c->mode != VTX_MODE_COMPAT16 && c->mode != VTX_MODE_PROT32 &&
	    c->mode != VTX_MODE_PROT16)
		raise_ud(c);
	if (NONROOT(c) && !PROC2(c, SECONDARY_EXEC_ENABLE_INVPCID))
		raise_ud(c);
	need_cpl0(c);
	if (NONROOT(c) && PROC(c, CPU_BASED_INVLPG_EXITING))
		vtx_vmx_exit_insn(c, i, EXIT_REASON_INVPCID,
				  vtx_vmx_disp_qual(c, i),
				  vtx_vmx_insn_info(i, 0, i->r1));
	type = c->mode == VTX_MODE_LONG64 ? c->gpr[i->r1]
					  : (uint32_t)c->gpr[i->r1];
	vtx_read_slow(c, insn_la(c, i), d, sizeof(d));
	if (type > 3)
		raise_gp(c, 0);
	if (type <= 1 && (d[0] >> 12))
		raise_gp(c, 0);
	if (type == 0 && (uint64_t)((int64_t)(d[1] << 16) >> 16) != d[1])
		raise_gp(c, 0);
	if (type <= 1 && !(c->cr4 & X86_CR4_PCIDE) && (d[0] & 0xfff))
		raise_gp(c, 0);
	vtx_tlb_on_invpcid(c, type, (uint16_t)(d[0] & 0xfff), d[1]);
}

/* INVD exits unconditionally in VMX non-root operation (SDM 26.1.2); the
 * model has no caches to drop. */
void x_invd(struct vtx_cpu *c, const struct vtx_insn *i)
{
	need_cpl0(c);
	if (NONROOT(c))
		vtx_vmx_exit_insn(c, i, EXIT_REASON_INVD, 0, 0);
}

void x_wbinvd(struct vtx_cpu *c, const struct vtx_insn *i)
{
	need_cpl0(c);
	if (NONROOT(c) && PROC2(c, SECONDARY_EXEC_WBINVD_EXITING))
		vtx_vmx_exit_insn(c, i, EXIT_REASON_WBINVD, 0, 0);
}

/* CLFLUSH checks the address like a read (it can #PF) and does nothing
 * else on a model without caches. */
void x_clflush(struct vtx_cpu *c, const struct vtx_insn *i)
{
	(void)mem_load(c, insn_la(c, i), 1);
}

/* ---- software interrupts and IRET ------------------------------------------------------ */

void x_int_n(struct vtx_cpu *c, const struct vtx_insn *i)
{
	c->delivering = (int)i->imm;
	c->delivering_has_error = false;
	c->delivering_type = INTR_TYPE_SOFT_INTR;
	c->delivering_len = i->len;
	vtx_deliver_event(c, (int)i->imm, 0, false, true, c->next_rip);
	c->delivering = -1;
	c->async = 1;
}

void x_int3(struct vtx_cpu *c, const struct vtx_insn *i)
{
	/* INT3 is a software exception: the exception bitmap applies. */
	if (c->vmx.non_root)
		vtx_vmx_exception(c, BP_VECTOR, 0, false, true, i->len);
	c->delivering = BP_VECTOR;
	c->delivering_has_error = false;
	c->delivering_type = INTR_TYPE_SOFT_EXCEPTION;
	c->delivering_len = i->len;
	vtx_deliver_event(c, BP_VECTOR, 0, false, true, c->next_rip);
	c->delivering = -1;
	c->async = 1;
}

void x_ud(struct vtx_cpu *c, const struct vtx_insn *i)
{
	(void)i;
	raise_ud(c);
}

/* IRET loads CS (and in IA-32e mode SS) from descriptors, and a segment
 * load sets the descriptor's accessed bit, in memory and in the register
 * (SDM Vol. 3A 3.4.5.1). Called at the commit, after every check. */
static void iret_mark_accessed(struct vtx_cpu *c, struct kvm_segment *s,
			       uint16_t sel, uint64_t raw)
{
	const uint64_t acc = (uint64_t)SEG_TYPE_ACCESSED << DESC_TYPE_SHIFT;

	s->type |= SEG_TYPE_ACCESSED;
	if (raw & acc)
		return;
	raw |= acc;
	vtx_write_sys(
		c, ((sel & SEL_TI) ? c->ldt.base : c->gdt.base) + (sel & ~7u),
		&raw, 8);
}

/* IRET/IRETD in protected mode (SDM Vol. 2A "IRET", PROTECTED-MODE path):
 * pops EIP, CS, EFLAGS (words with a 16-bit operand size), then ESP and
 * SS for a return to an outer level (vtx_iret_outer()). A task return
 * (NT) and a return to virtual-8086 mode are counted and refused. */
static void iret_prot32(struct vtx_cpu *c, const struct vtx_insn *i)
{
	unsigned sz = i->osz, rpl;
	uint64_t f[5], raw, new_fl, keep;
	struct kvm_segment cs;
	uint16_t cs_sel;

	if (c->rflags & X86_EFLAGS_NT)
		vtx_task_switch(c, "IRET with NT");
	for (unsigned k = 0; k < 3; k++)
		f[k] = mem_load(c, vtx_stack_la(c, vtx_sp_plus(c, k * sz), sz),
				sz);
	cs_sel = (uint16_t)f[1];
	rpl = cs_sel & SEL_RPL_MASK;
	if (x86_sel_is_null(cs_sel))
		raise_gp(c, 0);
	raw = vtx_read_desc(c, cs_sel);
	x86_seg_decode_desc(&cs, raw, cs_sel);
	if (!cs.s || !(cs.type & SEG_TYPE_CODE) || rpl < (unsigned)c->cpl)
		raise_gp(c, cs_sel & 0xfffc);
	if ((cs.type & SEG_TYPE_CONFORMING) ? cs.dpl > rpl : cs.dpl != rpl)
		raise_gp(c, cs_sel & 0xfffc);
	if (!cs.present)
		vtx_raise(c, NP_VECTOR, cs_sel & 0xfffc, true);
	/* EFLAGS.VM in the frame counts only at CPL 0 with a 32-bit frame
	 * (SDM Vol. 2A "IRET", PROTECTED-MODE). */
	if (sz == 4 && (f[2] & X86_EFLAGS_VM) && c->cpl == 0) {
		vtx_note_unimplemented(c, c->rip, NULL, 0,
				       "IRET to virtual-8086 mode");
		raise_gp(c, 0);
	}
	if (f[0] > cs.limit)
		raise_gp(c, 0);
	/* EFLAGS as POPF at this CPL would take it, RF and NT included; a
	 * 16-bit frame leaves bits 31:16 as they are. */
	keep = X86_EFLAGS_VIP | X86_EFLAGS_VIF | X86_EFLAGS_VM;
	if (c->cpl > 0)
		keep |= X86_EFLAGS_IOPL;
	if ((unsigned)c->cpl > iopl(c))
		keep |= X86_EFLAGS_IF;
	if (c->cpl == 0)
		keep &= ~(uint64_t)(X86_EFLAGS_VIP | X86_EFLAGS_VIF);
	if (sz == 2)
		keep |= ~0xffffull;
	new_fl = f[2] & X86_EFLAGS_LIVE_MASK & ~(uint64_t)X86_EFLAGS_VM;
	new_fl = (c->rflags & keep) | (new_fl & ~keep) | X86_EFLAGS_FIXED;
	if (rpl > (unsigned)c->cpl) {
		for (unsigned k = 3; k < 5; k++)
			f[k] = mem_load(
				c, vtx_stack_la(c, vtx_sp_plus(c, k * sz), sz),
				sz);
		vtx_iret_outer(c, &cs, f[0], new_fl, (uint32_t)f[3],
			       (uint16_t)f[4]);
		return;
	}
	c->rflags = new_fl;
	iret_mark_accessed(c, &cs, cs_sel, raw);
	cs.selector = cs_sel;
	c->seg[SEG_CS] = cs;
	c->gpr[REG_RSP] = vtx_sp_plus(c, 3 * sz);
	c->next_rip = f[0];
	int cpl = c->cpl;
	vtx_update_mode(c);
	c->cpl = cpl;
	/* A new CS base changes what a RIP means to chained blocks. */
	c->fetch_gen++;
	c->async = 1;
}

/* IRETQ in IA-32e mode (SDM Vol. 2A "IRET", IA-32e-MODE path): pops RIP,
 * CS, RFLAGS, RSP, SS; returns to the same or an outer privilege level. */
/*
 * IRET ends NMI blocking (SDM 6.7.1), and does so as it starts: an IRET
 * that then faults leaves NMIs unblocked, and a VM exit for its fault
 * says so (bit 12 of the interruption information or of an EPT
 * violation's qualification, SDM 28.2.1-28.2.2) for the VMM to block
 * them again before it re-executes the IRET. In VMX non-root, with NMI
 * exiting and without virtual NMIs it leaves NMI blocking alone; with
 * virtual NMIs it ends virtual-NMI blocking (SDM 26.3).
 */
static void iret_unblock_nmi(struct vtx_cpu *c)
{
	if (NONROOT(c) && (c->vmx.pin & PIN_BASED_NMI_EXITING) &&
	    !(c->vmx.pin & PIN_BASED_VIRTUAL_NMIS))
		return;
	c->iret_unblocked_nmi = c->nmi_blocked;
	c->nmi_blocked = false;
}

void x_iret(struct vtx_cpu *c, const struct vtx_insn *i)
{
	unsigned sz = i->osz;
	uint64_t sp = c->gpr[REG_RSP], f[5], cs_raw, ss_raw = 0;
	struct kvm_segment cs, ss;
	unsigned rpl;

	iret_unblock_nmi(c);
	if (c->mode == VTX_MODE_REAL) {
		vtx_real_iret(c, i);
		c->iret_unblocked_nmi = false;
		return;
	}
	if (c->mode == VTX_MODE_PROT32 || c->mode == VTX_MODE_PROT16) {
		iret_prot32(c, i);
		c->iret_unblocked_nmi = false;
		return;
	}
	if (c->mode != VTX_MODE_LONG64) {
		vtx_note_unimplemented(c, c->rip, NULL, 0,
				       "IRET in compatibility mode");
		raise_ud(c);
	}
	if (c->rflags & X86_EFLAGS_NT)
		raise_gp(c, 0); /* task return is not allowed in IA-32e mode */
	for (int k = 0; k < 5; k++)
		f[k] = mem_load(c, seg_linear(c, SEG_SS, sp + k * sz), sz);
	uint16_t cs_sel = (uint16_t)f[1], ss_sel = (uint16_t)f[4];
	uint64_t new_rip = f[0], new_fl = f[2], new_rsp = f[3];

	rpl = cs_sel & SEL_RPL_MASK;
	if (x86_sel_is_null(cs_sel))
		raise_gp(c, 0);
	cs_raw = vtx_read_desc(c, cs_sel);
	x86_seg_decode_desc(&cs, cs_raw, cs_sel);
	if (!cs.s || !(cs.type & SEG_TYPE_CODE) || rpl < (unsigned)c->cpl)
		raise_gp(c, cs_sel & 0xfffc);
	if ((cs.type & SEG_TYPE_CONFORMING) ? cs.dpl > rpl : cs.dpl != rpl)
		raise_gp(c, cs_sel & 0xfffc);
	if (!cs.present)
		vtx_raise(c, NP_VECTOR, cs_sel & 0xfffc, true);
	if (cs.l && cs.db)
		raise_gp(c, cs_sel & 0xfffc);
	if (!cs.l) {
		vtx_note_unimplemented(c, c->rip, NULL, 0,
				       "IRET to compatibility mode");
		raise_gp(c, cs_sel & 0xfffc);
	}
	if (!canonical(new_rip))
		raise_gp(c, 0);

	/* SS: null allowed when returning to CPL < 3 in 64-bit mode. */
	if (x86_sel_is_null(ss_sel)) {
		if (rpl == 3 || (ss_sel & SEL_RPL_MASK) != rpl)
			raise_gp(c, 0);
		memset(&ss, 0, sizeof(ss));
		ss.selector = ss_sel;
		ss.unusable = 1;
		ss.dpl = (uint8_t)rpl;
	} else {
		ss_raw = vtx_read_desc(c, ss_sel);
		x86_seg_decode_desc(&ss, ss_raw, ss_sel);
		if ((ss_sel & SEL_RPL_MASK) != rpl || !ss.s ||
		    (ss.type & SEG_TYPE_CODE) ||
		    !(ss.type & SEG_TYPE_WRITABLE) || ss.dpl != rpl)
			raise_gp(c, ss_sel & 0xfffc);
		if (!ss.present)
			vtx_raise(c, SS_VECTOR, ss_sel & 0xfffc, true);
	}

	/* RFLAGS as POPF at the old CPL would take it, plus VM/RF/NT. */
	uint64_t keep = X86_EFLAGS_VIP | X86_EFLAGS_VIF | X86_EFLAGS_VM;
	if (c->cpl > 0)
		keep |= X86_EFLAGS_IOPL;
	if ((unsigned)c->cpl > iopl(c))
		keep |= X86_EFLAGS_IF;
	if (c->cpl == 0)
		keep &= ~(uint64_t)(X86_EFLAGS_VIP | X86_EFLAGS_VIF);
	if (sz == 4)
		new_fl = (c->rflags & ~0xffffffffull) | (uint32_t)new_fl;
	new_fl &= X86_EFLAGS_LIVE_MASK & ~(uint64_t)X86_EFLAGS_VM;

	c->rflags = (c->rflags & keep) | (new_fl & ~keep) | X86_EFLAGS_FIXED;
	iret_mark_accessed(c, &cs, cs_sel, cs_raw);
	if (!x86_sel_is_null(ss_sel))
		iret_mark_accessed(c, &ss, ss_sel, ss_raw);
	c->seg[SEG_CS] = cs;
	c->seg[SEG_SS] = ss;
	c->gpr[REG_RSP] = new_rsp;
	c->next_rip = new_rip;
	vtx_update_mode(c);
	c->cpl = (int)rpl;
	if (rpl > 0) {
		/* ES, FS, GS and DS the new CPL may not use become null (SDM
		 * Vol. 2A "IRET": RETURN-TO-OUTER-PRIVILEGE-LEVEL); in 64-bit
		 * mode a null FS/GS keeps its base, which only WRMSR and
		 * SWAPGS change. */
		for (unsigned s = SEG_ES; s < SEG_NR; s++) {
			struct kvm_segment *d = &c->seg[s];
			if (s == SEG_CS || s == SEG_SS || d->unusable)
				continue;
			bool conf_code = (d->type & SEG_TYPE_CODE) &&
					 (d->type & SEG_TYPE_CONFORMING);
			if (!conf_code && d->dpl < rpl) {
				d->selector = 0;
				d->unusable = 1;
			}
		}
	}
	c->iret_unblocked_nmi = false;
	c->async = 1;
}

/* ---- SYSCALL / SYSRET (SDM Vol. 2B) ------------------------------------------------------ */

static void flat_seg(struct kvm_segment *s, uint16_t sel, bool code,
		     unsigned dpl)
{
	memset(s, 0, sizeof(*s));
	s->selector = sel;
	s->limit = 0xffffffff;
	s->type = code ? SEG_TYPE_CODE_XR_ACCESSED : SEG_TYPE_DATA_RW_ACCESSED;
	s->s = 1;
	s->dpl = (uint8_t)dpl;
	s->present = 1;
	s->l = code;
	s->db = !code;
	s->g = 1;
}

void x_syscall(struct vtx_cpu *c, const struct vtx_insn *i)
{
	(void)i;
	if (c->mode != VTX_MODE_LONG64 || !(c->efer & EFER_SCE))
		raise_ud(c);
	uint16_t sel = (uint16_t)(c->star >> 32) & 0xfffc;
	c->gpr[REG_RCX] = c->next_rip;
	c->gpr[REG_R11] = c->rflags & ~(uint64_t)X86_EFLAGS_RF;
	c->rflags &= ~(c->sfmask | X86_EFLAGS_RF);
	c->rflags |= X86_EFLAGS_FIXED;
	flat_seg(&c->seg[SEG_CS], sel, true, 0);
	flat_seg(&c->seg[SEG_SS], (uint16_t)(sel + 8), false, 0);
	c->next_rip = c->lstar;
	vtx_update_mode(c);
	c->async = 1;
}

void x_sysret(struct vtx_cpu *c, const struct vtx_insn *i)
{
	if (c->mode != VTX_MODE_LONG64 || !(c->efer & EFER_SCE))
		raise_ud(c);
	need_cpl0(c);
	if (i->osz != 8) {
		vtx_note_unimplemented(c, c->rip, NULL, 0,
				       "SYSRET to compatibility mode");
		raise_ud(c);
	}
	if (!canonical(c->gpr[REG_RCX]))
		raise_gp(c, 0);
	uint16_t sel = (uint16_t)(c->star >> 48);
	flat_seg(&c->seg[SEG_CS], (uint16_t)((sel + 16) | 3), true, 3);
	flat_seg(&c->seg[SEG_SS], (uint16_t)((sel + 8) | 3), false, 3);
	c->rflags = (c->gpr[REG_R11] & X86_EFLAGS_LIVE_MASK &
		     ~(uint64_t)(X86_EFLAGS_RF | X86_EFLAGS_VM)) |
		    X86_EFLAGS_FIXED;
	c->next_rip = c->gpr[REG_RCX];
	vtx_update_mode(c);
	c->async = 1;
}

void x_unimplemented(struct vtx_cpu *c, const struct vtx_insn *i)
{
	/* Recorded when the block was decoded; every execution is counted
	 * and raises #UD, or #NM first for an x87/SSE instruction when CR0
	 * says so (vtx/exec_ext.c). */
	vtx_note_unimplemented(c, c->rip, NULL, i->len, NULL);
	vtx_fpu_check(c, i->cc);
	raise_ud(c);
}
