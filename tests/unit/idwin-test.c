/*
 * idwin-test - drives common/idwin.h for tests/04-idwin.bats.
 *   idwin-test CAP MAX_AGE < commands
 * Commands, one a line: "add ID VAL T" (remember ID with VAL at time T),
 * "seen ID VAL T" (idwin_seen: prints "ID seen" or "ID new"),
 * "get ID T" (expire at T, then print "ID VAL" or "ID -"), "size", "list"
 * (every id with its value, oldest first, one a line).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "idwin.h"

int
main(int argc, char *argv[])
{
	char line[4096], id[2048];
	unsigned long long val;
	uint64_t *v, lv;
	const char *lid;
	size_t k, ln;
	double t;
	idwin w;

	if (argc != 3 || idwin_init(&w, strtoul(argv[1], NULL, 10), atof(argv[2])) == -1)
		return 2;
	while (fgets(line, sizeof(line), stdin)) {
		if (sscanf(line, "add %2047s %llu %lf", id, &val, &t) == 3) {
			if (idwin_find(&w, id, strlen(id)) == NULL &&
			    idwin_add(&w, id, strlen(id), val, t) == -1)
				return 1;
		} else if (sscanf(line, "seen %2047s %llu %lf", id, &val, &t) == 3) {
			int r = idwin_seen(&w, id, strlen(id), val, t);

			if (r == -1)
				return 1;
			printf("%s %s\n", id, r ? "seen" : "new");
		} else if (sscanf(line, "get %2047s %lf", id, &t) == 2) {
			idwin_expire(&w, t);
			if ((v = idwin_find(&w, id, strlen(id))) != NULL)
				printf("%s %llu\n", id, (unsigned long long)*v);
			else
				printf("%s -\n", id);
		} else if (strncmp(line, "size", 4) == 0) {
			printf("size %zu\n", idwin_size(&w));
		} else if (strncmp(line, "list", 4) == 0) {
			for (k = 0; k < idwin_size(&w); k++) {
				lid = idwin_at(&w, k, &ln, &lv);
				printf("%.*s %llu\n", (int)ln, lid, (unsigned long long)lv);
			}
		}
	}
	idwin_free(&w);
	return 0;
}
