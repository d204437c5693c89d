#include "inspect/li_state.h"

#include <assert.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "inspect/li_buf.h"
#include "inspect/li_edit.h"
#include "inspect/li_hindex.h"
#include "inspect/li_json.h"
#include "inspect/li_jval.h"
#include "inspect/li_list.h"

struct doc {
    struct doc *prev, *next; /* open order, oldest first */
    struct li_hlink link;    /* in docs_index, by URI */
    char *uri;
    size_t uri_len;
    char *lang;
    int64_t version;
    struct li_edit_text text;
};

struct req {
    struct req *prev, *next; /* arrival order */
    struct li_hlink link;    /* in its reqlist's index, by the id's JSON text */
    char *id;
    size_t id_len;
    char method[LI_STATE_MAX_METHOD];
    int safe, cancelled;
    char *body; /* c2s: the request as sent */
    size_t len;
    char *items; /* s2c workspace/configuration: params.items as JSON text */
    size_t items_len;
    size_t charged;
};

struct reqlist {
    struct req *head, *tail;
    size_t n;
    struct li_hindex index; /* finding an id (every request and reply) is a short chain */
};

struct li_state {
    size_t max_bytes, bytes;
    int untrackable;
    char reason[256];

    char *init_params; /* verbatim */
    size_t init_len;
    char *init_id; /* the initialize request's id text, to find its result */
    int offered[3];
    enum li_edit_enc enc;
    int initialized, shutdown;

    char *config; /* the last didChangeConfiguration params, verbatim */
    size_t config_len;

    struct li_state_folder *folders, *init_folders;
    size_t nfolders, cap_folders, ninit_folders, folders_bytes;

    struct li_state_answer *answers;
    size_t nanswers, cap_answers, answers_bytes;

    struct doc *docs, *docs_tail;
    size_t ndocs;
    struct li_hindex docs_index; /* by URI */

    struct reqlist req[2]; /* by the direction the request travelled */

    uint64_t out_of_order, unknown_docs, reopened;
};

/* ---- lifetime and limits ---------------------------------------------------- */

struct li_state *li_state_new(size_t max_bytes)
{
    struct li_state *st = calloc(1, sizeof *st);
    if (!st) return NULL;
    st->max_bytes = max_bytes ? max_bytes : LI_STATE_DEFAULT_MAX_BYTES;
    return st;
}

static void free_doc(struct doc *d)
{
    free(d->uri);
    free(d->lang);
    li_edit_text_free(&d->text);
    free(d);
}

static void free_req(struct req *r)
{
    free(r->id);
    free(r->body);
    free(r->items);
    free(r);
}

static void free_folders(struct li_state_folder *v, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(v[i].uri);
        free(v[i].name);
    }
    free(v);
}

/* Everything tracked goes; the counters and the reason stay. */
static void drop_all(struct li_state *st)
{
    for (struct doc *d = st->docs, *n; d; d = n) {
        n = d->next;
        free_doc(d);
    }
    st->docs = st->docs_tail = NULL;
    st->ndocs = 0;
    li_hindex_free(&st->docs_index);
    for (int i = 0; i < 2; i++) {
        for (struct req *r = st->req[i].head, *n; r; r = n) {
            n = r->next;
            free_req(r);
        }
        li_hindex_free(&st->req[i].index);
        memset(&st->req[i], 0, sizeof st->req[i]);
    }
    free(st->init_params);
    free(st->init_id);
    free(st->config);
    st->init_params = st->init_id = st->config = NULL;
    st->init_len = st->config_len = 0;
    free_folders(st->folders, st->nfolders);
    free_folders(st->init_folders, st->ninit_folders);
    st->folders = st->init_folders = NULL;
    st->nfolders = st->cap_folders = st->ninit_folders = st->folders_bytes = 0;
    for (size_t i = 0; i < st->nanswers; i++) {
        free(st->answers[i].items);
        free(st->answers[i].result);
    }
    free(st->answers);
    st->answers = NULL;
    st->nanswers = st->cap_answers = st->answers_bytes = 0;
    st->bytes = 0;
}

void li_state_free(struct li_state *st)
{
    if (!st) return;
    drop_all(st);
    free(st);
}

/* Stops tracking for good, with one sentence saying why. */
static void give_up(struct li_state *st, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(st->reason, sizeof st->reason, fmt, ap);
    va_end(ap);
    st->untrackable = 1;
    drop_all(st);
}

/* Adds n tracked bytes; gives up past the cap. Returns 0, or -1 when the
 * tracker gave up (every pointer into its state is then stale). */
static int charge(struct li_state *st, size_t n, const char *what)
{
    if (n > st->max_bytes - st->bytes) {
        give_up(st, "tracking %s would pass the keep-alive cap of %zu bytes (%zu tracked)", what,
                st->max_bytes, st->bytes);
        return -1;
    }
    st->bytes += n;
    return 0;
}

static void uncharge(struct li_state *st, size_t n)
{
    st->bytes -= n < st->bytes ? n : st->bytes;
}

static char *memdup0(const char *p, size_t n)
{
    char *s = malloc(n + 1);
    if (!s) return NULL;
    if (n) memcpy(s, p, n);
    s[n] = '\0';
    return s;
}

/* ---- documents -------------------------------------------------------------- */

static struct doc *find_doc(const struct li_state *st, const char *uri, size_t n)
{
    struct li_hlink *l = li_hindex_find(&st->docs_index, uri, n);
    return l ? LI_HENTRY(l, struct doc, link) : NULL;
}

static size_t doc_charge(const struct doc *d)
{
    return LI_STATE_ENTRY_OVERHEAD + d->uri_len + strlen(d->lang) + d->text.len;
}

static void close_doc(struct li_state *st, struct doc *d)
{
    uncharge(st, doc_charge(d));
    li_hindex_remove(&st->docs_index, &d->link);
    LI_LIST_UNLINK(st->docs, st->docs_tail, d);
    st->ndocs--;
    free_doc(d);
}

