/*
 * stage.h - the command line of each stage, from the settings.
 *
 * One function builds a stage's argv for both --check and the run, so
 * that the two cannot disagree. The token and the callback secret never
 * appear in it: a stage that needs one is given a file name, the user's
 * (VK_TOKEN_FILE) or a descriptor vkpipe passes (/dev/fd/N, see run.c).
 */
#ifndef VKPIPE_STAGE_H
#define VKPIPE_STAGE_H

#include "settings.h"

/* In the order they start: the end of the pipe first, the source last. */
enum stage_id { STAGE_ROUTE, STAGE_CALL, STAGE_NORMALIZE, STAGE_SOURCE, STAGE_N };

/* What differs between a check and a run. */
struct stage_paths {
	const char	*ack;		/* the ack FIFO's path */
	const char	*rules;		/* vk-route -c FILE, or NULL for -e "* -> stdout" */
	const char	*token_file;	/* --token-file, or NULL (VK_TOKEN then) */
	const char	*secret_file;	/* vk-callback --secret-file, or NULL */
	const char	*alive;		/* vk-callback --alive FILE, or NULL */
	const char	*metrics;	/* --metrics FILE for this stage, or NULL */
};

/* The program a stage runs ("vk-route", ...). */
const char *stage_prog(const struct settings *s, enum stage_id id);
/* The variables a stage's command line comes from, for messages. */
const char *stage_vars(const struct settings *s, enum stage_id id);
/* Whether the settings run this stage at all (vk-call: VKPIPE_CALL_SOCKET). */
int	stage_wanted(const struct settings *s, enum stage_id id);
/*
 * The stage's argv, NULL-terminated, its program first; extra (may be
 * NULL) is put right after the program name (--check). Free with stage_argv_free().
 */
char	**stage_argv(const struct settings *s, enum stage_id id,
	    const struct stage_paths *p, const char *extra);
void	stage_argv_free(char **argv);

#endif
