// SPDX-License-Identifier: GPL-2.0
/*
 * ksm.*: device commands over pages KSM merged.
 *
 * migrate_vma_setup() replaces a page's PTEs with migration entries by
 * walking the page table, and migrate_vma_finalize() puts them back by
 * walking the page's reverse map. For a KSM page the reverse map is
 * ksmd's list of the page's mappings, which lags the page table: a scan
 * that finds a mapping not present (under a migration entry, say) drops
 * it from the list, and only the next scan adds it again. A device
 * command in between leaves a migration entry behind on the page, which
 * is unlocked afterwards: the next fault on it, or the process's exit,
 * is a kernel BUG (docs/known-issues/ksm_migration_entry_left.md).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#include "hmm_fixture.h"
#include "ksm_common.h"

#define KSM_MERGED	16	/* the range's pages of one content */
#define KSM_UNIQUE	48	/* then pages of their own */
#define KSM_PAGES	(KSM_MERGED + KSM_UNIQUE)
#define KSM_CONTENT	0x5a
#define KSM_SEED	0x6b736d
#define KSM_SETUP_US	1000	/* the engine's cost a page */
#define KSM_SLEEP_MS	"20"	/* below the 48 ms the batch is held */
#define KSM_ROUNDS	10	/* batches at most */
#define KSM_CHECKS	3	/* of them with ksmd's drop */
#define KSM_HOLD_MS	1000

FIXTURE(ksm)
{
	struct hmm_env e;
	char *range;	/* KSM_MERGED merged pages, then KSM_UNIQUE */
	char *other;	/* one more mapping of the merged page */
	char *mirror;
};

FIXTURE_SETUP(ksm)
{
	size_t ps;

	env_setup(_metadata, &self->e);
	ps = self->e.ps;
	if (!ksm_available())
		SKIP(return, "no KSM (CONFIG_KSM)");
	self->range = hmm_map_anon(KSM_PAGES * ps, PROT_READ | PROT_WRITE);
	self->other = hmm_map_anon(ps, PROT_READ | PROT_WRITE);
	self->mirror = malloc(KSM_PAGES * ps);
	ASSERT_NE(NULL, self->range);
	ASSERT_NE(NULL, self->other);
	ASSERT_NE(NULL, self->mirror);
	memset(self->range, KSM_CONTENT, KSM_MERGED * ps);
	hmm_fill(self->range + KSM_MERGED * ps, KSM_UNIQUE * ps, KSM_SEED);
	memset(self->other, KSM_CONTENT, ps);
	ASSERT_EQ(0, madvise(self->range, KSM_PAGES * ps, MADV_MERGEABLE));
	ASSERT_EQ(0, madvise(self->other, ps, MADV_MERGEABLE));
}

FIXTURE_TEARDOWN(ksm)
{
	ksm_stop();
	hmm_engine_reset(self->e.dev);
	if (self->range)
		munmap(self->range, KSM_PAGES * self->e.ps);
	if (self->other)
		munmap(self->other, self->e.ps);
	free(self->mirror);
	close_if(&self->e.dev);
}

/*
 * Waits up to ms milliseconds for ksmd to drop mappings of the merged
 * page from its list (pages_sharing falls below sharing).
 */
static bool ksm_dropped(long sharing, long ms)
{
	long t0 = hmm_now_ms();

	do {
		if (ksm_read("pages_sharing") < sharing)
			return true;
	} while (hmm_now_ms() - t0 < ms);
	return false;
}

/*
 * Every merged page of the range is mapped, by the page pfn. Read with
 * the page locked (a migration entry is only looked at under its page's
 * lock: pagemap would trip on one left on an unlocked page); a range
 * left with one is unmapped while the lock still holds, so that nothing
 * faults on it or tears it down unlocked.
 */
static int merged_mapped(struct __test_metadata *_metadata,
			 FIXTURE_DATA(ksm) * self, int round)
{
	__u64 pm[KSM_MERGED], pfn;
	int i, left = 0;

	ASSERT_EQ(0, hmm_core_lock(self->e.dev, self->other, KSM_HOLD_MS,
				   &pfn));
	ASSERT_EQ(0, hmm_pagemap(self->range, KSM_MERGED, pm));
	for (i = 0; i < KSM_MERGED; i++) {
		if (hmm_pm_pfn(pm[i]) == pfn)
			continue;
		left++;
		TH_LOG("round %d: page %d: pagemap 0x%llx, not the KSM page %llu%s",
		       round, i, (unsigned long long)pm[i],
		       (unsigned long long)pfn,
		       hmm_pm_swapped(pm[i]) ? " (a swap entry)" : "");
	}
	if (left) {
		ASSERT_EQ(0, munmap(self->range, KSM_PAGES * self->e.ps));
		self->range = NULL;
	}
	/* The hold ends by itself: wait for it, so no later step meets it. */
	usleep(KSM_HOLD_MS * 1000);
	return left;
}

/*
 * Two device commands over the range, the first holding its batch (the
 * merged pages under migration entries) long enough for ksmd to scan
 * past them and drop them from its list, the second right after ksmd
 * did: whatever each moves or leaves, afterwards every merged page is
 * mapped again, by the KSM page. Rounds until ksmd dropped them
 * KSM_CHECKS times (the unique pages back from the device between
 * rounds); a kernel whose ksmd never does in KSM_ROUNDS skips: nothing
 * to test there.
 */
TEST_F_TIMEOUT(ksm, device_commands_restore_mappings_ksmd_dropped, 120)
{
	struct hmm_dmirror_cmd cmd;
	int round, dropped = 0, left = 0;

	HMM_REQUIRE(self->e.dev, HMM_NEED_CORE_MIGRATE);
	if (ksm_merge(KSM_SLEEP_MS, KSM_MERGED))
		SKIP(return, "ksmd did not merge the %d pages in 30 s",
		     KSM_MERGED + 1);
	ASSERT_EQ(0, hmm_engine_set(self->e.dev, HMM_NC_ENGINE_PER_PAGE, 0,
				    KSM_SETUP_US, NULL));
	for (round = 1; round <= KSM_ROUNDS && dropped < KSM_CHECKS; round++) {
		/* KSM pages stay: ENOENT, the unique ones go. */
		EXPECT_EQ(-ENOENT, hmm_cmd(self->e.dev,
					   HMM_DMIRROR_MIGRATE_TO_DEV,
					   self->range, self->mirror,
					   KSM_PAGES, &cmd));
		if (ksm_dropped(KSM_MERGED, 20)) {
			dropped++;
			hmm_cmd(self->e.dev, HMM_DMIRROR_MIGRATE_TO_DEV,
				self->range, self->mirror, KSM_PAGES, &cmd);
			left = merged_mapped(_metadata, self, round);
			if (left)
				break;
		}
		/* The unique pages back, the merge whole, for the next one. */
		ASSERT_EQ(0, hmm_cmd(self->e.dev, HMM_DMIRROR_MIGRATE_TO_SYS,
				     self->range, self->mirror, KSM_PAGES,
				     &cmd));
		ASSERT_EQ(0, ksm_merge(KSM_SLEEP_MS, KSM_MERGED));
	}
	if (!dropped)
		SKIP(return, "ksmd kept the merged mappings on its list %s %d batches: %s",
		     "through", KSM_ROUNDS, "the race cannot be set up");
	EXPECT_EQ(0, left)
		TH_LOG("%d merged pages left under a migration entry", left);
	if (self->range)
		EXPECT_EQ(-1, hmm_verify(self->range + KSM_MERGED * self->e.ps,
					 KSM_UNIQUE * self->e.ps, KSM_SEED));
}

HMM_TEST_MAIN
