#include "env/lp_config.h"

#include <assert.h>
#include <errno.h>
#include <jansson.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *lp_record_name(enum li_record r)
{
    switch (r) {
    case LI_REC_FULL:
        return "full";
    case LI_REC_META:
        return "meta";
    case LI_REC_OFF:
        return "off";
    }
    return "?";
}

static void warnf(char *warn, size_t cap, const char *fmt, ...)
{
    size_t used = strlen(warn);
    if (used + 2 >= cap) return;
    if (used) warn[used++] = ' ';
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(warn + used, cap - used, fmt, ap);
    va_end(ap);
}

/* By lp_record_name, the one list of the levels' names (its switch makes
 * -Wswitch fail the build when a level has no name). */
static int parse_record(const char *s, enum li_record *out)
{
    for (enum li_record r = LI_REC_FULL; r <= LI_REC_OFF; r++) {
        if (!strcmp(s, lp_record_name(r))) {
            *out = r;
            return 0;
        }
    }
    return -1;
}

static int parse_onoff(const char *s, int *out)
{
    if (!strcmp(s, "on"))
        *out = 1;
    else if (!strcmp(s, "off"))
        *out = 0;
    else
        return -1;
    return 0;
}

static int parse_u64(const char *s, uint64_t *out)
{
    if (*s < '0' || *s > '9') return -1;
    errno = 0;
    char *end;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || *end) return -1;
    *out = v;
    return 0;
}

/* The numeric settings, in their units (MB, KB, ms), with the range each
 * accepts: a value outside it is refused with a warning naming the value and
 * the range, and the default (or the file's value) is kept. */
struct num_setting {
    const char *env, *key;
    uint64_t scale, min, max;
    size_t off; /* of the uint64_t (or size_t, for the marks) in struct lp_config */
    int is_size;
};

#define HOUR_MS 3600000
static const struct num_setting nums[] = {
    {"LSPTAP_MAX_TOTAL_MB", "max_total_mb", 1 << 20, 1, 1 << 20,
     offsetof(struct lp_config, max_total), 0},
    {"LSPTAP_LOG_BUFFER_KB", "log_buffer_kb", 1 << 10, 64, 1 << 20,
     offsetof(struct lp_config, log_buffer), 0},
    {"LSPTAP_MAX_INSPECT_MB", "max_inspect_mb", 1 << 20, 1, 4096,
     offsetof(struct lp_config, max_inspect), 0},
    {"LSPTAP_GRACE_MS", "grace_ms", 1, 0, HOUR_MS, offsetof(struct lp_config, grace_ms), 0},
    {"LSPTAP_KILL_MS", "kill_ms", 1, 0, HOUR_MS, offsetof(struct lp_config, kill_ms), 0},
    {"LSPTAP_DLV_START_MS", "dlv_start_ms", 1, 1, HOUR_MS, offsetof(struct lp_config, dlv_start_ms),
     0},
    {"LSPTAP_HANDSHAKE_MS", "handshake_ms", 1, 0, HOUR_MS, offsetof(struct lp_config, handshake_ms),
     0},
    {"LSPTAP_INIT_TIMEOUT_MS", "init_timeout_ms", 1, 1, HOUR_MS,
     offsetof(struct lp_config, init_timeout_ms), 0},
    {"LSPTAP_HIGH_KB", "high_kb", 1 << 10, 1, 1 << 20, offsetof(struct lp_config, high_mark), 1},
    {"LSPTAP_LOW_KB", "low_kb", 1 << 10, 0, (1 << 20) - 1, offsetof(struct lp_config, low_mark), 1},
    {"LSPTAP_NET_RECHECK_S", "net_recheck_s", 1, 0, 7 * 24 * 3600,
     offsetof(struct lp_config, net_recheck_s), 0},
    {"LSPTAP_KEEPALIVE_MAX_MB", "keepalive_max_mb", 1 << 20, 1, 4096,
     offsetof(struct lp_config, keepalive_max), 0},
    {"LSPTAP_RESTART_MAX", "restart_max", 1, 0, 1000, offsetof(struct lp_config, restart_max), 0},
    {"LSPTAP_RESTART_WINDOW_S", "restart_window_s", 1, 1, 24 * 3600,
     offsetof(struct lp_config, restart_window_s), 0},
    {"LSPTAP_RECONNECT_MS", "reconnect_ms", 1, 0, HOUR_MS, offsetof(struct lp_config, reconnect_ms),
     0},
};

