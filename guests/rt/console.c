/* SPDX-License-Identifier: MIT */
/*
 * Guest console: a polled 16550 UART transmitter and a printf-style
 * formatter that writes either to the UART or into a buffer. Guest side.
 * Bytes go out unchanged ("\n" is not expanded to "\r\n"), so what a guest
 * prints is byte for byte what the monitor's serial device passes on.
 */
#include "guests/rt/rt.h"

/* Where formatted characters go: the UART (buf == NULL) or a buffer. */
struct fmt_sink {
	char *buf;
	size_t size;
	size_t len; /* characters produced so far, stored or not */
};

/* Conversion state of one % directive. */
struct fmt_spec {
	bool left; /* '-': pad on the right */
	bool zero; /* '0': pad numbers with zeros */
	bool plus; /* '+': always a sign for signed conversions */
	bool space; /* ' ': a space where a plus sign would be */
	bool alt; /* '#': 0x / 0X / leading 0 */
	int width;
	int prec; /* -1: none given */
};

static void uart_write_byte(uint8_t c)
{
	/* A real 16550 drops bytes written while THR is full: wait for THRE
	 * as a driver on real hardware would. */
	while (!(inb(RT_UART_BASE + RT_UART_LSR) & RT_UART_LSR_THRE))
		;
	outb(c, RT_UART_BASE + RT_UART_THR);
}

static void sink_put(struct fmt_sink *s, char c)
{
	if (!s->buf)
		uart_write_byte((uint8_t)c);
	else if (s->len + 1 < s->size)
		s->buf[s->len] = c;
	s->len++;
}

static void sink_pad(struct fmt_sink *s, char c, int n)
{
	while (n-- > 0)
		sink_put(s, c);
}

static void fmt_emit_string(struct fmt_sink *s, const struct fmt_spec *sp,
			    const char *str)
{
	size_t n;
	int pad;

	if (!str)
		str = "(null)";
	n = sp->prec >= 0 ? strnlen(str, (size_t)sp->prec) : strlen(str);
	pad = sp->width > (int)n ? sp->width - (int)n : 0;
	if (!sp->left)
		sink_pad(s, ' ', pad);
	for (size_t i = 0; i < n; i++)
		sink_put(s, str[i]);
	if (sp->left)
		sink_pad(s, ' ', pad);
}

/*
 * Formats the magnitude val in base 8, 10 or 16 with an optional sign, the
 * '#' prefix, precision (minimum digits) and width, in the order C11
 * 7.21.6.1 gives: [spaces] sign prefix [zeros] digits [spaces].
 */
static void fmt_emit_number(struct fmt_sink *s, const struct fmt_spec *sp,
			    uint64_t val, bool negative, bool is_signed,
			    unsigned int base, bool upper)
{
	const char *digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
	char tmp[24]; /* 22 octal digits hold 2^64 - 1 */
	const char *prefix = "";
	bool is_zero = !val;
	int ndig = 0, nzero, total, pad;
	char sign = 0;

	while (val) {
		tmp[ndig++] = digits[val % base];
		val /= base;
	}
	/* Precision 0 with the value 0 prints no digits (C11 7.21.6.1p8). */
	if (!ndig && sp->prec != 0)
		tmp[ndig++] = '0';

	if (is_signed) {
		if (negative)
			sign = '-';
		else if (sp->plus)
			sign = '+';
		else if (sp->space)
			sign = ' ';
	}
	if (sp->alt && base == 16 && !is_zero)
		prefix = upper ? "0X" : "0x";

	nzero = sp->prec > ndig ? sp->prec - ndig : 0;
	/* '#' with 'o' raises the precision so that the first digit is 0. */
	if (sp->alt && base == 8 && !nzero && (!ndig || tmp[ndig - 1] != '0'))
		nzero = 1;
	total = (sign ? 1 : 0) + (int)strlen(prefix) + nzero + ndig;
	pad = sp->width > total ? sp->width - total : 0;
	/* '0' is ignored with '-' or with a precision (C11 7.21.6.1p6). */
	if (sp->zero && !sp->left && sp->prec < 0) {
		nzero += pad;
		pad = 0;
	}

	if (!sp->left)
		sink_pad(s, ' ', pad);
	if (sign)
		sink_put(s, sign);
	for (const char *p = prefix; *p; p++)
		sink_put(s, *p);
	sink_pad(s, '0', nzero);
	while (ndig)
		sink_put(s, tmp[--ndig]);
	if (sp->left)
		sink_pad(s, ' ', pad);
}

