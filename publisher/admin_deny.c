/*
 * Deny policies (/api/am/admin/v4/throttling/deny-policies, WSO2's
 * blocking conditions) of the caller's tenant: API ("/context/version"),
 * APPLICATION ("owner:appName"), USER (a user name), IP ({fixedIp,
 * invert}) and IPRANGE ({startingIp, endingIp, invert}).  Values are
 * validated per type and stored normalized (addresses as inet_ntop writes
 * them); the same condition twice is a 409.  Every change writes
 * deny.created|updated|removed for every environment and an audit row in
 * one transaction.  The item is also reachable at WSO2's singular
 * /throttling/deny-policy/{conditionId}.
 */
#include <arpa/inet.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/gh_json.h"
#include "publisher/pub_admin.h"

#define DENY_JSON \
	"json_build_object('conditionId', id, 'conditionType', condition_type, " \
	"'conditionValue', condition_value, 'conditionStatus', condition_status)"
#define DENY_EVENT_JSON \
	"json_build_object('id', id, 'tenant', tenant, 'conditionType', condition_type, " \
	"'conditionValue', condition_value, 'conditionStatus', condition_status)::text"

/* Parse s as an IPv4 or IPv6 address into buf (16 bytes); its family, or 0. */
static int
ip_parse(const char *s, unsigned char *buf, char *norm, size_t normlen)
{
	if (s == NULL)
		return 0;
	memset(buf, 0, 16);
	if (inet_pton(AF_INET, s, buf) == 1) {
		inet_ntop(AF_INET, buf, norm, (socklen_t)normlen);
		return AF_INET;
	}
	if (inet_pton(AF_INET6, s, buf) == 1) {
		inet_ntop(AF_INET6, buf, norm, (socklen_t)normlen);
		return AF_INET6;
	}
	return 0;
}

/* 1 when s is printable ASCII/UTF-8 text of 1..max bytes without blanks. */
static int
token_ok(const char *s, size_t max)
{
	if (s == NULL || s[0] == '\0' || !gh_body_text_ok(s, max, GH_BODY_EMPTY_OK))
		return 0;
	for (const char *p = s; *p; p++)
		if (*p == ' ')
			return 0;
	return 1;
}

/*
 * The conditionValue of type in o, validated and normalized, as JSON text
 * (malloc'd) into *out.  0 or -1 after replying 400.
 */
