/*
 * run.h - the pipeline: start the stages, watch them, stop them.
 *
 * Each stage is a child of vkpipe joined to the next by FIFOs in a private
 * run directory (its pid in NAME.pid there), so that vkpipe knows which
 * one stopped and how. vkpipe itself only waits: on a signalfd for its
 * signals and its children's ends, and on the watchdog's timer under
 * systemd; idle, it makes no process and takes no CPU.
 *
 * SIGTERM or SIGINT stop the source only; the others drain what is in the
 * pipe and exit on end of input; vk-call, which handlers may still be
 * using, gets one SIGTERM once vk-route has ended. A stage that fails
 * while the source runs takes the pipeline down with a message naming it.
 * SIGHUP reaches vk-route (rules reloaded, files reopened), SIGUSR1 every
 * stage (statistics on stderr).
 */
#ifndef VKPIPE_RUN_H
#define VKPIPE_RUN_H

#include "settings.h"

/* Run until every stage has ended; the exit status (see vkpipe(1)). */
int	run_pipeline(const struct settings *s, int rules);

#endif
