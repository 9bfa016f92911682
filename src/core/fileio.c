#define _GNU_SOURCE /* syncfs */
#include "core/fileio.h"
#include "core/error.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

char *tc_read_file(const char *path, size_t *len_out) {
    FILE *fp = fopen(path, "rb");
    if (!fp) { tc_error_set("%s: cannot open: %s", path, strerror(errno)); return NULL; }
    size_t cap = 1 << 16, len = 0;
    char *buf = malloc(cap);
    if (!buf) { fclose(fp); tc_error_set("%s: out of memory", path); return NULL; }
    for (;;) {
        if (len + 1 >= cap) {
            char *nb = realloc(buf, cap * 2);
            if (!nb) { free(buf); fclose(fp); tc_error_set("%s: out of memory", path); return NULL; }
            buf = nb; cap *= 2;
        }
        size_t n = fread(buf + len, 1, cap - len - 1, fp);
        len += n;
        if (n == 0) break;
    }
    int bad = ferror(fp);
    fclose(fp);
    if (bad) { free(buf); tc_error_set("%s: read error", path); return NULL; }
    buf[len] = 0;
    if (len_out) *len_out = len;
    return buf;
}

int tc_atomic_open(tc_atomic_file *af, const char *path) {
    memset(af, 0, sizeof *af);
    size_t n = strlen(path) + 32;
    af->path = tc_xstrdup(path);
    af->tmp_path = tc_xmalloc(n);
    snprintf(af->tmp_path, n, "%s.tmp.%ld", path, (long)getpid());
    af->fp = fopen(af->tmp_path, "wb");
    if (!af->fp) {
        tc_error_set("%s: cannot create: %s", af->tmp_path, strerror(errno));
        free(af->path); free(af->tmp_path); memset(af, 0, sizeof *af);
        return -1;
    }
    return 0;
}

static void fsync_dir_of(const char *path) {
    char *copy = tc_xstrdup(path);
    int fd = open(dirname(copy), O_RDONLY | O_DIRECTORY);
    if (fd >= 0) { fsync(fd); close(fd); }
    free(copy);
}

static int batch_mode; /* tc_fileio_batch_begin: no per-file fsync (written before any worker starts) */

void tc_fileio_batch_begin(void) { batch_mode = 1; }

int tc_fileio_batch_end(const char *dir) {
    batch_mode = 0;
    int fd = open(dir, O_RDONLY | O_DIRECTORY);
    if (fd < 0) return tc_error_set("%s: cannot open to sync: %s", dir, strerror(errno));
    int rc = syncfs(fd) != 0 ? tc_error_set("%s: syncfs failed: %s", dir, strerror(errno)) : 0;
    close(fd);
    return rc;
}

int tc_atomic_commit(tc_atomic_file *af) {
    int rc = 0;
    if (fflush(af->fp) != 0 || ferror(af->fp)) rc = tc_error_set("%s: write failed: %s", af->path, strerror(errno));
    if (rc == 0 && !batch_mode && fsync(fileno(af->fp)) != 0) rc = tc_error_set("%s: fsync failed: %s", af->path, strerror(errno));
    if (fclose(af->fp) != 0 && rc == 0) rc = tc_error_set("%s: close failed: %s", af->path, strerror(errno));
    af->fp = NULL;
    if (rc == 0 && rename(af->tmp_path, af->path) != 0) rc = tc_error_set("%s: rename failed: %s", af->path, strerror(errno));
    if (rc != 0) unlink(af->tmp_path);
    else if (!batch_mode) fsync_dir_of(af->path);
    free(af->path); free(af->tmp_path);
    af->path = af->tmp_path = NULL;
    return rc;
}

void tc_atomic_abort(tc_atomic_file *af) {
    if (af->fp) fclose(af->fp);
    if (af->tmp_path) unlink(af->tmp_path);
    free(af->path); free(af->tmp_path);
    memset(af, 0, sizeof *af);
}

int tc_write_file_atomic(const char *path, const void *data, size_t len) {
    tc_atomic_file af;
    if (tc_atomic_open(&af, path) != 0) return -1;
    if (len && fwrite(data, 1, len, af.fp) != len) {
        tc_atomic_abort(&af);
        return tc_error_set("%s: write failed", path);
    }
    return tc_atomic_commit(&af);
}

int tc_mkdir_p(const char *path) {
    char *p = tc_xstrdup(path);
    for (char *s = p + 1; *s; s++) {
        if (*s != '/') continue;
        *s = 0;
        if (mkdir(p, 0777) != 0 && errno != EEXIST) { tc_error_set("%s: cannot create directory: %s", p, strerror(errno)); free(p); return -1; }
        *s = '/';
    }
    if (mkdir(p, 0777) != 0 && errno != EEXIST) { tc_error_set("%s: cannot create directory: %s", p, strerror(errno)); free(p); return -1; }
    struct stat st;
    int ok = stat(p, &st) == 0 && S_ISDIR(st.st_mode);
    if (!ok) tc_error_set("%s: exists and is not a directory", p);
    free(p);
    return ok ? 0 : -1;
}

char *tc_path_join(const char *a, const char *b) {
    if (b[0] == '/' || a[0] == 0) return tc_xstrdup(b);
    size_t la = strlen(a), lb = strlen(b);
    char *r = tc_xmalloc(la + lb + 2);
    memcpy(r, a, la);
    size_t o = la;
    if (a[la - 1] != '/') r[o++] = '/';
    memcpy(r + o, b, lb + 1);
    return r;
}

int tc_file_exists(const char *path) {
    struct stat st;
    return stat(path, &st) == 0;
}
