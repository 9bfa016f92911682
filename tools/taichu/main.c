/* taichu: the command-line front end. Dispatches to tools/taichu/cmd_<name>.c. */
#include "command.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "commands.inc"

static void usage(FILE *out) {
    fprintf(out, "taichu %s: OPT (Omni-Perception Pre-Trainer) in C\n\nusage: taichu <command> [options]\n\ncommands:\n",
            TAICHU_VERSION);
    for (int i = 0; tc_commands[i]; i++) fprintf(out, "  %-12s %s\n", tc_commands[i]->name, tc_commands[i]->summary);
    fprintf(out, "\nRun 'taichu <command> --help' for the options of a command.\n");
}

/* libgomp reads OMP_WAIT_POLICY once, when the library loads, before main. Its default lets idle worker
 * threads spin, which on a small or shared machine steals the cores the next parallel region needs
 * (a 2-thread training step measured 2-3x slower wall time than with PASSIVE; docs/engine.md). So when
 * the user has not chosen a policy, choose PASSIVE and re-execute once before any thread exists. */
static void ensure_passive_openmp(char **argv) {
    if (getenv("OMP_WAIT_POLICY")) return;
    setenv("OMP_WAIT_POLICY", "PASSIVE", 1);
    execv("/proc/self/exe", argv);
    /* exec failed (no /proc): carry on with the default policy */
}

int main(int argc, char **argv) {
    ensure_passive_openmp(argv);
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "help") == 0) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    if (strcmp(argv[1], "--version") == 0) {
        printf("taichu %s\n", TAICHU_VERSION);
        return 0;
    }
    for (int i = 0; tc_commands[i]; i++)
        if (strcmp(argv[1], tc_commands[i]->name) == 0) return tc_commands[i]->run(argc - 1, argv + 1);
    fprintf(stderr, "taichu: unknown command \"%s\"\n\n", argv[1]);
    usage(stderr);
    return 2;
}
