#include "guard_page.h"

#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

int guard_page_init(struct guard_page *g, size_t cap)
{
    size_t page = (size_t)sysconf(_SC_PAGESIZE);

    g->avail = (cap + page - 1) / page * page;
    if (g->avail == 0) g->avail = page;
    g->size = g->avail + page;
    g->base = mmap(NULL, g->size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (g->base == MAP_FAILED) {
        g->base = NULL;
        return -1;
    }
    if (mprotect(g->base + g->avail, page, PROT_NONE) != 0) {
        munmap(g->base, g->size);
        g->base = NULL;
        return -1;
    }
    return 0;
}

char *guard_page_place(struct guard_page *g, const void *data, size_t len)
{
    char *p = g->base + g->avail - len;

    if (len > 0) memcpy(p, data, len);
    return p;
}

void guard_page_free(struct guard_page *g)
{
    if (g->base) munmap(g->base, g->size);
    g->base = NULL;
}
