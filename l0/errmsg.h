/* SPDX-License-Identifier: MIT */
/*
 * errmsg.h - how the monitor's library code reports a failure: it returns
 * -errno and writes one line for the user into a caller's buffer; only
 * main() prints (STYLE.md, "Errors: three kinds"). Monitor side.
 */
#ifndef NESTVM_L0_ERRMSG_H
#define NESTVM_L0_ERRMSG_H

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>

/* Formats the message into err (if any) and returns ret, so that a failure
 * reads `return errmsg(-EINVAL, err, errlen, "...", ...);`. Messages quote
 * what the user gave (flags, file names, file contents): a control
 * character in it becomes '?', so the message stays one line whatever the
 * input (found by fuzz_cmdline: a flag with a newline in it). */
__attribute__((format(printf, 4, 5))) static inline int
errmsg(int ret, char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err && errlen) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
		for (char *p = err; *p; p++)
			if ((unsigned char)*p < 0x20 || *p == 0x7f)
				*p = '?';
	}
	return ret;
}

#endif
