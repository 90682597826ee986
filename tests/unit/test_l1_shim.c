/* SPDX-License-Identifier: MIT */
/*
 * test_l1_shim - the parts of l1-shim that need no VMX, built for the host:
 * L2's ELF loader and boot contract (l1-shim/l2_boot.c, through
 * arch/boot_layout.h), the EPT builder (l1-shim/ept.c), the shadow MMU of
 * mmu=shadow (l1-shim/shadow.c: L2's page walk, fills, invalidation) and
 * L2's UART (l1-shim/uart.c). L1 is identity-mapped, so l1-shim's "physical
 * addresses" are host pointers here. Host side, tests only.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <elf.h>
#include <linux/serial_reg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arch/boot_layout.h"
#include "arch/ept.h"
#include "arch/x86_paging.h"
#include "l1-shim/shim.h"

/* ---- the page allocator ept.c uses (main.c's, in l1-shim) ---------------- */

/* The EPT tests' few pages, and the shadow's whole pool. */
#define POOL_PAGES (16 + L1_SHADOW_POOL_PAGES)

static uint8_t pool[POOL_PAGES][PAGE_SIZE] __attribute__((aligned(4096)));
static unsigned int pool_used, pool_limit = POOL_PAGES;

uint64_t l1_alloc_page(void)
{
	if (pool_used == pool_limit)
		return 0;
	memset(pool[pool_used], 0, PAGE_SIZE);
	return (uint64_t)(uintptr_t)pool[pool_used++];
}

static uint64_t *table_at(uint64_t entry)
{
	return (uint64_t *)(uintptr_t)(entry & EPT_ADDR_MASK);
}

/* ---- an L2 image and L1's boot information, in memory --------------------- */

#define L2_MEM MiB(16)
#define SEG_FILESZ 16
#define SEG_MEMSZ 0x2000
#define ELF_DATA 0x1000

struct fixture {
	uint8_t *ram; /* L2 RAM, what vm.base points at */
	uint8_t elf[0x2000];
	uint8_t data_mod[100];
	struct nestvm_boot_module mods[2];
	struct nestvm_bootinfo bi;
	struct l1_options opt;
	struct l2_vm vm;
};

static Elf64_Ehdr *fx_ehdr(struct fixture *f)
{
	return (Elf64_Ehdr *)f->elf;
}

static Elf64_Phdr *fx_phdr(struct fixture *f, unsigned int i)
{
	return (Elf64_Phdr *)(f->elf + sizeof(Elf64_Ehdr)) + i;
}

/* One R+X PT_LOAD at 1 MiB: 16 bytes of code, the rest BSS. */
static void fx_build_elf(struct fixture *f)
{
	Elf64_Ehdr *eh = fx_ehdr(f);
	Elf64_Phdr *ph = fx_phdr(f, 0);

	memcpy(eh->e_ident, ELFMAG, SELFMAG);
	eh->e_ident[EI_CLASS] = ELFCLASS64;
	eh->e_ident[EI_DATA] = ELFDATA2LSB;
	eh->e_ident[EI_VERSION] = EV_CURRENT;
	eh->e_type = ET_EXEC;
	eh->e_machine = EM_X86_64;
	eh->e_version = EV_CURRENT;
	eh->e_entry = 0x100004;
	eh->e_phoff = sizeof(Elf64_Ehdr);
	eh->e_ehsize = sizeof(Elf64_Ehdr);
	eh->e_phentsize = sizeof(Elf64_Phdr);
	eh->e_phnum = 2;
	ph->p_type = PT_LOAD;
	ph->p_flags = PF_R | PF_X;
	ph->p_offset = ELF_DATA;
	ph->p_vaddr = ph->p_paddr = 0x100000;
	ph->p_filesz = SEG_FILESZ;
	ph->p_memsz = SEG_MEMSZ;
	fx_phdr(f, 1)->p_type = PT_NOTE; /* ignored */
	for (unsigned int i = 0; i < SEG_FILESZ; i++)
		f->elf[ELF_DATA + i] = (uint8_t)(0xa0 + i);
}

static int fx_setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	f->ram = aligned_alloc(MiB(2), L2_MEM);
	if (!f->ram) {
		free(f);
		return -1;
	}
	/* Not zero: the loader must write whatever it relies on. */
	memset(f->ram, 0xcc, L2_MEM);
	fx_build_elf(f);
	memset(f->data_mod, 0x5a, sizeof(f->data_mod));
	f->mods[0] = (struct nestvm_boot_module){
		.start = (uint64_t)(uintptr_t)f->elf,
		.size = sizeof(f->elf),
		.name = "hello.elf",
	};
	f->mods[1] = (struct nestvm_boot_module){
		.start = (uint64_t)(uintptr_t)f->data_mod,
		.size = sizeof(f->data_mod),
		.name = "data.bin",
	};
	f->bi = (struct nestvm_bootinfo){
		.magic = NESTVM_BOOTINFO_MAGIC,
		.version = NESTVM_BOOTINFO_VERSION,
		.nr_modules = 1,
		/* L1's RAM, as far as the module checks care: all of the
		 * host's lower address space. */
		.mem_size = UINT64_MAX / 2,
		.modules = (uint64_t)(uintptr_t)f->mods,
	};
	f->opt = (struct l1_options){ .l2mem = L2_MEM,
				      .l2_cmdline = "hello world" };
	f->vm.opt = &f->opt;
	f->vm.base = (uint64_t)(uintptr_t)f->ram;
	f->vm.mem_size = L2_MEM;
	pool_used = 0;
	pool_limit = POOL_PAGES;
	*state = f;
	return 0;
}

static int fx_teardown(void **state)
{
	struct fixture *f = *state;

	free(f->ram);
	free(f);
	return 0;
}

static uint64_t ram64(const struct fixture *f, uint64_t gpa)
{
	uint64_t v;

	memcpy(&v, f->ram + gpa, sizeof(v));
	return v;
}

static int fx_build(struct fixture *f)
{
	return l2_boot_build(&f->vm, &f->bi, &f->opt);
}

/* ---- l2_boot.c ------------------------------------------------------------ */

