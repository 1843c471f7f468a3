/*
 * file.h - whole writes, atomic replacement, and --check's "could this be
 * written" test: the three things every tool that keeps a file needs.
 *
 * file_write_all is sbase's writeall: a short write or EINTR goes on until
 * every byte is out or write(2) fails.
 *
 * A replacement (vk-poll's state file, vk-route's --dedup-state) is written
 * to PATH.tmp, fsync'd, renamed over PATH, and PATH's directory fsync'd, so
 * a crash at any moment leaves either the old file or the new one, never a
 * torn one, and a rename that returned is on disk:
 *
 *	file_tmp t;
 *	if (file_replace_open(&t, path) == -1) ... errno, t.tmp names the file
 *	... write to t.fd (file_write_all, or an out on t.fd) ...
 *	if (failed) file_replace_abort(&t);
 *	else switch (file_replace_commit(&t)) ...
 *
 * Every path leaves t closed and freed after abort or commit; the temp file
 * never outlives a failure.
 */
#ifndef VKPIPE_FILE_H
#define VKPIPE_FILE_H

#include <stddef.h>

#include "buf.h"

/* 0 when all n bytes were written; -1 with errno set by write(2). */
int	file_write_all(int fd, const void *p, size_t n);

typedef struct file_tmp {
	int		 fd;
	const char	*path;	/* the file replaced (the caller's string) */
	buf		 tmp;	/* path + ".tmp", NUL-terminated */
} file_tmp;

enum file_replace_status {
	FILE_REPLACED = 0,
	FILE_EWRITE = -1,	/* fsync of the temp file failed (errno) */
	FILE_EREPLACE = -2	/* close or rename failed (errno): path is unchanged */
};

/* Create (truncate) path.tmp, mode 0644. -1 with errno (t.tmp still named). */
int	file_replace_open(file_tmp *t, const char *path);
/* fsync, rename over path, fsync the directory. errno is kept on failure. */
int	file_replace_commit(file_tmp *t);
/* Give up: close and remove the temp file. errno is kept. */
void	file_replace_abort(file_tmp *t);

/*
 * --check: could path be opened for writing, without creating anything now?
 * An existing file must be writable; else the nearest directory above it
 * that exists must be writable and searchable (vkpipe makes its state and
 * run directories only once the check has passed). ENOTDIR, ELOOP and
 * ENAMETOOLONG fail as the run would. 0, or -1 with errno.
 */
int	file_writable(const char *path);
/*
 * The same for a program that makes no directory itself (vk-normalize's
 * --reject): the file's own directory must exist now, writable and
 * searchable, as open(O_CREAT) will need it. 0, or -1 with errno.
 */
int	file_creatable(const char *path);

#endif
