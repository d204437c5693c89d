/*
 * li_state — the editor's side of an LSP session, kept so that a new server
 * can be brought to the state the lost one had (docs/keep-alive.md).
 *
 * Fed every classified message of both directions (li_state_feed, or
 * li_state_on_msg as a li_msg_fn), it keeps: the `initialize` params as the
 * editor sent them, whether `initialized` was sent, the negotiated position
 * encoding, the last `workspace/didChangeConfiguration` params, the editor's
 * answers to the server's `workspace/configuration` requests, the workspace
 * folders, every open document (URI, languageId, version, current text, with
 * `didChange` edits applied by li_edit), the editor's requests still in flight and the
 * server's requests still unanswered. li_state_replay() turns it into the
 * messages a restart sends, in order.
 *
 * Pure: no I/O, no event loop, no JSON tree: li_classify has validated the
 * body, and the tracker reads what it needs in place (li_jval), so a
 * 400 KiB didOpen costs about a millisecond and no failed allocation can
 * make it misread a message. Not thread-safe: one tracker per session, fed
 * from one thread.
 *
 * Limits. Tracked bytes (document URIs and texts, the kept params and
 * bodies, a fixed overhead per entry) are capped by max_bytes; at most
 * LI_STATE_MAX_REQUESTS requests are tracked per direction and
 * LI_STATE_MAX_FOLDERS workspace folders. When a limit is
 * passed, or a message that changes the state cannot be read (over the
 * inspection cap, malformed), the tracker becomes *untrackable*: it frees
 * what it holds, records one reason sentence, and ignores every later
 * message. The relay then behaves as it does without the tracker.
 *
 * Ids are compared as their JSON text, as li_pair does: 1 and "1" differ.
 */
#ifndef LSPTAP_INSPECT_LI_STATE_H
#define LSPTAP_INSPECT_LI_STATE_H

#include <stddef.h>
#include <stdint.h>

#include "inspect/li_edit.h"
#include "inspect/li_msg.h"

/* Default cap on tracked bytes: 64 MiB, far above a large workspace's open
 * documents (a 10,000-line Go file is about 400 KiB). */
#define LI_STATE_DEFAULT_MAX_BYTES ((size_t)64 << 20)
/* Requests tracked per direction; more in flight at once means a peer that
 * does not answer, and the tracker gives up. */
#define LI_STATE_MAX_REQUESTS 1024
/* Workspace folders tracked; more makes the tracker give up. */
#define LI_STATE_MAX_FOLDERS 1024
/* Configuration answers kept (distinct items); past it the oldest goes. */
#define LI_STATE_MAX_ANSWERS 256
/* Counted against the cap for every document, request, folder and answer,
 * for the bookkeeping the texts do not show. */
#define LI_STATE_ENTRY_OVERHEAD 128
#define LI_STATE_MAX_METHOD 128

struct li_state;

/* max_bytes 0: LI_STATE_DEFAULT_MAX_BYTES. Returns NULL only when out of
 * memory. */
struct li_state *li_state_new(size_t max_bytes);
void li_state_free(struct li_state *st);

/* One message, as li_session classified it: `m` describes body[0..len)
 * (LSP only). body is NULL when the message was over the inspection cap;
 * m's id and method spans (from the message's first bytes) are still used.
 * m and body are only read during the call. A notification that does not
 * change the tracked state costs a method comparison; a request, a copy of
 * its body (to resend it); a reply, a lookup of its id.
 * Returns 0 while the tracker follows the session, -ENOTRECOVERABLE once it
 * is untrackable (this message made it so, or an earlier one did: the
 * caller needs no li_state_info per message to notice; li_state_info's
 * reason says why), -EINVAL for a NULL st or m. */
int li_state_feed(struct li_state *st, enum li_dir dir, const struct li_msg *m, const char *body,
                  size_t len);

/* li_state_feed with li_msg_fn's signature: ud is the struct li_state. */
void li_state_on_msg(void *ud, enum li_dir dir, const struct li_msg *m, const char *body,
                     size_t len, int64_t latency_us);

