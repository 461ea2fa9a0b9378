/*
 * Unit tests of the throttle sync: the wire codec (round trips of the
 * request and the answer, every malformed case refused) and the counters'
 * cluster side in throttle.c (admission against the cluster-wide count
 * plus this node's since, this node's share, collect and apply, burst
 * control kept local).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gateway/throttle.h"
#include "gateway/tmsync_wire.h"
#include "th.h"

static int
decode_fails(const unsigned char *p, size_t n)
{
	struct ts_req r;
	char err[160];

	if (ts_req_decode(p, n, &r, err, sizeof(err)) == 0) {
		ts_req_clear(&r);
		return 0;
	}
	return err[0] != '\0';
}

/* A valid header (magic, version, flags, instance, epoch 1, seq 1, env "Default") into b. */
static void
head(struct ts_buf *b, unsigned flags)
{
	static const unsigned char h[] = { 'G', 'H', 'T', 'S', 1, 0, 1, 2, 3, 4, 5, 6, 7, 8 };

	ts_put_bytes(b, h, sizeof(h));
	b->p[5] = (unsigned char)flags;
	ts_put_varint(b, 1);
	ts_put_varint(b, 1);
	ts_put_varint(b, 7);
	ts_put_bytes(b, "Default", 7);
}

static void
test_varint(void)
{
	struct ts_buf b = { 0 };
	const unsigned char *p;
	uint64_t v, vals[] = { 0, 1, 127, 128, 300, 16383, 16384, (1ULL << 32) + 5, UINT64_MAX };
	unsigned char over[11];

	TH_TEST("varint");
	for (size_t i = 0; i < sizeof(vals) / sizeof(vals[0]); i++)
		ts_put_varint(&b, vals[i]);
	p = b.p;
	for (size_t i = 0; i < sizeof(vals) / sizeof(vals[0]); i++) {
		TH_CHECK(ts_get_varint(&p, b.p + b.len, &v) == 0);
		TH_CHECK(v == vals[i]);
	}
	TH_CHECK(p == b.p + b.len);
	TH_CHECK(ts_get_varint(&p, b.p + b.len, &v) == -1);
	/* 11 bytes of continuation; and a 10th byte carrying more than bit 63 */
	memset(over, 0xff, sizeof(over));
	p = over;
	TH_CHECK(ts_get_varint(&p, over + sizeof(over), &v) == -1);
	over[9] = 0x02;
	p = over;
	TH_CHECK(ts_get_varint(&p, over + 10, &v) == -1);
	over[9] = 0x01;
	p = over;
	TH_CHECK(ts_get_varint(&p, over + 10, &v) == 0 && v == UINT64_MAX);
	ts_buf_free(&b);
}

