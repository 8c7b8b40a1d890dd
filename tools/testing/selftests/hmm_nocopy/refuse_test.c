// SPDX-License-Identifier: GPL-2.0
/*
 * refuse.<kind>.*: each kind of page whose migrate callback refuses
 * MIGRATE_SYNC_NO_COPY, one row of the table below per kind, through
 * the same tests: a NO_COPY refusal leaves the item where it was, whole
 * and usable, and the same item moves under MIGRATE_SYNC (the control);
 * a refusing item in a NO_COPY batch does not stop the rest, and in a
 * SYNC batch it moves with the rest. See refuse_common.h.
 *
 * A kind is a row: its enum hmm_nc_cb value, what the kernel must offer
 * for it (enum hmm_need, checked by setup, which skips the test without
 * it), the items setup holds and the ones the tests migrate. What the
 * process itself sees of an item (an aio ring page: its mapping and the
 * context's I/O) is checked where the kind has it.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "refuse_common.h"

#define SYNC_MAX	2	/* items the SYNC control moves in one batch */

FIXTURE_VARIANT(refuse) {
	__u32 kind;		/* enum hmm_nc_cb */
	const char *name;	/* of an item, for the log */
	unsigned int needs;	/* enum hmm_need: the kernel offers the kind */
	unsigned int held;	/* items setup holds (aio: the ring is there) */
	__u64 index;		/* the item the one-item tests migrate */
	unsigned int nsync;	/* the SYNC control's batch: */
	__u64 sync[SYNC_MAX];	/* the items it moves */
};

FIXTURE_VARIANT_ADD(refuse, balloon) {
	.kind = BALLOON,
	.name = "balloon page",
	.held = 16,
	.index = 7,
	.nsync = 2,
	.sync = { 0, 7 },
};

/* The other objects of a moved zspage page follow it, handles and all. */
FIXTURE_VARIANT_ADD(refuse, zsmalloc) {
	.kind = ZSMALLOC,
	.name = "zsmalloc object",
	.held = 64,
	.index = 37,
	.nsync = 1,
	.sync = { 0 },
};

/* Every page of the ring moves; the context keeps completing I/O. */
FIXTURE_VARIANT_ADD(refuse, aio) {
	.kind = AIO,
	.name = "aio ring page",
	.needs = HMM_NEED_AIO_RING,
	.index = 0,
	.nsync = 2,
	.sync = { 0, 1 },
};

FIXTURE_SETUP(refuse)
{
	rf_open_for(_metadata, self, variant->needs, variant->kind == AIO);
	if (variant->kind != AIO)
		ASSERT_EQ(variant->held, hmm_rf_hold(self->fd, variant->kind,
						     variant->held));
}

FIXTURE_TEARDOWN(refuse)
{
	rf_close(self);
}

/* Item index of the variant's kind (of the test's aio context). */
static struct hmm_nc_rf_page item(FIXTURE_DATA(refuse) * self,
				  const FIXTURE_VARIANT(refuse) * variant,
				  __u64 index)
{
	return rf_page(variant->kind, index,
		       variant->kind == AIO ? self->aio.ctx : 0);
}

/*
 * What the process sees of item index, where it sees anything: an aio
 * ring page is mapped at pfn (when known) and the context completes
 * I/O. The device's own kinds are seen through its state alone.
 */
static void check_seen(struct __test_metadata *_metadata,
		       FIXTURE_DATA(refuse) * self,
		       const FIXTURE_VARIANT(refuse) * variant, __u64 index,
		       __u64 pfn)
{
	__u64 now;

	if (variant->kind != AIO)
		return;
	now = aio_ring_pfn(_metadata, self->aio.ctx, index);
	if (pfn)
		EXPECT_EQ(pfn, now) TH_LOG("%s %llu", variant->name,
					   (unsigned long long)index);
	check_aio_works(_metadata, &self->aio);
}

/*
 * The callback of cb ran refused times in NO_COPY and migrated once in
 * SYNC; every page taken was given back and every lock released.
 */
static void check_refusal_counted(struct __test_metadata *_metadata,
				  const struct hmm_nc_counters *d,
				  unsigned int cb, __u64 refused)
{
	EXPECT_EQ(refused, d->failed[cb][NC]);
	EXPECT_EQ(refused, d->refusals);
	EXPECT_EQ(0, d->migrated[cb][NC]);
	EXPECT_EQ(1, d->migrated[cb][SYNC]);
	EXPECT_EQ(0, d->failed[cb][SYNC]);
	EXPECT_EQ(refused + 1, d->pages_taken);
	EXPECT_EQ(d->pages_taken, d->pages_returned);
	EXPECT_EQ(d->pages_locked, d->pages_unlocked);
	EXPECT_EQ(0, d->batches);
	EXPECT_EQ(0, d->pages_copied);
}

