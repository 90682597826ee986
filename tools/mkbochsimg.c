/* SPDX-License-Identifier: MIT */
/*
 * mkbochsimg - builds a hard-disk image that boots a 64-bit nestvm guest
 * under Bochs with exactly the boot contract nestvm gives it (docs/boot.md,
 * docs/bochs.md). Guest memory and the vCPU state are built by the
 * monitor's own loader and boot code (l0/loader.c, l0/boot.c) on a model
 * machine, then written after the boot loader of tools/bochs/boot.S in the
 * format of tools/bochs/bochsimg.h. Host side.
 *
 *   mkbochsimg IMAGE.elf [--module FILE]... [--append STR] [--mem SIZE]
 *              [--check-zero] -o DISK.img
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "arch/bootinfo.h"
#include "arch/x86_regs.h"
#include "arch/x86_seg.h"
#include "l0/boot.h"
#include "l0/loader.h"
#include "l0/options.h"
#include "tools/bochs/bochsimg.h"
#include "vtx/vtx.h"

#define ERR_MAX 512
#define COPY_CHUNK MiB(1)

/* The boot loader (tools/bochs/boot.S), linked in by loader_blob.S. */
extern const uint8_t bochs_loader_start[], bochs_loader_end[];

static const char usage[] =
	"usage: mkbochsimg IMAGE.elf [--module FILE]... [--append STR] "
	"[--mem SIZE]\n"
	"                  [--check-zero] -o DISK.img\n"
	"\n"
	"Builds a hard-disk image that boots IMAGE under Bochs with the boot\n"
	"contract nestvm gives it (docs/bochs.md).\n"
	"\n"
	"  --module FILE    load FILE after the image (at most 16 times)\n"
	"  --append STR     the guest's command line\n"
	"  --mem SIZE       guest RAM, default 64M (a multiple of 4 KiB from\n"
	"                   2M to 2G); Bochs needs megs >= SIZE\n"
	"  --check-zero     make the loader check that free RAM it does not\n"
	"                   zero is zero (slow: about 0.6 s per 64 MiB)\n"
	"  -o DISK.img      the image to write\n"
	"  -h, --help       print this and exit\n";

struct mkimg_options {
	const char *image;
	const char *output;
	const char *cmdline;
	uint64_t mem_size;
	unsigned int nr_modules;
	const char *modules[NESTVM_MODULES_MAX];
	bool check_zero;
	bool help;
};

struct mkimg {
	struct mkimg_options opt;
	struct vtx_machine *m;
	struct vtx_cpu *cpu;
	struct loader_file image;
	struct loader_file modules[NESTVM_MODULES_MAX];
	struct loader_elf elf;
	struct boot_params bp;
	struct kvm_regs regs;
	struct kvm_sregs sregs;
	struct bochsimg_header hdr;
	uint64_t total_sectors;
};

__attribute__((format(printf, 3, 4))) static int mkimg_err(int ret, char *err,
							   const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, ERR_MAX, fmt, ap);
	va_end(ap);
	return ret;
}

/* ---- the command line ---------------------------------------------------- */

/* Matches "--name VALUE" and "--name=VALUE"; *val gets the value. */
static int mkimg_match_flag(int argc, char **argv, int *i, const char *name,
			    const char **val, char *err)
{
	size_t len = strlen(name);
	const char *arg = argv[*i];

	if (strncmp(arg, name, len))
		return 0;
	if (arg[len] == '=') {
		*val = arg + len + 1;
		return 1;
	}
	if (arg[len])
		return 0;
	if (*i + 1 >= argc)
		return mkimg_err(-EINVAL, err, "%s needs a value", name);
	*val = argv[++*i];
	return 1;
}

