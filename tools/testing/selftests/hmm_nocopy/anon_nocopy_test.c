// SPDX-License-Identifier: GPL-2.0
/*
 * anon.*: anonymous pages through the NO_COPY engine (HMM_NC_MIGRATE_ANON):
 * the engine's copy after the kernel moved the state, what it says of
 * each page, what it leaves alone or refuses, and the engine's
 * parameters on both paths. See anon_common.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "anon_common.h"

FIXTURE_SETUP(anon)
{
	anon_open(_metadata, self);
}

FIXTURE_TEARDOWN(anon)
{
	anon_close(self);
}

TEST_F(anon, nocopy_with_engine_copy_keeps_data)
{
	size_t npages = 37, size = npages * self->psize;
	char *p = map_anon(_metadata, size);
	struct hmm_nc_migrate_cmd cmd;
	struct hmm_nc_counters d;
	__u64 *before, *after;

	HMM_REQUIRE(self->fd0, HMM_NEED_NOCOPY);

	hmm_fill(p, size, 3);
	before = pagemap_of(_metadata, p, npages);
	ASSERT_EQ(0, hmm_migrate_anon(self->fd0, p, npages,
				      HMM_NC_MODE_SYNC_NO_COPY, 0, NULL, &cmd));
	EXPECT_EQ(npages, cmd.moved);
	after = pagemap_of(_metadata, p, npages);
	assert_moved(_metadata, before, after, npages);
	assert_data(_metadata, p, size, 3);

	delta_of(_metadata, self->fd0, false, &self->c0, &d);
	EXPECT_EQ(npages, d.migrated[HMM_NC_CB_FOLIO][HMM_NC_MODE_SYNC_NO_COPY]);
	EXPECT_EQ(1, d.batches);
	EXPECT_EQ(npages, d.pages_copied);
	assert_balanced(_metadata, &d);
}

/* Each page kind gets its own status, and only anonymous pages move. */
TEST_F(anon, nocopy_status_tells_each_page_kind)
{
	size_t npages = 4, ps = self->psize;
	char *p = map_anon(_metadata, npages * ps);
	__u8 *status = zalloc(_metadata, npages);
	struct hmm_nc_migrate_cmd cmd;
	__u8 want[] = {
		HMM_NC_PS_NO_PAGE,	/* never touched */
		HMM_NC_PS_NO_PAGE,	/* the zero page */
		HMM_NC_PS_MOVED,	/* written */
		HMM_NC_PS_SKIPPED,	/* on the device */
	};
	size_t i;

	HMM_REQUIRE(self->fd0, HMM_NEED_NOCOPY);

	ASSERT_EQ(-1, hmm_verify_word(p + ps, ps, 0));	/* maps the zero page */
	hmm_fill(p + 2 * ps, 2 * ps, 4);
	to_device(_metadata, self->fd0, p + 3 * ps, 1, zalloc(_metadata, ps));

	ASSERT_EQ(0, hmm_migrate_anon(self->fd0, p, npages,
				      HMM_NC_MODE_SYNC_NO_COPY, 0, status,
				      &cmd));
	EXPECT_EQ(1, cmd.moved);
	for (i = 0; i < ARRAY_SIZE(want); i++) {
		__u8 w = want[i];

		EXPECT_EQ(w, status[i])
			TH_LOG("page %zu: %s, want %s", i,
			       hmm_status_str(status[i]), hmm_status_str(w));
	}
	assert_data(_metadata, p + 2 * ps, 2 * ps, 4);
}

/* Shared anonymous memory is page cache (shmem): left where it is. */
TEST_F(anon, nocopy_leaves_shared_memory_alone)
{
	size_t npages = 2, size = npages * self->psize, i;
	__u8 *status = zalloc(_metadata, npages);
	struct hmm_nc_migrate_cmd cmd;
	struct hmm_nc_counters d;
	__u64 *before, *after;
	char *p;

	HMM_REQUIRE(self->fd0, HMM_NEED_NOCOPY);

	p = mmap(NULL, size, PROT_READ | PROT_WRITE,
		 MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, p);
	hmm_fill(p, size, 5);
	before = pagemap_of(_metadata, p, npages);
	ASSERT_EQ(0, hmm_migrate_anon(self->fd0, p, npages,
				      HMM_NC_MODE_SYNC_NO_COPY, 0, status,
				      &cmd));
	EXPECT_EQ(0, cmd.moved);
	for (i = 0; i < npages; i++) {
		EXPECT_EQ(HMM_NC_PS_NOT_ANON, status[i])
			TH_LOG("page %zu: %s", i, hmm_status_str(status[i]));
	}
	after = pagemap_of(_metadata, p, npages);
	for (i = 0; i < npages; i++)
		EXPECT_EQ(hmm_pm_pfn(before[i]), hmm_pm_pfn(after[i]));
	assert_data(_metadata, p, size, 5);
	delta_of(_metadata, self->fd0, false, &self->c0, &d);
	EXPECT_EQ(0, d.migrated[HMM_NC_CB_FOLIO][HMM_NC_MODE_SYNC_NO_COPY]);
	EXPECT_EQ(0, d.failed[HMM_NC_CB_FOLIO][HMM_NC_MODE_SYNC_NO_COPY]);
	assert_balanced(_metadata, &d);
}