/* Replaces text[a..b) with s[0..n), charging what it adds. Returns 0, or
 * -1 when the tracker gave up (cap, memory). */
static int splice(struct li_state *st, struct doc *d, size_t a, size_t b, const char *s, size_t n)
{
    size_t del = b - a;
    if (n > del) {
        if (charge(st, n - del, "an edit") < 0) return -1;
    } else {
        uncharge(st, del - n);
    }
    if (li_edit_splice(&d->text, a, b, s, n) < 0) {
        give_up(st, "out of memory applying an edit");
        return -1;
    }
    return 0;
}

/* ---- reading messages without a tree ------------------------------------
 *
 * The body was validated by li_classify: li_jval reads what the tracker
 * needs in place (why not jansson: li_jval.h). */

/* The position encoding a JSON string names, or -1. */
static int enc_of(const struct li_jval *v)
{
    char buf[16];
    if (v->t != LI_J_STRING || v->s.len > sizeof buf) return -1;
    size_t n = li_jval_decode_into(v, buf);
    for (int k = 0; k < 3; k++) {
        const char *e = li_edit_enc_name((enum li_edit_enc)k);
        if (strlen(e) == n && memcmp(buf, e, n) == 0) return k;
    }
    return -1;
}

static const char *const k_td[] = {"uri", "languageId", "version", "text"};
enum { TD_URI, TD_LANG, TD_VERSION, TD_TEXT };

static struct li_jval params_of(const struct li_msg *m)
{
    return li_jval_of(m->params);
}

/* ---- folders ---------------------------------------------------------------- */

static size_t folders_size(const struct li_state_folder *v, size_t n)
{
    size_t s = 0;
    for (size_t i = 0; i < n; i++)
        s += LI_STATE_ENTRY_OVERHEAD + strlen(v[i].uri) + strlen(v[i].name);
    return s;
}

/* The folders now and those initialize named are both charged. */
static int recharge_folders(struct li_state *st)
{
    uncharge(st, st->folders_bytes);
    st->folders_bytes =
        folders_size(st->folders, st->nfolders) + folders_size(st->init_folders, st->ninit_folders);
    return charge(st, st->folders_bytes, "workspace folders");
}

static int folder_index(const struct li_state_folder *v, size_t n, const char *uri)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(v[i].uri, uri) == 0) return (int)i;
    return -1;
}

static void folder_remove(struct li_state *st, size_t k)
{
    if (k >= st->nfolders) return;
    free(st->folders[k].uri);
    free(st->folders[k].name);
    memmove(st->folders + k, st->folders + k + 1, (st->nfolders - k - 1) * sizeof *st->folders);
    st->nfolders--;
}

/* Appends a folder, owning uri and name (both freed on failure); one of
 * the same URI goes first. Returns 0, -1 out of memory, -2 when there are
 * LI_STATE_MAX_FOLDERS already. */
static int folder_add(struct li_state *st, char *uri, char *name)
{
    int k = folder_index(st->folders, st->nfolders, uri);
    if (k >= 0) folder_remove(st, (size_t)k);
    if (st->nfolders >= LI_STATE_MAX_FOLDERS) {
        free(uri);
        free(name);
        return -2;
    }
    struct li_state_folder *v = li_grow(st->folders, &st->cap_folders, st->nfolders + 1, sizeof *v);
    if (!v) {
        free(uri);
        free(name);
        return -1;
    }
    st->folders = v;
    st->folders[st->nfolders].uri = uri;
    st->folders[st->nfolders++].name = name;
    return 0;
}

/* A WorkspaceFolder object, decoded. Returns 0, 1 when it has no uri string
 * (skipped), -1 out of memory. */
static int read_folder(const struct li_jval *el, char **uri, char **name)
{
    static const char *const k[] = {"uri", "name"};
    struct li_jval f[2] = {0};
    size_t n;
    li_jval_members(el, k, 2, f);
    *uri = *name = NULL;
    if (f[0].t != LI_J_STRING) return 1;
    *uri = li_jval_string(&f[0], &n);
    *name = f[1].t == LI_J_STRING ? li_jval_string(&f[1], &n) : strdup("");
    if (*uri && *name) return 0;
    free(*uri);
    free(*name);
    return -1;
}

/* Initialize's folders: workspaceFolders, else rootUri. Returns 0, or -1
 * when the tracker gave up. */
static int initial_folders(struct li_state *st, const struct li_jval *params)
{
    static const char *const k[] = {"workspaceFolders", "rootUri"};
    struct li_jval f[2] = {0}, el = {0};
    li_jval_members(params, k, 2, f);
    free_folders(st->folders, st->nfolders);
    free_folders(st->init_folders, st->ninit_folders);
    st->folders = st->init_folders = NULL;
    st->nfolders = st->cap_folders = st->ninit_folders = 0;
    int rc = 0;
    if (f[0].t == LI_J_ARRAY) {
        struct li_jval_iter it;
        char *uri, *name;
        for (li_jval_elements(&f[0], &it); rc == 0 && li_jval_next(&it, &el);) {
            int r = read_folder(&el, &uri, &name);
            if (r < 0) rc = -1;
            if (r != 0) continue;
            if (folder_index(st->folders, st->nfolders, uri) >= 0) {
                free(uri); /* a repeated URI: the first one counts */
                free(name);
            } else {
                rc = folder_add(st, uri, name);
            }
        }
    } else if (f[1].t == LI_J_STRING) {
        size_t n = 0;
        char *root = li_jval_string(&f[1], &n);
        while (root && n > 0 && root[n - 1] == '/')
            n--;
        size_t s = n;
        while (root && s > 0 && root[s - 1] != '/')
            s--;
        char *name = root ? strndup(root + s, n - s) : NULL;
        rc = root && name ? folder_add(st, root, name) : -1;
        if (!root || !name) {
            free(root);
            free(name);
        }
    }
    if (rc == 0 && st->nfolders) {
        st->init_folders = calloc(st->nfolders, sizeof *st->init_folders);
        for (size_t i = 0; st->init_folders && i < st->nfolders; i++, st->ninit_folders++) {
            st->init_folders[i].uri = strdup(st->folders[i].uri);
            st->init_folders[i].name = strdup(st->folders[i].name);
            if (!st->init_folders[i].uri || !st->init_folders[i].name) rc = -1;
        }
        if (!st->init_folders) rc = -1;
    }
    if (rc < 0) {
        if (rc == -2)
            give_up(st, "initialize names more than %d workspace folders", LI_STATE_MAX_FOLDERS);
        else
            give_up(st, "out of memory keeping the workspace folders");
        return -1;
    }
    return recharge_folders(st);
}

