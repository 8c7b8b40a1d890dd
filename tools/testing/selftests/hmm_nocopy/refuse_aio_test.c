// SPDX-License-Identifier: GPL-2.0
/*
 * refuse.aio_*: how a batch locks aio ring pages. Ring pages are
 * referenced, not isolated, so two batches may hold the same ones and
 * one batch may name a page twice: neither may deadlock. Every test
 * has an aio context of its own, made by setup (see refuse_common.h);
 * the tests run NO_COPY where the kernel has it, SYNC everywhere.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "refuse_common.h"

FIXTURE_SETUP(refuse)
{
	rf_open_for(_metadata, self, HMM_NEED_AIO_RING, true);
}

FIXTURE_TEARDOWN(refuse)
{
	rf_close(self);
}

/*
 * Ring pages are referenced, not isolated: two batches may hold the
 * same ones. Each side below names ring pages 0 and 1 of one context, in
 * opposite orders, on its own device (so nothing serialises the two), in
 * NO_COPY (the pages stay) and SYNC (they move) by turns; in SYNC only
 * where the kernel has no NO_COPY.
 */
#define OPPOSITE_BATCHES	2000	/* per side, at most */
#define OPPOSITE_SECONDS	3	/* per side, at most */
#define OPPOSITE_STUCK		60	/* a side still running then is stuck */

struct opposite_side {
	int fd;
	aio_context_t ctx;
	__u64 first, second;	/* ring pages, in this side's order */
	__u32 other;		/* the mode of every other batch: NC or SYNC */
	unsigned int batches;	/* commands that completed */
	int err;		/* the command that failed, or 0 */
	atomic_bool finished;
};

static double now_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void *opposite_run(void *arg)
{
	struct opposite_side *s = arg;
	double end = now_seconds() + OPPOSITE_SECONDS;
	struct hmm_nc_rf_page p[2];

	while (s->batches < OPPOSITE_BATCHES && now_seconds() < end) {
		p[0] = rf_page(AIO, s->first, s->ctx);
		p[1] = rf_page(AIO, s->second, s->ctx);
		s->err = hmm_rf_migrate(s->fd, s->batches & 1 ? SYNC : s->other,
					p, 2, NULL);
		if (s->err)
			break;
		s->batches++;
	}
	atomic_store(&s->finished, true);
	return NULL;
}

/* True once every side finished, false if one is still running at end. */
static bool opposite_wait(struct opposite_side *side, unsigned int n,
			  double end)
{
	unsigned int i;

	for (;;) {
		for (i = 0; i < n && atomic_load(&side[i].finished); i++)
			;
		if (i == n)
			return true;
		if (now_seconds() > end)
			return false;
		usleep(10000);
	}
}

/*
 * Batches that lock their pages in the order the user named them would
 * each hold one page and wait for the other's: both would stay in D
 * state for good. Every batch must lock in one global order.
 */
TEST_F(refuse, aio_batches_in_opposite_orders_do_not_deadlock)
{
	/* Static: a side stuck in the kernel outlives this frame. */
	static struct opposite_side side[2];
	pthread_t t[2];
	unsigned int i;
	int fd1;

	fd1 = hmm_open(UNIT + 1);
	if (fd1 < 0)
		SKIP(return, "no /dev/hmm_dmirror%u", UNIT + 1);
	aio_ring_pfn(_metadata, self->aio.ctx, 0);
	aio_ring_pfn(_metadata, self->aio.ctx, 1);
	for (i = 0; i < 2; i++) {
		memset(&side[i], 0, sizeof(side[i]));
		side[i].fd = i ? fd1 : self->fd;
		side[i].ctx = self->aio.ctx;
		side[i].first = i;
		side[i].second = !i;
		side[i].other = hmm_unmet(self->fd, HMM_NEED_NOCOPY) ? SYNC : NC;
		atomic_init(&side[i].finished, false);
	}
	for (i = 0; i < 2; i++)
		ASSERT_EQ(0, pthread_create(&t[i], NULL, opposite_run,
					    &side[i]));
	ASSERT_TRUE(opposite_wait(side, 2, now_seconds() + OPPOSITE_STUCK))
		TH_LOG("batches still running after %d s: deadlocked",
		       OPPOSITE_STUCK);
	for (i = 0; i < 2; i++) {
		ASSERT_EQ(0, pthread_join(t[i], NULL));
		EXPECT_EQ(0, side[i].err) TH_LOG("side %u: %s", i,
						 strerror(-side[i].err));
		EXPECT_LT(0, side[i].batches);
	}
	TH_LOG("%u and %u batches", side[0].batches, side[1].batches);
	close(fd1);
	/* The ring is still a ring, and the context still completes I/O. */
	aio_ring_pfn(_metadata, self->aio.ctx, 0);
	aio_ring_pfn(_metadata, self->aio.ctx, 1);
	check_aio_works(_metadata, &self->aio);
}

/*
 * A page named twice would be locked twice by one batch. (ctx, 1) and
 * (ctx + one page, 0) name the same ring page through different entries:
 * the batch is refused before any callback, and nothing moves.
 */
TEST_F(refuse, aio_same_ring_page_twice_einval_nothing_moves)
{
	/* Both modes where the kernel has NO_COPY, else SYNC alone. */
	static const __u32 modes[] = { SYNC, NC };
	size_t page = hmm_page_size();
	struct hmm_nc_counters c0, d;
	struct hmm_nc_rf_page p[2];
	__u64 ctx, pfn0, pfn1;
	unsigned int i, mode, nmodes;

	nmodes = hmm_unmet(self->fd, HMM_NEED_NOCOPY) ? 1 : ARRAY_SIZE(modes);
	ctx = self->aio.ctx;
	pfn0 = aio_ring_pfn(_metadata, ctx, 0);
	pfn1 = aio_ring_pfn(_metadata, ctx, 1);
	ASSERT_EQ(0, hmm_counters(self->fd, false, &c0));

	for (i = 0; i < nmodes; i++) {
		p[0] = rf_page(AIO, 1, ctx);
		p[1] = rf_page(AIO, 0, ctx + page);
		EXPECT_EQ(-EINVAL, hmm_rf_migrate(self->fd, modes[i], p, 2,
						  NULL)) TH_LOG("two names");
		p[0] = rf_page(AIO, 0, ctx);
		p[1] = rf_page(AIO, 0, ctx);
		EXPECT_EQ(-EINVAL, hmm_rf_migrate(self->fd, modes[i], p, 2,
						  NULL)) TH_LOG("one name");
	}

	delta_of(_metadata, self->fd, false, &c0, &d);
	EXPECT_EQ(0, d.batches + d.pages_locked + d.pages_copied);
	EXPECT_EQ(d.pages_taken, d.pages_returned);
	for (mode = 0; mode < HMM_NC_MODE_COUNT; mode++)
		EXPECT_EQ(0, d.migrated[AIO][mode] + d.failed[AIO][mode]);
	EXPECT_EQ(pfn0, aio_ring_pfn(_metadata, ctx, 0));
	EXPECT_EQ(pfn1, aio_ring_pfn(_metadata, ctx, 1));
	check_aio_works(_metadata, &self->aio);
}

HMM_TEST_MAIN
