/*
 * Throttling policies (/api/am/admin/v4/throttling/policies/{subscription,
 * application,advanced}) with WSO2 admin v4 bodies.  A policy's definition
 * is rebuilt here from validated members only (what gateways read from
 * the feed), stored in gh_throttle_policies per tenant and kind; WSO2's
 * defaults live under tenant '*' and are listed for every tenant.  Names
 * are unique per tenant and kind and never change (APIs, applications and
 * subscriptions refer to them).  Built-ins can be changed by super-tenant
 * admins only and never deleted (403); a policy still in use cannot be
 * deleted (409).  Every change writes policy.created|updated|removed for
 * every environment and an audit row in one transaction.
 */
#include <arpa/inet.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "publisher/pub_admin.h"

#define POLICY_NAME_MAX 64
#define GROUPS_MAX 20
#define CONDITIONS_MAX 10

#define POLICY_JSON \
	"(definition || jsonb_build_object('policyId', id))"

static const char *const time_units[] = { "sec", "min", "hour", "day", NULL };

static int
in_list(const char *s, const char *const *list)
{
	for (size_t i = 0; list[i] != NULL; i++)
		if (strcmp(s, list[i]) == 0)
			return 1;
	return 0;
}

/* 1 when s is a policy name: 1..64 of [A-Za-z0-9_.-]. */
static int
policy_name_ok(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > POLICY_NAME_MAX)
		return 0;
	for (size_t i = 0; i < n; i++) {
		char ch = s[i];
		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
		    ch == '_' || ch == '.' || ch == '-'))
			return 0;
	}
	return 1;
}

static void
bad(struct gh_call *c, const char *why)
{
	gh_reply_error(c, 400, "Bad Request", why);
}

/*
 * {timeUnit, unitTime, <count member>} of o (named what) into a new
 * object added to out under what.  0 or -1 after replying.
 */
static int
quota_member(struct gh_call *c, struct json_object *in, const char *what, const char *count_member,
    struct json_object *out, int with_unit)
{
	const char *const members[] = { "timeUnit", "unitTime", count_member, with_unit ? "dataUnit" : NULL, NULL };
	struct json_object *q = NULL, *n;
	const char *unit = NULL, *data_unit = NULL;
	long long unit_time = 1, count = 0;
	char why[200];
	int x;

	if ((x = pub_adm_obj(c, in, what, &q)) != 0) {
		if (x > 0) {
			snprintf(why, sizeof(why), "defaultLimit.%s is required for this limit type", what);
			bad(c, why);
		}
		return -1;
	}
	if (pub_adm_known(c, q, members) != 0 || pub_adm_str(c, q, "timeUnit", 1, 8, 0, &unit) != 0 ||
	    pub_adm_int(c, q, "unitTime", 1, 1000000, &unit_time) < 0 ||
	    (x = pub_adm_int(c, q, count_member, 1, 2147483647LL, &count)) < 0)
		return -1;
	if (!in_list(unit, time_units)) {
		bad(c, "timeUnit must be sec, min, hour or day");
		return -1;
	}
	if (x > 0) {
		snprintf(why, sizeof(why), "%s (a positive integer) is required", count_member);
		bad(c, why);
		return -1;
	}
	if (with_unit) {
		if (pub_adm_str(c, q, "dataUnit", 1, 4, 0, &data_unit) != 0)
			return -1;
		if (strcmp(data_unit, "KB") != 0 && strcmp(data_unit, "MB") != 0 && strcmp(data_unit, "GB") != 0) {
			bad(c, "dataUnit must be KB, MB or GB");
			return -1;
		}
	}
	n = json_object_new_object();
	json_object_object_add(n, "timeUnit", json_object_new_string(unit));
	json_object_object_add(n, "unitTime", json_object_new_int64(unit_time));
	json_object_object_add(n, count_member, json_object_new_int64(count));
	if (data_unit != NULL)
		json_object_object_add(n, "dataUnit", json_object_new_string(data_unit));
	json_object_object_add(out, what, n);
	return 0;
}

