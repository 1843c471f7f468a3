/* main.c - vk-poll: VK Bots Long Poll updates as NDJSON on stdout. */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "opt.h"
#include "out.h"
#include "poll.h"
#include "state.h"
#include "token.h"
#include "tool.h"
#include "vkapi.h"

#define BACKOFF_MIN_MS	500
#define BACKOFF_MAX_MS	30000
#define ACK_WINDOW	100000	/* unacknowledged updates that pause polling */
#define GROUP_MAX	999999999999LL
#define ACK_DRAIN_S	5	/* at exit, the longest wait for acks */

static const char usage_text[] =
"usage: vk-poll [-v] [--group-id N] [--token-file FILE] [--api-url URL]\n"
"               [--api-version V] [--wait N] [--timeout N] [--state FILE]\n"
"               [--once] [--max-events N] [--mark-gaps] [--stats] [--check]\n"
"               [--ack PATH [--ack-window N] [--ack-drain N]]\n"
"               [--metrics FILE [--metrics-interval SECS]]\n";

static const char help_text[] =
"Write each update of a VK community's Bots Long Poll to stdout, one line each.\n"
"\n"
"  --group-id N       the community (or VK_GROUP_ID)\n"
"  --token-file FILE  read the community token from FILE (or VK_TOKEN)\n"
"  --api-url URL      API base (or VK_API_URL; default " VKAPI_DEFAULT_URL ")\n"
"  --api-version V    API version (default " VKAPI_DEFAULT_VERSION ")\n"
"  --wait N           long-poll wait, 1..90 seconds (default 25)\n"
"  --timeout N        HTTP timeout in seconds (default wait + 10)\n"
"  --state FILE       resume from and save the ts in FILE\n"
"  --once             stop after one successful poll\n"
"  --max-events N     stop after N updates\n"
"  --mark-gaps        write a vkpipe_gap line where VK lost events\n"
"  --ack PATH         save a ts only once its batch's event_ids came back on\n"
"                     PATH (a FIFO; vk-route --ack PATH writes them)\n"
"  --ack-window N     pause polling while N updates are unacknowledged\n"
"                     (default 100000)\n"
"  --ack-drain N      at exit, wait up to N seconds for acks (default 5)\n"
"  --stats            write statistics to stderr at exit (always on SIGUSR1)\n"
"  --metrics FILE     keep the counters in FILE, Prometheus text, replaced\n"
"                     every --metrics-interval seconds (default 15) and at exit\n"
"  --check            check the options, environment, token and state file;\n"
"                     exit without polling or writing anything\n"
"  -v, --verbose      log each poll on stderr\n"
"  -h, --help         this help;  --version  the version\n";

/* "MIN,MAX" milliseconds, 1 <= MIN <= MAX. */
static int
backoff_env(const char *s, long *min, long *max)
{
	char a[32];
	const char *comma = strchr(s, ',');
	opt op = { "" };

	if (comma == NULL || (size_t)(comma - s) >= sizeof(a))
		return -1;
	memcpy(a, s, (size_t)(comma - s));
	a[comma - s] = '\0';
	*min = (long)opt_num(&op, "MIN", a, 1, 3600000);
	*max = (long)opt_num(&op, "MAX", comma + 1, *min, 3600000);
	return op.err[0] ? -1 : 0;
}

/*
 * The community, the retry steps and the API URL from the environment
 * where no flag gave them. -1: a configuration error, said.
 */
static int
configure(struct poll_conf *conf, const char *group, const char **api_url)
{
	const char *bo;
	opt op = { "" };

	if (group == NULL && (group = getenv("VK_GROUP_ID")) != NULL &&
	    (opt_num(&op, "VK_GROUP_ID", group, 1, GROUP_MAX), op.err[0])) {
		log_warn("%s", op.err);
		return -1;
	}
	if (group == NULL) {
		log_warn("no community: set VK_GROUP_ID or use --group-id N");
		return -1;
	}
	conf->group = group;
	if ((bo = getenv("VKPIPE_BACKOFF_MS")) != NULL && *bo &&
	    backoff_env(bo, &conf->backoff_min_ms, &conf->backoff_max_ms) == -1) {
		log_warn("VKPIPE_BACKOFF_MS wants MIN,MAX in milliseconds, e.g. 500,30000");
		return -1;
	}
	return (*api_url = tool_api_url(*api_url)) == NULL ? -1 : 0;
}