enum fmt_length { LEN_NONE, LEN_HH, LEN_H, LEN_L, LEN_LL, LEN_Z, LEN_J, LEN_T };

static int64_t fmt_fetch_signed(enum fmt_length len, va_list *ap)
{
	switch (len) {
	case LEN_HH:
		return (signed char)va_arg(*ap, int);
	case LEN_H:
		return (short)va_arg(*ap, int);
	case LEN_L:
		return va_arg(*ap, long);
	case LEN_LL:
		return va_arg(*ap, long long);
	case LEN_Z:
		/* The signed type of size_t's width. */
		return va_arg(*ap, long);
	case LEN_J:
		return va_arg(*ap, intmax_t);
	case LEN_T:
		return va_arg(*ap, ptrdiff_t);
	case LEN_NONE:
		break;
	}
	return va_arg(*ap, int);
}

static uint64_t fmt_fetch_unsigned(enum fmt_length len, va_list *ap)
{
	switch (len) {
	case LEN_HH:
		return (unsigned char)va_arg(*ap, unsigned int);
	case LEN_H:
		return (unsigned short)va_arg(*ap, unsigned int);
	case LEN_L:
		return va_arg(*ap, unsigned long);
	case LEN_LL:
		return va_arg(*ap, unsigned long long);
	case LEN_Z:
		return va_arg(*ap, size_t);
	case LEN_J:
		return va_arg(*ap, uintmax_t);
	case LEN_T:
		/* The unsigned type of ptrdiff_t's width. */
		return va_arg(*ap, unsigned long);
	case LEN_NONE:
		break;
	}
	return va_arg(*ap, unsigned int);
}

static const char *fmt_parse_flags(const char *f, struct fmt_spec *sp)
{
	for (;; f++) {
		switch (*f) {
		case '-':
			sp->left = true;
			break;
		case '0':
			sp->zero = true;
			break;
		case '+':
			sp->plus = true;
			break;
		case ' ':
			sp->space = true;
			break;
		case '#':
			sp->alt = true;
			break;
		default:
			return f;
		}
	}
}

static const char *fmt_parse_length(const char *f, enum fmt_length *len)
{
	*len = LEN_NONE;
	switch (*f) {
	case 'h':
		if (f[1] == 'h') {
			*len = LEN_HH;
			return f + 2;
		}
		*len = LEN_H;
		return f + 1;
	case 'l':
		if (f[1] == 'l') {
			*len = LEN_LL;
			return f + 2;
		}
		*len = LEN_L;
		return f + 1;
	case 'z':
		*len = LEN_Z;
		return f + 1;
	case 'j':
		*len = LEN_J;
		return f + 1;
	case 't':
		*len = LEN_T;
		return f + 1;
	default:
		return f;
	}
}

