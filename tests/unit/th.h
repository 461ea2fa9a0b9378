/*
 * A tiny unit-test harness in the manner of Redis' testhelp.h.  A test
 * file calls TH_CHECK / TH_CHECK_EQ_STR / TH_CHECK_EQ_INT for each
 * assertion, groups them with TH_TEST("name"), and ends main() with
 * TH_END(), which prints "N passed, N failed" (the line tests/run sums)
 * and returns non-zero when anything failed.  A check counts once.
 */
#ifndef TH_H
#define TH_H

#include <stdio.h>
#include <string.h>

static int th_passed, th_failed;
static const char *th_current = "";

#define TH_TEST(name) do { th_current = (name); } while (0)

#define TH_CHECK(cond) do {						\
	if (cond) { th_passed++; }					\
	else { th_failed++; fprintf(stderr, "FAIL %s: %s (%s:%d)\n",	\
	    th_current, #cond, __FILE__, __LINE__); }			\
} while (0)

#define TH_CHECK_MSG(cond, ...) do {					\
	if (cond) { th_passed++; }					\
	else { th_failed++; fprintf(stderr, "FAIL %s: %s (%s:%d): ",	\
	    th_current, #cond, __FILE__, __LINE__);			\
	    fprintf(stderr, __VA_ARGS__); fputc('\n', stderr); }	\
} while (0)

#define TH_CHECK_EQ_INT(a, b) do {					\
	long long th_a = (long long)(a), th_b = (long long)(b);		\
	TH_CHECK_MSG(th_a == th_b, "%lld != %lld", th_a, th_b);		\
} while (0)

#define TH_CHECK_EQ_STR(a, b) do {					\
	const char *th_sa = (a), *th_sb = (b);				\
	TH_CHECK_MSG(th_sa != NULL && th_sb != NULL &&			\
	    strcmp(th_sa, th_sb) == 0, "\"%s\" != \"%s\"",		\
	    th_sa ? th_sa : "(null)", th_sb ? th_sb : "(null)");	\
} while (0)

#define TH_END() do {							\
	printf("%d passed, %d failed\n", th_passed, th_failed);		\
	return th_failed == 0 ? 0 : 1;					\
} while (0)

#endif
