/* SPDX-License-Identifier: MIT */
/*
 * loader_blob.S - links the assembled boot loader (tools/bochs/boot.S, as
 * a flat binary) into mkbochsimg as read-only data between
 * bochs_loader_start and bochs_loader_end, so that the tool carries the
 * loader it was built with. Host side; the build passes the binary's path
 * as BOCHS_LOADER_BIN.
 */

	.section .rodata
	.balign 16
	.globl bochs_loader_start
	.globl bochs_loader_end
bochs_loader_start:
	.incbin BOCHS_LOADER_BIN
bochs_loader_end:

	.section .note.GNU-stack, "", @progbits
