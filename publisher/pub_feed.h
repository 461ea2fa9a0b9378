/*
 * The gateway data feed's modules (publisher/FEED.md): feed.c (routes,
 * the events long-poll and retention), snapshot.c and backend_keys.c.
 * Every route runs on the feed port (9446), whose server admits only
 * gw-internal and gw-external certificates; a gateway is served only the
 * environment its certificate names.
 */
#ifndef PUB_FEED_H
#define PUB_FEED_H

#include "publisher/pub.h"

#define PUB_FEED_BASE "/internal/data/v1"

/* snapshot.c: GET /internal/data/v1/snapshot on a worker. */
void pub_feed_snapshot_routes(struct gh_router *r);

/* backend_keys.c: POST /internal/data/v1/backend-keys on a worker. */
void pub_feed_backend_key_routes(struct gh_router *r);

/*
 * The environment a feed request may read: 0 when env (the query's
 * environment, may be NULL) is the caller's certificate's; otherwise
 * *status and *why say 400 (missing or malformed) or 403 (another
 * environment's, or no gateway identity).
 */
int pub_feed_env_allowed(int has_peer_id, const struct gh_peer_id *peer, const char *env, int *status,
    const char **why);

#endif
