/*
 * vk-normalize - turn raw VK updates into Events (vk-event(7)).
 *
 * vk-normalize [--offline] [--prefix CHARS] [--event-types LIST] [--reject FILE]
 *              [--max-line BYTES] [--unbuffered] [--stats] [--token-file FILE]
 *              [--api-url URL] [--cache-ttl S] [--cache-size N]
 *              [--batch-window MS] [--rate N] [--tries N] [--check] [FILE ...]
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "evtype.h"
#include "file.h"
#include "held.h"
#include "json.h"
#include "line.h"
#include "log.h"
#include "metrics.h"
#include "mono.h"
#include "names.h"
#include "normalize.h"
#include "opt.h"
#include "out.h"
#include "ratelimit.h"
#include "token.h"
#include "tool.h"

static const char usage_text[] =
"usage: vk-normalize [--offline] [--prefix CHARS] [--event-types LIST]\n"
"                    [--reject FILE] [--max-line BYTES] [-qu] [--stats] [--token-file FILE]\n"
"                    [--api-url URL] [--cache-ttl SECONDS] [--cache-size N]\n"
"                    [--batch-window MS] [--rate N] [--tries N] [--check]\n"
"                    [--metrics FILE [--metrics-interval SECS]] [FILE ...]\n";

static const char help_text[] =
"Read raw VK updates (or whole long-poll responses), one JSON object per line,\n"
"from the FILEs or standard input; write one Event per line (see vk-event(7)).\n"
"Names are asked of the VK API when a token is given (VK_TOKEN or --token-file).\n"
"\n"
"      --offline           never ask the VK API: name fields are null\n"
"      --prefix CHARS      characters that start a command, also after a mention\n"
"                          of the community (default \"/!\")\n"
"      --event-types LIST  write only these event_types (comma-separated, e.g.\n"
"                          command,message,button,reaction); others are dropped\n"
"      --keep-unknown      no effect: every VK type becomes an Event\n"
"      --reject FILE       append rejected lines to FILE verbatim\n"
"      --max-line BYTES    reject longer lines (default 16777216)\n"
"  -u, --unbuffered        write each Event at once (default: adaptive)\n"
"  -q, --quiet             no summary line when lines were only dropped\n"
"      --stats             print counters at exit (and always on SIGUSR1)\n"
"      --metrics FILE      keep the counters in FILE, Prometheus text, replaced\n"
"                          every --metrics-interval seconds (15) and at exit\n"
"      --token-file FILE   read the VK token from FILE (else VK_TOKEN)\n"
"      --api-url URL       VK API base (VK_API_URL; https://api.vk.com/method)\n"
"      --cache-ttl SECONDS how long a name is kept (default 600)\n"
"      --cache-size N      how many names are kept (default 100000)\n"
"      --batch-window MS   longest an Event waits for others to share a request (20)\n"
"      --rate N            API requests per second at most (default 20)\n"
"      --tries N           attempts per API request before names stay null (3)\n"
"      --check             check the options, the token and the reject file,\n"
"                          read nothing and write nothing\n"
"  -h, --help              show this help\n"
"      --version           show the version\n"
"\n"
"Exit status: 0 all lines read, 1 some lines rejected or an I/O error, 2 usage,\n"
"3 configuration (token file, reject file).\n";

struct counts {
	unsigned long long lines, events, rejected, dropped;
};

static struct counts cnt;
static out sout, rej;
static int have_rej;
static norm_opts nopt = { "/!", NULL, NULL, NULL };
static names nm;
static int online;
static volatile sig_atomic_t want_stats;	/* 1: SIGUSR1; METRICS_DUE: the timer */
static metrics mx;			/* --metrics */
static int quiet;	/* -q: no summary line on success */

static held q;		/* lines waiting for their names */

static void
on_usr1(int sig)
{
	(void)sig;
	want_stats |= 1;
}

static void
print_stats(void)
{
	log_note("stats: input lines=%llu events=%llu rejected=%llu dropped=%llu",
	    cnt.lines, cnt.events, cnt.rejected, cnt.dropped);
	if (online)
		log_note("stats: api requests=%llu cache_hits=%llu cache_misses=%llu "
		    "retries=%llu unavailable=%llu cached=%zu",
		    nm.st.requests, nm.st.hits, nm.st.misses, nm.st.retries,
		    nm.st.unavailable, cache_count(nm.c));
}

