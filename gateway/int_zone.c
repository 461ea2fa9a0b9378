/*
 * The internal zone's profile (gatehouse-gw-internal, LAN): plain HTTP
 * may be served beside HTTPS, Basic authentication against LDAP is
 * allowed, and only environments of type internal are served.  No GeoIP.
 */
#include "gateway/gw.h"
#include "gateway/int_basic.h"

const struct gw_zone gw_zone = {
	.kind = GW_ZONE_INTERNAL,
	.name = "gw-internal",
	.env_type = "internal",
	.allows_plain = 1,
	.allows_basic = 1,
};

int
gw_zone_init(const struct gh_settings *cfg)
{
	return gw_basic_init(cfg);
}

void
gw_zone_reload(void)
{
}

void
gw_zone_shutdown(void)
{
	gw_basic_shutdown();
}

int
gw_zone_country(const char *ip, char cc[3])
{
	(void)ip;
	cc[0] = '\0';
	return 0;
}
