/*
 * contract.h - vk-route --check against the Event contract (vk-event(7)):
 * a rule path no Event has (.event_typ, .message.txt) or an event_type
 * compared with a name no Event carries ("comand") would silently never
 * match; each is a warning naming the rule's file and line and the nearest
 * known name. What VK sends under .object (and payloads, actions) stays open.
 */
#ifndef VKROUTE_CONTRACT_H
#define VKROUTE_CONTRACT_H

#include "rules.h"

/* Warn about every such path and name of rs; returns how many. */
int	contract_check(const struct ruleset *rs);

#endif
