/* dedup.c - vk-route --dedup: a window of event_ids (common/idwin.h), saved and loaded. */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../common/ack.h"	/* ACK_ID_MAX */
#include "alloc.h"
#include "buf.h"
#include "dedup.h"
#include "file.h"
#include "idwin.h"
#include "json.h"
#include "jsonw.h"
#include "line.h"
#include "log.h"
#include "out.h"

#define SAVE_SECS	1.0
#define MAGIC		"vk-route-dedup 1"
/* A saved id is a JSON string of at most ACK_ID_MAX bytes unescaped (six
 * bytes each at worst, as \u00XX); a longer line is an id too long to
 * remember (an older vk-route kept such ids): counted, not loaded. */
#define LINE_MAX_BYTES	(8 * ACK_ID_MAX)

static struct {
	idwin	 w;		/* each id's value: its Event's input number; 0: loaded */
	unsigned long dropped;
	const char *path;	/* --dedup-state */
	unsigned long long saved;	/* Events up to this one are in the file */
	double	 saved_at;
	int	 failing;
} dd;

void
dedup_init(size_t n)
{
	if (idwin_init(&dd.w, n, 0) == -1)
		alloc_fail();
}

int
dedup_enabled(void)
{
	return dd.w.cap > 0;
}

int
dedup_seen(const char *id, size_t n, unsigned long long seq)
{
	if (n > ACK_ID_MAX)	/* never remembered: see dedup.h */
		return 0;
	switch (idwin_seen(&dd.w, id, n, seq, 0)) {
	case 1:
		dd.dropped++;
		return 1;
	case -1:
		alloc_fail();
	}
	return 0;
}

static int
damaged(char *err, size_t errlen, const char *path, size_t line, const char *why)
{
	snprintf(err, errlen, "--dedup-state %s: line %zu: %s: the file is damaged; "
	    "remove it to start with an empty window", path, line, why);
	return -1;
}

/* The number of the last line of a file that does not end in a newline. */
static size_t
last_line(int fd)
{
	char chunk[65536];
	ssize_t r;
	size_t lines = 1, k;

	if (lseek(fd, 0, SEEK_SET) == -1)
		return 0;
	while ((r = read(fd, chunk, sizeof(chunk))) > 0)
		for (k = 0; k < (size_t)r; k++)
			lines += chunk[k] == '\n';
	return lines;
}

/*
 * One line of the file after the first: an id, or the end line. 0, 1 (the
 * end line), or -1 with err.
 */
static int
load_line(const char *p, size_t n, size_t line, size_t count, struct json_index *ix,
    buf *id, char *err, size_t errlen)
{
	char jerr[128];
	struct jv v;

	if (n > 4 && memcmp(p, "end ", 4) == 0) {
		char num[32], *end;
		unsigned long long want;

		if (n - 4 >= sizeof(num))
			return damaged(err, errlen, dd.path, line, "bad end line");
		memcpy(num, p + 4, n - 4);
		num[n - 4] = '\0';
		errno = 0;
		want = strtoull(num, &end, 10);
		if (*end != '\0' || errno != 0 || num[0] < '0' || num[0] > '9')
			return damaged(err, errlen, dd.path, line, "bad end line");
		if (want != count) {
			snprintf(jerr, sizeof(jerr), "the end line counts %llu ids, "
			    "the file holds %zu", want, count);
			return damaged(err, errlen, dd.path, line, jerr);
		}
		return 1;
	}
	if (json_check(p, n, &v, ix, jerr, sizeof(jerr)) != 0 || v.t != JSON_STRING)
		return damaged(err, errlen, dd.path, line, "not a JSON string");
	buf_reset(id);
	json_unescape_raw(v.p, v.n, id);
	dedup_seen(id->p ? id->p : "", id->len, 0);
	return 0;
}

