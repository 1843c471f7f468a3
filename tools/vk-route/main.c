/* main.c - vk-route: deliver each Event line to the destinations its rules name. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "ack.h"	/* ack_id_check(), ack_out */
#include "alloc.h"
#include "buf.h"
#include "contract.h"
#include "dedup.h"
#include "dest.h"
#include "file.h"
#include "json.h"
#include "line.h"
#include "log.h"
#include "loop.h"
#include "metrics.h"
#include "mono.h"
#include "opt.h"
#include "out.h"
#include "rules.h"
#include "rx.h"
#include "tool.h"
#include "track.h"

#define QUEUE_MAX	1000000000L	/* lines a destination may hold */
#define OPEN_MAX	1000000L	/* template destinations open at once */
#define BATCH		1024	/* lines read between two looks at signals */

static const char usage_text[] =
    "usage: vk-route [-qv] [--check] [--stats] [--queue N] [--spill DIR] [--max-open N]\n"
    "                [--drain-timeout SECS] [--reject FILE] [--unbuffered]\n"
    "                [--ack PATH] [--dedup N [--dedup-state FILE]]\n"
    "                [--metrics FILE [--metrics-interval SECS]]\n"
    "                [-e RULE]... [-c RULES | RULES]\n";

static const char help_text[] =
"Deliver each Event line of stdin to the destinations whose rules hold\n"
"(vk-route.conf(5)): files, programs, TCP, Unix, HTTP, Redis, RabbitMQ.\n"
"\n"
"  -c RULES, RULES       the rules file (SIGHUP reloads it)\n"
"  -e RULE               a rule, after the file's (more than one may be given)\n"
"  --check               load the rules, report, exit; nothing is started\n"
"  --stats               the counters on stderr at exit (always on SIGUSR1)\n"
"  --metrics FILE        keep the counters in FILE, Prometheus text, replaced\n"
"                        every --metrics-interval seconds (15) and at exit\n"
"  --queue N             lines a destination holds before input waits (10000)\n"
"  --spill DIR           what cannot be delivered at exit goes to files in DIR\n"
"  --max-open N          template destinations open at once (256)\n"
"  --drain-timeout SECS  at the end of input, how long to keep delivering (10)\n"
"  --reject FILE         append lines that are not Events to FILE\n"
"  --unbuffered          write each line at once (default: batches)\n"
"  --ack PATH            write the event_id of each delivered Event to PATH\n"
"                        (a FIFO; vk-poll --ack PATH reads them)\n"
"  --dedup N             drop an event_id seen among the last N\n"
"  --dedup-state FILE    keep that window in FILE across restarts\n"
"  -q, --quiet           no summary line of duplicates dropped\n"
"  -v, --verbose         log more on stderr\n"
"  -h, --help            this help;  --version  the version\n"
"\n"
"Exit status: 0 all delivered, 1 some lines rejected or not delivered,\n"
"2 usage, 3 configuration (rules, files).\n";

/* The signals, blocked except while the loop waits (common/loop.h). */
#define SIGNALS	(TOOL_SIG_STOP | TOOL_SIG_STATS | TOOL_SIG_HUP | TOOL_SIG_CHLD | TOOL_SIG_ALRM)

static metrics mx;	/* --metrics */
static int quiet;	/* -q: no summary line on success */

struct route {
	struct ruleset rs;
	struct rules_src *src;
	int	 nsrc;
	struct eval ev;
	struct json_index ix;
	buf	 name;		/* a filled destination text */
	out	 rej;		/* --reject */
	int	 have_rej;
	buf	 id;		/* an unescaped event_id */
	ack_out	 ao;		/* --ack */
	loop	 lp;		/* the wait */
	int	 ack_on;	/* --ack given (stays set after ack_out_close) */
	int	 status;
	unsigned long lines, events, rejected, unrouted;
	/* --metrics: when the event count last moved, seen at a write (no
	 * clock read per Event on this path) */
	time_t	 last_event;
	unsigned long last_events;
};

static void
reject(struct route *rt, unsigned long lineno, const char *line, size_t n,
    const char *why)
{
	rt->rejected++;
	rt->status = EXIT_PARTIAL;
	log_warn("line %lu: %s", lineno, why);
	if (rt->have_rej && line != NULL) {
		buf_put(&rt->rej.b, line, n);
		buf_putc(&rt->rej.b, '\n');
		if (out_done(&rt->rej) == -1)
			log_warn("cannot write the reject file: %s", strerror(rt->rej.err));
	}
}

