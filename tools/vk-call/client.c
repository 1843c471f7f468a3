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
#include "jsonw.h"
#include "req.h"
#include "serve.h"
#include "tool.h"

#define TO_SERVER	(256u << 10)	/* bytes read ahead of the server */
#define MAX_FILES	16		/* files opened ahead of the server */

/* Files to send with their lines: fd goes with the byte at off. */
struct files {
	struct { size_t off; int fd; } f[MAX_FILES];
	int	n;
};

/*
 * An upload's "file" is opened here, with the handler's own rights, and
 * its descriptor sent along with the line (the server never opens a
 * client's path). Returns the descriptor, -1 when the line names no file,
 * or -2 when the file cannot be opened: its error result is then in out.
 */
static int
open_upload(json_doc *d, const char *p, size_t n, buf *out)
{
	buf path = BUF_INIT, id = BUF_INIT, scratch = BUF_INIT;
	int up, f, t, fd;
	char msg[600];

	if (json_parse(d, p, n) != 0 ||
	    json_type(d, 0) != JSON_OBJECT || (up = json_get(d, 0, "upload", 6)) == -1 ||
	    json_type(d, up) != JSON_OBJECT || (f = json_get(d, up, "file", 4)) == -1 ||
	    json_type(d, f) != JSON_STRING)
		return -1;
	json_unescape(d, f, &path);
	if (memchr(path.p, '\0', path.len) != NULL) {
		buf_free(&path);
		return -1;	/* the server refuses the line */
	}
	fd = open(buf_cstr(&path), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd == -1) {
		snprintf(msg, sizeof(msg), "upload.file: %.400s: %s (opened by vk-call "
		    "--connect, as its user)", path.p, strerror(errno));
		if ((t = json_get(d, 0, "id", 2)) != -1)
			jw_value(&id, d, t, &scratch);
		else
			JW_LIT(&id, "null");
		res_error(out, buf_cstr(&id), ERR_LINE, msg, NULL, -1, NULL);
		fd = -2;
	}
	buf_free(&path);
	buf_free(&id);
	buf_free(&scratch);
	return fd;
}

/* Write what may go: a file's descriptor rides with its line's first byte. */
static ssize_t
send_some(int sock, const buf *b, size_t off, struct files *fl)
{
	union {
		struct cmsghdr h;
		char b[CMSG_SPACE(sizeof(int))];
	} ctl;
	size_t end = b->len;
	struct iovec iov;
	struct msghdr mh;
	struct cmsghdr *cm;
	ssize_t w;
	int with = fl->n > 0 && fl->f[0].off == off;

	if (fl->n > with)	/* stop short of the next file's line */
		end = fl->f[with].off;
	else if (fl->n > 0 && !with)
		end = fl->f[0].off;
	iov.iov_base = b->p + off;
	iov.iov_len = end - off;
	memset(&mh, 0, sizeof(mh));
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	if (with) {
		memset(&ctl, 0, sizeof(ctl));
		mh.msg_control = ctl.b;
		mh.msg_controllen = sizeof(ctl.b);
		cm = CMSG_FIRSTHDR(&mh);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(cm), &fl->f[0].fd, sizeof(int));
	}
	w = sendmsg(sock, &mh, MSG_NOSIGNAL);
	if (w > 0 && with) {
		close(fl->f[0].fd);
		memmove(fl->f, fl->f + 1, (size_t)--fl->n * sizeof(fl->f[0]));
	}
	return w;
}

int
connect_socket(const char *path)
{
	struct sockaddr_un sa;
	struct pollfd pf[2];
	unsigned long sent = 0, got = 0, errors = 0, fatal = 0;
	int fd, in_eof = 0, wr_shut = 0, st, e, ufd, room, held;
	buf tosrv = BUF_INIT;
	size_t off = 0, n;
	const char *p;
	json_doc d;
	ssize_t r;
	linerd rd, in;
	struct files fl = { .n = 0 };
	out o;
	int64_t code;

	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sa.sun_path)) {
		log_warn("--connect unix:%s: the path is too long for a socket", path);
		return EXIT_CONFIG;
	}
	memcpy(sa.sun_path, path, strlen(path));
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1 ||
	    connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == -1) {
		if (errno == EACCES || errno == EPERM)	/* running, but not ours to use */
			log_warn("cannot connect to unix:%s: %s: this user may not use the "
			    "socket or a directory above it (the service's are group vkpipe: "
			    "join that group)", path, strerror(errno));
		else
			log_warn("cannot connect to unix:%s: %s (is vk-call --listen running?)",
			    path, strerror(errno));
		return EXIT_CONFIG;
	}
	fcntl(fd, F_SETFL, O_NONBLOCK);
	line_open(&rd, fd, 64u << 20);
	rd.pollmode = 1;
	line_open(&in, STDIN_FILENO, 64u << 20);
	in.pollmode = 1;
	out_open(&o, STDOUT_FILENO);
	json_init(&d);
	for (;;) {
		if (in_eof && off == tosrv.len && !wr_shut) {
			shutdown(fd, SHUT_WR);
			wr_shut = 1;
		}
		room = !in_eof && tosrv.len - off < TO_SERVER && fl.n < MAX_FILES;
		/* lines left in the reader when room ran out go on without input */
		held = room && in.end > in.beg;
		pf[0].fd = room ? STDIN_FILENO : -1;
		pf[0].events = POLLIN;
		pf[1].fd = fd;
		pf[1].events = (short)(POLLIN | (off < tosrv.len ? POLLOUT : 0));
		if (poll(pf, 2, held ? 0 : -1) == -1) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (pf[0].revents || held) {
			in.readable = pf[0].revents != 0;
			if (off == tosrv.len && fl.n == 0)
				off = 0, buf_reset(&tosrv);
			while (tosrv.len - off < TO_SERVER && fl.n < MAX_FILES &&
			    (st = line_next(&in, &p, &n)) != LINE_AGAIN) {
				if (st == LINE_EOF || st == LINE_ERR) {
					in_eof = 1;
					break;
				}
				if (st != LINE_OK || req_blank(p, n)) {
					if (st == LINE_TOOLONG) {	/* the server says so */
						buf_puts(&tosrv, "{}\n");
						sent++;
					}
					continue;
				}
				if ((ufd = open_upload(&d, p, n, &o.b)) == -2) {
					sent++, got++, errors++;	/* answered here */
					continue;
				}
				if (ufd >= 0) {
					fl.f[fl.n].off = tosrv.len;
					fl.f[fl.n++].fd = ufd;
				}
				buf_put(&tosrv, p, n);
				buf_putc(&tosrv, '\n');
				sent++;
			}
			if (out_flush(&o) == -1) {
				log_warn("cannot write results: %s", strerror(o.err));
				errors++;
				break;
			}
		}
		if (pf[1].revents & POLLOUT) {
			r = send_some(fd, &tosrv, off, &fl);
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
	while (fl.n > 0)
		close(fl.f[--fl.n].fd);
	line_close(&rd);
	line_close(&in);
	out_close(&o);
	json_free(&d);
	buf_free(&tosrv);
	return fatal ? EXIT_REMOTE : errors ? EXIT_PARTIAL : EXIT_OK;
}