static int mkimg_parse_args(int argc, char **argv, struct mkimg_options *opt,
			    char *err)
{
	bool flags_done = false;

	memset(opt, 0, sizeof(*opt));
	opt->mem_size = NESTVM_DEFAULT_MEM;
	for (int i = 1; i < argc; i++) {
		const char *arg = argv[i], *val = NULL;
		int ret;

		if (flags_done || arg[0] != '-' || !arg[1]) {
			if (opt->image)
				return mkimg_err(-EINVAL, err,
						 "more than one image: '%s' "
						 "and '%s'",
						 opt->image, arg);
			opt->image = arg;
			continue;
		}
		if (!strcmp(arg, "--")) {
			flags_done = true;
			continue;
		}
		if (!strcmp(arg, "-h") || !strcmp(arg, "--help")) {
			opt->help = true;
			return 0;
		}
		if (!strcmp(arg, "--check-zero")) {
			opt->check_zero = true;
			continue;
		}
		if ((ret = mkimg_match_flag(argc, argv, &i, "-o", &val, err))) {
			if (ret < 0)
				return ret;
			opt->output = val;
		} else if ((ret = mkimg_match_flag(argc, argv, &i, "--append",
						   &val, err))) {
			if (ret < 0)
				return ret;
			opt->cmdline = val;
		} else if ((ret = mkimg_match_flag(argc, argv, &i, "--module",
						   &val, err))) {
			if (ret < 0)
				return ret;
			if (opt->nr_modules == NESTVM_MODULES_MAX)
				return mkimg_err(-EINVAL, err,
						 "too many modules: at most %u",
						 NESTVM_MODULES_MAX);
			opt->modules[opt->nr_modules++] = val;
		} else if ((ret = mkimg_match_flag(argc, argv, &i, "--mem",
						   &val, err))) {
			if (ret < 0)
				return ret;
			if (options_parse_size(val, &opt->mem_size) ||
			    opt->mem_size < BOOT_MEM_MIN ||
			    opt->mem_size > BOCHSIMG_MEM_MAX ||
			    opt->mem_size % PAGE_SIZE)
				return mkimg_err(-EINVAL, err,
						 "--mem: bad size '%s' (a "
						 "multiple of 4 KiB from 2M to "
						 "2G, the most Bochs 2.7 "
						 "gives)",
						 val);
		} else {
			return mkimg_err(-EINVAL, err,
					 "unknown flag '%s' (see --help)", arg);
		}
	}
	if (!opt->image)
		return mkimg_err(-EINVAL, err, "no image given (see --help)");
	if (!opt->output)
		return mkimg_err(-EINVAL, err,
				 "no output given: -o DISK.img (see --help)");
	return 0;
}

/* ---- guest memory and vCPU state, as nestvm builds them ------------------ */

/* The image is never run here: any port access would be a bug. */
static int mkimg_pio(void *opaque, struct vtx_pio *io)
{
	(void)opaque;
	(void)io;
	return VTX_PIO_STOP;
}

static const struct vtx_platform_ops mkimg_platform_ops = {
	.pio = mkimg_pio,
};

