/*
 * What gateways see of the control plane (publisher/FEED.md): the
 * RuntimeApi, Subscription and Application shapes, rendered by
 * PostgreSQL (jsonb) so that the snapshot and the events say exactly the
 * same thing.  Used by the feed's snapshot and by the writers of api.*
 * and subscription.* events.  Every function runs on the caller's
 * connection (inside its transaction when it has one) and returns JSON
 * text that the caller frees, or NULL on a database error (SQLSTATE on db).
 */
#ifndef PUB_RUNTIME_H
#define PUB_RUNTIME_H

#include "pg/gh_pg.h"

/* JSON array of RuntimeApi deployed to env (not RETIRED); only api_id's when not NULL. */
char *pub_rt_apis(struct gh_pg *db, const char *env, const char *api_id);

/* JSON array of Subscription to the APIs deployed to env (only api_id's when not NULL). */
char *pub_rt_subscriptions(struct gh_pg *db, const char *env, const char *api_id);

/* JSON array of Application holding those subscriptions (with their keys). */
char *pub_rt_applications(struct gh_pg *db, const char *env, const char *api_id);

/* JSON array of the environment names api_id is deployed to ("[]" when none). */
char *pub_rt_api_environments(struct gh_pg *db, const char *api_id);

/*
 * Append api.deployed for api_id in env: {"environment", "api",
 * "subscriptions", "applications"}, visible to env only.  Call after the
 * deployment row is written, in the same transaction.  0 or -1.
 */
int pub_rt_event_deployed(struct gh_pg *db, const char *tenant, const char *api_id, const char *env);

/*
 * Append api.undeployed {"environment","apiId","tenant"} for env, in the
 * caller's transaction.  0 or -1.
 */
int pub_rt_event_undeployed(struct gh_pg *db, const char *tenant, const char *api_id, const char *env);

/*
 * Append an event about api_id (type, payload_json) visible to the
 * environments the API is deployed to (none: an empty list).  0 or -1.
 */
int pub_rt_event_api(struct gh_pg *db, const char *tenant, const char *api_id, const char *type,
    const char *payload_json);

#endif
