/*
 * opt.h - number options: one parser, one message.
 *
 * Modelled on strtonum(3) as OpenBSD's nc(1) uses it: a whole number in a
 * range, or a reason. main() parses each option in one line; a bad value
 * is kept (the first one) and reported by the checks right after getopt,
 * where the options that tie together are checked too:
 *
 *	case 'w': wait = opt_num(&o, "--wait", optarg, 1, 90); break;
 *	...
 *	if (o.err[0]) { log_warn("%s", o.err); return 2; }
 *
 * The message names the option, the range and the value given:
 * "--wait takes a whole number from 1 to 90, not '0'".
 */
#ifndef VKPIPE_OPT_H
#define VKPIPE_OPT_H

typedef struct opt {
	char	err[256];	/* the first bad value's message; "" while all are clean */
} opt;

/*
 * s as a whole decimal number from lo to hi: digits only (a '-' first when
 * lo < 0), no leading zero, no sign, space or suffix. A bad s returns lo
 * and, when o->err is empty, says why there.
 */
long long opt_num(opt *o, const char *name, const char *s, long long lo, long long hi);
/* The same for a decimal number of seconds ("0.3", "10"), from lo to hi. */
double	opt_secs(opt *o, const char *name, const char *s, double lo, double hi);

#endif
