/*
 * The throttle sync's wire format (gateway/trafficmanager/PROTOCOL.md,
 * "POST /internal/throttle/v1/sync"): a compact binary request of counter
 * deltas from a gateway process and the traffic manager's answer of
 * cluster-wide counts.  Pure functions, shared by the gateway
 * (tmsync.c), the traffic manager (trafficmanager/sync.c), the unit tests
 * and the load generator (tests/bench/bench_tmsync.c).
 */
#ifndef GW_TMSYNC_WIRE_H
#define GW_TMSYNC_WIRE_H

#include <stddef.h>
#include <stdint.h>

#define TS_REQ_MAGIC "GHTS"
#define TS_RESP_MAGIC "GHTA"
#define TS_VERSION 1

/* Request flags */
#define TS_F_NEW  0x01          /* first request of a session: its key ids start at 0 */
#define TS_F_BYE  0x02          /* the process stops: forget the session after this one */
/* Answer flags */
#define TS_F_ALL  0x01          /* counts of every key the session holds (not only changes) */

#define TS_MAX_KEY 400          /* bytes of a key's text */
#define TS_MAX_ENV 63
#define TS_MAX_KEYS 262144      /* key ids per session */
#define TS_MAX_DELTA (1ULL << 32)
#define TS_MAX_WINDOW_MS (400LL * 86400 * 1000)
#define TS_MAX_LIMIT (1LL << 53)
#define TS_MAX_COUNT16 (1ULL << 58)
#define TS_FIXED 16             /* counts travel as fixed point: value * 16 */

/* A key named for the first time in a session. */
struct ts_def {
	uint32_t id;
	int64_t window_ms, limit;
	const char *key;        /* not NUL-terminated on decode (points into the body) */
	size_t key_len;
};

/* Requests counted under key id since the last sync. */
struct ts_delta {
	uint32_t id;
	uint64_t delta;
};

struct ts_req {
	unsigned flags;
	uint64_t instance;      /* random per gateway process */
	uint64_t epoch;         /* the process's session number */
	uint64_t seq;           /* request number in the session (a retry repeats it) */
	char env[TS_MAX_ENV + 1];
	size_t ndefs, ndeltas;
	struct ts_def *defs;
	struct ts_delta *deltas;
};

/* Cluster-wide sliding-window count of a key, value * TS_FIXED. */
struct ts_count {
	uint32_t id;
	uint64_t count16;
};

struct ts_resp {
	unsigned flags;
	uint32_t gateways;      /* gateway processes of the environment seen in the last minute */
	size_t ncounts;
	struct ts_count *counts;
};

/* A growable output buffer; oom is set (and writes stop) when an allocation failed. */
struct ts_buf {
	unsigned char *p;
	size_t len, cap;
	int oom;
};

void ts_buf_free(struct ts_buf *b);
/* Append v as an unsigned LEB128 varint (1 to 10 bytes). */
void ts_put_varint(struct ts_buf *b, uint64_t v);
void ts_put_bytes(struct ts_buf *b, const void *p, size_t n);

/*
 * Read a varint at *p (before end): 0 and *p moved on, or -1 when it is
 * truncated or does not fit 64 bits.
 */
int ts_get_varint(const unsigned char **p, const unsigned char *end, uint64_t *v);

/* Append r encoded to b; 0, or -1 when r breaks a bound above or on ENOMEM. */
int ts_req_encode(struct ts_buf *b, const struct ts_req *r);

/*
 * Decode a request body of len bytes into *r: 0, or -1 with why in err
 * (nothing to free then).  On 0 free with ts_req_clear; defs[].key point
 * into body, which must outlive r.  Checks every bound above, that def
 * ids follow one another, and that no byte is left over.
 */
int ts_req_decode(const unsigned char *body, size_t len, struct ts_req *r, char *err, size_t errlen);
void ts_req_clear(struct ts_req *r);

/* Append an answer; 0 or -1 (ENOMEM). */
int ts_resp_encode(struct ts_buf *b, const struct ts_resp *r);

/* Decode an answer; 0 (free with ts_resp_clear) or -1 with why in err. */
int ts_resp_decode(const unsigned char *body, size_t len, struct ts_resp *r, char *err, size_t errlen);
void ts_resp_clear(struct ts_resp *r);

#endif
