/* file.c - whole writes, atomic replacement, writable-without-creating. */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "alloc.h"
#include "file.h"

int
file_write_all(int fd, const void *p, size_t n)
{
	const char *c = p;
	ssize_t w;

	while (n > 0) {
		if ((w = write(fd, c, n)) == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		c += w;
		n -= (size_t)w;
	}
	return 0;
}

int
file_replace_open(file_tmp *t, const char *path)
{
	t->path = path;
	t->tmp = (buf)BUF_INIT;
	buf_puts(&t->tmp, path);
	buf_puts(&t->tmp, ".tmp");
	buf_cstr(&t->tmp);
	t->fd = open(t->tmp.p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	return t->fd == -1 ? -1 : 0;
}

void
file_replace_abort(file_tmp *t)
{
	int e = errno;

	if (t->fd != -1) {
		close(t->fd);
		unlink(t->tmp.p);
		t->fd = -1;
	}
	buf_free(&t->tmp);
	errno = e;
}

/* The rename is durable only once the directory is on disk. */
static void
sync_dir(const char *path)
{
	const char *slash = strrchr(path, '/');
	char *dir;
	int dfd;

	if (slash == NULL)
		dir = xstrdup(".");
	else
		dir = xstrndup(path, slash == path ? 1 : (size_t)(slash - path));
	if ((dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) != -1) {
		fsync(dfd);
		close(dfd);
	}
	free(dir);
}

int
file_replace_commit(file_tmp *t)
{
	int e;

	if (fsync(t->fd) == -1) {
		file_replace_abort(t);
		return FILE_EWRITE;
	}
	if (close(t->fd) == -1 || rename(t->tmp.p, t->path) == -1) {
		e = errno;
		unlink(t->tmp.p);
		t->fd = -1;
		buf_free(&t->tmp);
		errno = e;
		return FILE_EREPLACE;
	}
	t->fd = -1;
	sync_dir(t->path);
	buf_free(&t->tmp);
	return FILE_REPLACED;
}

/*
 * Could path be opened for writing: an existing file writable, else its
 * directory writable and searchable; with nearest, the nearest one above it
 * that exists (the others are made later).
 */
static int
writable(const char *path, int nearest)
{
	char *dir, *copy;
	int rc, e;

	if (access(path, F_OK) == 0)
		return access(path, W_OK);
	if (errno != ENOENT)
		return -1;
	copy = xstrdup(path);
	dir = dirname(copy);
	while (nearest && access(dir, F_OK) == -1 && errno == ENOENT &&
	    strcmp(dir, ".") != 0 && strcmp(dir, "/") != 0)
		dir = dirname(dir);
	rc = access(dir, W_OK | X_OK);
	e = errno;
	free(copy);
	errno = e;
	return rc;
}

int
file_writable(const char *path)
{
	return writable(path, 1);
}

int
file_creatable(const char *path)
{
	return writable(path, 0);
}
