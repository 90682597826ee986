/* SPDX-License-Identifier: MIT */
/*
 * options.c - command-line parsing for nestvm: the `run` command, its level
 * (nested unless --native), and every run flag with its checks. Errors are one line for main()
 * to print; nothing here touches files or the machine. Monitor side.
 */
#include "l0/options.h"
#include "l0/errmsg.h"
#include "l0/trace.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static const char usage[] =
	"usage: nestvm run [--native] IMAGE [flags]\n"
	"       nestvm nested-state FILE   print a --nested-state-out "
	"snapshot\n"
	"       nestvm compare --workload NAME [flags]  (see nestvm compare "
	"--help)\n"
	"       nestvm -h | --help | --version\n"
	"\n"
	"Runs the 64-bit ELF guest IMAGE on the modeled x86-64 machine and "
	"exits\n"
	"with the status the guest wrote to the debug-exit port (0xf4).\n"
	"\n"
	"Levels:\n"
	"  (default)              run IMAGE as L1 under nestvm's monitor (L0), "
	"with\n"
	"                         nested VMX: a hypervisor image such as "
	"l1-shim\n"
	"                         runs its guest as L2; the exit counts go to\n"
	"                         stderr at the end\n"
	"  --native               run IMAGE directly on the machine, VMX off\n"
	"\n"
	"Flags:\n"
	"  --mem SIZE             guest RAM (default 64M); K, M, G, KiB, MiB, "
	"GiB;\n"
	"                         a 4 KiB multiple from 2M to 64G\n"
	"  --append STRING        command line for the guest (boot info), at "
	"most\n"
	"                         2047 bytes\n"
	"  --module FILE          load FILE after the image, page-aligned, and "
	"list\n"
	"                         it in the boot info (repeatable, up to 16)\n"
	"  --initrd FILE          the same as --module (QEMU's name for it)\n"
	"  --serial stdio|none|file:PATH\n"
	"                         where the UART at 0x3f8 writes (default "
	"stdio)\n"
	"  --qemu-exit-codes      exit with (v << 1) | 1 for a write of v to "
	"0xf4,\n"
	"                         as QEMU's isa-debug-exit does\n"
	"  --max-insns N          stop after N instructions (exit status 124)\n"
	"  --timeout SECONDS      stop the run after SECONDS of wall-clock time\n"
	"                         (a whole number, 1 to 2147483647; exit\n"
	"                         status 124); the report is still written\n"
	"  --stats                print the vCPU's counters to stderr at exit\n"
	"  --profile NAME|FILE    charge modeled cycles from a cost profile:\n"
	"                         p4-prescott, nehalem (the default: Turtles'\n"
	"                         test machine, whose figures the nested report\n"
	"                         is compared with), haswell, skylake-sp,\n"
	"                         cascade-lake, or a file (docs/cost-model.md)\n"
	"  --prep full|dirty      nested entry writes every vmcs02 field (full,\n"
	"                         the default) or only the groups L1 changed\n"
	"  --vmcs-access trap|shadow|shadow-all\n"
	"                         L1's VMREAD/VMWRITE: all exit to L0 (trap, the\n"
	"                         default), or VMCS shadowing of the hot fields\n"
	"                         (shadow) or of every field (shadow-all)\n"
	"  --ept-coherence invept|wp\n"
	"                         how ept02 follows L1's ept12: dropped on L1's\n"
	"                         INVEPT (invept, the default), or ept12 pages\n"
	"                         write-protected and their ept02 entries\n"
	"                         dropped on each write (wp)\n"
	"  --mmu ept|shadow       how L0 virtualizes L1's memory: EPT (ept, the\n"
	"                         default), or shadow page tables kept\n"
	"                         coherent by write-protecting L1's page\n"
	"                         tables (shadow; L1 in 4-level long mode)\n"
	"  --vmm hw|bt            who runs a single-level guest: L0 with VT-x\n"
	"                         (hw, the default) or L0's software VMM (bt:\n"
	"                         kernel code from a translation cache, on\n"
	"                         shadow page tables; docs/design/bt.md)\n"
	"  --bt off|adaptive|always\n"
	"                         nested runs: translate L2's code regions\n"
	"                         whose exits pass the profile's break-even\n"
	"                         (adaptive), every region (always), or none\n"
	"                         (off, the default); needs --vmcs-access bt\n"
	"  --json FILE            write the end-of-run report (levels, "
	"reflected\n"
	"                         exits, cycles) to FILE as JSON\n"
	"  --nested-state-out FILE\n"
	"                         when the run ends, write L0's nested state "
	"to\n"
	"                         FILE in KVM's uapi layout (struct\n"
	"                         kvm_nested_state); read it with\n"
	"                         'nestvm nested-state FILE'\n"
	"  --trace FILE           write a text trace of every VM exit, "
	"nested\n"
	"                         entry and reflection, kvm tracepoint style\n"
	"  --trace-json FILE      write a Chrome trace-event JSON (L0, L1, L2 "
	"as\n"
	"                         tracks) for Perfetto or chrome://tracing\n"
	"  --trace-limit N        stop tracing after N events (default "
	"100000,\n"
	"                         0: no limit); later ones are only counted\n"
	"  -h, --help             print this help and exit\n"
	"  --version              print the version and exit\n"
	"\n"
	"Exit status:\n"
	"  v & 0xff   the guest wrote v to port 0xf4\n"
	"  124        a limit ran out: --max-insns or --timeout (the line\n"
	"             before says which)\n"
	"  125        nestvm could not run the guest (bad flag, bad file, "
	"no memory,\n"
	"             or something the nested monitor does not handle yet)\n"
	"  126        the guest stopped the machine (triple fault, or halted "
	"with\n"
	"             nothing to wake it)\n";

