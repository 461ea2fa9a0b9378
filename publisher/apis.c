/* The publisher's /api/am/publisher/v4 routes (being written). */
#include "publisher/pub.h"

void
pub_api_routes(struct gh_router *r)
{
	(void)r;
}
