/* SPDX-License-Identifier: MIT */
/*
 * fuzz_l1vmx.c - fuzz target for L0's emulation of L1's VMX instructions
 * (SDM Vol. 3C 30.3): the input is turned into an L1 program, a stream of
 * VMXON, VMXOFF, VMCLEAR, VMPTRLD, VMPTRST, VMREAD, VMWRITE, VMLAUNCH,
 * VMRESUME, INVEPT, INVVPID and VMCALL with register and memory operands
 * in every addressing form (base, index, scale, displacement, 32-bit
 * addresses, segment overrides), register loads, memory stores, CR0/CR4
 * changes, at CPL 0 or 3, over data pages whose paging rights the input
 * picks. After each instruction the program logs RFLAGS (or, when it
 * faulted, the vector). The program runs as L1 under L0 and, as a
 * differential check, natively on the bare model, which executes VMX
 * itself: the logs must agree up to the first instruction whose outcome
 * may legitimately differ (an entry, a field or INVEPT/INVVPID type the
 * two processors do not both offer). Under L0 the isolation invariants of
 * fuzz_vm.h hold. Host side, tests only; docs/fuzzing.md.
 */
#include <string.h>

#include "arch/vmcs.h"
#include "arch/x86_msr.h"
#include "l0/nvmx.h"
#include "tests/fuzz/fuzz.h"
#include "tests/fuzz/fuzz_l1vmx.h"
#include "tests/fuzz/fuzz_vm.h"
#include "vmcs-merge/caps.h"
#include "vtx/vtx.h"

#define L1VMX_INSN_LIMIT 20000
#define L1VMX_MAX_OPS 256

/* Every VMCS encoding of the SDM, for the "load a field encoding" op. */
static const uint32_t vmcs_encodings[] = {
#define VMCS_FIELD(name, enc, member, sync, shadow) enc,
#include "arch/vmcs_fields.def"
#undef VMCS_FIELD
};
#define NR_ENCODINGS (sizeof(vmcs_encodings) / sizeof(vmcs_encodings[0]))

/* What the program generator knows about a register's value. */
struct regfile {
	bool known[16];
	uint64_t val[16];
};

struct gen {
	uint8_t *code;
	size_t len;
	struct regfile rf;
	/* Log index of the first entry the differential check must not
	 * compare, or L1VMX_MAX_OPS when all are comparable. */
	unsigned int cut;
	unsigned int nops;
	bool vmcs_caps_differ; /* INVEPT/INVVPID capabilities differ */
};

static void emit(struct gen *g, const void *p, size_t n)
{
	FUZZ_CHECK(g->len + n <= FUZZ_L1VMX_CODE_MAX);
	memcpy(g->code + g->len, p, n);
	g->len += n;
}

static void emit8(struct gen *g, uint8_t b)
{
	emit(g, &b, 1);
}

static void emit32(struct gen *g, uint32_t v)
{
	emit(g, &v, 4);
}

/* Registers the harness keeps: RSP, R14 (the resume slot), R15 (the log).
 * A fuzzed write to one of them goes to RAX instead. */
static unsigned int writable_reg(unsigned int r)
{
	r &= 15;
	return (r == 4 || r == 14 || r == 15) ? 0 : r;
}

/* 48/49 c7 c0+r imm32: mov r64, simm32 */
static void emit_mov_imm32(struct gen *g, unsigned int r, uint32_t imm)
{
	emit8(g, 0x48 | (r >> 3));
	emit8(g, 0xc7);
	emit8(g, 0xc0 | (r & 7));
	emit32(g, imm);
	g->rf.known[r] = true;
	g->rf.val[r] = (uint64_t)(int64_t)(int32_t)imm;
}

/* 48/49 b8+r imm64: mov r64, imm64 */
static void emit_mov_imm64(struct gen *g, unsigned int r, uint64_t imm)
{
	emit8(g, 0x48 | (r >> 3));
	emit8(g, 0xb8 | (r & 7));
	emit(g, &imm, 8);
	g->rf.known[r] = true;
	g->rf.val[r] = imm;
}

/* Input bytes, read front to back; past the end everything is 0. */
struct input {
	const uint8_t *p;
	size_t n, at;
};

static uint8_t in8(struct input *in)
{
	return in->at < in->n ? in->p[in->at++] : 0;
}