static void
deliver(struct route *rt, struct rule *r, unsigned long lineno,
    const char *line, size_t n)
{
	struct dest *d = r->fixed;
	struct dest_ticket t;
	char why[512];

	r->tally->matched++;
	if (r->templated) {
		if (eval_template(&rt->ev, r, &rt->name, why, sizeof(why)) == -1 ||
		    (d = dest_get(rt->name.p, rt->name.len, 1, why, sizeof(why))) == NULL) {
			char *kept;

			rt->status = EXIT_PARTIAL;
			if (dest_keep_refused(r->dest_text, line, n, why, &kept) == 0) {
				/* dead-lettered: finished, acknowledged in its turn */
				r->tally->failed++;
				log_warn("line %lu: rule %s: %s; event not delivered, kept in %s",
				    lineno, r->where, why, kept);
			} else {
				track_failed(r->tally);
				log_warn("line %lu: rule %s: %s; event not delivered",
				    lineno, r->where, why);
			}
			free(kept);
			return;
		}
	}
	track_ticket(&t, r->tally);
	dest_push(d, line, n, &t);
}

/*
 * A regular expression of r's condition could not be matched: an error
 * for this Event (reported, counted for the rule), which goes to neither
 * branch: not to r, not to an else rule.
 */
static void
cond_error(struct route *rt, struct rule *r, unsigned long lineno, const struct rx *rx)
{
	char msg[128];

	r->tally->errors++;
	rt->status = EXIT_PARTIAL;
	log_warn("line %lu: rule %s: the regular expression could not be matched "
	    "(%s): an error for this event, which this rule does not take, nor "
	    "an else rule", lineno, r->where,
	    rx_error(rx, msg, sizeof(msg)));
	track_failed(NULL);
}

/* The Event's event_id, unescaped, or NULL (none, not a string, or not one line). */
static const char *
event_id(struct route *rt, const struct jv *root, size_t *n)
{
	struct jv v;

	if (json_member(&rt->ix, -1, "event_id", 8, &v) == -2)
		v = jv_get(root, "event_id", 8);
	if (v.t != JSON_STRING || v.n == 0)
		return NULL;
	buf_reset(&rt->id);
	json_unescape_raw(v.p, v.n, &rt->id);
	if (memchr(rt->id.p, '\n', rt->id.len) != NULL ||
	    memchr(rt->id.p, '\0', rt->id.len) != NULL)
		return NULL;
	*n = rt->id.len;
	return rt->id.p;
}

/* Can an ack line carry this event_id (common/ack.h)? 1, or 0, said. */
static int
ack_of(struct route *rt, const char *id, size_t n, unsigned long lineno)
{
	const char *why;

	if (id == NULL || !rt->ack_on)
		return 0;
	if (ack_id_check(id, n, &why) == 0)
		return 1;
	log_warn("line %lu: %s: no acknowledgement of its own (a later one covers it)",
	    lineno, why);
	return 0;
}

