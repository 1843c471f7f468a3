/* main.c - vk-callback: VK Callback API events as NDJSON on stdout. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "metrics.h"
#include "net.h"
#include "opt.h"
#include "server.h"
#include "setup.h"
#include "token.h"
#include "tool.h"
#include "vkapi.h"

#define DEFAULT_LISTEN	"127.0.0.1:8080"
#define DEFAULT_HOLD_S	20		/* --ack-timeout */
#define DEFAULT_BODY	(1u << 20)	/* --max-body */
#define DEDUP_IDS	100000		/* the window: at most this many event_ids, */
#define DEDUP_SECS	(3 * 3600)	/* kept this long */
#define PEM_MAX		(1u << 20)
#define CONFIRM_MAX	64
#define GROUP_MAX	999999999999LL

static const char usage_text[] =
"usage: vk-callback [--listen HOST:PORT] [--confirm CODE] [--secret-file FILE]\n"
"                   [--group-id N] [--ack PATH [--ack-timeout SECONDS]]\n"
"                   [--max-body BYTES] [--tls-cert FILE --tls-key FILE] [-v]\n"
"                   [--alive FILE] [--stats] [--check]\n"
"                   [--metrics FILE [--metrics-interval SECS]]\n"
"       vk-callback --setup URL [--group-id N] [--token-file FILE]\n"
"                   [--secret-file FILE] [--api-url URL]\n";

static const char help_text[] =
"Receive a VK community's Callback API events; write each to stdout, one line each.\n"
"\n"
"  --listen HOST:PORT  where to listen (default " DEFAULT_LISTEN "; port 0: any)\n"
"  --confirm CODE      the confirmation code (or VK_CALLBACK_CONFIRM)\n"
"  --secret-file FILE  the secret key VK sends (or VK_CALLBACK_SECRET)\n"
"  --group-id N        refuse other communities' events (or VK_GROUP_ID)\n"
"  --ack PATH          answer ok only once the event_id came back on PATH\n"
"                      (a FIFO; vk-route --ack PATH writes it)\n"
"  --ack-timeout N     answer 503 to an event not safe within N seconds\n"
"                      (default 20)\n"
"  --max-body BYTES    refuse bigger bodies with 413 (default 1048576)\n"
"  --alive FILE        touch FILE as the loop turns, every second at least\n"
"                      (a health check's mark: its mtime says alive)\n"
"  --tls-cert FILE     serve https with this PEM certificate chain...\n"
"  --tls-key FILE      ...and this PEM private key\n"
"  --setup URL         register URL as the community's callback server, turn\n"
"                      the events on, print the confirmation code, exit\n"
"  --token-file FILE   --setup: the community token (or VK_TOKEN)\n"
"  --api-url URL       --setup: API base (or VK_API_URL; default " VKAPI_DEFAULT_URL ")\n"
"  --stats             write statistics to stderr at exit (always on SIGUSR1)\n"
"  --metrics FILE      keep the counters in FILE, Prometheus text, replaced\n"
"                      every --metrics-interval seconds (15) and at exit\n"
"  --check             check the options, environment, secret and TLS files and\n"
"                      the address (bound and closed: in use fails); exit\n"
"  -v, --verbose       log confirmations, retries and held answers on stderr\n"
"  -h, --help          this help;  --version  the version\n";

static metrics mx;	/* --metrics */

/* The counters into the --metrics file (vkpipe(1), STATISTICS). */
static void
callback_metrics(const struct server_stats *st)
{
	static unsigned long long seen;
	static time_t last;

	if (mx.path == NULL)
		return;
	if (st->lines != seen) {	/* the clock read per write, not per event */
		seen = st->lines;
		last = time(NULL);
	}
	metrics_counter(&mx, "vkpipe_callback_events_total",
	    "Events written (VK's requests that carried a new event).",
	    (double)st->lines);
	metrics_counter(&mx, "vkpipe_callback_repeats_total",
	    "Events VK sent again, answered ok and not written twice.",
	    (double)st->dups);
	metrics_counter(&mx, "vkpipe_callback_unsafe_total",
	    "Events answered 503: not acknowledged in time (VK sends them again).",
	    (double)st->held_out);
	metrics_counter(&mx, "vkpipe_callback_refused_total",
	    "Requests refused (secret, community, size, shape).",
	    (double)st->refused);
	metrics_counter(&mx, "vkpipe_callback_confirmations_total",
	    "Confirmation requests answered.", (double)st->confirms);
	metrics_counter(&mx, "vkpipe_callback_cut_total",
	    "Connections cut: too slow a request, or room made for another.",
	    (double)st->cut);
	metrics_gauge(&mx, "vkpipe_callback_held_answers",
	    "Answers waiting for their acknowledgement.", (double)st->held);
	metrics_gauge(&mx, "vkpipe_callback_last_event_timestamp_seconds",
	    "When the last event was written, to within the interval (0: never).",
	    (double)last);
	metrics_flush(&mx);
}

