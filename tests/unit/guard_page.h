/*
 * guard_page — test helper: place bytes so that they end exactly where an
 * inaccessible (PROT_NONE) page begins, so reading one byte past them
 * crashes the test instead of passing silently. The technique is
 * picohttpparser's.
 */
#ifndef LSPTAP_TESTS_GUARD_PAGE_H
#define LSPTAP_TESTS_GUARD_PAGE_H

#include <stddef.h>

struct guard_page {
    char *base;   /* the mapping: readable pages, then one PROT_NONE page */
    size_t size;  /* whole mapping */
    size_t avail; /* readable bytes before the guard */
};

/* Maps room for at most `cap` bytes in front of a guard page. 0 or -1. */
int guard_page_init(struct guard_page *g, size_t cap);
/* Copies data[0..len) so that its last byte is the last readable byte;
 * returns the copy. len must be <= the cap given to guard_page_init. The
 * previous copy is overwritten. */
char *guard_page_place(struct guard_page *g, const void *data, size_t len);
void guard_page_free(struct guard_page *g);

#endif
