/*
 * The feed's model: the snapshot JSON (publisher/FEED.md) kept up to date
 * by applying each event to it in place, so that the store can always be
 * rebuilt from one document and the document written to disk as the
 * gateway's last known configuration.  Only the feed thread calls this;
 * the caller owns the model and the payload (values taken from a payload
 * are copied or referenced with json_object_get).
 */
#include <json-c/json.h>
#include <string.h>
#include <time.h>

#include "gateway/gw.h"

static const char *
jstr(struct json_object *o, const char *key)
{
	struct json_object *v;

	if (o == NULL || !json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

static int
streq(const char *a, const char *b)
{
	return a != NULL && b != NULL && strcmp(a, b) == 0;
}

/* model[key] as an array, created when absent (NULL only when key holds something else). */
static struct json_object *
array_of(struct json_object *o, const char *key)
{
	struct json_object *a;

	if (json_object_object_get_ex(o, key, &a) && a != NULL)
		return json_object_is_type(a, json_type_array) ? a : NULL;
	a = json_object_new_array();
	if (a != NULL)
		json_object_object_add(o, key, a);
	return a;
}

/* Index of the element of a whose member key equals val, or -1. */
static int
find_by(struct json_object *a, const char *key, const char *val)
{
	size_t n = a ? json_object_array_length(a) : 0;

	for (size_t i = 0; i < n; i++)
		if (streq(jstr(json_object_array_get_idx(a, i), key), val))
			return (int)i;
	return -1;
}

/* Remove every element of a whose member key equals val. */
static void
remove_by(struct json_object *a, const char *key, const char *val)
{
	for (size_t i = a ? json_object_array_length(a) : 0; i > 0; i--)
		if (streq(jstr(json_object_array_get_idx(a, i - 1), key), val))
			json_object_array_del_idx(a, i - 1, 1);
}

/* Replace the element whose key equals v's (or append); takes a new reference to v. */
static int
upsert_by(struct json_object *a, const char *key, struct json_object *v)
{
	const char *id = jstr(v, key);
	int i;

	if (a == NULL || id == NULL)
		return -1;
	i = find_by(a, key, id);
	json_object_get(v);
	if (i >= 0)
		json_object_array_put_idx(a, (size_t)i, v);
	else
		json_object_array_add(a, v);
	return 0;
}

static struct json_object *
copy(struct json_object *v)
{
	struct json_object *c = NULL;

	if (v == NULL || json_object_deep_copy(v, &c, NULL) != 0)
		return NULL;
	return c;
}

static const char *
model_env(struct json_object *model)
{
	struct json_object *env;

	return json_object_object_get_ex(model, "environment", &env) ? jstr(env, "name") : NULL;
}

static int
api_deployed(struct json_object *model, struct json_object *p)
{
	struct json_object *api, *subs = NULL, *apps = NULL, *msubs, *mapps, *mapis;
	const char *id, *env = jstr(p, "environment");

	if (!json_object_object_get_ex(p, "api", &api) || (id = jstr(api, "id")) == NULL)
		return -1;
	if (env != NULL && model_env(model) != NULL && strcmp(env, model_env(model)) != 0)
		return 0;
	json_object_object_get_ex(p, "subscriptions", &subs);
	json_object_object_get_ex(p, "applications", &apps);
	if ((mapis = array_of(model, "apis")) == NULL || (msubs = array_of(model, "subscriptions")) == NULL ||
	    (mapps = array_of(model, "applications")) == NULL)
		return -1;
	if (upsert_by(mapis, "id", api) != 0)
		return -1;
	/* the deployed revision's subscriptions replace what the model had for this API */
	remove_by(msubs, "apiId", id);
	for (size_t i = 0; json_object_is_type(subs, json_type_array) && i < json_object_array_length(subs); i++)
		upsert_by(msubs, "id", json_object_array_get_idx(subs, i));
	for (size_t i = 0; json_object_is_type(apps, json_type_array) && i < json_object_array_length(apps); i++)
		upsert_by(mapps, "id", json_object_array_get_idx(apps, i));
	return 0;
}

static void
api_remove(struct json_object *model, const char *id)
{
	remove_by(array_of(model, "apis"), "id", id);
	remove_by(array_of(model, "subscriptions"), "apiId", id);
}

static int
api_undeployed(struct json_object *model, struct json_object *p)
{
	const char *id = jstr(p, "apiId"), *env = jstr(p, "environment");

	if (id == NULL)
		return -1;
	if (env != NULL && model_env(model) != NULL && strcmp(env, model_env(model)) != 0)
		return 0;
	api_remove(model, id);
	return 0;
}

static int
api_state(struct json_object *model, struct json_object *p)
{
	const char *id = jstr(p, "apiId"), *st = jstr(p, "lifeCycleStatus");
	struct json_object *apis = array_of(model, "apis"), *api, *def;
	int i;

	if (id == NULL)
		return -1;
	if ((i = find_by(apis, "id", id)) < 0)
		return 0;
	if (st != NULL && strcmp(st, "RETIRED") == 0) {
		api_remove(model, id);
		return 0;
	}
	api = json_object_array_get_idx(apis, (size_t)i);
	if (st != NULL)
		json_object_object_add(api, "lifeCycleStatus", json_object_new_string(st));
	if (json_object_object_get_ex(p, "isDefaultVersion", &def) && json_object_is_type(def, json_type_boolean))
		json_object_object_add(api, "isDefaultVersion", json_object_new_boolean(json_object_get_boolean(def)));
	return 0;
}

static int
subscription(struct json_object *model, const char *type, struct json_object *p)
{
	struct json_object *subs = array_of(model, "subscriptions"), *app, *sub;
	const char *id = jstr(p, "id");
	int rc;

	if (id == NULL || subs == NULL)
		return -1;
	if (strcmp(type, "subscription.removed") == 0) {
		remove_by(subs, "id", id);
		return 0;
	}
	if (jstr(p, "apiId") == NULL || jstr(p, "applicationId") == NULL)
		return -1;
	if (json_object_object_get_ex(p, "application", &app) && json_object_is_type(app, json_type_object) &&
	    jstr(app, "id") != NULL && upsert_by(array_of(model, "applications"), "id", app) != 0)
		return -1;
	if ((sub = copy(p)) == NULL)
		return -1;
	json_object_object_del(sub, "application");
	rc = upsert_by(subs, "id", sub);
	json_object_put(sub);
	return rc;
}

static int
application(struct json_object *model, const char *type, struct json_object *p)
{
	struct json_object *apps = array_of(model, "applications");
	const char *id = jstr(p, "id");

	if (id == NULL || apps == NULL)
		return -1;
	if (strcmp(type, "application.removed") == 0) {
		remove_by(apps, "id", id);
		remove_by(array_of(model, "subscriptions"), "applicationId", id);
		return 0;
	}
	return upsert_by(apps, "id", p);
}

static void
set_str(struct json_object *o, const char *key, const char *val)
{
	if (val != NULL)
		json_object_object_add(o, key, json_object_new_string(val));
}

/* key.* events: {client_id, application_id, key_type, application_name, tier, owner, tenant, token_type} */
static int
key_event(struct json_object *model, const char *type, struct json_object *p)
{
	struct json_object *apps = array_of(model, "applications"), *app = NULL, *keys, *k;
	const char *ck = jstr(p, "client_id"), *app_id = jstr(p, "application_id");
	int i;

	if (ck == NULL || apps == NULL)
		return -1;
	if (strcmp(type, "key.removed") == 0) {
		for (size_t n = 0; n < json_object_array_length(apps); n++)
			if (json_object_object_get_ex(json_object_array_get_idx(apps, n), "keys", &keys))
				remove_by(keys, "consumerKey", ck);
		return 0;
	}
	if (app_id == NULL)
		return 0;       /* a client of no application: not a gateway key */
	if ((i = find_by(apps, "id", app_id)) >= 0) {
		app = json_object_array_get_idx(apps, (size_t)i);
	} else {
		if ((app = json_object_new_object()) == NULL)
			return -1;
		set_str(app, "id", app_id);
		json_object_object_add(app, "keys", json_object_new_array());
		json_object_array_add(apps, app);
	}
	set_str(app, "name", jstr(p, "application_name"));
	set_str(app, "tenant", jstr(p, "tenant"));
	set_str(app, "owner", jstr(p, "owner"));
	set_str(app, "tier", jstr(p, "tier"));
	set_str(app, "tokenType", jstr(p, "token_type"));
	if ((keys = array_of(app, "keys")) == NULL)
		return -1;
	/* a client id belongs to one application */
	for (size_t n = 0; n < json_object_array_length(apps); n++) {
		struct json_object *other = json_object_array_get_idx(apps, n), *ok;

		if (other != app && json_object_object_get_ex(other, "keys", &ok))
			remove_by(ok, "consumerKey", ck);
	}
	if ((k = json_object_new_object()) == NULL)
		return -1;
	set_str(k, "consumerKey", ck);
	set_str(k, "keyType", jstr(p, "key_type") ? jstr(p, "key_type") : "PRODUCTION");
	upsert_by(keys, "consumerKey", k);
	json_object_put(k);
	return 0;
}

static int
client_revoked(struct json_object *model, struct json_object *p)
{
	struct json_object *a = array_of(model, "clientNotBefore"), *o, *nb;
	const char *cid = jstr(p, "client_id");

	if (cid == NULL || a == NULL || !json_object_object_get_ex(p, "not_before", &nb) ||
	    !json_object_is_type(nb, json_type_int))
		return -1;
	if ((o = json_object_new_object()) == NULL)
		return -1;
	set_str(o, "clientId", cid);
	json_object_object_add(o, "notBefore", json_object_new_int64(json_object_get_int64(nb)));
	upsert_by(a, "clientId", o);
	json_object_put(o);
	return 0;
}

static int
token_revoked(struct json_object *model, struct json_object *p)
{
	struct json_object *a = array_of(model, "revokedTokens"), *o, *exp;
	const char *jti = jstr(p, "jti");
	int64_t now = (int64_t)time(NULL);

	if (jti == NULL || a == NULL || !json_object_object_get_ex(p, "exp", &exp) ||
	    !json_object_is_type(exp, json_type_int))
		return -1;
	/* drop the revocations of tokens that expired anyway */
	for (size_t i = json_object_array_length(a); i > 0; i--) {
		struct json_object *e = json_object_array_get_idx(a, i - 1), *x;

		if (json_object_object_get_ex(e, "exp", &x) && json_object_get_int64(x) < now)
			json_object_array_del_idx(a, i - 1, 1);
	}
	if (json_object_get_int64(exp) < now)
		return 0;
	if ((o = json_object_new_object()) == NULL)
		return -1;
	set_str(o, "jti", jti);
	json_object_object_add(o, "exp", json_object_new_int64(json_object_get_int64(exp)));
	upsert_by(a, "jti", o);
	json_object_put(o);
	return 0;
}

static int
tenant(struct json_object *model, const char *type, struct json_object *p)
{
	struct json_object *a = array_of(model, "tenants"), *o;
	const char *d = jstr(p, "domain"), *st = jstr(p, "status");
	int i;

	if (d == NULL || a == NULL)
		return -1;
	i = find_by(a, "domain", d);
	if (strcmp(type, "tenant.created") == 0) {
		if (i >= 0)
			return 0;
		st = "active";
	} else if (st == NULL) {
		return -1;
	}
	if ((o = json_object_new_object()) == NULL)
		return -1;
	set_str(o, "domain", d);
	set_str(o, "status", st);
	upsert_by(a, "domain", o);
	json_object_put(o);
	return 0;
}

static int
policy(struct json_object *model, const char *type, struct json_object *p)
{
	struct json_object *pol, *a, *def, *o;
	const char *kind = jstr(p, "kind"), *t = jstr(p, "tenant"), *name = jstr(p, "name");

	if (kind == NULL || t == NULL || name == NULL ||
	    (strcmp(kind, "subscription") != 0 && strcmp(kind, "application") != 0 && strcmp(kind, "advanced") != 0))
		return -1;
	if (!json_object_object_get_ex(model, "policies", &pol) || !json_object_is_type(pol, json_type_object)) {
		if ((pol = json_object_new_object()) == NULL)
			return -1;
		json_object_object_add(model, "policies", pol);
	}
	if ((a = array_of(pol, kind)) == NULL)
		return -1;
	for (size_t i = json_object_array_length(a); i > 0; i--) {
		struct json_object *e = json_object_array_get_idx(a, i - 1);

		if (streq(jstr(e, "tenant"), t) && streq(jstr(e, "name"), name))
			json_object_array_del_idx(a, i - 1, 1);
	}
	if (strcmp(type, "policy.removed") == 0)
		return 0;
	if (!json_object_object_get_ex(p, "definition", &def) || !json_object_is_type(def, json_type_object))
		return -1;
	if ((o = json_object_new_object()) == NULL)
		return -1;
	set_str(o, "tenant", t);
	set_str(o, "name", name);
	json_object_object_add(o, "definition", json_object_get(def));
	json_object_array_add(a, o);
	return 0;
}

static int
deny(struct json_object *model, const char *type, struct json_object *p)
{
	struct json_object *a = array_of(model, "denyPolicies");
	const char *id = jstr(p, "id");

	if (id == NULL || a == NULL)
		return -1;
	if (strcmp(type, "deny.removed") == 0) {
		remove_by(a, "id", id);
		return 0;
	}
	if (jstr(p, "conditionType") == NULL)
		return -1;
	return upsert_by(a, "id", p);
}

int
gw_model_apply(struct json_object *model, const char *type, struct json_object *payload)
{
	if (model == NULL || type == NULL || !json_object_is_type(model, json_type_object))
		return -1;
	if (strcmp(type, "signing_key.rotated") == 0)
		return 1;
	if (payload == NULL || !json_object_is_type(payload, json_type_object))
		return -1;
	if (strcmp(type, "api.deployed") == 0)
		return api_deployed(model, payload);
	if (strcmp(type, "api.undeployed") == 0)
		return api_undeployed(model, payload);
	if (strcmp(type, "api.state") == 0)
		return api_state(model, payload);
	if (strncmp(type, "subscription.", 13) == 0 && (strcmp(type + 13, "created") == 0 ||
	    strcmp(type + 13, "updated") == 0 || strcmp(type + 13, "removed") == 0))
		return subscription(model, type, payload);
	if (strcmp(type, "application.updated") == 0 || strcmp(type, "application.removed") == 0)
		return application(model, type, payload);
	if (strcmp(type, "key.created") == 0 || strcmp(type, "key.updated") == 0 ||
	    strcmp(type, "key.removed") == 0)
		return key_event(model, type, payload);
	if (strcmp(type, "client.revoked") == 0)
		return client_revoked(model, payload);
	if (strcmp(type, "token.revoked") == 0 || strcmp(type, "apikey.revoked") == 0)
		return token_revoked(model, payload);
	if (strcmp(type, "tenant.created") == 0 || strcmp(type, "tenant.updated") == 0)
		return tenant(model, type, payload);
	if (strcmp(type, "policy.created") == 0 || strcmp(type, "policy.updated") == 0 ||
	    strcmp(type, "policy.removed") == 0)
		return policy(model, type, payload);
	if (strcmp(type, "deny.created") == 0 || strcmp(type, "deny.updated") == 0 ||
	    strcmp(type, "deny.removed") == 0)
		return deny(model, type, payload);
	return 0;
}
