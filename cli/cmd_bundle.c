/* lsptap bundle [SESSION...] [-o FILE.tar.gz] [--no-scrub]: one archive with
 * everything a bug report about gopls, Delve or vscode-go needs, scrubbed.
 * The parts are made in a private staging directory (the readers run as
 * lsptap subcommands there, so their output names no user path), then
 * packed into FILE.tar.gz written atomically. docs/bundle.md. */
#include <ctype.h>
#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "cli/bundle_tar.h"
#include "cli/commands.h"
#include "env/lp_config.h"
#include "env/lp_find.h"
#include "env/lp_run.h"
#include "inspect/li_buf.h"
#include "inspect/li_outfile.h"
#include "inspect/li_reader.h"
#include "inspect/li_scrub.h"
#include "inspect/li_tail.h"

#define MAX_SESSIONS 64
#define MAX_FILES (MAX_SESSIONS * 6 + 8)

struct bundle {
    struct li_scrub *s; /* NULL with --no-scrub */
    char self[PATH_MAX];
    char stage[PATH_MAX];
    char stamp[32];
    const char *files[MAX_FILES]; /* relative to stage, malloc'd */
    size_t nfiles;
    size_t netchecks[MAX_SESSIONS];
    json_t *headers[MAX_SESSIONS]; /* each session's header (original) */
    struct li_outfile out;         /* open from the start: refuses an input as output */
    int out_open;
};

static int usage(FILE *f)
{
    fputs("usage: lsptap bundle [SESSION.jsonl...] [-o FILE.tar.gz] [--no-scrub]\n"
          "Packs what a bug report needs into one gzip'd tar: the session(s) scrubbed\n"
          "(see lsptap scrub), their HTML report, lsptap stats (text and JSON), lsptap\n"
          "doctor --json (scrubbed), the versions of lsptap, the OS, gopls, go and dlv,\n"
          "the netcheck reports the sessions recorded, and a MANIFEST saying what was\n"
          "replaced and how to read the rest. Without SESSION: the newest session in\n"
          "the session directory. Default output: ./lsptap-bundle-TIME.tar.gz.\n"
          "--no-scrub keeps everything as recorded (for your own use, not to post).\n",
          f);
    return f == stdout ? 0 : 2;
}

static void path_in(const struct bundle *b, const char *rel, char *out, size_t n)
{
    snprintf(out, n, "%s/%s", b->stage, rel);
}

static int note_file(struct bundle *b, const char *rel)
{
    if (b->nfiles == MAX_FILES) return -ENOSPC;
    char *c = strdup(rel);
    if (!c) return -ENOMEM;
    b->files[b->nfiles++] = c;
    return 0;
}

/* Writes text to stage/rel (scrubbed as free text unless --no-scrub). */
static int write_part(struct bundle *b, const char *rel, const char *text, size_t len, int scrub)
{
    char path[PATH_MAX + 64];
    path_in(b, rel, path, sizeof path);
    char *scrubbed = scrub && b->s ? li_scrub_text(b->s, text, len) : NULL;
    if (scrub && b->s && !scrubbed) return -ENOMEM;
    if (scrubbed) text = scrubbed, len = strlen(scrubbed);
    FILE *f = fopen(path, "wb");
    int rc = !f || fwrite(text, 1, len, f) != len;
    if (f && fclose(f)) rc = 1;
    free(scrubbed);
    if (rc) return -errno ? -errno : -EIO;
    return note_file(b, rel);
}

/* write_part (not scrubbed) of a text built in t, which it frees: -ENOMEM
 * when building it ran out of memory. */
static int write_buf_part(struct bundle *b, const char *rel, struct li_buf *t)
{
    int rc = !t->p || t->oom ? -ENOMEM : write_part(b, rel, t->p, t->len, 0);
    li_buf_free(t);
    return rc;
}

