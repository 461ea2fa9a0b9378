/*
 * bench_tmsync: simulated gateway processes against the traffic manager's
 * throttle sync (gateway/trafficmanager/PROTOCOL.md), for
 * tests/bench/trafficmanager.sh.  G gateways, each its own session and
 * kept-alive mutual-TLS connection, name K shared keys in their first sync
 * and then every interval send a delta for every one of the K keys (the
 * worst case: every key active on every gateway), decoding each answer.
 * One thread, one event loop.  Prints one line:
 * "tmsync: gateways=G keys=K interval_ms=I seconds=S syncs=N errors=N late=N
 * counts=N bytes_out=N bytes_in=N"; exit 0 when every sync was answered 200.
 */
#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/gh_http.h"
#include "core/gh_tls.h"
#include "gateway/tmsync_wire.h"

struct sim {
	struct gh_httpc *http;
	uint64_t instance, seq;
	int inflight, named;
	struct ts_buf body;
};

static struct {
	const char *url;
	int ngw, nkeys;
	struct sim *g;
	struct ts_def *defs;
	struct ts_delta *deltas;
	char (*keys)[48];
	uint64_t syncs, errors, late, counts, out, in;
	struct event_base *base;
	int stopping;
} B;

static void
on_answer(struct gh_httpc_resp *res, void *arg)
{
	struct sim *s = arg;
	struct ts_resp r;
	char err[160];

	s->inflight = 0;
	if (res->error != GH_HTTPC_OK || res->status != 200 ||
	    ts_resp_decode(res->body, res->body_len, &r, err, sizeof(err)) != 0) {
		if (B.errors++ < 5)
			fprintf(stderr, "bench_tmsync: sync failed: %s %d %.200s\n",
			    res->errstr ? res->errstr : "", res->status, res->body ? (char *)res->body : "");
		return;
	}
	B.syncs++;
	B.counts += r.ncounts;
	B.in += res->body_len;
	s->named = 1;
	ts_resp_clear(&r);
}

static void
sync_one(struct sim *s, int tick)
{
	struct gh_http_header h[] = { { "Content-Type", "application/octet-stream" } };
	struct ts_req req;

	if (s->inflight) {
		B.late++;
		return;
	}
	memset(&req, 0, sizeof(req));
	req.instance = s->instance;
	req.epoch = 1;
	req.seq = ++s->seq;
	snprintf(req.env, sizeof(req.env), "Default");
	if (!s->named) {
		req.flags = TS_F_NEW;
		req.defs = B.defs;
		req.ndefs = (size_t)B.nkeys;
		s->seq = req.seq = 1;
	}
	for (int i = 0; i < B.nkeys; i++)
		B.deltas[i].delta = 1 + (uint64_t)((i + tick) % 3);
	req.deltas = B.deltas;
	req.ndeltas = (size_t)B.nkeys;
	s->body.len = 0;
	if (ts_req_encode(&s->body, &req) != 0) {
		B.errors++;
		return;
	}
	B.out += s->body.len;
	if (gh_httpc_request(s->http, "POST", B.url, h, 1, s->body.p, s->body.len, on_answer, s) != 0) {
		B.errors++;
		return;
	}
	s->inflight = 1;
}

static void
on_tick(evutil_socket_t fd, short what, void *arg)
{
	static int tick;

	(void)fd;
	(void)what;
	(void)arg;
	tick++;
	for (int i = 0; i < B.ngw; i++)
		sync_one(&B.g[i], tick);
}

static void
on_end(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	event_base_loopbreak(B.base);
}

