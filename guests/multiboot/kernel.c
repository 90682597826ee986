/* SPDX-License-Identifier: MIT */
/*
 * The multiboot test kernel's 64-bit part: after entry.S has taken the
 * CPU from 32-bit protected mode into long mode, print the multiboot
 * information the loader handed over (Multiboot 0.6.96, section 3.3:
 * memory, command line, modules, memory map, loader name), what the CPU
 * says about itself, and a few computed results; exit through the runtime
 * (debug-exit port, then Bochs' shutdown port). Guest side.
 */
#include "guests/rt/rt.h"

#define MB_BOOTLOADER_MAGIC 0x2badb002u
#define MB_INFO_MEMORY (1u << 0)
#define MB_INFO_CMDLINE (1u << 2)
#define MB_INFO_MODS (1u << 3)
#define MB_INFO_MEM_MAP (1u << 6)
#define MB_INFO_LOADER_NAME (1u << 9)

struct mb_info {
	uint32_t flags;
	uint32_t mem_lower, mem_upper;
	uint32_t boot_device;
	uint32_t cmdline;
	uint32_t mods_count, mods_addr;
	uint32_t syms[4];
	uint32_t mmap_length, mmap_addr;
	uint32_t drives_length, drives_addr;
	uint32_t config_table;
	uint32_t boot_loader_name;
};

struct mb_module {
	uint32_t mod_start, mod_end, string, reserved;
};

struct mb_mmap_entry {
	uint32_t size;
	uint64_t addr, len;
	uint32_t type;
} __attribute__((packed));

void kmain(uint32_t magic, uint32_t info) __attribute__((noreturn));

/* The runtime's 64-bit entry (rt_main) calls main; a multiboot kernel
 * enters through kmain instead, so this is never reached. */
int main(const struct nestvm_bootinfo *bi)
{
	(void)bi;
	return 0xff;
}

static const char *str_at(uint32_t pa)
{
	return (const char *)(uintptr_t)pa;
}

/* FNV-1a over a module's bytes: proves the kernel reads what was loaded. */
static uint32_t fnv1a(const uint8_t *p, uint32_t n)
{
	uint32_t h = 2166136261u;

	while (n--)
		h = (h ^ *p++) * 16777619u;
	return h;
}

static uint64_t rdmsr(uint32_t idx)
{
	uint32_t lo, hi;

	__asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(idx));
	return ((uint64_t)hi << 32) | lo;
}

static unsigned int count_primes(unsigned int below)
{
	unsigned int n = 0;

	for (unsigned int k = 2; k < below; k++) {
		unsigned int d = 2;

		while (d * d <= k && k % d)
			d++;
		n += d * d > k;
	}
	return n;
}

static void print_info(const struct mb_info *mbi)
{
	printf("flags %#x\n", mbi->flags);
	if (mbi->flags & MB_INFO_MEMORY)
		printf("mem_lower %u KiB, mem_upper %u KiB\n", mbi->mem_lower,
		       mbi->mem_upper);
	if (mbi->flags & MB_INFO_CMDLINE)
		printf("cmdline '%s'\n", str_at(mbi->cmdline));
	if (mbi->flags & MB_INFO_LOADER_NAME)
		printf("loader '%s'\n", str_at(mbi->boot_loader_name));
	if (mbi->flags & MB_INFO_MODS) {
		const struct mb_module *m =
			(const struct mb_module *)(uintptr_t)mbi->mods_addr;

		printf("modules %u\n", mbi->mods_count);
		for (uint32_t k = 0; k < mbi->mods_count; k++)
			printf("module %u: '%s' %u bytes, page-aligned %s, "
			       "fnv1a %#x\n",
			       k, str_at(m[k].string),
			       m[k].mod_end - m[k].mod_start,
			       (m[k].mod_start & 0xfff) ? "no" : "yes",
			       fnv1a((const uint8_t *)(uintptr_t)m[k].mod_start,
				     m[k].mod_end - m[k].mod_start));
	}
	if (mbi->flags & MB_INFO_MEM_MAP) {
		uint32_t off = 0;

		while (off < mbi->mmap_length) {
			const struct mb_mmap_entry *e =
				(const struct mb_mmap_entry
					 *)(uintptr_t)(mbi->mmap_addr + off);

			printf("mmap %#llx-%#llx type %u\n",
			       (unsigned long long)e->addr,
			       (unsigned long long)(e->addr + e->len - 1),
			       e->type);
			off += e->size + 4;
		}
	}
}

void kmain(uint32_t magic, uint32_t info)
{
	struct cpuid_regs r = cpuid(0, 0);
	char vendor[13];
	uint64_t cr0, cr4, fib[2] = { 0, 1 };

	printf("multiboot kernel: magic %#x %s\n", magic,
	       magic == MB_BOOTLOADER_MAGIC ? "ok" : "BAD");
	if (magic != MB_BOOTLOADER_MAGIC)
		exit(2);
	print_info((const struct mb_info *)(uintptr_t)info);

	memcpy(vendor, &r.ebx, 4);
	memcpy(vendor + 4, &r.edx, 4);
	memcpy(vendor + 8, &r.ecx, 4);
	vendor[12] = '\0';
	__asm__ volatile("mov %%cr0, %0" : "=r"(cr0));
	__asm__ volatile("mov %%cr4, %0" : "=r"(cr4));
	printf("cpu '%s', long mode: efer %#llx cr0.pg %u cr4.pae %u\n", vendor,
	       (unsigned long long)rdmsr(0xc0000080), (unsigned)(cr0 >> 31) & 1,
	       (unsigned)(cr4 >> 5) & 1);

	for (int k = 0; k < 90; k++) {
		uint64_t t = fib[0] + fib[1];

		fib[0] = fib[1];
		fib[1] = t;
	}
	printf("fib(90) = %llu\n", (unsigned long long)fib[0]);
	printf("primes below 10000: %u\n", count_primes(10000));
	exit(0);
}
