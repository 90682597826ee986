/* SPDX-License-Identifier: MIT */
/*
 * lib.c - the framework of the VMX test programs (lib.h): check lines,
 * fault-catching VMX instructions, capabilities and VMXON (SDM Vol. 3C
 * 24.6-24.8, Appendix A), the known-good VMCS (25.4-25.8, checked by
 * 27.2-27.3), running the guest and reading its VM exit (28.2), the
 * identity EPT (30.3) and the guest IDT. Guest side (runs as a hypervisor).
 */
#include <stdarg.h>

#include <asm/vmx.h>

#include "arch/boot_layout.h"
#include "arch/ept.h"
#include "arch/vmcs.h"
#include "arch/vmx_asm.h"
#include "arch/vmx_exit_qual.h"
#include "arch/x86_msr.h"
#include "arch/x86_regs.h"
#include "arch/x86_seg.h"
#include "guests/rt/rt.h"
#include "tests/vmx/lib.h"

/* ---- check lines --------------------------------------------------------- */

static const char *vmxt_program = "vmx";
static unsigned int vmxt_nr_checks, vmxt_nr_failed;

void vmxt_check_str(const char *name, bool ok, const char *got,
		    const char *want)
{
	vmxt_nr_checks++;
	if (ok) {
		printf("ok   %s.%s: %s\n", vmxt_program, name, got);
		return;
	}
	vmxt_nr_failed++;
	printf("FAIL %s.%s: %s (want %s)\n", vmxt_program, name, got, want);
}

void vmxt_check_u64(const char *name, uint64_t got, uint64_t want)
{
	char g[24], w[24];

	snprintf(g, sizeof(g), "0x%llx", (unsigned long long)got);
	snprintf(w, sizeof(w), "0x%llx", (unsigned long long)want);
	vmxt_check_str(name, got == want, g, w);
}

void vmxt_skip(const char *name, const char *what)
{
	vmxt_nr_checks++;
	printf("skip %s.%s: needs %s\n", vmxt_program, name, what);
}

void vmxt_die(const char *fmt, ...)
{
	va_list ap;

	printf("# %s: framework error: ", vmxt_program);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	exit(3);
}

int vmxt_end(void)
{
	printf("# %s: %u checks, %u failed\n", vmxt_program, vmxt_nr_checks,
	       vmxt_nr_failed);
	return vmxt_nr_failed ? 1 : 0;
}

/* ---- faults of the instructions under test ----------------------------------
 *
 * An instruction that may fault is preceded by storing the address to
 * resume at in vmxt_fixup_rip; the host IDT handler records the fault and
 * resumes there. Any other exception stops the program.
 */
volatile uint64_t vmxt_fixup_rip;
static volatile bool vmxt_faulted;
static volatile uint32_t vmxt_fault_vector, vmxt_fault_error;

static void vmxt_host_fault(struct idt_frame *f)
{
	if (!vmxt_fixup_rip) {
		printf("# %s: unexpected exception %llu (error 0x%llx) at rip "
		       "0x%llx\n",
		       vmxt_program, (unsigned long long)f->vector,
		       (unsigned long long)f->error_code,
		       (unsigned long long)f->rip);
		exit(3);
	}
	vmxt_faulted = true;
	vmxt_fault_vector = (uint32_t)f->vector;
	vmxt_fault_error = (uint32_t)f->error_code;
	f->rip = vmxt_fixup_rip;
	vmxt_fixup_rip = 0;
}

void vmxt_begin(const char *program)
{
	vmxt_program = program;
	idt_install(vmxt_host_fault);
}

/* Arms the fixup at the local label 9 that ends the asm statement. */
#define VMXT_ARM                   \
	"lea 9f(%%rip), %%r11\n\t" \
	"mov %%r11, vmxt_fixup_rip(%%rip)\n\t"
#define VMXT_LANDING "\n9:"

static struct vmxt_outcome vmxt_finish(bool cf, bool zf)
{
	struct vmxt_outcome o = { .kind = VMXT_SUCCEED };
	uint64_t err = 0;

	vmxt_fixup_rip = 0;
	if (vmxt_faulted) {
		vmxt_faulted = false;
		o.kind = VMXT_FAULT;
		o.vector = vmxt_fault_vector;
		o.fault_error = vmxt_fault_error;
	} else if (cf) {
		o.kind = VMXT_FAIL_INVALID;
	} else if (zf) {
		o.kind = VMXT_FAIL_VALID;
		vmx_vmread(VM_INSTRUCTION_ERROR, &err);
		o.error = (uint32_t)err;
	}
	return o;
}

struct vmxt_outcome vmxt_try_vmxon(uint64_t pa)
{
	bool cf, zf;

	__asm__ volatile(VMXT_ARM "vmxon %[pa]" VMXT_LANDING
			 : "=@ccc"(cf), "=@ccz"(zf)
			 : [pa] "m"(pa)
			 : "r11", "memory");
	return vmxt_finish(cf, zf);
}

struct vmxt_outcome vmxt_try_vmxoff(void)
{
	bool cf, zf;

	__asm__ volatile(VMXT_ARM "vmxoff" VMXT_LANDING
			 : "=@ccc"(cf), "=@ccz"(zf)
			 :
			 : "r11", "memory");
	return vmxt_finish(cf, zf);
}

struct vmxt_outcome vmxt_try_vmclear(uint64_t pa)
{
	bool cf, zf;

	__asm__ volatile(VMXT_ARM "vmclear %[pa]" VMXT_LANDING
			 : "=@ccc"(cf), "=@ccz"(zf)
			 : [pa] "m"(pa)
			 : "r11", "memory");
	return vmxt_finish(cf, zf);
}

