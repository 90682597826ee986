/* SPDX-License-Identifier: MIT */
/*
 * machine.c - the machine: its host-physical memory arena, the vCPU's life
 * cycle, register state in and out (uapi struct kvm_regs / kvm_sregs), MSRs
 * and counters. Model side. SDM Vol. 3A 2.5 (control registers), 3.4
 * (segment registers), 9.8 (IA-32e mode).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "arch/x86_msr.h"
#include "vtx/paging.h"

int vtx_machine_create(const struct vtx_machine_config *cfg,
		       struct vtx_machine **out)
{
	struct vtx_machine *m;

	*out = NULL;
	if (!cfg || !cfg->arena_size || (cfg->arena_size & (PAGE_SIZE - 1)))
		return -EINVAL;
	m = calloc(1, sizeof(*m));
	if (!m)
		return -ENOMEM;
	/* MAP_NORESERVE: a large arena costs only the pages a guest touches. */
	m->ram = mmap(NULL, cfg->arena_size, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (m->ram == MAP_FAILED) {
		free(m);
		return -ENOMEM;
	}
	m->ram_size = cfg->arena_size;
	m->code_page = calloc(cfg->arena_size >> PAGE_SHIFT, 1);
	if (!m->code_page) {
		munmap(m->ram, m->ram_size);
		free(m);
		return -ENOMEM;
	}
	if (cfg->ops)
		m->ops = *cfg->ops;
	m->opaque = cfg->opaque;
	*out = m;
	return 0;
}

void vtx_machine_destroy(struct vtx_machine *m)
{
	if (!m)
		return;
	if (m->cpu)
		vtx_cpu_destroy(m->cpu);
	munmap(m->ram, m->ram_size);
	free(m->code_page);
	free(m);
}

uint64_t vtx_arena_size(const struct vtx_machine *m)
{
	return m->ram_size;
}

void *vtx_hpa_ptr(struct vtx_machine *m, hpa_t hpa, uint64_t len)
{
	if (hpa > m->ram_size || len > m->ram_size - hpa)
		return NULL;
	return m->ram + hpa;
}

int vtx_hpa_read(struct vtx_machine *m, hpa_t hpa, void *buf, uint64_t len)
{
	void *p = vtx_hpa_ptr(m, hpa, len);
	if (!p)
		return -EFAULT;
	memcpy(buf, p, len);
	return 0;
}

int vtx_hpa_write(struct vtx_machine *m, hpa_t hpa, const void *buf,
		  uint64_t len)
{
	void *p = vtx_hpa_ptr(m, hpa, len);
	if (!p)
		return -EFAULT;
	memcpy(p, buf, len);
	if (len)
		vtx_code_write(m, hpa, len);
	return 0;
}

int vtx_hpa_zero(struct vtx_machine *m, hpa_t hpa, uint64_t len)
{
	uint8_t *p = vtx_hpa_ptr(m, hpa, len);

	if (!p || (m->cpu && m->cpu->in_run))
		return -EINVAL;
	/* A private anonymous mapping reads as zero after MADV_DONTNEED and
	 * faults pages back in only where they are touched, so zeroing whole
	 * pages costs what was used since, not the range's size. */
	if ((hpa | len) & (PAGE_SIZE - 1) || madvise(p, len, MADV_DONTNEED))
		memset(p, 0, len);
	if (m->cpu)
		vtx_bcache_flush(m->cpu);
	else
		memset(m->code_page, 0, m->ram_size >> PAGE_SHIFT);
	return 0;
}

/* ---- vCPU ------------------------------------------------------------------ */

/* The state vtx_cpu_create() gives a vCPU: power-up values (SDM Vol. 3A
 * 10.1.1 Table 10-1) for what the model keeps, zero for the rest. */
