/*
 * vk-normalize - turn raw VK updates into Events (vk-event(7)).
 *
 * vk-normalize [--offline] [--prefix CHARS] [--keep-unknown] [--reject FILE]
 *              [--max-line BYTES] [--unbuffered] [FILE ...]
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "json.h"
#include "line.h"
#include "log.h"
#include "normalize.h"
#include "out.h"

static const char usage_text[] =
"usage: vk-normalize [--offline] [--prefix CHARS] [--keep-unknown] [--reject FILE]\n"
"                    [--max-line BYTES] [--unbuffered] [FILE ...]\n";

static const char help_text[] =
"Read raw VK updates (or whole long-poll responses), one JSON object per line,\n"
"from the FILEs or standard input; write one Event per line (see vk-event(7)).\n"
"\n"
"      --offline         do not ask the VK API for names: name fields are null\n"
"      --prefix CHARS    characters that start a command (default \"/!\")\n"
"      --keep-unknown    pass other update types on as {event_type,event_id,raw}\n"
"      --reject FILE     append rejected lines to FILE verbatim\n"
"      --max-line BYTES  reject longer lines (default 16777216)\n"
"  -u, --unbuffered      write each Event at once (default: adaptive)\n"
"  -h, --help            show this help\n"
"      --version         show the version\n"
"\n"
"Exit status: 0 all lines read, 1 some lines rejected or an I/O error, 2 usage.\n";

struct counts {
	unsigned long long lines, events, rejected, dropped;
};

static struct counts cnt;
static out sout, rej;
static int have_rej;
static norm_opts nopt = { "/!", 0, NULL, NULL };

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

/* One update (or a poll response's update K) to an Event. */
static void
one_update(json_doc *d, int upd, const char *where, unsigned long lineno,
    long k)
{
	const char *why = NULL, *raw;
	size_t n;

	switch (norm_update(d, upd, &nopt, &sout.b, &why)) {
	case NORM_EVENT:
		cnt.events++;
		out_done(&sout);
		break;
	case NORM_DROP:
		cnt.dropped++;
		break;
	case NORM_REJECT:
		raw = json_raw(d, upd, &n);
		if (json_type(d, upd) == JSON_STRING) {	/* keep the quotes */
			raw--;
			n += 2;
		}
		reject(where, lineno, k, why, raw, n);
		break;
	}
}

static void
one_line(json_doc *d, const char *where, unsigned long lineno,
    const char *p, size_t n)
{
	int ups, i, k, m;
	char why[192];

	switch (json_parse(d, p, n)) {
	case 1:
		return;		/* blank */
	case -1:
		snprintf(why, sizeof(why), "not JSON: %s", d->err);
		reject(where, lineno, -1, why, p, n);
		return;
	}
	if (json_type(d, 0) != JSON_OBJECT) {
		reject(where, lineno, -1, "not a JSON object", p, n);
		return;
	}
	ups = json_get(d, 0, "updates", 7);
	if (ups < 0 || json_get(d, 0, "type", 4) >= 0) {
		if (ups < 0 && json_get(d, 0, "type", 4) < 0 &&
		    json_get(d, 0, "failed", 6) >= 0) {
			cnt.dropped++;	/* a {"failed":N} poll reply: no events */
			return;
		}
		one_update(d, 0, where, lineno, -1);
		return;
	}
	/* A whole long-poll response: its updates in order. */
	if (json_type(d, ups) != JSON_ARRAY) {
		reject(where, lineno, -1, "\"updates\" is not an array", p, n);
		return;
	}
	m = json_size(d, ups);
	for (k = 0, i = ups + 1; k < m; k++, i = json_next(d, i))
		one_update(d, i, where, lineno, k);
}

