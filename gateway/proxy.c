/* The proxy (being written: placeholder until its owner replaces it). */
#include "gateway/gw.h"

enum gw_rc gw_phase_proxy(struct gw_req *r) { return gw_reply_error(r, 502, 101503, "Runtime Error", "unwritten"); }
int gw_proxy_init(void) { return 0; }
int gw_proxy_worker_init(struct gw_worker *w) { (void)w; return 0; }
void gw_proxy_worker_free(struct gw_worker *w) { (void)w; }