struct vmxt_outcome vmxt_try_vmptrld(uint64_t pa)
{
	bool cf, zf;

	__asm__ volatile(VMXT_ARM "vmptrld %[pa]" VMXT_LANDING
			 : "=@ccc"(cf), "=@ccz"(zf)
			 : [pa] "m"(pa)
			 : "r11", "memory");
	return vmxt_finish(cf, zf);
}

struct vmxt_outcome vmxt_try_vmptrst(uint64_t *pa)
{
	bool cf, zf;

	__asm__ volatile(VMXT_ARM "vmptrst %[pa]" VMXT_LANDING
			 : [pa] "=m"(*pa), "=@ccc"(cf), "=@ccz"(zf)
			 :
			 : "r11", "memory");
	return vmxt_finish(cf, zf);
}

struct vmxt_outcome vmxt_try_vmptrld_at(uint64_t la)
{
	bool cf, zf;

	__asm__ volatile(VMXT_ARM "vmptrld (%[la])" VMXT_LANDING
			 : "=@ccc"(cf), "=@ccz"(zf)
			 : [la] "r"(la)
			 : "r11", "memory");
	return vmxt_finish(cf, zf);
}

struct vmxt_outcome vmxt_try_vmptrst_at(uint64_t la)
{
	bool cf, zf;

	__asm__ volatile(VMXT_ARM "vmptrst (%[la])" VMXT_LANDING
			 : "=@ccc"(cf), "=@ccz"(zf)
			 : [la] "r"(la)
			 : "r11", "memory");
	return vmxt_finish(cf, zf);
}

struct vmxt_outcome vmxt_try_vmread(uint64_t enc, uint64_t *val)
{
	uint64_t v = *val;
	bool cf, zf;

	__asm__ volatile(VMXT_ARM "vmread %[f], %[v]" VMXT_LANDING
			 : [v] "+r"(v), "=@ccc"(cf), "=@ccz"(zf)
			 : [f] "r"(enc)
			 : "r11", "memory");
	*val = v;
	return vmxt_finish(cf, zf);
}

struct vmxt_outcome vmxt_try_vmwrite(uint64_t enc, uint64_t val)
{
	bool cf, zf;

	__asm__ volatile(VMXT_ARM "vmwrite %[v], %[f]" VMXT_LANDING
			 : "=@ccc"(cf), "=@ccz"(zf)
			 : [v] "r"(val), [f] "r"(enc)
			 : "r11", "memory");
	return vmxt_finish(cf, zf);
}

struct vmxt_outcome vmxt_try_vmread_mem(uint64_t enc, uint64_t *dst)
{
	bool cf, zf;

	__asm__ volatile(VMXT_ARM "vmread %[f], %[d]" VMXT_LANDING
			 : [d] "=m"(*dst), "=@ccc"(cf), "=@ccz"(zf)
			 : [f] "r"(enc)
			 : "r11", "memory");
	return vmxt_finish(cf, zf);
}

struct vmxt_outcome vmxt_try_vmwrite_mem(uint64_t enc, const uint64_t *src)
{
	bool cf, zf;

	__asm__ volatile(VMXT_ARM "vmwrite %[s], %[f]" VMXT_LANDING
			 : "=@ccc"(cf), "=@ccz"(zf)
			 : [s] "m"(*src), [f] "r"(enc)
			 : "r11", "memory");
	return vmxt_finish(cf, zf);
}

struct vmxt_outcome vmxt_try_invept(uint64_t type, uint64_t eptp)
{
	struct vmx_invept_desc desc = { .eptp = eptp, .reserved = 0 };
	bool cf, zf;

	__asm__ volatile(VMXT_ARM "invept %[d], %[t]" VMXT_LANDING
			 : "=@ccc"(cf), "=@ccz"(zf)
			 : [d] "m"(desc), [t] "r"(type)
			 : "r11", "memory");
	return vmxt_finish(cf, zf);
}

struct vmxt_outcome vmxt_try_invvpid(uint64_t type, uint64_t vpid, uint64_t gla)
{
	uint64_t desc[2] = { vpid, gla };
	bool cf, zf;

	__asm__ volatile(VMXT_ARM "invvpid %[d], %[t]" VMXT_LANDING
			 : "=@ccc"(cf), "=@ccz"(zf)
			 : [d] "m"(desc), [t] "r"(type)
			 : "r11", "memory");
	return vmxt_finish(cf, zf);
}

struct vmxt_outcome vmxt_try_vmcall(void)
{
	bool cf, zf;

	__asm__ volatile(VMXT_ARM "vmcall" VMXT_LANDING
			 : "=@ccc"(cf), "=@ccz"(zf)
			 :
			 : "r11", "memory");
	return vmxt_finish(cf, zf);
}

int vmxt_enter_asm(int resume, int mov_ss);
void vmxt_host_rip(void);

static struct vmxt_outcome vmxt_enter(bool resume, bool mov_ss)
{
	int r = vmxt_enter_asm(resume, mov_ss);
	struct vmxt_outcome o;

	switch (r) {
	case 0:
		o = VMXT_EXITED((uint32_t)vmxt_rd(VM_EXIT_REASON),
				vmxt_rd(EXIT_QUALIFICATION));
		return o;
	case 1:
		return vmxt_finish(true, false);
	case 2:
		return vmxt_finish(false, true);
	default:
		return vmxt_finish(false, false);
	}
}

