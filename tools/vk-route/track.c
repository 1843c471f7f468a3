/* track.c - the delivery tracker: Events in order, fates into counts, acks out. */
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "ring.h"
#include "track.h"

/* One Event: the lines it still waits for. */
struct pend {
	char	*id;		/* its event_id (NULL: none), in its tickets */
	unsigned long line;	/* its input line, for messages */
	unsigned outstanding;	/* lines queued, no final fate yet */
	unsigned idn;
	int	 dropped;	/* a line was dropped at exit: never finished */
	int	 ack;		/* an ack line for it when finished (id set) */
};

static struct {
	struct pend *ring;
	size_t	 cap, head, n;	/* a ring of n entries from head */
	unsigned long long seq, done;	/* Events begun, and popped */
} tk;


static struct pend *
at(size_t k)
{
	return &tk.ring[(tk.head + k) & (tk.cap - 1)];
}

/* The entry of Event number ev, or NULL when it is gone (or ev 0). */
static struct pend *
pend_of(unsigned long long ev)
{
	if (ev <= tk.done || ev > tk.seq)
		return NULL;
	return at((size_t)(ev - tk.done - 1));
}

void
track_begin(const char *id, size_t n, int ack, unsigned long lineno)
{
	struct pend *p;

	if (tk.n == tk.cap)
		tk.ring = ring_grow(tk.ring, sizeof(*tk.ring), &tk.cap, &tk.head,
		    tk.n, 1024);
	p = at(tk.n++);
	tk.seq++;
	if (id == NULL) {
		*p = (struct pend){ .line = lineno };
		return;
	}
	*p = (struct pend){ .id = xstrndup(id, n), .idn = (unsigned)n,
	    .ack = ack, .line = lineno };
}

void
track_ticket(struct dest_ticket *t, struct dest_tally *tally)
{
	struct pend *p;

	if (tk.n == 0) {
		*t = (struct dest_ticket){ .tally = tally };
		return;
	}
	p = at(tk.n - 1);
	*t = (struct dest_ticket){ .ev = tk.seq, .tally = tally, .id = p->id,
	    .idn = p->idn };
	p->outstanding++;
}

/* No ack line of its own for the Event p (its id stays, for its tickets). */
static void
no_ack(struct pend *p)
{
	p->ack = 0;
}

void
track_failed(struct dest_tally *tally)
{
	if (tally != NULL)
		tally->failed++;
	if (tk.n > 0)
		no_ack(at(tk.n - 1));
}

void
track_report(struct track_counts *c, struct dest_ticket *t, enum dest_fate f)
{
	struct pend *p;

	if (f == DEST_RETRY || t->done)
		return;
	t->done = 1;
	switch (f) {
	case DEST_DELIVERED:
		c->delivered++;
		break;
	case DEST_SPILLED:
		c->spilled++;
		c->lost++;
		break;
	case DEST_REFUSED:	/* and kept with --spill: finished */
		c->lost++;
		break;
	default:	/* failed, dropped (refused: dest_report made it one of these) */
		c->failed++;
		c->lost++;
		break;
	}
	if (t->tally != NULL) {
		if (f == DEST_DELIVERED)
			t->tally->delivered++;
		else
			t->tally->failed++;
	}
	if ((p = pend_of(t->ev)) == NULL)
		return;
	p->outstanding--;
	if (f == DEST_FAILED)
		no_ack(p);
	else if (f == DEST_DROPPED)
		p->dropped = 1;
}

unsigned long
track_line(unsigned long long ev)
{
	struct pend *p = pend_of(ev);

	return p != NULL ? p->line : 0;
}

unsigned long
track_progress(ack_out *o)
{
	unsigned long k = 0;
	struct pend *p;

	while (tk.n > 0) {
		p = at(0);
		if (p->outstanding > 0 || p->dropped)
			break;
		if (p->id != NULL) {
			if (p->ack && o != NULL && o->path != NULL)
				ack_out_put(o, p->id, p->idn);	/* main() checked it: ack_id_check() */
			free(p->id);
		}
		tk.head = (tk.head + 1) & (tk.cap - 1);
		tk.n--;
		tk.done++;
		k++;
	}
	return k;
}

unsigned long long
track_done(void)
{
	return tk.done;
}

size_t
track_waiting(void)
{
	return tk.n;
}

void
track_free(void)
{
	while (tk.n > 0) {
		free(at(0)->id);
		tk.head = (tk.head + 1) & (tk.cap - 1);
		tk.n--;
	}
	free(tk.ring);
	memset(&tk, 0, sizeof(tk));
}