static uint64_t num_get(const struct lp_config *c, const struct num_setting *n)
{
    const char *p = (const char *)c + n->off;
    if (n->is_size) return *(const size_t *)(const void *)p;
    return *(const uint64_t *)(const void *)p;
}

static void num_set(struct lp_config *c, const struct num_setting *n, uint64_t v)
{
    char *p = (char *)c + n->off;
    if (n->is_size)
        *(size_t *)(void *)p = (size_t)v;
    else
        *(uint64_t *)(void *)p = v;
}

/* One numeric setting from the environment, over the file's value. */
static void env_num(struct lp_config *c, const struct num_setting *n, char *warn, size_t wcap)
{
    const char *v = getenv(n->env);
    uint64_t x;
    if (!v || !*v) return;
    unsigned long long keep = (unsigned long long)(num_get(c, n) / n->scale);
    if (parse_u64(v, &x))
        warnf(warn, wcap, "%s=%s is not a whole number; using %llu.", n->env, v, keep);
    else if (x < n->min || x > n->max)
        warnf(warn, wcap, "%s=%s is out of range (allowed %llu to %llu); using %llu.", n->env, v,
              (unsigned long long)n->min, (unsigned long long)n->max, keep);
    else
        num_set(c, n, x * n->scale);
}

static void json_num(struct lp_config *c, json_t *root, const struct num_setting *n, char *warn,
                     size_t wcap)
{
    json_t *v = json_object_get(root, n->key);
    if (!v) return;
    if (!json_is_integer(v) || json_integer_value(v) < 0)
        warnf(warn, wcap, "%s: \"%s\" must be a non-negative integer; ignored.", c->config_path,
              n->key);
    else if ((uint64_t)json_integer_value(v) < n->min || (uint64_t)json_integer_value(v) > n->max)
        warnf(warn, wcap, "%s: \"%s\" is %lld, out of range (allowed %llu to %llu); ignored.",
              c->config_path, n->key, (long long)json_integer_value(v), (unsigned long long)n->min,
              (unsigned long long)n->max);
    else
        num_set(c, n, (uint64_t)json_integer_value(v) * n->scale);
}

/* The marks are checked together, once both sources are applied: reading
 * resumes when the queue is at or below the low mark, so it must be below
 * the high one or a paused side could never resume. */
static void check_marks(struct lp_config *c, char *warn, size_t wcap)
{
    if (c->low_mark < c->high_mark) return;
    warnf(warn, wcap,
          "the low mark (LSPTAP_LOW_KB / low_kb, %llu KiB) must be below the high mark "
          "(LSPTAP_HIGH_KB / high_kb, %llu KiB); using 256 and 1024.",
          (unsigned long long)(c->low_mark >> 10), (unsigned long long)(c->high_mark >> 10));
    c->high_mark = 1 << 20;
    c->low_mark = 256 << 10;
    assert(c->low_mark < c->high_mark);
}

static void json_str(json_t *root, const char *key, char *dst, size_t cap, const char *path,
                     char *warn, size_t wcap)
{
    json_t *v = json_object_get(root, key);
    if (!v) return;
    if (!json_is_string(v) || json_string_length(v) >= cap)
        warnf(warn, wcap, "%s: \"%s\" must be a string (a path); ignored.", path, key);
    else
        memcpy(dst, json_string_value(v), json_string_length(v) + 1);
}

static void env_str(const char *name, char *dst, size_t cap, char *warn, size_t wcap)
{
    const char *v = getenv(name);
    if (!v || !*v) return;
    if (strlen(v) >= cap) {
        warnf(warn, wcap, "%s is %zu bytes long, over the %zu allowed; ignored.", name, strlen(v),
              cap - 1);
        return;
    }
    memcpy(dst, v, strlen(v) + 1);
}

static const char *const known_keys[] = {
    "gopls",
    "dlv",
    "dir",
    "record",
    "max_total_mb",
    "log_buffer_kb",
    "max_inspect_mb",
    "grace_ms",
    "kill_ms",
    "dlv_start_ms",
    "high_kb",
    "low_kb",
    "repair",
    "handshake_ms",
    "init_timeout_ms",
    "fail_patterns",
    "dlv_allow_remote",
    "net_watch",
    "net_show",
    "net_recheck_s",
    "keepalive",
    "keepalive_max_mb",
    "restart_max",
    "restart_window_s",
    "reconnect_ms",
    NULL,
};

