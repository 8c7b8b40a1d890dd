// SPDX-License-Identifier: GPL-2.0
/*
 * stress.fault_*: the error paths of every migration command, run on
 * purpose with the device's fault switch (HMM_NC_FAULT_SET): a device
 * page, a system page or a DMA copy that fails. Each failure reaches the
 * caller (an errno, cpages, or a page status), the pages it hit stay
 * where they were with their data, the rest of the command does what the
 * uapi header says, and the device works again once the switch is spent.
 * The runner checks after each test that nothing stayed locked or taken
 * and that every device page came back: the module's own counts. Where
 * the pages stay in system memory, the kernel's figures are checked
 * too: a page that stayed is mapped as before (/proc/kpagecount), and
 * free memory comes back (the failed destinations and the old pages of
 * the moved ones were freed: assert_free_back()).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "hmm_fixture.h"

#define NPAGES		64
#define BATCH		16	/* pages per batch where a test sets it */
#define SEED		0x5eed
#define MIXED_SECONDS	3	/* stress.fault_mixed_*: how long it goes on */

/* What every test starts from; the helpers take it. */
struct fault_env {
	int fd;
	size_t ps;
	char *buf;		/* NPAGES of pattern */
	char *mirror;
	__u64 pfn[NPAGES];	/* where buf's pages were before */
	struct hmm_nc_counters before;
	__u32 anon_mode;	/* of HMM_NC_MIGRATE_ANON in the mixed run */
};

FIXTURE(stress) {
	struct fault_env e;
};

FIXTURE_SETUP(stress)
{
	self->e.fd = hmm_open(0);
	if (self->e.fd < 0)
		HMM_SETUP_SKIP("no /dev/hmm_dmirror0: %s", strerror(-self->e.fd));
	/* The engine is the device's: what a killed test set stays. */
	ASSERT_LE(0, hmm_engines_reset(NULL));
	self->e.ps = hmm_page_size();
	self->e.buf = hmm_map_anon(NPAGES * self->e.ps, PROT_READ | PROT_WRITE);
	ASSERT_NE(NULL, self->e.buf);
	self->e.mirror = malloc(NPAGES * self->e.ps);
	ASSERT_NE(NULL, self->e.mirror);
	/* In memory from here on: a test's free-memory figures skip it. */
	memset(self->e.mirror, 0, NPAGES * self->e.ps);
	hmm_fill(self->e.buf, NPAGES * self->e.ps, SEED);
	ASSERT_EQ(0, hmm_pagemap(self->e.buf, NPAGES, self->e.pfn));
	ASSERT_EQ(0, hmm_counters(self->e.fd, false, &self->e.before));
}

/* Closing the file disarms its switches; the engine is the device's. */
FIXTURE_TEARDOWN(stress)
{
	hmm_engine_reset(self->e.fd);
	close(self->e.fd);
	free(self->e.mirror);
	hmm_unmap(self->e.buf, NPAGES * self->e.ps);
}

/* This device's counters now, less what they were at set-up. */
static struct hmm_nc_counters delta(struct __test_metadata *_metadata,
				    struct fault_env *env)
{
	struct hmm_nc_counters now, d;

	EXPECT_EQ(0, hmm_counters(env->fd, false, &now));
	hmm_counters_delta(&env->before, &now, &d);
	return d;
}

/* A bitmap of the pages of buf that are on this device. */
static __u64 on_device(struct __test_metadata *_metadata,
		       struct fault_env *env)
{
	__u8 prot[NPAGES];
	__u64 map = 0;
	int i;

	EXPECT_EQ(0, hmm_snapshot(env->fd, env->buf, NPAGES, prot));
	for (i = 0; i < NPAGES; i++)
		if (prot[i] & HMM_DMIRROR_PROT_DEV_PRIVATE_LOCAL)
			map |= 1ULL << i;
	return map;
}

