/* notify.c - sd_notify(3) messages and the watchdog's pings. */
#include <stdarg.h>
#include <stdio.h>
#include <sys/stat.h>
#include <systemd/sd-daemon.h>
#include <time.h>

#include "log.h"
#include "notify.h"

void
notify(const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	sd_notify(0, msg);
}

static int64_t
clock_us(clockid_t id)
{
	struct timespec t;

	clock_gettime(id, &t);
	return (int64_t)t.tv_sec * 1000000 + t.tv_nsec / 1000;
}

void
watchdog_init(struct watchdog *w, const char *mark)
{
	uint64_t usec = 0;

	w->usec = sd_watchdog_enabled(0, &usec) > 0 ? usec : 0;
	w->mark = mark;
	w->start_us = clock_us(CLOCK_REALTIME);
	w->next_us = clock_us(CLOCK_MONOTONIC);
	w->pings = w->misses = 0;
}

int
watchdog_timeout(const struct watchdog *w)
{
	int64_t left;

	if (!w->usec)
		return -1;
	left = w->next_us - clock_us(CLOCK_MONOTONIC);
	return left <= 0 ? 0 : (int)((left + 999) / 1000);
}

void
watchdog_check(struct watchdog *w, const char *source)
{
	int64_t now = clock_us(CLOCK_MONOTONIC), real, seen;
	struct stat st;

	if (!w->usec || now < w->next_us)
		return;
	w->next_us = now + (int64_t)(w->usec / 2);
	real = clock_us(CLOCK_REALTIME);
	seen = w->start_us;	/* a grace of one interval to start */
	if (stat(w->mark, &st) == 0) {
		int64_t m = (int64_t)st.st_mtim.tv_sec * 1000000 + st.st_mtim.tv_nsec / 1000;

		if (m > seen)
			seen = m;
	}
	if (real - seen < (int64_t)w->usec) {
		sd_notify(0, "WATCHDOG=1");
		w->pings++;
		w->misses = 0;
		return;
	}
	if (w->misses++ == 0)
		log_err("%s has not turned for %lld s (%s unchanged): no watchdog ping, "
		    "systemd will restart the service", source,
		    (long long)((real - seen) / 1000000), w->mark);
}
