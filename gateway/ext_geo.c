/*
 * The GeoIP country database of the external zone (libmaxminddb).  The
 * open database is reached through one atomic pointer; SIGHUP (main
 * thread) opens the file again, swaps the pointer and closes the old
 * database only once no lookup can still be using it: readers announce
 * themselves in one of two counters chosen by an epoch number, and the
 * reloader flips the epoch and waits for the old counter to drain.
 */
#include <maxminddb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/gh_log.h"
#include "gateway/ext_geo.h"
#include "gateway/gw.h"

static MMDB_s *cur;                     /* atomic */
static unsigned epoch;                  /* atomic */
static long readers[2];                 /* atomic */
static char *db_path;

static MMDB_s *
db_open(const char *path, int verbose)
{
	MMDB_s *m = calloc(1, sizeof(*m));
	int rc;

	if (m == NULL)
		return NULL;
	rc = MMDB_open(path, MMDB_MODE_MMAP, m);
	if (rc != MMDB_SUCCESS) {
		if (verbose)
			fprintf(stderr, "gatehouse-%s: GeoIP database %s: %s\n", gw_zone.name, path,
			    MMDB_strerror(rc));
		else
			gh_log_error("geoip", NULL, "GeoIP database %s: %s (the old one stays)", path,
			    MMDB_strerror(rc));
		free(m);
		return NULL;
	}
	return m;
}

int
gw_geo_open(const char *path)
{
	MMDB_s *m;

	if (path == NULL || *path == '\0')
		return 0;
	if ((m = db_open(path, 1)) == NULL)
		return -1;
	db_path = strdup(path);
	__atomic_store_n(&cur, m, __ATOMIC_SEQ_CST);
	return 0;
}

/* Wait until no reader of the epoch before the flip can hold the old database. */
static void
retire(MMDB_s *old)
{
	unsigned e = __atomic_fetch_add(&epoch, 1, __ATOMIC_SEQ_CST) & 1;
	struct timespec ms = { 0, 1000000 };

	while (__atomic_load_n(&readers[e], __ATOMIC_SEQ_CST) != 0)
		nanosleep(&ms, NULL);
	if (old != NULL) {
		MMDB_close(old);
		free(old);
	}
}

void
gw_geo_reload(void)
{
	MMDB_s *m, *old;

	if (db_path == NULL)
		return;
	if ((m = db_open(db_path, 0)) == NULL)
		return;
	old = __atomic_exchange_n(&cur, m, __ATOMIC_SEQ_CST);
	retire(old);
	gh_log_info("geoip", NULL, "GeoIP database %s reloaded", db_path);
}

void
gw_geo_close(void)
{
	MMDB_s *old = __atomic_exchange_n(&cur, NULL, __ATOMIC_SEQ_CST);

	retire(old);
	free(db_path);
	db_path = NULL;
}

int
gw_zone_country(const char *ip, char cc[3])
{
	MMDB_lookup_result_s res;
	MMDB_entry_data_s d;
	MMDB_s *m;
	unsigned e;
	int gai = 0, err = 0;

	cc[0] = '\0';
	if (ip == NULL || *ip == '\0')
		return 0;
	for (;;) {
		e = __atomic_load_n(&epoch, __ATOMIC_SEQ_CST) & 1;
		__atomic_add_fetch(&readers[e], 1, __ATOMIC_SEQ_CST);
		if ((__atomic_load_n(&epoch, __ATOMIC_SEQ_CST) & 1) == e)
			break;
		__atomic_sub_fetch(&readers[e], 1, __ATOMIC_SEQ_CST);
	}
	m = __atomic_load_n(&cur, __ATOMIC_SEQ_CST);
	if (m != NULL) {
		res = MMDB_lookup_string(m, ip, &gai, &err);
		if (gai == 0 && err == MMDB_SUCCESS && res.found_entry &&
		    MMDB_get_value(&res.entry, &d, "country", "iso_code", NULL) == MMDB_SUCCESS &&
		    d.has_data && d.type == MMDB_DATA_TYPE_UTF8_STRING && d.data_size == 2) {
			cc[0] = d.utf8_string[0];
			cc[1] = d.utf8_string[1];
			cc[2] = '\0';
		}
	}
	__atomic_sub_fetch(&readers[e], 1, __ATOMIC_SEQ_CST);
	return 0;
}
