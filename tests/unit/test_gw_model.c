/*
 * The feed's model and the store built from it (gateway/model.c,
 * gateway/store.c): a snapshot is compiled into the structs of gw.h
 * (endpoints, templates, security, CORS, geo, policies, deny rules,
 * tenants, revocations) with working lookups; every event type of
 * publisher/FEED.md changes the model as the next snapshot would say;
 * publishing swaps stores by reference and generation.
 */
#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gateway/gw.h"
#include "tests/unit/th.h"

#define SNAPSHOT \
"{\"eventId\":10," \
"\"environment\":{\"name\":\"Internal\",\"type\":\"internal\",\"vhosts\":[{\"host\":\"localhost\",\"httpsPort\":8244}]}," \
"\"keyManager\":{\"issuer\":\"https://km:9445\",\"jwksUrl\":\"https://km:9445/oauth2/jwks\"," \
" \"introspectUrl\":\"https://km:9447/internal/km/v1/introspect\"}," \
"\"apis\":[{\"id\":\"api-a\",\"tenant\":\"carbon.super\",\"name\":\"A\",\"context\":\"/a\",\"version\":\"1.0\"," \
" \"isDefaultVersion\":true,\"lifeCycleStatus\":\"PUBLISHED\",\"revisionId\":\"rev-1\",\"environment\":\"Internal\"," \
" \"vhost\":\"localhost\",\"securityScheme\":[\"oauth2\",\"api_key\",\"basic_auth\"],\"policies\":[\"Gold\",\"Silver\"]," \
" \"apiThrottlingPolicy\":\"10KPerMin\",\"subscriptionAvailability\":\"SPECIFIC_TENANTS\"," \
" \"subscriptionAvailableTenants\":[\"acme.com\"]," \
" \"endpointConfig\":{\"endpoint_type\":\"http\",\"production_endpoints\":{\"url\":\"http://127.0.0.1:8080/base/\"}," \
"  \"sandbox_endpoints\":[{\"url\":\"https://sb.example/x?q=1\"},\"http://[::1]:9000\",{\"url\":\"ftp://bad\"}]}," \
" \"operations\":[{\"target\":\"/items/{id}\",\"verb\":\"get\",\"authType\":\"Application\"," \
"  \"throttlingPolicy\":\"50KPerMin\",\"scopes\":[\"read\"]},{\"target\":\"/open/*\",\"verb\":\"POST\",\"authType\":\"None\"}]," \
" \"scopes\":[{\"name\":\"read\",\"bindings\":[\"reader\",\"admin\"]}]," \
" \"corsConfiguration\":{\"corsConfigurationEnabled\":true,\"accessControlAllowOrigins\":[\"https://portal\"]," \
"  \"accessControlAllowHeaders\":[\"authorization\"],\"accessControlAllowMethods\":[\"get\",\"POST\"]," \
"  \"accessControlAllowCredentials\":true}," \
" \"geoRestriction\":{\"mode\":\"deny\",\"countries\":[\"fr\",\"DE\"]},\"maxRequestBodyBytes\":1024,\"backendJwt\":true}," \
" {\"id\":\"api-r\",\"context\":\"/r\",\"version\":\"1\",\"lifeCycleStatus\":\"RETIRED\"}]," \
"\"subscriptions\":[{\"id\":\"sub-1\",\"apiId\":\"api-a\",\"applicationId\":\"app-1\",\"tenant\":\"carbon.super\"," \
" \"apiTenant\":\"carbon.super\",\"tier\":\"Gold\",\"status\":\"UNBLOCKED\"}," \
" {\"id\":\"sub-2\",\"apiId\":\"api-a\",\"applicationId\":\"app-2\",\"tenant\":\"acme.com\",\"apiTenant\":\"carbon.super\"," \
"  \"tier\":\"Silver\",\"status\":\"PROD_ONLY_BLOCKED\"}]," \
"\"applications\":[{\"id\":\"app-1\",\"name\":\"App1\",\"tenant\":\"carbon.super\",\"owner\":\"alice\",\"tier\":\"10PerMin\"," \
" \"tokenType\":\"JWT\",\"keys\":[{\"consumerKey\":\"ck-1p\",\"keyType\":\"PRODUCTION\"},{\"consumerKey\":\"ck-1s\",\"keyType\":\"SANDBOX\"}]}," \
" {\"id\":\"app-2\",\"name\":\"App2\",\"tenant\":\"acme.com\",\"owner\":\"bob@acme.com\",\"tier\":\"Unlimited\"," \
"  \"tokenType\":\"OPAQUE\",\"keys\":[]}]," \
"\"tenants\":[{\"domain\":\"carbon.super\",\"status\":\"active\"},{\"domain\":\"acme.com\",\"status\":\"active\"}]," \
"\"policies\":{\"subscription\":[{\"tenant\":\"*\",\"name\":\"Gold\",\"definition\":{\"defaultLimit\":{\"type\":\"REQUESTCOUNTLIMIT\"," \
"  \"requestCount\":{\"timeUnit\":\"min\",\"unitTime\":1,\"requestCount\":5000}},\"rateLimitCount\":10,\"rateLimitTimeUnit\":\"sec\"," \
"  \"stopOnQuotaReach\":false}}," \
" {\"tenant\":\"*\",\"name\":\"Unlimited\",\"definition\":{\"defaultLimit\":{\"type\":\"UNLIMITED\"}}}]," \
" \"application\":[{\"tenant\":\"*\",\"name\":\"10PerMin\",\"definition\":{\"defaultLimit\":{\"type\":\"REQUESTCOUNTLIMIT\"," \
"  \"requestCount\":{\"timeUnit\":\"hour\",\"unitTime\":2,\"requestCount\":10}},\"burstLimit\":{\"rateLimitCount\":3," \
"  \"rateLimitTimeUnit\":\"min\"}}}]," \
" \"advanced\":[{\"tenant\":\"*\",\"name\":\"10KPerMin\",\"definition\":{\"defaultLimit\":{\"type\":\"REQUESTCOUNTLIMIT\"," \
"  \"requestCount\":{\"timeUnit\":\"day\",\"unitTime\":1,\"requestCount\":10000}}}}]}," \
"\"denyPolicies\":[{\"id\":\"d-1\",\"tenant\":\"carbon.super\",\"conditionType\":\"IP\"," \
"  \"conditionValue\":{\"fixedIp\":\"192.0.2.1\",\"invert\":false},\"conditionStatus\":true}," \
" {\"id\":\"d-2\",\"tenant\":\"carbon.super\",\"conditionType\":\"IPRANGE\"," \
"  \"conditionValue\":{\"startingIp\":\"2001:db8::1\",\"endingIp\":\"2001:db8::ff\",\"invert\":true},\"conditionStatus\":true}," \
" {\"id\":\"d-3\",\"tenant\":\"carbon.super\",\"conditionType\":\"USER\",\"conditionValue\":\"eve\",\"conditionStatus\":false}," \
" {\"id\":\"d-4\",\"tenant\":\"carbon.super\",\"conditionType\":\"API\",\"conditionValue\":\"/a/1.0\",\"conditionStatus\":true}]," \
"\"revokedTokens\":[{\"jti\":\"jti-1\",\"exp\":4102444800},{\"jti\":\"jti-old\",\"exp\":1000}]," \
"\"clientNotBefore\":[{\"clientId\":\"ck-1p\",\"notBefore\":1700000000}]}"

