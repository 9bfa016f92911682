/* Zip reading (stored + deflate, zip64) and stored-only writing for .npz files. See zip.h. */
#include "io/zip.h"
#include "core/error.h"

#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#define SIG_LOCAL 0x04034b50u
#define SIG_CENTRAL 0x02014b50u
#define SIG_EOCD 0x06054b50u
#define SIG_EOCD64 0x06064b50u
#define SIG_EOCD64_LOC 0x07064b50u
#define EOCD_LEN 22
#define CENTRAL_LEN 46
#define LOCAL_LEN 30
/* Deflate cannot expand data by more than ~1032:1; a larger claimed ratio is a lie (or a bomb). */
#define DEFLATE_MAX_RATIO 1032u

static uint16_t rd16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }
static uint32_t rd32(const uint8_t *p) { return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24; }
static uint64_t rd64(const uint8_t *p) { return (uint64_t)rd32(p) | (uint64_t)rd32(p + 4) << 32; }

/* True when [off, off+n) lies inside a buffer of length len (overflow-safe). */
static int in_bounds(uint64_t off, uint64_t n, size_t len) { return off <= len && n <= (uint64_t)len - off; }

void tc_zip_close(tc_zip *z) {
    for (int i = 0; i < z->n; i++) free(z->entries[i].name);
    free(z->entries);
    z->entries = NULL;
    z->n = 0;
}

/* Locate the end-of-central-directory record by scanning back over a possible comment. */
static int find_eocd(const uint8_t *b, size_t len, size_t *pos) {
    if (len < EOCD_LEN) return -1;
    size_t lo = len - EOCD_LEN > 65535 ? len - EOCD_LEN - 65535 : 0;
    for (size_t p = len - EOCD_LEN + 1; p-- > lo;) {
        if (rd32(b + p) == SIG_EOCD && p + EOCD_LEN + rd16(b + p + 20) <= len) { *pos = p; return 0; }
    }
    return -1;
}

/* Apply a zip64 extended-information extra field (id 1) to the fields that were saturated. */
static int apply_zip64_extra(const tc_zip *z, const char *member, const uint8_t *x, size_t xlen, tc_zip_entry *e,
                             int need_u, int need_c, int need_off) {
    size_t p = 0;
    while (p + 4 <= xlen) {
        uint16_t id = rd16(x + p), sz = rd16(x + p + 2);
        if (p + 4 + sz > xlen) return tc_error_set("%s: %s: extra field: length %u runs past its end", z->name, member, sz);
        if (id == 1) {
            size_t q = p + 4, end = p + 4 + sz;
            if (need_u) { if (q + 8 > end) goto short_; e->usize = rd64(x + q); q += 8; }
            if (need_c) { if (q + 8 > end) goto short_; e->csize = rd64(x + q); q += 8; }
            if (need_off) { if (q + 8 > end) goto short_; e->local_off = rd64(x + q); }
            return 0;
        }
        p += 4 + (size_t)sz;
    }
    if (need_u || need_c || need_off)
        return tc_error_set("%s: %s: central directory: expected a zip64 extra field for saturated sizes", z->name, member);
    return 0;
short_:
    return tc_error_set("%s: %s: zip64 extra field: too short for the saturated sizes", z->name, member);
}