/* Pages [first, first + n) of a bitmap of NPAGES. */
static __u64 pages(int first, int n)
{
	return (n >= 64 ? ~0ULL : (1ULL << n) - 1) << first;
}

/* A bitmap of the pages of buf that left the frame they had at set-up. */
static __u64 pages_moved(struct __test_metadata *_metadata,
			 struct fault_env *env)
{
	__u64 now[NPAGES], map = 0;
	int i;

	EXPECT_EQ(0, hmm_pagemap(env->buf, NPAGES, now));
	for (i = 0; i < NPAGES; i++)
		if (hmm_pm_pfn(now[i]) != hmm_pm_pfn(env->pfn[i]))
			map |= 1ULL << i;
	return map;
}

/* A bitmap of the pages whose status is st. */
static __u64 with_status(const __u8 *status, __u8 st)
{
	__u64 map = 0;
	int i;

	for (i = 0; i < NPAGES; i++)
		if (status[i] == st)
			map |= 1ULL << i;
	return map;
}

static void arm(struct __test_metadata *_metadata, int fd, __u32 point,
		__u32 skip, __u32 times)
{
	ASSERT_EQ(0, hmm_fault_set(fd, point, skip, times, NULL));
}

/* The switch was spent: every failure it was armed for was made. */
static void assert_spent(struct __test_metadata *_metadata, int fd,
			 __u32 point, __u64 injected)
{
	struct hmm_nc_fault f;

	ASSERT_EQ(0, hmm_fault_get(fd, point, &f));
	EXPECT_EQ(0, f.skip);
	EXPECT_EQ(0, f.times);
	EXPECT_EQ(injected, f.injected);
}

/*
 * The pages of map stayed in the frame they had at set-up, each still
 * mapped once (by buf, or by the file's one mapping at p).
 */
static void assert_stayed(struct __test_metadata *_metadata, const char *p,
			  __u64 map, const __u64 *pfn)
{
	__u64 now[NPAGES];
	int i;

	ASSERT_EQ(0, hmm_pagemap(p, NPAGES, now));
	for (i = 0; i < NPAGES; i++) {
		if (!(map & (1ULL << i)))
			continue;
		EXPECT_EQ(hmm_pm_pfn(pfn[i]), hmm_pm_pfn(now[i]))
			TH_LOG("page %d moved", i);
		assert_map_count(_metadata, hmm_pm_pfn(now[i]), 1, i);
	}
}

static void assert_intact(struct __test_metadata *_metadata,
			  struct fault_env *env)
{
	EXPECT_EQ(-1, hmm_verify(env->buf, NPAGES * env->ps, SEED));
}

static int to_device(struct fault_env *env)
{
	return hmm_cmd(env->fd, HMM_DMIRROR_MIGRATE_TO_DEV, env->buf,
		       env->mirror, NPAGES, NULL);
}

static int nocopy(struct fault_env *env, __u8 *status,
		  struct hmm_nc_migrate_cmd *out)
{
	return hmm_migrate_anon(env->fd, env->buf, NPAGES,
				HMM_NC_MODE_SYNC_NO_COPY, 0, status, out);
}

/*
 * Pages 8..11 get no device page: they stay in system memory, the
 * command says ENOENT (a page did not end up on the device), the others
 * move, and all read back intact.
 */
TEST_F(stress, fault_devmem_alloc_fails_pages_stay_in_system_enoent)
{
	arm(_metadata, self->e.fd, HMM_NC_FAULT_DEVMEM, 8, 4);
	EXPECT_EQ(-ENOENT, to_device(&self->e));
	EXPECT_EQ(~pages(8, 4), on_device(_metadata, &self->e));
	EXPECT_EQ(4, delta(_metadata, &self->e).faults_injected);
	assert_spent(_metadata, self->e.fd, HMM_NC_FAULT_DEVMEM, 4);
	assert_intact(_metadata, &self->e);
}

