/*
 * Analytics and the access log.  Every request ends here once
 * (gw_analytics_log): an event with WSO2's analytics fields plus a unique
 * 128-bit "id" (deduplication downstream) is appended as a JSON line to a
 * lock-protected queue; a dedicated writer thread drains it to the local
 * spool (spool_dir/spool-NNNNNNNN.jsonl, rotated at 8 MiB) and fsyncs in
 * batches (every 100 ms or 1,000 events), so workers never wait on disk.
 * The access log is one JSON line per request on the log (stderr),
 * event "gw_access", with what only the gateway knows (API, application,
 * user, upstream, error code); the gateway turns the core server's own
 * "access" line off (worker.c), so there is one line per request.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <pwd.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/gh_codec.h"
#include "core/gh_json.h"
#include "core/gh_log.h"
#include "gateway/analytics.h"
#include "gateway/gw.h"

#define SPOOL_ROTATE (8u << 20)
#define SPOOL_QUEUE_MAX (64u << 20)     /* beyond: events are dropped (and counted) */
#define SPOOL_BATCH 1000
#define SPOOL_TICK_MS 100

struct gw_req_log {
	char request_id[65];
	char client_addr[64];
	char method[16];
	char user_agent[256];
	char path[512];
	int tls;
};

/* ---- the spool writer ---- */

static struct {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	pthread_t th;
	int running, stop;
	char *buf;                      /* queued lines */
	size_t len, cap, nev;
	uint64_t dropped;
	char dir[512];
	int fd;
	unsigned seq;
	size_t size;                    /* of the open file */
} sp = { .mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER, .fd = -1 };

static int
spool_file_open(unsigned seq)
{
	char path[600];
	struct stat st;

	snprintf(path, sizeof(path), "%s/spool-%08u.jsonl", sp.dir, seq);
	sp.fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	if (sp.fd < 0)
		return -1;
	sp.seq = seq;
	sp.size = fstat(sp.fd, &st) == 0 ? (size_t)st.st_size : 0;
	return 0;
}

/* Append b[0..len) (whole lines); a new file starts once one reaches SPOOL_ROTATE. */
static void
spool_write(const char *b, size_t len)
{
	while (len > 0) {
		size_t part = len;

		if (sp.fd >= 0 && sp.size >= SPOOL_ROTATE) {
			fdatasync(sp.fd);
			close(sp.fd);
			sp.fd = -1;
			if (spool_file_open(sp.seq + 1) != 0)
				gh_log_error("spool", NULL, "cannot open the next spool file: %s", strerror(errno));
		}
		if (sp.fd < 0 && spool_file_open(sp.seq) != 0)
			return;
		/* up to the line that crosses the rotation size */
		if (sp.size + len > SPOOL_ROTATE) {
			const char *nl = memchr(b + (SPOOL_ROTATE - sp.size) - 1, '\n',
			    len - (SPOOL_ROTATE - sp.size) + 1);

			part = nl != NULL ? (size_t)(nl - b) + 1 : len;
		}
		len -= part;
		while (part > 0) {
			ssize_t n = write(sp.fd, b, part);

			if (n < 0) {
				if (errno == EINTR)
					continue;
				gh_log_error("spool", NULL, "write: %s", strerror(errno));
				return;
			}
			b += n;
			part -= (size_t)n;
			sp.size += (size_t)n;
		}
	}
}

static void *
spool_main(void *arg)
{
	char *mine = NULL;
	int stop = 0;

	(void)arg;
	while (!stop) {
		struct timespec ts;
		size_t len, nev;

		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += SPOOL_TICK_MS * 1000000L;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		pthread_mutex_lock(&sp.mu);
		while (!sp.stop && sp.nev < SPOOL_BATCH &&
		    pthread_cond_timedwait(&sp.cv, &sp.mu, &ts) != ETIMEDOUT)
			;
		stop = sp.stop;
		/* take the queue; the workers start a fresh one */
		mine = sp.buf;
		len = sp.len;
		nev = sp.nev;
		sp.buf = NULL;
		sp.len = sp.cap = sp.nev = 0;
		pthread_mutex_unlock(&sp.mu);
		if (len > 0) {
			spool_write(mine, len);
			if (sp.fd >= 0)
				fdatasync(sp.fd);
			__atomic_add_fetch(&gw.metrics.spool_events, nev, __ATOMIC_RELAXED);
		}
		free(mine);
	}
	return NULL;
}

