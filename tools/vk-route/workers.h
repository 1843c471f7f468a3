/*
 * workers.h - exec:…#workers=N,by=PATH: a group of N handlers, each Event
 * handed to the worker its key (the value at PATH) is assigned to. See
 * dest_workers.c for how keys are assigned.
 */
#ifndef VKROUTE_WORKERS_H
#define VKROUTE_WORKERS_H

#include <stddef.h>

struct dest;
struct workers;

#define WORKERS_MAX	256

/* Is s[0..n) a path by= takes (".a.b")? 0, or -1 with err. */
int	workers_check_path(const char *s, size_t n, char *err, size_t errlen);
/*
 * The N worker destinations of the group `name` (an exec: text): each is
 * name + ",worker=K", made with dest_get(). NULL with err.
 */
struct workers *workers_new(const char *name, int n, const char *path,
	    size_t pathlen, char *err, size_t errlen);
/* The worker that takes this line. */
struct dest *workers_pick(const struct workers *w, const char *line, size_t n);
void	workers_free(struct workers *w);

#endif
