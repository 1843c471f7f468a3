/*
 * rules.h - the vk-route rules language: parsing, evaluation, templates.
 *
 * A rules text is parsed once into a ruleset: conditions are trees whose
 * leaves compare paths (pre-split into steps, interned so that each path
 * is looked up at most once per event) with JSON literals; regular
 * expressions are compiled at load time. Parsing never exits: it returns
 * -1 and fills an error "FILE:LINE:COL: what is wrong".
 *
 * Evaluation reads the event's validated text (json.h), looks paths up
 * lazily, and never allocates once its scratch buffers have grown.
 */
#ifndef VKROUTE_RULES_H
#define VKROUTE_RULES_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "json.h"

struct dest;
struct dest_kind;
struct dest_tally;
struct rx;
struct plan;

/* One step of a path: a member name or an array index (negative: from the end). */
struct step {
	char	*key;		/* NULL for an index */
	size_t	 klen;
	long	 idx;
};

struct path {
	int	 id;		/* index in ruleset.paths: the per-event cache slot */
	struct path *parent;	/* all steps but the last (looked up, cached, first) */
	int	 found;	/* the walk over check()'s index finds it (eval_plan) */
	int	 nstep;
	struct step *step;
	char	*text;		/* as written, for messages */
};

/* A JSON literal from the rules text. Strings are kept unescaped. */
struct lit {
	enum json_type t;
	char	*s;		/* string bytes (t == JSON_STRING) */
	size_t	 n;
	int	 bs;		/* the string holds a backslash */
	double	 num;		/* t == JSON_NUMBER */
	int	 isint;		/* the number is an integer that fits int64 */
	int64_t	 i;
	int	 nel;		/* t == JSON_ARRAY: elements */
	struct lit *el;
};

enum rule_op {
	OP_ALL,			/* `*` */
	OP_AND, OP_OR, OP_NOT,
	OP_TRUTHY,		/* a bare operand: not null, not false, present */
	OP_EQ, OP_NE, OP_LT, OP_LE, OP_GT, OP_GE,
	OP_RE, OP_NRE,		/* =~ !~ */
	OP_IN, OP_CONTAINS
};

struct operand {
	struct path *path;	/* or NULL: then lit */
	struct lit lit;
};

/* How a comparison of a path with a literal is evaluated (eval_prepare). */
enum cond_fast {
	FAST_NONE,		/* the general way */
	FAST_STR,		/* == != a string */
	FAST_INT,		/* == != < <= > >= an integer */
	FAST_IN_STR,		/* in a list of strings */
	FAST_HAS_STR,		/* contains a string */
	FAST_RE			/* =~ !~ */
};

struct cond {
	enum rule_op op;
	struct cond *a, *b;	/* and/or/not */
	struct operand l, r;	/* comparisons */
	struct rx *rx;		/* =~ !~ */
	enum cond_fast fast;
};

/* A destination text split into literal pieces and {.path} holes. */
struct tpart {
	char	*lit;		/* literal bytes, or NULL for a hole */
	size_t	 n;
	struct path *path;
};

/*
 * A condition as a sequence of comparisons (eval_plan): step k decides its
 * comparison and goes on to step t or f; STEP_TRUE or STEP_FALSE ends it.
 */
#define STEP_TRUE	(-1)
#define STEP_FALSE	(-2)
struct cstep {
	const struct cond *c;
	int	 t, f;
};

struct rule {
	char	*where;		/* "FILE:LINE", for messages and --stats */
	int	 is_else;
	struct cond *cond;
	struct cstep *step;	/* cond's comparisons, in the order it reads them */
	int	 start;		/* the first step, or STEP_TRUE (`*`) */
	char	*dest_text;	/* as written after -> */
	const struct dest_kind *kind;
	int	 ntpart;
	struct tpart *tpart;
	int	 templated;	/* has holes; else `fixed` is the instance */
	struct dest *fixed;	/* made by rules_bind(), not by parsing */
	struct dest_tally *tally;	/* its counts, from the delivery reports */
};

