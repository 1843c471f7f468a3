/*
 * log.h - one-line diagnostics on stderr, prefixed with the program name.
 *
 * Messages say what went wrong and what to do. Nothing here exits: only
 * main() decides to stop.
 */
#ifndef VKPIPE_LOG_H
#define VKPIPE_LOG_H

extern const char *log_prog;
extern int log_verbose;

void	log_init(const char *argv0);
void	log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Only with -v. */
void	log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
