/* main.c - vkpipe: vk-poll | vk-normalize | vk-route as one service, from the environment. */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "envfile.h"
#include "log.h"
#include "run.h"
#include "settings.h"
#include "tool.h"
#include "user.h"

#define UNIT_USER	"vkpipe"	/* User= of vkpipe.service */

static const char usage_text[] =
"usage: vkpipe [--check [--env-file FILE] [--user NAME] | --reload PID |\n"
"              --version | --help]\n";

static const char help_text[] =
"Runs vk-poll | vk-normalize | vk-route from the environment:\n"
"  VKPIPE_SOURCE               poll (default): Bots Long Poll through vk-poll;\n"
"                              callback: the Callback API through vk-callback\n"
"                              instead, with the same acks, dedup and state\n"
"  VK_TOKEN or VK_TOKEN_FILE   the community token (required); never passed\n"
"                              on to vk-route or its handlers\n"
"  VK_GROUP_ID                 the community id (required)\n"
"  VKPIPE_RULES                rules file for vk-route (default: built in)\n"
"  VKPIPE_REDIS_URL            with the built-in rules: publish each event to\n"
"                              the channel named after its event_type there\n"
"  VKPIPE_AMQP_URL             with the built-in rules: each event to the durable\n"
"                              RabbitMQ queue named after its event_type there\n"
"                              (amqp://[user:password@]host[:port][/vhost], amqps://)\n"
"  VKPIPE_STATE_DIR            where vk-poll keeps its ts and vk-route its\n"
"                              window of recent event ids (default /var/lib/vkpipe)\n"
"  VKPIPE_DEDUP                how many recent event ids vk-route remembers to\n"
"                              drop duplicates (0 to 100000000, default 100000; 0: off)\n"
"  VKPIPE_CALL_SOCKET          also run vk-call --listen on this Unix socket,\n"
"                              with the token; handlers find its path in the\n"
"                              same variable and send API requests there\n"
"  VK_API_URL                  the VK API base (tests, proxies)\n"
"  VKPIPE_METRICS              every stage's counters in this Prometheus text\n"
"                              file (node_exporter's textfile collector)\n"
"  VKPIPE_METRICS_INTERVAL     seconds between its rewrites (default 15)\n"
"  VKPIPE_LISTEN               callback: where vk-callback listens\n"
"                              (HOST:PORT, default 127.0.0.1:8080)\n"
"  VK_CALLBACK_CONFIRM         callback: the confirmation code\n"
"  VK_CALLBACK_SECRET or VK_CALLBACK_SECRET_FILE\n"
"                              callback: the secret key VK sends; never passed\n"
"                              on to any other stage or handler\n"
"  VKPIPE_POLL_ARGS, VKPIPE_CALLBACK_ARGS, VKPIPE_NORMALIZE_ARGS,\n"
"  VKPIPE_ROUTE_ARGS, VKPIPE_CALL_ARGS\n"
"                              more options for each stage (split at white\n"
"                              space, no file name expansion)\n"
"  --check     check every setting, as each stage would, and exit; writes nothing\n"
"  --env-file FILE  with --check: the variables of FILE alone, read as systemd's\n"
"              EnvironmentFile= reads it, checked as the unit's user (" UNIT_USER ")\n"
"  --user NAME with --check: check as user NAME (root only)\n"
"  --reload PID  check the rules as vk-route would take them, then send SIGHUP\n"
"              to PID (the running vkpipe; systemd's ExecReload= $MAINPID)\n"
"  --version   the version\n"
"Signals: TERM, INT stop polling and let the rest drain; HUP makes vk-route\n"
"reload its rules and reopen its files; USR1 makes every stage write its\n"
"statistics to stderr. Under systemd: Type=notify, WatchdogSec= (see vkpipe(1)).\n";

static int
bad_usage(const char *why)
{
	log_err("%s; usage: vkpipe [--check | --version | --help]", why);
	return EXIT_USAGE;
}

/*
 * systemctl reload: the rules (the one thing a reload changes) checked
 * first, as vk-route would take them, so that bad rules fail the reload
 * visibly; the running service keeps its rules either way. Not a whole
 * --check: vk-callback's listen address is in use by the service itself.
 */
static int
reload_rules(const char *pid_arg)
{
	struct settings s;
	char *end;
	long pid;
	int st, rules;

	errno = 0;
	pid = strtol(pid_arg, &end, 10);
	if (errno || *end || pid < 2)
		return bad_usage("--reload takes the pid of the running vkpipe");
	if ((st = settings_load(&s)) == 0 && (st = check_stage(&s, STAGE_ROUTE, &rules)) == 0 &&
	    kill((pid_t)pid, SIGHUP) == -1) {
		log_err("cannot signal vkpipe (pid %ld): %s", pid, strerror(errno));
		st = EXIT_CONFIG;
	}
	if (st)
		log_err("not reloaded: the service keeps the rules it runs with");
	settings_free(&s);
	return st;
}

int
main(int argc, char **argv)
{
	enum { O_CHECK = 256, O_ENVFILE, O_USER, O_RELOAD, O_VERSION };
	static const struct option opts[] = {
		{ "check", no_argument, NULL, O_CHECK },
		{ "env-file", required_argument, NULL, O_ENVFILE },
		{ "user", required_argument, NULL, O_USER },
		{ "reload", required_argument, NULL, O_RELOAD },
		{ "version", no_argument, NULL, O_VERSION },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	const char *env_file = NULL, *user = NULL, *reload = NULL;
	struct settings s;
	char why[300];
	int c, check = 0, rules, st;

	log_init("vkpipe");
	signal(SIGPIPE, SIG_IGN);
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+h", opts, NULL)) != -1) {
		switch (c) {
		case O_CHECK: check = 1; break;
		case O_ENVFILE: env_file = optarg; break;
		case O_USER: user = optarg; break;
		case O_RELOAD: reload = optarg; break;
		case O_VERSION:
			puts("vkpipe " VKPIPE_VERSION);
			return 0;
		case 'h':
			fputs(usage_text, stdout);
			fputs(help_text, stdout);
			return 0;
		default:
			snprintf(why, sizeof(why), "unknown argument '%s'", argv[optind - 1]);
			return bad_usage(why);
		}
	}
	if (optind < argc) {
		snprintf(why, sizeof(why), "unknown argument '%s'", argv[optind]);
		return bad_usage(why);
	}
	if ((env_file || user) && !check)
		return bad_usage("--env-file and --user go with --check");
	if (reload && check)
		return bad_usage("--reload checks what it reloads: no --check with it");
	if (reload)
		return reload_rules(reload);

	/* systemd's part first (it reads the file as root), then its user's */
	if (env_file && envfile_apply(env_file) == -1)
		return EXIT_CONFIG;
	if (user ? user_become(user, 1) == -1 :
	    env_file && user_become(UNIT_USER, 0) == -1)
		return EXIT_CONFIG;
	if ((st = settings_load(&s)) != 0 || (st = check_stages(&s, &rules)) != 0 || check) {
		settings_free(&s);
		return st;
	}
	st = run_pipeline(&s, rules);
	settings_free(&s);
	return st;
}
