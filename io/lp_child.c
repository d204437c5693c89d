#include "io/lp_child.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

static void reap(struct lp_child *c)
{
    int st;
    pid_t w;
    while ((w = waitpid(c->pid, &st, WNOHANG)) < 0 && errno == EINTR) {
    }
    if (w != c->pid) return; /* another child's SIGCHLD, or this one still runs */
    c->running = 0;
    uv_signal_stop(&c->sigchld);
    int64_t status = WIFEXITED(st) ? WEXITSTATUS(st) : 0;
    int sig = WIFSIGNALED(st) ? WTERMSIG(st) : 0;
    if (c->exit_cb) c->exit_cb(c, status, sig);
}

static void on_sigchld(uv_signal_t *s, int signum)
{
    (void)signum;
    struct lp_child *c = s->data;
    if (c->running) reap(c);
}

void lp_child_die_with_parent(pid_t parent)
{
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    /* The parent may have died before the prctl: then no signal will come,
     * and this child was already adopted by another process. */
    if (getppid() != parent) _exit(127);
}

/* The child's side of fork(): only async-signal-safe calls. An error is
 * its errno on ep, then exit 127. */
static void child(const struct lp_child_opts *o, const int hi[4], char **env, int ep, pid_t parent)
{
    int err;
    lp_child_die_with_parent(parent);
    setpgid(0, 0); /* its own group, led by itself; the parent does it too */
    for (int i = 0; i < 3; i++)
        if (dup2(hi[i], i) < 0) goto fail;
    if (hi[3] >= 0 && dup2(hi[3], o->extra_as) < 0) goto fail;
    if (o->cwd && chdir(o->cwd)) goto fail;
    /* What uv_spawn did: signals 1..31 to their default (lsptap ignores
     * SIGPIPE; its handlers would not survive exec anyway), none blocked.
     * Real-time signals keep what lsptap was given, as they did. */
    struct sigaction dfl;
    memset(&dfl, 0, sizeof dfl);
    dfl.sa_handler = SIG_DFL;
    for (int n = 1; n < 32; n++)
        if (n != SIGKILL && n != SIGSTOP) sigaction(n, &dfl, NULL);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    if (strchr(o->file, '/'))
        execve(o->file, o->args, env);
    else
        execvpe(o->file, o->args, env);
fail:
    err = errno;
    while (write(ep, &err, sizeof err) < 0 && errno == EINTR) {
    }
    _exit(127);
}

/* 0 or an errno. fork rather than posix_spawn: glibc's posix_spawn leaves
 * its two internal signals ignored in the child, and exec keeps that. */
static int spawn(struct lp_child *c, const struct lp_child_opts *o)
{
    int ep[2], hi[4] = {-1, -1, -1, -1}, err = 0;
    int extra = o->extra_as > 2;
    if (pipe2(ep, O_CLOEXEC)) return errno;
    /* The fds move above 2 (and above the extra fd's place) first, so that
     * no dup2 in the child clobbers one a later dup2 still needs (an fd of
     * ours may be 0..2 when lsptap was started with a standard stream
     * closed). */
    int lowest = extra ? o->extra_as + 1 : 3;
    for (int i = 0; i < 3 + extra && !err; i++)
        if ((hi[i] = fcntl(i < 3 ? o->fd[i] : o->extra_fd, F_DUPFD_CLOEXEC, lowest)) < 0)
            err = errno;
    char **env = o->env ? o->env : environ;
    pid_t pid = -1;
    if (!err) {
        /* No signal handler may run in the child before it resets them:
         * libuv's would write into this loop's signal pipe. */
        sigset_t all, old;
        sigfillset(&all);
        pthread_sigmask(SIG_SETMASK, &all, &old);
        pid_t self = getpid();
        pid = fork();
        if (pid == 0) child(o, hi, env, ep[1], self);
        if (pid < 0) err = errno;
        pthread_sigmask(SIG_SETMASK, &old, NULL);
    }
    close(ep[1]);
    for (int i = 0; i < 4; i++)
        if (hi[i] >= 0) close(hi[i]);
    if (pid > 0) {
        setpgid(pid, pid); /* both sides, so that no kill(-pid) can miss the group */
        int cerr;
        ssize_t n;
        while ((n = read(ep[0], &cerr, sizeof cerr)) < 0 && errno == EINTR) {
        }
        if (n == (ssize_t)sizeof cerr) { /* the exec failed: reap it, report why */
            while (waitpid(pid, NULL, 0) < 0 && errno == EINTR) {
            }
            err = cerr;
        } else {
            c->pid = pid;
        }
    }
    close(ep[0]);
    return err;
}

int lp_child_spawn(uv_loop_t *loop, struct lp_child *c, const struct lp_child_opts *o)
{
    void *data = c->data;
    uv_close_cb closed = c->closed;
    memset(c, 0, sizeof *c);
    c->data = data;
    c->closed = closed;
    c->exit_cb = o->exit_cb;
    int rc = uv_signal_init(loop, &c->sigchld);
    if (rc) return rc;
    c->sigchld.data = c;
    /* Watching starts before the spawn, so that a child that ends at once
     * is not missed. */
    if ((rc = uv_signal_start(&c->sigchld, on_sigchld, SIGCHLD))) {
        lp_child_close(c);
        return rc;
    }
    int err = spawn(c, o);
    if (err) {
        lp_child_close(c);
        return -err;
    }
    c->running = 1;
    return 0;
}

int lp_child_kill(struct lp_child *c, int sig)
{
    if (!c->running) return -ESRCH;
    return kill(c->pid, sig) ? -errno : 0;
}

void lp_child_close(struct lp_child *c)
{
    uv_handle_t *h = (uv_handle_t *)&c->sigchld;
    if (h->loop && !uv_is_closing(h)) uv_close(h, c->closed);
}
