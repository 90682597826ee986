/* SPDX-License-Identifier: MIT */
/*
 * test_fuzz.c - the fuzz targets (docs/fuzzing.md) as a regression test:
 * every file of tests/fuzz/corpus/NAME/ (seeds and the inputs of past
 * findings) goes through the target built by gcc, the seeds are checked
 * to still be valid inputs, and where `ninja fuzz` built the libFuzzer
 * binaries, each runs its bounded smoke (tests/fuzz/smoke.sh); without
 * them those tests are skipped. `test_fuzz --write-seeds DIR` writes the
 * generated seeds. Host side, tests only.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <elf.h>
#include <errno.h>
#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "arch/bootinfo.h"
#include "arch/ept.h"
#include "arch/vmcs.h"
#include "l0/loader.h"
#include "l0/profile.h"
#include "tests/fuzz/fuzz.h"
#include "tests/fuzz/fuzz_vmcs12.h"
#include "tests/lib/run_cmd.h"
#include "tests/unit/vmcs12_fixture.h"
#include "vmcs-merge/caps.h"
#include "vtx/vtx.h"

#define CORPUS "tests/fuzz/corpus"

/* ---- the generated seeds ----------------------------------------------------- */

/*
 * A minimal valid image: one PT_LOAD at BOOT_IMAGE_MIN holding the headers
 * and a HLT (f4) as the entry point, with a page of BSS; and a second
 * writable PT_LOAD a page above it with 16 bytes of data and BSS.
 */
static size_t seed_elf(uint8_t *b, size_t cap)
{
	const size_t code = sizeof(Elf64_Ehdr) + 2 * sizeof(Elf64_Phdr);
	const size_t size = code + 1 + 16;
	Elf64_Ehdr eh = {
		.e_ident = { ELFMAG0, ELFMAG1, ELFMAG2, ELFMAG3, ELFCLASS64,
			     ELFDATA2LSB, EV_CURRENT },
		.e_type = ET_EXEC,
		.e_machine = EM_X86_64,
		.e_version = EV_CURRENT,
		.e_entry = BOOT_IMAGE_MIN + code,
		.e_phoff = sizeof(Elf64_Ehdr),
		.e_ehsize = sizeof(Elf64_Ehdr),
		.e_phentsize = sizeof(Elf64_Phdr),
		.e_phnum = 2,
	};
	Elf64_Phdr ph[2] = {
		{ .p_type = PT_LOAD,
		  .p_flags = PF_R | PF_X,
		  .p_offset = 0,
		  .p_vaddr = BOOT_IMAGE_MIN,
		  .p_paddr = BOOT_IMAGE_MIN,
		  .p_filesz = code + 1,
		  .p_memsz = PAGE_SIZE,
		  .p_align = PAGE_SIZE },
		{ .p_type = PT_LOAD,
		  .p_flags = PF_R | PF_W,
		  .p_offset = code + 1,
		  .p_vaddr = BOOT_IMAGE_MIN + PAGE_SIZE,
		  .p_paddr = BOOT_IMAGE_MIN + PAGE_SIZE,
		  .p_filesz = 16,
		  .p_memsz = 2 * PAGE_SIZE,
		  .p_align = 1 },
	};

	assert_true(size <= cap);
	memset(b, 0, size);
	memcpy(b, &eh, sizeof(eh));
	memcpy(b + sizeof(eh), ph, sizeof(ph));
	b[code] = 0xf4;
	memset(b + code + 1, 0x11, 16);
	return size;
}

/* The test fixture's valid vmcs12 in the fuzz target's layout, with EPT
 * (the ept12 the target writes) when ept; then the flags byte and L2's
 * code (CPUID; HLT). */
static size_t seed_vmcs12(uint8_t *b, size_t cap, bool ept)
{
	static const uint8_t l2[] = { 0x0f, 0xa2, 0xf4 };
	struct vtx_machine_config cfg = { .arena_size = MiB(2) };
	struct nested_vmx_caps caps;
	struct vtx_machine *m;
	struct vtx_cpu *cpu;
	struct vmcs12 v;

	assert_true(FUZZ_VMCS12_IMAGE + 1 + sizeof(l2) <= cap);
	assert_int_equal(vtx_machine_create(&cfg, &m), 0);
	assert_int_equal(vtx_cpu_create(m, &cpu), 0);
	assert_int_equal(nested_vmx_caps_init(&caps, cpu), 0);
	vmcs12_fixture_init(&v, &caps,
			    ept ? vmx_build_eptp(FUZZ_VMCS12_EPT12, 4, false)
				: 0,
			    FUZZ_VMCS12_L2_CODE, FUZZ_VMCS12_L2_STACK,
			    FUZZ_VMCS12_L1_HOST_RIP, FUZZ_VMCS12_L1_STACK);
	vtx_cpu_destroy(cpu);
	vtx_machine_destroy(m);
	memset(b, 0, FUZZ_VMCS12_IMAGE);
	memcpy(b, &v, sizeof(v));
	b[FUZZ_VMCS12_IMAGE] = 0;
	memcpy(b + FUZZ_VMCS12_IMAGE + 1, l2, sizeof(l2));
	return FUZZ_VMCS12_IMAGE + 1 + sizeof(l2);
}