/* Runs `lsptap ARGS...` in dir; its stdout into stage/rel (as is: it reads
 * only scrubbed files). Returns 0 or a negative errno; a failed run is
 * written down in the file instead. */
static int run_self(struct bundle *b, const char *dir, const char *rel, char *const args[])
{
    char *av[8] = {b->self};
    for (int i = 0; i < 6 && args[i]; i++)
        av[i + 1] = args[i];
    struct lp_run_result r;
    char cwd[PATH_MAX + 64];
    path_in(b, dir, cwd, sizeof cwd);
    int rc = lp_run(av, NULL, cwd, 120000, &r);
    if (rc == -ENOMEM) return rc;
    if (rc == 0 && r.status == 0 && r.out && r.out[0]) {
        rc = write_part(b, rel, r.out, strlen(r.out), 0);
    } else {
        char msg[4096];
        snprintf(msg, sizeof msg, "lsptap %s failed (status %d): %s\n", args[0], r.status,
                 r.err ? r.err : "");
        rc = write_part(b, rel, msg, strlen(msg), 1);
    }
    lp_run_free(&r);
    return rc;
}

/* Copies the netcheck events of a (scrubbed) session into their own file. */
static int extract_netchecks(struct bundle *b, size_t i, const char *session_rel)
{
    char path[PATH_MAX + 64], err[512];
    path_in(b, session_rel, path, sizeof path);
    struct li_reader *r = li_reader_open(path, err, sizeof err);
    if (!r) return -EIO;
    json_t *line, *all = json_array();
    size_t no;
    int rc;
    while (all && (rc = li_reader_next(r, &line, &no, err, sizeof err)) != LI_READ_EOF &&
           rc != LI_READ_ERROR) {
        if (rc != LI_READ_LINE) continue;
        const char *ev = json_string_value(json_object_get(line, "event"));
        if (ev && strcmp(ev, "netcheck") == 0 && !json_object_get(line, "dir"))
            json_array_append(all, line);
        json_decref(line);
    }
    li_reader_close(r);
    if (!all) return -ENOMEM;
    b->netchecks[i] = json_array_size(all);
    rc = 0;
    if (b->netchecks[i]) {
        char rel[64];
        snprintf(rel, sizeof rel, "session%zu/netcheck.json", i + 1);
        char *text = json_dumps(all, JSON_INDENT(2));
        rc = text ? write_part(b, rel, text, strlen(text), 0) : -ENOMEM;
        free(text);
    }
    json_decref(all);
    return rc;
}

/* The header of a session (its first line), for the doctor's directory and
 * the MANIFEST. */
static json_t *first_line(const char *path)
{
    char err[512];
    struct li_reader *r = li_reader_open(path, err, sizeof err);
    if (!r) return NULL;
    json_t *line = NULL;
    size_t no;
    if (li_reader_next(r, &line, &no, err, sizeof err) != LI_READ_LINE) line = NULL;
    li_reader_close(r);
    return line;
}