static uint32_t in32(struct input *in)
{
	uint32_t v = 0;

	for (int i = 0; i < 4; i++)
		v |= (uint32_t)in8(in) << (8 * i);
	return v;
}

static uint64_t in64(struct input *in)
{
	return in32(in) | (uint64_t)in32(in) << 32;
}

/*
 * A memory operand: two input bytes and a displacement. Always the SIB
 * form, so every base and index register is reachable: m0 bits 3:0 base,
 * bit 4 use an index, bit 5 32-bit addressing (67), bits 7:6 displacement
 * (none, 8, 32 bits); m1 bits 3:0 index, 5:4 scale, 7:6 segment override
 * (none, SS, FS, GS). Emits the prefixes; returns REX.X|REX.B and writes
 * the ModRM mod bits and the SIB byte for emit_insn().
 */
struct mem_operand {
	uint8_t prefix[2];
	unsigned int nprefix;
	uint8_t rex; /* X and B */
	uint8_t mod, sib;
	uint8_t disp[4];
	unsigned int ndisp;
};

static void decode_mem(struct input *in, struct mem_operand *mo)
{
	static const uint8_t seg[] = { 0, 0x36, 0x64, 0x65 };
	uint8_t m0 = in8(in), m1 = in8(in);
	unsigned int base = m0 & 15, index = m1 & 15, dsize = (m0 >> 6) & 3;

	memset(mo, 0, sizeof(*mo));
	if (seg[m1 >> 6])
		mo->prefix[mo->nprefix++] = seg[m1 >> 6];
	if (m0 & 0x20)
		mo->prefix[mo->nprefix++] = 0x67;
	if (!(m0 & 0x10))
		index = 4; /* no index */
	/* Base 5 and 13 with mod 00 mean "no base, disp32": keep a base. */
	if ((base & 7) == 5 && dsize == 0)
		dsize = 1;
	if (dsize == 3)
		dsize = 1;
	mo->mod = dsize == 0 ? 0 : dsize == 1 ? 1 : 2;
	mo->ndisp = dsize == 0 ? 0 : dsize == 1 ? 1 : 4;
	for (unsigned int i = 0; i < mo->ndisp; i++)
		mo->disp[i] = in8(in);
	mo->rex = (uint8_t)(((index >> 3) << 1) | (base >> 3));
	mo->sib = (uint8_t)((((m1 >> 4) & 3) << 6) | ((index & 7) << 3) |
			    (base & 7));
}

/* [legacy prefix] [segment/67 prefixes] [REX] opcode... ModRM [SIB disp]
 * for a memory operand, reg the ModRM reg field (register or /digit). */
static void emit_mem_insn(struct gen *g, uint8_t legacy, const uint8_t *op,
			  size_t nop, unsigned int reg, bool rexw,
			  const struct mem_operand *mo)
{
	uint8_t rex = 0x40 | (rexw ? 8 : 0) | ((reg >> 3) << 2) | mo->rex;

	if (legacy)
		emit8(g, legacy);
	emit(g, mo->prefix, mo->nprefix);
	if (rex != 0x40)
		emit8(g, rex);
	emit(g, op, nop);
	emit8(g, (uint8_t)((mo->mod << 6) | ((reg & 7) << 3) | 4));
	emit8(g, mo->sib);
	emit(g, mo->disp, mo->ndisp);
}

/* Register-register form: ModRM mod 11, reg and rm. */
static void emit_reg_insn(struct gen *g, uint8_t legacy, const uint8_t *op,
			  size_t nop, unsigned int reg, unsigned int rm)
{
	uint8_t rex = 0x40 | ((reg >> 3) << 2) | (rm >> 3);

	if (legacy)
		emit8(g, legacy);
	if (rex != 0x40)
		emit8(g, rex);
	emit(g, op, nop);
	emit8(g, (uint8_t)(0xc0 | ((reg & 7) << 3) | (rm & 7)));
}

/* Whether a VMREAD/VMWRITE of the field in register r has an outcome both
 * processors must agree on: its value is known, both offer the field or
 * neither does, and it is not read-only (IA32_VMX_MISC[29] may differ). */
static bool field_comparable(const struct gen *g, unsigned int r)
{
	uint64_t enc = g->rf.val[r];

	if (!g->rf.known[r])
		return false;
	if (enc >> 32)
		return true; /* VMfail 12 on both */
	if (VMCS_ENC_TYPE_CODE(enc) == 1)
		return false;
	return vtx_vmcs_field_supported((uint32_t)enc) ==
	       nested_vmcs_field_supported((uint32_t)enc);
}