/*
 * Pages 3..6 get no system page on the way back: cpages counts the 60
 * that came back, the 4 stay on the device, and a CPU access (which
 * never fails on purpose) still brings them back intact.
 */
TEST_F(stress, fault_sysmem_alloc_fails_pages_stay_on_device)
{
	struct hmm_dmirror_cmd out;

	ASSERT_EQ(0, to_device(&self->e));
	ASSERT_EQ(~0ULL, on_device(_metadata, &self->e));
	arm(_metadata, self->e.fd, HMM_NC_FAULT_SYSMEM, 3, 4);
	EXPECT_EQ(0, hmm_cmd(self->e.fd, HMM_DMIRROR_MIGRATE_TO_SYS, self->e.buf,
			     self->e.mirror, NPAGES, &out));
	EXPECT_EQ(NPAGES - 4, out.cpages);
	EXPECT_EQ(pages(3, 4), on_device(_metadata, &self->e));
	assert_spent(_metadata, self->e.fd, HMM_NC_FAULT_SYSMEM, 4);
	assert_intact(_metadata, &self->e);
	EXPECT_EQ(0, on_device(_metadata, &self->e));
}

/*
 * The second batch's DMA copy fails on the way to the device: that
 * batch stays in system memory, the command stops with EIO, the first
 * batch is on the device, the last two were not tried. Once the switch
 * is spent the same command moves everything.
 */
TEST_F(stress, fault_dma_fails_batch_to_device_stays_eio)
{
	ASSERT_EQ(0, hmm_engine_set(self->e.fd, 0, BATCH, 0, NULL));
	arm(_metadata, self->e.fd, HMM_NC_FAULT_DMA, 1, 1);
	EXPECT_EQ(-EIO, to_device(&self->e));
	EXPECT_EQ(pages(0, BATCH), on_device(_metadata, &self->e));
	EXPECT_EQ(BATCH, delta(_metadata, &self->e).copy_failed);
	assert_spent(_metadata, self->e.fd, HMM_NC_FAULT_DMA, 1);
	EXPECT_EQ(0, to_device(&self->e));
	EXPECT_EQ(~0ULL, on_device(_metadata, &self->e));
	assert_intact(_metadata, &self->e);
}

/*
 * The second batch's copy fails on the way back: it stays on the device
 * with its data, the first batch is back, the rest not tried.
 */
TEST_F(stress, fault_dma_fails_batch_to_system_stays_on_device_eio)
{
	ASSERT_EQ(0, hmm_engine_set(self->e.fd, 0, BATCH, 0, NULL));
	ASSERT_EQ(0, to_device(&self->e));
	arm(_metadata, self->e.fd, HMM_NC_FAULT_DMA, 1, 1);
	EXPECT_EQ(-EIO, hmm_cmd(self->e.fd, HMM_DMIRROR_MIGRATE_TO_SYS,
				self->e.buf, self->e.mirror, NPAGES, NULL));
	EXPECT_EQ(~pages(0, BATCH), on_device(_metadata, &self->e));
	EXPECT_EQ(BATCH, delta(_metadata, &self->e).copy_failed);
	assert_intact(_metadata, &self->e);
}

/*
 * NO_COPY: the engine copies a batch before any state moves, so a copy
 * that fails leaves the whole batch in its old pages (same frames, same
 * data); the batch before it moved, the ones after are untouched.
 */
