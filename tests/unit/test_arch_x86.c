/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for the architectural headers in arch/: descriptor and
 * access-rights conversions, exception rules, paging indices and canonical
 * addresses, exit-qualification and instruction-information layouts, EPT
 * and VMX capability helpers, VM-instruction error names. Expected values
 * are worked out by hand from the SDM layouts cited in each header.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "arch/x86_regs.h"
#include "arch/x86_seg.h"
#include "arch/x86_paging.h"
#include "arch/x86_msr.h"
#include "arch/ept.h"
#include "arch/vmx_insn_errors.h"
#include "arch/vmx_exit_qual.h"

/* GDT entries as every 64-bit kernel writes them (base 0, limit 4 GiB). */
#define DESC_FLAT_CODE64 0x00af9b000000ffffull
#define DESC_FLAT_DATA 0x00cf93000000ffffull
#define DESC_FLAT_CODE32 0x00cf9b000000ffffull

/* ---- x86_seg.h ----------------------------------------------------------- */

static void test_seg__flat_code64_desc_decodes_to_long_mode_cs(void **state)
{
	struct kvm_segment seg;

	(void)state;
	memset(&seg, 0xa5, sizeof(seg));
	x86_seg_decode_desc(&seg, DESC_FLAT_CODE64, 0x08);
	assert_int_equal(seg.base, 0);
	assert_int_equal(seg.limit, 0xffffffffu);
	assert_int_equal(seg.selector, 0x08);
	assert_int_equal(seg.type, SEG_TYPE_CODE_XR_ACCESSED);
	assert_int_equal(seg.s, 1);
	assert_int_equal(seg.dpl, 0);
	assert_int_equal(seg.present, 1);
	assert_int_equal(seg.avl, 0);
	assert_int_equal(seg.l, 1);
	assert_int_equal(seg.db, 0);
	assert_int_equal(seg.g, 1);
	assert_int_equal(seg.unusable, 0);
	assert_int_equal(x86_seg_to_vmx_ar(&seg), 0xa09b);
}

static void test_seg__flat_descs_round_trip_through_kvm_segment(void **state)
{
	static const uint64_t descs[] = { DESC_FLAT_CODE64, DESC_FLAT_DATA,
					  DESC_FLAT_CODE32,
					  /* 16-bit data, byte limit, DPL 3 */
					  0x0000f3123456abcdull };
	struct kvm_segment seg;
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(descs); i++) {
		x86_seg_decode_desc(&seg, descs[i], 0x10);
		assert_int_equal(x86_seg_encode_desc(&seg), descs[i]);
	}
	x86_seg_decode_desc(&seg, 0x0000f3123456abcdull, 0x2b);
	assert_int_equal(seg.base, 0x123456);
	assert_int_equal(seg.limit, 0xabcd);
	assert_int_equal(seg.dpl, 3);
	assert_int_equal(seg.g, 0);
}

static void test_seg__flat_data_desc_gives_ar_c093(void **state)
{
	struct kvm_segment seg;

	(void)state;
	x86_seg_decode_desc(&seg, DESC_FLAT_DATA, 0x10);
	assert_int_equal(seg.type, SEG_TYPE_DATA_RW_ACCESSED);
	assert_int_equal(seg.db, 1);
	assert_int_equal(seg.l, 0);
	assert_int_equal(x86_seg_to_vmx_ar(&seg), 0xc093);
	assert_int_equal(x86_desc_to_vmx_ar(DESC_FLAT_DATA), 0xc093);
	assert_int_equal(x86_desc_to_vmx_ar(DESC_FLAT_CODE64), 0xa09b);
}

static void test_seg__tss64_sys_desc_round_trips_with_high_base(void **state)
{
	/*
	 * Available 64-bit TSS at 0xffff800012345678, limit 0x67: base 15:0
	 * in bits 31:16, base 23:16 in 39:32, P|type 9 = 0x89 in 47:40, base
	 * 31:24 in 63:56, base 63:32 in the upper half.
	 */
	const uint64_t lo = 0x1200893456780067ull;
	const uint64_t hi = 0x00000000ffff8000ull;
	struct kvm_segment seg;
	uint64_t hi2 = 0;

	(void)state;
	x86_seg_decode_sys_desc(&seg, lo, hi, 0x20);
	assert_int_equal(seg.base, 0xffff800012345678ull);
	assert_int_equal(seg.limit, X86_TSS64_LIMIT);
	assert_int_equal(seg.type, SEG_TYPE_TSS64_AVAIL);
	assert_int_equal(seg.s, 0);
	assert_int_equal(seg.present, 1);
	assert_int_equal(x86_seg_to_vmx_ar(&seg), 0x0089);
	assert_int_equal(x86_seg_encode_sys_desc(&seg, &hi2), lo);
	assert_int_equal(hi2, hi);

	/* LTR marks it busy: type 11, AR 0x8b. */
	seg.type |= SEG_TYPE_TSS_BUSY_BIT;
	assert_int_equal(seg.type, SEG_TYPE_TSS64_BUSY);
	assert_int_equal(x86_seg_to_vmx_ar(&seg), 0x008b);
}