struct ruleset {
	struct rule *rule;
	int	 nrule;
	struct path **paths;
	int	 npath;
	int	 nelse;
	int	 wants_ids;	/* a destination needs each Event's id (exec:…#confirm) */
	struct plan *plan;	/* how the paths are found in check()'s index (plan.h) */
};

/* Where rules come from: a file, or one -e string. */
struct rules_src {
	const char *name;	/* file name, or "-e" */
	const char *text;	/* NULL: read the file `name` */
	int	 index;		/* for -e: its position (1, 2, …) */
};

/*
 * Parse every source in order into *rs. Returns 0, or -1 with err filled
 * ("FILE:LINE:COL: …", control characters escaped). Destinations are only
 * checked: loading has no side effect (--check, a SIGHUP reload that then
 * fails): it makes no destination and opens nothing.
 */
int	rules_load(struct ruleset *rs, const struct rules_src *src, int nsrc,
	    char *err, size_t errlen);
/* Make the instances of the fixed destinations (nothing is opened yet). */
int	rules_bind(struct ruleset *rs, char *err, size_t errlen);
void	rules_free(struct ruleset *rs);
/*
 * Free rules replaced by a reload; their tallies live on (lines queued by
 * them still report to them) until rules_retired_free() at exit.
 */
void	rules_retire(struct ruleset *rs);
void	rules_retired_free(void);

/* Per-event evaluation state; one per program, reused. */
struct eval {
	struct jv root;		/* the event, validated by json_check() */
	const struct json_index *ix;	/* its top-level members */
	const struct plan *plan;	/* the ruleset's, when ix can be used */
	struct jv *val;		/* path id -> value, for the current event */
	int	*memb;		/* path id -> its entry in ix, or a negative */
	unsigned *stamp;	/* path id -> the gen its val was found in */
	unsigned *plain;	/* path id -> the gen its string was seen unescaped in */
	unsigned gen;
	int	 cap;
	buf	 s1, s2;	/* scratch */
	const struct rx *rx_failed;	/* a match that could not be told, or NULL */
	unsigned char *verdict;	/* eval_rules()'s answers */
	const struct rx **failed;	/* rule -> its regex that failed (EVAL_FAILED) */
	int	 nverdict;
};

/* Choose how a parsed comparison is evaluated (the parser calls it). */
void	eval_prepare(struct cond *c);
/* Plan how the paths and conditions of a loaded ruleset are evaluated
 * (rules_load calls it). */
void	eval_plan(struct ruleset *rs);
void	eval_init(struct eval *e);
void	eval_free(struct eval *e);
/* Start a new event: forget cached path lookups. */
void	eval_begin(struct eval *e, const struct ruleset *rs, const struct jv *root,
	    const struct json_index *ix);
/*
 * Does the condition hold? When a regular expression could not be
 * matched (rx_match() -1), e->rx_failed is set and the answer means
 * nothing: the caller treats the condition as an error for this Event.
 */
int	eval_cond(struct eval *e, const struct cond *c);
/* The same answer as eval_cond(e, r->cond), its comparisons made in the
 * same order, without a walk of the condition's tree. */
int	eval_rule(struct eval *e, const struct rule *r);
/*
 * Every rule's condition, in rule order: verdict k is EVAL_YES, EVAL_NO
 * (else rules too), or EVAL_FAILED when a regular expression could not be
 * matched (e->failed[k] says which). Valid until the next call.
 */
enum { EVAL_NO, EVAL_YES, EVAL_FAILED };
const unsigned char *eval_rules(struct eval *e, const struct ruleset *rs);

/*
 * Fill a templated destination into out ("file:photos-2.ndjson"). Values
 * must be strings, numbers or booleans; when the kind says values form
 * file paths they may not hold '/', "..", or control characters. Returns 0,
 * or -1 with why filled.
 */
int	eval_template(struct eval *e, const struct rule *r, buf *out,
	    char *why, size_t whylen);

#endif
