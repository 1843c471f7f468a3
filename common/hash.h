/*
 * hash.h - the one hash of vkpipe's tables (event_ids, destination names).
 *
 * FNV-1a, 64 bits: short keys, no setup, good low bits for tables that
 * mask them. Not keyed: it must not be used where colliding keys chosen
 * by an attacker could cost more than a longer probe.
 */
#ifndef VKPIPE_HASH_H
#define VKPIPE_HASH_H

#include <stddef.h>
#include <stdint.h>

uint64_t hash_bytes(const void *p, size_t n);

#endif
