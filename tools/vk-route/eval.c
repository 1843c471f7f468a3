/*
 * eval.c - conditions and templates over one event.
 *
 * Semantics (vk-route.conf(5)): a missing path is null; == compares JSON
 * values (numbers by value, integers exactly); != is its negation; the
 * orderings hold only between two numbers or two strings (by bytes);
 * =~ holds only for a string that matches, !~ is its negation; `in` is
 * membership in a list; `contains` is array membership, substring, or an
 * object's member name.
 */
#define _GNU_SOURCE	/* memmem */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "dest.h"
#include "jsonw.h"
#include "plan.h"
#include "rules.h"
#include "rx.h"

/* A value: a token of the event, or a literal of the rules. */
struct val {
	enum json_type t;
	struct jv v;
	const struct lit *lit;
};

void
eval_init(struct eval *e)
{
	memset(e, 0, sizeof(*e));
}

void
eval_free(struct eval *e)
{
	free(e->val);
	free(e->memb);
	free(e->stamp);
	free(e->plain);
	buf_free(&e->s1);
	buf_free(&e->s2);
	free(e->verdict);
	free(e->failed);
	memset(e, 0, sizeof(*e));
}

static int
nstep(const struct cond *c)
{
	switch (c->op) {
	case OP_ALL: return 0;
	case OP_AND: case OP_OR: return nstep(c->a) + nstep(c->b);
	case OP_NOT: return nstep(c->a);
	default: return 1;
	}
}

/* The steps of c, going on to t when it holds and to f when not: the
 * first one. and/or go on to their second operand only as && || do. */
static int
compile(struct rule *r, int *n, const struct cond *c, int t, int f)
{
	switch (c->op) {
	case OP_ALL:
		return t;
	case OP_AND:
		return compile(r, n, c->a, compile(r, n, c->b, t, f), f);
	case OP_OR:
		return compile(r, n, c->a, t, compile(r, n, c->b, t, f));
	case OP_NOT:
		return compile(r, n, c->a, f, t);
	default:
		r->step[*n].c = c;
		r->step[*n].t = t;
		r->step[*n].f = f;
		return (*n)++;
	}
}

void
eval_plan(struct ruleset *rs)
{
	int k, n;

	for (k = 0; k < rs->nrule; k++) {
		struct rule *r = &rs->rule[k];

		r->start = STEP_FALSE;	/* else rules are not evaluated */
		if (r->cond == NULL)
			continue;
		r->step = xcalloc((size_t)nstep(r->cond) + 1, sizeof(*r->step));
		n = 0;
		r->start = compile(r, &n, r->cond, STEP_TRUE, STEP_FALSE);
	}
	rs->plan = plan_make(rs);
}

void
eval_begin(struct eval *e, const struct ruleset *rs, const struct jv *root,
    const struct json_index *ix)
{
	if (rs->npath > e->cap) {
		int cap = rs->npath * 2;

		e->val = xrealloc(e->val, (size_t)cap * sizeof(*e->val));
		e->memb = xrealloc(e->memb, (size_t)cap * sizeof(*e->memb));
		e->stamp = xrealloc(e->stamp, (size_t)cap * sizeof(*e->stamp));
		e->plain = xrealloc(e->plain, (size_t)cap * sizeof(*e->plain));
		memset(e->stamp, 0, (size_t)cap * sizeof(*e->stamp));
		memset(e->plain, 0, (size_t)cap * sizeof(*e->plain));
		e->cap = cap;
	}
	e->root = *root;
	e->ix = ix;
	if (++e->gen == 0) {
		memset(e->stamp, 0, (size_t)e->cap * sizeof(*e->stamp));
		memset(e->plain, 0, (size_t)e->cap * sizeof(*e->plain));
		e->gen = 1;
	}
	e->plan = rs->plan != NULL && ix != NULL && ix->n >= 0 ? rs->plan : NULL;
	if (e->plan != NULL)
		plan_walk(e, e->plan);
}

static struct jv lookup_slow(struct eval *e, const struct path *pa);

/* Each path is looked up once per Event, however many rules read it. */
static inline struct jv
lookup(struct eval *e, const struct path *pa)
{
	if (pa->found && e->plan != NULL)
		return e->val[pa->id];	/* the walk's, this Event's */
	if (e->stamp[pa->id] == e->gen)
		return e->val[pa->id];
	return lookup_slow(e, pa);
}

