/* SPDX-License-Identifier: MIT */
/*
 * nstate.c - nested-state snapshots in the kernel's uapi layout (struct
 * kvm_nested_state, KVM_STATE_NESTED_FORMAT_VMX): what L0 knows of L1's
 * VMX (VMXON region, current vmcs12 and its launch state, guest mode) out
 * and back in with the checks KVM's vmx_set_nested_state() applies, the
 * vmcs12 image in KVM's layout (vmcs-merge/kvm_vmcs12.c). SDM Vol. 3C
 * 25.1, 25.11, 27.2-27.3. Monitor side.
 */
#include "l0/nstate.h"

#include <asm/kvm.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "l0/errmsg.h"
#include "l0/nvmx.h"
#include "l0/vm.h"
#include "vmcs-merge/kvm_vmcs12.h"
#include "vmcs-merge/vmcs12.h"

_Static_assert(sizeof(struct kvm_nested_state) == NSTATE_HDR_SIZE,
	       "the uapi header is 128 bytes");
_Static_assert(sizeof(struct kvm_vmx_nested_state_data) ==
		       2 * KVM_VMCS12_IMAGE_SIZE,
	       "two vmcs12 images");

#define NO_PA (~0ull)
#define PAGE_MASK_4K 0xfffull

/* Flags this implementation knows; KVM's generic ioctl refuses others. */
#define NSTATE_KNOWN_FLAGS                                            \
	(KVM_STATE_NESTED_GUEST_MODE | KVM_STATE_NESTED_RUN_PENDING | \
	 KVM_STATE_NESTED_EVMCS | KVM_STATE_NESTED_MTF_PENDING)

static const uint8_t *vmcs12_image(const void *buf)
{
	return (const uint8_t *)buf + NSTATE_HDR_SIZE;
}

/* ---- export ----------------------------------------------------------------- */

/*
 * vmcs12 as L1 would read it now. While L2 runs, its guest state is in
 * vmcs02 (current): it is saved into a copy as a VM exit would save it,
 * keeping the exit information and event injection L1 last saw (KVM's
 * sync_vmcs02_to_vmcs12() also leaves them alone).
 */
static void current_vmcs12(struct l0_vm *vm, struct vmcs12 *out)
{
	struct nvmx *n = vm->nvmx;
	struct nested_exit_info e = { 0 };

	if (!n->guest_mode) {
		/* What L1 wrote through the shadow VMCS, unless L0 wrote
		 * vmcs12 since (then the shadow VMCS is the stale one). */
		if (!n->shadow_stale)
			nvmx_sync_shadow_to_vmcs12(vm);
		*out = *n->vmcs12;
		return;
	}
	*out = *n->vmcs12;
	vmcs_merge_sync_vmcs02_to_vmcs12(vm->cpu, out, &n->cfg02, &e);
#define VMCS_FIELD(name, enc, member, sync, shadow) \
	out->member = n->vmcs12->member;
#define VMCS_FIELDS_TYPE VMCS_TYPE_EXIT_INFO
#include "arch/vmcs_fields.def"
#undef VMCS_FIELDS_TYPE
#undef VMCS_FIELD
	out->vm_entry_intr_info_field = n->vmcs12->vm_entry_intr_info_field;
	/* KVM marks the vmcs12 launched when it emulates VMLAUNCH, before
	 * L2 runs; L0 does it at the first exit. A snapshot in between
	 * reads as KVM's would. */
	if (n->run_pending && n->run_launch)
		out->launch_state = VMCS12_LAUNCH_LAUNCHED;
}

int nstate_export(struct l0_vm *vm, uint8_t **buf, size_t *len,
		  unsigned int *dropped)
{
	struct nvmx *n = vm->nvmx;
	struct kvm_nested_state h;
	struct vmcs12 v;
	size_t size = NSTATE_HDR_SIZE;
	uint8_t *p;

	memset(&h, 0, sizeof(h));
	h.format = KVM_STATE_NESTED_FORMAT_VMX;
	h.hdr.vmx.vmxon_pa = NO_PA;
	h.hdr.vmx.vmcs12_pa = NO_PA;
	*dropped = 0;
	if (n->vmxon) {
		h.hdr.vmx.vmxon_pa = n->vmxon_ptr;
		h.hdr.vmx.vmcs12_pa = n->vmptr;
		if (n->vmptr != NVMX_NO_VMPTR)
			size += KVM_VMCS12_IMAGE_SIZE;
		if (n->guest_mode) {
			h.flags |= KVM_STATE_NESTED_GUEST_MODE;
			if (n->run_pending)
				h.flags |= KVM_STATE_NESTED_RUN_PENDING;
		}
	}
	h.size = (uint32_t)size;
	p = calloc(1, size);
	if (!p)
		return -ENOMEM;
	memcpy(p, &h, sizeof(h));
	if (size > NSTATE_HDR_SIZE) {
		current_vmcs12(vm, &v);
		*dropped = kvm_vmcs12_export(p + NSTATE_HDR_SIZE, &v, NULL);
	}
	*buf = p;
	*len = size;
	return 0;
}

