/*
 * plan.c - where the paths the rules read are in check()'s index.
 *
 * The member names the rules read at depth 1 and 2 (.a and .a.b) are found
 * in one pass over the index, instead of one search per path. Most entries
 * are names no rule reads, told by their length alone.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "json.h"
#include "plan.h"
#include "rules.h"

#define PLAN_LEN 64	/* lists by length modulo 64 */

struct pent {
	const char *key;
	size_t	 klen;
	uint64_t head, mask, tail;	/* see pent_is() */
	int	 id;		/* the path */
	int	 list;		/* the list it is in */
	int	 kids;		/* the list its members are in, or 0 */
	int	 nkids;		/* how many entries that list has */
	int	 next;		/* the next entry of this list and length + 1, or 0 */
};

struct plan {
	int	(*bylen)[PLAN_LEN];	/* list (0: the root's members), length -> entry + 1 */
	int	 nlist;
	struct pent *ent;
	int	 nent;
};

/* Do the steps of a and b name the same members? */
static int
same_steps(const struct path *a, const struct path *b)
{
	int k;

	if (a->nstep != b->nstep)
		return 0;
	for (k = 0; k < a->nstep; k++)
		if ((a->step[k].key == NULL) != (b->step[k].key == NULL) ||
		    (a->step[k].key == NULL ? a->step[k].idx != b->step[k].idx :
		    a->step[k].klen != b->step[k].klen ||
		    memcmp(a->step[k].key, b->step[k].key, a->step[k].klen) != 0))
			return 0;
	return 1;
}

/* The word a name's first bytes load as in pent_is(), and which bits count. */
static void
pent_words(struct pent *p)
{
	char b[8] = { 0 }, m[8] = { 0 };
	size_t n = p->klen < 8 ? p->klen : 8;
	uint32_t h32, m32;

	memcpy(b, p->key, n);
	memset(m, 0xff, n);
	if (p->klen <= 4) {
		memcpy(&h32, b, 4);
		memcpy(&m32, m, 4);
		p->head = h32;
		p->mask = m32;
	} else {
		memcpy(&p->head, b, 8);
		memcpy(&p->mask, m, 8);
	}
	if (p->klen > 8)
		memcpy(&p->tail, p->key + p->klen - 8, 8);
}

struct plan *
plan_make(struct ruleset *rs)
{
	struct plan *pl;
	int k, j, list;

	pl = xcalloc(1, sizeof(*pl));
	pl->ent = xcalloc((size_t)rs->npath + 1, sizeof(*pl->ent));
	pl->bylen = xcalloc(1, sizeof(*pl->bylen));
	pl->nlist = 1;
	/* A path's parent comes before it in rs->paths (interned first). */
	for (k = 0; k < rs->npath; k++) {
		const struct path *pa = rs->paths[k];
		struct pent *p;
		size_t len;

		if (pa->nstep < 1 || pa->nstep > 2 || pa->step[pa->nstep - 1].key == NULL)
			continue;
		list = 0;
		if (pa->nstep == 2) {
			if (pa->parent == NULL || !pa->parent->found)
				continue;
			for (j = 0; pl->ent[j].id != pa->parent->id; j++)
				;
			if (pl->ent[j].kids == 0) {
				pl->bylen = xrealloc(pl->bylen, (size_t)(pl->nlist + 1) *
				    sizeof(*pl->bylen));
				memset(pl->bylen[pl->nlist], 0, sizeof(*pl->bylen));
				pl->ent[j].kids = pl->nlist++;
			}
			list = j;	/* for now: its parent's entry */
		}
		/* .a and ."a" are two paths to one place: the walk finds the
		 * first, the others are looked up as any other path. */
		for (j = 0; j < k; j++)
			if (rs->paths[j]->found && same_steps(rs->paths[j], pa))
				break;
		if (j < k)
			continue;
		rs->paths[k]->found = 1;
		if (pa->nstep == 2) {
			pl->ent[list].nkids++;
			list = pl->ent[list].kids;
		}
		p = &pl->ent[pl->nent++];
		p->key = pa->step[pa->nstep - 1].key;
		p->klen = pa->step[pa->nstep - 1].klen;
		p->id = k;
		p->list = list;
		pent_words(p);
		len = p->klen % PLAN_LEN;
		p->next = pl->bylen[list][len];
		pl->bylen[list][len] = pl->nent;
	}
	if (pl->nent == 0) {
		plan_free(pl);
		return NULL;
	}
	return pl;
}