/* A throttle limit {type, requestCount|bandwidth|eventCount} of in (borrowed) as a new object; NULL after 400. */
static struct json_object *
limit_parse(struct gh_call *c, struct json_object *in)
{
	static const char *const members[] = { "type", "requestCount", "bandwidth", "eventCount", NULL };
	struct json_object *out;
	const char *type = NULL;
	int rc;

	if (pub_adm_known(c, in, members) != 0 || pub_adm_str(c, in, "type", 1, 32, 0, &type) != 0)
		return NULL;
	out = json_object_new_object();
	json_object_object_add(out, "type", json_object_new_string(type));
	if (strcmp(type, "REQUESTCOUNTLIMIT") == 0)
		rc = quota_member(c, in, "requestCount", "requestCount", out, 0);
	else if (strcmp(type, "BANDWIDTHLIMIT") == 0)
		rc = quota_member(c, in, "bandwidth", "dataAmount", out, 1);
	else if (strcmp(type, "EVENTCOUNTLIMIT") == 0)
		rc = quota_member(c, in, "eventCount", "eventCount", out, 0);
	else {
		bad(c, "limit type must be REQUESTCOUNTLIMIT, BANDWIDTHLIMIT or EVENTCOUNTLIMIT");
		rc = -1;
	}
	if (rc != 0) {
		json_object_put(out);
		return NULL;
	}
	return out;
}

/* 1 when s is an IPv4 or IPv6 address. */
static int
ip_ok(const char *s)
{
	unsigned char buf[16];

	return s != NULL && (inet_pton(AF_INET, s, buf) == 1 || inet_pton(AF_INET6, s, buf) == 1);
}

/* One condition of an advanced policy's conditional group, as a new object; NULL after 400. */
static struct json_object *
condition_parse(struct gh_call *c, struct json_object *in)
{
	static const char *const members[] = { "type", "invertCondition", "headerCondition", "ipCondition",
		"queryParameterCondition", "jwtClaimsCondition", NULL };
	static const struct {
		const char *type, *member, *a, *b;
	} kinds[] = {
		{ "HEADERCONDITION", "headerCondition", "headerName", "headerValue" },
		{ "QUERYPARAMETERCONDITION", "queryParameterCondition", "parameterName", "parameterValue" },
		{ "JWTCLAIMSCONDITION", "jwtClaimsCondition", "claimUrl", "attribute" },
		{ "IPCONDITION", "ipCondition", NULL, NULL },
	};
	struct json_object *out, *sub = NULL, *n;
	const char *type = NULL, *a = NULL, *b = NULL;
	size_t k;
	int invert = 0;

	if (!json_object_is_type(in, json_type_object)) {
		bad(c, "each condition must be an object");
		return NULL;
	}
	if (pub_adm_known(c, in, members) != 0 || pub_adm_str(c, in, "type", 1, 32, 0, &type) != 0 ||
	    pub_adm_bool(c, in, "invertCondition", &invert) < 0)
		return NULL;
	for (k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++)
		if (strcmp(type, kinds[k].type) == 0)
			break;
	if (k == sizeof(kinds) / sizeof(kinds[0])) {
		bad(c, "condition type must be HEADERCONDITION, IPCONDITION, QUERYPARAMETERCONDITION or "
		    "JWTCLAIMSCONDITION");
		return NULL;
	}
	if (pub_adm_obj(c, in, kinds[k].member, &sub) != 0) {
		if (sub == NULL)
			bad(c, "the condition's own member (headerCondition, ipCondition, ...) is required");
		return NULL;
	}
	n = json_object_new_object();
	if (kinds[k].a != NULL) {
		const char *const sm[] = { kinds[k].a, kinds[k].b, NULL };
		if (pub_adm_known(c, sub, sm) != 0 || pub_adm_str(c, sub, kinds[k].a, 1, 256, 0, &a) != 0 ||
		    pub_adm_str(c, sub, kinds[k].b, 1, 1024, 0, &b) != 0)
			goto fail;
		json_object_object_add(n, kinds[k].a, json_object_new_string(a));
		json_object_object_add(n, kinds[k].b, json_object_new_string(b));
	} else {
		static const char *const sm[] = { "ipConditionType", "specificIP", "startingIP", "endingIP", NULL };
		const char *t = NULL, *ip = NULL, *lo = NULL, *hi = NULL;

		if (pub_adm_known(c, sub, sm) != 0 || pub_adm_str(c, sub, "ipConditionType", 1, 16, 0, &t) != 0 ||
		    pub_adm_str(c, sub, "specificIP", 0, 64, 0, &ip) != 0 ||
		    pub_adm_str(c, sub, "startingIP", 0, 64, 0, &lo) != 0 ||
		    pub_adm_str(c, sub, "endingIP", 0, 64, 0, &hi) != 0)
			goto fail;
		if (strcmp(t, "IPSPECIFIC") == 0 && ip_ok(ip)) {
			json_object_object_add(n, "specificIP", json_object_new_string(ip));
		} else if (strcmp(t, "IPRANGE") == 0 && ip_ok(lo) && ip_ok(hi)) {
			json_object_object_add(n, "startingIP", json_object_new_string(lo));
			json_object_object_add(n, "endingIP", json_object_new_string(hi));
		} else {
			bad(c, "ipCondition needs ipConditionType IPSPECIFIC with specificIP, or IPRANGE with "
			    "startingIP and endingIP (IP addresses)");
			goto fail;
		}
		json_object_object_add(n, "ipConditionType", json_object_new_string(t));
	}
	out = json_object_new_object();
	json_object_object_add(out, "type", json_object_new_string(type));
	json_object_object_add(out, "invertCondition", json_object_new_boolean(invert));
	json_object_object_add(out, kinds[k].member, n);
	return out;
fail:
	json_object_put(n);
	return NULL;
}

