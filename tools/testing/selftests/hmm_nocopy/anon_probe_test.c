// SPDX-License-Identifier: GPL-2.0
/*
 * anon.<mode>.probe_new_pages_show_who_copied: the no-copy probe, one
 * row of the table below per migrate mode. Our engine primes each
 * destination with the sentinel and then skips its copy
 * (HMM_NC_MIGRATE_PROBE), so what the new pages hold says who copied:
 * after MIGRATE_SYNC_NO_COPY the process sees the sentinel (the kernel
 * moved the state only); after MIGRATE_SYNC, the control, it sees its
 * data (the kernel copied). See anon_common.h.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "anon_common.h"

FIXTURE_VARIANT(anon) {
	__u32 mode;		/* enum hmm_nc_mode */
	unsigned int needs;	/* enum hmm_need: the kernel has the mode */
	bool kernel_copies;	/* the new pages hold the data, else the sentinel */
	__u32 other;		/* the mode no page may go through */
	__u64 seed;
};

FIXTURE_VARIANT_ADD(anon, nocopy) {
	.mode = HMM_NC_MODE_SYNC_NO_COPY,
	.needs = HMM_NEED_NOCOPY,
	.other = HMM_NC_MODE_SYNC,
	.seed = 1,
};

FIXTURE_VARIANT_ADD(anon, sync) {
	.mode = HMM_NC_MODE_SYNC,
	.kernel_copies = true,
	.other = HMM_NC_MODE_SYNC_NO_COPY,
	.seed = 2,
};

FIXTURE_SETUP(anon)
{
	const char *why;

	anon_open(_metadata, self);
	why = hmm_unmet(self->fd0, variant->needs);
	if (why) {
		anon_close(self);
		HMM_SETUP_SKIP("%s", why);
	}
}

FIXTURE_TEARDOWN(anon)
{
	anon_close(self);
}

TEST_F(anon, probe_new_pages_show_who_copied)
{
	size_t npages = 8, size = npages * self->psize, i;
	char *p = map_anon(_metadata, size);
	__u8 *status = zalloc(_metadata, npages);
	struct hmm_nc_migrate_cmd cmd;
	struct hmm_nc_counters d;
	__u64 *before, *after;
	ssize_t bad;

	hmm_fill(p, size, variant->seed);
	before = pagemap_of(_metadata, p, npages);
	ASSERT_EQ(0, hmm_migrate_anon(self->fd0, p, npages, variant->mode,
				      HMM_NC_MIGRATE_PROBE, status, &cmd));
	EXPECT_EQ(npages, cmd.moved);
	/* NO_COPY's batch is the engine's, which then skipped its copy. */
	if (!variant->kernel_copies)
		EXPECT_EQ(1, cmd.batches);
	for (i = 0; i < npages; i++) {
		ASSERT_EQ(HMM_NC_PS_MOVED, status[i])
			TH_LOG("page %zu: %s", i, hmm_status_str(status[i]));
	}

	after = pagemap_of(_metadata, p, npages);
	assert_moved(_metadata, before, after, npages);
	if (variant->kernel_copies) {
		assert_data(_metadata, p, size, variant->seed);
	} else {
		bad = hmm_verify_word(p, size, HMM_NC_SENTINEL);
		ASSERT_EQ(-1, bad)
			TH_LOG("data, not the sentinel, at offset %zd", bad);
	}

	delta_of(_metadata, self->fd0, false, &self->c0, &d);
	EXPECT_EQ(npages, d.migrated[HMM_NC_CB_FOLIO][variant->mode]);
	EXPECT_EQ(0, d.failed[HMM_NC_CB_FOLIO][variant->mode]);
	EXPECT_EQ(0, d.migrated[HMM_NC_CB_FOLIO][variant->other]);
	assert_balanced(_metadata, &d);
	/* The probe skips the engine's copy; under SYNC the kernel copies. */
	engine_idle_since(_metadata, self->fd0, &self->c0);
}

HMM_TEST_MAIN
