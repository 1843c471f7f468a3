/*
 * state.h - the state file: the long-poll ts to resume from.
 *
 * One line of JSON, {"group_id":N,"ts":TS}, where TS is the token exactly
 * as VK sent it (a string or a number). It is replaced atomically: written
 * to FILE.tmp, fsync'd, renamed over FILE, and the directory fsync'd, so a
 * crash at any point leaves either the old state or the new one.
 */
#ifndef VKPOLL_STATE_H
#define VKPOLL_STATE_H

#include <stddef.h>

#include "buf.h"

/*
 * Read the ts saved in path into ts (raw JSON token). Returns 0 when
 * loaded, 1 when the file does not exist (start afresh), -1 when it cannot
 * be read, is not a state file, or belongs to another group (err says why).
 */
int	state_load(const char *path, const char *group, buf *ts, char *err, size_t errlen);
/* Save ts for group. Returns 0, or -1 with err set. */
int	state_save(const char *path, const char *group, const char *ts, size_t tslen,
	    char *err, size_t errlen);

/*
 * Refresh path's mtime, the sign of a poll that returned (a health check
 * reads it): with --ack the ts may stay unsaved for long on a quiet
 * community. A file not there yet is left so.
 */
void	state_touch(const char *path);

#endif