static void test_seg__vmx_ar_round_trip_keeps_unusable_bit(void **state)
{
	static const uint32_t ars[] = { 0xa09b,	 0xc093,  0x008b, 0x0082,
					0x1c093, 0x10000, 0xf0ff };
	struct kvm_segment seg;
	size_t i;

	(void)state;
	memset(&seg, 0, sizeof(seg));
	for (i = 0; i < ARRAY_SIZE(ars); i++) {
		x86_seg_from_vmx_ar(&seg, ars[i]);
		assert_int_equal(x86_seg_to_vmx_ar(&seg), ars[i]);
	}
	x86_seg_from_vmx_ar(&seg, 0x1c093);
	assert_int_equal(seg.unusable, 1);
	assert_int_equal(seg.type, 3);
	assert_int_equal(seg.g, 1);
	assert_int_equal(seg.db, 1);
	assert_int_equal(VMX_AR_DPL(0xe0u), 3);
}

static void test_seg__reset_state_matches_table_10_1(void **state)
{
	struct kvm_segment seg;

	(void)state;
	x86_seg_set_reset(&seg, VCPU_SREG_CS);
	assert_int_equal(seg.selector, X86_RESET_CS_SELECTOR);
	assert_int_equal(seg.base, X86_RESET_CS_BASE);
	assert_int_equal(seg.limit, X86_RESET_SEG_LIMIT);
	assert_int_equal(x86_seg_to_vmx_ar(&seg), X86_RESET_CS_AR);

	x86_seg_set_reset(&seg, VCPU_SREG_SS);
	assert_int_equal(seg.selector, 0);
	assert_int_equal(seg.base, 0);
	assert_int_equal(seg.limit, 0xffff);
	assert_int_equal(x86_seg_to_vmx_ar(&seg), X86_RESET_SEG_AR);

	x86_seg_set_reset(&seg, VCPU_SREG_TR);
	assert_int_equal(x86_seg_to_vmx_ar(&seg), X86_RESET_TR_AR);
	x86_seg_set_reset(&seg, VCPU_SREG_LDTR);
	assert_int_equal(x86_seg_to_vmx_ar(&seg), X86_RESET_LDTR_AR);
}

static void test_seg__selector_fields_split_index_ti_rpl(void **state)
{
	(void)state;
	assert_int_equal(SEL_INDEX(0x2b), 5);
	assert_int_equal(0x2b & SEL_RPL_MASK, 3);
	assert_int_equal(0x2b & SEL_TI, 0);
	assert_int_equal(SEL_MAKE(5, 0, 3), 0x2b);
	assert_int_equal(SEL_MAKE(1, 1, 3), 0x0f);
	assert_true(x86_sel_is_null(0x0003));
	/* Index 0 of the LDT is a real selector, not a null one. */
	assert_false(x86_sel_is_null(0x0004));
	assert_false(x86_sel_is_null(0x0008));
}

static void test_idt__gate64_build_splits_offset_into_three(void **state)
{
	struct x86_idt_gate64 gate;
	uint64_t raw[2];

	(void)state;
	memset(&gate, 0xff, sizeof(gate));
	x86_idt_build_gate64(&gate, 0xffffffff81234567ull, 0x08, 1,
			     SEG_TYPE_INT_GATE64, 0);
	memcpy(raw, &gate, sizeof(raw));
	/* offset 15:0, selector, IST 1, P|DPL 0|type 14, offset 31:16. */
	assert_int_equal(raw[0], 0x81238e0100084567ull);
	assert_int_equal(raw[1], 0x00000000ffffffffull);
	assert_int_equal(x86_idt_gate64_get_offset(&gate),
			 0xffffffff81234567ull);

	x86_idt_build_gate64(&gate, 0x1000, 0x08, 0, SEG_TYPE_TRAP_GATE64, 3);
	assert_int_equal(gate.type_attr, 0xef);
	assert_int_equal(gate.ist, 0);
}

static void test_tss64__ist_n_is_at_sdm_offset(void **state)
{
	struct x86_tss64 tss;
	unsigned char *p = (unsigned char *)&tss;

	(void)state;
	memset(&tss, 0, sizeof(tss));
	tss.ist[3] = 0x1122334455667788ull;
	tss.rsp[0] = 0xaabbccddeeff0011ull;
	tss.iomap_base = 0x68;
	/* IST3 at 0x34, RSP0 at 0x04, I/O map base at 0x66 (SDM 8.7). */
	assert_int_equal(p[0x34], 0x88);
	assert_int_equal(p[0x3b], 0x11);
	assert_int_equal(p[0x04], 0x11);
	assert_int_equal(p[0x0b], 0xaa);
	assert_int_equal(p[0x66], 0x68);
	assert_int_equal(sizeof(struct x86_desc_ptr), 10);
}

/* ---- x86_regs.h ---------------------------------------------------------- */

static void test_regs__error_code_only_for_df_ts_np_ss_gp_pf_ac_cp(void **state)
{
	/* SDM Table 6-1, "Error Code" column. */
	static const bool expected[32] = {
		[8] = true,  [10] = true, [11] = true, [12] = true,
		[13] = true, [14] = true, [17] = true, [21] = true,
	};
	unsigned int v;

	(void)state;
	for (v = 0; v < 32; v++) {
		if (x86_exception_has_error_code(v) != expected[v])
			fail_msg("vector %u: expected %d", v, expected[v]);
	}
	assert_false(x86_exception_has_error_code(32));
	assert_false(x86_exception_has_error_code(255));
	assert_false(x86_exception_has_error_code(~0u));
}

