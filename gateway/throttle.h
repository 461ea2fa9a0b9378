/*
 * Throttling's pieces below the phase (throttle.c), exposed for the unit
 * tests and for the cluster-wide counters (tmsync.c): the counter table
 * (sliding windows keyed by text), the counting mode (alone, cluster-wide
 * through the traffic manager, or this node's share of every limit) and
 * the deny-rule match.
 */
#ifndef GW_THROTTLE_H
#define GW_THROTTLE_H

#include <stddef.h>
#include <stdint.h>

#include "gateway/gw.h"

/* One limit a request must fit: count requests per window_ms, counted under key. */
struct gw_rl_limit {
	const char *level;              /* "subscription", "application", ... (for the refusal) */
	char key[400];
	int64_t count;
	int64_t window_ms;
	int local;                      /* 1: counted on this node only (burst control) */
};

struct gw_rl_verdict {
	int refused;                    /* 1: some limit is full; nothing was counted */
	int level;                      /* index of the limit that refused, or of the tightest */
	int64_t retry_after_s;          /* refused: seconds until that window lets one more in */
	int64_t limit, remaining, reset_s;  /* the tightest limit after this request */
};

/*
 * Check every limit of l[0..n) at now_ms (a monotonic clock); when all
 * fit, count the request in each, else count nothing.  Each is a sliding
 * window: the previous fixed window's count weighted by how much of it
 * still overlaps, plus the current one's.  Counters are process-wide
 * (striped locks).  Fills *v; returns v->refused.
 */
int gw_rl_take(const struct gw_rl_limit *l, size_t n, int64_t now_ms, struct gw_rl_verdict *v);

/* Forget every counter (tests). */
void gw_rl_reset(void);

/*
 * How the limits that are not local are enforced.  ALONE: this node's
 * sliding window against the limit (no traffic manager configured).
 * CLUSTER: the traffic manager's last cluster-wide count plus what this
 * node counted since, against the limit.  SHARE: the traffic manager is
 * unreachable; this node's sliding window against limit / gateways.
 */
enum gw_rl_mode { GW_RL_ALONE = 0, GW_RL_CLUSTER = 1, GW_RL_SHARE = 2 };

/* Set the mode and the number of gateways sharing a limit (< 1 taken as 1); any thread. */
void gw_rl_set_mode(enum gw_rl_mode mode, uint32_t gateways);
enum gw_rl_mode gw_rl_mode_get(uint32_t *gateways);

/*
 * Called by gw_rl_collect for a counter to send, under its stripe's lock
 * (it must not call back into the counter table): tid is the counter's
 * key id in session epoch, or 0 when the counter is new to the session
 * (then delta is its whole sliding-window count and *global16 may be set
 * to the cluster-wide count already known for the key).  Returns the key
 * id to remember (0: not sent; the delta stays to count).
 */
typedef uint32_t (*gw_rl_visit_fn)(void *arg, uint32_t tid, const char *key, int64_t window_ms,
    int64_t limit, int64_t delta, int64_t *global16);

/*
 * Sync thread: hand every counter that is not local and has counted
 * since the last collect (or is new to session epoch) to visit; what
 * visit accepts moves from "unsent" to "in flight".  now_ms is the clock
 * of gw_rl_take; a delta is at most the counter's sliding-window count
 * at now_ms (what an outage piled up beyond the window is not sent).
 */
void gw_rl_collect(uint32_t epoch, int64_t now_ms, gw_rl_visit_fn visit, void *arg);

/*
 * Sync thread: the traffic manager applied acked of (key, window_ms)'s
 * in-flight count; global16 >= 0 is its new cluster-wide count (times
 * 16).  A counter gone meanwhile is left alone.
 */
void gw_rl_apply(const char *key, int64_t window_ms, int64_t acked, int64_t global16);

/* What a deny rule is compared with. */
struct gw_deny_subject {
	const char *api_tenant;         /* the API's tenant (rules of other tenants do not apply) */
	const char *api_context, *api_version;
	const char *app_owner, *app_name;   /* NULL when no application */
	const char *user, *user_tenant;     /* NULL when anonymous */
	const char *ip;                 /* client address (numeric) */
};

/* 1 when rule d blocks the subject (invert applied), 0 otherwise. */
int gw_deny_matches(const struct gw_deny *d, const struct gw_deny_subject *s);

#endif
