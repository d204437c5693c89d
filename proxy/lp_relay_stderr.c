/* The stdio relay's stderr: lsptap's own lines between the server's
 * (proxy/lp_relay_int.h). */
#include "proxy/lp_relay_stderr.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <uv.h>

#include "inspect/li_escape.h"
#include "inspect/li_redact.h"
#include "proxy/lp_relay_int.h"

/* One line from another thread (the session writer) for stderr. */
static pthread_mutex_t notify_mu = PTHREAD_MUTEX_INITIALIZER;
static uv_async_t *notify_async; /* NULL when no relay loop runs */
static char notify_line[4096];
static int notify_pending;

static void say_write(struct lp_relay_stderr *e, const char *line, size_t len);

static void say_flush(struct lp_relay_stderr *e)
{
    if (!e->wait_len) return;
    say_write(e, e->wait, e->wait_len);
    free(e->wait);
    e->wait = NULL;
    e->wait_len = 0;
    uv_timer_stop(&e->timer);
}

/* The server left a line unfinished for a while: lsptap's lines go anyway,
 * on a line of their own. Not while lsptap itself holds the server's stderr
 * back (the editor is behind): the rest of that line is already waiting. */
static void say_timeout(uv_timer_t *t)
{
    struct lp_relay_stderr *e = t->data;
    if (e->held(e->ud)) {
        uv_timer_start(&e->timer, say_timeout, 200, 0);
        return;
    }
    if (e->mid_line) {
        say_write(e, "\n", 1);
        e->mid_line = 0;
    }
    say_flush(e);
}

static void say_done(uv_write_t *req, int status)
{
    struct lp_relay_stderr *e = req->data;
    (void)status;
    free(req);
    e->writes--;
    e->written(e->ud);
}

/* lsptap's own line, through the same stream as the server's stderr so the
 * two never interleave inside a write. */
void lp_relay_stderr_say(struct lp_relay_stderr *e, const char *fmt, va_list ap)
{
    char raw[4096];
    int n = vsnprintf(raw, sizeof raw, fmt, ap);
    if (n < 0) return;
    /* lsptap's lines quote the server (its errors, its method names): they
     * are redacted and escaped like every text lsptap prints. */
    size_t rl = 0;
    char *red = li_redact(raw, (size_t)n < sizeof raw ? (size_t)n : sizeof raw - 1, environ, &rl);
    char *line = red ? li_escape_dup(red, rl, LI_ESC_KEEP_NL) : NULL;
    free(red);
    if (!line) return;
    size_t len = strlen(line);
    if (e->mid_line && e->timer.loop) {
        /* Never inside one of the server's lines: wait for its end. */
        char *nw = realloc(e->wait, e->wait_len + len);
        if (nw) {
            e->wait = nw;
            memcpy(e->wait + e->wait_len, line, len);
            e->wait_len += len;
            if (!uv_is_active((uv_handle_t *)&e->timer))
                uv_timer_start(&e->timer, say_timeout, 200, 0);
            free(line);
            return;
        }
    }
    say_write(e, line, len);
    free(line);
}

static void say_write(struct lp_relay_stderr *e, const char *line, size_t len)
{
    uv_write_t *req = malloc(sizeof *req + len);
    if (!req) return;
    char *copy = (char *)(req + 1);
    memcpy(copy, line, len);
    uv_buf_t b = uv_buf_init(copy, (unsigned)len);
    req->data = e;
    if (!e->out->loop || uv_write(req, e->out, &b, 1, say_done))
        free(req);
    else
        e->writes++;
}

static void say_str(struct lp_relay_stderr *e, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void say_str(struct lp_relay_stderr *e, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    lp_relay_stderr_say(e, fmt, ap);
    va_end(ap);
}

int lp_relay_notify(const char *line)
{
    int taken = -1;
    pthread_mutex_lock(&notify_mu);
    if (notify_async && !notify_pending) {
        snprintf(notify_line, sizeof notify_line, "%s", line);
        notify_pending = 1;
        uv_async_send(notify_async);
        taken = 0;
    }
    pthread_mutex_unlock(&notify_mu);
    return taken;
}

static void notified(uv_async_t *a)
{
    struct lp_relay_stderr *e = a->data;
    char line[sizeof notify_line];
    pthread_mutex_lock(&notify_mu);
    int have = notify_pending;
    if (have) memcpy(line, notify_line, sizeof line);
    notify_pending = 0;
    pthread_mutex_unlock(&notify_mu);
    if (have) say_str(e, "%s", line);
}

void lp_relay_stderr_open(struct lp_relay_stderr *e, uv_loop_t *loop)
{
    uv_timer_init(loop, &e->timer);
    e->timer.data = e;
    uv_async_init(loop, &e->notify, notified);
    e->notify.data = e;
    uv_unref((uv_handle_t *)&e->notify);
    pthread_mutex_lock(&notify_mu);
    notify_async = &e->notify;
    pthread_mutex_unlock(&notify_mu);
}

/* The server's stderr, forwarded as read, except that lsptap's waiting
 * lines go in right after the last complete line. */
void lp_relay_stderr_server(struct lp_relay_stderr *e, struct lp_pump *p, const char *data,
                            size_t len)
{
    const char *nl = e->wait_len ? memrchr(data, '\n', len) : NULL;
    if (nl) {
        size_t head = (size_t)(nl + 1 - data);
        lp_pump_write(p, data, head);
        say_flush(e);
        lp_pump_write(p, data + head, len - head);
    } else {
        lp_pump_write(p, data, len);
    }
    e->mid_line = len && data[len - 1] != '\n';
    if (!e->mid_line) say_flush(e);
}

void lp_relay_stderr_server_end(struct lp_relay_stderr *e)
{
    /* Nothing will finish the server's last line now: end it, so that
     * lsptap's lines (waiting or still to come) start lines. */
    if (e->mid_line) say_write(e, "\n", 1);
    e->mid_line = 0;
    say_flush(e);
}

void lp_relay_stderr_detach(void)
{
    pthread_mutex_lock(&notify_mu);
    notify_async = NULL;
    pthread_mutex_unlock(&notify_mu);
}

int lp_relay_stderr_close(struct lp_relay_stderr *e)
{
    int mid = e->mid_line;
    pthread_mutex_lock(&notify_mu);
    notify_async = NULL;
    if ((notify_pending || e->wait_len) && mid) {
        fputc('\n', stderr); /* the server's last line was unfinished */
        mid = 0;
    }
    if (notify_pending) fputs(notify_line, stderr);
    notify_pending = 0;
    pthread_mutex_unlock(&notify_mu);
    if (e->wait_len) fwrite(e->wait, 1, e->wait_len, stderr);
    free(e->wait);
    e->wait = NULL;
    e->wait_len = 0;
    return mid;
}
