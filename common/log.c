/* log.c - diagnostics on stderr. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "log.h"

const char *log_prog = "vkpipe";
int log_verbose;

void
log_init(const char *argv0)
{
	const char *s = argv0 ? strrchr(argv0, '/') : NULL;

	log_prog = s ? s + 1 : (argv0 ? argv0 : "vkpipe");
}

static void
vlog(const char *fmt, va_list ap)
{
	char line[2048];
	int n;

	/* One write per message, so lines from several processes never mix. */
	n = snprintf(line, sizeof(line), "%s: ", log_prog);
	if (n < 0 || (size_t)n >= sizeof(line))
		return;
	vsnprintf(line + n, sizeof(line) - (size_t)n - 1, fmt, ap);
	n = (int)strlen(line);
	line[n++] = '\n';
	fwrite(line, 1, (size_t)n, stderr);
	fflush(stderr);
}

void
log_warn(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(fmt, ap);
	va_end(ap);
}

void
log_info(const char *fmt, ...)
{
	va_list ap;

	if (!log_verbose)
		return;
	va_start(ap, fmt);
	vlog(fmt, ap);
	va_end(ap);
}
