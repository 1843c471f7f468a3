/* contract.c - rules checked against the Event contract's paths and event_types. */
#include <stdio.h>
#include <string.h>

#include "buf.h"
#include "contract.h"
#include "evtype.h"
#include "log.h"

/*
 * Every path an Event has, as ".a.b" with "[]" for an index; a trailing
 * '*' leaves what is below open (VK's objects, payloads, actions).
 */
static const char *const known[] = {
	".", ".event_type", ".event_id",
	".user", ".user.uuid", ".user.name", ".user.firstname", ".user.lastname", ".user.nick",
	".peer", ".peer.bpid", ".peer.cid", ".peer.name",
	".message", ".message.cmid", ".message.text",
	".message.reply", ".message.reply.cmid", ".message.reply.text", ".message.reply.uuid",
	".message.forward", ".message.forward[]", ".message.forward[].cmid",
	".message.forward[].text", ".message.forward[].uuid",
	".message.attachments", ".message.attachments[]", ".message.date",
	".message.payload*", ".message.action*",
	".button", ".button.cmid", ".button.beid", ".button.payload*",
	".reaction", ".reaction.cmid", ".reaction.rid",
	".object*",
};
#define NKNOWN	(int)(sizeof(known) / sizeof(known[0]))

/* The path as ".a.b[]" (an index of any kind is "[]"). */
static void
spell(const struct path *pa, buf *b)
{
	int k;

	buf_reset(b);
	if (pa->nstep == 0)
		buf_putc(b, '.');
	for (k = 0; k < pa->nstep; k++) {
		if (pa->step[k].key == NULL) {
			buf_puts(b, "[]");
			continue;
		}
		buf_putc(b, '.');
		buf_put(b, pa->step[k].key, pa->step[k].klen);
	}
	buf_cstr(b);
}

static int
is_known(const char *s, size_t n)
{
	size_t kl;
	int i;

	for (i = 0; i < NKNOWN; i++) {
		kl = strlen(known[i]);
		if (known[i][kl - 1] == '*') {
			kl--;
			if (n >= kl && memcmp(s, known[i], kl) == 0 &&
			    (n == kl || s[kl] == '.' || s[kl] == '['))
				return 1;
		} else if (n == kl && memcmp(s, known[i], n) == 0)
			return 1;
	}
	return 0;
}

static int
check_path(const struct rule *r, const struct path *pa, buf *b)
{
	char near[64];
	const char *nn;

	if (pa == NULL)
		return 0;
	spell(pa, b);
	if (is_known(b->p, b->len))
		return 0;
	nn = evt_nearest(b->p, b->len, known, NKNOWN);
	snprintf(near, sizeof(near), "%.*s", (int)strcspn(nn, "*"), nn);
	log_warn("%s: %s is no path of an Event (vk-event(7)); nearest: %s",
	    r->where, pa->text, near);
	return 1;
}

static int
is_event_type(const struct path *pa)
{
	return pa != NULL && pa->nstep == 1 && pa->step[0].key != NULL &&
	    pa->step[0].klen == 10 && memcmp(pa->step[0].key, "event_type", 10) == 0;
}

/* An event_type compared with the string s[0..n). */
static int
check_name(const struct rule *r, const char *s, size_t n)
{
	const char *near;

	switch (evt_event_name(s, n, &near)) {
	case 0:
		log_warn("%s: .event_type compared with \"%.*s\", no VK type and no "
		    "event_type of the seed's; nearest: %s", r->where, (int)n, s, near);
		return 1;
	case -1:
		log_warn("%s: .event_type compared with \"%.*s\", which is never an "
		    "event_type (message_new gives command or message, message_event "
		    "button, message_reaction_event reaction)", r->where, (int)n, s);
		return 1;
	}
	return 0;
}

static int
check_names(const struct rule *r, const struct lit *l)
{
	int k, w = 0;

	if (l->t == JSON_STRING)
		return check_name(r, l->s, l->n);
	if (l->t == JSON_ARRAY)
		for (k = 0; k < l->nel; k++)
			if (l->el[k].t == JSON_STRING)
				w += check_name(r, l->el[k].s, l->el[k].n);
	return w;
}

static int
check_cond(const struct rule *r, const struct cond *c, buf *b)
{
	int w = 0;

	if (c == NULL)
		return 0;
	switch (c->op) {
	case OP_ALL:
		return 0;
	case OP_AND: case OP_OR: case OP_NOT:
		return check_cond(r, c->a, b) + check_cond(r, c->b, b);
	default:
		break;
	}
	w += check_path(r, c->l.path, b) + check_path(r, c->r.path, b);
	if (c->op == OP_EQ || c->op == OP_NE || c->op == OP_IN) {
		if (is_event_type(c->l.path) && c->r.path == NULL)
			w += check_names(r, &c->r.lit);
		else if (is_event_type(c->r.path) && c->l.path == NULL &&
		    c->op != OP_IN)
			w += check_names(r, &c->l.lit);
	}
	return w;
}

int
contract_check(const struct ruleset *rs)
{
	buf b = BUF_INIT;
	int i, k, w = 0;

	for (i = 0; i < rs->nrule; i++) {
		const struct rule *r = &rs->rule[i];

		w += check_cond(r, r->cond, &b);
		for (k = 0; k < r->ntpart; k++)
			if (r->tpart[k].lit == NULL)
				w += check_path(r, r->tpart[k].path, &b);
	}
	buf_free(&b);
	return w;
}
