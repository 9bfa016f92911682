#include "core/error.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static _Thread_local char tc_error_buf[1024];

int tc_error_set(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(tc_error_buf, sizeof tc_error_buf, fmt, ap);
    va_end(ap);
    return -1;
}

int tc_error_prefix(const char *fmt, ...) {
    char prefix[512], old[sizeof tc_error_buf];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    memcpy(old, tc_error_buf, sizeof old);
    size_t n = strlen(prefix);
    if (n > sizeof tc_error_buf - 3) n = sizeof tc_error_buf - 3;
    memcpy(tc_error_buf, prefix, n);
    memcpy(tc_error_buf + n, ": ", 2);
    size_t room = sizeof tc_error_buf - n - 3, m = strlen(old);
    if (m > room) m = room;
    memcpy(tc_error_buf + n + 2, old, m);
    tc_error_buf[n + 2 + m] = 0;
    return -1;
}

const char *tc_error_get(void) { return tc_error_buf; }
void tc_error_clear(void) { tc_error_buf[0] = 0; }

static void oom(size_t n) {
    fprintf(stderr, "taichu: out of memory (allocating %zu bytes)\n", n);
    abort();
}

void *tc_xmalloc(size_t n) {
    void *p = malloc(n ? n : 1);
    if (!p) oom(n);
    return p;
}

void *tc_xcalloc(size_t n, size_t size) {
    void *p = calloc(n ? n : 1, size ? size : 1);
    if (!p) oom(n * size);
    return p;
}

void *tc_xrealloc(void *p, size_t n) {
    void *q = realloc(p, n ? n : 1);
    if (!q) oom(n);
    return q;
}

char *tc_xstrdup(const char *s) {
    size_t n = strlen(s) + 1;
    char *p = tc_xmalloc(n);
    memcpy(p, s, n);
    return p;
}
