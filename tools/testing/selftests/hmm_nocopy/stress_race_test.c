// SPDX-License-Identifier: GPL-2.0
/*
 * stress.*: the device path under races. Bounded in time; each test
 * states its bound.
 *
 * migrate_races_munmap_mremap_mprotect_fork_write: migrations to the
 *   device and back, and NO_COPY migrations of anonymous pages (SYNC
 *   where the kernel has no NO_COPY), racing munmap, mremap, mprotect,
 *   fork and writes on the same range.
 * close_while_threads_migrate: the device file closed under migrations.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "stress_race.h"

FIXTURE(stress) {
	size_t ps;
};

FIXTURE_SETUP(stress)
{
	self->ps = hmm_page_size();
}

FIXTURE_TEARDOWN(stress)
{
}

#define RACE_SECONDS	5
#define RACE_PAGES	64	/* churned: remapped, moved, reprotected */
#define STABLE_PAGES	64	/* only written and checked */

/*
 * The commands of enum race_cmd, for the log; race_errno_ok() says
 * which errno each accepts, and why.
 */
static const char * const race_cmd_names[RC_COUNT] = {
	"whole to device", "whole back", "stable to device", "stable back",
	"NO_COPY stable",
};

static enum race_errno race_errno_of(int ret)
{
	switch (ret) {
	case -EINVAL:
		return RE_EINVAL;
	case -ENOENT:
		return RE_ENOENT;
	case -EBUSY:
		return RE_EBUSY;
	}
	return RE_OTHER;
}

static bool race_errno_ok(enum race_cmd c, int ret)
{
	switch (ret) {
	case -EINVAL:
		/*
		 * Part of the range has no VMA: the churn's munmap() and
		 * mremap() leave holes for a moment. Never in the stable
		 * half, which keeps its mapping.
		 */
		return c == RC_WHOLE_TO_DEV || c == RC_WHOLE_TO_SYS;
	case -ENOENT:
		/*
		 * A page did not end up on the device: shared with a forked
		 * child (copy-on-write), or locked or referenced by another
		 * racer's migration or fault as it was collected.
		 */
		return c == RC_WHOLE_TO_DEV || c == RC_STABLE_TO_DEV;
	case -EBUSY:
		/*
		 * hmm_range_fault() saw the page tables change past its
		 * timeout while mapping the range for the device.
		 */
		return c == RC_WHOLE_TO_DEV || c == RC_STABLE_TO_DEV;
	}
	/* NO_COPY reports each page's fate in its status, never an errno. */
	return false;
}

/* The device file and a region of npages with its mirror buffer. */
static void race_setup(struct __test_metadata *_metadata, struct race *r,
		       size_t npages)
{
	size_t size = npages * r->ps;

	r->fd = hmm_open(0);
	ASSERT_GE(r->fd, 0);
	r->region = hmm_map_anon(size, PROT_READ | PROT_WRITE);
	r->mirror = malloc(size);
	ASSERT_NE(NULL, r->region);
	ASSERT_NE(NULL, r->mirror);
}

/*
 * A page's fate in a NO_COPY command while racing: moved; skipped (on
 * the device, or locked or pinned by another racer as it was collected);
 * the callback found extra references (a forked child's, a fault's).
 */
static bool race_status_ok(__u8 status)
{
	return status == HMM_NC_PS_MOVED || status == HMM_NC_PS_SKIPPED ||
	       status == HMM_NC_PS_BUSY;
}

/*
 * A NO_COPY command's outcome: it succeeds, the pages it says it moved
 * are those whose status says so, and every status is one of those.
 */
static void race_anon_done(struct race *r, int ret, __u64 moved,
			   const __u8 *status, size_t npages)
{
	size_t i, n = 0;

	if (ret) {
		atomic_fetch_add(&r->failures, 1);
		atomic_fetch_add(&r->err[RC_NOCOPY][race_errno_of(ret)], 1);
		atomic_store(&r->unexpected, ret);
		return;
	}
	for (i = 0; i < npages; i++) {
		if (!race_status_ok(status[i]))
			atomic_fetch_add(&r->status_bad, 1);
		n += status[i] == HMM_NC_PS_MOVED;
	}
	if (n != moved)
		atomic_fetch_add(&r->status_bad, 1);
	atomic_fetch_add(&r->ok[RC_NOCOPY], 1);
	atomic_fetch_add(&r->nocopy, 1);
	atomic_fetch_add(&r->moved, moved);
}