struct vmxt_outcome vmxt_try_enter(bool resume)
{
	return vmxt_enter(resume, false);
}

struct vmxt_outcome vmxt_try_vmlaunch_after_mov_ss(void)
{
	return vmxt_enter(false, true);
}

/* ---- outcomes ------------------------------------------------------------ */

static const char *const vmxt_vector_names[32] = {
	"#DE", "#DB", "NMI", "#BP", "#OF", "#BR", "#UD", "#NM",
	"#DF", "#09", "#TS", "#NP", "#SS", "#GP", "#PF", "#15",
	"#MF", "#AC", "#MC", "#XM", "#VE", "#CP", "#22", "#23",
	"#24", "#25", "#26", "#27", "#HV", "#VC", "#SX", "#31",
};

void vmxt_outcome_format(const struct vmxt_outcome *o, char *buf, size_t n)
{
	switch (o->kind) {
	case VMXT_SUCCEED:
		snprintf(buf, n, "VMsucceed");
		break;
	case VMXT_FAIL_INVALID:
		snprintf(buf, n, "VMfailInvalid");
		break;
	case VMXT_FAIL_VALID:
		snprintf(buf, n, "VMfailValid(%u)", o->error);
		break;
	case VMXT_EXIT:
		snprintf(buf, n, "exit %u%s qual 0x%llx", o->reason & 0xffff,
			 (o->reason & VMX_EXIT_REASONS_FAILED_VMENTRY)
				 ? " (entry failure)"
				 : "",
			 (unsigned long long)o->qual);
		break;
	case VMXT_FAULT:
		if (o->vector < 32 &&
		    ((X86_EXCEPTION_ERROR_CODE_MASK >> o->vector) & 1))
			snprintf(buf, n, "%s(0x%x)",
				 vmxt_vector_names[o->vector], o->fault_error);
		else
			snprintf(buf, n, "%s",
				 vmxt_vector_names[o->vector & 31]);
		break;
	}
}

static bool vmxt_outcome_equal(const struct vmxt_outcome *a,
			       const struct vmxt_outcome *b)
{
	char x[64], y[64];

	vmxt_outcome_format(a, x, sizeof(x));
	vmxt_outcome_format(b, y, sizeof(y));
	return !strcmp(x, y);
}

void vmxt_check_outcome(const char *name, const struct vmxt_outcome *got,
			const struct vmxt_outcome *want)
{
	char g[64], w[64];

	vmxt_outcome_format(got, g, sizeof(g));
	vmxt_outcome_format(want, w, sizeof(w));
	vmxt_check_str(name, vmxt_outcome_equal(got, want), g, w);
}

/* ---- processor state ----------------------------------------------------- */

static uint64_t vmxt_rdmsr(uint32_t msr)
{
	uint32_t lo, hi;

	__asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
	return ((uint64_t)hi << 32) | lo;
}

static void vmxt_wrmsr(uint32_t msr, uint64_t v)
{
	__asm__ volatile("wrmsr"
			 :
			 : "c"(msr), "a"((uint32_t)v), "d"((uint32_t)(v >> 32))
			 : "memory");
}

static uint64_t vmxt_read_cr0(void)
{
	uint64_t v;

	__asm__ volatile("mov %%cr0, %0" : "=r"(v));
	return v;
}

static uint64_t vmxt_read_cr4(void)
{
	uint64_t v;

	__asm__ volatile("mov %%cr4, %0" : "=r"(v));
	return v;
}

static void vmxt_write_cr0(uint64_t v)
{
	__asm__ volatile("mov %0, %%cr0" : : "r"(v) : "memory");
}

static void vmxt_write_cr4(uint64_t v)
{
	__asm__ volatile("mov %0, %%cr4" : : "r"(v) : "memory");
}

static struct x86_desc_ptr vmxt_sgdt(void)
{
	struct x86_desc_ptr d;

	__asm__ volatile("sgdt %0" : "=m"(d));
	return d;
}

static struct x86_desc_ptr vmxt_sidt(void)
{
	struct x86_desc_ptr d;

	__asm__ volatile("sidt %0" : "=m"(d));
	return d;
}

/* ---- capabilities and VMXON ---------------------------------------------- */

struct vmxt_caps vmxt_caps;

uint8_t vmxt_vmxon_region[VMXT_PAGE] __attribute__((aligned(VMXT_PAGE)));
uint8_t vmxt_vmcs_region[VMXT_PAGE] __attribute__((aligned(VMXT_PAGE)));
uint8_t vmxt_vmcs2_region[VMXT_PAGE] __attribute__((aligned(VMXT_PAGE)));
uint8_t vmxt_io_bitmap_a[VMXT_PAGE] __attribute__((aligned(VMXT_PAGE)));
uint8_t vmxt_io_bitmap_b[VMXT_PAGE] __attribute__((aligned(VMXT_PAGE)));
uint8_t vmxt_msr_bitmap[VMXT_PAGE] __attribute__((aligned(VMXT_PAGE)));
uint8_t vmxt_scratch[4][VMXT_PAGE] __attribute__((aligned(VMXT_PAGE)));
uint8_t vmxt_guest_data[VMXT_PAGE] __attribute__((aligned(VMXT_PAGE)));

uint64_t vmxt_bad_pa(void)
{
	return 1ull << vmxt_caps.maxphyaddr;
}

bool vmxt_need(const char *name, uint32_t may1, uint32_t bits, const char *what)
{
	if ((may1 & bits) == bits)
		return true;
	vmxt_skip(name, what);
	return false;
}