/* One input line: check it, then every rule whose condition holds. */
static void
route_line(struct route *rt, unsigned long lineno, const char *line, size_t n)
{
	struct ruleset *rs = &rt->rs;
	const unsigned char *verdict;
	int k, taken = 0, errored = 0, rc;
	char why[200], err[128];
	struct jv root;

	rt->lines++;
	rc = json_check(line, n, &root, &rt->ix, err, sizeof(err));
	if (rc == 1)
		return;		/* a blank line */
	if (rc == -1) {
		snprintf(why, sizeof(why), "not JSON: %s", err);
		reject(rt, lineno, line, n, why);
		return;
	}
	if (root.t != JSON_OBJECT) {
		reject(rt, lineno, line, n, "not a JSON object");
		return;
	}
	rt->events++;
	{
		size_t idn = 0;
		/* Only acks, dedup, #confirm handlers and amqp's message_id
		 * need the id: not looked up (nor kept) otherwise. */
		const char *id = rt->ack_on || dedup_enabled() || rs->wants_ids ?
		    event_id(rt, &root, &idn) : NULL;

		/* An id is remembered (acks, --dedup, #confirm) up to the length
		 * an ack line carries: an Event must not make memory grow by
		 * its id's size. The Event is still routed. */
		if (id != NULL && idn > ACK_ID_MAX) {
			log_warn("line %lu: an event_id of %zu bytes, longer than %d: "
			    "not remembered (no acknowledgement of its own; not kept "
			    "by --dedup, so a copy sent again is delivered again)",
			    lineno, idn, ACK_ID_MAX);
			id = NULL;
		}
		track_begin(id, idn, ack_of(rt, id, idn, lineno), lineno);
		if (id != NULL && dedup_enabled() && dedup_seen(id, idn, rt->events)) {
			log_info("line %lu: event_id %s seen before: dropped", lineno, id);
			return;	/* delivered before: acknowledged in its turn */
		}
	}
	eval_begin(&rt->ev, rs, &root, &rt->ix);
	verdict = eval_rules(&rt->ev, rs);
	for (k = 0; k < rs->nrule; k++) {
		if (verdict[k] == EVAL_NO)
			continue;
		if (verdict[k] == EVAL_FAILED) {
			cond_error(rt, &rs->rule[k], lineno, rt->ev.failed[k]);
			errored = 1;
			continue;
		}
		taken = 1;
		deliver(rt, &rs->rule[k], lineno, line, n);
	}
	/* A condition that could not be told sends the Event to no else rule. */
	if (taken || errored)
		return;
	if (rs->nelse == 0) {
		rt->unrouted++;
		return;
	}
	for (k = 0; k < rs->nrule; k++)
		if (rs->rule[k].is_else)
			deliver(rt, &rs->rule[k], lineno, line, n);
}

static void
stats(struct route *rt)
{
	struct dest *d;
	int k;

	log_note("stats: input lines=%lu events=%lu rejected=%lu unrouted=%lu",
	    rt->lines, rt->events, rt->rejected, rt->unrouted);
	for (k = 0; k < rt->rs.nrule; k++) {
		struct rule *r = &rt->rs.rule[k];
		buf shown = BUF_INIT;	/* a password in a URL is masked */

		dest_mask(&shown, r->dest_text);
		log_note("stats: rule %s -> %s matched=%lu delivered=%lu failed=%lu%s%.0lu",
		    r->where, buf_cstr(&shown), r->tally->matched, r->tally->delivered,
		    r->tally->failed, r->tally->errors ? " errors=" : "", r->tally->errors);
		buf_free(&shown);
	}
	for (d = dest_first(); d != NULL; d = d->next)
		if (!d->evicted && !d->group)	/* a group's workers speak for it */
			log_note("stats: dest %s delivered=%lu queued=%zu failed=%lu spilled=%lu",
			    d->label, d->cnt.delivered, d->q.nlines, d->cnt.failed, d->cnt.spilled);
	{
		unsigned long n, dl, fl, sp;

		dest_closed_counts(&n, &dl, &fl, &sp);
		if (n > 0)
			log_note("stats: dest (%lu closed template destinations, --max-open %zu) "
			    "delivered=%lu queued=0 failed=%lu spilled=%lu", n,
			    dest_max_open(), dl, fl, sp);
	}
	if (dedup_enabled())
		log_note("stats: dedup window=%zu max=%zu duplicates=%lu", dedup_size(),
		    dedup_cap(), dedup_dropped());
	if (rt->ack_on)
		log_note("stats: ack written=%lu waiting=%zu", rt->ao.written, track_waiting());
}

/* The counters into the --metrics file (vkpipe(1), STATISTICS): per rule
 * (its place and destination as written, bounded by the rules), and the
 * totals over destinations (a template opens one per value). */
