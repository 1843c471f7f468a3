/* rules.c - the rules language: lexer and recursive-descent parser. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "dest.h"
#include "json.h"
#include "plan.h"
#include "rules.h"
#include "rx.h"

enum tt {
	T_END, T_ARROW, T_PATH, T_STR, T_NUM, T_TRUE, T_FALSE, T_NULL,
	T_LBRACK, T_RBRACK, T_COMMA, T_LPAREN, T_RPAREN, T_STAR,
	T_OP, T_AND, T_OR, T_NOT, T_ELSE, T_WORD
};

struct parser {
	struct ruleset *rs;
	const char *file;
	int	 line;
	const char *s;		/* the line, n bytes, not NUL-terminated */
	size_t	 n;
	size_t	 pos;		/* after the current token */
	/* the current token */
	enum tt	 t;
	size_t	 tcol, tend;
	enum rule_op op;
	buf	 str;		/* T_STR: unescaped */
	double	 num;
	char	*err;
	size_t	 errlen;
};

static int
perr(struct parser *p, size_t col, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* The rules' own bytes may be echoed: control characters as \xNN. */
static void
escape_err(char *err, size_t errlen)
{
	buf b = BUF_INIT;
	size_t n = strlen(err);

	if (n == 0)
		return;
	dest_escape(&b, err, n);
	if (b.len != n || memcmp(b.p, err, n) != 0)
		snprintf(err, errlen, "%.*s", (int)b.len, b.p);
	buf_free(&b);
}

static int
perr(struct parser *p, size_t col, const char *fmt, ...)
{
	va_list ap;
	int k;

	k = snprintf(p->err, p->errlen, "%s:%d:%zu: ", p->file, p->line, col + 1);
	if (k < 0 || (size_t)k >= p->errlen)
		return -1;
	va_start(ap, fmt);
	vsnprintf(p->err + k, p->errlen - (size_t)k, fmt, ap);
	va_end(ap);
	escape_err(p->err, p->errlen);
	return -1;
}

static int
isident(int c, int first)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
	    (!first && c >= '0' && c <= '9');
}

/*
 * A JSON string starting at s[i] == '"' (the grammar is common/json.c's):
 * unescaped into out; end after the quote. The reasons say how to write
 * what a rule's author most likely meant.
 */
static int
lex_string(struct parser *p, size_t i, buf *out, size_t *end)
{
	const char *why;
	size_t len, at;
	unsigned char c;

	if ((len = json_scalar(p->s + i, p->n - i, &why, &at)) == 0) {
		if (why == NULL)
			return perr(p, i, "unterminated string");
		at += i;
		c = (unsigned char)p->s[at];
		if (c < 0x20)
			return perr(p, at, "%s: write it as \\u%04x", why, c);
		if (p->s[at + 1] != 'u')
			return perr(p, at, "invalid escape \\%c in a string "
			    "(a regex backslash is written \\\\)", p->s[at + 1]);
		return perr(p, at, "%s", why);
	}
	buf_reset(out);
	json_unescape_raw(p->s + i + 1, len - 2, out);
	*end = i + len;
	return 0;
}

/* A JSON number at s[i] (common/json.c's grammar), not run into a word. */
static int
lex_number(struct parser *p, size_t i, size_t *end)
{
	const char *why;
	size_t k, at;
	char tmp[64];

	if ((k = json_scalar(p->s + i, p->n - i, &why, &at)) == 0)
		return perr(p, i, "%s", why);
	k += i;
	if (k < p->n && (isident(p->s[k], 0) || p->s[k] == '.'))
		return perr(p, i, "invalid number");
	if (k - i >= sizeof(tmp))
		return perr(p, i, "number too long");
	memcpy(tmp, p->s + i, k - i);
	tmp[k - i] = '\0';
	p->num = strtod(tmp, NULL);
	*end = k;
	return 0;
}

