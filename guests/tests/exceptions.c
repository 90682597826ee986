/* SPDX-License-Identifier: MIT */
/*
 * exceptions: installs an IDT and provokes #DE, #UD, #BP, two #PFs (a read
 * of the not-present page 0; a write to a page made read-only, fixed up in
 * the handler and retried), #GP on a non-canonical address and a software
 * INT 0x80; checks the vector, error code, CR2 and the saved RIP (the
 * faulting instruction for faults, the next one for traps: SDM Vol. 3A 6.5
 * and 6.15). Guest side.
 */
#include "arch/x86_paging.h"
#include "arch/x86_regs.h"
#include "guests/rt/rt.h"

#define EXC_SOFT_VECTOR 0x80

/* The page made read-only: in the first 2 MiB, which the loader maps with
 * 4 KiB pages, above the image (checked at run time), at a fixed address
 * so that CR2 prints the same whatever the image size. */
#define EXC_RO_PAGE 0x1ff000ull
#define EXC_RO_ADDR (EXC_RO_PAGE + 0x10)

struct exc_event {
	uint64_t vector, error_code, rip, cr2;
	unsigned int count;
};

static volatile struct exc_event exc_last;
/* Where the handler resumes after a fault (0: unexpected fault). */
static volatile uint64_t exc_resume;
/* The PTE the #PF handler makes writable again before a retry. */
static volatile uint64_t *volatile exc_fixup_pte;
static unsigned int exc_passed, exc_total;

static void exc_handle(struct idt_frame *f)
{
	exc_last.vector = f->vector;
	exc_last.error_code = f->error_code;
	exc_last.rip = f->rip;
	exc_last.cr2 = f->vector == PF_VECTOR ? read_cr2() : 0;
	exc_last.count++;

	if (f->vector == PF_VECTOR && exc_fixup_pte) {
		/* Restore write access and retry the faulting store; INVLPG
		 * because the TLB may hold the read-only translation. */
		*exc_fixup_pte |= PTE_RW;
		invlpg((const volatile void *)(uintptr_t)read_cr2());
		exc_fixup_pte = NULL;
		return;
	}
	switch (f->vector) {
	case BP_VECTOR:
		/* #BP is a trap: RIP already points after INT3. */
		return;
	case EXC_SOFT_VECTOR:
		f->rax = f->rdi * 2 + 1;
		return;
	default:
		break;
	}
	if (!exc_resume) {
		printf("unexpected exception: vector %llu error %#llx rip %#llx "
		       "cr2 %#llx\n",
		       (unsigned long long)f->vector,
		       (unsigned long long)f->error_code,
		       (unsigned long long)f->rip,
		       (unsigned long long)exc_last.cr2);
		exit(1);
	}
	f->rip = exc_resume;
	exc_resume = 0;
}

static bool exc_report(const char *what, uint64_t vector, uint64_t error_code,
		       bool has_cr2, uint64_t cr2, uint64_t rip, uint64_t at,
		       uint64_t after, const char *insn)
{
	bool ok = exc_last.count == 1 && exc_last.vector == vector &&
		  exc_last.error_code == error_code &&
		  (!has_cr2 || exc_last.cr2 == cr2) && exc_last.rip == rip;

	printf("%s: vector %llu, error %#llx", what,
	       (unsigned long long)exc_last.vector,
	       (unsigned long long)exc_last.error_code);
	if (has_cr2)
		printf(", cr2 %#llx", (unsigned long long)exc_last.cr2);
	if (exc_last.rip == at)
		printf(", rip at the %s", insn);
	else if (exc_last.rip == after)
		printf(", rip after the %s", insn);
	else
		printf(", rip %#llx (%s at %#llx)",
		       (unsigned long long)exc_last.rip, insn,
		       (unsigned long long)at);
	printf("%s\n", ok ? "" : " -- unexpected");
	if (exc_last.count != 1)
		printf("%s: delivered %u times\n", what, exc_last.count);
	exc_last.count = 0;
	return ok;
}

static void exc_count(bool ok)
{
	exc_total++;
	exc_passed += ok;
}

/*
 * Runs setup, then insn with exc_resume set to the address after it.
 * Labels 1 and 2 mark insn and its end; at and after receive their
 * addresses. RAX, RCX and RDX are free for setup and insn. Addresses go in
 * RSI ("S"): with RBP or RSP as the base a memory operand uses SS, and a
 * non-canonical address would raise #SS instead of #GP (SDM Vol. 3A 6.15,
 * interrupt 12).
 */
#define EXC_RUN(setup, insn, at, after, ...)                               \
	__asm__ volatile("leaq 1f(%%rip), %[at_]\n\t"                      \
			 "leaq 2f(%%rip), %[after_]\n\t"                   \
			 "movq %[after_], %[resume_]\n\t" setup "1: " insn \
			 "\n"                                              \
			 "2:\n\t"                                          \
			 : [at_] "=&r"(at), [after_] "=&r"(after),         \
			   [resume_] "=m"(exc_resume)                      \
			 : __VA_ARGS__                                     \
			 : "rax", "rcx", "rdx", "memory")

