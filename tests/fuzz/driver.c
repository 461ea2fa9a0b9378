/*
 * Regression driver for the fuzz targets: a main() that runs
 * LLVMFuzzerTestOneInput() once over every regular file of the
 * directories (or files) given as arguments, in name order, and prints
 * "N passed, N failed".  An input passes when the call returns; a crash,
 * a leak or undefined behaviour aborts the whole program under the
 * sanitizers, which the test runner counts as a failure.  Each input is
 * read into an exactly-sized malloc'd buffer so that ASan sees overreads.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz.h"

static int npass, nfail;

static void
run_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	unsigned char *buf = NULL;
	long n;

	if (f == NULL || fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 ||
	    fseek(f, 0, SEEK_SET) != 0)
		goto fail;
	/* An empty input gets a 1-byte allocation; size 0 is still what the target sees. */
	buf = malloc(n > 0 ? (size_t)n : 1);
	if (buf == NULL || (n > 0 && fread(buf, 1, (size_t)n, f) != (size_t)n))
		goto fail;
	fclose(f);
	LLVMFuzzerTestOneInput(buf, (size_t)n);
	free(buf);
	npass++;
	return;
fail:
	if (f != NULL)
		fclose(f);
	free(buf);
	printf("not ok: cannot read %s\n", path);
	nfail++;
}

static int
name_cmp(const struct dirent **a, const struct dirent **b)
{
	return strcmp((*a)->d_name, (*b)->d_name);
}

static void
run_path(const char *path)
{
	struct stat st;
	struct dirent **ents;
	int n;

	if (stat(path, &st) != 0) {
		printf("not ok: no such input %s\n", path);
		nfail++;
		return;
	}
	if (!S_ISDIR(st.st_mode)) {
		run_file(path);
		return;
	}
	n = scandir(path, &ents, NULL, name_cmp);
	if (n < 0) {
		printf("not ok: cannot list %s\n", path);
		nfail++;
		return;
	}
	for (int i = 0; i < n; i++) {
		char sub[4096];

		if (ents[i]->d_name[0] != '.' &&
		    (size_t)snprintf(sub, sizeof(sub), "%s/%s", path, ents[i]->d_name) < sizeof(sub) &&
		    stat(sub, &st) == 0 && S_ISREG(st.st_mode))
			run_file(sub);
		free(ents[i]);
	}
	free(ents);
}

int
main(int argc, char **argv)
{
	int before;

	LLVMFuzzerInitialize(&argc, &argv);
	for (int i = 1; i < argc; i++) {
		before = npass + nfail;
		run_path(argv[i]);
		if (npass + nfail == before) {
			printf("not ok: %s holds no input\n", argv[i]);
			nfail++;
		}
	}
	printf("%d passed, %d failed\n", npass, nfail);
	return nfail != 0;
}