static void test_regs__exception_classes_follow_table_6_4(void **state)
{
	unsigned int v;

	(void)state;
	for (v = 0; v < 32; v++) {
		enum x86_exception_class want = X86_EXCPT_BENIGN;

		if (v == 0 || (v >= 10 && v <= 13) || v == 21)
			want = X86_EXCPT_CONTRIBUTORY;
		else if (v == 14 || v == 20)
			want = X86_EXCPT_PAGE_FAULT;
		else if (v == 8)
			want = X86_EXCPT_DOUBLE_FAULT;
		if (x86_exception_get_class(v) != want)
			fail_msg("vector %u: class %d, want %d", v,
				 x86_exception_get_class(v), want);
	}
}

static void test_regs__exception_combine_follows_table_6_5(void **state)
{
	(void)state;
	assert_int_equal(x86_exception_combine(GP_VECTOR, NP_VECTOR),
			 X86_EXCPT_RAISE_DF);
	assert_int_equal(x86_exception_combine(DE_VECTOR, CP_VECTOR),
			 X86_EXCPT_RAISE_DF);
	assert_int_equal(x86_exception_combine(GP_VECTOR, PF_VECTOR),
			 X86_EXCPT_SERIAL);
	assert_int_equal(x86_exception_combine(PF_VECTOR, PF_VECTOR),
			 X86_EXCPT_RAISE_DF);
	assert_int_equal(x86_exception_combine(PF_VECTOR, GP_VECTOR),
			 X86_EXCPT_RAISE_DF);
	assert_int_equal(x86_exception_combine(VE_VECTOR, SS_VECTOR),
			 X86_EXCPT_RAISE_DF);
	assert_int_equal(x86_exception_combine(PF_VECTOR, UD_VECTOR),
			 X86_EXCPT_SERIAL);
	assert_int_equal(x86_exception_combine(DB_VECTOR, GP_VECTOR),
			 X86_EXCPT_SERIAL);
	assert_int_equal(x86_exception_combine(DF_VECTOR, GP_VECTOR),
			 X86_EXCPT_TRIPLE_FAULT);
	assert_int_equal(x86_exception_combine(DF_VECTOR, PF_VECTOR),
			 X86_EXCPT_TRIPLE_FAULT);
	assert_int_equal(x86_exception_combine(DF_VECTOR, DB_VECTOR),
			 X86_EXCPT_SERIAL);
}

static void test_regs__vectors_missing_from_uapi_have_sdm_numbers(void **state)
{
	(void)state;
	assert_int_equal(NMI_VECTOR, 2);
	assert_int_equal(XM_VECTOR, 19);
	assert_int_equal(VE_VECTOR, 20);
	assert_int_equal(CP_VECTOR, 21);
}

static void test_regs__eflags_masks_cover_exactly_the_sdm_bits(void **state)
{
	uint64_t live = X86_EFLAGS_CF | X86_EFLAGS_PF | X86_EFLAGS_AF |
			X86_EFLAGS_ZF | X86_EFLAGS_SF | X86_EFLAGS_TF |
			X86_EFLAGS_IF | X86_EFLAGS_DF | X86_EFLAGS_OF |
			X86_EFLAGS_IOPL | X86_EFLAGS_NT | X86_EFLAGS_RF |
			X86_EFLAGS_VM | X86_EFLAGS_AC | X86_EFLAGS_VIF |
			X86_EFLAGS_VIP | X86_EFLAGS_ID;

	(void)state;
	assert_int_equal(X86_EFLAGS_LIVE_MASK, live);
	assert_int_equal(X86_EFLAGS_LIVE_MASK, 0x3f7fd5);
	assert_int_equal(X86_EFLAGS_ARITH_MASK, 0x8d5);
	assert_int_equal(X86_EFLAGS_LIVE_MASK & X86_EFLAGS_RESERVED_ONES, 0);
	assert_int_equal(X86_RESET_RFLAGS, X86_EFLAGS_RESERVED_ONES);
}

static void test_regs__reset_values_match_table_10_1(void **state)
{
	(void)state;
	assert_int_equal(X86_RESET_CR0, X86_CR0_CD | X86_CR0_NW | X86_CR0_ET);
	assert_int_equal(X86_RESET_CR0, 0x60000010);
	assert_int_equal(X86_RESET_DR6, 0xffff0ff0);
	assert_int_equal(X86_RESET_DR7, 0x400);
	/* A #DB that reports BS from the reset state: DR6 0xffff4ff0. */
	assert_int_equal(X86_RESET_DR6 | DR6_BS, 0xffff4ff0);
	assert_int_equal(DR6_FIXED_1 & DR6_VOLATILE, DR6_BLD);
}

static void test_regs__dr7_fields_extract_rw_and_len(void **state)
{
	/* Breakpoint 1: G1, R/W1 = 01 (write), LEN1 = 11 (4 bytes). */
	uint64_t dr7 = DR7_FIXED_1 | DR7_G(1) | (1ull << 20) | (3ull << 22);

	(void)state;
	assert_int_equal(dr7, 0x00d00408);
	assert_int_equal(DR7_RW(dr7, 1), DR7_RW_WRITE);
	assert_int_equal(DR7_LEN(dr7, 1), 3);
	assert_int_equal(DR7_RW(dr7, 0), DR7_RW_EXEC);
	assert_int_equal(dr7 & DR7_BP_EN_MASK, 0x08);
}

