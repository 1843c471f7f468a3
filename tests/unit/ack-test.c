/*
 * ack-test - drives common/ack.h for tests/02-ack.bats.
 *   read N     feed stdin to an ack_reader N bytes at a time (a non-blocking
 *              fd when N is 0: ack_reader_read); print "id <id>" per id,
 *              then "bad <count>"
 *   write      each stdin line as an event_id: its ack line, or "refused: <why>"
 *   fifo PATH  both ends over the FIFO PATH: each stdin line queued on an
 *              ack_out before any reader is there, then an ack_in opened;
 *              print "id <id>" per id the reader gets, until all came
 */
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ack.h"
#include "buf.h"
#include "mono.h"

static void
print_id(void *arg, const char *id, size_t n)
{
	(void)arg;
	printf("id %.*s\n", (int)n, id);
}

static int
read_mode(size_t chunk)
{
	ack_reader r;
	struct pollfd pfd = { 0, POLLIN, 0 };
	char *b;
	ssize_t got;
	int rc;

	ack_reader_init(&r);
	if (chunk == 0) {
		fcntl(0, F_SETFL, fcntl(0, F_GETFL) | O_NONBLOCK);
		while ((rc = ack_reader_read(&r, 0, print_id, NULL)) == ACK_READ_AGAIN)
			poll(&pfd, 1, -1);
		if (rc == -1)
			return 1;
	} else {
		if ((b = malloc(chunk)) == NULL)
			return 1;
		while ((got = read(0, b, chunk)) > 0)
			ack_reader_feed(&r, b, (size_t)got, print_id, NULL);
		free(b);
	}
	printf("bad %llu\n", r.bad);
	ack_reader_free(&r);
	return 0;
}

static int
write_mode(void)
{
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	const char *why;
	buf b = BUF_INIT;

	while ((n = getline(&line, &cap, stdin)) > 0) {
		if (line[n - 1] == '\n')
			n--;
		if (ack_id_check(line, (size_t)n, &why) == -1) {
			printf("refused: %s\n", why);
			continue;
		}
		buf_reset(&b);
		ack_line_put(&b, line, (size_t)n);
		fwrite(b.p, 1, b.len, stdout);
	}
	free(line);
	buf_free(&b);
	return 0;
}

static void
count_id(void *arg, const char *id, size_t n)
{
	(*(size_t *)arg)++;
	print_id(NULL, id, n);
}

static int
fifo_mode(const char *path)
{
	char *line = NULL, err[512];
	size_t cap = 0, sent = 0, got = 0;
	ssize_t n;
	ack_out o;
	ack_in in;
	double end;
	int fd, t;

	if (ack_out_open(&o, path, err, sizeof(err)) == -1) {
		fprintf(stderr, "%s\n", err);
		return 1;
	}
	while ((n = getline(&line, &cap, stdin)) > 0) {
		ack_out_put(&o, line, (size_t)(n - (line[n - 1] == '\n')));
		sent++;
	}
	free(line);
	ack_out_write(&o, mono_now());	/* no reader yet: kept */
	printf("kept %d\n", ack_out_pending(&o));
	if (ack_in_open(&in, path, err, sizeof(err)) == -1) {
		fprintf(stderr, "%s\n", err);
		return 1;
	}
	for (end = mono_now() + 10; got < sent && mono_now() < end; ) {
		fd = -1;
		t = 50;
		ack_out_write(&o, mono_now());
		ack_out_wait(&o, mono_now(), &fd, &t);
		poll(NULL, 0, t);
		ack_in_read(&in, 0, count_id, &got);
	}
	ack_in_close(&in);
	return ack_out_close(&o, mono_now()) == 0 && got == sent ? 0 : 1;
}

int
main(int argc, char *argv[])
{
	if (argc == 3 && strcmp(argv[1], "fifo") == 0)
		return fifo_mode(argv[2]);
	if (argc == 3 && strcmp(argv[1], "read") == 0)
		return read_mode(strtoul(argv[2], NULL, 10));
	if (argc == 2 && strcmp(argv[1], "write") == 0)
		return write_mode();
	fputs("usage: ack-test read N | write | fifo PATH\n", stderr);
	return 2;
}
