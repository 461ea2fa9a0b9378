/*
 * Analytics and the access log.  Every request ends here once
 * (gw_analytics_log): an event with WSO2's analytics fields plus a unique
 * 128-bit "id" (deduplication downstream) is formatted as a JSON line.
 * On a worker it goes into the worker's own buffer, which the HTTP
 * server's before_send hook (gw_analytics_worker_flush) writes with one
 * write(2) to the worker's spool file (spool_dir/spool-W-NNNNNNNN.jsonl,
 * rotated at 8 MiB) before it writes any bytes to a client: an event
 * whose response was sent survives a SIGKILL (it is in the page cache).
 * A flush event of the worker's loop writes what no response follows.  A syncer thread
 * fdatasyncs the files every 100 ms.  Outside a worker (tests, start-up)
 * gw_spool_append writes the shared file spool-NNNNNNNN.jsonl at once.
 * ship.c sends the files to the traffic manager.  The access log is one
 * JSON line per request on the log (stderr), event "gw_access".
 */
#include <dirent.h>
#include <errno.h>
#include <event2/event.h>
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
#define SPOOL_BUF_MAX (64u << 20)       /* a worker's unwritten events; beyond: dropped (and counted) */
#define SPOOL_SYNC_MS 100

struct gw_req_log {
	char request_id[65];
	char client_addr[64];
	char method[16];
	char user_agent[256];
	char path[512];
	int tls;
};

/* One sequence of spool files, written by one thread at a time. */
struct spool_stream {
	int slot;                       /* GW_SPOOL_SHARED or worker id + 1 */
	int fd;
	unsigned seq;
	size_t size;                    /* of the open file */
};

/* A worker's pending events (gw_worker.analytics_ctx). */
struct spool_worker {
	struct event *flush;            /* what no response write flushed, written later in the turn */
	char *buf;
	size_t len, cap, nev;
	struct spool_stream st;
};

static struct {
	char dir[512];
	int open;
	pthread_mutex_t mu;             /* the shared stream */
	struct spool_stream shared;
	uint64_t dropped;               /* atomic */
	/* per slot, read by the syncer and the shipper (atomic) */
	unsigned seq[GW_SPOOL_SLOTS];
	int active[GW_SPOOL_SLOTS];
	uint64_t written[GW_SPOOL_SLOTS];
	/* the syncer */
	pthread_t th;
	pthread_mutex_t smu;
	pthread_cond_t scv;
	int sync_running, sync_stop;
} sp = {
	.mu = PTHREAD_MUTEX_INITIALIZER, .smu = PTHREAD_MUTEX_INITIALIZER,
	.scv = PTHREAD_COND_INITIALIZER, .shared = { .slot = GW_SPOOL_SHARED, .fd = -1 },
};

int
gw_spool_name_parse(const char *name, int *slot, unsigned *seq)
{
	const char *p = name;
	unsigned long a = 0, b = 0;
	int na = 0, nb = 0;

	if (strncmp(p, "spool-", 6) != 0)
		return -1;
	for (p += 6; *p >= '0' && *p <= '9' && na < 10; p++, na++)
		a = a * 10 + (unsigned long)(*p - '0');
	if (na == 0)
		return -1;
	if (*p == '-') {
		for (p++; *p >= '0' && *p <= '9' && nb < 10; p++, nb++)
			b = b * 10 + (unsigned long)(*p - '0');
		if (nb != 8 || strcmp(p, ".jsonl") != 0 || a >= GW_SPOOL_SLOTS - 1)
			return -1;
		*slot = (int)a + 1;
		*seq = (unsigned)b;
		return 0;
	}
	if (na != 8 || strcmp(p, ".jsonl") != 0)
		return -1;
	*slot = GW_SPOOL_SHARED;
	*seq = (unsigned)a;
	return 0;
}

void
gw_spool_path(char *out, size_t cap, const char *dir, int slot, unsigned seq)
{
	if (slot == GW_SPOOL_SHARED)
		snprintf(out, cap, "%s/spool-%08u.jsonl", dir, seq);
	else
		snprintf(out, cap, "%s/spool-%d-%08u.jsonl", dir, slot - 1, seq);
}

const char *
gw_spool_dir(void)
{
	return sp.dir;
}

int
gw_spool_is_active(int slot, unsigned seq)
{
	if (slot < 0 || slot >= GW_SPOOL_SLOTS)
		return 0;
	return __atomic_load_n(&sp.active[slot], __ATOMIC_ACQUIRE) &&
	    __atomic_load_n(&sp.seq[slot], __ATOMIC_ACQUIRE) == seq;
}

