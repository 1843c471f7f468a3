/*
 * token.h - where the VK access token comes from.
 *
 * A file named by the caller (--token-file) beats the VK_TOKEN variable.
 * Never a command-line argument: argv is visible to every user in ps(1).
 * The token is trimmed of surrounding white space (the newline editors
 * add) and must then be one non-empty run of printable characters.
 */
#ifndef VKPIPE_TOKEN_H
#define VKPIPE_TOKEN_H

#include <stddef.h>

/*
 * What a program says to "--token X": its long option table has a "token"
 * entry only to refuse it, so getopt_long never takes "--token X" as an
 * abbreviation of --token-file and then prints X, the token, as a file name.
 */
#define TOKEN_ARGV_MSG "the token is never a command-line argument (ps(1) shows " \
	"it to everyone): set VK_TOKEN or use --token-file FILE"

enum token_status {
	TOKEN_OK = 0,
	TOKEN_WARN = 1,		/* loaded, but err holds a warning (file readable by all) */
	TOKEN_NONE = -1,	/* no file named and VK_TOKEN unset or empty */
	TOKEN_BAD = -2		/* unreadable file, or not a token; err says why */
};

/*
 * Load the token from file (if not NULL) or from the environment variable
 * env. On success *tok is a malloc'd string the caller frees. The message
 * in err never contains the token.
 */
int	token_load(const char *file, const char *env, char **tok, char *err, size_t errlen);
/*
 * The same for another secret (noun "callback secret", flag "--secret-file"),
 * named so in the messages.
 */
int	secret_load(const char *file, const char *env, const char *noun, const char *flag,
	    char **tok, char *err, size_t errlen);

#endif
