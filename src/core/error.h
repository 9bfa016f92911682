/* Error reporting shared by the whole library.
 *
 * Convention: a function that can fail returns int (0 = ok, -1 = error) or a pointer (NULL = error)
 * and records a one-line, human-readable message with tc_error_set(). The message names the file,
 * the field and what was expected, e.g. "data/x.json: entry 12: field \"caption\": expected a string".
 * The CLI prints it as "taichu: error: <message>" and exits with status 1.
 * The message buffer is thread-local, so worker threads can report errors independently. */
#ifndef TC_CORE_ERROR_H
#define TC_CORE_ERROR_H

#include <stddef.h>

#if defined(__GNUC__)
#define TC_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define TC_PRINTF(a, b)
#endif

/* Record an error message (printf-style). Always returns -1 so callers can `return tc_error_set(...)`. */
int tc_error_set(const char *fmt, ...) TC_PRINTF(1, 2);
/* Prefix the current message with "<prefix>: " (adds context while unwinding). Returns -1. */
int tc_error_prefix(const char *fmt, ...) TC_PRINTF(1, 2);
/* The last message recorded on this thread ("" if none). */
const char *tc_error_get(void);
void tc_error_clear(void);

/* Allocation that never returns NULL: on failure prints a message and aborts (out of memory is not
 * a recoverable input error). Use for internal buffers; use plain malloc + tc_error_set where the size
 * comes from an untrusted file so a hostile size is reported instead. */
void *tc_xmalloc(size_t n);
void *tc_xcalloc(size_t n, size_t size);
void *tc_xrealloc(void *p, size_t n);
char *tc_xstrdup(const char *s);

#endif
