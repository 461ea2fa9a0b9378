/*
 * Unit tests of the analytics read side's pure parts (appliance/pg/analytics.c):
 * RFC 3339 and epoch-ms times, every query parameter and its refusals, the
 * buckets of a series, and percentiles from histograms checked against the
 * exact nearest-rank percentile of random latency samples (the reported
 * value is always the upper bound of the bucket that holds the true one).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pg/gh_analytics.h"
#include "th.h"

#define T0 INT64_C(1735689600000)       /* 2025-01-01T00:00:00Z */
#define HOUR INT64_C(3600000)
#define DAY INT64_C(86400000)

static int64_t
tp(const char *s)
{
	int64_t v = -12345;

	return gh_an_time_parse(s, &v) == 0 ? v : -1;
}

static void
test_time(void)
{
	char buf[32];

	TH_TEST("time: RFC 3339 and epoch ms");
	TH_CHECK_EQ_INT(tp("2025-01-01T00:00:00Z"), T0);
	TH_CHECK_EQ_INT(tp("2025-01-01t00:00:00z"), T0);
	TH_CHECK_EQ_INT(tp("2025-01-01T02:00:00+02:00"), T0);
	TH_CHECK_EQ_INT(tp("2025-01-01T02:00:00 02:00"), T0);          /* '+' decoded as a space */
	TH_CHECK_EQ_INT(tp("2024-12-31T22:00:00-02:00"), T0);
	TH_CHECK_EQ_INT(tp("2024-02-29T12:34:56.789+02:00"), INT64_C(1709202896789));
	TH_CHECK_EQ_INT(tp("2000-03-01T00:00:00-05:30"), INT64_C(951888600000));
	TH_CHECK_EQ_INT(tp("1970-01-01T00:00:00Z"), 0);
	TH_CHECK_EQ_INT(tp("9999-12-31T23:59:59Z"), INT64_C(253402300799000));
	TH_CHECK_EQ_INT(tp("2025-01-01T00:00:00.5Z"), T0 + 500);
	TH_CHECK_EQ_INT(tp("2025-01-01T00:00:00.123456789Z"), T0 + 123);
	TH_CHECK_EQ_INT(tp("2016-12-31T23:59:60Z"), INT64_C(1483228800000));  /* a leap second */
	TH_CHECK_EQ_INT(tp("1735689600000"), T0);
	TH_CHECK_EQ_INT(tp("0"), 0);
	TH_CHECK_EQ_INT(tp("253402300799999"), INT64_C(253402300799999));  /* 9999-12-31T23:59:59.999Z */

	TH_TEST("time: refused");
	TH_CHECK_EQ_INT(tp(""), -1);
	TH_CHECK_EQ_INT(tp("-1"), -1);
	TH_CHECK_EQ_INT(tp("1000000000000000"), -1);                   /* 16 digits */
	TH_CHECK_EQ_INT(tp("253402300800000"), -1);                    /* year 10000 */
	TH_CHECK_EQ_INT(tp("17356896e5"), -1);
	TH_CHECK_EQ_INT(tp("2025-01-01"), -1);
	TH_CHECK_EQ_INT(tp("2025-01-01T00:00:00"), -1);                /* no zone */
	TH_CHECK_EQ_INT(tp("2025-01-01T00:00Z"), -1);
	TH_CHECK_EQ_INT(tp("2025-01-01 00:00:00Z"), -1);
	TH_CHECK_EQ_INT(tp("2025-13-01T00:00:00Z"), -1);
	TH_CHECK_EQ_INT(tp("2025-00-01T00:00:00Z"), -1);
	TH_CHECK_EQ_INT(tp("2025-02-29T00:00:00Z"), -1);               /* not a leap year */
	TH_CHECK_EQ_INT(tp("1900-02-29T00:00:00Z"), -1);
	TH_CHECK_EQ_INT(tp("2025-04-31T00:00:00Z"), -1);
	TH_CHECK_EQ_INT(tp("2025-01-01T24:00:00Z"), -1);
	TH_CHECK_EQ_INT(tp("2025-01-01T00:60:00Z"), -1);
	TH_CHECK_EQ_INT(tp("2025-01-01T00:00:61Z"), -1);
	TH_CHECK_EQ_INT(tp("2025-01-01T00:00:00+24:00"), -1);
	TH_CHECK_EQ_INT(tp("2025-01-01T00:00:00+02"), -1);
	TH_CHECK_EQ_INT(tp("2025-01-01T00:00:00.Z"), -1);
	TH_CHECK_EQ_INT(tp("2025-01-01T00:00:00.1234567890Z"), -1);
	TH_CHECK_EQ_INT(tp("2025-01-01T00:00:00Zx"), -1);
	TH_CHECK_EQ_INT(tp("1969-12-31T23:59:59Z"), -1);
	TH_CHECK_EQ_INT(tp("1970-01-01T00:30:00+01:00"), -1);          /* before the epoch */
	TH_CHECK_EQ_INT(tp("２025-01-01T00:00:00Z"), -1);
	TH_CHECK(gh_an_time_parse(NULL, &(int64_t){ 0 }) == -1);

	TH_TEST("time: ISO 8601 out");
	gh_an_time_format(T0, buf);
	TH_CHECK_EQ_STR(buf, "2025-01-01T00:00:00.000Z");
	gh_an_time_format(INT64_C(1709202896789), buf);
	TH_CHECK_EQ_STR(buf, "2024-02-29T10:34:56.789Z");
}