static void test_l2_boot__image_copied_and_bss_zeroed(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(fx_build(f), 0);
	assert_memory_equal(f->ram + 0x100000, f->elf + ELF_DATA, SEG_FILESZ);
	for (uint64_t i = SEG_FILESZ; i < SEG_MEMSZ; i++)
		assert_int_equal(f->ram[0x100000 + i], 0);
	/* The byte after the segment is not the loader's. */
	assert_int_equal(f->ram[0x100000 + SEG_MEMSZ], 0xcc);
	assert_int_equal(f->vm.entry, 0x100004);
	assert_int_equal(f->vm.gprs[VCPU_REGS_RDI], BOOT_INFO);
	assert_string_equal(f->vm.image_name, "hello.elf");
}

static void test_l2_boot__bootinfo_describes_l2_not_l1(void **state)
{
	struct fixture *f = *state;
	struct nestvm_bootinfo bi;

	assert_int_equal(fx_build(f), 0);
	memcpy(&bi, f->ram + BOOT_INFO, sizeof(bi));
	assert_int_equal(bi.magic, NESTVM_BOOTINFO_MAGIC);
	assert_int_equal(bi.version, NESTVM_BOOTINFO_VERSION);
	assert_int_equal(bi.nr_modules, 0);
	assert_int_equal(bi.mem_size, L2_MEM);
	assert_int_equal(bi.cmdline, BOOT_CMDLINE);
	assert_int_equal(bi.modules, BOOT_MODULES);
	assert_int_equal(bi.image_start, 0x100000);
	assert_int_equal(bi.image_end, 0x102000);
	assert_int_equal(bi.free_start, 0x102000);
	assert_string_equal((const char *)f->ram + BOOT_CMDLINE, "hello world");
}

static void test_l2_boot__gdt_tss_match_boot_md(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(fx_build(f), 0);
	/* The values docs/boot.md lists. */
	assert_int_equal(ram64(f, BOOT_GDT), 0);
	assert_int_equal(ram64(f, BOOT_GDT + 0x08), 0x00af9b000000ffffull);
	assert_int_equal(ram64(f, BOOT_GDT + 0x10), 0x00cf93000000ffffull);
	assert_int_equal(ram64(f, BOOT_GDT + 0x18), 0x00cf9b000000ffffull);
	assert_int_equal(ram64(f, BOOT_GDT + 0x20), 0x00008b0018000067ull);
	assert_int_equal(ram64(f, BOOT_GDT + 0x28), 0);
	/* TSS: RSP0 at offset 4, I/O map base 0x68 at offset 0x66. */
	assert_int_equal(ram64(f, BOOT_TSS + 4), BOOT_STACK_TOP);
	assert_int_equal(f->ram[BOOT_TSS + 0x66], 0x68);
	assert_int_equal(f->ram[BOOT_TSS + 0x67], 0);
	assert_int_equal(ram64(f, BOOT_TSS + 0x24), 0); /* IST1 */
}

static void test_l2_boot__page_tables_identity_map_16m(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(fx_build(f), 0);
	assert_int_equal(ram64(f, BOOT_PML4), BOOT_PDPT | PTE_P | PTE_RW);
	assert_int_equal(ram64(f, BOOT_PML4 + 8), 0);
	assert_int_equal(ram64(f, BOOT_PDPT), BOOT_PD_BASE | PTE_P | PTE_RW);
	assert_int_equal(ram64(f, BOOT_PDPT + 8), 0);
	assert_int_equal(ram64(f, BOOT_PT0), 0); /* page 0 not present */
	assert_int_equal(ram64(f, BOOT_PT0 + 8), 0x1000 | PTE_P | PTE_RW);
	assert_int_equal(ram64(f, BOOT_PT0 + 511 * 8),
			 0x1ff000 | PTE_P | PTE_RW);
	assert_int_equal(ram64(f, BOOT_PD_BASE), BOOT_PT0 | PTE_P | PTE_RW);
	assert_int_equal(ram64(f, BOOT_PD_BASE + 7 * 8),
			 0xe00000 | PTE_P | PTE_RW | PTE_PS);
	assert_int_equal(ram64(f, BOOT_PD_BASE + 8 * 8), 0);
}

static void test_l2_boot__odd_l2mem_maps_tail_with_4k_pages(void **state)
{
	struct fixture *f = *state;

	f->vm.mem_size = MiB(4) + 3 * PAGE_SIZE;
	assert_int_equal(fx_build(f), 0);
	assert_int_equal(ram64(f, BOOT_PD_BASE + 2 * 8),
			 BOOT_PT_TAIL | PTE_P | PTE_RW);
	assert_int_equal(ram64(f, BOOT_PT_TAIL + 2 * 8),
			 (MiB(4) + 2 * PAGE_SIZE) | PTE_P | PTE_RW);
	assert_int_equal(ram64(f, BOOT_PT_TAIL + 3 * 8), 0);
}

static void test_l2_boot__second_module_handed_on_to_l2(void **state)
{
	struct fixture *f = *state;
	struct nestvm_boot_module m;
	struct nestvm_bootinfo bi;

	f->bi.nr_modules = 2;
	assert_int_equal(fx_build(f), 0);
	memcpy(&bi, f->ram + BOOT_INFO, sizeof(bi));
	memcpy(&m, f->ram + BOOT_MODULES, sizeof(m));
	assert_int_equal(bi.nr_modules, 1);
	assert_int_equal(m.start, 0x102000);
	assert_int_equal(m.size, sizeof(f->data_mod));
	assert_string_equal(m.name, "data.bin");
	assert_memory_equal(f->ram + 0x102000, f->data_mod,
			    sizeof(f->data_mod));
	assert_int_equal(bi.free_start, 0x103000);
}

static void test_l2_boot__no_module_fails_setup(void **state)
{
	struct fixture *f = *state;

	f->bi.nr_modules = 0;
	assert_int_equal(fx_build(f), L1_EXIT_SETUP);
}

static void test_l2_boot__module_outside_l1_ram_fails_setup(void **state)
{
	struct fixture *f = *state;

	f->bi.mem_size = f->mods[0].start + 100;
	assert_int_equal(fx_build(f), L1_EXIT_SETUP);
}

static void test_l2_boot__truncated_elf_fails_setup(void **state)
{
	struct fixture *f = *state;

	f->mods[0].size = sizeof(Elf64_Ehdr) - 1;
	assert_int_equal(fx_build(f), L1_EXIT_SETUP);
}

