#include "uvtest.h"

uv_loop_t uvtest_loop;
int uvtest_timed_out;

static uv_timer_t deadline;

static void deadline_fired(uv_timer_t *t)
{
    (void)t;
    uvtest_timed_out = 1;
    uv_stop(&uvtest_loop);
}

int uvtest_open(uint64_t deadline_ms)
{
    uvtest_timed_out = 0;
    int rc = uv_loop_init(&uvtest_loop);
    if (!rc) rc = uv_timer_init(&uvtest_loop, &deadline);
    if (!rc) rc = uv_timer_start(&deadline, deadline_fired, deadline_ms, 0);
    return rc;
}

static void close_any(uv_handle_t *h, void *arg)
{
    (void)arg;
    if (!uv_is_closing(h)) uv_close(h, NULL);
}

int uvtest_close(void)
{
    uv_walk(&uvtest_loop, close_any, NULL);
    uv_run(&uvtest_loop, UV_RUN_DEFAULT);
    return uv_loop_close(&uvtest_loop);
}