/* gh_an_params_parse at now = T0 + 10 h; 0 or -1; why to the caller's buffer. */
static int
pp(const char *q, struct gh_an_params *p, char *why)
{
	why[0] = '\0';
	return gh_an_params_parse(q, T0 + 10 * HOUR, p, why, 300);
}

static void
test_params(void)
{
	struct gh_an_params p;
	char why[300];

	TH_TEST("params: defaults");
	TH_CHECK_EQ_INT(pp(NULL, &p, why), 0);
	TH_CHECK_EQ_INT(p.to_ms, T0 + 10 * HOUR);
	TH_CHECK_EQ_INT(p.from_ms, T0 + 9 * HOUR);
	TH_CHECK_EQ_INT(p.gran, GH_AN_MINUTE);
	TH_CHECK_EQ_INT(p.width_ms, 60000);
	TH_CHECK_EQ_INT(p.first_ms, T0 + 9 * HOUR);
	TH_CHECK_EQ_INT(p.last_ms, T0 + 10 * HOUR - 60000);
	TH_CHECK_EQ_INT(p.points, 60);
	TH_CHECK_EQ_INT(p.limit, 10);
	TH_CHECK_EQ_STR(p.api_id, "");
	TH_CHECK_EQ_STR(p.app_id, "");
	TH_CHECK_EQ_INT(pp("", &p, why), 0);
	TH_CHECK_EQ_INT(p.points, 60);

	TH_TEST("params: from only, to only");
	TH_CHECK_EQ_INT(pp("from=2025-01-01T08:00:00Z", &p, why), 0);
	TH_CHECK_EQ_INT(p.from_ms, T0 + 8 * HOUR);
	TH_CHECK_EQ_INT(p.to_ms, T0 + 10 * HOUR);
	TH_CHECK_EQ_INT(pp("to=1735693200000", &p, why), 0);
	TH_CHECK_EQ_INT(p.from_ms, T0);
	TH_CHECK_EQ_INT(p.to_ms, T0 + HOUR);

	TH_TEST("params: granularity from the span");
	TH_CHECK_EQ_INT(pp("from=1735689600000&to=1735711200000", &p, why), 0);       /* 6 h */
	TH_CHECK_EQ_INT(p.gran, GH_AN_MINUTE);
	TH_CHECK_EQ_INT(p.points, 360);
	TH_CHECK_EQ_INT(pp("from=1735689600000&to=1735711200001", &p, why), 0);       /* 6 h + 1 ms */
	TH_CHECK_EQ_INT(p.gran, GH_AN_HOUR);
	TH_CHECK_EQ_INT(p.points, 7);
	TH_CHECK_EQ_INT(pp("from=2025-01-01T00:00:00Z&to=2025-01-15T00:00:00Z", &p, why), 0);
	TH_CHECK_EQ_INT(p.gran, GH_AN_HOUR);
	TH_CHECK_EQ_INT(p.points, 336);
	TH_CHECK_EQ_INT(pp("from=2025-01-01T00:00:00Z&to=2025-01-15T00:00:01Z", &p, why), 0);
	TH_CHECK_EQ_INT(p.gran, GH_AN_DAY);
	TH_CHECK_EQ_INT(p.points, 15);
	TH_CHECK_EQ_INT(pp("from=2024-01-01T00:00:00Z&to=2025-01-01T00:00:00Z", &p, why), 0);  /* 366 d */
	TH_CHECK_EQ_INT(p.gran, GH_AN_DAY);
	TH_CHECK_EQ_INT(p.points, 366);

	TH_TEST("params: buckets are UTC truncations");
	TH_CHECK_EQ_INT(pp("from=2025-01-01T00:30:00Z&to=2025-01-01T03:10:00Z&granularity=hour", &p, why), 0);
	TH_CHECK_EQ_INT(p.first_ms, T0);
	TH_CHECK_EQ_INT(p.last_ms, T0 + 3 * HOUR);
	TH_CHECK_EQ_INT(p.points, 4);
	TH_CHECK_EQ_INT(pp("from=2025-01-01T00:30:00%2B05:00&to=2025-01-03T00:00:00Z&granularity=DAY", &p, why), 0);
	TH_CHECK_EQ_INT(p.from_ms, T0 - 4 * HOUR - 30 * 60000);
	TH_CHECK_EQ_INT(p.first_ms, T0 - DAY);
	TH_CHECK_EQ_INT(p.last_ms, T0 + DAY);
	TH_CHECK_EQ_INT(p.points, 3);
	TH_CHECK_EQ_INT(pp("from=2025-01-01T00:00:00Z&to=2025-01-02T00:00:00Z&granularity=minute", &p, why), 0);
	TH_CHECK_EQ_INT(p.points, 1440);

	TH_TEST("params: filters and limit");
	TH_CHECK_EQ_INT(pp("apiId=0b1e-API_1.x:y&applicationId=app-9&limit=100", &p, why), 0);
	TH_CHECK_EQ_STR(p.api_id, "0b1e-API_1.x:y");
	TH_CHECK_EQ_STR(p.app_id, "app-9");
	TH_CHECK_EQ_INT(p.limit, 100);
	TH_CHECK_EQ_INT(pp("limit=1", &p, why), 0);
	TH_CHECK_EQ_INT(p.limit, 1);

	TH_TEST("params: refused, each with its reason");
	{
		static const struct { const char *q, *why; } badq[] = {
			{ "from=yesterday", "'from' must be" },
			{ "from=", "'from' must be" },
			{ "to=2025-02-30T00:00:00Z", "'to' must be" },
			{ "from=2025-01-01T01:00:00Z&to=2025-01-01T01:00:00Z", "later than 'from'" },
			{ "from=2025-01-01T02:00:00Z&to=2025-01-01T01:00:00Z", "later than 'from'" },
			{ "from=2024-01-01T00:00:00Z&to=2025-01-01T00:00:01Z", "longer than 366 days" },
			{ "granularity=week", "'granularity' must be" },
			{ "granularity=", "'granularity' must be" },
			{ "from=2025-01-01T00:00:00Z&to=2025-01-02T01:01:00Z&granularity=minute", "more than 1500" },
			{ "from=2024-01-01T00:00:00Z&to=2024-12-01T00:00:00Z&granularity=hour", "more than 1500" },
			{ "limit=0", "'limit' must be" },
			{ "limit=101", "'limit' must be" },
			{ "limit=-1", "'limit' must be" },
			{ "limit=ten", "'limit' must be" },
			{ "limit=0010", "'limit' must be" },
			{ "limit=", "'limit' must be" },
			{ "apiId=", "'apiId' must be" },
			{ "apiId=a%20b", "'apiId' must be" },
			{ "apiId=%27%3B--", "'apiId' must be" },
			{ "applicationId=x/y", "'applicationId' must be" },
			{ "apiId=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
			    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "'apiId' must be" },
			{ "environment=Production", "Unknown query parameter 'environment'" },
			{ "From=1", "Unknown query parameter 'From'" },
			{ "limit=5&limit=6", "more than once" },
			{ "from=1&from=2", "more than once" },
			{ "from=%zz", "malformed" },
			{ "apiId=%00", "malformed" },
		};

		for (size_t i = 0; i < sizeof(badq) / sizeof(badq[0]); i++) {
			TH_CHECK_MSG(pp(badq[i].q, &p, why) == -1, "%s accepted", badq[i].q);
			TH_CHECK_MSG(strstr(why, badq[i].why) != NULL, "%s: [%s]", badq[i].q, why);
		}
	}
	/* 129 characters: one too many. */
	{
		char q[200] = "apiId=";

		memset(q + 6, 'b', 128);
		q[6 + 128] = '\0';
		TH_CHECK_EQ_INT(pp(q, &p, why), 0);
		q[6 + 128] = 'b';
		q[6 + 129] = '\0';
		TH_CHECK_EQ_INT(pp(q, &p, why), -1);
	}
}