int tc_zip_open(tc_zip *z, const void *buf, size_t len, const char *name) {
    memset(z, 0, sizeof *z);
    z->buf = buf;
    z->len = len;
    z->name = name;
    const uint8_t *b = buf;
    if (len == 0) return tc_error_set("%s: empty file: expected a zip archive (.npz)", name);
    if (len >= 4 && memcmp(b, "\x93NUMPY", len < 6 ? len : 6) == 0)
        return tc_error_set("%s: this is a .npy file: expected a zip archive (.npz)", name);
    size_t ep;
    if (find_eocd(b, len, &ep) != 0)
        return tc_error_set("%s: no zip end-of-central-directory record: expected a zip archive (.npz), file truncated or not a zip", name);
    uint64_t count = rd16(b + ep + 10), cd_size = rd32(b + ep + 12), cd_off = rd32(b + ep + 16);
    if (rd16(b + ep + 4) != 0 || rd16(b + ep + 6) != 0)
        return tc_error_set("%s: end record: multi-disk archives are not supported", name);
    /* zip64: a locator sits right before the end record and points at the zip64 end record. */
    if (ep >= 20 && rd32(b + ep - 20) == SIG_EOCD64_LOC) {
        uint64_t off64 = rd64(b + ep - 12);
        if (!in_bounds(off64, 56, len) || rd32(b + off64) != SIG_EOCD64)
            return tc_error_set("%s: zip64 end record: offset %llu: expected signature PK\\6\\6", name, (unsigned long long)off64);
        count = rd64(b + off64 + 32);
        cd_size = rd64(b + off64 + 40);
        cd_off = rd64(b + off64 + 48);
    }
    if (!in_bounds(cd_off, cd_size, len))
        return tc_error_set("%s: central directory: offset %llu + size %llu exceeds the file size %zu (truncated?)", name,
                            (unsigned long long)cd_off, (unsigned long long)cd_size, len);
    if (count > cd_size / CENTRAL_LEN)
        return tc_error_set("%s: central directory: %llu entries cannot fit in %llu bytes", name, (unsigned long long)count,
                            (unsigned long long)cd_size);
    z->entries = calloc(count ? count : 1, sizeof *z->entries);
    if (!z->entries) return tc_error_set("%s: out of memory for %llu zip entries", name, (unsigned long long)count);
    uint64_t p = cd_off, end = cd_off + cd_size;
    for (uint64_t i = 0; i < count; i++) {
        if (p + CENTRAL_LEN > end || rd32(b + p) != SIG_CENTRAL) {
            tc_zip_close(z);
            return tc_error_set("%s: central directory entry %llu: expected signature PK\\1\\2", name, (unsigned long long)i);
        }
        const uint8_t *c = b + p;
        uint16_t nlen = rd16(c + 28), xlen = rd16(c + 30), clen = rd16(c + 32);
        if (p + CENTRAL_LEN + nlen + xlen + clen > end) {
            tc_zip_close(z);
            return tc_error_set("%s: central directory entry %llu: name/extra/comment run past the directory", name,
                                (unsigned long long)i);
        }
        tc_zip_entry *e = &z->entries[z->n++];
        e->name = tc_xmalloc((size_t)nlen + 1);
        memcpy(e->name, c + CENTRAL_LEN, nlen);
        e->name[nlen] = 0;
        if (memchr(e->name, 0, nlen)) { tc_zip_close(z); return tc_error_set("%s: entry %llu: name contains a NUL byte", name, (unsigned long long)i); }
        /* Control characters would break one-line error messages; no npz key contains them. */
        for (uint16_t k = 0; k < nlen; k++)
            if ((unsigned char)e->name[k] < 0x20 || e->name[k] == 0x7f) e->name[k] = '?';
        e->flags = rd16(c + 8);
        e->method = rd16(c + 10);
        e->crc = rd32(c + 16);
        e->csize = rd32(c + 20);
        e->usize = rd32(c + 24);
        e->local_off = rd32(c + 42);
        if (apply_zip64_extra(z, e->name, c + CENTRAL_LEN + nlen, xlen, e, e->usize == 0xFFFFFFFFu,
                              e->csize == 0xFFFFFFFFu, e->local_off == 0xFFFFFFFFu) != 0) {
            tc_zip_close(z);
            return -1;
        }
        p += CENTRAL_LEN + (uint64_t)nlen + xlen + clen;
    }
    return 0;
}

int tc_zip_find(const tc_zip *z, const char *name) {
    for (int i = 0; i < z->n; i++)
        if (strcmp(z->entries[i].name, name) == 0) return i;
    return -1;
}

/* Raw inflate of exactly `usize` bytes; zlib's counters are 32-bit so feed it in pieces. A one-byte
 * spare output buffer after the real one detects streams that hold more than they claim. */
static int inflate_all(const tc_zip *z, const tc_zip_entry *e, const uint8_t *src, uint8_t *dst) {
    z_stream s;
    memset(&s, 0, sizeof s);
    if (inflateInit2(&s, -MAX_WBITS) != Z_OK) return tc_error_set("%s: %s: zlib init failed", z->name, e->name);
    uint64_t in_left = e->csize, out_left = e->usize;
    const uint8_t *in = src;
    uint8_t *out = dst;
    uint8_t spare[1];
    int rc, spare_used = 0;
    for (;;) {
        if (s.avail_in == 0 && in_left) {
            s.next_in = (Bytef *)in;
            s.avail_in = in_left > (1u << 30) ? (1u << 30) : (uInt)in_left;
            in += s.avail_in;
            in_left -= s.avail_in;
        }
        if (s.avail_out == 0) {
            if (out_left) {
                s.next_out = out;
                s.avail_out = out_left > (1u << 30) ? (1u << 30) : (uInt)out_left;
                out += s.avail_out;
                out_left -= s.avail_out;
            } else if (!spare_used) {
                s.next_out = spare;
                s.avail_out = 1;
                spare_used = 1;
            }
        }
        rc = inflate(&s, Z_NO_FLUSH);
        if (rc != Z_OK || (uint64_t)s.total_out > e->usize) break;
    }
    uint64_t produced = s.total_out;
    const char *msg = s.msg;
    inflateEnd(&s);
    if (produced > e->usize)
        return tc_error_set("%s: %s: deflate data: holds more than the declared %llu bytes", z->name, e->name,
                            (unsigned long long)e->usize);
    if (rc == Z_DATA_ERROR)
        return tc_error_set("%s: %s: deflate data: corrupt stream (%s)", z->name, e->name, msg ? msg : "bad data");
    if (rc != Z_STREAM_END)
        return tc_error_set("%s: %s: deflate data: stream ends early (truncated member)", z->name, e->name);
    if (produced != e->usize)
        return tc_error_set("%s: %s: deflate data: expected %llu bytes, stream holds %llu", z->name, e->name,
                            (unsigned long long)e->usize, (unsigned long long)produced);
    return 0;
}