TEST_F(stress, fault_dma_fails_anon_nocopy_batch_keeps_old_pages)
{
	__u8 status[NPAGES];

	HMM_REQUIRE(self->e.fd, HMM_NEED_NOCOPY);

	ASSERT_EQ(0, hmm_engine_set(self->e.fd, 0, BATCH, 0, NULL));
	arm(_metadata, self->e.fd, HMM_NC_FAULT_DMA, 1, 1);
	EXPECT_EQ(-EIO, nocopy(&self->e, status, NULL));
	EXPECT_EQ(pages(0, BATCH), with_status(status, HMM_NC_PS_MOVED));
	EXPECT_EQ(pages(BATCH, BATCH),
		  with_status(status, HMM_NC_PS_COPY_FAILED));
	EXPECT_EQ(pages(2 * BATCH, NPAGES - 2 * BATCH),
		  with_status(status, HMM_NC_PS_UNTOUCHED));
	EXPECT_EQ(pages(0, BATCH), pages_moved(_metadata, &self->e));
	EXPECT_EQ(BATCH, delta(_metadata, &self->e).copy_failed);
	assert_stayed(_metadata, self->e.buf, ~pages(0, BATCH),
		      self->e.pfn);
	assert_intact(_metadata, &self->e);
}

/*
 * A per-page engine copies each page right before its state moves: a
 * failed copy leaves just that page, the rest of the batch moves, and
 * the command still says EIO.
 */
TEST_F(stress, fault_dma_fails_per_page_anon_nocopy_only_that_page_stays)
{
	__u8 status[NPAGES];
	long free_before;

	HMM_REQUIRE(self->e.fd, HMM_NEED_NOCOPY);

	free_before = free_pages_now(_metadata);
	ASSERT_EQ(0, hmm_engine_set(self->e.fd, HMM_NC_ENGINE_PER_PAGE, 0, 0,
				    NULL));
	arm(_metadata, self->e.fd, HMM_NC_FAULT_DMA, 5, 2);
	EXPECT_EQ(-EIO, nocopy(&self->e, status, NULL));
	EXPECT_EQ(pages(5, 2), with_status(status, HMM_NC_PS_COPY_FAILED));
	EXPECT_EQ(~pages(5, 2), with_status(status, HMM_NC_PS_MOVED));
	EXPECT_EQ(~pages(5, 2), pages_moved(_metadata, &self->e));
	EXPECT_EQ(2, delta(_metadata, &self->e).copy_failed);
	assert_stayed(_metadata, self->e.buf, pages(5, 2),
		      self->e.pfn);
	assert_free_back(_metadata, free_before, NPAGES,
			 "failed anonymous pages");
	assert_intact(_metadata, &self->e);
}

/* No destination page: that page says NOMEM and stays; not an error. */
TEST_F(stress, fault_sysmem_alloc_fails_anon_nocopy_reports_nomem)
{
	struct hmm_nc_migrate_cmd out;
	__u8 status[NPAGES];

	HMM_REQUIRE(self->e.fd, HMM_NEED_NOCOPY);

	arm(_metadata, self->e.fd, HMM_NC_FAULT_SYSMEM, 0, 3);
	EXPECT_EQ(0, nocopy(&self->e, status, &out));
	EXPECT_EQ(NPAGES - 3, out.moved);
	EXPECT_EQ(pages(0, 3), with_status(status, HMM_NC_PS_NOMEM));
	EXPECT_EQ(~pages(0, 3), pages_moved(_metadata, &self->e));
	assert_stayed(_metadata, self->e.buf, pages(0, 3),
		      self->e.pfn);
	assert_intact(_metadata, &self->e);
}

/* A shmem file of NPAGES pages with the pattern, mapped shared. */
static char *shmem_file(struct __test_metadata *_metadata,
			struct fault_env *env, int *fdp)
{
	size_t size = NPAGES * env->ps;
	int fd = memfd_create("hmm_fault", MFD_CLOEXEC);
	char *p;

	ASSERT_LE(0, fd);
	ASSERT_EQ((ssize_t)size, pwrite(fd, env->buf, size, 0));
	p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	ASSERT_NE(MAP_FAILED, p);
	/* Only mapped pages migrate: fault them in. */
	EXPECT_EQ(-1, hmm_verify(p, size, SEED));
	*fdp = fd;
	return p;
}

