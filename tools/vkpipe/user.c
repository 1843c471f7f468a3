/* user.c - drop to the service's user for a check. */
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "user.h"

int
user_become(const char *name, int explicit)
{
	struct passwd *pw;

	errno = 0;
	if ((pw = getpwnam(name)) == NULL) {
		if (!explicit)
			return 0;
		log_err("--user %s: no such user%s%s", name, errno ? ": " : "",
		    errno ? strerror(errno) : "");
		return -1;
	}
	if (pw->pw_uid == geteuid())
		return 0;
	if (geteuid() != 0) {
		if (!explicit)
			return 0;	/* only root can check as another user */
		log_err("--user %s: only root can check as another user", name);
		return -1;
	}
	if (initgroups(pw->pw_name, pw->pw_gid) == -1 || setgid(pw->pw_gid) == -1 ||
	    setuid(pw->pw_uid) == -1) {
		log_err("cannot become user %s: %s", name, strerror(errno));
		return -1;
	}
	setenv("HOME", pw->pw_dir, 1);
	setenv("USER", pw->pw_name, 1);
	setenv("LOGNAME", pw->pw_name, 1);
	return 0;
}
