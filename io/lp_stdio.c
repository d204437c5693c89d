#include "io/lp_stdio.h"

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

int lp_write_all(int fd, const char *p, size_t n)
{
    while (n) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) return w < 0 ? -errno : -EIO;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

static void *copy_thread(void *arg)
{
    struct lp_bridge *b = arg;
    char buf[65536];
    for (;;) {
        ssize_t n = read(b->from, buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        int rc = lp_write_all(b->to, buf, (size_t)n);
        if (rc) {
            /* Closing our end of the pipe makes the loop's next write fail
             * (EPIPE) instead of filling a pipe nobody reads; err says what
             * really happened (ENOSPC on a full disk...). */
            b->err = -rc;
            close(b->from);
            b->from = -1;
            break;
        }
    }
    close(b->to);
    return NULL;
}

int lp_stdio_open(uv_loop_t *loop, uv_pipe_t *h, int fd, int reading, struct lp_bridge *b)
{
    int rc = uv_pipe_init(loop, h, 0);
    if (rc) return rc;
    uv_handle_type t = uv_guess_handle(fd);
    if (t == UV_NAMED_PIPE || t == UV_TCP || t == UV_UDP) {
        int dupfd = fd;
        if (fd == 2) dupfd = fcntl(2, F_DUPFD_CLOEXEC, 3);
        if (dupfd < 0) return -errno;
        return uv_pipe_open(h, dupfd);
    }
    int fds[2];
    if (pipe2(fds, O_CLOEXEC)) return -errno;
    if (reading) {
        b->from = fd == 2 ? fcntl(2, F_DUPFD_CLOEXEC, 3) : fd;
        b->to = fds[1];
    } else {
        b->from = fds[0];
        b->to = fd == 2 ? fcntl(2, F_DUPFD_CLOEXEC, 3) : dup(fd);
    }
    if (pthread_create(&b->thread, NULL, copy_thread, b)) {
        close(fds[0]);
        close(fds[1]);
        return UV_EAGAIN;
    }
    b->started = 1;
    if (reading)
        pthread_detach(b->thread); /* may block on a terminal forever */
    else
        b->joinable = 1;
    return uv_pipe_open(h, reading ? fds[0] : fds[1]);
}

void lp_bridge_join(struct lp_bridge *b)
{
    if (b->joinable) pthread_join(b->thread, NULL);
    b->joinable = 0;
}