/*
 * The file a stream starts with: after the highest of its slot when that
 * one holds anything (a previous process may have died mid-line there;
 * its files are complete once nobody writes them), else that one.
 */
static unsigned
first_seq(int slot)
{
	DIR *d = opendir(sp.dir);
	struct dirent *e;
	unsigned best = 0, n;
	int s, found = 0;
	char path[700];
	struct stat st;

	if (d == NULL)
		return 0;
	while ((e = readdir(d)) != NULL)
		if (gw_spool_name_parse(e->d_name, &s, &n) == 0 && s == slot && (!found || n > best)) {
			best = n;
			found = 1;
		}
	closedir(d);
	if (!found)
		return 0;
	gw_spool_path(path, sizeof(path), sp.dir, slot, best);
	return stat(path, &st) == 0 && st.st_size == 0 ? best : best + 1;
}

static int
stream_open(struct spool_stream *st, unsigned seq)
{
	char path[700];
	struct stat sb;

	/* active before the file exists: the shipper must never take it for a finished one */
	__atomic_store_n(&sp.seq[st->slot], seq, __ATOMIC_RELEASE);
	__atomic_store_n(&sp.active[st->slot], 1, __ATOMIC_RELEASE);
	gw_spool_path(path, sizeof(path), sp.dir, st->slot, seq);
	st->fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	if (st->fd < 0)
		return -1;
	st->seq = seq;
	st->size = fstat(st->fd, &sb) == 0 ? (size_t)sb.st_size : 0;
	gw_spool_chown_fd(st->fd);
	return 0;
}

static void
stream_close(struct spool_stream *st)
{
	__atomic_store_n(&sp.active[st->slot], 0, __ATOMIC_RELEASE);
	if (st->fd >= 0)
		close(st->fd);
	st->fd = -1;
}

/*
 * Append b[0..len) (whole lines) to st, one write(2) per file; a new file
 * starts once one reached SPOOL_ROTATE.  0, or -1 when bytes were lost
 * (logged).
 */
static int
stream_write(struct spool_stream *st, const char *b, size_t len)
{
	while (len > 0) {
		size_t part = len;

		if (st->fd >= 0 && st->size >= SPOOL_ROTATE) {
			unsigned next = st->seq + 1;

			/* the syncer syncs the old file: it sees the sequence move */
			close(st->fd);
			st->fd = -1;
			if (stream_open(st, next) != 0) {
				gh_log_error("spool", NULL, "cannot open the next spool file: %s", strerror(errno));
				st->seq = next;
			}
		}
		if (st->fd < 0 && stream_open(st, st->seq) != 0)
			return -1;
		/* up to the line that crosses the rotation size */
		if (st->size + len > SPOOL_ROTATE) {
			const char *nl = memchr(b + (SPOOL_ROTATE - st->size) - 1, '\n',
			    len - (SPOOL_ROTATE - st->size) + 1);

			part = nl != NULL ? (size_t)(nl - b) + 1 : len;
		}
		len -= part;
		while (part > 0) {
			ssize_t n = write(st->fd, b, part);

			if (n < 0) {
				if (errno == EINTR)
					continue;
				gh_log_error("spool", NULL, "write: %s", strerror(errno));
				return -1;
			}
			b += n;
			part -= (size_t)n;
			st->size += (size_t)n;
			__atomic_add_fetch(&sp.written[st->slot], (uint64_t)n, __ATOMIC_RELEASE);
			__atomic_add_fetch(&gw.metrics.spool_depth, (uint64_t)n, __ATOMIC_RELAXED);
		}
	}
	return 0;
}

static size_t
count_lines(const char *b, size_t len)
{
	size_t n = 0;
	const char *p = b, *end = b + len;

	while (p < end && (p = memchr(p, '\n', (size_t)(end - p))) != NULL) {
		n++;
		p++;
	}
	return n;
}

/* ---- the syncer: fdatasync what was written, every SPOOL_SYNC_MS ---- */

struct sync_slot {
	int fd;
	unsigned seq;
	uint64_t synced;
};