static void test_l2_boot__aarch64_image_fails_setup(void **state)
{
	struct fixture *f = *state;

	fx_ehdr(f)->e_machine = EM_AARCH64;
	assert_int_equal(fx_build(f), L1_EXIT_SETUP);
}

static void test_l2_boot__pie_image_fails_setup(void **state)
{
	struct fixture *f = *state;

	fx_ehdr(f)->e_type = ET_DYN;
	assert_int_equal(fx_build(f), L1_EXIT_SETUP);
}

static void test_l2_boot__phdrs_past_file_end_fail_setup(void **state)
{
	struct fixture *f = *state;

	fx_ehdr(f)->e_phoff = sizeof(f->elf) - sizeof(Elf64_Phdr);
	assert_int_equal(fx_build(f), L1_EXIT_SETUP);
}

static void test_l2_boot__segment_below_1m_fails_setup(void **state)
{
	struct fixture *f = *state;

	fx_phdr(f, 0)->p_vaddr = fx_phdr(f, 0)->p_paddr = 0xff000;
	fx_ehdr(f)->e_entry = 0xff000;
	assert_int_equal(fx_build(f), L1_EXIT_SETUP);
}

static void test_l2_boot__segment_past_l2mem_fails_setup(void **state)
{
	struct fixture *f = *state;

	fx_phdr(f, 0)->p_memsz = L2_MEM;
	assert_int_equal(fx_build(f), L1_EXIT_SETUP);
}

static void test_l2_boot__wrapping_segment_fails_setup(void **state)
{
	struct fixture *f = *state;

	fx_phdr(f, 0)->p_memsz = UINT64_MAX - 0xfffff;
	assert_int_equal(fx_build(f), L1_EXIT_SETUP);
}

static void test_l2_boot__filesz_over_memsz_fails_setup(void **state)
{
	struct fixture *f = *state;

	fx_phdr(f, 0)->p_filesz = SEG_MEMSZ + 1;
	assert_int_equal(fx_build(f), L1_EXIT_SETUP);
}

static void test_l2_boot__data_past_file_end_fails_setup(void **state)
{
	struct fixture *f = *state;

	fx_phdr(f, 0)->p_offset = sizeof(f->elf) - SEG_FILESZ + 1;
	assert_int_equal(fx_build(f), L1_EXIT_SETUP);
}

static void test_l2_boot__vaddr_not_paddr_fails_setup(void **state)
{
	struct fixture *f = *state;

	fx_phdr(f, 0)->p_vaddr = 0xffffffff80100000ull;
	assert_int_equal(fx_build(f), L1_EXIT_SETUP);
}

static void test_l2_boot__overlapping_segments_fail_setup(void **state)
{
	struct fixture *f = *state;

	*fx_phdr(f, 1) = *fx_phdr(f, 0);
	fx_phdr(f, 1)->p_vaddr = fx_phdr(f, 1)->p_paddr = 0x101000;
	fx_phdr(f, 1)->p_flags = PF_R | PF_W;
	assert_int_equal(fx_build(f), L1_EXIT_SETUP);
}

static void test_l2_boot__entry_outside_exec_segment_fails_setup(void **state)
{
	struct fixture *f = *state;

	fx_ehdr(f)->e_entry = 0x100000 + SEG_MEMSZ;
	assert_int_equal(fx_build(f), L1_EXIT_SETUP);
	fx_ehdr(f)->e_entry = 0x100000;
	fx_phdr(f, 0)->p_flags = PF_R | PF_W;
	assert_int_equal(fx_build(f), L1_EXIT_SETUP);
}

static void test_l2_boot__module_too_big_for_l2mem_fails_setup(void **state)
{
	struct fixture *f = *state;

	f->bi.nr_modules = 2;
	f->mods[1].size = L2_MEM;
	assert_int_equal(fx_build(f), L1_EXIT_SETUP);
}

/* ---- ept.c ------------------------------------------------------------------ */

#define CAP_BASE (VMX_EPT_PAGE_WALK_4_BIT | VMX_EPTP_WB_BIT)
#define FAKE_BASE 0x40000000ull /* L1 address of L2's RAM: never touched */
#define LEAF_2M (EPT_RWX | EPT_MT(EPT_MT_WB) | EPT_LARGE)
#define LEAF_4K (EPT_RWX | EPT_MT(EPT_MT_WB))

static void ept_setup_vm(struct l2_vm *vm, uint64_t mem, uint64_t cap)
{
	memset(vm, 0, sizeof(*vm));
	vm->base = FAKE_BASE;
	vm->mem_size = mem;
	vm->ept_vpid_cap = cap;
	pool_used = 0;
	pool_limit = POOL_PAGES;
}

static void test_ept__2m_pages_then_4k_tail_map_base(void **state)
{
	struct l2_vm vm;
	uint64_t *pml4, *pdpt, *pd, *pt;

	(void)state;
	ept_setup_vm(&vm, MiB(5), CAP_BASE | VMX_EPT_2MB_PAGE_BIT);
	assert_int_equal(ept_build(&vm), 0);
	pml4 = (uint64_t *)(uintptr_t)(vm.eptp & VMX_EPTP_ADDR_MASK);
	assert_ptr_equal(pml4, pool[0]);
	assert_int_equal(vm.eptp & ~VMX_EPTP_ADDR_MASK,
			 VMX_EPTP_MT_WB | VMX_EPTP_PWL_4);
	assert_int_equal(pml4[0] & ~EPT_ADDR_MASK, EPT_RWX);
	assert_int_equal(pml4[1], 0);
	pdpt = table_at(pml4[0]);
	assert_int_equal(pdpt[1], 0);
	pd = table_at(pdpt[0]);
	assert_int_equal(pd[0], FAKE_BASE | LEAF_2M);
	assert_int_equal(pd[1], (FAKE_BASE + MiB(2)) | LEAF_2M);
	assert_int_equal(pd[2] & ~EPT_ADDR_MASK, EPT_RWX);
	assert_int_equal(pd[3], 0);
	pt = table_at(pd[2]);
	assert_int_equal(pt[0], (FAKE_BASE + MiB(4)) | LEAF_4K);
	assert_int_equal(pt[255], (FAKE_BASE + MiB(5) - PAGE_SIZE) | LEAF_4K);
	assert_int_equal(pt[256], 0);
	assert_int_equal(pool_used, 4); /* PML4, PDPT, PD, PT */
}

