/*
 * dedup.h - vk-route --dedup: drop an Event whose event_id was among the
 * last N seen.
 *
 * The window is a ring of N ids, oldest first, with a chained hash table
 * over it: a lookup is one hash, an insert evicts the oldest id once the
 * ring is full. With --dedup-state the window is saved (only the ids of
 * Events already finished with: a crash must not make an undelivered
 * Event look delivered) to a file written atomically (temp file, fsync,
 * rename), at most once a second while new ids are finished, and at exit;
 * it is loaded at start.
 *
 * The file: a line "vk-route-dedup 1", one JSON string per id, oldest
 * first, and a line "end COUNT".
 *
 * An id longer than ACK_ID_MAX (common/ack.h) is never remembered, neither
 * seen nor loaded: the window's memory and file are bounded by N times
 * that, whatever the Events hold. Not remembered rather than refused: the
 * Event is still delivered (at least once), only a copy of it would not be
 * recognised; refusing it would lose a real Event for its id's sake.
 */
#ifndef VKROUTE_DEDUP_H
#define VKROUTE_DEDUP_H

#include <stddef.h>

#define DEDUP_MAX	100000000	/* the largest window */

void	dedup_init(size_t n);
int	dedup_enabled(void);
/* 1: id was among the last N (a duplicate, counted); 0: new, remembered as
 * Event seq (unless longer than ACK_ID_MAX: not remembered). */
int	dedup_seen(const char *id, size_t n, unsigned long long seq);
/* Load the window; a missing file is an empty window. 0, or -1 with err. */
int	dedup_load(const char *path, char *err, size_t errlen);
/*
 * Save the ids of Events up to number done, if some are new and a second
 * passed since the last save (force: now). 0 (saved or nothing to do), -1
 * failed (logged).
 */
int	dedup_tick(double now, unsigned long long done, int force);
/* The next tick that may save, as a poll timeout in ms (lowered, never raised). */
void	dedup_timeout(double now, unsigned long long done, int *timeout);
size_t	dedup_size(void);
size_t	dedup_cap(void);
unsigned long dedup_dropped(void);
void	dedup_free(void);

#endif