static void vmxt_read_ctl(uint32_t msr, uint32_t *must1, uint32_t *may1)
{
	uint64_t v = vmxt_rdmsr(msr);

	*must1 = (uint32_t)v;
	*may1 = (uint32_t)(v >> 32);
}

void vmxt_region_init(void *region)
{
	uint32_t rev = (uint32_t)(vmxt_caps.basic & VMX_BASIC_REVISION_MASK);

	memset(region, 0, VMXT_PAGE);
	memcpy(region, &rev, sizeof(rev));
}

void vmxt_vmx_prepare(void)
{
	struct vmxt_caps *c = &vmxt_caps;
	uint32_t dummy;
	uint64_t fc;

	if (!(cpuid(1, 0).ecx & (1u << 5)))
		vmxt_die("no VMX (CPUID.1:ECX[5] is 0)");
	c->basic = vmxt_rdmsr(MSR_IA32_VMX_BASIC);
	if (!(c->basic & VMX_BASIC_TRUE_CTLS))
		vmxt_die("no TRUE_*_CTLS MSRs (IA32_VMX_BASIC[55] is 0)");
	c->misc = vmxt_rdmsr(MSR_IA32_VMX_MISC);
	c->cr0_fixed0 = vmxt_rdmsr(MSR_IA32_VMX_CR0_FIXED0);
	c->cr0_fixed1 = vmxt_rdmsr(MSR_IA32_VMX_CR0_FIXED1);
	c->cr4_fixed0 = vmxt_rdmsr(MSR_IA32_VMX_CR4_FIXED0);
	c->cr4_fixed1 = vmxt_rdmsr(MSR_IA32_VMX_CR4_FIXED1);
	vmxt_read_ctl(MSR_IA32_VMX_TRUE_PINBASED_CTLS, &c->pin_must1,
		      &c->pin_may1);
	vmxt_read_ctl(MSR_IA32_VMX_TRUE_PROCBASED_CTLS, &c->proc_must1,
		      &c->proc_may1);
	vmxt_read_ctl(MSR_IA32_VMX_PROCBASED_CTLS2, &dummy, &c->proc2_may1);
	vmxt_read_ctl(MSR_IA32_VMX_TRUE_EXIT_CTLS, &c->exit_must1,
		      &c->exit_may1);
	vmxt_read_ctl(MSR_IA32_VMX_TRUE_ENTRY_CTLS, &c->entry_must1,
		      &c->entry_may1);
	c->ept_vpid = vmxt_rdmsr(MSR_IA32_VMX_EPT_VPID_CAP);
	c->maxphyaddr = cpuid(0x80000008, 0).eax & 0xff;

	/* VMXON #GPs unless IA32_FEATURE_CONTROL is locked with VMX outside
	 * SMX (SDM 24.7): lock it as firmware would. */
	fc = vmxt_rdmsr(MSR_IA32_FEAT_CTL);
	if (!(fc & FEAT_CTL_LOCKED))
		vmxt_wrmsr(MSR_IA32_FEAT_CTL,
			   fc | FEAT_CTL_LOCKED |
				   FEAT_CTL_VMX_ENABLED_OUTSIDE_SMX);
	fc = vmxt_rdmsr(MSR_IA32_FEAT_CTL);
	if (!(fc & FEAT_CTL_VMX_ENABLED_OUTSIDE_SMX))
		vmxt_die("IA32_FEATURE_CONTROL is 0x%llx",
			 (unsigned long long)fc);

	/* CR0 and CR4 as VMX operation requires them (SDM 24.8). */
	vmxt_write_cr0((vmxt_read_cr0() | c->cr0_fixed0) & c->cr0_fixed1);
	vmxt_write_cr4((vmxt_read_cr4() | c->cr4_fixed0 | X86_CR4_VMXE) &
		       c->cr4_fixed1);
	vmxt_region_init(vmxt_vmxon_region);
	vmxt_region_init(vmxt_vmcs_region);
	vmxt_region_init(vmxt_vmcs2_region);
}

void vmxt_vmx_on(void)
{
	struct vmxt_outcome o;

	vmxt_vmx_prepare();
	o = vmxt_try_vmxon(vmxt_pa(vmxt_vmxon_region));
	if (o.kind != VMXT_SUCCEED)
		vmxt_die("VMXON failed");
}

/* ---- the VMCS ------------------------------------------------------------ */

static bool vmxt_launched;

void vmxt_wr(uint32_t field, uint64_t val)
{
	if (vmx_vmwrite(field, val) != VMX_SUCCEED)
		vmxt_die("VMWRITE of field 0x%x failed", field);
}

uint64_t vmxt_rd(uint32_t field)
{
	uint64_t v;

	if (vmx_vmread(field, &v) != VMX_SUCCEED)
		vmxt_die("VMREAD of field 0x%x failed", field);
	return v;
}

void vmxt_set_bits(uint32_t field, uint64_t bits)
{
	vmxt_wr(field, vmxt_rd(field) | bits);
}

void vmxt_clear_bits(uint32_t field, uint64_t bits)
{
	vmxt_wr(field, vmxt_rd(field) & ~bits);
}

void vmxt_mark_clear(void)
{
	vmxt_launched = false;
}

void vmxt_vmcs_load(void)
{
	if (vmx_vmclear(vmxt_pa(vmxt_vmcs_region)) != VMX_SUCCEED ||
	    vmx_vmptrld(vmxt_pa(vmxt_vmcs_region)) != VMX_SUCCEED)
		vmxt_die("VMCLEAR/VMPTRLD of the VMCS failed");
	vmxt_launched = false;
	vmxt_vmcs_baseline();
}