static void
sync_pass(struct sync_slot *ss)
{
	for (int i = 0; i < GW_SPOOL_SLOTS; i++) {
		uint64_t w = __atomic_load_n(&sp.written[i], __ATOMIC_ACQUIRE);
		unsigned seq = __atomic_load_n(&sp.seq[i], __ATOMIC_ACQUIRE);
		char path[700];

		if (w == ss[i].synced)
			continue;
		if (ss[i].fd >= 0 && ss[i].seq != seq) {
			fdatasync(ss[i].fd);    /* the rotated file's last bytes */
			close(ss[i].fd);
			ss[i].fd = -1;
		}
		if (ss[i].fd < 0) {
			gw_spool_path(path, sizeof(path), sp.dir, i, seq);
			ss[i].fd = open(path, O_RDONLY | O_CLOEXEC);
			ss[i].seq = seq;
		}
		if (ss[i].fd >= 0)
			fdatasync(ss[i].fd);
		ss[i].synced = w;
	}
}

static void *
sync_main(void *arg)
{
	struct sync_slot *ss = calloc(GW_SPOOL_SLOTS, sizeof(*ss));
	int stop = 0;

	(void)arg;
	if (ss == NULL)
		return NULL;
	for (int i = 0; i < GW_SPOOL_SLOTS; i++)
		ss[i].fd = -1;
	while (!stop) {
		struct timespec ts;

		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += SPOOL_SYNC_MS * 1000000L;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		pthread_mutex_lock(&sp.smu);
		while (!sp.sync_stop && pthread_cond_timedwait(&sp.scv, &sp.smu, &ts) != ETIMEDOUT)
			;
		stop = sp.sync_stop;
		pthread_mutex_unlock(&sp.smu);
		sync_pass(ss);
	}
	for (int i = 0; i < GW_SPOOL_SLOTS; i++)
		if (ss[i].fd >= 0)
			close(ss[i].fd);
	free(ss);
	return NULL;
}

int
gw_spool_open(const char *dir)
{
	if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
		fprintf(stderr, "gatehouse-%s: analytics spool %s: %s\n", gw_zone.name, dir, strerror(errno));
		return -1;
	}
	/* root hands the folder to node.run_as (spool_chown): the drop is checked by the workers */
	if (getuid() != 0 && access(dir, W_OK | X_OK) != 0) {
		fprintf(stderr, "gatehouse-%s: analytics spool %s: %s\n", gw_zone.name, dir, strerror(errno));
		return -1;
	}
	snprintf(sp.dir, sizeof(sp.dir), "%s", dir);
	sp.shared.fd = -1;
	sp.shared.seq = first_seq(GW_SPOOL_SHARED);
	sp.sync_stop = 0;
	if (pthread_create(&sp.th, NULL, sync_main, NULL) != 0)
		return -1;
	sp.sync_running = 1;
	sp.open = 1;
	return 0;
}

void
gw_spool_append(const char *line, size_t len)
{
	size_t n = count_lines(line, len);

	pthread_mutex_lock(&sp.mu);
	if (!sp.open || stream_write(&sp.shared, line, len) != 0) {
		pthread_mutex_unlock(&sp.mu);
		__atomic_add_fetch(&sp.dropped, n, __ATOMIC_RELAXED);
		return;
	}
	pthread_mutex_unlock(&sp.mu);
	__atomic_add_fetch(&gw.metrics.spool_events, n, __ATOMIC_RELAXED);
}

void
gw_spool_close(void)
{
	uint64_t dropped;

	pthread_mutex_lock(&sp.mu);
	sp.open = 0;
	stream_close(&sp.shared);
	pthread_mutex_unlock(&sp.mu);
	if (sp.sync_running) {
		pthread_mutex_lock(&sp.smu);
		sp.sync_stop = 1;
		pthread_cond_signal(&sp.scv);
		pthread_mutex_unlock(&sp.smu);
		pthread_join(sp.th, NULL);
		sp.sync_running = 0;
	}
	dropped = __atomic_exchange_n(&sp.dropped, 0, __ATOMIC_RELAXED);
	if (dropped > 0)
		gh_log_warn("spool", NULL, "%llu analytics events dropped (spool not writable or buffer full)",
		    (unsigned long long)dropped);
}

/* ---- a worker's buffer ---- */

static void
worker_flush(struct spool_worker *sw)
{
	if (sw->len == 0)
		return;
	if (stream_write(&sw->st, sw->buf, sw->len) == 0)
		__atomic_add_fetch(&gw.metrics.spool_events, sw->nev, __ATOMIC_RELAXED);
	else
		__atomic_add_fetch(&sp.dropped, sw->nev, __ATOMIC_RELAXED);
	sw->len = sw->nev = 0;
	if (sw->cap > (1u << 20)) {     /* a burst grew it: give the memory back */
		free(sw->buf);
		sw->buf = NULL;
		sw->cap = 0;
	}
}