/* conditionalGroups of an advanced policy into out.  0 or -1 after replying. */
static int
groups_parse(struct gh_call *c, struct json_object *in, struct json_object *out)
{
	static const char *const members[] = { "description", "conditions", "limit", NULL };
	struct json_object *a = NULL, *groups;
	int x;

	if ((x = pub_adm_arr(c, in, "conditionalGroups", GROUPS_MAX, &a)) < 0)
		return -1;
	groups = json_object_new_array();
	json_object_object_add(out, "conditionalGroups", groups);
	for (size_t i = 0; a != NULL && i < json_object_array_length(a); i++) {
		struct json_object *g = json_object_array_get_idx(a, i), *conds = NULL, *lim = NULL, *ng, *nc;
		const char *descr = NULL;

		if (!json_object_is_type(g, json_type_object)) {
			bad(c, "each conditional group must be an object");
			return -1;
		}
		if (pub_adm_known(c, g, members) != 0 || pub_adm_str(c, g, "description", 0, 1024, 1, &descr) != 0 ||
		    pub_adm_arr(c, g, "conditions", CONDITIONS_MAX, &conds) != 0 || pub_adm_obj(c, g, "limit", &lim) != 0)
			goto need;
		if (json_object_array_length(conds) == 0)
			goto need;
		ng = json_object_new_object();
		json_object_array_add(groups, ng);
		json_object_object_add(ng, "description", json_object_new_string(descr ? descr : ""));
		nc = json_object_new_array();
		json_object_object_add(ng, "conditions", nc);
		for (size_t j = 0; j < json_object_array_length(conds); j++) {
			struct json_object *cond = condition_parse(c, json_object_array_get_idx(conds, j));
			if (cond == NULL)
				return -1;
			json_object_array_add(nc, cond);
		}
		if ((lim = limit_parse(c, lim)) == NULL)
			return -1;
		json_object_object_add(ng, "limit", lim);
	}
	return 0;
need:
	if (c->status == 0)
		bad(c, "each conditional group needs conditions (1 to 10) and a limit");
	return -1;
}

/*
 * The definition of a kind policy from the body o (borrowed) as a new
 * object; name is the policy's (create: from o).  NULL after replying.
 */
