/* hash.c - FNV-1a over bytes (see hash.h). */
#include "hash.h"

uint64_t
hash_bytes(const void *p, size_t n)
{
	const unsigned char *s = p;
	uint64_t h = 14695981039346656037ULL;

	while (n--) {
		h ^= *s++;
		h *= 1099511628211ULL;
	}
	return h;
}
