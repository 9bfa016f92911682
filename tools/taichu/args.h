/* Declarative long-flag parsing for the CLI, llama.cpp style: every option is --long-name, takes its
 * value as the next argument or after '=', and may fall back to an environment variable.
 *
 *   const char *vocab = NULL; int threads = 0; bool json = false;
 *   tc_arg_spec specs[] = {
 *       {"vocab",   TC_ARG_STR,  &vocab,   "FILE", "vocab.txt in bert-base-chinese format", NULL},
 *       {"threads", TC_ARG_INT,  &threads, "N",    "worker threads",                         "TAICHU_THREADS"},
 *       {"json",    TC_ARG_FLAG, &json,    NULL,   "machine-readable output",                NULL},
 *   };
 *   tc_args a;
 *   int rc = tc_args_parse(&a, "tokenize", "[TEXT...]", specs, N, argc, argv);
 *   if (rc != 0) return rc < 0 ? 2 : 0;   // -1: bad usage (message printed); 1: --help was printed
 *   for (int i = 0; i < a.npos; i++) use(a.pos[i]);
 *
 * TC_ARG_LIST collects every following argument up to the next "--option" (e.g. --image a.jpg b.jpg). */
#ifndef TC_TOOLS_ARGS_H
#define TC_TOOLS_ARGS_H

#include <stdbool.h>

typedef enum { TC_ARG_STR, TC_ARG_INT, TC_ARG_FLOAT, TC_ARG_FLAG, TC_ARG_LIST } tc_arg_kind;

typedef struct tc_strlist {
    char **v;
    int n;
} tc_strlist;

typedef struct tc_arg_spec {
    const char *name;     /* without the leading "--" */
    tc_arg_kind kind;
    void *dest;           /* const char **, int *, float *, bool *, tc_strlist * */
    const char *metavar;  /* e.g. "FILE"; NULL for flags */
    const char *help;
    const char *env;      /* environment fallback, or NULL */
} tc_arg_spec;

typedef struct tc_args {
    char **pos; /* positional arguments (pointers into argv) */
    int npos;
} tc_args;

/* Returns 0 on success, 1 when --help was printed, -1 on a usage error (printed to stderr). */
int tc_args_parse(tc_args *out, const char *cmd, const char *pos_usage, const tc_arg_spec *specs, int nspecs,
                  int argc, char **argv);
void tc_args_free(tc_args *a);
void tc_args_usage(const char *cmd, const char *pos_usage, const tc_arg_spec *specs, int nspecs);

/* Print "taichu: error: <tc_error_get()>" and return 1 (the CLI's exit status for runtime errors). */
int tc_cli_fail(void);

#endif