static void test_regs__xcr0_rules_reject_inconsistent_values(void **state)
{
	const uint64_t sup = XFEATURE_MASK_FPSSE | XFEATURE_MASK_YMM |
			     XFEATURE_MASK_AVX512 | XFEATURE_MASK_PKRU |
			     XFEATURE_MASK_XTILE;

	(void)state;
	assert_true(x86_xcr0_is_valid(0x1, sup));
	assert_true(x86_xcr0_is_valid(0x7, sup));
	assert_true(x86_xcr0_is_valid(0xe7, sup));
	assert_true(x86_xcr0_is_valid(0x602e7, sup));
	assert_false(x86_xcr0_is_valid(0x0, sup)); /* no x87 */
	assert_false(x86_xcr0_is_valid(0x5, sup)); /* AVX without SSE */
	assert_false(x86_xcr0_is_valid(0x67, sup)); /* partial AVX-512 */
	assert_false(x86_xcr0_is_valid(0xe3, sup)); /* AVX-512, no AVX */
	assert_false(x86_xcr0_is_valid(0x20003, sup)); /* partial AMX */
	assert_false(x86_xcr0_is_valid(0x1 | XFEATURE_MASK_PT, ~0ull));
	assert_false(x86_xcr0_is_valid(0x0b, 0x1f)); /* partial MPX */
	assert_true(x86_xcr0_is_valid(0x1b, 0x1f));
	assert_false(x86_xcr0_is_valid(0x7, 0x3)); /* unsupported AVX */
}

static void test_regs__gpr_numbers_map_to_kvm_regs_members(void **state)
{
	struct kvm_regs regs;
	unsigned int n;

	(void)state;
	memset(&regs, 0, sizeof(regs));
	regs.rax = 0xa0;
	regs.rcx = 0xc0;
	regs.rdx = 0xd0;
	regs.rbx = 0xb0;
	regs.rsp = 0x50;
	regs.r10 = 0x10a;
	regs.r15 = 0x10f;
	assert_int_equal(x86_regs_read_gpr(&regs, VCPU_REGS_RAX), 0xa0);
	assert_int_equal(x86_regs_read_gpr(&regs, 1), 0xc0);
	assert_int_equal(x86_regs_read_gpr(&regs, 2), 0xd0);
	assert_int_equal(x86_regs_read_gpr(&regs, 3), 0xb0);
	assert_int_equal(x86_regs_read_gpr(&regs, 4), 0x50);
	assert_int_equal(x86_regs_read_gpr(&regs, 10), 0x10a);
	assert_int_equal(x86_regs_read_gpr(&regs, 15), 0x10f);
	assert_int_equal(x86_regs_read_gpr(&regs, 16), 0);
	assert_null(x86_regs_lookup_gpr(&regs, 16));

	for (n = 0; n < X86_NR_GPRS; n++)
		x86_regs_write_gpr(&regs, n, 0x1000 + n);
	x86_regs_write_gpr(&regs, 16, 0xdead);
	assert_int_equal(regs.rbx, 0x1003);
	assert_int_equal(regs.rbp, 0x1005);
	assert_int_equal(regs.rsi, 0x1006);
	assert_int_equal(regs.rdi, 0x1007);
	assert_int_equal(regs.r8, 0x1008);
	assert_int_equal(regs.rip, 0);
}

static void test_regs__cr8_holds_tpr_bits_7_4(void **state)
{
	(void)state;
	assert_int_equal(x86_cr8_to_tpr(0xa), 0xa0);
	assert_int_equal(x86_cr8_to_tpr(0x1f), 0xf0);
	assert_int_equal(x86_tpr_to_cr8(0xab), 0xa);
}

/* ---- x86_paging.h -------------------------------------------------------- */

static void test_paging__indices_split_known_addresses(void **state)
{
	(void)state;
	assert_int_equal(PML4_INDEX(0x00007fffffffffffull), 255);
	assert_int_equal(PDPT_INDEX(0x00007fffffffffffull), 511);
	assert_int_equal(PD_INDEX(0x00007fffffffffffull), 511);
	assert_int_equal(PT_INDEX(0x00007fffffffffffull), 511);

	/* The kernel text mapping at -2 GiB: PML4 511, PDPT 510. */
	assert_int_equal(PML4_INDEX(0xffffffff80000000ull), 511);
	assert_int_equal(PDPT_INDEX(0xffffffff80000000ull), 510);
	assert_int_equal(PD_INDEX(0xffffffff80000000ull), 0);

	assert_int_equal(PML4_INDEX(0x0000008040201000ull), 1);
	assert_int_equal(PDPT_INDEX(0x0000008040201000ull), 1);
	assert_int_equal(PD_INDEX(0x0000008040201000ull), 1);
	assert_int_equal(PT_INDEX(0x0000008040201000ull), 1);
	assert_int_equal(PML5_INDEX(0xff00000000000000ull), 256);
	assert_int_equal(PT_LEVEL_INDEX(0x0000008040201000ull, 4), 1);
	assert_int_equal(PT_LEVEL_INDEX(0x0000000000603000ull, 2), 3);
	assert_int_equal(PAGE_SIZE_2M, 0x200000);
	assert_int_equal(PAGE_SIZE_1G, 0x40000000);
}