static int
value_parse(struct gh_call *c, struct json_object *o, const char *type, char **out)
{
	struct json_object *v = NULL, *n = NULL;
	char a[INET6_ADDRSTRLEN], b[INET6_ADDRSTRLEN];
	unsigned char ba[16], bb[16];
	const char *why = NULL;
	int invert = 0;

	*out = NULL;
	if (!json_object_object_get_ex(o, "conditionValue", &v) || v == NULL) {
		gh_reply_error(c, 400, "Bad Request", "conditionValue is required");
		return -1;
	}
	if (strcmp(type, "IP") == 0 || strcmp(type, "IPRANGE") == 0) {
		static const char *const ipm[] = { "fixedIp", "invert", NULL };
		static const char *const rangem[] = { "startingIp", "endingIp", "invert", NULL };
		int ip = strcmp(type, "IP") == 0, fa, fb;
		const char *s1 = NULL, *s2 = NULL;

		if (!json_object_is_type(v, json_type_object)) {
			why = ip ? "conditionValue of IP must be {\"fixedIp\", \"invert\"}" :
			    "conditionValue of IPRANGE must be {\"startingIp\", \"endingIp\", \"invert\"}";
			goto bad;
		}
		if (pub_adm_known(c, v, ip ? ipm : rangem) != 0 || pub_adm_bool(c, v, "invert", &invert) < 0 ||
		    pub_adm_str(c, v, ip ? "fixedIp" : "startingIp", 1, 64, 0, &s1) != 0 ||
		    (!ip && pub_adm_str(c, v, "endingIp", 1, 64, 0, &s2) != 0))
			return -1;
		n = json_object_new_object();
		fa = ip_parse(s1, ba, a, sizeof(a));
		if (fa == 0) {
			why = ip ? "fixedIp must be an IPv4 or IPv6 address" : "startingIp must be an IP address";
			goto bad;
		}
		if (ip) {
			json_object_object_add(n, "fixedIp", json_object_new_string(a));
		} else {
			fb = ip_parse(s2, bb, b, sizeof(b));
			if (fb == 0) {
				why = "endingIp must be an IP address";
				goto bad;
			}
			if (fa != fb) {
				why = "startingIp and endingIp must be of the same family";
				goto bad;
			}
			if (memcmp(ba, bb, fa == AF_INET ? 4 : 16) > 0) {
				why = "startingIp must not be above endingIp";
				goto bad;
			}
			json_object_object_add(n, "startingIp", json_object_new_string(a));
			json_object_object_add(n, "endingIp", json_object_new_string(b));
		}
		json_object_object_add(n, "invert", json_object_new_boolean(invert));
	} else {
		const char *s, *colon;

		if (!json_object_is_type(v, json_type_string)) {
			why = "conditionValue must be a string for API, APPLICATION and USER";
			goto bad;
		}
		s = json_object_get_string(v);
		if (strlen(s) != (size_t)json_object_get_string_len(v) || !token_ok(s, 512)) {
			why = "conditionValue must be 1 to 512 characters without blanks or control characters";
			goto bad;
		}
		if (strcmp(type, "API") == 0 && (s[0] != '/' || strchr(s + 1, '/') == NULL ||
		    s[strlen(s) - 1] == '/' || strstr(s, "//") != NULL)) {
			why = "conditionValue of API must be \"/context/version\"";
			goto bad;
		}
		colon = strchr(s, ':');
		if (strcmp(type, "APPLICATION") == 0 && (colon == NULL || colon == s || colon[1] == '\0')) {
			why = "conditionValue of APPLICATION must be \"owner:applicationName\"";
			goto bad;
		}
		if (strcmp(type, "USER") == 0 && strlen(s) > 256) {
			why = "conditionValue of USER must be a user name";
			goto bad;
		}
		n = json_object_new_string(s);
	}
	*out = strdup(json_object_to_json_string_ext(n, JSON_C_TO_STRING_PLAIN));
	json_object_put(n);
	if (*out == NULL) {
		gh_reply_error(c, 500, "Internal Server Error", "Out of memory");
		return -1;
	}
	return 0;
bad:
	json_object_put(n);
	gh_reply_error(c, 400, "Bad Request", why);
	return -1;
}

struct deny_change {
	struct gh_call *c;
	const struct gh_principal *p;
	const char *id, *type, *value, *status;  /* status "true"/"false" or NULL */
	const char *event, *action;
	char *out_id;
	int missing, dup;
};

/* Append the event of row id and the audit row.  0 or -1. */
static int
deny_event(struct gh_pg *db, struct deny_change *d, const char *payload)
{
	gh_call_audit(db, d->c, "publisher", pub_adm_actor(d->p), d->p->tenant, d->action, d->out_id, NULL, NULL);
	return gh_outbox_append(db, d->p->tenant, d->event, payload, NULL);
}

static int
deny_payload_event(struct gh_pg *db, struct deny_change *d, PGresult *res)
{
	int rc;

	if (res == NULL)
		return -1;
	if (gh_pg_nrows(res) != 1) {
		PQclear(res);
		d->missing = 1;
		return 1;
	}
	if (d->out_id == NULL)
		d->out_id = strdup(gh_pg_get(res, 0, 0));
	rc = deny_event(db, d, gh_pg_get(res, 0, 1));
	PQclear(res);
	return rc;
}

