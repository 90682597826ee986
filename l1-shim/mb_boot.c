/* SPDX-License-Identifier: MIT */
/*
 * mb_boot.c - l1-shim's multiboot front end: turns the Multiboot 0.6.96
 * information block (section 3.3: mem_upper, the command line, the module
 * list) into the struct nestvm_bootinfo that main() takes, so the same
 * l1-shim boots from nestvm's multiboot loader, QEMU's -kernel or GRUB.
 * Runs in 64-bit mode after mb_entry.S. l1-shim side (L1).
 */
#include "guests/rt/rt.h"

#define MB_BOOTLOADER_MAGIC 0x2badb002u
#define MB_INFO_MEMORY (1u << 0)
#define MB_INFO_CMDLINE (1u << 2)
#define MB_INFO_MODS (1u << 3)

/* mb_entry.S maps the first 4 GiB; RAM above is not used. */
#define MB_MAPPED_END (4ull << 30)

struct mb_info {
	uint32_t flags;
	uint32_t mem_lower, mem_upper; /* KiB below 640K; KiB above 1 MiB */
	uint32_t boot_device;
	uint32_t cmdline;
	uint32_t mods_count, mods_addr;
};

struct mb_module {
	uint32_t mod_start, mod_end, string, reserved;
};

extern char __image_start[], __image_end[];

void mb_main(uint32_t magic, uint32_t info) __attribute__((noreturn));

static struct nestvm_bootinfo mb_bi;
static struct nestvm_boot_module mb_mods[NESTVM_MODULES_MAX];
static char mb_cmdline[NESTVM_CMDLINE_MAX];

/* The last path component of the string's first word: nestvm's loader
 * names a module by its file's base name, and so does this. */
static void mb_module_name(char *dst, const char *s)
{
	const char *w = s, *base = s;
	size_t n = 0;

	for (; *w && *w != ' '; w++)
		if (*w == '/')
			base = w + 1;
	while (base + n < w && n < NESTVM_MODULE_NAME_MAX - 1) {
		dst[n] = base[n];
		n++;
	}
	dst[n] = '\0';
}

/* A multiboot command line starts with the kernel's own name (GRUB and
 * QEMU put it there, and nestvm's loader does the same); l1-shim's words
 * follow it. */
static void mb_copy_cmdline(const char *s)
{
	size_t n = 0;

	while (*s && *s != ' ')
		s++;
	while (*s == ' ')
		s++;
	while (s[n] && n < sizeof(mb_cmdline) - 1) {
		mb_cmdline[n] = s[n];
		n++;
	}
	mb_cmdline[n] = '\0';
}

void mb_main(uint32_t magic, uint32_t info)
{
	const struct mb_info *mbi = (const struct mb_info *)(uintptr_t)info;
	uint64_t free_start = (uint64_t)(uintptr_t)__image_end;
	uint64_t mem;

	if (magic != MB_BOOTLOADER_MAGIC || !mbi) {
		printf("l1-shim: not started by a multiboot loader (EAX %#x)\n",
		       magic);
		exit(0xff);
	}
	if (!(mbi->flags & MB_INFO_MEMORY)) {
		printf("l1-shim: the multiboot loader gave no memory size\n");
		exit(0xff);
	}
	/* RAM is contiguous from 1 MiB up to the first hole; below 1 MiB
	 * only the loader's structures and the legacy area. */
	mem = (1ull << 20) + ((uint64_t)mbi->mem_upper << 10);
	if (mem > MB_MAPPED_END)
		mem = MB_MAPPED_END;
	if (mbi->flags & MB_INFO_CMDLINE)
		mb_copy_cmdline((const char *)(uintptr_t)mbi->cmdline);
	if (mbi->flags & MB_INFO_MODS) {
		const struct mb_module *m =
			(const struct mb_module *)(uintptr_t)mbi->mods_addr;
		uint32_t n = mbi->mods_count;

		if (n > NESTVM_MODULES_MAX) {
			printf("l1-shim: %u multiboot modules, at most %u\n", n,
			       NESTVM_MODULES_MAX);
			exit(0xff);
		}
		for (uint32_t i = 0; i < n; i++) {
			uint64_t end = m[i].mod_end;

			/* l2_boot_build() checks each lies inside RAM. */
			mb_mods[i].start = m[i].mod_start;
			mb_mods[i].size =
				end > m[i].mod_start ? end - m[i].mod_start : 0;
			if (m[i].string)
				mb_module_name(
					mb_mods[i].name,
					(const char *)(uintptr_t)m[i].string);
			if (end > free_start)
				free_start = end;
		}
		mb_bi.nr_modules = n;
	}
	mb_bi.magic = NESTVM_BOOTINFO_MAGIC;
	mb_bi.version = NESTVM_BOOTINFO_VERSION;
	mb_bi.mem_size = mem;
	mb_bi.cmdline = (uint64_t)(uintptr_t)mb_cmdline;
	mb_bi.modules = (uint64_t)(uintptr_t)mb_mods;
	mb_bi.free_start = (free_start + 0xfff) & ~0xfffull;
	mb_bi.image_start = (uint64_t)(uintptr_t)__image_start;
	mb_bi.image_end = (uint64_t)(uintptr_t)__image_end;
	rt_main(&mb_bi);
}