static int add_session(struct bundle *b, size_t i, const char *in, char *err, size_t errlen)
{
    char dir[32], rel[64], path[PATH_MAX + 64];
    snprintf(dir, sizeof dir, "session%zu", i + 1);
    path_in(b, dir, path, sizeof path);
    if (mkdir(path, 0700) != 0) return snprintf(err, errlen, "cannot create %s", path), 1;
    snprintf(rel, sizeof rel, "%s/session.jsonl", dir);
    path_in(b, rel, path, sizeof path);
    FILE *f = fopen(path, "wb");
    if (!f) return snprintf(err, errlen, "cannot create %s: %s", path, strerror(errno)), 1;
    int rc;
    if (b->s) {
        rc = li_scrub_file(b->s, in, f, stderr, err, errlen);
    } else {
        FILE *src = fopen(in, "rb");
        char buf[65536];
        size_t n;
        rc = src ? 0 : 2;
        if (!src) snprintf(err, errlen, "cannot open %s: %s", in, strerror(errno));
        while (src && (n = fread(buf, 1, sizeof buf, src)) > 0)
            if (fwrite(buf, 1, n, f) != n) rc = 1;
        if (src) fclose(src);
    }
    if (fclose(f) && !rc) rc = 1;
    if (rc) return rc;
    if (note_file(b, rel)) return snprintf(err, errlen, "out of memory"), 1;
    b->headers[i] = first_line(in);

    char *report[] = {"report", "session.jsonl", "-o", "report.html", NULL};
    char *stats[] = {"stats", "session.jsonl", NULL};
    char *stats_json[] = {"stats", "session.jsonl", "--json", NULL};
    char r1[64], r2[64], r3[64];
    snprintf(r1, sizeof r1, "%s/stats.txt", dir);
    snprintf(r2, sizeof r2, "%s/stats.json", dir);
    snprintf(r3, sizeof r3, "%s/report.html", dir);
    struct lp_run_result rr;
    char *av[8] = {b->self, report[0], report[1], report[2], report[3], NULL};
    path_in(b, dir, path, sizeof path);
    if (lp_run(av, NULL, path, 300000, &rr) == 0 && rr.status == 0)
        note_file(b, r3);
    else
        fprintf(stderr, "lsptap bundle: the report of %s failed: %s", in, rr.err ? rr.err : "");
    lp_run_free(&rr);
    if (run_self(b, dir, r1, stats) || run_self(b, dir, r2, stats_json) ||
        extract_netchecks(b, i, rel))
        return snprintf(err, errlen, "cannot write the parts of %s", in), 1;
    return 0;
}

/* `lsptap doctor --json` for the first session's workspace, scrubbed as a
 * JSON document (so its paths get the session's placeholders). */
static int add_doctor(struct bundle *b)
{
    const char *cwd = json_string_value(json_object_get(b->headers[0], "cwd"));
    struct stat st;
    char *av[] = {b->self, "doctor", "--json", NULL, NULL};
    if (cwd && stat(cwd, &st) == 0 && S_ISDIR(st.st_mode)) av[3] = (char *)cwd;
    struct lp_run_result r;
    int rc = lp_run(av, NULL, b->stage, 120000, &r);
    if (rc == -ENOMEM) return rc;
    json_t *doc = rc == 0 && r.out ? json_loads(r.out, 0, NULL) : NULL;
    if (doc) {
        if (b->s && li_scrub_json(b->s, doc)) rc = -ENOMEM;
        char *text = rc ? NULL : json_dumps(doc, JSON_INDENT(2));
        rc = text ? write_part(b, "doctor.json", text, strlen(text), 0) : -ENOMEM;
        free(text);
        json_decref(doc);
    } else {
        char msg[8192];
        snprintf(msg, sizeof msg, "lsptap doctor --json gave no JSON (status %d):\n%s\n%s",
                 r.status, r.out ? r.out : "", r.err ? r.err : "");
        rc = write_part(b, "doctor.txt", msg, strlen(msg), 1);
    }
    lp_run_free(&r);
    return rc;
}

/* The first executable `name` on PATH (go is not one lsptap stands in for). */
static int on_path(const char *name, char *out, size_t n)
{
    const char *p = getenv("PATH");
    while (p && *p) {
        const char *e = strchr(p, ':');
        size_t l = e ? (size_t)(e - p) : strlen(p);
        if (l && (size_t)snprintf(out, n, "%.*s/%s", (int)l, p, name) < n && access(out, X_OK) == 0)
            return 0;
        p = e ? e + 1 : NULL;
    }
    return -ENOENT;
}

