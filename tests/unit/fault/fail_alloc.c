#include "fail_alloc.h"

#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

void *__real_malloc(size_t n);
void *__real_calloc(size_t k, size_t n);
void *__real_realloc(void *p, size_t n);
void __real_free(void *p);
char *__real_strdup(const char *s);
char *__real_strndup(const char *s, size_t n);

static unsigned long calls, failed, fail_at;
static int fail_after;

/* Live blocks: a linear-probing set of pointers with backward-shift
 * deletion, static so that it never allocates itself. */
#define LIVE_CAP (1u << 20)
static void *live[LIVE_CAP];
static size_t nlive;

static size_t slot(const void *p)
{
    uint64_t h = (uint64_t)(uintptr_t)p * 0x9E3779B97F4A7C15ull;
    return (size_t)(h >> 44) & (LIVE_CAP - 1);
}

static void live_add(void *p)
{
    if (!p || nlive + 1 >= LIVE_CAP) abort();
    size_t i = slot(p);
    while (live[i])
        i = (i + 1) & (LIVE_CAP - 1);
    live[i] = p;
    nlive++;
}

static void live_del(void *p)
{
    size_t i = slot(p);
    while (live[i] && live[i] != p)
        i = (i + 1) & (LIVE_CAP - 1);
    if (!live[i]) return; /* allocated inside libc, not by a wrapper */
    live[i] = NULL;
    nlive--;
    for (size_t j = (i + 1) & (LIVE_CAP - 1); live[j]; j = (j + 1) & (LIVE_CAP - 1)) {
        size_t k = slot(live[j]);
        int stays = i <= j ? (i < k && k <= j) : (i < k || k <= j);
        if (!stays) {
            live[i] = live[j];
            live[j] = NULL;
            i = j;
        }
    }
}

static int should_fail(void)
{
    calls++;
    int f = fail_at && (calls == fail_at || (fail_after && calls > fail_at));
    failed += (unsigned long)f;
    return f;
}

void *__wrap_malloc(size_t n)
{
    if (should_fail()) return NULL;
    void *p = __real_malloc(n);
    if (p) live_add(p);
    return p;
}

void *__wrap_calloc(size_t k, size_t n)
{
    if (should_fail()) return NULL;
    void *p = __real_calloc(k, n);
    if (p) live_add(p);
    return p;
}

void *__wrap_realloc(void *p, size_t n)
{
    if (should_fail()) return NULL;
    void *q = __real_realloc(p, n);
    if (q) {
        if (p) live_del(p);
        live_add(q);
    }
    return q;
}

void __wrap_free(void *p)
{
    if (p) live_del(p);
    __real_free(p);
}

char *__wrap_strdup(const char *s)
{
    if (should_fail()) return NULL;
    char *p = __real_strdup(s);
    if (p) live_add(p);
    return p;
}

char *__wrap_strndup(const char *s, size_t n)
{
    if (should_fail()) return NULL;
    char *p = __real_strndup(s, n);
    if (p) live_add(p);
    return p;
}

__attribute__((constructor)) static void route_jansson(void)
{
    json_set_alloc_funcs(__wrap_malloc, __wrap_free);
}

void fail_alloc_arm(unsigned long nth, int persistent)
{
    calls = failed = 0;
    fail_at = nth;
    fail_after = persistent;
}

unsigned long fail_alloc_calls(void)
{
    return calls;
}

unsigned long fail_alloc_failed(void)
{
    return failed;
}

size_t fail_alloc_live(void)
{
    return nlive;
}
