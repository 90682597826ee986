/* SPDX-License-Identifier: MIT */
/*
 * diff_native.c - runs one case on the host CPU, in this process, at CPL 3:
 * a code page holds a prologue that loads every GPR and RFLAGS from
 * memory, the case's instruction, and an epilogue that stores them back;
 * a fault arrives as a signal whose context (trap number, error code,
 * CR2, registers at the fault) becomes the result. SDM Vol. 3A 6.5
 * (faults are precise), 6.15 (vectors). Host side, tests only.
 */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <ucontext.h>

#include "arch/x86_regs.h"
#include "tests/cpu/diff.h"

/*
 * The code page:
 *
 *   0x000  prologue: save the callee-saved registers and RSP, load
 *          RFLAGS and the 16 GPRs (RSP last) from the input slots
 *   ...    NOPs up to the case's instruction
 *   0x200  (DIFF_INSN_END) epilogue: store the 16 GPRs, switch back to
 *          the saved RSP, store RFLAGS, CLD, restore, RET
 *   0x400  input slots, output slots, the saved RSP
 *
 * Everything is addressed RIP-relative, so no register is needed to find
 * the slots and the instruction sees exactly the loaded state.
 */
#define SLOT_IN 0x400u
#define SLOT_IN_FLAGS (SLOT_IN + 16 * 8)
#define SLOT_OUT 0x500u
#define SLOT_OUT_FLAGS (SLOT_OUT + 16 * 8)
#define SLOT_HOST_RSP (SLOT_OUT_FLAGS + 8)

#define ALTSTACK_SIZE (64 * 1024)

struct diff_native {
	uint8_t *region;
	bool low;
	uint8_t *prologue_end;
	void *altstack;
	struct sigaction old[5];
};

/* What the signal handler saw; one native runner per process. */
static struct {
	sigjmp_buf jmp;
	volatile sig_atomic_t active;
	uint8_t *code;
	ucontext_t uc;
} fault;

static const int fault_signals[5] = { SIGSEGV, SIGBUS, SIGFPE, SIGILL,
				      SIGTRAP };

static struct diff_native *the_native;

static void on_fault(int sig, siginfo_t *si, void *ucv)
{
	ucontext_t *uc = ucv;
	uint64_t rip = (uint64_t)uc->uc_mcontext.gregs[REG_RIP];

	(void)si;
	/* Only a fault of the case's instruction is ours; anything else is
	 * a bug of the tester: let it kill the process as usual. */
	if (!fault.active || rip < (uint64_t)fault.code ||
	    rip >= (uint64_t)fault.code + 4096) {
		signal(sig, SIG_DFL);
		return;
	}
	fault.uc = *uc;
	fault.active = 0;
	siglongjmp(fault.jmp, 1);
}

/* mov [rip + slot], reg (store) or mov reg, [rip + slot] (load). */
static uint8_t *emit_mov_slot(uint8_t *p, const uint8_t *code, bool store,
			      unsigned int reg, unsigned int slot)
{
	int32_t disp = (int32_t)((code + slot) - (p + 7));

	*p++ = (uint8_t)(0x48 | (reg & 8 ? 4 : 0));
	*p++ = store ? 0x89 : 0x8b;
	*p++ = (uint8_t)(((reg & 7) << 3) | 5);
	memcpy(p, &disp, 4);
	return p + 4;
}

static uint8_t *emit_bytes(uint8_t *p, const uint8_t *b, size_t n)
{
	memcpy(p, b, n);
	return p + n;
}

static uint8_t *emit_rip_op(uint8_t *p, const uint8_t *code, const uint8_t *op,
			    size_t n, unsigned int slot)
{
	int32_t disp;

	p = emit_bytes(p, op, n);
	disp = (int32_t)((code + slot) - (p + 4));
	memcpy(p, &disp, 4);
	return p + 4;
}