/* The saved ts into ts (left empty with no state yet). -1: unusable, said. */
static int
load_state(const struct poll_conf *conf, buf *ts)
{
	char err[512];

	if (conf->state == NULL)
		return 0;
	switch (state_load(conf->state, conf->group, ts, err, sizeof(err))) {
	case -1:
		log_warn("%s", err);
		return -1;
	case 1:
		log_info("no state file %s yet: starting from the newest events", conf->state);
		break;
	}
	return 0;
}

/* The ack channel (--ack), pausing at window (0: the default) unacknowledged updates. */
static int
open_acks(batches *ack, const char *path, size_t window)
{
	char err[512];

	if (batch_open(ack, path, window ? window : ACK_WINDOW, err, sizeof(err)) == -1) {
		log_warn("%s", err);
		return -1;
	}
	return 0;
}

/* What poll_run() returned, as an exit status; the counters with -v. */
static int
report(int rc, const struct poller *p, const out *o, const batches *ack)
{
	int status = 0;

	switch (rc) {
	case POLL_FATAL:
		status = EXIT_REMOTE;
		break;
	case POLL_WRITE:
		log_warn("cannot write to stdout: %s", strerror(o->err));
		status = EXIT_PARTIAL;
		break;
	case POLL_EPIPE:
		break;	/* the reader left: quietly, as head(1) expects */
	}
	if (p->save_failed && status == 0)
		status = EXIT_PARTIAL;
	log_info("%llu updates in %llu polls, %llu gaps", p->events, p->polls, p->gaps);
	if (ack != NULL)
		log_info("%llu acks, %llu unknown ids ignored, %zu batches unacknowledged",
		    (unsigned long long)ack->acks, (unsigned long long)ack->unknown,
		    batch_pending(ack));
	return status;
}