static void json_onoff(json_t *root, const char *key, int *dst, const char *path, char *warn,
                       size_t wcap)
{
    json_t *v = json_object_get(root, key);
    if (v && (!json_is_string(v) || parse_onoff(json_string_value(v), dst)))
        warnf(warn, wcap, "%s: \"%s\" must be \"on\" or \"off\"; using %s.", path, key,
              *dst ? "on" : "off");
}

static void env_onoff(const char *name, int *dst, char *warn, size_t wcap)
{
    const char *v = getenv(name);
    if (v && *v && parse_onoff(v, dst))
        warnf(warn, wcap, "%s=%s is not on or off; using %s.", name, v, *dst ? "on" : "off");
}

/* Applies a parsed file (root NULL: it did not parse, jerr says why). */
static void apply_file(struct lp_config *c, json_t *root, const json_error_t *jerr, char *warn,
                       size_t wcap)
{
    if (!root || !json_is_object(root)) {
        warnf(warn, wcap, "%s:%d:%d: %s; the file is ignored.", c->config_path, jerr->line,
              jerr->column, root ? "not a JSON object" : jerr->text);
        json_decref(root);
        return;
    }
    c->config_found = 1;
    const char *key;
    json_t *val;
    json_object_foreach(root, key, val)
    {
        int known = 0;
        for (const char *const *k = known_keys; *k; k++)
            known |= !strcmp(*k, key);
        if (!known) warnf(warn, wcap, "%s: unknown setting \"%s\" ignored.", c->config_path, key);
    }
    json_str(root, "gopls", c->gopls, sizeof c->gopls, c->config_path, warn, wcap);
    json_str(root, "dlv", c->dlv, sizeof c->dlv, c->config_path, warn, wcap);
    json_str(root, "dir", c->dir, sizeof c->dir, c->config_path, warn, wcap);
    json_t *rec = json_object_get(root, "record");
    if (rec && (!json_is_string(rec) || parse_record(json_string_value(rec), &c->record)))
        warnf(warn, wcap, "%s: \"record\" must be \"full\", \"meta\" or \"off\"; using %s.",
              c->config_path, lp_record_name(c->record));
    for (size_t i = 0; i < sizeof nums / sizeof nums[0]; i++)
        json_num(c, root, &nums[i], warn, wcap);
    json_str(root, "fail_patterns", c->fail_patterns, sizeof c->fail_patterns, c->config_path, warn,
             wcap);
    json_t *dar = json_object_get(root, "dlv_allow_remote");
    if (dar && (!json_is_string(dar) || parse_onoff(json_string_value(dar), &c->dlv_allow_remote)))
        warnf(warn, wcap, "%s: \"dlv_allow_remote\" must be \"on\" or \"off\"; using %s.",
              c->config_path, c->dlv_allow_remote ? "on" : "off");
    json_t *rep = json_object_get(root, "repair");
    if (rep && (!json_is_string(rep) || parse_onoff(json_string_value(rep), &c->repair)))
        warnf(warn, wcap, "%s: \"repair\" must be \"on\" or \"off\"; using %s.", c->config_path,
              c->repair ? "on" : "off");
    json_onoff(root, "net_watch", &c->net_watch, c->config_path, warn, wcap);
    json_onoff(root, "net_show", &c->net_show, c->config_path, warn, wcap);
    json_onoff(root, "keepalive", &c->keepalive, c->config_path, warn, wcap);
    json_decref(root);
}

static void load_file(struct lp_config *c, char *warn, size_t wcap)
{
    json_error_t jerr;
    FILE *f = fopen(c->config_path, "r");
    if (!f) {
        if (errno != ENOENT)
            warnf(warn, wcap, "cannot read %s: %s; using defaults.", c->config_path,
                  strerror(errno));
        return;
    }
    json_t *root = json_loadf(f, 0, &jerr);
    fclose(f);
    apply_file(c, root, &jerr, warn, wcap);
}