static void test_paging__canonical_check_at_both_boundaries(void **state)
{
	(void)state;
	assert_true(x86_is_canonical(0, false));
	assert_true(x86_is_canonical(0x00007fffffffffffull, false));
	assert_false(x86_is_canonical(0x0000800000000000ull, false));
	assert_false(x86_is_canonical(0xffff7fffffffffffull, false));
	assert_true(x86_is_canonical(0xffff800000000000ull, false));
	assert_true(x86_is_canonical(~0ull, false));

	assert_true(x86_is_canonical(0x0000800000000000ull, true));
	assert_true(x86_is_canonical(0x00ffffffffffffffull, true));
	assert_false(x86_is_canonical(0x0100000000000000ull, true));
	assert_false(x86_is_canonical(0xfeffffffffffffffull, true));
	assert_true(x86_is_canonical(0xff00000000000000ull, true));

	assert_int_equal(x86_canonicalize(0x0000800000000000ull, false),
			 0xffff800000000000ull);
	assert_int_equal(x86_canonicalize(0xabcd7fffffffffffull, false),
			 0x00007fffffffffffull);
	assert_int_equal(x86_sign_extend(0x80, 8), ~0ull << 7);
	assert_int_equal(x86_sign_extend(0x7f, 8), 0x7f);
	assert_int_equal(x86_sign_extend(0x8000000000000000ull, 64),
			 0x8000000000000000ull);
}

static void test_paging__rsvd_bits_start_at_maxphyaddr(void **state)
{
	(void)state;
	assert_int_equal(x86_pte_rsvd_addr_bits(46), 0x000fc00000000000ull);
	assert_int_equal(x86_pte_rsvd_addr_bits(39), 0x000fff8000000000ull);
	assert_int_equal(x86_pte_rsvd_addr_bits(52), 0);
	assert_int_equal(PTE_PKEY(0x7800000000000001ull), 0xf);
	assert_int_equal(PTE_PKEY(0x0800000000000001ull), 1);
}

static void test_paging__pde32_4m_frame_uses_pse36_bits(void **state)
{
	uint32_t pde = 0x12c00000u | (0x05u << 13) | 0x83u;

	(void)state;
	assert_int_equal(x86_pde32_4m_frame(pde), 0x0000000512c00000ull);
	assert_int_equal(PDE32_INDEX(0xc0401000u), 0x301);
	assert_int_equal(PTE32_INDEX(0xc0401000u), 0x001);
}

static void test_paging__pferr_masks_match_figure_4_12(void **state)
{
	(void)state;
	/* A user-mode write to a present read-only page: error code 7. */
	assert_int_equal(
		PFERR_PRESENT_MASK | PFERR_WRITE_MASK | PFERR_USER_MASK, 0x7);
	assert_int_equal(PFERR_RSVD_MASK, 0x8);
	assert_int_equal(PFERR_FETCH_MASK, 0x10);
	assert_int_equal(PFERR_PK_MASK, 0x20);
	assert_int_equal(PFERR_SS_MASK, 0x40);
	assert_int_equal(PFERR_SGX_MASK, 0x8000);
}

/* ---- vmx_exit_qual.h ----------------------------------------------------- */

static void test_exit_qual__cr_access_fields_extract(void **state)
{
	(void)state;
	/* mov %cr8, %r10: CR 8, MOV from CR, GPR 10. */
	assert_int_equal(vmx_build_cr_qual(8, CR_ACCESS_TYPE_MOV_FROM_CR, 10),
			 0xa18);
	assert_int_equal(vmx_qual_cr_get_num(0xa18), 8);
	assert_int_equal(vmx_qual_cr_get_type(0xa18),
			 CR_ACCESS_TYPE_MOV_FROM_CR);
	assert_int_equal(vmx_qual_cr_get_gpr(0xa18), VCPU_REGS_R10);
	/* mov %rax, %cr3 */
	assert_int_equal(vmx_build_cr_qual(3, CR_ACCESS_TYPE_MOV_TO_CR, 0),
			 0x3);
	/* lmsw (mem) with source 0x0031 */
	assert_int_equal(vmx_build_lmsw_qual(0x0031, true), 0x310070);
	assert_int_equal(vmx_qual_cr_get_type(0x310070), CR_ACCESS_TYPE_LMSW);
	assert_int_equal(vmx_qual_cr_get_lmsw_data(0x310070), 0x0031);
	assert_true(0x310070 & CONTROL_REG_ACCESS_LMSW_MEM);
	assert_int_equal(vmx_qual_cr_get_type(0x20), CR_ACCESS_TYPE_CLTS);
}

static void test_exit_qual__dr_and_task_switch_fields_extract(void **state)
{
	(void)state;
	/* mov %dr7, %rbx */
	assert_int_equal(vmx_build_dr_qual(7, true, VCPU_REGS_RBX), 0x317);
	assert_int_equal(0x317 & DEBUG_REG_ACCESS_NUM, 7);
	assert_int_equal(0x317 & DEBUG_REG_ACCESS_TYPE, TYPE_MOV_FROM_DR);
	assert_int_equal(DEBUG_REG_ACCESS_REG(0x317), VCPU_REGS_RBX);
	/* IRET to the task whose TSS selector is 0x28. */
	assert_int_equal(vmx_qual_ts_get_source(0x40000028), TASK_SWITCH_IRET);
	assert_int_equal(0xc0000028 & TASK_SWITCH_SEL_MASK, 0x28);
	assert_int_equal(vmx_qual_ts_get_source(0xc0000028), TASK_SWITCH_GATE);
}