/* The file reads back right through read() as well as the mapping. */
static void assert_file_intact(struct __test_metadata *_metadata,
			       struct fault_env *env, int fd,
			       const char *p)
{
	size_t size = NPAGES * env->ps;

	EXPECT_EQ(-1, hmm_verify(p, size, SEED));
	memset(env->mirror, 0, size);
	EXPECT_EQ((ssize_t)size, pread(fd, env->mirror, size, 0));
	EXPECT_EQ(-1, hmm_verify(env->mirror, size, SEED));
}

static __u64 file_status(const struct hmm_nc_file_page *rec, __u8 st)
{
	__u64 map = 0;
	int i;

	for (i = 0; i < NPAGES; i++)
		if (rec[i].status == st)
			map |= 1ULL << i;
	return map;
}

/*
 * Page cache, NO_COPY: the first batch's copy fails, so no page of it
 * changes its cache slot or its data (read() and the mapping agree); the
 * command says EIO and tried nothing after. Spent, the switch lets the
 * same command move every page. The failure is made FILE_FAILS times,
 * so that the destinations the kernel must free (its finalize step, not
 * the module) are enough pages for free memory to show a leak of them.
 */
#define FILE_FAILS	4

TEST_F(stress, fault_dma_fails_file_nocopy_page_cache_unchanged)
{
	struct hmm_nc_file_page rec[NPAGES];
	struct hmm_nc_file_cmd out;
	__u64 pfn[NPAGES];
	long free_before;
	int i, file;
	char *p;

	HMM_REQUIRE(self->e.fd, HMM_NEED_NOCOPY);

	p = shmem_file(_metadata, &self->e, &file);
	ASSERT_EQ(0, hmm_pagemap(p, NPAGES, pfn));
	free_before = free_pages_now(_metadata);
	ASSERT_EQ(0, hmm_engine_set(self->e.fd, 0, BATCH, 0, NULL));
	arm(_metadata, self->e.fd, HMM_NC_FAULT_DMA, 0, FILE_FAILS);
	for (i = 0; i < FILE_FAILS; i++)
		EXPECT_EQ(-EIO, hmm_migrate_file(self->e.fd, p, NPAGES,
						 HMM_NC_MODE_SYNC_NO_COPY, 0,
						 rec, NULL));
	EXPECT_EQ(pages(0, BATCH), file_status(rec, HMM_NC_PS_COPY_FAILED));
	EXPECT_EQ(pages(BATCH, NPAGES - BATCH),
		  file_status(rec, HMM_NC_PS_UNTOUCHED));
	for (i = 0; i < BATCH; i++) {
		EXPECT_EQ(0, rec[i].new_pfn) TH_LOG("page %d", i);
	}
	assert_stayed(_metadata, p, ~0ULL, pfn);
	/* The kernel's finalize step frees the failed destinations. */
	assert_free_back(_metadata, free_before, FILE_FAILS * BATCH,
			 "failed page-cache batches");
	assert_file_intact(_metadata, &self->e, file, p);

	EXPECT_EQ(0, hmm_migrate_file(self->e.fd, p, NPAGES,
				      HMM_NC_MODE_SYNC_NO_COPY, 0, rec, &out));
	EXPECT_EQ(NPAGES, out.moved);
	assert_file_intact(_metadata, &self->e, file, p);
	munmap(p, NPAGES * self->e.ps);
	close(file);
}

/*
 * Page cache with a per-page engine: the failed page keeps its cache
 * slot and data, the rest of the batch moves, the command says EIO.
 */
