/*
 * The libpq conninfo string of a node's db.* settings.  Every value is
 * single-quoted with \ and ' escaped, as libpq's conninfo syntax wants, so
 * a password may hold any character but NUL.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/gh_codec.h"
#include "core/gh_settings.h"
#include "pg/gh_pg.h"

/* Append key='value' (escaped) to buf at *len; -1 when it does not fit. */
static int
kv_append(char *buf, size_t cap, size_t *len, const char *key, const char *value)
{
	int n = snprintf(buf + *len, cap - *len, "%s%s='", *len ? " " : "", key);

	if (n < 0 || (size_t)n >= cap - *len)
		return -1;
	*len += (size_t)n;
	for (const char *p = value; *p; p++) {
		if (*len + 3 >= cap)
			return -1;
		if (*p == '\\' || *p == '\'')
			buf[(*len)++] = '\\';
		buf[(*len)++] = *p;
	}
	if (*len + 2 >= cap)
		return -1;
	buf[(*len)++] = '\'';
	buf[*len] = '\0';
	return 0;
}

char *
gh_pg_conninfo(const struct gh_settings *s)
{
	char buf[4096], port[16];
	size_t len = 0;
	const char *pw = gh_settings_str(s, "db.password");
	int bad = 0;

	buf[0] = '\0';
	snprintf(port, sizeof(port), "%lld", gh_settings_int(s, "db.port"));
	bad |= kv_append(buf, sizeof(buf), &len, "host", gh_settings_str(s, "db.host"));
	bad |= kv_append(buf, sizeof(buf), &len, "port", port);
	bad |= kv_append(buf, sizeof(buf), &len, "dbname", gh_settings_str(s, "db.name"));
	bad |= kv_append(buf, sizeof(buf), &len, "user", gh_settings_str(s, "db.user"));
	bad |= kv_append(buf, sizeof(buf), &len, "sslmode", gh_settings_str(s, "db.sslmode"));
	if (pw != NULL)
		bad |= kv_append(buf, sizeof(buf), &len, "password", pw);
	if (bad) {
		explicit_bzero(buf, sizeof(buf));
		return NULL;
	}
	{
		char *out = strdup(buf);
		explicit_bzero(buf, sizeof(buf));
		return out;
	}
}