int tc_zip_extract(const tc_zip *z, int idx, const uint8_t **data, size_t *len, uint8_t **owned) {
    *data = NULL; *len = 0; *owned = NULL;
    if (idx < 0 || idx >= z->n) return tc_error_set("%s: no zip entry %d", z->name, idx);
    const tc_zip_entry *e = &z->entries[idx];
    const uint8_t *b = z->buf;
    if (e->flags & 1) return tc_error_set("%s: %s: encrypted members are not supported", z->name, e->name);
    if (!in_bounds(e->local_off, LOCAL_LEN, z->len) || rd32(b + e->local_off) != SIG_LOCAL)
        return tc_error_set("%s: %s: local header at offset %llu: expected signature PK\\3\\4 (truncated or corrupt)", z->name,
                            e->name, (unsigned long long)e->local_off);
    uint64_t data_off = e->local_off + LOCAL_LEN + rd16(b + e->local_off + 26) + rd16(b + e->local_off + 28);
    if (!in_bounds(data_off, e->csize, z->len))
        return tc_error_set("%s: %s: data: %llu bytes at offset %llu exceed the file size %zu (truncated?)", z->name, e->name,
                            (unsigned long long)e->csize, (unsigned long long)data_off, z->len);
    if (e->usize > SIZE_MAX / 2) return tc_error_set("%s: %s: size %llu too large", z->name, e->name, (unsigned long long)e->usize);
    const uint8_t *src = b + data_off;
    if (e->method == 0) {
        if (e->csize != e->usize)
            return tc_error_set("%s: %s: stored member: compressed size %llu != uncompressed size %llu", z->name, e->name,
                                (unsigned long long)e->csize, (unsigned long long)e->usize);
        *data = src;
        *len = (size_t)e->usize;
    } else if (e->method == 8) {
        if (e->usize > e->csize * DEFLATE_MAX_RATIO + 64)
            return tc_error_set("%s: %s: deflate: uncompressed size %llu is impossible for %llu compressed bytes", z->name,
                                e->name, (unsigned long long)e->usize, (unsigned long long)e->csize);
        uint8_t *dst = malloc(e->usize ? e->usize : 1);
        if (!dst) return tc_error_set("%s: %s: out of memory for %llu bytes", z->name, e->name, (unsigned long long)e->usize);
        if (inflate_all(z, e, src, dst) != 0) { free(dst); return -1; }
        *data = *owned = dst;
        *len = (size_t)e->usize;
    } else {
        return tc_error_set("%s: %s: compression method %u: expected 0 (stored) or 8 (deflate)", z->name, e->name, e->method);
    }
    /* crc32 takes a uInt length: feed large members in pieces. */
    uLong crc = crc32(0L, Z_NULL, 0);
    for (size_t off = 0; off < *len;) {
        size_t n = *len - off > (1u << 30) ? (1u << 30) : *len - off;
        crc = crc32(crc, *data + off, (uInt)n);
        off += n;
    }
    if ((uint32_t)crc != e->crc) {
        free(*owned);
        *data = NULL; *owned = NULL; *len = 0;
        return tc_error_set("%s: %s: CRC-32 mismatch (stored %08x, computed %08x): corrupt member", z->name, e->name, e->crc,
                            (unsigned)crc);
    }
    return 0;
}

/* ---- writer ---- */

static void wr16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); }
static void wr32(uint8_t *p, uint32_t v) { for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i)); }

/* DOS date 1980-01-01 00:00:00: fixed so archives are reproducible byte for byte. */
#define DOS_TIME 0
#define DOS_DATE 0x21

void tc_zip_writer_init(tc_zip_writer *w, FILE *fp, const char *path) {
    memset(w, 0, sizeof *w);
    w->fp = fp;
    w->path = path;
}

void tc_zip_writer_free(tc_zip_writer *w) {
    for (int i = 0; i < w->n; i++) free(w->entries[i].name);
    free(w->entries);
    w->entries = NULL;
    w->n = w->cap = 0;
}

static int write_bytes(tc_zip_writer *w, const void *p, size_t n) {
    if (n && fwrite(p, 1, n, w->fp) != n) return tc_error_set("%s: write failed", w->path);
    w->off += n;
    return 0;
}

