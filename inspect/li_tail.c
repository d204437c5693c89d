#include "inspect/li_tail.h"

#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "inspect/li_escape.h"
#include "inspect/li_redact.h"

static void fmt_us(char *out, size_t cap, long long us)
{
    if (us < 0)
        snprintf(out, cap, "-");
    else if (us < 1000)
        snprintf(out, cap, "%lldus", us);
    else if (us < 1000000)
        snprintf(out, cap, "%.1fms", (double)us / 1e3);
    else
        snprintf(out, cap, "%.2fs", (double)us / 1e6);
}

static void fmt_bytes(char *out, size_t cap, long long b)
{
    if (b < 1024)
        snprintf(out, cap, "%lld B", b);
    else if (b < 1024 * 1024)
        snprintf(out, cap, "%.1f KiB", (double)b / 1024);
    else
        snprintf(out, cap, "%.1f MiB", (double)b / (1024 * 1024));
}

static const char *str(json_t *o, const char *k)
{
    return json_string_value(json_object_get(o, k));
}

/* What an event line says, in a few words. */
static void event_text(json_t *line, const char *ev, char *out, size_t cap)
{
    if (strcmp(ev, "exit") == 0) {
        json_t *sig = json_object_get(line, "signal");
        if (json_is_integer(sig))
            snprintf(out, cap, "exit killed by signal %lld%s%s%s",
                     (long long)json_integer_value(sig), str(line, "signal_name") ? " (" : "",
                     str(line, "signal_name") ? str(line, "signal_name") : "",
                     str(line, "signal_name") ? ")" : "");
        else
            snprintf(out, cap, "exit status %lld",
                     (long long)json_integer_value(json_object_get(line, "status")));
    } else if (strcmp(ev, "summary") == 0) {
        snprintf(out, cap, "summary: session ended%s%s", str(line, "ending") ? ": " : "",
                 str(line, "ending") ? str(line, "ending") : "");
    } else if (strcmp(ev, "pending") == 0) {
        char *id = json_dumps(json_object_get(line, "id"), JSON_ENCODE_ANY);
        snprintf(out, cap, "pending %s %s id %s", str(line, "stream") ? str(line, "stream") : "",
                 str(line, "method") ? str(line, "method") : "", id ? id : "?");
        free(id);
    } else {
        /* Everything else: the name and its members, compact. */
        json_t *copy = json_deep_copy(line);
        json_object_del(copy, "t_us");
        json_object_del(copy, "event");
        char *rest = json_object_size(copy) ? json_dumps(copy, JSON_COMPACT) : NULL;
        snprintf(out, cap, "%s%s%.400s", ev, rest ? " " : "", rest ? rest : "");
        free(rest);
        json_decref(copy);
    }
}

/* Strings in a session line come from the peers (a method name, an exit
 * reason) and may hold any character: the shared escaping (li_escape) keeps
 * the text on one line and away from the terminal's control. */
static void one_line(char *s, size_t cap)
{
    char *e = li_escape_dup(s, strlen(s), 0);
    if (e) snprintf(s, cap, "%s", e);
    free(e);
}

int li_tail_format(json_t *line, const struct li_tail_filter *f, char *out, size_t cap)
{
    char t[32];
    if (json_object_get(line, "lsptap")) return 0;
    li_escape_nuls(line); /* a NUL in a name is shown, not the name's end */
    fmt_us(t, sizeof t, (long long)json_integer_value(json_object_get(line, "t_us")));
    const char *dir = str(line, "dir");
    const char *ev = str(line, "event");
    if (!dir) {
        if (!ev || (f && f->method)) return 0;
        char text[512];
        event_text(line, ev, text, sizeof text);
        snprintf(out, cap, "+%-9s ----  %-13s %s", t, "event", text);
        one_line(out, cap);
        return 1;
    }
    int s2c = strcmp(dir, "s2c") == 0;
    const char *kind = str(line, "kind");
    const char *name = str(line, "method");
    if (!name) name = str(line, "command");
    if (!name && kind && strcmp(kind, "event") == 0) name = ev;
    if (f && f->dir >= 0 && f->dir != s2c) return 0;
    if (f && f->method && (!name || !strstr(name, f->method))) return 0;
    char k[32], id[64] = "", lat[32] = "", size[32];
    int is_reply = kind && strcmp(kind, "response") == 0;
    snprintf(k, sizeof k, "%s%s",
             is_reply ? "reply"
             : kind   ? kind
                      : "?",
             json_object_get(line, "error") ? " (error)" : "");
    json_t *idv = json_object_get(line, "id");
    if (idv) {
        char *s = json_dumps(idv, JSON_ENCODE_ANY);
        snprintf(id, sizeof id, "id %.58s", s ? s : "?");
        free(s);
    }
    json_t *l = json_object_get(line, "latency_us");
    if (json_is_integer(l))
        fmt_us(lat, sizeof lat, (long long)json_integer_value(l));
    else if (is_reply && json_is_true(json_object_get(line, "unmatched")))
        snprintf(lat, sizeof lat, "unmatched");
    fmt_bytes(size, sizeof size, (long long)json_integer_value(json_object_get(line, "bytes")));
    const char *nm = name ? name : kind && strcmp(kind, "invalid") == 0 ? "(invalid)" : "-";
    char shown[600];
    li_escape(nm, strlen(nm), 0, shown, sizeof shown); /* before padding: the columns hold */
    snprintf(out, cap, "+%-9s %s  %-13s %-34s %-12s %9s %10s", t, s2c ? "s->c" : "c->s", k, shown,
             id, lat, size);
    /* no trailing blanks when the last columns are short */
    size_t n = strlen(out);
    while (n && out[n - 1] == ' ')
        out[--n] = '\0';
    one_line(out, cap);
    return 1;
}

