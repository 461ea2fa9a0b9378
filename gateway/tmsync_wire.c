/*
 * The throttle sync's codec (tmsync_wire.h): varints, the request of
 * counter deltas and the answer of cluster-wide counts.  Decoders check
 * every length and bound before anything is used, so a caller can refuse
 * a malformed body whole; they allocate only arrays whose size is bounded
 * by the body's own length.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gateway/tmsync_wire.h"

void
ts_buf_free(struct ts_buf *b)
{
	free(b->p);
	memset(b, 0, sizeof(*b));
}

static int
buf_room(struct ts_buf *b, size_t n)
{
	size_t cap;
	unsigned char *p;

	if (b->oom)
		return -1;
	if (b->len + n <= b->cap)
		return 0;
	cap = b->cap ? b->cap : 256;
	while (cap < b->len + n)
		cap *= 2;
	p = realloc(b->p, cap);
	if (p == NULL) {
		b->oom = 1;
		return -1;
	}
	b->p = p;
	b->cap = cap;
	return 0;
}

void
ts_put_bytes(struct ts_buf *b, const void *p, size_t n)
{
	if (n == 0 || buf_room(b, n) != 0)
		return;
	memcpy(b->p + b->len, p, n);
	b->len += n;
}

void
ts_put_varint(struct ts_buf *b, uint64_t v)
{
	unsigned char t[10];
	size_t n = 0;

	do {
		t[n] = (unsigned char)(v & 0x7f);
		v >>= 7;
		if (v != 0)
			t[n] |= 0x80;
		n++;
	} while (v != 0);
	ts_put_bytes(b, t, n);
}

int
ts_get_varint(const unsigned char **p, const unsigned char *end, uint64_t *v)
{
	const unsigned char *q = *p;
	uint64_t x = 0;

	for (int shift = 0; shift < 70; shift += 7) {
		if (q >= end)
			return -1;
		if (shift == 63 && (*q & 0xfe) != 0)
			return -1;              /* more than 64 bits */
		x |= (uint64_t)(*q & 0x7f) << shift;
		if ((*q++ & 0x80) == 0) {
			*v = x;
			*p = q;
			return 0;
		}
	}
	return -1;
}

int
ts_req_encode(struct ts_buf *b, const struct ts_req *r)
{
	unsigned char head[6 + 8];
	size_t el = strlen(r->env);

	if (el == 0 || el > TS_MAX_ENV)
		return -1;
	memcpy(head, TS_REQ_MAGIC, 4);
	head[4] = TS_VERSION;
	head[5] = (unsigned char)r->flags;
	for (int i = 0; i < 8; i++)
		head[6 + i] = (unsigned char)(r->instance >> (56 - 8 * i));
	ts_put_bytes(b, head, sizeof(head));
	ts_put_varint(b, r->epoch);
	ts_put_varint(b, r->seq);
	ts_put_varint(b, el);
	ts_put_bytes(b, r->env, el);
	ts_put_varint(b, r->ndefs);
	for (size_t i = 0; i < r->ndefs; i++) {
		const struct ts_def *d = &r->defs[i];

		if (d->key_len == 0 || d->key_len > TS_MAX_KEY || d->window_ms <= 0 ||
		    d->window_ms > TS_MAX_WINDOW_MS || d->limit < 0 || d->limit > TS_MAX_LIMIT)
			return -1;
		ts_put_varint(b, d->id);
		ts_put_varint(b, (uint64_t)d->window_ms);
		ts_put_varint(b, (uint64_t)d->limit);
		ts_put_varint(b, d->key_len);
		ts_put_bytes(b, d->key, d->key_len);
	}
	ts_put_varint(b, r->ndeltas);
	for (size_t i = 0; i < r->ndeltas; i++) {
		if (r->deltas[i].delta > TS_MAX_DELTA)
			return -1;
		ts_put_varint(b, r->deltas[i].id);
		ts_put_varint(b, r->deltas[i].delta);
	}
	return b->oom ? -1 : 0;
}

