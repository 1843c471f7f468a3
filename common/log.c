/* log.c - diagnostics on stderr. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"

const char *log_prog = "vkpipe";
int log_verbose;
int log_journal;

/* JOURNAL_STREAM is "DEV:INO" of the stream systemd connected; a
 * descriptor inherited elsewhere (a redirect) is not it. */
static int
stderr_is_journal(void)
{
	const char *js = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;
	char end;

	if (!js || sscanf(js, "%llu:%llu%c", &dev, &ino, &end) != 2)
		return 0;
	return fstat(STDERR_FILENO, &st) == 0 && (unsigned long long)st.st_dev == dev &&
	    (unsigned long long)st.st_ino == ino;
}

void
log_init(const char *argv0)
{
	const char *s = argv0 ? strrchr(argv0, '/') : NULL;

	log_prog = s ? s + 1 : (argv0 ? argv0 : "vkpipe");
	log_journal = stderr_is_journal();
}

static void
vlog(int prio, const char *fmt, va_list ap)
{
	char line[2048];
	int n;

	/* One write per message, so lines from several processes never mix. */
	if (log_journal)
		n = snprintf(line, sizeof(line), "<%d>%s: ", prio, log_prog);
	else
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
log_err(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(3, fmt, ap);
	va_end(ap);
}

void
log_warn(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(4, fmt, ap);
	va_end(ap);
}

void
log_note(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(6, fmt, ap);
	va_end(ap);
}

void
log_info(const char *fmt, ...)
{
	va_list ap;

	if (!log_verbose)
		return;
	va_start(ap, fmt);
	vlog(6, fmt, ap);
	va_end(ap);
}
