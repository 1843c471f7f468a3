/*
 * vkasync.h - VK API calls in flight together, over a libcurl multi handle.
 *
 * The calls are made as vkapi_call() makes them (vkapi.h: form-encoded
 * POST, the token in the body only, TLS verified, messages masked), but
 * none blocks: a caller starts calls, waits in vka_poll() on its own file
 * descriptors and the transfers' sockets together, and collects the calls
 * that ended with vka_done(). Connections are kept alive and shared by all
 * calls of one vkasync.
 */
#ifndef VKPIPE_VKASYNC_H
#define VKPIPE_VKASYNC_H

#include <poll.h>

#include "buf.h"
#include "json.h"
#include "vkapi.h"

typedef struct vka_call {
	void		*easy;
	buf		 url, form, body;
	int		 too_big;
	char		 cerr[256];	/* CURL_ERROR_SIZE */
	void		*mime;		/* an upload's multipart body, or NULL */
	void		*user;		/* the caller's */
	struct vka_call	*next;		/* on the free list */
	struct vka_call	*all_next;	/* every call made, to free them */
} vka_call;

typedef struct vkasync {
	const vkapi	*api;		/* base URL, version, token, masking */
	void		*multi;
	long		 timeout_ms;	/* whole-call timeout */
	int		 running;	/* calls in flight */
	vka_call	*free, *all;
	void		*wfd;		/* struct curl_waitfd[nwfd] */
	unsigned	 nwfd;
	struct vka_sock {		/* the transfers' sockets, as libcurl asks */
		int	 fd;
		short	 events;	/* POLLIN, POLLOUT */
	} *sock;
	unsigned	 nsock, sock_cap;
} vkasync;

/* api must outlive m. Returns 0, or -1 with e filled. */
int	vka_init(vkasync *m, const vkapi *api, vkapi_err *e);
void	vka_free(vkasync *m);
/* Start method(params) (as for vkapi_call); user comes back with it. 0 or -1. */
int	vka_start(vkasync *m, const char *method, const char *const *params,
	    void *user, vkapi_err *e);
/*
 * Start an upload: a multipart/form-data POST to url (an upload server's,
 * as VK gave it) of one part named field with file name name, holding
 * size bytes read from fd at offset 0 (pread: streamed, never held in
 * memory; fd stays the caller's) or, when fd is -1, the bytes at data
 * (copied). It is not an API call: no token, no version, no form. Ends
 * through vka_done() like a call, its reply parsed as any JSON (*resp the
 * root token). 0, or -1 with e filled.
 */
int	vka_start_upload(vkasync *m, const char *url, const char *field,
	    const char *name, int fd, const void *data, size_t size, void *user,
	    vkapi_err *e);
/*
 * Wait up to timeout_ms for a transfer to progress or one of fds to be
 * ready (their revents are filled), then move the transfers on.
 */
int	vka_poll(vkasync *m, struct pollfd *fds, unsigned nfds, int timeout_ms);
/* The longest vka_poll() should wait for the transfers' sake (-1: any). */
long	vka_timeout(vkasync *m);
/*
 * The same wait inside a program's own loop (loop.h), never mixed with
 * vka_poll() on one m: vka_wait_on() adds the transfers' sockets and their
 * timeout to the round; their callbacks move the transfers on when ready,
 * and vka_after() (after loop_dispatch) runs what is due by time and
 * starts calls made since.
 */
struct loop;
void	vka_wait_on(vkasync *m, struct loop *l);
void	vka_after(vkasync *m);
/*
 * A call that ended, or NULL. Its reply is classified as by vkapi_call():
 * the status is returned in *st, and on VKAPI_OK *resp is the `response`
 * token in doc (doc borrows the call's body). Give the call back with
 * vka_release() when done with doc.
 */
vka_call *vka_done(vkasync *m, json_doc *doc, int *resp, int *st, vkapi_err *e);
void	vka_release(vkasync *m, vka_call *c);

#endif