static void cpu_power_up(struct vtx_cpu *c)
{
	c->rflags = X86_EFLAGS_FIXED;
	c->delivering = -1;
	vtx_cost_profile_unit(&c->cost);
	c->vmx.current = VMX_NO_VMCS;
	c->vmx.vmxon_ptr = VMX_NO_VMCS;
	c->cr0 = X86_CR0_ET | X86_CR0_CD | X86_CR0_NW;
	c->dr[6] = 0xffff0ff0;
	c->dr[7] = 0x400;
	c->pat = 0x0007040600070406ull;
	c->apic_base = 0xfee00000ull | APIC_BASE_EN | APIC_BASE_BSP;
	vtx_lapic_reset(c);
	c->stop_at = c->check_at = c->event_at = UINT64_MAX;
	c->idt.limit = 0xffff;
	c->gdt.limit = 0xffff;
	for (int s = 0; s < SEG_NR; s++) {
		c->seg[s].limit = 0xffff;
		c->seg[s].present = 1;
		c->seg[s].s = 1;
		c->seg[s].type = s == SEG_CS ? 0xb : 0x3;
	}
	c->seg[SEG_CS].selector = 0xf000;
	c->seg[SEG_CS].base = 0xffff0000;
	c->tr.limit = 0xffff;
	c->tr.type = 0xb;
	c->tr.present = 1;
	c->ldt.limit = 0xffff;
	c->ldt.type = 0x2;
	c->ldt.present = 1;
	c->rip = 0xfff0;
	vtx_tlb_flush(c);
}

int vtx_cpu_create(struct vtx_machine *m, struct vtx_cpu **out)
{
	struct vtx_cpu *c;
	int ret;

	*out = NULL;
	if (m->cpu)
		return -EBUSY; /* one vCPU per machine for now */
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->m = m;
	c->ram = m->ram;
	c->ram_size = m->ram_size;
	cpu_power_up(c);
	ret = vtx_bcache_create(c);
	if (ret) {
		free(c);
		return ret;
	}
	vtx_update_mode(c);
	m->cpu = c;
	*out = c;
	return 0;
}

int vtx_cpu_reset(struct vtx_cpu *c)
{
	struct vtx_machine *m;
	struct vtx_bcache *bc;
	uint64_t gen;
	bool stop;

	if (!c || c->in_run)
		return -EINVAL;
	m = c->m;
	bc = c->bc;
	/* The generation only moves forward: a block chained before the
	 * reset must never look valid after it (vtx/run.c). */
	gen = c->fetch_gen;
	/* A stop the host asked for is about the host's run, not the
	 * processor's state: it outlives the reset. */
	stop = atomic_load_explicit(&c->host_stop, memory_order_relaxed);
	memset(c, 0, sizeof(*c));
	atomic_init(&c->host_stop, stop);
	c->m = m;
	c->ram = m->ram;
	c->ram_size = m->ram_size;
	c->bc = bc;
	c->fetch_gen = gen + 1;
	cpu_power_up(c);
	vtx_bcache_flush(c);
	vtx_update_mode(c);
	return 0;
}

void vtx_cpu_destroy(struct vtx_cpu *c)
{
	if (!c)
		return;
	if (c->m && c->m->cpu == c)
		c->m->cpu = NULL;
	vtx_bcache_destroy(c);
	free(c);
}

/* The fetch mode and CPL follow from CR0.PE, EFER.LMA, CS.L/D and CS.DPL
 * (SDM Vol. 3A 5.5: CPL is CS.RPL, equal to the DPL of the loaded CS except
 * for conforming code; the model keeps it as CS's DPL). */
void vtx_update_mode(struct vtx_cpu *c)
{
	const struct kvm_segment *cs = &c->seg[SEG_CS];

	if (!(c->cr0 & X86_CR0_PE))
		c->mode = VTX_MODE_REAL;
	else if ((c->efer & EFER_LMA) && cs->l)
		c->mode = VTX_MODE_LONG64;
	else if (c->efer & EFER_LMA)
		c->mode = cs->db ? VTX_MODE_COMPAT32 : VTX_MODE_COMPAT16;
	else
		c->mode = cs->db ? VTX_MODE_PROT32 : VTX_MODE_PROT16;
	c->cpl = (c->cr0 & X86_CR0_PE) ? cs->dpl : 0;
	if (c->rflags & X86_EFLAGS_VM)
		c->cpl = 3;
}

int vtx_cpu_get_regs(const struct vtx_cpu *c, struct kvm_regs *r)
{
	memset(r, 0, sizeof(*r));
	r->rax = c->gpr[REG_RAX];
	r->rbx = c->gpr[REG_RBX];
	r->rcx = c->gpr[REG_RCX];
	r->rdx = c->gpr[REG_RDX];
	r->rsi = c->gpr[REG_RSI];
	r->rdi = c->gpr[REG_RDI];
	r->rsp = c->gpr[REG_RSP];
	r->rbp = c->gpr[REG_RBP];
	r->r8 = c->gpr[REG_R8];
	r->r9 = c->gpr[REG_R9];
	r->r10 = c->gpr[REG_R10];
	r->r11 = c->gpr[REG_R11];
	r->r12 = c->gpr[REG_R12];
	r->r13 = c->gpr[REG_R13];
	r->r14 = c->gpr[REG_R14];
	r->r15 = c->gpr[REG_R15];
	r->rip = c->rip;
	r->rflags = c->rflags;
	return 0;
}