/* Bad arguments are refused with EINVAL/EFAULT and nothing moves. */
TEST_F(anon, nocopy_refuses_bad_arguments)
{
	size_t npages = 4, size = npages * self->psize, i;
	char *p = map_anon(_metadata, size + self->psize);
	struct hmm_nc_migrate_cmd cmd;
	struct hmm_nc_counters d;
	__u64 *before, *after;

	/* The page after the buffer is a hole in the address space. */
	ASSERT_EQ(0, munmap(p + size, self->psize));
	hmm_fill(p, size, 6);
	before = pagemap_of(_metadata, p, npages);

	memset(&cmd, 0, sizeof(cmd));
	cmd.addr = (uintptr_t)p;
	cmd.npages = npages;
	cmd.flags = ~HMM_NC_MIGRATE_FLAGS;
	EXPECT_EQ(-1, ioctl(self->fd0, HMM_NC_MIGRATE_ANON, &cmd));
	EXPECT_EQ(EINVAL, errno);
	cmd.flags = 0;
	cmd.reserved[3] = 1;
	EXPECT_EQ(-1, ioctl(self->fd0, HMM_NC_MIGRATE_ANON, &cmd));
	EXPECT_EQ(EINVAL, errno);

	EXPECT_EQ(-EINVAL, hmm_migrate_anon(self->fd0, p, npages,
					    HMM_NC_MODE_COUNT, 0, NULL, NULL));
	EXPECT_EQ(-EINVAL, hmm_migrate_anon(self->fd0, p + 1, npages,
					    HMM_NC_MODE_SYNC, 0, NULL, NULL));
	EXPECT_EQ(-EINVAL, hmm_migrate_anon(self->fd0, p, 0,
					    HMM_NC_MODE_SYNC, 0, NULL, NULL));
	EXPECT_EQ(-EINVAL, hmm_migrate_anon(self->fd0, p,
					    HMM_NC_MIGRATE_MAX_PAGES + 1ULL,
					    HMM_NC_MODE_SYNC, 0, NULL, NULL));
	EXPECT_EQ(-EFAULT, hmm_migrate_anon(self->fd0, p, npages,
					    HMM_NC_MODE_SYNC, 0,
					    (__u8 *)(uintptr_t)8, NULL));

	EXPECT_EQ(-EINVAL, hmm_migrate_anon(self->fd0, p, npages + 1,
					    HMM_NC_MODE_SYNC, 0, NULL, NULL));

	after = pagemap_of(_metadata, p, npages);
	for (i = 0; i < npages; i++)
		EXPECT_EQ(hmm_pm_pfn(before[i]), hmm_pm_pfn(after[i]));
	assert_data(_metadata, p, size, 6);
	delta_of(_metadata, self->fd0, false, &self->c0, &d);
	EXPECT_EQ(0, d.migrated[HMM_NC_CB_FOLIO][HMM_NC_MODE_SYNC]);
	EXPECT_EQ(0, d.migrated[HMM_NC_CB_FOLIO][HMM_NC_MODE_SYNC_NO_COPY]);
}

static void assert_engine(struct __test_metadata *_metadata, int fd,
			  __u32 flags, __u32 batch_pages, __u32 setup_us)
{
	struct hmm_nc_engine e;

	ASSERT_EQ(0, hmm_engine_get(fd, &e));
	EXPECT_EQ(flags, e.flags);
	EXPECT_EQ(batch_pages, e.batch_pages);
	EXPECT_EQ(setup_us, e.setup_us);
}

/* An HMM_NC_ENGINE_SET that must be refused, leaving the engine alone. */
static void engine_refused(struct __test_metadata *_metadata, int fd,
			   struct hmm_nc_engine *e, unsigned long request)
{
	EXPECT_EQ(-1, ioctl(fd, request, e));
	EXPECT_EQ(EINVAL, errno);
	memset(e, 0, sizeof(*e));
}

/*
 * The engine's parameters: defaults, what SET takes and what it refuses
 * (nothing changes then), GET, one device's parameters not the other's.
 */
