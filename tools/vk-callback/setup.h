/*
 * setup.h - vk-callback --setup URL: make URL the community's Callback API
 * server, through the VK API (common/vkapi.h).
 *
 * groups.getCallbackServers finds a server with exactly that URL; it is
 * updated (groups.editCallbackServer) or added (groups.addCallbackServer),
 * with the secret when there is one; groups.setCallbackSettings turns on
 * message_new, message_event and message_reaction_event at API version
 * 5.199; groups.getCallbackConfirmationCode gives the code VK's
 * confirmation request must be answered with. What was done goes to out.
 */
#ifndef VKCALLBACK_SETUP_H
#define VKCALLBACK_SETUP_H

#include <stdio.h>

#include "vkapi.h"

#define SETUP_TITLE	"vkpipe"	/* the server's name in the community (14 chars at most) */

/* 0, or -1 with e filled (the step that failed is in e->msg). */
int	setup_run(vkapi *api, const char *group, const char *url, const char *secret,
	    FILE *out, vkapi_err *e);

#endif
