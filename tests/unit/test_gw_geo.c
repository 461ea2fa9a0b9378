/*
 * Unit tests of the external zone's GeoIP database (ext_geo.c): lookups in
 * a test database made by tests/gateway/geo-db.pl (argv[1]), a reload
 * while other threads keep looking up (ASan catches a database closed
 * under a reader), and a reload of a broken file keeping the old one.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/gh_log.h"
#include "gateway/ext_geo.h"
#include "gateway/gw.h"
#include "th.h"

static volatile int stop;
static long bad;

static void *
reader(void *arg)
{
	char cc[3];

	(void)arg;
	while (!stop) {
		gw_zone_country("192.0.2.77", cc);
		if (strcmp(cc, "FR") != 0)
			__atomic_add_fetch(&bad, 1, __ATOMIC_RELAXED);
	}
	return NULL;
}

static const char *
cc_of(const char *ip)
{
	static char cc[3];

	gw_zone_country(ip, cc);
	return cc;
}

int
main(int argc, char **argv)
{
	pthread_t th[3];
	char copy[600], cmd[2200];

	gh_log_init("test", 2, GH_LOG_ERROR);
	if (argc < 2) {
		fprintf(stderr, "usage: test_gw_geo DB.mmdb\n");
		return 2;
	}
	TH_TEST("no database");
	TH_CHECK_EQ_STR(cc_of("192.0.2.1"), "");
	TH_CHECK_EQ_INT(gw_geo_open(NULL), 0);
	TH_CHECK_EQ_INT(gw_geo_open("/nonexistent/geo.mmdb"), -1);

	TH_TEST("lookups");
	snprintf(copy, sizeof(copy), "%s.copy", argv[1]);
	snprintf(cmd, sizeof(cmd), "cp '%s' '%s'", argv[1], copy);
	TH_CHECK(system(cmd) == 0);
	TH_CHECK_EQ_INT(gw_geo_open(copy), 0);
	TH_CHECK_EQ_STR(cc_of("127.0.0.1"), "NZ");
	TH_CHECK_EQ_STR(cc_of("192.0.2.1"), "FR");
	TH_CHECK_EQ_STR(cc_of("198.51.100.200"), "DE");
	TH_CHECK_EQ_STR(cc_of("2001:db8::42"), "JP");
	TH_CHECK_EQ_STR(cc_of("::ffff:192.0.2.1"), "FR");
	TH_CHECK_EQ_STR(cc_of("203.0.113.9"), "");
	TH_CHECK_EQ_STR(cc_of("not an address"), "");
	TH_CHECK_EQ_STR(cc_of(""), "");

	TH_TEST("reload under readers");
	for (int i = 0; i < 3; i++)
		pthread_create(&th[i], NULL, reader, NULL);
	for (int i = 0; i < 50; i++) {
		gw_geo_reload();
		usleep(2000);
	}
	stop = 1;
	for (int i = 0; i < 3; i++)
		pthread_join(th[i], NULL);
	TH_CHECK_EQ_INT(bad, 0);

	TH_TEST("a broken file keeps the old database");
	/* replaced the way updaters do it: a new file renamed over the old */
	snprintf(cmd, sizeof(cmd), "echo garbage > '%s.new' && mv '%s.new' '%s'", copy, copy, copy);
	TH_CHECK(system(cmd) == 0);
	gw_geo_reload();
	TH_CHECK_EQ_STR(cc_of("198.51.100.1"), "DE");
	gw_geo_close();
	TH_CHECK_EQ_STR(cc_of("198.51.100.1"), "");
	unlink(copy);
	TH_END();
}
