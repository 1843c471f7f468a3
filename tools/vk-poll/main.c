/* main.c - vk-poll: VK Bots Long Poll updates as NDJSON on stdout. */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "out.h"
#include "poll.h"
#include "state.h"
#include "token.h"
#include "vkapi.h"

#define EXIT_WRITE	1
#define EXIT_USAGE	2
#define EXIT_CONFIG	3
#define EXIT_REMOTE	4

#define BACKOFF_MIN_MS	500
#define BACKOFF_MAX_MS	30000
#define ACK_WINDOW	100000	/* unacknowledged updates that pause polling */
#define ACK_DRAIN_S	5	/* at exit, the longest wait for acks */

static const char usage_text[] =
"usage: vk-poll [-v] [--group-id N] [--token-file FILE] [--api-url URL]\n"
"               [--api-version V] [--wait N] [--timeout N] [--state FILE]\n"
"               [--once] [--max-events N] [--mark-gaps]\n"
"               [--ack PATH [--ack-window N] [--ack-drain N]]\n";

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
"  -v, --verbose      log each poll on stderr\n"
"  -h, --help         this help;  --version  the version\n";

static volatile sig_atomic_t stop;

static void
on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static void
usage(void)
{
	fputs(usage_text, stderr);
	exit(EXIT_USAGE);
}

/* A whole decimal number in [lo, hi], or -1. */
static long long
number(const char *s, long long lo, long long hi)
{
	char *end;
	long long v;

	if (*s < '0' || *s > '9')
		return -1;
	v = strtoll(s, &end, 10);
	return *end || v < lo || v > hi ? -1 : v;
}

/* "MIN,MAX" milliseconds, 1 <= MIN <= MAX. */
static int
backoff_env(const char *s, long *min, long *max)
{
	char a[32];
	const char *comma = strchr(s, ',');
	long long lo, hi;

	if (comma == NULL || (size_t)(comma - s) >= sizeof(a))
		return -1;
	memcpy(a, s, (size_t)(comma - s));
	a[comma - s] = '\0';
	if ((lo = number(a, 1, 3600000)) == -1 || (hi = number(comma + 1, lo, 3600000)) == -1)
		return -1;
	*min = (long)lo;
	*max = (long)hi;
	return 0;
}

static int
group_ok(const char *s)
{
	return number(s, 1, 999999999999LL) > 0 && s[0] != '0';
}