static void version_of(struct li_buf *t, const char *label, const char *bin, char *const args[])
{
    li_buf_str(t, "== ");
    li_buf_str(t, label);
    li_buf_str(t, "\n");
    if (!bin) {
        li_buf_str(t, "(not found)\n\n");
        return;
    }
    char *av[6] = {(char *)bin};
    for (int i = 0; i < 4 && args[i]; i++)
        av[i + 1] = args[i];
    struct lp_run_result r;
    if (lp_run(av, NULL, NULL, 30000, &r) == 0) {
        li_buf_str(t, r.out ? r.out : "");
        if (r.status != 0) {
            li_buf_str(t, r.err ? r.err : "");
            char st[64];
            snprintf(st, sizeof st, "(exit status %d)\n", r.status);
            li_buf_str(t, st);
        }
    } else {
        li_buf_str(t, "(could not run it)\n");
    }
    lp_run_free(&r);
    li_buf_str(t, "\n");
}

/* Replaces in t every occurrence of what (a whole word when word is set,
 * without regard to case) by with. */
static void replace_all(struct li_buf *t, const char *what, const char *with, int word)
{
    size_t wl = strlen(what);
    if (!t->p || wl < 2) return;
    struct li_buf o = {0};
    li_buf_str(&o, "");
    for (size_t i = 0; i < t->len;) {
        int hit = i + wl <= t->len && strncasecmp(t->p + i, what, wl) == 0;
        if (hit && word)
            hit = (i == 0 || !isalnum((unsigned char)t->p[i - 1])) &&
                  !isalnum((unsigned char)t->p[i + wl]);
        if (hit) {
            li_buf_str(&o, with);
            i += wl;
        } else {
            li_buf_ch(&o, t->p[i]);
            i++;
        }
    }
    if (o.oom) { /* not masked: the caller must not write t */
        li_buf_free(&o);
        t->oom = 1;
        return;
    }
    li_buf_free(t);
    *t = o;
}

/* Tool versions hold no code, and their words are what a maintainer reads
 * first: only the home directory, the login and the host name go. */
static void mask_user(struct li_buf *t)
{
    const char *home = getenv("HOME");
    if (home && strlen(home) > 1) replace_all(t, home, "~", 0);
    const struct passwd *pw = getpwuid(getuid());
    if (pw && pw->pw_name) replace_all(t, pw->pw_name, "<user>", 1);
    char host[256];
    if (gethostname(host, sizeof host) == 0) {
        host[sizeof host - 1] = '\0';
        replace_all(t, host, "<host>", 1);
    }
}

static int add_versions(struct bundle *b)
{
    struct li_buf t = {0};
    li_buf_str(&t,
               "== lsptap\nlsptap " LSPTAP_VERSION "\n\n== OS (uname, without the host name)\n");
    struct utsname u;
    if (uname(&u) == 0) {
        char line[1024];
        snprintf(line, sizeof line, "%s %s %s %s\n\n", u.sysname, u.release, u.version, u.machine);
        li_buf_str(&t, line);
    }
    struct lp_config cfg;
    char warn[1024], found[PATH_MAX], err[4096];
    lp_config_load(&cfg, warn, sizeof warn);
    int have =
        lp_find_tool("gopls", cfg.gopls, "LSPTAP_GOPLS", found, sizeof found, err, sizeof err) == 0;
    char *gopls_json[] = {"version", "-json", NULL}, *gopls_plain[] = {"version", NULL};
    version_of(&t, "gopls version -json", have ? found : NULL, gopls_json);
    version_of(&t, "gopls version", have ? found : NULL, gopls_plain);
    char go[PATH_MAX];
    char *go_args[] = {"version", NULL};
    version_of(&t, "go version", on_path("go", go, sizeof go) == 0 ? go : NULL, go_args);
    have = lp_find_tool("dlv", cfg.dlv, "LSPTAP_DLV", found, sizeof found, err, sizeof err) == 0;
    char *dlv_args[] = {"version", NULL};
    version_of(&t, "dlv version", have ? found : NULL, dlv_args);
    if (b->s) mask_user(&t);
    return write_buf_part(b, "versions.txt", &t);
}