/* A path not looked up yet for this Event: from its parent (once). */
static struct jv
lookup_slow(struct eval *e, const struct path *pa)
{
	struct jv v = e->root;
	const struct step *st;
	int mi = -2, pm;

	if (pa->nstep == 0)
		goto done;
	st = &pa->step[pa->nstep - 1];
	if (pa->parent == NULL) {	/* .a, or .[0] */
		if (st->key != NULL &&
		    (mi = json_member(e->ix, -1, st->key, st->klen, &v)) != -2)
			goto done;
		v = e->root;	/* the index cannot tell: skip through the text */
	} else {
		pm = pa->parent->id;
		v = lookup(e, pa->parent);
		/* .a.b: the index knows the members of the root's members */
		if (v.t == JSON_NONE || (st->key != NULL && e->memb[pm] >= 0)) {
			if (v.t == JSON_OBJECT)
				json_member(e->ix, e->memb[pm], st->key, st->klen, &v);
			else
				v.t = JSON_NONE;
			goto done;
		}
	}
	v = st->key != NULL ? jv_get(&v, st->key, st->klen) : jv_at(&v, st->idx);
done:
	e->stamp[pa->id] = e->gen;
	e->val[pa->id] = v;
	e->memb[pa->id] = mi;
	return v;
}

static struct val
value(struct eval *e, const struct operand *o)
{
	struct val v = { JSON_NULL, { JSON_NONE, NULL, 0 }, NULL };

	if (o->path == NULL) {
		v.t = o->lit.t;
		v.lit = &o->lit;
		return v;
	}
	v.v = lookup(e, o->path);
	v.t = v.v.t == JSON_NONE ? JSON_NULL : v.v.t;
	return v;
}

/* The bytes of a string value, unescaped (into sb when needed). */
static const char *
str_of(struct eval *e, const struct val *v, buf *sb, size_t *n)
{
	const char *s;

	if (v->lit != NULL) {
		*n = v->lit->n;
		return v->lit->s;
	}
	(void)e;
	s = v->v.p;
	*n = v->v.n;
	if (memchr(s, '\\', *n) == NULL)
		return s;
	buf_reset(sb);
	json_unescape_raw(s, *n, sb);
	*n = sb->len;
	return sb->p ? sb->p : "";
}

/* A number value: 1 if it is an int64 (in *i), else 0 (in *x). */
static int
num_of(struct eval *e, const struct val *v, int64_t *i, double *x)
{
	const char *s;
	size_t n;
	char tmp[128];

	if (v->lit != NULL) {
		*i = v->lit->i;
		*x = v->lit->num;
		return v->lit->isint;
	}
	(void)e;
	if (jv_int64(&v->v, i) == 0) {
		*x = (double)*i;
		return 1;
	}
	s = v->v.p;
	n = v->v.n;
	if (n >= sizeof(tmp))
		n = sizeof(tmp) - 1;
	memcpy(tmp, s, n);
	tmp[n] = '\0';
	*x = strtod(tmp, NULL);
	return 0;
}

/* Element k of an array value, walking the text in order via *cur. */
static struct val
elem(const struct val *a, int k, const char **cur)
{
	struct val v = { JSON_NULL, { JSON_NONE, NULL, 0 }, NULL };

	if (a->lit != NULL) {
		v.lit = &a->lit->el[k];
		v.t = v.lit->t;
		return v;
	}
	jv_next(&a->v, cur, &v.v, NULL);
	v.t = v.v.t;
	return v;
}

static int
nelem(const struct val *a)
{
	return a->lit != NULL ? a->lit->nel : jv_len(&a->v);
}

static int val_eq(struct eval *e, const struct val *a, const struct val *b);

static int
obj_eq(struct eval *e, const struct val *a, const struct val *b)
{
	const char *cur = NULL;
	buf key = BUF_INIT;
	struct val va = { JSON_NULL, { JSON_NONE, NULL, 0 }, NULL }, vb = va;
	struct jv k;
	int eq = 1;

	if (a->lit != NULL || b->lit != NULL)
		return 0;	/* the rules have no object literals */
	if (jv_len(&a->v) != jv_len(&b->v))
		return 0;
	while (eq && jv_next(&a->v, &cur, &va.v, &k)) {
		buf_reset(&key);
		json_unescape_raw(k.p, k.n, &key);
		vb.v = jv_get(&b->v, key.p ? key.p : "", key.len);
		va.t = va.v.t;
		vb.t = vb.v.t;
		eq = vb.t != JSON_NONE && val_eq(e, &va, &vb);
	}
	buf_free(&key);
	return eq;
}

