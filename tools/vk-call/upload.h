/*
 * upload.h - what an upload request carries through VK's three steps.
 *
 *   {"id": ID, "upload": {"type": "photo", "peer_id": 2000000002, "file": "chart.png"}}
 *   {"id": ID, "upload": {"type": "doc", "peer_id": 5, "data": BASE64, "name": "r.pdf", "title": "R"}}
 *
 * 1. photos.getMessagesUploadServer(peer_id), or docs.getMessagesUploadServer
 *    (type doc|audio_message, peer_id): an API call like any other;
 * 2. a multipart POST of the bytes to the upload_url it gave (field "photo"
 *    or "file"): not an API call, and no token in it;
 * 3. photos.saveMessagesPhoto(photo, server, hash), or docs.save(file,
 *    title): an API call again, alone; its reply gives the attachment.
 *
 * Who reads the file: the request's source is bytes ("data"), or a
 * descriptor opened by someone with the right to: vk-call --connect (the
 * handler's own rights, passed over the socket), or vk-call itself beneath
 * --upload-dir in stdin mode. vk-call never opens a client's path.
 */
#ifndef VKCALL_UPLOAD_H
#define VKCALL_UPLOAD_H

#include <stddef.h>

#include "buf.h"
#include "json.h"

enum up_type { UP_PHOTO, UP_DOC, UP_VOICE };

typedef struct upload {
	enum up_type	 type;
	int		 step;		/* 1, 2 or 3, as above */
	char		*file;		/* as the request named it, or NULL */
	char		*name;		/* the file name the upload server sees */
	char		*title;		/* docs.save's, or NULL */
	char		*data;		/* "data" decoded, or NULL */
	size_t		 size;		/* bytes to send */
	int		 fd;		/* the file's descriptor, or -1 */
	char		*url;		/* step 2's upload_url */
	buf		 strs;		/* step 3's params: name\0value\0... */
	const char	*kv[7];
	int		 inflight;	/* step 2 under way */
} upload;

/* VK's own limits, bytes. */
#define UP_MAX_PHOTO	(50LL << 20)
#define UP_MAX_DOC	(200LL << 20)

/*
 * Parse the "upload" object at token i of d. Returns a new upload, its
 * step 1 method in *method and params appended to strs as name\0value\0
 * (pairs in *np), or NULL with why filled.
 */
upload	*upload_parse(const json_doc *d, int i, const char **method, buf *strs,
	    int *np, char *why, size_t whylen);
void	 upload_free(upload *u);
/* The longest file type may send: VK's own, or max when lower (0: VK's). */
long long upload_limit(const upload *u, long long max);
/*
 * Take fd (now u's) as the file's source: a regular file of at most
 * limit bytes. 0, or -1 with why filled (fd closed).
 */
int	 upload_take_fd(upload *u, int fd, long long limit, char *why, size_t whylen);
/*
 * Open path for reading beneath the directory dirfd: no "..", absolute
 * path or symbolic link leads out of it (openat2 RESOLVE_BENEATH). A
 * descriptor, or -1 with why filled.
 */
int	 upload_open_beneath(int dirfd, const char *path, char *why, size_t whylen);
/* The step u is at, for errors: the method, or "upload". */
const char *upload_step(const upload *u, const char *method);
/* The upload server's multipart field: "photo" or "file". */
const char *upload_field(const upload *u);
/*
 * Step 2's reply (an object at token 0 of d) into step 3's method and
 * params (u->kv). 0, or -1 with why filled: the server refused it.
 */
int	 upload_saving(upload *u, const json_doc *d, const char **method,
	    char *why, size_t whylen);
/*
 * Step 3's reply at token tok into the attachment string. 0, or -1 when
 * it names no owner_id and id.
 */
int	 upload_attachment(const upload *u, const json_doc *d, int tok, buf *out);

#endif
