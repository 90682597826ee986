/* SPDX-License-Identifier: MIT */
/*
 * shadow_emul.c - the decoder for the one instruction family L0 emulates
 * when L1 writes one of its write-protected page tables under the shadow
 * MMU: MOV r/m, r and MOV r/m, imm in 64-bit mode (SDM Vol. 2A 2.1-2.2
 * instruction format, REX; Vol. 2B "MOV"). Anything else is refused, and
 * the caller stops the run saying so. Monitor side.
 */
#include "mmu/shadow.h"

#include <errno.h>
#include <string.h>

#include "arch/x86_regs.h"
#include "arch/x86_seg.h"

#define REX_W 0x8
#define REX_R 0x4
#define REX_X 0x2
#define REX_B 0x1

/* A little-endian signed immediate or displacement of n bytes at p. */
static int64_t read_signed(const uint8_t *p, unsigned int n)
{
	uint64_t v = 0;

	for (unsigned int i = 0; i < n; i++)
		v |= (uint64_t)p[i] << (8 * i);
	if (n < 8 && (v >> (8 * n - 1)) & 1)
		v |= ~0ull << (8 * n);
	return (int64_t)v;
}

int shadow_decode_store(const uint8_t *bytes, size_t n,
			struct shadow_store *out)
{
	size_t i = 0;
	bool opsize = false, has_rex = false;
	unsigned int rex = 0, op, modrm, mod, reg, rm, imm_len = 0;

	memset(out, 0, sizeof(*out));
	out->base = out->index = -1;
	out->seg = VCPU_SREG_DS;
	for (;; i++) {
		if (i >= n || i >= 15)
			return -EINVAL;
		switch (bytes[i]) {
		case 0x66:
			opsize = true;
			continue;
		case 0x67:
			out->addr32 = true;
			continue;
		case 0x26:
		case 0x2e:
		case 0x36:
		case 0x3e:
			/* No base for these in 64-bit mode (SDM 3.4.4). */
			continue;
		case 0x64:
			out->seg = VCPU_SREG_FS;
			continue;
		case 0x65:
			out->seg = VCPU_SREG_GS;
			continue;
		default:
			break;
		}
		break;
	}
	/* REX counts only right before the opcode (SDM Vol. 2A 2.2.1). */
	if ((bytes[i] & 0xf0) == 0x40) {
		rex = bytes[i] & 0xf;
		has_rex = true;
		if (++i >= n)
			return -EINVAL;
	}
	op = bytes[i++];
	if (op != 0x88 && op != 0x89 && op != 0xc6 && op != 0xc7)
		return -EOPNOTSUPP;
	if (i >= n)
		return -EINVAL;
	modrm = bytes[i++];
	mod = modrm >> 6;
	reg = (modrm >> 3) & 7;
	rm = modrm & 7;
	if (mod == 3 || ((op == 0xc6 || op == 0xc7) && reg != 0))
		return -EOPNOTSUPP;

	if (op == 0x88 || op == 0xc6)
		out->size = 1;
	else if (rex & REX_W)
		out->size = 8;
	else
		out->size = opsize ? 2 : 4;

	if (rm == 4) {
		unsigned int sib, base, index;

		if (i >= n)
			return -EINVAL;
		sib = bytes[i++];
		out->scale = (uint8_t)(sib >> 6);
		index = ((sib >> 3) & 7) | ((rex & REX_X) ? 8 : 0);
		base = (sib & 7) | ((rex & REX_B) ? 8 : 0);
		if (index != VCPU_REGS_RSP)
			out->index = (int)index;
		/* Base 5 with mod 0: no base, a 32-bit displacement. */
		if ((sib & 7) == 5 && mod == 0) {
			mod = 2;
		} else {
			out->base = (int)base;
		}
	} else if (rm == 5 && mod == 0) {
		out->rip_rel = true;
		mod = 2;
	} else {
		out->base = (int)(rm | ((rex & REX_B) ? 8 : 0));
	}
	if (mod == 1 || mod == 2) {
		unsigned int dl = mod == 1 ? 1 : 4;

		if (i + dl > n)
			return -EINVAL;
		out->disp = read_signed(bytes + i, dl);
		i += dl;
	}

	if (op == 0xc6)
		imm_len = 1;
	else if (op == 0xc7)
		imm_len = out->size == 2 ? 2 : 4;
	if (imm_len) {
		if (i + imm_len > n)
			return -EINVAL;
		out->has_imm = true;
		/* imm32 is sign-extended to 64 bits with REX.W. */
		out->imm = (uint64_t)read_signed(bytes + i, imm_len);
		if (out->size < 8)
			out->imm &= (1ull << (8 * out->size)) - 1;
		i += imm_len;
	} else {
		out->src = (int)(reg | ((rex & REX_R) ? 8 : 0));
		/* Without REX (even 0x40), byte registers 4-7 are AH,
		 * CH, DH, BH; with it SPL, BPL, SIL, DIL. */
		if (out->size == 1 && !has_rex && reg >= 4) {
			out->src = (int)(reg - 4);
			out->src_high8 = true;
		}
	}
	if (i > 15)
		return -EOPNOTSUPP;
	out->len = (uint8_t)i;
	return 0;
}
