/*
 * The event-loop pool: N worker threads, each owning one blocking
 * connection (struct gh_pg), take jobs from one queue, run the caller's
 * transaction function with gh_pg_run_tx, and hand the finished job back
 * through a done list and an eventfd watched by the loop, where the done
 * callback runs.  The loop thread owns the pool and the jobs' delivery;
 * a worker owns its connection and the job it is running.  A broken
 * connection is replaced on its next use by gh_pg_ensure.
 */
#include <errno.h>
#include <event2/event.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "core/gh_log.h"
#include "pg/gh_pg.h"

struct pool_job {
	struct pool_job *next;
	int flags;
	gh_pg_tx_fn fn;
	gh_pg_done_fn done;
	void *arg;
	int rc;
	char sqlstate[6];
	char message[256];
};

struct pool_worker {
	struct gh_pg_pool *pool;
	struct gh_pg *db;
	pthread_t tid;
	int started;
};

struct gh_pg_pool {
	struct event_base *base;
	struct event *ev;
	int efd;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct pool_job *queue, *queue_tail;	/* waiting for a worker */
	struct pool_job *finished;		/* waiting for the loop */
	int stopping;
	int pending;				/* loop thread only */
	int nworkers;
	struct pool_worker *workers;
};

static void
job_run(struct pool_worker *w, struct pool_job *job)
{
	if (job->flags & GH_PG_NO_TX) {
		job->rc = gh_pg_ensure(w->db) == 0 ? job->fn(w->db, job->arg) : -1;
		/* A body that left a transaction open must not leak it to the next job. */
		if (gh_pg_in_tx(w->db))
			gh_pg_tx_rollback(w->db);
	} else {
		job->rc = gh_pg_run_tx(w->db, job->flags, job->fn, job->arg);
	}
	if (job->rc != 0) {
		snprintf(job->sqlstate, sizeof(job->sqlstate), "%s", gh_pg_sqlstate(w->db));
		snprintf(job->message, sizeof(job->message), "%s", gh_pg_errmsg(w->db));
	}
}

static void *
worker_main(void *arg)
{
	struct pool_worker *w = arg;
	struct gh_pg_pool *pool = w->pool;
	struct pool_job *job;
	uint64_t one = 1;

	for (;;) {
		pthread_mutex_lock(&pool->mu);
		while (!pool->stopping && pool->queue == NULL)
			pthread_cond_wait(&pool->cv, &pool->mu);
		if (pool->stopping) {
			pthread_mutex_unlock(&pool->mu);
			break;
		}
		job = pool->queue;
		pool->queue = job->next;
		if (pool->queue == NULL)
			pool->queue_tail = NULL;
		pthread_mutex_unlock(&pool->mu);

		job_run(w, job);

		pthread_mutex_lock(&pool->mu);
		job->next = pool->finished;
		pool->finished = job;
		pthread_mutex_unlock(&pool->mu);
		while (write(pool->efd, &one, sizeof(one)) < 0 && errno == EINTR)
			;
	}
	return NULL;
}

/* Deliver finished jobs in completion order (the list is built newest first). */
static void
deliver(struct gh_pg_pool *pool)
{
	struct pool_job *list, *rev = NULL, *next;

	pthread_mutex_lock(&pool->mu);
	list = pool->finished;
	pool->finished = NULL;
	pthread_mutex_unlock(&pool->mu);
	for (; list != NULL; list = next) {
		next = list->next;
		list->next = rev;
		rev = list;
	}
	for (; rev != NULL; rev = next) {
		next = rev->next;
		pool->pending--;
		rev->done(rev->rc, rev->sqlstate, rev->message, rev->arg);
		free(rev);
	}
}

static void
on_wakeup(evutil_socket_t fd, short what, void *arg)
{
	uint64_t n;

	(void)what;
	while (read(fd, &n, sizeof(n)) < 0 && errno == EINTR)
		;
	deliver(arg);
}

struct gh_pg_pool *
gh_pg_pool_new(struct event_base *base, const char *conninfo, int nconns)
{
	struct gh_pg_pool *pool;

	if (base == NULL || conninfo == NULL || nconns < 1 || nconns > 64)
		return NULL;
	pool = calloc(1, sizeof(*pool));
	if (pool == NULL)
		return NULL;
	pool->base = base;
	pool->efd = -1;
	pthread_mutex_init(&pool->mu, NULL);
	pthread_cond_init(&pool->cv, NULL);
	pool->workers = calloc((size_t)nconns, sizeof(*pool->workers));
	if (pool->workers == NULL)
		goto fail;
	pool->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (pool->efd < 0)
		goto fail;
	pool->ev = event_new(base, pool->efd, EV_READ | EV_PERSIST, on_wakeup, pool);
	if (pool->ev == NULL || event_add(pool->ev, NULL) != 0)
		goto fail;
	pool->nworkers = nconns;
	for (int i = 0; i < nconns; i++) {
		struct pool_worker *w = &pool->workers[i];

		w->pool = pool;
		w->db = gh_pg_new(conninfo);
		if (w->db == NULL)
			goto fail;
		if (pthread_create(&w->tid, NULL, worker_main, w) != 0)
			goto fail;
		w->started = 1;
	}
	return pool;
fail:
	gh_log_error("pg_pool", NULL, "could not start a pool of %d connections", nconns);
	gh_pg_pool_free(pool);
	return NULL;
}

int
gh_pg_pool_run(struct gh_pg_pool *pool, int flags, gh_pg_tx_fn fn,
    gh_pg_done_fn done, void *arg)
{
	struct pool_job *job;

	if (pool == NULL || fn == NULL || done == NULL)
		return -1;
	job = calloc(1, sizeof(*job));
	if (job == NULL)
		return -1;
	job->flags = flags;
	job->fn = fn;
	job->done = done;
	job->arg = arg;
	pthread_mutex_lock(&pool->mu);
	if (pool->stopping) {
		pthread_mutex_unlock(&pool->mu);
		free(job);
		return -1;
	}
	if (pool->queue_tail != NULL)
		pool->queue_tail->next = job;
	else
		pool->queue = job;
	pool->queue_tail = job;
	pthread_cond_signal(&pool->cv);
	pthread_mutex_unlock(&pool->mu);
	pool->pending++;
	return 0;
}

int
gh_pg_pool_pending(const struct gh_pg_pool *pool)
{
	return pool->pending;
}

void
gh_pg_pool_free(struct gh_pg_pool *pool)
{
	struct pool_job *job, *next;

	if (pool == NULL)
		return;
	pthread_mutex_lock(&pool->mu);
	pool->stopping = 1;
	pthread_cond_broadcast(&pool->cv);
	pthread_mutex_unlock(&pool->mu);
	for (int i = 0; pool->workers != NULL && i < pool->nworkers; i++) {
		if (pool->workers[i].started)
			pthread_join(pool->workers[i].tid, NULL);
		gh_pg_close(pool->workers[i].db);
	}
	deliver(pool);
	for (job = pool->queue; job != NULL; job = next) {
		next = job->next;
		pool->pending--;
		job->done(GH_PG_CANCELLED, "57014", "pool shut down", job->arg);
		free(job);
	}
	if (pool->ev != NULL)
		event_free(pool->ev);
	if (pool->efd >= 0)
		close(pool->efd);
	pthread_cond_destroy(&pool->cv);
	pthread_mutex_destroy(&pool->mu);
	free(pool->workers);
	free(pool);
}
