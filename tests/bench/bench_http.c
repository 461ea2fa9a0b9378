/*
 * Benchmark target for tests/bench/foundation.sh: the smallest useful
 * server on gh_http_server.  GET /hello answers 200 with {"ok":true}
 * through gh_http_respond(); anything else gets 404.  Plain HTTP, or TLS
 * with --tls CERT KEY.  It listens on 127.0.0.1:PORT, prints
 * "listening PORT" on stdout once it accepts, and exits cleanly on
 * SIGTERM or SIGINT.  Access lines go to stderr like any gh_http service.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <openssl/ssl.h>

#include "core/gh_http.h"
#include "core/gh_log.h"
#include "core/gh_tls.h"

static const char hello_body[] = "{\"ok\":true}";

static void
hello(struct gh_http_req *req, void *arg)
{
	(void)arg;
	if (strcmp(req->method, "GET") == 0 && strcmp(req->path, "/hello") == 0) {
		gh_http_respond(req, 200, "application/json", hello_body,
		    sizeof(hello_body) - 1);
		return;
	}
	gh_http_respond_error(req, 404, "Not Found", "only GET /hello is served");
}

static void
on_signal(evutil_socket_t sig, short what, void *arg)
{
	(void)sig;
	(void)what;
	event_base_loopbreak(arg);
}

static int
usage(void)
{
	fprintf(stderr, "usage: bench_http PORT [--tls CERT KEY]\n");
	return 2;
}

int
main(int argc, char **argv)
{
	struct gh_http_server_cfg cfg;
	struct gh_http_server *srv = NULL;
	struct event_base *base = NULL;
	struct event *sigterm = NULL, *sigint = NULL;
	SSL_CTX *ssl = NULL;
	char err[256] = "";
	char *end;
	long port;
	int rc = 1;

	if (argc != 2 && argc != 5)
		return usage();
	port = strtol(argv[1], &end, 10);
	if (*argv[1] == '\0' || *end != '\0' || port < 1 || port > 65535)
		return usage();
	if (argc == 5 && strcmp(argv[2], "--tls") != 0)
		return usage();

	signal(SIGPIPE, SIG_IGN);
	gh_log_init("bench_http", 2, GH_LOG_INFO);
	if (argc == 5) {
		ssl = gh_tls_server_ctx(argv[3], argv[4], NULL, err, sizeof(err));
		if (ssl == NULL) {
			fprintf(stderr, "bench_http: TLS: %s\n", err);
			goto out;
		}
	}
	base = event_base_new();
	if (base == NULL) {
		fprintf(stderr, "bench_http: event_base_new failed\n");
		goto out;
	}
	memset(&cfg, 0, sizeof(cfg));
	cfg.name = "bench_http";
	cfg.ssl = ssl;
	cfg.handler = hello;
	srv = gh_http_server_new(base, &cfg);
	if (srv == NULL) {
		fprintf(stderr, "bench_http: out of memory\n");
		goto out;
	}
	if (gh_http_server_listen(srv, "127.0.0.1", (int)port, err, sizeof(err)) < 0) {
		fprintf(stderr, "bench_http: listen: %s\n", err);
		goto out;
	}
	sigterm = evsignal_new(base, SIGTERM, on_signal, base);
	sigint = evsignal_new(base, SIGINT, on_signal, base);
	if (sigterm == NULL || sigint == NULL || evsignal_add(sigterm, NULL) < 0 ||
	    evsignal_add(sigint, NULL) < 0) {
		fprintf(stderr, "bench_http: signal events failed\n");
		goto out;
	}
	printf("listening %d\n", gh_http_server_port(srv));
	fflush(stdout);
	if (event_base_dispatch(base) < 0) {
		fprintf(stderr, "bench_http: event loop failed\n");
		goto out;
	}
	rc = 0;
out:
	if (srv != NULL)
		gh_http_server_free(srv);
	if (sigterm != NULL)
		event_free(sigterm);
	if (sigint != NULL)
		event_free(sigint);
	if (base != NULL)
		event_base_free(base);
	SSL_CTX_free(ssl);
	return rc;
}
