/* tool.c - main()'s shared set-up: usage, signal flags, token and API URL. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "token.h"
#include "tool.h"
#include "vkapi.h"

volatile sig_atomic_t tool_stop, tool_stats, tool_hup, tool_chld;
static const char *usage_text = "";
static volatile sig_atomic_t hard;	/* TOOL_SIG_HARD */

void
tool_init(const char *argv0, const char *text)
{
	log_init(argv0);
	usage_text = text;
}

void
usage(void)
{
	fputs(usage_text, stderr);
	exit(EXIT_USAGE);
}

int
warn_usage(const char *why)
{
	log_warn("%s", why);
	return EXIT_USAGE;
}

static void
on_signal(int sig)
{
	switch (sig) {
	case SIGUSR1: tool_stats |= 1; break;	/* bit 1: other bits are timers' (metrics.h) */
	case SIGHUP: tool_hup = 1; break;
	case SIGCHLD: tool_chld = 1; break;
	default:
		if (tool_stop && hard)	/* asked twice: do not wait any longer */
			_exit(EXIT_PARTIAL);
		if (tool_stop < 100)
			tool_stop++;
		break;
	}
}

void
tool_sigset(int mask, sigset_t *set)
{
	sigemptyset(set);
	if (mask & TOOL_SIG_STOP) {
		sigaddset(set, SIGTERM);
		sigaddset(set, SIGINT);
	}
	if (mask & TOOL_SIG_STATS)
		sigaddset(set, SIGUSR1);
	if (mask & TOOL_SIG_HUP)
		sigaddset(set, SIGHUP);
	if (mask & TOOL_SIG_CHLD)
		sigaddset(set, SIGCHLD);
	if (mask & TOOL_SIG_ALRM)
		sigaddset(set, SIGALRM);
}

void
tool_signals(int mask)
{
	static const int sigs[] = { SIGTERM, SIGINT, SIGUSR1, SIGHUP, SIGCHLD };
	struct sigaction sa;
	sigset_t set;
	size_t k;

	tool_sigset(mask, &set);
	hard = (mask & TOOL_SIG_HARD) != 0;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	for (k = 0; k < sizeof(sigs) / sizeof(sigs[0]); k++)
		if (sigismember(&set, sigs[k]))
			sigaction(sigs[k], &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
}

int
tool_token(const char *file, int required, char **tok)
{
	char err[512];

	*tok = NULL;
	switch (token_load(file, "VK_TOKEN", tok, err, sizeof(err))) {
	case TOKEN_WARN:
		log_warn("%s", err);
		/* FALLTHROUGH */
	case TOKEN_OK:
		return 0;
	case TOKEN_NONE:
		if (!required)
			return 0;
		/* FALLTHROUGH */
	default:
		log_warn("%s", err);
		free(*tok);
		*tok = NULL;
		return -1;
	}
}

void
tool_token_free(char *tok)
{
	if (tok != NULL) {
		memset(tok, 0, strlen(tok));
		free(tok);
	}
}

const char *
tool_api_url(const char *flag)
{
	const char *url = flag;

	if (url == NULL && ((url = getenv("VK_API_URL")) == NULL || *url == '\0'))
		url = VKAPI_DEFAULT_URL;
	if (strncmp(url, "https://", 8) != 0 && strncmp(url, "http://", 7) != 0) {
		log_warn("API URL '%s' is not http:// or https://", url);
		return NULL;
	}
	return url;
}