int vtx_cpu_set_regs(struct vtx_cpu *c, const struct kvm_regs *r)
{
	c->gpr[REG_RAX] = r->rax;
	c->gpr[REG_RBX] = r->rbx;
	c->gpr[REG_RCX] = r->rcx;
	c->gpr[REG_RDX] = r->rdx;
	c->gpr[REG_RSI] = r->rsi;
	c->gpr[REG_RDI] = r->rdi;
	c->gpr[REG_RSP] = r->rsp;
	c->gpr[REG_RBP] = r->rbp;
	c->gpr[REG_R8] = r->r8;
	c->gpr[REG_R9] = r->r9;
	c->gpr[REG_R10] = r->r10;
	c->gpr[REG_R11] = r->r11;
	c->gpr[REG_R12] = r->r12;
	c->gpr[REG_R13] = r->r13;
	c->gpr[REG_R14] = r->r14;
	c->gpr[REG_R15] = r->r15;
	c->rip = r->rip;
	/* Bit 1 always reads as 1; reserved bits 3, 5, 15, 22-63 read 0. */
	c->rflags = (r->rflags & X86_EFLAGS_LIVE_MASK) | X86_EFLAGS_FIXED;
	vtx_update_mode(c);
	return 0;
}

int vtx_cpu_get_sregs(const struct vtx_cpu *c, struct kvm_sregs *s)
{
	memset(s, 0, sizeof(*s));
	s->es = c->seg[SEG_ES];
	s->cs = c->seg[SEG_CS];
	s->ss = c->seg[SEG_SS];
	s->ds = c->seg[SEG_DS];
	s->fs = c->seg[SEG_FS];
	s->gs = c->seg[SEG_GS];
	s->tr = c->tr;
	s->ldt = c->ldt;
	s->gdt = c->gdt;
	s->idt = c->idt;
	s->cr0 = c->cr0;
	s->cr2 = c->cr2;
	s->cr3 = c->cr3;
	s->cr4 = c->cr4;
	s->cr8 = vtx_lapic_read_cr8(c);
	s->efer = c->efer;
	s->apic_base = c->apic_base;
	return 0;
}

/* What hardware could never hold (SDM Vol. 3A 9.8.5, 2.5, 26.3.1 for the
 * same rules at VM entry): refuse it rather than run in an impossible mode. */
int vtx_cpu_set_sregs(struct vtx_cpu *c, const struct kvm_sregs *s)
{
	bool lma = s->efer & EFER_LMA;

	if ((s->cr0 & X86_CR0_PG) && !(s->cr0 & X86_CR0_PE))
		return -EINVAL;
	if (lma && (!(s->cr0 & X86_CR0_PG) || !(s->cr4 & X86_CR4_PAE) ||
		    !(s->efer & EFER_LME)))
		return -EINVAL;
	if (!lma && (s->efer & EFER_LME) && (s->cr0 & X86_CR0_PG))
		return -EINVAL;
	if (s->cs.l && (s->cs.db || !lma))
		return -EINVAL;
	if ((s->cr0 & X86_CR0_NW) && !(s->cr0 & X86_CR0_CD))
		return -EINVAL;
	c->seg[SEG_ES] = s->es;
	c->seg[SEG_CS] = s->cs;
	c->seg[SEG_SS] = s->ss;
	c->seg[SEG_DS] = s->ds;
	c->seg[SEG_FS] = s->fs;
	c->seg[SEG_GS] = s->gs;
	c->tr = s->tr;
	c->ldt = s->ldt;
	c->gdt = s->gdt;
	c->idt = s->idt;
	c->cr0 = s->cr0 | X86_CR0_ET;
	c->cr2 = s->cr2;
	c->cr3 = s->cr3;
	c->cr4 = s->cr4;
	vtx_lapic_write_cr8(c, s->cr8 & 0xf);
	c->efer = s->efer;
	c->apic_base = s->apic_base ? s->apic_base : c->apic_base;
	/* As a MOV to CR3 would, under PAE paging (SDM Vol. 3A 4.4.1). */
	if (paging_is_pae(c->cr0, c->cr4, c->efer) &&
	    vtx_paging_load_pdptes(c, c->cr3))
		return -EINVAL;
	vtx_tlb_flush(c);
	vtx_update_mode(c);
	return 0;
}

