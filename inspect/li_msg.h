/*
 * li_msg — what one message is, without building a tree.
 *
 * li_classify() validates the body as JSON with a single pass that keeps
 * only the top-level members it needs (a key scanner that skips nested
 * values), and classifies it as JSON-RPC 2.0 (LSP) or DAP. Spans point into
 * the caller's body: no allocation, valid as long as the body is.
 */
#ifndef LSPTAP_INSPECT_LI_MSG_H
#define LSPTAP_INSPECT_LI_MSG_H

#include <stddef.h>
#include <stdint.h>

#include "inspect/li_json.h"

enum li_proto { LI_LSP, LI_DAP };
enum li_dir { LI_C2S = 0, LI_S2C = 1 }; /* editor->server, server->editor */

enum li_kind {
    LI_K_REQUEST,
    LI_K_RESPONSE,
    LI_K_NOTIFICATION, /* LSP only */
    LI_K_EVENT,        /* DAP only */
    LI_K_INVALID,      /* not JSON, or JSON that is no JSON-RPC / DAP message */
};

struct li_msg {
    enum li_kind kind;
    int is_error;               /* LSP: reply with "error"; DAP: "success": false */
    struct li_span id;          /* LSP "id" (number or string); DAP "seq" */
    struct li_span method;      /* LSP "method"; DAP "command" or "event" (a JSON string) */
    struct li_span request_seq; /* DAP response "request_seq" */
    struct li_span error;       /* LSP "error" object; DAP "message" of a failed response */
    struct li_span params;      /* LSP "params"; DAP "arguments" (for cancellation) */
    /* When kind == LI_K_INVALID: */
    size_t err_off;   /* byte offset in the body */
    const char *why;  /* static text; when json_ok is 0 it is the JSON
                         error ("expected ':'"), else what is missing
                         ("no \"method\", \"result\" or \"error\"") */
    int json_ok;      /* the body is valid JSON (even if not a message) */
    int wide_numbers; /* a number some readers cannot hold (li_json.h) */
    int nul_escape;   /* a \u0000 escape, which jansson refuses in keys */
    int raw_newlines; /* a raw CR or LF between tokens (json_ok only) */
};

const char *li_kind_name(enum li_kind k); /* "request", "response", ... */
const char *li_dir_name(enum li_dir d);   /* "c2s", "s2c" */

/* Classifies body[0..len). Always fills m; returns 0 for a message, -1 for
 * LI_K_INVALID. `truncated` says body is only a prefix of the message:
 * validation is skipped and the top-level keys seen so far are used. */
int li_classify(enum li_proto proto, const char *body, size_t len, int truncated, struct li_msg *m);

#endif