static void cut_here(struct gen *g)
{
	if (g->cut == L1VMX_MAX_OPS)
		g->cut = g->nops;
}

/* One op of the stream; false at the end of the input. */
static bool gen_op(struct gen *g, struct input *in)
{
	static const uint8_t c7[] = { 0x0f, 0xc7 };
	static const uint8_t vmread[] = { 0x0f, 0x78 };
	static const uint8_t vmwrite[] = { 0x0f, 0x79 };
	static const uint8_t invept[] = { 0x0f, 0x38, 0x80 };
	static const uint8_t invvpid[] = { 0x0f, 0x38, 0x81 };
	struct mem_operand mo;
	size_t slot;
	uint8_t kind, a;
	unsigned int r1, r2;
	uint32_t resume;

	if (in->at >= in->n || g->nops >= L1VMX_MAX_OPS)
		return false;
	kind = in8(in) % 16;
	/* 49 c7 06 imm32: mov qword [r14], resume (filled in below) */
	emit(g, (const uint8_t[]){ 0x49, 0xc7, 0x06 }, 3);
	slot = g->len;
	emit32(g, 0);
	switch (kind) {
	case 0: /* f3 0f c7 /6: vmxon m64 */
		decode_mem(in, &mo);
		emit_mem_insn(g, 0xf3, c7, 2, 6, false, &mo);
		break;
	case 1: /* 0f 01 c4: vmxoff */
		emit(g, (const uint8_t[]){ 0x0f, 0x01, 0xc4 }, 3);
		break;
	case 2: /* 66 0f c7 /6: vmclear m64 */
		decode_mem(in, &mo);
		emit_mem_insn(g, 0x66, c7, 2, 6, false, &mo);
		break;
	case 3: /* 0f c7 /6: vmptrld m64 */
		decode_mem(in, &mo);
		emit_mem_insn(g, 0, c7, 2, 6, false, &mo);
		break;
	case 4: /* 0f c7 /7: vmptrst m64 */
		decode_mem(in, &mo);
		emit_mem_insn(g, 0, c7, 2, 7, false, &mo);
		break;
	case 5: /* 0f 78 /r: vmread r/m64, r64 (reg: the encoding) */
		a = in8(in);
		r2 = (a >> 4) & 15;
		if (!field_comparable(g, r2))
			cut_here(g);
		if (a & 1) {
			decode_mem(in, &mo);
			emit_mem_insn(g, 0, vmread, 2, r2, false, &mo);
		} else {
			r1 = writable_reg(a >> 1);
			emit_reg_insn(g, 0, vmread, 2, r2, r1);
			g->rf.known[r1] = false;
		}
		break;
	case 6: /* 0f 79 /r: vmwrite r64, r/m64 (reg: the encoding) */
		a = in8(in);
		r2 = (a >> 4) & 15;
		if (!field_comparable(g, r2))
			cut_here(g);
		if (a & 1) {
			decode_mem(in, &mo);
			emit_mem_insn(g, 0, vmwrite, 2, r2, false, &mo);
		} else {
			emit_reg_insn(g, 0, vmwrite, 2, r2, (a >> 1) & 7);
		}
		break;
	case 7: /* 0f 01 c2: vmlaunch */
	case 8: /* 0f 01 c3: vmresume */
		/* Entry checks follow each processor's capabilities, and an
		 * entry that succeeds runs a guest: compare no further. */
		cut_here(g);
		emit(g,
		     (const uint8_t[]){ 0x0f, 0x01, kind == 7 ? 0xc2 : 0xc3 },
		     3);
		break;
	case 9: /* 66 0f 38 80 /r: invept r64, m128 */
	case 10: /* 66 0f 38 81 /r: invvpid r64, m128 */
		a = in8(in);
		if (g->vmcs_caps_differ)
			cut_here(g);
		decode_mem(in, &mo);
		emit_mem_insn(g, 0x66, kind == 9 ? invept : invvpid, 3, a & 15,
			      false, &mo);
		break;
	case 11: /* 0f 01 c1: vmcall */
		emit(g, (const uint8_t[]){ 0x0f, 0x01, 0xc1 }, 3);
		break;
	case 12: /* mov r64, imm64 */
		a = in8(in);
		emit_mov_imm64(g, writable_reg(a), in64(in));
		break;
	case 13: { /* mov r64, imm32: a VMCS encoding of the SDM */
		uint32_t idx;

		a = in8(in);
		idx = in8(in);
		idx |= (uint32_t)in8(in) << 8;
		emit_mov_imm32(g, writable_reg(a),
			       vmcs_encodings[idx % NR_ENCODINGS] |
				       (a & 0x10 ? VMCS_ENC_HIGH : 0));
		break;
	}
	case 14: { /* c7 84 24 / mov dword [data + off], imm32 */
		uint32_t at = FUZZ_L1VMX_DATA + 4u * in8(in);

		/* c7 04 25 a32 imm32: mov dword [a32], imm32 */
		emit(g, (const uint8_t[]){ 0xc7, 0x04, 0x25 }, 3);
		emit32(g, at);
		emit32(g, in32(in));
		break;
	}
	case 15: { /* CR0 or CR4 ^= simm32, through RAX, saved on the stack */
		uint8_t cr = in8(in) & 1 ? 0xe0 : 0xc0; /* cr4 : cr0 */

		emit8(g, 0x50); /* push rax */
		emit(g, (const uint8_t[]){ 0x0f, 0x20, cr }, 3);
		emit(g, (const uint8_t[]){ 0x48, 0x35 }, 2); /* xor rax, */
		emit32(g, in32(in));
		emit(g, (const uint8_t[]){ 0x0f, 0x22, cr }, 3);
		emit8(g, 0x58); /* pop rax */
		break;
	}
	default:
		FUZZ_CHECK(0);
	}
	/* 9c pushfq; 41 8f 07 pop qword [r15]; 49 83 c7 08 add r15, 8 */
	emit(g,
	     (const uint8_t[]){ 0x9c, 0x41, 0x8f, 0x07, 0x49, 0x83, 0xc7,
				0x08 },
	     8);
	resume = (uint32_t)(FUZZ_L1VMX_CODE + g->len);
	memcpy(g->code + slot, &resume, 4);
	g->nops++;
	return true;
}