/* The span of a path at s[i] == '.'; checked later by parse_path. */
static int
lex_path(struct parser *p, size_t i, size_t *end)
{
	size_t k = i;
	buf tmp = BUF_INIT;
	int rc = 0;

	while (k < p->n && (p->s[k] == '.' || p->s[k] == '[')) {
		if (p->s[k] == '.') {
			k++;
			if (k < p->n && p->s[k] == '"') {
				if ((rc = lex_string(p, k, &tmp, &k)) == -1)
					break;
			} else {
				while (k < p->n && isident(p->s[k], 0))
					k++;
			}
		} else {
			while (k < p->n && p->s[k] != ']') {
				if (p->s[k] == '"') {
					if ((rc = lex_string(p, k, &tmp, &k)) == -1)
						break;
					continue;
				}
				k++;
			}
			if (rc == -1)
				break;
			if (k < p->n)
				k++;
		}
	}
	buf_free(&tmp);
	*end = k;
	return rc;
}

static int
next(struct parser *p)
{
	size_t i = p->pos, e;
	const char *s = p->s;

	while (i < p->n && (s[i] == ' ' || s[i] == '\t' || s[i] == '\r'))
		i++;
	p->tcol = i;
	if (i >= p->n || s[i] == '#') {
		p->t = T_END;
		p->pos = p->tend = i;
		return 0;
	}
	e = i + 1;
	switch (s[i]) {
	case '-':
		if (i + 1 < p->n && s[i + 1] == '>') {
			p->t = T_ARROW;
			e = i + 2;
			break;
		}
		/* FALLTHROUGH */
	case '0': case '1': case '2': case '3': case '4':
	case '5': case '6': case '7': case '8': case '9':
		if (lex_number(p, i, &e) == -1)
			return -1;
		p->t = T_NUM;
		break;
	case '"':
		if (lex_string(p, i, &p->str, &e) == -1)
			return -1;
		p->t = T_STR;
		break;
	case '.':
		if (lex_path(p, i, &e) == -1)
			return -1;
		p->t = T_PATH;
		break;
	case '[': p->t = T_LBRACK; break;
	case ']': p->t = T_RBRACK; break;
	case ',': p->t = T_COMMA; break;
	case '(': p->t = T_LPAREN; break;
	case ')': p->t = T_RPAREN; break;
	case '*': p->t = T_STAR; break;
	case '=':
		if (i + 1 < p->n && (s[i + 1] == '=' || s[i + 1] == '~')) {
			p->t = T_OP;
			p->op = s[i + 1] == '=' ? OP_EQ : OP_RE;
			e = i + 2;
			break;
		}
		return perr(p, i, "unknown operator '=': compare with ==, match with =~");
	case '!':
		if (i + 1 < p->n && (s[i + 1] == '=' || s[i + 1] == '~')) {
			p->t = T_OP;
			p->op = s[i + 1] == '=' ? OP_NE : OP_NRE;
			e = i + 2;
			break;
		}
		return perr(p, i, "unknown operator '!': negate with not");
	case '<':
	case '>':
		p->t = T_OP;
		if (i + 1 < p->n && s[i + 1] == '=') {
			p->op = s[i] == '<' ? OP_LE : OP_GE;
			e = i + 2;
		} else {
			p->op = s[i] == '<' ? OP_LT : OP_GT;
		}
		break;
	default:
		if (isident((unsigned char)s[i], 1)) {
			static const struct { const char *w; enum tt t; enum rule_op op; } kw[] = {
				{ "and", T_AND, OP_AND }, { "or", T_OR, OP_OR },
				{ "not", T_NOT, OP_NOT }, { "in", T_OP, OP_IN },
				{ "contains", T_OP, OP_CONTAINS }, { "true", T_TRUE, OP_ALL },
				{ "false", T_FALSE, OP_ALL }, { "null", T_NULL, OP_ALL },
				{ "else", T_ELSE, OP_ALL },
			};
			size_t k;

			while (e < p->n && isident((unsigned char)s[e], 0))
				e++;
			for (k = 0; k < sizeof(kw) / sizeof(kw[0]); k++)
				if (strlen(kw[k].w) == e - i &&
				    memcmp(kw[k].w, s + i, e - i) == 0) {
					p->t = kw[k].t;
					p->op = kw[k].op;
					break;
				}
			if (k == sizeof(kw) / sizeof(kw[0]))
				p->t = T_WORD;	/* the parser says what it wanted */
			break;
		}
		return perr(p, i, "unexpected character '%c'", s[i]);
	}
	p->tend = p->pos = e;
	return 0;
}