/* ---- checks ------------------------------------------------------------------- */

static bool page_pa_bad(uint64_t pa, unsigned int maxphyaddr)
{
	return (pa & PAGE_MASK_4K) || (pa >> maxphyaddr);
}

int nstate_check_header(const void *buf, size_t len, char *err, size_t errlen)
{
	struct kvm_nested_state h;
	const struct kvm_vmx_nested_state_hdr *x = &h.hdr.vmx;
	uint32_t rev;

	if (len < NSTATE_HDR_SIZE)
		return errmsg(-EINVAL, err, errlen,
			      "truncated: %zu bytes, the header alone is %u",
			      len, NSTATE_HDR_SIZE);
	memcpy(&h, buf, sizeof(h));
	if (h.size != len)
		return errmsg(-EINVAL, err, errlen,
			      "size field says %" PRIu32 " bytes, found %zu",
			      h.size, len);
	if (h.size != NSTATE_HDR_SIZE &&
	    h.size != NSTATE_HDR_SIZE + KVM_VMCS12_IMAGE_SIZE &&
	    h.size != NSTATE_MAX_SIZE)
		return errmsg(-EINVAL, err, errlen,
			      "size %" PRIu32 " is not 128, 4224 or 8320",
			      h.size);
	if (h.format != KVM_STATE_NESTED_FORMAT_VMX)
		return errmsg(-EINVAL, err, errlen, "format %u is not VMX (%u)",
			      h.format, KVM_STATE_NESTED_FORMAT_VMX);
	if (h.flags & ~NSTATE_KNOWN_FLAGS)
		return errmsg(-EINVAL, err, errlen, "unknown flags 0x%x",
			      h.flags & ~NSTATE_KNOWN_FLAGS);
	if ((h.flags & KVM_STATE_NESTED_RUN_PENDING) &&
	    !(h.flags & KVM_STATE_NESTED_GUEST_MODE))
		return errmsg(-EINVAL, err, errlen,
			      "RUN_PENDING without GUEST_MODE");
	if (x->vmxon_pa == NO_PA) {
		if (x->smm.flags || x->vmcs12_pa != NO_PA || h.flags ||
		    h.size != NSTATE_HDR_SIZE)
			return errmsg(-EINVAL, err, errlen,
				      "state beyond the header without a "
				      "VMXON region");
		return 0;
	}
	if (x->vmxon_pa & PAGE_MASK_4K)
		return errmsg(-EINVAL, err, errlen,
			      "vmxon_pa 0x%llx is not page aligned",
			      (unsigned long long)x->vmxon_pa);
	if (x->smm.flags &
	    ~(KVM_STATE_NESTED_SMM_GUEST_MODE | KVM_STATE_NESTED_SMM_VMXON))
		return errmsg(-EINVAL, err, errlen, "unknown smm.flags 0x%x",
			      x->smm.flags);
	if (x->flags & ~KVM_STATE_VMX_PREEMPTION_TIMER_DEADLINE)
		return errmsg(-EINVAL, err, errlen,
			      "unknown vmx.flags 0x%" PRIx32, x->flags);
	if (h.size < NSTATE_HDR_SIZE + KVM_VMCS12_IMAGE_SIZE) {
		if ((h.flags & KVM_STATE_NESTED_GUEST_MODE) ||
		    x->vmcs12_pa != NO_PA)
			return errmsg(-EINVAL, err, errlen,
				      "guest mode or a vmcs12_pa without a "
				      "vmcs12");
		return 0;
	}
	if (x->vmcs12_pa == NO_PA)
		return errmsg(-EINVAL, err, errlen,
			      "a vmcs12 without vmcs12_pa");
	if (x->vmcs12_pa == x->vmxon_pa || (x->vmcs12_pa & PAGE_MASK_4K))
		return errmsg(-EINVAL, err, errlen,
			      "vmcs12_pa 0x%llx is the VMXON region or not "
			      "page aligned",
			      (unsigned long long)x->vmcs12_pa);
	rev = kvm_vmcs12_revision(vmcs12_image(buf));
	if ((rev & ~KVM_VMCS12_SHADOW_VMCS) != KVM_VMCS12_REVISION)
		return errmsg(-EINVAL, err, errlen,
			      "vmcs12 revision 0x%" PRIx32 " is not KVM's "
			      "(0x%x)",
			      rev, KVM_VMCS12_REVISION);
	return 0;
}

