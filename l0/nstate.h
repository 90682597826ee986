/* SPDX-License-Identifier: MIT */
/*
 * nstate.h - L0's nested state as a snapshot in the kernel's uapi layout
 * (<asm/kvm.h> struct kvm_nested_state with the VMX header and data, what
 * KVM_GET_NESTED_STATE and KVM_SET_NESTED_STATE exchange): export, import
 * into a fresh VM with the checks KVM applies, the file written
 * atomically, and a readable dump. SDM Vol. 3C 25.1 (VMCS states), 27
 * (VM entries). Monitor side.
 */
#ifndef NESTVM_L0_NSTATE_H
#define NESTVM_L0_NSTATE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct l0_vm;

/* The header, the vmcs12 image, and the shadow vmcs12 image. */
#define NSTATE_HDR_SIZE 128u
#define NSTATE_MAX_SIZE (NSTATE_HDR_SIZE + 2 * 4096u)

/*
 * The nested state of vm as a snapshot in *buf (malloc'ed, *len bytes):
 * the header, then vmcs12 when L1 has a current VMCS, then the shadow
 * vmcs12 when L2 runs with VMCS shadowing (never: L0 does not offer it to
 * L1). The vmcs12 is in KVM's layout; *dropped gets the number of fields
 * that are not zero and have no place there (left out). 0 or -ENOMEM.
 */
int nstate_export(struct l0_vm *vm, uint8_t **buf, size_t *len,
		  unsigned int *dropped);

/*
 * Loads a snapshot into vm, a VM fresh from l0_vm_init() (L1 not in VMX
 * operation). Every check comes first, so a refused snapshot changes
 * nothing: 0, or -EINVAL (-EBUSY for a VM that is not fresh) with one
 * line in err. A failure of L0 itself while entering L2 (-ENOMEM, -EIO)
 * leaves vm unusable: destroy it.
 */
int nstate_import(struct l0_vm *vm, const void *buf, size_t len, char *err,
		  size_t errlen);

/*
 * The header checks that need no VM (sizes, format, flags, addresses
 * against each other, the vmcs12 revision): 0 or -EINVAL with err.
 */
int nstate_check_header(const void *buf, size_t len, char *err, size_t errlen);

/* Prints a snapshot that passed nstate_check_header(): header fields,
 * then every vmcs12 field that is not zero, by name. */
void nstate_print(FILE *out, const void *buf, size_t len);

/*
 * Writes vm's snapshot to path through a temporary file renamed into
 * place (nothing half-written under path). 0, or -errno with err.
 */
int nstate_write_file(struct l0_vm *vm, const char *path, char *err,
		      size_t errlen);

/* `nestvm nested-state FILE`: argv[0] is "nested-state". The exit
 * status: 0, or 125 after one line on stderr for a bad file. */
int nstate_cli_main(int argc, char *const argv[]);

#endif