static int mkimg_build_memory(struct mkimg *mi, char *err)
{
	const struct mkimg_options *opt = &mi->opt;
	struct vtx_machine_config cfg = {
		.arena_size = opt->mem_size,
		.ops = &mkimg_platform_ops,
		.opaque = mi,
	};
	int ret;

	ret = vtx_machine_create(&cfg, &mi->m);
	if (ret)
		return mkimg_err(ret, err,
				 "cannot create a machine with %" PRIu64
				 " MiB of guest RAM: %s",
				 opt->mem_size >> 20, strerror(-ret));
	ret = loader_load_elf(mi->m, opt->image, &mi->image, &mi->elf, err,
			      ERR_MAX);
	if (!ret)
		ret = boot_init_params(&mi->bp, opt->mem_size, mi->elf.entry,
				       mi->elf.start, mi->elf.end, opt->cmdline,
				       err, ERR_MAX);
	for (unsigned int i = 0; !ret && i < opt->nr_modules; i++) {
		uint64_t start;

		ret = loader_read_file(opt->modules[i], opt->mem_size,
				       &mi->modules[i], err, ERR_MAX);
		if (ret == -EFBIG)
			mkimg_err(
				ret, err,
				"module '%s' does not fit in guest RAM (%" PRIu64
				" bytes); try a larger --mem",
				opt->modules[i], opt->mem_size);
		if (!ret)
			ret = boot_add_module(&mi->bp, opt->modules[i],
					      mi->modules[i].size, &start, err,
					      ERR_MAX);
		if (!ret && mi->modules[i].size) {
			ret = vtx_hpa_write(mi->m, start, mi->modules[i].data,
					    mi->modules[i].size);
			if (ret)
				mkimg_err(ret, err,
					  "cannot copy module '%s' to guest "
					  "RAM: %s",
					  opt->modules[i], strerror(-ret));
		}
	}
	if (!ret)
		ret = boot_write_memory(mi->m, &mi->bp, err, ERR_MAX);
	if (!ret) {
		ret = vtx_cpu_create(mi->m, &mi->cpu);
		if (ret)
			mkimg_err(ret, err, "cannot create the vCPU: %s",
				  strerror(-ret));
	}
	if (!ret)
		ret = boot_setup_cpu(mi->cpu, &mi->bp, err, ERR_MAX);
	if (!ret && (vtx_cpu_get_regs(mi->cpu, &mi->regs) ||
		     vtx_cpu_get_sregs(mi->cpu, &mi->sregs)))
		ret = mkimg_err(-EIO, err, "cannot read the vCPU state back");
	return ret;
}

/* ---- what the boot loader can reproduce ---------------------------------- */

static bool mkimg_overlaps(uint64_t a, uint64_t a_end, uint64_t b,
			   uint64_t b_end)
{
	return a < b_end && b < a_end;
}

/* Memory the loader owns while it runs; nothing it copies may go there. */
static bool mkimg_hits_loader(uint64_t start, uint64_t end)
{
	return mkimg_overlaps(start, end, BOCHSIMG_BOUNCE_ADDR,
			      BOCHSIMG_BOUNCE_END) ||
	       mkimg_overlaps(start, end, BOCHSIMG_LOAD_ADDR,
			      BOCHSIMG_LOAD_END);
}

static int mkimg_read_desc(struct mkimg *mi, uint16_t sel, unsigned int size,
			   uint64_t desc[2], const char *name, char *err)
{
	const struct kvm_dtable *gdt = &mi->sregs.gdt;
	uint64_t off = sel & ~7u;

	if (sel & SEL_TI || off + size - 1 > gdt->limit)
		return mkimg_err(-ERANGE, err,
				 "the boot contract's %s selector 0x%x is not "
				 "in its GDT (limit 0x%x)",
				 name, sel, gdt->limit);
	if (vtx_hpa_read(mi->m, gdt->base + off, desc, size))
		return mkimg_err(-EFAULT, err,
				 "the boot contract's GDT at 0x%llx is outside "
				 "guest RAM",
				 (unsigned long long)gdt->base);
	return 0;
}

static bool mkimg_same_segment(const struct kvm_segment *a,
			       const struct kvm_segment *b)
{
	return a->base == b->base && a->limit == b->limit &&
	       a->selector == b->selector && a->type == b->type &&
	       a->present == b->present && a->dpl == b->dpl && a->db == b->db &&
	       a->s == b->s && a->l == b->l && a->g == b->g &&
	       a->avl == b->avl && !a->unusable && !b->unusable;
}

/*
 * The loader loads a selector from the GDT in memory, so the hidden part
 * nestvm sets must be what that descriptor gives, with the accessed bit
 * already set (else the load would write it into the GDT).
 */
