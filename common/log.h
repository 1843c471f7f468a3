/*
 * log.h - one-line diagnostics on stderr, prefixed with the program name.
 *
 * Messages say what went wrong and what to do. Nothing here exits: only
 * main() decides to stop.
 *
 * Under systemd (JOURNAL_STREAM names stderr's device and inode), each line
 * starts with its sd-daemon(3) priority, "<3>" an error, "<4>" a warning,
 * "<6>" information, so that `journalctl -p warning` finds what matters;
 * elsewhere the lines are as they were, with no prefix.
 */
#ifndef VKPIPE_LOG_H
#define VKPIPE_LOG_H

extern const char *log_prog;
extern int log_verbose;
extern int log_journal;	/* set by log_init(): stderr is the journal */

void	log_init(const char *argv0);
/* What stops the program, or a failure that the exit status reports. */
void	log_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void	log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Information that is always said (start, stop, statistics). */
void	log_note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Only with -v. */
void	log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
