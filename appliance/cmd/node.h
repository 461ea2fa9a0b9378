/*
 * The gatehouse node command's shared declarations: its settings table
 * (the node configuration file every binary of a node reads), and the
 * subcommands.
 */
#ifndef GH_NODE_H
#define GH_NODE_H

#include <stddef.h>

#include "core/gh_settings.h"

#define GH_NODE_DEFAULT_CONFIG "/etc/gatehouse/gatehouse.conf"

extern const struct gh_setting_def gh_node_settings[];
extern const size_t gh_node_settings_count;

/*
 * Load path with the node table.  Returns the settings, or NULL after
 * printing every error (file:line and the fix) to stderr.
 */
struct gh_settings *gh_node_config_load(const char *path);

int gh_cmd_init(int argc, char **argv);
int gh_cmd_check_config(int argc, char **argv);

#endif