const char *options_usage(void)
{
	return usage;
}

int options_parse_size(const char *s, uint64_t *out)
{
	static const struct {
		const char *suffix;
		unsigned int shift;
	} units[] = {
		{ "", 0 },     { "K", 10 },   { "M", 20 },   { "G", 30 },
		{ "KiB", 10 }, { "MiB", 20 }, { "GiB", 30 },
	};
	uint64_t n = 0;
	const char *p = s;

	if (*p < '0' || *p > '9')
		return -EINVAL;
	for (; *p >= '0' && *p <= '9'; p++) {
		unsigned int d = (unsigned int)(*p - '0');

		if (n > (UINT64_MAX - d) / 10)
			return -EINVAL;
		n = n * 10 + d;
	}
	for (size_t i = 0; i < ARRAY_SIZE(units); i++) {
		if (strcmp(p, units[i].suffix))
			continue;
		if (n > UINT64_MAX >> units[i].shift)
			return -EINVAL;
		*out = n << units[i].shift;
		return 0;
	}
	return -EINVAL;
}

static int parse_count(const char *s, uint64_t *out)
{
	uint64_t n = 0;

	if (!*s)
		return -EINVAL;
	for (const char *p = s; *p; p++) {
		if (*p < '0' || *p > '9')
			return -EINVAL;
		if (n > (UINT64_MAX - (uint64_t)(*p - '0')) / 10)
			return -EINVAL;
		n = n * 10 + (uint64_t)(*p - '0');
	}
	*out = n;
	return 0;
}

enum opt_id {
	OPT_NATIVE,
	OPT_MEM,
	OPT_APPEND,
	OPT_MODULE,
	OPT_SERIAL,
	OPT_QEMU_EXIT_CODES,
	OPT_MAX_INSNS,
	OPT_TIMEOUT,
	OPT_STATS,
	OPT_PROFILE,
	OPT_PREP,
	OPT_VMCS_ACCESS,
	OPT_EPT_COHERENCE,
	OPT_MMU,
	OPT_VMM,
	OPT_BT,
	OPT_JSON,
	OPT_NESTED_STATE_OUT,
	OPT_TRACE,
	OPT_TRACE_JSON,
	OPT_TRACE_LIMIT,
	OPT_HELP,
	OPT_VERSION,
	OPT_DEBUG_CRASH,
};