static void
route_metrics(struct route *rt)
{
	static const char *const per_rule[] = { "vkpipe_route_matched_total",
	    "vkpipe_route_delivered_total", "vkpipe_route_failed_total" };
	static const char *const help[] = { "Events the rule matched.",
	    "Events delivered by the rule's destination.",
	    "Events the rule's destination did not take (spilled or dropped)." };
	unsigned long retried = 0;
	size_t queued = 0;
	struct dest *d;
	int k, j;

	if (mx.path == NULL)
		return;
	if (rt->events != rt->last_events) {
		rt->last_events = rt->events;
		rt->last_event = time(NULL);
	}
	metrics_counter(&mx, "vkpipe_route_lines_total", "Input lines read.",
	    (double)rt->lines);
	metrics_counter(&mx, "vkpipe_route_events_total", "Events read.",
	    (double)rt->events);
	metrics_counter(&mx, "vkpipe_route_rejected_total",
	    "Input lines rejected (not JSON, not an object).",
	    (double)rt->rejected);
	metrics_counter(&mx, "vkpipe_route_unrouted_total",
	    "Events no rule matched.", (double)rt->unrouted);
	for (j = 0; j < 3; j++) {
		metrics_family(&mx, per_rule[j], "counter", help[j]);
		for (k = 0; k < rt->rs.nrule; k++) {
			struct rule *r = &rt->rs.rule[k];
			unsigned long v = j == 0 ? r->tally->matched :
			    j == 1 ? r->tally->delivered : r->tally->failed;
			buf shown = BUF_INIT;	/* a password in a URL is masked */

			dest_mask(&shown, r->dest_text);
			metrics_value(&mx, per_rule[j], (double)v, "rule", r->where,
			    "dest", buf_cstr(&shown), NULL);
			buf_free(&shown);
		}
	}
	for (d = dest_first(); d != NULL; d = d->next) {
		retried += d->retried;
		queued += d->q.nlines;
	}
	metrics_counter(&mx, "vkpipe_route_retried_total",
	    "Lines sent again to a destination (open destinations).",
	    (double)retried);
	metrics_counter(&mx, "vkpipe_route_spilled_total",
	    "Lines spilled (--spill) over every destination.",
	    (double)dest_spilled());
	metrics_counter(&mx, "vkpipe_route_lost_total",
	    "Lines not delivered: failed, spilled or dropped.",
	    (double)dest_lost());
	metrics_gauge(&mx, "vkpipe_route_queued_lines",
	    "Lines waiting in destination queues.", (double)queued);
	if (dedup_enabled()) {
		metrics_counter(&mx, "vkpipe_route_duplicates_total",
		    "Events dropped as already delivered (--dedup).",
		    (double)dedup_dropped());
	}
	if (rt->ack_on) {
		metrics_counter(&mx, "vkpipe_route_acks_total",
		    "Acknowledgements written back to the source.",
		    (double)rt->ao.written);
	}
	metrics_gauge(&mx, "vkpipe_route_last_event_timestamp_seconds",
	    "When the last Event was read, to within the interval (0: never).",
	    (double)rt->last_event);
	metrics_flush(&mx);
}

/* After the destinations moved: acknowledge what is finished, save the window. */
static void
progress(struct route *rt, double now)
{
	track_progress(&rt->ao);
	ack_out_write(&rt->ao, now);
	if (dedup_tick(now, track_done(), 0) == -1)
		rt->status = EXIT_PARTIAL;
}

static void
reload(struct route *rt)
{
	struct ruleset nrs;
	char err[1024];

	if (rules_load(&nrs, rt->src, rt->nsrc, err, sizeof(err)) == -1 ||
	    rules_bind(&nrs, err, sizeof(err)) == -1) {
		log_warn("%s; keeping the rules in use", err);
		rules_free(&nrs);
		return;
	}
	rules_retire(&rt->rs);
	rt->rs = nrs;
	log_note("rules reloaded: %d rule%s", nrs.nrule, nrs.nrule == 1 ? "" : "s");
}

static void
flush_hook(void *arg)
{
	struct route *rt = arg;

	dest_service(mono_now(), 1);
	if (rt->have_rej)
		out_flush(&rt->rej);
}

/*
 * The loop: read a batch of lines while no queue is full, write what the
 * destinations take, and wait (common/loop.h: ppoll, signals unblocked only
 * there) for input, writability, a retry time or a signal.
 */
