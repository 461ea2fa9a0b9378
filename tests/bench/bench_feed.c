/*
 * bench_feed CONNINFO FEED_URL CA CERT KEY ENVIRONMENT COUNT: feed
 * propagation.  A poller thread long-polls FEED_URL's events (one
 * kept-alive TLS connection with the gateway certificate CERT/KEY) and
 * stamps each event's arrival; the main thread commits COUNT changes on
 * its own PostgreSQL connection, each with its event in the same
 * transaction as gh_outbox_append writes it (a subscription, a token
 * revocation, a deployment, in turn), stamps the moment COMMIT returned,
 * waits for the event to arrive, then pauses 1-4 ms so that the next
 * change finds the poll waiting.  Prints "bench: feed_p50_ms", "bench:
 * feed_p99_ms" and "ratio: feed_p99_ms V target<=50" (commit-return to
 * arrival, one process, one monotonic clock).
 */
#include <event2/event.h>
#include <event2/thread.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/gh_http.h"
#include "core/gh_proc.h"
#include "core/gh_tls.h"
#include "pg/gh_pg.h"

#define MAX_CHANGES 100000

static struct {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int64_t first_id;               /* ids before it are ignored */
	int64_t count;
	double *arrived;                /* ms, index id - first_id; 0 = not yet */
	int64_t after;
	int failed, stop;
	const char *url, *env;
	struct gh_httpc *http;
	struct event_base *base;
} st;

static double
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

static void poll_next(void);

static void
on_events(struct gh_httpc_resp *r, void *arg)
{
	struct json_object *o, *evs, *last;
	double t = now_ms();

	(void)arg;
	if (r->error != GH_HTTPC_OK || r->status != 200 || r->body == NULL) {
		fprintf(stderr, "bench_feed: poll failed: %s %d %s\n", r->errstr ? r->errstr : "",
		    r->status, r->body ? (const char *)r->body : "");
		pthread_mutex_lock(&st.mu);
		st.failed = 1;
		pthread_cond_broadcast(&st.cv);
		pthread_mutex_unlock(&st.mu);
		event_base_loopbreak(st.base);
		return;
	}
	o = json_tokener_parse((const char *)r->body);
	pthread_mutex_lock(&st.mu);
	if (o != NULL && json_object_object_get_ex(o, "events", &evs) &&
	    json_object_object_get_ex(o, "last", &last)) {
		for (size_t i = 0; i < json_object_array_length(evs); i++) {
			struct json_object *id = NULL;
			int64_t v;

			json_object_object_get_ex(json_object_array_get_idx(evs, i), "id", &id);
			v = json_object_get_int64(id) - st.first_id;
			if (v >= 0 && v < st.count && st.arrived[v] == 0)
				st.arrived[v] = t;
		}
		st.after = json_object_get_int64(last);
	}
	pthread_cond_broadcast(&st.cv);
	pthread_mutex_unlock(&st.mu);
	json_object_put(o);
	if (st.stop)
		event_base_loopbreak(st.base);
	else
		poll_next();
}

static void
poll_next(void)
{
	char url[1024];

	snprintf(url, sizeof(url), "%s/internal/data/v1/events?environment=%s&after=%" PRId64 "&timeout=2000",
	    st.url, st.env, st.after);
	if (gh_httpc_request(st.http, "GET", url, NULL, 0, NULL, 0, on_events, NULL) != 0) {
		st.failed = 1;
		event_base_loopbreak(st.base);
	}
}