static const struct opt_def {
	const char *name;
	enum opt_id id;
	bool has_arg;
} opt_defs[] = {
	{ "--native", OPT_NATIVE, false },
	{ "--mem", OPT_MEM, true },
	{ "--append", OPT_APPEND, true },
	{ "--module", OPT_MODULE, true },
	{ "--initrd", OPT_MODULE, true }, /* QEMU's name for it */
	{ "--serial", OPT_SERIAL, true },
	{ "--qemu-exit-codes", OPT_QEMU_EXIT_CODES, false },
	{ "--max-insns", OPT_MAX_INSNS, true },
	{ "--timeout", OPT_TIMEOUT, true },
	{ "--stats", OPT_STATS, false },
	{ "--profile", OPT_PROFILE, true },
	{ "--prep", OPT_PREP, true },
	{ "--vmcs-access", OPT_VMCS_ACCESS, true },
	{ "--ept-coherence", OPT_EPT_COHERENCE, true },
	{ "--mmu", OPT_MMU, true },
	{ "--vmm", OPT_VMM, true },
	{ "--bt", OPT_BT, true },
	{ "--json", OPT_JSON, true },
	{ "--nested-state-out", OPT_NESTED_STATE_OUT, true },
	{ "--trace", OPT_TRACE, true },
	{ "--trace-json", OPT_TRACE_JSON, true },
	{ "--trace-limit", OPT_TRACE_LIMIT, true },
	{ "-h", OPT_HELP, false },
	{ "--help", OPT_HELP, false },
	{ "--version", OPT_VERSION, false },
	{ "--debug-crash", OPT_DEBUG_CRASH, false },
};

/* --vmcs-access: the strategies of docs/design/nested.md; bt runs L1's
 * exit handler under L0's binary translator (docs/design/bt.md). */
static int parse_vmcs_access(const char *val, struct nestvm_options *opt,
			     char *err, size_t errlen)
{
	if (!strcmp(val, "trap"))
		opt->vmcs_access = VMCS_ACCESS_TRAP;
	else if (!strcmp(val, "shadow"))
		opt->vmcs_access = VMCS_ACCESS_SHADOW;
	else if (!strcmp(val, "shadow-all"))
		opt->vmcs_access = VMCS_ACCESS_SHADOW_ALL;
	else if (!strcmp(val, "pv"))
		opt->vmcs_access = VMCS_ACCESS_PV;
	else if (!strcmp(val, "bt"))
		opt->vmcs_access = VMCS_ACCESS_BT;
	else
		return errmsg(-EINVAL, err, errlen,
			      "--vmcs-access: bad strategy '%s' (trap, "
			      "shadow, shadow-all, pv or bt)",
			      val);
	return 0;
}

/*
 * --vmm bt is L0's software VMM for one guest level on the shadow MMU
 * (docs/design/bt.md): it has no native form and no EPT form.
 */
static int check_vmm(struct nestvm_options *opt, char *err, size_t errlen)
{
	/* L2's translated exits go to L1's translated handler. */
	if (opt->bt_mode != NESTVM_BT_OFF &&
	    (opt->level == NESTVM_LEVEL_NATIVE || opt->vmm == NESTVM_VMM_BT ||
	     opt->vmcs_access != VMCS_ACCESS_BT))
		return errmsg(-EINVAL, err, errlen,
			      "--bt %s: translates L2 under L0 and needs "
			      "--vmcs-access bt (L1's handler translated too)",
			      opt->bt_mode == NESTVM_BT_ALWAYS ? "always"
							       : "adaptive");
	if (opt->vmm != NESTVM_VMM_BT)
		return 0;
	if (opt->level == NESTVM_LEVEL_NATIVE)
		return errmsg(-EINVAL, err, errlen,
			      "--vmm bt: the software VMM is a monitor; "
			      "--native runs without one");
	if (opt->mmu_given && !opt->mmu_shadow)
		return errmsg(-EINVAL, err, errlen,
			      "--vmm bt --mmu ept: the software VMM runs the "
			      "guest on shadow page tables only (--mmu "
			      "shadow, implied)");
	opt->mmu_shadow = true;
	return 0;
}

/* Finds the flag arg names; *val gets the text after '=' if any. */
static const struct opt_def *find_opt(const char *arg, const char **val)
{
	const char *eq = strchr(arg, '=');
	size_t len = eq ? (size_t)(eq - arg) : strlen(arg);

	*val = eq ? eq + 1 : NULL;
	for (size_t i = 0; i < ARRAY_SIZE(opt_defs); i++) {
		if (strlen(opt_defs[i].name) == len &&
		    !strncmp(opt_defs[i].name, arg, len))
			return &opt_defs[i];
	}
	return NULL;
}