static struct json_object *
definition_parse(struct gh_call *c, const char *kind, struct json_object *o, const char *name)
{
	static const char *const members[] = { "policyId", "policyName", "displayName", "description",
		"isDeployed", "type", "defaultLimit", "rateLimitCount", "rateLimitTimeUnit", "stopOnQuotaReach",
		"billingPlan", "subscriberCount", "customAttributes", "graphQLMaxComplexity", "graphQLMaxDepth",
		"burstLimit", "conditionalGroups", "permissions", "monetization", "tenantDomain", "tenantId", NULL };
	struct json_object *d = NULL, *lim = NULL, *v = NULL;
	const char *display = NULL, *descr = NULL, *unit = NULL, *plan = NULL;
	long long rl = 0;
	int stop = 1, x;

	if (pub_adm_known(c, o, members) != 0 || pub_adm_str(c, o, "displayName", 0, 255, 0, &display) != 0 ||
	    pub_adm_str(c, o, "description", 0, 1024, 1, &descr) != 0)
		return NULL;
	if ((x = pub_adm_obj(c, o, "defaultLimit", &v)) != 0) {
		if (x > 0)
			bad(c, "defaultLimit ({type, requestCount: {timeUnit, unitTime, requestCount}}) is required");
		return NULL;
	}
	if ((lim = limit_parse(c, v)) == NULL)
		return NULL;
	d = json_object_new_object();
	json_object_object_add(d, "policyName", json_object_new_string(name));
	json_object_object_add(d, "displayName", json_object_new_string(display && display[0] ? display : name));
	json_object_object_add(d, "description", json_object_new_string(descr ? descr : ""));
	json_object_object_add(d, "isDeployed", json_object_new_boolean(1));
	json_object_object_add(d, "defaultLimit", lim);
	if (strcmp(kind, "subscription") == 0) {
		long long subs = 0;
		struct json_object *attrs = NULL, *na;

		json_object_object_add(d, "type", json_object_new_string("SubscriptionThrottlePolicy"));
		if (pub_adm_int(c, o, "rateLimitCount", 0, 2147483647LL, &rl) < 0 ||
		    pub_adm_str(c, o, "rateLimitTimeUnit", 0, 8, 0, &unit) != 0 ||
		    pub_adm_bool(c, o, "stopOnQuotaReach", &stop) < 0 ||
		    pub_adm_str(c, o, "billingPlan", 0, 16, 0, &plan) != 0 ||
		    pub_adm_int(c, o, "subscriberCount", 0, 2147483647LL, &subs) < 0 ||
		    pub_adm_arr(c, o, "customAttributes", 20, &attrs) < 0)
			goto fail;
		if (rl > 0 && (unit == NULL || (strcmp(unit, "sec") != 0 && strcmp(unit, "min") != 0))) {
			bad(c, "rateLimitTimeUnit must be sec or min when rateLimitCount is set");
			goto fail;
		}
		if (plan != NULL && strcmp(plan, "FREE") != 0 && strcmp(plan, "COMMERCIAL") != 0) {
			bad(c, "billingPlan must be FREE or COMMERCIAL");
			goto fail;
		}
		json_object_object_add(d, "rateLimitCount", json_object_new_int64(rl));
		if (rl > 0)
			json_object_object_add(d, "rateLimitTimeUnit", json_object_new_string(unit));
		json_object_object_add(d, "stopOnQuotaReach", json_object_new_boolean(stop));
		json_object_object_add(d, "billingPlan", json_object_new_string(plan ? plan : "FREE"));
		json_object_object_add(d, "subscriberCount", json_object_new_int64(subs));
		na = json_object_new_array();
		json_object_object_add(d, "customAttributes", na);
		for (size_t i = 0; attrs != NULL && i < json_object_array_length(attrs); i++) {
			struct json_object *a = json_object_array_get_idx(attrs, i), *e;
			static const char *const am[] = { "name", "value", NULL };
			const char *an = NULL, *av = NULL;

			if (!json_object_is_type(a, json_type_object)) {
				bad(c, "customAttributes items must be {name, value} objects");
				goto fail;
			}
			if (pub_adm_known(c, a, am) != 0 || pub_adm_str(c, a, "name", 1, 128, 0, &an) != 0 ||
			    pub_adm_str(c, a, "value", 1, 1024, 0, &av) != 0)
				goto fail;
			e = json_object_new_object();
			json_object_object_add(e, "name", json_object_new_string(an));
			json_object_object_add(e, "value", json_object_new_string(av));
			json_object_array_add(na, e);
		}
	} else if (strcmp(kind, "application") == 0) {
		static const char *const bm[] = { "rateLimitCount", "rateLimitTimeUnit", NULL };
		struct json_object *b = NULL, *nb;

		json_object_object_add(d, "type", json_object_new_string("ApplicationThrottlePolicy"));
		if (pub_adm_obj(c, o, "burstLimit", &b) < 0)
			goto fail;
		if (b != NULL) {
			if (pub_adm_known(c, b, bm) != 0 || pub_adm_int(c, b, "rateLimitCount", 0, 2147483647LL, &rl) < 0 ||
			    pub_adm_str(c, b, "rateLimitTimeUnit", 0, 8, 0, &unit) != 0)
				goto fail;
			if (rl > 0 && (unit == NULL || (strcmp(unit, "sec") != 0 && strcmp(unit, "min") != 0))) {
				bad(c, "burstLimit.rateLimitTimeUnit must be sec or min");
				goto fail;
			}
			nb = json_object_new_object();
			json_object_object_add(nb, "rateLimitCount", json_object_new_int64(rl));
			if (rl > 0)
				json_object_object_add(nb, "rateLimitTimeUnit", json_object_new_string(unit));
			json_object_object_add(d, "burstLimit", nb);
		}
	} else {
		json_object_object_add(d, "type", json_object_new_string("AdvancedThrottlePolicy"));
		if (groups_parse(c, o, d) != 0)
			goto fail;
	}
	return d;
fail:
	json_object_put(d);
	return NULL;
}

