/*
 * Analytics shared by the traffic manager (which writes the events and
 * the per-minute rollups of schema v5) and the analytics REST APIs of the
 * publisher and the portal (which read them): the latency histogram's
 * buckets, so that a percentile read from rollups is exact to one bucket.
 */
#ifndef GH_ANALYTICS_H
#define GH_ANALYTICS_H

#include <stdint.h>

/* Upper bounds (inclusive, milliseconds) of the latency buckets; the last bucket is open. */
#define GH_AN_BOUNDS { 1, 2, 3, 5, 7, 10, 15, 20, 30, 50, 70, 100, 150, 200, 300, 500, 700, \
	1000, 1500, 2000, 3000, 5000, 7000, 10000, 15000, 20000, 30000, 60000 }
#define GH_AN_NBOUNDS 28
#define GH_AN_BUCKETS (GH_AN_NBOUNDS + 1)

/* Index of the bucket of a latency of ms milliseconds (0 .. GH_AN_BUCKETS - 1). */
static inline int
gh_an_bucket(int64_t ms)
{
	static const int64_t b[GH_AN_NBOUNDS] = GH_AN_BOUNDS;
	int lo = 0, hi = GH_AN_NBOUNDS;

	while (lo < hi) {
		int mid = (lo + hi) / 2;

		if (ms <= b[mid])
			hi = mid;
		else
			lo = mid + 1;
	}
	return lo;
}

#endif