void lp_config_parse(struct lp_config *c, const char *buf, size_t len, char *warn, size_t wcap)
{
    json_error_t jerr;
    apply_file(c, json_loadb(buf, len, 0, &jerr), &jerr, warn, wcap);
    check_marks(c, warn, wcap);
}

/* An XDG base directory's lsptap path: under $XDG_VAR when that is absolute
 * (the spec says a relative one is to be ignored), else under $HOME's
 * default for it (`no_home` standing in for an unset or empty HOME). */
static void xdg_path(char *dst, size_t cap, const char *xdg_var, const char *home_default,
                     const char *no_home, const char *leaf)
{
    const char *base = getenv(xdg_var);
    const char *home = getenv("HOME");
    if (base && *base == '/')
        snprintf(dst, cap, "%s/lsptap/%s", base, leaf);
    else
        snprintf(dst, cap, "%s/%s/lsptap/%s", home && *home ? home : no_home, home_default, leaf);
}

void lp_config_load(struct lp_config *c, char *warn, size_t wcap)
{
    memset(c, 0, sizeof *c);
    if (wcap) warn[0] = '\0';
    c->record = LI_REC_FULL;
    c->max_total = (uint64_t)256 << 20;
    c->log_buffer = (uint64_t)4 << 20;
    c->max_inspect = LI_DEFAULT_MAX_INSPECT;
    c->grace_ms = 5000;
    c->kill_ms = 2000;
    c->dlv_start_ms = 20000; /* under vscode-go's 30 s, so the editor hears why */
    c->repair = 1;
    c->handshake_ms = 10000;
    c->init_timeout_ms = 60000;
    snprintf(c->fail_patterns, sizeof c->fail_patterns, "%s",
             "Error loading workspace|failed to load view|error loading module|go: |GOROOT|"
             "GOPATH|GOFLAGS|GOPROXY");
    c->net_watch = 1;
    c->net_show = 1;
    c->net_recheck_s = 600;
    c->keepalive = 1;
    c->keepalive_max = (uint64_t)64 << 20;
    c->restart_max = 5;
    c->restart_window_s = 300;
    c->reconnect_ms = 30000;
    c->high_mark = 1 << 20;
    c->low_mark = 256 << 10;
    xdg_path(c->dir, sizeof c->dir, "XDG_STATE_HOME", ".local/state", "/tmp", "sessions");
    xdg_path(c->config_path, sizeof c->config_path, "XDG_CONFIG_HOME", ".config", "/nonexistent",
             "config.json");
    load_file(c, warn, wcap);

    env_str("LSPTAP_GOPLS", c->gopls, sizeof c->gopls, warn, wcap);
    env_str("LSPTAP_DLV", c->dlv, sizeof c->dlv, warn, wcap);
    env_str("LSPTAP_DIR", c->dir, sizeof c->dir, warn, wcap);
    const char *rec = getenv("LSPTAP_RECORD");
    if (rec && *rec && parse_record(rec, &c->record))
        warnf(warn, wcap, "LSPTAP_RECORD=%s is not full, meta or off; using %s.", rec,
              lp_record_name(c->record));
    for (size_t i = 0; i < sizeof nums / sizeof nums[0]; i++)
        env_num(c, &nums[i], warn, wcap);
    env_str("LSPTAP_FAIL_PATTERNS", c->fail_patterns, sizeof c->fail_patterns, warn, wcap);
    const char *dar = getenv("LSPTAP_DLV_ALLOW_REMOTE");
    if (dar && *dar && parse_onoff(dar, &c->dlv_allow_remote))
        warnf(warn, wcap, "LSPTAP_DLV_ALLOW_REMOTE=%s is not on or off; using %s.", dar,
              c->dlv_allow_remote ? "on" : "off");
    const char *rp = getenv("LSPTAP_REPAIR");
    if (rp && *rp && parse_onoff(rp, &c->repair))
        warnf(warn, wcap, "LSPTAP_REPAIR=%s is not on or off; using %s.", rp,
              c->repair ? "on" : "off");
    env_onoff("LSPTAP_NET_WATCH", &c->net_watch, warn, wcap);
    env_onoff("LSPTAP_NET_SHOW", &c->net_show, warn, wcap);
    env_onoff("LSPTAP_KEEPALIVE", &c->keepalive, warn, wcap);
    check_marks(c, warn, wcap);
}
