/* metrics.c - Prometheus text files, written whole. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include "alloc.h"
#include "file.h"
#include "jsonw.h"
#include "log.h"
#include "metrics.h"

static volatile sig_atomic_t *due_flag;

static void
on_alarm(int sig)
{
	(void)sig;
	if (due_flag)
		*due_flag |= METRICS_DUE;
}

int
metrics_check(const char *path, char *err, size_t n)
{
	struct stat st;

	if (path[0] == '\0' || path[strlen(path) - 1] == '/') {
		snprintf(err, n, "metrics file '%s' names no file", path);
		return -1;
	}
	if (stat(path, &st) == 0 && !S_ISREG(st.st_mode)) {
		snprintf(err, n, "metrics file %s is not a regular file", path);
		return -1;
	}
	if (file_writable(path) == -1) {
		snprintf(err, n, "metrics file %s cannot be written: %s", path,
		    strerror(errno));
		return -1;
	}
	return 0;
}

int
metrics_open(metrics *m, const char *path, double interval,
    volatile sig_atomic_t *flag, char *err, size_t n)
{
	struct sigaction sa;
	struct itimerval it;

	memset(m, 0, sizeof(*m));
	if (path == NULL)
		return 0;
	if (metrics_check(path, err, n) == -1)
		return -1;
	m->path = path;
	if (flag != NULL) {
		due_flag = flag;
		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = on_alarm;	/* no SA_RESTART: a waiting read wakes */
		sigemptyset(&sa.sa_mask);
		sigaction(SIGALRM, &sa, NULL);
	}
	memset(&it, 0, sizeof(it));
	it.it_interval.tv_sec = (time_t)interval;
	it.it_interval.tv_usec = (suseconds_t)((interval - (double)(time_t)interval) * 1e6);
	if (it.it_interval.tv_sec == 0 && it.it_interval.tv_usec < 1000)
		it.it_interval.tv_usec = 1000;
	it.it_value = it.it_interval;
	if (setitimer(ITIMER_REAL, &it, NULL) == -1) {
		snprintf(err, n, "cannot start the metrics timer: %s", strerror(errno));
		return -1;
	}
	return 0;
}

void
metrics_family(metrics *m, const char *name, const char *type, const char *help)
{
	if (m->path == NULL)
		return;
	buf_puts(&m->b, "# HELP ");
	buf_puts(&m->b, name);
	buf_putc(&m->b, ' ');
	/* ours, but escaped as the format wants all the same */
	for (; *help; help++)
		if (*help == '\\')
			buf_puts(&m->b, "\\\\");
		else if (*help == '\n')
			buf_puts(&m->b, "\\n");
		else
			buf_putc(&m->b, *help);
	buf_puts(&m->b, "\n# TYPE ");
	buf_puts(&m->b, name);
	buf_putc(&m->b, ' ');
	buf_puts(&m->b, type);
	buf_putc(&m->b, '\n');
}

/* A label value as the text format quotes it: escaped, and valid UTF-8
 * (which the format requires): a byte that is not becomes U+FFFD. */
static void
put_label(buf *b, const char *s)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t n = strlen(s), i, k;

	buf_putc(b, '"');
	for (i = 0; i < n; i++)
		if (u[i] == '\\')
			buf_puts(b, "\\\\");
		else if (u[i] == '"')
			buf_puts(b, "\\\"");
		else if (u[i] == '\n')
			buf_puts(b, "\\n");
		else if (u[i] < 0x80)
			buf_putc(b, (char)u[i]);
		else if ((k = utf8_len(u + i, n - i)) == 0)
			buf_puts(b, "\xef\xbf\xbd");
		else {
			buf_put(b, u + i, k);
			i += k - 1;
		}
	buf_putc(b, '"');
}

void
metrics_value(metrics *m, const char *name, double v, ...)
{
	va_list ap;
	const char *k, *val;
	char num[64];
	int first = 1;

	if (m->path == NULL)
		return;
	buf_puts(&m->b, name);
	va_start(ap, v);
	while ((k = va_arg(ap, const char *)) != NULL) {
		val = va_arg(ap, const char *);
		buf_putc(&m->b, first ? '{' : ',');
		first = 0;
		buf_puts(&m->b, k);
		buf_putc(&m->b, '=');
		put_label(&m->b, val ? val : "");
	}
	va_end(ap);
	if (!first)
		buf_putc(&m->b, '}');
	if (v != v)
		snprintf(num, sizeof(num), "NaN");
	else if (v > 1e308 || v < -1e308)
		snprintf(num, sizeof(num), v > 0 ? "+Inf" : "-Inf");
	else if (v > -9e15 && v < 9e15 && (double)(long long)v == v)
		snprintf(num, sizeof(num), "%.0f", v);
	else
		snprintf(num, sizeof(num), "%.17g", v);
	buf_putc(&m->b, ' ');
	buf_puts(&m->b, num);
	buf_putc(&m->b, '\n');
}

static void
single(metrics *m, const char *name, const char *type, const char *help, double v)
{
	metrics_family(m, name, type, help);
	metrics_value(m, name, v, NULL);
}

void
metrics_counter(metrics *m, const char *name, const char *help, double v)
{
	single(m, name, "counter", help, v);
}

void
metrics_gauge(metrics *m, const char *name, const char *help, double v)
{
	single(m, name, "gauge", help, v);
}

