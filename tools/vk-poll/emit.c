/* emit.c - gap markers. */
#include "emit.h"

void
emit_gap(buf *b, const char *reason, const char *from, const char *to)
{
	buf_puts(b, "{\"type\":\"vkpipe_gap\",\"reason\":\"");
	buf_puts(b, reason);
	buf_puts(b, "\",\"from_ts\":");
	buf_puts(b, from && *from ? from : "null");
	buf_puts(b, ",\"to_ts\":");
	buf_puts(b, to && *to ? to : "null");
	buf_puts(b, "}\n");
}