static struct json_object *
parse(const char *s)
{
	struct json_object *o = json_tokener_parse(s);

	if (o == NULL) {
		fprintf(stderr, "bad test JSON: %s\n", s);
		exit(2);
	}
	return o;
}

/* Apply type with payload text; gw_model_apply's answer. */
static int
apply(struct json_object *model, const char *type, const char *payload)
{
	struct json_object *p = payload ? parse(payload) : NULL;
	int rc = gw_model_apply(model, type, p);

	json_object_put(p);
	return rc;
}

static struct gw_store *
build(struct json_object *model)
{
	const char *why;
	struct gw_store *s = gw_store_build(model, &why);

	if (s == NULL)
		fprintf(stderr, "build: %s\n", why);
	return s;
}

static size_t
count(char **list)
{
	size_t n = 0;

	while (list != NULL && list[n] != NULL)
		n++;
	return n;
}

static void
test_build(struct json_object *model)
{
	static const unsigned char v4[16] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 192, 0, 2, 1 };
	struct gw_store *s = build(model);
	const struct gw_api *a;
	const struct gw_policy *p;
	const struct gw_sub *sub;
	const struct gw_key *k;

	TH_TEST("store from a snapshot");
	TH_CHECK(s != NULL);
	if (s == NULL)
		return;
	TH_CHECK_EQ_INT(s->refs, 1);
	TH_CHECK_EQ_INT(s->event_id, 10);
	TH_CHECK_EQ_STR(s->env_name, "Internal");
	TH_CHECK_EQ_STR(s->env_type, "internal");
	TH_CHECK_EQ_STR(s->issuer, "https://km:9445");
	TH_CHECK_EQ_STR(s->jwks_url, "https://km:9445/oauth2/jwks");
	TH_CHECK_EQ_STR(s->introspect_url, "https://km:9447/internal/km/v1/introspect");
	TH_CHECK_EQ_INT(s->napis, 1);           /* RETIRED left out */
	TH_CHECK(gw_store_api(s, "api-r") == NULL);

	TH_TEST("an API");
	a = gw_store_api(s, "api-a");
	TH_CHECK(a != NULL);
	if (a == NULL)
		goto out;
	TH_CHECK_EQ_STR(a->context, "/a");
	TH_CHECK_EQ_STR(a->revision_id, "rev-1");
	TH_CHECK(a->is_default && a->state == GW_API_PUBLISHED);
	TH_CHECK_EQ_INT(a->security, GW_SEC_OAUTH2 | GW_SEC_APIKEY | GW_SEC_BASIC);
	TH_CHECK_EQ_INT(count(a->tiers), 2);
	TH_CHECK_EQ_STR(a->api_policy, "10KPerMin");
	TH_CHECK(a->avail == GW_AVAIL_SPECIFIC_TENANTS && count(a->avail_tenants) == 1);
	TH_CHECK_EQ_INT(a->nprod, 1);
	TH_CHECK_EQ_STR(a->prod[0].scheme, "http");
	TH_CHECK_EQ_STR(a->prod[0].host, "127.0.0.1");
	TH_CHECK_EQ_INT(a->prod[0].port, 8080);
	TH_CHECK_EQ_STR(a->prod[0].base_path, "/base");
	TH_CHECK_EQ_INT(a->prod[0].tls, 0);
	TH_CHECK_EQ_INT(a->nsand, 2);           /* the ftp:// one is skipped */
	TH_CHECK(a->nsand == 2 && a->sand[0].tls && a->sand[0].port == 443);
	TH_CHECK(a->nsand == 2 && strcmp(a->sand[0].base_path, "/x") == 0);
	TH_CHECK(a->nsand == 2 && strcmp(a->sand[1].host, "::1") == 0 && a->sand[1].port == 9000 &&
	    strcmp(a->sand[1].base_path, "") == 0);
	TH_CHECK_EQ_INT(a->nops, 2);
	TH_CHECK_EQ_STR(a->ops[0].verb, "GET");
	TH_CHECK_EQ_STR(a->ops[0].auth_type, "Application");
	TH_CHECK_EQ_STR(a->ops[0].throttling_policy, "50KPerMin");
	TH_CHECK(count(a->ops[0].scopes) == 1 && strcmp(a->ops[0].scopes[0], "read") == 0);
	TH_CHECK(a->ops[0].nsegs == 2 && strcmp(a->ops[0].segs[0].lit, "items") == 0 && a->ops[0].segs[1].param);
	TH_CHECK(!a->ops[0].no_auth && !a->ops[0].wildcard);
	TH_CHECK(a->ops[1].no_auth && a->ops[1].wildcard && a->ops[1].nsegs == 1);
	TH_CHECK(a->cors.enabled && a->cors.allow_credentials);
	TH_CHECK(count(a->cors.origins) == 1 && count(a->cors.headers) == 1 && count(a->cors.methods) == 2);
	TH_CHECK_EQ_STR(a->cors.methods[0], "GET");
	TH_CHECK_EQ_INT(a->geo_mode, 2);
	TH_CHECK(count(a->geo_countries) == 2 && strcmp(a->geo_countries[0], "FR") == 0);
	TH_CHECK_EQ_INT(a->max_body, 1024);
	TH_CHECK(a->backend_jwt);
	TH_CHECK(count(a->scope_names) == 1 && strcmp(a->scope_names[0], "read") == 0);
	TH_CHECK(count(a->scope_roles[0]) == 2 && strcmp(a->scope_roles[0][1], "admin") == 0);

	TH_TEST("subscriptions, applications, keys");
	TH_CHECK_EQ_INT(s->nsubs, 2);
	sub = gw_store_sub(s, "app-1", "api-a");
	TH_CHECK(sub != NULL && sub->state == GW_SUB_UNBLOCKED && strcmp(sub->tier, "Gold") == 0);
	sub = gw_store_sub(s, "app-2", "api-a");
	TH_CHECK(sub != NULL && sub->state == GW_SUB_PROD_ONLY_BLOCKED && strcmp(sub->tenant, "acme.com") == 0);
	TH_CHECK(gw_store_sub(s, "api-a", "app-1") == NULL);
	TH_CHECK(gw_store_sub(s, "app-1", NULL) == NULL);
	TH_CHECK(gw_store_app(s, "app-2") != NULL && strcmp(gw_store_app(s, "app-2")->token_type, "OPAQUE") == 0);
	TH_CHECK(gw_store_app(s, "app-3") == NULL);
	k = gw_store_key(s, "ck-1s");
	TH_CHECK(k != NULL && strcmp(k->app_id, "app-1") == 0 && strcmp(k->key_type, "SANDBOX") == 0);
	TH_CHECK(gw_store_key(s, "ck-9") == NULL);
	TH_CHECK_EQ_INT(s->nkeys, 2);
	TH_TEST("repeated strings are held once (interned), ids shared with the API and application");
	sub = gw_store_sub(s, "app-1", "api-a");
	TH_CHECK(sub != NULL && gw_store_app(s, "app-1") != NULL && sub->app_id == gw_store_app(s, "app-1")->id);
	TH_CHECK(sub != NULL && gw_store_api(s, "api-a") != NULL && sub->api_id == gw_store_api(s, "api-a")->id);
	TH_CHECK(sub != NULL && sub->tenant == sub->api_tenant && sub->tenant == gw_store_app(s, "app-1")->tenant);
	TH_CHECK(gw_store_sub(s, "app-2", "api-a") != NULL &&
	    gw_store_sub(s, "app-2", "api-a")->api_tenant == sub->tenant);
	TH_CHECK(sub != NULL && strcmp(gw_store_api(s, "api-a")->tenant, "carbon.super") == 0 &&
	    gw_store_api(s, "api-a")->tenant == sub->tenant);

	TH_TEST("policies");
	p = gw_store_policy(s, 0, "carbon.super", "Gold");
	TH_CHECK(p != NULL && !p->unlimited && p->count == 5000 && p->window_ms == 60000);
	TH_CHECK(p != NULL && p->burst_count == 10 && p->burst_window_ms == 1000 && !p->stop_on_quota);
	p = gw_store_policy(s, 0, "acme.com", "Unlimited");
	TH_CHECK(p != NULL && p->unlimited);
	p = gw_store_policy(s, 1, "carbon.super", "10PerMin");
	TH_CHECK(p != NULL && p->count == 10 && p->window_ms == 7200000 && p->burst_count == 3 &&
	    p->burst_window_ms == 60000 && p->stop_on_quota);
	p = gw_store_policy(s, 2, NULL, "10KPerMin");
	TH_CHECK(p != NULL && p->count == 10000 && p->window_ms == 86400000 && p->kind == 2);
	TH_CHECK(gw_store_policy(s, 1, "carbon.super", "Gold") == NULL);
	TH_CHECK(gw_store_policy(s, 5, "carbon.super", "Gold") == NULL);

	TH_TEST("deny rules, tenants, revocations");
	TH_CHECK_EQ_INT(s->ndenies, 3);         /* the disabled USER rule is left out */
	TH_CHECK(s->ndenies == 3 && s->denies[0]->type == GW_DENY_IP && memcmp(s->denies[0]->ip_lo, v4, 16) == 0 &&
	    memcmp(s->denies[0]->ip_hi, v4, 16) == 0 && !s->denies[0]->invert);
	TH_CHECK(s->ndenies == 3 && s->denies[1]->type == GW_DENY_IPRANGE && s->denies[1]->invert &&
	    s->denies[1]->ip_lo[0] == 0x20 && s->denies[1]->ip_hi[15] == 0xff && s->denies[1]->ip_lo[15] == 1);
	TH_CHECK(s->ndenies == 3 && s->denies[2]->type == GW_DENY_API && strcmp(s->denies[2]->value, "/a/1.0") == 0);
	TH_CHECK(gw_store_tenant_active(s, "acme.com"));
	TH_CHECK(!gw_store_tenant_active(s, "other.com"));
	TH_CHECK(gw_store_jti_revoked(s, "jti-1"));
	TH_CHECK(!gw_store_jti_revoked(s, "jti-2"));
	TH_CHECK_EQ_INT(gw_store_client_not_before(s, "ck-1p"), 1700000000);
	TH_CHECK_EQ_INT(gw_store_client_not_before(s, "ck-1s"), 0);
