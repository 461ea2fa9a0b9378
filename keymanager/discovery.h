/*
 * The key manager's discovery endpoints (discovery.c), registered by
 * km_endpoint_routes (introspect.c) on the public router.
 */
#ifndef KM_DISCOVERY_H
#define KM_DISCOVERY_H

struct gh_router;

/*
 * Add GET /oauth2/jwks, GET /oauth2/jwks/backend/{environment},
 * GET /.well-known/oauth-authorization-server and
 * GET /.well-known/openid-configuration to pub (the public router).
 */
void km_discovery_routes(struct gh_router *pub);

#endif
