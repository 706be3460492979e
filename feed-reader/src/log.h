/*
 * log.h - how the follower hands a line to the log function of its
 * configuration (fr_config.log; fr_log_stderr() when none is set), and the
 * clock of its records.
 *
 * Every line of a follower names its feed: the pair "feed", the URL it
 * follows, comes first. Only the follower logs; the position store, the
 * fetch and the parser return their errors and say why in a message.
 */
#ifndef FR_LOG_H
#define FR_LOG_H

#include "feedreader.h"

/* Most key, value pairs one line takes, "feed" included; more are dropped. */
#define FR__LOG_PAIRS 8

/*
 * Hands msg at level to cfg's log function with "feed" = cfg->feed_url and
 * the pairs that follow: a key (a constant such as "position") and its
 * value (any text; NULL is ""), ..., ending with a NULL key.
 */
void fr__log(const struct fr_config *cfg, enum fr_log_level level, const char *msg, ...)
    __attribute__((sentinel));

/* Writes the current UTC time as RFC 3339 ("2024-01-01T00:00:00Z") into
 * out, which holds at least 21 bytes. */
void fr__now_rfc3339(char out[21]);

#endif
