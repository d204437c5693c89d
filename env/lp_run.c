#include "env/lp_run.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "io/lp_child.h"

extern char **environ;

static long now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1000L + t.tv_nsec / 1000000L;
}

struct sink {
    int fd;
    char *buf;
    size_t len;
};

/* Reads what is there; returns 0 at EOF (and closes fd). Past LP_RUN_MAX
 * the rest is read and dropped, so the child never blocks on a full pipe. */
static int drain(struct sink *s)
{
    char tmp[8192];
    ssize_t n = read(s->fd, tmp, sizeof tmp);
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) return 1;
    if (n <= 0) {
        close(s->fd);
        s->fd = -1;
        return 0;
    }
    assert(s->len <= LP_RUN_MAX); /* the buffer holds LP_RUN_MAX + 1 bytes */
    size_t take = (size_t)n;
    if (s->len + take > LP_RUN_MAX) take = LP_RUN_MAX - s->len;
    memcpy(s->buf + s->len, tmp, take);
    s->len += take;
    s->buf[s->len] = '\0';
    return 1;
}

/* Only async-signal-safe calls between fork and exec: the caller may have
 * threads (the stand-in's log writer) holding locks stdio or malloc need. */
static void say(const char *a, const char *b, const char *c)
{
    const char *parts[] = {a, b, ": ", c};
    for (size_t i = 0; i < 4; i++) {
        ssize_t n = write(2, parts[i], strlen(parts[i]));
        (void)n;
    }
}

static const char *errname(int e)
{
    switch (e) {
    case ENOENT:
        return "No such file or directory";
    case EACCES:
        return "Permission denied";
    case ENOEXEC:
        return "Exec format error";
    case ENOTDIR:
        return "Not a directory";
    default:
        return "cannot execute";
    }
}

static void child(char *const argv[], char *const envp[], const char *cwd, int out, int err,
                  pid_t parent)
{
    lp_child_die_with_parent(parent); /* a helper must not outlive a SIGKILLed lsptap */
    setpgid(0, 0);
    int devnull = open("/dev/null", O_RDONLY);
    if (devnull >= 0) dup2(devnull, 0);
    dup2(out, 1);
    dup2(err, 2);
    if (cwd && chdir(cwd)) {
        say("cannot enter ", cwd, errname(errno));
        _exit(126);
    }
    execve(argv[0], argv, envp ? envp : environ);
    say("cannot run ", argv[0], errname(errno));
    _exit(127);
}

int lp_run(char *const argv[], char *const envp[], const char *cwd, int timeout_ms,
           struct lp_run_result *r)
{
    assert(argv && argv[0] && timeout_ms > 0);
    memset(r, 0, sizeof *r);
    r->status = -1;
    r->out = calloc(1, LP_RUN_MAX + 1);
    r->err = calloc(1, LP_RUN_MAX + 1);
    if (!r->out || !r->err) {
        lp_run_free(r);
        return -ENOMEM;
    }
    int po[2], pe[2];
    if (pipe2(po, O_CLOEXEC)) goto fail;
    if (pipe2(pe, O_CLOEXEC)) {
        close(po[0]);
        close(po[1]);
        goto fail;
    }
    pid_t self = getpid();
    pid_t pid = fork();
    if (pid < 0) {
        close(po[0]), close(po[1]), close(pe[0]), close(pe[1]);
        goto fail;
    }
    if (pid == 0) child(argv, envp, cwd, po[1], pe[1], self);
    setpgid(pid, pid); /* both sides, so the kill below never misses the group */
    close(po[1]);
    close(pe[1]);
    struct sink s[2] = {{po[0], r->out, 0}, {pe[0], r->err, 0}};
    long deadline = now_ms() + timeout_ms;
    while (s[0].fd >= 0 || s[1].fd >= 0) {
        long left = deadline - now_ms();
        struct pollfd p[2] = {{s[0].fd, POLLIN, 0}, {s[1].fd, POLLIN, 0}};
        if (left <= 0 || (poll(p, 2, (int)left) == 0)) {
            r->timed_out = 1;
            kill(-pid, SIGKILL);
            kill(pid, SIGKILL);
            break;
        }
        for (int i = 0; i < 2; i++)
            if (s[i].fd >= 0 && (p[i].revents & (POLLIN | POLLHUP | POLLERR))) drain(&s[i]);
    }
    for (int i = 0; i < 2; i++)
        if (s[i].fd >= 0) close(s[i].fd);
    /* A child that closed its output but runs on is held to the same limit. */
    int st = 0;
    pid_t w;
    while ((w = waitpid(pid, &st, WNOHANG)) == 0 || (w < 0 && errno == EINTR)) {
        if (now_ms() >= deadline) {
            r->timed_out = 1;
            kill(-pid, SIGKILL);
            kill(pid, SIGKILL);
            while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {
            }
            break;
        }
        struct timespec nap = {0, 2 * 1000 * 1000};
        nanosleep(&nap, NULL);
    }
    if (WIFEXITED(st)) r->status = WEXITSTATUS(st);
    if (WIFSIGNALED(st)) r->signal = WTERMSIG(st);
    return 0;
fail:;
    int e = errno;
    snprintf(r->err, LP_RUN_MAX, "cannot run %s: %s", argv[0], strerror(e));
    return -e;
}

void lp_run_free(struct lp_run_result *r)
{
    free(r->out);
    free(r->err);
    r->out = r->err = NULL;
}

int lp_run_ok(const struct lp_run_result *r)
{
    return !r->timed_out && r->signal == 0 && r->status == 0;
}