static void did_change_folders(struct li_state *st, const struct li_msg *m)
{
    static const char *const k_params[] = {"event"}, *const k_event[] = {"added", "removed"};
    struct li_jval params = params_of(m), ev = {0}, f[2] = {0}, el = {0};
    li_jval_members(&params, k_params, 1, &ev);
    li_jval_members(&ev, k_event, 2, f);
    if (f[0].t != LI_J_ARRAY || f[1].t != LI_J_ARRAY) {
        give_up(st, "workspace/didChangeWorkspaceFolders has no event.added and event.removed "
                    "arrays");
        return;
    }
    struct li_jval_iter it;
    char *uri, *name;
    for (li_jval_elements(&f[1], &it); li_jval_next(&it, &el);) {
        int r = read_folder(&el, &uri, &name);
        if (r < 0) goto oom;
        if (r > 0) continue;
        int k = folder_index(st->folders, st->nfolders, uri);
        if (k >= 0) folder_remove(st, (size_t)k);
        free(uri);
        free(name);
    }
    for (li_jval_elements(&f[0], &it); li_jval_next(&it, &el);) {
        int r = read_folder(&el, &uri, &name);
        if (r < 0) goto oom;
        if (r == 0 && (r = folder_add(st, uri, name)) == -2) {
            give_up(st, "the editor named more than %d workspace folders", LI_STATE_MAX_FOLDERS);
            return;
        }
        if (r < 0) goto oom;
    }
    recharge_folders(st);
    return;
oom:
    give_up(st, "out of memory keeping the workspace folders");
}

size_t li_state_folders(const struct li_state *st, const struct li_state_folder **v)
{
    *v = st->folders;
    return st->nfolders;
}

/* ---- initialize ---------------------------------------------------------- */

/* The encodings the editor offered in capabilities.general.positionEncodings. */
static void read_offered(struct li_state *st, const struct li_jval *params)
{
    static const char *const k1[] = {"capabilities"}, *const k2[] = {"general"},
                             *const k3[] = {"positionEncodings"};
    struct li_jval c = {0}, g = {0}, pe = {0}, el = {0};
    li_jval_members(params, k1, 1, &c);
    li_jval_members(&c, k2, 1, &g);
    li_jval_members(&g, k3, 1, &pe);
    memset(st->offered, 0, sizeof st->offered);
    if (pe.t != LI_J_ARRAY) return;
    struct li_jval_iter it;
    for (li_jval_elements(&pe, &it); li_jval_next(&it, &el);) {
        int k = enc_of(&el);
        if (k >= 0) st->offered[k] = 1;
    }
}

static void on_initialize(struct li_state *st, const struct li_msg *m, const char *body)
{
    struct li_jval params = params_of(m);
    if (!body) {
        give_up(st, "the editor's initialize is over the inspection cap");
        return;
    }
    if (params.t != LI_J_OBJECT || !m->id.p) {
        give_up(st, "the editor's initialize has no params object or no id");
        return;
    }
    uncharge(st, st->init_len);
    free(st->init_params);
    free(st->init_id);
    st->init_params = memdup0(m->params.p, m->params.len);
    st->init_id = memdup0(m->id.p, m->id.len);
    st->init_len = m->params.len;
    if (!st->init_params || !st->init_id) {
        give_up(st, "out of memory keeping initialize");
        return;
    }
    read_offered(st, &params);
    st->enc = LI_ENC_UTF16;
    if (charge(st, st->init_len, "the initialize params") == 0) initial_folders(st, &params);
}

/* The server's initialize result: which position encoding it chose. */
static void on_initialize_result(struct li_state *st, const struct li_msg *m, const char *body,
                                 size_t len)
{
    static const char *const k1[] = {"result"}, *const k2[] = {"capabilities"},
                             *const k3[] = {"positionEncoding"};
    if (m->is_error) return;
    if (!body) {
        if (st->offered[LI_ENC_UTF8] || st->offered[LI_ENC_UTF32])
            give_up(st, "the server's initialize result is over the inspection cap, so its "
                        "position encoding is unknown");
        return;
    }
    struct li_jval top = li_jval_top(body, len);
    struct li_jval r = {0}, c = {0}, pe = {0};
    li_jval_members(&top, k1, 1, &r);
    li_jval_members(&r, k2, 1, &c);
    li_jval_members(&c, k3, 1, &pe);
    st->enc = LI_ENC_UTF16;
    if (!pe.s.p) return;
    int k = enc_of(&pe);
    if (k < 0 || (k != LI_ENC_UTF16 && !st->offered[k]))
        give_up(st, "the server chose position encoding %.*s, which the editor did not offer",
                (int)(pe.s.len < 64 ? pe.s.len : 64), pe.s.p);
    else
        st->enc = (enum li_edit_enc)k;
}

/* ---- configuration ------------------------------------------------------- */