static void
run(struct route *rt, double drain, int unbuffered)
{
	loop *lp = &rt->lp;
	linerd rd;
	struct pollfd *pfd;
	struct dest **who = NULL;
	int cap = 0, n, k, timeout, in_open = 1, more = 0, afd;
	size_t iack;
	double now, deadline = 0;
	unsigned long spilled;
	const char *line;
	size_t len;

	line_open(&rd, 0, 0);
	rd.wait_hook = flush_hook;
	rd.wait_arg = rt;
	for (;;) {
		if (tool_stop && in_open) {
			log_info("terminating: no more input is read");
			in_open = 0;
		}
		if (tool_hup) {
			tool_hup = 0;
			reload(rt);
			dest_reopen_all();
		}
		if (tool_stats & 1) {	/* SIGUSR1 */
			tool_stats &= ~1;
			stats(rt);
		}
		if (tool_stats & METRICS_DUE) {
			tool_stats &= ~METRICS_DUE;
			route_metrics(rt);
		}
		if (tool_chld) {
			tool_chld = 0;
			dest_reap(mono_now());
		}
		more = 0;
		for (k = 0; in_open && !dest_blocked() && k < BATCH; k++) {
			if (!line_ready(&rd))
				break;
			n = line_next(&rd, &line, &len);
			if (n == LINE_OK) {
				route_line(rt, rd.lineno, line, len);
			} else if (n == LINE_TOOLONG) {
				rt->lines++;
				reject(rt, rd.lineno, NULL, 0,
				    "line longer than the maximum (16 MiB): skipped");
			} else {
				if (n == LINE_ERR) {
					log_warn("cannot read the input: %s", strerror(errno));
					rt->status = EXIT_PARTIAL;
				}
				in_open = 0;
			}
		}
		if (k == BATCH)
			more = 1;
		if (!in_open && deadline == 0)
			deadline = mono_now() + drain;
		now = mono_now();
		dest_service(now, unbuffered || !more || !in_open || dest_blocked());
		progress(rt, now);
		if (!more && rt->have_rej)
			out_flush(&rt->rej);
		if (!in_open && (!dest_pending() || now >= deadline))
			break;
		loop_begin(lp);
		loop_add(lp, in_open && !dest_blocked() ? 0 : -1, POLLIN, NULL, NULL);
		if (2 * dest_count() > cap) {
			cap = 2 * dest_count() * 2;
			who = xrealloc(who, (size_t)cap * sizeof(*who));
		}
		timeout = -1;
		pfd = loop_reserve(lp, (size_t)cap);
		n = dest_pollset(pfd, who, cap, now, &timeout);
		loop_commit(lp, (size_t)n);
		iack = (size_t)-1;
		if (ack_out_wait(&rt->ao, now, &afd, &timeout))
			iack = loop_add(lp, afd, POLLOUT, NULL, NULL);
		dedup_timeout(now, track_done(), &timeout);
		if (more)
			timeout = 0;
		if (!in_open) {
			/* Draining: look again often (a handler reading its pipe
			 * sends no event), never past the deadline. */
			int left = (int)((deadline - now) * 1000) + 1;

			if (left > 50)
				left = 50;
			if (timeout < 0 || left < timeout)
				timeout = left;
		}
		loop_timeout(lp, timeout);
		if (loop_wait(lp) == -1) {
			if (errno != EINTR)
				log_warn("poll: %s", strerror(errno));
			continue;
		}
		/* A signal that came while descriptors were ready is still
		 * pending: take it now, every turn, or a never-idle input would
		 * keep SIGTERM waiting for ever. */
		loop_signals(lp);
		now = mono_now();
		for (k = 0; k < n; k++)
			dest_revents(who[k], lp->pfd[k + 1].fd, loop_revents(lp, (size_t)k + 1), now);
		if (iack != (size_t)-1 && loop_revents(lp, iack) != 0)
			ack_out_ready(&rt->ao, now);
		progress(rt, now);
	}
	line_close(&rd);
	free(who);
	spilled = dest_shutdown(deadline > mono_now() ? deadline : mono_now());
	track_progress(&rt->ao);
	/* SIGTERM: what was spilled at the end is kept, not lost (exit 0). */
	if (dest_lost() - (tool_stop ? spilled : 0) > 0)
		rt->status = EXIT_PARTIAL;
	/* The last acknowledgements, within what is left of the drain time. */
	if (ack_out_close(&rt->ao, deadline) == -1)
		rt->status = EXIT_PARTIAL;
	if (dedup_tick(mono_now(), track_done(), 1) == -1)
		rt->status = EXIT_PARTIAL;
}

/* The rules: the file first, then the -e rules in their order. -1: said. */
static int
load_rules(struct route *rt, const char *rules_file, const char **etext, int ne)
{
	char err[1024];
	int k;

	if (rules_file != NULL)
		rt->src[rt->nsrc++].name = rules_file;
	for (k = 0; k < ne; k++) {
		rt->src[rt->nsrc].name = "-e";
		rt->src[rt->nsrc].index = k + 1;
		rt->src[rt->nsrc++].text = etext[k];
	}
	if (rules_load(&rt->rs, rt->src, rt->nsrc, err, sizeof(err)) == -1) {
		log_warn("%s", err);
		return -1;
	}
	return 0;
}

