/* Routing (being written: placeholder until its owner replaces it). */
#include <stdlib.h>
#include "gateway/gw.h"

int gw_path_normalize(const char *path, char **out, const char **why) { (void)path; *out = NULL; *why = "unwritten"; return -1; }
int gw_route(const struct gw_store *s, const char *h, const char *p, const char *m, struct gw_match *x) { (void)s; (void)h; (void)p; (void)m; (void)x; return 404; }
void gw_match_clear(struct gw_match *m) { free(m->rest); m->rest = NULL; }
enum gw_rc gw_phase_route(struct gw_req *r) { (void)r; return GW_OK; }
