#include "args.h"
#include "core/error.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int set_value(const tc_arg_spec *s, const char *cmd, const char *val, const char *origin) {
    char *end = NULL;
    switch (s->kind) {
    case TC_ARG_STR: *(const char **)s->dest = val; return 0;
    case TC_ARG_INT: {
        errno = 0;
        long v = strtol(val, &end, 10);
        if (errno || end == val || *end || v < -2147483647L || v > 2147483647L) {
            fprintf(stderr, "taichu %s: %s %s: expected an integer, got \"%s\"\n", cmd, origin, s->name, val);
            return -1;
        }
        *(int *)s->dest = (int)v;
        return 0;
    }
    case TC_ARG_FLOAT: {
        errno = 0;
        float v = strtof(val, &end);
        if (errno || end == val || *end) {
            fprintf(stderr, "taichu %s: %s %s: expected a number, got \"%s\"\n", cmd, origin, s->name, val);
            return -1;
        }
        *(float *)s->dest = v;
        return 0;
    }
    case TC_ARG_FLAG: {
        bool v = !(strcmp(val, "0") == 0 || strcmp(val, "false") == 0 || strcmp(val, "no") == 0 || !*val);
        *(bool *)s->dest = v;
        return 0;
    }
    case TC_ARG_LIST: {
        tc_strlist *l = s->dest;
        l->v = tc_xrealloc(l->v, sizeof(char *) * (size_t)(l->n + 1));
        l->v[l->n++] = (char *)val;
        return 0;
    }
    }
    return -1;
}

int tc_args_parse(tc_args *out, const char *cmd, const char *pos_usage, const tc_arg_spec *specs, int nspecs,
                  int argc, char **argv) {
    out->pos = tc_xcalloc((size_t)argc + 1, sizeof(char *));
    out->npos = 0;
    /* Environment fallbacks first; command-line values override them. */
    for (int i = 0; i < nspecs; i++) {
        const char *e = specs[i].env ? getenv(specs[i].env) : NULL;
        if (e && specs[i].kind != TC_ARG_LIST && set_value(&specs[i], cmd, e, specs[i].env) != 0) goto fail;
    }
    bool only_pos = false;
    for (int i = 1; i < argc; i++) {
        char *a = argv[i];
        if (only_pos || a[0] != '-' || a[1] == 0) { out->pos[out->npos++] = a; continue; }
        if (strcmp(a, "--") == 0) { only_pos = true; continue; }
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            tc_args_usage(cmd, pos_usage, specs, nspecs);
            tc_args_free(out);
            return 1;
        }
        if (a[1] != '-') {
            fprintf(stderr, "taichu %s: unknown option \"%s\" (options are long: --name; see --help)\n", cmd, a);
            goto fail;
        }
        const char *name = a + 2;
        const char *eq = strchr(name, '=');
        size_t nlen = eq ? (size_t)(eq - name) : strlen(name);
        const tc_arg_spec *s = NULL;
        for (int k = 0; k < nspecs; k++)
            if (strlen(specs[k].name) == nlen && strncmp(specs[k].name, name, nlen) == 0) s = &specs[k];
        if (!s) {
            fprintf(stderr, "taichu %s: unknown option \"--%.*s\" (see taichu %s --help)\n", cmd, (int)nlen, name, cmd);
            goto fail;
        }
        if (s->kind == TC_ARG_FLAG && !eq) { *(bool *)s->dest = true; continue; }
        if (s->kind == TC_ARG_LIST) {
            int got = 0;
            if (eq) { set_value(s, cmd, eq + 1, "option"); got++; }
            while (i + 1 < argc && !(argv[i + 1][0] == '-' && argv[i + 1][1] == '-')) { set_value(s, cmd, argv[++i], "option"); got++; }
            if (!got) { fprintf(stderr, "taichu %s: option --%s needs at least one %s\n", cmd, s->name, s->metavar ? s->metavar : "value"); goto fail; }
            continue;
        }
        const char *val = eq ? eq + 1 : (i + 1 < argc ? argv[++i] : NULL);
        if (!val) { fprintf(stderr, "taichu %s: option --%s needs a value (%s)\n", cmd, s->name, s->metavar ? s->metavar : "VALUE"); goto fail; }
        if (set_value(s, cmd, val, "option --") != 0) goto fail;
    }
    return 0;
fail:
    tc_args_free(out);
    return -1;
}

void tc_args_free(tc_args *a) {
    free(a->pos);
    a->pos = NULL;
    a->npos = 0;
}

void tc_args_usage(const char *cmd, const char *pos_usage, const tc_arg_spec *specs, int nspecs) {
    printf("usage: taichu %s [options]%s%s\n\noptions:\n", cmd, pos_usage ? " " : "", pos_usage ? pos_usage : "");
    for (int i = 0; i < nspecs; i++) {
        char left[96];
        snprintf(left, sizeof left, "--%s%s%s%s", specs[i].name, specs[i].metavar ? " " : "",
                 specs[i].metavar ? specs[i].metavar : "", specs[i].kind == TC_ARG_LIST ? "..." : "");
        printf("  %-28s %s", left, specs[i].help ? specs[i].help : "");
        if (specs[i].env) printf(" [env %s]", specs[i].env);
        printf("\n");
    }
    printf("  %-28s %s\n", "--help", "show this help");
}

int tc_cli_fail(void) {
    fprintf(stderr, "taichu: error: %s\n", tc_error_get());
    return 1;
}