static void did_change_config(struct li_state *st, const struct li_msg *m)
{
    if (!m->params.p) return;
    char *c = memdup0(m->params.p, m->params.len);
    if (!c) {
        give_up(st, "out of memory keeping the configuration");
        return;
    }
    uncharge(st, st->config_len);
    free(st->config);
    st->config = c;
    st->config_len = m->params.len;
    charge(st, st->config_len, "workspace/didChangeConfiguration");
}

static size_t answer_size(const struct li_state_answer *a)
{
    return LI_STATE_ENTRY_OVERHEAD + a->items_len + a->result_len;
}

static void answer_remove(struct li_state *st, size_t k)
{
    uncharge(st, answer_size(&st->answers[k]));
    st->answers_bytes -= answer_size(&st->answers[k]);
    free(st->answers[k].items);
    free(st->answers[k].result);
    memmove(st->answers + k, st->answers + k + 1, (st->nanswers - k - 1) * sizeof *st->answers);
    st->nanswers--;
}

const struct li_state_answer *li_state_config_answer(const struct li_state *st, const char *items,
                                                     size_t len)
{
    for (size_t i = 0; i < st->nanswers; i++)
        if (st->answers[i].items_len == len && memcmp(st->answers[i].items, items, len) == 0)
            return &st->answers[i];
    return NULL;
}

size_t li_state_config_answers(const struct li_state *st, const struct li_state_answer **v)
{
    *v = st->answers;
    return st->nanswers;
}

/* The editor's reply to workspace/configuration request r: kept with the
 * request's items, both as JSON text. Takes r->items. */
static void config_answer(struct li_state *st, struct req *r, const char *body, size_t len)
{
    static const char *const k[] = {"result"};
    struct li_jval top = li_jval_top(body, len);
    struct li_jval res = {0};
    li_jval_members(&top, k, 1, &res);
    if (!res.s.p) {
        give_up(st, "the editor's answer to workspace/configuration %s has no result", r->id);
        return;
    }
    if (!r->items) {
        if (!(r->items = strdup("null"))) goto oom;
        r->items_len = 4;
    }
    const struct li_state_answer *old = li_state_config_answer(st, r->items, r->items_len);
    if (old) answer_remove(st, (size_t)(old - st->answers));
    if (st->nanswers >= LI_STATE_MAX_ANSWERS) answer_remove(st, 0); /* a cache: the oldest goes */
    struct li_state_answer *v = li_grow(st->answers, &st->cap_answers, st->nanswers + 1, sizeof *v);
    if (!v) goto oom;
    st->answers = v;
    struct li_state_answer *a = &st->answers[st->nanswers];
    if (!(a->result = memdup0(res.s.p, res.s.len))) goto oom;
    a->result_len = res.s.len;
    a->items = r->items;
    a->items_len = r->items_len;
    r->items = NULL;
    st->nanswers++;
    st->answers_bytes += answer_size(a);
    charge(st, answer_size(a), "a workspace/configuration answer");
    return;
oom:
    give_up(st, "out of memory keeping a configuration answer");
}

/* ---- requests ------------------------------------------------------------ */

static const char *const safe_methods[] = {
    "textDocument/hover",
    "textDocument/definition",
    "textDocument/declaration",
    "textDocument/typeDefinition",
    "textDocument/implementation",
    "textDocument/references",
    "textDocument/documentHighlight",
    "textDocument/documentSymbol",
    "textDocument/documentLink",
    "documentLink/resolve",
    "textDocument/codeLens",
    "codeLens/resolve",
    "textDocument/foldingRange",
    "textDocument/selectionRange",
    "textDocument/semanticTokens/full",
    "textDocument/semanticTokens/full/delta",
    "textDocument/semanticTokens/range",
    "textDocument/completion",
    "completionItem/resolve",
    "textDocument/signatureHelp",
    "textDocument/inlayHint",
    "inlayHint/resolve",
    "textDocument/inlineValue",
    "textDocument/documentColor",
    "textDocument/colorPresentation",
    "textDocument/linkedEditingRange",
    "textDocument/moniker",
    "textDocument/prepareCallHierarchy",
    "callHierarchy/incomingCalls",
    "callHierarchy/outgoingCalls",
    "textDocument/prepareTypeHierarchy",
    "typeHierarchy/supertypes",
    "typeHierarchy/subtypes",
    "textDocument/formatting",
    "textDocument/rangeFormatting",
    "textDocument/rangesFormatting",
    "textDocument/onTypeFormatting",
    "textDocument/prepareRename",
    "textDocument/rename",
    "textDocument/codeAction",
    "textDocument/diagnostic",
    "workspace/symbol",
    "workspaceSymbol/resolve",
    "workspace/textDocumentContent",
};

int li_state_method_safe(const char *method)
{
    for (size_t i = 0; i < sizeof safe_methods / sizeof safe_methods[0]; i++)
        if (strcmp(method, safe_methods[i]) == 0) return 1;
    return 0;
}

static struct req *find_req(const struct reqlist *rl, const char *id, size_t n)
{
    struct li_hlink *l = li_hindex_find(&rl->index, id, n);
    return l ? LI_HENTRY(l, struct req, link) : NULL;
}

static void unlink_req(struct li_state *st, struct reqlist *l, struct req *r)
{
    uncharge(st, r->charged);
    LI_LIST_UNLINK(l->head, l->tail, r);
    li_hindex_remove(&l->index, &r->link);
    l->n--;
}

