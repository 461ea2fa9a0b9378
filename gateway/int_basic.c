/* Basic authentication against LDAP (internal zone) (being written: placeholder until its owner replaces it). */
#include "gateway/gw.h"

enum gw_rc gw_zone_basic(struct gw_req *r, const char *a) { (void)r; (void)a; return GW_DECLINED; }
#include "gateway/int_basic.h"
int gw_basic_init(const struct gh_settings *cfg) { (void)cfg; return 0; }
void gw_basic_shutdown(void) { }