/* What this L0 cannot restore, though the layout can say it. */
static int check_offered(const struct kvm_nested_state *h, char *err,
			 size_t errlen)
{
	if (h->flags & KVM_STATE_NESTED_EVMCS)
		return errmsg(-EINVAL, err, errlen,
			      "EVMCS: no enlightened VMCS is offered");
	if (h->flags & KVM_STATE_NESTED_MTF_PENDING)
		return errmsg(-EINVAL, err, errlen,
			      "MTF_PENDING: the monitor trap flag is not "
			      "offered");
	/* The vCPU is never in SMM (KVM: SMM flags only inside SMM). */
	if (h->hdr.vmx.smm.flags)
		return errmsg(-EINVAL, err, errlen,
			      "smm.flags 0x%x outside SMM",
			      h->hdr.vmx.smm.flags);
	if (h->hdr.vmx.flags & KVM_STATE_VMX_PREEMPTION_TIMER_DEADLINE)
		return errmsg(-EINVAL, err, errlen,
			      "a preemption-timer deadline: the timer is not "
			      "offered");
	return 0;
}

/* The vmcs12 of a snapshot in guest mode must pass a nested entry's
 * checks, as KVM requires before entering L2 again. */
static int check_guest_mode(struct l0_vm *vm, const struct kvm_nested_state *h,
			    const void *buf, const struct vmcs12 *v, char *err,
			    size_t errlen)
{
	struct nvmx *n = vm->nvmx;
	struct vmcs12_check out;
	bool shadowing =
		(v->cpu_based_vm_exec_control &
		 CPU_BASED_ACTIVATE_SECONDARY_CONTROLS) &&
		(v->secondary_vm_exec_control & SECONDARY_EXEC_SHADOW_VMCS);

	if (shadowing && v->vmcs_link_pointer != NO_PA) {
		uint32_t rev;

		if (h->size < NSTATE_MAX_SIZE)
			return errmsg(-EINVAL, err, errlen,
				      "VMCS shadowing without a shadow "
				      "vmcs12");
		rev = kvm_vmcs12_revision(vmcs12_image(buf) +
					  KVM_VMCS12_IMAGE_SIZE);
		if (rev != (KVM_VMCS12_REVISION | KVM_VMCS12_SHADOW_VMCS))
			return errmsg(-EINVAL, err, errlen,
				      "shadow vmcs12 revision 0x%" PRIx32, rev);
	}
	vmcs_merge_check_vmcs12(v, &n->caps, n->maxphyaddr, &out);
	if (out.result != VMCS12_CHECK_OK)
		return errmsg(-EINVAL, err, errlen,
			      "guest mode with a vmcs12 that fails the "
			      "nested entry check '%s'",
			      out.check ? out.check : "?");
	if (v->vmcs_link_pointer != NO_PA &&
	    vmcs12_read_revision(&vm->mem, v->vmcs_link_pointer) !=
		    VMCS12_REVISION)
		return errmsg(-EINVAL, err, errlen,
			      "guest mode with a VMCS link pointer 0x%llx "
			      "that names no vmcs12",
			      (unsigned long long)v->vmcs_link_pointer);
	return 0;
}

/* ---- import ------------------------------------------------------------------- */