/* The exception stubs: log 0x100 + vector, resume at [r14] (the op after
 * the one that faulted), RAX kept in [r14 + 8]. Vector 3 (INT3, the end of
 * the program, DPL 3) halts at CPL 0. */
static size_t write_stub(uint8_t *b, unsigned int v)
{
	size_t n = 0;

	if (v == 3) {
		b[n++] = 0xf4; /* hlt */
		b[n++] = 0xeb; /* jmp $-1 */
		b[n++] = 0xfd;
		return n;
	}
	if (v == 8 || (v >= 10 && v <= 14) || v == 17) {
		/* 48 83 c4 08: add rsp, 8 (the error code) */
		memcpy(b + n, (const uint8_t[]){ 0x48, 0x83, 0xc4, 0x08 }, 4);
		n += 4;
	}
	/* 49 c7 07 imm32: mov qword [r15], 0x100 + v */
	memcpy(b + n, (const uint8_t[]){ 0x49, 0xc7, 0x07 }, 3);
	n += 3;
	b[n++] = (uint8_t)v;
	b[n++] = 1;
	b[n++] = 0;
	b[n++] = 0;
	static const uint8_t tail[] = {
		0x49, 0x83, 0xc7, 0x08, /* add r15, 8 */
		0x49, 0x89, 0x46, 0x08, /* mov [r14 + 8], rax */
		0x49, 0x8b, 0x06, /* mov rax, [r14] */
		0x48, 0x89, 0x04, 0x24, /* mov [rsp], rax */
		0x49, 0x8b, 0x46, 0x08, /* mov rax, [r14 + 8] */
		0x48, 0xcf, /* iretq */
	};
	memcpy(b + n, tail, sizeof(tail));
	return n + sizeof(tail);
}

/* The prologue: GDT with user segments, IDT, page tables, feature control
 * and CR4.VMXE as the header asks, revision identifiers in the regions,
 * registers, then the stream at CPL 0 or 3. */
