/*
 * cb-load.c - the load of bench-callback.sh: C senders the way VK posts.
 *
 * usage: cb-load PORT SENDERS REQUESTS SECRET [TAG]
 *
 * SENDERS threads, each on one keep-alive connection to 127.0.0.1:PORT,
 * POST REQUESTS message_new events each (event_id TAG-SENDER-N, distinct),
 * one at a time, and time each from the first byte sent to the last byte
 * of the answer read. Prints "updates/s p50_ms p99_ms non_ok". Built by the
 * benchmark with cc; not part of vkpipe.
 */
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

struct sender {
	pthread_t t;
	int	  no;
	double	 *lat;
	long	  bad;
};

static int port, nreq;
static const char *secret, *tag = "b";

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int
dial(void)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(port),
	    .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;

	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == -1) {
		perror("cb-load: connect");
		exit(1);
	}
	return fd;
}

/* Read one answer; 1 if it is 200 "ok". */
static int
answer(int fd, char *buf, size_t cap)
{
	size_t got = 0, need = 0;
	char *end, *cl;
	ssize_t r;

	for (;;) {
		if ((r = read(fd, buf + got, cap - got - 1)) <= 0) {
			fprintf(stderr, "cb-load: connection lost\n");
			exit(1);
		}
		got += (size_t)r;
		buf[got] = '\0';
		if ((end = strstr(buf, "\r\n\r\n")) == NULL)
			continue;
		if (need == 0) {
			cl = strcasestr(buf, "Content-Length:");
			need = (size_t)(end + 4 - buf) + (cl ? strtoul(cl + 15, NULL, 10) : 0);
		}
		if (got >= need)
			break;
	}
	return strncmp(buf, "HTTP/1.1 200", 12) == 0 && strcmp(buf + need - 2, "ok") == 0;
}

static void *
run(void *arg)
{
	struct sender *s = arg;
	char body[1024], req[1400], ans[4096];
	int fd = dial(), i, bl, rl;
	double t;

	for (i = 0; i < nreq; i++) {
		bl = snprintf(body, sizeof(body), "{\"type\":\"message_new\",\"object\":{\"message\":"
		    "{\"date\":1700000000,\"from_id\":206295116,\"id\":0,\"out\":0,\"version\":%d,"
		    "\"attachments\":[],\"conversation_message_id\":%d,\"fwd_messages\":[],"
		    "\"important\":false,\"is_hidden\":false,\"peer_id\":2000000002,"
		    "\"random_id\":0,\"text\":\"/command number %d, with some text\"},"
		    "\"client_info\":{\"button_actions\":[\"text\",\"callback\"],\"keyboard\":true,"
		    "\"inline_keyboard\":true,\"carousel\":true,\"lang_id\":0}},"
		    "\"group_id\":1,\"event_id\":\"%s-%d-%d\",\"v\":\"5.199\",\"secret\":\"%s\"}",
		    i, i, i, tag, s->no, i, secret);
		rl = snprintf(req, sizeof(req), "POST /callback HTTP/1.1\r\nHost: 127.0.0.1\r\n"
		    "Content-Type: application/json\r\nContent-Length: %d\r\n\r\n%s", bl, body);
		t = now();
		if (write(fd, req, (size_t)rl) != rl) {
			perror("cb-load: write");
			exit(1);
		}
		if (!answer(fd, ans, sizeof(ans)))
			s->bad++;
		s->lat[i] = now() - t;
	}
	close(fd);
	return NULL;
}

static int
cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

int
main(int argc, char *argv[])
{
	struct sender *s;
	double t, *all;
	long bad = 0;
	int n, i, j;

	if (argc < 5) {
		fprintf(stderr, "usage: cb-load PORT SENDERS REQUESTS SECRET [TAG]\n");
		return 2;
	}
	port = atoi(argv[1]);
	n = atoi(argv[2]);
	nreq = atoi(argv[3]);
	secret = argv[4];
	if (argc > 5)
		tag = argv[5];
	s = calloc((size_t)n, sizeof(*s));
	all = malloc((size_t)n * (size_t)nreq * sizeof(*all));
	t = now();
	for (i = 0; i < n; i++) {
		s[i].no = i;
		s[i].lat = all + (size_t)i * (size_t)nreq;
		pthread_create(&s[i].t, NULL, run, &s[i]);
	}
	for (i = 0; i < n; i++) {
		pthread_join(s[i].t, NULL);
		bad += s[i].bad;
	}
	t = now() - t;
	j = n * nreq;
	qsort(all, (size_t)j, sizeof(*all), cmp);
	printf("%.0f %.3f %.3f %ld\n", j / t, all[j / 2] * 1000, all[(size_t)(j * 0.99)] * 1000,
	    bad);
	return 0;
}