/* --spill DIR must be a writable directory. -1: said. */
static int
check_spill(void)
{
	struct stat st;

	if (dest_opt.spill_dir != NULL &&
	    (stat(dest_opt.spill_dir, &st) == -1 || !S_ISDIR(st.st_mode) ||
	    access(dest_opt.spill_dir, W_OK) == -1)) {
		log_warn("--spill %s: not a writable directory", dest_opt.spill_dir);
		return -1;
	}
	return 0;
}

/* --check: could path be opened for writing (nothing created)? -1: said. */
static int
check_writable(const char *flag, const char *path)
{
	if (path != NULL && file_writable(path) == -1) {
		log_warn("%s %s: %s", flag, path, strerror(errno));
		return -1;
	}
	return 0;
}

/* --check: every output path the run would open, checked without opening. */
static int
check_outputs(const char *reject_file, const char *dedup_state, const char *ack_path)
{
	if (check_spill() == -1 || check_writable("--reject", reject_file) == -1 ||
	    check_writable("--dedup-state", dedup_state) == -1 ||
	    check_writable("--ack", ack_path) == -1)
		return -1;
	return 0;
}

/* --spill, --reject, --dedup(-state) and --ack, ready. -1: a configuration error, said. */
static int
open_outputs(struct route *rt, const char *reject_file, unsigned long dedup_n,
    const char *dedup_state, const char *ack_path)
{
	char err[1024];
	int fd;

	if (check_spill() == -1)
		return -1;
	if (reject_file != NULL) {
		if ((fd = open(reject_file, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644)) == -1) {
			log_warn("--reject %s: %s", reject_file, strerror(errno));
			return -1;
		}
		out_open(&rt->rej, fd);
		rt->have_rej = 1;
	}
	if (dedup_n > 0) {
		dedup_init(dedup_n);
		if (dedup_state != NULL && dedup_load(dedup_state, err, sizeof(err)) == -1) {
			log_warn("%s", err);
			return -1;
		}
	}
	if (ack_path != NULL) {
		if (ack_out_open(&rt->ao, ack_path, err, sizeof(err)) == -1) {
			log_warn("%s; create the FIFO with mkfifo, or give a writable path", err);
			return -1;
		}
		rt->ack_on = 1;
	}
	return 0;
}

/* At the end: what was rejected or dropped, the counters, the reject file closed. */
static void
report(struct route *rt, int want_stats)
{
	if (rt->rejected > 0)
		log_warn("%lu line%s rejected", rt->rejected, rt->rejected == 1 ? "" : "s");
	if (dedup_dropped() > 0 && !quiet)
		log_warn("%lu duplicate%s dropped (--dedup)", dedup_dropped(),
		    dedup_dropped() == 1 ? "" : "s");
	if (want_stats)
		stats(rt);
	if (rt->have_rej) {
		if (out_flush(&rt->rej) == -1 || close(rt->rej.fd) == -1) {
			log_warn("cannot write the reject file: %s", strerror(rt->rej.err));
			rt->status = EXIT_PARTIAL;
		}
		out_close(&rt->rej);
}
}