/* Highest spool-NNNNNNNN.jsonl in dir (0 when none). */
static unsigned
last_seq(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	unsigned best = 0, n;

	if (d == NULL)
		return 0;
	while ((e = readdir(d)) != NULL)
		if (sscanf(e->d_name, "spool-%8u.jsonl", &n) == 1 && n > best)
			best = n;
	closedir(d);
	return best;
}

int
gw_spool_open(const char *dir)
{
	if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
		fprintf(stderr, "gatehouse-%s: analytics spool %s: %s\n", gw_zone.name, dir, strerror(errno));
		return -1;
	}
	snprintf(sp.dir, sizeof(sp.dir), "%s", dir);
	if (spool_file_open(last_seq(dir)) != 0) {
		fprintf(stderr, "gatehouse-%s: analytics spool %s: %s\n", gw_zone.name, dir, strerror(errno));
		return -1;
	}
	sp.stop = 0;
	if (pthread_create(&sp.th, NULL, spool_main, NULL) != 0) {
		close(sp.fd);
		sp.fd = -1;
		return -1;
	}
	sp.running = 1;
	return 0;
}

void
gw_spool_append(const char *line, size_t len)
{
	pthread_mutex_lock(&sp.mu);
	if (!sp.running || sp.len + len > SPOOL_QUEUE_MAX) {
		sp.dropped++;
		pthread_mutex_unlock(&sp.mu);
		return;
	}
	if (sp.len + len > sp.cap) {
		size_t cap = sp.cap ? sp.cap : 65536;
		char *nb;

		while (cap < sp.len + len)
			cap *= 2;
		nb = realloc(sp.buf, cap);
		if (nb == NULL) {
			sp.dropped++;
			pthread_mutex_unlock(&sp.mu);
			return;
		}
		sp.buf = nb;
		sp.cap = cap;
	}
	memcpy(sp.buf + sp.len, line, len);
	sp.len += len;
	if (++sp.nev == SPOOL_BATCH)
		pthread_cond_signal(&sp.cv);
	pthread_mutex_unlock(&sp.mu);
}

void
gw_spool_close(void)
{
	if (!sp.running)
		return;
	pthread_mutex_lock(&sp.mu);
	sp.stop = 1;
	pthread_cond_signal(&sp.cv);
	pthread_mutex_unlock(&sp.mu);
	pthread_join(sp.th, NULL);
	sp.running = 0;
	if (sp.fd >= 0) {
		fsync(sp.fd);
		close(sp.fd);
		sp.fd = -1;
	}
	if (sp.dropped > 0)
		gh_log_warn("spool", NULL, "%llu analytics events dropped (queue full)",
		    (unsigned long long)sp.dropped);
}

/* ---- events ---- */

static int access_log;

/*
 * The spool outlives the privilege drop: when started as root, hand the
 * folder and its files to node.run_as so that rotation can make new files.
 */
