/*
 * Socket I/O of the HTTP server's connections, plain or TLS, without
 * bufferevents: a read event fills the connection's input buffer (one
 * recv(2), or SSL_read on the non-blocking socket until OpenSSL holds no
 * more bytes), and the output buffer goes straight to the socket from the
 * loop (writev, or SSL_write of up to 16 KiB at a time); a write event is
 * armed only while the socket or TLS wants it.  TLS: the handshake runs
 * inside the first SSL_read, SSL_ERROR_WANT_READ and WANT_WRITE are
 * handled in both directions, close_notify is sent by http_io_close_notify.
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include "core/http_int.h"

/* Plaintext bytes per read call (one TLS record at most) and per SSL_write. */
#define IO_CHUNK 16384

static size_t
input_high(const struct gh_http_conn *conn)
{
	return conn->srv->cfg.limits.max_header_bytes + 65536;
}

/* Add or remove the read and write events to match what is wanted now. */
static void
io_update(struct gh_http_conn *conn)
{
	/* a read that waits for writability does not spin on readability meanwhile */
	int want_r = (conn->rd_on && !conn->rd_full && !conn->rd_wants_w) || conn->wr_wants_r;
	int want_w = conn->wr_blocked || conn->rd_wants_w;

	if (want_r != conn->rev_added) {
		if (want_r)
			event_add(conn->rev, NULL);
		else
			event_del(conn->rev);
		conn->rev_added = want_r;
	}
	if (want_w != conn->wev_added) {
		if (want_w) {
			const struct gh_http_limits *l = &conn->srv->cfg.limits;
			struct timeval tv = { l->idle_timeout_ms / 1000,
			    (l->idle_timeout_ms % 1000) * 1000 };

			/* A socket that takes nothing for the idle timeout is given up. */
			event_add(conn->wev, &tv);
		} else {
			event_del(conn->wev);
		}
		conn->wev_added = want_w;
	}
}

/* The TLS error is final: the queue of OpenSSL errors is dropped with it. */
static int
ssl_failed(int err)
{
	ERR_clear_error();
	return err;
}

/* Plain: one recv into the input.  Returns 1 when bytes came, 0 when none, -1 when conn was freed. */
static int
plain_read(struct gh_http_conn *conn)
{
	struct evbuffer *in = conn->in;
	size_t len = evbuffer_get_length(in), high = input_high(conn), room;
	char buf[IO_CHUNK];
	ssize_t n;

	room = high - len < sizeof(buf) ? high - len : sizeof(buf);
	n = recv(conn->fd, buf, room, 0);
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
		return 0;
	if (n <= 0 || evbuffer_add(in, buf, (size_t)n) != 0) {
		http_io_read_off(conn);
		http_conn_io_end(conn, n == 0);
		return -1;
	}
	return 1;
}

/*
 * TLS: SSL_read into the input while OpenSSL holds bytes it read ahead
 * (a record already received needs no readable event).  Returns 1 when
 * bytes came, 0 when none, -1 when conn was freed.
 */
static int
tls_read(struct gh_http_conn *conn)
{
	struct evbuffer *in = conn->in;
	size_t high = input_high(conn);
	char buf[IO_CHUNK];
	int got = 0;

	for (;;) {
		size_t len = evbuffer_get_length(in), room;
		int n, err;

		if (len >= high) {
			conn->rd_full = 1;
			io_update(conn);
			return got;
		}
		room = high - len < sizeof(buf) ? high - len : sizeof(buf);
		n = SSL_read(conn->ssl, buf, (int)room);
		if (n > 0) {
			if (evbuffer_add(in, buf, (size_t)n) != 0) {
				http_io_read_off(conn);
				http_conn_io_end(conn, 0);
				return -1;
			}
			got = 1;
			if (!SSL_has_pending(conn->ssl))
				return got;
			continue;
		}
		err = SSL_get_error(conn->ssl, n);
		if (err == SSL_ERROR_WANT_READ)
			return got;
		if (err == SSL_ERROR_WANT_WRITE) {
			conn->rd_wants_w = 1;
			io_update(conn);
			return got;
		}
		if (got) {
			/* The bytes before the end go first; the end is seen again on the next turn. */
			event_active(conn->rev, EV_READ, 0);
			return got;
		}
		/* close_notify is an end of stream; anything else (a TCP end without it too) an error */
		ssl_failed(err);
		http_io_read_off(conn);
		http_conn_io_end(conn, err == SSL_ERROR_ZERO_RETURN);
		return -1;
	}
}