/* The counters into the --metrics file (vkpipe(1), STATISTICS). */
static void
write_metrics(void)
{
	static unsigned long long seen;
	static time_t last;

	if (mx.path == NULL)
		return;
	if (cnt.events != seen) {	/* the clock read per write, not per Event */
		seen = cnt.events;
		last = time(NULL);
	}
	metrics_counter(&mx, "vkpipe_normalize_lines_total",
	    "Input lines read.", (double)cnt.lines);
	metrics_counter(&mx, "vkpipe_normalize_events_total", "Events written.",
	    (double)cnt.events);
	metrics_counter(&mx, "vkpipe_normalize_rejected_total",
	    "Input lines rejected.", (double)cnt.rejected);
	metrics_counter(&mx, "vkpipe_normalize_dropped_total",
	    "Updates dropped (types left out by --event-types, failed poll replies).",
	    (double)cnt.dropped);
	if (online) {
		metrics_counter(&mx, "vkpipe_normalize_api_requests_total",
		    "VK API requests for names.", (double)nm.st.requests);
		metrics_counter(&mx, "vkpipe_normalize_api_retries_total",
		    "VK API requests for names tried again.",
		    (double)nm.st.retries);
		metrics_counter(&mx, "vkpipe_normalize_names_unavailable_total",
		    "Names left null: the API did not answer.",
		    (double)nm.st.unavailable);
		metrics_family(&mx, "vkpipe_normalize_cache_lookups_total", "counter",
		    "Name cache lookups, by result.");
		metrics_value(&mx, "vkpipe_normalize_cache_lookups_total",
		    (double)nm.st.hits, "result", "hit", NULL);
		metrics_value(&mx, "vkpipe_normalize_cache_lookups_total",
		    (double)nm.st.misses, "result", "miss", NULL);
		metrics_gauge(&mx, "vkpipe_normalize_cached_names",
		    "Names in the cache.", (double)cache_count(nm.c));
	}
	metrics_gauge(&mx, "vkpipe_normalize_last_event_timestamp_seconds",
	    "When the last Event was written, to within the interval (0: never).",
	    (double)last);
	metrics_flush(&mx);
}

/* SIGUSR1: the stats lines; the --metrics timer: the file. */
static void
take_stats(void)
{
	int w = want_stats;

	want_stats = 0;
	if (w & ~METRICS_DUE)
		print_stats();
	if (w & METRICS_DUE)
		write_metrics();
}

static void
flush_all(void *arg)
{
	(void)arg;
	out_flush(&sout);
	if (have_rej)
		out_flush(&rej);
}

static void
reject(const char *where, unsigned long lineno, long upd, const char *why,
    const char *text, size_t n)
{
	cnt.rejected++;
	if (upd >= 0)
		log_warn("%sline %lu: update %ld: %s", where, lineno, upd + 1, why);
	else
		log_warn("%sline %lu: %s", where, lineno, why);
	if (have_rej && text != NULL) {
		buf_put(&rej.b, text, n);
		buf_putc(&rej.b, '\n');
		out_done(&rej);
	}
}

/* What to do with each update of a line. */
enum pass { EMIT, WANT };
static unsigned long line_need;	/* the WANT pass: the line's names ticket */

/*
 * A line json_check() accepted: its value and the index of its members.
 * No token tree: the transform reads a few members and copies the rest
 * from the text.
 */
typedef struct doc {
	struct jv		 root;
	struct json_index	 ix;
} doc;

static void
one_update(const struct norm_upd *u, const char *where, unsigned long lineno,
    long k, enum pass pass)
{
	const char *why = NULL, *raw;
	int64_t uuid, bpid;
	size_t n;

	if (pass == WANT) {
		if (norm_ids(u, &nopt, &uuid, &bpid)) {
			unsigned long t = names_want(&nm, uuid, bpid);

			if (t > line_need)
				line_need = t;
		}
		return;
	}
	switch (norm_update(u, &nopt, &sout.b, &why)) {
	case NORM_EVENT:
		cnt.events++;
		out_done(&sout);
		break;
	case NORM_DROP:
		cnt.dropped++;
		break;
	case NORM_REJECT:
		raw = u->v.p;
		n = u->v.n;
		if (u->v.t == JSON_STRING) {	/* keep the quotes */
			raw--;
			n += 2;
		}
		reject(where, lineno, k, why, raw, n);
		break;
	}
}