int
dedup_load(const char *path, char *err, size_t errlen)
{
	linerd rd;
	buf id = BUF_INIT;
	const char *p;
	size_t n, count = 0;
	struct json_index *ix = NULL;
	struct stat st;
	char last;
	int fd, rc = -1, ended = 0, got;

	dd.path = path;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		if (errno == ENOENT)
			return 0;	/* the first run */
		snprintf(err, errlen, "--dedup-state %s: %s", path, strerror(errno));
		return -1;
	}
	/* A cut-short file is told first, whatever else it holds. */
	if (fstat(fd, &st) == 0 && st.st_size > 0 &&
	    pread(fd, &last, 1, st.st_size - 1) == 1 && last != '\n') {
		damaged(err, errlen, path, last_line(fd), "incomplete last line");
		close(fd);
		return -1;
	}
	ix = xmalloc(sizeof(*ix));
	line_open(&rd, fd, LINE_MAX_BYTES);
	while ((got = line_next(&rd, &p, &n)) != LINE_EOF) {
		if (got == LINE_ERR) {
			snprintf(err, errlen, "--dedup-state %s: %s", path, strerror(errno));
			goto out;
		}
		if (rd.lineno == 1) {
			if (got != LINE_OK || n != strlen(MAGIC) || memcmp(p, MAGIC, n) != 0) {
				damaged(err, errlen, path, rd.lineno, "not a vk-route-dedup file");
				goto out;
			}
			continue;
		}
		if (ended) {
			damaged(err, errlen, path, rd.lineno, "text after the end line");
			goto out;
		}
		if (got == LINE_TOOLONG) {	/* an id too long to remember */
			count++;
			continue;
		}
		if ((ended = load_line(p, n, rd.lineno, count, ix, &id, err, errlen)) == -1)
			goto out;
		count += !ended;
	}
	if (rd.lineno == 0) {
		damaged(err, errlen, path, 1, "empty file");
		goto out;
	}
	if (!ended) {
		damaged(err, errlen, path, rd.lineno, "no end line (the file was cut short)");
		goto out;
	}
	dd.dropped = 0;
	rc = 0;
	log_info("--dedup-state %s: %zu id%s loaded", path, dedup_size(),
	    dedup_size() == 1 ? "" : "s");
out:
	line_close(&rd);
	close(fd);
	free(ix);
	buf_free(&id);
	return rc;
}

/* Write the window (Events up to done) to a temp file, fsync, rename. */
static int
save(unsigned long long done)
{
	file_tmp t;
	out o;
	size_t k, count = 0;
	int fd, rc = -1, e;

	fd = file_replace_open(&t, dd.path) == -1 ? -1 : t.fd;
	e = fd == -1 ? errno : 0;
	out_open(&o, fd);
	buf_puts(&o.b, MAGIC "\n");
	for (k = 0; fd != -1 && k < idwin_size(&dd.w); k++) {
		size_t len;
		uint64_t seq;
		const char *id = idwin_at(&dd.w, k, &len, &seq);

		if (seq > done)
			break;
		jw_str(&o.b, id, len);
		buf_putc(&o.b, '\n');
		count++;
		if (out_done(&o) == -1)
			break;
	}
	{
		char end[48];

		snprintf(end, sizeof(end), "end %zu\n", count);
		buf_puts(&o.b, end);
	}
	if (fd != -1 && out_flush(&o) == -1)
		e = o.err;
	if (fd == -1 || o.err != 0 || e != 0) {
		if (!dd.failing)
			log_warn("--dedup-state %s: cannot write %s: %s; will retry",
			    dd.path, t.tmp.p, strerror(e));
		file_replace_abort(&t);
		goto out;
	}
	switch (file_replace_commit(&t)) {
	case FILE_EWRITE:
		if (!dd.failing)
			log_warn("--dedup-state %s: cannot write %s.tmp: %s; will retry",
			    dd.path, dd.path, strerror(errno));
		goto out;
	case FILE_EREPLACE:
		if (!dd.failing)
			log_warn("--dedup-state %s: cannot replace it: %s; will retry",
			    dd.path, strerror(errno));
		goto out;
	}
	if (dd.failing)
		log_warn("--dedup-state %s: saved again", dd.path);
	dd.failing = 0;
	dd.saved = done;
	rc = 0;
out:
	if (rc == -1)
		dd.failing = 1;
	buf_free(&o.b);
	return rc;
}

int
dedup_tick(double now, unsigned long long done, int force)
{
	if (dd.path == NULL || (!force && (done == dd.saved ||
	    now - dd.saved_at < SAVE_SECS)))
		return 0;
	dd.saved_at = now;
	return save(done);
}

void
dedup_timeout(double now, unsigned long long done, int *timeout)
{
	double ms;
	int t;

	if (dd.path == NULL || done == dd.saved)
		return;
	ms = (dd.saved_at + SAVE_SECS - now) * 1000.0 + 1;
	t = ms < 0 ? 0 : ms > 60000 ? 60000 : (int)ms;
	if (*timeout < 0 || t < *timeout)
		*timeout = t;
}

size_t
dedup_size(void)
{
	return idwin_size(&dd.w);
}

size_t
dedup_cap(void)
{
	return dd.w.cap;
}

unsigned long
dedup_dropped(void)
{
	return dd.dropped;
}

void
dedup_free(void)
{
	idwin_free(&dd.w);
	memset(&dd, 0, sizeof(dd));
}
