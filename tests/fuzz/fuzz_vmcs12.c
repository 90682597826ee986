/* SPDX-License-Identifier: MIT */
/*
 * fuzz_vmcs12.c - fuzz target for L0's nested VM entry: a 4 KiB vmcs12
 * image of fuzz bytes (revision patched in) is made current by an L1
 * program (VMXON, VMPTRLD) and launched, so that it goes through the
 * nested entry checks, vmcs02 preparation and a short run of L2 and L1
 * (SDM Vol. 3C 27.2, 27.3, 28). Invariants: the run stops for a reason of
 * the guests', never for L0's; every page of the L0 area L0 did not
 * legitimately write (VMCS regions, ept02 tables) is byte-identical to a
 * snapshot taken before, its unused pages keep their canary, and ept02
 * maps nothing outside L1's RAM. One VM serves every input (fuzz_vm.h).
 * Host side, tests only.
 */
#include <string.h>

#include "arch/ept.h"
#include "tests/fuzz/fuzz.h"
#include "tests/fuzz/fuzz_vm.h"
#include "tests/fuzz/fuzz_vmcs12.h"
#include "vmcs-merge/caps.h"
#include "vmcs-merge/vmcs12.h"
#include "vtx/vtx.h"

#define FUZZ_VMCS12_INSN_LIMIT 4000

/* f3 0f c7 34 25 a32  vmxon QWORD PTR ds:a32, with CR4.VMXE set first:
 * 0f 20 e0 mov rax, cr4; 48 0d 00 20 00 00 or rax, 0x2000; 0f 22 e0 mov
 * cr4, rax. Then 0f c7 34 25 a32 vmptrld QWORD PTR ds:a32 and 0f 01 c2
 * vmlaunch (c3: vmresume), f4 hlt. */
static size_t l1_program(uint8_t *b, bool resume)
{
	static const uint8_t vmxe[] = { 0x0f, 0x20, 0xe0, 0x48, 0x0d, 0x00,
					0x20, 0x00, 0x00, 0x0f, 0x22, 0xe0 };
	const uint32_t vmxon_op = FUZZ_VMCS12_DATA;
	const uint32_t vmptr_op = FUZZ_VMCS12_DATA + 8;
	size_t n = 0;

	memcpy(b + n, vmxe, sizeof(vmxe));
	n += sizeof(vmxe);
	memcpy(b + n, (const uint8_t[]){ 0xf3, 0x0f, 0xc7, 0x34, 0x25 }, 5);
	n += 5;
	memcpy(b + n, &vmxon_op, 4);
	n += 4;
	memcpy(b + n, (const uint8_t[]){ 0x0f, 0xc7, 0x34, 0x25 }, 4);
	n += 4;
	memcpy(b + n, &vmptr_op, 4);
	n += 4;
	memcpy(b + n, (const uint8_t[]){ 0x0f, 0x01, resume ? 0xc3 : 0xc2 }, 3);
	n += 3;
	b[n++] = 0xf4;
	return n;
}

int FUZZ_ENTRY(const uint8_t *data, size_t size)
{
	static struct fuzz_vm f;
	static uint8_t image[FUZZ_VMCS12_IMAGE];
	/* 0f a2 cpuid; f4 hlt */
	static const uint8_t l2_default[] = { 0x0f, 0xa2, 0xf4 };
	const uint8_t *l2 = l2_default;
	size_t l2_len = sizeof(l2_default);
	uint8_t flags = 0, prog[64];
	struct vmcs12 *v = (struct vmcs12 *)image;

	memset(image, 0, sizeof(image));
	memcpy(image, data, size < sizeof(image) ? size : sizeof(image));
	if (size > FUZZ_VMCS12_IMAGE) {
		flags = data[FUZZ_VMCS12_IMAGE];
		if (size > FUZZ_VMCS12_IMAGE + 1) {
			l2 = data + FUZZ_VMCS12_IMAGE + 1;
			l2_len = size - FUZZ_VMCS12_IMAGE - 1;
			if (l2_len > FUZZ_VMCS12_L2_CODE_MAX)
				l2_len = FUZZ_VMCS12_L2_CODE_MAX;
		}
	}
	v->revision_id = VMCS12_REVISION;
	if (!(flags & FUZZ_VMCS12_RAW_LAUNCH))
		v->launch_state = flags & FUZZ_VMCS12_RESUME
					  ? VMCS12_LAUNCH_LAUNCHED
					  : VMCS12_LAUNCH_CLEAR;

	fuzz_vm_start(&f, FUZZ_VMCS12_L1_RAM, FUZZ_VMCS12_AREA,
		      FUZZ_VMCS12_L1_CODE);
	fuzz_vm_put(&f, FUZZ_VMCS12_L1_CODE, prog,
		    l1_program(prog, flags & FUZZ_VMCS12_RESUME));
	fuzz_vm_put(&f, FUZZ_VMCS12_L1_HOST_RIP, l2_default + 2, 1);
	fuzz_vm_put(&f, FUZZ_VMCS12_L2_CODE, l2, l2_len);
	fuzz_vm_put64(&f, FUZZ_VMCS12_DATA, FUZZ_VMCS12_VMXON);
	fuzz_vm_put64(&f, FUZZ_VMCS12_DATA + 8, FUZZ_VMCS12_VMCS);
	fuzz_vm_put(&f, FUZZ_VMCS12_VMXON, &v->revision_id, 4);
	fuzz_vm_put(&f, FUZZ_VMCS12_VMCS, image, sizeof(image));
	/* ept12: L2-physical [0, 2 MiB) to the same L1-physical range. */
	fuzz_vm_put64(&f, FUZZ_VMCS12_EPT12,
		      (FUZZ_VMCS12_EPT12 + 0x1000) | EPT_RWX);
	fuzz_vm_put64(&f, FUZZ_VMCS12_EPT12 + 0x1000,
		      (FUZZ_VMCS12_EPT12 + 0x2000) | EPT_RWX);
	fuzz_vm_put64(&f, FUZZ_VMCS12_EPT12 + 0x2000,
		      EPT_RWX | EPT_LARGE | EPT_MT(EPT_MT_WB));

	/* The snapshot: what L0 set up, and a canary in every free page. */
	fuzz_vm_snapshot_area(&f);
	l0_vm_run(&f.vm, FUZZ_VMCS12_INSN_LIMIT);
	fuzz_vm_check_and_finish(&f);
	return 0;
}