/* One command's outcome: counted by errno; one not accepted is kept. */
static int race_done(struct race *r, enum race_cmd c, int ret)
{
	if (!ret) {
		atomic_fetch_add(&r->ok[c], 1);
		return 0;
	}
	atomic_fetch_add(&r->err[c][race_errno_of(ret)], 1);
	if (!race_errno_ok(c, ret))
		atomic_store(&r->unexpected, ret);
	return ret;
}

/*
 * Migrations may fail while the range changes under them: count by
 * errno, go on. A MIGRATE_TO_DEV that succeeds had every page of the
 * range on the device when it mapped them: the device read them all.
 */
static void race_migrate_range(struct race *r, char *start, __u64 npages,
			       enum race_cmd to_dev)
{
	struct hmm_dmirror_cmd cmd;
	int ret;

	while (!race_over(r)) {
		memset(&cmd, 0, sizeof(cmd));
		ret = race_done(r, to_dev,
				hmm_cmd(r->fd, HMM_DMIRROR_MIGRATE_TO_DEV,
					start, r->mirror, npages, &cmd));
		if (!ret && cmd.cpages != npages)
			atomic_fetch_add(&r->short_reads, 1);
		if (!ret)
			ret = race_done(r, to_dev + 1,
					hmm_cmd(r->fd,
						HMM_DMIRROR_MIGRATE_TO_SYS,
						start, r->mirror, npages,
						NULL));
		atomic_fetch_add(ret ? &r->failures : &r->migrations, 1);
	}
}

/* The whole region, churned half included: most attempts are refused. */
static void *race_migrate(void *arg)
{
	struct race *r = arg;

	race_migrate_range(r, r->region, RACE_PAGES + STABLE_PAGES,
			   RC_WHOLE_TO_DEV);
	return NULL;
}

/* The stable half only: moves while it is written and forked. */
static void *race_migrate_stable(void *arg)
{
	struct race *r = arg;

	race_migrate_range(r, r->region + RACE_PAGES * r->ps, STABLE_PAGES,
			   RC_STABLE_TO_DEV);
	return NULL;
}

/*
 * The stable half through the NO_COPY engine as well, so the engine's
 * own copy and state moves race with the device path, writes and fork
 * (in anon_mode: SYNC where the kernel has no NO_COPY, which still races
 * the engine's state moves).
 */
static void *race_migrate_nocopy(void *arg)
{
	struct race *r = arg;
	char *stable = r->region + RACE_PAGES * r->ps;
	struct hmm_nc_migrate_cmd cmd = { 0 };
	__u8 status[STABLE_PAGES];
	int ret;

	while (!race_over(r)) {
		memset(status, 0xff, sizeof(status));
		ret = hmm_migrate_anon(r->fd, stable, STABLE_PAGES,
				       r->anon_mode, 0, status, &cmd);
		race_anon_done(r, ret, cmd.moved, status, STABLE_PAGES);
	}
	return NULL;
}

