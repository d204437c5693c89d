#include "inspect/li_tail.h"

#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "inspect/li_buf.h"
#include "inspect/li_escape.h"
#include "inspect/li_proc.h"
#include "inspect/li_reader.h"
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

/* The blanks that make the escaped text s fill w columns. */
static int pad_to(const char *s, int w)
{
    int n = (int)li_escape_width(s, strlen(s), 0);
    return n < w ? w - n : 0;
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
    char k[32], id[64] = "", lat[32] = "", size[32], id_shown[300] = "";
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
    /* Escaped before padding, and padded by the columns the escaped text
     * takes (not its bytes), so that the columns hold for any name. */
    char shown[600];
    li_escape(nm, strlen(nm), 0, shown, sizeof shown);
    li_escape(id, strlen(id), 0, id_shown, sizeof id_shown);
    snprintf(out, cap, "+%-9s %s  %-13s %s%*s %s%*s %9s %10s", t, s2c ? "s->c" : "c->s", k, shown,
             pad_to(shown, 34), "", id_shown, pad_to(id_shown, 12), "", lat, size);
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

/* A process's start (clock ticks since boot, from /proc/PID/stat) as wall
 * clock seconds; -1 when /proc cannot tell. */
static long long boot_seconds(unsigned long long starttime)
{
    /* The boot time does not change: read once, not at every check while
     * tail -f follows. */
    static long long btime = -1;
    if (btime < 0) {
        FILE *f = fopen("/proc/stat", "r");
        if (!f) return -1;
        char line[256];
        while (fgets(line, sizeof line, f))
            if (sscanf(line, "btime %lld", &btime) == 1) break;
        fclose(f);
    }
    long hz = sysconf(_SC_CLK_TCK);
    if (btime < 0 || hz <= 0) return -1;
    return btime + (long long)(starttime / (unsigned long long)hz);
}

int li_tail_writer_alive(long pid, long long session_start)
{
    if (pid <= 0) return 1; /* nothing to go by */
    if (kill((pid_t)pid, 0) != 0 && errno == ESRCH) return 0;
    struct li_proc_stat st;
    /* /proc cannot tell (not mounted, hidepid, ...): kill() found the pid,
     * or EPERM said it exists; one that was reaped meanwhile is ESRCH at
     * the next check. */
    if (li_proc_stat(pid, &st)) return 1;
    /* A zombie writes nothing more: kill() succeeds on it, /proc says 'Z'. */
    if (st.state == 'Z' || st.state == 'X') return 0;
    long long started = boot_seconds(st.starttime);
    /* A process that started after the session cannot be its writer: the
     * pid was reused. 2 s of slack for the clock's and /proc's rounding. */
    return started < 0 || session_start < 0 || started <= session_start + 2;
}

static long long parse_start(json_t *header)
{
    const char *s = json_string_value(json_object_get(header, "start"));
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    if (!s || !strptime(s, "%Y-%m-%dT%H:%M:%S", &tm)) return -1;
    return (long long)timegm(&tm);
}

int li_tail_file(const char *path, const struct li_tail_filter *f, int follow,
                 volatile sig_atomic_t *stop, int (*give_up)(void *ud), void *ud, FILE *out,
                 char *err, size_t errlen)
{
    FILE *in = li_open_regular(path, err, errlen);
    if (!in) return 2;
    char *line = NULL;
    struct li_buf part = {0}; /* a line read in pieces (follow mode) */
    size_t cap = 0, lineno = 0;
    int done = 0, skipping = 0, rc = 0, gone_checked = 0;
    long pid = 0;
    long long start = -1;
    char text[2048];
    struct li_secrets *secrets = li_secrets_new(environ); /* NULL: lines withheld */
    while (!done && !(stop && *stop)) {
        errno = 0;
        int nomem;
        long long n = li_read_line(in, &line, &cap, LI_READER_LINE_MAX, &nomem);
        if (n < 0) {
            snprintf(err, errlen, "cannot read %s: %s", path, strerror(errno ? errno : EIO));
            rc = 2;
            break;
        }
        if (n == 0) {
            if (!follow || (give_up && give_up(ud))) break;
            /* The writer is gone (SIGKILL, a crash): no summary will come.
             * One more read after noticing catches its last lines. */
            if (!li_tail_writer_alive(pid, start)) {
                if (gone_checked) {
                    snprintf(err, errlen,
                             "%s: the lsptap that wrote it (pid %ld) is gone and the session has "
                             "no summary line: it was killed or crashed; stopped following",
                             path, pid);
                    rc = 1;
                    break;
                }
                gone_checked = 1;
            }
            clearerr(in); /* more may come: lsptap is still writing */
            if (!gone_checked) nap();
            continue;
        }
        gone_checked = 0;
        /* Did the line end in its newline? Past the cap the buffer holds only
         * its start: then it did unless the read stopped at the end of file. */
        if (nomem) n = (long long)LI_READER_LINE_MAX + 1; /* not kept whole: skip it */
        int nl = (unsigned long long)n <= LI_READER_LINE_MAX ? line[n - 1] == '\n' : !feof(in);
        if (skipping || (unsigned long long)n > LI_READER_LINE_MAX ||
            part.len + (size_t)n > LI_READER_LINE_MAX) {
            /* Longer than any session line: skipped to its newline. */
            if (!skipping) {
                fputs("lsptap tail: ", stderr);
                li_escape_write(path, strlen(path), 0, stderr);
                fprintf(stderr, ":%zu: a line longer than %zu bytes; skipped\n", lineno + 1,
                        LI_READER_LINE_MAX);
            }
            li_buf_reset(&part);
            skipping = !nl;
            if (nl) lineno++;
            continue;
        }
        /* A line without its newline yet: keep it until the rest arrives. */
        if (li_buf_reserve(&part, (size_t)n)) break;
        li_buf_put(&part, line, (size_t)n);
        if (part.p[part.len - 1] != '\n' && follow) continue;
        lineno++;
        json_t *v = json_loadb(part.p, part.len, JSON_ALLOW_NUL, NULL);
        li_buf_reset(&part);
        if (!json_is_object(v)) {
            json_decref(v);
            continue;
        }
        if (json_object_get(v, "lsptap")) {
            pid = (long)json_integer_value(json_object_get(v, "pid"));
            start = parse_start(v);
        }
        /* The recorded strings redacted before the line is laid out: a name
         * padded first and redacted after would shift the columns by the
         * difference between the secret and REDACTED. The line is redacted
         * again as a whole (what event_text composes from several members). */
        li_redact_json_with(v, secrets);
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
    li_buf_free(&part);
    fclose(in);
    li_secrets_free(secrets);
    return rc;
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
