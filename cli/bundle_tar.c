/* bundle_tar — see bundle_tar.h. The ustar header layout is POSIX.1-1988's. */
#include "cli/bundle_tar.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

struct bundle_tar {
    gzFile gz;
    int failed;
};

static const unsigned char zero[1024];

struct bundle_tar *bundle_tar_open(int fd)
{
    struct bundle_tar *t = calloc(1, sizeof *t);
    if (!t) return NULL;
    /* gzclose closes the fd it was given: a duplicate leaves the caller's
     * open, for its fsync and rename. */
    int dup_fd = dup(fd);
    t->gz = dup_fd >= 0 ? gzdopen(dup_fd, "wb9") : NULL;
    if (!t->gz) {
        if (dup_fd >= 0) close(dup_fd);
        free(t);
        return NULL;
    }
    return t;
}

static void put(struct bundle_tar *t, const void *p, size_t n)
{
    if (t->failed || n == 0) return;
    if (gzwrite(t->gz, p, (unsigned)n) != (int)n) t->failed = 1;
}

/* An octal field of width w: w-1 digits and a NUL. */
static void octal(char *f, size_t w, unsigned long long v)
{
    f[w - 1] = '\0';
    for (size_t i = w - 1; i-- > 0; v >>= 3)
        f[i] = (char)('0' + (v & 7));
}

static int header(struct bundle_tar *t, const char *name, unsigned long long size, time_t mtime)
{
    size_t nl = strlen(name);
    if (nl > 100) return -ENAMETOOLONG;
    unsigned char h[512];
    memset(h, 0, sizeof h);
    memcpy(h, name, nl);
    octal((char *)h + 100, 8, 0644);
    octal((char *)h + 108, 8, 0);
    octal((char *)h + 116, 8, 0);
    octal((char *)h + 124, 12, size);
    octal((char *)h + 136, 12, (unsigned long long)(mtime > 0 ? mtime : 0));
    memset(h + 148, ' ', 8);
    h[156] = '0';
    memcpy(h + 257, "ustar", 6);
    memcpy(h + 263, "00", 2);
    unsigned sum = 0;
    for (size_t i = 0; i < sizeof h; i++)
        sum += h[i];
    snprintf((char *)h + 148, 8, "%06o", sum);
    h[155] = ' ';
    put(t, h, sizeof h);
    return 0;
}

int bundle_tar_add_file(struct bundle_tar *t, const char *name, const char *path, time_t mtime)
{
    FILE *f = fopen(path, "rb");
    if (!f) return -errno;
    struct stat st;
    if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
        fclose(f);
        return -EINVAL;
    }
    unsigned long long size = (unsigned long long)st.st_size, done = 0;
    int rc = header(t, name, size, mtime);
    char buf[65536];
    while (!rc && done < size) {
        size_t want = size - done < sizeof buf ? (size_t)(size - done) : sizeof buf;
        size_t got = fread(buf, 1, want, f);
        if (got == 0) break;
        put(t, buf, got);
        done += got;
    }
    /* A file that shrank meanwhile is padded to the size in its header,
     * so the archive stays well-formed. */
    for (; !rc && done < size; done += 512 < size - done ? 512 : size - done)
        put(t, zero, 512 < size - done ? 512 : (size_t)(size - done));
    fclose(f);
    if (rc) return rc;
    put(t, zero, (512 - size % 512) % 512);
    return t->failed ? -EIO : 0;
}

int bundle_tar_close(struct bundle_tar *t)
{
    put(t, zero, sizeof zero);
    int rc = t->failed ? -EIO : 0;
    if (gzclose(t->gz) != Z_OK) rc = -EIO;
    free(t);
    return rc;
}
