/*
 * reply.h - what a long-poll reply says, and its updates as output lines.
 *
 * Kept apart from the transfer (poll.c) so that every byte sequence the
 * server could send can be fed to it without a network (the fuzz harness
 * tests/fuzz/fuzz-pollreply.c does).
 */
#ifndef VKPOLL_REPLY_H
#define VKPOLL_REPLY_H

#include <stdint.h>

#include "buf.h"
#include "json.h"

enum reply_kind {
	REPLY_UPDATES,	/* {"ts":TS,"updates":[...]} */
	REPLY_FAILED1,	/* history cut: go on from the reply's ts (ts -1: none given) */
	REPLY_FAILED2,	/* the key expired: a new key, the same ts */
	REPLY_FAILED3,	/* the key and ts are lost: a new key and ts */
	REPLY_FAILED,	/* another failed code (code; -1 if not an integer) */
	REPLY_BAD	/* neither ts and updates nor failed */
};

struct reply {
	enum reply_kind kind;
	int	ts;		/* the ts token, or -1 */
	int	updates;	/* the updates array (REPLY_UPDATES), or -1 */
	int64_t	code;		/* the failed code */
};

/* Classify the parsed reply d (root token 0, any JSON value). */
void	reply_classify(const json_doc *d, struct reply *r);
/*
 * Token t (a string or a number) as raw JSON text into b, strings with
 * their quotes: the ts kept opaque and sent back as it came. 0, or -1
 * (b untouched) when t is neither.
 */
int	reply_token(buf *b, const json_doc *d, int t);
/*
 * Append update i to b as one line: VK's bytes with the white space outside
 * strings removed, then a newline. Unless id is NULL, the update's
 * event_id, unescaped, goes to id (emptied first; left empty when the
 * update has no string event_id).
 */
void	reply_update(const json_doc *d, int i, buf *b, buf *id);

#endif
