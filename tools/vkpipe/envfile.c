/* envfile.c - systemd's EnvironmentFile= format, read as systemd reads it. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "alloc.h"
#include "buf.h"
#include "envfile.h"
#include "log.h"

#define ENVFILE_MAX	(4 << 20)	/* systemd's read_full_file() limit is larger; ours is ample */

extern char **environ;

/* The states of systemd's parser, in its order. */
enum st { PRE_KEY, KEY, PRE_VALUE, VALUE, VALUE_ESCAPE, SQUOTE, DQUOTE, DQUOTE_ESCAPE,
	COMMENT, COMMENT_ESCAPE };

static int
is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static int
is_newline(char c)
{
	return c == '\n' || c == '\r';
}

void
envfile_parse(const char *text, size_t n,
    void (*push)(const char *key, const char *value, unsigned line, void *arg), void *arg)
{
	buf key = BUF_INIT, val = BUF_INIT;
	size_t key_ws = (size_t)-1, val_ws = (size_t)-1, i;
	unsigned line = 1, key_line = 1;
	enum st st = PRE_KEY;
	char c;

/* The assignment ends: trailing blanks off the key (and an unquoted value). */
#define PUSH(trim_value) do {						\
		if (key_ws != (size_t)-1)				\
			key.len = key_ws;				\
		if ((trim_value) && val_ws != (size_t)-1)		\
			val.len = val_ws;				\
		buf_cstr(&key);						\
		buf_cstr(&val);						\
		push(key.p, val.p, key_line, arg);			\
		buf_reset(&key);					\
		buf_reset(&val);					\
	} while (0)

	for (i = 0; i < n; i++) {
		c = text[i];
		if (c == '\0')
			break;	/* systemd reads a C string */
		switch (st) {
		case PRE_KEY:
			if (c == '#' || c == ';')
				st = COMMENT;
			else if (!is_space(c)) {
				st = KEY;
				key_ws = (size_t)-1;
				key_line = line;
				buf_putc(&key, c);
			} else if (is_newline(c))
				line++;
			break;
		case KEY:
			if (is_newline(c)) {	/* no '=': not an assignment */
				st = PRE_KEY;
				line++;
				buf_reset(&key);
			} else if (c == '=') {
				st = PRE_VALUE;
				val_ws = (size_t)-1;
			} else {
				if (!is_space(c))
					key_ws = (size_t)-1;
				else if (key_ws == (size_t)-1)
					key_ws = key.len;
				buf_putc(&key, c);
			}
			break;
		case PRE_VALUE:
			if (is_newline(c)) {
				st = PRE_KEY;
				line++;
				PUSH(0);
			} else if (c == '\'')
				st = SQUOTE;
			else if (c == '"')
				st = DQUOTE;
			else if (c == '\\')
				st = VALUE_ESCAPE;
			else if (!is_space(c)) {
				st = VALUE;
				buf_putc(&val, c);
			}
			break;
		case VALUE:
			if (is_newline(c)) {
				st = PRE_KEY;
				line++;
				PUSH(1);
			} else if (c == '\\') {
				st = VALUE_ESCAPE;
				val_ws = (size_t)-1;
			} else {
				if (!is_space(c))
					val_ws = (size_t)-1;
				else if (val_ws == (size_t)-1)
					val_ws = val.len;
				buf_putc(&val, c);
			}
			break;
		case VALUE_ESCAPE:
			st = VALUE;
			if (!is_newline(c))
				buf_putc(&val, c);
			else
				line++;
			break;
		case SQUOTE:
			if (c == '\'')
				st = PRE_VALUE;
			else {
				if (c == '\n')
					line++;
				buf_putc(&val, c);
			}
			break;
		case DQUOTE:
			if (c == '"')
				st = PRE_VALUE;
			else if (c == '\\')
				st = DQUOTE_ESCAPE;
			else {
				if (c == '\n')
					line++;
				buf_putc(&val, c);
			}
			break;
		case DQUOTE_ESCAPE:
			st = DQUOTE;
			if (strchr("\"\\`$", c))
				buf_putc(&val, c);
			else if (c != '\n') {
				buf_putc(&val, '\\');
				buf_putc(&val, c);
			} else
				line++;
			break;
		case COMMENT:
			if (c == '\\')
				st = COMMENT_ESCAPE;
			else if (is_newline(c)) {
				st = PRE_KEY;
				line++;
			}
			break;
		case COMMENT_ESCAPE:
			/* systemd 252: whatever follows, newline included, is
			 * still comment (254 ends the comment at the newline) */
			st = COMMENT;
			if (c == '\n')
				line++;
			break;
		}
	}
	if (st == PRE_VALUE || st == VALUE || st == VALUE_ESCAPE || st == SQUOTE ||
	    st == DQUOTE || st == DQUOTE_ESCAPE)
		PUSH(st == VALUE);
