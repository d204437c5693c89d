/*
 * The `lsptap <command>` entry points. Each takes the arguments after the
 * command name (argv[0] is the command) and returns the process exit code.
 */
#ifndef LSPTAP_CLI_COMMANDS_H
#define LSPTAP_CLI_COMMANDS_H

#include <stddef.h>
#include <stdio.h>

int cmd_gopls(int argc, char **argv, const char *self); /* the gopls stand-in */
int cmd_dlv(int argc, char **argv, const char *self);   /* the dlv stand-in */
int cmd_stats(int argc, char **argv);                   /* lsptap stats SESSION... */
int cmd_relay(int argc, char **argv);                   /* lsptap relay ... */
int cmd_doctor(int argc, char **argv);                  /* lsptap doctor [--json] [DIR] */
int cmd_report(int argc, char **argv);                  /* lsptap report SESSION -o FILE.html */
int cmd_ls(int argc, char **argv);                      /* lsptap ls [DIR] */
int cmd_export(int argc, char **argv);                  /* lsptap export --format F SESSION */
int cmd_tail(int argc, char **argv);                    /* lsptap tail [SESSION] */
int cmd_netcheck(int argc, char **argv);                /* lsptap netcheck HOST:PORT [options] */
int cmd_replay(int argc, char **argv);                  /* lsptap replay SESSION [options] */
int cmd_scrub(int argc, char **argv);                   /* lsptap scrub SESSION [-o OUT] */
int cmd_bundle(int argc, char **argv);                  /* lsptap bundle [SESSION...] [-o F] */

/* Shared by scrub and bundle (cmd_scrub.c). */
struct li_scrub;
/* A scrubber with the secret-name rules and this user's and host's names. */
struct li_scrub *scrub_new_for_user(void);
/* The replacement counts, a line per kind. */
void scrub_print_counts(const struct li_scrub *s, FILE *f, const char *indent);

#endif
