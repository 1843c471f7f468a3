/* client.c - vk-call --connect: a handler's requests to a vk-call --listen. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "json.h"
#include "line.h"
#include "log.h"
#include "out.h"
#include "serve.h"

#define TO_SERVER	(256u << 10)	/* bytes read ahead of the server */

/* Count the requests in p[0..n): lines with something besides white space. */
static unsigned long
count_lines(const char *p, size_t n, int *inline_)
{
	unsigned long k = 0;
	size_t i;

	for (i = 0; i < n; i++) {
		if (p[i] == '\n') {
			k += (unsigned long)*inline_;
			*inline_ = 0;
		} else if (p[i] != ' ' && p[i] != '\t' && p[i] != '\r') {
			*inline_ = 1;
		}
	}
	return k;
}

int
connect_socket(const char *path)
{
	struct sockaddr_un sa;
	struct pollfd pf[2];
	char chunk[65536];
	unsigned long sent = 0, got = 0, errors = 0, fatal = 0;
	int fd, in_eof = 0, wr_shut = 0, inline_ = 0, st, e;
	buf tosrv = BUF_INIT;
	size_t off = 0, n;
	const char *p;
	json_doc d;
	ssize_t r;
	linerd rd;
	out o;
	int64_t code;

	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sa.sun_path)) {
		log_warn("--connect unix:%s: the path is too long for a socket", path);
		return 3;
	}
	memcpy(sa.sun_path, path, strlen(path));
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1 ||
	    connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == -1) {
		log_warn("cannot connect to unix:%s: %s (is vk-call --listen running?)",
		    path, strerror(errno));
		return 3;
	}
	fcntl(fd, F_SETFL, O_NONBLOCK);
	line_open(&rd, fd, 64u << 20);
	rd.pollmode = 1;
	out_open(&o, STDOUT_FILENO);
	json_init(&d);
	for (;;) {
		if (in_eof && off == tosrv.len && !wr_shut) {
			if (inline_)
				sent++;		/* a last line without its newline */
			shutdown(fd, SHUT_WR);
			wr_shut = 1;
		}
		pf[0].fd = in_eof || tosrv.len - off >= TO_SERVER ? -1 : STDIN_FILENO;
		pf[0].events = POLLIN;
		pf[1].fd = fd;
		pf[1].events = (short)(POLLIN | (off < tosrv.len ? POLLOUT : 0));
		if (poll(pf, 2, -1) == -1) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (pf[0].revents) {
			r = read(STDIN_FILENO, chunk, sizeof(chunk));
			if (r > 0) {
				sent += count_lines(chunk, (size_t)r, &inline_);
				if (off == tosrv.len)
					off = 0, buf_reset(&tosrv);
				buf_put(&tosrv, chunk, (size_t)r);
			} else if (r == 0 || errno != EINTR) {
				in_eof = 1;
			}
		}
		if (pf[1].revents & POLLOUT) {
			r = write(fd, tosrv.p + off, tosrv.len - off);
			if (r > 0)
				off += (size_t)r;
			else if (r == -1 && errno != EAGAIN && errno != EINTR) {
				log_warn("unix:%s: %s", path, strerror(errno));
				in_eof = 1;
				off = tosrv.len;
			}
		}
		if (!(pf[1].revents & (POLLIN | POLLHUP | POLLERR)))
			continue;
		rd.readable = 1;
		while ((st = line_next(&rd, &p, &n)) == LINE_OK) {
			got++;
			buf_put(&o.b, p, n);
			buf_putc(&o.b, '\n');
			if (json_parse(&d, p, n) == 0 &&
			    (e = json_get(&d, 0, "error", 5)) != -1) {
				errors++;
				code = 0;
				json_int64(&d, json_get(&d, e, "error_code", 10), &code);
				fatal |= code == 5;
			}
		}
		if (out_flush(&o) == -1) {
			log_warn("cannot write results: %s", strerror(o.err));
			errors++;
			break;
		}
		if (st != LINE_AGAIN)
			break;	/* the server closed the connection */
	}
	if (got < sent) {
		log_warn("unix:%s closed the connection with %lu request%s unanswered",
		    path, sent - got, sent - got == 1 ? "" : "s");
		errors++;
	}
	close(fd);
	line_close(&rd);
	out_close(&o);
	json_free(&d);
	buf_free(&tosrv);
	return fatal ? 4 : errors ? 1 : 0;
}
