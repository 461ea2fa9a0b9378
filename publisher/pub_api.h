/*
 * The publisher REST API (/api/am/publisher/v4) between its modules:
 * apis.c (route table, API CRUD), api_common.c (auth, ids, errors, the
 * API row), api_validate.c (a WSO2 API object checked and normalized into
 * the stored definition), api_search.c (GET /apis), api_yaml.c and
 * api_multipart.c (request decoding), openapi.c (import, swagger),
 * lifecycle.c, revisions.c (revisions and deployments) and owner_subs.c
 * (subscriptions seen by the API owner).  Every handler runs on a worker
 * (pg/gh_call.h); every change is one transaction with its audit row and
 * its feed events (publisher/FEED.md).
 */
#ifndef PUB_API_H
#define PUB_API_H

#include <stddef.h>
#include <stdint.h>

#include "core/gh_mauth.h"
#include "pg/gh_call.h"
#include "pg/gh_pg.h"

struct json_object;

#define PUB_V4 "/api/am/publisher/v4"
#define PUB_SUPER_TENANT "carbon.super"

/* ---- api_common.c ---------------------------------------------------- */

/* An error a transaction body or a validator decided: HTTP status and description. */
struct pub_err {
	int status;
	char desc[400];
};

/* Record status and a printf description in e; returns status (a positive rollback code). */
int pub_fail(struct pub_err *e, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/*
 * Authenticate c and require scope1 or scope2 (scope2 may be NULL).  0
 * with *p filled (gh_principal_clear it); -1 when it has replied (401,
 * 403, 503).
 */
int pub_auth(struct gh_call *c, struct gh_pg *db, const char *scope1, const char *scope2,
    struct gh_principal *p);

/* The provider name of p as WSO2 shows it: the full user name (alice@acme.com). */
const char *pub_provider(const struct gh_principal *p);

/* Reply e (status and description) with WSO2's message for the status. */
void pub_reply_err(struct gh_call *c, const struct pub_err *e);

/*
 * Reply the outcome of gh_pg_run_tx that failed: rc > 0 answers e, rc -1
 * a database failure (23505 → 409 conflict, 22021 → 400, else 503).
 */
void pub_reply_tx(struct gh_call *c, struct gh_pg *db, int rc, const struct pub_err *e);

/* A fresh random UUID (version 4) into out. */
void pub_uuid(char out[37]);

/* 1 when s looks like one of our ids (UUID text), so garbage never reaches SQL. */
int pub_id_ok(const char *s);

/* Reply 404 "API not found" (another tenant's id answers the same). */
void pub_reply_api_404(struct gh_call *c, const char *id);

/* Reply JSON text (a jsonb rendering) with status. */
void pub_reply_text(struct gh_call *c, int status, const char *json);

/*
 * The row of API id in tenant: locked FOR UPDATE when lock != 0 (inside a
 * transaction; every change of an API's state, revisions or deployments
 * takes it first, so they serialize per API).  0 and *out filled (free
 * with pub_api_row_clear), 1 when there is no such API in tenant, -1 db.
 */
struct pub_api_row {
	char *id, *tenant, *name, *context, *version, *provider, *status;
	int is_default;
	char *definition;               /* jsonb text */
	char *swagger;                  /* may be NULL */
};
int pub_api_load(struct gh_pg *db, const char *tenant, const char *id, int lock, struct pub_api_row *out);
/*
 * pub_api_load of c's apiId in tenant, without a lock: 0 with *out filled
 * (clear it), or -1 after replying 503 (database) or 404 (no such API).
 */
int pub_api_load_reply(struct gh_call *c, struct gh_pg *db, const char *tenant, struct pub_api_row *out);

void pub_api_row_clear(struct pub_api_row *r);

/* The full API object of id (SQL-rendered JSON text, malloc'd) or NULL (db error or no row). */
char *pub_api_render(struct gh_pg *db, const char *id);

/*
 * WSO2's list envelope {count, list, pagination:{offset, limit, total}}
 * of res, whose rows hold one JSON text each.  New reference.
 */
struct json_object *pub_list_page(const PGresult *res, int64_t total, int64_t limit, int64_t offset);

/* Integer query parameter name in [min, max] (def when absent): 0 or -1 (bad: replied 400). */
int pub_query_int(struct gh_call *c, const char *name, long long def, long long min, long long max,
    long long *out);

/* Parse c's body as a JSON value of type want (json_type_object/array): new ref or NULL with e set. */
struct json_object *pub_body_json(const struct gh_call *c, int want, struct pub_err *e);

/* ---- api_validate.c -------------------------------------------------- */

/*
 * Check and normalize a WSO2 publisher v4 API object (body, borrowed) for
 * tenant, over base (the stored definition on update, NULL on create:
 * members of body replace those of base).  On success returns a new
 * definition object (caller puts) with every default filled in, context
 * stored with its /t/{tenant} prefix, endpoints as {"url"} objects, and
 * *is_default set; NULL with e (400) otherwise.  No database access: the
 * names of policies are checked by pub_api_check_policies.
 */
struct json_object *pub_api_normalize(struct json_object *body, struct json_object *base,
    const char *tenant, int *is_default, struct pub_err *e);

/*
 * Check a context as given by a client and return the stored form
 * ("/t/acme.com/pizza" for acme.com) in out (outlen bytes).  0 or 400 in e.
 */
int pub_context_normalize(const char *in, const char *tenant, char *out, size_t outlen, struct pub_err *e);

/* 0 when name / version are well-formed, else 400 in e. */
int pub_name_check(const char *name, struct pub_err *e);
int pub_version_check(const char *version, struct pub_err *e);

/* 1 when t is a valid resource URL template ("/", "/items/{id}", or ending in a "*" segment). */
int pub_template_ok(const char *t);

/*
 * Inside a transaction: every subscription tier (policies), the API
 * throttling policy and the operations' throttling policies of def exist
 * for tenant (built-ins included).  0, 400 in e, or -1 db.
 */
int pub_api_check_policies(struct gh_pg *db, const char *tenant, struct json_object *def, struct pub_err *e);

/*
 * Inside a transaction: def may be stored for API id (NULL on create) of
 * tenant: its context is not used by an API of another name, and its
 * scopes not by another API.  0, 409 in e, or -1 db.
 */
int pub_api_check_conflicts(struct gh_pg *db, const char *tenant, const char *id, struct json_object *def,
    struct pub_err *e);

/* Inside a transaction: replace the gh_api_scopes rows of API id with def's scopes.  0 or -1. */
int pub_api_store_scopes(struct gh_pg *db, const char *tenant, const char *id, struct json_object *def);

/* JSON text of o (compact; pointer owned by o). */
const char *pub_json_text(struct json_object *o);

/* ---- apis.c / openapi.c --------------------------------------------- */

/*
 * Create an API in tenant from body (a WSO2 API object, borrowed) with an
 * optional OpenAPI document (JSON text or NULL), for the caller p; replies
 * 201 with Location and the API, or the error.  Used by POST /apis,
 * import-openapi.
 */
void pub_api_create(struct gh_call *c, struct gh_pg *db, const struct gh_principal *p,
    struct json_object *body, const char *swagger, const char *action);

/*
 * Inside a transaction: apply body (borrowed) to API id of pr's tenant as
 * PUT /apis/{id} does (name, version and context cannot change), storing
 * swagger when not NULL.  0 with *rendered the API object (malloc'd),
 * a positive HTTP status with e, or -1 db.
 */
int pub_api_update_in_tx(struct gh_pg *db, const struct gh_call *c, const struct gh_principal *pr, const char *id,
    struct json_object *body, const char *swagger, const char *action, struct pub_err *e, char **rendered);

void pub_openapi_import(struct gh_call *c, struct gh_pg *db);
void pub_api_copy(struct gh_call *c, struct gh_pg *db);          /* api_copy.c */
void pub_openapi_get(struct gh_call *c, struct gh_pg *db);
void pub_openapi_put(struct gh_call *c, struct gh_pg *db);
void pub_api_search(struct gh_call *c, struct gh_pg *db);

/* ---- api_yaml.c ----------------------------------------------------- */

/*
 * Parse YAML text (one document, no anchors, aliases, duplicate keys or
 * custom tags; bounded depth and size) into a json-c tree: new ref, or
 * NULL with a static reason in *why.
 */
struct json_object *pub_yaml_parse(const char *text, size_t len, const char **why);

/* ---- api_multipart.c ------------------------------------------------ */

struct pub_part {
	char name[128];
	char filename[256];
	char ctype[128];
	const char *data;               /* borrowed from the body */
	size_t len;
};

/*
 * Split a multipart/form-data body whose Content-Type is ctype into at
 * most max parts (borrowing the body).  Returns the number of parts, or
 * -1 when malformed.
 */
int pub_multipart_parse(const char *ctype, const char *body, size_t len, struct pub_part *parts, int max);

/* ---- lifecycle.c, revisions.c, owner_subs.c ------------------------- */

void pub_lifecycle_change(struct gh_call *c, struct gh_pg *db);
void pub_lifecycle_history(struct gh_call *c, struct gh_pg *db);
void pub_lifecycle_state(struct gh_call *c, struct gh_pg *db);

/* Display name of a state ("PUBLISHED" → "Published"); static string. */
const char *pub_state_display(const char *state);

void pub_revision_create(struct gh_call *c, struct gh_pg *db);
void pub_revision_list(struct gh_call *c, struct gh_pg *db);
void pub_revision_get(struct gh_call *c, struct gh_pg *db);
void pub_revision_delete(struct gh_call *c, struct gh_pg *db);
void pub_revision_deploy(struct gh_call *c, struct gh_pg *db);
void pub_revision_undeploy(struct gh_call *c, struct gh_pg *db);
void pub_deployments_list(struct gh_call *c, struct gh_pg *db);

/*
 * Inside a transaction, API row locked: undeploy api_id from every
 * environment (delete its gh_deployments rows and append api.undeployed
 * for each).  0 or -1.
 */
int pub_undeploy_all(struct gh_pg *db, const char *tenant, const char *api_id);

void pub_owner_subs_list(struct gh_call *c, struct gh_pg *db);
void pub_owner_subs_block(struct gh_call *c, struct gh_pg *db);
void pub_owner_subs_unblock(struct gh_call *c, struct gh_pg *db);

#endif