static int mkimg_check_segment(struct mkimg *mi, const struct kvm_segment *seg,
			       const char *name, char *err)
{
	struct kvm_segment from_gdt;
	uint64_t desc[2];
	int ret;

	if (x86_sel_is_null(seg->selector) || (seg->selector & SEL_RPL_MASK))
		return mkimg_err(-EINVAL, err,
				 "the boot contract's %s selector 0x%x is null "
				 "or not RPL 0; the Bochs loader cannot load "
				 "it",
				 name, seg->selector);
	ret = mkimg_read_desc(mi, seg->selector, 8, desc, name, err);
	if (ret)
		return ret;
	x86_seg_decode_desc(&from_gdt, desc[0], seg->selector);
	if (!mkimg_same_segment(seg, &from_gdt) ||
	    !(seg->type & SEG_TYPE_ACCESSED))
		return mkimg_err(-EINVAL, err,
				 "the boot contract's %s (selector 0x%x) is "
				 "not what its GDT descriptor 0x%016" PRIx64
				 " loads; the Bochs loader cannot reproduce it",
				 name, seg->selector, desc[0]);
	return 0;
}

/* TR: a busy 64-bit TSS below 4 GiB (legacy-mode LTR loads base 31:0). */
static int mkimg_check_tr(struct mkimg *mi, char *err)
{
	const struct kvm_segment *tr = &mi->sregs.tr;
	struct kvm_segment from_gdt;
	uint64_t desc[2];
	int ret;

	ret = mkimg_read_desc(mi, tr->selector, 16, desc, "TR", err);
	if (ret)
		return ret;
	x86_seg_decode_sys_desc(&from_gdt, desc[0], desc[1], tr->selector);
	if (x86_sel_is_null(tr->selector) ||
	    !mkimg_same_segment(tr, &from_gdt) ||
	    tr->type != SEG_TYPE_TSS64_BUSY || tr->s || tr->base >> 32)
		return mkimg_err(
			-EINVAL, err,
			"the boot contract's TR (selector 0x%x) is not "
			"a busy 64-bit TSS below 4 GiB as its GDT "
			"describes it; the Bochs loader cannot load it",
			tr->selector);
	return 0;
}

static int mkimg_check_regs(struct mkimg *mi, char *err)
{
	const struct kvm_regs *r = &mi->regs;
	const uint64_t other[] = {
		r->rax, r->rbx, r->rcx, r->rdx, r->rsi, r->rbp, r->r8,
		r->r9,	r->r10, r->r11, r->r12, r->r13, r->r14, r->r15,
	};

	for (size_t i = 0; i < ARRAY_SIZE(other); i++) {
		if (other[i])
			return mkimg_err(-EINVAL, err,
					 "the boot contract sets a register "
					 "other than RIP, RSP and RDI; the "
					 "Bochs loader zeroes them");
	}
	if ((r->rip | r->rsp | r->rdi) >> 32)
		return mkimg_err(-EINVAL, err,
				 "the boot contract's RIP, RSP or RDI is above "
				 "4 GiB");
	if (!(r->rflags & X86_EFLAGS_FIXED) ||
	    r->rflags & (X86_EFLAGS_IF | X86_EFLAGS_TF | X86_EFLAGS_VM))
		return mkimg_err(-EINVAL, err,
				 "the boot contract's RFLAGS 0x%llx has "
				 "interrupts, single-step or VM86 on",
				 (unsigned long long)r->rflags);
	return 0;
}

