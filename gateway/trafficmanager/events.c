/*
 * The analytics collector: POST /internal/analytics/v1/events
 * (PROTOCOL.md).  On the loop: gateway certificates only, the size limit
 * (trafficmanager.max_batch_bytes, 413) and the media type (415).  On a
 * pool worker: every line is checked first (one bad line refuses the
 * whole batch with 400 naming it); then, in one transaction, the daily
 * partitions of the batch's days are made when missing, the events are
 * inserted (duplicates by (id, ts) dropped) and only the new ones are
 * added to the per-minute rollups.  The answer, sent after COMMIT, counts
 * what was accepted and what was a duplicate.
 */
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "core/gh_json.h"
#include "core/gh_log.h"
#include "gateway/trafficmanager/tm.h"
#include "pg/gh_analytics.h"

#define DAY_MS INT64_C(86400000)
#define MIN_MS INT64_C(60000)
#define TS_MIN INT64_C(946684800000)    /* 2000-01-01 */
#define LAT_MAX INT64_C(2147483647)

/* The string fields of an event: JSON name, column, longest value. */
enum {
	F_API_ID, F_API_NAME, F_API_VERSION, F_API_CONTEXT, F_API_RESOURCE, F_API_METHOD, F_APP_ID,
	F_APP_NAME, F_APP_OWNER, F_APP_TENANT, F_KEY_TYPE, F_USER_NAME, F_TENANT, F_USER_IP, F_COUNTRY,
	F_USER_AGENT, F_CORRELATION, F_NODE, F_ENV, F_ERROR_CODE, NSTR
};

static const struct {
	const char *json, *col;
	size_t max;
} fields[NSTR] = {
	[F_API_ID] = { "apiId", "api_id", 128 },
	[F_API_NAME] = { "apiName", "api_name", 256 },
	[F_API_VERSION] = { "apiVersion", "api_version", 64 },
	[F_API_CONTEXT] = { "apiContext", "api_context", 512 },
	[F_API_RESOURCE] = { "apiResourceTemplate", "api_resource", 512 },
	[F_API_METHOD] = { "apiMethod", "api_method", 16 },
	[F_APP_ID] = { "applicationId", "app_id", 128 },
	[F_APP_NAME] = { "applicationName", "app_name", 256 },
	[F_APP_OWNER] = { "applicationOwner", "app_owner", 256 },
	[F_APP_TENANT] = { "applicationTenant", "app_tenant", 256 },
	[F_KEY_TYPE] = { "keyType", "key_type", 16 },
	[F_USER_NAME] = { "userName", "user_name", 256 },
	[F_TENANT] = { "tenant", "tenant", 256 },
	[F_USER_IP] = { "userIp", "user_ip", 64 },
	[F_COUNTRY] = { "country", "country", 2 },
	[F_USER_AGENT] = { "userAgent", "user_agent", 512 },
	[F_CORRELATION] = { "correlationId", "correlation_id", 64 },
	[F_NODE] = { "gatewayNode", "gateway_node", 64 },
	[F_ENV] = { "environment", "environment", 256 },
	[F_ERROR_CODE] = { "errorCode", "error_code", 16 },
};

struct tm_event {
	struct json_object *o;          /* owns the strings below */
	const char *id;
	const char *s[NSTR];            /* NULL: absent or null */
	int64_t ts, lat, be_lat;
	int status, target, throttled;
	int inserted;
};

struct batch {
	struct tm_event *ev;
	size_t n;
	size_t *order;                  /* indexes sorted by (id, ts) */
	int64_t accepted;
};

static void
batch_free(struct batch *b)
{
	for (size_t i = 0; i < b->n; i++)
		json_object_put(b->ev[i].o);
	free(b->ev);
	free(b->order);
}

/* ---- checking ---- */