static void
test_req_roundtrip(void)
{
	struct ts_def defs[3] = {
		{ .id = 5, .window_ms = 6000, .limit = 60, .key = "subscription|abc||", .key_len = 18 },
		{ .id = 6, .window_ms = 60000, .limit = 1000, .key = "application|app|dev|", .key_len = 20 },
		{ .id = 7, .window_ms = 1, .limit = 0, .key = "x", .key_len = 1 },
	};
	struct ts_delta deltas[2] = { { 5, 3 }, { 2, TS_MAX_DELTA } };
	struct ts_req in = { .flags = TS_F_NEW, .instance = 0x0102030405060708ULL, .epoch = 9, .seq = 300,
	    .env = "Default", .ndefs = 3, .ndeltas = 2, .defs = defs, .deltas = deltas }, out;
	struct ts_buf b = { 0 };
	char err[160];

	TH_TEST("request round trip");
	TH_CHECK(ts_req_encode(&b, &in) == 0);
	TH_CHECK(memcmp(b.p, "GHTS", 4) == 0);
	TH_CHECK(ts_req_decode(b.p, b.len, &out, err, sizeof(err)) == 0);
	TH_CHECK_EQ_INT(out.flags, TS_F_NEW);
	TH_CHECK(out.instance == in.instance);
	TH_CHECK_EQ_INT(out.epoch, 9);
	TH_CHECK_EQ_INT(out.seq, 300);
	TH_CHECK_EQ_STR(out.env, "Default");
	TH_CHECK_EQ_INT(out.ndefs, 3);
	TH_CHECK_EQ_INT(out.ndeltas, 2);
	for (size_t i = 0; i < 3 && out.ndefs == 3; i++) {
		TH_CHECK_EQ_INT(out.defs[i].id, defs[i].id);
		TH_CHECK_EQ_INT(out.defs[i].window_ms, defs[i].window_ms);
		TH_CHECK_EQ_INT(out.defs[i].limit, defs[i].limit);
		TH_CHECK(out.defs[i].key_len == defs[i].key_len &&
		    memcmp(out.defs[i].key, defs[i].key, defs[i].key_len) == 0);
	}
	TH_CHECK(out.ndeltas == 2 && out.deltas[1].id == 2 && out.deltas[1].delta == TS_MAX_DELTA);
	ts_req_clear(&out);
	/* every strict prefix is refused */
	for (size_t n = 0; n < b.len; n++)
		TH_CHECK_MSG(decode_fails(b.p, n), "prefix of %zu bytes accepted", n);
	/* a trailing byte too */
	ts_put_bytes(&b, "", 1);
	TH_CHECK(decode_fails(b.p, b.len));
	ts_buf_free(&b);
	/* an empty batch (a heartbeat) */
	memset(&in, 0, sizeof(in));
	snprintf(in.env, sizeof(in.env), "e");
	TH_CHECK(ts_req_encode(&b, &in) == 0);
	TH_CHECK(ts_req_decode(b.p, b.len, &out, err, sizeof(err)) == 0 && out.ndefs == 0 && out.ndeltas == 0);
	ts_req_clear(&out);
	ts_buf_free(&b);
	/* the encoder refuses what the decoder would */
	in.ndefs = 1;
	in.defs = defs;
	defs[0].key_len = TS_MAX_KEY + 1;
	TH_CHECK(ts_req_encode(&b, &in) == -1);
	ts_buf_free(&b);
	in.env[0] = '\0';
	TH_CHECK(ts_req_encode(&b, &in) == -1);
	ts_buf_free(&b);
}

static void
test_req_malformed(void)
{
	struct ts_buf b = { 0 };
	char key[TS_MAX_KEY + 2];

	TH_TEST("malformed requests");
	TH_CHECK(decode_fails((const unsigned char *)"", 0));
	TH_CHECK(decode_fails((const unsigned char *)"XXXS\1\0\0\0\0\0\0\0\0\0\0\0\1e\0\0", 20));
	TH_CHECK(decode_fails((const unsigned char *)"GHTS\2\0\0\0\0\0\0\0\0\0\0\0\1e\0\0", 20));
	TH_CHECK(decode_fails((const unsigned char *)"GHTS\1\x80\0\0\0\0\0\0\0\0\0\0\1e\0\0", 20));
	TH_CHECK(!decode_fails((const unsigned char *)"GHTS\1\0\0\0\0\0\0\0\0\0\0\0\1e\0\0", 20));
	/* environment: empty, too long */
	head(&b, 0);
	b.len -= 8;
	ts_put_varint(&b, 0);
	ts_put_varint(&b, 0);
	ts_put_varint(&b, 0);
	TH_CHECK(decode_fails(b.p, b.len));
	b.len = 0;
	head(&b, 0);
	b.len -= 8;
	ts_put_varint(&b, TS_MAX_ENV + 1);
	memset(key, 'e', sizeof(key));
	ts_put_bytes(&b, key, TS_MAX_ENV + 1);
	ts_put_varint(&b, 0);
	ts_put_varint(&b, 0);
	TH_CHECK(decode_fails(b.p, b.len));
	/* a key too long, empty, with NUL; a window of 0; ids out of sequence */
	for (int c = 0; c < 6; c++) {
		b.len = 0;
		head(&b, TS_F_NEW);
		ts_put_varint(&b, 2);
		ts_put_varint(&b, 0);
		ts_put_varint(&b, c == 3 ? 0 : 1000);
		ts_put_varint(&b, c == 5 ? (uint64_t)TS_MAX_LIMIT + 1 : 10);
		ts_put_varint(&b, c == 0 ? TS_MAX_KEY + 1 : c == 1 ? 0 : 3);
		if (c == 0)
			ts_put_bytes(&b, key, TS_MAX_KEY + 1);
		else if (c == 2)
			ts_put_bytes(&b, "a\0b", 3);
		else if (c != 1)
			ts_put_bytes(&b, "abc", 3);
		ts_put_varint(&b, c == 4 ? 5 : 1);
		ts_put_varint(&b, 1000);
		ts_put_varint(&b, 10);
		ts_put_varint(&b, 1);
		ts_put_bytes(&b, "d", 1);
		ts_put_varint(&b, 0);
		TH_CHECK_MSG(decode_fails(b.p, b.len), "case %d accepted", c);
	}
	/* the largest key passes */
	b.len = 0;
	head(&b, TS_F_NEW);
	ts_put_varint(&b, 1);
	ts_put_varint(&b, 0);
	ts_put_varint(&b, 1000);
	ts_put_varint(&b, 10);
	ts_put_varint(&b, TS_MAX_KEY);
	ts_put_bytes(&b, key, TS_MAX_KEY);
	ts_put_varint(&b, 0);
	TH_CHECK(!decode_fails(b.p, b.len));
	/* huge counts, an id out of range, a varint overflow, a count larger than the body */
	for (int c = 0; c < 4; c++) {
		static const unsigned char over[] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f };

		b.len = 0;
		head(&b, 0);
		ts_put_varint(&b, 0);
		ts_put_varint(&b, c == 3 ? 1000000 : 1);
		ts_put_varint(&b, c == 1 ? TS_MAX_KEYS : 0);
		if (c == 2)
			ts_put_bytes(&b, over, sizeof(over));
		else
			ts_put_varint(&b, c == 0 ? TS_MAX_DELTA + 1 : 1);
		TH_CHECK_MSG(decode_fails(b.p, b.len), "case %d accepted", c);
	}
	ts_buf_free(&b);
}

