/*
 * Enrolment in the publisher (DESIGN.md "Enrolment"): the admin API that
 * issues one-time enrolment tokens (admin_enrol.c, on 9443) and the
 * endpoint that redeems them for certificates (enroll.c, on the feed
 * port 9446, the one path there that needs no client certificate).
 * enroll.c also owns the feed port's listener: it admits every other
 * path only with a gateway certificate.
 */
#ifndef PUB_ENROL_H
#define PUB_ENROL_H

#include <openssl/ssl.h>

#include "publisher/pub.h"

#define PUB_ENROLL_PATH "/internal/enroll/v1"

/*
 * Start-up, before the privilege drop: read the node CA's certificate
 * (its fingerprint goes into every token), load the CA key when this node
 * holds it (node.data_dir/pki/ca.key: the first node; elsewhere enrolment
 * answers 503), and make feed_tls ask for a client certificate without
 * requiring one, sending the CA certificate in its chain so that a
 * joining node can check the fingerprint its token carries.  0, or -1
 * after printing why.
 */
int pub_enroll_init(SSL_CTX *feed_tls);

/* Free what pub_enroll_init loaded. */
void pub_enroll_shutdown(void);

/* The node CA's SHA-256 fingerprint (64 hex digits), "" before pub_enroll_init. */
const char *pub_enroll_ca_fingerprint(void);

/* POST /internal/enroll/v1 on r (the feed port's router). */
void pub_enroll_routes(struct gh_router *r);

/*
 * The feed port's listener on addr:port: TLS with ssl, the node's http.*
 * limits, r's routes.  A request to any path but PUB_ENROLL_PATH without
 * a gw-internal or gw-external certificate is refused with 403 as soon as
 * its head is read.  Returns the server, or NULL after printing why.
 */
struct gh_http_server *pub_enroll_feed_listen(struct event_base *base, const char *addr, int port,
    SSL_CTX *ssl, struct gh_router *r);

/* 1 when role is a node role that a token may be issued for. */
int pub_enroll_role_known(const char *role);

/* 1 when role is gateway-internal or gateway-external (its token names an environment). */
int pub_enroll_role_is_gateway(const char *role);

/* /api/am/admin/v4/enrolment-tokens (admin_enrol.c) on r (the REST router). */
void pub_admin_enrol_routes(struct gh_router *r);

#endif