/* The MSRs the model holds (SDM Vol. 4 Table 2-2). RDMSR/WRMSR from the
 * guest go through the same switch (vtx/exec_sys.c). */
int vtx_cpu_get_msr(const struct vtx_cpu *c, uint32_t idx, uint64_t *val)
{
	int ret;

	switch (idx) {
	case MSR_EFER:
		*val = c->efer;
		return 0;
	case MSR_STAR:
		*val = c->star;
		return 0;
	case MSR_LSTAR:
		*val = c->lstar;
		return 0;
	case MSR_CSTAR:
		*val = c->cstar;
		return 0;
	case MSR_SYSCALL_MASK:
		*val = c->sfmask;
		return 0;
	case MSR_FS_BASE:
		*val = c->seg[SEG_FS].base;
		return 0;
	case MSR_GS_BASE:
		*val = c->seg[SEG_GS].base;
		return 0;
	case MSR_KERNEL_GS_BASE:
		*val = c->kernel_gs_base;
		return 0;
	case MSR_TSC_AUX:
		*val = c->tsc_aux;
		return 0;
	case MSR_IA32_TSC:
		*val = c->tsc + c->tsc_adjust;
		return 0;
	case MSR_IA32_CR_PAT:
		*val = c->pat;
		return 0;
	case MSR_IA32_FEAT_CTL:
		*val = c->feature_control;
		return 0;
	case MSR_IA32_SYSENTER_CS:
		*val = c->sysenter_cs;
		return 0;
	case MSR_IA32_SYSENTER_ESP:
		*val = c->sysenter_esp;
		return 0;
	case MSR_IA32_SYSENTER_EIP:
		*val = c->sysenter_eip;
		return 0;
	case MSR_IA32_MISC_ENABLE:
		*val = c->misc_enable;
		return 0;
	default:
		ret = vtx_lapic_msr_read(c, idx, val);
		if (ret != -ENOENT)
			return ret;
		return vtx_vmx_read_cap(c, idx, val);
	}
}

static bool is_canonical48(uint64_t v)
{
	return (uint64_t)((int64_t)(v << 16) >> 16) == v;
}

/* -EINVAL for a value the MSR would refuse with #GP (WRMSR turns that into
 * #GP(0)); -ENOENT for an MSR the model does not implement. */
int vtx_cpu_set_msr(struct vtx_cpu *c, uint32_t idx, uint64_t val)
{
	int ret;

	switch (idx) {
	case MSR_EFER: {
		/* SDM Vol. 3A 2.2.1: reserved bits #GP; LMA is read-only and
		 * LME cannot change while paging is on. */
		uint64_t ok = EFER_SCE | EFER_LME | EFER_LMA | EFER_NX;
		if (val & ~ok)
			return -EINVAL;
		if ((c->cr0 & X86_CR0_PG) && ((val ^ c->efer) & EFER_LME))
			return -EINVAL;
		c->efer = (val & ~(uint64_t)EFER_LMA) | (c->efer & EFER_LMA);
		vtx_tlb_flush(c);
		vtx_update_mode(c);
		return 0;
	}
	case MSR_STAR:
		c->star = val;
		return 0;
	case MSR_LSTAR:
	case MSR_CSTAR:
	case MSR_FS_BASE:
	case MSR_GS_BASE:
	case MSR_KERNEL_GS_BASE:
	case MSR_IA32_SYSENTER_ESP:
	case MSR_IA32_SYSENTER_EIP:
		if (!is_canonical48(val))
			return -EINVAL;
		if (idx == MSR_LSTAR)
			c->lstar = val;
		else if (idx == MSR_CSTAR)
			c->cstar = val;
		else if (idx == MSR_FS_BASE)
			c->seg[SEG_FS].base = val;
		else if (idx == MSR_GS_BASE)
			c->seg[SEG_GS].base = val;
		else if (idx == MSR_KERNEL_GS_BASE)
			c->kernel_gs_base = val;
		else if (idx == MSR_IA32_SYSENTER_ESP)
			c->sysenter_esp = val;
		else
			c->sysenter_eip = val;
		return 0;
	case MSR_SYSCALL_MASK:
		c->sfmask = val & 0xffffffffull;
		return 0;
	case MSR_TSC_AUX:
		if (val >> 32)
			return -EINVAL;
		c->tsc_aux = val;
		return 0;
	case MSR_IA32_TSC:
		/* The modeled clock never goes back: the write moves the
		 * difference the TSC reads with (as IA32_TSC_ADJUST does). */
		c->tsc_adjust = val - c->tsc;
		return 0;
	case MSR_IA32_CR_PAT:
		for (int b = 0; b < 8; b++) {
			unsigned t = (val >> (b * 8)) & 0xff;
			/* SDM Vol. 3A 13.12.2: types 2, 3 and >= 8 reserved */
			if (t == 2 || t == 3 || t >= 8)
				return -EINVAL;
		}
		c->pat = val;
		return 0;
	case MSR_IA32_FEAT_CTL:
		/* SDM Vol. 3C 24.7: locked means WRMSR faults until reset */
		if (c->feature_control & FEAT_CTL_LOCKED)
			return -EINVAL;
		c->feature_control = val;
		return 0;
	case MSR_IA32_SYSENTER_CS:
		c->sysenter_cs = val & 0xffff;
		return 0;
	case MSR_IA32_MISC_ENABLE:
		c->misc_enable = val;
		return 0;
	default:
		ret = vtx_lapic_msr_write(c, idx, val);
		if (ret != -ENOENT)
			return ret;
		/* The VMX capability MSRs are read-only: WRMSR is #GP(0). */
		if (vtx_vmx_read_cap(c, idx, &val) == 0)
			return -EINVAL;
		return -ENOENT;
	}
}

