/*
 * plan.h - where the paths the rules read are in check()'s index (plan.c),
 * for the evaluator (eval.c).
 */
#ifndef VKROUTE_PLAN_H
#define VKROUTE_PLAN_H

struct eval;
struct plan;
struct ruleset;

/*
 * The plan for a loaded ruleset's paths, or NULL when none can be found in
 * the index; each path it finds is marked (struct path's found).
 */
struct plan *plan_make(struct ruleset *rs);
void	plan_free(struct plan *pl);
/*
 * This Event's value of every path the plan finds (JSON_NONE: absent),
 * from one walk over e->ix, into e->val (e->memb: the entry of a depth-1
 * member, for the lookups of its members the plan does not know).
 */
void	plan_walk(struct eval *e, const struct plan *pl);

#endif