static int
val_eq(struct eval *e, const struct val *a, const struct val *b)
{
	int64_t ia, ib;
	double xa, xb;
	const char *sa, *sb;
	size_t na, nb;
	int k, n;
	const char *ca = NULL, *cb = NULL;

	if (a->t != b->t)
		return 0;
	switch (a->t) {
	case JSON_NUMBER:
		if (num_of(e, a, &ia, &xa) & num_of(e, b, &ib, &xb))
			return ia == ib;
		return xa == xb;
	case JSON_STRING:
		/* The usual case, an event's string against a literal: raw
		 * bytes of the same length either are the literal or hold no
		 * escape; a raw text without '\\' is the string itself. */
		if (a->lit == NULL && b->lit != NULL && a->v.n == b->lit->n &&
		    memcmp(a->v.p, b->lit->s, a->v.n) == 0)
			return 1;
		if (a->lit == NULL && b->lit != NULL && a->v.n < b->lit->n)
			return 0;	/* escapes only make the raw text longer */
		sa = str_of(e, a, &e->s1, &na);
		sb = str_of(e, b, &e->s2, &nb);
		return na == nb && memcmp(sa, sb, na) == 0;
	case JSON_ARRAY:
		n = nelem(a);
		if (n != nelem(b))
			return 0;
		for (k = 0; k < n; k++) {
			struct val ea = elem(a, k, &ca), eb = elem(b, k, &cb);

			if (!val_eq(e, &ea, &eb))
				return 0;
		}
		return 1;
	case JSON_OBJECT:
		return obj_eq(e, a, b);
	default:	/* null, true, false */
		return 1;
	}
}

/* -2 when a and b do not compare (not two numbers, not two strings). */
static int
val_cmp(struct eval *e, const struct val *a, const struct val *b)
{
	int64_t ia, ib;
	double xa, xb;
	const char *sa, *sb;
	size_t na, nb;
	int c;

	if (a->t == JSON_NUMBER && b->t == JSON_NUMBER) {
		if (num_of(e, a, &ia, &xa) & num_of(e, b, &ib, &xb))
			return ia < ib ? -1 : ia > ib;
		if (xa != xa || xb != xb)
			return -2;
		return xa < xb ? -1 : xa > xb;
	}
	if (a->t == JSON_STRING && b->t == JSON_STRING) {
		sa = str_of(e, a, &e->s1, &na);
		sb = str_of(e, b, &e->s2, &nb);
		c = memcmp(sa, sb, na < nb ? na : nb);
		if (c != 0)
			return c < 0 ? -1 : 1;
		return na < nb ? -1 : na > nb;
	}
	return -2;
}

/* Does a contain b? */
static int
contains(struct eval *e, const struct val *a, const struct val *b)
{
	int k, n;
	const char *sa, *sb, *cur = NULL;
	size_t na, nb;

	if (a->t == JSON_ARRAY) {
		n = nelem(a);
		for (k = 0; k < n; k++) {
			struct val el = elem(a, k, &cur);

			if (val_eq(e, &el, b))
				return 1;
		}
		return 0;
	}
	if (b->t != JSON_STRING)
		return 0;
	sb = str_of(e, b, &e->s2, &nb);
	if (a->t == JSON_STRING) {
		sa = str_of(e, a, &e->s1, &na);
		return nb == 0 || memmem(sa, na, sb, nb) != NULL;
	}
	if (a->t == JSON_OBJECT && a->lit == NULL)
		return jv_get(&a->v, sb, nb).t != JSON_NONE;
	return 0;
}

/*
 * Most conditions compare a path with a literal of one type: decided at
 * load, they are evaluated without the general value machinery, on the
 * raw span when it holds no escape. The answers are the general ones.
 */
