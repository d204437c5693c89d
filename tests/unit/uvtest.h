/*
 * uvtest — test helper for the unit tests that drive io/ on a real libuv
 * loop (test_pump, test_server): one loop per test, run until a condition
 * holds, and a deadline that fails the test instead of letting it hang.
 * Nothing waits for time: WAIT_FOR runs the loop one iteration at a time
 * until its condition holds.
 *
 * Include after <cmocka.h>: WAIT_FOR fails the test through fail_msg.
 */
#ifndef LSPTAP_TESTS_UVTEST_H
#define LSPTAP_TESTS_UVTEST_H

#include <stdint.h>
#include <uv.h>

/* The test's loop, and whether its deadline passed. */
extern uv_loop_t uvtest_loop;
extern int uvtest_timed_out;

/* Initialises uvtest_loop and starts the deadline: deadline_ms later the
 * loop stops and uvtest_timed_out is set. The deadline timer keeps the loop
 * alive, so WAIT_FOR never spins on a loop with nothing left to do. Returns
 * 0 or a libuv error. */
int uvtest_open(uint64_t deadline_ms);

/* Closes every handle still open on the loop (the deadline's too), runs the
 * loop until their close callbacks ran, and closes it. Returns
 * uv_loop_close's result (UV_EBUSY: something is still open). */
int uvtest_close(void);

/* Runs the loop until cond holds; fails the test at the deadline. */
#define WAIT_FOR(cond)                                                                             \
    do {                                                                                           \
        while (!(cond) && !uvtest_timed_out)                                                       \
            uv_run(&uvtest_loop, UV_RUN_ONCE);                                                     \
        if (!(cond)) fail_msg("deadline passed waiting for: %s", #cond);                           \
    } while (0)

#endif
