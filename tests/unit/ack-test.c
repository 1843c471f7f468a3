/*
 * ack-test - drives common/ack.h for tests/02-ack.bats.
 *   read N     feed stdin to an ack_reader N bytes at a time (a non-blocking
 *              fd when N is 0: ack_reader_read); print "id <id>" per id,
 *              then "bad <count>"
 *   write      each stdin line as an event_id: its ack line, or "refused: <why>"
 */
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ack.h"
#include "buf.h"

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

int
main(int argc, char *argv[])
{
	if (argc == 3 && strcmp(argv[1], "read") == 0)
		return read_mode(strtoul(argv[2], NULL, 10));
	if (argc == 2 && strcmp(argv[1], "write") == 0)
		return write_mode();
	fputs("usage: ack-test read N | write\n", stderr);
	return 2;
}
