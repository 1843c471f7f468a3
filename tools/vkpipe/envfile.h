/*
 * envfile.h - read an environment file exactly as systemd's
 * EnvironmentFile= does (systemd.exec(5); Debian 12's systemd 252).
 *
 * Lines whose first non-blank is '#' or ';' are comments, and only they:
 * "A=x # note" gives A the value "x # note" (the shell would drop the
 * note). A line without '=' is ignored. An unquoted value keeps its inner
 * white space, loses leading and trailing blanks, and takes a backslash as
 * quoting the next character; a backslash at the end of a line joins the
 * next one. '...' keeps everything up to the next quote, over lines; "..."
 * too, with \" \\ \` \$ unescaped, backslash-newline removed, other
 * backslashes kept. Text right after a closing quote is added on. A
 * backslash at the end of a comment line makes the next line comment too.
 * A name that is not [A-Za-z_][A-Za-z0-9_]* is ignored, as systemd does,
 * with a warning.
 */
#ifndef VKPIPE_ENVFILE_H
#define VKPIPE_ENVFILE_H

#include <stddef.h>

/*
 * Apply path to the environment: the variables vkpipe reads (VK_*,
 * VKPIPE_*) are first removed, so the result is the file's alone, as the
 * service would see it. Returns 0, or -1 after a message (unreadable).
 */
int	envfile_apply(const char *path);
/* "FILE:LINE" where the applied file set var, or NULL. */
const char *envfile_origin(const char *var);

/*
 * The parser alone: calls push(key, value, line, arg) for each
 * assignment in text[0..n), value never NULL ("" when empty).
 */
void	envfile_parse(const char *text, size_t n,
	    void (*push)(const char *key, const char *value, unsigned line, void *arg),
	    void *arg);

#endif