static int apply_opt(const struct opt_def *d, const char *val,
		     struct nestvm_options *opt, char *err, size_t errlen)
{
	switch (d->id) {
	case OPT_NATIVE:
		opt->level = NESTVM_LEVEL_NATIVE;
		return 0;
	case OPT_MEM:
		if (options_parse_size(val, &opt->mem_size) ||
		    opt->mem_size < BOOT_MEM_MIN ||
		    opt->mem_size > BOOT_MEM_MAX || opt->mem_size % PAGE_SIZE)
			return errmsg(
				-EINVAL, err, errlen,
				"--mem: bad size '%s' (a multiple of 4 KiB "
				"from 2M to 64G, e.g. 64M or 1GiB)",
				val);
		return 0;
	case OPT_APPEND:
		if (strlen(val) > NESTVM_CMDLINE_MAX - 1)
			return errmsg(
				-EINVAL, err, errlen,
				"--append: the command line is %zu bytes, "
				"at most %u fit",
				strlen(val), NESTVM_CMDLINE_MAX - 1);
		opt->cmdline = val;
		return 0;
	case OPT_MODULE:
		if (opt->nr_modules == NESTVM_MODULES_MAX)
			return errmsg(-EINVAL, err, errlen,
				      "--module: too many modules (at most %u)",
				      NESTVM_MODULES_MAX);
		if (!*val)
			return errmsg(-EINVAL, err, errlen,
				      "--module: empty file name");
		opt->modules[opt->nr_modules++] = val;
		return 0;
	case OPT_SERIAL:
		if (!strcmp(val, "stdio")) {
			opt->serial = NESTVM_SERIAL_STDIO;
		} else if (!strcmp(val, "none")) {
			opt->serial = NESTVM_SERIAL_NONE;
		} else if (!strncmp(val, "file:", 5) && val[5]) {
			opt->serial = NESTVM_SERIAL_FILE;
			opt->serial_path = val + 5;
		} else {
			return errmsg(
				-EINVAL, err, errlen,
				"--serial: bad value '%s' (stdio, none or "
				"file:PATH)",
				val);
		}
		return 0;
	case OPT_QEMU_EXIT_CODES:
		opt->qemu_exit_codes = true;
		return 0;
	case OPT_MAX_INSNS:
		if (parse_count(val, &opt->max_insns) || !opt->max_insns)
			return errmsg(-EINVAL, err, errlen,
				      "--max-insns: bad count '%s' (a positive "
				      "decimal integer)",
				      val);
		return 0;
	case OPT_TIMEOUT:
		/* Whole seconds: what an interval timer and a test need;
		 * timeout(1)'s fractions and suffixes are refused, not
		 * rounded. */
		if (parse_count(val, &opt->timeout) || !opt->timeout ||
		    opt->timeout > NESTVM_TIMEOUT_MAX)
			return errmsg(-EINVAL, err, errlen,
				      "--timeout: bad duration '%s' (whole "
				      "seconds from 1 to %u)",
				      val, NESTVM_TIMEOUT_MAX);
		return 0;
	case OPT_STATS:
		opt->stats = true;
		return 0;
	case OPT_PROFILE:
		if (!*val)
			return errmsg(-EINVAL, err, errlen,
				      "--profile: empty name (a profile name "
				      "such as nehalem, or a file)");
		opt->profile = val;
		return 0;
	case OPT_PREP:
		if (strcmp(val, "full") && strcmp(val, "dirty"))
			return errmsg(-EINVAL, err, errlen,
				      "--prep: bad mode '%s' (full or dirty)",
				      val);
		opt->prep_dirty = !strcmp(val, "dirty");
		return 0;
	case OPT_VMCS_ACCESS:
		return parse_vmcs_access(val, opt, err, errlen);
	case OPT_EPT_COHERENCE:
		if (strcmp(val, "invept") && strcmp(val, "wp"))
			return errmsg(-EINVAL, err, errlen,
				      "--ept-coherence: bad mode '%s' (invept "
				      "or wp)",
				      val);
		opt->ept_coherence = !strcmp(val, "wp") ? EPT_COHERENCE_WP
							: EPT_COHERENCE_INVEPT;
		return 0;
	case OPT_MMU:
		if (strcmp(val, "ept") && strcmp(val, "shadow"))
			return errmsg(-EINVAL, err, errlen,
				      "--mmu: bad mode '%s' (ept or shadow)",
				      val);
		opt->mmu_shadow = !strcmp(val, "shadow");
		opt->mmu_given = true;
		return 0;
	case OPT_VMM:
		if (strcmp(val, "hw") && strcmp(val, "bt"))
			return errmsg(-EINVAL, err, errlen,
				      "--vmm: bad VMM '%s' (hw or bt)", val);
		opt->vmm = !strcmp(val, "bt") ? NESTVM_VMM_BT : NESTVM_VMM_HW;
		return 0;
	case OPT_BT:
		if (!strcmp(val, "off"))
			opt->bt_mode = NESTVM_BT_OFF;
		else if (!strcmp(val, "adaptive"))
			opt->bt_mode = NESTVM_BT_ADAPTIVE;
		else if (!strcmp(val, "always"))
			opt->bt_mode = NESTVM_BT_ALWAYS;
		else
			return errmsg(-EINVAL, err, errlen,
				      "--bt: bad mode '%s' (off, adaptive or "
				      "always)",
				      val);
		return 0;
	case OPT_JSON:
		if (!*val)
			return errmsg(-EINVAL, err, errlen,
				      "--json: empty file name");
		opt->json_path = val;
		return 0;
	case OPT_NESTED_STATE_OUT:
		if (!*val)
			return errmsg(-EINVAL, err, errlen,
				      "--nested-state-out: empty file name");
		opt->nested_state_out = val;
		return 0;
	case OPT_TRACE:
	case OPT_TRACE_JSON:
		if (!*val)
			return errmsg(-EINVAL, err, errlen,
				      "%s: empty file name", d->name);
		if (d->id == OPT_TRACE)
			opt->trace_path = val;
		else
			opt->trace_json_path = val;
		return 0;
	case OPT_TRACE_LIMIT:
		if (parse_count(val, &opt->trace_limit))
			return errmsg(-EINVAL, err, errlen,
				      "--trace-limit: bad count '%s' (events: "
				      "a decimal integer, 0 for no limit)",
				      val);
		return 0;
	case OPT_HELP:
		opt->action = NESTVM_HELP;
		return 0;
	case OPT_VERSION:
		opt->action = NESTVM_VERSION_INFO;
		return 0;
	case OPT_DEBUG_CRASH:
		opt->debug_crash = true;
		return 0;
	}
	return errmsg(-EINVAL, err, errlen, "internal error: flag %s", d->name);
}