static void test_exit_qual__io_fields_extract(void **state)
{
	(void)state;
	/* in (%dx), %al with dx = 0x3f8 */
	assert_int_equal(vmx_build_io_qual(0x3f8, 1, IO_QUAL_IN), 0x03f80008);
	/* rep outsw with dx = 0x1f0 */
	assert_int_equal(
		vmx_build_io_qual(0x1f0, 2, IO_QUAL_STRING | IO_QUAL_REP),
		0x01f00031);
	/* out %eax, $0xf4 */
	assert_int_equal(vmx_build_io_qual(0xf4, 4, IO_QUAL_IMM), 0x00f40043);
	assert_int_equal(vmx_qual_io_get_size(0x00f40043), 4);
	assert_int_equal(vmx_qual_io_get_port(0x00f40043), 0xf4);
	assert_int_equal(vmx_qual_io_get_size(0x01f00031), 2);
	assert_int_equal(vmx_qual_io_get_port(0xffff0000), 0xffff);
	assert_false(0x00f40043 & IO_QUAL_IN);
}

static void test_exit_qual__ept_violation_packs_access_and_rights(void **state)
{
	(void)state;
	/* A write to a page mapped R+X (and user-X): 0x2 | 0x5 << 3 | 0x40. */
	assert_int_equal(
		vmx_build_ept_violation_qual(EPT_WRITE, EPT_READ | EPT_EXEC |
								EPT_EXEC_USER),
		0x6a);
	/* A fetch from a not-present GPA. */
	assert_int_equal(vmx_build_ept_violation_qual(EPT_EXEC, 0), 0x4);
	assert_int_equal(0x6a & EPT_VIOLATION_PROT_MASK, 0x68);
	assert_int_equal((0x6a & EPT_VIOLATION_RWX_MASK) >>
				 EPT_VIOLATION_RWX_SHIFT,
			 EPT_READ | EPT_EXEC);
}

static void test_exit_qual__intr_info_builds_sdm_values(void **state)
{
	uint32_t pf =
		vmx_build_intr_info(PF_VECTOR, INTR_TYPE_HARD_EXCEPTION, true);

	(void)state;
	assert_int_equal(pf, 0x80000b0e);
	assert_true(vmx_intr_info_is_valid(pf));
	assert_int_equal(vmx_intr_info_get_vector(pf), 14);
	assert_int_equal(vmx_intr_info_get_type(pf), INTR_TYPE_HARD_EXCEPTION);
	assert_true(vmx_intr_info_has_error_code(pf));
	assert_int_equal(vmx_build_intr_info(0x80, INTR_TYPE_SOFT_INTR, false),
			 0x80000480);
	assert_int_equal(
		vmx_build_intr_info(NMI_VECTOR, INTR_TYPE_NMI_INTR, false),
		0x80000202);
	assert_int_equal(vmx_build_intr_info(0x20, INTR_TYPE_EXT_INTR, false),
			 0x80000020);
	assert_false(vmx_intr_info_is_valid(0x00000b0e));
	assert_true(vmx_intr_type_is_soft(INTR_TYPE_SOFT_EXCEPTION));
	assert_true(vmx_intr_type_is_soft(INTR_TYPE_PRIV_SW_EXCEPTION));
	assert_false(vmx_intr_type_is_soft(INTR_TYPE_HARD_EXCEPTION));
	assert_int_equal(pf & INTR_INFO_RESVD_BITS_MASK, 0);
}

static void test_exit_qual__insn_info_fields_extract(void **state)
{
	/* vmptrld (%rbx,%rcx,8): scale 8, 64-bit, DS, index RCX, base RBX. */
	uint32_t mem = vmx_build_insn_info_mem(3, VMX_INSN_INFO_ADDR_SIZE_64,
					       VCPU_SREG_DS, VCPU_REGS_RCX,
					       VCPU_REGS_RBX);
	/* vmxon (%rax): no index. */
	uint32_t noidx = vmx_build_insn_info_mem(
		0, VMX_INSN_INFO_ADDR_SIZE_64, VCPU_SREG_DS, -1, VCPU_REGS_RAX);
	/* vmread %rdx, %rsi: register form, reg1 = RSI, reg2 = RDX. */
	uint32_t reg = VMX_INSN_INFO_IS_REG |
		       (VCPU_REGS_RSI << VMX_INSN_INFO_REG1_SHIFT) |
		       ((uint32_t)VCPU_REGS_RDX << VMX_INSN_INFO_REG2_SHIFT);

	(void)state;
	assert_int_equal(mem, 0x01858103);
	assert_int_equal(vmx_insn_info_get_scale(mem), 8);
	assert_int_equal(vmx_insn_info_get_addr_size(mem),
			 VMX_INSN_INFO_ADDR_SIZE_64);
	assert_int_equal(vmx_insn_info_get_seg(mem), VCPU_SREG_DS);
	assert_true(vmx_insn_info_has_index(mem));
	assert_int_equal(vmx_insn_info_get_index(mem), VCPU_REGS_RCX);
	assert_true(vmx_insn_info_has_base(mem));
	assert_int_equal(vmx_insn_info_get_base(mem), VCPU_REGS_RBX);
	assert_false(vmx_insn_info_is_reg(mem));

	assert_int_equal(noidx, 0x00418100);
	assert_false(vmx_insn_info_has_index(noidx));
	assert_int_equal(vmx_insn_info_get_base(noidx), VCPU_REGS_RAX);

	assert_int_equal(reg, 0x20000430);
	assert_true(vmx_insn_info_is_reg(reg));
	assert_int_equal(vmx_insn_info_get_reg1(reg), VCPU_REGS_RSI);
	assert_int_equal(vmx_insn_info_get_reg2(reg), VCPU_REGS_RDX);

	/* lidt (%rax) in 64-bit mode: identity 3 in bits 29:28. */
	assert_int_equal(vmx_insn_info_get_identity(
				 noidx | (VMX_INSN_INFO_LIDT
					  << VMX_INSN_INFO_IDENTITY_SHIFT)),
			 VMX_INSN_INFO_LIDT);
	/* rdrand %eax: operand size 32 in bits 12:11. */
	assert_int_equal(vmx_insn_info_get_rdrand_opsize(0x800), 1);
}

