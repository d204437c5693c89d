/*
 * bundle_tar — a gzip'd POSIX ustar archive of regular files, written with
 * zlib: what `lsptap bundle` packs (tar -xzf reads it). Only what a bundle
 * needs: regular files, names up to 100 bytes, owner 0, mode 0644.
 */
#ifndef LSPTAP_CLI_BUNDLE_TAR_H
#define LSPTAP_CLI_BUNDLE_TAR_H

#include <stddef.h>
#include <time.h>

struct bundle_tar;

/* Starts an archive on fd. The fd stays the caller's (to fsync and close
 * after bundle_tar_close). Returns NULL when out of memory or zlib refuses
 * the fd. */
struct bundle_tar *bundle_tar_open(int fd);

/* Adds the regular file at path under name, streamed. Returns 0, a
 * negative errno when it cannot be read, -ENAMETOOLONG or -EIO. */
int bundle_tar_add_file(struct bundle_tar *t, const char *name, const char *path, time_t mtime);

/* Writes the end-of-archive blocks and flushes gzip (the caller's fd is
 * left open).
 * Returns 0 or -EIO. Frees t either way. */
int bundle_tar_close(struct bundle_tar *t);

#endif
