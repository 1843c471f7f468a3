/* net.h - the listening socket of vk-callback --listen HOST:PORT. */
#ifndef VKCALLBACK_NET_H
#define VKCALLBACK_NET_H

#include <stddef.h>

/*
 * Bind and listen on spec, "HOST:PORT" (an IPv6 host in brackets; port 0:
 * a free one). Returns the socket, with where it listens in addr
 * ("127.0.0.1:34567", "[::1]:34567"), or -1 with err set.
 */
int	net_listen(const char *spec, char *addr, size_t addrlen, char *err, size_t errlen);
/*
 * Could the run listen on spec? Bound and closed at once (port 0 binds any
 * free port): an address in use or not this machine's fails. 0, or -1
 * with err set.
 */
int	net_check(const char *spec, char *err, size_t errlen);

#endif
