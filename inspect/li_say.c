#include "inspect/li_say.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "inspect/li_escape.h"
#include "inspect/li_redact.h"

extern char **environ;

void li_say(const char *fmt, ...)
{
    char *text = NULL;
    va_list ap;
    va_start(ap, fmt);
    int n = vasprintf(&text, fmt, ap);
    va_end(ap);
    if (n < 0) return;
    size_t rl = 0;
    char *red = li_redact(text, (size_t)n, environ, &rl);
    free(text);
    if (!red) return;
    li_escape_write(red, rl, LI_ESC_KEEP_NL, stderr);
    free(red);
}
