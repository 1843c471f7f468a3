/*
 * metrics.h - a program's counters as a Prometheus text file.
 *
 * The node_exporter textfile collector's convention: FILE.prom in its
 * directory, replaced whole (a temp file beside it, renamed over it), so a
 * scrape never reads half of one. A program given --metrics FILE arms the
 * timer once; the timer sets a bit in the program's own signal flag, and
 * where the program handles that flag (and at exit) it builds the text and
 * writes it:
 *
 *	metrics_counter(m, "vkpipe_poll_updates_total", "Updates written.", n);
 *	metrics_family(m, "vkpipe_route_delivered_total", "counter", "...");
 *	metrics_value(m, "vkpipe_route_delivered_total", n, "rule", r, "dest", d, NULL);
 *	metrics_flush(m);
 *
 * Label values come from rules and event data: escaped as the format wants
 * (backslash, double quote, newline), any bytes otherwise. The names are
 * ours and documented in vkpipe(1), STATISTICS.
 */
#ifndef VKPIPE_METRICS_H
#define VKPIPE_METRICS_H

#include <signal.h>
#include <stddef.h>

#include "buf.h"

/* The bit the timer sets in the caller's flag (SIGUSR1 keeps bit 1). */
#define METRICS_DUE	2

typedef struct metrics {
	const char	*path;		/* NULL: no metrics */
	buf		 b;		/* the text being built */
	int		 failed;	/* the last write failed (said once) */
} metrics;

/*
 * Check that FILE could be written (common/file's file_writable: the
 * nearest directory that exists), creating nothing: 0, or -1 with the
 * reason in err.
 */
int	metrics_check(const char *path, char *err, size_t n);
/*
 * Start: path (NULL: off, and nothing else happens), and SIGALRM every
 * interval seconds setting *flag |= METRICS_DUE, without SA_RESTART, so a
 * blocking read or poll returns. A program that blocks signals outside its
 * wait blocks SIGALRM with them; one with a handler of its own (a self-pipe)
 * passes flag NULL and handles SIGALRM itself. 0, or -1 with the reason in err.
 */
int	metrics_open(metrics *m, const char *path, double interval,
	    volatile sig_atomic_t *flag, char *err, size_t n);
/* The # HELP and # TYPE lines of a family ("counter", "gauge"). */
void	metrics_family(metrics *m, const char *name, const char *type, const char *help);
/* One sample: labels as name, value pairs, then NULL. */
void	metrics_value(metrics *m, const char *name, double v, ...);
/* A family of one sample with no labels: its # lines, then the sample. */
void	metrics_counter(metrics *m, const char *name, const char *help, double v);
void	metrics_gauge(metrics *m, const char *name, const char *help, double v);
/*
 * Replace the file with the text built since the last write. 0, or -1
 * with the reason in err (the text is dropped either way: the next
 * interval builds it again).
 */
int	metrics_write(metrics *m, char *err, size_t n);
/*
 * metrics_write for a program's interval: a failure is warned about once
 * (log_warn), not again until a write has succeeded, so that a full disk
 * does not fill the log every interval. 0, or -1 if this write failed.
 */
int	metrics_flush(metrics *m);
/* Stop the timer; free. */
void	metrics_close(metrics *m);

/*
 * Counters keyed by two label values (vk-call: method and error code),
 * bounded: past MTALLY_MAX pairs, a new pair counts under "other" for the
 * first, so that hostile names cannot grow the file without end.
 */
#define MTALLY_MAX	256
typedef struct mtally {
	struct mtally_e { char *a, *b; unsigned long long n; } *e;
	size_t		 n, cap;
} mtally;

void	mtally_add(mtally *t, const char *a, const char *b);
/* One sample per pair: name{la="a",lb="b"} n (the family written before). */
void	mtally_values(metrics *m, const mtally *t, const char *name, const char *la,
	    const char *lb);
void	mtally_free(mtally *t);

/*
 * Concatenate the files (a missing one is skipped: its program has not
 * written yet) into path, replaced whole as above, with label="value" added
 * to every sample (label NULL: none), so that two services' files in one
 * collector directory do not clash. 0, or -1 with the reason in err.
 */
int	metrics_merge(const char *path, const char *const *files, size_t nfiles,
	    const char *label, const char *value, char *err, size_t n);

#endif