/* Returns 0, or -1 if the input could not be read. */
static int
run(int fd, const char *name, size_t maxline, json_doc *d)
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
	while (!sout.err && (st = line_next(&r, &p, &n)) != LINE_EOF) {
		cnt.lines++;
		if (st == LINE_OK) {
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
	line_close(&r);
	return ret;
}

int
main(int argc, char *argv[])
{
	static const struct option longopts[] = {
		{ "offline",	  no_argument,	     NULL, 'O' },
		{ "prefix",	  required_argument, NULL, 'p' },
		{ "keep-unknown", no_argument,	     NULL, 'k' },
		{ "reject",	  required_argument, NULL, 'r' },
		{ "max-line",	  required_argument, NULL, 'm' },
		{ "unbuffered",	  no_argument,	     NULL, 'u' },
		{ "help",	  no_argument,	     NULL, 'h' },
		{ "version",	  no_argument,	     NULL, 'V' },
		{ NULL, 0, NULL, 0 }
	};
	const char *rejpath = NULL;
	size_t maxline = LINE_MAX_DEFAULT;
	int c, fd, status = 0, unbuffered = 0;
	json_doc d;
	char *end;

	log_init(argv[0]);
	while ((c = getopt_long(argc, argv, "uh", longopts, NULL)) != -1) {
		switch (c) {
		case 'O':
			break;	/* names are not fetched yet: always offline */
		case 'p':
			nopt.prefix = optarg;
			break;
		case 'k':
			nopt.keep_unknown = 1;
			break;
		case 'r':
			rejpath = optarg;
			break;
		case 'm':
			errno = 0;
			maxline = strtoul(optarg, &end, 10);
			if (errno || *end || maxline == 0 || maxline > (1u << 30)) {
				log_warn("--max-line takes a number of bytes from 1 to 1073741824");
				return 2;
			}
			break;
		case 'u':
			unbuffered = 1;
			break;
		case 'h':
			fputs(usage_text, stdout);
			fputs(help_text, stdout);
			return 0;
		case 'V':
			puts("vk-normalize " VKPIPE_VERSION);
			return 0;
		default:
			fputs(usage_text, stderr);
			return 2;
		}
	}
	argc -= optind;
	argv += optind;

	signal(SIGPIPE, SIG_IGN);
	out_open(&sout, STDOUT_FILENO);
	sout.unbuffered = unbuffered;
	if (rejpath != NULL) {
		fd = open(rejpath, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
		if (fd == -1) {
			log_warn("cannot open reject file %s: %s", rejpath,
			    strerror(errno));
			return 3;
		}
		out_open(&rej, fd);
		rej.unbuffered = unbuffered;
		have_rej = 1;
	}
	json_init(&d);

	if (argc == 0) {
		if (run(STDIN_FILENO, NULL, maxline, &d) == -1)
			status = 1;
	}
	for (; argc > 0 && !sout.err; argc--, argv++) {
		if (strcmp(argv[0], "-") == 0) {
			if (run(STDIN_FILENO, NULL, maxline, &d) == -1)
				status = 1;
			continue;
		}
		if ((fd = open(argv[0], O_RDONLY | O_CLOEXEC)) == -1) {
			log_warn("%s: %s", argv[0], strerror(errno));
			status = 1;
			continue;
		}
		if (run(fd, argv[0], maxline, &d) == -1)
			status = 1;
		close(fd);
	}

	flush_all(NULL);
	json_free(&d);
	if (sout.err == EPIPE)
		return status;	/* the reader went away: as `head` expects */
	if (sout.err) {
		log_warn("write error: %s", strerror(sout.err));
		status = 1;
	}
	if (have_rej && rej.err) {
		log_warn("cannot write reject file %s: %s", rejpath,
		    strerror(rej.err));
		status = 1;
	}
	if (cnt.rejected || cnt.dropped)
		log_warn("%llu lines read, %llu events written, %llu rejected, "
		    "%llu dropped (other update types and failed poll replies)",
		    cnt.lines, cnt.events, cnt.rejected, cnt.dropped);
	if (cnt.rejected)
		status = 1;
	out_close(&sout);
	if (have_rej) {
		out_close(&rej);
		close(rej.fd);
	}
	return status;
}
