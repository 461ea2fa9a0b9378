/*
 * The proxy's passive health table (proxy.c), exposed for tests: endpoints
 * that failed to connect are ejected for upstream_eject milliseconds.
 * Process-wide, keyed by URL, lock-free (atomic timestamps).
 */
#ifndef GW_PROXY_H
#define GW_PROXY_H

#include <stdint.h>

/* Eject url until now_ms + for_ms (CLOCK_MONOTONIC ms). */
void gw_health_eject(const char *url, int64_t now_ms, int64_t for_ms);
/* 1 when url is ejected at now_ms. */
int gw_health_ejected(const char *url, int64_t now_ms);

#endif
