/* SPDX-License-Identifier: MIT */
/*
 * test_cpu_diff - the differential CPU tester in CI: a fixed-seed run of
 * random user-mode instruction cases on the host CPU and in the model
 * (SDM Vol. 2 semantics) must show no mismatch, every form on its own as
 * well; and the tester's parts are checked on known instructions: the
 * host runner, the model runner, the comparison and its masks, the
 * generator's determinism. Host side, tests only.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "arch/x86_regs.h"
#include "tests/cpu/cpu_diff.h"
#include "tests/cpu/diff.h"

/* ---- the runs CI relies on ------------------------------------------------ */

static void
test_cpu_diff__seed_1_first_20000_cases_have_no_mismatch(void **state)
{
	struct cpu_diff_opts o = { .seed = 1, .cases = 20000, .out = stdout };
	struct cpu_diff_totals t;

	(void)state;
	assert_int_equal(cpu_diff_run(&o, &t), 0);
	assert_int_equal(t.cases, 20000);
	assert_int_equal(t.mismatches, 0);
	/* The run must include faults of each kind the generator aims at. */
	assert_true(t.fault_vectors[DE_VECTOR] > 0);
	assert_true(t.fault_vectors[UD_VECTOR] > 0);
	assert_true(t.fault_vectors[PF_VECTOR] > 0);
	assert_true(t.fault_vectors[GP_VECTOR] > 0);
}

static void test_cpu_diff__each_form_alone_has_no_mismatch(void **state)
{
	struct cpu_diff_opts o = { .seed = 2, .cases = 300, .out = stdout };
	struct cpu_diff_totals t;
	size_t n = 0;

	(void)state;
	for (const char *f; (f = cpu_diff_form_name(n)) != NULL; n++) {
		o.only = f;
		assert_int_equal(cpu_diff_run(&o, &t), 0);
		assert_int_equal(t.cases, 300);
		if (t.mismatches)
			fail_msg("form %s: %llu mismatches", f,
				 (unsigned long long)t.mismatches);
	}
	assert_true(n >= 60);
}

static void test_cpu_diff__unknown_form_is_einval(void **state)
{
	struct cpu_diff_opts o = { .seed = 1, .cases = 1, .only = "FSIN" };
	struct cpu_diff_totals t;

	(void)state;
	assert_int_equal(cpu_diff_run(&o, &t), -EINVAL);
	assert_int_equal(t.cases, 0);
}

/* ---- the generator --------------------------------------------------------- */

static const struct diff_where low_where = { .base = 0x40000000, .low = true };

static void test_diff_gen__same_seed_and_number_give_the_same_case(void **state)
{
	struct diff_case *a = malloc(sizeof(*a)), *b = malloc(sizeof(*b));

	(void)state;
	diff_gen_case(a, &low_where, 9, 1234, NULL);
	diff_gen_case(b, &low_where, 9, 1234, NULL);
	assert_int_equal(a->len, b->len);
	assert_memory_equal(a->bytes, b->bytes, a->len);
	assert_memory_equal(&a->in, &b->in, sizeof(a->in));
	assert_memory_equal(a->mem, b->mem, sizeof(a->mem));
	assert_int_equal(a->flags_undef, b->flags_undef);
	diff_gen_case(b, &low_where, 9, 1235, NULL);
	assert_memory_not_equal(a->mem, b->mem, sizeof(a->mem));
	free(a);
	free(b);
}

static void test_diff_gen__only_draws_from_the_named_form(void **state)
{
	struct diff_case *c = malloc(sizeof(*c));

	(void)state;
	for (uint64_t i = 0; i < 50; i++) {
		diff_gen_case(c, &low_where, 3, i, "bswap");
		assert_string_equal(diff_form_name(c->form), "BSWAP");
		/* 0F C8+r, after any 66h or REX prefix */
		assert_int_equal(c->bytes[c->len - 2], 0x0f);
		assert_int_equal(c->bytes[c->len - 1] & 0xf8, 0xc8);
	}
	free(c);
}

/* ---- the two runners on known instructions --------------------------------- */

struct runners {
	struct diff_native *native;
	struct diff_model *model;
	struct diff_where w;
	struct diff_case c;
	struct diff_result host, sim;
};

static int runners_setup(void **state)
{
	struct runners *r = calloc(1, sizeof(*r));

	if (!r)
		return -1;
	r->c.undef_reg = -1;
	r->c.in.rflags = X86_EFLAGS_FIXED;
	*state = r;
	return 0;
}

/* The host runner's signal handlers must be installed by the test body:
 * cmocka puts its own back after a setup fixture returns. */
static void runners_start(struct runners *r)
{
	assert_int_equal(diff_native_create(&r->native), 0);
	diff_native_where(r->native, &r->w);
	assert_int_equal(diff_model_create(&r->w, &r->model), 0);
}

static int runners_teardown(void **state)
{
	struct runners *r = *state;

	diff_model_destroy(r->model);
	diff_native_destroy(r->native);
	free(r);
	return 0;
}

