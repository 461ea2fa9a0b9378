/*
 * The analytics shipper, the gateway's side of POST
 * /internal/analytics/v1/events (trafficmanager/PROTOCOL.md).  One thread
 * reads the spool files (analytics.c) of every slot in order from a
 * durable cursor (spool_dir/cursor: slot, file, byte offset per slot;
 * written to a temporary file, fsynced and renamed), sends up to
 * analytics_batch complete lines per POST, advances the cursor only on a
 * 200 and deletes a file once it is complete (no longer written) and fully
 * acknowledged.  While the traffic manager is away it backs off up to 5 s;
 * a batch it refuses as bad (400, 413, 415) is kept in
 * spool_dir/rejected-*.jsonl and shipping goes on.  At stop: one last
 * attempt, at most 2 s.
 */
#include <dirent.h>
#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/gh_http.h"
#include "core/gh_log.h"
#include "gateway/analytics.h"
#include "gateway/gw.h"

#define SHIP_MAX_BYTES (768u << 10)     /* a batch is resent whole after a failure: keep it small */
#define SHIP_BACKOFF_MAX_MS 5000
#define SHIP_FINAL_MS 2000
#define SHIP_MAX_FILES 4096             /* files considered per scan */

struct ship_cursor {
	unsigned seq;                   /* files of the slot below seq are acknowledged */
	long long off;                  /* bytes of file seq acknowledged */
	int known;
};

struct ship_file {
	int slot;
	unsigned seq;
	long long size;
};

/* A piece of a file in the batch being sent. */
struct ship_seg {
	int slot;
	unsigned seq;
	long long start, end;           /* bytes [start, end) are settled by the batch */
	int complete;                   /* the file ends at end and is no longer written */
};

static struct {
	pthread_t th;
	int running;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int stop;
	char url[700];
	char dir[512];
	size_t batch_lines;
	int64_t interval_ms;
	struct event_base *base;
	struct gh_httpc *c;
	struct ship_cursor cur[GW_SPOOL_SLOTS];
	struct ship_file *files;
	size_t nfiles;
	struct ship_seg segs[GW_SPOOL_SLOTS * 2];
	size_t nsegs;
	char *body;
	size_t len, cap;
	size_t lines;
	unsigned rejected_seq;
} sh = { .mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER };

static int64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- the cursor file ---- */

static void
cursor_load(void)
{
	char path[600], line[128];
	FILE *f;

	memset(sh.cur, 0, sizeof(sh.cur));
	snprintf(path, sizeof(path), "%s/cursor", sh.dir);
	if ((f = fopen(path, "r")) == NULL)
		return;
	while (fgets(line, sizeof(line), f) != NULL) {
		int slot;
		unsigned seq;
		long long off;

		if (sscanf(line, "%d %u %lld", &slot, &seq, &off) != 3 || slot < 0 ||
		    slot >= GW_SPOOL_SLOTS || off < 0)
			continue;
		sh.cur[slot].seq = seq;
		sh.cur[slot].off = off;
		sh.cur[slot].known = 1;
	}
	fclose(f);
}

