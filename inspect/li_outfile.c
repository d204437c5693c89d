#include "inspect/li_outfile.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int same_file(const struct stat *a, const char *path)
{
    struct stat b;
    return stat(path, &b) == 0 && a->st_dev == b.st_dev && a->st_ino == b.st_ino;
}

static int direct(struct li_outfile *o, char *err, size_t errlen)
{
    o->f = fopen(o->path, "wb");
    if (o->f) return 0;
    int e = errno;
    snprintf(err, errlen, "cannot open %s: %s", o->path, strerror(e));
    return -e;
}

int li_outfile_open(struct li_outfile *o, const char *path, const char *const *inputs, char *err,
                    size_t errlen)
{
    memset(o, 0, sizeof *o);
    if (!path || strcmp(path, "-") == 0) {
        snprintf(o->path, sizeof o->path, "-");
        o->f = stdout;
        return 0;
    }
    if (strlen(path) >= sizeof o->path - 16) {
        snprintf(err, errlen, "%.200s...: the output path is too long", path);
        return -ENAMETOOLONG;
    }
    snprintf(o->path, sizeof o->path, "%s", path);
    struct stat st;
    int exists = stat(path, &st) == 0;
    if (exists) {
        for (const char *const *in = inputs; in && *in; in++) {
            if (same_file(&st, *in)) {
                snprintf(err, errlen,
                         "refusing to write %s: it is the input %s (the same file); choose "
                         "another output",
                         path, *in);
                return -EINVAL;
            }
        }
        if (!S_ISREG(st.st_mode)) return direct(o, err, errlen);
        /* Replace the link's target, not the link. */
        char real[PATH_MAX];
        if (realpath(path, real) && strlen(real) < sizeof o->path - 16)
            snprintf(o->path, sizeof o->path, "%s", real);
    }
    const char *slash = strrchr(o->path, '/');
    const char *base = slash ? slash + 1 : o->path;
    int dirlen = slash ? (int)(slash - o->path) + 1 : 0;
    snprintf(o->tmp, sizeof o->tmp, "%.*s.%s.XXXXXX", dirlen, o->path, base);
    int fd = mkostemp(o->tmp, O_CLOEXEC);
    if (fd < 0) {
        int e = errno;
        snprintf(err, errlen, "cannot create %s: %s", o->path, strerror(e));
        o->tmp[0] = '\0';
        return -e;
    }
    mode_t mode;
    if (exists) {
        mode = st.st_mode & 07777;
    } else {
        mode_t mask = umask(0);
        umask(mask);
        mode = 0666 & ~mask;
    }
    if (fchmod(fd, mode) != 0 || !(o->f = fdopen(fd, "wb"))) {
        int e = errno;
        close(fd);
        unlink(o->tmp);
        snprintf(err, errlen, "cannot create %s: %s", o->path, strerror(e));
        o->tmp[0] = '\0';
        return -e;
    }
    return 0;
}

int li_outfile_commit(struct li_outfile *o, char *err, size_t errlen)
{
    int bad = o->f == stdout ? fflush(o->f) : fclose(o->f);
    int e = bad ? errno : 0;
    o->f = NULL;
    if (!e && o->tmp[0] && rename(o->tmp, o->path) != 0) e = errno;
    if (e) {
        snprintf(err, errlen, "cannot write %s: %s", o->path, strerror(e));
        if (o->tmp[0]) unlink(o->tmp);
    }
    o->tmp[0] = '\0';
    return -e;
}

void li_outfile_abort(struct li_outfile *o)
{
    if (o->f) {
        if (o->f == stdout)
            fflush(o->f);
        else
            fclose(o->f);
    }
    o->f = NULL;
    if (o->tmp[0]) unlink(o->tmp);
    o->tmp[0] = '\0';
}