static void *
poller(void *arg)
{
	(void)arg;
	poll_next();
	event_base_dispatch(st.base);
	return NULL;
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* One change of kind i % 3 with its event, committed; the event id into *id.  0 or -1. */
static int
change(struct gh_pg *db, int64_t i, const char *env, int64_t *id)
{
	char n[24], envs[128];
	const char *p[2] = { gh_pg_i64(n, i), env };
	const char *kind;

	snprintf(envs, sizeof(envs), "[\"%s\"]", env);
	if (gh_pg_tx_begin(db, 0) != 0)
		return -1;
	switch (i % 3) {
	case 0:
		kind = "subscription.created";
		if (gh_pg_cmd(db, "INSERT INTO gh_applications (id, tenant, name, owner) VALUES "
		    "('bench-app-' || $1, 'carbon.super', 'BenchApp' || $1, 'admin')", 1, p, NULL) != 0 ||
		    gh_pg_cmd(db, "INSERT INTO gh_subscriptions (id, api_id, app_id, tenant, api_tenant, tier, "
		    "subscriber) VALUES ('bench-sub-' || $1, 'bench-api-' || ($1::bigint % 20), 'bench-app-' || $1, "
		    "'carbon.super', 'carbon.super', 'Gold', 'admin')", 1, p, NULL) != 0)
			goto fail;
		break;
	case 1:
		kind = "token.revoked";
		if (gh_pg_cmd(db, "INSERT INTO gh_revoked_tokens (jti, tenant, expires_at) VALUES "
		    "('bench-jti-' || $1, 'carbon.super', now() + interval '1 hour')", 1, p, NULL) != 0)
			goto fail;
		break;
	default:
		kind = "api.deployed";
		if (gh_pg_cmd(db, "INSERT INTO gh_deployments (api_id, environment, revision_id, vhost) VALUES "
		    "('bench-api-' || ($1::bigint % 20), $2, 'bench-rev-' || ($1::bigint % 20), 'localhost') "
		    "ON CONFLICT (api_id, environment) DO UPDATE SET deployed_at = now()", 2, p, NULL) != 0)
			goto fail;
		break;
	}
	if (gh_outbox_append_env(db, "carbon.super", kind, "{\"bench\": true}", i % 3 == 2 ? envs : NULL, id) != 0 ||
	    gh_pg_tx_commit(db) != 0)
		goto fail;
	return 0;
fail:
	fprintf(stderr, "bench_feed: %s: %s\n", kind, gh_pg_errmsg(db));
	gh_pg_tx_rollback(db);
	return -1;
}

int
main(int argc, char **argv)
{
	struct gh_httpc_cfg cfg = { .timeout_ms = 10000 };
	struct gh_pg *db;
	pthread_t th;
	double *commit, *lat;
	char err[256];
	int64_t count, maxid = 0, id;
	size_t n = 0;
	SSL_CTX *ssl;

	if (argc != 8) {
		fprintf(stderr, "usage: bench_feed CONNINFO FEED_URL CA CERT KEY ENVIRONMENT COUNT\n");
		return 2;
	}
	count = strtoll(argv[7], NULL, 10);
	if (count < 1 || count > MAX_CHANGES)
		return 2;
	gh_proc_ignore_sigpipe();
	evthread_use_pthreads();
	db = gh_pg_connect(argv[1], err, sizeof(err));
	ssl = gh_tls_client_ctx(argv[3], argv[4], argv[5], err, sizeof(err));
	if (db == NULL || ssl == NULL) {
		fprintf(stderr, "bench_feed: %s\n", err);
		return 1;
	}
	/* The tables the changes refer to. */
	if (gh_pg_cmd(db, "INSERT INTO gh_apis (id, tenant, name, context, version, provider, definition) "
	    "SELECT 'bench-api-' || i, 'carbon.super', 'Bench' || i, '/bench' || i, '1.0', 'admin', '{}' "
	    "FROM generate_series(0, 19) i ON CONFLICT DO NOTHING", 0, NULL, NULL) != 0 ||
	    gh_pg_cmd(db, "INSERT INTO gh_api_revisions (id, api_id, number, definition) "
	    "SELECT 'bench-rev-' || i, 'bench-api-' || i, 1, '{}' FROM generate_series(0, 19) i "
	    "ON CONFLICT DO NOTHING", 0, NULL, NULL) != 0 ||
	    gh_pg_query_int64(db, "SELECT coalesce(max(id), 0) FROM gh_events", 0, NULL, &maxid) < 0) {
		fprintf(stderr, "bench_feed: set-up: %s\n", gh_pg_errmsg(db));
		return 1;
	}
	commit = calloc((size_t)count, sizeof(double));
	lat = calloc((size_t)count, sizeof(double));
	st.arrived = calloc((size_t)count * 2 + 16, sizeof(double));
	pthread_mutex_init(&st.mu, NULL);
	pthread_cond_init(&st.cv, NULL);
	st.first_id = maxid + 1;
	st.count = count * 2 + 16;
	st.after = maxid;
	st.url = argv[2];
	st.env = argv[6];
	st.base = event_base_new();
	cfg.ssl = ssl;
	st.http = gh_httpc_new(st.base, &cfg);
	if (commit == NULL || lat == NULL || st.arrived == NULL || st.base == NULL || st.http == NULL)
		return 1;
	pthread_create(&th, NULL, poller, NULL);
	usleep(200000);
	for (int64_t i = 0; i < count; i++) {
		struct timespec deadline;
		double t;

		if (change(db, i, argv[6], &id) != 0)
			return 1;
		t = now_ms();
		if (id - st.first_id < 0 || id - st.first_id >= st.count) {
			fprintf(stderr, "bench_feed: event id %" PRId64 " out of range (another writer?)\n", id);
			return 1;
		}
		commit[n] = t;
		clock_gettime(CLOCK_REALTIME, &deadline);
		deadline.tv_sec += 5;
		pthread_mutex_lock(&st.mu);
		while (st.arrived[id - st.first_id] == 0 && !st.failed)
			if (pthread_cond_timedwait(&st.cv, &st.mu, &deadline) != 0)
				break;
		lat[n] = st.arrived[id - st.first_id] - t;
		if (st.arrived[id - st.first_id] == 0 || st.failed) {
			pthread_mutex_unlock(&st.mu);
			fprintf(stderr, "bench_feed: event %" PRId64 " never arrived\n", id);
			return 1;
		}
		pthread_mutex_unlock(&st.mu);
		n++;
		usleep(1000 + (useconds_t)(rand() % 3000));
	}
	st.stop = 1;
	pthread_join(th, NULL);
	qsort(lat, n, sizeof(double), cmp_double);
	printf("# %zu changes (subscriptions, revocations, deployments) committed and received\n", n);
	printf("# min %.2f ms, max %.2f ms\n", lat[0], lat[n - 1]);
	printf("bench: feed_p50_ms %.2f ms\n", lat[n / 2]);
	printf("bench: feed_p99_ms %.2f ms\n", lat[(n * 99) / 100 < n ? (n * 99) / 100 : n - 1]);
	printf("ratio: feed_p99_ms %.2f target<=50\n", lat[(n * 99) / 100 < n ? (n * 99) / 100 : n - 1]);
	gh_httpc_free(st.http);
	event_base_free(st.base);
	SSL_CTX_free(ssl);
	gh_pg_close(db);
	free(commit);
	free(lat);
	free(st.arrived);
	return 0;
}