static int add_manifest(struct bundle *b, size_t n, char *const *sessions)
{
    struct li_buf t = {0};
    char line[4096];
    snprintf(line, sizeof line, "lsptap bundle %s, made by lsptap %s.\n\n", b->stamp,
             LSPTAP_VERSION);
    li_buf_str(&t, line);
    if (b->s) {
        li_buf_str(
            &t, "For a bug report about gopls, Delve, vscode-go or lsptap. Everything here was\n"
                "scrubbed (docs/bundle.md): source text, identifiers, string literals, file\n"
                "paths and URIs, module paths, user and host names, environment values and\n"
                "secrets were replaced by placeholders. The same original always got the same\n"
                "placeholder, so references still line up. Kept: the JSON structure of every\n"
                "message, methods, ids, kinds, directions, timing, the recorded sizes (those\n"
                "of the original frames, so a scrubbed body's length differs from its \"bytes\"),\n"
                "error codes, positions and ranges, numbers, enum-like protocol values, the\n"
                "server's and the editor's name and version, common words in messages.\n\n"
                "Replaced (how many distinct values, how many occurrences; never the values):\n");
        json_t *c = li_scrub_counts(b->s);
        const char *k;
        json_t *v;
        json_object_foreach(c, k, v)
        {
            snprintf(line, sizeof line, "  %-12s %6lld distinct, %7lld occurrences\n", k,
                     (long long)json_integer_value(json_object_get(v, "distinct")),
                     (long long)json_integer_value(json_object_get(v, "occurrences")));
            li_buf_str(&t, line);
        }
        json_decref(c);
        li_buf_str(
            &t, "\nPlaceholders: v0042 / V0042 (a word, as long as the original; V when it began\n"
                "with a capital), 9000012 (a long number), <root> <root2> (the workspace\n"
                "roots), dirN, fileN.EXT (a path's names), hostN, 192.0.2.N (an address),\n"
                "<secret>. Go keywords and predeclared names are kept.\n\n");
    } else {
        li_buf_str(&t, "NOT SCRUBBED (--no-scrub): this archive holds source code, paths and\n"
                       "environment values as recorded. Do not post it publicly.\n\n");
    }
    li_buf_str(&t, "Files:\n  MANIFEST.txt            this file\n");
    for (size_t i = 0; i < n; i++) {
        const json_t *h = b->headers[i];
        snprintf(line, sizeof line,
                 "  session%zu/session.jsonl  the session (docs/session-format.md): %s, started "
                 "%s, lsptap %s\n"
                 "  session%zu/report.html    open in a browser: how it ended, timeline, latency, "
                 "messages\n"
                 "  session%zu/stats.txt, stats.json  lsptap stats of it\n",
                 i + 1, json_string_value(json_object_get(h, "protocol")) ?: "?",
                 json_string_value(json_object_get(h, "start")) ?: "?",
                 json_string_value(json_object_get(h, "lsptap_version")) ?: "?", i + 1, i + 1);
        li_buf_str(&t, line);
        if (b->netchecks[i])
            snprintf(line, sizeof line,
                     "  session%zu/netcheck.json  the %zu network diagnoses it recorded\n", i + 1,
                     b->netchecks[i]);
        else
            snprintf(line, sizeof line,
                     "  (session%zu recorded no network diagnosis: no connection failed)\n", i + 1);
        li_buf_str(&t, line);
    }
    (void)sessions;
    li_buf_str(
        &t, "  doctor.json             lsptap doctor --json: the environment gopls gets\n"
            "  versions.txt            lsptap, OS, gopls, go and dlv versions\n\n"
            "How to read the rest:\n"
            "  lsptap stats session1/session.jsonl\n"
            "  lsptap report session1/session.jsonl -o report.html\n"
            "  lsptap export --format inspector session1/session.jsonl   (gopls -rpc.trace text)\n"
            "  lsptap replay --serve session1/session.jsonl --rewrite-root /<root>=$PWD\n"
            "      plays the server's side to an editor (docs/replay.md); replaying the\n"
            "      editor's side against gopls needs the source, which is not here.\n");
    return write_buf_part(b, "MANIFEST.txt", &t);
}

