/*
 * IP address helpers (gh_ipaddr.h): parsing into the IPv4-mapped 16-byte
 * form, and matching against comma-separated lists of addresses and CIDR
 * blocks — the HTTP server's trusted proxies, the gateways' trusted load
 * balancers and deny rules.  Pure functions, any thread.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/gh_ipaddr.h"

int
gh_ip_parse(const char *text, unsigned char out[16])
{
	unsigned char v4[4];

	if (text == NULL)
		return -1;
	if (inet_pton(AF_INET, text, v4) == 1) {
		memset(out, 0, 10);
		out[10] = out[11] = 0xff;
		memcpy(out + 12, v4, 4);
		return 0;
	}
	return inet_pton(AF_INET6, text, out) == 1 ? 0 : -1;
}

/* One list entry s[0..len): address or CIDR; bits is in the 16-byte form. */
static int
entry_matches(const unsigned char want[16], const char *s, size_t len)
{
	char tmp[80], *slash, *end;
	unsigned char net[16];
	long bits = 128;

	while (len > 0 && (*s == ' ' || *s == '\t')) {
		s++;
		len--;
	}
	while (len > 0 && (s[len - 1] == ' ' || s[len - 1] == '\t'))
		len--;
	if (len == 0 || len >= sizeof(tmp))
		return 0;
	memcpy(tmp, s, len);
	tmp[len] = '\0';
	slash = strchr(tmp, '/');
	if (slash != NULL) {
		*slash = '\0';
		bits = strtol(slash + 1, &end, 10);
		if (end == slash + 1 || *end != '\0' || bits < 0)
			return 0;
	}
	if (gh_ip_parse(tmp, net) != 0)
		return 0;
	if (slash == NULL)
		bits = strchr(tmp, ':') == NULL ? 32 : 128;
	if (strchr(tmp, ':') == NULL) {
		if (bits > 32)
			return 0;
		bits += 96;
	} else if (bits > 128) {
		return 0;
	}
	for (int i = 0; i < 16 && bits > 0; i++, bits -= 8) {
		unsigned char mask = bits >= 8 ? 0xff : (unsigned char)(0xff << (8 - bits));

		if ((net[i] & mask) != (want[i] & mask))
			return 0;
	}
	return 1;
}

int
gh_ip_in_list(const char *addr, const char *list)
{
	unsigned char want[16];
	const char *p = list;

	if (list == NULL || gh_ip_parse(addr, want) != 0)
		return 0;
	while (p != NULL && *p != '\0') {
		const char *comma = strchr(p, ',');
		size_t n = comma ? (size_t)(comma - p) : strlen(p);

		if (entry_matches(want, p, n))
			return 1;
		p = comma ? comma + 1 : NULL;
	}
	return 0;
}