static void track_request(struct li_state *st, enum li_dir dir, const struct li_msg *m,
                          const char *method, const char *body, size_t len)
{
    struct reqlist *l = &st->req[dir];
    if (!m->id.p) return;
    struct req *old = find_req(l, m->id.p, m->id.len);
    if (old) {
        unlink_req(st, l, old);
        free_req(old);
    }
    if (l->n >= LI_STATE_MAX_REQUESTS) {
        give_up(st, "more than %d requests from the %s are unanswered", LI_STATE_MAX_REQUESTS,
                dir == LI_C2S ? "editor" : "server");
        return;
    }
    struct req *r = li_hindex_reserve(&l->index, l->n) < 0 ? NULL : calloc(1, sizeof *r);
    if (!r || !(r->id = memdup0(m->id.p, m->id.len))) {
        free(r);
        give_up(st, "out of memory tracking a request");
        return;
    }
    r->id_len = m->id.len;
    strcpy(r->method, method);
    r->charged = LI_STATE_ENTRY_OVERHEAD + r->id_len;
    if (dir == LI_C2S && body) {
        r->safe = li_state_method_safe(method);
        r->body = memdup0(body, len);
        r->len = len;
        r->charged += len;
        if (!r->body) {
            free_req(r);
            give_up(st, "out of memory tracking a request");
            return;
        }
    } else if (dir == LI_S2C && body && strcmp(method, "workspace/configuration") == 0) {
        static const char *const k[] = {"items"};
        struct li_jval params = params_of(m), items = {0};
        li_jval_members(&params, k, 1, &items);
        if (items.s.p && !(r->items = memdup0(items.s.p, items.s.len))) {
            free_req(r);
            give_up(st, "out of memory tracking a request");
            return;
        }
        r->items_len = items.s.len;
        r->charged += items.s.len;
    }
    LI_LIST_APPEND(l->head, l->tail, r);
    li_hindex_add(&l->index, &r->link, r->id, r->id_len);
    l->n++;
    if (charge(st, r->charged, "a request") < 0) return;
}

static void on_reply(struct li_state *st, enum li_dir dir, const struct li_msg *m, const char *body,
                     size_t len)
{
    /* A reply travelling dir answers a request that travelled the other way. */
    struct reqlist *l = &st->req[dir == LI_C2S ? LI_S2C : LI_C2S];
    if (!m->id.p || (m->id.len == 4 && memcmp(m->id.p, "null", 4) == 0)) {
        if (!body && l->n)
            give_up(st, "a reply over the inspection cap does not show its id in its first bytes");
        return;
    }
    if (dir == LI_S2C && st->init_id && strlen(st->init_id) == m->id.len &&
        memcmp(st->init_id, m->id.p, m->id.len) == 0) {
        on_initialize_result(st, m, body, len);
        /* Only the first success: a later request may reuse the id. */
        if (!m->is_error) {
            free(st->init_id);
            st->init_id = NULL;
        }
        return;
    }
    struct req *r = find_req(l, m->id.p, m->id.len);
    if (!r) return;
    unlink_req(st, l, r);
    if (dir == LI_C2S && !m->is_error && strcmp(r->method, "workspace/configuration") == 0) {
        if (body)
            config_answer(st, r, body, len);
        else
            give_up(st,
                    "the editor's answer to workspace/configuration %s is over the inspection "
                    "cap",
                    r->id);
    }
    free_req(r);
}

struct idspan {
    const char *p;
    size_t len;
};

static void id_member(void *ud, const struct li_json_member *mb)
{
    struct idspan *id = ud;
    if (mb->key.len == 4 && memcmp(mb->key.p, "\"id\"", 4) == 0) {
        id->p = mb->val.p;
        id->len = mb->val.len;
    }
}

/* $/cancelRequest travelling dir names a request that travelled dir. The
 * id is taken as written (a span of the params), so it compares equal to
 * the request's own id text. */
static void on_cancel(struct li_state *st, enum li_dir dir, const struct li_msg *m)
{
    struct idspan id = {NULL, 0};
    struct li_json_result res;
    if (!m->params.p) return;
    li_json_scan(m->params.p, m->params.len, 0, id_member, &id, &res);
    struct req *r = id.p ? find_req(&st->req[dir], id.p, id.len) : NULL;
    if (r) r->cancelled = 1;
}

/* ---- document notifications ------------------------------------------------- */

static void did_open(struct li_state *st, const struct li_msg *m)
{
    static const char *const k_params[] = {"textDocument"};
    struct li_jval params = params_of(m), td = {0}, f[4] = {0};
    int ok;
    li_jval_members(&params, k_params, 1, &td);
    li_jval_members(&td, k_td, 4, f);
    int64_t version = li_jval_int(&f[TD_VERSION], 1, &ok);
    struct doc *d = calloc(1, sizeof *d);
    if (!d) {
        give_up(st, "out of memory keeping an open document");
        return;
    }
    d->uri = li_jval_string(&f[TD_URI], &d->uri_len);
    size_t tl = 0;
    char *text = li_jval_string(&f[TD_TEXT], &tl);
    size_t ll = 0;
    d->lang = f[TD_LANG].s.p ? li_jval_string(&f[TD_LANG], &ll) : strdup("");
    li_edit_text_init(&d->text, text, text ? tl : 0);
    if (!d->uri || !text || !d->lang || !ok) {
        int shape = !ok || f[TD_URI].t != LI_J_STRING || f[TD_TEXT].t != LI_J_STRING ||
                    (f[TD_LANG].s.p && f[TD_LANG].t != LI_J_STRING);
        free_doc(d);
        give_up(st, shape ? "textDocument/didOpen has no textDocument.uri, .text, .languageId "
                            "(strings) or .version (an integer)"
                          : "out of memory keeping an open document");
        return;
    }
    d->version = version;
    struct doc *old = find_doc(st, d->uri, d->uri_len);
    if (old) {
        st->reopened++;
        close_doc(st, old);
    }
    if (li_hindex_reserve(&st->docs_index, st->ndocs) < 0) {
        free_doc(d);
        give_up(st, "out of memory keeping an open document");
        return;
    }
    li_hindex_add(&st->docs_index, &d->link, d->uri, d->uri_len);
    LI_LIST_APPEND(st->docs, st->docs_tail, d);
    st->ndocs++;
    charge(st, doc_charge(d), "an opened document");
}

