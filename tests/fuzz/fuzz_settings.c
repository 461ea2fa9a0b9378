/*
 * Fuzz target for the config reader (core/settings.c): the input is the
 * text of a config file, written into one memfd made at start-up and
 * read back through /proc/self/fd/N by gh_settings_load() against a
 * small table with one setting of each type.  The input, NUL-terminated,
 * also goes to the value parsers (size, duration, bool) and, split at
 * its first '=', to gh_settings_set().  Settings and error texts are
 * freed on every input.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>

#include "core/gh_settings.h"
#include "fuzz.h"

static const struct gh_setting_def defs[] = {
	{ "listen.port", GH_SET_PORT, "9443", 0, 0, NULL, 0, "port" },
	{ "http.max_body", GH_SET_SIZE, "1m", 1, 1073741824, NULL, 0, "body limit" },
	{ "http.idle_timeout", GH_SET_DURATION, "60s", 1000, 3600000, NULL, 0, "idle" },
	{ "log.level", GH_SET_ENUM, "info", 0, 0, "debug|info|warn|error", 0, "level" },
	{ "tls.enabled", GH_SET_BOOL, "on", 0, 0, NULL, 0, "TLS" },
	{ "db.password", GH_SET_STR, NULL, 0, 0, NULL, GH_SET_SECRET | GH_SET_REQUIRED, "secret" },
	{ "tls.cert", GH_SET_PATH, NULL, 0, 0, NULL, 0, "cert" },
	{ "public_url", GH_SET_URL, "https://localhost:9443", 0, 0, NULL, 0, "url" },
	{ "workers", GH_SET_INT, "2", 1, 64, NULL, 0, "workers" },
	{ "name", GH_SET_STR, "gatehouse", 0, 0, NULL, 0, "name" },
};
#define NDEFS (sizeof(defs) / sizeof(defs[0]))

static int memfd = -1;
static char path[64];

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	memfd = memfd_create("fuzz-settings", MFD_CLOEXEC);
	if (memfd < 0)
		abort();
	snprintf(path, sizeof(path), "/proc/self/fd/%d", memfd);
	return 0;
}

static void
read_all(const struct gh_settings *s)
{
	for (size_t i = 0; i < NDEFS; i++) {
		if (defs[i].type == GH_SET_STR || defs[i].type == GH_SET_ENUM ||
		    defs[i].type == GH_SET_PATH || defs[i].type == GH_SET_URL)
			(void)gh_settings_str(s, defs[i].name);
		else
			(void)gh_settings_int(s, defs[i].name);
		(void)gh_settings_is_set(s, defs[i].name);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct gh_settings *s;
	char *errors = NULL, *z, *eq;
	long long ll;
	int b;

	if (ftruncate(memfd, 0) != 0 || pwrite(memfd, data, size, 0) != (ssize_t)size)
		abort();
	s = gh_settings_new(defs, NDEFS);
	if (s == NULL)
		abort();
	(void)gh_settings_load(s, path, &errors);
	free(errors);
	read_all(s);

	z = malloc(size + 1);
	if (z == NULL)
		goto out;
	memcpy(z, data, size);
	z[size] = '\0';
	(void)gh_parse_size(z, &ll);
	(void)gh_parse_duration_ms(z, &ll);
	(void)gh_parse_bool(z, &b);
	eq = strchr(z, '=');
	if (eq != NULL) {
		*eq = '\0';
		errors = NULL;
		(void)gh_settings_set(s, z, eq + 1, "fuzz", &errors);
		free(errors);
		read_all(s);
	}
	free(z);
out:
	gh_settings_free(s);
	return 0;
}