static void set_code(struct runners *r, const uint8_t *code, size_t len)
{
	memcpy(r->c.bytes, code, len);
	r->c.len = (unsigned int)len;
}

static void run_both(struct runners *r)
{
	diff_native_run(r->native, &r->c, &r->host);
	diff_model_run(r->model, &r->c, &r->sim);
}

static uint64_t end_rip(const struct runners *r)
{
	return r->w.base + DIFF_CODE_OFF + DIFF_INSN_END;
}

static void test_diff_run__add_retires_with_sum_and_flags(void **state)
{
	struct runners *r = *state;
	static const uint8_t code[] = {
		0x48, 0x01, 0xd8, /* add rax, rbx */
	};
	const struct diff_result *res[2] = { &r->host, &r->sim };

	runners_start(r);
	set_code(r, code, sizeof(code));
	r->c.in.gpr[0] = ~0ull;
	r->c.in.gpr[3] = 2;
	r->c.in.gpr[4] = 0x1234; /* RSP: any value, nothing uses the stack */
	run_both(r);
	for (int k = 0; k < 2; k++) {
		assert_int_equal(res[k]->vector, -1);
		assert_int_equal(res[k]->rip, end_rip(r));
		assert_int_equal(res[k]->st.gpr[0], 1);
		assert_int_equal(res[k]->st.gpr[3], 2);
		assert_int_equal(res[k]->st.gpr[4], 0x1234);
		assert_int_equal(res[k]->st.rflags & X86_EFLAGS_ARITH_MASK,
				 X86_EFLAGS_CF | X86_EFLAGS_AF);
	}
}

static void test_diff_run__div_by_zero_raises_de_at_the_insn(void **state)
{
	struct runners *r = *state;
	static const uint8_t code[] = {
		0xf7, 0xf1, /* div ecx */
	};
	const struct diff_result *res[2] = { &r->host, &r->sim };

	runners_start(r);
	set_code(r, code, sizeof(code));
	r->c.in.gpr[0] = 77;
	run_both(r);
	for (int k = 0; k < 2; k++) {
		assert_int_equal(res[k]->vector, DE_VECTOR);
		assert_int_equal(res[k]->rip, end_rip(r) - sizeof(code));
		assert_int_equal(res[k]->st.gpr[0], 77);
	}
}

static void test_diff_run__store_into_the_guard_raises_pf(void **state)
{
	struct runners *r = *state;
	static const uint8_t code[] = {
		0x89, 0x07, /* mov dword ptr [rdi], eax */
	};
	const struct diff_result *res[2] = { &r->host, &r->sim };
	uint64_t guard;

	runners_start(r);
	guard = r->w.base + DIFF_GUARD_OFF;
	set_code(r, code, sizeof(code));
	r->c.in.gpr[7] = guard - 2; /* crosses from the sandbox */
	r->c.in.gpr[0] = 0xaabbccdd;
	r->c.mem[DIFF_SANDBOX_SIZE - 1] = 0x5a;
	run_both(r);
	for (int k = 0; k < 2; k++) {
		assert_int_equal(res[k]->vector, PF_VECTOR);
		assert_int_equal(res[k]->cr2, guard);
		/* user, write, not present */
		assert_int_equal(res[k]->error_code, 0x6);
		assert_int_equal(res[k]->mem[DIFF_SANDBOX_SIZE - 1], 0x5a);
	}
	assert_false(r->sim.wild);
}

static void test_diff_run__push_writes_the_sandbox_stack(void **state)
{
	struct runners *r = *state;
	static const uint8_t code[] = {
		0x53, /* push rbx */
	};
	const struct diff_result *res[2] = { &r->host, &r->sim };
	uint64_t sp, v;

	runners_start(r);
	sp = r->w.base + DIFF_SANDBOX_OFF + 0x100;
	set_code(r, code, sizeof(code));
	r->c.in.gpr[4] = sp;
	r->c.in.gpr[3] = 0x1122334455667788;
	run_both(r);
	for (int k = 0; k < 2; k++) {
		assert_int_equal(res[k]->vector, -1);
		assert_int_equal(res[k]->st.gpr[4], sp - 8);
		memcpy(&v, res[k]->mem + 0xf8, 8);
		assert_int_equal(v, 0x1122334455667788);
	}
}

static void test_diff_run__access_outside_the_region_is_wild(void **state)
{
	struct runners *r = *state;
	static const uint8_t code[] = {
		0x8b, 0x07, /* mov eax, dword ptr [rdi] */
	};

	runners_start(r);
	set_code(r, code, sizeof(code));
	r->c.in.gpr[7] = r->w.base + DIFF_REGION_SIZE + 0x10000;
	diff_model_run(r->model, &r->c, &r->sim);
	assert_int_equal(r->sim.vector, PF_VECTOR);
	assert_true(r->sim.wild);
}

/* ---- the comparison ------------------------------------------------------------ */

struct pair {
	struct diff_case c;
	struct diff_result a, b;
	struct diff_delta d;
};

