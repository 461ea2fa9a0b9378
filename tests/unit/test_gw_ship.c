/*
 * The gateway's analytics spool as the shipper relies on it: a worker's
 * event reaches its spool file (write(2), page cache) before a response
 * is written (the server's before_send hook, gw_analytics_worker_flush,
 * runs before every write to a client), per-worker file
 * names and their parsing, rotation of a worker's file, and the cost of
 * an event on the hot path (printed; a bound that holds under ASan).
 */
#include <dirent.h>
#include <event2/event.h>
#include <event2/thread.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "gateway/analytics.h"
#include "gateway/gw.h"
#include "th.h"


static char dir[] = "/tmp/gw-ship-test.XXXXXX";
static struct gw_worker W;
static long long size_at_resume = -1;

static long long
file_size(int slot, unsigned seq)
{
	char path[700];
	struct stat st;

	gw_spool_path(path, sizeof(path), dir, slot, seq);
	return stat(path, &st) == 0 ? (long long)st.st_size : -1;
}

static void
resume_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	gw_analytics_worker_flush(&W);          /* what the server does before writing */
	size_at_resume = file_size(1, 0);
}

static void
log_one(struct event *resume)
{
	struct gw_req r;

	memset(&r, 0, sizeof(r));
	r.w = &W;
	r.status = 200;
	if (resume != NULL)
		event_active(resume, EV_TIMEOUT, 0);
	gw_analytics_log(&r);
}

static void
request_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	log_one(arg);
}

static void
test_worker_spool(void)
{
	struct event *resume, *req;
	char path[700], line[4096];
	FILE *f;
	int slot = -1;
	unsigned seq = 9;

	TH_TEST("per-worker spool: the event is in the file before its response is written");
	TH_CHECK(mkdtemp(dir) != NULL);
	TH_CHECK_EQ_INT(gw_spool_open(dir), 0);
	W.id = 0;
	W.base = event_base_new();
	TH_CHECK_EQ_INT(gw_analytics_worker_init(&W), 0);
	TH_CHECK(W.analytics_ctx != NULL);
	TH_CHECK(gw_spool_is_active(1, 0));
	resume = event_new(W.base, -1, 0, resume_cb, NULL);
	req = event_new(W.base, -1, 0, request_cb, resume);
	event_active(req, EV_TIMEOUT, 0);
	event_base_loop(W.base, EVLOOP_NONBLOCK);
	event_base_loop(W.base, EVLOOP_NONBLOCK);
	TH_CHECK_MSG(size_at_resume > 0, "spool size when the response would be written: %lld", size_at_resume);
	gw_spool_path(path, sizeof(path), dir, 1, 0);
	f = fopen(path, "r");
	TH_CHECK(f != NULL && fgets(line, sizeof(line), f) != NULL);
	TH_CHECK(strstr(line, "\"proxyResponseCode\":200") != NULL);
	TH_CHECK(strstr(line, "\"applicationOwner\":null") != NULL);
	TH_CHECK(strstr(line, "\"applicationTenant\":null") != NULL);
	if (f != NULL)
		fclose(f);

	TH_TEST("spool file names");
	TH_CHECK(gw_spool_name_parse("spool-0-00000000.jsonl", &slot, &seq) == 0 && slot == 1 && seq == 0);
	TH_CHECK(gw_spool_name_parse("spool-12-00000007.jsonl", &slot, &seq) == 0 && slot == 13 && seq == 7);
	TH_CHECK(gw_spool_name_parse("spool-00000003.jsonl", &slot, &seq) == 0 && slot == 0 && seq == 3);
	TH_CHECK(gw_spool_name_parse("spool-1-3.jsonl", &slot, &seq) != 0);
	TH_CHECK(gw_spool_name_parse("cursor", &slot, &seq) != 0);
	TH_CHECK(gw_spool_name_parse("spool-00000003.jsonl.tmp", &slot, &seq) != 0);
	event_free(resume);
	event_free(req);
}