/* --- paths --------------------------------------------------------------- */

/* A copy of n bytes, NUL-terminated: a name or string may hold "\u0000". */
static char *
bytes_dup(const char *s, size_t n)
{
	char *d = xmalloc(n + 1);

	if (n > 0)
		memcpy(d, s, n);
	d[n] = '\0';
	return d;
}

static void
path_free(struct path *pa)
{
	int k;

	for (k = 0; k < pa->nstep; k++)
		free(pa->step[k].key);
	free(pa->step);
	free(pa->text);
	free(pa);
}

static int
add_step(struct path *pa, char *key, size_t klen, long idx)
{
	struct step *st = realloc(pa->step, (size_t)(pa->nstep + 1) * sizeof(*st));

	if (st == NULL)
		return -1;
	pa->step = st;
	st[pa->nstep].key = key;
	st[pa->nstep].klen = klen;
	st[pa->nstep].idx = idx;
	pa->nstep++;
	return 0;
}

/* Parse s[i..e) (already lexed) into an interned path. NULL on error. */
static struct path *
parse_path(struct parser *p, size_t i, size_t e)
{
	struct ruleset *rs = p->rs;
	struct path *pa, **np;
	buf key = BUF_INIT;
	size_t k = i, b, last = i;
	int n;

	for (n = 0; n < rs->npath; n++)
		if (strlen(rs->paths[n]->text) == e - i &&
		    memcmp(rs->paths[n]->text, p->s + i, e - i) == 0)
			return rs->paths[n];
	if ((pa = calloc(1, sizeof(*pa))) == NULL)
		return NULL;
	pa->text = strndup(p->s + i, e - i);
	while (k < e) {
		last = k;
		if (p->s[k] == '.' && (k + 1 == e || p->s[k + 1] == '.' || p->s[k + 1] == '[')) {
			/* "." alone is the whole event; ".a." or "..x" is a mistake */
			if (k == i && k + 1 == e)
				break;
			if (k == i && p->s[k + 1] == '[') {
				k++;
				continue;
			}
			perr(p, k + 1, "a member name is expected after '.'");
			goto fail;
		}
		if (p->s[k] == '.') {
			k++;
			if (p->s[k] == '"') {
				if (lex_string(p, k, &key, &k) == -1)
					goto fail;
				add_step(pa, bytes_dup(key.p, key.len), key.len, 0);
				continue;
			}
			b = k;
			while (k < e && isident(p->s[k], 0))
				k++;
			if (k == b || !isident(p->s[b], 1)) {
				perr(p, b, "a member name is expected after '.' "
				    "(quote other names: .\"%.*s\")", (int)(k - b), p->s + b);
				goto fail;
			}
			add_step(pa, strndup(p->s + b, k - b), k - b, 0);
			continue;
		}
		/* '[' */
		b = k++;
		if (k < e && p->s[k] == '"') {
			if (lex_string(p, k, &key, &k) == -1)
				goto fail;
			if (k >= e || p->s[k] != ']') {
				perr(p, k, "']' expected");
				goto fail;
			}
			add_step(pa, bytes_dup(key.p, key.len), key.len, 0);
			k++;
			continue;
		}
		{
			char *end;
			long v;

			errno = 0;
			v = strtol(p->s + k, &end, 10);
			if (end == p->s + k || (size_t)(end - p->s) >= e || *end != ']' ||
			    errno != 0 || p->s[k] == '+' || p->s[k] == ' ') {
				perr(p, b, "an index like [0] or [-1], or a quoted name like [\"a\"], is expected");
				goto fail;
			}
			add_step(pa, NULL, 0, v);
			k = (size_t)(end - p->s) + 1;
		}
	}
	buf_free(&key);
	/* ".message.text" and ".message.reply" share the walk to ".message". */
	if (pa->nstep > 1 && (pa->parent = parse_path(p, i, last)) == NULL) {
		path_free(pa);
		return NULL;
	}
	np = realloc(rs->paths, (size_t)(rs->npath + 1) * sizeof(*np));
	if (np == NULL) {
		path_free(pa);
		return NULL;
	}
	rs->paths = np;
	pa->id = rs->npath;
	rs->paths[rs->npath++] = pa;
	return pa;
fail:
	buf_free(&key);
	path_free(pa);
	return NULL;
}

