/*
 * json_ref — test helper: the JSON scanner's fast string paths judged
 * against its byte-at-a-time reference.
 *
 * inspect/li_json.c compiled with LI_JSON_SCALAR scans strings one byte at
 * a time, the plain statement of the rules. Every faster path (64-byte
 * blocks, 16-byte blocks, SSE2 or SWAR) must give exactly its answers:
 * the same result, error offset and text, flags and members.
 */
#ifndef LSPTAP_TESTS_JSON_REF_H
#define LSPTAP_TESTS_JSON_REF_H

#include <stddef.h>

#include "inspect/li_json.h"

typedef int (*json_scan_fn)(const char *buf, size_t len, int partial, li_json_member_fn fn,
                            void *ud, struct li_json_result *r);

/* li_json_scan as built with LI_JSON_SCALAR. */
int li_json_scan_ref(const char *buf, size_t len, int partial, li_json_member_fn fn, void *ud,
                     struct li_json_result *r);

/* Scans buf[0..len) with fn and with the reference, whole and as a prefix,
 * placed right before a guard page. Returns 0 when they agree in
 * everything; otherwise prints the case and the difference to stderr and
 * returns -1. Cases over 4 KiB are scanned where they are. */
int json_ref_compare(json_scan_fn fn, const char *buf, size_t len);

/* Compares fn with the reference on generated strings that put each kind of
 * special byte (every escape, \u pairs, UTF-8 of each length, invalid
 * bytes, control bytes, backslash runs, the closing quote, the end of
 * input) at every offset across 64- and 16-byte block boundaries, on
 * escape-dense and plain backgrounds, plus pseudo-random strings. Returns
 * the number of cases that differed (0: all agree). */
int json_ref_sweep(json_scan_fn fn);

#endif
