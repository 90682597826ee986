/* SPDX-License-Identifier: MIT */
/*
 * crash.c - fatal-signal report for nestvm: signal name, host backtrace
 * through libunwind's local unwinder, the registered vCPU's registers
 * (uapi struct kvm_regs / kvm_sregs), then death by the same signal so
 * that the exit status and core dumps stay what the user expects.
 * Monitor side. Output is formatted by hand into a stack buffer and written
 * with write(2): printf and malloc may be what crashed.
 */
#define UNW_LOCAL_ONLY
#include "l0/crash.h"

#include <errno.h>
#include <libunwind.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include "vtx/vtx.h"

#define CRASH_ALTSTACK_SIZE (256 * 1024)
#define CRASH_MAX_FRAMES 64

static const struct vtx_cpu *volatile crash_cpu;
static uint8_t crash_altstack[CRASH_ALTSTACK_SIZE] __attribute__((aligned(16)));

static const int crash_signals[] = { SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT };

/* A line being built; flushed to stderr at every newline. */
struct out {
	char buf[256];
	size_t len;
};

static void out_flush(struct out *o)
{
	size_t done = 0;

	while (done < o->len) {
		ssize_t n = write(STDERR_FILENO, o->buf + done, o->len - done);

		if (n <= 0)
			break;
		done += (size_t)n;
	}
	o->len = 0;
}

static void out_str(struct out *o, const char *s)
{
	for (; *s; s++) {
		if (o->len == sizeof(o->buf))
			out_flush(o);
		o->buf[o->len++] = *s;
		if (*s == '\n')
			out_flush(o);
	}
}

/* v in hex with at least width digits (no "0x"). */
static void out_hex(struct out *o, uint64_t v, int width)
{
	char tmp[17];
	int n = 0;

	do {
		tmp[n++] = "0123456789abcdef"[v & 0xf];
		v >>= 4;
	} while (v || n < width);
	while (n) {
		char c[2] = { tmp[--n], 0 };

		out_str(o, c);
	}
}

static void out_dec(struct out *o, uint64_t v)
{
	char tmp[21];
	int n = 0;

	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	while (n) {
		char c[2] = { tmp[--n], 0 };

		out_str(o, c);
	}
}

static const char *signal_name(int sig)
{
	switch (sig) {
	case SIGSEGV:
		return "SIGSEGV (segmentation fault)";
	case SIGBUS:
		return "SIGBUS (bus error)";
	case SIGILL:
		return "SIGILL (illegal instruction)";
	case SIGFPE:
		return "SIGFPE (arithmetic exception)";
	case SIGABRT:
		return "SIGABRT (aborted)";
	default:
		return "fatal signal";
	}
}

static void report_backtrace(struct out *o)
{
	unw_context_t ctx;
	unw_cursor_t cur;
	int frame = 0;

	out_str(o, "host backtrace:\n");
	if (unw_getcontext(&ctx) || unw_init_local(&cur, &ctx)) {
		out_str(o, "  (unavailable)\n");
		return;
	}
	do {
		char name[128];
		unw_word_t pc = 0, off = 0;

		if (unw_get_reg(&cur, UNW_REG_IP, &pc) || !pc)
			break;
		out_str(o, "  #");
		out_dec(o, (uint64_t)frame);
		out_str(o, frame < 10 ? "  pc 0x" : " pc 0x");
		out_hex(o, pc, 16);
		if (!unw_get_proc_name(&cur, name, sizeof(name), &off)) {
			out_str(o, " ");
			out_str(o, name);
			out_str(o, "+0x");
			out_hex(o, off, 1);
		} else {
			out_str(o, " ?");
		}
		out_str(o, "\n");
	} while (++frame < CRASH_MAX_FRAMES && unw_step(&cur) > 0);
}

static void out_reg(struct out *o, const char *name, uint64_t v)
{
	out_str(o, name);
	out_str(o, "=");
	out_hex(o, v, 16);
}

static void out_seg(struct out *o, const char *name,
		    const struct kvm_segment *s)
{
	out_str(o, "  ");
	out_str(o, name);
	out_str(o, "=");
	out_hex(o, s->selector, 4);
	out_str(o, " base=");
	out_hex(o, s->base, 16);
	out_str(o, " limit=");
	out_hex(o, s->limit, 8);
	out_str(o, " type=");
	out_hex(o, s->type, 1);
	out_str(o, " s=");
	out_dec(o, s->s);
	out_str(o, " dpl=");
	out_dec(o, s->dpl);
	out_str(o, " p=");
	out_dec(o, s->present);
	out_str(o, " db=");
	out_dec(o, s->db);
	out_str(o, " l=");
	out_dec(o, s->l);
	out_str(o, " g=");
	out_dec(o, s->g);
	out_str(o, s->unusable ? " unusable\n" : "\n");
}