/* The event's text (hand-formatted): escapes, nulls, numbers and the optional members, as JSON. */
static void
test_event_text(void)
{
	struct gw_req r;
	char path[700], line[4096], last[4096];
	struct json_object *o, *v;
	FILE *f;

	TH_TEST("event text: escaped strings, nulls, numbers, errorCode and throttled");
	memset(&r, 0, sizeof(r));
	r.w = &W;
	r.status = 429;
	r.upstream_status = -1;
	snprintf(r.who.sub, sizeof(r.who.sub), "a\"b\\c\x01\x1f\xc3\xa9");
	snprintf(r.who.key_type, sizeof(r.who.key_type), "PRODUCTION");
	snprintf(r.country, sizeof(r.country), "DE");
	snprintf(r.error_code, sizeof(r.error_code), "900802");
	r.throttled = 1;
	gw_analytics_log(&r);
	gw_analytics_worker_flush(&W);
	gw_spool_path(path, sizeof(path), dir, 1, 0);
	last[0] = '\0';
	if ((f = fopen(path, "r")) != NULL) {
		while (fgets(line, sizeof(line), f) != NULL)
			memcpy(last, line, sizeof(line));
		fclose(f);
	}
	TH_CHECK(strncmp(last, "{\"id\":\"", 7) == 0);
	TH_CHECK(strstr(last, ",\"apiId\":null,\"apiName\":null,") != NULL);
	TH_CHECK(strstr(last, ",\"keyType\":\"PRODUCTION\",\"userName\":\"a\\\"b\\\\c\\u0001\\u001f\xc3\xa9\",") != NULL);
	TH_CHECK(strstr(last, ",\"country\":\"DE\",\"userAgent\":null,\"proxyResponseCode\":429,"
	    "\"targetResponseCode\":-1,\"responseLatency\":") != NULL);
	TH_CHECK(strstr(last, ",\"gatewayNode\":\"test-node\",\"environment\":\"Test\",\"timestamp\":") != NULL);
	TH_CHECK(strstr(last, ",\"errorCode\":\"900802\",\"throttled\":true}\n") != NULL);
	o = json_tokener_parse(last);
	TH_CHECK(o != NULL);
	TH_CHECK(o != NULL && json_object_object_get_ex(o, "userName", &v) &&
	    strcmp(json_object_get_string(v), "a\"b\\c\x01\x1f\xc3\xa9") == 0);
	TH_CHECK(o != NULL && json_object_object_get_ex(o, "targetResponseCode", &v) &&
	    json_object_get_int(v) == -1);
	json_object_put(o);
}

static void
test_cost(void)
{
	struct timespec a, b;
	int n = 100000;
	double ns;
	long long before = file_size(1, 0);
	uint64_t ev0 = gw.metrics.spool_events;

	TH_TEST("cost of an event on the hot path (format, buffer, one write per 32 requests)");
	clock_gettime(CLOCK_MONOTONIC, &a);
	for (int i = 0; i < n; i++) {
		log_one(NULL);
		if (i % 32 == 31)
			event_base_loop(W.base, EVLOOP_NONBLOCK);
	}
	event_base_loop(W.base, EVLOOP_NONBLOCK);
	clock_gettime(CLOCK_MONOTONIC, &b);
	ns = ((double)(b.tv_sec - a.tv_sec) * 1e9 + (double)(b.tv_nsec - a.tv_nsec)) / n;
	printf("bench: spool_event_ns %.0f ns\n", ns);
	TH_CHECK_MSG(ns < 20000, "%.0f ns per event", ns);
	TH_CHECK(gw.metrics.spool_events - ev0 == (uint64_t)n);
	TH_CHECK(file_size(1, 0) > before);
}

static void
test_rotation(void)
{
	unsigned last = 0;
	int ok = 1;

	TH_TEST("a worker's files rotate at 8 MiB on line boundaries; only the last one is written");
	while (file_size(1, last + 1) >= 0)
		last++;
	TH_CHECK_MSG(last >= 2, "%u rotations after the cost test", last);
	for (unsigned k = 0; k < last; k++) {
		long long sz = file_size(1, k);
		char path[700];
		FILE *f;
		int ch = 0;

		ok &= sz >= (8 << 20) && sz < (8 << 20) + 4096 && !gw_spool_is_active(1, k);
		gw_spool_path(path, sizeof(path), dir, 1, k);
		if ((f = fopen(path, "r")) != NULL) {
			fseek(f, -1, SEEK_END);
			ch = fgetc(f);
			fclose(f);
		}
		ok &= ch == '\n';
	}
	TH_CHECK(ok);
	TH_CHECK(gw_spool_is_active(1, last));
	gw_analytics_worker_free(&W);
	TH_CHECK(!gw_spool_is_active(1, last));
	gw_spool_close();
	event_base_free(W.base);
}

int
main(void)
{
	char cmd[600];

	evthread_use_pthreads();
	snprintf(gw.node, sizeof(gw.node), "test-node");
	gw.env = "Test";
	test_worker_spool();
	test_event_text();
	test_cost();
	test_rotation();
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", dir);
	TH_END();
}
