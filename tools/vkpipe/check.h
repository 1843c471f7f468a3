/*
 * check.h - each stage's own --check of what it would be given.
 *
 * vkpipe checks its variables itself (settings.h); what they mean to a
 * stage (rules, URLs, *_ARGS, the token's file, the listen address, which
 * vk-callback --check binds and closes) is the stage's to say. Nothing is
 * written, nothing started.
 */
#ifndef VKPIPE_CHECK_H
#define VKPIPE_CHECK_H

#include "settings.h"
#include "stage.h"

/*
 * Run every wanted stage's --check, in the order they start. Returns 0,
 * or 3 after the stage's own message and vkpipe's naming it. *rules gets
 * vk-route's count of rules (-1 when it did not say).
 */
int	check_stages(const struct settings *s, int *rules);
/* One stage's check alone (a reload checks vk-route's). */
int	check_stage(const struct settings *s, enum stage_id id, int *rules);

#endif