static int
hex32(const char *s)
{
	size_t i;

	for (i = 0; s[i] != '\0'; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return i == 32;
}

/* An integer member: 0 with *out, 1 when absent or null, -1 when of another type. */
static int
int_member(struct json_object *o, const char *key, int64_t *out)
{
	struct json_object *v;

	if (!json_object_object_get_ex(o, key, &v) || v == NULL)
		return 1;
	if (!json_object_is_type(v, json_type_int))
		return -1;
	*out = json_object_get_int64(v);
	return 0;
}

/*
 * Check one line and fill e (taking o).  NULL when good, else the reason
 * (static text, or written into why).
 */
static const char *
event_check(struct json_object *o, struct tm_event *e, int64_t now, char *why, size_t whylen)
{
	struct json_object *v;
	int64_t x;
	int rc;

	memset(e, 0, sizeof(*e));
	e->o = o;
	if (gh_body_str(o, "id", &e->id) != 0 || e->id == NULL || !hex32(e->id))
		return "id must be 32 lower-case hexadecimal characters";
	if (int_member(o, "timestamp", &e->ts) != 0)
		return "timestamp must be an integer (milliseconds since 1970)";
	if (e->ts < TS_MIN || e->ts > now + DAY_MS)
		return "timestamp is out of range";
	if (int_member(o, "proxyResponseCode", &x) != 0 || x < 100 || x > 599)
		return "proxyResponseCode must be an integer from 100 to 599";
	e->status = (int)x;
	x = 0;
	if ((rc = int_member(o, "targetResponseCode", &x)) < 0 || (rc == 0 && (x < 0 || x > 599)))
		return "targetResponseCode must be an integer from 0 to 599";
	e->target = (int)x;
	if (int_member(o, "responseLatency", &e->lat) != 0 || e->lat < 0 || e->lat > LAT_MAX)
		return "responseLatency must be an integer of 0 or more";
	if ((rc = int_member(o, "backendLatency", &e->be_lat)) < 0 ||
	    (rc == 0 && (e->be_lat < 0 || e->be_lat > LAT_MAX)))
		return "backendLatency must be an integer of 0 or more";
	if (json_object_object_get_ex(o, "throttled", &v) && v != NULL) {
		if (!json_object_is_type(v, json_type_boolean))
			return "throttled must be a boolean";
		e->throttled = json_object_get_boolean(v);
	}
	for (int i = 0; i < NSTR; i++) {
		const char *s;

		if (gh_body_str(o, fields[i].json, &s) < 0) {
			snprintf(why, whylen, "%s must be a string or null", fields[i].json);
			return why;
		}
		if (s == NULL || *s == '\0')
			continue;
		if (!gh_body_text_ok(s, fields[i].max, 0)) {
			snprintf(why, whylen, "%s must be at most %zu bytes of printable UTF-8", fields[i].json,
			    fields[i].max);
			return why;
		}
		if (i == F_COUNTRY && !(strlen(s) == 2 && s[0] >= 'A' && s[0] <= 'Z' && s[1] >= 'A' &&
		    s[1] <= 'Z'))
			return "country must be an ISO 3166 code of two capital letters";
		e->s[i] = s;
	}
	return NULL;
}

/*
 * Split body into lines and check each.  0 with b filled, else -1 with
 * the reply (400) left on c.
 */
static int
batch_parse(struct gh_call *c, struct batch *b)
{
	const char *p = c->body, *end = c->body + c->body_len;
	size_t cap = 0, line = 0;
	int64_t now;
	struct timespec ts;
	char why[200], desc[300];
	const char *bad = NULL;

	clock_gettime(CLOCK_REALTIME, &ts);
	now = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
	memset(b, 0, sizeof(*b));
	while (p < end && bad == NULL) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t len = nl != NULL ? (size_t)(nl - p) : (size_t)(end - p);
		struct json_object *o;
		const char *perr = NULL;

		line++;
		if (len > 0 && p[len - 1] == '\r')
			len--;
		if (b->n == cap) {
			struct tm_event *ne;

			cap = cap ? cap * 2 : 256;
			if ((ne = realloc(b->ev, cap * sizeof(*ne))) == NULL) {
				gh_reply_error(c, 503, "Service Unavailable", "Out of memory");
				batch_free(b);
				return -1;
			}
			b->ev = ne;
		}
		if (len == 0) {
			bad = "empty line";
		} else if ((o = gh_json_parse_object(p, len, &perr)) == NULL) {
			snprintf(why, sizeof(why), "not a JSON object (%s)", perr ? perr : "parse error");
			bad = why;
		} else if ((bad = event_check(o, &b->ev[b->n], now, why, sizeof(why))) != NULL) {
			json_object_put(o);
		} else {
			b->n++;
		}
		p = nl != NULL ? nl + 1 : end;
	}
	if (bad == NULL && b->n == 0)
		bad = "no events";
	if (bad != NULL) {
		snprintf(desc, sizeof(desc), "line %zu: %s", line, bad);
		gh_log_warn("events_refused", c->request_id, "gateway %s/%s/%s: batch refused whole: %s",
		    c->peer_id.role, c->peer_id.env, c->peer_id.node, desc);
		gh_reply_error(c, 400, "Bad Request", desc);
		TM_COUNT(batch_refused, 1);
		batch_free(b);
		return -1;
	}
	return 0;
}

