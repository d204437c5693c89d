#include "proxy/lp_log.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "inspect/li_buf.h"
#include "io/lp_stdio.h"

/* The writer wakes when this much is queued, else every WAKE_MS: waking it
 * for every line put a thread switch into every request's round trip. */
#define WAKE_BYTES (256 * 1024)
#define QUEUE_START (64 * 1024)
#define WAKE_MS 50

struct lp_log {
    int fd;
    char path[4096 + 64];
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    struct li_buf q;   /* lines waiting for the writer */
    size_t limit;      /* max bytes waiting, not counting `big` */
    size_t big;        /* bytes of the lines larger than the cap queued past it */
    size_t big_budget; /* at most this many such bytes at once (max_inspect) */
    int closing;
    int draining; /* someone waits for the queue to empty */
    int eager;    /* lines are written by the caller as they come (lp_log_eager) */
    int writing;  /* the writer thread has a batch out of the queue, not yet written */
    int failed;   /* errno of the first write error, 0 if none */
    int said;     /* the write error was reported on stderr */
    int (*notify)(const char *line);
    uint64_t dropped;
    int ending; /* lp_log_finish: the closing lines pass the cap */
    /* lp_log_close_async: the writer closes the file itself and wakes the
     * loop through `done_async`; result is lp_log_close's return value. */
    int async;
    int result;
    uv_async_t done_async;
    lp_log_done_fn done;
    void *done_ud;
    struct lp_log *next_closing; /* the loop thread's list of closes not yet reported */
};

static struct lp_log *closing_list;

static int mkdir_p(char *path)
{
    for (char *p = path + 1; *p; p++) {
        if (*p != '/') continue;
        *p = '\0';
        int r = mkdir(path, 0700);
        *p = '/';
        if (r && errno != EEXIST) return -errno;
    }
    if (mkdir(path, 0700) && errno != EEXIST) return -errno;
    struct stat st;
    if (stat(path, &st)) return -errno;
    if (!S_ISDIR(st.st_mode)) return -ENOTDIR;
    return 0;
}

/* The sessions hold every message (source code, tokens in URLs): a
 * directory others can enter or list is tightened to 0700 when it is ours,
 * and said once per process on stderr; one that is not ours is left as it
 * is, with a warning. */
static void make_private(const char *dir)
{
    static int said;
    struct stat st;
    if (stat(dir, &st) || !(st.st_mode & 077) || said) return;
    said = 1;
    unsigned mode = (unsigned)st.st_mode & 07777;
    if (st.st_uid == geteuid() && chmod(dir, 0700) == 0) {
        fprintf(stderr,
                "lsptap: the session directory %s had mode %04o (other users could reach the "
                "sessions); changed it to 0700\n",
                dir, mode);
        return;
    }
    fprintf(stderr,
            "lsptap: warning: the session directory %s has mode %04o and cannot be made private "
            "(%s): other users may read the sessions; set LSPTAP_DIR to a directory of your own\n",
            dir, mode, st.st_uid == geteuid() ? strerror(errno) : "it belongs to another user");
}

struct old_file {
    char name[256];
    time_t mtime;
    off_t size;
};

static int by_mtime(const void *a, const void *b)
{
    const struct old_file *x = a, *y = b;
    if (x->mtime != y->mtime) return x->mtime < y->mtime ? -1 : 1;
    return strcmp(x->name, y->name);
}

/* Keeps the total size of *.jsonl under max by removing the oldest. Best
 * effort: a file we cannot stat or remove is left as it is. */
