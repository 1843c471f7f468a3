/*
 * user.h - check as the user the service runs as.
 *
 * A rules file root can read but the service's user cannot would pass a
 * check run as root and fail the start; so --check becomes that user
 * (after systemd's part, reading the environment file, is done as root).
 */
#ifndef VKPIPE_USER_H
#define VKPIPE_USER_H

/*
 * Become user name (its uid, gid and groups, HOME). explicit: the user
 * asked for it (--user), so a missing user, or not being root, is an
 * error; otherwise (the unit's default, "vkpipe") a missing user leaves
 * things as they are. Returns 0, or -1 after a message.
 */
int	user_become(const char *name, int explicit);

#endif
