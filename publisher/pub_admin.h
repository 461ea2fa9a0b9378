/*
 * The admin REST API (/api/am/admin/v4) inside the publisher: the route
 * tables of its modules (admin_tenants.c, admin_env.c, admin_policies.c,
 * admin_deny.c, admin_audit.c) and the request helpers they share
 * (admin.c).  Every helper that takes a struct gh_call and returns -1 has
 * already replied; the caller just stops.
 */
#ifndef PUB_ADMIN_H
#define PUB_ADMIN_H

#include <stddef.h>

#include "core/gh_mauth.h"
#include "publisher/pub.h"

#define PUB_ADMIN_BASE "/api/am/admin/v4"
#define PUB_SUPER_TENANT "carbon.super"

/* Route tables of the admin modules. */
void pub_admin_tenant_routes(struct gh_router *r);
void pub_admin_env_routes(struct gh_router *r);
void pub_admin_policy_routes(struct gh_router *r);
void pub_admin_deny_routes(struct gh_router *r);
void pub_admin_audit_routes(struct gh_router *r);
/* admin_users.c: /users (LDAP read) and /users/{username}/reset-password (key manager); main.c registers it. */
void pub_admin_user_routes(struct gh_router *r);

/*
 * Authenticate c's Bearer token with scope apim:admin into *p (release
 * with gh_principal_clear).  0, or -1 after replying 401/403/503.
 */
int pub_adm_auth(struct gh_call *c, struct gh_pg *db, struct gh_principal *p);

/* 1 when p acts in the super tenant (carbon.super). */
int pub_adm_is_super(const struct gh_principal *p);

/* 0 when p is a super-tenant admin; -1 after replying 403 (what names the refused thing). */
int pub_adm_require_super(struct gh_call *c, const struct gh_principal *p, const char *what);

/*
 * The request body as a JSON object (new reference, json_object_put), or
 * NULL after replying 415 (not application/json) or 400 (not one JSON
 * object).
 */
struct json_object *pub_adm_body(struct gh_call *c);

/*
 * Member key of o as a string into *out (borrowed from o; NULL when
 * absent or null).  Refuses (400, naming the member) a wrong type, a NUL,
 * more than max bytes or a control character (multiline: tab and newline
 * allowed), and an absent member when required.  0 or -1.
 */
int pub_adm_str(struct gh_call *c, struct json_object *o, const char *key, int required, size_t max,
    int multiline, const char **out);

/* Member key as a boolean into *out: 0 read, 1 absent or null, -1 after replying 400. */
int pub_adm_bool(struct gh_call *c, struct json_object *o, const char *key, int *out);

/* Member key as an integer in [min, max] into *out: 0 read, 1 absent or null, -1 after 400. */
int pub_adm_int(struct gh_call *c, struct json_object *o, const char *key, long long min, long long max,
    long long *out);

/* Member key as an object into *out (borrowed): 0 read, 1 absent or null, -1 after 400. */
int pub_adm_obj(struct gh_call *c, struct json_object *o, const char *key, struct json_object **out);

/* Member key as an array of at most max items into *out (borrowed): 0, 1 absent, -1 after 400. */
int pub_adm_arr(struct gh_call *c, struct json_object *o, const char *key, size_t max,
    struct json_object **out);

/*
 * 400 when o has a member not in allowed (NULL-terminated): typos must not
 * pass as "nothing to change".  0 or -1.
 */
int pub_adm_known(struct gh_call *c, struct json_object *o, const char *const *allowed);

/*
 * Query parameter name of c as an integer in [min, max] into *out (def
 * when absent).  0, or -1 after replying 400.
 */
int pub_adm_query_int(struct gh_call *c, const char *name, long long min, long long max, long long def,
    long long *out);

/* Reply for a failed database call on db: 503 when the connection is the problem, else 500. */
void pub_adm_db_error(struct gh_call *c, struct gh_pg *db);

/*
 * Run sql (one row, one text column holding JSON) and reply it with
 * status; 404 with what when there is no row.  Errors as pub_adm_db_error.
 */
void pub_adm_reply_query(struct gh_call *c, struct gh_pg *db, int status, const char *what, const char *sql,
    int n, const char *const *params);

/*
 * Append an event of type about payload (borrowed) for every environment,
 * in db's open transaction.  0 or -1 (SQLSTATE on db).
 */
int pub_adm_event(struct gh_pg *db, const char *tenant, const char *type, struct json_object *payload);

/* The actor of p for audit rows ("admin", "alice@acme.com"): p->sub. */
const char *pub_adm_actor(const struct gh_principal *p);

#endif
