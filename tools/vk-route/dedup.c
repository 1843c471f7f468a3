/* dedup.c - vk-route --dedup: a bounded window of event_ids, FIFO eviction. */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../common/ack.h"	/* ACK_ID_MAX */
#include "buf.h"
#include "dedup.h"
#include "file.h"
#include "hash.h"
#include "json.h"
#include "jsonw.h"
#include "log.h"
#include "out.h"

#define NONE		UINT32_MAX
#define SAVE_SECS	1.0
#define MAGIC		"vk-route-dedup 1"

struct slot {
	char	*id;
	size_t	 len;
	unsigned long long seq;	/* the Event's input number; 0: loaded */
	uint32_t h;
	uint32_t next;		/* the next slot in the same bucket */
};

static struct {
	struct slot *ring;
	uint32_t *bucket;
	size_t	 cap, head, n, mask;
	unsigned long dropped;
	const char *path;	/* --dedup-state */
	unsigned long long saved;	/* Events up to this one are in the file */
	double	 saved_at;
	int	 failing;
} dd;

void
dedup_init(size_t n)
{
	size_t nb = 16;

	while (nb < n)
		nb *= 2;
	dd.cap = n;
	dd.mask = nb - 1;
	dd.ring = calloc(n, sizeof(*dd.ring));
	dd.bucket = malloc(nb * sizeof(*dd.bucket));
	if (dd.ring == NULL || dd.bucket == NULL)
		abort();
	memset(dd.bucket, 0xff, nb * sizeof(*dd.bucket));
}

int
dedup_enabled(void)
{
	return dd.cap > 0;
}

/* Forget the oldest id. */
static void
evict(void)
{
	struct slot *s = &dd.ring[dd.head];
	uint32_t *pp = &dd.bucket[s->h & dd.mask];

	while (*pp != (uint32_t)dd.head)
		pp = &dd.ring[*pp].next;
	*pp = s->next;
	free(s->id);
	s->id = NULL;
	dd.head = (dd.head + 1) % dd.cap;
	dd.n--;
}

int
dedup_seen(const char *id, size_t n, unsigned long long seq)
{
	uint32_t h, k;
	struct slot *s;

	if (n > ACK_ID_MAX)	/* never remembered: see dedup.h */
		return 0;
	h = (uint32_t)hash_bytes(id, n);
	for (k = dd.bucket[h & dd.mask]; k != NONE; k = dd.ring[k].next) {
		s = &dd.ring[k];
		if (s->h == h && s->len == n && memcmp(s->id, id, n) == 0) {
			dd.dropped++;
			return 1;
		}
	}
	if (dd.n == dd.cap)
		evict();
	k = (uint32_t)((dd.head + dd.n) % dd.cap);
	s = &dd.ring[k];
	if ((s->id = malloc(n + 1)) == NULL)
		abort();
	memcpy(s->id, id, n);
	s->id[n] = '\0';
	s->len = n;
	s->seq = seq;
	s->h = h;
	s->next = dd.bucket[h & dd.mask];
	dd.bucket[h & dd.mask] = k;
	dd.n++;
	return 0;
}

static int
damaged(char *err, size_t errlen, const char *path, size_t line, const char *why)
{
	snprintf(err, errlen, "--dedup-state %s: line %zu: %s: the file is damaged; "
	    "remove it to start with an empty window", path, line, why);
	return -1;
}

int
dedup_load(const char *path, char *err, size_t errlen)
{
	FILE *f;
	buf text = BUF_INIT, id = BUF_INIT;
	char chunk[65536], jerr[128];
	const char *p, *e, *nl;
	size_t n, line = 0, count = 0;
	unsigned long long want;
	struct json_index *ix;
	struct jv v;
	int rc = -1, ended = 0;

	dd.path = path;
	if ((f = fopen(path, "r")) == NULL) {
		if (errno == ENOENT)
			return 0;	/* the first run */
		snprintf(err, errlen, "--dedup-state %s: %s", path, strerror(errno));
		return -1;
	}
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		buf_put(&text, chunk, n);
	if (ferror(f)) {
		snprintf(err, errlen, "--dedup-state %s: %s", path, strerror(errno));
		fclose(f);
		buf_free(&text);
		return -1;
	}
	fclose(f);
	if ((ix = malloc(sizeof(*ix))) == NULL)
		abort();
	p = text.p;
	e = text.p + text.len;
	if (text.len > 0 && e[-1] != '\n') {
		for (nl = p; nl < e; nl++)
			line += *nl == '\n';
		damaged(err, errlen, path, line + 1, "incomplete last line");
		goto out;
	}
	for (; p < e; p = nl + 1) {
		nl = memchr(p, '\n', (size_t)(e - p));
		n = (size_t)(nl - p);
		line++;
		if (line == 1) {
			if (n != strlen(MAGIC) || memcmp(p, MAGIC, n) != 0) {
				damaged(err, errlen, path, line, "not a vk-route-dedup file");
				goto out;
			}
			continue;
		}
		if (ended) {
			damaged(err, errlen, path, line, "text after the end line");
			goto out;
		}
		if (n > 4 && memcmp(p, "end ", 4) == 0) {
			char num[32], *end;

			if (n - 4 >= sizeof(num)) {
				damaged(err, errlen, path, line, "bad end line");
				goto out;
			}
			memcpy(num, p + 4, n - 4);
			num[n - 4] = '\0';
			errno = 0;
			want = strtoull(num, &end, 10);
			if (*end != '\0' || errno != 0 || num[0] < '0' || num[0] > '9') {
				damaged(err, errlen, path, line, "bad end line");
				goto out;
			}
			if (want != count) {
				snprintf(jerr, sizeof(jerr), "the end line counts %llu ids, "
				    "the file holds %zu", want, count);
				damaged(err, errlen, path, line, jerr);
				goto out;
			}
			ended = 1;
			continue;
		}
		if (json_check(p, n, &v, ix, jerr, sizeof(jerr)) != 0 ||
		    v.t != JSON_STRING) {
			damaged(err, errlen, path, line, "not a JSON string");
			goto out;
		}
		buf_reset(&id);
		json_unescape_raw(v.p, v.n, &id);
		dedup_seen(id.p ? id.p : "", id.len, 0);
		count++;
	}
	if (line == 0) {
		damaged(err, errlen, path, 1, "empty file");
		goto out;
	}
	if (!ended) {
		damaged(err, errlen, path, line, "no end line (the file was cut short)");
		goto out;
	}
	dd.dropped = 0;
	rc = 0;
	log_info("--dedup-state %s: %zu id%s loaded", path, dd.n, dd.n == 1 ? "" : "s");
out:
	free(ix);
	buf_free(&id);
	buf_free(&text);
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
	for (k = 0; fd != -1 && k < dd.n; k++) {
		const struct slot *s = &dd.ring[(dd.head + k) % dd.cap];

		if (s->seq > done)
			break;
		jw_str(&o.b, s->id, s->len);
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
	return dd.n;
}

size_t
dedup_cap(void)
{
	return dd.cap;
}

unsigned long
dedup_dropped(void)
{
	return dd.dropped;
}

void
dedup_free(void)
{
	size_t k;

	for (k = 0; k < dd.cap && dd.ring != NULL; k++)
		free(dd.ring[k].id);
	free(dd.ring);
	free(dd.bucket);
	memset(&dd, 0, sizeof(dd));
}
