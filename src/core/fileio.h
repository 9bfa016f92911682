/* File helpers: whole-file reads, and atomic writes (temp file + fsync + rename) so that an
 * interrupted or failed write never leaves a half-written output behind. */
#ifndef TC_CORE_FILEIO_H
#define TC_CORE_FILEIO_H

#include <stddef.h>
#include <stdio.h>

/* Read a whole file into a NUL-terminated malloc'd buffer. On error sets the message and returns NULL. */
char *tc_read_file(const char *path, size_t *len_out);

/* Atomic writer: writes go to "<path>.tmp.<pid>" in the same directory; commit fsyncs, renames over
 * <path> and fsyncs the directory. abort removes the temp file. Every call leaves the target either
 * untouched or complete. */
typedef struct tc_atomic_file {
    FILE *fp;
    char *path;
    char *tmp_path;
} tc_atomic_file;

int tc_atomic_open(tc_atomic_file *af, const char *path);
int tc_atomic_commit(tc_atomic_file *af); /* closes; returns -1 (and removes the temp) on any I/O error */
void tc_atomic_abort(tc_atomic_file *af);

/* Batch mode, for writers of many small files that are all regenerable (the built-in dataset): while on,
 * commits skip the per-file fsync of the data and of the directory, but still write a temp file and rename
 * it, so a reader never sees a half-written file. tc_fileio_batch_end syncs the file system holding `dir`
 * once (syncfs) and turns the mode off. Process-wide; set it before starting threads or forking workers
 * (children inherit it). */
void tc_fileio_batch_begin(void);
int tc_fileio_batch_end(const char *dir);

/* Convenience: atomically replace `path` with `len` bytes of `data`. */
int tc_write_file_atomic(const char *path, const void *data, size_t len);

/* mkdir -p. Returns 0 when the directory exists afterwards. */
int tc_mkdir_p(const char *path);
/* Join two path pieces into a malloc'd string ("a" + "b" -> "a/b"; absolute b is returned as is). */
char *tc_path_join(const char *a, const char *b);
int tc_file_exists(const char *path);

#endif
