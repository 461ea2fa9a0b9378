/*
 * The external zone's profile (gatehouse-gw-external, DMZ): TLS on every
 * public listener and no plain HTTP, no Basic authentication (no LDAP code
 * is linked), X-Forwarded-For only from the load balancers, per-API GeoIP
 * restriction, and only environments of type external are served.
 */
#include "gateway/ext_geo.h"
#include "gateway/gw.h"

const struct gw_zone gw_zone = {
	.kind = GW_ZONE_EXTERNAL,
	.name = "gw-external",
	.env_type = "external",
	.allows_plain = 0,
	.allows_basic = 0,
};

int
gw_zone_init(const struct gh_settings *cfg)
{
	return gw_geo_open(gh_settings_str(cfg, "gw-external.geoip_db"));
}

void
gw_zone_reload(void)
{
	gw_geo_reload();
}

void
gw_zone_shutdown(void)
{
	gw_geo_close();
}

enum gw_rc
gw_zone_basic(struct gw_req *r, const char *authorization)
{
	(void)r;
	(void)authorization;
	return GW_DECLINED;
}
