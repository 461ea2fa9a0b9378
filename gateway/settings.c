/*
 * The gateway process's state (struct gw) and its settings: each binary
 * reads its own section of the node file ([gw-internal] or
 * [gw-external], gw_zone.name) through gw_setting_str/int.
 */
#include <stdio.h>
#include <string.h>

#include "gateway/gw.h"

struct gw gw;

static const char *
key(char *buf, size_t len, const char *name)
{
	snprintf(buf, len, "%s.%s", gw_zone.name, name);
	return buf;
}

const char *
gw_setting_str(const char *name)
{
	char k[128];

	return gh_settings_str(gw.cfg, key(k, sizeof(k), name));
}

int64_t
gw_setting_int(const char *name)
{
	char k[128];

	return gh_settings_int(gw.cfg, key(k, sizeof(k), name));
}

const char *
gw_tm_url(void)
{
	const char *u = gh_settings_str(gw.cfg, "cluster.trafficmanager_url");

	if (u == NULL || *u == '\0' || strcmp(u, "none") == 0 || strcmp(u, "''") == 0)
		return NULL;
	return u;
}