int
main(int argc, char *argv[])
{
	enum { O_GROUP = 256, O_TOKFILE, O_TOKEN, O_URL, O_APIV, O_WAIT, O_TIMEOUT,
	    O_STATE, O_ONCE, O_MAX, O_GAPS, O_ACK, O_ACKWIN, O_ACKDRAIN, O_VERSION };
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
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, O_VERSION },
		{ NULL, 0, NULL, 0 }
	};
	struct poll_conf conf = { .version = VKAPI_DEFAULT_VERSION, .wait = 25,
	    .backoff_min_ms = BACKOFF_MIN_MS, .backoff_max_ms = BACKOFF_MAX_MS,
	    .ack_drain_ms = ACK_DRAIN_S * 1000L };
	const char *token_file = NULL, *api_url = NULL, *group = NULL, *ack_path = NULL;
	long long timeout = 0, v, ack_window = 0, ack_drain = -1;
	const char *bo;
	char err[512], *token = NULL;
	struct sigaction sa;
	struct poller p;
	ackin ack;
	buf ts = BUF_INIT;
	vkapi api;
	vkapi_err e;
	out o;
	int c, rc, status = 0;

	log_init(argv[0]);
	while ((c = getopt_long(argc, argv, "vh", opts, NULL)) != -1) {
		switch (c) {
		case O_GROUP:
			if (!group_ok(optarg)) {
				log_warn("--group-id wants a community id (a positive number)");
				return EXIT_USAGE;
			}
			group = optarg;
			break;
		case O_TOKFILE:
			token_file = optarg;
			break;
		case O_TOKEN:
			log_warn("the token is never a command-line argument (ps(1) shows "
			    "it to everyone): set VK_TOKEN or use --token-file FILE");
			return EXIT_USAGE;
		case O_URL:
			api_url = optarg;
			break;
		case O_APIV:
			conf.version = optarg;
			break;
		case O_WAIT:
			if ((v = number(optarg, 1, 90)) == -1) {
				log_warn("--wait wants a number of seconds from 1 to 90");
				return EXIT_USAGE;
			}
			conf.wait = (int)v;
			break;
		case O_TIMEOUT:
			if ((timeout = number(optarg, 1, 3600)) == -1) {
				log_warn("--timeout wants a number of seconds from 1 to 3600");
				return EXIT_USAGE;
			}
			break;
		case O_STATE:
			conf.state = optarg;
			break;
		case O_ONCE:
			conf.once = 1;
			break;
		case O_MAX:
			if ((v = number(optarg, 1, 1LL << 62)) == -1) {
				log_warn("--max-events wants a positive number");
				return EXIT_USAGE;
			}
			conf.max_events = (unsigned long long)v;
			break;
		case O_GAPS:
			conf.mark_gaps = 1;
			break;
		case O_ACK:
			ack_path = optarg;
			break;
		case O_ACKWIN:
			if ((ack_window = number(optarg, 1, 100000000)) == -1) {
				log_warn("--ack-window wants a number of updates from 1 to 100000000");
				return EXIT_USAGE;
			}
			break;
		case O_ACKDRAIN:
			if ((ack_drain = number(optarg, 0, 3600)) == -1) {
				log_warn("--ack-drain wants a number of seconds from 0 to 3600");
				return EXIT_USAGE;
			}
			break;
		case 'v':
			log_verbose = 1;
			break;
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
	if (optind < argc) {
		log_warn("unexpected argument '%s'", argv[optind]);
		usage();
	}
	if (timeout && timeout <= conf.wait) {
		log_warn("--timeout must be longer than --wait, or every idle poll times out");
		return EXIT_USAGE;
	}
	conf.timeout_ms = (timeout ? timeout : conf.wait + 10) * 1000L;
	if (ack_path == NULL && (ack_window || ack_drain != -1)) {
		log_warn("--ack-window and --ack-drain only go with --ack PATH");
		return EXIT_USAGE;
	}
	if (ack_drain != -1)
		conf.ack_drain_ms = ack_drain * 1000L;

	/* Configuration: a flag beats the environment beats the default. */
	if (group == NULL && (group = getenv("VK_GROUP_ID")) != NULL && !group_ok(group)) {
		log_warn("VK_GROUP_ID is not a community id (a positive number)");
		return EXIT_CONFIG;
	}
	if (group == NULL) {
		log_warn("no community: set VK_GROUP_ID or use --group-id N");
		return EXIT_CONFIG;
	}
	conf.group = group;
	if ((bo = getenv("VKPIPE_BACKOFF_MS")) != NULL && *bo &&
	    backoff_env(bo, &conf.backoff_min_ms, &conf.backoff_max_ms) == -1) {
		log_warn("VKPIPE_BACKOFF_MS wants MIN,MAX in milliseconds, e.g. 500,30000");
		return EXIT_CONFIG;
	}
	if (api_url == NULL && ((api_url = getenv("VK_API_URL")) == NULL || !*api_url))
		api_url = VKAPI_DEFAULT_URL;
	if (strncmp(api_url, "https://", 8) != 0 && strncmp(api_url, "http://", 7) != 0) {
		log_warn("API URL '%s' is not http:// or https://", api_url);
		return EXIT_CONFIG;
	}
	switch (token_load(token_file, "VK_TOKEN", &token, err, sizeof(err))) {
	case TOKEN_WARN:
		log_warn("%s", err);
		break;
	case TOKEN_OK:
		break;
	default:
		log_warn("%s", err);
		return EXIT_CONFIG;
	}
	if (conf.state) {
		switch (state_load(conf.state, group, &ts, err, sizeof(err))) {
		case -1:
			log_warn("%s", err);
			free(token);
			return EXIT_CONFIG;
		case 1:
			log_info("no state file %s yet: starting from the newest events",
			    conf.state);
			break;
		}
	}

	if (ack_path && ack_open(&ack, ack_path, ack_window ? (size_t)ack_window :
	    ACK_WINDOW, err, sizeof(err)) == -1) {
		log_warn("%s", err);
		free(token);
		buf_free(&ts);
		return EXIT_CONFIG;
	}

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;	/* no SA_RESTART: blocking calls return */
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	if (vkapi_init(&api, api_url, conf.version, token, &e) == -1) {
		log_warn("%s", e.msg);
		return EXIT_CONFIG;
	}
	memset(token, 0, strlen(token));
	free(token);
	api.timeout_ms = conf.timeout_ms;
	api.stop = &stop;
	out_open(&o, STDOUT_FILENO);
	poll_init(&p, &conf, &api, &o, ack_path ? &ack : NULL, &stop);
	if (ts.len) {
		poll_resume(&p, ts.p, ts.len);
		log_info("resuming from ts %s (%s)", buf_cstr(&ts), conf.state);
	}

	rc = poll_run(&p);

	switch (rc) {
	case POLL_FATAL:
		status = EXIT_REMOTE;
		break;
	case POLL_WRITE:
		log_warn("cannot write to stdout: %s", strerror(o.err));
		status = EXIT_WRITE;
		break;
	case POLL_EPIPE:
		break;	/* the reader left: quietly, as head(1) expects */
	}
	if (p.save_failed && status == 0)
		status = EXIT_WRITE;
	log_info("%llu updates in %llu polls, %llu gaps", p.events, p.polls, p.gaps);
	if (ack_path) {
		log_info("%llu acks, %llu unknown ids ignored, %zu batches unacknowledged",
		    (unsigned long long)ack.acks, (unsigned long long)ack.unknown,
		    ack_pending(&ack));
		ack_close(&ack);
	}
	poll_free(&p);
	out_close(&o);
	vkapi_free(&api);
	buf_free(&ts);
	return status;
}