out:
	gw_store_unref(s);
}

static void
test_events(struct json_object *model)
{
	struct gw_store *s;
	const struct gw_api *a;
	struct gw_match m;
	struct json_object *subs;

	memset(&m, 0, sizeof(m));
	TH_TEST("api.deployed");
	TH_CHECK_EQ_INT(apply(model, "api.deployed", "{\"environment\":\"Internal\",\"api\":{\"id\":\"api-b\","
	    "\"context\":\"/b\",\"version\":\"2\",\"lifeCycleStatus\":\"PUBLISHED\",\"environment\":\"Internal\","
	    "\"operations\":[{\"target\":\"/x\",\"verb\":\"GET\"}]},\"subscriptions\":[{\"id\":\"sub-b\",\"apiId\":\"api-b\","
	    "\"applicationId\":\"app-9\",\"tier\":\"Gold\",\"status\":\"UNBLOCKED\"}],\"applications\":[{\"id\":\"app-9\","
	    "\"name\":\"Nine\",\"tenant\":\"carbon.super\",\"owner\":\"carol\",\"tier\":\"Unlimited\",\"tokenType\":\"JWT\","
	    "\"keys\":[{\"consumerKey\":\"ck-9\",\"keyType\":\"PRODUCTION\"}]}]}"), 0);
	TH_CHECK_EQ_INT(apply(model, "api.deployed", "{\"environment\":\"External\",\"api\":{\"id\":\"api-x\","
	    "\"context\":\"/x\",\"version\":\"1\",\"lifeCycleStatus\":\"PUBLISHED\"},\"subscriptions\":[],\"applications\":[]}"), 0);
	s = build(model);
	TH_CHECK(s != NULL && gw_store_api(s, "api-b") != NULL && gw_store_api(s, "api-x") == NULL);
	TH_CHECK(s != NULL && gw_store_sub(s, "app-9", "api-b") != NULL && gw_store_key(s, "ck-9") != NULL);
	TH_CHECK(s != NULL && gw_route(s, "localhost", "/b/2/x", "GET", &m) == 0);
	gw_match_clear(&m);
	gw_store_unref(s);

	TH_TEST("api.deployed again: another revision");
	TH_CHECK_EQ_INT(apply(model, "api.deployed", "{\"environment\":\"Internal\",\"api\":{\"id\":\"api-b\","
	    "\"context\":\"/b\",\"version\":\"2\",\"lifeCycleStatus\":\"PUBLISHED\",\"revisionId\":\"rev-2\","
	    "\"operations\":[{\"target\":\"/y\",\"verb\":\"GET\"}]},\"subscriptions\":[],\"applications\":[]}"), 0);
	s = build(model);
	TH_CHECK(s != NULL && s->napis == 2);
	TH_CHECK(s != NULL && gw_route(s, "localhost", "/b/2/x", "GET", &m) == 404);
	gw_match_clear(&m);
	TH_CHECK(s != NULL && gw_route(s, "localhost", "/b/2/y", "GET", &m) == 0);
	gw_match_clear(&m);
	TH_CHECK(s != NULL && gw_store_sub(s, "app-9", "api-b") == NULL);   /* the revision's list replaces */
	TH_CHECK(s != NULL && gw_store_api(s, "api-b") && strcmp(gw_store_api(s, "api-b")->revision_id, "rev-2") == 0);
	gw_store_unref(s);

	TH_TEST("api.state");
	TH_CHECK_EQ_INT(apply(model, "api.state", "{\"apiId\":\"api-a\",\"tenant\":\"carbon.super\","
	    "\"lifeCycleStatus\":\"BLOCKED\",\"isDefaultVersion\":false}"), 0);
	TH_CHECK_EQ_INT(apply(model, "api.state", "{\"apiId\":\"api-unknown\",\"lifeCycleStatus\":\"BLOCKED\"}"), 0);
	s = build(model);
	a = s ? gw_store_api(s, "api-a") : NULL;
	TH_CHECK(a != NULL && a->state == GW_API_BLOCKED && !a->is_default);
	gw_store_unref(s);
	TH_CHECK_EQ_INT(apply(model, "api.state", "{\"apiId\":\"api-a\",\"lifeCycleStatus\":\"DEPRECATED\"}"), 0);
	s = build(model);
	a = s ? gw_store_api(s, "api-a") : NULL;
	TH_CHECK(a != NULL && a->state == GW_API_DEPRECATED);
	gw_store_unref(s);

	TH_TEST("subscription.created / updated / removed");
	TH_CHECK_EQ_INT(apply(model, "subscription.created", "{\"id\":\"sub-3\",\"apiId\":\"api-b\",\"applicationId\":\"app-5\","
	    "\"tenant\":\"carbon.super\",\"apiTenant\":\"carbon.super\",\"tier\":\"Bronze\",\"status\":\"UNBLOCKED\","
	    "\"application\":{\"id\":\"app-5\",\"name\":\"Five\",\"tenant\":\"carbon.super\",\"owner\":\"dan\",\"tier\":\"20PerMin\","
	    "\"tokenType\":\"JWT\",\"keys\":[{\"consumerKey\":\"ck-5\",\"keyType\":\"SANDBOX\"}]}}"), 0);
	s = build(model);
	TH_CHECK(s != NULL && gw_store_sub(s, "app-5", "api-b") != NULL && gw_store_app(s, "app-5") != NULL);
	TH_CHECK(s != NULL && gw_store_key(s, "ck-5") != NULL && strcmp(gw_store_key(s, "ck-5")->key_type, "SANDBOX") == 0);
	gw_store_unref(s);
	json_object_object_get_ex(model, "subscriptions", &subs);
	TH_CHECK(!json_object_object_get_ex(json_object_array_get_idx(subs, json_object_array_length(subs) - 1),
	    "application", NULL));
	TH_CHECK_EQ_INT(apply(model, "subscription.updated", "{\"id\":\"sub-3\",\"apiId\":\"api-b\",\"applicationId\":\"app-5\","
	    "\"tier\":\"Gold\",\"status\":\"BLOCKED\"}"), 0);
	s = build(model);
	TH_CHECK(s != NULL && gw_store_sub(s, "app-5", "api-b") != NULL &&
	    gw_store_sub(s, "app-5", "api-b")->state == GW_SUB_BLOCKED && strcmp(gw_store_sub(s, "app-5", "api-b")->tier, "Gold") == 0);
	gw_store_unref(s);
	TH_CHECK_EQ_INT(apply(model, "subscription.removed", "{\"id\":\"sub-3\",\"apiId\":\"api-b\",\"applicationId\":\"app-5\"}"), 0);
	s = build(model);
	TH_CHECK(s != NULL && gw_store_sub(s, "app-5", "api-b") == NULL && gw_store_app(s, "app-5") != NULL);
	gw_store_unref(s);

	TH_TEST("application.updated / removed");
	TH_CHECK_EQ_INT(apply(model, "application.updated", "{\"id\":\"app-1\",\"name\":\"App1b\",\"tenant\":\"carbon.super\","
	    "\"owner\":\"alice\",\"tier\":\"50PerMin\",\"tokenType\":\"JWT\",\"keys\":[{\"consumerKey\":\"ck-1p\",\"keyType\":\"PRODUCTION\"}]}"), 0);
	s = build(model);
	TH_CHECK(s != NULL && gw_store_app(s, "app-1") && strcmp(gw_store_app(s, "app-1")->tier, "50PerMin") == 0 &&
	    strcmp(gw_store_app(s, "app-1")->name, "App1b") == 0);
	TH_CHECK(s != NULL && gw_store_key(s, "ck-1s") == NULL);
	gw_store_unref(s);
	TH_CHECK_EQ_INT(apply(model, "application.removed", "{\"id\":\"app-2\"}"), 0);
	s = build(model);
	TH_CHECK(s != NULL && gw_store_app(s, "app-2") == NULL && gw_store_sub(s, "app-2", "api-a") == NULL);
	TH_CHECK(s != NULL && gw_store_sub(s, "app-1", "api-a") != NULL);
	gw_store_unref(s);

	TH_TEST("key.created / updated / removed");
	TH_CHECK_EQ_INT(apply(model, "key.created", "{\"client_id\":\"ck-7\",\"application_id\":\"app-7\",\"application_name\":\"Seven\","
	    "\"tier\":\"10PerMin\",\"key_type\":\"SANDBOX\",\"owner\":\"erin\",\"tenant\":\"acme.com\",\"token_type\":\"JWT\","
	    "\"grant_types\":\"client_credentials\",\"callback_url\":null}"), 0);
	TH_CHECK_EQ_INT(apply(model, "key.created", "{\"client_id\":\"ck-1x\",\"application_id\":\"app-1\","
	    "\"application_name\":\"App1c\",\"tier\":\"50PerMin\",\"key_type\":\"SANDBOX\",\"owner\":\"alice\","
	    "\"tenant\":\"carbon.super\",\"token_type\":\"JWT\"}"), 0);
	TH_CHECK_EQ_INT(apply(model, "key.created", "{\"client_id\":\"ck-mgmt\",\"application_id\":null}"), 0);
	s = build(model);
	TH_CHECK(s != NULL && gw_store_app(s, "app-7") != NULL && strcmp(gw_store_app(s, "app-7")->tenant, "acme.com") == 0 &&
	    strcmp(gw_store_app(s, "app-7")->name, "Seven") == 0 && strcmp(gw_store_app(s, "app-7")->owner, "erin") == 0);
	TH_CHECK(s != NULL && gw_store_key(s, "ck-7") && strcmp(gw_store_key(s, "ck-7")->app_id, "app-7") == 0 &&
	    strcmp(gw_store_key(s, "ck-7")->key_type, "SANDBOX") == 0);
	TH_CHECK(s != NULL && gw_store_key(s, "ck-1x") && gw_store_key(s, "ck-1p") &&
	    strcmp(gw_store_app(s, "app-1")->name, "App1c") == 0);
	TH_CHECK(s != NULL && gw_store_key(s, "ck-mgmt") == NULL);
	gw_store_unref(s);
	TH_CHECK_EQ_INT(apply(model, "key.updated", "{\"client_id\":\"ck-7\",\"application_id\":\"app-7\",\"application_name\":\"Seven2\","
	    "\"tier\":\"Unlimited\",\"key_type\":\"PRODUCTION\",\"owner\":\"erin\",\"tenant\":\"acme.com\",\"token_type\":\"JWT\"}"), 0);
	s = build(model);
	TH_CHECK(s != NULL && gw_store_key(s, "ck-7") && strcmp(gw_store_key(s, "ck-7")->key_type, "PRODUCTION") == 0 &&
	    strcmp(gw_store_app(s, "app-7")->tier, "Unlimited") == 0 && s->nkeys == 5);  /* 1p 1x 9 5 7 */
	gw_store_unref(s);
	TH_CHECK_EQ_INT(apply(model, "key.removed", "{\"client_id\":\"ck-7\",\"application_id\":\"app-7\"}"), 0);
	s = build(model);
	TH_CHECK(s != NULL && gw_store_key(s, "ck-7") == NULL && gw_store_app(s, "app-7") != NULL);
	gw_store_unref(s);

	TH_TEST("client.revoked, token.revoked, apikey.revoked");
	TH_CHECK_EQ_INT(apply(model, "client.revoked", "{\"client_id\":\"ck-1p\",\"not_before\":1800000000}"), 0);
	TH_CHECK_EQ_INT(apply(model, "client.revoked", "{\"client_id\":\"ck-9\",\"not_before\":1800000001}"), 0);
	TH_CHECK_EQ_INT(apply(model, "token.revoked", "{\"jti\":\"jti-2\",\"exp\":4102444800,\"client_id\":\"ck-1p\"}"), 0);
	TH_CHECK_EQ_INT(apply(model, "apikey.revoked", "{\"jti\":\"ak-1\",\"exp\":4102444800}"), 0);
	TH_CHECK_EQ_INT(apply(model, "token.revoked", "{\"jti\":\"jti-gone\",\"exp\":1000}"), 0);
	s = build(model);
	TH_CHECK(s != NULL && gw_store_client_not_before(s, "ck-1p") == 1800000000);
	TH_CHECK(s != NULL && gw_store_client_not_before(s, "ck-9") == 1800000001);
	TH_CHECK(s != NULL && gw_store_jti_revoked(s, "jti-1") && gw_store_jti_revoked(s, "jti-2") &&
	    gw_store_jti_revoked(s, "ak-1"));
	TH_CHECK(s != NULL && !gw_store_jti_revoked(s, "jti-gone") && !gw_store_jti_revoked(s, "jti-old"));
	gw_store_unref(s);

	TH_TEST("tenant.created / updated");
	TH_CHECK_EQ_INT(apply(model, "tenant.created", "{\"domain\":\"new.com\",\"admin\":\"admin@new.com\"}"), 0);
	TH_CHECK_EQ_INT(apply(model, "tenant.updated", "{\"domain\":\"acme.com\",\"status\":\"inactive\"}"), 0);
	s = build(model);
	TH_CHECK(s != NULL && gw_store_tenant_active(s, "new.com") && !gw_store_tenant_active(s, "acme.com") &&
	    gw_store_tenant_active(s, "carbon.super"));
	gw_store_unref(s);
	TH_CHECK_EQ_INT(apply(model, "tenant.updated", "{\"domain\":\"acme.com\",\"status\":\"active\"}"), 0);
	s = build(model);
	TH_CHECK(s != NULL && gw_store_tenant_active(s, "acme.com"));
	gw_store_unref(s);

	TH_TEST("policy.created / updated / removed");
	TH_CHECK_EQ_INT(apply(model, "policy.created", "{\"kind\":\"subscription\",\"tenant\":\"acme.com\",\"name\":\"Gold\","
	    "\"definition\":{\"defaultLimit\":{\"type\":\"REQUESTCOUNTLIMIT\",\"requestCount\":{\"timeUnit\":\"sec\",\"unitTime\":30,"
	    "\"requestCount\":7}}}}"), 0);
	s = build(model);
	TH_CHECK(s != NULL && gw_store_policy(s, 0, "acme.com", "Gold") && gw_store_policy(s, 0, "acme.com", "Gold")->count == 7 &&
	    gw_store_policy(s, 0, "acme.com", "Gold")->window_ms == 30000);
	TH_CHECK(s != NULL && gw_store_policy(s, 0, "carbon.super", "Gold")->count == 5000);
	gw_store_unref(s);
	TH_CHECK_EQ_INT(apply(model, "policy.updated", "{\"kind\":\"subscription\",\"tenant\":\"acme.com\",\"name\":\"Gold\","
	    "\"definition\":{\"defaultLimit\":{\"type\":\"UNLIMITED\"}}}"), 0);
	s = build(model);
	TH_CHECK(s != NULL && gw_store_policy(s, 0, "acme.com", "Gold") && gw_store_policy(s, 0, "acme.com", "Gold")->unlimited);
	gw_store_unref(s);
	TH_CHECK_EQ_INT(apply(model, "policy.removed", "{\"kind\":\"subscription\",\"tenant\":\"acme.com\",\"name\":\"Gold\","
	    "\"definition\":{}}"), 0);
	s = build(model);
	TH_CHECK(s != NULL && gw_store_policy(s, 0, "acme.com", "Gold") && gw_store_policy(s, 0, "acme.com", "Gold")->count == 5000);
	gw_store_unref(s);

	TH_TEST("deny.created / updated / removed");
	TH_CHECK_EQ_INT(apply(model, "deny.created", "{\"id\":\"d-5\",\"tenant\":\"carbon.super\",\"conditionType\":\"USER\","
	    "\"conditionValue\":\"mallory\",\"conditionStatus\":true}"), 0);
	TH_CHECK_EQ_INT(apply(model, "deny.updated", "{\"id\":\"d-1\",\"tenant\":\"carbon.super\",\"conditionType\":\"IP\","
	    "\"conditionValue\":{\"fixedIp\":\"192.0.2.1\",\"invert\":false},\"conditionStatus\":false}"), 0);
	TH_CHECK_EQ_INT(apply(model, "deny.removed", "{\"id\":\"d-4\",\"tenant\":\"carbon.super\",\"conditionType\":\"API\"}"), 0);
	s = build(model);
	TH_CHECK(s != NULL && s->ndenies == 2 && s->denies[0]->type == GW_DENY_IPRANGE && s->denies[1]->type == GW_DENY_USER &&
	    strcmp(s->denies[1]->value, "mallory") == 0);
	gw_store_unref(s);

	TH_TEST("api.undeployed, api.state RETIRED");
	TH_CHECK_EQ_INT(apply(model, "api.undeployed", "{\"environment\":\"External\",\"apiId\":\"api-b\",\"tenant\":\"carbon.super\"}"), 0);
	s = build(model);
	TH_CHECK(s != NULL && gw_store_api(s, "api-b") != NULL);
	gw_store_unref(s);
	TH_CHECK_EQ_INT(apply(model, "api.undeployed", "{\"environment\":\"Internal\",\"apiId\":\"api-b\",\"tenant\":\"carbon.super\"}"), 0);
	TH_CHECK_EQ_INT(apply(model, "api.state", "{\"apiId\":\"api-a\",\"lifeCycleStatus\":\"RETIRED\",\"isDefaultVersion\":false}"), 0);
	s = build(model);
	TH_CHECK(s != NULL && s->napis == 0 && gw_store_sub(s, "app-1", "api-a") == NULL);
	TH_CHECK(s != NULL && gw_route(s, "localhost", "/b/2/y", "GET", &m) == 404);
	gw_match_clear(&m);
	gw_store_unref(s);

	TH_TEST("signing_key.rotated, unknown and malformed events");
	TH_CHECK_EQ_INT(apply(model, "signing_key.rotated", "{\"kid\":\"k2\",\"alg\":\"RS256\"}"), 1);
	TH_CHECK_EQ_INT(apply(model, "something.new", "{\"x\":1}"), 0);
	TH_CHECK_EQ_INT(apply(model, "api.deployed", "{\"environment\":\"Internal\"}"), -1);
	TH_CHECK_EQ_INT(apply(model, "api.undeployed", "{\"environment\":\"Internal\"}"), -1);
	TH_CHECK_EQ_INT(apply(model, "api.state", "{\"lifeCycleStatus\":\"BLOCKED\"}"), -1);
	TH_CHECK_EQ_INT(apply(model, "subscription.created", "{\"apiId\":\"a\",\"applicationId\":\"b\"}"), -1);
	TH_CHECK_EQ_INT(apply(model, "subscription.updated", "{\"id\":\"s\"}"), -1);
	TH_CHECK_EQ_INT(apply(model, "application.updated", "{\"name\":\"x\"}"), -1);
	TH_CHECK_EQ_INT(apply(model, "key.created", "{\"application_id\":\"x\"}"), -1);
	TH_CHECK_EQ_INT(apply(model, "client.revoked", "{\"client_id\":\"x\"}"), -1);
	TH_CHECK_EQ_INT(apply(model, "token.revoked", "{\"jti\":\"x\"}"), -1);
	TH_CHECK_EQ_INT(apply(model, "tenant.updated", "{\"domain\":\"x\"}"), -1);
	TH_CHECK_EQ_INT(apply(model, "policy.created", "{\"kind\":\"bogus\",\"tenant\":\"*\",\"name\":\"x\",\"definition\":{}}"), -1);
	TH_CHECK_EQ_INT(apply(model, "policy.created", "{\"kind\":\"advanced\",\"tenant\":\"*\",\"name\":\"x\"}"), -1);
	TH_CHECK_EQ_INT(apply(model, "deny.created", "{\"conditionType\":\"IP\"}"), -1);
	TH_CHECK_EQ_INT(apply(model, "api.deployed", NULL), -1);
	TH_CHECK_EQ_INT(apply(model, "token.revoked", "[1]"), -1);
}

