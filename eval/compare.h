/* SPDX-License-Identifier: MIT */
/*
 * compare.h - `nestvm compare`: runs one workload under several nested
 * strategies (and --prep / --ept-coherence / profile lists) plus the
 * single-level baseline, each as its own `nestvm run` process, and prints
 * and writes the side-by-side table (docs/user-guide.md,
 * docs/evaluation.md). Host side.
 */
#ifndef NESTVM_EVAL_COMPARE_H
#define NESTVM_EVAL_COMPARE_H

/* The compare command's exit statuses. */
#define COMPARE_EXIT_OK 0
#define COMPARE_EXIT_JOB_FAILED 1 /* a run failed; the others finished */
#define COMPARE_EXIT_USAGE 125 /* a bad flag or file: nothing ran */

/*
 * The whole subcommand: argv[0] is "compare", the flags follow. Prints
 * the table on stdout and progress and errors on stderr; returns the
 * exit status.
 */
int compare_main(int argc, char **argv);

#endif
