/*
 * lp_stdio — this process's standard streams as libuv pipe handles.
 *
 * Pipes and sockets (what editors give) are opened directly; fd 2 is
 * duplicated first so that closing the handle leaves stderr usable for the
 * last lines. Files and terminals, which epoll cannot watch, are bridged by
 * a thread copying between the fd and a pipe.
 */
#ifndef LSPTAP_IO_LP_STDIO_H
#define LSPTAP_IO_LP_STDIO_H

#include <pthread.h>
#include <uv.h>

struct lp_bridge {
    pthread_t thread;
    int from, to;
    int started;
    int joinable;
    int err; /* errno of a failed write to the fd (output bridges), 0 if none */
};

/* Opens fd as h. `reading` is 1 for a stream lsptap reads (stdin). b must
 * stay valid until lp_bridge_join. Returns 0 or a libuv error. */
int lp_stdio_open(uv_loop_t *loop, uv_pipe_t *h, int fd, int reading, struct lp_bridge *b);

/* For an output bridge: waits until the thread has copied everything
 * (call after the handle is closed). No-op otherwise. */
void lp_bridge_join(struct lp_bridge *b);

/* Writes all n bytes of p to fd, blocking (a file, a terminal, a blocking
 * pipe), past EINTR. Returns 0, or a negative errno for the write that
 * failed (-EIO when one wrote nothing); the bytes after it are not
 * written. For the bridges and lsptap's own output to files, never for a
 * descriptor the loop watches. */
int lp_write_all(int fd, const char *p, size_t n);

#endif
