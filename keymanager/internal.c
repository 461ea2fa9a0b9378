/* Placeholder until this module lands. */
#include "keymanager/km.h"
void
km_internal_routes(struct gh_router *r)
{
	(void)r;
}