/* Exact nearest-rank percentile of sorted v[0..n). */
static int64_t
exact_pct(const int64_t *v, int n, int pct)
{
	int64_t rank = ((int64_t)n * pct + 99) / 100;

	return v[rank - 1];
}

static int
cmp64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return x < y ? -1 : x > y;
}

static void
test_percentile(void)
{
	static const int64_t bounds[GH_AN_NBOUNDS] = GH_AN_BOUNDS;
	int64_t h[GH_AN_BUCKETS];
	int64_t *v = malloc(5000 * sizeof(*v));
	unsigned seed = 12345;
	int fails = 0;

	TH_TEST("percentile: known histograms");
	memset(h, 0, sizeof(h));
	TH_CHECK_EQ_INT(gh_an_percentile(h, GH_AN_BUCKETS, 50, 0), 0);
	h[gh_an_bucket(4)] = 50;        /* 50 requests of 4..5 ms: bucket "≤ 5" */
	h[gh_an_bucket(80)] = 45;       /* 45 of 71..100 ms */
	h[gh_an_bucket(900)] = 4;       /* 4 of 701..1000 ms */
	h[gh_an_bucket(65000)] = 1;     /* 1 of > 60 s */
	TH_CHECK_EQ_INT(gh_an_percentile(h, GH_AN_BUCKETS, 50, 70000), 5);
	TH_CHECK_EQ_INT(gh_an_percentile(h, GH_AN_BUCKETS, 51, 70000), 100);
	TH_CHECK_EQ_INT(gh_an_percentile(h, GH_AN_BUCKETS, 95, 70000), 100);
	TH_CHECK_EQ_INT(gh_an_percentile(h, GH_AN_BUCKETS, 96, 70000), 1000);
	TH_CHECK_EQ_INT(gh_an_percentile(h, GH_AN_BUCKETS, 99, 70000), 1000);
	TH_CHECK_EQ_INT(gh_an_percentile(h, GH_AN_BUCKETS, 100, 70000), 70000);  /* open bucket: the max */
	TH_CHECK_EQ_INT(gh_an_percentile(h, GH_AN_BUCKETS, 0, 70000), 0);
	TH_CHECK_EQ_INT(gh_an_percentile(h, 4, 99, 70000), 5);                   /* only the first 4 buckets */
	TH_CHECK_EQ_INT(gh_an_bucket(0), 0);
	TH_CHECK_EQ_INT(gh_an_bucket(1), 0);
	TH_CHECK_EQ_INT(gh_an_bucket(2), 1);
	TH_CHECK_EQ_INT(gh_an_bucket(60000), GH_AN_NBOUNDS - 1);
	TH_CHECK_EQ_INT(gh_an_bucket(60001), GH_AN_NBOUNDS);

	TH_TEST("percentile: within one bucket of the exact value (random samples)");
	for (int round = 0; round < 300 && v != NULL; round++) {
		int n = 1 + (int)(rand_r(&seed) % 5000);
		int64_t max = 0;

		memset(h, 0, sizeof(h));
		for (int i = 0; i < n; i++) {
			/* log-spread latencies from 0 ms to ~100 s */
			int64_t ms = (int64_t)(rand_r(&seed) % 1000) * (int64_t)(1 << (rand_r(&seed) % 17)) / 1000;

			v[i] = ms;
			h[gh_an_bucket(ms)]++;
			if (ms > max)
				max = ms;
		}
		qsort(v, (size_t)n, sizeof(*v), cmp64);
		for (int q = 1; q <= 100; q++) {
			int64_t exact = exact_pct(v, n, q), got = gh_an_percentile(h, GH_AN_BUCKETS, q, max);
			int b = gh_an_bucket(exact);
			int64_t want = b < GH_AN_NBOUNDS ? bounds[b] : max;

			if (got != want || got < exact)
				fails++;
		}
	}
	TH_CHECK_EQ_INT(fails, 0);
	free(v);
}