/* A Position object's line and character. Returns 0, or -1 when malformed. */
static int position_of(const struct li_jval *v, uint64_t *line, uint64_t *ch)
{
    static const char *const k_pos[] = {"line", "character"};
    struct li_jval f[2] = {0};
    int ok1, ok2;
    li_jval_members(v, k_pos, 2, f);
    int64_t l = li_jval_int(&f[0], 0, &ok1), c = li_jval_int(&f[1], 0, &ok2);
    if (!ok1 || !ok2) return -1;
    *line = (uint64_t)l;
    *ch = (uint64_t)c;
    return 0;
}

/* One entry of contentChanges. Returns 0, or -1 when the tracker gave up. */
static int apply_change(struct li_state *st, struct doc *d, const struct li_jval *c, size_t idx)
{
    static const char *const k_change[] = {"range", "text"};
    static const char *const k_range[] = {"start", "end"};
    struct li_jval f[2] = {0}, r[2] = {0};
    li_jval_members(c, k_change, 2, f);
    size_t n;
    char *s = li_jval_string(&f[1], &n);
    if (!s) {
        if (f[1].t == LI_J_STRING)
            give_up(st, "out of memory applying an edit");
        else
            give_up(st, "textDocument/didChange for %.128s: contentChanges[%zu] has no text",
                    d->uri, idx);
        return -1;
    }
    int rc;
    if (!f[0].s.p || f[0].t == LI_J_NULL) {
        rc = splice(st, d, 0, d->text.len, s, n);
        free(s);
        return rc;
    }
    uint64_t al, ac, bl, bc;
    li_jval_members(&f[0], k_range, 2, r);
    if (position_of(&r[0], &al, &ac) < 0 || position_of(&r[1], &bl, &bc) < 0) {
        free(s);
        give_up(st, "textDocument/didChange for %.128s: contentChanges[%zu] has a malformed range",
                d->uri, idx);
        return -1;
    }
    size_t from = li_edit_locate(&d->text, al, ac, st->enc, 1);
    size_t to = li_edit_locate(&d->text, bl, bc, st->enc, 0);
    if (to < from) to = from; /* an end before the start deletes nothing */
    rc = splice(st, d, from, to, s, n);
    free(s);
    return rc;
}

/* The open document td.uri names, or NULL; *bad is 1 when td has no uri
 * string, 2 when memory ran out, else 0. */
static struct doc *doc_of(struct li_state *st, const struct li_jval *td, int *bad)
{
    struct li_jval f[1] = {0};
    size_t n;
    li_jval_members(td, k_td, 1, f);
    char *uri = li_jval_string(&f[TD_URI], &n);
    *bad = uri ? 0 : f[TD_URI].t == LI_J_STRING ? 2 : 1;
    struct doc *d = uri ? find_doc(st, uri, n) : NULL;
    free(uri);
    return d;
}

static void did_change(struct li_state *st, const struct li_msg *m)
{
    static const char *const k_params[] = {"textDocument", "contentChanges"};
    struct li_jval params = params_of(m), f[2] = {0}, v[3] = {0}, c = {0};
    int bad, ok;
    li_jval_members(&params, k_params, 2, f);
    struct doc *d = doc_of(st, &f[0], &bad);
    if (bad == 2) {
        give_up(st, "out of memory reading textDocument/didChange");
        return;
    }
    if (bad || f[1].t != LI_J_ARRAY) {
        give_up(st, "textDocument/didChange has no textDocument.uri or contentChanges array");
        return;
    }
    if (!d) {
        st->unknown_docs++;
        return;
    }
    li_jval_members(&f[0], k_td, 3, v);
    int64_t version = li_jval_int(&v[TD_VERSION], 1, &ok);
    if (ok) {
        if (version <= d->version) st->out_of_order++;
        d->version = version;
    }
    struct li_jval_iter it;
    li_jval_elements(&f[1], &it);
    for (size_t i = 0; li_jval_next(&it, &c); i++)
        if (apply_change(st, d, &c, i) < 0) break;
}

static void did_close(struct li_state *st, const struct li_msg *m)
{
    static const char *const k_params[] = {"textDocument"};
    struct li_jval params = params_of(m), td = {0};
    int bad;
    li_jval_members(&params, k_params, 1, &td);
    struct doc *d = doc_of(st, &td, &bad);
    if (bad == 2)
        give_up(st, "out of memory reading textDocument/didClose");
    else if (d)
        close_doc(st, d);
    else
        st->unknown_docs++;
}

/* The method, unquoted, into buf; "" when absent, too long or holding a
 * NUL. Decoded without allocating: a method must never be missed for want
 * of memory. */
static void method_of(const struct li_msg *m, char *buf)
{
    char tmp[LI_STATE_MAX_METHOD * 6 + 2]; /* each character may take a 6-byte escape */
    struct li_jval v = {m->method, LI_J_STRING};
    buf[0] = '\0';
    if (!v.s.p || v.s.len < 2 || v.s.len > sizeof tmp || v.s.p[0] != '"') return;
    size_t n = li_jval_decode_into(&v, tmp);
    if (n >= LI_STATE_MAX_METHOD || memchr(tmp, '\0', n)) return;
    memcpy(buf, tmp, n);
    buf[n] = '\0';
}

/* ---- feed ---------------------------------------------------------------- */

static int changes_state(const char *method)
{
    return strcmp(method, "textDocument/didOpen") == 0 ||
           strcmp(method, "textDocument/didChange") == 0 ||
           strcmp(method, "textDocument/didClose") == 0 ||
           strcmp(method, "workspace/didChangeConfiguration") == 0 ||
           strcmp(method, "workspace/didChangeWorkspaceFolders") == 0;
}

