#include "netcheck/ln_banner.h"

#include <stdio.h>
#include <string.h>

#include "netcheck/ln_classify.h"

static int starts(const char *buf, size_t len, const char *p)
{
    size_t n = strlen(p);
    return len >= n && !memcmp(buf, p, n);
}

static int has(const char *buf, size_t len, const char *p)
{
    return memmem(buf, len, p, strlen(p)) != NULL;
}

/* The first line, escaped: what the user recognises ("SSH-2.0-..."). */
static void first_line(const char *buf, size_t len, char *line, size_t cap)
{
    size_t n = 0;
    while (n < len && n < 80 && buf[n] != '\r' && buf[n] != '\n')
        n++;
    ln_escape(buf, n, 80, line, cap);
}

enum ln_banner ln_banner_identify(const char *buf, size_t len, char *line, size_t cap)
{
    if (cap) line[0] = 0;
    if (len >= 3 && (buf[0] == 0x16 || buf[0] == 0x15) && buf[1] == 0x03 &&
        (unsigned char)buf[2] <= 0x04)
        return LN_BANNER_TLS;
    /* An HTTP/2 server's first frame is SETTINGS (type 4) on stream 0. */
    if (len >= 9 && buf[3] == 0x04 && !memcmp(buf + 5, "\0\0\0\0", 4) && buf[0] == 0)
        return LN_BANNER_HTTP2;
    /* MySQL: a 3-byte length, sequence 0, protocol version 10. */
    if (len >= 5 && buf[3] == 0 && buf[4] == 0x0a &&
        (size_t)((unsigned char)buf[0] | (unsigned char)buf[1] << 8) > 0)
        return LN_BANNER_MYSQL;
    enum ln_banner b = LN_BANNER_UNKNOWN;
    size_t scan = len < 256 ? len : 256;
    if (starts(buf, len, "HTTP/"))
        b = LN_BANNER_HTTP;
    else if (starts(buf, len, "SSH-"))
        b = LN_BANNER_SSH;
    else if (starts(buf, len, "220")) {
        if (has(buf, scan, "SMTP") || has(buf, scan, "smtp"))
            b = LN_BANNER_SMTP;
        else if (has(buf, scan, "FTP") || has(buf, scan, "ftp"))
            b = LN_BANNER_FTP;
        else
            b = LN_BANNER_220;
    } else if (starts(buf, len, "+OK"))
        b = LN_BANNER_POP3;
    else if (starts(buf, len, "* OK"))
        b = LN_BANNER_IMAP;
    else if (starts(buf, len, "-ERR") || starts(buf, len, "-NOAUTH"))
        b = LN_BANNER_REDIS;
    if (b != LN_BANNER_UNKNOWN) first_line(buf, len, line, cap);
    return b;
}

const char *ln_banner_what(enum ln_banner b)
{
    static const char *const what[] = {LN_BANNERS(LN_NAME_ENTRY)};
    return (unsigned)b < sizeof(what) / sizeof(what[0]) ? what[b] : "";
}