/* ---- vmx_insn_errors.h --------------------------------------------------- */

static void test_insn_errors__names_follow_table_31_1(void **state)
{
	unsigned int n;

	(void)state;
	assert_string_equal(
		vmx_insn_error_name(VMXERR_VMPTRLD_INCORRECT_VMCS_REVISION_ID),
		"VMPTRLD with incorrect VMCS revision identifier");
	assert_string_equal(vmx_insn_error_name(2),
			    "VMCLEAR with invalid physical address");
	assert_string_equal(vmx_insn_error_name(28),
			    "invalid operand to INVEPT/INVVPID");
	assert_string_equal(vmx_insn_error_name(0), "no error");
	assert_int_equal(VMXERR_VMCALL_IN_VMX_ROOT_OPERATION, 1);
	assert_int_equal(VMXERR_VMXON_IN_VMX_ROOT_OPERATION, 15);
	assert_int_equal(VMXERR_ENTRY_EVENTS_BLOCKED_BY_MOV_SS, 26);
	for (n = 1; n <= VMXERR_MAX + 2; n++) {
		bool reserved = n == 14 || n == 21 || n == 27 || n > 28;

		if ((strcmp(vmx_insn_error_name(n), "reserved") == 0) !=
		    reserved)
			fail_msg("error %u: \"%s\"", n, vmx_insn_error_name(n));
	}
}

/* ---- ept.h and x86_msr.h ------------------------------------------------- */

static void test_ept__eptp_build_and_decode(void **state)
{
	uint64_t eptp = vmx_build_eptp(0x12345000, 4, true);

	(void)state;
	assert_int_equal(eptp, 0x1234505e);
	assert_int_equal(vmx_eptp_get_levels(eptp), 4);
	assert_int_equal(eptp & VMX_EPTP_PWL_MASK, VMX_EPTP_PWL_4);
	assert_int_equal(vmx_build_eptp(0x2000, 5, false), 0x2026);
	assert_int_equal(vmx_eptp_get_levels(0x2026), 5);
}

static void test_ept__entry_helpers_decode_mt_and_presence(void **state)
{
	/* A 2-MByte WB leaf, RWX, ignore PAT, accessed. */
	uint64_t e = 0x40200000ull | EPT_RWX | EPT_MT(EPT_MT_WB) | EPT_IPAT |
		     EPT_LARGE | EPT_ACCESSED;

	(void)state;
	assert_int_equal(e, 0x402001f7ull);
	assert_int_equal(ept_entry_get_mt(e), 6);
	assert_true(ept_entry_is_present(e));
	assert_false(ept_entry_is_present(0x40200000ull | EPT_IPAT));
	assert_true(ept_entry_is_present(EPT_EXEC)); /* execute-only */
	assert_int_equal(e & EPT_ADDR_MASK_2M, 0x40200000ull);
	assert_true(ept_mt_is_valid(0));
	assert_true(ept_mt_is_valid(1));
	assert_false(ept_mt_is_valid(2));
	assert_false(ept_mt_is_valid(3));
	assert_true(ept_mt_is_valid(4));
	assert_true(ept_mt_is_valid(5));
	assert_true(ept_mt_is_valid(6));
	assert_false(ept_mt_is_valid(7));
}

static void test_ept__cap_bits_gate_invept_invvpid_types(void **state)
{
	uint64_t cap = VMX_EPT_INVEPT_BIT | VMX_EPT_EXTENT_CONTEXT_BIT |
		       VMX_VPID_INVVPID_BIT |
		       VMX_VPID_EXTENT_SINGLE_CONTEXT_BIT |
		       VMX_VPID_EXTENT_SINGLE_NON_GLOBAL_BIT;

	(void)state;
	assert_true(vmx_ept_cap_has_invept_type(cap, VMX_EPT_EXTENT_CONTEXT));
	assert_false(vmx_ept_cap_has_invept_type(cap, VMX_EPT_EXTENT_GLOBAL));
	assert_false(vmx_ept_cap_has_invept_type(cap, 0));
	assert_false(vmx_ept_cap_has_invept_type(cap & ~VMX_EPT_INVEPT_BIT,
						 VMX_EPT_EXTENT_CONTEXT));
	assert_true(vmx_vpid_cap_has_invvpid_type(
		cap, VMX_VPID_EXTENT_SINGLE_CONTEXT));
	assert_true(vmx_vpid_cap_has_invvpid_type(
		cap, VMX_VPID_EXTENT_SINGLE_NON_GLOBAL));
	assert_false(vmx_vpid_cap_has_invvpid_type(
		cap, VMX_VPID_EXTENT_INDIVIDUAL_ADDR));
	assert_false(vmx_vpid_cap_has_invvpid_type(cap, 4));
}

