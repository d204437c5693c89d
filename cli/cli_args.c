#include "cli/cli_args.h"

#include <assert.h>
#include <string.h>

int cli_usage(const struct cli_args *a, FILE *f)
{
    fputs(a->usage, f);
    return f == stdout ? 0 : 2;
}

int cli_is_option(const char *arg)
{
    return arg[0] == '-' && arg[1] != '\0';
}

static const struct cli_opt *find(const struct cli_opt *o, const char *arg)
{
    for (; o && o->name; o++)
        if (!strcmp(arg, o->name) || (o->alias && !strcmp(arg, o->alias))) return o;
    return NULL;
}

int cli_parse(const struct cli_args *a, int argc, char **argv)
{
    assert(a->one || a->many); /* where positional arguments go */
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        const struct cli_opt *o = find(a->opts, arg);
        if (o && o->flag) {
            *o->flag = 1;
        } else if (o) {
            assert(o->value && o->needs);
            if (++i == argc)
                return fprintf(stderr, "lsptap %s: %s needs %s\n", a->cmd, arg, o->needs), 2;
            *o->value = argv[i];
        } else if (!strcmp(arg, "-h") || !strcmp(arg, "--help")) {
            return cli_usage(a, stdout);
        } else if (cli_is_option(arg)) {
            fprintf(stderr, "lsptap %s: unknown option %s\n", a->cmd, arg);
            return cli_usage(a, stderr);
        } else if (!a->one) {
            ++*a->many;
        } else if (*a->one) {
            fprintf(stderr, "lsptap %s: one %s at a time\n", a->cmd, a->one_what);
            return cli_usage(a, stderr);
        } else {
            *a->one = arg;
        }
    }
    return -1;
}

int cli_parse_session_out(struct cli_session_out *a, const char *cmd, const char *usage,
                          int need_out, int argc, char **argv)
{
    *a = (struct cli_session_out){
        .opts = {{"-o", "--output", NULL, &a->out, "a file"}, {0}},
        .args = {cmd, usage, a->opts, &a->session, "session file", NULL},
    };
    int rc = cli_parse(&a->args, argc, argv);
    if (rc < 0 && (!a->session || (need_out && !a->out))) rc = cli_usage(&a->args, stderr);
    return rc;
}
