/* lsptap tail [SESSION] [--method M] [--dir c2s|s2c] [--no-follow] */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "cli/cli_args.h"
#include "cli/commands.h"
#include "env/lp_config.h"
#include "inspect/li_tail.h"

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
    (void)sig;
    stop = 1;
}

static const char USAGE[] =
    "usage: lsptap tail [SESSION.jsonl] [--method TEXT] [--dir c2s|s2c] [--no-follow]\n"
    "One line per message (time, direction, kind, method, id, latency, size), as\n"
    "lsptap records them. Without SESSION: the newest session in the session\n"
    "directory, and each newer one as it starts, until interrupted. With\n"
    "SESSION: until that session ends. --method keeps methods containing TEXT.\n";

static void nap(void)
{
    struct timespec ts = {0, 200 * 1000 * 1000};
    nanosleep(&ts, NULL);
}

struct watch {
    const char *dir;
    const char *current;
};

/* A newer session has started: the one being followed will not grow. */
static int newer_session(void *ud)
{
    const struct watch *w = ud;
    char path[4352];
    return li_tail_newest(w->dir, path, sizeof path) > 0 && strcmp(path, w->current) != 0;
}

/* The newest session, then each newer one, until a signal. */
static int follow_dir(const char *dir, const struct li_tail_filter *f)
{
    char path[4352] = "", last[4352] = "", err[4600];
    int waiting = 0;
    while (!stop) {
        int n = li_tail_newest(dir, path, sizeof path);
        if (n <= 0 || strcmp(path, last) == 0) {
            if (!waiting && n <= 0)
                fprintf(stderr, "lsptap tail: waiting for a session in %s\n", dir);
            waiting = 1;
            nap();
            continue;
        }
        waiting = 0;
        printf("==> %s <==\n", path);
        fflush(stdout);
        struct watch w = {dir, path};
        int rc = li_tail_file(path, f, 1, &stop, newer_session, &w, stdout, err, sizeof err);
        if (rc) fprintf(stderr, "lsptap tail: %s\n", err);
        if (rc == 2) return 2;
        /* rc 1: its writer is gone; the next session is followed when it comes. */
        snprintf(last, sizeof last, "%s", path);
    }
    return 0;
}

int cmd_tail(int argc, char **argv)
{
    struct li_tail_filter f = {NULL, -1};
    const char *path = NULL, *dir = NULL;
    int no_follow = 0;
    const struct cli_opt opts[] = {
        {"--method", "-m", NULL, &f.method, "a value"},
        {"--dir", NULL, NULL, &dir, "a value"},
        {"--no-follow", "-n", &no_follow, NULL, NULL},
        {0},
    };
    const struct cli_args args = {"tail", USAGE, opts, &path, "session file", NULL};
    int prc = cli_parse(&args, argc, argv);
    if (prc >= 0) return prc;
    if (dir && strcmp(dir, "c2s") != 0 && strcmp(dir, "s2c") != 0)
        return fprintf(stderr, "lsptap tail: --dir takes c2s or s2c\n"), 2;
    if (dir) f.dir = strcmp(dir, "s2c") == 0;
    int follow = !no_follow;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_DFL); /* `lsptap tail | head` ends quietly */

    char err[4600];
    if (path) {
        int rc = li_tail_file(path, &f, follow, &stop, NULL, NULL, stdout, err, sizeof err);
        if (rc) fprintf(stderr, "lsptap tail: %s\n", err);
        return rc;
    }
    struct lp_config cfg;
    char warn[1024];
    lp_config_load(&cfg, warn, sizeof warn);
    if (warn[0]) fprintf(stderr, "lsptap tail: %s\n", warn);
    if (!follow) {
        int n = li_tail_newest(cfg.dir, err, sizeof err);
        if (n <= 0) return fprintf(stderr, "lsptap tail: no session in %s\n", cfg.dir), 2;
        char p[4600];
        snprintf(p, sizeof p, "%s", err);
        if (li_tail_file(p, &f, 0, &stop, NULL, NULL, stdout, err, sizeof err))
            return fprintf(stderr, "lsptap tail: %s\n", err), 2;
        return 0;
    }
    return follow_dir(cfg.dir, &f);
}