static int
deny_create_tx(struct gh_pg *db, void *arg)
{
	struct deny_change *d = arg;
	const char *q[4] = { d->p->tenant, d->type, d->value, d->status ? d->status : "true" };
	int64_t n = 0;

	free(d->out_id);
	d->out_id = NULL;
	d->missing = d->dup = 0;
	if (gh_pg_query_int64(db, "SELECT count(*) FROM gh_deny_policies WHERE tenant = $1 AND "
	    "condition_type = $2 AND condition_value = $3::jsonb", 3, q, &n) != 0)
		return -1;
	if (n > 0) {
		d->dup = 1;
		return 1;
	}
	return deny_payload_event(db, d, gh_pg_exec(db, "INSERT INTO gh_deny_policies (id, tenant, condition_type, "
	    "condition_value, condition_status) VALUES (gen_random_uuid()::text, $1, $2, $3::jsonb, $4::boolean) "
	    "RETURNING id, " DENY_EVENT_JSON, 4, q));
}

static int
deny_patch_tx(struct gh_pg *db, void *arg)
{
	struct deny_change *d = arg;
	const char *q[3] = { d->id, d->p->tenant, d->status };

	d->missing = 0;
	return deny_payload_event(db, d, gh_pg_exec(db, "UPDATE gh_deny_policies SET condition_status = "
	    "$3::boolean WHERE id = $1 AND tenant = $2 RETURNING id, " DENY_EVENT_JSON, 3, q));
}

static int
deny_delete_tx(struct gh_pg *db, void *arg)
{
	struct deny_change *d = arg;
	const char *q[2] = { d->id, d->p->tenant };

	d->missing = 0;
	return deny_payload_event(db, d, gh_pg_exec(db, "DELETE FROM gh_deny_policies WHERE id = $1 AND "
	    "tenant = $2 RETURNING id, " DENY_EVENT_JSON, 2, q));
}

static void
deny_reply(struct gh_call *c, struct gh_pg *db, struct deny_change *d, int rc, int status)
{
	const char *q[2] = { d->out_id ? d->out_id : d->id, d->p->tenant };

	if (rc < 0)
		pub_adm_db_error(c, db);
	else if (rc > 0 && d->dup)
		gh_reply_error(c, 409, "Conflict", "The same deny condition exists");
	else if (rc > 0)
		gh_reply_error(c, 404, "Not Found", "No such deny policy");
	else if (status == 0)
		gh_reply_raw(c, 200, "application/json", "{}", 2);
	else
		pub_adm_reply_query(c, db, status, "No such deny policy", "SELECT " DENY_JSON
		    " FROM gh_deny_policies WHERE id = $1 AND tenant = $2", 2, q);
}

/* GET /throttling/deny-policies */
static void
deny_list(struct gh_call *c, struct gh_pg *db)
{
	struct gh_principal p = { 0 };
	const char *q[1];

	if (pub_adm_auth(c, db, &p) != 0)
		return;
	q[0] = p.tenant;
	pub_adm_reply_query(c, db, 200, "", "SELECT json_build_object('count', count(*), 'list', "
	    "coalesce(json_agg(" DENY_JSON " ORDER BY created_at, id), '[]')) FROM gh_deny_policies "
	    "WHERE tenant = $1", 1, q);
	gh_principal_clear(&p);
}

/* GET /throttling/deny-policies/{conditionId} */
static void
deny_get(struct gh_call *c, struct gh_pg *db)
{
	struct gh_principal p = { 0 };
	const char *q[2] = { gh_call_param(c, "conditionId"), NULL };

	if (pub_adm_auth(c, db, &p) != 0)
		return;
	q[1] = p.tenant;
	pub_adm_reply_query(c, db, 200, "No such deny policy", "SELECT " DENY_JSON
	    " FROM gh_deny_policies WHERE id = $1 AND tenant = $2", 2, q);
	gh_principal_clear(&p);
}