/* Read what the socket has and hand it to the server.  conn may be freed. */
static void
do_read(struct gh_http_conn *conn)
{
	int rc;

	if (evbuffer_get_length(conn->in) >= input_high(conn)) {
		conn->rd_full = 1;
		io_update(conn);
		return;
	}
	rc = conn->ssl != NULL ? tls_read(conn) : plain_read(conn);
	if (rc > 0)
		http_conn_input(conn);
}

/* TLS: write the output in SSL_write calls of up to IO_CHUNK bytes.  0, or -1 when conn was freed. */
static int
tls_send(struct gh_http_conn *conn)
{
	struct evbuffer *out = conn->out;
	size_t len;

	http_conn_before_write(conn);
	while ((len = evbuffer_get_length(out)) > 0) {
		size_t n = len < IO_CHUNK ? len : IO_CHUNK;
		unsigned char *p = evbuffer_pullup(out, (ev_ssize_t)n);
		int w, err;

		if (p == NULL) {
			http_conn_io_end(conn, 0);
			return -1;
		}
		w = SSL_write(conn->ssl, p, (int)n);
		if (w > 0) {
			evbuffer_drain(out, (size_t)w);
			continue;
		}
		err = SSL_get_error(conn->ssl, w);
		if (err == SSL_ERROR_WANT_WRITE) {
			conn->wr_blocked = 1;
			return 0;
		}
		if (err == SSL_ERROR_WANT_READ) {
			conn->wr_wants_r = 1;
			return 0;
		}
		ssl_failed(err);
		http_conn_io_end(conn, 0);
		return -1;
	}
	return 0;
}

/* Plain: writev what the socket takes.  0, or -1 when conn was freed. */
static int
plain_send(struct gh_http_conn *conn)
{
	struct evbuffer *out = conn->out;

	http_conn_before_write(conn);
	while (evbuffer_get_length(out) > 0) {
		int n = evbuffer_write(out, conn->fd);

		if (n > 0)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
			conn->wr_blocked = 1;
			return 0;
		}
		http_conn_io_end(conn, 0);
		return -1;
	}
	return 0;
}

int
http_io_send(struct gh_http_conn *conn)
{
	int rc;

	if (conn->wr_blocked || conn->wr_wants_r || evbuffer_get_length(conn->out) == 0)
		return 0;       /* the event that will go on is armed */
	rc = conn->ssl != NULL ? tls_send(conn) : plain_send(conn);
	if (rc == 0)
		io_update(conn);
	return rc;
}

/* Go on with a write that waited for the socket; then tell the server when all went. */
static int
resume_write(struct gh_http_conn *conn)
{
	conn->wr_blocked = 0;
	conn->wr_wants_r = 0;
	if (http_io_send(conn) < 0)
		return -1;
	io_update(conn);
	if (!conn->wr_blocked && !conn->wr_wants_r && evbuffer_get_length(conn->out) == 0)
		return http_conn_flushed(conn);
	return 0;
}

static void
rev_cb(evutil_socket_t fd, short what, void *arg)
{
	struct gh_http_conn *conn = arg;

	(void)fd;
	(void)what;
	if (conn->wr_wants_r && resume_write(conn) < 0)
		return;
	if (conn->rd_on && !conn->rd_full && !conn->rd_wants_w)
		do_read(conn);
	else
		io_update(conn);
}