int
main(int argc, char *argv[])
{
	static const struct option longopts[] = {
		{ "check", no_argument, NULL, 'C' },
		{ "stats", no_argument, NULL, 'S' },
		{ "queue", required_argument, NULL, 'Q' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "max-open", required_argument, NULL, 'M' },
		{ "spill", required_argument, NULL, 's' },
		{ "drain-timeout", required_argument, NULL, 'd' },
		{ "reject", required_argument, NULL, 'r' },
		{ "unbuffered", no_argument, NULL, 'u' },
		{ "ack", required_argument, NULL, 'a' },
		{ "dedup", required_argument, NULL, 'D' },
		{ "dedup-state", required_argument, NULL, 'T' },
		{ "metrics", required_argument, NULL, 'm' },
		{ "metrics-interval", required_argument, NULL, 'i' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 }
	};
	static struct route rt;	/* static: still reachable at exit(), for LSan */
	static const char **etext;
	const char *rules_file = NULL, *reject_file = NULL, *ack_path = NULL;
	const char *dedup_state = NULL, *metrics_path = NULL;
	unsigned long dedup_n = 0;
	double metrics_int = 0;
	int ch, rc, nrules_file = 0, check = 0, want_stats = 0, unbuffered = 0, ne = 0;
	double drain = 10;
	char err[1024];
	opt op = { "" };

	tool_init(argv[0], usage_text);
	memset(&rt, 0, sizeof(rt));
	rt.src = xcalloc((size_t)argc + 1, sizeof(*rt.src));
	etext = xcalloc((size_t)argc + 1, sizeof(*etext));
	while ((ch = getopt_long(argc, argv, "c:e:qvh", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c': nrules_file++; rules_file = optarg; break;
		case 'e': etext[ne++] = optarg; break;
		case 'C': check = 1; break;
		case 'S': want_stats = 1; break;
		case 'q': quiet = 1; break;
		case 'Q': dest_opt.qmax = (size_t)opt_num(&op, "--queue", optarg, 1, QUEUE_MAX); break;
		case 'M': dest_opt.max_open = (size_t)opt_num(&op, "--max-open", optarg, 1,
		    OPEN_MAX); break;
		case 's': dest_opt.spill_dir = optarg; break;
		case 'd': drain = opt_secs(&op, "--drain-timeout", optarg, 0, 86400); break;
		case 'r': reject_file = optarg; break;
		case 'u': unbuffered = 1; break;
		case 'a': ack_path = optarg; break;
		case 'D': dedup_n = (unsigned long)opt_num(&op, "--dedup", optarg, 1, DEDUP_MAX);
			break;
		case 'T': dedup_state = optarg; break;
		case 'm': metrics_path = optarg; break;
		case 'i':
			metrics_int = opt_secs(&op, "--metrics-interval", optarg, 0.01, 86400);
			break;
		case 'v': log_verbose = 1; break;
		case 'h':
			fputs(usage_text, stdout);
			fputs(help_text, stdout);
			return 0;
		case 'V':
			printf("vk-route %s\n", VKPIPE_VERSION);
			return 0;
		default:
			usage();
		}
	}
	argc -= optind;
	argv += optind;

	/* The options, clean and consistent: one check a line. */
	if (op.err[0])
		return warn_usage(op.err);
	if (nrules_file + argc > 1)
		return warn_usage("one rules file only: -c FILE or FILE, not both");
	if (dedup_state != NULL && dedup_n == 0)
		return warn_usage("--dedup-state needs --dedup N (the size of the window it keeps)");
	if (metrics_int && metrics_path == NULL)
		return warn_usage("--metrics-interval only goes with --metrics FILE");
	if (argc == 1)
		rules_file = argv[0];
	if (rules_file == NULL && ne == 0) {
		log_warn("no rules: give a rules file or -e RULE");
		usage();
	}

	rc = load_rules(&rt, rules_file, etext, ne);
	free(etext);
	if (rc == -1) {
		rt.status = EXIT_CONFIG;
		goto done;
	}
	if (metrics_path && metrics_check(metrics_path, err, sizeof(err)) == -1) {
		log_warn("%s", err);
		rt.status = EXIT_CONFIG;
		goto done;
	}
	if (check) {
		contract_check(&rt.rs);	/* warnings: a typo never matches */
		if (check_outputs(reject_file, dedup_state, ack_path) == -1)
			rt.status = EXIT_CONFIG;
		else
			log_info("%d rule%s OK", rt.rs.nrule, rt.rs.nrule == 1 ? "" : "s");
		goto done;
	}
	if (rules_bind(&rt.rs, err, sizeof(err)) == -1) {
		log_warn("%s", err);
		rt.status = EXIT_CONFIG;
		goto done;
	}
	if (open_outputs(&rt, reject_file, dedup_n, dedup_state, ack_path) == -1) {
		rt.status = EXIT_CONFIG;
		goto done;
	}

	/* Signals are blocked except while the loop waits: no race, no lost flag. */
	tool_signals(SIGNALS);
	loop_init(&rt.lp, SIGNALS);
	if (metrics_open(&mx, metrics_path, metrics_int ? metrics_int : 15, &tool_stats,
	    err, sizeof(err)) == -1)
		log_warn("%s", err);	/* checked above: a timer that will not start */
	route_metrics(&rt);
	eval_init(&rt.ev);
	run(&rt, drain, unbuffered);

	report(&rt, want_stats);
	route_metrics(&rt);
	metrics_close(&mx);
done:
	ack_out_close(&rt.ao, 0);
	loop_free(&rt.lp);
	track_free();
	dedup_free();
	buf_free(&rt.id);
	eval_free(&rt.ev);
	buf_free(&rt.name);
	rules_free(&rt.rs);
	dest_free_all();
	rules_retired_free();
	free(rt.src);
	return rt.status;
}