struct policy_change {
	struct gh_call *c;
	const struct gh_principal *p;
	const char *kind, *id;
	char *name;             /* create: given; update/delete: read */
	char *tenant;           /* of the row ('*' for a built-in) */
	const char *def;        /* new definition (create, update) */
	char *out_id;           /* create: the new id */
	int builtin;
	enum { PC_OK, PC_MISSING, PC_BUILTIN, PC_IN_USE, PC_NAME_TAKEN, PC_RENAME } why;
	const char *new_name;   /* update: the body's policyName, if any */
};

static void
policy_change_clear(struct policy_change *pc)
{
	free(pc->name);
	free(pc->tenant);
	free(pc->out_id);
}

/* The event {"kind","tenant","name","definition"} and the audit row of a change.  0 or -1. */
static int
policy_event(struct gh_pg *db, struct policy_change *pc, const char *type, const char *action,
    const char *def)
{
	struct json_object *ev = json_object_new_object(), *d = json_object_new_object();
	int rc;

	json_object_object_add(ev, "kind", json_object_new_string(pc->kind));
	json_object_object_add(ev, "tenant", json_object_new_string(pc->tenant));
	json_object_object_add(ev, "name", json_object_new_string(pc->name));
	json_object_object_add(ev, "definition", json_tokener_parse(def));
	json_object_object_add(d, "kind", json_object_new_string(pc->kind));
	json_object_object_add(d, "name", json_object_new_string(pc->name));
	gh_call_audit(db, pc->c, "publisher", pub_adm_actor(pc->p), pc->p->tenant, action,
	    pc->out_id ? pc->out_id : pc->id, NULL, d);
	rc = pub_adm_event(db, pc->tenant, type, ev);
	json_object_put(ev);
	json_object_put(d);
	return rc;
}

static int
policy_create_tx(struct gh_pg *db, void *arg)
{
	struct policy_change *pc = arg;
	const char *q[4] = { pc->tenant, pc->kind, pc->name, pc->def };
	PGresult *res;
	int64_t n = 0;

	free(pc->out_id);
	pc->out_id = NULL;
	pc->why = PC_OK;
	if (gh_pg_query_int64(db, "SELECT count(*) FROM gh_throttle_policies WHERE tenant = '*' AND kind = $1 "
	    "AND lower(name) = lower($2)", 2, q + 1, &n) != 0)
		return -1;
	if (n > 0) {
		pc->why = PC_NAME_TAKEN;
		return 1;
	}
	res = gh_pg_exec(db, "INSERT INTO gh_throttle_policies (id, tenant, kind, name, definition) "
	    "VALUES (gen_random_uuid()::text, $1, $2, $3, $4::jsonb) RETURNING id", 4, q);
	if (res == NULL)
		return -1;
	pc->out_id = strdup(gh_pg_get(res, 0, 0));
	PQclear(res);
	if (pc->out_id == NULL) {
		gh_pg_set_error(db, GH_PG_SQLSTATE_NOMEM, "out of memory");
		return -1;
	}
	return policy_event(db, pc, "policy.created", "policy.create", pc->def);
}