void
eval_prepare(struct cond *c)
{
	const struct lit *r = &c->r.lit;
	int k;

	c->fast = FAST_NONE;
	if (c->l.path == NULL || (c->op != OP_RE && c->op != OP_NRE && c->r.path != NULL))
		return;
	switch (c->op) {
	case OP_EQ:
	case OP_NE:
		if (r->t == JSON_STRING)
			c->fast = FAST_STR;
		else if (r->t == JSON_NUMBER && r->isint)
			c->fast = FAST_INT;
		break;
	case OP_LT: case OP_LE: case OP_GT: case OP_GE:
		if (r->t == JSON_NUMBER && r->isint)
			c->fast = FAST_INT;
		break;
	case OP_IN:
		for (k = 0; k < r->nel && r->el[k].t == JSON_STRING; k++)
			;
		if (r->t == JSON_ARRAY && k == r->nel)
			c->fast = FAST_IN_STR;
		break;
	case OP_CONTAINS:
		if (r->t == JSON_STRING)
			c->fast = FAST_HAS_STR;
		break;
	case OP_RE:
	case OP_NRE:
		c->fast = FAST_RE;
		break;
	default:
		break;
	}
}

/* The bytes of the string at path pa (value v), unescaped when needed. */
static inline const char *
path_str(struct eval *e, const struct path *pa, const struct jv *v, size_t *n)
{
	*n = v->n;
	if (e->plain[pa->id] == e->gen || memchr(v->p, '\\', v->n) == NULL) {
		e->plain[pa->id] = e->gen;
		return v->p;
	}
	buf_reset(&e->s1);
	json_unescape_raw(v->p, v->n, &e->s1);
	*n = e->s1.len;
	return e->s1.p ? e->s1.p : "";
}

/* a[0..n) == b[0..n), for the short spans names and values mostly are. */
static inline int
span_eq(const char *a, const char *b, size_t n)
{
	uint64_t x, y;
	uint32_t u, w;

	if (n > 16)
		return memcmp(a, b, n) == 0;
	if (n >= 8) {	/* the first and the last 8 bytes */
		memcpy(&x, a, 8);
		memcpy(&y, b, 8);
		if (x != y)
			return 0;
		memcpy(&x, a + n - 8, 8);
		memcpy(&y, b + n - 8, 8);
		return x == y;
	}
	if (n >= 4) {
		memcpy(&u, a, 4);
		memcpy(&w, b, 4);
		if (u != w)
			return 0;
		memcpy(&u, a + n - 4, 4);
		memcpy(&w, b + n - 4, 4);
		return u == w;
	}
	for (; n > 0; n--)
		if (a[n - 1] != b[n - 1])
			return 0;
	return 1;
}

/*
 * Is the string at path pa (value v) the literal string r? Escapes only
 * make the raw text longer: raw text as long as r is r itself or not r,
 * and shorter raw text is not r. Only longer raw text is unescaped.
 */
static inline __attribute__((always_inline)) int
str_is(struct eval *e, const struct path *pa, const struct jv *v, const struct lit *r)
{
	const char *s;
	size_t n;

	if (v->n == r->n)
		return !r->bs && span_eq(v->p, r->s, r->n);
	if (v->n < r->n)
		return 0;
	/* Longer raw text: its first byte is the string's unless it escapes. */
	if (r->n == 0 || (v->p[0] != '\\' && v->p[0] != r->s[0]))
		return 0;
	s = path_str(e, pa, v, &n);
	return n == r->n && memcmp(s, r->s, n) == 0;
}

