/*
 * gatehouse: the node command.  Dispatches to its subcommands.
 */
#include <stdio.h>
#include <string.h>

int
main(int argc, char **argv)
{
	if (argc < 2 || strcmp(argv[1], "help") == 0) {
		fprintf(stderr, "usage: gatehouse init|check-config|run|status\n");
		return argc < 2 ? 2 : 0;
	}
	fprintf(stderr, "gatehouse: unknown command '%s'\n", argv[1]);
	return 2;
}