static void test_ept__without_2m_support_uses_4k_pages(void **state)
{
	struct l2_vm vm;
	uint64_t *pd, *pt;

	(void)state;
	ept_setup_vm(&vm, MiB(2), CAP_BASE);
	assert_int_equal(ept_build(&vm), 0);
	pd = table_at(table_at(table_at(vm.eptp)[0])[0]);
	pt = table_at(pd[0]);
	assert_int_equal(pd[0] & EPT_LARGE, 0);
	assert_int_equal(pt[0], FAKE_BASE | LEAF_4K);
	assert_int_equal(pt[511], (FAKE_BASE + MiB(2) - PAGE_SIZE) | LEAF_4K);
}

static void test_ept__ad_capability_sets_eptp_bit_6(void **state)
{
	struct l2_vm vm;

	(void)state;
	ept_setup_vm(&vm, MiB(2), CAP_BASE | VMX_EPT_AD_BIT);
	assert_int_equal(ept_build(&vm), 0);
	assert_int_equal(vm.eptp & ~VMX_EPTP_ADDR_MASK,
			 VMX_EPTP_MT_WB | VMX_EPTP_PWL_4 |
				 VMX_EPTP_AD_ENABLE_BIT);
}

static void test_ept__uc_only_processor_gets_uc_eptp(void **state)
{
	struct l2_vm vm;

	(void)state;
	ept_setup_vm(&vm, MiB(2), VMX_EPT_PAGE_WALK_4_BIT | VMX_EPTP_UC_BIT);
	assert_int_equal(ept_build(&vm), 0);
	assert_int_equal(vm.eptp & ~VMX_EPTP_ADDR_MASK,
			 VMX_EPTP_MT_UC | VMX_EPTP_PWL_4);
}

static void test_ept__no_4_level_walk_is_fatal(void **state)
{
	struct l2_vm vm;

	(void)state;
	ept_setup_vm(&vm, MiB(2), VMX_EPTP_WB_BIT | VMX_EPT_2MB_PAGE_BIT);
	assert_int_equal(ept_build(&vm), L1_EXIT_FATAL);
	assert_int_equal(pool_used, 0);
}

static void test_ept__out_of_l1_memory_fails_setup(void **state)
{
	struct l2_vm vm;

	(void)state;
	ept_setup_vm(&vm, MiB(2), CAP_BASE | VMX_EPT_2MB_PAGE_BIT);
	pool_limit = 2; /* PML4 and PDPT, no page directory */
	assert_int_equal(ept_build(&vm), L1_EXIT_SETUP);
}

static void test_ept__1g_plus_2m_needs_two_page_directories(void **state)
{
	struct l2_vm vm;
	uint64_t *pdpt;

	(void)state;
	ept_setup_vm(&vm, GiB(1) + MiB(2), CAP_BASE | VMX_EPT_2MB_PAGE_BIT);
	assert_int_equal(ept_build(&vm), 0);
	pdpt = table_at(table_at(vm.eptp)[0]);
	assert_int_equal(table_at(pdpt[1])[0], (FAKE_BASE + GiB(1)) | LEAF_2M);
	assert_int_equal(table_at(pdpt[1])[1], 0);
	assert_int_equal(pdpt[2], 0);
	assert_int_equal(pool_used, 4);
}

/* ---- shadow.c ---------------------------------------------------------------- */

/*
 * L2's boot contract is built in the fixture's RAM (16 MiB: PT0 maps
 * 4 KiB pages 1-511, 2 MiB pages above), then the shadow starts on it as
 * vmcs_setup.c starts it: CR3 = BOOT_PML4, CR4 = BOOT_CR4, MAXPHYADDR 40
 * here, 1 GiB pages allowed.
 */
#define SX_MAXPHY 40

/* The last RESULT lines shadow_stats_print() gave (main.c's rt_result()
 * in l1-shim). */
static char sx_results[512];

void rt_result(const char *name, uint64_t value, const char *unit)
{
	size_t n = strlen(sx_results);

	snprintf(sx_results + n, sizeof(sx_results) - n, "RESULT %s %llu %s\n",
		 name, (unsigned long long)value, unit);
}

static void sx_init(struct fixture *f)
{
	assert_int_equal(fx_build(f), 0);
	pool_used = 0;
	assert_int_equal(
		shadow_init(&f->vm, BOOT_PML4, BOOT_CR4, SX_MAXPHY, true), 0);
	assert_int_equal(pool_used, L1_SHADOW_POOL_PAGES);
}

static uint64_t *guest64(struct fixture *f, uint64_t gpa)
{
	return (uint64_t *)(f->ram + gpa);
}

/* L2's PDE for @va (the first GiB) and PT0's PTE for page @va. */
static uint64_t *guest_pde(struct fixture *f, uint64_t va)
{
	return guest64(f, BOOT_PD_BASE + 8 * PD_INDEX(va));
}

static uint64_t *guest_pt0(struct fixture *f, uint64_t va)
{
	return guest64(f, BOOT_PT0 + 8 * PT_INDEX(va));
}

/* The shadow entry at @level (4 PML4E .. 1 PTE) for @va, 0 when a table
 * above it is missing. */
static uint64_t sx_entry(const struct fixture *f, uint64_t va, int level)
{
	uint64_t e = f->vm.shadow.root | PTE_P;

	for (int l = 4; l >= level; l--) {
		if (!(e & PTE_P))
			return 0;
		e = table_at(e)[PT_LEVEL_INDEX(va, l)];
	}
	return e;
}

static enum l1_shadow_fault sx_fault(struct fixture *f, uint64_t va,
				     uint32_t error,
				     struct l1_shadow_fault_info *fi)
{
	return shadow_page_fault(&f->vm, va, error, fi);
}

static uint64_t sx_l1(const struct fixture *f, uint64_t gpa)
{
	return f->vm.base + gpa;
}

