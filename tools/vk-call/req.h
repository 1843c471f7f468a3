/*
 * req.h - one API request read from a line, and the result line for it.
 *
 *   {"id": ID, "method": "messages.send", "params": {"peer_id": 2000000002, "message": "hi"}}
 *   {"id": ID, "upload": {"type": "photo", "peer_id": 2000000002, "file": "a.png"}}  (upload.h)
 *   {"id": ID, "response": VALUE}
 *   {"id": ID, "error": {"error_code": N, "error_msg": "...", ...}}
 *
 * A request keeps what the API needs as C strings: the method and its
 * params as name, value pairs (numbers as written, true/false as 1/0,
 * arrays comma-joined, null left out), plus the id as compact JSON to echo.
 */
#ifndef VKCALL_REQ_H
#define VKCALL_REQ_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "json.h"
#include "upload.h"

/* Result codes of vk-call's own, beside VK's positive error codes. */
#define ERR_LINE	(-1)	/* the line is not a request */
#define ERR_NET		(-2)	/* VK could not be reached, or answered no JSON */

/* Param bytes one execute may carry: a bigger request goes alone. */
#define REQ_BATCH_BYTES	(48u << 10)

struct client;

typedef struct req {
	struct req	*next, *prev;	/* in the queue */
	struct client	*cl;		/* where the result goes */
	char		*id;		/* compact JSON */
	const char	*method;
	const char	**kv;		/* name, value, ..., NULL */
	int		 nkv;		/* pairs */
	size_t		 size;		/* bytes of names and values */
	unsigned long	 lineno;
	uint64_t	 key;		/* order key (the peer), 0 for none */
	double		 arrived, not_before;
	unsigned	 tries;
	unsigned	 first:1;	/* goes before the others (button answers) */
	unsigned	 alone:1;	/* cannot run inside execute */
	unsigned	 idem:1;	/* may be repeated without effect (error 10 retried) */
	upload		*up;		/* an upload's, or NULL: method and kv are its step's */
} req;

/*
 * Parse line p[0..n) (number lineno). Returns a malloc'd request, or NULL
 * with why filled; then *id is the id's JSON text when it could be read
 * ("null" otherwise), in idbuf.
 */
req	*req_parse(json_doc *d, const char *p, size_t n, unsigned long lineno,
	    buf *idbuf, char *why, size_t whylen);
void	 req_free(req *r);
/* A line of white space only: no request, skipped without an answer. */
int	 req_blank(const char *p, size_t n);
/* The value of param name, or NULL. */
const char *req_param(const req *r, const char *name);
/* messages.send's random_id for an id: a positive 32-bit integer. */
int32_t	 req_random_id(const char *id, size_t n);

/* Append a result line for id to b: the value at token tok of d. */
void	res_response(buf *b, const char *id, const json_doc *d, int tok, buf *scratch);
/*
 * Append an error result line: code and msg, and when d and err (an error
 * object in d, or -1) are given its captcha_sid and captcha_img.
 */
void	res_error(buf *b, const char *id, long code, const char *msg,
	    const json_doc *d, int err, buf *scratch);

#endif
