/*
 * gatehouse check-config FILE: validate a node configuration without
 * starting anything.  Prints every error with file:line and the fix and
 * exits 1, or says the file is valid and exits 0.  --list prints the
 * table of known settings.
 */
#include <stdio.h>
#include <string.h>

#include "cmd/node.h"
#include "core/gh_settings.h"

int
gh_cmd_check_config(int argc, char **argv)
{
	struct gh_settings *s;

	if (argc == 2 && strcmp(argv[1], "--list") == 0) {
		size_t n;
		const struct gh_setting_def *defs = gh_config_table(GH_COMP_ALL, &n);
		if (defs == NULL)
			return 1;
		gh_settings_describe(defs, n, 1);
		return 0;
	}
	if (argc != 2 || argv[1][0] == '-') {
		fprintf(stderr, "usage: gatehouse check-config FILE | --list\n");
		return 2;
	}
	s = gh_config_load(argv[1], GH_COMP_ALL);
	if (s == NULL)
		return 1;
	printf("%s: valid\n", argv[1]);
	gh_settings_free(s);
	return 0;
}
