/*
 * The node configuration: one file per node (default
 * /etc/gatehouse/gatehouse.conf) read by every binary of the node.  Each
 * binary's settings table is the node table plus its own COMPONENT.*
 * entries; the tables live in core/config.c so that `gatehouse
 * check-config` can validate a whole file.
 */
#ifndef GH_CONFIG_H
#define GH_CONFIG_H

#include <stddef.h>

#include "core/gh_settings.h"

#define GH_CONFIG_DEFAULT "/etc/gatehouse/gatehouse.conf"

enum gh_component {
	GH_COMP_NODE,           /* the gatehouse command: node settings only */
	GH_COMP_KEYMANAGER,
	GH_COMP_PUBLISHER,
	GH_COMP_PORTAL,
	GH_COMP_GW_INTERNAL,
	GH_COMP_GW_EXTERNAL,
	GH_COMP_TRAFFICMANAGER,
	GH_COMP_COUNT,
	GH_COMP_ALL = GH_COMP_COUNT,  /* every table (check-config) */
};

/* The merged table of comp (node + comp's own); *n gets its length.  Static storage. */
const struct gh_setting_def *gh_config_table(enum gh_component comp, size_t *n);

/*
 * Load path with comp's table; other components' settings are skipped.
 * Returns the settings, or NULL after printing every error (file:line and
 * the fix) and a count to stderr.
 */
struct gh_settings *gh_config_load(const char *path, enum gh_component comp);

#define GH_CONFIG_KEK_LEN 32

/* Decode keys.signing_kek (base64 of 32 bytes) into kek.  0 ok, -1 unset or malformed. */
int gh_config_kek(const struct gh_settings *s, unsigned char kek[GH_CONFIG_KEK_LEN]);

#endif
