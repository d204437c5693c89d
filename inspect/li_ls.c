#include "inspect/li_ls.h"

#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "inspect/li_buf.h"
#include "inspect/li_escape.h"
#include "inspect/li_redact.h"
#include "inspect/li_stats.h"

static int is_session_name(const char *n)
{
    size_t len = strlen(n);
    return n[0] != '.' && len > 6 && strcmp(n + len - 6, ".jsonl") == 0;
}

static int cmp_brief(const void *a, const void *b)
{
    json_t *x = *(json_t *const *)a, *y = *(json_t *const *)b;
    const char *sx = json_string_value(json_object_get(x, "start"));
    const char *sy = json_string_value(json_object_get(y, "start"));
    int c = strcmp(sx ? sx : "", sy ? sy : "");
    if (c) return c;
    return strcmp(json_string_value(json_object_get(x, "session")),
                  json_string_value(json_object_get(y, "session")));
}

json_t *li_ls(const char *dir, FILE *warn, char *err, size_t errlen)
{
    DIR *d = opendir(dir);
    if (!d) {
        snprintf(err, errlen, "cannot open %s: %s", dir, strerror(errno));
        return NULL;
    }
    json_t **v = NULL;
    size_t n = 0, cap = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (!is_session_name(e->d_name)) continue;
        char path[4352], why[1024];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        struct li_stats *st;
        if (li_stats_load(path, &st, NULL, why, sizeof why) != 0) {
            if (warn) {
                /* why quotes a file name from the directory: escaped. */
                fputs("lsptap ls: ", warn);
                li_escape_write(why, strlen(why), 0, warn);
                fputs("; left out\n", warn);
            }
            continue;
        }
        json_t **nv = li_grow(v, &cap, n + 1, sizeof *v);
        if (!nv) abort();
        v = nv;
        v[n++] = li_stats_brief(st);
        li_stats_free(st);
    }
    closedir(d);
    if (n > 1) qsort(v, n, sizeof *v, cmp_brief);
    json_t *list = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(list, v[i]);
    free(v);
    return list;
}

static void fmt_us(char *out, size_t cap, long long us)
{
    if (us < 1000)
        snprintf(out, cap, "%lldus", us);
    else if (us < 1000000)
        snprintf(out, cap, "%.1fms", (double)us / 1e3);
    else if (us < 3600000000LL)
        snprintf(out, cap, "%.2fs", (double)us / 1e6);
    else
        snprintf(out, cap, "%lldh%02lldm", us / 3600000000LL, us / 60000000LL % 60);
}

/* "gopls serve -rpc.trace", the program's base name and its arguments,
 * cut to fit the column. */
static void server_of(char *out, size_t cap, json_t *argv)
{
    size_t len = 0;
    out[0] = '\0';
    for (size_t i = 0; i < json_array_size(argv) && len + 1 < cap; i++) {
        const char *a = json_string_value(json_array_get(argv, i));
        if (!a) continue;
        if (i == 0 && strrchr(a, '/')) a = strrchr(a, '/') + 1;
        int w = snprintf(out + len, cap - len, "%s%s", i ? " " : "", a);
        if (w < 0) break;
        len += (size_t)w < cap - len ? (size_t)w : cap - len - 1;
    }
    if (len + 1 >= cap && cap > 4) memcpy(out + cap - 4, "...", 4);
}

static void print_list(const void *ud, FILE *out)
{
    json_t *list = (json_t *)ud;
    fprintf(out, "%-24s %9s %-5s %-24s %8s %-13s %s\n", "START", "DURATION", "PROTO", "SERVER",
            "MESSAGES", "ENDED", "FILE");
    size_t i;
    json_t *b;
    json_array_foreach(list, i, b)
    {
        char dur[32], server[25];
        fmt_us(dur, sizeof dur, (long long)json_integer_value(json_object_get(b, "duration_us")));
        server_of(server, sizeof server, json_object_get(b, "argv"));
        const char *start = json_string_value(json_object_get(b, "start"));
        const char *file = json_string_value(json_object_get(b, "session"));
        const char *slash = strrchr(file, '/');
        fprintf(out, "%-24s %9s %-5s %-24s %8lld %-13s %s\n", start ? start : "-", dur,
                json_string_value(json_object_get(b, "protocol")), server[0] ? server : "-",
                (long long)json_integer_value(json_object_get(b, "messages")),
                json_string_value(json_object_get(b, "ended")), slash ? slash + 1 : file);
    }
}

/* The server's argv and how each session ended are recorded words:
 * redacted and escaped. */
void li_ls_print(json_t *list, FILE *out)
{
    li_redact_printed(print_list, list, environ, out);
}