TEST_F(stress, fault_dma_fails_per_page_file_nocopy_only_that_page_stays)
{
	struct hmm_nc_file_page rec[NPAGES];
	__u64 pfn[NPAGES];
	long free_before;
	int file;
	char *p;

	HMM_REQUIRE(self->e.fd, HMM_NEED_NOCOPY);

	p = shmem_file(_metadata, &self->e, &file);
	ASSERT_EQ(0, hmm_pagemap(p, NPAGES, pfn));
	free_before = free_pages_now(_metadata);
	ASSERT_EQ(0, hmm_engine_set(self->e.fd, HMM_NC_ENGINE_PER_PAGE, 0, 0,
				    NULL));
	arm(_metadata, self->e.fd, HMM_NC_FAULT_DMA, 9, 1);
	EXPECT_EQ(-EIO, hmm_migrate_file(self->e.fd, p, NPAGES,
					 HMM_NC_MODE_SYNC_NO_COPY, 0, rec,
					 NULL));
	EXPECT_EQ(pages(9, 1), file_status(rec, HMM_NC_PS_COPY_FAILED));
	EXPECT_EQ(~pages(9, 1), file_status(rec, HMM_NC_PS_MOVED));
	EXPECT_EQ(0, rec[9].new_pfn);
	EXPECT_EQ(1, delta(_metadata, &self->e).copy_failed);
	assert_stayed(_metadata, p, pages(9, 1), pfn);
	assert_free_back(_metadata, free_before, NPAGES,
			 "a failed page-cache page");
	assert_file_intact(_metadata, &self->e, file, p);
	munmap(p, NPAGES * self->e.ps);
	close(file);
}

/* Page cache: no destination for pages 2 and 3, which say NOMEM. */
TEST_F(stress, fault_sysmem_alloc_fails_file_nocopy_reports_nomem)
{
	struct hmm_nc_file_page rec[NPAGES];
	struct hmm_nc_file_cmd out;
	__u64 pfn[NPAGES];
	int file;
	char *p;

	HMM_REQUIRE(self->e.fd, HMM_NEED_NOCOPY);

	p = shmem_file(_metadata, &self->e, &file);
	ASSERT_EQ(0, hmm_pagemap(p, NPAGES, pfn));
	arm(_metadata, self->e.fd, HMM_NC_FAULT_SYSMEM, 2, 2);
	EXPECT_EQ(0, hmm_migrate_file(self->e.fd, p, NPAGES,
				      HMM_NC_MODE_SYNC_NO_COPY, 0, rec, &out));
	EXPECT_EQ(NPAGES - 2, out.moved);
	EXPECT_EQ(pages(2, 2), file_status(rec, HMM_NC_PS_NOMEM));
	EXPECT_EQ(~pages(2, 2), file_status(rec, HMM_NC_PS_MOVED));
	assert_stayed(_metadata, p, pages(2, 2), pfn);
	assert_file_intact(_metadata, &self->e, file, p);
	munmap(p, NPAGES * self->e.ps);
	close(file);
}

/*
 * A switch belongs to the file it was armed on: another open file of
 * the same device never meets its failures, while the file it was armed
 * on does.
 */
TEST_F(stress, fault_switch_belongs_to_its_open_file)
{
	char *mirror = malloc(self->e.ps);
	int other = hmm_open(0);

	ASSERT_LE(0, other);
	ASSERT_NE(NULL, mirror);
	arm(_metadata, other, HMM_NC_FAULT_DMA, 0, 1000);
	arm(_metadata, other, HMM_NC_FAULT_DEVMEM, 0, 1000);
	EXPECT_EQ(0, to_device(&self->e));
	EXPECT_EQ(~0ULL, on_device(_metadata, &self->e));
	EXPECT_EQ(0, delta(_metadata, &self->e).faults_injected);
	/*
	 * The control: page 0, back in system memory (read by the CPU),
	 * gets no device page through the file the switch is armed on.
	 */
	EXPECT_EQ(-1, hmm_verify(self->e.buf, self->e.ps, SEED));
	EXPECT_EQ(-ENOENT, hmm_cmd(other, HMM_DMIRROR_MIGRATE_TO_DEV,
				   self->e.buf, mirror, 1, NULL));
	EXPECT_EQ(1, delta(_metadata, &self->e).faults_injected);
	close(other);
	free(mirror);
	assert_intact(_metadata, &self->e);
}