/* The churn's first quarter unmapped and mapped anew: it reads zeros. */
static bool churn_remap(struct race *r, size_t len)
{
	char *p;

	munmap(r->region, len);
	p = mmap(r->region, len, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
	if (p == MAP_FAILED)
		return false;
	race_check(r, hmm_verify_word(p, len, 0) < 0);
	return true;
}

/* The second quarter read while it is read-only. */
static void churn_protect(struct race *r, size_t size, __u64 seed)
{
	char *quarter = r->region + size / 2;

	mprotect(quarter, size / 2, PROT_READ);
	race_check(r, hmm_verify(r->region, size, seed) < 0);
	mprotect(quarter, size / 2, PROT_READ | PROT_WRITE);
}

/*
 * mremap() moves a range of one VMA only. The churned half may be two
 * (its first quarter is mapped anew, its second reprotected) but each
 * quarter lies within one: each moves on its own, to its offset in to.
 */
static bool churn_move_to(char *from, char *to, size_t size)
{
	size_t off, len = size / 2;

	for (off = 0; off < size; off += len)
		if (mremap(from + off, len, len, MREMAP_MAYMOVE | MREMAP_FIXED,
			   to + off) != to + off)
			return false;
	return true;
}

/*
 * The churn moved to the spare reservation, whose pages it replaces,
 * and back; then the spare is reserved again. The data comes along.
 * Between the moves the region or the spare is a hole that MAP_FIXED
 * and MREMAP_FIXED take back whatever is there: no racing thread may
 * map memory meanwhile (none allocates after the set-up).
 */
static bool churn_move(struct race *r, size_t size, __u64 seed)
{
	if (!churn_move_to(r->region, r->spare, size))
		return false;
	race_check(r, hmm_verify(r->spare, size, seed) < 0);
	if (!churn_move_to(r->spare, r->region, size))
		return false;
	race_check(r, hmm_verify(r->region, size, seed) < 0);
	return mmap(r->spare, size, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS |
		    MAP_NORESERVE | MAP_FIXED, -1, 0) != MAP_FAILED;
}

/*
 * The churned half, under the migrations: its first quarter mapped
 * anew, the whole refilled, read while half read-only, moved away and
 * back. A call that fails leaves holes the next round would fault on:
 * the churn stops there, counted bad. At least one round, however slow
 * the kernel (a debug kernel under emulation takes seconds a round).
 */
static void *race_churn(void *arg)
{
	struct race *r = arg;
	size_t size = RACE_PAGES * r->ps;
	__u64 seed = 1;

	do {
		if (!churn_remap(r, size / 2)) {
			atomic_fetch_add(&r->bad, 1);
			break;
		}
		hmm_fill(r->region, size, seed);
		churn_protect(r, size, seed);
		if (!churn_move(r, size, seed)) {
			atomic_fetch_add(&r->bad, 1);
			break;
		}
		seed++;
		atomic_fetch_add(&r->churns, 1);
	} while (!race_over(r));
	return NULL;
}

/*
 * Writes a new pattern over the stable half and reads it back, at least
 * once, as the churn does.
 */
static void *race_write(void *arg)
{
	struct race *r = arg;
	char *stable = r->region + RACE_PAGES * r->ps;
	size_t size = STABLE_PAGES * r->ps;
	__u64 seed = 1;

	do {
		hmm_fill(stable, size, seed);
		atomic_store(&r->last_seed, seed);
		race_check(r, hmm_verify(stable, size, seed) < 0);
		seed++;
	} while (!race_over(r));
	return NULL;
}

/* Children share the pages copy-on-write, touch them and exit. */
static void *race_fork(void *arg)
{
	struct race *r = arg;
	char *stable = r->region + RACE_PAGES * r->ps;
	pid_t pid;

	while (!race_over(r)) {
		pid = fork();
		if (pid == 0) {
			stable[0] ^= 1;
			_exit(0);
		}
		if (pid > 0)
			waitpid(pid, NULL, 0);
	}
	return NULL;
}

/* Each command's outcomes, by errno, in the test's log. */
static void race_log(struct __test_metadata *_metadata, struct race *r)
{
	unsigned int c;

	for (c = 0; c < RC_COUNT; c++) {
		TH_LOG("%s: %ld ok, EINVAL %ld, ENOENT %ld, EBUSY %ld, other %ld",
		       race_cmd_names[c], atomic_load(&r->ok[c]),
		       atomic_load(&r->err[c][RE_EINVAL]),
		       atomic_load(&r->err[c][RE_ENOENT]),
		       atomic_load(&r->err[c][RE_EBUSY]),
		       atomic_load(&r->err[c][RE_OTHER]));
	}
}

/*
 * Migrations to the device and back and NO_COPY migrations race with
 * munmap/mmap, mremap, mprotect, fork and writes on the same range for
 * RACE_SECONDS. Each command fails only with an errno that the racing
 * explains (race_errno_ok(): EINVAL for a hole the churn left, in the
 * whole region only; ENOENT for a page kept off the device by a fork or
 * another racer; EBUSY for page tables that kept changing) and NO_COPY
 * never fails, its pages' statuses adding up to what it says it moved.
 * A migration to the device succeeds at least once (the device then
 * read every page of its range), one back too, and NO_COPY moves pages.
 * The data is always right, the churned half's included wherever
 * mremap() has put it; once the racing stops, the stable half goes to
 * the device whole with the last pattern written (the device reads it)
 * and comes back whole with it. The kernel logs nothing (the runner's
 * gate) and nothing is left locked or taken (the runner's counter check).
 */
TEST_F_TIMEOUT(stress, migrate_races_munmap_mremap_mprotect_fork_write, 60)
{
	struct race r = { .ps = self->ps };
	const struct racer racers[] = {
		{ race_migrate, &r }, { race_migrate_stable, &r },
		{ race_migrate_nocopy, &r }, { race_churn, &r },
		{ race_write, &r }, { race_fork, &r },
	};
	size_t size = (RACE_PAGES + STABLE_PAGES) * self->ps;
	size_t churn = RACE_PAGES * self->ps;
	struct hmm_dmirror_cmd cmd;
	__u8 prot[STABLE_PAGES];
	unsigned int i;
	char *stable;

	race_setup(_metadata, &r, RACE_PAGES + STABLE_PAGES);
	stable = r.region + churn;
	r.anon_mode = hmm_unmet(r.fd, HMM_NEED_NOCOPY) ?
		      HMM_NC_MODE_SYNC : HMM_NC_MODE_SYNC_NO_COPY;
	r.spare = mmap(NULL, churn, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS |
		       MAP_NORESERVE, -1, 0);
	ASSERT_NE(MAP_FAILED, r.spare);
	memset(r.region, 0x5a, size);
	race_run(_metadata, &r, racers, ARRAY_SIZE(racers), RACE_SECONDS);
	TH_LOG("%ld device migrations, %ld %s moving %ld pages, %ld refused or failed",
	       atomic_load(&r.migrations), atomic_load(&r.nocopy),
	       r.anon_mode == HMM_NC_MODE_SYNC ? "SYNC" : "NO_COPY",
	       atomic_load(&r.moved), atomic_load(&r.failures));
	TH_LOG("%ld churns, %ld checks", atomic_load(&r.churns),
	       atomic_load(&r.checks));
	race_log(_metadata, &r);
	EXPECT_EQ(0, atomic_load(&r.bad));
	EXPECT_EQ(0, atomic_load(&r.unexpected))
		TH_LOG("an errno no race explains: %s",
		       strerror(-atomic_load(&r.unexpected)));
	EXPECT_EQ(0, atomic_load(&r.short_reads));
	EXPECT_EQ(0, atomic_load(&r.status_bad));
	EXPECT_LT(0, atomic_load(&r.ok[RC_WHOLE_TO_DEV]) +
		     atomic_load(&r.ok[RC_STABLE_TO_DEV]));
	EXPECT_LT(0, atomic_load(&r.ok[RC_WHOLE_TO_SYS]) +
		     atomic_load(&r.ok[RC_STABLE_TO_SYS]));
	EXPECT_LT(0, atomic_load(&r.ok[RC_NOCOPY]));
	EXPECT_GT(atomic_load(&r.moved), 0);
	EXPECT_GT(atomic_load(&r.churns), 0);
	EXPECT_GT(atomic_load(&r.checks), 0);
	/*
	 * Racing over: the stable half goes to the device whole, with the
	 * last pattern written, and comes back whole with it.
	 */
	memset(r.mirror, 0, STABLE_PAGES * self->ps);
	memset(&cmd, 0, sizeof(cmd));
	ASSERT_EQ(0, hmm_cmd(r.fd, HMM_DMIRROR_MIGRATE_TO_DEV, stable,
			     r.mirror, STABLE_PAGES, &cmd));
	EXPECT_EQ(STABLE_PAGES, cmd.cpages);
	ASSERT_EQ(0, hmm_snapshot(r.fd, stable, STABLE_PAGES, prot));
	for (i = 0; i < STABLE_PAGES; i++) {
		EXPECT_EQ(HMM_DMIRROR_PROT_DEV_PRIVATE_LOCAL, prot[i] & 0xf0)
			TH_LOG("page %u: 0x%x", i, prot[i]);
	}
	EXPECT_EQ(-1, hmm_verify(r.mirror, STABLE_PAGES * self->ps,
				 atomic_load(&r.last_seed)));
	ASSERT_EQ(0, hmm_cmd(r.fd, HMM_DMIRROR_MIGRATE_TO_SYS, stable,
			     r.mirror, STABLE_PAGES, &cmd));
	ASSERT_EQ(0, hmm_snapshot(r.fd, stable, STABLE_PAGES, prot));
	for (i = 0; i < STABLE_PAGES; i++) {
		EXPECT_EQ(0, prot[i] & 0xf0) TH_LOG("page %u: 0x%x", i,
						    prot[i]);
	}
	EXPECT_EQ(-1, hmm_verify(stable, STABLE_PAGES * self->ps,
				 atomic_load(&r.last_seed)));
	hmm_unmap(r.spare, churn);
	hmm_unmap(r.region, size);
	free(r.mirror);
	close(r.fd);
}

/* Migrating threads whose file is closed under them: clean EBADF. */
static void *race_close_migrate(void *arg)
{
	struct race *r = arg;
	int ret;

	do {
		ret = hmm_cmd(r->fd, HMM_DMIRROR_MIGRATE_TO_DEV, r->region,
			      r->mirror, STABLE_PAGES, NULL);
		if (!ret)
			ret = hmm_cmd(r->fd, HMM_DMIRROR_MIGRATE_TO_SYS,
				      r->region, r->mirror, STABLE_PAGES, NULL);
		atomic_fetch_add(&r->migrations, 1);
	} while (ret != -EBADF && !race_over(r));
	if (ret != -EBADF)
		atomic_fetch_add(&r->bad, 1);
	return NULL;
}

/*
 * The file is closed while the threads migrate: once they have made two
 * round trips a thread between them, or after CLOSE_AFTER_MS. Each
 * thread then has CLOSE_EBADF_SECONDS to see EBADF and stop; one still
 * running after that is stopped, which counts as bad.
 */
#define CLOSE_AFTER_MS		500
#define CLOSE_EBADF_SECONDS	2

TEST_F_TIMEOUT(stress, close_while_threads_migrate, 60)
{
	size_t size = STABLE_PAGES * self->ps;
	struct race r = { .ps = self->ps };
	pthread_t threads[2];
	bool joined[2] = { false, false };
	struct timespec deadline;
	unsigned int i;

	race_setup(_metadata, &r, STABLE_PAGES);
	hmm_fill(r.region, size, 7);
	for (i = 0; i < ARRAY_SIZE(threads); i++)
		ASSERT_EQ(0, pthread_create(&threads[i], NULL,
					    race_close_migrate, &r));
	for (i = 0; i < CLOSE_AFTER_MS; i++) {
		if (atomic_load(&r.migrations) >= 2 * ARRAY_SIZE(threads))
			break;
		usleep(1000);
	}
	ASSERT_EQ(0, close(r.fd));
	/* pthread_timedjoin_np() takes a CLOCK_REALTIME deadline. */
	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += CLOSE_EBADF_SECONDS;
	for (i = 0; i < ARRAY_SIZE(threads); i++)
		joined[i] = !pthread_timedjoin_np(threads[i], NULL, &deadline);
	atomic_store(&r.stop, true);
	for (i = 0; i < ARRAY_SIZE(threads); i++) {
		if (!joined[i])
			pthread_join(threads[i], NULL);
	}
	EXPECT_EQ(0, atomic_load(&r.bad)) TH_LOG("a thread never saw EBADF");
	/* Pages left on the device come back on access, intact. */
	EXPECT_EQ(-1, hmm_verify(r.region, size, 7));
	hmm_unmap(r.region, size);
	free(r.mirror);
}

HMM_TEST_MAIN