void
plan_free(struct plan *pl)
{
	if (pl == NULL)
		return;
	free(pl->bylen);
	free(pl->ent);
	free(pl);
}

/*
 * Is k[0..kn), a name in check()'s index without an escape, the entry's?
 * In validated text a name is followed by at least '"', ':', a value and
 * the object's '}': four bytes past its end can be read, so names of up
 * to 8 bytes are one load and a mask, longer ones their first and last 8.
 */
static inline int
pent_is(const struct pent *p, const char *k, size_t kn)
{
	uint64_t x;
	uint32_t y;

	if (kn <= 4) {
		memcpy(&y, k, 4);
		return (y & p->mask) == p->head;
	}
	memcpy(&x, k, 8);
	if ((x & p->mask) != p->head)
		return 0;
	if (kn <= 8)
		return 1;
	memcpy(&x, k + kn - 8, 8);
	return x == p->tail && (kn <= 16 || memcmp(k + 8, p->key + 8, kn - 16) == 0);
}

/* The entry of list for a name with an escape (unescaped first), or NULL. */
static const struct pent *
plan_find_esc(struct eval *e, const struct plan *pl, int list, const struct json_memb *m)
{
	const char *k;
	int i;

	buf_reset(&e->s2);
	json_unescape_raw(m->k, m->kn, &e->s2);
	k = e->s2.p ? e->s2.p : "";
	for (i = 0; i < pl->nent; i++)
		if (pl->ent[i].list == list && pl->ent[i].klen == e->s2.len &&
		    memcmp(pl->ent[i].key, k, e->s2.len) == 0)
			return &pl->ent[i];
	return NULL;
}

/* The entry of list for index member m, or NULL. */
static inline const struct pent *
plan_find(struct eval *e, const struct plan *pl, int list, const struct json_memb *m)
{
	size_t kn = m->kn;
	int i = pl->bylen[list][kn % PLAN_LEN];

	if (m->esc)
		return plan_find_esc(e, pl, list, m);
	for (; i != 0; i = pl->ent[i - 1].next)
		if (pl->ent[i - 1].klen == kn && pent_is(&pl->ent[i - 1], m->k, kn))
			return &pl->ent[i - 1];
	return NULL;
}

static inline void
plan_set(struct eval *e, int id, const struct json_memb *m, int memb)
{
	e->val[id] = json_value_at(m->v, m->vn);
	e->memb[id] = memb;
}

void
plan_walk(struct eval *e, const struct plan *pl)
{
	const struct json_index *ix = e->ix;
	const struct pent *p, *q;
	int j, c, end, left;

	/* What the walk does not find is absent (a value found is never NONE). */
	for (j = 0; j < pl->nent; j++)
		e->val[pl->ent[j].id].t = JSON_NONE;
	for (j = 0; j < ix->n; j = end) {
		end = ix->m[j].next;
		if ((p = plan_find(e, pl, 0, &ix->m[j])) == NULL || e->val[p->id].t != JSON_NONE)
			continue;	/* not read, or a name seen before */
		plan_set(e, p->id, &ix->m[j], j);
		if (p->kids == 0 || *ix->m[j].v != '{')
			continue;
		/* Once each name read is found, the rest can only repeat one. */
		for (c = j + 1, left = p->nkids; c < end && left > 0; c++)
			if ((q = plan_find(e, pl, p->kids, &ix->m[c])) != NULL &&
			    e->val[q->id].t == JSON_NONE) {
				plan_set(e, q->id, &ix->m[c], -2);
				left--;
			}
	}
}
