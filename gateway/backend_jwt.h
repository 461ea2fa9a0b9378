/*
 * Backend JWT (backend_jwt.c): the X-JWT-Assertion a backend receives
 * when its API asks for one, signed ES256 with this node's key.  A small
 * per-worker cache keeps the signed assertion per verified principal and
 * API, so most requests do not sign.
 */
#ifndef GW_BACKEND_JWT_H
#define GW_BACKEND_JWT_H

#include "gateway/gw.h"

struct gw_bjwt_cache;

/* A cache for one worker (gw_bjwt_cache_free), or NULL on ENOMEM. */
struct gw_bjwt_cache *gw_bjwt_cache_new(void);
void gw_bjwt_cache_free(struct gw_bjwt_cache *c);

/*
 * The assertion for r's principal on r's API, borrowed from c (valid
 * until the next call on c), or NULL when it cannot be made (no key).
 * Claims: iss "gatehouse-gateway/{environment}", sub, iat, exp (15 min,
 * or the caller's token's exp when sooner), jti, scope, client_id,
 * gateway_node and WSO2's http://wso2.org/claims/ set (apiname,
 * apicontext, version, applicationid, applicationname, applicationtier,
 * subscriber, tier, keytype, usertype, enduser, enduserTenant).
 */
const char *gw_backend_jwt_assertion(struct gw_bjwt_cache *c, const struct gw_req *r);

#endif