/* Write the cursors durably: a temporary file, fsync, rename, fsync of the folder.  0 or -1. */
static int
cursor_save(void)
{
	char path[600], tmp[620], buf[64];
	int fd, dfd, rc = -1;

	snprintf(path, sizeof(path), "%s/cursor", sh.dir);
	snprintf(tmp, sizeof(tmp), "%s/cursor.tmp", sh.dir);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		goto out;
	gw_spool_chown_fd(fd);
	for (int i = 0; i < GW_SPOOL_SLOTS; i++) {
		int n;

		if (!sh.cur[i].known)
			continue;
		n = snprintf(buf, sizeof(buf), "%d %u %lld\n", i, sh.cur[i].seq, sh.cur[i].off);
		if (write(fd, buf, (size_t)n) != n)
			goto out;
	}
	if (fsync(fd) != 0)
		goto out;
	close(fd);
	fd = -1;
	if (rename(tmp, path) != 0)
		goto out;
	if ((dfd = open(sh.dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) >= 0) {
		fsync(dfd);
		close(dfd);
	}
	rc = 0;
out:
	if (fd >= 0)
		close(fd);
	if (rc != 0)
		gh_log_error("ship", NULL, "cannot write %s: %s", path, strerror(errno));
	return rc;
}

/* ---- scanning and batching ---- */

static int
file_cmp(const void *a, const void *b)
{
	const struct ship_file *x = a, *y = b;

	if (x->slot != y->slot)
		return x->slot < y->slot ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static void
unlink_file(int slot, unsigned seq)
{
	char path[700];

	gw_spool_path(path, sizeof(path), sh.dir, slot, seq);
	if (unlink(path) != 0 && errno != ENOENT)
		gh_log_warn("ship", NULL, "cannot delete %s: %s", path, strerror(errno));
}

/*
 * List the spool files by slot and sequence; delete the ones the cursor
 * says were acknowledged; set the spool-depth gauge.  0 or -1.
 */
static int
scan(void)
{
	DIR *d = opendir(sh.dir);
	struct dirent *e;
	size_t n = 0, w = 0;
	long long depth = 0;

	if (d == NULL)
		return -1;
	while ((e = readdir(d)) != NULL && n < SHIP_MAX_FILES) {
		struct ship_file f;
		struct stat st;
		char path[1024];

		if (gw_spool_name_parse(e->d_name, &f.slot, &f.seq) != 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", sh.dir, e->d_name);
		if (stat(path, &st) != 0)
			continue;
		f.size = (long long)st.st_size;
		sh.files[n++] = f;
	}
	closedir(d);
	qsort(sh.files, n, sizeof(sh.files[0]), file_cmp);
	for (size_t i = 0; i < n; i++) {
		struct ship_file *f = &sh.files[i];
		struct ship_cursor *c = &sh.cur[f->slot];

		if (c->known && f->seq < c->seq && !gw_spool_is_active(f->slot, f->seq)) {
			unlink_file(f->slot, f->seq);
			continue;
		}
		depth += f->size - (c->known && f->seq == c->seq ? (c->off < f->size ? c->off : f->size) : 0);
		sh.files[w++] = *f;
	}
	sh.nfiles = w;
	__atomic_store_n(&gw.metrics.spool_depth, (uint64_t)depth, __ATOMIC_RELAXED);
	return 0;
}

static int
body_reserve(size_t more)
{
	char *nb;
	size_t cap = sh.cap ? sh.cap : 65536;

	if (sh.len + more <= sh.cap)
		return 0;
	while (cap < sh.len + more)
		cap *= 2;
	if ((nb = realloc(sh.body, cap)) == NULL)
		return -1;
	sh.body = nb;
	sh.cap = cap;
	return 0;
}

/*
 * Add lines of file f from byte start to the batch, within the limits.
 * Returns 1 when the batch is full, 0 when the file gave what it had, -1
 * on a read error.  Leaves a segment for what it settled: whole lines,
 * and for a complete file read to its end, the rest (the unfinished last
 * line of a process killed mid-write, whose response was never sent).
 */
static int
take_file(const struct ship_file *f, long long start)
{
	char path[700];
	int fd, complete = !gw_spool_is_active(f->slot, f->seq), cut = 0, counted = 0;
	long long size = f->size, want;
	size_t room, got = 0, keep = 0, nl = 0;
	struct ship_seg *s;
	struct stat st;

	gw_spool_path(path, sizeof(path), sh.dir, f->slot, f->seq);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return errno == ENOENT ? 0 : -1;
	if (fstat(fd, &st) == 0)
		size = (long long)st.st_size;      /* it may have grown since the scan */
	if (start > size)
		start = size;
	room = SHIP_MAX_BYTES > sh.len ? SHIP_MAX_BYTES - sh.len : 0;
	want = size - start;
	if (want > (long long)room) {
		want = (long long)room;
		cut = 1;
	}
	if (body_reserve((size_t)want + 1) != 0) {
		close(fd);
		return -1;
	}
	while ((long long)got < want) {
		ssize_t r = pread(fd, sh.body + sh.len + got, (size_t)want - got, start + (long long)got);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		got += (size_t)r;
	}
	close(fd);
	for (size_t i = 0; i < got && !counted; i++)
		if (sh.body[sh.len + i] == '\n') {
			keep = i + 1;
			counted = sh.lines + ++nl >= sh.batch_lines;
		}
	if (keep == 0 && cut && sh.len == 0 && got > 0) {
		/* no line end in a whole batch's worth: not spool lines; skip them */
		gh_log_warn("ship", NULL, "%s: %zu bytes without a line end skipped", path, got);
		sh.segs[sh.nsegs++] = (struct ship_seg){ f->slot, f->seq, start, start + (long long)got, 0 };
		return 1;
	}
	sh.len += keep;
	sh.lines += nl;
	s = &sh.segs[sh.nsegs];
	*s = (struct ship_seg){ f->slot, f->seq, start, start + (long long)keep, 0 };
	if (!cut && !counted && complete && start + (long long)got >= size) {
		if (got > keep)
			gh_log_warn("ship", NULL, "%s: %zu bytes of an unfinished last line skipped", path,
			    got - keep);
		s->end = size;
		s->complete = 1;
	}
	if (s->end > s->start || s->complete)
		sh.nsegs++;
	return cut || counted;
}

/* Build the next batch from the cursors.  0, or -1 on a read error. */
static int
batch_build(void)
{
	size_t i = 0;

	sh.len = sh.lines = sh.nsegs = 0;
	while (i < sh.nfiles) {
		int slot = sh.files[i].slot;

		for (; i < sh.nfiles && sh.files[i].slot == slot; i++) {
			const struct ship_file *f = &sh.files[i];
			struct ship_cursor *c = &sh.cur[slot];
			long long start = c->known && f->seq == c->seq ? c->off : 0;
			size_t nsegs = sh.nsegs;
			int rc;

			if (c->known && f->seq < c->seq)
				continue;
			if (sh.nsegs >= sizeof(sh.segs) / sizeof(sh.segs[0]) - 1)
				return 0;
			rc = take_file(f, start);
			if (rc < 0)
				return -1;
			if (rc > 0)
				return 0;
			/* the slot's next file only once this one is settled whole */
			if (sh.nsegs == nsegs || !sh.segs[sh.nsegs - 1].complete) {
				while (i < sh.nfiles && sh.files[i].slot == slot)
					i++;
				break;
			}
		}
	}
	return 0;
}

/* The batch is settled (acknowledged or set aside): move the cursors, delete finished files. */
static void
batch_settle(int shipped)
{
	long long bytes = 0;

	for (size_t i = 0; i < sh.nsegs; i++) {
		struct ship_seg *s = &sh.segs[i];
		struct ship_cursor *c = &sh.cur[s->slot];

		c->known = 1;
		c->seq = s->complete ? s->seq + 1 : s->seq;
		c->off = s->complete ? 0 : s->end;
		bytes += s->end - s->start;
	}
	if (cursor_save() != 0)
		return;                 /* sent again later: the traffic manager drops duplicates */
	for (size_t i = 0; i < sh.nsegs; i++)
		if (sh.segs[i].complete)
			unlink_file(sh.segs[i].slot, sh.segs[i].seq);
	if (shipped)
		__atomic_add_fetch(&gw.metrics.analytics_shipped, sh.lines, __ATOMIC_RELAXED);
	if (__atomic_load_n(&gw.metrics.spool_depth, __ATOMIC_RELAXED) >= (uint64_t)bytes)
		__atomic_sub_fetch(&gw.metrics.spool_depth, (uint64_t)bytes, __ATOMIC_RELAXED);
}

/* Keep a refused batch in spool_dir/rejected-MS-N.jsonl. */
static void
batch_reject(int status, const char *why)
{
	char path[700];
	struct timespec ts;
	int fd;

	clock_gettime(CLOCK_REALTIME, &ts);
	snprintf(path, sizeof(path), "%s/rejected-%lld-%u.jsonl", sh.dir,
	    (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000, sh.rejected_seq++);
	gh_log_error("ship_rejected", NULL, "the traffic manager refused a batch of %zu events with %d (%s); "
	    "kept in %s", sh.lines, status, why, path);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0 || write(fd, sh.body, sh.len) != (ssize_t)sh.len || fsync(fd) != 0) {
		gh_log_error("ship", NULL, "cannot write %s: %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return;                 /* keep the cursor: sent again later */
	}
	gw_spool_chown_fd(fd);
	close(fd);
	__atomic_add_fetch(&gw.metrics.analytics_rejected, sh.lines, __ATOMIC_RELAXED);
	batch_settle(0);
}

/* ---- sending ---- */

struct post_result {
	int done;
	int status;                     /* 0: no answer */
	char why[256];
};

static void
post_cb(struct gh_httpc_resp *resp, void *arg)
{
	struct post_result *pr = arg;

	pr->done = 1;
	if (resp->error == GH_HTTPC_OK) {
		pr->status = resp->status;
		snprintf(pr->why, sizeof(pr->why), "%.*s", (int)(resp->body_len < 200 ? resp->body_len : 200),
		    resp->body ? (const char *)resp->body : "");
	} else {
		snprintf(pr->why, sizeof(pr->why), "%s", resp->errstr ? resp->errstr : "error");
	}
	event_base_loopbreak(sh.base);
}

/* POST the batch; the status of the answer, or 0 when none came within timeout_ms. */
static int
batch_post(int timeout_ms, char *why, size_t whylen)
{
	const struct gh_http_header h[] = { { (char *)"Content-Type", (char *)"application/x-ndjson" } };
	struct gh_httpc_opts o = { timeout_ms < 2000 ? timeout_ms : 2000, timeout_ms };
	struct post_result pr = { 0, 0, "" };

	/* let the client notice connections the traffic manager closed meanwhile */
	event_base_loop(sh.base, EVLOOP_NONBLOCK);
	if (gh_httpc_request_opts(sh.c, &o, "POST", sh.url, h, 1, sh.body, sh.len, post_cb, &pr) != 0) {
		snprintf(why, whylen, "bad URL");
		return 0;
	}
	while (!pr.done)
		event_base_loop(sh.base, 0);
	snprintf(why, whylen, "%s", pr.why);
	return pr.status;
}

/*
 * One step: build a batch and send it.  Returns 1 when a full batch was
 * settled (go on at once), 0 when the spool is drained, -1 when the
 * traffic manager did not take it (back off).
 */
static int
ship_once(int timeout_ms)
{
	char why[256];
	int status;

	if (scan() != 0 || batch_build() != 0) {
		gh_log_error("ship", NULL, "cannot read the spool %s: %s", sh.dir, strerror(errno));
		return -1;
	}
	if (sh.nsegs == 0)
		return 0;
	if (sh.lines == 0) {            /* only finished files without lines */
		batch_settle(0);
		return 1;
	}
	status = batch_post(timeout_ms, why, sizeof(why));
	if (status == 200) {
		batch_settle(1);
		return sh.lines >= sh.batch_lines || sh.len >= SHIP_MAX_BYTES / 2 ? 1 : 0;
	}
	if (status == 400 || status == 413 || status == 415) {
		batch_reject(status, why);
		return 1;
	}
	__atomic_add_fetch(&gw.metrics.ship_errors, 1, __ATOMIC_RELAXED);
	gh_log_debug("ship", NULL, "batch of %zu events not taken: %d %s", sh.lines, status, why);
	return -1;
}

/* Sleep ms unless stopped; 1 when asked to stop. */
static int
ship_wait(int64_t ms)
{
	struct timespec ts;
	int stop;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += ms / 1000;
	ts.tv_nsec += (ms % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&sh.mu);
	while (!sh.stop && pthread_cond_timedwait(&sh.cv, &sh.mu, &ts) != ETIMEDOUT)
		;
	stop = sh.stop;
	pthread_mutex_unlock(&sh.mu);
	return stop;
}

static void *
ship_main(void *arg)
{
	int64_t backoff = 0, deadline;
	int was_down = 0, rc;

	(void)arg;
	for (;;) {
		rc = ship_once(10000);
		if (rc < 0) {
			backoff = backoff == 0 ? 250 : backoff * 2;
			if (backoff > SHIP_BACKOFF_MAX_MS)
				backoff = SHIP_BACKOFF_MAX_MS;
			if (!was_down)
				gh_log_warn("ship", NULL, "the traffic manager does not take analytics (%s); "
				    "events stay in the spool", sh.url);
			was_down = 1;
			if (ship_wait(backoff))
				break;
			continue;
		}
		if (was_down)
			gh_log_info("ship", NULL, "the traffic manager takes analytics again");
		was_down = 0;
		backoff = 0;
		if (rc > 0) {
			pthread_mutex_lock(&sh.mu);
			rc = sh.stop;
			pthread_mutex_unlock(&sh.mu);
			if (rc)
				break;
			continue;
		}
		if (ship_wait(sh.interval_ms))
			break;
	}
	/* stopping: the workers have flushed; one last bounded attempt */
	deadline = now_ms() + SHIP_FINAL_MS;
	while (now_ms() < deadline) {
		rc = ship_once((int)(deadline - now_ms()));
		if (rc <= 0)
			break;
	}
	return NULL;
}

int
gw_ship_start(void)
{
	const char *tm = gw_tm_url();
	size_t n;

	if (tm == NULL)
		return 0;               /* no traffic manager: the spool stays on disk */
	n = strlen(tm);
	while (n > 0 && tm[n - 1] == '/')
		n--;
	snprintf(sh.url, sizeof(sh.url), "%.*s/internal/analytics/v1/events", (int)n, tm);
	snprintf(sh.dir, sizeof(sh.dir), "%s", gw_spool_dir());
	sh.batch_lines = (size_t)gw_setting_int("analytics_batch");
	sh.interval_ms = gw_setting_int("analytics_interval");
	if (sh.batch_lines == 0)
		sh.batch_lines = 1000;
	if (sh.interval_ms <= 0)
		sh.interval_ms = 1000;
	sh.files = calloc(SHIP_MAX_FILES, sizeof(*sh.files));
	sh.base = event_base_new();
	if (sh.files == NULL || sh.base == NULL)
		goto fail;
	sh.c = gh_httpc_new(sh.base, &(struct gh_httpc_cfg){ .ssl = gw.tls_internal, .max_idle_per_host = 1,
	    .max_body_bytes = 65536 });
	if (sh.c == NULL)
		goto fail;
	cursor_load();
	scan();
	sh.stop = 0;
	if (pthread_create(&sh.th, NULL, ship_main, NULL) != 0)
		goto fail;
	sh.running = 1;
	return 0;
fail:
	fprintf(stderr, "gatehouse-%s: analytics shipper: out of memory\n", gw_zone.name);
	gh_httpc_free(sh.c);
	sh.c = NULL;
	if (sh.base != NULL)
		event_base_free(sh.base);
	sh.base = NULL;
	free(sh.files);
	sh.files = NULL;
	return -1;
}

void
gw_ship_stop(void)
{
	if (!sh.running)
		return;
	pthread_mutex_lock(&sh.mu);
	sh.stop = 1;
	pthread_cond_signal(&sh.cv);
	pthread_mutex_unlock(&sh.mu);
	pthread_join(sh.th, NULL);
	sh.running = 0;
	gh_httpc_free(sh.c);
	sh.c = NULL;
	event_base_free(sh.base);
	sh.base = NULL;
	free(sh.files);
	free(sh.body);
	sh.files = NULL;
	sh.body = NULL;
	sh.cap = sh.len = 0;
}
