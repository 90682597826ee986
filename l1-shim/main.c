/* SPDX-License-Identifier: MIT */
/*
 * main.c - l1-shim's entry point: its command line, where L2's RAM and the
 * EPT tables go in L1 memory, the order of the setup steps, and how a run
 * ends (L2's status, or one of l1-shim's own). l1-shim side (L1), started
 * by the guest runtime under the 64-bit boot contract (docs/boot.md,
 * docs/l1-shim.md).
 */
#include "arch/vmx_insn_errors.h"
#include "guests/rt/rt.h"
#include "l1-shim/shim.h"
#include "l1-shim/vmx.h"

static struct l1_options l1_opt;
static struct l2_vm l1_vm;

/* The page allocator: [l1_free_next, l1_free_end) of L1 memory, above
 * L2's RAM. */
static uint64_t l1_free_next, l1_free_end;

uint64_t l1_alloc_page(void)
{
	uint64_t pa = l1_free_next;

	if (l1_free_end - l1_free_next < PAGE_SIZE)
		return 0;
	l1_free_next += PAGE_SIZE;
	/* Free memory is zero by the boot contract; a table must be, so
	 * make sure of it rather than trust it. */
	memset((void *)(uintptr_t)pa, 0, PAGE_SIZE);
	return pa;
}

void vmx_die_access(const char *insn, uint32_t field, enum vmx_result r)
{
	uint64_t err = 0;

	if (r == VMX_FAIL_VALID)
		vmx_vmread(VM_INSTRUCTION_ERROR, &err);
	printf(L1_PFX "%s of VMCS field %#x failed (%s", insn, field,
	       r == VMX_FAIL_VALID ? "VMfailValid" : "VMfailInvalid");
	if (r == VMX_FAIL_VALID)
		printf(", VM-instruction error %llu (%s)",
		       (unsigned long long)err,
		       vmx_insn_error_name((unsigned int)err));
	printf(")\n");
	exit(L1_EXIT_FATAL);
}

/* An exception in l1-shim itself is a bug of its own: say where, stop. */
static void l1_host_exception(struct idt_frame *f)
{
	printf(L1_PFX "exception %llu (error code %#llx) in l1-shim at RIP "
		      "%#llx\n",
	       (unsigned long long)f->vector, (unsigned long long)f->error_code,
	       (unsigned long long)f->rip);
	exit(L1_EXIT_FATAL);
}

/* ---- command line ----------------------------------------------------------- */

static bool l1_word_is(const char *w, size_t len, const char *lit)
{
	return strlen(lit) == len && !memcmp(w, lit, len);
}

/* SIZE as nestvm's --mem takes it: digits, then "", K, M, G, KiB, MiB or
 * GiB (powers of 1024). */
static bool l1_parse_size(const char *s, size_t len, uint64_t *out)
{
	static const struct {
		const char *suffix;
		unsigned int shift;
	} units[] = {
		{ "", 0 },     { "K", 10 },   { "M", 20 },   { "G", 30 },
		{ "KiB", 10 }, { "MiB", 20 }, { "GiB", 30 },
	};
	uint64_t n = 0;
	size_t i = 0;

	if (!len || s[0] < '0' || s[0] > '9')
		return false;
	for (; i < len && s[i] >= '0' && s[i] <= '9'; i++) {
		unsigned int d = (unsigned int)(s[i] - '0');

		if (n > (UINT64_MAX - d) / 10)
			return false;
		n = n * 10 + d;
	}
	for (size_t u = 0; u < ARRAY_SIZE(units); u++) {
		if (!l1_word_is(s + i, len - i, units[u].suffix))
			continue;
		if (n > UINT64_MAX >> units[u].shift)
			return false;
		*out = n << units[u].shift;
		return true;
	}
	return false;
}

/*
 * The exceptions exc= may name. #DB (it would need DR6 emulation), NMI
 * (not an exception) and #MC (the host's business) are left out.
 */
static const struct {
	const char *name;
	unsigned int vector;
} l1_exc_names[] = {
	{ "de", DE_VECTOR }, { "bp", BP_VECTOR }, { "of", OF_VECTOR },
	{ "br", BR_VECTOR }, { "ud", UD_VECTOR }, { "nm", NM_VECTOR },
	{ "df", DF_VECTOR }, { "ts", TS_VECTOR }, { "np", NP_VECTOR },
	{ "ss", SS_VECTOR }, { "gp", GP_VECTOR }, { "pf", PF_VECTOR },
	{ "mf", MF_VECTOR }, { "ac", AC_VECTOR }, { "xm", XM_VECTOR },
	{ "ve", VE_VECTOR }, { "cp", CP_VECTOR },
};

/* exc=NAME[,NAME...]: the exception bitmap. */
static bool l1_parse_exc(const char *s, size_t len, uint32_t *bitmap)
{
	size_t start = 0;

	*bitmap = 0;
	while (start < len) {
		size_t end = start;
		bool found = false;

		while (end < len && s[end] != ',')
			end++;
		for (size_t i = 0; i < ARRAY_SIZE(l1_exc_names); i++) {
			if (!l1_word_is(s + start, end - start,
					l1_exc_names[i].name))
				continue;
			*bitmap |= 1u << l1_exc_names[i].vector;
			found = true;
		}
		if (!found)
			return false;
		start = end + 1;
	}
	return len != 0;
}

/*
 * l1-shim's options are the words before "--"; everything after "--" (and
 * the spaces that follow it) is L2's command line, verbatim.
 */