/* One step of the mixed run: a command, armed to fail somewhere. */
static int mixed_step(struct fault_env *env, unsigned int r)
{
	static const __u32 points[] = {
		HMM_NC_FAULT_DEVMEM, HMM_NC_FAULT_SYSMEM, HMM_NC_FAULT_DMA,
	};

	hmm_fault_set(env->fd, points[r % 3], (r >> 2) % 24, 1 + (r >> 7) % 4,
		      NULL);
	switch ((r >> 9) % 3) {
	case 0:
		return to_device(env);
	case 1:
		return hmm_cmd(env->fd, HMM_DMIRROR_MIGRATE_TO_SYS, env->buf,
			       env->mirror, NPAGES, NULL);
	default:
		return hmm_migrate_anon(env->fd, env->buf, NPAGES,
					env->anon_mode, 0, NULL, NULL);
	}
}

/*
 * The mixed run's seed: HMM_SEED from the environment (decimal or 0x
 * hex), to replay a run whose output printed it; else a fresh one, so
 * that each run tries other failure points. A value that is no number
 * fails the test rather than quietly run another sequence.
 */
static unsigned int mixed_seed(struct __test_metadata *_metadata)
{
	const char *s = getenv("HMM_SEED");
	struct timespec ts;
	unsigned long v;
	char *end;

	if (s && *s) {
		errno = 0;
		v = strtoul(s, &end, 0);
		ASSERT_TRUE(!errno && !*end && v <= 0xffffffffUL)
			TH_LOG("HMM_SEED=%s is not a 32-bit number", s);
		return v;
	}
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (unsigned int)ts.tv_nsec ^ (unsigned int)ts.tv_sec ^
	       ((unsigned int)getpid() << 16);
}

/*
 * For MIXED_SECONDS, commands of every kind with a failure armed at a
 * random point, over pages that are partly on the device, partly not,
 * in batches of 4: whatever fails, each command says so or succeeds,
 * and the data, read through the device so that no page moves for it,
 * is intact after every step. The seed is printed, with the variable
 * that replays it (the same sequence of commands; how many of them run
 * depends on the time they take).
 */
TEST_F_TIMEOUT(stress, fault_mixed_failures_lose_nothing, 60)
{
	unsigned int seed = mixed_seed(_metadata), r;
	long steps = 0, failed = 0, bad = 0;
	time_t end = time(NULL) + MIXED_SECONDS;
	int ret;

	/* The anonymous engine in NO_COPY where the kernel has the mode. */
	self->e.anon_mode = hmm_unmet(self->e.fd, HMM_NEED_NOCOPY) ?
			    HMM_NC_MODE_SYNC : HMM_NC_MODE_SYNC_NO_COPY;
	TH_LOG("seed %u (replay: HMM_SEED=%u), MIGRATE_ANON in %s", seed,
	       seed, self->e.anon_mode == HMM_NC_MODE_SYNC ? "SYNC" : "NO_COPY");
	srand(seed);
	ASSERT_EQ(0, hmm_engine_set(self->e.fd, 0, 4, 0, NULL));
	while (time(NULL) < end) {
		r = rand();
		ret = mixed_step(&self->e, r);
		if (ret && ret != -EIO && ret != -ENOENT)
			bad++;
		failed += !!ret;
		/* Read through the device: pages stay where they are. */
		if (hmm_cmd(self->e.fd, HMM_DMIRROR_READ, self->e.buf,
			    self->e.mirror, NPAGES, NULL) ||
		    hmm_verify(self->e.mirror, NPAGES * self->e.ps, SEED) >= 0)
			bad++;
		steps++;
	}
	assert_intact(_metadata, &self->e);
	TH_LOG("%ld steps, %ld failed as armed, %llu failures injected",
	       steps, failed,
	       (unsigned long long)delta(_metadata, &self->e).faults_injected);
	EXPECT_EQ(0, bad);
	EXPECT_GT(failed, 0);
}

HMM_TEST_MAIN
