/*
 * The store's routing index, for route.c (and its unit tests): the APIs
 * grouped by context, so that routing costs one hash lookup per path
 * prefix.  Built by gw_store_build with the rest of the store, read-only
 * afterwards, freed with it.
 */
#ifndef GW_STORE_INT_H
#define GW_STORE_INT_H

#include <stddef.h>

#include "gateway/gw.h"

/* Every API (every version, every vhost) deployed at one context. */
struct gw_ctx {
	const char *context;            /* "/pizza", "/t/acme.com/pizza" */
	size_t len;
	struct gw_api **apis;           /* borrowed from the store */
	size_t napis;
};

/*
 * The APIs at context ctx[0..len) (exact, case-sensitive), or NULL;
 * borrowed from s.  No allocation: callable on the hot path.
 */
const struct gw_ctx *gw_store_context(const struct gw_store *s, const char *ctx, size_t len);

/* Length of the longest context (0 when there is none): no longer prefix needs a lookup. */
size_t gw_store_context_max(const struct gw_store *s);

/* Number of vhosts of the store's environment (0 when it lists none). */
size_t gw_store_vhost_count(const struct gw_store *s);

#endif
