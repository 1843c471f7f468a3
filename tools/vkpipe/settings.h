/*
 * settings.h - vkpipe's configuration, read from the environment.
 *
 * Every variable is checked here, before anything starts, and nothing is
 * written: --check and the run read the same struct. The token and the
 * callback secret are taken out of the environment at once, so that no
 * stage started later inherits them (see stage.h for how they travel).
 */
#ifndef VKPIPE_SETTINGS_H
#define VKPIPE_SETTINGS_H

#include <stddef.h>

enum source { SOURCE_POLL, SOURCE_CALLBACK };

struct settings {
	enum source	 source;
	const char	*source_prog;	/* "vk-poll" or "vk-callback" */
	const char	*group;		/* VK_GROUP_ID, checked */
	long long	 dedup;		/* VKPIPE_DEDUP; 0: off */
	const char	*state_dir;	/* VKPIPE_STATE_DIR */
	const char	*rules;		/* VKPIPE_RULES, or NULL */
	char		*builtin;	/* the built-in rules (Redis, AMQP URLs), or NULL */
	const char	*listen;	/* VKPIPE_LISTEN (callback) */
	const char	*call_socket;	/* VKPIPE_CALL_SOCKET, or NULL */
	char		*token;		/* VK_TOKEN's value, or NULL */
	const char	*token_file;	/* VK_TOKEN_FILE, or NULL */
	char		*secret;	/* VK_CALLBACK_SECRET's value, or NULL */
	const char	*secret_file;	/* VK_CALLBACK_SECRET_FILE, or NULL */
	const char	*run_base;	/* where the run directory goes */
	const char	*metrics;	/* VKPIPE_METRICS, or NULL */
	const char	*metrics_interval;	/* VKPIPE_METRICS_INTERVAL, checked ("15") */
};

/*
 * Fill s from the environment. Returns 0, or the exit status (3) after a
 * message naming the variable at fault. Nothing is created.
 */
int	settings_load(struct settings *s);
/* Wipe and free the secrets. */
void	settings_free(struct settings *s);
/* VAR's value (NULL when unset or empty), as every part of vkpipe reads it. */
const char *setting(const char *var);
/*
 * Say "vkpipe: MSG" (an error) and return status. With an env file read
 * (envfile.h), the message is prefixed with the file and line that set var.
 */
int	settings_fail(int status, const char *var, const char *fmt, ...)
	    __attribute__((format(printf, 3, 4)));

#endif
