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

#include "cli/cli_args.h"
#include "cli/commands.h"
#include "inspect/li_outfile.h"
#include "inspect/li_redact.h"
#include "inspect/li_scrub.h"

struct li_scrub *scrub_new_for_user(void)
{
    /* The one place the secret rules reach the scrubber: the names
     * li_redact calls secret get "<secret>" for a value. */
    struct li_scrub *s = li_scrub_new(li_redact_is_secret_name);
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

static const char USAGE[] =
    "usage: lsptap scrub SESSION.jsonl [-o OUT.jsonl]\n"
    "Writes a copy of the session in which source text, identifiers, string\n"
    "literals, paths, URIs, module paths, user and host names, environment\n"
    "values and secrets are replaced by placeholders (the same original always\n"
    "by the same placeholder), while methods, ids, timing, sizes, positions,\n"
    "error codes and versions stay. Without -o (or with -o -) the copy goes to\n"
    "standard output. See docs/bundle.md; `lsptap bundle` packs it for a report.\n";

int cmd_scrub(int argc, char **argv)
{
    struct cli_session_out a;
    int prc = cli_parse_session_out(&a, "scrub", USAGE, 0, argc, argv);
    if (prc >= 0) return prc;
    const char *in = a.session, *out = a.out;
    int to_stdout = !out || strcmp(out, "-") == 0;
    struct li_outfile o;
    const char *inputs[] = {in, NULL};
    char err[4600];
    int orc = li_outfile_open(&o, out, inputs, err, sizeof err);
    if (orc) return fprintf(stderr, "lsptap scrub: %s\n", err), orc == -EINVAL ? 2 : 1;
    if (o.tmp[0]) fchmod(fileno(o.f), 0600); /* a session file's mode */
    struct li_scrub *s = scrub_new_for_user();
    if (!s) {
        li_outfile_abort(&o);
        return fprintf(stderr, "lsptap scrub: out of memory\n"), 1;
    }
    int rc = li_scrub_file(s, in, o.f, stderr, err, sizeof err);
    if (rc) {
        fprintf(stderr, "lsptap scrub: %s\n", err);
        li_outfile_abort(&o);
    } else if (li_outfile_commit(&o, err, sizeof err) != 0) {
        fprintf(stderr, "lsptap scrub: %s\n", err);
        rc = 1;
    } else {
        fprintf(stderr, "lsptap scrub: %s -> %s; replaced:\n", in, to_stdout ? "stdout" : out);
        scrub_print_counts(s, stderr, "  ");
    }
    li_scrub_free(s);
    return rc;
}
