/* The admin's /api/am/admin/v4 routes (being written). */
#include "publisher/pub.h"

void
pub_admin_routes(struct gh_router *r)
{
	(void)r;
}
