/*
 * The analytics shipper, the gateway's side (placeholder of the spine:
 * the spool stays on disk until the module lands).
 */
#include "gateway/gw.h"

int
gw_ship_start(void)
{
	return 0;
}

void
gw_ship_stop(void)
{
}