static void test_shadow__read_of_clean_2m_page_maps_4k_read_only(void **state)
{
	struct fixture *f = *state;
	struct l1_shadow_fault_info fi;
	uint64_t va = 0x403000;

	sx_init(f);
	assert_int_equal(sx_fault(f, va, 0, &fi), L1_SHADOW_HIDDEN);
	/* L2's leaf is clean: no RW, so that the first write faults. */
	assert_int_equal(sx_entry(f, va, 1), sx_l1(f, va) | PTE_P | PTE_A);
	/* A 2 MiB page of L2's is behind the shadow table: marked. */
	assert_true(sx_entry(f, va, 2) & (1ull << 9));
	assert_false(sx_entry(f, va, 3) & (1ull << 9));
	/* A set in every entry of L2's walk, D not. */
	assert_int_equal(*guest64(f, BOOT_PML4),
			 BOOT_PDPT | PTE_P | PTE_RW | PTE_A);
	assert_int_equal(*guest64(f, BOOT_PDPT),
			 BOOT_PD_BASE | PTE_P | PTE_RW | PTE_A);
	assert_int_equal(*guest_pde(f, va),
			 0x400000 | PTE_P | PTE_RW | PTE_PS | PTE_A);
	assert_int_equal(f->vm.shadow.hidden_faults, 1);
	assert_int_equal(f->vm.shadow.true_faults, 0);
	/* root, PDPT, PD, PT */
	assert_int_equal(f->vm.shadow.peak, 4);
}

static void test_shadow__write_sets_dirty_and_maps_writable(void **state)
{
	struct fixture *f = *state;
	struct l1_shadow_fault_info fi;
	uint64_t va = 0x403000;

	sx_init(f);
	assert_int_equal(sx_fault(f, va, 0, &fi), L1_SHADOW_HIDDEN);
	/* The write to the read-only leaf: present, so P is set. */
	assert_int_equal(
		sx_fault(f, va + 8, PFERR_PRESENT_MASK | PFERR_WRITE_MASK, &fi),
		L1_SHADOW_HIDDEN);
	assert_int_equal(sx_entry(f, va, 1),
			 sx_l1(f, va) | PTE_P | PTE_RW | PTE_A | PTE_D);
	assert_int_equal(*guest_pde(f, va),
			 0x400000 | PTE_P | PTE_RW | PTE_PS | PTE_A | PTE_D);
	/* Another page of the same dirty 2 MiB page maps writable at once. */
	assert_int_equal(sx_fault(f, va + PAGE_SIZE, 0, &fi), L1_SHADOW_HIDDEN);
	assert_true(sx_entry(f, va + PAGE_SIZE, 1) & PTE_RW);
	assert_int_equal(f->vm.shadow.hidden_faults, 3);
}

static void test_shadow__not_present_page_is_true_fault_p_clear(void **state)
{
	struct fixture *f = *state;
	struct l1_shadow_fault_info fi;

	sx_init(f);
	/* Page 0 is left not present by the boot contract. */
	assert_int_equal(sx_fault(f, 0x10, PFERR_WRITE_MASK, &fi),
			 L1_SHADOW_TRUE);
	assert_int_equal(fi.error_code, PFERR_WRITE_MASK);
	assert_int_equal(sx_entry(f, 0x10, 1), 0);
	/* A fault sets no accessed flag (SDM 4.8: only translations used). */
	assert_false(*guest64(f, BOOT_PML4) & PTE_A);
	/* Past the identity map: PML4E 1 is empty. */
	assert_int_equal(sx_fault(f, 1ull << 39, PFERR_FETCH_MASK, &fi),
			 L1_SHADOW_TRUE);
	assert_int_equal(fi.error_code, PFERR_FETCH_MASK);
	assert_int_equal(f->vm.shadow.true_faults, 2);
	assert_int_equal(f->vm.shadow.hidden_faults, 0);
}

static void
test_shadow__user_access_to_supervisor_page_is_true_fault(void **state)
{
	struct fixture *f = *state;
	struct l1_shadow_fault_info fi;

	sx_init(f);
	assert_int_equal(sx_fault(f, 0x5000, PFERR_USER_MASK, &fi),
			 L1_SHADOW_TRUE);
	assert_int_equal(fi.error_code, PFERR_PRESENT_MASK | PFERR_USER_MASK);
	/* U/S everywhere but the PDPTE: still supervisor-only. */
	*guest64(f, BOOT_PML4) |= PTE_US;
	*guest_pde(f, 0x5000) |= PTE_US;
	*guest_pt0(f, 0x5000) |= PTE_US;
	assert_int_equal(sx_fault(f, 0x5000, PFERR_USER_MASK, &fi),
			 L1_SHADOW_TRUE);
	*guest64(f, BOOT_PDPT) |= PTE_US;
	assert_int_equal(sx_fault(f, 0x5000, PFERR_USER_MASK, &fi),
			 L1_SHADOW_HIDDEN);
	assert_int_equal(sx_entry(f, 0x5000, 1),
			 sx_l1(f, 0x5000) | PTE_P | PTE_US | PTE_A);
}

static void test_shadow__write_to_read_only_page_faults_at_cpl0(void **state)
{
	struct fixture *f = *state;
	struct l1_shadow_fault_info fi;

	sx_init(f);
	*guest_pt0(f, 0x6000) &= ~PTE_RW;
	/* CR0.WP is 1 under mmu=shadow: supervisor writes fault too. */
	assert_int_equal(sx_fault(f, 0x6000, PFERR_WRITE_MASK, &fi),
			 L1_SHADOW_TRUE);
	assert_int_equal(fi.error_code, PFERR_PRESENT_MASK | PFERR_WRITE_MASK);
	/* Even once dirty, the leaf stays read-only. */
	*guest_pt0(f, 0x6000) |= PTE_D;
	assert_int_equal(sx_fault(f, 0x6000, 0, &fi), L1_SHADOW_HIDDEN);
	assert_false(sx_entry(f, 0x6000, 1) & PTE_RW);
}

static void test_shadow__reserved_bits_give_rsvd_fault(void **state)
{
	struct fixture *f = *state;
	struct l1_shadow_fault_info fi;

	sx_init(f);
	/* Bit 45 is above MAXPHYADDR 40. */
	*guest_pde(f, 0x600000) |= 1ull << 45;
	assert_int_equal(sx_fault(f, 0x600000, 0, &fi), L1_SHADOW_TRUE);
	assert_int_equal(fi.error_code, PFERR_PRESENT_MASK | PFERR_RSVD_MASK);
	/* Bit 13 of a 2 MiB leaf is reserved (Table 4-17). */
	*guest_pde(f, 0x800000) |= 1ull << 13;
	assert_int_equal(sx_fault(f, 0x800000, PFERR_WRITE_MASK, &fi),
			 L1_SHADOW_TRUE);
	assert_int_equal(fi.error_code, PFERR_PRESENT_MASK | PFERR_RSVD_MASK |
						PFERR_WRITE_MASK);
	/* PS in a PML4E is reserved. */
	*guest64(f, BOOT_PML4) |= PTE_PS;
	assert_int_equal(sx_fault(f, 0x5000, 0, &fi), L1_SHADOW_TRUE);
	assert_int_equal(fi.error_code, PFERR_PRESENT_MASK | PFERR_RSVD_MASK);
}