/* VK's codes are a few letters and digits: anything else is a mistake. */
static int
confirm_ok(const char *s)
{
	size_t n = strlen(s), i;

	for (i = 0; i < n; i++)
		if (s[i] <= ' ' || s[i] == 0x7f)
			return 0;
	return n > 0 && n <= CONFIRM_MAX;
}

/* A whole PEM file into a NUL-terminated string, or NULL with err set. */
static char *
slurp(const char *path, char *err, size_t errlen)
{
	buf b = BUF_INIT;
	char chunk[4096];
	ssize_t r;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		snprintf(err, errlen, "cannot read %s: %s", path, strerror(errno));
		return NULL;
	}
	while ((r = read(fd, chunk, sizeof(chunk))) != 0) {
		if (r == -1 && errno == EINTR)
			continue;
		if (r == -1 || b.len + (size_t)r > PEM_MAX) {
			snprintf(err, errlen, "cannot read %s: %s", path,
			    r == -1 ? strerror(errno) : "too big for a PEM file");
			close(fd);
			buf_free(&b);
			return NULL;
		}
		buf_put(&b, chunk, (size_t)r);
	}
	close(fd);
	return buf_cstr(&b);
}

static void
wipe_free(char *s)
{
	if (s) {
		memset(s, 0, strlen(s));
		free(s);
	}
}

/* --setup: through the VK API, then exit. */
static int
run_setup(const char *url, const char *group, const char *token_file, const char *api_url,
    const char *secret)
{
	char *token = NULL;
	vkapi api;
	vkapi_err e;
	int rc;

	if (strncmp(url, "https://", 8) != 0 && strncmp(url, "http://", 7) != 0) {
		log_warn("--setup %s: not an http:// or https:// URL", url);
		return EXIT_USAGE;
	}
	if (group == NULL) {
		log_warn("--setup needs the community: set VK_GROUP_ID or use --group-id N");
		return EXIT_CONFIG;
	}
	if ((api_url = tool_api_url(api_url)) == NULL || tool_token(token_file, 1, &token) == -1)
		return EXIT_CONFIG;
	rc = vkapi_init(&api, api_url, VKAPI_DEFAULT_VERSION, token, &e);
	wipe_free(token);
	if (rc == -1) {
		log_warn("%s", e.msg);
		return EXIT_CONFIG;
	}
	api.stop = &tool_stop;
	vkapi_set_secret(&api, secret);
	rc = setup_run(&api, group, url, secret, stdout, &e);
	vkapi_free(&api);
	if (rc == -1) {
		if (e.status == VKAPI_EAPI)
			log_warn("VK refused (error %ld): %s", e.code, e.msg);
		else
			log_warn("%s", e.msg[0] ? e.msg : "cannot write to stdout");
		return EXIT_REMOTE;
	}
	return 0;
}