static int pair_setup(void **state)
{
	struct pair *p = calloc(1, sizeof(*p));

	if (!p)
		return -1;
	p->c.undef_reg = -1;
	p->a.vector = p->b.vector = -1;
	p->a.st.rflags = p->b.st.rflags = X86_EFLAGS_FIXED;
	*state = p;
	return 0;
}

static int pair_teardown(void **state)
{
	free(*state);
	return 0;
}

static void test_diff_compare__equal_results_agree(void **state)
{
	struct pair *p = *state;

	assert_int_equal(diff_compare(&p->c, &p->a, &p->b, &p->d), 0);
}

static void test_diff_compare__undefined_flag_is_ignored(void **state)
{
	struct pair *p = *state;

	p->c.flags_undef = X86_EFLAGS_AF;
	p->a.st.rflags |= X86_EFLAGS_AF;
	assert_int_equal(diff_compare(&p->c, &p->a, &p->b, &p->d), 0);
}

static void test_diff_compare__defined_flag_is_a_mismatch(void **state)
{
	struct pair *p = *state;

	p->c.flags_undef = X86_EFLAGS_AF;
	p->a.st.rflags |= X86_EFLAGS_OF;
	assert_int_equal(diff_compare(&p->c, &p->a, &p->b, &p->d), DIFF_FLAGS);
}

static void test_diff_compare__host_if_is_not_compared(void **state)
{
	struct pair *p = *state;

	p->a.st.rflags |= X86_EFLAGS_IF;
	assert_int_equal(diff_compare(&p->c, &p->a, &p->b, &p->d), 0);
	p->a.st.rflags |= X86_EFLAGS_TF;
	assert_int_equal(diff_compare(&p->c, &p->a, &p->b, &p->d), DIFF_FLAGS);
}

static void test_diff_compare__masked_register_bits_only(void **state)
{
	struct pair *p = *state;

	p->c.undef_reg = 2;
	p->c.undef_reg_mask = 0xffff;
	p->a.st.gpr[2] = 0x1234;
	assert_int_equal(diff_compare(&p->c, &p->a, &p->b, &p->d), 0);
	p->a.st.gpr[2] = 0x10000;
	assert_int_equal(diff_compare(&p->c, &p->a, &p->b, &p->d), DIFF_GPR);
	assert_int_equal(p->d.gprs, 1u << 2);
}

static void test_diff_compare__sandbox_bytes_give_their_range(void **state)
{
	struct pair *p = *state;

	p->a.mem[0x10] = 1;
	p->a.mem[0x1ffe] = 1;
	assert_int_equal(diff_compare(&p->c, &p->a, &p->b, &p->d), DIFF_MEM);
	assert_int_equal(p->d.mem_first, 0x10);
	assert_int_equal(p->d.mem_last, 0x1ffe);
	p->c.undef_mem_off = 0x10;
	p->c.undef_mem_len = 0x1ff0;
	assert_int_equal(diff_compare(&p->c, &p->a, &p->b, &p->d), 0);
}

static void test_diff_compare__fault_against_retire_is_a_mismatch(void **state)
{
	struct pair *p = *state;

	p->a.vector = DE_VECTOR;
	assert_int_equal(diff_compare(&p->c, &p->a, &p->b, &p->d), DIFF_VECTOR);
}

static void test_diff_compare__pf_error_code_is_compared(void **state)
{
	struct pair *p = *state;

	p->a.vector = p->b.vector = PF_VECTOR;
	p->a.cr2 = p->b.cr2 = 0x5000;
	p->a.error_code = 0x6;
	p->b.error_code = 0x4;
	assert_int_equal(diff_compare(&p->c, &p->a, &p->b, &p->d),
			 DIFF_FAULT_INFO);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(
			test_cpu_diff__seed_1_first_20000_cases_have_no_mismatch),
		cmocka_unit_test(
			test_cpu_diff__each_form_alone_has_no_mismatch),
		cmocka_unit_test(test_cpu_diff__unknown_form_is_einval),
		cmocka_unit_test(
			test_diff_gen__same_seed_and_number_give_the_same_case),
		cmocka_unit_test(test_diff_gen__only_draws_from_the_named_form),
#define R(t) cmocka_unit_test_setup_teardown(t, runners_setup, runners_teardown)
		R(test_diff_run__add_retires_with_sum_and_flags),
		R(test_diff_run__div_by_zero_raises_de_at_the_insn),
		R(test_diff_run__store_into_the_guard_raises_pf),
		R(test_diff_run__push_writes_the_sandbox_stack),
		R(test_diff_run__access_outside_the_region_is_wild),
#define P(t) cmocka_unit_test_setup_teardown(t, pair_setup, pair_teardown)
		P(test_diff_compare__equal_results_agree),
		P(test_diff_compare__undefined_flag_is_ignored),
		P(test_diff_compare__defined_flag_is_a_mismatch),
		P(test_diff_compare__host_if_is_not_compared),
		P(test_diff_compare__masked_register_bits_only),
		P(test_diff_compare__sandbox_bytes_give_their_range),
		P(test_diff_compare__fault_against_retire_is_a_mismatch),
		P(test_diff_compare__pf_error_code_is_compared),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
