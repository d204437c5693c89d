/*
 * li_stats — what `lsptap stats SESSION` reports about a session file.
 *
 * Per method (LSP method, DAP command, or DAP event): requests,
 * notifications/events, replies, error replies, cancelled replies, bytes of
 * every frame in both directions (requests, notifications and replies) and
 * reply latency percentiles; then the requests left pending at the end and
 * how the session ended. Percentiles use the nearest-rank method: p of n
 * sorted latencies is the value at rank ceil(p/100 * n).
 */
#ifndef LSPTAP_INSPECT_LI_STATS_H
#define LSPTAP_INSPECT_LI_STATS_H

#include <jansson.h>
#include <stdint.h>
#include <stdio.h>

struct li_stats;

/* Reads a whole session file. Returns 0 with *out (free with
 * li_stats_free), or 2 when the file cannot be read or is not a session
 * file, with err naming the file (and line). Lines that are skipped
 * (malformed in the middle) and a last line cut short are written to `warn`
 * (may be NULL) and noted in the report. */
int li_stats_load(const char *path, struct li_stats **out, FILE *warn, char *err, size_t errlen);

/* li_stats_load for a reader that keeps more of each line: after the stats
 * took it, every line (the header first; skipped lines not) is lent to
 * `each(ud, line)` (may be NULL), and warnings say "lsptap TOOL: ". On an
 * error lines may already have been handed to `each`; *out stays NULL. */
int li_stats_load_each(const char *path, const char *tool, void (*each)(void *ud, json_t *line),
                       void *ud, struct li_stats **out, FILE *warn, char *err, size_t errlen);

/* Building a report line by line, for callers that already read them. The
 * first line added must be the header. */
struct li_stats *li_stats_new(const char *source);
void li_stats_add(struct li_stats *st, json_t *line);
void li_stats_note(struct li_stats *st, const char *warning);
void li_stats_finish(struct li_stats *st);
void li_stats_free(struct li_stats *st);

/* Several sessions as one report: per-method counts summed and latencies
 * pooled (percentiles over every reply of every session), pending requests
 * of each session (with its file), one line per session saying how it
 * ended. The parts stay owned by the caller and may be freed afterwards.
 * Free the result with li_stats_free. */
struct li_stats *li_stats_merge(struct li_stats *const *v, size_t n);

/* One session in brief, as `lsptap ls` lists it (new reference):
 * {"session","protocol","start","argv","duration_us","messages","ended" (how),
 *  "ending" (sentence),"pending","complete"}. */
json_t *li_stats_brief(const struct li_stats *st);

/* Nearest-rank percentile of v[0..n) sorted ascending; -1 when n is 0. */
int64_t li_percentile(const int64_t *v, size_t n, unsigned p);

/* The report as an aligned table, and as one JSON object (new reference)
 * with the same content. */
void li_stats_print(const struct li_stats *st, FILE *out);
json_t *li_stats_json(const struct li_stats *st);

#endif
