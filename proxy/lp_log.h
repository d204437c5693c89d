/*
 * lp_log — the session file on disk, written without blocking the relay.
 *
 * lp_log_line() only appends to an in-memory queue under a mutex; a writer
 * thread drains the queue to the file. When the queue would pass its cap
 * (config log_buffer) the line is dropped and counted, so a slow or failing
 * disk never stalls the event loop (docs/design.md principle 1). A line larger
 * than the cap is not dropped for its size: such lines are queued past the
 * cap while they total at most max_inspect (any single one when none
 * waits), so the queue holds at most cap + max(max_inspect, one line), and
 * the writer as much again; the inspector already bounds a message line by
 * max_inspect (a larger message is recorded as metadata, "truncated"). After a write error (ENOSPC,
 * EIO, ...) every further line is dropped and counted, and one sentence goes to stderr.
 */
#ifndef LSPTAP_PROXY_LP_LOG_H
#define LSPTAP_PROXY_LP_LOG_H

#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include "env/lp_config.h"
#include "inspect/li_session.h"

struct lp_log;

/* Creates the session directory (0700, with parents; an existing one with
 * group or other bits is changed to 0700 when this user owns it, else
 * warned about, once per process on stderr), removes the oldest
 * *.jsonl files while their total passes c->max_total (at most once a second
 * per process), creates a new file (0600, never an existing one) named
 * YYYYmmddTHHMMSSZ-PID-ROLE.jsonl, or YYYYmmddTHHMMSSZ-PID-ROLE-N.jsonl for
 * the (N+1)th of that second, and starts the writer thread. Call it from one
 * thread only. Returns 0, or a negative errno with a sentence in err naming
 * the path and the cause. */
int lp_log_open(const struct lp_config *c, const char *role, struct lp_log **out, char *err,
                size_t errlen);

/* li_sink_fn-compatible: queues one line (copied). Thread-safe. */
void lp_log_line(void *log, const char *line, size_t len);

/* li_sinkv_fn-compatible: queues one line given as n pieces, each copied
 * straight into the queue; the line is taken or dropped whole. Thread-safe. */
void lp_log_linev(void *log, const struct li_piece *v, int n);

/* Where the one "writing failed" sentence goes: fn is called from the
 * writer thread and returns 0 when it took the line (the relay's loop
 * writes it to stderr with lsptap's other lines); otherwise, or without fn,
 * the line is written to fd 2 directly, waiting up to 2 s for room. */
void lp_log_set_notify(struct lp_log *l, int (*fn)(const char *line));

/* Path of the file (valid until lp_log_close). */
const char *lp_log_path(const struct lp_log *l);

/* Lines dropped so far (queue full or after a write error). */
uint64_t lp_log_dropped(struct lp_log *l);

/* From now on each line is written to the file by the thread that queues
 * it, before lp_log_line returns, together with whatever was still queued.
 * For the end of a session: an editor such as Emacs's eglot SIGKILLs the
 * server's process group about 10 ms after `exit`, sooner than the writer
 * thread's batching (up to 50 ms) and, on a loaded machine, sooner than a
 * thread wake-up can be counted on. The caller's thread then waits for the
 * disk, so call it only once the editor has said shutdown or exit: the
 * lines left are few, the relay's bytes are forwarded before their line is
 * queued, and write() to the page cache takes microseconds. Idempotent;
 * thread-safe. */
void lp_log_eager(struct lp_log *l);

/* The session is ending: from now on lines are never dropped for the cap
 * (the closing lines must not be lost to a queue that is full at the end),
 * so the caller queues only its few closing lines before closing. Returns
 * the lines dropped so far. Thread-safe. */
uint64_t lp_log_finish(struct lp_log *l);

/* Flushes the queue, stops the thread, closes the file and frees l. Blocks
 * until the disk has taken every line: call it where nothing else waits on
 * this thread (after the relay's loop has finished). Returns 0, the
 * negative errno of the first write error, or -ENOENT when the file was
 * removed (with its directory, say) while it was written: what it held is
 * gone. */
int lp_log_close(struct lp_log *l);

/* Called on the loop's thread once the file is complete and closed, with
 * what lp_log_close would have returned; l is freed right after. */
typedef void (*lp_log_done_fn)(void *ud, int result);

/* lp_log_close without waiting for the disk, for a loop that relays other
 * streams meanwhile (docs/design.md principle 1): returns at once; the
 * writer thread writes what is queued, closes the file and wakes loop (a
 * uv_async_t), whose thread calls done. The handle keeps loop running
 * until then. Call from loop's thread; no more lines after it. Returns 0,
 * or a libuv error (nothing started: l is as it was). */
int lp_log_close_async(struct lp_log *l, uv_loop_t *loop, lp_log_done_fn done, void *ud);

/* For a process that ends without running its loop to the end (SIGINT):
 * waits for every close lp_log_close_async started and not yet reported,
 * and calls their done now, so no session file is cut short. Loop thread
 * only. */
void lp_log_wait_closes(void);

#endif