struct vmxt_outcome vmxt_run(void)
{
	struct vmxt_outcome o = vmxt_try_enter(vmxt_launched);

	if (o.kind == VMXT_EXIT &&
	    !(o.reason & VMX_EXIT_REASONS_FAILED_VMENTRY))
		vmxt_launched = true;
	return o;
}

/* The guest's stack and IDT. */
#define VMXT_GUEST_STACK 16384
static uint8_t vmxt_guest_stack[VMXT_GUEST_STACK] __attribute__((aligned(16)));
static struct x86_idt_gate64 vmxt_guest_idt[256] __attribute__((aligned(16)));
volatile struct vmxt_guest_exc vmxt_guest_exc;
extern const char vmxt_guest_stubs[];

#define VMXT_SOFT_INT_VECTOR 0x30

static uint64_t vmxt_stub_for(unsigned int vector)
{
	unsigned int slot = vector < 32 ? vector : 32;

	return vmxt_pa(vmxt_guest_stubs) + slot * 16ull;
}

void vmxt_guest_idt_gate_present(unsigned int vector, bool present)
{
	if (present)
		x86_idt_build_gate64(&vmxt_guest_idt[vector],
				     vmxt_stub_for(vector), BOOT_SEL_CODE64, 0,
				     SEG_TYPE_INT_GATE64, 0);
	else
		vmxt_guest_idt[vector].type_attr &= (uint8_t)~IDT_GATE_P;
}

void vmxt_guest_exc_reset(void)
{
	vmxt_guest_exc.vector = ~0ull;
	vmxt_guest_exc.error_code = ~0ull;
	vmxt_guest_exc.rip = 0;
}

static void vmxt_guest_idt_build(void)
{
	memset(vmxt_guest_idt, 0, sizeof(vmxt_guest_idt));
	for (unsigned int v = 0; v < 32; v++)
		vmxt_guest_idt_gate_present(v, true);
	vmxt_guest_idt_gate_present(VMXT_SOFT_INT_VECTOR, true);
}

void vmxt_guest_at(const void *rip)
{
	vmxt_wr(GUEST_RIP, vmxt_pa(rip));
	vmxt_wr(GUEST_RSP, vmxt_pa(vmxt_guest_stack + VMXT_GUEST_STACK));
	vmxt_wr(GUEST_RFLAGS, X86_EFLAGS_FIXED);
	vmxt_guest_exc_reset();
}

struct vmxt_seg_fields {
	enum x86_sreg sreg;
	uint32_t sel, base, limit, ar;
};

static const struct vmxt_seg_fields vmxt_guest_segs[] = {
	{ VCPU_SREG_ES, GUEST_ES_SELECTOR, GUEST_ES_BASE, GUEST_ES_LIMIT,
	  GUEST_ES_AR_BYTES },
	{ VCPU_SREG_CS, GUEST_CS_SELECTOR, GUEST_CS_BASE, GUEST_CS_LIMIT,
	  GUEST_CS_AR_BYTES },
	{ VCPU_SREG_SS, GUEST_SS_SELECTOR, GUEST_SS_BASE, GUEST_SS_LIMIT,
	  GUEST_SS_AR_BYTES },
	{ VCPU_SREG_DS, GUEST_DS_SELECTOR, GUEST_DS_BASE, GUEST_DS_LIMIT,
	  GUEST_DS_AR_BYTES },
	{ VCPU_SREG_FS, GUEST_FS_SELECTOR, GUEST_FS_BASE, GUEST_FS_LIMIT,
	  GUEST_FS_AR_BYTES },
	{ VCPU_SREG_GS, GUEST_GS_SELECTOR, GUEST_GS_BASE, GUEST_GS_LIMIT,
	  GUEST_GS_AR_BYTES },
	{ VCPU_SREG_LDTR, GUEST_LDTR_SELECTOR, GUEST_LDTR_BASE,
	  GUEST_LDTR_LIMIT, GUEST_LDTR_AR_BYTES },
	{ VCPU_SREG_TR, GUEST_TR_SELECTOR, GUEST_TR_BASE, GUEST_TR_LIMIT,
	  GUEST_TR_AR_BYTES },
};