static void
usage(void)
{
	fprintf(stderr, "usage: bench_tmsync -u SYNC_URL -a CA -c CERT -k KEY [-g GATEWAYS] [-n KEYS] "
	    "[-i INTERVAL_MS] [-d SECONDS]\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	const char *ca = NULL, *crt = NULL, *key = NULL;
	int interval = 100, secs = 10, opt;
	char err[256];
	SSL_CTX *tls;
	struct event *tick, *end;
	struct timeval tv, te;

	B.ngw = 8;
	B.nkeys = 10000;
	while ((opt = getopt(argc, argv, "u:a:c:k:g:n:i:d:")) != -1) {
		switch (opt) {
		case 'u': B.url = optarg; break;
		case 'a': ca = optarg; break;
		case 'c': crt = optarg; break;
		case 'k': key = optarg; break;
		case 'g': B.ngw = atoi(optarg); break;
		case 'n': B.nkeys = atoi(optarg); break;
		case 'i': interval = atoi(optarg); break;
		case 'd': secs = atoi(optarg); break;
		default: usage();
		}
	}
	if (B.url == NULL || ca == NULL || crt == NULL || key == NULL || B.ngw < 1 || B.nkeys < 1 ||
	    B.nkeys > TS_MAX_KEYS || interval < 1 || secs < 1)
		usage();
	tls = gh_tls_client_ctx(ca, crt, key, err, sizeof(err));
	if (tls == NULL) {
		fprintf(stderr, "bench_tmsync: TLS: %s\n", err);
		return 1;
	}
	B.base = event_base_new();
	B.g = calloc((size_t)B.ngw, sizeof(*B.g));
	B.defs = calloc((size_t)B.nkeys, sizeof(*B.defs));
	B.deltas = calloc((size_t)B.nkeys, sizeof(*B.deltas));
	B.keys = calloc((size_t)B.nkeys, sizeof(*B.keys));
	if (B.base == NULL || B.g == NULL || B.defs == NULL || B.deltas == NULL || B.keys == NULL)
		return 1;
	for (int i = 0; i < B.nkeys; i++) {
		snprintf(B.keys[i], sizeof(B.keys[i]), "subscription|bench-sub-%06d||", i);
		B.defs[i] = (struct ts_def){ .id = (uint32_t)i, .window_ms = 60000, .limit = 1000,
		    .key = B.keys[i], .key_len = strlen(B.keys[i]) };
		B.deltas[i].id = (uint32_t)i;
	}
	srand((unsigned)time(NULL) ^ (unsigned)getpid());
	for (int i = 0; i < B.ngw; i++) {
		B.g[i].instance = ((uint64_t)rand() << 32) ^ (uint64_t)rand() ^ (uint64_t)i;
		B.g[i].http = gh_httpc_new(B.base, &(struct gh_httpc_cfg){ .ssl = tls, .timeout_ms = 5000,
		    .max_idle_per_host = 1 });
		if (B.g[i].http == NULL)
			return 1;
	}
	tick = event_new(B.base, -1, EV_PERSIST, on_tick, NULL);
	end = evtimer_new(B.base, on_end, NULL);
	tv.tv_sec = interval / 1000;
	tv.tv_usec = (interval % 1000) * 1000;
	te.tv_sec = secs;
	te.tv_usec = 0;
	event_add(tick, &tv);
	event_add(end, &te);
	on_tick(-1, 0, NULL);
	event_base_dispatch(B.base);
	printf("tmsync: gateways=%d keys=%d interval_ms=%d seconds=%d syncs=%llu errors=%llu late=%llu "
	    "counts=%llu bytes_out=%llu bytes_in=%llu\n", B.ngw, B.nkeys, interval, secs,
	    (unsigned long long)B.syncs, (unsigned long long)B.errors, (unsigned long long)B.late,
	    (unsigned long long)B.counts, (unsigned long long)B.out, (unsigned long long)B.in);
	event_free(tick);
	event_free(end);
	for (int i = 0; i < B.ngw; i++) {
		gh_httpc_free(B.g[i].http);
		ts_buf_free(&B.g[i].body);
	}
	event_base_free(B.base);
	SSL_CTX_free(tls);
	free(B.g);
	free(B.defs);
	free(B.deltas);
	free(B.keys);
	return B.errors == 0 && B.syncs > 0 ? 0 : 1;
}