static void test_shadow__xd_page_refuses_fetch_and_leaf_carries_xd(void **state)
{
	struct fixture *f = *state;
	struct l1_shadow_fault_info fi;

	sx_init(f);
	*guest_pt0(f, 0x7000) |= PTE_NX;
	assert_int_equal(sx_fault(f, 0x7000, PFERR_FETCH_MASK, &fi),
			 L1_SHADOW_TRUE);
	assert_int_equal(fi.error_code, PFERR_PRESENT_MASK | PFERR_FETCH_MASK);
	assert_int_equal(sx_fault(f, 0x7000, 0, &fi), L1_SHADOW_HIDDEN);
	assert_int_equal(sx_entry(f, 0x7000, 1),
			 sx_l1(f, 0x7000) | PTE_P | PTE_A | PTE_NX);
}

static void
test_shadow__smep_refuses_supervisor_fetch_of_user_page(void **state)
{
	struct fixture *f = *state;
	struct l1_shadow_fault_info fi;

	sx_init(f);
	*guest64(f, BOOT_PML4) |= PTE_US;
	*guest64(f, BOOT_PDPT) |= PTE_US;
	*guest_pde(f, 0x8000) |= PTE_US;
	*guest_pt0(f, 0x8000) |= PTE_US;
	assert_int_equal(sx_fault(f, 0x8000, PFERR_FETCH_MASK, &fi),
			 L1_SHADOW_HIDDEN);
	f->vm.shadow.cr4_shadow |= X86_CR4_SMEP;
	assert_int_equal(sx_fault(f, 0x8000, PFERR_FETCH_MASK, &fi),
			 L1_SHADOW_TRUE);
	assert_int_equal(fi.error_code, PFERR_PRESENT_MASK | PFERR_FETCH_MASK);
}

static void test_shadow__page_outside_l2_ram_is_bad_gpa(void **state)
{
	struct fixture *f = *state;
	struct l1_shadow_fault_info fi;

	sx_init(f);
	/* A 2 MiB leaf at 16 MiB, the end of RAM. */
	*guest_pde(f, 0xa00000) = L2_MEM | PTE_P | PTE_RW | PTE_PS;
	assert_int_equal(sx_fault(f, 0xa01234, 0, &fi), L1_SHADOW_BAD_GPA);
	assert_int_equal(fi.gpa, L2_MEM + 0x1234);
	/* A page table past the end of RAM. */
	*guest_pde(f, 0xc00000) = (L2_MEM + MiB(4)) | PTE_P | PTE_RW;
	assert_int_equal(sx_fault(f, 0xc05000, 0, &fi), L1_SHADOW_BAD_GPA);
	assert_int_equal(fi.gpa, L2_MEM + MiB(4) + 8 * 5);
	assert_int_equal(f->vm.shadow.hidden_faults, 0);
	assert_int_equal(f->vm.shadow.true_faults, 0);
}

static void test_shadow__1g_page_maps_and_invlpg_drops_whole_gib(void **state)
{
	struct fixture *f = *state;
	struct l1_shadow_fault_info fi;
	uint64_t va = (1ull << 39) + 0x345000;

	sx_init(f);
	/* PML4E 1 -> a PDPT of L2's at 0x9000 whose entry 0 is a 1 GiB
	 * page at 0: only its first 16 MiB is RAM. */
	memset(guest64(f, 0x9000), 0, PAGE_SIZE);
	*guest64(f, BOOT_PML4 + 8) = 0x9000 | PTE_P | PTE_RW;
	*guest64(f, 0x9000) = PTE_P | PTE_RW | PTE_PS | PTE_D;
	assert_int_equal(sx_fault(f, va, 0, &fi), L1_SHADOW_HIDDEN);
	assert_int_equal(sx_entry(f, va, 1),
			 sx_l1(f, 0x345000) | PTE_P | PTE_RW | PTE_A | PTE_D);
	assert_true(sx_entry(f, va, 3) & (1ull << 9));
	assert_int_equal(sx_fault(f, va + MiB(2), 0, &fi), L1_SHADOW_HIDDEN);
	/* root, PDPT, PD, two PTs */
	assert_int_equal(f->vm.shadow.nr_free, L1_SHADOW_POOL_PAGES - 5);
	/* Any address of the GiB drops both leaves and the PD below. */
	assert_true(shadow_invlpg(&f->vm, va + MiB(100)));
	assert_int_equal(sx_entry(f, va, 3), 0);
	assert_int_equal(f->vm.shadow.nr_free, L1_SHADOW_POOL_PAGES - 2);
	/* The GiB's last page lies past L2's 16 MiB. */
	assert_int_equal(sx_fault(f, (1ull << 39) + GiB(1) - PAGE_SIZE, 0, &fi),
			 L1_SHADOW_BAD_GPA);
	assert_int_equal(fi.gpa, GiB(1) - PAGE_SIZE);
}

static void test_shadow__invlpg_of_4k_page_drops_only_its_leaf(void **state)
{
	struct fixture *f = *state;
	struct l1_shadow_fault_info fi;

	sx_init(f);
	assert_int_equal(sx_fault(f, 0x5000, 0, &fi), L1_SHADOW_HIDDEN);
	assert_int_equal(sx_fault(f, 0x6000, 0, &fi), L1_SHADOW_HIDDEN);
	assert_false(sx_entry(f, 0x5000, 2) & (1ull << 9));
	assert_false(shadow_invlpg(&f->vm, 0x5abc));
	assert_int_equal(sx_entry(f, 0x5000, 1), 0);
	assert_int_equal(sx_entry(f, 0x6000, 1),
			 sx_l1(f, 0x6000) | PTE_P | PTE_A);
	/* An address the shadow never mapped: nothing to do. */
	assert_false(shadow_invlpg(&f->vm, 5ull << 39));
	assert_int_equal(f->vm.shadow.invlpgs, 2);
}