int nstate_import(struct l0_vm *vm, const void *buf, size_t len, char *err,
		  size_t errlen)
{
	struct nvmx *n = vm->nvmx;
	struct kvm_nested_state h;
	struct vmcs12 *v;
	hpa_t hpa;
	int ret;

	ret = nstate_check_header(buf, len, err, errlen);
	if (ret)
		return ret;
	memcpy(&h, buf, sizeof(h));
	ret = check_offered(&h, err, errlen);
	if (ret)
		return ret;
	if (n->vmxon || n->guest_mode)
		return errmsg(-EBUSY, err, errlen,
			      "the VM is not fresh: L1 is in VMX operation");
	if (h.hdr.vmx.vmxon_pa == NO_PA)
		return 0;
	if (page_pa_bad(h.hdr.vmx.vmxon_pa, n->maxphyaddr))
		return errmsg(-EINVAL, err, errlen,
			      "vmxon_pa 0x%llx is beyond L1's physical-"
			      "address width (%u bits)",
			      (unsigned long long)h.hdr.vmx.vmxon_pa,
			      n->maxphyaddr);
	if (h.size == NSTATE_HDR_SIZE) {
		n->vmxon = true;
		n->vmxon_ptr = h.hdr.vmx.vmxon_pa;
		l0_vmwrite(vm, CR4_READ_SHADOW,
			   l0_vmread(vm, CR4_READ_SHADOW) | X86_CR4_VMXE);
		return 0;
	}
	/* vmcs12 goes back to L1's memory on VMCLEAR: it must be there. */
	if (page_pa_bad(h.hdr.vmx.vmcs12_pa, n->maxphyaddr) ||
	    l1mem_gpa_to_hpa(&vm->mem, h.hdr.vmx.vmcs12_pa, VMCS12_SIZE, &hpa))
		return errmsg(-EINVAL, err, errlen,
			      "vmcs12_pa 0x%llx is not in L1's RAM",
			      (unsigned long long)h.hdr.vmx.vmcs12_pa);
	v = malloc(sizeof(*v));
	if (!v)
		return errmsg(-ENOMEM, err, errlen, "%s", strerror(ENOMEM));
	kvm_vmcs12_import(v, vmcs12_image(buf));
	if (v->revision_id & KVM_VMCS12_SHADOW_VMCS) {
		free(v);
		return errmsg(-EINVAL, err, errlen,
			      "vmcs12 has the shadow-VMCS indicator set");
	}
	if (h.flags & KVM_STATE_NESTED_GUEST_MODE) {
		ret = check_guest_mode(vm, &h, buf, v, err, errlen);
		if (ret) {
			free(v);
			return ret;
		}
	}

	/* Every check passed: apply. */
	n->vmxon = true;
	n->vmxon_ptr = h.hdr.vmx.vmxon_pa;
	/* L1 is in VMX operation, so its CR4.VMXE is set (SDM 24.7). */
	l0_vmwrite(vm, CR4_READ_SHADOW,
		   l0_vmread(vm, CR4_READ_SHADOW) | X86_CR4_VMXE);
	*n->vmcs12 = *v;
	free(v);
	nvmx_set_current_vmcs12(vm, h.hdr.vmx.vmcs12_pa);
	if (!(h.flags & KVM_STATE_NESTED_GUEST_MODE))
		return 0;
	ret = nested_vmx_enter_restored(vm);
	if (ret)
		return errmsg(ret, err, errlen,
			      "L0 could not enter L2 again: %s",
			      strerror(-ret));
	n->run_pending = h.flags & KVM_STATE_NESTED_RUN_PENDING;
	n->run_launch = false;
	return 0;
}

/* ---- the file ----------------------------------------------------------------- */

static int write_all(int fd, const uint8_t *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

int nstate_write_file(struct l0_vm *vm, const char *path, char *err,
		      size_t errlen)
{
	size_t plen = strlen(path), len;
	unsigned int dropped;
	uint8_t *buf = NULL;
	char *tmp;
	mode_t mask;
	int fd, ret;

	ret = nstate_export(vm, &buf, &len, &dropped);
	if (ret)
		return errmsg(ret, err, errlen, "%s", strerror(-ret));
	tmp = malloc(plen + sizeof(".XXXXXX"));
	if (!tmp) {
		free(buf);
		return errmsg(-ENOMEM, err, errlen, "%s", strerror(ENOMEM));
	}
	snprintf(tmp, plen + sizeof(".XXXXXX"), "%s.XXXXXX", path);
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0) {
		ret = -errno;
		errmsg(ret, err, errlen, "cannot create '%s': %s", path,
		       strerror(-ret));
		goto out;
	}
	mask = umask(0);
	umask(mask);
	fchmod(fd, 0666 & ~mask);
	ret = write_all(fd, buf, len);
	if (!ret && fsync(fd))
		ret = -errno;
	if (close(fd) && !ret)
		ret = -errno;
	if (!ret && rename(tmp, path))
		ret = -errno;
	if (ret) {
		unlink(tmp);
		errmsg(ret, err, errlen, "cannot write '%s': %s", path,
		       strerror(-ret));
		goto out;
	}
	if (dropped)
		errmsg(0, err, errlen,
		       "%u vmcs12 fields have no place in KVM's layout and "
		       "were left out",
		       dropped);
out:
	free(tmp);
	free(buf);
	return ret;
}

/* ---- reading it ----------------------------------------------------------------- */

