/* taichu: the command-line front end. Dispatches to tools/taichu/cmd_<name>.c. */
#include "command.h"

#include <stdio.h>
#include <string.h>

#include "commands.inc"

static void usage(FILE *out) {
    fprintf(out, "taichu %s: OPT (Omni-Perception Pre-Trainer) in C\n\nusage: taichu <command> [options]\n\ncommands:\n",
            TAICHU_VERSION);
    for (int i = 0; tc_commands[i]; i++) fprintf(out, "  %-12s %s\n", tc_commands[i]->name, tc_commands[i]->summary);
    fprintf(out, "\nRun 'taichu <command> --help' for the options of a command.\n");
}

int main(int argc, char **argv) {
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
