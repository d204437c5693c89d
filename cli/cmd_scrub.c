/* lsptap scrub SESSION [-o OUT]: a copy of a session safe to share. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/commands.h"
#include "inspect/li_scrub.h"
#include "proxy/lp_redact.h"

struct li_scrub *scrub_new_for_user(void)
{
    /* The one place the secret rules reach the scrubber: the names
     * lp_redact calls secret get "<secret>" for a value. */
    struct li_scrub *s = li_scrub_new(lp_redact_is_secret_name);
    if (!s) return NULL;
    /* Who and where: never kept, even where they are common words. */
    const struct passwd *pw = getpwuid(getuid());
    if (pw && pw->pw_name) li_scrub_add_sensitive(s, pw->pw_name);
    const char *user = getenv("USER");
    if (user && *user) li_scrub_add_sensitive(s, user);
    char host[256];
    if (gethostname(host, sizeof host) == 0) {
        host[sizeof host - 1] = '\0';
        li_scrub_add_sensitive(s, host);
        char *dot = strchr(host, '.');
        if (dot) *dot = '\0', li_scrub_add_sensitive(s, host);
    }
    return s;
}

int out_same_as(const char *out, const char *in)
{
    struct stat a, b;
    return stat(out, &a) == 0 && stat(in, &b) == 0 && a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

FILE *out_begin(const char *dest, char *tmp, size_t tmplen)
{
    if ((size_t)snprintf(tmp, tmplen, "%s.XXXXXX", dest) >= tmplen) {
        errno = ENAMETOOLONG;
        return NULL;
    }
    int fd = mkstemp(tmp);
    if (fd < 0) return NULL;
    FILE *f = fdopen(fd, "wb");
    if (!f) {
        int e = errno;
        close(fd);
        unlink(tmp);
        errno = e;
    }
    return f;
}

int out_commit(FILE *f, const char *tmp, const char *dest)
{
    int rc = fflush(f) || fsync(fileno(f));
    if (fclose(f)) rc = 1;
    if (!rc && rename(tmp, dest) == 0) return 0;
    int e = errno;
    unlink(tmp);
    errno = e;
    return -1;
}

void out_abort(FILE *f, const char *tmp)
{
    fclose(f);
    unlink(tmp);
}

void scrub_print_counts(const struct li_scrub *s, FILE *f, const char *indent)
{
    json_t *c = li_scrub_counts(s);
    const char *k;
    json_t *v;
    json_object_foreach(c, k, v)
    {
        fprintf(f, "%s%-12s %6lld distinct, %7lld occurrences\n", indent, k,
                (long long)json_integer_value(json_object_get(v, "distinct")),
                (long long)json_integer_value(json_object_get(v, "occurrences")));
    }
    json_decref(c);
}

static int usage(FILE *f)
{
    fputs("usage: lsptap scrub SESSION.jsonl [-o OUT.jsonl]\n"
          "Writes a copy of the session in which source text, identifiers, string\n"
          "literals, paths, URIs, module paths, user and host names, environment\n"
          "values and secrets are replaced by placeholders (the same original always\n"
          "by the same placeholder), while methods, ids, timing, sizes, positions,\n"
          "error codes and versions stay. Without -o (or with -o -) the copy goes to\n"
          "standard output. See docs/bundle.md; `lsptap bundle` packs it for a report.\n",
          f);
    return f == stdout ? 0 : 2;
}

int cmd_scrub(int argc, char **argv)
{
    const char *in = NULL, *out = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-o") == 0 || strcmp(argv[i], "--output") == 0) {
            if (++i == argc) return fprintf(stderr, "lsptap scrub: -o needs a file\n"), 2;
            out = argv[i];
        } else if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            return usage(stdout);
        } else if (argv[i][0] == '-' && argv[i][1] != '\0') {
            return fprintf(stderr, "lsptap scrub: unknown option %s\n", argv[i]), usage(stderr);
        } else if (in) {
            return fprintf(stderr, "lsptap scrub: one session file at a time\n"), usage(stderr);
        } else {
            in = argv[i];
        }
    }
    if (!in) return usage(stderr);
    int to_stdout = !out || strcmp(out, "-") == 0;
    if (!to_stdout && out_same_as(out, in))
        return fprintf(stderr, "lsptap scrub: %s is the input; choose another output\n", out), 2;

    struct li_scrub *s = scrub_new_for_user();
    if (!s) return fprintf(stderr, "lsptap scrub: out of memory\n"), 1;
    char tmp[PATH_MAX + 16], err[4600];
    FILE *f = to_stdout ? stdout : out_begin(out, tmp, sizeof tmp);
    if (!f) {
        fprintf(stderr, "lsptap scrub: cannot create %s: %s\n", out, strerror(errno));
        li_scrub_free(s);
        return 1;
    }
    if (!to_stdout) fchmod(fileno(f), 0600); /* a session file's mode */
    int rc = li_scrub_file(s, in, f, stderr, err, sizeof err);
    if (rc) {
        fprintf(stderr, "lsptap scrub: %s\n", err);
        if (!to_stdout) out_abort(f, tmp);
    } else if (to_stdout ? fflush(stdout) != 0 : out_commit(f, tmp, out) != 0) {
        fprintf(stderr, "lsptap scrub: cannot write %s: %s\n", to_stdout ? "stdout" : out,
                strerror(errno));
        rc = 1;
    } else {
        fprintf(stderr, "lsptap scrub: %s -> %s; replaced:\n", in, to_stdout ? "stdout" : out);
        scrub_print_counts(s, stderr, "  ");
    }
    li_scrub_free(s);
    return rc;
}
