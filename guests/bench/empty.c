/* SPDX-License-Identifier: MIT */
/*
 * empty: a guest that exits at once, so that a benchmark can measure and
 * subtract what a platform costs around the workload (Bochs' BIOS and boot
 * loader, nestvm's start-up). Guest side; runs at any level.
 */
#include "guests/rt/rt.h"

int main(const struct nestvm_bootinfo *bi)
{
	(void)bi;
	return 0;
}