/* Replace path with b (common/file: a temp file renamed over it). */
static int
replace(const char *path, const buf *b, char *err, size_t n)
{
	file_tmp t;

	if (file_replace_open(&t, path) == -1) {
		snprintf(err, n, "cannot write the metrics to %s: %s", t.tmp.p,
		    strerror(errno));
		file_replace_abort(&t);
		return -1;
	}
	/* read by the collector, another user: not narrowed by a umask */
	fchmod(t.fd, 0644);
	if (file_write_all(t.fd, b->p, b->len) == -1) {
		snprintf(err, n, "cannot write the metrics to %s: %s", t.tmp.p,
		    strerror(errno));
		file_replace_abort(&t);
		return -1;
	}
	if (file_replace_commit(&t) != FILE_REPLACED) {
		snprintf(err, n, "cannot replace the metrics file %s: %s", path,
		    strerror(errno));
		return -1;
	}
	return 0;
}

int
metrics_write(metrics *m, char *err, size_t n)
{
	int r;

	if (m->path == NULL)
		return 0;
	r = replace(m->path, &m->b, err, n);
	buf_reset(&m->b);
	return r;
}

int
metrics_flush(metrics *m)
{
	char err[512];

	if (metrics_write(m, err, sizeof(err)) == -1) {
		if (!m->failed)
			log_warn("%s", err);
		m->failed = 1;
		return -1;
	}
	m->failed = 0;
	return 0;
}

void
metrics_close(metrics *m)
{
	struct itimerval it;

	if (m->path != NULL) {
		memset(&it, 0, sizeof(it));
		setitimer(ITIMER_REAL, &it, NULL);
		due_flag = NULL;
	}
	buf_free(&m->b);
	m->path = NULL;
}

void
mtally_add(mtally *t, const char *a, const char *b)
{
	size_t i;

	for (i = 0; i < t->n; i++)
		if (strcmp(t->e[i].a, a) == 0 && strcmp(t->e[i].b, b) == 0) {
			t->e[i].n++;
			return;
		}
	if (t->n >= MTALLY_MAX && strcmp(a, "other") != 0) {
		mtally_add(t, "other", b);
		return;
	}
	if (t->n == t->cap) {
		t->cap = t->cap ? t->cap * 2 : 16;
		t->e = xrealloc(t->e, t->cap * sizeof(*t->e));
	}
	t->e[t->n].a = xstrdup(a);
	t->e[t->n].b = xstrdup(b);
	t->e[t->n++].n = 1;
}

void
mtally_values(metrics *m, const mtally *t, const char *name, const char *la,
    const char *lb)
{
	size_t i;

	for (i = 0; i < t->n; i++)
		metrics_value(m, name, (double)t->e[i].n, la, t->e[i].a, lb, t->e[i].b,
		    NULL);
}

void
mtally_free(mtally *t)
{
	size_t i;

	for (i = 0; i < t->n; i++) {
		free(t->e[i].a);
		free(t->e[i].b);
	}
	free(t->e);
	memset(t, 0, sizeof(*t));
}

/* Append the file's text to b, label added to each sample; -1 if unreadable. */
static int
merge_one(buf *b, const char *file, const char *label, const char *value)
{
	char chunk[8192];
	buf in = BUF_INIT;
	const char *p, *e, *nl;
	ssize_t r;
	size_t k;
	int fd;

	if ((fd = open(file, O_RDONLY | O_CLOEXEC)) == -1)
		return errno == ENOENT ? 0 : -1;
	while ((r = read(fd, chunk, sizeof(chunk))) != 0) {
		if (r == -1 && errno == EINTR)
			continue;
		if (r == -1) {
			close(fd);
			buf_free(&in);
			return -1;
		}
		buf_put(&in, chunk, (size_t)r);
	}
	close(fd);
	for (p = in.p, e = in.p + in.len; p < e; p = nl + 1) {
		if ((nl = memchr(p, '\n', (size_t)(e - p))) == NULL)
			nl = e;
		if (label == NULL || p == nl || *p == '#') {
			buf_put(b, p, (size_t)(nl - p));
			buf_putc(b, '\n');
			continue;
		}
		/* name, then {labels} or the value */
		for (k = 0; p + k < nl && p[k] != '{' && p[k] != ' '; k++)
			;
		buf_put(b, p, k);
		buf_putc(b, '{');
		buf_puts(b, label);
		buf_putc(b, '=');
		put_label(b, value);
		if (p + k < nl && p[k] == '{') {
			k++;
			if (p + k < nl && p[k] != '}')
				buf_putc(b, ',');
		} else {
			buf_putc(b, '}');
		}
		buf_put(b, p + k, (size_t)(nl - p - k));
		buf_putc(b, '\n');
	}
	buf_free(&in);
	return 0;
}

int
metrics_merge(const char *path, const char *const *files, size_t nfiles,
    const char *label, const char *value, char *err, size_t n)
{
	buf b = BUF_INIT;
	size_t i;
	int r = 0;

	for (i = 0; i < nfiles; i++)
		if (merge_one(&b, files[i], label, value ? value : "") == -1) {
			snprintf(err, n, "cannot read the metrics of %s: %s", files[i],
			    strerror(errno));
			r = -1;
			goto out;
		}
	r = replace(path, &b, err, n);
out:
	buf_free(&b);
	return r;
}
