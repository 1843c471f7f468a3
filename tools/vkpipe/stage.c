/* stage.c - each stage's command line. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "stage.h"

#define POLL_ACK_DRAIN	"25"	/* seconds */

struct argv {
	char	**v;
	size_t	  n, cap;
};

static void
add(struct argv *a, const char *s)
{
	if (a->n + 2 > a->cap) {
		a->cap = a->cap ? a->cap * 2 : 16;
		a->v = xrealloc(a->v, a->cap * sizeof(*a->v));
	}
	a->v[a->n++] = s ? xstrdup(s) : NULL;
	a->v[a->n] = NULL;
}

/*
 * The more options a *_ARGS variable holds: split at white space, each
 * word as it is (never expanded as a file name, no quotes), as the
 * shell's $VAR without globbing did.
 */
static void
add_words(struct argv *a, const char *var)
{
	const char *s = getenv(var), *e;
	char *w;

	if (!s)
		return;
	for (;;) {
		while (*s == ' ' || *s == '\t' || *s == '\n')
			s++;
		if (!*s)
			break;
		for (e = s; *e && *e != ' ' && *e != '\t' && *e != '\n'; e++)
			;
		w = xstrndup(s, (size_t)(e - s));
		add(a, w);
		free(w);
		s = e;
	}
}

const char *
stage_prog(const struct settings *s, enum stage_id id)
{
	switch (id) {
	case STAGE_ROUTE: return "vk-route";
	case STAGE_CALL: return "vk-call";
	case STAGE_NORMALIZE: return "vk-normalize";
	default: return s->source_prog;
	}
}

const char *
stage_vars(const struct settings *s, enum stage_id id)
{
	switch (id) {
	case STAGE_ROUTE:
		return s->rules ? "VKPIPE_RULES, VKPIPE_DEDUP, VKPIPE_ROUTE_ARGS" :
		    "VKPIPE_REDIS_URL, VKPIPE_AMQP_URL, VKPIPE_DEDUP, VKPIPE_ROUTE_ARGS";
	case STAGE_CALL: return "VKPIPE_CALL_SOCKET, VK_TOKEN, VK_API_URL, VKPIPE_CALL_ARGS";
	case STAGE_NORMALIZE: return "VK_TOKEN, VK_API_URL, VKPIPE_NORMALIZE_ARGS";
	default:
		return s->source == SOURCE_CALLBACK ? "VKPIPE_LISTEN, VK_GROUP_ID, "
		    "VK_CALLBACK_SECRET, VK_CALLBACK_CONFIRM, VKPIPE_CALLBACK_ARGS" :
		    "VK_TOKEN, VK_GROUP_ID, VK_API_URL, VKPIPE_STATE_DIR, VKPIPE_POLL_ARGS";
	}
}

int
stage_wanted(const struct settings *s, enum stage_id id)
{
	return id != STAGE_CALL || s->call_socket != NULL;
}

char **
stage_argv(const struct settings *s, enum stage_id id, const struct stage_paths *p,
    const char *extra)
{
	struct argv a = { NULL, 0, 0 };
	char path[4096];

	add(&a, stage_prog(s, id));
	if (extra)
		add(&a, extra);
	if (p->metrics) {	/* its own file; vkpipe merges them (run.c) */
		add(&a, "--metrics");
		add(&a, p->metrics);
		add(&a, "--metrics-interval");
		add(&a, s->metrics_interval);
	}
	switch (id) {
	case STAGE_ROUTE:
		/* End to end: vk-route acknowledges each event once delivered,
		 * and the source takes it as done only then; after a crash the
		 * unacknowledged come again, and vk-route drops what it had
		 * already delivered. */
		if (s->dedup > 0) {
			char n[32];

			snprintf(n, sizeof(n), "%lld", s->dedup);
			snprintf(path, sizeof(path), "%s/vk-route.dedup", s->state_dir);
			add(&a, "--dedup");
			add(&a, n);
			add(&a, "--dedup-state");
			add(&a, path);
		}
		add(&a, "--ack");
		add(&a, p->ack);
		add(&a, p->rules ? "-c" : "-e");
		add(&a, p->rules ? p->rules : "* -> stdout");
		add_words(&a, "VKPIPE_ROUTE_ARGS");
		break;
	case STAGE_CALL:
		/* The outbound side, beside the pipeline: handlers' API
		 * requests, under the one rate limit, with the token. */
		if (p->token_file) {
			add(&a, "--token-file");
			add(&a, p->token_file);
		}
		snprintf(path, sizeof(path), "unix:%s", s->call_socket);
		add(&a, "--listen");
		add(&a, path);
		add_words(&a, "VKPIPE_CALL_ARGS");
		break;
	case STAGE_NORMALIZE:
		if (p->token_file) {
			add(&a, "--token-file");
			add(&a, p->token_file);
		}
		add_words(&a, "VKPIPE_NORMALIZE_ARGS");
		break;
	default:
		if (s->source == SOURCE_CALLBACK) {
			/* No state of its own: VK resends what got no ok, and
			 * vk-callback answers ok only once vk-route acknowledged it. */
			add(&a, "--listen");
			add(&a, s->listen);
			add(&a, "--group-id");
			add(&a, s->group);
			if (p->secret_file) {
				add(&a, "--secret-file");
				add(&a, p->secret_file);
			}
			add(&a, "--ack");
			add(&a, p->ack);
			if (p->alive) {
				add(&a, "--alive");
				add(&a, p->alive);
			}
			add_words(&a, "VKPIPE_CALLBACK_ARGS");
			break;
		}
		if (p->token_file) {
			add(&a, "--token-file");
			add(&a, p->token_file);
		}
		snprintf(path, sizeof(path), "%s/vk-poll.ts", s->state_dir);
		add(&a, "--group-id");
		add(&a, s->group);
		add(&a, "--state");
		add(&a, path);
		add(&a, "--ack");
		add(&a, p->ack);
		/* On SIGTERM, vk-poll saves the ts of what vk-route acknowledged
		 * while the rest drains: until vk-route ends (the ack channel's
		 * writer leaves), not 5 s, so a slow handler's acks still count;
		 * within systemd's TimeoutStopSec= (30 s). VKPIPE_POLL_ARGS may
		 * say otherwise: it comes after. */
		add(&a, "--ack-drain");
		add(&a, POLL_ACK_DRAIN);
		add_words(&a, "VKPIPE_POLL_ARGS");
		break;
	}
	return a.v;
}

void
stage_argv_free(char **argv)
{
	char **p;

	for (p = argv; p && *p; p++)
		free(*p);
	free(argv);
}