#define FAIL(...) do { snprintf(err, errlen, __VA_ARGS__); goto fail; } while (0)

int
ts_req_decode(const unsigned char *body, size_t len, struct ts_req *r, char *err, size_t errlen)
{
	const unsigned char *p = body, *end = body + len;
	uint64_t v, n, w, lim, kl, id;

	memset(r, 0, sizeof(*r));
	if (len == 0)
		FAIL("empty body");
	if (len < 14 || memcmp(p, TS_REQ_MAGIC, 4) != 0)
		FAIL("not a throttle sync body (magic)");
	if (p[4] != TS_VERSION)
		FAIL("unknown version %u", (unsigned)p[4]);
	r->flags = p[5];
	if ((r->flags & ~(unsigned)(TS_F_NEW | TS_F_BYE)) != 0)
		FAIL("unknown flags 0x%02x", r->flags);
	for (int i = 0; i < 8; i++)
		r->instance = r->instance << 8 | p[6 + i];
	p += 14;
	if (ts_get_varint(&p, end, &r->epoch) != 0 || ts_get_varint(&p, end, &r->seq) != 0)
		FAIL("truncated or overlong varint in the header");
	if (ts_get_varint(&p, end, &v) != 0 || v == 0 || v > TS_MAX_ENV || v > (uint64_t)(end - p))
		FAIL("bad environment name length");
	memcpy(r->env, p, (size_t)v);
	r->env[v] = '\0';
	if (strlen(r->env) != v)
		FAIL("NUL in the environment name");
	p += v;
	if (ts_get_varint(&p, end, &n) != 0)
		FAIL("truncated key count");
	/* a definition takes at least 5 bytes */
	if (n > TS_MAX_KEYS || n > (uint64_t)(end - p) / 5)
		FAIL("%llu key definitions: more than the body holds or %d", (unsigned long long)n,
		    TS_MAX_KEYS);
	if (n > 0 && (r->defs = calloc((size_t)n, sizeof(*r->defs))) == NULL)
		FAIL("out of memory");
	for (uint64_t i = 0; i < n; i++) {
		struct ts_def *d = &r->defs[i];

		if (ts_get_varint(&p, end, &id) != 0 || ts_get_varint(&p, end, &w) != 0 ||
		    ts_get_varint(&p, end, &lim) != 0 || ts_get_varint(&p, end, &kl) != 0)
			FAIL("key definition %llu: truncated or overlong varint", (unsigned long long)i);
		if (id >= TS_MAX_KEYS || (i > 0 && id != r->defs[i - 1].id + 1))
			FAIL("key definition %llu: id %llu out of sequence", (unsigned long long)i,
			    (unsigned long long)id);
		if (w == 0 || w > (uint64_t)TS_MAX_WINDOW_MS)
			FAIL("key definition %llu: window %llu ms out of range", (unsigned long long)i,
			    (unsigned long long)w);
		if (lim > (uint64_t)TS_MAX_LIMIT)
			FAIL("key definition %llu: limit out of range", (unsigned long long)i);
		if (kl == 0 || kl > TS_MAX_KEY)
			FAIL("key definition %llu: key of %llu bytes (1 to %d)", (unsigned long long)i,
			    (unsigned long long)kl, TS_MAX_KEY);
		if (kl > (uint64_t)(end - p))
			FAIL("key definition %llu: truncated key", (unsigned long long)i);
		if (memchr(p, '\0', (size_t)kl) != NULL)
			FAIL("key definition %llu: NUL in the key", (unsigned long long)i);
		d->id = (uint32_t)id;
		d->window_ms = (int64_t)w;
		d->limit = (int64_t)lim;
		d->key = (const char *)p;
		d->key_len = (size_t)kl;
		p += kl;
	}
	r->ndefs = (size_t)n;
	if (ts_get_varint(&p, end, &n) != 0)
		FAIL("truncated delta count");
	if (n > (uint64_t)(end - p) / 2)
		FAIL("%llu deltas: more than the body holds", (unsigned long long)n);
	if (n > 0 && (r->deltas = calloc((size_t)n, sizeof(*r->deltas))) == NULL)
		FAIL("out of memory");
	for (uint64_t i = 0; i < n; i++) {
		if (ts_get_varint(&p, end, &id) != 0 || ts_get_varint(&p, end, &v) != 0)
			FAIL("delta %llu: truncated or overlong varint", (unsigned long long)i);
		if (id >= TS_MAX_KEYS)
			FAIL("delta %llu: key id %llu out of range", (unsigned long long)i, (unsigned long long)id);
		if (v > TS_MAX_DELTA)
			FAIL("delta %llu: count %llu too large", (unsigned long long)i, (unsigned long long)v);
		r->deltas[i].id = (uint32_t)id;
		r->deltas[i].delta = v;
	}
	r->ndeltas = (size_t)n;
	if (p != end)
		FAIL("%zu bytes after the last delta", (size_t)(end - p));
	return 0;
fail:
	ts_req_clear(r);
	return -1;
}