/* --- literals and conditions --------------------------------------------- */

static void
lit_free(struct lit *l)
{
	int k;

	free(l->s);
	for (k = 0; k < l->nel; k++)
		lit_free(&l->el[k]);
	free(l->el);
}

static void
cond_free(struct cond *c)
{
	if (c == NULL)
		return;
	cond_free(c->a);
	cond_free(c->b);
	lit_free(&c->l.lit);
	lit_free(&c->r.lit);
	rx_free(c->rx);
	free(c);
}

static int
is_literal_start(enum tt t)
{
	return t == T_STR || t == T_NUM || t == T_TRUE || t == T_FALSE ||
	    t == T_NULL || t == T_LBRACK;
}

static int
parse_literal(struct parser *p, struct lit *l)
{
	memset(l, 0, sizeof(*l));
	switch (p->t) {
	case T_STR:
		l->t = JSON_STRING;
		l->n = p->str.len;
		l->s = bytes_dup(p->str.p, l->n);
		l->bs = memchr(l->s, '\\', l->n) != NULL;
		break;
	case T_NUM:
		l->t = JSON_NUMBER;
		l->num = p->num;
		{
			json_doc d;

			/* Integers compare exactly, as int64, like VK's ids need. */
			json_init(&d);
			if (json_parse(&d, p->s + p->tcol, p->tend - p->tcol) == 0 &&
			    json_int64(&d, 0, &l->i) == 0)
				l->isint = 1;
			json_free(&d);
		}
		break;
	case T_TRUE: l->t = JSON_TRUE; break;
	case T_FALSE: l->t = JSON_FALSE; break;
	case T_NULL: l->t = JSON_NULL; break;
	case T_LBRACK:
		l->t = JSON_ARRAY;
		if (next(p) == -1)
			return -1;
		while (p->t != T_RBRACK) {
			struct lit *el = realloc(l->el, (size_t)(l->nel + 1) * sizeof(*el));

			if (el == NULL)
				return -1;
			l->el = el;
			if (!is_literal_start(p->t))
				return perr(p, p->tcol, "a literal (string, number, true, false, null) is expected in [ ]");
			if (parse_literal(p, &l->el[l->nel++]) == -1)
				return -1;
			if (p->t == T_COMMA) {
				if (next(p) == -1)
					return -1;
				if (p->t == T_RBRACK)
					return perr(p, p->tcol, "a literal is expected after ','");
			} else if (p->t != T_RBRACK) {
				return perr(p, p->tcol, "',' or ']' expected");
			}
		}
		break;
	default:
		return perr(p, p->tcol, "a literal is expected");
	}
	return next(p);
}

static int
parse_operand(struct parser *p, struct operand *o)
{
	memset(o, 0, sizeof(*o));
	if (p->t == T_PATH) {
		if ((o->path = parse_path(p, p->tcol, p->tend)) == NULL)
			return -1;
		return next(p);
	}
	if (is_literal_start(p->t))
		return parse_literal(p, &o->lit);
	if (p->t == T_WORD)
		return perr(p, p->tcol, "unknown word '%.*s' (paths start with a dot: .%.*s)",
		    (int)(p->tend - p->tcol), p->s + p->tcol,
		    (int)(p->tend - p->tcol), p->s + p->tcol);
	return perr(p, p->tcol, "%s", p->t == T_END ?
	    "the condition ends too early: a path like .event_type or a literal is expected" :
	    p->t == T_ARROW ? "a condition is expected before -> (use * to take every event)" :
	    "a path like .event_type, a literal, '(', not or * is expected");
}

static struct cond *parse_or(struct parser *p);

static struct cond *
new_cond(enum rule_op op)
{
	struct cond *c = calloc(1, sizeof(*c));

	if (c != NULL)
		c->op = op;
	return c;
}