static void on_notification(struct li_state *st, enum li_dir dir, const struct li_msg *m,
                            const char *method, const char *body)
{
    if (strcmp(method, "$/cancelRequest") == 0) {
        if (body) on_cancel(st, dir, m);
        return;
    }
    if (dir != LI_C2S) return;
    if (strcmp(method, "initialized") == 0) {
        st->initialized = 1;
        return;
    }
    if (strcmp(method, "exit") == 0) {
        st->shutdown = 1; /* exit without shutdown ends the session all the same */
        return;
    }
    if (!changes_state(method)) return;
    if (!body) {
        give_up(st, "the editor's %s is over the inspection cap", method);
        return;
    }
    if (strcmp(method, "textDocument/didChange") == 0)
        did_change(st, m);
    else if (strcmp(method, "textDocument/didOpen") == 0)
        did_open(st, m);
    else if (strcmp(method, "textDocument/didClose") == 0)
        did_close(st, m);
    else if (strcmp(method, "workspace/didChangeConfiguration") == 0)
        did_change_config(st, m);
    else
        did_change_folders(st, m);
}

int li_state_feed(struct li_state *st, enum li_dir dir, const struct li_msg *m, const char *body,
                  size_t len)
{
    if (!st || !m) return -EINVAL;
    if (st->untrackable) return -ENOTRECOVERABLE;
    char method[LI_STATE_MAX_METHOD];
    switch (m->kind) {
    case LI_K_REQUEST:
        method_of(m, method);
        if (dir == LI_C2S && strcmp(method, "initialize") == 0) {
            on_initialize(st, m, body);
            break;
        }
        if (dir == LI_C2S && strcmp(method, "shutdown") == 0) st->shutdown = 1;
        track_request(st, dir, m, method, body, len);
        break;
    case LI_K_NOTIFICATION:
        method_of(m, method);
        on_notification(st, dir, m, method, body);
        break;
    case LI_K_RESPONSE:
        on_reply(st, dir, m, body, len);
        break;
    default:
        break;
    }
    return st->untrackable ? -ENOTRECOVERABLE : 0;
}

void li_state_on_msg(void *ud, enum li_dir dir, const struct li_msg *m, const char *body,
                     size_t len, int64_t latency_us)
{
    (void)latency_us;
    (void)li_state_feed(ud, dir, m, body, len); /* li_state_info tells, when asked */
}

/* ---- queries ------------------------------------------------------------- */

void li_state_info(const struct li_state *st, struct li_state_info *o)
{
    memset(o, 0, sizeof *o);
    o->untrackable = st->untrackable;
    o->reason = st->reason;
    o->have_initialize = st->init_params != NULL;
    o->initialized = st->initialized;
    o->shutdown = st->shutdown;
    o->enc = st->enc;
    o->documents = st->ndocs;
    o->inflight = st->req[LI_C2S].n;
    o->pending_s2c = st->req[LI_S2C].n;
    o->bytes = st->bytes;
    o->max_bytes = st->max_bytes;
    o->out_of_order = st->out_of_order;
    o->unknown_docs = st->unknown_docs;
    o->reopened = st->reopened;
}

int li_state_doc(const struct li_state *st, const char *uri, struct li_state_doc *out)
{
    struct doc *d = find_doc(st, uri, strlen(uri));
    if (!d) return -ENOENT;
    out->uri = d->uri;
    out->language = d->lang;
    out->version = d->version;
    out->text = d->text.p;
    out->len = d->text.len;
    return 0;
}

int li_state_check(const struct li_state *st)
{
    size_t ndocs = 0;
    size_t n = st->init_len + st->config_len + st->folders_bytes + st->answers_bytes;
    for (const struct doc *d = st->docs; d; d = d->next) {
        n += doc_charge(d);
        if (li_edit_check(&d->text) < 0) return -1;
        if (find_doc(st, d->uri, d->uri_len) != d || d->link.key != d->uri) return -1;
        ndocs++;
    }
    for (int i = 0; i < 2; i++)
        for (const struct req *r = st->req[i].head; r; r = r->next)
            n += r->charged;
    if (n != st->bytes || st->bytes > st->max_bytes || ndocs != st->ndocs) return -1;
    return 0;
}

/* ---- replay -------------------------------------------------------------- */

static int push(struct li_state_replay *r, char *body, size_t len)
{
    if (!body) return -ENOMEM;
    char **b = realloc(r->bodies, (r->n + 1) * sizeof *b);
    if (b) r->bodies = b;
    size_t *l = b ? realloc(r->lens, (r->n + 1) * sizeof *l) : NULL;
    if (l) r->lens = l;
    if (!b || !l) {
        free(body);
        return -ENOMEM;
    }
    r->bodies[r->n] = body;
    r->lens[r->n++] = len;
    return 0;
}

/* s[0..n) as a JSON string: quotes, backslashes and control characters
 * escaped (as jansson writes them), everything else as it is. */
static void sb_json_string(struct li_buf *b, const char *s, size_t n)
{
    static const char shorts[] = "btn\0fr"; /* \b \t \n, (\v), \f \r */
    size_t run = 0;
    li_buf_put(b, "\"", 1);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c != '"' && c != '\\') continue;
        li_buf_put(b, s + run, i - run);
        run = i + 1;
        char esc[8];
        if (c == '"' || c == '\\')
            snprintf(esc, sizeof esc, "\\%c", c);
        else if (c >= '\b' && c <= '\r' && c != '\v')
            snprintf(esc, sizeof esc, "\\%c", shorts[c - '\b']);
        else
            snprintf(esc, sizeof esc, "\\u%04X", c);
        li_buf_str(b, esc);
    }
    li_buf_put(b, s + run, n - run);
    li_buf_put(b, "\"", 1);
}

static int push_sb(struct li_state_replay *r, struct li_buf *b)
{
    if (b->oom || !b->p) {
        free(b->p);
        return -ENOMEM;
    }
    return push(r, b->p, b->len);
}

