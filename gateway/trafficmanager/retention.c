/*
 * Analytics partitions and retention (placeholder of the spine).
 */
#include "gateway/trafficmanager/tm.h"

int
tm_retention_start(void)
{
	return 0;
}

void
tm_retention_stop(void)
{
}