static struct cond *
parse_primary(struct parser *p)
{
	struct cond *c;
	size_t col = p->tcol, rcol;

	if (p->t == T_LPAREN) {
		if (next(p) == -1 || (c = parse_or(p)) == NULL)
			return NULL;
		if (p->t != T_RPAREN) {
			perr(p, p->tcol, "')' expected, to close the '(' at column %zu", col + 1);
			cond_free(c);
			return NULL;
		}
		if (next(p) == -1) {
			cond_free(c);
			return NULL;
		}
		return c;
	}
	if ((c = new_cond(OP_TRUTHY)) == NULL)
		return NULL;
	if (p->t == T_STAR) {
		c->op = OP_ALL;
		if (next(p) == -1)
			goto fail;
		return c;
	}
	if (parse_operand(p, &c->l) == -1)
		goto fail;
	if (p->t != T_OP) {
		if (c->l.path == NULL) {
			perr(p, col, "a literal alone is not a condition: compare it with a path");
			goto fail;
		}
		return c;	/* a bare path: true unless missing, null or false */
	}
	c->op = p->op;
	if (next(p) == -1)
		goto fail;
	rcol = p->tcol;
	if (parse_operand(p, &c->r) == -1)
		goto fail;
	switch (c->op) {
	case OP_RE:
	case OP_NRE: {
		char why[200];

		if (c->r.path != NULL || c->r.lit.t != JSON_STRING) {
			perr(p, rcol, "=~ and !~ take a regular expression in a string: \"^/(ban|kick)\"");
			goto fail;
		}
		if ((c->rx = rx_compile(c->r.lit.s, c->r.lit.n, why, sizeof(why))) == NULL) {
			perr(p, rcol, "%s", why);
			goto fail;
		}
		break;
	}
	case OP_IN:
		if (c->r.path == NULL && c->r.lit.t != JSON_ARRAY) {
			perr(p, rcol, "in takes a list: in [\"button\", \"reaction\"]");
			goto fail;
		}
		break;
	case OP_LT: case OP_LE: case OP_GT: case OP_GE:
		if (c->r.path == NULL && c->r.lit.t != JSON_NUMBER &&
		    c->r.lit.t != JSON_STRING) {
			perr(p, rcol, "<, <=, >, >= compare numbers or strings");
			goto fail;
		}
		break;
	default:
		break;
	}
	eval_prepare(c);
	return c;
fail:
	cond_free(c);
	return NULL;
}

static struct cond *
parse_unary(struct parser *p)
{
	struct cond *c, *a;

	if (p->t != T_NOT)
		return parse_primary(p);
	if (next(p) == -1 || (a = parse_unary(p)) == NULL)
		return NULL;
	if ((c = new_cond(OP_NOT)) == NULL) {
		cond_free(a);
		return NULL;
	}
	c->a = a;
	return c;
}

static struct cond *
parse_binary(struct parser *p, enum tt t)
{
	struct cond *l, *r, *c;

	l = t == T_OR ? parse_binary(p, T_AND) : parse_unary(p);
	while (l != NULL && p->t == t) {
		if (next(p) == -1 ||
		    (r = t == T_OR ? parse_binary(p, T_AND) : parse_unary(p)) == NULL) {
			cond_free(l);
			return NULL;
		}
		if ((c = new_cond(t == T_OR ? OP_OR : OP_AND)) == NULL) {
			cond_free(l);
			cond_free(r);
			return NULL;
		}
		c->a = l;
		c->b = r;
		l = c;
	}
	return l;
}

static struct cond *
parse_or(struct parser *p)
{
	return parse_binary(p, T_OR);
}

/* --- destinations -------------------------------------------------------- */

static int
add_tpart(struct rule *r, const char *lit, size_t n, struct path *pa)
{
	struct tpart *t = realloc(r->tpart, (size_t)(r->ntpart + 1) * sizeof(*t));

	if (t == NULL)
		return -1;
	r->tpart = t;
	t += r->ntpart++;
	t->lit = lit ? strndup(lit, n) : NULL;
	t->n = n;
	t->path = pa;
	return 0;
}

