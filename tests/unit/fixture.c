/* Test helper: the fixture session and files made from it (fixture.h). */
#include "fixture.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "env/lp_config.h"
#include "inspect/li_proc.h"
#include "proxy/lp_serve.h"

const char *fixture_session(void)
{
    static char path[1024];
    const char *f = __FILE__, *slash = strrchr(f, '/');
    snprintf(path, sizeof path, "%.*s/data/session-lsp.jsonl", slash ? (int)(slash - f) : 1,
             slash ? f : ".");
    return path;
}

const char *fixture_variant(const char *path, int keep, const char *insert_at3, const char *tail)
{
    FILE *in = fopen(fixture_session(), "r"), *out = fopen(path, "w");
    assert_non_null(in);
    assert_non_null(out);
    char *line = NULL;
    size_t cap = 0;
    for (int i = 1; i <= keep && getline(&line, &cap, in) > 0; i++) {
        if (i == 3 && insert_at3) fputs(insert_at3, out);
        fputs(line, out);
    }
    fputs(tail, out);
    free(line);
    fclose(in);
    fclose(out);
    return path;
}

void fixture_child_default_signals(void)
{
    static const int sigs[] = {SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGSYS, SIGABRT};
    for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++)
        signal(sigs[i], SIG_DFL);
}

int fixture_zombie(void)
{
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (!pid) _exit(0);
    struct li_proc_stat st;
    for (;;) {
        assert_int_equal(li_proc_stat(pid, &st), 0);
        if (st.state == 'Z') return pid;
        struct timespec ts = {0, 1000 * 1000};
        nanosleep(&ts, NULL);
    }
}

int fixture_session_open(struct lp_session *s, struct lp_config *c, const char *dir,
                         size_t log_buffer)
{
    memset(c, 0, sizeof *c);
    snprintf(c->dir, sizeof c->dir, "%s", dir);
    c->record = LI_REC_FULL;
    c->max_total = UINT64_MAX;
    c->log_buffer = log_buffer;
    c->max_inspect = 1 << 20;
    char *argv[] = {"server", NULL};
    return lp_session_open(s, c, "test", LI_LSP, argv, NULL, NULL);
}
