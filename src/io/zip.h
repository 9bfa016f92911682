/* Minimal zip container support for .npz files (internal to src/io).
 *
 * Reading works on a memory image of the whole archive (the caller maps or reads it). The central
 * directory is authoritative (numpy's writer may use data descriptors and zip64 local extras).
 * Members may be stored (method 0) or deflated (method 8); zip64 archives and entries are read.
 * Every size and offset is checked against the buffer before use, so hostile archives produce an
 * error message, never an out-of-bounds read.
 *
 * Writing produces stored (uncompressed) archives like numpy.savez, with fixed timestamps so the
 * output is byte-for-byte deterministic. */
#ifndef TC_IO_ZIP_H
#define TC_IO_ZIP_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

typedef struct tc_zip_entry {
    char *name;          /* NUL-terminated copy of the member name */
    uint16_t method;     /* 0 stored, 8 deflate */
    uint16_t flags;
    uint32_t crc;
    uint64_t csize;      /* compressed size */
    uint64_t usize;      /* uncompressed size */
    uint64_t local_off;  /* offset of the local file header */
} tc_zip_entry;

typedef struct tc_zip {
    const uint8_t *buf;
    size_t len;
    const char *name;    /* archive name for messages (not owned) */
    tc_zip_entry *entries;
    int n;
} tc_zip;

/* Parse the central directory. On error sets "name: ..." and returns -1 (z is then empty). */
int tc_zip_open(tc_zip *z, const void *buf, size_t len, const char *name);
void tc_zip_close(tc_zip *z);
/* Index of the member called `name`, or -1. */
int tc_zip_find(const tc_zip *z, const char *name);
/* Member contents. For stored members *data points into the archive buffer and *owned is NULL;
 * for deflated ones *owned is a malloc'd buffer (== *data) the caller frees. CRC is verified. */
int tc_zip_extract(const tc_zip *z, int idx, const uint8_t **data, size_t *len, uint8_t **owned);

/* Streaming writer of stored members. Each member's bytes are produced twice by `emit` (first pass
 * computes the CRC, second writes), so no member needs to be held in memory. */
typedef int (*tc_zip_sink)(void *sink_ctx, const void *bytes, size_t n);
typedef int (*tc_zip_emit)(void *emit_ctx, tc_zip_sink sink, void *sink_ctx);
typedef struct tc_zip_writer {
    FILE *fp;
    const char *path;    /* for messages */
    uint64_t off;        /* bytes written so far */
    tc_zip_entry *entries;
    int n, cap;
} tc_zip_writer;

void tc_zip_writer_init(tc_zip_writer *w, FILE *fp, const char *path);
int tc_zip_writer_add(tc_zip_writer *w, const char *name, uint64_t size, tc_zip_emit emit, void *emit_ctx);
/* Writes the central directory and end record; frees the writer's memory (also on error). */
int tc_zip_writer_finish(tc_zip_writer *w);
void tc_zip_writer_free(tc_zip_writer *w);

#endif