static void
spool_chown(const char *dir)
{
	const char *user = gh_settings_str(gw.cfg, "node.run_as");
	struct passwd *pw;
	struct dirent *e;
	DIR *d;
	char path[1100];

	if (getuid() != 0 || user == NULL || (pw = getpwnam(user)) == NULL)
		return;
	if (chown(dir, pw->pw_uid, pw->pw_gid) != 0)
		gh_log_warn("spool", NULL, "chown %s: %s", dir, strerror(errno));
	if ((d = opendir(dir)) == NULL)
		return;
	while ((e = readdir(d)) != NULL) {
		if (strncmp(e->d_name, "spool-", 6) != 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		if (chown(path, pw->pw_uid, pw->pw_gid) != 0)
			gh_log_warn("spool", NULL, "chown %s: %s", path, strerror(errno));
	}
	closedir(d);
}

int
gw_analytics_init(void)
{
	const char *dir = gw_setting_str("spool_dir");
	char def[600];

	access_log = (int)gw_setting_int("access_log");
	if (dir == NULL || *dir == '\0') {
		snprintf(def, sizeof(def), "%s/spool-%s", gh_settings_str(gw.cfg, "node.data_dir"), gw_zone.name);
		dir = def;
	}
	if (gw_spool_open(dir) != 0)
		return -1;
	spool_chown(dir);
	return 0;
}

void
gw_analytics_worker_free(struct gw_worker *w)
{
	/* no per-worker state: the queue is shared */
	w->analytics_ctx = NULL;
}

void
gw_analytics_shutdown(void)
{
	gw_spool_close();
}

/* Copy printable ASCII of s into out (others become '?'). */
static void
copy_text(char *out, size_t cap, const char *s)
{
	size_t i = 0;

	for (; s != NULL && *s != '\0' && i + 1 < cap; s++)
		out[i++] = (*s >= 0x20 && *s < 0x7f) ? *s : '?';
	out[i] = '\0';
}

/* Copy s (may be NULL: "") into out, truncated to cap - 1 bytes. */
static void
copy_str(char *out, size_t cap, const char *s)
{
	size_t n = s != NULL ? strnlen(s, cap - 1) : 0;

	memcpy(out, s != NULL ? s : "", n);
	out[n] = '\0';
}

void
gw_analytics_begin(struct gw_req *r)
{
	struct gh_http_req *h = r->http;
	struct gw_req_log *l;

	if (r->log != NULL || h == NULL || (l = calloc(1, sizeof(*l))) == NULL)
		return;
	copy_text(l->request_id, sizeof(l->request_id), h->request_id);
	copy_text(l->client_addr, sizeof(l->client_addr), h->client_addr);
	copy_text(l->method, sizeof(l->method), h->method);
	copy_text(l->user_agent, sizeof(l->user_agent), gh_http_req_header(h, "user-agent"));
	copy_text(l->path, sizeof(l->path), h->path);
	l->tls = h->tls;
	r->log = l;
}

static void
mem(struct gh_json_buf *b, const char *k, const char *v)
{
	if (v != NULL && *v != '\0') {
		gh_json_buf_member(b, k, v);
		return;
	}
	if (b->len > 1 && b->buf[b->len - 1] != '{')
		gh_json_buf_raw(b, ",");
	gh_json_buf_str(b, k);
	gh_json_buf_raw(b, ":null");
}

/*
 * The event's 128-bit id: unique, not secret (deduplication downstream).
 * Each thread draws a random 128-bit seed once (RAND_bytes) and then
 * mixes a counter with splitmix64, a bijection: no two events of a thread
 * share an id, and threads (and nodes) differ by their random seeds.
 * This saves a RAND_bytes call (and its lock) per request.
 */
static uint64_t
splitmix64(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ULL;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

static void
event_id(unsigned char out[16])
{
	static __thread uint64_t seed[2], ctr;
	static __thread int seeded;
	uint64_t a, b;

	if (!seeded) {
		if (gh_random_bytes(seed, sizeof(seed)) != 0) {
			struct timespec ts;

			clock_gettime(CLOCK_REALTIME, &ts);
			seed[0] = (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
			seed[1] = (uint64_t)getpid() ^ (uint64_t)(uintptr_t)&ctr;
		}
		seeded = 1;
	}
	ctr++;
	a = splitmix64(seed[0] + ctr);
	b = splitmix64(seed[1] ^ a);
	memcpy(out, &a, 8);
	memcpy(out + 8, &b, 8);
}

static int64_t
mono_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

void
gw_analytics_log(struct gw_req *r)
{
	const struct gw_api *api = r->match.api;
	const struct gw_operation *op = r->match.op;
	struct gw_req_log *l;
	struct gh_json_buf b;
	struct timespec rt;
	char buf[4096], id[33], app_id[130];
	unsigned char rnd[16];
	int64_t lat_ms = (mono_us() - r->t_start_us) / 1000, be_ms = 0, ts_ms;

	gw_analytics_begin(r);          /* when the pipeline did not (the client is still there) */
	l = r->log;
	clock_gettime(CLOCK_REALTIME, &rt);
	ts_ms = (int64_t)rt.tv_sec * 1000 + rt.tv_nsec / 1000000;
	if (r->t_upstream_us > 0 && r->t_upstream_done_us >= r->t_upstream_us)
		be_ms = (r->t_upstream_done_us - r->t_upstream_us) / 1000;
	event_id(rnd);
	gh_hex_encode(rnd, sizeof(rnd), id);
	copy_str(app_id, sizeof(app_id), r->app ? r->app->id : r->who.app_id);

	b.buf = buf;
	b.cap = sizeof(buf);
	b.len = 0;
	b.overflow = 0;
	gh_json_buf_raw(&b, "{");
	mem(&b, "id", id);
	mem(&b, "apiId", api ? api->id : NULL);
	mem(&b, "apiName", api ? api->name : NULL);
	mem(&b, "apiVersion", api ? api->version : NULL);
	mem(&b, "apiContext", api ? api->context : NULL);
	mem(&b, "apiResourceTemplate", op ? op->target : NULL);
	mem(&b, "apiMethod", l ? l->method : NULL);
	mem(&b, "applicationId", app_id);
	mem(&b, "applicationName", r->app ? r->app->name : NULL);
	mem(&b, "keyType", r->who.key_type);
	mem(&b, "userName", r->who.sub);
	mem(&b, "tenant", api ? api->tenant : NULL);
	mem(&b, "userIp", l ? l->client_addr : NULL);
	mem(&b, "country", r->country);
	mem(&b, "userAgent", l ? l->user_agent : NULL);
	gh_json_buf_member_int(&b, "proxyResponseCode", r->status);
	gh_json_buf_member_int(&b, "targetResponseCode", r->upstream_status);
	gh_json_buf_member_int(&b, "responseLatency", lat_ms);
	gh_json_buf_member_int(&b, "backendLatency", be_ms);
	mem(&b, "correlationId", l ? l->request_id : NULL);
	mem(&b, "gatewayNode", gw.node);
	mem(&b, "environment", gw.env);
	gh_json_buf_member_int(&b, "timestamp", ts_ms);
	if (r->error_code[0] != '\0')
		mem(&b, "errorCode", r->error_code);
	if (r->throttled)
		gh_json_buf_raw(&b, ",\"throttled\":true");
	gh_json_buf_raw(&b, "}\n");
	if (!b.overflow)
		gw_spool_append(buf, b.len);
	if (access_log && gh_log_enabled(GH_LOG_INFO)) {
		b.len = 0;
		b.overflow = 0;
		gh_log_head_buf(&b, GH_LOG_INFO, "gw_access", l ? l->request_id : NULL);
		mem(&b, "client", l ? l->client_addr : NULL);
		mem(&b, "method", l ? l->method : NULL);
		mem(&b, "path", l ? l->path : NULL);
		gh_json_buf_member_int(&b, "status", r->status);
		gh_json_buf_member_int(&b, "upstream_status", r->upstream_status);
		gh_json_buf_member_int(&b, "ms", lat_ms);
		gh_json_buf_member_int(&b, "upstream_ms", be_ms);
		mem(&b, "api", api ? api->id : NULL);
		mem(&b, "upstream", r->ep ? r->ep->url : NULL);
		mem(&b, "app", app_id);
		mem(&b, "user", r->who.sub);
		mem(&b, "error_code", r->error_code);
		gh_json_buf_raw(&b, "}\n");
		if (!b.overflow)
			gh_log_write_lines(buf, b.len);
	}
	free(r->log);
	r->log = NULL;
}