static void vmxt_write_controls(void)
{
	const struct vmxt_caps *c = &vmxt_caps;
	uint32_t proc = CPU_BASED_USE_MSR_BITMAPS |
			CPU_BASED_ACTIVATE_SECONDARY_CONTROLS;
	uint32_t exit = VM_EXIT_HOST_ADDR_SPACE_SIZE | VM_EXIT_SAVE_IA32_EFER |
			VM_EXIT_LOAD_IA32_EFER;
	uint32_t entry = VM_ENTRY_IA32E_MODE | VM_ENTRY_LOAD_IA32_EFER;

	if ((proc & ~c->proc_may1) || (exit & ~c->exit_may1) ||
	    (entry & ~c->entry_may1))
		vmxt_die("the processor lacks the baseline controls");
	memset(vmxt_io_bitmap_a, 0, VMXT_PAGE);
	memset(vmxt_io_bitmap_b, 0, VMXT_PAGE);
	memset(vmxt_msr_bitmap, 0, VMXT_PAGE);

	vmxt_wr(PIN_BASED_VM_EXEC_CONTROL, c->pin_must1);
	vmxt_wr(CPU_BASED_VM_EXEC_CONTROL, c->proc_must1 | proc);
	vmxt_wr(SECONDARY_VM_EXEC_CONTROL, 0);
	vmxt_wr(VM_EXIT_CONTROLS, c->exit_must1 | exit);
	vmxt_wr(VM_ENTRY_CONTROLS, c->entry_must1 | entry);
	/* Every exception exits, so that a guest that goes wrong says so. */
	vmxt_wr(EXCEPTION_BITMAP, 0xffffffff);
	vmxt_wr(PAGE_FAULT_ERROR_CODE_MASK, 0);
	vmxt_wr(PAGE_FAULT_ERROR_CODE_MATCH, 0);
	vmxt_wr(IO_BITMAP_A, vmxt_pa(vmxt_io_bitmap_a));
	vmxt_wr(IO_BITMAP_B, vmxt_pa(vmxt_io_bitmap_b));
	vmxt_wr(MSR_BITMAP, vmxt_pa(vmxt_msr_bitmap));
	vmxt_wr(TSC_OFFSET, 0);
	vmxt_wr(CR0_GUEST_HOST_MASK, 0);
	vmxt_wr(CR4_GUEST_HOST_MASK, 0);
	vmxt_wr(CR0_READ_SHADOW, vmxt_read_cr0());
	vmxt_wr(CR4_READ_SHADOW, vmxt_read_cr4());
	vmxt_wr(CR3_TARGET_COUNT, 0);
	vmxt_wr(CR3_TARGET_VALUE0, 0);
	vmxt_wr(CR3_TARGET_VALUE1, 0);
	vmxt_wr(CR3_TARGET_VALUE2, 0);
	vmxt_wr(CR3_TARGET_VALUE3, 0);
	vmxt_wr(VM_EXIT_MSR_STORE_COUNT, 0);
	vmxt_wr(VM_EXIT_MSR_STORE_ADDR, 0);
	vmxt_wr(VM_EXIT_MSR_LOAD_COUNT, 0);
	vmxt_wr(VM_EXIT_MSR_LOAD_ADDR, 0);
	vmxt_wr(VM_ENTRY_MSR_LOAD_COUNT, 0);
	vmxt_wr(VM_ENTRY_MSR_LOAD_ADDR, 0);
	vmxt_wr(VM_ENTRY_INTR_INFO_FIELD, 0);
	vmxt_wr(VM_ENTRY_EXCEPTION_ERROR_CODE, 0);
	vmxt_wr(VM_ENTRY_INSTRUCTION_LEN, 0);
	vmxt_wr(VIRTUAL_PROCESSOR_ID, 0);
	vmxt_wr(EPT_POINTER, 0);
}

static void vmxt_write_host_state(void)
{
	struct x86_desc_ptr gdt = vmxt_sgdt(), idt = vmxt_sidt();
	const uint64_t *desc =
		(const uint64_t *)(uintptr_t)(gdt.base + BOOT_SEL_TSS);
	struct kvm_segment tr;
	uint64_t cr3;

	__asm__ volatile("mov %%cr3, %0" : "=r"(cr3));
	x86_seg_decode_sys_desc(&tr, desc[0], desc[1], BOOT_SEL_TSS);
	vmxt_wr(HOST_CR0, vmxt_read_cr0());
	vmxt_wr(HOST_CR3, cr3);
	vmxt_wr(HOST_CR4, vmxt_read_cr4());
	vmxt_wr(HOST_CS_SELECTOR, BOOT_SEL_CODE64);
	vmxt_wr(HOST_SS_SELECTOR, BOOT_SEL_DATA);
	vmxt_wr(HOST_DS_SELECTOR, BOOT_SEL_DATA);
	vmxt_wr(HOST_ES_SELECTOR, BOOT_SEL_DATA);
	vmxt_wr(HOST_FS_SELECTOR, BOOT_SEL_DATA);
	vmxt_wr(HOST_GS_SELECTOR, BOOT_SEL_DATA);
	vmxt_wr(HOST_TR_SELECTOR, BOOT_SEL_TSS);
	vmxt_wr(HOST_FS_BASE, vmxt_rdmsr(MSR_FS_BASE));
	vmxt_wr(HOST_GS_BASE, vmxt_rdmsr(MSR_GS_BASE));
	vmxt_wr(HOST_TR_BASE, tr.base);
	vmxt_wr(HOST_GDTR_BASE, gdt.base);
	vmxt_wr(HOST_IDTR_BASE, idt.base);
	vmxt_wr(HOST_IA32_SYSENTER_CS, vmxt_rdmsr(MSR_IA32_SYSENTER_CS));
	vmxt_wr(HOST_IA32_SYSENTER_ESP, vmxt_rdmsr(MSR_IA32_SYSENTER_ESP));
	vmxt_wr(HOST_IA32_SYSENTER_EIP, vmxt_rdmsr(MSR_IA32_SYSENTER_EIP));
	vmxt_wr(HOST_IA32_EFER, vmxt_rdmsr(MSR_EFER));
	vmxt_wr(HOST_IA32_PAT, vmxt_rdmsr(MSR_IA32_CR_PAT));
	vmxt_wr(HOST_RSP, 0); /* set by vmxt_enter_asm() at each entry */
	vmxt_wr(HOST_RIP, vmxt_pa((const void *)vmxt_host_rip));
}