static void
test_resp(void)
{
	struct ts_count c[3] = { { 0, 16 * 60 }, { 9, 0 }, { 100000, 12345 } };
	struct ts_resp in = { .flags = TS_F_ALL, .gateways = 3, .ncounts = 3, .counts = c }, out;
	struct ts_buf b = { 0 };
	char err[160];

	TH_TEST("answer round trip");
	TH_CHECK(ts_resp_encode(&b, &in) == 0);
	TH_CHECK(ts_resp_decode(b.p, b.len, &out, err, sizeof(err)) == 0);
	TH_CHECK_EQ_INT(out.flags, TS_F_ALL);
	TH_CHECK_EQ_INT(out.gateways, 3);
	TH_CHECK(out.ncounts == 3 && out.counts[2].id == 100000 && out.counts[2].count16 == 12345 &&
	    out.counts[0].count16 == 960);
	ts_resp_clear(&out);
	for (size_t n = 0; n < b.len; n++) {
		TH_CHECK(ts_resp_decode(b.p, n, &out, err, sizeof(err)) == -1);
		ts_resp_clear(&out);
	}
	ts_put_bytes(&b, "x", 1);
	TH_CHECK(ts_resp_decode(b.p, b.len, &out, err, sizeof(err)) == -1);
	ts_buf_free(&b);
}

struct seen {
	int n, news;
	int64_t sum;
	uint32_t next;
};

static uint32_t
visit(void *arg, uint32_t tid, const char *key, int64_t window_ms, int64_t limit, int64_t delta,
    int64_t *global16)
{
	struct seen *s = arg;

	(void)key;
	(void)window_ms;
	(void)limit;
	s->n++;
	s->sum += delta;
	if (tid == 0) {
		s->news++;
		*global16 = 0;
		return ++s->next;
	}
	return tid;
}

static struct gw_rl_limit
lim(const char *key, int64_t count, int64_t window, int local)
{
	struct gw_rl_limit l;

	memset(&l, 0, sizeof(l));
	l.level = "subscription";
	snprintf(l.key, sizeof(l.key), "%s", key);
	l.count = count;
	l.window_ms = window;
	l.local = local;
	return l;
}

