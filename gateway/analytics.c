/* Analytics (being written: placeholder until its owner replaces it). */
#include "gateway/gw.h"

void gw_analytics_log(struct gw_req *r) { (void)r; }
int gw_analytics_init(void) { return 0; }
void gw_analytics_worker_free(struct gw_worker *w) { (void)w; }
void gw_analytics_shutdown(void) { }