static void vmxt_write_guest_state(void)
{
	struct x86_desc_ptr gdt = vmxt_sgdt();
	uint64_t cr3;

	__asm__ volatile("mov %%cr3, %0" : "=r"(cr3));
	for (size_t i = 0; i < ARRAY_SIZE(vmxt_guest_segs); i++) {
		const struct vmxt_seg_fields *f = &vmxt_guest_segs[i];
		struct kvm_segment s = boot_layout_segment(f->sreg);

		vmxt_wr(f->sel, s.selector);
		vmxt_wr(f->base, s.base);
		vmxt_wr(f->limit, s.limit);
		vmxt_wr(f->ar, x86_seg_to_vmx_ar(&s));
	}
	vmxt_wr(GUEST_GDTR_BASE, gdt.base);
	vmxt_wr(GUEST_GDTR_LIMIT, gdt.limit);
	vmxt_wr(GUEST_IDTR_BASE, vmxt_pa(vmxt_guest_idt));
	vmxt_wr(GUEST_IDTR_LIMIT, sizeof(vmxt_guest_idt) - 1);
	vmxt_wr(GUEST_CR0, vmxt_read_cr0());
	vmxt_wr(GUEST_CR3, cr3);
	vmxt_wr(GUEST_CR4, vmxt_read_cr4());
	vmxt_wr(GUEST_DR7, DR7_FIXED_1);
	vmxt_wr(GUEST_IA32_DEBUGCTL, 0);
	vmxt_wr(GUEST_IA32_EFER, vmxt_rdmsr(MSR_EFER));
	vmxt_wr(GUEST_IA32_PAT, vmxt_rdmsr(MSR_IA32_CR_PAT));
	vmxt_wr(GUEST_SYSENTER_CS, 0);
	vmxt_wr(GUEST_SYSENTER_ESP, 0);
	vmxt_wr(GUEST_SYSENTER_EIP, 0);
	vmxt_wr(GUEST_ACTIVITY_STATE, GUEST_ACTIVITY_ACTIVE);
	vmxt_wr(GUEST_INTERRUPTIBILITY_INFO, 0);
	vmxt_wr(GUEST_PENDING_DBG_EXCEPTIONS, 0);
	/* No shadow VMCS: the link pointer is all ones (SDM 27.3.1.5). */
	vmxt_wr(VMCS_LINK_POINTER, ~0ull);
	vmxt_guest_at(vmxt_guest_vmcall);
}

void vmxt_vmcs_baseline(void)
{
	vmxt_guest_idt_build();
	vmxt_write_controls();
	vmxt_write_host_state();
	vmxt_write_guest_state();
}

/* ---- reading a VM exit --------------------------------------------------- */

/* Drops the index and base fields when their invalid bits are set. */
static uint32_t vmxt_info_defined(uint32_t info, uint32_t mask)
{
	if ((mask & VMX_INSN_INFO_INDEX_INVALID) &&
	    (info & VMX_INSN_INFO_INDEX_INVALID))
		mask &= ~(0xfu << VMX_INSN_INFO_INDEX_SHIFT) &
			~VMX_INSN_INFO_SCALING_MASK;
	if ((mask & VMX_INSN_INFO_BASE_INVALID) &&
	    (info & VMX_INSN_INFO_BASE_INVALID))
		mask &= ~(0xfu << VMX_INSN_INFO_BASE_SHIFT);
	return info & mask;
}

static void vmxt_exit_read(struct vmxt_exit *e, unsigned int what,
			   const void *base, uint32_t info_mask)
{
	memset(e, 0, sizeof(*e));
	e->reason = (uint32_t)vmxt_rd(VM_EXIT_REASON);
	if (what & VMXT_X_RIP)
		e->rip = (int64_t)(vmxt_rd(GUEST_RIP) - vmxt_pa(base));
	if (what & VMXT_X_LEN)
		e->len = (uint32_t)vmxt_rd(VM_EXIT_INSTRUCTION_LEN);
	if (what & VMXT_X_QUAL)
		e->qual = vmxt_rd(EXIT_QUALIFICATION);
	if (what & VMXT_X_INFO)
		e->info = vmxt_info_defined(
			(uint32_t)vmxt_rd(VMX_INSTRUCTION_INFO), info_mask);
	if (what & VMXT_X_INTR) {
		e->intr_info = (uint32_t)vmxt_rd(VM_EXIT_INTR_INFO);
		if (e->intr_info & INTR_INFO_DELIVER_CODE_MASK)
			e->intr_error =
				(uint32_t)vmxt_rd(VM_EXIT_INTR_ERROR_CODE);
	}
	if (what & VMXT_X_GPA)
		e->gpa = vmxt_rd(GUEST_PHYSICAL_ADDRESS);
	if (what & VMXT_X_GLA)
		e->gla = vmxt_rd(GUEST_LINEAR_ADDRESS);
	if (what & VMXT_X_VECT) {
		e->vect_info = (uint32_t)vmxt_rd(IDT_VECTORING_INFO_FIELD);
		if (e->vect_info & INTR_INFO_DELIVER_CODE_MASK)
			e->vect_error =
				(uint32_t)vmxt_rd(IDT_VECTORING_ERROR_CODE);
	}
}

