/*
 * dest_net.c - `tcp://HOST:PORT` and `unix:PATH`: a stream of lines over a
 * socket; and the connecting helpers the network kinds share.
 *
 * Connections are made without blocking (open() returns 1 while the
 * socket connects; the generic code polls it writable and calls open()
 * again). A line counts as delivered once the socket took it whole; when
 * the receiver closes the connection, what it did not take whole is sent
 * again on the next connection, after backoff.
 */
#define _GNU_SOURCE	/* SOCK_NONBLOCK */
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "alloc.h"
#include "dest.h"

int
dest_hostport(const char *s, size_t n, char **host, char **port, char *err,
    size_t errlen, size_t *col)
{
	const char *colon, *h = s, *he;
	size_t k;
	long v;

	if (n > 0 && s[0] == '[') {
		he = memchr(s, ']', n);
		if (he == NULL || he + 1 >= s + n || he[1] != ':') {
			snprintf(err, errlen, "HOST:PORT expected, like [::1]:6379");
			*col = 0;
			return -1;
		}
		h = s + 1;
		colon = he + 1;
	} else {
		colon = NULL;
		for (k = 0; k < n; k++)
			if (s[k] == ':')
				colon = s + k;
		he = colon;
	}
	if (colon == NULL || he == h) {
		snprintf(err, errlen, "HOST:PORT expected, like 127.0.0.1:6379");
		*col = colon == NULL ? n : 0;
		return -1;
	}
	v = 0;
	for (k = (size_t)(colon + 1 - s); k < n; k++) {
		if (s[k] < '0' || s[k] > '9' || (v = v * 10 + (s[k] - '0')) > 65535)
			break;
	}
	if (k < n || colon + 1 == s + n || v == 0) {
		snprintf(err, errlen, "the port is a number from 1 to 65535");
		*col = (size_t)(colon + 1 - s);
		return -1;
	}
	if (host != NULL) {
		*host = xstrndup(h, (size_t)(he - h));
		*port = xstrndup(colon + 1, n - (size_t)(colon + 1 - s));
	}
	return 0;
}

static int
conn_error(struct dest *d, const char *what, int e)
{
	snprintf(d->err, sizeof(d->err), "cannot connect%s%s: %s",
	    what[0] ? " to " : "", what, strerror(e));
	return -1;
}

int
dest_connect(struct dest *d, const char *host, const char *port,
    const char *path)
{
	struct addrinfo hints, *res, *ai;
	struct sockaddr_un sun;
	socklen_t len = sizeof(int);
	int e = 0, one = 1, rc;

	if (d->connecting) {	/* finish: did it work? */
		if (getsockopt(d->fd, SOL_SOCKET, SO_ERROR, &e, &len) == -1)
			e = errno;
		return e != 0 ? conn_error(d, "", e) : 0;
	}
	if (path != NULL) {
		memset(&sun, 0, sizeof(sun));
		sun.sun_family = AF_UNIX;
		if (strlen(path) >= sizeof(sun.sun_path)) {
			snprintf(d->err, sizeof(d->err), "socket path too long");
			return -1;
		}
		memcpy(sun.sun_path, path, strlen(path));
		d->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (d->fd == -1)
			return conn_error(d, "", errno);
		if (connect(d->fd, (struct sockaddr *)&sun, sizeof(sun)) == 0)
			return 0;
		if (errno == EINPROGRESS || errno == EAGAIN)
			return 1;
		return conn_error(d, "", errno);
	}
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	if ((rc = getaddrinfo(host, port, &hints, &res)) != 0) {
		snprintf(d->err, sizeof(d->err), "cannot resolve %s: %s", host,
		    gai_strerror(rc));
		return -1;
	}
	rc = -1;
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		if (d->fd != -1)
			close(d->fd);
		d->fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK |
		    SOCK_CLOEXEC, ai->ai_protocol);
		if (d->fd == -1) {
			e = errno;
			continue;
		}
		setsockopt(d->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		if (connect(d->fd, ai->ai_addr, ai->ai_addrlen) == 0) {
			rc = 0;
			break;
		}
		if (errno == EINPROGRESS) {
			rc = 1;
			break;
		}
		e = errno;
	}
	freeaddrinfo(res);
	return rc == -1 ? conn_error(d, "", e) : rc;
}

