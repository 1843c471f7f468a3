/* upload.c - an upload request's source, limits and VK's replies to it. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "alloc.h"
#include "upload.h"

static const char *const types[] = { "photo", "doc", "audio_message" };
static const char *const default_names[] = { "photo.jpg", "document", "voice.ogg" };

/*
 * Standard base64 (RFC 4648 section 4), padding optional, nothing else
 * allowed. No Debian library we carry offers a decoder (libcurl keeps its
 * own private), and this is the whole of it. Returns the length, or -1.
 */
static long
b64_decode(const char *s, size_t n, char *out)
{
	uint32_t acc = 0;
	size_t i, bits = 0, len = 0;
	int v;

	while (n > 0 && s[n - 1] == '=')
		n--;
	for (i = 0; i < n; i++) {
		char c = s[i];

		if (c >= 'A' && c <= 'Z')
			v = c - 'A';
		else if (c >= 'a' && c <= 'z')
			v = c - 'a' + 26;
		else if (c >= '0' && c <= '9')
			v = c - '0' + 52;
		else if (c == '+')
			v = 62;
		else if (c == '/')
			v = 63;
		else
			return -1;
		acc = acc << 6 | (uint32_t)v;
		if ((bits += 6) >= 8) {
			bits -= 8;
			out[len++] = (char)(acc >> bits & 0xff);
		}
	}
	return bits >= 6 ? -1 : (long)len;	/* one char alone holds no byte */
}

/* A file name for a MIME header: no path, no control bytes, no quotes. */
static int
good_name(const char *s, size_t n)
{
	size_t i;

	if (n == 0 || n > 255)
		return 0;
	for (i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f || s[i] == '/' ||
		    s[i] == '\\' || s[i] == '"')
			return 0;
	return !(n <= 2 && s[0] == '.' && (n == 1 || s[1] == '.'));
}

/* String member key of o, unescaped into b (NUL-terminated): 1, 0 absent, -1 no string. */
static int
get_str(const json_doc *d, int o, const char *key, buf *b)
{
	int t = json_get(d, o, key, strlen(key));

	buf_reset(b);
	if (t == -1)
		return 0;
	if (json_type(d, t) != JSON_STRING)
		return -1;
	json_unescape(d, t, b);
	if (memchr(b->p, '\0', b->len))
		return -1;
	buf_cstr(b);
	return 1;
}