struct li_state_info {
    int untrackable;       /* tracking stopped: reason says why */
    const char *reason;    /* one sentence; "" while trackable; owned by st */
    int have_initialize;   /* the editor's initialize params are kept */
    int initialized;       /* the editor sent `initialized` */
    int shutdown;          /* the editor sent `shutdown` or `exit`: no restart after that */
    enum li_edit_enc enc;  /* negotiated position encoding */
    size_t documents;      /* open documents */
    size_t inflight;       /* editor requests awaiting the server's reply */
    size_t pending_s2c;    /* server requests awaiting the editor's reply */
    size_t bytes;          /* tracked bytes now */
    size_t max_bytes;      /* the cap */
    uint64_t out_of_order; /* didChange whose version was not above the document's */
    uint64_t unknown_docs; /* didChange/didClose naming a document not open (ignored) */
    uint64_t reopened;     /* didOpen of a document already open (replaced it) */
};
void li_state_info(const struct li_state *st, struct li_state_info *out);

/* One open document; pointers are owned by st and valid until the next
 * li_state_feed or li_state_free. */
struct li_state_doc {
    const char *uri;
    const char *language;
    int64_t version;
    const char *text; /* not NUL-terminated */
    size_t len;
};
/* Looks a document up by its URI (exact text). Returns 0, or -ENOENT. */
int li_state_doc(const struct li_state *st, const char *uri, struct li_state_doc *out);

/* A workspace folder, decoded (NUL-terminated UTF-8). */
struct li_state_folder {
    char *uri;
    char *name;
};
/* The workspace folders now: initialize's workspaceFolders, else its rootUri
 * (name: the URI's last path segment), then every didChangeWorkspaceFolders
 * applied (removed, then added; by URI). Sets *v to st's array (valid until
 * the next li_state_feed) and returns its length. */
size_t li_state_folders(const struct li_state *st, const struct li_state_folder **v);

/* An editor's answer to workspace/configuration: the request's params.items
 * and the reply's result, as the JSON text each peer wrote ("null" for
 * items when the request had none). Each is NUL-terminated. */
struct li_state_answer {
    char *items;
    size_t items_len;
    char *result;
    size_t result_len;
};
/* The answers, oldest first (st's array, valid until the next feed): an
 * answer for the same items (byte for byte) replaces the older one; past
 * LI_STATE_MAX_ANSWERS the oldest is dropped. li_state_config_answer finds
 * the answer for items[0..len) (compared byte for byte), or NULL. */
size_t li_state_config_answers(const struct li_state *st, const struct li_state_answer **v);
const struct li_state_answer *li_state_config_answer(const struct li_state *st, const char *items,
                                                     size_t len);

/* An editor request in flight. */
struct li_state_req {
    char *id;                         /* the id's JSON text, NUL-terminated */
    char method[LI_STATE_MAX_METHOD]; /* unquoted; "" when unknown or too long */
    int safe;                         /* resending it to a new server is safe */
    int cancelled;                    /* the editor sent $/cancelRequest for it */
    char *body;                       /* the whole request as sent; NULL when not kept */
    size_t len;
};

/* What a restart replays, owned by the caller (li_state_replay_free). */
struct li_state_replay {
    char **bodies; /* whole JSON bodies, in order, each NUL-terminated */
    size_t *lens;
    size_t n;
    struct li_state_req *inflight; /* editor requests, oldest first */
    size_t n_inflight;
    char **s2c_ids; /* ids (JSON text) of server requests still unanswered */
    size_t n_s2c;
};

/* Builds the replay: `initialize` with id `init_id` (JSON text, e.g. "1"
 * or "\"lsptap-1\"", copied in) and the editor's params byte for byte;
 * `initialized` when the editor sent it; `workspace/didChangeWorkspaceFolders`
 * when the folders differ from those initialize named (added: the new ones,
 * removed: those gone); `workspace/didChangeConfiguration` with the last
 * params the editor sent, if any; one `textDocument/didOpen` per open
 * document (oldest opened first) with its current text and version. Then
 * the in-flight editor requests and the pending server request ids.
 * Returns 0; -ENOTRECOVERABLE when untrackable or no initialize was seen;
 * -EINVAL for an init_id that is not a JSON number or string; -ENOMEM.
 * On error *out is empty. */
int li_state_replay(const struct li_state *st, const char *init_id, struct li_state_replay *out);
void li_state_replay_free(struct li_state_replay *r);

/* Whether resending `method` to a new server is safe: 1 for the read-only
 * methods of docs/keep-alive.md's list, 0 for everything else. */
int li_state_method_safe(const char *method);

/* Consistency check for tests and fuzzing: recounts the tracked bytes, the
 * documents and their table, and every document's cached line start.
 * Returns 0, or -1 when they disagree. */
int li_state_check(const struct li_state *st);

#endif
