/*
 * For tests/patterns/25-migrate.t: bring a database to an older schema.
 * test_node_migrate CONNINFO N applies the built-in migrations 1..N only
 * (what an older release of gatehouse init left), checks that the
 * recorded version is N, and prints the harness's result line.
 */
#include <stdio.h>
#include <stdlib.h>

#include "pg/gh_pg.h"
#include "tests/unit/th.h"

int
main(int argc, char **argv)
{
	char err[256];
	struct gh_pg *db;
	int64_t v = -1;
	long n;

	if (argc != 3 || (n = strtol(argv[2], NULL, 10)) < 1 || (size_t)n > gh_schema_count) {
		fprintf(stderr, "usage: test_node_migrate CONNINFO N (1..%zu)\n", gh_schema_count);
		return 2;
	}
	TH_TEST("migrations 1..N");
	db = gh_pg_connect(argv[1], err, sizeof(err));
	TH_CHECK_MSG(db != NULL, "%s", err);
	if (db != NULL) {
		TH_CHECK_EQ_INT(gh_pg_migrate(db, gh_schema, (size_t)n), n);
		TH_CHECK(gh_pg_schema_version(db, &v) == 0);
		TH_CHECK_EQ_INT(v, n);
		gh_pg_close(db);
	}
	TH_END();
}
