/*
 * lp_doctor_print — see lp_doctor.h: the doctor's report (lp_doctor_run,
 * lp_doctor_net) for a person, section by section. Reads only the report's
 * JSON, so what is printed is what `lsptap doctor --json` gives.
 */
#include <stdio.h>
#include <string.h>

#include "env/lp_doctor.h"

static const char *str(const json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));
    return s ? s : "";
}

static void print_problems(const json_t *rep, FILE *f)
{
    const json_t *probs = json_object_get(rep, "problems");
    size_t n = json_array_size(probs);
    if (!n) {
        fprintf(f, "No problems found%s.\n\n",
                json_is_true(json_object_get(rep, "verified")) ? ": go accepts this environment"
                                                               : "");
        return;
    }
    fprintf(f, "%zu problem%s:\n", n, n == 1 ? "" : "s");
    size_t i;
    const json_t *p;
    json_array_foreach(probs, i, p)
    {
        fprintf(f, "  %s [%s] %s\n", str(p, "severity"), str(p, "check"), str(p, "variable"));
        fprintf(f, "    %s\n    fix: %s\n", str(p, "message"), str(p, "fix"));
    }
    const json_t *rep_list = json_object_get(rep, "repairs");
    if (json_array_size(rep_list)) {
        fprintf(f, "  Repaired environment (what the stand-in's repair gives gopls):");
        json_array_foreach(rep_list, i, p)
        {
            if (!strcmp(str(p, "action"), "unset"))
                fprintf(f, " %s unset;", str(p, "variable"));
            else
                fprintf(f, " %s=%s;", str(p, "variable"), str(p, "value"));
        }
        fputc('\n', f);
    }
    fputc('\n', f);
}

static void print_tool(const char *name, const json_t *t, FILE *f)
{
    if (json_is_null(json_object_get(t, "path"))) {
        fprintf(f, "  %-6s not found\n", name);
        const char *e = str(t, "error");
        for (const char *l = e; *l;) {
            size_t n = strcspn(l, "\n");
            fprintf(f, "         %.*s\n", (int)n, l);
            l += n;
            if (*l) l++;
        }
        return;
    }
    fprintf(f, "  %-6s %s  (%s)\n", name, str(t, "path"), str(t, "version"));
}

static void print_tools(const json_t *rep, FILE *f)
{
    const json_t *g = json_object_get(rep, "go"), *tools = json_object_get(rep, "tools");
    fprintf(f, "Tools (as VS Code would find them):\n");
    if (json_is_null(json_object_get(g, "path")))
        fprintf(f, "  go     not found\n");
    else
        fprintf(f, "  go     %s  (%s; found in %s)\n", str(g, "path"), str(g, "version"),
                str(g, "found_in"));
    print_tool("gopls", json_object_get(tools, "gopls"), f);
    print_tool("dlv", json_object_get(tools, "dlv"), f);
    const json_t *si = json_object_get(tools, "stand_ins");
    fprintf(f, "  lsptap %s\n", str(si, "lsptap"));
    size_t i;
    const json_t *l;
    const json_t *links = json_object_get(si, "links");
    if (!json_array_size(links))
        fprintf(f, "  stand-ins: none next to lsptap (make install puts them in "
                   "PREFIX/lib/lsptap)\n");
    json_array_foreach(links, i, l)
    {
        fprintf(f, "  stand-in %-5s %s%s\n", str(l, "tool"), str(l, "path"),
                json_is_true(json_object_get(l, "is_lsptap")) ? "" : "  (NOT this lsptap)");
    }
    fputc('\n', f);
    const json_t *env = json_object_get(g, "env");
    if (env) {
        fprintf(f, "go env:\n");
        const char *k;
        const json_t *v;
        json_object_foreach((json_t *)env, k, v)
        {
            if (*json_string_value(v)) fprintf(f, "  %s=%s\n", k, json_string_value(v));
        }
        fputc('\n', f);
    } else if (json_object_get(g, "env_error")) {
        fprintf(f, "go env: failed: %s\n\n", str(g, "env_error"));
    }
}