static int
take_n(struct gw_rl_limit *l, size_t nl, int n, int64_t now)
{
	struct gw_rl_verdict v;
	int ok = 0;

	for (int i = 0; i < n; i++)
		if (!gw_rl_take(l, nl, now, &v))
			ok++;
	return ok;
}

static void
test_cluster(void)
{
	struct gw_rl_limit l = lim("subscription|s1||", 60, 6000, 0), b = lim("burst|s1||", 5, 1000, 1);
	struct gw_rl_limit both[2];
	struct seen s = { 0 };
	uint32_t g;
	int64_t t = 1000000;

	TH_TEST("cluster counting");
	gw_rl_reset();
	gw_rl_set_mode(GW_RL_CLUSTER, 3);
	TH_CHECK(gw_rl_mode_get(&g) == GW_RL_CLUSTER && g == 3);
	TH_CHECK_EQ_INT(take_n(&l, 1, 10, t), 10);
	gw_rl_collect(1, t, visit, &s);
	TH_CHECK_EQ_INT(s.news, 1);
	TH_CHECK_EQ_INT(s.sum, 10);
	/* the cluster counted 55 (ours included): 5 more fit, in flight acknowledged */
	gw_rl_apply("subscription|s1||", 6000, 10, 55 * 16);
	TH_CHECK_EQ_INT(take_n(&l, 1, 10, t + 10), 5);
	/* what was counted since is sent as a delta of the known id */
	memset(&s, 0, sizeof(s));
	gw_rl_collect(1, t + 20, visit, &s);
	TH_CHECK(s.n == 1 && s.news == 0 && s.sum == 5);
	/* still in flight: still refused */
	TH_CHECK_EQ_INT(take_n(&l, 1, 1, t + 30), 0);
	/* the window slid: the cluster count fell */
	gw_rl_apply("subscription|s1||", 6000, 5, 40 * 16);
	TH_CHECK_EQ_INT(take_n(&l, 1, 30, t + 40), 20);
	/* a new session (epoch 2) resends the counter whole: its window's 35 */
	memset(&s, 0, sizeof(s));
	gw_rl_collect(2, t + 50, visit, &s);
	TH_CHECK(s.news == 1 && s.sum == 35);

	TH_TEST("burst control stays local");
	gw_rl_reset();
	both[0] = l;
	both[1] = b;
	gw_rl_apply("subscription|s1||", 6000, 0, 0);
	TH_CHECK_EQ_INT(take_n(both, 2, 8, t), 5);
	memset(&s, 0, sizeof(s));
	gw_rl_collect(1, t, visit, &s);
	TH_CHECK_MSG(s.n == 1 && s.sum == 5, "n %d sum %lld", s.n, (long long)s.sum);

	TH_TEST("this node's share");
	gw_rl_reset();
	gw_rl_set_mode(GW_RL_SHARE, 3);
	TH_CHECK_EQ_INT(take_n(&l, 1, 40, t), 20);
	gw_rl_set_mode(GW_RL_SHARE, 0);
	TH_CHECK(gw_rl_mode_get(&g) == GW_RL_SHARE && g == 1);
	TH_CHECK_EQ_INT(take_n(&l, 1, 60, t), 40);
	/* after an outage longer than the window, only the window's count is sent */
	gw_rl_set_mode(GW_RL_CLUSTER, 3);
	memset(&s, 0, sizeof(s));
	gw_rl_collect(1, t + 20000, visit, &s);
	TH_CHECK_MSG(s.sum == 0, "sum %lld", (long long)s.sum);

	TH_TEST("alone");
	gw_rl_reset();
	gw_rl_set_mode(GW_RL_ALONE, 1);
	TH_CHECK_EQ_INT(take_n(&l, 1, 70, t), 60);
	memset(&s, 0, sizeof(s));
	gw_rl_collect(1, t, visit, &s);
	TH_CHECK_EQ_INT(s.sum, 60);     /* alone keeps no unsent count; a new session sends the window */
	gw_rl_reset();
}

int
main(void)
{
	test_varint();
	test_req_roundtrip();
	test_req_malformed();
	test_resp();
	test_cluster();
	TH_END();
}
