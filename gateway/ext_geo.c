/* GeoIP database (external zone) (being written: placeholder until its owner replaces it). */
#include "gateway/gw.h"

int gw_zone_country(const char *ip, char cc[3]) { (void)ip; cc[0] = 0; return 0; }
#include "gateway/ext_geo.h"
int gw_geo_open(const char *path) { (void)path; return 0; }
void gw_geo_reload(void) { }
void gw_geo_close(void) { }