static void gen_prologue(struct gen *g, uint8_t hdr)
{
	static const uint8_t lgdt[] = { 0x0f, 0x01, 0x14, 0x25 };
	static const uint8_t lidt[] = { 0x0f, 0x01, 0x1c, 0x25 };

	emit(g, lgdt, 4);
	emit32(g, FUZZ_L1VMX_GDTR);
	emit(g, lidt, 4);
	emit32(g, FUZZ_L1VMX_IDTR);
	/* mov rax, pml4; mov cr3, rax */
	emit_mov_imm32(g, 0, FUZZ_L1VMX_PML4);
	emit(g, (const uint8_t[]){ 0x0f, 0x22, 0xd8 }, 3);
	if (!(hdr & FUZZ_L1VMX_NO_FEAT_CTL)) {
		/* b9 3a 00 00 00 mov ecx, 0x3a; 0f 32 rdmsr; a8 01 test al, 1;
		 * 75 07 jnz +7; 0d 05 00 00 00 or eax, 5; 0f 30 wrmsr */
		static const uint8_t fc[] = { 0xb9, 0x3a, 0x00, 0x00, 0x00,
					      0x0f, 0x32, 0xa8, 0x01, 0x75,
					      0x07, 0x0d, 0x05, 0x00, 0x00,
					      0x00, 0x0f, 0x30 };
		emit(g, fc, sizeof(fc));
	}
	if (!(hdr & FUZZ_L1VMX_NO_VMXE)) {
		/* 0f 20 e0 mov rax, cr4; 48 0d 00 20 00 00 or rax, 0x2000;
		 * 0f 22 e0 mov cr4, rax */
		static const uint8_t vmxe[] = { 0x0f, 0x20, 0xe0, 0x48,
						0x0d, 0x00, 0x20, 0x00,
						0x00, 0x0f, 0x22, 0xe0 };
		emit(g, vmxe, sizeof(vmxe));
	}
	if (!(hdr & FUZZ_L1VMX_NO_REVISION)) {
		/* b9 80 04 00 00 mov ecx, 0x480 (IA32_VMX_BASIC); 0f 32 rdmsr;
		 * then 89 04 25 a32: mov [a32], eax for every region */
		emit(g,
		     (const uint8_t[]){ 0xb9, 0x80, 0x04, 0x00, 0x00, 0x0f,
					0x32 },
		     7);
		for (unsigned int i = 0; i < FUZZ_L1VMX_NR_REGIONS; i++) {
			emit(g, (const uint8_t[]){ 0x89, 0x04, 0x25 }, 3);
			emit32(g, FUZZ_L1VMX_REGIONS + i * PAGE_SIZE);
		}
	}
	/* Every register but RSP, R14, R15 points into the data pages. */
	for (unsigned int r = 0; r < 14; r++)
		if (r != 4)
			emit_mov_imm32(g, r, FUZZ_L1VMX_DATA + r * 0x100);
	emit_mov_imm32(g, 14, FUZZ_L1VMX_SLOT);
	emit_mov_imm32(g, 15, FUZZ_L1VMX_LOG);
	emit_mov_imm32(g, 4, FUZZ_L1VMX_STACK);
	g->rf.known[4] = g->rf.known[14] = g->rf.known[15] = false;
	if (hdr & FUZZ_L1VMX_CPL3) {
		/* iretq to the next instruction at CPL 3: 6a 3b push ss;
		 * 68 imm32 push rsp; 9c pushfq; 6a 33 push cs; 68 imm32 push
		 * rip; 48 cf iretq */
		emit(g, (const uint8_t[]){ 0x6a, FUZZ_L1VMX_SEL_UDATA, 0x68 },
		     3);
		emit32(g, FUZZ_L1VMX_USTACK);
		emit(g,
		     (const uint8_t[]){ 0x9c, 0x6a, FUZZ_L1VMX_SEL_UCODE,
					0x68 },
		     4);
		emit32(g, (uint32_t)(FUZZ_L1VMX_CODE + g->len + 4 + 2));
		emit(g, (const uint8_t[]){ 0x48, 0xcf }, 2);
	}
}

/* GDT, IDT, stubs, page tables, regions and data, host side. */
static void put(struct vtx_machine *m, uint64_t at, const void *p, size_t n)
{
	FUZZ_CHECK(vtx_hpa_write(m, at, p, n) == 0);
}

