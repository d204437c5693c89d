/*
 * Fault injection: scrubbing session lines (li_scrub) when the nth
 * allocation fails, for every n the scrubbing makes, once and from then on:
 * li_scrub_new returns NULL or a scrubber, li_scrub_line returns 0 or
 * -ENOMEM (never a crash), a line it returns 0 for holds none of the
 * originals it was asked to hide, and once everything is freed nothing it
 * allocated is left.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fault/fail_alloc.h"
#include "inspect/li_scrub.h"

static const char *const lines[] = {
    "{\"lsptap\":1,\"protocol\":\"lsp\",\"cwd\":\"/home/ann/zanzibar\",\"argv\":[\"gopls\","
    "\"--auth-token=hunter2\"],\"env\":{\"PATH\":\"/home/ann/bin\",\"MY_TOKEN\":\"hunter2\"}}",
    "{\"t_us\":1,\"dir\":\"c2s\",\"bytes\":60,\"kind\":\"notification\",\"method\":"
    "\"textDocument/didOpen\",\"body\":{\"params\":{\"textDocument\":{\"uri\":\"file:///home/ann/"
    "zanzibar/frob.go\",\"text\":\"package frob\\nfunc Frobnicate() {}\\n\"}}}}",
    "{\"t_us\":2,\"dir\":\"s2c\",\"bytes\":60,\"kind\":\"response\",\"method\":"
    "\"textDocument/codeAction\",\"id\":1,\"body\":{\"result\":[{\"title\":\"Fix Frobnicate\","
    "\"edit\":{\"changes\":{\"file:///home/ann/zanzibar/frob.go\":[{\"newText\":\"Frobnicate\"}]}}"
    "}]}}",
    "{\"t_us\":3,\"event\":\"netcheck\",\"summary\":\"refused by 10.1.2.3 at https://ann:pw@h/x\"}",
};

static int secret(const char *name)
{
    return strstr(name, "TOKEN") != NULL || strstr(name, "token") != NULL;
}

/* Returns how many lines came out scrubbed (0 when the scrubber could not
 * be made). */
static int scrub_all(void)
{
    struct li_scrub *s = li_scrub_new(secret);
    if (!s) return 0;
    int ok = 0;
    li_scrub_add_sensitive(s, "ann");
    for (size_t i = 0; i < sizeof lines / sizeof lines[0]; i++) {
        json_t *v = json_loads(lines[i], 0, NULL);
        if (!v) continue;
        li_scrub_learn(s, v);
        int rc = li_scrub_line(s, v);
        assert_true(rc == 0 || rc == -ENOMEM);
        if (rc == 0) {
            char *d = json_dumps(v, JSON_COMPACT);
            if (d) {
                for (const char *const *w = (const char *const[]){"hunter2", "Frobnicate",
                                                                  "zanzibar", "10.1.2.3", NULL};
                     *w; w++)
                    if (strstr(d, *w)) fail_msg("%s survived in %s", *w, d);
                free(d);
            }
            ok++;
        }
        json_decref(v);
    }
    char *t = li_scrub_text(s, "see /home/ann/x.go", 18);
    free(t);
    json_decref(li_scrub_counts(s));
    li_scrub_free(s);
    return ok;
}

static void check_failures(int persistent)
{
    fail_alloc_arm(0, 0);
    assert_int_equal(scrub_all(), 4);
    unsigned long total = fail_alloc_calls();
    assert_int_equal(fail_alloc_live(), 0);
    for (unsigned long n = 1; n <= total; n++) {
        fail_alloc_arm(n, persistent);
        scrub_all();
        fail_alloc_arm(0, 0);
        if (fail_alloc_live() != 0) fail_msg("allocation %lu failing leaves blocks behind", n);
    }
}

FAIL_ALLOC_MAIN(check_failures, NULL, NULL)