static void test_shadow__invlpg_in_2m_page_drops_every_leaf_of_it(void **state)
{
	struct fixture *f = *state;
	struct l1_shadow_fault_info fi;

	sx_init(f);
	assert_int_equal(sx_fault(f, 0x400000, 0, &fi), L1_SHADOW_HIDDEN);
	assert_int_equal(sx_fault(f, 0x5ff000, 0, &fi), L1_SHADOW_HIDDEN);
	assert_int_equal(f->vm.shadow.nr_free, L1_SHADOW_POOL_PAGES - 4);
	/* INVLPG of a page never touched drops the whole 2 MiB
	 * translation, so both leaves (SDM 4.10.4.1). */
	assert_true(shadow_invlpg(&f->vm, 0x480000));
	assert_int_equal(sx_entry(f, 0x400000, 2), 0);
	assert_int_equal(sx_entry(f, 0x5ff000, 2), 0);
	assert_int_equal(f->vm.shadow.nr_free, L1_SHADOW_POOL_PAGES - 3);
}

static void test_shadow__flush_empties_root_and_pool(void **state)
{
	struct fixture *f = *state;
	struct l1_shadow_fault_info fi;

	sx_init(f);
	assert_int_equal(sx_fault(f, 0x5000, 0, &fi), L1_SHADOW_HIDDEN);
	assert_int_equal(sx_fault(f, 0x400000, 0, &fi), L1_SHADOW_HIDDEN);
	shadow_flush(&f->vm);
	for (unsigned int i = 0; i < PT_ENTRIES; i++)
		assert_int_equal(table_at(f->vm.shadow.root)[i], 0);
	assert_int_equal(f->vm.shadow.nr_free, L1_SHADOW_POOL_PAGES - 1);
	assert_int_equal(f->vm.shadow.flushes, 1);
	assert_int_equal(f->vm.shadow.peak, 5);
}

static void test_shadow__spent_pool_flushes_and_still_fills(void **state)
{
	struct fixture *f = *state;
	struct l1_shadow_fault_info fi;
	unsigned int flushed_at = 0;

	sx_init(f);
	/* PML4 slots 1-100 all point at the boot PDPT: each needs a
	 * shadow PDPT, PD and PT of its own, 3 pages of the 127 free. */
	for (uint64_t i = 1; i <= 100; i++)
		*guest64(f, BOOT_PML4 + 8 * i) = BOOT_PDPT | PTE_P | PTE_RW;
	for (uint64_t i = 1; i <= 100; i++) {
		uint64_t va = (i << 39) + 0x5000;

		assert_int_equal(sx_fault(f, va, 0, &fi), L1_SHADOW_HIDDEN);
		if (fi.flushed && !flushed_at)
			flushed_at = (unsigned int)i;
		assert_int_equal(sx_entry(f, va, 1),
				 sx_l1(f, 0x5000) | PTE_P | PTE_A);
	}
	/* 42 slots fill 126 pages; the 43rd finds one page left, and so
	 * does the 85th. */
	assert_int_equal(flushed_at, 43);
	assert_int_equal(f->vm.shadow.flushes, 2);
	assert_int_equal(f->vm.shadow.hidden_faults, 100);
	assert_int_equal(f->vm.shadow.peak, L1_SHADOW_POOL_PAGES);
	assert_int_equal(f->vm.shadow.nr_free, L1_SHADOW_POOL_PAGES - 1 - 48);
	/* Slot 84 went with the second flush; slot 85 is there. */
	assert_int_equal(sx_entry(f, (84ull << 39) + 0x5000, 1), 0);
	assert_int_equal(sx_entry(f, (85ull << 39) + 0x5000, 1),
			 sx_l1(f, 0x5000) | PTE_P | PTE_A);
}

static void test_shadow__stats_print_four_result_lines(void **state)
{
	struct fixture *f = *state;
	struct l1_shadow_fault_info fi;

	sx_init(f);
	assert_int_equal(sx_fault(f, 0x5000, 0, &fi), L1_SHADOW_HIDDEN);
	assert_int_equal(sx_fault(f, 0, 0, &fi), L1_SHADOW_TRUE);
	sx_results[0] = '\0';
	shadow_stats_print(&f->vm);
	assert_string_equal(sx_results,
			    "RESULT l1_shadow_hidden_faults 1 count\n"
			    "RESULT l1_shadow_true_faults 1 count\n"
			    "RESULT l1_shadow_flushes 0 count\n"
			    "RESULT l1_shadow_pages_peak 4 count\n");
}

/* ---- uart.c ----------------------------------------------------------------- */

static void test_uart__lsr_reads_transmitter_empty(void **state)
{
	struct l1_uart u;

	(void)state;
	l1_uart_init(&u);
	assert_int_equal(l1_uart_read(&u, UART_LSR), 0x60);
	assert_int_equal(l1_uart_read(&u, UART_IIR), UART_IIR_NO_INT);
	assert_int_equal(l1_uart_read(&u, UART_RX), 0);
}

static void test_uart__dlab_banks_divisor_latch(void **state)
{
	struct l1_uart u;

	(void)state;
	l1_uart_init(&u);
	assert_int_equal(l1_uart_read(&u, UART_LCR), 0);
	l1_uart_write(&u, UART_LCR, UART_LCR_DLAB | UART_LCR_WLEN8);
	assert_int_equal(l1_uart_read(&u, UART_DLL), 12); /* 9600 baud */
	l1_uart_write(&u, UART_DLL, 1);
	l1_uart_write(&u, UART_DLM, 2);
	assert_int_equal(l1_uart_read(&u, UART_DLL), 1);
	assert_int_equal(l1_uart_read(&u, UART_DLM), 2);
	l1_uart_write(&u, UART_LCR, UART_LCR_WLEN8);
	assert_int_equal(l1_uart_read(&u, UART_IER), 0);
	assert_int_equal(l1_uart_read(&u, UART_LCR), UART_LCR_WLEN8);
}

static void test_uart__ier_mcr_keep_only_16550_bits(void **state)
{
	struct l1_uart u;

	(void)state;
	l1_uart_init(&u);
	l1_uart_write(&u, UART_IER, 0xff);
	l1_uart_write(&u, UART_MCR, 0xff);
	assert_int_equal(l1_uart_read(&u, UART_IER), 0x0f);
	assert_int_equal(l1_uart_read(&u, UART_MCR), 0x1f);
}