static void write_tables(struct vtx_machine *m, uint8_t pages)
{
	static const uint64_t user[] = {
		0x00affa000000ffffull, /* 0x30: 64-bit code, DPL 3 */
		0x00cff2000000ffffull, /* 0x38: data, DPL 3 */
	};
	uint8_t gdt[8 * 8], desc[10], stub[64];
	uint64_t e;

	FUZZ_CHECK(vtx_hpa_read(m, BOOT_GDT, gdt, BOOT_GDT_ENTRIES * 8) == 0);
	memcpy(gdt + BOOT_GDT_ENTRIES * 8, user, sizeof(user));
	put(m, FUZZ_L1VMX_GDT, gdt, sizeof(gdt));
	e = FUZZ_L1VMX_GDT;
	desc[0] = sizeof(gdt) - 1;
	desc[1] = 0;
	memcpy(desc + 2, &e, 8);
	put(m, FUZZ_L1VMX_GDTR, desc, sizeof(desc));
	e = FUZZ_L1VMX_IDT;
	desc[0] = (32 * 16 - 1) & 0xff;
	desc[1] = (32 * 16 - 1) >> 8;
	memcpy(desc + 2, &e, 8);
	put(m, FUZZ_L1VMX_IDTR, desc, sizeof(desc));
	for (unsigned int v = 0; v < 32; v++) {
		uint64_t at = FUZZ_L1VMX_STUBS + v * 64;
		uint64_t gate[2];
		size_t n = write_stub(stub, v);

		FUZZ_CHECK(n <= sizeof(stub));
		put(m, at, stub, n);
		/* 64-bit interrupt gate, selector 8; INT3's is DPL 3. */
		gate[0] = (at & 0xffff) | (8ull << 16) |
			  ((v == 3 ? 0xeeull : 0x8eull) << 40) |
			  ((at >> 16 & 0xffff) << 48);
		gate[1] = at >> 32;
		put(m, FUZZ_L1VMX_IDT + v * 16, gate, sizeof(gate));
	}
	/* Identity map of [0, 4 MiB), user-accessible: [0, 2 MiB) in 4 KiB
	 * pages, [2, 4 MiB) one 2 MiB page. The data pages' rights come from
	 * the header: 2 bits a page (RW, read-only, not present, supervisor). */
	e = FUZZ_L1VMX_PDPT | 7;
	put(m, FUZZ_L1VMX_PML4, &e, 8);
	e = FUZZ_L1VMX_PD | 7;
	put(m, FUZZ_L1VMX_PDPT, &e, 8);
	e = FUZZ_L1VMX_PT | 7;
	put(m, FUZZ_L1VMX_PD, &e, 8);
	e = MiB(2) | 0x87;
	put(m, FUZZ_L1VMX_PD + 8, &e, 8);
	/* Built here and written in two copies: a write per entry cost more
	 * than the rest of an input's setup. */
	static uint64_t pt[512], words[4 * PAGE_SIZE / 8];

	for (uint64_t p = 0; p < MiB(2); p += PAGE_SIZE) {
		e = p | 7;
		if (p >= FUZZ_L1VMX_DATA &&
		    p < FUZZ_L1VMX_DATA + 4 * PAGE_SIZE) {
			unsigned int k = (p - FUZZ_L1VMX_DATA) / PAGE_SIZE;

			switch ((pages >> (2 * k)) & 3) {
			case 1:
				e &= ~2ull;
				break;
			case 2:
				e &= ~1ull;
				break;
			case 3:
				e &= ~4ull;
				break;
			default:
				break;
			}
		}
		pt[p / PAGE_SIZE] = e;
	}
	put(m, FUZZ_L1VMX_PT, pt, sizeof(pt));
	/* Every data qword holds a region's address by default. */
	for (unsigned int i = 0; i < 4 * PAGE_SIZE / 8; i++)
		words[i] = FUZZ_L1VMX_REGIONS +
			   (i % FUZZ_L1VMX_NR_REGIONS) * PAGE_SIZE;
	put(m, FUZZ_L1VMX_DATA, words, sizeof(words));
}

/* The same machine state natively: the bare model runs L1's program and
 * executes its VMX instructions itself. One machine, reused. */
struct bare {
	struct vtx_machine *m;
	struct vtx_cpu *cpu;
	struct boot_params bp;
};