static int mkimg_check_sregs(struct mkimg *mi, char *err)
{
	const struct kvm_sregs *s = &mi->sregs;
	const struct kvm_segment *data[] = { &s->ss, &s->ds, &s->es, &s->fs,
					     &s->gs };
	static const char *const data_names[] = { "SS", "DS", "ES", "FS",
						  "GS" };
	int ret;

	if (!(s->efer & EFER_LME) || !(s->efer & EFER_LMA) ||
	    !(s->cr0 & X86_CR0_PG) || !(s->cr0 & X86_CR0_PE) ||
	    !(s->cr4 & X86_CR4_PAE) || !s->cs.l)
		return mkimg_err(-EINVAL, err,
				 "the boot contract does not start in 64-bit "
				 "mode; the Bochs loader only enters it");
	if ((s->cr0 | s->cr3 | s->cr4 | s->efer) >> 32 || s->cr2 || s->cr8)
		return mkimg_err(-EINVAL, err,
				 "the boot contract's control registers do not "
				 "fit the Bochs loader (CR0, CR3, CR4, EFER "
				 "below 4 GiB, CR2 and CR8 zero)");
	if (!s->ldt.unusable && !x86_sel_is_null(s->ldt.selector))
		return mkimg_err(-EINVAL, err,
				 "the boot contract loads an LDT; the Bochs "
				 "loader leaves LDTR null");
	if ((uint32_t)s->gdt.limit + 1 > BOCHSIMG_TRAMP_GDT_MAX ||
	    s->gdt.base < BOOT_GDT ||
	    s->gdt.base + s->gdt.limit + 1 > BOOT_STACK_BOTTOM)
		return mkimg_err(-EINVAL, err,
				 "the boot contract's GDT [0x%llx, +0x%x] is "
				 "not inside the boot area or larger than %u "
				 "bytes",
				 (unsigned long long)s->gdt.base,
				 s->gdt.limit + 1, BOCHSIMG_TRAMP_GDT_MAX);
	ret = mkimg_check_segment(mi, &s->cs, "CS", err);
	for (size_t i = 0; !ret && i < ARRAY_SIZE(data); i++)
		ret = mkimg_check_segment(mi, data[i], data_names[i], err);
	if (ret)
		return ret;
	/* The trampoline addresses its page through DS before paging. */
	if (s->ds.base || s->ds.limit != 0xffffffff)
		return mkimg_err(-EINVAL, err,
				 "the boot contract's DS is not flat");
	return mkimg_check_tr(mi, err);
}

/* ---- the header ---------------------------------------------------------- */

static int mkimg_add_range(struct mkimg *mi, uint64_t start, uint64_t end,
			   uint64_t *lba, char *err)
{
	struct bochsimg_header *h = &mi->hdr;
	struct bochsimg_range *r;
	uint64_t sectors = (end - start) / BOCHSIMG_SECTOR;

	/* Both ends are page-aligned by the contract; say so if not. */
	if (start % BOCHSIMG_SECTOR || end % BOCHSIMG_SECTOR || end <= start ||
	    end > mi->opt.mem_size || mkimg_hits_loader(start, end) ||
	    h->nr_ranges == BOCHSIMG_RANGES_MAX || *lba + sectors > UINT32_MAX)
		return mkimg_err(-ERANGE, err,
				 "internal error: guest range [0x%" PRIx64
				 ", 0x%" PRIx64
				 ") cannot be stored for the Bochs loader",
				 start, end);
	r = &h->ranges[h->nr_ranges++];
	r->dest = start;
	r->lba = (uint32_t)*lba;
	r->sectors = (uint32_t)sectors;
	*lba += sectors;
	return 0;
}