static void print_paths(const json_t *rep, FILE *f)
{
    const json_t *p = json_object_get(rep, "path");
    const json_t *a = json_object_get(p, "process"), *b = json_object_get(p, "login_shell");
    fprintf(f, "PATH:\n  %-44s %s\n", "this process", "login shell");
    size_t n = json_array_size(a) > json_array_size(b) ? json_array_size(a) : json_array_size(b);
    for (size_t i = 0; i < n; i++) {
        const char *x = json_string_value(json_array_get(a, i));
        const char *y = json_string_value(json_array_get(b, i));
        fprintf(f, "  %-44s %s\n", x ? x : "", y ? y : "");
    }
    if (json_is_null(b)) fprintf(f, "  (login shell: %s)\n", str(p, "login_shell_error"));
    fputc('\n', f);
}

static void print_rest(const json_t *rep, FILE *f)
{
    const json_t *w = json_object_get(rep, "workspace");
    fprintf(f, "Workspace: %s\n", str(w, "dir"));
    fprintf(f, "  go.mod  %s\n",
            json_is_null(json_object_get(w, "go_mod")) ? "none" : str(w, "go_mod"));
    if (!json_is_null(json_object_get(w, "module"))) fprintf(f, "  module  %s\n", str(w, "module"));
    fprintf(f, "  go.work %s\n\n",
            json_is_null(json_object_get(w, "go_work")) ? "none" : str(w, "go_work"));

    const json_t *sv = json_object_get(rep, "servers");
    size_t i, j;
    const json_t *s, *a;
    fprintf(f, "gopls daemons and dlv servers listening (this user):%s\n",
            json_array_size(sv) ? "" : " none");
    json_array_foreach(sv, i, s)
    {
        fprintf(f, "  pid %lld %s:", (long long)json_integer_value(json_object_get(s, "pid")),
                str(s, "name"));
        const json_t *listen = json_object_get(s, "listen");
        json_array_foreach(listen, j, a)
        {
            fprintf(f, " %s", json_string_value(a));
        }
        fputc('\n', f);
    }
    fputc('\n', f);

    const json_t *ss = json_object_get(rep, "sessions");
    const json_t *recent = json_object_get(ss, "recent");
    fprintf(f, "Recent sessions in %s:%s\n", str(ss, "dir"),
            json_array_size(recent) ? "" : " none");
    json_array_foreach(recent, i, s)
    {
        fprintf(f, "  %s  %s %s: %s", str(s, "file"), str(s, "role"), str(s, "start"),
                *str(s, "error") ? str(s, "error") : str(s, "ending"));
        const json_t *ev = json_object_get(s, "events");
        size_t shown = 0;
        json_array_foreach(ev, j, a)
        {
            const char *e = json_string_value(a);
            if (!strcmp(e, "exit") || !strcmp(e, "spawn")) continue;
            fprintf(f, "%s%s", shown++ ? ", " : " (", e);
        }
        fprintf(f, "%s\n", shown ? ")" : "");
    }
}

void lp_doctor_print(const json_t *report, FILE *f)
{
    print_problems(report, f);
    print_tools(report, f);
    print_paths(report, f);
    print_rest(report, f);
}

void lp_doctor_print_net(const json_t *rep, FILE *f)
{
    const json_t *net = json_object_get(rep, "net");
    if (!net) return;
    fputs("\nnetwork (what go connects to when gopls loads a workspace)\n", f);
    size_t i;
    json_t *c;
    if (!json_array_size(json_object_get(net, "checks")))
        fputs("  nothing to check: GOPROXY has no server entry, GOSUMDB is off, no proxy is set\n",
              f);
    json_array_foreach(json_object_get(net, "checks"), i, c)
    {
        const char *layer = json_string_value(json_object_get(c, "failed_layer"));
        fprintf(f, "  %-28s %-28s %s%s%s\n", str(c, "role"), str(c, "target"), layer ? layer : "ok",
                layer ? " failed: " : "", layer ? str(c, "verdict") : "");
        json_t *conn = json_object_get(c, "connect");
        if (*str(c, "through_proxy"))
            fprintf(f, "  %-28s go goes through the HTTP proxy %s%s%s%s\n", "",
                    str(c, "through_proxy"), conn ? "; CONNECT: \"" : "",
                    conn ? str(conn, "status") : "", conn ? "\"" : "");
    }
    json_array_foreach(json_object_get(net, "hints"), i, c)
    {
        fprintf(f, "  hint: %s\n", json_string_value(c));
    }
}