int
main(int argc, char *argv[])
{
	enum { O_GROUP = 256, O_TOKFILE, O_TOKEN, O_URL, O_APIV, O_WAIT, O_TIMEOUT,
	    O_STATE, O_ONCE, O_MAX, O_GAPS, O_ACK, O_ACKWIN, O_ACKDRAIN, O_VERSION,
	    O_STATS, O_CHECK, O_METRICS, O_METRICS_INT };
	static const struct option opts[] = {
		{ "group-id", required_argument, NULL, O_GROUP },
		{ "token-file", required_argument, NULL, O_TOKFILE },
		{ "token", required_argument, NULL, O_TOKEN },
		{ "api-url", required_argument, NULL, O_URL },
		{ "api-version", required_argument, NULL, O_APIV },
		{ "wait", required_argument, NULL, O_WAIT },
		{ "timeout", required_argument, NULL, O_TIMEOUT },
		{ "state", required_argument, NULL, O_STATE },
		{ "once", no_argument, NULL, O_ONCE },
		{ "max-events", required_argument, NULL, O_MAX },
		{ "mark-gaps", no_argument, NULL, O_GAPS },
		{ "ack", required_argument, NULL, O_ACK },
		{ "ack-window", required_argument, NULL, O_ACKWIN },
		{ "ack-drain", required_argument, NULL, O_ACKDRAIN },
		{ "stats", no_argument, NULL, O_STATS },
		{ "metrics", required_argument, NULL, O_METRICS },
		{ "metrics-interval", required_argument, NULL, O_METRICS_INT },
		{ "check", no_argument, NULL, O_CHECK },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, O_VERSION },
		{ NULL, 0, NULL, 0 }
	};
	struct poll_conf conf = { .version = VKAPI_DEFAULT_VERSION, .wait = 25,
	    .backoff_min_ms = BACKOFF_MIN_MS, .backoff_max_ms = BACKOFF_MAX_MS,
	    .ack_drain_ms = ACK_DRAIN_S * 1000L };
	const char *token_file = NULL, *api_url = NULL, *group = NULL, *ack_path = NULL;
	const char *metrics_path = NULL;
	double metrics_int = 0;
	metrics mx;
	char err[512];
	long long timeout = 0, ack_window = 0, ack_drain = -1;
	int token_argv = 0, stats = 0, check = 0;
	opt op = { "" };
	char *token = NULL;
	struct poller p;
	batches ack;
	buf ts = BUF_INIT;
	vkapi api;
	vkapi_err e;
	out o;
	int c, rc, status;

	tool_init(argv[0], usage_text);
	while ((c = getopt_long(argc, argv, "vh", opts, NULL)) != -1) {
		switch (c) {
		case O_GROUP: group = optarg; opt_num(&op, "--group-id", optarg, 1, GROUP_MAX); break;
		case O_TOKFILE: token_file = optarg; break;
		case O_TOKEN: token_argv = 1; break;
		case O_URL: api_url = optarg; break;
		case O_APIV: conf.version = optarg; break;
		case O_WAIT: conf.wait = (int)opt_num(&op, "--wait", optarg, 1, 90); break;
		case O_TIMEOUT: timeout = opt_num(&op, "--timeout", optarg, 1, 3600); break;
		case O_STATE: conf.state = optarg; break;
		case O_ONCE: conf.once = 1; break;
		case O_MAX:
			conf.max_events = (unsigned long long)opt_num(&op, "--max-events", optarg,
			    1, 1LL << 62);
			break;
		case O_GAPS: conf.mark_gaps = 1; break;
		case O_ACK: ack_path = optarg; break;
		case O_ACKWIN: ack_window = opt_num(&op, "--ack-window", optarg, 1, 100000000); break;
		case O_ACKDRAIN: ack_drain = opt_num(&op, "--ack-drain", optarg, 0, 3600); break;
		case O_STATS: stats = 1; break;
		case O_METRICS: metrics_path = optarg; break;
		case O_METRICS_INT:
			metrics_int = opt_secs(&op, "--metrics-interval", optarg, 0.01, 86400);
			break;
		case O_CHECK: check = 1; break;
		case 'v': log_verbose = 1; break;
		case 'h':
			fputs(usage_text, stdout);
			fputs(help_text, stdout);
			return 0;
		case O_VERSION:
			puts("vk-poll " VKPIPE_VERSION);
			return 0;
		default:
			usage();
		}
	}

	/* The options, clean and consistent: one check a line. */
	if (token_argv)
		return warn_usage(TOKEN_ARGV_MSG);
	if (op.err[0])
		return warn_usage(op.err);
	if (optind < argc) {
		log_warn("unexpected argument '%s'", argv[optind]);
		usage();
	}
	if (timeout && timeout <= conf.wait)
		return warn_usage("--timeout must be longer than --wait, or every idle poll times out");
	if (ack_path == NULL && (ack_window || ack_drain != -1))
		return warn_usage("--ack-window and --ack-drain only go with --ack PATH");
	if (metrics_path == NULL && metrics_int)
		return warn_usage("--metrics-interval only goes with --metrics FILE");
	conf.timeout_ms = (timeout ? timeout : conf.wait + 10) * 1000L;
	if (ack_drain != -1)
		conf.ack_drain_ms = ack_drain * 1000L;

	/* Configuration: a flag beats the environment beats the default. */
	if (configure(&conf, group, &api_url) == -1 || tool_token(token_file, 1, &token) == -1)
		return EXIT_CONFIG;
	if (load_state(&conf, &ts) == -1 ||
	    (!check && ack_path && open_acks(&ack, ack_path, (size_t)ack_window) == -1)) {
		tool_token_free(token);
		buf_free(&ts);
		return EXIT_CONFIG;
	}
	if (metrics_path && metrics_check(metrics_path, err, sizeof(err)) == -1) {
		log_warn("%s", err);
		tool_token_free(token);
		buf_free(&ts);
		if (!check && ack_path)
			batch_close(&ack);
		return EXIT_CONFIG;
	}
	if (check) {	/* all is checked: nothing asked of VK, nothing written */
		tool_token_free(token);
		buf_free(&ts);
		return 0;
	}

	tool_signals(TOOL_SIG_STOP | TOOL_SIG_STATS);

	rc = vkapi_init(&api, api_url, conf.version, token, &e);
	tool_token_free(token);	/* the client keeps its own copy */
	if (rc == -1) {
		log_warn("%s", e.msg);
		return EXIT_CONFIG;
	}
	api.timeout_ms = conf.timeout_ms;
	api.stop = &tool_stop;
	out_open(&o, STDOUT_FILENO);
	poll_init(&p, &conf, &api, &o, ack_path ? &ack : NULL, &tool_stop);
	p.want_stats = &tool_stats;
	if (metrics_open(&mx, metrics_path, metrics_int ? metrics_int : 15, &tool_stats,
	    err, sizeof(err)) == -1)
		log_warn("%s", err);	/* checked above: a timer that will not start */
	p.metrics = &mx;
	poll_metrics(&p);
	if (ts.len) {
		poll_resume(&p, ts.p, ts.len);
		log_info("resuming from ts %s (%s)", buf_cstr(&ts), conf.state);
	}

	status = report(poll_run(&p), &p, &o, ack_path ? &ack : NULL);
	if (stats || (tool_stats & ~METRICS_DUE))
		poll_stats(&p);
	poll_metrics(&p);
	metrics_close(&mx);
	if (ack_path)
		batch_close(&ack);
	poll_free(&p);
	out_close(&o);
	vkapi_free(&api);
	buf_free(&ts);
	return status;
}