/* Lock and read the policy pc->id of pc->kind visible to p into pc.  0, 1 (pc->why) or -1. */
static int
policy_lock(struct gh_pg *db, struct policy_change *pc)
{
	const char *q[3] = { pc->id, pc->kind, pc->p->tenant };
	PGresult *res;

	free(pc->name);
	free(pc->tenant);
	pc->name = pc->tenant = NULL;
	res = gh_pg_exec(db, "SELECT name, tenant, builtin FROM gh_throttle_policies WHERE id = $1 AND kind = $2 "
	    "AND tenant IN ('*', $3) FOR UPDATE", 3, q);
	if (res == NULL)
		return -1;
	if (gh_pg_nrows(res) != 1) {
		PQclear(res);
		pc->why = PC_MISSING;
		return 1;
	}
	pc->name = strdup(gh_pg_get(res, 0, 0));
	pc->tenant = strdup(gh_pg_get(res, 0, 1));
	pc->builtin = strcmp(gh_pg_get(res, 0, 2), "t") == 0;
	PQclear(res);
	if (pc->name == NULL || pc->tenant == NULL) {
		gh_pg_set_error(db, GH_PG_SQLSTATE_NOMEM, "out of memory");
		return -1;
	}
	return 0;
}

static int
policy_update_tx(struct gh_pg *db, void *arg)
{
	struct policy_change *pc = arg;
	struct json_object *d;
	const char *q[2];
	int rc;

	pc->why = PC_OK;
	if ((rc = policy_lock(db, pc)) != 0)
		return rc;
	if (pc->builtin && !pub_adm_is_super(pc->p)) {
		pc->why = PC_BUILTIN;
		return 1;
	}
	if (pc->new_name != NULL && strcmp(pc->new_name, pc->name) != 0) {
		pc->why = PC_RENAME;
		return 1;
	}
	/* The definition was parsed with the body's name or a placeholder: set the stored one. */
	d = json_tokener_parse(pc->def);
	json_object_object_add(d, "policyName", json_object_new_string(pc->name));
	q[0] = pc->id;
	q[1] = json_object_to_json_string_ext(d, JSON_C_TO_STRING_PLAIN);
	rc = gh_pg_cmd(db, "UPDATE gh_throttle_policies SET definition = $2::jsonb, updated_at = now() "
	    "WHERE id = $1", 2, q, NULL);
	if (rc == 0)
		rc = policy_event(db, pc, "policy.updated", "policy.update", q[1]);
	json_object_put(d);
	return rc;
}

static int
policy_delete_tx(struct gh_pg *db, void *arg)
{
	struct policy_change *pc = arg;
	const char *q[2];
	PGresult *res;
	int64_t used = 0;
	int rc;

	pc->why = PC_OK;
	if ((rc = policy_lock(db, pc)) != 0)
		return rc;
	if (pc->builtin) {
		pc->why = PC_BUILTIN;
		return 1;
	}
	q[0] = pc->tenant;
	q[1] = pc->name;
	if (strcmp(pc->kind, "subscription") == 0)
		rc = gh_pg_query_int64(db, "SELECT (SELECT count(*) FROM gh_subscriptions WHERE api_tenant = $1 "
		    "AND tier = $2) + (SELECT count(*) FROM gh_apis WHERE tenant = $1 AND "
		    "jsonb_path_exists(definition, '$.policies[*] ? (@ == $n)', jsonb_build_object('n', $2::text)))",
		    2, q, &used);
	else if (strcmp(pc->kind, "application") == 0)
		rc = gh_pg_query_int64(db, "SELECT count(*) FROM gh_applications WHERE tenant = $1 AND tier = $2",
		    2, q, &used);
	else
		rc = gh_pg_query_int64(db, "SELECT count(*) FROM gh_apis WHERE tenant = $1 AND "
		    "(definition->>'apiThrottlingPolicy' = $2 OR jsonb_path_exists(definition, "
		    "'$.operations[*].throttlingPolicy ? (@ == $n)', jsonb_build_object('n', $2::text)))",
		    2, q, &used);
	if (rc != 0)
		return -1;
	if (used > 0) {
		pc->why = PC_IN_USE;
		return 1;
	}
	q[0] = pc->id;
	res = gh_pg_exec(db, "DELETE FROM gh_throttle_policies WHERE id = $1 RETURNING definition::text", 1, q);
	if (res == NULL)
		return -1;
	rc = policy_event(db, pc, "policy.removed", "policy.delete", gh_pg_get(res, 0, 0));
	PQclear(res);
	return rc;
}

