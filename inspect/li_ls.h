/*
 * li_ls — the recorded sessions in a directory, in brief, for `lsptap ls`.
 */
#ifndef LSPTAP_INSPECT_LI_LS_H
#define LSPTAP_INSPECT_LI_LS_H

#include <jansson.h>
#include <stddef.h>
#include <stdio.h>

/* Reads every *.jsonl in dir (each whole, as `lsptap stats` does) and
 * returns a new JSON array of li_stats_brief() objects, oldest first (by
 * the header's start time, then file name). A file that is not a session
 * is left out with one line on `warn` (may be NULL). Returns NULL with err
 * filled ("cannot open DIR: ...") when dir cannot be read. */
json_t *li_ls(const char *dir, FILE *warn, char *err, size_t errlen);

/* The list as an aligned table: START DURATION PROTO SERVER MESSAGES ENDED FILE. */
void li_ls_print(json_t *list, FILE *out);

#endif
