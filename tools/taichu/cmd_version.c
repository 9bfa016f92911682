/* taichu version: build information. */
#include "args.h"
#include "command.h"

#include <stdio.h>
#include <cblas.h>
#include <omp.h>

static int run_version(int argc, char **argv) {
    tc_args a;
    int rc = tc_args_parse(&a, "version", NULL, NULL, 0, argc, argv);
    if (rc) return rc < 0 ? 2 : 0;
    tc_args_free(&a);
    printf("taichu %s\n", TAICHU_VERSION);
    printf("openblas: %s\n", openblas_get_config());
    printf("openmp: max threads %d\n", omp_get_max_threads());
    printf("cpu: avx512f %s, avx512bf16 %s\n", __builtin_cpu_supports("avx512f") ? "yes" : "no",
           __builtin_cpu_supports("avx512bf16") ? "yes" : "no");
    return 0;
}

const tc_command tc_command_version = {"version", "print version and build information", run_version};
