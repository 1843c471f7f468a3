/* state.c - load and atomically replace the state file. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "file.h"
#include "json.h"
#include "state.h"

#define STATE_MAX	4096

int
state_load(const char *path, const char *group, buf *ts, char *err, size_t errlen)
{
	char raw[STATE_MAX + 1];
	json_doc d;
	const char *p;
	size_t n = 0, gl;
	ssize_t r;
	int fd, t, g, rc = -1;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		if (errno == ENOENT)
			return 1;
		snprintf(err, errlen, "cannot read state file %s: %s", path, strerror(errno));
		return -1;
	}
	while (n < sizeof(raw) && (r = read(fd, raw + n, sizeof(raw) - n)) != 0) {
		if (r == -1) {
			if (errno == EINTR)
				continue;
			snprintf(err, errlen, "cannot read state file %s: %s", path, strerror(errno));
			close(fd);
			return -1;
		}
		n += (size_t)r;
	}
	close(fd);
	json_init(&d);
	if (n > STATE_MAX || json_parse(&d, raw, n) != 0 ||
	    json_type(&d, 0) != JSON_OBJECT) {
		snprintf(err, errlen, "state file %s is not a vk-poll state file: "
		    "fix it or remove it to start from the newest events", path);
		goto out;
	}
	t = json_get(&d, 0, "ts", 2);
	if (json_type(&d, t) != JSON_STRING && json_type(&d, t) != JSON_NUMBER) {
		snprintf(err, errlen, "state file %s has no ts: "
		    "fix it or remove it to start from the newest events", path);
		goto out;
	}
	g = json_get(&d, 0, "group_id", 8);
	p = json_raw(&d, g, &gl);
	if (g != -1 && (json_type(&d, g) != JSON_NUMBER || gl != strlen(group) ||
	    memcmp(p, group, gl) != 0)) {
		snprintf(err, errlen, "state file %s belongs to group %.*s, not %s: "
		    "use one state file per group", path, (int)(gl < 40 ? gl : 40),
		    p ? p : "?", group);
		goto out;
	}
	buf_reset(ts);
	p = json_raw(&d, t, &n);
	if (json_type(&d, t) == JSON_STRING) {
		buf_putc(ts, '"');
		buf_put(ts, p, n);
		buf_putc(ts, '"');
	} else {
		buf_put(ts, p, n);
	}
	rc = 0;
out:
	json_free(&d);
	return rc;
}

int
state_save(const char *path, const char *group, const char *ts, size_t tslen,
    char *err, size_t errlen)
{
	buf line = BUF_INIT;
	file_tmp t;
	int rc = -1;

	buf_puts(&line, "{\"group_id\":");
	buf_puts(&line, group);
	buf_puts(&line, ",\"ts\":");
	buf_put(&line, ts, tslen);
	buf_puts(&line, "}\n");

	if (file_replace_open(&t, path) == -1) {
		snprintf(err, errlen, "cannot write state file %s: %s", t.tmp.p, strerror(errno));
		file_replace_abort(&t);
		goto out;
	}
	if (file_write_all(t.fd, line.p, line.len) == -1) {
		snprintf(err, errlen, "cannot write state file %s: %s", t.tmp.p, strerror(errno));
		file_replace_abort(&t);
		goto out;
	}
	switch (file_replace_commit(&t)) {
	case FILE_EWRITE:
		snprintf(err, errlen, "cannot write state file %s.tmp: %s", path, strerror(errno));
		goto out;
	case FILE_EREPLACE:
		snprintf(err, errlen, "cannot replace state file %s: %s", path, strerror(errno));
		goto out;
	}
	rc = 0;
out:
	buf_free(&line);
	return rc;
}

void
state_touch(const char *path)
{
	if (path)
		utimensat(AT_FDCWD, path, NULL, 0);
}