upload *
upload_parse(const json_doc *d, int i, const char **method, buf *strs,
    int *np, char *why, size_t whylen)
{
	buf file = BUF_INIT, data = BUF_INIT, name = BUF_INIT, title = BUF_INIT;
	buf type = BUF_INIT;
	const char *peer, *slash;
	upload *u = NULL;
	int64_t peer_id;
	size_t peern;
	int t, k, hf, hd, hn, ht;
	long len;

	if (json_type(d, i) != JSON_OBJECT) {
		snprintf(why, whylen, "\"upload\" is not an object");
		return NULL;
	}
	if (get_str(d, i, "type", &type) != 1) {
		snprintf(why, whylen, "upload.type: photo, doc or audio_message");
		goto out;
	}
	for (k = 0; k < 3 && strcmp(type.p, types[k]) != 0; k++)
		;
	if (k == 3) {
		snprintf(why, whylen, "upload.type: photo, doc or audio_message");
		goto out;
	}
	t = json_get(d, i, "peer_id", 7);
	if (t == -1 || json_type(d, t) != JSON_NUMBER || json_int64(d, t, &peer_id) != 0) {
		snprintf(why, whylen, "upload.peer_id: not an integer");
		goto out;
	}
	hf = get_str(d, i, "file", &file);
	hd = get_str(d, i, "data", &data);
	hn = get_str(d, i, "name", &name);
	ht = get_str(d, i, "title", &title);
	if (hf < 0 || hd < 0 || hn < 0 || ht < 0) {
		snprintf(why, whylen, "upload: file, data, name and title are strings "
		    "without NUL characters");
		goto out;
	}
	if (hf + hd != 1) {
		snprintf(why, whylen, "upload: either \"file\" or \"data\" (base64)");
		goto out;
	}
	if (hf && file.len == 0) {
		snprintf(why, whylen, "upload.file: empty");
		goto out;
	}
	u = xcalloc(1, sizeof(*u));
	u->type = (enum up_type)k;
	u->fd = -1;
	u->step = 1;
	if (hd) {
		u->data = xmalloc(data.len / 4 * 3 + 3);
		if ((len = b64_decode(data.p, data.len, u->data)) < 0) {
			snprintf(why, whylen, "upload.data: not base64");
			goto fail;
		}
		u->size = (size_t)len;
	} else {
		u->file = xstrdup(file.p);
	}
	if (!hn) {	/* the file's own name, or one for its type */
		buf_reset(&name);
		slash = hf ? strrchr(file.p, '/') : NULL;
		buf_puts(&name, hf ? (slash ? slash + 1 : file.p) : default_names[k]);
		buf_cstr(&name);
	}
	if (!good_name(name.p, name.len)) {
		snprintf(why, whylen, "upload.name: \"%.64s\" is not a file name%s", name.p,
		    hn ? "" : " (give \"name\")");
		goto fail;
	}
	u->name = xstrdup(name.p);
	if (ht)
		u->title = xstrdup(title.p);
	peer = json_raw(d, t, &peern);
	*method = u->type == UP_PHOTO ? "photos.getMessagesUploadServer" :
	    "docs.getMessagesUploadServer";
	buf_puts(strs, "peer_id");
	buf_putc(strs, '\0');
	buf_put(strs, peer, peern);
	buf_putc(strs, '\0');
	*np = 1;
	if (u->type != UP_PHOTO) {
		buf_puts(strs, "type");
		buf_putc(strs, '\0');
		buf_puts(strs, types[k]);
		buf_putc(strs, '\0');
		*np = 2;
	}
	goto out;
fail:
	upload_free(u);
	u = NULL;
out:
	buf_free(&file);
	buf_free(&data);
	buf_free(&name);
	buf_free(&title);
	buf_free(&type);
	return u;
}

void
upload_free(upload *u)
{
	if (u == NULL)
		return;
	if (u->fd != -1)
		close(u->fd);
	free(u->file);
	free(u->name);
	free(u->title);
	free(u->data);
	free(u->url);
	buf_free(&u->strs);
	free(u);
}

long long
upload_limit(const upload *u, long long max)
{
	long long vk = u->type == UP_PHOTO ? UP_MAX_PHOTO : UP_MAX_DOC;

	return max > 0 && max < vk ? max : vk;
}

int
upload_take_fd(upload *u, int fd, long long limit, char *why, size_t whylen)
{
	struct stat st;

	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
		snprintf(why, whylen, "upload.file: not a regular file");
		close(fd);
		return -1;
	}
	if (st.st_size > limit) {
		snprintf(why, whylen, "upload.file: %lld bytes, over the limit of %lld "
		    "(--max-upload)", (long long)st.st_size, limit);
		close(fd);
		return -1;
	}
	u->fd = fd;
	u->size = (size_t)st.st_size;
	return 0;
}

int
upload_open_beneath(int dirfd, const char *path, char *why, size_t whylen)
{
	struct open_how how;
	int fd;

	memset(&how, 0, sizeof(how));
	/* O_NONBLOCK: a FIFO put there must not stall the loop (it is then
	 * refused as no regular file) */
	how.flags = O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK;
	how.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS;
	fd = (int)syscall(SYS_openat2, dirfd, path, &how, sizeof(how));
	if (fd == -1)
		snprintf(why, whylen, "upload.file: %s", errno == EXDEV ?
		    "outside --upload-dir (an absolute path, \"..\" or a link "
		    "leading out)" : errno == ENOSYS ? "--upload-dir needs "
		    "Linux 5.6 or later (openat2)" : strerror(errno));
	return fd;
}

const char *
upload_step(const upload *u, const char *method)
{
	return u->step == 2 ? "upload" : method;
}

const char *
upload_field(const upload *u)
{
	return u->type == UP_PHOTO ? "photo" : "file";
}

/* The value of member key of object 0 as text (a string unescaped, a
 * number as written) appended to u->strs as a param; 0, or -1 if absent. */
