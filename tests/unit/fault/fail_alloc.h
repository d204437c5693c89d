/*
 * fail_alloc — a failing allocator for the fault-injection tests
 * (tests/unit/test_alloc_*.c), after nghttp2's. Those tests are linked with
 * -Wl,--wrap=malloc,--wrap=calloc,--wrap=realloc,--wrap=free,--wrap=strdup,
 * --wrap=strndup (the Makefile does it for every test_alloc_*), and jansson
 * is pointed at the same allocator, so every allocation lsptap's own code and
 * jansson make on its behalf is counted, can be made to fail, and is tracked
 * until freed. Allocations libc makes internally (getline, fopen) are not.
 */
#ifndef LSPTAP_TESTS_FAIL_ALLOC_H
#define LSPTAP_TESTS_FAIL_ALLOC_H

#include <stddef.h>

/* Counts calls from now on; the nth (1-based) fails, and every later one too
 * when `persistent`. nth 0: none fails. */
void fail_alloc_arm(unsigned long nth, int persistent);
/* Allocation calls since the last arm. */
unsigned long fail_alloc_calls(void);
/* Allocations that failed since the last arm. */
unsigned long fail_alloc_failed(void);
/* Blocks allocated through the wrappers and not yet freed. */
size_t fail_alloc_live(void);

/* The two runs every test_alloc_* makes of its check(persistent) — the nth
 * allocation fails alone (0), every one from the nth on fails (1) — and the
 * main() that runs them with cmocka under setup/teardown (NULL: none). Use
 * once, at the end of the test file, after cmocka's headers. */
#define FAIL_ALLOC_MAIN(check, setup, teardown)                                                    \
    static void test_nth_allocation_fails(void **state)                                            \
    {                                                                                              \
        (void)state;                                                                               \
        check(0);                                                                                  \
    }                                                                                              \
    static void test_every_allocation_from_the_nth_fails(void **state)                             \
    {                                                                                              \
        (void)state;                                                                               \
        check(1);                                                                                  \
    }                                                                                              \
    int main(void)                                                                                 \
    {                                                                                              \
        const struct CMUnitTest tests[] = {                                                        \
            cmocka_unit_test(test_nth_allocation_fails),                                           \
            cmocka_unit_test(test_every_allocation_from_the_nth_fails),                            \
        };                                                                                         \
        return cmocka_run_group_tests(tests, setup, teardown);                                     \
    }

#endif
