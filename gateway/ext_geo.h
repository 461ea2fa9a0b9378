/*
 * The GeoIP country database of the external zone (ext_geo.c,
 * libmaxminddb): opened at start, reopened on SIGHUP.
 */
#ifndef GW_EXT_GEO_H
#define GW_EXT_GEO_H

/* Open path (NULL or "": no database; every lookup gives ""). 0, or -1 after printing why. */
int gw_geo_open(const char *path);
/* Reopen the same path (SIGHUP); keeps the old database when the new one cannot be opened. */
void gw_geo_reload(void);
void gw_geo_close(void);

#endif