static int
put_member(upload *u, const json_doc *d, const char *key, int *np)
{
	int t = json_get(d, 0, key, strlen(key));
	const char *raw;
	size_t n;

	if (t == -1)
		return -1;
	buf_puts(&u->strs, key);
	buf_putc(&u->strs, '\0');
	if (json_type(d, t) == JSON_STRING) {
		json_unescape(d, t, &u->strs);
	} else if (json_type(d, t) == JSON_NUMBER) {
		raw = json_raw(d, t, &n);
		buf_put(&u->strs, raw, n);
	} else {
		return -1;
	}
	buf_putc(&u->strs, '\0');
	(*np)++;
	return 0;
}

int
upload_saving(upload *u, const json_doc *d, const char **method, char *why,
    size_t whylen)
{
	static const char *const photo_keys[] = { "photo", "server", "hash", NULL };
	static const char *const doc_keys[] = { "file", NULL };
	const char *const *keys = u->type == UP_PHOTO ? photo_keys : doc_keys;
	int k, np = 0, e;
	size_t off;
	buf m = BUF_INIT;

	buf_reset(&u->strs);
	for (k = 0; keys[k]; k++)
		if (put_member(u, d, keys[k], &np) == -1) {
			if ((e = json_get(d, 0, "error", 5)) != -1 &&
			    json_type(d, e) == JSON_STRING)
				json_unescape(d, e, &m);
			buf_cstr(&m);
			if (m.len)
				snprintf(why, whylen, "the upload server refused it: %.160s", m.p);
			else
				snprintf(why, whylen, "the upload server gave no \"%s\"", keys[k]);
			buf_free(&m);
			return -1;
		}
	buf_free(&m);
	/* VK gives "photo":"[]" for a file it took for no picture */
	if (u->type == UP_PHOTO && memcmp(u->strs.p + 6, "[]", 3) == 0) {
		snprintf(why, whylen, "the upload server took it for no picture");
		return -1;
	}
	if (u->type != UP_PHOTO && u->title) {
		buf_puts(&u->strs, "title");
		buf_putc(&u->strs, '\0');
		buf_puts(&u->strs, u->title);
		buf_putc(&u->strs, '\0');
		np++;
	}
	for (k = 0, off = 0; k < 2 * np; k++) {
		u->kv[k] = u->strs.p + off;
		off += strlen(u->strs.p + off) + 1;
	}
	u->kv[2 * np] = NULL;
	*method = u->type == UP_PHOTO ? "photos.saveMessagesPhoto" : "docs.save";
	return 0;
}

int
upload_attachment(const upload *u, const json_doc *d, int tok, buf *out)
{
	int64_t owner, id;
	char num[64];
	int o = tok, key;
	const char *raw;
	size_t n;

	if (u->type == UP_PHOTO) {	/* [{"id":…,"owner_id":…,"access_key":…}] */
		o = json_type(d, tok) == JSON_ARRAY ? json_at(d, tok, 0) : -1;
	} else if (json_type(d, tok) == JSON_OBJECT) {	/* {"type":"doc","doc":{…}} */
		o = json_get(d, tok, "doc", 3);
		if (o == -1)
			o = json_get(d, tok, "audio_message", 13);
	}
	if (o == -1 || json_type(d, o) != JSON_OBJECT ||
	    json_int64(d, json_get(d, o, "owner_id", 8), &owner) != 0 ||
	    json_int64(d, json_get(d, o, "id", 2), &id) != 0)
		return -1;
	buf_reset(out);
	snprintf(num, sizeof(num), "%s%" PRId64 "_%" PRId64,
	    u->type == UP_PHOTO ? "photo" : "doc", owner, id);
	buf_puts(out, num);
	if (u->type == UP_PHOTO && (key = json_get(d, o, "access_key", 10)) != -1 &&
	    json_type(d, key) == JSON_STRING) {
		raw = json_raw(d, key, &n);
		if (!json_escaped(d, key) && n > 0) {
			buf_putc(out, '_');
			buf_put(out, raw, n);
		}
	}
	buf_cstr(out);
	return 0;
}