/* ---- writing ---- */

/* qsort's context: the batch of this pool worker */
static __thread const struct batch *tls_batch;

static int
cmp_id_ts(const char *id, int64_t ts, const struct tm_event *e)
{
	int c = strcmp(id, e->id);

	if (c != 0)
		return c;
	return ts < e->ts ? -1 : ts > e->ts;
}

static int
order_cmp(const void *a, const void *b)
{
	const struct tm_event *x = &tls_batch->ev[*(const size_t *)a];
	const struct tm_event *y = &tls_batch->ev[*(const size_t *)b];

	return cmp_id_ts(x->id, x->ts, y);
}

/* Mark the first not yet inserted event (id, ts) as inserted. */
static void
mark_inserted(struct batch *b, const char *id, int64_t ts)
{
	size_t lo = 0, hi = b->n;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (cmp_id_ts(id, ts, &b->ev[b->order[mid]]) > 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (; lo < b->n && cmp_id_ts(id, ts, &b->ev[b->order[lo]]) == 0; lo++)
		if (!b->ev[b->order[lo]].inserted) {
			b->ev[b->order[lo]].inserted = 1;
			b->accepted++;
			return;
		}
}

static const char *
str_or(const char *s, const char *dflt)
{
	return s != NULL ? s : dflt;
}

static void
add_str(struct json_object *o, const char *k, const char *v)
{
	json_object_object_add(o, k, v != NULL ? json_object_new_string(v) : NULL);
}

static const char sql_insert[] =
	"INSERT INTO gh_analytics_events (id, ts, tenant, api_id, api_name, api_version, api_context,"
	" api_resource, api_method, app_id, app_name, app_owner, app_tenant, key_type, user_name, user_ip,"
	" country, user_agent, status, target_status, latency_ms, backend_latency_ms, error_code, throttled,"
	" correlation_id, gateway_node, environment)"
	" SELECT x.id, timestamptz 'epoch' + x.ts * interval '1 millisecond', coalesce(x.tenant, ''),"
	" coalesce(x.api_id, ''), x.api_name, x.api_version, x.api_context, x.api_resource, x.api_method,"
	" coalesce(x.app_id, ''), x.app_name, x.app_owner, coalesce(x.app_tenant, ''), x.key_type,"
	" x.user_name, x.user_ip, coalesce(x.country, ''), x.user_agent, x.status, x.target_status,"
	" x.latency_ms, x.backend_latency_ms, x.error_code, x.throttled, x.correlation_id, x.gateway_node,"
	" x.environment"
	" FROM jsonb_to_recordset($1::jsonb) AS x(id text, ts bigint, tenant text, api_id text,"
	" api_name text, api_version text, api_context text, api_resource text, api_method text,"
	" app_id text, app_name text, app_owner text, app_tenant text, key_type text, user_name text,"
	" user_ip text, country text, user_agent text, status int, target_status int, latency_ms int,"
	" backend_latency_ms int, error_code text, throttled boolean, correlation_id text,"
	" gateway_node text, environment text)"
	" ON CONFLICT DO NOTHING"
	" RETURNING id, (extract(epoch FROM ts) * 1000)::bigint";

static const char sql_rollup[] =
	"INSERT INTO gh_analytics_minute AS m (minute, tenant, api_id, app_id, status_class, country,"
	" app_tenant, app_owner, api_name, api_version, app_name, requests, throttled, latency_sum,"
	" latency_max, latency_hist)"
	" SELECT timestamptz 'epoch' + x.minute * interval '1 millisecond', x.tenant, x.api_id, x.app_id,"
	" x.status_class, x.country, x.app_tenant, x.app_owner, x.api_name, x.api_version, x.app_name,"
	" x.requests, x.throttled, x.latency_sum, x.latency_max,"
	" ARRAY(SELECT h.v::bigint FROM jsonb_array_elements_text(x.hist) WITH ORDINALITY AS h(v, i)"
	" ORDER BY h.i)"
	" FROM jsonb_to_recordset($1::jsonb) AS x(minute bigint, tenant text, api_id text, app_id text,"
	" status_class smallint, country text, app_tenant text, app_owner text, api_name text,"
	" api_version text, app_name text, requests bigint, throttled bigint, latency_sum bigint,"
	" latency_max int, hist jsonb)"
	" ON CONFLICT (minute, tenant, api_id, app_id, status_class, country) DO UPDATE SET"
	" requests = m.requests + EXCLUDED.requests,"
	" throttled = m.throttled + EXCLUDED.throttled,"
	" latency_sum = m.latency_sum + EXCLUDED.latency_sum,"
	" latency_max = greatest(m.latency_max, EXCLUDED.latency_max),"
	" latency_hist = ARRAY(SELECT coalesce(h.a, 0) + coalesce(h.b, 0)"
	" FROM unnest(m.latency_hist, EXCLUDED.latency_hist) WITH ORDINALITY AS h(a, b, i) ORDER BY h.i),"
	" app_tenant = EXCLUDED.app_tenant,"
	" app_owner = coalesce(EXCLUDED.app_owner, m.app_owner),"
	" api_name = coalesce(EXCLUDED.api_name, m.api_name),"
	" api_version = coalesce(EXCLUDED.api_version, m.api_version),"
	" app_name = coalesce(EXCLUDED.app_name, m.app_name)";

/* The events as the JSON array the insert reads. */
static char *
events_json(const struct batch *b)
{
	struct json_object *a = json_object_new_array();
	char *out;

	for (size_t i = 0; i < b->n; i++) {
		const struct tm_event *e = &b->ev[i];
		struct json_object *o = json_object_new_object();

		json_object_object_add(o, "id", json_object_new_string(e->id));
		json_object_object_add(o, "ts", json_object_new_int64(e->ts));
		for (int k = 0; k < NSTR; k++)
			if (e->s[k] != NULL)
				add_str(o, fields[k].col, e->s[k]);
		json_object_object_add(o, "status", json_object_new_int(e->status));
		json_object_object_add(o, "target_status", json_object_new_int(e->target));
		json_object_object_add(o, "latency_ms", json_object_new_int64(e->lat));
		json_object_object_add(o, "backend_latency_ms", json_object_new_int64(e->be_lat));
		json_object_object_add(o, "throttled", json_object_new_boolean(e->throttled));
		json_object_array_add(a, o);
	}
	out = strdup(json_object_to_json_string_ext(a, JSON_C_TO_STRING_PLAIN));
	json_object_put(a);
	return out;
}

/* Rollup key order: minute, tenant, API, application, status class, country. */
static int
rollup_cmp(const void *a, const void *b)
{
	const struct tm_event *x = &tls_batch->ev[*(const size_t *)a];
	const struct tm_event *y = &tls_batch->ev[*(const size_t *)b];
	int64_t mx = x->ts / MIN_MS, my = y->ts / MIN_MS;
	int c;

	if (mx != my)
		return mx < my ? -1 : 1;
	if ((c = strcmp(str_or(x->s[F_TENANT], ""), str_or(y->s[F_TENANT], ""))) != 0 ||
	    (c = strcmp(str_or(x->s[F_API_ID], ""), str_or(y->s[F_API_ID], ""))) != 0 ||
	    (c = strcmp(str_or(x->s[F_APP_ID], ""), str_or(y->s[F_APP_ID], ""))) != 0)
		return c;
	if (x->status / 100 != y->status / 100)
		return x->status / 100 < y->status / 100 ? -1 : 1;
	return strcmp(str_or(x->s[F_COUNTRY], ""), str_or(y->s[F_COUNTRY], ""));
}

/* The per-minute rollups of the newly inserted events (JSON array), NULL when none. */
static char *
rollups_json(struct batch *b)
{
	struct json_object *a = json_object_new_array();
	size_t n = 0, i = 0;
	char *out;

	for (size_t k = 0; k < b->n; k++)
		if (b->ev[k].inserted)
			b->order[n++] = k;
	if (n == 0) {
		json_object_put(a);
		return NULL;
	}
	tls_batch = b;
	qsort(b->order, n, sizeof(b->order[0]), rollup_cmp);
	while (i < n) {
		size_t fi = b->order[i];
		const struct tm_event *first = &b->ev[fi];
		int64_t hist[GH_AN_BUCKETS] = { 0 }, req = 0, thr = 0, sum = 0, max = 0;
		struct json_object *o = json_object_new_object(), *h = json_object_new_array();

		for (; i < n && rollup_cmp(&fi, &b->order[i]) == 0; i++) {
			const struct tm_event *e = &b->ev[b->order[i]];

			req++;
			thr += e->throttled;
			sum += e->lat;
			if (e->lat > max)
				max = e->lat;
			hist[gh_an_bucket(e->lat)]++;
		}
		json_object_object_add(o, "minute", json_object_new_int64(first->ts / MIN_MS * MIN_MS));
		add_str(o, "tenant", str_or(first->s[F_TENANT], ""));
		add_str(o, "api_id", str_or(first->s[F_API_ID], ""));
		add_str(o, "app_id", str_or(first->s[F_APP_ID], ""));
		json_object_object_add(o, "status_class", json_object_new_int(first->status / 100));
		add_str(o, "country", str_or(first->s[F_COUNTRY], ""));
		add_str(o, "app_tenant", str_or(first->s[F_APP_TENANT], ""));
		add_str(o, "app_owner", first->s[F_APP_OWNER]);
		add_str(o, "api_name", first->s[F_API_NAME]);
		add_str(o, "api_version", first->s[F_API_VERSION]);
		add_str(o, "app_name", first->s[F_APP_NAME]);
		json_object_object_add(o, "requests", json_object_new_int64(req));
		json_object_object_add(o, "throttled", json_object_new_int64(thr));
		json_object_object_add(o, "latency_sum", json_object_new_int64(sum));
		json_object_object_add(o, "latency_max", json_object_new_int64(max));
		for (int k = 0; k < GH_AN_BUCKETS; k++)
			json_object_array_add(h, json_object_new_int64(hist[k]));
		json_object_object_add(o, "hist", h);
		json_object_array_add(a, o);
	}
	out = strdup(json_object_to_json_string_ext(a, JSON_C_TO_STRING_PLAIN));
	json_object_put(a);
	return out;
}

/* The transaction: partitions, events, rollups.  Safe to run again (gh_pg_run_tx retries). */
static int
batch_tx(struct gh_pg *db, void *arg)
{
	struct batch *b = arg;
	int64_t days[64];
	size_t ndays = 0;
	char *events = NULL, *rollups = NULL;
	PGresult *res = NULL;
	int rc = -1;

	b->accepted = 0;
	for (size_t i = 0; i < b->n; i++) {
		int64_t d = b->ev[i].ts / DAY_MS;
		size_t k;

		b->ev[i].inserted = 0;
		for (k = 0; k < ndays && days[k] != d; k++)
			;
		if (k == ndays && ndays < sizeof(days) / sizeof(days[0]))
			days[ndays++] = d;
	}
	if (tm_partitions_make(db, days, ndays) != 0)
		goto out;
	if ((events = events_json(b)) == NULL)
		goto out;
	res = gh_pg_exec(db, sql_insert, 1, (const char *const[]){ events });
	if (res == NULL)
		goto out;
	for (int r = 0; r < gh_pg_nrows(res); r++) {
		int64_t ts;

		if (gh_pg_get_int64(res, r, 1, &ts) == 0 && gh_pg_get(res, r, 0) != NULL)
			mark_inserted(b, gh_pg_get(res, r, 0), ts);
	}
	PQclear(res);
	res = NULL;
	rollups = rollups_json(b);
	/* rollups_json reused order: sort it back for a retry of this body */
	tls_batch = b;
	for (size_t i = 0; i < b->n; i++)
		b->order[i] = i;
	qsort(b->order, b->n, sizeof(b->order[0]), order_cmp);
	if (rollups != NULL && gh_pg_cmd(db, sql_rollup, 1, (const char *const[]){ rollups }, NULL) != 0)
		goto out;
	rc = 0;
out:
	PQclear(res);
	free(events);
	free(rollups);
	return rc;
}

static void
events_work(struct gh_call *c, struct gh_pg *db)
{
	struct batch b;
	char body[96];
	int n;

	if (batch_parse(c, &b) != 0)
		return;
	b.order = malloc(b.n * sizeof(*b.order));
	if (b.order == NULL) {
		gh_reply_error(c, 503, "Service Unavailable", "Out of memory");
		goto out;
	}
	tls_batch = &b;
	for (size_t i = 0; i < b.n; i++)
		b.order[i] = i;
	qsort(b.order, b.n, sizeof(b.order[0]), order_cmp);
	if (gh_pg_run_tx(db, 0, batch_tx, &b) != 0) {
		gh_log_error("events_store", c->request_id, "a batch of %zu events from %s was not stored: %s %s",
		    b.n, c->peer_id.node, gh_pg_sqlstate(db), gh_pg_errmsg(db));
		gh_reply_error(c, 503, "Service Unavailable", "The analytics store is unavailable; send the batch again");
		goto out;
	}
	TM_COUNT(events, (uint64_t)b.accepted);
	TM_COUNT(duplicates, (uint64_t)((int64_t)b.n - b.accepted));
	n = snprintf(body, sizeof(body), "{\"accepted\":%lld,\"duplicates\":%lld}", (long long)b.accepted,
	    (long long)((int64_t)b.n - b.accepted));
	gh_reply_raw(c, 200, "application/json", body, (size_t)n);
out:
	batch_free(&b);
}

/* 1 when the request's media type is application/x-ndjson (parameters allowed). */
static int
ndjson(struct gh_http_req *req)
{
	const char *ct = gh_http_req_header(req, "content-type");
	const char *want = "application/x-ndjson";
	size_t n = strlen(want);

	if (ct == NULL || strncasecmp(ct, want, n) != 0)
		return 0;
	for (ct += n; *ct == ' ' || *ct == '\t'; ct++)
		;
	return *ct == '\0' || *ct == ';';
}

static void
events_route(struct gh_http_req *req, const struct gh_route_match *m, void *arg)
{
	(void)arg;
	if (!tm_peer_is_gateway(req)) {
		TM_COUNT(batch_refused, 1);
		return;
	}
	if (req->body_len > tmgr.max_batch_bytes) {
		gh_log_warn("events_refused", req->request_id, "gateway %s: batch of %zu bytes over %zu",
		    req->peer_id.node, req->body_len, tmgr.max_batch_bytes);
		TM_COUNT(batch_refused, 1);
		gh_http_respond_error(req, 413, "Payload Too Large",
		    "The batch is larger than trafficmanager.max_batch_bytes");
		return;
	}
	if (!ndjson(req)) {
		gh_log_warn("events_refused", req->request_id, "gateway %s: not application/x-ndjson",
		    req->peer_id.node);
		TM_COUNT(batch_refused, 1);
		gh_http_respond_error(req, 415, "Unsupported Media Type",
		    "A batch is application/x-ndjson: one JSON object per line");
		return;
	}
	gh_call_route_worker(req, m, (void *)events_work);
}

void
tm_events_routes(struct gh_router *r)
{
	gh_router_add(r, "POST", "/internal/analytics/v1/events", events_route, NULL);
}
