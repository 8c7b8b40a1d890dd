/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the stress.* race binaries share: the state their racing threads
 * share, and running a set of racers for a while. Include it once per
 * binary, after hmm_harness.h.
 */
#ifndef _STRESS_RACE_H
#define _STRESS_RACE_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <unistd.h>

#include "hmm_harness.h"
#include "libhmm.h"

/*
 * The commands of the device-path races, on the whole region (churned
 * half included) or on the stable half alone, and the errnos they may
 * meet: the race state counts outcomes by both.
 */
enum race_cmd {
	RC_WHOLE_TO_DEV, RC_WHOLE_TO_SYS, RC_STABLE_TO_DEV, RC_STABLE_TO_SYS,
	RC_NOCOPY, RC_COUNT
};

enum race_errno { RE_EINVAL, RE_ENOENT, RE_EBUSY, RE_OTHER, RE_COUNT };

/*
 * Shared by the racing threads. The first half of the region is churned
 * under the migrations; the second half keeps its mapping, so its data
 * can be checked all along while it moves to the device and back. The
 * page-cache races use the region for the file's mapping.
 */
struct race {
	int fd;			/* the device */
	int file;		/* the file of the page-cache races, */
	__u8 cb;		/* its migrate callback (enum hmm_nc_cb) */
	size_t ps;
	char *region;
	char *spare;		/* reserved, for mremap() to move the churn to */
	char *mirror;
	atomic_bool stop;
	atomic_long migrations, failures, churns, checks, bad;
	atomic_long nocopy, moved;	/* NO_COPY commands, pages moved */
	__u32 anon_mode;	/* of race_migrate_nocopy()'s commands */
	atomic_long buffered;		/* moved with their buffer heads */
	/* The device-path races: outcomes by command and errno. */
	atomic_long ok[RC_COUNT];
	atomic_long err[RC_COUNT][RE_COUNT];
	atomic_int unexpected;		/* the last errno not accepted, or 0 */
	atomic_long short_reads;	/* MIGRATE_TO_DEV: fewer pages back */
	atomic_long status_bad;		/* NO_COPY: a status not accepted */
	atomic_ullong last_seed;	/* race_write()'s last pattern */
};

static inline bool race_over(struct race *r)
{
	return atomic_load(&r->stop);
}

static inline void race_check(struct race *r, bool ok)
{
	atomic_fetch_add(&r->checks, 1);
	if (!ok)
		atomic_fetch_add(&r->bad, 1);
}

/* A NO_COPY command's outcome: refusals are expected while racing. */
static inline void race_nocopy_done(struct race *r, int ret, __u64 moved)
{
	if (ret) {
		atomic_fetch_add(&r->failures, 1);
		return;
	}
	atomic_fetch_add(&r->nocopy, 1);
	atomic_fetch_add(&r->moved, moved);
}

#define RACERS_MAX	8

/* A racing thread: what it runs, on what. */
struct racer {
	void *(*fn)(void *arg);
	void *arg;
};

/*
 * Runs the racers for seconds, then stops and joins them. A thread that
 * cannot start stops those already running.
 */
static inline void race_run(struct __test_metadata *_metadata, struct race *r,
			    const struct racer *racers, unsigned int n,
			    unsigned int seconds)
{
	pthread_t threads[RACERS_MAX];
	unsigned int i, started;

	ASSERT_GE(RACERS_MAX, n);
	for (started = 0; started < n; started++)
		if (pthread_create(&threads[started], NULL, racers[started].fn,
				   racers[started].arg))
			break;
	if (started == n)
		sleep(seconds);
	atomic_store(&r->stop, true);
	for (i = 0; i < started; i++)
		pthread_join(threads[i], NULL);
	ASSERT_EQ(n, started) TH_LOG("cannot start thread %u", started);
}

#endif /* _STRESS_RACE_H */