/* A fast condition: 1, 0, or -1 when it needs the general way after all. */
static inline __attribute__((always_inline)) int
eval_fast(struct eval *e, const struct cond *c)
{
	const struct lit *r = &c->r.lit;
	struct jv v = lookup(e, c->l.path), el;
	const char *s, *cur = NULL;
	size_t n;
	int64_t i;
	int k;

	switch (c->fast) {
	case FAST_STR:
		k = v.t == JSON_STRING && str_is(e, c->l.path, &v, r);
		return c->op == OP_EQ ? k : !k;
	case FAST_INT:
		if (v.t != JSON_NUMBER)	/* null (missing) included */
			return c->op == OP_NE;
		if (jv_int64(&v, &i) == -1)
			return -1;	/* a fraction, an exponent, a big one */
		switch (c->op) {
		case OP_EQ: return i == r->i;
		case OP_NE: return i != r->i;
		case OP_LT: return i < r->i;
		case OP_LE: return i <= r->i;
		case OP_GT: return i > r->i;
		default: return i >= r->i;
		}
	case FAST_IN_STR:
		if (v.t != JSON_STRING)
			return 0;
		for (k = 0; k < r->nel; k++)
			if (str_is(e, c->l.path, &v, &r->el[k]))
				return 1;
		return 0;
	case FAST_HAS_STR:
		if (v.t == JSON_ARRAY) {
			while (jv_next(&v, &cur, &el, NULL))
				if (el.t == JSON_STRING && json_str_eq(el.p, el.n, r->s, r->n))
					return 1;
			return 0;
		}
		if (v.t == JSON_STRING) {
			s = path_str(e, c->l.path, &v, &n);
			return r->n == 0 || memmem(s, n, r->s, r->n) != NULL;
		}
		return v.t == JSON_OBJECT && jv_get(&v, r->s, r->n).t != JSON_NONE;
	default:	/* FAST_RE */
		k = 0;
		if (v.t == JSON_STRING) {
			s = path_str(e, c->l.path, &v, &n);
			k = rx_match(c->rx, s, n);
			if (k == -1) {
				e->rx_failed = c->rx;
				k = 0;
			}
		}
		return c->op == OP_RE ? k : !k;
	}
}

/* A comparison the general way (out of line: eval_rule's loop stays small). */
static __attribute__((noinline)) int
eval_general(struct eval *e, const struct cond *c)
{
	struct val l, r;
	const char *s;
	size_t n;
	int k;

	l = value(e, &c->l);
	switch (c->op) {
	case OP_TRUTHY:
		return l.t != JSON_NULL && l.t != JSON_FALSE;
	case OP_RE:
	case OP_NRE:
		k = 0;
		if (l.t == JSON_STRING) {
			s = str_of(e, &l, &e->s1, &n);
			k = rx_match(c->rx, s, n);
			if (k == -1) {
				e->rx_failed = c->rx;
				k = 0;
			}
		}
		return c->op == OP_RE ? k : !k;
	default:
		break;
	}
	r = value(e, &c->r);
	switch (c->op) {
	case OP_EQ: return val_eq(e, &l, &r);
	case OP_NE: return !val_eq(e, &l, &r);
	case OP_LT: return val_cmp(e, &l, &r) == -1;
	case OP_LE: k = val_cmp(e, &l, &r); return k == -1 || k == 0;
	case OP_GT: return val_cmp(e, &l, &r) == 1;
	case OP_GE: k = val_cmp(e, &l, &r); return k == 1 || k == 0;
	case OP_IN: return r.t == JSON_ARRAY && contains(e, &r, &l);
	case OP_CONTAINS: return contains(e, &l, &r);
	default: return 0;
	}
}

int
eval_cond(struct eval *e, const struct cond *c)
{
	int k;

	switch (c->op) {
	case OP_ALL:
		return 1;
	case OP_AND:
		return eval_cond(e, c->a) && eval_cond(e, c->b);
	case OP_OR:
		return eval_cond(e, c->a) || eval_cond(e, c->b);
	case OP_NOT:
		return !eval_cond(e, c->a);
	default:
		break;
	}
	if (c->fast != FAST_NONE && (k = eval_fast(e, c)) >= 0)
		return k;
	return eval_general(e, c);
}

static inline __attribute__((always_inline)) int
run_steps(struct eval *e, const struct rule *r)
{
	const struct cstep *st;
	int k = r->start, v;

	while (k >= 0) {
		st = &r->step[k];
		if (st->c->fast == FAST_NONE || (v = eval_fast(e, st->c)) < 0)
			v = eval_general(e, st->c);
		k = v ? st->t : st->f;
	}
	return k == STEP_TRUE;
}

int
eval_rule(struct eval *e, const struct rule *r)
{
	return run_steps(e, r);
}