/* The text after "->": its kind, its holes (checked, nothing made). */
static int
parse_dest(struct parser *p, struct rule *r, size_t at)
{
	size_t i = at, e = p->n, k, b;
	const char *arg;
	char why[256];
	int q = 0;

	while (i < e && (p->s[i] == ' ' || p->s[i] == '\t'))
		i++;
	/* A comment starts at a '#' after white space, outside quotes. */
	for (k = i; k < e; k++) {
		if (p->s[k] == '\'' || p->s[k] == '"')
			q = q == 0 ? p->s[k] : (q == p->s[k] ? 0 : q);
		if (q == 0 && p->s[k] == '#' && (k == i ||
		    p->s[k - 1] == ' ' || p->s[k - 1] == '\t'))
			break;
	}
	e = k;
	while (e > i && (p->s[e - 1] == ' ' || p->s[e - 1] == '\t' || p->s[e - 1] == '\r'))
		e--;
	if (i == e)
		return perr(p, i, "a destination is expected after ->: %s", dest_kinds_help());
	r->dest_text = strndup(p->s + i, e - i);
	r->kind = dest_kind_of(r->dest_text, &arg);
	if (r->kind == NULL)
		return perr(p, i, "unknown destination '%s': use %s", r->dest_text,
		    dest_kinds_help());
	if (r->kind->check(arg, why, sizeof(why), &k) == -1)
		return perr(p, i + (size_t)(arg - r->dest_text) + k, "%s", why);
	if (r->kind->wants_ids != NULL && r->kind->wants_ids(arg))
		p->rs->wants_ids = 1;
	for (k = b = i; k < e; k++) {
		size_t close;
		struct path *pa;

		if (p->s[k] != '{')
			continue;
		for (close = k + 1; close < e && p->s[close] != '}'; close++)
			;
		if (close >= e)
			return perr(p, k, "unterminated template: '}' expected");
		if (p->s[k + 1] != '.')
			return perr(p, k + 1, "a template holds a path: {.peer.cid}");
		{
			size_t pe;

			if (lex_path(p, k + 1, &pe) == -1)
				return -1;
			if (pe != close)
				return perr(p, pe, "a template holds only a path: '}' expected");
		}
		if ((pa = parse_path(p, k + 1, close)) == NULL)
			return -1;
		if (add_tpart(r, p->s + b, k - b, NULL) == -1 ||
		    add_tpart(r, NULL, 0, pa) == -1)
			return perr(p, k, "out of memory");
		r->templated = 1;
		b = k = close;
		b++;
	}
	if (r->templated && add_tpart(r, p->s + b, e - b, NULL) == -1)
		return perr(p, b, "out of memory");
	return 0;
}

/* --- lines and files ----------------------------------------------------- */

static int
parse_line(struct parser *p)
{
	struct ruleset *rs = p->rs;
	struct rule *r;
	char where[512];

	p->pos = 0;
	if (next(p) == -1)
		return -1;
	if (p->t == T_END)
		return 0;
	r = realloc(rs->rule, (size_t)(rs->nrule + 1) * sizeof(*r));
	if (r == NULL)
		return perr(p, 0, "out of memory");
	rs->rule = r;
	r = &rs->rule[rs->nrule++];
	memset(r, 0, sizeof(*r));
	if ((r->tally = calloc(1, sizeof(*r->tally))) == NULL)
		return perr(p, 0, "out of memory");
	snprintf(where, sizeof(where), "%s:%d", p->file, p->line);
	r->where = strdup(where);
	if (p->t == T_ELSE) {
		r->is_else = 1;
		rs->nelse++;
		if (next(p) == -1)
			return -1;
	} else if ((r->cond = parse_or(p)) == NULL) {
		return -1;
	}
	if (p->t == T_WORD && !r->is_else)
		return perr(p, p->tcol, "unknown word '%.*s': an operator, and, or, "
		    "or '->' before the destination expected", (int)(p->tend - p->tcol),
		    p->s + p->tcol);
	if (p->t != T_ARROW)
		return perr(p, p->tcol, "%s", r->is_else ?
		    "else takes no condition: '-> DESTINATION' expected" :
		    p->t == T_END ? "'-> DESTINATION' expected at the end of the condition" :
		    "an operator (==, !=, <, <=, >, >=, =~, !~, in, contains), and, or, or -> expected");
	return parse_dest(p, r, p->pos);
}