/* The layout of tests/fuzz/fuzz_ept12.c's input. */
struct ept12_seed {
	uint64_t eptp_a, eptp_b;
	uint64_t probe[8];
	uint8_t area_pages, pad[7];
	uint64_t ram[6][PAGE_SIZE / 8]; /* L1-physical 0 .. 0x6000 */
};

/*
 * ept12 A (root at 0x1000): PML4 -> PDPT 0x2000 -> PD 0x3000 -> PT 0x4000
 * whose 16 PTEs map L2 pages 0-15 to L1 pages 15-0 (RWX, WB); PD entry 1
 * a 2 MiB leaf at L1-physical 0 (read-only); PDPT entry 1 a 1 GiB leaf.
 * ept12 B (root at 0x5000) reuses A's PDPT. The probes read, write and
 * fetch through each kind of leaf; probe 4 reaches L1-physical 0x10000,
 * just past L1's RAM.
 */
static size_t seed_ept12(uint8_t *b, size_t cap)
{
	static struct ept12_seed s;
	const uint64_t wb = EPT_MT(EPT_MT_WB);

	assert_true(sizeof(s) <= cap);
	memset(&s, 0, sizeof(s));
	s.eptp_a = vmx_build_eptp(0x1000, 4, false);
	s.eptp_b = vmx_build_eptp(0x5000, 4, false);
	s.ram[1][0] = 0x2000 | EPT_RWX;
	s.ram[2][0] = 0x3000 | EPT_RWX;
	s.ram[2][1] = EPT_RWX | EPT_LARGE | wb;
	s.ram[3][0] = 0x4000 | EPT_RWX;
	s.ram[3][1] = EPT_READ | EPT_LARGE | wb;
	for (unsigned int i = 0; i < 16; i++)
		s.ram[4][i] = ((15 - i) * PAGE_SIZE) | EPT_RWX | wb;
	s.ram[5][0] = 0x2000 | EPT_READ;
	s.probe[0] = 0x0000 | EPT_READ;
	s.probe[1] = 0x3010 | EPT_WRITE;
	s.probe[2] = 0xf000 | EPT_EXEC;
	s.probe[3] = 0x200000 | EPT_WRITE;
	s.probe[4] = 0x210000 | EPT_READ;
	s.probe[5] = 0x40003000 | EPT_READ;
	s.probe[6] = 0x10000 | EPT_READ;
	s.probe[7] = 0x7fffffffff000ull | EPT_READ;
	s.area_pages = 60;
	memcpy(b, &s, sizeof(s));
	return sizeof(s);
}

static void write_file(const char *path, const uint8_t *b, size_t n)
{
	FILE *f = fopen(path, "wb");

	if (!f || fwrite(b, 1, n, f) != n || fclose(f)) {
		fprintf(stderr, "test_fuzz: cannot write %s\n", path);
		exit(1);
	}
}

static uint8_t *read_file(const char *path, size_t *n)
{
	struct loader_file lf;
	char err[256];
	uint8_t *copy;

	assert_int_equal(loader_read_file(path, MiB(1), &lf, err, sizeof(err)),
			 0);
	/* An exact-size copy, so that the sanitizer sees any overread. */
	copy = malloc(lf.size ? lf.size : 1);
	assert_non_null(copy);
	if (lf.size)
		memcpy(copy, lf.data, lf.size);
	*n = lf.size;
	loader_free_file(&lf);
	return copy;
}

/* ---- replaying the corpus -------------------------------------------------------- */