static void rotate(const char *dir, uint64_t max)
{
    DIR *d = opendir(dir);
    if (!d) return;
    struct old_file *files = NULL;
    size_t n = 0, cap = 0;
    uint64_t total = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        size_t len = strlen(e->d_name);
        if (len < 7 || len >= sizeof files[0].name || strcmp(e->d_name + len - 6, ".jsonl"))
            continue;
        struct stat st;
        if (fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) || !S_ISREG(st.st_mode))
            continue;
        struct old_file *nf = li_grow(files, &cap, n + 1, sizeof *nf);
        if (!nf) break;
        files = nf;
        memcpy(files[n].name, e->d_name, len + 1);
        files[n].mtime = st.st_mtime;
        files[n].size = st.st_size;
        total += (uint64_t)st.st_size;
        n++;
    }
    if (n) qsort(files, n, sizeof *files, by_mtime); /* qsort(NULL, 0) is undefined */
    for (size_t i = 0; i < n && total > max; i++) {
        if (!unlinkat(dirfd(d), files[i].name, 0)) total -= (uint64_t)files[i].size;
    }
    free(files);
    closedir(d);
    /* The list takes 272 bytes a file: megabytes in a directory of
     * thousands. Once glibc has handed back one such block, it serves the
     * next from the heap and keeps that much free heap mapped, so a
     * long-lived listener's RSS would track the directory's size. */
    if (cap * sizeof *files > 128 * 1024) malloc_trim(0);
}

static void say_failure(struct lp_log *l)
{
    char msg[4600];
    int n = snprintf(msg, sizeof msg,
                     "lsptap: writing the session file %s failed (%s); the relay goes on, "
                     "further session lines are dropped and counted.\n",
                     l->path, strerror(l->failed));
    if (n <= 0) return;
    if (l->notify && l->notify(msg) == 0) return;
    /* fd 2 may be non-blocking (libuv set it): wait for room, briefly. */
    size_t off = 0, len = (size_t)n < sizeof msg ? (size_t)n : sizeof msg - 1;
    for (int tries = 0; off < len && tries < 20;) {
        ssize_t w = write(2, msg + off, len - off);
        if (w > 0) {
            off += (size_t)w;
        } else if (w < 0 && (errno == EAGAIN || errno == EINTR)) {
            struct pollfd p = {.fd = 2, .events = POLLOUT};
            poll(&p, 1, 100);
            tries++;
        } else {
            return; /* stderr gone: nothing else to tell */
        }
    }
}

void lp_log_set_notify(struct lp_log *l, int (*fn)(const char *line))
{
    pthread_mutex_lock(&l->mu);
    l->notify = fn;
    pthread_mutex_unlock(&l->mu);
}

/* Closes the file; returns 0, the negative errno of the first write error,
 * or -ENOENT when the file was removed while it was written. */
static int finish_file(struct lp_log *l)
{
    int failed = l->failed;
    /* Writes to a file whose directory was removed still succeed, into an
     * inode nobody can open: say so rather than name a path that is gone. */
    struct stat st;
    if (!failed && !fstat(l->fd, &st) && st.st_nlink == 0) failed = ENOENT;
    if (close(l->fd) && !failed) failed = errno;
    return -failed;
}

static void *writer(void *arg)
{
    struct lp_log *l = arg;
    struct li_buf mine = {0}; /* the other buffer: written out while producers fill q */
    pthread_mutex_lock(&l->mu);
    for (;;) {
        while (!l->closing && (!l->q.len || (l->q.len < WAKE_BYTES && !l->draining))) {
            struct timespec until;
            clock_gettime(CLOCK_REALTIME, &until);
            until.tv_nsec += WAKE_MS * 1000000L;
            if (until.tv_nsec >= 1000000000L) {
                until.tv_sec++;
                until.tv_nsec -= 1000000000L;
            }
            if (pthread_cond_timedwait(&l->cv, &l->mu, &until) == ETIMEDOUT && l->q.len) break;
        }
        if (!l->q.len && l->closing) break;
        /* Swap buffers so producers append while this thread writes. */
        struct li_buf full = l->q;
        l->q = mine;
        l->writing = 1;
        l->big = 0;
        pthread_mutex_unlock(&l->mu);
        int e = l->failed ? 0 : -lp_write_all(l->fd, full.p, full.len);
        pthread_mutex_lock(&l->mu);
        l->writing = 0;
        if (e && !l->failed) {
            l->failed = e;
            l->dropped++; /* at least the batch that failed; lines in it are not counted apart */
        }
        if (l->failed && !l->said) {
            l->said = 1;
            say_failure(l);
        }
        mine = full;
        li_buf_reset(&mine);
        pthread_cond_broadcast(&l->cv);
        if (mine.cap > l->limit * 2) /* one oversize line grew it: give the memory back */
            li_buf_free(&mine);
    }
    int async = l->async;
    pthread_mutex_unlock(&l->mu);
    li_buf_free(&mine);
    if (async) {
        /* close() may wait for the disk too (NFS flushes on close): done
         * here, so the loop only joins a thread that has finished. */
        l->result = finish_file(l);
        uv_async_send(&l->done_async);
    }
    return NULL;
}