static void fmt_format(struct fmt_sink *s, const char *f, va_list *ap)
{
	while (*f) {
		struct fmt_spec sp = { .prec = -1 };
		const char *start = f;
		enum fmt_length len;
		int64_t sv;
		uint64_t uv;

		if (*f != '%') {
			sink_put(s, *f++);
			continue;
		}
		f = fmt_parse_flags(f + 1, &sp);
		if (*f == '*') {
			sp.width = va_arg(*ap, int);
			if (sp.width < 0) {
				/* A negative width is '-' and its magnitude. */
				sp.left = true;
				sp.width = -sp.width;
			}
			f++;
		} else {
			while (*f >= '0' && *f <= '9')
				sp.width = sp.width * 10 + (*f++ - '0');
		}
		if (*f == '.') {
			f++;
			sp.prec = 0;
			if (*f == '*') {
				sp.prec = va_arg(*ap, int);
				if (sp.prec < 0)
					sp.prec =
						-1; /* as if none were given */
				f++;
			} else {
				while (*f >= '0' && *f <= '9')
					sp.prec = sp.prec * 10 + (*f++ - '0');
			}
		}
		f = fmt_parse_length(f, &len);

		switch (*f) {
		case 'd':
		case 'i':
			sv = fmt_fetch_signed(len, ap);
			/* Negate in unsigned arithmetic: INT64_MIN has no
			 * positive counterpart. */
			uv = sv < 0 ? -(uint64_t)sv : (uint64_t)sv;
			fmt_emit_number(s, &sp, uv, sv < 0, true, 10, false);
			break;
		case 'u':
			uv = fmt_fetch_unsigned(len, ap);
			fmt_emit_number(s, &sp, uv, false, false, 10, false);
			break;
		case 'x':
		case 'X':
			uv = fmt_fetch_unsigned(len, ap);
			fmt_emit_number(s, &sp, uv, false, false, 16,
					*f == 'X');
			break;
		case 'o':
			uv = fmt_fetch_unsigned(len, ap);
			fmt_emit_number(s, &sp, uv, false, false, 8, false);
			break;
		case 'c':
			/* Precision does not apply to %c, and a NUL is output
			 * like any other character. */
			if (!sp.left)
				sink_pad(s, ' ', sp.width - 1);
			sink_put(s, (char)va_arg(*ap, int));
			if (sp.left)
				sink_pad(s, ' ', sp.width - 1);
			break;
		case 's':
			fmt_emit_string(s, &sp, va_arg(*ap, const char *));
			break;
		case 'p':
			uv = (uintptr_t)va_arg(*ap, void *);
			if (!uv) {
				sp.prec = -1;
				fmt_emit_string(s, &sp, "(nil)");
				break;
			}
			sp.alt = true;
			fmt_emit_number(s, &sp, uv, false, false, 16, false);
			break;
		case '%':
			sink_put(s, '%');
			break;
		case '\0':
			/* A lone '%' at the end: print what was there. */
			while (start < f)
				sink_put(s, *start++);
			return;
		default:
			while (start <= f)
				sink_put(s, *start++);
			break;
		}
		f++;
	}
}

int putchar(int c)
{
	uart_write_byte((uint8_t)c);
	return (unsigned char)c;
}

int puts(const char *s)
{
	while (*s)
		uart_write_byte((uint8_t)*s++);
	uart_write_byte('\n');
	return 0;
}

int vprintf(const char *fmt, va_list ap)
{
	struct fmt_sink s = { 0 };
	va_list aq;

	va_copy(aq, ap);
	fmt_format(&s, fmt, &aq);
	va_end(aq);
	return (int)s.len;
}

int printf(const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vprintf(fmt, ap);
	va_end(ap);
	return n;
}

int vsnprintf(char *buf, size_t size, const char *fmt, va_list ap)
{
	/* A one-byte scratch buffer lets the sink count without storing
	 * when the caller passes size 0 (and perhaps no buffer). */
	char scratch;
	struct fmt_sink s = { .buf = size ? buf : &scratch, .size = size };
	va_list aq;

	va_copy(aq, ap);
	fmt_format(&s, fmt, &aq);
	va_end(aq);
	if (size)
		buf[s.len < size ? s.len : size - 1] = '\0';
	return (int)s.len;
}

int snprintf(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, size, fmt, ap);
	va_end(ap);
	return n;
}

void rt_result(const char *name, uint64_t value, const char *unit)
{
	printf("RESULT %s %llu %s\n", name, (unsigned long long)value, unit);
}

void rt_result_signed(const char *name, int64_t value, const char *unit)
{
	printf("RESULT %s %lld %s\n", name, (long long)value, unit);
}
