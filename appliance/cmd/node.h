/*
 * The gatehouse node command's subcommands.  The configuration tables it
 * reads are in core/gh_config.h.
 */
#ifndef GH_NODE_H
#define GH_NODE_H

#include <stddef.h>

#include "core/gh_config.h"

/* Each takes the command's own argv (argv[0] is its name) and returns the exit status. */
int gh_cmd_init(int argc, char **argv);
int gh_cmd_check_config(int argc, char **argv);
int gh_cmd_run(int argc, char **argv);
int gh_cmd_status(int argc, char **argv);
int gh_cmd_backup(int argc, char **argv);
int gh_cmd_restore(int argc, char **argv);
int gh_cmd_enrolment_token(int argc, char **argv);

/*
 * For gatehouse init: make what is missing of the node's embedded
 * PostgreSQL and slapd (node.embedded_db, node.embedded_ldap) and start
 * them unless `gatehouse run` has them up; gh_node_embedded_done stops
 * what was started.  cfg: the node settings init read.  0, or -1 after
 * printing why.  No-ops without them.
 */
int gh_node_embedded_for_init(const struct gh_settings *cfg, const char *config_path);
void gh_node_embedded_done(void);

/*
 * When root and no user gatehouse exists, create it (useradd --system).
 * Prints what it did.  0, or -1 when useradd failed (printed).
 */
int gh_node_user_ensure(void);

/*
 * Refuse secrets other users could read: the configuration file when it
 * holds keys.signing_kek or db.password (also ldap.bind_password with
 * strict, which needs a GH_COMP_ALL table), every private key of
 * node.data_dir/pki, and (strict) the gateways' tls_key files; each must
 * be mode 0600 or stricter.  0, or -1 after printing, for each file, what
 * it holds and the chmod that fixes it.
 */
int gh_node_secrets_check(const struct gh_settings *cfg, const char *config_path,
    const char *prog, int strict);

/*
 * When root: hand the configuration file and the components' private keys
 * (never the CA key) to node.run_as, mode kept 0600, and the pki folder to
 * its group (0750), so that the daemons can read them again on SIGHUP
 * after dropping root.  0, or -1 after printing why.
 */
int gh_node_files_own(const struct gh_settings *cfg, const char *config_path);

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
