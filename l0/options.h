/* SPDX-License-Identifier: MIT */
/*
 * options.h - the nestvm command line: `nestvm run [--native] IMAGE
 * [flags]`, parsed into a struct that main() acts on, and the --help text.
 * Nothing here prints or exits. Monitor side.
 */
#ifndef NESTVM_L0_OPTIONS_H
#define NESTVM_L0_OPTIONS_H

#include "arch/bootinfo.h"
#include "mmu/ept.h"
#include "vmcs-merge/shadow.h"

#define NESTVM_VERSION "0.1.0"
#define NESTVM_DEFAULT_MEM MiB(64)
/* --timeout's largest value: what any time_t holds. */
#define NESTVM_TIMEOUT_MAX 2147483647u

enum nestvm_action {
	NESTVM_RUN,
	NESTVM_HELP,
	NESTVM_VERSION_INFO,
};

enum nestvm_level {
	NESTVM_LEVEL_NESTED, /* the guest is L1 under L0, with nested VMX */
	NESTVM_LEVEL_NATIVE, /* the guest runs with VMX off */
};

/* --vmm: who virtualizes the CPU for a single-level guest. */
enum nestvm_vmm {
	NESTVM_VMM_HW, /* L0 with VT-x (the default) */
	NESTVM_VMM_BT, /* L0's software VMM: kernel code translated (l0/bt/) */
};

/* --bt: L0's binary translation of L2's hot code regions (l0/bt_l2.h). */
enum nestvm_bt_mode {
	NESTVM_BT_OFF, /* L2 always runs on VT-x (the default) */
	NESTVM_BT_ADAPTIVE, /* a region is translated past the break-even */
	NESTVM_BT_ALWAYS, /* every region from its first exit (testing) */
};

enum nestvm_serial {
	NESTVM_SERIAL_STDIO,
	NESTVM_SERIAL_NONE,
	NESTVM_SERIAL_FILE,
};

struct nestvm_options {
	enum nestvm_action action;
	enum nestvm_level level;
	const char *image;
	uint64_t mem_size;
	const char *cmdline; /* NULL: empty */
	unsigned int nr_modules;
	const char *modules[NESTVM_MODULES_MAX];
	enum nestvm_serial serial;
	const char *serial_path; /* for NESTVM_SERIAL_FILE */
	bool qemu_exit_codes;
	uint64_t max_insns; /* 0: no limit */
	uint64_t timeout; /* --timeout, wall-clock seconds; 0: none */
	bool stats;
	const char *profile; /* --profile NAME|FILE; NULL: PROFILE_DEFAULT */
	bool prep_dirty; /* --prep dirty (default full) */
	enum vmcs_access_mode vmcs_access; /* --vmcs-access (default trap) */
	enum ept_coherence ept_coherence; /* --ept-coherence (invept) */
	bool mmu_shadow; /* --mmu shadow: L1 on shadow paging (default ept) */
	bool mmu_given; /* --mmu was on the command line */
	enum nestvm_vmm vmm; /* --vmm hw|bt (default hw) */
	enum nestvm_bt_mode bt_mode; /* --bt off|adaptive|always (off) */
	const char *json_path; /* --json FILE: the report as JSON; or NULL */
	/* --nested-state-out FILE: L0's nested state at the end (l0/nstate.h) */
	const char *nested_state_out;
	const char *trace_path; /* --trace FILE: the text trace; or NULL */
	const char *trace_json_path; /* --trace-json FILE; or NULL */
	uint64_t trace_limit; /* --trace-limit N events (0: none) */
	bool debug_crash; /* hidden: crash on purpose after setup */
};

/*
 * Parses argv (argv[0] is the program). Strings in opt point into argv.
 * Flags that take a value accept "--flag VALUE" and "--flag=VALUE".
 * 0, or -EINVAL with a one-line message in err (no "nestvm: " prefix).
 */
int options_parse(int argc, char *const argv[], struct nestvm_options *opt,
		  char *err, size_t errlen);

/*
 * Parses a memory size: a decimal number with an optional suffix K, M, G,
 * KiB, MiB or GiB (powers of 1024; no suffix means bytes). 0, or -EINVAL
 * for anything else or an overflow. Bounds are the caller's business.
 */
int options_parse_size(const char *s, uint64_t *out);

/* The --help text (ends with a newline). */
const char *options_usage(void);

#endif
