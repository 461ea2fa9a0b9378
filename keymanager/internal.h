/*
 * Private header of the key manager's client registration (dcr.c) and
 * internal APIs (internal*.c): request-input checks shared by them
 * (internal.c) and the route tables of each internal module.  Nothing
 * outside those files includes it.
 */
#ifndef KM_INTERNAL_H
#define KM_INTERNAL_H

#include <stddef.h>

#include "keymanager/km.h"

struct json_object;

/* Longest accepted callback URL. */
#define KM_IN_URL_MAX 2048
/* Room for a space-separated list of every allowed grant type, NUL included. */
#define KM_IN_GRANTS_MAX 96

/* 1 when s is 1..KM_IN_URL_MAX bytes of printable ASCII without spaces. */
int km_in_url_ok(const char *s);

/*
 * 1 when s can be a user name written to LDAP: 1..100 bytes of
 * [A-Za-z0-9._@+-], starting with a letter or digit.
 */
int km_in_user_ok(const char *s);

/*
 * Add grant type g to the space-separated list out (outlen bytes,
 * KM_IN_GRANTS_MAX is enough) unless already there.  Allowed:
 * client_credentials, password, authorization_code, refresh_token.
 * Returns 0, or -1 with *why set to a static description.
 */
int km_in_grant_add(char *out, size_t outlen, const char *g, const char **why);

/*
 * The caller of an internal API must hold a client certificate whose role
 * is one of the comma-separated roles.  0 when it does; otherwise replies
 * 403 and returns -1.
 */
int km_in_require_role(struct gh_call *c, const char *roles);

/*
 * The audit actor of an internal call: "ROLE:NODE" of the certificate,
 * written into buf (len bytes); returns buf.
 */
const char *km_in_actor(const struct gh_call *c, char *buf, size_t len);

/*
 * 1 when tenant is an active row of gh_tenants, 0 when not, -1 on a
 * database error.
 */
int km_in_tenant_active(struct gh_pg *db, const char *tenant);

/* json_object_new_string, or JSON null for NULL. */
struct json_object *km_in_jstr(const char *s);

/* Route tables of the internal modules (registered by km_internal_routes). */
void km_internal_client_routes(struct gh_router *r);   /* internal_clients.c */
void km_internal_token_routes(struct gh_router *r);    /* internal_tokens.c */
void km_internal_user_routes(struct gh_router *r);     /* internal_users.c */

#endif