/* POST /throttling/deny-policies {conditionType, conditionValue, conditionStatus} */
static void
deny_create(struct gh_call *c, struct gh_pg *db)
{
	static const char *const members[] = { "conditionId", "conditionType", "conditionValue",
		"conditionStatus", NULL };
	static const char *const types[] = { "API", "APPLICATION", "USER", "IP", "IPRANGE", NULL };
	struct gh_principal p = { 0 };
	struct deny_change d = { 0 };
	struct json_object *o = NULL;
	const char *type = NULL;
	char *value = NULL;
	int st = 1, rc;
	size_t i;

	if (pub_adm_auth(c, db, &p) != 0)
		return;
	if ((o = pub_adm_body(c)) == NULL || pub_adm_known(c, o, members) != 0 ||
	    pub_adm_str(c, o, "conditionType", 1, 16, 0, &type) != 0 || pub_adm_bool(c, o, "conditionStatus", &st) < 0)
		goto out;
	for (i = 0; types[i] != NULL && strcmp(types[i], type) != 0; i++)
		;
	if (types[i] == NULL) {
		gh_reply_error(c, 400, "Bad Request", "conditionType must be API, APPLICATION, USER, IP or IPRANGE");
		goto out;
	}
	if (value_parse(c, o, type, &value) != 0)
		goto out;
	d.c = c;
	d.p = &p;
	d.type = type;
	d.value = value;
	d.status = st ? "true" : "false";
	d.event = "deny.created";
	d.action = "deny.create";
	rc = gh_pg_run_tx(db, 0, deny_create_tx, &d);
	deny_reply(c, db, &d, rc, 201);
out:
	free(d.out_id);
	free(value);
	json_object_put(o);
	gh_principal_clear(&p);
}

/* PATCH /throttling/deny-policies/{conditionId} {conditionStatus} */
static void
deny_patch(struct gh_call *c, struct gh_pg *db)
{
	static const char *const members[] = { "conditionId", "conditionStatus", NULL };
	struct gh_principal p = { 0 };
	struct deny_change d = { 0 };
	struct json_object *o = NULL;
	const char *id = NULL;
	int st = 0, rc;

	if (pub_adm_auth(c, db, &p) != 0)
		return;
	if ((o = pub_adm_body(c)) == NULL || pub_adm_known(c, o, members) != 0 ||
	    pub_adm_str(c, o, "conditionId", 0, 128, 0, &id) != 0 || (rc = pub_adm_bool(c, o, "conditionStatus", &st)) < 0)
		goto out;
	if (rc > 0) {
		gh_reply_error(c, 400, "Bad Request", "conditionStatus (true or false) is required");
		goto out;
	}
	if (id != NULL && strcmp(id, gh_call_param(c, "conditionId")) != 0) {
		gh_reply_error(c, 400, "Bad Request", "conditionId cannot change");
		goto out;
	}
	d.c = c;
	d.p = &p;
	d.id = gh_call_param(c, "conditionId");
	d.status = st ? "true" : "false";
	d.event = "deny.updated";
	d.action = "deny.update";
	rc = gh_pg_run_tx(db, 0, deny_patch_tx, &d);
	deny_reply(c, db, &d, rc, 200);
out:
	free(d.out_id);
	json_object_put(o);
	gh_principal_clear(&p);
}

/* DELETE /throttling/deny-policies/{conditionId} */
static void
deny_delete(struct gh_call *c, struct gh_pg *db)
{
	struct gh_principal p = { 0 };
	struct deny_change d = { 0 };
	int rc;

	if (pub_adm_auth(c, db, &p) != 0)
		return;
	d.c = c;
	d.p = &p;
	d.id = gh_call_param(c, "conditionId");
	d.event = "deny.removed";
	d.action = "deny.delete";
	rc = gh_pg_run_tx(db, 0, deny_delete_tx, &d);
	deny_reply(c, db, &d, rc, 0);
	free(d.out_id);
	gh_principal_clear(&p);
}

void
pub_admin_deny_routes(struct gh_router *r)
{
	static const char *const items[] = { PUB_ADMIN_BASE "/throttling/deny-policies/{conditionId}",
		PUB_ADMIN_BASE "/throttling/deny-policy/{conditionId}" };

	gh_call_route(r, "GET", PUB_ADMIN_BASE "/throttling/deny-policies", deny_list);
	gh_call_route(r, "POST", PUB_ADMIN_BASE "/throttling/deny-policies", deny_create);
	for (size_t i = 0; i < 2; i++) {
		gh_call_route(r, "GET", items[i], deny_get);
		gh_call_route(r, "PATCH", items[i], deny_patch);
		gh_call_route(r, "DELETE", items[i], deny_delete);
	}
}