/*
 * Check a line; reject it (returning -1) when it is no JSON object, and
 * say so for a blank line (1). Returns 0 when d holds the line's object.
 */
static int
parse_line(doc *d, const char *where, unsigned long lineno,
    const char *p, size_t n)
{
	char err[128], why[192];
	int rc;

	rc = json_check(p, n, &d->root, &d->ix, err, sizeof(err));
	if (rc == 1)
		return 1;
	if (rc == -1) {
		snprintf(why, sizeof(why), "not JSON: %s", err);
		reject(where, lineno, -1, why, p, n);
		return -1;
	}
	if (d->root.t != JSON_OBJECT) {
		reject(where, lineno, -1, "not a JSON object", p, n);
		return -1;
	}
	return 0;
}

/*
 * Hand each update of a checked line (one, or a whole poll response's) to
 * one_update(). Lines that hold no update are counted or rejected on the
 * EMIT pass only. Returns -1 for a line rejected whole.
 */
static int
each_update(const doc *d, const char *where, unsigned long lineno,
    const char *p, size_t n, enum pass pass)
{
	struct norm_upd line = { d->root, &d->ix }, u = { { JSON_NONE, NULL, 0 }, NULL };
	struct jv ups;
	const char *cur = NULL;
	long k;

	ups = norm_member(&line, "updates", 7);
	if (ups.t == JSON_NONE || norm_member(&line, "type", 4).t != JSON_NONE) {
		if (ups.t == JSON_NONE && norm_member(&line, "type", 4).t == JSON_NONE &&
		    norm_member(&line, "failed", 6).t != JSON_NONE) {
			if (pass == EMIT)
				cnt.dropped++;	/* a {"failed":N} poll reply */
			return 0;
		}
		one_update(&line, where, lineno, -1, pass);
		return 0;
	}
	if (ups.t != JSON_ARRAY) {
		if (pass == EMIT)
			reject(where, lineno, -1, "\"updates\" is not an array", p, n);
		return -1;
	}
	/* Not indexed: each is found in the text by norm_update(). */
	for (k = 0; jv_next(&ups, &cur, &u.v, NULL); k++)
		one_update(&u, where, lineno, k, pass);
	return 0;
}

static void
one_line(doc *d, const char *where, unsigned long lineno,
    const char *p, size_t n)
{
	if (parse_line(d, where, lineno, p, n) == 0)
		each_update(d, where, lineno, p, n, EMIT);
}

/* Write the Events of the queued lines whose names are in, in order. */
static void
emit_ready(doc *d, const char *where)
{
	nm.now = mono_now();
	while (held_any(&q) && names_ready(&nm, q.need[q.head])) {
		one_line(d, where, q.lineno[q.head], q.text.p + q.off[q.head],
		    q.len[q.head]);
		held_pop(&q);
	}
}

static void
online_line(doc *d, const char *where, unsigned long lineno,
    const char *p, size_t n)
{
	if (parse_line(d, where, lineno, p, n) != 0)
		return;
	nm.now = mono_now();
	line_need = 0;
	if (each_update(d, where, lineno, p, n, WANT) == -1) {
		if (held_any(&q))	/* its verdict must not overtake queued lines */
			goto queue;
		each_update(d, where, lineno, p, n, EMIT);
		return;
	}
	if (!held_any(&q) && names_ready(&nm, line_need)) {
		/* Nothing to wait for: d holds the line, parsed once. */
		each_update(d, where, lineno, p, n, EMIT);
		return;
	}
queue:
	held_push(&q, p, n, lineno, line_need);	/* serve() left room */
}

/*
 * Between lines: take in the names that came, write the Events they were
 * waiting for, send what is due. Return when the next line may be read:
 * one is at hand and the queue has room, or nothing waits for the API (a
 * read may then block). At the end of the input (eof), return once every
 * queued Event is out.
 */
