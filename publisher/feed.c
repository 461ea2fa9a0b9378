/* The data feed (being written). */
#include "publisher/pub.h"

void
pub_feed_routes(struct gh_router *r)
{
	(void)r;
}

void
pub_feed_notify(int64_t max_id, void *arg)
{
	(void)max_id;
	(void)arg;
}

void
pub_feed_shutdown(void)
{
}
