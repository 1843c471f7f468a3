/*
 * notify.h - what vkpipe tells systemd (sd_notify(3)), and its watchdog.
 *
 * READY=1 once every stage runs, STOPPING=1 on the way down, STATUS= lines
 * for `systemctl status`. With WatchdogSec= (WATCHDOG_USEC), WATCHDOG=1 is
 * sent every half interval while the source is alive, and only then:
 * alive means its mark (vk-poll's state file, touched after every long
 * poll that returned, an empty one too; vk-callback's --alive file,
 * touched as its loop turns) changed within the last interval. A source
 * that hangs (a stuck connection, SIGSTOP) stops the pings, and systemd
 * restarts the service: "alive but no events" does not last.
 * Outside systemd (no NOTIFY_SOCKET) all of this does nothing.
 */
#ifndef VKPIPE_NOTIFY_H
#define VKPIPE_NOTIFY_H

#include <stdint.h>

struct watchdog {
	uint64_t	 usec;		/* WATCHDOG_USEC; 0: none */
	const char	*mark;		/* the file whose mtime says "alive" */
	int64_t		 start_us;	/* realtime, when the stages started */
	int64_t		 next_us;	/* monotonic, the next check */
	unsigned long	 pings, misses;
};

/* Say state to systemd ("READY=1\nSTATUS=..."); nothing outside it. */
void	notify(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Set w up for the source's mark (may not exist yet). */
void	watchdog_init(struct watchdog *w, const char *mark);
/* Milliseconds until watchdog_check() is due; -1: never. */
int	watchdog_timeout(const struct watchdog *w);
/* When due: WATCHDOG=1 if the mark is fresh; a line when it goes stale. */
void	watchdog_check(struct watchdog *w, const char *source);

#endif
