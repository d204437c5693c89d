#include "fdread.h"

#include <string.h>
#include <unistd.h>

size_t fdread_until(int fd, char *buf, size_t cap, size_t have, const char *want)
{
    while (have + 1 < cap) {
        buf[have] = '\0';
        if (want && strstr(buf, want)) break;
        ssize_t n = read(fd, buf + have, cap - 1 - have);
        if (n <= 0) break;
        have += (size_t)n;
    }
    buf[have] = '\0';
    return have;
}
