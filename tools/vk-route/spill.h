/*
 * spill.h - dead-letter files (--spill DIR), vk-route's own: one per
 * destination for what could not be delivered (SPILL/NAME-HASH.ndjson),
 * one for what it refused (….rejected.ndjson, with the reason). The names
 * are short and unique whatever the destination text (see spill_name()).
 */
#ifndef VKROUTE_SPILL_H
#define VKROUTE_SPILL_H

#include <stddef.h>

struct dest;

/* Append one line (a newline is added) to d's dead-letter file: 0, or -1 (logged). */
int	spill(struct dest *d, const char *p, size_t n);
/* A line d refused for good, with the reason: kept with --spill (0), else -1. */
int	keep_refused(struct dest *d, const char *line, size_t n, int status,
	    const char *why);

#endif
