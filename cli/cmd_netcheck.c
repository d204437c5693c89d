/*
 * lsptap netcheck HOST:PORT [options]: which network layer a connection
 * to HOST:PORT breaks at, and why. Thin: parses the options, runs
 * netcheck/ and renders its report (streamed text, or --json).
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli/commands.h"
#include "inspect/li_redact.h"
#include "netcheck/ln.h"
#include "netcheck/ln_render.h"

static void usage(FILE *f)
{
    fputs("usage: lsptap netcheck HOST:PORT [--tls] [--sni NAME] [--ca FILE]\n"
          "                        [--cert FILE --key FILE]\n"
          "                        [--probe lsp|dap|none] [--pcap FILE] [--json]\n"
          "                        [--timeout S] [-v]\n"
          "\n"
          "Checks the link, network, dns, transport, tls (with --tls) and application\n"
          "(--probe, default lsp) layers of a connection to HOST:PORT ([V6]:PORT for an\n"
          "IPv6 address) and names the first that fails, with a hint.\n"
          "Exit status: 0 no layer failed, 2 usage, 3 link, 4 network, 5 dns,\n"
          "6 transport, 7 tls, 8 application, 1 netcheck itself failed.\n",
          f);
}

/* The message may quote the target as typed, a credential included
 * (u:TOKEN@host:443): redacted like everything lsptap prints. */
static int usage_error(const char *msg, const char *arg)
{
    char line[2048];
    snprintf(line, sizeof line, "lsptap netcheck: %s%s%s\n", msg, arg ? " " : "", arg ? arg : "");
    li_redact_buf(line, sizeof line, environ);
    fputs(line, stderr);
    usage(stderr);
    return LN_EXIT_USAGE;
}

/* Streams layer lines to stdout; on a terminal a spinner names the layer
 * being checked, from its own thread, and is wiped before each line. */
struct stream {
    int verbose;
    int tty;
    pthread_mutex_t mu;
    pthread_t th;
    int running;
    const char *checking; /* layer being checked, NULL when none */
};

static void on_start(void *ud, enum ln_layer l)
{
    struct stream *s = ud;
    pthread_mutex_lock(&s->mu);
    s->checking = ln_layer_name(l);
    pthread_mutex_unlock(&s->mu);
}

static void on_layer(void *ud, const struct ln_report *rep, enum ln_layer l)
{
    struct stream *s = ud;
    pthread_mutex_lock(&s->mu);
    if (s->tty) fputs("\r\033[K", stdout);
    ln_render_layer(stdout, rep, l, s->verbose);
    s->checking = NULL;
    pthread_mutex_unlock(&s->mu);
}

static void *spin(void *ud)
{
    static const char frames[] = "|/-\\";
    struct stream *s = ud;
    for (unsigned i = 0;; i++) {
        pthread_mutex_lock(&s->mu);
        if (!s->running) {
            fputs("\r\033[K", stdout);
            fflush(stdout);
            pthread_mutex_unlock(&s->mu);
            return NULL;
        }
        if (s->checking) {
            printf("\r\033[K  %c checking %s...", frames[i % 4], s->checking);
            fflush(stdout);
        }
        pthread_mutex_unlock(&s->mu);
        struct timespec ts = {0, 100 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
}

/* "--opt VALUE" or "--opt=VALUE": returns VALUE (advancing *i) or NULL. */
static const char *opt_value(int argc, char **argv, int *i, const char *name)
{
    size_t n = strlen(name);
    if (!argv[*i] || strncmp(argv[*i], name, n)) return NULL;
    if (argv[*i][n] == '=') return argv[*i] + n + 1;
    if (argv[*i][n] != '\0') return NULL;
    if (*i + 1 >= argc) return NULL;
    return argv[++*i];
}

int cmd_netcheck(int argc, char **argv)
{
    struct ln_target t;
    ln_target_init(&t);
    const char *hostport = NULL, *v;
    int json = 0;
    struct stream st = {.verbose = 0};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            usage(stdout);
            return 0;
        } else if (!strcmp(a, "--tls")) {
            t.tls = 1;
        } else if (!strcmp(a, "--json")) {
            json = 1;
        } else if (!strcmp(a, "-v") || !strcmp(a, "--verbose")) {
            st.verbose = 1;
        } else if ((v = opt_value(argc, argv, &i, "--sni"))) {
            t.sni = v;
        } else if ((v = opt_value(argc, argv, &i, "--ca"))) {
            t.ca = v;
        } else if ((v = opt_value(argc, argv, &i, "--cert"))) {
            t.cert = v;
        } else if ((v = opt_value(argc, argv, &i, "--key"))) {
            t.key = v;
        } else if ((v = opt_value(argc, argv, &i, "--pcap"))) {
            t.pcap_path = v;
        } else if ((v = opt_value(argc, argv, &i, "--probe"))) {
            if (!strcmp(v, "lsp"))
                t.probe = LN_PROBE_LSP;
            else if (!strcmp(v, "dap"))
                t.probe = LN_PROBE_DAP;
            else if (!strcmp(v, "none"))
                t.probe = LN_PROBE_NONE;
            else
                return usage_error("--probe takes lsp, dap or none, not", v);
        } else if ((v = opt_value(argc, argv, &i, "--timeout"))) {
            char *end;
            double s = strtod(v, &end);
            if (*end || !(s > 0) || s > 600)
                return usage_error("--timeout takes seconds (0 < S <= 600), not", v);
            t.timeout_ms = (int)(s * 1000 + 0.5);
            if (t.timeout_ms < 1) t.timeout_ms = 1;
        } else if (a[0] == '-' && a[1]) {
            return usage_error("unknown or incomplete option", a);
        } else if (!hostport) {
            hostport = a;
        } else {
            return usage_error("one target only; extra argument", a);
        }
    }
    if (!hostport) return usage_error("missing HOST:PORT", NULL);
    if (!t.cert != !t.key) return usage_error("--cert and --key go together", NULL);
    char err[300];
    if (ln_target_parse(&t, hostport, err, sizeof(err)) < 0) return usage_error(err, NULL);

    struct ln_report rep;
    struct ln_observer obs = {on_start, on_layer, &st};
    pthread_mutex_init(&st.mu, NULL);
    if (!json) {
        ln_render_header(stdout, &t);
        st.tty = isatty(STDOUT_FILENO);
        st.running = st.tty && pthread_create(&st.th, NULL, spin, &st) == 0;
    }
    int rc = ln_run(&t, &rep, json ? NULL : &obs);
    if (st.running) {
        pthread_mutex_lock(&st.mu);
        st.running = 0;
        pthread_mutex_unlock(&st.mu);
        pthread_join(st.th, NULL);
    }
    if (rc < 0) {
        fprintf(stderr, "lsptap netcheck: %s\n", strerror(-rc));
        ln_report_free(&rep);
        return LN_EXIT_INTERNAL;
    }
    if (json) {
        json_t *o = ln_report_json(&rep);
        if (!o || json_dumpf(o, stdout, JSON_INDENT(2) | JSON_REAL_PRECISION(6)) < 0) {
            json_decref(o);
            ln_report_free(&rep);
            return LN_EXIT_INTERNAL;
        }
        fputc('\n', stdout);
        json_decref(o);
    } else {
        ln_render_verdict(stdout, &rep);
    }
    int code = ln_exit_code(&rep);
    ln_report_free(&rep);
    return code;
}