const unsigned char *
eval_rules(struct eval *e, const struct ruleset *rs)
{
	int k;

	if (rs->nrule > e->nverdict) {
		e->verdict = xrealloc(e->verdict, (size_t)rs->nrule);
		e->failed = xrealloc(e->failed, (size_t)rs->nrule * sizeof(*e->failed));
		e->nverdict = rs->nrule;
	}
	for (k = 0; k < rs->nrule; k++) {
		e->rx_failed = NULL;
		e->verdict[k] = rs->rule[k].is_else ? EVAL_NO : run_steps(e, &rs->rule[k]);
		if (e->rx_failed != NULL) {
			e->verdict[k] = EVAL_FAILED;
			e->failed[k] = e->rx_failed;
		}
	}
	return e->verdict;
}

/* Why a value may not go into a file name, or NULL. */
static const char *
path_unsafe(const char *s, size_t n)
{
	size_t k;

	if (n == 0)
		return "is empty";
	if (memchr(s, '/', n) != NULL)
		return "holds '/'";
	if (memmem(s, n, "..", 2) != NULL)
		return "holds '..'";
	for (k = 0; k < n; k++)
		if ((unsigned char)s[k] < 0x20 || s[k] == 0x7f)
			return "holds a control character";
	return NULL;
}

/*
 * The whole name, values side by side, checked again: "{.a}{.b}" with "."
 * and "." is "..". No ".." component; no absolute name unless the
 * template itself is one (values never hold '/').
 */
static const char *
joined_unsafe(const struct rule *r, const buf *out)
{
	size_t pre = strlen(r->kind->prefix), k, b;
	const char *s = out->p + pre;
	size_t n = out->len - pre;

	if (n > 0 && s[0] == '/' && r->dest_text[pre] != '/')
		return "is absolute, and the template is not";
	for (k = b = 0; k <= n; k++) {
		if (k < n && s[k] != '/')
			continue;
		if (k - b == 2 && s[b] == '.' && s[b + 1] == '.')
			return "has a '..' component";
		b = k + 1;
	}
	return NULL;
}

int
eval_template(struct eval *e, const struct rule *r, buf *out, char *why,
    size_t whylen)
{
	int k;
	const char *s, *bad;
	size_t n;
	struct val v;

	buf_reset(out);
	for (k = 0; k < r->ntpart; k++) {
		const struct tpart *tp = &r->tpart[k];

		if (tp->path == NULL) {
			buf_put(out, tp->lit, tp->n);
			continue;
		}
		v.v = lookup(e, tp->path);
		v.lit = NULL;
		v.t = v.v.t;
		switch (v.t) {
		case JSON_STRING:
			s = str_of(e, &v, &e->s1, &n);
			break;
		case JSON_NUMBER:
		case JSON_TRUE:
		case JSON_FALSE:
			s = v.v.p;
			n = v.v.n;
			break;
		default:
			snprintf(why, whylen, "{%s} is %s", tp->path->text,
			    v.t == JSON_OBJECT ? "an object" : v.t == JSON_ARRAY ?
			    "an array" : "null");
			return -1;
		}
		bad = memchr(s, '\0', n) != NULL ? "holds a NUL byte" : NULL;
		if (bad == NULL && (r->kind->flags & DEST_PATH_TEMPLATES))
			bad = path_unsafe(s, n);
		if (bad == NULL && (r->kind->flags & DEST_URL_TEMPLATES) &&
		    ((n == 1 && s[0] == '.') || (n == 2 && s[0] == '.' && s[1] == '.')))
			bad = "is a dot segment";
		if (bad != NULL) {
			buf q = BUF_INIT;

			jw_str(&q, s, n > 64 ? 64 : n);
			snprintf(why, whylen, "{%s} = %s %s, which a %s may not",
			    tp->path->text, buf_cstr(&q), bad,
			    (r->kind->flags & DEST_PATH_TEMPLATES) ? "file name" :
			    (r->kind->flags & DEST_URL_TEMPLATES) ? "URL" : "destination");
			buf_free(&q);
			return -1;
		}
		if (r->kind->quote != NULL)
			r->kind->quote(out, s, n);
		else
			buf_put(out, s, n);
	}
	if ((r->kind->flags & DEST_PATH_TEMPLATES) && (bad = joined_unsafe(r, out)) != NULL) {
		buf q = BUF_INIT;

		size_t pre = strlen(r->kind->prefix);

		jw_str(&q, out->p + pre, out->len - pre > 200 ? 200 : out->len - pre);
		snprintf(why, whylen, "the file name %s %s", buf_cstr(&q), bad);
		buf_free(&q);
		return -1;
	}
	return 0;
}
