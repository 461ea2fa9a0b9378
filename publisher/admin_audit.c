/*
 * The audit log (GET /api/am/admin/v4/audit) over gh_audit, which every
 * control-plane component writes (keymanager, publisher, portal): newest
 * first, filtered by component, actor, action, tenant (super tenant only)
 * and a time window, paged with limit and offset.  Administrators of the
 * super tenant see every row; a tenant's administrators only rows of
 * their tenant.
 */
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "publisher/pub_admin.h"

#define AUDIT_LIMIT_DEFAULT 25
#define AUDIT_LIMIT_MAX 1000

/* 1 when s looks like an ISO 8601 timestamp ("2024-05-01", "2024-05-01T10:00:00Z", offsets). */
static int
time_ok(const char *s)
{
	size_t n = strlen(s);

	if (n < 10 || n > 40 || s[0] < '0' || s[0] > '9')
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!strchr("0123456789-:.+TZ ", s[i]))
			return 0;
	return 1;
}

/* 1 when s is 1..max characters from set (or any text when set is NULL). */
static int
filter_ok(const char *s, size_t max, const char *set)
{
	size_t n = strlen(s);

	if (n == 0 || n > max || !gh_body_text_ok(s, max, GH_BODY_EMPTY_OK))
		return 0;
	for (size_t i = 0; set != NULL && i < n; i++)
		if (!strchr(set, s[i]))
			return 0;
	return 1;
}

/* GET /audit?component=&actor=&action=&tenant=&from=&to=&limit=&offset= */
static void
audit_list(struct gh_call *c, struct gh_pg *db)
{
	static const char *const names[] = { "component", "actor", "action", "tenant", "from", "to" };
	struct gh_principal p = { 0 };
	char *v[6] = { 0 }, lbuf[24], obuf[24];
	const char *q[8];
	long long limit, offset;
	PGresult *res;
	size_t i;

	if (pub_adm_auth(c, db, &p) != 0)
		return;
	if (pub_adm_query_int(c, "limit", 1, AUDIT_LIMIT_MAX, AUDIT_LIMIT_DEFAULT, &limit) != 0 ||
	    pub_adm_query_int(c, "offset", 0, 1000000000LL, 0, &offset) != 0)
		goto out;
	for (i = 0; i < 6; i++)
		v[i] = gh_call_query(c, names[i]);
	if ((v[0] && !filter_ok(v[0], 32, "abcdefghijklmnopqrstuvwxyz-_")) || (v[1] && !filter_ok(v[1], 256, NULL)) ||
	    (v[2] && !filter_ok(v[2], 128, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-")) ||
	    (v[3] && !filter_ok(v[3], 253, "abcdefghijklmnopqrstuvwxyz0123456789.-")) ||
	    (v[4] && !time_ok(v[4])) || (v[5] && !time_ok(v[5]))) {
		gh_reply_error(c, 400, "Bad Request", "component, actor, action, tenant must be short names; "
		    "from and to ISO 8601 times");
		goto out;
	}
	if (!pub_adm_is_super(&p)) {
		if (v[3] != NULL && strcmp(v[3], p.tenant) != 0) {
			gh_reply_error(c, 403, "Forbidden", "Only administrators of the super tenant may read "
			    "other tenants' audit rows");
			goto out;
		}
		free(v[3]);
		v[3] = strdup(p.tenant);
		if (v[3] == NULL) {
			gh_reply_error(c, 500, "Internal Server Error", "Out of memory");
			goto out;
		}
	}
	for (i = 0; i < 6; i++)
		q[i] = v[i];
	snprintf(lbuf, sizeof(lbuf), "%lld", limit);
	snprintf(obuf, sizeof(obuf), "%lld", offset);
	q[6] = lbuf;
	q[7] = obuf;
	res = gh_pg_exec(db, "WITH f AS (SELECT * FROM gh_audit WHERE ($1::text IS NULL OR component = $1) "
	    "AND ($2::text IS NULL OR actor = $2) AND ($3::text IS NULL OR action = $3) "
	    "AND ($4::text IS NULL OR tenant = $4) AND ($5::timestamptz IS NULL OR at >= $5::timestamptz) "
	    "AND ($6::timestamptz IS NULL OR at < $6::timestamptz)), "
	    "page AS (SELECT * FROM f ORDER BY id DESC LIMIT $7::bigint OFFSET $8::bigint) "
	    "SELECT json_build_object('count', (SELECT count(*) FROM page), 'list', coalesce((SELECT "
	    "json_agg(json_build_object('id', id, 'time', to_char(at AT TIME ZONE 'UTC', "
	    "'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"'), 'component', component, 'actor', actor, 'tenant', tenant, "
	    "'action', action, 'target', target, 'clientAddress', client_addr, 'outcome', outcome, "
	    "'details', details) ORDER BY id DESC) FROM page), '[]'), 'pagination', json_build_object("
	    "'offset', $8::bigint, 'limit', $7::bigint, 'total', (SELECT count(*) FROM f)))::text", 8, q);
	if (res == NULL) {
		if (strncmp(gh_pg_sqlstate(db), "22", 2) == 0)
			gh_reply_error(c, 400, "Bad Request", "from and to must be ISO 8601 times");
		else
			pub_adm_db_error(c, db);
		goto out;
	}
	gh_reply_raw(c, 200, "application/json", gh_pg_get(res, 0, 0), strlen(gh_pg_get(res, 0, 0)));
	PQclear(res);
out:
	for (i = 0; i < 6; i++)
		free(v[i]);
	gh_principal_clear(&p);
}

void
pub_admin_audit_routes(struct gh_router *r)
{
	gh_call_route(r, "GET", PUB_ADMIN_BASE "/audit", audit_list);
}