static void exc_test_divide(void)
{
	uint64_t at, after;

	/* div %rcx with RCX = 0: #DE, a fault (RIP at the div). */
	EXC_RUN("movl $1, %%eax\n\txorl %%edx, %%edx\n\txorl %%ecx, %%ecx\n",
		"divq %%rcx", at, after);
	exc_count(exc_report("#DE", DE_VECTOR, 0, false, 0, at, at, after,
			     "div"));
}

static void exc_test_invalid_opcode(void)
{
	uint64_t at, after;

	EXC_RUN("", "ud2", at, after);
	exc_count(exc_report("#UD", UD_VECTOR, 0, false, 0, at, at, after,
			     "ud2"));
}

static void exc_test_breakpoint(void)
{
	uint64_t at, after;

	EXC_RUN("", "int3", at, after);
	exc_count(exc_report("#BP", BP_VECTOR, 0, false, 0, after, at, after,
			     "int3"));
	exc_resume = 0;
}

static void exc_test_page_fault_not_present(void)
{
	uint64_t at, after;

	/* Page 0 is not present (arch/bootinfo.h): a supervisor data read
	 * gives error code 0 and CR2 = the linear address. */
	EXC_RUN("", "movq (%[addr]), %%rax", at, after, [addr] "S"(0ull));
	exc_count(exc_report("#PF", PF_VECTOR, 0, true, 0, at, at, after,
			     "load"));
}

/* Returns the PTE that maps va with a 4 KiB page, or NULL. Paging is
 * identity-mapped, so table addresses can be used as pointers. */
static volatile uint64_t *exc_find_pte(uint64_t va)
{
	uint64_t table = read_cr3() & PTE_ADDR_MASK;
	static const unsigned int shifts[] = { PML4_SHIFT, PDPT_SHIFT,
					       PD_SHIFT };

	for (size_t i = 0; i < ARRAY_SIZE(shifts); i++) {
		volatile uint64_t *t = (volatile uint64_t *)(uintptr_t)table;
		uint64_t e = t[(va >> shifts[i]) & PT_INDEX_MASK];

		if (!(e & PTE_P) || (e & PTE_PS))
			return NULL;
		table = e & PTE_ADDR_MASK;
	}
	return (volatile uint64_t *)(uintptr_t)table + PT_INDEX(va);
}

static void exc_test_page_fault_read_only(const struct nestvm_bootinfo *bi)
{
	volatile uint32_t *word = (volatile uint32_t *)(uintptr_t)EXC_RO_ADDR;
	volatile uint64_t *pte;
	uint64_t at, after;
	bool ok;

	if (bi->free_start > EXC_RO_PAGE || bi->mem_size < EXC_RO_PAGE + 4096 ||
	    !(pte = exc_find_pte(EXC_RO_PAGE))) {
		printf("#PF: page %#llx is not free or not a 4 KiB page\n",
		       EXC_RO_PAGE);
		exc_count(false);
		return;
	}
	*word = 0;
	*pte &= ~PTE_RW;
	invlpg(word);
	exc_fixup_pte = pte;
	/* CR0.WP is set: a supervisor write to a read-only page faults with
	 * P | W. The handler restores RW and the store runs again. */
	EXC_RUN("", "movl $0x5a, (%[addr])", at, after, [addr] "S"(word));
	exc_resume = 0;
	ok = exc_report("#PF", PF_VECTOR, PFERR_PRESENT_MASK | PFERR_WRITE_MASK,
			true, EXC_RO_ADDR, at, at, after, "store");
	printf("#PF: store retried, value %#x\n", *word);
	exc_count(ok && *word == 0x5a && !exc_fixup_pte);
}

static void exc_test_general_protection(void)
{
	uint64_t at, after;

	/* A non-canonical data address outside SS: #GP(0). */
	EXC_RUN("", "movq (%[addr]), %%rax", at,
		after, [addr] "S"(0x8000000000000000ull));
	exc_count(exc_report("#GP", GP_VECTOR, 0, false, 0, at, at, after,
			     "load"));
}

static void exc_test_software_interrupt(void)
{
	uint64_t at, after, rax = 0;
	bool ok;

	idt_enable_vector(EXC_SOFT_VECTOR, 0);
	__asm__ volatile("leaq 1f(%%rip), %[at_]\n\t"
			 "leaq 2f(%%rip), %[after_]\n\t"
			 "1: int $0x80\n"
			 "2:\n\t"
			 : [at_] "=&r"(at), [after_] "=&r"(after), "+a"(rax)
			 : "D"(21ull)
			 : "memory");
	ok = exc_report("INT 0x80", EXC_SOFT_VECTOR, 0, false, 0, after, at,
			after, "int");
	printf("INT 0x80: rax %llu\n", (unsigned long long)rax);
	exc_count(ok && rax == 43);
}

int main(const struct nestvm_bootinfo *bi)
{
	idt_install(exc_handle);
	printf("exceptions: IDT installed\n");
	exc_test_divide();
	exc_test_invalid_opcode();
	exc_test_breakpoint();
	exc_test_page_fault_not_present();
	exc_test_page_fault_read_only(bi);
	exc_test_general_protection();
	exc_test_software_interrupt();
	printf("exceptions: %u of %u as expected\n", exc_passed, exc_total);
	rt_result("exceptions_checks", exc_total, "count");
	return exc_passed == exc_total ? 0 : 1;
}
