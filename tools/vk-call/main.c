/*
 * vk-call - VK API calls from NDJSON requests, batched into execute,
 * within one rate limit for every handler.
 *
 * vk-call [--listen unix:PATH] [--connect unix:PATH] [--rate N] [--token-file FILE]
 *         [--api-url URL] [--api-version V] [--max-batch N] [--batch-window MS] [-v]
 *         [--line-timeout S] [--upload-dir DIR] [--max-upload BYTES] [--stats] [--check]
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "opt.h"
#include "sched.h"
#include "serve.h"
#include "token.h"
#include "tool.h"
#include "vkapi.h"
#include "vkasync.h"
#include "vkexec.h"

static const char usage_text[] =
"usage: vk-call [--listen unix:PATH] [--connect unix:PATH] [--rate N] [--token-file FILE]\n"
"               [--api-url URL] [--api-version V] [--max-batch N] [--batch-window MS] [-v]\n"
"               [--line-timeout S] [--upload-dir DIR] [--max-upload BYTES] [--stats]\n"
"               [--check] [--metrics FILE [--metrics-interval SECS]]\n";

static const char help_text[] =
"Read VK API requests, one JSON object per line, and write one result line\n"
"per request (results may come in another order):\n"
"  {\"id\":\"r1\",\"method\":\"messages.send\",\"params\":{\"peer_id\":2000000002,\"message\":\"pong\"}}\n"
"  {\"id\":\"r1\",\"response\":1234}\n"
"\n"
"      --listen unix:PATH   serve any number of clients on a Unix socket (mode 0660)\n"
"      --connect unix:PATH  be such a client: standard input to it, results to stdout\n"
"      --rate N             HTTP requests per second at most, retries too (default 20)\n"
"      --token-file FILE    read the VK token from FILE (else VK_TOKEN)\n"
"      --api-url URL        VK API base (VK_API_URL; https://api.vk.com/method)\n"
"      --api-version V      VK API version (default " VKAPI_DEFAULT_VERSION ")\n"
"      --max-batch N        calls per execute, 1 to 25 (default 25)\n"
"      --batch-window MS    longest a request waits for others to share an execute (10)\n"
"      --line-timeout S     with --listen: seconds a client may take to finish a line (10)\n"
"      --upload-dir DIR     stdin mode: an upload's \"file\" is opened beneath DIR only\n"
"      --max-upload BYTES   refuse bigger uploads (default VK's: 50 MB photos, 200 MB others)\n"
"  -v, --verbose            say what goes to VK and what comes back\n"
"      --stats              print counters at exit (and always on SIGUSR1)\n"
"      --metrics FILE       keep the counters in FILE, Prometheus text, replaced\n"
"                           every --metrics-interval seconds (15) and at exit\n"
"      --check              check the options, the token and the socket path; start nothing\n"
"  -h, --help               show this help\n"
"      --version            show the version\n"
"\n"
"Exit status: 0 every request answered with a response, 1 some with an error,\n"
"2 usage, 3 configuration, 4 VK refused the token.\n";

/* "unix:PATH" -> PATH, or NULL. */
static const char *
unix_path(const char *opt, const char *s)
{
	if (strncmp(s, "unix:", 5) != 0 || s[5] == '\0') {
		log_warn("%s takes unix:PATH, not '%s'", opt, s);
		return NULL;
	}
	return s + 5;
}