#undef PUSH
	buf_free(&key);
	buf_free(&val);
}

/* Where each variable of the applied file was set. */
static struct origin {
	char	*var, *at;
} *origins;
static size_t norigins;
static const char *applied;

const char *
envfile_origin(const char *var)
{
	size_t i;

	for (i = norigins; i-- > 0;)
		if (strcmp(origins[i].var, var) == 0)
			return origins[i].at;
	return NULL;
}

static int
name_ok(const char *k)
{
	const char *p;

	if (!*k || (*k >= '0' && *k <= '9'))
		return 0;
	for (p = k; *p; p++)
		if (!((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
		    (*p >= '0' && *p <= '9') || *p == '_'))
			return 0;
	return 1;
}

static void
apply_one(const char *key, const char *value, unsigned line, void *arg)
{
	char at[4200];
	const char *hash;

	(void)arg;
	if (!name_ok(key)) {
		log_warn("%s:%u: '%s' is not a variable name: systemd ignores the line",
		    applied, line, key);
		return;
	}
	snprintf(at, sizeof(at), "%s:%u: %s", applied, line, key);
	origins = xrealloc(origins, (norigins + 1) * sizeof(*origins));
	origins[norigins].var = xstrdup(key);
	origins[norigins].at = xstrdup(at);
	norigins++;
	/* The classic trap: the shell drops "# note" after a value, systemd keeps it. */
	if ((hash = strstr(value, " #")) != NULL || (hash = strstr(value, "\t#")) != NULL)
		log_warn("%s:%u: %s's value goes on to '%.40s': systemd keeps a # after a "
		    "value (comments are lines of their own)", applied, line, key, hash + 1);
	setenv(key, value, 1);
}

/* The variables vkpipe reads, out of the environment. */
static void
clear_ours(void)
{
	char **e, name[256];
	size_t n;

	for (e = environ; *e;) {
		if ((strncmp(*e, "VK_", 3) == 0 || strncmp(*e, "VKPIPE_", 7) == 0) &&
		    (n = strcspn(*e, "=")) < sizeof(name)) {
			memcpy(name, *e, n);
			name[n] = '\0';
			unsetenv(name);
			e = environ;	/* unsetenv moved the rest */
			continue;
		}
		e++;
	}
}

int
envfile_apply(const char *path)
{
	buf text = BUF_INIT;
	char chunk[8192];
	ssize_t r;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		log_err("cannot read the environment file %s: %s", path, strerror(errno));
		return -1;
	}
	while ((r = read(fd, chunk, sizeof(chunk))) != 0) {
		if (r == -1) {
			if (errno == EINTR)
				continue;
			log_err("cannot read the environment file %s: %s", path, strerror(errno));
			close(fd);
			buf_free(&text);
			return -1;
		}
		buf_put(&text, chunk, (size_t)r);
		if (text.len > ENVFILE_MAX) {
			log_err("the environment file %s is larger than %d bytes", path,
			    ENVFILE_MAX);
			close(fd);
			buf_free(&text);
			return -1;
		}
	}
	close(fd);
	clear_ours();
	applied = path;
	envfile_parse(text.p ? text.p : "", text.len, apply_one, NULL);
	if (text.p)
		explicit_bzero(text.p, text.len);	/* it holds the token */
	buf_free(&text);
	return 0;
}