int
main(int argc, char *argv[])
{
	enum { O_LISTEN = 256, O_CONFIRM, O_SECRETFILE, O_SECRET, O_GROUP, O_ACK,
	    O_ACKTIMEOUT, O_MAXBODY, O_SETUP, O_TOKFILE, O_TOKEN, O_URL, O_CERT, O_KEY,
	    O_CHECK, O_STATS, O_VERSION, O_ALIVE, O_METRICS, O_METRICS_INT };
	static const struct option opts[] = {
		{ "listen", required_argument, NULL, O_LISTEN },
		{ "confirm", required_argument, NULL, O_CONFIRM },
		{ "secret-file", required_argument, NULL, O_SECRETFILE },
		{ "secret", required_argument, NULL, O_SECRET },
		{ "group-id", required_argument, NULL, O_GROUP },
		{ "ack", required_argument, NULL, O_ACK },
		{ "ack-timeout", required_argument, NULL, O_ACKTIMEOUT },
		{ "max-body", required_argument, NULL, O_MAXBODY },
		{ "setup", required_argument, NULL, O_SETUP },
		{ "token-file", required_argument, NULL, O_TOKFILE },
		{ "token", required_argument, NULL, O_TOKEN },
		{ "api-url", required_argument, NULL, O_URL },
		{ "tls-cert", required_argument, NULL, O_CERT },
		{ "tls-key", required_argument, NULL, O_KEY },
		{ "check", no_argument, NULL, O_CHECK },
		{ "alive", required_argument, NULL, O_ALIVE },
		{ "stats", no_argument, NULL, O_STATS },
		{ "metrics", required_argument, NULL, O_METRICS },
		{ "metrics-interval", required_argument, NULL, O_METRICS_INT },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, O_VERSION },
		{ NULL, 0, NULL, 0 }
	};
	struct server_conf conf = { .hold_ms = DEFAULT_HOLD_S * 1000L,
	    .max_body = DEFAULT_BODY, .dedup_ids = DEDUP_IDS, .dedup_secs = DEDUP_SECS };
	const char *listen = DEFAULT_LISTEN, *secret_file = NULL, *group = NULL;
	const char *setup = NULL, *token_file = NULL, *api_url = NULL;
	const char *cert_file = NULL, *key_file = NULL, *metrics_path = NULL;
	double metrics_int = 0;
	char err[512], addr[300], *secret = NULL, *cert = NULL, *key = NULL;
	struct server_stats st = { 0 };
	long long hold = -1;
	int c, rc, status = 0, secret_argv = 0, token_argv = 0, check = 0, stats = 0;
	opt op = { "" };

	tool_init(argv[0], usage_text);
	while ((c = getopt_long(argc, argv, "vh", opts, NULL)) != -1) {
		switch (c) {
		case O_LISTEN: listen = optarg; break;
		case O_CONFIRM: conf.confirm = optarg; break;
		case O_SECRETFILE: secret_file = optarg; break;
		case O_SECRET: secret_argv = 1; break;
		case O_GROUP: group = optarg; opt_num(&op, "--group-id", optarg, 1, GROUP_MAX); break;
		case O_ACK: conf.ack_path = optarg; break;
		case O_ALIVE: conf.alive_path = optarg; break;
		case O_ACKTIMEOUT: hold = opt_num(&op, "--ack-timeout", optarg, 1, 3600); break;
		case O_MAXBODY:
			conf.max_body = (size_t)opt_num(&op, "--max-body", optarg, 64, 64LL << 20);
			break;
		case O_SETUP: setup = optarg; break;
		case O_TOKFILE: token_file = optarg; break;
		case O_TOKEN: token_argv = 1; break;
		case O_URL: api_url = optarg; break;
		case O_CERT: cert_file = optarg; break;
		case O_KEY: key_file = optarg; break;
		case O_CHECK: check = 1; break;
		case O_STATS: stats = 1; break;
		case O_METRICS: metrics_path = optarg; break;
		case O_METRICS_INT:
			metrics_int = opt_secs(&op, "--metrics-interval", optarg, 0.01, 86400);
			break;
		case 'v': log_verbose = 1; break;
		case 'h':
			fputs(usage_text, stdout);
			fputs(help_text, stdout);
			return 0;
		case O_VERSION:
			puts("vk-callback " VKPIPE_VERSION);
			return 0;
		default:
			usage();
		}
	}

	/* The options, clean and consistent: one check a line. */
	if (secret_argv)
		return warn_usage("the secret is never a command-line argument (ps(1) shows "
		    "it to everyone): set VK_CALLBACK_SECRET or use --secret-file FILE");
	if (token_argv)
		return warn_usage(TOKEN_ARGV_MSG);
	if (op.err[0])
		return warn_usage(op.err);
	if (optind < argc) {
		log_warn("unexpected argument '%s'", argv[optind]);
		usage();
	}
	if (conf.confirm && !confirm_ok(conf.confirm))
		return warn_usage("--confirm wants the code VK shows: 1 to 64 printable "
		    "characters, no white space");
	if ((cert_file == NULL) != (key_file == NULL))
		return warn_usage("--tls-cert and --tls-key go together");
	if (metrics_int && metrics_path == NULL)
		return warn_usage("--metrics-interval only goes with --metrics FILE");
	if (hold != -1 && conf.ack_path == NULL)
		return warn_usage("--ack-timeout only goes with --ack PATH");
	if (setup && check)
		return warn_usage("--check is for serving: --setup itself changes nothing "
		    "it has not printed");
	if (setup && (conf.ack_path || cert_file || conf.confirm))
		return warn_usage("--setup registers the server and exits: --ack, --confirm "
		    "and --tls-* are for serving");
	if (hold != -1)
		conf.hold_ms = hold * 1000L;

	/* Configuration: a flag beats the environment. */
	if (group == NULL && (group = getenv("VK_GROUP_ID")) != NULL && *group &&
	    (opt_num(&op, "VK_GROUP_ID", group, 1, GROUP_MAX), op.err[0])) {
		log_warn("%s", op.err);
		return EXIT_CONFIG;
	}
	if (group && *group)
		conf.ev.group = opt_num(&op, "--group-id", group, 1, GROUP_MAX);
	else
		group = NULL;
	switch (secret_load(secret_file, "VK_CALLBACK_SECRET", "callback secret",
	    "--secret-file", &secret, err, sizeof(err))) {
	case TOKEN_WARN:
		log_warn("%s", err);
		break;
	case TOKEN_OK:
		break;
	case TOKEN_NONE:
		if (!setup)
			log_warn("no callback secret (VK_CALLBACK_SECRET or --secret-file "
			    "FILE): whoever finds the URL can send events");
		break;
	default:
		log_warn("%s", err);
		return EXIT_CONFIG;
	}
	unsetenv("VK_CALLBACK_SECRET");	/* not for the environment of anything after */
	if (setup) {
		rc = run_setup(setup, group, token_file, api_url, secret);
		wipe_free(secret);
		return rc;
	}
	if (secret) {
		conf.ev.secret = secret;
		conf.ev.secret_len = strlen(secret);
	}
	if (conf.confirm == NULL && (conf.confirm = getenv("VK_CALLBACK_CONFIRM")) != NULL &&
	    *conf.confirm && !confirm_ok(conf.confirm)) {
		log_warn("VK_CALLBACK_CONFIRM is not a confirmation code (1 to %d printable "
		    "characters, no white space)", CONFIRM_MAX);
		wipe_free(secret);
		return EXIT_CONFIG;
	}
	if (conf.confirm && !*conf.confirm)
		conf.confirm = NULL;
	if (cert_file && ((cert = slurp(cert_file, err, sizeof(err))) == NULL ||
	    (key = slurp(key_file, err, sizeof(err))) == NULL)) {
		log_warn("%s", err);
		wipe_free(secret);
		free(cert);
		return EXIT_CONFIG;
	}
	conf.tls_cert = cert;
	conf.tls_key = key;
	if (metrics_path && metrics_check(metrics_path, err, sizeof(err)) == -1) {
		log_warn("%s", err);
		status = EXIT_CONFIG;
		goto out;
	}
	if (check) {	/* all is checked: nothing bound, nothing written */
		if (net_check(listen, err, sizeof(err)) == -1) {
			log_warn("%s", err);
			status = EXIT_CONFIG;
		}
		goto out;
	}

	tool_signals(TOOL_SIG_STOP | TOOL_SIG_STATS);

	if ((conf.listen_fd = net_listen(listen, addr, sizeof(addr), err, sizeof(err))) == -1) {
		log_warn("%s", err);
		status = EXIT_CONFIG;
		goto out;
	}
	log_note("listening on %s", addr);

	if (metrics_open(&mx, metrics_path, metrics_int ? metrics_int : 15, &tool_stats,
	    err, sizeof(err)) == -1)
		log_warn("%s", err);	/* checked above: a timer that will not start */
	conf.metrics = callback_metrics;
	callback_metrics(&st);
	rc = server_run(&conf, &tool_stop, &tool_stats, &st, err, sizeof(err));

	switch (rc) {
	case SERVER_SETUP:
		log_warn("%s", err);
		status = EXIT_CONFIG;
		break;
	case SERVER_WRITE:
		log_warn("%s", err);
		status = EXIT_PARTIAL;
		break;
	case SERVER_EPIPE:
		break;	/* the reader left: quietly, as vk-poll does */
	}
	if (stats || (tool_stats & ~METRICS_DUE) || log_verbose)
		server_stats_log(&st);
	callback_metrics(&st);
	metrics_close(&mx);
out:
	wipe_free(secret);
	wipe_free(key);
	free(cert);
	return status;
}