static int remove_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)ftw;
    return flag == FTW_DP ? rmdir(path) : unlink(path);
}

/* The staging directory goes with whatever is in it (a report that failed
 * half-way may have left a file of its own). */
static void cleanup(struct bundle *b, size_t n)
{
    if (b->out_open) li_outfile_abort(&b->out);
    b->out_open = 0;
    for (size_t i = 0; i < b->nfiles; i++)
        free((char *)b->files[i]);
    for (size_t i = 0; i < n; i++)
        json_decref(b->headers[i]);
    if (b->stage[0] && nftw(b->stage, remove_one, 16, FTW_DEPTH | FTW_PHYS) != 0)
        fprintf(stderr, "lsptap bundle: could not remove all of %s: %s\n", b->stage,
                strerror(errno));
    li_scrub_free(b->s);
}

static int pack(struct bundle *b, char *err, size_t errlen)
{
    char path[PATH_MAX + 64], name[128];
    FILE *f = b->out.f;
    if (b->out.tmp[0]) fchmod(fileno(f), 0600);
    struct bundle_tar *t = bundle_tar_open(fileno(f));
    int rc = t ? 0 : -ENOMEM;
    time_t now = time(NULL);
    /* MANIFEST.txt, written last, goes first: what `tar -t` shows on top. */
    for (size_t k = 0; !rc && k < b->nfiles; k++) {
        size_t i = k == 0 ? b->nfiles - 1 : k - 1;
        snprintf(name, sizeof name, "lsptap-bundle-%s/%s", b->stamp, b->files[i]);
        path_in(b, b->files[i], path, sizeof path);
        rc = bundle_tar_add_file(t, name, path, now);
    }
    if (t && bundle_tar_close(t) && !rc) rc = -EIO;
    if (rc) {
        snprintf(err, errlen, "cannot write %s: %s", b->out.path, strerror(-rc));
        return rc; /* cleanup aborts the output */
    }
    b->out_open = 0;
    return li_outfile_commit(&b->out, err, errlen);
}