static int l1_parse_words(const char *cmdline, struct l1_options *opt)
{
	const char *p = cmdline;

	*opt = (struct l1_options){ .l2mem = L2_MEM_DEFAULT, .l2_cmdline = "" };
	for (;;) {
		const char *w;
		size_t len = 0;

		while (*p == ' ')
			p++;
		if (!*p)
			return 0;
		w = p;
		while (w[len] && w[len] != ' ')
			len++;
		p = w + len;
		if (l1_word_is(w, len, "--")) {
			while (*p == ' ')
				p++;
			opt->l2_cmdline = p;
			return 0;
		}
		if (l1_word_is(w, len, "verbose")) {
			opt->verbose = true;
		} else if (l1_word_is(w, len, "stats")) {
			opt->stats = true;
		} else if (l1_word_is(w, len, "ept-lazy")) {
			opt->ept_lazy = true;
		} else if (l1_word_is(w, len, "no-evmcs")) {
			opt->no_evmcs = true;
		} else if (l1_word_is(w, len, "mmu=ept")) {
			opt->mmu = L1_MMU_EPT;
		} else if (l1_word_is(w, len, "mmu=shadow")) {
			opt->mmu = L1_MMU_SHADOW;
		} else if (len > 6 && !memcmp(w, "l2mem=", 6)) {
			uint64_t size;

			if (!l1_parse_size(w + 6, len - 6, &size) ||
			    size < BOOT_MEM_MIN || size > BOOT_MEM_MAX ||
			    size % PAGE_SIZE) {
				printf(L1_PFX "l2mem: bad size '%.*s' (a "
					      "multiple of 4 KiB from 2M to "
					      "64G, e.g. 16M)\n",
				       (int)(len - 6), w + 6);
				return L1_EXIT_SETUP;
			}
			opt->l2mem = size;
		} else if (len > 4 && !memcmp(w, "exc=", 4)) {
			if (!l1_parse_exc(w + 4, len - 4, &opt->exc_bitmap)) {
				printf(L1_PFX "exc: bad exception list '%.*s' "
					      "(comma-separated: de bp of br "
					      "ud nm df ts np ss gp pf mf ac "
					      "xm ve cp)\n",
				       (int)(len - 4), w + 4);
				return L1_EXIT_SETUP;
			}
		} else {
			printf(L1_PFX "unknown option '%.*s' (options: "
				      "l2mem=SIZE exc=LIST mmu=ept|shadow "
				      "ept-lazy no-evmcs verbose stats, then "
				      "-- and L2's command line)\n",
			       (int)len, w);
			return L1_EXIT_SETUP;
		}
	}
}

/* The words, then the options that do not go together. */
static int l1_parse_options(const char *cmdline, struct l1_options *opt)
{
	int ret = l1_parse_words(cmdline, opt);

	if (!ret && opt->ept_lazy && opt->mmu == L1_MMU_SHADOW) {
		printf(L1_PFX "ept-lazy needs mmu=ept: mmu=shadow runs L2 "
			      "without EPT\n");
		return L1_EXIT_SETUP;
	}
	return ret;
}

/* ---- memory -------------------------------------------------------------- */

/*
 * L2's RAM starts at the first 2 MiB boundary of L1's free memory, so that
 * EPT can map it with 2 MiB pages; the EPT tables come after it.
 */
static int l1_place_l2(struct l2_vm *vm, const struct nestvm_bootinfo *bi)
{
	uint64_t base = ALIGN_UP(bi->free_start, MiB(2));

	if (base < bi->free_start || base > bi->mem_size ||
	    bi->mem_size - base < vm->opt->l2mem) {
		printf(L1_PFX "L2 RAM of %llu MiB does not fit: L1 has %llu "
			      "MiB and its free memory starts at %#llx; give "
			      "nestvm a larger --mem or l1-shim a smaller "
			      "l2mem=\n",
		       (unsigned long long)(vm->opt->l2mem >> 20),
		       (unsigned long long)(bi->mem_size >> 20),
		       (unsigned long long)bi->free_start);
		return L1_EXIT_SETUP;
	}
	vm->base = base;
	vm->mem_size = vm->opt->l2mem;
	l1_free_next = base + vm->mem_size;
	l1_free_end = ALIGN_DOWN(bi->mem_size, PAGE_SIZE);
	return 0;
}

int main(const struct nestvm_bootinfo *bi)
{
	struct l2_vm *vm = &l1_vm;
	int ret;

	idt_install(l1_host_exception);
	ret = l1_parse_options((const char *)(uintptr_t)bi->cmdline, &l1_opt);
	if (ret)
		return ret;
	vm->opt = &l1_opt;
	l1_uart_init(&vm->uart);

	ret = l1_place_l2(vm, bi);
	if (!ret)
		ret = l2_boot_build(vm, bi, &l1_opt);
	if (!ret)
		ret = vmcs_setup(vm);
	if (ret)
		return ret;
	if (l1_opt.verbose)
		printf(L1_PFX "running L2 '%s': %llu MiB at L1 %#llx, entry "
			      "%#llx, command line \"%s\"\n",
		       vm->image_name, (unsigned long long)(vm->mem_size >> 20),
		       (unsigned long long)vm->base,
		       (unsigned long long)vm->entry, l1_opt.l2_cmdline);

	ret = l1_run_l2(vm);
	if (l1_opt.verbose)
		printf(L1_PFX "L2 stopped after %llu exits; exiting with %d\n",
		       (unsigned long long)vm->nr_exits, ret);
	if (l1_opt.stats) {
		l1_stats_print();
		if (l1_opt.mmu == L1_MMU_SHADOW)
			shadow_stats_print(vm);
	}
	return ret;
}