/* Folders of a[0..na) whose URI is not in b[0..nb), as a JSON array. */
static void sb_folders_minus(struct li_buf *sb, const struct li_state_folder *a, size_t na,
                             const struct li_state_folder *b, size_t nb)
{
    int first = 1;
    li_buf_str(sb, "[");
    for (size_t i = 0; i < na; i++) {
        if (folder_index(b, nb, a[i].uri) >= 0) continue;
        li_buf_str(sb, first ? "{\"uri\":" : ",{\"uri\":");
        sb_json_string(sb, a[i].uri, strlen(a[i].uri));
        li_buf_str(sb, ",\"name\":");
        sb_json_string(sb, a[i].name, strlen(a[i].name));
        li_buf_str(sb, "}");
        first = 0;
    }
    li_buf_str(sb, "]");
}

static int replay_folders(struct li_state_replay *r, const struct li_state *st)
{
    int same = st->nfolders == st->ninit_folders;
    for (size_t i = 0; same && i < st->nfolders; i++)
        same = folder_index(st->init_folders, st->ninit_folders, st->folders[i].uri) >= 0;
    if (same) return 0;
    struct li_buf b = {0};
    li_buf_str(&b, "{\"jsonrpc\":\"2.0\",\"method\":\"workspace/didChangeWorkspaceFolders\","
                   "\"params\":{\"event\":{\"added\":");
    sb_folders_minus(&b, st->folders, st->nfolders, st->init_folders, st->ninit_folders);
    li_buf_str(&b, ",\"removed\":");
    sb_folders_minus(&b, st->init_folders, st->ninit_folders, st->folders, st->nfolders);
    li_buf_str(&b, "}}}");
    return push_sb(r, &b);
}

static int replay_open(struct li_state_replay *r, const struct doc *d)
{
    struct li_buf b = {0};
    char version[32];
    snprintf(version, sizeof version, "%lld", (long long)d->version);
    li_buf_str(&b, "{\"jsonrpc\":\"2.0\",\"method\":\"textDocument/didOpen\",\"params\":{"
                   "\"textDocument\":{\"uri\":");
    sb_json_string(&b, d->uri, d->uri_len);
    li_buf_str(&b, ",\"languageId\":");
    sb_json_string(&b, d->lang, strlen(d->lang));
    li_buf_str(&b, ",\"version\":");
    li_buf_str(&b, version);
    li_buf_str(&b, ",\"text\":");
    sb_json_string(&b, d->text.p, d->text.len);
    li_buf_str(&b, "}}}");
    return push_sb(r, &b);
}

static int replay_requests(struct li_state_replay *r, const struct li_state *st)
{
    const struct reqlist *c = &st->req[LI_C2S], *s = &st->req[LI_S2C];
    if (c->n && !(r->inflight = calloc(c->n, sizeof *r->inflight))) return -ENOMEM;
    for (const struct req *q = c->head; q; q = q->next) {
        struct li_state_req *o = &r->inflight[r->n_inflight++];
        memcpy(o->method, q->method, sizeof o->method);
        o->safe = q->safe;
        o->cancelled = q->cancelled;
        o->len = q->len;
        o->id = strdup(q->id);
        o->body = q->body ? memdup0(q->body, q->len) : NULL;
        if (!o->id || (q->body && !o->body)) return -ENOMEM;
    }
    if (s->n && !(r->s2c_ids = calloc(s->n, sizeof *r->s2c_ids))) return -ENOMEM;
    for (const struct req *q = s->head; q; q = q->next)
        if (!(r->s2c_ids[r->n_s2c++] = strdup(q->id))) return -ENOMEM;
    return 0;
}

int li_state_replay(const struct li_state *st, const char *init_id, struct li_state_replay *out)
{
    memset(out, 0, sizeof *out);
    if (st->untrackable || !st->init_params) return -ENOTRECOVERABLE;
    struct li_json_result jr;
    size_t idlen = init_id ? strlen(init_id) : 0;
    if (!init_id || li_json_scan(init_id, idlen, 0, NULL, NULL, &jr) != 0 ||
        (jr.top != LI_J_NUMBER && jr.top != LI_J_STRING))
        return -EINVAL;
    struct li_buf b = {0};
    li_buf_str(&b, "{\"jsonrpc\":\"2.0\",\"id\":");
    li_buf_put(&b, init_id, idlen);
    li_buf_str(&b, ",\"method\":\"initialize\",\"params\":");
    li_buf_put(&b, st->init_params, st->init_len);
    li_buf_str(&b, "}");
    int rc = push_sb(out, &b);
    if (rc == 0 && st->initialized) {
        struct li_buf i = {0};
        li_buf_str(&i, "{\"jsonrpc\":\"2.0\",\"method\":\"initialized\",\"params\":{}}");
        rc = push_sb(out, &i);
    }
    if (rc == 0) rc = replay_folders(out, st);
    if (rc == 0 && st->config) {
        struct li_buf c = {0};
        li_buf_str(&c, "{\"jsonrpc\":\"2.0\",\"method\":\"workspace/didChangeConfiguration\","
                       "\"params\":");
        li_buf_put(&c, st->config, st->config_len);
        li_buf_str(&c, "}");
        rc = push_sb(out, &c);
    }
    for (const struct doc *d = st->docs; d && rc == 0; d = d->next)
        rc = replay_open(out, d);
    if (rc == 0) rc = replay_requests(out, st);
    if (rc != 0) li_state_replay_free(out);
    return rc;
}

void li_state_replay_free(struct li_state_replay *r)
{
    for (size_t i = 0; i < r->n; i++)
        free(r->bodies[i]);
    for (size_t i = 0; i < r->n_inflight; i++) {
        free(r->inflight[i].id);
        free(r->inflight[i].body);
    }
    for (size_t i = 0; i < r->n_s2c; i++)
        free(r->s2c_ids[i]);
    free(r->bodies);
    free(r->lens);
    free(r->inflight);
    free(r->s2c_ids);
    memset(r, 0, sizeof *r);
}