int cmd_bundle(int argc, char **argv)
{
    char *sessions[MAX_SESSIONS];
    size_t n = 0;
    const char *out = NULL;
    int no_scrub = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-o") == 0 || strcmp(argv[i], "--output") == 0) {
            if (++i == argc) return fprintf(stderr, "lsptap bundle: -o needs a file\n"), 2;
            out = argv[i];
        } else if (strcmp(argv[i], "--no-scrub") == 0) {
            no_scrub = 1;
        } else if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            return usage(stdout);
        } else if (argv[i][0] == '-' && argv[i][1] != '\0') {
            return fprintf(stderr, "lsptap bundle: unknown option %s\n", argv[i]), usage(stderr);
        } else if (n == MAX_SESSIONS) {
            return fprintf(stderr, "lsptap bundle: at most %d sessions\n", MAX_SESSIONS), 2;
        } else {
            sessions[n++] = argv[i];
        }
    }
    static struct bundle b;
    char newest[4352];
    if (n == 0) {
        struct lp_config cfg;
        char warn[1024];
        lp_config_load(&cfg, warn, sizeof warn);
        if (warn[0]) fprintf(stderr, "lsptap bundle: %s\n", warn);
        int found = li_tail_newest(cfg.dir, newest, sizeof newest);
        if (found <= 0)
            return fprintf(stderr,
                           "lsptap bundle: no session in %s (LSPTAP_DIR); name one: lsptap "
                           "bundle SESSION.jsonl\n",
                           cfg.dir),
                   2;
        sessions[n++] = newest;
        fprintf(stderr, "lsptap bundle: the newest session, %s\n", newest);
    }
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(b.stamp, sizeof b.stamp, "%Y%m%dT%H%M%SZ", &tm);
    char outbuf[128];
    if (!out) {
        snprintf(outbuf, sizeof outbuf, "lsptap-bundle-%s.tar.gz", b.stamp);
        out = outbuf;
    }
    const char *inputs[MAX_SESSIONS + 1];
    for (size_t i = 0; i < n; i++)
        inputs[i] = sessions[i];
    inputs[n] = NULL;
    char oerr[4600];
    int orc = li_outfile_open(&b.out, out, inputs, oerr, sizeof oerr);
    if (orc) return fprintf(stderr, "lsptap bundle: %s\n", oerr), orc == -EINVAL ? 2 : 1;
    b.out_open = 1;
    ssize_t sl = readlink("/proc/self/exe", b.self, sizeof b.self - 1);
    if (sl <= 0) return fprintf(stderr, "lsptap bundle: cannot find lsptap itself\n"), 1;
    b.self[sl] = '\0';

    char err[4600];
    if (!no_scrub && !(b.s = scrub_new_for_user()))
        return fprintf(stderr, "lsptap bundle: out of memory\n"), 1;
    /* Every session's roots first: one may name paths under another's. */
    for (size_t i = 0; b.s && i < n; i++) {
        int rc = li_scrub_learn_file(b.s, sessions[i], err, sizeof err);
        if (rc) {
            fprintf(stderr, "lsptap bundle: %s\n", err);
            cleanup(&b, 0);
            return rc;
        }
    }
    const char *tmpdir = getenv("TMPDIR");
    snprintf(b.stage, sizeof b.stage, "%s/lsptap-bundle-XXXXXX",
             tmpdir && *tmpdir ? tmpdir : "/tmp");
    if (!mkdtemp(b.stage)) {
        fprintf(stderr, "lsptap bundle: cannot create a staging directory %s: %s\n", b.stage,
                strerror(errno));
        b.stage[0] = '\0';
        cleanup(&b, 0);
        return 1;
    }
    int rc = 0;
    for (size_t i = 0; !rc && i < n; i++) {
        rc = add_session(&b, i, sessions[i], err, sizeof err);
        if (rc) fprintf(stderr, "lsptap bundle: %s\n", err);
    }
    if (!rc && (add_doctor(&b) || add_versions(&b) || add_manifest(&b, n, sessions))) {
        fprintf(stderr, "lsptap bundle: cannot write the bundle's parts in %s\n", b.stage);
        rc = 1;
    }
    if (!rc && pack(&b, err, sizeof err) != 0) {
        fprintf(stderr, "lsptap bundle: %s\n", err);
        rc = 1;
    }
    if (!rc) {
        struct stat st;
        long long size = stat(out, &st) == 0 ? (long long)st.st_size : -1;
        char abs[PATH_MAX];
        printf("lsptap bundle: wrote %s (%lld KiB): %zu session%s, %s\n",
               realpath(out, abs) ? abs : out, (size + 1023) / 1024, n, n == 1 ? "" : "s",
               b.s ? "scrubbed" : "NOT SCRUBBED (--no-scrub)");
        if (b.s) {
            printf("Replaced:\n");
            scrub_print_counts(b.s, stdout, "  ");
            printf(
                "Before posting it, look it over (tar -xzf %s):\n"
                "  - session1/report.html: skim the messages for anything of yours that\n"
                "    survived: messages keep common English words and numbers up to 6 digits;\n"
                "  - versions.txt: as the tools print it, less your home, login and host names;\n"
                "  - doctor.json: its paths and settings are scrubbed, its versions are not;\n"
                "  - MANIFEST.txt says what was replaced and what each file is.\n",
                out);
        } else {
            printf("It holds your source, paths and environment as recorded: do not post it.\n");
        }
    }
    cleanup(&b, n);
    return rc;
}