typedef struct { uLong crc; uint64_t n; } crc_ctx;
static int crc_sink(void *ctx, const void *bytes, size_t n) {
    crc_ctx *c = ctx;
    const uint8_t *p = bytes;
    for (size_t off = 0; off < n;) {
        size_t k = n - off > (1u << 30) ? (1u << 30) : n - off;
        c->crc = crc32(c->crc, p + off, (uInt)k);
        off += k;
    }
    c->n += n;
    return 0;
}
static int file_sink(void *ctx, const void *bytes, size_t n) { return write_bytes(ctx, bytes, n); }

int tc_zip_writer_add(tc_zip_writer *w, const char *name, uint64_t size, tc_zip_emit emit, void *emit_ctx) {
    size_t nlen = strlen(name);
    if (nlen > 65535) return tc_error_set("%s: member name too long", w->path);
    /* Stored zip32 only: numpy reads it; members past 4 GiB would need zip64 records. */
    if (size >= 0xFFFFFFFFu || w->off + LOCAL_LEN + nlen + size >= 0xFFFFFFFFu || w->n >= 65535)
        return tc_error_set("%s: %s: archive would exceed 4 GiB or 65535 members (zip64 writing is not supported)", w->path, name);
    crc_ctx cc = {crc32(0L, Z_NULL, 0), 0};
    if (emit(emit_ctx, crc_sink, &cc) != 0) return -1;
    if (cc.n != size) return tc_error_set("%s: %s: internal error: member produced %llu bytes, declared %llu", w->path, name,
                                          (unsigned long long)cc.n, (unsigned long long)size);
    if (w->n == w->cap) {
        w->cap = w->cap ? 2 * w->cap : 8;
        w->entries = tc_xrealloc(w->entries, (size_t)w->cap * sizeof *w->entries);
    }
    tc_zip_entry *e = &w->entries[w->n++];
    memset(e, 0, sizeof *e);
    e->name = tc_xstrdup(name);
    e->crc = (uint32_t)cc.crc;
    e->csize = e->usize = size;
    e->local_off = w->off;
    uint8_t h[LOCAL_LEN];
    wr32(h, SIG_LOCAL);
    wr16(h + 4, 20);
    wr16(h + 6, 0);
    wr16(h + 8, 0);
    wr16(h + 10, DOS_TIME);
    wr16(h + 12, DOS_DATE);
    wr32(h + 14, e->crc);
    wr32(h + 18, (uint32_t)size);
    wr32(h + 22, (uint32_t)size);
    wr16(h + 26, (uint16_t)nlen);
    wr16(h + 28, 0);
    if (write_bytes(w, h, sizeof h) != 0 || write_bytes(w, name, nlen) != 0) return -1;
    uint64_t before = w->off;
    if (emit(emit_ctx, file_sink, w) != 0) return -1;
    if (w->off - before != size) return tc_error_set("%s: %s: internal error: member size changed between passes", w->path, name);
    return 0;
}

int tc_zip_writer_finish(tc_zip_writer *w) {
    uint64_t cd_off = w->off;
    int rc = 0;
    for (int i = 0; i < w->n && rc == 0; i++) {
        const tc_zip_entry *e = &w->entries[i];
        size_t nlen = strlen(e->name);
        uint8_t c[CENTRAL_LEN];
        memset(c, 0, sizeof c);
        wr32(c, SIG_CENTRAL);
        wr16(c + 4, 20);
        wr16(c + 6, 20);
        wr16(c + 12, DOS_TIME);
        wr16(c + 14, DOS_DATE);
        wr32(c + 16, e->crc);
        wr32(c + 20, (uint32_t)e->csize);
        wr32(c + 24, (uint32_t)e->usize);
        wr16(c + 28, (uint16_t)nlen);
        wr32(c + 38, 0600u << 16);   /* external attributes: unix mode rw------- like Python's zipfile */
        wr32(c + 42, (uint32_t)e->local_off);
        rc = write_bytes(w, c, sizeof c);
        if (rc == 0) rc = write_bytes(w, e->name, nlen);
    }
    uint64_t cd_size = w->off - cd_off;
    if (rc == 0 && (cd_off + cd_size >= 0xFFFFFFFFu))
        rc = tc_error_set("%s: archive exceeds 4 GiB (zip64 writing is not supported)", w->path);
    if (rc == 0) {
        uint8_t e[EOCD_LEN];
        memset(e, 0, sizeof e);
        wr32(e, SIG_EOCD);
        wr16(e + 8, (uint16_t)w->n);
        wr16(e + 10, (uint16_t)w->n);
        wr32(e + 12, (uint32_t)cd_size);
        wr32(e + 16, (uint32_t)cd_off);
        rc = write_bytes(w, e, sizeof e);
    }
    tc_zip_writer_free(w);
    return rc;
}
