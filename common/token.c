/* token.c - load the access token from a file or the environment. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "token.h"

#define TOKEN_MAX	4096	/* VK tokens are about 220 bytes */

static int
trim_check(const char *s, size_t n, char **tok, const char *from, const char *noun,
    char *err, size_t errlen)
{
	size_t i;

	while (n > 0 && (s[n - 1] == '\n' || s[n - 1] == '\r' ||
	    s[n - 1] == ' ' || s[n - 1] == '\t'))
		n--;
	while (n > 0 && (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r'))
		s++, n--;
	if (n == 0) {
		snprintf(err, errlen, "%s is empty", from);
		return TOKEN_BAD;
	}
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c <= ' ' || c == 0x7f) {
			snprintf(err, errlen, "%s holds more than one %s "
			    "(white space or a control character inside)", from, noun);
			return TOKEN_BAD;
		}
	}
	if ((*tok = strndup(s, n)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return TOKEN_BAD;
	}
	return TOKEN_OK;
}

int
token_load(const char *file, const char *env, char **tok, char *err, size_t errlen)
{
	return secret_load(file, env, "token", "--token-file", tok, err, errlen);
}

int
secret_load(const char *file, const char *env, const char *noun, const char *flag,
    char **tok, char *err, size_t errlen)
{
	char what[300], chunk[1024];
	struct stat st;
	buf b = BUF_INIT;
	ssize_t r;
	int fd, rc, warn = 0;
	const char *v;

	*tok = NULL;
	err[0] = '\0';
	if (file == NULL) {
		if ((v = getenv(env)) == NULL || *v == '\0') {
			snprintf(err, errlen, "no %s: set %s or use %s FILE", noun, env, flag);
			return TOKEN_NONE;
		}
		snprintf(what, sizeof(what), "%s", env);
		return trim_check(v, strlen(v), tok, what, noun, err, errlen);
	}
	snprintf(what, sizeof(what), "%s file %s", noun, file);
	if ((fd = open(file, O_RDONLY | O_CLOEXEC)) == -1) {
		snprintf(err, errlen, "cannot read %s: %s", what, strerror(errno));
		return TOKEN_BAD;
	}
	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & S_IROTH))
		warn = 1;
	while ((r = read(fd, chunk, sizeof(chunk))) != 0) {
		if (r == -1) {
			if (errno == EINTR)
				continue;
			snprintf(err, errlen, "cannot read %s: %s", what, strerror(errno));
			close(fd);
			buf_free(&b);
			return TOKEN_BAD;
		}
		buf_put(&b, chunk, (size_t)r);
		if (b.len > TOKEN_MAX) {
			snprintf(err, errlen, "%s is too big to be a %s", what, noun);
			close(fd);
			buf_free(&b);
			return TOKEN_BAD;
		}
	}
	close(fd);
	rc = trim_check(b.p ? b.p : "", b.len, tok, what, noun, err, errlen);
	if (b.p)
		memset(b.p, 0, b.cap);
	buf_free(&b);
	if (rc == TOKEN_OK && warn) {
		snprintf(err, errlen, "%s is readable by every user: chmod 600 %s", what, file);
		return TOKEN_WARN;
	}
	return rc;
}