static void test_uart__iir_reports_thre_and_fifo_bits(void **state)
{
	struct l1_uart u;

	(void)state;
	l1_uart_init(&u);
	l1_uart_write(&u, UART_FCR, UART_FCR_ENABLE_FIFO | UART_FCR_TRIGGER_8);
	assert_int_equal(l1_uart_read(&u, UART_IIR), 0xc0 | UART_IIR_NO_INT);
	l1_uart_write(&u, UART_IER, UART_IER_THRI);
	assert_int_equal(l1_uart_read(&u, UART_IIR), 0xc0 | UART_IIR_THRI);
	l1_uart_write(&u, UART_FCR, 0);
	assert_int_equal(l1_uart_read(&u, UART_IIR), UART_IIR_THRI);
}

static void test_uart__msr_follows_mcr_in_loopback(void **state)
{
	struct l1_uart u;

	(void)state;
	l1_uart_init(&u);
	assert_int_equal(l1_uart_read(&u, UART_MSR),
			 UART_MSR_DCD | UART_MSR_DSR | UART_MSR_CTS);
	l1_uart_write(&u, UART_MCR, UART_MCR_LOOP | UART_MCR_RTS);
	assert_int_equal(l1_uart_read(&u, UART_MSR), UART_MSR_CTS);
	l1_uart_write(&u, UART_MCR,
		      UART_MCR_LOOP | UART_MCR_DTR | UART_MCR_OUT1 |
			      UART_MCR_OUT2);
	assert_int_equal(l1_uart_read(&u, UART_MSR),
			 UART_MSR_DSR | UART_MSR_RI | UART_MSR_DCD);
}

static void
test_uart__scratch_reads_back_and_status_ignores_writes(void **state)
{
	struct l1_uart u;

	(void)state;
	l1_uart_init(&u);
	l1_uart_write(&u, UART_SCR, 0x5a);
	l1_uart_write(&u, UART_LSR, 0);
	assert_int_equal(l1_uart_read(&u, UART_SCR), 0x5a);
	assert_int_equal(l1_uart_read(&u, UART_LSR), 0x60);
}

int main(void)
{
#define FX(t) cmocka_unit_test_setup_teardown(t, fx_setup, fx_teardown)
	const struct CMUnitTest tests[] = {
		FX(test_l2_boot__image_copied_and_bss_zeroed),
		FX(test_l2_boot__bootinfo_describes_l2_not_l1),
		FX(test_l2_boot__gdt_tss_match_boot_md),
		FX(test_l2_boot__page_tables_identity_map_16m),
		FX(test_l2_boot__odd_l2mem_maps_tail_with_4k_pages),
		FX(test_l2_boot__second_module_handed_on_to_l2),
		FX(test_l2_boot__no_module_fails_setup),
		FX(test_l2_boot__module_outside_l1_ram_fails_setup),
		FX(test_l2_boot__truncated_elf_fails_setup),
		FX(test_l2_boot__aarch64_image_fails_setup),
		FX(test_l2_boot__pie_image_fails_setup),
		FX(test_l2_boot__phdrs_past_file_end_fail_setup),
		FX(test_l2_boot__segment_below_1m_fails_setup),
		FX(test_l2_boot__segment_past_l2mem_fails_setup),
		FX(test_l2_boot__wrapping_segment_fails_setup),
		FX(test_l2_boot__filesz_over_memsz_fails_setup),
		FX(test_l2_boot__data_past_file_end_fails_setup),
		FX(test_l2_boot__vaddr_not_paddr_fails_setup),
		FX(test_l2_boot__overlapping_segments_fail_setup),
		FX(test_l2_boot__entry_outside_exec_segment_fails_setup),
		FX(test_l2_boot__module_too_big_for_l2mem_fails_setup),
		cmocka_unit_test(test_ept__2m_pages_then_4k_tail_map_base),
		cmocka_unit_test(test_ept__without_2m_support_uses_4k_pages),
		cmocka_unit_test(test_ept__ad_capability_sets_eptp_bit_6),
		cmocka_unit_test(test_ept__uc_only_processor_gets_uc_eptp),
		cmocka_unit_test(test_ept__no_4_level_walk_is_fatal),
		cmocka_unit_test(test_ept__out_of_l1_memory_fails_setup),
		cmocka_unit_test(
			test_ept__1g_plus_2m_needs_two_page_directories),
		FX(test_shadow__read_of_clean_2m_page_maps_4k_read_only),
		FX(test_shadow__write_sets_dirty_and_maps_writable),
		FX(test_shadow__not_present_page_is_true_fault_p_clear),
		FX(test_shadow__user_access_to_supervisor_page_is_true_fault),
		FX(test_shadow__write_to_read_only_page_faults_at_cpl0),
		FX(test_shadow__reserved_bits_give_rsvd_fault),
		FX(test_shadow__xd_page_refuses_fetch_and_leaf_carries_xd),
		FX(test_shadow__smep_refuses_supervisor_fetch_of_user_page),
		FX(test_shadow__page_outside_l2_ram_is_bad_gpa),
		FX(test_shadow__1g_page_maps_and_invlpg_drops_whole_gib),
		FX(test_shadow__invlpg_of_4k_page_drops_only_its_leaf),
		FX(test_shadow__invlpg_in_2m_page_drops_every_leaf_of_it),
		FX(test_shadow__flush_empties_root_and_pool),
		FX(test_shadow__spent_pool_flushes_and_still_fills),
		FX(test_shadow__stats_print_four_result_lines),
		cmocka_unit_test(test_uart__lsr_reads_transmitter_empty),
		cmocka_unit_test(test_uart__dlab_banks_divisor_latch),
		cmocka_unit_test(test_uart__ier_mcr_keep_only_16550_bits),
		cmocka_unit_test(test_uart__iir_reports_thre_and_fifo_bits),
		cmocka_unit_test(test_uart__msr_follows_mcr_in_loopback),
		cmocka_unit_test(
			test_uart__scratch_reads_back_and_status_ignores_writes),
	};
#undef FX
	return cmocka_run_group_tests(tests, NULL, NULL);
}