static void bare_start(struct bare *b)
{
	struct vtx_machine_config cfg = { .arena_size = FUZZ_L1VMX_L1_RAM };
	char err[256];

	if (!b->m) {
		FUZZ_CHECK(vtx_machine_create(&cfg, &b->m) == 0);
		FUZZ_CHECK(vtx_cpu_create(b->m, &b->cpu) == 0);
	}
	FUZZ_CHECK(vtx_hpa_zero(b->m, 0, FUZZ_L1VMX_L1_RAM) == 0);
	FUZZ_CHECK(vtx_cpu_reset(b->cpu) == 0);
	FUZZ_CHECK(boot_init_params(&b->bp, FUZZ_L1VMX_L1_RAM, FUZZ_L1VMX_CODE,
				    FUZZ_L1VMX_CODE,
				    FUZZ_L1VMX_CODE + PAGE_SIZE, NULL, err,
				    sizeof(err)) == 0);
	FUZZ_CHECK(boot_write_memory(b->m, &b->bp, err, sizeof(err)) == 0);
	FUZZ_CHECK(boot_setup_cpu(b->cpu, &b->bp, err, sizeof(err)) == 0);
}

/* Whether L0 offers L1 the INVEPT/INVVPID types the processor has. */
static bool inv_caps_differ(struct fuzz_vm *f, struct bare *b)
{
	uint64_t l0 = 0, hw = 0;

	nvmx_get_msr(f->vm.nvmx, MSR_IA32_VMX_EPT_VPID_CAP, &l0);
	vtx_cpu_get_msr(b->cpu, MSR_IA32_VMX_EPT_VPID_CAP, &hw);
	return l0 != hw;
}

int FUZZ_ENTRY(const uint8_t *data, size_t size)
{
	static struct fuzz_vm f;
	static struct bare b;
	static uint8_t code[FUZZ_L1VMX_CODE_MAX];
	static uint64_t log_l0[L1VMX_MAX_OPS], log_hw[L1VMX_MAX_OPS];
	struct input in = { .p = data, .n = size };
	struct gen g = { .code = code, .cut = L1VMX_MAX_OPS };
	uint8_t hdr = in8(&in), pages = in8(&in);
	struct vtx_stop stop;
	uint64_t feat_ctl = 0;
	unsigned int n;

	fuzz_vm_start(&f, FUZZ_L1VMX_L1_RAM, FUZZ_L1VMX_AREA, FUZZ_L1VMX_CODE);
	bare_start(&b);
	g.vmcs_caps_differ = inv_caps_differ(&f, &b);
	/* The platform as L0 presents it to L1: IA32_FEATURE_CONTROL locked
	 * with VMX enabled, as firmware leaves it; the bare processor gets
	 * the same value before its run. */
	FUZZ_CHECK(nvmx_get_msr(f.vm.nvmx, MSR_IA32_FEAT_CTL, &feat_ctl) == 0);
	FUZZ_CHECK(vtx_cpu_set_msr(b.cpu, MSR_IA32_FEAT_CTL, feat_ctl) == 0);
	gen_prologue(&g, hdr);
	while (gen_op(&g, &in))
		;
	emit8(&g, 0xcc); /* int3: the end */

	write_tables(f.m, pages);
	put(f.m, FUZZ_L1VMX_CODE, code, g.len);
	fuzz_vm_snapshot_area(&f);
	l0_vm_run(&f.vm, L1VMX_INSN_LIMIT);
	FUZZ_CHECK(vtx_hpa_read(f.m, FUZZ_L1VMX_LOG, log_l0, sizeof(log_l0)) ==
		   0);
	fuzz_vm_check_and_finish(&f);

	write_tables(b.m, pages);
	put(b.m, FUZZ_L1VMX_CODE, code, g.len);
	vtx_cpu_set_insn_limit(b.cpu, L1VMX_INSN_LIMIT);
	FUZZ_CHECK(vtx_cpu_run(b.cpu, &stop) == 0);
	FUZZ_CHECK(vtx_hpa_read(b.m, FUZZ_L1VMX_LOG, log_hw, sizeof(log_hw)) ==
		   0);

	n = g.cut < g.nops ? g.cut : g.nops;
	for (unsigned int i = 0; i < n; i++) {
		if (log_l0[i] == log_hw[i])
			continue;
		fprintf(stderr,
			"op %u: under L0 0x%llx, on the processor 0x%llx\n", i,
			(unsigned long long)log_l0[i],
			(unsigned long long)log_hw[i]);
		FUZZ_CHECK(log_l0[i] == log_hw[i]);
	}
	return 0;
}