/* Called with mu held, in eager mode: writes what is queued from the
 * caller's thread. A batch the writer thread took out of the queue is
 * written first, so the file keeps the lines' order. */
static void write_queue_now(struct lp_log *l)
{
    while (l->writing)
        pthread_cond_wait(&l->cv, &l->mu);
    if (!l->q.len || l->failed) return;
    int e = -lp_write_all(l->fd, l->q.p, l->q.len);
    li_buf_reset(&l->q);
    l->big = 0;
    if (e) {
        l->failed = e;
        l->dropped++;
        l->said = 1;
        say_failure(l);
    }
}

void lp_log_linev(void *log, const struct li_piece *v, int n)
{
    struct lp_log *l = log;
    size_t len = 0;
    for (int i = 0; i < n; i++)
        len += v[i].len;
    pthread_mutex_lock(&l->mu);
    int big = 0;
    if (l->failed) {
        l->dropped++;
        pthread_mutex_unlock(&l->mu);
        return;
    }
    if (l->q.len - l->big + len > l->limit && !l->ending) {
        /* A line larger than the whole cap would find the queue too full
         * whenever anything else waits, so such lines are queued past the
         * cap, up to the inspection cap's worth at once (any one line when
         * none waits): a big message, and its big reply, are not lost for
         * being big. */
        big = len > l->limit && (!l->big || l->big + len <= l->big_budget);
        if (!big) {
            l->dropped++;
            pthread_mutex_unlock(&l->mu);
            return;
        }
    }
    /* The line whole or not at all; an empty queue starts at QUEUE_START:
     * doubling up from li_buf's small start would copy each batch again. */
    if (li_buf_reserve(&l->q, l->q.cap || len > QUEUE_START ? len : QUEUE_START)) {
        l->dropped++;
        pthread_mutex_unlock(&l->mu);
        return;
    }
    if (big) l->big += len;
    int was_below = l->q.len < WAKE_BYTES;
    for (int i = 0; i < n; i++)
        li_buf_put(&l->q, v[i].p, v[i].len);
    if (l->eager)
        write_queue_now(l);
    else if (was_below && l->q.len >= WAKE_BYTES)
        pthread_cond_broadcast(&l->cv);
    pthread_mutex_unlock(&l->mu);
}

void lp_log_line(void *log, const char *line, size_t len)
{
    struct li_piece one = {line, len};
    lp_log_linev(log, &one, 1);
}

