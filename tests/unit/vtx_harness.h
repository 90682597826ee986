/* SPDX-License-Identifier: MIT */
/*
 * vtx_harness.h - the CPU-model tests' fixture: a fresh machine per test
 * with identity-mapped 4-level paging (SDM Vol. 3A 4.5), ring-0 and ring-3
 * 64-bit segments, a TSS with an I/O bitmap (3.4.5, 8.7, Vol. 1 19.5), an
 * IDT whose handlers halt, and a platform that records port I/O. Host
 * side, tests only; reaches the model through vtx/vtx.h.
 */
#ifndef NESTVM_TESTS_VTX_HARNESS_H
#define NESTVM_TESTS_VTX_HARNESS_H

#include <stddef.h>
#include <stdint.h>

#include "arch/x86_regs.h"
#include "vtx/vtx.h"

/*
 * The tests list code as bytes with objdump's disassembly beside them
 * (objdump -D -b binary -mi386:x86-64 -M intel); a branch target there is
 * an offset from the start of its array.
 */

/*
 * Guest-physical layout (identity-mapped, so linear = physical):
 *
 *   0x000000          not present (catches null pointers)
 *   0x001000          GDT
 *   0x002000          IDT, 256 interrupt gates to the stubs below
 *   0x003000          one 16-byte stub per vector: HLT
 *   0x004000          TSS, its I/O bitmap at +0x68 (8 KiB + the 0xff byte)
 *   0x010000..        PML4, PDPT, PD, PT for [0, 2 MiB)
 *   0x070000          IST1 stack top
 *   0x078000          RSP0 stack top (ring 3 -> ring 0)
 *   0x080000          initial RSP (ring 0)
 *   0x100000          code (CODE_BASE), supervisor
 *   0x180000          user area (U/S = 1): code, data, stack
 *   0x1c0000          supervisor data
 *   [2 MiB, 4 MiB)    one 2-MiB page, supervisor data
 *
 * [0, 2 MiB) is mapped by 4-KiB pages so that a test can change one PTE;
 * every leaf starts with A = D = 0.
 */
#define HARNESS_ARENA MiB(4)
#define HARNESS_GDT 0x1000ull
#define HARNESS_IDT 0x2000ull
#define HARNESS_STUBS 0x3000ull
#define HARNESS_STUB_SIZE 16
#define HARNESS_TSS 0x4000ull
#define HARNESS_IOMAP_OFF 0x68u
/* The bitmap covers all 65536 ports and ends with the required 0xff byte
 * (SDM Vol. 1 19.5.2), so the TSS limit is 0x68 + 8192. */
#define HARNESS_TSS_LIMIT (HARNESS_IOMAP_OFF + 8192u)
#define HARNESS_PML4 0x10000ull
#define HARNESS_PDPT 0x11000ull
#define HARNESS_PD 0x12000ull
#define HARNESS_PT 0x13000ull
#define HARNESS_IST1_TOP 0x70000ull
#define HARNESS_RSP0_TOP 0x78000ull
#define HARNESS_STACK_TOP 0x80000ull
#define CODE_BASE 0x100000ull
#define USER_CODE 0x180000ull
#define USER_DATA 0x181000ull
#define USER_STACK_TOP 0x190000ull
#define USER_END 0x1a0000ull
#define DATA_BASE 0x1c0000ull
#define BIG_PAGE 0x200000ull

/* GDT selectors. The order user data, user code after the kernel pair is
 * the one SYSRET needs (STAR[63:48] = SEL_KDATA: SS = +8, CS = +16). */
#define SEL_KCODE 0x08
#define SEL_KDATA 0x10
#define SEL_UDATA 0x1b /* index 3, RPL 3 */
#define SEL_UCODE 0x23 /* index 4, RPL 3 */
#define SEL_TSS 0x28 /* 16 bytes: indices 5 and 6 */
#define SEL_SPARE 0x38 /* indices 7 and 8: free for a test's descriptor */

/* The debug-exit port: an OUT to it stops the machine (VTX_PIO_STOP). */
#define HARNESS_STOP_PORT 0xf4
#define HARNESS_PIO_MAX 32