static unsigned int replay_dir(const char *name,
			       int (*one)(const uint8_t *, size_t))
{
	char dir[256], path[512];
	unsigned int count = 0;
	struct dirent *d;
	DIR *dp;

	snprintf(dir, sizeof(dir), "%s/%s", CORPUS, name);
	dp = opendir(dir);
	assert_non_null(dp);
	while ((d = readdir(dp))) {
		uint8_t *data;
		size_t n;

		if (d->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, d->d_name);
		data = read_file(path, &n);
		assert_int_equal(one(data, n), 0);
		free(data);
		count++;
	}
	closedir(dp);
	return count;
}

static void test_fuzz_elf__corpus_replays_without_finding(void **state)
{
	(void)state;
	assert_true(replay_dir("elf", fuzz_elf_one_input) >= 1);
}

static void test_fuzz_profile__corpus_replays_without_finding(void **state)
{
	(void)state;
	assert_true(replay_dir("profile", fuzz_profile_one_input) >= 2);
}

static void test_fuzz_vmcs12__corpus_replays_without_finding(void **state)
{
	(void)state;
	assert_true(replay_dir("vmcs12", fuzz_vmcs12_one_input) >= 2);
}

static void test_fuzz_l1vmx__corpus_replays_without_finding(void **state)
{
	(void)state;
	assert_true(replay_dir("l1vmx", fuzz_l1vmx_one_input) >= 3);
}

static void test_fuzz_cmdline__corpus_replays_without_finding(void **state)
{
	(void)state;
	assert_true(replay_dir("cmdline", fuzz_cmdline_one_input) >= 3);
}

/* The dictionary of VMCS encodings, one 4-byte little-endian token per
 * field of arch/vmcs_fields.def (and its _HIGH half for 64-bit fields). */
static size_t vmcs_dict(char *b, size_t cap)
{
	static const struct {
		const char *name;
		uint32_t enc;
	} fields[] = {
#define VMCS_FIELD(name, enc, member, sync, shadow) { #name, enc },
#include "arch/vmcs_fields.def"
#undef VMCS_FIELD
	};
	size_t n = 0;

	n += snprintf(b + n, cap - n,
		      "# VMCS field encodings, generated from "
		      "arch/vmcs_fields.def\n"
		      "# by `build/tests/fuzz/test_fuzz --write-seeds "
		      "tests/fuzz/corpus`.\n");
	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
		for (unsigned int high = 0; high < 2; high++) {
			uint32_t e = fields[i].enc | high;

			if (high && VMCS_ENC_WIDTH_CODE(fields[i].enc) != 1)
				continue;
			n += snprintf(b + n, cap - n,
				      "%s%s=\"\\x%02x\\x%02x\\x%02x\\x%02x\"\n",
				      fields[i].name, high ? "_HIGH" : "",
				      e & 0xff, (e >> 8) & 0xff,
				      (e >> 16) & 0xff, e >> 24);
			assert_true(n < cap);
		}
	}
	return n;
}

static void test_fuzz_ept12__corpus_replays_without_finding(void **state)
{
	(void)state;
	assert_true(replay_dir("ept12", fuzz_ept12_one_input) >= 1);
}

/* ---- the isolation rule: L1's memory only through mmu/l1mem.c ----------------- */

/*
 * L0 (l0/, vmcs-merge/, mmu/) reaches L1's memory only through
 * mmu/l1mem.c, which checks every range against L1's RAM and copies once
 * (docs/security.md). The rule as a check: outside l1mem.c, every call of
 * vtx_hpa_ptr(), vtx_hpa_read() or vtx_hpa_write() is listed here with
 * why its address cannot come from L1: L0's own pages (the L0 area), or
 * setup before any guest runs (images, modules, the boot contract). A new
 * call fails this test until it is listed, with its reason, or goes
 * through l1mem.
 */
static const struct hpa_user {
	const char *path;
	unsigned int calls;
	const char *why;
} hpa_users[] = {
	{ "l0/boot.c", 1, "boot contract written before the guest runs" },
	{ "l0/loader.c", 2, "ELF segments copied before the guest runs" },
	{ "l0/main.c", 1, "modules copied before the guest runs" },
	{ "l0/multiboot.c", 1, "multiboot image and info before the run" },
	{ "l0/vm.c", 4, "L0-area pages: MSR, VMREAD/VMWRITE bitmaps, VMCS" },
	{ "mmu/ept.c", 2, "ept01/ept02 tables, L0-area pages" },
	{ "mmu/ept02_wp.c", 4, "ept02 tables, L0-area pages" },
	{ "mmu/l0_area.c", 1, "the L0 area's allocator zeroing its pages" },
	{ "l0/shadow_vm.c", 1, "vmcs01's MSR bitmap (L0 area)" },
	{ "mmu/shadow.c", 2,
	  "shadow tables (L0 area); A/D bits into L1's PTEs at addresses "
	  "l1mem_gpa_to_hpa() checked, without the zap hook on purpose" },
	{ "l0/bt/translate.c", 9,
	  "the translation cache and its vCPU page (L0 area)" },
	{ "l0/bt_l1.c", 4,
	  "L1's translation cache tables and container VMCS (L0 area)" },
};