int lp_log_open(const struct lp_config *c, const char *role, struct lp_log **out, char *err,
                size_t errlen)
{
    char dir[4096];
    snprintf(dir, sizeof dir, "%s", c->dir);
    int r = mkdir_p(dir);
    if (r) {
        snprintf(err, errlen, "cannot create the session directory %s: %s", c->dir, strerror(-r));
        return r;
    }
    make_private(dir);
    /* Sessions are opened on the loop thread only, so these statics need
     * no lock. A listener taking a burst of connections would rescan the
     * directory for each one (a stat per file: 20 ms per connection with
     * 10,000 files), so rotation runs at most once a second per process. */
    static time_t last_rotation;
    static char last_stamp[32];
    static unsigned next_suffix; /* the next free suffix within last_stamp's second */
    time_t now = time(NULL);
    if (now != last_rotation) {
        rotate(dir, c->max_total);
        last_rotation = now;
    }
    struct lp_log *l = calloc(1, sizeof *l);
    if (!l) return -ENOMEM;
    struct tm tm;
    gmtime_r(&now, &tm);
    char stamp[32];
    strftime(stamp, sizeof stamp, "%Y%m%dT%H%M%SZ", &tm);
    if (strcmp(stamp, last_stamp)) {
        snprintf(last_stamp, sizeof last_stamp, "%s", stamp);
        next_suffix = 0;
    }
    /* Files of the same second from this process get -1, -2, ...: the
     * counter carries on from the last one used, so a burst costs one open
     * per file, and there is no limit on how many fit into a second. */
    for (int attempt = 0; attempt < 1000; attempt++) {
        unsigned suffix = next_suffix++;
        if (suffix)
            snprintf(l->path, sizeof l->path, "%s/%s-%d-%s-%u.jsonl", dir, stamp, (int)getpid(),
                     role, suffix);
        else
            snprintf(l->path, sizeof l->path, "%s/%s-%d-%s.jsonl", dir, stamp, (int)getpid(), role);
        l->fd = open(l->path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_APPEND, 0600);
        if (l->fd >= 0 || errno != EEXIST) break;
    }
    if (l->fd < 0) {
        r = -errno;
        snprintf(err, errlen, "cannot create the session file %s: %s", l->path, strerror(-r));
        free(l);
        return r;
    }
    l->limit = c->log_buffer ? c->log_buffer : 1;
    l->big_budget = c->max_inspect ? c->max_inspect : LI_DEFAULT_MAX_INSPECT;
    pthread_mutex_init(&l->mu, NULL);
    pthread_cond_init(&l->cv, NULL);
    if ((r = pthread_create(&l->thread, NULL, writer, l))) {
        snprintf(err, errlen, "cannot start the session writer: %s", strerror(r));
        close(l->fd);
        unlink(l->path);
        free(l);
        return -r;
    }
    *out = l;
    return 0;
}

const char *lp_log_path(const struct lp_log *l)
{
    return l->path;
}

uint64_t lp_log_dropped(struct lp_log *l)
{
    pthread_mutex_lock(&l->mu);
    uint64_t d = l->dropped;
    pthread_mutex_unlock(&l->mu);
    return d;
}

void lp_log_eager(struct lp_log *l)
{
    pthread_mutex_lock(&l->mu);
    l->eager = 1;
    write_queue_now(l);
    pthread_mutex_unlock(&l->mu);
}

uint64_t lp_log_finish(struct lp_log *l)
{
    pthread_mutex_lock(&l->mu);
    l->ending = 1;
    uint64_t d = l->dropped;
    pthread_mutex_unlock(&l->mu);
    return d;
}

static void free_log(struct lp_log *l)
{
    pthread_mutex_destroy(&l->mu);
    pthread_cond_destroy(&l->cv);
    li_buf_free(&l->q);
    free(l);
}

int lp_log_close(struct lp_log *l)
{
    pthread_mutex_lock(&l->mu);
    l->closing = 1;
    pthread_cond_broadcast(&l->cv);
    pthread_mutex_unlock(&l->mu);
    pthread_join(l->thread, NULL);
    int r = finish_file(l);
    free_log(l);
    return r;
}

static void async_closed(uv_handle_t *h)
{
    free_log(h->data);
}

/* On the loop thread, once the writer has closed the file (from its
 * uv_async_t, or lp_log_wait_closes): the join returns at once. */
static void report_closed(struct lp_log *l)
{
    for (struct lp_log **p = &closing_list; *p; p = &(*p)->next_closing) {
        if (*p == l) {
            *p = l->next_closing;
            break;
        }
    }
    pthread_join(l->thread, NULL);
    l->done(l->done_ud, l->result);
    uv_close((uv_handle_t *)&l->done_async, async_closed);
}

static void on_done_async(uv_async_t *a)
{
    report_closed(a->data);
}

int lp_log_close_async(struct lp_log *l, uv_loop_t *loop, lp_log_done_fn done, void *ud)
{
    int r = uv_async_init(loop, &l->done_async, on_done_async);
    if (r) return r;
    l->done_async.data = l;
    l->done = done;
    l->done_ud = ud;
    l->next_closing = closing_list;
    closing_list = l;
    pthread_mutex_lock(&l->mu);
    l->async = 1;
    l->closing = 1;
    pthread_cond_broadcast(&l->cv);
    pthread_mutex_unlock(&l->mu);
    return 0;
}

void lp_log_wait_closes(void)
{
    while (closing_list)
        report_closed(closing_list);
}