static void
test_reports(void)
{
	TH_TEST("report names");
	TH_CHECK_EQ_INT(gh_an_report_find("requests"), GH_AN_REQUESTS);
	TH_CHECK_EQ_INT(gh_an_report_find("errors"), GH_AN_ERRORS);
	TH_CHECK_EQ_INT(gh_an_report_find("latency"), GH_AN_LATENCY);
	TH_CHECK_EQ_INT(gh_an_report_find("top-applications"), GH_AN_TOP_APPS);
	TH_CHECK_EQ_INT(gh_an_report_find("top-apis"), GH_AN_TOP_APIS);
	TH_CHECK_EQ_INT(gh_an_report_find("countries"), GH_AN_COUNTRIES);
	TH_CHECK_EQ_INT(gh_an_report_find("status"), GH_AN_STATUS);
	TH_CHECK_EQ_INT(gh_an_report_find("Requests"), -1);
	TH_CHECK_EQ_INT(gh_an_report_find(""), -1);
	TH_CHECK_EQ_INT(gh_an_report_find(NULL), -1);
	TH_CHECK_EQ_STR(gh_an_gran_name(GH_AN_HOUR), "hour");
	TH_CHECK_EQ_INT(gh_an_gran_ms(GH_AN_DAY), DAY);
}

int
main(void)
{
	test_time();
	test_params();
	test_percentile();
	test_reports();
	TH_END();
}