static void report_cpu(struct out *o)
{
	const struct vtx_cpu *cpu = crash_cpu;
	struct kvm_sregs s;
	struct kvm_regs r;

	out_str(o, "guest CPU state:\n");
	if (!cpu) {
		out_str(o, "  (no vCPU yet)\n");
		return;
	}
	if (vtx_cpu_get_regs(cpu, &r) || vtx_cpu_get_sregs(cpu, &s)) {
		out_str(o, "  (unreadable)\n");
		return;
	}
	out_reg(o, "  RAX", r.rax);
	out_reg(o, " RBX", r.rbx);
	out_reg(o, " RCX", r.rcx);
	out_reg(o, " RDX", r.rdx);
	out_reg(o, "\n  RSI", r.rsi);
	out_reg(o, " RDI", r.rdi);
	out_reg(o, " RBP", r.rbp);
	out_reg(o, " RSP", r.rsp);
	out_reg(o, "\n  R8 ", r.r8);
	out_reg(o, " R9 ", r.r9);
	out_reg(o, " R10", r.r10);
	out_reg(o, " R11", r.r11);
	out_reg(o, "\n  R12", r.r12);
	out_reg(o, " R13", r.r13);
	out_reg(o, " R14", r.r14);
	out_reg(o, " R15", r.r15);
	out_reg(o, "\n  RIP", r.rip);
	out_reg(o, " RFLAGS", r.rflags);
	out_reg(o, "\n  CR0", s.cr0);
	out_reg(o, " CR2", s.cr2);
	out_reg(o, " CR3", s.cr3);
	out_reg(o, " CR4", s.cr4);
	out_reg(o, "\n  EFER", s.efer);
	out_str(o, "\n");
	out_seg(o, "CS ", &s.cs);
	out_seg(o, "DS ", &s.ds);
	out_seg(o, "ES ", &s.es);
	out_seg(o, "FS ", &s.fs);
	out_seg(o, "GS ", &s.gs);
	out_seg(o, "SS ", &s.ss);
	out_seg(o, "TR ", &s.tr);
	out_seg(o, "LDT", &s.ldt);
	out_reg(o, "  GDT base", s.gdt.base);
	out_str(o, " limit=");
	out_hex(o, s.gdt.limit, 4);
	out_reg(o, "\n  IDT base", s.idt.base);
	out_str(o, " limit=");
	out_hex(o, s.idt.limit, 4);
	out_str(o, "\n");
}

static void crash_handler(int sig, siginfo_t *si, void *uctx)
{
	struct out o = { .len = 0 };
	struct sigaction dfl;

	(void)uctx;
	out_str(&o, "nestvm: internal error: ");
	out_str(&o, signal_name(sig));
	if (sig != SIGABRT) {
		out_str(&o, " at address 0x");
		out_hex(&o, (uint64_t)(uintptr_t)si->si_addr, 1);
	}
	out_str(&o, "\n");
	report_backtrace(&o);
	report_cpu(&o);
	out_flush(&o);

	/* Die of the same signal with its default action; it is blocked
	 * while this handler runs and is delivered on return. */
	memset(&dfl, 0, sizeof(dfl));
	dfl.sa_handler = SIG_DFL;
	sigemptyset(&dfl.sa_mask);
	sigaction(sig, &dfl, NULL);
	raise(sig);
}

int crash_install(void)
{
	stack_t ss = {
		.ss_sp = crash_altstack,
		.ss_size = sizeof(crash_altstack),
		.ss_flags = 0,
	};
	struct sigaction sa;

	if (sigaltstack(&ss, NULL))
		return -errno;
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = crash_handler;
	sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_RESETHAND;
	sigemptyset(&sa.sa_mask);
	for (size_t i = 0; i < sizeof(crash_signals) / sizeof(crash_signals[0]);
	     i++) {
		if (sigaction(crash_signals[i], &sa, NULL))
			return -errno;
	}
	return 0;
}

void crash_set_cpu(const struct vtx_cpu *cpu)
{
	crash_cpu = cpu;
}

void crash_on_purpose(void)
{
	/*
	 * Page 0 is never mapped (vm.mmap_min_addr), so this store faults.
	 * The address is read through volatile so the compiler cannot turn
	 * the store into a trap, and it is not NULL so the sanitizer build's
	 * null check does not claim the crash before the signal does.
	 */
	static volatile uintptr_t bad_address = 0x10;
	volatile int *p = (volatile int *)bad_address;

	*p = 1;
}