static void
flush_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	worker_flush(arg);
}

static void
worker_append(struct spool_worker *sw, const char *line, size_t len)
{
	if (sw->len + len > sw->cap) {
		size_t cap = sw->cap ? sw->cap : 65536;
		char *nb;

		while (cap < sw->len + len)
			cap *= 2;
		if (cap > SPOOL_BUF_MAX || (nb = realloc(sw->buf, cap)) == NULL) {
			__atomic_add_fetch(&sp.dropped, 1, __ATOMIC_RELAXED);
			return;
		}
		sw->buf = nb;
		sw->cap = cap;
	}
	memcpy(sw->buf + sw->len, line, len);
	if (sw->len == 0)
		event_active(sw->flush, EV_TIMEOUT, 0);
	sw->len += len;
	sw->nev++;
}

int
gw_analytics_worker_init(struct gw_worker *w)
{
	struct spool_worker *sw;

	w->analytics_ctx = NULL;
	if (!sp.open || w->id < 0 || w->id >= GW_SPOOL_SLOTS - 1)
		return 0;               /* events go to the shared file */
	sw = calloc(1, sizeof(*sw));
	if (sw == NULL)
		return -1;
	sw->st.slot = w->id + 1;
	sw->st.fd = -1;
	sw->flush = event_new(w->base, -1, 0, flush_cb, sw);
	if (sw->flush == NULL || stream_open(&sw->st, first_seq(sw->st.slot)) != 0) {
		gh_log_error("spool", NULL, "worker %d: cannot open its spool file: %s", w->id, strerror(errno));
		if (sw->flush != NULL)
			event_free(sw->flush);
		free(sw);
		return -1;
	}
	w->analytics_ctx = sw;
	return 0;
}

void
gw_analytics_worker_flush(struct gw_worker *w)
{
	if (w->analytics_ctx != NULL)
		worker_flush(w->analytics_ctx);
}

void
gw_analytics_worker_free(struct gw_worker *w)
{
	struct spool_worker *sw = w->analytics_ctx;

	w->analytics_ctx = NULL;
	if (sw == NULL)
		return;
	worker_flush(sw);
	stream_close(&sw->st);
	event_free(sw->flush);
	free(sw->buf);
	free(sw);
}

/* ---- events ---- */

static int access_log;

/*
 * The spool outlives the privilege drop: when started as root, hand the
 * folder and its files to node.run_as so that rotation can make new files
 * and the shipper can read and delete them.
 */
static uid_t run_uid;
static gid_t run_gid;
static int run_chown;

void
gw_spool_chown_fd(int fd)
{
	if (run_chown && fd >= 0 && fchown(fd, run_uid, run_gid) != 0)
		gh_log_warn("spool", NULL, "fchown: %s", strerror(errno));
}

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
	run_uid = pw->pw_uid;
	run_gid = pw->pw_gid;
	run_chown = 1;
	if (chown(dir, pw->pw_uid, pw->pw_gid) != 0)
		gh_log_warn("spool", NULL, "chown %s: %s", dir, strerror(errno));
	if ((d = opendir(dir)) == NULL)
		return;
	while ((e = readdir(d)) != NULL) {
		if (strncmp(e->d_name, "spool-", 6) != 0 && strncmp(e->d_name, "rejected-", 9) != 0 &&
		    strcmp(e->d_name, "cursor") != 0)
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

/*
 * The event's text, formatted by hand on the hot path: each member's key
 * is a literal with its quotes, colon and comma (EV_LIT), values are
 * escaped as gh_json_buf_str does; the same bytes as the gh_json_buf
 * calls, without their per-call length and comma checks.  overflow: the
 * event did not fit (it is then dropped whole).
 */
struct ev_text {
	char *p, *end;
	int overflow;
};

static void
ev_lit(struct ev_text *e, const char *s, size_t n)
{
	if ((size_t)(e->end - e->p) <= n) {
		e->overflow = 1;
		return;
	}
	memcpy(e->p, s, n);
	e->p += n;
}

#define EV_LIT(e, lit) ev_lit((e), (lit), sizeof(lit) - 1)

/* A string value, escaped; NULL or "" is null (as mem() writes it). */
static void
ev_str(struct ev_text *e, const char *s)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *q = (const unsigned char *)s;
	char *p = e->p, *end = e->end - 8;      /* room for one escape and the closing quote */

	if (s == NULL || *s == '\0') {
		ev_lit(e, "null", 4);
		return;
	}
	if (p >= end)
		goto over;
	*p++ = '"';
	for (; *q != '\0'; q++) {
		if (p >= end)
			goto over;
		if (*q >= 0x20 && *q != '"' && *q != '\\') {
			*p++ = (char)*q;
			continue;
		}
		*p++ = '\\';
		if (*q == '"' || *q == '\\') {
			*p++ = (char)*q;
			continue;
		}
		*p++ = 'u';
		*p++ = '0';
		*p++ = '0';
		*p++ = hex[*q >> 4];
		*p++ = hex[*q & 15];
	}
	*p++ = '"';
	e->p = p;
	return;
over:
	e->overflow = 1;
}

