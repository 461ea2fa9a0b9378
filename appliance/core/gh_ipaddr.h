/*
 * IP address helpers of the core library (ipaddr.c), used by the HTTP
 * server (trusted proxies) and the gateways (trusted load balancers, deny
 * rules): the 16-byte form (IPv4 mapped to ::ffff:0:0/96) and membership
 * in a comma-separated list of addresses and CIDR blocks.
 */
#ifndef GH_IPADDR_H
#define GH_IPADDR_H

/* Parse a numeric IPv4 or IPv6 address into out (IPv4 mapped).  0, or -1 when not an address. */
int gh_ip_parse(const char *text, unsigned char out[16]);

/*
 * Whether addr (numeric text) is in list: comma-separated addresses or
 * CIDR blocks ("10.0.0.0/8", "2001:db8::/32"), spaces allowed.  NULL or ""
 * lists match nothing; entries that do not parse are skipped.
 */
int gh_ip_in_list(const char *addr, const char *list);

#endif