/* --- tcp:// and unix: ---------------------------------------------------- */

struct sockd {
	char	*host, *port, *path;
};

static int
tcp_check(const char *arg, char *err, size_t errlen, size_t *col)
{
	if (strchr(arg, '{') != NULL) {
		snprintf(err, errlen, "the address cannot be a template");
		*col = (size_t)(strchr(arg, '{') - arg);
		return -1;
	}
	return dest_hostport(arg, strlen(arg), NULL, NULL, err, errlen, col);
}

static int
unix_check(const char *arg, char *err, size_t errlen, size_t *col)
{
	*col = 0;
	if (*arg == '\0') {
		snprintf(err, errlen, "unix: needs a socket path");
		return -1;
	}
	if (strlen(arg) >= sizeof(((struct sockaddr_un *)0)->sun_path)) {
		snprintf(err, errlen, "the socket path is too long");
		return -1;
	}
	return 0;
}

static int
sock_init(struct dest *d, const char *arg, char *err, size_t errlen)
{
	struct sockd *s;
	size_t col;

	s = xcalloc(1, sizeof(*s));
	if (d->kind == &dest_unix_kind) {
		if (unix_check(arg, err, errlen, &col) == -1) {
			free(s);
			return -1;
		}
		s->path = xstrdup(arg);
	} else if (dest_hostport(arg, strlen(arg), &s->host, &s->port, err,
	    errlen, &col) == -1) {
		free(s);
		return -1;
	}
	d->priv = s;
	return 0;
}

static int
sock_open(struct dest *d)
{
	struct sockd *s = d->priv;

	return dest_connect(d, s->host, s->port, s->path);
}

static void
sock_free(struct dest *d)
{
	struct sockd *s = d->priv;

	if (s == NULL)
		return;
	free(s->host);
	free(s->port);
	free(s->path);
	free(s);
}

const struct dest_kind dest_tcp_kind = {
	.prefix = "tcp://",
	.flags = DEST_SOCKET,
	.check = tcp_check,
	.init = sock_init,
	.open = sock_open,
	.free = sock_free,
};

const struct dest_kind dest_unix_kind = {
	.prefix = "unix:",
	.flags = DEST_SOCKET | DEST_PATH_TEMPLATES,
	.check = unix_check,
	.init = sock_init,
	.open = sock_open,
	.free = sock_free,
};

/* %XX → byte (URL user, password and names); -1 on a bad escape. */
int
dest_pct_decode(const char *s, size_t n, char **out, size_t *outlen)
{
	char *o = xmalloc(n + 1);
	size_t i, k = 0;
	int hi, lo;

	for (i = 0; i < n; i++) {
		if (s[i] != '%') {
			o[k++] = s[i];
			continue;
		}
		if (i + 2 >= n) {
			free(o);
			return -1;
		}
#define HEX(c) ((c) >= '0' && (c) <= '9' ? (c) - '0' : \
	(c) >= 'a' && (c) <= 'f' ? (c) - 'a' + 10 : \
	(c) >= 'A' && (c) <= 'F' ? (c) - 'A' + 10 : -1)
		hi = HEX(s[i + 1]);
		lo = HEX(s[i + 2]);
#undef HEX
		if (hi < 0 || lo < 0) {
			free(o);
			return -1;
		}
		o[k++] = (char)(hi * 16 + lo);
		i += 2;
	}
	o[k] = '\0';
	*out = o;
	if (outlen != NULL)
		*outlen = k;
	return 0;
}