static void emit_code(struct diff_native *n)
{
	static const uint8_t save[] = {
		0xf3, 0x0f, 0x1e, 0xfa, /* endbr64 */
		0x53, 0x55, /* push rbx; push rbp */
		0x41, 0x54, 0x41, 0x55, /* push r12; push r13 */
		0x41, 0x56, 0x41, 0x57, /* push r14; push r15 */
	};
	static const uint8_t mov_rsp_out[] = { 0x48, 0x89, 0x25 };
	static const uint8_t push_flags[] = { 0xff, 0x35 };
	static const uint8_t restore[] = {
		0xfc, /* cld: the ABI wants DF clear */
		0x41, 0x5f, 0x41, 0x5e, /* pop r15; pop r14 */
		0x41, 0x5d, 0x41, 0x5c, /* pop r13; pop r12 */
		0x5d, 0x5b, 0xc3, /* pop rbp; pop rbx; ret */
	};
	static const uint8_t mov_rsp_in[] = { 0x48, 0x8b, 0x25 };
	static const uint8_t pushf_pop_rax[] = { 0x9c, 0x58 };
	static const uint8_t mov_rax_out[] = { 0x48, 0x89, 0x05 };
	uint8_t *code = n->region + DIFF_CODE_OFF, *p = code;

	memset(code, 0xcc, 4096);
	p = emit_bytes(p, save, sizeof(save));
	p = emit_rip_op(p, code, mov_rsp_out, 3, SLOT_HOST_RSP);
	p = emit_rip_op(p, code, push_flags, 2, SLOT_IN_FLAGS);
	*p++ = 0x9d; /* popfq */
	for (unsigned int r = 0; r < 16; r++)
		if (r != 4)
			p = emit_mov_slot(p, code, false, r, SLOT_IN + r * 8);
	p = emit_mov_slot(p, code, false, 4, SLOT_IN + 4 * 8);
	n->prologue_end = p;

	p = code + DIFF_INSN_END;
	for (unsigned int r = 0; r < 16; r++)
		p = emit_mov_slot(p, code, true, r, SLOT_OUT + r * 8);
	p = emit_rip_op(p, code, mov_rsp_in, 3, SLOT_HOST_RSP);
	p = emit_bytes(p, pushf_pop_rax, sizeof(pushf_pop_rax));
	p = emit_rip_op(p, code, mov_rax_out, 3, SLOT_OUT_FLAGS);
	emit_bytes(p, restore, sizeof(restore));
}