static void
serve(linerd *r, doc *d, const char *where, int eof)
{
	int idle, ms;

	for (;;) {
		idle = eof || !line_ready(r);
		names_run(&nm, idle);
		emit_ready(d, where);
		if (want_stats)
			take_stats();
		if (sout.err || (!held_any(&q) && (eof || !names_busy(&nm))))
			return;
		if (!idle && !held_full(&q))
			return;
		/* Nothing to read, or no room for it: wait for the API (or input). */
		flush_all(NULL);
		ms = names_timeout(&nm);
		if (ms < 0 || ms > 1000)
			ms = 1000;
		names_wait(&nm, eof || held_full(&q) ? -1 : r->fd, ms);
	}
}

/* Returns 0, or -1 if the input could not be read. */
static int
run(int fd, const char *name, size_t maxline, doc *d)
{
	linerd r;
	const char *p;
	size_t n;
	int st, ret = 0;
	char where[512] = "";

	if (name != NULL)
		snprintf(where, sizeof(where), "%s: ", name);
	line_open(&r, fd, maxline);
	r.wait_hook = flush_all;
	r.intr = &want_stats;
	while (!sout.err) {
		if (online)
			serve(&r, d, where, 0);
		if ((st = line_next(&r, &p, &n)) == LINE_EOF)
			break;
		if (want_stats)
			take_stats();
		if (st == LINE_INTR)
			continue;
		cnt.lines++;
		if (st == LINE_OK) {
			if (online)
				online_line(d, where, r.lineno, p, n);
			else
				one_line(d, where, r.lineno, p, n);
		} else if (st == LINE_TOOLONG) {
			char why[128];

			snprintf(why, sizeof(why), "longer than %zu bytes "
			    "(skipped; not kept in the reject file)", maxline);
			reject(where, r.lineno, -1, why, NULL, 0);
		} else {
			log_warn("%s%s", where, strerror(errno));
			ret = -1;
			break;
		}
	}
	if (online)
		serve(&r, d, where, 1);
	line_close(&r);
	return ret;
}

/* Names from the VK API when a token is given. -1: a configuration error, said. */
static int
go_online(const char *tokfile, struct names_conf *nc)
{
	char *token = NULL, err[256];

	if (tool_token(tokfile, 0, &token) == -1)
		return -1;
	if (token == NULL)
		return 0;	/* no token: names stay null, as with --offline */
	if ((nc->api_url = tool_api_url(nc->api_url)) == NULL) {
		tool_token_free(token);
		return -1;
	}
	online = 1;
	nc->token = token;
	if (names_init(&nm, nc, err, sizeof(err)) == -1) {
		log_warn("cannot set up the VK API client: %s", err);
		return -1;
	}
	nopt.names = names_lookup;
	nopt.names_arg = &nm;
	tool_token_free(token);
	nc->token = NULL;
	return 0;
}

static int
open_reject(const char *path, int unbuffered)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);

	if (fd == -1) {
		log_warn("cannot open reject file %s: %s", path, strerror(errno));
		return -1;
	}
	out_open(&rej, fd);
	rej.unbuffered = unbuffered;
	have_rej = 1;
	return 0;
}

/* Each FILE in turn ("-" and none: standard input). 1 if one could not be read. */
static int
read_inputs(int argc, char **argv, size_t maxline, doc *d)
{
	int fd, status = 0;

	if (argc == 0 && run(STDIN_FILENO, NULL, maxline, d) == -1)
		status = EXIT_PARTIAL;
	for (; argc > 0 && !sout.err; argc--, argv++) {
		if (strcmp(argv[0], "-") == 0) {
			if (run(STDIN_FILENO, NULL, maxline, d) == -1)
				status = EXIT_PARTIAL;
			continue;
		}
		if ((fd = open(argv[0], O_RDONLY | O_CLOEXEC)) == -1) {
			log_warn("%s: %s", argv[0], strerror(errno));
			status = EXIT_PARTIAL;
			continue;
		}
		if (run(fd, argv[0], maxline, d) == -1)
			status = EXIT_PARTIAL;
		close(fd);
	}
	return status;
}

