/*
 * The gatehouse node command's subcommands.  The configuration tables it
 * reads are in core/gh_config.h.
 */
#ifndef GH_NODE_H
#define GH_NODE_H

#include "core/gh_config.h"

int gh_cmd_init(int argc, char **argv);
int gh_cmd_check_config(int argc, char **argv);

#endif
