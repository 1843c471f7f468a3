/* opt.c - number options: one parser, one message (see opt.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "opt.h"

/* Only canonical spellings: what was given is exactly the number used. */
static int
digits(const char *s, int neg_ok)
{
	if (*s == '-' && neg_ok)
		s++;
	if (*s < '0' || *s > '9' || (s[0] == '0' && s[1] != '\0'))
		return 0;
	while (*s >= '0' && *s <= '9')
		s++;
	return *s == '\0';
}

long long
opt_num(opt *o, const char *name, const char *s, long long lo, long long hi)
{
	long long v = 0;
	char *end;

	if (digits(s, lo < 0)) {
		errno = 0;
		v = strtoll(s, &end, 10);
		if (errno == 0 && v >= lo && v <= hi)
			return v;
	}
	if (o->err[0] == '\0')
		snprintf(o->err, sizeof(o->err), "%s takes a whole number from %lld to %lld, "
		    "not '%.40s'", name, lo, hi, s);
	return lo;
}

double
opt_secs(opt *o, const char *name, const char *s, double lo, double hi)
{
	const char *p = s;
	double v;

	while (*p >= '0' && *p <= '9')
		p++;
	if (p > s && *p == '.')
		for (p++; *p >= '0' && *p <= '9'; p++)
			;
	if (p > s && *p == '\0' && p[-1] != '.') {
		v = strtod(s, NULL);
		if (v >= lo && v <= hi)
			return v;
	}
	if (o->err[0] == '\0')
		snprintf(o->err, sizeof(o->err), "%s takes a number of seconds from %g to %g, "
		    "not '%.40s'", name, lo, hi, s);
	return lo;
}