int diff_native_create(struct diff_native **out)
{
	struct diff_native *n;
	struct sigaction sa;
	stack_t ss;
	int err;

	*out = NULL;
	if (the_native)
		return -EBUSY;
	n = calloc(1, sizeof(*n));
	if (!n)
		return -ENOMEM;
	/* Below 2 GiB if the kernel can: then 32-bit addresses (67h) and
	 * absolute displacements reach the sandbox too. */
	n->region = mmap(NULL, DIFF_REGION_SIZE, PROT_NONE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_32BIT, -1, 0);
	if (n->region == MAP_FAILED)
		n->region = mmap(NULL, DIFF_REGION_SIZE, PROT_NONE,
				 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (n->region == MAP_FAILED) {
		err = -errno;
		goto fail_free;
	}
	n->low = (uint64_t)n->region + DIFF_REGION_SIZE <= 0x80000000ull;
	if (mprotect(n->region + DIFF_CODE_OFF, 4096,
		     PROT_READ | PROT_WRITE | PROT_EXEC) ||
	    mprotect(n->region + DIFF_SANDBOX_OFF, DIFF_SANDBOX_SIZE,
		     PROT_READ | PROT_WRITE)) {
		err = -errno;
		goto fail_unmap;
	}
	n->altstack = malloc(ALTSTACK_SIZE);
	if (!n->altstack) {
		err = -ENOMEM;
		goto fail_unmap;
	}
	/* The case's RSP points anywhere: signals go to their own stack. */
	ss.ss_sp = n->altstack;
	ss.ss_size = ALTSTACK_SIZE;
	ss.ss_flags = 0;
	if (sigaltstack(&ss, NULL)) {
		err = -errno;
		goto fail_stack;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_fault;
	sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_NODEFER;
	sigemptyset(&sa.sa_mask);
	for (int k = 0; k < 5; k++)
		sigaction(fault_signals[k], &sa, &n->old[k]);
	emit_code(n);
	fault.code = n->region + DIFF_CODE_OFF;
	the_native = n;
	*out = n;
	return 0;

fail_stack:
	free(n->altstack);
fail_unmap:
	munmap(n->region, DIFF_REGION_SIZE);
fail_free:
	free(n);
	return err;
}

void diff_native_destroy(struct diff_native *n)
{
	stack_t ss = { .ss_flags = SS_DISABLE };

	if (!n)
		return;
	for (int k = 0; k < 5; k++)
		sigaction(fault_signals[k], &n->old[k], NULL);
	sigaltstack(&ss, NULL);
	free(n->altstack);
	munmap(n->region, DIFF_REGION_SIZE);
	the_native = NULL;
	free(n);
}

void diff_native_where(const struct diff_native *n, struct diff_where *w)
{
	w->base = (uint64_t)n->region;
	w->low = n->low;
}

/* ucontext GPRs in ModRM order. */
static const int greg_index[16] = {
	REG_RAX, REG_RCX, REG_RDX, REG_RBX, REG_RSP, REG_RBP, REG_RSI, REG_RDI,
	REG_R8,	 REG_R9,  REG_R10, REG_R11, REG_R12, REG_R13, REG_R14, REG_R15,
};

void diff_native_run(struct diff_native *n, const struct diff_case *c,
		     struct diff_result *r)
{
	uint8_t *code = n->region + DIFF_CODE_OFF;
	uint8_t *insn = code + DIFF_INSN_END - c->len;
	uint64_t flags;

	memcpy(n->region + DIFF_SANDBOX_OFF, c->mem, DIFF_SANDBOX_SIZE);
	memset(n->prologue_end, 0x90, (size_t)(insn - n->prologue_end));
	memcpy(insn, c->bytes, c->len);
	memcpy(code + SLOT_IN, c->in.gpr, sizeof(c->in.gpr));
	/* Only the status flags and DF: TF, AC or IF would change more than
	 * the case (and IOPL/IF do not change at CPL 3 anyway). */
	flags = X86_EFLAGS_FIXED |
		(c->in.rflags & (X86_EFLAGS_ARITH_MASK | X86_EFLAGS_DF));
	memcpy(code + SLOT_IN_FLAGS, &flags, 8);

	memset(r, 0, offsetof(struct diff_result, mem));
	fault.active = 1;
	if (sigsetjmp(fault.jmp, 0) == 0) {
		((void (*)(void))code)();
		fault.active = 0;
		r->vector = -1;
		memcpy(r->st.gpr, code + SLOT_OUT, sizeof(r->st.gpr));
		memcpy(&r->st.rflags, code + SLOT_OUT_FLAGS, 8);
		r->rip = (uint64_t)code + DIFF_INSN_END;
	} else {
		const greg_t *gr = fault.uc.uc_mcontext.gregs;

		for (int k = 0; k < 16; k++)
			r->st.gpr[k] = (uint64_t)gr[greg_index[k]];
		r->st.rflags = (uint64_t)gr[REG_EFL];
		r->rip = (uint64_t)gr[REG_RIP];
		r->vector = (int)gr[REG_TRAPNO];
		r->error_code = (uint64_t)gr[REG_ERR];
		r->cr2 = (uint64_t)gr[REG_CR2];
	}
	memcpy(r->mem, n->region + DIFF_SANDBOX_OFF, DIFF_SANDBOX_SIZE);
}