static void print_vmcs12(FILE *out, const char *prefix, const uint8_t *img)
{
	struct vmcs12 v;

	kvm_vmcs12_import(&v, img);
	fprintf(out, "%s.revision_id 0x%" PRIx32 "\n", prefix,
		kvm_vmcs12_revision(img));
	fprintf(out, "%s.abort %" PRIu32 "\n", prefix, v.abort);
	fprintf(out, "%s.launch_state %" PRIu32 " (%s)\n", prefix,
		v.launch_state,
		v.launch_state == VMCS12_LAUNCH_LAUNCHED ? "launched"
							 : "clear");
	for (unsigned int k = 0; k < VMCS_NR_FIELDS; k++) {
		const struct vmcs12_field_loc *loc = &vmcs12_field_locs[k];
		uint64_t val = 0;

		memcpy(&val, (const uint8_t *)&v + loc->offset, loc->width);
		if (val)
			fprintf(out, "%s.%s 0x%" PRIx64 "\n", prefix,
				vmcs_field_table[k].name, val);
	}
}

static const char *flag_names(uint16_t flags, char *buf, size_t n)
{
	static const struct {
		uint16_t bit;
		const char *name;
	} names[] = {
		{ KVM_STATE_NESTED_GUEST_MODE, "GUEST_MODE" },
		{ KVM_STATE_NESTED_RUN_PENDING, "RUN_PENDING" },
		{ KVM_STATE_NESTED_EVMCS, "EVMCS" },
		{ KVM_STATE_NESTED_MTF_PENDING, "MTF_PENDING" },
	};
	size_t at = 0;

	buf[0] = 0;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if ((flags & names[i].bit) && at < n)
			at += (size_t)snprintf(buf + at, n - at, "%s%s",
					       at ? "|" : "", names[i].name);
	return buf;
}

void nstate_print(FILE *out, const void *buf, size_t len)
{
	struct kvm_nested_state h;
	char names[64];

	(void)len;
	memcpy(&h, buf, sizeof(h));
	fprintf(out, "flags 0x%x (%s)\n", h.flags,
		flag_names(h.flags, names, sizeof(names)));
	fprintf(out, "format %u (VMX)\n", h.format);
	fprintf(out, "size %" PRIu32 "\n", h.size);
	fprintf(out, "vmx.vmxon_pa 0x%llx\n",
		(unsigned long long)h.hdr.vmx.vmxon_pa);
	fprintf(out, "vmx.vmcs12_pa 0x%llx\n",
		(unsigned long long)h.hdr.vmx.vmcs12_pa);
	fprintf(out, "vmx.smm.flags 0x%x\n", h.hdr.vmx.smm.flags);
	fprintf(out, "vmx.flags 0x%" PRIx32 "\n", h.hdr.vmx.flags);
	fprintf(out, "vmx.preemption_timer_deadline %llu\n",
		(unsigned long long)h.hdr.vmx.preemption_timer_deadline);
	if (h.size >= NSTATE_HDR_SIZE + KVM_VMCS12_IMAGE_SIZE)
		print_vmcs12(out, "vmcs12", vmcs12_image(buf));
	if (h.size >= NSTATE_MAX_SIZE)
		print_vmcs12(out, "shadow_vmcs12",
			     vmcs12_image(buf) + KVM_VMCS12_IMAGE_SIZE);
}

int nstate_cli_main(int argc, char *const argv[])
{
	uint8_t *buf;
	char err[256];
	size_t len;
	FILE *f;
	int ret;

	if (argc != 2) {
		fprintf(stderr, "nestvm: usage: nestvm nested-state FILE\n");
		return 125;
	}
	f = fopen(argv[1], "rb");
	if (!f) {
		fprintf(stderr, "nestvm: nested-state: cannot open '%s': %s\n",
			argv[1], strerror(errno));
		return 125;
	}
	/* One byte more than the largest snapshot tells a longer file. */
	buf = malloc(NSTATE_MAX_SIZE + 1);
	if (!buf) {
		fclose(f);
		fprintf(stderr, "nestvm: nested-state: %s\n", strerror(ENOMEM));
		return 125;
	}
	len = fread(buf, 1, NSTATE_MAX_SIZE + 1, f);
	ret = ferror(f) ? -EIO : 0;
	fclose(f);
	if (!ret)
		ret = nstate_check_header(buf, len, err, sizeof(err));
	else
		snprintf(err, sizeof(err), "read error");
	if (ret) {
		fprintf(stderr, "nestvm: nested-state: '%s': %s\n", argv[1],
			err);
		free(buf);
		return 125;
	}
	nstate_print(stdout, buf, len);
	free(buf);
	return fflush(stdout) ? 125 : 0;
}