void
ts_req_clear(struct ts_req *r)
{
	free(r->defs);
	free(r->deltas);
	r->defs = NULL;
	r->deltas = NULL;
	r->ndefs = r->ndeltas = 0;
}

int
ts_resp_encode(struct ts_buf *b, const struct ts_resp *r)
{
	unsigned char head[6];

	memcpy(head, TS_RESP_MAGIC, 4);
	head[4] = TS_VERSION;
	head[5] = (unsigned char)r->flags;
	ts_put_bytes(b, head, sizeof(head));
	ts_put_varint(b, r->gateways);
	ts_put_varint(b, r->ncounts);
	for (size_t i = 0; i < r->ncounts; i++) {
		ts_put_varint(b, r->counts[i].id);
		ts_put_varint(b, r->counts[i].count16);
	}
	return b->oom ? -1 : 0;
}

int
ts_resp_decode(const unsigned char *body, size_t len, struct ts_resp *r, char *err, size_t errlen)
{
	const unsigned char *p = body, *end = body + len;
	uint64_t g, n, id, v;

	memset(r, 0, sizeof(*r));
	if (len < 6 || memcmp(p, TS_RESP_MAGIC, 4) != 0 || p[4] != TS_VERSION)
		FAIL("not a throttle sync answer");
	r->flags = p[5];
	p += 6;
	if (ts_get_varint(&p, end, &g) != 0 || g > UINT32_MAX || ts_get_varint(&p, end, &n) != 0)
		FAIL("truncated answer header");
	r->gateways = (uint32_t)g;
	if (n > (uint64_t)(end - p) / 2)
		FAIL("%llu counts: more than the body holds", (unsigned long long)n);
	if (n > 0 && (r->counts = calloc((size_t)n, sizeof(*r->counts))) == NULL)
		FAIL("out of memory");
	for (uint64_t i = 0; i < n; i++) {
		if (ts_get_varint(&p, end, &id) != 0 || ts_get_varint(&p, end, &v) != 0)
			FAIL("count %llu: truncated", (unsigned long long)i);
		if (id >= TS_MAX_KEYS || v > TS_MAX_COUNT16)
			FAIL("count %llu: out of range", (unsigned long long)i);
		r->counts[i].id = (uint32_t)id;
		r->counts[i].count16 = v;
	}
	r->ncounts = (size_t)n;
	if (p != end)
		FAIL("%zu bytes after the last count", (size_t)(end - p));
	return 0;
fail:
	ts_resp_clear(r);
	return -1;
}

void
ts_resp_clear(struct ts_resp *r)
{
	free(r->counts);
	r->counts = NULL;
	r->ncounts = 0;
}
