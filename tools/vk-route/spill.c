/* spill.c - dead-letter files: what cannot be delivered, kept under --spill DIR. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include "dest.h"
#include "file.h"
#include "hash.h"
#include "jsonw.h"
#include "log.h"
#include "spill.h"

/*
 * SPILL/NAME.ndjson, where NAME is short and unique whatever the
 * destination text: up to 40 readable bytes of the label (others as '_')
 * and 16 hex digits of a hash of the whole text.
 */
static char *
spill_name(const char *text, unsigned long long h, const char *suffix)
{
	buf path = BUF_INIT;
	const char *s;
	char hex[24];
	int k;

	buf_puts(&path, dest_opt.spill_dir);
	buf_putc(&path, '/');
	for (s = text, k = 0; *s && k < 40; s++, k++) {
		int ok = (*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		    (*s >= '0' && *s <= '9') || *s == '-';
		buf_putc(&path, ok ? *s : '_');
	}
	snprintf(hex, sizeof(hex), "-%016llx", h);
	buf_puts(&path, hex);
	buf_puts(&path, suffix);
	return buf_cstr(&path);
}

/* Append bytes to a spill file of d (suffix ".ndjson"), opened on first use. */
static int
spill_to(struct dest *d, int *fd, char **pathp, const char *suffix,
    const char *p, size_t n)
{
	if (*fd == -1) {
		free(*pathp);
		*pathp = spill_name(d->label, d->label_hash, suffix);
		*fd = open(*pathp, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
		if (*fd == -1) {
			log_warn("%s: cannot open the spill file %s: %s",
			    d->label, *pathp, strerror(errno));
			return -1;
		}
	}
	if (file_write_all(*fd, p, n) == -1) {
		log_warn("%s: cannot write the spill file %s: %s",
		    d->label, *pathp, strerror(errno));
		return -1;
	}
	return 0;
}

/* Append one line (a newline is added) to d's dead-letter file. */
int
spill(struct dest *d, const char *p, size_t n)
{
	struct iovec iov[2];
	ssize_t w;

	if (d->spill_fd == -1 && spill_to(d, &d->spill_fd, &d->spill_path, ".ndjson",
	    "", 0) == -1)
		return -1;
	iov[0].iov_base = (void *)p;
	iov[0].iov_len = n;
	iov[1].iov_base = (void *)"\n";
	iov[1].iov_len = 1;
	/* Small lines go in one write, whole; others in pieces. */
	w = writev(d->spill_fd, iov, 2);
	if (w == (ssize_t)n + 1)
		return 0;
	if (w >= 0 && (size_t)w < n)
		return spill_to(d, &d->spill_fd, &d->spill_path, ".ndjson",
		    p + w, n - (size_t)w) == 0 &&
		    spill_to(d, &d->spill_fd, &d->spill_path, ".ndjson", "\n", 1) == 0 ? 0 : -1;
	if (w == (ssize_t)n)
		return spill_to(d, &d->spill_fd, &d->spill_path, ".ndjson", "\n", 1);
	log_warn("%s: cannot write the spill file %s: %s", d->label, d->spill_path,
	    strerror(errno));
	return -1;
}

/* Refused for good: kept with the reason with --spill (0), else -1. */
int
keep_refused(struct dest *d, const char *line, size_t n, int status,
    const char *why)
{
	buf b = BUF_INIT;
	int rc;

	if (dest_opt.spill_dir == NULL)
		return -1;
	buf_puts(&b, "{");
	if (status != 0) {
		buf_puts(&b, "\"status\":");
		jw_int(&b, status);
		buf_puts(&b, ",");
	}
	buf_puts(&b, "\"error\":");
	jw_str(&b, why, strlen(why));
	buf_puts(&b, ",\"event\":");
	buf_put(&b, line, n);
	buf_puts(&b, "}\n");
	rc = spill_to(d, &d->reject_fd, &d->reject_path, ".rejected.ndjson",
	    b.p, b.len);
	buf_free(&b);
	return rc;
}


int
dest_keep_refused(const char *text, const char *line, size_t n, const char *why,
    char **where)
{
	buf b = BUF_INIT;
	int fd, rc = -1;

	*where = NULL;
	if (dest_opt.spill_dir == NULL)
		return -1;
	buf_puts(&b, "{\"error\":");
	jw_str(&b, why, strlen(why));
	buf_puts(&b, ",\"event\":");
	buf_put(&b, line, n);
	buf_puts(&b, "}\n");
	*where = spill_name(text, (unsigned long long)hash_bytes(text, strlen(text)),
	    ".rejected.ndjson");
	/* Rare (one per refused Event): opened for each, nothing kept open. */
	if ((fd = open(*where, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644)) != -1) {
		rc = file_write_all(fd, b.p, b.len);
		if (close(fd) == -1)
			rc = -1;
	}
	if (rc == -1)
		log_warn("cannot write the spill file %s: %s", *where, strerror(errno));
	buf_free(&b);
	return rc;
}