static int
parse_text(struct parser *p, const char *text, size_t len)
{
	const char *s = text, *e = text + len, *nl;

	while (s < e) {
		nl = memchr(s, '\n', (size_t)(e - s));
		p->s = s;
		p->n = nl ? (size_t)(nl - s) : (size_t)(e - s);
		p->line++;
		if (memchr(p->s, '\0', p->n) != NULL)
			return perr(p, (size_t)((const char *)memchr(p->s, '\0', p->n) - p->s),
			    "NUL byte in the rules");
		if (parse_line(p) == -1)
			return -1;
		s = nl ? nl + 1 : e;
	}
	return 0;
}

static int
read_file(const char *name, buf *out, char *err, size_t errlen)
{
	FILE *f = fopen(name, "r");
	char chunk[8192];
	size_t n;

	if (f == NULL) {
		snprintf(err, errlen, "%s: cannot read the rules: %s", name, strerror(errno));
		return -1;
	}
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		buf_put(out, chunk, n);
	if (ferror(f)) {
		snprintf(err, errlen, "%s: cannot read the rules: %s", name, strerror(errno));
		fclose(f);
		return -1;
	}
	fclose(f);
	return 0;
}

int
rules_load(struct ruleset *rs, const struct rules_src *src, int nsrc,
    char *err, size_t errlen)
{
	struct parser p;
	buf text = BUF_INIT;
	int k, rc = 0, eline = 0;

	memset(rs, 0, sizeof(*rs));
	memset(&p, 0, sizeof(p));
	p.rs = rs;
	p.err = err;
	p.errlen = errlen;
	for (k = 0; k < nsrc && rc == 0; k++) {
		if (src[k].text == NULL) {
			buf_reset(&text);
			if (read_file(src[k].name, &text, err, errlen) == -1) {
				rc = -1;
				break;
			}
			p.file = src[k].name;
			p.line = 0;
			rc = parse_text(&p, text.p ? text.p : "", text.len);
		} else {
			/* All -e rules read as one text, "-e:N" being the Nth line. */
			p.file = "-e";
			p.line = eline;
			rc = parse_text(&p, src[k].text, strlen(src[k].text));
			if (strlen(src[k].text) == 0)
				p.line++;
			eline = p.line;
		}
	}
	buf_free(&text);
	buf_free(&p.str);
	if (rc == -1)
		rules_free(rs);
	else
		eval_plan(rs);
	return rc;
}

int
rules_bind(struct ruleset *rs, char *err, size_t errlen)
{
	char why[256];
	int k;

	for (k = 0; k < rs->nrule; k++) {
		struct rule *r = &rs->rule[k];

		if (r->templated || r->fixed != NULL)
			continue;
		r->fixed = dest_get(r->dest_text, strlen(r->dest_text), 0, why,
		    sizeof(why));
		if (r->fixed == NULL) {
			snprintf(err, errlen, "rule %s: %s: %s", r->where, r->dest_text, why);
			return -1;
		}
	}
	return 0;
}

/* Tallies of rules replaced by a reload: lines they queued report to them. */
static struct dest_tally **retired;
static size_t nretired;

void
rules_retire(struct ruleset *rs)
{
	int k;

	for (k = 0; k < rs->nrule; k++) {
		if ((retired = realloc(retired, (nretired + 1) * sizeof(*retired))) == NULL)
			abort();
		retired[nretired++] = rs->rule[k].tally;
		rs->rule[k].tally = NULL;
	}
	rules_free(rs);
}

void
rules_retired_free(void)
{
	while (nretired > 0)
		free(retired[--nretired]);
	free(retired);
	retired = NULL;
}

void
rules_free(struct ruleset *rs)
{
	int k, j;

	for (k = 0; k < rs->nrule; k++) {
		struct rule *r = &rs->rule[k];

		free(r->tally);
		free(r->where);
		cond_free(r->cond);
		free(r->step);
		free(r->dest_text);
		for (j = 0; j < r->ntpart; j++)
			free(r->tpart[j].lit);
		free(r->tpart);
	}
	free(rs->rule);
	for (k = 0; k < rs->npath; k++)
		path_free(rs->paths[k]);
	free(rs->paths);
	plan_free(rs->plan);
	memset(rs, 0, sizeof(*rs));
}