static void test_msr__vmx_basic_and_misc_fields_extract(void **state)
{
	uint64_t basic = 0x12 | (0x1000ull << VMX_BASIC_VMCS_SIZE_SHIFT) |
			 (VMX_BASIC_MEM_TYPE_WB << VMX_BASIC_MEM_TYPE_SHIFT) |
			 VMX_BASIC_INOUT | VMX_BASIC_TRUE_CTLS;
	/* Timer rate 5, HLT/shutdown/SIPI, 4 CR3 targets, MSR list 1024. */
	uint64_t misc = 0x5 | VMX_MISC_ACTIVITY_STATES_MASK | (4ull << 16) |
			(1ull << 25);

	(void)state;
	assert_int_equal(basic, 0x00d8100000000012ull);
	assert_int_equal(vmx_basic_get_revision(basic), 0x12);
	assert_int_equal(vmx_basic_get_vmcs_size(basic), 4096);
	assert_int_equal(vmx_basic_get_mem_type(basic), 6);
	assert_int_equal(misc, 0x020401c5ull);
	assert_int_equal(vmx_misc_get_cr3_count(misc), 4);
	assert_int_equal(vmx_misc_get_max_msr_list(misc), 1024);
	assert_int_equal(misc & VMX_MISC_PREEMPTION_TIMER_RATE_MASK, 5);
}

static void test_msr__vmx_cap_range_and_fixed_bits(void **state)
{
	(void)state;
	assert_true(x86_msr_is_vmx_cap(MSR_IA32_VMX_BASIC));
	assert_true(x86_msr_is_vmx_cap(0x48c));
	assert_true(x86_msr_is_vmx_cap(MSR_IA32_VMX_EXIT_CTLS2));
	assert_false(x86_msr_is_vmx_cap(0x47f));
	assert_false(x86_msr_is_vmx_cap(0x494));
	assert_int_equal(MSR_IA32_VMX_EXIT_CTLS2 - MSR_IA32_VMX_BASIC, 0x13);
	/* CR0 fixed0 = PE|NE|PG, fixed1 = all 32 bits. */
	assert_true(vmx_cr_is_fixed_valid(0x80000031, 0x80000021, 0xffffffff));
	assert_false(vmx_cr_is_fixed_valid(0x80000011, 0x80000021, 0xffffffff));
	assert_false(
		vmx_cr_is_fixed_valid(0x180000021ull, 0x80000021, 0xffffffff));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(
			test_seg__flat_code64_desc_decodes_to_long_mode_cs),
		cmocka_unit_test(
			test_seg__flat_descs_round_trip_through_kvm_segment),
		cmocka_unit_test(test_seg__flat_data_desc_gives_ar_c093),
		cmocka_unit_test(
			test_seg__tss64_sys_desc_round_trips_with_high_base),
		cmocka_unit_test(
			test_seg__vmx_ar_round_trip_keeps_unusable_bit),
		cmocka_unit_test(test_seg__reset_state_matches_table_10_1),
		cmocka_unit_test(test_seg__selector_fields_split_index_ti_rpl),
		cmocka_unit_test(
			test_idt__gate64_build_splits_offset_into_three),
		cmocka_unit_test(test_tss64__ist_n_is_at_sdm_offset),
		cmocka_unit_test(
			test_regs__error_code_only_for_df_ts_np_ss_gp_pf_ac_cp),
		cmocka_unit_test(test_regs__exception_classes_follow_table_6_4),
		cmocka_unit_test(
			test_regs__exception_combine_follows_table_6_5),
		cmocka_unit_test(
			test_regs__vectors_missing_from_uapi_have_sdm_numbers),
		cmocka_unit_test(
			test_regs__eflags_masks_cover_exactly_the_sdm_bits),
		cmocka_unit_test(test_regs__reset_values_match_table_10_1),
		cmocka_unit_test(test_regs__dr7_fields_extract_rw_and_len),
		cmocka_unit_test(
			test_regs__xcr0_rules_reject_inconsistent_values),
		cmocka_unit_test(
			test_regs__gpr_numbers_map_to_kvm_regs_members),
		cmocka_unit_test(test_regs__cr8_holds_tpr_bits_7_4),
		cmocka_unit_test(test_paging__indices_split_known_addresses),
		cmocka_unit_test(
			test_paging__canonical_check_at_both_boundaries),
		cmocka_unit_test(test_paging__rsvd_bits_start_at_maxphyaddr),
		cmocka_unit_test(test_paging__pde32_4m_frame_uses_pse36_bits),
		cmocka_unit_test(test_paging__pferr_masks_match_figure_4_12),
		cmocka_unit_test(test_exit_qual__cr_access_fields_extract),
		cmocka_unit_test(
			test_exit_qual__dr_and_task_switch_fields_extract),
		cmocka_unit_test(test_exit_qual__io_fields_extract),
		cmocka_unit_test(
			test_exit_qual__ept_violation_packs_access_and_rights),
		cmocka_unit_test(test_exit_qual__intr_info_builds_sdm_values),
		cmocka_unit_test(test_exit_qual__insn_info_fields_extract),
		cmocka_unit_test(test_insn_errors__names_follow_table_31_1),
		cmocka_unit_test(test_ept__eptp_build_and_decode),
		cmocka_unit_test(
			test_ept__entry_helpers_decode_mt_and_presence),
		cmocka_unit_test(test_ept__cap_bits_gate_invept_invvpid_types),
		cmocka_unit_test(test_msr__vmx_basic_and_misc_fields_extract),
		cmocka_unit_test(test_msr__vmx_cap_range_and_fixed_bits),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
