/* SPDX-License-Identifier: MIT */
/*
 * eval.h - `nestvm eval`: the whole evaluation as one command. Expands
 * eval/experiments.txt into its runs (each one `nestvm run` process),
 * runs them N at a time with a progress line each (or writes them as a
 * job list, or merges results run elsewhere), and writes report.md,
 * results.json and the SVG plots (docs/evaluation.md). Host side.
 */
#ifndef NESTVM_EVAL_EVAL_H
#define NESTVM_EVAL_EVAL_H

/* The eval command's exit statuses (the same as compare's). */
#define EVAL_EXIT_OK 0
#define EVAL_EXIT_RUN_FAILED 1 /* a run failed; the report marks it */
#define EVAL_EXIT_USAGE 125 /* a bad flag or file: nothing ran */

/* The whole subcommand: argv[0] is "eval". Returns the exit status. */
int eval_main(int argc, char **argv);

#endif
