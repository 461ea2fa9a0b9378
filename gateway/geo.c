/*
 * Per-API GeoIP restriction (external zone; the internal zone's
 * gw_zone_country always answers "", and the phase does nothing there).
 * The client's country is looked up once per request (r->country, also
 * for analytics); an API in allow mode refuses countries not listed,
 * unknown ones included; in deny mode it refuses those listed.  A refusal
 * is 403 with code 900806 ("Access denied from your location").
 */
#include <string.h>

#include "gateway/gw.h"

static int
listed(char **list, const char *cc)
{
	for (size_t i = 0; list != NULL && list[i] != NULL; i++)
		if (strcmp(list[i], cc) == 0)
			return 1;
	return 0;
}

enum gw_rc
gw_phase_geo(struct gw_req *r)
{
	const struct gw_api *api = r->match.api;
	int refuse;

	if (gw_zone.kind != GW_ZONE_EXTERNAL)
		return GW_OK;
	if (r->country[0] == '\0')
		gw_zone_country(r->http->client_addr, r->country);
	if (api == NULL || api->geo_mode == 0)
		return GW_OK;
	if (api->geo_mode == 1)
		refuse = r->country[0] == '\0' || !listed(api->geo_countries, r->country);
	else
		refuse = r->country[0] != '\0' && listed(api->geo_countries, r->country);
	if (!refuse)
		return GW_OK;
	return gw_reply_error(r, 403, 900806, "Access denied from your location",
	    "This API is not available in your country");
}