static void nap(void)
{
    struct timespec ts = {0, 200 * 1000 * 1000};
    nanosleep(&ts, NULL);
}

int li_tail_file(const char *path, const struct li_tail_filter *f, int follow,
                 volatile sig_atomic_t *stop, int (*give_up)(void *ud), void *ud, FILE *out,
                 char *err, size_t errlen)
{
    FILE *in = fopen(path, "rb");
    if (!in) {
        snprintf(err, errlen, "cannot open %s: %s", path, strerror(errno));
        return 2;
    }
    char *line = NULL, *part = NULL;
    size_t cap = 0, plen = 0;
    int done = 0;
    char text[2048];
    struct li_secrets *secrets = li_secrets_new(environ); /* NULL: lines withheld */
    while (!done && !(stop && *stop)) {
        errno = 0;
        ssize_t n = getline(&line, &cap, in);
        if (n < 0) {
            if (ferror(in)) {
                snprintf(err, errlen, "cannot read %s: %s", path, strerror(errno ? errno : EIO));
                free(line);
                free(part);
                fclose(in);
                li_secrets_free(secrets);
                return 2;
            }
            if (!follow || (give_up && give_up(ud))) break;
            clearerr(in); /* more may come: lsptap is still writing */
            nap();
            continue;
        }
        /* A line without its newline yet: keep it until the rest arrives. */
        char *p = realloc(part, plen + (size_t)n + 1);
        if (!p) break;
        part = p;
        memcpy(part + plen, line, (size_t)n);
        plen += (size_t)n;
        part[plen] = '\0';
        if (part[plen - 1] != '\n' && follow) continue;
        json_t *v = json_loadb(part, plen, JSON_ALLOW_NUL, NULL);
        plen = 0;
        if (!json_is_object(v)) {
            json_decref(v);
            continue;
        }
        if (li_tail_format(v, f, text, sizeof text)) {
            li_redact_buf_with(text, sizeof text, secrets);
            fprintf(out, "%s\n", text);
            fflush(out);
        }
        const char *ev = json_string_value(json_object_get(v, "event"));
        done = ev && !json_object_get(v, "dir") && strcmp(ev, "summary") == 0;
        json_decref(v);
    }
    free(line);
    free(part);
    fclose(in);
    li_secrets_free(secrets);
    return 0;
}

int li_tail_newest(const char *dir, char *out, size_t cap)
{
    DIR *d = opendir(dir);
    if (!d) return -errno;
    struct timespec best = {0, 0};
    char best_name[256] = "";
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        size_t len = strlen(e->d_name);
        if (e->d_name[0] == '.' || len <= 6 || strcmp(e->d_name + len - 6, ".jsonl") != 0) continue;
        char p[4352];
        struct stat st;
        snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
        if (stat(p, &st) != 0 || !S_ISREG(st.st_mode)) continue;
        struct timespec m = st.st_mtim;
        if (m.tv_sec > best.tv_sec || (m.tv_sec == best.tv_sec && m.tv_nsec > best.tv_nsec) ||
            (m.tv_sec == best.tv_sec && m.tv_nsec == best.tv_nsec &&
             strcmp(e->d_name, best_name) > 0)) {
            best = m;
            snprintf(best_name, sizeof best_name, "%s", e->d_name);
        }
    }
    closedir(d);
    if (!best_name[0]) return 0;
    snprintf(out, cap, "%s/%s", dir, best_name);
    return 1;
}
