/*
 * lp_doctor — everything `lsptap doctor` reports: the environment rules'
 * problems (lp_env) and the facts around them (tools VS Code would find,
 * go version and go env, PATH now and in a login shell, the workspace,
 * gopls daemons and dlv servers listening, how recent sessions ended).
 * Every string in the result has its secrets redacted (li_redact).
 */
#ifndef LSPTAP_ENV_LP_DOCTOR_H
#define LSPTAP_ENV_LP_DOCTOR_H

#include <jansson.h>
#include <stdio.h>

/* Gathers the report for workspace dir (NULL: the current directory) under
 * envp (this process's environment, normally). Returns a new object
 * {"problems": [{"check", "variable", "severity", "message", "fix"}...],
 * "workspace", "go", "tools", "path", "servers", "sessions", "repairs"}
 * (docs/doctor.md), or NULL when out of memory. *n_problems gets the
 * number of problems. */
json_t *lp_doctor_run(char *const envp[], const char *dir, size_t *n_problems);

/* The report for a person, section by section (env/lp_doctor_print.c). */
void lp_doctor_print(const json_t *report, FILE *f);

/* `lsptap doctor --net` (env/lp_doctor_net.c): netcheck on every
 * GOPROXY entry (not direct/off), GOSUMDB's host (unless off) and the HTTP
 * proxies of the environment, each up to a few seconds. Adds "net":
 * {"checks": [{"role", "variable", "entry", "target", "tls", "ok",
 * "failed_layer", "verdict", "through_proxy"?, "netcheck": {netcheck's JSON}}],
 * "hints": [...]} to report (GOPROXY and GOSUMDB as go env gave them in
 * report, else the environment's). Returns the number of checks that
 * failed. */
size_t lp_doctor_net(json_t *report);

/* The "net" part of a report for a person (nothing when there is none;
 * env/lp_doctor_print.c). */
void lp_doctor_print_net(const json_t *report, FILE *f);

#endif
