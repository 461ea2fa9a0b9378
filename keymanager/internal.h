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

/*
 * The body of c as a JSON object: the Content-Type must be application/json
 * (parameters allowed) and the body one strict JSON object.  Returns a new
 * reference (caller puts it), or NULL after replying 400 (gh_reply_error).
 */
struct json_object *km_in_body(struct gh_call *c);

/*
 * Member key of o as a string.  Returns 0 with *out borrowed from o, 1 when
 * absent or null (*out NULL), -1 when of another type or holding a NUL.
 */
int km_in_str(struct json_object *o, const char *key, const char **out);

/*
 * Member key of o as a JSON array; 0 with *out borrowed, 1 absent or null,
 * -1 another type.
 */
int km_in_array(struct json_object *o, const char *key, struct json_object **out);

/* 1 when s is 1..max bytes of [A-Za-z0-9 _.-] (names of clients, tiers, roles). */
int km_in_name_ok(const char *s, size_t max);

/* 1 when s is 1..max bytes of UTF-8 text without control characters. */
int km_in_text_ok(const char *s, size_t max);

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
