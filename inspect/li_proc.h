/*
 * li_proc — one process's /proc/PID/stat, read and parsed in one place: the
 * tail asks whether a session's writer still runs (its state and start
 * time), the benches how much CPU a process used. Linux only.
 */
#ifndef LSPTAP_INSPECT_LI_PROC_H
#define LSPTAP_INSPECT_LI_PROC_H

/* The fields of /proc/PID/stat that lsptap reads; times in clock ticks
 * (sysconf(_SC_CLK_TCK) per second). */
struct li_proc_stat {
    char state;                   /* field 3: 'R', 'S', 'D', 'Z' (zombie), 'X' (dead), ... */
    unsigned long long utime;     /* field 14: user CPU */
    unsigned long long stime;     /* field 15: system CPU */
    unsigned long long starttime; /* field 22: start, since boot */
};

/* Parses the text of a /proc/PID/stat file (NUL-terminated). The fields
 * after the command name are found after its last ')', since the name may
 * hold spaces and parentheses. Returns 0 with *st filled, or -EINVAL when
 * the text has no ") S" or ends before field 23 begins (a read cut short)
 * or a field read is not a number; *st is then unspecified. */
int li_proc_stat_parse(const char *text, struct li_proc_stat *st);

/* Reads /proc/PID/stat into *st. Returns 0; the negative errno of opening
 * the file (-ENOENT for a pid that does not exist or was reaped, also when
 * /proc is not mounted); -EIO when it cannot be read; -EINVAL as
 * li_proc_stat_parse. A zombie is not an error: 0 with state 'Z' (the
 * kernel keeps its times until it is reaped), and the caller decides. */
int li_proc_stat(long pid, struct li_proc_stat *st);

#endif