/* Flush, report, free; the exit status from what happened. */
static int
finish(int status, const char *rejpath, int stats)
{
	flush_all(NULL);
	held_free(&q);
	if (sout.err && sout.err != EPIPE) {
		log_warn("write error: %s", strerror(sout.err));
		status = EXIT_PARTIAL;
	}
	if (have_rej && rej.err) {
		log_warn("cannot write reject file %s: %s", rejpath, strerror(rej.err));
		status = EXIT_PARTIAL;
	}
	if (sout.err != EPIPE) {	/* the reader went away: as `head` expects */
		if (cnt.rejected || (cnt.dropped && !quiet))	/* -q: a failure only */
			log_warn("%llu lines read, %llu events written, %llu rejected, "
			    "%llu dropped (types left out by --event-types and failed poll replies)",
			    cnt.lines, cnt.events, cnt.rejected, cnt.dropped);
		if (stats || (want_stats & ~METRICS_DUE))
			print_stats();
		if (cnt.rejected)
			status = EXIT_PARTIAL;
	}
	write_metrics();
	metrics_close(&mx);
	if (online)
		names_free(&nm);
	out_close(&sout);
	if (have_rej) {
		out_close(&rej);
		close(rej.fd);
	}
	return status;
}

/*
 * --event-types names: a name no Event carries is most likely a typo, but
 * VK adds types, so it is said and kept.
 */
static void
warn_types(const char *list)
{
	const char *p, *e, *near;
	size_t n;

	for (p = list;; p = e + 1) {
		e = strchr(p, ',');
		n = e ? (size_t)(e - p) : strlen(p);
		switch (evt_event_name(p, n, &near)) {
		case 0:
			log_warn("--event-types: \"%.*s\" is no event_type vk-normalize "
			    "knows (nearest: %s)", (int)n, p, near);
			break;
		case -1:
			log_warn("--event-types: \"%.*s\" is never an event_type "
			    "(message_new gives command or message, message_event "
			    "button, message_reaction_event reaction)", (int)n, p);
			break;
		}
		if (e == NULL)
			break;
	}
}

/* --check: could the reject file be opened for appending (not made now)? */
static int
check_done(const char *rejpath)
{
	if (online)
		names_free(&nm);
	if (rejpath == NULL || file_creatable(rejpath) == 0)
		return 0;
	log_warn("cannot open reject file %s: %s", rejpath, strerror(errno));
	return EXIT_CONFIG;
}

