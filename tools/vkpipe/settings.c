/* settings.c - the environment, checked before anything starts. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "alloc.h"
#include "buf.h"
#include "envfile.h"
#include "log.h"
#include "metrics.h"
#include "opt.h"
#include "settings.h"
#include "tool.h"

#define GROUP_MAX	"999999999999"
#define DEDUP_MAX	"100000000"
#define DEDUP_DEFAULT	100000

const char *
setting(const char *var)
{
	const char *v = getenv(var);

	return v && *v ? v : NULL;
}

int
settings_fail(int status, const char *var, const char *fmt, ...)
{
	char msg[1024];
	const char *at = var ? envfile_origin(var) : NULL;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (at)
		log_err("%s: %s", at, msg);
	else
		log_err("%s", msg);
	return status;
}

/*
 * s is a whole number from 0 to max (given as digits): no sign, no
 * leading zero (not an octal surprise), not longer than max.
 */
static int
number(const char *s, const char *max, long long *out)
{
	size_t n = strlen(s), i;

	if (n == 0 || n > strlen(max) || (s[0] == '0' && n > 1))
		return -1;
	for (i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return -1;
	*out = strtoll(s, NULL, 10);
	return *out <= strtoll(max, NULL, 10) ? 0 : -1;
}

/* Free a secret, its bytes overwritten first. */
static void
wipe_free(char *p)
{
	if (p) {
		explicit_bzero(p, strlen(p));
		free(p);
	}
}

/* The value of var, taken out of the environment. */
static char *
take(const char *var)
{
	const char *v = getenv(var);
	char *copy = v && *v ? xstrdup(v) : NULL;

	if (v) {
		/* the environment's copy too: it is a handler's to dump otherwise */
		explicit_bzero((char *)v, strlen(v));
		unsetenv(var);
	}
	return copy;
}

/* The state directory, or the nearest directory above it that exists, is writable. */
static int
state_dir_ok(const char *dir)
{
	char *d = xstrdup(dir), *slash;
	struct stat st;
	int ok;

	for (;;) {
		if (stat(d, &st) == 0 || errno != ENOENT)
			break;
		if ((slash = strrchr(d, '/')) == NULL) {
			strcpy(d, ".");
			continue;
		}
		if (slash == d) {
			if (d[1] == '\0')
				break;
			d[1] = '\0';
		} else
			*slash = '\0';
	}
	ok = stat(d, &st) == 0 && S_ISDIR(st.st_mode) && access(d, W_OK) == 0;
	free(d);
	return ok;
}

/*
 * The built-in rules: the service vkpipe replaces put every event on the
 * Redis channel of its type and in the durable RabbitMQ queue of its type.
 */
static char *
builtin_rules(void)
{
	const char *urls[2] = { setting("VKPIPE_REDIS_URL"), setting("VKPIPE_AMQP_URL") };
	const char *what[2] = { "publish", "queue" };
	buf b = BUF_INIT;
	size_t n;
	int i;

	for (i = 0; i < 2; i++) {
		if (!urls[i])
			continue;
		n = strlen(urls[i]);
		if (urls[i][n - 1] == '/')
			n--;
		buf_puts(&b, "* -> ");
		buf_put(&b, urls[i], n);
		buf_puts(&b, "/");
		buf_puts(&b, what[i]);
		buf_puts(&b, "/{.event_type}\n");
	}
	return b.len ? buf_cstr(&b) : NULL;
}

int
settings_load(struct settings *s)
{
	const char *v;

	memset(s, 0, sizeof(*s));
	/* vk-poll, vk-normalize and vk-call get the token as a file; vk-route
	 * and the handlers it starts (code that reads hostile chat text)
	 * never see it: they ask vk-call, on VKPIPE_CALL_SOCKET. */
	s->token = take("VK_TOKEN");
	if ((v = setting("VK_TOKEN_FILE")) != NULL) {
		if (access(v, R_OK) != 0)
			return settings_fail(EXIT_CONFIG, "VK_TOKEN_FILE", "VK_TOKEN_FILE %s cannot "
			    "be read: mount the token file there, or set VK_TOKEN", v);
		s->token_file = v;
		wipe_free(s->token);
		s->token = NULL;
	} else if (!s->token)
		return settings_fail(EXIT_CONFIG, "VK_TOKEN", "no VK token: set VK_TOKEN (or "
		    "VK_TOKEN_FILE) to the community's access token (community settings, API usage)");

	/* the callback secret: the same, for vk-callback alone */
	s->secret = take("VK_CALLBACK_SECRET");
	if ((v = setting("VK_CALLBACK_SECRET_FILE")) != NULL) {
		if (access(v, R_OK) != 0)
			return settings_fail(EXIT_CONFIG, "VK_CALLBACK_SECRET_FILE",
			    "VK_CALLBACK_SECRET_FILE %s cannot be read: mount the secret file "
			    "there, or set VK_CALLBACK_SECRET", v);
		s->secret_file = v;
		wipe_free(s->secret);
		s->secret = NULL;
	}

	if ((s->group = setting("VK_GROUP_ID")) == NULL)
		return settings_fail(EXIT_CONFIG, "VK_GROUP_ID",
		    "VK_GROUP_ID is not set: set it to the community's numeric id");
	{
		long long g;

		if (number(s->group, GROUP_MAX, &g) == -1 || g < 1)
			return settings_fail(EXIT_CONFIG, "VK_GROUP_ID", "VK_GROUP_ID must be the "
			    "community's numeric id (1 to " GROUP_MAX "), not '%s'", s->group);
	}
	s->dedup = DEDUP_DEFAULT;
	if ((v = setting("VKPIPE_DEDUP")) != NULL && number(v, DEDUP_MAX, &s->dedup) == -1)
		return settings_fail(EXIT_CONFIG, "VKPIPE_DEDUP", "VKPIPE_DEDUP must be a number "
		    "of event ids from 0 (off) to " DEDUP_MAX ", not '%s'", v);

	/* The state directory, or the nearest one above it, must be
	 * writable: --check does not make it. */
	if ((s->state_dir = setting("VKPIPE_STATE_DIR")) == NULL)
		s->state_dir = "/var/lib/vkpipe";
	if (!state_dir_ok(s->state_dir))
		return settings_fail(EXIT_CONFIG, "VKPIPE_STATE_DIR", "state directory %s is not "
		    "writable: set VKPIPE_STATE_DIR or mount a volume there", s->state_dir);

	if ((s->rules = setting("VKPIPE_RULES")) != NULL) {
		if (access(s->rules, R_OK) != 0)
			return settings_fail(EXIT_CONFIG, "VKPIPE_RULES",
			    "rules file %s cannot be read", s->rules);
	} else
		s->builtin = builtin_rules();

	v = getenv("VKPIPE_SOURCE");
	if (!v || !*v || strcmp(v, "poll") == 0) {
		s->source = SOURCE_POLL;
		s->source_prog = "vk-poll";
	} else if (strcmp(v, "callback") == 0) {
		s->source = SOURCE_CALLBACK;
		s->source_prog = "vk-callback";
	} else
		return settings_fail(EXIT_CONFIG, "VKPIPE_SOURCE", "VKPIPE_SOURCE must be poll "
		    "(Bots Long Poll) or callback (the Callback API), not '%s'", v);
	if ((s->listen = setting("VKPIPE_LISTEN")) == NULL)
		s->listen = "127.0.0.1:8080";
	s->call_socket = setting("VKPIPE_CALL_SOCKET");
	if ((s->run_base = setting("RUNTIME_DIRECTORY")) == NULL &&
	    (s->run_base = setting("TMPDIR")) == NULL)
		s->run_base = "/tmp";

	/* Every stage's counters, merged into one Prometheus text file. */
	if ((s->metrics = setting("VKPIPE_METRICS")) != NULL) {
		char err[600];

		if (metrics_check(s->metrics, err, sizeof(err)) == -1)
			return settings_fail(EXIT_CONFIG, "VKPIPE_METRICS", "VKPIPE_METRICS: %s "
			    "(node_exporter's textfile directory, writable by this user)", err);
	}
	if ((s->metrics_interval = setting("VKPIPE_METRICS_INTERVAL")) != NULL) {
		opt op = { "" };

		opt_secs(&op, "VKPIPE_METRICS_INTERVAL", s->metrics_interval, 1, 86400);
		if (op.err[0])
			return settings_fail(EXIT_CONFIG, "VKPIPE_METRICS_INTERVAL", "%s", op.err);
		if (s->metrics == NULL)
			return settings_fail(EXIT_CONFIG, "VKPIPE_METRICS_INTERVAL",
			    "VKPIPE_METRICS_INTERVAL only goes with VKPIPE_METRICS=FILE");
	} else
		s->metrics_interval = "15";
	return 0;
}

void
settings_free(struct settings *s)
{
	wipe_free(s->token);
	wipe_free(s->secret);
	free(s->builtin);
	s->token = s->secret = s->builtin = NULL;
}