static void
ev_int(struct ev_text *e, long long value)
{
	char num[GH_DEC_LEN];
	size_t n;
	const char *d = gh_dec(value, num, &n);

	ev_lit(e, d, n);
}

void
gw_analytics_log(struct gw_req *r)
{
	const struct gw_api *api = r->match.api;
	const struct gw_operation *op = r->match.op;
	struct gw_req_log *l;
	struct gh_json_buf b;
	struct ev_text e;
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

	e.p = buf;
	e.end = buf + sizeof(buf);
	e.overflow = 0;
	EV_LIT(&e, "{\"id\":");
	ev_str(&e, id);
	EV_LIT(&e, ",\"apiId\":");
	ev_str(&e, api ? api->id : NULL);
	EV_LIT(&e, ",\"apiName\":");
	ev_str(&e, api ? api->name : NULL);
	EV_LIT(&e, ",\"apiVersion\":");
	ev_str(&e, api ? api->version : NULL);
	EV_LIT(&e, ",\"apiContext\":");
	ev_str(&e, api ? api->context : NULL);
	EV_LIT(&e, ",\"apiResourceTemplate\":");
	ev_str(&e, op ? op->target : NULL);
	EV_LIT(&e, ",\"apiMethod\":");
	ev_str(&e, l ? l->method : NULL);
	EV_LIT(&e, ",\"applicationId\":");
	ev_str(&e, app_id);
	EV_LIT(&e, ",\"applicationName\":");
	ev_str(&e, r->app ? r->app->name : NULL);
	EV_LIT(&e, ",\"applicationOwner\":");
	ev_str(&e, r->app ? r->app->owner : NULL);
	EV_LIT(&e, ",\"applicationTenant\":");
	ev_str(&e, r->app ? r->app->tenant : NULL);
	EV_LIT(&e, ",\"keyType\":");
	ev_str(&e, r->who.key_type);
	EV_LIT(&e, ",\"userName\":");
	ev_str(&e, r->who.sub);
	EV_LIT(&e, ",\"tenant\":");
	ev_str(&e, api ? api->tenant : NULL);
	EV_LIT(&e, ",\"userIp\":");
	ev_str(&e, l ? l->client_addr : NULL);
	EV_LIT(&e, ",\"country\":");
	ev_str(&e, r->country);
	EV_LIT(&e, ",\"userAgent\":");
	ev_str(&e, l ? l->user_agent : NULL);
	EV_LIT(&e, ",\"proxyResponseCode\":");
	ev_int(&e, r->status);
	EV_LIT(&e, ",\"targetResponseCode\":");
	ev_int(&e, r->upstream_status);
	EV_LIT(&e, ",\"responseLatency\":");
	ev_int(&e, lat_ms);
	EV_LIT(&e, ",\"backendLatency\":");
	ev_int(&e, be_ms);
	EV_LIT(&e, ",\"correlationId\":");
	ev_str(&e, l ? l->request_id : NULL);
	EV_LIT(&e, ",\"gatewayNode\":");
	ev_str(&e, gw.node);
	EV_LIT(&e, ",\"environment\":");
	ev_str(&e, gw.env);
	EV_LIT(&e, ",\"timestamp\":");
	ev_int(&e, ts_ms);
	if (r->error_code[0] != '\0') {
		EV_LIT(&e, ",\"errorCode\":");
		ev_str(&e, r->error_code);
	}
	if (r->throttled)
		EV_LIT(&e, ",\"throttled\":true");
	EV_LIT(&e, "}\n");
	if (!e.overflow) {
		struct spool_worker *sw = r->w != NULL ? r->w->analytics_ctx : NULL;

		if (sw != NULL)
			worker_append(sw, buf, (size_t)(e.p - buf));
		else
			gw_spool_append(buf, (size_t)(e.p - buf));
	}
	b.buf = buf;
	b.cap = sizeof(buf);
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