static void
test_publish(struct json_object *model)
{
	struct gw_store *s1 = build(model), *s2 = build(model), *cur;
	struct json_object *none;
	uint64_t g0 = gw_store_generation();
	const char *why;

	TH_TEST("publish and acquire");
	TH_CHECK(s1 != NULL && s2 != NULL);
	if (s1 == NULL || s2 == NULL)
		return;
	gw_store_publish(s1);
	TH_CHECK_EQ_INT(gw_store_generation(), g0 + 1);
	TH_CHECK_EQ_INT(s1->generation, g0 + 1);
	cur = gw_store_acquire();
	TH_CHECK(cur == s1 && s1->refs == 2);
	gw_store_publish(s2);                   /* s1 lives on: we hold it */
	TH_CHECK_EQ_INT(gw_store_generation(), g0 + 2);
	TH_CHECK_EQ_INT(s1->refs, 1);
	TH_CHECK(gw_store_api(s1, "api-a") != NULL || s1->napis == 0);
	gw_store_unref(cur);                    /* s1 freed here (ASan would see a use after) */
	cur = gw_store_acquire();
	TH_CHECK(cur == s2 && s2->refs == 2 && s2->generation == g0 + 2);
	gw_store_ref(cur);
	TH_CHECK_EQ_INT(s2->refs, 3);
	gw_store_unref(cur);
	gw_store_unref(cur);
	gw_store_publish(NULL);                 /* unpublished: s2 freed */
	TH_CHECK(gw_store_acquire() == NULL);
	TH_CHECK_EQ_INT(gw_store_generation(), g0 + 3);
	gw_store_unref(NULL);

	TH_TEST("unusable models");
	none = parse("{\"apis\":[]}");
	TH_CHECK(gw_store_build(none, &why) == NULL && why != NULL);
	json_object_put(none);
	none = parse("[]");
	TH_CHECK(gw_store_build(none, &why) == NULL && why != NULL);
	json_object_put(none);
	TH_CHECK(gw_store_build(NULL, &why) == NULL);
	TH_CHECK_EQ_INT(gw_model_apply(NULL, "api.state", NULL), -1);
}

int
main(void)
{
	struct json_object *model = parse(SNAPSHOT);

	test_build(model);
	test_publish(model);
	test_events(model);
	json_object_put(model);
	TH_END();
}
