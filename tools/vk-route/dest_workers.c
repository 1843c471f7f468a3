/*
 * dest_workers.c - `exec:COMMAND ARGS…#workers=N,by=PATH`: N copies of a
 * handler, each Event going to the one its key is assigned to.
 *
 * The key is the JSON text of the Event's value at PATH (".peer.bpid":
 * the chat); worker hash(key) mod N takes it (hash.h, FNV-1a: stable
 * across runs and machines). A missing key, or null, goes to worker 0. So
 * all the Events of one chat reach one worker, in input order, one at a
 * time, while other chats run on the other workers. A chat that is slow
 * holds back the chats that share its worker (about 1/N of them), never
 * the others; it cannot take more than its one worker.
 *
 * Each worker is a destination of its own, named after the group with
 * ",worker=K" added: its own queue, pipe, restarts with backoff and
 * #confirm, exactly as a single handler (dest_exec.c). The group itself
 * holds no line: its pick() hands each one to its worker before it is
 * queued, finding the worker by name each time (a template group's
 * workers come and go with --max-open like any template destination).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hash.h"
#include "json.h"
#include "workers.h"

int
workers_check_path(const char *s, size_t n, char *err, size_t errlen)
{
	size_t i, seg = 0;

	if (n == 0 || s[0] != '.') {
		snprintf(err, errlen, "by= takes a path like .peer.bpid");
		return -1;
	}
	for (i = 1; i <= n; i++) {
		if (i == n || s[i] == '.') {
			if (seg == 0) {
				snprintf(err, errlen, "by= takes a path like .peer.bpid "
				    "(member names, none empty)");
				return -1;
			}
			seg = 0;
		} else if ((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
		    (s[i] >= '0' && s[i] <= '9') || s[i] == '_' || s[i] == '-') {
			seg++;
		} else {
			snprintf(err, errlen, "by= takes a path like .peer.bpid "
			    "(letters, digits, '_' and '-' in a name)");
			return -1;
		}
	}
	return 0;
}

/*
 * The value at the path, as JSON text; NULL when missing or null. The line
 * is an Event route_line() checked (a JSON object, white space maybe
 * around it): its text is walked, not checked again.
 */
static const char *
key_of(const char *path, const char *line, size_t n, size_t *kn)
{
	struct jv v;
	const char *s, *e;

	while (n > 0 && (line[n - 1] == ' ' || line[n - 1] == '\t' ||
	    line[n - 1] == '\r'))
		n--;
	for (e = line + n; line < e && *line != '{'; line++)
		n--;
	v = (struct jv){ n > 0 ? JSON_OBJECT : JSON_NONE, line, n };
	for (s = path + 1;; s = e + 1) {
		if ((e = strchr(s, '.')) == NULL)
			e = s + strlen(s);
		if (v.t != JSON_OBJECT)
			return NULL;
		v = jv_get(&v, s, (size_t)(e - s));
		if (*e == '\0')
			break;
	}
	if (v.t == JSON_NONE || v.t == JSON_NULL)
		return NULL;
	*kn = v.n;
	return v.p;
}

int
workers_index(const char *path, int nworkers, const char *line, size_t n)
{
	const char *key;
	size_t kn = 0;

	if ((key = key_of(path, line, n, &kn)) == NULL)
		return 0;
	return (int)(hash_bytes(key, kn) % (uint64_t)nworkers);
}
