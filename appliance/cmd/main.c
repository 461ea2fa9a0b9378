/*
 * gatehouse: the node command.  Dispatches to its subcommands; each lives
 * in its own file of appliance/cmd/ and returns the process exit status
 * (0 ok, 1 failure, 2 usage).
 */
#include <stdio.h>
#include <string.h>

#include "cmd/node.h"
#include "core/gh_service.h"

static const struct {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *help;
} commands[] = {
	{ "init", gh_cmd_init, "init --first [--role ROLE] [--config FILE]: make a deployment's first node; "
	    "init --enroll URL --token T [--config FILE] [--ca-fingerprint sha256:HEX]: join one" },
	{ "run", gh_cmd_run, "run [--config FILE]: run the node's role (its processes, supervised)" },
	{ "status", gh_cmd_status, "status [--config FILE] [--json]: each process, its health and version" },
	{ "backup", gh_cmd_backup, "backup DIR [--config FILE]: database, directory, CA and configuration" },
	{ "restore", gh_cmd_restore, "restore DIR [--config FILE]: a backup into a fresh node" },
	{ "enrolment-token", gh_cmd_enrolment_token, "enrolment-token --role ROLE [--environment ENV] "
	    "[--expires-in SECONDS] [--config FILE]: a one-use token on the first node (no key manager needed)" },
	{ "check-config", gh_cmd_check_config,
	    "check-config FILE | --list [--markdown]: validate a configuration file, or list every setting" },
};

static void
usage(FILE *f)
{
	fprintf(f, "usage: gatehouse COMMAND [ARGS]\n");
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(f, "  %s\n", commands[i].help);
}

int
main(int argc, char **argv)
{
	/* progress lines keep their order with stderr's when both go to one log file */
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	if (strcmp(argv[1], "help") == 0 || strcmp(argv[1], "--help") == 0) {
		usage(stdout);
		return 0;
	}
	if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "version") == 0) {
		printf("gatehouse %s\n", GH_VERSION);
		return 0;
	}
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (strcmp(argv[1], commands[i].name) == 0)
			return commands[i].fn(argc - 1, argv + 1);
	fprintf(stderr, "gatehouse: unknown command '%s'\n", argv[1]);
	usage(stderr);
	return 2;
}