struct harness {
	struct vtx_machine *m;
	struct vtx_cpu *cpu;
	/* Loaded into the vCPU by harness_run(), refreshed after it. */
	struct kvm_regs regs;
	struct kvm_sregs sregs;
	/* Results of the last run. */
	struct vtx_stop stop;
	struct vtx_cpu_stats stats;
	/* The platform: every port access, in order; IN returns in_data. */
	struct vtx_pio pio[HARNESS_PIO_MAX];
	unsigned int nr_pio;
	uint32_t in_data;
	/* When non-zero: the next OUT to this port calls
	 * vtx_cpu_request_stop() (as a host's timer would, from outside the
	 * instruction stream), then the port is cleared. */
	uint16_t request_stop_port;
};

/* Per-test cmocka fixtures: *state becomes a fresh struct harness. */
int harness_setup(void **state);
int harness_teardown(void **state);

/* Copies code or data into guest memory with vtx_hpa_write(), as a loader
 * would (decoded code there is invalidated). */
void harness_load(struct harness *h, uint64_t gpa, const void *bytes,
		  size_t len);
uint64_t harness_read64(struct harness *h, uint64_t gpa);
void harness_write64(struct harness *h, uint64_t gpa, uint64_t val);

/* Loads regs and sregs, runs at most n instructions (0: no limit) from
 * regs.rip, and stores the results. Returns the stop reason. */
enum vtx_stop_reason harness_run(struct harness *h, uint64_t n);

/* Loads code at CODE_BASE and runs exactly n instructions from there;
 * fails the test unless the run ends on the limit. */
void harness_exec(struct harness *h, const uint8_t *code, size_t len,
		  uint64_t n);

/* Loads code at CODE_BASE and runs it from there until the machine stops
 * (at most 100 instructions). Returns the stop reason. */
enum vtx_stop_reason harness_run_code(struct harness *h, const uint8_t *code,
				      size_t len);

/* The vector whose stub the CPU halted in, or -1. */
int harness_stop_vector(const struct harness *h);

/* For harness_expect_exception(): the vector pushes no error code. */
#define HARNESS_NO_ERROR_CODE (~0ull)

/* Fails the test unless the last run halted in the stub of `vector`
 * (delivered once, for vectors below 32), with `error_code` (or none) and
 * `rip` on top of the stack.
 * Returns the address of the frame's RIP slot; CS, RFLAGS, RSP and SS
 * follow it (SDM Vol. 3A 6.14.2, Figure 6-9). */
uint64_t harness_expect_exception(struct harness *h, int vector,
				  uint64_t error_code, uint64_t rip);

/* The 4-KiB PTE that maps gpa (gpa < 2 MiB), as a host pointer. */
uint64_t *harness_pte(struct harness *h, uint64_t gpa);

/* Rewrites IDT entry `vector` (type SEG_TYPE_INT_GATE64 or _TRAP_GATE64). */
void harness_set_gate(struct harness *h, unsigned int vector, uint64_t handler,
		      unsigned int ist, unsigned int type, unsigned int dpl);

/* Allows (true) or denies a port at CPL 3 in the TSS I/O bitmap. */
void harness_allow_port(struct harness *h, uint16_t port, bool allow);

/* Puts the next run at CPL 3: CS = SEL_UCODE, SS = SEL_UDATA, RIP and RSP
 * in the user area. */
void harness_enter_user(struct harness *h, uint64_t rip);

/* Fails the test unless RFLAGS is exactly bit 1 | `flags`. */
#define assert_rflags(h, flags) \
	assert_int_equal((h)->regs.rflags, X86_EFLAGS_FIXED | (flags))

/* Fails the test unless RFLAGS, ignoring the flags in `undef` (those the
 * SDM leaves undefined after the instruction), is exactly bit 1 | `flags`. */
#define assert_rflags_except(h, flags, undef)                   \
	assert_int_equal((h)->regs.rflags & ~(uint64_t)(undef), \
			 X86_EFLAGS_FIXED | (flags))

/* Short names for the arithmetic flags in expected values. */
#define CF X86_EFLAGS_CF
#define PF X86_EFLAGS_PF
#define AF X86_EFLAGS_AF
#define ZF X86_EFLAGS_ZF
#define SF X86_EFLAGS_SF
#define OF X86_EFLAGS_OF
/* All six: set before an instruction, shows which ones it leaves alone. */
#define ARITH_ALL (CF | PF | AF | ZF | SF | OF)

#endif