static void vmxt_exit_format(const struct vmxt_exit *e, unsigned int what,
			     char *buf, size_t n)
{
	size_t k = 0;

#define VMXT_PUT(...)                                                       \
	do {                                                                \
		if (k < n)                                                  \
			k += (size_t)snprintf(buf + k, n - k, __VA_ARGS__); \
	} while (0)

	VMXT_PUT("exit %u%s", e->reason & 0xffff,
		 (e->reason & VMX_EXIT_REASONS_FAILED_VMENTRY)
			 ? " (entry failure)"
			 : "");
	if (what & VMXT_X_RIP)
		VMXT_PUT(" rip%+lld", (long long)e->rip);
	if (what & VMXT_X_LEN)
		VMXT_PUT(" len %u", e->len);
	if (what & VMXT_X_QUAL)
		VMXT_PUT(" qual 0x%llx", (unsigned long long)e->qual);
	if (what & VMXT_X_INFO)
		VMXT_PUT(" info 0x%x", e->info);
	if (what & VMXT_X_INTR) {
		VMXT_PUT(" intr 0x%x", e->intr_info);
		if (e->intr_info & INTR_INFO_DELIVER_CODE_MASK)
			VMXT_PUT(" ec 0x%x", e->intr_error);
	}
	if (what & VMXT_X_GPA)
		VMXT_PUT(" gpa 0x%llx", (unsigned long long)e->gpa);
	if (what & VMXT_X_GLA)
		VMXT_PUT(" gla 0x%llx", (unsigned long long)e->gla);
	if (what & VMXT_X_VECT) {
		VMXT_PUT(" vect 0x%x", e->vect_info);
		if (e->vect_info & INTR_INFO_DELIVER_CODE_MASK)
			VMXT_PUT(" ec 0x%x", e->vect_error);
	}
#undef VMXT_PUT
}

void vmxt_expect_exit(const char *name, const void *base, unsigned int what,
		      uint32_t info_mask, const struct vmxt_exit *want)
{
	struct vmxt_outcome o = vmxt_run();
	struct vmxt_exit got;
	char g[192], w[192];

	vmxt_exit_format(want, what, w, sizeof(w));
	if (o.kind != VMXT_EXIT) {
		vmxt_outcome_format(&o, g, sizeof(g));
		vmxt_check_str(name, false, g, w);
		return;
	}
	vmxt_exit_read(&got, what, base, info_mask);
	vmxt_exit_format(&got, what, g, sizeof(g));
	vmxt_check_str(name, !strcmp(g, w), g, w);
}

/* ---- EPT ----------------------------------------------------------------- */

#define VMXT_EPT_SPLITS 4

static uint64_t vmxt_ept_pml4[512] __attribute__((aligned(VMXT_PAGE)));
static uint64_t vmxt_ept_pdpt[512] __attribute__((aligned(VMXT_PAGE)));
static uint64_t vmxt_ept_pd[512] __attribute__((aligned(VMXT_PAGE)));
static uint64_t vmxt_ept_pt[VMXT_EPT_SPLITS][512]
	__attribute__((aligned(VMXT_PAGE)));
static uint64_t vmxt_ept_split_base[VMXT_EPT_SPLITS];
static unsigned int vmxt_ept_nr_splits;

#define VMXT_EPT_LEAF (EPT_RWX | EPT_MT(EPT_MT_WB))

uint64_t vmxt_eptp(void)
{
	return vmxt_pa(vmxt_ept_pml4) | VMX_EPTP_MT_WB | VMX_EPTP_PWL_4;
}

void vmxt_ept_build(void)
{
	memset(vmxt_ept_pml4, 0, sizeof(vmxt_ept_pml4));
	memset(vmxt_ept_pdpt, 0, sizeof(vmxt_ept_pdpt));
	vmxt_ept_pml4[0] = vmxt_pa(vmxt_ept_pdpt) | EPT_RWX;
	vmxt_ept_pdpt[0] = vmxt_pa(vmxt_ept_pd) | EPT_RWX;
	for (uint64_t i = 0; i < 512; i++)
		vmxt_ept_pd[i] = (i << 21) | EPT_LARGE | VMXT_EPT_LEAF;
	vmxt_ept_nr_splits = 0;
}

static void vmxt_invept_all(void)
{
	if (vmx_invept(VMX_EPT_EXTENT_GLOBAL, 0) != VMX_SUCCEED)
		vmxt_die("INVEPT (all contexts) failed");
}

void vmxt_ept_enable(void)
{
	vmxt_set_bits(SECONDARY_VM_EXEC_CONTROL, SECONDARY_EXEC_ENABLE_EPT);
	vmxt_wr(EPT_POINTER, vmxt_eptp());
	vmxt_invept_all();
}

static uint64_t *vmxt_ept_leaf(uint64_t gpa)
{
	uint64_t base = gpa & ~(MiB(2) - 1);
	unsigned int k;

	if (gpa >= GiB(1))
		vmxt_die("EPT test page 0x%llx beyond 1 GiB",
			 (unsigned long long)gpa);
	for (k = 0; k < vmxt_ept_nr_splits; k++)
		if (vmxt_ept_split_base[k] == base)
			break;
	if (k == vmxt_ept_nr_splits) {
		if (k == VMXT_EPT_SPLITS)
			vmxt_die("too many split EPT regions");
		vmxt_ept_nr_splits++;
		vmxt_ept_split_base[k] = base;
		for (uint64_t i = 0; i < 512; i++)
			vmxt_ept_pt[k][i] = (base + (i << 12)) | VMXT_EPT_LEAF;
		vmxt_ept_pd[base >> 21] = vmxt_pa(vmxt_ept_pt[k]) | EPT_RWX;
	}
	return &vmxt_ept_pt[k][(gpa >> 12) & 511];
}

void vmxt_ept_page(uint64_t gpa, uint64_t flags)
{
	*vmxt_ept_leaf(gpa) = (gpa & ~0xfffull) | flags;
	vmxt_invept_all();
}

void vmxt_ept_reset(void)
{
	for (unsigned int k = 0; k < vmxt_ept_nr_splits; k++)
		for (uint64_t i = 0; i < 512; i++)
			vmxt_ept_pt[k][i] =
				(vmxt_ept_split_base[k] + (i << 12)) |
				VMXT_EPT_LEAF;
	vmxt_invept_all();
}
