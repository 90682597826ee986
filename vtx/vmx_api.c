/* SPDX-License-Identifier: MIT */
/*
 * vmx_api.c - VMX root operation for a hypervisor written in C: the
 * monitor drives the model with the operations a hypervisor uses on
 * silicon (VMXON, VMCLEAR, VMPTRLD, VMREAD, VMWRITE, VMLAUNCH, VMRESUME,
 * INVEPT, INVVPID), with the same semantics and VMfail results as the
 * instructions (vtx/vmx_insn.c), and a VM exit returns to the caller.
 * Model side; the public declarations are in vtx/vtx.h.
 */
#include <errno.h>

#include "arch/vmx_insn_errors.h"
#include "vtx/cpu.h"
#include "vtx/vmcs_access.h"
#include "vtx/vmx.h"

static bool host_ready(const struct vtx_cpu *c)
{
	return c->vmx.on && c->vmx.c_host && !c->vmx.non_root && !c->in_run;
}

/* The C host's operations are real VMX instructions on silicon: each
 * costs its profile figure, in the host's own bucket (it retires no
 * modeled instruction, so the base CPI is not part of it). */
static void host_charge(struct vtx_cpu *c, uint64_t *count, uint64_t cycles)
{
	(*count)++;
	vtx_cost_charge_outside(c, &c->stats.cycles_host, cycles);
}

/* host_ready(), and the operation's charge when it is. */
static bool host_op(struct vtx_cpu *c)
{
	if (!host_ready(c))
		return false;
	host_charge(c, &c->stats.host_vmx_ops, c->cost.vmx_insn);
	return true;
}

/* The C host has no CR0/CR4 of its own on the vCPU: VMXON checks only
 * the region (SDM 31.3 "VMXON", the checks that concern the operand). */
int vtx_vmxon(struct vtx_cpu *c, hpa_t region)
{
	int st;

	if (c->vmx.on || c->in_run)
		return -EINVAL;
	host_charge(c, &c->stats.host_vmx_ops, c->cost.vmx_insn);
	st = vtx_vmx_op_vmxon(c, region);
	if (st == 0)
		c->vmx.c_host = true;
	return st;
}

int vtx_vmxoff(struct vtx_cpu *c)
{
	if (!host_op(c))
		return -EINVAL;
	return vtx_vmx_op_vmxoff(c);
}

/* A VMfailValid also stores the error in the current VMCS, as the
 * instruction does. */
static int status(struct vtx_cpu *c, int st)
{
	if (st > 0 && c->vmx.current != VMX_NO_VMCS)
		vtx_vmcs_write(c, c->vmx.current, VM_INSTRUCTION_ERROR,
			       (uint32_t)st);
	else if (st > 0)
		st = VTX_VMFAIL_INVALID;
	return st;
}

int vtx_vmclear(struct vtx_cpu *c, hpa_t vmcs)
{
	return host_op(c) ? status(c, vtx_vmx_op_vmclear(c, vmcs)) : -EINVAL;
}

int vtx_vmptrld(struct vtx_cpu *c, hpa_t vmcs)
{
	return host_op(c) ? status(c, vtx_vmx_op_vmptrld(c, vmcs)) : -EINVAL;
}

int vtx_vmptrst(struct vtx_cpu *c, hpa_t *vmcs)
{
	if (!host_op(c))
		return -EINVAL;
	*vmcs = c->vmx.current;
	return 0;
}

int vtx_vmread(struct vtx_cpu *c, uint32_t field, uint64_t *val)
{
	if (!host_ready(c))
		return -EINVAL;
	host_charge(c, &c->stats.host_vmreads, c->cost.vmread);
	return status(c, vtx_vmx_op_vmread(c, field, val));
}

int vtx_vmwrite(struct vtx_cpu *c, uint32_t field, uint64_t val)
{
	if (!host_ready(c))
		return -EINVAL;
	host_charge(c, &c->stats.host_vmwrites, c->cost.vmwrite);
	return status(c, vtx_vmx_op_vmwrite(c, field, val));
}

