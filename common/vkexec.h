/*
 * vkexec.h - up to 25 VK API calls in one request, through `execute`.
 *
 * VK's execute method runs a VKScript program and counts as one request
 * against the rate limit. vkexec builds the one program vkpipe needs,
 *
 *	return [API.users.get({"user_ids":"1,2"}),API.groups.getById({...})];
 *
 * from method names and raw parameter values, and splits the reply back
 * into one result per call. Parameter values come from chat data: each is
 * written as a JSON string literal (quotes, backslashes, control and line
 * separator characters escaped; bytes that are not UTF-8 become U+FFFD),
 * so no value can end its literal or inject code. Method and parameter
 * names are the caller's and are checked to be plain names.
 *
 * In the reply, a call that failed is `false` in `response`, and its error
 * is the next entry of `execute_errors` (for that method, in order). A
 * request that failed as a whole (transport, HTTP, a top-level error, or a
 * null response) gives every call the same error.
 */
#ifndef VKPIPE_VKEXEC_H
#define VKPIPE_VKEXEC_H

#include "buf.h"
#include "json.h"
#include "vkapi.h"

#define VKEXEC_MAX	25	/* VK runs at most 25 API calls per execute */

typedef struct vkexec {
	int	 n;
	char	 method[VKEXEC_MAX][64];
	buf	 code;		/* "return [" … while calls are added */
	buf	 scratch;
} vkexec;

/* One call's outcome. On VKAPI_OK, resp is its value's token in the doc. */
struct vkexec_result {
	int		 status;	/* VKAPI_OK or a vkapi_status */
	int		 resp;
	vkapi_err	 err;		/* when status != VKAPI_OK */
	int		 errtok;	/* its execute_errors entry in the doc, or -1
					 * (for the fields an error may carry: captcha_sid…) */
};

void	vkexec_init(vkexec *x);
void	vkexec_reset(vkexec *x);	/* no calls; keeps the memory */
void	vkexec_free(vkexec *x);
/*
 * Add a call: params is a NULL-terminated list of name, value pairs (raw
 * values, as for vkapi_call; C strings, so a value cannot hold a NUL). Returns its index, or -1 when VKEXEC_MAX
 * calls are there already or a name is not a plain name (e says which).
 */
int	vkexec_add(vkexec *x, const char *method, const char *const *params,
	    vkapi_err *e);
/* The program for the calls added, NUL-terminated; valid until the next add. */
const char *vkexec_code(vkexec *x);
/*
 * Split a reply into x->n results. st and e are what the request gave
 * (vkapi_call's status and error); d is the reply document (root token 0)
 * when st is VKAPI_OK. Error texts are masked with a's secrets (a may be
 * NULL).
 */
void	vkexec_split(const vkexec *x, const vkapi *a, const json_doc *d, int st,
	    const vkapi_err *e, struct vkexec_result *out);
/* Send the calls added as one execute request and split its reply into out. */
int	vkexec_call(vkexec *x, vkapi *a, struct vkexec_result *out, vkapi_err *e);

#endif
