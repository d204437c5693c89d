#include "proxy/lp_redact.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

static const char *const secret_words[] = {
    "TOKEN", "SECRET", "PASSWORD", "PASSWD", "KEY", "CREDENTIAL", "AUTH", NULL,
};

int lp_redact_is_secret_name(const char *name)
{
    char up[256];
    size_t n = 0;
    for (; name[n] && name[n] != '=' && n + 1 < sizeof up; n++)
        up[n] = (char)toupper((unsigned char)name[n]);
    up[n] = '\0';
    for (const char *const *w = secret_words; *w; w++)
        if (strstr(up, *w)) return 1;
    return 0;
}

/* Replaces out[from, to) by LP_REDACTED, if it fits. */
static int splice(char *out, size_t outlen, size_t from, size_t to)
{
    size_t mask = sizeof LP_REDACTED - 1;
    size_t tail = strlen(out + to) + 1;
    if (from + mask + tail > outlen) return -1;
    memmove(out + from + mask, out + to, tail);
    memcpy(out + from, LP_REDACTED, mask);
    return 0;
}

void lp_redact_urls(const char *value, char *out, size_t outlen)
{
    if (!outlen) return;
    snprintf(out, outlen, "%s", value);
    for (char *p = out; (p = strstr(p, "://"));) {
        p += 3;
        /* The authority ends at the first of these; '@' must come first. */
        size_t alen = strcspn(p, "/?#,| \t\n");
        char *at = NULL;
        for (size_t i = 0; i < alen; i++)
            if (p[i] == '@') at = p + i; /* the last '@' delimits userinfo */
        char *colon = at ? memchr(p, ':', (size_t)(at - p)) : NULL;
        if (!at) {
            /* A password typed with a raw '/', '?' or '#' in it: user:pa/ss@host. */
            size_t item = strcspn(p, ",| \t\n");
            colon = memchr(p, ':', alen);
            at = colon ? memchr(colon, '@', item - (size_t)(colon - p)) : NULL;
            if (!at) continue;
        }
        size_t from = (size_t)((colon ? colon + 1 : p) - out);
        size_t to = (size_t)(at - out);
        if (splice(out, outlen, from, to)) {
            /* No room to say REDACTED: drop the userinfo instead. */
            memmove(p, at + 1, strlen(at + 1) + 1);
            continue;
        }
        p = out + from + sizeof LP_REDACTED;
    }
}

void lp_redact_value(const char *name, const char *value, char *out, size_t outlen)
{
    if (lp_redact_is_secret_name(name))
        snprintf(out, outlen, "%s", LP_REDACTED);
    else
        lp_redact_urls(value, out, outlen);
}

void lp_redact_arg(const char *arg, char *out, size_t outlen)
{
    const char *eq = strchr(arg, '=');
    if (eq && lp_redact_is_secret_name(arg))
        snprintf(out, outlen, "%.*s=%s", (int)(eq - arg), arg, LP_REDACTED);
    else
        lp_redact_urls(arg, out, outlen);
}

void lp_redact_scrub(char *text, size_t cap, char *const envp[])
{
    if (!envp) return;
    for (char *const *e = envp; *e; e++) {
        const char *eq = strchr(*e, '=');
        if (!eq || !lp_redact_is_secret_name(*e)) continue;
        const char *v = eq + 1;
        size_t vl = strlen(v);
        if (vl < 4) continue;
        for (char *p = text; (p = strstr(p, v));) {
            size_t from = (size_t)(p - text);
            if (splice(text, cap, from, from + vl)) {
                memset(p, '*', vl);
                p += vl;
            } else {
                p = text + from + sizeof LP_REDACTED - 1;
            }
        }
    }
}
