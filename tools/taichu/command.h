/* One subcommand of the taichu CLI. Each lives in tools/taichu/cmd_<name>.c and defines
 *   const tc_command tc_command_<name> = {"<name>", "<one-line summary>", run_<name>};
 * CMake generates the dispatch table from the file names, so adding a command touches no other file. */
#ifndef TC_TOOLS_COMMAND_H
#define TC_TOOLS_COMMAND_H

typedef struct tc_command {
    const char *name;
    const char *summary;
    int (*run)(int argc, char **argv); /* argv[0] is the command name; returns the exit status */
} tc_command;

#endif
