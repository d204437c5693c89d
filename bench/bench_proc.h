/*
 * bench_proc — what the benches read from /proc about a process they
 * started: a memory figure of /proc/PID/status and the CPU time of
 * /proc/PID/stat (li_proc_stat). Header-only: each C file in bench/ is a
 * program of its own.
 */
#ifndef LSPTAP_BENCH_PROC_H
#define LSPTAP_BENCH_PROC_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

#include "inspect/li_proc.h"

/* The "KEY: N kB" line of /proc/PID/status (VmHWM, VmRSS, ...), in KiB;
 * -1 when unreadable or absent. */
static inline long bench_status_kib(pid_t pid, const char *key)
{
    char path[64], line[256];
    long kib = -1;
    size_t kl = strlen(key);
    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    FILE *f = fopen(path, "r");
    if (!f) return -1;
    while (fgets(line, sizeof line, f))
        if (!strncmp(line, key, kl) && line[kl] == ':') {
            kib = strtol(line + kl + 1, NULL, 10);
            break;
        }
    fclose(f);
    return kib;
}

/* User plus system CPU time, in ms; -1 when unreadable. */
static inline double bench_cpu_ms(pid_t pid)
{
    struct li_proc_stat st;
    if (li_proc_stat(pid, &st)) return -1;
    return (double)(st.utime + st.stime) * 1000.0 / (double)sysconf(_SC_CLK_TCK);
}

#endif
