/* taichu plot RUN: loss and metric curves of a training run (RUN/log.jsonl) as SVG. */
#include <stdio.h>
#include <stdlib.h>

#include "args.h"
#include "command.h"
#include "core/fileio.h"
#include "train/plot.h"

static int run_plot(int argc, char **argv) {
    const char *out = NULL;
    tc_arg_spec specs[] = {
        {"out", TC_ARG_STR, &out, "FILE", "SVG to write (default RUN/curves.svg)", NULL},
    };
    tc_args a;
    int rc = tc_args_parse(&a, "plot", "RUN", specs, 1, argc, argv);
    if (rc) return rc < 0 ? 2 : 0;
    if (a.npos != 1) {
        fprintf(stderr, "usage: taichu plot RUN [--out FILE]\n");
        tc_args_free(&a);
        return 2;
    }
    const char *run = a.pos[0];
    char *def = tc_path_join(run, "curves.svg");
    const char *path = out ? out : def;
    rc = tc_plot_run(run, path);
    if (rc == 0) printf("wrote %s\n", path);
    free(def);
    tc_args_free(&a);
    return rc ? tc_cli_fail() : 0;
}

const tc_command tc_command_plot = {"plot", "plot a training run's loss and metric curves to SVG", run_plot};