static int mkimg_build_header(struct mkimg *mi, char *err)
{
	const struct kvm_regs *r = &mi->regs;
	const struct kvm_sregs *s = &mi->sregs;
	struct bochsimg_header *h = &mi->hdr;
	uint64_t lba = BOCHSIMG_DATA_LBA, tramp;
	int ret;

	ret = mkimg_check_regs(mi, err);
	if (!ret)
		ret = mkimg_check_sregs(mi, err);
	if (ret)
		return ret;

	memset(h, 0, sizeof(*h));
	h->magic_lo = BOCHSIMG_MAGIC_LO;
	h->magic_hi = BOCHSIMG_MAGIC_HI;
	h->version = BOCHSIMG_VERSION;
	h->rip = r->rip;
	h->rsp = r->rsp;
	h->rdi = r->rdi;
	h->rflags = r->rflags;
	h->cr0 = s->cr0;
	h->cr3 = s->cr3;
	h->cr4 = s->cr4;
	h->efer = s->efer;
	h->gdt_base = s->gdt.base;
	h->gdt_limit = s->gdt.limit;
	h->idt_base = s->idt.base;
	h->idt_limit = s->idt.limit;
	h->sel_cs = s->cs.selector;
	h->sel_ss = s->ss.selector;
	h->sel_ds = s->ds.selector;
	h->sel_es = s->es.selector;
	h->sel_fs = s->fs.selector;
	h->sel_gs = s->gs.selector;
	h->sel_tr = s->tr.selector;

	/* What nestvm wrote: the boot area and the image with its modules;
	 * RAM after them is zero. Below the image and in the stack area
	 * nothing is defined (docs/boot.md). */
	ret = mkimg_add_range(mi, BOOT_GDT, BOOT_STACK_BOTTOM, &lba, err);
	if (!ret)
		ret = mkimg_add_range(mi, BOOT_IMAGE_MIN, mi->bp.free_start,
				      &lba, err);
	if (ret)
		return ret;
	/* Bochs' RAM starts zeroed; only the top needs it (bochsimg.h). */
	h->free_start = mi->bp.free_start;
	h->zero_end = mi->opt.mem_size;
	h->zero_start = h->zero_end - BOCHSIMG_BIOS_TOP;
	if (h->zero_start < h->free_start)
		h->zero_start = h->free_start;
	if (mi->opt.check_zero)
		h->flags |= BOCHSIMG_F_CHECK_ZERO;

	/* The page the trampoline's push of RFLAGS lands in. */
	tramp = ALIGN_DOWN(r->rsp - 8, PAGE_SIZE);
	if (tramp < PAGE_SIZE || tramp + PAGE_SIZE > mi->opt.mem_size ||
	    mkimg_hits_loader(tramp, tramp + PAGE_SIZE) ||
	    mkimg_overlaps(tramp, tramp + PAGE_SIZE, BOOT_GDT,
			   BOOT_STACK_BOTTOM) ||
	    mkimg_overlaps(tramp, tramp + PAGE_SIZE, BOOT_IMAGE_MIN,
			   mi->bp.free_start))
		return mkimg_err(-EINVAL, err,
				 "the boot contract's stack (RSP 0x%llx) "
				 "leaves no page for the Bochs loader's last "
				 "step",
				 (unsigned long long)r->rsp);
	h->trampoline = tramp;
	/* Whole cylinders (not a power of two: no ALIGN_UP). */
	mi->total_sectors = (lba + BOCHSIMG_CYLINDER_SECTORS - 1) /
			    BOCHSIMG_CYLINDER_SECTORS *
			    BOCHSIMG_CYLINDER_SECTORS;
	return 0;
}

/* ---- the disk image ------------------------------------------------------ */