int
main(int argc, char *argv[])
{
	enum { O_LISTEN = 256, O_CONNECT, O_RATE, O_TOKENFILE, O_TOKEN, O_APIURL, O_APIVER,
	    O_BATCH, O_WINDOW, O_VERSION, O_CHECK, O_STATS, O_LINETIMEOUT, O_METRICS,
	    O_METRICS_INT, O_UPDIR, O_MAXUP };
	static const struct option longopts[] = {
		{ "listen",	  required_argument, NULL, O_LISTEN },
		{ "connect",	  required_argument, NULL, O_CONNECT },
		{ "rate",	  required_argument, NULL, O_RATE },
		{ "token-file",	  required_argument, NULL, O_TOKENFILE },
		{ "token",	  required_argument, NULL, O_TOKEN },
		{ "api-url",	  required_argument, NULL, O_APIURL },
		{ "api-version",  required_argument, NULL, O_APIVER },
		{ "max-batch",	  required_argument, NULL, O_BATCH },
		{ "batch-window", required_argument, NULL, O_WINDOW },
		{ "line-timeout", required_argument, NULL, O_LINETIMEOUT },
		{ "upload-dir",	  required_argument, NULL, O_UPDIR },
		{ "max-upload",	  required_argument, NULL, O_MAXUP },
		{ "verbose",	  no_argument,	     NULL, 'v' },
		{ "check",	  no_argument,	     NULL, O_CHECK },
		{ "stats",	  no_argument,	     NULL, O_STATS },
		{ "metrics",	  required_argument, NULL, O_METRICS },
		{ "metrics-interval", required_argument, NULL, O_METRICS_INT },
		{ "help",	  no_argument,	     NULL, 'h' },
		{ "version",	  no_argument,	     NULL, O_VERSION },
		{ NULL, 0, NULL, 0 }
	};
	sched_conf sc = { 20, 25, 10 };
	const char *listen_at = NULL, *connect_to = NULL, *tokfile = NULL;
	const char *api_url = NULL, *api_ver = VKAPI_DEFAULT_VERSION, *metrics_path = NULL;
	double metrics_int = 0;
	metrics mx;
	char *token = NULL, err[256];
	int c, status, check = 0, stats = 0, token_argv = 0;
	long line_timeout = 10;
	long long max_upload = 0;
	const char *updir = NULL;
	int updirfd = -1;
	opt op = { "" };
	vkapi api;
	vkasync m;
	vkapi_err e;
	sched *s;

	tool_init(argv[0], usage_text);
	while ((c = getopt_long(argc, argv, "vh", longopts, NULL)) != -1) {
		switch (c) {
		case O_LISTEN: listen_at = optarg; break;
		case O_CONNECT: connect_to = optarg; break;
		case O_RATE: sc.rate = (int)opt_num(&op, "--rate", optarg, 1, 1000); break;
		case O_TOKENFILE: tokfile = optarg; break;
		case O_TOKEN: token_argv = 1; break;
		case O_APIURL: api_url = optarg; break;
		case O_APIVER: api_ver = optarg; break;
		case O_BATCH:
			sc.max_batch = (int)opt_num(&op, "--max-batch", optarg, 1, VKEXEC_MAX);
			break;
		case O_WINDOW: sc.window_ms = opt_num(&op, "--batch-window", optarg, 0, 10000); break;
		case O_UPDIR: updir = optarg; break;
		case O_MAXUP:
			max_upload = opt_num(&op, "--max-upload", optarg, 1, 1LL << 40);
			break;
		case O_LINETIMEOUT:
			line_timeout = opt_num(&op, "--line-timeout", optarg, 0, 86400);
			break;
		case 'v': log_verbose = 1; break;
		case O_CHECK: check = 1; break;
		case O_STATS: stats = 1; break;
		case O_METRICS: metrics_path = optarg; break;
		case O_METRICS_INT:
			metrics_int = opt_secs(&op, "--metrics-interval", optarg, 0.01, 86400);
			break;
		case 'h':
			fputs(usage_text, stdout);
			fputs(help_text, stdout);
			return EXIT_OK;
		case O_VERSION:
			puts("vk-call " VKPIPE_VERSION);
			return EXIT_OK;
		default:
			usage();
		}
	}
	if (token_argv)
		return warn_usage(TOKEN_ARGV_MSG);
	if (op.err[0]) {
		log_warn("%s", op.err);
		return EXIT_USAGE;
	}
	if (optind < argc) {
		log_warn("unexpected argument '%s'", argv[optind]);
		usage();
	}
	if (metrics_int && metrics_path == NULL) {
		log_warn("--metrics-interval only goes with --metrics FILE");
		return EXIT_USAGE;
	}
	if (listen_at && connect_to) {
		log_warn("--listen and --connect exclude each other: a server or a client");
		return EXIT_USAGE;
	}
	if (updir && (listen_at || connect_to)) {
		log_warn("--upload-dir is for stdin mode: socket clients send their "
		    "files themselves (vk-call --connect opens them)");
		return EXIT_USAGE;
	}
	if ((listen_at && (listen_at = unix_path("--listen", listen_at)) == NULL) ||
	    (connect_to && (connect_to = unix_path("--connect", connect_to)) == NULL))
		return EXIT_USAGE;
	if (connect_to) {	/* the server holds the token and the limiter */
		/* A client holds nothing to finish: SIGTERM ends it as usual
		 * (the server's handler would leave it waiting). */
		signal(SIGPIPE, SIG_IGN);
		return check ? EXIT_OK : connect_socket(connect_to);
	}
	if (serve_signals() == -1) {
		log_warn("cannot set up signals: %s", strerror(errno));
		return EXIT_PARTIAL;
	}

	if (tool_token(tokfile, 1, &token) == -1 || (api_url = tool_api_url(api_url)) == NULL) {
		tool_token_free(token);
		return EXIT_CONFIG;
	}
	if (metrics_path && metrics_check(metrics_path, err, sizeof(err)) == -1) {
		log_warn("%s", err);
		tool_token_free(token);
		return EXIT_CONFIG;
	}
	if (updir && (updirfd = open(updir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1) {
		log_warn("--upload-dir %s: %s", updir, strerror(errno));
		tool_token_free(token);
		return EXIT_CONFIG;
	}
	if (check) {
		tool_token_free(token);
		return listen_at && serve_check(listen_at) == -1 ? EXIT_CONFIG : EXIT_OK;
	}
	if (vkapi_init(&api, api_url, api_ver, token, &e) == -1 ||
	    vka_init(&m, &api, &e) == -1) {
		log_warn("%s", e.msg);
		return EXIT_CONFIG;
	}
	tool_token_free(token);
	if ((s = sched_new(&sc, &m, serve_result, NULL)) == NULL) {
		log_warn("out of memory");
		return EXIT_PARTIAL;
	}

	/* SIGALRM sets METRICS_DUE in tool_stats; serve.c's wait opens it */
	if (metrics_open(&mx, metrics_path, metrics_int ? metrics_int : 15, &tool_stats, err,
	    sizeof(err)) == -1)
		log_warn("%s", err);	/* checked above: a timer that will not start */
	serve_metrics_to(&mx);
	serve_uploads(updir, updirfd, max_upload);
	status = listen_at ? serve_socket(&m, s, listen_at, line_timeout) :
	    serve_stdio(&m, s);

	if (stats)
		serve_stats();
	serve_metrics();
	metrics_close(&mx);
	sched_free(s);
	vka_free(&m);
	vkapi_free(&api);
	return status;
}