static void
reply_change(struct gh_call *c, struct gh_pg *db, struct policy_change *pc, int rc, int status)
{
	const char *q[1] = { pc->out_id ? pc->out_id : pc->id };

	if (rc < 0) {
		if (gh_pg_is(db, "23505"))
			gh_reply_error(c, 409, "Conflict", "A policy with this name exists");
		else
			pub_adm_db_error(c, db);
		return;
	}
	switch (rc == 0 ? PC_OK : pc->why) {
	case PC_MISSING:
		gh_reply_error(c, 404, "Not Found", "No such policy");
		return;
	case PC_BUILTIN:
		gh_reply_error(c, 403, "Forbidden", status == 0 ? "Built-in policies cannot be deleted" :
		    "Only administrators of the super tenant may change built-in policies");
		return;
	case PC_IN_USE:
		gh_reply_error(c, 409, "Conflict", "The policy is in use by APIs, applications or subscriptions");
		return;
	case PC_NAME_TAKEN:
		gh_reply_error(c, 409, "Conflict", "A policy with this name exists");
		return;
	case PC_RENAME:
		gh_reply_error(c, 400, "Bad Request", "policyName cannot change");
		return;
	case PC_OK:
		break;
	}
	if (status == 0) {
		gh_reply_raw(c, 200, "application/json", "{}", 2);
		return;
	}
	pub_adm_reply_query(c, db, status, "No such policy", "SELECT " POLICY_JSON "::text FROM "
	    "gh_throttle_policies WHERE id = $1", 1, q);
}

static void
policy_list(struct gh_call *c, struct gh_pg *db, const char *kind)
{
	struct gh_principal p = { 0 };
	const char *q[2] = { kind, NULL };

	if (pub_adm_auth(c, db, &p) != 0)
		return;
	q[1] = p.tenant;
	pub_adm_reply_query(c, db, 200, "", "SELECT json_build_object('count', count(*), 'list', "
	    "coalesce(json_agg(" POLICY_JSON " ORDER BY builtin DESC, name), '[]')) FROM gh_throttle_policies "
	    "WHERE kind = $1 AND tenant IN ('*', $2)", 2, q);
	gh_principal_clear(&p);
}

static void
policy_get(struct gh_call *c, struct gh_pg *db, const char *kind)
{
	struct gh_principal p = { 0 };
	const char *q[3] = { gh_call_param(c, "policyId"), kind, NULL };

	if (pub_adm_auth(c, db, &p) != 0)
		return;
	q[2] = p.tenant;
	pub_adm_reply_query(c, db, 200, "No such policy", "SELECT " POLICY_JSON "::text FROM gh_throttle_policies "
	    "WHERE id = $1 AND kind = $2 AND tenant IN ('*', $3)", 3, q);
	gh_principal_clear(&p);
}

static void
policy_create(struct gh_call *c, struct gh_pg *db, const char *kind)
{
	struct gh_principal p = { 0 };
	struct policy_change pc = { 0 };
	struct json_object *o = NULL, *d = NULL;
	const char *name = NULL;
	int rc;

	if (pub_adm_auth(c, db, &p) != 0)
		return;
	if ((o = pub_adm_body(c)) == NULL || pub_adm_str(c, o, "policyName", 1, POLICY_NAME_MAX, 0, &name) != 0)
		goto out;
	if (!policy_name_ok(name)) {
		bad(c, "policyName must be 1 to 64 letters, digits, '_', '.' or '-'");
		goto out;
	}
	if ((d = definition_parse(c, kind, o, name)) == NULL)
		goto out;
	pc.c = c;
	pc.p = &p;
	pc.kind = kind;
	pc.name = strdup(name);
	pc.tenant = strdup(p.tenant);
	pc.def = json_object_to_json_string_ext(d, JSON_C_TO_STRING_PLAIN);
	if (pc.name == NULL || pc.tenant == NULL) {
		gh_reply_error(c, 500, "Internal Server Error", "Out of memory");
		goto out;
	}
	rc = gh_pg_run_tx(db, 0, policy_create_tx, &pc);
	reply_change(c, db, &pc, rc, 201);
out:
	policy_change_clear(&pc);
	json_object_put(d);
	json_object_put(o);
	gh_principal_clear(&p);
}

