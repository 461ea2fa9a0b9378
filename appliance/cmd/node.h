/*
 * The gatehouse node command's subcommands.  The configuration tables it
 * reads are in core/gh_config.h.
 */
#ifndef GH_NODE_H
#define GH_NODE_H

#include <stddef.h>

#include "core/gh_config.h"

int gh_cmd_init(int argc, char **argv);
int gh_cmd_check_config(int argc, char **argv);

/*
 * gatehouse init --enroll (cmd/enroll.c): join the deployment whose
 * publisher feed port is at url with token (fp_arg: --ca-fingerprint or
 * NULL; role: --role or NULL, then node.role of the file or the token's
 * role).  Returns the exit status (0 enrolled or already initialised, 1
 * refused or failed with nothing written, 2 usage).
 */
int gh_cmd_enroll(const char *config_path, const char *url, const char *token, const char *fp_arg,
    const char *role);

/* 1 when the configuration file at path sets name (SECTION.KEY), 0 when not or absent, -1 unreadable. */
int gh_conf_file_sets(const char *path, const char *name);

/*
 * Append settings names[i] = values[i] (SECTION.KEY, quoted) to path under
 * a "# comment" line, grouped under [SECTION] headers, creating the file
 * if needed and making it mode 0600.  Values with control characters are
 * skipped.  0, or -1 after printing why.
 */
int gh_conf_file_append(const char *path, const char *comment, const char *const *names,
    const char *const *values, size_t n);

#endif