static unsigned int count_hpa_calls(const char *path)
{
	static const char *const names[] = { "vtx_hpa_ptr(", "vtx_hpa_read(",
					     "vtx_hpa_write(" };
	size_t n;
	uint8_t *text = read_file(path, &n);
	char *s = malloc(n + 1);
	unsigned int calls = 0;

	assert_non_null(s);
	memcpy(s, text, n);
	s[n] = '\0';
	for (size_t k = 0; k < 3; k++)
		for (char *p = strstr(s, names[k]); p;
		     p = strstr(p + 1, names[k]))
			calls++;
	free(s);
	free(text);
	return calls;
}

static void test_isolation__l1_memory_only_through_l1mem(void **state)
{
	static const char *const dirs[] = { "l0/*.c", "l0/*/*.c",
					    "vmcs-merge/*.c", "mmu/*.c" };
	unsigned int bad = 0;

	(void)state;
	for (size_t d = 0; d < 4; d++) {
		glob_t g;

		assert_int_equal(glob(dirs[d], 0, NULL, &g), 0);
		for (size_t i = 0; i < g.gl_pathc; i++) {
			const char *path = g.gl_pathv[i];
			unsigned int calls = count_hpa_calls(path), want = 0;

			if (!strcmp(path, "mmu/l1mem.c"))
				continue;
			for (size_t k = 0; k < ARRAY_SIZE(hpa_users); k++)
				if (!strcmp(path, hpa_users[k].path))
					want = hpa_users[k].calls;
			if (calls != want) {
				print_message("%s: %u vtx_hpa_* calls, %u "
					      "listed (tests/fuzz/test_fuzz.c, "
					      "hpa_users)\n",
					      path, calls, want);
				bad++;
			}
		}
		globfree(&g);
	}
	assert_int_equal(bad, 0);
}

/* ---- the seeds stay what they claim to be ----------------------------------------- */

static void expect_seed(const char *path, const uint8_t *want, size_t n)
{
	size_t got_n;
	uint8_t *got = read_file(path, &got_n);

	assert_int_equal(got_n, n);
	assert_memory_equal(got, want, n);
	free(got);
}

/* The committed seeds are the generated ones: a vmcs12 layout change
 * makes this fail until `test_fuzz --write-seeds` is rerun. */
static void test_fuzz_seeds__match_their_generators(void **state)
{
	static uint8_t b[65536];

	(void)state;
	expect_seed(CORPUS "/elf/seed-two-segments.elf", b,
		    seed_elf(b, sizeof(b)));
	expect_seed(CORPUS "/vmcs12/seed-fixture", b,
		    seed_vmcs12(b, sizeof(b), false));
	expect_seed(CORPUS "/vmcs12/seed-fixture-ept", b,
		    seed_vmcs12(b, sizeof(b), true));
	expect_seed(CORPUS "/ept12/seed-two-eptps", b,
		    seed_ept12(b, sizeof(b)));
	expect_seed("tests/fuzz/dict/vmcs.dict", b,
		    vmcs_dict((char *)b, sizeof(b)));
}

/* Seeds the parsers reject would start the fuzzers at the first check. */
static void test_fuzz_seeds__elf_and_profiles_are_accepted(void **state)
{
	static uint8_t b[4096];
	struct l0_profile p;
	struct loader_elf elf;
	char err[256];
	size_t n = seed_elf(b, sizeof(b));
	const char *profiles[] = { CORPUS "/profile/nehalem.profile",
				   CORPUS "/profile/p4-prescott.profile" };

	(void)state;
	assert_int_equal(
		loader_parse_elf("seed", b, n, MiB(2), &elf, err, sizeof(err)),
		0);
	assert_int_equal(elf.nr_segs, 2);
	assert_int_equal(elf.entry, BOOT_IMAGE_MIN + 64 + 2 * 56);
	for (size_t i = 0; i < 2; i++) {
		uint8_t *t = read_file(profiles[i], &n);

		assert_int_equal(profile_parse(profiles[i], (const char *)t, n,
					       &p, err, sizeof(err)),
				 0);
		free(t);
	}
}