/*
 * The batches charge their n operations at once: nothing runs between the
 * operations of a batch, so one charge of n x the figure leaves the same
 * cycles in the same buckets as n charges. The fields are checked one by
 * one as VMREAD/VMWRITE would; only the VMCS region is found once.
 */
static uint8_t *batch_region(struct vtx_cpu *c)
{
	if (c->vmx.current == VMX_NO_VMCS)
		return NULL;
	return vtx_vmcs_region(c, c->vmx.current);
}

int vtx_vmread_batch(struct vtx_cpu *c, struct vtx_vmcs_field *f, size_t n)
{
	uint8_t *p;
	int first = 0;

	if (!host_ready(c))
		return -EINVAL;
	if (!n)
		return 0;
	c->stats.host_vmreads += n;
	vtx_cost_charge_outside(c, &c->stats.cycles_host, n * c->cost.vmread);
	p = batch_region(c);
	for (size_t i = 0; i < n; i++) {
		unsigned int width = 0;
		int off, st = 0;

		if (!p) {
			f[i].val = 0;
			st = vtx_vmx_op_vmread(c, f[i].field, &f[i].val);
		} else if ((off = vtx_vmcs_model_offset(f[i].field, &width)) >=
			   0) {
			f[i].val = host_load(p + off, width);
		} else {
			f[i].val = 0;
			st = VMXERR_UNSUPPORTED_VMCS_COMPONENT;
		}
		st = status(c, st);
		if (st && !first)
			first = st;
	}
	return first;
}

int vtx_vmwrite_batch(struct vtx_cpu *c, const struct vtx_vmcs_field *f,
		      size_t n)
{
	uint8_t *p;
	int first = 0;

	if (!host_ready(c))
		return -EINVAL;
	if (!n)
		return 0;
	c->stats.host_vmwrites += n;
	vtx_cost_charge_outside(c, &c->stats.cycles_host, n * c->cost.vmwrite);
	p = batch_region(c);
	for (size_t i = 0; i < n; i++) {
		unsigned int width = 0;
		int off, st = 0;

		if (!p) {
			st = vtx_vmx_op_vmwrite(c, f[i].field, f[i].val);
		} else if ((off = vtx_vmcs_model_offset(f[i].field, &width)) >=
			   0) {
			host_store(p + off, width, f[i].val);
		} else {
			st = VMXERR_UNSUPPORTED_VMCS_COMPONENT;
		}
		st = status(c, st);
		if (st && !first)
			first = st;
	}
	return first;
}

int vtx_vmcs_peek(struct vtx_cpu *c, uint32_t field, uint64_t *val)
{
	if (!host_ready(c) || c->vmx.current == VMX_NO_VMCS ||
	    vtx_vmx_op_vmread(c, field, val))
		return -EINVAL;
	return 0;
}

int vtx_invept(struct vtx_cpu *c, uint64_t type, uint64_t eptp)
{
	return host_op(c) ? status(c, vtx_vmx_op_invept(c, type, eptp))
			  : -EINVAL;
}

int vtx_invvpid(struct vtx_cpu *c, uint64_t type, uint16_t vpid, uint64_t gla)
{
	return host_op(c) ? status(c, vtx_vmx_op_invvpid(c, type, vpid, gla))
			  : -EINVAL;
}

/* The entry itself happens inside the run loop (vtx/run.c), where a
 * failing guest-state check can take the VM-exit path. */
static int enter(struct vtx_cpu *c, bool launch, struct vtx_stop *stop)
{
	int ret;

	if (!host_ready(c))
		return -EINVAL;
	c->api_entry = launch ? 1 : 2;
	c->api_status = 0;
	ret = vtx_cpu_run(c, stop);
	if (ret)
		return ret;
	return status(c, c->api_status);
}

int vtx_vmlaunch(struct vtx_cpu *c, struct vtx_stop *stop)
{
	return enter(c, true, stop);
}

int vtx_vmresume(struct vtx_cpu *c, struct vtx_stop *stop)
{
	return enter(c, false, stop);
}
