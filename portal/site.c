/*
 * Sites of the portal (portal.sites): one process answers several host
 * names, each listing only the gateway environments it names, e.g.
 * "portal.example.com=External; *=Internal,External".  The Host header of
 * a request picks its site (port ignored, case-insensitive); "*" serves
 * any host that no other site names.  The table is parsed once at
 * start-up into portal.sites and only read afterwards.
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "portal/portal_int.h"

static char *
trim(char *s)
{
	char *e;

	while (*s == ' ' || *s == '\t')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t'))
		*--e = '\0';
	return s;
}

static int
host_ok(const char *h)
{
	size_t n = strlen(h);

	if (strcmp(h, "*") == 0)
		return 1;
	if (n == 0 || n > 253)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)h[i]) && h[i] != '.' && h[i] != '-')
			return 0;
	return 1;
}

/* The environment names of gh_environments: [A-Za-z0-9][A-Za-z0-9_.-]{0,63}. */
static int
env_ok(const char *e)
{
	size_t n = strlen(e);

	if (n == 0 || n > 64 || !isalnum((unsigned char)e[0]))
		return 0;
	for (size_t i = 1; i < n; i++)
		if (!isalnum((unsigned char)e[i]) && e[i] != '_' && e[i] != '.' && e[i] != '-')
			return 0;
	return 1;
}

static int
site_envs_parse(struct portal_site *s, char *list, const char **why)
{
	char *save = NULL;

	if (strcmp(trim(list), "*") == 0) {
		s->all_envs = 1;
		return 0;
	}
	for (char *e = strtok_r(list, ",", &save); e != NULL; e = strtok_r(NULL, ",", &save)) {
		e = trim(e);
		if (!env_ok(e)) {
			*why = "an environment name is empty or has characters other than letters, digits, "
			    "'_', '.' and '-' (write host=Env1,Env2 or host=*)";
			return -1;
		}
		for (size_t i = 0; i < s->nenvs; i++)
			if (strcmp(s->envs[i], e) == 0)
				goto next;
		if (s->nenvs == PORTAL_MAX_ENVS) {
			*why = "too many environments for one site (at most 16)";
			return -1;
		}
		snprintf(s->envs[s->nenvs++], sizeof(s->envs[0]), "%s", e);
next:
		;
	}
	if (s->nenvs == 0) {
		*why = "a site lists no environment (write host=Env1,Env2 or host=*)";
		return -1;
	}
	return 0;
}

int
portal_sites_parse(const char *spec, const char **why)
{
	char buf[4096], *save = NULL;
	size_t n = 0;

	*why = NULL;
	if (spec == NULL || strlen(spec) >= sizeof(buf)) {
		*why = "missing or longer than 4095 characters";
		return -1;
	}
	snprintf(buf, sizeof(buf), "%s", spec);
	memset(portal.sites, 0, sizeof(portal.sites));
	for (char *item = strtok_r(buf, ";", &save); item != NULL; item = strtok_r(NULL, ";", &save)) {
		char *eq, *host;
		struct portal_site *s;

		item = trim(item);
		if (*item == '\0')
			continue;
		eq = strchr(item, '=');
		if (eq == NULL) {
			*why = "a site has no '=' (write 'host=Env1,Env2; *=*')";
			return -1;
		}
		*eq = '\0';
		host = trim(item);
		if (!host_ok(host)) {
			*why = "a site's host is not a host name or '*'";
			return -1;
		}
		for (size_t i = 0; i < n; i++) {
			if (strcasecmp(portal.sites[i].host, host) == 0) {
				*why = "a host is named by two sites";
				return -1;
			}
		}
		if (n == PORTAL_MAX_SITES) {
			*why = "too many sites (at most 16)";
			return -1;
		}
		s = &portal.sites[n];
		for (size_t i = 0; host[i] != '\0'; i++)
			s->host[i] = (char)tolower((unsigned char)host[i]);
		if (site_envs_parse(s, eq + 1, why) != 0)
			return -1;
		n++;
	}
	if (n == 0) {
		*why = "no site given (write 'host=Env1,Env2; *=*')";
		return -1;
	}
	portal.nsites = n;
	return 0;
}

const struct portal_site *
portal_site_for(const struct gh_call *c)
{
	const char *h = gh_call_header(c, "Host"), *end;
	const struct portal_site *any = NULL;
	size_t len;

	if (h == NULL)
		h = "";
	/* port: host:port or [v6]:port */
	if (h[0] == '[') {
		end = strchr(h, ']');
		end = end != NULL ? end + 1 : h + strlen(h);
	} else {
		end = strchr(h, ':');
		if (end == NULL)
			end = h + strlen(h);
	}
	len = (size_t)(end - h);
	if (len > 0 && h[len - 1] == '.')       /* FQDN with the root dot */
		len--;
	for (size_t i = 0; i < portal.nsites; i++) {
		const struct portal_site *s = &portal.sites[i];
		if (strcmp(s->host, "*") == 0)
			any = s;
		else if (strlen(s->host) == len && strncasecmp(s->host, h, len) == 0)
			return s;
	}
	return any;
}

int
portal_site_lists(const struct portal_site *site, const char *env)
{
	if (site == NULL || env == NULL)
		return 0;
	if (site->all_envs)
		return 1;
	for (size_t i = 0; i < site->nenvs; i++)
		if (strcmp(site->envs[i], env) == 0)
			return 1;
	return 0;
}