/* ---- the libFuzzer smoke, when built -------------------------------------------- */

/* The sanitizer variant leaves the smoke to the plain one: it would run
 * the same fuzzers again. */
#ifndef TEST_FUZZ_NO_SMOKE

static void smoke(const char *name)
{
	char fuzzer[128];
	char *argv[] = { "tests/fuzz/smoke.sh", (char *)name, NULL };
	struct cmd_result r;

	snprintf(fuzzer, sizeof(fuzzer), "build/fuzz/fuzz_%s", name);
	if (access(fuzzer, X_OK)) {
		print_message("%s not built (ninja fuzz): skipped\n", fuzzer);
		skip();
		return;
	}
	assert_int_equal(run_cmd(argv, 120, &r), 0);
	if (r.exit_code)
		print_message("%s%s", r.out, r.err);
	assert_int_equal(r.exit_code, 0);
	cmd_result_free(&r);
}

static void test_fuzz_elf__smoke_run_finds_nothing(void **state)
{
	(void)state;
	smoke("elf");
}

static void test_fuzz_profile__smoke_run_finds_nothing(void **state)
{
	(void)state;
	smoke("profile");
}

static void test_fuzz_vmcs12__smoke_run_finds_nothing(void **state)
{
	(void)state;
	smoke("vmcs12");
}

static void test_fuzz_ept12__smoke_run_finds_nothing(void **state)
{
	(void)state;
	smoke("ept12");
}

static void test_fuzz_l1vmx__smoke_run_finds_nothing(void **state)
{
	(void)state;
	smoke("l1vmx");
}

static void test_fuzz_cmdline__smoke_run_finds_nothing(void **state)
{
	(void)state;
	smoke("cmdline");
}
#endif

static int write_seeds(const char *dir)
{
	static uint8_t b[65536];
	char path[512];

	snprintf(path, sizeof(path), "%s/elf/seed-two-segments.elf", dir);
	write_file(path, b, seed_elf(b, sizeof(b)));
	snprintf(path, sizeof(path), "%s/vmcs12/seed-fixture", dir);
	write_file(path, b, seed_vmcs12(b, sizeof(b), false));
	snprintf(path, sizeof(path), "%s/vmcs12/seed-fixture-ept", dir);
	write_file(path, b, seed_vmcs12(b, sizeof(b), true));
	snprintf(path, sizeof(path), "%s/ept12/seed-two-eptps", dir);
	write_file(path, b, seed_ept12(b, sizeof(b)));
	snprintf(path, sizeof(path), "%s/../dict/vmcs.dict", dir);
	write_file(path, b, vmcs_dict((char *)b, sizeof(b)));
	return 0;
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fuzz_elf__corpus_replays_without_finding),
		cmocka_unit_test(
			test_fuzz_profile__corpus_replays_without_finding),
		cmocka_unit_test(
			test_fuzz_vmcs12__corpus_replays_without_finding),
		cmocka_unit_test(
			test_fuzz_ept12__corpus_replays_without_finding),
		cmocka_unit_test(
			test_fuzz_l1vmx__corpus_replays_without_finding),
		cmocka_unit_test(
			test_fuzz_cmdline__corpus_replays_without_finding),
		cmocka_unit_test(test_fuzz_seeds__match_their_generators),
		cmocka_unit_test(test_isolation__l1_memory_only_through_l1mem),
		cmocka_unit_test(
			test_fuzz_seeds__elf_and_profiles_are_accepted),
#ifndef TEST_FUZZ_NO_SMOKE
		cmocka_unit_test(test_fuzz_elf__smoke_run_finds_nothing),
		cmocka_unit_test(test_fuzz_profile__smoke_run_finds_nothing),
		cmocka_unit_test(test_fuzz_vmcs12__smoke_run_finds_nothing),
		cmocka_unit_test(test_fuzz_ept12__smoke_run_finds_nothing),
		cmocka_unit_test(test_fuzz_l1vmx__smoke_run_finds_nothing),
		cmocka_unit_test(test_fuzz_cmdline__smoke_run_finds_nothing),
#endif
	};

	if (argc == 3 && !strcmp(argv[1], "--write-seeds"))
		return write_seeds(argv[2]);
	if (argc != 1) {
		fprintf(stderr,
			"usage: test_fuzz [--write-seeds CORPUS-DIR]\n");
		return 2;
	}
	return cmocka_run_group_tests(tests, NULL, NULL);
}