/* NO_COPY twice (both refused, nothing changed), then the SYNC control. */
static void refuse_twice_then_move(struct __test_metadata *_metadata,
				   FIXTURE_DATA(refuse) * self,
				   const FIXTURE_VARIANT(refuse) * variant)
{
	struct hmm_nc_rf_state before, after;
	struct hmm_nc_rf_page p;
	__u64 pfn = 0;
	int i;

	ASSERT_EQ(0, hmm_rf_state(self->fd, &before));
	for (i = 0; i < 2; i++) {
		p = item(self, variant, variant->index);
		ASSERT_EQ(0, hmm_rf_migrate(self->fd, NC, &p, 1, NULL));
		check_refused(_metadata, &p);
		if (i)
			EXPECT_EQ(pfn, p.new_pfn) TH_LOG("second attempt moved");
		pfn = p.new_pfn;
		ASSERT_EQ(0, hmm_rf_state(self->fd, &after));
		check_state_same(_metadata, &before, &after);
		check_seen(_metadata, self, variant, variant->index, pfn);
	}
	p = item(self, variant, variant->index);
	ASSERT_EQ(0, hmm_rf_migrate(self->fd, SYNC, &p, 1, NULL));
	check_moved(_metadata, &p, false);
	EXPECT_EQ(pfn, p.old_pfn);
	ASSERT_EQ(0, hmm_rf_state(self->fd, &after));
	check_state_same(_metadata, &before, &after);
	check_seen(_metadata, self, variant, variant->index, p.new_pfn);
}

/*
 * After the refusals the kind still serves, then goes away cleanly: the
 * balloon deflates completely; the zsmalloc pool takes one more object,
 * undamaged, then frees them all; the aio context is destroyed.
 */
static void check_serves_then_goes(struct __test_metadata *_metadata,
				   FIXTURE_DATA(refuse) * self,
				   const FIXTURE_VARIANT(refuse) * variant)
{
	struct hmm_nc_rf_state st;

	if (variant->kind == AIO) {
		EXPECT_EQ(0, syscall(__NR_io_destroy, self->aio.ctx));
		self->aio.ctx = 0;
		return;
	}
	if (variant->kind == ZSMALLOC) {
		EXPECT_EQ(variant->held + 1, hmm_rf_hold(self->fd, ZSMALLOC, 1));
		ASSERT_EQ(0, hmm_rf_state(self->fd, &st));
		EXPECT_EQ(0, st.bad);
	}
	EXPECT_EQ(0, hmm_rf_release(self->fd, variant->kind, HMM_NC_RF_ALL));
}

TEST_F(refuse, no_copy_einval_kept_then_sync_moves)
{
	struct hmm_nc_counters before, d;

	HMM_REQUIRE(self->fd, HMM_NEED_NOCOPY | HMM_NEED_REFUSALS);
	check_seen(_metadata, self, variant, variant->index, 0);
	ASSERT_EQ(0, hmm_counters(self->fd, false, &before));
	refuse_twice_then_move(_metadata, self, variant);
	delta_of(_metadata, self->fd, false, &before, &d);
	check_refusal_counted(_metadata, &d, variant->kind, 2);
	check_serves_then_goes(_metadata, self, variant);
}

TEST_F(refuse, sync_moves_data_intact)
{
	struct hmm_nc_rf_page p[SYNC_MAX];
	struct hmm_nc_rf_state before, after;
	struct hmm_nc_rf_migrate out;
	struct hmm_nc_counters c0;
	unsigned int i, n = variant->nsync;

	for (i = 0; i < n; i++)
		p[i] = item(self, variant, variant->sync[i]);
	ASSERT_EQ(0, hmm_rf_state(self->fd, &before));
	ASSERT_EQ(0, hmm_counters(self->fd, false, &c0));
	ASSERT_EQ(0, hmm_rf_migrate(self->fd, SYNC, p, n, &out));
	EXPECT_EQ(n, out.migrated);
	for (i = 0; i < n; i++) {
		check_moved(_metadata, &p[i], false);
		check_seen(_metadata, self, variant, variant->sync[i],
			   p[i].new_pfn);
	}
	ASSERT_EQ(0, hmm_rf_state(self->fd, &after));
	check_state_same(_metadata, &before, &after);
	engine_idle_since(_metadata, self->fd, &c0);
}

#define BATCH_SIDE	8	/* movable pages on each side of the item */
#define BATCH_PAGES	(2 * BATCH_SIDE + 1)

/*
 * A batch of movable pages with the variant's item in the middle, and
 * what the device holds and counts before it runs.
 */
