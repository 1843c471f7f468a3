/*
 * workers.h - exec:…#workers=N,by=PATH: a group of N handlers, each Event
 * handed to the worker its key (the value at PATH) is assigned to. See
 * dest_workers.c for how keys are assigned.
 */
#ifndef VKROUTE_WORKERS_H
#define VKROUTE_WORKERS_H

#include <stddef.h>

#define WORKERS_MAX	256

/* Is s[0..n) a path by= takes (".a.b")? 0, or -1 with err. */
int	workers_check_path(const char *s, size_t n, char *err, size_t errlen);
/* The worker (0 … nworkers-1) that takes this line: its key's hash mod N. */
int	workers_index(const char *path, int nworkers, const char *line, size_t n);

#endif
