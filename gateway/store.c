/* The store (being written: placeholder until its owner replaces it). */
#include <stdlib.h>
#include "gateway/gw.h"

struct gw_store *gw_store_acquire(void) { return NULL; }
void gw_store_ref(struct gw_store *s) { (void)s; }
void gw_store_unref(struct gw_store *s) { (void)s; }
void gw_store_publish(struct gw_store *s) { (void)s; }
struct gw_store *gw_store_build(struct json_object *model, const char **why) { (void)model; *why = "unwritten"; return NULL; }
const struct gw_api *gw_store_api(const struct gw_store *s, const char *id) { (void)s; (void)id; return NULL; }
const struct gw_app *gw_store_app(const struct gw_store *s, const char *id) { (void)s; (void)id; return NULL; }
const struct gw_key *gw_store_key(const struct gw_store *s, const char *k) { (void)s; (void)k; return NULL; }
const struct gw_sub *gw_store_sub(const struct gw_store *s, const char *a, const char *b) { (void)s; (void)a; (void)b; return NULL; }
const struct gw_policy *gw_store_policy(const struct gw_store *s, int kind, const char *t, const char *n) { (void)s; (void)kind; (void)t; (void)n; return NULL; }
int gw_store_tenant_active(const struct gw_store *s, const char *t) { (void)s; (void)t; return 0; }
int gw_store_jti_revoked(const struct gw_store *s, const char *j) { (void)s; (void)j; return 0; }
int64_t gw_store_client_not_before(const struct gw_store *s, const char *c) { (void)s; (void)c; return 0; }
uint64_t gw_store_generation(void) { return 0; }