static void
wev_cb(evutil_socket_t fd, short what, void *arg)
{
	struct gh_http_conn *conn = arg;

	(void)fd;
	if (what & EV_TIMEOUT) {
		http_io_read_off(conn);
		http_conn_io_end(conn, 0);
		return;
	}
	if (conn->wr_blocked && resume_write(conn) < 0)
		return;
	if (conn->rd_wants_w) {
		conn->rd_wants_w = 0;
		io_update(conn);
		if (conn->rd_on && !conn->rd_full)
			do_read(conn);
	}
}

int
http_io_open(struct gh_http_conn *conn, SSL_CTX *ctx)
{
	struct event_base *base = conn->srv->base;

	conn->in = evbuffer_new();
	conn->out = evbuffer_new();
	conn->rev = event_new(base, conn->fd, EV_READ | EV_PERSIST, rev_cb, conn);
	conn->wev = event_new(base, conn->fd, EV_WRITE | EV_PERSIST, wev_cb, conn);
	if (conn->in == NULL || conn->out == NULL || conn->rev == NULL || conn->wev == NULL)
		return -1;
	if (ctx == NULL)
		return 0;
	if ((conn->ssl = SSL_new(ctx)) == NULL || SSL_set_fd(conn->ssl, conn->fd) != 1) {
		ERR_clear_error();
		return -1;
	}
	SSL_set_accept_state(conn->ssl);
	/*
	 * Read ahead: a record's header and body in one read(2), the next
	 * record's start kept (tls_read asks SSL_has_pending).  Partial
	 * writes with a moving buffer: the output buffer is pulled up anew at
	 * each try, and at least the bytes of the last try are offered again.
	 * The context's SSL_MODE_RELEASE_BUFFERS stays: keeping the record
	 * buffers (35 KiB per connection, idle ones too) saved nothing
	 * measurable per request.
	 */
	SSL_set_read_ahead(conn->ssl, 1);
	SSL_set_mode(conn->ssl, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	return 0;
}

void
http_io_close(struct gh_http_conn *conn)
{
	if (conn->rev != NULL)
		event_free(conn->rev);
	if (conn->wev != NULL)
		event_free(conn->wev);
	conn->rev = conn->wev = NULL;
	if (conn->in != NULL)
		evbuffer_free(conn->in);
	if (conn->out != NULL)
		evbuffer_free(conn->out);
	conn->in = conn->out = NULL;
	if (conn->ssl != NULL)
		SSL_free(conn->ssl);
	conn->ssl = NULL;
	if (conn->fd >= 0)
		close(conn->fd);
	conn->fd = -1;
}

void
http_io_read_on(struct gh_http_conn *conn)
{
	conn->rd_on = 1;
	io_update(conn);
}

void
http_io_read_off(struct gh_http_conn *conn)
{
	conn->rd_on = 0;
	conn->rd_full = 0;
	io_update(conn);
}

void
http_io_input_drained(struct gh_http_conn *conn)
{
	if (!conn->rd_full || !conn->rd_on || evbuffer_get_length(conn->in) >= input_high(conn))
		return;
	conn->rd_full = 0;
	io_update(conn);
	/* TLS: bytes OpenSSL read ahead make no readable event of their own */
	if (conn->ssl != NULL && SSL_has_pending(conn->ssl))
		event_active(conn->rev, EV_READ, 0);
}

void
http_io_stop(struct gh_http_conn *conn)
{
	conn->rd_on = conn->rd_full = 0;
	conn->wr_blocked = conn->wr_wants_r = conn->rd_wants_w = 0;
	io_update(conn);
}

int
http_io_pending(const struct gh_http_conn *conn)
{
	return conn->wr_blocked || conn->wr_wants_r;
}

void
http_io_close_notify(struct gh_http_conn *conn)
{
	if (conn->ssl != NULL && SSL_is_init_finished(conn->ssl)) {
		/* One try on the non-blocking socket, as the linger does not wait for it. */
		SSL_shutdown(conn->ssl);
		ERR_clear_error();
	}
}