static void
policy_update(struct gh_call *c, struct gh_pg *db, const char *kind)
{
	struct gh_principal p = { 0 };
	struct policy_change pc = { 0 };
	struct json_object *o = NULL, *d = NULL;
	const char *name = NULL, *id = NULL;
	int rc;

	if (pub_adm_auth(c, db, &p) != 0)
		return;
	if ((o = pub_adm_body(c)) == NULL || pub_adm_str(c, o, "policyName", 0, POLICY_NAME_MAX, 0, &name) != 0 ||
	    pub_adm_str(c, o, "policyId", 0, 128, 0, &id) != 0)
		goto out;
	if (id != NULL && strcmp(id, gh_call_param(c, "policyId")) != 0) {
		bad(c, "policyId cannot change");
		goto out;
	}
	if ((d = definition_parse(c, kind, o, name ? name : "-")) == NULL)
		goto out;
	pc.c = c;
	pc.p = &p;
	pc.kind = kind;
	pc.id = gh_call_param(c, "policyId");
	pc.new_name = name;
	pc.def = json_object_to_json_string_ext(d, JSON_C_TO_STRING_PLAIN);
	rc = gh_pg_run_tx(db, 0, policy_update_tx, &pc);
	reply_change(c, db, &pc, rc, 200);
out:
	policy_change_clear(&pc);
	json_object_put(d);
	json_object_put(o);
	gh_principal_clear(&p);
}

static void
policy_delete(struct gh_call *c, struct gh_pg *db, const char *kind)
{
	struct gh_principal p = { 0 };
	struct policy_change pc = { 0 };
	int rc;

	if (pub_adm_auth(c, db, &p) != 0)
		return;
	pc.c = c;
	pc.p = &p;
	pc.kind = kind;
	pc.id = gh_call_param(c, "policyId");
	rc = gh_pg_run_tx(db, 0, policy_delete_tx, &pc);
	reply_change(c, db, &pc, rc, 0);
	policy_change_clear(&pc);
	gh_principal_clear(&p);
}

/* One set of five handlers per kind (a gh_work_fn has no argument). */
#define KIND_HANDLERS(k) \
	static void k##_list(struct gh_call *c, struct gh_pg *db) { policy_list(c, db, #k); } \
	static void k##_get(struct gh_call *c, struct gh_pg *db) { policy_get(c, db, #k); } \
	static void k##_create(struct gh_call *c, struct gh_pg *db) { policy_create(c, db, #k); } \
	static void k##_update(struct gh_call *c, struct gh_pg *db) { policy_update(c, db, #k); } \
	static void k##_delete(struct gh_call *c, struct gh_pg *db) { policy_delete(c, db, #k); }

KIND_HANDLERS(subscription)
KIND_HANDLERS(application)
KIND_HANDLERS(advanced)

#define KIND_ROUTES(r, k) do { \
	gh_call_route(r, "GET", PUB_ADMIN_BASE "/throttling/policies/" #k, k##_list); \
	gh_call_route(r, "POST", PUB_ADMIN_BASE "/throttling/policies/" #k, k##_create); \
	gh_call_route(r, "GET", PUB_ADMIN_BASE "/throttling/policies/" #k "/{policyId}", k##_get); \
	gh_call_route(r, "PUT", PUB_ADMIN_BASE "/throttling/policies/" #k "/{policyId}", k##_update); \
	gh_call_route(r, "DELETE", PUB_ADMIN_BASE "/throttling/policies/" #k "/{policyId}", k##_delete); \
} while (0)

void
pub_admin_policy_routes(struct gh_router *r)
{
	KIND_ROUTES(r, subscription);
	KIND_ROUTES(r, application);
	KIND_ROUTES(r, advanced);
}
