/* net.c - parse HOST:PORT, bind, listen; say where. */
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "net.h"

#define BACKLOG	1024

static int
split(const char *spec, char *host, size_t hostlen, const char **port)
{
	const char *colon = strrchr(spec, ':'), *h = spec;
	size_t n;

	if (colon == NULL || colon[1] == '\0')
		return -1;
	n = (size_t)(colon - spec);
	if (n >= 2 && spec[0] == '[' && spec[n - 1] == ']') {
		h++;
		n -= 2;
	} else if (memchr(spec, ':', n) != NULL) {
		return -1;	/* an IPv6 address wants brackets */
	}
	if (n == 0 || n >= hostlen)
		return -1;
	memcpy(host, h, n);
	host[n] = '\0';
	*port = colon + 1;
	return 0;
}

/* spec's addresses, for binding. 0, or -1 with err set. */
static int
resolve(const char *spec, struct addrinfo **res, char *err, size_t errlen)
{
	struct addrinfo hints;
	char host[256];
	const char *port;
	int rc;

	if (split(spec, host, sizeof(host), &port) == -1) {
		snprintf(err, errlen, "--listen %s: not HOST:PORT (an IPv6 host in brackets)",
		    spec);
		return -1;
	}
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	if ((rc = getaddrinfo(host, port, &hints, res)) != 0) {
		snprintf(err, errlen, "--listen %s: %s", spec, gai_strerror(rc));
		return -1;
	}
	return 0;
}

/* Why bind(2) failed, in the words an operator acts on. */
static const char *
bind_hint(int e)
{
	switch (e) {
	case EADDRINUSE:	return " (another program listens there)";
	case EADDRNOTAVAIL:	return " (not an address of this machine)";
	case EACCES:		return " (a port below 1024 wants privileges)";
	default:		return "";
	}
}

/* A socket on one of spec's addresses, bound (and listening, unless probe). */
static int
bind_one(const struct addrinfo *ai, int probe, int *e)
{
	int fd, one = 1;

	if ((fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol)) == -1) {
		*e = errno;
		return -1;
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 && (probe || listen(fd, BACKLOG) == 0))
		return fd;
	*e = errno;
	close(fd);
	return -1;
}

/*
 * Bound and closed again, as the run will bind it: an address in use or
 * not this machine's fails the check, before vkpipe starts the other stages.
 */
int
net_check(const char *spec, char *err, size_t errlen)
{
	struct addrinfo *res, *ai;
	int fd = -1, e = 0;

	if (resolve(spec, &res, err, errlen) == -1)
		return -1;
	for (ai = res; ai != NULL && fd == -1; ai = ai->ai_next)
		fd = bind_one(ai, 1, &e);
	freeaddrinfo(res);
	if (fd == -1) {
		snprintf(err, errlen, "--listen %s: cannot listen there: %s%s", spec,
		    strerror(e), bind_hint(e));
		return -1;
	}
	close(fd);
	return 0;
}

int
net_listen(const char *spec, char *addr, size_t addrlen, char *err, size_t errlen)
{
	struct addrinfo *res, *ai;
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	char h[NI_MAXHOST], p[NI_MAXSERV];
	int fd = -1, e = 0;

	if (resolve(spec, &res, err, errlen) == -1)
		return -1;
	for (ai = res; ai != NULL && fd == -1; ai = ai->ai_next)
		fd = bind_one(ai, 0, &e);
	freeaddrinfo(res);
	if (fd == -1) {
		snprintf(err, errlen, "--listen %s: cannot listen there: %s%s", spec,
		    strerror(e), bind_hint(e));
		return -1;
	}
	if (getsockname(fd, (struct sockaddr *)&ss, &sl) == -1 ||
	    getnameinfo((struct sockaddr *)&ss, sl, h, sizeof(h), p, sizeof(p),
	    NI_NUMERICHOST | NI_NUMERICSERV) != 0) {
		snprintf(addr, addrlen, "%s", spec);
	} else {
		snprintf(addr, addrlen, ss.ss_family == AF_INET6 ? "[%s]:%s" : "%s:%s", h, p);
	}
	return fd;
}