static void batch_prepare(struct __test_metadata *_metadata,
			  FIXTURE_DATA(refuse) * self,
			  const FIXTURE_VARIANT(refuse) * variant,
			  struct hmm_nc_rf_page *p,
			  struct hmm_nc_rf_state *before,
			  struct hmm_nc_counters *c0)
{
	unsigned int i;

	ASSERT_EQ(2 * BATCH_SIDE, hmm_rf_hold(self->fd, MOVABLE,
					      2 * BATCH_SIDE));
	for (i = 0; i < BATCH_SIDE; i++) {
		p[i] = rf_page(MOVABLE, i, 0);
		p[BATCH_SIDE + 1 + i] = rf_page(MOVABLE, BATCH_SIDE + i, 0);
	}
	p[BATCH_SIDE] = item(self, variant, variant->index);
	ASSERT_EQ(0, hmm_rf_state(self->fd, before));
	ASSERT_EQ(0, hmm_counters(self->fd, false, c0));
}

/* Every page taken was given back and every lock released; state same. */
static void check_batch_returned(struct __test_metadata *_metadata, int fd,
				 const struct hmm_nc_counters *d,
				 const struct hmm_nc_rf_state *before)
{
	struct hmm_nc_rf_state after;

	EXPECT_EQ(BATCH_PAGES, d->pages_taken);
	EXPECT_EQ(d->pages_taken, d->pages_returned);
	EXPECT_EQ(d->pages_locked, d->pages_unlocked);
	ASSERT_EQ(0, hmm_rf_state(fd, &after));
	check_state_same(_metadata, before, &after);
}

/*
 * In NO_COPY the movable pages migrate and the engine copies them in
 * one operation; the item in the middle is refused and put back.
 */
TEST_F(refuse, batch_no_copy_refused_put_back_others_move)
{
	struct hmm_nc_rf_page p[BATCH_PAGES];
	struct hmm_nc_rf_state before;
	struct hmm_nc_counters c0, d;
	struct hmm_nc_rf_migrate out;
	unsigned int i;

	HMM_REQUIRE(self->fd, HMM_NEED_NOCOPY | HMM_NEED_REFUSALS);
	batch_prepare(_metadata, self, variant, p, &before, &c0);
	ASSERT_EQ(0, hmm_rf_migrate(self->fd, NC, p, BATCH_PAGES, &out));
	EXPECT_EQ(2 * BATCH_SIDE, out.migrated);
	EXPECT_EQ(1, out.refused);
	EXPECT_EQ(0, out.failed);
	for (i = 0; i < BATCH_PAGES; i++) {
		if (i == BATCH_SIDE)
			check_refused(_metadata, &p[i]);
		else
			check_moved(_metadata, &p[i], true);
	}
	delta_of(_metadata, self->fd, false, &c0, &d);
	EXPECT_EQ(1, d.batches);
	EXPECT_EQ(2 * BATCH_SIDE, d.pages_copied);
	EXPECT_EQ(2 * BATCH_SIDE, d.migrated[MOVABLE][NC]);
	EXPECT_EQ(1, d.failed[variant->kind][NC]);
	EXPECT_EQ(1, d.refusals);
	check_batch_returned(_metadata, self->fd, &d, &before);
	check_seen(_metadata, self, variant, variant->index,
		   p[BATCH_SIDE].old_pfn);
}

/*
 * The control: the same batch in SYNC moves every page, the item too,
 * each callback copying its own page (the engine idle).
 */
TEST_F(refuse, batch_sync_all_move_engine_copies_nothing)
{
	struct hmm_nc_rf_page p[BATCH_PAGES];
	struct hmm_nc_rf_state before;
	struct hmm_nc_counters c0, d;
	struct hmm_nc_rf_migrate out;
	unsigned int i;

	batch_prepare(_metadata, self, variant, p, &before, &c0);
	ASSERT_EQ(0, hmm_rf_migrate(self->fd, SYNC, p, BATCH_PAGES, &out));
	EXPECT_EQ(BATCH_PAGES, out.migrated);
	EXPECT_EQ(0, out.refused);
	EXPECT_EQ(0, out.failed);
	for (i = 0; i < BATCH_PAGES; i++)
		check_moved(_metadata, &p[i], false);
	delta_of(_metadata, self->fd, false, &c0, &d);
	EXPECT_EQ(0, d.batches);
	EXPECT_EQ(0, d.pages_copied);
	EXPECT_EQ(0, d.refusals);
	EXPECT_EQ(2 * BATCH_SIDE, d.migrated[MOVABLE][SYNC]);
	EXPECT_EQ(1, d.migrated[variant->kind][SYNC]);
	EXPECT_EQ(0, d.failed[variant->kind][SYNC]);
	check_batch_returned(_metadata, self->fd, &d, &before);
	check_seen(_metadata, self, variant, variant->index,
		   p[BATCH_SIDE].new_pfn);
}

HMM_TEST_MAIN