static int mkimg_write_all(int fd, const void *buf, size_t len)
{
	const uint8_t *p = buf;

	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static int mkimg_write_disk(struct mkimg *mi, int fd, char *err)
{
	size_t loader_len = (size_t)(bochs_loader_end - bochs_loader_start);
	uint8_t sector[BOCHSIMG_SECTOR];
	uint32_t link_addr = 0;
	uint8_t *buf;
	int ret;

	/* boot.S pads itself to exactly this, ends its sector 0 with its link
	 * address and the BIOS signature; anything else is a build bug. */
	if (loader_len == BOCHSIMG_LOADER_SECTORS * BOCHSIMG_SECTOR)
		memcpy(&link_addr, bochs_loader_start + BOCHSIMG_LINK_CHECK,
		       sizeof(link_addr));
	if (link_addr != BOCHSIMG_LOAD_ADDR ||
	    bochs_loader_start[BOCHSIMG_SECTOR - 2] != 0x55 ||
	    bochs_loader_start[BOCHSIMG_SECTOR - 1] != 0xaa)
		return mkimg_err(
			-EINVAL, err,
			"internal error: the built-in boot loader (%zu "
			"bytes) is not linked at 0x%x with a boot "
			"signature",
			loader_len, BOCHSIMG_LOAD_ADDR);
	ret = mkimg_write_all(fd, bochs_loader_start, loader_len);
	memset(sector, 0, sizeof(sector));
	memcpy(sector, &mi->hdr, sizeof(mi->hdr));
	if (!ret)
		ret = mkimg_write_all(fd, sector, sizeof(sector));
	if (ret)
		return mkimg_err(ret, err, "cannot write '%s': %s",
				 mi->opt.output, strerror(-ret));

	buf = malloc(COPY_CHUNK);
	if (!buf)
		return mkimg_err(-ENOMEM, err, "out of memory");
	for (unsigned int i = 0; !ret && i < mi->hdr.nr_ranges; i++) {
		const struct bochsimg_range *r = &mi->hdr.ranges[i];
		uint64_t len = (uint64_t)r->sectors * BOCHSIMG_SECTOR;

		for (uint64_t off = 0; !ret && off < len; off += COPY_CHUNK) {
			uint64_t n =
				len - off < COPY_CHUNK ? len - off : COPY_CHUNK;

			ret = vtx_hpa_read(mi->m, r->dest + off, buf, n);
			if (ret) {
				mkimg_err(ret, err,
					  "internal error: guest RAM at "
					  "0x%" PRIx64 " is unreadable",
					  r->dest + off);
				break;
			}
			ret = mkimg_write_all(fd, buf, n);
			if (ret)
				mkimg_err(ret, err, "cannot write '%s': %s",
					  mi->opt.output, strerror(-ret));
		}
	}
	free(buf);
	if (ret)
		return ret;
	if (ftruncate(fd, (off_t)(mi->total_sectors * BOCHSIMG_SECTOR))) {
		ret = -errno;
		return mkimg_err(ret, err, "cannot write '%s': %s",
				 mi->opt.output, strerror(-ret));
	}
	return 0;
}

/* Created only once everything else worked, and removed on failure, so
 * that a failed run leaves no half-written image behind. */
static int mkimg_output(struct mkimg *mi, char *err)
{
	int fd, ret;

	fd = open(mi->opt.output, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
		  0644);
	if (fd < 0) {
		ret = -errno;
		return mkimg_err(ret, err, "cannot create '%s': %s",
				 mi->opt.output, strerror(-ret));
	}
	ret = mkimg_write_disk(mi, fd, err);
	if (close(fd) && !ret) {
		ret = -errno;
		mkimg_err(ret, err, "cannot write '%s': %s", mi->opt.output,
			  strerror(-ret));
	}
	if (ret)
		unlink(mi->opt.output);
	return ret;
}

static void mkimg_free(struct mkimg *mi)
{
	if (mi->cpu)
		vtx_cpu_destroy(mi->cpu);
	if (mi->m)
		vtx_machine_destroy(mi->m);
	loader_free_file(&mi->image);
	for (unsigned int i = 0; i < NESTVM_MODULES_MAX; i++)
		loader_free_file(&mi->modules[i]);
}

int main(int argc, char **argv)
{
	struct mkimg *mi;
	char err[ERR_MAX] = "";
	int ret;

	mi = calloc(1, sizeof(*mi));
	if (!mi) {
		fputs("mkbochsimg: out of memory\n", stderr);
		return 1;
	}
	ret = mkimg_parse_args(argc, argv, &mi->opt, err);
	if (!ret && mi->opt.help) {
		fputs(usage, stdout);
		free(mi);
		return 0;
	}
	if (!ret)
		ret = mkimg_build_memory(mi, err);
	if (!ret)
		ret = mkimg_build_header(mi, err);
	if (!ret)
		ret = mkimg_output(mi, err);
	if (ret)
		fprintf(stderr, "mkbochsimg: %s\n", err);
	mkimg_free(mi);
	free(mi);
	return ret ? 1 : 0;
}