void vtx_cpu_set_insn_limit(struct vtx_cpu *c, uint64_t insns)
{
	c->insn_budget = insns;
}

/* Relaxed is enough: the flag carries no other data, and a handler on
 * the run's own thread is ordered with it by the signal itself. */
void vtx_cpu_request_stop(struct vtx_cpu *c)
{
	atomic_store_explicit(&c->host_stop, true, memory_order_relaxed);
}

void vtx_cpu_cancel_stop(struct vtx_cpu *c)
{
	atomic_store_explicit(&c->host_stop, false, memory_order_relaxed);
}

bool vtx_cpu_stop_pending(const struct vtx_cpu *c)
{
	return atomic_load_explicit(&c->host_stop, memory_order_relaxed);
}

void vtx_cpu_get_stats(const struct vtx_cpu *c, struct vtx_cpu_stats *st)
{
	*st = c->stats;
	/* The run under way is not closed yet: add it to its bucket. */
	st->cycles = c->tsc;
	if (c->vmx.non_root)
		st->cycles_nonroot += c->tsc - c->cost_mark;
	else
		st->cycles_root += c->tsc - c->cost_mark;
}

void vtx_cpu_get_clock(const struct vtx_cpu *c, struct vtx_cpu_clock *clk)
{
	const struct vtx_cpu_stats *st = &c->stats;

	clk->cycles = c->tsc;
	clk->cycles_host = st->cycles_host;
	clk->cycles_switch = st->cycles_switch;
	/* The open run belongs to root or non-root: either way, guest. */
	clk->cycles_guest =
		st->cycles_root + st->cycles_nonroot + (c->tsc - c->cost_mark);
	clk->insns = st->insns;
	clk->vm_exits = st->vm_exits;
	clk->shadow_vmreads = st->shadow_vmreads;
	clk->shadow_vmwrites = st->shadow_vmwrites;
}

size_t vtx_cpu_get_unimplemented(const struct vtx_cpu *c,
				 struct vtx_unimpl *out, size_t max)
{
	for (size_t k = 0; k < c->nr_unimpl && k < max; k++)
		out[k] = c->unimpl[k];
	return c->nr_unimpl;
}

const char *vtx_stop_reason_name(enum vtx_stop_reason r)
{
	switch (r) {
	case VTX_STOP_PLATFORM:
		return "platform";
	case VTX_STOP_TRIPLE_FAULT:
		return "triple fault";
	case VTX_STOP_HALTED:
		return "halted";
	case VTX_STOP_INSN_LIMIT:
		return "instruction limit";
	case VTX_STOP_VMEXIT:
		return "VM exit";
	case VTX_STOP_INIT:
		return "INIT";
	case VTX_STOP_REQUESTED:
		return "host request";
	}
	return "?";
}