TEST_F(anon, engine_parameters_set_get_and_refuse)
{
	struct hmm_nc_engine e, out;

	assert_engine(_metadata, self->fd0, 0, HMM_NC_BATCH_PAGES, 0);

	memset(&e, 0, sizeof(e));
	e.flags = HMM_NC_ENGINE_FLAGS + 1;
	engine_refused(_metadata, self->fd0, &e, HMM_NC_ENGINE_SET);
	e.reserved0 = 1;
	engine_refused(_metadata, self->fd0, &e, HMM_NC_ENGINE_SET);
	e.reserved[3] = 1;
	engine_refused(_metadata, self->fd0, &e, HMM_NC_ENGINE_SET);
	e.batch_pages = HMM_NC_BATCH_PAGES + 1;
	engine_refused(_metadata, self->fd0, &e, HMM_NC_ENGINE_SET);
	e.setup_us = HMM_NC_ENGINE_MAX_SETUP_US + 1;
	engine_refused(_metadata, self->fd0, &e, HMM_NC_ENGINE_SET);
	e.batch_pages = 1;
	engine_refused(_metadata, self->fd0, &e, HMM_NC_ENGINE_GET);
	assert_engine(_metadata, self->fd0, 0, HMM_NC_BATCH_PAGES, 0);

	ASSERT_EQ(0, hmm_engine_set(self->fd0, HMM_NC_ENGINE_PER_PAGE, 1,
				    HMM_NC_ENGINE_MAX_SETUP_US, &out));
	EXPECT_EQ(HMM_NC_ENGINE_PER_PAGE, out.flags);
	EXPECT_EQ(1, out.batch_pages);
	EXPECT_EQ(HMM_NC_ENGINE_MAX_SETUP_US, out.setup_us);
	assert_engine(_metadata, self->fd0, HMM_NC_ENGINE_PER_PAGE, 1,
		      HMM_NC_ENGINE_MAX_SETUP_US);
	assert_engine(_metadata, self->fd1, 0, HMM_NC_BATCH_PAGES, 0);

	ASSERT_EQ(0, hmm_engine_reset(self->fd0));
	assert_engine(_metadata, self->fd0, 0, HMM_NC_BATCH_PAGES, 0);
}

/*
 * A per-page engine with small batches changes how the copy is cut, never
 * the outcome: on the device path every page moves with its data, with
 * one copy operation per page each way.
 */
TEST_F(anon, per_page_engine_device_path_moves_data_intact)
{
	size_t npages = 37, size = npages * self->psize;
	char *p = map_anon(_metadata, size);
	char *mirror = zalloc(_metadata, size);
	struct hmm_nc_counters d;

	ASSERT_EQ(0, hmm_engine_set(self->fd0, HMM_NC_ENGINE_PER_PAGE, 8, 0,
				    NULL));
	hmm_fill(p, size, 5);
	to_device(_metadata, self->fd0, p, npages, mirror);
	assert_data(_metadata, mirror, size, 5);
	to_system(_metadata, self->fd0, p, npages);
	assert_data(_metadata, p, size, 5);

	delta_of(_metadata, self->fd0, false, &self->c0, &d);
	EXPECT_EQ(2 * npages, d.batches);
	EXPECT_EQ(2 * npages, d.pages_copied);
	assert_balanced(_metadata, &d);
}

/*
 * The same engine under NO_COPY: every page moves with its data, in
 * ceil(n / 8) batches and one copy operation per page; a probe still
 * shows that the kernel did not copy.
 */
TEST_F(anon, per_page_engine_nocopy_moves_data_intact)
{
	size_t npages = 37, size = npages * self->psize;
	char *p = map_anon(_metadata, size);
	char *q = map_anon(_metadata, size);
	struct hmm_nc_migrate_cmd cmd;
	struct hmm_nc_counters d;
	__u64 *before, *after;

	HMM_REQUIRE(self->fd0, HMM_NEED_NOCOPY);
	ASSERT_EQ(0, hmm_engine_set(self->fd0, HMM_NC_ENGINE_PER_PAGE, 8, 0,
				    NULL));
	hmm_fill(p, size, 5);
	before = pagemap_of(_metadata, p, npages);
	ASSERT_EQ(0, hmm_migrate_anon(self->fd0, p, npages,
				      HMM_NC_MODE_SYNC_NO_COPY, 0, NULL, &cmd));
	EXPECT_EQ(npages, cmd.moved);
	EXPECT_EQ((npages + 7) / 8, cmd.batches);
	after = pagemap_of(_metadata, p, npages);
	assert_moved(_metadata, before, after, npages);
	assert_data(_metadata, p, size, 5);

	delta_of(_metadata, self->fd0, false, &self->c0, &d);
	EXPECT_EQ(npages, d.batches);
	EXPECT_EQ(npages, d.pages_copied);
	EXPECT_EQ(npages, d.migrated[HMM_NC_CB_FOLIO][HMM_NC_MODE_SYNC_NO_COPY]);
	assert_balanced(_metadata, &d);

	hmm_fill(q, size, 6);
	ASSERT_EQ(0, hmm_migrate_anon(self->fd0, q, npages,
				      HMM_NC_MODE_SYNC_NO_COPY,
				      HMM_NC_MIGRATE_PROBE, NULL, &cmd));
	EXPECT_EQ(npages, cmd.moved);
	EXPECT_EQ(-1, hmm_verify_word(q, size, HMM_NC_SENTINEL));
}

HMM_TEST_MAIN