int
main(int argc, char *argv[])
{
	enum { O_OFFLINE = 256, O_PREFIX, O_KEEP, O_REJECT, O_MAXLINE, O_STATS,
	    O_TOKENFILE, O_APIURL, O_APIVER, O_TTL, O_CSIZE, O_WINDOW, O_RATE,
	    O_TRIES, O_VERSION, O_CHECK, O_TOKEN, O_METRICS, O_METRICS_INT, O_TYPES };
	static const struct option longopts[] = {
		{ "offline",	  no_argument,	     NULL, O_OFFLINE },
		{ "prefix",	  required_argument, NULL, O_PREFIX },
		{ "keep-unknown", no_argument,	     NULL, O_KEEP },
		{ "event-types",  required_argument, NULL, O_TYPES },
		{ "reject",	  required_argument, NULL, O_REJECT },
		{ "max-line",	  required_argument, NULL, O_MAXLINE },
		{ "unbuffered",	  no_argument,	     NULL, 'u' },
		{ "quiet",	  no_argument,	     NULL, 'q' },
		{ "stats",	  no_argument,	     NULL, O_STATS },
		{ "token-file",	  required_argument, NULL, O_TOKENFILE },
		{ "token",	  required_argument, NULL, O_TOKEN },
		{ "api-url",	  required_argument, NULL, O_APIURL },
		{ "api-version",  required_argument, NULL, O_APIVER },
		{ "cache-ttl",	  required_argument, NULL, O_TTL },
		{ "cache-size",	  required_argument, NULL, O_CSIZE },
		{ "batch-window", required_argument, NULL, O_WINDOW },
		{ "rate",	  required_argument, NULL, O_RATE },
		{ "tries",	  required_argument, NULL, O_TRIES },
		{ "check",	  no_argument,	     NULL, O_CHECK },
		{ "metrics",	  required_argument, NULL, O_METRICS },
		{ "metrics-interval", required_argument, NULL, O_METRICS_INT },
		{ "help",	  no_argument,	     NULL, 'h' },
		{ "version",	  no_argument,	     NULL, O_VERSION },
		{ NULL, 0, NULL, 0 }
	};
	const char *rejpath = NULL, *tokfile = NULL, *metrics_path = NULL;
	double metrics_int = 0;
	char err[512];
	struct names_conf nc = { NULL, VKAPI_DEFAULT_VERSION, NULL, 100000, 600,
	    20, 3, 10000, 20 };
	size_t maxline = LINE_MAX_DEFAULT;
	opt op = { "" };
	int c, status, unbuffered = 0, offline = 0, stats = 0, check = 0, token_argv = 0;
	struct sigaction sa;
	static doc d;	/* 3 KB: its index */

	tool_init(argv[0], usage_text);
	while ((c = getopt_long(argc, argv, "uqh", longopts, NULL)) != -1) {
		switch (c) {
		case O_OFFLINE: offline = 1; break;
		case O_PREFIX: nopt.prefix = optarg; break;
		case O_KEEP: break;	/* every type is kept now: for old command lines */
		case O_TYPES: nopt.keep = optarg; break;
		case O_REJECT: rejpath = optarg; break;
		case O_MAXLINE:
			maxline = (size_t)opt_num(&op, "--max-line", optarg, 1, 1L << 30);
			break;
		case 'u': unbuffered = 1; break;
		case 'q': quiet = 1; break;
		case O_STATS: stats = 1; break;
		case O_TOKENFILE: tokfile = optarg; break;
		case O_TOKEN: token_argv = 1; break;
		case O_APIURL: nc.api_url = optarg; break;
		case O_APIVER: nc.api_version = optarg; break;
		case O_TTL:
			nc.cache_ttl = (double)opt_num(&op, "--cache-ttl", optarg, 1, 86400 * 30);
			break;
		case O_CSIZE:
			nc.cache_size = (size_t)opt_num(&op, "--cache-size", optarg, 1, 10000000);
			break;
		case O_WINDOW: nc.window_ms = opt_num(&op, "--batch-window", optarg, 0, 10000); break;
		case O_RATE: nc.rate = (int)opt_num(&op, "--rate", optarg, 1, 1000); break;
		case O_TRIES: nc.tries = (int)opt_num(&op, "--tries", optarg, 1, 100); break;
		case 'h':
			fputs(usage_text, stdout);
			fputs(help_text, stdout);
			return EXIT_OK;
		case O_CHECK: check = 1; break;
		case O_METRICS: metrics_path = optarg; break;
		case O_METRICS_INT:
			metrics_int = opt_secs(&op, "--metrics-interval", optarg, 0.01, 86400);
			break;
		case O_VERSION:
			puts("vk-normalize " VKPIPE_VERSION);
			return EXIT_OK;
		default:
			usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (token_argv)
		return warn_usage(TOKEN_ARGV_MSG);
	if (op.err[0])
		return warn_usage(op.err);
	if (metrics_int && metrics_path == NULL)
		return warn_usage("--metrics-interval only goes with --metrics FILE");
	if (nopt.keep != NULL)
		warn_types(nopt.keep);

	signal(SIGPIPE, SIG_IGN);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_usr1;	/* no SA_RESTART: a waiting read wakes */
	sigemptyset(&sa.sa_mask);
	sigaction(SIGUSR1, &sa, NULL);

	if (!offline && go_online(tokfile, &nc) == -1)
		return EXIT_CONFIG;
	if (metrics_path && metrics_check(metrics_path, err, sizeof(err)) == -1) {
		log_warn("%s", err);
		if (online)
			names_free(&nm);
		return EXIT_CONFIG;
	}
	if (check)	/* the reject file would be made: it must be possible */
		return check_done(rejpath);
	out_open(&sout, STDOUT_FILENO);
	sout.unbuffered = unbuffered;
	if (rejpath != NULL && open_reject(rejpath, unbuffered) == -1)
		return EXIT_CONFIG;

	if (metrics_open(&mx, metrics_path, metrics_int ? metrics_int : 15, &want_stats,
	    err, sizeof(err)) == -1)
		log_warn("%s", err);	/* checked above: a timer that will not start */
	write_metrics();
	status = read_inputs(argc, argv, maxline, &d);
	return finish(status, rejpath, stats);
}
