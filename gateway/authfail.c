/*
 * The failed-authentication limiter: failures per client address over a
 * sliding minute (this minute's count plus the part of the last minute's
 * still inside the window), shared by every worker.  Addresses are kept
 * as 16 bytes (IPv4 mapped, IPv6 cut to its /64: one host owns a /64) in
 * a fixed table of 4-way sets chosen by a keyed hash.  The check on the
 * way in reads atomics only; counting a failure takes the set's mutex.
 * When a set is full the entry with the fewest failures is replaced.
 */
#include <arpa/inet.h>
#include <pthread.h>
#include <stdint.h>
#include <string.h>

#include "core/gh_codec.h"
#include "gateway/auth.h"

#define NSETS 4096              /* power of two */
#define WAYS 4
#define MINUTE_MS 60000

struct af_entry {
	uint64_t k0, k1;            /* the address; 0,0: free */
	int64_t minute;             /* the minute cur counts */
	uint32_t cur, prev;         /* failures in minute, minute - 1 */
};

struct af_set {
	pthread_mutex_t mu;
	struct af_entry e[WAYS];
};

static struct af_set sets[NSETS];
static int64_t limit = 600;
static uint64_t seed;
static pthread_once_t once = PTHREAD_ONCE_INIT;

static void
sets_init(void)
{
	for (size_t i = 0; i < NSETS; i++)
		pthread_mutex_init(&sets[i].mu, NULL);
	if (gh_random_bytes(&seed, sizeof(seed)) != 0)
		seed = 0x6a09e667f3bcc908ULL;
}

void
gw_authfail_init(int64_t per_min)
{
	pthread_once(&once, sets_init);
	limit = per_min > 0 ? per_min : 1;
	for (size_t i = 0; i < NSETS; i++) {
		pthread_mutex_lock(&sets[i].mu);
		memset(sets[i].e, 0, sizeof(sets[i].e));
		pthread_mutex_unlock(&sets[i].mu);
	}
}

/* The 16-byte key of addr; -1 when addr is not a numeric address. */
static int
addr_key(const char *addr, uint64_t *k0, uint64_t *k1)
{
	unsigned char b[16];
	struct in_addr a4;

	if (addr == NULL)
		return -1;
	if (inet_pton(AF_INET, addr, &a4) == 1) {
		memset(b, 0, 10);
		b[10] = b[11] = 0xff;
		memcpy(b + 12, &a4, 4);
	} else if (inet_pton(AF_INET6, addr, b) == 1) {
		int mapped = 1;
		for (int i = 0; i < 10; i++)
			mapped &= b[i] == 0;
		if (!(mapped && b[10] == 0xff && b[11] == 0xff))
			memset(b + 8, 0, 8);        /* per /64 */
	} else {
		return -1;
	}
	memcpy(k0, b, 8);
	memcpy(k1, b + 8, 8);
	*k1 |= 1;                           /* never 0,0 (a free entry) */
	return 0;
}

static struct af_set *
set_of(uint64_t k0, uint64_t k1)
{
	uint64_t h = (k0 ^ seed) * 0x9e3779b97f4a7c15ULL;

	h ^= h >> 31;
	h = (h ^ k1) * 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	return &sets[h & (NSETS - 1)];
}

/* Failures inside the sliding minute ending at now_ms. */
static int64_t
estimate(int64_t minute, uint32_t cur, uint32_t prev, int64_t now_ms)
{
	int64_t m = now_ms / MINUTE_MS, into = now_ms % MINUTE_MS;

	if (minute == m)
		return cur + (int64_t)prev * (MINUTE_MS - into) / MINUTE_MS;
	if (minute == m - 1)
		return (int64_t)cur * (MINUTE_MS - into) / MINUTE_MS;
	return 0;
}

int
gw_authfail_blocked(const char *addr, int64_t now_ms, int *retry_after)
{
	uint64_t k0, k1;
	struct af_set *s;

	if (addr_key(addr, &k0, &k1) != 0)
		return 0;
	pthread_once(&once, sets_init);
	s = set_of(k0, k1);
	for (int i = 0; i < WAYS; i++) {
		struct af_entry *e = &s->e[i];
		int64_t minute, n;
		uint32_t cur, prev;

		if (__atomic_load_n(&e->k0, __ATOMIC_RELAXED) != k0 ||
		    __atomic_load_n(&e->k1, __ATOMIC_RELAXED) != k1)
			continue;
		minute = __atomic_load_n(&e->minute, __ATOMIC_RELAXED);
		cur = __atomic_load_n(&e->cur, __ATOMIC_RELAXED);
		prev = __atomic_load_n(&e->prev, __ATOMIC_RELAXED);
		n = estimate(minute, cur, prev, now_ms);
		if (n < limit)
			return 0;
		/* The rest of this minute: by then the older failures weigh less (a hint, not a promise). */
		*retry_after = (int)((MINUTE_MS - now_ms % MINUTE_MS) / 1000) + 1;
		return 1;
	}
	return 0;
}

void
gw_authfail_note(const char *addr, int64_t now_ms)
{
	uint64_t k0, k1;
	struct af_set *s;
	struct af_entry *e = NULL;
	int64_t m = now_ms / MINUTE_MS, least = INT64_MAX;

	if (addr_key(addr, &k0, &k1) != 0)
		return;
	pthread_once(&once, sets_init);
	s = set_of(k0, k1);
	pthread_mutex_lock(&s->mu);
	for (int i = 0; i < WAYS && e == NULL; i++)
		if (s->e[i].k0 == k0 && s->e[i].k1 == k1)
			e = &s->e[i];
	if (e == NULL) {
		/* a free entry, else the one with the fewest failures now */
		for (int i = 0; i < WAYS; i++) {
			struct af_entry *x = &s->e[i];
			int64_t n = (x->k0 == 0 && x->k1 == 0) ? -1 : estimate(x->minute, x->cur, x->prev, now_ms);
			if (n < least) {
				least = n;
				e = x;
			}
		}
		__atomic_store_n(&e->k0, 0, __ATOMIC_RELAXED);
		__atomic_store_n(&e->k1, 0, __ATOMIC_RELAXED);
		__atomic_store_n(&e->minute, m, __ATOMIC_RELAXED);
		__atomic_store_n(&e->cur, 0, __ATOMIC_RELAXED);
		__atomic_store_n(&e->prev, 0, __ATOMIC_RELAXED);
		__atomic_store_n(&e->k0, k0, __ATOMIC_RELAXED);
		__atomic_store_n(&e->k1, k1, __ATOMIC_RELAXED);
	}
	if (e->minute != m) {
		__atomic_store_n(&e->prev, e->minute == m - 1 ? e->cur : 0, __ATOMIC_RELAXED);
		__atomic_store_n(&e->cur, 0, __ATOMIC_RELAXED);
		__atomic_store_n(&e->minute, m, __ATOMIC_RELAXED);
	}
	if (e->cur < UINT32_MAX)
		__atomic_store_n(&e->cur, e->cur + 1, __ATOMIC_RELAXED);
	pthread_mutex_unlock(&s->mu);
}