int options_parse(int argc, char *const argv[], struct nestvm_options *opt,
		  char *err, size_t errlen)
{
	bool have_cmd = false, only_args = false;
	int ret;

	memset(opt, 0, sizeof(*opt));
	opt->action = NESTVM_RUN;
	opt->mem_size = NESTVM_DEFAULT_MEM;
	opt->serial = NESTVM_SERIAL_STDIO;
	opt->trace_limit = TRACE_LIMIT_DEFAULT;

	for (int i = 1; i < argc; i++) {
		const char *arg = argv[i], *val;
		const struct opt_def *d;

		if (only_args || arg[0] != '-' || !arg[1]) {
			if (!have_cmd) {
				if (strcmp(arg, "run"))
					return errmsg(-EINVAL, err, errlen,
						      "unknown command '%s' "
						      "(try 'nestvm --help')",
						      arg);
				have_cmd = true;
			} else if (opt->image) {
				return errmsg(-EINVAL, err, errlen,
					      "more than one IMAGE: '%s' and "
					      "'%s'",
					      opt->image, arg);
			} else {
				opt->image = arg;
			}
			continue;
		}
		if (!strcmp(arg, "--")) {
			only_args = true;
			continue;
		}
		d = find_opt(arg, &val);
		if (!d)
			return errmsg(-EINVAL, err, errlen,
				      "unknown flag '%s' (try 'nestvm --help')",
				      arg);
		if (d->has_arg && !val) {
			if (i + 1 >= argc)
				return errmsg(-EINVAL, err, errlen,
					      "%s needs an argument", d->name);
			val = argv[++i];
		} else if (!d->has_arg && val) {
			return errmsg(-EINVAL, err, errlen,
				      "%s takes no argument", d->name);
		}
		ret = apply_opt(d, val, opt, err, errlen);
		if (ret)
			return ret;
	}

	/* --help and --version win over whatever else is on the line. */
	if (opt->action != NESTVM_RUN)
		return 0;
	if (!have_cmd)
		return errmsg(-EINVAL, err, errlen,
			      "no command given (usage: nestvm run [--native] "
			      "IMAGE; try 'nestvm --help')");
	if (!opt->image)
		return errmsg(-EINVAL, err, errlen, "run: no IMAGE given");
	return check_vmm(opt, err, errlen);
}
