/*
 * tool.h - what every vkpipe program's main() shares: the exit statuses,
 * usage errors, signal flags, SIGPIPE, and the VK token / API URL set-up.
 *
 *	int
 *	main(int argc, char *argv[])
 *	{
 *		tool_init(argv[0], usage_text);
 *		... getopt_long: default: usage();
 *		if (bad) return warn_usage("--a and --b go together");
 *		if (tool_token(token_file, 1, &token) == -1) return EXIT_CONFIG;
 *		tool_signals(TOOL_SIG_STOP | TOOL_SIG_STATS);
 *		... while (!tool_stop) ...
 *	}
 */
#ifndef VKPIPE_TOOL_H
#define VKPIPE_TOOL_H

#include <signal.h>

/*
 * The exit statuses, the same in every program and in each man page's
 * EXIT STATUS section:
 *
 *	0  all good: every line read, every Event delivered or answered
 *	   (a stop by SIGTERM/SIGINT, or the reader of the output leaving, is good)
 *	1  some lines rejected, some deliveries or requests failed, or the
 *	   output could not be written; the stream went on
 *	2  usage: a bad option or combination, nothing done
 *	3  configuration: environment, token, files, address; nothing done
 *	4  the remote side refused for good (VK refused the token, the setup)
 */
enum tool_exit {
	EXIT_OK = 0,
	EXIT_PARTIAL = 1,
	EXIT_USAGE = 2,
	EXIT_CONFIG = 3,
	EXIT_REMOTE = 4
};

/* log_init(argv0), and remember the program's SYNOPSIS for usage(). */
void	tool_init(const char *argv0, const char *usage_text);
/* The SYNOPSIS on stderr, exit 2 (getopt already said what was wrong). */
void	usage(void) __attribute__((noreturn));
/* "PROG: why" on stderr; returns EXIT_USAGE for main to return. */
int	warn_usage(const char *why);

/*
 * Signals only set flags: a handler does nothing else (the loop reads the
 * flags where it is safe). No SA_RESTART: a blocking call returns EINTR.
 * SIGPIPE is always ignored, so a write to a reader that left fails with
 * EPIPE, which the program reports and handles like the end of its output.
 */
enum {
	TOOL_SIG_STOP = 1,	/* SIGTERM, SIGINT: tool_stop counts them */
	TOOL_SIG_STATS = 2,	/* SIGUSR1: tool_stats (even where it came ignored) */
	TOOL_SIG_HUP = 4,	/* SIGHUP: tool_hup */
	TOOL_SIG_CHLD = 8,	/* SIGCHLD: tool_chld */
	TOOL_SIG_HARD = 16,	/* with STOP: a second one ends the program at once, status 1 */
	TOOL_SIG_ALRM = 32	/* SIGALRM: only in tool_sigset (metrics.h's timer has its own handler) */
};
extern volatile sig_atomic_t tool_stop, tool_stats, tool_hup, tool_chld;
/* Install the flag handler for the signals in mask; ignore SIGPIPE. */
void	tool_signals(int mask);
/* The signals of mask, to block them outside the wait (see loop.h). */
void	tool_sigset(int mask, sigset_t *set);

/*
 * The VK token: --token-file FILE, else VK_TOKEN (token.h). Warnings (a
 * file others can read) are said and the token kept. With no token at all,
 * required says so and fails; else *tok is NULL and 0 is returned. -1: said.
 * The caller wipes and frees *tok (tool_token_free).
 */
int	tool_token(const char *file, int required, char **tok);
void	tool_token_free(char *tok);
/*
 * The API base: the flag's value, else VK_API_URL when set and not empty,
 * else VKAPI_DEFAULT_URL. NULL (said) when it is not http:// or https://.
 */
const char *tool_api_url(const char *flag);

#endif
