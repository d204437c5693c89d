#include "inspect/li_proc.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Field 22 sits some 300 bytes into a line whose command name is at most
 * 64 bytes: 1 KiB always holds it. */
#define STAT_MAX 1024

int li_proc_stat_parse(const char *text, struct li_proc_stat *st)
{
    const char *p = strrchr(text, ')');
    if (!p || p[1] != ' ' || !p[2] || p[2] == ' ') return -EINVAL;
    st->state = p[2];
    p += 3;
    for (int field = 4; field <= 22; field++) {
        if (*p != ' ') return -EINVAL;
        const char *tok = ++p;
        while (*p && *p != ' ' && *p != '\n')
            p++;
        if (p == tok) return -EINVAL;
        unsigned long long *want = field == 14   ? &st->utime
                                   : field == 15 ? &st->stime
                                   : field == 22 ? &st->starttime
                                                 : NULL;
        if (!want) continue;
        char *end;
        errno = 0;
        if (!isdigit((unsigned char)*tok)) return -EINVAL;
        *want = strtoull(tok, &end, 10);
        if (end != p || errno) return -EINVAL;
    }
    /* A number cut off by the end of the text would read as a smaller one. */
    return *p == ' ' || *p == '\n' ? 0 : -EINVAL;
}

int li_proc_stat(long pid, struct li_proc_stat *st)
{
    char path[64], buf[STAT_MAX];
    snprintf(path, sizeof path, "/proc/%ld/stat", pid);
    FILE *f = fopen(path, "r");
    if (!f) return -errno;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    int failed = ferror(f);
    fclose(f);
    if (failed) return -EIO;
    buf[n] = '\0';
    return li_proc_stat_parse(buf, st);
}
